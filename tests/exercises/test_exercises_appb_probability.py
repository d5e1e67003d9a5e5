"""Tests for the Appendix B.2 exercise checkers (pedagogy_lib.exercises.appb_probability).

Correct answers come from other routes: the Bernoulli information as minus the expected second
derivative of the log likelihood (by the gradient checker), the variance of a bilinear form of a
Gaussian by Gauss-Hermite quadrature on the plane (and a Monte Carlo sample), and the thinned count from SciPy's
Poisson pmf (the thinning theorem) and by simulation.
"""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from scipy import stats

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.exercises import appb_probability as check


def test_bernoulli_fisher():
    """The geometric observation p (1 - p)^y: the expected squared score by summing over outcomes, and the
    second derivative of the log likelihood by differences; p is not the page's 0.2."""
    p = check.EX_BERNOULLI_P
    assert abs(p - 0.2) > 0.01
    y = np.arange(2000)
    pmf = p * (1 - p) ** y
    score = 1 / p - y / (1 - p)
    assert abs(pmf @ score) < 1e-9
    I = pmf @ score**2
    d2 = float(gradcheck(lambda q: 1 / q - y @ pmf / (1 - q), p).numeric)   # d/dp of E_p-fixed score
    assert abs(-d2 - I) < 1e-6 * I
    assert check.bernoulli_fisher(round(float(I), 9))
    r = check.bernoulli_fisher(1 / (p * (1 - p)))
    assert not r and "Bernoulli" in str(r)
    r = check.bernoulli_fisher((1 - p) / p**2)
    assert not r and "variance of the observation" in str(r)
    assert "reciprocal" not in str(r)
    assert not check.bernoulli_fisher(None)


def _bilinear_moments_by_quadrature(q, k=5):
    """Mean and variance of (b - CX)^T A (e - DX) for X ~ N(mu, Sigma), by Gauss-Hermite quadrature on the
    plane (X = mu + L z, z standard normal): the form squared is a polynomial of degree 4 in z, which k = 5
    nodes per axis integrate exactly."""
    z, w = np.polynomial.hermite_e.hermegauss(k)
    w = w / w.sum()
    Z = np.array(np.meshgrid(z, z, indexing="ij")).reshape(2, -1).T
    W = np.outer(w, w).ravel()
    X = q.mu + Z @ np.linalg.cholesky(q.Sigma).T
    f = np.einsum("ni,ij,nj->n", q.b - X @ q.C.T, q.A, q.e - X @ q.D.T)
    mean = W @ f
    return mean, W @ (f - mean) ** 2


def test_quadratic_form_variance():
    """The variance of the bilinear form for Gaussian X: the checker's answer is the quadrature's (and a
    large Monte Carlo sample agrees within its standard error); Monte Carlo cannot pass; each named slip,
    built here independently, gets a message that says which part is wrong and no more."""
    q = check.EX_QUAD
    mu, S, C, b, A, D, e = q
    mean, var = _bilinear_moments_by_quadrature(q)
    assert check.quadratic_form_variance(var)
    assert check.quadratic_form_variance(round(float(var), 6))
    X = np.random.default_rng(0).multivariate_normal(mu, S, size=400_000)
    vals = np.einsum("ni,ij,nj->n", b - X @ C.T, A, e - X @ D.T)
    dev2 = (vals - vals.mean()) ** 2
    se = np.sqrt((np.mean(dev2**2) - np.mean(dev2) ** 2) / len(vals))   # standard error of the sample variance
    assert abs(vals.var() - var) < 5 * se
    assert not check.quadratic_form_variance(vals.var())
    r = check.quadratic_form_variance(mean)
    assert not r and "mean of the form" in str(r)
    r = check.quadratic_form_variance(var + mean**2)
    assert not r and "second moment" in str(r)
    # the two parts from derivatives of the form at mu (central differences are exact for a quadratic):
    # the linear part's variance g^T Sigma g, the quadratic part's what is left, which is 2 tr((H/2) S (H/2) S)
    f = lambda x: (b - C @ x) @ A @ (e - D @ x)                  # noqa: E731
    h, I2 = 0.5, np.eye(2)
    g = np.array([(f(mu + h * u) - f(mu - h * u)) / (2 * h) for u in I2])
    H = np.array([[(f(mu + h * u + h * v) - f(mu + h * u - h * v) - f(mu - h * u + h * v) + f(mu - h * u - h * v))
                   / (4 * h * h) for v in I2] for u in I2])
    lin_only, quad_only = g @ S @ g, var - g @ S @ g
    assert abs(quad_only - 2 * np.trace((H / 2) @ S @ (H / 2) @ S)) < 1e-9 * var     # the parts are uncorrelated
    r = check.quadratic_form_variance(lin_only)
    assert not r and "left out the part that is quadratic" in str(r)
    r = check.quadratic_form_variance(quad_only)
    assert not r and "left out the part that is linear" in str(r)
    M = C.T @ A @ D                                      # not symmetrized: the quadratic part is wrong
    r = check.quadratic_form_variance(lin_only + 2 * np.trace(M @ S @ M @ S))
    assert not r and "quadratic in X - mu wrong" in str(r)
    for text in (str(r), str(check.quadratic_form_variance(lin_only + quad_only / 2))):
        assert not any(w in text for w in ("symmetr", "factor", "2", "Isserlis", "transpose")), text
    g_c = C.T @ A @ (e - D @ mu)                                  # the linear part through C alone
    r = check.quadratic_form_variance(g_c @ S @ g_c + quad_only)
    assert not r and "linear in X - mu wrong" in str(r)
    assert not check.quadratic_form_variance(None)


