"""Tests for the Section 8.2.1 exercise checkers (pedagogy_lib.exercises.ch08_estimators): references by
Gauss-Hermite and Gauss-Laguerre quadrature."""
import numpy as np
import pytest

from pedagogy_lib.exercises import ch08_estimators as check


def _sf_variance(mu, K):
    """Var[(z_1 + R)(mu + z_1)^2] with R ~ N(0, K - 1), by quadrature over z_1 and r = R / sqrt(K - 1)."""
    z, w = np.polynomial.hermite_e.hermegauss(30)
    w = w / w.sum()
    Z1, R = np.meshgrid(z, z, indexing="ij")
    W = np.outer(w, w)
    g = (Z1 + np.sqrt(K - 1) * R) * (mu + Z1) ** 2
    return np.sum(W * g * g) - np.sum(W * g) ** 2, W, Z1, R


def _sf_variance_two(mu, K):
    """Var[(z_1 + z_2 + R)((mu + z_1)^2 + (mu + z_2)^2)] with R ~ N(0, K - 2), by quadrature over z_1, z_2
    and r = R / sqrt(K - 2) (K >= 3), or without R at K = 2."""
    z, w = np.polynomial.hermite_e.hermegauss(30)
    w = w / w.sum()
    Z1, Z2, R = np.meshgrid(z, z, z, indexing="ij")
    W = w[:, None, None] * w[None, :, None] * w[None, None, :]
    g = (Z1 + Z2 + np.sqrt(K - 2) * R) * ((mu + Z1) ** 2 + (mu + Z2) ** 2)
    return np.sum(W * g * g) - np.sum(W * g) ** 2


def test_variance_slope():
    """The cost x_1^2 + x_2^2 (the page works out x_1^2): the slope by quadrature at K = 2, 3, 4."""
    mu = check.EX_MU
    v2, v3, v4 = (_sf_variance_two(mu, K) for K in (2, 3, 4))
    assert abs((v4 - v3) - (v3 - v2)) < 1e-8 * v4               # the growth is linear from K = 2
    assert check.variance_slope(v3 - v2)
    r = check.variance_slope(_sf_variance(mu, 3)[0] - _sf_variance(mu, 2)[0])   # the page's x_1^2
    assert not r and "page's cost" in str(r)
    # twice the page's slope (a guess): the message says the slopes do not add, and reveals neither which
    # moment the slope is nor what the guess leaves out
    r = check.variance_slope(2 * (_sf_variance(mu, 3)[0] - _sf_variance(mu, 2)[0]))
    assert not r and "not the sum" in str(r)
    assert "E[f^2]" not in str(r) and "cross" not in str(r)


def test_best_baseline():
    mu, K = check.EX_MU, check.EX_K
    _, W, Z1, R = _sf_variance(mu, K)
    s = Z1 + np.sqrt(K - 1) * R
    f = (mu + Z1) ** 2
    beta = np.sum(W * s * s * f) / np.sum(W * s * s)      # least squares of s f on s
    assert check.best_baseline(beta)
    r = check.best_baseline(mu ** 2 + 1)
    assert not r and "E[f]" in str(r)


def test_expo_pathwise_variance():
    # f(x) = x^3 with x = g(z, lambda) = -log(1 - z) / lambda: the pathwise estimate is the derivative of
    # f(g(z, lambda)) in lambda at fixed noise, here by a central difference, averaged by Gauss-Laguerre
    # quadrature over the exponential noise e = -log(1 - z)
    lam, h = check.EX_LAM, 1e-5
    e, w = np.polynomial.laguerre.laggauss(40)
    g = ((e / (lam + h)) ** 3 - (e / (lam - h)) ** 3) / (2 * h)
    var = np.sum(w * g * g) - np.sum(w * g) ** 2
    assert check.expo_pathwise_variance(var)
    r = check.expo_pathwise_variance(np.sum(w * g * g))
    assert not r and "second moment" in str(r)
    r = check.expo_pathwise_variance(var * lam ** 2 / 9)
    assert not r and "chain rule" in str(r)
    r = check.expo_pathwise_variance(80 / lam ** 6)          # the page's x^2 answer
    assert not r and "x^2" in str(r)


