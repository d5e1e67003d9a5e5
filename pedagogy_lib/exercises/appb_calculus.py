r"""Checkers for the exercises of Appendix B.1 (matrix calculus, numerator layout)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.gradcheck import gradcheck
from . import checker
from .checker import CheckResult, compare_array, result, problem_rng

__all__ = ["TraceProblem", "LogdetProblem", "ChainProblem", "EX_TRACE", "EX_LOGDET", "EX_CHAIN", "trace_quadratic",
           "logdet_gradient", "chain_similarity", "central_difference"]


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


# --- exercise (d): the derivative of any function by central differences, as a function --------------------------

def _difference_cases():
    """Hidden problems ``(description, f, X, h)``: outputs and arguments of every kind the layout covers."""
    r = problem_rng(2103)
    cases = []
    X = r.standard_normal((3, 3)) + 3.0 * np.eye(3)
    while np.linalg.cond(X) > 20:                       # log|X| is smooth near a well-conditioned X
        X = r.standard_normal((3, 3)) + 3.0 * np.eye(3)
    cases.append(("a scalar of a square matrix", lambda Z: float(np.linalg.slogdet(Z)[1]), X, 1e-4))
    A, B = r.standard_normal((3, 2)), r.standard_normal((5, 4))
    cases.append(("a scalar of a 2 x 4 matrix", lambda Z, A=A, B=B: float(np.sum(np.sin(A @ Z @ B.T))),
                  r.standard_normal((2, 4)), 1e-3))
    A = r.standard_normal((3, 5))
    cases.append(("a vector of length 3 of a vector of length 5",
                  lambda z, A=A: np.tanh(A @ z) * (1.0 + z[0] ** 2), r.standard_normal(5), 1e-4))
    A = r.standard_normal((3, 3))
    cases.append(("a 2 x 2 matrix of a 2 x 3 matrix", lambda Z, A=A: Z @ A @ Z.T, r.standard_normal((2, 3)), 1e-3))
    cases.append(("a vector of length 3 of a single number, X of shape ()",
                  lambda t: np.array([np.cos(t), t ** 3, np.exp(-t)], dtype=float),
                  np.array(r.uniform(0.5, 1.5)), 1e-3))
    W = r.standard_normal((2, 2, 2))
    cases.append(("a scalar of a 2 x 2 x 2 array", lambda Z, W=W: float(np.sum(W * Z ** 3) + np.sum(Z) ** 2),
                  r.standard_normal((2, 2, 2)), 1e-3))
    return cases


def _difference_slips(f, X, h, expected) -> dict:
    """What named wrong versions give: a forward difference, a step of h in the denominator, the other layout (when
    it has the same shape)."""
    X = np.asarray(X, dtype=float)
    f0 = np.asarray(f(X), dtype=float)
    forward = np.empty(expected.shape)
    for idx in np.ndindex(X.shape):
        E = np.zeros(X.shape)
        E[idx] = h
        forward[(Ellipsis,) + idx] = (np.asarray(f(X + E), dtype=float) - f0) / h
    slips = {
        "you took a forward difference (f(X + h E) - f(X)) / h: the central difference moves each entry both ways, "
        "+h and -h": forward,
        "you divided the difference f(X + h E) - f(X - h E) by h; the two points are 2h apart": 2.0 * expected,
    }
    S, R = f0.shape, X.shape
    if S and R and S + R == R + S:
        other = np.moveaxis(expected, list(range(len(S))), list(range(len(R), len(R) + len(S))))
        slips["you used the other layout, X's shape first: numerator layout puts the output's shape first "
              "(Section B.1.1)"] = other
    return slips


def central_difference(fn) -> CheckResult:
    """Exercise (d), ``ex-b1-central-difference``: your function ``fn(f, X, h)`` returning the central-difference
    derivative of ``f`` at ``X`` with step ``h``, shape ``f(X).shape + X.shape`` (numerator layout, Eq. B.1). It is
    compared with the library's central differences at the same step. Slips named: a forward difference, a
    denominator h, the other layout, a flattened array."""
    def judge(out, where, f, X, h, expected):
        what = f"your derivative on {where}"
        arr, problems = checker.as_numeric(out, what)
        if problems:
            return problems
        R = np.shape(X)
        S = expected.shape[:expected.ndim - len(R)]
        if arr.shape != expected.shape:
            if arr.shape == R + S:
                return [f"{what} has shape {arr.shape}, X.shape + f(X).shape: that is the other layout. The book's "
                        f"numerator layout puts the output's shape first, f(X).shape + X.shape = {expected.shape}."]
            if arr.size == expected.size and np.allclose(arr.reshape(expected.shape), expected, rtol=1e-7,
                                                         atol=1e-9):
                return [f"{what} holds the right numbers in shape {arr.shape}: arrange them as f(X).shape + "
                        f"X.shape = {expected.shape}, entry [s, r] being the derivative of output entry s in "
                        "entry r of X."]
        return checker.compare_array(arr, expected, what, rtol=1e-7, atol=1e-9,
                                     hints=_difference_slips(f, X, h, expected))

    cases = [(f"test case {i + 1} ({desc})", (f, X, h), gradcheck(f, X, h=h).numeric)
             for i, (desc, f, X, h) in enumerate(_difference_cases())]
    return checker.check_function("central-difference derivative in numerator layout (Eq. B.1)", fn, cases, judge,
                                  name="my_central_difference", signature="(f, X, h)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-b1-central-difference": {"same_data": checker.FUNCTION_ANSWER},
}
