"""Tests for the Section 7.1 exercise checkers (pedagogy_lib.exercises.ch07_gmm_em).

Correct answers are computed here by independent routes: vectorized NumPy for the M step (itself
checked against a numerical minimization of the cross entropy written with scipy's densities),
scipy's ``cdist`` for the assignment step, scikit-learn's own parameter count for the number of
free parameters, and the argmax of scipy log densities at a tiny variance for the zero-variance
limit. Wrong answers are the slips each checker is meant to name.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import multivariate_normal

from pedagogy_lib.exercises import ch07_gmm_em as check


# ---------------------------------------------------------------------------------------------
# M step
# ---------------------------------------------------------------------------------------------

def _m_step(y, r, *, divide_mu_by_N=False, unbiased=False, sigma_by_N=False, raw=False, counts=False,
            trace_only=False, std=False, pooled=False):
    """The spherical M step (component k has covariance sigma_k^2 I), vectorized: sigma_k^2 is the
    responsibility-weighted mean of the squared distances to mu_k, per coordinate."""
    N, L = y.shape
    N_k = r.sum(axis=0)
    mu = (r.T @ y) / (N if divide_mu_by_N else N_k[:, None])
    mu_true = (r.T @ y) / N_k[:, None]
    sq = np.einsum("nk,kn->k", r, np.sum((y[None, :, :] - mu_true[:, None, :]) ** 2, axis=2))
    if raw:
        sigma2 = (r.T @ np.sum(y**2, axis=1)) / (L * N_k)
    elif unbiased:
        sigma2 = sq / (L * (N_k - 1))
    elif sigma_by_N:
        sigma2 = sq / (L * N)
    elif trace_only:
        sigma2 = sq / N_k
    elif pooled:
        sigma2 = np.full(r.shape[1], sq.sum() / (L * N))
    else:
        sigma2 = sq / (L * N_k)
    if std:
        sigma2 = np.sqrt(sigma2)
    pi = N_k if counts else N_k / N
    return pi, mu, sigma2


def _spherical_nll(params, y, r):
    """The joint cross entropy of Step 1 with Sigma_k = sigma_k^2 I, from scipy's log density, as a
    function of (log pi_1 - log pi_0 logit, mu flattened, log sigma2): the oracle the M step must minimize."""
    K, L = r.shape[1], y.shape[1]
    a = params[:K]
    pi = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    mu = params[K:K + K * L].reshape(K, L)
    s2 = np.exp(params[K + K * L:])
    logp = np.stack([np.log(pi[k]) + multivariate_normal(mu[k], s2[k] * np.eye(L)).logpdf(y) for k in range(K)],
                    axis=1)
    return -np.sum(r * logp) / len(y)


def test_m_step_oracle_minimizes_the_spherical_cross_entropy():
    # the closed form of _m_step is the minimizer found by a general-purpose optimizer on scipy's densities
    from scipy.optimize import minimize
    y, r = check.EX_MSTEP
    start = np.concatenate([np.zeros(2), np.zeros(4), np.zeros(2)])
    opt = minimize(_spherical_nll, start, args=(y, r), method="BFGS", options={"gtol": 1e-10})
    pi, mu, sigma2 = _m_step(y, r)
    a = opt.x[:2]
    np.testing.assert_allclose(np.exp(a) / np.exp(a).sum(), pi, atol=1e-5)
    np.testing.assert_allclose(opt.x[2:6].reshape(2, 2), mu, atol=1e-5)
    np.testing.assert_allclose(np.exp(opt.x[6:]), sigma2, rtol=1e-4)


def test_m_step_correct_passes():
    res = check.m_step(_m_step(check.EX_MSTEP.y, check.EX_MSTEP.r))
    assert res, str(res)
    assert "[pass]" in str(res)


def test_m_step_accepts_a_list_and_the_trace_of_the_full_update():
    from pedagogy_lib.mixture import em as me
    assert check.m_step(list(_m_step(check.EX_MSTEP.y, check.EX_MSTEP.r)))
    full = me.gmm_m_step(me.gmm_stats_from_responsibilities(check.EX_MSTEP.y, check.EX_MSTEP.r))
    assert check.m_step((full.pi, full.mu, np.trace(full.Sigma, axis1=1, axis2=2) / 2))
    res = check.m_step(full)                                # the page's full covariances
    assert not res and "one variance per component" in str(res)


def test_m_step_matches_labelled_sample_statistics_for_one_hot_r():
    # sanity of the oracle: with one-hot r the M step is per-class sample proportion, mean, and the mean of
    # the biased per-coordinate variances
    y = check.EX_MSTEP.y
    r = np.eye(2)[[0, 0, 0, 0, 1, 1, 1, 1]]
    pi, mu, sigma2 = _m_step(y, r)
    np.testing.assert_allclose(pi, [0.5, 0.5])
    np.testing.assert_allclose(mu[0], y[:4].mean(0))
    np.testing.assert_allclose(sigma2[1], np.var(y[4:], axis=0).mean())


@pytest.mark.parametrize("kwargs, message", [
    (dict(counts=True), "soft counts N_k without dividing by N"),
    (dict(divide_mu_by_N=True), "divided the weighted sum by N"),
    (dict(unbiased=True), "N_k - 1"),
    (dict(sigma_by_N=True), "divided by N instead of by the soft count"),
    (dict(raw=True), "forgot to subtract the mean"),
    (dict(trace_only=True), "log|sigma_k^2 I|"),
    (dict(std=True), "standard deviations"),
    (dict(pooled=True), "pooled"),
])
def test_m_step_typical_slips_are_named(kwargs, message):
    res = check.m_step(_m_step(check.EX_MSTEP.y, check.EX_MSTEP.r, **kwargs))
    assert not res
    assert message in str(res)


def test_m_step_messages_do_not_give_the_factor_away():
    res = check.m_step(_m_step(check.EX_MSTEP.y, check.EX_MSTEP.r, trace_only=True))
    assert "factor of 2" not in str(res) and "divide by L" not in str(res)


def test_m_step_ignoring_responsibilities_is_named():
    y = check.EX_MSTEP.y
    pi, _, _ = _m_step(y, check.EX_MSTEP.r)
    res = check.m_step((pi, np.tile(y.mean(0), (2, 1)), np.full(2, np.var(y, axis=0).mean())))
    assert not res
    assert "ignored the responsibilities" in str(res)


def test_m_step_transposed_mu_and_bad_shapes():
    pi, mu, sigma2 = _m_step(check.EX_MSTEP.y, check.EX_MSTEP.r)
    mu_t = mu.T.copy()
    if np.allclose(mu_t, mu):                                   # pragma: no cover - data are not symmetric
        pytest.skip("symmetric means")
    assert not check.m_step((pi, mu_t, sigma2))
    res = check.m_step((pi, mu, sigma2[:1]))
    assert not res and "shape" in str(res)


@pytest.mark.parametrize("answer, message", [
    (None, "None"),
    ((1.0, 2.0), "tuple (pi, mu, sigma2)"),
    ("abc", "tuple (pi, mu, sigma2)"),
    ((None, None, None), "is None"),
])
def test_m_step_graceful_failures(answer, message):
    res = check.m_step(answer)
    assert not res
    assert message in str(res)


# ---------------------------------------------------------------------------------------------
# K-means assignment step
# ---------------------------------------------------------------------------------------------

def _assign(y, mu):
    return np.argmin(cdist(y, mu, "sqeuclidean"), axis=1)        # argmin keeps the first of tied centres


def test_assign_correct_passes():
    res = check.assign_function(_assign)
    assert res, str(res)


def test_assign_float_labels_accepted_and_euclidean_distance_ok():
    assert check.assign_function(lambda y, mu: _assign(y, mu).astype(float))
    assert check.assign_function(lambda y, mu: np.argmin(cdist(y, mu), axis=1))


def test_assign_oracle_agrees_with_sklearn_kmeans_predict():
    from sklearn.cluster import KMeans
    p = check.EX_ASSIGN[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km = KMeans(n_clusters=3, init=p.mu, n_init=1, max_iter=1).fit(p.mu)   # centres stay at p.mu
    np.testing.assert_array_equal(km.predict(p.y), _assign(p.y, p.mu))


@pytest.mark.parametrize("fn, message", [
    (lambda y, mu: np.argmax(cdist(y, mu), axis=1), "farthest centre"),
    (lambda y, mu: _assign(y, mu) + 1, "from 1 to K"),
    (lambda y, mu: cdist(y, mu), "shape (N, K)"),
    (lambda y, mu: np.eye(mu.shape[0])[_assign(y, mu)], "shape (N, K)"),
    (lambda y, mu: None, "returned None"),
    (lambda y, mu: 1 / 0, "ZeroDivisionError"),
    (lambda y, mu: _assign(y, mu)[:-1], "should have shape"),
    (lambda y, mu: _assign(y, mu) + 0.5, "integer labels"),
    (lambda y, mu: np.argmin(np.abs(y[:, :1] - mu[:, 0]), axis=1), "not assigned to their nearest centre"),
    (5, "should be a function"),
])
def test_assign_wrong_functions_fail_with_message(fn, message):
    res = check.assign_function(fn)
    assert not res
    assert message in str(res)


def test_assign_ties_to_the_last_index_are_named():
    def last_of_ties(y, mu):
        d = cdist(y, mu, "sqeuclidean")
        return d.shape[1] - 1 - np.argmin(d[:, ::-1], axis=1)
    res = check.assign_function(last_of_ties)
    assert not res
    assert "lowest index" in str(res)


def test_assign_out_of_range_labels():
    res = check.assign_function(lambda y, mu: np.full(y.shape[0], mu.shape[0] + 3))
    assert not res and "outside" in str(res)


# ---------------------------------------------------------------------------------------------
# number of free parameters
# ---------------------------------------------------------------------------------------------

def _sklearn_count(K, L, covariance_type):
    from sklearn.mixture import GaussianMixture
    gm = GaussianMixture(n_components=K, covariance_type=covariance_type)
    gm.means_ = np.zeros((K, L))                                  # all _n_parameters reads are K, L and the type
    return int(gm._n_parameters())


def test_n_params_sklearn_count_passes():
    res = check.n_params_function(_sklearn_count)
    assert res, str(res)


@pytest.mark.parametrize("fn, message", [
    (lambda K, L, ct: _sklearn_count(K, L, ct) + 1, "constraint on the mixing weights"),
    (lambda K, L, ct: (K - 1) + K * L + {"full": K * L * L, "diag": K * L, "tied": L * L}[ct], "not every entry of a symmetric matrix"),
    (lambda K, L, ct: (K - 1) + K * L, "covariance parameters are missing"),
    (lambda K, L, ct: _sklearn_count(K, L, "full") if ct == "tied" else _sklearn_count(K, L, ct), "how many covariance matrices a tied model"),
    (lambda K, L, ct: _sklearn_count(K, L, "full") if ct == "diag" else _sklearn_count(K, L, ct), "which entries of a diagonal covariance"),
    (lambda K, L, ct: _sklearn_count(K, L, ct) + 7, "count is not right"),
    (lambda K, L, ct: None, "returned None"),
    (lambda K, L, ct: "ten", "should return a number"),
    (lambda K, L: 3, "raised TypeError"),
    (None, "should be a function"),
])
def test_n_params_wrong_functions_fail(fn, message):
    res = check.n_params_function(fn)
    assert not res
    assert message in str(res)
    for giveaway in ("K - 1", "L(L+1)/2", "only L", "counted once", "sum to one"):
        assert giveaway not in str(res), str(res)


# ---------------------------------------------------------------------------------------------
# zero-variance limit with a shared anisotropic covariance (erratum of Section 7.1.1)
# ---------------------------------------------------------------------------------------------

def _limit_by_densities(scale=1e-6, pi=None, p=None):
    """Argmax of the weighted log densities of N(mu_k, scale * Sigma_k) by scipy (an independent route)."""
    p = check.EX_MAHAL if p is None else p
    pi = p.pi if pi is None else pi
    logp = np.stack([multivariate_normal(p.mu[k], scale * p.Sigma[k]).logpdf(p.y) for k in range(p.mu.shape[0])],
                    axis=1)
    return np.argmax(logp + np.log(pi), axis=1)


def _shared_metric_labels(p, metric):
    d = p.y[:, None] - p.mu
    return np.argmin(np.einsum("nki,ij,nkj->nk", d, metric, d), axis=1)


def test_limit_labels_correct_passes():
    res = check.limit_labels(_limit_by_densities())
    assert res, str(res)
    assert check.limit_labels(list(_limit_by_densities()))
    for pi in ([0.98, 0.01, 0.01], [0.01, 0.01, 0.98]):              # the weights must not matter in the limit
        np.testing.assert_array_equal(_limit_by_densities(pi=np.array(pi)), _limit_by_densities())
    np.testing.assert_array_equal(_limit_by_densities(1e-9), _limit_by_densities())


def test_limit_labels_euclidean_is_named_and_differs():
    p = check.EX_MAHAL
    euclid = _assign(p.y, p.mu)
    assert not np.array_equal(euclid, _limit_by_densities())     # the problem does separate the two answers
    assert int(np.sum(euclid != _limit_by_densities())) == 3     # the number the solution states
    res = check.limit_labels(euclid)
    assert not res and "Euclidean-nearest" in str(res)
    assert "Sigma^{-1}" not in str(res) and "Mahalanobis" not in str(res), str(res)


def test_limit_labels_sigma_instead_of_inverse_is_named():
    p = check.EX_MAHAL
    d = p.y[:, None] - p.mu
    wrong = np.argmin(np.einsum("nki,kij,nkj->nk", d, p.Sigma, d), axis=1)
    assert not np.array_equal(wrong, _assign(p.y, p.mu))
    res = check.limit_labels(wrong)
    assert not res and "which matrix the exponent" in str(res) and "inverse" not in str(res)


@pytest.mark.parametrize("which", [0, 1, 2, "mean"])
def test_limit_labels_one_shared_covariance_is_named(which):
    """The page's code measures every point with one shared Sigma; with one covariance per component no
    single matrix (any of the three, or their mean) gives the limit."""
    p = check.EX_MAHAL
    S = p.Sigma.mean(axis=0) if which == "mean" else p.Sigma[which]
    wrong = _shared_metric_labels(p, np.linalg.inv(S))
    assert not np.array_equal(wrong, _limit_by_densities())
    res = check.limit_labels(wrong)
    assert not res and "one covariance shared by all components" in str(res), str(res)


def test_limit_labels_responsibilities_at_s_equal_one_are_named():
    wrong = _limit_by_densities(scale=1.0)
    assert not np.array_equal(wrong, _limit_by_densities())
    assert int(np.sum(wrong != _limit_by_densities())) == 3      # "at s = 1 they change three"
    res = check.limit_labels(wrong)
    assert not res and "s = 1" in str(res), str(res)


def test_limit_labels_data_are_not_the_page_s():
    """The page works the anisotropic example with one shared Sigma_aniso = [[3, 1.2], [1.2, 0.8]]; the
    exercise gives each component its own covariance, none of them the page's, and unequal weights."""
    p = check.EX_MAHAL
    assert p.Sigma.shape == (3, 2, 2)
    assert not any(np.allclose(S, [[3.0, 1.2], [1.2, 0.8]]) for S in p.Sigma)
    assert len(np.unique(p.pi)) == 3 and np.isclose(p.pi.sum(), 1.0)
    assert np.all(np.linalg.eigvalsh(p.Sigma) > 0)


