"""Checkers of the data-assimilation notebook 2 (pedagogy_lib.exercises.da_filters)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import sqrtm

from pedagogy_lib.exercises import da_filters as check
from pedagogy_lib.exercises.references import da_filters as refs


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


# --- ex-da-2-ukf-cycle: one cycle of the unscented Kalman filter ---------------------------------------------------

def _ukf_cycle(mu, Upsilon, y, flow, Sigma_x, C, c, Sigma_y_x, *, noise=True, centre=False, rows=False, beta=0.0):
    """The notebook's solution, each named slip a switch."""
    n = len(mu)
    lam = 1.0
    L = np.linalg.cholesky((n + lam) * Upsilon)
    off = L if rows else L.T
    X = np.vstack([mu, mu + off, mu - off])
    w = np.full(2 * n + 1, 1 / (2 * (n + lam)))
    w[0] = lam / (n + lam)
    wc = w.copy()
    wc[0] += beta
    F = flow(X)
    m = flow(mu) if centre else w @ F
    dev = F - m
    P = dev.T @ (wc[:, None] * dev) + (Sigma_x if noise else 0.0)
    S = C @ P @ C.T + Sigma_y_x
    K = np.linalg.solve(S, C @ P).T
    return m + K @ (y - C @ m - c), P - K @ S @ K.T


def _ukf_loops(mu, Upsilon, y, flow, Sigma_x, C, c, Sigma_y_x):
    """Independently: sigma points from the library, the flow called on one point at a time, sums written as loops,
    and the update in the information form (precision P^{-1} + C^T R^{-1} C)."""
    from pedagogy_lib import assimilation as da

    X, wm, wc = da.sigma_points(mu, Upsilon, alpha=1.0, beta=0.0, kappa=1.0)
    F = [np.asarray(flow(x)) for x in X]
    m = sum(w * f for w, f in zip(wm, F))
    P = sum(w * np.outer(f - m, f - m) for w, f in zip(wc, F)) + Sigma_x
    R_inv = np.linalg.inv(Sigma_y_x)
    U = np.linalg.inv(np.linalg.inv(P) + C.T @ R_inv @ C)
    return U @ (np.linalg.solve(P, m) + C.T @ R_inv @ (y - c)), U


def test_ukf_cycle_accepts_the_solution_and_an_information_form_with_loops():
    assert check.ukf_cycle(_ukf_cycle)
    assert check.ukf_cycle(_ukf_loops)


