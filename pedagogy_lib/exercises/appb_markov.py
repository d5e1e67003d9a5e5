r"""Checkers for the exercises of Appendix B.2, "Markov chains" (``P[i, j] = p(next = i | now = j)``)."""
from __future__ import annotations

import math

import numpy as np

from .checker import (FUNCTION_ANSWER, CheckResult, as_bool, as_integer, as_numeric, book_or_drawn, compare_array,
                      compare_scalar, problem_rng, result, check_function)

__all__ = ["EX_P", "EX_P5", "EX_TWO", "stationary", "reversible", "two_state_mixing_time", "tv_distance"]


def _draw_chain(rng) -> np.ndarray:
    """A 3-state chain, entries at least 0.03, reversible or clearly not (half the draws each)."""
    reversible = rng.random() < 0.5
    while True:
        if reversible:
            S = rng.uniform(0.1, 1.0, (3, 3))
            S = np.triu(S) + np.triu(S, 1).T
            P = S / S.sum(axis=0, keepdims=True)
            if P.min() >= 0.03:
                return P
        else:
            P = rng.dirichlet(np.full(3, 3.0), size=3).T
            one_way, other_way = P[1, 0] * P[2, 1] * P[0, 2], P[2, 0] * P[1, 2] * P[0, 1]
            if P.min() >= 0.03 and abs(one_way - other_way) > 0.2 * max(one_way, other_way):
                return P


#: Exercise (b): a column-stochastic 3-state chain (columns sum to one).
EX_P = book_or_drawn(np.array([[0.5, 0.1, 0.3], [0.3, 0.7, 0.1], [0.2, 0.2, 0.6]]), _draw_chain, seed=2211)


def _periodic(to_b: np.ndarray, to_a: np.ndarray) -> np.ndarray:
    """The period-2 chain moving from {0, 1} to {2, 3, 4} by the columns of ``to_b`` and back by those of ``to_a``."""
    P = np.zeros((5, 5))
    P[2:, :2], P[:2, 2:] = to_b, to_a
    return P


def _draw_periodic(rng) -> np.ndarray:
    """A chain like EX_P5 that settles into its oscillation quickly, pi clearly not uniform."""
    from .references import appb_markov as refs
    while True:
        P = _periodic(rng.dirichlet(np.full(3, 2.0), size=2).T, rng.dirichlet(np.full(2, 2.0), size=3).T)
        if P[2:, :2].min() < 0.05 or P[:2, 2:].min() < 0.05:
            continue
        mods = np.sort(np.abs(np.linalg.eigvals(P)))
        pi = refs.stationary_solve(P)
        Q = P.T / P.T.sum(axis=0, keepdims=True)
        if mods[-3] <= 0.6 and np.abs(pi - 0.2).max() > 0.03 and np.abs(refs.stationary_solve(Q) - pi).max() > 0.02:
            return P


#: Exercise (a): an irreducible 5-state chain of period 2 (between {0, 1} and {2, 3, 4}), pi not uniform; unlike the
#: page's walk, steps p <- P p from one state alternate forever.
EX_P5 = book_or_drawn(_periodic(np.array([[0.6, 0.2], [0.3, 0.2], [0.1, 0.6]]),
                                np.array([[0.9, 0.4, 0.3], [0.1, 0.6, 0.7]])), _draw_periodic, seed=2214)


def _draw_two(rng) -> tuple:
    """(a, b) with a mixing time of at least 2 steps and no distance within rounding of 1/4."""
    while True:
        a, b = (float(v) for v in np.round(rng.uniform(0.03, 0.35, 2), 2))
        rho, worst = abs(1 - a - b), max(a, b) / (a + b)
        d = worst * rho ** np.arange(200)
        t = int(np.argmax(d <= 0.25))
        if t >= 2 and np.min(np.abs(d[:t + 1] - 0.25)) > 1e-6:
            return a, b


#: Exercise (c): the two-state chain with p(1 | 0) = a and p(0 | 1) = b.
EX_TWO = book_or_drawn((0.3, 0.1), _draw_two, seed=2212)