def test_expo_rate_is_not_the_pages():
    """The page evaluates the x^2 case at lambda = 1.5; neither the book nor any student gets that rate, and
    no rate makes a named slip equal the answer (the missing factor 9 / lambda^2 would at lambda = 3)."""
    from courseware.grading import own_copy

    rates = {check.EX_LAM} | {own_copy(check, salt).EX_LAM for salt in range(60)}   # the book's, 60 students'
    assert len(rates) > 5 and all(abs(lam - 1.5) > 0.05 and abs(lam - 3.0) > 0.05 for lam in rates), sorted(rates)


# ---------------------------------------------------------------- exercise (d): both estimators as a function
def _estimators_by_differentiation(f, grad_f, mu, Z, beta):
    """Independent of the checker's formulas: the score d log p(x; mu) / d mu by a central difference of
    the log density of N(mu 1, I) at each sample, and the pathwise estimate by a central difference of
    f(mu 1 + z) in mu at fixed noise (grad_f is not used)."""
    h = 1e-5
    X = mu + Z

    def log_p(m):
        return -0.5 * np.sum((X - m) ** 2, axis=1)

    score = (log_p(mu + h) - log_p(mu - h)) / (2 * h)
    pw = (f(mu + h + Z) - f(mu - h + Z)) / (2 * h)
    return score * (f(X) - beta), pw


def _reference_estimators(f, grad_f, mu, Z, beta):
    X = mu + Z
    return Z.sum(axis=1) * (f(X) - beta), grad_f(X).sum(axis=1)


def test_gradient_estimators_reference_passes():
    assert check.gradient_estimators(_reference_estimators)


def test_gradient_estimators_finite_differences_agree_with_the_checker():
    """The checker's references match derivatives taken numerically, to the accuracy a central difference
    allows (so the comparison is made here, not through the checker's tight tolerance)."""
    for _, f, grad_f, mu, Z, beta in vars(check)["_cost_cases"]():
        for a, b in zip(_estimators_by_differentiation(f, grad_f, mu, Z, beta),
                        _reference_estimators(f, grad_f, mu, Z, beta)):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("wrong,fragment", [
    (lambda f, g, mu, Z, b: (Z[:, 0] * (f(mu + Z) - b), g(mu + Z).sum(axis=1)), "first coordinate only"),
    (lambda f, g, mu, Z, b: (Z.sum(axis=1) * f(mu + Z) - b, g(mu + Z).sum(axis=1)), "after multiplying"),
    (lambda f, g, mu, Z, b: (Z.sum(axis=1) * f(mu + Z), g(mu + Z).sum(axis=1)), "baseline out"),
    (lambda f, g, mu, Z, b: (Z.sum(axis=1) * (f(mu + Z) - b), g(mu + Z)[:, 0]), "first coordinate of the gradient"),
    (lambda f, g, mu, Z, b: (Z.sum(axis=1) * (f(mu + Z) - b), g(Z).sum(axis=1)), "at the noise z"),
    (lambda f, g, mu, Z, b: None, "returned None"),
    (lambda f, g, mu, Z, b: Z.sum(axis=1), "pair (sf, pw)"),
    (lambda f, g, mu, Z, b: 1 / 0, "ZeroDivisionError"),
])
def test_gradient_estimators_name_the_slips(wrong, fragment):
    res = check.gradient_estimators(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_gradient_estimators_reject_a_non_function_and_reveal_no_answer():
    import re

    assert "should be a function" in str(check.gradient_estimators(3))
    msg = str(check.gradient_estimators(lambda f, g, mu, Z, b: (Z.sum(axis=1) * f(mu + Z) + 1.0,
                                                                g(mu + Z).sum(axis=1) + 1.0)))
    assert "test problem 1" in msg and "not within tolerance" in msg, msg
    assert not re.search(r"[0-9]\.[0-9]", msg.replace("8.22", "").replace("8.24", "")), msg


# --- routes through one library call that the graded version refuses ---


# --- quadrature in place of the moments ---


# --- the noncentral chi-square's moments read off in one call ---
