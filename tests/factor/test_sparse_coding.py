"""Tests for pedagogy_lib.factor.sparse_coding (book Section 2.1.3, Eqs. 2.28-2.34).

Oracles, all independent of the code under test:
* closed forms written out here (the energies of Eq. 2.29; the K = 1 Laplace-prior evidence as a
  sum of two one-sided Gaussian integrals; soft thresholding for an orthonormal basis);
* finite differences for gradients and Hessians;
* scipy.integrate.quad for the prior normalizers, and a brute-force grid for the 2-D evidence;
* gaussian.bayes_invert (Section 2.1.2) for the Gaussian prior, where Laplace's method is exact;
* scikit-learn's Lasso as a peer MAP solver;
* Monte Carlo with tolerances of 5 standard errors (fixed seeds) for the samplers.
"""
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import log_ndtr

from pedagogy_lib.gaussian import blocks as gaussian
from pedagogy_lib.factor import sparse_coding as sc
from pedagogy_lib.core.gradcheck import gradcheck

TAU = 2 * np.pi


def random_problem(seed, L=3, K=6, prior="laplace", lam=2.0, beta=20.0):
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((L, K))
    alpha = rng.uniform(0.5, 2.0, K)
    if prior == "cauchy":
        model = sc.make_model(C, lam, beta=rng.uniform(0.5, 2.0, K), prior="cauchy")
    elif prior == "gaussian":
        model = sc.make_model(C, lam, alpha, prior="gaussian")
    else:
        model = sc.make_model(C, lam, alpha, beta, prior=prior)
    y = 2.0 * rng.standard_normal(L)
    return model, y, rng


def exact_log_evidence_laplace_1d(y, c, lam, alpha):
    """log p(y) for K = 1, Laplace prior, emission N(c x, I/lam), in closed form.

    On the half-line s x > 0 (s = +1 or -1) the joint energy s alpha x + lam/2 ||y - c x||^2 is a
    quadratic lam c.c / 2 (x - m_s)^2 + const_s with m_s = (lam c.y - s alpha) / (lam c.c), so its
    integral is exp(-const_s) sqrt(tau / (lam c.c)) Phi(s m_s sqrt(lam c.c)).
    """
    cc, cy = c @ c, c @ y
    terms = []
    for s in (1.0, -1.0):
        m = (lam * cy - s * alpha) / (lam * cc)
        const = 0.5 * lam * y @ y - 0.5 * lam * cc * m**2
        terms.append(-const + 0.5 * np.log(TAU / (lam * cc)) + log_ndtr(s * m * np.sqrt(lam * cc)))
    log_Z_joint = np.log(2.0 / alpha) + 0.5 * len(y) * np.log(TAU / lam)
    return np.logaddexp(*terms) - log_Z_joint


def fd_gradient(f, x, h=1e-6):
    return gradcheck(f, x, h=h).numeric


# ------------------------------------------------------------------------------------------------
# Energies (Eq. 2.29) and normalizers
# ------------------------------------------------------------------------------------------------

def test_prior_energies_match_eq_2_29():
    C = np.eye(3)
    x = np.array([-0.7, 0.0, 1.3])
    alpha, beta = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.5, 0.8])
    expected = {
        "laplace": alpha * np.abs(x),
        "logcosh": alpha / beta * np.log(np.cosh(beta * x)),
        "cauchy": np.log(beta**2 + x**2),
        "gaussian": 0.5 * alpha * x**2,
    }
    for prior, E in expected.items():
        model = sc.make_model(C, 1.0, None if prior == "cauchy" else alpha,
                              None if prior == "gaussian" else beta, prior=prior)
        np.testing.assert_allclose(sc.prior_energy(x, model), E.sum(), rtol=1e-13)
        # batched evaluation agrees with one-at-a-time
        X = np.stack([x, -x, 2 * x])
        np.testing.assert_allclose(sc.prior_energy(X, model), [sc.prior_energy(r, model) for r in X], rtol=1e-13)
    lc = sc.make_model(C, 1.0, alpha, beta, prior="logcosh")
    dE, d2E = sc.prior_energy_derivatives(x, lc)
    np.testing.assert_allclose(dE, alpha * np.tanh(beta * x), rtol=1e-13)
    np.testing.assert_allclose(d2E, alpha * beta / np.cosh(beta * x) ** 2, rtol=1e-13)
    ca = sc.make_model(C, 1.0, beta=beta, prior="cauchy")
    dE, d2E = sc.prior_energy_derivatives(x, ca)
    np.testing.assert_allclose(dE, 2 * x / (beta**2 + x**2), rtol=1e-13)
    np.testing.assert_allclose(d2E, 2 * (beta**2 - x**2) / (beta**2 + x**2) ** 2, rtol=1e-13)


