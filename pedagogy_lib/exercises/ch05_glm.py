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
           "geometric_link", "has_mle"]


class GLMProblem(NamedTuple):
    """A small Bernoulli GLM: inputs ``Y`` (N, M) with a column of ones, outputs ``x`` in {0, 1},
    and the current coefficients ``d`` (M,), the book's d^(i)."""

    Y: np.ndarray
    x: np.ndarray
    d: np.ndarray


#: Exercise 1: two IRLS steps for a four-sample logistic regression (intercept first), from d = 0.
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

#: Exercise 4: four one-feature logistic data sets ``{"A": (y, x), ..., "D": (y, x)}`` (intercept implied).
EX_SEPARABLE = {
    "A": (np.array([-2.0, -1.2, -0.3, 0.4, 1.1, 2.5]), np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])),
    "B": (np.array([-2.0, -1.2, -0.3, 0.4, 1.1, 2.5]), np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])),
    "C": (np.array([-2.0, -1.2, 0.4, 0.4, 1.1, 2.5]), np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])),
    "D": (np.array([-2.0, -1.2, -0.3, 0.4, 1.1, 2.5]), np.array([1.0, 1.0, 1.0, 0.0, 0.0, 1.0])),
}


def _bernoulli_parts(p: GLMProblem):
    eta = p.Y @ p.d
    mu = expit(eta)
    var = mu * (1.0 - mu)
    return eta, mu, var


def _newton(p: GLMProblem, d: np.ndarray, weights: str = "variance", sign: float = 1.0) -> np.ndarray:
    """One IRLS (Newton) step from ``d``; ``weights="sd"`` makes the draft's slip, ``sign=-1`` the sign slip,
    ``weights="none"`` a plain gradient step of size one."""
    eta = p.Y @ d
    mu = expit(eta)
    var = mu * (1.0 - mu)
    if weights == "none":
        return d + p.Y.T @ (p.x - mu)
    if weights == "sd":
        sd = np.sqrt(var)
        return np.linalg.solve(p.Y.T @ (sd[:, None] * p.Y), p.Y.T @ (sd * (eta + (p.x - mu) / sd)))
    return d + sign * np.linalg.solve(p.Y.T @ (var[:, None] * p.Y), p.Y.T @ (p.x - mu))


def irls_step(d_next):
    """Exercise 1, ``ex-5-1-2-irls-step``: your d^(2) after two IRLS steps from :data:`EX_STEP` (Eq. 5.14).

    Pass an array of two numbers, intercept first. The checker recognizes one step only, steps in
    the wrong direction, the draft's slip in the weights, plain gradient steps, and a second step that
    kept the weights of the first.
    """
    p = EX_STEP
    d1 = _newton(p, p.d)
    ref = _newton(p, d1)
    mu0 = expit(p.Y @ p.d)
    var0 = mu0 * (1 - mu0)
    stale = d1 + np.linalg.solve(p.Y.T @ (var0[:, None] * p.Y), p.Y.T @ (p.x - expit(p.Y @ d1)))
    hints = {
        "you stopped after one step (that is d^(1))": d1,
        "you stepped against the gradient (the sign slip in the last line of Eq. 5.13 leads there)":
            _newton(p, _newton(p, p.d, sign=-1.0), sign=-1.0),
        "you weighted by the standard deviation sqrt(mu (1 - mu)) instead of the variance (the draft's slip "
        "in the linearization after Eq. 5.14)": _newton(p, _newton(p, p.d, "sd"), "sd"),
        "you took plain gradient steps of size 1 instead of Newton steps":
            _newton(p, _newton(p, p.d, "none"), "none"),
        "you kept the weights of d^(0) in the second step; recompute mu and the weights at d^(1)": stale,
    }
    problems = checker.compare_array(d_next, ref, "your d^(2)", hints=hints)
    return checker.result("two IRLS steps for logistic regression (Eq. 5.14)", problems)


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


def _geometric_lambda(eta):
    return np.exp(eta) / (1.0 - np.exp(eta))


