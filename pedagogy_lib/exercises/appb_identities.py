r"""Checkers for the exercises of Appendix B.3 (matrix identities: Woodbury, Sherman-Morrison); exercises (a) and (b)
use n = 200 000, far too large for a dense matrix."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import checker
from .checker import CheckResult, compare_array, result, problem_rng

__all__ = ["RankOneProblem", "WoodburyProblem", "EX_SM", "EX_WOODBURY", "EX_SIZES", "sherman_morrison", "woodbury",
           "woodbury_shapes", "recursive_least_squares"]

#: The size of A in exercises (a) and (b).
N_BIG = 200_000


class RankOneProblem(NamedTuple):
    """``a`` (n,), the positive diagonal of A; ``u``, ``v`` (2, n): row i of each makes the rank-one update u_i v_i^T.
    """

    a: np.ndarray
    u: np.ndarray
    v: np.ndarray


class WoodburyProblem(NamedTuple):
    """``a`` (n,), the positive diagonal of A; ``U`` (n, 2), ``C`` (2, 2), ``V`` (2, n); ``b`` (n,)."""

    a: np.ndarray
    U: np.ndarray
    C: np.ndarray
    V: np.ndarray
    b: np.ndarray


def _draw(rng, n=N_BIG):
    """Both problems, rounded: a large, well-conditioned update, C not symmetric, u_2 correlated with u_1."""
    s = 1.5 / np.sqrt(n)
    a = rng.uniform(1.0, 3.0, n).round(3)
    u = s * rng.standard_normal((2, n))
    u[1] = 0.6 * u[0] + 0.8 * u[1]      # the two updates overlap, so the second must start from the first
    v = (u + 0.1 * s * rng.standard_normal((2, n))).round(6)
    sm = RankOneProblem(a, u.round(6), v)
    rng.standard_normal(n)              # a right-hand side exercise (a) once had: drawn so that (b) keeps its data
    a = rng.uniform(1.0, 3.0, n).round(3)
    U = s * rng.standard_normal((n, 2))
    V = (U.T + 0.1 * s * rng.standard_normal((2, n))).round(6)
    C = np.diag(rng.uniform(1.0, 2.0, 2)) + np.array([[0.0, 1.0], [-1.0, 0.0]]) * rng.uniform(0.3, 0.6)
    C[0, 1] += rng.uniform(-0.2, 0.2)
    wb = WoodburyProblem(a, U.round(6), C.round(2), V, rng.standard_normal(n).round(3))
    return sm, wb


#: Exercise (a): two rank-one updates of a diagonal matrix; exercise (b): a rank-two update U C V.
EX_SM, EX_WOODBURY = _draw(problem_rng(2301))


def sherman_morrison(answer) -> CheckResult:
    """Exercise (a), ``ex-b3-sherman-morrison``: your change diag((A + u_1 v_1^T + u_2 v_2^T)^{-1}) - diag(A^{-1}) for
    :data:`EX_SM`, shape (200000,). Slips named: in the order of the updates, the correction's sign, the denominator,
    the second update's row vector; the diagonal for its change."""
    from .references import appb_identities as refs
    a, u, v = EX_SM
    expected = refs.diag_change(a, u.T, np.eye(2), v)
    hints = {
        "you made the second update from A^{-1}, not from the inverse after the first update":
            refs.sm_diag_chain(a, u, v, from_A=True),
        "you made only one of the two updates": refs.sm_diag_chain(a, u, v, which=(0,)),
        "you made only one of the two updates (the second)": refs.sm_diag_chain(a, u, v, which=(1,)),
        "you added the corrections instead of subtracting them": refs.sm_diag_chain(a, u, v, sign=1.0),
        "you divided by 1 - v^T M^{-1} u; the scalar in Eq. B.15 is 1 + v^T M^{-1} u":
            refs.sm_diag_chain(a, u, v, den=-1.0),
        "you divided by v^T M^{-1} u without the 1 +": refs.sm_diag_chain(a, u, v, one=0.0),
        "in the second update you took the row vector v_2^T M_1^{-1} as M_1^{-1} v_2, but the inverse after "
        "the first update is not symmetric": refs.sm_diag_chain(a, u, v, same_side=True),
        "you gave the diagonal of the updated inverse itself, not its change": 1 / a + expected,
    }
    return result("two Sherman-Morrison updates of the inverse's diagonal",
                  compare_array(answer, expected, "your change", rtol=1e-8, atol=1e-14, hints=hints))


