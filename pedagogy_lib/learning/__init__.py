"""Learning as optimization and the discriminative models of Chapters 4-5.1.

* :mod:`~pedagogy_lib.learning.objectives`: entropy, cross entropy, relative entropy and maximum
  likelihood (Chapter 4 and Appendix A).
* :mod:`~pedagogy_lib.learning.regression`: linear regression, ridge as a posterior mean, one-step
  leave-one-out (Section 5.1.1).
* :mod:`~pedagogy_lib.learning.glm`: generalized linear models and IRLS (Section 5.1.2).

The submodules are imported on first use (``from pedagogy_lib.learning import glm``).
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["objectives", "regression", "glm"])
