"""The VAE's gradients through the Gaussian identities (pedagogy_lib.deepgen.gaussian_gradients).

Exact checks use a linear-Gaussian emission, for which the joint relative entropy of one datum has a
closed form written here from its definition (expected quadratic energy, prior energy, Gaussian
entropy); its derivatives by central differences are the reference. Monte Carlo checks state their
tolerance as 4 standard errors per entry, the standard error being the spread of the single-draw
estimates over the square root of the number of draws (a paired difference when two estimators share
the draws): a correct estimator misses one entry with probability about 6e-5, and the draws are seeded.
"""
import numpy as np
import pytest

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.deepgen import gaussian_gradients as gg

N_SE = 4.0


def _spd(rng, K, scale=0.4, ridge=0.2):
    A = scale * rng.normal(size=(K, K))
    return A @ A.T + ridge * np.eye(K)


# ------------------------------------------------------------------------------ a linear emission
def _linear_problem(seed=0, K=3, M=4):
    rng = np.random.default_rng(seed)
    C, b, y = rng.normal(size=(M, K)), rng.normal(size=M), rng.normal(size=M)
    P = np.linalg.inv(_spd(rng, M, 0.5, 0.5))                 # the emission precision Sigma^{-1}
    nu, U = rng.normal(size=K), _spd(rng, K)
    return C, b, y, P, nu, U


def _linear_callables(C, b, y, P):
    def grad_x(x):
        return -C.T @ P @ (y - C @ x - b)

    def hess_x(x):
        return C.T @ P @ C

    def grad_theta(x):                                         # theta = (C, b), C flattened row by row
        Pr = P @ (y - C @ x - b)
        return np.concatenate([-np.outer(Pr, x).ravel(), -Pr])
    return grad_x, hess_x, grad_theta


def _linear_jre(nu, U, C, b, y, P):
    """E_q[1/2 (y - C x - b)^T P (y - C x - b)] + E_q[1/2 x^T x] - 1/2 log|U|, with q = N(nu, U):
    the mean of a quadratic form is the form at the mean plus the trace against the covariance."""
    r = y - C @ nu - b
    return (0.5 * (r @ P @ r + np.trace(C.T @ P @ C @ U)) + 0.5 * (nu @ nu + np.trace(U))
            - 0.5 * np.linalg.slogdet(U)[1])


def test_exact_gradients_of_the_linear_gaussian_jre_are_eqs_8_16_and_8_17():
    """With antithetic draws (z and -z) the average emission gradient of a linear emission is the exact
    expectation and its Hessian is constant, so the Hessian route returns the exact gradients; they
    equal central differences of the closed-form joint relative entropy in nu and in every entry of
    Upsilon. The route is Eqs. 8.3-8.4 (expected gradient, half the expected Hessian); the closed form
    is that of the model of Eq. 8.15 with the emission energy of Eq. 8.18 and the recognition
    distribution of Eq. 8.12."""
    C, b, y, P, nu, U = _linear_problem()
    g, h, _ = _linear_callables(C, b, y, P)
    z = np.random.default_rng(1).standard_normal((3, 3))
    out = gg.hessian_route_gradients(nu, U, np.vstack([z, -z]), g, h)
    fd_nu = gradcheck(lambda v: _linear_jre(v, U, C, b, y, P), nu, out.d_nu, rtol=1e-6, atol=1e-8)
    fd_U = gradcheck(lambda V: _linear_jre(nu, V, C, b, y, P), U, out.d_Upsilon, rtol=1e-6, atol=1e-8)
    assert fd_nu.ok, fd_nu
    assert fd_U.ok, fd_U
    # the draft's +nu, +I and one half are all needed: leaving any out misses the differences
    assert not np.allclose(out.d_nu - nu, fd_nu.numeric, atol=1e-4)
    assert not np.allclose(out.d_Upsilon - 0.5 * np.eye(3), fd_U.numeric, atol=1e-4)
    assert not np.allclose(2 * out.d_Upsilon, fd_U.numeric, atol=1e-4)


