"""Tests for the checkers of notebook 9.0.1 (pedagogy_lib.exercises.ch09_duality).

References: scipy's normal and logistic densities, the normal-normal relative entropy in closed
form, the entropy of the squashed outputs by quadrature over the unit interval, the optimal gain by
minimizing the relative entropy, and the log-density under an invertible map with a Jacobian by
central differences.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from pedagogy_lib.exercises import ch09_duality as check


def _pz(z, a):
    """Density of Phi(a Y) for Y ~ N(0, EX_SIGMA^2): the pre-image by scipy's normal quantile."""
    x = stats.norm.ppf(z)
    y = x / a
    return stats.norm.pdf(y, scale=check.EX_SIGMA) / (stats.norm.pdf(x) * a)


def _pz_closed(z, a):
    """The same density written out: a Y is N(0, (a sigma)^2), so the ratio of two normal densities at x."""
    x = stats.norm.ppf(z)
    c = a * check.EX_SIGMA
    return np.exp(0.5 * x * x * (1 - 1 / c ** 2)) / c


def _kl_closed(a):
    """KL(N(0, sigma^2) || N(0, 1/a^2)): the model density phi(a y) a is the N(0, 1/a^2) density."""
    c = a * check.EX_SIGMA
    return 0.5 * (c * c - 1) - np.log(c)


def _logistic_route_pz(z, a):
    """Step 2's density_z with sigma_y replaced by EX_SIGMA: the page's logistic squashing copied."""
    x = special.logit(z)
    return stats.norm.pdf(x / a, scale=check.EX_SIGMA) / (stats.logistic.pdf(x) * a)


def test_z_density_passes_and_fails():
    ref = _pz(check.EX_Z, check.EX_A)
    np.testing.assert_allclose(ref, _pz_closed(check.EX_Z, check.EX_A), rtol=1e-12)
    assert check.z_density(ref)
    res = check.z_density(ref * check.EX_A)             # Jacobian left out
    assert not res and "Jacobian" in str(res)
    assert not check.z_density(1 / ref)
    assert not check.z_density(None)
    assert not check.z_density(ref[:3])


def _neg_entropy_z(a):
    # -H[Z] by quadrature over the unit interval (an independent route to the relative entropy)
    def f(z):
        p = _pz(z, a)
        return p * np.log(p) if p > 0 else 0.0
    return integrate.quad(f, 0, 1, limit=200, epsabs=1e-12)[0]


def test_kl_at_gain_passes_and_fails():
    ref = _neg_entropy_z(check.EX_A)
    assert abs(ref - _kl_closed(check.EX_A)) < 1e-6
    assert check.kl_at_gain(ref) and check.kl_at_gain(_kl_closed(check.EX_A))
    res = check.kl_at_gain(-ref)
    assert not res and "entropy" in str(res)
    res = check.kl_at_gain(ref + np.log(check.EX_A))
    assert not res and "log-determinant" in str(res)


def _min_kl_gain(pdf, logpdf):
    """The gain minimizing KL(p || psi'(a y) a) for a symmetric data law by a bounded search over a quadrature
    of the KL itself (no stationarity condition): twice the integral over 0 < y < 100, which keeps the
    Laplace law's kink at an end point and stops before pdf(y) underflows to 0 against an infinite log."""
    def kl(a):
        f = lambda y: pdf(y) * (logpdf(y) - stats.logistic.logpdf(a * y) - np.log(a))    # noqa: E731
        return 2 * integrate.quad(f, 0, 100, limit=200)[0]
    return optimize.minimize_scalar(kl, bounds=(0.1, 3.0), method="bounded",
                                    options={"xatol": 1e-9}).x


def _best_gain(sigma=None):
    """Laplace data of standard deviation sigma (scale sigma / sqrt 2), as the statement says."""
    law = stats.laplace(scale=(check.EX_SIGMA if sigma is None else sigma) / np.sqrt(2))
    return _min_kl_gain(law.pdf, law.logpdf)


def test_best_gain_passes_and_fails():
    a = _best_gain()
    assert check.best_gain(a)
    assert check.best_gain(-a)                         # the mirror-image maximum
    res = check.best_gain(a * check.EX_SIGMA)          # the unit-variance optimum
    assert not res and "unit-variance" in str(res)
    assert not check.best_gain(1 / check.EX_SIGMA)
    assert not check.best_gain("abc")


