r"""Markov chain Monte Carlo over many chains: starting and checking chains, the registry of samplers, the driver.

Markov chain Monte Carlo (Section 8.4, from the variational-inference seed notes). Every sampler
is a Metropolis-Hastings chain (Gibbs being the case whose acceptance is always one) and lives in
a module of its own as an ``(init, step)`` pair of pure functions over many chains, put together
from the shared pieces of :mod:`~pedagogy_lib.samplers.proposals`:

* :mod:`~pedagogy_lib.samplers.rwmh`: random-walk MH, :math:`\mathbf x' = \mathbf x + \sigma\mathbf z`;
* :mod:`~pedagogy_lib.samplers.mala`: MALA, one step of the Langevin dynamics of Eq. 8.44 as a
  proposal, corrected by the Hastings factor;
* :mod:`~pedagogy_lib.samplers.hmc`: HMC, ``n_leapfrog`` leapfrog steps with a fresh momentum;
* :mod:`~pedagogy_lib.samplers.gibbs`: Gibbs on a Gaussian target, each coordinate in turn.

:data:`SAMPLERS` maps a method's name to its module; a new sampler is one new module (``settings``,
``draw``, ``init``, ``step``) and one entry there. A sampler's ``settings`` names as parameters the
options of :func:`sample` it uses (``step_size``, ``n_leapfrog``, ``target``) and checks them.
``init_chains`` builds a :class:`~pedagogy_lib.samplers.proposals.ChainState`; each ``*_step``
returns a new state and leaves its input untouched; :func:`sample` checks the target once, runs many
steps, drawing the random numbers with NumPy in blocks and handing them to the sampler's step
(numba kernels or their NumPy twins), and records a trace.
"""
from __future__ import annotations

import functools
import inspect
from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_backend, check_choice, check_int, check_rng
from . import gibbs, hmc, mala, rwmh
from .proposals import ChainState, pieces, start_chains
from .targets import GaussianTarget, as_density, check_target, density_backend

__all__ = [
    "SampleResult",
    "check_chain_state",
    "METHODS",
    "SAMPLERS",
    "init_chains",
    "rwmh_step",
    "mala_step",
    "hmc_step",
    "gibbs_step",
    "sample",
    "acceptance_rate",
]

#: The samplers by name: each a module with ``settings``, ``draw``, ``init`` and ``step``.
SAMPLERS = {"rwmh": rwmh, "mala": mala, "hmc": hmc, "gibbs": gibbs}
METHODS = tuple(SAMPLERS)


class SampleResult(NamedTuple):
    """What :func:`sample` returns.

    Attributes
    ----------
    state : ~pedagogy_lib.samplers.proposals.ChainState
        The state after the last step (pass it back to continue).
    trace : ndarray, shape (n_steps, C, len(keep))
        The kept coordinates after every step.
    accept_rate : ndarray, shape (C,)
        Fraction of proposals accepted during this call, per chain.
    """

    state: ChainState
    trace: np.ndarray
    accept_rate: np.ndarray


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------

def init_chains(target, x0, *, backend: str = "auto") -> ChainState:
    """Start ``C`` chains at the rows of ``x0`` (shape ``(C, D)``): every sampler's ``init``
    (:func:`~pedagogy_lib.samplers.proposals.start_chains`) after validation, with no step taken.

    Raises
    ------
    TypeError
        If ``target`` is not a target or ``x0`` is not real and numeric.
    ValueError
        If a field of ``target`` is malformed (:func:`~pedagogy_lib.samplers.targets.check_target`),
        ``x0`` is not a finite ``(C, D)`` array with ``C >= 1``, or the log density or its force is
        not finite at a starting point: no chain can leave a point of zero density by
        Metropolis-Hastings.
    """
    check_backend(backend)
    D = check_target(target)
    x0 = as_array(x0, "x0", shape=(None, D), dims="(C, D)")
    if x0.shape[0] < 1:
        raise ValueError("x0 must hold at least one chain (a row); got shape (0, D).")
    state = start_chains(x0, as_density(target, density_backend(target, backend, x0.shape[0], D, 0, 1)))
    bad = ~(np.isfinite(state.log_p) & np.all(np.isfinite(state.force), axis=1))
    if bad.any():
        c = int(np.argmax(bad))
        raise ValueError(f"the log density at x0 must be finite for every chain; chain {c} starts at "
                         f"{x0[c].tolist()} where log p = {state.log_p[c]!r} (force {state.force[c].tolist()}).")
    return state


