"""Tests for pedagogy_lib.diffusion (Section 8.3): forward process against the iterated chain and
Gaussian conditioning, DDPM's formulas, the loss parameterizations against each other, the
Gaussian-data limit, Tweedie against finite differences, the Langevin bias in closed form, a
trained 2-D model against held-out data, backpropagation against finite differences, kernel
against twin, and the corrections of the draft."""
import numpy as np
import pytest

from pedagogy_lib import diffusion as df
from pedagogy_lib.core.jit import HAVE_NUMBA
from pedagogy_lib.gaussian.blocks import condition
from pedagogy_lib.mixture.model import gmm_params, gmm_sample
from pedagogy_lib.nn.network import numerical_gradient, relative_error


def _schedules():
    return [df.make_schedule(12, "log_snr", lam_min=1e-2, lam_max=1e2, kind="vp"),
            df.make_schedule(9, "cosine", lam_min=1e-3, lam_max=1e3, kind="ve"),
            df.ddpm_schedule(np.linspace(1e-3, 0.2, 15))]


@pytest.mark.parametrize("S", _schedules())
def test_forward_marginals_equal_the_iterated_chain(S):
    """The forward chain of Eq. 8.31, iterated, has the marginals of Eq. 8.36."""
    x = np.array([0.7, -1.3, 2.0])
    means, var = df.iterate_moments(S, x)
    for l in range(S.L + 1):
        a, v2 = df.marginal(S, l)
        np.testing.assert_allclose(means[l], a * x, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(var[l], v2, rtol=1e-12)


def test_forward_marginal_by_monte_carlo():
    S = _schedules()[0]
    rng = np.random.default_rng(0)
    n = 40000
    x = np.full((n, 1), 1.5)
    xl = df.noise_data(S, x, 0, rng.standard_normal((n, 1)))
    beta, gamma2 = df.consecutive_transitions(S)
    for l in range(1, 6):
        xl = beta[l - 1] * xl + np.sqrt(gamma2[l - 1]) * rng.standard_normal((n, 1))
    a, v2 = df.marginal(S, 5)
    assert abs(xl.mean() - 1.5 * a) < 4 * np.sqrt(v2 / n)
    assert abs(xl.var() - v2) < 4 * v2 * np.sqrt(2 / n)


@pytest.mark.parametrize("S", _schedules())
def test_non_consecutive_transitions_compose(S):
    """The transitions of Eq. 8.37 between any two levels compose."""
    for l, m, n in [(0, 3, 7), (2, 5, 6), (1, 2, S.L)]:
        t_ml, t_nm, t_nl = df.transition(S, l, m), df.transition(S, m, n), df.transition(S, l, n)
        assert t_nl.beta == pytest.approx(t_nm.beta * t_ml.beta, rel=1e-12)
        assert t_nl.gamma2 == pytest.approx(t_nm.beta ** 2 * t_ml.gamma2 + t_nm.gamma2, rel=1e-12)
    beta, gamma2 = df.consecutive_transitions(S)
    t = df.transition(S, 3, 4)
    assert (t.beta, t.gamma2) == pytest.approx((beta[3], gamma2[3]), rel=1e-12)


@pytest.mark.parametrize("S", _schedules())
def test_posterior_transition_equals_gaussian_conditioning(S):
    """Eq. 8.38 is the conditional of the joint of x_l and x_m given x (the factorization of Eq. 8.35)."""
    x0 = 0.8
    for l, m in [(0, 1), (2, 6), (4, 5)]:
        a_l, v_l2 = df.marginal(S, l)
        t = df.transition(S, l, m)
        mu = np.array([a_l * x0, t.beta * a_l * x0])
        cov = np.array([[v_l2, t.beta * v_l2], [t.beta * v_l2, t.beta ** 2 * v_l2 + t.gamma2]])
        for xm in (-1.0, 0.3, 2.5):
            g = condition(mu, cov, np.array([1]), np.array([xm]))
            p = df.posterior_transition(S, l, m)
            assert p.a * x0 + p.b * xm == pytest.approx(g.mu[0], rel=1e-10, abs=1e-12)
            assert p.var == pytest.approx(g.Sigma[0, 0], rel=1e-9)


def test_posterior_transition_equals_ddpm_formulas_and_the_name_clash():
    betas = np.linspace(1e-3, 0.1, 20)
    S = df.ddpm_schedule(betas, lam_max=1e5)
    abar = np.cumprod(1 - betas)
    alpha_bar, betas_back = df.to_ddpm(S)
    np.testing.assert_allclose(alpha_bar[1:], abar, rtol=1e-12)
    np.testing.assert_allclose(betas_back[1:], betas[1:], rtol=1e-9)
    book_beta, book_gamma2 = df.consecutive_transitions(S)
    np.testing.assert_allclose(book_beta[1:], np.sqrt(1 - betas[1:]), rtol=1e-12)   # a scale
    np.testing.assert_allclose(book_gamma2[1:], betas[1:], rtol=1e-9)               # DDPM's beta
    for t in range(2, 20):            # DDPM index t is level t; level t-1 >= 1 here
        p = df.posterior_transition(S, t - 1, t)
        bt, ab, ab1 = betas[t - 1], abar[t - 1], abar[t - 2]
        assert p.a == pytest.approx(np.sqrt(ab1) * bt / (1 - ab), rel=1e-9)
        assert p.b == pytest.approx(np.sqrt(1 - bt) * (1 - ab1) / (1 - ab), rel=1e-9)
        assert p.var == pytest.approx((1 - ab1) * bt / (1 - ab), rel=1e-9)


def test_ve_rescaling_and_vp_identity():
    S = df.make_schedule(10, "cosine", lam_min=1e-2, lam_max=1e2, kind="vp")
    np.testing.assert_allclose(S.scale ** 2 + S.v ** 2, 1.0, rtol=1e-12)
    V = df.make_schedule(10, "cosine", lam_min=1e-2, lam_max=1e2, kind="ve")
    np.testing.assert_allclose(V.scale, 1.0, rtol=1e-12)
    np.testing.assert_allclose(df.ve_sigmas(S), V.v, rtol=1e-12)
    x0, z = np.array([[1.0, -2.0]]), np.array([[0.3, 0.4]])
    for l in range(11):        # x_l / (v rho) is the VE variable x + sigma z
        np.testing.assert_allclose(df.noise_data(S, x0, l, z) / S.scale[l], x0 + df.ve_sigmas(S)[l] * z, rtol=1e-12)


def test_snr_curve_endpoints_and_derivative():
    u = np.linspace(0.05, 0.95, 7)
    for fam in df.FAMILIES:
        h, dh = df.snr_curve(np.array([0.0, 1.0]), fam, 1e-3, 1e3)
        np.testing.assert_allclose(h, [1e3, 1e-3], rtol=1e-10)
        h, dh = df.snr_curve(u, fam, 1e-3, 1e3)
        hp, _ = df.snr_curve(u + 1e-6, fam, 1e-3, 1e3)
        hm, _ = df.snr_curve(u - 1e-6, fam, 1e-3, 1e3)
        np.testing.assert_allclose(dh, (hp - hm) / 2e-6, rtol=1e-5)
        assert np.all(dh < 0)


def test_weights_eq_8_40_reduce_to_snr_differences():
    S = _schedules()[1]
    np.testing.assert_allclose(df.eq_8_40_weights(S), df.step_weights(S), rtol=1e-12)
    lam = S.snr
    np.testing.assert_allclose(df.step_weights(S), (lam[:-1] - lam[1:]) / 2, rtol=1e-12)


def _small_model(param):
    return df.denoiser(2, (6,), n_freq=2, param=param)


def test_the_parameterizations_give_identical_losses_for_the_same_network():
    S = _schedules()[0]
    rng = np.random.default_rng(3)
    model = _small_model("eps")
    params = df.init_denoiser(model, rng)
    N = 50
    x0, z = rng.normal(size=(N, 2)), rng.normal(size=(N, 2))
    l = rng.integers(1, S.L + 1, N)
    xl = df.noise_data(S, x0, l, z)
    ref = df.loss_terms(S, l, x0, z, df.predict(model, params, S, xl, l, out="m_hat"), "m_hat")
    for out in df.PARAMS:        # the m-hat loss of Eq. 8.43 equals its mean form (Eq. 8.39), its force form (Eq. 8.48)
        # and its noise form
        pred = df.predict(model, params, S, xl, l, out=out)
        np.testing.assert_allclose(df.loss_terms(S, l, x0, z, pred, out), ref, rtol=1e-9)
    m = df.predict(model, params, S, xl, l, out="m_hat")
    f = df.force_from_m_hat(S, l, xl, m)
    np.testing.assert_allclose(df.m_hat_from_force(S, l, xl, f), m, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(df.force_from_eps(S, l, df.eps_from_force(S, l, f)), f, rtol=1e-12)
    mu = df.mean_from_m_hat(S, l, xl, m)
    np.testing.assert_allclose(df.m_hat_from_mean(S, l, xl, mu), m, rtol=1e-9, atol=1e-10)
    # the training loss (weights c_l = w_l / rho_l^2, times L) is L times the mean of these terms
    value, _ = df.denoiser_loss(model, params, S, x0, l, z)
    assert value == pytest.approx(S.L * ref.mean(), rel=1e-10)


@pytest.mark.parametrize("kind", ["vp", "ve"])
@pytest.mark.parametrize("lam0", [1e-100, 1e-20, 1e20, 1e100])
def test_a_network_read_as_its_own_parameterization_returns_its_output(kind, lam0):
    """Reading a network as what it predicts is the identity; through the noise form it was not: at
    SNR 1e-20 an m_hat network read as m_hat returned 0 where its output was of order 1 (the route
    cancelled terms x_l / (v rho) of order 1e10 and more). Against the network's forward pass, and the
    m_hat-to-mean reading against Eq. 8.38's a m + b x_l in 50-digit arithmetic."""
    import mpmath as mp
    S = df.schedule_from_snr(lam0 * np.array([4.0, 2.0, 1.0, 0.5]), kind=kind)
    rng = np.random.default_rng(8)
    x0, z = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    l = np.array([1, 2, 3])
    xl = df.noise_data(S, x0, l, z)
    feats = np.column_stack([xl, df.time_features(S, l, 1)])
    for param in df.PARAMS:
        model = df.denoiser(2, (5,), n_freq=1, param=param)
        params = df.init_denoiser(model, rng)
        raw = model.net.forward(params, feats)[0]
        np.testing.assert_allclose(df.predict(model, params, S, xl, l, out=param), raw, rtol=1e-15, atol=0)
    model = df.denoiser(2, (5,), n_freq=1, param="m_hat")
    params = df.init_denoiser(model, rng)
    raw = model.net.forward(params, feats)[0]
    with mp.workdps(50):
        v, rho = [mp.mpf(float(x)) for x in S.v], [mp.mpf(float(x)) for x in S.rho]
        ref = [[float(v[k - 1] / rho[k - 1] * (rho[k - 1] ** 2 - rho[k] ** 2) * mp.mpf(float(r))
                      + v[k - 1] * rho[k] / (rho[k - 1] * v[k]) * mp.mpf(float(x))) for r, x in zip(raw[i], xl[i])]
               for i, k in enumerate(l)]
    np.testing.assert_allclose(df.predict(model, params, S, xl, l, out="mean"), ref, rtol=1e-12)


@pytest.mark.parametrize("param", df.PARAMS)
@pytest.mark.parametrize("weighting", df.WEIGHTINGS)
def test_backprop_matches_finite_differences(param, weighting):
    S = _schedules()[2]
    rng = np.random.default_rng(4)
    model = _small_model(param)
    params = df.init_denoiser(model, rng)
    x0, z = rng.normal(size=(7, 2)), rng.normal(size=(7, 2))
    l = rng.integers(1, S.L + 1, 7)
    _, grads = df.denoiser_loss(model, params, S, x0, l, z, weighting)
    num = numerical_gradient(lambda p: df.denoiser_loss(model, p, S, x0, l, z, weighting)[0], params)
    assert relative_error(grads, num) < 1e-6


def test_gaussian_data_loss_converges_to_the_schedule_invariant_limit():
    s0, lo, hi = 0.6, 1e-3, 1e3
    limit = df.gaussian_loss_limit(lo, hi, s0)
    assert limit == pytest.approx(2.944, abs=1e-3)
    for fam in df.FAMILIES:
        errs = [abs(df.gaussian_optimal_loss(df.make_schedule(L, fam, lam_min=lo, lam_max=hi), s0) - limit)
                for L in (10, 100, 1000, 10000)]
        assert all(b < a for a, b in zip(errs, errs[1:]))
        assert errs[-1] < 5e-3 * limit


def test_gaussian_optimal_loss_by_monte_carlo_with_the_exact_denoiser():
    """The loss of Eq. 8.43, sampled, with the exact denoiser for Gaussian data, against its closed form."""
    S = df.make_schedule(8, "log_snr", lam_min=1e-1, lam_max=1e1)
    s0 = 0.6
    gmm = gmm_params([1.0], [[0.0]], np.array([[[s0 ** 2]]]))
    rng = np.random.default_rng(5)
    n = 20000
    total, var = 0.0, 0.0
    for l in range(1, S.L + 1):
        x0, z = rng.normal(0, s0, (n, 1)), rng.normal(size=(n, 1))
        t = df.loss_terms(S, l, x0, z, df.gmm_m_hat(gmm, S, l, df.noise_data(S, x0, l, z)), "m_hat")
        total += t.mean()
        var += t.var() / n
    assert abs(total - df.gaussian_optimal_loss(S, s0)) < 4 * np.sqrt(var)


def test_tweedie_force_equals_finite_differences_of_the_noised_mixture():
    gmm = df.ring_mixture(5, 1.5, 0.3)
    S = df.make_schedule(6, "cosine", lam_min=1e-2, lam_max=1e2)
    x = np.random.default_rng(6).normal(size=(9, 2)) * 1.5
    h = 1e-5
    for l in (0, 2, 6):
        f = df.gmm_force(gmm, S, l, x)      # the posterior average of the components' forces (Eq. 8.45)
        fd = np.column_stack([(df.gmm_log_density(gmm, S, l, x + h * e) - df.gmm_log_density(gmm, S, l, x - h * e))
                              / (2 * h) for e in np.eye(2)])
        np.testing.assert_allclose(f, fd, rtol=1e-6, atol=1e-7)
        # Tweedie (Eq. 8.46), i.e. Eq. 8.47 with the exact posterior mean (computed by conditioning), is the same force
        np.testing.assert_allclose(df.force_from_m_hat(S, l, x, df.gmm_m_hat(gmm, S, l, x)), f, rtol=1e-9,
                                   atol=1e-10)


def test_langevin_reaches_the_biased_stationary_variance_of_the_unadjusted_chain():
    s2, eps, C = 1.0, 0.1, 20000
    gmm = gmm_params([1.0], [[0.0, 0.0]], np.array([s2 * np.eye(2)]))
    y = df.langevin_gmm(gmm, 0.0, np.zeros((C, 2)), 200, eps, np.random.default_rng(7))
    theory = s2 / (1 - eps / (2 * s2))            # 1.0526
    assert theory == pytest.approx(1.0526, abs=1e-4)
    v = y.var(axis=0).mean()
    se = theory * np.sqrt(2 / (2 * C))
    assert abs(v - theory) < 4 * se
    assert abs(v - s2) > 4 * se                   # the bias is visible


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not importable: the twin is the only backend")
def test_langevin_kernel_equals_twin():
    gmm = df.ring_mixture(4, 1.0, 0.4)
    y0 = np.random.default_rng(8).normal(size=(30, 2))
    a = df.langevin_gmm(gmm, 0.3, y0, 25, 0.05, np.random.default_rng(9), backend="numba")
    b = df.langevin_gmm(gmm, 0.3, y0, 25, 0.05, np.random.default_rng(9), backend="numpy")
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_annealed_langevin_recovers_mixture_weights_and_plain_langevin_does_not():
    gmm = gmm_params([0.2, 0.8], [[-3.0, 0.0], [3.0, 0.0]], np.array([0.25 * np.eye(2)] * 2))
    rng = np.random.default_rng(10)
    C = 2000
    sig = np.geomspace(10.0, 0.05, 20)       # sigma_1 well above the separation of the modes
    y = df.annealed_langevin(gmm, sig, 10.0 * rng.standard_normal((C, 2)), 100, 0.1, rng).y
    w_left = np.mean(y[:, 0] < 0)
    assert abs(w_left - 0.2) < 4 * np.sqrt(0.2 * 0.8 / C)
    plain = df.langevin_gmm(gmm, 0.0, np.tile([3.0, 0.0], (C, 1)), 20 * 100, 0.1 * 0.25,
                            np.random.default_rng(11))
    assert abs(np.mean(plain[:, 0] < 0) - 0.2) > 0.1


def test_annealed_langevin_with_a_callable_equals_the_mixture_kernel():
    gmm = df.ring_mixture(3, 1.0, 0.3)
    sig = np.array([1.0, 0.5, 0.2])
    y0 = np.random.default_rng(12).normal(size=(20, 2))

    def score(y, i):
        return df.mixture_force(df.noised_mixture(gmm, 1.0, sig[i] ** 2), y)
    a = df.annealed_langevin(score, sig, y0, 10, 0.1, np.random.default_rng(13)).y
    b = df.annealed_langevin(gmm, sig, y0, 10, 0.1, np.random.default_rng(13), backend="numpy").y
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_ancestral_sampling_with_the_exact_denoiser_reproduces_the_mixture():
    """Sampling the reverse chain of Eq. 8.30 (Gaussian steps, Eq. 8.33, with the means of Eq. 8.38) from the
    exact denoiser gives draws as close to held-out data as fresh data are."""
    gmm = df.ring_mixture(8, 2.0, 0.2)
    S = df.make_schedule(40, "log_snr", lam_min=1e-3, lam_max=1e3)
    x = df.ancestral_sample(S, lambda x, l: df.gmm_m_hat(gmm, S, l, x), np.random.default_rng(14), 2000, 2)
    ho = gmm_sample(np.random.default_rng(15), gmm, 2000).y
    ref = gmm_sample(np.random.default_rng(16), gmm, 2000).y
    assert df.nn_distance_ratio(x, ho, ref) < 1.15
    assert df.nn_distance_ratio(ho + 0.5, ho, ref) > 1.5      # the score can fail


@pytest.mark.slow
def test_trained_denoiser_samples_are_close_to_held_out_data():
    """Bound: median nearest-neighbour distance to held-out data at most 1.35 times that of fresh data."""
    gmm = df.ring_mixture(8, 2.0, 0.2)
    S = df.make_schedule(40, "log_snr", lam_min=1e-3, lam_max=1e3)
    X = gmm_sample(np.random.default_rng(0), gmm, 4000).y
    model = df.denoiser(2, (64, 64), n_freq=4, param="eps")
    res = df.train_denoiser(model, df.init_denoiser(model, np.random.default_rng(1)), S, X,
                            np.random.default_rng(2), n_iter=1500, batch_size=256, lr=3e-3)
    x = df.ancestral_sample(S, df.m_hat_from_model(model, res.params, S), np.random.default_rng(3), 2000, 2)
    ho = gmm_sample(np.random.default_rng(4), gmm, 2000).y
    ref = gmm_sample(np.random.default_rng(5), gmm, 2000).y
    assert df.nn_distance_ratio(x, ho, ref) < 1.35
    assert res.losses[-200:].mean() < res.losses[:50].mean()


# ------------------------------------------------------------------------------------------
# Corrections of the draft (rows of book/errata.md)
# ------------------------------------------------------------------------------------------

def test_continuous_limit_has_no_one_over_L_and_integrates_minus_dh():
    """The draft scales Eq. 8.41 by 1/L before L -> infinity and writes +dh/du: the scaled sum
    tends to 0 and the printed integral is negative. The unscaled sum converges to
    -1/2 int h'(u) MSE(u) du = 1/2 int MSE d lambda."""
    s0, lo, hi = 0.6, 1e-3, 1e3
    limit = df.gaussian_loss_limit(lo, hi, s0)
    scaled = [df.gaussian_optimal_loss(df.make_schedule(L, "cosine", lam_min=lo, lam_max=hi), s0) / L
              for L in (10, 100, 1000)]
    assert scaled[-1] < 1e-2 * limit and scaled[0] > scaled[1] > scaled[2]
    u = (np.arange(200000) + 0.5) / 200000
    h, dh = df.snr_curve(u, "cosine", lo, hi)
    mse = 1 / (1 / s0 ** 2 + h)
    assert np.mean(-0.5 * dh * mse) == pytest.approx(limit, rel=1e-4)
    assert np.mean(0.5 * dh * mse) < 0       # the draft's sign gives a negative "loss"


def test_level_one_term_is_degenerate_without_a_finite_maximum_snr():
    """With a noise-free level 0 (v_0 = 0, rho_0 = infinity) the l = 1 weight is infinite, sigma_1 = 0,
    and even for Gaussian data the loss grows without bound like (d/2) log lambda_max."""
    s0 = 0.6
    w1, sig1, total = [], [], []
    for hi in (1e2, 1e4, 1e6, 1e8):
        S = df.make_schedule(50, "log_snr", lam_min=1e-3, lam_max=hi)
        w1.append(df.step_weights(S)[0])
        sig1.append(df.reverse_variances(S)[0])
        total.append(df.gaussian_loss_limit(1e-3, hi, s0))
    assert all(b > 50 * a for a, b in zip(w1, w1[1:]))
    assert all(b < a for a, b in zip(sig1, sig1[1:]))
    np.testing.assert_allclose(np.diff(total), 0.5 * np.log(100), rtol=1e-2)


def test_kernel_density_estimate_needs_one_over_N():
    """The draft's sum over n of p_noise(y - x_n) integrates to N; (1/N) times it is a density."""
    x = np.array([-1.0, 0.2, 0.5, 2.0, 3.1])
    y = np.linspace(-12, 14, 20001)
    k = np.exp(-0.5 * (y[:, None] - x[None, :]) ** 2 / 0.3 ** 2) / np.sqrt(2 * np.pi * 0.3 ** 2)
    dy = y[1] - y[0]
    assert np.sum(k.sum(axis=1)) * dy == pytest.approx(len(x), rel=1e-8)
    assert np.sum(k.mean(axis=1)) * dy == pytest.approx(1.0, rel=1e-8)


def test_schedule_must_decrease_and_bad_input_is_named():
    with pytest.raises(ValueError, match="rho_l"):
        df.check_schedule(df.Schedule(np.ones(3), np.array([1.0, 2.0, 0.5])))
    with pytest.raises(ValueError, match="lam_min"):
        df.make_schedule(5, lam_min=10.0, lam_max=1.0)
    with pytest.raises(ValueError, match="family"):
        df.make_schedule(5, "linear")
    with pytest.raises(ValueError, match="betas"):
        df.ddpm_schedule([0.1, 1.5])
    with pytest.raises(ValueError, match="lam_max"):
        df.ddpm_schedule([0.1, 0.2], lam_max=1.0)
    S = _schedules()[0]
    with pytest.raises(ValueError, match="m must come after l"):
        df.transition(S, 3, 2)
    with pytest.raises(ValueError, match="l must lie"):
        df.noise_data(S, np.zeros((2, 2)), 99, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="z must have shape"):
        df.noise_data(S, np.zeros((2, 2)), 1, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="param"):
        df.loss_terms(S, 1, np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 2)), "score")
    with pytest.raises(ValueError, match="variance preserving"):
        df.to_ddpm(_schedules()[1])
    with pytest.raises(ValueError, match="sigmas"):
        df.annealed_langevin(df.ring_mixture(), [0.1, 1.0], np.zeros((2, 2)), 1, 0.1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="step_size"):
        df.langevin_gmm(df.ring_mixture(), 0.0, np.zeros((2, 2)), 1, -0.1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="model"):
        df.predict("net", (), S, np.zeros((1, 2)), 1)
    with pytest.raises(ValueError, match="m_hat"):
        df.ancestral_sample(S, None, np.random.default_rng(0), 2, 2)


