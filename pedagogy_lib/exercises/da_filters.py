r"""Checkers for the exercises of the notebook "Nonlinear filters" (data assimilation, 2)."""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from . import checker
from .checker import as_numeric, compare_array, compare_scalar, result
from .engine import Exercise, Part, lazy, summative

__all__ = ["UTProblem", "EX_UT", "ForecastProblem", "EX_FORECAST", "CUBE", "sigma_points", "ekf_forecast_cov",
           "linearization_bias", "ukf_cycle", "adf_update"]


class UTProblem(NamedTuple):
    """A Gaussian N(mean, cov) in two dimensions and the unscented parameter kappa (alpha = 1)."""

    mean: np.ndarray
    cov: np.ndarray
    kappa: float


#: Exercise 1: sigma points for n = 2 and kappa = 1.
EX_UT = UTProblem(np.array([1.0, -2.0]), np.array([[2.0, 0.6], [0.6, 1.0]]), 1.0)


class ForecastProblem(NamedTuple):
    """The EKF's time update for one explicit Euler step of Lorenz-63, x -> x + dt f(x): analysis mean x, covariance
    P, model-error covariance Q, step dt."""

    x: np.ndarray
    P: np.ndarray
    Q: np.ndarray
    dt: float


#: Exercise 2: one linearized covariance forecast.
EX_FORECAST = ForecastProblem(np.array([-5.0, -7.0, 20.0]), np.array([[0.5, 0.1, 0.0], [0.1, 0.3, 0.05],
                                                                      [0.0, 0.05, 0.4]]), 0.05 * np.eye(3), 0.02)


#: Exercise 3: a scalar Gaussian x ~ N(m, P) pushed through y = x^3 (the page works out y = x^2).
CUBE = {"m": 1.5, "P": 0.4}


def sigma_points(X, w) -> "result":
    """Exercise 1, ``ex-da-2-sigma``: your ``2n + 1`` sigma points ``X`` (5, 2), one per row, and their mean weights
    ``w`` (5,) for :data:`EX_UT`; any matrix square root and any order. Named: which weights are off, a spread off by
    a constant factor."""
    p = EX_UT
    n = 2
    name = "sigma points and weights"
    X, probs = as_numeric(X, "your sigma points")
    if probs:
        return result(name, probs)
    w, probs = as_numeric(w, "your weights")
    if probs:
        return result(name, probs)
    if X.shape != (2 * n + 1, n):
        return result(name, [f"your sigma points should have shape (2n + 1, n) = (5, 2); got {X.shape}."])
    if w.shape != (2 * n + 1,):
        return result(name, [f"your weights should have shape (5,); got {w.shape}."])
    problems = []
    if abs(w.sum() - 1) > 1e-10:
        problems.append("your weights do not sum to one.")
    centre = np.argmin(np.linalg.norm(X - p.mean, axis=1))
    if np.linalg.norm(X[centre] - p.mean) > 1e-10:
        problems.append("none of your points is the mean itself (the centre point).")
    elif abs(w[centre] - p.kappa / (n + p.kappa)) > 1e-10:
        problems.append("the centre point's weight is off: re-check how lambda enters it.")
    others = np.delete(np.arange(2 * n + 1), centre)
    if np.any(np.abs(w[others] - 0.5 / (n + p.kappa)) > 1e-10):
        problems.append("the weights of the points around the centre are off: re-check them against Step 2 "
                        "and the weights summing to one.")
    if problems:
        return result(name, problems)
    mean = w @ X
    D = X - p.mean
    cov = (D * w[:, None]).T @ D
    if np.abs(mean - p.mean).max() > 1e-9:
        problems.append("the weighted mean of your points is not the Gaussian's mean: the points should come "
                        "in pairs symmetric about the mean.")
    if np.abs(cov - p.cov).max() > 1e-9:
        if np.abs(cov - p.cov / (n + p.kappa)).max() < 1e-9 or np.abs(cov - p.cov * (n + p.kappa)).max() < 1e-9:
            problems.append("the spread of your points is off by a constant factor: re-check which matrix you "
                            "took the square root of.")
        else:
            problems.append("the weighted covariance of your points is not the Gaussian's covariance: re-check "
                            "how the points are placed around the mean (rows or columns of the square root?).")
    return result(name, problems)


