"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch03_inference`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp


def message_variants(p) -> dict:
    """The normalized message to x_j (``"right"``), by explicit loops, and the named slips'."""
    def norm(m):
        m = np.asarray(m, dtype=float)
        return m / m.sum()

    def summed(wi, wk, reduce=sum):
        return norm([reduce(p.psi[i, j, k] * wi[i] * wk[k] for i in range(2) for k in range(2)) for j in range(3)])

    one = np.ones(2)
    both_on_k = norm([sum(p.psi[i, j, k] * p.mu_i[k] * p.mu_k[k] for i in range(2) for k in range(2))
                      for j in range(3)])
    return {"right": summed(p.mu_i, p.mu_k),
            "you took the maximum over x_i and x_k (max-product) instead of the sum": summed(p.mu_i, p.mu_k, max),
            "you left out the incoming message mu_i": summed(one, p.mu_k),
            "you left out the incoming message mu_k": summed(p.mu_i, one),
            "you left out both incoming messages": summed(one, one),
            "you multiplied both messages along the last axis of psi (x_k's): psi * mu_i broadcasts mu_i "
            "against x_k, not x_i": both_on_k,
            "you weighted the axis of x_i by mu_k and the axis of x_k by mu_i": summed(p.mu_k, p.mu_i)}


def ring_Z(J: float, N: int, states=(-1, 1)) -> float:
    """Z of a ring of N spins with values ``states``: the trace of the N-th power of the edge table."""
    a, b = states
    t = [[math.exp(J * a * a), math.exp(J * a * b)], [math.exp(J * b * a), math.exp(J * b * b)]]
    tr, det = t[0][0] + t[1][1], t[0][0] * t[1][1] - t[0][1] * t[1][0]
    root = math.sqrt(tr * tr / 4 - det)
    return (tr / 2 + root) ** N + (tr / 2 - root) ** N


def elimination_width(n: int, edges, order) -> int:
    """The size of the largest clique that eliminating the nodes in ``order`` creates."""
    nbrs = {v: set() for v in range(n)}
    for a, b in edges:
        nbrs[a].add(b)
        nbrs[b].add(a)
    largest = 0
    for v in order:
        clique = nbrs[v] | {v}
        largest = max(largest, len(clique))
        for a in nbrs[v]:
            nbrs[a] |= nbrs[v] - {a}
            nbrs[a].discard(v)
        del nbrs[v]
    return largest


def indep(P: np.ndarray, a: int, b: int, given: tuple) -> bool:
    """Whether x_a and x_b are independent given ``given`` in the joint table P."""
    letters = "pqrs"
    keep = "".join(letters[i - 1] for i in (a, b) + tuple(given))
    Q = np.einsum(f"pqrs->{keep}", P)
    cond = Q / Q.sum(axis=(0, 1), keepdims=True)
    return bool(np.abs(cond - cond.sum(axis=1, keepdims=True) * cond.sum(axis=0, keepdims=True)).max() < 1e-12)


def tree_variant(parent, phi, psi, *, transposed=False, own=True, distribute=True):
    """Sum-product in the log domain, one named slip switched on: (marginals, log Z)."""
    N, K = phi.shape
    lphi, lpsi = np.log(phi), np.log(psi)
    if transposed:
        lpsi = np.swapaxes(lpsi, 1, 2)
    children = [[] for _ in range(N)]
    for i, p in enumerate(parent):
        if p >= 0:
            children[p].append(i)
    root = int(np.flatnonzero(np.asarray(parent) < 0)[0])
    order, k = [root], 0
    while k < len(order):
        order.extend(children[order[k]])
        k += 1
    up, down = np.zeros((N, K)), np.zeros((N, K))   # log messages to the parent (in x_pa), from it (in x_i)
    for i in reversed(order[1:]):
        inside = lphi[i] + sum((up[c] for c in children[i]), np.zeros(K))
        up[i] = logsumexp(lpsi[i] + inside[None, :], axis=1)
    for i in order:
        for c in children[i]:
            cavity = lphi[i] + down[i] + sum((up[d] for d in children[i] if d != c), np.zeros(K))
            down[c] = logsumexp(lpsi[c] + cavity[:, None], axis=0)
    belief = np.array([(lphi[i] if own else 0.0) + (down[i] if distribute else 0.0)
                       + sum((up[c] for c in children[i]), np.zeros(K)) for i in range(N)])
    log_Z = float(logsumexp(lphi[root] + sum((up[c] for c in children[root]), np.zeros(K))))
    return np.exp(belief - logsumexp(belief, axis=1, keepdims=True)), log_Z


def _relabelled(parent, phi, psi, rng):
    """The same tree with its nodes renamed at random: a parent's number may then exceed its child's."""
    N = len(parent)
    new = rng.permutation(N)                        # node i becomes node new[i]
    par = np.full(N, -1, dtype=np.int64)
    par[new] = np.where(parent >= 0, new[np.maximum(parent, 0)], -1)
    out_phi, out_psi = np.empty_like(phi), np.empty_like(psi)
    out_phi[new], out_psi[new] = phi, psi
    return par, out_phi, out_psi


def tree_cases():
    """Hidden problems (description, parent, phi, psi) and the library's marginals and log Z."""
    from ...graphical.tree import make_pairwise_tree, tree_sum_product
    from ..checker import problem_rng

    r = problem_rng(3513)
    cases = []
    for kind, N, K in [("a random tree", 10, 2), ("a tree numbered out of order", 12, 3), ("a chain", 20, 4),
                       ("a star", 9, 2), ("a single node", 1, 3), ("a tree whose Z overflows a float64", 300, 2)]:
        if kind == "a chain":
            parent = np.arange(-1, N - 1)
        elif kind == "a star":
            parent = np.full(N, N // 2)
            parent[N // 2] = -1
        else:
            parent = np.array([-1] + [int(r.integers(0, i)) for i in range(1, N)], dtype=np.int64)
        phi = np.exp(r.normal(size=(N, K)) + (3.0 if N > 100 else 0.0))
        psi = np.exp(r.uniform(0.8, 1.6) * r.normal(size=(N, K, K)))
        if kind in ("a tree numbered out of order", "a tree whose Z overflows a float64"):
            parent, phi, psi = _relabelled(parent, phi, psi, r)
        res = tree_sum_product(make_pairwise_tree(parent, phi, psi), backend="numpy")
        cases.append((f"{kind}, N = {N}, K = {K}", (parent, phi, psi), (res.marginals, res.log_Z)))
    return cases
