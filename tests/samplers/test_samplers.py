"""Samplers leave their target invariant: exact transition matrices on finite state spaces, sample
moments within standard errors computed from the effective sample size on Gaussian targets, and
leapfrog's reversibility; the mixing diagnostics against closed forms; bad input refused."""
import numpy as np
import pytest

from pedagogy_lib import samplers as S
from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.discrete.markov_chain import detailed_balance_violation, stationary_distribution

BACKENDS = ["numba", "numpy"]


# ---------------------------------------------------------------- targets

@pytest.mark.parametrize("target", [S.banana(1.3, 0.8), S.ar1_gaussian(4, 0.7)])
def test_force_is_the_gradient_of_the_log_density_and_twins_agree(target):
    D = S.check_target(target)
    x = np.random.default_rng(0).standard_normal((3, D))
    lp, f = S.log_density_and_force(target, x)
    lp2, f2 = S.log_density_and_force(target, x, backend="numpy")
    np.testing.assert_allclose(lp, lp2, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(f, f2, rtol=1e-13, atol=1e-13)
    for c in range(3):
        chk = gradcheck(lambda v: S.log_density_and_force(target, v[None, :], backend="numpy")[0][0], x[c], f[c])
        assert chk.ok, chk.max_abs_error


def test_gaussian_log_density_matches_the_quadratic_form():
    t = S.ar1_gaussian(3, 0.5)
    Sigma = 0.5 ** np.abs(np.subtract.outer(np.arange(3), np.arange(3)))
    x = np.random.default_rng(1).standard_normal((4, 3))
    lp, _ = S.log_density_and_force(t, x)
    expect = -0.5 * np.einsum("ci,ij,cj->c", x, np.linalg.inv(Sigma), x)
    np.testing.assert_allclose(lp, expect, rtol=1e-12)


# ---------------------------------------------------------------- exact invariance on finite spaces

def _random_mh_problem(S_=6, seed=0):
    rng = np.random.default_rng(seed)
    log_p = rng.normal(size=S_)
    g = rng.random((S_, S_)) + 0.1                       # asymmetric proposal, full support
    g /= g.sum(axis=0, keepdims=True)                     # column-stochastic: g[i, j] = g(i | j)
    return log_p, g


def test_mh_transition_matrix_has_the_target_as_stationary_distribution_and_detailed_balance():
    log_p, g = _random_mh_problem()
    T = S.mh_transition_matrix(log_p, g)
    p = np.exp(log_p) / np.exp(log_p).sum()
    np.testing.assert_allclose(T.sum(axis=0), 1.0, atol=1e-14)
    np.testing.assert_allclose(stationary_distribution(T), p, atol=1e-12)
    M = T * p[None, :]                                    # M[i, j] = T(i | j) p(j), entry by entry
    np.testing.assert_allclose(M, M.T, atol=1e-15)
    assert detailed_balance_violation(T, p) < 1e-14


def test_without_the_hastings_factor_the_target_is_not_stationary():
    # the check above can fail: Metropolis's ratio with an asymmetric proposal breaks invariance
    log_p, g = _random_mh_problem()
    sym = 0.5 * (g + g.T)
    sym /= sym.sum(axis=0, keepdims=True)
    ratio = np.minimum(1.0, np.exp(log_p[:, None] - log_p[None, :]))
    T = g * ratio
    np.fill_diagonal(T, 0.0)
    np.fill_diagonal(T, 1.0 - T.sum(axis=0))
    p = np.exp(log_p) / np.exp(log_p).sum()
    assert np.abs(T @ p - p).max() > 1e-3


def test_mala_on_a_grid_satisfies_detailed_balance_for_a_bimodal_target():
    x = np.linspace(-4, 4, 161)
    log_p = np.logaddexp(np.log(0.3) - 0.5 * (x + 1.5) ** 2 / 0.4, np.log(0.7) - 0.5 * (x - 1.0) ** 2 / 0.6)
    w1 = 0.3 * np.exp(-0.5 * (x + 1.5) ** 2 / 0.4) * -(x + 1.5) / 0.4
    w2 = 0.7 * np.exp(-0.5 * (x - 1.0) ** 2 / 0.6) * -(x - 1.0) / 0.6
    force = (w1 + w2) / np.exp(log_p)
    T = S.mala_transition_matrix(x, log_p, force, 0.05)
    p = np.exp(log_p) / np.exp(log_p).sum()
    np.testing.assert_allclose(T.sum(axis=0), 1.0, atol=1e-12)
    M = T * p[None, :]
    assert np.abs(M - M.T).max() < 1e-15
    np.testing.assert_allclose(T @ p, p, atol=1e-14)
    np.testing.assert_allclose(stationary_distribution(T), p, atol=1e-9)


def test_gibbs_random_scan_is_reversible_systematic_scan_only_stationary():
    rng = np.random.default_rng(3)
    log_joint = rng.normal(size=(3, 4))
    p = np.exp(log_joint).ravel() / np.exp(log_joint).sum()
    Tr = S.gibbs_transition_matrix(log_joint, "random")
    Ts = S.gibbs_transition_matrix(log_joint, "systematic")
    np.testing.assert_allclose(Tr @ p, p, atol=1e-14)
    np.testing.assert_allclose(Ts @ p, p, atol=1e-14)
    assert detailed_balance_violation(Tr, p) < 1e-15
    assert detailed_balance_violation(Ts, p) > 1e-4


# ---------------------------------------------------------------- HMC's integrator

def test_leapfrog_is_reversible_and_volume_preserving():
    t = S.banana(1.0, 1.0)
    rng = np.random.default_rng(4)
    x0, p0 = rng.standard_normal((1, 2)), rng.standard_normal((1, 2))
    x1, p1 = S.leapfrog(t, x0, p0, 0.1, 7)
    x2, p2 = S.leapfrog(t, x1, -p1, 0.1, 7)
    np.testing.assert_allclose(x2, x0, atol=1e-12)
    np.testing.assert_allclose(-p2, p0, atol=1e-12)
    flow = lambda z: np.concatenate(S.leapfrog(t, z[None, :2], z[None, 2:], 0.1, 7), axis=1)[0]
    J = gradcheck(flow, np.concatenate([x0[0], p0[0]])).numeric
    assert abs(np.linalg.det(J) - 1.0) < 1e-6


def test_leapfrog_energy_error_is_second_order():
    t = S.ar1_gaussian(3, 0.6)
    rng = np.random.default_rng(5)
    x0, p0 = rng.standard_normal((1, 3)), rng.standard_normal((1, 3))
    H = lambda x, p: -S.log_density_and_force(t, x)[0][0] + 0.5 * float(np.sum(p * p))
    errs = []
    for eps in (0.04, 0.02):
        x, p = S.leapfrog(t, x0, p0, eps, int(round(0.8 / eps)))
        errs.append(abs(H(x, p) - H(x0, p0)))
    assert 3.0 < errs[0] / errs[1] < 5.0                    # halving the step quarters the error


@pytest.mark.parametrize("backend", BACKENDS)
def test_hmc_with_one_leapfrog_step_is_mala(backend):
    """One leapfrog step of size eps from momentum p is x + (eps^2/2) f + eps p: MALA's proposal with
    step eps^2/2 and noise z = p, and exp(H - H') is MALA's Hastings ratio. So the two chains agree
    draw for draw, and HMC inherits the exact detailed balance that MALA shows on a grid above."""
    t = S.banana(1.0, 1.0)
    st = S.init_chains(t, np.random.default_rng(15).standard_normal((40, 2)))
    eps = 0.45
    h = S.sample(t, st, 60, np.random.default_rng(16), method="hmc", step_size=eps, n_leapfrog=1,
                 backend=backend)
    m = S.sample(t, st, 60, np.random.default_rng(16), method="mala", step_size=eps ** 2 / 2, backend=backend)
    np.testing.assert_allclose(h.trace, m.trace, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(h.state.n_accept, m.state.n_accept)
    assert 0 < h.state.n_accept.sum() < 60 * 40                # both outcomes occur


# ---------------------------------------------------------------- moments within ESS-based errors

CASES = [("rwmh", 0.6), ("mala", 0.15), ("hmc", 0.25), ("gibbs", 1.0)]


@pytest.mark.parametrize("method,step", CASES)
def test_samplers_recover_gaussian_moments_within_standard_errors(method, step):
    t = S.ar1_gaussian(3, 0.8)
    Sigma = 0.8 ** np.abs(np.subtract.outer(np.arange(3), np.arange(3)))
    rng = np.random.default_rng(6)
    st = S.init_chains(t, rng.standard_normal((64, 3)) * 2)
    st = S.sample(t, st, 300, rng, method=method, step_size=step).state          # burn-in
    res = S.sample(t, st, 1500, rng, method=method, step_size=step)
    tr = res.trace
    assert np.all(S.rhat(tr) < 1.05)
    ess = S.ess(tr)
    z_mean = tr.mean(axis=(0, 1)) / np.sqrt(np.diag(Sigma) / ess)
    assert np.all(np.abs(z_mean) < 4.5), z_mean
    # variance of a Gaussian sample variance: 2 sigma^4 / n, with n -> ESS of x^2 (estimated)
    ess_sq = S.ess(tr ** 2)
    var = tr.var(axis=(0, 1))
    z_var = (var - np.diag(Sigma)) / (np.diag(Sigma) * np.sqrt(2.0 / ess_sq))
    assert np.all(np.abs(z_var) < 4.5), z_var


@pytest.mark.parametrize("method,step", CASES[:3])
def test_numba_kernel_and_numpy_twin_give_the_same_chains(method, step):
    t = S.banana(1.0, 1.0)
    st = S.init_chains(t, np.random.default_rng(7).standard_normal((5, 2)))
    a = S.sample(t, st, 50, np.random.default_rng(8), method=method, step_size=step, n_leapfrog=5)
    b = S.sample(t, st, 50, np.random.default_rng(8), method=method, step_size=step, n_leapfrog=5,
                 backend="numpy")
    np.testing.assert_allclose(a.trace, b.trace, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(a.state.n_accept, b.state.n_accept)


def test_gibbs_twins_agree_and_every_sweep_is_accepted():
    t = S.ar1_gaussian(4, 0.5)
    st = S.init_chains(t, np.zeros((3, 4)))
    a = S.sample(t, st, 20, np.random.default_rng(9), method="gibbs")
    b = S.sample(t, st, 20, np.random.default_rng(9), method="gibbs", backend="numpy")
    np.testing.assert_allclose(a.trace, b.trace, rtol=1e-12, atol=1e-12)
    assert np.all(a.accept_rate == 1.0)


def test_hmc_recovers_the_banana_variance():
    b, s = 1.0, 1.0
    t = S.banana(b, s)
    rng = np.random.default_rng(10)
    st = S.init_chains(t, rng.standard_normal((100, 2)))
    st = S.sample(t, st, 200, rng, method="hmc", step_size=0.15, n_leapfrog=10).state
    tr = S.sample(t, st, 800, rng, method="hmc", step_size=0.15, n_leapfrog=10).trace
    var2 = tr[:, :, 1].var()
    se = (1 + 2 * b * b * s ** 4) * np.sqrt(2.0 / S.ess(tr[:, :, 1] ** 2)) * 2.0   # heavier tails: x2
    assert abs(var2 - (1 + 2 * b * b * s ** 4)) < 4 * se


def test_the_step_functions_are_pure_and_count_acceptances():
    t = S.banana(1.0, 1.0)
    st = S.init_chains(t, np.zeros((4, 2)))
    x_before = st.x.copy()
    new = S.mala_step(t, st, 0.1, np.random.default_rng(0))
    np.testing.assert_array_equal(st.x, x_before)
    assert new.n_steps == 1 and st.n_steps == 0
    new = S.rwmh_step(t, new, 0.5, np.random.default_rng(1))
    new = S.hmc_step(t, new, 0.1, 3, np.random.default_rng(2))
    rate = S.acceptance_rate(new)
    assert rate.shape == (4,) and np.all((rate >= 0) & (rate <= 1))
    g = S.gibbs_step(S.ar1_gaussian(2, 0.3), S.init_chains(S.ar1_gaussian(2, 0.3), np.zeros((2, 2))),
                     np.random.default_rng(3))
    assert np.all(S.acceptance_rate(g) == 1.0)


def test_mala_corrects_the_langevin_bias():
    # plain Langevin (always accept) on N(0, 1) has stationary variance 1 / (1 - eps / 2); MALA has 1
    t = S.ar1_gaussian(1, 0.0)
    rng = np.random.default_rng(11)
    st = S.init_chains(t, rng.standard_normal((400, 1)))
    eps = 0.5
    tr = S.sample(t, st, 1000, rng, method="mala", step_size=eps).trace
    se = np.sqrt(2.0 / S.ess(tr ** 2))
    assert abs(tr.var() - 1.0) < 4 * se
    assert abs(1.0 / (1.0 - eps / 2.0) - 1.0) > 10 * se    # the bias MALA removed is far larger


# ---------------------------------------------------------------- diagnostics

def test_ess_of_ar1_chains_matches_the_closed_form():
    phi, T, C = 0.8, 4000, 20
    rng = np.random.default_rng(12)
    x = np.empty((T, C))
    x[0] = rng.standard_normal(C) / np.sqrt(1 - phi ** 2)
    for t_ in range(1, T):
        x[t_] = phi * x[t_ - 1] + rng.standard_normal(C)
    expect = T * C * (1 - phi) / (1 + phi)
    assert abs(S.ess(x) / expect - 1.0) < 0.1
    rho = S.autocorrelation(x)
    np.testing.assert_allclose(rho[1:4], phi ** np.arange(1, 4), atol=0.03)
    assert abs(S.mcse(x) - np.sqrt(1 / (1 - phi ** 2) / expect)) < 0.1 * S.mcse(x)


def test_rhat_flags_chains_that_disagree():
    rng = np.random.default_rng(13)
    good = rng.standard_normal((500, 4))
    bad = good + np.array([0.0, 0.0, 0.0, 3.0])
    assert abs(S.rhat(good) - 1.0) < 0.01
    assert S.rhat(bad) > 1.2


# ---------------------------------------------------------------- bad input

def test_bad_input_is_refused_with_the_argument_named():
    t = S.banana()
    st = S.init_chains(t, np.zeros((2, 2)))
    rng = np.random.default_rng(0)
    for bad in (0.0, -0.1):
        with pytest.raises(ValueError, match="step_size"):
            S.sample(t, st, 10, rng, method="mala", step_size=bad)
        with pytest.raises(ValueError, match="step_size"):
            S.rwmh_step(t, st, bad, rng)
    half = S.python_target(lambda x: (np.where(x[:, 0] > 0, -x[:, 0], -np.inf), -np.ones_like(x)), 1)
    with pytest.raises(ValueError, match="x0"):
        S.init_chains(half, np.array([[1.0], [-1.0]]))
    with pytest.raises(ValueError, match="at least 2 chains"):
        S.rhat(np.zeros((100, 1)))
    with pytest.raises(ValueError, match="GaussianTarget"):
        S.sample(t, st, 3, rng, method="gibbs")
    with pytest.raises(ValueError, match="Lambda"):
        S.gaussian_target(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="n_leapfrog"):
        S.hmc_step(t, st, 0.1, 0, rng)
    with pytest.raises(ValueError, match="g must"):
        S.mh_transition_matrix(np.zeros(2), np.array([[1.0, 0.5], [0.0, 0.5]]))


def test_python_targets_run_on_the_numpy_twin():
    t = S.python_target(lambda x: (-0.5 * np.sum(x * x, axis=1), -x), 2)
    rng = np.random.default_rng(14)
    st = S.init_chains(t, rng.standard_normal((50, 2)))
    tr = S.sample(t, st, 600, rng, method="hmc", step_size=0.3, n_leapfrog=5).trace
    assert np.all(np.abs(tr.mean(axis=(0, 1))) < 4 / np.sqrt(S.ess(tr)))


# ---------------------------------------------------------------- Gibbs for a conjugate model

def _ng_model():
    y = np.random.default_rng(20).normal(1.0, 0.5, 10)
    return S.normal_gamma_model(y, 0.0, 2.0, 2.0, 1.0)


def _ng_log_post(model, mu, tau):
    """The log posterior written from scipy.stats densities (independent of the library's algebra)."""
    from scipy import stats
    mu, tau = np.broadcast_arrays(np.asarray(mu, float), np.asarray(tau, float))
    lik = stats.norm.logpdf(model.y, mu[..., None], 1.0 / np.sqrt(tau[..., None])).sum(-1)
    return (lik + stats.norm.logpdf(mu, model.m0, model.s0)
            + stats.gamma.logpdf(tau, model.a0, scale=1.0 / model.b0))


def test_normal_gamma_full_conditionals_match_quadrature():
    model = _ng_model()
    theta = np.array([[0.3, 2.5], [1.4, 6.0]])
    cond = S.normal_gamma_conditionals(model, theta)
    mu_grid = np.linspace(-3.0, 5.0, 20001)
    tau_grid = np.linspace(1e-6, 40.0, 40001)
    for c, (mu_c, tau_c) in enumerate(theta):
        w = np.exp(_ng_log_post(model, mu_grid, tau_c) - _ng_log_post(model, mu_grid, tau_c).max())
        w /= w.sum()
        m = w @ mu_grid
        np.testing.assert_allclose([m, w @ (mu_grid - m) ** 2], [cond.mu_mean[c], cond.mu_var[c]], rtol=1e-7)
        lw = _ng_log_post(model, mu_c, tau_grid)
        w = np.exp(lw - lw.max())
        w /= w.sum()
        m = w @ tau_grid
        shape, rate = cond.tau_shape, cond.tau_rate[c]
        np.testing.assert_allclose([m, w @ (tau_grid - m) ** 2], [shape / rate, shape / rate ** 2], rtol=1e-6)
    # the library's unnormalized log joint differs from the scipy one by a constant
    d = S.normal_gamma_log_joint(model, theta) - _ng_log_post(model, theta[:, 0], theta[:, 1])
    assert abs(d[0] - d[1]) < 1e-12


def test_gibbs_normal_gamma_recovers_the_posterior_moments_within_standard_errors():
    model = _ng_model()
    mu_grid = np.linspace(-2.0, 4.0, 601)
    tau_grid = np.linspace(1e-4, 30.0, 1501)
    lp = _ng_log_post(model, mu_grid[:, None], tau_grid[None, :])
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mean = np.array([w.sum(1) @ mu_grid, w.sum(0) @ tau_grid])
    var = np.array([w.sum(1) @ mu_grid ** 2, w.sum(0) @ tau_grid ** 2]) - mean ** 2
    rng = np.random.default_rng(21)
    theta0 = np.column_stack([rng.normal(0, 2, 32), rng.gamma(2.0, 1.0, 32)])
    burn = S.gibbs_normal_gamma(model, theta0, 50, rng)
    tr = S.gibbs_normal_gamma(model, burn[-1], 800, rng)
    assert tr.shape == (800, 32, 2)
    assert np.all(S.rhat(tr) < 1.05)
    z_mean = (tr.mean(axis=(0, 1)) - mean) / np.sqrt(var / S.ess(tr))
    assert np.all(np.abs(z_mean) < 4.5), z_mean
    # a sample variance has variance (m4 - var^2) / n, m4 the fourth central moment (from the grid)
    m4 = np.array([w.sum(1) @ (mu_grid - mean[0]) ** 4, w.sum(0) @ (tau_grid - mean[1]) ** 4])
    z_var = (tr.var(axis=(0, 1)) - var) / np.sqrt((m4 - var ** 2) / S.ess((tr - mean) ** 2))
    assert np.all(np.abs(z_var) < 4.5), z_var


def test_gibbs_normal_gamma_step_is_pure_and_bad_input_is_named():
    model = _ng_model()
    theta = np.array([[0.0, 1.0], [1.0, 2.0]])
    before = theta.copy()
    a = S.gibbs_normal_gamma_step(model, theta, np.random.default_rng(3))
    b = S.gibbs_normal_gamma_step(model, theta, np.random.default_rng(3))
    np.testing.assert_array_equal(theta, before)
    np.testing.assert_array_equal(a, b)
    assert np.all(a[:, 1] > 0)
    y = model.y
    for kw, name in [(dict(s0=0.0), "s0"), (dict(a0=-1.0), "a0"), (dict(b0=0.0), "b0")]:
        args = dict(m0=0.0, s0=1.0, a0=1.0, b0=1.0) | kw
        with pytest.raises(ValueError, match=name):
            S.normal_gamma_model(y, **args)
    with pytest.raises(ValueError, match="^y"):
        S.normal_gamma_model(np.zeros(0), 0.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"theta0\[:, 1\]"):
        S.gibbs_normal_gamma(model, np.array([[0.0, -1.0]]), 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="theta0"):
        S.gibbs_normal_gamma(model, np.zeros((3, 3)), 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_steps"):
        S.gibbs_normal_gamma(model, theta, 0, np.random.default_rng(0))
