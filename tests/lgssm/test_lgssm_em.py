"""Tests for pedagogy_lib.lgssm.em (EM for the linear-Gaussian state-space model, Section 7.4).

Oracles, all independent of the code under test:
* the dense joint Gaussian of tests/oracle_lgssm.py (stack every state and observation, condition on
  the observed rows) for the expected sufficient statistics and the log likelihood;
* pykalman's ``KalmanFilter.em`` with explicit ``em_vars`` for whole EM iterations;
* ordinary least squares (numpy.linalg.lstsq) for the M step when the states are observed;
* finite differences for the gradient of the expected complete-data log likelihood;
* the asymptotic standard error of a VAR(1) regression for parameter recovery.

pykalman conventions: its ``initial_state_mean/covariance`` are for x_0 = our row 0 (the book's x_1);
``transition_offsets`` = a, ``observation_offsets`` = c; a missing row is a masked row. pykalman
updates the offsets one at a time after A and C (coordinate ascent rather than the joint regression
used here), so the comparison keeps the offsets fixed (nonzero) and learns the six parameters of Eq. 7.4.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.linalg import solve_discrete_lyapunov

from oracle_lgssm import oracle_log_evidence, posterior_states
from pedagogy_lib.lgssm import em as le
from pedagogy_lib.core.checks import ConvergenceWarning
from pedagogy_lib.lgssm.model import LGSSMParams, sample_lgssm
from pedagogy_lib.em import CovarianceFloorWarning
from pedagogy_lib.core.gradcheck import gradcheck

PYKALMAN_VARS = {"A": "transition_matrices", "C": "observation_matrices", "Sigma_x": "transition_covariance",
                 "Sigma_y_x": "observation_covariance", "mu1": "initial_state_mean",
                 "Sigma1": "initial_state_covariance"}


def _rot(theta, rho):
    return rho * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def _spd(rng, d, scale=1.0):
    G = rng.standard_normal((d, d))
    return scale * (G @ G.T / d + 0.3 * np.eye(d))


def _random_params(rng, n, m, n_u=0, offsets=True):
    G = rng.standard_normal((n, n))
    A = 0.9 * G / np.max(np.abs(np.linalg.eigvals(G)))
    return LGSSMParams(rng.standard_normal(n), _spd(rng, n), A, rng.standard_normal((n, n_u)),
                       rng.standard_normal(n) * offsets, _spd(rng, n, 0.3), rng.standard_normal((m, n)),
                       rng.standard_normal(m) * offsets, _spd(rng, m, 0.5))


def _perturbed(rng, p):
    """A different starting point with the same shapes (and the same offsets/control matrix)."""
    n, m = p.mu1.shape[0], p.c.shape[0]
    q = _random_params(rng, n, m, p.B.shape[1])
    return p._replace(A=q.A, C=q.C, Sigma_x=q.Sigma_x, Sigma_y_x=q.Sigma_y_x, mu1=q.mu1, Sigma1=q.Sigma1)


def _pykalman(init, y, k, learn):
    from pykalman import KalmanFilter
    kf = KalmanFilter(transition_matrices=init.A, observation_matrices=init.C, transition_covariance=init.Sigma_x,
                      observation_covariance=init.Sigma_y_x, transition_offsets=init.a, observation_offsets=init.c,
                      initial_state_mean=init.mu1, initial_state_covariance=init.Sigma1)
    Y = np.ma.masked_invalid(y)
    kf = kf.em(Y, n_iter=k, em_vars=[PYKALMAN_VARS[v] for v in learn])
    return kf, Y


# ------------------------------------------------------------------------------------------------
# E step: expected sufficient statistics against dense conditioning of the stacked Gaussian
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_suff_stats_match_dense_oracle(seed):
    rng = np.random.default_rng(seed)
    n, m, n_u, T = 1 + seed % 3, 1 + (seed + 1) % 3, seed % 2, 6
    p = _random_params(rng, n, m, n_u)
    u = rng.standard_normal((T - 1, n_u))
    _, y = sample_lgssm(p, T, rng=rng, u=u)
    y[2] = np.nan                                            # one missing row
    g = posterior_states(p, y, u)                            # N(mean (T, n), full (Tn, Tn) covariance)
    mu = g.mu
    blk = lambda t, s: g.Sigma[t * n:(t + 1) * n, s * n:(s + 1) * n]  # noqa: E731
    E_xx = [blk(t, t) + np.outer(mu[t], mu[t]) for t in range(T)]
    E_next_prev = [blk(t + 1, t) + np.outer(mu[t + 1], mu[t]) for t in range(T - 1)]
    obs = [t for t in range(T) if not np.isnan(y[t]).any()]
    st = le.lgssm_suff_stats(p, y, u)
    np.testing.assert_allclose(st.S_prev[:n, :n], sum(E_xx[:-1]), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(st.S_next, sum(E_xx[1:]), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(st.S_cross[:, :n], sum(E_next_prev), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(st.S_prev[:n, n:n + n_u], mu[:-1].T @ u, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(st.S_cross[:, n:n + n_u], mu[1:].T @ u, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(st.S_prev[:n, -1], mu[:-1].sum(0), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(st.S_cross[:, -1], mu[1:].sum(0), rtol=1e-9, atol=1e-10)
    assert st.n_trans == T - 1 and st.n_obs == len(obs) and st.n_seq == 1
    np.testing.assert_allclose(st.S_w[:n, :n], sum(E_xx[t] for t in obs), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(st.S_yw[:, :n], sum(np.outer(y[t], mu[t]) for t in obs), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(st.S_yy, sum(np.outer(y[t], y[t]) for t in obs), rtol=1e-12)
    np.testing.assert_allclose(st.x1_sum, mu[0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(st.P1_sum, E_xx[0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(st.log_lik, oracle_log_evidence(p, y, u), rtol=1e-10)


def test_multiple_sequences_add_up():
    rng = np.random.default_rng(7)
    p = _random_params(rng, 2, 3)
    ys = [sample_lgssm(p, T, rng=rng)[1] for T in (5, 9, 1)]
    total = le.lgssm_suff_stats(p, ys)
    parts = [le.lgssm_suff_stats(p, y) for y in ys]
    for f in ("S_prev", "S_cross", "S_next", "S_w", "S_yw", "S_yy", "x1_sum", "P1_sum"):
        np.testing.assert_allclose(getattr(total, f), sum(getattr(q, f) for q in parts), rtol=1e-12, atol=1e-12)
    assert total.n_trans == 4 + 8 + 0 and total.n_seq == 3 and total.n_obs == 15   # the draft's "subtract N_seq"
    np.testing.assert_allclose(total.log_lik, sum(q.log_lik for q in parts), rtol=1e-12)
    np.testing.assert_allclose(le.lgssm_log_likelihood(p, ys), total.log_lik, rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# M step: observed states give least squares; the gradient of Q; pykalman
# ------------------------------------------------------------------------------------------------

def _point_mass_stats(x, y, u):
    """Statistics of fully observed states (zero posterior covariance): plain sums of outer products."""
    T, n = x.shape
    z = np.concatenate([x[:-1], u, np.ones((T - 1, 1))], axis=1)
    w = np.concatenate([x, np.ones((T, 1))], axis=1)
    return le.LGSSMStats(z.T @ z, x[1:].T @ z, x[1:].T @ x[1:], T - 1, w.T @ w, y.T @ w, y.T @ y, T,
                         x[0].copy(), np.outer(x[0], x[0]), 1, 0.0, 0.0)


def test_m_step_with_observed_states_is_least_squares():
    rng = np.random.default_rng(3)
    n, m, n_u, T = 2, 3, 1, 400
    p = _random_params(rng, n, m, n_u)
    u = rng.standard_normal((T - 1, n_u))
    x, y = sample_lgssm(p, T, rng=rng, u=u)
    st = _point_mass_stats(x, y, u)
    old = _perturbed(rng, p)
    # one observed x_1 gives Sigma1 = 0: the floor binds (and says so)
    with pytest.warns(CovarianceFloorWarning, match="Sigma1"):
        new = le.lgssm_m_step(st, old, learn=le.LEARNABLE)
    Z = np.concatenate([x[:-1], u, np.ones((T - 1, 1))], axis=1)
    W, *_ = np.linalg.lstsq(Z, x[1:], rcond=None)            # regress x_t on [x_{t-1}, u_{t-1}, 1]
    Wx = W.T
    np.testing.assert_allclose(np.concatenate([new.A, new.B, new.a[:, None]], axis=1), Wx, rtol=1e-8, atol=1e-10)
    res = x[1:] - Z @ W
    np.testing.assert_allclose(new.Sigma_x, res.T @ res / (T - 1), rtol=1e-8, atol=1e-10)
    Wy = np.concatenate([x, np.ones((T, 1))], axis=1)
    V, *_ = np.linalg.lstsq(Wy, y, rcond=None)
    np.testing.assert_allclose(np.concatenate([new.C, new.c[:, None]], axis=1), V.T, rtol=1e-8, atol=1e-10)
    r = y - Wy @ V
    np.testing.assert_allclose(new.Sigma_y_x, r.T @ r / T, rtol=1e-8, atol=1e-10)
    # Eq. 7.4 without offsets/control: A = <x_t x_{t-1}^T><x_{t-1} x_{t-1}^T>^{-1}, by lstsq without intercept
    new74 = le.lgssm_m_step(st, old, learn=("A", "Sigma_x", "C", "Sigma_y_x", "mu1"))
    target = x[1:] - u @ old.B.T - old.a                       # fixed B u + a moved to the left-hand side
    A_ls, *_ = np.linalg.lstsq(x[:-1], target, rcond=None)
    np.testing.assert_allclose(new74.A, A_ls.T, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(new74.B, old.B)
    np.testing.assert_array_equal(new74.c, old.c)


def test_m_step_maximizes_q_and_draft_sign_of_dH_dA():
    """dQ/dA = Sigma_x^{-1} sum E[(x_t - A x_{t-1} - ...) x_{t-1}^T]: the draft's dH/dA before Eq. 7.4 is +(this).

    With H = -Q (cross entropy), dH/dA = -Sigma_x^{-1} sum (x_t - A x_{t-1}) x_{t-1}^T; the draft drops
    the minus sign (harmless when set to zero). Checked by central finite differences of Q.
    """
    rng = np.random.default_rng(11)
    p = _random_params(rng, 2, 3, offsets=False)
    y = sample_lgssm(p, 30, rng=rng)[1]
    st = le.lgssm_suff_stats(p, y)
    q0 = _perturbed(rng, p)
    n = 2
    analytic_dH = -np.linalg.solve(q0.Sigma_x, st.S_cross[:, :n] - q0.A @ st.S_prev[:n, :n] - np.outer(q0.a, st.S_prev[-1, :n]))
    h = 1e-6
    fd = -gradcheck(lambda A: le.lgssm_expected_log_joint(q0._replace(A=A), st), q0.A, h=h).numeric
    np.testing.assert_allclose(fd, analytic_dH, rtol=1e-5, atol=1e-6)
    draft_dH = -analytic_dH                                  # the expression printed before Eq. 7.4
    assert not np.allclose(fd, draft_dH, rtol=1e-2)
    # the M step is the maximizer of Q: every random perturbation of the new parameters lowers Q
    new = le.lgssm_m_step(st, q0)
    q_new = le.lgssm_expected_log_joint(new, st)
    for _ in range(20):
        d = rng.standard_normal((n, n)) * 1e-3
        for field in ("A", "Sigma_x", "Sigma1"):
            val = getattr(new, field) + (d + d.T if field != "A" else d)
            assert le.lgssm_expected_log_joint(new._replace(**{field: val}), st) < q_new
        assert le.lgssm_expected_log_joint(new._replace(C=new.C + 1e-3 * rng.standard_normal(new.C.shape)), st) < q_new


@pytest.mark.parametrize("seed,k,missing", [(0, 1, False), (1, 1, True), (2, 5, False), (3, 5, True), (4, 20, False)])
def test_em_iterations_match_pykalman(seed, k, missing):
    rng = np.random.default_rng(100 + seed)
    n, m, T = 1 + seed % 3, 2 + seed % 3, 40
    true = _random_params(rng, n, m)                         # nonzero offsets a, c, held fixed
    y = sample_lgssm(true, T, rng=rng)[1]
    if missing:
        y[[3, 4, 17]] = np.nan
    init = _perturbed(rng, true)
    res = le.fit_lgssm(y, n, init=init, max_iter=k, tol=0)
    kf, Y = _pykalman(init, y, k, le.DEFAULT_LEARN)
    p = res.params
    # Tolerance: both compute the same closed form (pykalman with pinv, we with Cholesky solves) in
    # double precision; after k iterations the difference stays at rounding level, 1e-8 relative.
    for ours, name in ((p.A, "A"), (p.C, "C"), (p.Sigma_x, "Sigma_x"), (p.Sigma_y_x, "Sigma_y_x"),
                       (p.mu1, "mu1"), (p.Sigma1, "Sigma1")):
        np.testing.assert_allclose(ours, getattr(kf, PYKALMAN_VARS[name]), rtol=1e-8, atol=1e-10, err_msg=name)
    np.testing.assert_allclose(res.log_lik[-1], kf.loglikelihood(Y), rtol=1e-10)


@pytest.mark.parametrize("learn", [("C", "Sigma_y_x"), ("Sigma_x", "Sigma1"), ("A", "mu1"), ("Sigma_x", "Sigma_y_x")])
def test_subsets_of_parameters_match_pykalman(learn):
    """With A held fixed, Sigma_x needs the full expected residual (the simplified Eq. 7.4 form is wrong)."""
    rng = np.random.default_rng(5)
    true = _random_params(rng, 2, 3)
    y = sample_lgssm(true, 30, rng=rng)[1]
    init = _perturbed(rng, true)
    res = le.fit_lgssm(y, 2, init=init, learn=learn, max_iter=3, tol=0)
    kf, _ = _pykalman(init, y, 3, learn)
    for name in PYKALMAN_VARS:
        np.testing.assert_allclose(getattr(res.params, name), getattr(kf, PYKALMAN_VARS[name]), rtol=1e-8,
                                   atol=1e-10, err_msg=name)
    for name in set(PYKALMAN_VARS) - set(learn):
        np.testing.assert_array_equal(getattr(res.params, name), getattr(init, name))


def test_simplified_sigma_x_needs_the_new_A():
    rng = np.random.default_rng(9)
    true = _random_params(rng, 2, 2, offsets=False)
    y = sample_lgssm(true, 50, rng=rng)[1]
    init = _perturbed(rng, true)
    st = le.lgssm_suff_stats(init, y)
    n = 2
    full = le.lgssm_m_step(st, init, learn=("Sigma_x",)).Sigma_x          # A fixed at init.A
    simplified = (st.S_next - init.A @ st.S_cross[:, :n].T) / st.n_trans  # draft's last line with the old A
    assert np.max(np.abs(full - simplified)) > 1e-3
    joint = le.lgssm_m_step(st, init, learn=("A", "Sigma_x"))             # A re-estimated: the forms agree
    np.testing.assert_allclose(joint.Sigma_x, (st.S_next - joint.A @ st.S_cross[:, :n].T) / st.n_trans,
                               rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# EM as a whole
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(30))
def test_log_likelihood_never_decreases(seed):
    rng = np.random.default_rng(1000 + seed)
    n, m, n_u = 1 + seed % 3, 1 + seed % 4, seed % 2
    true = _random_params(rng, n, m, n_u)
    lengths = [25] if seed % 3 else [12, 7, 18]
    us = [rng.standard_normal((T - 1, n_u)) for T in lengths]
    ys = [sample_lgssm(true, T, rng=rng, u=u)[1] for T, u in zip(lengths, us)]
    if seed % 4 == 0:
        ys[0][[1, 5, 6]] = np.nan                            # missing rows must not break monotonicity
    learn = le.LEARNABLE if (seed % 5 == 0 and n_u) else (le.DEFAULT_LEARN + ("a", "c") if seed % 2 else le.DEFAULT_LEARN)
    init = _perturbed(rng, true)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)      # run_em warns on any decrease
        res = le.fit_lgssm(ys, n, init=init, u=us if n_u else None, learn=learn, max_iter=25, tol=0)
    ll = res.log_lik
    scale = np.maximum(1.0, np.abs(ll[:-1]))
    assert np.all(np.diff(ll) >= -1e-9 * scale)
    # sandwich of Section 6.3.1: l(theta_i) <= ELBo_{i+1} <= l(theta_{i+1})
    assert np.all(res.elbo >= ll[:-1] - 1e-8 * scale) and np.all(res.elbo <= ll[1:] + 1e-8 * scale)
    assert ll[-1] > ll[0]


def test_random_init_fit_and_restarts():
    rng = np.random.default_rng(21)
    true = _random_params(rng, 2, 4)
    y = sample_lgssm(true, 200, rng=rng)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = le.fit_lgssm(y, 2, rng=np.random.default_rng(0), learn=le.DEFAULT_LEARN + ("c",), max_iter=30)
        best = le.fit_lgssm(y, 2, rng=np.random.default_rng(0), learn=le.DEFAULT_LEARN + ("c",), max_iter=30,
                            n_restarts=3)
    assert np.all(np.diff(res.log_lik) >= -1e-9 * np.abs(res.log_lik[:-1]))
    assert best.log_lik[-1] >= res.log_lik[-1] - 1e-9 * abs(res.log_lik[-1]) or best.log_lik[-1] > res.log_lik[0]
    # a fitted model explains the data better than its starting point by a wide margin
    assert res.log_lik[-1] - res.log_lik[0] > 10.0


@pytest.mark.parametrize("e", [-100, -40, 40])
def test_random_init_is_equivariant_in_the_units_of_y(e):
    """y -> 2^e y: the random start is the same model in the new units (C, c and Sigma_y_x rescaled), so
    each EM iterate's log likelihood shifts by exactly -T m e log 2. The start's noise floor used to be
    at least 1e-15 whatever the data's variance, so for data of variance 1e-24 (e = -40) the start
    was off by hundreds of nats and the fit stopped at a worse optimum."""
    rng = np.random.default_rng(4)
    true = _random_params(rng, 2, 3)
    y = sample_lgssm(true, 60, rng=rng)[1]
    s = 2.0**e
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = le.fit_lgssm(y, 2, rng=np.random.default_rng(2), max_iter=6, tol=0.0, reg_covar=0.0)
        scaled = le.fit_lgssm(s * y, 2, rng=np.random.default_rng(2), max_iter=6, tol=0.0, reg_covar=0.0)
    shift = y.size * e * np.log(2.0)
    np.testing.assert_allclose(np.asarray(scaled.log_lik) + shift, one.log_lik, rtol=0, atol=1e-7 * abs(shift) + 1e-8)
    np.testing.assert_allclose(scaled.params.Sigma_y_x / (s * s), one.params.Sigma_y_x, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("e", [-100, 100])
def test_the_stopping_rule_does_not_depend_on_the_units_of_y(e):
    """The relative tolerance was applied to |log p(y)|, which grows by T m |e| log 2 when y is scaled by
    2^e: at e = +-100 (|log p| about 12,800 instead of 340) the rule allowed a change of about 4 nats and
    the fit stopped early at a worse likelihood. It now reads the log likelihood in units where each
    column of y has unit spread: the same iterations (46 here, with tol = 3e-4) at every scale, and the
    same final log likelihood once shifted back. ``reg_covar = 0`` keeps the absolute covariance floor
    out of it (at 2^-100 it would bind, with a warning)."""
    rng = np.random.default_rng(4)
    true = _random_params(rng, 2, 3)
    y = sample_lgssm(true, 60, rng=rng)[1]
    one = le.fit_lgssm(y, 2, rng=np.random.default_rng(2), max_iter=500, tol=3e-4, reg_covar=0.0)
    scaled = le.fit_lgssm(2.0**e * y, 2, rng=np.random.default_rng(2), max_iter=500, tol=3e-4, reg_covar=0.0)
    assert one.converged and scaled.converged and 10 < one.n_iter < 500
    assert scaled.n_iter == one.n_iter
    shift = y.size * e * np.log(2.0)
    np.testing.assert_allclose(scaled.log_lik[-1] + shift, one.log_lik[-1], rtol=0, atol=1e-9 * abs(shift))


def test_random_init_refuses_out_of_scale_y_by_name():
    """Data whose variance (or mean) exceeds the model's range are refused naming y, not a field of
    the model built from them (C, c or Sigma_y_x, which the caller never passed)."""
    y = np.random.default_rng(0).standard_normal((30, 2))
    for bad in (y * 2.0**250, 1e80 + y * 1e79):
        with pytest.raises(ValueError, match=r"^y is out of scale.*1e\+75"):
            le.fit_lgssm(bad, 1, rng=np.random.default_rng(1), max_iter=3)


def test_parameter_recovery_up_to_similarity():
    """Rotating 2-D system, T = 3000: eigenvalues of A and the similarity-invariant autocovariances of y.

    Tolerance from T: for a fully observed VAR(1), sqrt(T) (A_hat - A) has covariance Sigma_x (x) P^{-1}
    (P the stationary covariance). The eigenvalues move by at most the norm of the error, so we allow
    6 standard errors of the entries of A, doubled for the information lost to observation noise.
    """
    rng = np.random.default_rng(2024)
    n, m, T = 2, 4, 3000
    A = _rot(0.3, 0.97)
    Sx = 0.05 * np.eye(n)
    true = LGSSMParams(np.zeros(n), np.eye(n), A, None, np.zeros(n), Sx, rng.standard_normal((m, n)),
                       np.zeros(m), 0.2 * np.eye(m))
    y = sample_lgssm(true, T, rng=rng)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = le.fit_lgssm(y, n, rng=np.random.default_rng(1), max_iter=300, tol=1e-9)
    P = solve_discrete_lyapunov(A, Sx)
    se = np.sqrt(np.max(np.kron(Sx, np.linalg.inv(P)).diagonal()) / T)
    tol = 2 * 6 * se * n
    lam_true = np.sort_complex(np.linalg.eigvals(A))
    lam_hat = np.sort_complex(np.linalg.eigvals(res.params.A))
    assert np.max(np.abs(lam_hat - lam_true)) < tol, (lam_hat, lam_true, tol)
    # similarity-invariant second-order structure of y: Cov[y_t] and Cov[y_{t+1}, y_t] (stationary)
    ph = res.params
    P_hat = solve_discrete_lyapunov(ph.A, ph.Sigma_x)
    for k in (0, 1):
        true_k = true.C @ np.linalg.matrix_power(A, k) @ P @ true.C.T + (true.Sigma_y_x if k == 0 else 0)
        hat_k = ph.C @ np.linalg.matrix_power(ph.A, k) @ P_hat @ ph.C.T + (ph.Sigma_y_x if k == 0 else 0)
        # the long-run variance of a slowly decaying process is estimated with relative error ~ a few / sqrt(T_eff)
        assert np.linalg.norm(hat_k - true_k) / np.linalg.norm(true_k) < 0.25
    # raw C is NOT recovered (non-identifiability): it differs by an invertible transform
    S, *_ = np.linalg.lstsq(ph.C, true.C, rcond=None)           # C_true ~ C_hat S  ->  S ~ transform
    np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(np.linalg.solve(S, ph.A @ S))),
                               lam_hat, rtol=1e-8, atol=1e-10)


def test_similarity_transform_leaves_likelihood_invariant():
    rng = np.random.default_rng(4)
    p = _random_params(rng, 3, 2, 1)
    u = rng.standard_normal((19, 1))
    y = sample_lgssm(p, 20, rng=rng, u=u)[1]
    S = rng.standard_normal((3, 3)) + 2 * np.eye(3)
    q = le.similarity_transform(p, S)
    np.testing.assert_allclose(le.lgssm_log_likelihood(q, y, u), oracle_log_evidence(p, y, u), rtol=1e-10)
    np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(q.A)), np.sort_complex(np.linalg.eigvals(p.A)),
                               rtol=1e-10)
    # one EM step commutes with the transform (EM is equivariant)
    e1 = le.fit_lgssm(y, 3, init=p, u=u, max_iter=1, tol=0).params
    e2 = le.fit_lgssm(y, 3, init=q, u=u, max_iter=1, tol=0).params
    t1 = le.similarity_transform(e1, S)
    for f in ("A", "C", "Sigma_x", "Sigma_y_x", "mu1", "Sigma1"):
        np.testing.assert_allclose(getattr(e2, f), getattr(t1, f), rtol=1e-7, atol=1e-9, err_msg=f)


def test_single_sequence_Sigma1_shrinks_towards_zero():
    """Section 7.4 (implementation note): with one sequence, Sigma1 <- Upsilon_{1|T} every iteration; the posterior covariance is below
    the prior in the Loewner order, so Sigma1 decreases monotonically towards 0 (not merely 'low rank').
    With many sequences the spread of the smoothed first states keeps it away from 0."""
    rng = np.random.default_rng(8)
    true = _random_params(rng, 2, 3, offsets=False)
    init = _perturbed(rng, true)
    one = [sample_lgssm(true, 40, rng=rng)[1]]
    many = [sample_lgssm(true, 40, rng=rng)[1] for _ in range(20)]
    r1 = le.fit_lgssm(one, 2, init=init, max_iter=60, tol=0, return_path=True)
    r20 = le.fit_lgssm(many, 2, init=init, max_iter=60, tol=0)
    lam = np.array([np.linalg.eigvalsh(p.Sigma1) for p in r1.path])
    diffs = [np.linalg.eigvalsh(r1.path[i].Sigma1 - r1.path[i + 1].Sigma1)[0] for i in range(len(r1.path) - 1)]
    assert min(diffs) > -1e-10                               # Sigma1^{(i+1)} <= Sigma1^{(i)}
    assert lam[-1, 0] < 0.05 * lam[1, 0]
    assert np.linalg.eigvalsh(r20.params.Sigma1)[0] > 10 * lam[-1, 0]


def test_floor_warns_and_convergence_warning():
    rng = np.random.default_rng(12)
    true = _random_params(rng, 2, 3, offsets=False)
    y = sample_lgssm(true, 30, rng=rng)[1]
    init = _perturbed(rng, true)
    with pytest.warns(ConvergenceWarning, match="did not converge in 2 iterations"):
        le.fit_lgssm(y, 2, init=init, max_iter=2, tol=1e-12)
    with pytest.warns(CovarianceFloorWarning, match="Sigma1"):
        res = le.fit_lgssm(y, 2, init=init, max_iter=2, tol=0, reg_covar=10.0)
    assert np.linalg.eigvalsh(res.params.Sigma1)[0] >= 10.0 * (1 - 1e-12)


def test_singular_regressors_raise():
    rng = np.random.default_rng(13)
    p = _random_params(rng, 2, 2, 1)
    u = np.ones((19, 1))                                     # constant control is collinear with the offset
    y = sample_lgssm(p, 20, rng=rng, u=u)[1]
    with pytest.raises(FloatingPointError, match="singular"):
        le.fit_lgssm(y, 2, init=p, u=u, learn=("B", "a"), max_iter=1, tol=0)


# ------------------------------------------------------------------------------------------------
# validation: one test per message
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    p = _random_params(rng, 2, 3)
    y = sample_lgssm(p, 10, rng=rng)[1]
    return p, y


@pytest.mark.parametrize("kwargs,match", [
    (dict(learn=("A", "Q")), r"learn must list names from \{'A'"),
    (dict(learn=("A", "A")), "learn lists 'A' more than once"),
    (dict(reg_covar=[1.0]), "reg_covar must be a scalar"),
    (dict(reg_covar=-1.0), "reg_covar must be non-negative"),
    (dict(n_restarts=2), "n_restarts must be 1 when init is given"),
    (dict(learn=("B",)), "learn lists 'B' but init.B has no columns"),
    (dict(max_iter=0), "max_iter must be at least 1"),
    (dict(tol=-1.0), "tol must be non-negative"),
])
def test_fit_validation(small, kwargs, match):
    p, y = small
    with pytest.raises(ValueError, match=match):
        le.fit_lgssm(y, 2, init=p, **kwargs)


def test_fit_validation_data(small):
    p, y = small
    with pytest.raises(ValueError, match="n must be at least 1"):
        le.fit_lgssm(y, 0, init=p)
    with pytest.raises(ValueError, match="init must have n = 3 latent dimensions"):
        le.fit_lgssm(y, 3, init=p)
    with pytest.raises(ValueError, match="y must hold at least one sequence"):
        le.fit_lgssm([], 2, init=p)
    with pytest.raises(ValueError, match="y has no observed rows"):
        le.fit_lgssm(np.full((5, 3), np.nan), 2, init=p)
    with pytest.raises(ValueError, match=r"y must have shape \(T, m\)"):
        le.fit_lgssm(y[:, :2], 2, init=p)
    bad = y.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="is partly NaN"):
        le.fit_lgssm(bad, 2, init=p)
    with pytest.raises(ValueError, match="every sequence has length T = 1"):
        le.fit_lgssm([y[:1], y[1:2]], 2, init=p)
    with pytest.raises(ValueError, match="u must match y"):
        le.fit_lgssm([y, y], 2, init=p._replace(B=np.zeros((2, 1))), u=np.zeros((9, 1)))
    with pytest.raises(ValueError, match=r"u must have shape \(T - 1, n_u\)"):
        le.fit_lgssm(y, 2, init=p._replace(B=np.zeros((2, 1))), u=np.zeros((8, 1)))
    with pytest.raises(ValueError, match="learn lists 'B' but no controls u were given"):
        le.fit_lgssm(y, 2, rng=np.random.default_rng(0), learn=("B",))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        le.fit_lgssm(y, 2)
    with pytest.raises(TypeError, match="init must be an LGSSMParams"):
        le.fit_lgssm(y, 2, init=dict(p._asdict()))
    with pytest.raises(TypeError, match="learn must be a sequence"):
        le.fit_lgssm(y, 2, init=p, learn=3)


def test_stats_and_transform_validation(small):
    p, y = small
    st = le.lgssm_suff_stats(p, y)
    with pytest.raises(ValueError, match=r"stats.S_prev must have shape"):
        le.lgssm_m_step(st._replace(S_prev=np.eye(2)), p)
    with pytest.raises(ValueError, match="stats.n_obs must be at least 1"):
        le.lgssm_m_step(st._replace(n_obs=0), p)
    no_trans = st._replace(n_trans=0, S_prev=0 * st.S_prev, S_cross=0 * st.S_cross, S_next=0 * st.S_next)
    with pytest.raises(ValueError, match="stats.n_trans is 0"):
        le.lgssm_m_step(no_trans, p)
    with pytest.raises(ValueError, match=r"stats.S_prev\[-1, -1\] must equal stats.n_trans = 0 .*got 9"):
        le.lgssm_m_step(st._replace(n_trans=0), p)
    with pytest.raises(TypeError, match="stats must be an LGSSMStats"):
        le.lgssm_expected_log_joint(p, tuple(st))
    with pytest.raises(ValueError, match="S must be invertible"):
        le.similarity_transform(p, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"S must have shape \(n, n\)"):
        le.similarity_transform(p, np.eye(3))
    with pytest.raises(TypeError, match="params must be an LGSSMParams"):
        le.lgssm_suff_stats(None, y)
