"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch02_gaussian`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def scalar_from_mean(p) -> tuple[float, float]:
    """(noise variance, posterior variance) from the gain the posterior mean implies."""
    K = (p.mean_post - p.mu_x) / (p.y - p.C * p.mu_x - p.c)
    s = p.sigma2_x * p.C / K - p.C**2 * p.sigma2_x
    return s, (1.0 - K * p.C) * p.sigma2_x


def joint_xy(p) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of the stacked (X, Y)."""
    K, L = p.C.shape[1], p.C.shape[0]
    J = np.block([[p.Sigma_x, p.Sigma_xz], [p.Sigma_xz.T, p.Sigma_y_x]])
    M = np.block([[np.eye(K), np.zeros((K, L))], [p.C, np.eye(L)]])
    mean = np.concatenate([p.mu_x, p.C @ p.mu_x + p.c])
    return mean, M @ J @ M.T


def gain_reference(p) -> np.ndarray:
    """Cov[X, Y] Cov[Y]^{-1}, read off the joint of (X, Y)."""
    K = p.C.shape[1]
    _, S = joint_xy(p)
    return np.linalg.solve(S[K:, K:], S[K:, :K]).T


def information_form(mu_x, Sigma_x, C, c, S, y, *, prior_mean=True):
    """Eqs. 2.13-2.14 with explicit inverses and the matrix ``S`` in the place of Sigma_y|x (for the hints)."""
    S_inv, Sx_inv = np.linalg.inv(S), np.linalg.inv(Sigma_x)
    precision = C.T @ S_inv @ C + Sx_inv
    Sigma = np.linalg.inv(precision)
    mu = Sigma @ (C.T @ S_inv @ (y - c) + (Sx_inv @ mu_x if prior_mean else 0.0))
    return mu, Sigma, precision


def gauss_logpdf(y, m, S) -> float:
    """log N(y; m, S)."""
    d = y - m
    return float(-0.5 * d @ np.linalg.solve(S, d) - 0.5 * np.linalg.slogdet(S)[1] - 0.5 * len(y) * np.log(2 * np.pi))
