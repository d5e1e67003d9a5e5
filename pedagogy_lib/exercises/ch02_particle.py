r"""Checkers for the exercises of notebook 2.2.3 (particle filter and smoother, Eqs. 2.56-2.61)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats
from scipy.special import softmax as _normalized

from .checker import (FUNCTION_ANSWER, HAND_RTOL, CheckResult, as_numeric, book_or_drawn, check_function, compare_array,
                      compare_scalar, problem_rng, result, tuple_problems)

__all__ = ["WeightsProblem", "BackwardStepProblem", "EX_WEIGHTS", "EX_BACKWARD", "weights", "ess", "backward_step",
           "convergence_slope", "RATE_GRID", "RATE_SEEDS", "RATE_REFERENCE", "bootstrap_filter_function"]


class WeightsProblem(NamedTuple):
    """Six particles ``x``, each moved from its ancestor ``x_prev`` by a draw from the proposal N(y_t, sigma_q^2), not
    the transition N(a x_{t-1}, sigma_x^2); the emission is N(x_t, sigma_y^2) (the sigmas are standard deviations)."""

    x_prev: np.ndarray
    x: np.ndarray
    y_t: float
    a: float
    sigma_x: float
    sigma_y: float
    sigma_q: float


class BackwardStepProblem(NamedTuple):
    """One FFBSm step: particles ``x_prev`` with filter weights ``alpha_prev``, particles ``x_next`` with smoothing
    weights ``beta_next``, and the Gaussian transition (``a``, sd ``sigma_x``)."""

    x_prev: np.ndarray
    alpha_prev: np.ndarray
    x_next: np.ndarray
    beta_next: np.ndarray
    a: float
    sigma_x: float


def _draw_weights(rng):
    """A problem like EX_WEIGHTS, no weight dominant, every named slip clearly off."""
    from .references import ch02_particle as refs
    while True:
        x_prev = np.sort(np.round(rng.normal(0.0, 0.8, size=6), 1)) + 0.0
        y_t = round(float(rng.uniform(-0.5, 0.5)), 1) + 0.0
        sigma_q = round(float(rng.uniform(0.25, 0.5)), 2)
        prob = WeightsProblem(x_prev=x_prev, x=np.round(y_t + sigma_q * rng.standard_normal(6), 2) + 0.0, y_t=y_t,
                              a=round(float(rng.uniform(0.5, 1.2)), 1), sigma_x=round(float(rng.uniform(0.4, 0.7)), 1),
                              sigma_y=round(float(rng.uniform(0.2, 0.6)), 1), sigma_q=sigma_q)
        w = refs.weights_of(prob)
        if abs(prob.sigma_y - prob.sigma_q) > 0.1 and w.max() < 0.6 and \
                all(np.abs(v - w).max() > 0.05 for v in refs.weight_slips(prob).values()):
            return prob


#: Exercise ``ex-2-2-3-weights``: six ancestors, particles drawn around the observation y_t = 0.5.
EX_WEIGHTS = book_or_drawn(WeightsProblem(x_prev=np.array([-1.0, -0.4, 0.0, 0.3, 0.8, 1.5]),
                                          x=np.array([0.6, 0.75, 0.6, 0.11, 0.77, 0.63]), y_t=0.5, a=0.9,
                                          sigma_x=0.5, sigma_y=0.3, sigma_q=0.4),
                           _draw_weights, seed=2231)


def _draw_backward(rng):
    """A step like EX_BACKWARD: four distinct sorted particles per time, a in [0.5, 0.9]."""
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
    x_prev=np.array([-0.8, 0.0, 0.5, 1.1]), alpha_prev=np.array([0.1, 0.4, 0.3, 0.2]),
    x_next=np.array([-0.5, 0.2, 0.6, 1.4]), beta_next=np.array([0.15, 0.35, 0.35, 0.15]), a=0.9, sigma_x=0.5,
), _draw_backward, seed=2232)


def weights(answer) -> CheckResult:
    """Exercise ``ex-2-2-3-weights``: your filter weights alpha_t (6,) for :data:`EX_WEIGHTS`, to three significant
    figures. Slips named: the bootstrap weights, a density left out or multiplied, unnormalized weights, the sd for
    the variance, uniform weights."""
    from .references import ch02_particle as refs
    return result("particle weights with a proposal", compare_array(answer, refs.weights_of(EX_WEIGHTS), "alpha_t",
                                                                    rtol=HAND_RTOL, atol=1e-4,
                                                                    hints=refs.weight_slips(EX_WEIGHTS)))


def ess(answer) -> CheckResult:
    """Exercise ``ex-2-2-3-ess``: your effective sample size of the weights of :data:`EX_WEIGHTS`, a count of
    particles, to three significant figures. Slips named: the bootstrap weights' ESS, slips in the definition,
    unnormalized weights, weights passed as log weights."""
    from .references import ch02_particle as refs
    w = refs.weights_of(EX_WEIGHTS)
    expected = 1.0 / np.sum(w**2)
    as_log = _normalized(w)
    lik, trans, prop = refs.weight_parts(EX_WEIGHTS)
    boot = lik / lik.sum()
    raw = lik * trans / prop
    hints = {
        "you computed the ESS of the bootstrap filter's weights (the likelihood alone)": 1.0 / np.sum(boot**2),
        "you passed the weights themselves where log weights belong (resampling.ess takes log weights, "
        "and exponentiates them)": 1.0 / np.sum(as_log**2),
        "you computed sum of squared weights (its reciprocal is the ESS)": np.sum(w**2),
        "you divided the ESS by I (the exercise asks for the ESS itself, a number of particles)": expected / 6,
        "you used unnormalized weights": 1.0 / np.sum(raw**2),
    }
    problems = compare_scalar(answer, expected, "the ESS", rtol=HAND_RTOL, hints=hints)
    if not problems and not (1.0 <= float(np.asarray(answer, dtype=float)) <= 6.0):
        problems = ["the ESS must lie between 1 and I."]
    return result("effective sample size", problems)


def backward_step(beta_prev, cross) -> CheckResult:
    """Exercise ``ex-2-2-3-backward-step``: your beta_{t-1} (4,) of Eq. 2.61 for :data:`EX_BACKWARD` and your estimate
    of E[x_{t-1} x_t | y_{1:T}]. Slips named: no filter weights, a misplaced normalization, alpha unchanged, the
    transition backwards, the product of means, the wrong weights."""
    from .references import ch02_particle as refs
    p = EX_BACKWARD
    expected, cross_ref = refs.reference_backward(EX_BACKWARD)
    M = stats.norm(loc=p.a * p.x_prev[None, :], scale=p.sigma_x).pdf(p.x_next[:, None])   # M[k, j]
    no_alpha_pairs = p.beta_next[:, None] * M / M.sum(axis=1, keepdims=True)
    no_alpha = no_alpha_pairs.sum(axis=0)
    joint_pairs = p.beta_next[:, None] * M * p.alpha_prev[None, :]
    joint = joint_pairs.sum(axis=0)
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
    cond = p.alpha_prev[None, :] * M / (M @ p.alpha_prev)[:, None]                      # Eq. 2.60, row k
    uniform_next = np.full_like(p.beta_next, 1.0 / p.beta_next.size)
    cross_hints = {
        "you multiplied the two smoothed means; x_{t-1} and x_t are not independent given the data":
            float(expected @ p.x_prev) * float(p.beta_next @ p.x_next),
        "you normalized the products over all pairs at once instead of per future particle k":
            float(p.x_next @ (joint_pairs / joint_pairs.sum()) @ p.x_prev),
        "you left alpha_{t-1} out of the pairs' weights": float(p.x_next @ no_alpha_pairs @ p.x_prev),
        "you weighted the future particles equally instead of by beta_t":
            float(p.x_next @ (uniform_next[:, None] * cond) @ p.x_prev),
    }
    problems = compare_array(beta_prev, expected, "beta_{t-1}", rtol=HAND_RTOL, atol=1e-4, hints=hints)
    problems += compare_scalar(cross, cross_ref, "the cross moment", rtol=HAND_RTOL, atol=1e-4, hints=cross_hints)
    return result("FFBSm backward step (Eq. 2.61) and the cross moment", problems)


#: The particle counts of exercise ``ex-2-2-3-rate``.
RATE_GRID = (100, 400, 1600)
#: The seeds of the runs at each particle count (one generator per run, seeded as the statement says).
RATE_SEEDS = tuple(range(1, 9))
#: The reference run: (number of particles, seed).
RATE_REFERENCE = (20_000, 0)
#: How far (relative) an error may be from its rerun, and how many of the eight runs at each I may miss: 2% is a tenth
#: of the run-to-run spread, while a run that resampled differently on another machine is allowed once per I.
_RATE_RTOL = 0.02
_RATE_MISSES = 1


def _agrees(errors: np.ndarray, candidate: np.ndarray) -> bool:
    close = np.abs(errors / candidate - 1.0) <= _RATE_RTOL
    return bool(np.all(close.sum(axis=1) >= close.shape[1] - _RATE_MISSES))


def _aggregate_slope(errors: np.ndarray) -> float:
    return float(np.polyfit(np.log(RATE_GRID), np.log(np.sqrt(np.mean(errors**2, axis=1))), 1)[0])


def convergence_slope(errors, slope) -> CheckResult:
    """Exercise ``ex-2-2-3-rate``: your RMS errors (3, 8) of the filter means (rows :data:`RATE_GRID`, columns
    :data:`RATE_SEEDS`), compared run by run with a rerun, and your fitted slope. Slips named: reversed rows, squares,
    true states, mean absolute errors, the theory's slope, a sign, swapped axes."""
    from .references import ch02_particle as refs
    name = "convergence rate"
    shape = (len(RATE_GRID), len(RATE_SEEDS))
    arr, problems = as_numeric(errors, "your RMS errors")
    if problems:
        return result(name, problems)
    if arr.size == len(RATE_GRID):
        return result(name, [f"pass one RMS error per run, an array of shape {shape} (a row per I, a column per "
                             "seed), not the three errors aggregated over the seeds."])
    if arr.shape == shape[::-1]:
        return result(name, [f"your array has shape {arr.shape}: put a row per I and a column per seed, shape "
                             f"{shape}."])
    if arr.shape != shape or np.any(arr <= 0):
        return result(name, [f"pass {shape[0] * shape[1]} positive RMS errors as an array of shape {shape}."])
    ref, x_true, runs = refs.rate_runs(RATE_GRID, RATE_SEEDS, RATE_REFERENCE)
    expected = np.sqrt(np.mean((runs - ref) ** 2, axis=2))
    if not _agrees(arr, expected):
        slips = {
            "your rows are in the reverse order: the first row is I = 100": expected[::-1],
            "you passed squared errors (mean squares) instead of their roots": expected**2,
            "you measured the distance to the true states; the error is the distance to the reference "
            "filter means (one run with I = 20,000 and seed 0)": np.sqrt(np.mean((runs - x_true) ** 2, axis=2)),
            "you averaged the absolute errors over the steps; take the root of the mean square":
                np.mean(np.abs(runs - ref), axis=2),
        }
        for text, wrong in slips.items():
            if _agrees(arr, wrong):
                return result(name, [text + "."])
        return result(name, ["your errors are not those of the statement's runs: check the seeds (a generator "
                             "np.random.default_rng(seed) for each run), the reference, that the filter "
                             "resamples at every step with its default scheme, and that each entry is the root "
                             "of the mean square over the 40 steps of one run."])
    measured = _aggregate_slope(arr)
    hints = {"you gave the slope Monte Carlo theory predicts; the exercise asks for the one you measured": -0.5,
             "your slope has the wrong sign: the errors fall as I grows": -measured,
             "you fitted log(I) against log(error) (the axes swapped)": 1.0 / measured,
             "you fitted the squared errors (twice the slope of the RMS errors)": 2.0 * measured}
    if abs(measured + 0.5) <= 0.02:
        del hints["you gave the slope Monte Carlo theory predicts; the exercise asks for the one you measured"]
    problems = compare_scalar(slope, measured, "your slope", rtol=0.0, atol=0.02, hints=hints)
    return result(name, problems)


