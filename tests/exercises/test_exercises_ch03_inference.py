"""Tests for the Section 3.5 exercise checkers (pedagogy_lib.exercises.ch03_inference).

Correct answers come from the library's independent routes: the junction tree and enumeration for Z,
networkx's elimination for the clique size, d-separation-free graph separation for the square, and
an explicit matrix product for the message.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib import graphical as g
from pedagogy_lib.exercises import ch03_inference as check


def _ising_square_factors(J):
    s = np.array([-1.0, 1.0])
    return [(pair, np.exp(J * np.outer(s, s))) for pair in ((1, 2), (1, 3), (2, 4), (3, 4))]


def test_ising_square_Z():
    Z = np.exp(g.junction_tree(_ising_square_factors(check.EX_SQUARE.J)).log_Z)
    assert check.ising_square_Z(Z)
    assert check.ising_square_Z(str(Z))
    r = check.ising_square_Z(np.log(Z))
    assert not r and "log Z" in str(r)
    r = check.ising_square_Z(2 * np.exp(4 * check.EX_SQUARE.J))
    assert not r and "aligned" in str(r)
    assert not check.ising_square_Z(None)


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


def test_factor_message():
    p = check.EX_MESSAGE
    m = np.zeros(3)
    for i in range(3):
        for j in range(2):
            m[i] += p.psi[i, j] * p.mu_j[j]
    assert check.factor_message(m / m.sum())
    r = check.factor_message(m)
    assert not r and "normalize" in str(r)
    mx = (p.psi * p.mu_j).max(axis=1)
    r = check.factor_message(mx / mx.sum())
    assert not r and "max-product" in str(r)


def test_ising_square_is_not_the_pages_square():
    """The page enumerates its square at J = 0.5 and prints Z = 27.048783: that number must not pass."""
    assert check.EX_SQUARE.J != 0.5
    page_Z = np.exp(g.junction_tree(_ising_square_factors(0.5)).log_Z)
    np.testing.assert_allclose(page_Z, 27.048783, atol=1e-6)
    assert not check.ising_square_Z(page_Z)


def test_factor_message_is_not_the_pages_example():
    """The page prints the normalized message of its own psi and mu_j: that vector must not pass."""
    psi, mu_j = np.array([[1.0, 3.0], [2.0, 0.5], [0.2, 4.0]]), np.array([0.25, 0.75])
    page = psi @ mu_j
    assert not check.factor_message(page / page.sum())
    assert not np.array_equal(check.EX_MESSAGE.psi, psi)


def test_clique_exercise_is_not_the_pages_centre_first_grid():
    """The page says that the 3 x 3 grid eliminated centre first makes a clique of five: the exercise's
    grid and order are others, and five does not pass."""
    p = check.EX_ELIM
    assert p.n == 12 and p.order[0] != 4
    factors = [(e, np.ones((2, 2))) for e in p.edges]
    assert g.junction_tree(factors, order=list(p.order)).width + 1 == 7
    assert not check.largest_clique(5)


def test_the_harmonium_normalizer_route_to_the_ising_square_is_refused_when_graded():
    """The square is bipartite ({x1, x4} against {x2, x3}), so in bits s = 2x - 1 it is a harmonium with
    W = 4J, biases -4J and a constant 4J: its log_partition (or the log-sum-exp of log_marginal_table) is
    log Z - 4J. Named by the statement and refused when graded."""
    from graded_routes import assert_refused_when_graded

    assert {"pedagogy_lib.harmonium.exact.log_partition",
            "pedagogy_lib.harmonium.exact.log_marginal_table",
            # clamping x1 leaves the chain x2 - x4 - x3: two tree_sum_product calls and a sum
            "pedagogy_lib.graphical.tree.tree_sum_product"} <= set(check.SUMMATIVE["ex-3-5-ising-z"]["forbidden"])
    imports = ("from pedagogy_lib.exercises import ch03_inference as check\nimport numpy as np\n"
               "from pedagogy_lib.harmonium import EFHParams, log_partition\n")
    code = ("J = check.EX_SQUARE.J\n"
            "my_Z = float(np.exp(4 * J + log_partition(EFHParams(4 * J * np.ones((2, 2)), -4 * J * np.ones(2),\n"
            "                                                     -4 * J * np.ones(2)))))\n")
    assert_refused_when_graded(check, "ex-3-5-ising-z", "ising_square_Z", "my_Z", imports, code)