def test_ukf_cycle_reference_is_the_librarys_second_step_and_the_kalman_filter_on_a_linear_model():
    """Run ``da.ukf`` (alpha = 1, beta = 0, kappa = 1) for two cycles: its second filter is the reference cycle from
    its first. On the scalar linear case the reference is the Kalman filter's step."""
    from pedagogy_lib import assimilation as da
    from pedagogy_lib.lgssm import LGSSMParams, kalman_filter

    for mu, Upsilon, y, flow, Sigma_x, C, c, Sigma_y_x in check._ukf_cases():
        model = da.DAModel(flow.dynamics, mu, Upsilon, Sigma_x, C, c, Sigma_y_x)
        y2 = np.vstack([C @ mu + c + 0.3, y])
        res = da.ukf(model, y2, alpha=1.0, beta=0.0, kappa=1.0, backend="numpy")
        ref = refs.ukf_reference(res.mean[0], res.cov[0], y, flow, Sigma_x, C, c, Sigma_y_x)
        np.testing.assert_allclose(ref[0], res.mean[1], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(ref[1], res.cov[1], rtol=1e-9, atol=1e-9)
        if flow.dynamics.kind == "linear":
            A, a = np.array([[0.9]]), np.array([0.4])
            assert np.allclose(flow(np.array([[1.0]])), A @ [1.0] + a)
            kf = kalman_filter(LGSSMParams(mu, Upsilon, A, None, a, Sigma_x, C, c, Sigma_y_x), y2)
            np.testing.assert_allclose(ref[0], kf.mu_filt[1], rtol=1e-10)
            np.testing.assert_allclose(ref[1], kf.Upsilon_filt[1], rtol=1e-10)


@pytest.mark.parametrize("kw,fragment", [
    (dict(noise=False), "left the model error Sigma_x out"),
    (dict(centre=True), "image of the mean"),
    (dict(rows=True), "along the rows of the Cholesky factor"),
    (dict(beta=2.0), "beta = 2"),
])
def test_ukf_cycle_names_the_slips(kw, fragment):
    res = check.ukf_cycle(lambda *args: _ukf_cycle(*args, **kw))
    assert not res and fragment in str(res), str(res)


def test_ukf_cycle_says_the_square_root_is_fixed():
    def symmetric_root(mu, Upsilon, y, flow, Sigma_x, C, c, Sigma_y_x):
        n = len(mu)
        L = np.real(sqrtm((n + 1.0) * Upsilon))
        X = np.vstack([mu, mu + L, mu - L])
        w = np.r_[1 / (n + 1.0), np.full(2 * n, 1 / (2 * (n + 1.0)))]
        F = flow(X)
        m = w @ F
        P = (F - m).T @ np.diag(w) @ (F - m) + Sigma_x
        K = P @ C.T @ np.linalg.inv(C @ P @ C.T + Sigma_y_x)
        return m + K @ (y - C @ m - c), P - K @ C @ P

    res = check.ukf_cycle(symmetric_root)
    assert not res and "Cholesky factor" in str(res), str(res)


@pytest.mark.parametrize("wrong,fragment", [
    (lambda *args: _ukf_cycle(*args)[0], "should return the pair"),
    (lambda *args: 1 / 0, "raised ZeroDivisionError"),
])
def test_ukf_cycle_names_a_single_array_and_an_exception(wrong, fragment):
    res = check.ukf_cycle(wrong)
    assert not res and fragment in str(res), str(res)


def test_ukf_cycle_rejects_a_stub_and_a_non_function_and_reveals_no_answer():
    import re

    stub = check.ukf_cycle(lambda *args: None)
    assert not stub and stub.unanswered and "forget to return" in str(stub)
    assert "it is None" in str(check.ukf_cycle(None))
    assert "should be a function" in str(check.ukf_cycle("ukf"))
    msg = str(check.ukf_cycle(lambda *args: (_ukf_cycle(*args)[0] + 0.02, _ukf_cycle(*args)[1])))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg


# --- ex-da-2-adf-update --------------------------------------------------------------------------------------------


def _quad_moments(m, v, y, h, Sigma_y_x):
    """Mean and variance of N(x; m, v) N(y; h(x), Sigma_y_x), normalized, by adaptive quadrature (scipy)."""
    from scipy import integrate

    def f(x):
        return np.exp(-0.5 * (x - m) ** 2 / v - 0.5 * (y - h(np.array([x]))[0]) ** 2 / Sigma_y_x)

    lo, hi = m - 12 * np.sqrt(v), m + 12 * np.sqrt(v)
    kw = dict(epsabs=0, epsrel=1e-12, limit=500)
    Z = integrate.quad(f, lo, hi, **kw)[0]
    mean = integrate.quad(lambda x: x * f(x), lo, hi, **kw)[0] / Z
    return mean, integrate.quad(lambda x: (x - mean) ** 2 * f(x), lo, hi, **kw)[0] / Z


def _adf_grid(m, v, y, h, Sigma_y_x):
    x = m + np.sqrt(v) * np.linspace(-10, 10, 4001)
    log_w = -0.5 * (x - m) ** 2 / v - 0.5 * (y - h(x)) ** 2 / Sigma_y_x
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    mean = w @ x
    return mean, w @ (x - mean) ** 2


@pytest.mark.parametrize("salt", [None, 1, 2])
def test_adf_update_reference_is_adaptive_quadrature(salt):
    import contextlib
    from pedagogy_lib.exercises import checker
    with checker.drawn_for(salt) if salt else contextlib.nullcontext():
        cases = check._adf_cases()
    for _, args in cases:
        ref, quad = refs.adf_update(*args), _quad_moments(*args)
        assert abs(ref[0] - quad[0]) < 1e-8 * np.sqrt(quad[1]) and abs(ref[1] / quad[1] - 1) < 1e-8


@pytest.mark.parametrize("salt", [None, 1, 2])
def test_adf_update_first_problem_is_bimodal_and_the_linear_one_is_kalman(salt):
    import contextlib
    from pedagogy_lib.exercises import checker
    with checker.drawn_for(salt) if salt else contextlib.nullcontext():
        (_, first), (_, lin) = check._adf_cases()[:2]
    m, v, y, h, S = first
    x = np.linspace(m - 10 * np.sqrt(v), m + 10 * np.sqrt(v), 20001)
    p = np.exp(-0.5 * (x - m) ** 2 / v - 0.5 * (y - h(x)) ** 2 / S)
    peaks = x[1:-1][(p[1:-1] > p[:-2]) & (p[1:-1] >= p[2:]) & (p[1:-1] > 1e-3 * p.max())]
    assert len(peaks) == 2 and peaks[0] < 0 < peaks[1]
    m, v, y, h, S = lin
    c = h(np.array([1.0]))[0] - h(np.array([0.0]))[0]
    K = v * c / (c * v * c + S)
    np.testing.assert_allclose(refs.adf_update(*lin), (m + K * (y - h(np.array([m]))[0]), (1 - K * c) * v),
                               rtol=1e-9)


def test_adf_update_accepts_a_grid_and_quadrature_and_rejects_a_stub():
    assert check.adf_update(_adf_grid)
    assert check.adf_update(_quad_moments)
    assert not check.adf_update(lambda m, v, y, h, S: None)
    assert not check.adf_update(None)


@pytest.mark.parametrize("wrong, fragment", [
    (lambda m, v, y, h, S: (m, v), "forecast's moments"),
    (lambda m, v, y, h, S: _adf_grid(m, v, y, h, S ** 2), "standard deviation"),
    (lambda m, v, y, h, S: (_adf_grid(m, v, y, h, S)[0], sum(a * b for a, b in zip((1, 1), (
        _adf_grid(m, v, y, h, S)[1], _adf_grid(m, v, y, h, S)[0] ** 2)))), "second moment about zero"),
])
def test_adf_update_names_the_slips(wrong, fragment):
    r = check.adf_update(wrong)
    assert not r and fragment in str(r)


def test_adf_update_names_the_ekf_update():
    def ekf(m, v, y, h, S):
        H = (h(np.array([m + 1e-6])) - h(np.array([m - 1e-6])))[0] / 2e-6
        K = v * H / (H * v * H + S)
        return m + K * (y - h(np.array([m]))[0]), (1 - K * H) * v
    r = check.adf_update(ekf)
    assert not r and "EKF" in str(r)
