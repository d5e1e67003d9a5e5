r"""Checkers for the Chapter 1 notebook, "Introduction: notation, arguments and variables" (Eqs. 1.1-1.5).

Import as ``from pedagogy_lib.exercises import ch01_notation as check``. The problem data of three
exercises are the module constants below (drawn anew for each student when graded); the function
of the first exercise is run on test problems made here when its checker runs, which the notebook
never shows. Reference answers are computed in this module, independently of the library, and are
never printed.
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from .checker import CheckResult, book_or_drawn, compare_array, problem_rng, result, check_function

__all__ = ["BayesProblem", "TotalDerivativeProblem", "IteratedProblem", "EX_XYZ", "EX_TOTAL", "EX_ITER",
           "log_joint_function", "bayes_table", "total_derivative", "iterated_expectation"]


class BayesProblem(NamedTuple):
    """The factors of a model over three discrete variables, X first, then Z given X, then Y given both,
    and a bound value of Z.

    ``p_x[i]`` is the probability that X = i; ``p_z_x[i, k]`` that Z = k given X = i (each row sums to
    one); ``p_y_xz[i, j, k]`` that Y = j given X = i and Z = k (each ``p_y_xz[i, :, k]`` sums to one);
    ``z`` is the value Z is bound to.
    """

    p_x: np.ndarray
    p_z_x: np.ndarray
    p_y_xz: np.ndarray
    z: int


class TotalDerivativeProblem(NamedTuple):
    """A loss of theta that also reaches theta through an inner variable x(theta).

    ``A`` is a 3 x 3 matrix, ``c`` a vector of length 3, ``lam`` a positive number and ``theta`` the
    point (length 3) at which the derivatives are wanted. The notebook's exercise states the loss.
    """

    A: np.ndarray
    c: np.ndarray
    lam: float
    theta: np.ndarray


class IteratedProblem(NamedTuple):
    """A data distribution of Y, a model's joint table over (X hat, Y hat), and a function of x and y.

    ``p_y[l]`` is the data's probability that Y = l; ``Q_xy[k, l]`` is the model's joint probability that
    X hat = k and Y hat = l (the entries sum to one); ``F[k, l]`` is the value f(k, l).
    """

    p_y: np.ndarray
    Q_xy: np.ndarray
    F: np.ndarray


# --------------------------------------------------------------------------------------------------------
# Problem data
# --------------------------------------------------------------------------------------------------------

def _joint(prob) -> np.ndarray:
    """The joint table p(x, y, z) = p(x) p(z | x) p(y | x, z), by explicit loops, indexed [x, y, z]."""
    Kx, Ky, Kz = prob.p_y_xz.shape
    p = np.empty((Kx, Ky, Kz))
    for i in range(Kx):
        for j in range(Ky):
            for k in range(Kz):
                p[i, j, k] = prob.p_x[i] * prob.p_z_x[i, k] * prob.p_y_xz[i, j, k]
    return p


def _bayes_slips(prob) -> dict:
    """Tables a plausible slip gives, each with its message (the message names the slip, not the fix)."""
    p, z = _joint(prob), prob.z
    p_xy = p.sum(axis=2)
    like = prob.p_y_xz[:, :, z]                                  # [x, y]: p(y | x, z)

    def over_x(t):
        return t / t.sum(axis=0, keepdims=True)

    return {
        "you used p(x) as the prior of Eq. 1.2, which leaves out what the bound z says about X":
            over_x(like * prob.p_x[:, None]),
        "you used p(z | x) as the prior of Eq. 1.2: that is a likelihood of z, not a distribution of X":
            over_x(like * prob.p_z_x[:, z][:, None]),
        "you normalized the likelihood p(y | x, z) over x, leaving out the prior of Eq. 1.2": over_x(like),
        "Z is summed out instead of bound: that is the conditional given Y alone": over_x(p_xy),
        "you dropped Y: each column is the distribution of X given the bound Z alone":
            np.repeat((p[:, :, z].sum(axis=1) / p[:, :, z].sum())[:, None], p.shape[1], axis=1),
        "you stopped at the numerator of Eq. 1.2 and did not divide by the evidence":
            like * (prob.p_x * prob.p_z_x[:, z])[:, None],
    }


def _bayes_loops(p, z) -> np.ndarray:
    Kx, Ky, _ = p.shape
    out = np.empty((Kx, Ky))
    for j in range(Ky):
        total = sum(p[i, j, z] for i in range(Kx))
        for i in range(Kx):
            out[i, j] = p[i, j, z] / total
    return out


def _book_xyz() -> BayesProblem:
    # X has 2 states, Y and Z have 3; p_y_xz[i, :, k] is a distribution over the values of Y
    return BayesProblem(p_x=np.array([0.3, 0.7]),
                        p_z_x=np.array([[0.5, 0.3, 0.2], [0.1, 0.3, 0.6]]),
                        p_y_xz=np.array([[[0.5, 0.2, 0.1], [0.3, 0.2, 0.6], [0.2, 0.6, 0.3]],
                                         [[0.3, 0.6, 0.3], [0.3, 0.1, 0.1], [0.4, 0.3, 0.6]]]),
                        z=2)


def _draw_xyz(rng) -> BayesProblem:
    """Factors of the same shapes for one student, with no zero entries, a prior of X far from uniform, and a
    bound value of Z; redrawn until every slip the checker names gives a table clearly off the answer."""
    while True:
        a = round(float(rng.uniform(0.15, 0.4)), 2)
        p_x = np.array([a, 1.0 - a])
        wz = rng.integers(1, 9, size=(2, 3)).astype(float)
        wy = rng.integers(1, 9, size=(2, 3, 3)).astype(float)
        prob = BayesProblem(p_x=p_x, p_z_x=wz / wz.sum(axis=1, keepdims=True),
                            p_y_xz=wy / wy.sum(axis=1, keepdims=True), z=int(rng.integers(0, 3)))
        ref = _bayes_loops(_joint(prob), prob.z)
        if all(np.abs(v - ref).max() > 0.02 for v in _bayes_slips(prob).values()):
            return prob


def _book_total() -> TotalDerivativeProblem:
    return TotalDerivativeProblem(A=np.array([[0.8, -0.3, 0.5], [0.2, 0.6, -0.4], [-0.5, 0.1, 0.9]]),
                                  c=np.array([0.3, -0.2, 0.5]), lam=0.7, theta=np.array([0.4, -0.6, 0.2]))


def _draw_total(rng) -> TotalDerivativeProblem:
    """A problem of the same kind for one student: a non-symmetric A, so that A and its transpose differ."""
    while True:
        A = np.round(rng.uniform(-0.9, 0.9, size=(3, 3)), 2)
        if np.abs(A - A.T).max() > 0.3:
            break
    return TotalDerivativeProblem(A=A, c=np.round(rng.uniform(-0.6, 0.6, size=3), 2),
                                  lam=round(float(rng.uniform(0.3, 1.5)), 2),
                                  theta=np.round(rng.uniform(-0.8, 0.8, size=3), 2))


def _book_iter() -> IteratedProblem:
    w = np.array([[6.0, 1.0, 2.0], [3.0, 2.0, 2.0], [1.0, 7.0, 4.0]])
    return IteratedProblem(p_y=np.array([0.5, 0.3, 0.2]), Q_xy=w / w.sum(),
                           F=np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0], [-1.0, 2.5, 4.0]]))


def _draw_iter(rng) -> IteratedProblem:
    """A problem of the same shape for one student: a data marginal of Y far from the model's, a model joint
    without zeros, and values of f."""
    while True:
        p_y = np.round(rng.dirichlet(np.array([1.0, 2.0, 3.0])), 3)
        p_y[-1] = round(1.0 - p_y[:-1].sum(), 3)
        w = rng.integers(1, 9, size=(3, 3)).astype(float)
        if p_y.min() > 0.05 and np.abs(w.sum(axis=0) / w.sum() - p_y).max() > 0.1:
            return IteratedProblem(p_y=p_y, Q_xy=w / w.sum(), F=np.round(rng.uniform(-3.0, 4.0, size=(3, 3)), 1))


#: Exercise ``ex-1-bayes-bound-z``: the factors p(x), p(z | x), p(y | x, z) over X (2 states), Y (3) and
#: Z (3), and the value of Z.
EX_XYZ = book_or_drawn(_book_xyz(), _draw_xyz, seed=1102)

#: Exercise ``ex-1-total-derivative``: the loss's matrix, vector, weight and the point theta.
EX_TOTAL = book_or_drawn(_book_total(), _draw_total, seed=1103)

#: Exercise ``ex-1-iterated-expectation``: the data's marginal of Y, the model's joint, and f.
EX_ITER = book_or_drawn(_book_iter(), _draw_iter, seed=1104)


# --------------------------------------------------------------------------------------------------------
# Exercise ex-1-hmm-log-joint
# --------------------------------------------------------------------------------------------------------

#: Stands in for minus infinity when two log tables are compared (impossible sequences).
_NEG = -1.0e4


def _log(v) -> float:
    return float(np.log(v)) if v > 0 else -np.inf


def _log_joint_loops(pi, A, B, y, *, transposed=False, no_prior=False, shift=False, B_transposed=False,
                     prior_moved=False, missing_as_last=False, missing_drops_step=False,
                     missing_uniform=False) -> np.ndarray:
    """The log of the partially evaluated joint at every state sequence, one product at a time; a step whose
    symbol is -1 (not recorded) has its symbol summed out, which leaves no emission factor. The keyword
    switches turn on one named slip each (for the hints)."""
    K, T = len(pi), len(y)
    V = B.shape[0]
    out = np.empty((K,) * T)
    Bt = B.T if B_transposed else B
    ys = np.roll(y, 1) if shift else y
    first = A @ pi if prior_moved else pi
    for x in itertools.product(range(K), repeat=T):
        v = 0.0 if no_prior else _log(first[x[0]])
        for t in range(T):
            missing = ys[t] < 0
            if t > 0 and not (missing and missing_drops_step):
                v += _log(A[x[t - 1], x[t]] if transposed else A[x[t], x[t - 1]])
            if not missing:
                v += _log(Bt[ys[t], x[t]])
            elif missing_as_last:
                v += _log(Bt[V - 1, x[t]])
            elif missing_uniform:
                v += _log(1.0 / V)
        out[x] = v
    return out


def _column_stochastic(rng, K, n_cols, conc=1.5):
    return rng.dirichlet(np.full(K, conc), size=n_cols).T


def _hmm_cases():
    """Test problems (pi, A, B, y) the student's function has not seen, drawn when the checker runs: among
    them a single time step, as many symbols as states (so that a transposed B shows), impossible
    transitions and emissions (minus infinity in the answer), and a model with one state."""
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


def _hmm_slips(pi, A, B, y) -> dict:
    """What named wrong derivations return on one problem (minus infinity replaced as in the comparison)."""
    K, V, T = len(pi), B.shape[0], len(y)
    ref = _log_joint_loops(pi, A, B, y)
    out = {
        "you read A row by row: A[i, j] is the probability of moving to state i from state j (columns sum to "
        "one), so a step from x_{t-1} to x_t takes the entry in row x_t and column x_{t-1}":
            _log_joint_loops(pi, A, B, y, transposed=True),
        "you left out the distribution pi of the first state":
            _log_joint_loops(pi, A, B, y, no_prior=True),
        "you paired each state with the observation of another time step; axis t goes with y[t]":
            _log_joint_loops(pi, A, B, y, shift=True),
        "you applied a transition to pi before the first state; pi is already the distribution of x_1":
            _log_joint_loops(pi, A, B, y, prior_moved=True),
        "you normalized over the state sequences: that is the posterior over the sequences, not the "
        "partially evaluated joint (its sum over all sequences is the probability of y)":
            ref - np.logaddexp.reduce(ref.ravel()),
        "you returned probabilities; the exercise asks for their logarithms": np.exp(ref),
    }
    if V == K:
        out["you read B as B[state, symbol]; its rows are symbols and its columns states"] = \
            _log_joint_loops(pi, A, B, y, B_transposed=True)
    if np.any(y < 0):
        out["you used -1 as an index: B[-1] is the row of the last symbol, not a symbol that was not recorded"] = \
            _log_joint_loops(pi, A, B, y, missing_as_last=True)
        out["you gave an unrecorded symbol the probability 1/V"] = _log_joint_loops(pi, A, B, y, missing_uniform=True)
        if np.any(y[1:] < 0):
            out["you left out the transition into a step whose symbol was not recorded; only its symbol is missing"] = \
                _log_joint_loops(pi, A, B, y, missing_drops_step=True)
    if T > 1:
        out["your axes are in the reverse order: axis t must hold the state at time step t"] = ref.T
    return {k: np.where(np.isneginf(v), _NEG, v) for k, v in out.items()}


def log_joint_function(fn) -> CheckResult:
    """Exercise ``ex-1-hmm-log-joint``: your function ``fn(pi, A, B, y)`` returning the log of the partially
    evaluated joint of a hidden Markov model, tabulated over every state sequence.

    ``pi`` (length K), ``A`` (K x K, columns sum to one) and ``B`` (V x K, columns sum to one) are the
    model, ``y`` a sequence of T integer symbols, -1 at a step whose symbol was not recorded. Your array
    must have T axes of length K each, the entry at index (x_1, ..., x_T) (0-based states, axis t for time
    step t) holding the log-probability of those states together with the recorded symbols. Impossible
    sequences hold minus infinity. The function is run on test problems made here, among them a single
    time step, a model with as many symbols as states, impossible transitions and emissions, a model with a
    single state, and steps without a recorded symbol. The checker recognizes a transposed A or B, the first
    state's distribution left out or moved by a transition, observations paired with the wrong step, axes
    in reverse order, a normalized table, probabilities in place of their logarithms, and an unrecorded
    step read as the last symbol, given probability 1/V or left without its transition.
    """
    def judge(out, where, pi, A, B, y):
        ref = _log_joint_loops(pi, A, B, y)
        try:
            arr = np.asarray(out, dtype=float)
        except (TypeError, ValueError):
            arr = None
        mask_differs = False
        if arr is not None and arr.shape == ref.shape:
            mask_differs = bool(np.any(np.isneginf(arr) != np.isneginf(ref)))
            out = np.where(np.isneginf(arr), _NEG, arr)
        problems = compare_array(out, np.where(np.isneginf(ref), _NEG, ref), f"the output on {where}",
                                 rtol=1e-9, atol=1e-9, hints=_hmm_slips(pi, A, B, y))
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


# --------------------------------------------------------------------------------------------------------
# Exercise ex-1-bayes-bound-z
# --------------------------------------------------------------------------------------------------------

def bayes_table(P_x_yz) -> CheckResult:
    """Exercise ``ex-1-bayes-bound-z``: your table of the conditional distribution of X given Y, with Z bound
    to the value in EX_XYZ, for the model whose factors p(x), p(z | x) and p(y | x, z) are in EX_XYZ.

    Pass an array of shape (number of X states, number of Y states) whose column j is the distribution of
    X given Y = j and the bound Z. The checker recognizes the wrong prior in Eq. 1.2 (p(x), or p(z | x)),
    the prior left out, Z summed out instead of bound, Y dropped, and a numerator left unnormalized.
    """
    ref = _bayes_loops(_joint(EX_XYZ), EX_XYZ.z)
    hints = _bayes_slips(EX_XYZ)
    return result("Bayes' rule with a bound Z (Eq. 1.2)",
                  compare_array(P_x_yz, ref, "your table", rtol=1e-9, atol=1e-12, hints=hints))


# --------------------------------------------------------------------------------------------------------
# Exercise ex-1-total-derivative
# --------------------------------------------------------------------------------------------------------

def _inner(A, theta) -> np.ndarray:
    return np.tanh(A @ theta)


def _chain_rule(A, c, lam, theta):
    """(partial, total) in closed form: lam x, and lam x + J^T (x - c + lam theta) with J = diag(1 - x^2) A
    (the tests hold the formulas to differences of the loss)."""
    x = _inner(A, theta)
    return lam * x, lam * x + ((1 - x ** 2)[:, None] * A).T @ (x - c + lam * theta)


def total_derivative(partial, total) -> CheckResult:
    """Exercise ``ex-1-total-derivative``: your partial derivative of the loss with respect to theta (x held
    fixed) and its total derivative (x following theta), both at EX_TOTAL.theta, as vectors of length 3.

    The answers are compared with the chain rule's derivatives at a relative tolerance of 1e-12 (rounding
    level, tighter than differencing reaches). The checker recognizes the two answers swapped, the partial derivative given as the total
    one, the derivative of the inner function left out, the matrix used untransposed, and the weighted
    term missing from the derivative with respect to x.
    """
    A, c, lam, theta = EX_TOTAL
    x = _inner(A, theta)
    g_x = (x - c) + lam * theta
    J = (1 - x ** 2)[:, None] * A
    ref_p, ref_t = _chain_rule(A, c, lam, theta)
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


# --------------------------------------------------------------------------------------------------------
# Exercise ex-1-iterated-expectation
# --------------------------------------------------------------------------------------------------------

def _iterated_loops(p_y, Q, F):
    Kx, Ky = Q.shape
    inner = np.array([sum(Q[k, l] * F[k, l] for k in range(Kx)) / sum(Q[k, l] for k in range(Kx))
                      for l in range(Ky)])
    outer = sum(p_y[l] * inner[l] for l in range(Ky))
    return inner, outer


def iterated_expectation(inner, outer) -> CheckResult:
    """Exercise ``ex-1-iterated-expectation``: for EX_ITER, your vector of inner (conditional) expectations
    under the model, one entry per value of y, and the outer expectation over the data's Y, a number.

    The checker recognizes the model's joint used in place of its conditional, the joint normalized along
    the wrong axis, and an outer average over the model's marginal, over equal weights or over no weights.
    """
    p_y, Q, F = EX_ITER
    ref_in, ref_out = _iterated_loops(p_y, Q, F)
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


#: For the graded (nbgrader) version (courseware/grading.py): per exercise, problem data drawn for each
#: student ("variant"), or why every student gets the same data ("same_data").
SUMMATIVE = {
    "ex-1-hmm-log-joint": {"same_data": "the answer is a function, which the grader calls on test problems of the "
                                        "checker's own"},
}
