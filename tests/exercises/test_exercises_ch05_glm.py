"""Tests for the checkers of notebook 5.1.2 (pedagogy_lib.exercises.ch05_glm).

References are hand-computed or come from scipy.optimize / pedagogy_lib.learning.glm.irls, not from the checkers.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from pedagogy_lib.learning import glm
from pedagogy_lib.exercises import ch05_glm as check


# ---------------------------------------------------------------- exercise 1: two penalized IRLS steps
# The objective is l(d) = sum_n [x_n eta_n - log(1 + e^eta_n)] - (lam / 2) |d|^2 with lam = 1. From d = 0: mu = 1/2,
# weights 1/4, so Y^T W Y = 1/4 [[4, 2], [2, 6]] and the penalized Hessian is [[2, 0.5], [0.5, 2.5]]; the gradient
# is Y^T (x - mu) - lam d = [0, 2]. Solving: det = 4.75, d^(1) = [[2.5, -0.5], [-0.5, 2]] [0, 2] / 4.75 = [-1, 4] / 4.75.
D1 = np.array([-1.0, 4.0]) / 4.75


def _objective(d, lam=None):
    """The penalized log-likelihood of the statement, written out."""
    p = check.EX_STEP
    lam = p.lam if lam is None else lam
    eta = p.Y @ d
    return np.sum(p.x * eta - np.logaddexp(0, eta)) - 0.5 * lam * d @ d


def _newton_by_differences(d, lam=None):
    """A Newton step on the penalized objective, gradient and Hessian by central differences."""
    def grad(v):
        return np.array([(_objective(v + 1e-6 * e, lam) - _objective(v - 1e-6 * e, lam)) / 2e-6 for e in np.eye(2)])
    H = np.column_stack([(grad(d + 1e-4 * e) - grad(d - 1e-4 * e)) / 2e-4 for e in np.eye(2)])
    return d - np.linalg.solve((H + H.T) / 2, grad(d))


D2 = _newton_by_differences(_newton_by_differences(np.zeros(2)))


def _irls(d, lam, steps=2, *, weights_at=None):
    """Penalized IRLS as a weighted ridge regression of the working response z = eta + (x - mu) / w."""
    p = check.EX_STEP
    for _ in range(steps):
        eta = p.Y @ d
        mu = expit(eta)
        w_eta = p.Y @ (d if weights_at is None else weights_at)
        w = expit(w_eta) * expit(-w_eta)
        z = eta + (p.x - mu) / w
        d = np.linalg.solve(p.Y.T @ (w[:, None] * p.Y) + lam * np.eye(2), p.Y.T @ (w * z))
    return d


def test_step_problem_is_separated_so_only_the_penalty_gives_an_optimum():
    """The classes of EX_STEP are separated by a threshold between 0 and 1: the plain log-likelihood has no
    maximizer (plain IRLS iterates grow without bound), the penalized one has, and the penalized Newton
    iteration converges to a point where its gradient vanishes."""
    p = check.EX_STEP
    assert p.lam == 1.0 and np.array_equal(p.x, [0.0, 0.0, 1.0, 1.0]) and np.array_equal(p.d, [0.0, 0.0])
    assert p.Y[p.x == 0, 1].max() < p.Y[p.x == 1, 1].min()
    plain = _irls(np.zeros(2), 0.0, steps=12)
    assert np.linalg.norm(plain) > 10
    d = np.zeros(2)
    for _ in range(30):
        d = _newton_by_differences(d)
    g = [(_objective(d + 1e-6 * e) - _objective(d - 1e-6 * e)) / 2e-6 for e in np.eye(2)]
    assert np.abs(g).max() < 1e-6 and np.linalg.norm(d) < 3


def test_step_hand_computation_is_a_newton_step():
    np.testing.assert_allclose(_newton_by_differences(np.zeros(2)), D1, atol=1e-6)


def test_step_correct_passes():
    d2 = _irls(np.zeros(2), 1.0)
    np.testing.assert_allclose(d2, D2, atol=1e-6)
    res = check.irls_step(d2)
    assert res and "correct" in str(res)


def test_step_the_pages_unpenalized_steps_do_not_pass():
    """The page's Newton step (cells 10 and 12, or irls_step) copied with EX_STEP's numbers leaves the penalty out."""
    p = check.EX_STEP
    d = np.zeros(2)
    for _ in range(2):
        g = -np.mean((p.x - expit(p.Y @ d))[:, None] * p.Y, axis=0)
        w = expit(p.Y @ d) * expit(-(p.Y @ d))
        d = d - np.linalg.solve((p.Y * w[:, None]).T @ p.Y / len(p.x), g)
    np.testing.assert_allclose(d, _irls(np.zeros(2), 0.0), rtol=1e-12)
    res = check.irls_step(d)
    assert not res and "left the penalty out" in str(res)


def test_step_one_step_does_not_pass():
    res = check.irls_step(D1)
    assert not res and "stopped after one step" in str(res)


def _newton_slip(grad_pen=1.0, hess_pen=1.0, P=None):
    p = check.EX_STEP
    P = p.lam * np.eye(2) if P is None else P
    d = np.zeros(2)
    for _ in range(2):
        mu = expit(p.Y @ d)
        H = p.Y.T @ ((mu * (1 - mu))[:, None] * p.Y) + hess_pen * P
        d = d + np.linalg.solve(H, p.Y.T @ (p.x - mu) - grad_pen * P @ d)
    return d


@pytest.mark.parametrize("make,fragment", [
    (lambda: _newton_slip(grad_pen=0.0), "Hessian but not to the gradient"),
    (lambda: _newton_slip(hess_pen=0.0), "gradient but not to the Hessian"),
    (lambda: _newton_slip(-1.0, -1.0), "wrong sign (the penalty"),
    (lambda: _newton_slip(P=np.diag([0.0, 1.0])), "intercept out of the penalty"),
    (lambda: _irls(np.zeros(2), 2.0), "2 lam d"),
    (lambda: _irls(np.zeros(2), 4.0), "averaged the log-likelihood"),
    (lambda: _irls(D1, 1.0, steps=1, weights_at=np.zeros(2)), "weights of d^(0)"),
])
def test_step_named_slips(make, fragment):
    res = check.irls_step(make())
    assert not res and fragment in str(res), str(res)


@pytest.mark.parametrize("make,fragment", [
    (lambda d2: -d2, "wrong sign"),
    (lambda d2: d2 + 0.01, "not within tolerance"),
    (lambda d2: np.append(d2, 0.0), "shape"),
])
def test_step_wrong_answers_fail(make, fragment):
    res = check.irls_step(make(_irls(np.zeros(2), 1.0)))
    assert not res and fragment in str(res)


def test_step_none_fails_gracefully():
    res = check.irls_step(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 2: probit Fisher-scoring weights
def _loglik_probit(eta, x):
    """log p(x | eta) of a Bernoulli output with mean Phi(eta), from scipy.stats."""
    return x * stats.norm.logcdf(eta) + (1 - x) * stats.norm.logsf(eta)


def _fisher_weights_by_differences():
    """The expectation over x ~ Bernoulli(Phi(eta)) of minus the second derivative of the log-likelihood in
    eta, the second derivative by central differences: the weight of Fisher scoring, from its definition."""
    p = check.EX_WEIGHTS
    eta = p.Y @ p.d
    h = 1e-4
    second = {x: (_loglik_probit(eta + h, x) - 2 * _loglik_probit(eta, x) + _loglik_probit(eta - h, x)) / h**2
              for x in (0.0, 1.0)}
    q = stats.norm.cdf(eta)
    return -(q * second[1.0] + (1 - q) * second[0.0])


def _probit_weights():
    p = check.EX_WEIGHTS
    eta = p.Y @ p.d
    return stats.norm.pdf(eta) ** 2 / (stats.norm.cdf(eta) * stats.norm.sf(eta))


def test_weights_reference_is_the_expected_information():
    np.testing.assert_allclose(_probit_weights(), _fisher_weights_by_differences(), rtol=1e-5)


def test_weights_correct_passes():
    res = check.irls_weights(_probit_weights())
    assert res and "correct" in str(res)


def test_weights_the_pages_logistic_weights_do_not_pass():
    """The page's cell 12 computes the logistic weights expit(eta) expit(-eta): copied with EX_WEIGHTS's
    numbers they are not the probit's."""
    p = check.EX_WEIGHTS
    eta = p.Y @ p.d
    res = check.irls_weights(expit(eta) * expit(-eta))
    assert not res and "logistic model's weights" in str(res)
    assert np.abs(expit(eta) * expit(-eta) - _probit_weights()).max() > 0.05


