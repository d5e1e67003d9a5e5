"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.appb_markov`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def stationary_solve(P: np.ndarray) -> np.ndarray:
    """pi with P pi = pi summing to one, from the linear system (periodic chains too)."""
    K = P.shape[0]
    A = np.vstack([P - np.eye(K), np.ones((1, K))])
    return np.linalg.lstsq(A, np.r_[np.zeros(K), 1.0], rcond=None)[0]


def iterated(P: np.ndarray, p: np.ndarray, steps: int) -> np.ndarray:
    """The distribution p after steps steps of the chain P."""
    for _ in range(steps):
        p = P @ p
    return p


def worst_tv(P: np.ndarray, pi: np.ndarray, n: int) -> np.ndarray:
    """The worst-case total-variation distance to ``pi`` after t = 0, ..., n - 1 steps of P."""
    Pt, out = np.eye(P.shape[0]), []
    for _ in range(n):
        out.append(0.5 * np.abs(Pt - pi[:, None]).sum(axis=0).max())
        Pt = P @ Pt
    return np.array(out)


def tv_variants(P: np.ndarray, T: int) -> dict:
    """d(t) for t = 0..T, and what named slips give."""
    pi = stationary_solve(P)
    Pt = np.eye(P.shape[0])
    rows, first = [], []
    for _ in range(T + 1):
        rows.append(0.5 * np.abs(Pt - pi[None, :]).sum(axis=1).max())
        first.append(0.5 * np.abs(Pt[:, 0] - pi).sum())
        Pt = P @ Pt
    d = worst_tv(P, pi, T + 2)
    Q = P.T / P.T.sum(axis=0, keepdims=True)         # the transpose, its columns made to sum to one again
    return {"d": d[:-1], "rows": np.array(rows), "first": np.array(first), "late": d[1:],
            "run": worst_tv(P, np.linalg.matrix_power(P, 1000)[:, 0], T + 1),    # pi from a long run from state 0
            "transposed": worst_tv(Q, stationary_solve(Q), T + 1)}
