r"""Resampling: drawing ancestor indices from a categorical distribution over particles.

The time update of the particle filter (book, "Sampling-based approaches" after Section 2.2.2,
Eq. 2.57) starts by picking, :math:`I` times, one of the previous particles with probability
equal to its normalized weight :math:`\alpha_{t-1}^{(i)}`, i.e. drawing from
:math:`\mathrm{Categ}(\boldsymbol\alpha_{t-1})`. The particle that is picked is the *ancestor* of
the new particle; ``ancestors[k] = i`` means that new particle ``k`` descends from old particle
``i``. The book draws the :math:`I` picks independently (*multinomial* resampling). Two
lower-variance schemes with the same expected offspring counts
:math:`\mathbb E[N_i] = I\alpha^{(i)}` are the standard alternatives:

* **multinomial**: :math:`I` i.i.d. uniforms :math:`u_k`, sorted, pushed through the inverse of the
  cumulative weights;
* **stratified**: one uniform per stratum, :math:`u_k = (k + U_k)/I`, :math:`k = 0, \dots, I-1`;
* **systematic**: one uniform for all strata, :math:`u_k = (k + U)/I`.

In all three, particle :math:`i` is picked for every :math:`u_k` in
:math:`[c_{i-1}, c_i)` where :math:`c_i = \sum_{j\le i}\alpha^{(j)}` (inverse-CDF rule). With
stratified and systematic resampling the count :math:`N_i` is always within one of
:math:`I\alpha^{(i)}` (systematic: :math:`\lfloor I\alpha^{(i)}\rfloor \le N_i \le
\lceil I\alpha^{(i)}\rceil`).

The public functions draw the uniforms from an explicit ``rng``; :func:`resample_from_uniforms`
takes them pre-drawn, which is what the kernels do (they never draw random numbers) and what the
tests use to average over many uniforms exactly. The compiled kernels, one per scheme, are in
:mod:`pedagogy_lib.smc.kernels`; the NumPy twins are here. The effective sample size :func:`ess`,
:math:`1/\sum_i(\alpha^{(i)})^2`, measures how uneven the weights are.
"""
from __future__ import annotations

import numpy as np

from ..core.checks import as_array, check_backend, check_choice, check_int, check_prob_vector, check_rng
from . import kernels

__all__ = ["SCHEMES", "resample", "resample_from_uniforms", "ess"]

#: Resampling schemes.
SCHEMES = ("multinomial", "stratified", "systematic")


# ------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------
def _check_weights(W, name: str = "W") -> np.ndarray:
    W = as_array(W, name, ndim=1, dims="(I,)")
    check_prob_vector(W, name)
    return W


def _check_uniforms(u, scheme: str) -> np.ndarray:
    u = as_array(u, "u", ndim=1, dims="(M,)")
    if scheme == "systematic" and u.shape[0] != 1:
        raise ValueError(f"u must have shape (1,) for systematic resampling (one uniform shared by all "
                         f"strata); got {u.shape}.")
    if u.shape[0] == 0:
        raise ValueError("u must have at least one entry; got shape (0,).")
    if ((u < 0.0) | (u >= 1.0)).any():
        k = int(np.argmax((u < 0.0) | (u >= 1.0)))
        raise ValueError(f"u must lie in [0, 1); entry {k} is {u[k]:.6g}.")
    return u


def _check_log_weights(log_w, name: str = "log_w") -> np.ndarray:
    """Return unnormalized log weights as a float64 array of shape (..., I) after checking them.

    Entries may be ``-inf`` (weight zero) but not NaN or ``+inf``, and every row needs at least
    one finite entry (otherwise there is nothing to normalize).
    """
    arr = as_array(log_w, name, finite=False)
    if np.ndim(log_w) == 0 or arr.shape[-1] == 0:        # (as_array makes a scalar 1-D)
        raise ValueError(f"{name} must have shape (I,) or (T, I) with I >= 1; got {arr.shape}.")
    if np.isnan(arr).any() or np.isposinf(arr).any():
        idx = tuple(int(i) for i in np.argwhere(np.isnan(arr) | np.isposinf(arr))[0])
        raise ValueError(f"{name} must not contain NaN or +inf; entry {idx if len(idx) > 1 else idx[0]} "
                         f"is {arr[idx]}.")
    dead = ~np.isfinite(arr).any(axis=-1)
    if np.any(dead):
        where = "" if arr.ndim == 1 else f" (row {int(np.argwhere(dead)[0][0])})"
        raise ValueError(f"{name} has no finite entry{where}: every weight is zero, so the weights "
                         "cannot be normalized.")
    return arr


