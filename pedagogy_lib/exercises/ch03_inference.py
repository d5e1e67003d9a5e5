r"""Checkers for the exercises of Section 3.5 (general inference algorithms)."""
from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np

from scipy.special import logsumexp

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

def _message_variants(p: MessageProblem) -> dict:
    """The normalized message to x_j (``"right"``), by explicit loops, and the named slips'."""
    def norm(m):
        m = np.asarray(m, dtype=float)
        return m / m.sum()

    def summed(wi, wk, reduce=sum):
        return norm([reduce(p.psi[i, j, k] * wi[i] * wk[k] for i in range(2) for k in range(2)) for j in range(3)])

    one = np.ones(2)
    both_on_k = norm([sum(p.psi[i, j, k] * p.mu_i[k] * p.mu_k[k] for i in range(2) for k in range(2))
                      for j in range(3)])
    return {"right": summed(p.mu_i, p.mu_k),
            "you took the maximum over x_i and x_k (max-product) instead of the sum": summed(p.mu_i, p.mu_k, max),
            "you left out the incoming message mu_i": summed(one, p.mu_k),
            "you left out the incoming message mu_k": summed(p.mu_i, one),
            "you left out both incoming messages": summed(one, one),
            "you multiplied both messages along the last axis of psi (x_k's): psi * mu_i broadcasts mu_i "
            "against x_k, not x_i": both_on_k,
            "you weighted the axis of x_i by mu_k and the axis of x_k by mu_i": summed(p.mu_k, p.mu_i)}


def _draw_message(rng):
    """A problem like EX_MESSAGE, every named slip clearly off."""
    def message():
        while True:
            a = round(float(rng.uniform(0.15, 0.85)), 2)
            if abs(a - 0.5) >= 0.1:
                return np.array([a, round(1.0 - a, 2)])

    while True:
        p = MessageProblem(np.round(rng.uniform(0.2, 4.0, size=(2, 3, 2)), 1), message(), message())
        v = _message_variants(p)
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


def _ring_Z(J: float, N: int, states=(-1, 1)) -> float:
    """Z of a ring of N spins with values ``states``: the trace of the N-th power of the edge table."""
    a, b = states
    t = [[math.exp(J * a * a), math.exp(J * a * b)], [math.exp(J * b * a), math.exp(J * b * b)]]
    tr, det = t[0][0] + t[1][1], t[0][0] * t[1][1] - t[0][1] * t[1][0]
    root = math.sqrt(tr * tr / 4 - det)
    return (tr / 2 + root) ** N + (tr / 2 - root) ** N


def ising_ring_Z(answer) -> CheckResult:
    """Exercise (a), ``ex-3-5-ising-z``: your partition function Z of :data:`EX_RING` (not log Z). Slips named: a
    normalized value, 0/1 states, an open chain, a ring of N - 1 spins, configurations left out or subtracted, log Z."""
    J, N = EX_RING
    expected = _ring_Z(J, N)
    hints = {
        "you normalized something: Z is the sum of the unnormalized weights, not a probability": 1.0,
        "you summed over the states x in {0, 1} instead of the spins s = 2x - 1": _ring_Z(J, N, (0, 1)),
        "you left out the edge that closes the ring (s_N with s_1): that is Z of an open chain of N spins":
            2 * (2 * math.cosh(J)) ** (N - 1),
        "you closed the ring after N - 1 edges: that is Z of a ring of N - 1 spins": _ring_Z(J, N - 1),
        "your Z misses part of the sum: some configurations of the ring are not counted":
            (2 * math.cosh(J)) ** N,
        "your Z counts some configurations of the ring with a minus sign; every weight is positive":
            (2 * math.cosh(J)) ** N - (2 * math.sinh(J)) ** N,
        "you returned log Z; the exercise asks for Z itself": math.log(expected),
    }
    return result("Z of the Ising ring", compare_scalar(answer, expected, "Z", rtol=1e-9, hints=hints))


def _elimination_width(n: int, edges, order) -> int:
    nbrs = {v: set() for v in range(n)}
    for a, b in edges:
        nbrs[a].add(b)
        nbrs[b].add(a)
    largest = 0
    for v in order:
        clique = nbrs[v] | {v}
        largest = max(largest, len(clique))
        for a in nbrs[v]:
            nbrs[a] |= nbrs[v] - {a}
            nbrs[a].discard(v)
        del nbrs[v]
    return largest


