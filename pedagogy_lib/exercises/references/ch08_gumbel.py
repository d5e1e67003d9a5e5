"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch08_gumbel`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np
from scipy.special import softmax as _softmax


def normal_pdf(x, mean, sd):
    """The normal density N(x; mean, sd^2)."""
    return float(np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)))


def relaxed_samples(eta, G0, s):
    """The relaxed samples, one per row of G0."""
    return _softmax((eta + G0) / s, axis=1)


def through_jacobian(y, v, s):
    """v (S, K) multiplied by the softmax Jacobian at each row of y, built in full."""
    out = np.empty_like(v)
    for i in range(y.shape[0]):
        J = (np.diag(y[i]) - np.outer(y[i], y[i])) / s
        out[i] = J.T @ v[i]
    return out