def test_a_symmetric_change_of_upsilon_moves_the_jre_by_the_trace_of_eq_8_17():
    """Eq. 8.17's trace form: along a symmetric direction D, dL = tr[G D] with G the returned matrix."""
    C, b, y, P, nu, U = _linear_problem(2)
    g, h, _ = _linear_callables(C, b, y, P)
    G = gg.hessian_route_gradients(nu, U, np.zeros((1, 3)), g, h).d_Upsilon
    D = np.random.default_rng(3).normal(size=(3, 3))
    D = D + D.T
    eps = 1e-6
    fd = (_linear_jre(nu, U + eps * D, C, b, y, P) - _linear_jre(nu, U - eps * D, C, b, y, P)) / (2 * eps)
    assert abs(fd - np.trace(G @ D)) < 1e-6 * (1 + abs(fd))


def test_monte_carlo_estimates_of_the_linear_gaussian_gradients_within_standard_errors():
    """Sampled estimates of the gradient of an expectation (see Eq. 8.22), the pathwise one through
    x = nu + L z (Eq. 8.24), within standard errors of the exact gradients."""
    C, b, y, P, nu, U = _linear_problem(4)
    g, h, gt = _linear_callables(C, b, y, P)
    S = 4000
    Z = np.random.default_rng(5).standard_normal((S, 3))
    hr = gg.hessian_route_gradients(nu, U, Z, g, h, gt)
    pw = gg.pathwise_gradients(nu, U, Z, g, gt)
    exact_nu = gradcheck(lambda v: _linear_jre(v, U, C, b, y, P), nu).numeric
    exact_U = gradcheck(lambda V: _linear_jre(nu, V, C, b, y, P), U).numeric
    se_nu = hr.d_nu_draws.std(axis=0, ddof=1) / np.sqrt(S)
    assert np.all(np.abs(hr.d_nu - exact_nu) <= N_SE * se_nu + 1e-9)
    np.testing.assert_allclose(pw.d_nu, hr.d_nu, rtol=1e-12, atol=1e-12)   # the same estimator for nu
    # a constant Hessian: every single draw of the Hessian route is already exact (zero variance)
    np.testing.assert_allclose(hr.d_Upsilon_draws, np.broadcast_to(exact_U, (S, 3, 3)), rtol=1e-6, atol=1e-8)
    se_U = pw.d_Upsilon_draws.std(axis=0, ddof=1) / np.sqrt(S)
    assert np.all(se_U > 0)
    assert np.all(np.abs(pw.d_Upsilon - exact_U) <= N_SE * se_U)
    # the Cholesky gradient the reparameterized VAE uses: d/dL = tril(2 (dL/dUpsilon) L)
    L = np.linalg.cholesky(U)
    exact_L = np.tril(2 * exact_U @ L)
    se_L = pw.d_L_draws.std(axis=0, ddof=1) / np.sqrt(S)
    low = np.tril_indices(3)
    assert np.all(np.abs(pw.d_L - exact_L)[low] <= N_SE * se_L[low] + 1e-9)
    assert np.all(np.triu(pw.d_L, 1) == 0)
    # Eq. 8.19: the generative gradient, against central differences of the closed form in (C, b);
    # its standard error from 20 batches of the draws
    def jre_theta(th):
        return _linear_jre(nu, U, th[:12].reshape(4, 3), th[12:], y, P)
    exact_theta = gradcheck(jre_theta, np.concatenate([C.ravel(), b])).numeric
    batches = np.array([gg.hessian_route_gradients(nu, U, Zb, g, h, gt).d_theta for Zb in np.split(Z, 20)])
    se_theta = batches.std(axis=0, ddof=1) / np.sqrt(20)
    assert np.all(np.abs(hr.d_theta - exact_theta) <= N_SE * se_theta + 1e-9)
    np.testing.assert_allclose(pw.d_theta, hr.d_theta, rtol=1e-12)