def _bootstrap_cases():
    """Hidden problems: linear-Gaussian models with offsets and correlated noises, their data, the draws of one run,
    and the library's filter on the same draws (multinomial resampling at every step)."""
    from ..lgssm.model import LGSSMParams, sample_lgssm
    from ..smc import particle

    r = problem_rng(2233)
    cases = []
    for n, m, I, T in [(4, 2, 200, 12), (1, 1, 60, 15), (3, 2, 150, 8), (2, 3, 1, 6), (2, 1, 40, 1)]:
        Q, _ = np.linalg.qr(r.normal(size=(n, n)))
        A = Q @ np.diag(r.uniform(0.6, 0.98, size=n)) @ Q.T + 0.2 * np.triu(r.normal(size=(n, n)), 1)
        Lx = 0.3 * r.normal(size=(n, n))
        L1 = 0.5 * r.normal(size=(n, n))
        Ly = 0.4 * r.normal(size=(m, m))
        params = LGSSMParams(mu1=r.normal(size=n), Sigma1=L1 @ L1.T + 0.3 * np.eye(n), A=A, B=None,
                             a=r.uniform(0.2, 0.8, size=n) * r.choice([-1.0, 1.0], size=n),
                             Sigma_x=Lx @ Lx.T + 0.05 * np.eye(n), C=r.normal(size=(m, n)), c=r.normal(size=m),
                             Sigma_y_x=Ly @ Ly.T + 0.4 * np.eye(m))
        _, y = sample_lgssm(params, T, rng=r)
        seed = int(r.integers(2**31))
        run = particle.particle_filter(params, y, np.random.default_rng(seed), I, scheme="multinomial",
                                       backend="numpy")
        draws = np.random.default_rng(seed)            # the same numbers, in the order the library draws them
        eps = draws.standard_normal((T, I, n))
        u = np.sort(draws.random((T, I)), axis=1)[1:]   # row 0 of the library's uniforms is never used
        cases.append(((params, y, eps, u), (run.x, run.log_alpha, run.log_evidence)))
    return cases


