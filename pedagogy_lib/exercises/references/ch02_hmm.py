"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch02_hmm`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import itertools

import numpy as np
from scipy.special import logsumexp


def enumerate_paths(problem) -> tuple[float, np.ndarray]:
    """(log evidence, gamma) of an HMM problem (pi, A, log_lik) by summing over all K**T paths (small problems only)."""
    T, K = problem.log_lik.shape
    paths = np.array(list(itertools.product(range(K), repeat=T)))
    lw = np.log(problem.pi)[paths[:, 0]] + problem.log_lik[0, paths[:, 0]]
    for t in range(1, T):
        lw = lw + np.log(problem.A[paths[:, t], paths[:, t - 1]]) + problem.log_lik[t, paths[:, t]]
    log_Z = logsumexp(lw)
    w = np.exp(lw - log_Z)
    return float(log_Z), np.stack([np.bincount(paths[:, t], weights=w, minlength=K) for t in range(T)])


def forward_log_evidence(pi, M, log_lik) -> float:
    """Scaled forward pass with any matrix M in place of A (for the hints)."""
    f, total = pi, 0.0
    for t in range(log_lik.shape[0]):
        pred = f if t == 0 else M @ f
        m = log_lik[t].max()
        joint = pred * np.exp(log_lik[t] - m)
        c = joint.sum()
        total += np.log(c) + m
        f = joint / c
    return float(total)


def filter_variant(pi, A, log_lik, *, transposed=False, first_update=False, shift_back=True):
    """The normalized forward pass with one named slip switched on."""
    M = A.T if transposed else A
    T, K = log_lik.shape
    filtered, log_c = np.empty((T, K)), np.empty(T)
    for t in range(T):
        if t == 0:
            pred = M @ pi if first_update else pi
        else:
            pred = M @ filtered[t - 1]
        m = log_lik[t].max()
        joint = pred * np.exp(log_lik[t] - m)
        filtered[t] = joint / joint.sum()
        log_c[t] = np.log(joint.sum()) + (m if shift_back else 0.0)
    return filtered, log_c
