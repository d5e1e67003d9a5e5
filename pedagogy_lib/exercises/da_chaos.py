r"""Checkers for the exercises of the notebook "Chaos and predictability" (data assimilation, 1)."""
from __future__ import annotations

import numpy as np

from . import checker
from .checker import as_numeric, compare_function, compare_scalar, result

__all__ = ["EX_STATES", "GROWTH", "CYCLE", "MIN_TIME", "lorenz63_field", "predictability_time", "tangent_linear_cycle",
           "lyapunov_exponents"]

#: Exercise 1: states at which the vector field is tested (rows).
EX_STATES = np.array([[1.0, 2.0, 3.0], [-5.5, 0.3, 24.0], [8.0, 8.0, 27.0], [0.0, 0.0, 0.0]])

#: Exercise 2: the leading exponent, the initial error, the model's error rate, the useless error size.
GROWTH = {"lam": 1.7, "delta0": 1e-4, "q": 3e-4, "delta_max": 1.0}


def lorenz63_field(fn) -> "result":
    """Exercise 1, ``ex-da-1-field``: your function ``fn(x)`` returning the Lorenz-63 vector field (3,) at a state
    ``x`` (3,), run on every row of :data:`EX_STATES`."""
    from .references import da_chaos as refs
    cases = [((x.copy(),), refs.field(x)) for x in EX_STATES]
    return result("the Lorenz-63 vector field", compare_function(
        fn, cases, "your f", rtol=1e-10, atol=1e-10, describe=lambda a: f"x = {np.round(a[0], 2).tolist()}"))


def predictability_time(answer) -> "result":
    """Exercise 2, ``ex-da-1-predictability``: your time for an error ``delta0``, growing at rate ``lam`` in a model
    adding error at rate ``q``, to reach ``delta_max`` (:data:`GROWTH`). Slips named: the perfect model's time, two
    slips with the model's error, no delta0, a base-10 log, slips with the rate."""
    g = GROWTH
    lam, d0, q, dmax = g["lam"], g["delta0"], g["q"], g["delta_max"]
    b = q / lam
    expected = np.log((dmax + b) / (d0 + b)) / lam
    hints = {"that is the time for a perfect model; here the model adds error of its own":
             np.log(dmax / d0) / lam,
             "you added the model's error rate q to the errors as it is; compare the units of q and of an "
             "error": np.log((dmax + q) / (d0 + q)) / lam,
             "your time does not depend on the initial error delta0": np.log(1.0 + dmax / b) / lam,
             "you took a base-10 logarithm; exponential growth needs the natural logarithm":
             np.log10((dmax + b) / (d0 + b)) / lam,
             "you multiplied by the exponent instead of dividing by it": np.log((dmax + b) / (d0 + b)) * lam,
             "you left out the exponent": np.log((dmax + b) / (d0 + b)) * 1.0}
    # a tolerance this tight leaves out the crude integrations the statement rules out
    return result("predictability time with model error",
                  compare_scalar(answer, expected, "your time", rtol=1e-10, hints=hints))


def _tlm_cases():
    """Hidden problems ``(x, dx, dt, n_steps)``: states on and off the attractor, steps of three sizes, cycles of
    one to 25 steps, the fixed point at the origin, and two perturbations of length 1e-8 and 1e4. The tangent-linear
    model is exactly linear in ``dx``; a difference quotient of the cycle with a fixed step is not (at 1e-8 rounding
    swamps it, at 1e4 the cycle's curvature does), so those two cases tell a derivative from a difference."""
    from .references import da_chaos as refs
    r = checker.problem_rng(6302)
    x_att = refs.rk4_cycle(r.uniform([-10, -10, 15], [10, 10, 35]), 0.01, 800)     # eight time units of spin-up
    cases = []
    for x, dt, n_steps in [(x_att, 0.01, 10), (r.uniform([-15, -20, 0], [15, 20, 45]), 0.005, 4),
                           (refs.rk4_cycle(x_att, 0.01, 137), 0.02, 1),
                           (r.uniform([-15, -20, 0], [15, 20, 45]), 0.01, 25), (np.zeros(3), 0.01, 3)]:
        cases.append((x, r.normal(size=3), dt, n_steps))
    for size in (1e-8, 1e4):
        dx = r.normal(size=3)
        cases.append((x_att, size * dx / np.linalg.norm(dx), 0.01, 10))
    return cases


