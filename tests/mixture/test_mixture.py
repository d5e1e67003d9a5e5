"""Tests for pedagogy_lib.mixture (book Section 2.1.1, Eqs. 2.2-2.10).

Oracles are independent of the code under test: a per-point loop over scipy.stats.multivariate_normal
(brute-force Bayes, first line of Eq. 2.6), scipy.special.logsumexp/softmax, explicit inverses
(allowed in tests), finite differences, a 2-D quadrature grid, Monte Carlo with tolerances stated
in standard errors, and scikit-learn's LinearDiscriminantAnalysis / QuadraticDiscriminantAnalysis.
"""
from __future__ import annotations


import numpy as np
import pytest
from scipy import special
from scipy.integrate import trapezoid
from scipy.stats import multivariate_normal

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.mixture import model as mx


# ---------------------------------------------------------------------------------------------
# helpers (kept local to this file)
# ---------------------------------------------------------------------------------------------

def random_spd(rng, L, scale=1.0):
    A = rng.standard_normal((L, L))
    return scale * (A @ A.T / L + 0.3 * np.eye(L))


def random_params(rng, K=3, L=2, spread=3.0, covariance_type="full"):
    pi = rng.dirichlet(np.full(K, 3.0))
    mu = spread * rng.standard_normal((K, L))
    if covariance_type == "full":
        Sigma = np.stack([random_spd(rng, L) for _ in range(K)])
    elif covariance_type == "diag":
        Sigma = rng.uniform(0.3, 2.0, size=(K, L))
    else:
        Sigma = random_spd(rng, L)
    return pi, mu, Sigma


def full_cov(Sigma, covariance_type, K, L):
    """The (K, L, L) covariances the oracle uses, built without the library."""
    if covariance_type == "full":
        return np.asarray(Sigma)
    if covariance_type == "diag":
        return np.stack([np.diag(s) for s in Sigma])
    return np.stack([Sigma] * K)


def scipy_logits(pi, mu, Sigma, y):
    """Per-point, per-component loop: log(pi_k N(y_n; mu_k, Sigma_k)) from scipy (Eq. 2.8 with c)."""
    N, K = y.shape[0], pi.shape[0]
    z = np.empty((N, K))
    for n in range(N):
        for k in range(K):
            z[n, k] = np.log(pi[k]) + multivariate_normal(mu[k], Sigma[k]).logpdf(y[n])
    return z


def two_class_shared(rng, L=2):
    mu = rng.standard_normal((2, L)) * 2.0
    Sigma = random_spd(rng, L)
    pi = np.array([0.3, 0.7])
    return mx.gmm_params(pi, mu, Sigma, "tied")


# ---------------------------------------------------------------------------------------------
# logits, posterior, marginal against scipy
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_logits_posterior_marginal_match_scipy_loop(covariance_type, seed):
    rng = np.random.default_rng(seed)
    K, L, N = 3, 3, 25
    pi, mu, Sigma = random_params(rng, K, L, covariance_type=covariance_type)
    params = mx.gmm_params(pi, mu, Sigma, covariance_type)
    S_full = full_cov(Sigma, covariance_type, K, L)
    np.testing.assert_allclose(params.Sigma, S_full, rtol=0, atol=0)
    y = 2.0 * rng.standard_normal((N, L))
    z_ref = scipy_logits(pi, mu, S_full, y)
    # the logits are the log joint of Eq. 6.2, log(pi_k N(y; mu_k, Sigma_k)), at each one-hot x
    np.testing.assert_allclose(mx.gmm_logits(params, y), z_ref, rtol=1e-10, atol=1e-10)
    # Eq. 2.6, first line: p(y|k) pi_k / sum_k' p(y|k') pi_k', with densities (not logs)
    joint = np.exp(z_ref)
    np.testing.assert_allclose(mx.gmm_posterior(params, y), joint / joint.sum(1, keepdims=True),
                               rtol=1e-9, atol=1e-12)
    # Eq. 2.10: p(y) = sum_k p(y|k) pi_k
    np.testing.assert_allclose(mx.gmm_log_marginal(params, y), np.log(joint.sum(1)), rtol=1e-10, atol=1e-10)


