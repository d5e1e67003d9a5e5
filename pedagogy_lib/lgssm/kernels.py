r"""numba kernels of the Kalman filter and the RTS smoother (Section 2.2.2).

The readable algorithm is in :mod:`~pedagogy_lib.lgssm.kalman`: its NumPy twins
``_kalman_filter_numpy`` and ``_rts_numpy`` call the jointly Gaussian building blocks of
Section 2.1.2 once per step. The kernels here do the same algebra with explicit loops on work
arrays allocated once per call:

* the drivers :func:`filter_covariance` (the measurement update of Eq. 2.47 in the roles of
  Eq. 2.27) and :func:`filter_information` (the roles of Eqs. 2.13-2.14), one per form: the form is
  chosen in Python, never by a flag inside a kernel. Each runs the time update (Eq. 2.48), the
  smoother gain (Eq. 2.53, computed in the forward pass because it needs no future data) and the
  measurement update at every step;
* small pieces of a step that they share or set apart: :func:`innovation`,
  :func:`skip_measurement` (a missing observation), :func:`joseph_covariance` (nearly exact
  observations), :func:`information_matrix`, :func:`condition_bound`,
  :func:`information_gain_step`, :func:`posterior_residual`;
* :func:`rts_gains` and :func:`rts_backward` (Eqs. 2.53-2.55), the backward pass.
* :func:`filter_if_clean` and :func:`smooth_if_clean`, the clean lane: for a model without
  controls whose entries need no explanation, the screening of the full checks and both passes in
  one compiled call (a short sequence under a slider was mostly validation in Python). The caller
  seals them to :data:`CLEAN_SIGNATURE` (:func:`seal_clean_lane`), so that numba's own dispatch does
  the type, layout and dimension checks;
* :func:`log_evidence_total`, the sum of the per-step log evidences, the same in both lanes.

The pieces are inlined into the step loops (``njit_inline``), and the shared dense helpers of
:mod:`pedagogy_lib.core.kernels` are called from the step loops themselves. Each driver
(:func:`filter_covariance`, :func:`filter_information`, :func:`rts_gains`, :func:`rts_backward`)
allocates its work arrays and hands them to a step loop (:func:`covariance_steps`,
:func:`information_steps`, :func:`rts_gain_steps`, :func:`rts_steps`), which is compiled twice:

* ``*_loops``, with every dimension below ``LOOPS_ONLY_MAX_DIM``: plain loops, compiled without
  numba's reference counting (:func:`pedagogy_lib.core.jit.njit_steps`). A profile of the 2 x 2
  filter and smoother found about 60 % of the time in the atomic increments and decrements that
  numba spends on every row view (``Upsilon_pred[t]``) and every array handed to an inlined
  helper; without them a step takes less than half the time;
* ``*_blas``, for larger models: the same source, with reference counting, handing large products
  to BLAS and large factorizations to LAPACK (which allocate, so the other flavour cannot call them).

Below the threshold the ``*_blas`` flavour would take the same loops, so both give the same numbers
(a test holds them to it). The one call the covariance form makes to LAPACK inside its loop, the
smallest eigenvalue of ``Sigma_y_x`` for the Joseph-form switch when its cheap bracket cannot decide,
becomes a request: the loop returns ``NEED_EIGMIN`` and the driver computes it and runs the pass again.

The model reaches the kernels as :class:`KernelModel` (with contiguous transposes of ``A`` and
``C``), the information form's constants as :class:`InfoConstants`, the outputs as
:class:`FilterArrays`, all allocated by the caller. Kernels trust their inputs (validated once by
the public functions), draw no random numbers, and report a failed factorization by returning the
step and one of the ``FAIL_*`` codes, which the caller turns into a ``ValueError``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.jit import njit, njit_inline, njit_steps
from ..core.checks import SYM_RTOL
from ..core.kernels import (EPS, LOOPS_ONLY, LOOPS_ONLY_MAX_DIM, SPD_ULPS, USE_BLAS, chol_logdet, chol_upper, mm,
                            mtm, solve_u, solve_ut, solve_ut_vec, spd_screen, symmetrize_into, weighted_sumsq)
from ..core.linalg import TAU

__all__ = ["warmup_kernels"]

#: The covariance form switches to the Joseph update when tr(Sigma_y) > JOSEPH_RATIO * lambda_min(Sigma_y_x),
#: i.e. when the subtractive update would lose more than about six digits.
JOSEPH_RATIO = 1e6
#: The information form refuses a step whose M = I + U_P G U_P^T has a condition number (estimated from its
#: Cholesky factor's diagonal) above this: the filter mean would keep fewer than about six digits.
INFO_MAX_COND = 1e10
#: Failure codes returned by the kernels (with the time step): which factorization lost definiteness.
FAIL_PRED, FAIL_INNOVATION, FAIL_INFO, FAIL_INFO_COND = 0, 1, 2, 3
#: Returned (with the step) by :func:`covariance_steps` when the Joseph-form switch needs lambda_min(Sigma_y_x),
#: which a step loop compiled without reference counting cannot ask LAPACK for: the driver computes it and
#: runs the pass again (rare: only a trace within the bracket of :func:`eigmin_bracket` needs it).
NEED_EIGMIN = 4


def step_flavour(*dims):
    """The ``blas`` argument of the drivers for a model of these dimensions: ``LOOPS_ONLY`` (the step loops
    compiled without reference counting) when every one is below ``LOOPS_ONLY_MAX_DIM``, else ``USE_BLAS``.
    The drivers test ``blas is None``, which numba decides while compiling, so a call compiles and runs
    one flavour only (loops-only is correct at any size, only slower for large models)."""
    return LOOPS_ONLY if max(dims) < LOOPS_ONLY_MAX_DIM else USE_BLAS


class KernelModel(NamedTuple):
    """The model as the kernels read it: ``At`` and ``Ct`` are contiguous copies of the transposes.

    In the information form ``C``, ``Ct``, ``c`` (and the observations) are the possibly whitened
    ones of ``kalman._information_precompute``, and ``Sigma_y_x`` is not read."""
    A: np.ndarray
    At: np.ndarray
    B: np.ndarray
    a: np.ndarray
    Sigma_x: np.ndarray
    C: np.ndarray
    Ct: np.ndarray
    c: np.ndarray
    Sigma_y_x: np.ndarray


class InfoConstants(NamedTuple):
    """The information form's time-invariant work: inverse noise variances ``w_R``, ``WC`` =
    diag(w_R) C, ``CtRinv`` = C^T Sigma_y_x^{-1}, ``G`` = C^T Sigma_y_x^{-1} C, ``logdet_R``."""
    w_R: np.ndarray
    WC: np.ndarray
    CtRinv: np.ndarray
    G: np.ndarray
    logdet_R: float


class FilterArrays(NamedTuple):
    """The forward pass's outputs, allocated by the caller; ``J`` has length 0 when not wanted."""
    mu_pred: np.ndarray
    Upsilon_pred: np.ndarray
    mu_filt: np.ndarray
    Upsilon_filt: np.ndarray
    K: np.ndarray
    log_p_y: np.ndarray
    J: np.ndarray