def bootstrap_filter_function(fn) -> CheckResult:
    """Exercise ``ex-2-2-3-bootstrap-function``: your function ``fn(params, y, eps, u)`` returning ``(x, log_alpha,
    log_evidence)`` of the bootstrap filter run on the given draws, compared with the library's filter on the same
    draws. Slips named: no resampling, the transposed Cholesky factor, unnormalized log weights, the evidence
    without 1/I."""
    from .references import ch02_particle as refs
    def judge(out, where, params, y, eps, u, ref):
        problems = tuple_problems(out, 3, "the triple (x, log_alpha, log_evidence)", where)
        if problems:
            return problems
        hx, ha, he = refs.bootstrap_slips(params, y, eps, u)
        return (compare_array(out[0], ref[0], f"x on {where}", rtol=1e-7, atol=1e-9, hints=hx)
                + compare_array(out[1], ref[1], f"log_alpha on {where}", rtol=1e-7, atol=1e-9, hints=ha)
                + compare_scalar(out[2], ref[2], f"log_evidence on {where}", rtol=1e-7, atol=1e-9, hints=he))

    cases = [(f"test problem {i + 1} (T = {args[2].shape[0]}, I = {args[2].shape[1]}, n = {args[2].shape[2]}, "
              f"m = {args[1].shape[1]})", args, ref) for i, (args, ref) in enumerate(_bootstrap_cases())]
    return check_function("bootstrap particle filter (Eqs. 2.56-2.59, 2.40)", fn, cases, judge,
                          name="my_bootstrap_filter", signature="(params, y, eps, u)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-2-2-3-rate": {"same_data": "the answer is a simulation at the counts and seeds the statement fixes"},
    "ex-2-2-3-bootstrap-function": {"same_data": FUNCTION_ANSWER},
}
