"""Checkers of notebook 2.2.2: correct answers pass, typical wrong answers fail with the right hint."""
import numpy as np
import pytest

from pedagogy_lib.exercises import ch02_kalman as check
from pedagogy_lib.lgssm.kalman import LGSSMParams, kalman_filter


def _scalar_filter(a, c, q, r, T=400):
    one = np.ones(1)
    params = LGSSMParams(0 * one, np.eye(1), a * np.eye(1), None, 0 * one, q * np.eye(1), c * np.eye(1), 0 * one,
                         r * np.eye(1))
    return kalman_filter(params, np.zeros((T, 1)))        # covariances converge regardless of the data


def test_steady_state_matches_a_long_filter_run_and_catches_slips():
    a, c, q, r = check.EX_WALK
    res = _scalar_filter(a, c, q, r)
    P, K = res.Upsilon_pred[-1, 0, 0], res.K[-1, 0, 0]
    assert check.steady_state(P, K)
    P_filt = res.Upsilon_filt[-1, 0, 0]
    out = check.steady_state(P_filt, K)
    assert not out and "filtered variance" in str(out)
    walk = _scalar_filter(1.0, 1.0, q, r)
    out = check.steady_state(walk.Upsilon_pred[-1, 0, 0], K)
    assert not out and "random walk's equation" in str(out)
    out = check.steady_state(_scalar_filter(1.0, c, q, r).Upsilon_pred[-1, 0, 0], K)
    assert not out and "left out a^2" in str(out)
    out = check.steady_state(_scalar_filter(a, 1.0, q, r).Upsilon_pred[-1, 0, 0], K)
    assert not out and "left out c" in str(out)
    out = check.steady_state(P, P / (c * c * P + r))
    assert not out and "numerator of the gain" in str(out)
    out = check.steady_state(P, P / (P + r))
    assert not out and "left c out of the gain" in str(out)
    out = check.steady_state(None, None)
    assert not out and "is None" in str(out)


def test_steady_state_on_models_drawn_for_students():
    import importlib

    from pedagogy_lib.exercises import checker

    try:
        for salt in range(6):
            with checker.drawn_for(salt):
                own = importlib.reload(check)
                a, c, q, r = own.EX_WALK
                assert abs(a - 1) >= 0.15 and abs(abs(c) - 1) >= 0.15
                res = _scalar_filter(a, c, q, r, T=600)
                assert own.steady_state(res.Upsilon_pred[-1, 0, 0], res.K[-1, 0, 0])
    finally:
        importlib.reload(check)


def _one_step_by_conditioning(p):
    """The joint Gaussian of (x_t, y_t) given y_{1:t-1}, written out from the model, conditioned on the
    reading that arrived by the Schur complement: the missing reading is simply not conditioned on."""
    m = p.A @ p.mu_prev + p.a
    P = p.A @ p.Upsilon_prev @ p.A.T + p.Sigma_x
    mu = np.concatenate([m, p.C @ m + p.c])
    S = np.block([[P, P @ p.C.T], [p.C @ P, p.C @ P @ p.C.T + p.Sigma_y_x]])
    obs = 2 + np.flatnonzero(~np.isnan(p.y))
    keep = np.arange(2)
    G = S[np.ix_(keep, obs)] @ np.linalg.inv(S[np.ix_(obs, obs)])
    return mu[keep] + G @ (p.y[obs - 2] - mu[obs]), S[np.ix_(keep, keep)] - G @ S[np.ix_(obs, keep)]


def test_one_step_against_conditioning_the_joint_and_the_library():
    p = check.EX_STEP
    assert np.isnan(p.y).sum() == 1
    mu, U = _one_step_by_conditioning(p)
    assert check.one_step(mu, U)
    # the library's filter on the model of the sensor that reported (it takes only whole rows as missing);
    # a missing first observation makes row 0 of the filter equal the prior (mu_prev, Upsilon_prev)
    seen = ~np.isnan(p.y)
    params = LGSSMParams(p.mu_prev, p.Upsilon_prev, p.A, None, p.a, p.Sigma_x, p.C[seen], p.c[seen],
                         p.Sigma_y_x[np.ix_(seen, seen)])
    res = kalman_filter(params, np.vstack([np.full((1, 1), np.nan), p.y[seen][None]]))
    np.testing.assert_allclose(res.mu_filt[1], mu, rtol=1e-10)
    np.testing.assert_allclose(res.Upsilon_filt[1], U, rtol=1e-10, atol=1e-14)


