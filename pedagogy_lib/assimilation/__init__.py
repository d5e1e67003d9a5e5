"""Data assimilation: filtering and smoothing for chaotic systems (the 4DVar notes, built on the
linear-Gaussian state-space model of Section 2.2.2).

* :mod:`~pedagogy_lib.assimilation.lorenz`: Lorenz-63 and Lorenz-96 with an RK4 time stepper, their
  tangent-linear and adjoint models (numba kernels with NumPy twins), and the linear map of Eq. 2.49.
* :mod:`~pedagogy_lib.assimilation.model`: the assimilation problem (a flow map plus the Gaussian
  pieces of :class:`~pedagogy_lib.lgssm.LGSSMParams`), twin experiments and the shared result type.
* :mod:`~pedagogy_lib.assimilation.nonlinear_filters`: the extended and unscented Kalman filters.
* :mod:`~pedagogy_lib.assimilation.adf`: the assumed-density filter (moment matching) for a scalar
  state, and the exact filter on a grid to compare it with.
* :mod:`~pedagogy_lib.assimilation.ensemble`: the ensemble Kalman filter with perturbed
  observations and the ensemble transform Kalman filter, with inflation and localization.
* :mod:`~pedagogy_lib.assimilation.fourdvar`: strong- and weak-constraint 4DVar with adjoint
  gradients, exact linear solutions and cycling over windows.

In the linear-Gaussian limit every method here is checked against the Kalman filter and the RTS
smoother of :mod:`pedagogy_lib.lgssm.kalman`.
"""
from . import adf, ensemble, fourdvar, lorenz, model, nonlinear_filters
from .adf import ADFResult, GridFilterResult, assumed_density_filter, gaussian_moments, grid_filter
from .ensemble import enkf, exact_ensemble
from .fourdvar import (cycle_4dvar, strong_4dvar, strong_cost_grad, strong_hessian, weak_4dvar, weak_cost_grad,
                       weak_hessian)
from .lorenz import (Dynamics, adjoint, cycle_jacobian, integrate, linear_dynamics, lorenz63, lorenz96, propagate,
                     tangent_linear, vector_field)
from .model import (AssimilationResult, DAModel, from_lgssm, gaspari_cohn, periodic_taper, rmse, simulate)
from .nonlinear_filters import ekf, sigma_points, ukf

__all__ = ["adf", "ensemble", "fourdvar", "lorenz", "model", "nonlinear_filters",
           "ADFResult", "GridFilterResult", "assumed_density_filter", "gaussian_moments", "grid_filter",
           "enkf", "exact_ensemble", "cycle_4dvar", "strong_4dvar", "strong_cost_grad", "strong_hessian",
           "weak_4dvar", "weak_cost_grad", "weak_hessian", "Dynamics", "adjoint", "cycle_jacobian", "integrate",
           "linear_dynamics", "lorenz63", "lorenz96", "propagate", "tangent_linear", "vector_field",
           "AssimilationResult", "DAModel", "from_lgssm", "gaspari_cohn", "periodic_taper", "rmse", "simulate",
           "ekf", "sigma_points", "ukf"]
