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
"""
from . import data, forward, losses, sampling, schedules
from .data import *  # noqa: F401,F403
from .data import __all__ as _data_all
from .forward import *  # noqa: F401,F403
from .forward import __all__ as _forward_all
from .losses import *  # noqa: F401,F403
from .losses import __all__ as _losses_all
from .sampling import *  # noqa: F401,F403
from .sampling import __all__ as _sampling_all
from .schedules import *  # noqa: F401,F403
from .schedules import __all__ as _schedules_all

__all__ = ["data", "forward", "losses", "sampling", "schedules", *_schedules_all, *_forward_all, *_losses_all,
           *_sampling_all, *_data_all]
