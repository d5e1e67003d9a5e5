"""Log-space helpers and Cholesky-based linear algebra against direct formulas."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from pedagogy_lib.core.logmath import log_normalize, logsumexp, softmax
from pedagogy_lib.core.linalg import TAU, chol_logdet, chol_solve, mvn_logpdf_chol, spd_inverse, symmetrize


def test_logsumexp_matches_naive_where_finite_and_survives_where_naive_fails():
    z = np.array([[0.1, -2.0, 3.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(logsumexp(z, axis=1), np.log(np.exp(z).sum(axis=1)), rtol=1e-14)
    far = np.array([-1000.0, -1001.0])
    with np.errstate(divide="ignore"):
        assert np.isneginf(np.log(np.exp(far).sum()))           # the naive form underflows
    np.testing.assert_allclose(logsumexp(far), -1000.0 + np.log1p(np.exp(-1.0)), rtol=1e-14)
    assert np.isneginf(logsumexp(np.array([-np.inf, -np.inf])))


def test_softmax_is_shift_invariant_and_normalized():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 4))
    p = softmax(z, axis=1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(softmax(z + 1234.5, axis=1), p, rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_normalize(z, axis=0)).sum(axis=0), 1.0, rtol=1e-14)
    # a point 1000 standard deviations away: exp underflows to 0/0 = NaN, softmax does not
    huge = np.array([-5e5, -5e5 - 3.0])
    with np.errstate(invalid="ignore"):
        assert np.isnan(np.exp(huge) / np.exp(huge).sum()).all()
    np.testing.assert_allclose(softmax(huge), [1 / (1 + np.exp(-3.0)), 1 / (1 + np.exp(3.0))], rtol=1e-9)  # 5e5 * eps


def test_cholesky_helpers_against_dense_linear_algebra():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((5, 5))
    S = M @ M.T + 0.5 * np.eye(5)
    L = np.linalg.cholesky(S)
    B = rng.standard_normal((5, 3))
    np.testing.assert_allclose(chol_solve(L, B), np.linalg.solve(S, B), rtol=1e-10)
    np.testing.assert_allclose(chol_logdet(L), np.linalg.slogdet(S)[1], rtol=1e-12)
    inv = spd_inverse(L)
    np.testing.assert_allclose(inv @ S, np.eye(5), atol=1e-10)
    np.testing.assert_array_equal(inv, inv.T)
    np.testing.assert_array_equal(symmetrize(M), symmetrize(M).T)


def test_mvn_logpdf_chol_matches_scipy_and_uses_tau():
    rng = np.random.default_rng(2)
    M = rng.standard_normal((3, 3))
    S = M @ M.T + np.eye(3)
    mu = rng.standard_normal(3)
    y = rng.standard_normal((4, 3))
    L = np.linalg.cholesky(S)
    np.testing.assert_allclose(mvn_logpdf_chol(y, mu, L), multivariate_normal(mu, S).logpdf(y), rtol=1e-12)
    assert np.ndim(mvn_logpdf_chol(y[0], mu, L)) == 0
    assert TAU == pytest.approx(2 * np.pi)
    # at the mean of a standard normal in D dimensions the log density is -D/2 log(tau)
    assert mvn_logpdf_chol(np.zeros(3), np.zeros(3), np.eye(3)) == pytest.approx(-1.5 * np.log(TAU))


def test_sigmoid_and_softplus_are_shared_and_stable_far_out():
    """One stable sigmoid and softplus for the whole library (nn, harmonium and contrastive use
    these), equal to SciPy's expit and NumPy's logaddexp(0, a) to rounding, with no overflow."""
    from scipy.special import expit

    from pedagogy_lib.contrastive import nce
    from pedagogy_lib.core import logmath
    from pedagogy_lib.harmonium import model
    from pedagogy_lib.nn import network

    a = np.concatenate([np.linspace(-800.0, 800.0, 4001), [-1e300, 1e300, -0.0, 5e-324]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is right
        s, sp = logmath.sigmoid(a), logmath.softplus(a)
    np.testing.assert_allclose(s, expit(a), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(sp, np.logaddexp(0.0, a), rtol=1e-14, atol=1e-300)
    assert network.sigmoid is model.sigmoid is nce.sigmoid is logmath.sigmoid
    assert network.softplus is model.softplus is nce.softplus is logmath.softplus