def _cosine_mp(u, lam_min, lam_max, dps=700):
    """cot^2(a + u (b - a)), tan a = lam_max^(-1/2), tan b = lam_min^(-1/2), in ``dps``-digit arithmetic."""
    import mpmath as mp
    with mp.workdps(dps):
        a, b = mp.atan(1 / mp.sqrt(mp.mpf(lam_max))), mp.atan(1 / mp.sqrt(mp.mpf(lam_min)))
        return np.array([float(mp.cot(a + mp.mpf(float(x)) * (b - a)) ** 2) for x in u])


@pytest.mark.parametrize("lam_min, lam_max", [(1e-20, 1e3), (1e-30, 1e3), (1e-40, 1e3), (1e-300, 1e300),
                                              (1e-300, 1e-200), (1e200, 1e300), (0.5, 2.0)])
def test_cosine_schedule_hits_its_end_points_and_follows_the_curve(lam_min, lam_max):
    """cot(pi/2)^2 = 3.75e-33 in float64: lambda_L was 1.4e-6 off at lam_min = 1e-20, 10% at 1e-30 and stuck at
    3.75e-33 below; the half of the curve past pi/4 is now taken from the complementary angle."""
    u = np.linspace(0.0, 1.0, 9)
    h, _ = df.snr_curve(u, "cosine", lam_min, lam_max)
    assert h[0] == lam_max and h[-1] == lam_min
    np.testing.assert_allclose(h, _cosine_mp(u, lam_min, lam_max), rtol=1e-14)
    for kind in ("vp", "ve"):
        lam = df.make_schedule(8, "cosine", lam_min=lam_min, lam_max=lam_max, kind=kind).snr
        np.testing.assert_allclose(lam[[0, -1]], [lam_max, lam_min], rtol=4 * np.finfo(float).eps)


@pytest.mark.parametrize("family", ["log_snr", "cosine"])
def test_snr_range_is_refused_by_the_name_of_the_end_point(family):
    """lam_min = 1e-300, lam_max = 1e300 used to say "lam must be finite; got nan" (lam_min / lam_max underflowed);
    it is a valid range now, and a value outside [1e-300, 1e300] is refused naming lam_min or lam_max."""
    lam = df.make_schedule(4, family, lam_min=1e-300, lam_max=1e300).snr
    np.testing.assert_allclose(lam[[0, -1]], [1e300, 1e-300], rtol=4 * np.finfo(float).eps)
    with pytest.raises(ValueError, match=r"lam_min must be at least 1e-300"):
        df.make_schedule(4, family, lam_min=1e-301, lam_max=1.0)
    with pytest.raises(ValueError, match=r"lam_max must be at most 1e\+300"):
        df.make_schedule(4, family, lam_min=1.0, lam_max=1e301)
