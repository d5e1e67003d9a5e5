"""Checkers of the data-assimilation notebook 2 (pedagogy_lib.exercises.da_filters)."""
from __future__ import annotations

import numpy as np
from scipy.linalg import sqrtm

from pedagogy_lib.exercises import da_filters as check


def _points(L):
    p = check.EX_UT
    X = np.vstack([p.mean, p.mean + L.T, p.mean - L.T])
    w = np.array([1 / 3] + [1 / 6] * 4)
    return X, w


def test_sigma_points():
    p = check.EX_UT
    # two different square roots of (n + kappa) Sigma are both right
    assert check.sigma_points(*_points(np.linalg.cholesky(3 * p.cov)))
    assert check.sigma_points(*_points(np.real(sqrtm(3 * p.cov))))
    r = check.sigma_points(*_points(np.linalg.cholesky(p.cov)))
    assert not r and "n + kappa" in str(r)
    X, w = _points(np.linalg.cholesky(3 * p.cov))
    assert not check.sigma_points(X, np.full(5, 0.2))
    assert not check.sigma_points(X[:4], w[:4])


def test_ekf_forecast_cov():
    p = check.EX_FORECAST
    ref = np.einsum("ij,jk,lk->il", p.M, p.P, p.M) + p.Q
    assert check.ekf_forecast_cov(ref)
    r = check.ekf_forecast_cov(ref - p.Q)
    assert not r and "model-error" in str(r)


def test_linearization_bias():
    m, P = check.SQUARE["m"], check.SQUARE["P"]
    # Monte Carlo-free: E[x^2] = Var + mean^2 for any distribution
    assert check.linearization_bias((m * m + P) - m * m)
    r = check.linearization_bias(m * m + P)
    assert not r and "E[x^2] itself" in str(r)
