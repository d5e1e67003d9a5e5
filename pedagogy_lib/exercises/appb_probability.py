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

from .checker import CheckResult, book_or_drawn, compare_scalar, result

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


def _draw_bernoulli_p(rng) -> float:
    """A success probability for one student, away from 0 and 1 (two decimals)."""
    return float(np.round(rng.uniform(0.1, 0.9), 2))


#: Exercise (a): the success probability.
EX_BERNOULLI_P = book_or_drawn(0.2, _draw_bernoulli_p, seed=2201)


def _spd2(rng) -> np.ndarray:
    """A symmetric positive-definite 2 x 2 matrix with one-decimal entries (correlation at most 0.6 before
    rounding, diagonal at least 0.5, so rounding keeps it positive definite)."""
    d = np.round(rng.uniform(0.5, 3.0, 2), 1)
    c = np.round(rng.uniform(-0.6, 0.6) * np.sqrt(d[0] * d[1]), 1) + 0.0     # no negative zero
    return np.array([[d[0], c], [c, d[1]]])


def _draw_quad(rng) -> QuadFormProblem:
    """A problem of the same kind as the book's EX_QUAD, for one student: the same shapes, a covariance
    and a weight matrix A that are symmetric positive definite, one-decimal entries."""
    while True:
        mu = np.round(rng.uniform(-2.0, 2.0, 2), 1) + 0.0
        Sigma = _spd2(rng)
        C = np.round(rng.uniform(-2.0, 2.0, (2, 2)), 1) + 0.0
        b = np.round(rng.uniform(-1.0, 1.0, 2), 1) + 0.0
        A = _spd2(rng)
        r = b - C @ mu
        cov_term, mean_term = np.trace(A @ C @ Sigma @ C.T), r @ A @ r
        if min(cov_term, mean_term) > 0.2 and abs(np.linalg.det(C)) > 0.2:   # both terms of Eq. B.13 count
            return QuadFormProblem(mu, Sigma, C, b, A)


#: Exercise (b): the quadratic form of Eq. B.13.
EX_QUAD = book_or_drawn(QuadFormProblem(np.array([1.0, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]]),
                                        np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([0.5, 0.0]),
                                        np.array([[1.0, 0.0], [0.0, 3.0]])), _draw_quad, seed=2202)


def _draw_thin(rng) -> tuple:
    """(mu, y) for one student: a keeping probability (two decimals) and a count of 1 to 3."""
    return float(np.round(rng.uniform(0.15, 0.85), 2)), int(rng.integers(1, 4))


#: Exercise (c): (mu, y): the probability that Pois(1) trials, each kept with probability mu, keep y.
EX_THIN = book_or_drawn((0.4, 2), _draw_thin, seed=2203)


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