# ------------------------------------------------------------------------------------------------
# Pieces of a step, and the covariance form (Eq. 2.47 = the roles of Eq. 2.27)
# ------------------------------------------------------------------------------------------------

@njit_inline
def transpose_into(X, out):
    """``out = X^T``."""
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            out[j, i] = X[i, j]


@njit_inline
def skip_measurement(mu_pred_t, P, mu_filt_t, Uf_t, K_t):
    """A missing observation: the filter equals the prediction and the gain is zero."""
    n, m = K_t.shape
    for i in range(n):
        mu_filt_t[i] = mu_pred_t[i]
        for j in range(n):
            Uf_t[i, j] = P[i, j]
        for k in range(m):
            K_t[i, k] = 0.0


@njit_inline
def innovation(y_t, c, Ct, mu_pred_t, r):
    """``r = y_t - (C mu_pred + c)``, accumulated along rows of ``C^T`` (AXPY form, vectorizes over m)."""
    m = r.shape[0]
    for i in range(m):
        r[i] = y_t[i] - c[i]
    for j in range(Ct.shape[0]):
        f = mu_pred_t[j]
        for i in range(m):
            r[i] -= f * Ct[j, i]


@njit_inline
def joseph_covariance(C, Sigma_y_x, P, KT, Uf_t, IKC, KR, IKCP, blas):
    """Joseph form ``Uf_t = (I - K C) P (I - K C)^T + K Sigma_y_x K^T`` (``KT = K^T``): equal to Eq. 2.47 in
    exact arithmetic and a sum of positive semidefinite terms, for nearly exact observations. ``IKC``,
    ``KR`` and ``IKCP`` are work arrays of shapes ``(n, n)``, ``(n, m)``, ``(n, n)``; ``blas`` as in
    :func:`pedagogy_lib.core.kernels.mm`."""
    m, n = KT.shape
    for i in range(n):
        for j in range(n):
            s = 1.0 if i == j else 0.0
            for k in range(m):
                s -= KT[k, i] * C[k, j]
            IKC[i, j] = s
        for l in range(m):                                  # K Sigma_y|x
            s = 0.0
            for k in range(m):
                s += KT[k, i] * Sigma_y_x[k, l]
            KR[i, l] = s
    mm(IKC, P, IKCP, blas)
    for i in range(n):                                      # upper triangle, mirrored: exactly symmetric
        for j in range(i, n):
            s = 0.0
            for k in range(n):
                s += IKCP[i, k] * IKC[j, k]
            for l in range(m):
                s += KR[i, l] * KT[l, j]
            Uf_t[i, j] = s
            Uf_t[j, i] = s


