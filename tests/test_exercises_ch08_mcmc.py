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
    assert not r and "both factors" in str(r)


def test_step_size_claim():
    assert check.step_size_claim(False)
    assert check.step_size_claim("no")
    r = check.step_size_claim(True)
    assert not r and "Metropolis ratio" in str(r)
    assert not check.step_size_claim(None)
