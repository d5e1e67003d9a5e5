"""tree_sum_product checks a tree's values in its kernel, not again in Python on every call (issue 56).

The O(N) checks (types, shapes, parent range, order) still run per call; the O(N K^2) check that every
potential is positive and finite runs inside the kernel (and its NumPy twin), which returns a flag, and
a failing call raises the same error, naming the same entry, as check_pairwise_tree.
"""
import numpy as np
import pytest

from pedagogy_lib import graphical as G
from pedagogy_lib.graphical import kernels
from pedagogy_lib.graphical import tree as gtree

BAD = [np.nan, np.inf, -np.inf, 0.0, -0.0, -1.5]


def _tree():
    return G.random_tree(12, 3, np.random.default_rng(0))


def _edited(t, field, flat_index, value):
    arr = getattr(t, field).copy()
    arr.flat[flat_index] = value
    return t._replace(**{field: arr})


def _where():
    """A node potential, an edge potential of a child, and one in the (unused) row of the root."""
    t = _tree()
    child = int(np.flatnonzero(t.parent >= 0)[-1])
    root = int(np.flatnonzero(t.parent < 0)[0])
    K = t.phi.shape[1]
    return [("phi", 7 * K + 1), ("psi", child * K * K + 4), ("psi", root * K * K + K * K - 1)]


@pytest.mark.parametrize("value", BAD, ids=str)
@pytest.mark.parametrize("field, flat_index", _where())
def test_a_bad_potential_raises_the_same_error_as_check_pairwise_tree(field, flat_index, value):
    bad = _edited(_tree(), field, flat_index, value)
    with pytest.raises(ValueError, match=rf"tree\.{field}") as want:
        G.check_pairwise_tree(bad)
    for backend in ("numba", "numpy"):
        with pytest.raises(ValueError) as got:
            G.tree_sum_product(bad, backend=backend)
        assert str(got.value) == str(want.value)


@pytest.mark.parametrize("value", BAD + [5e-324, 1e-300, 1e300, np.finfo(float).max], ids=str)
@pytest.mark.parametrize("field, flat_index", _where())
def test_kernel_and_twin_flag_exactly_the_potentials_the_python_check_refuses(field, flat_index, value):
    t = _edited(_tree(), field, flat_index, value)
    refused = not (gtree._positive_finite(t.phi) and gtree._positive_finite(t.psi))
    assert refused == (value in BAD or np.isnan(value))
    args = (t.parent, t.phi, t.psi, t.order)
    assert kernels.sum_product(*args)[2] is (not refused)
    with np.errstate(over="ignore"):       # the twin's test of a message's sum may overflow at 1.8e308
        assert gtree._sum_product_numpy(*args)[2] is (not refused)


def test_a_valid_tree_is_not_checked_value_by_value_on_each_call(monkeypatch):
    t = _tree()
    want = {b: G.tree_sum_product(t, backend=b) for b in ("numba", "numpy")}

    def refuse(*args):
        raise AssertionError("the O(N K^2) value check ran on a valid tree")

    monkeypatch.setattr(gtree, "_check_values", refuse)
    for backend, res in want.items():
        got = G.tree_sum_product(t, backend=backend)
        np.testing.assert_array_equal(got.marginals, res.marginals)
        assert got.log_Z == res.log_Z


def test_a_bad_edit_still_raises_after_the_tree_was_used():
    """A tree that passed once is not trusted afterwards: its arrays may be changed in place."""
    t = _tree()
    G.tree_sum_product(t)
    t.psi[3, 0, 1] = np.nan
    with pytest.raises(ValueError, match=r"tree\.psi must be finite; got nan at index \(3, 0, 1\)"):
        G.tree_sum_product(t)
