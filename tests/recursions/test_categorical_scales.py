"""The generic categorical filter and smoother where probabilities leave the floats (issue 69).

With A = I, pi = (1/2, 1/2) and log-likelihoods (750, -750) then (-750, 750), the filtered probability of
state 1 after step 1 is e^-1500 (0 as a float) and after step 2 it is 1/2 again; the log evidence is
log(e^0 / 2 + e^0 / 2) = 0. Kept as probability vectors the recursions gave filtered [1, 0] at step 2,
log evidence -log 2 and smoothed [1, 0]. The oracle here is the sum over all K**T paths of Eq. 2.35,
written in logs (scipy's logsumexp), for every quantity the recursions return, conditionals included.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from pedagogy_lib.recursions import generic as R

CAT = R.CATEGORICAL


class LogEnum:
    """Log-probabilities of the HMM by enumeration of all paths (column-stochastic A)."""

    def __init__(self, pi, A, log_lik):
        T, K = log_lik.shape
        self.T, self.K = T, K
        self.paths = np.array(list(itertools.product(range(K), repeat=T)))
        with np.errstate(divide="ignore"):
            lp = np.log(pi)[self.paths[:, 0]]
            for t in range(1, T):
                lp = lp + np.log(A[self.paths[:, t], self.paths[:, t - 1]])
        ll = log_lik[np.arange(T)[None, :], self.paths]
        self.lw = [lp + ll[:, :n].sum(axis=1) for n in range(T + 1)]      # weights given y_{1:n}

    def log_evidence(self, n):
        return float(logsumexp(self.lw[n]))

    def log_marginal(self, t, n):
        """log p(x_t = k | y_{1:n}) (0-based t), shape (K,)."""
        out = np.array([logsumexp(self.lw[n][self.paths[:, t] == k]) for k in range(self.K)])
        return out - self.log_evidence(n)

    def log_pair(self, t, n):
        """log p(x_t = j, x_{t-1} = i | y_{1:n}), [j, i]."""
        out = np.full((self.K, self.K), -np.inf)
        for j in range(self.K):
            for i in range(self.K):
                sel = (self.paths[:, t] == j) & (self.paths[:, t - 1] == i)
                if sel.any():
                    out[j, i] = logsumexp(self.lw[n][sel])
        return out - self.log_evidence(n)


def _close_in_logs(got, want_log, what):
    """Probabilities equal exp(want_log) to 1e-9 relative (1e-300 absolute), and the carried logs equal
    want_log to 1e-9 where it is finite (a log of 1500 carries 1500 * 2^-53 of rounding)."""
    got = np.asarray(got.log if isinstance(got, R.Probabilities) else np.log(got))
    assert got.shape == want_log.shape, what
    fin = np.isfinite(want_log)
    np.testing.assert_array_equal(np.isfinite(got), fin, err_msg=what)
    np.testing.assert_allclose(got[fin], want_log[fin], rtol=0, atol=1e-9, err_msg=what)


def _check_everything(pi, A, log_lik):
    T = log_lik.shape[0]
    enum = LogEnum(pi, A, log_lik)
    chain = R.categorical_chain(pi, A, log_lik)
    f = R.forward_filter(CAT, chain)
    tol = 1e-13 * (1.0 + np.abs(log_lik[np.isfinite(log_lik)]).sum())
    assert abs(f.log_evidence - enum.log_evidence(T)) <= tol
    for t in range(T):
        _close_in_logs(f.predicted[t], enum.log_marginal(t, t), f"predicted {t}")
        _close_in_logs(f.filtered[t], enum.log_marginal(t, t + 1), f"filtered {t}")
        np.testing.assert_allclose(f.filtered[t], np.exp(enum.log_marginal(t, t + 1)), rtol=1e-9, atol=1e-300)
        assert abs(f.log_normalizers[t] - (enum.log_evidence(t + 1) - enum.log_evidence(t))) <= tol
    np.testing.assert_allclose(R.data_marginals(CAT, f.predicted, chain.emissions), f.log_normalizers, rtol=0,
                               atol=tol)
    s = R.backward_smoother(CAT, f.filtered, chain.transitions)
    for t in range(T):
        _close_in_logs(s.smoothed[t], enum.log_marginal(t, T), f"smoothed {t}")
        np.testing.assert_allclose(s.smoothed[t], np.exp(enum.log_marginal(t, T)), rtol=1e-9, atol=1e-300)
    for t in range(1, T):
        _close_in_logs(s.pairwise[t - 1], enum.log_pair(t, T), f"pairwise {t}")
        # backward[t - 1][i, j] = p(x_{t-1} = i | x_t = j, y_{1:t}) (0-based: observations 0..t-1)
        lp = enum.log_pair(t, t)
        _close_in_logs(s.backward[t - 1], (lp - logsumexp(lp, axis=1, keepdims=True)).T, f"backward {t}")
    factors = R.sequence_posterior(CAT, s.smoothed, s.backward)
    for t in range(1, T):
        lp = enum.log_pair(t, T)                      # [j, i]; p(x_t = j | x_{t-1} = i, y) normalizes over j
        _close_in_logs(factors[t], lp - logsumexp(lp, axis=0, keepdims=True), f"sequence conditional {t}")


def test_the_identity_chain_of_the_issue():
    pi, A = np.array([0.5, 0.5]), np.eye(2)
    ll = np.array([[750.0, -750.0], [-750.0, 750.0]])
    f = R.forward_filter(CAT, R.categorical_chain(pi, A, ll))
    assert f.log_evidence == pytest.approx(0.0, abs=1e-10)
    np.testing.assert_allclose(f.filtered[1], [0.5, 0.5], rtol=1e-12)
    assert f.filtered[0].log[1] == pytest.approx(-1500.0, abs=1e-10)
    s = R.backward_smoother(CAT, f.filtered, [A])
    np.testing.assert_allclose(s.smoothed[0], [0.5, 0.5], rtol=1e-12)
    _check_everything(pi, A, ll)


@pytest.mark.parametrize("seed", range(12))
def test_peaked_chains_equal_enumeration_in_logs(seed):
    """K = 3, T = 5: log-likelihoods shifted by +-750 entry by entry (so probabilities fall far below the
    floats and return), A the identity, a random matrix, or one with entries of 1e-300 (whose products
    with tiny probabilities underflow); every output against the paths in logs."""
    rng = np.random.default_rng(seed)
    K, T = 3, 5
    pi = rng.dirichlet(np.ones(K))
    kind = seed % 3
    if kind == 0:
        A = np.eye(K)
    else:
        A = rng.dirichlet(np.ones(K), size=K).T
        if kind == 2:
            A = np.where(rng.random((K, K)) < 0.5, 1e-300, A)
            A = A / A.sum(axis=0, keepdims=True)
    ll = rng.normal(size=(T, K)) + rng.choice([-750.0, 0.0, 750.0], size=(T, K))
    _check_everything(pi, A, ll)


def test_ordinary_chains_keep_their_probabilities():
    """At ordinary scales the carried logs add nothing: the probabilities are the floats of before (the
    logs are their logs), and an edited array is read from its entries."""
    rng = np.random.default_rng(3)
    pi, A = rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(3), size=3).T
    ll = rng.normal(size=(4, 3))
    f = R.forward_filter(CAT, R.categorical_chain(pi, A, ll))
    p = f.filtered[0]
    np.testing.assert_allclose(p.log, np.log(np.asarray(p)), rtol=1e-14)
    pred = R.time_update(CAT, p, A)
    np.testing.assert_array_equal(pred, A @ np.asarray(p))            # the float product, as before
    q = f.filtered[1]
    q[:] = [1.0, 0.0, 0.0]                                             # edited: its logs no longer apply
    np.testing.assert_array_equal(R.time_update(CAT, q, A), A[:, 0])
    assert type(np.array(f.filtered)) is np.ndarray and type(p + 0.0) is np.ndarray


def test_pickled_and_copied_results_keep_their_logs():
    """A filter result saved with pickle (or deep-copied) and smoothed later is still exact: the state at
    e^-1500 is 1/2 at both steps of the smoother."""
    import copy
    import pickle

    A = np.eye(2)
    f = R.forward_filter(CAT, R.categorical_chain([0.5, 0.5], A, np.array([[750.0, -750.0], [-750.0, 750.0]])))
    for g in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f)):
        s = R.backward_smoother(CAT, g.filtered, [A])
        np.testing.assert_allclose(np.array(s.smoothed), 0.5, rtol=1e-12)
