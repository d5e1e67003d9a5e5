"""A plain numba reference for the Kalman filter + RTS smoother, to measure ours against.

Written the way a careful user would write it in an afternoon: one ``@njit`` function per pass,
the textbook covariance-form equations in explicit loops (matrix products as triple loops, a
simple Cholesky factorization, forward and back substitution), work arrays allocated once before
the time loop, and no input validation, no missing data, no controls. It returns the same
quantities as ``kalman_smoother`` (predicted, filtered and smoothed means and covariances, Kalman
and smoother gains, cross-covariances, log evidence), so the benchmark first checks that the two
agree and then times both. ``reference_information`` is the same for the information form with a
dense observation noise (observations whitened once with NumPy and SciPy, then a numba loop that
factors only ``n x n`` matrices). Neither is part of the library.
"""
from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True)


def _f(v):
    """A C-contiguous float64 copy (or view) of an argument, as the compiled references expect."""
    return np.ascontiguousarray(v, dtype=float)


@jit
def _matmul(X, Y, out):
    """out = X @ Y with the inner loop along rows of Y (vectorizes)."""
    p, q = X.shape
    r = Y.shape[1]
    for i in range(p):
        for j in range(r):
            out[i, j] = 0.0
        for k in range(q):
            x = X[i, k]
            for j in range(r):
                out[i, j] += x * Y[k, j]


@jit
def _matmul_bt(X, Y, out):
    """out = X @ Y.T (dot products of rows)."""
    p, q = X.shape
    r = Y.shape[0]
    for i in range(p):
        for j in range(r):
            s = 0.0
            for k in range(q):
                s += X[i, k] * Y[j, k]
            out[i, j] = s


@jit
def _cholesky(S, L):
    """Lower Cholesky factor, L L^T = S (Cholesky-Banachiewicz)."""
    n = S.shape[0]
    for i in range(n):
        for j in range(i + 1):
            s = S[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            if i == j:
                L[i, i] = np.sqrt(s)
            else:
                L[i, j] = s / L[j, j]
        for j in range(i + 1, n):
            L[i, j] = 0.0


@jit
def _forward(L, X):
    """In place X <- L^{-1} X (L lower triangular, X has rows indexed like L)."""
    n = L.shape[0]
    for i in range(n):
        for j in range(i):
            f = L[i, j]
            for k in range(X.shape[1]):
                X[i, k] -= f * X[j, k]
        d = L[i, i]
        for k in range(X.shape[1]):
            X[i, k] /= d


@jit
def _backward(L, X):
    """In place X <- L^{-T} X (back substitution with U = L^T)."""
    n = L.shape[0]
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            f = L[j, i]
            for k in range(X.shape[1]):
                X[i, k] -= f * X[j, k]
        d = L[i, i]
        for k in range(X.shape[1]):
            X[i, k] /= d


@jit
def _filter_outputs(T, n, m):
    """Empty arrays for the filter's outputs: predicted and filtered means and covariances, K, log p(y_t)."""
    return (np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n, m)),
            np.empty(T))


@jit
def _predict(A, a, Sigma_x, mu_f, P_f, mu_p, P_p, AP, APA):
    """Time update into mu_p, P_p: x_pred = A x_filt + a, P_pred = A P_filt A^T + Sigma_x."""
    n = mu_f.shape[0]
    for i in range(n):
        s = a[i]
        for j in range(n):
            s += A[i, j] * mu_f[j]
        mu_p[i] = s
    _matmul(A, P_f, AP)
    _matmul_bt(AP, A, APA)
    for i in range(n):
        for j in range(n):
            P_p[i, j] = 0.5 * (APA[i, j] + APA[j, i]) + Sigma_x[i, j]


