"""Tests for the checkers of notebook 5.1.2 (pedagogy_lib.exercises.ch05_glm).

References are hand-computed or come from scipy.optimize / pedagogy_lib.learning.glm.irls, not from the checkers.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from scipy.special import expit

from pedagogy_lib.learning import glm
from pedagogy_lib.exercises import ch05_glm as check


# ---------------------------------------------------------------- exercise 1: one IRLS step
# From d = 0: mu = 1/2, weights 1/4. Y^T W Y = 1/4 [[4, 2], [2, 6]], Y^T (x - mu) = [0, 1].
# Solve [[1, 0.5], [0.5, 1.5]] d = [0, 1]: det = 1.25, d = [-0.5, 1] / 1.25 = [-0.4, 0.8].
D1 = np.array([-0.4, 0.8])


def test_step_hand_computation_is_a_newton_step():
    p = check.EX_STEP
    def nll(d):
        eta = p.Y @ d
        return np.sum(np.logaddexp(0, eta) - p.x * eta)
    grad = optimize.approx_fprime(p.d, nll, 1e-6)
    H = p.Y.T @ (0.25 * p.Y)
    np.testing.assert_allclose(p.d - np.linalg.solve(H, grad), D1, atol=1e-5)


def test_step_correct_passes():
    res = check.irls_step(D1)
    assert res and "correct" in str(res)


@pytest.mark.parametrize("answer,fragment", [
    (-D1, "stepped against the gradient"),
    (np.array([0.0, 1.0]), "plain gradient step"),
    (D1 + 0.01, "not within tolerance"),
    (np.array([-0.4, 0.8, 0.0]), "shape"),
])
def test_step_wrong_answers_fail(answer, fragment):
    res = check.irls_step(answer)
    assert not res and fragment in str(res)


def test_step_sd_weights_hint():
    p = check.EX_STEP
    sd = np.full(4, 0.5)
    z = (p.x - 0.5) / sd                                   # eta = 0
    wrong = np.linalg.solve(p.Y.T @ (sd[:, None] * p.Y), p.Y.T @ (sd * z))
    res = check.irls_step(wrong)
    assert not res and "standard deviation" in str(res)


def test_step_none_fails_gracefully():
    res = check.irls_step(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 2: weights
def _mu2():
    p = check.EX_WEIGHTS
    return 1 / (1 + np.exp(-(p.Y @ p.d)))


def test_weights_correct_passes():
    mu = _mu2()
    assert check.irls_weights(mu * (1 - mu))
    # same numbers from the library's family object
    p = check.EX_WEIGHTS
    assert check.irls_weights(glm.family("bernoulli").dmu_deta(p.Y @ p.d))


@pytest.mark.parametrize("make,fragment", [
    (lambda mu: np.sqrt(mu * (1 - mu)), "standard deviation"),
    (lambda mu: mu, "the mean mu"),
    (lambda mu: 1 / (mu * (1 - mu)), "inverse variance"),
    (lambda mu: np.diag(mu * (1 - mu)), "1-D array"),
    (lambda mu: np.zeros(5), "always 0"),
])
def test_weights_wrong_answers_fail(make, fragment):
    res = check.irls_weights(make(_mu2()))
    assert not res and fragment in str(res)


def test_weights_none_fails_gracefully():
    res = check.irls_weights(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 3: Poisson link
def test_link_correct_passes():
    assert check.poisson_link(np.log, np.exp)
    assert check.poisson_link(lambda m: np.log(m), lambda e: np.exp(e))


@pytest.mark.parametrize("g,lam,fragment", [
    (np.exp, np.log, "swapped"),
    (lambda m: m, np.exp, "identity"),
    (np.log, lambda e: 1 / (1 + np.exp(-e)), "not within tolerance"),
    (np.log, 3.0, "should be a function"),
    (lambda m: 1 / 0, np.exp, "raised ZeroDivisionError"),
])
def test_link_wrong_answers_fail(g, lam, fragment):
    res = check.poisson_link(g, lam)
    assert not res and fragment in str(res)


def test_link_none_fails_gracefully():
    res = check.poisson_link(None, None)
    assert not res and "should be a function" in str(res)


# ---------------------------------------------------------------- exercise 4: existence of the MLE
def test_has_mle_truth_matches_irls_behaviour():
    """A is separable at 0 (IRLS warns, |d| grows); B is not (IRLS converges)."""
    yA, xA = check.EX_SEPARABLE["A"]
    with pytest.warns(glm.ConvergenceWarning):
        glm.irls(yA[:, None], xA, "bernoulli", fit_intercept=True, max_iter=30)
    yB, xB = check.EX_SEPARABLE["B"]
    assert glm.irls(yB[:, None], xB, "bernoulli", fit_intercept=True).converged


def test_has_mle_answers():
    assert check.has_mle(False, True)
    res = check.has_mle(True, True)
    assert not res and "data set A" in str(res)
    res = check.has_mle("perhaps", True)
    assert check.has_mle("no", "yes")          # words are read as booleans
    assert not res and "True or False" in str(res)
    assert not check.has_mle(None, None)
