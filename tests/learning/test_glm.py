"""Tests for pedagogy_lib.learning.glm (book Section 5.1.2, Eqs. 5.11-5.14).

Oracles, each independent of the code under test:

* ``scipy.optimize.minimize`` (BFGS) on the negative log-likelihood written with ``scipy.stats``
  (``bernoulli``, ``poisson``, ``gamma``, ``norm``), with the gradient written out in the test;
* scikit-learn's unpenalized GLMs, all with ``solver="newton-cholesky"`` and ``tol=1e-12``:
  ``LogisticRegression(C=np.inf)`` (``penalty=None`` is deprecated since scikit-learn 1.8; ``C=inf``
  means no penalty), ``PoissonRegressor(alpha=0)`` (log link = canonical), ``GammaRegressor(alpha=0)``
  (log link, *not* the canonical inverse link, so it is compared with ``family("gamma", "log")``);
* a Newton step written with ``np.linalg.solve`` on the analytic gradient and Hessian;
* finite differences for the link derivatives, ``scipy.stats`` log-likelihoods for the deviances.

Tolerances: two converged optimizers agree to ``rtol = 1e-6`` (BFGS, ``gtol = 1e-10``) or
``1e-7`` (Newton-type sklearn solvers); exact algebra to ``1e-10``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.special import expit
from sklearn.linear_model import GammaRegressor, LogisticRegression, PoissonRegressor

from pedagogy_lib.learning import glm
from pedagogy_lib.learning.glm import ConvergenceWarning
from pedagogy_lib.core.gradcheck import gradcheck

K_SHAPE = 3.0          # Gamma shape used to simulate (the MLE of w does not depend on it)


def simulate(name, link=None, N=300, seed=0):
    """A well-posed problem: X has a column of ones and two features; y from the true model."""
    rng = np.random.default_rng(seed)
    if name == "gamma" and (link or "inverse") == "inverse":
        X = np.column_stack([np.ones(N), rng.uniform(0, 1, (N, 2))])
        w = np.array([0.5, 1.0, 0.6])                            # eta in [0.5, 2.1] > 0
    else:
        X = np.column_stack([np.ones(N), rng.standard_normal((N, 2))])
        w = np.array([0.3, 0.8, -0.6])
    eta = X @ w
    if name == "bernoulli":
        y = (rng.random(N) < expit(eta)).astype(float)
    elif name == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif name == "gamma":
        mu = 1.0 / eta if (link or "inverse") == "inverse" else np.exp(eta)
        y = rng.gamma(K_SHAPE, mu / K_SHAPE)
    else:
        y = eta + 0.5 * rng.standard_normal(N)
    return X, y


CASES = [("bernoulli", None), ("poisson", None), ("gamma", None), ("gamma", "log"), ("gaussian", None)]


def nll_and_grad(name, link, X, y):
    """Negative log-likelihood (scipy.stats) and its gradient in w, written independently."""
    def f(w):
        eta = X @ w
        if name == "bernoulli":
            ll, d = stats.bernoulli.logpmf(y, expit(eta)), y - expit(eta)
        elif name == "poisson":
            ll, d = stats.poisson.logpmf(y, np.exp(eta)), y - np.exp(eta)
        elif name == "gamma" and link == "log":
            mu = np.exp(eta)
            ll, d = stats.gamma.logpdf(y, a=K_SHAPE, scale=mu / K_SHAPE), K_SHAPE * (y / mu - 1.0)
        elif name == "gamma":
            if np.any(eta <= 0):
                return np.inf, np.zeros_like(w)
            ll, d = stats.gamma.logpdf(y, a=K_SHAPE, scale=1.0 / eta / K_SHAPE), K_SHAPE * (1.0 / eta - y)
        else:
            ll, d = stats.norm.logpdf(y, eta, 1.0), y - eta
        return -np.sum(ll), -(X.T @ d)
    return f


def fit(X, y, name, link=None, **kw):
    return glm.irls(X, y, glm.family(name, link), **kw)


# ----------------------------------------------------------------------------------------------
# Families
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,link", CASES)
def test_family_link_derivatives(name, link):
    fam = glm.family(name, link)
    eta = np.linspace(0.3, 2.0, 7)
    np.testing.assert_allclose(fam.g(fam.lam(eta)), eta, rtol=1e-12)
    h = 1e-6
    fd = np.diag(gradcheck(fam.lam, eta, h=h).numeric)        # an entrywise map: diagonal Jacobian
    np.testing.assert_allclose(fam.dmu_deta(eta), fd, rtol=1e-7)
    if fam.canonical:
        # Section 5.1.2 (linearization of the inverse link): d lambda / d eta = Var = A''(eta) (up to the sign convention of the Gamma's eta = 1/mu)
        np.testing.assert_allclose(np.abs(fam.dmu_deta(eta)), fam.V(fam.lam(eta)), rtol=1e-12)
    assert fam.canonical == (link is None)


@pytest.mark.parametrize("name,link", CASES)
def test_deviance_is_twice_the_log_likelihood_gap(name, link):
    X, y = simulate(name, link, N=40, seed=1)
    fam = glm.family(name, link)
    eta = X @ (np.array([0.4, 0.5, 0.2]) if name == "gamma" and link is None else np.array([0.1, 0.3, -0.2]))
    mu = fam.lam(eta)
    if name == "bernoulli":
        gap = -np.sum(stats.bernoulli.logpmf(y, mu))                 # saturated log-likelihood is 0
    elif name == "poisson":
        gap = np.sum(stats.poisson.logpmf(y, np.maximum(y, 1e-300)) - stats.poisson.logpmf(y, mu))
    elif name == "gamma":                                            # deviance = 2 gap / shape
        gap = np.sum(stats.gamma.logpdf(y, a=K_SHAPE, scale=y / K_SHAPE)
                     - stats.gamma.logpdf(y, a=K_SHAPE, scale=mu / K_SHAPE)) / K_SHAPE
    else:                                                            # unit variance
        gap = np.sum(stats.norm.logpdf(y, y, 1.0) - stats.norm.logpdf(y, mu, 1.0))
    assert fam.deviance(y, eta) == pytest.approx(2 * gap, rel=1e-10)


# ----------------------------------------------------------------------------------------------
# IRLS against independent optimizers
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,link", CASES)
def test_irls_matches_scipy_minimize(name, link):
    """IRLS reaches the minimum of the sample cross entropy of Eq. 5.1 (the NLL written with scipy.stats)
    for each GLM (Eq. 5.12 for the canonical links)."""
    X, y = simulate(name, link)
    res = fit(X, y, name, link, tol=1e-12)
    assert res.converged
    f = nll_and_grad(name, link, X, y)
    w0 = np.array([1.0, 0.0, 0.0]) if name == "gamma" and link is None else np.zeros(3)
    opt = optimize.minimize(f, w0, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 2000})
    np.testing.assert_allclose(res.w, opt.x, rtol=1e-6, atol=1e-8)
    # The gradient of the NLL vanishes at the IRLS answer.
    assert np.max(np.abs(f(res.w)[1])) < 1e-7 * len(y)


def test_irls_matches_sklearn_logistic_regression():
    X, y = simulate("bernoulli")
    res = fit(X[:, 1:], y, "bernoulli", fit_intercept=True, tol=1e-12)
    sk = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=200).fit(X[:, 1:], y)
    np.testing.assert_allclose(res.w, sk.coef_[0], rtol=1e-7)
    assert res.intercept == pytest.approx(sk.intercept_[0], rel=1e-7)


def test_irls_matches_sklearn_poisson_regressor():
    X, y = simulate("poisson")
    res = fit(X[:, 1:], y, "poisson", fit_intercept=True, tol=1e-12)
    sk = PoissonRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-12, max_iter=200).fit(X[:, 1:], y)
    np.testing.assert_allclose(res.w, sk.coef_, rtol=1e-7)
    assert res.intercept == pytest.approx(sk.intercept_, rel=1e-7)


@pytest.mark.parametrize("hessian", ["observed", "expected"])
def test_irls_matches_sklearn_gamma_regressor_log_link(hessian):
    X, y = simulate("gamma", "log")
    res = fit(X[:, 1:], y, "gamma", "log", fit_intercept=True, tol=1e-12, hessian=hessian)
    sk = GammaRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-12, max_iter=200).fit(X[:, 1:], y)
    np.testing.assert_allclose(res.w, sk.coef_, rtol=1e-7)
    assert res.intercept == pytest.approx(sk.intercept_, rel=1e-7)


# ----------------------------------------------------------------------------------------------
# IRLS mechanics: Newton step, moment matching, iteration counts, monotone deviance
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bernoulli", "poisson"])
def test_one_irls_step_is_one_newton_step(name):
    """One weighted least-squares solve of Eq. 5.14 is one Newton step."""
    X, y = simulate(name, N=60, seed=3)
    w0 = np.array([0.3, 0.6, -0.5])                               # near enough that no halving occurs
    eta = X @ w0
    mu = expit(eta) if name == "bernoulli" else np.exp(eta)
    var = mu * (1 - mu) if name == "bernoulli" else mu            # A''(eta)
    grad = -X.T @ (y - mu)                                        # Eq. 5.13 (with the sign fixed)
    hess = X.T @ (var[:, None] * X)                               # Hessian after Eq. 5.13
    w1 = w0 - np.linalg.solve(hess, grad)                         # Eq. 5.7
    with pytest.warns(ConvergenceWarning, match="after 1 iterations"):
        res = fit(X, y, name, w_init=w0, max_iter=1)
    np.testing.assert_allclose(res.w, w1, rtol=1e-10)


@pytest.mark.parametrize("name", ["bernoulli", "poisson", "gaussian"])
def test_moment_matching_at_convergence(name):
    # Canonical GLM: the cross-entropy gradient (Eq. 5.13) is X^T (y - mu) = 0 at the optimum.
    X, y = simulate(name, seed=4)
    res = fit(X, y, name, tol=1e-12)
    np.testing.assert_allclose(X.T @ (y - res.mu), 0.0, atol=1e-8 * len(y))
    assert np.sum(res.mu) == pytest.approx(np.sum(y), rel=1e-10)   # intercept column: means match


@pytest.mark.parametrize("name,link", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_converges_with_monotone_deviance(name, link, seed):
    X, y = simulate(name, link, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = fit(X, y, name, link)
    assert res.converged
    assert len(res.deviance) == res.n_iter
    assert np.all(np.diff(res.deviance) <= 1e-9 * res.deviance[0])
    assert np.all(res.mu > 0) if name in ("poisson", "gamma") else True
    # the mathematics behind the flag: the score equations hold at the fitted coefficients,
    # sum_n x_n (y_n - mu_n) (dmu/deta)_n / V(mu_n) = 0, relative to the size of their terms
    fam = glm.family(name, link)
    eta = X @ res.w
    terms = X * ((y - res.mu) * fam.dmu_deta(eta) / fam.V(res.mu))[:, None]
    assert np.all(np.abs(terms.sum(0)) <= 1e-6 * np.abs(terms).sum(0))


def test_gaussian_family_converges_in_one_step_to_least_squares():
    X, y = simulate("gaussian", seed=5)
    res = fit(X, y, "gaussian")
    np.testing.assert_allclose(res.w, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    # The first solve already lands on the optimum; the second only confirms it.
    assert res.n_iter == 2 and res.deviance[0] == pytest.approx(res.deviance[-1], rel=1e-12)
    # Pearson dispersion = residual variance with N - P degrees of freedom.
    assert res.phi == pytest.approx(np.sum((y - X @ res.w) ** 2) / (len(y) - 3), rel=1e-10)


def test_fisher_scoring_is_slower_than_newton_for_noncanonical_link():
    # Same optimum; after the same few steps Newton (quadratic convergence) is far closer to it than
    # Fisher scoring (linear convergence for a non-canonical link). Compared by distance to the
    # optimum, not by iteration counts, which depend on floating-point details.
    X, y = simulate("gamma", "log", seed=6)
    newton = fit(X, y, "gamma", "log", tol=1e-10, hessian="observed")
    fisher = fit(X, y, "gamma", "log", tol=1e-10, hessian="expected")
    np.testing.assert_allclose(newton.w, fisher.w, rtol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        err = {h: np.linalg.norm(fit(X, y, "gamma", "log", hessian=h, max_iter=5).w - newton.w)
               for h in ("observed", "expected")}
    assert err["observed"] < 1e-4 * err["expected"]


def test_separable_logistic_problem_warns_with_iteration_count():
    # Default max_iter: the fitted means reach 0 and 1 to rounding long before it, the deviance stops
    # falling and the "no longer decreases" rule fires; separation must still not count as converged.
    rng = np.random.default_rng(7)
    x = np.r_[rng.normal(-2, 0.5, 20), rng.normal(2, 0.5, 20)]
    X, y = np.column_stack([np.ones(40), x]), (x > 0).astype(float)
    with pytest.warns(ConvergenceWarning, match=r"did not converge after \d+ iterations: the classes "
                                                r"are completely separated") as rec:
        res = fit(X, y, "bernoulli")
    assert f"after {res.n_iter} iterations" in str(rec[0].message)
    assert "maximum-likelihood estimate does not exist" in str(rec[0].message)
    assert not res.converged and res.n_iter < 100
    assert res.deviance[-1] < 1e-6 * res.deviance[0]               # the fit keeps sharpening ...
    assert res.w[1] > 5.0                                           # ... as |w| grows without bound
    # a short budget ends at max_iter, with the same diagnosis
    with pytest.warns(ConvergenceWarning, match=r"after 25 iterations: the classes are completely"):
        short = fit(X, y, "bernoulli", max_iter=25)
    assert not short.converged and short.n_iter == 25


SEPARATED_1D = {
    # one-feature data sets with an intercept column; the page's u_sep and the exercise's A and C
    "page": (np.array([-2.0, -1.4, -0.8, -0.3, 0.2, 0.9, 1.5, 2.2]), None),
    "A": (np.array([-2.0, -1.2, -0.3, 0.4, 1.1, 2.5]), np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])),
    "C": (np.array([-2.0, -1.2, 0.4, 0.4, 1.1, 2.5]), np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])),
}


@pytest.mark.parametrize("key,kind", [("page", "completely"), ("A", "completely"),
                                      ("C", "quasi-completely")])
def test_separated_data_never_converge_with_the_default_budget(key, kind):
    # Before the fix these stopped by the deviance rule with converged=True and no warning (slopes
    # 222, 154 and 47 after 75, 72 and 34 iterations).
    u, y = SEPARATED_1D[key]
    y = (u > 0).astype(float) if y is None else y
    X = np.column_stack([np.ones_like(u), u])
    with pytest.warns(ConvergenceWarning, match=rf"the classes are {kind} separated"):
        res = fit(X, y, "bernoulli")
    assert not res.converged and res.n_iter < 100


def test_quasi_complete_separation_in_two_features():
    # Classes split by the line u1 = 0, with samples of both classes on that line: the samples off
    # the line saturate, those on it keep finite means (their own logistic fit in u2).
    rng = np.random.default_rng(11)
    off = rng.uniform(0.2, 2.0, (30, 2)) * np.r_[[[-1.0, 1.0]] * 15, [[1.0, 1.0]] * 15]
    on = np.column_stack([np.zeros(12), rng.standard_normal(12)])
    U = np.vstack([off, on])
    y = np.r_[np.zeros(15), np.ones(15), (rng.random(12) < expit(on[:, 1])).astype(float)]
    assert 0 < y[30:].sum() < 12
    X = np.column_stack([np.ones(42), U])
    with pytest.warns(ConvergenceWarning, match=r"quasi-completely separated: 30 samples .* other 12"):
        res = fit(X, y, "bernoulli")
    assert not res.converged
    assert abs(res.w[1]) > 10 * abs(res.w[2])                      # the slope across the line grows


def test_quasi_complete_separation_with_fewer_boundary_samples_than_features():
    # Six features, 40 samples strictly separated by a random hyperplane and three pairs (one of
    # each class) on it: the rows on the boundary leave a three-dimensional null space.
    rng = np.random.default_rng(3)
    v = rng.standard_normal(6)
    off = rng.standard_normal((40, 6))
    on = rng.standard_normal((3, 6))
    on -= np.outer(on @ v / (v @ v), v)
    X = np.r_[off, on, on]
    y = np.r_[(off @ v > 0).astype(float), np.ones(3), np.zeros(3)]
    with pytest.warns(ConvergenceWarning, match=r"quasi-completely separated: 40 samples .* other 6"):
        res = fit(X, y, "bernoulli")
    assert not res.converged


def _threshold_separable(u, y):
    """Independent oracle for one feature with an intercept: a threshold splits the classes."""
    return u[y == 0].max() <= u[y == 1].min() or u[y == 1].max() <= u[y == 0].min()


@pytest.mark.parametrize("seed", range(6))
def test_overlapping_classes_converge_without_warning(seed):
    # Steep but overlapping logistic data, plus a far, correctly classified sample whose margin is
    # above the saturation threshold (so the quasi-separation test runs and must find nothing); the
    # fit agrees with scikit-learn's unpenalized logistic regression.
    rng = np.random.default_rng(seed)
    u = np.r_[rng.uniform(-2, 2, 60), 40.0]
    y = np.r_[(rng.random(60) < expit(3.0 * u[:60])).astype(float), 1.0]
    assert not _threshold_separable(u, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fit(u[:, None], y, "bernoulli", fit_intercept=True, tol=1e-12)
    assert res.converged
    assert res.w[0] * 40.0 + res.intercept > 18.1                  # the far sample is saturated
    sk = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=200).fit(u[:, None], y)
    np.testing.assert_allclose(res.w, sk.coef_[0], rtol=1e-6)
    assert res.intercept == pytest.approx(sk.intercept_[0], rel=1e-6, abs=1e-9)


def _zero_group_counts(design, seed=0):
    """Poisson counts whose first 8 samples are all 0 and are marked off by the design: an indicator
    column, or two covariates whose sum is 1.5 on the group and 0 elsewhere (neither alone is)."""
    rng = np.random.default_rng(seed)
    g = np.r_[np.ones(8), np.zeros(32)]
    y = np.r_[np.zeros(8), rng.poisson(3.0, 32)].astype(float)
    if design == "indicator":
        return g[:, None], y
    x1 = rng.standard_normal(40)
    return np.column_stack([x1, 1.5 * g - x1]), y


@pytest.mark.parametrize("design", ["indicator", "combination"])
def test_poisson_zero_group_never_converges_with_the_default_budget(design):
    # A direction lowers the means of the zero counts and leaves the others' fit unchanged, so the
    # MLE does not exist. Before the fix both stopped by the deviance rule at iteration 30 with
    # converged=True and no warning (indicator coefficient -33.5; the combination -22.2, -22.4).
    U, y = _zero_group_counts(design)
    with pytest.warns(ConvergenceWarning, match=r"the samples 0, 1, 2, 3, 4, \.\.\. \(8 in all\) have "
                                                r"y = 0 and a direction lowers their means towards 0 "
                                                r"without changing the fit of the other 32") as rec:
        res = fit(U, y, "poisson", fit_intercept=True)
    assert "maximum-likelihood estimate does not exist" in str(rec[0].message)
    assert not res.converged and res.n_iter < 100
    assert np.sum(res.w) < -15.0                                   # the group's eta runs off
    assert np.all(res.mu[:8] < 1e-6)
    # the other 32 samples keep the fit of their own model: their mean count (indicator), or a
    # Poisson regression on x1 (the combination's columns are x1 and -x1 there)
    if design == "indicator":
        rest_mu = np.full(32, y[8:].mean())
    else:
        sk = PoissonRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-12, max_iter=200)
        rest_mu = sk.fit(U[8:, :1], y[8:]).predict(U[8:, :1])
    np.testing.assert_allclose(res.mu[8:], rest_mu, rtol=1e-7)


def test_poisson_all_zero_counts_are_named():
    # Every count 0: the mean falls by a factor e per Newton step until max_iter. Before the fix the
    # warning only said max_iter was reached.
    X = np.column_stack([np.ones(6), np.linspace(-1.0, 1.0, 6)])
    with pytest.warns(ConvergenceWarning, match=r"after 100 iterations: every count is 0 and the last "
                                                r"w gives every sample a negative eta"):
        res = fit(X, np.zeros(6), "poisson")
    assert not res.converged and np.all(X @ res.w < -50.0)


@pytest.mark.parametrize("seed", range(6))
def test_poisson_with_zero_counts_converges_without_warning(seed):
    # Ordinary counts with about a third zeros, an indicator group of 8 with a single count (its
    # coefficient is finite), and a far sample with y = 0 whose mean is below sqrt(eps) times the
    # mean count (so the certificate search runs and must find nothing, as the other rows have full
    # rank); the fit agrees with scikit-learn's unpenalized Poisson regression.
    rng = np.random.default_rng(seed)
    u = np.r_[rng.uniform(-2, 2, 60), -40.0]
    y = np.r_[rng.poisson(np.exp(0.3 + 0.8 * u[:60])), 0.0].astype(float)
    g = np.zeros(61)
    g[50:58] = 1.0
    y[50:58] = np.r_[1.0, np.zeros(7)]
    U = np.column_stack([u, g])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fit(U, y, "poisson", fit_intercept=True, tol=1e-12)
    assert res.converged and np.sum(y == 0) >= 15
    assert res.mu[-1] < np.sqrt(np.finfo(float).eps) * y.mean()    # the far sample is saturated
    sk = PoissonRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-12, max_iter=200).fit(U, y)
    np.testing.assert_allclose(res.w, sk.coef_, rtol=1e-6)
    assert res.intercept == pytest.approx(sk.intercept_, rel=1e-6, abs=1e-9)


def test_gamma_group_of_tiny_responses_has_a_finite_mle():
    # The Gamma family has no such case: y > 0, and each sample's negative log-likelihood y/mu + log mu
    # grows without bound as mu -> 0 (and, for the inverse link, as eta -> 0+). A group with
    # responses near 1e-12 keeps a finite fit, the mean of its responses, under either link.
    rng = np.random.default_rng(0)
    g = np.r_[np.ones(8), np.zeros(32)]
    y = rng.gamma(3.0, 1.0 / 3.0, 40)
    y[:8] *= 1e-12
    X = np.column_stack([np.ones(40), g])
    for link in ("inverse", "log"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = fit(X, y, "gamma", link)
        assert res.converged
        np.testing.assert_allclose(res.mu[[0, 8]], [y[:8].mean(), y[8:].mean()], rtol=1e-9)


def test_glm_hessian_is_the_variance_over_phi_squared():
    # Erratum: Section 5.1.2 writes the Hessian of the GLM's cross entropy as (1/phi) E[Var[X|Y] y y^T].
    # For Eq. 5.12 the variance is phi A''(eta), and differentiating [A(eta) - x eta] / phi twice gives
    # A''(eta) y y^T / phi = Var y y^T / phi^2: the draft's expression is phi times too large. Shown on
    # a Gamma with shape nu = 4 (phi = 1/4), natural parameter eta = -1/mu = d^T y, by finite
    # differences of scipy.stats' log density.
    nu = 4.0
    phi = 1.0 / nu
    rng = np.random.default_rng(12)
    Y = np.column_stack([np.ones(25), rng.uniform(0.0, 1.0, 25)])
    x = rng.gamma(nu, 1.0, 25)
    d0 = np.array([-1.0, -0.5])

    def nll(d):
        mu = -1.0 / (Y @ d)
        return -np.sum(stats.gamma.logpdf(x, a=nu, scale=mu / nu))

    h = 1e-4
    E = np.eye(2) * h
    H_fd = np.array([[(nll(d0 + E[i] + E[j]) - nll(d0 + E[i] - E[j]) - nll(d0 - E[i] + E[j])
                       + nll(d0 - E[i] - E[j])) / (4 * h * h) for j in range(2)] for i in range(2)])
    eta = Y @ d0
    A2 = 1.0 / eta**2                                               # A(eta) = -log(-eta)
    var = stats.gamma(nu, scale=(-1.0 / eta) / nu).var()            # Var[X | y] = phi A''(eta)
    np.testing.assert_allclose(var, phi * A2, rtol=1e-12)
    correct = (Y * (A2 / phi)[:, None]).T @ Y
    draft = (Y * (var / phi)[:, None]).T @ Y
    np.testing.assert_allclose(H_fd, correct, rtol=1e-5)
    np.testing.assert_allclose(draft, phi * correct, rtol=1e-12)
    assert not np.allclose(H_fd, draft, rtol=0.5)


def test_stalled_step_halving_warns():
    rng = np.random.default_rng(8)
    x = rng.standard_normal(100)
    X = np.column_stack([np.ones(100), x])
    y = (rng.random(100) < expit(-x)).astype(float)
    with pytest.warns(ConvergenceWarning, match=r"after 1 iterations \(no step halving decreased the deviance"):
        res = fit(X, y, "bernoulli", w_init=[0.0, 8.0], max_halvings=0)
    assert not res.converged
    # With halving allowed the same start converges.
    assert fit(X, y, "bernoulli", w_init=[0.0, 8.0]).converged


def test_gamma_inverse_link_keeps_linear_predictor_positive():
    X, y = simulate("gamma", seed=9)
    res = fit(X, y, "gamma")
    assert np.all(X @ res.w > 0)
    assert res.phi == pytest.approx(1.0 / K_SHAPE, rel=0.25)        # Pearson estimate of 1/shape


# ----------------------------------------------------------------------------------------------
# Validation: one test per message
# ----------------------------------------------------------------------------------------------

X5 = np.column_stack([np.ones(5), np.linspace(0.1, 1.0, 5), np.linspace(1.0, 0.2, 5) ** 2])
MIXED = np.array([[-1.0], [1.0], [2.0]])                             # no w makes w * x > 0 everywhere


@pytest.mark.parametrize("call, match", [
    (lambda: glm.irls(X5, [0, 1, 1, 0.5, 0], "bernoulli"), r"y must be 0 or 1 for the Bernoulli family; entry 3 is 0.5"),
    (lambda: glm.irls(X5, [0, 1, 2, -1, 0], "poisson"), r"y must be non-negative integers for the Poisson family; entry 3 is -1"),
    (lambda: glm.irls(X5, [0, 1, 2.5, 1, 0], "poisson"), r"y must be non-negative integers for the Poisson family; entry 2 is 2.5"),
    (lambda: glm.irls(X5, [1, 1, 2, 0, 3], "gamma"), r"y must be positive for the Gamma family; entry 3 is 0"),
    (lambda: glm.irls(X5, [1, 1, 2, 1, 3], "binomial"), r"family must be one of \{'gaussian', 'bernoulli', 'poisson', 'gamma'\}; got 'binomial'"),
    (lambda: glm.family("gamma", "logit"), r"link must be one of \{'inverse', 'log'\} for the Gamma family; got 'logit'"),
    (lambda: glm.irls(np.ones(5), np.ones(5), "gaussian"), r"X must be a 2-D array"),
    (lambda: glm.irls(X5, np.ones(4), "gaussian"), r"y must have shape \(N,\) = \(5,\); got \(4,\)"),
    (lambda: glm.irls(np.where(X5 > 0.9, np.inf, X5), np.ones(5), "gaussian"), r"X must be finite; got inf at index \(0, 0\)"),
    (lambda: glm.irls(X5, [1, 1, np.nan, 1, 1], "gaussian"), r"y must be finite; got nan at index 2"),
    (lambda: glm.irls(np.ones((0, 2)), np.ones(0), "gaussian"), r"X must have at least one row and one column; got shape \(0, 2\)"),
    (lambda: glm.irls(X5, np.ones(5), "gaussian", max_iter=0), r"max_iter must be at least 1"),
    (lambda: glm.irls(X5, np.ones(5), "gaussian", max_halvings=-1), r"max_halvings must be at least 0"),
    (lambda: glm.irls(X5, np.ones(5), "gaussian", tol=0.0), r"tol must be positive; got 0"),
    (lambda: glm.irls(X5, np.ones(5), "gaussian", hessian="exact"), r"hessian must be one of \{'observed', 'expected'\}; got 'exact'"),
    (lambda: glm.irls(X5, np.ones(5), "gaussian", w_init=[0.0, 1.0]), r"w_init must have shape \(M,\) = \(3,\); got \(2,\)"),
    (lambda: glm.irls(X5, np.ones(5), "gaussian", w_init=[0.0, 1.0, 2.0], fit_intercept=True), r"w_init must have shape \(M \+ 1,\) = \(4,\); got \(3,\)"),
    (lambda: glm.irls(X5, np.ones(5), "gamma", w_init=[-1.0, 0.0, 0.0]), r"w_init gives eta = -1 at sample 0, outside the domain of the inverse link of the Gamma family"),
    (lambda: glm.irls(MIXED, np.ones(3), "gamma"), r"the starting fit gives eta = .* at sample 0, outside the domain .* use link='log'"),
])
def test_validation_messages(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="family must be a Family"):
        glm.irls(X5, np.ones(5), 3)
    with pytest.raises(TypeError, match="max_iter must be an integer"):
        glm.irls(X5, np.ones(5), "gaussian", max_iter=2.5)
