"""Tests for pedagogy_lib.deepgen.estimators: both estimators unbiased within 4 standard errors, sample
variances equal to the closed forms within 5 standard errors of a variance, the closed forms
themselves against Gauss-Hermite and Gauss-Laguerre quadrature, and Eq. 8.23 against scipy."""
import numpy as np
import pytest
from scipy import stats

from pedagogy_lib.deepgen import estimators as est
from pedagogy_lib.vi import bbvi


def _var_se(x):
    """Standard error of the sample variance: sqrt((m4 - s^4) / S)."""
    c = x - x.mean()
    return np.sqrt((np.mean(c ** 4) - np.mean(c ** 2) ** 2) / x.size)


@pytest.mark.parametrize("K", [1, 4, 16])
@pytest.mark.parametrize("beta", [0.0, 1.7])
def test_shared_mean_estimators_are_unbiased_with_the_closed_form_variances(K, beta):
    """Both estimates of the gradient of an expectation (the inner derivative of Eq. 8.22) are unbiased."""
    mu, S = 0.5, 200_000
    Z = np.random.default_rng(K).standard_normal((S, K))
    t = est.shared_mean_terms(mu, Z, beta=beta)
    g = est.shared_mean_gradient(mu)
    v_sf, v_pw = est.shared_mean_variances(mu, K, beta=beta)
    for x, v in ((t.score_function, v_sf), (t.pathwise, v_pw)):
        assert abs(x.mean() - g) < 4 * x.std() / np.sqrt(S)
        assert abs(x.var() - v) < 5 * _var_se(x)
    assert abs(t.score.mean()) < 4 * np.sqrt(K / S)


def test_closed_form_variances_by_gauss_hermite_quadrature():
    """For K = 2 the expectation over (z_1, z_2) is a product rule with exact polynomial accuracy."""
    z, w = np.polynomial.hermite_e.hermegauss(20)
    w = w / w.sum()
    Z1, Z2 = np.meshgrid(z, z, indexing="ij")
    W = np.outer(w, w)
    for mu, beta in ((0.5, 0.0), (-1.3, 2.0)):
        g = (Z1 + Z2) * ((mu + Z1) ** 2 - beta)
        var = np.sum(W * g * g) - np.sum(W * g) ** 2
        assert est.shared_mean_variances(mu, 2, beta=beta)[0] == pytest.approx(var, rel=1e-10)
        assert np.sum(W * g) == pytest.approx(2 * mu, abs=1e-10)


def test_optimal_baseline_minimizes_the_variance_and_matches_bbvi_control_variate():
    mu, K = 0.8, 6
    b = est.optimal_baseline(mu, K)
    grid = np.linspace(b - 1, b + 1, 201)
    vs = [est.shared_mean_variances(mu, K, beta=x)[0] for x in grid]
    assert grid[int(np.argmin(vs))] == pytest.approx(b, abs=0.011)
    t = est.shared_mean_terms(mu, np.random.default_rng(0).standard_normal((200_000, K)))
    _, a = bbvi.control_variate(t.score_function[:, None], t.score[:, None])
    assert a[0] == pytest.approx(b, rel=0.05)


def test_score_function_variance_grows_linearly_and_pathwise_is_flat():
    mu = 0.5
    v = [est.shared_mean_variances(mu, K)[0] for K in (1, 2, 3, 50)]
    assert v[0] == pytest.approx(18.5625)                      # mu^4 + 18 mu^2 + 15 - 4 mu^2
    assert np.diff(v[:3]) == pytest.approx([4.5625, 4.5625])   # mu^4 + 6 mu^2 + 3 per extra dimension
    assert all(est.shared_mean_variances(mu, K)[1] == 4.0 for K in (1, 50))


def test_expo_reparameterization_is_exponential_eq_8_23():
    lam = 2.5
    x = est.expo_reparameterize(lam, np.random.default_rng(1).random(20_000))
    assert stats.kstest(x, stats.expon(scale=1 / lam).cdf).pvalue > 0.01


def test_expo_estimators_unbiased_with_closed_form_variances():
    """The same for d E[X^2] / d lambda (Eq. 8.22), the pathwise one through the path of Eq. 8.23."""
    lam, S = 1.5, 400_000
    t = est.expo_terms(lam, np.random.default_rng(2).random(S))
    v_sf, v_pw = est.expo_variances(lam)
    for x, v in ((t.score_function, v_sf), (t.pathwise, v_pw)):
        assert abs(x.mean() - est.expo_gradient(lam)) < 4 * x.std() / np.sqrt(S)
        assert abs(x.var() - v) < 5 * _var_se(x)
    # the closed forms by Gauss-Laguerre quadrature (exact for these polynomials)
    u, w = np.polynomial.laguerre.laggauss(30)
    x = u / lam
    for g, v in ((x * x * (1 / lam - x), v_sf), (-2 * x * x / lam, v_pw)):
        assert np.sum(w * g * g) - np.sum(w * g) ** 2 == pytest.approx(v, rel=1e-10)


def test_bad_inputs_raise_value_errors_naming_the_argument():
    with pytest.raises(ValueError, match="^Z must"):
        est.shared_mean_terms(0.5, np.zeros(3))
    with pytest.raises(ValueError, match="^K must be at least 1"):
        est.shared_mean_variances(0.5, 0)
    with pytest.raises(ValueError, match="^lam must be positive"):
        est.expo_reparameterize(0.0, [0.5])
    with pytest.raises(ValueError, match=r"^Z must lie in \[0, 1\)"):
        est.expo_reparameterize(1.0, [1.0])
    with pytest.raises(ValueError, match="^Z must not be empty"):
        est.shared_mean_terms(0.5, np.zeros((0, 2)))


@pytest.mark.parametrize("mu", [1e4, 1e6, -3e7, 1e10])
def test_score_function_variance_at_the_optimal_baseline_keeps_its_digits(mu):
    """At beta = beta* the mu^4 terms of E[s^2 f^2] and beta*^2 K cancel; the variance left is
    (4K + 4) mu^2 + O(1), here against the same moments in 60-digit arithmetic (the sum of terms of
    size mu^4 lost 6 digits at mu = 1e6 and every digit by 1e8)."""
    import mpmath
    K = 3
    beta = est.optimal_baseline(mu, K)
    with mpmath.workdps(60):
        m, b = mpmath.mpf(mu), mpmath.mpf(beta)
        m2 = m * m
        Es2f = (m2 + 3) + (K - 1) * (m2 + 1)
        Es2f2 = (m2 ** 2 + 18 * m2 + 15) + (K - 1) * (m2 ** 2 + 6 * m2 + 3)
        exact = float(Es2f2 - 2 * b * Es2f + b * b * K - 4 * m2)
    assert est.shared_mean_variances(mu, K, beta=beta)[0] == pytest.approx(exact, rel=1e-13)
