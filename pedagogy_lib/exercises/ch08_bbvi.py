r"""Checkers for the exercises of Section 8.4.2 (black-box variational inference).

Use in the notebook as::

    from pedagogy_lib.exercises import ch08_bbvi as check
    check.sf_variance(my_value)              # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, book_or_drawn, compare_scalar, result, problem_rng

__all__ = ["EX_MU", "EX_SAMPLES", "EX_X", "sf_variance", "cv_coefficient", "naive_optimum"]


def _draw_mu(rng):
    """A mean of the same kind as the book's EX_MU, for one student: positive, of order one (one decimal),
    other than the book's."""
    return round(float(rng.choice([m for m in np.arange(0.5, 2.55, 0.1) if abs(m - 1.5) > 0.05])), 1)


#: Exercise (a): the mean of q = N(mu, 1); the function is f(z) = z^2.
EX_MU = book_or_drawn(1.5, _draw_mu, seed=8421)


def _samples():
    rng = problem_rng(8402)
    h = rng.standard_normal(400)
    g = h * (2.0 + h) ** 2 + 0.5 * rng.standard_normal(400)
    return g, h


#: Exercise (b): per-sample gradients ``g`` and scores ``h`` (each shape (400,)).
EX_SAMPLES = _samples()

#: Exercise (c): the constant x of the naive recipe's objective L(lambda) = x lambda^2 + log lambda.
EX_X = -2.0


def sf_variance(answer) -> CheckResult:
    """Exercise (a), ``ex-8-4-2-sf-variance``: your variance of the single-sample score-function
    estimator of the statement at mu = EX_MU, a single number.

    The checker recognizes the second moment, the reparameterization estimator's variance, and the
    estimator's mean.
    """
    mu = EX_MU
    expected = mu ** 4 + 14 * mu ** 2 + 15
    hints = {
        "you gave the second moment E[((z - mu) z^2)^2]; subtract the squared mean (2 mu)^2": expected + 4 * mu ** 2,
        "you gave the variance of the reparameterization estimator 2z": 4.0,
        "you gave the mean of the estimator, not its variance": 2 * mu,
    }
    return result("variance of the score-function estimator",
                  compare_scalar(answer, expected, "the variance", rtol=1e-8, hints=hints))


def cv_coefficient(answer) -> CheckResult:
    """Exercise (b), ``ex-8-4-2-cv``: your coefficient a that minimizes the sample variance of
    ``g - a * h`` for :data:`EX_SAMPLES`, a single number.

    The checker recognizes the wrong variance in the ratio, a ratio of variances, and the
    correlation coefficient.
    """
    g, h = EX_SAMPLES
    gc, hc = g - g.mean(), h - h.mean()
    expected = float(np.sum(gc * hc) / np.sum(hc * hc))
    hints = {
        "you divided by the variance of g instead of the variance of h": float(np.sum(gc * hc) / np.sum(gc * gc)),
        "you divided the variances, Var(g) / Var(h), instead of Cov(g, h) / Var(h)": float(g.var() / h.var()),
        "you used the correlation coefficient, not the regression slope": float(np.corrcoef(g, h)[0, 1]),
    }
    return result("optimal control-variate coefficient",
                  compare_scalar(answer, expected, "a", rtol=2e-3, hints=hints))


def naive_optimum(answer) -> CheckResult:
    """Exercise (c), ``ex-8-4-2-naive``: your maximizer lambda* of the naive recipe's objective with
    x = :data:`EX_X`, a single number.

    The checker recognizes a forgotten square root and a root outside the domain.
    """
    x = EX_X
    expected = 1.0 / np.sqrt(-2.0 * x)
    hints = {
        "you forgot the square root: 2 x lambda + 1 / lambda = 0 gives lambda^2 = -1 / (2x)": -1.0 / (2.0 * x),
        "you gave the negative root: log lambda needs lambda > 0": -expected,
    }
    return result("optimum of the naive recipe's objective",
                  compare_scalar(answer, expected, "lambda*", rtol=1e-6, hints=hints))


#: For the graded (nbgrader) version: why an exercise's data are the same for every student
#: (courseware/grading.py).
SUMMATIVE = {
    "ex-8-4-2-naive": {"same_data": "the statement spells out the number (x = -2)"},
}
