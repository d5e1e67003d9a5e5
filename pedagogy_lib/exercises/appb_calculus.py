r"""Checkers for the exercises of Appendix B.1 (matrix calculus, numerator layout)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checker import CheckResult, compare_array, result, problem_rng

__all__ = ["TraceProblem", "LogdetProblem", "ChainProblem", "EX_TRACE", "EX_LOGDET", "EX_CHAIN", "trace_quadratic",
           "logdet_gradient", "chain_similarity"]


class TraceProblem(NamedTuple):
    """Square, non-symmetric ``X``, ``A`` and ``L`` (3, 3): exercise (a), y = tr(L X A X)."""

    X: np.ndarray
    A: np.ndarray
    L: np.ndarray


class LogdetProblem(NamedTuple):
    """An invertible ``A`` (3, 3) and a full-row-rank ``B`` (2, 3): exercise (b), y = log|B A B^T|."""

    A: np.ndarray
    B: np.ndarray


class ChainProblem(NamedTuple):
    """``A`` (3, 3), an invertible ``X`` (3, 3) and ``G``, the gradient of y in F = X A X^{-1} there."""

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
    X = (rng.standard_normal((3, 3)) + 3 * np.eye(3)).round(2)     # not symmetric, and
    while np.linalg.cond(X) > 20:                                   # well conditioned for every student
        X = (rng.standard_normal((3, 3)) + 3 * np.eye(3)).round(2)
    chain = ChainProblem(A, X, np.cos(X @ A @ np.linalg.inv(X)))   # the gradient of y(F) = sum(sin F)
    return trace, logdet, chain


#: Exercises (a), (b) and (c): X, A, L; A invertible and B; A, X invertible and G = dy/dF.
EX_TRACE, EX_LOGDET, EX_CHAIN = _problems()


def trace_quadratic(answer) -> CheckResult:
    """Exercise (a), ``ex-b1-trace``: your gradient (3, 3) of tr(L X A X) in X at :data:`EX_TRACE`. Slips named: a
    dropped term, L left out, the other layout, the page's formula for tr(L X A X^T)."""
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
    """Exercise (b), ``ex-b1-logdet``: your gradient (3, 3) of log|B A B^T| in A at :data:`EX_LOGDET`. Slips named:
    the gradient of log|A|, the other layout, no log."""
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


def chain_similarity(answer) -> CheckResult:
    """Exercise (c), ``ex-b1-chain``: your gradient (3, 3) of y in X from :data:`EX_CHAIN`. Slips named: a single
    term, the X^{-1} term's sign or commuted factors, the other layout."""
    A, X, G = EX_CHAIN
    Xi = np.linalg.inv(X)
    F = X @ A @ Xi
    first, second = G @ Xi.T @ A.T, F.T @ G @ Xi.T
    expected = first - second
    hints = {
        "you kept only the term of X (X appears twice in F = X A X^{-1}, once inverted, so there are two)": first,
        "you kept only the term of X^{-1} (X appears twice in F = X A X^{-1}, so there are two)": -second,
        "the term of X^{-1} has the wrong sign: recheck the differential of X^{-1}": first + second,
        "you differentiated X^{-1} as if matrices commuted: recheck where dX sits in the differential of "
        "X^{-1}": first - Xi.T @ Xi.T @ A.T @ X.T @ G,
        "you read the gradient off the differential in the other layout: recheck how tr(M dX) turns into a "
        "matrix of the shape of X (Section B.1.3)": expected.T,
    }
    return result("dy(X A X^{-1}) / dX", compare_array(answer, expected, "dy/dX", rtol=1e-9, hints=hints))
