"""One plain EM iteration for the linear-Gaussian state-space model (Eq. 7.4), to measure ours against.

Written as a careful user would put Section 7.4 together: the E step is the plain numba Kalman
filter and RTS smoother of ``ref_kalman.py`` (covariance form; it also gives the log evidence and
the lag-one cross-covariances ``Cov[x_{t+1}, x_t | y]``), the expected sufficient statistics are sums
of "covariance plus outer product of means" in NumPy, and the M step is Eq. 7.4 as printed:

    A = <x_t x_{t-1}^T> <x_{t-1} x_{t-1}^T>^{-1},   Sigma_x = <x_t x_t^T> - A <x_{t-1} x_t^T>   (t = 2..T)
    C = <y_t x_t^T> <x_t x_t^T>^{-1},               Sigma_y|x = <y_t y_t^T> - C <x_t y_t^T>     (t = 1..T)
    mu1 = <x_1>,                                    Sigma1 = <x_1 x_1^T> - mu1 mu1^T

with the inverses applied by ``np.linalg.solve`` and the covariances symmetrized. These are the six
parameters ours updates by default; the offsets ``a``, ``c`` (zero here) and the control matrix stay as
they were. One sequence, every step observed, no validation, no covariance floor. Not part of the library.
"""
from __future__ import annotations

import numpy as np

from ref_kalman import reference


def reference_iteration(params, y):
    """One E step and one M step from the ``LGSSMParams`` ``params``; returns the new ``LGSSMParams`` and the
    log likelihood of the old ones."""
    out = reference(params, y)
    log_lik, mu, P, cross = out[6], out[7], out[8], out[10]
    T = y.shape[0]
    Exx = P + mu[:, :, None] * mu[:, None, :]                     # E[x_t x_t^T | y]
    S_prev = Exx[:-1].sum(axis=0)                                 # sum_{t>=2} E[x_{t-1} x_{t-1}^T]
    S_next = Exx[1:].sum(axis=0)                                  # sum_{t>=2} E[x_t x_t^T]
    S_cross = cross.sum(axis=0) + mu[1:].T @ mu[:-1]              # sum_{t>=2} E[x_t x_{t-1}^T]
    S_xx = Exx.sum(axis=0)
    S_yx = y.T @ mu
    A = np.linalg.solve(S_prev, S_cross.T).T                      # S_prev is symmetric
    Sigma_x = (S_next - A @ S_cross.T) / (T - 1)
    C = np.linalg.solve(S_xx, S_yx.T).T
    Sigma_y_x = (y.T @ y - C @ S_yx.T) / T
    mu1 = mu[0].copy()
    Sigma1 = Exx[0] - np.outer(mu1, mu1)
    new = params._replace(A=A, Sigma_x=0.5 * (Sigma_x + Sigma_x.T), C=C, Sigma_y_x=0.5 * (Sigma_y_x + Sigma_y_x.T),
                          mu1=mu1, Sigma1=0.5 * (Sigma1 + Sigma1.T))
    return new, log_lik


def reference_fit(params, y, n_iter):
    """``n_iter`` iterations of :func:`reference_iteration`, then the smoother once more for the last parameters'
    log likelihood, as a loop that tracks convergence needs; returns the final ``LGSSMParams`` and the
    ``n_iter + 1`` log likelihoods."""
    log_lik = []
    for _ in range(n_iter):
        params, ll = reference_iteration(params, y)
        log_lik.append(ll)
    log_lik.append(reference(params, y)[6])
    return params, np.array(log_lik)
