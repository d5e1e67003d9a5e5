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

from .checker import CheckResult, compare_array, result, problem_rng

__all__ = ["RankOneProblem", "WoodburyProblem", "EX_SM", "EX_WOODBURY", "EX_SIZES", "sherman_morrison",
           "woodbury", "woodbury_shapes"]


class RankOneProblem(NamedTuple):
    """``A_inv`` (4, 4), the inverse of some matrix A, and ``u``, ``v`` (2, 4): row i of each is the i-th
    rank-one update u_i v_i^T."""

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
    sm = RankOneProblem(np.linalg.inv(A), rng.standard_normal((2, 4)).round(2), rng.standard_normal((2, 4)).round(2))
    wb = WoodburyProblem(rng.uniform(1.0, 3.0, 6).round(2), rng.standard_normal((6, 2)).round(2),
                         np.array([[2.0, 0.5], [0.5, 1.0]]), rng.standard_normal((2, 6)).round(2))
    return sm, wb


#: Exercise (a): two successive rank-one updates.
#: Exercise (b): a rank-two update of a diagonal matrix.
EX_SM, EX_WOODBURY = _make()


def _sm(Ai, u, v, *, sign=-1.0, one=1.0):
    """One rank-one update of an inverse by Eq. B.15 (with the named slips as options)."""
    return Ai + sign * np.outer(Ai @ u, v @ Ai) / (one + v @ Ai @ u)


def sherman_morrison(answer) -> CheckResult:
    """Exercise (a), ``ex-b3-sherman-morrison``: your inverse of A + u_1 v_1^T + u_2 v_2^T for :data:`EX_SM`.

    Pass the (4, 4) inverse. The checker recognizes the second update made from A^{-1} instead of the
    once-updated inverse, only one update made, a correction with the wrong sign, the scalar
    denominator 1 - v^T A^{-1} u or without its 1, and u and v swapped.
    """
    Ai, u, v = EX_SM
    A = np.linalg.inv(Ai)
    expected = np.linalg.inv(A + np.outer(u[0], v[0]) + np.outer(u[1], v[1]))
    once = _sm(Ai, u[0], v[0])
    hints = {
        "you made the second update from A^{-1}, not from the inverse after the first update":
            _sm(Ai, u[0], v[0]) + _sm(Ai, u[1], v[1]) - Ai,
        "you made only one of the two updates": once,
        "you made only one of the two updates (the second)": _sm(Ai, u[1], v[1]),
        "you added the corrections instead of subtracting them": _sm(_sm(Ai, u[0], v[0], sign=1.0), u[1], v[1],
                                                                      sign=1.0),
        "you divided by 1 - v^T A^{-1} u; the scalar in Eq. B.15 is 1 + v^T A^{-1} u":
            _sm_minus(_sm_minus(Ai, u[0], v[0]), u[1], v[1]),
        "you divided by v^T A^{-1} u without the 1 +": _sm(_sm(Ai, u[0], v[0], one=0.0), u[1], v[1], one=0.0),
        "you used v u^T in place of u v^T": np.linalg.inv(A + np.outer(v[0], u[0]) + np.outer(v[1], u[1])),
    }
    return result("two Sherman-Morrison updates",
                  compare_array(answer, expected, "the inverse", rtol=1e-9, hints=hints))


def _sm_minus(Ai, u, v):
    """Eq. B.15 with the denominator's sign slipped: 1 - v^T A^{-1} u."""
    return Ai - np.outer(Ai @ u, v @ Ai) / (1.0 - v @ Ai @ u)


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


#: Exercise (c): the sizes n (A is n x n, diagonal) and, for the two low-rank terms U_i C_i V_i, k_i and m_i
#: (U_i is n x k_i, C_i is k_i x m_i, V_i is m_i x n).
EX_SIZES = {"n": 1000, "k1": 6, "m1": 2, "k2": 1, "m2": 3}