def check_chain_state(state, target=None, *, name: str = "state", backend: str = "numpy") -> ChainState:
    """Return ``state`` with clean float64 fields after checking every field against the others.

    A :class:`~pedagogy_lib.samplers.proposals.ChainState` built by hand or edited with ``_replace``
    is held to the same rules as one returned by :func:`init_chains`. With ``target`` (already checked by
    :func:`~pedagogy_lib.samplers.targets.check_target`), ``state.x`` must have the target's
    dimension and ``state.log_p`` and ``state.force`` must be the target's log density and force
    at ``state.x``: a state carried over from another target would otherwise bias the first
    accept tests without a word.

    Parameters
    ----------
    state : ChainState
    target : Banana, GaussianTarget or PythonTarget, optional
    name : str
        How the state is called in messages.
    backend : {"numba", "numpy"}
        Used to re-evaluate the target at ``state.x``.

    Returns
    -------
    ChainState

    Raises
    ------
    TypeError
        If ``state`` is not a :class:`ChainState` or a field is not real and numeric.
    ValueError
        If ``x`` is not a finite non-empty ``(C, D)`` array, ``log_p`` and ``n_accept`` are not
        ``(C,)``, ``force`` is not ``(C, D)``, a field is not finite, ``n_accept`` is negative or
        above ``n_steps``, ``n_steps`` is not a non-negative integer, or ``log_p``/``force`` disagree
        with the target at ``x``.
    """
    if target is None or not isinstance(state, ChainState):            # a wrong type is named before the target
        return _checked_state(state, name, None, None)
    return _checked_state(state, name, check_target(target), as_density(target, backend))


def _checked_state(state, name, D, density):
    """:func:`check_chain_state` for a target already checked: ``D`` its dimension and ``density``
    its :func:`~pedagogy_lib.samplers.targets.as_density` (both None: no target)."""
    if not isinstance(state, ChainState):
        raise TypeError(f"{name} must be the ChainState returned by init_chains; got {type(state).__name__}.")
    x = as_array(state.x, f"{name}.x", shape=(None, D), dims="(C, D)", nonempty=True)
    C, D = x.shape
    log_p = as_array(state.log_p, f"{name}.log_p", shape=(C,), dims="(C,)")
    force = as_array(state.force, f"{name}.force", shape=(C, D), dims="(C, D)")
    n_accept = as_array(state.n_accept, f"{name}.n_accept", shape=(C,), dims="(C,)")
    n_steps = check_int(state.n_steps, f"{name}.n_steps", minimum=0)
    if np.any(n_accept < 0) or np.any(n_accept > n_steps):
        c = int(np.argmax((n_accept < 0) | (n_accept > n_steps)))
        raise ValueError(f"{name}.n_accept must lie in [0, {name}.n_steps] = [0, {n_steps}]; chain {c} has "
                         f"{n_accept[c]:.6g}.")
    if density is not None:
        lp, f = density.evaluate(x)
        tol_lp = 1e-7 * (1.0 + np.abs(lp))
        tol_f = 1e-7 * (1.0 + np.max(np.abs(f), axis=1))
        bad = (np.abs(lp - log_p) > tol_lp) | (np.max(np.abs(f - force), axis=1) > tol_f)
        if bad.any():
            c = int(np.argmax(bad))
            raise ValueError(f"{name}.log_p and {name}.force must be the target's log density and force at "
                             f"{name}.x (was the state made for another target, or edited?); chain {c} has "
                             f"log_p {log_p[c]:.10g} where the target gives {lp[c]:.10g}. Start again with "
                             "init_chains(target, state.x).")
    return ChainState(x, log_p, force, n_accept, n_steps)


# ----------------------------------------------------------------------------------------------
# Public steps and the driver
# ----------------------------------------------------------------------------------------------

def _check_keep(keep, D):
    if keep is None:
        return np.arange(D, dtype=np.int64)
    keep = np.asarray(keep)
    if keep.ndim != 1 or keep.dtype.kind not in "iu" or keep.size == 0 or keep.min() < 0 or keep.max() >= D:
        raise ValueError(f"keep must be a non-empty 1-D array of coordinate indices in [0, {D}); got {keep!r}.")
    return np.ascontiguousarray(keep, dtype=np.int64)


@functools.cache
def _parameters(func) -> tuple[str, ...]:
    """The names of ``func``'s parameters (read once per function: ``inspect.signature`` takes microseconds)."""
    return tuple(inspect.signature(func).parameters)


def _settings(sampler, target, step_size, n_leapfrog):
    """The sampler's ``settings`` called with the options it names as parameters."""
    given = {"target": target, "step_size": step_size, "n_leapfrog": n_leapfrog}
    return sampler.settings(**{name: given[name] for name in _parameters(sampler.settings)})


