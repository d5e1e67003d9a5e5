"""EKF, UKF and ensemble Kalman filters (pedagogy_lib.assimilation.nonlinear_filters, .ensemble).

Exact oracles in the linear-Gaussian case: the library's Kalman filter (pedagogy_lib.lgssm) and the
dense conditioning of the stacked Gaussian (tests/oracle_lgssm.py). Statistical tests state their
tolerance. The Lorenz-96 test compares the ETKF's time-averaged analysis RMSE with the published
value for the configuration of Sakov and Oke (2008): 40 variables, F = 8, 40 members, all
variables observed every 0.05 time units with unit noise variance; 0.175 is the value reported for
the square-root filter with multiplicative inflation 1.01 (as reproduced by the DAPPER benchmarks).
"""
from __future__ import annotations

import numpy as np
import pytest

from oracle_lgssm import high_precision_filter, oracle_filter
from pedagogy_lib import assimilation as da
from pedagogy_lib.lgssm import LGSSMParams, kalman_filter, sample_lgssm


def perfect_model_posterior(p, y, t, upto):
    """Mean and covariance of x_t given y[:upto] when the model has no noise: x_t = A^t x_0 + s_t, so
    everything is a linear function of x_0 ~ N(mu1, Sigma1); condition the stacked Gaussian of
    (x_0, y_0..y_{upto-1}) with Schur complements (covariance form)."""
    n = p.mu1.shape[0]
    powers, offsets = [np.eye(n)], [np.zeros(n)]
    for _ in range(max(t, upto)):
        powers.append(p.A @ powers[-1])
        offsets.append(p.A @ offsets[-1] + p.a)
    G = np.vstack([p.C @ powers[s] for s in range(upto)])
    off = np.concatenate([p.C @ offsets[s] + p.c for s in range(upto)])
    S_yy = G @ p.Sigma1 @ G.T + np.kron(np.eye(upto), p.Sigma_y_x)
    S_xy = p.Sigma1 @ G.T
    gain = np.linalg.solve(S_yy, S_xy.T).T
    m0 = p.mu1 + gain @ (y[:upto].ravel() - G @ p.mu1 - off)
    P0 = p.Sigma1 - gain @ S_xy.T
    return powers[t] @ m0 + offsets[t], powers[t] @ P0 @ powers[t].T


