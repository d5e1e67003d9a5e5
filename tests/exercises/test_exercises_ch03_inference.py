"""Tests for the Section 3.5 exercise checkers (pedagogy_lib.exercises.ch03_inference).

Correct answers come from the library's independent routes: the junction tree (and, for a short ring,
enumeration) for Z,
networkx's elimination for the clique size, d-separation-free graph separation for the square, and
explicit loops and belief propagation for the message.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from pedagogy_lib import graphical as g
from pedagogy_lib.exercises import ch03_inference as check
from pedagogy_lib.exercises.references import ch03_inference as refs


def _ising_square_factors(J):
    s = np.array([-1.0, 1.0])
    return [(pair, np.exp(J * np.outer(s, s))) for pair in ((1, 2), (1, 3), (2, 4), (3, 4))]


def _ising_ring_factors(J, N, states=(-1.0, 1.0)):
    s = np.array(states)
    return [((n, (n + 1) % N), np.exp(J * np.outer(s, s))) for n in range(N)]


def test_ising_ring_Z():
    """The reference is the junction tree of the ring (cliques of three spins); the named slips are the
    junction tree of the open chain, of the ring in states 0/1, and of the ring one spin shorter."""
    J, N = check.EX_RING
    assert N >= 40
    Z = np.exp(g.junction_tree(_ising_ring_factors(J, N)).log_Z)
    assert check.ising_ring_Z(Z)
    assert check.ising_ring_Z(str(Z))
    r = check.ising_ring_Z(np.log(Z))
    assert not r and "log Z" in str(r)
    open_chain = np.exp(g.junction_tree(_ising_ring_factors(J, N)[:-1]).log_Z)
    r = check.ising_ring_Z(open_chain)
    assert not r and "closes the ring" in str(r)
    r = check.ising_ring_Z(np.exp(g.junction_tree(_ising_ring_factors(J, N, (0.0, 1.0))).log_Z))
    assert not r and "{0, 1}" in str(r)
    r = check.ising_ring_Z(np.exp(g.junction_tree(_ising_ring_factors(J, N - 1)).log_Z))
    assert not r and "N - 1" in str(r)
    assert not check.ising_ring_Z(None)
    # the second eigenvalue's term matters: the largest term alone, or the two subtracted, do not pass
    assert np.tanh(J) ** N > 1e-4
    r = check.ising_ring_Z((2 * np.cosh(J)) ** N)
    assert not r and "not counted" in str(r) and "eigen" not in str(r)
    r = check.ising_ring_Z((2 * np.cosh(J)) ** N - (2 * np.sinh(J)) ** N)
    assert not r and "minus sign" in str(r)


def test_ising_rings_drawn_for_students_keep_the_second_term_visible():
    """Every student's ring is beyond enumeration, and the larger eigenvalue's term alone does not pass."""
    from courseware import grading as G

    for salt in range(12):
        fresh = G.own_copy(check, salt)
        J, N = fresh.EX_RING
        assert 40 <= N <= 80 and np.tanh(J) ** N > 3e-4
        assert fresh.ising_ring_Z((2 * np.cosh(J)) ** N + (2 * np.sinh(J)) ** N)
        assert not fresh.ising_ring_Z((2 * np.cosh(J)) ** N)


def test_ising_ring_Z_on_short_rings_by_enumeration(monkeypatch):
    """The checker's reference, by the eigenvalues of the edge table, against the sum over all 2^N
    configurations of rings short enough to enumerate, at couplings weak and strong."""
    import itertools

    for J in (0.37, 1.1):
        for N in (3, 4, 7, 10):
            monkeypatch.setattr(check, "EX_RING", check.IsingRing(J, N))
            total = sum(np.exp(J * sum(s[n] * s[(n + 1) % N] for n in range(N)))
                        for s in itertools.product((-1, 1), repeat=N))
            assert check.ising_ring_Z(total)
            assert not check.ising_ring_Z(total * (1 + 1e-7))


def test_largest_clique():
    p = check.EX_ELIM
    factors = [(e, np.ones((2, 2))) for e in p.edges]
    jt = g.junction_tree(factors, order=list(p.order))
    size = jt.width + 1
    assert check.largest_clique(size)
    below, above, far = (str(check.largest_clique(v)) for v in (size - 1, size + 1, 2))
    assert "[not yet]" in below and "fill-in" in below and "Replay" in below
    assert below == above == far           # a miss says nothing of its direction or size
    assert not check.largest_clique(2.5)


def test_independences():
    square = g.markov_network(_ising_square_factors(0.3))
    cases = {"x1 _||_ x4 | x2, x3": (1, 4, [2, 3]), "x2 _||_ x3 | x1, x4": (2, 3, [1, 4]), "x1 _||_ x4": (1, 4, []),
             "x1 _||_ x2 | x3, x4": (1, 2, [3, 4]), "x1 _||_ x4 | x2": (1, 4, [2]), "x2 _||_ x3 | x1": (2, 3, [1])}
    assert set(cases) == set(check.INDEPENDENCE_KEYS)
    truth = {k: g.separated(square, a, c, given) for k, (a, c, given) in cases.items()}
    assert sum(truth.values()) == 2
    assert check.independences(truth)
    assert check.independences({k: np.bool_(v) for k, v in truth.items()})
    # a real bool only: the strings "yes"/"no" or "False" and the numbers 0/1 are not answers
    for fake in (lambda v: "yes" if v else "no", str, int):
        r = check.independences({k: fake(v) for k, v in truth.items()})
        assert not r and "should be the bool" in str(r)
    # all or nothing: one, two or four wrong statements get the same message, naming none of them
    messages = set()
    for wrong in ([2], [0, 3], [0, 1, 2, 3], [1], [4], [5], [4, 5]):
        flipped = dict(truth)
        for i in wrong:
            flipped[check.INDEPENDENCE_KEYS[i]] = not truth[check.INDEPENDENCE_KEYS[i]]
        r = check.independences(flipped)
        assert not r
        messages.add(str(r))
        assert not any(k in str(r) for k in check.INDEPENDENCE_KEYS)
    assert len(messages) == 1
    r = check.independences({check.INDEPENDENCE_KEYS[0]: True})
    assert not r and "missing" in str(r)
    assert not check.independences([True, True, False, False])


def _message_by_loops(p, wi, wk, reduce=sum):
    """The message to x_j with the axes of x_i and x_k weighted by wi and wk, not yet normalized."""
    return np.array([reduce(p.psi[i, j, k] * wi[i] * wk[k] for i in range(2) for k in range(2))
                     for j in range(3)])


def test_factor_message():
    p = check.EX_MESSAGE
    assert p.psi.shape == (2, 3, 2) and p.mu_i.shape == p.mu_k.shape == (2,)
    m = _message_by_loops(p, p.mu_i, p.mu_k)
    assert check.factor_message(m / m.sum())
    # x_j has no other factor, so its marginal from BP on the factor and the two messages is the message
    res = g.belief_propagation([(("i", "j", "k"), p.psi), (("i",), p.mu_i), (("k",), p.mu_k)])
    np.testing.assert_allclose(res.marginals["j"], m / m.sum(), rtol=1e-12)
    assert check.factor_message(res.marginals["j"])
    r = check.factor_message(m)
    assert not r and "normalize" in str(r)
    one = np.ones(2)
    for (wi, wk, reduce), fragment in (((p.mu_i, p.mu_k, max), "max-product"),
                                       ((one, p.mu_k, sum), "mu_i"),
                                       ((p.mu_i, one, sum), "mu_k"),
                                       ((one, one, sum), "both incoming"),
                                       ((p.mu_k, p.mu_i, sum), "axis of x_i by mu_k")):
        wrong = _message_by_loops(p, wi, wk, reduce)
        r = check.factor_message(wrong / wrong.sum())
        assert not r and fragment in str(r), str(r)
    broadcast = (p.psi * p.mu_i * p.mu_k).sum(axis=(0, 2))      # both messages on the last axis
    r = check.factor_message(broadcast / broadcast.sum())
    assert not r and "broadcasts" in str(r), str(r)


def test_factor_message_drawn_for_students_has_its_slips_apart():
    """Every student's problem: the right message passes and each named slip is recognized as such."""
    from courseware import grading as G

    for salt in range(12):
        fresh = G.own_copy(check, salt)
        p = fresh.EX_MESSAGE
        assert not np.array_equal(p.psi, check.EX_MESSAGE.psi)
        m = _message_by_loops(p, p.mu_i, p.mu_k)
        assert fresh.factor_message(m / m.sum())
        for wi, wk in ((np.ones(2), p.mu_k), (p.mu_i, np.ones(2)), (p.mu_k, p.mu_i)):
            wrong = _message_by_loops(p, wi, wk)
            r = fresh.factor_message(wrong / wrong.sum())
            assert not r and "you " in str(r), str(r)


