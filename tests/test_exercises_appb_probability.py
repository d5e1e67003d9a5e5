"""Tests for the Appendix B.2 exercise checkers (pedagogy_lib.exercises.appb_probability).

Correct answers come from other routes: the Bernoulli information as minus the expected second
derivative of the log likelihood (by the gradient checker), Eq. B.13 by a large Monte Carlo sample
with a standard-error tolerance check of the closed form, and the thinned count from SciPy's
Poisson pmf (the thinning theorem).
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.exercises import appb_probability as check


def test_bernoulli_fisher():
    p = check.EX_BERNOULLI_P
    # I(p) = -E[d^2/dp^2 log p(y; p)], second derivative by differences of the (analytic) score
    score = lambda q, y: y / q - (1 - y) / (1 - q)                       # noqa: E731
    d2 = {y: float(gradcheck(lambda q: score(q, y), p).numeric) for y in (0, 1)}
    I = -((1 - p) * d2[0] + p * d2[1])
    assert check.bernoulli_fisher(round(I, 8))
    r = check.bernoulli_fisher(p * (1 - p))
    assert not r and "reciprocal" in str(r)
    assert not check.bernoulli_fisher(None)


def test_quadratic_form_mean():
    mu, S, C, b, A = check.EX_QUAD
    rng = np.random.default_rng(0)
    X = rng.multivariate_normal(mu, S, size=400_000)
    R = b - X @ C.T
    vals = np.einsum("ni,ij,nj->n", R, A, R)
    closed = np.trace(A @ C @ S @ C.T) + (b - C @ mu) @ A @ (b - C @ mu)
    assert abs(vals.mean() - closed) < 5 * vals.std() / np.sqrt(len(vals))
    assert check.quadratic_form_mean(closed)
    r = check.quadratic_form_mean((b - C @ mu) @ A @ (b - C @ mu))
    assert not r and "covariance term" in str(r)


def test_thinned_pmf():
    mu, y = check.EX_THIN
    assert check.thinned_pmf(stats.poisson.pmf(y, mu))
    r = check.thinned_pmf(stats.poisson.pmf(y, 1.0))
    assert not r and "before thinning" in str(r)
    assert not check.thinned_pmf("a lot")
