r"""The Metropolis-adjusted Langevin algorithm (MALA) as an ``(init, step)`` pair over many chains.

Markov chain Monte Carlo (Section 8.4, from the variational-inference seed notes). The proposal is
one step of the draft's Langevin dynamics, Eq. 8.44,

.. math::
    \mathbf x' = \mathbf x + \epsilon\,\mathbf f(\mathbf x) + \sqrt{2\epsilon}\,\mathbf z,\qquad
    \mathbf z\sim\mathcal N(\mathbf 0,\mathbf I),

whose density :math:`g(\mathbf x'\mid\mathbf x) = \mathcal N(\mathbf x';\ \mathbf x +
\epsilon\mathbf f(\mathbf x),\ 2\epsilon\mathbf I)` is not symmetric; the Hastings factor
:math:`g(\mathbf x\mid\mathbf x')/g(\mathbf x'\mid\mathbf x)` in the acceptance ratio corrects the
:math:`O(\epsilon)` bias that plain Langevin steps keep. Both densities are computed by the same
piece as the public :func:`~pedagogy_lib.samplers.proposals.mala_log_proposal`.

The same :func:`step` runs on both backends (``ops`` from
:func:`~pedagogy_lib.samplers.proposals.pieces`, ``density`` from
:func:`~pedagogy_lib.samplers.targets.as_density`).
"""
from __future__ import annotations

from ..core.checks import positive_scalar
from .proposals import ChainState, draw_normals_and_log_uniforms, log_accept_ratio, start_chains

#: ``init(x, density) -> ChainState``: the target (and its force) evaluated at the starting points.
init = start_chains
#: ``draw(rng, T, C, D) -> (Z, log_U)``: the random numbers of ``T`` steps.
draw = draw_normals_and_log_uniforms


def settings(step_size):
    r"""The Langevin step size :math:`\epsilon` (``step_size``), validated as positive."""
    return positive_scalar(step_size, "step_size")


def step(state: ChainState, z, log_u, density, ops, eps) -> ChainState:
    """One step of every chain: ``z`` (C, D) standard normals, ``log_u`` (C,) logs of uniforms.

    Returns the new state; ``state`` is left untouched.
    """
    x_new = ops.langevin(state.x, state.force, z, eps)                         # Eq. 8.44
    log_p_new, force_new = density.evaluate(x_new)
    log_g_forward = ops.langevin_log_density(x_new, state.x, state.force, eps)
    log_g_reverse = ops.langevin_log_density(state.x, x_new, force_new, eps)
    log_ratio = log_accept_ratio(log_p_new, state.log_p, log_g_reverse, log_g_forward)
    return ops.select(log_u, log_ratio, state, x_new, log_p_new, force_new)
