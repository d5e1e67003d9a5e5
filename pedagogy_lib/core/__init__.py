"""Shared machinery that every family uses and no family owns.

* :mod:`~pedagogy_lib.core.checks`: input validation, once at each public boundary; every failure is a
  ``ValueError`` naming the book's symbol, what was expected and what was received.
* :mod:`~pedagogy_lib.core.linalg`: Cholesky solves, log-determinants, the Gaussian log density.
* :mod:`~pedagogy_lib.core.logmath`: logsumexp, softmax and log-normalization.
* :mod:`~pedagogy_lib.core.jit`: numba when it is installed, the NumPy twins when it is not.
* :mod:`~pedagogy_lib.core.gradcheck`: finite-difference derivatives in the book's numerator layout
  (Appendix B.1), to check hand-written ones.
* :mod:`~pedagogy_lib.core.budget`: the published book's training length or the test run's fast one.
* :mod:`~pedagogy_lib.core.warmup`: compiles every kernel once (used before parallel test runs).

Nothing here imports a model family, SciPy's statistics or matplotlib.
"""
from .checks import ConvergenceWarning
from .jit import HAVE_NUMBA
from .linalg import TAU

__all__ = ["ConvergenceWarning", "HAVE_NUMBA", "TAU"]
