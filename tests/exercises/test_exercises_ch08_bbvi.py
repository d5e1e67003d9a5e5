"""Tests for the Section 8.4.2 exercise checkers (pedagogy_lib.exercises.ch08_bbvi): the variance by
quadrature of Gaussian moments, the coefficient by least squares, the optimum by a grid search."""
import numpy as np
import pytest

from pedagogy_lib.exercises import ch08_bbvi as check


def test_sf_variance():
    mu = check.EX_MU
    z, w = np.polynomial.hermite_e.hermegauss(40)       # E over N(0, 1) by Gauss-Hermite
    w = w / w.sum()
    v = (z + mu - mu) * (z + mu) ** 2
    var = float(w @ v ** 2 - (w @ v) ** 2)
    assert check.sf_variance(var)
    r = check.sf_variance(float(w @ v ** 2))
    assert not r and "second moment" in str(r)
    assert not check.sf_variance(4.0)


def test_cv_coefficient_is_the_joint_regression_on_both_control_variates():
    g, H = check.EX_SAMPLES
    X = np.column_stack([np.ones(len(g)), H])
    a = np.linalg.lstsq(X, g, rcond=None)[0][1:]           # regression on both columns at once
    from scipy.optimize import minimize
    best = minimize(lambda b: np.var(g - H @ b), np.zeros(2), method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(best, a, rtol=1e-4)
    assert check.cv_coefficient(a)
    Hc, gc = H - H.mean(0), g - g.mean()
    one_by_one = (Hc.T @ gc) / np.sum(Hc * Hc, axis=0)     # Step 3's scalar formula per column
    assert not np.allclose(one_by_one, a, rtol=1e-2)
    r = check.cv_coefficient(one_by_one)
    assert not r and "on its own" in str(r)
    assert not check.cv_coefficient(float(a[0]))
    assert "pedagogy_lib.vi.bbvi.control_variate" in check.SUMMATIVE["ex-8-4-2-cv"]["forbidden"]


def test_sf_variance_second_moment_message_gives_no_number():
    r = check.sf_variance(check.EX_MU ** 4 + 18 * check.EX_MU ** 2 + 15)
    assert not r and "second moment" in str(r) and "(2 mu)^2" not in str(r)


def test_naive_optimum():
    from scipy.optimize import minimize_scalar
    best = minimize_scalar(lambda l: -(check.EX_X * l ** 2 + np.log(l)), bounds=(0.01, 3), method="bounded",
                           options={"xatol": 1e-10}).x
    assert check.naive_optimum(best)
    assert check.naive_optimum(0.5 * (1 - 2e-6))            # a default-tolerance numerical optimum
    assert not check.naive_optimum(0.5 * (1 - 1e-4))
    r = check.naive_optimum(0.25)
    assert not r and "not lambda* itself" in str(r) and "^2" not in str(r) and "short" not in str(r)
    assert not check.naive_optimum(-0.5)


# ---------------------------------------------------------------- exercise (d): the score-function gradient
def _by_differentiating_log_q(log_p, m, log_s, eps):
    """Independent of the score's closed form: log q from scipy's normal density at the samples, and its
    derivatives in m and log s (the samples held fixed) by central differences."""
    from scipy import stats

    x = m + np.exp(log_s) * eps

    def log_q(mm, ls):
        return stats.norm.logpdf(x, mm, np.exp(ls)).sum(axis=1)

    h, D = [], m.size
    for block in range(2):
        for d in range(D):
            u = np.zeros(D)
            u[d] = 1e-6
            lo = log_q(m - u, log_s) if block == 0 else log_q(m, log_s - u)
            hi = log_q(m + u, log_s) if block == 0 else log_q(m, log_s + u)
            h.append((hi - lo) / 2e-6)
    h = np.stack(h, axis=1)
    return np.mean(h * (log_p(x) - log_q(m, log_s))[:, None], axis=0)


def _reference(log_p, m, log_s, eps):
    s = np.exp(log_s)
    log_q = np.sum(-0.5 * eps ** 2 - log_s - 0.5 * np.log(2 * np.pi), axis=1)
    h = np.hstack([eps / s, eps ** 2 - 1])
    return np.mean(h * (log_p(m + s * eps) - log_q)[:, None], axis=0)


def test_sf_gradient_reference_and_library_pass():
    from pedagogy_lib import samplers as smp
    from pedagogy_lib.vi import bbvi

    def with_library(log_p, m, log_s, eps):
        target = smp.python_target(lambda x: (log_p(x), np.zeros_like(x)), D=m.size)
        return bbvi.score_function_terms(target, bbvi.GaussianVIParams(m, log_s), eps)[0].mean(axis=0)

    assert check.sf_gradient(_reference)
    assert check.sf_gradient(with_library)


def test_sf_gradient_agrees_with_differentiating_log_q_numerically():
    for _, log_p, m, log_s, eps in vars(check)["_target_cases"]():
        np.testing.assert_allclose(_by_differentiating_log_q(log_p, m, log_s, eps), _reference(log_p, m, log_s, eps),
                                   rtol=1e-6, atol=1e-6)


def _variant(score_m=None, score_log_s=None, const=True, use_log_q=True):
    def fn(log_p, m, log_s, eps):
        s = np.exp(log_s)
        log_q = np.sum(-0.5 * eps ** 2 - log_s - (0.5 * np.log(2 * np.pi) if const else 0.0), axis=1)
        h_m = eps / s if score_m is None else score_m(eps, s)
        h_ls = eps ** 2 - 1 if score_log_s is None else score_log_s(eps, s)
        w = log_p(m + s * eps) - (log_q if use_log_q else 0.0)
        return np.mean(np.hstack([h_m, h_ls]) * w[:, None], axis=0)
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_variant(score_log_s=lambda e, s: e ** 2), "misses a term"),
    (_variant(score_m=lambda e, s: e), "score with respect to m by s"),
    (_variant(score_log_s=lambda e, s: (e ** 2 - 1) / s), "with respect to s instead of log s"),
    (_variant(use_log_q=False), "left log q out"),
    (_variant(const=False), "normalizing constant"),
    (lambda log_p, m, log_s, eps: None, "None"),
    (lambda log_p, m, log_s, eps: 1 / 0, "ZeroDivisionError"),
])
def test_sf_gradient_names_the_slips(wrong, fragment):
    res = check.sf_gradient(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_sf_gradient_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.sf_gradient([1.0, 2.0]))
    msg = str(check.sf_gradient(lambda log_p, m, log_s, eps: _reference(log_p, m, log_s, eps) + 0.01))
    assert "test problem 1" in msg and "not within tolerance" in msg, msg
    assert not re.search(r"[0-9]\.[0-9]", msg), msg


