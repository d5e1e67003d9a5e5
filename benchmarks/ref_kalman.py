"""A plain numba reference for the Kalman filter + RTS smoother, to measure ours against.

Written the way a careful user would write it in an afternoon: one ``@njit`` function per pass,
the textbook covariance-form equations in explicit loops (matrix products as triple loops, a
simple Cholesky factorization, forward and back substitution), work arrays allocated once before
the time loop, and no input validation, no missing data, no controls. It returns the same
quantities as ``kalman_smoother`` (predicted, filtered and smoothed means and covariances, Kalman
and smoother gains, cross-covariances, log evidence), so the benchmark first checks that the two
agree and then times both. It is not part of the library.
"""
from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True)


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
def kalman_smoother_ref(mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y):
    """Covariance-form Kalman filter and RTS smoother; returns the same eleven fields as ours."""
    T, m = y.shape
    n = mu1.shape[0]
    mu_pred = np.empty((T, n))
    P_pred = np.empty((T, n, n))
    mu_filt = np.empty((T, n))
    P_filt = np.empty((T, n, n))
    K = np.empty((T, n, m))
    log_p_y = np.empty(T)
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
            for i in range(n):                                  # x_pred = A x_filt + a
                s = a[i]
                for j in range(n):
                    s += A[i, j] * mu_filt[t - 1, j]
                mu_pred[t, i] = s
            _matmul(A, P_filt[t - 1], AP)                       # P_pred = A P A^T + Sigma_x
            _matmul_bt(AP, A, APA)
            for i in range(n):
                for j in range(n):
                    P_pred[t, i, j] = 0.5 * (APA[i, j] + APA[j, i]) + Sigma_x[i, j]
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
    # RTS smoother
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
    return mu_pred, P_pred, mu_filt, P_filt, K, log_p_y, log_p_y.sum(), mu_s, P_s, J, cross


def reference(params, y):
    """Call :func:`kalman_smoother_ref` on an ``LGSSMParams`` without control (no validation)."""
    p = params
    f = lambda v: np.ascontiguousarray(v, dtype=float)        # noqa: E731
    return kalman_smoother_ref(f(p.mu1), f(p.Sigma1), f(p.A), f(p.a), f(p.Sigma_x), f(p.C), f(p.c),
                               f(p.Sigma_y_x), f(y))
