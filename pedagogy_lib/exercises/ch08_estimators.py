r"""Checkers for the exercises of Section 8.2.1 (Monte Carlo gradient estimators)."""
from __future__ import annotations

import numpy as np

from .checker import (FUNCTION_ANSWER, CheckResult, book_or_drawn, compare_array, compare_scalar, problem_rng, result,
                      check_function, tuple_problems)

__all__ = ["EX_MU", "EX_K", "EX_LAM", "variance_slope", "best_baseline", "expo_pathwise_variance",
           "gradient_estimators"]


def _choice(values):
    """A draw of one of ``values``, one decimal (other than the book's and the page's numbers)."""
    return lambda rng: round(float(rng.choice(values)), 1)


#: Exercises (a) and (b): the shared mean of N(mu 1, I), for the cost f(x) = x_1^2 + x_2^2 in (a)
#: (K >= 2) and the page's f(x) = x_1^2 in (b); the latent dimension K of (b).
EX_MU = book_or_drawn(1.5, _choice([m for m in np.arange(0.6, 2.55, 0.1) if abs(m - 1.5) > 0.05]), seed=8211)
EX_K = book_or_drawn(10, lambda rng: int(rng.choice([k for k in range(4, 17) if k != 10])), seed=8212)


#: Exercise (c): the rate of the exponential distribution (not the page's 1.5).
EX_LAM = book_or_drawn(1.3, _choice([lam for lam in np.arange(1.2, 2.55, 0.1)
                                     if abs(lam - 1.5) > 0.05 and abs(lam - 1.3) > 0.05]), seed=8213)


def variance_slope(answer) -> CheckResult:
    """Exercise (a), ``ex-8-2-1-slope``: your increase of the single-sample score-function variance per extra latent
    dimension at mu = EX_MU for the cost f(x) = x_1^2 + x_2^2 (K >= 2). Slips named: the page's slope for x_1^2, alone
    or doubled, a squared mean for a second moment, dropped constants."""
    m2 = EX_MU ** 2
    expected = 4 * m2 * m2 + 16 * m2 + 8
    hints = {
        "you took the slope for the page's cost x_1^2; the statement's cost reads two coordinates":
            m2 * m2 + 6 * m2 + 3,
        "you doubled the page's slope for x_1^2: the slope for a cost that reads two coordinates is not "
        "the sum of the slopes for each coordinate alone": 2 * (m2 * m2 + 6 * m2 + 3),
        "you squared the mean of f: recheck which moment of f the extra coordinate's score multiplies":
            4 * (m2 + 1) ** 2,
        "you dropped the constant terms of the moments": 4 * m2 * m2 + 16 * m2,
    }
    return result("slope of the score-function variance in K",
                  compare_scalar(answer, expected, "the slope", rtol=1e-8, hints=hints))


def best_baseline(answer) -> CheckResult:
    """Exercise (b), ``ex-8-2-1-baseline``: your variance-minimizing constant baseline beta* at mu = EX_MU and K =
    EX_K. Slips named: the mean of f, a wrong or missing normalization."""
    m2, K = EX_MU ** 2, EX_K
    expected = ((m2 + 3) + (K - 1) * (m2 + 1)) / K
    hints = {
        "you gave E[f] = mu^2 + 1, the baseline that ignores the correlation of f with s^2": m2 + 1,
        "you forgot to divide by E[s^2] = K": (m2 + 3) + (K - 1) * (m2 + 1),
        "you divided by K^2; E[s^2] = K for a sum of K independent standard normals":
            ((m2 + 3) + (K - 1) * (m2 + 1)) / K ** 2,
    }
    return result("optimal baseline", compare_scalar(answer, expected, "beta*", rtol=1e-8, hints=hints))


def expo_pathwise_variance(answer) -> CheckResult:
    """Exercise (c), ``ex-8-2-1-expo``: your variance of the single-sample pathwise estimator of d/dlambda E[X^3]
    under Eq. 8.23 at lambda = EX_LAM. Slips named: the second moment, the score-function estimator's variance, a
    missing factor, the page's answer for x^2."""
    lam = EX_LAM
    expected = 6156.0 / lam ** 8
    hints = {
        "you gave the second moment: subtract the squared mean": 6480.0 / lam ** 8,
        "you gave the variance of the score-function estimator": 30636.0 / lam ** 8,
        "you gave the variance of X^3 without the factor that the chain rule brings": 684.0 / lam ** 6,
        "that is the variance for f(x) = x^2, which the page works out; the statement's f is x^3": 80.0 / lam ** 6,
    }
    return result("variance of the pathwise estimator",
                  compare_scalar(answer, expected, "the variance", rtol=1e-8, hints=hints))