def ekf_forecast_cov(answer) -> "result":
    """Exercise 2, ``ex-da-2-ekf-forecast``: your EKF forecast covariance (3, 3) for :data:`EX_FORECAST`. Slips named:
    no Q, the product in the wrong order or once, the field's Jacobian for the step's (identity or dt left out), a
    transposed Jacobian."""
    from .references import da_filters as refs
    p = EX_FORECAST
    J = refs.lorenz63_jacobian(p.x)
    M = np.eye(3) + p.dt * J
    expected = M @ p.P @ M.T + p.Q
    hints = {"you left out the model-error covariance Q": M @ p.P @ M.T,
             "you multiplied in the order M^T P M": M.T @ p.P @ M + p.Q,
             "you multiplied by M only once (M P + Q)": M @ p.P + p.Q,
             "your M is the vector field's Jacobian, not the Euler step's": J @ p.P @ J.T + p.Q,
             "your M leaves out the step dt": (np.eye(3) + J) @ p.P @ (np.eye(3) + J).T + p.Q,
             "your M leaves out the identity (the step keeps x)": p.dt ** 2 * J @ p.P @ J.T + p.Q,
             "your Jacobian has its rows and columns exchanged": (np.eye(3) + p.dt * J.T) @ p.P
             @ (np.eye(3) + p.dt * J) + p.Q}
    return result("EKF forecast covariance", compare_array(answer, expected, "your covariance", rtol=1e-9,
                                                            atol=1e-12, hints=hints))


def linearization_bias(answer) -> "result":
    """Exercise 3, ``ex-da-2-bias``: your E[x^3] - m^3 for x ~ N(m, P) of :data:`CUBE`. Slips named: the mean itself,
    the page's answer for x^2, a factor of 2 either way, no m, the sd for the variance."""
    m, P = CUBE["m"], CUBE["P"]
    arr, problems = as_numeric(answer, "your bias")
    if problems:
        return result("bias of the linearized mean", problems)
    bias = 3 * m * P
    hints = {"you gave E[x^3] itself, not its difference from m^3": m ** 3 + bias,
             "you gave the bias for y = x^2, the page's case, not for x^3": P,
             "your bias is off by a factor of 2": 2 * bias,
             "your bias is off by a factor of 1/2": bias / 2,
             "you left the mean m out of the cross term": 3 * P,
             "you used the standard deviation instead of the variance": 3 * m * np.sqrt(P)}
    return result("bias of the linearized mean", compare_scalar(answer, bias, "your bias", rtol=1e-6, hints=hints))


class _Flow:
    """A flow map for the UKF exercise: ``flow(X)`` maps states in the rows of ``X`` (k, n), or one state (n,), to
    their images after one cycle."""

    def __init__(self, dynamics):
        self.dynamics = dynamics

    def __call__(self, X):
        from ..assimilation import lorenz

        X = np.asarray(X, dtype=float)
        return lorenz.propagate(self.dynamics, np.atleast_2d(X), backend="numpy").reshape(X.shape)


def _ukf_cases():
    """Hidden problems ``(mu, Upsilon, y, flow, Sigma_x, C, c, Sigma_y_x)``: Lorenz-63 over cycles of two lengths,
    Lorenz-96 with five and six variables, observations of every variable, of some and of one, offsets that are not
    zero, and a scalar linear model (n = m = 1), on which the UKF is the Kalman filter."""
    from ..assimilation import lorenz

    r = checker.problem_rng(6303)

    def spd(n, scale):
        A = r.normal(size=(n, n))
        return scale * (A @ A.T / n + 0.3 * np.eye(n))

    x63 = lorenz.integrate(lorenz.lorenz63(dt=0.01, n_steps=10), r.uniform([-10, -10, 15], [10, 10, 35]), 60,
                           backend="numpy")[-1]
    x96 = [lorenz.integrate(lorenz.lorenz96(n, dt=0.05, n_steps=2), 8.0 + r.normal(size=n), 100, backend="numpy")[-1]
           for n in (5, 6)]
    setups = [(lorenz.lorenz63(dt=0.01, n_steps=10), x63, np.eye(3)),
              (lorenz.lorenz63(dt=0.01, n_steps=25), x63, np.eye(3)[[0, 2]]),
              (lorenz.lorenz96(5, dt=0.05, n_steps=2), x96[0], r.normal(size=(3, 5))),
              (lorenz.linear_dynamics(np.array([[0.9]]), np.array([0.4])), np.array([1.3]), np.array([[2.0]])),
              (lorenz.lorenz96(6, dt=0.05, n_steps=2), x96[1], np.eye(6)[[4]])]
    cases = []
    for dyn, x, C in setups:
        n, m = C.shape[1], C.shape[0]
        Upsilon, Sigma_x, Sigma_y_x = spd(n, 0.5), spd(n, 0.05), spd(m, 0.4)
        mu = x + np.linalg.cholesky(Upsilon) @ r.normal(size=n)
        c = r.normal(size=m)
        flow = _Flow(dyn)
        y = C @ flow(x + np.linalg.cholesky(Upsilon) @ r.normal(size=n)) + c + r.normal(size=m)
        cases.append((mu, Upsilon, y, flow, Sigma_x, C, c, Sigma_y_x))
    return cases


