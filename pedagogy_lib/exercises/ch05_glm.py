"""Checkers for the exercises of notebook 5.1.2 (generalized linear models and IRLS); one sample per row, so ``Y`` is
the book's Y transposed."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import expit

from . import checker

__all__ = ["GLMProblem", "PenalizedProblem", "EX_STEP", "EX_WEIGHTS", "EX_SEPARABLE", "irls_step", "irls_weights",
           "geometric_link", "has_mle"]


class GLMProblem(NamedTuple):
    """A small Bernoulli GLM: inputs ``Y`` (N, M) with a column of ones, outputs ``x`` in {0, 1}, and the current
    coefficients ``d`` (M,), the book's d^(i)."""

    Y: np.ndarray
    x: np.ndarray
    d: np.ndarray


class PenalizedProblem(NamedTuple):
    """A logistic regression with ridge penalty: ``Y``, ``x``, the start ``d`` and the strength ``lam`` of sum_n log
    p(x_n | y_n; d) - (lam / 2) |d|^2, every coefficient penalized."""

    Y: np.ndarray
    x: np.ndarray
    d: np.ndarray
    lam: float


#: Exercise 1: two IRLS steps from d = 0 for four separated samples, ridge penalty lam = 1.
EX_STEP = PenalizedProblem(Y=np.array([[1.0, -1.0], [1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]),
                           x=np.array([0.0, 0.0, 1.0, 1.0]), d=np.array([0.0, 0.0]), lam=1.0)


def _draw_weights(rng):
    """A problem like EX_WEIGHTS: both classes, weights differing from sample to sample."""
    while True:
        y = np.sort(rng.choice(np.arange(-3.0, 3.5, 0.5), size=5, replace=False))
        x = rng.integers(0, 2, size=5).astype(float)
        d = np.array([round(float(rng.uniform(-0.6, 0.6)), 1), round(float(rng.uniform(0.6, 1.6)), 1)])
        if y[0] < 0 < y[-1] and 0 < x.sum() < 5 and np.ptp(expit(d[0] + d[1] * y)) > 0.3:
            return GLMProblem(np.column_stack([np.ones(5), y]), x, d)


#: Exercise 2: the Fisher-scoring weights of the probit model at a non-zero iterate.
EX_WEIGHTS = checker.book_or_drawn(GLMProblem(
    Y=np.array([[1.0, -2.0], [1.0, -0.5], [1.0, 0.5], [1.0, 1.5], [1.0, 3.0]]),
    x=np.array([0.0, 0.0, 1.0, 0.0, 1.0]), d=np.array([0.3, 1.2]),
), _draw_weights, seed=5121)

#: Exercise 4: four one-feature logistic data sets ``{"A": (y, x), ..., "D": (y, x)}`` (intercept implied).
EX_SEPARABLE = {
    "A": (np.array([-2.0, -1.2, -0.3, 0.4, 1.1, 2.5]), np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])),
    "B": (np.array([-2.0, -1.2, -0.3, 0.4, 1.1, 2.5]), np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])),
    "C": (np.array([-2.0, -1.2, 0.4, 0.4, 1.1, 2.5]), np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])),
    "D": (np.array([-2.0, -1.2, -0.3, 0.4, 1.1, 2.5]), np.array([1.0, 1.0, 1.0, 0.0, 0.0, 1.0])),
}


def irls_step(d_next):
    """Exercise 1, ``ex-5-1-2-irls-step``: your d^(2) (intercept first) after two IRLS steps from :data:`EX_STEP` with
    the ridge penalty (lam / 2) |d|^2. Slips named: the page's steps without the penalty, the penalty misplaced or of
    the wrong strength, one step, the first step's weights kept."""
    from .references import ch05_glm as refs
    p = EX_STEP
    d1 = refs.penalized_step(p, p.d)
    ref = refs.penalized_step(p, d1)
    N = p.Y.shape[0]
    hints = {
        "you left the penalty out: those are the plain IRLS steps of the page, whose iterates grow without "
        "bound on these separated classes": refs.two_steps(p, grad_pen=0.0, hess_pen=0.0),
        "you added the penalty to the Hessian but not to the gradient": refs.two_steps(p, grad_pen=0.0),
        "you added the penalty to the gradient but not to the Hessian": refs.two_steps(p, hess_pen=0.0),
        "you gave the penalty's terms the wrong sign (the penalty is subtracted from the log-likelihood)":
            refs.two_steps(p, grad_pen=-1.0, hess_pen=-1.0),
        "you left the intercept out of the penalty; the statement penalizes both coefficients":
            refs.two_steps(p, intercept=False),
        "your penalty's derivative is 2 lam d: the penalty is (lam / 2) |d|^2": refs.two_steps(p, scale=2.0),
        "you averaged the log-likelihood over the samples while keeping the penalty as it is; the "
        "statement sums it": refs.two_steps(p, scale=float(N)),
        "you stopped after one step (that is d^(1))": d1,
        "you kept the weights of d^(0) in the second step; recompute mu and the weights at d^(1)":
            refs.penalized_step(p, d1, weights_at=p.d),
    }
    problems = checker.compare_array(d_next, ref, "your d^(2)", hints=hints)
    return checker.result("two IRLS steps for ridge-penalized logistic regression", problems)


