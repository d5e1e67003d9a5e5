r"""Checkers for the Chapter 1 notebook, "Introduction: notation, arguments and variables" (Eqs. 1.1-1.5)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checker import FUNCTION_ANSWER, CheckResult, book_or_drawn, compare_array, problem_rng, result, check_function

__all__ = ["BayesProblem", "TotalDerivativeProblem", "IteratedProblem", "EX_XYZ", "EX_TOTAL", "EX_ITER",
           "log_joint_function", "bayes_table", "total_derivative", "iterated_expectation"]


class BayesProblem(NamedTuple):
    """Factors ``p_x[i]`` = p(X = i), ``p_z_x[i, k]`` = p(Z = k | X = i), ``p_y_xz[i, j, k]`` = p(Y = j | X = i, Z =
    k), and a bound value ``z`` of Z."""

    p_x: np.ndarray
    p_z_x: np.ndarray
    p_y_xz: np.ndarray
    z: int


class TotalDerivativeProblem(NamedTuple):
    """A loss of theta that also reaches theta through x(theta): a 3 x 3 matrix ``A``, a vector ``c``, a weight
    ``lam`` and the point ``theta``; the notebook states the loss."""

    A: np.ndarray
    c: np.ndarray
    lam: float
    theta: np.ndarray


class IteratedProblem(NamedTuple):
    """The data's distribution ``p_y`` of Y, a model's joint table ``Q_xy[k, l]`` over (X hat, Y hat), and ``F[k, l]``
    = f(k, l)."""

    p_y: np.ndarray
    Q_xy: np.ndarray
    F: np.ndarray


def _draw_xyz(rng) -> BayesProblem:
    """Factors of the same shapes without zeros, a prior of X far from uniform, every named slip clearly off."""
    from .references import ch01_notation as refs
    while True:
        a = round(float(rng.uniform(0.15, 0.4)), 2)
        p_x = np.array([a, 1.0 - a])
        wz = rng.integers(1, 9, size=(2, 3)).astype(float)
        wy = rng.integers(1, 9, size=(2, 3, 3)).astype(float)
        prob = BayesProblem(p_x=p_x, p_z_x=wz / wz.sum(axis=1, keepdims=True),
                            p_y_xz=wy / wy.sum(axis=1, keepdims=True), z=int(rng.integers(0, 3)))
        ref = refs.bayes_loops(refs.joint_table(prob), prob.z)
        if all(np.abs(v - ref).max() > 0.02 for v in refs.bayes_slips(prob).values()):
            return prob


def _draw_total(rng) -> TotalDerivativeProblem:
    """A problem of the same kind with a non-symmetric A."""
    while True:
        A = np.round(rng.uniform(-0.9, 0.9, size=(3, 3)), 2)
        if np.abs(A - A.T).max() > 0.3:
            break
    return TotalDerivativeProblem(A=A, c=np.round(rng.uniform(-0.6, 0.6, size=3), 2),
                                  lam=round(float(rng.uniform(0.3, 1.5)), 2),
                                  theta=np.round(rng.uniform(-0.8, 0.8, size=3), 2))


def _draw_iter(rng) -> IteratedProblem:
    """A problem of the same shape: a data marginal of Y far from the model's, a joint without zeros."""
    while True:
        p_y = np.round(rng.dirichlet(np.array([1.0, 2.0, 3.0])), 3)
        p_y[-1] = round(1.0 - p_y[:-1].sum(), 3)
        w = rng.integers(1, 9, size=(3, 3)).astype(float)
        if p_y.min() > 0.05 and np.abs(w.sum(axis=0) / w.sum() - p_y).max() > 0.1:
            return IteratedProblem(p_y=p_y, Q_xy=w / w.sum(), F=np.round(rng.uniform(-3.0, 4.0, size=(3, 3)), 1))


#: Exercise ``ex-1-bayes-bound-z``: p(x), p(z | x), p(y | x, z) (2, 3 and 3 states) and z.
EX_XYZ = book_or_drawn(BayesProblem(p_x=np.array([0.3, 0.7]), p_z_x=np.array([[0.5, 0.3, 0.2], [0.1, 0.3, 0.6]]),
                                    p_y_xz=np.array([[[0.5, 0.2, 0.1], [0.3, 0.2, 0.6], [0.2, 0.6, 0.3]],
                                                     [[0.3, 0.6, 0.3], [0.3, 0.1, 0.1], [0.4, 0.3, 0.6]]]), z=2),
                       _draw_xyz, seed=1102)

