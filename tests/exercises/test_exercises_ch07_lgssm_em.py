"""Tests for the Section 7.4 exercise checkers (pedagogy_lib.exercises.ch07_lgssm_em).

Correct answers are computed here independently: the smoother moments by dense conditioning of the
stacked joint Gaussian (tests/oracle_lgssm.py), the M steps by least squares on "augmented" data
(a square root of the expected moments), and the similarity transform written out from its definition.
"""
from __future__ import annotations

import numpy as np
import pytest

from oracle_lgssm import posterior_states
from pedagogy_lib.exercises import ch07_lgssm_em as check


def _dense_moments():
    p = check.EX_SMOOTH
    g = posterior_states(p.params, p.y)
    T, n = g.mu.shape
    blk = lambda t, s: g.Sigma[t * n:(t + 1) * n, s * n:(s + 1) * n]  # noqa: E731
    E_xx = [blk(t, t) + np.outer(g.mu[t], g.mu[t]) for t in range(T)]
    E_np = [blk(t + 1, t) + np.outer(g.mu[t + 1], g.mu[t]) for t in range(T - 1)]
    return g.mu, E_xx, E_np


def test_smoother_data_agree_with_dense_oracle():
    p = check.EX_SMOOTH
    mu, E_xx, E_np = _dense_moments()
    np.testing.assert_allclose(p.mu_smooth, mu, rtol=1e-9, atol=1e-10)


def test_cross_moment():
    """The exercise asks for the lag-two moment S20 = sum_t E[x_t x_{t-2}^T | y]; the dense posterior gives
    the covariance of states two steps apart directly."""
    p = check.EX_SMOOTH
    g = posterior_states(p.params, p.y)
    T, n = g.mu.shape
    blk = lambda t, s: g.Sigma[t * n:(t + 1) * n, s * n:(s + 1) * n]  # noqa: E731
    S20 = sum(blk(t + 2, t) + np.outer(g.mu[t + 2], g.mu[t]) for t in range(T - 2))
    assert check.cross_moment(S20)
    mu, _, E_np = _dense_moments()
    means = sum(np.outer(mu[t + 2], mu[t]) for t in range(T - 2))
    r = check.cross_moment(means)
    assert not r and "smoothed means" in str(r)
    r = check.cross_moment(S20.T)
    assert not r and "transpose" in str(r)
    r = check.cross_moment(None)
    assert not r and "None" in str(r)
    Uc = p.Upsilon_cross
    r = check.cross_moment(sum(Uc[t + 1] @ Uc[t] for t in range(T - 2)) + means)
    assert not r and "product of the two neighbouring cross-covariances" in str(r)
    r = check.cross_moment(sum(E_np))
    assert not r and "lag-one moment" in str(r)


def _rotation_A_by_optimizer(E_xx, E_np):
    """argmin over (p, q) of sum_{t>=2} E||x_t - A x_{t-1}||^2 with A = [[p, -q], [q, p]], each expectation
    written out as tr(E[x_t x_t^T]) - 2 tr(A^T E[x_t x_{t-1}^T]) + tr(A E[x_{t-1} x_{t-1}^T] A^T)."""
    from scipy.optimize import minimize

    def cost(v):
        A = np.array([[v[0], -v[1]], [v[1], v[0]]])
        return sum(np.trace(E_xx[t]) - 2 * np.trace(A.T @ E_np[t - 1]) + np.trace(A @ E_xx[t - 1] @ A.T)
                   for t in range(1, len(E_xx)))
    v = minimize(cost, np.zeros(2), method="BFGS", options={"gtol": 1e-12}).x
    return np.array([[v[0], -v[1]], [v[1], v[0]]])