def test_one_step_typical_mistakes():
    p = check.EX_STEP
    mu, U = _one_step_by_conditioning(p)
    for fill, phrase in ((0.0, "put 0 in place"), (None, "predicted reading in place")):
        q = p._replace(y=np.where(np.isnan(p.y), 0.0, p.y))
        if fill is None:
            m = p.A @ p.mu_prev + p.a
            q = p._replace(y=np.where(np.isnan(p.y), p.C @ m + p.c, p.y))
        mu_w, U_w = _one_step_by_conditioning(q)
        out = check.one_step(mu_w, U_w)
        assert not out and phrase in str(out) and "with both readings" in str(out), str(out)
    seen, miss = ~np.isnan(p.y), np.isnan(p.y)
    R = p.Sigma_y_x
    R_c = R[np.ix_(seen, seen)] - R[np.ix_(seen, miss)] @ np.linalg.inv(R[np.ix_(miss, miss)]) @ R[np.ix_(miss, seen)]
    q = p._replace(C=p.C[seen], c=p.c[seen], Sigma_y_x=R_c, y=p.y[seen])
    out = check.one_step(*_one_step_by_conditioning(q))
    assert not out and "given the missing one" in str(out)
    # skipping the time update
    q = p._replace(A=np.eye(2), a=np.zeros(2), Sigma_x=np.zeros((2, 2)))
    out = check.one_step(*_one_step_by_conditioning(q))
    assert not out and "skipped the time update" in str(out)
    m = p.A @ p.mu_prev + p.a
    P = p.A @ p.Upsilon_prev @ p.A.T + p.Sigma_x
    out = check.one_step(m, P)
    assert not out and "stopped after the time update" in str(out)
    out = check.one_step(None, None)
    assert not out and "is None" in str(out)


def test_one_step_on_problems_drawn_for_students():
    import importlib

    from pedagogy_lib.exercises import checker

    try:
        for salt in range(6):
            with checker.drawn_for(salt):
                own = importlib.reload(check)
                p = own.EX_STEP
                assert np.isnan(p.y).sum() == 1 and np.linalg.eigvalsh(p.Sigma_y_x).min() > 0
                assert own.one_step(*_one_step_by_conditioning(p))
    finally:
        importlib.reload(check)


def _two_step_by_conditioning(U, A, Q):
    """The joint of (x_{t-1}, x_t, x_{t+1}) given y_{1:t-1} (zero offsets: they do not change the gain), built
    block by block, and the regression coefficient of x_{t-1} on x_{t+1} read off by the Schur complement."""
    S11 = U
    S12 = U @ A.T
    S22 = A @ U @ A.T + Q
    S13 = S12 @ A.T
    S23 = S22 @ A.T
    S33 = A @ S22 @ A.T + Q
    S = np.block([[S11, S12, S13], [S12.T, S22, S23], [S13.T, S23.T, S33]])
    return S[0:2, 4:6] @ np.linalg.inv(S[4:6, 4:6])


def test_smoother_gain_by_conditioning_and_as_a_product_of_gains():
    U, A, Q = check.EX_GAIN_J
    J = _two_step_by_conditioning(U, A, Q)
    assert check.smoother_gain(J)
    P = A @ U @ A.T + Q                                  # the prediction at t: no filter there
    J1 = U @ A.T @ np.linalg.inv(P)
    J_pred = P @ A.T @ np.linalg.inv(A @ P @ A.T + Q)
    np.testing.assert_allclose(J1 @ J_pred, J, rtol=1e-10)


def test_smoother_gain_mistakes():
    U, A, Q = check.EX_GAIN_J
    J = _two_step_by_conditioning(U, A, Q)
    J1 = U @ A.T @ np.linalg.inv(A @ U @ A.T + Q)
    A2 = A @ A
    cases = [(J1, "one-step gain"),
             (U @ A2.T @ np.linalg.inv(A2 @ U @ A2.T + Q), "left out the noise of the middle step"),
             (U @ A2.T @ np.linalg.inv(A2 @ U @ A2.T + 2 * Q), "without passing it through A"),
             (J1 @ J1, "same filter covariance"),
             (J.T, "transpose")]
    for wrong, phrase in cases:
        out = check.smoother_gain(wrong)
        assert not out and phrase in str(out), (phrase, str(out))
    assert not check.smoother_gain(None)


def test_inflating_A_accepts_the_non_normal_counterexample_and_rejects_others():
    A = np.array([[0.5, 4.0], [-0.1, 0.5]])                   # eigenvalues 0.5 +- 0.63i, modulus 0.81
    assert np.all(np.linalg.eigvals(A).imag != 0) and np.max(np.abs(np.linalg.eigvals(A))) < 1
    assert np.linalg.eigvalsh(A @ A.T).max() > 1
    assert check.inflating_A(A)
    out = check.inflating_A(np.array([[0.9, 3.0], [0.0, -0.2]]))   # stable and inflating, but real eigenvalues
    assert not out and "eigenvalues of this A are real" in str(out)
    out = check.inflating_A(np.array([[0.5, 4.0], [-0.3, 0.5]]))   # complex pair of modulus sqrt(1.45)
    assert not out and "not strictly stable" in str(out) and "real" not in str(out)
    out = check.inflating_A(0.9 * np.eye(2))
    assert not out and "shrinks Upsilon = I in every direction" in str(out)
    out = check.inflating_A(np.array([[1.2, 3.0], [0.0, 0.5]]))
    assert not out and "not strictly stable" in str(out)
    out = check.inflating_A(np.eye(3))
    assert not out and "shape (2, 2)" in str(out)
    out = check.inflating_A(None)
    assert not out and "is None" in str(out)


