"""Tests for pedagogy_lib.deepgen.vae: the VAE loss against exact oracles (linear-Gaussian evidence,
discrete tables), every hand-written gradient against central differences, and the draft's
Section 8.2 slips."""
import numpy as np
import pytest

from pedagogy_lib.core.linalg import TAU
from pedagogy_lib.deepgen import vae as V
from pedagogy_lib.harmonium.datasets import binarized_digits
from pedagogy_lib.nn.network import DenseParams, numerical_gradient, relative_error
from pedagogy_lib.vi import amortized


def _sigma_points(N, K):
    """2K points per datum with mean 0 and covariance I: averages of quadratics in z are exact."""
    P = np.sqrt(K) * np.vstack([np.eye(K), -np.eye(K)])
    return np.tile(P, (N, 1))


def _linear_vae(C, c, s2):
    """A linear VAE whose decoder is the PPCA model (C, c, s2) and whose encoder is its exact posterior
    (C has orthogonal columns, so the posterior covariance is diagonal)."""
    M, K = C.shape
    model = V.vae(M, K, hidden=0, likelihood="gaussian", alpha=s2)
    lg = amortized.linear_gaussian_model(C, c, s2)
    P = np.eye(K) + C.T @ C / s2
    cov = np.linalg.inv(P)
    A = cov @ C.T / s2                                                 # nu = A (y - c)
    enc = (DenseParams(np.vstack([A, np.zeros((K, M))]), np.concatenate([-A @ c, np.log(np.diag(cov))])), ())
    dec = (DenseParams(C.copy(), c.copy()), ())
    return model, V.VAEParams(enc, dec), lg


def _orthogonal_C(rng, M, K):
    Q, _ = np.linalg.qr(rng.normal(size=(M, K)))
    return Q * np.array([2.0, 0.7, 1.3][:K])


def test_elbo_with_the_exact_posterior_is_the_log_evidence():
    """A linear model of Eq. 8.15 whose Gaussian encoder (Eq. 8.12) outputs the exact posterior: the ELBo
    is the log evidence."""
    rng = np.random.default_rng(0)
    M, K, N = 5, 2, 7
    model, params, lg = _linear_vae(_orthogonal_C(rng, M, K), rng.normal(size=M), 0.3)
    Y = rng.normal(size=(N, M)) * 2
    Z = _sigma_points(N, K)
    elbo = V.elbo_terms(model, params, np.repeat(Y, 2 * K, axis=0), Z).elbo.reshape(N, 2 * K).mean(axis=1)
    np.testing.assert_allclose(elbo, amortized.log_evidence(lg, Y), rtol=0, atol=1e-10)


def test_elbo_is_below_the_evidence_otherwise_and_matches_the_closed_form():
    rng = np.random.default_rng(1)
    M, K, N = 4, 2, 6
    model, params, lg = _linear_vae(_orthogonal_C(rng, M, K), rng.normal(size=M), 0.5)
    Y = rng.normal(size=(N, M))
    enc = params.phi[0]
    bad = V.VAEParams((DenseParams(enc.D + 0.3 * rng.normal(size=enc.D.shape), enc.d + 0.2), ()), params.theta)
    Z = _sigma_points(N, K)
    elbo = V.elbo_terms(model, bad, np.repeat(Y, 2 * K, axis=0), Z).elbo.reshape(N, 2 * K).mean(axis=1)
    nu, log_v2 = V.encode(model, bad, Y)
    np.testing.assert_allclose(elbo, amortized.linear_gaussian_elbo(lg, Y, nu, 0.5 * log_v2), atol=1e-10)
    assert np.all(elbo < amortized.log_evidence(lg, Y) - 1e-6)


def test_gaussian_kl_matches_the_general_gaussian_kl():
    from pedagogy_lib.vi.mean_field import kl_gaussian
    rng = np.random.default_rng(2)
    nu, lv = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    ref = [kl_gaussian(nu[n], np.diag(np.exp(lv[n])), np.zeros(4), np.eye(4)) for n in range(3)]
    np.testing.assert_allclose(V.gaussian_kl(nu, lv), ref, rtol=1e-12)


