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


# ---------------------------------------------------------------- exercise 1: residual block backward
def _block(D, d, Z):
    return Z + np.tanh(Z @ D.T + d)


def good_residual_backward(D, d, Z_prev, G):
    T = np.tanh(Z_prev @ D.T + d)
    B = (1 - T ** 2) * G
    return G + B @ D, B.T @ Z_prev, B.sum(axis=0)


def test_residual_reference_matches_finite_differences():
    # S = sum(G * block(Z_prev)) has dS/d(output) = G: differentiate S directly by central differences
    for D, d, Z, G in check.EX_DENSE:
        gZ, gD, gd = good_residual_backward(D, d, Z, G)
        np.testing.assert_allclose(gZ, _fd(lambda Z_: np.sum(G * _block(D, d, Z_)), Z), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(gD, _fd(lambda D_: np.sum(G * _block(D_, d, Z)), D), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(gd, _fd(lambda d_: np.sum(G * _block(D, d_, Z)), d), rtol=1e-7, atol=1e-8)


def test_residual_cases_are_square_and_far_from_symmetric():
    for c in check.EX_DENSE:
        assert c.D.shape[0] == c.D.shape[1] == c.Z_prev.shape[1] == c.G.shape[1]
        assert np.abs(c.D - c.D.T).max() > 0.3


def test_residual_correct_passes():
    res = check.residual_backward(good_residual_backward)
    assert res and "correct" in str(res)


def _with_signal(signal):
    """A backward pass that uses the given (wrong) rule for the signal b, and is otherwise right."""
    def fn(D, d, Z, G):
        B = signal(D, d, Z, G)
        return G + B @ D, B.T @ Z, B.sum(0)
    return fn


def _b(D, d, Z, G):
    return (1 - np.tanh(Z @ D.T + d) ** 2) * G


@pytest.mark.parametrize("fn,fragment", [
    (lambda D, d, Z, G: (_b(D, d, Z, G) @ D, _b(D, d, Z, G).T @ Z, _b(D, d, Z, G).sum(0)), "plain tanh layer"),
    (_with_signal(lambda D, d, Z, G: G), "without the Jacobian of tanh"),
    (lambda D, d, Z, G: (G + _b(D, d, Z, G) @ D.T, _b(D, d, Z, G).T @ Z, _b(D, d, Z, G).sum(0)),
     "instead of D^T"),
    (_with_signal(lambda D, d, Z, G: (1 - np.tanh(Z) ** 2) * G), "block's input instead of at its pre-activation"),
    (_with_signal(lambda D, d, Z, G: (1 - _block(D, d, Z) ** 2) * G), "includes the skip"),
    (lambda D, d, Z, G: (G + _b(D, d, Z, G) @ D, _b(D, d, Z, G).T @ Z / len(Z), _b(D, d, Z, G).sum(0)),
     "averaged over the N rows"),
    (lambda D, d, Z, G: (G + _b(D, d, Z, G) @ D, Z.T @ _b(D, d, Z, G), _b(D, d, Z, G).sum(0)), "Z_prev^T B"),
    (lambda D, d, Z, G: (G + _b(D, d, Z, G) @ D, _b(D, d, Z, G).T @ _block(D, d, Z), _b(D, d, Z, G).sum(0)),
     "block's output where its input belongs"),
    (lambda D, d, Z, G: (G + _b(D, d, Z, G) @ D, _b(D, d, Z, G).T @ Z, _b(D, d, Z, G).mean(0)),
     "grad_d on case 1 of 4"),
    (lambda D, d, Z, G: (G + _b(D, d, Z, G) @ D, G.T @ Z, G.sum(0)), "forgot the Jacobian of tanh"),
    (lambda D, d, Z, G: tuple(-a for a in good_residual_backward(D, d, Z, G)), "wrong sign"),
    (lambda D, d, Z, G: good_residual_backward(D, d, Z, G)[:2], "should return a tuple"),
    (lambda D, d, Z, G: None, "returned None"),
    (lambda D, d, Z, G: 1 / 0, "ZeroDivisionError"),
])
def test_residual_wrong_answers_fail_with_hint(fn, fragment):
    res = check.residual_backward(fn)
    assert not res
    assert fragment in str(res), str(res)


def test_residual_messages_do_not_state_the_answer():
    for fn in (lambda D, d, Z, G: (_b(D, d, Z, G) @ D, _b(D, d, Z, G).T @ Z, _b(D, d, Z, G).sum(0)),
               _with_signal(lambda D, d, Z, G: G)):
        text = str(check.residual_backward(fn))
        for giveaway in ("G +", "+ G", "1 - tanh", "B @ D", "B.T @ Z_prev"):
            assert giveaway not in text, text
    doc = check.residual_backward.__doc__
    for giveaway in ("1 - tanh", "G +", "B @ D", "D^T b"):
        assert giveaway not in doc


def test_residual_in_place_modification_is_reported():
    def clobber(D, d, Z, G):
        G *= 2.0
        return good_residual_backward(D, d, Z, G / 2.0)
    res = check.residual_backward(clobber)
    assert not res and "in place" in str(res)


def test_residual_none_and_non_function():
    assert "None" in str(check.residual_backward(None))
    assert "should be a function" in str(check.residual_backward(3))


# ---------------------------------------------------------------- exercise 2: central differences
def good_central(f, theta, eps):
    g = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = eps
        g[i] = (f(theta + e) - f(theta - e)) / (2 * eps)
    return g


def test_grad_functions_exact_gradients_match_fd():
    for i, case in enumerate(check.EX_GRAD_FUNCTIONS):
        np.testing.assert_allclose(vars(check)["_exact_gradient"](i, case.theta), _fd(case.f, case.theta),
                                   rtol=1e-7, atol=1e-9)


def test_central_test_cases_do_not_carry_their_gradients():
    assert all(set(case._fields) == {"description", "f", "theta"} for case in check.EX_GRAD_FUNCTIONS)


def test_central_exact_gradients_are_not_central_differences():
    def exact(f, theta, eps):
        i = next(k for k, c in enumerate(check.EX_GRAD_FUNCTIONS) if c.f is f)
        return vars(check)["_exact_gradient"](i, theta)
    res = check.central_difference(exact)
    assert not res and "not the central differences" in str(res)


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
    exact = vars(check)["_exact_gradient"]
    worst = max(np.max(np.abs(forward_diff(c.f, c.theta, check.EX_GRAD_EPS) - exact(i, c.theta))
                       / np.abs(exact(i, c.theta)).max()) for i, c in enumerate(check.EX_GRAD_FUNCTIONS))
    assert worst > 1e-4


# ---------------------------------------------------------------- exercise 3: Poisson output, softplus mean
def good_signal(a, x):
    mu = np.log1p(np.exp(a)) if np.all(a < 700) else np.logaddexp(0, a)
    return (1 - x / mu) / (1 + np.exp(-a))


def poisson_surprisal(a, x):
    mu = np.logaddexp(0, a)
    return np.sum(mu - x * np.log(mu))


def test_signal_reference_matches_fd_of_the_surprisal():
    for case in check.EX_SIGNAL[:2]:                      # moderate logits: FD of the surprisal is accurate
        np.testing.assert_allclose(good_signal(case.a, case.x), _fd(lambda a: poisson_surprisal(a, case.x), case.a),
                                   rtol=1e-6, atol=1e-8)
    # the far logits, entry by entry with a step scaled to the mean: at a = -30 the mean is about 1e-13
    a, x = check.EX_SIGNAL[2]
    for k in range(a.size):
        h = 1e-4
        fd = (poisson_surprisal(a[k:k + 1] + h, x[k:k + 1]) - poisson_surprisal(a[k:k + 1] - h, x[k:k + 1])) / (2 * h)
        np.testing.assert_allclose(good_signal(a[k:k + 1], x[k:k + 1])[0], fd, rtol=1e-6, atol=1e-8)


def test_signal_cases_are_counts_and_not_canonical():
    for case in check.EX_SIGNAL:
        assert np.all(case.x >= 0) and np.all(case.x == np.round(case.x))
        # the canonical shortcut mean - target differs from the signal on every case
        assert np.abs(np.logaddexp(0, case.a) - case.x - good_signal(case.a, case.x)).max() > 0.1


def test_signal_correct_passes():
    assert check.poisson_signal(good_signal)


def _sig(a):
    return 1 / (1 + np.exp(-a))


@pytest.mark.parametrize("fn,fragment", [
    (lambda a, x: 1 - x / np.logaddexp(0, a), "forgot the Jacobian"),
    (lambda a, x: _sig(a) * (1 - _sig(a)) * (1 - x / np.logaddexp(0, a)), "derivative that of the logistic"),
    (lambda a, x: np.logaddexp(0, a) - x, "canonical-link shortcut"),
    (lambda a, x: np.exp(a) - x, "exponential output"),
    (lambda a, x: _sig(a) * (np.logaddexp(0, a) - x), "squared-error"),
    (lambda a, x: (1 - x / np.log(1 + np.exp(a))) * _sig(a), "keeps only a few correct digits"),
    (lambda a, x: -good_signal(a, x), "wrong sign"),
    (lambda a, x: good_signal(a, x)[:-1], "shape"),
    (lambda a, x: good_signal(a, x) + 0.01, "case 1 of 3"),
])
def test_signal_wrong_answers_fail(fn, fragment):
    res = check.poisson_signal(fn)
    assert not res and fragment in str(res), str(res)
    for giveaway in ("sigma(a) (1", "1 - x / mu", "x/mu"):
        assert giveaway not in str(res)


def test_signal_docstring_does_not_state_the_answer():
    for giveaway in ("sigma", "1 - x", "mu - x", "x / mu"):
        assert giveaway not in check.poisson_signal.__doc__


def test_signal_none():
    assert "None" in str(check.poisson_signal(None))
    assert "should be a function" in str(check.poisson_signal(2))


# ---------------------------------------------------------------- exercise 4: product network
_D1 = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 1.0]])     # hidden units y1, y2, y2 + y3 (+ d1)
_d1 = np.array([0.0, 0.0, 1.0])


