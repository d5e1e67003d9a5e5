r"""Checkers for the exercises of Appendix B.1 (matrix calculus), numerator layout.

Use in the notebook as::

    from pedagogy_lib.exercises import appb_calculus as check
    check.EX_TRACE                    # X, A and L for exercise (a)
    check.trace_quadratic(my_matrix)  # says what is wrong, never the answer

Reference answers are computed in this module, not taken from the library, and the tests check
them numerically.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checker import CheckResult, compare_array, result, problem_rng

__all__ = ["TraceProblem", "LogdetProblem", "ChainProblem", "EX_TRACE", "EX_LOGDET", "EX_CHAIN",
           "trace_quadratic", "logdet_gradient", "chain_XtAX"]


class TraceProblem(NamedTuple):
    """Square, non-symmetric ``X``, ``A`` and ``L`` (each (3, 3)): the data of exercise (a), y = tr(L X A X)."""

    X: np.ndarray
    A: np.ndarray
    L: np.ndarray


class LogdetProblem(NamedTuple):
    """An invertible ``A`` (3, 3) and a ``B`` (2, 3) of full row rank: the data of exercise (b),
    y = log|B A B^T|."""

    A: np.ndarray
    B: np.ndarray


class ChainProblem(NamedTuple):
    """``A`` (3, 3), ``X`` (3, 2) and ``G`` (2, 2), the gradient of some scalar y with respect to
    F = X^T A X (the matrix the statement defines), evaluated there."""

    A: np.ndarray
    X: np.ndarray
    G: np.ndarray


def _problems():
    # exercise (a) draws from a generator of its own, so that the other two keep their data
    trace = TraceProblem(*(problem_rng(2102).standard_normal((3, 3, 3)).round(2)))
    rng = problem_rng(2101)
    rng.standard_normal(6 + 4 + 9)                      # the draws exercise (a) took before it had its own
    A = (rng.standard_normal((3, 3)) + 3 * np.eye(3)).round(2)
    B = rng.standard_normal((2, 3)).round(2)
    logdet = LogdetProblem(A, B + np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    A = rng.standard_normal((3, 3)).round(2)
    X = rng.standard_normal((3, 2)).round(2)
    chain = ChainProblem(A, X, np.cos(X.T @ A @ X))       # the gradient of y(F) = sum(sin F)
    return trace, logdet, chain


#: Exercise (a): X, A and L, each (3, 3).
#: Exercise (b): A (3, 3) invertible and B (2, 3).
#: Exercise (c): A (3, 3), X (3, 2) and G = dy/dF at F = X^T A X.
EX_TRACE, EX_LOGDET, EX_CHAIN = _problems()


def trace_quadratic(answer) -> CheckResult:
    """Exercise (a), ``ex-b1-trace``: your gradient of tr(L X A X) with respect to X at :data:`EX_TRACE`.

    Pass a (3, 3) array, the shape of X (numerator layout). The checker recognizes an answer that
    drops a term, one that leaves L out, one in the other layout, and the page's formula for
    tr(L X A X^T) applied to this function.
    """
    X, A, L = EX_TRACE
    expected = L.T @ X.T @ A.T + A.T @ X.T @ L.T
    hints = {
        "you kept only the term of the first X (X appears twice, so the product rule gives two)":
            L.T @ X.T @ A.T,
        "you kept only the term of the second X (X appears twice, so the product rule gives two)":
            A.T @ X.T @ L.T,
        "you left L out: this is the derivative of tr(X A X)": X.T @ A.T + A.T @ X.T,
        "you read the gradient off the differential in the other layout: recheck how tr(M dX) turns into a "
        "matrix of the shape of X (Section B.1.3)": A @ X @ L + L @ X @ A,
        "you differentiated tr(L X A X^T), whose second X is transposed; here neither is": L.T @ X @ A.T + L @ X @ A,
    }
    return result("d tr(L X A X) / dX", compare_array(answer, expected, "dy/dX", rtol=1e-9, hints=hints))


def logdet_gradient(answer) -> CheckResult:
    """Exercise (b), ``ex-b1-logdet``: your gradient of log|B A B^T| with respect to A at :data:`EX_LOGDET`.

    Pass a (3, 3) array, the shape of A. The checker recognizes the gradient of log|A| alone, and
    says when the gradient is read off the differential in the wrong layout (without saying how).
    """
    A, B = EX_LOGDET
    M = B @ A @ B.T
    expected = B.T @ np.linalg.inv(M).T @ B
    hints = {
        "you gave the derivative of log|A|, not of log|B A B^T|: A sits between B and B^T, so the "
        "chain rule runs through M = B A B^T": np.linalg.inv(A).T,
        "you read the gradient off the differential in the other layout: recheck how "
        "d log|M| = tr(M^{-1} dM) turns into a matrix of the shape of A (Section B.1.3)":
            B.T @ np.linalg.inv(M) @ B,
        "you differentiated |B A B^T|, not its log": np.linalg.det(M) * expected,
    }
    if answer is not None and np.shape(answer) == M.shape:
        return result("d log|B A B^T| / dA", ["your matrix has the shape of B A B^T; dy/dA has the shape of A, "
                                               "(3, 3)."])
    return result("d log|B A B^T| / dA", compare_array(answer, expected, "dy/dA", rtol=1e-9, hints=hints))


def chain_XtAX(answer) -> CheckResult:
    """Exercise (c), ``ex-b1-chain``: your gradient of y with respect to X, from :data:`EX_CHAIN`.

    Pass a (3, 2) array, the shape of X (not of F or G). The checker recognizes an answer with the
    shape of F, one that keeps a single term, and one whose two terms carry G and G^T the wrong way
    round (without saying how to fix them).
    """
    A, X, G = EX_CHAIN
    expected = A @ X @ G.T + A.T @ X @ G
    hints = {
        "you kept only the term of X^T (X appears twice in F = X^T A X, so there are two)": A @ X @ G.T,
        "you kept only the term of the right-hand X (X appears twice in F = X^T A X, so there are two)":
            A.T @ X @ G,
        "G and G^T sit in the wrong terms: redo, for each term, the step that brings its trace to "
        "the form tr(M dX)": A @ X @ G + A.T @ X @ G.T,
        "you treated A and G as symmetric (neither is)": 2 * A @ X @ G,
    }
    if answer is not None and np.shape(answer) == G.shape:
        return result("dy(X^T A X) / dX", ["your matrix has the shape of F = X^T A X; dy/dX has the shape of X, "
                                           "(3, 2)."])
    return result("dy(X^T A X) / dX", compare_array(answer, expected, "dy/dX", rtol=1e-9, hints=hints))

#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-b1-trace": {"forbidden": ["scipy.differentiate.derivative", "scipy.differentiate.jacobian",
                                  "scipy.optimize.approx_fprime", "scipy.optimize._numdiff.approx_derivative",
                                  "pedagogy_lib.core.gradcheck.gradcheck",
                                  "pedagogy_lib.nn.network.numerical_gradient", "scipy.optimize.minimize",
                                  "scipy.optimize.least_squares", "scipy.optimize.root",
                                  "scipy.differentiate.hessian",
                                  # NumPy's central differences at X - h E, X, X + h E, entry by entry, gave the
                                  # gradient to the checker's tolerance
                                  "numpy.gradient"]},
    "ex-b1-logdet": {"forbidden": ["scipy.differentiate.derivative", "scipy.differentiate.jacobian",
                                   "scipy.optimize.approx_fprime", "scipy.optimize._numdiff.approx_derivative",
                                   "pedagogy_lib.core.gradcheck.gradcheck",
                                   "pedagogy_lib.nn.network.numerical_gradient", "scipy.optimize.minimize",
                                   "scipy.optimize.least_squares", "scipy.optimize.root",
                                   "scipy.differentiate.hessian",
                                   # as in ex-b1-trace: NumPy's central differences, entry by entry
                                   "numpy.gradient"]},
    "ex-b1-chain": {"forbidden": ["scipy.differentiate.derivative", "scipy.differentiate.jacobian",
                                  "scipy.optimize.approx_fprime", "scipy.optimize._numdiff.approx_derivative",
                                  "pedagogy_lib.core.gradcheck.gradcheck",
                                  "pedagogy_lib.nn.network.numerical_gradient", "scipy.optimize.minimize",
                                  "scipy.optimize.least_squares", "scipy.optimize.root",
                                  "scipy.differentiate.hessian",
                                  # as in ex-b1-trace, on the linear stand-in sum(G * (X^T A X)) for y
                                  "numpy.gradient"]},
}
