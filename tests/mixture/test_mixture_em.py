"""Tests for pedagogy_lib.mixture.em: EM for the GMM and K-means (book Sections 6.3, 7.1, 7.1.1).

Oracles are independent of the code under test: scipy.stats.multivariate_normal and
scipy.special (logsumexp, softmax) for logits, responsibilities and log likelihoods; explicit
per-component sample statistics (np.cov with bias=True); scikit-learn's GaussianMixture and
KMeans started from the same point; scipy.optimize.linear_sum_assignment to undo label switching;
Monte Carlo frequencies with tolerances stated in standard errors.

scikit-learn conventions: ``precisions_init`` holds inverse covariances ((K, L, L) full, (K, L)
diag, (L, L) tied); its ``reg_covar`` (default 1e-6) is *added* to every diagonal, so it is set to
0 here (ours, a floor, is also 0 or does not bind); it adds 10 * eps to every N_k (negligible).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import special
from scipy.optimize import linear_sum_assignment
from scipy.stats import multivariate_normal
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.mixture import GaussianMixture

from pedagogy_lib.em import engine as em
from pedagogy_lib.mixture import em as me
from pedagogy_lib.mixture.model import GMMParams, gmm_log_marginal, gmm_posterior
from pedagogy_lib.core.gradcheck import gradcheck

TYPES = ("full", "diag", "tied")


# ---------------------------------------------------------------------------------------------
# helpers (kept local to this file)
# ---------------------------------------------------------------------------------------------

def random_spd(rng, L, scale=1.0):
    A = rng.standard_normal((L, L))
    return scale * (A @ A.T / L + 0.3 * np.eye(L))


def random_params(rng, K, L, spread=3.0):
    pi = rng.dirichlet(np.full(K, 4.0))
    mu = spread * rng.standard_normal((K, L))
    Sigma = np.stack([random_spd(rng, L) for _ in range(K)])
    return GMMParams(pi, mu, Sigma)


def sample(rng, params, N):
    """Draw from the mixture without the library: labels, then one Cholesky factor per class."""
    K, L = params.mu.shape
    x = rng.choice(K, size=N, p=params.pi)
    y = np.empty((N, L))
    for k in range(K):
        rows = x == k
        y[rows] = params.mu[k] + rng.standard_normal((rows.sum(), L)) @ np.linalg.cholesky(params.Sigma[k]).T
    return x, y


def scipy_log_joint(params, y):
    """log(pi_k N(y_n; mu_k, Sigma_k)) from scipy, an (N, K) array."""
    return np.stack([np.log(params.pi[k]) + multivariate_normal(params.mu[k], params.Sigma[k]).logpdf(y)
                     for k in range(params.pi.shape[0])], axis=1)


def structured(params, covariance_type):
    """Impose the covariance structure on a start (diag: keep diagonals; tied: the pi-weighted average)."""
    K, L = params.mu.shape
    if covariance_type == "diag":
        return params._replace(Sigma=np.stack([np.diag(np.diag(S)) for S in params.Sigma]))
    if covariance_type == "tied":
        S = np.einsum("k,kij->ij", params.pi, params.Sigma)
        return params._replace(Sigma=np.stack([S] * K))
    return params


def sklearn_gmm(params, covariance_type, max_iter):
    K, L = params.mu.shape
    if covariance_type == "full":
        prec = np.linalg.inv(params.Sigma)
    elif covariance_type == "diag":
        prec = 1.0 / np.diagonal(params.Sigma, axis1=1, axis2=2)
    else:
        prec = np.linalg.inv(params.Sigma[0])
    return GaussianMixture(K, covariance_type=covariance_type, tol=0.0, max_iter=max_iter, n_init=1, reg_covar=0.0,
                           weights_init=params.pi, means_init=params.mu, precisions_init=prec)


def sklearn_cov_as_full(gm, covariance_type, K, L):
    if covariance_type == "full":
        return gm.covariances_
    if covariance_type == "diag":
        return np.stack([np.diag(v) for v in gm.covariances_])
    return np.stack([gm.covariances_] * K)


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", em.ConvergenceWarning)
        return me.fit_gmm(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# the E step: responsibilities and statistics
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_suff_stats_match_scipy_responsibilities(backend):
    rng = np.random.default_rng(0)
    params = random_params(rng, K=3, L=3)
    _, y = sample(rng, params, 200)
    stats = me.gmm_suff_stats(params, y, backend=backend)
    logj = scipy_log_joint(params, y)
    r = special.softmax(logj, axis=1)                                  # Eqs. 2.6 and 2.7
    np.testing.assert_allclose(stats.N_k, r.sum(0), rtol=1e-10)
    for k in range(3):
        d = y - params.mu[k]
        np.testing.assert_allclose(stats.sum_d[k], r[:, k] @ d, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(stats.sum_dd[k], (r[:, k, None] * d).T @ d, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(stats.log_lik, special.logsumexp(logj, axis=1).sum(), rtol=1e-12)
    np.testing.assert_allclose(stats.entropy, -np.sum(special.xlogy(r, r)), rtol=1e-10)
    np.testing.assert_allclose(stats.mu_ref, params.mu)


@pytest.mark.parametrize("L", [1, 2, 3, 4, 5, 8])
def test_kernel_matches_numpy_twin(L):
    """Both kernel paths (per-lane sums for L <= 4, BLAS blocks above), blocks of 128 cut anywhere."""
    rng = np.random.default_rng(10 + L)
    for N, K in [(1, 1), (127, 3), (128, 2), (300, 5)]:
        params = random_params(rng, K, L, spread=2.0)
        if K >= 3:                                                     # a component with pi_k = 0: -inf logits
            pi = params.pi.copy()
            pi[1] = 0.0
            params = params._replace(pi=pi / pi.sum())
        y = 2.0 * rng.standard_normal((N, L)) + 5.0
        a = me.gmm_suff_stats(params, y, backend="numba")
        b = me.gmm_suff_stats(params, y, backend="numpy")
        for name in ("N_k", "sum_d", "sum_dd", "log_lik", "entropy"):
            x, z = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
            np.testing.assert_allclose(x, z, rtol=1e-10, atol=1e-10 * max(1.0, float(np.max(np.abs(z)))),
                                       err_msg=f"{name}, N={N}, K={K}, L={L}")
        if K >= 3:
            assert a.N_k[1] == 0.0 and np.all(a.sum_dd[1] == 0.0)


def test_far_points_stay_finite_in_log_space():
    """Every density underflows to 0 in linear space; log-space responsibilities remain a distribution."""
    rng = np.random.default_rng(1)
    params = random_params(rng, K=3, L=2)
    y = np.array([[400.0, -300.0], [1e3, 1e3]])
    with np.errstate(under="ignore"):
        naive = np.exp(scipy_log_joint(params, y))
    assert np.all(naive == 0.0)                                        # the naive posterior would be 0/0
    for backend in ("numba", "numpy"):
        stats = me.gmm_suff_stats(params, y, backend=backend)
        assert np.isfinite(stats.log_lik) and np.isfinite(stats.entropy)
        np.testing.assert_allclose(stats.N_k.sum(), 2.0, rtol=1e-12)
        np.testing.assert_allclose(stats.log_lik, special.logsumexp(scipy_log_joint(params, y), axis=1).sum(),
                                   rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# the M step
# ---------------------------------------------------------------------------------------------

def test_m_step_with_observed_labels_is_the_fully_observed_mle():
    """One-hot responsibilities: class proportions, class means, 1/N_k class covariances (Section 7.1);
    the means are Eq. 6.4 with the classes observed."""
    rng = np.random.default_rng(2)
    params = random_params(rng, K=3, L=2)
    x, y = sample(rng, params, 500)
    r = np.eye(3)[x]
    for covariance_type in TYPES:
        got = me.gmm_m_step(me.gmm_stats_from_responsibilities(y, r), covariance_type=covariance_type)
        np.testing.assert_allclose(got.pi, np.bincount(x) / 500, rtol=1e-12)
        covs = []
        for k in range(3):
            np.testing.assert_allclose(got.mu[k], y[x == k].mean(0), rtol=1e-12)
            covs.append(np.cov(y[x == k].T, bias=True))
        covs = np.stack(covs)
        if covariance_type == "diag":
            covs = np.stack([np.diag(np.diag(S)) for S in covs])
        elif covariance_type == "tied":
            covs = np.stack([np.einsum("k,kij->ij", np.bincount(x) / 500, covs)] * 3)
        np.testing.assert_allclose(got.Sigma, covs, rtol=1e-10, atol=1e-13)


def test_centring_point_does_not_change_the_m_step():
    """Statistics centred anywhere give the same M step (the book's sum r y y^T / N_k - mu mu^T form)."""
    rng = np.random.default_rng(3)
    params = random_params(rng, K=2, L=3)
    _, y = sample(rng, params, 300)
    r = special.softmax(rng.standard_normal((300, 2)), axis=1)
    a = me.gmm_m_step(me.gmm_stats_from_responsibilities(y, r))
    b = me.gmm_m_step(me.gmm_stats_from_responsibilities(y, r, np.zeros((2, 3))))
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)


