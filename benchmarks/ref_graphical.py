"""A plain vectorized NumPy reference for sum-product on a pairwise tree, to measure ours against.

Written the way a NumPy user would: the tree is cut into levels by depth, and each level's messages
are computed at once (``einsum`` over the level's edge potentials), with log-domain accumulation at
the parents (``np.add.at``). No validation, no numba. It returns the same marginals and log
normalizer as ``pedagogy_lib.graphical.tree_sum_product``; it is not part of the library.
"""
from __future__ import annotations

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
