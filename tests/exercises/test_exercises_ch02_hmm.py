"""Tests for the Section 2.2.1 exercise checkers (pedagogy_lib.exercises.ch02_hmm).

Correct answers come from the brute-force oracle (tests/oracle_hmm.py) or closed forms written
out here, not from the checker's own reference code.
"""
from __future__ import annotations

import numpy as np

from oracle_hmm import enumerate_hmm
from pedagogy_lib.exercises import ch02_hmm as check


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
