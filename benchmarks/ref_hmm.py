"""A plain numba HMM smoother with expected transition counts, to measure ours against.

Written as a careful user would write the book's alpha-gamma algorithm (Section 2.2.1) in an
afternoon: one ``@njit`` function, the normalized forward filter (time update ``A @ f`` as a dot
product per row, measurement update with ``np.exp(log_lik[t] - max)`` entry by entry) and the gamma
recursion backwards (``ratio = gamma_{t+1} / predicted_{t+1}``, ``gamma_t = f_t * (A^T ratio)``, the
counts ``S += outer(ratio, f_t)`` one step at a time), work arrays allocated before the time loop.
No input validation, no zero-evidence report, no blocking, no vectorized exponential. It returns what
``hmm_smoother(..., return_pairwise="sum")`` returns (filtered, predicted, gamma, xi_sum, log_c), so the
benchmark checks that the two agree before timing them. Not part of the library.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _smoother(pi, A, log_lik):
    T, K = log_lik.shape
    filtered = np.empty((T, K))
    predicted = np.empty((T, K))
    gamma = np.empty((T, K))
    log_c = np.empty(T)
    f = np.empty(K)
    pred = np.empty(K)
    for t in range(T):
        # time update, Eq. 2.36: pred = A @ f
        if t == 0:
            for i in range(K):
                pred[i] = pi[i]
        else:
            for i in range(K):
                s = 0.0
                for j in range(K):
                    s += A[i, j] * f[j]
                pred[i] = s
        # measurement update, Eq. 2.37, with the likelihood scaled by exp(-max)
        m = log_lik[t, 0]
        for k in range(1, K):
            m = max(m, log_lik[t, k])
        c = 0.0
        for k in range(K):
            f[k] = pred[k] * np.exp(log_lik[t, k] - m)
            c += f[k]
        for k in range(K):
            f[k] /= c
            filtered[t, k] = f[k]
            predicted[t, k] = pred[k]
        log_c[t] = np.log(c) + m
    # gamma recursion, Eq. 2.44, and the expected counts S = sum_t outer(ratio_{t+1}, f_t)
    ratio = np.empty(K)
    S = np.zeros((K, K))
    for k in range(K):
        gamma[T - 1, k] = filtered[T - 1, k]
    for t in range(T - 2, -1, -1):
        for i in range(K):
            p = predicted[t + 1, i]
            ratio[i] = gamma[t + 1, i] / p if p > 0.0 else 0.0
        for j in range(K):
            gamma[t, j] = 0.0
        for i in range(K):                     # gamma_t = f_t * (A^T ratio), rows of A unit-stride
            r = ratio[i]
            for j in range(K):
                gamma[t, j] += A[i, j] * r
        for j in range(K):
            gamma[t, j] *= filtered[t, j]
        for i in range(K):
            r = ratio[i]
            for j in range(K):
                S[i, j] += r * filtered[t, j]
    return filtered, predicted, gamma, A * S, log_c


def reference_smoother(pi, A, log_lik):
    """``(filtered, predicted, gamma, xi_sum, log_c)`` of the column-stochastic HMM ``(pi, A)``."""
    return _smoother(pi, A, log_lik)
