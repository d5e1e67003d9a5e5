"""Tests for pedagogy_lib.recursions: the generic filter/smoother of Section 2.2.

Oracles (all independent of the code under test and written here):
* categorical backend: enumeration of all K**T state paths of Eq. 2.35;
* Gaussian backend: dense conditioning (Schur complements with numpy.linalg.solve) of the joint
  Gaussian of all states and observations, built here from the model equations;
* peer libraries: hmmlearn (row-stochastic transmat_ = A^T) and pykalman.
"""
from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from pedagogy_lib.recursions import generic as R
from pedagogy_lib.gaussian.blocks import Gaussian

CAT, GAUSS = R.CATEGORICAL, R.GAUSSIAN


# ------------------------------------------------------------------------------------------
# Problem generators
# ------------------------------------------------------------------------------------------
def random_hmm(rng, K, T, L=3):
    """pi, column-stochastic A (A[i, j] = p(x_t=i | x_{t-1}=j)), emission C (L, K), symbols y."""
    pi = rng.dirichlet(np.ones(K))
    A = rng.dirichlet(np.ones(K), size=K).T
    C = rng.dirichlet(np.ones(L), size=K).T
    y = rng.integers(0, L, size=T)
    return pi, A, C, y


def random_ssm(rng, K=2, L=2, T=4, controls=False):
    def spd(n, scale):
        M = rng.normal(size=(n, n))
        return scale * (M @ M.T / n + 0.3 * np.eye(n))

    p = dict(mu_1=rng.normal(size=K), Sigma_1=spd(K, 1.0), A=0.9 * rng.normal(size=(K, K)) / np.sqrt(K),
             Sigma_x=spd(K, 0.3), C=rng.normal(size=(L, K)), c=rng.normal(size=L), Sigma_y_x=spd(L, 0.5),
             y=rng.normal(size=(T, L)), a=rng.normal(size=K))
    if controls:
        p["B"] = rng.normal(size=(K, 2))
        p["u"] = rng.normal(size=(T, 2))
    return p


# ------------------------------------------------------------------------------------------
# Oracle 1: enumeration of all K**T paths
# ------------------------------------------------------------------------------------------
class Enum:
    def __init__(self, pi, A, log_lik):
        T, K = log_lik.shape
        self.T, self.K = T, K
        self.paths = np.array(list(itertools.product(range(K), repeat=T)))       # (K**T, T)
        lp = np.log(pi)[self.paths[:, 0]]
        for t in range(1, T):
            lp = lp + np.log(A[self.paths[:, t], self.paths[:, t - 1]])           # column-stochastic A
        self.log_chain = lp
        ll = log_lik[np.arange(T)[None, :], self.paths]                            # (K**T, T)
        self.cum = np.concatenate([np.zeros((len(lp), 1)), np.cumsum(ll, axis=1)], axis=1)  # cum[:, t] = sum_{s<t}

    def _weights(self, n_obs):
        lw = self.log_chain + self.cum[:, n_obs]
        m = lw.max()
        return np.exp(lw - m), m + np.log(np.exp(lw - m).sum())

    def marginal(self, t, n_obs):
        w, _ = self._weights(n_obs)
        out = np.bincount(self.paths[:, t], weights=w, minlength=self.K)
        return out / out.sum()

    def log_evidence(self, n_obs):
        return self._weights(n_obs)[1]

    def pair(self, t):
        """P[j, i] = p(x_t = j, x_{t-1} = i | y_{1:T}) (0-based t >= 1; later state first)."""
        w, _ = self._weights(self.T)
        P = np.zeros((self.K, self.K))
        np.add.at(P, (self.paths[:, t], self.paths[:, t - 1]), w)
        return P / P.sum()

    def seq_posterior(self):
        w, _ = self._weights(self.T)
        return w / w.sum()


def cat_problem(seed, K, T):
    rng = np.random.default_rng(seed)
    pi, A, C, y = random_hmm(rng, K, T)
    log_lik = R.categorical_log_lik(C, y)
    return pi, A, log_lik, R.categorical_chain(pi, A, log_lik), Enum(pi, A, log_lik)


CAT_CASES = [(0, 2, 1), (1, 2, 4), (2, 3, 5), (3, 4, 3)]


@pytest.mark.parametrize("seed,K,T", CAT_CASES)
def test_categorical_filter_matches_enumeration(seed, K, T):
    _, _, _, chain, enum = cat_problem(seed, K, T)
    f = R.forward_filter(CAT, chain)
    for t in range(T):
        np.testing.assert_allclose(f.predicted[t], enum.marginal(t, t), atol=1e-12)
        np.testing.assert_allclose(f.filtered[t], enum.marginal(t, t + 1), atol=1e-12)
        # per-step normalizer: log p(y_{1:t}) - log p(y_{1:t-1})
        np.testing.assert_allclose(f.log_normalizers[t], enum.log_evidence(t + 1) - enum.log_evidence(t), atol=1e-12)
    np.testing.assert_allclose(f.log_evidence, enum.log_evidence(T), atol=1e-12)


