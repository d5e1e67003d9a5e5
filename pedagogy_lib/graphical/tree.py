r"""Sum-product on large pairwise trees, with a NumPy twin of the numba kernel.

A *pairwise tree* has one variable per node :math:`i` (all with :math:`K` states), a node potential
:math:`\phi_i(x_i)`, and an edge potential :math:`\psi_i(x_{\mathrm{pa}(i)}, x_i)` between each node and
its parent:

.. math:: p(\mathbf x) = \frac1Z\prod_i\phi_i(x_i)\prod_{i:\,\mathrm{pa}(i)\ne\varnothing}\psi_i(x_{\mathrm{pa}(i)}, x_i).

It is the same model as the general factor graph of :mod:`~pedagogy_lib.graphical.bp`, stored in
arrays so that a tree of :math:`10^4` nodes costs milliseconds. The upward pass sends each node's
message to its parent,

.. math:: m_{i\to\mathrm{pa}(i)}(x_p) = \sum_{x_i}\psi_i(x_p, x_i)\,\phi_i(x_i)\prod_{c:\,\mathrm{pa}(c)=i}m_{c\to i}(x_i),

the downward pass the reverse messages, and each marginal is the normalized product of a node's
potential and all its messages. An HMM is the chain :math:`\mathrm{pa}(t) = t-1` with
:math:`\phi_1 = \boldsymbol\pi\circ` (likelihood), :math:`\phi_t =` likelihood and
:math:`\psi_t = \mathbf A^T` (Section 2.2.1's column-stochastic :math:`\mathbf A`), for which this is
the forward-backward algorithm.

The two passes run as one numba kernel, :func:`~pedagogy_lib.graphical.kernels.sum_product`; its
NumPy twin here, ``_sum_product_numpy``, reads like the equations, and ``backend`` chooses.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, as_scalar, check_backend, check_finite, check_int, check_rng, replaced_fields
from ..core.logmath import logsumexp
from . import kernels
from .factors import Factor

__all__ = ["PairwiseTree", "TreeMarginals", "make_pairwise_tree", "check_pairwise_tree", "tree_sum_product",
           "tree_factors", "random_tree"]

#: Largest |log| of an edge potential that :func:`random_tree` draws (``exp(700)`` is about ``1e304``).
_LOG_POTENTIAL_MAX = 700.0


class _PairwiseTreeFields(NamedTuple):
    parent: np.ndarray
    phi: np.ndarray
    psi: np.ndarray
    order: np.ndarray


class PairwiseTree(_PairwiseTreeFields):
    r"""A validated pairwise tree (or forest).

    Validated when built, however it is built: :func:`make_pairwise_tree` (which also computes the
    order), ``PairwiseTree(parent, phi, psi, order)`` by hand, ``_make`` or ``_replace`` are held to
    the same rules (:func:`check_pairwise_tree`), and the tree holds read-only copies of its arrays,
    so that what was checked stays true: an edit in place raises, an edit by ``_replace`` is checked.
    :func:`tree_sum_product` then checks nothing of it again.

    Attributes
    ----------
    parent : ndarray of int, shape (N,)
        ``parent[i]`` is node ``i``'s parent, ``-1`` for a root.
    phi : ndarray, shape (N, K)
        Node potentials :math:`\phi_i(x_i)`, positive.
    psi : ndarray, shape (N, K, K)
        Edge potentials, ``psi[i, x_parent, x_i]`` :math:`= \psi_i(x_{\mathrm{pa}(i)}, x_i)`, positive
        (rows of roots are ignored).
    order : ndarray of int, shape (N,)
        A topological order: every parent before its children.

    Raises
    ------
    TypeError, ValueError
        If a field breaks a rule of :func:`check_pairwise_tree` (the message names ``tree.<field>``).
    """

    def __new__(cls, parent, phi, psi, order):
        par, phi_c, psi_c = _check_fields(parent, phi, psi, "tree.")
        order_c = _check_order(par, order, "tree")
        _check_values(phi_c, psi_c, "tree.")
        return _frozen_tree(cls, (par, parent), (phi_c, phi), (psi_c, psi), (order_c, order))

    @classmethod
    def _make(cls, iterable):
        return cls(*iterable)

    def _replace(self, /, **changes):
        return type(self)(**replaced_fields(self, changes))


def _owned(pair) -> np.ndarray:
    """The checked array of ``(checked, given)`` as a read-only array sharing no memory with ``given``."""
    arr, given = pair
    if isinstance(given, np.ndarray) and np.may_share_memory(arr, given):
        arr = arr.copy()
    arr.setflags(write=False)
    return arr


def _frozen_tree(cls, *pairs) -> PairwiseTree:
    """A :class:`PairwiseTree` of checked fields, each a read-only array of its own (no check here)."""
    return _PairwiseTreeFields.__new__(cls, *(_owned(p) for p in pairs))


class TreeMarginals(NamedTuple):
    """Result of :func:`tree_sum_product`.

    Attributes
    ----------
    marginals : ndarray, shape (N, K)
        ``marginals[i]`` :math:`= p(x_i)`.
    log_Z : float
        The log normalizer (summed over the trees of a forest).
    """

    marginals: np.ndarray
    log_Z: float


def _check_fields(parent, phi, psi, prefix):
    """Clean ``(parent, phi, psi)`` after checking their kinds, shapes and parent range (not the values)."""
    par = np.asarray(parent)
    if par.ndim != 1 or par.size == 0 or par.dtype.kind not in "iu":
        raise ValueError(f"{prefix}parent must be a non-empty 1-D integer array; got {par.dtype} of shape "
                         f"{par.shape}.")
    N = par.size
    par = np.ascontiguousarray(par, dtype=np.int64)
    phi = as_array(phi, f"{prefix}phi", ndim=2, dims="(N, K)", nonempty=True, finite=False)
    if phi.shape[0] != N:
        raise ValueError(f"{prefix}phi must have shape (N, K) with N = {N} (the length of {prefix}parent); got "
                         f"{phi.shape}.")
    K = phi.shape[1]
    psi = as_array(psi, f"{prefix}psi", ndim=3, dims="(N, K, K)", finite=False)
    if psi.shape[0] == N and psi.shape[1] == psi.shape[2] != K:
        # psi is a consistent (N, K', K') table: the two disagree on K, and either may be the wrong one
        raise ValueError(f"{prefix}phi and {prefix}psi disagree on the number of states K: {prefix}phi has shape "
                         f"{phi.shape} (K = {K}) and {prefix}psi has shape {psi.shape} (K = {psi.shape[1]}).")
    if psi.shape != (N, K, K):
        raise ValueError(f"{prefix}psi must have shape (N, K, K) = ({N}, {K}, {K}); got {psi.shape}.")
    bad = (par < -1) | (par >= N) | (par == np.arange(N))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{prefix}parent[{i}] = {par[i]} must be -1 (a root) or another node's index in "
                         f"[0, {N}).")
    return par, phi, psi


def _positive_finite(arr) -> bool:
    """Whether every entry of ``arr`` is positive and finite (a NaN is neither)."""
    return bool(((arr > 0.0) & (arr < np.inf)).all())


def _check_values(phi, psi, prefix):
    """Raise unless every potential is positive and finite, naming the first that is not."""
    if _positive_finite(phi) and _positive_finite(psi):
        return
    for name, arr in ((f"{prefix}phi", phi), (f"{prefix}psi", psi)):
        check_finite(arr, name)
    for name, arr in ((f"{prefix}phi", phi), (f"{prefix}psi", psi)):
        if (arr <= 0).any():
            idx = tuple(int(i) for i in np.argwhere(arr <= 0)[0])
            raise ValueError(f"{name} must be positive (this kernel divides by messages); entry {idx} is "
                             f"{arr[idx]:.3g}. Use belief_propagation for potentials with zeros.")


def _check_order(par, order, name: str) -> np.ndarray:
    """``order`` as int64 after checking it is a topological order of the tree ``par``: O(N), no sort."""
    N = par.size
    order = np.asarray(order)
    if order.shape != (N,) or order.dtype.kind not in "iu":
        raise ValueError(f"{name}.order must be an integer array of shape (N,) = ({N},); got {order.dtype} of "
                         f"shape {order.shape}.")
    order = np.ascontiguousarray(order, dtype=np.int64)
    in_range = bool(order.min() >= 0 and order.max() < N)
    if not (in_range and (np.bincount(order, minlength=N) == 1).all()):      # O(N): no sort
        raise ValueError(f"{name}.order must be a permutation of the nodes 0..{N - 1}; got {order.tolist()[:10]}"
                         f"{'...' if N > 10 else ''}.")
    position = np.empty(N, dtype=np.int64)
    position[order] = np.arange(N)
    child = np.flatnonzero(par >= 0)
    late = position[par[child]] > position[child]
    if late.any():
        i = int(child[np.argmax(late)])
        raise ValueError(f"{name}.order must put every parent before its children (a topological order; "
                         f"make_pairwise_tree computes one); node {i} comes before its parent {par[i]}.")
    return order


def check_pairwise_tree(tree, name: str = "tree") -> PairwiseTree:
    """Return ``tree``, a :class:`PairwiseTree`: every one was checked when it was built.

    The rules a tree is held to when built (by :func:`make_pairwise_tree`, by hand or by
    ``_replace``): ``parent`` a non-empty integer vector of indices in ``[-1, N)`` with no
    self-loops, ``phi`` ``(N, K)``, ``psi`` ``(N, K, K)``, every potential positive and finite, and
    ``order`` a topological order (a permutation of the nodes with every parent before its children,
    which also rules out cycles). Vectorized: :math:`O(N K^2)` with no Python loop over nodes, once
    per tree.

    Raises
    ------
    TypeError
        If ``tree`` is not a :class:`PairwiseTree`.
    """
    if not isinstance(tree, PairwiseTree):
        raise TypeError(f"{name} must be a PairwiseTree from make_pairwise_tree; got {type(tree).__name__}.")
    return tree


def make_pairwise_tree(parent, phi, psi) -> PairwiseTree:
    r"""Validate a pairwise tree and compute a topological order (the nodes sorted by depth).

    Vectorized, with no Python loop over nodes: the fields are checked as in
    :func:`check_pairwise_tree`, and the depths come from pointer jumping in :math:`O(N\log N)`.

    Raises
    ------
    ValueError
        If shapes disagree, a potential is not positive and finite, a parent index is out of range, or
        the parent pointers contain a cycle (then it is not a tree; the message names a node on it).
    """
    par, phi_c, psi_c = _check_fields(parent, phi, psi, "")
    _check_values(phi_c, psi_c, "")
    order = _topological_order(par)
    return _frozen_tree(PairwiseTree, (par, parent), (phi_c, phi), (psi_c, psi), (order, None))


def _topological_order(par: np.ndarray) -> np.ndarray:
    """The nodes sorted by depth (a parent is one level above its children), or a ValueError for a cycle.

    Depths come from pointer jumping: ``anc[i]`` starts at ``i``'s parent and ``depth[i]`` at 1 (roots:
    themselves and 0); each round adds the depth of ``anc[i]`` and moves ``anc[i]`` to its own ``anc``,
    which doubles the distance covered. After ``ceil(log2 N)`` rounds every node whose parents lead to a
    root points at that root and holds its depth; a node whose ``anc`` is still not a root never reaches
    one (it is on a cycle of parent pointers, or leads into one). Vectorized: O(N log N), no Python loop
    over nodes.
    """
    N = par.size
    is_root = par < 0
    anc = np.where(is_root, np.arange(N), par)
    depth = (~is_root).astype(np.int64)
    for _ in range(max(1, (N - 1).bit_length())):
        if is_root[anc].all():
            break
        depth += depth[anc]
        anc = anc[anc]
    stuck = ~is_root[anc]
    if stuck.any():
        i = int(np.argmax(stuck))
        raise ValueError(f"parent does not describe a tree: node {i} is on a cycle of parent pointers "
                         "(following parents from it never reaches a root).")
    small = np.uint16 if depth.max() < 1 << 16 else np.int64      # a stable sort of 16-bit keys is a radix sort
    return np.argsort(depth.astype(small), kind="stable")


def _psi_scaled(psi_i):
    """``psi_i``, divided by its largest entry if that lies outside ``[PSI_LO, PSI_HI]``; and the divisor's log."""
    top = psi_i.max()
    if kernels.PSI_LO <= top <= kernels.PSI_HI:
        return psi_i, 0.0
    return psi_i / top, float(np.log(top))