def test_m_step_A_scaled_rotation():
    p = check.EX_SMOOTH
    np.testing.assert_allclose(p.params.Sigma_x, p.params.Sigma_x[0, 0] * np.eye(2))   # isotropic, as stated
    mu, E_xx, E_np = _dense_moments()
    A_opt = _rotation_A_by_optimizer(E_xx, E_np)
    S10, S00 = sum(E_np), sum(E_xx[:-1])
    A = np.array([[np.trace(S10), S10[0, 1] - S10[1, 0]], [S10[1, 0] - S10[0, 1], np.trace(S10)]]) / np.trace(S00)
    np.testing.assert_allclose(A, A_opt, rtol=1e-6, atol=1e-8)
    assert check.m_step_A(A)
    free = np.linalg.lstsq(S00.T, S10.T, rcond=None)[0].T                    # the page's update
    r = check.m_step_A(free)
    assert not r and "four free entries" in str(r)
    proj = np.array([[free[0, 0] + free[1, 1], free[0, 1] - free[1, 0]],
                     [free[1, 0] - free[0, 1], free[0, 0] + free[1, 1]]]) / 2
    r = check.m_step_A(proj)
    assert not r and "moved it into the family" in str(r)
    r = check.m_step_A(A.T)
    assert not r and "wrong way" in str(r)
    S_all = sum(E_xx)
    r = check.m_step_A(A * np.trace(S00) / np.trace(S_all))
    assert not r and "all T steps" in str(r)
    assert "1..T-1" not in str(r) and "T - 1" not in str(r), str(r)       # the slip, not the fix
    M10, M00 = mu[1:].T @ mu[:-1], mu[:-1].T @ mu[:-1]
    r = check.m_step_A(np.array([[np.trace(M10), M10[0, 1] - M10[1, 0]],
                                 [M10[1, 0] - M10[0, 1], np.trace(M10)]]) / np.trace(M00))
    assert not r and "means only" in str(r)
    assert "trace" not in check.m_step_A.__doc__ and "tr(" not in check.m_step_A.__doc__
    assert not check.m_step_A(None)
    assert not check.m_step_A(np.eye(3))


def _offset_by_augmented_least_squares(p):
    """C and c minimize sum_t E||y_t - C x_t - c||^2 = sum_t ||y_t - C xbar_t - c||^2 + tr(C Upsilon_t C^T):
    least squares on the rows [xbar_t, 1] -> y_t and [L_t^T, 0] -> 0, with Upsilon_t = L_t L_t^T; the
    covariance is the expected residual, summed the same way."""
    g = posterior_states(p.params, p.y)
    T, n = g.mu.shape
    blocks = [g.Sigma[t * n:(t + 1) * n, t * n:(t + 1) * n] for t in range(T)]
    rows = [np.append(g.mu[t], 1.0) for t in range(T)]
    targets = list(p.y)
    for U in blocks:
        Lc = np.linalg.cholesky(U)
        for j in range(n):
            rows.append(np.append(Lc[:, j], 0.0))
            targets.append(np.zeros(p.y.shape[1]))
    coef = np.linalg.lstsq(np.array(rows), np.array(targets), rcond=None)[0].T
    C, c = coef[:, :n], coef[:, n]
    R = sum(np.outer(p.y[t] - C @ g.mu[t] - c, p.y[t] - C @ g.mu[t] - c) + C @ blocks[t] @ C.T
            for t in range(T)) / T
    return C, c, R, g.mu, blocks