def woodbury_shapes(answer) -> CheckResult:
    """Exercise (c), ``ex-b3-shapes``: the shape ``(rows, cols)`` of the smallest inverse that push-through
    leaves besides A^{-1} for (A + U_1 C_1 V_1 + U_2 C_2 V_2)^{-1} with non-square C_i, for the sizes of
    :data:`EX_SIZES`.

    The checker recognizes groupings that are valid but not the smallest, shapes no grouping gives, the
    direct inverse the lemma avoids, and shapes that are not square.
    """
    n, k1, m1, k2, m2 = (EX_SIZES[key] for key in ("n", "k1", "m1", "k2", "m2"))
    what = "the smallest inner inverse of push-through"
    try:
        got = tuple(int(x) for x in answer)
    except (TypeError, ValueError):
        return result(what, ["give a pair of whole numbers, (rows, cols)."])
    if len(got) != 2 or isinstance(answer, (str, bytes)):
        return result(what, ["give a pair of whole numbers, (rows, cols)."])
    best = min(k1, m1) + min(k2, m2)
    if got == (best, best):
        return result(what, [])
    valid_not_smallest = {k1 + k2: "Eq. B.14's grouping for both terms, C_i with V_i",
                          m1 + m2: "C_i grouped with U_i for both terms",
                          max(k1, m1) + max(k2, m2): "each term grouped the way that leaves the larger block"}
    if got[0] != got[1]:
        problems = ["that is not square, and the inverse push-through leaves is."]
    elif got[0] in valid_not_smallest:
        problems = [f"that inverse works ({valid_not_smallest[got[0]]}), but it is not the smallest one."]
    elif got[0] in (min(k1, m1), min(k2, m2)):
        problems = ["no way of writing the whole update as M N gives an inverse of that shape."]
    elif got[0] == n:
        problems = ["that is the shape of the matrix itself, the inverse the lemma avoids."]
    else:
        problems = ["not right: write out the shape of N M for the ways of splitting A^{-1} (U_1 C_1 V_1 + "
                    "U_2 C_2 V_2) into M N."]
    return result(what, problems)


#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
_INVERSES = ["numpy.linalg.inv", "numpy.linalg.pinv", "numpy.linalg.solve", "numpy.linalg.tensorinv",
             "numpy.linalg.tensorsolve", "numpy.linalg.lstsq", "numpy.linalg.matrix_power", "scipy.linalg.inv",
             "scipy.linalg.solve", "scipy.linalg.pinv", "scipy.linalg.pinvh", "scipy.linalg.lstsq",
             "scipy.linalg.lu", "scipy.linalg.lu_factor", "scipy.linalg.lu_solve", "scipy.linalg.cho_factor",
             "scipy.linalg.cho_solve", "scipy.linalg.solve_triangular", "scipy.linalg.funm",
             "scipy.linalg.fractional_matrix_power", "scipy.linalg.get_lapack_funcs", "scipy.linalg.lapack.dgetrf",
             "scipy.linalg.lapack.dgetri", "scipy.linalg.lapack.dgesv", "scipy.linalg.lapack.dposv",
             "scipy.linalg.lapack.dsysv", "scipy.linalg.lapack.dgels", "scipy.linalg.lapack.dgelsd",
             "scipy.linalg.lapack.dpotri", "scipy.sparse.linalg.inv", "scipy.sparse.linalg.spsolve",
             "pedagogy_lib.core.linalg.spd_inverse", "pedagogy_lib.core.linalg.chol_solve", "numpy.linalg.svd",
             "scipy.sparse.linalg.splu", "scipy.sparse.linalg.factorized", "numpy.linalg.eig", "numpy.linalg.eigh",
             "scipy.linalg.lapack.sgesv", "scipy.linalg.lapack.cgesv", "scipy.linalg.lapack.zgesv",
             "scipy.linalg.lapack.dgesvx", "scipy.linalg.lapack.sgesvx", "scipy.linalg.lapack.cgesvx",
             "scipy.linalg.lapack.zgesvx", "scipy.linalg.lapack.dtrtri", "scipy.linalg.lapack.strtri",
             "scipy.linalg.lapack.ctrtri", "scipy.linalg.lapack.ztrtri", "_counted_lu_solve"]

SUMMATIVE = {
    "ex-b3-sherman-morrison": {"forbidden": _INVERSES},
    "ex-b3-woodbury": {"forbidden": _INVERSES},
    "ex-b3-shapes": {"same_data": "the statement spells out the sizes, n = 1000, (k_1, m_1) = (6, 2) and "
                                  "(k_2, m_2) = (1, 3)"},
}
