"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch01_notation`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import itertools

import numpy as np


def joint_table(prob) -> np.ndarray:
    """The joint table p(x, y, z) by explicit loops, indexed [x, y, z]."""
    Kx, Ky, Kz = prob.p_y_xz.shape
    p = np.empty((Kx, Ky, Kz))
    for i in range(Kx):
        for j in range(Ky):
            for k in range(Kz):
                p[i, j, k] = prob.p_x[i] * prob.p_z_x[i, k] * prob.p_y_xz[i, j, k]
    return p


def bayes_loops(p, z) -> np.ndarray:
    """p(x | y, z) for the bound z from the joint table p[x, y, z], by explicit loops."""
    Kx, Ky, _ = p.shape
    out = np.empty((Kx, Ky))
    for j in range(Ky):
        total = sum(p[i, j, z] for i in range(Kx))
        for i in range(Kx):
            out[i, j] = p[i, j, z] / total
    return out


def log_or_minus_inf(v) -> float:
    """log v, minus infinity at v = 0."""
    return float(np.log(v)) if v > 0 else -np.inf


def log_joint_loops(pi, A, B, y, *, transposed=False, no_prior=False, shift=False, B_transposed=False,
                     prior_moved=False, missing_as_last=False, missing_drops_step=False,
                     missing_uniform=False) -> np.ndarray:
    """The log of the partially evaluated joint at every state sequence; keywords switch on slips."""
    K, T = len(pi), len(y)
    V = B.shape[0]
    out = np.empty((K,) * T)
    Bt = B.T if B_transposed else B
    ys = np.roll(y, 1) if shift else y
    first = A @ pi if prior_moved else pi
    for x in itertools.product(range(K), repeat=T):
        v = 0.0 if no_prior else log_or_minus_inf(first[x[0]])
        for t in range(T):
            missing = ys[t] < 0
            if t > 0 and not (missing and missing_drops_step):
                v += log_or_minus_inf(A[x[t - 1], x[t]] if transposed else A[x[t], x[t - 1]])
            if not missing:
                v += log_or_minus_inf(Bt[ys[t], x[t]])
            elif missing_as_last:
                v += log_or_minus_inf(Bt[V - 1, x[t]])
            elif missing_uniform:
                v += log_or_minus_inf(1.0 / V)
        out[x] = v
    return out


def inner_function(A, theta) -> np.ndarray:
    """x = tanh(A theta), the inner function of the total derivative."""
    return np.tanh(A @ theta)


def chain_rule(A, c, lam, theta):
    """(partial, total) in closed form: lam x, and lam x + J^T (x - c + lam theta), J = diag(1 - x^2) A."""
    x = inner_function(A, theta)
    return lam * x, lam * x + ((1 - x ** 2)[:, None] * A).T @ (x - c + lam * theta)


def iterated_loops(p_y, Q, F):
    """(E[F | y] for every y, E[E[F | Y]]) by explicit loops over the joint Q[x, y]."""
    Kx, Ky = Q.shape
    inner = np.array([sum(Q[k, l] * F[k, l] for k in range(Kx)) / sum(Q[k, l] for k in range(Kx))
                      for l in range(Ky)])
    outer = sum(p_y[l] * inner[l] for l in range(Ky))
    return inner, outer
