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


# ---------------------------------------------------------------- exercise 1: two IRLS steps
# From d = 0: mu = 1/2, weights 1/4. Y^T W Y = 1/4 [[4, 2], [2, 6]], Y^T (x - mu) = [0, 1].
# Solve [[1, 0.5], [0.5, 1.5]] d = [0, 1]: det = 1.25, d = [-0.5, 1] / 1.25 = [-0.4, 0.8].
D1 = np.array([-0.4, 0.8])


def _nll(d):
    p = check.EX_STEP
    eta = p.Y @ d
    return np.sum(np.logaddexp(0, eta) - p.x * eta)


def _newton_by_differences(d):
    """A Newton step on the negative log-likelihood, gradient and Hessian by finite differences."""
    grad = lambda v: optimize.approx_fprime(v, _nll, 1e-7)
    H = np.column_stack([(grad(d + 1e-4 * e) - grad(d - 1e-4 * e)) / 2e-4 for e in np.eye(2)])
    return d - np.linalg.solve((H + H.T) / 2, grad(d))


D2 = _newton_by_differences(D1)


def test_step_hand_computation_is_a_newton_step():
    p = check.EX_STEP
    grad = optimize.approx_fprime(p.d, _nll, 1e-6)
    H = p.Y.T @ (0.25 * p.Y)
    np.testing.assert_allclose(p.d - np.linalg.solve(H, grad), D1, atol=1e-5)


def test_step_correct_passes():
    p = check.EX_STEP
    mu = expit(p.Y @ D1)
    w = mu * (1 - mu)
    d2 = D1 + np.linalg.solve(p.Y.T @ (w[:, None] * p.Y), p.Y.T @ (p.x - mu))
    np.testing.assert_allclose(d2, D2, atol=1e-4)
    res = check.irls_step(d2)
    assert res and "correct" in str(res)


def test_step_one_step_does_not_pass():
    """d^(1) is OLS of a rescaled output (all weights 1/4 at d = 0): the exercise asks for d^(2)."""
    res = check.irls_step(D1)
    assert not res and "stopped after one step" in str(res)


@pytest.mark.parametrize("make,fragment", [
    (lambda d2: -d2, "wrong sign"),
    (lambda d2: d2 + 0.01, "not within tolerance"),
    (lambda d2: np.append(d2, 0.0), "shape"),
])
def test_step_wrong_answers_fail(make, fragment):
    p = check.EX_STEP
    mu = expit(p.Y @ D1)
    d2 = D1 + np.linalg.solve(p.Y.T @ ((mu * (1 - mu))[:, None] * p.Y), p.Y.T @ (p.x - mu))
    res = check.irls_step(make(d2))
    assert not res and fragment in str(res)


def test_step_named_slips():
    p = check.EX_STEP
    # the second step with the weights of the first (1/4 everywhere)
    mu = expit(p.Y @ D1)
    stale = D1 + np.linalg.solve(p.Y.T @ (0.25 * p.Y), p.Y.T @ (p.x - mu))
    res = check.irls_step(stale)
    assert not res and "weights of d^(0)" in str(res)
    # two plain gradient steps
    d = np.zeros(2)
    for _ in range(2):
        d = d + p.Y.T @ (p.x - expit(p.Y @ d))
    res = check.irls_step(d)
    assert not res and "plain gradient steps" in str(res)


def test_step_sd_weights_hint():
    p = check.EX_STEP
    d = p.d
    for _ in range(2):
        eta = p.Y @ d
        mu = expit(eta)
        sd = np.sqrt(mu * (1 - mu))
        z = eta + (p.x - mu) / sd
        d = np.linalg.solve(p.Y.T @ (sd[:, None] * p.Y), p.Y.T @ (sd * z))
    res = check.irls_step(d)
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


def test_the_logistic_density_route_to_the_weights_is_refused_when_graded():
    """The logistic density is sigma(eta)(1 - sigma(eta)), so scipy.stats.logistic.pdf(Y @ d) is the vector
    of IRLS weights in one call; named by the statement and refused when graded."""
    from graded_routes import assert_refused_when_graded

    assert "scipy.stats.logistic.pdf" in check.SUMMATIVE["ex-5-1-2-weights"]["forbidden"]
    imports = ("from pedagogy_lib.exercises import ch05_glm as check\nimport numpy as np\n"
               "from scipy import stats\n")
    code = "my_weights = stats.logistic.pdf(check.EX_WEIGHTS.Y @ check.EX_WEIGHTS.d)\n"
    assert_refused_when_graded(check, "ex-5-1-2-weights", "irls_weights", "my_weights", imports, code)


def test_the_nce_newton_route_to_two_irls_steps_is_refused_when_graded():
    """With zero noise energies the NCE loss is the logistic regression loss (classes weighted by their
    sizes, equal here) in -d, so fit_nce(..., max_iter=2) takes the two Newton (IRLS) steps in one call;
    newton_minimize with nce_grad and nce_hessian does the same. Named by the statement and refused."""
    from graded_routes import assert_refused_when_graded

    names = {"pedagogy_lib.contrastive.nce.fit_nce", "pedagogy_lib.contrastive.nce.newton_minimize",
             "pedagogy_lib.contrastive.nce.nce_grad", "pedagogy_lib.contrastive.nce.nce_hessian"}
    assert names <= set(check.SUMMATIVE["ex-5-1-2-irls-step"]["forbidden"])
    imports = ("from pedagogy_lib.exercises import ch05_glm as check\nimport numpy as np\n"
               "from pedagogy_lib.contrastive.nce import fit_nce\n")
    code = ("Y, x = np.asarray(check.EX_STEP.Y, float), np.asarray(check.EX_STEP.x)\n"
            "n1, n0 = int((x == 1).sum()), int((x == 0).sum())\n"
            "my_d2 = -fit_nce(Y[x == 1], Y[x == 0], np.zeros(n1), np.zeros(n0), max_iter=2).theta\n")
    assert_refused_when_graded(check, "ex-5-1-2-irls-step", "irls_step", "my_d2", imports, code)
