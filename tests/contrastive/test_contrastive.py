"""Tests for pedagogy_lib.contrastive (Section 10.1): NCE (Eqs. 10.1-10.4), InfoNCE (Eqs. 10.5-10.11),
local NCE (Eqs. 10.12-10.13) and CPC on a linear-Gaussian sequence. Oracles: closed-form Gaussian
normalizers and mutual information, finite differences, Bayes' rule by enumeration, the Kalman
filter."""
import numpy as np
import pytest
from scipy import integrate

from pedagogy_lib.contrastive import cpc, infonce, local_nce, nce
from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.lgssm.model import sample_lgssm

MU, VAR = 1.0, 0.49            # data N(1, 0.7^2)
MU_N, VAR_N = 0.0, 4.0         # noise N(0, 2^2)
LOG_Z = 0.5 * np.log(2 * np.pi * VAR)   # log normalizer of exp(-(y - MU)^2 / (2 VAR))


def _nce_data(rng, N, mu_n=MU_N, var_n=VAR_N):
    y = rng.normal(MU, np.sqrt(VAR), N)
    yn = rng.normal(mu_n, np.sqrt(var_n), N)
    return (nce.quadratic_features(y), nce.quadratic_features(yn),
            nce.gaussian_noise_energy(y, mu_n, var_n), nce.gaussian_noise_energy(yn, mu_n, var_n))


# ------------------------------------------------------------------ NCE (Eqs. 10.1-10.4)
def test_eq_10_2_posterior_is_bayes_rule_with_an_unnormalized_model():
    """Eq. 10.2: Bayes' rule with prior 1/2 on the unnormalized model and normalized noise."""
    y = np.linspace(-3, 3, 13)
    E = 0.5 * 3.0 * (y - 0.4) ** 2 + 0.2                 # any energy, normalized or not
    En = nce.gaussian_noise_energy(y, MU_N, VAR_N)
    joint1, joint0 = 0.5 * np.exp(-E), 0.5 * np.exp(-En)
    np.testing.assert_allclose(nce.nce_posterior(En, E), joint1 / (joint1 + joint0), rtol=1e-12)


def test_gaussian_energy_params_give_a_normalized_density():
    theta = nce.gaussian_energy_params(MU, VAR)
    mass = integrate.quad(lambda y: np.exp(-(0.5 * theta[0] * y * y - theta[1] * y + theta[2])), -20, 20)[0]
    assert abs(mass - 1) < 1e-9
    assert abs(nce.quadratic_log_mass(theta)) < 1e-12
    assert abs(theta[2] - (MU ** 2 / (2 * VAR) + LOG_Z)) < 1e-12


@pytest.mark.parametrize("fn", [nce.nce_loss, nce.nce_grad])
def test_nce_gradient_and_hessian_match_finite_differences(fn):
    rng = np.random.default_rng(1)
    data = _nce_data(rng, 50)
    theta = np.array([1.5, 1.2, 0.9])
    if fn is nce.nce_loss:
        r = gradcheck(lambda t: nce.nce_loss(t, *data), theta, nce.nce_grad(theta, *data))
    else:
        r = gradcheck(lambda t: nce.nce_grad(t, *data), theta, nce.nce_hessian(theta, *data))
    assert r.ok, r.ratio


def test_nce_hessian_is_positive_semidefinite_so_the_loss_is_convex():
    data = _nce_data(np.random.default_rng(2), 40)
    for theta in ([0.3, -1.0, 2.0], [5.0, 3.0, -1.0]):
        assert np.linalg.eigvalsh(nce.nce_hessian(np.array(theta), *data)).min() > -1e-12


def test_nce_population_minimum_is_the_normalized_data_energy():
    """Eq. 10.4 by quadrature, under the half-data, half-noise distribution of Eq. 10.1: the expected loss
    is smallest at E = -log p, offset included."""
    sd, sdn = np.sqrt(VAR), np.sqrt(VAR_N)
    p = lambda y: np.exp(-(y - MU) ** 2 / (2 * VAR)) / np.sqrt(2 * np.pi * VAR)
    pn = lambda y: np.exp(-(y - MU_N) ** 2 / (2 * VAR_N)) / np.sqrt(2 * np.pi * VAR_N)

    def expected_loss(c_shift):
        th = nce.gaussian_energy_params(MU, VAR) + np.array([0, 0, c_shift])
        h = lambda y: -np.log(pn(y)) - (0.5 * th[0] * y * y - th[1] * y + th[2])
        a = integrate.quad(lambda y: p(y) * nce.softplus(-h(y)), MU - 12 * sd, MU + 12 * sd)[0]
        b = integrate.quad(lambda y: pn(y) * nce.softplus(h(y)), MU_N - 12 * sdn, MU_N + 12 * sdn)[0]
        return 0.5 * a + 0.5 * b

    L0 = expected_loss(0.0)
    assert expected_loss(0.1) > L0 + 1e-4 and expected_loss(-0.1) > L0 + 1e-4


