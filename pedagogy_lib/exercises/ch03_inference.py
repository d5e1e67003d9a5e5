r"""Checkers for the exercises of Section 3.5 (general inference algorithms)."""
from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np


from .checker import (FUNCTION_ANSWER, CheckResult, as_bool, as_integer, book_or_drawn, check_function, compare_array,
                      compare_scalar, problem_rng, result, tuple_problems)

__all__ = ["IsingRing", "EliminationProblem", "EX_RING", "EX_ELIM", "EX_MESSAGE", "INDEPENDENCE_KEYS", "ising_ring_Z",
           "largest_clique", "independences", "factor_message", "tree_bp_function"]


class IsingRing(NamedTuple):
    """``N`` spins of -1 or +1 on the cycle 1-2-...-N-1, coupling ``J`` on each edge, no field."""

    J: float
    N: int


class EliminationProblem(NamedTuple):
    """An undirected graph (``edges`` between the nodes ``0..n-1``) and an elimination ``order``."""

    n: int
    edges: tuple
    order: tuple


class MessageProblem(NamedTuple):
    """A factor ``psi[x_i, x_j, x_k]`` (2 x 3 x 2) and the messages ``mu_i`` (2,) and ``mu_k`` (2,) that x_i and x_k
    send it."""

    psi: np.ndarray
    mu_i: np.ndarray
    mu_k: np.ndarray


def _draw_ring(rng):
    """A ring like EX_RING with a coupling strong enough that (2 cosh J)^N alone does not pass."""
    N = int(rng.integers(40, 81))
    while True:
        J = round(float(rng.uniform(1.5, 2.5)), 2)
        if J != 1.6:
            return IsingRing(J, N)


#: Exercise (a): a ring of 60 Ising spins at J = 1.6, far too many for the page's enumeration.
EX_RING = book_or_drawn(IsingRing(1.6, 60), _draw_ring, seed=3511)

#: Exercise (b): a 3 x 4 grid (node r * 4 + c) and an order (corners, the two inner nodes of the middle row, the rest)
#: whose largest clique comes from fill-in.
EX_ELIM = EliminationProblem(
    12,
    tuple((r * 4 + c, r * 4 + c + 1) for r in range(3) for c in range(3))
    + tuple((r * 4 + c, (r + 1) * 4 + c) for r in range(2) for c in range(4)),
    (0, 3, 8, 11, 5, 6, 1, 2, 4, 7, 9, 10),
)


def _draw_message(rng):
    """A problem like EX_MESSAGE, every named slip clearly off."""
    from .references import ch03_inference as refs
    def message():
        while True:
            a = round(float(rng.uniform(0.15, 0.85)), 2)
            if abs(a - 0.5) >= 0.1:
                return np.array([a, round(1.0 - a, 2)])

    while True:
        p = MessageProblem(np.round(rng.uniform(0.2, 4.0, size=(2, 3, 2)), 1), message(), message())
        v = refs.message_variants(p)
        if all(np.abs(m - v["right"]).max() > 0.01 for k, m in v.items() if k != "right"):
            return p


#: Exercise (d): a message from a factor over three variables to the middle one, where the page's pairwise psi @ mu
#: does not apply.
EX_MESSAGE = book_or_drawn(MessageProblem(np.array([[[2.0, 0.5], [1.2, 3.0], [0.4, 1.5]],
                                                    [[0.3, 2.5], [1.8, 0.6], [3.2, 1.0]]]),
                                          np.array([0.7, 0.3]), np.array([0.2, 0.8])),
                           _draw_message, seed=3512)

#: Exercise (c): the statements about the square of Fig. 3.1A, as dictionary keys.
INDEPENDENCE_KEYS = ("x1 _||_ x4 | x2, x3", "x2 _||_ x3 | x1, x4", "x1 _||_ x4", "x1 _||_ x2 | x3, x4",
                     "x1 _||_ x4 | x2", "x2 _||_ x3 | x1")
_INDEPENDENCE_CASES = ((1, 4, (2, 3)), (2, 3, (1, 4)), (1, 4, ()), (1, 2, (3, 4)), (1, 4, (2,)), (2, 3, (1,)))


def ising_ring_Z(answer) -> CheckResult:
    """Exercise (a), ``ex-3-5-ising-z``: your partition function Z of :data:`EX_RING` (not log Z). Slips named: a
    normalized value, 0/1 states, an open chain, a ring of N - 1 spins, configurations left out or subtracted, log Z."""
    from .references import ch03_inference as refs
    J, N = EX_RING
    expected = refs.ring_Z(J, N)
    hints = {
        "you normalized something: Z is the sum of the unnormalized weights, not a probability": 1.0,
        "you summed over the states x in {0, 1} instead of the spins s = 2x - 1": refs.ring_Z(J, N, (0, 1)),
        "you left out the edge that closes the ring (s_N with s_1): that is Z of an open chain of N spins":
            2 * (2 * math.cosh(J)) ** (N - 1),
        "you closed the ring after N - 1 edges: that is Z of a ring of N - 1 spins": refs.ring_Z(J, N - 1),
        "your Z misses part of the sum: some configurations of the ring are not counted":
            (2 * math.cosh(J)) ** N,
        "your Z counts some configurations of the ring with a minus sign; every weight is positive":
            (2 * math.cosh(J)) ** N - (2 * math.sinh(J)) ** N,
        "you returned log Z; the exercise asks for Z itself": math.log(expected),
    }
    return result("Z of the Ising ring", compare_scalar(answer, expected, "Z", rtol=1e-9, hints=hints))


