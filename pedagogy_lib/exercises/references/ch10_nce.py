"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch10_nce`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def newton_variants(theta, T_pos, T_neg, En_pos, En_neg, *, pooled=False, flip=False, uphill=False):
    """theta after one full Newton step on the loss of Eq. 10.4, or a named slip's step."""
    h_pos, h_neg = En_pos - T_pos @ theta, En_neg - T_neg @ theta
    if flip:
        h_pos, h_neg = -h_pos, -h_neg
    n_pos, n_neg = len(h_pos), len(h_neg)
    a_pos, a_neg = (1.0 / (n_pos + n_neg),) * 2 if pooled else (0.5 / n_pos, 0.5 / n_neg)
    g = np.zeros(theta.size)
    H = np.zeros((theta.size, theta.size))
    for n in range(n_pos):                                        # sample by sample, as written on the page
        s = 1.0 / (1.0 + np.exp(h_pos[n]))                        # sigma of minus h
        g += a_pos * s * T_pos[n]
        H += a_pos * s * (1 - s) * np.outer(T_pos[n], T_pos[n])
    for n in range(n_neg):
        s = 1.0 / (1.0 + np.exp(-h_neg[n]))                       # sigma of h
        g -= a_neg * s * T_neg[n]
        H += a_neg * s * (1 - s) * np.outer(T_neg[n], T_neg[n])
    step = np.linalg.solve(H, g)
    return theta + step if uphill else theta - step
