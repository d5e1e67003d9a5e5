"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch05_glm`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np
from scipy.special import expit, ndtr


def penalized_step(p, d: np.ndarray, *, grad_pen: float = 1.0, hess_pen: float = 1.0,
                    intercept: bool = True, scale: float = 1.0, weights_at=None) -> np.ndarray:
    """One Newton (IRLS) step from ``d`` on the penalized log-likelihood; the keywords make the named slips."""
    mu = expit(p.Y @ d)
    w_at = d if weights_at is None else weights_at
    m = expit(p.Y @ w_at)
    w = m * (1.0 - m)
    P = scale * p.lam * np.eye(len(d))
    if not intercept:
        P[0, 0] = 0.0
    H = p.Y.T @ (w[:, None] * p.Y) + hess_pen * P
    g = p.Y.T @ (p.x - mu) - grad_pen * P @ d
    return d + np.linalg.solve(H, g)


def two_steps(p, **slip) -> np.ndarray:
    """Two IRLS steps from the problem's start, the same named slips in both."""
    return penalized_step(p, penalized_step(p, p.d, **slip), **slip)


def probit_parts(p):
    """(eta, Phi(eta), 1 - Phi(eta), phi(eta)) at the iterate."""
    eta = p.Y @ p.d
    return eta, ndtr(eta), ndtr(-eta), np.exp(-0.5 * eta ** 2) / np.sqrt(2.0 * np.pi)


def geometric_lambda(eta):
    """The geometric distribution's mean parameter at the natural parameter eta."""
    return np.exp(eta) / (1.0 - np.exp(eta))