def largest_clique(answer) -> CheckResult:
    """Exercise (b), ``ex-3-5-clique``: the size (a number of nodes, not a width) of the largest clique created when
    :data:`EX_ELIM` is eliminated in its order."""
    from .references import ch03_inference as refs
    p = EX_ELIM
    expected = refs.elimination_width(p.n, p.edges, p.order)
    value, problems = as_integer(answer, "the clique size")
    if not problems and value != expected:
        problems = ["not the size of the largest clique this order creates. Replay *this* order (corners "
                    "first): eliminating a node joins all its remaining neighbours with fill-in "
                    "edges, and its clique is the node with its neighbours at that moment (nodes already "
                    "eliminated are gone). Count nodes, not the width (which is one less)."]
    return result("largest clique of the elimination order", problems)


def _square_joint() -> np.ndarray:
    """The joint table of a random four-cycle of pairwise potentials."""
    rng = problem_rng(3501)
    psi = {pair: rng.gamma(2.0, size=(2, 2)) for pair in ((1, 2), (1, 3), (2, 4), (3, 4))}
    P = np.zeros((2, 2, 2, 2))
    for x in itertools.product((0, 1), repeat=4):
        w = 1.0
        for (a, b), t in psi.items():
            w *= t[x[a - 1], x[b - 1]]
        P[x] = w
    return P / P.sum()


def independences(answer) -> CheckResult:
    """Exercise (c), ``ex-3-5-independences``: a dict mapping each statement of :data:`INDEPENDENCE_KEYS` to a bool
    for the square. All or nothing."""
    from .references import ch03_inference as refs
    if not isinstance(answer, dict):
        return result("independences in the square",
                      [f"your answer should be a dict with the keys of check.INDEPENDENCE_KEYS; got "
                       f"{type(answer).__name__}."])
    P = _square_joint()
    truth = {k: refs.indep(P, a, b, given) for k, (a, b, given) in zip(INDEPENDENCE_KEYS, _INDEPENDENCE_CASES)}
    problems = []
    missing = [k for k in INDEPENDENCE_KEYS if k not in answer]
    if missing:
        problems.append(f"missing statements: {missing} (copy the keys from check.INDEPENDENCE_KEYS).")
    values = {}
    for k in INDEPENDENCE_KEYS:
        if k in answer:
            values[k], p = as_bool(answer[k], f"the value for {k!r}", strict=True)
            problems += p
    if not problems and any(values[k] != truth[k] for k in INDEPENDENCE_KEYS):
        problems.append(f"not all {len(INDEPENDENCE_KEYS)} statements are right (the checker does not say which, "
                        "nor how many): a set separates two nodes when every path between them passes through it; "
                        "neighbours are never separated.")
    return result("independences in the square", problems)


def factor_message(answer) -> CheckResult:
    """Exercise (d), ``ex-3-5-message``: your normalized message (3,) from the factor of :data:`EX_MESSAGE` to x_j.
    Slips named: max-product, incoming messages left out, both broadcast along psi's last axis, the two swapped."""
    from .references import ch03_inference as refs
    hints = refs.message_variants(EX_MESSAGE)
    expected = hints.pop("right")
    return result("the factor-to-variable message",
                  compare_array(answer, expected, "mu_f_to_j", rtol=1e-9, hints=hints))


def tree_bp_function(fn) -> CheckResult:
    """Exercise ``ex-3-5-tree-bp-function``: your function ``fn(parent, phi, psi)`` returning ``(marginals, log_Z)``
    of a pairwise tree laid out as ``make_pairwise_tree`` lays it out, compared with the library's sum-product.
    Slips named: the edge potential transposed, the node's own potential left out of its belief, the collect sweep
    alone."""
    from .references import ch03_inference as refs
    def judge(out, where, parent, phi, psi, ref):
        problems = tuple_problems(out, 2, "the pair (marginals, log_Z)", where)
        if problems:
            return problems
        flipped = refs.tree_variant(parent, phi, psi, transposed=True)
        transposed = "you read the edge potential transposed: psi[i] is indexed [x_parent, x_i]"
        hints = {transposed: flipped[0],
                 "you left the node's own potential phi_i out of its belief":
                     refs.tree_variant(parent, phi, psi, own=False)[0],
                 "you stopped after the collect sweep: only the root has heard from every node then":
                     refs.tree_variant(parent, phi, psi, distribute=False)[0]}
        return (compare_array(out[0], ref[0], f"the marginals on {where}", rtol=1e-7, atol=1e-10, hints=hints)
                + compare_scalar(out[1], ref[1], f"log_Z on {where}", rtol=1e-7, atol=1e-9,
                                 hints={transposed: flipped[1]}))

    cases = [(f"test problem {i + 1} ({what})", args, ref) for i, (what, args, ref) in enumerate(refs.tree_cases())]
    return check_function("sum-product on a pairwise tree", fn, cases, judge, name="my_tree_bp",
                          signature="(parent, phi, psi)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-3-5-clique": {"same_data": "the statement describes the graph and the order; the solution discusses them"},
    "ex-3-5-independences": {"same_data": "the answer is True or False per statement, fixed by the graph"},
    "ex-3-5-tree-bp-function": {"same_data": FUNCTION_ANSWER},
}
