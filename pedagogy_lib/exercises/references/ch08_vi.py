"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch08_vi`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import math

import numpy as np


def pairs(Lam) -> float:
    """log(1e-6) / log(rho^2) for a 2 x 2 precision: the pairs of parallel updates, before rounding."""
    return math.log(1e-6) / math.log(Lam[0, 1] ** 2 / (Lam[0, 0] * Lam[1, 1]))


def kl(m_q, S_q, m_p, S_p) -> float:
    """D_KL{N(m_q, S_q) || N(m_p, S_p)}."""
    m_q, m_p = np.asarray(m_q, float), np.asarray(m_p, float)
    d = m_p - m_q
    P = np.linalg.inv(S_p)
    return 0.5 * float(np.trace(P @ S_q) + d @ P @ d - m_q.size
                       + np.linalg.slogdet(S_p)[1] - np.linalg.slogdet(S_q)[1])


def gauss_seidel(mu, Lam, m, *, keep_own=False, sign=1.0, divide=True, order=None):
    """One sweep of coordinate updates from the newest means, the named slips as options."""
    m = np.array(m, dtype=float)
    D = mu.size
    for j in (range(D) if order is None else order):
        r = sum(Lam[j, k] * (m[k] - mu[k]) for k in range(D) if keep_own or k != j)
        m[j] = mu[j] - sign * (r / Lam[j, j] if divide else r)
    return m