def test_best_gain_named_slips():
    sig = check.EX_SIGMA
    normal = stats.norm(scale=sig)
    res = check.best_gain(_min_kl_gain(normal.pdf, normal.logpdf))
    assert not res and "normal data" in str(res), str(res)
    res = check.best_gain(_best_gain(np.sqrt(2) * sig))           # sigma taken as the Laplace scale
    assert not res and "Laplace scale" in str(res), str(res)
    law = stats.laplace(scale=sig / np.sqrt(2))
    tanh_root = optimize.brentq(lambda a: law.expect(lambda y: np.tanh(a * y) * a * y) - 1, 0.05, 5.0)
    res = check.best_gain(tanh_root)
    assert not res and "tanh squashing" in str(res), str(res)
    res = check.best_gain(1 / _best_gain())
    assert not res and "reciprocal" in str(res), str(res)


def test_the_gain_is_not_the_pages_normal_case_rescaled():
    """The page's Step 2 is for normal data: its curve's minimum for sigma_y = 2, rescaled to EX_SIGMA (a*
    depends on a sigma only), is a normal-data gain, about 9% off the Laplace one."""
    normal = stats.norm(scale=check.PAGE_SIGMA)
    a_page = _min_kl_gain(normal.pdf, normal.logpdf)
    assert not check.best_gain(a_page * check.PAGE_SIGMA / check.EX_SIGMA)
    assert abs(_best_gain() * check.EX_SIGMA / (a_page * check.PAGE_SIGMA) - 1) > 0.05


def test_step_2_minimum_solves_the_stationarity_condition():
    """The check the page's Step 2 had (moved here so the page leaves no solver before the exercise): the
    minimizer of the relative entropy for normal data with sigma_y = 2 is the root of E[tanh(aY/2) aY] = 1,
    computed by Gauss-Hermite quadrature."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    root = optimize.brentq(lambda a: np.sum(w * np.tanh(a * 2.0 * x / 2) * a * 2.0 * x) / np.sqrt(2 * np.pi) - 1,
                           0.1, 3.0)
    normal = stats.norm(scale=2.0)
    assert abs(root - _min_kl_gain(normal.pdf, normal.logpdf)) < 1e-6


def test_the_page_leaves_no_gain_solver_before_the_exercise():
    import json
    from pathlib import Path

    nb = json.loads(Path("chapters/ch09_learning_with_reparameterizations/9_0_1_duality.ipynb").read_text())
    before = []
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if ":label: ex-9-0-1-best-gain" in text:
            break
        before.append(text)
    page = "".join(before)
    assert "brentq" not in page and "stat = " not in page and "tanh(a * sigma_y" not in page
    assert "0.87" not in page


def _page_pz(z, a):
    """Step 2's density_z, which closes over the page's sigma_y."""
    x = special.logit(z)
    return stats.norm.pdf(x / a, scale=check.PAGE_SIGMA) / (stats.logistic.pdf(x) * a)


def test_the_pages_sigma_and_functions_answer_none_of_the_three():
    assert check.EX_SIGMA != check.PAGE_SIGMA
    assert not check.z_density(_page_pz(check.EX_Z, check.EX_A))
    f = lambda z: -_page_pz(z, check.EX_A) * np.log(_page_pz(z, check.EX_A))    # noqa: E731
    assert not check.kl_at_gain(-integrate.quad(f, 0, 1, limit=200)[0])
    assert not check.best_gain(1.75 / check.PAGE_SIGMA) and not check.best_gain(0.87)


def test_the_pages_logistic_formulas_with_the_exercises_sigma_answer_neither():
    """Copying Step 2's density_z / relative_entropy with sigma_y -> EX_SIGMA keeps the logistic psi."""
    res = check.z_density(_logistic_route_pz(check.EX_Z, check.EX_A))
    assert not res and "logistic" in str(res)
    f = lambda z: -_logistic_route_pz(z, check.EX_A) * np.log(_logistic_route_pz(z, check.EX_A))    # noqa: E731
    neg_h = -integrate.quad(f, 0, 1, limit=200)[0]
    g = lambda y: stats.norm.pdf(y, scale=check.EX_SIGMA) * (                                      # noqa: E731
        stats.norm.logpdf(y, scale=check.EX_SIGMA) - stats.logistic.logpdf(check.EX_A * y) - np.log(check.EX_A))
    kl_logistic = integrate.quad(g, -np.inf, np.inf)[0]
    assert abs(neg_h - kl_logistic) < 1e-6
    res = check.kl_at_gain(kl_logistic)
    assert not res and "logistic" in str(res)
    assert abs(kl_logistic - _kl_closed(check.EX_A)) > 0.05


