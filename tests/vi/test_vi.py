"""Variational inference: mean-field on a correlated Gaussian (both KL directions), CAVI for the
Bayesian GMM against scikit-learn and the exact evidence, black-box gradient estimators and their
control variates, BBVI on a conjugate model, the coupling-flow family, and variational Bayes to the
VAE on the linear-Gaussian model."""
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import multivariate_t

from pedagogy_lib import samplers as S
from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.factor.em import ppca_ml
from pedagogy_lib.nn.network import tree_leaves, tree_map
from pedagogy_lib.vi import amortized as A
from pedagogy_lib.vi import bbvi, bgmm, flows
from pedagogy_lib.vi import mean_field as MF


# ---------------------------------------------------------------- mean-field on a correlated Gaussian

def _corr(rho):
    Sigma = np.array([[1.0, rho], [rho, 1.0]])
    return np.array([0.5, -1.0]), Sigma, np.linalg.inv(Sigma)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_mean_field_variances_are_the_inverse_precision_diagonal(rho):
    mu, Sigma, Lam = _corr(rho)
    q = MF.mean_field_gaussian(mu, Lam)
    np.testing.assert_allclose(q.v, 1.0 / np.diag(Lam), rtol=1e-14)
    np.testing.assert_allclose(q.v, 1.0 - rho ** 2, rtol=1e-12)     # unit variances, correlation rho
    np.testing.assert_array_equal(q.m, mu)


def test_the_two_kl_directions_have_the_two_known_minimizers():
    mu, Sigma, Lam = _corr(0.8)

    def kl_qp(z):                                     # D_KL{q || p} over factorized q
        return MF.kl_gaussian(z[:2], np.diag(np.exp(z[2:])), mu, Sigma)

    def kl_pq(z):                                     # D_KL{p || q}
        return MF.kl_gaussian(mu, Sigma, z[:2], np.diag(np.exp(z[2:])))

    z0 = np.array([0.0, 0.0, 0.0, 0.0])
    a = minimize(kl_qp, z0, method="BFGS", options={"gtol": 1e-10}).x
    b = minimize(kl_pq, z0, method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(a[:2], mu, atol=1e-5)
    np.testing.assert_allclose(np.exp(a[2:]), MF.mean_field_gaussian(mu, Lam).v, rtol=1e-5)
    np.testing.assert_allclose(b[:2], mu, atol=1e-5)
    np.testing.assert_allclose(np.exp(b[2:]), MF.moment_matched_gaussian(mu, Sigma).v, rtol=1e-5)
    assert np.all(np.exp(a[2:]) < np.exp(b[2:]) - 0.3)   # reverse KL under-disperses


def test_cavi_on_a_gaussian_contracts_by_rho_squared_per_sweep():
    rho = 0.9
    mu, _, Lam = _corr(rho)
    path = MF.cavi_gaussian(mu, Lam, np.array([3.0, 3.0]), 40)
    err = np.abs(path[::2, 1] - mu[1])                    # after each full sweep
    np.testing.assert_allclose(err[2:6] / err[1:5], rho ** 2, rtol=1e-10)
    np.testing.assert_allclose(path[-1], mu, atol=1e-3)


def test_kl_gaussian_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mq, Sq = np.array([0.3, -0.2]), np.array([[0.5, 0.1], [0.1, 0.4]])
    mp, Sp = np.zeros(2), np.array([[1.0, 0.6], [0.6, 1.0]])
    x = rng.multivariate_normal(mq, Sq, 200_000)

    def logpdf(x, m, S):
        d = x - m
        return -0.5 * np.einsum("ni,ij,nj->n", d, np.linalg.inv(S), d) - 0.5 * np.linalg.slogdet(2 * np.pi * S)[1]

    w = logpdf(x, mq, Sq) - logpdf(x, mp, Sp)
    assert abs(w.mean() - MF.kl_gaussian(mq, Sq, mp, Sp)) < 4 * w.std() / np.sqrt(w.size)


# ---------------------------------------------------------------- CAVI for the Bayesian GMM

def _gmm_data():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal([0, 0], 1, (120, 2)), rng.normal([4, 3], 0.7, (90, 2)),
                      rng.normal([-3, 4], 0.5, (90, 2))])


