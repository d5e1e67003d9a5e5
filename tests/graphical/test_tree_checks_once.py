"""A pairwise tree is validated once, when it is built, and never again per call (issues 56 and 70).

Every way of building a PairwiseTree (make_pairwise_tree, by hand, _make, _replace) runs the same
checks, and the tree keeps read-only copies of its arrays, so an edit in place raises instead of
reaching the kernel unchecked; tree_sum_product then calls no check at all.
"""
import numpy as np
import pytest

from pedagogy_lib import graphical as G
from pedagogy_lib.graphical import tree as gtree

BAD = [np.nan, np.inf, -np.inf, 0.0, -0.0, -1.5]


def _tree():
    return G.random_tree(12, 3, np.random.default_rng(0))


def _edited(t, field, flat_index, value):
    arr = getattr(t, field).copy()
    arr.flat[flat_index] = value
    return arr


def _where():
    """A node potential, an edge potential of a child, and one in the (unused) row of the root."""
    t = _tree()
    child = int(np.flatnonzero(t.parent >= 0)[-1])
    root = int(np.flatnonzero(t.parent < 0)[0])
    K = t.phi.shape[1]
    return [("phi", 7 * K + 1), ("psi", child * K * K + 4), ("psi", root * K * K + K * K - 1)]


@pytest.mark.parametrize("value", BAD, ids=str)
@pytest.mark.parametrize("field, flat_index", _where())
def test_every_way_of_building_a_tree_refuses_a_bad_potential_with_one_message(field, flat_index, value):
    t = _tree()
    bad = _edited(t, field, flat_index, value)
    fields = {**t._asdict(), field: bad}
    messages = set()
    for build in (lambda: t._replace(**{field: bad}),
                  lambda: G.PairwiseTree(**fields),
                  lambda: G.PairwiseTree._make(fields[f] for f in G.PairwiseTree._fields)):
        with pytest.raises(ValueError, match=rf"tree\.{field}") as err:
            build()
        messages.add(str(err.value))
    assert len(messages) == 1
    # make_pairwise_tree names the same entry, without the "tree." of a field
    with pytest.raises(ValueError) as err:
        G.make_pairwise_tree(*(fields[f] for f in ("parent", "phi", "psi")))
    assert str(err.value) == messages.pop().replace("tree.", "")


def test_a_built_tree_cannot_be_edited_in_place_and_does_not_alias_the_callers_arrays():
    rng = np.random.default_rng(1)
    parent = np.array([-1, 0, 0, 1])
    phi, psi = rng.uniform(0.5, 2.0, (4, 3)), rng.uniform(0.5, 2.0, (4, 3, 3))
    t = G.make_pairwise_tree(parent, phi, psi)
    before = G.tree_sum_product(t)
    for field in t._fields:
        arr = getattr(t, field)
        assert not arr.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1
    phi[0, 0] = np.nan                     # the caller's own array stays theirs, and writeable
    parent[3] = 3
    after = G.tree_sum_product(t)
    np.testing.assert_array_equal(after.marginals, before.marginals)
    assert after.log_Z == before.log_Z


def test_replace_checks_the_order_against_a_new_parent():
    t = G.make_pairwise_tree(np.array([-1, 0, 1]), np.ones((3, 2)), np.ones((3, 2, 2)))
    with pytest.raises(ValueError, match=r"tree\.order must put every parent before its children"):
        t._replace(parent=np.array([1, 2, -1]))
    moved = t._replace(parent=np.array([1, 2, -1]), order=np.array([2, 1, 0]))
    assert moved.parent.tolist() == [1, 2, -1] and not moved.order.flags.writeable


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_a_call_on_a_built_tree_runs_no_check(monkeypatch, backend):
    t = _tree()
    want = G.tree_sum_product(t, backend=backend)
    calls = []

    def counted(name):
        def refuse(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} ran on a tree already built")
        return refuse

    for name in ("_check_fields", "_check_order", "_check_values", "_positive_finite", "_topological_order"):
        monkeypatch.setattr(gtree, name, counted(name))
    got = G.tree_sum_product(t, backend=backend)
    assert calls == []
    np.testing.assert_array_equal(got.marginals, want.marginals)
    assert got.log_Z == want.log_Z
    assert G.check_pairwise_tree(t) is t


def test_check_pairwise_tree_refuses_what_is_not_a_tree():
    t = _tree()
    with pytest.raises(TypeError, match="tree must be a PairwiseTree"):
        G.check_pairwise_tree(tuple(t))
    with pytest.raises(TypeError, match="tree must be a PairwiseTree"):
        G.tree_sum_product(tuple(t))


@pytest.mark.parametrize("value", [5e-324, 1e-300, 1e300, np.finfo(float).max], ids=str)
@pytest.mark.parametrize("field, flat_index", _where())
def test_kernel_and_twin_agree_on_valid_extreme_potentials(field, flat_index, value):
    """Positive finite potentials at the ends of float64 are valid: built, they pass, and the kernel and
    its twin give the same marginals (to 1e-12) and log Z (to 1e-12 of its size)."""
    t = _tree()
    t = t._replace(**{field: _edited(t, field, flat_index, value)})
    with np.errstate(over="ignore"):       # the twin's test of a message's sum may overflow at 1.8e308
        a, b = (G.tree_sum_product(t, backend=be) for be in ("numba", "numpy"))
    np.testing.assert_allclose(a.marginals, b.marginals, atol=1e-12)
    assert a.log_Z == pytest.approx(b.log_Z, rel=1e-12)
    assert np.all(np.isfinite(a.marginals)) and np.allclose(a.marginals.sum(axis=1), 1.0)
