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
    truth = {check.INDEPENDENCE_KEYS[0]: g.separated(square, 1, 4, [2, 3]),
             check.INDEPENDENCE_KEYS[1]: g.separated(square, 2, 3, [1, 4]),
             check.INDEPENDENCE_KEYS[2]: g.separated(square, 1, 4),
             check.INDEPENDENCE_KEYS[3]: g.separated(square, 1, 2, [3, 4])}
    assert check.independences(truth)
    assert check.independences({k: ("yes" if v else "no") for k, v in truth.items()})
    flipped = dict(truth)
    flipped[check.INDEPENDENCE_KEYS[2]] = not truth[check.INDEPENDENCE_KEYS[2]]
    r = check.independences(flipped)
    assert not r and "1 of the statements" in str(r)
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