def sample(target, state: ChainState, n_steps: int, rng: np.random.Generator, *, method: str = "rwmh",
           step_size: float = 0.5, n_leapfrog: int = 10, keep=None, backend: str = "auto") -> SampleResult:
    r"""Run ``n_steps`` steps of one sampler on every chain and record a trace.

    Parameters
    ----------
    target : Banana, GaussianTarget or PythonTarget
    state : ChainState
        From :func:`init_chains` or a previous call.
    n_steps : int
    rng : numpy.random.Generator
        All randomness: normals for proposals (or momenta) and uniforms for the accept tests,
        drawn in blocks and passed to the kernel.
    method : {"rwmh", "mala", "hmc", "gibbs"}
        A key of :data:`SAMPLERS`.
    step_size : float
        Proposal standard deviation :math:`\sigma` (``rwmh``), Langevin step :math:`\epsilon` of
        Eq. 8.44 (``mala``) or leapfrog step (``hmc``); must be positive. Ignored by ``gibbs``.
    n_leapfrog : int
        Leapfrog steps per HMC proposal (at least 1); the other methods do not use it, but it is
        validated whatever ``method`` is (a malformed value is refused, not silently ignored).
    keep : array of int, optional
        Coordinates to record (all by default): ``trace`` has shape ``(n_steps, C, len(keep))``.
    backend : {"auto", "numba", "numpy"}
        The kernels or their NumPy twins; ``"auto"`` runs the twins while compiling would cost more than it
        saves (:func:`pedagogy_lib.core.jit.choose`, weighed for the target's density kernel).

    Returns
    -------
    SampleResult

    Raises
    ------
    TypeError, ValueError
        If ``target`` or ``state`` is malformed (:func:`~pedagogy_lib.samplers.targets.check_target`,
        :func:`check_chain_state`; ``state`` must hold the target's log density and force at
        ``state.x``), or an option is out of range.
    """
    check_backend(backend)
    sampler = SAMPLERS[check_choice(method, "method", tuple(SAMPLERS))]
    D = check_target(target)                                           # once per call; None is not "no target"
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    n_leapfrog = check_int(n_leapfrog, "n_leapfrog", minimum=1)        # an argument of every method: checked for all
    C = len(state.x) if isinstance(state, ChainState) and np.ndim(state.x) == 2 else 1   # for the estimate only
    backend = density_backend(target, backend, C, D, n_steps, n_steps * (n_leapfrog if method == "hmc" else 1))
    density = as_density(target, backend)
    state = _checked_state(state, "state", D, density)
    rng = check_rng(rng)
    settings = _settings(sampler, target, step_size, n_leapfrog)
    keep = _check_keep(keep, D)
    ops = pieces(density.backend)
    C = state.x.shape[0]
    trace = np.empty((n_steps, C, keep.size))
    block = max(1, min(n_steps, (1 << 18) // max(1, C * D)))          # noise memory stays about 2 MB
    new = state
    with np.errstate(over="ignore", invalid="ignore"):                 # a NaN or inf proposal is rejected
        for t0 in range(0, n_steps, block):
            Z, log_U = sampler.draw(rng, min(block, n_steps - t0), C, D)
            for t in range(Z.shape[0]):                                # steps outer, chains inner
                new = sampler.step(new, Z[t], log_U[t], density, ops, settings)
                np.take(new.x, keep, axis=1, out=trace[t0 + t])
    return SampleResult(new, trace, (new.n_accept - state.n_accept) / n_steps)


def rwmh_step(target, state: ChainState, step_size: float, rng: np.random.Generator, *,
              backend: str = "auto") -> ChainState:
    r"""One random-walk Metropolis-Hastings step, :math:`\mathbf x' = \mathbf x + \sigma\mathbf z`, for every chain.

    Raises
    ------
    TypeError, ValueError
        As :func:`sample`.
    """
    return sample(target, state, 1, rng, method="rwmh", step_size=step_size, backend=backend).state


def mala_step(target, state: ChainState, step_size: float, rng: np.random.Generator, *,
              backend: str = "auto") -> ChainState:
    r"""One MALA step: the Langevin move of Eq. 8.44 as a proposal, then the Metropolis-Hastings test.

    Raises
    ------
    TypeError, ValueError
        As :func:`sample`.
    """
    return sample(target, state, 1, rng, method="mala", step_size=step_size, backend=backend).state


def hmc_step(target, state: ChainState, step_size: float, n_leapfrog: int, rng: np.random.Generator, *,
             backend: str = "auto") -> ChainState:
    """One HMC step: fresh momentum, ``n_leapfrog`` leapfrog steps
    (:func:`~pedagogy_lib.samplers.proposals.leapfrog`), energy test.

    Raises
    ------
    TypeError, ValueError
        As :func:`sample`.
    """
    return sample(target, state, 1, rng, method="hmc", step_size=step_size, n_leapfrog=n_leapfrog,
                  backend=backend).state


def gibbs_step(target: GaussianTarget, state: ChainState, rng: np.random.Generator, *,
               backend: str = "auto") -> ChainState:
    r"""One systematic-scan Gibbs sweep on a Gaussian target: :math:`x_i \sim p(x_i\mid\mathbf x_{\setminus i})` for each :math:`i`.

    The full conditional is :math:`\mathcal N\big(\mu_i - \Lambda_{ii}^{-1}\sum_{j\ne i}\Lambda_{ij}(x_j-\mu_j),\ \Lambda_{ii}^{-1}\big)`.

    Raises
    ------
    TypeError, ValueError
        As :func:`sample`.
    """
    return sample(target, state, 1, rng, method="gibbs", backend=backend).state


def acceptance_rate(state: ChainState) -> np.ndarray:
    """Fraction of proposals accepted by each chain since :func:`init_chains`.

    Raises
    ------
    TypeError, ValueError
        If ``state`` is malformed (:func:`check_chain_state`) or has taken no step.
    """
    state = check_chain_state(state)
    if state.n_steps < 1:
        raise ValueError("state.n_steps must be at least 1 to have an acceptance rate; got 0.")
    return state.n_accept / state.n_steps