def irls_weights(W):
    """Exercise 2, ``ex-5-1-2-weights``: your Fisher-scoring weights (5,) of the probit model at :data:`EX_WEIGHTS`.
    Slips named: the logistic's weights, the canonical-link formula, Newton's weights, several incomplete weights."""
    from .references import ch05_glm as refs
    p = EX_WEIGHTS
    eta, Phi, Phic, phi = refs.probit_parts(p)
    var = Phi * Phic
    ref = phi ** 2 / var
    m = expit(eta)
    # Newton's weights: minus the second derivative of x log Phi + (1 - x) log(1 - Phi) in eta
    observed = (p.x * (eta * phi * Phi + phi ** 2) / Phi ** 2
                + (1 - p.x) * (phi ** 2 - eta * phi * Phic) / Phic ** 2)
    hints = {
        "you used the logistic model's weights mu (1 - mu) with mu = sigma(eta); the probit's mean is Phi(eta)":
            m * (1 - m),
        "you used the output's variance Phi (1 - Phi) as the weight, which is right for a canonical link only":
            var,
        "you used the slope of the inverse link alone": phi,
        "you left the output's variance out of the weight": phi ** 2,
        "you divided the slope of the inverse link by the variance without squaring it": phi / var,
        "you used the reciprocal of the weight (that scales the working response, not the weights)": var / phi ** 2,
        "your weights depend on the outputs x: those are Newton's, from the observed second derivative; "
        "Fisher scoring takes its expectation over the outputs": observed,
    }
    if W is not None and np.ndim(W) == 2:
        return checker.result("IRLS weights", ["give the N weights as a 1-D array (the diagonal of W)."])
    problems = checker.compare_array(W, ref, "your weights", hints=hints)
    return checker.result("Fisher-scoring weights of the probit model", problems)


def geometric_link(g, lam):
    """Exercise 3, ``ex-5-1-2-geometric-link``: your canonical link ``g(mu)`` of the geometric family (failures before
    the first success, mean mu > 0) and its inverse ``lam(eta)`` (eta < 0), elementwise functions. Slips named: the
    two swapped, the Poisson's, the Bernoulli's and the identity link."""
    from .references import ch05_glm as refs
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
                      refs.geometric_lambda(mu)},
            "lam": {"the exponential is the Poisson's inverse link; the geometric's mean is A'(eta)": np.exp(eta),
                    "the logistic sigmoid is the Bernoulli's inverse link; the geometric's mean is A'(eta)":
                        expit(eta),
                    "you swapped the link and its inverse (the inverse link maps the natural parameter to "
                    "the mean)": np.log(np.abs(eta / (1 + eta)))},
        }
    problems = []
    for fn, args, ref, what, name in ((g, mu, np.log(mu / (1 + mu)), "the link g(mu)", "g"),
                                      (lam, eta, refs.geometric_lambda(eta), "the inverse link lambda(eta)", "lam")):
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
    """Exercise 4: four real bools, whether the logistic MLE (with an intercept) exists for data sets "A" to "D" of
    :data:`EX_SEPARABLE`. All or nothing."""
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


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-5-1-2-irls-step": {"same_data": "the statement spells out the numbers; the solution works a step by hand"},
    "ex-5-1-2-geometric-link": {"same_data": checker.FUNCTION_ANSWER},
    "ex-5-1-2-separable": {"same_data": "the answer is True or False per data set; the solution discusses them"},
}