# ------------------------------------------------------------------------------------------------
# NumPy twins of the kernels (pedagogy_lib.smc.kernels), and the choice of kernel by scheme
# ------------------------------------------------------------------------------------------------
#: The compiled resampling of each scheme, ``kernel(W, u, ancestors)`` (one kernel per scheme: the
#: kernels never choose a scheme by an integer code).
KERNELS = {"multinomial": kernels.resample_multinomial, "stratified": kernels.resample_stratified,
           "systematic": kernels.resample_systematic}


def _uniforms_to_points_numpy(u, M, scheme):
    """The sorted points u_k in [0, 1) at which the inverse CDF is evaluated (multinomial or stratified);
    twin of :func:`~pedagogy_lib.smc.kernels.multinomial_points` and :func:`~pedagogy_lib.smc.kernels.stratified_points`."""
    if scheme == "multinomial":
        return np.sort(u[:M])
    return (np.arange(M) + u[:M]) * (1.0 / M)


def _inverse_cdf_numpy(W, points):
    """NumPy twin of :func:`~pedagogy_lib.smc.kernels.inverse_cdf`: a ``searchsorted`` on the cumulative weights."""
    c = np.cumsum(W)                                           # c_i = sum_{j <= i} W_j
    ancestors = np.searchsorted(c, points * c[-1], side="right")  # first i with target < c_i
    return np.minimum(ancestors, W.shape[0] - 1).astype(np.int64)


def _systematic_numpy(W, U, M):
    """NumPy twin of :func:`~pedagogy_lib.smc.kernels.systematic_ancestors`: the first slot of each
    particle, then a running maximum."""
    c = np.cumsum(W)
    s = np.ceil(c[:-1] * (M / c[-1]) - U).astype(np.int64)     # s_i for i = 1..I-1
    ancestors = np.zeros(M, dtype=np.int64)
    i = np.arange(1, W.shape[0])
    keep = s < M
    np.maximum.at(ancestors, s[keep], i[keep])                # the largest i starting at each slot
    return np.maximum.accumulate(ancestors)


def resample_numpy(W, u, M, scheme):
    """NumPy twin of the resampling kernels (``KERNELS[scheme]``): ``M`` ancestors; inputs assumed validated."""
    if scheme == "systematic":
        return _systematic_numpy(W, u[0], M)
    return _inverse_cdf_numpy(W, _uniforms_to_points_numpy(u, M, scheme))


def resample_by_kernel(W, u, M, scheme):
    """``M`` ancestors by the scheme's kernel (``KERNELS[scheme]``); inputs assumed validated."""
    ancestors = np.empty(M, dtype=np.int64)
    KERNELS[scheme](W, u, ancestors)
    return ancestors


# ------------------------------------------------------------------------------------------------
# Public functions
# ------------------------------------------------------------------------------------------------
def _n_uniforms(scheme: str, M: int) -> int:
    return 1 if scheme == "systematic" else M


