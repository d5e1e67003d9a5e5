"""Tests for pedagogy_lib.factor.model (book Section 2.1.2, Eqs. 2.20-2.22).

Oracles: ``gaussian.bayes_invert`` with mu_x = 0, Sigma_x = I, Sigma_y_x = diag(Lambda) in its
covariance (L x L, Woodbury) form, which shares no code with the O(L) diagonal path; scipy.stats;
scikit-learn's FactorAnalysis with its parameters set by hand; Monte Carlo at 5 standard errors.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.stats import ortho_group

from pedagogy_lib.factor import model as fa
from pedagogy_lib.gaussian import blocks as g

SHAPES = [(1, 4), (2, 6), (3, 3), (4, 2)]   # (K, L); the last has more factors than observations
N_SE = 5.0


def random_params(rng, K, L):
    return fa.FAParams(C=rng.standard_normal((L, K)), c=rng.standard_normal(L),
                       Lambda=rng.uniform(0.2, 2.0, L))


def as_linear_gaussian(params):
    C, c, Lambda = params
    K = C.shape[1]
    return g.LinearGaussian(np.zeros(K), np.eye(K), C, c, np.diag(Lambda))


@pytest.mark.parametrize("K,L", SHAPES)
def test_posterior_matches_bayes_invert_covariance_form(K, L):
    rng = np.random.default_rng(10 * K + L)
    params = random_params(rng, K, L)
    Y = rng.standard_normal((7, L)) * 2
    post = fa.fa_posterior(params, Y)
    ref = g.bayes_invert(*as_linear_gaussian(params), Y, form="covariance")
    assert post.mu.shape == (7, K) and post.Sigma.shape == (K, K)
    np.testing.assert_allclose(post.mu, ref.mu, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(post.Sigma, ref.Sigma, rtol=1e-9, atol=1e-10)
    single = fa.fa_posterior(params, Y[2])
    assert single.mu.shape == (K,)
    np.testing.assert_allclose(single.mu, ref.mu[2], rtol=1e-9, atol=1e-10)
    # Eq. 2.22 written out densely
    prec = params.C.T @ np.diag(1 / params.Lambda) @ params.C + np.eye(K)
    np.testing.assert_allclose(np.linalg.inv(prec), post.Sigma, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("K,L", SHAPES)
def test_marginal_and_log_likelihood_vs_scipy(K, L):
    rng = np.random.default_rng(3 * K + L)
    params = random_params(rng, K, L)
    marg = fa.fa_marginal(params)
    np.testing.assert_allclose(marg.mu, params.c)
    np.testing.assert_allclose(marg.Sigma, params.C @ params.C.T + np.diag(params.Lambda), rtol=1e-12)
    lg = g.marginalize(*as_linear_gaussian(params))
    np.testing.assert_allclose(marg.Sigma, lg.Sigma, rtol=1e-12)
    Y = rng.standard_normal((5, L))
    ref = stats.multivariate_normal(params.c, params.C @ params.C.T + np.diag(params.Lambda)).logpdf(Y)
    np.testing.assert_allclose(fa.fa_log_likelihood(params, Y), ref, rtol=1e-10, atol=1e-10)
    one = fa.fa_log_likelihood(params, Y[0])
    assert isinstance(one, float) and one == pytest.approx(ref[0], rel=1e-10)


def test_pointwise_bayes_rule():
    """log p(x|y) + log p(y) = log p(y|x) + log p(x), every density from scipy."""
    rng = np.random.default_rng(5)
    params = random_params(rng, 2, 5)
    y = rng.standard_normal(5)
    post = fa.fa_posterior(params, y)
    log_py = fa.fa_log_likelihood(params, y)
    for x in rng.standard_normal((4, 2)):
        lhs = stats.multivariate_normal(post.mu, post.Sigma).logpdf(x) + log_py
        rhs = stats.multivariate_normal(params.C @ x + params.c, np.diag(params.Lambda)).logpdf(y) \
            + stats.multivariate_normal(np.zeros(2), np.eye(2)).logpdf(x)
        assert lhs == pytest.approx(rhs, rel=1e-10)


def test_matches_sklearn_factor_analysis():
    """scikit-learn stores C^T as components_ (K, L), Lambda as noise_variance_, c as mean_."""
    from sklearn.decomposition import FactorAnalysis

    rng = np.random.default_rng(9)
    K, L = 2, 5
    params = random_params(rng, K, L)
    Y = rng.standard_normal((20, L))
    model = FactorAnalysis(n_components=K).fit(Y)        # fit only to create the attributes
    model.components_ = params.C.T.copy()
    model.noise_variance_ = params.Lambda.copy()
    model.mean_ = params.c.copy()
    np.testing.assert_allclose(fa.fa_posterior(params, Y).mu, model.transform(Y), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(fa.fa_marginal(params).Sigma, model.get_covariance(), rtol=1e-10)
    np.testing.assert_allclose(fa.fa_log_likelihood(params, Y), model.score_samples(Y), rtol=1e-9)


@pytest.mark.parametrize("K,L", [(2, 5), (3, 6)])
def test_marginal_rotation_invariance(K, L):
    """C R with R orthogonal gives the same marginal (Eq. 2.21), but not the same posterior mean."""
    rng = np.random.default_rng(K + L)
    params = random_params(rng, K, L)
    R = ortho_group.rvs(K, random_state=1)
    rotated = params._replace(C=params.C @ R)
    a, b = fa.fa_marginal(params), fa.fa_marginal(rotated)
    np.testing.assert_allclose(a.Sigma, b.Sigma, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.mu, b.mu)
    Y = rng.standard_normal((3, L))
    np.testing.assert_allclose(fa.fa_log_likelihood(params, Y), fa.fa_log_likelihood(rotated, Y), rtol=1e-10)
    # the factor scores rotate with C: mu' = R^T mu
    np.testing.assert_allclose(fa.fa_posterior(rotated, Y).mu, fa.fa_posterior(params, Y).mu @ R,
                               rtol=1e-9, atol=1e-10)
    # a non-orthogonal change of C does change the marginal
    scaled = params._replace(C=params.C @ np.diag(np.arange(1.0, K + 1) + 0.5))
    assert not np.allclose(fa.fa_marginal(scaled).Sigma, a.Sigma)


def test_nonisotropic_prior_is_absorbed_into_C():
    """Section 2.1.2: N(0, Sigma_x) with loadings C equals N(0, I) with loadings C Sigma_x^{1/2}."""
    rng = np.random.default_rng(21)
    K, L = 2, 4
    A = rng.standard_normal((K, K))
    Sigma_x = A @ A.T + 0.5 * np.eye(K)
    C, c, Lambda = random_params(rng, K, L)
    general = g.marginalize(np.zeros(K), Sigma_x, C, c, np.diag(Lambda))
    absorbed = fa.fa_marginal(fa.FAParams(C @ np.linalg.cholesky(Sigma_x), c, Lambda))
    np.testing.assert_allclose(absorbed.Sigma, general.Sigma, rtol=1e-10)


def test_posterior_covariance_independent_of_y_and_below_prior():
    rng = np.random.default_rng(4)
    params = random_params(rng, 3, 7)
    a = fa.fa_posterior(params, rng.standard_normal((2, 7)))
    b = fa.fa_posterior(params, 100 + rng.standard_normal((2, 7)))
    np.testing.assert_array_equal(a.Sigma, b.Sigma)
    eig = np.linalg.eigvalsh(np.eye(3) - a.Sigma)
    assert eig.min() > 0 and np.linalg.eigvalsh(a.Sigma).min() > 0


def test_sample_moments_monte_carlo():
    rng = np.random.default_rng(17)
    K, L, N = 2, 4, 100_000
    params = random_params(rng, K, L)
    x, y = fa.fa_sample(np.random.default_rng(3), params, N)
    assert x.shape == (N, K) and y.shape == (N, L)
    marg = fa.fa_marginal(params)
    d = np.diag(marg.Sigma)
    # 5 standard errors: sqrt(S_ii / N) for means, sqrt((S_ii S_jj + S_ij^2) / N) for covariances
    assert np.all(np.abs(y.mean(0) - marg.mu) < N_SE * np.sqrt(d / N))
    se = np.sqrt((np.outer(d, d) + marg.Sigma**2) / N)
    assert np.all(np.abs(np.cov(y.T) - marg.Sigma) < N_SE * se)
    # factors are standard normal, and Cov[X, Y] = C^T (Eq. 2.19 with Sigma_x = I)
    assert np.all(np.abs(x.mean(0)) < N_SE / np.sqrt(N))
    cross = (x - x.mean(0)).T @ (y - y.mean(0)) / (N - 1)
    se_xy = np.sqrt((d[None, :] + params.C.T**2) / N)
    assert np.all(np.abs(cross - params.C.T) < N_SE * se_xy)
    # the residual y - C x - c has covariance diag(Lambda)
    resid = y - x @ params.C.T - params.c
    lam = params.Lambda
    se_r = np.sqrt((np.outer(lam, lam) + np.diag(lam**2)) / N)
    assert np.all(np.abs(np.cov(resid.T) - np.diag(lam)) < N_SE * se_r)


# ----------------------------------------------------------------------------------------------
# Validation: one test per message
# ----------------------------------------------------------------------------------------------

GOOD = fa.FAParams(C=np.ones((3, 2)), c=np.zeros(3), Lambda=np.ones(3))


@pytest.mark.parametrize("fn", [fa.fa_marginal,
                                lambda p: fa.fa_posterior(p, np.zeros(3)),
                                lambda p: fa.fa_log_likelihood(p, np.zeros(3)),
                                lambda p: fa.fa_sample(np.random.default_rng(0), p, 2)])
@pytest.mark.parametrize("params,match", [
    ((np.ones((3, 2)), np.zeros(3)), r"params must be FAParams\(C, c, Lambda\), a 3-tuple; got a tuple of length 2"),
    ([np.ones((3, 2)), np.zeros(3), np.ones(3)], r"params must be FAParams\(C, c, Lambda\), a 3-tuple; got list"),
    (GOOD._replace(c=np.zeros((3, 1))), r"c must be a 1-D array of shape \(L,\)"),
    (GOOD._replace(C=np.ones(3)), r"C must be a 2-D array of shape \(L, K\)"),
    (GOOD._replace(C=np.ones((4, 2))), r"C must have shape \(L, K\) with L = 3 and K >= 1; got \(4, 2\)"),
    (GOOD._replace(C=np.ones((3, 0))), r"C must have shape \(L, K\) with L = 3 and K >= 1; got \(3, 0\)"),
    (GOOD._replace(Lambda=np.ones(2)), r"Lambda must have shape \(L,\) = \(3,\); got \(2,\)"),
    (GOOD._replace(Lambda=np.array([1.0, 0.0, 1.0])), r"Lambda must be positive; entry 1 is 0"),
    (GOOD._replace(Lambda=np.array([1.0, 1.0, -0.5])), r"Lambda must be positive; entry 2 is -0.5"),
    (GOOD._replace(Lambda=np.array([1.0, np.inf, 1.0])), r"Lambda must be finite"),
    (GOOD._replace(C=np.full((3, 2), np.nan)), r"C must be finite"),
])
def test_params_validation_messages(fn, params, match):
    kind = TypeError if "a 3-tuple" in match else ValueError     # a wrong kind of object is a TypeError
    with pytest.raises(kind, match=match):
        fn(params)


@pytest.mark.parametrize("fn", [fa.fa_posterior, fa.fa_log_likelihood])
def test_y_validation_messages(fn):
    for y in (np.zeros(2), np.zeros((4, 2)), np.zeros((1, 1, 3))):
        with pytest.raises(ValueError, match=r"y must have shape \(L,\) or \(N, L\) with L = 3"):
            fn(GOOD, y)
    with pytest.raises(ValueError, match=r"y must be finite"):
        fn(GOOD, np.array([0.0, np.nan, 0.0]))


def test_sample_validation_messages():
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        fa.fa_sample(1, GOOD, 2)
    with pytest.raises(ValueError, match=r"N must be at least 1; got 0"):
        fa.fa_sample(np.random.default_rng(0), GOOD, 0)
    with pytest.raises(TypeError, match=r"N must be an integer"):
        fa.fa_sample(np.random.default_rng(0), GOOD, 3.0)


def test_non_numeric_params_are_a_type_error():
    with pytest.raises(TypeError, match=r"C must be a numeric array"):
        fa.fa_marginal(GOOD._replace(C=[["a", "b"]] * 3))


def _dense_mp(C, c, Lambda, y, dps=700):
    """log N(y; c, C C^T + diag(Lambda)), the posterior mean and covariance, by mpmath at ``dps`` digits on the
    float64 inputs (a dense L x L solve: no Woodbury, no determinant lemma)."""
    import mpmath as mp
    with mp.workdps(dps):
        Cm = mp.matrix(C.tolist())
        S = Cm * Cm.T
        for i, lam in enumerate(Lambda):
            S[i, i] += mp.mpf(float(lam))
        r = mp.matrix((np.asarray(y) - c).tolist())
        ll = -(r.T * mp.lu_solve(S, r))[0] / 2 - mp.log(mp.det(S)) / 2 - len(Lambda) * mp.log(2 * mp.pi) / 2
        Linv = mp.diag([1 / mp.mpf(float(v)) for v in Lambda])
        Sig = (mp.eye(C.shape[1]) + Cm.T * Linv * Cm) ** -1
        mu = Sig * Cm.T * Linv * r
        return float(ll), np.array(Sig.tolist(), dtype=float), np.array(mu.tolist(), dtype=float).ravel()


C_HEYWOOD = np.array([[1, .5], [.3, -1], [.2, .4], [-.7, .1]])


@pytest.mark.parametrize("tiny", [1e-16, 1e-20, 1e-100, 1e-300, 5e-324])
def test_a_tiny_unique_variance_keeps_the_likelihood_and_posterior(tiny):
    """The Heywood regime: Lambda = [tiny, 1, 1, 1]. The determinant-lemma route gave -4.022 at 1e-16 (exact
    -6.6265), -100.02 at 1e-100 and a LinAlgError at 1e-20; the density stays finite as tiny -> 0."""
    Lambda, c, y = np.array([tiny, 1.0, 1.0, 1.0]), np.zeros(4), np.ones(4)
    params = fa.FAParams(C_HEYWOOD, c, Lambda)
    ll, Sig, mu = _dense_mp(C_HEYWOOD, c, Lambda, y)
    assert fa.fa_log_likelihood(params, y) == pytest.approx(ll, rel=1e-14)
    post = fa.fa_posterior(params, y)
    np.testing.assert_allclose(post.Sigma, Sig, rtol=0, atol=1e-14 * np.abs(Sig).max())
    np.testing.assert_allclose(post.mu, mu, rtol=0, atol=1e-14 * np.abs(mu).max())


@pytest.mark.parametrize("Lambda", [[1e-300, 1e-200, 1.0, 1.0], [1e-10] * 4, [1e-300] * 4, [1e-3, 1e-300, 1e-150, 1e-5]])
def test_several_tiny_unique_variances_match_a_dense_reference(Lambda):
    """More tiny variances than factors: the density grows like Lambda^(-1/2) in the unexplained directions and
    the quadratic form like r^2 / Lambda; both stay right to rounding, for data off the factors' span."""
    Lambda, c = np.array(Lambda), np.array([0.1, -0.2, 0.3, 0.0])
    y = np.array([[1.0, 2.0, 0.0, 1.0], [0.3, -0.1, 0.2, 0.5]])
    params = fa.FAParams(C_HEYWOOD, c, Lambda)
    got = fa.fa_log_likelihood(params, y)
    for n in range(2):
        ll, _, mu = _dense_mp(C_HEYWOOD, c, Lambda, y[n])
        assert got[n] == pytest.approx(ll, rel=1e-13)
        np.testing.assert_allclose(fa.fa_posterior(params, y[n]).mu, mu, rtol=0, atol=1e-13 * np.abs(mu).max())