def test_m_step_C_with_offset():
    p = check.EX_OFFSET
    np.testing.assert_allclose(p.mu_smooth, posterior_states(p.params, p.y).mu, rtol=1e-9, atol=1e-10)
    C, c, R, mu, U = _offset_by_augmented_least_squares(p)
    y, T = p.y, p.y.shape[0]
    assert check.m_step_C(C, c, R)
    r = check.m_step_C(C, c)
    assert not r and "Sigma_y_x is None" in str(r)
    r = check.m_step_C(C, None, R)
    assert not r and "c is None" in str(r)
    Sxx = sum(U) + mu.T @ mu
    C_plain = np.linalg.solve(Sxx, mu.T @ y).T
    r = check.m_step_C(C_plain, c, R)
    assert not r and "without an offset" in str(r)
    r = check.m_step_C(C, y.mean(axis=0), R)
    assert not r and "mean of y" in str(r)
    r = check.m_step_C(C, y.mean(axis=0) - C_plain @ mu.mean(axis=0), R)
    assert not r and "goes with the page's C" in str(r)
    r = check.m_step_C(C, c, R * T / (T - 1))
    assert not r and "T - 1" in str(r)
    res = y - mu @ C.T - c
    r = check.m_step_C(C, c, res.T @ res / T)
    assert not r and "C Upsilon C^T" in str(r)
    r = check.m_step_C(C, c, (y.T @ y - C @ (mu.T @ y)) / T)
    assert not r and "offset's part" in str(r)
    X1 = np.hstack([mu, np.ones((T, 1))])
    coef = np.linalg.lstsq(X1, y, rcond=None)[0].T
    r = check.m_step_C(coef[:, :2], coef[:, 2], R)
    assert not r and "posterior covariances" in str(r)
    assert not check.m_step_C(None, None, None)


def test_similarity():
    p, S = check.EX_SIM
    Si = np.linalg.inv(S)
    good = p._replace(A=S @ p.A @ Si, C=p.C @ Si, Sigma_x=S @ p.Sigma_x @ S.T, mu1=S @ p.mu1,
                      Sigma1=S @ p.Sigma1 @ S.T, a=S @ p.a)
    assert check.similarity(good)
    r = check.similarity(good._replace(C=p.C @ S))
    assert not r and "same emission mean" in str(r) and "S^{-1}" not in str(r)
    r = check.similarity(good._replace(A=Si @ p.A @ S))
    assert not r and "other direction" in str(r)
    r = check.similarity(good._replace(Sigma_x=S.T @ p.Sigma_x @ S))
    assert not r and "Sigma_x has S on the wrong sides" in str(r)
    # the offset is not zero, so leaving it in the old coordinates is caught
    assert np.abs(p.a).max() > 0.1
    r = check.similarity(good._replace(a=p.a))
    assert not r and "offset a" in str(r)
    r = check.similarity(None)
    assert not r and "None" in str(r)
    r = check.similarity({"A": good.A})
    assert not r and "LGSSMParams" in str(r)


