"""Plain references for the data-assimilation benchmarks: a fully vectorized NumPy ensemble Kalman
filter on Lorenz-96 (perturbed observations, multiplicative inflation), written independently of
``pedagogy_lib.assimilation``.

The whole ensemble moves as one (N, n) array: the Lorenz-96 vector field with ``np.roll``, one RK4
step per cycle, and the analysis with matrix products and one linear solve per cycle. Random
numbers are drawn in blocks up front, in the same order as the library draws them, so that with
the same seed both filters see the same observation perturbations.
"""
from __future__ import annotations

import numpy as np


def l96_field(X, F):
    return (np.roll(X, -1, axis=1) - np.roll(X, 2, axis=1)) * np.roll(X, 1, axis=1) - X + F


def l96_rk4(X, F, dt, n_steps):
    for _ in range(n_steps):
        k1 = l96_field(X, F)
        k2 = l96_field(X + 0.5 * dt * k1, F)
        k3 = l96_field(X + 0.5 * dt * k2, F)
        k4 = l96_field(X + dt * k3, F)
        X = X + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return X


def enkf_l96(E0, y, C, R, pert, *, F=8.0, dt=0.05, n_steps=1, inflation=1.0):
    """Perturbed-observation EnKF; ``pert`` (T, N, m) are the observation perturbations. Returns the analysis means (T, n)."""
    T = y.shape[0]
    N = E0.shape[0]
    E = E0.copy()
    means = np.empty((T, E.shape[1]))
    for t in range(T):
        if t > 0:
            E = l96_rk4(E, F, dt, n_steps)
        xb = E.mean(axis=0)
        A = inflation * (E - xb)
        E = xb + A
        HA = A @ C.T
        P_xz = A.T @ HA / (N - 1)
        P_zz = HA.T @ HA / (N - 1) + R
        K = np.linalg.solve(P_zz, P_xz.T).T
        E = E + (y[t] + pert[t] - E @ C.T) @ K.T
        means[t] = E.mean(axis=0)
    return means
