"""The assumed-density filter (pedagogy_lib/assimilation/adf.py) against independent answers: the Kalman
filter of the LGSSM family on a linear model, closed-form moments of polynomials, and posterior moments
integrated on a fine grid; the grid filter against the Kalman filter; the KL projection property."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from pedagogy_lib.assimilation import adf
from pedagogy_lib.lgssm import LGSSMParams, kalman_filter


def _linear(a=0.9, c=1.5, Sigma_x=0.3, Sigma_y_x=0.5, mu1=0.4, Sigma1=2.0, T=30, seed=0):
    rng = np.random.default_rng(seed)
    x = np.empty(T)
    x[0] = mu1 + np.sqrt(Sigma1) * rng.standard_normal()
    for t in range(1, T):
        x[t] = a * x[t - 1] + np.sqrt(Sigma_x) * rng.standard_normal()
    y = c * x + np.sqrt(Sigma_y_x) * rng.standard_normal(T)
    params = LGSSMParams(np.array([mu1]), np.array([[Sigma1]]), np.array([[a]]), None, np.zeros(1),
                         np.array([[Sigma_x]]), np.array([[c]]), np.zeros(1), np.array([[Sigma_y_x]]))
    model = (lambda s, t: a * s, lambda s: c * s, Sigma_x, Sigma_y_x, y, mu1, Sigma1)
    return model, params, y


def test_on_a_linear_gaussian_model_the_adf_is_the_kalman_filter():
    model, params, y = _linear()
    res = adf.assumed_density_filter(*model)
    kf = kalman_filter(params, y[:, None], backend="numpy")
    np.testing.assert_allclose(res.mu_pred, kf.mu_pred[:, 0], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(res.Upsilon_pred, kf.Upsilon_pred[:, 0, 0], rtol=1e-9)
    np.testing.assert_allclose(res.mu_filt, kf.mu_filt[:, 0], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(res.Upsilon_filt, kf.Upsilon_filt[:, 0, 0], rtol=1e-9)
    np.testing.assert_allclose(res.log_p_y.sum(), kf.log_evidence, rtol=1e-9)


def test_the_grid_filter_is_the_kalman_filter_up_to_its_resolution():
    model, params, y = _linear()
    res = adf.grid_filter(*model, lo=-12.0, hi=12.0, n_grid=1201)
    kf = kalman_filter(params, y[:, None], backend="numpy")
    np.testing.assert_allclose(res.mu_filt, kf.mu_filt[:, 0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(res.Upsilon_filt, kf.Upsilon_filt[:, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(res.log_p_y.sum(), kf.log_evidence, rtol=1e-6)
    np.testing.assert_allclose(res.density.sum(axis=1) * (res.grid[1] - res.grid[0]), 1.0, rtol=1e-12)


@pytest.mark.parametrize("mu, U", [(0.0, 1.0), (1.3, 0.2), (-2.0, 5.0)])
def test_push_forward_moments_of_polynomials_are_exact(mu, U):
    # E[X^2] = mu^2 + U, Var[X^2] = 4 mu^2 U + 2 U^2; E[X^3] = mu^3 + 3 mu U, Var[X^3] = E[X^6] - E[X^3]^2
    m, v = adf.gaussian_moments(lambda x: x ** 2, mu, U)
    np.testing.assert_allclose([m, v], [mu ** 2 + U, 4 * mu ** 2 * U + 2 * U ** 2], rtol=1e-10)
    m6 = mu ** 6 + 15 * mu ** 4 * U + 45 * mu ** 2 * U ** 2 + 15 * U ** 3
    m, v = adf.gaussian_moments(lambda x: x ** 3, mu, U)
    np.testing.assert_allclose([m, v], [mu ** 3 + 3 * mu * U, m6 - (mu ** 3 + 3 * mu * U) ** 2], rtol=1e-9,
                               atol=1e-12)


def _fine_posterior(m, v, y, h, r):
    """Posterior of N(m, v) times N(y; h(x), r) on a fine grid far wider than the prior: its mean and variance."""
    x = np.linspace(m - 14 * np.sqrt(v), m + 14 * np.sqrt(v), 200001)
    logp = -0.5 * (x - m) ** 2 / v - 0.5 * (y - h(x)) ** 2 / r
    p = np.exp(logp - logp.max())
    p /= p.sum()
    mean = p @ x
    return mean, p @ (x - mean) ** 2


@pytest.mark.parametrize("y", [0.2, 3.0, 8.0])
def test_a_measurement_update_matches_the_moments_of_the_exact_posterior(y):
    """One step with the quadratic observation of the notebook, whose posterior is bimodal for y > 0."""
    h = lambda x: x ** 2 / 20  # noqa: E731
    res = adf.assumed_density_filter(lambda x, t: x, h, 1.0, 1.0, [y], 0.5, 10.0)
    mean, var = _fine_posterior(0.5, 10.0, y, h, 1.0)
    np.testing.assert_allclose([res.mu_filt[0], res.Upsilon_filt[0]], [mean, var], rtol=1e-7, atol=1e-9)


def test_the_matched_gaussian_is_the_kl_projection_of_the_exact_filter():
    """Over Gaussians q, KL(p || q) is smallest at p's own mean and variance: moving either raises it."""
    h = lambda x: x ** 2 / 20  # noqa: E731
    g = adf.grid_filter(lambda x, t: x, h, 1.0, 1.0, [4.0], 0.5, 10.0, lo=-25.0, hi=25.0, n_grid=4001)
    p, x, dx = g.density[0], g.grid, g.grid[1] - g.grid[0]

    def kl(m, v):
        q = np.exp(-0.5 * (x - m) ** 2 / v) / np.sqrt(2 * np.pi * v)
        keep = p > 0
        return np.sum(p[keep] * np.log(p[keep] / q[keep])) * dx

    best = kl(g.mu_filt[0], g.Upsilon_filt[0])
    for dm, fv in [(0.05, 1.0), (-0.05, 1.0), (0.0, 1.05), (0.0, 0.95)]:
        assert kl(g.mu_filt[0] + dm, g.Upsilon_filt[0] * fv) > best