def _sklearn(y, K, seed, n_iter):
    from sklearn.mixture import BayesianGaussianMixture
    sk = BayesianGaussianMixture(n_components=K, weight_concentration_prior_type="dirichlet_distribution",
                                 init_params="random", random_state=seed, max_iter=n_iter, tol=0.0,
                                 reg_covar=0.0, n_init=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk.fit(y)
    return sk


@pytest.mark.parametrize("n_iter", [1, 7, 25])
def test_cavi_matches_sklearn_iterates_from_the_same_initialization(n_iter):
    y, K, seed = _gmm_data(), 4, 3
    prior = bgmm.default_bgmm_prior(y, K)
    r0 = np.random.RandomState(seed).uniform(size=(len(y), K))      # scikit-learn's "random" init
    r0 /= r0.sum(axis=1, keepdims=True)
    q = bgmm.cavi_bgmm(y, prior, r0, n_iter=n_iter, tol=0.0).q
    sk = _sklearn(y, K, seed, n_iter)
    # same iterates to rounding (scikit-learn adds 10 eps to soft counts, as we do): relative 1e-9
    np.testing.assert_allclose(q.alpha, sk.weight_concentration_, rtol=1e-9)
    np.testing.assert_allclose(q.beta, sk.mean_precision_, rtol=1e-9)
    np.testing.assert_allclose(q.nu, sk.degrees_of_freedom_, rtol=1e-9)
    np.testing.assert_allclose(q.m, sk.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(q.W_inv / q.nu[:, None, None], sk.covariances_, rtol=1e-9, atol=1e-12)


def test_cavi_elbo_never_decreases_and_differs_from_sklearns_bound_by_a_constant():
    y, K, seed = _gmm_data(), 4, 5
    prior = bgmm.default_bgmm_prior(y, K)
    r0 = np.random.RandomState(seed).uniform(size=(len(y), K))
    r0 /= r0.sum(axis=1, keepdims=True)
    res = bgmm.cavi_bgmm(y, prior, r0, n_iter=40, tol=0.0)
    assert np.all(np.diff(res.elbo) > -1e-9 * np.abs(res.elbo[1:]))
    assert res.elbo[-1] > res.elbo[0] + 10.0
    offsets = [res.elbo[n - 1] - _sklearn(y, K, seed, n).lower_bound_ for n in (3, 40)]
    assert abs(offsets[0] - offsets[1]) < 1e-8 * abs(offsets[0])


def test_with_one_component_the_elbo_is_the_exact_log_evidence():
    # K = 1: q(mu, Lambda) is the exact Gaussian-Wishart posterior. The evidence by the chain rule
    # of Student-t predictives (an independent route through the data one point at a time).
    rng = np.random.default_rng(1)
    y = rng.multivariate_normal([1.0, -0.5], [[1.0, 0.3], [0.3, 0.5]], 25)
    prior = bgmm.bgmm_prior(1.0, 0.7, np.array([0.2, 0.1]), np.array([[1.5, 0.2], [0.2, 0.8]]), 4.0)
    res = bgmm.cavi_bgmm(y, prior, np.ones((25, 1)), n_iter=2, tol=0.0)
    m, beta, Winv, nu, D = prior.m0.copy(), prior.beta0, prior.W0_inv.copy(), prior.nu0, 2
    log_ev = 0.0
    for yn in y:
        dof = nu - D + 1
        shape = Winv * (beta + 1) / (beta * dof)
        log_ev += multivariate_t(m, shape, df=dof).logpdf(yn)
        d = yn - m
        Winv = Winv + beta / (beta + 1) * np.outer(d, d)
        m = (beta * m + yn) / (beta + 1)
        beta, nu = beta + 1, nu + 1
    np.testing.assert_allclose(res.elbo[-1], log_ev, rtol=1e-10)


def test_cavi_backends_agree_and_bad_input_is_named():
    y, K = _gmm_data(), 3
    prior = bgmm.default_bgmm_prior(y, K)
    r0 = np.random.default_rng(2).dirichlet(np.ones(K), len(y))
    a = bgmm.cavi_bgmm(y, prior, r0, n_iter=5, tol=0.0)
    b = bgmm.cavi_bgmm(y, prior, r0, n_iter=5, tol=0.0, backend="numpy")
    np.testing.assert_allclose(a.elbo, b.elbo, rtol=1e-10)
    with pytest.raises(ValueError, match="r0"):
        bgmm.cavi_bgmm(y, prior, r0[:10], n_iter=2)
    with pytest.raises(ValueError, match="nu0"):
        bgmm.bgmm_prior(1.0, 1.0, np.zeros(2), np.eye(2), 0.5)


# ---------------------------------------------------------------- black-box gradient estimators

def _gauss_case():
    """Target N(mu*, s*^2) (unnormalized) and q = N(m, s^2): the ELBO gradient in closed form."""
    mu_star, s_star = 1.5, 0.7
    t = S.python_target(lambda x: (-0.5 * (x[:, 0] - mu_star) ** 2 / s_star ** 2,
                                   -(x - mu_star) / s_star ** 2), 1)
    lam = bbvi.GaussianVIParams(np.array([0.2]), np.array([np.log(1.3)]))
    s = 1.3
    exact = np.array([-(0.2 - mu_star) / s_star ** 2, 1.0 - s * s / s_star ** 2])
    return t, lam, exact


def test_both_estimators_are_unbiased_and_the_control_variate_cuts_variance():
    t, lam, exact = _gauss_case()
    rng = np.random.default_rng(3)
    n = 200_000
    g_sf, h = bbvi.score_function_terms(t, lam, rng.standard_normal((n, 1)))
    g_rp = bbvi.reparam_terms(t, lam, rng.standard_normal((n, 1)))
    _, a = bbvi.control_variate(*bbvi.score_function_terms(t, lam, rng.standard_normal((5000, 1))))
    g_cv, _ = bbvi.control_variate(g_sf, h, a)              # coefficient from independent samples
    for g in (g_sf, g_cv, g_rp):
        se = g.std(axis=0) / np.sqrt(n)
        assert np.all(np.abs(g.mean(axis=0) - exact) < 4 * se), (g.mean(axis=0), exact, se)
    v_sf, v_cv, v_rp = g_sf.var(axis=0), g_cv.var(axis=0), g_rp.var(axis=0)
    assert np.all(v_sf / v_cv > 1.5)                        # measured factor here: about 2 and 5
    assert np.all(v_rp < v_cv)
    np.testing.assert_allclose(h.mean(axis=0), 0.0, atol=4 * h.std(axis=0).max() / np.sqrt(n))


def test_the_optimal_coefficient_minimizes_variance_over_a_grid():
    t, lam, _ = _gauss_case()
    g, h = bbvi.score_function_terms(t, lam, np.random.default_rng(4).standard_normal((20000, 1)))
    _, a = bbvi.control_variate(g, h)
    grid = a[0] + np.linspace(-1, 1, 21)
    var = [np.var(g[:, 0] - c * h[:, 0]) for c in grid]
    assert int(np.argmin(var)) == 10


@pytest.mark.parametrize("estimator", ["reparam", "score_cv"])
def test_bbvi_converges_to_the_normal_normal_posterior_within_one_percent(estimator):
    rng = np.random.default_rng(5)
    model = bbvi.normal_normal(rng.normal(1.0, 2.0, 20), 2.0, 0.0, 3.0)
    m_post, s_post = bbvi.normal_normal_posterior(model)
    res = bbvi.fit_gaussian_vi(bbvi.normal_normal_target(model), bbvi.GaussianVIParams(np.zeros(1), np.zeros(1)),
                               np.random.default_rng(6), n_iter=3000, n_samples=20, estimator=estimator, lr=0.01)
    assert abs(res.params.m[0] - m_post) < 0.01 * abs(m_post)
    assert abs(np.exp(res.params.log_s[0]) - s_post) < 0.01 * s_post


def test_normal_normal_posterior_matches_a_grid():
    model = bbvi.normal_normal(np.array([0.5, 1.5, 2.0]), 1.0, -1.0, 2.0)
    x = np.linspace(-6, 6, 20001)[:, None]
    lp, _ = S.log_density_and_force(bbvi.normal_normal_target(model), x)
    w = np.exp(lp - lp.max())
    w /= w.sum()
    m = float(w @ x[:, 0])
    s = float(np.sqrt(w @ (x[:, 0] - m) ** 2))
    np.testing.assert_allclose(bbvi.normal_normal_posterior(model), (m, s), rtol=1e-7)


# ---------------------------------------------------------------- the flow family

def _flow():
    net = flows.coupling_flow(8)
    p = flows.flow_init(net, np.random.default_rng(7))
    rng = np.random.default_rng(8)
    p = tree_map(lambda a: a + 0.3 * rng.standard_normal(np.shape(a)), p)   # away from the start
    return net, p


def test_flow_density_inverts_the_sampler_and_integrates_to_one():
    """The flow's density by the change of variables of Eq. 8.25 matches the sampler's and integrates to one."""
    net, p = _flow()
    eps = np.random.default_rng(9).standard_normal((500, 2))
    x, log_q = flows.flow_sample(net, p, eps)
    np.testing.assert_allclose(flows.flow_log_density(net, p, x), log_q, atol=1e-12)
    g = np.linspace(-9, 9, 601)
    X1, X2 = np.meshgrid(g, g, indexing="ij")
    q = np.exp(flows.flow_log_density(net, p, np.column_stack([X1.ravel(), X2.ravel()])))
    assert abs(q.sum() * (g[1] - g[0]) ** 2 - 1.0) < 1e-3


def test_flow_elbo_gradient_matches_finite_differences():
    net, p = _flow()
    t = S.banana(1.0, 1.0)
    eps = np.random.default_rng(10).standard_normal((7, 2))
    _, grads = flows.flow_elbo_and_grads(net, p, t, eps)
    leaves = tree_leaves(p)
    flat = np.concatenate([l.ravel() for l in leaves])

    def unflatten(v):
        out, i = [], 0
        for l in leaves:
            out.append(v[i:i + l.size].reshape(l.shape))
            i += l.size
        it = iter(out)
        return tree_map(lambda _: next(it), p)

    f = lambda v: flows.flow_elbo_and_grads(net, unflatten(v), t, eps)[0]
    analytic = np.concatenate([g.ravel() for g in tree_leaves(grads)])
    chk = gradcheck(f, flat, analytic, rtol=1e-5, atol=1e-7)
    assert chk.ok, chk.max_abs_error


def test_flow_vi_beats_mean_field_gaussian_vi_on_the_banana():
    t = S.banana(1.0, 1.0)
    net = flows.coupling_flow(16)
    fr = flows.fit_flow_vi(net, flows.flow_init(net, np.random.default_rng(0)), t, np.random.default_rng(1),
                           n_iter=1200, n_samples=64, lr=0.01)
    mf = bbvi.fit_gaussian_vi(t, bbvi.GaussianVIParams(np.zeros(2), np.zeros(2)), np.random.default_rng(2),
                              n_iter=1500, n_samples=20)
    eps = np.random.default_rng(3).standard_normal((40000, 2))
    x, lq = flows.flow_sample(net, fr.params, eps)
    w_flow = S.log_density_and_force(t, x)[0] - lq
    w_mf = bbvi.elbo_terms(t, mf.params, eps)
    se = np.sqrt((w_flow.var() + w_mf.var()) / eps.shape[0])
    assert w_flow.mean() - w_mf.mean() > 0.1 + 4 * se
    assert w_flow.mean() < np.log(2 * np.pi) + 4 * w_flow.std() / np.sqrt(eps.shape[0])   # ELBO <= log Z


# ---------------------------------------------------------------- variational Bayes to the VAE

def _ppca_data():
    rng = np.random.default_rng(11)
    L, K, N = 5, 2, 400
    C, c = rng.normal(size=(L, K)), rng.normal(size=L)
    Y = rng.normal(size=(N, K)) @ C.T + c + 0.5 * rng.normal(size=(N, L))
    return A.linear_gaussian_model(C, c, 0.25), Y


def test_evidence_minus_elbo_is_the_kl_to_the_exact_posterior():
    model, Y = _ppca_data()
    rng = np.random.default_rng(12)
    nu, log_s = rng.normal(size=(3, 2)), rng.normal(scale=0.3, size=(3, 2))
    gap = A.log_evidence(model, Y[:3]) - A.linear_gaussian_elbo(model, Y[:3], nu, log_s)
    mean, cov = A.exact_posterior(model, Y[:3])
    kl = [MF.kl_gaussian(nu[n], np.diag(np.exp(2 * log_s[n])), mean[n], cov) for n in range(3)]
    np.testing.assert_allclose(gap, kl, rtol=1e-10)


def test_local_vb_is_the_mean_field_optimum_and_a_linear_encoder_closes_the_gap():
    model, Y = _ppca_data()
    nu, log_s = A.local_vb(model, Y)
    best = A.linear_gaussian_elbo(model, Y, nu, log_s)
    rng = np.random.default_rng(13)
    for _ in range(5):
        worse = A.linear_gaussian_elbo(model, Y, nu + 0.01 * rng.normal(size=nu.shape),
                                       log_s + 0.01 * rng.normal(size=log_s.shape))
        assert np.all(worse < best)
    assert np.all(best < A.log_evidence(model, Y))          # mean-field: a strict gap (correlated posterior)
    res = A.fit_encoder(model, Y, A.encoder(5, 2), np.random.default_rng(14), n_iter=2000, lr=0.1)
    assert best.mean() - res.elbo[-1] < 2e-3


def test_a_linear_vae_recovers_the_ppca_subspace():
    from scipy.linalg import subspace_angles
    model, Y = _ppca_data()
    v = A.fit_linear_vae(Y, 2, A.encoder(5, 2), np.random.default_rng(15), n_iter=4000, batch=100, lr=0.01)
    pp = ppca_ml(Y, 2)
    assert np.max(subspace_angles(v.model.C, pp.C)) < 0.1
    assert abs(v.model.sigma2 / pp.Lambda[0] - 1.0) < 0.1
