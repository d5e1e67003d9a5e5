r"""Random-walk Metropolis-Hastings as an ``(init, step)`` pair over many chains.

Markov chain Monte Carlo (Section 8.4, from the variational-inference seed notes): propose
:math:`\mathbf x' = \mathbf x + \sigma\mathbf z`, :math:`\mathbf z\sim\mathcal N(\mathbf 0,\mathbf I)`,
and accept with probability :math:`\min\{1, \tilde p(\mathbf x')/\tilde p(\mathbf x)\}`: the
proposal is symmetric, :math:`g(\mathbf x'\mid\mathbf x) = g(\mathbf x\mid\mathbf x')`, so its
density cancels from the Metropolis-Hastings ratio.

The same :func:`step` runs on both backends: ``ops`` (:func:`~pedagogy_lib.samplers.proposals.pieces`)
holds either the numba kernels or their NumPy twins, and ``density``
(:func:`~pedagogy_lib.samplers.targets.as_density`) evaluates the target the same way.
"""
from __future__ import annotations

from ..core.checks import positive_scalar
from .proposals import ChainState, draw_normals_and_log_uniforms, log_accept_ratio, start_chains

#: ``init(x, density) -> ChainState``: the target evaluated at the starting points.
init = start_chains
#: ``draw(rng, T, C, D) -> (Z, log_U)``: the random numbers of ``T`` steps.
draw = draw_normals_and_log_uniforms


def settings(step_size):
    r"""The proposal scale :math:`\sigma` (``step_size``, positive)."""
    return positive_scalar(step_size, "step_size")


def step(state: ChainState, z, log_u, density, ops, sigma) -> ChainState:
    """One step of every chain: ``z`` (C, D) standard normals, ``log_u`` (C,) logs of uniforms.

    Returns the new state; ``state`` is left untouched.
    """
    x_new = ops.random_walk(state.x, z, sigma)
    log_p_new, force_new = density.evaluate(x_new)
    log_ratio = log_accept_ratio(log_p_new, state.log_p, 0.0, 0.0)       # g symmetric: cancels
    return ops.select(log_u, log_ratio, state, x_new, log_p_new, force_new)
