"""Tests for pedagogy_lib.hmm.em (book Section 7.2: Baum-Welch, EM for the hidden Markov model).

Oracles, all independent of the code under test:
- brute-force enumeration of every state path (tests/oracle_hmm.py) for the posterior marginals,
  with emission log densities from scipy.stats; the M step is then written out here as weighted
  averages, and the expected complete-data log likelihood and the posterior entropy are summed
  over all paths;
- hmmlearn 0.3.3 (GaussianHMM / CategoricalHMM with init_params="", so it starts from our
  parameters). Conventions: hmmlearn is row-stochastic, ``transmat_ = A.T``; its
  ``emissionprob_`` is ``B.T``; its full-covariance M step adds ``covars_prior`` (default 1e-2) to
  the numerator, so we set ``covars_prior=0`` (with ``covars_weight=1`` the extra denominator term
  ``max(covars_weight - D, 0)`` is 0); Dirichlet priors 1.0 and ``means_weight=0`` are plain ML.
  Tolerance: both sides do the same O(TK^2) float64 sums in different orders, so 1e-8 relative;
- parameter recovery with tolerances of 5 standard errors, states matched by
  scipy.optimize.linear_sum_assignment (label switching).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats as sps
from scipy.optimize import linear_sum_assignment
from threadpoolctl import threadpool_limits

from oracle_hmm import enumerate_hmm
from pedagogy_lib.hmm import em as he
from pedagogy_lib.core.checks import ConvergenceWarning
from pedagogy_lib.em import CovarianceFloorWarning, EmptyComponentWarning
from pedagogy_lib.core.gradcheck import gradcheck

MONO_RTOL = 1e-10


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # Multi-threaded OpenBLAS stalls on a loaded 2-core machine for the tiny (T, D) triangular solves.
    with threadpool_limits(limits=1):
        yield


# --------------------------------------------------------------------------- helpers

def random_gaussian_hmm(rng, K, D, sticky=4.0, sep=3.0):
    pi = rng.dirichlet(np.ones(K))
    A = rng.dirichlet(np.ones(K), size=K).T + sticky * np.eye(K)
    A = A / A.sum(axis=0, keepdims=True)                        # column-stochastic
    mu = sep * rng.standard_normal((K, D))
    G = rng.standard_normal((K, D, D))
    Sigma = np.einsum("kij,klj->kil", G, G) / D + 0.3 * np.eye(D)
    return he.GaussianHMMParams(pi, A, mu, Sigma)


def random_categorical_hmm(rng, K, V, sticky=3.0):
    pi = rng.dirichlet(np.ones(K))
    A = rng.dirichlet(np.ones(K), size=K).T + sticky * np.eye(K)
    A = A / A.sum(axis=0, keepdims=True)
    B = rng.dirichlet(np.ones(V) * 0.7, size=K).T
    return he.CategoricalHMMParams(pi, A, B)


def data_init(rng, seqs, K):
    """A start like fit_hmm's random one: means at K data points, the pooled covariance for every state."""
    Y = np.concatenate(seqs)
    C = np.cov(Y.T, bias=True)
    A = rng.dirichlet(np.ones(K), size=K).T
    return he.GaussianHMMParams(rng.dirichlet(np.ones(K)), A, Y[rng.choice(len(Y), K, replace=False)],
                                np.stack([C] * K))


def sample_sequences(rng, params, lengths):
    return [he.hmm_sample(rng, params, T)[1] for T in lengths]


def gaussian_loglik_scipy(params, y):
    """log N(y_t; mu_k, Sigma_k) with scipy.stats, shape (T, K)."""
    return np.stack([sps.multivariate_normal(params.mu[k], params.Sigma[k]).logpdf(y).reshape(-1)
                     for k in range(params.mu.shape[0])], axis=1)


def path_log_joint(params, paths, log_lik):
    """log p(x, y; theta) for every path (rows of ``paths``), by the product of Eq. 2.35."""
    with np.errstate(divide="ignore"):
        lp, lA = np.log(params.pi), np.log(params.A)
    out = lp[paths[:, 0]] + log_lik[0, paths[:, 0]]
    for t in range(1, paths.shape[1]):
        out = out + lA[paths[:, t], paths[:, t - 1]] + log_lik[t, paths[:, t]]
    return out


def assert_monotone(log_lik):
    d = np.diff(log_lik)
    assert np.all(d >= -MONO_RTOL * np.abs(log_lik[:-1])), d.min()


# --------------------------------------------------------------------------- monotonicity