def test_logcosh_is_within_log2_over_beta_of_laplace_and_stable_for_large_arguments():
    # (alpha/beta) log cosh(beta x) - alpha |x| lies in [-(alpha/beta) log 2, 0] (Eq. 2.29, "for large beta")
    x = np.linspace(-5, 5, 101)
    alpha = 1.7
    for beta in (1.0, 10.0, 1e3, 1e6):
        lc = sc.make_model(np.ones((1, 1)), 1.0, alpha, beta, prior="logcosh")
        gap = np.array([sc.prior_energy([v], lc) for v in x]) - alpha * np.abs(x)
        assert np.all(gap <= 1e-12) and np.all(gap >= -alpha / beta * np.log(2) - 1e-12)
        assert np.all(np.isfinite(gap))          # cosh(1e6 * 5) overflows; the stable form must not


@pytest.mark.parametrize("prior", sc.PRIORS)
def test_prior_normalizer_integrates_to_one(prior):
    alpha, beta = 1.3, 0.7
    model = sc.make_model(np.ones((1, 1)), 1.0, None if prior == "cauchy" else alpha,
                          None if prior == "gaussian" else beta, prior=prior)
    total, err = integrate.quad(lambda v: np.exp(sc.prior_logpdf([v], model)), -np.inf, np.inf,
                                epsabs=0, epsrel=1e-11, limit=500)
    assert abs(total - 1.0) < 1e-8


@pytest.mark.slow
def test_log_Z_joint_normalizes_the_joint_density():
    # K = 1, L = 1: integrate exp(-E_joint(x, y)) over x and y (Eq. 2.34's Z_joint made explicit). The outer
    # integral over x in two halves, split at the kink of |x|; the inner one over y within 8 standard
    # deviations of the emission (lam = 3) about C x, outside which its mass is below 2e-15 of the whole
    model = sc.make_model([[0.8]], 3.0, 1.5, 10.0)
    half = 8.0 / np.sqrt(3.0)
    val = sum(integrate.dblquad(lambda y, x: np.exp(-sc.joint_energy([x], [y], model)), a, b,
                                lambda x: 0.8 * x - half, lambda x: 0.8 * x + half, epsabs=0, epsrel=1e-8)[0]
              for a, b in ((-25.0, 0.0), (0.0, 25.0)))
    assert abs(np.log(val) - sc.log_Z_joint(model)) < 1e-7
    assert abs(sc.log_Z_joint(model) - (np.log(2 / 1.5) + 0.5 * np.log(TAU / 3.0))) < 1e-13


def test_posterior_energy_is_the_joint_energy():
    """E_joint of the model of Eq. 2.28 with the Laplace energy, alpha^T|x| + lam/2 ||y - C x||^2, serves
    as E_post of Eq. 2.31 (the two differ by a constant in x)."""
    model, y, rng = random_problem(3)
    x = rng.standard_normal(6)
    assert sc.posterior_energy(x, y, model) == sc.joint_energy(x, y, model)
    r = y - model.C @ x
    assert abs(sc.joint_energy(x, y, model) - (model.alpha @ np.abs(x) + 0.5 * model.lam * r @ r)) < 1e-12