#: Exercise ``ex-1-total-derivative``: the loss's matrix, vector, weight and the point theta.
EX_TOTAL = book_or_drawn(TotalDerivativeProblem(A=np.array([[0.8, -0.3, 0.5], [0.2, 0.6, -0.4], [-0.5, 0.1, 0.9]]),
                                                c=np.array([0.3, -0.2, 0.5]), lam=0.7,
                                                theta=np.array([0.4, -0.6, 0.2])), _draw_total, seed=1103)

#: Exercise ``ex-1-iterated-expectation``: the data's marginal of Y, the model's joint, and f.
EX_ITER = book_or_drawn(IteratedProblem(p_y=np.array([0.5, 0.3, 0.2]),
                                        Q_xy=np.array([[6.0, 1.0, 2.0], [3.0, 2.0, 2.0], [1.0, 7.0, 4.0]]) / 28.0,
                                        F=np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0], [-1.0, 2.5, 4.0]])),
                        _draw_iter, seed=1104)


#: Stands in for minus infinity when two log tables are compared (impossible sequences).
_NEG = -1.0e4


def _column_stochastic(rng, K, n_cols, conc=1.5):
    return rng.dirichlet(np.full(K, conc), size=n_cols).T


def _hmm_cases():
    """Hidden problems (pi, A, B, y): one step, V = K, impossible moves, one state, unrecorded symbols."""
    rng = problem_rng(1101)
    cases = []
    for K, V, T in [(2, 3, 4), (3, 3, 3), (3, 2, 1)]:
        while True:
            A = _column_stochastic(rng, K, K)
            if np.abs(A - A.T).max() > 0.1:
                break
        cases.append((rng.dirichlet(np.full(K, 2.0)), A, _column_stochastic(rng, V, K),
                      rng.integers(0, V, size=T)))
    # impossible moves: state 1 never follows state 0, and state 0 never emits symbol 1
    A = np.array([[0.7, 0.4], [0.0, 0.6]])
    A[:, 0] = [1.0, 0.0]
    B = np.array([[1.0, 0.3], [0.0, 0.7]])
    y = np.array([0, 1, 0, 0, 1])
    y[rng.integers(2, 4)] = int(rng.integers(0, 2))
    cases.append((np.array([0.45, 0.55]), A, B, y))
    cases.append((np.array([1.0]), np.array([[1.0]]), _column_stochastic(rng, 3, 1), rng.integers(0, 3, size=3)))
    # steps whose symbol was not recorded (-1): the first and one in the middle, then a single unrecorded step
    while True:
        A = _column_stochastic(rng, 3, 3)
        if np.abs(A - A.T).max() > 0.1:
            break
    y = rng.integers(0, 2, size=4)
    y[[0, 2]] = -1
    cases.append((rng.dirichlet(np.full(3, 2.0)), A, _column_stochastic(rng, 2, 3), y))
    cases.append((rng.dirichlet(np.full(2, 2.0)), _column_stochastic(rng, 2, 2), _column_stochastic(rng, 3, 2),
                  np.array([-1])))
    return cases


def log_joint_function(fn) -> CheckResult:
    """Exercise ``ex-1-hmm-log-joint``: your function ``fn(pi, A, B, y)`` returning the log of the partially evaluated
    HMM joint, T axes of length K, entry (x_1, ..., x_T) for that state sequence (minus infinity if impossible);
    ``A``, ``B`` are column-stochastic, y holds -1 where no symbol was recorded. Slips named: A or B transposed, pi
    left out or moved, steps mispaired, axes reversed, a normalized table, probabilities, an unrecorded step read as
    the last symbol, given 1/V or left without its transition."""
    from .references import ch01_notation as refs
    def judge(out, where, pi, A, B, y):
        ref = refs.log_joint_loops(pi, A, B, y)
        try:
            arr = np.asarray(out, dtype=float)
        except (TypeError, ValueError):
            arr = None
        mask_differs = False
        if arr is not None and arr.shape == ref.shape:
            mask_differs = bool(np.any(np.isneginf(arr) != np.isneginf(ref)))
            out = np.where(np.isneginf(arr), _NEG, arr)
        problems = compare_array(out, np.where(np.isneginf(ref), _NEG, ref), f"the output on {where}",
                                 rtol=1e-9, atol=1e-9, hints=refs.hmm_slips(pi, A, B, y, _NEG))
        if problems and mask_differs and "is what you get if" not in problems[0]:
            if np.any(np.isneginf(ref) & ~np.isneginf(arr)):
                return [f"the output on {where} is finite at sequences that are impossible (one of their "
                        "factors is zero, so their log joint is minus infinity)."]
            return [f"the output on {where} has minus infinity at sequences that are possible (every "
                    "one of their factors is positive)."]
        return problems

    cases = [(f"test problem {i + 1} (K = {len(pi)}, V = {B.shape[0]}, T = {len(y)})", (pi, A, B, y))
             for i, (pi, A, B, y) in enumerate(_hmm_cases())]
    return check_function("log of the partially evaluated HMM joint (Eq. 1.5)", fn, cases, judge, name="my_log_joint",
                          signature="(pi, A, B, y)")