def woodbury(x, logdet=None) -> CheckResult:
    """Exercise (b), ``ex-b3-woodbury``: for :data:`EX_WOODBURY`, your solution x of (A + U C V) x = b, shape
    (200000,), and log|det(A + U C V)| (natural log). Common slips in each part are named."""
    from .references import appb_identities as refs
    what = "the solve and the log-determinant"
    a, U, C, V, b = EX_WOODBURY
    expected = refs.solve_update(a, U, C, V, b)
    inv = np.linalg.inv
    hints = {
        "you used C instead of C^{-1} inside the small inverse":
            refs.wb_slip(a, U, C, V, b, inner=lambda C_, S: inv(C_ + S)),
        "you dropped the inner inverse, using (C^{-1} + V A^{-1} U) itself":
            refs.wb_slip(a, U, C, V, b, inner=lambda C_, S: inv(C_) + S),
        "you added the correction; Eq. B.14 subtracts it":
            refs.wb_slip(a, U, C, V, b, inner=lambda C_, S: -inv(inv(C_) + S)),
        "you used C^T in place of C": refs.solve_update(a, U, C.T, V, b),
        "you swapped the roles of U and V (V^T and U^T in their places)": refs.solve_update(a, V.T, C, U.T, b),
        "you returned A^{-1} b, with no correction at all": b / a,
    }
    problems = compare_array(x, expected, "x", rtol=1e-8, atol=1e-10, hints=hints)
    got_logdet, logdet = logdet, refs.logdet(a, U, C, V)
    log_a = math.fsum(np.log(a))
    log_c = np.linalg.slogdet(C)[1]
    log_s = np.linalg.slogdet(inv(C) + V @ (U / a[:, None]))[1]
    slips = {
        "a factor of the block matrix's determinant is missing: write out the determinants of both "
        "factorizations again, block by block":
            log_a + log_s,
        "one factor is the inverse of what the factorizations give: recheck the determinant of each "
        "diagonal block": log_a + log_s - log_c,
        "one factor stands on the wrong side of the equation the two factorizations give: recheck "
        "which side each block determinant belongs to":
            log_a - log_s + log_c,
        "you left out log|det A|, the sum of log a": log_s + log_c,
        "you gave log|det A| alone, without the low-rank update's factor": log_a,
        "you gave minus the log-determinant (log|det| of the inverse)": -logdet,
        "you took the logarithm to base 10; the exercise asks for the natural logarithm":
            logdet / math.log(10.0),
    }
    problems = problems + compare_array(got_logdet, logdet, "logdet", rtol=1e-11, atol=1e-9, hints=slips)
    return result(what, problems)


#: Exercise (c): n (A is n x n, diagonal), and k_i, m_i of U_i (n x k_i), C_i (k_i x m_i), V_i.
EX_SIZES = {"n": 1000, "k1": 6, "m1": 2, "k2": 1, "m2": 3}


def woodbury_shapes(answer) -> CheckResult:
    """Exercise (c), ``ex-b3-shapes``: the shape ``(rows, cols)`` of the smallest inverse that push-through leaves
    besides A^{-1} for (A + U_1 C_1 V_1 + U_2 C_2 V_2)^{-1}, sizes :data:`EX_SIZES`. Slips named: valid but larger
    groupings, impossible shapes, the direct inverse, non-square shapes."""
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


# --- exercise (d): recursive least squares by Eq. B.15, as a function ------------------------------------------------

def _rls_cases():
    """Hidden problems ``(Phi, y, lam)``: Gaussian features with a linear signal plus noise; among them a single
    observation, fewer observations than features (first, where even a slip's arithmetic stays finite) and one
    feature."""
    r = problem_rng(2302)
    cases = []
    for T, d, lam in [(6, 8, 0.3), (12, 3, 0.5), (30, 5, 0.1), (1, 4, 1.0), (20, 1, 2.0)]:
        Phi = r.standard_normal((T, d))
        y = Phi @ r.standard_normal(d) + 0.3 * r.standard_normal(T)
        cases.append((Phi, y, lam))
    return cases


def recursive_least_squares(fn) -> CheckResult:
    """Exercise (d), ``ex-b3-rls-function``: your function ``fn(Phi, y, lam)`` returning ``(W, P_inv)``, row t of W the
    ridge weights after the first t + 1 observations (T, d), P_inv the final (Phi^T Phi + lam I)^{-1} (d, d); compared
    with ridge fits solved afresh. Slips named: the 1 + or the sign of Eq. B.15, the start lambda I, rows one step
    late, a gain from the old inverse."""
    from .references import appb_identities as refs
    def judge(out, where, Phi, y, lam, ref):
        problems = checker.tuple_problems(out, 2, "the pair (W, P_inv)", where)
        if problems:
            return problems
        (W_ref, P_ref), (W_hints, P_hints) = ref, refs.rls_slips(Phi, y, lam)
        return (checker.compare_array(out[1], P_ref, f"P_inv on {where}", rtol=1e-7, atol=1e-10, hints=P_hints)
                + checker.compare_array(out[0], W_ref, f"W on {where}", rtol=1e-7, atol=1e-10, hints=W_hints))

    cases = [(f"test problem {i + 1} (T = {Phi.shape[0]}, d = {Phi.shape[1]})", (Phi, y, lam), refs.ridge_path(Phi, y, lam))
             for i, (Phi, y, lam) in enumerate(_rls_cases())]
    return checker.check_function("recursive least squares by Sherman-Morrison (Eq. B.15)", fn, cases, judge,
                                  name="my_rls", signature="(Phi, y, lam)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-b3-shapes": {"same_data": "the statement spells out the sizes"},
    "ex-b3-rls-function": {"same_data": checker.FUNCTION_ANSWER},
}
