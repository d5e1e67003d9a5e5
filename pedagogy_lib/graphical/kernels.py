r"""numba kernel of the graphical family: sum-product on large pairwise trees (Appendix C, Section 3.5).

A pairwise tree (:class:`~pedagogy_lib.graphical.tree.PairwiseTree`) stores one node potential per
variable and one edge potential per node and its parent in arrays, so that the two message passes of
the sum-product algorithm are two loops over the nodes in a topological order. The public function
:func:`~pedagogy_lib.graphical.tree.tree_sum_product`, its validation and the readable NumPy twin
``_sum_product_numpy`` are in :mod:`~pedagogy_lib.graphical.tree`.

Contract: the kernel validates nothing (the tree is checked by
:func:`~pedagogy_lib.graphical.tree.check_pairwise_tree`, potentials positive, parents before their
children in ``order``), draws no random number, and returns its results in arrays of its own.
"""
from __future__ import annotations

import numpy as np

from ..core.jit import njit

__all__ = ["warmup_kernels"]


@njit
def sum_product(parent, phi, psi, order):
    r"""Every marginal of a pairwise tree and :math:`\log Z`: the upward pass, then the downward pass.

    Upward, in reverse topological ``order``, each node's normalized message to its parent
    :math:`m_{i\to\mathrm{pa}(i)}(x_p) \propto \sum_{x_i}\psi_i(x_p, x_i)\,\phi_i(x_i)\prod_c m_{c\to i}(x_i)`
    (the normalizers add up to :math:`\log Z`); downward, the parent's message to each child from
    the parent's cavity (everything at the parent but the child's own message); each marginal is the
    normalized product of a node's potential and all its messages. Returns ``(marg (N, K), log_Z)``.
    NumPy twin: :func:`~pedagogy_lib.graphical.tree._sum_product_numpy`.
    """
    N, K = phi.shape
    inside = phi.copy()
    up = np.ones((N, K))
    log_Z = 0.0
    for n in range(N - 1, -1, -1):
        i = order[n]
        p = parent[i]
        if p < 0:
            s = 0.0
            for k in range(K):
                s += inside[i, k]
            log_Z += np.log(s)
            continue
        s = 0.0
        for a in range(K):
            acc = 0.0
            for b in range(K):
                acc += psi[i, a, b] * inside[i, b]
            up[i, a] = acc
            s += acc
        for a in range(K):
            up[i, a] /= s
            inside[p, a] *= up[i, a]
        log_Z += np.log(s)
    down = np.ones((N, K))
    marg = np.empty((N, K))
    cavity = np.empty(K)
    for n in range(N):
        i = order[n]
        p = parent[i]
        if p >= 0:
            for a in range(K):
                cavity[a] = inside[p, a] * down[p, a] / up[i, a]
            s = 0.0
            for b in range(K):
                acc = 0.0
                for a in range(K):
                    acc += psi[i, a, b] * cavity[a]
                down[i, b] = acc
                s += acc
            for b in range(K):
                down[i, b] /= s
        s = 0.0
        for k in range(K):
            marg[i, k] = inside[i, k] * down[i, k]
            s += marg[i, k]
        for k in range(K):
            marg[i, k] /= s
    return marg, log_Z


def warmup_kernels() -> None:
    """Compile (or load from cache) the kernel on a three-node tree: a root and its two children."""
    parent = np.array([-1, 0, 0], dtype=np.int64)
    sum_product(parent, np.ones((3, 2)), np.ones((3, 2, 2)), np.arange(3, dtype=np.int64))
