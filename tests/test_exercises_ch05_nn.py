"""Tests for the checkers of notebook 5.1.3 (pedagogy_lib.exercises.ch05_nn).

Reference answers here come from central finite differences or are written out by hand, never
from the checkers themselves.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.exercises import ch05_nn as check
from pedagogy_lib.core.gradcheck import gradcheck


def _fd(f, x, eps=1e-6):
    """Central differences of a scalar function of one array (any shape); an oracle for the tests."""
    return gradcheck(f, np.array(x, dtype=float), h=eps).numeric


# ---------------------------------------------------------------- exercise 1: Dense backward
def good_dense_backward(D, d, Z_prev, B):
    return B @ D, B.T @ Z_prev, B.sum(axis=0)


def test_dense_reference_matches_finite_differences():
    # S = sum(B * (Z_prev D^T + d)) has gradients exactly (B D, B^T Z_prev, sum B): check them by FD
    for D, d, Z, B in check.EX_DENSE:
        gZ, gD, gd = good_dense_backward(D, d, Z, B)
        np.testing.assert_allclose(gZ, _fd(lambda Z_: np.sum(B * (Z_ @ D.T + d)), Z), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(gD, _fd(lambda D_: np.sum(B * (Z @ D_.T + d)), D), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(gd, _fd(lambda d_: np.sum(B * (Z @ D.T + d_)), d), rtol=1e-7, atol=1e-8)


def test_dense_cases_start_square_then_non_square():
    shapes = [c.D.shape for c in check.EX_DENSE]
    assert shapes[0][0] == shapes[0][1]
    assert any(s[0] != s[1] for s in shapes[1:])


def test_dense_correct_passes():
    res = check.dense_backward(good_dense_backward)
    assert res and "correct" in str(res)


@pytest.mark.parametrize("fn,fragment", [
    (lambda D, d, Z, B: (B @ D.T, B.T @ Z, B.sum(0)), "instead of D^T"),
    (lambda D, d, Z, B: (B @ D, B.T @ Z / len(Z), B.sum(0)), "averaged over the N rows"),
    (lambda D, d, Z, B: (B @ D, Z.T @ B, B.sum(0)), "Z_prev^T B"),
    (lambda D, d, Z, B: (B @ D, B.T @ Z, B.mean(0)), "grad_d on case 1 of 4"),
    (lambda D, d, Z, B: (-(B @ D), B.T @ Z, B.sum(0)), "wrong sign"),
    (lambda D, d, Z, B: (B @ D, B.T @ Z), "should return a tuple"),
    (lambda D, d, Z, B: None, "should return a tuple"),
])
def test_dense_wrong_answers_fail_with_hint(fn, fragment):
    res = check.dense_backward(fn)
    assert not res
    assert fragment in str(res)


def test_dense_missing_transpose_on_non_square_reports_the_case():
    # passes the square case 1 only if ... it does not: build one that is right on square layers only
    def right_when_square(D, d, Z, B):
        if D.shape[0] == D.shape[1]:
            return good_dense_backward(D, d, Z, B)
        return B @ D.T, B.T @ Z, B.sum(0)
    res = check.dense_backward(right_when_square)
    assert not res and "case 2 of 4" in str(res) and "not square" in str(res)


def test_dense_in_place_modification_is_reported():
    def clobber(D, d, Z, B):
        B *= 2.0
        return good_dense_backward(D, d, Z, B / 2.0)
    res = check.dense_backward(clobber)
    assert not res and "in place" in str(res)


def test_dense_none_and_non_function():
    assert "None" in str(check.dense_backward(None))
    assert "should be a function" in str(check.dense_backward(3))


# ---------------------------------------------------------------- exercise 2: central differences
def good_central(f, theta, eps):
    g = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = eps
        g[i] = (f(theta + e) - f(theta - e)) / (2 * eps)
    return g


def test_grad_functions_exact_gradients_match_fd():
    for case in check.EX_GRAD_FUNCTIONS:
        np.testing.assert_allclose(case.grad(case.theta), _fd(case.f, case.theta), rtol=1e-7, atol=1e-9)


def test_central_correct_passes():
    assert check.central_difference(good_central)


def test_central_in_place_but_restored_passes():
    def in_place(f, theta, eps):
        g = np.zeros_like(theta)
        for i in range(theta.size):
            old = theta[i]
            theta[i] = old + eps
            fp = f(theta)
            theta[i] = old - eps
            fm = f(theta)
            theta[i] = old
            g[i] = (fp - fm) / (2 * eps)
        return g
    assert check.central_difference(in_place)


def forward_diff(f, theta, eps):
    g = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = eps
        g[i] = (f(theta + e) - f(theta)) / eps
    return g


@pytest.mark.parametrize("fn,fragment", [
    (forward_diff, "one-sided"),
    (lambda f, t, eps: 2 * good_central(f, t, eps), "instead of 2 eps"),
    (lambda f, t, eps: -good_central(f, t, eps), "wrong sign"),
    (lambda f, t, eps: good_central(f, t, eps)[:-1], "should have shape"),
    (lambda f, t, eps: None, "None"),
    (lambda f, t, eps: 1 / 0, "ZeroDivisionError"),
])
def test_central_wrong_answers_fail(fn, fragment):
    res = check.central_difference(fn)
    assert not res
    assert fragment in str(res)


def test_central_unrestored_theta_is_reported():
    def leaves_theta_shifted(f, theta, eps):
        g = good_central(f, theta.copy(), eps)
        theta += eps
        return g
    res = check.central_difference(leaves_theta_shifted)
    assert not res and "in place" in str(res)


def test_central_restored_only_up_to_rounding_is_named_as_such():
    def adds_and_subtracts(f, theta, eps):
        g = np.empty_like(theta)
        for i in range(theta.size):
            theta[i] += eps
            up = f(theta)
            theta[i] -= 2 * eps
            down = f(theta)
            theta[i] += eps
            g[i] = (up - down) / (2 * eps)
        return g
    # the arithmetic round trip leaves at least one entry of some test theta off by a rounding error
    assert any(not np.array_equal(c.theta, (c.theta + 1e-3 - 2e-3) + 1e-3) for c in check.EX_GRAD_FUNCTIONS)
    res = check.central_difference(adds_and_subtracts)
    assert not res and "only up to rounding" in str(res) and "did not restore" not in str(res)


def test_central_eps_is_large_enough_to_expose_forward_differences():
    # the forward difference misses the exact gradient by more than the tolerance on some function
    worst = max(np.max(np.abs(forward_diff(c.f, c.theta, check.EX_GRAD_EPS) - c.grad(c.theta))
                       / np.abs(c.grad(c.theta)).max()) for c in check.EX_GRAD_FUNCTIONS)
    assert worst > 1e-4


# ---------------------------------------------------------------- exercise 3: Bernoulli output signal
def good_signal(a, x):
    return 1 / (1 + np.exp(-np.clip(a, -500, 500))) - x


def bernoulli_surprisal(a, x):
    mu = 1 / (1 + np.exp(-a))
    return -np.sum(x * np.log(mu) + (1 - x) * np.log(1 - mu))


def test_signal_reference_matches_fd_of_the_surprisal():
    for case in check.EX_SIGNAL[:2]:                      # moderate logits: FD of the surprisal is accurate
        np.testing.assert_allclose(good_signal(case.a, case.x), _fd(lambda a: bernoulli_surprisal(a, case.x), case.a),
                                   rtol=1e-6, atol=1e-8)


def test_signal_correct_passes():
    assert check.bernoulli_signal(good_signal)


def test_signal_wrong_answers_fail():
    def no_jacobian(a, x):
        mu = 1 / (1 + np.exp(-a))
        return -x / mu + (1 - x) / (1 - mu)
    res = check.bernoulli_signal(no_jacobian)
    assert not res and "forgot the Jacobian" in str(res)

    def squared_error_signal(a, x):
        mu = 1 / (1 + np.exp(-a))
        return mu * (1 - mu) * (mu - x)
    res = check.bernoulli_signal(squared_error_signal)
    assert not res and "squared-error" in str(res)

    res = check.bernoulli_signal(lambda a, x: x - good_signal(a, x) - x)
    assert not res and "wrong sign" in str(res)


def test_signal_naive_chain_rule_overflows_on_large_logits():
    def naive(a, x):
        with np.errstate(all="ignore"):
            mu = 1 / (1 + np.exp(-a))
            return mu * (1 - mu) * (-x / mu + (1 - x) / (1 - mu))
    res = check.bernoulli_signal(naive)
    assert not res and "case 3 of 3" in str(res) and "large" in str(res)


def test_signal_none():
    assert "None" in str(check.bernoulli_signal(None))


# ---------------------------------------------------------------- exercise 4: product network
def test_product_correct_passes():
    # z1 = log y (D1 = I, d1 = 0), z2 = exp(log y1 + log y2 - 2 log y3 + log 2) = 2 y1 y2 / y3^2
    assert check.product_network(np.eye(3), np.zeros(3), np.array([[1.0, 1.0, -2.0]]), np.array([np.log(2.0)]))
    # a wider network with a scaled copy of y1 (log(3 y1) = log 3 + log y1) is also right
    D1 = np.vstack([np.eye(3), [[3.0, 0, 0]]])
    assert check.product_network(D1, np.zeros(4), np.array([[0.0, 1.0, -2.0, 1.0]]), np.array([np.log(2.0 / 3.0)]))


@pytest.mark.parametrize("D2,d2,fragment", [
    ([[1.0, 1.0, -2.0]], [0.0], "off by a constant factor at every input"),
    ([[1.0, 1.0, -2.0]], [2.0], "what a bias of the second layer does"),
    ([[1.0, 1.0, -1.0]], [np.log(2.0)], "see how it changes when y3 doubles"),
    ([[1.0, 1.0, 2.0]], [np.log(2.0)], "it grows with y3"),
    ([[1.0, 2.0, -2.0]], [np.log(2.0)], "not within tolerance"),
])
def test_product_wrong_weights_fail(D2, d2, fragment):
    res = check.product_network(np.eye(3), np.zeros(3), np.array(D2), np.array(d2))
    assert not res and fragment in str(res)
    # the messages name the symptom, not the weight or bias that fixes it
    for giveaway in ("log of the factor", "log 2", "-2", "negative weight", "twice"):
        assert giveaway not in str(res), str(res)


def test_product_shape_and_domain_errors():
    assert "None" in str(check.product_network(None, None, None, None))
    assert "3 columns" in str(check.product_network(np.eye(2), np.zeros(2), np.ones((1, 2)), np.zeros(1)))
    assert "d1 should have shape" in str(check.product_network(np.eye(3), np.zeros(2), np.ones((1, 3)), np.zeros(1)))
    assert "D2 should be a matrix" in str(check.product_network(np.eye(3), np.zeros(3), np.ones(3), np.zeros(1)))
    assert "D2 should have shape" in str(check.product_network(np.eye(3), np.zeros(3), np.ones((3, 1)), np.zeros(1)))
    assert "d2 should be a vector" in str(check.product_network(np.eye(3), np.zeros(3), np.ones((1, 3)), 0.0))
    assert "d2 should have shape" in str(check.product_network(np.eye(3), np.zeros(3), np.ones((1, 3)), np.zeros(2)))
    assert "not positive" in str(check.product_network(-np.eye(3), np.zeros(3), np.ones((1, 3)), np.zeros(1)))
    assert "numeric" in str(check.product_network("a", np.zeros(3), np.ones((1, 3)), np.zeros(1)))
