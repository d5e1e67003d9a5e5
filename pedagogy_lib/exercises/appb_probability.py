r"""Checkers for the exercises of Appendix B.2 (probability and statistics)."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats

from .checker import (FUNCTION_ANSWER, CheckResult, as_numeric, book_or_drawn, compare_array, compare_scalar,
                      problem_rng, result, check_function)

__all__ = ["QuadFormProblem", "EX_BERNOULLI_P", "EX_QUAD", "EX_THIN", "bernoulli_fisher", "quadratic_form_variance",
           "thinned_pmf", "fisher_information_function"]


class QuadFormProblem(NamedTuple):
    """X ~ N(``mu``, ``Sigma``) and the bilinear form (b - C X)^T A (e - D X), all 2-D."""

    mu: np.ndarray
    Sigma: np.ndarray
    C: np.ndarray
    b: np.ndarray
    A: np.ndarray
    D: np.ndarray
    e: np.ndarray


#: Exercise (a): the success probability of the geometric law p (1 - p)^y (not the page's 0.2).
EX_BERNOULLI_P = book_or_drawn(0.35, lambda rng: float(np.round(rng.uniform(0.1, 0.9), 2)), seed=2201)


def _spd2(rng) -> np.ndarray:
    """A symmetric positive-definite 2 x 2 matrix, one decimal (rounding keeps it definite)."""
    d = np.round(rng.uniform(0.5, 3.0, 2), 1)
    c = np.round(rng.uniform(-0.6, 0.6) * np.sqrt(d[0] * d[1]), 1) + 0.0     # no negative zero
    return np.array([[d[0], c], [c, d[1]]])


def _draw_quad(rng) -> QuadFormProblem:
    """A problem like EX_QUAD, Sigma and A symmetric positive definite, one decimal."""
    while True:
        mu = np.round(rng.uniform(-2.0, 2.0, 2), 1) + 0.0
        Sigma = _spd2(rng)
        C = np.round(rng.uniform(-2.0, 2.0, (2, 2)), 1) + 0.0
        b = np.round(rng.uniform(-1.0, 1.0, 2), 1) + 0.0
        A = _spd2(rng)
        D = np.round(rng.uniform(-2.0, 2.0, (2, 2)), 1) + 0.0
        e = np.round(rng.uniform(-1.0, 1.0, 2), 1) + 0.0
        if _quad_terms_distinct(QuadFormProblem(mu, Sigma, C, b, A, D, e)):
            return QuadFormProblem(mu, Sigma, C, b, A, D, e)


def _quad_terms_distinct(q: QuadFormProblem) -> bool:
    """Both parts count, and no named slip comes within 1% of the answer."""
    from .references import appb_probability as refs
    t = refs.quad_terms(q)
    answer = t["linear"] + t["quadratic"]
    return (min(t["linear"], t["quadratic"]) > 0.2 * answer
            and all(abs(w - answer) > 0.01 * answer + 0.05 for _, w in refs.quad_slips(q))
            and abs(np.linalg.det(q.C)) > 0.2 and abs(np.linalg.det(q.D)) > 0.2)


#: Exercise (b): X ~ N(mu, Sigma) and the bilinear form (b - C X)^T A (e - D X).
EX_QUAD = book_or_drawn(QuadFormProblem(np.array([1.0, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]]),
                                        np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([0.5, 0.0]),
                                        np.array([[1.0, 0.0], [0.0, 3.0]]), np.array([[0.5, -1.0], [1.5, 0.5]]),
                                        np.array([1.0, 2.0])), _draw_quad, seed=2202)


def _draw_thin(rng) -> tuple:
    """(lam, mu, y): a rate of a few hundred with a nonzero decimal, lam mu in [15, 100], y within 1.5 sds of it."""
    while True:
        lam = float(np.round(rng.uniform(150.0, 300.0), 1))
        mu = float(np.round(rng.uniform(0.1, 0.33), 2))
        m = lam * mu
        if round(lam * 10) % 10 and 15.0 <= m <= 100.0:
            return lam, mu, int(round(m + rng.uniform(-1.5, 1.5) * math.sqrt(m)))


#: Exercise (c): (lam, mu, y); at a rate of a few hundred, the page's floating-point series overflows before it
#: reaches the bulk of Pois(lam).
EX_THIN = book_or_drawn((237.5, 0.2, 45), _draw_thin, seed=2203)


def bernoulli_fisher(answer) -> CheckResult:
    """Exercise (a), ``ex-b2-fisher``: your Fisher information about p of one geometric observation p (1 - p)^y at p =
    EX_BERNOULLI_P. Slips named: the page's Bernoulli answer, the observation's variance, the score's mean, the y = 0
    term alone."""
    p = EX_BERNOULLI_P
    expected = 1.0 / (p * p * (1 - p))
    hints = {"that is the information of one Bernoulli trial, which the page works out; the statement's "
             "observation counts the failures before the first success": 1.0 / (p * (1 - p)),
             "you gave the variance of the observation, not the expected squared score": (1 - p) / p ** 2,
             "you gave the mean of the score, which is always zero": 0.0,
             "you kept only the y = 0 term of the expectation": p * (1.0 / p) ** 2}
    return result("Fisher information of a geometric observation",
                  compare_scalar(answer, expected, "I(p)", rtol=1e-9, hints=hints))


def quadratic_form_variance(answer) -> CheckResult:
    """Exercise (b), ``ex-b2-quadratic``: your Var[(b - CX)^T A (e - DX)] for X ~ N(mu, Sigma), numbers of
    :data:`EX_QUAD`. Slips named: the mean, the second moment, the linear or quadratic part left out, one part wrong."""
    from .references import appb_probability as refs
    t = refs.quad_terms(EX_QUAD)
    what = "the variance"
    problems = compare_scalar(answer, t["linear"] + t["quadratic"], what, rtol=1e-9)
    if problems and not as_numeric(answer, what)[1]:
        got = float(np.asarray(as_numeric(answer, what)[0], dtype=float).ravel()[0])
        for description, wrong in refs.quad_slips(EX_QUAD):
            if abs(got - wrong) <= 1e-9 * abs(wrong) + 1e-8:
                problems = [f"{what} is what you get if you {description}."]
                break
    return result("variance of the bilinear form", problems)


def thinned_pmf(answer) -> CheckResult:
    """Exercise (c), ``ex-b2-thinning``: your probability of exactly y kept successes of Pois(lam) trials kept with
    probability mu, (lam, mu, y) = EX_THIN. Slips named: a fixed number of trials, a normal approximation."""
    lam, mu, y = EX_THIN
    m = lam * mu
    expected = float(stats.poisson.pmf(y, m))                 # a thinned Poisson count is Poisson

    def binomial(n):
        return float(stats.binom.pmf(y, n, mu))
    fixed = ("you took the number of trials as fixed, at its mean lam rounded {}; it is Poisson, and its "
             "spread adds to the spread of the kept count")
    hints = {fixed.format("down"): binomial(math.floor(lam)),
             fixed.format("up"): binomial(math.ceil(lam)),
             "you used a normal approximation; the exercise asks for the exact probability":
                 math.exp(-0.5 * (y - m) ** 2 / m) / math.sqrt(2 * math.pi * m)}
    return result("probability of the thinned count",
                  compare_scalar(answer, expected, "p(y)", rtol=1e-9, atol=1e-15, hints=hints))


def _fisher_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Hidden problems (name, T, log_h, eta, J): binomial, categoricals, Gaussian grid, curved."""
    rng = problem_rng(2204)
    cases = []
    n, p = int(rng.integers(5, 13)), float(rng.uniform(0.15, 0.85))
    y = np.arange(n + 1.0)
    log_h = np.array([math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) for k in range(n + 1)])
    cases.append((f"binomial, n = {n}, in its mean parameter", y[:, None], log_h,
                  np.array([math.log(p / (1 - p))]), np.array([[1.0 / (p * (1 - p))]])))
    K = int(rng.integers(4, 7))
    cases.append((f"categorical, {K} outcomes, in its natural parameters", np.eye(K)[:, :K - 1], np.zeros(K),
                  rng.normal(0.0, 1.0, K - 1), np.eye(K - 1)))
    grid = np.linspace(-6.0, 6.0, int(rng.integers(41, 81)))
    mu, sd = float(rng.uniform(-1.0, 1.0)), float(rng.uniform(0.8, 1.6))
    J = np.array([[1 / sd**2, -2 * mu / sd**3], [0.0, 1 / sd**3]])          # d(eta_1, eta_2) / d(mu, sd)
    cases.append(("Gaussian on a grid, in its mean and standard deviation", np.c_[grid, grid**2],
                  np.zeros(len(grid)), np.array([mu / sd**2, -0.5 / sd**2]), J))
    th = float(rng.uniform(0.5, 1.5))
    grid = np.linspace(-5.0, 5.0, int(rng.integers(31, 61)))
    cases.append(("a curved family on a grid, one parameter and two statistics", np.c_[grid, grid**2],
                  -np.abs(grid), np.array([th, -0.5 * th**2]), np.array([[1.0], [-th]])))
    K = int(rng.integers(4, 6))
    eta = rng.normal(0.0, 1.0, K - 1) + 900.0                               # the last outcome all but vanishes
    cases.append((f"categorical, {K} outcomes, very large natural parameters", np.eye(K)[:, :K - 1], np.zeros(K),
                  eta, rng.normal(0.0, 1.0, (K - 1, 2))))
    return cases