def _observed_weights():
    """Minus the second derivative of the observed log-likelihood in eta, by central differences (Newton's)."""
    p = check.EX_WEIGHTS
    eta = p.Y @ p.d
    h = 1e-4
    return -(_loglik_probit(eta + h, p.x) - 2 * _loglik_probit(eta, p.x) + _loglik_probit(eta - h, p.x)) / h**2


@pytest.mark.parametrize("make,fragment", [
    (lambda q, f: q * (1 - q), "canonical link only"),
    (lambda q, f: f, "slope of the inverse link alone"),
    (lambda q, f: f ** 2, "variance out of the weight"),
    (lambda q, f: f / (q * (1 - q)), "without squaring"),
    (lambda q, f: q * (1 - q) / f ** 2, "reciprocal"),
    (lambda q, f: np.diag(f ** 2 / (q * (1 - q))), "1-D array"),
])
def test_weights_wrong_answers_fail(make, fragment):
    p = check.EX_WEIGHTS
    eta = p.Y @ p.d
    res = check.irls_weights(make(stats.norm.cdf(eta), stats.norm.pdf(eta)))
    assert not res and fragment in str(res), str(res)


def test_weights_newtons_observed_weights_are_named():
    obs = _observed_weights()
    assert np.abs(obs - _probit_weights()).max() > 0.01
    res = check.irls_weights(np.round(obs, 9))
    assert not res and "Newton's" in str(res), str(res)


