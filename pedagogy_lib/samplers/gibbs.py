r"""Systematic-scan Gibbs sampling of a Gaussian target as an ``(init, step)`` pair over many chains.

Markov chain Monte Carlo (Section 8.4, from the variational-inference seed notes). For
:math:`\mathcal N(\boldsymbol\mu,\boldsymbol\Lambda^{-1})` each coordinate's full conditional is
Gaussian,

.. math::
    x_i\mid\mathbf x_{\setminus i}\ \sim\ \mathcal N\Big(\mu_i - \Lambda_{ii}^{-1}\sum_{j\ne i}
    \Lambda_{ij}(x_j-\mu_j),\ \Lambda_{ii}^{-1}\Big),

and a step draws :math:`x_1, \dots, x_D` from theirs in turn. It is the Metropolis-Hastings
sampler whose proposal is the full conditional, so every proposal is accepted. The sweep reads
the precision in the storage :func:`~pedagogy_lib.samplers.targets.precision_storage` chose
(dense or sparse rows), through a numba kernel or its NumPy twin.
"""
from __future__ import annotations

import numpy as np

from . import kernels
from .proposals import ChainState, start_chains
from .targets import GaussianTarget

#: ``init(x, density) -> ChainState``: the target evaluated at the starting points.
init = start_chains


def draw(rng, T, C, D):
    """Standard normals ``(T, C, D)`` for ``T`` sweeps; no uniforms (every sweep is kept), zeros in their place."""
    return rng.standard_normal((T, C, D)), np.zeros((T, C))


def settings(target):
    """Nothing to set; the target must be a Gaussian."""
    if not isinstance(target, GaussianTarget):
        raise ValueError("method 'gibbs' needs a GaussianTarget (its full conditionals are Gaussian); got "
                         f"{type(target).__name__}.")
    return None


def _sweep_dense_numpy(x, mu, Lam, z):
    for i in range(x.shape[1]):
        prec = Lam[i, i]
        r = (x - mu) @ Lam[i] - prec * (x[:, i] - mu[i])                 # sum over j != i
        x[:, i] = mu[i] - r / prec + z[:, i] / np.sqrt(prec)


def _sweep_csr_numpy(x, mu, csr, diag, z):
    for i in range(x.shape[1]):
        row = slice(csr.indptr[i], csr.indptr[i + 1])
        cols, vals = csr.indices[row], csr.values[row]
        off = cols != i
        r = (x[:, cols[off]] - mu[cols[off]]) @ vals[off]
        x[:, i] = mu[i] - r / diag[i] + z[:, i] / np.sqrt(diag[i])


#: The sweep for each (storage, backend): in place on a copy of the chains' points.
SWEEPS = {("dense", "numba"): kernels.gibbs_sweep_dense, ("dense", "numpy"): _sweep_dense_numpy,
          ("csr", "numba"): kernels.gibbs_sweep_csr, ("csr", "numpy"): _sweep_csr_numpy}


def step(state: ChainState, z, log_u, density, ops, _settings=None) -> ChainState:
    """One sweep of every chain: ``z`` (C, D) standard normals; ``log_u`` is not used.

    Returns the new state, every sweep counted as accepted; ``state`` is left untouched.
    """
    x = state.x.copy()
    SWEEPS[density.storage, density.backend](x, *density.arrays, z)
    log_p, force = density.evaluate(x)
    return ChainState(x, log_p, force, state.n_accept + 1.0, state.n_steps + 1)
