"""Tests for the Section 7.2 exercise checkers (pedagogy_lib.exercises.ch07_hmm_em).

Correct answers are computed here independently: posteriors by enumerating every state path
(tests/oracle_hmm.py) where the problem is small, or by a log-space forward-backward written
out in this file; the M-step formulas are written out from Section 7.2.
"""
from __future__ import annotations

import numpy as np
import pytest
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


def _tied_Q(p_stay, xi_sum):
    """Sum_ij Xi_ij log a_ij for the matrix with p_stay on the diagonal and (1 - p_stay)/(K - 1) elsewhere."""
    K = xi_sum.shape[0]
    logA = np.where(np.eye(K, dtype=bool), np.log(p_stay), np.log((1 - p_stay) / (K - 1)))
    return float(np.sum(xi_sum * logA))


def _tied_A(p_stay, K=3):
    return np.where(np.eye(K, dtype=bool), p_stay, (1 - p_stay) / (K - 1))


def test_m_step_A_tied_stay_probability():
    """The maximizer of Q over the one stay probability, found by a bounded scalar search (no formula),
    passes; the page's untied update and the named slips do not."""
    from scipy.optimize import minimize_scalar

    p = check.EX_TRANS
    r = minimize_scalar(lambda q: -_tied_Q(q, p.xi_sum), bounds=(1e-9, 1 - 1e-9), method="bounded",
                        options={"xatol": 1e-13})
    A = _tied_A(r.x)
    assert check.m_step_A(A)
    assert np.allclose(A.sum(axis=0), 1.0)
    free = p.xi_sum / p.xi_sum.sum(axis=0, keepdims=True)
    r_ = check.m_step_A(free)
    assert not r_ and "free entry for every pair" in str(r_)
    own = np.diag(free)
    per = np.array([[own[j] if i == j else (1 - own[j]) / 2 for j in range(3)] for i in range(3)])
    r_ = check.m_step_A(per)
    assert not r_ and "its own stay probability" in str(r_)
    r_ = check.m_step_A(_tied_A(own.mean()))
    assert not r_ and "averaged" in str(r_)
    r_ = check.m_step_A(_tied_A(np.trace(p.xi_sum) / p.N_k.sum()))
    assert not r_ and "from which steps a transition can leave" in str(r_)
    r_ = check.m_step_A(np.where(np.eye(3, dtype=bool), A, 1 - r.x))
    assert not r_ and "do not sum to one" in str(r_)
    for text in (str(check.m_step_A(free)), str(check.m_step_A(per)), check.m_step_A.__doc__):
        assert "trace" not in text and "diagonal of Xi" not in text, text
    r_ = check.m_step_A(None)
    assert not r_ and "None" in str(r_)
    assert not check.m_step_A(np.eye(2))


def _map_pi_by_optimizer(g, alpha):
    """argmax over the simplex of sum_k (g_k + alpha_k - 1) log pi_k, by BFGS on softmax logits."""
    from scipy.optimize import minimize

    w = g + alpha - 1

    def f(z):
        return -float(np.sum(w * (z - logsumexp(z))))
    z = minimize(f, np.zeros(g.size), method="BFGS", options={"gtol": 1e-12}).x
    return np.exp(z - logsumexp(z))


def test_m_step_pi_map_with_dirichlet_prior():
    p = check.EX_PI
    res = [_log_forward_backward(p.pi, p.A, ll) for ll in p.log_liks]
    g = np.sum([gm[0] for gm, _ in res], axis=0)
    n, K = len(res), 3
    pi = (g + p.alpha - 1) / (n + p.alpha.sum() - K)
    np.testing.assert_allclose(_map_pi_by_optimizer(g, p.alpha), pi, rtol=1e-6)
    assert check.m_step_pi(pi)
    r = check.m_step_pi(g / n)
    assert not r and "left the prior out" in str(r)
    r = check.m_step_pi((g + p.alpha) / (n + p.alpha.sum()))
    assert not r and "posterior mean" in str(r)
    r = check.m_step_pi((g / n + p.alpha - 1) / (1 + p.alpha.sum() - K))
    assert not r and "average over sequences" in str(r)
    gf = np.sum([f[0] for _, f in res], axis=0)
    r = check.m_step_pi((gf + p.alpha - 1) / (n + p.alpha.sum() - K))
    assert not r and "filter" in str(r)
    r = check.m_step_pi(g + p.alpha - 1)
    assert not r and "normalize" in str(r)
    assert not check.m_step_pi(None)
    assert "alpha_k - 1" not in check.m_step_pi.__doc__


