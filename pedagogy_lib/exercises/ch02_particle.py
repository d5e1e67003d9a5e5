r"""Checkers for the exercises of notebook 2.2.3 (particle filter and smoother, Eqs. 2.56-2.61).

Problem data are module constants (shown in the notebook); every reference answer is computed from
them when a checker runs, independently of the library.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

from .checker import HAND_RTOL, CheckResult, as_numeric, book_or_drawn, compare_array, compare_scalar, result

__all__ = [
    "WeightsProblem",
    "BackwardStepProblem",
    "EX_WEIGHTS",
    "EX_BACKWARD",
    "weights",
    "ess",
    "backward_step",
    "convergence_slope",
    "RATE_GRID",
]


class WeightsProblem(NamedTuple):
    """Scalar particles ``x`` (I,) after a time update, an observation ``y_t``, and ``sigma_y``, the
    standard deviation (not the variance) of the Gaussian emission, whose mean is x_t."""

    x: np.ndarray
    y_t: float
    sigma_y: float


class BackwardStepProblem(NamedTuple):
    """One FFBSm step: particles ``x_prev`` (I,) with filter weights ``alpha_prev`` (I,), particles
    ``x_next`` (I,) with smoothing weights ``beta_next`` (I,), and the scalar Gaussian transition of
    the statement, with coefficient ``a`` and standard deviation ``sigma_x``."""

    x_prev: np.ndarray
    alpha_prev: np.ndarray
    x_next: np.ndarray
    beta_next: np.ndarray
    a: float
    sigma_x: float


def _draw_weights(rng):
    """A problem of the same kind as the book's EX_WEIGHTS, for one student: six distinct sorted particles,
    an observation among them, and an emission standard deviation in [0.3, 0.8] (away from 1, where the
    variance and the standard deviation would agree)."""
    while True:
        x = np.sort(np.round(rng.normal(0.0, 1.0, size=6), 1)) + 0.0
        if np.all(np.diff(x) > 0):
            break
    y_t = round(float(rng.uniform(x[1], x[-2])), 1) + 0.0
    return WeightsProblem(x=x, y_t=y_t, sigma_y=round(float(rng.uniform(0.3, 0.8)), 1))


EX_WEIGHTS = book_or_drawn(WeightsProblem(x=np.array([-1.2, -0.3, 0.1, 0.4, 0.9, 1.7]), y_t=0.5, sigma_y=0.6),
                           _draw_weights, seed=2231)


def _draw_backward(rng):
    """A step of the same kind as the book's EX_BACKWARD, for one student: four distinct sorted particles at
    each time, weights with two decimals that sum to one, and a transition coefficient a in [0.5, 0.9] (not 1,
    where the transition evaluated backwards would agree)."""
    a = round(float(rng.uniform(0.5, 0.9)), 1)
    while True:
        x_prev = np.sort(np.round(rng.normal(0.2, 0.7, size=4), 1)) + 0.0
        x_next = np.sort(np.round(a * x_prev + rng.normal(0.0, 0.4, size=4), 1)) + 0.0
        if np.all(np.diff(x_prev) > 0) and np.all(np.diff(x_next) > 0):
            break
    alpha_prev = (5 + rng.multinomial(80, rng.dirichlet(np.full(4, 3.0)))) / 100
    beta_next = (5 + rng.multinomial(80, rng.dirichlet(np.full(4, 3.0)))) / 100
    return BackwardStepProblem(x_prev=x_prev, alpha_prev=alpha_prev, x_next=x_next, beta_next=beta_next, a=a,
                               sigma_x=round(float(rng.uniform(0.3, 0.8)), 1))


EX_BACKWARD = book_or_drawn(BackwardStepProblem(
    x_prev=np.array([-0.8, 0.0, 0.5, 1.1]),
    alpha_prev=np.array([0.1, 0.4, 0.3, 0.2]),
    x_next=np.array([-0.5, 0.2, 0.6, 1.4]),
    beta_next=np.array([0.15, 0.35, 0.35, 0.15]),
    a=0.9,
    sigma_x=0.5,
), _draw_backward, seed=2232)


def _reference_weights() -> np.ndarray:
    x, y, s = EX_WEIGHTS
    lik = stats.norm(loc=x, scale=s).pdf(y)           # p(y_t | x_t^(j)) for every particle
    return lik / lik.sum()                            # Eq. 2.59


def _normalized(log_w) -> np.ndarray:
    w = np.exp(log_w - np.max(log_w))
    return w / w.sum()


def _standard_deviation_slip(x, y, s) -> np.ndarray:
    """The weights with sigma_y where sigma_y^2 belongs and the 1/2 dropped: exp(-(y - x)^2 / sigma_y)."""
    return _normalized(-((y - x) ** 2) / s)


def weights(answer) -> CheckResult:
    """Exercise ``ex-2-2-3-weights``: your filter weights alpha_t (Eq. 2.59) for :data:`EX_WEIGHTS`.

    Pass an array of shape (6,), one weight per particle; three significant figures are enough. The
    checker recognizes unnormalized weights, normalized log-likelihoods, the variance and the
    standard deviation confused, and uniform weights.
    """
    x, y, s = EX_WEIGHTS
    expected = _reference_weights()
    lik = stats.norm(loc=x, scale=s).pdf(y)
    log_lik = stats.norm(loc=x, scale=s).logpdf(y)
    hints = {
        "you forgot to normalize (these are the likelihoods themselves)": lik,
        "you normalized the log-likelihoods instead of the likelihoods": log_lik / log_lik.sum(),
        "you used the variance where the standard deviation belongs (the Gaussian's scale is sigma_y)":
            _normalized(-0.5 * (y - x) ** 2 / s**4),
        "you used the standard deviation where the variance belongs: the exponent divides (y - x)^2 by "
        "2 sigma_y^2": _normalized(-0.5 * (y - x) ** 2 / s),
        "you used the standard deviation where the variance belongs (and dropped the 1/2): the exponent "
        "is -(y - x)^2 / (2 sigma_y^2)": _standard_deviation_slip(x, y, s),
        "you returned uniform weights (the time update's Eq. 2.58, before seeing y_t)": np.full(6, 1 / 6),
    }
    return result("particle weights (Eq. 2.59)", compare_array(answer, expected, "alpha_t", rtol=HAND_RTOL,
                                                                  atol=1e-4, hints=hints))


def ess(answer) -> CheckResult:
    """Exercise ``ex-2-2-3-ess``: your effective sample size of the weights of :data:`EX_WEIGHTS`.

    Pass a single number, a count of particles (not divided by I); three significant figures are
    enough. The checker recognizes a few slips in the definition, unnormalized weights, and weights
    passed where log weights belong.
    """
    w = _reference_weights()
    expected = 1.0 / np.sum(w**2)
    as_log = _normalized(w)
    hints = {
        "you passed the weights themselves where log weights belong (resampling.ess takes log weights, "
        "and exponentiates them)": 1.0 / np.sum(as_log**2),
        "you computed sum of squared weights (its reciprocal is the ESS)": np.sum(w**2),
        "you divided the ESS by I (the exercise asks for the ESS itself, a number of particles)": expected / 6,
        "you used unnormalized likelihoods": 1.0 / np.sum(stats.norm(EX_WEIGHTS.x, EX_WEIGHTS.sigma_y)
                                                         .pdf(EX_WEIGHTS.y_t) ** 2),
    }
    problems = compare_scalar(answer, expected, "the ESS", rtol=HAND_RTOL, hints=hints)
    if not problems and not (1.0 <= float(np.asarray(answer, dtype=float)) <= 6.0):
        problems = ["the ESS must lie between 1 and I."]
    return result("effective sample size", problems)


def _reference_backward() -> np.ndarray:
    p = EX_BACKWARD
    I = p.x_prev.shape[0]
    beta_prev = np.zeros(I)
    for k in range(I):                                # explicit Eq. 2.61
        M_k = stats.norm(loc=p.a * p.x_prev, scale=p.sigma_x).pdf(p.x_next[k])   # p(x_t^k | x_{t-1}^j)
        beta_prev += p.beta_next[k] * p.alpha_prev * M_k / np.sum(p.alpha_prev * M_k)
    return beta_prev


def backward_step(answer) -> CheckResult:
    """Exercise ``ex-2-2-3-backward-step``: your smoothing weights beta_{t-1} (Eq. 2.61) for :data:`EX_BACKWARD`.

    Pass an array of shape (4,), one weight per particle of ``x_prev``. The checker recognizes
    left-out filter weights, a single normalization in the wrong place, the filter weights returned
    unchanged, and the transition evaluated backwards.
    """
    p = EX_BACKWARD
    expected = _reference_backward()
    M = stats.norm(loc=p.a * p.x_prev[None, :], scale=p.sigma_x).pdf(p.x_next[:, None])   # M[k, j]
    no_alpha = (p.beta_next[:, None] * M / M.sum(axis=1, keepdims=True)).sum(axis=0)
    joint = p.alpha_prev * (p.beta_next @ M)
    swapped = stats.norm(loc=p.a * p.x_next[None, :], scale=p.sigma_x).pdf(p.x_prev[:, None])
    wrong_dir = (p.beta_next[:, None] * p.alpha_prev * swapped / (swapped * p.alpha_prev).sum(axis=1,
                                                                                               keepdims=True)).sum(0)
    hints = {
        "you left alpha_{t-1} out of Eq. 2.60 (the filter weights are the prior of the inversion)": no_alpha,
        "you normalized once at the end instead of per future particle k (Eq. 2.60's denominator "
        "depends on k)": joint / joint.sum(),
        "you returned alpha_{t-1} unchanged": p.alpha_prev,
        "you evaluated the transition backwards, p(x_{t-1} | x_t)": wrong_dir,
    }
    return result("FFBSm backward step (Eq. 2.61)", compare_array(answer, expected, "beta_{t-1}", rtol=HAND_RTOL,
                                                                    atol=1e-4, hints=hints))


#: The particle counts of exercise ``ex-2-2-3-rate``.
RATE_GRID = (100, 400, 1600)
#: RMS error of the filter means on the page's growth model (its data ``yg``, a run with I = 20,000 and
#: seed 0 as the reference, resampling at every step), at the counts of RATE_GRID, averaged over four sets
#: of eight seeds; the sets spread by about 10% around these levels. The theory gives the slope, not
#: these levels: only a simulation does.
_RATE_RMS = np.array([0.88, 0.45, 0.21])


def convergence_slope(answer) -> CheckResult:
    """Exercise ``ex-2-2-3-rate``: your measured RMS errors of the filter means at I = 100, 400 and 1600
    (:data:`RATE_GRID`), an array of three numbers, from which the checker fits the slope of log(RMS
    error) against log(I).

    The errors must be at the level the growth model gives (which Monte Carlo theory does not predict,
    so only a simulation finds it), and their slope near the theory's. The checker recognizes swapped
    axes, a fit to the squared error, and errors that are not of the filter means' size, without saying
    what the size is.
    """
    name = "convergence rate"
    arr, problems = as_numeric(answer, "your RMS errors")
    if problems:
        return result(name, problems)
    arr = arr.ravel()
    if arr.size == 1:
        return result(name, ["pass the three RMS errors you measured (at I = 100, 400, 1600), not the slope: "
                             "the checker fits the slope itself."])
    if arr.size != len(RATE_GRID) or np.any(arr <= 0):
        return result(name, [f"pass {len(RATE_GRID)} positive RMS errors, one per I in {RATE_GRID}."])
    slope = float(np.polyfit(np.log(RATE_GRID), np.log(arr), 1)[0])
    if slope > 0:
        return result(name, ["your errors grow with I: the error should shrink as I grows (did you swap the axes, "
                             "or reverse the order of the three values?)."])
    if abs(slope + 1.0) < 0.2:
        return result(name, ["the slope of your errors is near -1: did you pass squared errors (variances) "
                             "instead of RMS errors?"])
    if abs(slope + 0.5) > 0.2:
        return result(name, ["the slope of your errors is far from what a Monte Carlo average gives: use at "
                             "least eight seeds per I, and the same reference for every run."])
    ratio = arr / _RATE_RMS
    if np.any(ratio > 1.5) or np.any(ratio < 1 / 1.5):
        return result(name, ["your errors have the right slope but not the size the growth model's filter "
                             "means give: check the reference (one run with I = 20,000), that the error is "
                             "the filter mean's, and that it is the root of the mean square over steps and "
                             "seeds."])
    return result(name, [])

#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-2-2-3-backward-step": {"forbidden": ["pedagogy_lib.recursions.generic.backward_step",
                                             "pedagogy_lib.recursions.generic.particle_backward_matrix",
                                             "pedagogy_lib.smc.particle.ffbsm",
                                             "pedagogy_lib.recursions.generic.backward_smoother",
                                             "pedagogy_lib.recursions.generic.future_conditioning",
                                             "pedagogy_lib.recursions.generic.sequence_conditional"]},
    "ex-2-2-3-rate": {"same_data": "the answer is the result of a long simulation on the page's growth "
                                   "model (three RMS errors), which the checker compares with the levels "
                                   "that model gives and the slope Monte Carlo theory predicts"},
    "ex-2-2-3-weights": {"forbidden": ["pedagogy_lib.mixture.model.gmm_posterior",
                                       "pedagogy_lib.mixture.model.gmm_logits"]},
    "ex-2-2-3-ess": {"forbidden": ["pedagogy_lib.smc.resampling.ess"]},
}