@pytest.mark.parametrize("seed,K,T", CAT_CASES)
def test_categorical_smoother_matches_enumeration(seed, K, T):
    _, _, _, chain, enum = cat_problem(seed, K, T)
    f = R.forward_filter(CAT, chain)
    s = R.backward_smoother(CAT, f.filtered, chain.transitions)
    for t in range(T):
        np.testing.assert_allclose(s.smoothed[t], enum.marginal(t, T), atol=1e-12)
    for t in range(1, T):
        P = enum.pair(t)
        np.testing.assert_allclose(s.pairwise[t - 1], P, atol=1e-12)
        # the pairwise smoother marginalizes to both single-state smoothers
        np.testing.assert_allclose(s.pairwise[t - 1].sum(axis=1), s.smoothed[t], atol=1e-12)
        np.testing.assert_allclose(s.pairwise[t - 1].sum(axis=0), s.smoothed[t - 1], atol=1e-12)
        # future conditioning = p(x_{t-1} | x_t, y_{1:T}) by enumeration (first equality of Eq. 2.38)
        np.testing.assert_allclose(s.backward[t - 1], (P / P.sum(axis=1, keepdims=True)).T, atol=1e-12)


@pytest.mark.parametrize("seed,K,T", CAT_CASES)
def test_smoother_equals_filter_at_T(seed, K, T):
    _, _, _, chain, _ = cat_problem(seed, K, T)
    f = R.forward_filter(CAT, chain)
    s = R.backward_smoother(CAT, f.filtered, chain.transitions)
    np.testing.assert_array_equal(s.smoothed[-1], f.filtered[-1])


@pytest.mark.parametrize("seed,K,T", CAT_CASES)
def test_data_marginal_recursion(seed, K, T):
    """MARGINALIZE on fragment B gives the same factors as the measurement-update normalizers."""
    _, _, _, chain, enum = cat_problem(seed, K, T)
    f = R.forward_filter(CAT, chain)
    d = R.data_marginals(CAT, f.predicted, chain.emissions)
    np.testing.assert_allclose(d, f.log_normalizers, atol=1e-13)
    np.testing.assert_allclose(d.sum(), enum.log_evidence(T), atol=1e-12)


@pytest.mark.parametrize("seed,K,T", CAT_CASES)
def test_sequence_posterior_product_of_sixth_operation_factors(seed, K, T):
    _, _, _, chain, enum = cat_problem(seed, K, T)
    f = R.forward_filter(CAT, chain)
    s = R.backward_smoother(CAT, f.filtered, chain.transitions)
    factors = R.sequence_posterior(CAT, s.smoothed, s.backward)
    assert len(factors) == T
    prob = factors[0][enum.paths[:, 0]]
    for t in range(1, T):
        G = factors[t]
        np.testing.assert_allclose(G.sum(axis=0), 1.0, atol=1e-12)        # column-stochastic
        prob = prob * G[enum.paths[:, t], enum.paths[:, t - 1]]
        # the factor equals p(x_t | x_{t-1}, y_{1:T}) by enumeration
        P = enum.pair(t)
        np.testing.assert_allclose(G, P / P.sum(axis=0, keepdims=True), atol=1e-12)
    np.testing.assert_allclose(prob, enum.seq_posterior(), atol=1e-12)


def test_sixth_factor_ignores_past_observations():
    """p(x_t | x_{t-1}, y_{1:T}) = p(x_t | x_{t-1}, y_{t:T}): changing y_{1:t-1} leaves factor t unchanged."""
    rng = np.random.default_rng(7)
    K, T, t = 3, 5, 3
    pi, A, C, y = random_hmm(rng, K, T)
    y2 = y.copy()
    y2[:t] = (y[:t] + 1) % C.shape[0]
    out = []
    for yy in (y, y2):
        ch = R.categorical_chain(pi, A, R.categorical_log_lik(C, yy))
        f = R.forward_filter(CAT, ch)
        s = R.backward_smoother(CAT, f.filtered, ch.transitions)
        out.append(R.sequence_posterior(CAT, s.smoothed, s.backward))
    np.testing.assert_allclose(out[0][t], out[1][t], atol=1e-12)
    assert not np.allclose(out[0][t - 1], out[1][t - 1])    # an earlier factor does see y_{t-1}


def test_sequence_sampling_matches_smoother():
    """Ancestral sampling from the factors reproduces gamma_t (5 standard errors, fixed seed)."""
    rng = np.random.default_rng(11)
    _, _, _, chain, _ = cat_problem(5, 3, 4)
    f = R.forward_filter(CAT, chain)
    s = R.backward_smoother(CAT, f.filtered, chain.transitions)
    factors = R.sequence_posterior(CAT, s.smoothed, s.backward)
    N = 4000
    x = np.empty((N, 4), dtype=int)
    x[:, 0] = rng.choice(3, size=N, p=factors[0])
    for t in range(1, 4):
        cdf = np.cumsum(factors[t][:, x[:, t - 1]], axis=0)                 # (K, N)
        x[:, t] = np.minimum((rng.random(N)[None, :] > cdf).sum(axis=0), 2)
    for t in range(4):
        freq = np.bincount(x[:, t], minlength=3) / N
        se = np.sqrt(s.smoothed[t] * (1 - s.smoothed[t]) / N)
        assert np.all(np.abs(freq - s.smoothed[t]) <= 5 * se + 1e-12)


