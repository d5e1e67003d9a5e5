"""A plain numba bootstrap particle filter for the linear-Gaussian model, to measure ours against.

Written as a careful user would write it: one ``@njit`` loop over time and particles, the normals
and the resampling uniforms drawn by NumPy in one block each before the loop (as the library does),
systematic resampling by the usual merge of the sorted points with the cumulative weights, weights
through ``np.exp``; the emission whitened once with NumPy. No validation, no ESS bookkeeping, no
other resampling schemes. It returns the particles, log weights, ancestors and the per-step log
evidence factors, so the benchmark checks its estimate of log p(y) before timing it. Not part of
the library.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _bootstrap(mu1, L1, A, a, Lx, G, g, log_const, eps, U):
    T, I, n = eps.shape
    m = G.shape[0]
    x = np.empty((T, I, n))
    log_w = np.empty((T, I))
    anc = np.empty((T, I), dtype=np.int64)
    log_Z = np.empty(T)
    W = np.empty(I)
    log_I = np.log(I)
    for t in range(T):
        if t == 0:
            for i in range(I):
                anc[0, i] = -1
                for d in range(n):
                    s = mu1[d]
                    for e in range(d + 1):
                        s += L1[d, e] * eps[0, i, e]
                    x[0, i, d] = s
        else:
            c = W[0]                                   # systematic resampling: points (i + U) / I
            j = 0
            for i in range(I):
                u = (i + U[t]) / I
                while u > c and j < I - 1:
                    j += 1
                    c += W[j]
                anc[t, i] = j
                for d in range(n):                     # move: x = A x_anc + a + Lx eps
                    s = a[d]
                    for e in range(n):
                        s += A[d, e] * x[t - 1, j, e]
                    for e in range(d + 1):
                        s += Lx[d, e] * eps[t, i, e]
                    x[t, i, d] = s
        mx = -np.inf                                   # weights: log p(y_t | x) for uniform priors
        for i in range(I):
            sq = 0.0
            for k in range(m):
                r = g[t, k]
                for d in range(n):
                    r -= G[k, d] * x[t, i, d]
                sq += r * r
            lw = log_const - 0.5 * sq
            log_w[t, i] = lw
            mx = max(mx, lw)
        total = 0.0
        for i in range(I):
            W[i] = np.exp(log_w[t, i] - mx)
            total += W[i]
        for i in range(I):
            W[i] /= total
            log_w[t, i] -= mx + np.log(total)
        log_Z[t] = mx + np.log(total) - log_I
    return x, log_w, anc, log_Z


def reference_bootstrap(params, y, rng, I):
    """Bootstrap filter of an ``LGSSMParams`` model (no controls): ``(x, log_w, ancestors, log_Z_steps)``."""
    T = y.shape[0]
    n = params.mu1.shape[0]
    L1, Lx, Ly = (np.linalg.cholesky(S) for S in (params.Sigma1, params.Sigma_x, params.Sigma_y_x))
    G = np.ascontiguousarray(np.linalg.solve(Ly, params.C))
    g = np.ascontiguousarray(np.linalg.solve(Ly, (y - params.c).T).T)
    log_const = -np.log(np.diag(Ly)).sum() - 0.5 * y.shape[1] * np.log(2 * np.pi)
    eps = rng.standard_normal((T, I, n))
    U = rng.random(T)
    return _bootstrap(params.mu1, L1, params.A, params.a, Lx, G, g, log_const, eps, U)