def test_posterior_rows_sum_to_one_and_shift_invariance():
    rng = np.random.default_rng(3)
    params = mx.gmm_params(*random_params(rng, K=5, L=2))
    y = 3.0 * rng.standard_normal((200, 2))
    r = mx.gmm_posterior(params, y)
    np.testing.assert_allclose(r.sum(axis=1), 1.0, rtol=0, atol=1e-13)
    assert np.all(r >= 0)
    z = mx.gmm_logits(params, y)
    for shift in (-1234.5, 0.0, 987.6):          # the constant c of Eq. 2.8 cannot matter
        np.testing.assert_allclose(special.softmax(z + shift, axis=1), r, rtol=1e-10, atol=1e-14)
    # a per-row shift (any function of y alone) cannot matter either
    np.testing.assert_allclose(special.softmax(z + y[:, :1] * 50.0, axis=1), r, rtol=1e-9, atol=1e-14)


def test_single_point_is_one_row():
    rng = np.random.default_rng(4)
    params = mx.gmm_params(*random_params(rng, K=3, L=2))
    y = np.array([[0.5, -0.2]])
    assert mx.gmm_logits(params, y).shape == (1, 3)
    assert mx.gmm_posterior(params, y).shape == (1, 3)
    assert mx.gmm_log_marginal(params, y).shape == (1,)


def test_zero_prior_component_gets_zero_responsibility_without_warnings():
    rng = np.random.default_rng(5)
    pi, mu, Sigma = random_params(rng, K=3, L=2)
    pi = np.array([0.5, 0.0, 0.5])
    params = mx.gmm_params(pi, mu, Sigma)
    y = rng.standard_normal((10, 2))
    # pyproject turns RuntimeWarnings from pedagogy_lib into errors, so log(0) must be silenced
    z = mx.gmm_logits(params, y)
    assert np.all(np.isneginf(z[:, 1]))
    r = mx.gmm_posterior(params, y)
    assert np.all(r[:, 1] == 0.0)
    np.testing.assert_allclose(r.sum(1), 1.0, atol=1e-14)
    ref = special.logsumexp(scipy_logits(pi[[0, 2]], mu[[0, 2]], Sigma[[0, 2]], y), axis=1)
    np.testing.assert_allclose(mx.gmm_log_marginal(params, y), ref, rtol=1e-12)


