"""Tests for the Appendix B.2 Markov-chain exercise checkers (pedagogy_lib.exercises.appb_markov).

Correct answers come from pedagogy_lib.discrete.markov_chain (state reduction, matrix powers) and, for the
book's periodic chain, pi by hand; the checker computes its own by a linear solve, power iteration and
explicit loops.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.discrete import markov_chain as mc
from pedagogy_lib.exercises import appb_markov as check


def test_stationary():
    pi = mc.stationary_distribution(check.EX_P5)
    # the book's chain: pi by hand (balance of the flows into each state), in 750ths
    np.testing.assert_allclose(pi, np.array([220, 155, 163, 97, 115]) / 750, atol=1e-12)
    assert check.stationary(pi)
    assert check.stationary(list(pi))
    wrong = mc.stationary_distribution(check.EX_P5.T / check.EX_P5.T.sum(axis=0, keepdims=True))
    r = check.stationary(wrong)
    assert not r and "row-stochastic" in str(r)
    r = check.stationary(3 * pi)
    assert not r and "normalize" in str(r)
    r = check.stationary(check.EX_P5[:, 0])
    assert not r and "a column of P" in str(r)
    assert not check.stationary(None)


def test_stationary_recognizes_the_left_eigenvector_and_an_unnormalized_eigenvector():
    """The row-convention slip pi^T P = pi^T gives the constant vector (the columns of P sum to one), normalized
    or as the eigensolver returns it; the right eigenvector of unit length, of either sign, is a normalization."""
    lam, V = np.linalg.eig(check.EX_P5.T)
    left = np.real(V[:, np.argmin(np.abs(lam - 1))])
    for answer in (left, -left, np.full(5, 1 / 5)):
        r = check.stationary(answer)
        assert not r and "row-stochastic" in str(r), str(r)
    lam, V = np.linalg.eig(check.EX_P5)
    right = np.real(V[:, np.argmin(np.abs(lam - 1))])
    for answer in (right, -right):
        r = check.stationary(answer)
        assert not r and "divid" in str(r) and "no single slip" not in str(r), str(r)


def _page_loop(P, p, steps=100):
    """The page's check of the stationary distribution: p <- P p, a hundred times."""
    for _ in range(steps):
        p = P @ p
    return p


def test_the_pages_hundred_steps_do_not_find_pi_of_the_periodic_chain():
    """The page compares pi with a hundred steps p <- P p from state 0; EX_P5 is irreducible with period 2,
    so those steps (from any state, from the uniform distribution, an even or odd number of them) alternate
    between the groups {0, 1} and {2, 3, 4} and are recognized, not passed. Averaging two consecutive steps,
    or iterating the lazy chain (I + P)/2, finds pi."""
    P = check.EX_P5
    lam = np.linalg.eigvals(P)
    assert np.min(np.abs(lam + 1)) < 1e-12 and np.min(np.abs(lam - 1)) < 1e-12
    assert np.all(P[:2, :2] == 0) and np.all(P[2:, 2:] == 0) and np.all(P[2:, :2] > 0) and np.all(P[:2, 2:] > 0)
    pi = mc.stationary_distribution(P)
    for start in [*np.eye(5), np.full(5, 0.2)]:
        for steps in (100, 101, 1000):
            r = check.stationary(_page_loop(P, start, steps))
            assert not r and "periodic" in str(r), str(r)
        both = 0.5 * (_page_loop(P, start, 100) + _page_loop(P, start, 101))
        np.testing.assert_allclose(both, pi, atol=1e-12)
    lazy = _page_loop(0.5 * (np.eye(5) + P), np.eye(5)[0])
    assert check.stationary(lazy)


def test_stationary_on_chains_drawn_for_students():
    """Each student's chain is periodic like the book's, with a pi of its own, found by the library and
    passed; the page's hundred steps are recognized."""
    from courseware import grading as G

    seen = []
    for salt in range(10):
        fresh = G.own_copy(check, salt)
        P = fresh.EX_P5
        assert P.shape == (5, 5) and np.allclose(P.sum(axis=0), 1) and np.all(P[:2, :2] == 0)
        pi = mc.stationary_distribution(P)
        assert fresh.stationary(pi)
        r = fresh.stationary(_page_loop(P, np.eye(5)[0]))
        assert not r and "periodic" in str(r), str(r)
        assert fresh.stationary(_page_loop(0.5 * (np.eye(5) + P), np.eye(5)[0]))
        seen.append(pi)
    assert not np.allclose(seen[0], seen[1])


