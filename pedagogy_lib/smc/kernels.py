r"""numba kernels of sequential Monte Carlo: resampling, the bootstrap filter for the LGSSM, FFBSm and
backward simulation (book, "Sampling-based approaches" after Section 2.2.2, Eqs. 2.56-2.61).

The algorithms are described, and their NumPy twins written, in :mod:`~pedagogy_lib.smc.resampling`
and :mod:`~pedagogy_lib.smc.particle`; this module holds their compiled loops:

* resampling (Eq. 2.57): the sorted points of multinomial and stratified resampling, the inverse-CDF
  merge that maps them to ancestors, systematic resampling without a merge, and one driver per scheme
  (:func:`resample_multinomial`, :func:`resample_stratified`, :func:`resample_systematic`);
* the bootstrap filter for the linear-Gaussian model, one driver per resampling scheme
  (:func:`bootstrap_lgssm_multinomial`, ...), each a loop over time around the scheme's own resampling
  kernel and the shared step :func:`bootstrap_step` (time update, Eq. 2.57; measurement update,
  Eq. 2.59; evidence factor, Eq. 2.40). No kernel chooses the scheme by an integer code: Python picks
  the driver;
* FFBSm (Eq. 2.61) and backward simulation (Eq. 2.60) for the same model.

The contract: the kernels write into arrays their caller allocated where they can (the filter's outputs,
the ancestors), draw no random number (normals and uniforms come in pre-drawn) and validate nothing.
Exponentials of log weights go through :func:`pedagogy_lib.core.kernels.exp_into`, which vectorizes.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.jit import njit, njit_inline
from ..core.kernels import exp_into

__all__ = ["warmup_kernels"]


# ------------------------------------------------------------------------------------------------
# Resampling (Eq. 2.57); twins in pedagogy_lib.smc.resampling
# ------------------------------------------------------------------------------------------------
@njit
def multinomial_points(u, out):
    """The sorted points of multinomial resampling: ``out`` = the first ``len(out)`` uniforms of ``u``, sorted.

    Twin: :func:`~pedagogy_lib.smc.resampling._uniforms_to_points_numpy`.
    """
    out[:] = np.sort(u[:out.shape[0]])


@njit
def stratified_points(u, out):
    """The points of stratified resampling, one per stratum: ``out[k] = (k + u[k]) / M``, ``M = len(out)``.

    Twin: :func:`~pedagogy_lib.smc.resampling._uniforms_to_points_numpy`.
    """
    M = out.shape[0]
    inv_M = 1.0 / M
    for k in range(M):
        out[k] = (k + u[k]) * inv_M


@njit
def inverse_cdf(W, points, ancestors):
    """ancestors[k] = the i with c_{i-1} <= points[k] * c_{I-1} < c_i (points sorted), c_i = sum_{j <= i} W_j.

    One merge pass, O(I + M). Scaling the points by the last cumulative weight (1 up to rounding)
    guarantees that a particle of weight zero is never picked.
    Twin: :func:`~pedagogy_lib.smc.resampling._inverse_cdf_numpy`.
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


