"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch02_sparse`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np

from ...factor import sparse_coding as sc


def map_1d_reference(y, c, lam, alpha, gamma):
    """The one-dimensional posterior mode: the ridge point soft-thresholded at alpha over the curvature."""
    # lam/2 (y - c x)^2 + gamma/2 x^2 = (lam c^2 + gamma)/2 (x - lam c y / (lam c^2 + gamma))^2 + const
    h = lam * c * c + gamma
    z = lam * c * y / h
    return np.sign(z) * np.maximum(np.abs(z) - alpha / h, 0.0)


def hessian_reference(p):
    """The Hessian of the energy at x under the Cauchy prior, from the library."""
    model = sc.make_model(p.C, p.lam, None, p.beta, prior="cauchy")
    return sc.energy_hessian(p.x, model)


def evidence_parts(p):
    """(the Laplace approximation, L, K, log|H|) of an evidence problem."""
    model = sc.make_model(p.C, p.lam, p.alpha, p.beta)
    la = sc.laplace_approximation(p.y, model)
    L, K = p.C.shape
    logdet = float(np.linalg.slogdet(la.H)[1])
    return la, L, K, logdet