def ukf_cycle(fn) -> "result":
    """``ex-da-2-ukf-cycle``: your function ``fn(mu, Upsilon, y, flow, Sigma_x, C, c, Sigma_y_x)`` returning the pair
    ``(mu_filt, Upsilon_filt)`` after one UKF cycle: the unscented forecast (alpha = 1, kappa = 1, Cholesky sigma
    points, the same weights for mean and covariance) plus ``Sigma_x``, then the Kalman measurement update with
    a linear observation with offset c. Slips named: no Sigma_x, the EKF's forecast mean, sigma points along the rows of L,
    beta = 2 weights (and another square root than Cholesky's)."""
    from .references import da_filters as refs
    def judge(out, where, *args):
        problems = checker.tuple_problems(out, 2, "the pair (mu_filt, Upsilon_filt)", where)
        if problems:
            return problems
        mu_ref, U_ref = refs.ukf_reference(*args)
        hints_mu, hints_U = refs.ukf_slips(*args)
        return (compare_array(out[0], mu_ref, f"mu_filt on {where}", rtol=1e-8, atol=1e-10, hints=hints_mu)
                or compare_array(out[1], U_ref, f"Upsilon_filt on {where}", rtol=1e-8, atol=1e-10, hints=hints_U))

    cases = [(f"test problem {i + 1} (n = {len(args[0])}, {len(args[2])} observed "
              f"value{'s' if len(args[2]) > 1 else ''})", args) for i, args in enumerate(_ukf_cases())]
    return checker.check_function("one cycle of the unscented Kalman filter", fn, cases, judge, name="my_ukf_cycle",
                                  signature="(mu, Upsilon, y, flow, Sigma_x, C, c, Sigma_y_x)")


def _adf_cases():
    """Hidden problems (where, (m, v, y, h, Sigma_y_x)), drawn for each student: first the page's growth model's
    observation with a forecast across zero (a posterior with two modes, where every slip shows), then a linear
    observation (the Kalman update), a cubic, and a saturating observation far out in the forecast's tail."""
    r = checker.problem_rng(6304)
    c2, d1, c1 = r.uniform(0.04, 0.06), r.uniform(-1.0, 1.0), r.uniform(0.5, 2.0)
    c3, a4, k4 = r.uniform(0.1, 0.3), r.uniform(2.0, 4.0), r.uniform(0.3, 0.8)

    def square(x):
        return c2 * x ** 2

    def linear(x):
        return c1 * x + d1

    def cubic(x):
        return c3 * x ** 3 - x

    def saturating(x):
        return a4 * np.tanh(k4 * x)

    m1 = r.uniform(1.0, 3.0)                    # a forecast leaning right, over states that square to about y
    m3, m4 = r.normal(0.0, 0.5), r.normal(0.0, 0.5)
    problems = [
        ("a squared observation, forecast across zero", (m1, r.uniform(12.0, 25.0), r.uniform(3.0, 5.0), square,
                                                         r.uniform(0.5, 1.5))),
        ("a linear observation", (r.normal(0.0, 2.0), r.uniform(0.5, 4.0), r.normal(0.0, 3.0), linear,
                                  r.uniform(0.3, 2.0))),
        ("a cubic observation", (m3, r.uniform(0.5, 2.0), cubic(m3 + r.normal()), cubic, r.uniform(0.2, 1.0))),
        ("a saturating observation, y in the forecast's tail", (m4, r.uniform(0.3, 1.0), 0.95 * a4, saturating,
                                                                r.uniform(0.05, 0.2))),
    ]
    return [(f"test problem {i + 1} ({what})", tuple(float(a) if not callable(a) else a for a in args))
            for i, (what, args) in enumerate(problems)]