def test_a_long_sequence_stays_finite_and_its_variances_positive():
    model, _, _ = _linear(T=3000, seed=3)
    res = adf.assumed_density_filter(*model, n_nodes=101)
    assert np.all(np.isfinite(res.mu_filt)) and np.all(res.Upsilon_filt > 0) and np.isfinite(res.log_p_y.sum())


def test_on_the_growth_model_the_first_step_is_exact_and_the_rest_finite():
    """On the strongly nonlinear growth model of the notebook: at the first step, where the belief is the
    Gaussian prior, the ADF's update is the exact filter's; later steps stay finite and positive."""
    rng = np.random.default_rng(5)
    f = lambda x, t: 0.5 * x + 25 * x / (1 + x ** 2) + 8 * np.cos(1.2 * t)  # noqa: E731
    h = lambda x: x ** 2 / 20  # noqa: E731
    T, x = 15, np.empty(15)
    x[0] = rng.normal(0.0, 1.0)
    for t in range(1, T):
        x[t] = f(x[t - 1], t - 1) + np.sqrt(10.0) * rng.standard_normal()
    y = h(x) + rng.standard_normal(T)
    res = adf.assumed_density_filter(f, h, 10.0, 1.0, y, 0.0, 1.0)
    g = adf.grid_filter(f, h, 10.0, 1.0, y, 0.0, 1.0, lo=-40.0, hi=40.0, n_grid=1201)
    assert np.all(np.isfinite(res.mu_filt)) and np.all(res.Upsilon_filt > 0)
    np.testing.assert_allclose(res.mu_filt[0], g.mu_filt[0], rtol=1e-4, atol=1e-4)   # step 1: both exact
    np.testing.assert_allclose(res.Upsilon_filt[0], g.Upsilon_filt[0], rtol=1e-4)


@pytest.mark.parametrize("kwargs, match", [
    (dict(f=None), "f must be a function"),
    (dict(h=3.0), "h must be a function"),
    (dict(Sigma_x=-1.0), "Sigma_x"),
    (dict(Sigma_y_x=0.0), "Sigma_y_x"),
    (dict(Sigma1=-2.0), "Sigma1"),
    (dict(y=[]), "y"),
    (dict(y=[1.0, np.nan]), "y"),
    (dict(y=[[1.0], [2.0]]), "y"),
    (dict(h=lambda x: x[:3]), "h must return one value per point"),
    (dict(f=lambda x, t: np.full_like(x, np.inf)), "f returned values that are not finite"),
    (dict(n_nodes=2), "n_nodes"),
])
def test_bad_input_gets_a_clear_error(kwargs, match):
    args = dict(f=lambda x, t: 0.9 * x, h=lambda x: x, Sigma_x=0.3, Sigma_y_x=0.5, y=[0.1, 0.2], mu1=0.0,
                Sigma1=1.0)
    n_nodes = kwargs.pop("n_nodes", 41)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        adf.assumed_density_filter(args.pop("f"), args.pop("h"), args.pop("Sigma_x"), args.pop("Sigma_y_x"),
                                   args.pop("y"), args.pop("mu1"), args.pop("Sigma1"), n_nodes=n_nodes)