def tangent_linear_cycle(fn) -> "result":
    """``ex-da-1-tlm``: your function ``fn(x, dx, dt, n_steps)`` returning the pair ``(x_next, dx_next)``: ``n_steps``
    RK4 steps of Lorenz-63 from ``x`` (3,) and the tangent-linear model of those steps applied to ``dx`` (3,).
    Slips named: the Jacobian at the start of each step for every stage, the base state left at x, a transposed
    Jacobian, stages that leave out the previous stage's perturbation. Among the cases are perturbations of length
    1e-8 and 1e4, which a difference quotient of the cycle does not pass (:func:`_tlm_cases`)."""
    from .references import da_chaos as refs
    from ..assimilation import lorenz as _lorenz

    def judge(out, where, x, dx, dt, n_steps):
        problems = checker.tuple_problems(out, 2, "the pair (x_next, dx_next)", where)
        if problems:
            return problems
        x_ref, d_ref = _lorenz.tangent_linear(_lorenz.lorenz63(dt=dt, n_steps=n_steps), x, dx, backend="numpy")
        hints_x = {"you returned the perturbation where the state goes: the pair is (x_next, dx_next)": d_ref}
        hints_d = {
            "you evaluated the Jacobian at the start of each step for all four stages; stage i needs it at the point "
            "where k_i is evaluated": refs.tlm_variant(x, dx, dt, n_steps, at_stages=False)[1],
            "you linearized every step about x itself: the state the perturbation rides on must advance with it, "
            "step by step": refs.tlm_variant(x, dx, dt, n_steps, advance=False)[1],
            "your Jacobian has its rows and columns exchanged (that is the adjoint's matrix)":
                refs.tlm_variant(x, dx, dt, n_steps, transposed=True)[1],
            "your stages apply the Jacobian to dx alone: stage i perturbs the point x + c dt k_{i-1}, so its "
            "perturbation is dx + c dt dk_{i-1}": refs.tlm_variant(x, dx, dt, n_steps, chained=False)[1],
        }
        size = float(np.linalg.norm(dx))         # the floor scales with dx: M dx is linear in it
        problems = checker.compare_array(out[0], x_ref, f"x_next on {where}", rtol=1e-9, atol=1e-10, hints=hints_x)
        if problems:
            return problems
        problems = checker.compare_array(out[1], d_ref, f"dx_next on {where}", rtol=1e-8,
                                         atol=1e-10 * min(1.0, size), hints=hints_d)
        if problems and not 1e-3 < size < 1e3:   # the cases before it, of length about 1, passed
            problems.append("the tangent-linear model is exactly linear in dx, at any length; a difference "
                            "quotient of the cycle is not: differentiate each stage, as in Step 3.")
        return problems

    def label(i, dx, dt, n):
        size = float(np.linalg.norm(dx))
        odd = "" if 1e-3 < size < 1e3 else f", a perturbation of length {size:.0e}"
        return f"test problem {i + 1} ({n} RK4 step{'s' if n > 1 else ''} of dt = {dt:g}{odd})"

    cases = [(label(i, dx, dt, n), (x, dx, dt, n)) for i, (x, dx, dt, n) in enumerate(_tlm_cases())]
    return checker.check_function("tangent-linear model of an RK4 cycle", fn, cases, judge, name="my_tlm",
                                  signature="(x, dx, dt, n_steps)")


#: Exercise 4 (ex-da-1-lyapunov): cycles of this many time units (dt = 0.01, 10 RK4 steps), at least this many in all.
CYCLE, MIN_TIME = 0.1, 300.0


_ATTRACTOR: list = []


def _attractor_cloud() -> np.ndarray:
    """Points on the Lorenz-63 attractor: 400 trajectories after 20 time units, every step."""
    from .references import da_chaos as refs
    if not _ATTRACTOR:
        x = np.random.default_rng(63).uniform([-15, -20, 5], [15, 20, 40], size=(400, 3))
        for _ in range(200):
            x = refs.rk4_cycle(x)
        cloud = []
        for _ in range(400):
            x = refs.rk4_cycle(x, n_steps=1)
            cloud.append(x)
        _ATTRACTOR.append(np.concatenate(cloud))
    return _ATTRACTOR[0]


