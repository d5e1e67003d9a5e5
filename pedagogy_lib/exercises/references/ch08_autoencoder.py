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


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def hessian_route_slips(case):
    """Named wrong derivations: (hints for d_nu, hints for d_Upsilon)."""
    v = lambda **kw: hessian_route_variant(*case, **kw)  # noqa: E731
    s0 = "you put the prior's covariance S0 itself into the prior's term: recheck how S0 enters the prior's energy"
    hints_nu = {
        "you kept the standard normal prior's terms; this prior has a mean and a covariance of its own":
            v(prior="standard")[0],
        s0: v(prior="covariance")[0],
        "you left the prior's mean m0 out of its energy": v(prior="no_mean")[0],
        "the prior's mean m0 enters with the wrong sign": v(prior="mean_sign")[0],
        "you left out the prior's contribution to the mean gradient": v(prior="none")[0],
        "your prior term in the mean gradient treats the prior's covariance as the identity": v(prior="unscaled")[0],
    }
    hints_U = {
        "you kept the standard normal prior's terms; this prior has a covariance of its own": v(prior="standard")[1],
        s0: v(prior="covariance")[1],
        "you left out the prior's contribution to the covariance gradient": v(prior="none")[1],
        "you dropped the factor one half that the Gaussian identity for the covariance brings": v(half=False)[1],
        "you differentiated the entropy's log-determinant to Upsilon instead of its inverse": v(inverse=False)[1],
        "the entropy's term enters with the wrong sign (the recognition entropy is subtracted in L_JRE)":
            v(sign=1.0)[1],
    }
    for root, msg in {
        "covariance": "you scaled the draws by Upsilon itself, which is not a square root of it",
        "transposed": "you multiplied each draw by the transpose of the Cholesky factor (x = nu + L^T z)",
        "symmetric": "you used a square root of Upsilon other than the lower Cholesky factor the statement asks "
                     "for, so your draws are not the checker's",
    }.items():
        hints_nu[msg], hints_U[msg] = v(root=root)
    return hints_nu, hints_U
