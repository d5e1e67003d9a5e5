"""Checkers for the exercises of notebook 5.1.2 (generalized linear models and IRLS).

Use in the notebook as::

    from pedagogy_lib.exercises import ch05_glm as check
    check.irls_step(my_d1)

Layout follows Chapter 5 of the draft: the inputs are Y and the outputs X. Arrays hold one sample
per row, so ``Y`` here is the book's Y transposed (shape ``(N, M)``) and ``x`` the vector of
outputs. Reference answers are computed from the problem data in this module, independently of the
library.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import expit

from . import checker

__all__ = ["GLMProblem", "EX_STEP", "EX_WEIGHTS", "EX_SEPARABLE", "irls_step", "irls_weights",
           "poisson_link", "has_mle"]


class GLMProblem(NamedTuple):
    """A small Bernoulli GLM: inputs ``Y`` (N, M) with a column of ones, outputs ``x`` in {0, 1},
    and the current coefficients ``d`` (M,), the book's d^(i)."""

    Y: np.ndarray
    x: np.ndarray
    d: np.ndarray


#: Exercise 1: one IRLS step for a four-sample logistic regression (intercept first), from d = 0.
EX_STEP = GLMProblem(
    Y=np.array([[1.0, -1.0], [1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]),
    x=np.array([0.0, 1.0, 0.0, 1.0]),
    d=np.array([0.0, 0.0]),
)


def _draw_weights(rng):
    """A problem of the same kind as the book's EX_WEIGHTS, for one student: five samples with an intercept
    column and one feature (half-integers, increasing, of both signs), outputs with both classes, and a
    non-zero iterate whose weights differ from sample to sample."""
    while True:
        y = np.sort(rng.choice(np.arange(-3.0, 3.5, 0.5), size=5, replace=False))
        x = rng.integers(0, 2, size=5).astype(float)
        d = np.array([round(float(rng.uniform(-0.6, 0.6)), 1), round(float(rng.uniform(0.6, 1.6)), 1)])
        if y[0] < 0 < y[-1] and 0 < x.sum() < 5 and np.ptp(expit(d[0] + d[1] * y)) > 0.3:
            return GLMProblem(np.column_stack([np.ones(5), y]), x, d)


#: Exercise 2: the IRLS weights at a non-zero iterate.
EX_WEIGHTS = checker.book_or_drawn(GLMProblem(
    Y=np.array([[1.0, -2.0], [1.0, -0.5], [1.0, 0.5], [1.0, 1.5], [1.0, 3.0]]),
    x=np.array([0.0, 0.0, 1.0, 0.0, 1.0]),
    d=np.array([0.3, 1.2]),
), _draw_weights, seed=5121)

#: Exercise 4: two one-feature logistic data sets ``{"A": (y, x), "B": (y, x)}`` (intercept implied).
EX_SEPARABLE = {
    "A": (np.array([-2.0, -1.2, -0.3, 0.4, 1.1, 2.5]), np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])),
    "B": (np.array([-2.0, -1.2, -0.3, 0.4, 1.1, 2.5]), np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])),
}


def _bernoulli_parts(p: GLMProblem):
    eta = p.Y @ p.d
    mu = expit(eta)
    var = mu * (1.0 - mu)
    return eta, mu, var


def irls_step(d_next):
    """Exercise 1, ``ex-5-1-2-irls-step``: your d^(1) after one IRLS step from :data:`EX_STEP` (Eq. 5.14).

    Pass an array of two numbers, intercept first. The checker recognizes a step in the wrong
    direction, the draft's slip in the weights, and a plain gradient step.
    """
    p = EX_STEP
    eta, mu, var = _bernoulli_parts(p)
    H = p.Y.T @ (var[:, None] * p.Y)
    g = p.Y.T @ (p.x - mu)
    ref = p.d + np.linalg.solve(H, g)
    sd = np.sqrt(var)
    hints = {
        "you stepped against the gradient (the sign slip in the last line of Eq. 5.13 leads there)":
            p.d - np.linalg.solve(H, g),
        "you weighted by the standard deviation sqrt(mu (1 - mu)) instead of the variance (the draft's slip "
        "in the linearization after Eq. 5.14)":
            np.linalg.solve(p.Y.T @ (sd[:, None] * p.Y), p.Y.T @ (sd * (eta + (p.x - mu) / sd))),
        "you took a plain gradient step of size 1 instead of a Newton step": p.d + g,
    }
    problems = checker.compare_array(d_next, ref, "your d^(1)", hints=hints)
    return checker.result("one IRLS step for logistic regression (Eq. 5.14)", problems)