def test_weights_none_fails_gracefully():
    res = check.irls_weights(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 3: a canonical link the page does not list
# Geometric, failures before the first success: (1 - pi)^x pi = exp{x log(1 - pi) + log pi}, so eta = log(1 - pi),
# A(eta) = -log(1 - e^eta), mean A'(eta) = e^eta / (1 - e^eta) = mu, and g(mu) = log(mu / (1 + mu)).
def _g(mu):
    return np.log(mu) - np.log1p(mu)


def _lam(eta):
    return 1 / np.expm1(-eta)


def test_link_correct_passes():
    assert check.geometric_link(_g, _lam)
    mu = np.array([0.2, 1.0, 7.0])                       # the mean of the geometric, by its definition
    pi = 1 / (1 + mu)
    np.testing.assert_allclose([sum(k * (1 - q) ** k * q for k in range(4000)) for q in pi], mu, rtol=1e-9)
    np.testing.assert_allclose(_lam(_g(mu)), mu, rtol=1e-12)


def test_link_the_pages_poisson_answer_does_not_pass():
    res = check.geometric_link(np.log, np.exp)
    assert not res and "Poisson" in str(res)


@pytest.mark.parametrize("g,lam,fragment", [
    (_lam, _g, "swapped"),
    (lambda m: m, _lam, "identity"),
    (lambda m: np.log(m / (1 - m)), _lam, "logit"),
    (_g, expit, "sigmoid"),
    (_g, lambda e: np.exp(e) / (1 + np.exp(e)) + 0.1, "not within tolerance"),
    (_g, 3.0, "should be a function"),
    (lambda m: 1 / 0, _lam, "raised ZeroDivisionError"),
])
def test_link_wrong_answers_fail(g, lam, fragment):
    res = check.geometric_link(g, lam)
    assert not res and fragment in str(res)


def test_link_slip_messages_say_nothing_misleading():
    """The identity slip names the identity only (not a logarithm of the answer)."""
    res = str(check.geometric_link(lambda m: m, _lam))
    assert "identity" in res and "logarithm of" not in res


def test_link_none_fails_gracefully():
    res = check.geometric_link(None, None)
    assert not res and "should be a function" in str(res)


# ---------------------------------------------------------------- exercise 4: existence of the MLE
def test_has_mle_truth_matches_irls_behaviour():
    """A is separable at 0 and C at 0.4 with a tie there (IRLS warns, |d| grows); B and D are not (IRLS
    converges)."""
    for key in "AC":
        y, x = check.EX_SEPARABLE[key]
        with pytest.warns(glm.ConvergenceWarning):
            glm.irls(y[:, None], x, "bernoulli", fit_intercept=True, max_iter=30)
    for key in "BD":
        y, x = check.EX_SEPARABLE[key]
        assert glm.irls(y[:, None], x, "bernoulli", fit_intercept=True).converged


def test_has_mle_answers():
    truth = (False, True, False, True)
    assert check.has_mle(*truth)
    assert check.has_mle(*map(np.bool_, truth))
    # all or nothing: every wrong combination gets the same message, naming no data set
    messages = set()
    for k in range(1, 16):
        wrong = [not v if k >> i & 1 else v for i, v in enumerate(truth)]
        res = check.has_mle(*wrong)
        assert not res
        messages.add(str(res))
    assert len(messages) == 1 and "data set" not in messages.pop()
    # real bools only
    for fake in (str, int):
        res = check.has_mle(*map(fake, truth))
        assert not res and "should be the bool" in str(res)
    assert not check.has_mle("no", "yes", "no", "yes")
    assert not check.has_mle(None, None, None, None)
