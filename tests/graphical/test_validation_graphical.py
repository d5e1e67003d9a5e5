"""Malformed factors, factor graphs, junction trees and pairwise trees end in a clear error (issue 29)."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pedagogy_lib import graphical as G


def _tree():
    return G.random_tree(12, 3, np.random.default_rng(0))


def test_a_truncated_psi_never_becomes_a_tree():
    """The reproduction of issue 29: the kernel read psi out of bounds and returned 8.478, not 8.745.
    Now the tree is refused when it is built, by _replace or by hand, so no call can reach the kernel."""
    t = _tree()
    short = np.ascontiguousarray(t.psi[:, :, :2])
    with pytest.raises(ValueError, match=r"tree\.psi must have shape \(N, K, K\) = \(12, 3, 3\)"):
        t._replace(psi=short)
    with pytest.raises(ValueError, match=r"tree\.psi must have shape"):
        G.PairwiseTree(t.parent, t.phi, short, t.order)


@pytest.mark.slow
def test_repeated_out_of_bounds_trees_no_longer_reach_the_kernel():
    """Repeated, such calls used to corrupt the heap; in a child process so a crash fails only this test."""
    code = """
        import numpy as np
        from pedagogy_lib import graphical as G
        t = G.random_tree(12, 3, np.random.default_rng(0))
        ref = G.tree_sum_product(t).log_Z
        for _ in range(200):
            try:
                G.tree_sum_product(t._replace(psi=np.ascontiguousarray(t.psi[:, :, :2])))
            except ValueError:
                pass
            else:
                raise SystemExit("accepted")
        assert G.tree_sum_product(t).log_Z == ref
    """
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def _edits(t):
    N, K = t.phi.shape
    return [
        ("psi short", dict(psi=np.ascontiguousarray(t.psi[:, :, :2])), ValueError, "tree.psi"),
        ("psi nan", dict(psi=np.where(np.arange(K) == 0, np.nan, t.psi)), ValueError, "tree.psi"),
        ("psi zero", dict(psi=t.psi * 0), ValueError, "tree.psi"),
        ("phi rows", dict(phi=t.phi[:-1]), ValueError, "tree.phi"),
        ("phi negative", dict(phi=-t.phi), ValueError, "tree.phi"),
        ("phi complex", dict(phi=t.phi + 0j), TypeError, "tree.phi"),
        ("parent out of range", dict(parent=np.where(np.arange(N) == 3, N + 5, t.parent)), ValueError, "tree.parent"),
        ("parent float", dict(parent=t.parent.astype(float)), ValueError, "tree.parent"),
        ("order reversed", dict(order=t.order[::-1].copy()), ValueError, "tree.order"),
        ("order repeated", dict(order=np.zeros(N, dtype=np.int64)), ValueError, "tree.order"),
        ("order short", dict(order=t.order[:-1]), ValueError, "tree.order"),
        ("order out of range", dict(order=t.order + 100), ValueError, "tree.order"),
    ]


@pytest.mark.parametrize("i", range(12))
@pytest.mark.parametrize("call", ["tree_sum_product", "tree_factors"])
def test_malformed_pairwise_trees_are_refused_naming_the_field(i, call):
    t = _tree()
    label, change, err, field = _edits(t)[i]
    fn = G.tree_sum_product if call == "tree_sum_product" else G.tree_factors
    with pytest.raises(err, match=field.replace(".", r"\.")):
        fn(t._replace(**change))


def test_a_tree_rebuilt_by_hand_gives_the_same_answer():
    t = _tree()
    by_hand = G.PairwiseTree(t.parent.astype(np.int32), t.phi.tolist(), t.psi, t.order)
    assert G.tree_sum_product(by_hand).log_Z == pytest.approx(G.tree_sum_product(t).log_Z, rel=1e-14)


def test_factor_product_refuses_mismatched_cardinalities():
    """The reproduction of issue 29: 3 states against 1 state used to broadcast."""
    f = G.make_factor(("a", "b"), np.ones((3, 2)))
    with pytest.raises(ValueError, match="'a' has 3 states in f but 1 in g"):
        G.factor_product(f, G.Factor(("a",), np.ones(1)))


BAD_FACTORS = [
    ("nan", G.Factor(("a",), np.array([1.0, np.nan])), ValueError, r"f\.table"),
    ("negative", G.Factor(("a",), np.array([1.0, -1.0])), ValueError, r"f\.table"),
    ("axes", G.Factor(("a", "b"), np.ones(3)), ValueError, r"f\.table"),
    ("empty axis", G.Factor(("a",), np.ones(0)), ValueError, r"f\.table"),
    ("repeated names", G.Factor(("a", "a"), np.ones((2, 2))), ValueError, "variables"),
    ("complex", G.Factor(("a",), np.ones(2) + 0j), TypeError, r"f\.table"),
    ("names a string", G.Factor("ab", np.ones((2, 2))), TypeError, "variables"),
    ("not a factor", (("a",), np.ones(2), 3), TypeError, "f must be a Factor"),
]


@pytest.mark.parametrize("label, f, err, match", BAD_FACTORS, ids=[b[0] for b in BAD_FACTORS])
@pytest.mark.parametrize("op", ["factor_product", "sum_out", "max_out", "marginal_of", "clamp"])
def test_factor_operations_refuse_malformed_factors(label, f, err, match, op):
    good = G.make_factor(("c",), np.ones(2))
    fn = {"factor_product": lambda: G.factor_product(f, good),
          "sum_out": lambda: G.sum_out(f, ["a"]),
          "max_out": lambda: G.max_out(f, ["a"]),
          "marginal_of": lambda: G.marginal_of(f, ("a",)),
          "clamp": lambda: G.clamp(f, {"a": 0})}[op]
    with pytest.raises(err, match=match):
        fn()


def test_factor_operations_check_their_other_arguments():
    f = G.make_factor(("a", "bb"), np.ones((3, 2)))
    with pytest.raises(TypeError, match="variables"):
        G.sum_out(f, "bb")                      # one name, not a list of names
    with pytest.raises(ValueError, match="keep"):
        G.marginal_of(f, ("c",))
    with pytest.raises(ValueError, match=r"evidence\['a'\]"):
        G.clamp(f, {"a": 3})
    with pytest.raises(TypeError, match="evidence"):
        G.clamp(f, [("a", 0)])
    with pytest.raises(ValueError, match="value"):
        G.indicator("a", 2, 2)
    with pytest.raises(TypeError, match="K"):
        G.indicator("a", 0, 2.0)


def test_an_edited_factor_graph_is_revalidated():
    f = G.make_factor(("a", "b"), np.ones((3, 2)))
    fg = G.make_factor_graph([f])._replace(factors=[f, G.Factor(("a",), np.ones(1))])
    with pytest.raises(ValueError, match="mismatched cardinalities"):
        G.belief_propagation(fg)
    with pytest.raises(ValueError, match="mismatched cardinalities"):
        G.message_schedule(fg)


def test_junction_marginal_checks_its_tree():
    f = G.make_factor(("a", "b"), np.ones((3, 2)))
    jt = G.junction_tree([f])
    with pytest.raises(TypeError, match="jt"):
        G.junction_marginal(tuple(jt), ("a",))
    with pytest.raises(ValueError, match=r"jt\.beliefs"):
        G.junction_marginal(jt._replace(beliefs=[]), ("a",))
    np.testing.assert_allclose(G.junction_marginal(jt, ("a",)).table, np.full(3, 1 / 3))


def test_make_pairwise_tree_orders_any_labelling_and_names_a_node_that_never_reaches_a_root():
    # a forest with shuffled labels, and a chain listed from leaf to root (its depth needs every round of
    # the vectorized order): every parent comes before its children
    rng = np.random.default_rng(3)
    N = 300
    u = rng.random(N)
    parent = np.concatenate(([-1], np.floor(u[1:] * np.arange(1, N)).astype(np.int64)))
    parent[rng.random(N) < 0.05] = -1
    perm = rng.permutation(N)
    inv = np.argsort(perm)
    shuffled = np.where(parent[perm] < 0, -1, inv[np.maximum(parent[perm], 0)])
    chain = np.append(np.arange(1, 2049), -1)
    for par in (shuffled, chain):
        n = par.size
        t = G.make_pairwise_tree(par, np.ones((n, 2)), np.ones((n, 2, 2)))
        position = np.empty(n, dtype=np.int64)
        position[t.order] = np.arange(n)
        child = np.flatnonzero(par >= 0)
        assert np.array_equal(np.sort(t.order), np.arange(n))
        assert (position[par[child]] < position[child]).all()
    # node 1 leads into the cycle 2 -> 3 -> 2: the first node that never reaches a root is named
    with pytest.raises(ValueError, match=r"^parent does not describe a tree: node 1 is on a cycle"):
        G.make_pairwise_tree(np.array([-1, 2, 3, 2, 0]), np.ones((5, 2)), np.ones((5, 2, 2)))