def test_grid_filter_refuses_a_reversed_grid_and_reports_lost_mass():
    model, _, _ = _linear(T=3)
    with pytest.raises(ValueError, match="lo < hi"):
        adf.grid_filter(*model, lo=1.0, hi=-1.0)
    with pytest.raises(ValueError, match="widen the grid"):
        adf.grid_filter(lambda x, t: x, lambda x: x, 0.1, 1e-4, [50.0], 0.0, 1.0, lo=-2.0, hi=2.0)


def test_moments_that_overflow_raise_instead_of_returning_inf():
    """A belief far out (mu = 1e150) through x^2 / 4: the values are finite but their variance is not."""
    from pedagogy_lib.assimilation.adf import gaussian_moments

    with pytest.raises(ValueError, match="overflow double precision; rescale mu"):
        gaussian_moments(lambda x: x ** 2 / 4.0, 1e150, 2.0, n_nodes=21)
    m, v = gaussian_moments(lambda x: x ** 2 / 4.0, 1e3, 2.0, n_nodes=21)
    assert np.isfinite(m) and np.isfinite(v)


@pytest.mark.parametrize("R", [1e-2, 1e-4, 1e-6, 1e-9, 1e-12])
def test_a_narrow_likelihood_gets_the_kalman_update(R):
    """Issue 53: the grid over a prior of variance 1 (spacing 0.04) cannot see a likelihood of standard
    deviation 1e-2 or less; the update re-grids over the posterior and is the Kalman update again."""
    S = 1.0 + R
    exact = (0.7 / S, R / S, -0.5 * (np.log(2 * np.pi * S) + 0.49 / S))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = adf.assumed_density_filter(lambda x, t: x, lambda x: x, 0.1, R, np.array([0.7]), 0.0, 1.0)
    np.testing.assert_allclose([res.mu_filt[0], res.Upsilon_filt[0], res.log_p_y[0]], exact, rtol=1e-9)


def test_a_likelihood_no_grid_can_resolve_warns():
    """Narrower than double precision resolves around the state, or so far from the forecast that rounding
    hides the likelihood's slope across the grid: a RuntimeWarning naming the step, not a silent answer."""
    with pytest.warns(RuntimeWarning, match=r"step t = 0: .*double precision"):
        adf.assumed_density_filter(lambda x, t: x, lambda x: x, 0.1, 1e-30, np.array([0.7]), 0.0, 1.0)
    with pytest.warns(RuntimeWarning, match=r"step t = 0: .*y\[0\] lies so far from the forecast"):
        adf.assumed_density_filter(lambda x, t: x, lambda x: x, 0.1, 1e-154, np.array([0.3]), 0.0, 1e-150)


def test_an_observation_far_in_the_forecasts_tail_is_found():
    """y = 60 forecast standard deviations out: the grid over the forecast holds none of the posterior; it
    is moved out to it (Kalman's answer, no warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = adf.assumed_density_filter(lambda x, t: x, lambda x: x, 0.1, 1.0, np.array([60.0]), 0.0, 1.0)
    np.testing.assert_allclose([res.mu_filt[0], res.Upsilon_filt[0], res.log_p_y[0]],
                               [30.0, 0.5, -0.5 * (np.log(4 * np.pi) + 1800.0)], rtol=1e-9)


def test_moments_narrower_than_double_precision_around_mu_are_refused():
    """Issue 53: at Upsilon = 1e-150 around mu = 2 the nodes mu +- 8 sqrt(Upsilon) all round to 2 and the
    variance came out 0; it is refused, naming Upsilon and the smallest it supports there."""
    with pytest.raises(ValueError, match=r"Upsilon = 1e-150 is too small for mu = 2.*at least about"):
        adf.gaussian_moments(lambda x: x, 2.0, 1e-150)
    np.testing.assert_allclose(adf.gaussian_moments(lambda x: x, 0.0, 1e-150), [0.0, 1e-150], rtol=1e-12, atol=1e-88)
