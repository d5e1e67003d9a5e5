"""Plain NumPy references for the sampler benchmarks: random-walk MH and MALA over many chains.

Written from the definitions, independently of ``pedagogy_lib.samplers``: one vectorized
Metropolis-Hastings step for all chains at a time, with the log density and its gradient given as
NumPy functions of a ``(C, D)`` array. They are the "what you would write by hand" baseline that
each peer's timing is read against.
"""
from __future__ import annotations

import numpy as np


def banana_logp_grad(x, b=1.0, s=1.0):
    r = x[:, 1] - b * (x[:, 0] ** 2 - s * s)
    logp = -0.5 * x[:, 0] ** 2 / (s * s) - 0.5 * r * r
    grad = np.column_stack([-x[:, 0] / (s * s) + 2.0 * b * x[:, 0] * r, -r])
    return logp, grad


def gaussian_logp_grad(Lambda):
    def f(x):
        g = -x @ Lambda
        return 0.5 * np.sum(x * g, axis=1), g
    return f


def run(logp_grad, x0, n_steps, rng, *, method, step, keep):
    """``n_steps`` of RWMH (``step`` = proposal sd) or MALA (``step`` = Langevin step) for every chain."""
    x = x0.copy()
    lp, g = logp_grad(x)
    trace = np.empty((n_steps, x.shape[0], len(keep)))
    for t in range(n_steps):
        z = rng.standard_normal(x.shape)
        if method == "rwmh":
            xn = x + step * z
            lpn, gn = logp_grad(xn)
            log_ratio = lpn - lp
        else:
            xn = x + step * g + np.sqrt(2 * step) * z
            lpn, gn = logp_grad(xn)
            fwd = np.sum((xn - x - step * g) ** 2, axis=1)
            rev = np.sum((x - xn - step * gn) ** 2, axis=1)
            log_ratio = lpn - lp - (rev - fwd) / (4 * step)
        acc = np.log(rng.random(x.shape[0])) < log_ratio
        x[acc], lp[acc], g[acc] = xn[acc], lpn[acc], gn[acc]
        trace[t] = x[:, keep]
    return trace
