"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.appb_probability`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp as _logsumexp


def quad_terms(q) -> dict:
    """The parts of Var[(b - CX)^T A (e - DX)] for Gaussian X, by name (and the slips' parts)."""
    r, s = q.b - q.C @ q.mu, q.e - q.D @ q.mu
    g = -(q.D.T @ q.A.T @ r + q.C.T @ q.A @ s)
    M = q.C.T @ q.A @ q.D
    Ms = 0.5 * (M + M.T)
    S = q.Sigma
    g_c, g_d = q.C.T @ q.A @ s, q.D.T @ q.A.T @ r
    mean = float(np.trace(q.A @ q.D @ S @ q.C.T) + r @ q.A @ s)
    return {"linear": float(g @ S @ g), "quadratic": float(2.0 * np.trace(Ms @ S @ Ms @ S)),
            "quadratic_unsymmetrized": float(2.0 * np.trace(M @ S @ M @ S)),
            "quadratic_MtM": float(2.0 * np.trace(M.T @ S @ M @ S)),
            "linear_one_side": (float(g_c @ S @ g_c), float(g_d @ S @ g_d)), "mean": mean}


def family_moments(T: np.ndarray, log_h: np.ndarray, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities of the outcomes, covariance of the statistics) at eta, normalized in logarithms."""
    log_w = log_h + T @ eta
    p = np.exp(log_w - _logsumexp(log_w))
    dev = T - p @ T
    return p, np.einsum("n,ni,nj->ij", p, dev, dev)