def test_ising_ring_is_not_the_pages_square():
    """The page enumerates its square at J = 0.5 and prints Z = 27.048783; its enumeration, copied with the
    exercise's coupling, gives the square's Z: neither number passes for the ring."""
    J, N = check.EX_RING
    assert J != 0.5 and 2**N > 1e12
    page_Z = np.exp(g.junction_tree(_ising_square_factors(0.5)).log_Z)
    np.testing.assert_allclose(page_Z, 27.048783, atol=1e-6)
    assert not check.ising_ring_Z(page_Z)
    assert not check.ising_ring_Z(np.exp(g.junction_tree(_ising_square_factors(J)).log_Z))


def test_factor_message_is_not_the_pages_example():
    """The page prints the normalized message of its own pairwise psi and mu_j; its product psi @ mu_j,
    copied with the exercise's last message, sums out x_k only, and summed over x_i as well it leaves out
    mu_i: none of these passes."""
    psi, mu_j = np.array([[1.0, 3.0], [2.0, 0.5], [0.2, 4.0]]), np.array([0.25, 0.75])
    page = psi @ mu_j
    assert not check.factor_message(page / page.sum())
    p = check.EX_MESSAGE
    copied = p.psi @ p.mu_k                                    # (2, 3): x_i is still there
    r = check.factor_message(copied / copied.sum())
    assert not r and "shape" in str(r)
    r = check.factor_message(copied.sum(axis=0) / copied.sum())
    assert not r and "left out the incoming message mu_i" in str(r)


