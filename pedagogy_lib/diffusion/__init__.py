"""Diffusion models and score-based learning (Section 8.3 and the score-matching slides of the
variational-inference seed): Gaussian forward processes in the book's (v, rho) notation with
their maps to DDPM (variance preserving) and score-based (variance exploding) conventions, the
forward marginals and posterior transitions, the loss in its mean, clean-data, force and noise
parameterizations, a small MLP denoiser trained by hand-written backpropagation, ancestral and
annealed Langevin samplers, and the exact force of a noised Gaussian mixture as an oracle.

* :mod:`~pedagogy_lib.diffusion.schedules`: schedules, SNR curves, DDPM and VE conversions.
* :mod:`~pedagogy_lib.diffusion.forward`: Eqs. 8.36-8.38, composition of transitions.
* :mod:`~pedagogy_lib.diffusion.losses`: Eqs. 8.39-8.48, weights, the denoiser and its training.
* :mod:`~pedagogy_lib.diffusion.sampling`: ancestral and (annealed) Langevin sampling, Tweedie oracle.
* :mod:`~pedagogy_lib.diffusion.data`: ring mixture, two moons, a nearest-neighbour quality score.
* :mod:`~pedagogy_lib.diffusion.kernels`: the numba kernel of Langevin dynamics with an exact mixture force.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["schedules", "forward", "losses", "sampling", "data", "kernels"],
                                       module_only=("warmup_kernels",))