def test_expected_visits_from_the_pairwise_statistics():
    """EX_VISITS gives only Xi and the first marginal (no log-likelihoods to run a smoother on): every step
    but the first is arrived at by one transition, so N_k = (row sums of Xi) + gamma_1."""
    p = check.EX_VISITS
    assert set(p._fields) == {"xi_sum", "gamma_first"}
    seq = vars(check)["_VISITS_SEQUENCE"]
    gamma, filt = _log_forward_backward(seq.pi, seq.A, seq.log_liks[0])
    N = gamma.sum(axis=0)
    assert np.isclose(N.sum(), 80)
    assert check.expected_visits(N)
    assert check.expected_visits(p.xi_sum.sum(axis=1) + p.gamma_first)
    r = check.expected_visits(p.xi_sum.sum(axis=0))
    assert not r and "leaves from" in str(r)
    r = check.expected_visits(p.xi_sum.sum(axis=1))
    assert not r and "arrives at" in str(r)
    r = check.expected_visits(p.xi_sum.sum(axis=0) + p.gamma_first)
    assert not r and "twice and misses another" in str(r)
    assert not check.expected_visits(None)


def test_oracle_agrees_with_enumeration_on_a_short_prefix():
    """The forward-backward used above is itself checked against brute force."""
    p = vars(check)["_VISITS_SEQUENCE"]
    ll = p.log_liks[0][:7]
    gamma, _ = _log_forward_backward(p.pi, p.A, ll)
    np.testing.assert_allclose(gamma, enumerate_hmm(p.pi, p.A, ll)["gamma"], rtol=1e-10, atol=1e-13)


def test_m_step_mu_map_with_gaussian_prior():
    """The MAP means maximize sum_t gamma_t(k) log N(y_t; mu_k, Sigma_k) + log N(mu_k; m0, tau2 I): found here
    by BFGS on that objective, then compared with the closed form and passed to the checker."""
    from scipy.optimize import minimize

    p = check.EX_MEANS
    K = p.gamma.shape[1]

    def neg(mu, k):
        d = p.y - mu
        return (0.5 * np.sum(p.gamma[:, k] * np.einsum("ti,ij,tj->t", d, np.linalg.inv(p.Sigma[k]), d))
                + 0.5 * np.sum((mu - p.m0) ** 2) / p.tau2)
    mu = np.stack([minimize(neg, np.zeros(2), args=(k,), method="BFGS", options={"gtol": 1e-12}).x
                   for k in range(K)])
    closed = np.stack([np.linalg.solve(np.eye(2) / p.tau2 + p.gamma[:, k].sum() * np.linalg.inv(p.Sigma[k]),
                                       p.m0 / p.tau2 + np.linalg.inv(p.Sigma[k]) @ (p.gamma[:, k] @ p.y))
                       for k in range(K)])
    np.testing.assert_allclose(mu, closed, rtol=1e-6, atol=1e-7)
    assert check.m_step_mu(closed)
    ml = np.stack([np.sum(p.gamma[:, k:k + 1] * p.y, axis=0) / np.sum(p.gamma[:, k]) for k in range(K)])
    r = check.m_step_mu(ml)
    assert not r and "left the prior out" in str(r)
    iso = np.stack([(p.m0 / p.tau2 + p.gamma[:, k] @ p.y) / (1 / p.tau2 + p.gamma[:, k].sum()) for k in range(K)])
    r = check.m_step_mu(iso)
    assert not r and "do not depend on the emission covariances" in str(r)
    tau_as_prec = np.stack([np.linalg.solve(p.tau2 * np.eye(2) + p.gamma[:, k].sum() * np.linalg.inv(p.Sigma[k]),
                                            p.m0 * p.tau2 + np.linalg.inv(p.Sigma[k]) @ (p.gamma[:, k] @ p.y))
                            for k in range(K)])
    r = check.m_step_mu(tau_as_prec)
    assert not r and "tau2 where its inverse" in str(r)
    hard = p.gamma.argmax(axis=1)
    hard_map = np.stack([np.linalg.solve(np.eye(2) / p.tau2 + np.sum(hard == k) * np.linalg.inv(p.Sigma[k]),
                                         p.m0 / p.tau2 + np.linalg.inv(p.Sigma[k]) @ p.y[hard == k].sum(axis=0))
                         for k in range(K)])
    r = check.m_step_mu(hard_map)
    assert not r and "K-means" in str(r)
    r = check.m_step_mu(closed.T)
    assert not r and "transpose" in str(r)
    assert not check.m_step_mu(None)


def _m_step_loops(ys, gammas, xi_sum):
    """The M step of Section 7.2 with one emission covariance shared by the states (the exercise's tied
    variant), written with explicit loops over sequences, steps and states."""
    K, D = gammas[0].shape[1], ys[0].shape[1]
    pi = sum(g[0] for g in gammas) / len(gammas)
    A = np.array([[xi_sum[i, j] / sum(xi_sum[:, j]) if sum(xi_sum[:, j]) > 0 else 1.0 / K for j in range(K)]
                  for i in range(K)])                 # no departures from j: the uniform column
    N_k, s1, mu, Sigma = np.zeros(K), np.zeros((K, D)), np.zeros((K, D)), np.zeros((D, D))
    for y, g in zip(ys, gammas):
        for t in range(y.shape[0]):
            N_k += g[t]
            s1 += g[t][:, None] * y[t]
    mu = s1 / N_k[:, None]
    for y, g in zip(ys, gammas):
        for t in range(y.shape[0]):
            for k in range(K):
                Sigma += g[t, k] * np.outer(y[t] - mu[k], y[t] - mu[k])
    return pi, A, mu, Sigma / sum(y.shape[0] for y in ys)