# ------------------------------------------------------------------------------------------------
# Gradients and Hessians vs finite differences
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("prior", sc.PRIORS)
def test_gradient_matches_finite_differences(prior):
    model, y, rng = random_problem(10, prior=prior, beta=2.0)
    for _ in range(3):
        x = rng.standard_normal(6)        # almost surely away from the Laplace kinks at 0
        g = sc.energy_gradient(x, y, model)
        g_fd = fd_gradient(lambda v: sc.joint_energy(v, y, model), x)
        np.testing.assert_allclose(g, g_fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("prior", ["logcosh", "cauchy", "gaussian"])
def test_hessian_matches_finite_differences_of_gradient(prior):
    model, y, rng = random_problem(11, prior=prior, beta=2.0)
    x = rng.standard_normal(6)
    H = sc.energy_hessian(x, model)
    H_fd = np.stack([fd_gradient(lambda v: sc.energy_gradient(v, y, model)[k], x) for k in range(6)])
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(H, H.T)


def test_laplace_hessian_is_the_logcosh_surrogate_of_eq_2_33():
    model, y, rng = random_problem(12, prior="laplace", beta=5.0)
    surrogate = model._replace(prior="logcosh")
    x = np.array([0.0, 0.1, -0.3, 1.0, 2.0, -0.05])
    H = sc.energy_hessian(x, model)
    # Eq. 2.33, written out: lam C^T C + diag(alpha o beta sech^2(beta x))
    np.testing.assert_allclose(H, model.lam * model.C.T @ model.C
                               + np.diag(model.alpha * model.beta / np.cosh(model.beta * x) ** 2), rtol=1e-12)
    H_fd = np.stack([fd_gradient(lambda v: sc.energy_gradient(v, y, surrogate)[k], x) for k in range(6)])
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-6)
    dE, d2E = sc.prior_energy_derivatives(x, model)
    np.testing.assert_array_equal(dE, model.alpha * np.sign(x))


# ------------------------------------------------------------------------------------------------
# MAP inference
# ------------------------------------------------------------------------------------------------

def assert_lasso_optimal(x, y, model, tol=1e-6):
    """Subgradient condition: lam c_k^T (y - C x) = alpha_k sign(x_k) if x_k != 0, else |.| <= alpha_k."""
    g = model.lam * model.C.T @ (y - model.C @ x)
    nz = np.abs(x) > 1e-9
    np.testing.assert_allclose(g[nz], model.alpha[nz] * np.sign(x[nz]), atol=tol)
    assert np.all(np.abs(g[~nz]) <= model.alpha[~nz] + tol)


@pytest.mark.parametrize("seed", range(4))
def test_laplace_map_satisfies_subgradient_condition_and_algorithms_agree(seed):
    model, y, _ = random_problem(100 + seed, L=4, K=8)
    res = {m: sc.map_estimate(y, model, method=m) for m in ("fista", "ista", "lbfgs")}
    for r in res.values():
        assert r.converged
        assert_lasso_optimal(r.x0, y, model)
    np.testing.assert_allclose(res["ista"].x0, res["fista"].x0, atol=1e-7)
    np.testing.assert_allclose(res["lbfgs"].x0, res["fista"].x0, atol=1e-6)
    # proximal gradient gives exact zeros, and some coordinates are zero (the code is sparse)
    assert np.any(res["fista"].x0 == 0.0)
    # the energy at the mode is below the energy at perturbed points
    E0 = sc.joint_energy(res["fista"].x0, y, model)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        assert sc.joint_energy(res["fista"].x0 + 1e-3 * rng.standard_normal(8), y, model) >= E0 - 1e-12


def test_laplace_map_matches_sklearn_lasso():
    from sklearn.linear_model import Lasso
    rng = np.random.default_rng(7)
    L, K, lam, alpha = 5, 10, 3.0, 0.8
    C, y = rng.standard_normal((L, K)), rng.standard_normal(L)
    model = sc.make_model(C, lam, alpha, 20.0)
    # sklearn minimizes ||y - C w||^2 / (2 n) + a ||w||_1 with n = L rows; dividing our energy by
    # lam L gives a = alpha / (lam L).
    ref = Lasso(alpha=alpha / (lam * L), fit_intercept=False, tol=1e-14, max_iter=200000).fit(C, y).coef_
    np.testing.assert_allclose(sc.map_estimate(y, model).x0, ref, atol=1e-6)


