"""Plain references for sum-product on a pairwise tree, to measure ours against.

:func:`tree_sum_product` is written the way a NumPy user would: the tree is cut into levels by
depth, and each level's messages are computed at once (``einsum`` over the level's edge potentials),
with log-domain accumulation at the parents (``np.add.at``). :func:`tree_sum_product_loop` is the
straightforward numba loop: one pass up and one down over a topological order, every message
normalized as it is sent, no scaling beyond that and no checks. Neither validates anything. Both
return the same marginals and log normalizer as ``pedagogy_lib.graphical.tree_sum_product`` on
potentials of moderate size; they are not part of the library.
"""
from __future__ import annotations

import numba
import numpy as np


def levels(parent: np.ndarray) -> list[np.ndarray]:
    """Node indices grouped by depth (roots at depth 0)."""
    N = parent.size
    depth = np.full(N, -1)
    depth[parent < 0] = 0
    frontier = np.flatnonzero(parent < 0)
    children = np.argsort(parent, kind="stable")
    counts = np.bincount(parent[parent >= 0], minlength=N)
    start = np.concatenate(([0], np.cumsum(counts)))[:-1] + np.sum(parent < 0)
    out = [frontier]
    while frontier.size:
        kids = np.concatenate([children[start[p]:start[p] + counts[p]] for p in frontier]) if counts[frontier].any() \
            else np.empty(0, dtype=np.int64)
        if kids.size == 0:
            break
        out.append(kids)
        frontier = kids
    return out


def tree_sum_product(parent: np.ndarray, phi: np.ndarray, psi: np.ndarray, levs=None):
    """(marginals (N, K), log_Z) by level-wise vectorized sum-product."""
    levs = levels(parent) if levs is None else levs
    log_in = np.log(phi)
    up = np.empty_like(phi)
    log_Z = 0.0
    for idx in reversed(levs[1:]):
        c = log_in[idx].max(axis=1, keepdims=True)
        m = np.einsum("nab,nb->na", psi[idx], np.exp(log_in[idx] - c))
        s = m.sum(axis=1)
        up[idx] = m / s[:, None]
        log_Z += float(np.sum(np.log(s) + c[:, 0]))
        np.add.at(log_in, parent[idx], np.log(up[idx]))
    roots = levs[0]
    c = log_in[roots].max(axis=1)
    log_Z += float(np.sum(c + np.log(np.exp(log_in[roots] - c[:, None]).sum(axis=1))))
    log_down = np.zeros_like(phi)
    for idx in levs[1:]:
        p = parent[idx]
        cav = log_in[p] + log_down[p] - np.log(up[idx])
        cav -= cav.max(axis=1, keepdims=True)
        m = np.einsum("nab,na->nb", psi[idx], np.exp(cav))
        log_down[idx] = np.log(m / m.sum(axis=1, keepdims=True))
    b = log_in + log_down
    b = np.exp(b - b.max(axis=1, keepdims=True))
    return b / b.sum(axis=1, keepdims=True), log_Z


@numba.njit(cache=True)
def tree_sum_product_loop(parent, phi, psi, order):
    """(marginals (N, K), log_Z): the upward then the downward pass over ``order`` (parents first)."""
    N, K = phi.shape
    belief = phi.copy()                    # phi_i times the messages received so far
    up = np.ones((N, K))
    log_Z = 0.0
    for n in range(N - 1, -1, -1):
        i = order[n]
        p = parent[i]
        total = 0.0
        if p < 0:
            for k in range(K):
                total += belief[i, k]
            log_Z += np.log(total)
            continue
        for a in range(K):                 # m(x_p = a) = sum_b psi[i, a, b] belief[i, b]
            acc = 0.0
            for b in range(K):
                acc += psi[i, a, b] * belief[i, b]
            up[i, a] = acc
            total += acc
        log_Z += np.log(total)
        for a in range(K):
            up[i, a] /= total
            belief[p, a] *= up[i, a]
    down = np.ones((N, K))
    marg = np.empty((N, K))
    cav = np.empty(K)
    for n in range(N):
        i = order[n]
        p = parent[i]
        if p >= 0:
            for a in range(K):             # what the parent knows without i's own message
                cav[a] = belief[p, a] * down[p, a] / up[i, a]
            for b in range(K):
                down[i, b] = 0.0
            for a in range(K):
                for b in range(K):
                    down[i, b] += psi[i, a, b] * cav[a]
            total = 0.0
            for b in range(K):
                total += down[i, b]
            for b in range(K):
                down[i, b] /= total
        total = 0.0
        for k in range(K):
            marg[i, k] = belief[i, k] * down[i, k]
            total += marg[i, k]
        for k in range(K):
            marg[i, k] /= total
    return marg, log_Z