def _rts_numpy(mu_filt, Upsilon_filt, A, a, Sigma_x):
    """The notebook's solution: time update, gain and backward step written out."""
    mu_s, U_s = mu_filt.copy(), Upsilon_filt.copy()
    for t in range(mu_filt.shape[0] - 2, -1, -1):
        mu_p = A @ mu_filt[t] + a
        U_p = A @ Upsilon_filt[t] @ A.T + Sigma_x
        J = np.linalg.solve(U_p, A @ Upsilon_filt[t]).T
        mu_s[t] = mu_filt[t] + J @ (mu_s[t + 1] - mu_p)
        U_s[t] = Upsilon_filt[t] + J @ (U_s[t + 1] - U_p) @ J.T
    return mu_s, U_s


def _rts_blocks(mu_filt, Upsilon_filt, A, a, Sigma_x):
    """Independently of the formulas: future conditioning by BAYES-INVERT, the backward step by MARGINALIZE."""
    from pedagogy_lib.gaussian import blocks as g

    mu_s, U_s = mu_filt.copy(), Upsilon_filt.copy()
    for t in range(mu_filt.shape[0] - 2, -1, -1):
        future = g.bayes_invert(mu_filt[t], Upsilon_filt[t], A, a, Sigma_x, np.zeros(A.shape[0]))
        mu_p = A @ mu_filt[t] + a
        back = g.marginalize(mu_s[t + 1], U_s[t + 1], future.gain, mu_filt[t] - future.gain @ mu_p, future.Sigma)
        mu_s[t], U_s[t] = back.mu, back.Sigma
    return mu_s, U_s


def test_rts_backward_pass_accepts_the_solution_and_the_two_building_blocks():
    assert check.rts_backward_pass(_rts_numpy)
    assert check.rts_backward_pass(_rts_blocks)
    assert check.rts_backward_pass(lambda *args: list(_rts_numpy(*args)))       # a list of the two is fine


def _rts_slip(offset=True, noise=True, transpose=False, flip=False):
    def fn(mu_filt, Upsilon_filt, A, a, Sigma_x):
        mu_s, U_s = mu_filt.copy(), Upsilon_filt.copy()
        for t in range(mu_filt.shape[0] - 2, -1, -1):
            mu_p = A @ mu_filt[t] + (a if offset else 0.0)
            U_p = A @ Upsilon_filt[t] @ A.T + (Sigma_x if noise else 0.0)
            J = np.linalg.inv(U_p) @ A @ Upsilon_filt[t] if transpose else Upsilon_filt[t] @ A.T @ np.linalg.inv(U_p)
            mu_s[t] = mu_filt[t] + J @ (mu_s[t + 1] - mu_p)
            U_s[t] = Upsilon_filt[t] + J @ ((U_p - U_s[t + 1]) if flip else (U_s[t + 1] - U_p)) @ J.T
        return mu_s, U_s
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (lambda m, U, A, a, Q: (m, U), "backward pass never ran"),
    (_rts_slip(offset=False), "left the offset a out"),
    (_rts_slip(noise=False), "left Sigma_x out"),
    (_rts_slip(transpose=True), "transpose of J_{t-1}"),
    (_rts_slip(flip=True), "the other way round"),
    (lambda m, U, A, a, Q: None, "forget to return"),
    (lambda m, U, A, a, Q: 1 / 0, "raised ZeroDivisionError"),
    (lambda m, U, A, a, Q: _rts_numpy(m, U, A, a, Q)[0], "should return the pair"),
])
def test_rts_backward_pass_names_the_slips(wrong, fragment):
    res = check.rts_backward_pass(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_rts_backward_pass_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.rts_backward_pass(np.eye(2)))
    msg = str(check.rts_backward_pass(lambda m, U, A, a, Q: (m + 0.01, U)))
    assert "test problem 1" in msg
    assert not re.search(r"[0-9]\.[0-9]", msg.replace("Eqs. 2.53-2.54", "")), msg


def test_inflating_rejects_the_pages_example_and_its_transpose():
    """The statement says "Do not reuse the example above": the page's A_bad, its transpose and
    small changes of them pass both tests but are not the student's construction."""
    A_bad = np.array([[0.5, 10.0], [0.0, 0.5]])
    for A in (A_bad, A_bad.T, -A_bad, A_bad + 0.001 * np.array([[0, 1], [0, 0]]), A_bad.T + 0.01,
              np.array([[0.5, 9.0], [0.0, 0.5]]), 0.98 * A_bad.T, 0.5 * A_bad, -0.3 * A_bad.T):
        r = check.inflating_A(A)
        assert not r and "page's example" in str(r), A
    assert check.inflating_A(np.array([[0.3, -0.05], [4.0, 0.6]]))
    assert check.inflating_A(np.array([[0.5, 4.0], [-0.1, 0.5]]))