def test_orthonormal_basis_map_is_soft_thresholding():
    rng = np.random.default_rng(8)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    lam, alpha = 2.0, np.array([0.5, 1.0, 3.0, 0.1])
    model = sc.make_model(Q, lam, alpha, 20.0)
    y = rng.standard_normal(4)
    z = Q.T @ y
    expected = np.sign(z) * np.maximum(np.abs(z) - alpha / lam, 0)
    np.testing.assert_allclose(sc.map_estimate(y, model).x0, expected, atol=1e-9)
    np.testing.assert_allclose(sc.soft_threshold(z, alpha / lam), expected, atol=1e-15)


def test_logcosh_mode_converges_to_laplace_mode_as_beta_grows():
    model, y, _ = random_problem(20, L=3, K=5)
    x_lap = sc.map_estimate(y, model).x0
    errs = []
    for beta in (1.0, 10.0, 100.0, 1000.0):
        lc = sc.make_model(model.C, model.lam, model.alpha, beta, prior="logcosh")
        r_newton = sc.map_estimate(y, lc, method="newton")
        r_lbfgs = sc.map_estimate(y, lc, method="lbfgs")
        np.testing.assert_allclose(sc.energy_gradient(r_newton.x0, y, lc), 0, atol=1e-8)
        np.testing.assert_allclose(r_lbfgs.x0, r_newton.x0, atol=1e-5)
        errs.append(np.abs(r_newton.x0 - x_lap).max())
    assert all(b < a for a, b in zip(errs, errs[1:]))
    assert errs[-1] < 1e-2        # the surrogate's slope alpha tanh(beta x) differs from alpha sign(x) by O(1/beta)


def test_cauchy_map_is_a_stationary_point_with_positive_definite_hessian():
    """At the mode the linear term of the expansion of Eq. 2.30 vanishes and its Hessian is positive definite."""
    model, y, _ = random_problem(21, L=3, K=3, prior="cauchy")
    r = sc.map_estimate(y, model)
    np.testing.assert_allclose(sc.energy_gradient(r.x0, y, model), 0, atol=1e-6)
    assert np.all(np.linalg.eigvalsh(sc.energy_hessian(r.x0, model)) > 0)


