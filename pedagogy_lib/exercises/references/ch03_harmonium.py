"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch03_harmonium`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import itertools
from math import lgamma

import numpy as np
from scipy.special import logsumexp

from ...harmonium.model import EFHParams


def binary_states(n):
    """All 2**n binary states of n units, one per row."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)))


def joint_neg_energy(p: EFHParams):
    """-E(x, y) for every joint state, rows x, columns y, and the state lists."""
    X, Y = binary_states(p.W.shape[0]), binary_states(p.W.shape[1])
    return (X @ p.b_x)[:, None] + (Y @ p.b_y)[None, :] + X @ p.W @ Y.T, X, Y


def log_partition(p: EFHParams) -> float:
    """log Z of a harmonium by summing over every joint state."""
    return float(logsumexp(joint_neg_energy(p)[0]))


def binomial_B_by_sum(zeta, n: int):
    """The binomial layer's log partition, term by term."""
    return sum(logsumexp([z * c + lgamma(n + 1.0) - lgamma(c + 1.0) - lgamma(n - c + 1.0) for c in range(n + 1)])
               for z in zeta)


def distinct_means(W) -> int:
    """How many distinct means x @ W the binary states x give."""
    sums = {tuple(np.asarray(x, dtype=float) @ W) for x in itertools.product((0.0, 1.0), repeat=W.shape[0])}
    return len(sums)