def test_reversible():
    """The largest net flow, by the library, then the bool: both right to pass, a real bool only."""
    pi = mc.stationary_distribution(check.EX_P)
    flow = mc.detailed_balance_violation(check.EX_P, pi)
    truth = mc.is_detailed_balance(check.EX_P, pi)
    assert flow > 0.01 and not truth                       # the book's chain is not reversible
    assert check.reversible(flow, truth)
    assert not check.reversible(flow, not truth)
    r = check.reversible(flow, "yes" if truth else "no")
    assert not r and "should be the bool" in str(r)
    assert not check.reversible(flow, int(truth))
    # the bool alone cannot pass: a flow must come first, and a guessed one fails
    for guess in (None, 0.0, 0.1, flow * 1.01):
        assert not check.reversible(guess, truth)
        assert not check.reversible(guess, not truth)
    r = check.reversible(mc.detailed_balance_violation(check.EX_P, np.full(3, 1 / 3)), truth)
    assert not r and "uniform" in str(r)


def test_reversible_on_a_reversible_chain_drawn_for_a_student():
    from courseware import grading as G

    for salt in range(40):
        fresh = G.own_copy(check, salt)
        pi = mc.stationary_distribution(fresh.EX_P)
        if mc.is_detailed_balance(fresh.EX_P, pi, atol=1e-12):
            assert fresh.reversible(mc.detailed_balance_violation(fresh.EX_P, pi), True)
            assert fresh.reversible(0.0, True)
            assert not fresh.reversible(0.0, False)
            return
    raise AssertionError("no reversible chain among 40 students")


def test_two_state_mixing_time():
    a, b = check.EX_TWO
    P = np.array([[1 - a, b], [a, 1 - b]])
    t = mc.mixing_time(P, 0.25)
    d = mc.tv_to_stationarity(P, t)[t]
    assert check.two_state_mixing_time(t, d)
    assert check.two_state_mixing_time(float(t), d)
    below, above, far = (str(check.two_state_mixing_time(v, d)) for v in (t - 1, t + 1, t + 7))
    assert "[not yet]" in below and "first t" in below
    assert below == above == far           # a miss says nothing of its direction or size
    r = check.two_state_mixing_time(int(np.ceil(mc.mixing_time_bounds(P, 0.25).upper)), d)
    assert not r and "upper bound" in str(r)
    assert not check.two_state_mixing_time(2.5, d)


def test_two_state_mixing_time_needs_the_distance_too():
    """The small integer alone does not pass; the distance is judged with named slips."""
    a, b = check.EX_TWO
    P = np.array([[1 - a, b], [a, 1 - b]])
    t = mc.mixing_time(P, 0.25)
    d = mc.tv_to_stationarity(P, t)[t]
    assert not check.two_state_mixing_time(t)
    assert not check.two_state_mixing_time(t, 0.25)
    r = check.two_state_mixing_time(t, 2 * d)
    assert not r and "1/2" in str(r)
    Pt = np.linalg.matrix_power(P, t)
    pi = mc.stationary_distribution(P)
    better = 0.5 * np.abs(Pt - pi[:, None]).sum(axis=0).min()
    r = check.two_state_mixing_time(t, better)
    assert not r and "worst case" in str(r)


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


def test_tv_distance_recognizes_the_transposed_and_renormalized_chain():
    """P.T with its columns made to sum to one, then d(t) computed correctly for it: a named slip."""
    def wrong(P, T):
        Q = P.T / P.T.sum(axis=0, keepdims=True)
        return mc.tv_to_stationarity(Q, T)
    r = check.tv_distance(wrong)
    assert not r and "transpose of P" in str(r), str(r)


def test_the_page_does_not_print_the_two_state_closed_form_before_the_exercise():
    """The mixing-time exercise asks for d(t) of a two-state chain; no code cell before it may spell out
    the closed form |1 - a - b|^t max(a, b) / (a + b) (a hidden check once did: hiding a cell's output
    does not hide its source)."""
    import json
    from pathlib import Path

    nb = json.loads(Path("chapters/appendix_b_mathematical_appendix/b_2_markov_chains.ipynb").read_text())
    before = []
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if ":label: ex-b2-mixing" in text:
            break
        if cell["cell_type"] == "code":
            before.append(text.replace(" ", ""))
    code = "".join(before)
    for giveaway in ("max(_a,_b)", "/(_a+_b)", "max(a,b)/(a+b)", "0.7**np.arange"):
        assert giveaway not in code
