"""Checkers for the exercises of Section 2.2.1 (the HMM and the alpha-gamma algorithm); ``A[i, j] = p(x_t = i |
x_{t-1} = j)``."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..hmm import inference as hmm
from . import checker
from .checker import HAND_RTOL, CheckResult, book_or_drawn, compare_array, compare_scalar, result, problem_rng

__all__ = ["HMMProblem", "EX_EVIDENCE", "EX_GAMMA1", "EX_IID", "log_evidence", "gamma_first", "iid_gamma",
           "filter_function"]


class HMMProblem(NamedTuple):
    """An HMM: column-stochastic ``A`` (K, K), initial ``pi`` (K,), ``log_lik[t, k]`` = log p(y_t | x_t = k)."""

    pi: np.ndarray
    A: np.ndarray
    log_lik: np.ndarray


def _make_evidence_problem() -> HMMProblem:
    rng = problem_rng(2211)
    T = 1000
    A = np.array([[0.90, 0.05, 0.15], [0.07, 0.85, 0.05], [0.03, 0.10, 0.80]])   # columns sum to 1, rows do not
    y = rng.normal(size=T) + np.repeat([-2.0, 0.0, 2.0, 0.0], T // 4)
    mu = np.array([-2.0, 0.0, 2.0])
    log_lik = -0.5 * (y[:, None] - mu[None, :]) ** 2 - 0.5 * np.log(2 * np.pi)
    return HMMProblem(np.array([0.5, 0.3, 0.2]), A, log_lik)


#: Exercise (a): a 1000-step, 3-state Gaussian HMM.
EX_EVIDENCE = _make_evidence_problem()

def _draw_gamma1(rng):
    """A problem like EX_GAMMA1: K = T = 2, persistent states, a second observation that tells them apart."""
    pi0 = round(float(rng.uniform(0.3, 0.7)), 1)
    stay = np.round(rng.uniform(0.55, 0.9, size=2), 2)
    A = np.array([[stay[0], round(1.0 - stay[1], 2)], [round(1.0 - stay[0], 2), stay[1]]])
    while True:
        lik = np.round(rng.uniform(0.05, 0.95, size=(2, 2)), 2)
        if abs(lik[1, 0] - lik[1, 1]) > 0.2:
            return HMMProblem(pi=np.array([pi0, round(1.0 - pi0, 1)]), A=A, log_lik=np.log(lik))


#: Exercise (b): a two-state, two-step HMM whose gamma_1 is to be found by hand.
EX_GAMMA1 = book_or_drawn(HMMProblem(pi=np.array([0.6, 0.4]), A=np.array([[0.7, 0.2], [0.3, 0.8]]),
                                     log_lik=np.log(np.array([[0.5, 0.1], [0.2, 0.6]]))), _draw_gamma1, seed=2212)


#: Steps of EX_IID: 3**40 paths, far beyond enumerating them.
IID_T = 40


def _draw_iid(rng):
    """A problem like EX_IID: every column of A equal to pi (entries at least 0.1), two-decimal likelihoods."""
    pi = (10 + rng.multinomial(70, rng.dirichlet(np.full(3, 3.0)))) / 100
    lik = np.round(rng.uniform(0.05, 0.95, size=(IID_T, 3)), 2)
    return HMMProblem(pi=pi, A=np.tile(pi[:, None], (1, 3)), log_lik=np.log(lik))


#: Exercise (c): an HMM whose columns of A are all equal to pi (the states are i.i.d.), over IID_T steps.
EX_IID = book_or_drawn(HMMProblem(pi=np.array([0.2, 0.5, 0.3]),
                                  A=np.tile(np.array([[0.2], [0.5], [0.3]]), (1, 3)),
                                  log_lik=np.log(np.round(np.random.default_rng(2213).uniform(
                                      0.05, 0.95, size=(IID_T, 3)), 2))), _draw_iid, seed=2213)


def log_evidence(answer) -> CheckResult:
    """Exercise (a), ``ex-2-2-1-log-evidence``: your log evidence of all T observations of :data:`EX_EVIDENCE` (Eq.
    2.40). Slips named: the last step's term, the row-stochastic convention, no prior."""
    from .references import ch02_hmm as refs
    p = EX_EVIDENCE
    filt = hmm.hmm_filter(*p)
    expected = filt.log_evidence
    hints = {
        "this is the log normalizer of the last step only, log p(y_T | y_1..y_(T-1)); Eq. 2.40 multiplies "
        "all T of them (sum their logs)": filt.log_c[-1],
        "this looks like the row-stochastic convention: recheck which index of A is the earlier state "
        "(the statement says A is column-stochastic) and how that orders the time update's product":
            refs.forward_log_evidence(p.pi, p.A.T, p.log_lik),
        "this ignores the first step's prior pi (the base case alpha_1 = pi * p(y_1 | x_1))":
            refs.forward_log_evidence(np.full(3, 1 / 3), p.A, p.log_lik),
    }
    problems = []
    if answer is not None and np.ndim(answer) == 0:
        try:
            if float(answer) == -np.inf or float(answer) == 0.0:
                problems.append("your answer is -inf or 0: a product of a thousand small numbers has left "
                                "the range of floating point. Reread how the page keeps the filter's numbers "
                                "in range from step to step, and what Eq. 2.40 says the evidence is made of.")
        except (TypeError, ValueError):
            pass
    if not problems:
        problems = compare_scalar(answer, expected, "the log evidence", rtol=1e-8, atol=1e-8, hints=hints)
    return result("log evidence of EX_EVIDENCE", problems)


