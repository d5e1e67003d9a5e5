"""Tests for the Section 8.4.1 exercise checkers (pedagogy_lib.exercises.ch08_mcmc): the reference
matrix is checked through the library's builder and its stationarity, the ESS through simulation."""
import numpy as np

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


def test_accept_statement_forbids_the_library_routes():
    forbidden = check.SUMMATIVE["ex-8-4-1-accept"]["forbidden"]
    assert "pedagogy_lib.samplers.finite.mh_transition_matrix" in forbidden
    assert "pedagogy_lib.samplers.mcmc.mh_log_accept_ratio" in forbidden


def test_mh_matrix():
    p, g = check.EX_MH
    T = mh_transition_matrix(np.log(p), g)
    np.testing.assert_allclose(T @ (p / p.sum()), p / p.sum(), atol=1e-14)
    assert check.mh_matrix(T)
    r = check.mh_matrix(T.T)
    assert not r and "transpose" in str(r)
    assert not check.mh_matrix(np.eye(3))


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