@jit
def _rts(A, mu_pred, P_pred, mu_filt, P_filt):
    """RTS smoother: smoothed means and covariances, gains J and cross-covariances."""
    T, n = mu_filt.shape
    AP = np.empty((n, n))
    mu_s = np.empty((T, n))
    P_s = np.empty((T, n, n))
    J = np.empty((max(T - 1, 0), n, n))
    cross = np.empty((max(T - 1, 0), n, n))
    Lp = np.empty((n, n))
    D = np.empty((n, n))
    JD = np.empty((n, n))
    JDJ = np.empty((n, n))
    d = np.empty(n)
    mu_s[T - 1] = mu_filt[T - 1]
    P_s[T - 1] = P_filt[T - 1]
    for t in range(T - 2, -1, -1):
        _cholesky(P_pred[t + 1], Lp)                            # J^T = P_pred^{-1} A P_filt
        _matmul(A, P_filt[t], AP)
        _forward(Lp, AP)
        _backward(Lp, AP)
        for i in range(n):
            for j in range(n):
                J[t, i, j] = AP[j, i]
        Jt = J[t]
        for i in range(n):
            d[i] = mu_s[t + 1, i] - mu_pred[t + 1, i]
        for i in range(n):                                      # x_s = x_filt + J (x_s' - x_pred')
            s = mu_filt[t, i]
            for j in range(n):
                s += Jt[i, j] * d[j]
            mu_s[t, i] = s
        for i in range(n):
            for j in range(n):
                D[i, j] = P_s[t + 1, i, j] - P_pred[t + 1, i, j]
        _matmul(Jt, D, JD)                                      # P_s = P_filt + J D J^T
        _matmul_bt(JD, Jt, JDJ)
        for i in range(n):
            for j in range(n):
                P_s[t, i, j] = P_filt[t, i, j] + 0.5 * (JDJ[i, j] + JDJ[j, i])
        _matmul_bt(P_s[t + 1], Jt, cross[t])                    # Cov[x_{t+1}, x_t | y] = P_s' J^T
    return mu_s, P_s, J, cross


@jit
def kalman_smoother_ref(mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y):
    """Covariance-form Kalman filter and RTS smoother; returns the same eleven fields as ours."""
    T, m = y.shape
    n = mu1.shape[0]
    mu_pred, P_pred, mu_filt, P_filt, K, log_p_y = _filter_outputs(T, n, m)
    log_2pi = np.log(2.0 * np.pi)
    AP = np.empty((n, n))
    APA = np.empty((n, n))
    CP = np.empty((m, n))
    S = np.empty((m, m))
    L = np.empty((m, m))
    Z = np.empty((m, n))
    ZZ = np.empty((n, n))
    w = np.empty((m, 1))
    mu_pred[0] = mu1
    P_pred[0] = Sigma1
    for t in range(T):
        if t > 0:
            _predict(A, a, Sigma_x, mu_filt[t - 1], P_filt[t - 1], mu_pred[t], P_pred[t], AP, APA)
        P = P_pred[t]
        for i in range(m):                                      # innovation r = y - C x_pred - c
            s = y[t, i] - c[i]
            for j in range(n):
                s -= C[i, j] * mu_pred[t, j]
            w[i, 0] = s
        _matmul(C, P, CP)                                       # S = C P C^T + Sigma_y|x = L L^T
        _matmul_bt(CP, C, S)
        for i in range(m):
            for j in range(m):
                S[i, j] += Sigma_y_x[i, j]
        _cholesky(S, L)
        Z[:] = CP
        _forward(L, Z)                                          # Z = L^{-1} C P
        _forward(L, w)                                          # w = L^{-1} r
        quad = 0.0
        logdet = 0.0
        for i in range(m):
            quad += w[i, 0] * w[i, 0]
            logdet += np.log(L[i, i])
        for i in range(n):                                      # x_filt = x_pred + Z^T w
            s = mu_pred[t, i]
            for k in range(m):
                s += Z[k, i] * w[k, 0]
            mu_filt[t, i] = s
        for i in range(n):                                      # P_filt = P - Z^T Z
            for j in range(n):
                s = 0.0
                for k in range(m):
                    s += Z[k, i] * Z[k, j]
                ZZ[i, j] = s
        for i in range(n):
            for j in range(n):
                P_filt[t, i, j] = P[i, j] - 0.5 * (ZZ[i, j] + ZZ[j, i])
        _backward(L, Z)                                         # K^T = S^{-1} C P
        for i in range(n):
            for k in range(m):
                K[t, i, k] = Z[k, i]
        log_p_y[t] = -0.5 * (quad + 2.0 * logdet + m * log_2pi)
    mu_s, P_s, J, cross = _rts(A, mu_pred, P_pred, mu_filt, P_filt)
    return mu_pred, P_pred, mu_filt, P_filt, K, log_p_y, log_p_y.sum(), mu_s, P_s, J, cross


