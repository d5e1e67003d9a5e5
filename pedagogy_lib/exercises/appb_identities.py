r"""Checkers for the exercises of Appendix B.3 (matrix identities: Woodbury, Sherman-Morrison).

Use in the notebook as::

    from pedagogy_lib.exercises import appb_identities as check
    check.EX_SM                          # A^{-1}, u, v for exercise (a)
    check.sherman_morrison(my_inverse)   # says what is wrong, never the answer

Reference answers are computed independently of the identities the exercises practise.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checker import CheckResult, compare_array, compare_bool, result, problem_rng

__all__ = ["RankOneProblem", "WoodburyProblem", "EX_SM", "EX_WOODBURY", "sherman_morrison", "woodbury",
           "woodbury_shapes"]


class RankOneProblem(NamedTuple):
    """``A_inv`` (4, 4), the inverse of some matrix A, and vectors ``u``, ``v`` (4,)."""

    A_inv: np.ndarray
    u: np.ndarray
    v: np.ndarray


class WoodburyProblem(NamedTuple):
    """``a`` (6,), the diagonal of a diagonal matrix A; ``U`` (6, 2), ``C`` (2, 2) and ``V`` (2, 6)."""

    a: np.ndarray
    U: np.ndarray
    C: np.ndarray
    V: np.ndarray


def _make():
    rng = problem_rng(2301)
    G = rng.standard_normal((4, 4))
    A = G @ G.T + 4 * np.eye(4)
    sm = RankOneProblem(np.linalg.inv(A), rng.standard_normal(4).round(2), rng.standard_normal(4).round(2))
    wb = WoodburyProblem(rng.uniform(1.0, 3.0, 6).round(2), rng.standard_normal((6, 2)).round(2),
                         np.array([[2.0, 0.5], [0.5, 1.0]]), rng.standard_normal((2, 6)).round(2))
    return sm, wb


#: Exercise (a): a rank-one update.
#: Exercise (b): a rank-two update of a diagonal matrix.
EX_SM, EX_WOODBURY = _make()


def sherman_morrison(answer) -> CheckResult:
    """Exercise (a), ``ex-b3-sherman-morrison``: your inverse of the rank-one update of :data:`EX_SM`.

    Pass the (4, 4) inverse of A + u v^T. The checker recognizes a correction with the wrong sign,
    a slip in the scalar denominator, and u and v swapped.
    """
    Ai, u, v = EX_SM
    A = np.linalg.inv(Ai)
    expected = np.linalg.inv(A + np.outer(u, v))
    hints = {"you added the correction instead of subtracting it": Ai + np.outer(Ai @ u, v @ Ai) / (1 + v @ Ai @ u),
             "you divided by v^T A^{-1} u without the 1 +": Ai - np.outer(Ai @ u, v @ Ai) / (v @ Ai @ u),
             "you used u v^T in the wrong order (v u^T)": np.linalg.inv(A + np.outer(v, u))}
    return result("Sherman-Morrison update", compare_array(answer, expected, "the inverse", rtol=1e-9, hints=hints))


def woodbury(answer) -> CheckResult:
    """Exercise (b), ``ex-b3-woodbury``: your inverse of the update A + U C V of :data:`EX_WOODBURY`.

    Pass the (6, 6) inverse. The checker recognizes C used where its inverse belongs and a missing
    inverse of the small 2 x 2 matrix.
    """
    a, U, C, V = EX_WOODBURY
    A = np.diag(a)
    expected = np.linalg.inv(A + U @ C @ V)
    Ai = np.diag(1 / a)
    hints = {"you used C instead of C^{-1} inside the small inverse":
             Ai - Ai @ U @ np.linalg.inv(C + V @ Ai @ U) @ V @ Ai,
             "you dropped the inner inverse, using (C^{-1} + V A^{-1} U) itself": Ai - Ai @ U @ (np.linalg.inv(C) + V @ Ai @ U) @ V @ Ai}
    return result("Woodbury update", compare_array(answer, expected, "the inverse", rtol=1e-9, hints=hints))


def woodbury_shapes(answer) -> CheckResult:
    """Exercise (c), ``ex-b3-shapes``: True or False, "Eq. B.14 requires U and V to be square and invertible"."""
    return result("what Woodbury assumes", compare_bool(answer, False, "your answer"))

#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-b3-sherman-morrison": {"forbidden": ["numpy.linalg.inv", "numpy.linalg.pinv", "numpy.linalg.solve",
                                             "scipy.linalg.inv", "scipy.linalg.solve"]},
    "ex-b3-shapes": {"same_data": "a True/False question about the assumptions of Eq. B.14; it has no data"},
}