def _safe(m):
    """Whether a message sent as it is keeps its digits: each entry at least ``MESSAGE_LO``, sum at most ``MESSAGE_HI``."""
    return bool(m.min() >= kernels.MESSAGE_LO and m.sum() <= kernels.MESSAGE_HI)


def _spans_too_far(v):
    """Whether the smallest entry of ``v`` is below ``MESSAGE_LO`` times its largest (digits may be lost)."""
    return not v.min() >= kernels.MESSAGE_LO * v.max()


def _sum_product_numpy(parent, phi, psi, order):
    r"""Readable twin of :func:`~pedagogy_lib.graphical.kernels.sum_product`: one loop over nodes in each direction.

    Scaled as the kernel is: each message is normalized as it is sent, ``inside`` divided by its largest
    entry when that falls below ``INSIDE_LO``, and a message that is not safe (:func:`_safe`) sent again
    from ``inside`` (or the cavity) divided by its largest entry and the edge potential by its own when
    that is far from 1; the logs of the divisors add up to part of :math:`\log Z`. Returns
    ``(marg, log_Z, lossy)``, ``lossy`` true (and the rest meaningless) if a complete ``inside``, a
    message or a cavity spans more than ``1 / MESSAGE_LO`` (:func:`_spans_too_far`): then
    :func:`_sum_product_log_numpy` runs. The potentials are positive and finite (the tree was checked
    when built).
    """
    N, K = phi.shape
    lossy = np.full((N, K), np.nan), np.nan, True
    inside = phi.copy()                    # phi_i times the messages from i's children, rescaled
    up = np.ones((N, K))                   # m_{i -> pa(i)}, normalized
    log_Z = 0.0
    for i in order[::-1]:
        p = parent[i]
        if _spans_too_far(inside[i]):     # complete: every child of i came before
            return lossy
        if p < 0:
            top = inside[i].max()
            inside[i] /= top
            log_Z += np.log(top) + np.log(inside[i].sum())
            continue
        with np.errstate(over="ignore", under="ignore"):
            m = psi[i] @ inside[i]         # sum over x_i of psi_i(x_p, x_i) inside_i(x_i)
        if not _safe(m):                   # the rare message: sent again, scaled
            top = inside[i].max()
            inside[i] /= top
            P, log_scale = _psi_scaled(psi[i])
            m = P @ inside[i]
            log_Z += np.log(top) + log_scale
            if m.min() < kernels.MESSAGE_LO:   # still: its terms may be subnormal
                return lossy
        if _spans_too_far(m):
            return lossy
        s = m.sum()
        up[i] = m / s
        log_Z += np.log(s)
        inside[p] *= up[i]
        if inside[p].max() < kernels.INSIDE_LO:
            top = inside[p].max()
            inside[p] /= top
            log_Z += np.log(top)
    marg = np.empty((N, K))
    down = np.ones((N, K))                 # m_{pa(i) -> i}, normalized; parents are visited first
    for i in order:
        p = parent[i]
        if p >= 0:
            with np.errstate(over="ignore", under="ignore"):
                cavity = inside[p] * down[p] / up[i]   # everything at the parent except i's message
                m = psi[i].T @ cavity
            if not _safe(m) or _spans_too_far(cavity):   # the rare message: from the cavity in logs, scaled
                with np.errstate(divide="ignore"):      # a state with zero weight is -inf here, then 0 again
                    log_cav = np.log(inside[p]) + np.log(down[p]) - np.log(up[i])
                cavity = np.exp(log_cav - log_cav.max())
                if _spans_too_far(cavity):
                    return lossy
                m = _psi_scaled(psi[i])[0].T @ cavity
                if m.min() < kernels.MESSAGE_LO:
                    return lossy
            if _spans_too_far(m):
                return lossy
            down[i] = m / m.sum()
        b = inside[i] * down[i]
        if not b.sum() >= kernels.INSIDE_LO:   # a tiny inside[i] (from a tiny phi): scaled first
            inside[i] /= inside[i].max()
            b = inside[i] * down[i]
        marg[i] = b / b.sum()
    return marg, log_Z, False