def reference(params, y):
    """Call :func:`kalman_smoother_ref` on an ``LGSSMParams`` without control (no validation)."""
    p, f = params, _f
    return kalman_smoother_ref(f(p.mu1), f(p.Sigma1), f(p.A), f(p.a), f(p.Sigma_x), f(p.C), f(p.c),
                               f(p.Sigma_y_x), f(y))


@jit
def _info_filter(mu1, Sigma1, A, a, Sigma_x, Cw, CtRinv, G, logdet_R, yw):
    """Information-form filter on whitened observations (unit noise): only n x n factorizations."""
    T, m = yw.shape
    n = mu1.shape[0]
    mu_pred, P_pred, mu_filt, P_filt, K, log_p_y = _filter_outputs(T, n, m)
    log_2pi = np.log(2.0 * np.pi)
    AP = np.empty((n, n))
    APA = np.empty((n, n))
    Lp = np.empty((n, n))
    Pinv = np.empty((n, n))
    Lam = np.empty((n, n))
    Ll = np.empty((n, n))
    r = np.empty(m)
    b = np.empty(n)
    mu_pred[0] = mu1
    P_pred[0] = Sigma1
    for t in range(T):
        if t > 0:
            _predict(A, a, Sigma_x, mu_filt[t - 1], P_filt[t - 1], mu_pred[t], P_pred[t], AP, APA)
        _cholesky(P_pred[t], Lp)                                # P_pred^{-1} = Lp^{-T} Lp^{-1}
        Pinv[:] = 0.0
        for i in range(n):
            Pinv[i, i] = 1.0
        _forward(Lp, Pinv)
        _backward(Lp, Pinv)
        for i in range(n):                                      # Lam = P_pred^{-1} + C^T R^{-1} C
            for j in range(n):
                Lam[i, j] = 0.5 * (Pinv[i, j] + Pinv[j, i]) + G[i, j]
        _cholesky(Lam, Ll)                                      # P_filt = Lam^{-1}
        Pf = P_filt[t]
        Pf[:] = 0.0
        for i in range(n):
            Pf[i, i] = 1.0
        _forward(Ll, Pf)
        _backward(Ll, Pf)
        for i in range(m):                                      # whitened innovation
            s = yw[t, i]
            for j in range(n):
                s -= Cw[i, j] * mu_pred[t, j]
            r[i] = s
        quad = 0.0
        for i in range(m):
            quad += r[i] * r[i]
        for j in range(n):                                      # b = C^T R^{-1} r
            s = 0.0
            for i in range(m):
                s += Cw[i, j] * r[i]
            b[j] = s
        for i in range(n):                                      # x_filt = x_pred + P_filt b
            s = 0.0
            for j in range(n):
                s += Pf[i, j] * b[j]
            mu_filt[t, i] = mu_pred[t, i] + s
            quad -= b[i] * s                                    # r^T S^{-1} r = |r|^2 - b^T P_filt b
        _matmul(Pf, CtRinv, K[t])                               # K = P_filt C^T R^{-1}
        logdet = logdet_R                                       # |S| = |R| |P_pred| |Lam|
        for i in range(n):
            logdet += 2.0 * (np.log(Lp[i, i]) + np.log(Ll[i, i]))
        log_p_y[t] = -0.5 * (quad + logdet + m * log_2pi)
    return mu_pred, P_pred, mu_filt, P_filt, K, log_p_y


