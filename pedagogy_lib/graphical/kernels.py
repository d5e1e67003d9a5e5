r"""numba kernel of the graphical family: sum-product on large pairwise trees (Appendix C, Section 3.5).

A pairwise tree (:class:`~pedagogy_lib.graphical.tree.PairwiseTree`) stores one node potential per
variable and one edge potential per node and its parent in arrays, so that the two message passes of
the sum-product algorithm are two loops over the nodes in a topological order. The public function
:func:`~pedagogy_lib.graphical.tree.tree_sum_product`, its validation and the readable NumPy twin
``_sum_product_numpy`` are in :mod:`~pedagogy_lib.graphical.tree`.

Right at every scale: :func:`sum_product` scales each message, and reports ``lossy`` where a message,
a cavity or a node's product spans more than the floats (potentials near :math:`e^{\pm 600}`); the caller
then runs :func:`sum_product_log`, every message in logs (twin ``_sum_product_log_numpy``).

Contract: the tree was checked when it was built (fields, shapes, positive finite potentials, an
order with parents before their children; its arrays read-only); the kernels trust it. They draw no
random number and return their results in arrays of their own.
"""
from __future__ import annotations

import numpy as np

from ..core.jit import njit_ieee, njit_inline

__all__ = ["warmup_kernels"]


#: Edge potentials whose largest entry lies outside this range are divided by it before a message is
#: summed (so that ``K`` terms of size ``max psi`` cannot overflow, nor tiny ones fall into subnormals);
#: inside it they are used as they are, with no extra rounding.
PSI_LO, PSI_HI = 1e-250, 1e250
#: A node's running product of its potential and its children's messages (``inside``) is divided by
#: its largest entry (the log of which goes to log Z) as soon as that entry falls below this: a node
#: with thousands of children does not underflow. A marginal whose sum before normalizing falls below
#: it is computed again from ``inside`` so divided (a tiny ``phi`` keeps all its digits).
INSIDE_LO = 1e-100
#: A message computed with ``psi`` and ``inside`` as they are must have every entry at least
#: ``MESSAGE_LO`` (so that its subnormal terms cost it no digits) and a sum at most ``MESSAGE_HI``; else
#: it is computed again the careful way: from ``inside`` divided by its largest entry, and ``psi[i]``
#: by its own largest entry when that lies outside ``[PSI_LO, PSI_HI]``.
MESSAGE_LO, MESSAGE_HI = 1e-290, 1e300


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


@njit_inline
def up_message(psi, inside, i, K, up, scale):
    """``up[i] = (psi[i] / scale) @ inside[i]``, unit stride; returns its sum, smallest and largest entry."""
    s, lo, hi = 0.0, np.inf, 0.0
    for a in range(K):
        acc = 0.0
        if scale == 1.0:
            for b in range(K):
                acc += psi[i, a, b] * inside[i, b]
        else:                              # the rare edge far from 1: divided entry by entry
            for b in range(K):
                acc += (psi[i, a, b] / scale) * inside[i, b]
        up[i, a] = acc
        s += acc
        lo = min(lo, acc)
        hi = max(hi, acc)
    return s, lo, hi


@njit_inline
def down_message(psi, x, i, K, down, scale):
    """``down[i] = (psi[i] / scale).T @ x``, adding the rows of ``psi[i]`` in turn (unit stride, so the
    loop over ``b`` is vectorized); returns its sum, smallest and largest entry."""
    for b in range(K):
        down[i, b] = 0.0
    for a in range(K):
        xa = x[a]
        if scale == 1.0:
            for b in range(K):
                down[i, b] += psi[i, a, b] * xa
        else:                              # the rare edge far from 1: divided entry by entry
            for b in range(K):
                down[i, b] += (psi[i, a, b] / scale) * xa
    s, lo, hi = 0.0, np.inf, 0.0
    for b in range(K):
        v = down[i, b]
        s += v
        lo = min(lo, v)
        hi = max(hi, v)
    return s, lo, hi


@njit_inline
def belief(inside, down, i, K, marg):
    """``marg[i] = inside[i] * down[i]``; returns its sum."""
    s = 0.0
    for k in range(K):
        marg[i, k] = inside[i, k] * down[i, k]
        s += marg[i, k]
    return s