def test_centred_statistics_survive_a_large_offset_where_the_raw_moment_form_fails():
    """Remark on Section 7.1: <X Y Y^T>/<X> - mu mu^T cancels catastrophically far from the origin."""
    rng = np.random.default_rng(31)
    x = rng.integers(2, size=400)
    y = np.array([[0.0, 0.0], [4.0, 1.0]])[x] + rng.standard_normal((400, 2)) + 1e7
    r = np.eye(2)[x]
    got = me.gmm_m_step(me.gmm_stats_from_responsibilities(y, r))
    for k in range(2):
        yk = y[x == k]
        oracle = np.cov((yk - yk.mean(0)).T, bias=True)                # centred by hand
        np.testing.assert_allclose(got.Sigma[k], oracle, rtol=1e-8, atol=1e-8)
        raw = yk.T @ yk / len(yk) - np.outer(yk.mean(0), yk.mean(0))   # the book's second form, literally
        assert np.abs(raw - oracle).max() > 1e-3                       # off by far more than the rtol above


def test_fisher_identity_and_the_sign_of_eq_6_4():
    """Eq. 6.3 for the GMM: d/d mu_k of the marginal NLL is -sum_n r_nk Sigma_k^{-1}(y_n - mu_k) (central
    differences, rtol 1e-6). Draft Eq. 6.4 has the opposite sign and Sigma for Sigma_k; its second line needs
    -2 log pi_k inside the 1/2(...): -log(pi_k N(y; mu_k, Sigma_k)) = 1/2(M log tau + log|Sigma_k| + maha - 2 log pi_k)."""
    rng = np.random.default_rng(32)
    params = random_params(rng, K=3, L=2)
    _, y = sample(rng, params, 50)
    r = special.softmax(scipy_log_joint(params, y), axis=1)
    eps = 1e-6
    for k in range(3):
        analytic = -np.linalg.solve(params.Sigma[k], (r[:, k, None] * (y - params.mu[k])).sum(0))

        def nll(mu_k):                      # the marginal cross entropy of Eq. 6.1, summed over the data
            mu = params.mu.copy()
            mu[k] = mu_k
            return -gmm_log_marginal(params._replace(mu=mu), y).sum()

        fd = gradcheck(nll, params.mu[k], h=eps).numeric
        np.testing.assert_allclose(analytic, fd, rtol=1e-6, atol=1e-8)
        # minus the log joint of Eq. 6.2 at the one-hot x = e_k, written out
        d = y[0] - params.mu[k]
        maha = d @ np.linalg.solve(params.Sigma[k], d)
        lhs = -np.log(params.pi[k]) - multivariate_normal(params.mu[k], params.Sigma[k]).logpdf(y[0])
        rhs = 0.5 * (2 * np.log(2 * np.pi) + np.linalg.slogdet(params.Sigma[k])[1] + maha - 2 * np.log(params.pi[k]))
        np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# EM: monotonicity, the ELBo, agreement with scikit-learn
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("covariance_type", TYPES)
def test_log_likelihood_never_decreases_on_many_seeded_problems(covariance_type):
    """ell^(i+1) >= ell^(i) - 1e-10 |ell|, and ell^(i) <= ELBo^(i+1) <= ell^(i+1) (Section 7 intro)."""
    for seed in range(8):
        rng = np.random.default_rng(100 + seed)
        K, L = 2 + seed % 3, 1 + seed % 3
        params = random_params(rng, K, L, spread=2.0)
        _, y = sample(rng, params, 250)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)             # run_em's "likelihood decreased"
            warnings.simplefilter("error", me.CovarianceFloorWarning)  # the floor must not bind here
            warnings.simplefilter("ignore", em.ConvergenceWarning)
            res = me.fit_gmm(y, K, covariance_type=covariance_type, rng=rng, max_iter=20, tol=0.0)
        ll = res.log_lik
        slack = 1e-10 * np.abs(ll[1:])
        assert np.all(np.diff(ll) >= -slack), (seed, np.diff(ll).min())
        assert np.all(res.elbo >= ll[:-1] - slack) and np.all(res.elbo <= ll[1:] + slack)
        np.testing.assert_allclose(ll[-1], gmm_log_marginal(res.params, y).sum(), rtol=1e-12)


