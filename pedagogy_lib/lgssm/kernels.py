r"""numba kernels of the Kalman filter and the RTS smoother (Section 2.2.2).

Each kernel is the loop form of a NumPy twin in :mod:`~pedagogy_lib.lgssm.kalman`, which reads as the
book's equations; the kernel does the same algebra in explicit loops, on work arrays allocated once per
call:

* :func:`filter_covariance`: the forward pass with the measurement update of Eq. 2.47 (the roles of
  Eq. 2.27); twin ``kalman._filter_numpy``;
* :func:`filter_information`: the same pass in the information form (the roles of Eqs. 2.13-2.14), which
  factors only ``n x n`` matrices;
* :func:`rts_gains` and :func:`rts_backward`: the backward pass (Eqs. 2.53-2.55); twin ``kalman._rts_numpy``;
* :func:`screen_model`: the compiled first pass of the model's validation (``model.check_params_factored``);
* :func:`run_small`: the fast path of :mod:`~pedagogy_lib.lgssm.small`, that screen and both passes in one call.

Both forward passes share the time update (:func:`time_update`, Eq. 2.48) and, when asked, compute the
smoother gains ``J`` (Eq. 2.53) on the way: they need no future data. Products and factorizations go
through the helpers of :mod:`pedagogy_lib.core.kernels`: loops in a small model, and in a large one BLAS and
LAPACK for the products and factorizations big enough to win (the ``blas`` argument, :func:`blas_for`).

Kernels trust their inputs (validated once by the public functions), write into arrays the caller
allocated, and report a failure by returning the step and a ``FAIL_*`` code, which the caller turns
into a ``ValueError``.
"""
from __future__ import annotations

import numpy as np

from ..core.jit import compile_for, njit, njit_inline
from ..core.kernels import (BLAS_MIN_WORK, LOOPS_ONLY, USE_BLAS, chol_logdet, chol_upper, mm, mtm, solve_u, solve_ut,
                            solve_ut_vec, spd_screen, symmetrize_into, weighted_sumsq)
from ..core.linalg import TAU

__all__ = ["warmup_kernels"]

#: The covariance form switches to the Joseph update when tr(Sigma_y) > JOSEPH_RATIO * lambda_min(Sigma_y_x),
#: i.e. when the subtractive update would lose more than about six digits.
JOSEPH_RATIO = 1e6
#: The information form refuses a step whose M = I + U_P G U_P^T has a condition number (estimated from its
#: Cholesky factor's diagonal) above this: the filter mean would keep fewer than about six digits.
INFO_MAX_COND = 1e10
#: Failure codes returned by the kernels with the time step: which factorization lost positive definiteness,
#: or that the step's output is no longer finite.
FAIL_PRED, FAIL_INNOVATION, FAIL_INFO, FAIL_INFO_COND, FAIL_OVERFLOW = 0, 1, 2, 3, 4
#: The largest float64: an entry at most this in magnitude is finite.
FLOAT_MAX = float(np.finfo(np.float64).max)


def blas_for(n, m=None, form="covariance"):
    """The ``blas`` argument of the kernels for a state of dimension ``n`` (and, for the forward pass, ``m``
    observed dimensions in ``form``): ``USE_BLAS`` when a product or a factorization of one step is large
    enough to go to BLAS or LAPACK (:func:`~pedagogy_lib.core.kernels.mm` and
    :func:`~pedagogy_lib.core.kernels.chol_upper` decide by the same sizes), else ``LOOPS_ONLY``. numba
    compiles a kernel for the type of the argument it is given, so the small-model code carries no branch
    to BLAS, which measurably slows its loops, and a call compiles only the variant it uses: the BLAS one
    takes several times longer to compile, for nothing when no call would reach BLAS. The two compute the
    same numbers wherever ``LOOPS_ONLY`` is chosen.

    A step's largest products are ``n x n x n`` (the time update), ``n x n x m`` (the gain) and, in the
    covariance form only, ``n x m x m`` (the Joseph update); it factors ``n x n`` matrices and, in the
    covariance form, ``m x m`` ones (the innovation covariance and the noise's eigenvalue bound)."""
    work, factored = n ** 3, n
    if m is not None:
        work = max(work, n * n * m) if form == "information" else max(work, n * n * m, n * m * m)
        factored = n if form == "information" else max(n, m)
    return USE_BLAS if work >= BLAS_MIN_WORK or factored ** 3 >= 3 * BLAS_MIN_WORK else LOOPS_ONLY