@njit_ieee
def sum_product(parent, phi, psi, order):
    r"""Every marginal of a pairwise tree and :math:`\log Z`: the upward pass, then the downward pass.

    Upward, in reverse topological ``order``, each node's normalized message to its parent
    :math:`m_{i\to\mathrm{pa}(i)}(x_p) \propto \sum_{x_i}\psi_i(x_p, x_i)\,\phi_i(x_i)\prod_c m_{c\to i}(x_i)`
    (the logs of the normalizers add up to :math:`\log Z`); downward, the parent's message to each
    child from the parent's cavity (everything at the parent but the child's own message); each
    marginal is the normalized product of a node's potential and all its messages. Returns
    ``(marg (N, K), log_Z, lossy)``; ``lossy`` is true if a vector the passes multiply on (a node's
    complete ``inside``, a message, a cavity) spans more than ``1 / MESSAGE_LO`` between its
    entries, so that its smallest entries may have lost digits or be 0: then the caller runs
    :func:`sum_product_log` (and the others mean nothing). The tree was checked when it was built:
    potentials positive and finite, ``order`` topological. NumPy twin:
    :func:`~pedagogy_lib.graphical.tree._sum_product_numpy`.

    Scaled, so that no scale of the potentials under- or overflows (issue 53), for one division and
    one log per message: each message is normalized as it is sent, and ``inside`` divided by its
    largest entry when that falls below ``INSIDE_LO``. A message with an entry below ``MESSAGE_LO`` or
    a sum above ``MESSAGE_HI`` is sent again from ``inside`` (or the cavity) divided by its largest entry
    and ``psi[i]`` divided by its largest entry if that lies outside ``[PSI_LO, PSI_HI]``; every factor
    divided out goes to :math:`\log Z` as its log. What scaling cannot keep, an entry below about
    ``1e-290`` times the largest of its vector (potentials :math:`e^{\pm 600}` make such messages),
    is reported as ``lossy`` rather than lost silently.
    """
    inside, up, log_Z, lossy = upward_pass(parent, phi, psi, order)
    if lossy:
        return inside, log_Z, True
    marg, lossy = downward_pass(parent, psi, order, inside, up)
    return marg, log_Z, lossy


@njit_inline
def spans_too_far(v, K):
    """Whether the smallest entry of the positive vector ``v`` is below ``MESSAGE_LO`` times its largest."""
    lo = v[0]
    hi = v[0]
    for k in range(1, K):
        lo = min(lo, v[k])
        hi = max(hi, v[k])
    return not lo >= MESSAGE_LO * hi


@njit_ieee
def upward_pass(parent, phi, psi, order):
    """The upward pass of :func:`sum_product`: ``(inside, up, log_Z, lossy)``, ``inside[i]`` the (scaled)
    product of ``phi[i]`` and the messages of ``i``'s children, ``up[i]`` the normalized message to
    the parent, ``lossy`` whether a complete ``inside`` or a message spans more than ``1 / MESSAGE_LO``."""
    N, K = phi.shape
    inside = phi.copy()
    up = np.empty((N, K))
    log_Z = 0.0
    for n in range(N - 1, -1, -1):
        i = order[n]
        p = parent[i]
        if spans_too_far(inside[i], K):            # complete: every child of i came before
            return inside, up, log_Z, True
        if p < 0:
            log_Z += rescale_inside(inside, i, K)
            s = 0.0
            for k in range(K):
                s += inside[i, k]
            log_Z += np.log(s)
            for k in range(K):
                up[i, k] = 1.0
            continue
        s, lo, hi = up_message(psi, inside, i, K, up, 1.0)
        if not (lo >= MESSAGE_LO and s <= MESSAGE_HI):     # the rare message: sent again, scaled
            log_Z += rescale_inside(inside, i, K)
            scale = edge_scale(psi, i, K)
            log_Z += np.log(scale)
            s, lo, hi = up_message(psi, inside, i, K, up, scale)
            if not lo >= MESSAGE_LO:               # still: its terms may be subnormal
                return inside, up, log_Z, True
        if not lo >= MESSAGE_LO * hi:
            return inside, up, log_Z, True
        r = 1.0 / s
        top = 0.0
        for a in range(K):
            up[i, a] *= r
            inside[p, a] *= up[i, a]
            top = max(top, inside[p, a])
        log_Z += np.log(s)
        if top < INSIDE_LO:
            log_Z += rescale_inside(inside, p, K)
    return inside, up, log_Z, False