def test_categorical_T1_is_a_single_bayes_inversion():
    pi = np.array([0.2, 0.5, 0.3])
    lik = np.array([0.9, 0.1, 0.4])
    chain = R.categorical_chain(pi, np.eye(3), np.log(lik)[None, :])
    f = R.forward_filter(CAT, chain)
    np.testing.assert_allclose(f.filtered[0], pi * lik / (pi @ lik), atol=1e-15)
    np.testing.assert_allclose(f.log_evidence, np.log(pi @ lik), atol=1e-15)
    s = R.backward_smoother(CAT, f.filtered, chain.transitions)
    assert s.pairwise == [] and s.backward == []
    assert len(R.sequence_posterior(CAT, s.smoothed, s.backward)) == 1


def test_categorical_backend_operations_by_hand():
    p = np.array([0.25, 0.75])
    M = np.array([[0.5, 0.1], [0.5, 0.0], [0.0, 0.9]])      # 3 emission values, 2 sources; e=... column-stochastic
    m = CAT.marginalize(p, M)
    np.testing.assert_allclose(m.marginal, [0.125 + 0.075, 0.125, 0.675])
    np.testing.assert_allclose(m.joint, [[0.125, 0.125, 0.0], [0.075, 0.0, 0.675]])
    inv = CAT.bayes_invert(p, M)
    np.testing.assert_allclose(inv.posterior[:, 0], [0.125 / 0.2, 0.075 / 0.2])
    np.testing.assert_allclose(inv.posterior[:, 1], [1.0, 0.0])
    np.testing.assert_allclose(inv.posterior[:, 2], [0.0, 1.0])
    assert inv.log_normalizer is None
    # an emission value of probability zero gets the prior as its (arbitrary) column
    M0 = np.array([[0.5, 0.5], [0.5, 0.5], [0.0, 0.0]])
    np.testing.assert_allclose(CAT.bayes_invert(p, M0).posterior[:, 2], p)
    # -inf log-likelihood entries are allowed
    obs = CAT.bayes_invert(p, R.LogLikelihood(np.array([-np.inf, np.log(0.5)])))
    np.testing.assert_allclose(obs.posterior, [0.0, 1.0])
    np.testing.assert_allclose(obs.log_normalizer, np.log(0.375))
    np.testing.assert_allclose(CAT.marginalize(p, R.LogLikelihood(np.log([0.2, 0.4]))).marginal, np.log(0.35))


def test_long_sequence_no_underflow():
    """Per-step normalization keeps T = 3000 finite (an unnormalized alpha would underflow)."""
    rng = np.random.default_rng(3)
    pi, A, C, _ = random_hmm(rng, 2, 1, L=4)
    y = rng.integers(0, 4, size=3000)
    ll = R.categorical_log_lik(C, y)
    f = R.forward_filter(CAT, R.categorical_chain(pi, A, ll))
    assert np.isfinite(f.log_evidence) and f.log_evidence < -1000
    assert all(np.all(np.isfinite(p)) for p in f.filtered)


def test_hmmlearn_cross_check():
    hmm = pytest.importorskip("hmmlearn.hmm")
    rng = np.random.default_rng(4)
    K, T, L = 3, 12, 4
    pi, A, C, y = random_hmm(rng, K, T, L)
    model = hmm.CategoricalHMM(n_components=K, n_features=L, init_params="", params="")
    model.startprob_, model.transmat_, model.emissionprob_ = pi, A.T, C.T   # hmmlearn is row-stochastic
    logprob, post = model.score_samples(y.reshape(-1, 1))
    chain = R.categorical_chain(pi, A, R.categorical_log_lik(C, y))
    f = R.forward_filter(CAT, chain)
    s = R.backward_smoother(CAT, f.filtered, chain.transitions)
    np.testing.assert_allclose(f.log_evidence, logprob, atol=1e-10)
    np.testing.assert_allclose(np.array(s.smoothed), post, atol=1e-10)


# ------------------------------------------------------------------------------------------
# Oracle 2: the dense joint Gaussian of x_{1:T}, y_{1:T}
# ------------------------------------------------------------------------------------------
class Dense:
    """Stacked z = [x_1, ..., x_T, y_1, ..., y_T]; conditioning by Schur complements."""

    def __init__(self, mu_1, Sigma_1, A, Sigma_x, C, c, Sigma_y_x, y, a, B=None, u=None):
        T, L = y.shape
        K = mu_1.shape[0]
        self.T, self.K, self.L, self.y = T, K, L, y
        offs = np.tile(a, (T, 1)) + (u @ B.T if B is not None else 0.0)
        # x = Lb e with e_1 = x_1, e_t = A-noise + offset: Lb[t, s] = A^(t - s)
        Lb = np.zeros((T * K, T * K))
        for t in range(T):
            for s in range(t + 1):
                Lb[t * K:(t + 1) * K, s * K:(s + 1) * K] = np.linalg.matrix_power(A, t - s)
        e_mean = np.concatenate([mu_1] + [offs[t - 1] for t in range(1, T)])
        e_cov = np.zeros((T * K, T * K))
        for t in range(T):
            e_cov[t * K:(t + 1) * K, t * K:(t + 1) * K] = Sigma_1 if t == 0 else Sigma_x
        mx, Sxx = Lb @ e_mean, Lb @ e_cov @ Lb.T
        Cb = np.kron(np.eye(T), C)
        my = Cb @ mx + np.tile(c, T)
        Syy = Cb @ Sxx @ Cb.T + np.kron(np.eye(T), Sigma_y_x)
        self.mu = np.concatenate([mx, my])
        self.Sigma = np.block([[Sxx, Sxx @ Cb.T], [Cb @ Sxx, Syy]])

    def xi(self, t):
        return list(range(t * self.K, (t + 1) * self.K))

    def yi(self, t):
        base = self.T * self.K
        return list(range(base + t * self.L, base + (t + 1) * self.L))

    def cond(self, target, observed, value):
        a, b = np.array(target), np.array(observed, dtype=int)
        if b.size == 0:
            return self.mu[a], self.Sigma[np.ix_(a, a)]
        Sbb = self.Sigma[np.ix_(b, b)]
        Sab = self.Sigma[np.ix_(a, b)]
        m = self.mu[a] + Sab @ np.linalg.solve(Sbb, value - self.mu[b])
        S = self.Sigma[np.ix_(a, a)] - Sab @ np.linalg.solve(Sbb, Sab.T)
        return m, S

    def given_y(self, target, n_obs):
        obs = sum((self.yi(s) for s in range(n_obs)), [])
        return self.cond(target, obs, self.y[:n_obs].ravel())

    def log_evidence(self, n_obs):
        obs = sum((self.yi(s) for s in range(n_obs)), [])
        if not obs:
            return 0.0
        return multivariate_normal(self.mu[obs], self.Sigma[np.ix_(obs, obs)]).logpdf(self.y[:n_obs].ravel())