def irls_weights(W):
    """Exercise 2, ``ex-5-1-2-weights``: your IRLS weights at :data:`EX_WEIGHTS`.

    Pass a 1-D array of shape (N,) = (5,), one weight per sample (the diagonal, not a matrix). The
    checker recognizes the draft's misprint, the means in place of the weights, the reciprocals of
    the weights, and a quantity computed from the outputs instead of the model.
    """
    p = EX_WEIGHTS
    eta, mu, var = _bernoulli_parts(p)
    hints = {
        "you used the standard deviation sqrt(mu (1 - mu)), as the draft misprints it after Eq. 5.14": np.sqrt(var),
        "you used the mean mu instead of the variance mu (1 - mu)": mu,
        "you used the inverse variance 1 / (mu (1 - mu)) (that scales the working response, not the weights)":
            1.0 / var,
        "you used the Bernoulli variance of the data, x (1 - x), which is always 0": p.x * (1 - p.x),
    }
    if W is not None and np.ndim(W) == 2:
        return checker.result("IRLS weights", ["give the N weights as a 1-D array (the diagonal of W)."])
    problems = checker.compare_array(W, var, "your weights", hints=hints)
    return checker.result("IRLS weights for logistic regression", problems)


def poisson_link(g, lam):
    """Exercise 3, ``ex-5-1-2-poisson-link``: your canonical link ``g(mu)`` of the Poisson family and its
    inverse ``lam(eta)``.

    Both arguments are functions acting element-wise on arrays; each is run on a few values. The
    checker recognizes the two swapped and the Gaussian's link.
    """
    mu = np.array([0.05, 0.5, 1.0, 3.0, 20.0])
    eta = np.array([-3.0, -0.5, 0.0, 1.0, 2.5])
    problems = []
    for fn, args, ref, what, swapped, name in ((g, mu, np.log(mu), "the link g(mu)", np.exp(mu), "g"),
                                               (lam, eta, np.exp(eta), "the inverse link lambda(eta)",
                                                np.log(np.abs(eta) + 1e-300), "lam")):
        if not callable(fn):
            problems.append(f"{name} should be a function; got {type(fn).__name__}.")
            continue
        try:
            out = fn(args)
        except Exception as exc:  # noqa: BLE001 - student code errors are reported
            problems.append(f"{name} raised {type(exc).__name__}: {exc}.")
            continue
        arr, probs = checker.as_numeric(out, f"{what}'s output")
        if probs:
            problems += probs
            continue
        if arr.shape == ref.shape and np.allclose(arr, swapped, rtol=1e-8):
            problems.append(f"{what}: you swapped the link and its inverse (the link maps the mean to the "
                            "natural parameter).")
            continue
        if arr.shape == ref.shape and name == "g" and np.allclose(arr, mu, rtol=1e-8):
            problems.append("the identity is the Gaussian's canonical link; for the Poisson, write the "
                            "log-probability as eta * x - A(eta) and read off eta as a function of mu.")
            continue
        problems += checker.compare_array(arr, ref, what, rtol=1e-8)
    return checker.result("canonical link of the Poisson family", problems)


def has_mle(answer_A, answer_B):
    """Exercise 4 (the last of notebook 5.1.2): does the maximum-likelihood estimate (with an
    intercept) exist for each data set of :data:`EX_SEPARABLE`? Pass two booleans, for "A" and
    for "B"."""
    problems = []
    for key, ans in (("A", answer_A), ("B", answer_B)):
        y, x = EX_SEPARABLE[key]
        xs = x[np.argsort(y)]
        separable = bool(np.all(np.diff(xs) >= 0) or np.all(np.diff(xs) <= 0))
        problems += checker.compare_bool(ans, not separable, f"your answer for data set {key}")
    return checker.result("existence of the logistic-regression MLE", problems)

#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-5-1-2-weights": {"forbidden": ["pedagogy_lib.learning.glm.family",
                                       "irls_step"]},
    "ex-5-1-2-irls-step": {"forbidden": ["pedagogy_lib.learning.glm.irls",
                                         "irls_step"],
                           "same_data": "the statement spells out the numbers (inputs -1, 0, 1, 2, outputs "
                                        "0, 1, 0, 1, the start at zero), and the solution works the step out by "
                                        "hand for them"},
    "ex-5-1-2-poisson-link": {"forbidden": ["pedagogy_lib.learning.glm.family"],
                              "same_data": "the answer is a pair of functions (the link and its inverse), which "
                                           "the grader calls on test inputs of the checker's own"},
    "ex-5-1-2-separable": {"same_data": "the answer is True or False for each of the two data sets, and the "
                                        "solution discusses these two data sets by name"},
}
