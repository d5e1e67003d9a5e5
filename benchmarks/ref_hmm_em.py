"""One plain Baum-Welch iteration for an HMM with Gaussian emissions (full covariances), to measure ours against.

Written as a careful user would put Section 7.2 together from pieces at hand: the emission log
densities in vectorized NumPy (per state a Cholesky factor and one triangular solve of ``y - mu_k``),
the E step by the plain numba smoother of ``ref_hmm.py`` (filtered, predicted, gamma, the summed
pairwise marginals and the log normalizers), and the M step in NumPy: ``pi = gamma_1``, the columns
of the summed pairwise marginals normalized into the column-stochastic ``A``, and the
gamma-weighted means and scatters about the new means. It returns the new parameters and the log
likelihood of the old ones (the sum of the log normalizers, which a user tracking convergence
reads off the smoother). No input validation, no covariance floor, no guard for a state never
visited. Not part of the library.
"""
from __future__ import annotations

import numpy as np
from ref_gmm import log_densities as emission_log_lik     # log N(y_t; mu_k, Sigma_k), (T, K)
from ref_hmm import reference_smoother


def reference_iteration(pi, A, mu, Sigma, y):
    """One E step and one M step from ``(pi, A, mu, Sigma)`` (``A`` column-stochastic); returns
    ``(pi, A, mu, Sigma, log_lik)`` with the new parameters and the log likelihood of the old ones."""
    K, D = mu.shape
    _, _, gamma, xi_sum, log_c = reference_smoother(pi, A, emission_log_lik(y, mu, Sigma))
    pi = gamma[0].copy()
    A = xi_sum / xi_sum.sum(axis=0, keepdims=True)
    N_k = gamma.sum(axis=0)
    mu = (gamma.T @ y) / N_k[:, None]
    Sigma = np.empty((K, D, D))
    for k in range(K):
        d = y - mu[k]
        Sigma[k] = (gamma[:, k:k + 1] * d).T @ d / N_k[k]
    return pi, A, mu, Sigma, log_c.sum()


def reference_fit(pi, A, mu, Sigma, y, n_iter):
    """``n_iter`` iterations of :func:`reference_iteration` from ``(pi, A, mu, Sigma)``, then the smoother once
    more for the last parameters' log likelihood, as a loop that tracks convergence needs; returns
    ``(pi, A, mu, Sigma, log_lik)`` with the ``n_iter + 1`` log likelihoods."""
    params, log_lik = (pi, A, mu, Sigma), []
    for _ in range(n_iter):
        *params, ll = reference_iteration(*params, y)
        log_lik.append(ll)
    pi, A, mu, Sigma = params
    log_lik.append(reference_smoother(pi, A, emission_log_lik(y, mu, Sigma))[4].sum())
    return pi, A, mu, Sigma, np.array(log_lik)