def gauss_problem(seed, K=2, L=2, T=4, controls=False):
    p = random_ssm(np.random.default_rng(seed), K, L, T, controls)
    return p, R.gaussian_chain(**p), Dense(**p)


GAUSS_CASES = [(0, 2, 1, 1, False), (1, 2, 2, 4, False), (2, 3, 1, 5, True), (3, 1, 3, 3, True)]


@pytest.mark.parametrize("seed,K,L,T,controls", GAUSS_CASES)
def test_gaussian_filter_matches_dense_conditioning(seed, K, L, T, controls):
    _, chain, D = gauss_problem(seed, K, L, T, controls)
    f = R.forward_filter(GAUSS, chain)
    for t in range(T):
        m, S = D.given_y(D.xi(t), t)
        np.testing.assert_allclose(f.predicted[t].mu, m, atol=1e-10)
        np.testing.assert_allclose(f.predicted[t].Sigma, S, atol=1e-10)
        m, S = D.given_y(D.xi(t), t + 1)
        np.testing.assert_allclose(f.filtered[t].mu, m, atol=1e-10)
        np.testing.assert_allclose(f.filtered[t].Sigma, S, atol=1e-10)
        np.testing.assert_allclose(f.log_normalizers[t], D.log_evidence(t + 1) - D.log_evidence(t), atol=1e-10)
    np.testing.assert_allclose(f.log_evidence, D.log_evidence(T), atol=1e-10)
    np.testing.assert_allclose(R.data_marginals(GAUSS, f.predicted, chain.emissions), f.log_normalizers, atol=1e-10)


@pytest.mark.parametrize("seed,K,L,T,controls", GAUSS_CASES)
def test_gaussian_smoother_matches_dense_conditioning(seed, K, L, T, controls):
    p, chain, D = gauss_problem(seed, K, L, T, controls)
    f = R.forward_filter(GAUSS, chain)
    s = R.backward_smoother(GAUSS, f.filtered, chain.transitions)
    np.testing.assert_array_equal(s.smoothed[-1].mu, f.filtered[-1].mu)        # base case (Section 2.2, the smoother's initialization)
    np.testing.assert_array_equal(s.smoothed[-1].Sigma, f.filtered[-1].Sigma)
    for t in range(T):
        m, S = D.given_y(D.xi(t), T)
        np.testing.assert_allclose(s.smoothed[t].mu, m, atol=1e-10)
        np.testing.assert_allclose(s.smoothed[t].Sigma, S, atol=1e-10)
    A = p["A"]
    for t in range(1, T):
        # pairwise smoother over [x_t; x_{t-1}]; top-right block is Eq. 2.55's cross-covariance
        m, S = D.given_y(D.xi(t) + D.xi(t - 1), T)
        np.testing.assert_allclose(s.pairwise[t - 1].mu, m, atol=1e-10)
        np.testing.assert_allclose(s.pairwise[t - 1].Sigma, S, atol=1e-10)
        J = s.backward[t - 1].C
        Ups_filt, Ups_pred = f.filtered[t - 1].Sigma, f.predicted[t].Sigma
        np.testing.assert_allclose(J, np.linalg.solve(Ups_pred, A @ Ups_filt).T, atol=1e-10)     # Eq. 2.53
        np.testing.assert_allclose(S[:K, K:], s.smoothed[t].Sigma @ J.T, atol=1e-10)               # Eq. 2.55
        # future-conditioned cumulants = dense p(x_{t-1} | x_t, y_{1:t-1}) (Eqs. 2.51 and 2.52), at a test x_t
        xt = np.linspace(-1, 1, K)
        obs = sum((D.yi(r) for r in range(t)), []) + D.xi(t)
        m, S = D.cond(D.xi(t - 1), obs, np.concatenate([D.y[:t].ravel(), xt]))
        bc = s.backward[t - 1]
        np.testing.assert_allclose(bc.C @ xt + bc.c, m, atol=1e-10)
        np.testing.assert_allclose(bc.Sigma, S, atol=1e-10)
        # ... and conditioning on the future observations too changes nothing (Eq. 2.38, first line)
        obs_all = sum((D.yi(r) for r in range(T)), []) + D.xi(t)
        m2, S2 = D.cond(D.xi(t - 1), obs_all, np.concatenate([D.y.ravel(), xt]))
        np.testing.assert_allclose(m2, m, atol=1e-10)
        np.testing.assert_allclose(S2, S, atol=1e-10)