def _target(Y):
    """f(y) = 2 y1 y2 / (y2 + y3 + 1)^2, written out (not through the checker's factors)."""
    return 2.0 * Y[:, 0] * Y[:, 1] / (Y[:, 1] + Y[:, 2] + 1.0) ** 2


def test_product_correct_passes():
    Y = check.EX_PRODUCT.Y_test
    D2, d2 = np.array([[1.0, 1.0, -2.0]]), np.array([np.log(2.0)])
    assert np.allclose(np.exp(np.log(Y @ _D1.T + _d1) @ D2.T + d2)[:, 0], _target(Y), rtol=1e-12)
    assert check.product_network(_D1, _d1, D2, d2)
    # a wider network with a scaled copy of y1 (log(3 y1) = log 3 + log y1) is also right
    D1 = np.vstack([_D1, [[3.0, 0, 0]]])
    assert check.product_network(D1, np.append(_d1, 0.0), np.array([[0.0, 1.0, -2.0, 1.0]]),
                                 np.array([np.log(2.0 / 3.0)]))


def test_the_drafts_example_with_inputs_passed_on_unchanged_fails():
    """The page's example (D1 = I, d1 = 0) cannot make the factor y2 + y3 + 1, whatever D2 and d2."""
    res = check.product_network(np.eye(3), np.zeros(3), np.array([[1.0, 1.0, -2.0]]), np.array([np.log(2.0)]))
    assert not res


