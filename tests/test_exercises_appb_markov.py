"""Tests for the Appendix B.2 Markov-chain exercise checkers (pedagogy_lib.exercises.appb_markov).

Correct answers come from pedagogy_lib.discrete.markov_chain (null space by SVD, matrix powers), the
checker computes its own by power iteration and explicit loops.
"""
from __future__ import annotations

import numpy as np
import pytest

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


# ---------------------------------------------------------------- exercise (d): d(t) as a function
def _d_by_library(P, T):
    return mc.tv_to_stationarity(P, T)


def _d_by_eigenvector_and_loops(P, T, *, pi_of=None, rows=False, start=None, half=0.5, shift=0):
    """d(t) written out with explicit loops over states, pi from the eigenvector for eigenvalue 1;
    the keyword arguments make the named slips."""
    if pi_of is None:
        lam, V = np.linalg.eig(P)
        pi = np.real(V[:, np.argmin(np.abs(lam - 1))])
        pi = pi / pi.sum()
    else:
        pi = pi_of(P)
    K = P.shape[0]
    out = []
    for t in range(shift, T + 1 + shift):
        Pt = np.linalg.matrix_power(P, t)
        starts = range(K) if start is None else [start]
        dist = [half * sum(abs((Pt[j, i] if rows else Pt[i, j]) - pi[i]) for i in range(K)) for j in starts]
        out.append(max(dist))
    return np.array(out)


@pytest.mark.parametrize("right", [_d_by_library, _d_by_eigenvector_and_loops])
def test_tv_distance_reference_passes(right):
    assert check.tv_distance(right)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda P, T: _d_by_eigenvector_and_loops(P, T, rows=True), "row-stochastic convention"),
    (lambda P, T: _d_by_eigenvector_and_loops(P, T, start=0), "from state 0 only"),
    (lambda P, T: _d_by_eigenvector_and_loops(P, T, half=1.0), "factor 1/2"),
    (lambda P, T: _d_by_eigenvector_and_loops(P, T, shift=1), "starts after one step"),
    (lambda P, T: _d_by_eigenvector_and_loops(P, T, pi_of=lambda Q: np.linalg.matrix_power(Q, 400)[:, 0]),
     "test problem 3 (6 states, periodic, T = 10) is what you get if you took pi from a long run"),
    (lambda P, T: _d_by_library(P, T)[:-1], "should have shape"),
    (lambda P, T: None, "forget to return"),
    (lambda P, T: np.linalg.cholesky(-np.eye(2)), "LinAlgError"),
])
def test_tv_distance_slips_are_named(wrong, fragment):
    r = check.tv_distance(wrong)
    assert not r and fragment in str(r), str(r)


def test_tv_distance_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.tv_distance([0.5, 0.25]))
    msg = str(check.tv_distance(lambda P, T: _d_by_library(P, T) + 0.01))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
