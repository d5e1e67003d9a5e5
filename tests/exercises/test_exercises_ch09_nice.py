"""Tests for the checkers of notebook 9.2 (pedagogy_lib.exercises.ch09_nice).

References: the fitted scaling from a numerical maximum of the likelihood with finite-difference
log-determinants, the inverse from a root-find, and one leapfrog step integrated with the samplers' leapfrog.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize

from pedagogy_lib.exercises import ch09_nice as check
from pedagogy_lib.samplers import proposals, targets


def _flow(y, sigma):
    """The flow of exercise 1 on one point y, written out here: the couplings, then the scaling."""
    u = np.array(y, dtype=float)
    for k in range(check.EX_N_COUPLINGS):
        if k % 2 == 0:
            u[2:] = u[2:] + check.coupling_m(u[:2])
        else:
            u[:2] = u[:2] + check.coupling_m(u[2:])
    return np.exp(sigma) * u


def _fd_log_det(y, sigma, h=1e-6):
    """log|det| of a central-difference Jacobian of the whole flow at y (no use of the couplings'
    triangular structure)."""
    J = np.column_stack([(_flow(y + h * e, sigma) - _flow(y - h * e, sigma)) / (2 * h) for e in np.eye(4)])
    return np.linalg.slogdet(J)[1]


def test_fitted_scaling_against_a_numerical_maximum():
    rng = np.random.default_rng(0)
    for y in check.EX_YS[:5]:                   # the log-determinant, numerically, at a few points and scales
        for sigma in (np.zeros(4), rng.normal(size=4)):
            assert abs(_fd_log_det(y, sigma) - sigma.sum()) < 1e-6
    U = np.array([_flow(y, np.zeros(4)) for y in check.EX_YS])

    def mean_loglik(sigma):
        X = np.exp(sigma) * U
        return np.mean(np.sum(-0.5 * X ** 2 - 0.5 * np.log(2 * np.pi), axis=1)) + sigma.sum()

    res = optimize.minimize(lambda s: -mean_loglik(s), np.zeros(4), method="BFGS", options={"gtol": 1e-12})
    best = -res.fun
    assert check.flow_log_density(best)
    # the log-scales left at zero, and every row summed, are told apart
    res0 = check.flow_log_density(mean_loglik(np.zeros(4)))
    assert not res0 and "at zero" in str(res0)
    res_sum = check.flow_log_density(len(U) * best)
    assert not res_sum and "summed" in str(res_sum)
    # the variance in place of the mean square gives a lower likelihood, which the checker names
    res_var = check.flow_log_density(mean_loglik(-0.5 * np.log(U.var(axis=0))))
    assert not res_var and "variance" in str(res_var)
    res_det = check.flow_log_density(best - res.x.sum())
    assert not res_det and "left out the log-determinant" in str(res_det)
    assert not check.flow_log_density(best + 1e-3)
    assert not check.flow_log_density(None)


def test_fitted_scaling_data_differ_between_students():
    from pedagogy_lib.exercises import checker
    with checker.drawn_for(3):
        from importlib import reload
        drawn = reload(check)
        ys, n = drawn.EX_YS.copy(), drawn.EX_N_COUPLINGS
    reload(check)
    assert ys.shape == check.EX_YS.shape and not np.allclose(ys, check.EX_YS)
    assert 2 <= n <= 8


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
        x, p = proposals.leapfrog(target, e[None, :1], e[None, 1:], check.EX_EPS, 1)
        cols.append([x[0, 0], p[0, 0]])
    M = np.array(cols).T                                       # linear map: columns are images of the basis
    assert abs(np.linalg.det(M) - 1) < 1e-12
    assert check.leapfrog_matrix(M)
    res = check.leapfrog_matrix(M.T)
    assert not res