# ------------------------------------------------------------------------------------------------
# Laplace's method: exact for a Gaussian prior (Eqs. 2.31/2.32 vs 2.21/2.22)
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("L,K", [(4, 2), (2, 4), (3, 3)])
def test_gaussian_prior_laplace_is_exact_factor_analysis(L, K):
    """For a Gaussian prior the Laplace approximations of the posterior (Eq. 2.31) and of the marginal
    (Eq. 2.32) are exact: they equal the jointly Gaussian answers."""
    model, y, _ = random_problem(30 + K, L=L, K=K, prior="gaussian")
    la = sc.laplace_approximation(y, model)
    for form in ("information", "covariance"):
        post = gaussian.bayes_invert(np.zeros(K), np.diag(1 / model.alpha), model.C, np.zeros(L),
                                     np.eye(L) / model.lam, y, form=form)
        np.testing.assert_allclose(la.x0, post.mu, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(la.Sigma, post.Sigma, rtol=1e-10, atol=1e-12)
        assert abs(la.log_evidence - post.log_evidence) < 1e-10
    # proximal gradient also reaches the Gaussian mode
    np.testing.assert_allclose(sc.map_estimate(y, model, method="fista").x0, la.x0, atol=1e-8)


def test_unit_gaussian_prior_reproduces_factor_analysis_eqs_2_21_2_22():
    # alpha = 1 is Eq. 2.20 with Lambda = I / lam and c = 0; Eqs. 2.21-2.22 written out with scipy
    rng = np.random.default_rng(35)
    L, K, lam = 5, 2, 3.0
    C, y = rng.standard_normal((L, K)), rng.standard_normal(L)
    la = sc.laplace_approximation(y, sc.make_model(C, lam, 1.0, prior="gaussian"))
    Sigma_post = np.linalg.inv(lam * C.T @ C + np.eye(K))                 # Eq. 2.22, covariance
    np.testing.assert_allclose(la.Sigma, Sigma_post, rtol=1e-10)
    np.testing.assert_allclose(la.x0, Sigma_post @ C.T @ (lam * y), rtol=1e-10)   # Eq. 2.22, mean
    ref = stats.multivariate_normal.logpdf(y, np.zeros(L), C @ C.T + np.eye(L) / lam)   # Eq. 2.21
    assert abs(la.log_evidence - ref) < 1e-10


def test_gaussian_prior_quadrature_matches_bayes_invert_in_2d():
    model, y, _ = random_problem(40, L=2, K=2, prior="gaussian")
    post = gaussian.bayes_invert(np.zeros(2), np.diag(1 / model.alpha), model.C, np.zeros(2), np.eye(2) / model.lam, y)
    assert abs(sc.log_marginal_quadrature(y, model) - post.log_evidence) < 1e-8


# ------------------------------------------------------------------------------------------------
# Laplace's method for the Laplace prior: Eq. 2.34 (corrected) vs quadrature
# ------------------------------------------------------------------------------------------------

def test_quadrature_matches_closed_form_in_1d():
    for lam, y in [(4.0, [1.2, 0.4]), (1.0, [0.1, -0.3]), (30.0, [-2.0, 0.5])]:
        model = sc.make_model([[1.0], [0.5]], lam, 1.5, 50.0)
        exact = exact_log_evidence_laplace_1d(np.array(y), np.array([1.0, 0.5]), lam, 1.5)
        assert abs(sc.log_marginal_quadrature(y, model) - exact) < 1e-9


def test_quadrature_2d_laplace_prior_matches_a_fine_grid():
    rng = np.random.default_rng(41)
    model = sc.make_model(rng.standard_normal((2, 2)), 3.0, [1.0, 2.0], 30.0)
    y = np.array([1.0, -0.5])
    q = sc.log_marginal_quadrature(y, model)
    # trapezoid rule on a grid whose nodes include the kinks (the axes): error O(h^2) per smooth panel
    g = np.linspace(-12, 12, 2401)              # h = 0.01, 0 is a node
    X1, X2 = np.meshgrid(g, g, indexing="ij")
    E = sc.joint_energy(np.stack([X1.ravel(), X2.ravel()], 1), y, model).reshape(X1.shape)
    w = np.exp(-(E - E.min()))
    val = np.trapezoid(np.trapezoid(w, g, axis=1), g)
    grid = np.log(val) - E.min() - sc.log_Z_joint(model)
    assert abs(q - grid) < 1e-4
    # a wider box does not change the answer: the default box holds all the mass
    assert abs(sc.log_marginal_quadrature(y, model, half_width=60.0) - q) < 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["laplace", "gaussian"])
def test_quadrature_closed_form_inner_integral_matches_nested_quadrature(prior):
    rng = np.random.default_rng(42)
    C = rng.standard_normal((3, 2))
    model = sc.make_model(C, 2.0, [0.7, 1.5], 20.0 if prior == "laplace" else None, prior=prior)
    y = rng.standard_normal(3)
    fast = sc.log_marginal_quadrature(y, model)
    nested = sc.log_marginal_quadrature(y, model, closed_form_inner=False, epsrel=1e-8)
    assert abs(fast - nested) < 1e-7


@pytest.mark.slow
def test_quadrature_2d_logcosh_prior_matches_a_fine_grid():
    # nested quadrature (no closed form for the log-cosh inner integral) against the trapezoid rule
    model = sc.make_model(np.array([[1.0, 0.4], [0.2, 0.9]]), 3.0, [1.0, 1.5], 3.0, prior="logcosh")
    y = np.array([0.8, -0.4])
    q = sc.log_marginal_quadrature(y, model, epsrel=1e-6)
    g = np.linspace(-15, 15, 1501)
    X1, X2 = np.meshgrid(g, g, indexing="ij")
    E = sc.joint_energy(np.stack([X1.ravel(), X2.ravel()], 1), y, model).reshape(X1.shape)
    val = np.trapezoid(np.trapezoid(np.exp(-(E - E.min())), g, axis=1), g)
    assert abs(q - (np.log(val) - E.min() - sc.log_Z_joint(model))) < 1e-4


