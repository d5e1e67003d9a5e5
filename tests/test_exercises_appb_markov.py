"""Tests for the Appendix B.2 Markov-chain exercise checkers (pedagogy_lib.exercises.appb_markov).

Correct answers come from pedagogy_lib.discrete.markov_chain (null space by SVD, matrix powers), the
checker computes its own by power iteration and explicit loops.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.discrete import markov_chain as mc
from pedagogy_lib.exercises import appb_markov as check


def test_stationary():
    pi = mc.stationary_distribution(check.EX_P)
    assert check.stationary(pi)
    assert check.stationary(list(pi))
    wrong = mc.stationary_distribution(check.EX_P.T / check.EX_P.T.sum(axis=0, keepdims=True))
    r = check.stationary(wrong)
    assert not r and "row-stochastic" in str(r)
    r = check.stationary(3 * pi)
    assert not r and "normalize" in str(r)
    assert not check.stationary(None)


def test_reversible():
    pi = mc.stationary_distribution(check.EX_P)
    truth = mc.is_detailed_balance(check.EX_P, pi)
    assert check.reversible(truth)
    assert check.reversible("yes" if truth else "no")
    assert not check.reversible(not truth)


def test_two_state_mixing_time():
    a, b = check.EX_TWO
    P = np.array([[1 - a, b], [a, 1 - b]])
    t = mc.mixing_time(P, 0.25)
    assert check.two_state_mixing_time(t)
    assert check.two_state_mixing_time(float(t))
    below, above, far = (str(check.two_state_mixing_time(v)) for v in (t - 1, t + 1, t + 7))
    assert "[not yet]" in below and "first t" in below
    assert below == above == far           # a miss says nothing of its direction or size
    r = check.two_state_mixing_time(int(np.ceil(mc.mixing_time_bounds(P, 0.25).upper)))
    assert not r and "upper bound" in str(r)
    assert not check.two_state_mixing_time(2.5)