@njit_inline
def eigmin_bracket(R):
    """``[lo, hi, nan]`` with ``lo <= lambda_min(R) <= hi`` for a symmetric ``R``, in O(m^2) operations: ``hi`` is
    the smallest diagonal entry (a Rayleigh quotient), ``lo`` the larger of Gershgorin's bound and the
    Wolkowicz-Styan bound ``mean - sqrt((m - 1) var)`` (the eigenvalues' mean and variance from the trace and
    the Frobenius norm, exact for m <= 2), each lowered by more than its own rounding error. The third entry
    holds ``lambda_min(R)`` itself once a trace between the ends has made :func:`filter_covariance` compute it."""
    m = R.shape[0]
    out = np.array([-np.inf, R[0, 0], np.nan])
    scale = 0.0                                  # the bounds are worked out on R / scale: R's squares of
    for i in range(m):                           # order 1e-200 would underflow, of order 1e200 overflow
        for j in range(m):
            scale = max(scale, abs(R[i, j]))
    if not scale > 0.0:
        return out
    trace, frob, gersh, size = 0.0, 0.0, np.inf, 0.0
    for i in range(m):
        off = 0.0
        for j in range(m):
            v = R[i, j] / scale
            frob += v * v
            if j != i:
                off += abs(v)
        d = R[i, i] / scale
        out[1] = min(out[1], R[i, i])
        trace += d
        gersh = min(gersh, d - off)
        size = max(size, abs(d) + off)
    mean = trace / m
    var = max(frob / m - mean * mean, 0.0) + 8.0 * m * EPS * (frob / m)     # at least the exact variance
    ws = mean - np.sqrt((m - 1) * var) - 8.0 * m * EPS * abs(mean)
    lo = max(gersh - 4.0 * m * EPS * size, ws)
    out[0] = lo * scale * (1.0 - 4.0 * EPS) if lo > 0.0 else lo * scale * (1.0 + 4.0 * EPS)
    return out


@njit_inline
def joseph_needed(tr_S, lam):
    """Whether Eq. 2.47's subtraction would lose more than about six digits, ``tr(Sigma_y) > JOSEPH_RATIO *
    lambda_min(Sigma_y_x)``, with ``lam`` from :func:`eigmin_bracket`: 1 (yes) or 0 (no) when the bracket
    decides (a trace far from the threshold) or ``lam[2]``, LAPACK's smallest eigenvalue, is known; -1 when
    neither, and :func:`filter_covariance` computes ``lam[2]`` and runs the pass again."""
    if tr_S > JOSEPH_RATIO * lam[1]:
        return 1
    if tr_S <= JOSEPH_RATIO * lam[0]:
        return 0
    if np.isnan(lam[2]):
        return -1
    return 1 if tr_S > JOSEPH_RATIO * lam[2] else 0


@njit
def filter_covariance(mu1, Sigma1, model, u, y, observed, out, blas):
    """The forward pass in the covariance form (twin: ``kalman._kalman_filter_numpy``): ``(-1, -1)``, or the
    failing step and its ``FAIL_*`` code. With ``len(out.J) > 0`` also the smoother gains (Eq. 2.53).
    ``observed[t] == 0`` marks a missing ``y_t``; an ``observed`` of length 0 means every ``y_t`` is observed.
    Allocates the work arrays (as four stacks: a slice costs less than an allocation), then runs
    :func:`covariance_steps` in the flavour ``blas`` names (:func:`step_flavour`)."""
    (T, m), n = y.shape, mu1.shape[0]
    work = (np.empty((5, n, n)), np.empty((3, m, n)), np.empty((2, m, m)), np.empty((2, m)), np.empty((n, m)))
    lam = eigmin_bracket(model.Sigma_y_x)                   # lambda_min(Sigma_y_x), for the Joseph-form switch
    for _ in range(2):
        if blas is None:                                    # decided while compiling: one flavour per signature
            t_fail, kind = covariance_steps_loops(mu1, Sigma1, model, u, y, observed, out, work, lam, LOOPS_ONLY)
        else:
            t_fail, kind = covariance_steps_blas(mu1, Sigma1, model, u, y, observed, out, work, lam, USE_BLAS)
        if kind != NEED_EIGMIN:
            break
        lam[2] = np.linalg.eigvalsh(model.Sigma_y_x)[0]
    return t_fail, kind


