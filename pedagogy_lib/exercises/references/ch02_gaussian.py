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


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def scalar_slips(p) -> tuple[dict, dict]:
    """What named wrong derivations give for the noise and the posterior variance."""
    s_ref, v_ref = scalar_from_mean(p)
    K = (p.mean_post - p.mu_x) / (p.y - p.C * p.mu_x - p.c)
    K_no_pred = (p.mean_post - p.mu_x) / (p.y - p.c)
    noise = {
        "you took y - c as the surprise in y":
            p.sigma2_x * p.C / K_no_pred - p.C**2 * p.sigma2_x,
        "you left out the slope C in front of sigma2_x in the gain": p.sigma2_x / K - p.C**2 * p.sigma2_x,
        "you gave a standard deviation, not a variance": float(np.sqrt(abs(s_ref))),
        "you gave the marginal variance of y, C^2 sigma2_x + sigma2_y|x": s_ref + p.C**2 * p.sigma2_x,
    }
    post = {
        "you gave the prior variance": p.sigma2_x,
        "you left out C in (1 - K C) sigma2_x": (1.0 - K) * p.sigma2_x,
        "you returned the posterior precision, not the variance": 1.0 / v_ref,
        "you combined the precisions without the C^2 in front of 1 / sigma2_y|x":
            1.0 / (1.0 / p.sigma2_x + 1.0 / s_ref),
    }
    return noise, post


def posterior_slips(mu_x, Sigma_x, C, c, Sigma_y_x, y) -> tuple[dict, dict, dict]:
    """(mean hints, covariance hints, log-evidence hints) of named wrong derivations on one problem."""
    precision = information_form(mu_x, Sigma_x, C, c, Sigma_y_x, y)[2]
    mu_noc = information_form(mu_x, Sigma_x, C, np.zeros_like(c), Sigma_y_x, y)[0]
    mu_noprior = information_form(mu_x, Sigma_x, C, c, Sigma_y_x, y, prior_mean=False)[0]
    mu_S, Sigma_S, _ = information_form(mu_x, Sigma_x, C, c, np.linalg.inv(Sigma_y_x), y)
    Sigma_y = C @ Sigma_x @ C.T + Sigma_y_x
    gain = Sigma_x @ C.T @ np.linalg.inv(Sigma_y)
    noise = "you used Sigma_y|x where its inverse belongs in Eqs. 2.13-2.14"
    mean = {"you left the offset c out: the observation enters Eq. 2.13 as y - c": mu_noc,
            "you left the prior's term Sigma_x^{-1} mu_x out of the mean (Eq. 2.13)": mu_noprior,
            noise: mu_S}
    cov = {"you returned the posterior precision, the inverse of Sigma_x|y (Eq. 2.14)": precision,
           "you added K Sigma_y K^T to Sigma_x; Eq. 2.27 subtracts it": Sigma_x + gain @ Sigma_y @ gain.T,
           noise: Sigma_S}
    m_y = C @ mu_x + c
    log_ev = {"you left the offset c out of the marginal mean (Eq. 2.16)": gauss_logpdf(y, C @ mu_x, Sigma_y),
              "you used Sigma_y|x alone as the covariance of y; Eq. 2.17 adds C Sigma_x C^T":
                  gauss_logpdf(y, m_y, Sigma_y_x),
              "you left out the normalizing constant -(L/2) log(2 pi)":
                  gauss_logpdf(y, m_y, Sigma_y) + 0.5 * len(y) * np.log(2 * np.pi)}
    return mean, cov, log_ev


def _spd(r, n: int) -> np.ndarray:
    """A random symmetric positive-definite n x n matrix, well away from singular, with correlations."""
    B = r.normal(size=(n, n))
    S = B @ B.T / n + 0.3 * np.eye(n)
    return (S + S.T) / 2


def posterior_cases():
    """Hidden problems: models of Eq. 2.11 with K < L, K > L and K = L = 1, full covariances, offsets that are not
    zero, and one observation each; (where, args, (mu_post, Sigma_post, log_evidence)) from the library."""
    from ...gaussian import blocks as gs
    from ..checker import problem_rng

    r = problem_rng(2124)
    cases = []
    for i, (K, L) in enumerate([(2, 3), (3, 2), (1, 1), (4, 6), (5, 2)]):
        mu_x = r.normal(size=K)
        Sigma_x = _spd(r, K)
        C = r.normal(size=(L, K))
        c = r.uniform(0.5, 1.5, size=L) * r.choice([-1.0, 1.0], size=L)
        Sigma_y_x = _spd(r, L)
        y = C @ mu_x + c + 1.5 * r.normal(size=L)
        ref = gs.bayes_invert(mu_x, Sigma_x, C, c, Sigma_y_x, y, form="covariance")
        where = f"test problem {i + 1} (K = {K}, L = {L})"
        cases.append((where, (mu_x, Sigma_x, C, c, Sigma_y_x, y), (ref.mu, ref.Sigma, ref.log_evidence)))
    return cases