def test_pathwise_cholesky_gradient_matches_finite_differences_of_its_own_sampled_loss():
    """With the draws fixed, the pathwise d_L is the exact derivative of the sampled loss
    <E_emiss(nu + L z_s)> + 1/2 (nu^T nu + tr L L^T) - sum log L_kk in the lower entries of L."""
    C, b, y, P, nu, U = _linear_problem(6)
    g, _, _ = _linear_callables(C, b, y, P)
    Z = np.random.default_rng(7).standard_normal((5, 3))
    L = np.linalg.cholesky(U)

    def sampled(Lm):
        X = nu + Z @ Lm.T
        R = y - X @ C.T - b
        return (0.5 * np.mean(np.einsum("si,ij,sj->s", R, P, R)) + 0.5 * (nu @ nu + np.sum(Lm * Lm))
                - np.sum(np.log(np.diag(Lm))))
    fd = gradcheck(sampled, L).numeric
    out = gg.pathwise_gradients(nu, U, Z, g)
    np.testing.assert_allclose(out.d_L, np.tril(fd), rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------------ a tanh emission
def _tanh_problem(seed, K=2, M=3, w_scale=1.5):
    rng = np.random.default_rng(seed)
    W, b = w_scale * rng.normal(size=(M, K)), 0.5 * rng.normal(size=M)
    P = np.diag(rng.uniform(1.0, 4.0, size=M))
    y = rng.uniform(-0.9, 0.9, size=M)
    return W, b, P, y, 0.5 * rng.normal(size=K), _spd(rng, K)


def _tanh_callables(W, b, P, y):
    """E_emiss(x) = 1/2 (y - tanh(W x + b))^T P (y - tanh(W x + b)), its gradient and Hessian in x, and
    its gradient in theta = (W flattened, b), all written by hand."""
    def parts(x):
        t = np.tanh(W @ x + b)
        return t, 1.0 - t * t, P @ (y - t)

    def energy(x):
        t, _, Pr = parts(x)
        return 0.5 * (y - t) @ Pr

    def grad_x(x):
        _, d, Pr = parts(x)
        return -W.T @ (d * Pr)

    def hess_x(x):                       # Gauss-Newton part J^T P J plus the curvature of tanh
        t, d, Pr = parts(x)
        J = d[:, None] * W
        return J.T @ P @ J + 2.0 * W.T @ ((Pr * t * d)[:, None] * W)

    def grad_theta(x):
        _, d, Pr = parts(x)
        return np.concatenate([-np.outer(d * Pr, x).ravel(), -d * Pr])
    return energy, grad_x, hess_x, grad_theta


def test_tanh_emission_derivatives_by_finite_differences():
    W, b, P, y, nu, U = _tanh_problem(0)
    energy, g, h, gt = _tanh_callables(W, b, P, y)
    x = np.array([0.3, -0.7])
    assert gradcheck(energy, x, g(x), rtol=1e-6, atol=1e-8).ok
    assert gradcheck(g, x, h(x), rtol=1e-6, atol=1e-8).ok
    np.testing.assert_allclose(h(x), h(x).T, atol=1e-14)

    def energy_theta(th):
        return _tanh_callables(th[:6].reshape(3, 2), th[6:], P, y)[0](x)
    assert gradcheck(energy_theta, np.concatenate([W.ravel(), b]), gt(x), rtol=1e-6, atol=1e-8).ok


@pytest.mark.parametrize("seed, w_scale", [(0, 1.5), (1, 1.5), (2, 0.5), (3, 2.5)])
def test_hessian_route_and_pathwise_agree_in_expectation_on_a_tanh_emission(seed, w_scale):
    W, b, P, y, nu, U = _tanh_problem(seed, w_scale=w_scale)
    _, g, h, _ = _tanh_callables(W, b, P, y)
    S = 6000
    Z = np.random.default_rng(100 + seed).standard_normal((S, 2))
    hr = gg.hessian_route_gradients(nu, U, Z, g, h)
    pw = gg.pathwise_gradients(nu, U, Z, g)
    diff = hr.d_Upsilon_draws - pw.d_Upsilon_draws              # paired: the same draws
    se = diff.std(axis=0, ddof=1) / np.sqrt(S)
    assert np.all(np.abs(diff.mean(axis=0)) <= N_SE * se)
    L = np.linalg.cholesky(U)
    diff_L = np.tril(2 * hr.d_Upsilon_draws @ L) - pw.d_L_draws
    se_L = diff_L.std(axis=0, ddof=1) / np.sqrt(S)
    low = np.tril_indices(2)
    assert np.all(np.abs(diff_L.mean(axis=0))[low] <= N_SE * se_L[low])


def _variance_ratio(seed, w_scale, S=20000):
    """Per-entry variance of the Hessian route's single-draw d_Upsilon over the pathwise one's."""
    W, b, P, y, nu, U = _tanh_problem(seed, w_scale=w_scale)
    _, g, h, _ = _tanh_callables(W, b, P, y)
    Z = np.random.default_rng(200 + seed).standard_normal((S, 2))
    v_h = gg.hessian_route_gradients(nu, U, Z, g, h).d_Upsilon_draws.var(axis=0)
    v_p = gg.pathwise_gradients(nu, U, Z, g).d_Upsilon_draws.var(axis=0)
    return v_h / v_p


def test_which_covariance_estimator_has_the_smaller_variance_depends_on_the_curvature():
    """Reported, not assumed: for a gently curved emission the Hessian route's covariance gradient has
    far smaller variance than the pathwise one (every entry under a quarter of it; about a hundredth
    here), and for a strongly curved one (weights five times larger, tanh saturating) it is larger in
    every entry (more than twice; about ten times here). The variances are estimated from 20000 draws,
    whose relative standard error (about 1% for Gaussian-tailed terms, a few % for these) is far inside
    both margins."""
    gentle = _variance_ratio(0, 0.5)
    assert np.all(gentle < 0.25), gentle
    steep = _variance_ratio(3, 2.5)
    assert np.all(steep > 2.0), steep


# ------------------------------------------------------------------------------ validation
def _good():
    C, b, y, P, nu, U = _linear_problem(8, K=2, M=2)
    g, h, gt = _linear_callables(C, b, y, P)
    return nu, U, np.ones((3, 2)), g, h, gt


def _growing():
    """A grad_theta whose output grows by one entry at each call (a length that changes between draws)."""
    calls = [0]

    def fn(x):
        calls[0] += 1
        return np.zeros(calls[0])
    return fn


BAD = [
    ("nu 2-D", dict(nu=np.zeros((2, 1))), ValueError, r"nu must be a 1-D array"),
    ("nu nan", dict(nu=np.array([np.nan, 0.0])), ValueError, r"nu"),
    ("Upsilon indefinite", dict(U=np.array([[1.0, 2.0], [2.0, 1.0]])), ValueError, r"Upsilon"),
    ("Upsilon size", dict(U=np.eye(3)), ValueError, r"Upsilon must have shape"),
    ("Z width", dict(Z=np.ones((3, 3))), ValueError, r"Z must have shape"),
    ("Z empty", dict(Z=np.ones((0, 2))), ValueError, r"Z must hold at least one draw"),
    ("grad_x type", dict(g="grad"), TypeError, r"grad_x must be a function"),
    ("grad_theta type", dict(gt=3.0), TypeError, r"grad_theta must be a function"),
    ("grad_x shape", dict(g=lambda x: np.zeros(3)), ValueError, r"grad_x\(x\) at draw 0 must have shape"),
    ("grad_x inf", dict(g=lambda x: np.full(2, np.inf)), ValueError, r"grad_x\(x\) at draw 0"),
    ("grad_theta length", dict(gt=_growing), ValueError, r"grad_theta\(x\) at draw 1 must have shape"),
]


@pytest.mark.parametrize("label, change, err, match", BAD, ids=[b[0] for b in BAD])
def test_malformed_inputs_are_refused_naming_the_symbol(label, change, err, match):
    nu, U, Z, g, h, gt = _good()
    a = dict(nu=nu, U=U, Z=Z, g=g, h=h, gt=gt)
    a.update(change)
    fresh = (lambda: a["gt"]()) if a["gt"] is _growing else (lambda: a["gt"])
    with pytest.raises(err, match=match):
        gg.hessian_route_gradients(a["nu"], a["U"], a["Z"], a["g"], a["h"], fresh())
    with pytest.raises(err, match=match):
        gg.pathwise_gradients(a["nu"], a["U"], a["Z"], a["g"], fresh())


@pytest.mark.parametrize("h, match", [
    (None, r"hess_x must be a function"),
    (lambda x: np.array([[1.0, 2.0], [0.0, 1.0]]), r"hess_x\(x\) at draw 0 is not symmetric"),
    (lambda x: np.eye(3), r"hess_x\(x\) at draw 0 must have shape"),
])
def test_a_malformed_hessian_is_refused(h, match):
    nu, U, Z, g, _, _ = _good()
    with pytest.raises(TypeError if h is None else ValueError, match=match):
        gg.hessian_route_gradients(nu, U, Z, g, h)


def test_inputs_are_not_modified_and_grad_theta_is_optional():
    nu, U, Z, g, h, _ = _good()
    copies = [nu.copy(), U.copy(), Z.copy()]
    out = gg.hessian_route_gradients(nu, U, Z, g, h)
    assert out.d_theta is None and gg.pathwise_gradients(nu, U, Z, g).d_theta is None
    for a, c in zip((nu, U, Z), copies):
        np.testing.assert_array_equal(a, c)
    assert out.d_nu.shape == (2,) and out.d_Upsilon.shape == (2, 2) and out.d_Upsilon_draws.shape == (3, 2, 2)