@pytest.mark.parametrize("seed", range(10))
def test_log_likelihood_never_decreases_gaussian(seed):
    rng = np.random.default_rng(100 + seed)
    K, D = int(rng.integers(2, 5)), int(rng.integers(1, 4))
    true = random_gaussian_hmm(rng, K, D, sep=1.5)
    seqs = sample_sequences(rng, true, rng.integers(20, 120, size=int(rng.integers(1, 4))))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)             # run_em warns on any decrease
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = he.fit_hmm(seqs, K, rng=rng, max_iter=40, tol=0.0, reg_covar=0.0)
    assert_monotone(res.log_lik)
    # the ELBo after each M step is sandwiched between the old and the new log likelihood (Eq. 6.6)
    assert np.all(res.elbo >= res.log_lik[:-1] - 1e-9 * np.abs(res.log_lik[:-1]))
    assert np.all(res.elbo <= res.log_lik[1:] + 1e-9 * np.abs(res.log_lik[1:]))
    # the recorded log likelihood is the log evidence of the final parameters, computed afresh
    assert res.log_lik[-1] == pytest.approx(he.hmm_log_likelihood(res.params, seqs), rel=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_log_likelihood_never_decreases_categorical(seed):
    rng = np.random.default_rng(200 + seed)
    K, V = int(rng.integers(2, 5)), int(rng.integers(2, 7))
    true = random_categorical_hmm(rng, K, V)
    seqs = sample_sequences(rng, true, rng.integers(20, 150, size=int(rng.integers(1, 4))))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = he.fit_hmm(seqs, K, emission="categorical", rng=rng, max_iter=40, tol=0.0, V=V)
    assert_monotone(res.log_lik)
    assert np.all(res.elbo >= res.log_lik[:-1] - 1e-9 * np.abs(res.log_lik[:-1]))
    assert np.all(res.elbo <= res.log_lik[1:] + 1e-9 * np.abs(res.log_lik[1:]))


# --------------------------------------------------------------------------- brute force

@pytest.mark.parametrize("seed", range(4))
def test_stats_and_m_step_match_enumeration_gaussian(seed):
    """E step = expectations over all K^T paths; M step = weighted averages written out here."""
    rng = np.random.default_rng(300 + seed)
    K, D = 3, 2
    theta = random_gaussian_hmm(rng, K, D, sticky=1.0, sep=1.0)
    seqs = sample_sequences(rng, theta, [5, 4, 6])
    gam, xis, entropy, log_ev = [], [], 0.0, 0.0
    for y in seqs:
        o = enumerate_hmm(theta.pi, theta.A, gaussian_loglik_scipy(theta, y))
        gam.append(o["gamma"])
        xis.append(o["xi"])
        w = np.exp(o["log_post"])
        entropy -= float(np.sum(w * o["log_post"]))
        log_ev += o["log_evidence"]
    st = he.hmm_suff_stats(theta, seqs)
    np.testing.assert_allclose(st.gamma_1, sum(g[0] for g in gam), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(st.xi_sum, sum(x.sum(axis=0) for x in xis), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(st.N_k, sum(g.sum(axis=0) for g in gam), rtol=1e-10)
    assert st.n_seq == 3
    assert st.log_lik == pytest.approx(log_ev, rel=1e-12)
    assert st.entropy == pytest.approx(entropy, rel=1e-9, abs=1e-10)
    # M step by hand (Section 7.2)
    pi = sum(g[0] for g in gam) / 3
    trans = sum(x.sum(axis=0) for x in xis)
    A = trans / sum(g[:-1].sum(axis=0) for g in gam)[None, :]       # denominator omits the last step
    Nk = sum(g.sum(axis=0) for g in gam)
    mu = sum(g.T @ y for g, y in zip(gam, seqs)) / Nk[:, None]
    Sigma = np.stack([sum((g[:, k, None] * (y - mu[k])).T @ (y - mu[k]) for g, y in zip(gam, seqs)) / Nk[k]
                      for k in range(K)])
    new = he.hmm_m_step(st)
    np.testing.assert_allclose(new.pi, pi, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(new.A, A, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(new.mu, mu, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(new.Sigma, Sigma, rtol=1e-9, atol=1e-12)


def test_expected_log_joint_matches_enumeration_and_is_maximized_by_m_step():
    rng = np.random.default_rng(11)
    K, D = 2, 2
    theta = random_gaussian_hmm(rng, K, D, sticky=1.0, sep=1.0)
    seqs = sample_sequences(rng, theta, [6, 5])
    st = he.hmm_suff_stats(theta, seqs)
    other = random_gaussian_hmm(rng, K, D)

    def q_brute(p):
        total = 0.0
        for y in seqs:
            o = enumerate_hmm(theta.pi, theta.A, gaussian_loglik_scipy(theta, y))     # posterior under theta
            total += float(np.sum(np.exp(o["log_post"]) * path_log_joint(p, o["paths"], gaussian_loglik_scipy(p, y))))
        return total

    for p in (theta, other):
        assert he.hmm_expected_log_joint(p, st) == pytest.approx(q_brute(p), rel=1e-10)
    new = he.hmm_m_step(st)
    q_new = he.hmm_expected_log_joint(new, st)
    # perturb every block of the maximizer; Q must not increase
    for i in range(20):
        r = np.random.default_rng(i)
        pi = new.pi * np.exp(0.1 * r.standard_normal(K))
        A = new.A * np.exp(0.1 * r.standard_normal((K, K)))
        G = 0.05 * r.standard_normal((K, D, D))
        p = he.GaussianHMMParams(pi / pi.sum(), A / A.sum(axis=0), new.mu + 0.05 * r.standard_normal((K, D)),
                                 new.Sigma + np.einsum("kij,klj->kil", G, G))
        assert he.hmm_expected_log_joint(p, st) < q_new


def test_emission_term_needs_the_log_of_the_density():
    """Erratum, Section 7.2 (the complete-data cross entropy): the complete cross entropy must contain X_t^k log N(y_t; mu_k, Sigma_k).

    With the log, the mu_k-gradient of the emission term, sum_t gamma_t(k) Sigma_k^{-1}(y_t - mu_k), vanishes at
    the weighted mean that Section 7.2 derives. The term as printed, sum_t gamma_t(k) N(y_t; mu_k, Sigma_k),
    has a nonzero gradient there (central finite differences), so it is not the objective behind that M step.
    """
    rng = np.random.default_rng(31)
    theta = random_gaussian_hmm(rng, 2, 2, sep=1.5)
    y = sample_sequences(rng, theta, [80])[0]
    gamma = he.hmm_posterior(theta, y).gamma
    new = he.hmm_m_step(he.hmm_suff_stats(theta, y))
    k, h = 0, 1e-6

    def with_log(m):
        return float(np.sum(gamma[:, k] * sps.multivariate_normal(m, new.Sigma[k]).logpdf(y)))

    def as_printed(m):
        return float(np.sum(gamma[:, k] * sps.multivariate_normal(m, new.Sigma[k]).pdf(y)))

    def grad(f, m):
        return gradcheck(f, m, h=h).numeric

    g_log, g_printed = grad(with_log, new.mu[k]), grad(as_printed, new.mu[k])
    assert np.max(np.abs(g_log)) < 1e-4                      # stationary: the M step maximizes the log form
    assert np.max(np.abs(g_printed)) > 1e-2                  # not stationary for the printed form


@pytest.mark.parametrize("seed", range(3))
def test_stats_and_m_step_match_enumeration_categorical(seed):
    rng = np.random.default_rng(400 + seed)
    K, V = 3, 4
    theta = random_categorical_hmm(rng, K, V, sticky=1.0)
    seqs = sample_sequences(rng, theta, [5, 6])
    gam, xis = [], []
    for y in seqs:
        o = enumerate_hmm(theta.pi, theta.A, np.log(theta.B[y]))
        gam.append(o["gamma"])
        xis.append(o["xi"])
    st = he.hmm_suff_stats(theta, seqs)
    counts = sum(np.eye(V)[y].T @ g for g, y in zip(gam, seqs))       # counts[v, k] = sum_t gamma_t(k) [y_t = v]
    np.testing.assert_allclose(st.counts, counts, rtol=1e-10, atol=1e-13)
    new = he.hmm_m_step(st)
    np.testing.assert_allclose(new.B, counts / counts.sum(axis=0), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(new.pi, sum(g[0] for g in gam) / 2, rtol=1e-10, atol=1e-13)
    trans = sum(x.sum(axis=0) for x in xis)
    np.testing.assert_allclose(new.A, trans / trans.sum(axis=0), rtol=1e-10, atol=1e-13)


def test_fully_observed_states_give_transition_proportions():
    """One-hot 'posteriors' (observed states): a_ij = #(j -> i) / #(departures from j) (end of Section 7.2)."""
    x = np.array([0, 0, 1, 1, 1, 2, 0, 2, 2, 1])
    K = 3
    onehot = np.eye(K)[x]
    xi_sum = onehot[1:].T @ onehot[:-1]                 # counts of j -> i
    st = he.HMMStats(onehot[0], xi_sum, onehot.sum(axis=0), 1, None, None, None,
                     np.eye(2)[x % 2].T @ onehot, 0.0, 0.0)
    new = he.hmm_m_step(st)
    counts = np.zeros((K, K))
    for a, b in zip(x[:-1], x[1:]):
        counts[b, a] += 1
    np.testing.assert_allclose(new.A, counts / counts.sum(axis=0))
    np.testing.assert_allclose(new.pi, [1, 0, 0])


# --------------------------------------------------------------------------- hmmlearn

def _hmmlearn_gaussian(p, n_iter):
    from hmmlearn.hmm import GaussianHMM
    m = GaussianHMM(p.pi.shape[0], covariance_type="full", init_params="", params="stmc", n_iter=n_iter,
                    covars_prior=0.0, covars_weight=1, means_weight=0, startprob_prior=1.0, transmat_prior=1.0,
                    tol=-np.inf, implementation="log")
    m.startprob_, m.transmat_, m.means_, m.covars_ = p.pi, p.A.T, p.mu, p.Sigma
    return m


def test_one_and_several_iterations_match_hmmlearn_gaussian():
    rng = np.random.default_rng(7)
    K, D = 3, 2
    true = random_gaussian_hmm(rng, K, D, sep=2.0)
    seqs = sample_sequences(rng, true, [150, 90, 200])
    init = random_gaussian_hmm(rng, K, D, sticky=0.5)
    X, lengths = np.concatenate(seqs), [len(s) for s in seqs]
    m0 = _hmmlearn_gaussian(init, 1)
    assert he.hmm_log_likelihood(init, seqs) == pytest.approx(m0.score(X, lengths), rel=1e-10)
    for n_iter in (1, 6):
        m = _hmmlearn_gaussian(init, n_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.fit(X, lengths)
            res = he.fit_hmm(seqs, K, init=init, max_iter=n_iter, tol=0.0, reg_covar=0.0)
        p = res.params
        np.testing.assert_allclose(p.pi, m.startprob_, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(p.A, m.transmat_.T, rtol=1e-8, atol=1e-12)      # row- vs column-stochastic
        np.testing.assert_allclose(p.mu, m.means_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(p.Sigma, m.covars_, rtol=1e-8, atol=1e-10)
        # hmmlearn's history holds the log likelihood of the parameters *before* each M step
        np.testing.assert_allclose(res.log_lik[:-1], np.array(m.monitor_.history), rtol=1e-10)


def test_one_and_several_iterations_match_hmmlearn_categorical():
    from hmmlearn.hmm import CategoricalHMM
    rng = np.random.default_rng(8)
    K, V = 3, 5
    true = random_categorical_hmm(rng, K, V)
    seqs = sample_sequences(rng, true, [200, 120])
    init = random_categorical_hmm(rng, K, V, sticky=0.5)
    X, lengths = np.concatenate(seqs)[:, None], [len(s) for s in seqs]
    for n_iter in (1, 5):
        m = CategoricalHMM(K, n_features=V, init_params="", params="ste", n_iter=n_iter, tol=-np.inf,
                           startprob_prior=1.0, transmat_prior=1.0, emissionprob_prior=1.0)
        m.startprob_, m.transmat_, m.emissionprob_ = init.pi, init.A.T, init.B.T     # hmmlearn: B.T
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.fit(X, lengths)
            res = he.fit_hmm(seqs, K, emission="categorical", init=init, max_iter=n_iter, tol=0.0)
        np.testing.assert_allclose(res.params.pi, m.startprob_, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(res.params.A, m.transmat_.T, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(res.params.B, m.emissionprob_.T, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(res.log_lik[:-1], np.array(m.monitor_.history), rtol=1e-10)


# --------------------------------------------------------------------------- recovery

def _match(true_mu, est_mu):
    """Permutation perm with est[perm[k]] ~ true[k] (label switching), by the Hungarian algorithm."""
    cost = np.linalg.norm(true_mu[:, None, :] - est_mu[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    return cols[np.argsort(rows)]


def test_parameter_recovery_gaussian():
    rng = np.random.default_rng(21)
    K = 3
    A = np.array([[0.90, 0.05, 0.10],
                  [0.06, 0.90, 0.05],
                  [0.04, 0.05, 0.85]])
    true = he.GaussianHMMParams(np.array([0.5, 0.3, 0.2]), A, np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]]),
                                np.array([np.eye(2), [[0.6, 0.2], [0.2, 0.5]], [[1.0, -0.3], [-0.3, 0.8]]]))
    seqs = sample_sequences(rng, true, [600] * 4)              # N = 2400 observations, ~800 per state
    res = he.fit_hmm(seqs, K, rng=rng, n_restarts=2, max_iter=300, tol=1e-9)
    perm = _match(true.mu, res.params.mu)
    p = res.params
    mu, Sigma, A_hat = p.mu[perm], p.Sigma[perm], p.A[np.ix_(perm, perm)]
    # 5 standard errors, with the states nearly identifiable (separation 3 sd). Each state gets at
    # least ~480 visits (stationary share >= 0.2 of 2400), so a mean has SE <= sqrt(1 / 480) ~ 0.046;
    # a transition probability has SE <= sqrt(0.1 * 0.9 / 480) ~ 0.014; a covariance entry
    # SE <= sqrt(2 / 480) ~ 0.065.
    np.testing.assert_allclose(mu, true.mu, atol=5 * 0.046)
    np.testing.assert_allclose(A_hat, true.A, atol=5 * 0.014)
    np.testing.assert_allclose(Sigma, true.Sigma, atol=5 * 0.065)
    # the fit is at least as likely as the truth (it maximizes the likelihood)
    assert res.log_lik[-1] >= he.hmm_log_likelihood(true, seqs)


def test_parameter_recovery_categorical_and_pi_from_sequence_starts():
    rng = np.random.default_rng(22)
    true = he.CategoricalHMMParams(np.array([0.7, 0.3]), np.array([[0.95, 0.10], [0.05, 0.90]]),
                                   np.array([[0.6, 0.05], [0.3, 0.15], [0.1, 0.8]]))
    seqs = sample_sequences(rng, true, [60] * 150)             # 150 sequences: pi is estimable (Section 7.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)    # EM crawls near this optimum; 300 steps suffice
        res = he.fit_hmm(seqs, 2, emission="categorical", rng=rng, n_restarts=2, max_iter=300, tol=1e-9)
    perm = _match(true.B.T, res.params.B.T)
    B, A, pi = res.params.B[:, perm], res.params.A[np.ix_(perm, perm)], res.params.pi[perm]
    # ~4500 visits per state: SE of B entries <= sqrt(0.25 / 4500) ~ 0.0075, inflated x2 for the latent
    # states; A from ~4400 departures per state SE ~ 0.004 (x2); pi from 150 starts SE ~ 0.037.
    np.testing.assert_allclose(B, true.B, atol=5 * 0.015)
    np.testing.assert_allclose(A, true.A, atol=5 * 0.008)
    np.testing.assert_allclose(pi, true.pi, atol=5 * 0.037)


def test_multiple_sequences_statistics_add_up():
    rng = np.random.default_rng(5)
    theta = random_gaussian_hmm(rng, 3, 2)
    seqs = sample_sequences(rng, theta, [30, 1, 17])           # a length-1 sequence contributes no transitions
    whole = he.hmm_suff_stats(theta, seqs)
    parts = [he.hmm_suff_stats(theta, s) for s in seqs]
    for f in ("gamma_1", "xi_sum", "N_k", "sum_d", "sum_dd"):
        np.testing.assert_allclose(getattr(whole, f), sum(getattr(q, f) for q in parts), rtol=1e-12, atol=1e-12)
    assert whole.log_lik == pytest.approx(sum(q.log_lik for q in parts), rel=1e-12)
    # the column sums of xi_sum are the occupancies without each sequence's last step
    post = he.hmm_posterior(theta, seqs)
    np.testing.assert_allclose(whole.xi_sum.sum(axis=0), whole.N_k - sum(p.gamma[-1] for p in post), rtol=1e-10)


def test_relabelled_initialization_gives_relabelled_fit():
    """EM is equivariant under a permutation of the states: the labels themselves mean nothing."""
    rng = np.random.default_rng(9)
    K, D = 3, 2
    seqs = sample_sequences(rng, random_gaussian_hmm(rng, K, D), [200, 100])
    init = data_init(rng, seqs, K)
    perm = np.array([2, 0, 1])
    init_p = he.GaussianHMMParams(init.pi[perm], init.A[np.ix_(perm, perm)], init.mu[perm], init.Sigma[perm])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = he.fit_hmm(seqs, K, init=init, max_iter=15, tol=0.0)
        b = he.fit_hmm(seqs, K, init=init_p, max_iter=15, tol=0.0)
    np.testing.assert_allclose(b.log_lik, a.log_lik, rtol=1e-10)
    np.testing.assert_allclose(b.params.mu, a.params.mu[perm], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(b.params.A, a.params.A[np.ix_(perm, perm)], rtol=1e-8, atol=1e-12)


def test_backends_agree_and_path_is_recorded():
    rng = np.random.default_rng(12)
    seqs = sample_sequences(rng, random_gaussian_hmm(rng, 3, 2), [120])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = he.fit_hmm(seqs, 3, rng=np.random.default_rng(1), max_iter=8, tol=0.0, return_path=True)
        b = he.fit_hmm(seqs, 3, rng=np.random.default_rng(1), max_iter=8, tol=0.0, backend="numpy")
    np.testing.assert_allclose(a.log_lik, b.log_lik, rtol=1e-12)
    np.testing.assert_allclose(a.params.Sigma, b.params.Sigma, rtol=1e-10, atol=1e-12)
    assert len(a.path) == a.n_iter + 1 and b.path is None
    assert he.hmm_log_likelihood(a.path[3], seqs) == pytest.approx(a.log_lik[3], rel=1e-12)


def test_single_array_and_list_inputs():
    rng = np.random.default_rng(13)
    theta = random_gaussian_hmm(rng, 2, 1)
    x, y = he.hmm_sample(rng, theta, 50)
    assert x.shape == (50,) and y.shape == (50, 1)
    assert isinstance(he.hmm_posterior(theta, [y]), list)
    post = he.hmm_posterior(theta, y)
    assert post.gamma.shape == (50, 2)
    ll = he.hmm_log_lik_matrix(theta, y)
    np.testing.assert_allclose(ll, gaussian_loglik_scipy(theta, y), rtol=1e-12)


def test_sampler_frequencies():
    """hmm_sample's emissions follow B and the means: 5 standard errors with a fixed seed."""
    rng = np.random.default_rng(14)
    theta = he.CategoricalHMMParams(np.array([1.0, 0.0]), np.eye(2), np.array([[0.2, 0.5], [0.8, 0.5]]))
    x, y = he.hmm_sample(rng, theta, 4000)
    assert np.all(x == 0)
    assert abs(np.mean(y == 1) - 0.8) < 5 * np.sqrt(0.16 / 4000)
    g = he.GaussianHMMParams(np.array([1.0]), np.eye(1), np.array([[2.0, -1.0]]), np.array([[[1.0, 0.5], [0.5, 2.0]]]))
    _, yg = he.hmm_sample(rng, g, 4000)
    np.testing.assert_allclose(yg.mean(axis=0), [2.0, -1.0], atol=5 * np.sqrt(2.0 / 4000))
    np.testing.assert_allclose(np.cov(yg.T), g.Sigma[0], atol=5 * np.sqrt(2 * 4.0 / 4000))


# --------------------------------------------------------------------------- warnings

def test_convergence_warning_when_max_iter_is_tiny():
    rng = np.random.default_rng(15)
    seqs = sample_sequences(rng, random_gaussian_hmm(rng, 3, 2), [200])
    with pytest.warns(ConvergenceWarning, match="did not converge in 2 iterations"):
        res = he.fit_hmm(seqs, 3, rng=rng, max_iter=2)
    assert not res.converged and res.n_iter == 2


def test_empty_state_and_covariance_floor_warnings():
    K, D = 2, 2
    base = dict(gamma_1=np.array([1.0, 0.0]), xi_sum=np.array([[3.0, 0.0], [0.0, 0.0]]), N_k=np.array([4.0, 0.0]),
                n_seq=1, sum_d=np.zeros((K, D)), mu_ref=np.zeros((K, D)), counts=None, log_lik=0.0, entropy=0.0)
    old = he.GaussianHMMParams(np.array([0.5, 0.5]), np.full((2, 2), 0.5), np.array([[1.0, 1.0], [5.0, 5.0]]),
                               np.stack([np.eye(2), 2 * np.eye(2)]))
    st = he.HMMStats(sum_dd=np.stack([np.eye(2) * 4.0, np.zeros((2, 2))]), **base)
    with pytest.warns(EmptyComponentWarning, match="zero expected visits"):
        new = he.hmm_m_step(st, old_params=old)
    np.testing.assert_allclose(new.mu[1], old.mu[1])
    np.testing.assert_allclose(new.Sigma[1], old.Sigma[1])
    np.testing.assert_allclose(new.A[:, 1], old.A[:, 1])            # state 1 never left: column kept
    st = he.HMMStats(sum_dd=np.stack([np.diag([4.0, 1e-9]), np.zeros((2, 2))]), **base)
    with pytest.warns(CovarianceFloorWarning, match="reg_covar"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmptyComponentWarning)
            new = he.hmm_m_step(st, reg_covar=1e-3, old_params=old)
    assert np.linalg.eigvalsh(new.Sigma[0]).min() == pytest.approx(1e-3)
    with pytest.raises(FloatingPointError, match="singular"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmptyComponentWarning)
            he.hmm_m_step(st._replace(sum_dd=np.zeros((2, 2, 2))), old_params=old)


# --------------------------------------------------------------------------- validation

@pytest.fixture(scope="module")
def prob():
    rng = np.random.default_rng(0)
    g = random_gaussian_hmm(rng, 2, 2)
    c = random_categorical_hmm(rng, 2, 3)
    y = sample_sequences(rng, g, [10])[0]
    s = sample_sequences(rng, c, [10])[0]
    return g, c, y, s


def test_validation_of_y(prob):
    g, c, y, s = prob
    with pytest.raises(ValueError, match="at least one sequence"):
        he.fit_hmm([], 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"y must be a 2-D array of shape \(T, D\)"):
        he.fit_hmm(np.zeros(5), 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"y\[1\] must have at least one time step"):
        he.fit_hmm([y, np.zeros((0, 2))], 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"y\[1\] must have D = 2 columns"):
        he.fit_hmm([y, np.zeros((4, 3))], 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="y must be finite"):
        he.fit_hmm(np.full((4, 2), np.nan), 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="non-empty 1-D array of symbols"):
        he.fit_hmm(np.zeros((3, 2), dtype=int), 2, emission="categorical", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="integer symbols"):
        he.fit_hmm(np.array([0.0, 1.0]), 2, emission="categorical", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="non-negative integer symbols"):
        he.fit_hmm(np.array([0, -1]), 2, emission="categorical", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"symbols in 0..2 \(V = 3\); y\[1\] = 3"):
        he.hmm_suff_stats(c, np.array([0, 3]))
    with pytest.raises(ValueError, match="K must be at most the number of observations"):
        he.fit_hmm(y[:3], 5, rng=np.random.default_rng(0))


def test_validation_of_params(prob):
    g, c, y, s = prob
    with pytest.raises(TypeError, match="GaussianHMMParams or CategoricalHMMParams"):
        he.hmm_suff_stats((g.pi, g.A), y)
    with pytest.raises(ValueError, match="params.pi must sum to 1"):
        he.hmm_suff_stats(g._replace(pi=np.array([0.5, 0.6])), y)
    with pytest.raises(ValueError, match="params.A must be column-stochastic.*from_row_stochastic"):
        he.hmm_suff_stats(g._replace(A=np.array([[0.9, 0.1], [0.3, 0.7]])), y)
    with pytest.raises(ValueError, match=r"params.A must have shape \(K, K\)"):
        he.hmm_suff_stats(g._replace(A=np.eye(3)), y)
    with pytest.raises(ValueError, match=r"params.mu must have shape \(K, D\)"):
        he.hmm_suff_stats(g._replace(mu=np.zeros((3, 2))), y)
    with pytest.raises(ValueError, match=r"params.Sigma must have shape \(K, D, D\)"):
        he.hmm_suff_stats(g._replace(Sigma=np.eye(2)), y)
    with pytest.raises(ValueError, match=r"params.Sigma\[1\] is not symmetric positive definite"):
        he.hmm_suff_stats(g._replace(Sigma=np.stack([np.eye(2), -np.eye(2)])), y)
    with pytest.raises(ValueError, match=r"params.B must have shape \(V, K\)"):
        he.hmm_suff_stats(c._replace(B=np.full((3, 3), 1 / 3)), s)
    with pytest.raises(ValueError, match="params.B must be non-negative"):
        he.hmm_suff_stats(c._replace(B=np.array([[1.2, 0.5], [-0.2, 0.5], [0.0, 0.0]])), s)
    with pytest.raises(ValueError, match="params.B must be column-stochastic"):
        he.hmm_suff_stats(c._replace(B=np.full((3, 2), 0.5)), s)
    with pytest.raises(ValueError, match=r"y must have D = 2 columns"):
        he.hmm_suff_stats(g, np.zeros((4, 3)))
    B0 = np.array([[0.5, 0.5], [0.5, 0.5], [0.0, 0.0]])          # symbol 2 is impossible in every state
    with pytest.raises(ValueError, match="probability zero under the model"):
        he.hmm_suff_stats(c._replace(B=B0), np.array([0, 2, 1]))
    with pytest.raises(ValueError, match="return_pairwise must be one of"):
        he.hmm_posterior(g, y, return_pairwise="all")


def test_validation_of_fit_arguments(prob):
    g, c, y, s = prob
    with pytest.raises(ValueError, match="emission must be one of"):
        he.fit_hmm(y, 2, emission="poisson", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="backend must be one of"):
        he.fit_hmm(y, 2, backend="jax", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="K must be at least 1"):
        he.fit_hmm(y, 0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="max_iter must be at least 1"):
        he.fit_hmm(y, 2, max_iter=0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="tol must be non-negative"):
        he.fit_hmm(y, 2, tol=-1.0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_restarts must be at least 1"):
        he.fit_hmm(y, 2, n_restarts=0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="reg_covar must be a scalar"):
        he.fit_hmm(y, 2, reg_covar=[1e-6], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="reg_covar must be non-negative"):
        he.fit_hmm(y, 2, reg_covar=-1.0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        he.fit_hmm(y, 2)
    with pytest.raises(ValueError, match="init must match emission = 'categorical'"):
        he.fit_hmm(s, 2, emission="categorical", init=g)
    with pytest.raises(ValueError, match="init must have K = 3 states"):
        he.fit_hmm(y, 3, init=g)
    with pytest.raises(ValueError, match="n_restarts must be 1 when init is given"):
        he.fit_hmm(y, 2, init=g, n_restarts=2)
    with pytest.raises(ValueError, match=r"V must equal init.B.shape\[0\] = 3"):
        he.fit_hmm(s, 2, emission="categorical", init=c, V=4)
    with pytest.raises(ValueError, match="V must be at least 1"):
        he.fit_hmm(s, 2, emission="categorical", V=0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"init.A must be column-stochastic"):
        he.fit_hmm(y, 2, init=g._replace(A=np.full((2, 2), 0.3)))


def test_validation_of_stats_and_m_step(prob):
    g, c, y, s = prob
    st = he.hmm_suff_stats(g, y)
    sc = he.hmm_suff_stats(c, s)
    with pytest.raises(TypeError, match="stats must be an HMMStats"):
        he.hmm_m_step({"N_k": st.N_k})
    with pytest.raises(ValueError, match=r"stats.xi_sum must be a 2-D array"):
        he.hmm_m_step(st._replace(xi_sum=np.zeros(2)))
    with pytest.raises(ValueError, match=r"stats.xi_sum must have shape \(K, K\)"):
        he.hmm_m_step(st._replace(xi_sum=np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"stats.gamma_1 must have shape \(K,\)"):
        he.hmm_m_step(st._replace(gamma_1=np.ones(3)))
    with pytest.raises(ValueError, match=r"stats.N_k must be non-negative"):
        he.hmm_m_step(st._replace(N_k=np.array([1.0, -1.0])))
    with pytest.raises(ValueError, match="stats.n_seq must be at least 1"):
        he.hmm_m_step(st._replace(n_seq=0))
    with pytest.raises(ValueError, match="stats.gamma_1 must have a positive sum"):
        he.hmm_m_step(st._replace(gamma_1=np.zeros(2)))
    with pytest.raises(ValueError, match="either counts .* or sum_d, sum_dd and mu_ref"):
        he.hmm_m_step(st._replace(sum_d=None))
    with pytest.raises(ValueError, match=r"stats.sum_dd must have shape \(K, D, D\)"):
        he.hmm_m_step(st._replace(sum_dd=np.zeros((2, 2))))
    with pytest.raises(ValueError, match=r"stats.N_k must have shape \(K,\)"):
        he.hmm_m_step(st._replace(N_k=np.ones(3)))
    with pytest.raises(ValueError, match=r"stats.mu_ref must have shape \(K, D\)"):
        he.hmm_m_step(st._replace(mu_ref=np.zeros((3, 2))))
    with pytest.raises(ValueError, match=r"stats.sum_d must have shape \(K, D\)"):
        he.hmm_m_step(st._replace(sum_d=np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"stats.counts must have shape \(V, K\)"):
        he.hmm_m_step(sc._replace(counts=np.zeros((3, 3))))
    with pytest.raises(ValueError, match=r"stats.counts must be non-negative"):
        he.hmm_m_step(sc._replace(counts=-sc.counts))
    with pytest.raises(ValueError, match="old_params must have the same number of states K and the same emission"):
        he.hmm_m_step(st, old_params=c)
    with pytest.raises(ValueError, match="params must have K = 2 states and the emission family of stats"):
        he.hmm_expected_log_joint(c, st)
    with pytest.raises(ValueError, match="params.mu must have D = 2 columns like stats.mu_ref"):
        he.hmm_expected_log_joint(g._replace(mu=np.zeros((2, 3)), Sigma=np.stack([np.eye(3)] * 2)), st)
    with pytest.raises(ValueError, match="params.B must have V = 3 rows like stats.counts"):
        he.hmm_expected_log_joint(c._replace(B=np.full((2, 2), 0.5)), sc)
    with pytest.raises(ValueError, match="T must be at least 1"):
        he.hmm_sample(np.random.default_rng(0), g, 0)
