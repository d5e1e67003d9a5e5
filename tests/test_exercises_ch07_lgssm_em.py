"""Tests for the Section 7.4 exercise checkers (pedagogy_lib.exercises.ch07_lgssm_em).

Correct answers are computed here independently: the smoother moments by dense conditioning of the
stacked joint Gaussian (tests/oracle_lgssm.py), the M steps by least squares on "augmented" data
(a square root of the expected moments), and the similarity transform written out from its definition.
"""
from __future__ import annotations

import numpy as np

from oracle_lgssm import posterior_states
from pedagogy_lib.exercises import ch07_lgssm_em as check


def _dense_moments():
    p = check.EX_SMOOTH
    g = posterior_states(p.params, p.y)
    T, n = g.mu.shape
    blk = lambda t, s: g.Sigma[t * n:(t + 1) * n, s * n:(s + 1) * n]  # noqa: E731
    E_xx = [blk(t, t) + np.outer(g.mu[t], g.mu[t]) for t in range(T)]
    E_np = [blk(t + 1, t) + np.outer(g.mu[t + 1], g.mu[t]) for t in range(T - 1)]
    return g.mu, E_xx, E_np


def test_smoother_data_agree_with_dense_oracle():
    p = check.EX_SMOOTH
    mu, E_xx, E_np = _dense_moments()
    np.testing.assert_allclose(p.mu_smooth, mu, rtol=1e-9, atol=1e-10)


def test_cross_moment():
    p = check.EX_SMOOTH
    mu, _, E_np = _dense_moments()
    assert check.cross_moment(sum(E_np))
    r = check.cross_moment(mu[1:].T @ mu[:-1])
    assert not r and "cross-covariance" in str(r)
    r = check.cross_moment(sum(E_np).T)
    assert not r and "transpose" in str(r)
    r = check.cross_moment(None)
    assert not r and "None" in str(r)
    r = check.cross_moment(sum(p.Upsilon_smooth[t + 1] + np.outer(mu[t + 1], mu[t]) for t in range(len(mu) - 1)))
    assert not r and "marginal covariance" in str(r)


def test_m_step_A():
    mu, E_xx, E_np = _dense_moments()
    S10, S00 = sum(E_np), sum(E_xx[:-1])
    # A solves A S00 = S10: the normal equations, checked through a Cholesky-free least-squares route
    A = np.linalg.lstsq(S00.T, S10.T, rcond=None)[0].T
    assert check.m_step_A(A)
    r = check.m_step_A(np.linalg.solve(S00, S10))
    assert not r and "wrong order" in str(r)
    r = check.m_step_A(np.linalg.solve(sum(E_xx).T, S10.T).T)
    assert not r and "all T steps" in str(r)
    r = check.m_step_A(np.linalg.solve((mu[:-1].T @ mu[:-1]).T, (mu[1:].T @ mu[:-1]).T).T)
    assert not r and "means only" in str(r)
    assert not check.m_step_A(None)
    assert not check.m_step_A(np.eye(3))


def test_m_step_C():
    p = check.EX_SMOOTH
    mu, E_xx, _ = _dense_moments()
    y, T = p.y, p.y.shape[0]
    Sxx = sum(E_xx)
    C = np.linalg.lstsq(Sxx, mu.T @ y, rcond=None)[0].T
    # expected residual: sum (y - C x)(y - C x)^T = sum (y - C mu)(y - C mu)^T + C Upsilon C^T
    R = sum(np.outer(y[t] - C @ mu[t], y[t] - C @ mu[t]) + C @ (E_xx[t] - np.outer(mu[t], mu[t])) @ C.T
            for t in range(T)) / T
    assert check.m_step_C(C, R)
    r = check.m_step_C(C)
    assert not r and "Sigma_y_x is None" in str(r)
    r = check.m_step_C(np.linalg.solve(mu.T @ mu, mu.T @ y).T, R)
    assert not r and "posterior covariances" in str(r)
    r = check.m_step_C(C, R * T / (T - 1))
    assert not r and "T - 1" in str(r)
    r = check.m_step_C(C, (y - mu @ C.T).T @ (y - mu @ C.T) / T)
    assert not r and "C Upsilon C^T" in str(r)
    Sold = (y.T @ y - p.params.C @ (mu.T @ y)) / T
    r = check.m_step_C(C, Sold)
    assert not r and "old C" in str(r)
    assert not check.m_step_C(None, None)


def test_similarity():
    p, S = check.EX_SIM
    Si = np.linalg.inv(S)
    good = p._replace(A=S @ p.A @ Si, C=p.C @ Si, Sigma_x=S @ p.Sigma_x @ S.T, mu1=S @ p.mu1,
                      Sigma1=S @ p.Sigma1 @ S.T, a=S @ p.a)
    assert check.similarity(good)
    r = check.similarity(good._replace(C=p.C @ S))
    assert not r and "C S^{-1}" in str(r)
    r = check.similarity(good._replace(A=Si @ p.A @ S))
    assert not r and "other direction" in str(r)
    r = check.similarity(good._replace(Sigma_x=S.T @ p.Sigma_x @ S))
    assert not r and "S Sigma_x S^T" in str(r)
    r = check.similarity(None)
    assert not r and "None" in str(r)
    r = check.similarity({"A": good.A})
    assert not r and "LGSSMParams" in str(r)


def test_eigenvalues_invariant():
    assert check.eigenvalues_invariant(False)
    r = check.eigenvalues_invariant(True)
    assert not r and "same distribution" in str(r)
    stub = check.eigenvalues_invariant(None)
    # The stub gets a type complaint, never the argument (no "eigenvalues", no "S A S^{-1}").
    assert not stub and "eigenvalue" not in str(stub) and "S A S" not in str(stub)
    assert "S A S" not in str(r) and "eigenvalue" not in str(r)