def test_eigenvalues_invariant_six_verdicts_all_or_nothing():
    """The six quantities of INVARIANT_QUESTIONS decided numerically, not from the checker's list: the model
    of EX_SIM moved to new coordinates by its own S and by random invertible matrices, each quantity
    compared before and after. Then the checker must accept exactly that list."""
    import itertools

    p, S0 = check.EX_SIM
    rng = np.random.default_rng(20)

    def quantities(A, C, Sigma_x, mu1, Sigma1):
        return [np.linalg.det(A), np.linalg.svd(A, compute_uv=False), C @ Sigma_x @ C.T,
                np.linalg.det(Sigma_x), C @ A @ mu1, np.linalg.eigvalsh(Sigma1)]

    before = quantities(p.A, p.C, p.Sigma_x, p.mu1, p.Sigma1)
    same = [True] * 6
    for S in [S0] + [rng.standard_normal((2, 2)) + 2 * np.eye(2) for _ in range(5)]:
        Si = np.linalg.inv(S)
        after = quantities(S @ p.A @ Si, p.C @ Si, S @ p.Sigma_x @ S.T, S @ p.mu1, S @ p.Sigma1 @ S.T)
        same = [s and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12)) for s, a, b in zip(same, after, before)]
    truth = same
    assert truth == [True, False, True, False, True, False]
    # the generated model really gives the observations the same distribution: log likelihoods agree
    Si = np.linalg.inv(S0)
    moved = p._replace(A=S0 @ p.A @ Si, C=p.C @ Si, Sigma_x=S0 @ p.Sigma_x @ S0.T, a=S0 @ p.a, mu1=S0 @ p.mu1,
                       Sigma1=S0 @ p.Sigma1 @ S0.T)
    from pedagogy_lib import lgssm as kalman
    y = kalman.sample_lgssm(p, 12, rng=np.random.default_rng(21))[1]
    np.testing.assert_allclose(kalman.kalman_filter(moved, y, backend="numpy").log_evidence,
                               kalman.kalman_filter(p, y, backend="numpy").log_evidence, rtol=1e-10)
    assert len(check.INVARIANT_QUESTIONS) == 6
    assert check.eigenvalues_invariant(truth)
    assert check.eigenvalues_invariant(np.array(truth))
    # the list the page's own paragraph spells out (A, its eigenvalues, C, Sigma_x, Sigma_y_x, trace) is
    # not the answer any more
    assert not check.eigenvalues_invariant([False, True, False, False, True, True])
    messages = set()
    for guess in itertools.product([False, True], repeat=6):
        r = check.eigenvalues_invariant(list(guess))
        assert bool(r) == (list(guess) == truth)
        if not r:
            messages.add(str(r))
    assert len(messages) == 1                      # the same words whichever entries are wrong
    msg = messages.pop()
    assert "eigenvalue" not in msg and "S A S" not in msg and "entry" not in msg.split("not every entry")[1]
    for bad, fragment in [(None, "None"), (False, "sequence of 6"), ([True] * 5, "sequence of 6"),
                          ("TTFFTT", "sequence of 6"), ([None] * 6, "None")]:
        r = check.eigenvalues_invariant(bad)
        assert not r and fragment in str(r), str(r)


def _m_step_loops(y, mu, U, U_cross):
    """Eq. 7.4 for one sequence with isotropic emission noise (the exercise's variant), the expected outer
    products summed step by step."""
    T, n = mu.shape
    E = [U[t] + np.outer(mu[t], mu[t]) for t in range(T)]
    S10 = sum(U_cross[t - 1] + np.outer(mu[t], mu[t - 1]) for t in range(1, T))
    S00, S11 = sum(E[:-1]), sum(E[1:])
    A = S10 @ np.linalg.inv(S00)
    Sigma_x = (S11 - A @ S10.T) / (T - 1)
    Syx = sum(np.outer(y[t], mu[t]) for t in range(T))
    C = Syx @ np.linalg.inv(sum(E))
    m = y.shape[1]
    s2 = (sum(y[t] @ y[t] for t in range(T)) - sum(C[i] @ Syx[i] for i in range(m))) / (T * m)
    return A, Sigma_x, C, s2 * np.eye(m), mu[0], E[0] - np.outer(mu[0], mu[0])


def _m_step_library(y, mu, U, U_cross):
    """The library's M step, fed the statistics of Section 7.4 assembled from the function's inputs; its full
    emission covariance made isotropic (the mean of its diagonal times I)."""
    from pedagogy_lib.lgssm import LGSSMParams
    from pedagogy_lib.lgssm.em import LGSSMStats, lgssm_m_step

    T, n = mu.shape
    m = y.shape[1]
    P = U + mu[:, :, None] * mu[:, None, :]
    S_prev = np.zeros((n + 1, n + 1))
    S_prev[:n, :n], S_prev[:n, n], S_prev[n, :n], S_prev[n, n] = P[:-1].sum(0), mu[:-1].sum(0), mu[:-1].sum(0), T - 1
    S_cross = np.concatenate([U_cross.sum(0) + mu[1:].T @ mu[:-1], mu[1:].sum(0)[:, None]], axis=1)
    S_w = np.zeros((n + 1, n + 1))
    S_w[:n, :n], S_w[:n, n], S_w[n, :n], S_w[n, n] = P.sum(0), mu.sum(0), mu.sum(0), T
    stats = LGSSMStats(S_prev, S_cross, P[1:].sum(0), T - 1, S_w,
                       np.concatenate([y.T @ mu, y.sum(0)[:, None]], axis=1), y.T @ y, T, mu[0], P[0], 1, 0.0, 0.0)
    old = LGSSMParams(np.zeros(n), np.eye(n), np.eye(n), None, np.zeros(n), np.eye(n), np.zeros((m, n)),
                      np.zeros(m), np.eye(m))
    new = lgssm_m_step(stats, old)
    return new.A, new.Sigma_x, new.C, np.trace(new.Sigma_y_x) / m * np.eye(m), new.mu1, new.Sigma1