def largest_clique(answer) -> CheckResult:
    """Exercise (b), ``ex-3-5-clique``: the size (a number of nodes, not a width) of the largest clique created when
    :data:`EX_ELIM` is eliminated in its order."""
    p = EX_ELIM
    expected = _elimination_width(p.n, p.edges, p.order)
    value, problems = as_integer(answer, "the clique size")
    if not problems and value != expected:
        problems = ["not the size of the largest clique this order creates. Replay *this* order (corners "
                    "first): eliminating a node joins all its remaining neighbours with fill-in "
                    "edges, and its clique is the node with its neighbours at that moment (nodes already "
                    "eliminated are gone). Count nodes, not the width (which is one less)."]
    return result("largest clique of the elimination order", problems)


def _square_joint() -> np.ndarray:
    rng = problem_rng(3501)
    psi = {pair: rng.gamma(2.0, size=(2, 2)) for pair in ((1, 2), (1, 3), (2, 4), (3, 4))}
    P = np.zeros((2, 2, 2, 2))
    for x in itertools.product((0, 1), repeat=4):
        w = 1.0
        for (a, b), t in psi.items():
            w *= t[x[a - 1], x[b - 1]]
        P[x] = w
    return P / P.sum()


def _indep(P: np.ndarray, a: int, b: int, given: tuple) -> bool:
    """Whether x_a and x_b are independent given ``given`` in the joint table P."""
    letters = "pqrs"
    keep = "".join(letters[i - 1] for i in (a, b) + tuple(given))
    Q = np.einsum(f"pqrs->{keep}", P)
    cond = Q / Q.sum(axis=(0, 1), keepdims=True)
    return bool(np.abs(cond - cond.sum(axis=1, keepdims=True) * cond.sum(axis=0, keepdims=True)).max() < 1e-12)


def independences(answer) -> CheckResult:
    """Exercise (c), ``ex-3-5-independences``: a dict mapping each statement of :data:`INDEPENDENCE_KEYS` to a bool
    for the square. All or nothing."""
    if not isinstance(answer, dict):
        return result("independences in the square",
                      [f"your answer should be a dict with the keys of check.INDEPENDENCE_KEYS; got "
                       f"{type(answer).__name__}."])
    P = _square_joint()
    truth = {k: _indep(P, a, b, given) for k, (a, b, given) in zip(INDEPENDENCE_KEYS, _INDEPENDENCE_CASES)}
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
    hints = _message_variants(EX_MESSAGE)
    expected = hints.pop("right")
    return result("the factor-to-variable message",
                  compare_array(answer, expected, "mu_f_to_j", rtol=1e-9, hints=hints))

def _relabelled(parent, phi, psi, rng):
    """The same tree with its nodes renamed at random: a parent's number may then exceed its child's."""
    N = len(parent)
    new = rng.permutation(N)                        # node i becomes node new[i]
    par = np.full(N, -1, dtype=np.int64)
    par[new] = np.where(parent >= 0, new[np.maximum(parent, 0)], -1)
    out_phi, out_psi = np.empty_like(phi), np.empty_like(psi)
    out_phi[new], out_psi[new] = phi, psi
    return par, out_phi, out_psi


