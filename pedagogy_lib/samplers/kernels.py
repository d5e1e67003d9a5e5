r"""numba kernels of the samplers: each one loop over the chains, one piece of one step.

Markov chain Monte Carlo (Section 8.4, from the variational-inference seed notes). A sampler's
step is put together in Python from these pieces (see :mod:`~pedagogy_lib.samplers.proposals`),
steps outer and chains inner: draw the proposal for every chain, evaluate the target at every
proposal, compute the Metropolis-Hastings log ratio, keep or reject. No kernel chooses an algorithm
by an integer code, and no kernel draws a random number: the normals and uniforms come in as
arrays drawn by NumPy.

The pieces, with their NumPy twins in :mod:`~pedagogy_lib.samplers.proposals` and
:mod:`~pedagogy_lib.samplers.targets`:

* targets: the banana, and a Gaussian :math:`\mathcal N(\boldsymbol\mu,\boldsymbol\Lambda^{-1})`
  whose precision is stored in compressed sparse rows (a dense precision is multiplied by BLAS
  over all chains at once, and :func:`gaussian_log_density_from_product` finishes the job);
* proposals: the Gaussian random walk :math:`\mathbf x + \sigma\mathbf z`, the Langevin step of
  Eq. 8.44 :math:`\mathbf x + \epsilon\mathbf f(\mathbf x) + \sqrt{2\epsilon}\,\mathbf z` and the
  log density of that proposal, the leapfrog kick and drift, the momentum's log density;
* the Metropolis-Hastings selection (keep the proposal where :math:`\log U` is below the log
  ratio, NaN rejecting);
* Gibbs sweeps over a dense or a sparse precision.

Every kernel writes into arrays its caller allocated and returns nothing.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.jit import njit

__all__ = ["warmup_kernels"]


class CSR(NamedTuple):
    """A square matrix in compressed sparse rows, as the kernels read a sparse precision: the nonzero
    entries of row ``i`` are ``values[indptr[i]:indptr[i + 1]]``, in the columns
    ``indices[indptr[i]:indptr[i + 1]]`` (increasing); built by :func:`~pedagogy_lib.samplers.targets.csr_of`."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray


# ----------------------------------------------------------------------------------------------
# Targets: log p~ into log_p (C,), the force d log p~ / dx into force (C, D)
# ----------------------------------------------------------------------------------------------

@njit
def banana_log_density_and_force(x, b, s, log_p, force):
    """The banana at every row of ``x`` (C, 2); same algebra as the NumPy twin in ``targets``."""
    for c in range(x.shape[0]):
        x1, x2 = x[c, 0], x[c, 1]
        r = x2 - b * (x1 * x1 - s * s)                   # residual of x2 about the ridge
        force[c, 0] = -x1 / (s * s) + 2.0 * b * x1 * r
        force[c, 1] = -r
        log_p[c] = -0.5 * x1 * x1 / (s * s) - 0.5 * r * r


@njit
def gaussian_csr_log_density_and_force(x, mu, csr, log_p, force):
    """The Gaussian with precision in sparse rows ``csr`` (``indptr``, ``indices``, ``values``).

    ``force[c] = -Lambda (x[c] - mu)``, ``log_p[c] = (x[c] - mu) . force[c] / 2``.
    """
    indptr, indices, values = csr.indptr, csr.indices, csr.values
    for c in range(x.shape[0]):
        out = 0.0
        for i in range(x.shape[1]):
            acc = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                acc -= values[k] * (x[c, j] - mu[j])
            force[c, i] = acc
            out += 0.5 * (x[c, i] - mu[i]) * acc
        log_p[c] = out


@njit
def gaussian_log_density_from_product(d, force, log_p):
    """Finish a dense Gaussian: ``force`` holds ``d @ Lambda`` (``d = x - mu``) on entry.

    Negates it in place into the force and writes ``log_p[c] = d[c] . force[c] / 2``.
    """
    for c in range(d.shape[0]):
        out = 0.0
        for i in range(d.shape[1]):
            f = -force[c, i]
            force[c, i] = f
            out += d[c, i] * f
        log_p[c] = 0.5 * out


# ----------------------------------------------------------------------------------------------
# Proposals and their densities
# ----------------------------------------------------------------------------------------------

@njit
def random_walk_proposal(x, z, sigma, out):
    """``out = x + sigma z``: the Gaussian random walk (symmetric, so its density cancels)."""
    for c in range(x.shape[0]):
        for i in range(x.shape[1]):
            out[c, i] = x[c, i] + sigma * z[c, i]


@njit
def langevin_proposal(x, force, z, eps, out):
    """``out = x + eps f(x) + sqrt(2 eps) z``: one step of Langevin dynamics, Eq. 8.44."""
    root = np.sqrt(2.0 * eps)
    for c in range(x.shape[0]):
        for i in range(x.shape[1]):
            out[c, i] = x[c, i] + eps * force[c, i] + root * z[c, i]


