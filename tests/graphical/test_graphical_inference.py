"""Belief propagation, loopy BP, max-product and the junction tree against brute-force enumeration
(``tests/oracle_graphical.py``), the pairwise-tree kernel against its NumPy twin and the general
algorithm, and the HMM's forward-backward (Section 2.2.1) as the chain special case.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import oracle_graphical as oracle
from pedagogy_lib import graphical as g
from pedagogy_lib.core.checks import ConvergenceWarning
from pedagogy_lib.hmm import hmm_smoother


def random_factor_tree(rng, n_factors=6):
    """A random tree-shaped factor graph: each new factor touches one existing variable and 1-2 new ones,
    plus unary factors; cardinalities 2 or 3."""
    card = {0: int(rng.integers(2, 4))}
    factors = []
    for _ in range(n_factors):
        anchor = int(rng.integers(len(card)))
        new = []
        for _ in range(int(rng.integers(1, 3))):
            v = len(card)
            card[v] = int(rng.integers(2, 4))
            new.append(v)
        scope = [anchor] + new
        rng.shuffle(scope)
        factors.append((tuple(int(v) for v in scope), rng.gamma(1.0, size=[card[v] for v in scope])))
    for v in rng.choice(len(card), size=3, replace=False):
        factors.append(((int(v),), rng.gamma(2.0, size=card[int(v)])))
    return factors, card


def ising(rows, cols, J, h, rng):
    """Binary grid with potentials exp(J s_i s_j) and exp(h_i s_i), s = 2x - 1."""
    s = np.array([-1.0, 1.0])
    card, factors = {}, []
    for r in range(rows):
        for c in range(cols):
            card[(r, c)] = 2
            factors.append((((r, c),), np.exp(h * rng.standard_normal() * s)))
            if c + 1 < cols:
                factors.append((((r, c), (r, c + 1)), np.exp(J * np.outer(s, s))))
            if r + 1 < rows:
                factors.append((((r, c), (r + 1, c)), np.exp(J * np.outer(s, s))))
    return factors, card


def random_loopy(rng, n=7, n_edges=10):
    card = {v: int(rng.integers(2, 4)) for v in range(n)}
    factors = []
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    for k in rng.choice(len(pairs), size=n_edges, replace=False):
        a, b = pairs[int(k)]
        factors.append(((a, b), rng.gamma(1.0, size=(card[a], card[b]))))
    factors.append(((0, 3, 5), rng.gamma(1.0, size=(card[0], card[3], card[5]))))
    factors += [((v,), rng.gamma(2.0, size=card[v])) for v in range(n)]
    return factors, card


# ---------------------------------------------------------------- sum-product on trees
@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_bp_on_random_trees_equals_enumeration(seed):
    rng = np.random.default_rng(seed)
    factors, card = random_factor_tree(rng)
    res = g.belief_propagation(factors)
    assert abs(res.log_Z - oracle.log_Z(factors, card)) < 1e-12 * max(1.0, abs(res.log_Z))
    exact = oracle.marginals(factors, card)
    for v in card:
        assert np.allclose(res.marginals[v], exact[v], rtol=0, atol=1e-12)
    assert len(res.schedule) == 2 * g.make_factor_graph(factors).graph.number_of_edges()


@pytest.mark.parametrize("seed", range(3))
def test_bp_with_evidence_gives_conditional_marginals_and_the_evidence(seed):
    rng = np.random.default_rng(100 + seed)
    factors, card = random_factor_tree(rng)
    ev = {1: 0, len(card) - 1: card[len(card) - 1] - 1}
    res = g.belief_propagation(factors, evidence=ev, root=2)
    exact = oracle.marginals(factors, card, ev)
    for v in card:
        assert np.allclose(res.marginals[v], exact[v], atol=1e-12)
    # log Z with evidence = log of the unnormalized probability of the evidence
    variables, configs, w = oracle.enumerate_model(factors, card)
    keep = [all(x[variables.index(v)] == s for v, s in ev.items()) for x in configs]
    assert res.log_Z == pytest.approx(np.log(w[keep].sum()), abs=1e-12)


def test_bp_on_a_forest_adds_the_components_log_normalizers():
    rng = np.random.default_rng(5)
    f1, c1 = random_factor_tree(rng, 3)
    f2 = [(tuple(f"b{v}" for v in vs), t) for vs, t in random_factor_tree(rng, 2)[0]]
    card = dict(c1)
    for vs, t in f2:
        card.update(zip(vs, t.shape))
    res = g.belief_propagation(f1 + f2)
    assert res.log_Z == pytest.approx(oracle.log_Z(f1 + f2, card), abs=1e-12)


def test_the_root_does_not_change_the_answer():
    rng = np.random.default_rng(9)
    factors, card = random_factor_tree(rng)
    a, b = g.belief_propagation(factors, root=0), g.belief_propagation(factors, root=len(card) - 1)
    assert a.log_Z == pytest.approx(b.log_Z, abs=1e-12)
    assert all(np.allclose(a.marginals[v], b.marginals[v], atol=1e-14) for v in card)


# ---------------------------------------------------------------- max-product
@pytest.mark.parametrize("seed", range(6))
def test_max_product_equals_the_enumerated_map(seed):
    rng = np.random.default_rng(200 + seed)
    factors, card = random_factor_tree(rng)
    res = g.max_product(factors)
    best, log_best = oracle.map_assignment(factors, card)
    assert res.assignment == best
    assert res.log_max == pytest.approx(log_best, abs=1e-12)
    for v in card:
        assert res.max_marginals[v].max() == pytest.approx(1.0)


def test_max_product_with_evidence():
    rng = np.random.default_rng(31)
    factors, card = random_factor_tree(rng)
    ev = {0: 1}
    res = g.max_product(factors, evidence=ev)
    best, log_best = oracle.map_assignment(factors, card, ev)
    assert res.assignment == best and res.log_max == pytest.approx(log_best, abs=1e-12)


# ---------------------------------------------------------------- the chain: forward-backward (Section 2.2)
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_hmm_forward_backward_is_sum_product_on_a_chain(backend):
    rng = np.random.default_rng(42)
    K, T = 3, 12
    pi = rng.dirichlet(np.ones(K))
    A = rng.dirichlet(np.ones(K), size=K).T                  # column-stochastic, A[i, j] = p(i | j)
    lik = rng.gamma(2.0, size=(T, K))
    post = hmm_smoother(pi, A, np.log(lik), backend=backend)
    phi = lik.copy()
    phi[0] *= pi
    psi = np.broadcast_to(A.T, (T, K, K)).copy()              # psi_t(x_{t-1}, x_t) = A[x_t, x_{t-1}]
    tree = g.make_pairwise_tree(np.arange(-1, T - 1), phi, psi)
    fast = g.tree_sum_product(tree, backend=backend)
    assert np.allclose(fast.marginals, post.gamma, atol=1e-12)
    assert fast.log_Z == pytest.approx(post.log_evidence, abs=1e-10)
    general = g.belief_propagation(g.tree_factors(tree))
    assert np.allclose(np.array([general.marginals[t] for t in range(T)]), post.gamma, atol=1e-12)


# ---------------------------------------------------------------- the pairwise-tree kernel
@pytest.mark.parametrize("seed", range(3))
def test_tree_kernel_and_twin_agree_with_enumeration(seed):
    rng = np.random.default_rng(300 + seed)
    tree = g.random_tree(9, 2, rng, coupling=1.5)
    fs = [(f.variables, f.table) for f in g.tree_factors(tree)]
    card = {i: 2 for i in range(9)}
    exact = oracle.marginals(fs, card)
    for backend in ("numba", "numpy"):
        res = g.tree_sum_product(tree, backend=backend)
        assert res.log_Z == pytest.approx(oracle.log_Z(fs, card), abs=1e-12)
        assert np.allclose(res.marginals, np.array([exact[i] for i in range(9)]), atol=1e-12)


def test_tree_kernel_matches_general_bp_on_a_large_tree():
    tree = g.random_tree(2000, 4, np.random.default_rng(11))
    a = g.tree_sum_product(tree)
    b = g.tree_sum_product(tree, backend="numpy")
    c = g.belief_propagation(g.tree_factors(tree))
    assert np.allclose(a.marginals, b.marginals, atol=1e-13) and a.log_Z == pytest.approx(b.log_Z, rel=1e-13)
    assert np.allclose(a.marginals, np.array([c.marginals[i] for i in range(2000)]), atol=1e-12)
    assert a.log_Z == pytest.approx(c.log_Z, rel=1e-12)


# ---------------------------------------------------------------- junction tree
@pytest.mark.parametrize("seed", range(4))
def test_junction_tree_is_exact_on_loopy_graphs(seed):
    rng = np.random.default_rng(400 + seed)
    factors, card = random_loopy(rng)
    jt = g.junction_tree(factors)
    assert jt.log_Z == pytest.approx(oracle.log_Z(factors, card), abs=1e-12)
    exact = oracle.marginals(factors, card)
    for v in card:
        assert np.allclose(jt.marginals[v], exact[v], atol=1e-12)
    for vs, _ in factors:                        # every factor's pair lies in one clique
        if len(vs) == 2:
            P = g.junction_marginal(jt, vs).table
            assert np.allclose(P, oracle.pair_marginal(factors, card, *vs), atol=1e-12)


def test_junction_tree_of_the_square_has_two_triangles_and_width_two():
    rng = np.random.default_rng(7)
    # the square of Section 3.5: psi_A(x1, x2) psi_B(x1, x3) psi_C(x2, x4) psi_D(x3, x4)
    factors = [((1, 2), rng.gamma(1, size=(2, 2))), ((1, 3), rng.gamma(1, size=(2, 2))),
               ((2, 4), rng.gamma(1, size=(2, 2))), ((3, 4), rng.gamma(1, size=(2, 2)))]
    jt = g.junction_tree(factors, order=[1, 2, 3, 4])
    assert sorted(map(set, jt.cliques), key=sorted) == [{1, 2, 3}, {2, 3, 4}]
    assert jt.width == 2 and [set(s) for s in jt.separators] == [{2, 3}]
    assert jt.fill_in and set(jt.fill_in[0]) == {2, 3}
    assert jt.log_Z == pytest.approx(oracle.log_Z(factors, {v: 2 for v in (1, 2, 3, 4)}), abs=1e-12)


def test_elimination_order_sets_the_width_on_a_grid():
    rng = np.random.default_rng(8)
    factors, card = ising(3, 3, 0.4, 0.5, rng)
    rowwise = [(r, c) for r in range(3) for c in range(3)]
    good = g.junction_tree(factors, order=rowwise)
    centre_first = g.junction_tree(factors, order=[(1, 1)] + [v for v in rowwise if v != (1, 1)])
    assert good.width == 3                       # a 3 x 3 grid has treewidth 3
    assert centre_first.width >= good.width
    for jt in (good, centre_first):
        assert jt.log_Z == pytest.approx(oracle.log_Z(factors, card), abs=1e-12)


# ---------------------------------------------------------------- loopy BP
@pytest.mark.parametrize("seed", range(3))
def test_loopy_bp_is_exact_on_trees_with_the_bethe_log_Z(seed):
    rng = np.random.default_rng(500 + seed)
    factors, card = random_factor_tree(rng)
    res = g.loopy_belief_propagation(factors)
    assert res.converged
    exact = oracle.marginals(factors, card)
    assert all(np.allclose(res.marginals[v], exact[v], atol=1e-9) for v in card)
    assert res.log_Z_bethe == pytest.approx(oracle.log_Z(factors, card), abs=1e-8)


def test_loopy_bp_on_a_grid_is_close_but_not_exact_and_worse_with_stronger_coupling():
    errors = []
    for J in (0.1, 0.6):
        factors, card = ising(3, 3, J, 0.3, np.random.default_rng(3))
        res = g.loopy_belief_propagation(factors, damping=0.3, max_iter=2000)
        exact = oracle.marginals(factors, card)
        err = max(np.abs(res.marginals[v] - exact[v]).max() for v in card)
        errors.append(err)
        assert res.converged
        assert err > 1e-6                        # the cycles make it approximate
    assert errors[0] < 0.01 and errors[1] > errors[0]


def test_loopy_bp_records_history_and_warns_when_it_stops_early():
    factors, card = ising(2, 2, 0.5, 0.3, np.random.default_rng(4))
    with pytest.warns(ConvergenceWarning, match=r"did not converge in 2 rounds"):
        res = g.loopy_belief_propagation(factors, max_iter=2, record=True)
    assert not res.converged and len(res.history) == 2


# ---------------------------------------------------------------- bad input
def _cycle_factors():
    t = np.ones((2, 2))
    return [(("a", "b"), t), (("b", "c"), t), (("c", "a"), t)]


@pytest.mark.parametrize("call, match", [
    (lambda: g.belief_propagation([(("a", "b"), np.ones((2, 3))), (("b",), np.ones(2))]),
     r"^factors: variable 'b' has 3 states in factors\[0\] but 2 in factors\[1\] \(mismatched cardinalities\)"),
    (lambda: g.belief_propagation([(("a",), [0.5, -0.1])]), r"^factors\[0\].table must be non-negative"),
    (lambda: g.belief_propagation([(("a", "b"), np.ones(2))]), r"^factors\[0\].table must have one axis per variable"),
    (lambda: g.belief_propagation(_cycle_factors()), r"^factors do not form a tree: the factor graph has a cycle"),
    (lambda: g.max_product(_cycle_factors()), r"^factors do not form a tree"),
    (lambda: g.belief_propagation([(("a",), [1.0, 1.0])], evidence={"a": 2}), r"^evidence\['a'\] must be at most 1"),
    (lambda: g.belief_propagation([(("a",), [1.0, 1.0])], evidence={"z": 0}), r"^evidence names 'z'"),
    (lambda: g.belief_propagation([(("a",), [1.0, 0.0])], evidence={"a": 1}), r"probability zero"),
    (lambda: g.belief_propagation([]), r"^factors must be a non-empty list"),
    (lambda: g.junction_tree(_cycle_factors(), order=["a", "b"]), r"^order must list every variable exactly once"),
    (lambda: g.loopy_belief_propagation(_cycle_factors(), damping=1.0), r"^damping must be in \[0, 1\)"),
    (lambda: g.make_pairwise_tree(np.array([1, 2, 0]), np.ones((3, 2)), np.ones((3, 2, 2))),
     r"^parent does not describe a tree: node 0 is on a cycle"),
    (lambda: g.make_pairwise_tree(np.array([-1, 5]), np.ones((2, 2)), np.ones((2, 2, 2))), r"^parent\[1\] = 5 must be"),
    (lambda: g.make_pairwise_tree(np.array([-1, 0]), np.ones((2, 2)), np.zeros((2, 2, 2))), r"^psi must be positive"),
    # a phi of the wrong width is not blamed on psi alone: the message names both and their K
    (lambda: g.make_pairwise_tree(np.array([-1, 0]), np.ones((2, 3)), np.ones((2, 2, 2))),
     r"^phi and psi disagree on the number of states K: phi has shape \(2, 3\)"),
    (lambda: g.make_pairwise_tree(np.array([-1, 0]), np.ones((2, 2)), np.ones((2, 2, 3))), r"^psi must have shape"),
])
def test_bad_input_raises_a_value_error_naming_the_argument(call, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match=match):
            call()