def fisher_information_function(fn) -> CheckResult:
    """Exercise (d), ``ex-b2-fisher-function``: your function ``fn(T, log_h, eta, J)`` returning the Fisher
    information I(theta) (P, P) of an exponential family on N outcomes (statistics ``T``, log base measure ``log_h``,
    natural parameters ``eta``, their Jacobian ``J``). Slips named: no base measure or normalization, the second
    moment, equal weights, the inverse covariance, the Jacobian misplaced."""
    from .references import appb_probability as refs
    def judge(out, where, T, log_h, eta, J):
        P = J.shape[1]
        if "very large natural parameters" in where and np.shape(out) == (P, P) and \
                not np.all(np.isfinite(np.asarray(out, dtype=float))):
            return [f"I(theta) on {where} contains NaN or inf: its natural parameters are too large to "
                    "exponentiate as they are, so work with logarithms until the weights are normalized."]
        _, cov = refs.family_moments(T, log_h, eta)
        return compare_array(out, J.T @ cov @ J, f"I(theta) on {where}", rtol=1e-7, atol=1e-10,
                             hints=refs.fisher_slips(T, log_h, eta, J))

    cases = [(f"test problem {i + 1} ({name}; N = {T.shape[0]}, D = {T.shape[1]}, P = {J.shape[1]})",
              (T, log_h, eta, J)) for i, (name, T, log_h, eta, J) in enumerate(_fisher_cases())]
    with np.errstate(all="ignore"):
        return check_function("Fisher information of an exponential family (Eq. B.12)", fn, cases, judge,
                              name="my_fisher", signature="(T, log_h, eta, J)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-b2-fisher-function": {"same_data": FUNCTION_ANSWER},
}
