r"""Checkers for the exercises of Appendix B.1 (matrix calculus), numerator layout.

Use in the notebook as::

    from pedagogy_lib.exercises import appb_calculus as check
    check.EX_TRACE                    # X and A for exercise (a)
    check.trace_quadratic(my_matrix)  # says what is wrong, never the answer

Reference answers are computed in this module, not taken from the library, and the tests check
them numerically.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checker import CheckResult, compare_array, result, problem_rng

__all__ = ["TraceProblem", "ChainProblem", "EX_TRACE", "EX_LOGDET", "EX_CHAIN",
           "trace_quadratic", "logdet_gradient", "chain_AXAt"]


class TraceProblem(NamedTuple):
    """A rectangular ``X`` (3, 2) and a square, non-symmetric ``A`` (2, 2): the data of exercise (a)."""

    X: np.ndarray
    A: np.ndarray


class ChainProblem(NamedTuple):
    """``A`` (2, 3), ``X`` (3, 3) and ``G`` (2, 2), the gradient of some scalar y with respect to
    F = A X A^T (the matrix the statement defines), evaluated there."""

    A: np.ndarray
    X: np.ndarray
    G: np.ndarray


def _problems():
    rng = problem_rng(2101)
    trace = TraceProblem(rng.standard_normal((3, 2)).round(2), rng.standard_normal((2, 2)).round(2))
    B = rng.standard_normal((3, 3)).round(2)
    logdet = B + 3 * np.eye(3)
    A = rng.standard_normal((2, 3)).round(2)
    X = rng.standard_normal((3, 3)).round(2)
    F = A @ X @ A.T
    chain = ChainProblem(A, X, np.cos(F))            # the gradient of y(F) = sum(sin F)
    return trace, logdet, chain


#: Exercise (a): X (3, 2) and A (2, 2).
#: Exercise (b): a 3 x 3 invertible matrix.
#: Exercise (c): A, X and G = dy/dF at F = A X A^T.
EX_TRACE, EX_LOGDET, EX_CHAIN = _problems()


def trace_quadratic(answer) -> CheckResult:
    """Exercise (a), ``ex-b1-trace``: your gradient with respect to X at :data:`EX_TRACE`.

    Pass a (3, 2) array, the shape of X (numerator layout). The checker recognizes an answer that
    drops a term or that treats A as symmetric.
    """
    X, A = EX_TRACE
    expected = X @ A.T + X @ A
    hints = {
        "you kept only one of the two terms (X appears twice, so the product rule gives two)": X @ A,
        "you kept only the X A^T term (X appears twice, so the product rule gives two)": X @ A.T,
        "you wrote 2 X A, which assumes A is symmetric (it is not)": 2 * X @ A,
    }
    return result("d tr(X A X^T) / dX", compare_array(answer, expected, "dy/dX", rtol=1e-9, hints=hints))


def logdet_gradient(answer) -> CheckResult:
    """Exercise (b), ``ex-b1-logdet``: your gradient of the log-determinant at :data:`EX_LOGDET`.

    Pass a (3, 3) array. The checker recognizes the gradient of the determinant itself given in
    place of the gradient of its log.
    """
    A = EX_LOGDET
    Ai = np.linalg.inv(A)
    expected = Ai.T
    hints = {"you gave d|A|/dA = |A| A^{-T}, the derivative of the determinant itself, not of its log":
             np.linalg.det(A) * Ai.T}
    return result("d log|A| / dA", compare_array(answer, expected, "dy/dA", rtol=1e-9, hints=hints))


def chain_AXAt(answer) -> CheckResult:
    """Exercise (c), ``ex-b1-chain``: your gradient of y with respect to X, from :data:`EX_CHAIN`.

    Pass a (3, 3) array, the shape of X (not of F or G). The checker recognizes an answer with the
    shape of F and one that uses G transposed.
    """
    A, X, G = EX_CHAIN
    expected = A.T @ G @ A
    hints = {"you used G^T in place of G (the chain rule for F = A X B^T is A^T G B, Eq. B.5, with B = A)":
             A.T @ G.T @ A}
    if answer is not None and np.shape(answer) == G.shape:
        return result("dy(A X A^T) / dX", ["your matrix has the shape of F = A X A^T; dy/dX has the shape of X, (3, 3)."])
    return result("dy(A X A^T) / dX", compare_array(answer, expected, "dy/dX", rtol=1e-9, hints=hints))

#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-b1-trace": {"forbidden": ["pedagogy_lib.core.gradcheck.gradcheck",
                                  "pedagogy_lib.nn.network.numerical_gradient"]},
    "ex-b1-logdet": {"forbidden": ["pedagogy_lib.core.gradcheck.gradcheck",
                                   "pedagogy_lib.nn.network.numerical_gradient"]},
    "ex-b1-chain": {"forbidden": ["pedagogy_lib.core.gradcheck.gradcheck",
                                  "pedagogy_lib.nn.network.numerical_gradient"]},
}
