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
from pedagogy_lib.core.gradcheck import gradcheck


# ---------------------------------------------------------------- exercise 1: BPTT signals
def good_signals(D_zz, Z, G):
    T, N, H = Z.shape
    B = np.zeros((T, N, H))
    carry = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        B[t] = (1 - Z[t] ** 2) * (G[t] + carry)
        carry = B[t] @ D_zz
    return B


def test_signals_oracle_by_finite_differences():
    """b_t is dS/da_t for S = sum_t <G_t, z_t> with z_t = tanh(a_t), a_t = A_t + z_{t-1} D^T (FD on A)."""
    rng = np.random.default_rng(0)
    T, N, H = 4, 2, 3
    D = rng.normal(scale=0.6, size=(H, H))
    A_drive = rng.normal(size=(T, N, H))
    G = rng.normal(size=(T, N, H))

    def run(A):
        Z, z = np.zeros((T, N, H)), np.zeros((N, H))
        for t in range(T):
            z = np.tanh(A[t] + z @ D.T)
            Z[t] = z
        return Z

    def S(A):
        return float(np.sum(G * run(A)))

    fd = gradcheck(S, A_drive).numeric
    np.testing.assert_allclose(good_signals(D, run(A_drive), G), fd, rtol=1e-6, atol=1e-9)


def test_signals_correct_passes():
    assert check.bptt_signals(good_signals)


def _variant(kind):
    def fn(D_zz, Z, G):
        T, N, H = Z.shape
        J = 1 - Z ** 2
        B = np.zeros((T, N, H))
        nxt = np.zeros((N, H))
        for t in range(T - 1, -1, -1):
            if kind == "transpose":
                B[t] = J[t] * (G[t] + nxt)
                nxt = B[t] @ D_zz.T
            elif kind == "future":
                B[t] = J[t] * G[t]
            elif kind == "total":                        # dS/dz_t = G_t + (J_{t+1} dS/dz_{t+1}) D
                B[t] = G[t] + nxt
                nxt = (J[t] * B[t]) @ D_zz
        return B
    return fn


@pytest.mark.parametrize("fn,fragment", [
    (_variant("transpose"), "D_zz^T belongs"),
    (_variant("future"), "future's share"),
    (_variant("total"), "total derivatives dS/dz_t"),
    (lambda D, Z, G: -good_signals(D, Z, G), "wrong sign"),
    (lambda D, Z, G: good_signals(D, Z, G)[::-1], "not within tolerance"),
    (lambda D, Z, G: good_signals(D, Z, G)[:, 0], "should have shape"),
    (lambda D, Z, G: None, "None"),
])
def test_signals_wrong_answers_fail(fn, fragment):
    res = check.bptt_signals(fn)
    assert not res and fragment in str(res)


def test_signals_exception_and_in_place():
    res = check.bptt_signals(lambda D, Z, G: D @ np.ones(99))
    assert not res and "raised ValueError" in str(res) and "case 1 of 3" in str(res)

    def clobber(D, Z, G):
        G *= 0.0
        return good_signals(D, Z, G)
    res = check.bptt_signals(clobber)
    assert not res and "in place" in str(res)
    assert "None" in str(check.bptt_signals(None))
    assert "should be a function" in str(check.bptt_signals("B"))


# ---------------------------------------------------------------- exercise 2: RTRL
def good_rtrl(w, u, d, y, x):
    z_prev, s, grad = 0.0, np.zeros(3), np.zeros(3)
    for y_t, x_t in zip(y, x):
        z = np.tanh(w * z_prev + u * y_t + d)
        s = (1 - z ** 2) * (np.array([z_prev, y_t, 1.0]) + w * s)   # dz_t/d(w, u, d)
        grad += (z - x_t) * s
        z_prev = z
    return grad


def _loss(theta, y, x):
    w, u, d = theta
    z, S = 0.0, 0.0
    for y_t, x_t in zip(y, x):
        z = np.tanh(w * z + u * y_t + d)
        S += 0.5 * (z - x_t) ** 2
    return S