def resample_from_uniforms(W, u, *, scheme: str = "systematic", M: int | None = None,
                           backend: str = "auto") -> np.ndarray:
    r"""Ancestor indices drawn from :math:`\mathrm{Categ}(\mathbf W)` (Eq. 2.57) given pre-drawn uniforms.

    The points :math:`u_k\in[0,1)` are built from ``u`` according to ``scheme`` (module docstring)
    and mapped through the inverse CDF of the weights: particle :math:`i` is the ancestor of
    every point in :math:`[c_{i-1}, c_i)`, with :math:`c_i = \sum_{j\le i} W_j`.

    Parameters
    ----------
    W : array_like, shape (I,)
        Normalized weights (e.g. the book's :math:`\boldsymbol\alpha_{t-1}`).
    u : array_like, shape (M,) or (1,)
        Uniforms in :math:`[0, 1)`: ``M`` of them for ``"multinomial"`` and ``"stratified"``, one for
        ``"systematic"``.
    scheme : {"multinomial", "stratified", "systematic"}
    M : int, optional
        Number of ancestors to draw; defaults to ``len(u)`` (or ``I`` for systematic).
    backend : {"auto", "numba", "numpy"}
        The kernel or its NumPy twin; ``"auto"`` runs the twin while compiling would cost more than it
        saves (:func:`pedagogy_lib.core.jit.choose`).

    Returns
    -------
    ancestors : ndarray of int64, shape (M,)
        Sorted ancestor indices (the order carries no information in these schemes).
    """
    scheme = check_choice(scheme, "scheme", SCHEMES)
    check_backend(backend)
    W = _check_weights(W)
    u = _check_uniforms(u, scheme)
    if M is None:
        M = W.shape[0] if scheme == "systematic" else u.shape[0]
    M = check_int(M, "M", minimum=1)
    if scheme != "systematic" and u.shape[0] != M:
        raise ValueError(f"u must have shape (M,) = ({M},) for {scheme} resampling; got {u.shape}.")
    backend = check_backend(backend, KERNELS[scheme], I=W.shape[0], M=M)
    impl = resample_by_kernel if backend == "numba" else resample_numpy
    return impl(W, u, M, scheme)


def resample(W, rng, *, scheme: str = "systematic", M: int | None = None, backend: str = "auto") -> np.ndarray:
    r"""Draw ``M`` ancestor indices from :math:`\mathrm{Categ}(\mathbf W)` (Eq. 2.57).

    Draws the uniforms the scheme needs from ``rng`` and calls :func:`resample_from_uniforms`.
    Every scheme has :math:`\mathbb E[N_i] = M W_i`, where :math:`N_i` is the number of times
    particle :math:`i` is picked; stratified and systematic have smaller variance than the
    book's multinomial draws.

    Parameters
    ----------
    W : array_like, shape (I,)
        Normalized weights.
    rng : numpy.random.Generator
    scheme : {"multinomial", "stratified", "systematic"}
    M : int, optional
        Number of draws (default ``I``).
    backend : {"auto", "numba", "numpy"}
        The kernel or its NumPy twin; ``"auto"`` runs the twin while compiling would cost more than it
        saves (:func:`pedagogy_lib.core.jit.choose`).

    Returns
    -------
    ancestors : ndarray of int64, shape (M,)
    """
    rng = check_rng(rng)
    scheme = check_choice(scheme, "scheme", SCHEMES)
    W = _check_weights(W)
    M = W.shape[0] if M is None else check_int(M, "M", minimum=1)
    u = rng.random(_n_uniforms(scheme, M))
    return resample_from_uniforms(W, u, scheme=scheme, M=M, backend=backend)


def ess(log_w) -> np.ndarray | float:
    r"""Effective sample size of (unnormalized) log weights along the last axis.

    .. math::
        \mathrm{ESS} = \frac{1}{\sum_{i=1}^I \big(\alpha^{(i)}\big)^2}, \qquad
        \alpha^{(i)} = \frac{e^{\log w^{(i)}}}{\sum_j e^{\log w^{(j)}}},

    which lies in :math:`[1, I]`: :math:`I` for equal weights (Eq. 2.58), 1 when one particle has
    all the weight.

    Parameters
    ----------
    log_w : array_like, shape (I,) or (T, I)
        Log weights; ``-inf`` entries are weights of zero.

    Returns
    -------
    float or ndarray, shape (T,)
    """
    log_w = _check_log_weights(log_w)
    m = np.max(log_w, axis=-1, keepdims=True)
    w = np.exp(log_w - m)
    out = np.sum(w, axis=-1) ** 2 / np.sum(w * w, axis=-1)
    return float(out) if log_w.ndim == 1 else out

