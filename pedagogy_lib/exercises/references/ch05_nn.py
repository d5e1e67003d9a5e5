"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch05_nn`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def residual_parts(case):
    """Pre-activation, its tanh, and the signal b per row."""
    A = case.Z_prev @ case.D.T + case.d
    T = np.tanh(A)
    return A, T, (1.0 - T * T) * case.G


def differences(f, theta, eps, scale=2.0, one_sided=False):
    """Difference quotients of f at theta: central ones divided by ``scale`` eps, or one-sided."""
    g = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = eps
        g[i] = (f(theta + e) - f(theta)) / eps if one_sided else (f(theta + e) - f(theta - e)) / (scale * eps)
    return g


def product_factors(Y, shift=1.0, with_y2=True):
    """The factors y_1, y_2 and y_2 + y_3 + shift (without y_2 if asked), one row per input."""
    return np.column_stack([Y[:, 0], Y[:, 1], (Y[:, 1] if with_y2 else 0.0) + Y[:, 2] + shift])


def product_network_output(D1, d1, D2, d2, Y):
    """(the network's output, its first pre-activation) of the log-exp product network on the rows of Y."""
    A1 = Y @ D1.T + d1
    with np.errstate(all="ignore"):
        Z1 = np.log(A1)
        return np.exp(Z1 @ D2.T + d2), A1
