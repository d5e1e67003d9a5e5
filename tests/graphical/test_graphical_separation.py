"""d-separation (Appendix C) agrees with conditional independence computed by enumeration on random
CPTs; graph separation in undirected models, and the Markov network the junction tree starts from.
"""
from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from pedagogy_lib import discrete
from pedagogy_lib import graphical as g


def random_dag(rng, n=5, p_edge=0.45, K=2):
    names = [f"x{i}" for i in range(n)]
    parents = {v: [names[j] for j in range(i) if rng.random() < p_edge] for i, v in enumerate(names)}
    cpts = {}
    for v in names:
        shape = (K,) * len(parents[v])
        draws = rng.dirichlet(np.ones(K), size=shape or None)
        cpts[v] = np.moveaxis(np.asarray(draws), -1, 0)
    return discrete.make_dag(cpts, parents), parents


@pytest.mark.parametrize("seed", range(5))
def test_d_separation_agrees_with_enumerated_independence(seed):
    rng = np.random.default_rng(seed)
    dag, parents = random_dag(rng)
    checked = 0
    for a, c in itertools.combinations(dag.names, 2):
        rest = [v for v in dag.names if v not in (a, c)]
        for r in range(3):
            for S in itertools.combinations(rest, r):
                sep = g.d_separated(parents, a, c, S)
                gap = discrete.ci_discrepancy(dag, a, c, S)
                if sep:
                    assert gap < 1e-12, (a, c, S)        # implied by the graph: exact up to rounding
                else:
                    assert gap > 1e-6, (a, c, S)         # generic CPTs: no accidental independence
                checked += 1
    assert checked == 10 * 7


@pytest.mark.parametrize("kind, marginal, given_b", [("chain", False, True), ("fork", False, True),
                                                      ("collider", True, False)])
def test_the_three_canonical_graphs(kind, marginal, given_b):
    dag = discrete.canonical(kind, np.random.default_rng(1))
    assert g.d_separated(dag, "a", "c") is marginal
    assert g.d_separated(dag, "a", "c", ["b"]) is given_b
    assert discrete.is_independent(dag, "a", "c") is marginal
    assert discrete.is_independent(dag, "a", "c", ["b"]) is given_b


def test_conditioning_on_a_collider_descendant_opens_the_path():
    parents = {"a": [], "c": [], "b": ["a", "c"], "d": ["b"]}
    assert g.d_separated(parents, "a", "c")
    assert not g.d_separated(parents, "a", "c", ["d"])


def test_dag_factors_multiply_to_the_joint():
    dag, _ = random_dag(np.random.default_rng(3))
    J = g.joint(g.dag_factors(dag), order=dag.names).table
    assert np.allclose(J, discrete.joint_table(dag), atol=1e-15)


def test_moral_graph_marries_parents_and_square_separation():
    M = g.moral_graph({"a": [], "c": [], "b": ["a", "c"]})
    assert M.has_edge("a", "c") and not M.is_directed()
    square = g.markov_network([((1, 2), np.ones((2, 2))), ((1, 3), np.ones((2, 2))),
                               ((2, 4), np.ones((2, 2))), ((3, 4), np.ones((2, 2)))])
    assert g.separated(square, 1, 4, [2, 3]) and g.separated(square, 2, 3, [1, 4])
    assert not g.separated(square, 1, 4, [2])


def test_square_independences_hold_by_enumeration():
    """Section 3.5: in the square, x1 and x4 are independent given x2, x3 (graph separation)."""
    rng = np.random.default_rng(12)
    factors = [((1, 2), rng.gamma(1, size=(2, 2))), ((1, 3), rng.gamma(1, size=(2, 2))),
               ((2, 4), rng.gamma(1, size=(2, 2))), ((3, 4), rng.gamma(1, size=(2, 2)))]
    P = g.joint(factors, order=[1, 2, 3, 4]).table
    P = P / P.sum()
    P23 = P.sum(axis=(0, 3))
    cond = P / P23[None, :, :, None]                         # p(x1, x4 | x2, x3)
    outer = cond.sum(axis=3, keepdims=True) * cond.sum(axis=0, keepdims=True)
    assert np.allclose(cond, outer, atol=1e-14)
    P14 = P.sum(axis=(1, 2))
    assert not np.allclose(P14, np.outer(P14.sum(1), P14.sum(0)), atol=1e-6)


@pytest.mark.parametrize("call, match", [
    (lambda: g.d_separated({"a": ["b"], "b": ["a"]}, "a", "b"), r"^graph must be acyclic; it has the directed cycle"),
    (lambda: g.d_separated({"a": ["z"]}, "a", "a"), r"^graph\['a'\] names the parent 'z'"),
    (lambda: g.d_separated({"a": [], "b": []}, "a", "q"), r"^c names \['q'\]"),
    (lambda: g.d_separated({"a": [], "b": []}, "a", "b", ["a"]), r"^a, c and given must be disjoint"),
    (lambda: g.separated(nx.path_graph(3), 0, 5), r"^c names \[5\]"),
])
def test_bad_graphs_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
