r"""Hamiltonian Monte Carlo (HMC) as an ``(init, step)`` pair over many chains.

Markov chain Monte Carlo (Section 8.4, from the variational-inference seed notes). Each step draws
a fresh momentum :math:`\mathbf p\sim\mathcal N(\mathbf 0,\mathbf I)`, follows the Hamiltonian
dynamics of :math:`H(\mathbf x,\mathbf p) = -\log\tilde p(\mathbf x) + \tfrac12\|\mathbf p\|^2`
for ``n_leapfrog`` leapfrog steps (:func:`~pedagogy_lib.samplers.proposals.leapfrog_steps`, the
integrator behind the public :func:`~pedagogy_lib.samplers.proposals.leapfrog`), and accepts the
end point with probability :math:`\min\{1, e^{H(\mathbf x,\mathbf p) - H(\mathbf x',\mathbf p')}\}`.
That is the Metropolis-Hastings ratio on the joint space of position and momentum, with the
momentum's log density :math:`-\tfrac12\|\mathbf p\|^2` in the place of :math:`\log g`: leapfrog
is reversible and preserves volume, so no Jacobian enters. With one leapfrog step HMC is MALA with
:math:`\epsilon_{\rm MALA} = \epsilon^2/2` (Eq. 8.44), draw for draw.

The same :func:`step` runs on both backends (``ops`` from
:func:`~pedagogy_lib.samplers.proposals.pieces`, ``density`` from
:func:`~pedagogy_lib.samplers.targets.as_density`).
"""
from __future__ import annotations

from ..core.checks import check_int, positive_scalar
from .proposals import ChainState, draw_normals_and_log_uniforms, leapfrog_steps, log_accept_ratio, start_chains

#: ``init(x, density) -> ChainState``: the target (and its force) evaluated at the starting points.
init = start_chains
#: ``draw(rng, T, C, D) -> (Z, log_U)``: momenta and logs of uniforms for ``T`` steps.
draw = draw_normals_and_log_uniforms


def settings(step_size, n_leapfrog):
    """``(eps, n_leapfrog)``: the leapfrog step (positive) and the number of steps (at least 1)."""
    return positive_scalar(step_size, "step_size"), check_int(n_leapfrog, "n_leapfrog", minimum=1)


def step(state: ChainState, z, log_u, density, ops, eps_and_steps) -> ChainState:
    """One step of every chain: ``z`` (C, D) the fresh momenta, ``log_u`` (C,) logs of uniforms.

    Returns the new state; ``state`` is left untouched.
    """
    eps, n_leapfrog = eps_and_steps
    x_new, p_new, log_p_new, force_new = leapfrog_steps(state.x, z, state.force, eps, n_leapfrog, density, ops)
    log_ratio = log_accept_ratio(log_p_new, state.log_p, ops.momentum_log_density(p_new),
                                 ops.momentum_log_density(z))                 # H(x, p) - H(x', p')
    return ops.select(log_u, log_ratio, state, x_new, log_p_new, force_new)
