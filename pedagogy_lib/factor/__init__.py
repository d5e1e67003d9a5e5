"""Linear latent-factor models: factor analysis and sparse coding (book Sections 2.1.2-2.1.3) and
learning FA, probabilistic PCA and PCA by EM (Section 7.3).

* :mod:`~pedagogy_lib.factor.model`: factor analysis parameters, marginal, posterior, sampling.
* :mod:`~pedagogy_lib.factor.sparse_coding`: the sparse-coding model (Laplace and other priors),
  MAP inference and Laplace's approximation to the marginal.
* :mod:`~pedagogy_lib.factor.em`: EM for FA and PPCA, the closed-form PPCA and PCA, iterative PCA.
* :mod:`~pedagogy_lib.factor.sparse_coding_em`: EM for sparse coding with Gaussian (Laplace)
  recognition distributions and its free energy (Sections 8.1-8.1.1).
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["model", "sparse_coding", "em", "sparse_coding_em"])
