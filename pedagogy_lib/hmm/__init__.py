"""Hidden Markov models: inference (book Section 2.2.1) and learning by Baum-Welch (Section 7.2).

* :mod:`~pedagogy_lib.hmm.inference`: the normalized forward filter and the alpha-gamma smoother
  (numba kernels with NumPy twins), log-likelihood matrices, sampling the state chain.
* :mod:`~pedagogy_lib.hmm.em`: parameters with Gaussian or categorical emissions, expected
  sufficient statistics, the M step and :func:`fit_hmm`.

The transition matrix is column-stochastic, as in the book: ``A[i, j] = p(x_t = i | x_{t-1} = j)``.
"""
from . import em, inference
from .em import *  # noqa: F401,F403
from .em import __all__ as _em_all
from .inference import *  # noqa: F401,F403
from .inference import __all__ as _inference_all

__all__ = ["em", "inference", *_inference_all, *_em_all]