def test_gaussian_kl_matches_monte_carlo():
    rng = np.random.default_rng(3)
    nu, lv = np.array([[0.5, -1.0, 0.2]]), np.array([[-0.5, 0.3, 0.0]])
    x = nu + np.exp(0.5 * lv) * rng.standard_normal((200_000, 3))
    w = np.sum(-0.5 * ((x - nu) ** 2) / np.exp(lv) - 0.5 * lv + 0.5 * x * x, axis=1)
    assert abs(w.mean() - V.gaussian_kl(nu, lv)[0]) < 4 * w.std() / np.sqrt(w.size)


def _tree_close(a, b, tol):
    assert relative_error(a, b) < tol, relative_error(a, b)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_backprop_gradient_matches_central_differences(likelihood, beta):
    """The gradient through the reparameterized sample of Eq. 8.24 into both networks, against central differences."""
    rng = np.random.default_rng(4)
    M, K, N = 6, 2, 5
    model = V.vae(M, K, hidden=4, likelihood=likelihood, alpha=0.4)
    params = V.init_params(model, rng)
    Y = (rng.random((N, M)) < 0.5).astype(float) if likelihood == "bernoulli" else rng.normal(size=(N, M))
    Z = rng.standard_normal((N, K))
    loss, grads, terms = V.loss_and_grad(model, params, Y, Z, beta=beta)
    assert loss == pytest.approx(np.mean(beta * terms.kl + terms.reconstruction))
    num = numerical_gradient(lambda p: V.loss_and_grad(model, V.VAEParams(*p), Y, Z, beta=beta)[0],
                             tuple(params))
    _tree_close(tuple(grads), num, 1e-7)


def test_reconstruction_matches_the_bernoulli_and_gaussian_log_densities():
    from scipy import stats
    rng = np.random.default_rng(5)
    for lik in ("bernoulli", "gaussian"):
        model = V.vae(3, 2, hidden=3, likelihood=lik, alpha=0.7)
        params = V.init_params(model, rng)
        X = rng.normal(size=(4, 2))
        Y = (rng.random((4, 3)) < 0.5).astype(float) if lik == "bernoulli" else rng.normal(size=(4, 3))
        mean = V.decode(model, params, X)
        if lik == "bernoulli":
            ref = -stats.bernoulli.logpmf(Y, mean).sum(axis=1)
        else:   # the emission energy of Eq. 8.18 with Sigma = alpha I, plus its normalizer
            ref = -stats.multivariate_normal.logpdf(Y - mean, np.zeros(3), 0.7 * np.eye(3))
        np.testing.assert_allclose(V.reconstruction(model, params, X, Y), ref, rtol=1e-10)


def test_training_on_binarized_digits_raises_the_elbo():
    Y, _ = binarized_digits()
    Y = Y[:300]
    model = V.vae(64, 2, hidden=32)
    fit = V.fit_vae(model, Y, np.random.default_rng(6), n_epochs=15, batch=64, lr=3e-3,
                    record_every=5, record_Y=Y[:10])
    assert fit.elbo.shape == (15,) and len(fit.snapshots) == 4 and fit.snapshots[0].shape == (10, 2)
    np.testing.assert_allclose(fit.elbo, -(fit.kl + fit.reconstruction), rtol=1e-12)
    assert fit.elbo[-3:].mean() > fit.elbo[:2].mean() + 5.0              # nats per image


