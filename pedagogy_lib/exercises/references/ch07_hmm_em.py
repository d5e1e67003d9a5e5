"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch07_hmm_em`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def tied_A(p_stay, K):
    """The K x K transition matrix with p_stay on the diagonal, the rest of each column spread evenly."""
    A = np.full((K, K), (1.0 - p_stay) / (K - 1))
    np.fill_diagonal(A, p_stay)
    return A


def m_step_ref(ys, gammas, xi_sum):
    """The new (pi, A, mu, Sigma) of the M step."""
    Y, G = np.concatenate(ys), np.concatenate(gammas)
    mu = (G.T @ Y) / G.sum(axis=0)[:, None]
    return np.mean([g[0] for g in gammas], axis=0), a_update(xi_sum), mu, tied_sigma(Y, G, mu)


def tied_sigma(Y, G, mu):
    """The shared emission covariance: every state's weighted scatter about its mean, over all steps."""
    return sum(((Y - mu[k]) * G[:, k:k + 1]).T @ (Y - mu[k]) for k in range(G.shape[1])) / Y.shape[0]


def a_update(xi_sum):
    """Column j of Xi over its sum; the uniform column 1/K where no transition leaves j."""
    K = xi_sum.shape[0]
    col = xi_sum.sum(axis=0)
    return np.where(col[None, :] > 0, xi_sum / np.where(col > 0, col, 1.0)[None, :], 1.0 / K)
