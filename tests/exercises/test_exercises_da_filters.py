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
    assert not r and "constant factor" in str(r)
    X, w = _points(np.linalg.cholesky(3 * p.cov))
    assert not check.sigma_points(X, np.full(5, 0.2))
    assert not check.sigma_points(X[:4], w[:4])


def _euler_jacobian_by_differences(x, dt, h=0.1):
    """Independently of the checker: the Euler step's Jacobian by central differences of the library's
    Lorenz-63 vector field (exact for a quadratic field, up to rounding, so a wide step h is best)."""
    from pedagogy_lib import assimilation as da

    f = lambda z: da.vector_field(da.lorenz63(), z)
    step = lambda z: z + dt * f(z)
    return np.column_stack([(step(x + h * e) - step(x - h * e)) / (2 * h) for e in np.eye(3)])


def test_ekf_forecast_cov_needs_the_tangent_linear_matrix_of_an_euler_step():
    p = check.EX_FORECAST
    M = _euler_jacobian_by_differences(p.x, p.dt)
    ref = np.einsum("ij,jk,lk->il", M, p.P, M) + p.Q
    assert check.ekf_forecast_cov(ref)
    r = check.ekf_forecast_cov(ref - p.Q)
    assert not r and "model-error" in str(r)
    J = (M - np.eye(3)) / p.dt
    for wrong, fragment in [(J @ p.P @ J.T + p.Q, "vector field's Jacobian"),
                            ((np.eye(3) + J) @ p.P @ (np.eye(3) + J).T + p.Q, "leaves out the step dt"),
                            (M.T @ p.P @ M + p.Q, "M^T P M")]:
        r = check.ekf_forecast_cov(wrong)
        assert not r and fragment in str(r), str(r)


def test_ekf_forecast_variant_keeps_the_problems_shape():
    for seed in range(5):
        f = check.SUMMATIVE["ex-da-2-ekf-forecast"]["variant"](np.random.default_rng(seed))["EX_FORECAST"]
        assert f.x.shape == (3,) and f.P.shape == f.Q.shape == (3, 3) and f.dt > 0
        assert np.all(np.linalg.eigvalsh(f.P) > 0)


def test_linearization_bias_asks_for_the_cube_not_the_pages_square():
    m, P = check.CUBE["m"], check.CUBE["P"]
    rng = np.random.default_rng(0)
    x = m + np.sqrt(P) * rng.standard_normal(2_000_000)
    bias = 3 * m * P
    assert abs(np.mean(x ** 3) - m ** 3 - bias) < 0.02          # Monte Carlo agrees with the derivation
    assert check.linearization_bias(bias)
    for wrong, fragment in [(m ** 3 + bias, "E[x^3] itself"), (P, "page's case"), (3 * P, "left the mean m out"),
                            (2 * bias, "factor of 2"), (bias / 2, "factor of 1/2")]:
        r = check.linearization_bias(wrong)
        assert not r and fragment in str(r), str(r)


def test_linearization_bias_variant_keeps_the_mean_away_from_zero():
    for seed in range(50):
        cube = check.SUMMATIVE["ex-da-2-bias"]["variant"](np.random.default_rng(seed))["CUBE"]
        assert abs(cube["m"]) >= 0.5 and cube["P"] > 0


def test_sigma_point_hints_point_at_what_to_recheck_without_the_formula():
    p = check.EX_UT
    for L in (np.linalg.cholesky(p.cov), np.linalg.cholesky(3 * p.cov).T):
        msg = str(check.sigma_points(*_points(L)))
        assert "(n + kappa) Sigma" not in msg and "square root of (n + kappa)" not in msg, msg
    X, w = _points(np.linalg.cholesky(3 * p.cov))
    msg = str(check.sigma_points(X, np.array([0.2, 0.2, 0.2, 0.2, 0.2])))
    assert "kappa / (n + kappa)" not in msg and "1 / (2 (n + kappa))" not in msg, msg