def lyapunov_exponents(answer, states=None, frames=None) -> "result":
    """Exercise 4, ``ex-da-1-lyapunov``: your two leading Lyapunov exponents of Lorenz-63 (per unit time, the larger
    first), with the run they came from: ``states`` (K + 1, 3) at the start of every cycle (at least 300 time units,
    starting on the attractor) and ``frames`` (K + 1, 3, 2), the orthonormal pair of perturbations at each start. Each
    pair is pushed through the cycle's Jacobian and checked against the next, and the exponents against this very run.
    """
    from .references import da_chaos as refs
    name = "two leading Lyapunov exponents"
    arr, problems = as_numeric(answer, "your exponents")
    if problems:
        return result(name, problems)
    if arr.size != 2:
        return result(name, [f"pass the two exponents, the larger first, as two numbers; got shape {arr.shape}."])
    X, problems = as_numeric(states, "your states")
    if problems:
        return result(name, problems + ["pass the states and frames of your run too: "
                                        "check.lyapunov_exponents(my_lambdas, my_states, my_frames)."])
    if X.ndim != 2 or X.shape[1] != 3 or X.shape[0] < 2:
        return result(name, [f"your states should have shape (K + 1, 3), one row per cycle; got {X.shape}."])
    K = X.shape[0] - 1
    if not np.allclose(refs.rk4_cycle(X[:-1]), X[1:], rtol=1e-6, atol=1e-6):
        return result(name, ["consecutive rows of your states are not one cycle of Lorenz-63 apart "
                             "(da.lorenz63(dt=0.01, n_steps=10)): pass the state at the start of every cycle."])
    if K * CYCLE < MIN_TIME - 1e-9:
        return result(name, [f"your run lasts {K * CYCLE:g} time units; the exercise asks for at least "
                             f"{MIN_TIME:g}: a short run leaves the average at the mercy of where it started."])
    if np.sqrt(((_attractor_cloud() - X[0]) ** 2).sum(axis=1)).min() > 0.7:      # on-attractor points: < 0.5
        return result(name, ["your run does not start on the attractor: integrate for a while first "
                             "(a spin-up of a few tens of time units) and start from where that ends."])
    Q, problems = as_numeric(frames, "your frames")
    if problems:
        return result(name, problems + ["pass the pair of perturbations at the start of every cycle: "
                                        "check.lyapunov_exponents(my_lambdas, my_states, my_frames)."])
    if Q.shape != (K + 1, 3, 2):
        return result(name, [f"your frames should have shape {(K + 1, 3, 2)}, the pair as the two columns of "
                             f"each (3, 2) array; got {Q.shape}."])
    gram = np.einsum("kia,kib->kab", Q, Q)
    if not np.allclose(gram, np.eye(2), atol=1e-8):
        return result(name, ["the two columns of each of your frames should be orthonormal (each of length one, "
                             "at right angles): re-orthonormalize the pair after every cycle."])
    W = np.einsum("kij,kja->kia", refs.cycle_jacobians(X[:-1]), Q[:-1])
    r11 = np.linalg.norm(W[:, :, 0], axis=1)
    q1 = W[:, :, 0] / r11[:, None]
    u = W[:, :, 1] - np.sum(W[:, :, 1] * q1, axis=1)[:, None] * q1
    r22 = np.linalg.norm(u, axis=1)
    q2 = u / r22[:, None]
    same = (np.abs(np.sum(q1 * Q[1:, :, 0], axis=1)) > 1 - 1e-8) & (np.abs(np.sum(q2 * Q[1:, :, 1], axis=1))
                                                                    > 1 - 1e-8)
    if not np.all(same):
        return result(name, ["your frames are not the tangent-linear model's images of each other: each pair "
                             "should be the previous pair pushed through one cycle at the previous state and "
                             "re-orthonormalized, its first column first."])
    run = np.array([np.mean(np.log(r11)), np.mean(np.log(r22))]) / CYCLE
    lam = arr.ravel()
    tol = 1e-5 * abs(run[0])

    def near(v):
        return bool(np.all(np.abs(lam - np.asarray(v, float)) <= tol))

    if near(run):
        return result(name, [])
    full = np.mean(np.log(np.linalg.norm(W[:, :, 1], axis=1))) / CYCLE
    if near(run * 0.01) or near(run * CYCLE):          # per RK4 step (dt = 0.01) or per cycle
        why = "they look like rates per step or per cycle, not per unit time: divide by the time"
    elif near(run[::-1]):
        why = "they are in the wrong order: the larger comes first"
    elif near(run * np.log(10) ** -1):
        why = "they look like base-10 logarithms"
    elif near([run[0], run[0] + run[1]]):
        why = "your second number is the growth rate of the area the pair spans, which is the sum of the two"
    elif near([run[0], full]):
        why = ("your second number is the average log growth of the second vector's whole image, not the second "
               "exponent")
    elif abs(lam[0] - run[0]) <= tol:
        why = "the first is right; the second is not the one this run gives"
    else:
        why = ("they are not the average log growth rates per unit time of the run you passed: compute them "
               "from this run's own growth factors")
    return result(name, [f"your exponents are not accepted: {why}."])


def _graded_states(rng) -> dict:
    return {"EX_STATES": np.vstack([rng.uniform([-20, -25, 0], [20, 25, 45], size=(5, 3)).round(2),
                                    np.zeros((1, 3))])}


def _graded_growth(rng) -> dict:
    """Growth data: an initial error 1e-3 to 1e-6 and q / lam within a factor 5 of it."""
    lam = round(float(rng.uniform(0.5, 2.0)), 2)
    d0 = float(10.0 ** -int(rng.integers(3, 7)))
    q = float(f"{lam * d0 * rng.uniform(0.2, 5.0):.1e}")                 # two significant digits
    return {"GROWTH": {"lam": lam, "delta0": d0, "q": q, "delta_max": round(float(rng.uniform(0.5, 5.0)), 1)}}


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-da-1-field": {"variant": _graded_states},
    "ex-da-1-predictability": {"variant": _graded_growth},
    "ex-da-1-tlm": {"same_data": checker.FUNCTION_ANSWER},
    "ex-da-1-lyapunov": {"same_data": "the answer is an estimate from a long simulation the statement spells out"},
}