def stationary(answer) -> CheckResult:
    """Exercise (a), ``ex-b2-stationary``: your stationary distribution (5,) of :data:`EX_P5`. Slips named: the
    row-stochastic convention, an unnormalized eigenvector, a column of ``EX_P5``, and many steps p <- P p (the chain
    is periodic, so that alternates)."""
    from .references import appb_markov as refs
    title = "stationary distribution of EX_P5"
    P = EX_P5
    K = P.shape[0]
    expected = refs.stationary_solve(P)
    row_convention = ("you solved pi^T P = pi^T, the row-stochastic convention; here the columns of P sum to "
                      "one, so pi is a right eigenvector, P pi = pi")
    hints = {row_convention: refs.stationary_solve(P.T / P.T.sum(axis=0, keepdims=True)),
             "you gave a column of P (one step from a single state), not the long-run distribution": P[:, 0]}
    iterated = ("you iterated p <- P p from one starting distribution: this chain is periodic (period 2), so "
                "p_t alternates between two groups of states and never settles, however many steps you take")
    limits = [refs.iterated(P, start, steps) for start in [*np.eye(K), np.full(K, 1 / K)] for steps in (200, 201)]
    arr, problems = as_numeric(answer, "pi")
    if not problems and arr.shape == expected.shape and abs(arr.sum()) > 1e-12 and not np.allclose(arr, expected):
        scaled = arr / arr.sum()
        if np.allclose(scaled, np.full(K, 1 / K), rtol=1e-8, atol=1e-12) and not np.allclose(expected, 1 / K):
            return result(title, [f"pi is what you get if {row_convention}."])
        if any(np.allclose(arr, limit, rtol=1e-8, atol=1e-10) for limit in limits):
            return result(title, [f"pi is what you get if {iterated}."])
        if np.allclose(scaled, expected, rtol=1e-8, atol=1e-12):
            return result(title, ["pi points the right way but is not a probability vector: an eigensolver "
                                  "returns a vector of unit length and arbitrary sign; normalize it by dividing by "
                                  "its sum."])
    return result(title, compare_array(answer, expected, "pi", rtol=1e-8, hints=hints))


def reversible(flow, answer) -> CheckResult:
    """Exercise (b), ``ex-b2-reversible``: the largest net flow max |P_ij pi_j - P_ji pi_i| of :data:`EX_P` at
    stationarity, and a real bool for "EX_P satisfies detailed balance", judged once the flow is right and agreeing
    with it. Slips named: uniform or no weights, a sum over pairs."""
    from .references import appb_markov as refs
    title = "net probability flow of EX_P, and is it reversible?"
    pi = refs.iterated(EX_P, np.full(EX_P.shape[0], 1.0 / EX_P.shape[0]), 5000)
    pi = pi / pi.sum()
    K = EX_P.shape[0]

    def largest(weights):
        return max(abs(EX_P[i, j] * weights[j] - EX_P[j, i] * weights[i]) for i in range(K) for j in range(K))

    worst = largest(pi)
    hints = {"you weighted the flows by the uniform distribution, not by pi": largest(np.full(K, 1 / K)),
             "you compared P_ij with P_ji, leaving out pi": largest(np.ones(K)),
             "you summed the net flows over all pairs instead of taking the largest":
                 sum(abs(EX_P[i, j] * pi[j] - EX_P[j, i] * pi[i]) for i in range(K) for j in range(i + 1, K))}
    if worst < 1e-12:
        hints = {k: v for k, v in hints.items() if v > 1e-9}
    problems = compare_scalar(flow, worst, "the largest net flow", rtol=1e-8, atol=1e-10, hints=hints)
    if not problems:
        value, problems = as_bool(answer, "your True or False", strict=True)
        if not problems and value != (worst < 1e-10):
            problems = ["your True or False does not agree with your (correct) largest net flow: detailed "
                        "balance means that every net flow P_ij pi_j - P_ji pi_i is zero."]
    return result(title, problems)


