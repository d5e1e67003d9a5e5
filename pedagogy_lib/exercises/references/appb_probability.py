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


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

#: What the checker says of an answer whose quadratic part (in X - mu) is wrong and linear part right.
_QUAD_PART_WRONG = "have the part linear in X - mu right and the part quadratic in X - mu wrong"


def quad_slips(q) -> list[tuple[str, float]]:
    """(message, value) of named wrong derivations; wrong quadratic parts share one message."""
    t = quad_terms(q)
    lin, quad = t["linear"], t["quadratic"]
    one, other = t["linear_one_side"]
    linear_wrong = "have the part quadratic in X - mu right and the part linear in X - mu wrong"
    return [("gave the mean of the form (the bilinear version of Eq. B.13), not its variance", t["mean"]),
            ("gave the second moment E[f^2], not the variance", lin + quad + t["mean"] ** 2),
            ("left out the part that is quadratic in X - mu", lin),
            ("left out the part that is linear in X - mu", quad),
            (linear_wrong, one + quad), (linear_wrong, other + quad),
            *((_QUAD_PART_WRONG, lin + wrong)
              for wrong in (t["quadratic_unsymmetrized"], t["quadratic_MtM"], 0.5 * quad, 1.5 * quad))]


def fisher_slips(T, log_h, eta, J) -> dict:
    """Named wrong derivations on one problem."""
    p, cov = family_moments(T, log_h, eta)
    out = {}
    _, cov_no_h = family_moments(T, np.zeros_like(log_h), eta)
    out["you left the base measure h(y) out of the probabilities"] = J.T @ cov_no_h @ J
    out["you used the second moment of t(Y), without subtracting its mean"] = \
        J.T @ np.einsum("n,ni,nj->ij", p, T, T) @ J
    dev = T - T.mean(axis=0)
    out["you weighted the N outcomes equally, not by their probabilities under the family"] = \
        J.T @ (dev.T @ dev / len(T)) @ J
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.exp(log_h + T @ eta)
        raw = np.einsum("n,ni,nj->ij", w, T, T) - np.outer(w @ T, w @ T)
    if np.all(np.isfinite(raw)):
        out["you did not normalize the probabilities: the log-normalizer A(eta) is missing"] = J.T @ raw @ J
    if abs(np.linalg.det(cov)) > 1e-12:
        out["you put the inverse covariance between the Jacobians of eta; the inverse goes with the derivative "
            "of the mean of t(Y), the other form of Eq. B.12"] = J.T @ np.linalg.inv(cov) @ J
    if J.shape[0] == J.shape[1]:
        out["you put the Jacobian on the wrong sides of the covariance"] = J @ cov @ J.T
        out["you left the Jacobian out: that is the information about eta, not about theta"] = cov
    return out