def reference_information(params, y):
    """The information form as a user would write it: whiten the observations with NumPy and
    SciPy (one Cholesky factor of Sigma_y|x, triangular solves), then :func:`_info_filter` and
    the same RTS pass as :func:`kalman_smoother_ref`. No validation, no missing data."""
    from scipy.linalg import solve_triangular
    p, f = params, _f
    L = np.linalg.cholesky(p.Sigma_y_x)
    Cw = solve_triangular(L, p.C, lower=True)
    yw = f(solve_triangular(L, (y - p.c).T, lower=True).T)
    CtRinv = f(solve_triangular(L, Cw, lower=True, trans="T").T)
    G = Cw.T @ Cw
    logdet_R = 2.0 * np.log(np.diag(L)).sum()
    A = f(p.A)
    mu_pred, P_pred, mu_filt, P_filt, K, log_p_y = _info_filter(f(p.mu1), f(p.Sigma1), A, f(p.a), f(p.Sigma_x),
                                                                f(Cw), CtRinv, f(G), logdet_R, yw)
    mu_s, P_s, J, cross = _rts(A, mu_pred, P_pred, mu_filt, P_filt)
    return mu_pred, P_pred, mu_filt, P_filt, K, log_p_y, log_p_y.sum(), mu_s, P_s, J, cross


@jit
def kalman_smoother_ref_blas(mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y):
    """The same eleven fields from whole-matrix expressions: ``@`` (BLAS), ``np.linalg.cholesky`` and
    ``np.linalg.solve`` (LAPACK), as a user who lets the libraries do the algebra writes it. Faster than
    the loops of :func:`kalman_smoother_ref` once the matrices are a few dozen wide; slower below."""
    T, m = y.shape
    n = mu1.shape[0]
    mu_pred, P_pred, mu_filt, P_filt, K, log_p_y = _filter_outputs(T, n, m)
    At, Ct = np.ascontiguousarray(A.T), np.ascontiguousarray(C.T)
    log_2pi = np.log(2.0 * np.pi)
    for t in range(T):
        if t == 0:
            mu_pred[0] = mu1
            P_pred[0] = Sigma1
        else:
            mu_pred[t] = A @ mu_filt[t - 1] + a
            APA = A @ P_filt[t - 1] @ At
            P_pred[t] = 0.5 * (APA + APA.T) + Sigma_x
        P = P_pred[t]
        r = y[t] - C @ mu_pred[t] - c
        CP = C @ P
        S = CP @ Ct + Sigma_y_x
        L = np.linalg.cholesky(S)
        KT = np.linalg.solve(S, CP)                             # K^T = S^{-1} C P
        w = np.linalg.solve(S, r)
        mu_filt[t] = mu_pred[t] + KT.T @ r
        KCP = CP.T @ KT
        P_filt[t] = P - 0.5 * (KCP + KCP.T)
        K[t] = KT.T
        log_p_y[t] = -0.5 * (r @ w + 2.0 * np.sum(np.log(np.diag(L))) + m * log_2pi)
    mu_s = np.empty((T, n))
    P_s = np.empty((T, n, n))
    J = np.empty((max(T - 1, 0), n, n))
    cross = np.empty((max(T - 1, 0), n, n))
    mu_s[T - 1] = mu_filt[T - 1]
    P_s[T - 1] = P_filt[T - 1]
    for t in range(T - 2, -1, -1):
        JT = np.linalg.solve(P_pred[t + 1], A @ P_filt[t])     # J^T = P_pred^{-1} A P_filt
        J[t] = JT.T
        mu_s[t] = mu_filt[t] + JT.T @ (mu_s[t + 1] - mu_pred[t + 1])
        JDJ = JT.T @ (P_s[t + 1] - P_pred[t + 1]) @ JT
        P_s[t] = P_filt[t] + 0.5 * (JDJ + JDJ.T)
        cross[t] = P_s[t + 1] @ JT                              # Cov[x_{t+1}, x_t | y] = P_s' J^T
    return mu_pred, P_pred, mu_filt, P_filt, K, log_p_y, log_p_y.sum(), mu_s, P_s, J, cross


def reference_blas(params, y):
    """Call :func:`kalman_smoother_ref_blas` on an ``LGSSMParams`` without control (no validation)."""
    p, f = params, _f
    return kalman_smoother_ref_blas(f(p.mu1), f(p.Sigma1), f(p.A), f(p.a), f(p.Sigma_x), f(p.C), f(p.c),
                                    f(p.Sigma_y_x), f(y))
