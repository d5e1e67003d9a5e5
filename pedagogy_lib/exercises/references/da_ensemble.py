"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.da_ensemble`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def kalman_moments(p):
    """The Kalman update with the ensemble's sample covariances: (mean, covariance, N)."""
    N = p.E.shape[0]
    m0, h0 = p.E.mean(axis=0), p.HE.mean(axis=0)
    P = np.cov(p.E.T, ddof=1)
    Pxy = (p.E - m0).T @ (p.HE - h0) / (N - 1)
    Pyy = np.atleast_2d(np.cov(p.HE.T, ddof=1)) + p.R
    K = np.linalg.solve(Pyy, Pxy.T).T
    return m0 + K @ (p.y - h0), P - K @ Pxy.T, N


def cycling_etkf_variant(p, inflation, *, forecast_first=False, R=None, members=False):
    """The statement's cycling ETKF, with the hints' slips as options."""
    from ...assimilation.lorenz import lorenz96, propagate
    E, (N, n) = p.E0.copy(), p.E0.shape
    Wr = np.linalg.inv(np.linalg.cholesky(p.R if R is None else R))
    out = np.empty((len(p.Y), N, n))
    for t, y_t in enumerate(p.Y):
        if t > 0 or forecast_first:
            E = propagate(lorenz96(n), E)
        xb = E.mean(axis=0)
        E = inflation * E if members else xb + inflation * (E - xb)
        xb = E.mean(axis=0)
        X = (E - xb).T / np.sqrt(N - 1)
        S = (Wr @ X).T
        g, U = np.linalg.eigh(np.eye(N) + S @ S.T)
        w = U @ ((U.T @ (S @ (Wr @ (y_t - xb)))) / g)
        E = (xb + X @ w) + np.sqrt(N - 1) * (X @ (U / np.sqrt(g)) @ U.T).T
        out[t] = E
    return out


def etkf_reference(p) -> np.ndarray:
    """The library's ETKF on the problem: the analysis ensembles, (T, N, n)."""
    from ...assimilation.ensemble import enkf
    from ...assimilation.lorenz import lorenz96
    from ...assimilation.model import DAModel
    N, n = p.E0.shape
    model = DAModel(lorenz96(n), p.E0.mean(axis=0), np.eye(n), np.zeros((n, n)), np.eye(n), np.zeros(n), p.R)
    return enkf(model, p.Y, n_members=N, rng=np.random.default_rng(0), inflation=p.inflation,
                initial_ensemble=p.E0).ensemble
