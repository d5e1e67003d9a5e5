"""The linear-Gaussian state-space model: the model, its inference and its learning side by side.

* :mod:`~pedagogy_lib.lgssm.model`: :class:`LGSSMParams` (Eq. 2.49), validation and sampling. Every
  algorithm on the model, here or in other families (the particle filter, data assimilation), depends
  on this module, not on one inference algorithm.
* :mod:`~pedagogy_lib.lgssm.kalman`: the Kalman filter and RTS smoother (Section 2.2.2; numba
  kernels with NumPy twins; covariance and information forms).
* :mod:`~pedagogy_lib.lgssm.em`: learning the parameters by EM (Section 7.4).
* :mod:`~pedagogy_lib.lgssm.kernels`: the numba kernels of the filter and smoother, one per
  measurement-update form and pass, built from small steps.
* :mod:`~pedagogy_lib.lgssm.small`: the fast path for small clean problems (one compiled call), behind
  its switch ``small.FAST_PATH``.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["model", "kalman", "em", "kernels", "small"])