#: A slip of the ADF update: the reference with a switch (``slip=``), computed in references/
#: when a checker runs.
_adf_variant = functools.partial(lazy, "da_filters:adf_update", star=True)

_ADF_SLIPS = {
    "prior": "you returned the forecast's moments, not the posterior's: weight each state by the likelihood of y",
    "no Z": "you did not divide by the normalizer p(y), the integral of N(x; m, v) N(y; h(x), Sigma_y_x) over x",
    "ekf": "you linearized h at the forecast mean and took the Kalman update, the EKF's; the ADF keeps h as it is "
           "and matches the exact posterior's moments",
    "sd": "you used Sigma_y_x as the observation noise's standard deviation; it is its variance",
}

_ADF = Exercise(
    label="ex-da-2-adf-update", name="adf_update", title="the ADF's measurement update",
    reference="da_filters:adf_update", function="my_adf_update", signature="(m, v, y, h, Sigma_y_x)",
    cases=_adf_cases,
    parts=(Part("mean", "the mean on {where}", kind="scalar", rtol=1e-6, atol=1e-6,
                slips={message: _adf_variant(slip=key, item=0) for key, message in _ADF_SLIPS.items()}),
           Part("variance", "the variance on {where}", kind="scalar", rtol=1e-6, atol=1e-9,
                slips={**{message: _adf_variant(slip=key, item=1) for key, message in _ADF_SLIPS.items()},
                       "you gave the posterior's second moment about zero, E[x^2 | y], not its variance":
                           _adf_variant(slip="raw", item=1)})),
    doc=r"""``ex-da-2-adf-update``: your function ``fn(m, v, y, h, Sigma_y_x)`` returning the pair ``(mean, variance)`` of
    the posterior N(x; m, v) N(y; h(x), Sigma_y_x) / p(y) of a scalar state, the ADF's measurement update, to a
    relative accuracy of 1e-6. Hidden problems drawn for each student: a bimodal posterior, a linear, a cubic and a
    saturating observation. Slips named: the forecast's moments, no normalizer, the EKF's update, Sigma_y_x as a
    standard deviation, the second moment about zero.""")

adf_update = _ADF.checker(globals())


def _spd(rng, scale):
    A = rng.normal(size=(2, 2))
    return (scale * (A @ A.T + 0.5 * np.eye(2))).round(3)


def _graded_ut(rng) -> dict:
    return {"EX_UT": UTProblem(rng.normal(0.0, 2.0, size=2).round(2), _spd(rng, 1.0), 1.0)}


def _graded_forecast(rng) -> dict:
    A = rng.normal(size=(3, 3))
    P = (0.3 * (A @ A.T + 0.5 * np.eye(3))).round(3)
    x = np.array([rng.uniform(-10, 10), rng.uniform(-10, 10), rng.uniform(10, 35)]).round(1)
    return {"EX_FORECAST": ForecastProblem(x, P, round(float(rng.uniform(0.01, 0.1)), 3) * np.eye(3),
                                           float(rng.choice([0.01, 0.02, 0.05])))}


def _graded_cube(rng) -> dict:
    m = float(rng.choice([-1.0, 1.0])) * round(float(rng.uniform(0.5, 3.0)), 2)
    return {"CUBE": {"m": m, "P": round(float(rng.uniform(0.1, 2.0)), 2)}}


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-da-2-sigma": {"variant": _graded_ut},
    "ex-da-2-ekf-forecast": {"variant": _graded_forecast},
    "ex-da-2-bias": {"variant": _graded_cube},
    "ex-da-2-ukf-cycle": {"same_data": checker.FUNCTION_ANSWER},
    **summative(_ADF),
}
