"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch05_regression`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def tied_weights(S: np.ndarray) -> np.ndarray:
    """Sigma^{-1} 1 / (1^T Sigma^{-1} 1): the weights of the outputs that tied rows regress."""
    w = np.linalg.solve(S, np.ones(S.shape[0]))
    return w / w.sum()


def leverage_and_loo(X, y, n, lam):
    """h_nn and e_LOO,n of the ridge fit with strength lam, by Eq. A.7."""
    G = X @ X.T + lam * np.eye(X.shape[0])
    h = float(X[:, n] @ np.linalg.solve(G, X[:, n]))
    e = float(y[n] - X[:, n] @ np.linalg.solve(G, X @ y))
    return h, e / (1.0 - h)
