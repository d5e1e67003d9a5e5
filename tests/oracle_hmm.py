r"""Brute-force HMM oracle: enumerate all K**T state paths (book Eq. 2.35), for tiny K and T.

Independent of ``pedagogy_lib.hmm``: no recursion, only the joint of Eq. 2.35 evaluated on every
path and summed. Convention as in the book (Section 2.2.1): ``A[i, j] = p(x_t = i | x_{t-1} = j)``
(column-stochastic), ``log_lik[t, k] = log p(y_t | x_t = k)``, 0-based time.

Other test files may import :func:`enumerate_hmm` (``from oracle_hmm import enumerate_hmm``;
``tests/`` is on ``sys.path`` under pytest's default rootdir-relative import mode).
"""
from __future__ import annotations

import itertools

import numpy as np

MAX_PATHS = 200_000


def _lse(z: np.ndarray) -> float:
    """log(sum(exp(z))) for a 1-D array, -inf if every entry is -inf."""
    m = np.max(z)
    if m == -np.inf:
        return -np.inf
    return float(m + np.log(np.sum(np.exp(z - m))))


def enumerate_hmm(pi, A, log_lik) -> dict:
    """Every posterior quantity of an HMM by summing over all ``K**T`` paths.

    Returns a dict with
    ``log_evidence`` (float, log p(y_1..y_T)),
    ``log_c`` (T,) log p(y_t | y_1..y_{t-1}),
    ``filtered`` (T, K) p(x_t | y_1..y_t),
    ``predicted`` (T, K) p(x_t | y_1..y_{t-1}),
    ``gamma`` (T, K) p(x_t | y_1..y_T),
    ``xi`` (T-1, K, K) with ``xi[t, i, j] = p(x_{t+1} = i, x_t = j | y_1..y_T)``,
    ``log_alpha`` (T, K) log p(x_t, y_1..y_t),
    ``paths`` (K**T, T) and ``log_post`` (K**T,) the log posterior of every path.
    """
    pi = np.asarray(pi, dtype=float)
    A = np.asarray(A, dtype=float)
    log_lik = np.asarray(log_lik, dtype=float)
    T, K = log_lik.shape
    if K ** T > MAX_PATHS:
        raise ValueError(f"enumeration of {K}**{T} paths is too large for the oracle")
    paths = np.array(list(itertools.product(range(K), repeat=T)), dtype=np.int64)   # (K**T, T)
    with np.errstate(divide="ignore"):
        log_pi, log_A = np.log(pi), np.log(A)
    # log prior of each full path: log pi[x_0] + sum_t log A[x_t, x_{t-1}]
    log_prior = log_pi[paths[:, 0]].copy()
    for t in range(1, T):
        log_prior += log_A[paths[:, t], paths[:, t - 1]]
    # emission log-likelihood of each path, one column per time step
    emis = np.stack([log_lik[t, paths[:, t]] for t in range(T)], axis=1)            # (K**T, T)
    cum = np.concatenate([np.zeros((paths.shape[0], 1)), np.cumsum(emis, axis=1)], axis=1)

    # p(y_1..y_s) for s = 0..T: future transitions of a full path sum to one, so summing the full
    # prior times the first s emissions marginalizes out everything after step s.
    log_py = np.array([_lse(log_prior + cum[:, s]) for s in range(T + 1)])
    filtered = np.zeros((T, K))
    predicted = np.zeros((T, K))
    for s in range(T):
        w_filt = np.exp(log_prior + cum[:, s + 1] - log_py[s + 1])   # uses y_1..y_{s+1} (book indexing)
        w_pred = np.exp(log_prior + cum[:, s] - log_py[s])
        for k in range(K):
            filtered[s, k] = w_filt[paths[:, s] == k].sum()
            predicted[s, k] = w_pred[paths[:, s] == k].sum()
    log_joint = log_prior + cum[:, T]
    log_post = log_joint - log_py[T]
    w = np.exp(log_post)
    gamma = np.zeros((T, K))
    for t in range(T):
        for k in range(K):
            gamma[t, k] = w[paths[:, t] == k].sum()
    xi = np.zeros((max(T - 1, 0), K, K))
    for t in range(T - 1):
        for i in range(K):
            for j in range(K):
                xi[t, i, j] = w[(paths[:, t + 1] == i) & (paths[:, t] == j)].sum()
    with np.errstate(divide="ignore"):
        log_alpha = np.log(filtered) + log_py[1:, None]
    return {
        "log_evidence": float(log_py[T]),
        "log_c": np.diff(log_py),
        "filtered": filtered,
        "predicted": predicted,
        "gamma": gamma,
        "xi": xi,
        "log_alpha": log_alpha,
        "paths": paths,
        "log_post": log_post,
    }


def random_hmm(rng: np.random.Generator, K: int, T: int, *, scale: float = 2.0, concentration: float = 1.0):
    """A random (pi, A, log_lik) with column-stochastic A and Gaussian-noise log-likelihoods."""
    pi = rng.dirichlet(np.full(K, concentration))
    A = rng.dirichlet(np.full(K, concentration), size=K).T          # column j ~ Dirichlet
    A = A / A.sum(axis=0, keepdims=True)
    log_lik = scale * rng.standard_normal((T, K))
    return pi, np.ascontiguousarray(A), log_lik
