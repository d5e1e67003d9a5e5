"""Tests for the checkers of notebook 5.1.3 (continued), BPTT (pedagogy_lib.exercises.ch05_bptt).

Oracles: central finite differences of a loss computed by an explicit forward loop, a simulation
of a linear RNN for the decay exercise, and numbers worked out by hand; never the checkers' own
reference functions.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from pedagogy_lib.exercises import ch05_bptt as check
from pedagogy_lib.nn import rnn
from pedagogy_lib.core.gradcheck import gradcheck


# ---------------------------------------------------------------- exercise 1: BPTT signals
def good_signals(D_zz, D_skip, Z, G):
    T, N, H = Z.shape
    B = np.zeros((T + 2, N, H))
    for t in range(T - 1, -1, -1):
        B[t] = (1 - Z[t] ** 2) * (G[t] + B[t + 1] @ D_zz + B[t + 2] @ D_skip)
    return B[:T]


def _run_skip(A, D, Ds):
    """z_t = tanh(A_t + z_{t-1} D^T + z_{t-2} Ds^T), z_0 = z_{-1} = 0, rows are sequences."""
    T, N, H = A.shape
    Z = np.zeros((T, N, H))
    z1, z2 = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T):
        z = np.tanh(A[t] + z1 @ D.T + z2 @ Ds.T)
        Z[t], z2, z1 = z, z1, z
    return Z


def test_signals_oracle_by_finite_differences():
    """b_t is dS/da_t for S = sum_t <G_t, z_t> with z_t = tanh(a_t), a_t = A_t + z_{t-1} D^T + z_{t-2} Ds^T
    (central differences on A through an explicit forward loop)."""
    rng = np.random.default_rng(0)
    T, N, H = 5, 2, 3
    D = rng.normal(scale=0.6, size=(H, H))
    Ds = rng.normal(scale=0.6, size=(H, H))
    A_drive = rng.normal(size=(T, N, H))
    G = rng.normal(size=(T, N, H))

    def S(A):
        return float(np.sum(G * _run_skip(A, D, Ds)))

    fd = gradcheck(S, A_drive).numeric
    np.testing.assert_allclose(good_signals(D, Ds, _run_skip(A_drive, D, Ds), G), fd, rtol=1e-6, atol=1e-9)
    # with no skip weights the recursion is the page's, which the library's BPTT computes
    Z0 = _run_skip(A_drive, D, np.zeros((H, H)))
    params = rnn.RNNParams(D, np.zeros((H, 1)), np.zeros(H), np.zeros((1, H)), np.zeros(1))
    lib = rnn.rnn_bptt(params, np.zeros((T, N, 1)), Z0, np.zeros((T, N, 1)), grad_Z=G, backend="numpy").B
    np.testing.assert_allclose(good_signals(D, np.zeros((H, H)), Z0, G), lib, rtol=1e-10, atol=1e-12)


def test_signals_correct_passes():
    assert check.bptt_signals(good_signals)


def _variant(kind):
    def fn(D_zz, D_skip, Z, G):
        T, N, H = Z.shape
        J = 1 - Z ** 2
        B = np.zeros((T + 2, N, H))
        U = np.zeros((T + 2, N, H))
        for t in range(T - 1, -1, -1):
            if kind == "transpose":
                U[t] = G[t] + B[t + 1] @ D_zz.T + B[t + 2] @ D_skip.T
            elif kind == "future":
                U[t] = G[t]
            elif kind == "page":                         # the page's recursion, no skip path
                U[t] = G[t] + B[t + 1] @ D_zz
            elif kind == "lag":
                U[t] = G[t] + B[t + 1] @ D_zz + B[t + 1] @ D_skip
            elif kind == "jacobian":
                U[t] = G[t] + B[t + 1] @ D_zz + U[t + 2] @ D_skip
            elif kind == "total":
                U[t] = G[t] + B[t + 1] @ D_zz + B[t + 2] @ D_skip
            B[t] = J[t] * U[t]
        return (U if kind == "total" else B)[:T]
    return fn


def _page_per_sequence(D_zz, D_skip, Z, G):
    """The page's column-form recursion run sequence by sequence, ignoring D_skip."""
    T, N, H = Z.shape
    B = np.zeros((T, N, H))
    for n in range(N):
        total = {T: G[T - 1, n]}
        for t in range(T - 1, 0, -1):
            total[t] = G[t - 1, n] + D_zz.T @ ((1.0 - Z[t, n] ** 2) * total[t + 1])
        for t in range(1, T + 1):
            B[t - 1, n] = (1.0 - Z[t - 1, n] ** 2) * total[t]
    return B


