"""Hidden Markov models: inference (book Section 2.2.1) and learning by Baum-Welch (Section 7.2).

* :mod:`~pedagogy_lib.hmm.inference`: the normalized forward filter and the alpha-gamma smoother
  (with their NumPy twins), log-likelihood matrices, sampling the state chain.
* :mod:`~pedagogy_lib.hmm.em`: parameters with Gaussian or categorical emissions, expected
  sufficient statistics, the M step and :func:`fit_hmm`.
* :mod:`~pedagogy_lib.hmm.kernels`: the numba kernels of the forward and backward passes.

The transition matrix is column-stochastic, as in the book: ``A[i, j] = p(x_t = i | x_{t-1} = j)``.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["inference", "em", "kernels"], module_only=("warmup_kernels",))