# ------------------------------------------------------------------------------------------------
# Pieces of a step
# ------------------------------------------------------------------------------------------------

@njit_inline
def time_update(dynamics, u_prev, mu_prev, U_prev, mu, U, AU, tmp, blas):
    """Eq. 2.48 (the roles of Eq. 2.26): ``mu = A mu_prev + B u_prev + a`` and ``U = A U_prev A^T + Sigma_x``,
    exactly symmetric, with ``dynamics = (A, At, B, a, Sigma_x)`` (``At = A^T``, contiguous); leaves
    ``A U_prev`` in ``AU`` for the smoother gain."""
    A, At, B, a, Sigma_x = dynamics
    n = mu.shape[0]
    for i in range(n):
        s = a[i]
        for j in range(n):
            s += A[i, j] * mu_prev[j]
        for j in range(u_prev.shape[0]):
            s += B[i, j] * u_prev[j]
        mu[i] = s
    mm(A, U_prev, AU, blas)
    mm(AU, At, tmp, blas)
    for i in range(n):
        for j in range(n):
            tmp[i, j] += Sigma_x[i, j]
    symmetrize_into(tmp, U)


@njit_inline
def smoother_gain(U_P, AU, J_t):
    """Eq. 2.53: ``J_t = Upsilon_filt A^T Upsilon_pred^{-1}``, from ``AU = A Upsilon_filt`` (overwritten) and the
    upper Cholesky factor ``U_P`` of ``Upsilon_pred`` (``Upsilon_pred = U_P^T U_P``)."""
    solve_ut(U_P, AU)
    solve_u(U_P, AU)                                        # AU = Upsilon_pred^{-1} A Upsilon_filt = J_t^T
    n = AU.shape[0]
    for i in range(n):
        for j in range(n):
            J_t[i, j] = AU[j, i]


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
    """``r = y_t - (C mu_pred + c)``, accumulated along rows of ``C^T`` (unit stride over m)."""
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
    ``KR`` and ``IKCP`` are work arrays of shapes ``(n, n)``, ``(n, m)``, ``(n, n)``."""
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
def eigmin_lower_bound(R, U, blas):
    """A lower bound on lambda_min(R) for a symmetric positive definite ``R`` (0 when it cannot say), from its
    Cholesky factor (``U``: work array): ``det(R) / (tr(R) / (m - 1))^(m - 1)``, since the other ``m - 1``
    eigenvalues have a product at most that (arithmetic and geometric means); exact for ``m = 1``. Lowered
    by 1e-12 relative, far more than its rounding."""
    m = R.shape[0]
    if m == 1:
        return R[0, 0]
    if not chol_upper(R, U, blas):
        return 0.0
    tr, logdet = 0.0, 0.0
    for i in range(m):
        tr += R[i, i]
        logdet += 2.0 * np.log(U[i, i])
    return np.exp(logdet - (m - 1) * np.log(tr / (m - 1))) * (1.0 - 1e-12)


@njit_inline
def step_is_finite(mu_pred_t, Up_t, mu_filt_t, Uf_t, log_p):
    """Whether a step's output is finite: its log evidence, means and variances (a covariance with finite
    variances has finite entries). Finite parameters can still overflow float64, e.g. an ``A`` of spectral
    radius ``1e150`` squared into the prediction."""
    if not np.isfinite(log_p):
        return False
    for i in range(mu_pred_t.shape[0]):
        if not (np.isfinite(mu_pred_t[i]) and np.isfinite(mu_filt_t[i]) and np.isfinite(Up_t[i, i])
                and np.isfinite(Uf_t[i, i])):
            return False
    return True


# ------------------------------------------------------------------------------------------------
# The forward pass, covariance form (Eq. 2.47 = the roles of Eq. 2.27)
# ------------------------------------------------------------------------------------------------

@njit
def filter_covariance(model, u, y, observed, out, blas):
    """The forward pass in the covariance form (twin: ``kalman._filter_numpy``).

    ``model = (mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x)`` (``B`` of shape ``(n, 0)`` without control);
    ``observed[t] == 0`` marks a missing ``y_t``. Writes into ``out = (mu_pred, Upsilon_pred, mu_filt,
    Upsilon_filt, K, log_p_y, J)``, where the smoother gains ``J`` have length 0 when they are not wanted;
    ``blas`` as :func:`blas_for` gives it. Returns ``(-1, -1, log evidence)`` (Eq. 2.40), or the failing step,
    its ``FAIL_*`` code and NaN."""
    mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x = model
    mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, K, log_p_y, J = out
    (T, m), n = y.shape, mu1.shape[0]
    At, Ct = np.ascontiguousarray(A.T), np.ascontiguousarray(C.T)
    dynamics = (A, At, B, a, Sigma_x)
    AU, tmp, U_P, IKC, IKCP = np.empty((n, n)), np.empty((n, n)), np.empty((n, n)), np.empty((n, n)), np.empty((n, n))
    CP, Z, KT, KR = np.empty((m, n)), np.empty((m, n)), np.empty((m, n)), np.empty((n, m))
    S, U_S, r, w = np.empty((m, m)), np.empty((m, m)), np.empty(m), np.empty(m)
    # lambda_min(Sigma_y_x) for the switch to the Joseph form: LAPACK's, computed once, at the first step where
    # a cheap lower bound cannot decide (nearly exact observations)
    lam_lo, lam_min_R = eigmin_lower_bound(Sigma_y_x, U_S, blas), np.nan
    mu_pred[0] = mu1                                        # Eq. 2.49
    Upsilon_pred[0] = Sigma1
    log_evidence = 0.0
    for t in range(T):
        if t > 0:
            time_update(dynamics, u[t - 1], mu_filt[t - 1], Upsilon_filt[t - 1], mu_pred[t], Upsilon_pred[t], AU,
                        tmp, blas)
            if J.shape[0] > 0:
                if not chol_upper(Upsilon_pred[t], U_P, blas):
                    return t, FAIL_PRED, np.nan
                smoother_gain(U_P, AU, J[t - 1])
        P = Upsilon_pred[t]
        if observed[t] == 0:                                # missing y_t: no measurement update
            skip_measurement(mu_pred[t], P, mu_filt[t], Upsilon_filt[t], K[t])
            log_p_y[t] = 0.0
        else:
            # MEASUREMENT UPDATE: Sigma_y = C P C^T + Sigma_y|x = U_S^T U_S
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
                return t, FAIL_INNOVATION, np.nan
            Z[:] = CP
            solve_ut(U_S, Z)                                # Z = U_S^{-T} C P
            solve_ut_vec(U_S, w)                            # w = U_S^{-T} r, the whitened innovation
            quad = 0.0
            for k in range(m):
                quad += w[k] * w[k]
            for i in range(n):                              # mu_filt = mu_pred + K r = mu_pred + Z^T w
                s = mu_pred[t, i]
                for k in range(m):
                    s += Z[k, i] * w[k]
                mu_filt[t, i] = s
            KT[:] = Z
            solve_u(U_S, KT)                                # K^T = Sigma_y^{-1} C P
            for i in range(n):
                for k in range(m):
                    K[t, i, k] = KT[k, i]
            joseph = tr_S > JOSEPH_RATIO * lam_lo              # may Eq. 2.47's subtraction lose six digits?
            if joseph and np.isnan(lam_min_R):
                lam_min_R = np.linalg.eigvalsh(Sigma_y_x)[0]
            if joseph and tr_S > JOSEPH_RATIO * lam_min_R:      # it would: the Joseph form
                joseph_covariance(C, Sigma_y_x, P, KT, Upsilon_filt[t], IKC, KR, IKCP, blas)
            else:
                mtm(Z, tmp, blas)                         # K Sigma_y K^T = Z^T Z
                Uf = Upsilon_filt[t]
                for i in range(n):
                    for j in range(n):
                        Uf[i, j] = P[i, j] - tmp[i, j]
                symmetrize_into(Uf, Uf)
            log_p_y[t] = -0.5 * (quad + chol_logdet(U_S) + m * np.log(TAU))  # Eq. 2.18 in the roles of Eq. 2.40
        if not step_is_finite(mu_pred[t], P, mu_filt[t], Upsilon_filt[t], log_p_y[t]):
            return t, FAIL_OVERFLOW, np.nan
        log_evidence += log_p_y[t]                          # Eq. 2.40
    return -1, -1, log_evidence


# ------------------------------------------------------------------------------------------------
# The forward pass, information form (the roles of Eqs. 2.13-2.14)
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
    """``e = r - C d``, accumulated along rows of ``C^T`` (unit stride over m)."""
    for k in range(r.shape[0]):
        e[k] = r[k]
    for i in range(d.shape[0]):
        f = d[i]
        for k in range(r.shape[0]):
            e[k] -= f * Ct[i, k]


@njit
def filter_information(model, info, u, y, observed, out, blas):
    """The forward pass in the information form; as :func:`filter_covariance`, with the emission ``C``, ``c`` of
    ``model``, the observations ``y`` and the constants ``info`` as ``kalman._information_constants`` returns
    them (whitened when ``Sigma_y_x`` is dense; ``model``'s ``Sigma_y_x`` is not read): ``info = (w_R, WC,
    CtRinv, G, logdet_R)``, the inverse noise variances, ``diag(w_R) C``, ``C^T Sigma_y|x^{-1}``,
    ``G = C^T Sigma_y|x^{-1} C`` and ``log|Sigma_y|x|``.

    With ``Upsilon_pred = U_P^T U_P``, ``Upsilon_filt = U_P^T M^{-1} U_P`` for ``M = I + U_P G U_P^T``: only
    ``n x n`` matrices are factored, and ``|Sigma_y| = |Sigma_y|x| |M|`` (determinant lemma)."""
    mu1, Sigma1, A, B, a, Sigma_x, C, c, _ = model
    w_R, WC, CtRinv, G, logdet_R = info
    mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, K, log_p_y, J = out
    (T, m), n = y.shape, mu1.shape[0]
    At, Ct = np.ascontiguousarray(A.T), np.ascontiguousarray(C.T)
    dynamics = (A, At, B, a, Sigma_x)
    AU, tmp, U_P, UG, M, U_M = (np.empty((n, n)), np.empty((n, n)), np.empty((n, n)), np.empty((n, n)),
                                np.empty((n, n)), np.empty((n, n)))
    b, d, r, e = np.empty(n), np.empty(n), np.empty(m), np.empty(m)
    mu_pred[0] = mu1                                        # Eq. 2.49
    Upsilon_pred[0] = Sigma1
    log_evidence = 0.0
    if not chol_upper(Sigma1, U_P, blas):
        return 0, FAIL_PRED, np.nan
    for t in range(T):
        if t > 0:
            time_update(dynamics, u[t - 1], mu_filt[t - 1], Upsilon_filt[t - 1], mu_pred[t], Upsilon_pred[t], AU,
                        tmp, blas)
            if not chol_upper(Upsilon_pred[t], U_P, blas):  # Upsilon_pred = U_P^T U_P
                return t, FAIL_PRED, np.nan
            if J.shape[0] > 0:
                smoother_gain(U_P, AU, J[t - 1])
        if observed[t] == 0:                                # missing y_t: no measurement update
            skip_measurement(mu_pred[t], Upsilon_pred[t], mu_filt[t], Upsilon_filt[t], K[t])
            log_p_y[t] = 0.0
        else:
            # MEASUREMENT UPDATE (Eqs. 2.13-2.14 roles) with G = C^T Sigma_y|x^{-1} C, computed once
            innovation(y[t], c, Ct, mu_pred[t], r)
            mm(U_P, G, UG, blas)
            information_matrix(U_P, UG, M)
            if not chol_upper(M, U_M, blas):
                return t, FAIL_INFO, np.nan
            if condition_bound(U_M) > INFO_MAX_COND:
                return t, FAIL_INFO_COND, np.nan
            tmp[:] = U_P
            solve_ut(U_M, tmp)                              # V = U_M^{-T} U_P
            Uf = Upsilon_filt[t]
            mtm(tmp, Uf, blas)                            # Upsilon_filt = V^T V (Eq. 2.14)
            information_gain_step(WC, Uf, r, b, d)          # d = Upsilon_filt C^T Sigma_y|x^{-1} r
            for i in range(n):
                mu_filt[t, i] = mu_pred[t, i] + d[i]        # Eq. 2.13 written as a correction
            posterior_residual(Ct, d, r, e)                 # e = r - C d
            # r^T Sigma_y^{-1} r as the sum of two squares e^T Sigma_y|x^{-1} e + d^T Upsilon_pred^{-1} d (Woodbury's
            # r^T Sigma_y|x^{-1} r - b^T Upsilon_filt b is equal, but subtracts two terms of size 1 / noise)
            quad = weighted_sumsq(e, w_R)
            solve_ut_vec(U_P, d)
            for i in range(n):
                quad += d[i] * d[i]
            mm(Uf, CtRinv, K[t], blas)                # K = Upsilon_filt C^T Sigma_y|x^{-1} (Eq. 2.15)
            log_p_y[t] = -0.5 * (quad + logdet_R + chol_logdet(U_M) + m * np.log(TAU))
        if not step_is_finite(mu_pred[t], Upsilon_pred[t], mu_filt[t], Upsilon_filt[t], log_p_y[t]):
            return t, FAIL_OVERFLOW, np.nan
        log_evidence += log_p_y[t]                          # Eq. 2.40
    return -1, -1, log_evidence


# ------------------------------------------------------------------------------------------------
# The backward pass (Eqs. 2.53-2.55)
# ------------------------------------------------------------------------------------------------

@njit
def rts_gains(A, Upsilon_pred, Upsilon_filt, J, blas):
    """Smoother gains ``J[t]`` (Eq. 2.53) from the filter output and ``A`` alone, into ``J``; returns -1, or the
    step whose ``Upsilon_pred`` lost positive definiteness; ``blas`` as :func:`blas_for` gives it. Twin:
    ``kalman._rts_numpy``."""
    T, n = Upsilon_filt.shape[0], Upsilon_filt.shape[1]
    AU, U_P = np.empty((n, n)), np.empty((n, n))
    for t in range(T - 1):
        mm(A, Upsilon_filt[t], AU, blas)
        if not chol_upper(Upsilon_pred[t + 1], U_P, blas):
            return t + 1
        smoother_gain(U_P, AU, J[t])
    return -1


@njit
def rts_backward(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, J, mu_smooth, Upsilon_smooth, Upsilon_cross, blas):
    """The RTS backward step (Eqs. 2.54-2.55) given the gains, into the last three (caller-allocated) arrays;
    twin ``kalman._rts_numpy``; ``blas`` as :func:`blas_for` gives it. No emission parameter, observation or
    control is passed in."""
    T, n = mu_filt.shape
    D, JD, JT, tmp, dmu = np.empty((n, n)), np.empty((n, n)), np.empty((n, n)), np.empty((n, n)), np.empty(n)
    mu_smooth[T - 1] = mu_filt[T - 1]                       # base case: smoother = filter at T
    Upsilon_smooth[T - 1] = Upsilon_filt[T - 1]
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


# ------------------------------------------------------------------------------------------------
# Validation's first pass
# ------------------------------------------------------------------------------------------------

@njit_inline
def all_within(x, limit):
    """Whether every entry of ``x`` is finite and at most ``limit`` in magnitude."""
    for v in x.flat:
        if not abs(v) <= limit:                             # also False for NaN
            return False
    return True


@njit
def screen_model(model, limit, sym_rtol, spd_ulps, eps):
    """``(ok, L1, Lx, Ly)`` for ``model = (mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x)`` (``B`` an array):
    ``ok`` when every entry is finite and at most ``limit`` in magnitude and each of the
    three covariances is clearly positive definite by :func:`pedagogy_lib.core.kernels.spd_screen` (symmetric to
    ``sym_rtol``, scaled smallest eigenvalue above ``spd_ulps * d * eps`` in dimension ``d``), with their lower
    Cholesky factors. The caller has checked types and shapes; anything that fails or is undecided here goes to
    the full checks, which decide and explain."""
    mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x = model
    L1, Lx, Ly = np.empty((0, 0)), np.empty((0, 0)), np.empty((0, 0))
    if not (all_within(mu1, limit) and all_within(Sigma1, limit) and all_within(A, limit) and all_within(B, limit)
            and all_within(a, limit) and all_within(Sigma_x, limit) and all_within(C, limit) and all_within(c, limit)
            and all_within(Sigma_y_x, limit)):
        return False, L1, Lx, Ly
    ok1, L1 = spd_screen(Sigma1, sym_rtol, spd_ulps * Sigma1.shape[0] * eps)
    okx, Lx = spd_screen(Sigma_x, sym_rtol, spd_ulps * Sigma_x.shape[0] * eps)
    oky, Ly = spd_screen(Sigma_y_x, sym_rtol, spd_ulps * Sigma_y_x.shape[0] * eps)
    return ok1 and okx and oky, L1, Lx, Ly


def run_small(mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y, screen, smooth):
    """The fast path of :mod:`~pedagogy_lib.lgssm.small` in one call, for a model without control and a complete
    ``y``: the shapes, :func:`screen_model` (``screen``: its last four arguments) and ``y`` finite, then
    :func:`filter_covariance` and, when ``smooth``, :func:`rts_backward`, in loops (``LOOPS_ONLY``: the caller
    sends only models of fewer than ``LOOPS_ONLY_MAX_DIM`` dimensions). Returns ``ok`` and the fields of the
    smoother's result (``J`` and the smoother's arrays of length 0 unless ``smooth``); ``ok`` is False when a
    check or the filter fails, and the caller then takes the full path, which decides and explains. Compiled
    for :data:`SMALL_SIGNATURE` alone (see :mod:`~pedagogy_lib.lgssm.small`)."""
    (T, m), n = y.shape, mu1.shape[0]
    out = (np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n, m)),
           np.empty(T), np.empty((T - 1 if smooth else 0, n, n)))
    k = T if smooth else 0
    mu_smooth, Upsilon_smooth, Upsilon_cross = np.empty((k, n)), np.empty((k, n, n)), np.empty((max(k - 1, 0), n, n))
    model = (mu1, Sigma1, A, np.empty((n, 0)), a, Sigma_x, C, c, Sigma_y_x)
    log_evidence = np.nan
    ok = (T > 0 and Sigma1.shape == (n, n) and A.shape == (n, n) and a.shape[0] == n and Sigma_x.shape == (n, n)
          and C.shape == (m, n) and c.shape[0] == m and Sigma_y_x.shape == (m, m) and all_within(y, FLOAT_MAX)
          and screen_model(model, *screen)[0])
    if ok:
        t_fail, _, log_evidence = filter_covariance(model, np.empty((T - 1, 0)), y, np.ones(T, np.uint8), out,
                                                    LOOPS_ONLY)
        ok = t_fail < 0
    if ok and smooth:
        rts_backward(out[0], out[1], out[2], out[3], out[6], mu_smooth, Upsilon_smooth, Upsilon_cross, LOOPS_ONLY)
    return (ok, out[0], out[1], out[2], out[3], out[4], out[5], log_evidence, mu_smooth, Upsilon_smooth, out[6],
            Upsilon_cross)


#: The one argument signature :func:`run_small` is compiled for: float64, C-contiguous, writable arrays of these
#: dimensions, the four numbers of the screen and ``smooth``.
SMALL_SIGNATURE = ("(float64[::1], float64[:, ::1], float64[:, ::1], float64[::1], float64[:, ::1], float64[:, ::1], "
                   "float64[::1], float64[:, ::1], float64[:, ::1], Tuple((float64, float64, int64, float64)), boolean)")


def warmup_kernels() -> None:
    """Compile (or load from the cache) every kernel once on a tiny problem, with and without the gains."""
    n, m, T = 2, 3, 3
    mu1, a, c = np.zeros(n), np.zeros(n), np.zeros(m)
    I_n, A, C, R = np.eye(n), 0.9 * np.eye(n), np.ones((m, n)), np.eye(m)
    B, u, y, observed = np.ones((n, 1)), np.zeros((T - 1, 1)), np.ones((T, m)), np.array([1, 0, 1], np.uint8)
    info = (np.ones(m), C, np.ascontiguousarray(C.T), C.T @ C, 0.0)
    for J_len in (T - 1, 0):
        out = (np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n, m)),
               np.empty(T), np.empty((J_len, n, n)))
        model = (mu1, I_n, A, B, a, I_n, C, c, R)
        filter_covariance(model, u, y, observed, out, LOOPS_ONLY)
        filter_information(model, info, u, y, observed, out, LOOPS_ONLY)
    J = np.empty((T - 1, n, n))
    rts_gains(A, out[1], out[3], J, LOOPS_ONLY)
    rts_backward(out[0], out[1], out[2], out[3], J, np.empty((T, n)), np.empty((T, n, n)), np.empty((T - 1, n, n)),
                 LOOPS_ONLY)
    screen_model(model, 1e75, 1e-8, 100, 2.2e-16)
    small = compile_for(run_small, SMALL_SIGNATURE)
    for smooth in (True, False):
        small(mu1, I_n, A, a, I_n, C, c, R, y, (1e75, 1e-8, 100, 2.2e-16), smooth)
