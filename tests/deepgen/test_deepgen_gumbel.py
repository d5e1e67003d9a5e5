"""Tests for pedagogy_lib.deepgen.gumbel: Gumbel-max against the softmax (chi-square), the Concrete
density (normalization by quadrature, KS against samples), the soft Jacobian and the discrete VAE's
gradient against central differences, and the Section 8.2.2 slips."""
import numpy as np
import pytest
from scipy import integrate, stats

from pedagogy_lib.deepgen import gumbel as gb
from pedagogy_lib.harmonium.datasets import binarized_digits
from pedagogy_lib.nn.network import numerical_gradient, relative_error


def _softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


def test_gumbel_max_frequencies_match_the_softmax_eq_8_28():
    eta = np.array([0.3, -1.0, 1.2, 0.1])
    N = 50_000
    y = gb.gumbel_max(eta, gb.sample_gumbel(np.random.default_rng(0), (N, 4)))
    assert np.all(y.sum(axis=1) == 1)
    counts = y.sum(axis=0)
    # the categorical probabilities sigma(eta) of Eq. 8.27
    assert stats.chisquare(counts, N * _softmax(eta)).pvalue > 0.01


def test_gumbel_mean_is_euler_gamma_not_zero():
    """Section 8.2.2 calls the perturbations "zero-mean"; a standard Gumbel has mean gamma = 0.5772."""
    mean = integrate.quad(lambda g: g * np.exp(-(g + np.exp(-g))), -10, 60, limit=200)[0]
    assert mean == pytest.approx(np.euler_gamma, abs=1e-8) and gb.EULER_GAMMA == pytest.approx(np.euler_gamma)
    g = gb.sample_gumbel(np.random.default_rng(1), 200_000)
    assert abs(g.mean() - np.euler_gamma) < 4 * g.std() / np.sqrt(g.size)
    assert abs(g.mean()) > 0.5
    assert stats.kstest(g, stats.gumbel_r.cdf).pvalue > 0.01


def _logit_grid(s, L):
    """Log-ratio coordinates u = log(y_k / y_K): the density times the Jacobian prod_k y_k is smooth there,
    with tails like exp(-s |u|)."""
    return np.linspace(-L / s, L / s, 1601)


@pytest.mark.parametrize("s", [0.3, 1.0, 2.5])
def test_concrete_density_integrates_to_one_for_k_2_and_3(s):
    eta2 = np.array([0.4, -0.7])
    def f2(u):                                                    # dy_1 = y_1 y_2 du
        y = np.array([1 / (1 + np.exp(-u)), 1 / (1 + np.exp(u))])
        return np.exp(gb.concrete_log_density(y, eta2, s)) * y[0] * y[1]
    assert integrate.quad(f2, -30 / s, 30 / s, limit=200)[0] == pytest.approx(1.0, abs=1e-8)
    eta3 = np.array([0.5, -0.2, 0.1])
    u = _logit_grid(s, 30.0)
    U1, U2 = np.meshgrid(u, u, indexing="ij")
    E = np.stack([np.exp(U1), np.exp(U2), np.ones_like(U1)], axis=-1)
    y = E / E.sum(axis=-1, keepdims=True)
    f3 = np.exp(gb.concrete_log_density(y, eta3, s)) * np.prod(y, axis=-1)   # dy_1 dy_2 = y_1 y_2 y_3 du
    mass = integrate.trapezoid(integrate.trapezoid(f3, u, axis=1), u)
    assert mass == pytest.approx(1.0, abs=1e-6)