def test_m_step_function_accepts_the_loops_and_the_library():
    assert check.m_step_function(_m_step_loops)
    assert check.m_step_function(_m_step_library)


def _m_step_with(slip):
    def fn(y, mu, U, U_cross):
        if slip == "means only":
            U, U_cross = 0 * U, 0 * U_cross
        if slip == "cross transposed":
            U_cross = np.swapaxes(U_cross, 1, 2)
        out = list(_m_step_loops(y, mu, U, U_cross))
        T = y.shape[0]
        if slip == "Sigma_x by T":
            out[1] = out[1] * (T - 1) / T
        if slip == "Sigma_y_x by T - 1":
            out[3] = out[3] * T / (T - 1)
        if slip == "full Sigma_y_x":
            C = out[2]
            out[3] = (y.T @ y - C @ (y.T @ mu).T) / T
        if slip == "summed s2":
            out[3] = out[3] * y.shape[1]
        if slip == "uncentred Sigma1":
            out[5] = U[0] + np.outer(mu[0], mu[0])
        if slip == "A over all steps":
            P = U + mu[:, :, None] * mu[:, None, :]
            out[0] = (U_cross.sum(0) + mu[1:].T @ mu[:-1]) @ np.linalg.inv(P.sum(0))
        return tuple(out)
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_m_step_with("means only"), "smoothed means only"),
    (_m_step_with("cross transposed"), "you transposed Upsilon_cross"),
    (_m_step_with("Sigma_x by T"), "the T - 1 transitions"),
    (_m_step_with("Sigma_y_x by T - 1"), "the emission averages run over all T steps"),
    (_m_step_with("uncentred Sigma1"), "without subtracting the outer product of mu1"),
    (_m_step_with("full Sigma_y_x"), "this model's emission noise is s^2 I"),
    (_m_step_with("summed s2"), "write log det(s^2 I)"),
    (_m_step_with("A over all steps"), "the predecessor runs over t = 1..T-1 only"),
    (lambda y, mu, U, Uc: None, "forget to return"),
    (lambda y, mu, U, Uc: np.linalg.inv(np.zeros((2, 2))), "raised LinAlgError"),
    (lambda y, mu, U, Uc: _m_step_loops(y, mu, U, Uc)[:4], "should return the six parameters"),
])
def test_m_step_function_names_the_slips(wrong, fragment):
    r = check.m_step_function(wrong)
    assert not r
    assert fragment in str(r), str(r)


def test_m_step_function_reaches_the_single_transition_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.m_step_function(None))
    msg = str(check.m_step_function(lambda y, mu, U, Uc: tuple(x + 0.01 for x in _m_step_loops(y, mu, U, Uc))))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg.replace("Eq. 7.4", "")), msg
    # right except when there is a single transition: reported on that problem, with the named slip
    msg = str(check.m_step_function(lambda y, mu, U, Uc: _m_step_with("Sigma_x by T")(y, mu, U, Uc)
                                    if y.shape[0] == 2 else _m_step_loops(y, mu, U, Uc)))
    assert "test problem 4 (T = 2" in msg and "the T - 1 transitions" in msg, msg


# --- a Newton step on finite differences of the quadratic objective, in place of its derivative ---
