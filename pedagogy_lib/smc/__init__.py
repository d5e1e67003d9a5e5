"""Sequential Monte Carlo (book, "Sampling-based approaches" after Section 2.2.2): resampling, the
bootstrap particle filter with its evidence estimate, and particle smoothing (FFBSm and backward
simulation), as numba kernels with NumPy twins.

* :mod:`~pedagogy_lib.smc.resampling`: multinomial, stratified and systematic resampling, ESS.
* :mod:`~pedagogy_lib.smc.particle`: the particle filter and smoothers, for any
  :class:`StateSpaceModel` and, fast, for the LGSSM of :mod:`pedagogy_lib.lgssm.model`.
"""
from . import particle, resampling
from .particle import *  # noqa: F401,F403
from .particle import __all__ as _particle_all
from .resampling import *  # noqa: F401,F403
from .resampling import __all__ as _resampling_all

__all__ = ["particle", "resampling", *_resampling_all, *_particle_all]
