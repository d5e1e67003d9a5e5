"""Finite Markov chains (Appendix B.2 "Markov chains"), column-stochastic as the book's HMM.

Oracles: random walks on weighted graphs (stationary distribution proportional to the weighted
degree, reversible by construction), Metropolis chains built for a chosen target, the two-state
chain whose distance to stationarity has a closed form, and counts of simulated transitions.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from pedagogy_lib import discrete
from pedagogy_lib.discrete import markov_chain as mc

RNG = np.random.default_rng(1729)


def random_walk(K, rng):
    """Random walk on a complete weighted graph with self-loops: P[i, j] = W[i, j] / sum_i W[i, j]."""
    W = rng.random((K, K)) + 0.05
    W = W + W.T
    deg = W.sum(axis=0)
    return W / deg[None, :], deg / deg.sum()


def metropolis(target, rng):
    """Metropolis chain with a uniform proposal for a target distribution (columns = current state)."""
    K = target.size
    P = np.minimum(1.0, target[:, None] / target[None, :]) / K
    np.fill_diagonal(P, 0.0)
    P[np.arange(K), np.arange(K)] = 1.0 - P.sum(axis=0)
    return P


@pytest.mark.parametrize("K", [2, 3, 7])
def test_stationary_distribution_of_a_weighted_random_walk(K):
    P, pi = random_walk(K, RNG)
    got = mc.stationary_distribution(P)
    assert np.allclose(got, pi, atol=1e-12)
    assert np.allclose(P @ got, got, atol=1e-12)
    assert mc.is_detailed_balance(P, got)


def test_metropolis_chain_is_reversible_for_its_target():
    target = RNG.dirichlet(np.ones(6))
    P = metropolis(target, RNG)
    assert mc.is_detailed_balance(P, target)
    assert np.allclose(mc.stationary_distribution(P), target, atol=1e-12)


def test_a_stationary_chain_need_not_be_reversible():
    # a drift around a cycle: the uniform distribution is stationary, but the flow circulates
    K = 4
    P = 0.2 * np.eye(K) + 0.7 * np.roll(np.eye(K), 1, axis=0) + 0.1 * np.roll(np.eye(K), -1, axis=0)
    u = np.full(K, 1 / K)
    assert np.allclose(mc.stationary_distribution(P), u, atol=1e-12)
    assert not mc.is_detailed_balance(P, u)
    assert mc.detailed_balance_violation(P, u) == pytest.approx(0.6 / K)


@pytest.mark.parametrize("a, b, eps", [(0.3, 0.1, 0.25), (0.05, 0.2, 0.01), (0.9, 0.8, 0.1)])
def test_two_state_chain_gap_and_mixing_time_in_closed_form(a, b, eps):
    P = np.array([[1 - a, b], [a, 1 - b]])
    rho = abs(1 - a - b)
    assert mc.spectral_gap(P) == pytest.approx(1 - rho, abs=1e-12)
    t = np.arange(30)
    assert np.allclose(mc.tv_to_stationarity(P, 29), rho**t * max(a, b) / (a + b), atol=1e-12)
    # smallest t with rho^t max(a, b)/(a + b) <= eps
    t_mix = max(0, math.ceil(math.log(eps * (a + b) / max(a, b)) / math.log(rho)))
    assert mc.mixing_time(P, eps) == t_mix


@pytest.mark.parametrize("seed", range(4))
def test_mixing_time_lies_within_the_relaxation_time_bounds(seed):
    rng = np.random.default_rng(seed)
    P, _ = random_walk(5, rng)
    P = 0.5 * (np.eye(5) + P)                         # lazy: all eigenvalues non-negative
    for eps in (0.25, 0.01):
        b = mc.mixing_time_bounds(P, eps)
        t = mc.mixing_time(P, eps)
        assert b.lower <= t <= b.upper
        assert b.t_rel == pytest.approx(1 / mc.spectral_gap(P))


@pytest.mark.parametrize("t", [1e-100, 1e-160, 1e-200, 1e-300])
def test_relaxation_bound_holds_when_the_rarest_state_is_below_the_floats(t):
    """A birth-death chain (up with probability t, down with 1/2) has pi proportional to (1, 2t, 4t^2): for
    t = 1e-160 pi_min = 4e-320 and 1 / (eps pi_min) overflowed (upper bound inf, with a warning), and below
    it pi_min rounded to 0 (inf again). Reference: mpmath, pi from detailed balance and the relaxation time
    from the eigenvalues of P at 50 digits."""
    import mpmath as mp
    P = np.array([[1 - t, 0.5, 0.0], [t, 0.5 - t, 0.5], [0.0, t, 0.5]])
    with mp.workdps(50):
        T = mp.mpf(t)
        Pm = mp.matrix([[1 - T, mp.mpf("0.5"), 0], [T, mp.mpf("0.5") - T, mp.mpf("0.5")], [0, T, mp.mpf("0.5")]])
        lams = sorted((abs(x) for x in mp.eig(Pm)[0]), reverse=True)
        t_rel = 1 / (1 - lams[1])
        pi_min = 4 * T ** 2 / (1 + 2 * T + 4 * T ** 2)
        upper = float(t_rel * mp.log(1 / (mp.mpf("0.25") * pi_min)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = mc.mixing_time_bounds(P, 0.25)
    assert b.upper == pytest.approx(upper, rel=1e-9)
    assert b.t_rel == pytest.approx(float(t_rel), rel=1e-9)


def test_periodic_chain_has_zero_gap_and_never_mixes():
    P = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert mc.spectral_gap(P) == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(mc.stationary_distribution(P), [0.5, 0.5])
    with pytest.raises(ValueError, match=r"P did not mix to within eps = 0.25 in t_max = 50 steps"):
        mc.mixing_time(P, t_max=50)


def test_simulated_transitions_follow_the_columns_of_P():
    P, _ = random_walk(3, RNG)
    x = mc.simulate_chain(P, 0, 40_000, np.random.default_rng(7))
    counts = np.zeros((3, 3))
    np.add.at(counts, (x[1:], x[:-1]), 1)
    visits = counts.sum(axis=0)
    freq = counts / visits[None, :]
    # given the visits to j, the successors are independent draws from column j (Markov property)
    se = np.sqrt(P * (1 - P) / visits[None, :])
    assert np.all(np.abs(freq - P) < 5 * se)


def test_the_family_exports_the_chain_functions():
    P, pi = random_walk(3, RNG)
    assert np.allclose(discrete.stationary_distribution(P), pi)
    assert discrete.is_detailed_balance(P, pi)
    assert 0 < discrete.spectral_gap(P) <= 1 and discrete.mixing_time(P, 0.25) >= 0


@pytest.mark.parametrize("call, match", [
    (lambda: mc.stationary_distribution([[0.9, 0.1], [0.2, 0.8]]),
     r"^P must be column-stochastic: column 0 sums to 1.1 .* Its rows sum to one: .* pass P.T"),
    (lambda: mc.stationary_distribution([[1.2, 0.0], [-0.2, 1.0]]), r"^P must be non-negative; entry \(1, 0\)"),
    (lambda: mc.stationary_distribution(np.ones((2, 3)) / 2), r"^P must be a non-empty square"),
    (lambda: mc.stationary_distribution(np.eye(3)), r"^P has 3 linearly independent stationary distributions"),
    (lambda: mc.is_detailed_balance(np.eye(2), [0.5, 0.6]), r"^pi must sum to 1"),
    (lambda: mc.mixing_time(np.full((2, 2), 0.5), eps=1.5), r"^eps must be in \(0, 1\)"),
    (lambda: mc.mixing_time_bounds(0.2 * np.eye(3) + 0.8 * np.roll(np.eye(3), 1, axis=0)),
     r"^P must satisfy detailed balance"),
    (lambda: mc.simulate_chain(np.full((2, 2), 0.5), 2, 10, RNG), r"^x1 must be at most 1; got 2"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
