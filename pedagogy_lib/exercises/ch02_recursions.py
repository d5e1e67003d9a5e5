r"""Checkers for the exercises of notebook 2.2 (the generic filter and smoother); ``A[i, j] = p(x_t = i | x_{t-1} =
j)`` and ``C[l, k] = p(y_t = l | x_t = k)``, both column-stochastic."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..recursions import generic as recursions
from . import checker
from .checker import CheckResult, book_or_drawn, compare_array, compare_scalar, result

__all__ = ["TimeUpdateProblem", "MeasurementUpdateProblem", "EvidenceProblem", "EX_TIME_UPDATE", "EX_MEASUREMENT",
           "EX_EVIDENCE", "LagOneProblem", "EX_LAG_ONE", "missing_observations", "measurement_update",
           "evidence_two_steps", "lag_one_smoother", "smoother_function"]


class TimeUpdateProblem(NamedTuple):
    """Time updates (Eq. 2.36) without observations: the filter ``f_prev`` before they stop and the transition matrix
    ``A``."""

    f_prev: np.ndarray
    A: np.ndarray


class MeasurementUpdateProblem(NamedTuple):
    """One measurement update (Eq. 2.37) with a coarse reading: the prediction, the emission matrix ``C`` over four
    symbols, and ``y_set``, the two symbols the reading did not tell apart."""

    predicted: np.ndarray
    C: np.ndarray
    y_set: tuple


class EvidenceProblem(NamedTuple):
    """A 2-state HMM watched by two sensors for two steps: ``C[l, k]`` = p(y_t = l | x_t = k), ``D[m, k]`` = p(w_t = m
    | x_t = k), and the symbols ``y`` = (y_1, y_2) and ``w`` = (w_1, w_2)."""

    pi: np.ndarray
    A: np.ndarray
    C: np.ndarray
    D: np.ndarray
    y: tuple
    w: tuple


def _draw_columns(rng, n, step, floor, stay=1.0):
    """An n x n column-stochastic matrix of multiples of ``step``, at least ``floor``."""
    units = round(1 / step)
    cols = []
    for j in range(n):
        alpha = np.full(n, 2.0)
        alpha[j] *= stay
        low = round(floor / step)
        cols.append((low + rng.multinomial(units - n * low, rng.dirichlet(alpha))) / units)
    return np.stack(cols, axis=1)


def _draw_time_update(rng):
    """A problem like EX_TIME_UPDATE: a non-symmetric A whose chain settles quickly."""
    from .references import ch02_recursions as refs
    while True:
        A = _draw_columns(rng, 3, 0.1, 0.0, stay=3.0)
        f_prev = (5 + rng.multinomial(85, rng.dirichlet(np.full(3, 2.0)))) / 100
        moduli = np.sort(np.abs(np.linalg.eigvals(A)))[::-1]
        if (not np.allclose(A, A.T) and moduli[1] <= 0.8 and np.max(np.abs(A @ A @ f_prev - A @ f_prev)) > 0.02
                and np.max(np.abs(refs.fixed_point(A) - A @ A @ f_prev)) > 0.02):
            return TimeUpdateProblem(f_prev=f_prev, A=A)


EX_TIME_UPDATE = book_or_drawn(TimeUpdateProblem(
    f_prev=np.array([0.6, 0.3, 0.1]),
    A=np.array([[0.8, 0.1, 0.3], [0.2, 0.7, 0.1], [0.0, 0.2, 0.6]]),
), _draw_time_update, seed=2201)


def _coarse_slips(p) -> dict:
    """What named wrong derivations give."""
    pred, C, (l0, l1) = p

    def upd(lik):
        return pred * lik / (pred @ lik)

    lik = C[l0] + C[l1]
    return {
        "you multiplied the two rows of C, as if both symbols had been observed (by two sensors, or one after "
        "the other)": upd(C[l0] * C[l1]),
        "you used only the first symbol of y_set": upd(C[l0]),
        "you used only the second symbol of y_set": upd(C[l1]),
        "you forgot to normalize (this is the joint of x_t and the reading given y_{1:t-1})": pred * lik,
        "you used the likelihood alone and dropped the prediction": lik / lik.sum(),
    }


def _draw_measurement(rng):
    """A problem like EX_MEASUREMENT, every named slip clearly off."""
    from .references import ch02_recursions as refs
    while True:
        cols = [(1 + rng.multinomial(6, rng.dirichlet(np.full(4, 2.0)))) / 10 for _ in range(3)]
        C = np.stack(cols, axis=1)
        y_set = tuple(int(v) for v in np.sort(rng.choice(4, size=2, replace=False)))
        predicted = (5 + rng.multinomial(85, rng.dirichlet(np.full(3, 2.0)))) / 100
        prob = MeasurementUpdateProblem(predicted=predicted, C=C, y_set=y_set)
        ref = refs.coarse_update(prob)
        if all(np.abs(v - ref).max() > 0.03 for v in _coarse_slips(prob).values()):
            return prob


EX_MEASUREMENT = book_or_drawn(MeasurementUpdateProblem(
    predicted=np.array([0.5, 0.3, 0.2]),
    C=np.array([[0.6, 0.1, 0.1], [0.2, 0.5, 0.1], [0.1, 0.3, 0.2], [0.1, 0.1, 0.6]]),
    y_set=(1, 3),
), _draw_measurement, seed=2202)


def _draw_evidence(rng):
    """A problem like EX_EVIDENCE: persistent A, informative sensors, every named slip off."""
    from .references import ch02_recursions as refs
    while True:
        A = _draw_columns(rng, 2, 0.1, 0.1, stay=3.0)
        C = _draw_columns(rng, 2, 0.1, 0.1, stay=3.0)
        D = _draw_columns(rng, 2, 0.1, 0.1, stay=3.0)
        if np.allclose(A, A.T) or min(A[0, 0], A[1, 1]) < 0.5 or abs(C[0, 0] - C[0, 1]) < 0.3 \
                or abs(D[0, 0] - D[0, 1]) < 0.3:
            continue
        pi0 = round(float(rng.uniform(0.2, 0.8)), 1)
        prob = EvidenceProblem(pi=np.array([pi0, round(1.0 - pi0, 1)]), A=A, C=C, D=D,
                               y=(int(rng.integers(2)), int(rng.integers(2))),
                               w=(int(rng.integers(2)), int(rng.integers(2))))
        ref = refs.two_sensor_evidence(prob)
        if all(abs(v - ref) > 0.05 * ref for v in refs.evidence_slips(prob).values()):
            return prob


EX_EVIDENCE = book_or_drawn(EvidenceProblem(
    pi=np.array([0.7, 0.3]),
    A=np.array([[0.9, 0.2], [0.1, 0.8]]),
    C=np.array([[0.8, 0.3], [0.2, 0.7]]),
    D=np.array([[0.6, 0.1], [0.4, 0.9]]),
    y=(0, 1),
    w=(1, 1),
), _draw_evidence, seed=2203)


class LagOneProblem(NamedTuple):
    """One step of a lag-one smoother: the filter ``f_prev``, ``A``, ``C`` and the symbol ``y_t``."""

    f_prev: np.ndarray
    A: np.ndarray
    C: np.ndarray
    y_t: int


def _lag_one_slips(p: LagOneProblem) -> dict:
    """What named wrong derivations give."""
    f, A, C, y = p
    norm = lambda v: v / v.sum()  # noqa: E731
    filt_t = norm((A @ f) * C[y, :])
    return {
        "you return the filter at t - 1 unchanged, so that the new observation y_t has no effect on it": f,
        "you return a distribution over x_t (the filter at t), not over x_{t-1}": filt_t,
        "you return a distribution over x_t (the prediction), not over x_{t-1}": A @ f,
        "you used the rows of A as the conditionals: in the book A[i, j] = p(x_t = i | x_{t-1} = j)":
            norm(f * (A @ C[y, :])),
        "you took column y_t of C (a distribution over symbols) instead of row y_t (the likelihood of each state)":
            norm(f * (A.T @ C[:, y])),
        "you forgot to normalize": f * (A.T @ C[y, :]),
        "you treated y_t as emitted by x_{t-1} directly, leaving out the transition between them":
            norm(f * C[y, :]),
    }


def _draw_lag_one(rng):
    """A problem like EX_LAG_ONE: non-symmetric A and C, every named slip clearly off."""
    from .references import ch02_recursions as refs
    while True:
        A = _draw_columns(rng, 3, 0.1, 0.0, stay=3.0)
        C = _draw_columns(rng, 3, 0.1, 0.1, stay=3.0)
        y_t = int(rng.integers(3))
        f_prev = (5 + rng.multinomial(85, rng.dirichlet(np.full(3, 2.0)))) / 100
        p = LagOneProblem(f_prev=f_prev, A=A, C=C, y_t=y_t)
        answer = refs.lag_one(p)
        if (not np.allclose(A, A.T) and not np.allclose(C[y_t, :], C[:, y_t])
                and all(np.max(np.abs(np.asarray(w) - answer)) > 0.01 for w in _lag_one_slips(p).values())):
            return p


#: Exercise ``ex-2-2-0-fragment-roles``: one step of a lag-one smoother.
EX_LAG_ONE = book_or_drawn(LagOneProblem(
    f_prev=np.array([0.5, 0.2, 0.3]),
    A=np.array([[0.7, 0.2, 0.1], [0.2, 0.6, 0.3], [0.1, 0.2, 0.6]]),
    C=np.array([[0.8, 0.1, 0.2], [0.1, 0.7, 0.2], [0.1, 0.2, 0.6]]),
    y_t=2,
), _draw_lag_one, seed=2204)


def _prob_vector_problems(answer, what: str) -> list[str]:
    """Problems of an answer that should be a probability vector."""
    arr = np.asarray(answer, dtype=float)
    if arr.ndim == 1 and np.all(np.isfinite(arr)) and abs(arr.sum() - 1.0) > 1e-6:
        return [f"{what} sums to {arr.sum():.4g}, not 1: a distribution over the states must be normalized."]
    return []


def missing_observations(predicted_two_steps, limit) -> CheckResult:
    """Exercise ``ex-2-2-0-time-update``: for :data:`EX_TIME_UPDATE`, your prediction two steps ahead, p(x_{t+1} |
    y_{1:t-1}), and the distribution the predictions approach, two arrays (3,). Slips named: one step, the rows of A,
    A squared entrywise, the filter kept; a limit unnormalized, not converged or of the other convention."""
    from .references import ch02_recursions as refs
    f, A = EX_TIME_UPDATE
    expected = A @ (A @ f)                                           # Eq. 2.36 twice; no Eq. 2.37 in between
    rows = "you used the rows of A as the conditional distributions: in the book A[i, j] = p(x_t = i | x_{t-1} = j), " \
           "so the columns sum to one"
    hints = {"you took one time update; the prediction asked for is two steps ahead": A @ f,
             rows: A.T @ (A.T @ f),
             "you squared the entries of A (A**2) instead of applying A twice (the matrix product)": (A ** 2) @ f,
             "you kept the previous filter: a step without an observation still has its time update": f}
    problems = compare_array(predicted_two_steps, expected, "the prediction two steps ahead", hints=hints)
    problems = problems or _prob_vector_problems(predicted_two_steps, "the prediction two steps ahead")
    limit_expected = refs.fixed_point(A)
    limit_hints = {"you returned the prediction two steps ahead; keep applying the time update until the "
                   "prediction stops changing": expected,
                   "you returned the previous filter: the limit is where the time updates lead it": f,
                   "you took the uniform distribution, the limit only for a matrix whose rows also sum to one "
                   "(the other convention)": np.full(3, 1 / 3)}
    for k in (5, 10, 20):
        limit_hints[f"you stopped after {k} time updates, before the predictions settle"] = \
            np.linalg.matrix_power(A, k) @ f
    try:                      # an iteration stopped by a loose rule: some prediction A^k f, not the limit
        given = np.asarray(limit, dtype=float)
    except (TypeError, ValueError):
        given = None
    if given is not None and given.shape == f.shape and np.all(np.isfinite(given)):
        v = np.array(f, dtype=float)
        for _ in range(2000):
            v = A @ v
            if np.allclose(given, v, rtol=0.0, atol=1e-12):
                limit_hints["you stopped iterating the time update before the predictions settled (a "
                            "stopping rule that is too loose)"] = v.copy()
                break
    limit_problems = compare_array(limit, limit_expected, "the limit", rtol=0.0, atol=1e-6, hints=limit_hints)
    problems += limit_problems or _prob_vector_problems(limit, "the limit")
    return result("predictions without observations", problems)


def measurement_update(answer) -> CheckResult:
    """Exercise ``ex-2-2-0-measurement-update``: your filtered distribution (3,) for :data:`EX_MEASUREMENT` given the
    coarse reading. Slips named: both symbols observed, one symbol alone, no normalization, no prediction."""
    from .references import ch02_recursions as refs
    return result("measurement update with a coarse reading",
                  compare_array(answer, refs.coarse_update(EX_MEASUREMENT), "the filtered distribution",
                                hints=_coarse_slips(EX_MEASUREMENT)))


def evidence_two_steps(answer) -> CheckResult:
    """Exercise ``ex-2-2-0-evidence``: your p(y_1, w_1, y_2, w_2) for :data:`EX_EVIDENCE`, a probability. Slips named:
    one sensor, likelihoods added, the row-stochastic convention, a skipped time update, independent steps, the second
    factor alone, a log-probability."""
    from .references import ch02_recursions as refs
    p = EX_EVIDENCE
    lik = np.stack([p.C[p.y[t]] * p.D[p.w[t]] for t in range(2)])       # p(y_t, w_t | x_t = k)
    chain = recursions.categorical_chain(p.pi, p.A, np.log(lik))
    expected = float(np.exp(recursions.forward_filter(recursions.CATEGORICAL, chain).log_evidence))
    return result("evidence of two steps watched by two sensors",
                  compare_scalar(answer, expected, "p(y_1, w_1, y_2, w_2)", hints=refs.evidence_slips(p)))


def lag_one_smoother(answer) -> CheckResult:
    """Exercise ``ex-2-2-0-fragment-roles``: your p(x_{t-1} | y_{1:t}) (3,) for :data:`EX_LAG_ONE`. Slips named: the
    filter unchanged, a distribution over x_t, the rows of A, a column of C, no normalization, no transition."""
    from .references import ch02_recursions as refs
    p = EX_LAG_ONE
    return result("lag-one smoother", compare_array(answer, refs.lag_one(p), "p(x_{t-1} | y_{1:t})",
                                                    hints=_lag_one_slips(p)))


def _is_empty(x) -> bool:
    try:
        return np.asarray(x, dtype=float).size == 0
    except (TypeError, ValueError):
        return False


def _has_nan_or_inf(x) -> bool:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return False
    return not np.all(np.isfinite(arr))


def smoother_function(fn) -> CheckResult:
    """Exercise ``ex-2-2-0-smoother-function``: your function ``fn(filtered, transitions)`` returning ``(smoothed,
    pairwise)``, shapes (T, K) and (T - 1, K, K), run on hidden problems. Slips named: no backward pass, the rows of
    the transitions, no division by the prediction, the filter for the smoother at t + 1, the transitions one step
    off, the pairwise axes swapped, 0/0 left as NaN."""
    from .references import ch02_recursions as refs
    def judge(out, where, filtered, transitions, ref):
        problems = checker.tuple_problems(out, 2, "the pair (smoothed, pairwise)", where)
        if problems:
            return problems
        if "exact zeros" in where and (_has_nan_or_inf(out[0]) or _has_nan_or_inf(out[1])):
            return [f"your output has NaN or inf on {where}: where a prediction p(x_{{t+1}} = i | y_{{1:t}}) is "
                    "zero, so is the smoother, and the ratio 0/0 of Eq. 2.38 must count as 0."]
        smoothed_hints, pairwise_hints = refs.smoother_slips(filtered, transitions, ref[1])
        problems = compare_array(out[0], ref[0], f"smoothed on {where}", rtol=1e-7, atol=1e-10, hints=smoothed_hints)
        if ref[1].size == 0 and _is_empty(out[1]):            # T = 1: any empty pairwise will do
            return problems
        return problems + compare_array(out[1], ref[1], f"pairwise on {where}", rtol=1e-7, atol=1e-10,
                                        hints=pairwise_hints)

    return checker.check_function("the backward pass of the generic smoother (Eqs. 2.38-2.39)", fn, refs.smoother_cases(),
                                  judge, name="my_smoother", signature="(filtered, transitions)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-2-2-0-smoother-function": {"same_data": checker.FUNCTION_ANSWER},
}
