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

from ..core.jit import njit_ieee, njit_inline

__all__ = ["warmup_kernels"]


#: Edge potentials whose largest entry lies outside this range are divided by it before a message is
#: summed (so that ``K`` terms of size ``max psi`` cannot overflow, nor tiny ones fall into subnormals);
#: inside it they are used as they are, with no extra rounding.
PSI_LO, PSI_HI = 1e-250, 1e250
#: A node's running product of its potential and its children's messages is divided by its largest
#: entry (the log of which goes to log Z) as soon as that entry falls below this: a node with
#: thousands of children does not underflow.
INSIDE_LO = 1e-200


@njit_inline
def edge_scale(psi, i, K):
    """The largest entry of ``psi[i]`` when it lies outside ``[PSI_LO, PSI_HI]``, else 1."""
    top = psi[i, 0, 0]
    for a in range(K):
        for b in range(K):
            top = max(top, psi[i, a, b])
    return top if (top < PSI_LO or top > PSI_HI) else 1.0


@njit_inline
def rescale_inside(inside, i, K):
    """Divide ``inside[i]`` by its largest entry; return the log of that entry."""
    top = inside[i, 0]
    for k in range(1, K):
        top = max(top, inside[i, k])
    for k in range(K):
        inside[i, k] /= top
    return np.log(top)


@njit_ieee
def sum_product(parent, phi, psi, order):
    r"""Every marginal of a pairwise tree and :math:`\log Z`: the upward pass, then the downward pass.

    Upward, in reverse topological ``order``, each node's normalized message to its parent
    :math:`m_{i\to\mathrm{pa}(i)}(x_p) \propto \sum_{x_i}\psi_i(x_p, x_i)\,\phi_i(x_i)\prod_c m_{c\to i}(x_i)`
    (the normalizers add up to :math:`\log Z`); downward, the parent's message to each child from
    the parent's cavity (everything at the parent but the child's own message); each marginal is the
    normalized product of a node's potential and all its messages. Returns ``(marg (N, K), log_Z)``.
    NumPy twin: :func:`~pedagogy_lib.graphical.tree._sum_product_numpy`.

    Scaled, so that no scale of the potentials under- or overflows (issue 53): each node's product
    of its potential and its children's messages (``inside``) is divided by its largest entry before
    it sends its message (and whenever that entry falls below ``INSIDE_LO`` on the way); an edge
    potential whose largest entry lies outside ``[PSI_LO, PSI_HI]`` is divided by it; every factor
    divided out goes to :math:`\log Z` as its log. Messages are normalized as they are sent. The one
    loss left is rounding's own: an entry of a message below about ``1e-308`` times the message's
    largest is zero, and is left out of the parent's cavity instead of divided by.
    """
    inside, up, psi_scale, log_Z = upward_pass(parent, phi, psi, order)
    return downward_pass(parent, psi, order, inside, up, psi_scale), log_Z


@njit_ieee
def upward_pass(parent, phi, psi, order):
    """The upward pass of :func:`sum_product`: ``(inside, up, psi_scale, log_Z)``, ``inside[i]`` scaled to
    largest entry 1, ``up[i]`` the normalized message to the parent, ``psi_scale[i]`` what ``psi[i]`` was
    divided by (1 for most edges)."""
    N, K = phi.shape
    inside = phi.copy()
    up = np.ones((N, K))
    psi_scale = np.ones(N)
    log_Z = 0.0
    for n in range(N - 1, -1, -1):
        i = order[n]
        p = parent[i]
        log_Z += rescale_inside(inside, i, K)
        if p < 0:
            s = 0.0
            for k in range(K):
                s += inside[i, k]
            log_Z += np.log(s)
            continue
        scale = edge_scale(psi, i, K)
        psi_scale[i] = scale
        s = 0.0
        for a in range(K):
            acc = 0.0
            if scale == 1.0:
                for b in range(K):
                    acc += psi[i, a, b] * inside[i, b]
            else:                          # the rare edge far from 1: divided entry by entry
                for b in range(K):
                    acc += (psi[i, a, b] / scale) * inside[i, b]
            up[i, a] = acc
            s += acc
        top = 0.0
        for a in range(K):
            up[i, a] /= s
            inside[p, a] *= up[i, a]
            top = max(top, inside[p, a])
        log_Z += np.log(s) + np.log(scale)
        if top < INSIDE_LO:
            log_Z += rescale_inside(inside, p, K)
    return inside, up, psi_scale, log_Z


@njit_ieee
def downward_pass(parent, psi, order, inside, up, psi_scale):
    """The downward pass of :func:`sum_product` from the results of :func:`upward_pass`: the marginals."""
    N, K = inside.shape
    down = np.ones((N, K))                 # m_{pa(i) -> i}, normalized; parents are visited first
    marg = np.empty((N, K))
    cavity = np.empty(K)
    for n in range(N):
        i = order[n]
        p = parent[i]
        if p >= 0:
            top = 0.0
            for a in range(K):             # everything at the parent but i's own message
                cavity[a] = inside[p, a] * down[p, a] / up[i, a] if up[i, a] > 0.0 else 0.0
                top = max(top, cavity[a])
            scale = psi_scale[i]
            for b in range(K):
                down[i, b] = 0.0
            for a in range(K):
                c = cavity[a] / top
                if scale == 1.0:
                    for b in range(K):
                        down[i, b] += psi[i, a, b] * c
                else:
                    for b in range(K):
                        down[i, b] += (psi[i, a, b] / scale) * c
            s = 0.0
            for b in range(K):
                s += down[i, b]
            for b in range(K):
                down[i, b] /= s
        s = 0.0
        for k in range(K):
            marg[i, k] = inside[i, k] * down[i, k]
            s += marg[i, k]
        for k in range(K):
            marg[i, k] /= s
    return marg


def warmup_kernels() -> None:
    """Compile (or load from cache) the kernel on a three-node tree: a root and its two children."""
    parent = np.array([-1, 0, 0], dtype=np.int64)
    sum_product(parent, np.ones((3, 2)), np.ones((3, 2, 2)), np.arange(3, dtype=np.int64))