def test_concrete_density_for_k_2_is_the_logistic_law_of_the_log_ratio():
    """For K = 2, log(y_1 / y_2) = (eta_1 - eta_2 + G_1 - G_2) / s and G_1 - G_2 is standard logistic, so
    the density of y_1 is the logistic density (location (eta_1 - eta_2) / s, scale 1 / s) of the log
    ratio over y_1 y_2. (This check was on the Section 8.2.2 page, before its exercise.)"""
    y1 = np.linspace(0.01, 0.99, 50)
    e2, s = np.array([0.2, -0.4]), 0.7
    ours = np.exp(gb.concrete_log_density(np.column_stack([y1, 1 - y1]), e2, s))
    ref = stats.logistic.pdf(np.log(y1 / (1 - y1)), loc=0.6 / s, scale=1 / s) / (y1 * (1 - y1))
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_concrete_density_matches_samples():
    eta, s = np.array([0.4, -0.7]), 0.6
    y = gb.soft_categorical(eta, gb.sample_gumbel(np.random.default_rng(2), (20_000, 2)), s)
    u = _logit_grid(s, 30.0)
    y1, y2 = 1 / (1 + np.exp(-u)), 1 / (1 + np.exp(u))
    pdf_u = np.exp(gb.concrete_log_density(np.column_stack([y1, y2]), eta, s)) * y1 * y2
    cdf = integrate.cumulative_trapezoid(pdf_u, u, initial=0)
    assert cdf[-1] == pytest.approx(1.0, abs=1e-6)
    assert stats.kstest(np.log(y[:, 0] / y[:, 1]), lambda v: np.interp(v, u, cdf)).pvalue > 0.01


def test_soft_categorical_jacobian_of_rare_categories_at_a_low_temperature():
    """Two categories of probability 1e-200 at s = 1e-150: d y_1 / d g_2 = -y_1 y_2 / s = -1e-250, which
    float64 holds (the product y_1 y_2 = 1e-400 does not, so it must not be formed first); the entries
    against 50-digit arithmetic."""
    import mpmath
    y, s = np.array([0.5, 0.5 - 2e-200, 1e-200, 1e-200]), 1e-150
    J = gb.soft_categorical_jacobian(y, s)
    with mpmath.workdps(50):
        ym = [mpmath.mpf(v) for v in y]
        exact = np.array([[float(ym[l] * ((1 if l == m else 0) - ym[m]) / mpmath.mpf(s)) for m in range(4)]
                          for l in range(4)])
    np.testing.assert_allclose(J, exact, rtol=1e-14)
    assert J[2, 3] < 0.0