@pytest.mark.parametrize("D1,d1,D2,d2,fragment", [
    (_D1, _d1, [[1.0, 1.0, -2.0]], [0.0], "off by a constant factor at every input"),
    (_D1, _d1, [[1.0, 1.0, -2.0]], [2.0], "what a bias of the second layer does"),
    (_D1, np.zeros(3), [[1.0, 1.0, -2.0]], [np.log(2.0)], "approach zero"),
    (np.eye(3), _d1, [[1.0, 1.0, -2.0]], [np.log(2.0)], "when y2 doubles"),
    (_D1, _d1, [[1.0, 1.0, -1.0]], [np.log(2.0)], "wrong power"),
    (_D1, _d1, [[1.0, 1.0, 2.0]], [np.log(2.0)], "grows with the denominator"),
    (_D1, _d1, [[1.0, 2.0, -2.0]], [np.log(2.0)], "not within tolerance"),
])
def test_product_wrong_weights_fail(D1, d1, D2, d2, fragment):
    res = check.product_network(np.array(D1), np.array(d1), np.array(D2), np.array(d2))
    assert not res and fragment in str(res), str(res)
    # the messages name the symptom, not the weight or bias that fixes it
    for giveaway in ("log of the factor", "log 2", "-2", "negative weight", "twice", "bias of 1", "d1"):
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


# ---------------------------------------------------------------- routes that the graded version refuses