def _m_step_library(ys, gammas, xi_sum):
    """The library's M step, fed statistics assembled from the function's inputs; its per-state covariances
    pooled with the weights N_k into the tied one."""
    from pedagogy_lib.hmm.em import HMMStats, hmm_m_step

    Y, G = np.concatenate(ys), np.concatenate(gammas)
    K, D = G.shape[1], Y.shape[1]
    stats = HMMStats(gamma_1=sum(g[0] for g in gammas), xi_sum=xi_sum, N_k=G.sum(axis=0), n_seq=len(ys),
                     sum_d=G.T @ Y, sum_dd=np.einsum("tk,ti,tj->kij", G, Y, Y), mu_ref=np.zeros((K, D)),
                     counts=None, log_lik=0.0, entropy=0.0)
    pi, A, mu, Sigma = hmm_m_step(stats)
    N_k = G.sum(axis=0)
    return pi, A, mu, np.einsum("k,kij->ij", N_k, Sigma) / N_k.sum()


def test_m_step_function_accepts_the_loops_and_the_library():
    assert check.m_step_function(_m_step_loops)
    assert check.m_step_function(_m_step_library)


def _m_step_with(**slip):
    def fn(ys, gammas, xi_sum):
        pi, A, mu, Sigma = _m_step_loops(ys, gammas, xi_sum)
        Y, G = np.concatenate(ys), np.concatenate(gammas)
        N_k = G.sum(axis=0)
        if "rows" in slip:
            A = xi_sum / xi_sum.sum(axis=1, keepdims=True)
        if "all_steps" in slip:
            A = xi_sum / N_k[None, :]
        if "occupancy" in slip:
            pi = N_k / Y.shape[0]
        if "last" in slip:
            pi = sum(g[-1] for g in gammas) / len(gammas)
        if "uncentred" in slip:
            Sigma = np.einsum("tk,ti,tj->ij", G, Y, Y) / Y.shape[0]
        if "equal_weights" in slip:
            Sigma = np.mean([((Y - mu[k]) * G[:, k:k + 1]).T @ (Y - mu[k]) / N_k[k] for k in range(N_k.size)], axis=0)
        if "transitions" in slip:
            Sigma = Sigma * Y.shape[0] / xi_sum.sum()
        if "untied" in slip:
            Sigma = np.stack([((Y - mu[k]) * G[:, k:k + 1]).T @ (Y - mu[k]) / N_k[k] for k in range(N_k.size)])
        return pi, A, mu, Sigma
    return fn


def test_m_step_function_tests_a_state_that_no_transition_leaves():
    """The statement warns about it: a plain column division gives 0/0 there, and is not accepted."""
    args, ref = vars(check)["_m_step_cases"]()[-1]
    assert np.any(args[2].sum(axis=0) == 0)
    np.testing.assert_allclose(ref[1][:, -1], 1.0 / 3)

    def plain(ys, gammas, xi_sum):
        pi, _, mu, Sigma = _m_step_loops(ys, gammas, xi_sum)
        with np.errstate(invalid="ignore", divide="ignore"):
            return pi, xi_sum / xi_sum.sum(axis=0, keepdims=True), mu, Sigma
    r = check.m_step_function(plain)
    assert not r and "no transition leaves state [2]" in str(r), str(r)


@pytest.mark.parametrize("wrong,fragment", [
    (_m_step_with(rows=1), "normalized the rows"),
    (_m_step_with(all_steps=1), "no transition leaves the last step"),
    (_m_step_with(occupancy=1), "pi is about the first step only"),
    (_m_step_with(last=1), "the last step of each sequence instead of the first"),
    (_m_step_with(uncentred=1), "did not subtract the mean's outer product"),
    (_m_step_with(equal_weights=1), "averaged the states' own covariances"),
    (_m_step_with(transitions=1), "number of transitions"),
    (_m_step_with(untied=1), "Sigma on test problem 1 (3 sequences of lengths 30, 45, 20; K = 3, D = 2) should have "
                             "shape (2, 2)"),
    (lambda ys, gammas, xi_sum: None, "forget to return"),
    (lambda ys, gammas, xi_sum: gammas[5], "raised IndexError"),
    (lambda ys, gammas, xi_sum: _m_step_loops(ys, gammas, xi_sum)[:3], "should return the four parameters"),
])
def test_m_step_function_names_the_slips(wrong, fragment):
    r = check.m_step_function(wrong)
    assert not r
    assert fragment in str(r), str(r)


def test_m_step_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.m_step_function((1, 2, 3, 4)))
    msg = str(check.m_step_function(lambda ys, gammas, xi_sum: tuple(
        x + 0.01 for x in _m_step_loops(ys, gammas, xi_sum))))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    # the single-sequence problem and the problem with a one-step sequence are reached by a right answer
    # for the first problem that is wrong on them
    msg = str(check.m_step_function(lambda ys, gammas, xi_sum: _m_step_loops(ys, gammas, xi_sum)
                                    if len(ys) > 1 else None))
    assert "test problem 2 (1 sequence of length 60" in msg, msg