def test_soft_categorical_jacobian_and_the_draft_denominator():
    """The derivative of sigma_l(g / s) has exp(g_m / s) in the numerator's last factor; the draft
    writes exp(g_m), which differs unless s = 1."""
    g, s = np.array([0.2, -0.5, 1.1]), 0.4
    y = gb.soft_categorical(g, np.zeros(3), s)
    J = gb.soft_categorical_jacobian(y, s)
    h = 1e-6
    J_fd = np.column_stack([(gb.soft_categorical(g + h * e, np.zeros(3), s)
                             - gb.soft_categorical(g - h * e, np.zeros(3), s)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(J, J_fd, rtol=1e-7, atol=1e-10)
    h_draft = np.exp(g) / np.sum(np.exp(g / s))
    J_draft = y[:, None] * (np.eye(3) - h_draft[None, :]) / s
    assert not np.allclose(J_draft, J_fd, atol=1e-3)


def test_small_softness_approaches_one_hot():
    """The soft categorical of Eq. 8.29 hardens into the Gumbel-max one-hot as the softness s goes to 0."""
    eta = np.array([0.2, 0.0, -0.3])
    G0 = gb.sample_gumbel(np.random.default_rng(3), (5000, 3))
    means = [gb.soft_categorical(eta, G0, s).max(axis=1).mean() for s in (2.0, 0.5, 0.1, 0.01)]
    assert np.all(np.diff(means) > 0) and means[-1] > 0.99
    same = gb.soft_categorical(eta, G0, 1e-4).argmax(axis=1) == gb.gumbel_max(eta, G0).argmax(axis=1)
    assert same.all()


@pytest.mark.parametrize("straight_through", [False, True])
def test_discrete_vae_gradient(straight_through):
    rng = np.random.default_rng(4)
    model = gb.discrete_vae(6, 2, 3, hidden=4)
    params = gb.init_discrete_params(model, rng)
    Y = (rng.random((5, 6)) < 0.5).astype(float)
    G0 = gb.sample_gumbel(rng, (5, 2, 3))
    loss, grads, (kl, rec) = gb.discrete_loss_and_grad(model, params, Y, G0, 0.7, straight_through=straight_through)
    if not straight_through:                                   # the relaxed loss is differentiable
        num = numerical_gradient(lambda p: gb.discrete_loss_and_grad(model, gb.DiscreteVAEParams(*p), Y, G0, 0.7)[0],
                                 tuple(params))
        assert relative_error(tuple(grads), num) < 1e-7
    else:                                                      # the forward value is the hard one
        elbo = gb.discrete_elbo(model, params, Y, G0)
        np.testing.assert_allclose(-(kl + rec), elbo, rtol=1e-12)
        # the decoder's gradient is exact for the hard input
        num = numerical_gradient(lambda th: gb.discrete_loss_and_grad(
            model, gb.DiscreteVAEParams(params.phi, th), Y, G0, 0.7, straight_through=True)[0], params.theta)
        assert relative_error(grads.theta, num) < 1e-7
    # KL against a uniform prior, by its definition, with q = sigma(eta) (Eq. 8.27)
    eta = model.encoder._forward(params.phi, Y)[0].reshape(5, 2, 3)
    q = np.exp(eta) / np.exp(eta).sum(axis=2, keepdims=True)
    np.testing.assert_allclose(kl, np.sum(q * np.log(3 * q), axis=(1, 2)), rtol=1e-12)


def test_discrete_vae_training_raises_the_elbo():
    Y, _ = binarized_digits()
    Y = Y[:400]
    model = gb.discrete_vae(64, 4, 4, hidden=32)
    fit = gb.fit_discrete_vae(model, Y, np.random.default_rng(5), n_epochs=12, batch=50, lr=3e-3)
    assert fit.s[0] == 1.0 and np.all(np.diff(fit.s) <= 0) and fit.s[-1] >= 0.5
    assert fit.elbo[-3:].mean() > fit.elbo[0] + 5.0
    elbo = gb.discrete_elbo(model, fit.params, Y, gb.sample_gumbel(np.random.default_rng(6), (400, 4, 4)))
    assert elbo.mean() > fit.elbo[0]


def test_bad_inputs_raise_value_errors_naming_the_argument():
    with pytest.raises(ValueError, match="^s must be positive"):
        gb.soft_categorical([0.0, 1.0], [0.0, 0.0], 0.0)
    with pytest.raises(ValueError, match="^s must be positive"):
        gb.concrete_log_density([0.5, 0.5], [0.0, 0.0], -1.0)
    with pytest.raises(ValueError, match="^G0 must have the K = 2"):
        gb.gumbel_max([0.0, 1.0], np.zeros(3))
    with pytest.raises(ValueError, match="^y must lie in the interior"):
        gb.concrete_log_density([1.0, 0.0], [0.0, 0.0], 1.0)
    model = gb.discrete_vae(4, 2, 3, hidden=3)
    params = gb.init_discrete_params(model, np.random.default_rng(0))
    with pytest.raises(ValueError, match="^Y must be binary"):
        gb.discrete_loss_and_grad(model, params, np.full((2, 4), 0.3), np.zeros((2, 2, 3)), 1.0)
    with pytest.raises(ValueError, match="^G0 must have shape"):
        gb.discrete_loss_and_grad(model, params, np.zeros((2, 4)), np.zeros((2, 3, 2)), 1.0)
    with pytest.raises(ValueError, match="^C must be at least 2"):
        gb.discrete_vae(4, 2, 1)
    with pytest.raises(ValueError, match="^eta must not be empty"):
        gb.gumbel_max(np.zeros(0), np.zeros(0))
