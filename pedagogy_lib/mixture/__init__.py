"""Gaussian mixture models: the model and its inference (book Section 2.1.1) and learning by EM and
K-means (Section 7.1).

* :mod:`~pedagogy_lib.mixture.model`: parameters, sampling, posterior over the class, marginal
  density, linear and quadratic class boundaries.
* :mod:`~pedagogy_lib.mixture.em`: sufficient statistics, M step, ELBO, :func:`fit_gmm` (full,
  diagonal and tied covariances; the E step fused with its statistics, with a NumPy twin), k-means++
  and K-means.
* :mod:`~pedagogy_lib.mixture.kernels`: the numba kernels of that fused E step.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["model", "em", "kernels"], module_only=("warmup_kernels",))