def test_bad_inputs_raise_value_errors_naming_the_argument():
    rng = np.random.default_rng(7)
    model = V.vae(4, 2, hidden=3)
    params = V.init_params(model, rng)
    with pytest.raises(ValueError, match="Y must be binary"):
        V.elbo_terms(model, params, np.full((2, 4), 0.5), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="^Y must have shape"):
        V.elbo_terms(model, params, np.zeros((2, 5)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="^Z must have shape"):
        V.loss_and_grad(model, params, np.zeros((2, 4)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="^alpha must be positive"):
        V.vae(4, 2, likelihood="gaussian", alpha=0.0)
    with pytest.raises(ValueError, match="^likelihood must be one of"):
        V.vae(4, 2, likelihood="poisson")
    with pytest.raises(ValueError, match="^params must be a VAEParams"):
        V.encode(model, tuple(params), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="^nu must not be empty"):
        V.gaussian_kl(np.zeros((0, 0)), np.zeros((0, 0)))
    with pytest.raises(ValueError, match="q_x_y must sum to 1"):
        V.jre_terms([0.5, 0.5], np.full((2, 2), 0.4), [0.5, 0.5], np.full((2, 2), 0.5))


def _random_tables(rng, J=5, I=3):
    d = lambda *s: rng.dirichlet(np.ones(s[-1]), size=s[:-1]) if len(s) > 1 else rng.dirichlet(np.ones(s[0]))
    return d(J), d(J, I), d(I), d(I, J)


def test_eqs_8_20_8_21_and_6_6_hold_on_random_tables():
    rng = np.random.default_rng(8)
    for _ in range(20):
        t = V.jre_terms(*_random_tables(rng))
        assert t.L_JRE == pytest.approx(t.kl_regularizer + t.reconstruction - t.data_entropy, abs=1e-12)  # Eq. 8.20
        assert t.L_JRE == pytest.approx(t.aggregate_kl + t.mutual_information + t.reconstruction
                                        - t.data_entropy, abs=1e-12)                                  # Eq. 8.21
        assert t.L_JRE == pytest.approx(t.mre + t.pre, abs=1e-12)                                     # Eq. 6.6
        assert t.L_JRE >= t.mre - 1e-15 and t.mutual_information >= -1e-15
        assert t.kl_regularizer == pytest.approx(t.aggregate_kl + t.mutual_information, abs=1e-12)


def test_exact_posterior_and_matched_marginal_make_the_aggregate_posterior_the_prior():
    rng = np.random.default_rng(9)
    _, _, p_x, E = _random_tables(rng)
    p_y = p_x @ E                                                       # the data are the model's marginal
    post = (p_x[:, None] * E).T / p_y[:, None]
    t = V.jre_terms(p_y, post, p_x, E)
    assert abs(t.L_JRE) < 1e-12 and abs(t.aggregate_kl) < 1e-12
    assert t.kl_regularizer > 1e-3                                      # the per-datum KL does not vanish


# ------------------------------------------------------------------ errata of Sections 8.2 and 8.2.2
def test_recognition_step_is_the_e_step_of_chapter_6():
    """Section 8.2 calls the optimization over the recognition parameters "the M step". Over q at fixed
    theta, L_JRE falls to the MRE (the bound becomes tight) while the MRE itself cannot change: that is
    Chapter 6's E step. Only the generative step changes the MRE."""
    rng = np.random.default_rng(10)
    p_y, q, p_x, E = _random_tables(rng)
    before = V.jre_terms(p_y, q, p_x, E)
    post = (p_x[:, None] * E).T
    post /= post.sum(axis=1, keepdims=True)
    after = V.jre_terms(p_y, post, p_x, E)
    assert after.mre == pytest.approx(before.mre, abs=1e-14)
    assert after.L_JRE == pytest.approx(after.mre, abs=1e-12) and before.L_JRE > after.L_JRE + 1e-3
    for _ in range(30):                                                  # no other q does better
        assert V.jre_terms(p_y, rng.dirichlet(np.ones(3), size=5), p_x, E).L_JRE >= after.L_JRE


def test_emission_surprisal_needs_the_log_determinant_when_sigma_is_learned():
    """Eq. 8.18 keeps only the quadratic form. With Sigma = a I learned, the derivative of
    -log p(y|x) with respect to a includes M / (2a) from the log-determinant."""
    y, mu, M = np.array([0.3, -1.2, 0.8]), np.array([0.1, -0.4, 1.5]), 3
    nll = lambda a: 0.5 * M * np.log(TAU * a) + 0.5 * np.sum((y - mu) ** 2) / a
    e_emiss = lambda a: 0.5 * np.sum((y - mu) ** 2) / a
    a, h = 0.6, 1e-6
    d_nll = (nll(a + h) - nll(a - h)) / (2 * h)
    d_emiss = (e_emiss(a + h) - e_emiss(a - h)) / (2 * h)
    assert d_nll == pytest.approx(d_emiss + M / (2 * a), rel=1e-8)
    assert abs(d_nll - d_emiss) > 1.0


def _mu(x, W, U):
    return W @ np.tanh(U @ x)


def test_emission_energy_gradient_and_hessian_signs():
    """Section 8.2.2: dE/dx_k = -(1/a)(y - mu)^T dmu/dx_k and the Hessian is
    (1/a)[J^T J - sum_m (y - mu)_m d2 mu_m]; the draft's signs give the negatives."""
    rng = np.random.default_rng(11)
    W, U, y, x, a = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=4), rng.normal(size=2), 0.7
    E = lambda x: np.sum((y - _mu(x, W, U)) ** 2) / (2 * a)
    h = 1e-5
    eye = np.eye(2)
    J = np.column_stack([(_mu(x + h * e, W, U) - _mu(x - h * e, W, U)) / (2 * h) for e in eye])
    grad_fd = np.array([(E(x + h * e) - E(x - h * e)) / (2 * h) for e in eye])
    r = y - _mu(x, W, U)
    np.testing.assert_allclose(grad_fd, -(r @ J) / a, rtol=1e-7)
    assert not np.allclose(grad_fd, (r @ J) / a, rtol=1e-3)                     # the draft's sign
    h2 = 1e-4
    H_fd = np.array([[(E(x + h2 * ei + h2 * ej) - E(x + h2 * ei - h2 * ej) - E(x - h2 * ei + h2 * ej)
                       + E(x - h2 * ei - h2 * ej)) / (4 * h2 * h2) for ej in eye] for ei in eye])
    t = np.tanh(U @ x)
    d2mu = np.einsum("mi,i,ij,ik->mjk", W, -2 * t * (1 - t * t), U, U)        # second derivatives of mu
    H = (J.T @ J - np.einsum("m,mjk->jk", r, d2mu)) / a
    np.testing.assert_allclose(H_fd, H, rtol=1e-5, atol=1e-6)
    assert not np.allclose(H_fd, -H, atol=1e-3)


def test_reconstruction_box_uses_M_and_the_standard_deviations():
    """The box after Eq. 8.26 has K log(tau alpha) and mu(Upsilon z + nu). With M != K and a linear
    decoder, the exact expected surprisal needs M log(tau alpha) and mu(v * z + nu)."""
    rng = np.random.default_rng(12)
    M, K, a = 5, 2, 0.4
    C, c, y = rng.normal(size=(M, K)), rng.normal(size=M), rng.normal(size=M)
    nu, v2 = rng.normal(size=K), np.array([0.3, 2.5])
    r0 = y - C @ nu - c
    exact = 0.5 * (M * np.log(TAU * a) + (r0 @ r0 + np.sum(v2 * np.sum(C * C, axis=0))) / a)
    model = V.vae(M, K, hidden=0, likelihood="gaussian", alpha=a)
    params = V.VAEParams((DenseParams(np.zeros((2 * K, M)), np.concatenate([nu, np.log(v2)])), ()),
                         (DenseParams(C, c), ()))
    Z = _sigma_points(1, K)
    Yr = np.tile(y, (2 * K, 1))
    ours = V.elbo_terms(model, params, Yr, Z).reconstruction.mean()
    assert ours == pytest.approx(exact, rel=1e-12)
    X_draft = nu + v2 * Z                                                       # Upsilon z, not Upsilon^{1/2} z
    R = Yr - X_draft @ C.T - c
    draft = np.mean(0.5 * (K * np.log(TAU * a) + np.sum(R * R, axis=1) / a))
    assert abs(draft - exact) > 0.5
