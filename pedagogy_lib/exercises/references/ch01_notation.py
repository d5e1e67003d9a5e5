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


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def bayes_slips(prob) -> dict:
    """Tables that named slips give."""
    p, z = joint_table(prob), prob.z
    p_xy = p.sum(axis=2)
    like = prob.p_y_xz[:, :, z]                                  # [x, y]: p(y | x, z)

    def over_x(t):
        return t / t.sum(axis=0, keepdims=True)

    return {
        "you used p(x) as the prior of Eq. 1.2, which leaves out what the bound z says about X":
            over_x(like * prob.p_x[:, None]),
        "you used p(z | x) as the prior of Eq. 1.2: that is a likelihood of z, not a distribution of X":
            over_x(like * prob.p_z_x[:, z][:, None]),
        "you normalized the likelihood p(y | x, z) over x, leaving out the prior of Eq. 1.2": over_x(like),
        "Z is summed out instead of bound: that is the conditional given Y alone": over_x(p_xy),
        "you dropped Y: each column is the distribution of X given the bound Z alone":
            np.repeat((p[:, :, z].sum(axis=1) / p[:, :, z].sum())[:, None], p.shape[1], axis=1),
        "you stopped at the numerator of Eq. 1.2 and did not divide by the evidence":
            like * (prob.p_x * prob.p_z_x[:, z])[:, None],
    }


def hmm_slips(pi, A, B, y, neg) -> dict:
    """Named wrong derivations on one problem (minus infinity replaced by ``neg``, as in the comparison)."""
    K, V, T = len(pi), B.shape[0], len(y)
    ref = log_joint_loops(pi, A, B, y)
    out = {
        "you read A row by row: A[i, j] is the probability of moving to state i from state j (columns sum to "
        "one), so a step from x_{t-1} to x_t takes the entry in row x_t and column x_{t-1}":
            log_joint_loops(pi, A, B, y, transposed=True),
        "you left out the distribution pi of the first state":
            log_joint_loops(pi, A, B, y, no_prior=True),
        "you paired each state with the observation of another time step; axis t goes with y[t]":
            log_joint_loops(pi, A, B, y, shift=True),
        "you applied a transition to pi before the first state; pi is already the distribution of x_1":
            log_joint_loops(pi, A, B, y, prior_moved=True),
        "you normalized over the state sequences: that is the posterior over the sequences, not the "
        "partially evaluated joint (its sum over all sequences is the probability of y)":
            ref - np.logaddexp.reduce(ref.ravel()),
        "you returned probabilities; the exercise asks for their logarithms": np.exp(ref),
    }
    if V == K:
        out["you read B as B[state, symbol]; its rows are symbols and its columns states"] = \
            log_joint_loops(pi, A, B, y, B_transposed=True)
    if np.any(y < 0):
        out["you used -1 as an index: B[-1] is the row of the last symbol, not a symbol that was not recorded"] = \
            log_joint_loops(pi, A, B, y, missing_as_last=True)
        out["you gave an unrecorded symbol the probability 1/V"] = log_joint_loops(pi, A, B, y,
                                                                                   missing_uniform=True)
        if np.any(y[1:] < 0):
            out["you left out the transition into a step whose symbol was not recorded; only its symbol is missing"] = \
                log_joint_loops(pi, A, B, y, missing_drops_step=True)
    if T > 1:
        out["your axes are in the reverse order: axis t must hold the state at time step t"] = ref.T
    return {k: np.where(np.isneginf(v), neg, v) for k, v in out.items()}