def test_eq_2_34_corrected_formula_written_out():
    # Eq. 2.34 with the sign corrected and Z_joint = prod(2 / alpha) (tau / lam)^{L/2}
    model, y, _ = random_problem(50, L=3, K=4, beta=10.0)
    la = sc.laplace_approximation(y, model)
    x0, C, lam, alpha, beta = la.x0, model.C, model.lam, model.alpha, model.beta
    K, L = 4, 3
    H = lam * C.T @ C + np.diag(alpha * beta / np.cosh(beta * x0) ** 2)
    log_Z_joint = np.sum(np.log(2 / alpha)) + 0.5 * L * np.log(TAU / lam)
    expected = (0.5 * K * np.log(TAU) - log_Z_joint - alpha @ np.abs(x0) - 0.5 * lam * np.sum((y - C @ x0) ** 2)
                - 0.5 * np.linalg.slogdet(H)[1])
    assert abs(la.log_evidence - expected) < 1e-10
    np.testing.assert_allclose(la.Sigma @ H, np.eye(K), atol=1e-10)


def test_eq_2_34_sign_correction_draft_sign_is_wrong_corrected_sign_matches_quadrature():
    # 1-D latent, 2-D emission; the mode x0 = 0.82 is away from the kink, so Laplace is accurate here
    model = sc.make_model([[1.0], [0.5]], 4.0, 1.5, 50.0)
    y = np.array([1.2, 0.4])
    la = sc.laplace_approximation(y, model)
    exact = exact_log_evidence_laplace_1d(y, np.array([1.0, 0.5]), 4.0, 1.5)
    # the draft's exponent is +alpha^T|x0| - lam/2 ||y - C x0||^2: it adds 2 alpha^T|x0| to the log
    draft = la.log_evidence + 2 * model.alpha @ np.abs(la.x0)
    assert abs(la.log_evidence - exact) < 0.02          # corrected: 0.0119 off (see the bound test below)
    assert abs(draft - exact) > 2.0                     # draft sign: off by 2 * 1.5 * 0.82 = 2.46 nats
    assert abs(np.exp(draft) / np.exp(exact) - 1) > 5   # i.e. p(y) too large by a factor e^2.46 ~ 11.7


def test_laplace_approximation_converges_as_lambda_norm_C_squared_grows():
    # K = 1, x0 > 0: the exact evidence is the Gaussian integral times Phi(x0 / sigma) (plus the far
    # half-line's tiny term), while Laplace uses the full Gaussian integral. So the log error is about
    # the Gaussian mass on the wrong side of the kink, Phi(-x0 / sigma) <= the bound checked here,
    # and it vanishes as lam ||C||^2 grows (sigma^2 = 1 / (lam ||C||^2)).
    c, y = np.array([1.0, 0.5]), np.array([1.2, 0.4])
    errs = []
    for lam in (4.0, 16.0, 64.0, 256.0):
        model = sc.make_model(c[:, None], lam, 1.5, 50.0)
        la = sc.laplace_approximation(y, model)
        err = abs(la.log_evidence - exact_log_evidence_laplace_1d(y, c, lam, 1.5))
        sigma = np.sqrt(la.Sigma[0, 0])
        assert err <= stats.norm.sf(la.x0[0] / sigma) + 1e-10
        errs.append(err)
    assert errs[0] > errs[1] > 1e-9 and errs[-1] < 1e-10


def test_laplace_posterior_variance_collapses_on_zero_coordinates_as_beta_grows():
    # the artefact of Eq. 2.33: at x0_k = 0 the surrogate curvature is alpha_k beta, so Sigma_kk <= 1/(alpha_k beta)
    model, y, _ = random_problem(60, L=3, K=6)
    for beta in (10.0, 1e3, 1e5):
        la = sc.laplace_approximation(y, model._replace(beta=np.full(6, beta)))
        zero = la.x0 == 0
        assert zero.any()
        assert np.all(np.diag(la.Sigma)[zero] <= 1 / (model.alpha[zero] * beta) + 1e-15)


