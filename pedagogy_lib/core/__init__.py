"""Shared machinery that every family uses and no family owns.

* :mod:`~pedagogy_lib.core.checks`: input validation, once at each public boundary; every failure is a
  ``ValueError`` naming the book's symbol, what was expected and what was received.
* :mod:`~pedagogy_lib.core.linalg`: Cholesky solves, log-determinants, the Gaussian log density.
* :mod:`~pedagogy_lib.core.logmath`: logsumexp, softmax and log-normalization.
* :mod:`~pedagogy_lib.core.jit`: numba when it is installed, the NumPy twins when it is not.
* :mod:`~pedagogy_lib.core.kernels`: numba maths several families share (small dense matrix helpers
  inlined into their kernels, the positive-definiteness screen).
* :mod:`~pedagogy_lib.core.gradcheck`: finite-difference derivatives in the book's numerator layout
  (Appendix B.1), to check hand-written ones.
* :mod:`~pedagogy_lib.core.budget`: the published book's training length or the test run's fast one.
* :mod:`~pedagogy_lib.core.warmup`: compiles every kernel once (used before parallel test runs).
* :mod:`~pedagogy_lib.core.lazy`: how every family exposes its public names, imported on first use.
* :mod:`~pedagogy_lib.core.wire`: the encoding of values between the grader and a student's sandboxed process.

Nothing here imports a model family, SciPy's statistics or matplotlib.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, [
    "checks",
    "linalg",
    "logmath",
    "jit",
    "kernels",
    "gradcheck",
    "budget",
    "warmup",
    "lazy",
    "wire",
])