def covariance_steps(mu1, Sigma1, model, u, y, observed, out, work, lam, blas):
    """The step loop of :func:`filter_covariance` on the work arrays it allocated; ``blas`` as in
    :func:`pedagogy_lib.core.kernels.mm`. Compiled twice: :func:`covariance_steps_loops` without reference
    counting and with loops only (every dimension below ``LOOPS_ONLY_MAX_DIM``, where the other flavour
    would not call BLAS either, so both give the same numbers), and :func:`covariance_steps_blas`."""
    square, tall, small, vec, KR = work
    mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, K, log_p_y, J = out
    A, At, B, a, Sigma_x, C, Ct, c, Sigma_y_x = model
    (T, m), n = y.shape, mu1.shape[0]
    AU, tmp, U_P, IKC, IKCP = square[0], square[1], square[2], square[3], square[4]
    CP, Z, KT, S, U_S, r, w = tall[0], tall[1], tall[2], small[0], small[1], vec[0], vec[1]
    for i in range(n):                                      # Eq. 2.49
        mu_pred[0, i] = mu1[i]
        for j in range(n):
            Upsilon_pred[0, i, j] = Sigma1[i, j]
    for t in range(T):
        if t > 0:                                           # TIME UPDATE (Eq. 2.48 = the roles of Eq. 2.26)
            for i in range(n):
                s = a[i]
                for j in range(n):
                    s += A[i, j] * mu_filt[t - 1, j]
                for j in range(u.shape[1]):
                    s += B[i, j] * u[t - 1, j]
                mu_pred[t, i] = s
            mm(A, Upsilon_filt[t - 1], AU, blas)
            mm(AU, At, tmp, blas)
            for i in range(n):
                for j in range(n):
                    tmp[i, j] += Sigma_x[i, j]
            symmetrize_into(tmp, Upsilon_pred[t])
            if J.shape[0] > 0:
                if not chol_upper(Upsilon_pred[t], U_P, blas):  # Upsilon_pred = U_P^T U_P
                    return t, FAIL_PRED
                solve_ut(U_P, AU)
                solve_u(U_P, AU)                            # J^T = Upsilon_pred^{-1} A Upsilon_filt (Eq. 2.53)
                for i in range(n):
                    for j in range(n):
                        J[t - 1, i, j] = AU[j, i]
        P = Upsilon_pred[t]
        if observed.shape[0] > 0 and observed[t] == 0:      # missing y_t: no measurement update
            skip_measurement(mu_pred[t], P, mu_filt[t], Upsilon_filt[t], K[t])
            log_p_y[t] = 0.0
            continue
        # MEASUREMENT UPDATE (Eq. 2.47 = the roles of Eq. 2.27): Sigma_y = C P C^T + Sigma_y|x = U_S^T U_S
        innovation(y[t], c, Ct, mu_pred[t], r)
        mm(C, P, CP, blas)
        mm(CP, Ct, S, blas)
        tr_S = 0.0
        for i in range(m):
            for j in range(m):
                S[i, j] += Sigma_y_x[i, j]
            tr_S += S[i, i]
            w[i] = r[i]
        if not chol_upper(S, U_S, blas):
            return t, FAIL_INNOVATION
        for i in range(m):
            for j in range(n):
                Z[i, j] = CP[i, j]
        solve_ut(U_S, Z)                                    # Z = U_S^{-T} C P
        solve_ut_vec(U_S, w)                                # w = U_S^{-T} r, the whitened innovation
        quad = 0.0
        for k in range(m):
            quad += w[k] * w[k]
            for j in range(n):
                KT[k, j] = Z[k, j]
        for i in range(n):                                  # mu_filt = mu_pred + K r = mu_pred + Z^T w
            s = mu_pred[t, i]
            for k in range(m):
                s += Z[k, i] * w[k]
            mu_filt[t, i] = s
        solve_u(U_S, KT)                                    # K^T = Sigma_y^{-1} C P
        for i in range(n):
            for k in range(m):
                K[t, i, k] = KT[k, i]
        joseph = joseph_needed(tr_S, lam)                   # would Eq. 2.47's subtraction lose > 6 digits?
        if joseph < 0:
            return t, NEED_EIGMIN
        if joseph:
            joseph_covariance(C, Sigma_y_x, P, KT, Upsilon_filt[t], IKC, KR, IKCP, blas)
        else:
            mtm(Z, tmp, blas)                               # K Sigma_y K^T = Z^T Z
            Uf = Upsilon_filt[t]
            for i in range(n):
                for j in range(n):
                    Uf[i, j] = P[i, j] - tmp[i, j]
            symmetrize_into(Uf, Uf)
        log_p_y[t] = -0.5 * (quad + chol_logdet(U_S) + m * np.log(TAU))   # Eq. 2.18 with Eq. 2.40 roles
    return -1, -1


covariance_steps_loops = njit_steps(covariance_steps)
covariance_steps_blas = njit(covariance_steps)


# ------------------------------------------------------------------------------------------------
# The information form (the roles of Eqs. 2.13-2.14)
# ------------------------------------------------------------------------------------------------

@njit_inline
def information_matrix(U_P, UG, M):
    """``M = I + (U_P G) U_P^T`` from ``UG = U_P G`` (``U_P`` upper triangular), exactly symmetric."""
    n = U_P.shape[0]
    for i in range(n):
        for j in range(i, n):
            s = 1.0 if i == j else 0.0
            for k in range(j, n):
                s += UG[i, k] * U_P[j, k]
            M[i, j] = s
            M[j, i] = s


@njit_inline
def condition_bound(U):
    """``(max U_ii / min U_ii)^2`` for a Cholesky factor ``U`` of ``M``: a lower bound on ``cond(M)``."""
    d_lo, d_hi = U[0, 0], U[0, 0]
    for i in range(1, U.shape[0]):
        d_lo, d_hi = min(d_lo, U[i, i]), max(d_hi, U[i, i])
    return (d_hi / d_lo) ** 2