def test_laplace_method_rejects_a_saddle_of_a_bimodal_cauchy_posterior():
    # two equally good explanations x = (a, 0) and (0, a) of y = x1 + x2; the symmetric start stays on the
    # diagonal and stops at the saddle between the modes, where Laplace's method does not apply
    model = sc.make_model([[1.0, 1.0]], 4.0, beta=0.5, prior="cauchy")
    with pytest.raises(ValueError, match=r"Hessian of E_post at the mode is not positive definite"):
        sc.laplace_approximation([6.0], model)


# ------------------------------------------------------------------------------------------------
# Sampling (5 standard errors, fixed seeds)
# ------------------------------------------------------------------------------------------------

def test_samplers_match_prior_moments():
    """Draws from the factorial prior of Eq. 2.28 with each energy of Eq. 2.29."""
    rng = np.random.default_rng(70)
    N = 40000
    C = np.eye(2)
    alpha, beta = np.array([1.0, 3.0]), np.array([0.5, 4.0])
    X = sc.sample_prior(rng, sc.make_model(C, 1.0, alpha, 10.0), N)             # Laplace: E|x| = 1/alpha
    a = np.abs(X)
    assert np.all(np.abs(a.mean(0) - 1 / alpha) < 5 * a.std(0) / np.sqrt(N))
    X = sc.sample_prior(rng, sc.make_model(C, 1.0, alpha, prior="gaussian"), N)  # Gaussian: E x^2 = 1/alpha
    s = X**2
    assert np.all(np.abs(s.mean(0) - 1 / alpha) < 5 * s.std(0) / np.sqrt(N))
    X = sc.sample_prior(rng, sc.make_model(C, 1.0, beta=beta, prior="cauchy"), N)  # Cauchy: P(|x| < beta) = 1/2
    p = (np.abs(X) < beta).mean(0)
    assert np.all(np.abs(p - 0.5) < 5 * 0.5 / np.sqrt(N))
    lc = sc.make_model(np.eye(1), 1.0, 2.0, 3.0, prior="logcosh")                 # log-cosh: E x^2 by quadrature
    X = sc.sample_prior(rng, lc, N)[:, 0]
    m2, _ = integrate.quad(lambda v: v * v * np.exp(sc.prior_logpdf([v], lc)), -np.inf, np.inf)
    assert abs((X**2).mean() - m2) < 5 * (X**2).std() / np.sqrt(N)


def test_sample_emission_noise_has_precision_lambda():
    """The emission of Eq. 2.28, N(C x, I / lam)."""
    rng = np.random.default_rng(71)
    model = sc.make_model(rng.standard_normal((3, 5)), 4.0, 1.0, 10.0)
    X, Y = sc.sample(rng, model, 20000)
    R = Y - X @ model.C.T
    v = (R**2).mean(0)
    assert np.all(np.abs(v - 0.25) < 5 * (R**2).std(0) / np.sqrt(20000))


# ------------------------------------------------------------------------------------------------
# Validation: one test per message
# ------------------------------------------------------------------------------------------------