def test_quadratic_form_students_problems_have_a_clear_answer():
    """Every student's problem: the checker's answer is the quadrature's, both parts of the variance
    count, and the mean of the form is far from it."""
    from courseware.grading import own_copy

    for salt in range(20):
        mod = own_copy(check, salt)
        q = mod.EX_QUAD
        mean, var = _bilinear_moments_by_quadrature(q)
        assert mod.quadratic_form_variance(var)
        assert not mod.quadratic_form_variance(mean)
        Ms = (q.C.T @ q.A @ q.D + q.D.T @ q.A.T @ q.C) / 2
        quad_only = 2 * np.trace(Ms @ q.Sigma @ Ms @ q.Sigma)
        assert 0.2 * var < quad_only < 0.8 * var


def _page_series(lam, mu, y, stop=80):
    """The page's drawing of the thinned count, summed term by term over the trials in floating point as
    its cell does for Pois(1), with the rate lam written in."""
    return sum(math.exp(-lam) * lam**x / math.factorial(x) * math.comb(x, y) * mu**y * (1 - mu) ** (x - y)
               for x in range(y, stop))


def test_thinned_pmf():
    """The kept count of Pois(lam) trials at the exercise's rate of a few hundred: the checker's series
    agrees with simulation and with SciPy's Pois(lam mu) pmf (the thinning theorem), and the page's own
    series, run with these numbers, does not pass: 80 terms stop far short of x = lam, and more terms
    overflow."""
    lam, mu, y = check.EX_THIN
    assert lam > 100 and lam != round(lam)
    rng = np.random.default_rng(3)                     # thin Pois(lam) trials by simulation
    kept = rng.binomial(rng.poisson(lam, 400_000), mu)
    p = stats.poisson.pmf(y, lam * mu)
    assert abs(np.mean(kept == y) - p) < 5 * np.sqrt(p * (1 - p) / 400_000)
    assert check.thinned_pmf(p)
    assert check.thinned_pmf(float(np.exp(stats.poisson.logpmf(y, lam * mu))))
    assert not check.thinned_pmf(_page_series(lam, mu, y))
    with pytest.raises(OverflowError):
        _page_series(lam, mu, y, stop=int(lam))
    r = check.thinned_pmf(stats.binom.pmf(y, math.floor(lam), mu))
    assert not r and "fixed" in str(r)
    r = check.thinned_pmf(stats.norm.pdf(y, lam * mu, np.sqrt(lam * mu)))
    assert not r and "normal approximation" in str(r)
    r = check.thinned_pmf(stats.poisson.pmf(y, lam))
    assert not r and "slips this checker names" in str(r)
    assert not check.thinned_pmf("a lot")


def test_thinned_pmf_students_problems_defeat_the_page_s_series():
    """Every student's problem: SciPy's Pois(lam mu) pmf passes, the probability is not small, and the page's
    series with the student's numbers fails, truncated at 80 terms or overflowing with more."""
    from courseware.grading import own_copy

    for salt in range(20):
        mod = own_copy(check, salt)
        lam, mu, y = mod.EX_THIN
        p = stats.poisson.pmf(y, lam * mu)
        assert p > 1e-3 and lam > 100 and lam != round(lam)
        assert mod.thinned_pmf(p)
        assert not mod.thinned_pmf(_page_series(lam, mu, y))
        with pytest.raises(OverflowError):
            _page_series(lam, mu, y, stop=int(lam))
    # the solution's sentence: lam^x overflows near x = log(float max) / log lam, before x = lam at both ends
    # of the drawn range lam in [150, 300] (x decreases, lam increases); at lam = 150 it is under one standard
    # deviation short of lam, inside the bulk of Pois(lam), so "before x = lam" is all the page may claim
    for lam in (150.0, 300.0):
        x_over = math.log(sys.float_info.max) / math.log(lam)
        assert x_over < lam
        with pytest.raises(OverflowError):
            lam ** math.ceil(x_over)
    assert 150.0 - math.log(sys.float_info.max) / math.log(150.0) < math.sqrt(150.0)


def _fisher_solution(T, log_h, eta, J):
    """The notebook's solution: normalized log-weights, the covariance of t, the Jacobians either side."""
    log_w = log_h + T @ eta
    p = np.exp(log_w - np.logaddexp.reduce(log_w))
    dev = T - p @ T
    return J.T @ (dev.T @ (p[:, None] * dev)) @ J