def test_clique_exercise_is_not_the_pages_centre_first_grid():
    """The page says that the 3 x 3 grid eliminated centre first makes a clique of five: the exercise's
    grid and order are others, and five does not pass."""
    p = check.EX_ELIM
    assert p.n == 12 and p.order[0] != 4
    factors = [(e, np.ones((2, 2))) for e in p.edges]
    assert g.junction_tree(factors, order=list(p.order)).width + 1 == 7
    assert not check.largest_clique(5)


# --- ex-3-5-tree-bp-function: sum-product on a pairwise tree ----------------------------------------------------

def _bp_notebook(parent, phi, psi):
    """The notebook's solution: normalized messages, the logs of their scales summed into log Z."""
    N, K = phi.shape
    children = [[] for _ in range(N)]
    for i, p in enumerate(parent):
        if p >= 0:
            children[p].append(i)
    root = int(np.flatnonzero(parent < 0)[0])
    order, k = [root], 0
    while k < len(order):
        order.extend(children[order[k]])
        k += 1
    up, down, log_Z = np.ones((N, K)), np.ones((N, K)), 0.0
    for i in reversed(order):
        inside = phi[i] * np.prod(up[children[i]], axis=0)
        if i == root:
            log_Z += np.log(inside.sum())
        else:
            m = psi[i] @ inside
            up[i] = m / m.sum()
            log_Z += np.log(m.sum())
    for i in order:
        for c in children[i]:
            cavity = phi[i] * down[i] * np.prod(up[[d for d in children[i] if d != c]], axis=0)
            m = cavity @ psi[c]
            down[c] = m / m.sum()
    belief = phi * down
    for i in range(N):
        belief[i] *= np.prod(up[children[i]], axis=0)
    return belief / belief.sum(axis=1, keepdims=True), log_Z


def _bp_rerooted(parent, phi, psi, *, transposed=False, own=True, collect_only=False):
    """Written independently: for every node in turn, the tree is re-rooted there and summed out towards it in
    logs (variable elimination, each directed edge's message remembered); the root's belief is its marginal and
    its normalizer log Z. The flags switch on the slips the checker names."""
    N, K = phi.shape
    lphi = np.log(phi)
    lpsi = np.log(np.swapaxes(psi, 1, 2) if transposed else psi)
    edges = {}                                       # (a, b) -> log potential indexed [x_a, x_b]
    for i, p in enumerate(parent):
        if p >= 0:
            edges[(p, i)] = lpsi[i]
            edges[(i, p)] = lpsi[i].T
    nbrs = {v: [] for v in range(N)}
    for a, b in edges:
        nbrs[a].append(b)
    root0 = int(np.flatnonzero(parent < 0)[0])

    memo = {}

    def towards(v, frm):
        """log message from the subtree of v (entered from frm) to frm, a function of x_frm (each directed
        edge computed once)."""
        if (v, frm) not in memo:
            inside = lphi[v] + sum((towards(w, v) for w in nbrs[v] if w != frm), np.zeros(K))
            memo[(v, frm)] = logsumexp(edges[(frm, v)] + inside[None, :], axis=1)
        return memo[(v, frm)]

    import sys
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * N + 100))
    try:
        marg = np.empty((N, K))
        for v in range(N):
            if collect_only:             # the messages of the original root's collect sweep only
                incoming = [towards(w, v) for w in nbrs[v] if parent[w] == v]
            else:
                incoming = [towards(w, v) for w in nbrs[v]]
            b = (lphi[v] if own else 0.0) + sum(incoming, np.zeros(K))
            marg[v] = np.exp(b - logsumexp(b))
        log_Z = float(logsumexp(lphi[root0] + sum((towards(w, root0) for w in nbrs[root0]), np.zeros(K))))
    finally:
        sys.setrecursionlimit(limit)
    return marg, log_Z


