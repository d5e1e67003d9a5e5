"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch05_bptt`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import math

import numpy as np


def signals(case, kind: str = "right") -> np.ndarray:
    """The signals b_t in rows, right (``kind="right"``) or with a named slip."""
    T, N, H = case.Z.shape
    J = 1.0 - case.Z ** 2
    B = np.zeros((T + 2, N, H))                  # two zero rows: no signal after the last step
    U = np.zeros((T + 2, N, H))                  # dS/dz_t, for the slips that use it
    D1, D2 = (case.D_zz.T, case.D_skip.T) if kind == "no_transpose" else (case.D_zz, case.D_skip)
    for t in range(T - 1, -1, -1):
        if kind == "no_future":
            U[t] = case.G[t]
        elif kind == "no_skip":                  # the plain RNN's recursion
            U[t] = case.G[t] + B[t + 1] @ D1
        elif kind == "skip_one_step":            # the skip weights applied to b_{t+1}
            U[t] = case.G[t] + B[t + 1] @ (D1 + D2)
        elif kind == "skip_total":               # the skip path without the Jacobian at its end
            U[t] = case.G[t] + B[t + 1] @ D1 + U[t + 2] @ D2
        else:
            U[t] = case.G[t] + B[t + 1] @ D1 + B[t + 2] @ D2
        B[t] = J[t] * U[t]
    return (U if kind == "total_not_b" else B)[:T]


def forward_rtrl(c, kind: str = "") -> tuple[np.ndarray, np.ndarray]:
    """The forward recursion: ``S[t-1] = dz_t/d(w, u, d)`` and the gradient; ``kind`` names a slip."""
    T = len(c.y)
    z_prev, s = 0.0, np.zeros(3)                        # z_{t-1} and s_{t-1} = dz_{t-1}/d(w, u, d)
    S, grad = np.zeros((T, 3)), np.zeros(3)
    for t in range(T):                                  # row t is the book's step t + 1
        y_t, x_t = float(c.y[t]), float(c.x[t])
        z = math.tanh(c.w * z_prev + c.u * y_t + c.d)
        J = 1.0 - (z_prev * z_prev if kind == "J_prev" else z * z)
        direct = np.array([z if kind == "z_t" else z_prev, y_t, 1.0])
        if kind == "no_direct":
            direct = np.zeros(3)
        s_old = s
        if kind == "truncated":
            s = J * direct
        elif kind == "no_w":
            s = J * (direct + s)
        elif kind == "J_direct_only":
            s = J * direct + c.w * s
        else:
            s = J * (direct + c.w * s)
        S[t] = s_old if kind == "rows_shifted" else s
        grad += (z - x_t) * (s_old if kind == "grad_lag" else s)
        z_prev = z
    return S, grad


def signal_norms(p, n: int) -> np.ndarray:
    """||b_{T-k}|| / ||b_T|| for k = 0..n-1."""
    k = np.arange(n, dtype=float)
    return p.rho ** k * np.sqrt(1.0 + (p.shear * k) ** 2)
