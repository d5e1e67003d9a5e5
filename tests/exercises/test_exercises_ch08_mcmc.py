"""Tests for the Section 8.4.1 exercise checkers (pedagogy_lib.exercises.ch08_mcmc): the reference
matrix is built from Barker's ratio form and checked against the statement's flows and for stationarity, the
ESS through simulation."""
import numpy as np
import pytest

from pedagogy_lib.discrete.markov_chain import stationary_distribution
from pedagogy_lib.exercises import ch08_mcmc as check
from pedagogy_lib.samplers import ess, mh_transition_matrix


def test_accept_prob():
    p, g = check.EX_MH
    a = min(1.0, (p[2] * g[1, 2]) / (p[1] * g[2, 1]))    # move 1 -> 2: g(1 | 2) is the reverse proposal
    assert 0 < a < 1
    assert check.accept_prob(a)
    r = check.accept_prob(min(1.0, p[2] / p[1]))
    assert not r and "Hastings" in str(r)
    assert not check.accept_prob(None)


def test_accept_prob_names_the_one_based_reading_and_merges_slips_that_coincide():
    p, g = check.EX_MH
    one_based = min(1.0, p[1] * g[0, 1] / (p[0] * g[1, 0]))      # the move 0 -> 1
    r = check.accept_prob(one_based)
    assert not r and "counted the states from 1" in str(r)
    inverted = min(1.0, p[2] * g[2, 1] / (p[1] * g[1, 2]))
    if np.isclose(inverted, one_based):                        # the book's data: both give 1.0
        assert "or you inverted the proposal ratio" in str(r)


def _barker_by_ratio(p, g):
    """Independently of the checker's flows: Barker's acceptance r / (1 + r) of the Metropolis-Hastings ratio
    r = p_i g(j | i) / (p_j g(i | j)), times the proposal, and the rest of each column on the diagonal."""
    n = len(p)
    T = np.zeros((n, n))
    for j in range(n):
        for i in range(n):
            if i != j:
                r = p[i] * g[j, i] / (p[j] * g[i, j])
                T[i, j] = g[i, j] * r / (1 + r)
        T[j, j] = 1 - sum(T[i, j] for i in range(n) if i != j)
    return T


def test_mh_matrix_with_the_harmonic_flow():
    p, g = check.EX_MH
    T = _barker_by_ratio(p, g)
    pn = p / p.sum()
    flows = T * pn[None, :]
    s = g * pn[None, :]
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(flows[off], (s * s.T / (s + s.T))[off], rtol=1e-12)   # the statement's flow
    np.testing.assert_allclose(stationary_distribution(T), pn, atol=1e-12)
    assert check.mh_matrix(T)
    r = check.mh_matrix(T.T)
    assert not r and "transpose" in str(r)
    assert not check.mh_matrix(np.eye(3))


def _stays(M):
    M = np.array(M, float)
    np.fill_diagonal(M, 0.0)
    M[np.diag_indices(3)] = 1 - M.sum(axis=0)
    return M


@pytest.mark.parametrize("wrong,fragment", [
    (lambda p, g: mh_transition_matrix(np.log(p), g), "Metropolis-Hastings matrix"),
    (lambda p, g: _stays(_barker_by_ratio(p, g) * p[None, :]), "flows"),
    (lambda p, g: _stays(_barker_by_ratio(p, g) / g), "without the proposal probability"),
    (lambda p, g: _stays(g * (g * p[None, :]) / (g * p[None, :] + (g * p[None, :]).T)), "exchanged"),
    (lambda p, g: _stays(g * p[:, None] / (p[:, None] + p[None, :])), "as if g were symmetric"),
    (lambda p, g: _barker_by_ratio(p, g) - np.diag(np.diag(_barker_by_ratio(p, g))) + np.diag(np.diag(g)),
     "self-moves"),
])
def test_mh_matrix_names_the_slips(wrong, fragment):
    p, g = check.EX_MH
    r = check.mh_matrix(wrong(p, g))
    assert not r and fragment in str(r), str(r)


def test_ar1_ess():
    phi, n = check.EX_AR1["phi"], check.EX_AR1["n"]
    rng = np.random.default_rng(0)
    C = 400
    x = np.empty((n, C))
    x[0] = rng.standard_normal(C) / np.sqrt(1 - phi ** 2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.standard_normal(C)
    per_chain = ess(x) / C
    assert abs(per_chain / (n * (1 - phi) / (1 + phi)) - 1) < 0.05
    assert check.ar1_ess(n * (1 - phi) / (1 + phi))
    r = check.ar1_ess(n * (1 - phi))
    assert not r and "geometric sum" in str(r) and "(1 + phi) / (1 - phi)" not in str(r)


def _rw(x, d):
    return min(1.0, np.exp(-0.5 * ((x + d) ** 2 - x ** 2)))


def test_step_size_claim_asks_for_both_acceptances_together():
    x, small, large = (check.EX_STEPS[k] for k in ("x", "small", "large"))
    rng = np.random.default_rng(1)                     # the acceptance by simulation of the ratio's test
    u = rng.uniform(size=200_000)
    for d in (small, large):
        assert abs(np.mean(u < np.exp(-0.5 * ((x + d) ** 2 - x ** 2))) - _rw(x, d)) < 5e-3
    pair = (_rw(x, small), _rw(x, large))
    assert pair[0] > 0.9 and pair[1] < 0.01             # the post's claim is backwards
    assert check.step_size_claim(pair)
    for half_right in ((pair[0], 0.5), (0.5, pair[1])):
        r = check.step_size_claim(half_right)
        assert not r and "both are checked together" in str(r)
    for guess in (True, False, None):
        assert not check.step_size_claim(guess)
