"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch10_local_nce`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np
from scipy.special import softmax


def local_variants(theta, T_pos, T_neg, En_pos, En_neg, *, halves=False, mean_neg=False, summed=False,
                    pos_flipped=False, h_flipped=False, hess_first=False, hess_neg_sub=False):
    """(gradient, Hessian) of the loss of Eq. 10.13 trial by trial, or a named slip's."""
    N, K1, P = T_neg.shape
    a = 1.0 if summed else 1.0 / N                               # weight of a trial
    b = 1.0 / K1 if mean_neg else 1.0                            # weight of a negative within its trial
    if halves:
        a *= 0.5
    s = -1.0 if h_flipped else 1.0
    grad, hess = np.zeros(P), np.zeros((P, P))
    for n in range(N):
        h = s * (En_pos[n] - T_pos[n] @ theta)                    # dh/dtheta = -s T
        w = 1.0 / (1.0 + np.exp(-h if pos_flipped else h))        # the derivative of log(1 + e^(-h)) is -this
        grad += a * w * s * T_pos[n]
        q = w if hess_first else w * (1.0 - w)                    # d sigma(-h) / dh = -sigma(h) sigma(-h)
        hess += a * q * np.outer(T_pos[n], T_pos[n])
        for j in range(K1):
            h = s * (En_neg[n, j] - T_neg[n, j] @ theta)
            w = 1.0 / (1.0 + np.exp(-h))
            grad -= a * b * s * w * T_neg[n, j]
            q = w if hess_first else w * (1.0 - w)
            hess += (-1.0 if hess_neg_sub else 1.0) * a * b * q * np.outer(T_neg[n, j], T_neg[n, j])
    return grad, hess


def infonce_variant(theta, T_pos, T_neg, En_pos, En_neg):
    """(gradient, Hessian) of InfoNCE's softmax cross entropy on the same trials."""
    T = np.concatenate([T_pos[:, None], T_neg], axis=1)
    h = np.concatenate([En_pos[:, None], En_neg], axis=1) - T @ theta
    soft = softmax(h, axis=1)
    mean_T = np.einsum("nk,nkp->np", soft, T)
    hess = np.einsum("nk,nkp,nkq->pq", soft, T, T) / len(h) - mean_T.T @ mean_T / len(h)
    return np.mean(T_pos - mean_T, axis=0), hess