@njit_inline
def information_gain_step(WC, Uf_t, r, b, d):
    """``d = Upsilon_filt b`` with ``b = C^T Sigma_y|x^{-1} r``: the correction of the mean in the information
    form (Eq. 2.13); O(n m) with a diagonal (or whitened) noise, ``WC = diag(w_R) C``."""
    n = Uf_t.shape[0]
    for i in range(n):
        b[i] = 0.0
    for k in range(r.shape[0]):
        rk = r[k]
        for i in range(n):
            b[i] += WC[k, i] * rk
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += Uf_t[i, j] * b[j]
        d[i] = s


@njit_inline
def posterior_residual(Ct, d, r, e):
    """``e = r - C d``, accumulated along rows of ``C^T`` (vectorizes over m)."""
    for k in range(r.shape[0]):
        e[k] = r[k]
    for i in range(d.shape[0]):
        f = d[i]
        for k in range(r.shape[0]):
            e[k] -= f * Ct[i, k]


@njit
def filter_information(mu1, Sigma1, model, ic, u, y, observed, out, blas):
    """The forward pass in the information form (the roles of Eqs. 2.13-2.14); as :func:`filter_covariance`,
    with the (possibly whitened) emission and observations of ``kalman._information_precompute``.
    With ``Upsilon_pred = U_P^T U_P``, ``Upsilon_filt = U_P^T M^{-1} U_P`` for ``M = I + U_P G U_P^T``:
    only n x n matrices are factored, and ``|Sigma_y| = |Sigma_y|x| |M|`` (determinant lemma). Allocates the
    work arrays, then runs :func:`information_steps` in the flavour ``blas`` names (:func:`step_flavour`)."""
    T, m = y.shape
    n = mu1.shape[0]
    work = (np.empty((6, n, n)), np.empty((2, n)), np.empty((2, m)))
    if blas is None:
        return information_steps_loops(mu1, Sigma1, model, ic, u, y, observed, out, work, LOOPS_ONLY)
    return information_steps_blas(mu1, Sigma1, model, ic, u, y, observed, out, work, USE_BLAS)


def information_steps(mu1, Sigma1, model, ic, u, y, observed, out, work, blas):
    """The step loop of :func:`filter_information` on its work arrays, compiled in two flavours as
    :func:`covariance_steps`."""
    square, short, long = work
    mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, K, log_p_y, J = out
    A, At, B, a, Sigma_x, C, Ct, c, _ = model
    w_R, WC, CtRinv, G, logdet_R = ic
    T, m = y.shape
    n = mu1.shape[0]
    AU, tmp, U_P, UG, M, U_M = square[0], square[1], square[2], square[3], square[4], square[5]
    b, d, r, e = short[0], short[1], long[0], long[1]
    for i in range(n):                                      # Eq. 2.49
        mu_pred[0, i] = mu1[i]
        for j in range(n):
            Upsilon_pred[0, i, j] = Sigma1[i, j]
    if not chol_upper(Sigma1, U_P, blas):
        return 0, FAIL_PRED
    for t in range(T):
        if t > 0:                                           # TIME UPDATE (Eq. 2.48 = the roles of Eq. 2.26)
            for i in range(n):
                s = a[i]
                for j in range(n):
                    s += A[i, j] * mu_filt[t - 1, j]
                for j in range(u.shape[1]):
                    s += B[i, j] * u[t - 1, j]
                mu_pred[t, i] = s
            mm(A, Upsilon_filt[t - 1], AU, blas)
            mm(AU, At, tmp, blas)
            for i in range(n):
                for j in range(n):
                    tmp[i, j] += Sigma_x[i, j]
            symmetrize_into(tmp, Upsilon_pred[t])
            if not chol_upper(Upsilon_pred[t], U_P, blas):  # Upsilon_pred = U_P^T U_P
                return t, FAIL_PRED
            if J.shape[0] > 0:
                solve_ut(U_P, AU)
                solve_u(U_P, AU)                            # J^T = Upsilon_pred^{-1} A Upsilon_filt (Eq. 2.53)
                transpose_into(AU, J[t - 1])
        if observed.shape[0] > 0 and observed[t] == 0:      # missing y_t: no measurement update
            skip_measurement(mu_pred[t], Upsilon_pred[t], mu_filt[t], Upsilon_filt[t], K[t])
            log_p_y[t] = 0.0
            continue
        # MEASUREMENT UPDATE (Eqs. 2.13-2.14 roles) with G = C^T Sigma_y|x^{-1} C, computed once
        innovation(y[t], c, Ct, mu_pred[t], r)
        mm(U_P, G, UG, blas)
        information_matrix(U_P, UG, M)
        if not chol_upper(M, U_M, blas):
            return t, FAIL_INFO
        if condition_bound(U_M) > INFO_MAX_COND:
            return t, FAIL_INFO_COND
        for i in range(n):
            for j in range(n):
                tmp[i, j] = U_P[i, j]
        solve_ut(U_M, tmp)                                  # V = U_M^{-T} U_P
        Uf = Upsilon_filt[t]
        mtm(tmp, Uf, blas)                                  # Upsilon_filt = V^T V (Eq. 2.14)
        information_gain_step(WC, Uf, r, b, d)              # d = Upsilon_filt C^T Sigma_y|x^{-1} r
        for i in range(n):
            mu_filt[t, i] = mu_pred[t, i] + d[i]            # Eq. 2.13 written as a correction
        posterior_residual(Ct, d, r, e)                     # e = r - C d
        # r^T Sigma_y^{-1} r as the sum of two squares e^T Sigma_y|x^{-1} e + d^T Upsilon_pred^{-1} d (Woodbury's
        # r^T Sigma_y|x^{-1} r - b^T Upsilon_filt b is equal, but subtracts two terms of size 1 / noise)
        quad = weighted_sumsq(e, w_R)
        solve_ut_vec(U_P, d)
        for i in range(n):
            quad += d[i] * d[i]
        mm(Uf, CtRinv, K[t], blas)                          # K = Upsilon_filt C^T Sigma_y|x^{-1} (Eq. 2.15)
        log_p_y[t] = -0.5 * (quad + logdet_R + chol_logdet(U_M) + m * np.log(TAU))
    return -1, -1