def test_drawn_limit_problems_separate_the_limit_from_the_slips():
    from courseware import grading as G

    for salt in range(6):
        mod = G.own_copy(check, salt)          # the checker module with a student's own problem data
        p = mod.EX_MAHAL
        assert p.pi.shape == (3,) and p.mu.shape == (3, 2) and p.Sigma.shape == (3, 2, 2)
        assert p.y.shape == (8, 2) and np.isclose(p.pi.sum(), 1.0)
        limit = _limit_by_densities(p=p)
        for pi in ([0.98, 0.01, 0.01], [0.01, 0.98, 0.01], [0.01, 0.01, 0.98]):
            np.testing.assert_array_equal(_limit_by_densities(1e-8, np.array(pi), p), limit)
        assert mod.limit_labels(limit)
        assert not mod.limit_labels(_assign(p.y, p.mu))
        assert not mod.limit_labels(_limit_by_densities(1.0, p=p))
        for S in list(p.Sigma) + [p.Sigma.mean(axis=0)]:
            assert not mod.limit_labels(_shared_metric_labels(p, np.linalg.inv(S)))


@pytest.mark.parametrize("answer, message", [
    (None, "None"),
    (np.zeros((8, 3)), "shape (N, K)"),
    (np.zeros(5), "shape (N,)"),
    (np.full(8, 0.5), "integer labels"),
    (np.array([2, 1, 0, 0, 2, 2, 0, 1]), "some of your labels are not those of the limit"),
])
def test_limit_labels_graceful_failures(answer, message):
    res = check.limit_labels(answer)
    assert not res
    assert message in str(res)


def test_limit_labels_a_wrong_guess_does_not_say_which_points_are_wrong():
    """ex-7-1-mahalanobis-limit: the last message once listed the points not assigned correctly, so
    guessing every label 0, then every label 1, spelled out the answer in two calls. A wrong answer
    that no named slip explains is told neither which points nor how many are wrong: every such guess
    gets the same words."""
    p = check.EX_MAHAL
    right = _limit_by_densities()
    one_off = right.copy()
    one_off[0] = (one_off[0] + 1) % p.mu.shape[0]
    texts = set()
    for guess in [np.full(p.y.shape[0], k) for k in range(p.mu.shape[0])] + [one_off]:
        res = check.limit_labels(guess)
        assert not res
        texts.add(str(res))
    assert len(texts) == 1, texts
    assert "point(s)" not in texts.pop()
