"""pgmpy (a test-only peer) gives the same marginals and MAP on the same models."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from pedagogy_lib import graphical as g

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pgmpy_models = pytest.importorskip("pgmpy.models")
    from pgmpy.factors.discrete import DiscreteFactor
    from pgmpy.inference import BeliefPropagation, VariableElimination


def to_pgmpy(factors):
    model = pgmpy_models.DiscreteMarkovNetwork()
    for vs, t in factors:
        model.add_nodes_from([str(v) for v in vs])
        if len(vs) == 2:
            model.add_edge(str(vs[0]), str(vs[1]))
    for vs, t in factors:
        model.add_factors(DiscreteFactor([str(v) for v in vs], list(t.shape), t.ravel()))
    return model


def tree_model(seed, N=12, K=3):
    tree = g.random_tree(N, K, np.random.default_rng(seed))
    return tree, [(f.variables, f.table) for f in g.tree_factors(tree)]


@pytest.mark.parametrize("seed", range(2))
def test_tree_marginals_match_pgmpy_belief_propagation(seed):
    tree, factors = tree_model(seed)
    ours = g.tree_sum_product(tree)
    bp = BeliefPropagation(to_pgmpy(factors))
    bp.calibrate()
    names = [str(i) for i in range(tree.parent.size)]
    theirs = bp.query(names, joint=False, show_progress=False)
    for i, n in enumerate(names):
        q = theirs[n]
        assert np.allclose(q.values / q.values.sum(), ours.marginals[i], atol=1e-10)


def test_loopy_model_junction_tree_matches_pgmpy_variable_elimination():
    rng = np.random.default_rng(3)
    t = lambda: rng.gamma(1.0, size=(2, 2))                  # noqa: E731
    factors = [((1, 2), t()), ((1, 3), t()), ((2, 4), t()), ((3, 4), t()), ((4, 5), t()), ((2, 5), t())]
    jt = g.junction_tree(factors)
    ve = VariableElimination(to_pgmpy(factors))
    for v in (1, 2, 3, 4, 5):
        q = ve.query([str(v)], show_progress=False)
        assert np.allclose(q.values / q.values.sum(), jt.marginals[v], atol=1e-12)


def test_map_matches_pgmpy():
    tree, factors = tree_model(7, N=10, K=2)
    ours = g.max_product(factors)
    ve = VariableElimination(to_pgmpy(factors))
    theirs = ve.map_query([str(i) for i in range(10)], show_progress=False)
    assert {int(k): int(v) for k, v in theirs.items()} == ours.assignment