@pytest.mark.parametrize("fn,fragment", [
    (_variant("transpose"), "transposes belong"),
    (_variant("future"), "only the direct effect"),
    (_variant("page"), "left out the skip path"),
    (_page_per_sequence, "left out the skip path"),
    (_variant("lag"), "from the wrong step"),
    (_variant("jacobian"), "leaving out the Jacobian"),
    (_variant("total"), "total derivatives dS/dz_t"),
    (lambda D, Ds, Z, G: -good_signals(D, Ds, Z, G), "wrong sign"),
    (lambda D, Ds, Z, G: good_signals(D, Ds, Z, G)[::-1], "not within tolerance"),
    (lambda D, Ds, Z, G: good_signals(D, Ds, Z, G)[:, 0], "should have shape"),
    (lambda D, Ds, Z, G: None, "None"),
])
def test_signals_wrong_answers_fail(fn, fragment):
    res = check.bptt_signals(fn)
    assert not res and fragment in str(res)


def test_signals_exception_and_in_place():
    res = check.bptt_signals(lambda D, Ds, Z, G: D @ np.ones(99))
    assert not res and "raised ValueError" in str(res) and "case 1 of 3" in str(res)

    def clobber(D, Ds, Z, G):
        G *= 0.0
        return good_signals(D, Ds, Z, G)
    res = check.bptt_signals(clobber)
    assert not res and "in place" in str(res)
    assert "None" in str(check.bptt_signals(None))
    assert "should be a function" in str(check.bptt_signals("B"))


# ---------------------------------------------------------------- exercise 2: RTRL
def good_rtrl(w, u, d, y, x):
    z_prev, s = 0.0, np.zeros(3)
    S, grad = np.zeros((len(y), 3)), np.zeros(3)
    for t, (y_t, x_t) in enumerate(zip(y, x)):
        z = np.tanh(w * z_prev + u * y_t + d)
        s = (1 - z ** 2) * (np.array([z_prev, y_t, 1.0]) + w * s)   # dz_t/d(w, u, d)
        S[t] = s
        grad += (z - x_t) * s
        z_prev = z
    return S, grad


def _states(theta, y):
    w, u, d = theta
    z, Z = 0.0, []
    for y_t in y:
        z = np.tanh(w * z + u * y_t + d)
        Z.append(z)
    return np.array(Z)


def _loss(theta, y, x):
    return 0.5 * np.sum((_states(theta, y) - x) ** 2)


def _page_bptt(w, u, d, y, x):
    """The page's backward route (its cells 4, 8, 10 and 12 with H = 1, D_zx = 1, d_x = 0)."""
    T = len(y)
    z, Z = 0.0, []
    for t in range(1, T + 1):
        z = np.tanh(w * z + u * y[t - 1] + d)
        Z.append(z)
    Z = np.array(Z)
    partial = {t: Z[t - 1] - x[t - 1] for t in range(1, T + 1)}
    total = {T: partial[T]}
    for t in range(T - 1, 0, -1):
        total[t] = partial[t] + w * ((1.0 - Z[t] ** 2) * total[t + 1])
    b = {t: (1.0 - Z[t - 1] ** 2) * total[t] for t in range(1, T + 1)}
    Z_prev = np.concatenate([[0.0], Z[:-1]])
    return np.array([sum(b[t] * Z_prev[t - 1] for t in range(1, T + 1)),
                     sum(b[t] * y[t - 1] for t in range(1, T + 1)),
                     sum(b[t] for t in range(1, T + 1))])


