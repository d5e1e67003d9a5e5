"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch08_autoencoder`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def aggregate(p_y, q):
    """The aggregate posterior sum_y p(y) q(x | y) of the table ``q`` (one row per y) under ``p_y``."""
    return p_y @ q


def hessian_route_variant(nu, Upsilon, Z, grad_x, hess_x, m0, S0, *, root="cholesky", prior="gaussian",
                           half=True, inverse=True, sign=-1.0):
    """The gradients in the recognition mean and covariance; keywords switch on slips."""
    K = nu.shape[0]
    L = np.linalg.cholesky(Upsilon)
    if root == "transposed":
        L = L.T
    elif root == "covariance":
        L = Upsilon
    elif root == "symmetric":
        w, V = np.linalg.eigh(Upsilon)
        L = (V * np.sqrt(w)) @ V.T
    X = nu[None, :] + np.einsum("ij,sj->si", L, Z)
    g_bar = np.mean([grad_x(x) for x in X], axis=0)
    H_bar = np.mean([hess_x(x) for x in X], axis=0)
    entropy_term = np.linalg.solve(Upsilon, np.eye(K)) if inverse else Upsilon
    S0_inv = np.linalg.solve(S0, np.eye(K))
    prior_nu, prior_U = {
        "gaussian": (S0_inv @ (nu - m0), S0_inv),
        "standard": (nu, np.eye(K)),
        "covariance": (S0 @ (nu - m0), S0),
        "no_mean": (S0_inv @ nu, S0_inv),
        "mean_sign": (S0_inv @ (nu + m0), S0_inv),
        "unscaled": (nu - m0, S0_inv),
        "none": (np.zeros(K), np.zeros((K, K))),
    }[prior]
    d_nu = g_bar + prior_nu
    M = H_bar + sign * entropy_term + prior_U
    return d_nu, (0.5 if half else 1.0) * M