@njit_ieee
def downward_pass(parent, psi, order, inside, up):
    """The downward pass of :func:`sum_product` from the results of :func:`upward_pass`: ``(marg, lossy)``,
    ``lossy`` if a cavity or a message spans more than ``1 / MESSAGE_LO``."""
    N, K = inside.shape
    down = np.empty((N, K))                # m_{pa(i) -> i}, normalized; parents are visited first
    marg = np.empty((N, K))
    cavity = np.empty(K)
    for n in range(N):
        i = order[n]
        p = parent[i]
        if p < 0:
            for k in range(K):
                down[i, k] = 1.0
        else:
            c_lo, c_hi = np.inf, 0.0
            for a in range(K):             # everything at the parent but i's own message
                v = inside[p, a] * down[p, a] / up[i, a]
                cavity[a] = v
                c_lo = min(c_lo, v)
                c_hi = max(c_hi, v)
            s, lo, hi = down_message(psi, cavity, i, K, down, 1.0)
            if not (lo >= MESSAGE_LO and s <= MESSAGE_HI and c_lo >= MESSAGE_LO * c_hi):   # sent again, scaled
                for a in range(K):         # in logs, as one entry may have overflowed
                    cavity[a] = np.log(inside[p, a]) + np.log(down[p, a]) - np.log(up[i, a])
                top = cavity.max()
                for a in range(K):
                    cavity[a] = np.exp(cavity[a] - top)
                if spans_too_far(cavity, K):
                    return marg, True
                s, lo, hi = down_message(psi, cavity, i, K, down, edge_scale(psi, i, K))
                if not lo >= MESSAGE_LO:
                    return marg, True
            if not lo >= MESSAGE_LO * hi:
                return marg, True
            r = 1.0 / s
            for b in range(K):
                down[i, b] *= r
        s = belief(inside, down, i, K, marg)
        if not s >= INSIDE_LO:             # a tiny inside[i] (from a tiny phi): scaled first
            rescale_inside(inside, i, K)
            s = belief(inside, down, i, K, marg)
        r = 1.0 / s
        for k in range(K):
            marg[i, k] *= r
    return marg, False


@njit_inline
def log_mat_vec(lpsi, i, lv, K, out, transpose):
    """``out[a] = log sum_b exp(lpsi[i, a, b] + lv[b])`` (``transpose``: ``lpsi[i, b, a]``), each by its
    largest term, then shifted so that its largest entry is 0; returns that shift."""
    top = -np.inf
    for a in range(K):
        mx = -np.inf
        for b in range(K):
            w = lpsi[i, b, a] if transpose else lpsi[i, a, b]
            mx = max(mx, w + lv[b])
        acc = 0.0
        for b in range(K):
            w = lpsi[i, b, a] if transpose else lpsi[i, a, b]
            acc += np.exp(w + lv[b] - mx)
        out[a] = mx + np.log(acc)
        top = max(top, out[a])
    for a in range(K):
        out[a] -= top
    return top


@njit_inline
def log_sum(v, K):
    """``log sum_k exp(v[k])`` by the largest entry."""
    mx = v[0]
    for k in range(1, K):
        mx = max(mx, v[k])
    acc = 0.0
    for k in range(K):
        acc += np.exp(v[k] - mx)
    return mx + np.log(acc)


@njit_ieee
def sum_product_log(parent, phi, psi, order):
    r"""The two passes of :func:`sum_product` with every message in logs: ``(marg, log_Z)``.

    For the trees where :func:`sum_product` reports ``lossy``: potentials up to :math:`e^{\pm 709}` make
    messages whose entries span more than the floats do, and a message entry :math:`e^{-1200}` times its
    largest may still decide a marginal. Each message
    :math:`\log m_{i\to\mathrm{pa}(i)}(x_p) = \log\sum_{x_i}\exp(\log\psi_i(x_p, x_i) + \log\mathrm{inside}_i(x_i))`
    is a log-sum-exp by its largest term, shifted to a largest entry of 0 (the shifts go to
    :math:`\log Z`); the cavity is a difference of logs. Costs one ``exp`` per entry of each ``psi``
    and pass. The potentials are positive and finite (checked by the caller). NumPy twin:
    :func:`~pedagogy_lib.graphical.tree._sum_product_log_numpy`.
    """
    N, K = phi.shape
    lpsi = np.log(psi)
    inside = np.log(phi)                   # log phi_i + the log messages of i's children
    up = np.zeros((N, K))
    log_Z = 0.0
    for n in range(N - 1, -1, -1):
        i = order[n]
        p = parent[i]
        if p < 0:
            log_Z += log_sum(inside[i], K)
            continue
        log_Z += log_mat_vec(lpsi, i, inside[i], K, up[i], False)
        for a in range(K):
            inside[p, a] += up[i, a]
    down = np.zeros((N, K))
    marg = np.empty((N, K))
    cavity = np.empty(K)
    for n in range(N):
        i = order[n]
        p = parent[i]
        if p >= 0:
            for a in range(K):
                cavity[a] = inside[p, a] + down[p, a] - up[i, a]
            log_mat_vec(lpsi, i, cavity, K, down[i], True)
        for k in range(K):
            cavity[k] = inside[i, k] + down[i, k]
        z = log_sum(cavity, K)
        for k in range(K):
            marg[i, k] = np.exp(cavity[k] - z)
    return marg, log_Z


def warmup_kernels() -> None:
    """Compile (or load from cache) the kernels on a three-node tree, a root and its two children, its
    arrays read-only as a :class:`~pedagogy_lib.graphical.tree.PairwiseTree` holds them."""
    args = (np.array([-1, 0, 0], dtype=np.int64), np.ones((3, 2)), np.ones((3, 2, 2)), np.arange(3, dtype=np.int64))
    for a in args:
        a.setflags(write=False)
    sum_product(*args)
    sum_product_log(*args)