def geometric_link(g, lam):
    """Exercise 3, ``ex-5-1-2-poisson-link``: your canonical link ``g(mu)`` of the geometric family (the
    number of failures before the first success, mean mu > 0) and its inverse ``lam(eta)`` (eta < 0).

    Both arguments are functions acting element-wise on arrays; each is run on a few values. The
    checker recognizes the two swapped, the Poisson's link (the logarithm), the Bernoulli's link (the
    logit) and the identity.
    """
    mu = np.array([0.05, 0.5, 1.0, 3.0, 20.0])
    eta = np.array([-3.0, -1.0, -0.5, -0.1, -0.01])
    with np.errstate(all="ignore"):
        others = {
            "g": {"the logarithm is the Poisson's canonical link; write the geometric probability "
                  "(1 - pi)^x pi as exp{eta x - A(eta)} and read off eta as a function of the mean": np.log(mu),
                  "the logit is the Bernoulli's canonical link, for a mean between 0 and 1; here the mean "
                  "is a number of failures": np.log(mu / (1 - mu)),
                  "the identity is the Gaussian's canonical link": mu,
                  "you swapped the link and its inverse (the link maps the mean to the natural parameter)":
                      _geometric_lambda(mu)},
            "lam": {"the exponential is the Poisson's inverse link; the geometric's mean is A'(eta)": np.exp(eta),
                    "the logistic sigmoid is the Bernoulli's inverse link; the geometric's mean is A'(eta)":
                        expit(eta),
                    "you swapped the link and its inverse (the inverse link maps the natural parameter to "
                    "the mean)": np.log(np.abs(eta / (1 + eta)))},
        }
    problems = []
    for fn, args, ref, what, name in ((g, mu, np.log(mu / (1 + mu)), "the link g(mu)", "g"),
                                      (lam, eta, _geometric_lambda(eta), "the inverse link lambda(eta)", "lam")):
        if not callable(fn):
            problems.append(f"{name} should be a function; got {type(fn).__name__}.")
            continue
        try:
            with np.errstate(all="ignore"):
                out = fn(args)
        except Exception as exc:  # noqa: BLE001 - student code errors are reported
            problems.append(f"{name} raised {type(exc).__name__}: {exc}.")
            continue
        try:
            raw = np.asarray(out, dtype=float)
        except (TypeError, ValueError):
            raw = None
        slip = None if raw is None or raw.shape != ref.shape else next(
            (text for text, wrong in others[name].items() if np.allclose(raw, wrong, rtol=1e-8, equal_nan=True)),
            None)
        if slip:                         # a slip may give NaN or inf (the logit of a mean above one)
            problems.append(f"{what}: {slip}.")
            continue
        arr, probs = checker.as_numeric(out, f"{what}'s output")
        if probs:
            problems += probs
            continue
        problems += checker.compare_array(arr, ref, what, rtol=1e-8)
    return checker.result("canonical link of the geometric family", problems)


def has_mle(answer_A, answer_B, answer_C, answer_D):
    """Exercise 4 (the last of notebook 5.1.2): does the maximum-likelihood estimate (with an intercept)
    exist for each data set of :data:`EX_SEPARABLE`? Pass four real bools, for "A" to "D". All or nothing:
    a wrong answer is told neither which data sets nor how many are wrong."""
    problems, values = [], {}
    for key, ans in zip("ABCD", (answer_A, answer_B, answer_C, answer_D)):
        values[key], p = checker.as_bool(ans, f"your answer for data set {key}", strict=True)
        problems += p
    if not problems:
        wrong = False
        for key, (y, x) in EX_SEPARABLE.items():
            # (quasi-)separated: a threshold with one class on each side, ties at the threshold allowed
            zeros, ones = y[x == 0], y[x == 1]
            separated = (zeros.size == 0 or ones.size == 0 or zeros.max() <= ones.min()
                         or ones.max() <= zeros.min())
            wrong |= values[key] != (not separated)
        if wrong:
            problems.append("not all four answers are right (the checker does not say which, nor how many). "
                            "The MLE fails to exist when a threshold on the input puts the two classes on "
                            "either side, even if it touches points of both.")
    return checker.result("existence of the logistic-regression MLE", problems)


#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-5-1-2-weights": {"forbidden": ["scipy.stats.logistic.pdf",
                                       "pedagogy_lib.learning.glm._bern_dmu",
                                       "pedagogy_lib.learning.glm.family",
                                       "irls_step"]},
    "ex-5-1-2-irls-step": {"forbidden": ["pedagogy_lib.contrastive.nce.fit_nce",
                                         "pedagogy_lib.contrastive.nce.newton_minimize",
                                         "pedagogy_lib.contrastive.nce.nce_grad",
                                         "pedagogy_lib.contrastive.nce.nce_hessian",
                                         "scipy.optimize.minimize",
                                         "pedagogy_lib.learning.glm.irls",
                                         "irls_step", "irls_path"],
                           "same_data": "the statement spells out the numbers (inputs -1, 0, 1, 2, outputs "
                                        "0, 1, 0, 1, the start at zero), and the solution works the first step "
                                        "out by hand for them"},
    "ex-5-1-2-poisson-link": {"forbidden": ["pedagogy_lib.learning.glm.family"],
                              "same_data": "the answer is a pair of functions (the link and its inverse), which "
                                           "the grader calls on test inputs of the checker's own"},
    "ex-5-1-2-separable": {"same_data": "the answer is True or False for each of the four data sets, and the "
                                        "solution discusses these data sets by name"},
}