def _cost_cases():
    """Hidden problems (description, f, grad_f, mu, Z, beta), one with a single draw."""
    r = problem_rng(82110)
    cases = []

    def first_squared(X):
        return X[:, 0] ** 2

    def first_squared_grad(X):
        G = np.zeros_like(X)
        G[:, 0] = 2.0 * X[:, 0]
        return G

    cases.append(("K = 1 latent dimension, a single draw, the cost x_1^2", first_squared, first_squared_grad,
                  float(r.uniform(-1.5, 1.5)), r.standard_normal((1, 1)), float(r.uniform(0.5, 2.0))))
    cases.append(("K = 4 latent dimensions, 6 draws, the cost x_1^2", first_squared, first_squared_grad,
                  float(r.uniform(-1.5, 1.5)), r.standard_normal((6, 4)), float(r.uniform(0.5, 2.0))))
    c = r.uniform(0.5, 2.0, size=3)

    def quadratic(X):
        return X ** 2 @ c + X[:, 0] * X[:, 1]

    def quadratic_grad(X):
        G = 2.0 * c * X
        G[:, 0] += X[:, 1]
        G[:, 1] += X[:, 0]
        return G

    cases.append(("K = 3 latent dimensions, 8 draws, a quadratic cost of every coordinate", quadratic,
                  quadratic_grad, float(r.uniform(-1.5, 1.5)), r.standard_normal((8, 3)),
                  float(r.uniform(0.5, 2.0))))
    w = r.normal(size=5)

    def wave(X):
        return np.sin(X @ w) + 0.5 * np.sum(X ** 2, axis=1)

    def wave_grad(X):
        return np.cos(X @ w)[:, None] * w + X

    cases.append(("K = 5 latent dimensions, 10 draws, a smooth cost of every coordinate", wave, wave_grad,
                  float(r.uniform(-1.5, 1.5)), r.standard_normal((10, 5)), float(r.uniform(0.5, 2.0))))
    return cases


def gradient_estimators(fn) -> CheckResult:
    """Exercise (d), ``ex-8-2-1-estimators-function``: your function ``fn(f, grad_f, mu, Z, beta)`` returning ``(sf,
    pw)`` (S,) each: the single-sample score-function estimates with baseline ``beta`` and the pathwise estimates of
    the derivative in the shared mean. Slips named: a one-coordinate score, the baseline misplaced or left out, x for
    x - mu, one coordinate or an average of the gradient, the gradient at the noise."""
    def judge(out, where, f, grad_f, mu, Z, beta):
        problems = tuple_problems(out, 2, "the pair (sf, pw)", where)
        if problems:
            return problems
        X = mu + Z
        fx, G = f(X), grad_f(X)
        s = Z.sum(axis=1)
        sf_hints = {
            "you took the score from the first coordinate only; the score of the shared mean sums over "
            "all K coordinates, whichever of them f reads": Z[:, 0] * (fx - beta),
            "you subtracted the baseline after multiplying by the score; it is subtracted from f": s * fx - beta,
            "you left the baseline out": s * fx,
            "you summed the samples x instead of x - mu in the score": X.sum(axis=1) * (fx - beta),
        }
        pw_hints = {
            "you kept only the first coordinate of the gradient of f; the sample moves with mu in every "
            "coordinate": G[:, 0],
            "you evaluated the gradient of f at the noise z instead of at the sample x": grad_f(Z).sum(axis=1),
            "you averaged the coordinates of the gradient instead of summing them": G.mean(axis=1),
            "you subtracted the baseline from the pathwise estimate; only the score-function estimator "
            "has one": G.sum(axis=1) - beta,
        }
        return (compare_array(out[0], s * (fx - beta), f"your sf on {where}", rtol=1e-8, atol=1e-10,
                              hints=sf_hints)
                + compare_array(out[1], G.sum(axis=1), f"your pw on {where}", rtol=1e-8, atol=1e-10,
                                hints=pw_hints))

    cases = _cost_cases()
    cases = [(f"test problem {i + 1} of {len(cases)} ({what})", args) for i, (what, *args) in enumerate(cases)]
    return check_function("score-function and pathwise estimates (Eqs. 8.22 and 8.24)", fn, cases, judge,
                          name="my_estimators", signature="(f, grad_f, mu, Z, beta)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-8-2-1-estimators-function": {"same_data": FUNCTION_ANSWER},
}
