"""The linear-Gaussian state-space model: the model, its inference and its learning side by side.

* :mod:`~pedagogy_lib.lgssm.model`: :class:`LGSSMParams` (Eq. 2.49), validation and sampling. Every
  algorithm on the model, here or in other families (the particle filter, data assimilation), depends
  on this module, not on one inference algorithm.
* :mod:`~pedagogy_lib.lgssm.kalman`: the Kalman filter and RTS smoother (Section 2.2.2; numba
  kernels with NumPy twins; covariance and information forms).
* :mod:`~pedagogy_lib.lgssm.em`: learning the parameters by EM (Section 7.4).
"""
from . import em, kalman, model
from .em import *  # noqa: F401,F403
from .em import __all__ as _em_all
from .kalman import *  # noqa: F401,F403
from .kalman import __all__ as _kalman_all
from .model import LGSSMParams, sample_lgssm

__all__ = ["em", "kalman", "model", "LGSSMParams", "sample_lgssm", *_kalman_all, *_em_all]