information_steps_loops = njit_steps(information_steps)
information_steps_blas = njit(information_steps)


# ------------------------------------------------------------------------------------------------
# The backward pass (Eqs. 2.53-2.55)
# ------------------------------------------------------------------------------------------------

@njit
def rts_gains(A, Upsilon_pred, Upsilon_filt, J, blas):
    """Smoother gains ``J[t]`` (Eq. 2.53) from the filter output and ``A`` alone (into ``J``); returns
    -1, or the step whose ``Upsilon_pred`` lost positive definiteness. Twin: ``kalman._rts_numpy``.
    ``blas`` names the flavour of the step loop (:func:`step_flavour`)."""
    n = Upsilon_filt.shape[1]
    if blas is None:
        return rts_gain_steps_loops(A, Upsilon_pred, Upsilon_filt, J, np.empty((2, n, n)), LOOPS_ONLY)
    return rts_gain_steps_blas(A, Upsilon_pred, Upsilon_filt, J, np.empty((2, n, n)), USE_BLAS)


def rts_gain_steps(A, Upsilon_pred, Upsilon_filt, J, square, blas):
    """The step loop of :func:`rts_gains` on its work arrays, compiled in two flavours as
    :func:`covariance_steps`."""
    T, n = Upsilon_filt.shape[0], Upsilon_filt.shape[1]
    AU, U_P = square[0], square[1]
    for t in range(T - 1):
        mm(A, Upsilon_filt[t], AU, blas)
        if not chol_upper(Upsilon_pred[t + 1], U_P, blas):
            return t + 1
        solve_ut(U_P, AU)                                   # J_t^T = Upsilon_pred^{-1} A Upsilon_filt
        solve_u(U_P, AU)
        for i in range(n):
            for j in range(n):
                J[t, i, j] = AU[j, i]
    return -1


rts_gain_steps_loops = njit_steps(rts_gain_steps)
rts_gain_steps_blas = njit(rts_gain_steps)


@njit
def rts_backward(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, J, mu_smooth, Upsilon_smooth, Upsilon_cross, blas):
    """The RTS backward step (Eqs. 2.54-2.55) given the gains; twin ``kalman._rts_numpy``; writes into
    the last three (caller-allocated) arrays. No emission parameter, observation or control is passed in.
    ``blas`` names the flavour of the step loop (:func:`step_flavour`)."""
    n = mu_filt.shape[1]
    work = (np.empty((4, n, n)), np.empty(n))
    if blas is None:
        rts_steps_loops(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, J, mu_smooth, Upsilon_smooth, Upsilon_cross,
                        work, LOOPS_ONLY)
    else:
        rts_steps_blas(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, J, mu_smooth, Upsilon_smooth, Upsilon_cross,
                       work, USE_BLAS)