def test_slip_messages_do_not_state_the_answer():
    ref = _pz(check.EX_Z, check.EX_A)
    res = check.z_density(ref * check.EX_A)
    assert "psi'(a y) |a|" not in str(res)
    res = check.kl_at_gain(-_neg_entropy_z(check.EX_A))
    assert not res and "negative" not in str(res)
    res = check.best_gain(1 / check.EX_SIGMA)
    assert not res and "prefers another scale" not in str(res)


def _log_density_solution(Y, d, jac_d, log_prior):
    """The notebook's solution: the factorial prior at d(y) plus the log of the Jacobian's absolute determinant."""
    return log_prior(d(Y)).sum(axis=1) + np.linalg.slogdet(jac_d(Y))[1]


def _log_density_numerical(Y, d, jac_d, log_prior):
    """Independently of the Jacobian handed in: the Jacobian of d by central differences, its determinant by
    a cofactor expansion."""
    def det(A):
        if A.shape[0] == 1:
            return A[0, 0]
        return sum((-1) ** j * A[0, j] * det(np.delete(A[1:], j, axis=1)) for j in range(A.shape[0]))

    N, K = Y.shape
    h = 1e-5
    out = np.zeros(N)
    for n in range(N):
        J = np.column_stack([(d(Y[n:n + 1] + h * e) - d(Y[n:n + 1] - h * e))[0] / (2 * h) for e in np.eye(K)])
        out[n] = np.sum(log_prior(d(Y[n:n + 1]))) + np.log(abs(det(J)))
    return out


def test_log_density_function_accepts_the_solution_and_a_numerical_jacobian():
    assert check.log_density_function(_log_density_solution)
    assert check.log_density_function(_log_density_numerical)
    assert check.log_density_function(lambda *a: list(_log_density_solution(*a)))


def test_the_solution_is_the_librarys_density_on_a_linear_map():
    """On d(y) = D y with the logistic prior, the notebook's solution is the library's ICA density."""
    from pedagogy_lib.nn import infomax as im

    rng = np.random.default_rng(3)
    D, Y = rng.normal(size=(3, 3)), rng.normal(size=(20, 3))
    ours = _log_density_solution(Y, lambda Y: Y @ D.T, lambda Y: np.broadcast_to(D, (len(Y), 3, 3)),
                                 lambda X: stats.logistic.logpdf(X))
    np.testing.assert_allclose(ours, im.log_density(D, Y), rtol=1e-12)


def _log_density_slip(logdet=1.0, prior_at_y=False, diagonal=False, absolute=True):
    def fn(Y, d, jac_d, log_prior):
        J = jac_d(Y)
        if diagonal:
            ld = np.log(np.abs(np.diagonal(J, axis1=1, axis2=2))).sum(axis=1)
        else:
            det = np.linalg.det(J)
            ld = np.log(np.abs(det) if absolute else det)
        return log_prior(Y if prior_at_y else d(Y)).sum(axis=1) + logdet * ld
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_log_density_slip(logdet=0.0), "left out the log-determinant"),
    (_log_density_slip(logdet=-1.0), "other direction"),
    (_log_density_slip(prior_at_y=True), "prior at y itself"),
    (_log_density_slip(diagonal=True), "only when it is triangular"),
    (_log_density_slip(absolute=False), "logarithm of a negative determinant"),
    (lambda *a: np.exp(_log_density_solution(*a)), "exponential of the answer"),
    (lambda *a: None, "forget to return"),
    (lambda Y, d, jac_d, log_prior: d(Y, Y), "raised TypeError"),
])
def test_log_density_function_names_the_slips(wrong, fragment):
    res = check.log_density_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_log_density_function_refuses_a_non_function_reaches_the_edges_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.log_density_function(np.eye(2)))
    msg = str(check.log_density_function(lambda *a: _log_density_solution(*a) + 0.01))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg.replace("(Eq. 9.3)", "")), msg
    # right except in one dimension (problem 2), and except for a single datum (problem 5)
    msg = str(check.log_density_function(lambda Y, *a: _log_density_solution(Y, *a) + (Y.shape[1] == 1)))
    assert "test problem 2 (N = 9, K = 1)" in msg, msg
    msg = str(check.log_density_function(lambda Y, *a: _log_density_solution(Y, *a) if len(Y) > 1 else None))
    assert "test problem 5 (N = 1, K = 3)" in msg, msg