@njit
def systematic_ancestors(W, U, ancestors):
    """Systematic resampling from the one uniform ``U``, without a data-dependent merge loop.

    The points are u_k = (k + U) / M. Particle i owns the points with c_{i-1} <= u_k C < c_i
    (C = c_{I-1}, the total), i.e. k from s_i = ceil(M c_{i-1} / C - U) up to s_{i+1} - 1. So:
    write i at slot s_i (in increasing i, so a particle with no offspring is overwritten by the
    next one), then fill every other slot with the running maximum. The branches are predictable,
    which makes this several times faster than the merge of :func:`inverse_cdf`.
    Twin: :func:`~pedagogy_lib.smc.resampling._systematic_numpy`.
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


@njit
def resample_multinomial(W, u, ancestors):
    """Multinomial resampling (the book's Eq. 2.57): ``len(ancestors)`` ancestors from as many uniforms ``u``.

    Twin: :func:`~pedagogy_lib.smc.resampling.resample_numpy`.
    """
    points = np.empty(ancestors.shape[0])
    multinomial_points(u, points)
    inverse_cdf(W, points, ancestors)


@njit
def resample_stratified(W, u, ancestors):
    """Stratified resampling: ``len(ancestors)`` ancestors from as many uniforms ``u``, one per stratum.

    Twin: :func:`~pedagogy_lib.smc.resampling.resample_numpy`.
    """
    points = np.empty(ancestors.shape[0])
    stratified_points(u, points)
    inverse_cdf(W, points, ancestors)


@njit
def resample_systematic(W, u, ancestors):
    """Systematic resampling: ``len(ancestors)`` ancestors from the one uniform ``u[0]``.

    Twin: :func:`~pedagogy_lib.smc.resampling.resample_numpy`.
    """
    systematic_ancestors(W, u[0], ancestors)


@njit
def ess_from_log_weights(log_w):
    """The effective sample size of one row of log weights, (sum w)^2 / sum w^2 after subtracting the max.

    Twin: :func:`~pedagogy_lib.smc.resampling.ess`.
    """
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
# Reductions with independent partial results
# ------------------------------------------------------------------------------------------------
@njit
def vector_max(v):
    """Maximum of a 1-D array with four independent running maxima (instruction-level parallelism)."""
    n = v.shape[0]
    m0 = m1 = m2 = m3 = -np.inf
    j = 0
    while j + 4 <= n:
        m0 = v[j] if v[j] > m0 else m0
        m1 = v[j + 1] if v[j + 1] > m1 else m1
        m2 = v[j + 2] if v[j + 2] > m2 else m2
        m3 = v[j + 3] if v[j + 3] > m3 else m3
        j += 4
    while j < n:
        m0 = v[j] if v[j] > m0 else m0
        j += 1
    return max(max(m0, m1), max(m2, m3))


@njit
def vector_sum(v):
    """Sum of a 1-D array with four independent partial sums (pairs the additions like a 4-way unroll)."""
    n = v.shape[0]
    s0 = s1 = s2 = s3 = 0.0
    j = 0
    while j + 4 <= n:
        s0 += v[j]
        s1 += v[j + 1]
        s2 += v[j + 2]
        s3 += v[j + 3]
        j += 4
    while j < n:
        s0 += v[j]
        j += 1
    return (s0 + s1) + (s2 + s3)


# ------------------------------------------------------------------------------------------------
# Bootstrap filter for the linear-Gaussian model (Eqs. 2.56-2.59); twin particle._bootstrap_lgssm_numpy
# ------------------------------------------------------------------------------------------------
class WhitenedLGSSM(NamedTuple):
    """The LGSSM as the filter's kernels use it: Cholesky factors, per-step drift, whitened emission.

    ``log p(y_t | x) = log_const - |g[t] - G x|^2 / 2`` with ``G = Ly^{-1} C``, ``g[t] = Ly^{-1}(y_t - c)``
    (``Ly`` the Cholesky factor of ``Sigma_y_x``); the transition is ``x_t = A x_{t-1} + drift[t] + Lx eps``.
    """

    mu1: np.ndarray          # (n,)
    L1: np.ndarray           # (n, n) Cholesky factor of Sigma1
    A: np.ndarray            # (n, n)
    drift: np.ndarray        # (T, n): row t is B u_{t-1} + a (row 0 unused)
    Lx: np.ndarray           # (n, n) Cholesky factor of Sigma_x
    G: np.ndarray            # (m, n)
    g: np.ndarray            # (T, m)
    log_const: float


class FilterOutput(NamedTuple):
    """The filter's outputs, allocated by the caller (the fields of ``ParticleFilterResult``).

    ``x`` holds standard normals on entry, pre-drawn by the caller; the filter overwrites them in place
    with the particles (saving a second T x I x n array). ``resampled`` must start all False.
    """

    x: np.ndarray            # (T, I, n)
    log_alpha: np.ndarray    # (T, I)
    ancestors: np.ndarray    # (T, I) int64
    ess: np.ndarray          # (T,)
    resampled: np.ndarray    # (T,) bool
    log_Z_steps: np.ndarray  # (T,)


class FilterWork(NamedTuple):
    """Scratch of one filter run, one entry per particle (see :func:`filter_work`)."""

    W_prev: np.ndarray       # alpha_{t-1} in linear space
    log_prior: np.ndarray    # log of the weights the time update leaves on each particle
    a_idx: np.ndarray        # int64: the ancestors of step t
    points: np.ndarray       # the sorted points of multinomial and stratified resampling
    w: np.ndarray            # exp(log weights - max)
    w2: np.ndarray           # their squares
    bits: np.ndarray         # int64 scratch of exp_into


@njit_inline
def filter_work(I):
    """Fresh scratch for a filter over ``I`` particles."""
    return FilterWork(np.empty(I), np.empty(I), np.empty(I, dtype=np.int64), np.empty(I), np.empty(I),
                      np.empty(I), np.empty(I, dtype=np.int64))


@njit_inline
def resample_due(t, ess, ess_threshold, I):
    """Whether step ``t`` resamples: at every step for ``ess_threshold >= 1``, else when the ESS of
    alpha_{t-1} is below ``ess_threshold * I`` (never at t = 0)."""
    return t > 0 and (ess_threshold >= 1.0 or ess[t - 1] < ess_threshold * I)


@njit_inline
def draw_initial(mu1, L1, x0):
    """x_1 = mu1 + L1 eps ~ N(mu1, Sigma1) for every particle, in place: ``x0`` (I, n) holds eps on entry.

    ``d`` runs downwards so that eps[e], e <= d, is read before x[d] overwrites it.
    """
    I, n = x0.shape
    for i in range(I):
        for d in range(n - 1, -1, -1):
            acc = mu1[d]
            for e in range(d + 1):
                acc += L1[d, e] * x0[i, e]
            x0[i, d] = acc


@njit_inline
def propagate(A, drift_t, Lx, x_prev, a_idx, x_t, ancestors_t):
    """(Eq. 2.57) x_t^(i) = A x_{t-1}^(a_i) + drift_t + Lx eps_i, in place: ``x_t`` (I, n) holds eps on entry;
    ``ancestors_t`` receives the ancestors ``a_idx``."""
    I, n = x_t.shape
    for i in range(I):
        j = a_idx[i]
        ancestors_t[i] = j
        for d in range(n - 1, -1, -1):            # eps[e], e <= d, is read before x_t[i, d] overwrites it
            acc = drift_t[d]
            for e in range(n):
                acc += A[d, e] * x_prev[j, e]
            for e in range(d + 1):
                acc += Lx[d, e] * x_t[i, e]
            x_t[i, d] = acc


@njit_inline
def weigh(G, g_t, log_const, x_t, log_prior, log_w):
    """(Eq. 2.59, unnormalized) log_w[i] = log_prior[i] + log p(y_t | x_t^(i)); returns their maximum."""
    I, n = x_t.shape
    m = G.shape[0]
    mx = -np.inf
    for i in range(I):
        sq = 0.0
        for k in range(m):
            z = g_t[k]
            for d in range(n):
                z -= G[k, d] * x_t[i, d]
            sq += z * z
        lw = log_prior[i] + log_const - 0.5 * sq
        log_w[i] = lw
        if lw > mx:
            mx = lw
    return mx


@njit_inline
def normalize(log_w, mx, W, w, w2, bits):
    """Normalize the log weights ``log_w`` (maximum ``mx``) in place and write them in linear space into
    ``W``; returns the log of their sum (the evidence factor of Eq. 2.40) and their ESS."""
    I = log_w.shape[0]
    exp_into(log_w, 1.0, mx, w, bits)
    s1 = vector_sum(w)
    for i in range(I):
        w2[i] = w[i] * w[i]
    s2 = vector_sum(w2)
    log_s = mx + np.log(s1)              # log sum_i prior_i p(y_t | x_t^(i))
    inv_s1 = 1.0 / s1
    for i in range(I):
        log_w[i] -= log_s
        W[i] = w[i] * inv_s1
    return log_s, s1 * s1 / s2


@njit
def bootstrap_step(t, model, out, work):
    """Step ``t`` of the bootstrap filter, after its ancestors (if ``out.resampled[t]``) are in ``work.a_idx``.

    Time update (Eq. 2.57, and Eq. 2.58: uniform weights after resampling, else each particle keeps its
    ancestor and its weight), measurement update (Eq. 2.59), the evidence factor (Eq. 2.40) and the ESS.
    Twin: the loop body of :func:`~pedagogy_lib.smc.particle._bootstrap_lgssm_numpy`.
    """
    x, log_alpha, ancestors = out.x, out.log_alpha, out.ancestors
    a_idx, log_prior = work.a_idx, work.log_prior
    I = x.shape[1]
    log_I = np.log(I)
    if t == 0:
        draw_initial(model.mu1, model.L1, x[0])
        for i in range(I):
            ancestors[0, i] = -1
            log_prior[i] = -log_I
    else:
        if out.resampled[t]:                     # (Eq. 2.58) uniform weights after resampling
            for i in range(I):
                log_prior[i] = -log_I
        else:
            for i in range(I):
                a_idx[i] = i
                log_prior[i] = log_alpha[t - 1, i]
        propagate(model.A, model.drift[t], model.Lx, x[t - 1], a_idx, x[t], ancestors[t])
    mx = weigh(model.G, model.g[t], model.log_const, x[t], log_prior, log_alpha[t])
    out.log_Z_steps[t], out.ess[t] = normalize(log_alpha[t], mx, work.W_prev, work.w, work.w2, work.bits)


@njit
def bootstrap_lgssm_multinomial(model, U, ess_threshold, out):
    """The bootstrap filter (Eqs. 2.56, 2.57, 2.58 and 2.59) on ``model`` (a :class:`WhitenedLGSSM`) into ``out`` (a
    :class:`FilterOutput`), resampling by multinomial draws (the book's Eq. 2.57) from the uniforms ``U`` (T, I).

    Twin: :func:`~pedagogy_lib.smc.particle._bootstrap_lgssm_numpy` with ``scheme="multinomial"``.
    """
    T, I = out.log_alpha.shape
    work = filter_work(I)
    for t in range(T):
        if resample_due(t, out.ess, ess_threshold, I):
            multinomial_points(U[t], work.points)
            inverse_cdf(work.W_prev, work.points, work.a_idx)
            out.resampled[t] = True
        bootstrap_step(t, model, out, work)


@njit
def bootstrap_lgssm_stratified(model, U, ess_threshold, out):
    """The bootstrap filter as :func:`bootstrap_lgssm_multinomial`, resampling by strata (uniforms ``U`` (T, I)).

    Twin: :func:`~pedagogy_lib.smc.particle._bootstrap_lgssm_numpy` with ``scheme="stratified"``.
    """
    T, I = out.log_alpha.shape
    work = filter_work(I)
    for t in range(T):
        if resample_due(t, out.ess, ess_threshold, I):
            stratified_points(U[t], work.points)
            inverse_cdf(work.W_prev, work.points, work.a_idx)
            out.resampled[t] = True
        bootstrap_step(t, model, out, work)


@njit
def bootstrap_lgssm_systematic(model, U, ess_threshold, out):
    """The bootstrap filter as :func:`bootstrap_lgssm_multinomial`, resampling systematically (one uniform
    per step, ``U`` (T, 1)).

    Twin: :func:`~pedagogy_lib.smc.particle._bootstrap_lgssm_numpy` with ``scheme="systematic"``.
    """
    T, I = out.log_alpha.shape
    work = filter_work(I)
    for t in range(T):
        if resample_due(t, out.ess, ess_threshold, I):
            systematic_ancestors(work.W_prev, U[t, 0], work.a_idx)
            out.resampled[t] = True
        bootstrap_step(t, model, out, work)


# ------------------------------------------------------------------------------------------------
# FFBSm (Eq. 2.61) and backward simulation (Eq. 2.60); twins in pedagogy_lib.smc.particle
# ------------------------------------------------------------------------------------------------
@njit
def whiten_transition_step(x_next, x_prev, A, drift_t, Lx_inv, log_alpha_prev):
    """z_k = Lx^{-1} x_t^(k), m_j = Lx^{-1}(A x_{t-1}^(j) + drift_t), c_j = log alpha_{t-1}^(j) - |m_j|^2/2.

    Then log alpha_{t-1}^(j) + log p(x_t^(k) | x_{t-1}^(j)) = z_k . m_j + c_j + (terms in k only).
    Twin: :func:`~pedagogy_lib.smc.particle._whiten_lgssm_step_numpy`.
    """
    I_next, n = x_next.shape
    I = x_prev.shape[0]
    z = np.empty((I_next, n))
    mm = np.empty((I, n))
    cj = np.empty(I)
    mean = np.empty(n)
    for k in range(I_next):
        for d in range(n):
            acc = 0.0
            for e in range(d + 1):
                acc += Lx_inv[d, e] * x_next[k, e]
            z[k, d] = acc
    for j in range(I):
        for d in range(n):
            acc = drift_t[d]
            for e in range(n):
                acc += A[d, e] * x_prev[j, e]
            mean[d] = acc
        sq = 0.0
        for d in range(n):
            acc = 0.0
            for e in range(d + 1):
                acc += Lx_inv[d, e] * mean[e]
            mm[j, d] = acc
            sq += acc * acc
        cj[j] = log_alpha_prev[j] - 0.5 * sq
    return z, mm, cj


@njit
def ffbsm_lgssm(x, log_alpha, beta_T, A, drift, Lx_inv):
    """The FFBSm weights (Eq. 2.61) under a Gaussian transition; O(I^2 n) per step.

    For each new particle k: L_j = c_j + z_k . m_j (= log alpha_{t-1}^(j) + log p(x_t^(k)|x_{t-1}^(j))
    up to a k-only constant), e_j = exp(L_j - max L), S_k = sum_j e_j (Eq. 2.60's denominator), and
    beta_{t-1}^(j) += beta_t^(k) e_j / S_k. Each of these is a separate loop over j, so that the
    loops without a reduction vectorize. Twin: :func:`~pedagogy_lib.smc.particle._ffbsm_lgssm_numpy`.
    """
    T, I, n = x.shape
    beta = np.empty((T, I))
    beta[T - 1] = beta_T                                  # beta_T = alpha_T
    L = np.empty(I)                                       # separate input and output buffers for the
    e = np.empty(I)                                       # exp (aliasing would block vectorization)
    bits = np.empty(I, dtype=np.int64)
    acc = np.empty(I)
    for t in range(T - 1, 0, -1):
        z, mm, cj = whiten_transition_step(x[t], x[t - 1], A, drift[t], Lx_inv, log_alpha[t - 1])
        mT = np.ascontiguousarray(mm.T)                   # (n, I): unit stride over j
        acc[:] = 0.0
        for k in range(I):
            b = beta[t, k]
            if b == 0.0:
                continue
            zk0 = z[k, 0]
            for j in range(I):
                L[j] = cj[j] + zk0 * mT[0, j]             # L_j = c_j + z_k . m_j, first coordinate ...
            for d in range(1, n):
                zkd = z[k, d]
                for j in range(I):
                    L[j] += zkd * mT[d, j]                # ... then the others
            exp_into(L, 1.0, vector_max(L), e, bits)      # alpha_j p(x_t^k | x_{t-1}^j), scaled per k
            r = b / vector_sum(e)                         # beta_t^k / (Eq. 2.60 denominator)
            for j in range(I):
                acc[j] += r * e[j]                        # (Eq. 2.61)
        total = vector_sum(acc)
        for j in range(I):
            beta[t - 1, j] = acc[j] / total               # renormalize against rounding
    return beta


@njit
def backward_simulation_lgssm(x, log_alpha, A, drift, Lx_inv, U):
    """M trajectories: step T from Categ(alpha_T), then b_{t-1} from Eq. 2.60 given x_t^(b_t).

    ``U`` (T, M) are pre-drawn uniforms: ``U[t, m]`` picks the index of step ``t`` on trajectory ``m``.
    Twin: :func:`~pedagogy_lib.smc.particle._backward_simulation_lgssm_numpy`.
    """
    T, I, n = x.shape
    M = U.shape[1]
    idx = np.empty((M, T), dtype=np.int64)
    w = np.empty(I)
    pt = np.empty(1)
    one = np.empty(1, dtype=np.int64)
    for i in range(I):
        w[i] = np.exp(log_alpha[T - 1, i])
    for mi in range(M):
        pt[0] = U[T - 1, mi]
        inverse_cdf(w, pt, one)
        idx[mi, T - 1] = one[0]
    for t in range(T - 1, 0, -1):
        z, mm, cj = whiten_transition_step(x[t], x[t - 1], A, drift[t], Lx_inv, log_alpha[t - 1])
        for mi in range(M):
            k = idx[mi, t]
            mx = -np.inf
            for j in range(I):
                L = cj[j]
                for d in range(n):
                    L += z[k, d] * mm[j, d]
                w[j] = L
                if L > mx:
                    mx = L
            for j in range(I):
                w[j] = np.exp(w[j] - mx)                   # unnormalized Eq. 2.60 for this x_t^(k)
            pt[0] = U[t - 1, mi]
            inverse_cdf(w, pt, one)
            idx[mi, t - 1] = one[0]
    return idx


def warmup_kernels() -> None:
    """Compile (or load from cache) every kernel of this module on tiny inputs."""
    T, I, n = 3, 4, 1
    eye = np.eye(n)
    model = WhitenedLGSSM(np.zeros(n), eye, eye, np.zeros((T, n)), eye, eye, np.zeros((T, 1)), 0.0)
    U = np.full((T, I), 0.5)
    W = np.full(I, 1.0 / I)
    for driver, resample in ((bootstrap_lgssm_multinomial, resample_multinomial),
                             (bootstrap_lgssm_stratified, resample_stratified),
                             (bootstrap_lgssm_systematic, resample_systematic)):
        out = FilterOutput(np.zeros((T, I, n)), np.empty((T, I)), np.empty((T, I), dtype=np.int64), np.empty(T),
                           np.zeros(T, dtype=np.bool_), np.empty(T))
        driver(model, U, 0.5, out)
        resample(W, U[0], np.empty(I, dtype=np.int64))
    x, log_alpha = out.x, out.log_alpha
    ffbsm_lgssm(x, log_alpha, np.exp(log_alpha[-1]), eye, np.zeros((T, n)), eye)
    backward_simulation_lgssm(x, log_alpha, eye, np.zeros((T, n)), eye, U)
    ess_from_log_weights(log_alpha[-1])