def test_rtrl_oracle_sensitivities_by_finite_differences():
    """Every row of S against central differences of z_t in each parameter, at every step t."""
    eps = 1e-6
    for c in check.EX_RTRL:
        theta = np.array([c.w, c.u, c.d])
        fd = np.stack([(_states(theta + eps * e, c.y) - _states(theta - eps * e, c.y)) / (2 * eps)
                       for e in np.eye(3)], axis=1)                        # (T, 3)
        S, _ = good_rtrl(c.w, c.u, c.d, c.y, c.x)
        assert S.shape == (len(c.y), 3)
        np.testing.assert_allclose(S, fd, rtol=1e-6, atol=1e-9)


def test_rtrl_oracle_gradient_by_page_bptt_and_finite_differences():
    for c in check.EX_RTRL:
        theta = np.array([c.w, c.u, c.d])
        _, grad = good_rtrl(c.w, c.u, c.d, c.y, c.x)
        np.testing.assert_allclose(grad, _page_bptt(c.w, c.u, c.d, c.y, c.x), rtol=1e-10, atol=1e-12)
        fd = gradcheck(lambda th: _loss(th, c.y, c.x), theta).numeric
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_rtrl_correct_passes():
    assert check.rtrl_sensitivities(good_rtrl)
    assert check.rtrl_sensitivities(lambda *a: [v.tolist() for v in good_rtrl(*a)])   # lists are fine too


def test_rtrl_page_backward_route_fails():
    """The gradient by the page's BPTT cells carries no sensitivities: neither alone nor with zeros."""
    res = check.rtrl_sensitivities(_page_bptt)
    assert not res and "pair (S, grad)" in str(res)
    res = check.rtrl_sensitivities(lambda w, u, d, y, x: (np.zeros((len(y), 3)), _page_bptt(w, u, d, y, x)))
    assert not res and "direct term" in str(res)
    res = check.rtrl_sensitivities(lambda w, u, d, y, x: (np.tile(_page_bptt(w, u, d, y, x), (len(y), 1)),
                                                          _page_bptt(w, u, d, y, x)))
    assert not res and "S on case 1" in str(res)


def _variant(kind):
    def fn(w, u, d, y, x):
        z_prev, s = 0.0, np.zeros(3)
        S, grad = np.zeros((len(y), 3)), np.zeros(3)
        for t, (y_t, x_t) in enumerate(zip(y, x)):
            z = np.tanh(w * z_prev + u * y_t + d)
            J, direct = 1 - z ** 2, np.array([z_prev, y_t, 1.0])
            s_old = s
            if kind == "truncated":
                s = J * direct
            elif kind == "no_w":
                s = J * (direct + s)
            elif kind == "J_direct_only":
                s = J * direct + w * s
            elif kind == "J_prev":
                s = (1 - z_prev ** 2) * (direct + w * s)
            elif kind == "z_t":
                s = J * (np.array([z, y_t, 1.0]) + w * s)
            else:
                s = J * (direct + w * s)
            S[t] = s_old if kind == "rows_shifted" else s
            grad += (z - x_t) * (s_old if kind == "grad_lag" else s)
            z_prev = z
        return S, grad
    return fn


@pytest.mark.parametrize("kind, words", [
    ("truncated", "holds z_{t-1} fixed"),
    ("no_w", "differentiate the update with respect"),
    ("J_direct_only", "recheck how z_{t-1} enters z_t"),
    ("J_prev", "wrong step"),
    ("z_t", "direct effect of w on z_t is not"),
    ("rows_shifted", "before updating it"),
    ("grad_lag", "with s_{t-1}"),
])
def test_rtrl_slips_are_named(kind, words):
    res = check.rtrl_sensitivities(_variant(kind))
    assert not res and words in str(res)