@pytest.mark.parametrize("seed,K,L,T,controls", GAUSS_CASES[1:])
def test_gaussian_sequence_posterior_product(seed, K, L, T, controls):
    """Compose x_1 ~ gamma_1, x_t | x_{t-1} ~ factor t into one Gaussian = dense p(x_{1:T} | y_{1:T})."""
    _, chain, D = gauss_problem(seed, K, L, T, controls)
    f = R.forward_filter(GAUSS, chain)
    s = R.backward_smoother(GAUSS, f.filtered, chain.transitions)
    factors = R.sequence_posterior(GAUSS, s.smoothed, s.backward)
    mu, Sigma = factors[0].mu, factors[0].Sigma
    for t in range(1, T):
        G, g, W = factors[t]
        prev = slice((t - 1) * K, t * K)
        mu_new = G @ mu[prev] + g
        cross = Sigma[:, prev] @ G.T                          # Cov[x_{1:t-1}, x_t]
        Sigma = np.block([[Sigma, cross], [cross.T, G @ Sigma[prev, prev] @ G.T + W]])
        mu = np.concatenate([mu, mu_new])
    m, S = D.given_y(list(range(T * K)), T)
    np.testing.assert_allclose(mu, m, atol=1e-10)
    np.testing.assert_allclose(Sigma, S, atol=1e-10)


def test_pykalman_cross_check():
    pk = pytest.importorskip("pykalman")
    p = random_ssm(np.random.default_rng(9), K=2, L=2, T=8)
    kf = pk.KalmanFilter(transition_matrices=p["A"], observation_matrices=p["C"],
                         transition_covariance=p["Sigma_x"], observation_covariance=p["Sigma_y_x"],
                         transition_offsets=p["a"], observation_offsets=p["c"],
                         initial_state_mean=p["mu_1"], initial_state_covariance=p["Sigma_1"])
    m_f, S_f = kf.filter(p["y"])
    m_s, S_s = kf.smooth(p["y"])
    chain = R.gaussian_chain(**p)
    f = R.forward_filter(GAUSS, chain)
    s = R.backward_smoother(GAUSS, f.filtered, chain.transitions)
    np.testing.assert_allclose(np.array([g.mu for g in f.filtered]), m_f, atol=1e-8)
    np.testing.assert_allclose(np.array([g.Sigma for g in f.filtered]), S_f, atol=1e-8)
    np.testing.assert_allclose(np.array([g.mu for g in s.smoothed]), m_s, atol=1e-8)
    np.testing.assert_allclose(np.array([g.Sigma for g in s.smoothed]), S_s, atol=1e-8)
    np.testing.assert_allclose(f.log_evidence, kf.loglikelihood(p["y"]), atol=1e-8)


def test_gaussian_backend_operations_are_section_2_1_2():
    """Time update = Eq. 2.48 and measurement update = Eq. 2.47 written out by hand."""
    rng = np.random.default_rng(5)
    p = random_ssm(rng, K=2, L=3, T=1)
    prior = Gaussian(p["mu_1"], p["Sigma_1"])
    A, Q, C, c, Rn, y = p["A"], p["Sigma_x"], p["C"], p["c"], p["Sigma_y_x"], p["y"][0]
    pred = R.time_update(GAUSS, prior, R.AffineGaussian(A, p["a"], Q))
    np.testing.assert_allclose(pred.mu, A @ prior.mu + p["a"], atol=1e-12)
    np.testing.assert_allclose(pred.Sigma, A @ prior.Sigma @ A.T + Q, atol=1e-12)
    upd = R.measurement_update(GAUSS, pred, R.Observed(R.AffineGaussian(C, c, Rn), y))
    Sy = C @ pred.Sigma @ C.T + Rn
    Kt = pred.Sigma @ C.T @ np.linalg.inv(Sy)
    np.testing.assert_allclose(upd.posterior.mu, pred.mu + Kt @ (y - C @ pred.mu - c), atol=1e-10)
    np.testing.assert_allclose(upd.posterior.Sigma, pred.Sigma - Kt @ C @ pred.Sigma, atol=1e-10)
    np.testing.assert_allclose(upd.log_normalizer, multivariate_normal(C @ pred.mu + c, Sy).logpdf(y), atol=1e-10)


# ------------------------------------------------------------------------------------------
# The smoother never touches the emissions (Section 2.2, after Eq. 2.39)
# ------------------------------------------------------------------------------------------
def _guarded(backend, log):
    """A backend that records every call and refuses observed emissions once ``log['locked']``."""
    def wrap(op, name):
        def f(prior, conditional):
            observed = isinstance(conditional, (R.LogLikelihood, R.Observed))
            if observed and log["locked"]:
                raise RuntimeError(f"{name} touched an emission during the backward pass")
            log["calls"].append((name, observed))
            return op(prior, conditional)
        return f
    return R.Backend(backend.name + "-guarded", wrap(backend.marginalize, "marginalize"),
                     wrap(backend.bayes_invert, "bayes_invert"))


