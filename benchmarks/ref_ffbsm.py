"""A plain numba FFBSm backward pass for the linear-Gaussian model, to measure ours against.

Written as a careful user would write Eq. 2.61 from the book: one ``@njit`` function with a double
loop over particle pairs at each step. For every new particle k it evaluates the log transition
density log p(x_t^(k) | x_{t-1}^(j)) = -(r^T P r) / 2 + const, with r = x_t^(k) - A x_{t-1}^(j) - a and
P the precision of the transition noise (the means A x_{t-1}^(j) + a computed once per step), adds
the filter's log weight, and turns the row into normalized weights by a log-sum-exp (subtract the
largest logit, one ``np.exp`` per entry): without it the densities underflow for a sharp transition.
Then beta_{t-1}^(j) += (beta_t^(k) / sum_i e_i) e_j, and each step is renormalized. No validation, no
whitening, no vectorized exponential, no skipping of zero weights. It returns the (T, I) smoothing
weights that ``ffbsm`` returns, so the benchmark checks the two agree before timing them. Not part of
the library.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _ffbsm(x, log_alpha, A, a, P):
    T, I, n = x.shape
    beta = np.empty((T, I))
    for j in range(I):
        beta[T - 1, j] = np.exp(log_alpha[T - 1, j])        # beta_T = alpha_T
    mean = np.empty((I, n))
    r = np.empty(n)
    logit = np.empty(I)
    w = np.empty(I)
    for t in range(T - 1, 0, -1):
        for j in range(I):                                   # transition means from step t - 1
            for d in range(n):
                s = a[d]
                for e in range(n):
                    s += A[d, e] * x[t - 1, j, e]
                mean[j, d] = s
        for j in range(I):
            beta[t - 1, j] = 0.0
        for k in range(I):
            mx = -np.inf
            for j in range(I):
                for d in range(n):
                    r[d] = x[t, k, d] - mean[j, d]
                q = 0.0
                for d in range(n):
                    for e in range(n):
                        q += r[d] * P[d, e] * r[e]
                logit[j] = log_alpha[t - 1, j] - 0.5 * q
                if logit[j] > mx:
                    mx = logit[j]
            total = 0.0
            for j in range(I):
                w[j] = np.exp(logit[j] - mx)
                total += w[j]
            c = beta[t, k] / total
            for j in range(I):
                beta[t - 1, j] += c * w[j]
        total = 0.0
        for j in range(I):
            total += beta[t - 1, j]
        for j in range(I):
            beta[t - 1, j] /= total
    return beta


def reference_ffbsm(params, x, log_alpha):
    """FFBSm smoothing weights (T, I) of an ``LGSSMParams`` model (no controls) on a filter's particles
    ``x`` (T, I, n) with normalized log weights ``log_alpha`` (T, I)."""
    P = np.linalg.inv(params.Sigma_x)
    return _ffbsm(x, log_alpha, params.A, params.a, P)