@njit
def langevin_log_density(x_to, x_from, force_from, eps, out):
    """``out[c] = log N(x_to[c]; x_from[c] + eps f(x_from[c]), 2 eps I)``, normalized."""
    D = x_to.shape[1]
    log_norm = -0.5 * D * np.log(4.0 * np.pi * eps)
    for c in range(x_to.shape[0]):
        s = 0.0
        for i in range(D):
            d = x_to[c, i] - x_from[c, i] - eps * force_from[c, i]
            s += d * d
        out[c] = -s / (4.0 * eps) + log_norm


@njit
def leapfrog_kick(p, force, h):
    """``p += h f`` in place: a momentum update of the leapfrog integrator."""
    for c in range(p.shape[0]):
        for i in range(p.shape[1]):
            p[c, i] += h * force[c, i]


@njit
def leapfrog_drift(x, p, eps):
    """``x += eps p`` in place: a position update of the leapfrog integrator."""
    for c in range(x.shape[0]):
        for i in range(x.shape[1]):
            x[c, i] += eps * p[c, i]


@njit
def momentum_log_density(p, out):
    """``out[c] = -|p[c]|^2 / 2``: the standard normal momentum's log density (normalizer left out)."""
    for c in range(p.shape[0]):
        s = 0.0
        for i in range(p.shape[1]):
            s += p[c, i] * p[c, i]
        out[c] = -0.5 * s


# ----------------------------------------------------------------------------------------------
# The Metropolis-Hastings selection
# ----------------------------------------------------------------------------------------------

@njit
def mh_select(log_u, log_ratio, x, log_p, force, x_new, log_p_new, force_new, accepted):
    """Accept chain ``c`` when ``log_u[c] < log_ratio[c]`` (a NaN ratio rejects).

    The proposal arrays become the new state: rejected rows are overwritten by the old state.
    """
    for c in range(x.shape[0]):
        acc = log_u[c] < log_ratio[c]
        accepted[c] = acc
        if not acc:
            log_p_new[c] = log_p[c]
            for i in range(x.shape[1]):
                x_new[c, i] = x[c, i]
                force_new[c, i] = force[c, i]


# ----------------------------------------------------------------------------------------------
# Gibbs sweeps for a Gaussian: x_i ~ N(mu_i - r_i / Lambda_ii, 1 / Lambda_ii) in turn, in place
# ----------------------------------------------------------------------------------------------

@njit
def gibbs_sweep_dense(x, mu, Lam, z):
    """One systematic scan over the coordinates of every chain, dense precision ``Lam``."""
    D = x.shape[1]
    for c in range(x.shape[0]):
        for i in range(D):
            r = 0.0
            for j in range(D):
                if j != i:
                    r += Lam[i, j] * (x[c, j] - mu[j])
            x[c, i] = mu[i] - r / Lam[i, i] + z[c, i] / np.sqrt(Lam[i, i])


@njit
def gibbs_sweep_csr(x, mu, csr, diag, z):
    """One systematic scan, precision in sparse rows ``csr`` with diagonal ``diag``."""
    indptr, indices, values = csr.indptr, csr.indices, csr.values
    for c in range(x.shape[0]):
        for i in range(x.shape[1]):
            r = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                if j != i:
                    r += values[k] * (x[c, j] - mu[j])
            x[c, i] = mu[i] - r / diag[i] + z[c, i] / np.sqrt(diag[i])


def warmup_kernels() -> None:
    """Compile (or load from the cache) every kernel on two chains in two dimensions: both targets (the
    Gaussian's precision in sparse rows and as the product of the dense storage), every proposal
    piece, the selection and both Gibbs sweeps."""
    x, z, mu = np.zeros((2, 2)), np.ones((2, 2)), np.zeros(2)
    log_p, force, out = np.empty(2), np.empty((2, 2)), np.empty((2, 2))
    Lam = np.array([[2.0, 0.5], [0.5, 1.0]])
    csr = CSR(np.array([0, 2, 4]), np.array([0, 1, 0, 1]), Lam.ravel())
    banana_log_density_and_force(x, 1.0, 1.0, log_p, force)
    gaussian_csr_log_density_and_force(x, mu, csr, log_p, force)
    gaussian_log_density_from_product(x, x @ Lam, log_p)
    random_walk_proposal(x, z, 0.1, out)
    langevin_proposal(x, force, z, 0.1, out)
    langevin_log_density(out, x, force, 0.1, log_p)
    leapfrog_kick(out, force, 0.05)
    leapfrog_drift(out, z, 0.1)
    momentum_log_density(z, log_p)
    mh_select(np.zeros(2), np.ones(2), x, log_p, force, out, np.zeros(2), z.copy(), np.empty(2, dtype=np.bool_))
    gibbs_sweep_dense(out, mu, Lam, z)
    gibbs_sweep_csr(out, mu, csr, np.diag(Lam).copy(), z)