@pytest.mark.parametrize("which", ["categorical", "gaussian"])
def test_smoother_never_touches_emissions(which):
    if which == "categorical":
        chain, base = cat_problem(0, 3, 5)[3], CAT
    else:
        chain, base = gauss_problem(1, 2, 2, 5)[1], GAUSS
    assert "emissions" not in inspect.signature(R.backward_smoother).parameters
    log = {"locked": False, "calls": []}
    be = _guarded(base, log)
    f = R.forward_filter(be, chain)
    assert sum(obs for _, obs in log["calls"]) == 5                 # exactly one per measurement update
    log["locked"], log["calls"] = True, []
    s = R.backward_smoother(be, f.filtered, chain.transitions)   # would raise if an emission were used
    R.sequence_posterior(be, s.smoothed, s.backward)
    assert log["calls"] and not any(obs for _, obs in log["calls"])
    # the guard really works: the forward pass now fails
    with pytest.raises(RuntimeError, match="touched an emission"):
        R.forward_filter(be, chain)


# ------------------------------------------------------------------------------------------
# Validation: one test per message
# ------------------------------------------------------------------------------------------
_pi, _A = np.array([0.5, 0.5]), np.eye(2)
_ll = np.zeros((3, 2))
_g = dict(mu_1=np.zeros(2), Sigma_1=np.eye(2), A=np.eye(2), Sigma_x=np.eye(2), C=np.eye(2), c=np.zeros(2),
          Sigma_y_x=np.eye(2), y=np.zeros((3, 2)))


def _gc(**kw):
    return lambda: R.gaussian_chain(**{**_g, **kw})


VALUE_ERRORS = [
    (lambda: CAT.marginalize(_pi, np.ones((2, 3)) / 2), r"conditional must have shape \(L, K\) with K = 2"),
    (lambda: CAT.marginalize(_pi, np.array([[0.5, 0.2], [0.5, 0.7]])), "conditional must be column-stochastic: column 1"),
    (lambda: CAT.bayes_invert(_pi, np.array([[0.5, 0.2], [0.5, 0.7], [0.0, 0.0]])), r"conditional\[:, 1\] must sum to 1"),
    (lambda: CAT.marginalize(_pi, R.LogLikelihood(np.array([0.0, np.nan]))), r"log_lik must be finite or -inf .* entry 1"),
    (lambda: CAT.bayes_invert(_pi, R.LogLikelihood(np.array([0.0, np.inf]))), "log_lik must be finite or -inf"),
    (lambda: CAT.marginalize(_pi, R.LogLikelihood(np.zeros(3))), r"log_lik must have shape \(K,\)"),
    (lambda: CAT.bayes_invert(np.array([1.0, 0.0]), R.LogLikelihood(np.array([-np.inf, 0.0]))),
     "the observation has zero probability"),
    (lambda: CAT.marginalize(np.array([0.5, 0.6]), _A), "prior must sum to 1"),
    (lambda: CAT.marginalize(np.ones((2, 2)) / 4, _A), "prior must be a 1-D array"),
    (lambda: R.forward_filter(CAT, R.Chain(_pi, [], [])), r"emissions must hold at least one observed emission"),
    (lambda: R.forward_filter(CAT, R.Chain(_pi, [_A], [R.LogLikelihood(np.zeros(2))])),
     r"transitions must hold T - 1 = 0 conditionals"),
    (lambda: R.backward_smoother(CAT, [], []), r"filtered must hold at least one distribution"),
    (lambda: R.backward_smoother(CAT, [_pi, _pi], []), r"transitions must hold T - 1 = 1 conditionals"),
    (lambda: R.data_marginals(CAT, [_pi], []), "predicted and emissions must have the same length"),
    (lambda: R.sequence_posterior(CAT, [_pi, _pi], []), r"backward must hold T - 1 = 1 conditionals"),
    (lambda: R.categorical_log_lik(np.array([[0.5, 0.5], [0.4, 0.5]]), [0]), r"C\[:, 0\] must sum to 1"),
    (lambda: R.categorical_log_lik(np.eye(2), [0.5, 1.0]), "y must be a non-empty 1-D array of integer symbols"),
    (lambda: R.categorical_log_lik(np.eye(2), [0, 2]), r"y must hold symbols in range\(L\) = range\(2\)"),
    (lambda: R.categorical_chain([0.5, 0.4], _A, _ll), "pi must sum to 1"),
    (lambda: R.categorical_chain(_pi, np.ones((3, 3)) / 3, _ll), r"A must have shape \(K, K\) = \(2, 2\)"),
    (lambda: R.categorical_chain(_pi, np.array([[0.9, 0.9], [0.1, 0.2]]), _ll), "A must be column-stochastic"),
    (lambda: R.categorical_chain(_pi, _A, np.zeros((3, 3))), r"log_lik must have shape \(T, K\) with T >= 1 and K = 2"),
    (lambda: R.categorical_chain(_pi, _A, np.zeros(2)), "log_lik must be a 2-D array"),
    (lambda: R.categorical_chain(_pi, _A, np.array([[0.0, 0.0], [np.nan, 0.0]])),
     r"log_lik must be finite or -inf .* entry \(1, 0\)"),
    (_gc(mu_1=np.zeros((2, 1))), "mu_1 must be a 1-D array"),
    (_gc(Sigma_1=-np.eye(2)), "Sigma_1 is not symmetric positive definite"),
    (_gc(A=np.eye(3)), r"A must have shape \(K, K\)"),
    (_gc(Sigma_x=np.array([[1.0, 2.0], [2.0, 1.0]])), "Sigma_x is not symmetric positive definite"),
    (_gc(C=np.eye(3)), r"C must have shape \(L, K\)"),
    (_gc(Sigma_y_x=np.array([[1.0, 0.5], [0.0, 1.0]])), "Sigma_y_x is not symmetric"),
    (_gc(y=np.zeros((3, 3))), r"y must have shape \(T, L\)"),
    (_gc(y=np.zeros((0, 2))), "y must hold at least one observation"),
    (_gc(a=np.zeros(3)), r"a must have shape \(K,\)"),
    (_gc(B=np.eye(2)), "B and u must be given together"),
    (_gc(B=np.ones((3, 1)), u=np.zeros((3, 1))), r"B must have shape \(K, M\) with K = 2"),
    (_gc(B=np.ones((2, 1)), u=np.zeros((2, 1))), r"u must have shape \(T, M\)"),
    (lambda: GAUSS.bayes_invert(Gaussian(np.zeros(2), np.eye(2)),
                                R.Observed(R.AffineGaussian(np.eye(2), np.zeros(2), np.eye(2)), np.zeros(3))),
     r"y must have shape \(L,\) or \(N, L\)"),
]