def test_conjugate_update_log_odds():
    """Conjugacy remark (Section 2.1.1, conjugacy): posterior log-odds = prior log-odds + log-likelihood ratio."""
    rng = np.random.default_rng(6)
    pi, mu, Sigma = random_params(rng, K=3, L=2)
    params = mx.gmm_params(pi, mu, Sigma)
    y = rng.standard_normal((15, 2))
    r = mx.gmm_posterior(params, y)
    for k, j in [(0, 1), (2, 0)]:
        llr = (multivariate_normal(mu[k], Sigma[k]).logpdf(y) - multivariate_normal(mu[j], Sigma[j]).logpdf(y))
        np.testing.assert_allclose(np.log(r[:, k] / r[:, j]), np.log(pi[k] / pi[j]) + llr, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# log-space stability
# ---------------------------------------------------------------------------------------------

def test_far_points_naive_nan_log_space_finite():
    rng = np.random.default_rng(7)
    pi, mu, Sigma = random_params(rng, K=3, L=2)
    params = mx.gmm_params(pi, mu, Sigma)
    sd = np.sqrt(np.max(np.linalg.eigvalsh(Sigma)))
    direction = np.array([[0.6, 0.8], [-1.0, 0.0], [0.0, -1.0]])
    y = mu[0] + 1e3 * sd * direction                            # ~1e3 standard deviations away
    # naive form of Eq. 2.6: every density underflows to 0, so 0/0
    dens = np.stack([pi[k] * multivariate_normal(mu[k], Sigma[k]).pdf(y) for k in range(3)], axis=1)
    assert np.all(dens == 0.0)
    with np.errstate(invalid="ignore"):
        naive = dens / dens.sum(axis=1, keepdims=True)
    assert np.all(np.isnan(naive))
    # ours: finite, normalized, equal to softmax of scipy's log densities
    r = mx.gmm_posterior(params, y)
    assert np.all(np.isfinite(r))
    np.testing.assert_allclose(r.sum(1), 1.0, atol=1e-14)
    z_ref = scipy_logits(pi, mu, Sigma, y)
    np.testing.assert_allclose(r, special.softmax(z_ref, axis=1), rtol=1e-6, atol=1e-12)
    lm = mx.gmm_log_marginal(params, y)
    assert np.all(np.isfinite(lm)) and np.all(lm < -1e4)
    np.testing.assert_allclose(lm, special.logsumexp(z_ref, axis=1), rtol=1e-10)
    # and where the naive form is finite, both agree
    y_near = mu[0] + 0.5 * direction
    dens_near = np.exp(scipy_logits(pi, mu, Sigma, y_near))
    np.testing.assert_allclose(mx.gmm_posterior(params, y_near), dens_near / dens_near.sum(1, keepdims=True),
                               rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# boundaries
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("L", [1, 2, 4])
def test_linear_boundary_is_exact_logit_difference(L):
    rng = np.random.default_rng(10 + L)
    K = 3
    pi = np.array([0.2, 0.5, 0.3])
    mu = 2.0 * rng.standard_normal((K, L))
    Sigma = random_spd(rng, L)
    params = mx.gmm_params(pi, mu, Sigma, "tied")
    y = 3.0 * rng.standard_normal((50, L))
    z = mx.gmm_logits(params, y)
    P = np.linalg.inv(Sigma)
    for k, j in [(0, 1), (1, 2), (2, 0)]:
        bd = mx.linear_boundary(mu[k], mu[j], Sigma, pi[k], pi[j])
        np.testing.assert_allclose(bd.w, P @ (mu[k] - mu[j]), rtol=1e-10)
        val = mx.boundary_value(bd, y)
        np.testing.assert_allclose(val, z[:, k] - z[:, j], rtol=1e-9, atol=1e-9)
        # Eq. 2.9 written out: LHS - RHS equals the logit difference
        lhs = (y - 0.5 * (mu[k] + mu[j])) @ P @ (mu[k] - mu[j])
        np.testing.assert_allclose(lhs - np.log(pi[j] / pi[k]), z[:, k] - z[:, j], rtol=1e-9, atol=1e-9)


def test_posterior_is_one_half_on_the_eq_2_9_line():
    rng = np.random.default_rng(20)
    params = two_class_shared(rng)
    bd = mx.linear_boundary(params.mu[0], params.mu[1], params.Sigma[0], params.pi[0], params.pi[1])
    w, b = bd
    y0 = -b * w / (w @ w)                                         # the point of the line closest to 0
    u = np.array([-w[1], w[0]]) / np.linalg.norm(w)               # direction along the line
    s = np.linspace(-10, 10, 41)[:, None]
    y_line = y0 + s * u
    r = mx.gmm_posterior(params, y_line)
    np.testing.assert_allclose(r, 0.5, rtol=0, atol=1e-12)
    # off the line, the side with w^T y + b > 0 belongs to class k = 0
    r_off = mx.gmm_posterior(params, y_line + 0.1 * w / np.linalg.norm(w))
    assert np.all(r_off[:, 0] > 0.5)


def _fd_hessian(f, y0, h=1e-3):
    """Hessian of a scalar function of a point (L,): the gradient checker applied twice (central
    differences of central differences, the Jacobian of the numerical gradient)."""
    return gradcheck(lambda y: gradcheck(f, y, h=h).numeric, y0, h=h).numeric


def test_hessian_of_logit_difference_distinct_and_shared():
    rng = np.random.default_rng(21)
    L = 3
    pi, mu, Sigma = random_params(rng, K=2, L=L)
    params = mx.gmm_params(pi, mu, Sigma)
    diff = lambda y: float(np.diff(mx.gmm_logits(params, y[None, :])[0, ::-1])[0])   # z_0 - z_1
    y0 = rng.standard_normal(L)
    H = _fd_hessian(diff, y0)
    P0, P1 = np.linalg.inv(Sigma[0]), np.linalg.inv(Sigma[1])
    # the Hessian of z_k - z_j is -(Sigma_k^-1 - Sigma_j^-1); the coefficient matrix Q of the
    # quadratic form y^T Q y is half of it, -(Sigma_k^-1 - Sigma_j^-1)/2
    np.testing.assert_allclose(H, -(P0 - P1), rtol=1e-5, atol=1e-5)
    qb = mx.quadratic_boundary(mu[0], mu[1], Sigma[0], Sigma[1], pi[0], pi[1])
    np.testing.assert_allclose(qb.Q, -0.5 * (P0 - P1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(2 * qb.Q, H, rtol=1e-5, atol=1e-5)
    # shared covariance: the difference is affine, so its Hessian vanishes
    shared = mx.gmm_params(pi, mu, Sigma[0], "tied")
    diff_s = lambda y: float(np.diff(mx.gmm_logits(shared, y[None, :])[0, ::-1])[0])
    np.testing.assert_allclose(_fd_hessian(diff_s, y0), 0.0, atol=1e-5)


@pytest.mark.parametrize("seed", [30, 31])
def test_quadratic_boundary_value_is_logit_difference(seed):
    rng = np.random.default_rng(seed)
    L = 3
    pi, mu, Sigma = random_params(rng, K=3, L=L)
    params = mx.gmm_params(pi, mu, Sigma)
    y = 2.0 * rng.standard_normal((40, L))
    z = mx.gmm_logits(params, y)
    for k, j in [(0, 1), (2, 1)]:
        qb = mx.quadratic_boundary(mu[k], mu[j], Sigma[k], Sigma[j], pi[k], pi[j])
        np.testing.assert_allclose(mx.boundary_value(qb, y), z[:, k] - z[:, j], rtol=1e-9, atol=1e-9)


def test_quadratic_reduces_to_linear_with_equal_covariances():
    rng = np.random.default_rng(32)
    mu = rng.standard_normal((2, 2))
    S = random_spd(rng, 2)
    qb = mx.quadratic_boundary(mu[0], mu[1], S, S, 0.4, 0.6)
    lb = mx.linear_boundary(mu[0], mu[1], S, 0.4, 0.6)
    np.testing.assert_allclose(qb.Q, 0.0, atol=1e-14)
    np.testing.assert_allclose(qb.w, lb.w, rtol=1e-12)
    np.testing.assert_allclose(qb.b, lb.b, rtol=1e-12)


def test_whitened_form_of_eq_2_9():
    rng = np.random.default_rng(33)
    L = 3
    mu = rng.standard_normal((2, L)) * 2
    Sigma = random_spd(rng, L)
    y = rng.standard_normal((30, L)) * 2
    yt, mut = mx.whiten(y, Sigma), mx.whiten(mu, Sigma)
    # whitened coordinates have identity covariance: W Sigma W^T = I for W = Sigma^{-1/2}
    W = mx.whiten(np.eye(L), Sigma)                               # rows are (W e_i)^T, i.e. W^T = W
    np.testing.assert_allclose(W @ Sigma @ W.T, np.eye(L), atol=1e-12)
    lhs_white = (yt - 0.5 * (mut[0] + mut[1])) @ (mut[0] - mut[1])              # Euclidean projection
    lhs_maha = (y - 0.5 * (mu[0] + mu[1])) @ np.linalg.solve(Sigma, mu[0] - mu[1])
    np.testing.assert_allclose(lhs_white, lhs_maha, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------------------------
# marginal density and sampling
# ---------------------------------------------------------------------------------------------

def test_marginal_integrates_to_one_on_a_grid():
    rng = np.random.default_rng(40)
    pi, mu, Sigma = random_params(rng, K=3, L=2, spread=2.0)
    params = mx.gmm_params(pi, mu, Sigma)
    sd = np.sqrt(max(np.max(np.diag(S)) for S in Sigma))
    lo, hi = mu.min(0) - 9 * sd, mu.max(0) + 9 * sd
    g1, g2 = np.linspace(lo[0], hi[0], 501), np.linspace(lo[1], hi[1], 501)
    Y1, Y2 = np.meshgrid(g1, g2, indexing="ij")
    dens = np.exp(mx.gmm_log_marginal(params, np.column_stack([Y1.ravel(), Y2.ravel()]))).reshape(Y1.shape)
    total = trapezoid(trapezoid(dens, g2, axis=1), g1)
    assert abs(total - 1.0) < 1e-6, total


def test_sample_moments_within_standard_errors():
    """Eq. 2.2: the die's frequencies are pi, and the draws of each component have its mean and covariance."""
    rng = np.random.default_rng(41)
    K, L, N = 3, 2, 60_000
    pi = np.array([0.2, 0.5, 0.3])
    mu = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 2.5]])
    Sigma = np.stack([random_spd(rng, L) for _ in range(K)])
    params = mx.gmm_params(pi, mu, Sigma)
    x, y = mx.gmm_sample(np.random.default_rng(42), params, N)
    assert x.shape == (N,) and y.shape == (N, L) and np.issubdtype(x.dtype, np.integer)
    # all checks use 5 standard errors with a fixed seed
    freq = np.bincount(x, minlength=K) / N
    assert np.all(np.abs(freq - pi) < 5 * np.sqrt(pi * (1 - pi) / N)), freq
    for k in range(K):
        yk = y[x == k]
        nk = yk.shape[0]
        se_mean = np.sqrt(np.diag(Sigma[k]) / nk)
        assert np.all(np.abs(yk.mean(0) - mu[k]) < 5 * se_mean)
        # Var of a sample covariance entry of a Gaussian: (S_aa S_cc + S_ac^2) / n
        se_cov = np.sqrt((np.outer(np.diag(Sigma[k]), np.diag(Sigma[k])) + Sigma[k] ** 2) / nk)
        assert np.all(np.abs(np.cov(yk.T) - Sigma[k]) < 5 * se_cov)
    # mixture moments: mean sum_k pi_k mu_k, covariance by the law of total covariance
    m = pi @ mu
    C = sum(pi[k] * (Sigma[k] + np.outer(mu[k] - m, mu[k] - m)) for k in range(K))
    assert np.all(np.abs(y.mean(0) - m) < 5 * np.sqrt(np.diag(C) / N))
    # reproducible from the seed
    x2, y2 = mx.gmm_sample(np.random.default_rng(42), params, N)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)


def test_large_problem_matches_scipy_on_a_subsample():
    """N = 100000, K = 8 in one vectorized call agrees with per-point scipy (speed is a benchmark matter)."""
    rng = np.random.default_rng(43)
    K, L, N = 8, 3, 100_000
    params = mx.gmm_params(*random_params(rng, K=K, L=L))
    _, y = mx.gmm_sample(rng, params, N)
    r = mx.gmm_posterior(params, y)
    assert r.shape == (N, K) and np.all(np.isfinite(r))
    np.testing.assert_allclose(r.sum(axis=1), 1.0, rtol=1e-12)
    idx = rng.choice(N, 20, replace=False)
    z_ref = scipy_logits(params.pi, params.mu, params.Sigma, y[idx])
    np.testing.assert_allclose(r[idx], special.softmax(z_ref, axis=1), rtol=1e-9, atol=1e-13)


# ---------------------------------------------------------------------------------------------
# peer libraries: scikit-learn LDA / QDA
# ---------------------------------------------------------------------------------------------

def _labelled_data(rng, shared):
    K, L, n = 3, 2, 400
    mu = np.array([[0.0, 0.0], [2.5, 1.0], [0.5, 3.0]])
    S = random_spd(rng, L)
    Sig = [S] * K if shared else [random_spd(rng, L) for _ in range(K)]
    X = np.concatenate([rng.multivariate_normal(mu[k], Sig[k], size=n + 50 * k) for k in range(K)])
    lab = np.concatenate([np.full(n + 50 * k, k) for k in range(K)])
    return X, lab


def test_matches_sklearn_lda_with_class_means_and_pooled_covariance():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    rng = np.random.default_rng(50)
    X, lab = _labelled_data(rng, shared=True)
    K = 3
    # our estimates: class frequencies, class means, pooled covariance
    pi = np.bincount(lab) / lab.size
    mu = np.stack([X[lab == k].mean(0) for k in range(K)])
    # Convention: scikit-learn's pooled covariance is sum_k pi_k * (biased class covariance),
    # i.e. within-class scatter / N, not the textbook unbiased / (N - K).
    pooled = sum(pi[k] * np.cov(X[lab == k].T, bias=True) for k in range(K))
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(X, lab)
    np.testing.assert_allclose(lda.priors_, pi, rtol=1e-12)
    np.testing.assert_allclose(lda.means_, mu, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(lda.covariance_, pooled, rtol=1e-10)
    params = mx.gmm_params(pi, mu, pooled, "tied")
    grid = rng.uniform(-3, 5, size=(500, 2))
    np.testing.assert_allclose(mx.gmm_posterior(params, grid), lda.predict_proba(grid), rtol=1e-7, atol=1e-10)
    assert np.array_equal(mx.gmm_posterior(params, grid).argmax(1), lda.predict(grid))
    # sklearn's linear decision function for classes k vs 0 is our LinearBoundary(k, 0) up to a
    # class-independent shift: differences of its columns equal w^T y + b
    dec = lda.decision_function(grid)
    bd = mx.linear_boundary(mu[2], mu[0], pooled, pi[2], pi[0])
    np.testing.assert_allclose(dec[:, 2] - dec[:, 0], mx.boundary_value(bd, grid), rtol=1e-8, atol=1e-8)


def test_matches_sklearn_qda_with_class_means_and_covariances():
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis

    rng = np.random.default_rng(51)
    X, lab = _labelled_data(rng, shared=False)
    K = 3
    pi = np.bincount(lab) / lab.size
    mu = np.stack([X[lab == k].mean(0) for k in range(K)])
    qda = QuadraticDiscriminantAnalysis(store_covariance=True).fit(X, lab)
    # Convention: scikit-learn 1.9's QDA (solver="svd", reg_param=0) stores the biased class
    # covariance (divide by n_k); releases before 1.8 divided by n_k - 1. We use whatever it stored
    # and check which one it is, so a convention change shows up here rather than as a mismatch.
    covs = np.stack(qda.covariance_)
    biased = np.stack([np.cov(X[lab == k].T, bias=True) for k in range(K)])
    unbiased = np.stack([np.cov(X[lab == k].T) for k in range(K)])
    assert np.allclose(covs, biased, rtol=1e-10) or np.allclose(covs, unbiased, rtol=1e-10)
    np.testing.assert_allclose(qda.priors_, pi, rtol=1e-12)            # the class frequencies
    np.testing.assert_allclose(qda.means_, mu, rtol=1e-10, atol=1e-12)
    params = mx.gmm_params(qda.priors_, mu, covs)
    grid = rng.uniform(-3, 5, size=(500, 2))
    np.testing.assert_allclose(mx.gmm_posterior(params, grid), qda.predict_proba(grid), rtol=1e-7, atol=1e-10)
    assert np.array_equal(mx.gmm_posterior(params, grid).argmax(1), qda.predict(grid))


# ---------------------------------------------------------------------------------------------
# validation: one test per message
# ---------------------------------------------------------------------------------------------

_PI = np.array([0.4, 0.6])
_MU = np.array([[0.0, 0.0], [1.0, 1.0]])
_S = np.stack([np.eye(2), 2 * np.eye(2)])
_GOOD = mx.GMMParams(_PI, _MU, _S)
_Y = np.zeros((3, 2))
_NONSYM = np.stack([np.eye(2), np.array([[1.0, 0.5], [0.0, 1.0]])])
_NONPD = np.stack([np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]])])

