"""Tests for pedagogy_lib.learning.objectives (book Chapter 4, Eqs. 4.1-4.6).

Oracles, each independent of the code under test:

* the marble game of Section 4.2, whose entropies are worked out by hand in the draft;
* ``scipy.stats.entropy`` (entropy and relative entropy), ``scipy.stats.multivariate_normal``
  (Gaussian entropy and log densities);
* Monte Carlo with ``rng.multivariate_normal`` and a tolerance of 5 standard errors (fixed seeds);
* the 1-D Gaussian relative-entropy formula written out by hand;
* maximum likelihood in closed form (relative frequencies; sample mean and 1/N covariance).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pedagogy_lib.learning import objectives as obj

N_SE = 5.0                                        # Monte Carlo tolerance: 5 standard errors, fixed seeds
P_MARBLE = [1 / 2, 1 / 4, 1 / 8, 1 / 8]           # Eq. 4.1
Q_MARBLE = [1 / 4, 1 / 4, 1 / 4, 1 / 4]           # Eq. 4.2


def random_simplex(rng, K):
    return rng.dirichlet(np.ones(K))


def random_spd(rng, D):
    A = rng.standard_normal((D, D))
    return A @ A.T / D + 0.3 * np.eye(D)


# ----------------------------------------------------------------------------------------------
# Discrete: the marble game (Section 4.2) and scipy
# ----------------------------------------------------------------------------------------------

def test_marble_game_numbers_in_bits():
    # The marble game's p and q (Eqs. 4.1-4.2): their entropies (Eq. 4.3) and cross entropies (Eq. 4.4).
    # Hand-computed in Section 4.2: 1.75, 2.0, 2.0 and 2.25 bits.
    assert obj.entropy(P_MARBLE, base=2) == pytest.approx(1.75, abs=1e-14)
    assert obj.entropy(Q_MARBLE, base=2) == pytest.approx(2.0, abs=1e-14)
    assert obj.cross_entropy(P_MARBLE, Q_MARBLE, base=2) == pytest.approx(2.0, abs=1e-14)
    assert obj.cross_entropy(Q_MARBLE, P_MARBLE, base=2) == pytest.approx(2.25, abs=1e-14)
    # Both relative entropies are 0.25 bits here (a coincidence of this example).
    both = obj.relative_entropies(P_MARBLE, Q_MARBLE, base=2)
    assert both.D_pq == pytest.approx(0.25, abs=1e-14)
    assert both.D_qp == pytest.approx(0.25, abs=1e-14)


def test_average_code_length_equals_entropy():
    # Prefix code A=1, B=01, C=001, D=000 (Section 4.2): average length under p is H_p in bits.
    lengths = np.array([1, 2, 3, 3])
    assert np.dot(P_MARBLE, lengths) == pytest.approx(obj.entropy(P_MARBLE, base=2))
    # The 2-bit code built for q costs H_pq = 2 bits under p.
    assert np.dot(P_MARBLE, [2, 2, 2, 2]) == pytest.approx(obj.cross_entropy(P_MARBLE, Q_MARBLE, base=2))


@pytest.mark.parametrize("K", [2, 3, 7])
@pytest.mark.parametrize("base", [None, 2.0, 10.0])
def test_against_scipy_entropy(K, base):
    rng = np.random.default_rng(K)
    for _ in range(20):
        p, q = random_simplex(rng, K), random_simplex(rng, K)
        assert obj.entropy(p, base=base) == pytest.approx(stats.entropy(p, base=base), rel=1e-12)   # Eq. 4.3
        assert obj.relative_entropy(p, q, base=base) == pytest.approx(stats.entropy(p, q, base=base), rel=1e-12)
        # Eq. 4.5: D_KL = H_pq - H_p, with the cross entropy of Eq. 4.4
        assert obj.cross_entropy(p, q, base=base) == pytest.approx(
            stats.entropy(p, q, base=base) + stats.entropy(p, base=base), rel=1e-12)


def test_relative_entropy_nonnegative_and_zero_iff_equal():
    rng = np.random.default_rng(1)
    for K in (2, 4, 9):
        for _ in range(50):
            p, q = random_simplex(rng, K), random_simplex(rng, K)
            both = obj.relative_entropies(p, q)
            assert both.D_pq > 0 and both.D_qp > 0            # p != q almost surely
            assert obj.cross_entropy(p, q) > obj.entropy(p)     # Gibbs's inequality (strict)
            assert obj.relative_entropy(p, p) == 0.0            # exactly zero for equal arguments
            assert obj.cross_entropy(p, p) == pytest.approx(obj.entropy(p), rel=1e-14)


def test_relative_entropy_is_asymmetric():
    p, q = np.array([0.9, 0.1]), np.array([0.5, 0.5])
    D_pq = 0.9 * np.log(0.9 / 0.5) + 0.1 * np.log(0.1 / 0.5)    # by hand
    D_qp = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)
    both = obj.relative_entropies(p, q)
    assert both.D_pq == pytest.approx(D_pq, rel=1e-14)
    assert both.D_qp == pytest.approx(D_qp, rel=1e-14)
    assert abs(both.D_pq - both.D_qp) > 0.1


def test_zero_probabilities():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.25, 0.5])
    assert obj.entropy(p) == pytest.approx(np.log(2))             # 0 log 0 = 0
    assert np.isfinite(obj.relative_entropy(p, q))
    assert obj.relative_entropy(q, p) == np.inf                   # q puts mass where p has none
    assert obj.cross_entropy(q, p) == np.inf


# ----------------------------------------------------------------------------------------------
# Gaussians: closed form vs scipy, vs the 1-D formula, vs Monte Carlo
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("D", [1, 2, 4])
def test_gaussian_entropy_matches_scipy(D):
    rng = np.random.default_rng(10 + D)
    mu, S = rng.standard_normal(D), random_spd(rng, D)
    assert obj.gaussian_entropy(mu, S) == pytest.approx(stats.multivariate_normal(mu, S).entropy(), rel=1e-12)


def test_gaussian_relative_entropy_1d_by_hand():
    m1, s1, m2, s2 = 0.3, 0.7, -1.1, 1.9
    by_hand = np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    assert obj.gaussian_relative_entropy([m1], [[s1**2]], [m2], [[s2**2]]) == pytest.approx(by_hand, rel=1e-13)
    assert obj.gaussian_relative_entropy([m1], [[s1**2]], [m1], [[s1**2]]) == 0.0


@pytest.mark.parametrize("D", [1, 3])
def test_gaussian_kl_both_directions_vs_monte_carlo(D):
    rng = np.random.default_rng(20 + D)
    mu_p, S_p = rng.standard_normal(D), random_spd(rng, D)
    mu_q, S_q = rng.standard_normal(D), random_spd(rng, D)
    N = 40_000
    for (ma, Sa), (mb, Sb) in [((mu_p, S_p), (mu_q, S_q)), ((mu_q, S_q), (mu_p, S_p))]:
        y = rng.multivariate_normal(ma, Sa, size=N)
        log_a = stats.multivariate_normal(ma, Sa).logpdf(y).reshape(N)
        log_b = stats.multivariate_normal(mb, Sb).logpdf(y).reshape(N)
        exact_kl = obj.gaussian_relative_entropy(ma, Sa, mb, Sb)
        exact_ce = obj.gaussian_cross_entropy(ma, Sa, mb, Sb)
        kl_mc = obj.sample_relative_entropy(log_a, log_b)
        ce_mc = obj.sample_cross_entropy(log_b)
        assert abs(kl_mc.value - exact_kl) < N_SE * kl_mc.std_error
        assert abs(ce_mc.value - exact_ce) < N_SE * ce_mc.std_error
        # Eq. 4.5 in closed form: H_pq = H_p + D_KL
        assert exact_ce == pytest.approx(obj.gaussian_entropy(ma, Sa) + exact_kl, rel=1e-12)
    assert obj.gaussian_relative_entropy(mu_p, S_p, mu_q, S_q) != pytest.approx(
        obj.gaussian_relative_entropy(mu_q, S_q, mu_p, S_p), rel=1e-3)


def test_sample_estimates_are_plain_averages():
    rng = np.random.default_rng(3)
    v = rng.standard_normal(50)
    est = obj.sample_cross_entropy(v)
    assert est.value == pytest.approx(-np.mean(v), rel=1e-14)
    assert est.std_error == pytest.approx(np.std(v, ddof=1) / np.sqrt(50), rel=1e-14)
    assert est.N == 50
    assert np.isnan(obj.sample_cross_entropy([0.3]).std_error)
    assert obj.sample_cross_entropy([-1.0, -np.inf]).value == np.inf


# ----------------------------------------------------------------------------------------------
# Eq. 4.6: maximum likelihood = minimum (sample) cross entropy
# ----------------------------------------------------------------------------------------------

def test_empirical_cross_entropy_equals_average_nll():
    rng = np.random.default_rng(4)
    K = 5
    y = rng.integers(0, K, size=300)
    p_data = obj.empirical_distribution(y, K)
    np.testing.assert_allclose(p_data, np.bincount(y, minlength=K) / 300, rtol=0, atol=0)
    q = random_simplex(rng, K)
    # With the empirical p, the "approx." line of Eq. 4.6 is an equality.
    assert obj.cross_entropy(p_data, q) == pytest.approx(obj.sample_cross_entropy(np.log(q[y])).value, rel=1e-12)


def _softmax0(theta):
    z = np.concatenate([[0.0], theta])
    return np.exp(z - z.max()) / np.exp(z - z.max()).sum()


def test_max_likelihood_reports_failure_when_not_stationary():
    # One iteration from far away cannot reach the optimum: success must say so.
    y = np.linspace(-1.0, 3.0, 40)
    res = obj.max_likelihood(lambda t, y: -0.5 * (y - t[0]) ** 2, np.array([50.0]), y, max_iter=1)
    assert not res.success and res.grad_norm > 1e-6


def test_max_likelihood_validates_grad():
    y = np.zeros(3)
    with pytest.raises(TypeError, match="grad must be a callable"):
        obj.max_likelihood(lambda t, y: -t[0] ** 2 + 0 * y, np.zeros(1), y, grad=3)
    with pytest.raises(ValueError, match=r"grad\(theta, y\) must return shape \(P,\) = \(1,\)"):
        obj.max_likelihood(lambda t, y: -t[0] ** 2 + 0 * y, np.zeros(1), y, grad=lambda t, y: np.zeros(2))
    with pytest.raises(ValueError, match="gtol"):
        obj.max_likelihood(lambda t, y: -t[0] ** 2 + 0 * y, np.zeros(1), y, gtol=-1.0)


def test_categorical_ml_is_argmin_cross_entropy():
    rng = np.random.default_rng(5)
    K = 4
    y = rng.choice(K, size=500, p=[0.1, 0.2, 0.3, 0.4])
    freq = np.bincount(y, minlength=K) / y.size                  # closed-form MLE

    def log_phat(theta, y):                                      # softmax parametrization, theta[0] := 0
        z = np.concatenate([[0.0], theta])
        return z[y.astype(int)] - np.log(np.sum(np.exp(z)))

    res = obj.max_likelihood(log_phat, np.zeros(K - 1), y)
    z = np.concatenate([[0.0], res.theta])
    q_ml = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(q_ml, freq, atol=1e-6)
    # success means "stationary to what finite differences can resolve", not the optimizer's own flag
    # (BFGS may stop on "precision loss" at the optimum on some CPUs and BLAS builds).
    assert res.success and res.grad_norm <= 1e-6
    # The softmax gradient of the log likelihood is N (freq - q) in the free coordinates.
    res_g = obj.max_likelihood(log_phat, np.zeros(K - 1), y,
                               grad=lambda t, y: y.size * (freq - _softmax0(t))[1:])
    np.testing.assert_allclose(_softmax0(res_g.theta), freq, atol=1e-8)
    assert res_g.success and res_g.grad_norm <= 1e-8
    # The minimum cross entropy equals the entropy of the data distribution (D_KL = 0 there) ...
    assert res.cross_entropy == pytest.approx(obj.entropy(freq), abs=1e-10)
    # ... and every other model has a larger cross entropy (Gibbs).
    for _ in range(20):
        assert obj.cross_entropy(freq, random_simplex(rng, K)) > res.cross_entropy


def test_gaussian_ml_gives_mean_and_biased_covariance():
    rng = np.random.default_rng(6)
    y = rng.multivariate_normal([1.0, -2.0], [[2.0, 0.6], [0.6, 1.0]], size=200)

    def log_phat(theta, y):                                      # mu, then log-Cholesky of Sigma
        mu = theta[:2]
        L = np.array([[np.exp(theta[2]), 0.0], [theta[3], np.exp(theta[4])]])
        return stats.multivariate_normal(mu, L @ L.T).logpdf(y)

    res = obj.max_likelihood(log_phat, np.zeros(5), y)
    mu = res.theta[:2]
    L = np.array([[np.exp(res.theta[2]), 0.0], [res.theta[3], np.exp(res.theta[4])]])
    np.testing.assert_allclose(mu, y.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(L @ L.T, np.cov(y.T, bias=True), atol=1e-5)


# ----------------------------------------------------------------------------------------------
# Validation: one test per message
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: obj.entropy([0.5, -0.1, 0.6]), r"p must be non-negative; entry 1"),
    (lambda: obj.entropy([0.5, 0.4]), r"p must sum to 1"),
    (lambda: obj.entropy([[0.5, 0.5]]), r"p must be a 1-D array"),
    (lambda: obj.entropy([0.5, np.nan]), r"p must be finite"),
    (lambda: obj.cross_entropy([0.5, 0.5], [0.2, 0.3, 0.5]), r"q must have shape \(K,\) = \(2,\); got \(3,\)"),
    (lambda: obj.relative_entropy([0.5, 0.5], [1.2, -0.2]), r"q must be non-negative"),
    (lambda: obj.relative_entropies([0.5, 0.5], [0.5, 0.6]), r"q must sum to 1"),
    (lambda: obj.entropy([0.5, 0.5], base=-2), r"base must be positive; got -2"),
    (lambda: obj.entropy([0.5, 0.5], base=1), r"base must be positive and different from 1"),
    (lambda: obj.gaussian_entropy([0.0, 0.0], np.eye(3)), r"mu and Sigma disagree.*mu has shape \(2,\)"),
    (lambda: obj.gaussian_entropy([0.0], [[-1.0]]), r"Sigma is not symmetric positive definite"),
    (lambda: obj.gaussian_relative_entropy([0.0], [[1.0]], [0.0, 1.0], np.eye(2)), r"mu_q must have shape \(D,\) = \(1,\)"),
    (lambda: obj.gaussian_cross_entropy([0.0], [[1.0]], [0.0], [[0.0]]), r"Sigma_q is not symmetric positive definite"),
    (lambda: obj.gaussian_relative_entropy([0.0], [[np.inf]], [0.0], [[1.0]]), r"Sigma_p must be finite"),
    (lambda: obj.sample_cross_entropy([0.1, np.nan]), r"log_q must hold finite log-densities \(or -inf\); entry 1 is nan"),
    (lambda: obj.sample_cross_entropy([0.1, np.inf]), r"log_q must hold finite log-densities \(or -inf\); entry 1 is inf"),
    (lambda: obj.sample_cross_entropy([]), r"log_q must hold at least one sample"),
    (lambda: obj.sample_cross_entropy([[0.1]]), r"log_q must be a 1-D array"),
    (lambda: obj.sample_relative_entropy([0.0, -np.inf], [0.0, 0.0]), r"log_p must hold finite log-densities; entry 1"),
    (lambda: obj.sample_relative_entropy([0.0, 0.0], [0.0]), r"log_q must have shape \(N,\) = \(2,\); got \(1,\)"),
    (lambda: obj.empirical_distribution([0, 3], 3), r"y must hold integer labels in 0..2 \(K = 3\); entry 1 is 3"),
    (lambda: obj.empirical_distribution([0.5], 3), r"entry 0 is 0.5"),
    (lambda: obj.empirical_distribution([], 3), r"y must hold at least one label"),
    (lambda: obj.empirical_distribution([0], 0), r"K must be at least 1"),
    (lambda: obj.max_likelihood(lambda t, y: -y**2, [[0.0]], [1.0]), r"theta0 must be a 1-D array"),
    (lambda: obj.max_likelihood(lambda t, y: -y**2, [0.0], []), r"y must have shape \(N,\) or \(N, D\) with N >= 1"),
    (lambda: obj.max_likelihood(lambda t, y: np.zeros(3), [0.0], [1.0, 2.0]), r"log_phat\(theta, y\) must return shape \(N,\) = \(2,\); got \(3,\)"),
    (lambda: obj.max_likelihood(lambda t, y: -y**2, [0.0], [1.0], gtol=0.0), r"gtol must be positive"),
    (lambda: obj.max_likelihood(lambda t, y: -y**2, [0.0], [1.0], max_iter=0), r"max_iter must be at least 1"),
])
def test_validation_messages(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    # scalars given as arrays: a ValueError naming the argument, not NumPy's "only 0-dimensional arrays"
    (lambda: obj.entropy([0.5, 0.5], base=np.array([2.0, 3.0])), r"base must be a scalar; got an array of shape \(2,\)"),
    (lambda: obj.cross_entropy([0.5, 0.5], [0.5, 0.5], base=[2.0]), r"base must be a scalar; got an array of shape \(1,\)"),
    (lambda: obj.relative_entropy([0.5, 0.5], [0.5, 0.5], base=np.ones(2)), r"base must be a scalar"),
    (lambda: obj.relative_entropies([0.5, 0.5], [0.5, 0.5], base=np.ones((1, 1))), r"base must be a scalar"),
    (lambda: obj.max_likelihood(lambda t, y: -y**2, [0.0], [1.0], gtol=np.array([1e-6, 1e-6])),
     r"gtol must be a scalar; got an array of shape \(2,\)"),
    (lambda: obj.max_likelihood(lambda t, y: -y**2, [0.0], [1.0], gtol=[1e-6]), r"gtol must be a scalar"),
    (lambda: obj.max_likelihood(lambda t, y: -y**2, [0.0], [1.0], method="Nelder-Mead"),
     r"method must be one of BFGS, CG, L-BFGS-B .*; got 'Nelder-Mead'"),
    # empty inputs: the message names the argument that is empty
    (lambda: obj.max_likelihood(lambda t, y: -y**2, [], [1.0]), r"theta0 must hold at least one parameter"),
    (lambda: obj.gaussian_entropy([], np.zeros((0, 0))), r"mu must hold at least one entry"),
    (lambda: obj.gaussian_cross_entropy([], np.zeros((0, 0)), [0.0], [[1.0]]), r"mu_p must hold at least one entry"),
    (lambda: obj.gaussian_relative_entropy([0.0], [[1.0]], [], np.zeros((0, 0))), r"mu_q must have shape \(D,\) = \(1,\)"),
])
def test_wrong_kinds_and_empty_inputs_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_method_is_matched_without_case():
    y = np.linspace(-1.0, 3.0, 40)
    for method in ("bfgs", "CG", "l-bfgs-b"):
        res = obj.max_likelihood(lambda t, y: -0.5 * (y - t[0]) ** 2, [5.0], y, method=method)
        assert res.theta[0] == pytest.approx(y.mean(), abs=1e-5)


def test_type_errors():
    with pytest.raises(TypeError, match="log_phat must be a callable"):
        obj.max_likelihood("not callable", [0.0], [1.0])
    with pytest.raises(TypeError, match="K must be an integer"):
        obj.empirical_distribution([0], 2.0)
    with pytest.raises(TypeError, match="base must be a numeric array; got str"):
        obj.entropy([0.5, 0.5], base="2")
    with pytest.raises(TypeError, match="method must be the name of a scipy.optimize.minimize method"):
        obj.max_likelihood(lambda t, y: -y**2, [0.0], [1.0], method=3)