def gamma_first(answer) -> CheckResult:
    """Exercise (b), ``ex-2-2-1-gamma-by-hand``: your gamma_1 (2,) for :data:`EX_GAMMA1`, to three significant
    figures. Slips named: the filter at step 1, gamma_2, the transition's indices swapped."""
    from .references import ch02_hmm as refs
    p = EX_GAMMA1
    _, gamma = refs.enumerate_paths(p)
    filt = hmm.hmm_filter(*p)
    _, gamma_swapped = refs.enumerate_paths(HMMProblem(p.pi, p.A.T, p.log_lik))
    hints = {
        "this is the filter p(x_1 | y_1): the smoother must also account for y_2 (Eq. 2.44)": filt.filtered[0],
        "this is gamma_2 = p(x_2 | y_1, y_2), the smoother at the last step, not at the first": gamma[1],
        "you read the transition with its two indices swapped: recheck which index of A is the earlier "
        "state in the book's convention": gamma_swapped[0],
    }
    return result("gamma_1 of EX_GAMMA1", compare_array(answer, gamma[0], "gamma_1", rtol=HAND_RTOL, atol=1e-4,
                                                          hints=hints))


def iid_gamma(answer) -> CheckResult:
    """Exercise (c), ``ex-2-2-1-iid-states``: every gamma_t (40, 3) of :data:`EX_IID`, without a smoother. Slip named:
    no prior."""
    p = EX_IID
    gamma = hmm.hmm_smoother(*p).gamma           # 3**40 paths: no enumeration here
    lik = np.exp(p.log_lik)
    no_prior = lik / lik.sum(axis=1, keepdims=True)
    hints = {"these are the normalized likelihoods: the prior pi is missing from Bayes' rule (Eq. 2.6)":
             no_prior}
    return result("gamma for EX_IID", compare_array(answer, gamma, "gamma", rtol=1e-8, atol=1e-10, hints=hints))


def filter_function(fn) -> CheckResult:
    """Exercise ``ex-2-2-1-filter-function``: your function ``fn(pi, A, log_lik)`` returning ``(filtered, log_c)``,
    shapes (T, K) and (T,), run on hidden problems. Slips named: A^T in the time update, a time update before the
    first step, the shift left out of log c_t, the running log evidence, an underflow (no shift before exp)."""
    from .references import ch02_hmm as refs
    def judge(out, where, pi, A, log_lik, ref):
        problems = checker.tuple_problems(out, 2, "the pair (filtered, log_c)", where)
        if problems:
            return problems
        if "-1000" in where:
            try:
                values = [np.asarray(o, dtype=float) for o in out]
            except (TypeError, ValueError):
                values = []
            if any(not np.all(np.isfinite(v)) or (v.size > 0 and np.all(v == 0)) for v in values):
                return [f"your output has NaN, inf or only zeros on {where}: exp of such numbers is 0 in floating "
                        "point. Subtract each row's largest log-likelihood before exponentiating and add it back "
                        "to log c_t."]
        filtered_hints, log_c_hints = refs.filter_slips(pi, A, log_lik, ref[1])
        return (compare_array(out[0], ref[0], f"filtered on {where}", rtol=1e-7, atol=1e-10, hints=filtered_hints)
                + compare_array(out[1], ref[1], f"log_c on {where}", rtol=1e-7, atol=1e-9, hints=log_c_hints))

    return checker.check_function("the HMM filter and its log normalizers (Eqs. 2.36-2.37, 2.40)", fn, refs.filter_cases(),
                                  judge, name="my_hmm_filter", signature="(pi, A, log_lik)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-2-2-1-filter-function": {"same_data": checker.FUNCTION_ANSWER},
}
