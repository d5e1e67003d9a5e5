"""Sequential Monte Carlo (book, "Sampling-based approaches" after Section 2.2.2): resampling, the
bootstrap particle filter with its evidence estimate, and particle smoothing (FFBSm and backward
simulation), as numba kernels with NumPy twins.

* :mod:`~pedagogy_lib.smc.resampling`: multinomial, stratified and systematic resampling, ESS.
* :mod:`~pedagogy_lib.smc.particle`: the particle filter and smoothers, for any
  :class:`StateSpaceModel` and, fast, for the LGSSM of :mod:`pedagogy_lib.lgssm.model`.
* :mod:`~pedagogy_lib.smc.kernels`: the numba kernels of both (one bootstrap-filter driver and one
  resampling kernel per scheme).
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["resampling", "particle", "kernels"])