VALUE_ERRORS = [
    (lambda: mx.gmm_logits(mx.GMMParams(np.array([[0.4, 0.6]]), _MU, _S), _Y), r"pi must be a 1-D array of shape \(K,\)"),
    (lambda: mx.gmm_logits(mx.GMMParams(np.array([1.2, -0.2]), _MU, _S), _Y), r"pi must be non-negative; entry 1"),
    (lambda: mx.gmm_logits(mx.GMMParams(np.array([0.5, 0.6]), _MU, _S), _Y), r"pi must sum to 1"),
    (lambda: mx.gmm_logits(mx.GMMParams(np.array([np.nan, 0.6]), _MU, _S), _Y), r"pi must be finite"),
    (lambda: mx.gmm_logits(mx.GMMParams(_PI, _MU[0], _S), _Y), r"mu must be a 2-D array of shape \(K, L\)"),
    (lambda: mx.gmm_logits(mx.GMMParams(_PI, _MU[:1], _S), _Y), r"mu must have one row per component.*K = 2"),
    (lambda: mx.gmm_logits(mx.GMMParams(_PI, np.zeros((2, 0)), _S), _Y), r"mu must have at least one column"),
    (lambda: mx.gmm_logits(mx.GMMParams(_PI, _MU, _S[0]), _Y), r"Sigma must have shape \(K, L, L\) = \(2, 2, 2\); got \(2, 2\)"),
    (lambda: mx.gmm_logits(mx.GMMParams(_PI, _MU, _NONSYM), _Y), r"Sigma\[1\] is not symmetric"),
    (lambda: mx.gmm_logits(mx.GMMParams(_PI, _MU, _NONPD), _Y), r"Sigma\[1\] is not symmetric positive definite"),
    (lambda: mx.gmm_logits(_GOOD, np.zeros(2)), r"y must have shape \(N, L\) = \(any, 2\); got \(2,\)"),
    (lambda: mx.gmm_posterior(_GOOD, np.zeros((3, 3))), r"y must have shape \(N, L\) = \(any, 2\); got \(3, 3\)"),
    (lambda: mx.gmm_log_marginal(_GOOD, np.array([[0.0, np.inf]])), r"y must be finite"),
    (lambda: mx.gmm_sample(np.random.default_rng(0), _GOOD, 0), r"N must be at least 1"),
    (lambda: mx.gmm_params(_PI, _MU, _S, "spherical"), r"covariance_type must be one of \{'full', 'diag', 'tied'\}"),
    (lambda: mx.gmm_params(_PI, _MU, _S, "diag"), r"Sigma \(diagonal variances\) must have shape \(K, L\) = \(2, 2\)"),
    (lambda: mx.gmm_params(_PI, _MU, np.array([[1.0, 0.0], [1.0, 1.0]]), "diag"),
     r"Sigma \(diagonal variances\) must be positive; entry \(0, 1\)"),
    (lambda: mx.gmm_params(_PI, _MU, _S, "tied"), r"Sigma \(tied\) must have shape \(L, L\) = \(2, 2\)"),
    (lambda: mx.gmm_params(_PI, _MU, _NONPD[1], "tied"), r"Sigma \(tied\) is not symmetric positive definite"),
    (lambda: mx.linear_boundary(_MU, _MU[1], np.eye(2), 0.5, 0.5), r"mu_k must be a 1-D array of shape \(L,\)"),
    (lambda: mx.linear_boundary(_MU[0], np.zeros(3), np.eye(2), 0.5, 0.5), r"mu_j must have shape \(L,\) = \(2,\)"),
    (lambda: mx.linear_boundary(_MU[0], _MU[1], np.eye(3), 0.5, 0.5), r"Sigma must have shape \(L, L\) = \(2, 2\)"),
    (lambda: mx.linear_boundary(_MU[0], _MU[1], _NONPD[1], 0.5, 0.5), r"Sigma is not symmetric positive definite"),
    (lambda: mx.linear_boundary(_MU[0], _MU[1], np.eye(2), 0.0, 0.5), r"pi_k must be positive; got 0"),
    (lambda: mx.linear_boundary(_MU[0], _MU[1], np.eye(2), 0.5, [0.5, 0.5]), r"pi_j must be a scalar probability"),
    (lambda: mx.quadratic_boundary(_MU[0], _MU[1], _NONPD[1], np.eye(2), 0.5, 0.5), r"Sigma_k is not symmetric positive definite"),
    (lambda: mx.quadratic_boundary(_MU[0], _MU[1], np.eye(2), _NONSYM[1], 0.5, 0.5), r"Sigma_j is not symmetric"),
    (lambda: mx.quadratic_boundary(_MU[0], _MU[1], np.eye(2), np.eye(2), 0.5, -0.1), r"pi_j must be positive"),
    (lambda: mx.boundary_value(mx.LinearBoundary(np.ones(2), 0.0), np.zeros((4, 3))), r"y must have shape \(N, L\) = \(any, 2\)"),
    (lambda: mx.boundary_value(mx.QuadraticBoundary(np.eye(3), np.ones(2), 0.0), _Y), r"Q must have shape \(L, L\) = \(2, 2\)"),
    (lambda: mx.whiten(np.zeros(2), np.eye(2)), r"y must have shape \(N, L\)"),
    (lambda: mx.whiten(_Y, np.eye(2)[0]), r"Sigma must be a 2-D array of shape \(L, L\)"),
]