def bayes_table(P_x_yz) -> CheckResult:
    """Exercise ``ex-1-bayes-bound-z``: your table of p(x | y, z) for EX_XYZ with Z bound to ``EX_XYZ.z``, column j
    for Y = j. Slips named: p(x) or p(z | x) as the prior, no prior, Z summed out, Y dropped, an unnormalized
    numerator."""
    from .references import ch01_notation as refs
    ref = refs.bayes_loops(refs.joint_table(EX_XYZ), EX_XYZ.z)
    hints = refs.bayes_slips(EX_XYZ)
    return result("Bayes' rule with a bound Z (Eq. 1.2)",
                  compare_array(P_x_yz, ref, "your table", rtol=1e-9, atol=1e-12, hints=hints))


def total_derivative(partial, total) -> CheckResult:
    """Exercise ``ex-1-total-derivative``: your partial (x held fixed) and total derivative of the loss at
    EX_TOTAL.theta, to a relative 1e-12 (tighter than differencing reaches). Slips named: the two swapped, the inner
    derivative left out, the matrix untransposed, the weighted term missing."""
    from .references import ch01_notation as refs
    A, c, lam, theta = EX_TOTAL
    x = refs.inner_function(A, theta)
    g_x = (x - c) + lam * theta
    J = (1 - x ** 2)[:, None] * A
    ref_p, ref_t = refs.chain_rule(A, c, lam, theta)
    hints_t = {
        "you gave the partial derivative: the total derivative adds the route through x": ref_p,
        "you left out the derivative of tanh in the Jacobian of x": lam * x + A.T @ g_x,
        "you multiplied by the Jacobian of x untransposed; the gradient takes its transpose": lam * x + J @ g_x,
        "you dropped the lam * theta part of the derivative of the loss with respect to x":
            lam * x + J.T @ (x - c),
        "you have only the route through x: the direct dependence on theta is missing": J.T @ g_x,
    }
    hints_p = {"you gave the total derivative where the partial one is asked for": ref_t,
               "you differentiated the wrong argument: that is the partial derivative with respect to x": g_x}
    problems = compare_array(partial, ref_p, "your partial derivative", rtol=1e-12, atol=1e-13, hints=hints_p)
    problems += compare_array(total, ref_t, "your total derivative", rtol=1e-12, atol=1e-13, hints=hints_t)
    return result("total versus partial derivative", problems)


def iterated_expectation(inner, outer) -> CheckResult:
    """Exercise ``ex-1-iterated-expectation``: for EX_ITER, your inner expectations (one per y) and the outer
    expectation over the data's Y. Slips named: the joint for the conditional, the wrong axis normalized, the model's
    marginal, equal weights or no weights outside."""
    from .references import ch01_notation as refs
    p_y, Q, F = EX_ITER
    ref_in, ref_out = refs.iterated_loops(p_y, Q, F)
    q_y = Q.sum(axis=0)
    hints_in = {"you weighted f by the model's joint of X hat and Y hat; the inner expectation uses its "
                "conditional distribution of X hat given Y hat": (Q * F).sum(axis=0),
                "you normalized the rows of the joint table; the conditional of X hat given Y hat = l is "
                "column l divided by its sum": ((Q / Q.sum(axis=1, keepdims=True)) * F).sum(axis=0)}
    hints_out = {"you averaged over the model's marginal of Y hat; the outer expectation is over the data's "
                 "Y, whose distribution is p_y": q_y @ ref_in,
                 "you averaged the inner expectations with equal weights; the outer expectation weights "
                 "them by the distribution of Y": ref_in.mean(),
                 "you summed the inner expectations without weighting them": ref_in.sum()}
    problems = compare_array(inner, ref_in, "your vector of inner expectations", rtol=1e-9, atol=1e-12, hints=hints_in)
    problems += compare_array(outer, ref_out, "your outer expectation", rtol=1e-9, atol=1e-12, hints=hints_out)
    return result("iterated expectation, data outside and model inside", problems)


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-1-hmm-log-joint": {"same_data": FUNCTION_ANSWER},
}