def test_elbo_equals_log_likelihood_at_the_posterior_and_is_below_otherwise():
    rng = np.random.default_rng(4)
    params = random_params(rng, K=3, L=2)
    _, y = sample(rng, params, 300)
    logj = scipy_log_joint(params, y)
    ell = special.logsumexp(logj, axis=1).sum()                         # oracle log likelihood
    exact = me.gmm_elbo(params, me.gmm_suff_stats(params, y))
    # the ELBo is minus the free energy of Eq. 6.5 (summed); the E step closes the gap (Eq. 6.6)
    np.testing.assert_allclose(exact, ell, rtol=1e-12)
    post = special.softmax(logj, axis=1)
    for scale in (0.1, 1.0, 3.0):
        q = special.softmax(np.log(post) + scale * rng.standard_normal(post.shape), axis=1)
        bound = me.gmm_elbo(params, me.gmm_stats_from_responsibilities(y, q))
        kl = np.sum(special.xlogy(q, q) - q * np.log(post))            # sum_n KL(q_n || posterior_n)
        assert kl > 0 and bound < ell
        np.testing.assert_allclose(bound, ell - kl, rtol=1e-10)
        np.testing.assert_allclose(bound, em.discrete_elbo(logj, q).sum(), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_iterates_match_sklearn_from_the_same_start(covariance_type):
    """Every iterate equals GaussianMixture(max_iter=i) from the same weights/means/precisions (rtol 1e-9)."""
    rng = np.random.default_rng(5)
    truth = random_params(rng, K=3, L=2, spread=2.0)
    _, y = sample(rng, truth, 400)
    start = structured(GMMParams(np.full(3, 1 / 3), y[rng.choice(400, 3, replace=False)],
                                 np.stack([np.cov(y.T)] * 3)), covariance_type)
    res = quiet_fit(y, 3, covariance_type=covariance_type, init=start, max_iter=8, tol=0.0, reg_covar=0.0,
                    return_path=True)
    assert res.n_iter == 8
    for i in (1, 2, 8):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SkConvergenceWarning)
            gm = sklearn_gmm(start, covariance_type, i).fit(y)
        ours = res.path[i]
        np.testing.assert_allclose(ours.pi, gm.weights_, rtol=1e-9)
        np.testing.assert_allclose(ours.mu, gm.means_, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(ours.Sigma, sklearn_cov_as_full(gm, covariance_type, 3, 2), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(res.log_lik[i], gm.score(y) * 400, rtol=1e-11)


def test_em_model_shares_one_pass_per_iteration_but_not_across_data():
    rng = np.random.default_rng(33)
    params = random_params(rng, K=2, L=2)
    y1, y2 = rng.standard_normal((30, 2)), rng.standard_normal((40, 2))
    model = me.gmm_em_model()
    a = model.e_step(params, y1)
    assert model.e_step(params, y1) is a                               # memo: the same pass
    b = model.e_step(params, y2)
    np.testing.assert_allclose(b.N_k.sum(), 40.0, rtol=1e-12)
    np.testing.assert_allclose(model.log_likelihood(params, y2), gmm_log_marginal(params, y2).sum(), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# parameter recovery, restarts, initialization
# ---------------------------------------------------------------------------------------------

def test_parameter_recovery_with_label_switching_handled():
    """Fit N = 6000 draws; match components to the truth by the Hungarian algorithm on mean distances.

    Tolerances are 5 standard errors of the corresponding sample quantity with known labels:
    pi_k: sqrt(pi(1-pi)/N); mu_k: sqrt(Sigma_k,ii / N_k); Sigma_k,ij: sqrt((S_ii S_jj + S_ij^2) / N_k).
    """
    rng = np.random.default_rng(6)
    truth = GMMParams(np.array([0.5, 0.3, 0.2]), np.array([[0.0, 0.0], [5.0, 1.0], [-1.0, 6.0]]),
                      np.array([[[1.0, 0.3], [0.3, 0.6]], [[0.5, -0.2], [-0.2, 1.2]], [[0.8, 0.0], [0.0, 0.4]]]))
    N = 6000
    _, y = sample(rng, truth, N)
    res = me.fit_gmm(y, 3, rng=np.random.default_rng(60), n_restarts=3, max_iter=200, tol=1e-10)
    assert res.converged
    cost = np.linalg.norm(res.params.mu[:, None, :] - truth.mu[None], axis=2)
    rows, cols = linear_sum_assignment(cost)                           # fitted component rows[i] <-> truth cols[i]
    perm = rows[np.argsort(cols)]
    pi, mu, Sigma = res.params.pi[perm], res.params.mu[perm], res.params.Sigma[perm]
    assert np.all(np.abs(pi - truth.pi) <= 5 * np.sqrt(truth.pi * (1 - truth.pi) / N))
    for k in range(3):
        Nk = truth.pi[k] * N
        S = truth.Sigma[k]
        assert np.all(np.abs(mu[k] - truth.mu[k]) <= 5 * np.sqrt(np.diag(S) / Nk))
        se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / Nk)
        assert np.all(np.abs(Sigma[k] - S) <= 5 * se)


def test_restarts_return_the_best_of_the_spawned_fits():
    rng_data = np.random.default_rng(7)
    params = random_params(rng_data, K=4, L=2, spread=1.5)
    _, y = sample(rng_data, params, 300)
    best = quiet_fit(y, 4, rng=np.random.default_rng(70), n_restarts=3, max_iter=15)
    finals = [quiet_fit(y, 4, rng=child, max_iter=15).log_lik[-1] for child in np.random.default_rng(70).spawn(3)]
    assert best.log_lik[-1] == max(finals)


def test_kmeans_plusplus_draws_with_probability_proportional_to_d2():
    """Second centre given the first: P(n) = D_n^2 / sum D^2 (tolerance: 5 binomial standard errors)."""
    y = np.array([[0.0], [1.0], [2.0], [4.0]])
    rng = np.random.default_rng(8)
    M = 4000
    counts = np.zeros((4, 4))
    for _ in range(M):
        c = me.kmeans_plusplus(y, 2, rng)
        counts[int(c[0, 0] if c[0, 0] != 4 else 3), int(c[1, 0] if c[1, 0] != 4 else 3)] += 1
    for first in range(4):
        n1 = counts[first].sum()
        np.testing.assert_allclose(n1 / M, 0.25, atol=5 * np.sqrt(0.25 * 0.75 / M))
        d2 = (y[:, 0] - y[first, 0]) ** 2
        p = d2 / d2.sum()
        assert np.all(np.abs(counts[first] / n1 - p) <= 5 * np.sqrt(p * (1 - p) / n1) + 1e-12)


def test_kmeans_plusplus_is_reproducible_and_picks_distinct_rows():
    y = np.random.default_rng(9).standard_normal((50, 3))
    a = me.kmeans_plusplus(y, 5, np.random.default_rng(1))
    b = me.kmeans_plusplus(y, 5, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert len({tuple(row) for row in a}) == 5
    assert all(any(np.array_equal(row, yy) for yy in y) for row in a)


# ---------------------------------------------------------------------------------------------
# K-means and the zero-variance limit (Section 7.1.1)
# ---------------------------------------------------------------------------------------------

def _blobs(seed, N=300, K=3, L=2):
    rng = np.random.default_rng(seed)
    centers = 4.0 * rng.standard_normal((K, L))
    y = centers[rng.integers(K, size=N)] + rng.standard_normal((N, L))
    return rng, y


def _em_mean_step_fixed_isotropic(mu, y, sigma2, pi):
    """One GMM-EM iteration with pi and Sigma_k = sigma2 I held fixed: only the means move."""
    K, L = mu.shape
    params = GMMParams(pi, mu, np.stack([sigma2 * np.eye(L)] * K))
    return me.gmm_m_step(me.gmm_suff_stats(params, y)).mu


def test_kmeans_is_the_zero_variance_limit_of_gmm_em():
    rng, y = _blobs(11)
    mu0 = y[rng.choice(300, 3, replace=False)]
    gap = min(np.linalg.norm(mu0[i] - mu0[j]) for i in range(3) for j in range(i))
    pi = np.array([0.6, 0.3, 0.1])                                     # any fixed pi: irrelevant in the limit
    # responsibilities harden as sigma -> 0 (max distance from one-hot decreases to 0)
    _, labels0 = me._nearest(y, mu0)
    onehot = np.eye(3)[labels0]
    devs = []
    for s in (1.0, 0.3, 0.1, 1e-3 * gap):
        r = gmm_posterior(GMMParams(pi, mu0, np.stack([s**2 * np.eye(2)] * 3)), y)
        devs.append(np.abs(r - onehot).max())
    assert all(a >= b for a, b in zip(devs, devs[1:])) and devs[-1] == 0.0
    # with sigma = 1e-3 * gap, EM mean updates reproduce Lloyd's iterates, step by step
    sigma2 = (1e-3 * gap) ** 2
    mu = mu0
    for i in range(1, 6):
        mu = _em_mean_step_fixed_isotropic(mu, y, sigma2, pi)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", em.ConvergenceWarning)
            km = me.kmeans(y, 3, init=mu0, max_iter=i)
        np.testing.assert_allclose(mu, km.mu, rtol=1e-12, atol=1e-12)


def test_pi_drops_out_of_the_hard_limit():
    rng, y = _blobs(12)
    mu = y[:3]
    S = np.stack([1e-8 * np.eye(2)] * 3)
    a = gmm_posterior(GMMParams(np.array([0.98, 0.01, 0.01]), mu, S), y)
    b = gmm_posterior(GMMParams(np.array([0.01, 0.01, 0.98]), mu, S), y)
    np.testing.assert_array_equal(a.argmax(1), b.argmax(1))
    np.testing.assert_array_equal(a.argmax(1), me._nearest(y, mu)[1])


def test_shared_anisotropic_covariance_limit_is_mahalanobis_not_euclidean():
    """Erratum (Section 7.1.1, after Eq. 7.1): Eq. 7.1 with a shared Sigma = s * Sigma_0, s -> 0, picks the
    Mahalanobis-nearest mean; the Euclidean argmin of the K-means box needs Sigma = sigma^2 I."""
    mu = np.array([[0.0, 0.0], [3.0, 0.6]])
    Sigma0 = np.array([[10.0, 0.0], [0.0, 0.1]])
    y = np.array([[1.0, 0.6]])                                         # Euclidean: mean 0; Mahalanobis: mean 1
    assert np.argmin(np.sum((y - mu) ** 2, axis=1)) == 0
    maha = [float((y[0] - m) @ np.linalg.solve(Sigma0, y[0] - m)) for m in mu]
    assert np.argmin(maha) == 1
    r = gmm_posterior(GMMParams(np.array([0.5, 0.5]), mu, np.stack([1e-4 * Sigma0] * 2)), y)
    np.testing.assert_allclose(r[0], [0.0, 1.0], atol=1e-12)


def test_kmeans_matches_sklearn_from_the_same_centres_and_inertia_decreases():
    rng, y = _blobs(13, N=400, K=4)
    mu0 = y[rng.choice(400, 4, replace=False)]
    ours = me.kmeans(y, 4, init=mu0)
    assert ours.converged
    sk = KMeans(4, init=mu0, n_init=1, algorithm="lloyd", max_iter=300, tol=0.0).fit(y)
    np.testing.assert_allclose(ours.mu, sk.cluster_centers_, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ours.labels, sk.labels_)
    np.testing.assert_allclose(ours.inertia[-1], sk.inertia_, rtol=1e-10)
    assert np.all(np.diff(ours.inertia) <= 1e-12 * ours.inertia[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = me.kmeans(y, 4, init=mu0, max_iter=1)
        sk1 = KMeans(4, init=mu0, n_init=1, algorithm="lloyd", max_iter=1, tol=0.0).fit(y)
    np.testing.assert_allclose(one.mu, sk1.cluster_centers_, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# degenerate cases and warnings
# ---------------------------------------------------------------------------------------------

def _collapsing_problem():
    rng = np.random.default_rng(14)
    y = np.vstack([rng.standard_normal((100, 2)), np.tile([[6.0, 6.0]], (10, 1))])   # 10 identical points
    start = GMMParams(np.array([0.9, 0.1]), np.array([[0.0, 0.0], [6.0, 6.0]]),
                      np.stack([np.eye(2), 0.01 * np.eye(2)]))
    return y, start


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_floor_warning_fires_on_a_collapsing_component(covariance_type):
    y, start = _collapsing_problem()
    with pytest.warns(me.CovarianceFloorWarning, match=r"component\(s\) \[1\]"):
        res = quiet_fit(y, 2, covariance_type=covariance_type, init=start, max_iter=5, reg_covar=1e-4)
    lam = np.linalg.eigvalsh(res.params.Sigma)
    assert lam.min() >= 1e-4 * (1 - 1e-12)
    np.testing.assert_allclose(lam[1], [1e-4, 1e-4], rtol=1e-8)        # floored exactly at reg_covar
    assert np.all(np.isfinite(res.log_lik))


def test_floor_warning_names_the_tied_covariance():
    y = np.column_stack([np.random.default_rng(15).standard_normal(50), np.full(50, 2.0)])   # constant column
    start = GMMParams(np.array([0.5, 0.5]), np.array([[-1.0, 2.0], [1.0, 2.0]]), np.stack([np.eye(2)] * 2))
    with pytest.warns(me.CovarianceFloorWarning, match="tied covariance"):
        quiet_fit(y, 2, covariance_type="tied", init=start, max_iter=3, reg_covar=1e-6)


def test_without_a_floor_a_collapse_raises_instead_of_nan():
    y, start = _collapsing_problem()
    with pytest.raises(FloatingPointError, match=r"Sigma\[1\] is singular"):
        quiet_fit(y, 2, init=start, max_iter=5, reg_covar=0.0)


def test_empty_component_warns_and_keeps_its_parameters():
    _, y = _blobs(16, N=100)
    start = GMMParams(np.array([0.5, 0.5 - 1e-9, 1e-9]), np.array([[0.0, 0.0], [1.0, 1.0], [1e4, 1e4]]),
                      np.stack([np.eye(2)] * 3))
    with pytest.warns(me.EmptyComponentWarning, match=r"component\(s\) \[2\]"):
        res = quiet_fit(y, 3, init=start, max_iter=2)
    np.testing.assert_array_equal(res.params.mu[2], [1e4, 1e4])
    assert res.params.pi[2] == 0.0 and np.all(np.isfinite(res.log_lik))
    with pytest.warns(me.EmptyComponentWarning, match=r"centre\(s\) \[2\]"):
        me.kmeans(y, 3, init=start.mu, max_iter=3)


def test_convergence_warning_reports_the_iteration_count():
    rng, y = _blobs(17)
    with pytest.warns(em.ConvergenceWarning, match="did not converge in 2 iterations"):
        res = me.fit_gmm(y, 3, rng=rng, max_iter=2, tol=1e-14)
    assert res.n_iter == 2 and not res.converged
    with pytest.warns(em.ConvergenceWarning, match="did not converge in 1 iterations"):
        me.kmeans(y, 3, init=y[:3], max_iter=1)


# ---------------------------------------------------------------------------------------------
# validation: one test per message
# ---------------------------------------------------------------------------------------------

_Y = np.random.default_rng(20).standard_normal((10, 2))
_P = GMMParams(np.array([0.5, 0.5]), np.zeros((2, 2)), np.stack([np.eye(2)] * 2))
_STATS = me.gmm_suff_stats(_P, _Y)
_R = np.full((10, 2), 0.5)
_RNG = np.random.default_rng(0)


def _nan_y():
    y = _Y.copy()
    y[3, 1] = np.nan
    return y


@pytest.mark.parametrize("call, match", [
    (lambda: me.fit_gmm(_nan_y(), 2, rng=_RNG), r"y must be finite; got nan at index \(3, 1\)"),
    (lambda: me.fit_gmm(np.inf * _Y, 2, rng=_RNG), "y must be finite"),
    (lambda: me.fit_gmm(_Y[:, 0], 2, rng=_RNG), r"y must be a 2-D array of shape \(N, L\)"),
    (lambda: me.fit_gmm(np.zeros((0, 2)), 1, rng=_RNG), "y must have at least one row and one column"),
    (lambda: me.fit_gmm(_Y, 0, rng=_RNG), "K must be at least 1"),
    (lambda: me.fit_gmm(_Y, 11, rng=_RNG), r"K must be at most N = 10"),
    (lambda: me.fit_gmm(np.tile(_Y[:2], (5, 1)), 3, rng=_RNG), r"y has fewer than K = 3 distinct rows"),
    (lambda: me.fit_gmm(_Y, 2, rng=_RNG, covariance_type="spherical"), "covariance_type must be one of"),
    (lambda: me.fit_gmm(_Y, 2, rng=_RNG, init="random"), "init must be one of"),
    (lambda: me.fit_gmm(_Y, 3, init=_P), r"init.mu must have shape \(K, L\) = \(3, 2\)"),
    (lambda: me.fit_gmm(_Y, 2, init=_P, n_restarts=2), "n_restarts must be 1 when init is a GMMParams"),
    (lambda: me.fit_gmm(_Y, 2, rng=_RNG, n_restarts=0), "n_restarts must be at least 1"),
    (lambda: me.fit_gmm(_Y, 2, rng=_RNG, max_iter=0), "max_iter must be at least 1"),
    (lambda: me.fit_gmm(_Y, 2, rng=_RNG, tol=-1.0), "tol must be non-negative"),
    (lambda: me.fit_gmm(_Y, 2, rng=_RNG, reg_covar=-1e-6), "reg_covar must be non-negative"),
    (lambda: me.fit_gmm(_Y, 2, rng=_RNG, reg_covar=[1e-6]), "reg_covar must be a scalar"),
    (lambda: me.fit_gmm(np.column_stack([_Y[:, 0], np.ones(10)]), 2, rng=_RNG, reg_covar=0.0),
     r"y is degenerate: column\(s\) \[1\] are constant"),
    (lambda: me.fit_gmm(_Y, 2, rng=_RNG, backend="cuda"), "backend must be one of"),
    (lambda: me.fit_gmm(_Y, 2, init=_P._replace(pi=np.array([0.7, 0.7]))), "pi must sum to 1"),
    (lambda: me.kmeans(_nan_y(), 2, rng=_RNG), "y must be finite"),
    (lambda: me.kmeans(_Y, 11, rng=_RNG), "K must be at most N = 10"),
    (lambda: me.kmeans(_Y, 2, init=np.zeros((3, 2))), r"init must have shape \(K, L\) = \(2, 2\)"),
    (lambda: me.kmeans(_Y, 2, init="forgy", rng=_RNG), "init must be one of"),
    (lambda: me.kmeans(_Y, 2, rng=_RNG, max_iter=0), "max_iter must be at least 1"),
    (lambda: me.kmeans_plusplus(_Y, 0, _RNG), "K must be at least 1"),
    (lambda: me.kmeans_plusplus(np.ones((5, 2)), 2, _RNG), "y has fewer than K = 2 distinct rows"),
    (lambda: me.gmm_suff_stats(_P, np.zeros((4, 3))), r"y must have shape \(N, L\)"),
    (lambda: me.gmm_suff_stats(_P, _Y, backend="jax"), "backend must be one of"),
    (lambda: me.gmm_stats_from_responsibilities(_Y, _R[:5]), "r must have one row per observation"),
    (lambda: me.gmm_stats_from_responsibilities(_Y, -_R), r"r must be non-negative; entry \(0, 0\)"),
    (lambda: me.gmm_stats_from_responsibilities(_Y, 2 * _R), "each row of r must sum to 1; row 0"),
    (lambda: me.gmm_stats_from_responsibilities(_Y, _R, np.zeros((3, 2))), r"mu_ref must have shape \(K, L\)"),
    (lambda: me.gmm_m_step(_STATS, covariance_type="spherical"), "covariance_type must be one of"),
    (lambda: me.gmm_m_step(_STATS._replace(N_k=np.array([-1.0, 11.0]))), "stats.N_k must be non-negative"),
    (lambda: me.gmm_m_step(_STATS._replace(N_k=np.zeros(2))), "stats.N_k must have a positive sum"),
    (lambda: me.gmm_m_step(_STATS._replace(sum_d=np.zeros((2, 3)))), r"stats.sum_d must have shape"),
    (lambda: me.gmm_m_step(_STATS._replace(sum_dd=np.zeros((2, 2)))), r"stats.sum_dd must have shape"),
    (lambda: me.gmm_m_step(_STATS, reg_covar=np.nan), "reg_covar must be finite"),
    (lambda: me.gmm_m_step(_STATS, old_params=GMMParams(np.ones(1), np.zeros((1, 2)), np.eye(2)[None])),
     r"old_params.mu must have shape \(K, L\) = \(2, 2\)"),
    (lambda: me.gmm_elbo(GMMParams(np.ones(1), np.zeros((1, 2)), np.eye(2)[None]), _STATS),
     r"params.mu must have shape \(K, L\) = \(2, 2\)"),
    (lambda: me.gmm_em_model("spherical"), "covariance_type must be one of"),
])
def test_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: me.fit_gmm(_Y, 2), "rng must be a numpy.random.Generator"),
    (lambda: me.kmeans_plusplus(_Y, 2, 0), "rng must be a numpy.random.Generator"),
    (lambda: me.fit_gmm(_Y, 2.0, rng=_RNG), "K must be an integer"),
    (lambda: me.gmm_m_step((1, 2, 3, 4, 5, 6)), "stats must be a GMMStats"),
])
def test_type_errors(call, match):
    with pytest.raises(TypeError, match=match):
        call()




# ---------------------------------------------------------------------------------------------
# semi-supervised EM: labelled points' responsibilities clamped (Section 5.2.1's closing
# "semi-supervised" clustering in its generative form)
# ---------------------------------------------------------------------------------------------

def _partial_labels(rng, x, fraction):
    labels = np.where(rng.random(x.shape[0]) < fraction, x, -1)
    return labels


def test_clamped_responsibilities_and_semi_supervised_log_lik_match_scipy():
    rng = np.random.default_rng(51)
    params = random_params(rng, 3, 2)
    x, y = sample(rng, params, 40)
    labels = _partial_labels(rng, x, 0.4)
    z = scipy_log_joint(params, y)
    expected = special.softmax(z, axis=1)
    lab = labels >= 0
    expected[lab] = np.eye(3)[labels[lab]]
    np.testing.assert_allclose(me.clamped_responsibilities(params, y, labels), expected, rtol=1e-10, atol=1e-13)
    brute = sum(special.logsumexp(z[n]) if labels[n] < 0 else z[n, labels[n]] for n in range(40))
    assert me.semi_supervised_log_lik(params, y, labels) == pytest.approx(brute, rel=1e-12)
    # no labels: the ordinary log likelihood and posterior
    none = np.full(40, -1)
    assert me.semi_supervised_log_lik(params, y, none) == pytest.approx(gmm_log_marginal(params, y).sum(), rel=1e-12)
    np.testing.assert_allclose(me.clamped_responsibilities(params, y, none), gmm_posterior(params, y), rtol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied"])
def test_every_point_labelled_gives_the_supervised_fit_in_one_m_step(covariance_type):
    rng = np.random.default_rng(52)
    truth = random_params(rng, 3, 2)
    x, y = sample(rng, truth, 60)
    start = random_params(np.random.default_rng(3), 3, 2)
    fit = me.fit_gmm_semi_supervised(y, x, 3, init=start, covariance_type=covariance_type, max_iter=2, tol=0,
                                     reg_covar=0.0, return_path=True)
    first = fit.path[1]
    counts = np.bincount(x, minlength=3)
    means = np.stack([y[x == k].mean(axis=0) for k in range(3)])
    covs = np.stack([np.cov(y[x == k].T, bias=True) for k in range(3)])
    if covariance_type == "diag":
        covs = np.stack([np.diag(np.diag(c)) for c in covs])
    elif covariance_type == "tied":
        covs = np.broadcast_to((counts[:, None, None] * covs).sum(0) / 60, (3, 2, 2))
    np.testing.assert_allclose(first.pi, counts / 60, rtol=1e-12)
    np.testing.assert_allclose(first.mu, means, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(first.Sigma, covs, rtol=1e-9, atol=1e-12)
    for a, b in zip(fit.path[2], first):                  # the second E step clamps the same labels
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # the objective is then the complete-data log likelihood, computed with scipy
    z = scipy_log_joint(first, y)
    assert fit.log_lik[1] == pytest.approx(z[np.arange(60), x].sum(), rel=1e-10)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5])
def test_semi_supervised_em_never_decreases_its_objective_and_the_elbo_is_sandwiched(fraction):
    for seed in range(4):
        rng = np.random.default_rng(530 + seed)
        truth = random_params(rng, 3, 2, spread=1.5)
        x, y = sample(rng, truth, 120)
        labels = _partial_labels(rng, x, fraction)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)          # run_em warns on any decrease
            warnings.simplefilter("ignore", em.ConvergenceWarning)
            fit = me.fit_gmm_semi_supervised(y, labels, 3, rng=np.random.default_rng(seed), max_iter=60)
        ll, elbo = fit.log_lik, fit.elbo
        scale = np.maximum(1.0, np.abs(ll[1:]))
        assert np.all(np.diff(ll) >= -1e-10 * scale)
        assert np.all(elbo >= ll[:-1] - 1e-9 * scale) and np.all(elbo <= ll[1:] + 1e-9 * scale)
        # the recorded objective is the brute-force one at the final parameters
        z = scipy_log_joint(fit.params, y)
        brute = sum(special.logsumexp(z[n]) if labels[n] < 0 else z[n, labels[n]] for n in range(120))
        assert ll[-1] == pytest.approx(brute, rel=1e-10)


def test_semi_supervised_em_without_labels_is_gmm_em():
    rng = np.random.default_rng(54)
    truth = random_params(rng, 2, 2)
    _, y = sample(rng, truth, 80)
    start = random_params(np.random.default_rng(5), 2, 2)
    a = me.fit_gmm_semi_supervised(y, np.full(80, -1), 2, init=start, max_iter=15, tol=0)
    b = me.fit_gmm(y, 2, init=start, max_iter=15, tol=0, backend="numpy")
    np.testing.assert_allclose(a.log_lik, b.log_lik, rtol=1e-10)
    np.testing.assert_allclose(a.params.mu, b.params.mu, rtol=1e-8, atol=1e-10)


def test_semi_supervised_labels_are_validated():
    rng = np.random.default_rng(55)
    params = random_params(rng, 2, 2)
    _, y = sample(rng, params, 10)
    with pytest.raises(ValueError, match=r"labels must be -1 \(unlabelled\) or a class 0..K-1 = 0..1; got 2"):
        me.clamped_responsibilities(params, y, np.r_[np.full(9, -1), 2])
    with pytest.raises(ValueError, match=r"labels must have shape \(N,\) = \(10,\)"):
        me.semi_supervised_log_lik(params, y, np.zeros(9, int))
    with pytest.raises(ValueError, match="whole numbers"):
        me.fit_gmm_semi_supervised(y, np.full(10, 0.5), 2, rng=rng)
