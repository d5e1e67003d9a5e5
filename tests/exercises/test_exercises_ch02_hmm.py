"""Tests for the Section 2.2.1 exercise checkers (pedagogy_lib.exercises.ch02_hmm).

Correct answers come from the brute-force oracle (tests/oracle_hmm.py) or closed forms written
out here, not from the checker's own reference code.
"""
from __future__ import annotations

import numpy as np
import pytest

from oracle_hmm import enumerate_hmm
from pedagogy_lib.exercises import ch02_hmm as check
from pedagogy_lib.exercises.references import ch02_hmm as refs


def _scaled_forward(pi, M, log_lik):
    f, total = None, 0.0
    for t in range(log_lik.shape[0]):
        pred = pi if t == 0 else M @ f
        joint = pred * np.exp(log_lik[t])
        total += np.log(joint.sum())
        f = joint / joint.sum()
    return total


def test_log_evidence_correct_and_wrong():
    p = check.EX_EVIDENCE
    # independent: an explicit alpha recursion in log space (log-sum-exp over the previous state)
    log_a = np.log(p.pi) + p.log_lik[0]
    for t in range(1, p.log_lik.shape[0]):
        z = log_a[None, :] + np.log(p.A)                       # z[i, j] = log alpha_{t-1}(j) + log A[i, j]
        m = z.max(axis=1, keepdims=True)
        log_a = (m[:, 0] + np.log(np.exp(z - m).sum(axis=1))) + p.log_lik[t]
    ref = float(np.log(np.exp(log_a - log_a.max()).sum()) + log_a.max())
    assert check.log_evidence(ref)
    r = check.log_evidence(_scaled_forward(p.pi, p.A.T, p.log_lik))
    assert not r and "row-stochastic" in str(r)
    r = check.log_evidence(_scaled_forward(np.full(3, 1 / 3), p.A, p.log_lik))
    assert not r and "prior pi" in str(r)
    r = check.log_evidence(-np.inf)
    assert not r and "range of floating point" in str(r)
    assert "normalize" not in str(r).lower() and "add up the logs" not in str(r)   # points, does not fix
    r = check.log_evidence(_scaled_forward(p.pi, p.A.T, p.log_lik))
    assert "A.T @" not in str(r) and "A @" not in str(r)
    r = check.log_evidence(ref + 1.0)
    assert not r and "tolerance" in str(r)
    r = check.log_evidence(None)
    assert not r and "None" in str(r)


def test_gamma_first_correct_and_wrong():
    p = check.EX_GAMMA1
    # by hand: gamma_1(j) is proportional to pi_j l_1(j) sum_i A[i, j] l_2(i)
    l = np.exp(p.log_lik)
    g = p.pi * l[0] * (p.A.T @ l[1])
    g = g / g.sum()
    assert check.gamma_first(g)
    ref = enumerate_hmm(*p)
    assert np.allclose(g, ref["gamma"][0])
    r = check.gamma_first(ref["filtered"][0])
    assert not r and "filter p(x_1 | y_1)" in str(r)
    r = check.gamma_first(ref["gamma"][1])
    assert not r and "gamma_2" in str(r)
    # A where A^T belongs: a transpose of the transition, named as such (not "no single slip")
    swapped = p.pi * l[0] * (p.A @ l[1])
    r = check.gamma_first(swapped / swapped.sum())
    assert not r and "indices swapped" in str(r) and "no single slip" not in str(r)
    r = check.gamma_first(None)
    assert not r and "None" in str(r)
    assert not check.gamma_first(np.array([0.5, 0.5, 0.0]))
    # a hand computation to three significant figures passes; an unnormalized one is named
    assert check.gamma_first([float(f"{v:.3g}") for v in g])
    r = check.gamma_first(3 * g)
    assert not r and "sums to one" in str(r)


def test_iid_gamma_correct_and_wrong():
    p = check.EX_IID
    z = np.log(p.pi) + p.log_lik
    g = np.exp(z - z.max(axis=1, keepdims=True))
    g /= g.sum(axis=1, keepdims=True)
    assert check.iid_gamma(g)
    assert p.log_lik.shape == (40, 3)                   # 3**40 paths: the page's enumeration cannot answer it
    # the independence the exercise argues, checked by enumeration on the first six steps alone
    head = check.HMMProblem(p.pi, p.A, p.log_lik[:6])
    assert np.allclose(g[:6], enumerate_hmm(*head)["gamma"])
    lik = np.exp(p.log_lik)
    r = check.iid_gamma(lik / lik.sum(axis=1, keepdims=True))
    assert not r and "prior pi is missing" in str(r)
    r = check.iid_gamma(g.T)
    assert not r and "transpose" in str(r)
    assert not check.iid_gamma(None)


def test_raw_alphas_of_the_evidence_exercise_really_underflow():
    """The exercise says the literal alpha recursion (Eq. 2.41) fails on EX_EVIDENCE: check that it does."""
    p = check.EX_EVIDENCE
    alpha = p.pi * np.exp(p.log_lik[0])
    first_zero = None
    for t in range(1, p.log_lik.shape[0]):
        alpha = (p.A @ alpha) * np.exp(p.log_lik[t])
        if alpha.sum() == 0.0 and first_zero is None:
            first_zero = t + 1
    assert first_zero is not None and 400 < first_zero < p.log_lik.shape[0]
    assert check.log_evidence(_scaled_forward(p.pi, p.A, p.log_lik))
    assert not check.log_evidence(-np.inf)