def test_tree_bp_function_accepts_the_solution_and_re_rooted_elimination():
    assert check.tree_bp_function(_bp_notebook)
    assert check.tree_bp_function(_bp_rerooted)
    assert check.tree_bp_function(lambda *a: [np.asarray(_bp_notebook(*a)[0]).tolist(), _bp_notebook(*a)[1]])


def test_tree_bp_cases_match_enumeration_and_reach_the_edge_cases():
    cases = refs.tree_cases()
    kinds = " ".join(what for what, _, _ in cases)
    for kind in ("chain", "star", "single node", "overflows", "out of order"):
        assert kind in kinds
    for what, (parent, phi, psi), (marg, log_Z) in cases:
        N = len(parent)
        if N <= 12:
            factors = [(f.variables, f.table) for f in g.tree_factors(g.make_pairwise_tree(parent, phi, psi))]
            exact = g.marginals_by_enumeration(factors)
            np.testing.assert_allclose(marg, np.array([exact[v] for v in range(N)]), rtol=1e-10, atol=1e-14)
            assert abs(log_Z - g.log_partition_by_enumeration(factors)) < 1e-10
        if "overflows" in what:
            assert log_Z > np.log(np.finfo(float).max)
            assert np.any(parent[np.flatnonzero(parent >= 0)] > np.flatnonzero(parent >= 0))


def _returns_Z(parent, phi, psi):
    marg, log_Z = _bp_notebook(parent, phi, psi)
    return marg, np.exp(log_Z)


@pytest.mark.parametrize("wrong,fragment", [
    (lambda *a: _bp_rerooted(*a, transposed=True), "edge potential transposed"),
    (lambda *a: _bp_rerooted(*a, own=False), "own potential phi_i out"),
    (lambda *a: _bp_rerooted(*a, collect_only=True), "after the collect sweep"),
    (_returns_Z, "exponential of the answer"),
    (lambda *a: None, "forget to return"),
    (lambda *a: 1 / 0, "raised ZeroDivisionError"),
    (lambda *a: _bp_notebook(*a)[0], "should return the pair"),
])
def test_tree_bp_function_names_the_slips(wrong, fragment):
    res = check.tree_bp_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_tree_bp_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.tree_bp_function(np.ones((2, 2))))
    res = check.tree_bp_function(None)
    assert not res and "is None" in str(res)

    def off(parent, phi, psi):
        marg, log_Z = _bp_notebook(parent, phi, psi)
        return np.roll(marg, 1, axis=1), log_Z + 0.5

    msg = str(check.tree_bp_function(off))
    assert "test problem 1" in msg
    assert not re.search(r"[0-9]\.[0-9]", msg), msg



def test_tree_bp_statement_lists_exactly_the_trees_the_checker_runs():
    """The exercise's statement names every hidden tree with its N and K, in the checker's order, and says how
    many there are: a tree added to or dropped from ``refs.tree_cases`` must be added to or dropped from the page."""
    import json
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "chapters/ch03_undirected_generative_models/3_5_general_inference.ipynb"
    cells = ["".join(c["source"]) for c in json.loads(page.read_text())["cells"] if c["cell_type"] == "markdown"]
    statement = next(s for s in cells if ":label: ex-3-5-tree-bp-function" in s)
    statement = " ".join(statement.split(":::")[1].replace("$", "").split())
    listed = re.findall(r"(a [A-Za-z0-9 ]+?) \(N = (\d+), K = (\d+)", statement)
    cases = refs.tree_cases()
    assert [(kind, int(n), int(k)) for kind, n, k in listed] == [
        (what.split(", N = ")[0], len(args[0]), args[1].shape[1]) for what, args, _ in cases]
    assert f"on {['', 'one', 'two', 'three', 'four', 'five', 'six', 'seven'][len(cases)]} trees" in statement
