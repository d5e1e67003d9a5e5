r"""The pieces every Metropolis-Hastings sampler is built from, each once, with its NumPy twin.

Markov chain Monte Carlo (Section 8.4, from the variational-inference seed notes). From a state
:math:`\mathbf x` a sampler proposes :math:`\mathbf x'\sim g(\mathbf x'\mid\mathbf x)` and accepts
with probability

.. math::
    A(\mathbf x', \mathbf x) = \min\Big\{1, \frac{\tilde p(\mathbf x')\,g(\mathbf x\mid\mathbf x')}
    {\tilde p(\mathbf x)\,g(\mathbf x'\mid\mathbf x)}\Big\},

which makes :math:`p(\mathbf x)T(\mathbf x'\mid\mathbf x)` symmetric in the two states (detailed
balance), so :math:`p` is stationary; the normalizer of :math:`\tilde p` cancels. Every step
takes and returns a :class:`ChainState`, the state of many chains. The pieces:

* :func:`log_accept_ratio`, the logarithm of the ratio above (public, validated:
  :func:`mh_log_accept_ratio`), and the selection that keeps or rejects each chain's proposal;
* the Gaussian random walk :math:`\mathbf x' = \mathbf x + \sigma\mathbf z`, symmetric, so
  :math:`g` cancels;
* the Langevin proposal, one step of the draft's Langevin dynamics (Eq. 8.44),
  :math:`\mathbf x' = \mathbf x + \epsilon\,\mathbf f(\mathbf x) + \sqrt{2\epsilon}\,\mathbf z`,
  and its log density :func:`langevin_log_density`, the Gaussian
  :math:`\mathcal N(\mathbf x';\ \mathbf x + \epsilon\mathbf f(\mathbf x),\ 2\epsilon\mathbf I)`
  (public, validated: :func:`mala_log_proposal`);
* the leapfrog integrator of Hamiltonian dynamics, :func:`leapfrog_steps` (public, validated:
  :func:`leapfrog`), and the log density of a standard normal momentum.

The ratio is one NumPy expression for both backends (four numbers per chain). Every other piece
exists twice: a NumPy expression over all chains, and a numba kernel of
:mod:`~pedagogy_lib.samplers.kernels` doing the same algebra in one loop. :func:`pieces` returns
the set for a backend as a :class:`Pieces`, so that a sampler's step is written once and runs on
either; :func:`leapfrog_steps` is a Python loop over those pieces and the target. The public
functions call exactly what the samplers call, after validation: :func:`mala_log_proposal` is
:func:`langevin_log_density` (the NumPy twin), :func:`leapfrog` is :func:`leapfrog_steps`,
:func:`mh_log_accept_ratio` is :func:`log_accept_ratio`.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..core.checks import as_array, check_backend, check_int, positive_scalar, to_float_array
from . import kernels
from .targets import as_density, check_target

__all__ = ["ChainState", "mh_log_accept_ratio", "mala_log_proposal", "leapfrog"]


class ChainState(NamedTuple):
    r"""The state of ``C`` chains: what :func:`~pedagogy_lib.samplers.mcmc.init_chains` returns and
    every sampler's step takes and returns.

    Attributes
    ----------
    x : ndarray, shape (C, D)
        Current points.
    log_p : ndarray, shape (C,)
        :math:`\log\tilde p(\mathbf x)` at them.
    force : ndarray, shape (C, D)
        :math:`\mathbf f(\mathbf x) = \partial\log\tilde p/\partial\mathbf x^T` at them.
    n_accept : ndarray, shape (C,)
        Accepted proposals so far, per chain.
    n_steps : int
        Steps taken so far.
    """

    x: np.ndarray
    log_p: np.ndarray
    force: np.ndarray
    n_accept: np.ndarray
    n_steps: int


def start_chains(x, density) -> ChainState:
    """A sampler's ``init``: the target evaluated at the starting points ``x`` (a float64 ``(C, D)``
    array, copied), no step taken."""
    log_p, force = density.evaluate(x)
    return ChainState(np.array(x, dtype=np.float64, order="C"), log_p, force, np.zeros(x.shape[0]), 0)


def draw_normals_and_log_uniforms(rng, T, C, D):
    """The random numbers of ``T`` steps of a Metropolis-Hastings sampler, drawn by NumPy in one block:
    standard normals ``(T, C, D)`` (proposal noise or momenta), then logs of uniforms ``(T, C)``."""
    Z = rng.standard_normal((T, C, D))
    return Z, np.log(rng.random((T, C)))


# ----------------------------------------------------------------------------------------------
# The Metropolis-Hastings ratio (one function for both backends: four numbers per chain)
# ----------------------------------------------------------------------------------------------

def log_accept_ratio(log_p_new, log_p_old, log_g_reverse, log_g_forward):
    r""":math:`\log\tilde p(\mathbf x') + \log g(\mathbf x\mid\mathbf x') - \log\tilde p(\mathbf x) - \log g(\mathbf x'\mid\mathbf x)`, unchecked.

    The two differences are taken first: an unnormalized log density may carry a large constant
    (``1e16`` beside a proposal term of order one), which cancels in its difference but would
    swallow the proposal terms if they were added to it first."""
    return (log_p_new - log_p_old) + (log_g_reverse - log_g_forward)


def mh_log_accept_ratio(log_p_new, log_p_old, log_g_reverse, log_g_forward):
    r""":math:`\log\frac{\tilde p(\mathbf x')g(\mathbf x\mid\mathbf x')}{\tilde p(\mathbf x)g(\mathbf x'\mid\mathbf x)}`.

    A proposal is accepted when :math:`\log U` (:math:`U\sim\mathcal U(0,1)`) is below this, so a
    non-negative ratio always accepts: that is :math:`A = \min\{1, \cdot\}`. Works elementwise.
    The samplers compute their ratios with the same function (:func:`log_accept_ratio`).

    Raises
    ------
    TypeError
        If an argument is not real and numeric.
    ValueError
        If the arguments' shapes do not broadcast together.
    """
    names = ("log_p_new", "log_p_old", "log_g_reverse", "log_g_forward")
    terms = [to_float_array(v, n) for v, n in zip((log_p_new, log_p_old, log_g_reverse, log_g_forward), names)]
    try:
        np.broadcast_shapes(*(t.shape for t in terms))
    except ValueError:
        raise ValueError("log_p_new, log_p_old, log_g_reverse and log_g_forward must broadcast together; got "
                         "shapes " + ", ".join(f"{n} {t.shape}" for n, t in zip(names, terms)) + ".") from None
    return log_accept_ratio(*terms)


# ----------------------------------------------------------------------------------------------
# NumPy twins of the kernels (same algebra, vectorized over chains)
# ----------------------------------------------------------------------------------------------

def _random_walk_numpy(x, z, sigma):
    return x + sigma * z


def _langevin_numpy(x, force, z, eps):
    return x + eps * force + np.sqrt(2.0 * eps) * z                 # Eq. 8.44 as a proposal


def _langevin_log_density_numpy(x_to, x_from, force_from, eps):
    d = x_to - x_from - eps * force_from
    return -np.sum(d * d, axis=1) / (4.0 * eps) - 0.5 * x_to.shape[1] * np.log(4.0 * np.pi * eps)


def _kick_numpy(p, force, h):
    p += h * force


def _drift_numpy(x, p, eps):
    x += eps * p


def _momentum_log_density_numpy(p):
    return -0.5 * np.sum(p * p, axis=1)


def _select_numpy(log_u, log_ratio, state, x_new, log_p_new, force_new):
    accepted = log_u < log_ratio                                     # a NaN ratio rejects
    keep = accepted[:, None]
    return ChainState(np.where(keep, x_new, state.x), np.where(accepted, log_p_new, state.log_p),
                      np.where(keep, force_new, state.force), state.n_accept + accepted, state.n_steps + 1)


# ----------------------------------------------------------------------------------------------
# The numba path: allocate, let the kernel fill
# ----------------------------------------------------------------------------------------------

def _random_walk_numba(x, z, sigma):
    out = np.empty_like(x)
    kernels.random_walk_proposal(x, z, sigma, out)
    return out


def _langevin_numba(x, force, z, eps):
    out = np.empty_like(x)
    kernels.langevin_proposal(x, force, z, eps, out)
    return out


def _langevin_log_density_numba(x_to, x_from, force_from, eps):
    out = np.empty(x_to.shape[0])
    kernels.langevin_log_density(x_to, x_from, force_from, eps, out)
    return out


def _momentum_log_density_numba(p):
    out = np.empty(p.shape[0])
    kernels.momentum_log_density(p, out)
    return out


def _select_numba(log_u, log_ratio, state, x_new, log_p_new, force_new):
    accepted = np.empty(state.x.shape[0], dtype=np.bool_)
    kernels.mh_select(log_u, log_ratio, state.x, state.log_p, state.force, x_new, log_p_new, force_new, accepted)
    return ChainState(x_new, log_p_new, force_new, state.n_accept + accepted, state.n_steps + 1)


class Pieces(NamedTuple):
    """The proposal pieces for one backend; every field works on all chains at once.

    Attributes
    ----------
    random_walk : callable
        ``(x, z, sigma) -> x + sigma z``.
    langevin : callable
        ``(x, force, z, eps) -> x + eps force + sqrt(2 eps) z`` (Eq. 8.44).
    langevin_log_density : callable
        ``(x_to, x_from, force_from, eps) -> (C,)``, the normalized log density of that proposal.
    kick, drift : callable
        ``(p, force, h)``: ``p += h force``; ``(x, p, eps)``: ``x += eps p`` (in place).
    momentum_log_density : callable
        ``p -> -|p|^2 / 2`` per chain.
    select : callable
        ``(log_u, log_ratio, state, x_new, log_p_new, force_new) -> ChainState``: the proposal where
        ``log_u`` is below the ratio, ``state`` elsewhere, one step and the acceptances counted
        (the numba path reuses the proposal's arrays, which the step owns).
    """

    random_walk: Callable
    langevin: Callable
    langevin_log_density: Callable
    kick: Callable
    drift: Callable
    momentum_log_density: Callable
    select: Callable


NUMPY_PIECES = Pieces(_random_walk_numpy, _langevin_numpy, _langevin_log_density_numpy, _kick_numpy,
                      _drift_numpy, _momentum_log_density_numpy, _select_numpy)
NUMBA_PIECES = Pieces(_random_walk_numba, _langevin_numba, _langevin_log_density_numba, kernels.leapfrog_kick,
                      kernels.leapfrog_drift, _momentum_log_density_numba, _select_numba)


def pieces(backend: str) -> Pieces:
    """:data:`NUMBA_PIECES` for ``"numba"``, :data:`NUMPY_PIECES` for ``"numpy"`` (``backend`` already checked)."""
    return NUMBA_PIECES if backend == "numba" else NUMPY_PIECES


# ----------------------------------------------------------------------------------------------
# The Langevin proposal's density, public
# ----------------------------------------------------------------------------------------------

def langevin_log_density(x_to, x_from, force_from, eps, backend: str = "numpy"):
    r"""The Langevin proposal's log density per row (Eq. 8.44 as a proposal), unchecked.

    :math:`\log\mathcal N(\mathbf x_{to};\ \mathbf x_{from} + \epsilon\mathbf f(\mathbf x_{from}),\ 2\epsilon\mathbf I)`,
    normalized: what MALA computes, forwards and backwards, at every step (float64 ``(C, D)``
    arrays), with the kernel (``"numba"``) or its NumPy twin (``"numpy"``).
    """
    return pieces(backend).langevin_log_density(x_to, x_from, force_from, eps)


def mala_log_proposal(x_to, x_from, force_from, step_size):
    r"""Log density of the MALA proposal, :math:`\mathcal N(\mathbf x_{to};\ \mathbf x_{from} + \epsilon\mathbf f(\mathbf x_{from}),\ 2\epsilon\mathbf I)`.

    The Gaussian step of Eq. 8.44 seen as a proposal density (normalized). Rows are points. This is
    :func:`langevin_log_density` (NumPy twin of the kernel MALA runs) after validation.

    Raises
    ------
    TypeError
        If an argument is not real and numeric.
    ValueError
        If the shapes disagree (``x_from`` and ``force_from`` must be ``(D,)`` or ``(C, D)`` like
        ``x_to``) or ``step_size`` is not positive.
    """
    x_to = np.atleast_2d(as_array(x_to, "x_to"))
    if x_to.ndim != 2:
        raise ValueError(f"x_to must be a point (D,) or rows of points (C, D); got shape {x_to.shape}.")
    D = x_to.shape[1]
    x_from = np.atleast_2d(as_array(x_from, "x_from"))
    force_from = np.atleast_2d(as_array(force_from, "force_from"))
    for arr, label in ((x_from, "x_from"), (force_from, "force_from")):
        if arr.ndim != 2 or arr.shape[1] != D or arr.shape[0] not in (1, x_to.shape[0]):
            raise ValueError(f"{label} must have shape (D,) or (C, D) matching x_to {x_to.shape}; got "
                             f"{arr.shape}.")
    eps = positive_scalar(step_size, "step_size")
    return langevin_log_density(x_to, x_from, force_from, eps, "numpy")


# ----------------------------------------------------------------------------------------------
# Leapfrog
# ----------------------------------------------------------------------------------------------

def leapfrog_steps(x, p, force, eps, n_leapfrog, density, ops):
    r"""``n_leapfrog`` leapfrog steps from ``(x, p)``, ``force`` the force at ``x``; unchecked.

    .. math::
        \mathbf p \leftarrow \mathbf p + \tfrac\epsilon2\mathbf f(\mathbf x),\quad
        \mathbf x \leftarrow \mathbf x + \epsilon\mathbf p,\quad
        \mathbf p \leftarrow \mathbf p + \tfrac\epsilon2\mathbf f(\mathbf x),

    with the two half kicks between consecutive drifts taken as one whole kick, so the target is
    evaluated once per step. ``density`` is a :class:`~pedagogy_lib.samplers.targets.Density`,
    ``ops`` the :class:`Pieces` of its backend. The inputs are left untouched.

    Returns
    -------
    x, p : ndarray, shape (C, D)
    log_p, force : ndarray, shapes (C,) and (C, D)
        The target at the final ``x`` (``log_p`` is ``None`` when ``n_leapfrog`` is 0).
    """
    x, p = x.copy(), p.copy()
    log_p = None
    ops.kick(p, force, 0.5 * eps)
    for step in range(n_leapfrog):
        ops.drift(x, p, eps)
        log_p, force = density.evaluate(x)
        ops.kick(p, force, eps if step < n_leapfrog - 1 else 0.5 * eps)
    return x, p, log_p, force


def leapfrog(target, x, p, step_size, n_leapfrog, *, backend: str = "numpy"):
    r"""``n_leapfrog`` leapfrog steps of Hamiltonian dynamics with :math:`H = -\log\tilde p(\mathbf x) + \tfrac12\|\mathbf p\|^2`.

    .. math::
        \mathbf p \leftarrow \mathbf p + \tfrac\epsilon2\mathbf f(\mathbf x),\quad
        \mathbf x \leftarrow \mathbf x + \epsilon\mathbf p,\quad
        \mathbf p \leftarrow \mathbf p + \tfrac\epsilon2\mathbf f(\mathbf x).

    Volume-preserving and reversible: flipping the final momentum and integrating again returns to
    the start (the property that makes HMC's Metropolis test exact). Returns ``(x, p)``. This is
    :func:`leapfrog_steps`, the integrator HMC runs, after validation.

    Raises
    ------
    TypeError, ValueError
        If ``target`` is malformed (:func:`~pedagogy_lib.samplers.targets.check_target`), ``x`` and
        ``p`` are not finite ``(C, D)`` arrays, an option is out of range, or the trajectory overflows
        (``step_size`` too large).
    """
    backend = check_backend(backend)
    D = check_target(target)
    x = as_array(x, "x", shape=(None, D), dims="(C, D)", nonempty=True)
    p = as_array(p, "p", shape=x.shape, dims="(C, D)")
    eps = positive_scalar(step_size, "step_size")
    L = check_int(n_leapfrog, "n_leapfrog", minimum=1)
    density = as_density(target, backend)
    with np.errstate(over="ignore", invalid="ignore"):
        _, force = density.evaluate(x)
        x, p, _, _ = leapfrog_steps(x, p, force, eps, L, density, pieces(density.backend))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(p))):
        raise ValueError(f"the leapfrog trajectory left the finite numbers; reduce step_size (now {eps:g}) or "
                         "the scale of x and p.")
    return x, p