def _tree_cases():
    """Hidden problems (description, parent, phi, psi) and the library's marginals and log Z."""
    from ..graphical.tree import make_pairwise_tree, tree_sum_product

    r = problem_rng(3513)
    cases = []
    for kind, N, K in [("a random tree", 10, 2), ("a tree numbered out of order", 12, 3), ("a chain", 20, 4),
                       ("a star", 9, 2), ("a single node", 1, 3), ("a tree whose Z overflows a float64", 300, 2)]:
        if kind == "a chain":
            parent = np.arange(-1, N - 1)
        elif kind == "a star":
            parent = np.full(N, N // 2)
            parent[N // 2] = -1
        else:
            parent = np.array([-1] + [int(r.integers(0, i)) for i in range(1, N)], dtype=np.int64)
        phi = np.exp(r.normal(size=(N, K)) + (3.0 if N > 100 else 0.0))
        psi = np.exp(r.uniform(0.8, 1.6) * r.normal(size=(N, K, K)))
        if kind in ("a tree numbered out of order", "a tree whose Z overflows a float64"):
            parent, phi, psi = _relabelled(parent, phi, psi, r)
        res = tree_sum_product(make_pairwise_tree(parent, phi, psi), backend="numpy")
        cases.append((f"{kind}, N = {N}, K = {K}", (parent, phi, psi), (res.marginals, res.log_Z)))
    return cases


def _tree_variant(parent, phi, psi, *, transposed=False, own=True, distribute=True):
    """Sum-product in the log domain, one named slip switched on: (marginals, log Z)."""
    N, K = phi.shape
    lphi, lpsi = np.log(phi), np.log(psi)
    if transposed:
        lpsi = np.swapaxes(lpsi, 1, 2)
    children = [[] for _ in range(N)]
    for i, p in enumerate(parent):
        if p >= 0:
            children[p].append(i)
    root = int(np.flatnonzero(np.asarray(parent) < 0)[0])
    order, k = [root], 0
    while k < len(order):
        order.extend(children[order[k]])
        k += 1
    up, down = np.zeros((N, K)), np.zeros((N, K))   # log messages to the parent (in x_pa), from it (in x_i)
    for i in reversed(order[1:]):
        inside = lphi[i] + sum((up[c] for c in children[i]), np.zeros(K))
        up[i] = logsumexp(lpsi[i] + inside[None, :], axis=1)
    for i in order:
        for c in children[i]:
            cavity = lphi[i] + down[i] + sum((up[d] for d in children[i] if d != c), np.zeros(K))
            down[c] = logsumexp(lpsi[c] + cavity[:, None], axis=0)
    belief = np.array([(lphi[i] if own else 0.0) + (down[i] if distribute else 0.0)
                       + sum((up[c] for c in children[i]), np.zeros(K)) for i in range(N)])
    log_Z = float(logsumexp(lphi[root] + sum((up[c] for c in children[root]), np.zeros(K))))
    return np.exp(belief - logsumexp(belief, axis=1, keepdims=True)), log_Z


def tree_bp_function(fn) -> CheckResult:
    """Exercise ``ex-3-5-tree-bp-function``: your function ``fn(parent, phi, psi)`` returning ``(marginals, log_Z)``
    of a pairwise tree laid out as ``make_pairwise_tree`` lays it out, compared with the library's sum-product.
    Slips named: the edge potential transposed, the node's own potential left out of its belief, the collect sweep
    alone."""
    def judge(out, where, parent, phi, psi, ref):
        problems = tuple_problems(out, 2, "the pair (marginals, log_Z)", where)
        if problems:
            return problems
        flipped = _tree_variant(parent, phi, psi, transposed=True)
        transposed = "you read the edge potential transposed: psi[i] is indexed [x_parent, x_i]"
        hints = {transposed: flipped[0],
                 "you left the node's own potential phi_i out of its belief":
                     _tree_variant(parent, phi, psi, own=False)[0],
                 "you stopped after the collect sweep: only the root has heard from every node then":
                     _tree_variant(parent, phi, psi, distribute=False)[0]}
        return (compare_array(out[0], ref[0], f"the marginals on {where}", rtol=1e-7, atol=1e-10, hints=hints)
                + compare_scalar(out[1], ref[1], f"log_Z on {where}", rtol=1e-7, atol=1e-9,
                                 hints={transposed: flipped[1]}))

    cases = [(f"test problem {i + 1} ({what})", args, ref) for i, (what, args, ref) in enumerate(_tree_cases())]
    return check_function("sum-product on a pairwise tree", fn, cases, judge, name="my_tree_bp",
                          signature="(parent, phi, psi)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-3-5-clique": {"same_data": "the statement describes the graph and the order; the solution discusses them"},
    "ex-3-5-independences": {"same_data": "the answer is True or False per statement, fixed by the graph"},
    "ex-3-5-tree-bp-function": {"same_data": FUNCTION_ANSWER},
}