def _fisher_by_scores(T, log_h, eta, J):
    """Another route: the expected outer product of the score J^T (t(y) - E[t]), with SciPy's log-sum-exp,
    one outcome at a time."""
    from scipy.special import logsumexp
    log_p = log_h + T @ eta
    log_p = log_p - logsumexp(log_p)
    mean = sum(np.exp(lp) * t for lp, t in zip(log_p, T))
    info = np.zeros((J.shape[1], J.shape[1]))
    for lp, t in zip(log_p, T):
        s = J.T @ (t - mean)
        info += np.exp(lp) * np.outer(s, s)
    return info


def test_fisher_information_function_accepts_the_solution_and_another_route():
    assert check.fisher_information_function(_fisher_solution)
    assert check.fisher_information_function(_fisher_by_scores)


def test_fisher_information_function_agrees_with_the_bernoulli_and_a_numerical_hessian():
    p = 0.2
    I = _fisher_solution(np.array([[0.0], [1.0]]), np.zeros(2), np.array([np.log(p / (1 - p))]),
                         np.array([[1 / (p * (1 - p))]]))
    assert np.isclose(I[0, 0], 1 / (p * (1 - p)))
    # minus the expected Hessian of the log-likelihood in theta, by central differences of A(eta0 + J theta)
    rng = np.random.default_rng(4)
    T, log_h, eta, J = rng.normal(size=(7, 3)), rng.normal(size=7), rng.normal(size=3), rng.normal(size=(3, 2))
    A = lambda th: np.logaddexp.reduce(log_h + T @ (eta + J @ th))          # noqa: E731
    h, E = 1e-4, np.eye(2)
    H = np.array([[(A(h * (E[i] + E[j])) - A(h * (E[i] - E[j])) - A(h * (E[j] - E[i])) + A(-h * (E[i] + E[j])))
                   / (4 * h * h) for j in range(2)] for i in range(2)])
    assert np.allclose(_fisher_solution(T, log_h, eta, J), H, rtol=1e-5, atol=1e-6)


def test_fisher_information_function_names_the_slips():
    def slip(fn):
        r = check.fisher_information_function(fn)
        assert not r
        return str(r)

    def weights(T, log_h, eta):
        w = log_h + T @ eta
        return np.exp(w - np.logaddexp.reduce(w))

    assert "base measure" in slip(lambda T, log_h, eta, J: _fisher_solution(T, 0 * log_h, eta, J))
    assert "second moment" in slip(lambda T, log_h, eta, J: J.T @ (T.T @ (weights(T, log_h, eta)[:, None] * T)) @ J)
    assert "weighted the N outcomes equally" in slip(
        lambda T, log_h, eta, J: J.T @ np.atleast_2d(np.cov(T.T, ddof=0)) @ J)

    def unnormalized(T, log_h, eta, J):
        w = np.exp(log_h + T @ eta)
        return J.T @ (T.T @ (w[:, None] * T) - np.outer(w @ T, w @ T)) @ J
    assert "did not normalize" in slip(unnormalized)

    def cov(T, log_h, eta):
        p = weights(T, log_h, eta)
        dev = T - p @ T
        return dev.T @ (p[:, None] * dev)
    # on the binomial (problem 1) the inverse form is caught at once
    assert "inverse covariance" in slip(lambda T, log_h, eta, J: J.T @ np.linalg.inv(cov(T, log_h, eta)) @ J)
    # right on the binomial and on the categorical in its natural parameters (J = I), wrong on the Gaussian
    msg = slip(lambda T, log_h, eta, J: J @ cov(T, log_h, eta) @ J.T)
    assert "wrong sides" in msg and "test problem 3" in msg
    msg = slip(lambda T, log_h, eta, J: _fisher_solution(T, log_h, eta, J) if J.shape[1] == 1 else cov(T, log_h, eta))
    assert "Jacobian out" in msg, msg
    assert "forget to return" in slip(lambda T, log_h, eta, J: None)
    assert "raised ValueError" in slip(lambda T, log_h, eta, J: np.reshape(T, (-1, 5, 7)))
    assert "should be a function" in str(check.fisher_information_function(check.EX_QUAD))


def test_fisher_information_function_reaches_the_overflowing_family_and_reveals_no_answer():
    import re

    msg = str(check.fisher_information_function(lambda *a: _fisher_solution(*a) * 1.001))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg

    def naive(T, log_h, eta, J):
        with np.errstate(all="ignore"):
            w = np.exp(log_h + T @ eta)
            p = w / w.sum()
        dev = T - p @ T
        return J.T @ (dev.T @ (p[:, None] * dev)) @ J
    msg = str(check.fisher_information_function(naive))
    assert "test problem 5" in msg and "work with logarithms" in msg, msg


def test_fisher_information_function_gets_copies():
    def spoil(T, log_h, eta, J):
        out = _fisher_solution(T, log_h, eta, J)
        T[:] = 0.0
        J[:] = 0.0
        return out
    assert check.fisher_information_function(spoil)
    assert check.fisher_information_function(_fisher_solution)


# --- routes through one library call that the graded version refuses ---
