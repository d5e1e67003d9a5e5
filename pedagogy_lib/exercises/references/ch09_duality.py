"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch09_duality`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np
from scipy import integrate, optimize


def log_p(y, sigma):
    """log p(y) of the zero-mean normal data of standard deviation sigma."""
    return -0.5 * (y / sigma) ** 2 - np.log(sigma * np.sqrt(2.0 * np.pi))


def kl(a, sigma, *, with_logdet=True, log_prior=None):
    """KL(p || psi'(a y) |a|) by quadrature over y, p normal of sd sigma; the prior is standard normal unless given."""
    log_prior = log_normal if log_prior is None else log_prior

    def f(y):
        return np.exp(log_p(y, sigma)) * (log_p(y, sigma) - log_prior(a * y) - (np.log(abs(a)) if with_logdet else 0.0))
    return integrate.quad(f, -np.inf, np.inf, epsabs=1e-12, epsrel=1e-12)[0]


def unit_gain(log_density, score=lambda u: np.tanh(u / 2.0)):
    """The root c of E[score(c S) c S] = 1 for symmetric unit-variance S; the ML gain is c / sigma."""
    def stat(c):
        return 2.0 * integrate.quad(lambda t: score(c * t) * c * t * np.exp(log_density(t)), 0.0, np.inf,
                                    epsabs=1e-13, limit=200)[0] - 1.0
    return optimize.brentq(stat, 0.1, 10.0, xtol=1e-13)


def log_normal(x):
    """log N(x; 0, 1)."""
    return -0.5 * x * x - 0.5 * np.log(2.0 * np.pi)


def log_laplace_unit(t):
    """Laplace density with unit variance (scale 1/sqrt 2)."""
    return -np.sqrt(2.0) * np.abs(t) - 0.5 * np.log(2.0)
