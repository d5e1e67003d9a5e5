"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch07_lgssm_em`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def moments(p):
    """(E[x_t x_t^T | y] for every t, E[x_{t+1} x_t^T | y] for every t) of a smoothed problem."""
    T = p.mu_smooth.shape[0]
    E_xx = [p.Upsilon_smooth[t] + np.outer(p.mu_smooth[t], p.mu_smooth[t]) for t in range(T)]
    E_next_prev = [p.Upsilon_cross[t] + np.outer(p.mu_smooth[t + 1], p.mu_smooth[t]) for t in range(T - 1)]
    return E_xx, E_next_prev


def lag_two_covariances(p):
    """Cov[x_{t+2}, x_t | y] for t = 0..T-3."""
    U, Uc = p.Upsilon_smooth, p.Upsilon_cross
    return [Uc[t + 1] @ np.linalg.solve(U[t + 1], Uc[t]) for t in range(U.shape[0] - 2)]


def offset_fit(y, mu, E_xx_sum):
    """(C, c, Sigma_y_x) fitted together from the sums of the emission term."""
    T, n = mu.shape
    W = np.block([[E_xx_sum, mu.sum(axis=0)[:, None]], [mu.sum(axis=0)[None, :], np.array([[float(T)]])]])
    Z = np.concatenate([y.T @ mu, y.sum(axis=0)[:, None]], axis=1)
    Cc = np.linalg.solve(W.T, Z.T).T
    return Cc[:, :n], Cc[:, n], (y.T @ y - Cc @ Z.T) / T


def isotropic(M):
    """s^2 I with s^2 the mean of the diagonal of M (the maximizer over s^2 I)."""
    return np.trace(M) / M.shape[0] * np.eye(M.shape[0])


def m_step_reference(p, *, covariances=True):
    """Eq. 7.4 for one sequence with Sigma_y_x = s^2 I (``covariances=False``: means only)."""
    y, mu, T = p.y, p.mu_smooth, p.y.shape[0]
    if not covariances:
        p = p._replace(Upsilon_smooth=0.0 * p.Upsilon_smooth, Upsilon_cross=0.0 * p.Upsilon_cross)
    E_xx, E_next_prev = moments(p)
    S10, S00, S11, S_all = sum(E_next_prev), sum(E_xx[:-1]), sum(E_xx[1:]), sum(E_xx)
    A = np.linalg.solve(S00.T, S10.T).T
    Syx = sum(np.outer(y[t], mu[t]) for t in range(T))
    C = np.linalg.solve(S_all.T, Syx.T).T
    return (A, (S11 - A @ S10.T) / (T - 1), C, isotropic((y.T @ y - C @ Syx.T) / T), mu[0].copy(),
            E_xx[0] - np.outer(mu[0], mu[0]))
