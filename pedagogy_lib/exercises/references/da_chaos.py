"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.da_chaos`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def field(z):
    """The Lorenz-63 vector field at one state or at each row of an array of states."""
    s, r, b = 10.0, 28.0, 8.0 / 3.0
    return np.stack([s * (z[..., 1] - z[..., 0]), z[..., 0] * (r - z[..., 2]) - z[..., 1],
                     z[..., 0] * z[..., 1] - b * z[..., 2]], axis=-1)


def jacobian(x) -> np.ndarray:
    """The Jacobian of the Lorenz-63 vector field at one state."""
    s, r, b = 10.0, 28.0, 8.0 / 3.0
    return np.array([[-s, s, 0.0], [r - x[2], -1.0, -x[0]], [x[1], x[0], -b]])


def tlm_variant(x, dx, dt, n_steps, *, at_stages=True, advance=True, transposed=False, chained=True):
    """One cycle of the state and of the tangent-linear model, written out, with one named slip switched on."""
    def J(z):
        return jacobian(z).T if transposed else jacobian(z)

    x0, d = np.array(x, dtype=float), np.array(dx, dtype=float)
    z = x0.copy()
    for _ in range(n_steps):
        base = z if advance else x0
        k1 = field(base)
        k2 = field(base + dt / 2 * k1)
        k3 = field(base + dt / 2 * k2)
        points = [base, base + dt / 2 * k1, base + dt / 2 * k2, base + dt * k3]
        Js = [J(p) if at_stages else J(base) for p in points]
        c = [0.0, dt / 2, dt / 2, dt]
        dk, prev = [], np.zeros_like(d)
        for Ji, ci in zip(Js, c):
            prev = Ji @ (d + ci * prev) if chained else Ji @ d
            dk.append(prev)
        d = d + dt / 6 * (dk[0] + 2 * dk[1] + 2 * dk[2] + dk[3])
        z = rk4_cycle(z, dt, 1)
    return z, d


def rk4_cycle(x, dt=0.01, n_steps=10):
    """One observation cycle of the Lorenz-63 flow: n_steps classical RK4 steps of dt from x."""
    f = field
    for _ in range(n_steps):
        k1 = f(x)
        k2 = f(x + dt / 2 * k1)
        k3 = f(x + dt / 2 * k2)
        k4 = f(x + dt * k3)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def cycle_jacobians(X) -> np.ndarray:
    """The Jacobian of one cycle at each row of X, (len(X), 3, 3), by central differences of this module's RK4 cycle."""
    h = 1e-6
    cols = [(rk4_cycle(X + h * e) - rk4_cycle(X - h * e)) / (2 * h) for e in np.eye(3)]
    return np.stack(cols, axis=-1)