def _log_mat_vec(lpsi_i, lv):
    """``log (exp(lpsi_i) @ exp(lv))`` entry by entry by its largest term, shifted to a largest entry of 0;
    and the shift."""
    a = lpsi_i + lv[None, :]
    mx = a.max(axis=1)
    out = mx + np.log(np.exp(a - mx[:, None]).sum(axis=1))
    top = out.max()
    return out - top, top


def _sum_product_log_numpy(parent, phi, psi, order):
    r"""Readable twin of :func:`~pedagogy_lib.graphical.kernels.sum_product_log`: both passes with every
    message in logs, each a log-sum-exp shifted to a largest entry of 0 (the shifts go to :math:`\log Z`).
    Returns ``(marg, log_Z)``; the potentials are positive and finite."""
    N, K = phi.shape
    lpsi = np.log(psi)
    inside = np.log(phi)                   # log phi_i + the log messages from i's children
    up = np.zeros((N, K))
    log_Z = 0.0
    for i in order[::-1]:
        p = parent[i]
        if p < 0:
            log_Z += float(logsumexp(inside[i]))
            continue
        up[i], top = _log_mat_vec(lpsi[i], inside[i])
        log_Z += top
        inside[p] += up[i]
    down = np.zeros((N, K))
    marg = np.empty((N, K))
    for i in order:
        p = parent[i]
        if p >= 0:
            down[i] = _log_mat_vec(lpsi[i].T, inside[p] + down[p] - up[i])[0]
        b = inside[i] + down[i]
        marg[i] = np.exp(b - logsumexp(b))
    return marg, log_Z


