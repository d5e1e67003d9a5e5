"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch05_infomax`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import softmax


def law(src: str):
    """The unit-variance law of a source name of :data:`EX_SOURCES` (a frozen distribution)."""
    from scipy import stats

    return {"student-t5": stats.t(5, scale=np.sqrt(3.0 / 5.0)),
            "logistic": stats.logistic(scale=np.sqrt(3.0) / np.pi),
            "triangular": stats.triang(0.5, loc=-np.sqrt(6.0), scale=2.0 * np.sqrt(6.0))}[src]


def expect(f, dist) -> float:
    """E[f(x)] under the frozen distribution dist, by quadrature."""
    from scipy import integrate

    lo, hi = max(dist.support()[0], -60.0), min(dist.support()[1], 60.0)
    return integrate.quad(lambda s: f(s) * dist.pdf(s), lo, hi, points=[0.0], limit=200)[0]


def cauchy_score(U):
    """d/du log psi'(u) for psi(u) = 1/2 + arctan(u)/pi."""
    return -2.0 * U / (1.0 + U * U)


def amari_terms(P):
    """The row and column sums of the statement's ratios, before normalization."""
    P = np.abs(np.asarray(P, dtype=float))
    return (P.sum(1) / P.max(1) - 1).sum(), (P.sum(0) / P.max(0) - 1).sum()


def amari_ref(P):
    """The Amari index of P."""
    rows, cols = amari_terms(P)
    K = np.shape(P)[0]
    return (rows + cols) / (2 * K * (K - 1))


@lru_cache(maxsize=None)
def constant(src: str) -> float:
    """c = E[phi'(x)] E[x^2] at x = lambda s, lambda solving E[tanh(lambda s / 2) lambda s] = 1."""
    from scipy import optimize

    dist = law(src)
    lam = optimize.brentq(lambda l: expect(lambda s: np.tanh(l * s / 2.0) * l * s, dist) - 1.0, 1e-3, 100.0)
    return float(expect(lambda s: 0.5 / np.cosh(lam * s / 2.0) ** 2, dist) * lam ** 2)


def log_joint(pi, mu, Sigma, y, *, prior=True, logdet=True, inverse=True):
    """log(pi_k N(y_n; mu_k, Sigma_k)), (N, K); the switches give named slips."""
    K = pi.shape[0]
    z = np.full((y.shape[0], K), -0.5 * y.shape[1] * np.log(2.0 * np.pi))
    for k in range(K):
        d = y - mu[k]
        M = np.linalg.inv(Sigma[k]) if inverse else Sigma[k]
        z[:, k] += (np.log(pi[k]) if prior else 0.0) - (0.5 * np.linalg.slogdet(Sigma[k])[1] if logdet else 0.0) \
            - 0.5 * np.einsum("ni,ij,nj->n", d, M, d)
    return z


def normalize_rows(z):
    """Row-wise softmax of log-weights z."""
    return softmax(z, axis=1)


def clamp_rows(r, labels, labelled):
    """r with the rows of the labelled points set to their labels' one-hot vectors."""
    r = r.copy()
    rows = np.flatnonzero(labelled)
    r[rows] = 0.0
    r[rows, labels[rows]] = 1.0
    return r


def clamped_ref(pi, mu, Sigma, y, labels):
    """The clamped E-step's responsibilities (N, K)."""
    return clamp_rows(normalize_rows(log_joint(pi, mu, Sigma, y)), labels, labels >= 0)


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def clamped_slips(pi, mu, Sigma, y, labels) -> dict:
    """Named wrong derivations on one problem."""
    K = pi.shape[0]
    post = normalize_rows(log_joint(pi, mu, Sigma, y))
    hard = np.eye(K)[post.argmax(axis=1)]
    out = {"you returned the posterior for every point: a labelled point's responsibilities are fixed by its "
           "label, not by the model": post,
           "you left the mixing proportions pi_k out of the logits (a uniform prior over the classes)":
               clamp_rows(normalize_rows(log_joint(pi, mu, Sigma, y, prior=False)), labels,
                               labels >= 0),
           "you left the -1/2 log|Sigma_k| term out of the logits; it differs between components":
               clamp_rows(normalize_rows(log_joint(pi, mu, Sigma, y, logdet=False)), labels,
                               labels >= 0),
           "you used Sigma_k in the quadratic form where its inverse belongs":
               clamp_rows(normalize_rows(log_joint(pi, mu, Sigma, y, inverse=False)), labels,
                               labels >= 0),
           "you gave the unlabelled points hard assignments (their most probable class); EM's E step keeps the "
           "whole posterior": clamp_rows(hard, labels, labels >= 0),
           "you did not normalize the unlabelled points' responsibilities over the classes":
               clamp_rows(np.exp(log_joint(pi, mu, Sigma, y)), labels, labels >= 0)}
    if np.any(labels == 0):
        out["you treated the points labelled 0 as unlabelled: 0 is a class; only -1 marks an unlabelled point"] = \
            clamp_rows(post, labels, labels > 0)
    return out