def rts_steps(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, J, mu_smooth, Upsilon_smooth, Upsilon_cross, work, blas):
    """The step loop of :func:`rts_backward` on its work arrays, compiled in two flavours as
    :func:`covariance_steps`."""
    square, dmu = work
    T, n = mu_filt.shape
    D, JD, JT, tmp = square[0], square[1], square[2], square[3]
    for i in range(n):                                      # base case: smoother = filter at T
        mu_smooth[T - 1, i] = mu_filt[T - 1, i]
        for j in range(n):
            Upsilon_smooth[T - 1, i, j] = Upsilon_filt[T - 1, i, j]
    for t in range(T - 2, -1, -1):
        for i in range(n):
            for j in range(n):
                JT[i, j] = J[t, j, i]
        # BACKWARD STEP (Eq. 2.54): mu_smooth = mu_filt + J (mu_smooth[t+1] - mu_pred[t+1]);
        # Upsilon_smooth = Upsilon_filt + J (Upsilon_smooth[t+1] - Upsilon_pred[t+1]) J^T
        for i in range(n):
            dmu[i] = mu_smooth[t + 1, i] - mu_pred[t + 1, i]
        for i in range(n):
            s = mu_filt[t, i]
            for k in range(n):
                s += JT[k, i] * dmu[k]
            mu_smooth[t, i] = s
        for i in range(n):
            for j in range(n):
                D[i, j] = Upsilon_smooth[t + 1, i, j] - Upsilon_pred[t + 1, i, j]
        mm(J[t], D, JD, blas)
        mm(JD, JT, tmp, blas)
        for i in range(n):
            for j in range(n):
                tmp[i, j] += Upsilon_filt[t, i, j]
        symmetrize_into(tmp, Upsilon_smooth[t])
        # CROSS-COVARIANCE (Eq. 2.55): Cov[x_{t+1}, x_t | y] = Upsilon_smooth[t+1] J_t^T
        mm(Upsilon_smooth[t + 1], JT, Upsilon_cross[t], blas)


rts_steps_loops = njit_steps(rts_steps)
rts_steps_blas = njit(rts_steps)


# ------------------------------------------------------------------------------------------------
# The clean lane: screen, filter and smooth in one compiled call
# ------------------------------------------------------------------------------------------------

@njit_inline
def within(X, limit):
    """Whether every entry of the matrix ``X`` is finite and at most ``limit`` in magnitude (two loops: a
    reshaped view would cost a call to numba's reshape helper)."""
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if not abs(X[i, j]) <= limit:                   # also False for NaN
                return False
    return True


@njit_inline
def within_vec(x, limit):
    """:func:`within` for a vector."""
    for i in range(x.shape[0]):
        if not abs(x[i]) <= limit:
            return False
    return True


@njit_inline
def screened_forward(mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y, max_magnitude, want_J):
    """The checks of ``kalman._clean_lane`` that need the entries (finite, within ``max_magnitude``, ``y``
    complete, the three covariances clearly positive definite by :func:`pedagogy_lib.core.kernels.spd_screen`),
    then the covariance-form forward pass. Returns ``(ok, out)``; ``ok`` is False when any check is
    undecided or fails, or the filter meets a rounding failure: the caller then takes the full path,
    which decides and explains."""
    (T, m), n = y.shape, mu1.shape[0]
    out = FilterArrays(np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n)), np.empty((T, n, n)),
                       np.empty((T, n, m)), np.empty(T), np.empty((T - 1 if want_J else 0, n, n)))
    if Sigma1.shape != (n, n) or A.shape != (n, n) or a.shape[0] != n or Sigma_x.shape != (n, n) or C.shape != (m, n) \
            or c.shape[0] != m or Sigma_y_x.shape != (m, m) or T == 0 or max(n, m) >= LOOPS_ONLY_MAX_DIM:
        return False, out
    for X in (Sigma1, A, Sigma_x, C, Sigma_y_x):
        if not within(X, max_magnitude):
            return False, out
    if not (within_vec(mu1, max_magnitude) and within_vec(a, max_magnitude) and within_vec(c, max_magnitude)
            and within(y, 1.7976931348623157e308)):          # y finite (a missing row takes the full path)
        return False, out
    for S in (Sigma1, Sigma_x, Sigma_y_x):
        if not spd_screen(S, SYM_RTOL, SPD_ULPS * S.shape[0] * EPS)[0]:
            return False, out
    At, Ct = np.empty((n, n)), np.empty((n, m))
    transpose_into(A, At)
    transpose_into(C, Ct)
    model = KernelModel(A, At, np.empty((n, 0)), a, Sigma_x, C, Ct, c, Sigma_y_x)     # no control: empty B, u
    t_fail, _ = filter_covariance(mu1, Sigma1, model, np.empty((max(T - 1, 0), 0)), y, np.empty(0, np.uint8), out,
                                  LOOPS_ONLY)
    total = out.mu_pred.sum() + out.mu_filt.sum() + out.log_p_y.sum() + out.Upsilon_pred.sum() + out.Upsilon_filt.sum()
    return t_fail < 0 and np.isfinite(total), out


