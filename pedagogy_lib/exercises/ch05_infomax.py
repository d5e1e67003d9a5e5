r"""Checkers for the exercises of notebook 5.2.1 (InfoMax ICA).

Use in the notebook as::

    from pedagogy_lib.exercises import ch05_infomax as check
    check.gradient(my_G)

Data arrays hold one sample per row (``Y`` is the book's Y transposed); ``D`` is the square
unmixing matrix of Eq. 5.27. Reference answers are computed when a checker runs.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..nn import infomax as _im
from . import checker

__all__ = ["InfoMaxProblem", "EX_GRAD", "EX_FIXED", "AMARI_CASES", "EX_SOURCES", "gradient",
           "fixed_point", "amari", "separable_sources"]


class InfoMaxProblem(NamedTuple):
    """Mixtures ``Y`` (N, K), one per row, and a current unmixing matrix ``D`` (K, K)."""

    Y: np.ndarray
    D: np.ndarray


def _draw_unmixing(rng) -> np.ndarray:
    """A well-conditioned, clearly non-symmetric 2 x 2 unmixing matrix with one decimal, positive diagonal."""
    while True:
        off = rng.choice([-1.0, 1.0], size=2) * rng.uniform(0.2, 0.8, size=2)
        D = np.round(np.array([[rng.uniform(0.5, 1.5), off[0]], [off[1], rng.uniform(0.5, 1.5)]]), 1)
        if abs(D[0, 1] - D[1, 0]) >= 0.3 and np.linalg.cond(D) < 5:
            return D


def _draw_grad(rng):
    """A problem of the same kind as the book's EX_GRAD, for one student: six mixtures in rows (one decimal,
    of order one) and a non-symmetric, well-conditioned D."""
    return InfoMaxProblem(np.round(rng.normal(scale=1.1, size=(6, 2)), 1) + 0.0, _draw_unmixing(rng))


#: Exercise 1: the gradient of the InfoMax objective at a non-symmetric D.
EX_GRAD = checker.book_or_drawn(InfoMaxProblem(
    Y=np.array([[0.5, -1.0], [1.5, 0.2], [-0.7, 0.9], [0.1, -2.0], [-1.2, -0.4], [2.2, 1.1]]),
    D=np.array([[1.0, 0.4], [-0.3, 0.8]]),
), _draw_grad, seed=5211)


def _draw_fixed(rng):
    """A problem of the same kind as the book's EX_FIXED, for one student: five mixtures in rows and a
    non-symmetric D, such that the matrix to invert is well-conditioned and clearly not symmetric."""
    while True:
        Y, D = np.round(rng.normal(size=(5, 2)), 1) + 0.0, _draw_unmixing(rng)
        M = 2.0 * Y.T @ np.tanh(Y @ D.T) / len(Y)
        if np.linalg.cond(M) < 10 and abs(M[0, 1] - M[1, 0]) > 0.1 * np.abs(M).max():
            return InfoMaxProblem(Y, D)


#: Exercise 2: the right-hand side of the fixed-point equation for the tanh squashing function (which the
#: page does not derive) at a non-symmetric D.
EX_FIXED = checker.book_or_drawn(InfoMaxProblem(
    Y=np.array([[1.0, 0.3], [-0.4, 1.2], [0.8, -1.5], [-1.9, 0.1], [0.2, 0.6]]),
    D=np.array([[1.2, -0.5], [0.7, 0.9]]),
), _draw_fixed, seed=5212)

#: Exercise 3: test cases for an Amari-index function ``amari(P)`` of the global matrix P = D C.
AMARI_CASES = (
    np.array([[0.0, 2.0], [-0.5, 0.0]]),
    np.array([[1.0, 0.1], [0.3, 1.0]]),
    np.array([[1.0, 1.0], [1.0, -1.0]]),
    np.array([[2.0, 0.5, 0.0], [0.1, 0.0, 3.0], [0.0, 1.0, 0.2]]),
    np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 10.0]]),
)

#: Exercise 4: source laws (unit variance, i.i.d. across the two sources).
EX_SOURCES = ("laplace", "logistic", "uniform")


def _psi(x):
    return 1.0 / (1.0 + np.exp(-x))


def gradient(G):
    """Exercise 1, ``ex-5-2-1-gradient``: your gradient of the InfoMax objective with respect to D at :data:`EX_GRAD`.

    Pass a (K, K) = (2, 2) array whose row k is the derivative with respect to row k of D. The
    checker recognizes the draft's transposed term, a left-out or wrongly transposed term, the
    gradient of the loss instead of the objective, a sum where an average belongs, and a slip in
    the squashing term.
    """
    Y, D = EX_GRAD
    N = Y.shape[0]
    inner = (1.0 - 2.0 * _psi(Y @ D.T)).T @ Y / N           # row k: <(1 - 2 psi(d_k^T y)) y^T>
    DinvT = np.linalg.inv(D).T
    ref = inner + DinvT
    hints = {
        "you used the draft's per-sample term y (1 - 2 psi(Dy))^T, which is transposed": inner.T + DinvT,
        "you left out the log-determinant term D^{-T}": inner,
        "you wrote D^{-1} where the derivative of log|det D| is D^{-T}": inner + np.linalg.inv(D),
        "you computed the gradient of the loss (Eq. 5.28 as printed), not of the objective J": -ref,
        "you summed over samples instead of averaging": N * inner + DinvT,
        "you used 1 - psi instead of 1 - 2 psi": (1.0 - _psi(Y @ D.T)).T @ Y / N + DinvT,
    }
    problems = checker.compare_array(G, ref, "your gradient", hints=hints)
    return checker.result("InfoMax gradient (Eq. 5.28, corrected)", problems)


def fixed_point(R):
    """Exercise 2, ``ex-5-2-1-fixed-point``: your right-hand side of the fixed-point equation for the
    squashing function x = tanh(u), in the corrected layout, at :data:`EX_FIXED`.

    Pass a (2, 2) array. The checker recognizes the logistic's right-hand side (the page's), the
    draft's transposed layout, a constant factor lost in the derivative, and the matrix before
    inversion.
    """
    Y, D = EX_FIXED
    N = Y.shape[0]
    T = np.tanh(Y @ D.T)
    ref = np.linalg.inv(2.0 * Y.T @ T / N)
    T_logistic = np.tanh(Y @ D.T / 2.0)
    hints = {
        "this is the right-hand side for the logistic squashing function (the page's); the exercise asks for "
        "x = tanh(u)": np.linalg.inv(Y.T @ T_logistic / N),
        "your matrix is the transpose of the one in the corrected layout (the draft's layout)":
            np.linalg.inv(2.0 * T.T @ Y / N),
        "your answer is off by a constant factor: differentiate log tanh'(u) again": np.linalg.inv(Y.T @ T / N),
        "you returned the matrix without inverting it": 2.0 * Y.T @ T / N,
    }
    problems = checker.compare_array(R, ref, "your right-hand side", hints=hints)
    return checker.result("InfoMax fixed point for tanh squashing", problems)


def _amari_ref(P):
    P = np.abs(np.asarray(P, dtype=float))
    K = P.shape[0]
    rows = (P.sum(1) / P.max(1) - 1).sum()
    cols = (P.sum(0) / P.max(0) - 1).sum()
    return (rows + cols) / (2 * K * (K - 1))


def amari(fn):
    """Exercise 3, ``ex-5-2-1-amari``: your function ``fn(P)`` returning the Amari index of the square
    matrix ``P``, a single number.

    It is run on each matrix of :data:`AMARI_CASES`, and must not change when ``P`` is multiplied
    by a negative constant.
    """
    cases = [((P,), _amari_ref(P)) for P in AMARI_CASES]
    problems = checker.compare_function(fn, cases, "your amari(P)",
                                      describe=lambda args: f"P = {np.round(args[0], 3).tolist()}")
    if not problems and callable(fn):
        # it must ignore signs and the scale of rows
        P = AMARI_CASES[1]
        if not np.isclose(fn(-3.0 * P), _amari_ref(P)):
            problems.append("your amari(P) changes when P is scaled by -3; use absolute values and ratios.")
    return checker.result("Amari index", problems)


@lru_cache(maxsize=None)
def _constant(src: str) -> float:
    return _im.stability_constant(src)[0]


@lru_cache(maxsize=None)
def _constant_unscaled(src: str) -> float:
    """c at the unit-variance source itself (lambda = 1), a named slip."""
    from scipy import integrate

    dist = _im._source_dist(src, None)
    lo, hi = (max(b, -60.0) if i == 0 else min(b, 60.0) for i, b in enumerate(dist.support()))
    dphi = integrate.quad(lambda s: 0.5 / np.cosh(s / 2.0) ** 2 * dist.pdf(s), lo, hi, points=[0.0], limit=200)[0]
    return float(dphi)


def separable_sources(answers):
    """Exercise 4, ``ex-5-2-1-which-sources``: a dict ``{source: c}`` with every name of :data:`EX_SOURCES`:
    the stability constant c = E[phi'(x)] E[x^2] of the separating solution of InfoMax with the logistic
    squashing function, for two i.i.d. unit-variance sources of this law (x = lambda s, the recovered
    source), to 1 %."""
    title = "stability constants of InfoMax's separating solution"
    if not isinstance(answers, dict):
        return checker.result(title, [f"give a dict with keys {list(EX_SOURCES)} and numbers c as values; "
                                      f"got {type(answers).__name__}."])
    problems = []
    for src in EX_SOURCES:
        if src not in answers:
            problems.append(f"missing an answer for {src!r}.")
            continue
        if isinstance(answers[src], (bool, np.bool_)):
            problems.append(f"your answer for {src!r} is a bool: give the constant c, a number.")
            continue
        problems += checker.compare_scalar(answers[src], _constant(src), f"your c for {src!r}", rtol=1e-2,
                                           hints={"you evaluated c at the unit-variance source itself; check the "
                                                  "scale of the recovered source": _constant_unscaled(src)})
    return checker.result(title, problems)

#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-5-2-1-gradient": {"forbidden": ["pedagogy_lib.nn.infomax.gradient",
                                        "pedagogy_lib.nn.infomax.natural_gradient",
                                        "pedagogy_lib.nn.infomax.objective",
                                        "pedagogy_lib.core.gradcheck.gradcheck",
                                        "pedagogy_lib.nn.network.numerical_gradient"]},
    "ex-5-2-1-amari": {"forbidden": ["pedagogy_lib.nn.infomax.amari_index"],
                       "same_data": "the answer is a function, which the grader calls on test matrices of the "
                                    "checker's own"},
    "ex-5-2-1-fixed-point": {"forbidden": ["pedagogy_lib.nn.infomax.fixed_point_rhs",
                                           "pedagogy_lib.nn.infomax.fixed_point_residual"]},
    "ex-5-2-1-which-sources": {"forbidden": ["pedagogy_lib.nn.infomax.stability_constant"],
                               "same_data": "the answer is a constant for each of three named source laws, which "
                                            "the data do not change"},
}
