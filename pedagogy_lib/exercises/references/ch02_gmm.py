"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch02_gmm`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import softmax as _softmax
from scipy.stats import multivariate_normal

from ...mixture import model as mixture


def resp_variants(p) -> dict:
    """The responsibilities and what typical slips give."""
    K = p.mu.shape[0]
    L = p.y.shape[0]
    diffs = [p.y - p.mu[k] for k in range(K)]
    maha = np.array([d @ np.linalg.solve(p.Sigma[k], d) for k, d in enumerate(diffs)])
    maha_wrong = np.array([d @ p.Sigma[k] @ d for k, d in enumerate(diffs)])
    logdet = np.array([np.linalg.slogdet(S)[1] for S in p.Sigma])
    log_lik = np.array([multivariate_normal(p.mu[k], p.Sigma[k]).logpdf(p.y) for k in range(K)])
    c = -0.5 * L * np.log(2 * np.pi)
    log_area = float(np.sum(np.log(p.hi - p.lo)))
    log_pi, log_bg = np.log(p.pi[:K]), np.log(p.pi[K])

    def with_bg(z_gauss, z_bg=log_bg - log_area):
        return np.append(z_gauss, z_bg)

    right = with_bg(log_lik + log_pi)
    return {
        "correct": _softmax(right),
        "you left out the Gaussians' constant -(L/2) log(tau) of Eq. 2.8: it cancels only between logits that "
        "all contain it": _softmax(with_bg(log_lik - c + log_pi)),
        "the -1/2 log|Sigma_k| term of Eq. 2.8 is left out": _softmax(with_bg(-0.5 * maha + c + log_pi)),
        "the background is given density 1 instead of the uniform density on its rectangle":
            _softmax(with_bg(log_lik + log_pi, log_bg)),
        "the background is given the rectangle's area as its density": _softmax(with_bg(log_lik + log_pi,
                                                                                         log_bg + log_area)),
        "the background component is left out": np.append(_softmax(log_lik + log_pi), 0.0),
        "the priors pi_k are left out (a flat prior)": _softmax(with_bg(log_lik, -log_area)),
        "Sigma_k is used where its inverse belongs in the quadratic form":
            _softmax(with_bg(-0.5 * maha_wrong - 0.5 * logdet + c + log_pi)),
        "the factor 1/2 in front of the quadratic form is dropped":
            _softmax(with_bg(-maha - 0.5 * logdet + c + log_pi)),
        "you returned the joint densities pi_k p(y | component k) without normalizing them": np.exp(right),
        "you returned the logits z_k instead of their softmax": right,
    }


def tstar_parts(p):
    """d^2, c = (a - mu_j)^T Sigma^{-1} (mu_k - mu_j) and log(pi_j/pi_k)."""
    delta = p.mu_k - p.mu_j
    w = np.linalg.solve(p.Sigma, delta)
    return float(delta @ w), float((p.a - p.mu_j) @ w), float(np.log(p.pi_j / p.pi_k))


def qda_roots(mu_1, S1, mu_2, S2, pi_1, pi_2, logdet=True, log_odds=0.0):
    """Roots of the 1-D log-odds equation = log_odds (real parts, sorted)."""
    a = -0.5 * (1 / S1 - 1 / S2)
    b = mu_1 / S1 - mu_2 / S2
    c = -0.5 * mu_1**2 / S1 + 0.5 * mu_2**2 / S2 + np.log(pi_1 / pi_2) - log_odds
    if logdet:
        c -= 0.5 * np.log(S1 / S2)
    return np.sort(np.roots([a, b, c]).real)


def qda_reference(p) -> np.ndarray:
    """The thresholds from the library's QDA coefficients, the constant moved by the level."""
    qb = mixture.quadratic_boundary([p.mu_1], [p.mu_2], [[p.Sigma_1]], [[p.Sigma_2]], p.pi_1, p.pi_2)
    return np.sort(np.roots([qb.Q[0, 0], qb.w[0], qb.b - np.log(p.level / (1 - p.level))]).real)


def tstar_reference(p) -> float:
    """Root of p(class k | y(t)) - 1/2 along the segment, by Brent's method."""
    params = mixture.gmm_params(np.array([p.pi_k, p.pi_j]) / (p.pi_k + p.pi_j),
                                np.stack([p.mu_k, p.mu_j]), p.Sigma, "tied")

    def f(t):
        y = (p.mu_j + t * (p.a - p.mu_j))[None, :]
        return float(mixture.gmm_posterior(params, y)[0, 0]) - 0.5

    return brentq(f, -20.0, 20.0, xtol=1e-14)
