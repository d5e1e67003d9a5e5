"""Tests for pedagogy_lib.em (book Chapter 6, Section 6.3: EM, free energy, ELBo).

Oracles: the exact posterior and log evidence of ``gaussian.bayes_invert`` (Eqs. 2.13-2.18); the
closed-form KL divergence between Gaussians, written out here; scipy.stats log densities with a
Monte Carlo average (5 standard errors, fixed seed); scipy's logsumexp and entropy for the
categorical case; and a toy two-component 1-D mixture written in this file, whose EM plugs into
the generic engine and is checked against a grid search of its likelihood.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from threadpoolctl import threadpool_limits

from pedagogy_lib.em import engine as em
from pedagogy_lib.gaussian import blocks as g

N_SE = 5.0


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # Multi-threaded OpenBLAS stalls on a loaded 2-core machine for tiny solves; undone after this module.
    with threadpool_limits(limits=1):
        yield


# --------------------------------------------------------------------------- helpers

def random_spd(rng, D, scale=1.0):
    A = rng.standard_normal((D, D))
    return scale * (A @ A.T / D + 0.5 * np.eye(D))


def random_model(rng, K, L, diagonal=False):
    Syx = np.diag(rng.uniform(0.3, 1.5, L)) if diagonal else random_spd(rng, L)
    return g.LinearGaussian(rng.standard_normal(K), random_spd(rng, K), rng.standard_normal((L, K)),
                            rng.standard_normal(L), Syx)


def kl_gauss(m0, S0, m1, S1):
    """KL(N(m0, S0) || N(m1, S1)), the textbook closed form (dense inverse is fine in a test)."""
    K = m0.shape[0]
    S1inv = np.linalg.inv(S1)
    d = m1 - m0
    return 0.5 * (np.trace(S1inv @ S0) + d @ S1inv @ d - K + np.linalg.slogdet(S1)[1] - np.linalg.slogdet(S0)[1])


# A two-component 1-D mixture with known unit variances and weights; only the means are learned.
# It is the smallest model with a discrete latent variable and shows how a model plugs into run_em.
PI = np.array([0.4, 0.6])


def _toy_log_joint(mu, y):
    return np.log(PI) + stats.norm.logpdf(y[:, None], loc=mu[None, :], scale=1.0)      # (N, 2)


def _toy_e_step(mu, y):
    lj = _toy_log_joint(mu, y)
    return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))                             # responsibilities


def _toy_m_step(r, y, mu):
    return (r * y[:, None]).sum(0) / r.sum(0)                                             # Eq. 6.4, solved


def _toy_log_lik(mu, y):
    return float(logsumexp(_toy_log_joint(mu, y), axis=1).sum())


def _toy_elbo(mu, r, y):
    return float(em.discrete_elbo(_toy_log_joint(mu, y), r).sum())


def _toy_init(rng, y):
    return rng.choice(y, size=2, replace=False)


TOY = em.EMModel(_toy_e_step, _toy_m_step, _toy_log_lik, _toy_elbo, _toy_init, "toy mixture")


def toy_data(seed, N=120, sep=3.0):
    rng = np.random.default_rng(seed)
    z = rng.random(N) < PI[1]
    return np.where(z, sep / 2, -sep / 2) + rng.standard_normal(N)


# --------------------------------------------------------------------------- Gaussian ELBo

@pytest.mark.parametrize("K,L,diagonal", [(1, 3, True), (2, 4, False), (3, 2, False), (2, 5, True)])
def test_gaussian_elbo_equals_log_evidence_at_exact_posterior(K, L, diagonal):
    rng = np.random.default_rng(11 * K + L)
    model = random_model(rng, K, L, diagonal)
    Y = rng.standard_normal((6, L)) * 2
    post = g.bayes_invert(*model, Y, form="covariance")
    elbo = em.gaussian_elbo(*model, Y, post.mu, post.Sigma)
    assert elbo.shape == (6,)
    np.testing.assert_allclose(elbo, post.log_evidence, rtol=1e-10, atol=1e-10)
    # a stack of identical per-observation covariances gives the same answer, and so does one row
    stack = np.broadcast_to(post.Sigma, (6, K, K)).copy()
    np.testing.assert_allclose(em.gaussian_elbo(*model, Y, post.mu, stack), elbo, rtol=1e-12)
    assert em.gaussian_elbo(*model, Y[1], post.mu[1], post.Sigma) == pytest.approx(elbo[1], rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_gaussian_elbo_gap_is_kl_to_posterior(seed):
    """Eq. 6.6 per datum: log p(y) - ELBo(q) = KL(q || posterior) > 0 for q != posterior; equivalently
    Eq. 6.9: the marginal surprisal plus that KL is the free energy, minus the ELBo."""
    rng = np.random.default_rng(seed)
    K, L = 2, 3
    model = random_model(rng, K, L, diagonal=bool(seed % 2))
    Y = rng.standard_normal((4, L))
    post = g.bayes_invert(*model, Y)
    m = post.mu + 0.5 * rng.standard_normal(post.mu.shape)
    S = np.stack([random_spd(rng, K, 0.3) for _ in range(4)])
    elbo = em.gaussian_elbo(*model, Y, m, S)
    kl = np.array([kl_gauss(m[n], S[n], post.mu[n], post.Sigma) for n in range(4)])
    assert np.all(kl > 0)
    np.testing.assert_allclose(post.log_evidence - elbo, kl, rtol=1e-9, atol=1e-11)
    assert np.all(elbo < post.log_evidence)
    # only the mean perturbed, or only the covariance: still strictly below
    assert np.all(em.gaussian_elbo(*model, Y, m, post.Sigma) < post.log_evidence)
    assert np.all(em.gaussian_elbo(*model, Y, post.mu, 1.5 * post.Sigma) < post.log_evidence)


def test_gaussian_elbo_monte_carlo():
    """E_q[log p(x) + log p(y|x) - log q(x)] by sampling, with scipy densities (5 standard errors): minus
    the free energy of Eq. 6.5 (second line) for one datum."""
    rng = np.random.default_rng(7)
    K, L = 2, 3
    mu_x, Sigma_x, C, c, Syx = random_model(rng, K, L)
    y = rng.standard_normal(L)
    m, S = rng.standard_normal(K), random_spd(rng, K, 0.5)
    x = rng.multivariate_normal(m, S, size=40_000)
    terms = (stats.multivariate_normal(mu_x, Sigma_x).logpdf(x)
             + stats.multivariate_normal(np.zeros(L), Syx).logpdf(y - x @ C.T - c)
             - stats.multivariate_normal(m, S).logpdf(x))
    est, se = terms.mean(), terms.std(ddof=1) / np.sqrt(terms.size)
    assert abs(em.gaussian_elbo(mu_x, Sigma_x, C, c, Syx, y, m, S) - est) < N_SE * se


# --------------------------------------------------------------------------- discrete ELBo

def test_discrete_elbo_at_posterior_and_gap():
    rng = np.random.default_rng(3)
    log_joint = rng.standard_normal((5, 4)) * 3
    post = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    np.testing.assert_allclose(em.discrete_elbo(log_joint, post), logsumexp(log_joint, axis=1), rtol=1e-12)
    q = rng.dirichlet(np.ones(4), size=5)
    gap = logsumexp(log_joint, axis=1) - em.discrete_elbo(log_joint, q)
    np.testing.assert_allclose(gap, [stats.entropy(q[n], post[n]) for n in range(5)], rtol=1e-9)
    assert np.all(gap > 0)


def test_discrete_elbo_zero_probability_states():
    log_joint = np.array([[0.0, -np.inf, -1.0], [-2.0, -0.5, -np.inf]])
    q = np.array([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    expected = [0.5 * (0.0 - np.log(0.5)) + 0.5 * (-1.0 - np.log(0.5)), -0.5]
    np.testing.assert_allclose(em.discrete_elbo(log_joint, q), expected, rtol=1e-12)
    # q puts mass on an impossible state: the bound is -inf, not NaN
    out = em.discrete_elbo(log_joint, np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    assert out[0] == -np.inf and out[1] == -2.0


# --------------------------------------------------------------------------- the engine

@pytest.mark.parametrize("seed", range(25))
def test_run_em_monotone_and_elbo_sandwich(seed):
    """EM never decreases the log likelihood; after each M step the ELBo sits between l_i and l_{i+1}."""
    y = toy_data(seed, sep=1.5 + 0.1 * seed)
    res = em.run_em(TOY, None, y, rng=np.random.default_rng(seed), max_iter=2000, tol=1e-10)
    ll = res.log_lik
    scale = np.maximum(1.0, np.abs(ll[:-1]))
    assert res.converged and res.n_iter == ll.size - 1 == res.elbo.size
    assert np.all(np.diff(ll) >= -1e-9 * scale)
    assert np.all(res.elbo >= ll[:-1] - 1e-9 * scale)
    assert np.all(res.elbo <= ll[1:] + 1e-9 * scale)
    np.testing.assert_array_equal(res.free_energy, -res.elbo)          # the book's free energy, see Eq. 6.9


def test_run_em_reaches_a_maximum_found_by_grid_search():
    y = toy_data(0, N=300, sep=4.0)
    res = em.run_em(TOY, np.array([-1.0, 1.0]), y, max_iter=2000, tol=1e-13)
    # grid search over the two means near the EM answer: nothing on the grid is better
    g1 = res.params[0] + np.linspace(-0.05, 0.05, 21)
    g2 = res.params[1] + np.linspace(-0.05, 0.05, 21)
    best = max(_toy_log_lik(np.array([a, b]), y) for a in g1 for b in g2)
    assert res.log_lik[-1] >= best - 1e-9
    # the fixed point of Eq. 6.4: one more E and M step changes nothing
    again = _toy_m_step(_toy_e_step(res.params, y), y, res.params)
    np.testing.assert_allclose(again, res.params, atol=1e-6)


def test_run_em_path_and_explicit_init():
    y = toy_data(1)
    init = np.array([-0.5, 0.5])
    with pytest.warns(em.ConvergenceWarning, match=r"did not converge in 5 iterations"):
        res = em.run_em(TOY, init, y, max_iter=5, tol=1e-30, return_path=True)
    assert len(res.path) == res.n_iter + 1 and np.array_equal(res.path[0], init)
    mu = init
    for i in range(1, res.n_iter + 1):          # the path is the plain alternation, step by step
        mu = _toy_m_step(_toy_e_step(mu, y), y, mu)
        np.testing.assert_allclose(res.path[i], mu, rtol=1e-14)
        assert res.log_lik[i] == pytest.approx(_toy_log_lik(mu, y), rel=1e-14)


def test_convergence_warning_reports_count_and_change():
    y = toy_data(2)
    with pytest.warns(em.ConvergenceWarning, match=r"did not converge in 3 iterations: the last change in log "
                                                    r"likelihood was [0-9.e+-]+ \(relative"):
        res = em.run_em(TOY, np.array([-0.1, 0.1]), y, max_iter=3, tol=1e-14)
    assert not res.converged and res.n_iter == 3
    assert issubclass(em.ConvergenceWarning, UserWarning)


def test_no_warning_when_converged():
    y = toy_data(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = em.run_em(TOY, np.array([-1.0, 1.0]), y, max_iter=5000, tol=1e-6)
    assert res.converged


def test_decrease_is_flagged():
    """A wrong M step (it moves away from the maximizer) makes the log likelihood fall: the engine says so."""
    bad = TOY._replace(m_step=lambda r, y, mu: mu + np.array([0.7, -0.7]), name="broken")
    y = toy_data(5, sep=4.0)
    with pytest.warns(RuntimeWarning, match=r"broken: the log likelihood decreased at iteration 1"):
        em.run_em(bad, np.array([-2.0, 2.0]), y, max_iter=1, tol=1e-3)


def test_non_finite_objective_raises():
    nan_model = TOY._replace(log_likelihood=lambda mu, y: float("nan") if mu[0] > 5 else _toy_log_lik(mu, y),
                             m_step=lambda r, y, mu: mu + 10.0)
    with pytest.raises(FloatingPointError, match=r"the log likelihood is nan at iteration 1"):
        em.run_em(nan_model, np.array([0.0, 1.0]), toy_data(0), max_iter=3)
    inf_elbo = TOY._replace(elbo=lambda mu, r, y: -np.inf)
    with pytest.raises(FloatingPointError, match=r"the ELBo is -inf at iteration 1"):
        em.run_em(inf_elbo, np.array([0.0, 1.0]), toy_data(0), max_iter=3)


def test_model_without_elbo_records_none():
    res = em.run_em(TOY._replace(elbo=None), np.array([-1.0, 1.0]), toy_data(3), max_iter=100, tol=1e-6)
    assert res.elbo is None and res.free_energy is None


# --------------------------------------------------------------------------- restarts

def test_best_of_restarts_picks_the_maximum_and_is_reproducible():
    y = toy_data(8, sep=2.0)

    def fit(r):
        return em.run_em(TOY, None, y, rng=r, max_iter=500, tol=1e-10)

    out = em.best_of_restarts(fit, np.random.default_rng(123), 6)
    assert out.log_lik.shape == (6,) and out.index == int(np.argmax(out.log_lik))
    assert out.best.log_lik[-1] == out.log_lik.max()
    # the chosen restart is reproduced from the same parent seed alone
    child = np.random.default_rng(123).spawn(6)[out.index]
    np.testing.assert_array_equal(fit(child).params, out.best.params)
    # and each restart saw a different initialization (independent spawned streams)
    inits = [_toy_init(c, y) for c in np.random.default_rng(123).spawn(6)]
    assert len({tuple(np.round(i, 12)) for i in inits}) == 6


# --------------------------------------------------------------------------- validation

def test_tol_zero_runs_exactly_max_iter_without_warning():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", em.ConvergenceWarning)
        res = em.run_em(TOY, np.zeros(2), toy_data(0), max_iter=7, tol=0.0)
    assert res.n_iter == 7 and len(res.log_lik) == 8 and not res.converged


def test_run_em_validation():
    y = toy_data(0)
    with pytest.raises(TypeError, match=r"model must be an EMModel"):
        em.run_em((TOY.e_step, TOY.m_step), np.zeros(2), y)
    with pytest.raises(ValueError, match=r"max_iter must be at least 1; got 0"):
        em.run_em(TOY, np.zeros(2), y, max_iter=0)
    with pytest.raises(ValueError, match=r"tol must be non-negative; got -1"):
        em.run_em(TOY, np.zeros(2), y, tol=-1.0)
    with pytest.raises(ValueError, match=r"monotone_rtol must be positive; got 0"):
        em.run_em(TOY, np.zeros(2), y, monotone_rtol=0.0)
    with pytest.raises(ValueError, match=r"init_params is None and the model 'toy mixture' has no random initializer"):
        em.run_em(TOY._replace(init=None), None, y)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        em.run_em(TOY, None, y, rng=0)


def test_best_of_restarts_validation():
    with pytest.raises(ValueError, match=r"n_restarts must be at least 1; got 0"):
        em.best_of_restarts(lambda r: None, np.random.default_rng(0), 0)
    with pytest.raises(TypeError, match=r"fit_fn must return an EMResult; got NoneType"):
        em.best_of_restarts(lambda r: None, np.random.default_rng(0), 2)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        em.best_of_restarts(lambda r: None, 42, 2)


def test_gaussian_elbo_validation():
    rng = np.random.default_rng(0)
    model = random_model(rng, 2, 3)
    Y = rng.standard_normal((4, 3))
    m, S = np.zeros((4, 2)), np.eye(2)
    with pytest.raises(ValueError, match=r"y must have shape \(L,\) or \(N, L\) with L = 3; got \(4, 2\)"):
        em.gaussian_elbo(*model, Y[:, :2], m, S)
    with pytest.raises(ValueError, match=r"m must have shape \(N, K\) = \(4, 2\) to match y; got \(4, 3\)"):
        em.gaussian_elbo(*model, Y, np.zeros((4, 3)), S)
    with pytest.raises(ValueError, match=r"S must have shape \(K, K\) = \(2, 2\) or \(N, K, K\) = \(4, 2, 2\); got \(3, 2, 2\)"):
        em.gaussian_elbo(*model, Y, m, np.stack([np.eye(2)] * 3))
    with pytest.raises(ValueError, match=r"S must have shape \(K, K\) = \(2, 2\); got \(1, 2, 2\)"):
        em.gaussian_elbo(*model, Y[0], m[0], np.eye(2)[None])
    with pytest.raises(ValueError, match=r"S is not symmetric positive definite"):
        em.gaussian_elbo(*model, Y, m, np.array([[1.0, 0.0], [0.0, -1.0]]))
    with pytest.raises(ValueError, match=r"S\[1\] is not symmetric positive definite"):
        em.gaussian_elbo(*model, Y, m, np.stack([np.eye(2), -np.eye(2), np.eye(2), np.eye(2)]))
    with pytest.raises(ValueError, match=r"m must be finite; got nan"):
        em.gaussian_elbo(*model, Y, np.full((4, 2), np.nan), S)
    with pytest.raises(ValueError, match=r"Sigma_x is not symmetric positive definite"):
        em.gaussian_elbo(model.mu_x, -np.eye(2), *model[2:], Y, m, S)


def test_discrete_elbo_validation():
    lj = np.zeros((2, 3))
    q = np.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"log_joint must be a 2-D array of shape \(N, K\)"):
        em.discrete_elbo(np.zeros(3), q)
    with pytest.raises(ValueError, match=r"log_joint must not contain NaN or \+inf"):
        em.discrete_elbo(np.array([[0.0, np.nan, 0.0], [0, 0, 0]]), q)
    with pytest.raises(ValueError, match=r"q must have shape \(N, K\) = \(2, 3\); got \(3, 2\)"):
        em.discrete_elbo(lj, q.T)
    with pytest.raises(ValueError, match=r"q must be non-negative; entry \(1, 0\) is -0.1"):
        em.discrete_elbo(lj, np.array([[1 / 3] * 3, [-0.1, 0.6, 0.5]]))
    with pytest.raises(ValueError, match=r"each row of q must sum to 1; row 0 sums to 0.9"):
        em.discrete_elbo(lj, np.array([[0.3, 0.3, 0.3], [1 / 3] * 3]))
    with pytest.raises(ValueError, match=r"q must be finite; got nan"):
        em.discrete_elbo(lj, np.array([[np.nan, 0.5, 0.5], [1 / 3] * 3]))


# --------------------------------------------------------------------------- units_log_shift

def test_units_log_shift_is_n_times_the_log_spreads_and_follows_the_units():
    """N sum_l log s_l with s_l the 1/N standard deviation of column l (numpy's, at ordinary scales); scaling
    a column by 2^k adds exactly N k log 2 (powers of two are exact), down to 2^-1000 and up to 2^1000, where
    the squares of the data leave float64; a constant column adds nothing."""
    rng = np.random.default_rng(5)
    y = rng.standard_normal((40, 3)) * np.array([1.0, 1e-3, 7.0]) + np.array([5.0, 0.0, -2.0])
    N = y.shape[0]
    ref = N * float(np.sum(np.log(y.std(axis=0))))
    assert em.units_log_shift(y) == pytest.approx(ref, rel=1e-13)
    for k in (-1000, -200, 200, 1000):
        np.testing.assert_allclose(em.units_log_shift(y * 2.0**k), ref + y.size * k * np.log(2.0), rtol=1e-13)
        per_column = y * np.array([2.0**k, 1.0, 1.0])
        np.testing.assert_allclose(em.units_log_shift(per_column), ref + N * k * np.log(2.0), rtol=1e-13)
    with_constant = np.column_stack([y, np.full(N, 3.5), np.zeros(N)])
    assert em.units_log_shift(with_constant) == pytest.approx(ref, rel=1e-13)
    assert em.units_log_shift(np.zeros((0, 2))) == 0.0
    big = np.array([[1.5e308, -1e308], [1.5e308, 1.2e308], [-1e308, 1.7e308]])   # the column sums overflow
    with np.errstate(over="ignore"):
        assert not np.all(np.isfinite(big.sum(axis=0)))
    ref_big = 3 * float(np.sum(np.log((big / 2.0**1000).std(axis=0)))) + big.size * 1000 * np.log(2.0)
    assert em.units_log_shift(big) == pytest.approx(ref_big, rel=1e-13)


@pytest.mark.parametrize("y, match", [(np.ones(4), "y must be a 2-D array"),
                                      (np.array([[1.0, np.nan]]), "y"),
                                      ("abc", "y")])
def test_units_log_shift_refuses_by_name(y, match):
    with pytest.raises((ValueError, TypeError), match=match):
        em.units_log_shift(y)


def _toy_in_units(sd):
    """The toy mixture with component standard deviation ``sd`` (1 above): data and means in units of 1/sd."""
    def log_joint(mu, y):
        return np.log(PI) + stats.norm.logpdf(y[:, None], loc=mu[None, :], scale=sd)

    def e_step(mu, y):
        lj = log_joint(mu, y)
        return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))

    return em.EMModel(e_step, _toy_m_step, lambda mu, y: float(logsumexp(log_joint(mu, y), axis=1).sum()),
                      name="toy mixture in units")


def test_run_em_with_the_units_shift_stops_at_the_same_iteration_in_any_units():
    """The engine reads the tolerance on l + log_lik_shift: the toy mixture on 2^k y, with its start and
    standard deviation scaled alike and units_log_shift(y) passed, stops at the same iteration for k = -200,
    0, 200 (without the shift, |l| grows from about 470 to about 42,000 and it stops earlier)."""
    y = toy_data(7, N=300, sep=1.5)
    counts = {}
    for shifted in (True, False):
        for k in (-200, 0, 200):
            s = 2.0**k
            shift = em.units_log_shift((y * s)[:, None]) if shifted else 0.0
            res = em.run_em(_toy_in_units(s), np.array([-0.1, 0.1]) * s, y * s, max_iter=1000, tol=1e-7,
                            log_lik_shift=shift)
            assert res.converged
            counts[shifted, k] = res.n_iter
    assert counts[True, -200] == counts[True, 0] == counts[True, 200] and counts[True, 0] > 10, counts
    assert counts[False, -200] < counts[False, 0] and counts[False, 200] < counts[False, 0], counts