def two_state_mixing_time(answer, distance=None) -> CheckResult:
    """Exercise (c), ``ex-b2-mixing``: your mixing time t_mix(1/4) of :data:`EX_TWO`, a whole number, and the distance
    d(t_mix). Slips named: the spectral bound; no factor one half, the better starting state."""
    a, b = EX_TWO
    P = np.array([[1 - a, b], [a, 1 - b]])
    pi = np.array([b, a]) / (a + b)
    Pt, t = np.eye(2), 0
    while 0.5 * np.abs(Pt - pi[:, None]).sum(axis=0).max() > 0.25:
        Pt, t = P @ Pt, t + 1
    by_start = 0.5 * np.abs(Pt - pi[:, None]).sum(axis=0)
    value, problems = as_integer(answer, "t_mix")
    if not problems and value != t:
        rho = abs(1 - a - b)
        bound = math.log(1 / (0.25 * min(pi))) / (1 - rho)
        if abs(value - bound) < 1 or value == math.ceil(bound):
            problems = ["that is the spectral upper bound t_rel log(1/(eps pi_min)), not the mixing time itself: "
                        "find the first t with d(t) <= 1/4."]
        else:
            problems = ["not the mixing time: it is the first t (counting from t = 0, before any step) at "
                        "which the total-variation distance from the worst starting state is at most 1/4."]
    if not problems:
        hints = {"you left out the factor 1/2 of the total-variation distance": 2 * by_start.max(),
                 "you took the better starting state; d(t) is the worst case over starting states":
                     by_start.min()}
        if abs(by_start.max() - by_start.min()) < 1e-12:
            hints.pop("you took the better starting state; d(t) is the worst case over starting states")
        problems = compare_scalar(distance, by_start.max(), "d(t_mix)", rtol=1e-8, hints=hints)
    return result("mixing time of EX_TWO and the distance it reaches", problems)


def _tv_cases():
    """Hidden (P, T, name): a dense irreversible chain, a lazy ring with drift, a periodic cycle, a Metropolis chain."""
    r = problem_rng(2213)
    cases = []
    P = r.dirichlet(np.full(3, 1.5), size=3).T                        # columns are the distributions
    cases.append((P, 12, "3 states"))
    K = 6
    up, down = r.uniform(0.45, 0.6), r.uniform(0.1, 0.2)
    ring = ((1 - up - down) * np.eye(K) + up * np.roll(np.eye(K), 1, axis=0)
            + down * np.roll(np.eye(K), -1, axis=0))
    cases.append((ring, 30, "6 states on a ring"))
    cw = r.uniform(0.6, 0.8)                                          # a walk on an even cycle: period 2
    cyc = cw * np.roll(np.eye(K), 1, axis=0) + (1 - cw) * np.roll(np.eye(K), -1, axis=0)
    cases.append((cyc, 10, "6 states, periodic"))
    target = r.dirichlet(np.full(5, 2.0))
    near = np.abs(np.subtract.outer(range(5), range(5))) == 1
    metro = np.minimum(1.0, target[:, None] / target[None, :]) / 2 * near
    metro[range(5), range(5)] = 1 - metro.sum(axis=0)
    cases.append((metro, 20, "5 states"))
    return cases


def tv_distance(fn) -> CheckResult:
    """Exercise (d), ``ex-b2-tv-function``: your function ``fn(P, T)`` returning the worst-case distance to
    stationarity after 0, 1, ..., T steps (an array of length T + 1) for a column-stochastic P with one closed class.
    Slips named: rows of P^t, P transposed, one starting state, no factor one half, a shifted list, pi from a long
    run."""
    from .references import appb_markov as refs
    def judge(out, where, P, T):
        v = refs.tv_variants(P, T)
        hints = {
            "you compared the rows of P^t with pi (the row-stochastic convention); here the distribution "
            "after t steps from state j is column j": v["rows"],
            "you started from state 0 only; d(t) takes the worst starting state": v["first"],
            "you left out the factor 1/2 of the total-variation distance": 2 * v["d"],
            "your list starts after one step; it should start at t = 0, before any step": v["late"],
            "you took pi from a long run of the chain from one state; a periodic chain never settles, so "
            "solve P pi = pi instead": v["run"],
            "you used the transpose of P (with its columns renormalized), the row-stochastic reading; here "
            "P[i, j] = p(next = i | now = j) already": v["transposed"],
        }
        return compare_array(out, v["d"], f"the output on {where}", rtol=1e-7, atol=1e-10, hints=hints)

    cases = [(f"test problem {i + 1} ({name}, T = {T})", (P, T)) for i, (P, T, name) in enumerate(_tv_cases())]
    return check_function("worst-case total-variation distance d(t)", fn, cases, judge, name="my_d",
                          signature="(P, T)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-b2-tv-function": {"same_data": FUNCTION_ANSWER},
}