def test_sf_variance_by_legendre_nodes_is_refused_when_graded():
    """E[g^2] - E[g]^2 for g = eps (mu + eps)^2 as a weighted sum over Gauss-Legendre nodes on [-14, 14],
    weighted by the normal density: no moment worked out. It passes ungraded and is refused graded."""
    from graded_routes import assert_refused_when_graded

    code = ("t, w = np.polynomial.legendre.leggauss(150)\nt, w = 14 * t, 14 * w\n"
            "w = w * np.exp(-t**2 / 2) / np.sqrt(2 * np.pi)\nmu = check.EX_MU\ng = t * (mu + t) ** 2\n"
            "v = np.sum(w * g**2) - np.sum(w * g) ** 2\n")
    ns = {"np": np, "check": check}
    exec(code, ns)
    assert check.sf_variance(ns["v"])
    assert_refused_when_graded(check, "ex-8-4-2-sf-variance", "sf_variance", "v",
                               "from pedagogy_lib.exercises import ch08_bbvi as check\nimport numpy as np\n", code)


_CV_FACTORIZATIONS = [
    "Q, R = np.linalg.qr(Hc)\nmy_a = np.linalg.solve(R, Q.T @ gc)\n",
    "R = np.linalg.qr(np.column_stack([Hc, gc]), mode='r')\nmy_a = np.linalg.solve(R[:2, :2], R[:2, 2])\n",
    "U, s, Vt = np.linalg.svd(Hc, full_matrices=False)\nmy_a = Vt.T @ ((U.T @ gc) / s)\n",
    "Q, R = sl.qr(Hc, mode='economic')\nmy_a = sl.solve_triangular(R, Q.T @ gc)\n",
    "R, Q = sl.rq(Hc.T, mode='economic')\nmy_a = np.linalg.solve(R.T, Q @ gc)\n",
    "cq, R = sl.qr_multiply(Hc, gc, mode='right')\nmy_a = sl.solve_triangular(R, cq)\n",
    "U, s, Vt = sl.svd(Hc, full_matrices=False)\nmy_a = Vt.T @ ((U.T @ gc) / s)\n",
    "u, p = sl.polar(Hc)\nmy_a = np.linalg.solve(p, u.T @ gc)\n",
    "Q = sl.orth(Hc)\nmy_a = np.linalg.solve(Q.T @ Hc, Q.T @ gc)\n",
    "U, S, V = sli.svd(Hc, 2)\nmy_a = V @ ((U.T @ gc) / S)\n",
    "Q, R = sl.qr_insert(np.eye(len(gc)), np.zeros((len(gc), 0)), Hc[:, 0], 0, which='col')\n"
    "Q, R = sl.qr_insert(Q, R, Hc[:, 1], 1, which='col')\nmy_a = sl.solve_triangular(R[:2], (Q.T @ gc)[:2])\n",
    "Q, R = sl.qr_update(np.eye(len(gc)), np.zeros((len(gc), 2)), Hc[:, 0], np.array([1.0, 0.0]))\n"
    "Q, R = sl.qr_update(Q, R, Hc[:, 1], np.array([0.0, 1.0]))\nmy_a = sl.solve_triangular(R[:2], (Q.T @ gc)[:2])\n",
    # the generalized Schur form of the pencil (0, B) with B = [Hc, gc, filler] square: its triangular factor of
    # B, times Z^T (a diagonal of signs), is B's QR factor R
    "n = len(gc)\nB = np.column_stack([Hc, gc, np.cos(np.outer(np.arange(n), np.arange(1, n - 2)))])\n"
    "_, T, _, Z = sl.qz(np.zeros((n, n)), B)\nR = T @ Z.T\nmy_a = np.linalg.solve(R[:2, :2], R[:2, 2])\n",
    "n = len(gc)\nB = np.column_stack([Hc, gc, np.cos(np.outer(np.arange(n), np.arange(1, n - 2)))])\n"
    "_, T, _, _, _, Z = sl.ordqz(np.zeros((n, n)), B)\nR = T @ Z.T\nmy_a = np.linalg.solve(R[:2, :2], R[:2, 2])\n",
]