# ---------------------------------------------------------------- the filter as a function

def _filter_in_logs(pi, A, log_lik):
    """The recursion in log space throughout (logsumexp for both sums), an independent route from the page's
    scaled one."""
    from scipy.special import logsumexp

    T, K = log_lik.shape
    log_f, log_c = np.zeros((T, K)), np.zeros(T)
    with np.errstate(divide="ignore"):
        log_pred = np.log(pi)
        for t in range(T):
            if t > 0:
                log_pred = logsumexp(np.log(A) + log_f[t - 1][None, :], axis=1)
            log_joint = log_pred + log_lik[t]
            log_c[t] = logsumexp(log_joint)
            log_f[t] = log_joint - log_c[t]
    return np.exp(log_f), log_c


def _filter_vectorized_lists(pi, A, log_lik):
    """The scaled recursion with the shift taken once per row up front, returned as lists."""
    m = log_lik.max(axis=1)
    lik = np.exp(log_lik - m[:, None])
    filtered, log_c, f = [], [], None
    for t in range(len(lik)):
        u = (pi if t == 0 else A @ f) * lik[t]
        f = u / u.sum()
        filtered.append(list(f))
        log_c.append(float(np.log(u.sum()) + m[t]))
    return filtered, log_c


def test_the_log_space_filter_agrees_with_enumerating_paths():
    rng = np.random.default_rng(3)
    K, T = 3, 6
    A = rng.dirichlet(np.ones(K), size=K).T
    pi = rng.dirichlet(np.ones(K))
    log_lik = rng.normal(size=(T, K)) - 500.0
    log_lik[2, 1] = -np.inf
    ref = enumerate_hmm(pi, A, log_lik)
    filtered, log_c = _filter_in_logs(pi, A, log_lik)
    np.testing.assert_allclose(filtered, ref["filtered"], atol=1e-12)
    np.testing.assert_allclose(log_c, ref["log_c"], rtol=1e-12)


def test_filter_function_accepts_two_independent_routes():
    assert check.filter_function(_filter_in_logs)
    assert check.filter_function(_filter_vectorized_lists)


def _filter_slip(kind):
    def fn(pi, A, log_lik):
        M = A.T if kind == "rows" else A
        T, K = log_lik.shape
        filtered, log_c = np.zeros((T, K)), np.zeros(T)
        for t in range(T):
            if t == 0:
                pred = M @ pi if kind == "early" else pi
            else:
                pred = M @ filtered[t - 1]
            m = 0.0 if kind == "underflow" else log_lik[t].max()
            u = pred * np.exp(log_lik[t] - m)
            filtered[t] = u / u.sum()
            log_c[t] = np.log(u.sum()) + (0.0 if kind == "no shift back" else m)
        return filtered, (np.cumsum(log_c) if kind == "running" else log_c)
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_filter_slip("rows"), "row-stochastic convention"),
    (_filter_slip("early"), "time update before the first step"),
    (_filter_slip("no shift back"), "left the shift out of log c_t"),
    (_filter_slip("running"), "running log evidence"),
    (_filter_slip("underflow"), "Subtract each row's largest log-likelihood"),
    (lambda pi, A, ll: None, "forget to return"),
    (lambda pi, A, ll: 1 / 0, "raised ZeroDivisionError"),
    (lambda pi, A, ll: _filter_in_logs(pi, A, ll)[0], "should return the pair"),
])
def test_filter_function_names_the_slips(wrong, fragment):
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        res = check.filter_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_filter_function_without_the_shift_passes_until_the_far_log_likelihoods():
    with np.errstate(divide="ignore", invalid="ignore"):
        res = str(check.filter_function(_filter_slip("underflow")))
    assert "test problem 4" in res and "near -1000" in res, res


def test_filter_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.filter_function("hmm"))
    none = check.filter_function(None)
    assert not none and "None" in str(none) and "my_hmm_filter" in str(none)
    msg = str(check.filter_function(lambda pi, A, ll: (_filter_in_logs(pi, A, ll)[0],
                                                        _filter_in_logs(pi, A, ll)[1] - 0.01)))
    assert "test problem 1" in msg
    assert not re.search(r"[0-9]\.[0-9]", re.sub(r"Eqs\. [0-9., -]+\)", ")", msg)), msg


def test_filter_cases_are_what_the_statement_promises():
    cases = refs.filter_cases()
    assert any(args[2].shape[0] == 1 for _, args, _ in cases)
    assert any(np.all(args[2] < -900) for _, args, _ in cases)
    assert any(np.isneginf(args[2]).any() for _, args, _ in cases)
    for _, (pi, A, log_lik), _ in cases:
        np.testing.assert_allclose(A.sum(axis=0), 1.0, rtol=1e-12)
        assert not np.allclose(A, A.T)
        assert np.all(np.isfinite(log_lik.max(axis=1)))
