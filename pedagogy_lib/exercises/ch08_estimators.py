r"""Checkers for the exercises of Section 8.2.1 (Monte Carlo gradient estimators).

Use in the notebook as::

    from pedagogy_lib.exercises import ch08_estimators as check
    check.variance_slope(my_value)           # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, book_or_drawn, compare_scalar, result

__all__ = ["EX_MU", "EX_K", "EX_LAM", "variance_slope", "best_baseline", "expo_pathwise_variance"]


def _draw_mu(rng):
    """A shared mean of the same kind as the book's EX_MU, for one student: positive, of order one (one
    decimal), other than the book's."""
    return round(float(rng.choice([m for m in np.arange(0.5, 2.55, 0.1) if abs(m - 1.5) > 0.05])), 1)


def _draw_k(rng):
    """A latent dimension of the same kind as the book's EX_K, for one student: a whole number from 4 to 16,
    other than the book's."""
    return int(rng.choice([k for k in range(4, 17) if k != 10]))


#: Exercises (a) and (b): the shared mean of N(mu 1, I) and the latent dimension; f(x) = x_1^2.
EX_MU = book_or_drawn(1.5, _draw_mu, seed=8211)
EX_K = book_or_drawn(10, _draw_k, seed=8212)


def _draw_lam(rng):
    """A rate of the same kind as the book's EX_LAM, for one student: between 1.5 and 2.5 (one decimal),
    other than the book's."""
    return round(float(rng.choice([lam for lam in np.arange(1.5, 2.55, 0.1) if abs(lam - 2.0) > 0.05])), 1)


#: Exercise (c): the rate of the exponential distribution.
EX_LAM = book_or_drawn(2.0, _draw_lam, seed=8213)


def variance_slope(answer) -> CheckResult:
    """Exercise (a), ``ex-8-2-1-slope``: your increase of the single-sample score-function variance per
    extra latent dimension at mu = EX_MU, a single number.

    The checker recognizes the variance at K = 1 and slips in the moments.
    """
    m2 = EX_MU ** 2
    expected = m2 * m2 + 6 * m2 + 3
    hints = {
        "you gave the variance at K = 1 rather than the increase per dimension": m2 * m2 + 14 * m2 + 15,
        "you dropped the constant term of E[(mu + z_1)^4]": m2 * m2 + 6 * m2,
        "you used E[(mu + z_1)^2]^2 instead of E[(mu + z_1)^4]": (m2 + 1) ** 2,
    }
    return result("slope of the score-function variance in K",
                  compare_scalar(answer, expected, "the slope", rtol=1e-8, hints=hints))


def best_baseline(answer) -> CheckResult:
    """Exercise (b), ``ex-8-2-1-baseline``: your variance-minimizing constant baseline beta* at
    mu = EX_MU and K = EX_K, a single number.

    The checker recognizes the mean of f and a wrong or missing normalization.
    """
    m2, K = EX_MU ** 2, EX_K
    expected = ((m2 + 3) + (K - 1) * (m2 + 1)) / K
    hints = {
        "you gave E[f] = mu^2 + 1, the baseline that ignores the correlation of f with s^2": m2 + 1,
        "you forgot to divide by E[s^2] = K": (m2 + 3) + (K - 1) * (m2 + 1),
        "you divided by K^2; E[s^2] = K for a sum of K independent standard normals": ((m2 + 3) + (K - 1) * (m2 + 1)) / K ** 2,
    }
    return result("optimal baseline", compare_scalar(answer, expected, "beta*", rtol=1e-8, hints=hints))


def expo_pathwise_variance(answer) -> CheckResult:
    """Exercise (c), ``ex-8-2-1-expo``: your variance of the pathwise estimator of the statement at
    lambda = EX_LAM, a single number.

    The checker recognizes the second moment, the score-function estimator's variance, and a
    missing factor.
    """
    lam = EX_LAM
    expected = 80.0 / lam ** 6
    hints = {
        "you gave the second moment; subtract the squared mean (4 / lambda^3)^2": 96.0 / lam ** 6,
        "you gave the variance of the score-function estimator": 488.0 / lam ** 6,
        "you gave the variance of X^2 without the factor (2 / lambda)^2": 20.0 / lam ** 4,
    }
    return result("variance of the pathwise estimator",
                  compare_scalar(answer, expected, "the variance", rtol=1e-8, hints=hints))
