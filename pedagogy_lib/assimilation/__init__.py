"""Data assimilation: filtering and smoothing for chaotic systems (the 4DVar notes, built on the
linear-Gaussian state-space model of Section 2.2.2).

* :mod:`~pedagogy_lib.assimilation.lorenz`: Lorenz-63 and Lorenz-96 with an RK4 time stepper, their
  tangent-linear and adjoint models (with NumPy twins of the kernels), and the linear map of Eq. 2.49.
* :mod:`~pedagogy_lib.assimilation.model`: the assimilation problem (a flow map plus the Gaussian
  pieces of :class:`~pedagogy_lib.lgssm.LGSSMParams`), twin experiments and the shared result type.
* :mod:`~pedagogy_lib.assimilation.nonlinear_filters`: the extended and unscented Kalman filters.
* :mod:`~pedagogy_lib.assimilation.adf`: the assumed-density filter (moment matching) for a scalar
  state, and the exact filter on a grid to compare it with.
* :mod:`~pedagogy_lib.assimilation.ensemble`: the ensemble Kalman filter with perturbed
  observations and the ensemble transform Kalman filter, with inflation and localization.
* :mod:`~pedagogy_lib.assimilation.fourdvar`: strong- and weak-constraint 4DVar with adjoint
  gradients, exact linear solutions and cycling over windows.
* :mod:`~pedagogy_lib.assimilation.kernels`: the numba kernels of all of them.

In the linear-Gaussian limit every method here is checked against the Kalman filter and the RTS
smoother of :mod:`pedagogy_lib.lgssm.kalman`.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, [
    "lorenz",
    "model",
    "nonlinear_filters",
    "adf",
    "ensemble",
    "fourdvar",
    "kernels",
], module_only=("warmup_kernels",))