def tree_sum_product(tree: PairwiseTree, *, backend: str = "auto") -> TreeMarginals:
    r"""Every marginal :math:`p(x_i)` and :math:`\log Z` of a pairwise tree, in :math:`O(NK^2)`.

    Parameters
    ----------
    tree : PairwiseTree
        Validated when it was built (:class:`PairwiseTree`); nothing of it is checked again here.
    backend : {'auto', 'numba', 'numpy'}
        The compiled kernel or its readable NumPy twin (same results); ``'auto'`` runs the twin while
        compiling would cost more than it saves (:func:`pedagogy_lib.core.jit.choose`, decided once per call).

    The messages are normalized as they are sent; where a message, a cavity or a node's product spans
    more than :math:`10^{290}` between its entries (potentials near :math:`e^{\pm 700}` do that), the
    tree is passed again with every message in logs, so any positive finite potentials give the
    right marginals and :math:`\log Z`.

    Raises
    ------
    TypeError
        If ``tree`` is not a :class:`PairwiseTree`.
    """
    if not isinstance(tree, PairwiseTree):
        raise TypeError(f"tree must be a PairwiseTree from make_pairwise_tree; got {type(tree).__name__}.")
    parent, phi, psi, order = tree
    backend = check_backend(backend, kernels.sum_product, N=phi.shape[0], K=phi.shape[1])
    if backend == "numba":
        marg, log_Z, lossy = kernels.sum_product(parent, phi, psi, order)
        if lossy:                          # messages spanning more than the floats: in logs
            marg, log_Z = kernels.sum_product_log(parent, phi, psi, order)
    else:
        marg, log_Z, lossy = _sum_product_numpy(parent, phi, psi, order)
        if lossy:
            marg, log_Z = _sum_product_log_numpy(parent, phi, psi, order)
    return TreeMarginals(marg, float(log_Z))


