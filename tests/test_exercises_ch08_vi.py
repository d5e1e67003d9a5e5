"""Tests for the Section 8.4 exercise checkers (pedagogy_lib.exercises.ch08_vi): correct answers
computed here by minimizing the KL divergences numerically, or by iterating CAVI, and known slips."""
import numpy as np
import pytest
from scipy.optimize import minimize

from pedagogy_lib.exercises import ch08_vi as check
from pedagogy_lib.vi.mean_field import cavi_gaussian, kl_gaussian


def _argmin_variances(kl):
    z = minimize(kl, np.zeros(3), method="BFGS", options={"gtol": 1e-11}).x
    return np.exp(z)


def _minimum(kl):
    res = minimize(kl, np.zeros(3), method="BFGS", options={"gtol": 1e-11})
    return float(res.fun)


def test_mean_field_kl_is_the_minimum_of_the_reverse_divergence():
    Sigma = np.linalg.inv(check.EX_LAMBDA)
    best = _minimum(lambda z: kl_gaussian(np.zeros(3), np.diag(np.exp(z)), np.zeros(3), Sigma))
    assert best > 1e-3                                # EX_LAMBDA is correlated: not zero
    assert check.mean_field_kl(best)
    r = check.mean_field_kl(kl_gaussian(np.zeros(3), np.diag(np.diag(Sigma)), np.zeros(3), Sigma))
    assert not r and "other direction" in str(r)
    r = check.mean_field_kl(2 * best)
    assert not r and "1/2" in str(r)
    assert not check.mean_field_kl(None)
    assert "variances" not in check.mean_field_kl.__doc__.split("\n\n")[0]


def test_forward_kl_minimum_is_the_minimum_of_the_forward_divergence():
    S = check.EX_SIGMA
    best = _minimum(lambda z: kl_gaussian(np.zeros(3), S, np.zeros(3), np.diag(np.exp(z))))
    assert check.forward_kl_minimum(best)
    mf_v = 1 / np.diag(np.linalg.inv(S))
    r = check.forward_kl_minimum(kl_gaussian(np.zeros(3), S, np.zeros(3), np.diag(mf_v)))
    assert not r and "mean-field" in str(r)
    assert not check.forward_kl_minimum(np.diag(S).sum())


def test_the_two_divergence_exercises_forbid_the_library_routes():
    for label, fn in (("ex-8-4-mean-field", "mean_field_gaussian"), ("ex-8-4-forward-kl", "moment_matched_gaussian")):
        forbidden = check.SUMMATIVE[label]["forbidden"]
        assert f"pedagogy_lib.vi.mean_field.{fn}" in forbidden
        assert "pedagogy_lib.vi.mean_field.kl_gaussian" in forbidden


def test_cavi_sweeps():
    rho = check.EX_RHO
    Lam = np.linalg.inv(np.array([[1.0, rho], [rho, 1.0]]))
    path = cavi_gaussian(np.zeros(2), Lam, np.array([1.0, 1.0]), 200)
    err = np.abs(path[2::2, 1])                       # after sweeps 1, 2, ...
    k = int(np.argmax(err <= 1e-6 * err[0]))          # sweeps after the first until 1e-6 of it
    assert check.cavi_sweeps(k)
    assert check.cavi_sweeps(float(k))
    r = check.cavi_sweeps(int(np.ceil(np.log(1e-6) / np.log(rho))))
    assert not r and "factor rho per sweep" in str(r)
    assert not check.cavi_sweeps(k - 1)
    assert not check.cavi_sweeps(3.5)
    r = check.cavi_sweeps(7)                          # the fallback names no inequality to solve
    assert not r and "rho^" not in str(r) and "<=" not in str(r)


# ---------------------------------------------------------------- exercise (d): one CAVI sweep as a function
def _sweep_by_minimizing(mu, Lam, m):
    """Independent of the update formula: each coordinate in turn set to the minimizer of the KL divergence
    D_KL{q || p} over its mean (the other means held), by a one-dimensional numerical minimization."""
    from scipy.optimize import minimize_scalar

    m = np.array(m, dtype=float)
    for j in range(mu.size):
        def kl_in_mj(t, j=j):
            x = m.copy()
            x[j] = t
            return kl_gaussian(x, np.diag(1 / np.diag(Lam)), mu, np.linalg.inv(Lam))
        m[j] = minimize_scalar(kl_in_mj, bracket=(m[j] - 1, m[j] + 1), tol=1e-12).x
    return m


def _sweep(mu, Lam, m):
    m = np.array(m, dtype=float)
    for j in range(mu.size):
        others = np.arange(mu.size) != j
        m[j] = mu[j] - Lam[j, others] @ (m[others] - mu[others]) / Lam[j, j]
    return m


def test_cavi_sweep_reference_and_library_pass_and_agree_with_minimizing_the_kl():
    assert check.cavi_sweep(_sweep)
    assert check.cavi_sweep(lambda mu, Lam, m: cavi_gaussian(mu, Lam, m, n_sweeps=1)[-1])
    for _, mu, Lam, m in vars(check)["_sweep_cases"]():
        np.testing.assert_allclose(_sweep_by_minimizing(mu, Lam, m), _sweep(mu, Lam, m), rtol=1e-5, atol=1e-6)


def _own_term(mu, Lam, m):
    m = np.array(m, dtype=float)
    for j in range(mu.size):
        m[j] = mu[j] - Lam[j] @ (m - mu) / Lam[j, j]
    return m


def _plus(mu, Lam, m):
    m = np.array(m, dtype=float)
    for j in range(mu.size):
        others = np.arange(mu.size) != j
        m[j] = mu[j] + Lam[j, others] @ (m[others] - mu[others]) / Lam[j, j]
    return m


@pytest.mark.parametrize("wrong,fragment", [
    (lambda mu, Lam, m: mu - (Lam - np.diag(np.diag(Lam))) @ (m - mu) / np.diag(Lam), "every coordinate at once"),
    (_own_term, "term k = j"),
    (_plus, "added the correction"),
    (lambda mu, Lam, m: _sweep(mu[::-1], Lam[::-1, ::-1], m[::-1])[::-1], "last to first"),
    (lambda mu, Lam, m: mu, "fixed point mu"),
    (lambda mu, Lam, m: None, "None"),
    (lambda mu, Lam, m: 1 / 0, "ZeroDivisionError"),
])
def test_cavi_sweep_names_the_slips(wrong, fragment):
    res = check.cavi_sweep(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_cavi_sweep_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.cavi_sweep("m"))
    msg = str(check.cavi_sweep(lambda mu, Lam, m: _sweep(mu, Lam, m) + 0.01))
    assert "test problem 1" in msg and "not within tolerance" in msg, msg
    assert not re.search(r"[0-9]\.[0-9]", msg.replace("correlation 0.9", "")), msg