@njit_inline
def block_sum(v, lo, hi):
    """``v[lo:hi].sum()`` in eight running partial sums (entries ``lo + 8k + j`` into sum ``j``), combined in
    pairs, then the tail added in order: the block sum of :func:`log_evidence_total`."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    i = lo
    while i + 8 <= hi:
        a0 += v[i]
        a1 += v[i + 1]
        a2 += v[i + 2]
        a3 += v[i + 3]
        a4 += v[i + 4]
        a5 += v[i + 5]
        a6 += v[i + 6]
        a7 += v[i + 7]
        i += 8
    s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    while i < hi:
        s += v[i]
        i += 1
    return s


@njit
def log_evidence_total(log_p_y):
    """The sum of the per-step log evidences (Eq. 2.40), pairwise: blocks of 128 terms summed in eight
    running partial sums, then the block sums added in pairs, so the rounding error grows with the
    logarithm of ``T`` rather than with ``T``. Both the clean lane and the full path of the compiled
    backend sum with it, so the two give the same number to the last bit."""
    T = log_p_y.shape[0]
    blocks = (T + 127) // 128
    if blocks <= 1:                                     # a short sequence allocates nothing
        return block_sum(log_p_y, 0, T)
    sums = np.empty(blocks)
    for b in range(blocks):
        sums[b] = block_sum(log_p_y, 128 * b, min(T, 128 * (b + 1)))
    while blocks > 1:
        half = (blocks + 1) // 2
        for k in range(blocks // 2):
            sums[k] = sums[2 * k] + sums[2 * k + 1]
        if blocks % 2:
            sums[half - 1] = sums[blocks - 1]
        blocks = half
    return sums[0]


#: The one signature the clean lane's kernels take (numba's notation): C-contiguous float64 arrays of
#: the dimensions of ``mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y`` and a float. Sealed to it, a call
#: with anything else (another dtype or layout, a read-only array, a list) raises ``TypeError`` at the
#: dispatch instead of compiling a variant, and the caller takes the full path.
CLEAN_SIGNATURE = ("(float64[::1], float64[:, ::1], float64[:, ::1], float64[::1], float64[:, ::1], "
                   "float64[:, ::1], float64[::1], float64[:, ::1], float64[:, ::1], float64)")


def seal_clean_lane() -> None:
    """Compile (or load from the cache) :func:`filter_if_clean` and :func:`smooth_if_clean` for
    :data:`CLEAN_SIGNATURE` and no other; called once, on the lane's first use (not at import, so a page
    that never runs the filter compiles nothing). Sealing twice (a reloaded caller) does nothing more.
    Without numba there is nothing to seal."""
    for kernel in (filter_if_clean, smooth_if_clean):
        if not hasattr(kernel, "disable_compile"):
            continue
        try:
            kernel.compile(CLEAN_SIGNATURE)
        except RuntimeError:                 # numba: "compilation disabled", i.e. sealed already
            continue
        kernel.disable_compile()


@njit
def filter_if_clean(mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y, max_magnitude):
    """``kalman.kalman_filter`` for a clean model without controls, screened and run in one compiled call
    (the covariance form): ``(ok, mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, K, log_p_y, log_evidence)``. A small
    model under a slider is validated at every call, and this saves the Python work of the full
    checks, which cost several times a short filter. (Plain tuples: numba returns them faster than
    named ones.)"""
    ok, out = screened_forward(mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y, max_magnitude, False)
    total = log_evidence_total(out.log_p_y) if ok else 0.0
    return ok, out.mu_pred, out.Upsilon_pred, out.mu_filt, out.Upsilon_filt, out.K, out.log_p_y, total


@njit
def smooth_if_clean(mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y, max_magnitude):
    """``kalman.kalman_smoother`` likewise: ``ok``, the six filter arrays, the log evidence, then
    ``mu_smooth``, ``Upsilon_smooth``, ``J``, ``Upsilon_cross``."""
    ok, out = screened_forward(mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y, max_magnitude, True)
    T, n = out.mu_filt.shape
    mu_smooth, Upsilon_smooth = np.empty((T, n)), np.empty((T, n, n))
    Upsilon_cross = np.empty((max(T - 1, 0), n, n))
    total = 0.0
    if ok:
        rts_backward(out.mu_pred, out.Upsilon_pred, out.mu_filt, out.Upsilon_filt, out.J, mu_smooth,
                     Upsilon_smooth, Upsilon_cross, LOOPS_ONLY)
        total = log_evidence_total(out.log_p_y)
    return (ok, out.mu_pred, out.Upsilon_pred, out.mu_filt, out.Upsilon_filt, out.K, out.log_p_y, total,
            mu_smooth, Upsilon_smooth, out.J, Upsilon_cross)


def warmup_kernels() -> None:
    """Compile (or load from cache) every kernel once on tiny inputs, both measurement-update forms."""
    from .kalman import kalman_filter, kalman_smoother
    from .model import LGSSMParams

    n, m = 2, 3
    p = LGSSMParams(np.zeros(n), np.eye(n), 0.9 * np.eye(n), np.ones((n, 1)), np.zeros(n), np.eye(n),
                    np.ones((m, n)), np.zeros(m), np.eye(m))
    y = np.ones((3, m))
    y[1] = np.nan
    u = np.zeros((2, 1))
    for form in ("covariance", "information"):
        kalman_smoother(p, y, u, form=form)
    kalman_smoother(p._replace(Sigma_y_x=np.eye(m) + 0.1), y, u, form="information")
    clean = p._replace(B=None)                                      # the clean lane (no controls, y complete)
    kalman_smoother(clean, np.ones((3, m)), form="covariance")
    kalman_filter(clean, np.ones((3, m)), form="covariance")
