"""A plain NumPy EM for a Gaussian mixture with full covariances, to measure ours against.

Written as a careful user would write Section 7.1 in an afternoon, vectorized over the data with a
loop over components: the E step factors each covariance by Cholesky, whitens ``y - mu_k`` with one
triangular solve, forms the log joint ``log pi_k + log N(y_n; mu_k, Sigma_k)`` column by column and
normalizes it by log-sum-exp into responsibilities; the M step sets ``pi_k = N_k / N``, the weighted
means and the weighted scatter about the new means. The log likelihood is recorded at every E step,
as a user tracking convergence would, and once more at the final parameters, so that an ``n_iter``
run makes ``n_iter + 1`` passes over the data and returns the same history as ``fit_gmm``'s
``log_lik``. No input validation, no covariance floor, no empty-component guard, no fused kernel.
Not part of the library.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular


def log_densities(y, mu, Sigma):
    """``(N, K)``: ``log N(y_n; mu_k, Sigma_k)``, one Cholesky factor and one triangular solve per component."""
    N, D = y.shape
    K = mu.shape[0]
    out = np.empty((N, K))
    for k in range(K):
        L = np.linalg.cholesky(Sigma[k])
        w = solve_triangular(L, (y - mu[k]).T, lower=True, check_finite=False)     # L^{-1} (y_n - mu_k)
        out[:, k] = -0.5 * D * np.log(2.0 * np.pi) - np.sum(np.log(np.diag(L))) - 0.5 * np.sum(w * w, axis=0)
    return out


def _log_joint(y, pi, mu, Sigma):
    """``(N, K)``: ``log pi_k + log N(y_n; mu_k, Sigma_k)``."""
    return np.log(pi) + log_densities(y, mu, Sigma)


def reference_em(y, pi, mu, Sigma, n_iter):
    """``n_iter`` EM iterations from ``(pi, mu, Sigma)``; returns ``(pi, mu, Sigma, log_lik)`` with
    ``log_lik`` of length ``n_iter + 1`` (entry 0 at the start, the last at the returned parameters)."""
    N, D = y.shape
    K = pi.shape[0]
    log_lik = np.empty(n_iter + 1)
    for i in range(n_iter + 1):
        z = _log_joint(y, pi, mu, Sigma)                       # E step
        zmax = z.max(axis=1, keepdims=True)
        lse = zmax + np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))
        log_lik[i] = lse.sum()
        if i == n_iter:
            break
        r = np.exp(z - lse)                                    # responsibilities
        N_k = r.sum(axis=0)                                    # M step
        pi = N_k / N
        mu = (r.T @ y) / N_k[:, None]
        Sigma = np.empty((K, D, D))
        for k in range(K):
            d = y - mu[k]
            Sigma[k] = (r[:, k:k + 1] * d).T @ d / N_k[k]
    return pi, mu, Sigma, log_lik