def test_nce_recovers_log_z_within_standard_errors_that_shrink_with_n():
    """Over 20 seeds the learned log normalizer is centred on the truth (4 standard errors of the
    seed average), the sandwich standard error matches the spread across seeds, and it shrinks like
    1/sqrt(N)."""
    spread = {}
    for N in (300, 2400):
        c_err, ses = [], []
        for seed in range(20):
            rng = np.random.default_rng(100 + seed)
            y = rng.normal(MU, np.sqrt(VAR), N)
            f = nce.nce_gaussian(y, MU_N, VAR_N, rng=rng)
            c_err.append(f.log_mass)               # log of the learned model's mass; 0 when normalized
            d = (nce.quadratic_features(y), nce.quadratic_features(f.y_neg),
                 nce.gaussian_noise_energy(y, MU_N, VAR_N), nce.gaussian_noise_energy(f.y_neg, MU_N, VAR_N))
            ses.append(nce.nce_standard_errors(f.theta, *d)[2])
            assert abs(f.c - nce.gaussian_energy_params(MU, VAR)[2]) < 5 * ses[-1]
        c_err = np.array(c_err)
        assert abs(c_err.mean()) < 4 * c_err.std(ddof=1) / np.sqrt(len(c_err))
        spread[N] = np.mean(ses)
    assert 2.0 < spread[300] / spread[2400] < 4.0            # sqrt(8) = 2.83


def test_noise_far_from_the_data_inflates_the_standard_error():
    """The draft's warning after Eq. 10.3: far-away noise makes the estimate noisier."""
    ses = []
    for mu_n in (1.0, 5.0):
        rng = np.random.default_rng(7)
        y = rng.normal(MU, np.sqrt(VAR), 2000)
        f = nce.nce_gaussian(y, mu_n, 1.0, rng=rng)
        d = (nce.quadratic_features(y), nce.quadratic_features(f.y_neg),
             nce.gaussian_noise_energy(y, mu_n, 1.0), nce.gaussian_noise_energy(f.y_neg, mu_n, 1.0))
        ses.append(nce.nce_standard_errors(f.theta, *d)[2])
    assert ses[1] > 5 * ses[0]


def test_gradient_descent_reaches_the_newton_solution():
    data = _nce_data(np.random.default_rng(3), 500)
    th0 = nce.gaussian_energy_params(MU_N, VAR_N)
    newton = nce.fit_nce(*data, th0)
    gd = nce.fit_nce(*data, th0, method="gradient", lr=1.0, max_iter=20000, tol=1e-7)
    assert newton.grad_norm < 1e-8
    np.testing.assert_allclose(gd.theta, newton.theta, atol=1e-4)


# ------------------------------------------------------------------ InfoNCE (Eqs. 10.5-10.11)
def test_eq_10_6_softmax_posterior_is_bayes_rule_over_which_example_is_positive():
    """Eq. 10.6 by enumeration of Eq. 10.5's K hypotheses with explicit energies."""
    rng = np.random.default_rng(4)
    K = 5
    E, En = rng.normal(size=K), rng.normal(size=K)
    joint = np.array([np.exp(-E[i] - sum(En[k] for k in range(K) if k != i)) / K for i in range(K)])
    F = np.tile(En - E, (K, 1))
    P = np.exp(F[0] - np.log(np.exp(F[0]).sum()))
    np.testing.assert_allclose(P, joint / joint.sum(), rtol=1e-12)
    # with every anchor seeing the same candidates, Eq. 10.7 averages -log P_i over the positives i
    assert abs(infonce.infonce_loss(F).loss - np.mean(-np.log(P))) < 1e-12


