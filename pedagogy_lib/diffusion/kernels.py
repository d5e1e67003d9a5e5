r"""numba kernel of the diffusion family: annealed Langevin dynamics with the exact force of a
noised Gaussian mixture (Section 8.3, Eq. 8.44).

For data from a Gaussian mixture the noised marginal at every level is again a mixture, whose force
:math:`\partial\log p(\mathbf y)/\partial\mathbf y^{\mathsf T} = \sum_k r_k(\mathbf y)\,\mathbf P_k(\boldsymbol\mu_k-\mathbf y)`
is exact; the kernel runs many Langevin chains on it, one step after another. The public functions
(:func:`~pedagogy_lib.diffusion.sampling.langevin_gmm`,
:func:`~pedagogy_lib.diffusion.sampling.annealed_langevin`), their validation and the readable NumPy
twin ``_langevin_gmm_numpy`` are in :mod:`~pedagogy_lib.diffusion.sampling`.

Contract: the kernel updates the caller's array in place, draws no random number (the standard
normals come in as an array drawn by NumPy) and validates nothing; the caller checks the chains for
overflow after each block of steps.
"""
from __future__ import annotations

import numpy as np

from ..core.jit import njit

__all__ = ["warmup_kernels"]


@njit
def langevin_gmm_steps(y, mu, P, c, eps, Z):
    r"""Unadjusted Langevin steps (Eq. 8.44) with the exact force of a Gaussian mixture, in place on ``y`` (C, d).

    For every chain and every row ``Z[t]`` of standard normals:
    :math:`\mathbf y \leftarrow \mathbf y + \epsilon\sum_k r_k(\mathbf y)\mathbf P_k(\boldsymbol\mu_k-\mathbf y)
    + \sqrt{2\epsilon}\,\mathbf z_t`, with precisions ``P`` (K, d, d) and responsibilities
    :math:`r_k \propto \exp(c_k - \tfrac12(\boldsymbol\mu_k-\mathbf y)^{\mathsf T}\mathbf P_k(\boldsymbol\mu_k-\mathbf y))`,
    ``c`` (K,) the log weights minus half the log-determinants of the covariances. NumPy twin:
    :func:`~pedagogy_lib.diffusion.sampling._langevin_gmm_numpy`.
    """
    T, C, d = Z.shape
    K = mu.shape[0]
    diff = np.empty((K, d))
    Pd = np.empty((K, d))
    logit = np.empty(K)
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
                logit[k] = c[k] - 0.5 * q
                if logit[k] > mx:
                    mx = logit[k]
            tot = 0.0
            for k in range(K):
                logit[k] = np.exp(logit[k] - mx)
                tot += logit[k]
            for i in range(d):
                f = 0.0
                for k in range(K):
                    f += logit[k] * Pd[k, i]
                y[n, i] += eps * f / tot + root * Z[t, n, i]


def warmup_kernels() -> None:
    """Compile (or load from the cache) the Langevin kernel on a tiny mixture: two components in 2-D,
    two chains, two steps."""
    mu = np.array([[-1.0, 0.0], [1.0, 0.0]])
    P = np.array([np.eye(2), np.eye(2)])
    langevin_gmm_steps(np.zeros((2, 2)), mu, P, np.log(np.array([0.5, 0.5])), 0.01, np.zeros((2, 2, 2)))
