"""Tests for pedagogy_lib.gaussian (book Section 2.1.2, Eqs. 2.11-2.27).

Oracles, each independent of the code path under test:

* dense Schur-complement conditioning of the stacked joint (``joint`` + ``condition``), written
  out again here with ``np.linalg.solve`` so that it does not share code with ``bayes_invert``;
* ``scipy.stats.multivariate_normal`` for every density;
* Monte Carlo with ``rng.multivariate_normal`` (not ``sample_mvn``) and tolerances of
  5 standard errors with a fixed seed;
* hand-solved 1-D and 2-D cases.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pedagogy_lib.gaussian import blocks as g

SHAPES = [(2, 5), (3, 3), (5, 2)]          # K < L, K = L, K > L
FORMS = ["information", "covariance", "auto"]
N_SE = 5.0                                  # Monte Carlo tolerance: 5 standard errors, fixed seeds


def random_spd(rng, D, *, diag=False):
    if diag:
        return np.diag(rng.uniform(0.3, 2.0, D))
    A = rng.standard_normal((D, D))
    return A @ A.T / D + 0.3 * np.eye(D)


def random_model(rng, K, L, *, diag=False):
    return g.LinearGaussian(mu_x=rng.standard_normal(K), Sigma_x=random_spd(rng, K),
                            C=rng.standard_normal((L, K)), c=rng.standard_normal(L),
                            Sigma_y_x=random_spd(rng, L, diag=diag))


def dense_posterior(model, y):
    """Oracle: condition the stacked joint of Eq. 2.19 on y, with plain np.linalg.solve."""
    mu_x, Sigma_x, C, c, Sigma_y_x = model
    S_xy = Sigma_x @ C.T                               # Eq. 2.19
    S_y = C @ Sigma_x @ C.T + Sigma_y_x                # Eq. 2.17
    gain = np.linalg.solve(S_y, S_xy.T).T              # S_xy S_y^{-1}
    mu = mu_x + (y - (C @ mu_x + c)) @ gain.T
    Sigma = Sigma_x - gain @ S_xy.T
    return mu, Sigma, gain


# ----------------------------------------------------------------------------------------------
# The posterior: information form = covariance form = Schur conditioning of the joint
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("K,L", SHAPES)
@pytest.mark.parametrize("diag", [False, True])
def test_single_y_matches_schur_conditioning(K, L, form, diag):
    """Both forms of the posterior against conditioning the joint: the mean (Eq. 2.13), the covariance
    (Eq. 2.23), the gain (Eq. 2.25) and the marginal cumulants collected in Eq. 2.26."""
    rng = np.random.default_rng(100 * K + L)
    for _ in range(5):
        model = random_model(rng, K, L, diag=diag)
        y = rng.standard_normal(L) * 2
        post = g.bayes_invert(*model, y, form=form)
        # route 1: the library's own joint + condition
        J = g.joint(*model)
        cond = g.condition(J.mu, J.Sigma, np.arange(K, K + L), y)
        # route 2: the same with np.linalg.solve written out here
        mu_d, Sigma_d, gain_d = dense_posterior(model, y)
        assert post.mu.shape == (K,) and post.Sigma.shape == (K, K) and post.gain.shape == (K, L)
        np.testing.assert_allclose(post.mu, cond.mu, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(post.Sigma, cond.Sigma, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(post.mu, mu_d, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(post.Sigma, Sigma_d, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(post.gain, gain_d, rtol=1e-9, atol=1e-10)
        # marginal (Eqs. 2.16-2.18) against the lower-right block of the joint and scipy
        np.testing.assert_allclose(post.mu_y, J.mu[K:], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(post.Sigma_y, J.Sigma[K:, K:], rtol=1e-12, atol=1e-12)
        assert isinstance(post.log_evidence, float)
        ref = stats.multivariate_normal(model.C @ model.mu_x + model.c,
                                        model.C @ model.Sigma_x @ model.C.T + model.Sigma_y_x).logpdf(y)
        np.testing.assert_allclose(post.log_evidence, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("K,L", SHAPES)
@pytest.mark.parametrize("diag", [False, True])
def test_batched_y_matches_rowwise_and_forms_agree(K, L, diag):
    rng = np.random.default_rng(7 + K * L)
    model = random_model(rng, K, L, diag=diag)
    Y = rng.standard_normal((6, L)) * 3
    info = g.bayes_invert(*model, Y, form="information")
    cov = g.bayes_invert(*model, Y, form="covariance")
    assert info.mu.shape == (6, K) and info.log_evidence.shape == (6,)
    for name in ("mu", "Sigma", "gain", "mu_y", "Sigma_y", "log_evidence"):
        np.testing.assert_allclose(getattr(info, name), getattr(cov, name), rtol=1e-9, atol=1e-10,
                                   err_msg=name)
    J = g.joint(*model)
    ref_ll = stats.multivariate_normal(J.mu[K:], J.Sigma[K:, K:]).logpdf(Y)
    np.testing.assert_allclose(info.log_evidence, ref_ll, rtol=1e-10, atol=1e-10)
    for n in range(Y.shape[0]):
        cond = g.condition(J.mu, J.Sigma, np.arange(K, K + L), Y[n])
        np.testing.assert_allclose(info.mu[n], cond.mu, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(info.Sigma, cond.Sigma, rtol=1e-9, atol=1e-10)
        single = g.bayes_invert(*model, Y[n], form="information")
        np.testing.assert_allclose(single.mu, info.mu[n], rtol=1e-12, atol=1e-12)
        assert single.log_evidence == pytest.approx(info.log_evidence[n], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("form", ["information", "covariance"])
@pytest.mark.parametrize("K,L", SHAPES)
def test_pointwise_bayes_rule(K, L, form):
    """log p(x|y) + log p(y) = log p(y|x) + log p(x) at random x (Eqs. 2.1, 2.12, 2.18).

    One identity covers the posterior cumulants (Eqs. 2.13 and 2.14), the marginal (2.16-2.18) and the
    normalizer; every density here is scipy's, so only the cumulants come from the library. The
    right side is the joint of the model of Eq. 2.11.
    """
    rng = np.random.default_rng(31 * K + L)
    model = random_model(rng, K, L)
    mu_x, Sigma_x, C, c, Sigma_y_x = model
    y = rng.standard_normal(L)
    post = g.bayes_invert(*model, y, form=form)
    X = mu_x + rng.standard_normal((8, K)) * 1.5
    lhs = stats.multivariate_normal(post.mu, post.Sigma).logpdf(X) + post.log_evidence
    rhs = np.array([stats.multivariate_normal(C @ x + c, Sigma_y_x).logpdf(y) for x in X]) \
        + stats.multivariate_normal(mu_x, Sigma_x).logpdf(X)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------------------------
# Monte Carlo: Eqs. 2.16-2.17 (marginal cumulants) and Eq. 2.19 (cross-covariance)
# ----------------------------------------------------------------------------------------------

def _simulate(seed, K=2, L=3, N=200_000):
    rng = np.random.default_rng(seed)
    model = random_model(rng, K, L)
    mu_x, Sigma_x, C, c, Sigma_y_x = model
    X = rng.multivariate_normal(mu_x, Sigma_x, size=N)            # independent of sample_mvn
    Z = rng.multivariate_normal(np.zeros(L), Sigma_y_x, size=N)
    Y = X @ C.T + c + Z                                             # Y = C X + c + Z (derivation of Eq. 2.19)
    return model, X, Y


def _cov_se(S_aa, S_bb, S_ab, N):
    """Standard error of a Gaussian sample covariance entry: sqrt((s_aa s_bb + s_ab^2) / N)."""
    return np.sqrt((np.outer(S_aa, S_bb) + S_ab**2) / N)


def test_marginal_cumulants_eqs_2_16_2_17_monte_carlo():
    model, X, Y = _simulate(2024)
    N = Y.shape[0]
    marg = g.marginalize(*model)
    d = np.diag(marg.Sigma)
    # sample mean: SE_i = sqrt(Sigma_y[i, i] / N); tolerance 5 SE
    assert np.all(np.abs(Y.mean(0) - marg.mu) < N_SE * np.sqrt(d / N))
    # sample covariance: SE_ij = sqrt((S_ii S_jj + S_ij^2) / N); tolerance 5 SE
    se = _cov_se(d, d, marg.Sigma, N)
    assert np.all(np.abs(np.cov(Y.T) - marg.Sigma) < N_SE * se)
    # third cumulants vanish: standardized skewness has SE sqrt(6 / N); tolerance 5 SE
    Zs = (Y - Y.mean(0)) / Y.std(0)
    assert np.all(np.abs((Zs**3).mean(0)) < N_SE * np.sqrt(6 / N))
    # and a wrong marginal (emission noise forgotten, Sigma_y = C Sigma_x C^T) is rejected
    wrong = model.C @ model.Sigma_x @ model.C.T
    assert np.any(np.abs(np.cov(Y.T) - wrong) > N_SE * se)


def test_cross_covariance_eq_2_19_monte_carlo():
    """Cov[X, Y] = Sigma_x C^T (Eq. 2.19, with the transposes the draft omits in its derivation)."""
    K, L = 2, 3
    model, X, Y = _simulate(7, K, L)
    N = X.shape[0]
    J = g.joint(*model)
    Sigma_xy = J.Sigma[:K, K:]
    np.testing.assert_allclose(Sigma_xy, model.Sigma_x @ model.C.T, rtol=1e-12)
    emp = (X - X.mean(0)).T @ (Y - Y.mean(0)) / (N - 1)            # (K, L)
    assert emp.shape == (K, L)
    # SE of the sample cross-covariance entry (i, j): sqrt((Sx_ii Sy_jj + Sxy_ij^2) / N); 5 SE
    se = _cov_se(np.diag(model.Sigma_x), np.diag(J.Sigma[K:, K:]), Sigma_xy, N)
    assert np.all(np.abs(emp - Sigma_xy) < N_SE * se)
    # The third line of the draft's derivation drops the transposes of the outer products; with them restored the
    # result is the (K, L) matrix Sigma_x C^T. Forgetting to subtract E[X] E[X]^T C^T (the
    # uncentred second moment) is a distinguishable mistake whenever mu_x != 0:
    uncentred = (model.Sigma_x + np.outer(model.mu_x, model.mu_x)) @ model.C.T
    assert np.any(np.abs(emp - uncentred) > N_SE * se)


# ----------------------------------------------------------------------------------------------
# Gain identities, ordering of covariances, special cases
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("K,L", SHAPES)
def test_gain_identities(K, L):
    rng = np.random.default_rng(5 + K + 10 * L)
    for _ in range(5):
        model = random_model(rng, K, L)
        mu_x, Sigma_x, C, c, Sigma_y_x = model
        y = rng.standard_normal(L)
        info = g.bayes_invert(*model, y, form="information")
        cov = g.bayes_invert(*model, y, form="covariance")
        Sigma_y = C @ Sigma_x @ C.T + Sigma_y_x
        # Eq. 2.15 written out with explicit solves
        prec = C.T @ np.linalg.solve(Sigma_y_x, C) + np.linalg.inv(Sigma_x)
        K_215 = np.linalg.solve(prec, C.T @ np.linalg.inv(Sigma_y_x))
        K_225 = np.linalg.solve(Sigma_y, C @ Sigma_x).T               # Sigma_x C^T Sigma_y^{-1} (Eq. 2.25)
        np.testing.assert_allclose(K_215, K_225, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(info.gain, K_215, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(cov.gain, K_225, rtol=1e-9, atol=1e-10)
        # Eq. 2.27: K C Sigma_x = K Sigma_y K^T, and both give Sigma_x - Sigma_{x|y} (Eq. 2.23, second line)
        G = cov.gain
        np.testing.assert_allclose(G @ C @ Sigma_x, G @ Sigma_y @ G.T, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(Sigma_x - G @ C @ Sigma_x, info.Sigma, rtol=1e-9, atol=1e-10)
        # Eq. 2.24: mu_{x|y} = mu_x + K (y - (C mu_x + c))
        np.testing.assert_allclose(mu_x + G @ (y - C @ mu_x - c), info.mu, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("form", ["information", "covariance"])
@pytest.mark.parametrize("K,L", SHAPES)
def test_posterior_covariance_spd_below_prior_and_free_of_y(K, L, form):
    rng = np.random.default_rng(99 + K + L)
    for _ in range(5):
        model = random_model(rng, K, L)
        Y = rng.standard_normal((3, L)) * 10
        post = g.bayes_invert(*model, Y, form=form)
        np.testing.assert_array_equal(post.Sigma, post.Sigma.T)
        assert np.linalg.eigvalsh(post.Sigma).min() > 0
        # Loewner order: Sigma_x - Sigma_{x|y} is positive semi-definite
        gap = np.linalg.eigvalsh(model.Sigma_x - post.Sigma)
        assert gap.min() > -1e-10 * np.abs(gap).max()
        other = g.bayes_invert(*model, Y[0] + 100.0, form=form)
        np.testing.assert_allclose(other.Sigma, post.Sigma, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("form", FORMS)
def test_scalar_closed_form(form):
    """K = L = 1 (curriculum item 8): mu = (s2_yx mu_x + C s2_x (y - c)) / (C^2 s2_x + s2_yx)."""
    for mu_x, s2_x, C, c, s2_yx, y in [(0.5, 2.0, 1.5, -1.0, 0.7, 2.0),
                                        (-3.0, 0.1, -2.0, 4.0, 5.0, 0.0),
                                        (1.0, 1.0, 0.2, 0.0, 1e-3, 0.3)]:
        post = g.bayes_invert([mu_x], [[s2_x]], [[C]], [c], [[s2_yx]], [y], form=form)
        denom = C**2 * s2_x + s2_yx
        assert post.mu[0] == pytest.approx((s2_yx * mu_x + C * s2_x * (y - c)) / denom, rel=1e-10)
        assert post.Sigma[0, 0] == pytest.approx(s2_x * s2_yx / denom, rel=1e-10)
        assert post.gain[0, 0] == pytest.approx(C * s2_x / denom, rel=1e-10)
        assert post.log_evidence == pytest.approx(
            stats.norm(C * mu_x + c, np.sqrt(denom)).logpdf(y), rel=1e-10)


@pytest.mark.parametrize("K,L", SHAPES)
def test_diagonal_fast_path_matches_general_path(K, L):
    """The O(L) diagonal branch vs the Cholesky branch on the same matrix.

    Adding off-diagonal entries of 1e-300 (far below rounding, but non-zero) sends bayes_invert
    down the general branch with a numerically identical Sigma_y_x.
    """
    rng = np.random.default_rng(3 * K + L)
    model = random_model(rng, K, L, diag=True)
    bump = np.full((L, L), 1e-300)
    np.fill_diagonal(bump, 0.0)
    general = model._replace(Sigma_y_x=model.Sigma_y_x + bump)
    assert np.any(general.Sigma_y_x != np.diag(np.diag(general.Sigma_y_x)))
    Y = rng.standard_normal((4, L))
    fast = g.bayes_invert(*model, Y, form="information")
    slow = g.bayes_invert(*general, Y, form="information")
    for name in ("mu", "Sigma", "gain", "log_evidence"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=1e-11, atol=1e-12,
                                   err_msg=name)


# ----------------------------------------------------------------------------------------------
# joint, condition, mvn_logpdf, sample_mvn
# ----------------------------------------------------------------------------------------------

def test_joint_blocks():
    rng = np.random.default_rng(11)
    model = random_model(rng, 2, 4)
    J = g.joint(*model)
    assert J.mu.shape == (6,) and J.Sigma.shape == (6, 6)
    np.testing.assert_allclose(J.mu[:2], model.mu_x)
    np.testing.assert_allclose(J.Sigma[:2, :2], model.Sigma_x)
    np.testing.assert_allclose(J.Sigma[2:, :2], model.C @ model.Sigma_x)
    np.testing.assert_allclose(J.Sigma, J.Sigma.T)
    assert np.linalg.eigvalsh(J.Sigma).min() > 0


def test_condition_hand_solved_2d():
    # N([1, -1], [[2, 1], [1, 2]]): x0 | x1 = 1 has mean 1 + (1/2)(1 + 1) = 2, variance 2 - 1/2 = 1.5
    mu, Sigma = np.array([1.0, -1.0]), np.array([[2.0, 1.0], [1.0, 2.0]])
    out = g.condition(mu, Sigma, [1], [1.0])
    np.testing.assert_allclose(out.mu, [2.0])
    np.testing.assert_allclose(out.Sigma, [[1.5]])
    # x1 | x0 = 0 has mean -1 + (1/2)(0 - 1) = -1.5, variance 1.5
    out = g.condition(mu, Sigma, np.array([0]), [0.0])
    np.testing.assert_allclose(out.mu, [-1.5])
    np.testing.assert_allclose(out.Sigma, [[1.5]])
    # independent coordinates: conditioning changes nothing
    out = g.condition([3.0, 4.0], np.diag([2.0, 5.0]), [0], [100.0])
    np.testing.assert_allclose(out.mu, [4.0])
    np.testing.assert_allclose(out.Sigma, [[5.0]])


def test_condition_observed_order_is_respected():
    rng = np.random.default_rng(4)
    Sigma = random_spd(rng, 4)
    mu = rng.standard_normal(4)
    v = np.array([0.3, -1.2])
    a = g.condition(mu, Sigma, [3, 1], v)
    b = g.condition(mu, Sigma, [1, 3], v[::-1])
    np.testing.assert_allclose(a.mu, b.mu, rtol=1e-12)
    np.testing.assert_allclose(a.Sigma, b.Sigma, rtol=1e-12)
    # pointwise check of the conditional density via scipy: p(a, b) = p(a | b) p(b)
    xa = np.array([0.1, 0.5])
    full = np.empty(4)
    full[[0, 2]], full[[3, 1]] = xa, v
    lhs = stats.multivariate_normal(mu, Sigma).logpdf(full)
    rhs = stats.multivariate_normal(a.mu, a.Sigma).logpdf(xa) + \
        stats.multivariate_normal(mu[[3, 1]], Sigma[np.ix_([3, 1], [3, 1])]).logpdf(v)
    assert lhs == pytest.approx(rhs, rel=1e-10)


def test_mvn_logpdf_vs_scipy():
    rng = np.random.default_rng(8)
    for D in (1, 3, 6):
        mu, Sigma = rng.standard_normal(D), random_spd(rng, D)
        Y = rng.standard_normal((5, D))
        ref = stats.multivariate_normal(mu, Sigma).logpdf(Y)
        np.testing.assert_allclose(g.mvn_logpdf(Y, mu, Sigma), ref, rtol=1e-12)
        single = g.mvn_logpdf(Y[0], mu, Sigma)
        assert isinstance(single, float)
        assert single == pytest.approx(ref[0], rel=1e-12)


def test_sample_mvn_moments():
    rng = np.random.default_rng(12)
    D, N = 3, 100_000
    mu, Sigma = rng.standard_normal(D), random_spd(rng, D)
    S = g.sample_mvn(np.random.default_rng(13), mu, Sigma, N)
    assert S.shape == (N, D)
    d = np.diag(Sigma)
    # 5 standard errors: sqrt(Sigma_ii / N) for the mean, sqrt((S_ii S_jj + S_ij^2) / N) for the covariance
    assert np.all(np.abs(S.mean(0) - mu) < N_SE * np.sqrt(d / N))
    assert np.all(np.abs(np.cov(S.T) - Sigma) < N_SE * _cov_se(d, d, Sigma, N))
    # same generator state, same draws
    np.testing.assert_array_equal(S, g.sample_mvn(np.random.default_rng(13), mu, Sigma, N))


# ----------------------------------------------------------------------------------------------
# Validation: one test per message
# ----------------------------------------------------------------------------------------------

def _good():
    return dict(mu_x=np.zeros(2), Sigma_x=np.eye(2), C=np.ones((3, 2)), c=np.zeros(3), Sigma_y_x=np.eye(3))


def _call(fn, **over):
    kw = _good()
    kw.update(over)
    args = [kw[k] for k in ("mu_x", "Sigma_x", "C", "c", "Sigma_y_x")]
    if fn is g.bayes_invert:
        return fn(*args, kw.get("y", np.zeros(3)), form=kw.get("form", "auto"))
    return fn(*args)


@pytest.mark.parametrize("fn", [g.bayes_invert, g.marginalize, g.joint])
@pytest.mark.parametrize("override,match", [
    (dict(mu_x=np.zeros((2, 1))), r"mu_x must be a 1-D array of shape \(K,\)"),
    (dict(Sigma_x=np.eye(3)), r"mu_x and Sigma_x disagree on the dimension: mu_x has shape \(2,\) \(D = 2\) but "
                              r"Sigma_x has shape \(3, 3\)"),
    (dict(Sigma_x=np.array([[1.0, 0.5], [0.0, 1.0]])), r"Sigma_x is not symmetric"),
    (dict(Sigma_x=np.array([[1.0, 2.0], [2.0, 1.0]])), r"Sigma_x is not symmetric positive definite"),
    (dict(c=np.zeros((3, 1))), r"c must be a 1-D array of shape \(L,\)"),
    (dict(C=np.ones((2, 3))), r"C must have shape \(L, K\) = \(3, 2\); got \(2, 3\)"),
    (dict(Sigma_y_x=np.eye(2)), r"Sigma_y_x must have shape \(L, L\) = \(3, 3\)"),
    (dict(Sigma_y_x=-np.eye(3)), r"Sigma_y_x is not symmetric positive definite: it is diagonal and "
                                 r"diagonal entry 0 is -1"),
    (dict(Sigma_y_x=np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])),
     r"Sigma_y_x is not symmetric positive definite \(Cholesky failed; smallest eigenvalue -1\)"),
    (dict(mu_x=np.array([0.0, np.nan])), r"mu_x must be finite"),
    (dict(C=np.full((3, 2), np.inf)), r"C must be finite"),
])
def test_model_validation_messages(fn, override, match):
    with pytest.raises(ValueError, match=match):
        _call(fn, **override)


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match=r"mu_x must be a numeric array"):
        _call(g.marginalize, mu_x=["a", "b"])


@pytest.mark.parametrize("y", [np.zeros(2), np.zeros((4, 2)), np.zeros((1, 1, 3)), np.float64(0.0)])
def test_bayes_invert_y_shape_message(y):
    with pytest.raises(ValueError, match=r"y must have shape \(L,\) or \(N, L\) with L = 3"):
        _call(g.bayes_invert, y=y)


def test_bayes_invert_y_finite_and_form_messages():
    with pytest.raises(ValueError, match=r"y must be finite"):
        _call(g.bayes_invert, y=np.array([0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match=r"form must be one of \{'auto', 'information', 'covariance'\}"):
        _call(g.bayes_invert, form="woodbury")


def test_condition_validation_messages():
    mu, S = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError, match=r"mu must be a 1-D array of shape \(D,\)"):
        g.condition(np.zeros((3, 1)), S, [0], [0.0])
    with pytest.raises(ValueError, match=r"mu and Sigma disagree on the dimension: mu has shape \(3,\) \(D = 3\) "
                                         r"but Sigma has shape \(2, 2\)"):
        g.condition(mu, np.eye(2), [0], [0.0])
    with pytest.raises(ValueError, match=r"mu and Sigma disagree.*mu has shape \(2,\)"):     # the mean too wide
        g.condition(np.zeros(2), S, [0], [0.0])
    with pytest.raises(ValueError, match=r"Sigma must have shape \(D, D\) = \(3, 3\); got \(3, 2\)"):
        g.condition(mu, np.ones((3, 2)), [0], [0.0])
    with pytest.raises(ValueError, match=r"Sigma is not symmetric positive definite"):
        g.condition(mu, -S, [0], [0.0])
    with pytest.raises(ValueError, match=r"observed must be a 1-D array of integer indices"):
        g.condition(mu, S, [0.5], [0.0])
    with pytest.raises(ValueError, match=r"observed must be a 1-D array of integer indices"):
        g.condition(mu, S, [[0]], [0.0])
    with pytest.raises(ValueError, match=r"observed must hold distinct indices in range\(3\)"):
        g.condition(mu, S, [3], [0.0])
    with pytest.raises(ValueError, match=r"observed must hold distinct indices in range\(3\)"):
        g.condition(mu, S, [1, 1], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"observed must hold distinct indices in range\(3\)"):
        g.condition(mu, S, [-1], [0.0])
    with pytest.raises(ValueError, match=r"value must have shape \(B,\) = \(2,\)"):
        g.condition(mu, S, [0, 1], [0.0])


def test_mvn_logpdf_validation_messages():
    with pytest.raises(ValueError, match=r"y must have shape \(D,\) or \(N, D\) with D = 2"):
        g.mvn_logpdf(np.zeros(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=r"mu must be a 1-D array"):
        g.mvn_logpdf(np.zeros(2), np.zeros((2, 1)), np.eye(2))
    with pytest.raises(ValueError, match=r"mu and Sigma disagree.*mu has shape \(2,\).*Sigma has shape \(3, 3\)"):
        g.mvn_logpdf(np.zeros(2), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match=r"Sigma is not symmetric"):
        g.mvn_logpdf(np.zeros(2), np.zeros(2), np.array([[1.0, 0.3], [0.0, 1.0]]))


def test_sample_mvn_validation_messages():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        g.sample_mvn(0, np.zeros(2), np.eye(2), 3)
    with pytest.raises(ValueError, match=r"N must be at least 1; got 0"):
        g.sample_mvn(rng, np.zeros(2), np.eye(2), 0)
    with pytest.raises(TypeError, match=r"N must be an integer"):
        g.sample_mvn(rng, np.zeros(2), np.eye(2), 2.0)
    with pytest.raises(ValueError, match=r"Sigma is not symmetric positive definite"):
        g.sample_mvn(rng, np.zeros(2), np.diag([1.0, -1.0]), 3)


def test_precision_weighted_combination_needs_weighted_pseudoinverse():
    """The paragraph after Eq. 2.14 reads the posterior mean as a precision-weighted combination of mu_x and C^+(y - c).

    With W1 = Sigma_{x|y} Sigma_x^{-1} and W2 = Sigma_{x|y} C^T Sigma_y|x^{-1} C (W1 + W2 = I) it is
    exact for the weighted left pseudo-inverse (C^T S^{-1} C)^{-1} C^T S^{-1}; the Moore-Penrose
    pseudo-inverse works only when Sigma_y|x is isotropic (or y - c lies in the range of C).
    """
    rng = np.random.default_rng(77)
    K, L = 2, 4
    model = random_model(rng, K, L)
    mu_x, Sigma_x, C, c, Sigma_y_x = model
    y = rng.standard_normal(L) * 2

    def pieces(S):
        post = g.bayes_invert(mu_x, Sigma_x, C, c, S, y)
        W1 = post.Sigma @ np.linalg.inv(Sigma_x)
        W2 = post.Sigma @ C.T @ np.linalg.solve(S, C)
        return post, W1, W2

    post, W1, W2 = pieces(Sigma_y_x)
    np.testing.assert_allclose(W1 + W2, np.eye(K), atol=1e-10)
    C_dag_w = np.linalg.solve(C.T @ np.linalg.solve(Sigma_y_x, C), C.T @ np.linalg.inv(Sigma_y_x))
    np.testing.assert_allclose(W1 @ mu_x + W2 @ C_dag_w @ (y - c), post.mu, atol=1e-10)
    mp = W1 @ mu_x + W2 @ np.linalg.pinv(C) @ (y - c)
    assert np.abs(mp - post.mu).max() > 1e-3                      # anisotropic noise: MP fails
    iso = 0.7 * np.eye(L)
    post_i, W1_i, W2_i = pieces(iso)
    np.testing.assert_allclose(W1_i @ mu_x + W2_i @ np.linalg.pinv(C) @ (y - c), post_i.mu, atol=1e-10)
    # y - c in the range of C: MP also works with anisotropic noise
    y_in = c + C @ rng.standard_normal(K)
    post_r = g.bayes_invert(mu_x, Sigma_x, C, c, Sigma_y_x, y_in)
    np.testing.assert_allclose(W1 @ mu_x + W2 @ np.linalg.pinv(C) @ (y_in - c), post_r.mu, atol=1e-10)


def _log_evidence_mp(mu, Sigma_x, C, c, Sigma_y_x, y):
    """log N(y; C mu + c, C Sigma_x C^T + Sigma_y_x) in 80-digit arithmetic, from the float inputs."""
    import mpmath as mp

    with mp.workdps(80):
        Sy = mp.matrix(C) * mp.matrix(Sigma_x) * mp.matrix(C).T + mp.matrix(Sigma_y_x)
        r = mp.matrix(y) - mp.matrix(C) * mp.matrix(mu) - mp.matrix(c)
        return float(-(r.T * mp.inverse(Sy) * r)[0] / 2 - mp.log(mp.det(Sy)) / 2 - len(y) / 2 * mp.log(2 * mp.pi))


@pytest.mark.parametrize("s", [1e-8, 1e-12, 1e-16, 1e-20])
def test_information_form_log_evidence_is_right_for_nearly_exact_observations(s):
    """Three readings of two sources (the third their sum), noise s. The quadratic form was Woodbury's
    difference of two terms of size |r|^2 / s: at s = 1e-16 the log evidence was 15.11 for 12.45, and 155,708
    for 57.19 in a three-step filter at 1e-20. As the sum of the two squares the posterior mean leaves it is
    right to what the data's own rounding allows: an ulp of y moves the residual r - C u, of size sqrt(s), by
    about eps |y|, so the log evidence by about eps |y| / sqrt(s) (7e-8 at s = 1e-16, 7e-6 at 1e-20); the test
    allows ten times that, and the old error was 2.7 nats at 1e-16."""
    C = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([1.0, 2.0, 3.0 + np.sqrt(s)])
    tol = 10 * np.finfo(float).eps * np.max(np.abs(y)) / np.sqrt(s)
    exact = _log_evidence_mp(np.zeros(2), np.eye(2), C, np.zeros(3), s * np.eye(3), y)
    for form in ("auto", "information"):
        got = g.bayes_invert(np.zeros(2), np.eye(2), C, np.zeros(3), s * np.eye(3), y, form=form).log_evidence
        assert got == pytest.approx(exact, rel=0, abs=tol), form
    full = s * (np.eye(3) + 0.1 * np.ones((3, 3)))      # a full noise covariance takes the Cholesky route
    exact = _log_evidence_mp(np.zeros(2), np.eye(2), C, np.zeros(3), full, y)
    got = g.bayes_invert(np.zeros(2), np.eye(2), C, np.zeros(3), full, y, form="information").log_evidence
    assert got == pytest.approx(exact, rel=0, abs=tol)


def test_covariance_form_refuses_a_marginal_covariance_singular_to_working_precision():
    """The covariance form factors C Sigma_x C^T + Sigma_y_x; with noise 1e-16 beside a rank-2 C Sigma_x C^T in
    three dimensions that is singular in float64, and NumPy's 'Matrix is not positive definite' reached the
    caller. It is a ValueError naming the form to use instead."""
    C = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"form='covariance' .* use form='information'"):
        g.bayes_invert(np.zeros(2), np.eye(2), C, np.zeros(3), 1e-16 * np.eye(3), np.array([1.0, 2.0, 3.0]),
                       form="covariance")