@pytest.mark.parametrize("call, match", VALUE_ERRORS, ids=[m for _, m in VALUE_ERRORS])
def test_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


TYPE_ERRORS = [
    (lambda: mx.gmm_logits((_PI, _MU), _Y), r"params must be a GMMParams\(pi, mu, Sigma\)"),
    (lambda: mx.gmm_sample(0, _GOOD, 5), r"rng must be a numpy.random.Generator"),
    (lambda: mx.gmm_sample(np.random.default_rng(0), _GOOD, 5.0), r"N must be an integer"),
    (lambda: mx.boundary_value((np.ones(2), 0.0), _Y), r"boundary must be a LinearBoundary or a QuadraticBoundary"),
]


@pytest.mark.parametrize("call, match", TYPE_ERRORS, ids=[m for _, m in TYPE_ERRORS])
def test_type_errors(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_plain_tuple_params_are_accepted():
    np.testing.assert_array_equal(mx.gmm_logits((_PI, _MU, _S), _Y), mx.gmm_logits(_GOOD, _Y))


def test_whiten_refuses_an_empty_sigma_by_name():
    """An empty Sigma reached NumPy's "zero-size array" inside eigh; it is now refused naming Sigma."""
    with pytest.raises(ValueError, match=r"Sigma must not be empty"):
        mx.whiten(np.zeros((4, 0)), np.zeros((0, 0)))


def test_a_mean_of_the_wrong_width_is_named_with_its_covariance():
    """mu of width 3 against 2 x 2 covariances was blamed on Sigma alone; the message names both, mu first."""
    Sigma = np.stack([np.eye(2)] * 2)
    with pytest.raises(ValueError, match=r"mu and Sigma disagree on the dimension: mu has shape \(2, 3\) \(L = 3\) "
                                         r"but Sigma has shape \(2, 2, 2\)"):
        mx.check_params((np.full(2, 0.5), np.zeros((2, 3)), Sigma))
    with pytest.raises(ValueError, match=r"init\.mu and init\.Sigma disagree"):
        mx.check_params((np.full(2, 0.5), np.zeros((2, 3)), Sigma), "init")
    with pytest.raises(ValueError, match=r"Sigma must have shape \(K, L, L\) = \(2, 2, 2\); got \(3, 2, 2\)"):
        mx.check_params((np.full(2, 0.5), np.zeros((2, 2)), np.stack([np.eye(2)] * 3)))
