r"""Checkers for the exercises of notebook 2.2 (the generic filter and smoother, Section 2.2).

Problem data are module constants (shown in the notebook); every reference answer is computed
from them when a checker runs. The HMM transition matrix follows the book: it is
**column-stochastic**, ``A[i, j] = p(x_t = i | x_{t-1} = j)``, and so is the discrete emission
matrix, ``C[l, k] = p(y_t = l | x_t = k)``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..recursions import generic as recursions
from .checker import CheckResult, book_or_drawn, compare_array, compare_scalar, result

__all__ = [
    "TimeUpdateProblem",
    "MeasurementUpdateProblem",
    "EvidenceProblem",
    "EX_TIME_UPDATE",
    "EX_MEASUREMENT",
    "EX_EVIDENCE",
    "LagOneProblem",
    "EX_LAG_ONE",
    "missing_observations",
    "measurement_update",
    "evidence_two_steps",
    "lag_one_smoother",
]


class TimeUpdateProblem(NamedTuple):
    """Time updates (Eq. 2.36) while no observations arrive: ``f_prev`` is p(x_{t-1} | y_{1:t-1}), the
    filter before the observations stop, and ``A`` the (column-stochastic) transition matrix."""

    f_prev: np.ndarray
    A: np.ndarray


class MeasurementUpdateProblem(NamedTuple):
    """One measurement update (Eq. 2.37): predicted p(x_t | y_{1:t-1}), emission matrix C, symbol y_t."""

    predicted: np.ndarray
    C: np.ndarray
    y_t: int


class EvidenceProblem(NamedTuple):
    """A 2-state HMM observed for two steps: find p(y_1, y_2) (Eq. 2.40)."""

    pi: np.ndarray
    A: np.ndarray
    C: np.ndarray
    y: tuple


def _draw_columns(rng, n, step, floor, stay=1.0):
    """An n x n column-stochastic matrix with entries multiples of ``step``, each at least ``floor``; ``stay``
    weights the diagonal (a state tends to persist) when it is above one."""
    units = round(1 / step)
    cols = []
    for j in range(n):
        alpha = np.full(n, 2.0)
        alpha[j] *= stay
        low = round(floor / step)
        cols.append((low + rng.multinomial(units - n * low, rng.dirichlet(alpha))) / units)
    return np.stack(cols, axis=1)


def _draw_time_update(rng):
    """A problem of the same kind as the book's EX_TIME_UPDATE, for one student: a filter with two decimals
    and a column-stochastic A with one decimal, not symmetric (so that A and its transpose disagree), whose
    chain has a single limit that repeated time updates reach quickly (second eigenvalue at most 0.8 in
    modulus), and whose second time update moves the prediction visibly."""
    while True:
        A = _draw_columns(rng, 3, 0.1, 0.0, stay=3.0)
        f_prev = (5 + rng.multinomial(85, rng.dirichlet(np.full(3, 2.0)))) / 100
        moduli = np.sort(np.abs(np.linalg.eigvals(A)))[::-1]
        if (not np.allclose(A, A.T) and moduli[1] <= 0.8 and np.max(np.abs(A @ A @ f_prev - A @ f_prev)) > 0.02
                and np.max(np.abs(_limit(A) - A @ A @ f_prev)) > 0.02):
            return TimeUpdateProblem(f_prev=f_prev, A=A)


def _limit(A) -> np.ndarray:
    """The distribution that repeated time updates approach: the fixed point of A, found by solving
    (A - I) p = 0 with the entries of p summing to one (least squares on the stacked system)."""
    K = A.shape[0]
    M = np.vstack([A - np.eye(K), np.ones((1, K))])
    rhs = np.concatenate([np.zeros(K), [1.0]])
    return np.linalg.lstsq(M, rhs, rcond=None)[0]


EX_TIME_UPDATE = book_or_drawn(TimeUpdateProblem(
    f_prev=np.array([0.6, 0.3, 0.1]),
    A=np.array([[0.8, 0.1, 0.3],
                [0.2, 0.7, 0.1],
                [0.0, 0.2, 0.6]]),
), _draw_time_update, seed=2201)


def _draw_measurement(rng):
    """A problem of the same kind as the book's EX_MEASUREMENT, for one student: a prediction with two
    decimals, a column-stochastic C with one decimal (entries at least 0.1) and an observed symbol."""
    while True:
        C = _draw_columns(rng, 3, 0.1, 0.1, stay=3.0)
        y_t = int(rng.integers(3))
        if not np.allclose(C[y_t, :], C[:, y_t]):
            predicted = (5 + rng.multinomial(85, rng.dirichlet(np.full(3, 2.0)))) / 100
            return MeasurementUpdateProblem(predicted=predicted, C=C, y_t=y_t)


EX_MEASUREMENT = book_or_drawn(MeasurementUpdateProblem(
    predicted=np.array([0.5, 0.3, 0.2]),
    C=np.array([[0.7, 0.1, 0.2],
                [0.2, 0.6, 0.1],
                [0.1, 0.3, 0.7]]),
    y_t=1,
), _draw_measurement, seed=2202)


def _draw_evidence(rng):
    """A problem of the same kind as the book's EX_EVIDENCE, for one student: a 2-state HMM with one-decimal
    entries (at least 0.1), a persistent non-symmetric A, emissions that tell the states apart, and two
    observed symbols."""
    while True:
        A = _draw_columns(rng, 2, 0.1, 0.1, stay=3.0)
        C = _draw_columns(rng, 2, 0.1, 0.1, stay=3.0)
        if not np.allclose(A, A.T) and min(A[0, 0], A[1, 1]) >= 0.5 and abs(C[0, 0] - C[0, 1]) >= 0.3:
            break
    pi0 = round(float(rng.uniform(0.2, 0.8)), 1)
    return EvidenceProblem(pi=np.array([pi0, round(1.0 - pi0, 1)]), A=A, C=C,
                           y=(int(rng.integers(2)), int(rng.integers(2))))


EX_EVIDENCE = book_or_drawn(EvidenceProblem(
    pi=np.array([0.7, 0.3]),
    A=np.array([[0.9, 0.2],
                [0.1, 0.8]]),
    C=np.array([[0.8, 0.3],
                [0.2, 0.7]]),
    y=(0, 1),
), _draw_evidence, seed=2203)



class LagOneProblem(NamedTuple):
    """One step of a lag-one smoother: the filter ``f_prev`` = p(x_{t-1} | y_{1:t-1}), the (column-stochastic)
    transition matrix ``A``, the emission matrix ``C`` and the symbol ``y_t`` observed at step t."""

    f_prev: np.ndarray
    A: np.ndarray
    C: np.ndarray
    y_t: int


def _lag_one(p: LagOneProblem) -> np.ndarray:
    """p(x_{t-1} | y_{1:t}): the library's two-step chain (prior f_prev, no observation at t - 1, y_t at t)
    smoothed back to its first step."""
    log_lik = np.vstack([np.zeros(len(p.f_prev)), np.log(p.C[p.y_t, :])])
    chain = recursions.categorical_chain(p.f_prev, p.A, log_lik)
    filt = recursions.forward_filter(recursions.CATEGORICAL, chain)
    return np.asarray(recursions.backward_smoother(recursions.CATEGORICAL, filt.filtered,
                                                   chain.transitions).smoothed[0])


def _lag_one_slips(p: LagOneProblem) -> dict:
    """Wrong answers a student can reach, each with what is wrong (never the answer or the fix)."""
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
    """A problem of the same kind as the book's EX_LAG_ONE, for one student: a filter with two decimals,
    non-symmetric column-stochastic A and C with one decimal (entries of C at least 0.1), an observed symbol,
    and an answer that every named slip misses."""
    while True:
        A = _draw_columns(rng, 3, 0.1, 0.0, stay=3.0)
        C = _draw_columns(rng, 3, 0.1, 0.1, stay=3.0)
        y_t = int(rng.integers(3))
        f_prev = (5 + rng.multinomial(85, rng.dirichlet(np.full(3, 2.0)))) / 100
        p = LagOneProblem(f_prev=f_prev, A=A, C=C, y_t=y_t)
        answer = _lag_one(p)
        if (not np.allclose(A, A.T) and not np.allclose(C[y_t, :], C[:, y_t])
                and all(np.max(np.abs(np.asarray(w) - answer)) > 0.01 for w in _lag_one_slips(p).values())):
            return p


#: Exercise ``ex-2-2-0-fragment-roles``: one step of a lag-one smoother.
EX_LAG_ONE = book_or_drawn(LagOneProblem(
    f_prev=np.array([0.5, 0.2, 0.3]),
    A=np.array([[0.7, 0.2, 0.1],
                [0.2, 0.6, 0.3],
                [0.1, 0.2, 0.6]]),
    C=np.array([[0.8, 0.1, 0.2],
                [0.1, 0.7, 0.2],
                [0.1, 0.2, 0.6]]),
    y_t=2,
), _draw_lag_one, seed=2204)


def _prob_vector_problems(answer, what: str) -> list[str]:
    arr = np.asarray(answer, dtype=float)
    if arr.ndim == 1 and np.all(np.isfinite(arr)) and abs(arr.sum() - 1.0) > 1e-6:
        return [f"{what} sums to {arr.sum():.4g}, not 1: a distribution over the states must be normalized."]
    return []


def missing_observations(predicted_two_steps, limit) -> CheckResult:
    """Exercise ``ex-2-2-0-time-update``: for :data:`EX_TIME_UPDATE`, with no observations after step t - 1,
    your prediction two steps ahead, p(x_{t+1} | y_{1:t-1}), and the distribution the predictions
    p(x_{t+k} | y_{1:t-1}) approach as k grows, two arrays of shape (3,).

    The checker recognizes one step taken instead of two, the rows of ``A`` used as the conditionals, the
    entries of ``A`` squared instead of the matrix squared, the previous filter kept, and a limit that is
    unnormalized, not yet converged, or taken from the other convention.
    """
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
    limit_expected = _limit(A)
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
    """Exercise ``ex-2-2-0-measurement-update``: your filtered distribution of x_t given y_{1:t} for
    :data:`EX_MEASUREMENT`.

    Pass an array of shape (3,), one probability per state. The checker recognizes a column of
    ``C`` taken for a row, a missing normalization, and a dropped prediction.
    """
    pred, C, y = EX_MEASUREMENT
    lik = C[y, :]                                                  # p(y_t | x_t = k) for each k
    expected = pred * lik / (pred @ lik)                           # Eq. 2.37
    wrong_col = pred * C[:, y] / (pred @ C[:, y])
    hints = {"you took column y_t of C (a distribution over symbols) instead of row y_t "
             "(the likelihood of each state)": wrong_col,
             "you forgot to normalize (this is the joint p(x_t, y_t | y_{1:t-1}))": pred * lik,
             "you used the likelihood alone and dropped the prediction": lik / lik.sum()}
    return result("measurement update", compare_array(answer, expected, "the filtered distribution", hints=hints))


def evidence_two_steps(answer) -> CheckResult:
    """Exercise ``ex-2-2-0-evidence``: your p(y_1, y_2) for :data:`EX_EVIDENCE`, a probability (not its log).

    The checker recognizes the row-stochastic convention, a skipped time update, observations
    treated as independent, only the second factor, and a log-probability.
    """
    pi, A, C, y = EX_EVIDENCE
    chain = recursions.categorical_chain(pi, A, recursions.categorical_log_lik(C, np.array(y)))
    expected = float(np.exp(recursions.forward_filter(recursions.CATEGORICAL, chain).log_evidence))
    # known wrong routes
    lik1, lik2 = C[y[0]], C[y[1]]
    f1 = pi * lik1 / (pi @ lik1)
    hints = {
        "you used A^T (the row-stochastic convention) in the time update": (pi @ lik1) * ((A.T @ f1) @ lik2),
        "you skipped the time update (predicted x_2 with the filter at step 1)": (pi @ lik1) * (f1 @ lik2),
        "you treated the two observations as independent draws from the prior": (pi @ lik1) * (pi @ lik2),
        "you returned only the second factor p(y_2 | y_1)": (A @ f1) @ lik2,
        "you returned log p(y_1, y_2); the exercise asks for the probability": np.log(expected),
    }
    return result("evidence of a 2-step sequence", compare_scalar(answer, expected, "p(y_1, y_2)", hints=hints))


def lag_one_smoother(answer) -> CheckResult:
    """Exercise ``ex-2-2-0-fragment-roles``: your distribution of x_{t-1} given y_{1:t} for
    :data:`EX_LAG_ONE`, the previous step revised by one new observation.

    Pass an array of shape (3,), one probability per state. The checker recognizes the previous filter
    returned unchanged, a distribution over x_t in place of one over x_{t-1}, the rows of ``A`` used as
    the conditionals, a column of ``C`` taken for a row, a missing normalization, and the transition
    left out.
    """
    p = EX_LAG_ONE
    return result("lag-one smoother", compare_array(answer, _lag_one(p), "p(x_{t-1} | y_{1:t})",
                                                    hints=_lag_one_slips(p)))


#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-2-2-0-time-update": {"forbidden": ["scipy.linalg.logm",
                                           "pedagogy_lib.recursions.generic.time_update",
                                           "pedagogy_lib.recursions.generic.forward_filter",
                                           "pedagogy_lib.recursions.generic.CATEGORICAL.marginalize",
                                           "pedagogy_lib.discrete.categorical.marginal_y",
                                           "pedagogy_lib.discrete.markov_chain.stationary_distribution",
                                           "pedagogy_lib.hmm.inference.hmm_filter",
                                           "pedagogy_lib.hmm.inference.hmm_smoother",
                                           "numpy.linalg.matrix_power", "brute_marginal", "brute_log_evidence", "brute_pair"]},
    "ex-2-2-0-measurement-update": {"forbidden": ["pedagogy_lib.graphical.bp.belief_propagation",
                                                  "pedagogy_lib.graphical.junction.junction_tree",
                                                  "pedagogy_lib.discrete.categorical.conditional", "pedagogy_lib.recursions.generic.measurement_update",
                                                  "pedagogy_lib.recursions.generic.forward_filter",
                                                  "pedagogy_lib.recursions.generic.CATEGORICAL.bayes_invert",
                                                  "pedagogy_lib.discrete.categorical.invert",
                                                  "pedagogy_lib.discrete.categorical.reverse_arrow",
                                                  "pedagogy_lib.discrete.categorical.update_sequence",
                                                  "pedagogy_lib.hmm.inference.hmm_filter",
                                                  "pedagogy_lib.hmm.inference.hmm_smoother", "brute_marginal", "brute_log_evidence", "brute_pair"]},
    "ex-2-2-0-fragment-roles": {"forbidden": ["pedagogy_lib.hmm.em.hmm_posterior", "pedagogy_lib.recursions.generic.future_conditioning",
                                              "pedagogy_lib.recursions.generic.backward_step",
                                              "pedagogy_lib.recursions.generic.backward_smoother",
                                              "pedagogy_lib.recursions.generic.forward_filter",
                                              "pedagogy_lib.recursions.generic.measurement_update",
                                              "pedagogy_lib.recursions.generic.CATEGORICAL.bayes_invert",
                                              "pedagogy_lib.recursions.generic.CATEGORICAL.marginalize",
                                              "pedagogy_lib.hmm.inference.hmm_smoother",
                                              "pedagogy_lib.discrete.categorical.invert",
                                              "pedagogy_lib.discrete.categorical.reverse_arrow",
                                              "pedagogy_lib.discrete.categorical.conditional", "brute_marginal", "brute_log_evidence", "brute_pair"]},
    "ex-2-2-0-evidence": {"forbidden": ["pedagogy_lib.graphical.bp.belief_propagation",
                                        "pedagogy_lib.graphical.junction.junction_tree",
                                        "pedagogy_lib.graphical.factors.log_partition_by_enumeration",
                                        "pedagogy_lib.hmm.inference.hmm_filter", "pedagogy_lib.recursions.generic.forward_filter",
                                        "pedagogy_lib.recursions.generic.data_marginals",
                                        "pedagogy_lib.recursions.generic.measurement_update",
                                        "pedagogy_lib.recursions.generic.CATEGORICAL.bayes_invert",
                                        "pedagogy_lib.discrete.categorical.update_sequence",
                                        "pedagogy_lib.hmm.inference.hmm_smoother",
                                        "pedagogy_lib.hmm.em.hmm_log_likelihood",
                                        "pedagogy_lib.hmm.em.hmm_posterior",
                                        "pedagogy_lib.recursions.generic.data_marginal",
                                        "pedagogy_lib.discrete.categorical.joint_table",
                                        "pedagogy_lib.discrete.categorical.marginal", "brute_marginal", "brute_log_evidence", "brute_pair"]},
}
