"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch09_nice`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np

from ...deepgen import nice as _nice
from ...nn.network import DenseParams as _Dense


def couplings(Y, n, m, *, first_even=True):
    """The flow's n additive couplings (shift function m) applied to every row of Y; the first half conditions when
    k is even."""
    U = np.array(Y, dtype=float)
    for k in range(n):
        if (k % 2 == 0) == first_even:
            U[:, 2:] = U[:, 2:] + m(U[:, :2])
        else:
            U[:, :2] = U[:, :2] + m(U[:, 2:])
    return U


def mean_loglik(U, sigma, *, log_det=True):
    """The flow's average log-likelihood of the couplings' outputs U (``log_det``: with the log-determinant)."""
    X = np.exp(sigma) * U
    lp = np.mean(np.sum(-0.5 * X * X - 0.5 * np.log(2 * np.pi), axis=1))
    return float(lp + (np.sum(sigma) if log_det else 0.0))


def shears(eps):
    """(kick, drift): the leapfrog's two shear matrices for U = x^2/2 with step eps."""
    kick = np.array([[1.0, 0.0], [-eps / 2, 1.0]])          # p += (eps/2) f(x), f(x) = -x
    drift = np.array([[1.0, eps], [0.0, 1.0]])              # x += eps p
    return kick, drift


def nice_reference(Y, masks, nets, sigma):
    """Eq. 9.7 per row, from the library's flow built with these couplings (tanh hidden layer, linear output)."""
    model = _nice.make_nice(Y.shape[1], partitions=list(masks), hidden=(nets[0][0].shape[0],), activation="tanh")
    params = _nice.NICEParams(tuple((_Dense(W, b), (), _Dense(V, v), ()) for W, b, V, v in nets), sigma)
    return _nice.log_likelihood(model, params, Y)


def nice_variant(Y, masks, nets, sigma, *, log_det=True, normalizer=True, swapped=False, from_data=False):
    """Eq. 9.7 per row written out, with one named slip switched on."""
    h = np.array(Y, dtype=float)
    for m, (W, b, V, v) in zip(masks, nets):
        a = ~m if swapped else m
        src = Y if from_data else h
        h = h.copy()
        h[:, ~a] += np.tanh(src[:, a] @ W.T + b) @ V.T + v
    X = h * np.exp(sigma)
    K = Y.shape[1]
    return (-0.5 * np.sum(X * X, axis=1) - (0.5 * K * np.log(2 * np.pi) if normalizer else 0.0)
            + (np.sum(sigma) if log_det else 0.0))


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def nice_slips(Y, masks, nets, sigma) -> dict:
    """Named wrong log-likelihoods on one problem (the swapped partition only where the halves have equal sizes)."""
    hints = {
        "you left out the log-determinant sum_k sigma_k of the scaling": nice_variant(Y, masks, nets, sigma,
                                                                                           log_det=False),
        "you left out the prior's normalizer -(K/2) log(2 pi)":
            nice_variant(Y, masks, nets, sigma, normalizer=False),
        "every coupling read the data y instead of the output of the coupling before it: the couplings are "
        "composed, each acting on what the previous one returned": nice_variant(Y, masks, nets, sigma,
                                                                                     from_data=True),
    }
    if all(2 * m.sum() == m.size for m in masks):
        hints["you read the masks the other way round: True marks the conditioning part a, which is copied, and "
              "m is added to the other part"] = nice_variant(Y, masks, nets, sigma, swapped=True)
    return hints