@pytest.mark.parametrize("route", _CV_FACTORIZATIONS)
def test_cv_coefficient_by_an_orthogonal_factorization_is_refused_when_graded(route):
    """With lstsq and pinv ruled out, the least squares of the centred g on the centred H solved through an
    orthogonal factorization of H (NumPy's or SciPy's QR, SciPy's RQ or qr_multiply, an SVD, the polar
    factor, an orthonormal basis of the columns, the interpolative SVD, SciPy's QR updates building the
    factor column by column, or the QZ decomposition of the pencil (0, [Hc, gc, filler])) gave the coefficients without the normal equations being derived. Each passes
    ungraded and is refused graded."""
    import scipy.linalg as sl
    from scipy.linalg import interpolative as sli

    from graded_routes import assert_refused_when_graded

    code = "g, H = check.EX_SAMPLES\nHc, gc = H - H.mean(0), g - g.mean()\n" + route
    ns = {"np": np, "sl": sl, "sli": sli, "check": check}
    exec(code, ns)
    assert check.cv_coefficient(ns["my_a"])
    imports = ("import numpy as np\nimport scipy.linalg as sl\nfrom scipy.linalg import interpolative as sli\n"
               "from pedagogy_lib.exercises import ch08_bbvi as check\n")
    assert_refused_when_graded(check, "ex-8-4-2-cv", "cv_coefficient", "my_a", imports, code)


