"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch08_mcmc`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import math

import numpy as np


def acceptance(problem, i, j):
    """Acceptance of the move j -> i of the Metropolis-Hastings problem (p_tilde, g)."""
    p, g = problem
    return min(1.0, p[i] * g[j, i] / (p[j] * g[i, j]))


def with_stays(T_off: np.ndarray) -> np.ndarray:
    """The column-stochastic matrix with the off-diagonal entries of ``T_off``, the rest on the diagonal."""
    T = np.array(T_off, dtype=float)
    np.fill_diagonal(T, 0.0)
    T[np.diag_indices(T.shape[0])] = 1.0 - T.sum(axis=0)
    return T


def rw_accept(x, step):
    """Acceptance of the random-walk proposal x -> x + step for the standard normal target."""
    return min(1.0, math.exp(-0.5 * ((x + step) ** 2 - x ** 2)))


def mala_variant(f, x, eps, z, u, *, hastings=True, reverse_at_new=True, reject=True, noise=2.0):
    """One MALA step written out, one named slip switched on (``noise`` is the variance factor of the proposal)."""
    log_p, force = f(x)
    x_new = x + eps * force + np.sqrt(noise * eps) * z
    log_p_new, force_new = f(x_new)

    def log_g(to, frm, f_frm):
        r = to - frm - eps * f_frm
        return -np.sum(r * r, axis=1) / (2 * noise * eps)

    log_r = log_p_new - log_p
    if hastings:
        log_r = log_r + log_g(x, x_new, force_new if reverse_at_new else force) - log_g(x_new, x, force)
    accepted = np.log(u) < log_r if reject else np.ones(len(u), dtype=bool)
    return np.where(accepted[:, None], x_new, x)
