"""Checkers of notebook 2.2.2: correct answers pass, typical wrong answers fail with the right hint."""
import numpy as np
import pytest

from pedagogy_lib.exercises import ch02_kalman as check
from pedagogy_lib.lgssm.kalman import LGSSMParams, kalman_filter


def test_steady_state_matches_a_long_filter_run_and_catches_slips():
    q, r = check.EX_WALK
    one = np.ones(1)
    params = LGSSMParams(0 * one, np.eye(1), np.eye(1), None, 0 * one, q * np.eye(1), np.eye(1), 0 * one,
                         r * np.eye(1))
    res = kalman_filter(params, np.zeros((300, 1)))        # covariances converge regardless of the data
    P, K = res.Upsilon_pred[-1, 0, 0], res.K[-1, 0, 0]
    assert check.steady_state(P, K)
    P_filt = res.Upsilon_filt[-1, 0, 0]
    out = check.steady_state(P_filt, P_filt / (P_filt + r))
    assert not out and "filtered variance" in str(out)
    out = check.steady_state(P, P / r)
    assert not out and "divided P by r" in str(out)
    out = check.steady_state(None, None)
    assert not out and "is None" in str(out)


def test_one_step_against_the_library_and_typical_mistakes():
    p = check.EX_STEP
    params = LGSSMParams(p.mu_prev, p.Upsilon_prev, p.A, None, p.a, p.Sigma_x, p.C, p.c, p.Sigma_y_x)
    # a missing first observation makes row 0 of the filter equal the prior (mu_prev, Upsilon_prev)
    res = kalman_filter(params, np.vstack([np.full((1, 1), np.nan), p.y[None]]))
    assert check.one_step(res.mu_filt[1], res.Upsilon_filt[1])
    # skipping the time update
    S = p.C @ p.Upsilon_prev @ p.C.T + p.Sigma_y_x
    Kg = p.Upsilon_prev @ p.C.T @ np.linalg.inv(S)
    mu_skip = p.mu_prev + Kg @ (p.y - p.C @ p.mu_prev - p.c)
    out = check.one_step(mu_skip, p.Upsilon_prev - Kg @ S @ Kg.T)
    assert not out and "skipped the time update" in str(out)
    out = check.one_step(res.mu_filt[1], res.Upsilon_pred[1])
    assert not out and "stopped after the time update" in str(out)
    out = check.one_step(None, None)
    assert not out and "is None" in str(out)


def test_smoother_gain_against_both_forms_of_eq_2_53_and_mistakes():
    U, A, Q = check.EX_GAIN_J
    P = A @ U @ A.T + Q
    J = U @ A.T @ np.linalg.inv(P)
    assert check.smoother_gain(J)
    assert check.smoother_gain(U @ A.T @ np.linalg.inv(P))
    out = check.smoother_gain(U @ A.T @ np.linalg.inv(A @ U @ A.T))
    assert not out and "left Sigma_x out" in str(out)
    out = check.smoother_gain(U @ A.T)
    assert not out and "forgot the inverse" in str(out)
    out = check.smoother_gain(U @ A.T @ P)
    assert not out and "itself where its inverse belongs" in str(out)
    out = check.smoother_gain(J.T)
    assert not out and "transpose" in str(out)
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


def test_the_library_routes_that_answer_in_one_call_are_forbidden_when_graded():
    """Each of these library functions answers its exercise (or does its work) in one call, so the
    graded version refuses it; the statement names it (tests/project/test_grading.py checks that)."""
    routes = {
        "ex-2-2-2-steady-state": [
            "pedagogy_lib.lgssm.kalman.kalman_filter",
            "pedagogy_lib.lgssm.kalman.kalman_smoother",
            "scipy.linalg.solve_discrete_are",
        ],
        "ex-2-2-2-one-step": [
            "pedagogy_lib.gaussian.blocks.marginalize",
            "pedagogy_lib.gaussian.blocks.bayes_invert",
            "pedagogy_lib.lgssm.kalman.kalman_filter",
            "pedagogy_lib.lgssm.kalman.kalman_smoother",
        ],
        "ex-2-2-2-smoother-gain": [
            "pedagogy_lib.gaussian.blocks.bayes_invert",
            "pedagogy_lib.lgssm.kalman.rts_smoother",
            "pedagogy_lib.lgssm.kalman.kalman_smoother",
        ],
        "ex-2-2-2-rts-function": [
            "pedagogy_lib.recursions.generic.backward_smoother",
            "pedagogy_lib.recursions.generic.backward_step",
            "pedagogy_lib.recursions.generic.future_conditioning",
            "pedagogy_lib.gaussian.blocks.bayes_invert",
        ],
    }
    for label, names in routes.items():
        missing = set(names) - set(check.SUMMATIVE[label]["forbidden"])
        assert not missing, (label, missing)


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
