"""Tests for the Section 7.2 exercise checkers (pedagogy_lib.exercises.ch07_hmm_em).

Correct answers are computed here independently: posteriors by enumerating every state path
(tests/oracle_hmm.py) where the problem is small, or by a log-space forward-backward written
out in this file; the M-step formulas are written out from Section 7.2.
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from oracle_hmm import enumerate_hmm
from pedagogy_lib.exercises import ch07_hmm_em as check


def _log_forward_backward(pi, A, log_lik):
    """gamma (T, K) and filtered (T, K) by the log-space alpha-beta recursions (Rabiner's form)."""
    T, K = log_lik.shape
    logA = np.log(A)
    la = np.empty((T, K))
    lb = np.zeros((T, K))
    la[0] = np.log(pi) + log_lik[0]
    for t in range(1, T):
        la[t] = logsumexp(logA + la[t - 1][None, :], axis=1) + log_lik[t]
    for t in range(T - 2, -1, -1):
        lb[t] = logsumexp(logA + (log_lik[t + 1] + lb[t + 1])[:, None], axis=0)
    lg = la + lb
    gamma = np.exp(lg - logsumexp(lg, axis=1, keepdims=True))
    filt = np.exp(la - logsumexp(la, axis=1, keepdims=True))
    return gamma, filt


def test_m_step_A():
    p = check.EX_TRANS
    A = p.xi_sum / (p.N_k - p.gamma_last)[None, :]          # departures from j: all steps but the last
    assert check.m_step_A(A)
    assert np.allclose(A.sum(axis=0), 1.0)
    r = check.m_step_A(p.xi_sum / p.xi_sum.sum(axis=1, keepdims=True))
    assert not r and "row-stochastic" in str(r)
    r = check.m_step_A(p.xi_sum / p.N_k[None, :])
    assert not r and "last" in str(r)
    r = check.m_step_A(p.xi_sum / (p.N_k - p.gamma_last)[:, None])
    assert not r and "destination" in str(r)
    r = check.m_step_A(None)
    assert not r and "None" in str(r)
    assert not check.m_step_A(np.eye(2))


def test_m_step_pi():
    p = check.EX_PI
    res = [_log_forward_backward(p.pi, p.A, ll) for ll in p.log_liks]
    pi = np.mean([g[0] for g, _ in res], axis=0)
    assert check.m_step_pi(pi)
    r = check.m_step_pi(np.mean([f[0] for _, f in res], axis=0))
    assert not r and "filter" in str(r)
    r = check.m_step_pi(np.mean(np.concatenate([g for g, _ in res]), axis=0))
    assert not r and "all time steps" in str(r)
    r = check.m_step_pi(np.mean([np.eye(3)[np.argmax(g[0])] for g, _ in res], axis=0))
    assert not r and "hard" in str(r)
    r = check.m_step_pi(len(res) * pi)
    assert not r and "normalize" in str(r)
    assert not check.m_step_pi(None)


def test_expected_visits():
    p = check.EX_VISITS
    gamma, filt = _log_forward_backward(p.pi, p.A, p.log_liks[0])
    N = gamma.sum(axis=0)
    assert np.isclose(N.sum(), 80)
    assert check.expected_visits(N)
    r = check.expected_visits(filt.sum(axis=0))
    assert not r and "filter" in str(r)
    r = check.expected_visits(np.bincount(gamma.argmax(axis=1), minlength=3).astype(float))
    assert not r and "hard counts" in str(r)
    r = check.expected_visits(gamma[:-1].sum(axis=0))
    assert not r and "T-1" in str(r)
    assert not check.expected_visits(None)


def test_oracle_agrees_with_enumeration_on_a_short_prefix():
    """The forward-backward used above is itself checked against brute force."""
    p = check.EX_VISITS
    ll = p.log_liks[0][:7]
    gamma, _ = _log_forward_backward(p.pi, p.A, ll)
    np.testing.assert_allclose(gamma, enumerate_hmm(p.pi, p.A, ll)["gamma"], rtol=1e-10, atol=1e-13)


def test_m_step_mu():
    p = check.EX_MEANS
    K = p.gamma.shape[1]
    mu = np.stack([np.sum(p.gamma[:, k:k + 1] * p.y, axis=0) / np.sum(p.gamma[:, k]) for k in range(K)])
    assert check.m_step_mu(mu)
    r = check.m_step_mu(p.gamma.T @ p.y)
    assert not r and "divide by N_k" in str(r)
    r = check.m_step_mu(p.gamma.T @ p.y / p.y.shape[0])
    assert not r and "instead of by N_k" in str(r)
    hard = p.gamma.argmax(axis=1)
    r = check.m_step_mu(np.stack([p.y[hard == k].mean(axis=0) for k in range(K)]))
    assert not r and "K-means" in str(r)
    r = check.m_step_mu(mu.T)
    assert not r and "transpose" in str(r)
    assert not check.m_step_mu(None)
