r"""Checkers for the exercises of Appendix B.2, "Markov chains" (column-stochastic transition matrices).

Use in the notebook as::

    from pedagogy_lib.exercises import appb_markov as check
    check.EX_P                          # a 3-state transition matrix, P[i, j] = p(next = i | now = j)
    check.reversible(my_flow, my_bool)  # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import math

import numpy as np

from .checker import (CheckResult, as_bool, as_integer, as_numeric, book_or_drawn, compare_array, compare_scalar,
                      problem_rng, result, check_function)

__all__ = ["EX_P", "EX_P5", "EX_TWO", "stationary", "reversible", "two_state_mixing_time", "tv_distance"]


def _draw_chain(rng) -> np.ndarray:
    """A column-stochastic 3-state chain for one student, every entry at least 0.03. Half of the draws
    satisfy detailed balance (a symmetric flow matrix divided by its column sums), half are clearly
    not reversible (the two directions around the cycle differ by a fifth or more), so that exercise
    (b) has either answer."""
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
EX_P = book_or_drawn(np.array([[0.5, 0.1, 0.3],
                               [0.3, 0.7, 0.1],
                               [0.2, 0.2, 0.6]]), _draw_chain, seed=2211)


def _stationary_solve(P: np.ndarray) -> np.ndarray:
    """pi with P pi = pi and entries summing to one, from the linear system (valid for periodic chains too)."""
    K = P.shape[0]
    A = np.vstack([P - np.eye(K), np.ones((1, K))])
    return np.linalg.lstsq(A, np.r_[np.zeros(K), 1.0], rcond=None)[0]


def _periodic(to_b: np.ndarray, to_a: np.ndarray) -> np.ndarray:
    """The 5-state chain that moves from a state of the group {0, 1} to {2, 3, 4} with the columns of
    ``to_b`` (3 x 2) and back with the columns of ``to_a`` (2 x 3): irreducible, period 2."""
    P = np.zeros((5, 5))
    P[2:, :2], P[:2, 2:] = to_b, to_a
    return P


def _draw_periodic(rng) -> np.ndarray:
    """A chain like the book's EX_P5 for one student: every move between the two groups at least 0.05,
    the other eigenvalues (besides 1 and -1) at most 0.6 in modulus, so that iterating from one state
    settles into its two-step oscillation within a hundred steps, and a stationary distribution clearly
    neither uniform nor that of the transposed chain."""
    while True:
        P = _periodic(rng.dirichlet(np.full(3, 2.0), size=2).T, rng.dirichlet(np.full(2, 2.0), size=3).T)
        if P[2:, :2].min() < 0.05 or P[:2, 2:].min() < 0.05:
            continue
        mods = np.sort(np.abs(np.linalg.eigvals(P)))
        pi = _stationary_solve(P)
        Q = P.T / P.T.sum(axis=0, keepdims=True)
        if mods[-3] <= 0.6 and np.abs(pi - 0.2).max() > 0.03 and np.abs(_stationary_solve(Q) - pi).max() > 0.02:
            return P


#: Exercise (a): an irreducible 5-state chain of period 2 (it moves only between the states {0, 1} and
#: {2, 3, 4}), with a stationary distribution that is not uniform. Unlike the page's random walk, a hundred
#: steps p <- P p from one state do not find it: they alternate between the two groups forever.
EX_P5 = book_or_drawn(_periodic(np.array([[0.6, 0.2], [0.3, 0.2], [0.1, 0.6]]),
                                np.array([[0.9, 0.4, 0.3], [0.1, 0.6, 0.7]])), _draw_periodic, seed=2214)


def _draw_two(rng) -> tuple:
    """(a, b) for one student (two decimals), with a mixing time of at least 2 steps and no step at which
    the distance from stationarity is within rounding of 1/4."""
    while True:
        a, b = (float(v) for v in np.round(rng.uniform(0.03, 0.35, 2), 2))
        rho, worst = abs(1 - a - b), max(a, b) / (a + b)
        d = worst * rho ** np.arange(200)
        t = int(np.argmax(d <= 0.25))
        if t >= 2 and np.min(np.abs(d[:t + 1] - 0.25)) > 1e-6:
            return a, b


#: Exercise (c): the two-state chain with p(1 | 0) = a and p(0 | 1) = b.
EX_TWO = book_or_drawn((0.3, 0.1), _draw_two, seed=2212)


def _power(P: np.ndarray, n: int = 5000) -> np.ndarray:
    p = np.full(P.shape[0], 1.0 / P.shape[0])
    for _ in range(n):
        p = P @ p
    return p / p.sum()


def _iterated(P: np.ndarray, p: np.ndarray, steps: int) -> np.ndarray:
    for _ in range(steps):
        p = P @ p
    return p


def stationary(answer) -> CheckResult:
    """Exercise (a), ``ex-b2-stationary``: your stationary distribution of :data:`EX_P5`.

    Pass a probability vector of shape (5,), one entry per state. The checker recognizes an answer
    worked out for the other (row-stochastic) convention, normalized or not (a left eigenvector of a
    column-stochastic matrix is the constant vector), an eigenvector not yet normalized to sum to one
    (of either sign, as an eigensolver returns it), a single column of ``EX_P5``, and the distribution
    after many steps p <- P p from one state or from the uniform distribution (the chain is periodic, so
    that distribution alternates and is not pi).
    """
    title = "stationary distribution of EX_P5"
    P = EX_P5
    K = P.shape[0]
    expected = _stationary_solve(P)
    row_convention = ("you solved pi^T P = pi^T, the row-stochastic convention; here the columns of P sum to "
                      "one, so pi is a right eigenvector, P pi = pi")
    hints = {row_convention: _stationary_solve(P.T / P.T.sum(axis=0, keepdims=True)),
             "you gave a column of P (one step from a single state), not the long-run distribution": P[:, 0]}
    iterated = ("you iterated p <- P p from one starting distribution: this chain is periodic (period 2), so "
                "p_t alternates between two groups of states and never settles, however many steps you take")
    limits = [_iterated(P, start, steps) for start in [*np.eye(K), np.full(K, 1 / K)] for steps in (200, 201)]
    arr, problems = as_numeric(answer, "pi")
    if not problems and arr.shape == expected.shape and abs(arr.sum()) > 1e-12 and not np.allclose(arr, expected):
        scaled = arr / arr.sum()
        if np.allclose(scaled, np.full(K, 1 / K), rtol=1e-8, atol=1e-12) and not np.allclose(expected, 1 / K):
            return result(title, [f"pi is what you get if {row_convention}."])
        if any(np.allclose(arr, limit, rtol=1e-8, atol=1e-10) for limit in limits):
            return result(title, [f"pi is what you get if {iterated}."])
        if np.allclose(scaled, expected, rtol=1e-8, atol=1e-12):
            return result(title, ["pi points the right way but is not a probability vector: an eigensolver "
                                  "returns a vector of unit length and arbitrary sign; normalize it by dividing by its sum."])
    return result(title, compare_array(answer, expected, "pi", rtol=1e-8, hints=hints))


def reversible(flow, answer) -> CheckResult:
    """Exercise (b), ``ex-b2-reversible``: the largest net probability flow between two states of
    :data:`EX_P` at stationarity, max over i, j of |P_ij pi_j - P_ji pi_i| (a number, zero for a reversible
    chain), and True or False (a real bool) for "EX_P satisfies detailed balance with respect to its
    stationary distribution".

    The checker recognizes the flow computed with the uniform distribution (or with none) in place of pi
    and the flow summed over all pairs. The bool is judged only once the flow is right, and must agree
    with it.
    """
    title = "net probability flow of EX_P, and is it reversible?"
    pi = _power(EX_P)
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
    """Exercise (c), ``ex-b2-mixing``: your mixing time t_mix(1/4) of the two-state chain :data:`EX_TWO`, a
    whole number of steps, and the distance d(t_mix) from stationarity reached at that step, a number.

    The checker recognizes the spectral upper bound given in place of the mixing time and, for the
    distance, a missing factor of one half and the better starting state in place of the worst.
    """
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
    """Chains the student's function has not seen, as (P, T, name): a dense chain that is not reversible,
    a lazy ring walk with a drift (many zero entries), a periodic walk on a cycle whose distance never
    falls to zero, and a reversible Metropolis chain, each column-stochastic with one closed class."""
    r = problem_rng(2213)
    cases = []
    P = r.dirichlet(np.full(3, 1.5), size=3).T                        # columns are the distributions
    cases.append((P, 12, "3 states"))
    K = 6
    up, down = r.uniform(0.45, 0.6), r.uniform(0.1, 0.2)
    ring = (1 - up - down) * np.eye(K) + up * np.roll(np.eye(K), 1, axis=0) + down * np.roll(np.eye(K), -1, axis=0)
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


def _tv_variants(P: np.ndarray, T: int) -> dict:
    """d(t) for t = 0..T, and what named slips give: by rows, from state 0 only, one step late, and with pi
    taken from a long run of the chain from state 0."""
    pi = _stationary_solve(P)
    Pt = np.eye(P.shape[0])
    cols, rows, first = [], [], []
    for _ in range(T + 2):
        cols.append(0.5 * np.abs(Pt - pi[:, None]).sum(axis=0).max())
        rows.append(0.5 * np.abs(Pt - pi[None, :]).sum(axis=1).max())
        first.append(0.5 * np.abs(Pt[:, 0] - pi).sum())
        Pt = P @ Pt
    d = np.array(cols)
    out = {"d": d[:-1], "rows": np.array(rows)[:-1], "first": np.array(first)[:-1], "late": d[1:]}
    pi_run, Pt, run = np.linalg.matrix_power(P, 1000)[:, 0], np.eye(P.shape[0]), []    # a long run from state 0
    for _ in range(T + 1):
        run.append(0.5 * np.abs(Pt - pi_run[:, None]).sum(axis=0).max())
        Pt = P @ Pt
    out["run"] = np.array(run)
    Q = P.T / P.T.sum(axis=0, keepdims=True)         # the transpose, its columns made to sum to one again
    pi_q, Qt, trans = _stationary_solve(Q), np.eye(P.shape[0]), []
    for _ in range(T + 1):
        trans.append(0.5 * np.abs(Qt - pi_q[:, None]).sum(axis=0).max())
        Qt = Q @ Qt
    out["transposed"] = np.array(trans)
    return out


def tv_distance(fn) -> CheckResult:
    """Exercise (d), ``ex-b2-tv-function``: your function ``fn(P, T)`` returning the worst-case distance to
    stationarity after t steps, for every t from 0 to T: a one-dimensional array of length T + 1.

    ``P`` is a (K, K) column-stochastic matrix, ``P[i, j] = p(next = i | now = j)``, with one closed class;
    ``T`` is a whole number. It is run on chains made here, reversible or not, one of them periodic. The
    checker recognizes the rows of P^t used in place of its columns, P transposed and renormalized, a
    single starting state, a missing factor of one half, the list shifted by one step, and a stationary
    distribution taken from a long run of the chain.
    """
    def judge(out, where, P, T):
        v = _tv_variants(P, T)
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
    return check_function("worst-case total-variation distance d(t)", fn, cases, judge, name="my_d", signature="(P, T)")


#: For the graded (nbgrader) version (courseware/grading.py): per exercise, problem data drawn for each
#: student ("variant"), or why every student gets the same data ("same_data").
SUMMATIVE = {
    "ex-b2-tv-function": {"same_data": "the answer is a function, which the grader calls on test problems of the "
                                       "checker's own (drawn for each student)"},
}