def test_rtrl_oracle_by_finite_differences():
    for c in check.EX_RTRL:
        theta = np.array([c.w, c.u, c.d])
        fd = gradcheck(lambda th: _loss(th, c.y, c.x), theta).numeric
        np.testing.assert_allclose(good_rtrl(c.w, c.u, c.d, c.y, c.x), fd, rtol=1e-6, atol=1e-9)


def test_rtrl_correct_passes():
    assert check.rtrl_gradient(good_rtrl)
    assert check.rtrl_gradient(lambda *a: list(good_rtrl(*a)))          # a list is fine too


def test_rtrl_wrong_answers_fail():
    def truncated(w, u, d, y, x):
        z_prev, grad = 0.0, np.zeros(3)
        for y_t, x_t in zip(y, x):
            z = np.tanh(w * z_prev + u * y_t + d)
            grad += (z - x_t) * (1 - z ** 2) * np.array([z_prev, y_t, 1.0])
            z_prev = z
        return grad
    res = check.rtrl_gradient(truncated)
    assert not res and "recurrent term" in str(res)

    def z_t_instead(w, u, d, y, x):
        z_prev, s, grad = 0.0, np.zeros(3), np.zeros(3)
        for y_t, x_t in zip(y, x):
            z = np.tanh(w * z_prev + u * y_t + d)
            s = (1 - z ** 2) * (np.array([z, y_t, 1.0]) + w * s)
            grad += (z - x_t) * s
            z_prev = z
        return grad
    res = check.rtrl_gradient(z_t_instead)
    assert not res and "z_t where z_{t-1}" in str(res)

    res = check.rtrl_gradient(lambda *a: -good_rtrl(*a))
    assert not res and "wrong sign" in str(res)
    res = check.rtrl_gradient(lambda *a: good_rtrl(*a)[:2])
    assert not res and "should have shape (3,)" in str(res)
    assert "None" in str(check.rtrl_gradient(None))
    assert "raised" in str(check.rtrl_gradient(lambda *a: 1 / 0))


# ---------------------------------------------------------------- exercise 3: steps to shrink / grow
def _simulate_steps(rho, factor, grow):
    """Smallest k at which a linear RNN with D = rho Q (Q a random rotation) has changed ||b|| by `factor`."""
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    D = rho * Q
    b = rng.normal(size=5)
    n0 = np.linalg.norm(b)
    for k in range(1, 1000):
        b = D.T @ b
        ratio = np.linalg.norm(b) / n0
        if (grow and ratio >= factor) or (not grow and ratio <= 1 / factor):
            return k
    raise AssertionError("no crossing")


def test_decay_answers_by_simulation_and_by_hand():
    p = check.EX_DECAY
    k_s, k_g = _simulate_steps(p.rho_small, p.factor, False), _simulate_steps(p.rho_large, p.factor, True)
    # by hand: ln 1000 / ln(1/0.85) = 42.5 -> 43; ln 1000 / ln 1.1 = 72.5 -> 73
    assert (k_s, k_g) == (43, 73)
    assert check.steps_to_shrink(k_s, k_g)
    assert check.steps_to_shrink(43.0, np.int64(73))
    assert check.steps_to_shrink("43", [73])


@pytest.mark.parametrize("ks,kg,fragment", [
    (42, 73, "check which way you rounded"),
    (43, 72, "check which way you rounded"),
    (44, 73, "check which way you rounded"),
    (math.log(1000) / math.log(1 / 0.85), 73, "exact solution"),
    (50, 73, "not right"),
    (43, -73, "positive"),
    (None, 73, "None"),
    ("forty-three", 73, "number of steps"),
    (True, 73, "number of steps"),
    (43.5, 73, "whole number"),
])
def test_decay_wrong_answers_fail(ks, kg, fragment):
    res = check.steps_to_shrink(ks, kg)
    assert not res and fragment in str(res)


def test_decay_rounding_message_does_not_say_by_how_much_or_which_way():
    msg = str(check.steps_to_shrink(42, 72))
    for giveaway in ("one step", "short", "rounded down", "round up", "43", "73"):
        assert giveaway not in msg, msg
