"""Tests for the checkers of notebook 9.2 (pedagogy_lib.exercises.ch09_nice).

References: the flow's log-determinant and inverse from pedagogy_lib.deepgen.nice-independent
reasoning (sums and a root-find), and one leapfrog step integrated with the samplers' leapfrog.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize

from pedagogy_lib.exercises import ch09_nice as check
from pedagogy_lib.samplers import mcmc, targets


def _flow(y):
    u = np.array(y, dtype=float)
    for k in range(check.EX_N_COUPLINGS):
        if k % 2 == 0:
            u[2:] = u[2:] + check.coupling_m(u[:2])
        else:
            u[:2] = u[:2] + check.coupling_m(u[2:])
    return np.exp(check.EX_SIGMA) * u


def test_flow_log_density_with_a_numerical_jacobian():
    y = check.EX_Y
    h = 1e-6
    J = np.column_stack([(_flow(y + h * e) - _flow(y - h * e)) / (2 * h) for e in np.eye(4)])
    log_det = np.linalg.slogdet(J)[1]
    assert abs(log_det - check.EX_SIGMA.sum()) < 1e-6
    x = _flow(y)
    lp = np.sum(-0.5 * x ** 2 - 0.5 * np.log(2 * np.pi)) + log_det
    assert check.flow_log_density(lp)
    assert not check.flow_log_density(check.EX_SIGMA.sum())          # the page's log-determinant alone
    res = check.flow_log_density(lp - 2 * log_det)
    assert not res and "subtracted" in str(res)
    assert "its log is the sum" not in str(check.flow_log_density(np.exp(check.EX_SIGMA.sum())))
    assert not check.flow_log_density(None)


def _forward(x):
    x = np.array(x, dtype=float)
    x[1] = x[1] + check.coupling_m(x[0])
    x[0] = x[0] + check.coupling_m(x[1])
    return x


def test_invert_two_couplings_by_root_finding():
    x = optimize.fsolve(lambda v: _forward(v) - check.EX_OUT, check.EX_OUT, xtol=1e-13)
    np.testing.assert_allclose(_forward(x), check.EX_OUT, atol=1e-12)
    assert check.invert_coupling(x)
    a, b = check.EX_OUT
    res = check.invert_coupling([a, b - check.coupling_m(a)])    # one coupling, the page's formula
    assert not res and "only the first" in str(res)
    x2 = b - check.coupling_m(a)
    res = check.invert_coupling([a - check.coupling_m(x2), x2])
    assert not res and "order" in str(res)


def test_leapfrog_matrix_passes_and_fails():
    target = targets.gaussian_target(np.zeros(1), np.eye(1))     # U = x^2 / 2
    cols = []
    for e in np.eye(2):
        x, p = mcmc.leapfrog(target, e[None, :1], e[None, 1:], check.EX_EPS, 1)
        cols.append([x[0, 0], p[0, 0]])
    M = np.array(cols).T                                       # linear map: columns are images of the basis
    assert abs(np.linalg.det(M) - 1) < 1e-12
    assert check.leapfrog_matrix(M)
    res = check.leapfrog_matrix(M.T)
    assert not res
