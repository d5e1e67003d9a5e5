"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch02_kalman`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np

from ...gaussian import blocks as g


def riccati_root(a, c, q, r) -> float:
    """The positive fixed point of the predicted variance's Riccati recursion."""
    b = r - a * a * r - q * c * c
    return (-b + np.sqrt(b * b + 4.0 * c * c * q * r)) / (2.0 * c * c)


def walk_reference(p) -> tuple[float, float]:
    """(steady-state predicted variance P, steady-state gain K) of a scalar state-space model."""
    P = riccati_root(p.a, p.c, p.q, p.r)
    return P, P * p.c / (p.c * p.c * P + p.r)


def step_reference(p):
    """(prediction, filter at t), conditioning on the observed readings only."""
    pred = g.marginalize(p.mu_prev, p.Upsilon_prev, p.A, p.a, p.Sigma_x)
    seen = ~np.isnan(p.y)
    post = g.bayes_invert(pred.mu, pred.Sigma, p.C[seen], p.c[seen], p.Sigma_y_x[np.ix_(seen, seen)], p.y[seen])
    return pred, post


def two_step_gain(p) -> np.ndarray:
    """Cov[x_{t-1}, x_{t+1}] Cov[x_{t+1}]^{-1} given y_{1:t-1}."""
    U, A, Q = p
    A2 = A @ A
    P2 = A2 @ U @ A2.T + A @ Q @ A.T + Q
    return np.linalg.solve(P2, A2 @ U).T


def rts_variant(mu_f, U_f, A, a, Q, *, offset=True, noise=True, gain_transposed=False, sign_flipped=False):
    """The backward pass, one named slip switched on."""
    mu_s, U_s = mu_f.copy(), U_f.copy()
    for t in range(mu_f.shape[0] - 2, -1, -1):
        mu_p = A @ mu_f[t] + (a if offset else 0.0)
        U_p = A @ U_f[t] @ A.T + (Q if noise else 0.0)
        J = np.linalg.solve(U_p, A @ U_f[t])          # the transpose of the gain (U_p is symmetric)
        if not gain_transposed:
            J = J.T
        mu_s[t] = mu_f[t] + J @ (mu_s[t + 1] - mu_p)
        diff = (U_p - U_s[t + 1]) if sign_flipped else (U_s[t + 1] - U_p)
        U_s[t] = U_f[t] + J @ diff @ J.T
    return mu_s, U_s


def step_filter(p):
    """The filter at t: the second half of :func:`step_reference`, as (mean, covariance)."""
    post = step_reference(p)[1]
    return post.mu, post.Sigma


def random_walk_root(p, ref) -> float:
    return riccati_root(1.0, 1.0, p.q, p.r)


def root_without_a2(p, ref) -> float:
    return riccati_root(1.0, p.c, p.q, p.r)


def root_without_c(p, ref) -> float:
    return riccati_root(p.a, 1.0, p.q, p.r)
