"""Tests for the Section 8.4 exercise checkers (pedagogy_lib.exercises.ch08_vi): correct answers
computed here by minimizing the KL divergences numerically, or by iterating CAVI, and known slips."""
import numpy as np
import pytest
from scipy.optimize import minimize

from pedagogy_lib.exercises import ch08_vi as check
from pedagogy_lib.exercises.references import ch08_vi as refs
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


def _parallel_errors(Lam, e0, n):
    """Independently of the update formula: the error of the means after each of n parallel updates, each
    factor's mean set to the target's conditional mean of its coordinate given the other at its previous
    mean, mu_j + Sigma_jk / Sigma_kk (m_k - mu_k), from the covariance Sigma = Lambda^-1."""
    S = np.linalg.inv(Lam)
    e, out = np.array(e0, float), []
    for _ in range(n):
        e = np.array([S[0, 1] / S[1, 1] * e[1], S[1, 0] / S[0, 0] * e[0]])
        out.append(e)
    return np.array(out)


def _parallel_count(Lam):
    """The smallest number of parallel updates after which the error vector is at most 1e-6 of its start for
    several starts, the count being even (after an even count every start is shrunk by the same number)."""
    starts = [(1.0, 0.0), (0.0, 1.0), (0.3, -2.0), (-1.5, 0.7)]
    ratios = np.array([np.linalg.norm(_parallel_errors(Lam, e0, 400), axis=1) / np.linalg.norm(e0)
                       for e0 in starts])
    even = ratios[:, 1::2]                            # after 2, 4, ... updates
    np.testing.assert_allclose(even, even[:1].repeat(len(starts), axis=0), rtol=1e-8)
    return 2 * (int(np.argmax(even[0] <= 1e-6)) + 1)


def test_cavi_sweeps_counts_parallel_updates():
    Lam = check.EX_LAMBDA2
    assert Lam[0, 0] != Lam[1, 1]
    k = _parallel_count(Lam)
    assert check.cavi_sweeps(k)
    assert check.cavi_sweeps(float(k))
    rho = abs(Lam[0, 1]) / np.sqrt(Lam[0, 0] * Lam[1, 1])
    for wrong, fragment in [(k // 2, "counts as one update"), (k - 2, "rounded the wrong way"),
                            (2 * int(np.ceil(np.log(1e-6) / np.log(0.81))), "page's correlation"),
                            (2 * int(np.ceil(np.log(1e-6) / np.log(rho))), "not squared"),
                            (2 * int(np.ceil(np.log(1e-6) / np.log(Lam[0, 1] ** 2 / Lam[0, 0] ** 2))),
                             "same diagonal entry"),
                            (k - 1, "odd count"), (k + 1, "odd count")]:
        r = check.cavi_sweeps(wrong)
        assert not r and fragment in str(r), (wrong, str(r))
    assert not check.cavi_sweeps(3.5)
    r = check.cavi_sweeps(12)                         # the fallback names no formula
    assert not r and "rho" not in str(r) and "<=" not in str(r)


def test_cavi_sweeps_draws_are_counted_alike():
    rng = np.random.default_rng(3)
    draw = check.cavi_sweeps.__globals__["_draw_lambda2"]
    for _ in range(20):
        Lam = draw(rng)
        assert np.all(np.linalg.eigvalsh(Lam) > 0) and Lam[0, 0] != Lam[1, 1]
        k = _parallel_count(Lam)
        assert refs.pairs(Lam) * 2 <= k
        with pytest.MonkeyPatch.context() as mp:
            mp.setitem(check.cavi_sweeps.__globals__, "EX_LAMBDA2", Lam)
            assert check.cavi_sweeps(k)


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


def test_the_count_of_parallel_updates_is_even_for_every_students_draw():
    """The statement says the count is even. It is when the off-diagonal entry is at least the smaller
    diagonal one; otherwise an odd count can already shrink every error a million times (a reader's
    [[2.233, 1.297], [1.297, 2.557]] needs 23). Checked by brute force: the smallest n with
    ||M^n||_2 <= 1e-6 for the parallel update M, over many students' draws and the book's matrix."""
    from courseware import grading
    mats = [check.EX_LAMBDA2] + [grading.own_copy(check, salt).EX_LAMBDA2 for salt in range(1, 41)]
    for Lam in mats:
        M = np.array([[0.0, -Lam[0, 1] / Lam[0, 0]], [-Lam[0, 1] / Lam[1, 1], 0.0]])
        n, P = 0, np.eye(2)
        while np.linalg.norm(P, 2) > 1e-6:
            P, n = M @ P, n + 1
        assert n % 2 == 0, (Lam, n)
    reader = np.array([[2.233, 1.297], [1.297, 2.557]])       # the counterexample: odd, so it is excluded
    M = np.array([[0.0, -reader[0, 1] / reader[0, 0]], [-reader[0, 1] / reader[1, 1], 0.0]])
    n, P = 0, np.eye(2)
    while np.linalg.norm(P, 2) > 1e-6:
        P, n = M @ P, n + 1
    assert n % 2 == 1 and abs(reader[0, 1]) < reader.diagonal().min()
