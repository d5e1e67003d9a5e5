"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch02_recursions`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np

from ...recursions import generic as recursions


def fixed_point(A) -> np.ndarray:
    """The fixed point of A that sums to one (least squares on the stacked system)."""
    K = A.shape[0]
    M = np.vstack([A - np.eye(K), np.ones((1, K))])
    rhs = np.concatenate([np.zeros(K), [1.0]])
    return np.linalg.lstsq(M, rhs, rcond=None)[0]


def coarse_update(p) -> np.ndarray:
    """Eq. 2.37 with the likelihood of "y_t is in y_set": the sum of those rows of C."""
    lik = sum(p.C[l, :] for l in p.y_set)
    return p.predicted * lik / (p.predicted @ lik)


def two_sensor_evidence(p) -> float:
    """p(y_1, w_1, y_2, w_2) summed over the four state sequences."""
    return float(sum(p.pi[i] * p.C[p.y[0], i] * p.D[p.w[0], i] * p.A[j, i] * p.C[p.y[1], j] * p.D[p.w[1], j]
                     for i in range(2) for j in range(2)))


def lag_one(p) -> np.ndarray:
    """p(x_{t-1} | y_{1:t}) from the library's two-step chain smoothed back to its first step."""
    log_lik = np.vstack([np.zeros(len(p.f_prev)), np.log(p.C[p.y_t, :])])
    chain = recursions.categorical_chain(p.f_prev, p.A, log_lik)
    filt = recursions.forward_filter(recursions.CATEGORICAL, chain)
    return np.asarray(recursions.backward_smoother(recursions.CATEGORICAL, filt.filtered,
                                                   chain.transitions).smoothed[0])


def smoother_variant(filtered, transitions, *, transposed=False, divide=True, use_filter=False, shifted=False):
    """The backward pass (Eqs. 2.38-2.39) with one named slip switched on; 0/0 is taken as 0."""
    T, K = filtered.shape
    smoothed, pairwise = filtered.copy(), np.zeros((T - 1, K, K))
    for t in range(T - 2, -1, -1):
        M = transitions[t - 1 if shifted else t]
        M = M.T if transposed else M
        pred = M @ filtered[t]
        later = filtered[t + 1] if use_filter else smoothed[t + 1]
        ratio = np.divide(later, pred, out=np.zeros(K), where=pred > 0) if divide else later
        pairwise[t] = ratio[:, None] * M * filtered[t][None, :]
        smoothed[t] = pairwise[t].sum(axis=0)
    return smoothed, pairwise