@pytest.mark.parametrize("moments", [
    # the exponential of the nilpotent shift N holds the coefficients of exp(mu t + t^2 / 2) in its first row
    "N = np.eye(7, k=1)\nc = sl.expm(mu * N + N @ N / 2)[0]\n",
    # the same coefficients from the generating function's values on a circle of radius r
    "r, n = 0.5, 32\nt = r * np.exp(2j * np.pi * np.arange(n) / n)\n"
    "c = (np.fft.fft(np.exp(mu * t + t**2 / 2)) / n).real[:7] / r ** np.arange(7)\n",
])
def test_sf_variance_by_the_moment_generating_function_passes_and_is_refused_when_graded(moments):
    """The raw moments E[z^k] = k! [t^k] exp(mu t + t^2 / 2) of z ~ N(mu, 1), read off the moment generating
    function by the exponential of a nilpotent shift or by a discrete Fourier transform, give the variance
    E[z^6] - 2 mu E[z^5] + mu^2 E[z^4] - 4 mu^2 without the estimator being expanded against the moments of
    epsilon (the route DA 2 ruled out). Each passes ungraded and is refused graded."""
    from graded_routes import assert_passes_then_refused

    imports = ("import math\nimport numpy as np\nimport scipy.linalg as sl\n"
               "from pedagogy_lib.exercises import ch08_bbvi as check\n")
    code = ("mu = check.EX_MU\n" + moments
            + "m = [math.factorial(k) * c[k] for k in range(7)]\n"
            "my_var = m[6] - 2 * mu * m[5] + mu**2 * m[4] - 4 * mu**2\n")
    assert_passes_then_refused(check, "ex-8-4-2-sf-variance", "sf_variance", ["my_var"], imports, code)


@pytest.mark.parametrize("moments", [
    # He_2n(x) = (-2)^n n! L_n^(-1/2)(x^2 / 2) and He_2n+1(x) = (-2)^n n! x L_n^(1/2)(x^2 / 2), at x = i mu, through
    # assoc_laguerre, the generalized Laguerre polynomial under another name
    "x = -mu**2 / 2\nm = {4: 8 * sp.assoc_laguerre(x, 2, -0.5), 5: 8 * mu * sp.assoc_laguerre(x, 2, 0.5),\n"
    "     6: 48 * sp.assoc_laguerre(x, 3, -0.5)}\n",
    # the parabolic cylinder functions D_0 ... D_6 at i mu, all returned by one call of pbdn_seq
    "D, _ = sp.pbdn_seq(6, 1j * mu)\nm = [((-1j) ** k * np.exp(mu**2 / 4) * D[k]).real for k in range(7)]\n",
])
def test_sf_variance_by_a_hermite_polynomial_under_another_name_is_refused_when_graded(moments):
    """The noncentral moments E[z^k] = (-i)^k He_k(i mu) of z ~ N(mu, 1) came out of scipy.special functions the
    list of Hermite polynomials in disguise did not yet name: assoc_laguerre (eval_genlaguerre with its arguments
    reordered) and pbdn_seq (the parabolic cylinder functions of a complex argument). Each passes ungraded and is
    refused graded."""
    from graded_routes import assert_passes_then_refused

    imports = ("import numpy as np\nimport scipy.special as sp\n"
               "from pedagogy_lib.exercises import ch08_bbvi as check\n")
    code = ("mu = check.EX_MU\n" + moments
            + "my_var = m[6] - 2 * mu * m[5] + mu**2 * m[4] - 4 * mu**2\n")
    assert_passes_then_refused(check, "ex-8-4-2-sf-variance", "sf_variance", ["my_var"], imports, code)