def test_infonce_bound_is_at_most_log_k_for_any_scores():
    rng = np.random.default_rng(5)
    for K in (2, 7, 50):
        est = infonce.infonce_loss(rng.normal(scale=10, size=(30, K, K)))
        assert est.loss >= 0 and est.bound <= np.log(K) + 1e-12


@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_infonce_bound_never_exceeds_the_gaussian_mutual_information(rho):
    """Eq. 10.11: for the optimal critic, a scaled one and a wrong one, log K - L <= I within 4 standard errors."""
    I = infonce.gaussian_mutual_information(rho)
    assert abs(I - (-0.5 * np.log(1 - rho ** 2))) < 1e-15
    rng = np.random.default_rng(6)
    K = 64
    y, z = infonce.sample_correlated_gaussian(K * 300, 1, rho, rng=rng)
    exact = infonce.exact_gaussian_critic(rho)
    for critic in (exact, infonce.QuadraticCritic(2 * exact.W, exact.B),
                   infonce.QuadraticCritic(np.ones((1, 1)), np.zeros((1, 1)))):
        est = infonce.infonce_loss(infonce.critic_scores(critic, y, z, K))
        assert est.bound < I + 4 * est.se, (critic, est)


def test_optimal_critic_bound_approaches_the_mutual_information_as_k_grows():
    """The approximation of Eq. 10.11 tightens as K grows: with the optimal critic, log K - L rises to I."""
    rho = 0.9
    I = infonce.gaussian_mutual_information(rho)
    rng = np.random.default_rng(8)
    bounds = []
    for K in (2, 16, 256):
        y, z = infonce.sample_correlated_gaussian(K * max(40, 20000 // K), 1, rho, rng=rng)
        est = infonce.infonce_loss(infonce.gaussian_log_ratio_scores(y, z, rho, K))
        bounds.append(est)
    assert bounds[0].bound < bounds[1].bound < bounds[2].bound
    assert bounds[0].bound < 0.5 * I
    assert abs(bounds[2].bound - I) < 0.05 + 4 * bounds[2].se


def test_exact_quadratic_critic_equals_the_log_ratio_up_to_a_function_of_z():
    """The softmax ignores functions of the anchor z, so both critics give the same loss."""
    rng = np.random.default_rng(9)
    y, z = infonce.sample_correlated_gaussian(8 * 3, 2, 0.7, rng=rng)
    F1 = infonce.gaussian_log_ratio_scores(y, z, 0.7, 8)
    F2 = infonce.critic_scores(infonce.exact_gaussian_critic(0.7, 2), y, z, 8)
    diff = F1 - F2
    np.testing.assert_allclose(diff, diff[:, :, :1].repeat(8, axis=2), atol=1e-10)
    assert abs(infonce.infonce_loss(F1).loss - infonce.infonce_loss(F2).loss) < 1e-12


@pytest.mark.parametrize("t", [1e-5, 1e-6, 1e-7, 3e-8])
def test_correlations_near_one_keep_every_digit_of_one_minus_rho_squared(t):
    """1 - rho^2 formed as 1 - rho * rho lost the rounding of rho * rho (a relative 5.5e-11 of 1 - rho^2 at
    rho = 1 - 1e-6); as (1 - rho)(1 + rho) it is exact to a few ulps. The critic, the log-ratio scores and
    the mutual information against 50-digit arithmetic on the same float rho."""
    import mpmath as mp
    for rho in (1.0 - t, -(1.0 - t)):
        with mp.workdps(50):
            r = mp.mpf(rho)
            s2 = 1 - r * r
            W, B, mi = float(r / s2), float(-r * r / (2 * s2)), float(-mp.log(s2))
            y, z = np.array([[0.3], [-0.2]]), np.array([[0.1], [0.4]])
            ref = [[float(-mp.log(s2) / 2 - (mp.mpf(y[j, 0]) - r * mp.mpf(z[i, 0])) ** 2 / (2 * s2)
                          + mp.mpf(y[j, 0]) ** 2 / 2) for j in range(2)] for i in range(2)]
        c = infonce.exact_gaussian_critic(rho, 1)
        np.testing.assert_allclose([c.W[0, 0], c.B[0, 0]], [W, B], rtol=1e-14)
        assert infonce.gaussian_mutual_information(rho, 2) == pytest.approx(mi, rel=1e-14)
        np.testing.assert_allclose(infonce.gaussian_log_ratio_scores(y, z, rho, 2)[0], ref, rtol=1e-12)


@pytest.mark.parametrize("rho", [1e-4, -3e-9, 3e-12, 1e-16, 0.49, -0.51])
def test_gaussian_mutual_information_is_right_for_weak_correlations(rho):
    """-D/2 log(1 - rho^2) is about D rho^2 / 2 for small rho; as log(1 - rho) + log(1 + rho) the two terms
    nearly cancelled (4e-5 relative error at rho = 3e-12, all of it at 1e-16)."""
    import mpmath as mp

    with mp.workdps(50):
        exact = float(-mp.log1p(-mp.mpf(rho) ** 2))
    assert infonce.gaussian_mutual_information(rho, 2) == pytest.approx(exact, rel=1e-14, abs=0)


def test_infonce_gradient_matches_finite_differences():
    rng = np.random.default_rng(10)
    y, z = infonce.sample_correlated_gaussian(6 * 4, 2, 0.6, rng=rng)
    z = np.column_stack([z, rng.normal(size=len(z))])          # D_z = 3, D_y = 2
    W0 = rng.normal(size=(3, 2))
    B0 = rng.normal(size=(2, 2))
    B0 = 0.5 * (B0 + B0.T)
    _, dW, dB = infonce.infonce_grad(infonce.QuadraticCritic(W0, B0), y, z, 6)
    rW = gradcheck(lambda w: infonce.infonce_grad(infonce.QuadraticCritic(w.reshape(3, 2), B0), y, z, 6)[0],
                   W0.ravel(), dW.ravel())
    # B is symmetric (checked): perturb it through B = (b + b^T) / 2, whose gradient in b is dB (symmetric)
    sym = lambda b: 0.5 * (b.reshape(2, 2) + b.reshape(2, 2).T)  # noqa: E731
    rB = gradcheck(lambda b: infonce.infonce_grad(infonce.QuadraticCritic(W0, sym(b)), y, z, 6)[0],
                   B0.ravel(), dB.ravel())
    assert rW.ok and rB.ok


def test_fitted_critic_approaches_the_exact_one():
    rho = 0.8
    rng = np.random.default_rng(11)
    y, z = infonce.sample_correlated_gaussian(32 * 150, 1, rho, rng=rng)
    fit = infonce.fit_critic(y, z, 32)
    exact = infonce.exact_gaussian_critic(rho)
    assert abs(fit.critic.W[0, 0] / exact.W[0, 0] - 1) < 0.15
    assert abs(fit.critic.B[0, 0] / exact.B[0, 0] - 1) < 0.25
    assert fit.path[-1] >= fit.path[0]


def test_infonce_loss_is_blind_to_the_offset_but_nce_is_not():
    """Adding a constant to h (shifting log Z) leaves Eq. 10.7 unchanged; Eq. 10.4 changes."""
    rng = np.random.default_rng(12)
    F = rng.normal(size=(5, 6, 6))
    assert abs(infonce.infonce_loss(F).loss - infonce.infonce_loss(F + 3.0).loss) < 1e-12
    data = _nce_data(rng, 100)
    th = nce.gaussian_energy_params(MU, VAR)
    assert abs(nce.nce_loss(th, *data) - nce.nce_loss(th + [0, 0, 3.0], *data)) > 0.1


# ------------------------------------------------------------------ local NCE (Eqs. 10.12-10.13)
def test_eq_10_12_is_a_product_of_binary_posteriors_and_does_not_sum_to_one():
    h = np.array([[0.3, -1.2, 2.0, 0.1]])
    P = local_nce.local_nce_posterior(h)
    s = nce.sigmoid(h[0])
    for i in range(4):
        want = s[i] * np.prod([1 - s[j] for j in range(4) if j != i])
        assert abs(P[0, i] - want) < 1e-14
    assert P.sum() < 1


def test_eq_10_13_is_one_positive_and_k_minus_one_negative_nce_terms_and_its_gradient():
    rng = np.random.default_rng(13)
    N, K = 20, 5
    y = rng.normal(MU, np.sqrt(VAR), N)
    yn = rng.normal(MU_N, np.sqrt(VAR_N), (N, K - 1))
    Tp, Tn = nce.quadratic_features(y), nce.quadratic_features(yn.ravel()).reshape(N, K - 1, 3)
    Ep, En = nce.gaussian_noise_energy(y, MU_N, VAR_N), nce.gaussian_noise_energy(yn, MU_N, VAR_N)
    th = np.array([1.3, 0.4, 1.1])
    h_pos = Ep - Tp @ th
    h_neg = En - Tn @ th
    direct = np.mean([-np.log(nce.sigmoid(h_pos[n])) - np.sum(np.log(nce.sigmoid(-h_neg[n])))
                      for n in range(N)])
    assert abs(local_nce.local_nce_loss(th, Tp, Tn, Ep, En) - direct) < 1e-12
    r = gradcheck(lambda t: local_nce.local_nce_loss(t, Tp, Tn, Ep, En), th,
                  local_nce.local_nce_grad(th, Tp, Tn, Ep, En))
    rh = gradcheck(lambda t: local_nce.local_nce_grad(t, Tp, Tn, Ep, En), th,
                   local_nce.local_nce_hessian(th, Tp, Tn, Ep, En))
    assert r.ok and rh.ok


def test_local_nce_log_normalizer_is_offset_by_log_k_minus_one():
    """The pointwise minimizer h* = log p - log p_n - log(K - 1): c comes out log Z + log(K - 1)."""
    c_true = nce.gaussian_energy_params(MU, VAR)[2]
    for K in (3, 9):
        errs = []
        for seed in range(8):
            rng = np.random.default_rng(200 + seed)
            y = rng.normal(MU, np.sqrt(VAR), 1500)
            f = local_nce.local_nce_gaussian(y, MU_N, VAR_N, K, rng=rng)
            errs.append(f.c - c_true)
        errs = np.array(errs)
        se = errs.std(ddof=1) / np.sqrt(len(errs))
        assert abs(errs.mean() - local_nce.local_nce_offset(K)) < 4 * se + 0.01
        assert abs(errs.mean()) > 0.5


# ------------------------------------------------------------------ CPC and the Kalman predictor
A_, Q_, R_ = 0.9, 1.0, 1.0


def test_kalman_window_predictor_matches_gaussian_conditioning():
    """beta and V by the filter equal the regression coefficients of the joint Gaussian."""
    p = cpc.stationary_params([[A_]], [[Q_]], [[1.0]], [[R_]])
    L, s = 6, 2
    wp = cpc.kalman_window_predictor(p, L, s)
    v_x = Q_ / (1 - A_ ** 2)
    cov = lambda lag: v_x * A_ ** abs(lag) + (R_ if lag == 0 else 0.0)
    Szz = np.array([[cov(i - j) for j in range(L)] for i in range(L)])
    Syz = np.array([cov(s + lag) for lag in range(L)])         # window lag 0 = y_t, future y_{t+s}
    beta = np.linalg.solve(Szz, Syz)
    np.testing.assert_allclose(wp.beta[0], beta, atol=1e-10)
    np.testing.assert_allclose(wp.V[0, 0], cov(0) - Syz @ beta, atol=1e-10)
    np.testing.assert_allclose(wp.V0[0, 0], cov(0), atol=1e-10)
    # steady state: weights decay geometrically with ratio a (1 - K_inf) for long windows
    long = cpc.kalman_window_predictor(p, 30, 1).beta[0]
    assert np.allclose(long[1:10] / long[:9], long[1] / long[0], rtol=1e-6)


def test_cpc_windows_order_the_past_most_recent_first():
    y = np.arange(10.0)[:, None]
    fut, past = cpc.cpc_windows(y, 3, 2)
    assert past.shape == (6, 3) and fut.shape == (6, 1)
    np.testing.assert_array_equal(past[0], [2, 1, 0])
    assert fut[0, 0] == 4


def test_cpc_learns_the_kalman_predictor_direction():
    rng = np.random.default_rng(14)
    p = cpc.stationary_params([[A_]], [[Q_]], [[1.0]], [[R_]])
    _, y = sample_lgssm(p, 6000, rng=rng)
    L, K = 8, 32
    fut, past = cpc.cpc_windows(y, L, 1)
    idx = rng.permutation(len(fut))[: (len(fut) // K) * K]
    fit = infonce.fit_critic(fut[idx], past[idx], K, learn_B=False)   # bilinear critic, as in CPC
    exact = cpc.exact_cpc_critic(cpc.kalman_window_predictor(p, L, 1))
    assert cpc.subspace_cosine(fit.critic.W, exact.W) > 0.98
    assert cpc.subspace_cosine(fit.critic.W, np.ones(L)) < 0.9    # not just an average of the past


# ------------------------------------------------------------------ bad input
def test_bad_input_raises_value_error_naming_the_argument():
    rng = np.random.default_rng(0)
    y, z = infonce.sample_correlated_gaussian(8, 1, 0.5, rng=rng)
    with pytest.raises(ValueError, match="K must be at least 2"):
        infonce.critic_scores(infonce.exact_gaussian_critic(0.5), y, z, 1)
    with pytest.raises(ValueError, match="K must be at least 2"):
        local_nce.local_nce_offset(1)
    with pytest.raises(ValueError, match="^F must"):
        infonce.infonce_loss(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="var_n must be positive"):
        nce.gaussian_noise_energy(y, 0.0, 0.0)
    with pytest.raises(ValueError, match="var_n must be positive"):
        nce.nce_gaussian(y[:, 0], 0.0, -1.0, rng=rng)
    with pytest.raises(ValueError, match="^z must have N = 8 rows"):
        infonce.critic_scores(infonce.exact_gaussian_critic(0.5), y, z[:4], 2)
    with pytest.raises(ValueError, match="multiple of K"):
        infonce.critic_scores(infonce.exact_gaussian_critic(0.5), y, z, 3)
    with pytest.raises(ValueError, match="^W must have shape"):
        infonce.critic_scores(infonce.QuadraticCritic(np.zeros((2, 1)), np.zeros((1, 1))), y, z, 2)
    with pytest.raises(ValueError, match="^rho must lie"):
        infonce.gaussian_mutual_information(1.0)
    with pytest.raises(ValueError, match="^T_neg must have P = 3"):
        nce.nce_loss(np.zeros(3), np.zeros((4, 3)), np.zeros((4, 2)), np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="^En_pos must have shape"):
        nce.nce_loss(np.zeros(3), np.zeros((4, 3)), np.zeros((4, 3)), np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="^theta must have shape"):
        nce.nce_grad(np.zeros(2), np.zeros((4, 3)), np.zeros((4, 3)), np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="^T_neg must have shape"):
        local_nce.local_nce_loss(np.zeros(3), np.zeros((4, 3)), np.zeros((5, 2, 3)), np.zeros(4),
                                 np.zeros((5, 2)))
    with pytest.raises(ValueError, match="^h must have K >= 2"):
        local_nce.local_nce_posterior(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="^A must be stable"):
        cpc.stationary_params([[1.1]], [[1.0]], [[1.0]], [[1.0]])
    with pytest.raises(ValueError, match="^y must have at least L"):
        cpc.cpc_windows(np.zeros((3, 1)), 3, 1)
    with pytest.raises(ValueError, match="^T_pos must not be empty"):
        nce.nce_loss(np.zeros(3), np.zeros((0, 3)), np.zeros((4, 3)), np.zeros(0), np.zeros(4))


def test_too_small_a_log_normalizer_causes_false_alarms_and_too_large_misses():
    """Section 10.1.1's opening pairs false alarms with a normalizer that is "too big"; its later
    paragraph (energy below the noise energy, negatives called data) pairs them with one that is too
    small. With the learned offset c (c = log Z at the optimum), lowering c raises exp(-E) and the
    rate at which noise is called data; raising c raises the rate at which data is called noise."""
    rng = np.random.default_rng(21)
    y = rng.normal(MU, np.sqrt(VAR), 20000)
    yn = rng.normal(MU_N, np.sqrt(VAR_N), 20000)
    th = nce.gaussian_energy_params(MU, VAR)

    def rates(dc):
        t = th + np.array([0, 0, dc])
        h_pos = nce.gaussian_noise_energy(y, MU_N, VAR_N) - nce.quadratic_features(y) @ t
        h_neg = nce.gaussian_noise_energy(yn, MU_N, VAR_N) - nce.quadratic_features(yn) @ t
        return np.mean(h_neg > 0), np.mean(h_pos < 0)        # false alarms, misses

    fa0, miss0 = rates(0.0)
    fa_lo, miss_lo = rates(-1.0)          # normalizer too small
    fa_hi, miss_hi = rates(+1.0)          # normalizer too large
    assert fa_lo > fa0 + 0.05 and miss_lo < miss0
    assert miss_hi > miss0 + 0.05 and fa_hi < fa0