def test_rtrl_other_wrong_answers_fail():
    res = check.rtrl_sensitivities(lambda *a: (-good_rtrl(*a)[0], good_rtrl(*a)[1]))
    assert not res and "wrong sign" in str(res)
    res = check.rtrl_sensitivities(lambda *a: (good_rtrl(*a)[0].T, good_rtrl(*a)[1]))
    assert not res and "transpose" in str(res)
    res = check.rtrl_sensitivities(lambda *a: (good_rtrl(*a)[0], good_rtrl(*a)[1][:2]))
    assert not res and "should have shape (3,)" in str(res)
    res = check.rtrl_sensitivities(lambda *a: (good_rtrl(*a)[0], -good_rtrl(*a)[1]))
    assert not res and "grad" in str(res) and "wrong sign" in str(res)
    assert "pair" in str(check.rtrl_sensitivities(lambda *a: good_rtrl(*a) + (1,)))
    assert "returned None" in str(check.rtrl_sensitivities(lambda *a: None))
    assert "None" in str(check.rtrl_sensitivities(None))
    assert "raised" in str(check.rtrl_sensitivities(lambda *a: 1 / 0))


# ---------------------------------------------------------------- exercise 3: a non-orthogonal D_zz
def _simulated_norms(n=400):
    """||b_{T-k}|| / ||b_T||, k = 0..n-1, by running Eq. 5.21 backwards through a linear RNN: the library's BPTT
    on a network whose states stay at zero (no input, no biases), so every J_t = I, with the loss at the last
    step only, dS/dz_T = (1, 0)."""
    p = check.EX_DECAY
    D = p.rho * np.array([[1.0, p.shear], [0.0, 1.0]])
    params = rnn.RNNParams(D, np.zeros((2, 1)), np.zeros(2), np.zeros((1, 2)), np.zeros(1))
    Y = np.zeros((n, 1, 1))
    f = rnn.rnn_forward(params, Y)
    G = np.zeros((n, 1, 2))
    G[-1, 0] = [1.0, 0.0]
    B = rnn.rnn_bptt(params, Y, f.Z, np.zeros((n, 1, 1)), grad_Z=G).B[:, 0]
    norms = np.linalg.norm(B, axis=1)
    return norms[::-1] / norms[-1]                       # k = 0 is the last step


def test_decay_answers_by_running_the_recursion_and_by_hand():
    norms = _simulated_norms()
    p = check.EX_DECAY
    k = np.arange(norms.size)
    np.testing.assert_allclose(norms, p.rho ** k * np.sqrt(1 + (p.shear * k) ** 2), rtol=1e-10)
    k_peak, k_shrink = int(np.argmax(norms)), int(np.argmax(norms <= 1 / p.factor))
    assert (k_peak, k_shrink) == (6, 76)
    assert np.all(np.diff(norms[k_peak:]) < 0)          # past the peak it only falls: the first crossing stays
    assert check.steps_to_shrink(k_peak, k_shrink)
    assert check.steps_to_shrink(6.0, np.int64(76))
    assert check.steps_to_shrink("6", [76])


def test_decay_the_orthogonal_formula_does_not_pass():
    """The page's rho^k (an orthogonal D_zz) gives 43 steps and a signal that falls from the start."""
    res = check.steps_to_shrink(6, math.ceil(math.log(1000) / math.log(1 / 0.85)))
    assert not res and "orthogonal" in str(res)
    res = check.steps_to_shrink(0, 76)
    assert not res and "fall from the start" in str(res)


@pytest.mark.parametrize("kp,ks,fragment", [
    (5, 76, "not right"),
    (6, 75, "not right"),
    (6, 77, "not right"),
    (6, 90, "not right"),
    (6, -76, "zero or more"),
    (None, 76, "None"),
    ("six", 76, "number of steps"),
    (True, 76, "number of steps"),
    (6.5, 76, "whole number"),
])
def test_decay_wrong_answers_fail(kp, ks, fragment):
    res = check.steps_to_shrink(kp, ks)
    assert not res and fragment in str(res)


def test_decay_messages_do_not_say_by_how_much_or_which_way():
    msg = str(check.steps_to_shrink(5, 75))
    for giveaway in ("one step", "short", "rounded down", "round up", "76", "too"):
        assert giveaway not in msg, msg
