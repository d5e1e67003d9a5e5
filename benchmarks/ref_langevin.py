"""Plain unadjusted Langevin dynamics (Eq. 8.44) on a Gaussian mixture, to measure ours against.

Written as a careful user would write it, twice:

* ``langevin_numpy``: vectorized NumPy over the chains, one step at a time. Each step forms the
  differences mu_k - y for every chain and component, the precisions times them, the responsibilities
  by a softmax of the log weights minus half the quadratic forms (shifted by the row maximum), and the
  force sum_k r_k P_k (mu_k - y); then y += eps * force + sqrt(2 eps) * z with z = rng.standard_normal((C, d)).
* ``langevin_numba``: the same step as one ``@njit`` loop over steps, chains and components, with the
  standard normals drawn by NumPy in Python before the loop, in blocks of about a million numbers
  (8 MB) so that 20,000 chains x 500 steps do not need 160 MB at once.

Both draw their normals from the generator they are given in the order ours does (step by step, chain
by chain, coordinate by coordinate), so the same seed gives the same chains. The precisions and the
constants log pi_k - log det(Sigma_k) / 2 are computed once with NumPy. No validation, no overflow check.
The numba loop is the faster of the two at every size of the benchmark's sweep, by 8-13x (the NumPy
version makes several (C, K, d) temporaries per step), so the sweep uses it as the reference. Not part
of the library.
"""
from __future__ import annotations

import numba
import numpy as np


def _mixture(pi, mu, Sigma):
    P = np.linalg.inv(Sigma)
    c = np.log(pi) - 0.5 * np.linalg.slogdet(Sigma)[1]
    return np.ascontiguousarray(mu, dtype=np.float64), np.ascontiguousarray(P), c


def langevin_numpy(pi, mu, Sigma, y0, n_steps, eps, rng):
    """``n_steps`` Langevin steps of the chains ``y0`` (C, d) on sum_k pi_k N(mu_k, Sigma_k), vectorized."""
    mu, P, c = _mixture(pi, mu, Sigma)
    y = np.array(y0, dtype=np.float64)
    root = np.sqrt(2.0 * eps)
    for _ in range(n_steps):
        diff = mu[None, :, :] - y[:, None, :]                     # (C, K, d)
        Pd = np.einsum("kij,ckj->cki", P, diff)                   # P_k (mu_k - y)
        logit = c - 0.5 * np.sum(diff * Pd, axis=2)               # (C, K)
        r = np.exp(logit - logit.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        force = np.einsum("ck,cki->ci", r, Pd)
        y += eps * force + root * rng.standard_normal(y.shape)
    return y


@numba.njit(cache=True)
def _steps(y, mu, P, c, eps, Z):
    T, C, d = Z.shape
    K = mu.shape[0]
    diff = np.empty((K, d))
    Pd = np.empty((K, d))
    w = np.empty(K)
    root = np.sqrt(2.0 * eps)
    for t in range(T):
        for n in range(C):
            mx = -np.inf
            for k in range(K):
                for i in range(d):
                    diff[k, i] = mu[k, i] - y[n, i]
                q = 0.0
                for i in range(d):
                    s = 0.0
                    for j in range(d):
                        s += P[k, i, j] * diff[k, j]
                    Pd[k, i] = s
                    q += diff[k, i] * s
                w[k] = c[k] - 0.5 * q
                mx = max(mx, w[k])
            total = 0.0
            for k in range(K):
                w[k] = np.exp(w[k] - mx)
                total += w[k]
            for i in range(d):
                f = 0.0
                for k in range(K):
                    f += w[k] * Pd[k, i]
                y[n, i] += eps * f / total + root * Z[t, n, i]


def langevin_numba(pi, mu, Sigma, y0, n_steps, eps, rng):
    """As :func:`langevin_numpy`, the step as a numba loop; normals drawn by NumPy in blocks of steps."""
    mu, P, c = _mixture(pi, mu, Sigma)
    y = np.array(y0, dtype=np.float64)
    C, d = y.shape
    block = max(1, (1 << 20) // (C * d))
    for start in range(0, n_steps, block):
        Z = rng.standard_normal((min(block, n_steps - start), C, d))
        _steps(y, mu, P, c, eps, Z)
    return y
