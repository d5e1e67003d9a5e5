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


# --- ex-8-4-2-advi-gradient ---------------------------------------------------------------------------------------


def _advi_by_differences(grad_log_p, transforms, m, log_s, eps, h=1e-6):
    """The same ELBO estimate differentiated numerically: log p_zeta is integrated from its gradient along the
    path zeta(lambda) = m + exp(log s) eps (one-dimensional quadrature of d/dt), the log-Jacobian written as a log
    density (zeta for "log", log sigma(zeta) + log(1 - sigma(zeta)) for "logit"), plus sum(log s)."""
    def elbo(lam):
        D = len(m)
        mm, ls = lam[:D], lam[D:]
        z = mm + np.exp(ls) * eps
        z0 = m + np.exp(log_s) * eps
        t = np.linspace(0.0, 1.0, 9)                       # Simpson along the straight path z0 -> z
        vals = []
        for tt in t:
            zz = z0 + tt * (z - z0)
            th = np.where(np.array(transforms) == "log", np.exp(zz), 1 / (1 + np.exp(-zz)))
            dth = np.where(np.array(transforms) == "log", th, th * (1 - th))
            vals.append(np.sum(grad_log_p(th) * dth * (z - z0), axis=1))
        from scipy.integrate import simpson
        log_p = simpson(np.array(vals), x=t, axis=0)
        log_J = np.where(np.array(transforms) == "log", z, -np.logaddexp(0, -z) - np.logaddexp(0, z)).sum(axis=1)
        return np.mean(log_p + log_J) + np.sum(ls)

    lam = np.concatenate([m, log_s])
    return np.array([(elbo(lam + h * e) - elbo(lam - h * e)) / (2 * h) for e in np.eye(len(lam))])


def test_advi_gradient_reference_is_the_librarys_pathwise_terms_and_central_differences():
    from pedagogy_lib.exercises.references import ch08_bbvi as refs
    from pedagogy_lib.vi import GaussianVIParams, reparam_terms, unconstrained_target
    for _, (g, transforms, m, log_s, eps) in check._advi_cases():
        ref = refs.advi_gradient(g, transforms, m, log_s, eps)
        target = unconstrained_target(lambda th: (np.zeros(len(th)), g(th)), transforms)
        np.testing.assert_allclose(ref, reparam_terms(target, GaussianVIParams(m, log_s), eps).mean(axis=0),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ref, _advi_by_differences(g, transforms, m, log_s, eps), rtol=1e-5, atol=1e-6)


def test_advi_gradient_accepts_the_library_route_and_rejects_a_stub():
    from pedagogy_lib.vi import GaussianVIParams, reparam_terms, unconstrained_target

    def via_library(g, transforms, m, log_s, eps):
        target = unconstrained_target(lambda th: (np.zeros(len(th)), g(th)), transforms)
        return reparam_terms(target, GaussianVIParams(m, log_s), eps).mean(axis=0)

    assert check.advi_gradient(via_library)
    assert not check.advi_gradient(lambda g, transforms, m, log_s, eps: None)
    r = check.advi_gradient(lambda g, transforms, m, log_s, eps: np.zeros(len(m)))
    assert not r


def test_advi_gradient_names_a_forgotten_log_jacobian():
    def no_jacobian(g, transforms, m, log_s, eps):
        # the chain rule through theta = T^{-1}(zeta), the slope of log|J| left out
        s = np.exp(log_s)
        z = m + s * eps
        th = np.where(np.array(transforms) == "log", np.exp(z), 1 / (1 + np.exp(-z)))
        dth = np.where(np.array(transforms) == "log", th, th * (1 - th))
        f = g(th) * dth
        return np.concatenate([f.mean(axis=0), (f * eps * s).mean(axis=0) + 1])

    r = check.advi_gradient(no_jacobian)
    assert not r and "log-Jacobian" in str(r)
