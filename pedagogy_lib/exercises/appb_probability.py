r"""Checkers for the exercises of Appendix B.2 (probability and statistics).

Use in the notebook as::

    from pedagogy_lib.exercises import appb_probability as check
    check.bernoulli_fisher(my_I)        # says what is wrong, never the answer

Reference answers are computed exactly in this module; the tests compare them with Monte Carlo
and numerical integration.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .checker import CheckResult, compare_scalar, result

__all__ = ["QuadFormProblem", "EX_BERNOULLI_P", "EX_QUAD", "EX_THIN", "bernoulli_fisher", "quadratic_form_mean",
           "thinned_pmf"]


class QuadFormProblem(NamedTuple):
    """Mean ``mu`` (2,) and covariance ``Sigma`` (2, 2) of the random vector X; ``C`` (2, 2), ``b`` (2,),
    ``A`` (2, 2)."""

    mu: np.ndarray
    Sigma: np.ndarray
    C: np.ndarray
    b: np.ndarray
    A: np.ndarray


#: Exercise (a): the success probability.
EX_BERNOULLI_P = 0.2

#: Exercise (b): the quadratic form of Eq. B.13.
EX_QUAD = QuadFormProblem(np.array([1.0, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]]),
                          np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([0.5, 0.0]),
                          np.array([[1.0, 0.0], [0.0, 3.0]]))

#: Exercise (c): (mu, y): the probability that Pois(1) trials, each kept with probability mu, keep y.
EX_THIN = (0.4, 2)


def bernoulli_fisher(answer) -> CheckResult:
    """Exercise (a), ``ex-b2-fisher``: your Fisher information of one Bernoulli(p) observation about p,
    at p = EX_BERNOULLI_P, a single number.

    The checker recognizes the variance of the observation, the mean of the score, and an answer
    that uses only one of the two outcomes.
    """
    p = EX_BERNOULLI_P
    score = {0: -1.0 / (1 - p), 1: 1.0 / p}
    expected = (1 - p) * score[0] ** 2 + p * score[1] ** 2
    hints = {"you gave the variance p(1 - p) of the observation; the information is its reciprocal": p * (1 - p),
             "you gave the mean of the score, which is always zero": 0.0,
             "you used only the y = 1 outcome (1/p^2 weighted by p)": 1.0 / p}
    return result("Bernoulli Fisher information", compare_scalar(answer, expected, "I(p)", rtol=1e-9, hints=hints))


def quadratic_form_mean(answer) -> CheckResult:
    """Exercise (b), ``ex-b2-quadratic``: your expectation of the quadratic form in the statement for
    :data:`EX_QUAD` (Eq. B.13), a single number.

    The checker recognizes answers that drop part of the expectation or leave C out of part of it.
    """
    mu, S, C, b, A = EX_QUAD
    r = b - C @ mu
    expected = float(np.trace(A @ C @ S @ C.T) + r @ A @ r)
    hints = {"you left out the covariance term tr(A C Sigma C^T): that is the quadratic form at the mean": float(r @ A @ r),
             "you used tr(A Sigma) without the C's": float(np.trace(A @ S) + r @ A @ r),
             "you gave only the covariance term, without the quadratic form at the mean": float(np.trace(A @ C @ S @ C.T))}
    return result("E of the quadratic form (Eq. B.13)",
                  compare_scalar(answer, expected, "the expectation", rtol=1e-9, hints=hints))


def thinned_pmf(answer) -> CheckResult:
    """Exercise (c), ``ex-b2-thinning``: your probability of exactly y kept successes out of Pois(1)
    trials, each kept with probability mu, for (mu, y) = EX_THIN; a single number.

    The checker recognizes the probability before thinning and a fixed-number-of-trials binomial.
    """
    mu, y = EX_THIN
    expected = sum(math.exp(-1) / math.factorial(x) * math.comb(x, y) * mu**y * (1 - mu) ** (x - y)
                   for x in range(y, 60))
    hints = {"you gave the Pois(1) probability of y trials, before thinning": math.exp(-1) / math.factorial(y),
             "you gave a binomial probability for a fixed number of trials": math.comb(y, y) * mu**y}
    return result("probability of the thinned count", compare_scalar(answer, expected, "p(y)", rtol=1e-9, hints=hints))
