"""Tests for the Section 8.2.1 exercise checkers (pedagogy_lib.exercises.ch08_estimators): references by
Gauss-Hermite and Gauss-Laguerre quadrature."""
import numpy as np
import pytest

from pedagogy_lib.exercises import ch08_estimators as check
from graded_routes import assert_refused_when_graded


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

_ROUTE_IMPORTS = 'from pedagogy_lib.exercises import ch08_estimators as check\nimport numpy as np\nfrom pedagogy_lib.deepgen import estimators as est\n'
_ONE_CALL_ROUTES = {
    'ex-8-2-1-slope': ('variance_slope', 'slope', 'slope = est.shared_mean_variances(check.EX_MU, 11)[0] - est.shared_mean_variances(check.EX_MU, 10)[0]\n'),
    'ex-8-2-1-baseline': ('best_baseline', 'beta', 'beta = est.optimal_baseline(check.EX_MU, check.EX_K)\n'),
    'ex-8-2-1-expo': ('expo_pathwise_variance', 'v', 'v = est.expo_variances(check.EX_LAM)[1]\n'),
}


@pytest.mark.parametrize("label", sorted(_ONE_CALL_ROUTES))
def test_one_call_routes_are_refused_when_graded(label):
    """Each route that hands back this exercise's answer in one or two library calls is named by the
    statement and raises in the graded student process."""
    checker_name, name, code = _ONE_CALL_ROUTES[label]
    assert_refused_when_graded(check, label, checker_name, name, _ROUTE_IMPORTS, code)


# --- quadrature in place of the moments ---

# the variance at K = 3 minus that at K = 2 (it is linear in K), or the page's beta* = E[s^2 f] / E[s^2], by
# Gauss-Legendre nodes on [-14, 14] or the trapezoid rule, weighted by the normal density: no moment derived
_LEGENDRE = ("x, w = np.polynomial.legendre.leggauss(120)\nx = 14 * x\n"
             "w = 14 * w * np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)\n")
_TRAPEZOID = ("x = np.linspace(-14, 14, 281)\nphi = np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)\n"
              "w = np.trapezoid(np.eye(len(x)) * phi, x, axis=1)\n")
_SLOPE = ("mu = check.EX_MU\nZ1, Z2, R = np.meshgrid(x, x, x, indexing='ij')\n"
          "W = w[:, None, None] * w[None, :, None] * w[None, None, :]\n"
          "def var(K):\n    g = (Z1 + Z2 + np.sqrt(K - 2) * R) * ((mu + Z1) ** 2 + (mu + Z2) ** 2)\n"
          "    return np.sum(W * g**2) - np.sum(W * g) ** 2\nslope = var(3) - var(2)\n")
_BASELINE = ("mu, K = check.EX_MU, check.EX_K\nZ1, R = np.meshgrid(x, x, indexing='ij')\nW = np.outer(w, w)\n"
             "s = Z1 + np.sqrt(K - 1) * R\nbeta = np.sum(W * s**2 * (mu + Z1)**2) / np.sum(W * s**2)\n")


@pytest.mark.parametrize("rule", [_LEGENDRE, _TRAPEZOID])
@pytest.mark.parametrize("label,checker_name,name,code", [
    ("ex-8-2-1-slope", "variance_slope", "slope", _SLOPE),
    ("ex-8-2-1-baseline", "best_baseline", "beta", _BASELINE),
])
def test_quadrature_routes_are_refused_when_graded(rule, label, checker_name, name, code):
    """Without the quadrature rules' stubs these answers pass (the reference answers below agree with them);
    graded, each rule is ruled out by the statement."""
    ns = {"np": np, "check": check}
    exec(rule + code, ns)
    assert (check.variance_slope if name == "slope" else check.best_baseline)(ns[name])
    assert_refused_when_graded(check, label, checker_name, name, _ROUTE_IMPORTS, rule + code)


def test_expo_by_laguerre_nodes_and_np_gradient_is_refused_when_graded():
    """The pathwise estimate by differences in lambda at Gauss-Laguerre nodes of the exponential noise, and
    its variance as a weighted sum over them: it passes ungraded and is refused graded."""
    code = ("lam = check.EX_LAM\nt, w = np.polynomial.laguerre.laggauss(8)\nh = 1e-5 * lam\n"
            "g = np.gradient(np.array([(t / (lam - h)) ** 3, (t / lam) ** 3, (t / (lam + h)) ** 3]), h, axis=0)[1]\n"
            "v = np.sum(w * g**2) - np.sum(w * g) ** 2\n")
    ns = {"np": np, "check": check}
    exec(code, ns)
    assert check.expo_pathwise_variance(ns["v"])
    assert_refused_when_graded(check, "ex-8-2-1-expo", "expo_pathwise_variance", "v", _ROUTE_IMPORTS, code)


# --- the noncentral chi-square's moments read off in one call ---

# the slope is E[f^2] for f = x_1^2 + x_2^2, a noncentral chi-square with two degrees of freedom and
# noncentrality 2 mu^2: 8 L_2(-mu^2) by SciPy's Laguerre polynomial, or twice the t^2 coefficient of its moment
# generating function, read as a divided difference by funm on a shift matrix plus small nodes
_SLOPE_BY_MOMENTS = {
    "laguerre": "import scipy.special as sp\nslope = 8 * sp.eval_laguerre(2, -check.EX_MU**2)\n",
    # NumPy's Laguerre series, as a function and as a class: the same 8 L_2(-mu^2)
    "numpy laguerre series": "slope = float(np.polynomial.laguerre.lagval(-check.EX_MU**2, [0, 0, 8]))\n",
    "numpy Laguerre class": "slope = float(np.polynomial.Laguerre([0, 0, 8])(-check.EX_MU**2))\n",
    "funm": ("import scipy.linalg as sl\nm2 = check.EX_MU**2\n"
             "A = np.diag(3e-4 * np.exp(2j * np.pi * np.arange(3) / 3)) + np.diag(np.ones(2), 1)\n"
             "F = sl.funm(A, lambda t: np.exp(2 * m2 * t / (1 - 2 * t)) / (1 - 2 * t))\n"
             "slope = float(2 * F[0, 2].real)\n"),
}


@pytest.mark.parametrize("route", sorted(_SLOPE_BY_MOMENTS))
def test_slope_by_noncentral_chi_square_moments_is_refused_when_graded(route):
    """Each route passes the checker ungraded and is refused graded."""
    code = _SLOPE_BY_MOMENTS[route]
    ns = {"np": np, "check": check}
    exec(code, ns)
    assert check.variance_slope(ns["slope"])
    assert_refused_when_graded(check, "ex-8-2-1-slope", "variance_slope", "slope", _ROUTE_IMPORTS, code)