def test_validation_messages():
    C = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"prior must be one of .*got 'student'"):
        sc.make_model(C, 1.0, 1.0, 1.0, prior="student")
    with pytest.raises(ValueError, match=r"C must be a 2-D array of shape \(L, K\)"):
        sc.make_model(np.ones(3), 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"C must have at least one row and one column"):
        sc.make_model(np.ones((2, 0)), 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"lam must be positive; got -1"):
        sc.make_model(C, -1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"lam must be a scalar"):
        sc.make_model(C, [1.0, 2.0], 1.0, 1.0)
    with pytest.raises(ValueError, match=r"alpha is not a parameter of the Cauchy prior"):
        sc.make_model(C, 1.0, 1.0, 1.0, prior="cauchy")
    with pytest.raises(ValueError, match=r"alpha is required for the 'laplace' prior"):
        sc.make_model(C, 1.0, None, 1.0)
    with pytest.raises(ValueError, match=r"beta is not a parameter of the Gaussian prior"):
        sc.make_model(C, 1.0, 1.0, 1.0, prior="gaussian")
    with pytest.raises(ValueError, match=r"beta is required for the 'laplace' prior \(the sharpness of the log-cosh"):
        sc.make_model(C, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"beta is required for the 'cauchy' prior \(its scale"):
        sc.make_model(C, 1.0, prior="cauchy")
    with pytest.raises(ValueError, match=r"alpha must be a scalar or have shape \(K,\) = \(3,\); got \(2,\)"):
        sc.make_model(C, 1.0, [1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match=r"alpha must be positive; entry 1 is 0"):
        sc.make_model(C, 1.0, [1.0, 0.0, 1.0], 1.0)
    with pytest.raises(ValueError, match=r"beta must be finite"):
        sc.make_model(C, 1.0, 1.0, np.inf)


def test_validation_messages_of_functions():
    model = sc.make_model(np.ones((2, 3)), 1.0, 1.0, 1.0)
    with pytest.raises(TypeError, match=r"model must be a SparseCodingModel"):
        sc.prior_energy(np.zeros(3), (np.ones((2, 3)), 1.0))
    with pytest.raises(ValueError, match=r"x must have shape \(K,\) or \(N, K\) with K = 3; got \(2,\)"):
        sc.joint_energy(np.zeros(2), np.zeros(2), model)
    with pytest.raises(ValueError, match=r"x must have shape \(K,\) with K = 3; got \(1, 3\)"):
        sc.energy_hessian(np.zeros((1, 3)), model)
    with pytest.raises(ValueError, match=r"y must have shape \(L,\) = \(2,\); got \(3,\)"):
        sc.energy_gradient(np.zeros(3), np.zeros(3), model)
    with pytest.raises(ValueError, match=r"y must be finite"):
        sc.map_estimate([np.nan, 0.0], model)
    with pytest.raises(ValueError, match=r"t must be non-negative; entry 0 is -1"):
        sc.soft_threshold([1.0], [-1.0])
    with pytest.raises(ValueError, match=r"method must be one of .*got 'adam'"):
        sc.map_estimate(np.zeros(2), model, method="adam")
    with pytest.raises(ValueError, match=r"method 'newton' is not available for the 'laplace' prior"):
        sc.map_estimate(np.zeros(2), model, method="newton")
    with pytest.raises(ValueError, match=r"tol must be positive; got 0"):
        sc.map_estimate(np.zeros(2), model, tol=0.0)
    with pytest.raises(ValueError, match=r"max_iter must be at least 1; got 0"):
        sc.map_estimate(np.zeros(2), model, max_iter=0)
    with pytest.raises(ValueError, match=r"x must have shape \(K,\) with K = 3; got \(2,\)"):
        sc.map_estimate(np.zeros(2), model, x_init=np.zeros(2))
    with pytest.raises(ValueError, match=r"log_marginal_quadrature integrates over K <= 2 sources; got K = 3"):
        sc.log_marginal_quadrature(np.zeros(2), model)
    m2 = sc.make_model(np.ones((2, 2)), 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"half_width must be a scalar or have shape \(K,\) = \(2,\); got \(3,\)"):
        sc.log_marginal_quadrature(np.zeros(2), m2, half_width=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"epsrel must be positive"):
        sc.log_marginal_quadrature(np.zeros(2), m2, epsrel=-1.0)
    with pytest.raises(ValueError, match=r"N must be at least 1; got 0"):
        sc.sample_prior(np.random.default_rng(0), model, 0)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        sc.sample(0, model, 5)


def test_non_convergence_warns():
    model, y, _ = random_problem(80, L=4, K=8)
    with pytest.warns(RuntimeWarning, match=r"map_estimate \(ista\) did not converge in 2 iterations"):
        r = sc.map_estimate(y, model, method="ista", max_iter=2)
    assert not r.converged and r.path.shape == (3, 8)
