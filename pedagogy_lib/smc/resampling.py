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
tests use to average over many uniforms exactly. The effective sample size :func:`ess`,
:math:`1/\sum_i(\alpha^{(i)})^2`, measures how uneven the weights are.
"""
from __future__ import annotations

import numpy as np

from ..core.checks import as_array, check_backend, check_choice, check_int, check_prob_vector, check_rng
from ..core.jit import njit

__all__ = ["SCHEMES", "resample", "resample_from_uniforms", "ess"]

#: Resampling schemes, in the order of their integer codes in the kernels.
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
# Kernels and their NumPy twins
# ------------------------------------------------------------------------------------------------
@njit
def uniforms_to_points_numba(u, M, scheme_code, out):
    """Numba kernel: the sorted points u_k in [0, 1) of multinomial (code 0) or stratified (code 1) resampling.

    Same math as ``_uniforms_to_points_numpy``. Systematic resampling has its own kernel.
    """
    if scheme_code == 0:                       # multinomial: sort M i.i.d. uniforms
        out[:] = np.sort(u[:M])
    else:                                      # stratified: u_k = (k + U_k) / M
        inv_M = 1.0 / M
        for k in range(M):
            out[k] = (k + u[k]) * inv_M


def _uniforms_to_points_numpy(u, M, scheme_code):
    """The sorted points u_k in [0, 1) at which the inverse CDF is evaluated (multinomial or stratified)."""
    if scheme_code == 0:
        return np.sort(u[:M])
    return (np.arange(M) + u[:M]) * (1.0 / M)


@njit
def inverse_cdf_numba(W, points, ancestors):
    """Numba kernel: ancestors[k] = the i with c_{i-1} <= points[k] * c_{I-1} < c_i (points sorted).

    Same math as ``_inverse_cdf_numpy``; one merge pass, O(I + M). Scaling the points by the last
    cumulative weight (1 up to rounding) guarantees that a particle of weight zero is never picked.
    """
    I = W.shape[0]
    M = points.shape[0]
    c = np.empty(I)                      # cumulative weights c_i = sum_{j <= i} W_j
    total = 0.0
    for i in range(I):
        total += W[i]
        c[i] = total
    i = 0
    for k in range(M):
        target = points[k] * c[I - 1]
        while i < I - 1 and target >= c[i]:
            i += 1
        ancestors[k] = i


def _inverse_cdf_numpy(W, points):
    """NumPy twin of ``inverse_cdf_numba``: a ``searchsorted`` on the cumulative weights."""
    c = np.cumsum(W)                                           # c_i = sum_{j <= i} W_j
    ancestors = np.searchsorted(c, points * c[-1], side="right")  # first i with target < c_i
    return np.minimum(ancestors, W.shape[0] - 1).astype(np.int64)


@njit
def systematic_numba(W, U, ancestors):
    """Numba kernel for systematic resampling, without a data-dependent merge loop.

    The points are u_k = (k + U) / M. Particle i owns the points with c_{i-1} <= u_k C < c_i
    (C = c_{I-1}, the total), i.e. k from s_i = ceil(M c_{i-1} / C - U) up to s_{i+1} - 1. So:
    write i at slot s_i (in increasing i, so a particle with no offspring is overwritten by the
    next one), then fill every other slot with the running maximum. The branches are predictable,
    which makes this several times faster than the merge of ``inverse_cdf_numba``.
    Same math as ``_systematic_numpy``.
    """
    I = W.shape[0]
    M = ancestors.shape[0]
    c = np.empty(I)                      # cumulative weights c_i = sum_{j <= i} W_j
    total = 0.0
    for i in range(I):
        total += W[i]
        c[i] = total
    scale = M / c[I - 1]
    for k in range(M):
        ancestors[k] = 0
    for i in range(1, I):
        s_i = np.int64(np.ceil(c[i - 1] * scale - U))
        if s_i < M:
            ancestors[s_i] = i
    for k in range(1, M):
        if ancestors[k - 1] > ancestors[k]:
            ancestors[k] = ancestors[k - 1]


def _systematic_numpy(W, U, M):
    """NumPy twin of ``systematic_numba``: the first slot of each particle, then a running maximum."""
    c = np.cumsum(W)
    s = np.ceil(c[:-1] * (M / c[-1]) - U).astype(np.int64)     # s_i for i = 1..I-1
    ancestors = np.zeros(M, dtype=np.int64)
    i = np.arange(1, W.shape[0])
    keep = s < M
    np.maximum.at(ancestors, s[keep], i[keep])                # the largest i starting at each slot
    return np.maximum.accumulate(ancestors)


@njit
def resample_numba(W, u, M, scheme_code):
    """Numba kernel for :func:`resample_from_uniforms`; inputs assumed validated."""
    ancestors = np.empty(M, dtype=np.int64)
    if scheme_code == 2:
        systematic_numba(W, u[0], ancestors)
        return ancestors
    points = np.empty(M)
    uniforms_to_points_numba(u, M, scheme_code, points)
    inverse_cdf_numba(W, points, ancestors)
    return ancestors


def resample_numpy(W, u, M, scheme_code):
    """NumPy twin of ``resample_numba``."""
    if scheme_code == 2:
        return _systematic_numpy(W, u[0], M)
    return _inverse_cdf_numpy(W, _uniforms_to_points_numpy(u, M, scheme_code))


@njit
def _ess_numba(log_w):
    """Numba kernel for the ESS of one row of log weights: (sum w)^2 / sum w^2 after subtracting the max."""
    m = -np.inf
    for i in range(log_w.shape[0]):
        if log_w[i] > m:
            m = log_w[i]
    s1 = 0.0
    s2 = 0.0
    for i in range(log_w.shape[0]):
        w = np.exp(log_w[i] - m)
        s1 += w
        s2 += w * w
    return s1 * s1 / s2


# ------------------------------------------------------------------------------------------------
# Public functions
# ------------------------------------------------------------------------------------------------
def _n_uniforms(scheme: str, M: int) -> int:
    return 1 if scheme == "systematic" else M


def resample_from_uniforms(W, u, *, scheme: str = "systematic", M: int | None = None,
                           backend: str = "numba") -> np.ndarray:
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
    backend : {"numba", "numpy"}

    Returns
    -------
    ancestors : ndarray of int64, shape (M,)
        Sorted ancestor indices (the order carries no information in these schemes).
    """
    scheme = check_choice(scheme, "scheme", SCHEMES)
    backend = check_backend(backend)
    W = _check_weights(W)
    u = _check_uniforms(u, scheme)
    if M is None:
        M = W.shape[0] if scheme == "systematic" else u.shape[0]
    M = check_int(M, "M", minimum=1)
    if scheme != "systematic" and u.shape[0] != M:
        raise ValueError(f"u must have shape (M,) = ({M},) for {scheme} resampling; got {u.shape}.")
    code = SCHEMES.index(scheme)
    impl = resample_numba if backend == "numba" else resample_numpy
    return impl(W, u, M, code)


def resample(W, rng, *, scheme: str = "systematic", M: int | None = None, backend: str = "numba") -> np.ndarray:
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
    backend : {"numba", "numpy"}

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


def warmup_kernels() -> None:
    """Compile (or load from cache) every kernel of this module on tiny inputs."""
    W = np.array([0.25, 0.75])
    for code in range(3):
        resample_numba(W, np.array([0.1, 0.6]), 2, code)
    _ess_numba(np.log(W))