def tree_factors(tree: PairwiseTree) -> list[Factor]:
    """The same model as a list of factors over variables ``0..N-1`` (for the general algorithms).

    Raises
    ------
    TypeError, ValueError
        If ``tree`` is malformed (see :func:`check_pairwise_tree`).
    """
    tree = check_pairwise_tree(tree)
    out = [Factor((i,), tree.phi[i]) for i in range(tree.parent.size)]
    out += [Factor((int(p), i), tree.psi[i]) for i, p in enumerate(tree.parent) if p >= 0]
    return out


def random_tree(N: int, K: int, rng: np.random.Generator, *, coupling: float = 1.0) -> PairwiseTree:
    r"""A random tree (each node's parent uniform among the earlier nodes) with log-normal potentials.

    ``coupling`` scales the log edge potentials (0 makes the variables independent):
    :math:`\psi = e^{\text{coupling}\cdot z}` with :math:`z` standard normal.

    Raises
    ------
    TypeError, ValueError
        If ``N`` or ``K`` is not a positive integer, ``rng`` not a Generator, or ``coupling`` not a
        finite number small enough that every edge potential :math:`e^{\text{coupling}\cdot z}` of
        this draw is a positive float64 (``|coupling * z| <= 700``).
    """
    N = check_int(N, "N", minimum=1)
    K = check_int(K, "K", minimum=1)
    rng = check_rng(rng)
    coupling = as_scalar(coupling, "coupling")
    u = rng.random(N)
    parent = np.concatenate(([-1], np.floor(u[1:] * np.arange(1, N)).astype(np.int64)))
    phi = np.exp(rng.standard_normal((N, K)))
    z = rng.standard_normal((N, K, K))
    z_max = float(np.abs(z).max())
    if abs(coupling) * z_max > _LOG_POTENTIAL_MAX:
        raise ValueError(f"coupling must satisfy |coupling| <= {_LOG_POTENTIAL_MAX / z_max:.4g} for this draw (its "
                         f"largest |z| is {z_max:.3g}), so that every edge potential exp(coupling * z) is a positive "
                         f"float64 (the log of each at most {_LOG_POTENTIAL_MAX:g} in size); got coupling = "
                         f"{coupling:.6g}.")
    psi = np.exp(coupling * z)
    return make_pairwise_tree(parent, phi, psi)
