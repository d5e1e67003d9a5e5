"""Tests for the checkers of notebook 9.2 (pedagogy_lib.exercises.ch09_nice).

References: the fitted scaling from a numerical maximum of the likelihood with finite-difference
log-determinants, the inverse from a root-find, and one leapfrog step integrated with the samplers' leapfrog.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from pedagogy_lib.exercises import ch09_nice as check
from pedagogy_lib.exercises.references import ch09_nice as refs
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


# --- ex-9-2-loglik: the log-likelihood of a NICE flow (Eq. 9.7) ----------------------------------------------------

def _nice_loglik(Y, masks, nets, sigma):
    """The notebook's solution: couplings on the whole batch, then the scaling and Eq. 9.7."""
    X = np.array(Y, dtype=float)
    for a, (W, b, V, v) in zip(masks, nets):
        X[:, ~a] = X[:, ~a] + np.tanh(X[:, a] @ W.T + b) @ V.T + v
    X = X * np.exp(sigma)
    return -0.5 * np.sum(X ** 2, axis=1) - 0.5 * Y.shape[1] * np.log(2 * np.pi) + np.sum(sigma)


def _nice_map(y, masks, nets, sigma):
    """The flow d on one point, with index arrays instead of masks."""
    x = np.array(y, dtype=float)
    for a, (W, b, V, v) in zip(masks, nets):
        ia, ib = np.flatnonzero(a), np.flatnonzero(~np.asarray(a))
        x[ib] = x[ib] + V @ np.tanh(W @ x[ia] + b) + v
    return np.exp(sigma) * x


def _nice_loglik_fd(Y, masks, nets, sigma, h=1e-5):
    """Independently of the triangular structure: row by row, scipy's normal log-density at d(y) plus log|det| of a
    central-difference Jacobian of the whole flow (the log-determinant is sum(sigma) to about 1e-10)."""
    from scipy import stats

    out = []
    for y in Y:
        J = np.column_stack([(_nice_map(y + h * e, masks, nets, sigma) - _nice_map(y - h * e, masks, nets, sigma))
                             / (2 * h) for e in np.eye(len(y))])
        out.append(stats.norm.logpdf(_nice_map(y, masks, nets, sigma)).sum() + np.linalg.slogdet(J)[1])
    return np.array(out)


def test_nice_loglik_accepts_the_solution_and_a_row_by_row_version():
    assert check.nice_log_likelihood(_nice_loglik)

    def by_rows(Y, masks, nets, sigma):
        from scipy import stats
        return np.array([stats.norm.logpdf(_nice_map(y, masks, nets, sigma)).sum() + np.sum(sigma) for y in Y])

    assert check.nice_log_likelihood(by_rows)


def test_nice_loglik_reference_matches_a_finite_difference_jacobian():
    for Y, masks, nets, sigma in check._nice_cases():
        np.testing.assert_allclose(refs.nice_reference(Y, masks, nets, sigma),
                                   _nice_loglik_fd(Y, masks, nets, sigma), rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(refs.nice_reference(Y, masks, nets, sigma), _nice_loglik(Y, masks, nets, sigma),
                                   rtol=1e-12, atol=1e-12)


def _nice_slip(*, log_det=True, normalizer=True, swapped=False, from_data=False):
    def fn(Y, masks, nets, sigma):
        X = np.array(Y, dtype=float)
        for a, (W, b, V, v) in zip(masks, nets):
            a = ~a if swapped else a
            U = Y if from_data else X
            X[:, ~a] = X[:, ~a] + np.tanh(U[:, a] @ W.T + b) @ V.T + v
        X = X * np.exp(sigma)
        return (-0.5 * np.sum(X ** 2, axis=1) - (0.5 * Y.shape[1] * np.log(2 * np.pi) if normalizer else 0.0)
                + (np.sum(sigma) if log_det else 0.0))
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_nice_slip(log_det=False), "left out the log-determinant"),
    (_nice_slip(normalizer=False), "normalizer"),
    (_nice_slip(swapped=True), "masks the other way round"),
    (_nice_slip(from_data=True), "read the data y instead"),
    (lambda Y, masks, nets, sigma: _nice_loglik(Y, masks, nets, sigma).mean(), "should have shape"),
    (lambda Y, masks, nets, sigma: 1 / 0, "raised ZeroDivisionError"),
])
def test_nice_loglik_names_the_slips(wrong, fragment):
    res = check.nice_log_likelihood(wrong)
    assert not res and fragment in str(res), str(res)


def test_nice_loglik_rejects_a_stub_and_a_non_function_and_reveals_no_answer():
    import re

    stub = check.nice_log_likelihood(lambda Y, masks, nets, sigma: None)
    assert not stub and stub.unanswered and "forget to return" in str(stub)
    assert "it is None" in str(check.nice_log_likelihood(None))
    assert "should be a function" in str(check.nice_log_likelihood(3.0))
    msg = str(check.nice_log_likelihood(lambda *args: _nice_loglik(*args) + 0.01))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg.replace("Eq. 9.7", "")), msg