@pytest.mark.parametrize("fn,match", VALUE_ERRORS)
def test_value_errors(fn, match):
    with pytest.raises(ValueError, match=match):
        fn()


TYPE_ERRORS = [
    (lambda: R.forward_filter("categorical", R.Chain(_pi, [], [])), "backend must be a recursions.Backend"),
    (lambda: R.forward_filter(CAT, (_pi, [], [])), r"chain must be a recursions.Chain"),
    (lambda: GAUSS.marginalize((np.zeros(2), np.eye(2)), R.AffineGaussian(np.eye(2), np.zeros(2), np.eye(2))),
     "prior must be a gaussian.Gaussian"),
    (lambda: GAUSS.bayes_invert(Gaussian(np.zeros(2), np.eye(2)), np.eye(2)), "conditional must be an AffineGaussian"),
    (lambda: GAUSS.marginalize(Gaussian(np.zeros(2), np.eye(2)), R.Observed(np.eye(2), np.zeros(2))),
     "conditional must be an AffineGaussian"),
]


@pytest.mark.parametrize("fn,match", TYPE_ERRORS)
def test_type_errors(fn, match):
    with pytest.raises(TypeError, match=match):
        fn()


# --------------------------------------------------------------------------------------------
# Particle backend, held to the particle-filter module (pedagogy_lib.smc)
# --------------------------------------------------------------------------------------------
def _particle_problem(seed=3, T=12):
    from scipy import stats
    from pedagogy_lib.lgssm import LGSSMParams, sample_lgssm
    from pedagogy_lib.smc import StateSpaceModel

    params = LGSSMParams(np.zeros(2), np.eye(2), np.array([[0.9, 0.2], [-0.1, 0.8]]), None, np.zeros(2),
                         0.3 * np.eye(2), np.array([[1.0, 0.5]]), np.zeros(1), np.array([[0.4]]))
    _, y = sample_lgssm(params, T, rng=np.random.default_rng(seed))
    noise_x = stats.multivariate_normal(np.zeros(2), params.Sigma_x)
    noise_y = stats.multivariate_normal(np.zeros(1), params.Sigma_y_x)
    model = StateSpaceModel(
        sample_initial=lambda rng, I: rng.multivariate_normal(params.mu1, params.Sigma1, size=I),
        sample_transition=lambda rng, x, t: x @ params.A.T + rng.multivariate_normal(np.zeros(2), params.Sigma_x,
                                                                                       size=len(x)),
        log_lik=lambda y_t, x, t: noise_y.logpdf(y_t - x @ params.C.T).reshape(len(x)),
        log_transition=lambda xn, xp, t: noise_x.logpdf((xn[:, None, :] - (xp @ params.A.T)[None]).reshape(-1, 2))
        .reshape(len(xn), len(xp)))
    return params, model, y


def test_particle_backend_filter_is_the_particle_filter_without_resampling():
    from pedagogy_lib.smc import particle_filter

    _, model, y = _particle_problem()
    I = 64
    pf = particle_filter(model, y, np.random.default_rng(11), I, ess_threshold=0.0, backend="numpy")
    res = R.forward_filter(R.PARTICLES, R.particle_chain(model, y, np.random.default_rng(11), I))
    # Same generator, same draws in the same order: the supports agree exactly, the weights to rounding.
    assert not pf.resampled.any()
    for t in range(len(y)):
        np.testing.assert_allclose(res.filtered[t].x, pf.x[t], rtol=1e-13, atol=0)
        np.testing.assert_allclose(res.filtered[t].log_w, pf.log_alpha[t], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.log_normalizers, pf.log_evidence_steps, rtol=0, atol=1e-10)
    assert res.log_evidence == pytest.approx(pf.log_evidence, abs=1e-9)