def _linear(seed=0, n=3, m=2, T=12, q=0.2):
    rng = np.random.default_rng(seed)
    A = 0.95 * np.linalg.qr(rng.standard_normal((n, n)))[0]
    p = LGSSMParams(rng.standard_normal(n), 0.7 * np.eye(n) + 0.1, A, None, 0.1 * np.ones(n),
                    q * np.eye(n) + 0.05 * (q > 0), rng.standard_normal((m, n)), 0.3 * np.ones(m), 0.5 * np.eye(m))
    x, y = sample_lgssm(p._replace(Sigma_x=p.Sigma_x + 1e-3 * np.eye(n)), T, rng=rng)
    return p, x, y


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_ekf_and_ukf_equal_the_kalman_filter_on_a_linear_model(backend):
    p, x, y = _linear()
    kf = kalman_filter(p, y)
    mod = da.from_lgssm(p)
    for res in (da.ekf(mod, y, truth=x, backend=backend), da.ukf(mod, y, truth=x, backend=backend),
                da.ukf(mod, y, alpha=0.5, beta=0.0, kappa=1.0, backend=backend)):
        np.testing.assert_allclose(res.mean, kf.mu_filt, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(res.cov, kf.Upsilon_filt, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(res.forecast_mean, kf.mu_pred, rtol=1e-12, atol=1e-12)


def test_ekf_equals_the_dense_oracle():
    p, x, y = _linear(seed=1)
    mu, Sigma = oracle_filter(p, y)[2:]
    res = da.ekf(da.from_lgssm(p), y)
    np.testing.assert_allclose(res.mean, mu, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.cov, Sigma, rtol=1e-9, atol=1e-10)


def test_result_reports_rmse_and_spread():
    p, x, y = _linear(seed=2)
    res = da.ekf(da.from_lgssm(p), y, truth=x)
    np.testing.assert_allclose(res.rmse, np.sqrt(np.mean((res.mean - x) ** 2, axis=1)))
    np.testing.assert_allclose(res.spread, np.sqrt(np.trace(res.cov, axis1=1, axis2=2) / 3))
    assert np.isnan(da.ekf(da.from_lgssm(p), y).rmse).all()


def test_unscented_transform_is_exact_for_a_square():
    """With n + kappa = 3 the sigma points match the Gaussian's fourth moment: E[x^2] = m^2 + P and
    Var[x^2] = 4 m^2 P + 2 P^2 exactly; linearization (the EKF) predicts the mean m^2, off by P."""
    m, P = 0.7, 0.5
    X, wm, wc = da.sigma_points(np.array([m]), np.array([[P]]), alpha=1.0, beta=0.0, kappa=2.0)
    Y = X[:, 0] ** 2
    mean = wm @ Y
    var = wc @ (Y - mean) ** 2
    assert mean == pytest.approx(m * m + P, rel=1e-14)
    assert var == pytest.approx(4 * m * m * P + 2 * P * P, rel=1e-13)
    assert mean - m * m == pytest.approx(P)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_etkf_with_exact_initial_ensemble_equals_the_kalman_filter(backend):
    """Linear model without model noise: the ETKF's ensemble mean and covariance are the KF's."""
    p, x, y = _linear(seed=3, q=0.0)
    n = 3
    mod = da.from_lgssm(p._replace(Sigma_x=np.eye(n)))._replace(Sigma_x=np.zeros((n, n)))
    E0 = da.exact_ensemble(p.mu1, p.Sigma1, 10, rng=np.random.default_rng(0))
    np.testing.assert_allclose(np.cov(E0.T), p.Sigma1, rtol=1e-12, atol=1e-13)
    res = da.enkf(mod, y, n_members=10, rng=np.random.default_rng(1), initial_ensemble=E0, backend=backend)
    post = [perfect_model_posterior(p, y, t, t + 1) for t in range(y.shape[0])]
    mu, Sigma = np.array([a for a, _ in post]), np.array([b for _, b in post])
    cov = np.array([np.cov(E.T) for E in res.ensemble])
    np.testing.assert_allclose(res.mean, mu, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(cov, Sigma, rtol=1e-9, atol=1e-10)
    # and the library's Kalman filter with a negligible model noise
    kf = kalman_filter(p._replace(Sigma_x=1e-14 * np.eye(n)), y)
    np.testing.assert_allclose(res.mean, kf.mu_filt, rtol=1e-8, atol=1e-9)


def test_perturbed_observation_enkf_approaches_the_kalman_filter_at_the_sqrt_n_rate():
    """The RMS (over 12 seeds) of the final mean's error falls like N^(-1/2): the fitted log-log slope
    over N = 25..1600 lies in [-0.65, -0.35] (its standard error from 12 seeds at 4 sizes is about 0.05)."""
    p, x, y = _linear(seed=4, T=6)
    kf = kalman_filter(p, y)
    mod = da.from_lgssm(p)
    sizes = np.array([25, 100, 400, 1600])
    errs = []
    for N in sizes:
        e = [np.sum((da.enkf(mod, y, n_members=int(N), rng=np.random.default_rng(100 + s), method="perturbed")
                     .mean[-1] - kf.mu_filt[-1]) ** 2) for s in range(12)]
        errs.append(np.sqrt(np.mean(e)))
    slope = np.polyfit(np.log(sizes), np.log(errs), 1)[0]
    assert -0.65 < slope < -0.35, (slope, errs)


@pytest.mark.parametrize("method,loc", [("perturbed", False), ("perturbed", True), ("etkf", False), ("etkf", True)])
def test_ensemble_kernels_equal_their_numpy_twins(method, loc):
    n = 12
    mod = da.DAModel(da.lorenz96(n, n_steps=2), 8.0 * np.ones(n), np.eye(n), 0.01 * np.eye(n), np.eye(n)[::2],
                     np.zeros(n // 2), 0.5 * np.eye(n // 2))
    x, y = da.simulate(mod, 15, rng=np.random.default_rng(0), spin_up=50)
    kw = dict(n_members=8, method=method, inflation=1.05, truth=x,
              localization=da.periodic_taper(n, 2.0) if loc else None)
    a = da.enkf(mod, y, rng=np.random.default_rng(1), **kw)
    b = da.enkf(mod, y, rng=np.random.default_rng(1), backend="numpy", **kw)
    np.testing.assert_allclose(a.ensemble, b.ensemble, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.forecast_mean, b.forecast_mean, rtol=1e-9, atol=1e-9)


def test_local_etkf_with_full_taper_equals_global_etkf():
    n = 10
    mod = da.DAModel(da.lorenz96(n), 8.0 * np.ones(n), np.eye(n), np.zeros((n, n)), np.eye(n), np.zeros(n), np.eye(n))
    x, y = da.simulate(mod, 10, rng=np.random.default_rng(2), spin_up=50)
    a = da.enkf(mod, y, n_members=6, rng=np.random.default_rng(3))
    b = da.enkf(mod, y, n_members=6, rng=np.random.default_rng(3), localization=np.ones((n, n)))
    np.testing.assert_allclose(a.ensemble, b.ensemble, rtol=1e-9, atol=1e-9)


def test_lorenz96_etkf_rmse_matches_the_published_value():
    """N = 40 members, inflation 1.01, every variable observed every 0.05 with unit noise: the analysis RMSE
    averaged over 1500 cycles after 300 cycles of spin-up is within 10% of 0.175, and the spread agrees
    with it (within 25%: the spread of a well-tuned filter tracks its error)."""
    n = 40
    mod = da.DAModel(da.lorenz96(n), 8.0 * np.ones(n), np.eye(n), np.zeros((n, n)), np.eye(n), np.zeros(n), np.eye(n))
    x, y = da.simulate(mod, 1800, rng=np.random.default_rng(96), spin_up=500)
    mod = mod._replace(mu1=x[0] + np.random.default_rng(7).standard_normal(n))
    res = da.enkf(mod, y, n_members=40, rng=np.random.default_rng(8), inflation=1.01, truth=x)
    rmse, spread = res.rmse[300:].mean(), res.spread[300:].mean()
    assert abs(rmse - 0.175) < 0.1 * 0.175, rmse
    assert abs(spread / rmse - 1) < 0.25, (spread, rmse)
    # far below the observation noise (1) and the free run's error
    assert rmse < 0.3


def test_bad_inputs_name_the_argument():
    p, x, y = _linear(seed=5)
    mod = da.from_lgssm(p)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_members"):
        da.enkf(mod, y, n_members=1, rng=rng)
    with pytest.raises(ValueError, match="inflation"):
        da.enkf(mod, y, n_members=5, rng=rng, inflation=0.0)
    with pytest.raises(ValueError, match="inflation"):
        da.enkf(mod, y, n_members=5, rng=rng, inflation=-1.0)
    with pytest.raises(ValueError, match="Sigma_y_x"):
        da.ekf(mod._replace(Sigma_y_x=-np.eye(2)), y)
    with pytest.raises(ValueError, match="Sigma_x"):
        da.ukf(mod._replace(Sigma_x=-np.eye(3)), y)
    with pytest.raises(ValueError, match="localization"):
        da.enkf(mod, y, n_members=5, rng=rng, localization=np.ones((2, 2)))
    with pytest.raises(ValueError, match="y"):
        da.ekf(mod, y[:, :1])
    with pytest.raises(ValueError, match="truth"):
        da.ekf(mod, y, truth=x[:-1])
    with pytest.raises(ValueError, match="method"):
        da.enkf(mod, y, n_members=5, rng=rng, method="bogus")
    with pytest.raises(ValueError, match="alpha"):
        da.ukf(mod, y, alpha=0.0)
    with pytest.raises(ValueError, match="n_members"):
        da.exact_ensemble(np.zeros(3), np.eye(3), 3, rng=rng)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("noise", [1e-20, 1e-60])
def test_etkf_resolves_an_observation_far_more_precise_than_the_spread(backend, noise):
    """Observation noise 1e-20 and 1e-60 of a unit prior spread, perfect linear model, exact initial
    ensemble: the ETKF (global, and local with a full taper) gives the posterior of the stacked Gaussian
    conditioned in 60-digit arithmetic. Its transform came from the eigenvalues of ``I + S S^T``: the
    ones equal to 1 were rounded by 1e20 * eps, came out negative, and the run was refused as
    "the ensemble overflowed float64".

    Beside the near-exact observation, a second one of unit noise: with two observed dimensions the
    kernels get a writable ``C^T`` (for one, ``C.T`` is the model's read-only array itself), the types
    ``warmup_kernels`` compiles for, so the test loads the kernels instead of compiling a version of its own;
    the eigenvalues equal to 1 are still there (rank 2 of 8 members)."""
    import mpmath as mp
    n, T = 2, 2               # a third near-exact observation of the two states would leave an ensemble
    A = np.array([[0.9, 0.2], [-0.1, 0.8]])                              # of spread 1e-10 about O(1)
    C = np.array([[1.0, 0.5], [0.0, 1.0]])                               # near-exact, then unit noise
    mu1, S1 = np.array([0.3, -0.2]), np.array([[1.0, 0.2], [0.2, 0.7]])  # states: 1e-6 relative anomalies
    y = np.array([[0.4, 0.1], [-0.9, 0.3]])
    mod = da.DAModel(da.linear_dynamics(A), mu1, S1, np.zeros((n, n)), C, np.zeros(2), np.diag([noise, 1.0]))
    E0 = da.exact_ensemble(mu1, S1, 8, rng=np.random.default_rng(0))
    with mp.workdps(60):
        M = lambda X: mp.matrix(np.atleast_2d(X).tolist())          # noqa: E731
        mu, P, Am, Cm, R = M(mu1).T, M(S1), M(A), M(C), M(np.diag([noise, 1.0]))
        means, covs = [], []
        for t in range(T):
            if t:
                mu, P = Am * mu, Am * P * Am.T
            K = P * Cm.T * (Cm * P * Cm.T + R) ** -1
            mu, P = mu + K * (M(y[t]).T - Cm * mu), P - K * Cm * P
            means.append([float(v) for v in mu])
            covs.append([[float(P[i, j]) for j in range(n)] for i in range(n)])
    for localization in (None, np.ones((n, n))):
        res = da.enkf(mod, y, n_members=8, rng=np.random.default_rng(1), initial_ensemble=E0,
                      localization=localization, backend=backend)
        np.testing.assert_allclose(res.mean, means, rtol=1e-8, atol=1e-10)
        cov = np.array([np.cov(E.T) for E in res.ensemble])
        np.testing.assert_allclose(cov, covs, rtol=0, atol=1e-10)


@pytest.mark.parametrize("q", [0.0, 0.1])
@pytest.mark.parametrize("noise", [1e-20, 1e-100])
def test_ukf_resolves_an_observation_far_more_precise_than_the_spread(noise, q):
    """Observation noise 1e-20 and 1e-100 of a unit prior spread, linear model with and without model
    noise: the UKF (exact for a linear model) gives the Kalman filter's moments, here the EKF's (held to
    the dense oracle above), which these inputs leave exact. The posterior's variance along the observed
    direction is of the order of the rounding of the others; the UKF took its sigma points from a
    Cholesky factor and refused the run as "no longer positive definite"."""
    A, C = np.array([[0.9, 0.2], [-0.1, 0.8]]), np.array([[1.0, 0.5]])
    mod = da.DAModel(da.linear_dynamics(A), np.array([0.3, -0.2]), np.array([[1.0, 0.2], [0.2, 0.7]]),
                     q * np.eye(2), C, np.zeros(1), noise * np.eye(1))
    y = np.array([[0.4], [-0.9], [0.6], [0.1]])[:4 if q else 2]   # a perfect model is pinned after two
    e, u = da.ekf(mod, y), da.ukf(mod, y)                           # near-exact observations of its 2 states
    np.testing.assert_allclose(u.mean, e.mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(u.cov, e.cov, rtol=1e-9, atol=1e-12)
    # the posterior after the first observation: Sigma1 - k k^T / (C Sigma1 C^T + noise), k = Sigma1 C^T
    S1 = mod.Sigma1
    k = S1 @ C[0]
    np.testing.assert_allclose(u.cov[0], S1 - np.outer(k, k) / (C[0] @ k + noise), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("ratio", [1e-300, 1e-100, 1e-20, 1e-16, 1e-8, 1.0, 1e100, 1e300])
def test_ekf_and_ukf_observe_every_state_at_any_noise_to_prior_ratio(ratio, m):
    """Observation noise from 1e-300 to 1e300 of a unit prior spread, m >= n observations of n = 2 states,
    perfect linear model (EKF = UKF = Kalman filter): both equal the filter in 50-digit arithmetic. They
    refused every ratio <= 1e-16 ("no longer positive definite": Upsilon - K C Upsilon cancels to rounding
    once K C is the identity to rounding); the square-root update keeps the posterior, of size ratio, to
    1e-8 of its own size. The UKF's sigma points, 1e-50 or less from a mean of order 1, coincide with it
    in float64; there it forecasts by the tangent-linear model, which the unscented transform equals."""
    A = np.array([[0.9, 0.2], [-0.1, 0.8]])
    C = np.array([[1.0, 0.5], [0.3, -0.7], [0.6, 1.0]])[:m]
    mu1, S1 = np.array([0.3, -0.2]), np.array([[1.0, 0.2], [0.2, 0.7]])
    y = np.random.default_rng(4).standard_normal((3, m))
    R = ratio * np.diag([1.0, 0.5, 2.0])[:m, :m]
    mod = da.DAModel(da.linear_dynamics(A), mu1, S1, np.zeros((2, 2)), C, np.zeros(m), R)
    means, covs = high_precision_filter(A, C, mu1, S1, R, y)
    for fn in (da.ekf, da.ukf):
        res = fn(mod, y)
        np.testing.assert_allclose(res.mean, means, rtol=1e-9, atol=1e-12)
        for t in range(3):
            np.testing.assert_allclose(res.cov[t], covs[t], rtol=1e-8, atol=1e-8 * np.abs(covs[t]).max())


@pytest.mark.parametrize("e", [-600, 600])
def test_result_rmse_and_spread_hold_where_their_squares_leave_float64(e):
    """Errors of 5 * 2^600 square past the largest float64 and of 5 * 2^-600 below the smallest; the
    root-mean-square error and the spreads are computed scaled, so both come out exact."""
    s = 2.0**e
    mean = s * np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    want_rmse = s * np.array([5.0 / np.sqrt(3.0), 0.0])
    cov = np.broadcast_to(np.diag([1.0, 2.0, 3.0]), (2, 3, 3))
    res = da.make_result("test", mean, None, None, mean, np.zeros((2, 3)))
    np.testing.assert_allclose(res.rmse, want_rmse, rtol=1e-14)
    ens = np.stack([mean + s * np.array([1.0, -2.0, 2.0]), mean - s * np.array([1.0, -2.0, 2.0])], axis=1)
    res = da.make_result("test", mean, None, ens, mean, None)
    np.testing.assert_allclose(res.spread, s * np.sqrt(2.0 * 9.0 / 3.0), rtol=1e-14)   # (2 * 9 / (N-1)) / n
    big = 2.0**510 if e > 0 else 2.0**-510
    res = da.make_result("test", mean, big * big * cov, None, mean, None)
    np.testing.assert_allclose(res.spread, big * np.sqrt(2.0), rtol=1e-14)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_etkf_spread_scales_with_the_state_to_the_edge_of_float64(backend):
    """States and noise scaled by s = 2^511 (covariances near 1e308): the ETKF is equivariant, so its
    spread and RMSE are s times those at s = 1; the spread's squares used to overflow (a refusal
    naming the internal ``spread`` with the compiled kernel, infinity with the NumPy twin)."""
    p, x, y = _linear(seed=5, n=3, m=3, T=6, q=0.2)
    s = 2.0**511
    def model(k):
        return da.DAModel(da.linear_dynamics(p.A), k * p.mu1, k * k * p.Sigma1, k * k * p.Sigma_x, p.C, k * p.c,
                          k * k * p.Sigma_y_x)
    one = da.enkf(model(1.0), y, n_members=12, rng=np.random.default_rng(3), truth=x, backend=backend)
    big = da.enkf(model(s), s * y, n_members=12, rng=np.random.default_rng(3), truth=s * x, backend=backend)
    np.testing.assert_allclose(big.spread / s, one.spread, rtol=1e-9)
    np.testing.assert_allclose(big.rmse / s, one.rmse, rtol=1e-9)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_perturbed_enkf_refuses_where_its_innovation_covariance_overflows(backend):
    """The perturbed-observation EnKF at states scaled by 2^510 (covariances near 1e307): the sample
    innovation covariance sums N squares of anomalies near 1e153 and overflows. The compiled kernel
    then solved with an infinite S, got a gain of 0 and returned the forecast as the analysis: means
    96 % of the state's size off, without a word (the NumPy twin refused). Both refuse now; at 2^500,
    where nothing overflows, both give the scale-1 answer times 2^500."""
    p, x, y = _linear(seed=5, n=3, m=3, T=6, q=0.2)

    def model(k):
        return da.DAModel(da.linear_dynamics(p.A), k * p.mu1, k * k * p.Sigma1, k * k * p.Sigma_x, p.C, k * p.c,
                          k * k * p.Sigma_y_x)
    def run(k):
        return da.enkf(model(k), k * y, n_members=20, rng=np.random.default_rng(1), method="perturbed",
                       truth=k * x, backend=backend)
    one, s = run(1.0), 2.0**500
    np.testing.assert_allclose(run(s).mean / s, one.mean, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match=r"^the ensemble overflowed float64"):
        run(2.0**510)