def test_particle_backend_smoother_is_ffbsm():
    from pedagogy_lib.smc import ffbsm, particle_filter

    _, model, y = _particle_problem(seed=4, T=9)
    I = 40
    pf = particle_filter(model, y, np.random.default_rng(5), I, ess_threshold=0.0, backend="numpy")
    chain = R.particle_chain(model, y, np.random.default_rng(5), I)
    filt = R.forward_filter(R.PARTICLES, chain)
    sm = R.backward_smoother(R.PARTICLES, filt.filtered, chain.transitions)
    beta = ffbsm(model, pf)
    for t in range(len(y)):
        np.testing.assert_allclose(np.exp(sm.smoothed[t].log_w), beta[t], rtol=0, atol=1e-10)
    # The pairwise joints sum to the smoother at both ends (later state first).
    for t in range(len(y) - 1):
        P = sm.pairwise[t]
        np.testing.assert_allclose(P.sum(axis=1), np.exp(sm.smoothed[t + 1].log_w), atol=1e-12)
        np.testing.assert_allclose(P.sum(axis=0), np.exp(sm.smoothed[t].log_w), atol=1e-12)


@pytest.mark.slow
def test_particle_backend_approaches_the_kalman_smoother():
    # With many particles the smoothed means approach the exact (RTS) ones; tolerance from the
    # Monte Carlo standard error of a weighted mean, sqrt(Var / ESS), with a generous factor.
    from pedagogy_lib.lgssm import kalman_smoother

    params, model, y = _particle_problem(seed=6, T=6)
    exact = kalman_smoother(params, y)
    chain = R.particle_chain(model, y, np.random.default_rng(0), 2000)
    filt = R.forward_filter(R.PARTICLES, chain)
    sm = R.backward_smoother(R.PARTICLES, filt.filtered, chain.transitions)
    for t in range(len(y)):
        w = np.exp(sm.smoothed[t].log_w)
        mean = w @ sm.smoothed[t].x
        sd = np.sqrt(np.diag(exact.Upsilon_smooth[t]))
        ess = 1.0 / np.sum(w ** 2)
        np.testing.assert_array_less(np.abs(mean - exact.mu_smooth[t]), 5 * sd / np.sqrt(ess) + 1e-12)
    # Sequential importance sampling: the relative variance of the evidence estimate is about
    # (I / ESS - 1) / I with the ESS of the final importance weights; allow five standard errors.
    w_T = np.exp(filt.filtered[-1].log_w)
    I = w_T.size
    se_log = np.sqrt((I * np.sum(w_T ** 2) - 1.0) / I)
    assert abs(filt.log_evidence - exact.log_evidence) < 5 * se_log + 1e-3


def test_particle_sequence_conditionals_are_column_stochastic_and_consistent():
    _, model, y = _particle_problem(seed=8, T=5)
    chain = R.particle_chain(model, y, np.random.default_rng(2), 30)
    filt = R.forward_filter(R.PARTICLES, chain)
    sm = R.backward_smoother(R.PARTICLES, filt.filtered, chain.transitions)
    factors = R.sequence_posterior(R.PARTICLES, sm.smoothed, sm.backward)
    for t in range(1, len(y)):
        Rt = factors[t]                                        # [j, i] = p(x_t = j | x_{t-1} = i, y)
        np.testing.assert_allclose(Rt.sum(axis=0), 1.0, atol=1e-12)
        # Pushing the smoother at t-1 through it gives back the smoother at t (Eq. 2.39 reversed).
        np.testing.assert_allclose(Rt @ np.exp(sm.smoothed[t - 1].log_w), np.exp(sm.smoothed[t].log_w), atol=1e-10)


def test_particle_backend_errors():
    _, model, y = _particle_problem(T=3)
    with pytest.raises(TypeError, match="^filtered_prev must be a recursions.Particles"):
        R.time_update(R.PARTICLES, np.zeros(3), R.ParticleTransition(model.sample_transition, None, 1,
                                                                       np.random.default_rng(0)))
    p = R.Particles(np.zeros((4, 2)), np.full(4, -np.log(4)))
    with pytest.raises(ValueError, match=r"log_lik\(x\) must return shape \(I,\) = \(4,\)"):
        R.measurement_update(R.PARTICLES, p, R.ParticleLikelihood(lambda x: np.zeros(3)))
    with pytest.raises(ValueError, match="has collapsed"):
        R.measurement_update(R.PARTICLES, p, R.ParticleLikelihood(lambda x: np.full(4, -np.inf)))
    with pytest.raises(ValueError, match="log_density is None"):
        R.future_conditioning(R.PARTICLES, p, R.ParticleTransition(model.sample_transition, None, 1,
                                                                     np.random.default_rng(0)))
    with pytest.raises(TypeError, match="^transition must be a ParticleTransition"):
        R.time_update(R.PARTICLES, p, np.eye(4))
    with pytest.raises(ValueError, match="I must be an integer >= 1"):
        R.particle_chain(model, y, np.random.default_rng(0), 0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        R.particle_chain(model, y, 0, 5)
