"""Checkers for the exercises of notebook 5.1.3 (continued): backpropagation through time.

Use in the notebook as::

    from pedagogy_lib.exercises import ch05_bptt as check
    check.bptt_signals(my_bptt_signals)

Problem data are the module constants below; every checker computes its reference from them
when it runs and reports what is wrong without printing the reference.

* :func:`bptt_signals`: the backward recursion for the signals b_t (Eqs. 5.20-5.21) of an RNN with a skip
  connection in time, which the page does not treat;
* :func:`rtrl_sensitivities`: the first form of Eq. 5.19, forward sensitivities (real-time recurrent
  learning) for a one-unit RNN: the sensitivities of every state and the gradient;
* :func:`steps_to_shrink`: how many steps it takes a backpropagated signal to shrink or grow by a
  given factor in a linear RNN whose recurrent weights are rho times an orthogonal matrix.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import checker
from .checker import check_function, compare_array, result, problem_rng, tuple_problems

__all__ = ["SignalsCase", "EX_SIGNALS", "RTRLCase", "EX_RTRL", "DecayProblem", "EX_DECAY",
           "bptt_signals", "rtrl_sensitivities", "steps_to_shrink"]


# ----------------------------------------------------------------------------------------------
# Exercise 1: the backward recursion for b_t
# ----------------------------------------------------------------------------------------------

class SignalsCase(NamedTuple):
    """Inputs of a BPTT backward pass for the RNN with a skip connection in time of the statement,
    z_t = tanh(D_zz z_{t-1} + D_skip z_{t-2} + D_yz y_t + d_z), time-major with sequences in rows (row
    ``t`` is the book's t + 1).

    ``D_zz`` and ``D_skip`` are the recurrent weight matrices, ``(H, H)`` each; ``Z`` holds the tanh
    states z_1..z_T, ``(T, N, H)``; ``G`` holds the direct derivatives of the loss with respect to each
    state, ``(T, N, H)``.
    """

    D_zz: np.ndarray
    D_skip: np.ndarray
    Z: np.ndarray
    G: np.ndarray


def _signals_case(seed: int, T: int, N: int, H: int) -> SignalsCase:
    r = problem_rng(seed)
    D_zz = r.normal(scale=1.0 / np.sqrt(H), size=(H, H))
    Z, G = np.tanh(r.normal(size=(T, N, H))), r.normal(size=(T, N, H))
    return SignalsCase(D_zz, r.normal(scale=0.7 / np.sqrt(H), size=(H, H)), Z, G)


#: Exercise 1: three problems (T, N, H) = (5, 2, 3), (1, 1, 2), (8, 3, 4).
EX_SIGNALS = (_signals_case(11, 5, 2, 3), _signals_case(12, 1, 1, 2), _signals_case(13, 8, 3, 4))


def _signals(case: SignalsCase, kind: str = "right") -> np.ndarray:
    """The signals b_t in rows, right (``kind="right"``) or with one of the slips the checker names."""
    T, N, H = case.Z.shape
    J = 1.0 - case.Z ** 2
    B = np.zeros((T + 2, N, H))                  # two zero rows: no signal after the last step
    U = np.zeros((T + 2, N, H))                  # dS/dz_t, for the slips that use it
    D1, D2 = (case.D_zz.T, case.D_skip.T) if kind == "no_transpose" else (case.D_zz, case.D_skip)
    for t in range(T - 1, -1, -1):
        if kind == "no_future":
            U[t] = case.G[t]
        elif kind == "no_skip":                  # the plain RNN's recursion
            U[t] = case.G[t] + B[t + 1] @ D1
        elif kind == "skip_one_step":            # the skip weights applied to b_{t+1}
            U[t] = case.G[t] + B[t + 1] @ (D1 + D2)
        elif kind == "skip_total":               # the skip path without the Jacobian at its end
            U[t] = case.G[t] + B[t + 1] @ D1 + U[t + 2] @ D2
        else:
            U[t] = case.G[t] + B[t + 1] @ D1 + B[t + 2] @ D2
        B[t] = J[t] * U[t]
    return (U if kind == "total_not_b" else B)[:T]


def bptt_signals(fn):
    """Exercise 1, ``ex-5-1-3-bptt-signals``: your function ``fn(D_zz, D_skip, Z, G) -> B``, the BPTT
    backward loop of the RNN with a skip connection in time of the statement.

    The inputs are as in :class:`SignalsCase`; ``B`` has the shape of ``Z``, ``(T, N, H)``, with
    ``B[t]`` the signal b_{t+1} = J_{t+1} dS/dz_{t+1}, samples in rows. It is run on every case of
    :data:`EX_SIGNALS` and must not modify its inputs. The checker recognizes a missing transpose,
    a missing path from z_t to the loss, a skip path taken over the wrong number of steps or without
    its Jacobian, and the total derivatives returned in place of the signals.
    """
    name = "BPTT signals b_t of the RNN with a skip connection"
    if fn is None:
        return result(name, ["bptt_signals is None: write the function first."])
    if not callable(fn):
        return result(name, [f"bptt_signals should be a function; got {type(fn).__name__}."])
    for i, case in enumerate(EX_SIGNALS):
        T, N, H = case.Z.shape
        label = f"case {i + 1} of {len(EX_SIGNALS)} (T={T}, N={N}, H={H})"
        copies = [np.copy(a) for a in case]
        try:
            out = fn(*copies)
        except Exception as exc:  # noqa: BLE001 - any student error is reported, not raised
            return result(name, [f"bptt_signals raised {type(exc).__name__}: {exc} (on {label})."])
        if any(not np.array_equal(c, a) for c, a in zip(copies, case)):
            return result(name, [f"bptt_signals modified its inputs in place (on {label})."])
        hints = {
            "you multiplied the later signals by the weight matrices where their transposes belong (recheck "
            "the transposes in the row layout)": _signals(case, "no_transpose"),
            "you left out every later step's share: that is only the direct effect of z_t":
                _signals(case, "no_future"),
            "you left out the skip path: z_t reaches the loss through z_{t+2} directly as well as through "
            "z_{t+1}": _signals(case, "no_skip"),
            "you took the skip path's share from the wrong step": _signals(case, "skip_one_step"),
            "you took the skip path's share from dS/dz at its end, leaving out the Jacobian of the "
            "nonlinearity there": _signals(case, "skip_total"),
            "you returned the total derivatives dS/dz_t; b_t multiplies them by J_t (Eq. 5.21)":
                _signals(case, "total_not_b"),
        }
        problems = compare_array(out, _signals(case), f"B on {label}", rtol=1e-8, atol=1e-10, hints=hints)
        if problems:
            return result(name, problems)
    return result(name, [])


# ----------------------------------------------------------------------------------------------
# Exercise 2: forward sensitivities (RTRL) for a one-unit RNN
# ----------------------------------------------------------------------------------------------

class RTRLCase(NamedTuple):
    """The one-unit RNN of the statement, with weights ``w``, ``u``, bias ``d``, inputs ``y`` and
    targets ``x`` of the squared-error loss; ``y`` and ``x`` have length ``T``."""

    w: float
    u: float
    d: float
    y: np.ndarray
    x: np.ndarray


def _rtrl_case(seed: int, T: int, w: float, u: float, d: float) -> RTRLCase:
    r = problem_rng(seed)
    return RTRLCase(w, u, d, r.normal(size=T), 0.8 * np.tanh(r.normal(size=T)))


#: Exercise 2: three problems, with T = 6, 1 and 12 steps.
EX_RTRL = (_rtrl_case(21, 6, 0.9, 0.7, 0.1), _rtrl_case(22, 1, -0.5, 1.2, 0.0), _rtrl_case(23, 12, 1.3, -0.6, 0.2))


def _forward_rtrl(c: RTRLCase, kind: str = "") -> tuple[np.ndarray, np.ndarray]:
    """The forward recursion of the statement: ``S[t-1] = dz_t/d(w, u, d)`` for t = 1..T and the
    gradient; ``kind`` names a slip (the reference when empty)."""
    T = len(c.y)
    z_prev, s = 0.0, np.zeros(3)                        # z_{t-1} and s_{t-1} = dz_{t-1}/d(w, u, d)
    S, grad = np.zeros((T, 3)), np.zeros(3)
    for t in range(T):                                  # row t is the book's step t + 1
        y_t, x_t = float(c.y[t]), float(c.x[t])
        z = math.tanh(c.w * z_prev + c.u * y_t + c.d)
        J = 1.0 - (z_prev * z_prev if kind == "J_prev" else z * z)
        direct = np.array([z if kind == "z_t" else z_prev, y_t, 1.0])
        if kind == "no_direct":
            direct = np.zeros(3)
        s_old = s
        if kind == "truncated":
            s = J * direct
        elif kind == "no_w":
            s = J * (direct + s)
        elif kind == "J_direct_only":
            s = J * direct + c.w * s
        else:
            s = J * (direct + c.w * s)
        S[t] = s_old if kind == "rows_shifted" else s
        grad += (z - x_t) * (s_old if kind == "grad_lag" else s)
        z_prev = z
    return S, grad


def rtrl_sensitivities(fn):
    """Exercise 2, ``ex-5-1-3-rtrl``: your function ``fn(w, u, d, y, x) -> (S, grad)``.

    ``w``, ``u``, ``d`` are scalars and ``y``, ``x`` arrays of length T, as in :class:`RTRLCase`.
    The first item, S, has shape (T, 3); its row t - 1 holds the sensitivities of the state z_t at
    the book's step t to w, u and d, in that order. The second, grad, holds dS/dw, dS/du and dS/dd. It is run on
    every case of :data:`EX_RTRL` and compared with the forward recursion. The checker recognizes
    the common slips in the sensitivity update, in the indexing of the steps and in the gradient, and
    names them when it sees one; a transposed S is reported by its shape.
    """
    def judge(out, where, w, u, d, y, x, c):
        problems = tuple_problems(out, 2, "the pair (S, grad)", where)
        if problems:
            return problems
        S_ref, grad_ref = _forward_rtrl(c)
        s_hints = {
            "your update holds z_{t-1} fixed: that keeps only the direct effect of theta on z_t (a truncation "
            "to one step), not the total one, and z_{t-1} depends on the parameters too":
                _forward_rtrl(c, "truncated")[0],
            "your recurrent term is not dz_t/dz_{t-1} times s_{t-1}: differentiate the update with respect "
            "to z_{t-1} again": _forward_rtrl(c, "no_w")[0],
            "your recurrent term is not dz_t/dz_{t-1} times s_{t-1}: recheck how z_{t-1} enters z_t":
                _forward_rtrl(c, "J_direct_only")[0],
            "your tanh derivative is taken at the wrong step: recheck which pre-activation the update "
            "differentiates": _forward_rtrl(c, "J_prev")[0],
            "your update has no direct term (the derivative of the pre-activation with z_{t-1} held fixed): "
            "with s_0 = 0 nothing then starts the recursion": _forward_rtrl(c, "no_direct")[0],
            "your direct effect of w on z_t is not the derivative of the pre-activation with respect to w":
                _forward_rtrl(c, "z_t")[0],
            "you stored each row before updating it, so row t - 1 holds s_{t-1} (starting from s_0 = 0) "
            "instead of s_t": _forward_rtrl(c, "rows_shifted")[0],
        }
        problems = compare_array(out[0], S_ref, f"S on {where}", rtol=1e-8, atol=1e-10, hints=s_hints)
        if problems:
            return problems
        g_hints = {
            "you paired the error z_t - x_t with s_{t-1}, the sensitivities before the update: both "
            "belong to the same step t": _forward_rtrl(c, "grad_lag")[1],
        }
        return compare_array(out[1], grad_ref, f"grad = [dS/dw, dS/du, dS/dd] on {where}", rtol=1e-8, atol=1e-10,
                             hints=g_hints)

    cases = [(f"case {i + 1} of {len(EX_RTRL)} (T={len(c.y)}, w={c.w}, u={c.u}, d={c.d})", (c.w, c.u, c.d, c.y, c.x), c)
             for i, c in enumerate(EX_RTRL)]
    return check_function("forward sensitivities (first form of Eq. 5.19)", fn, cases, judge,
                          name="rtrl_sensitivities", signature="(w, u, d, y, x)")


# ----------------------------------------------------------------------------------------------
# Exercise 3: how fast do signals shrink or grow?
# ----------------------------------------------------------------------------------------------

class DecayProblem(NamedTuple):
    """A linear RNN (states at zero, so every Jacobian J_t is the identity) with a loss at the last step only and
    the non-orthogonal recurrent matrix D_zz = rho [[1, shear], [0, 1]], whose spectral radius is rho; the
    signal at the loss is b_T = (1, 0), and ``factor`` is the decay asked about."""

    rho: float
    shear: float
    factor: float


#: Exercise 3: where is ||b_{T-k}|| largest, and after how many steps back has it fallen by 1000, when
#: D_zz = 0.85 [[1, 3], [0, 1]]?
EX_DECAY = DecayProblem(rho=0.85, shear=3.0, factor=1000.0)


def _signal_norms(p: DecayProblem, n: int) -> np.ndarray:
    """||b_{T-k}|| / ||b_T|| for k = 0..n-1: b_{T-k} = (D_zz^T)^k b_T, with (D_zz^T)^k = rho^k [[1, 0], [k shear, 1]]."""
    k = np.arange(n, dtype=float)
    return p.rho ** k * np.sqrt(1.0 + (p.shear * k) ** 2)


def steps_to_shrink(k_peak, k_shrink):
    """Exercise 3, ``ex-5-1-3-steps-to-shrink``: your ``k_peak`` (the number of steps back at which ||b_{T-k}||
    is largest) and ``k_shrink`` (the smallest k at which ||b_{T-k}|| is at most ||b_T|| / factor) for the
    recurrent matrix of :data:`EX_DECAY`.

    Pass two whole numbers of steps. The checker recognizes the count of an orthogonal matrix with the
    same spectral radius and a signal taken to fall from the start.
    """
    name = "steps to the peak and to a thousand-fold decay of ||b_t||"
    p = EX_DECAY
    norms = _signal_norms(p, 2000)
    ref_peak = int(np.argmax(norms))
    ref_shrink = int(np.argmax(norms <= 1.0 / p.factor))
    orthogonal = math.ceil(math.log(p.factor) / abs(math.log(p.rho)) - 1e-12)
    problems = []
    for what, ans, ref in (("k_peak", k_peak, ref_peak), ("k_shrink", k_shrink, ref_shrink)):
        if ans is None:
            problems.append(f"{what} is None: give a whole number of steps.")
            continue
        arr, bad = checker.as_numeric(ans, what)
        if bad or arr.size != 1:
            problems.append(f"{what} should be a number of steps; got {type(ans).__name__}.")
            continue
        value = float(arr.reshape(-1)[0])
        if value != round(value):
            problems.append(f"{what} should be a whole number of steps.")
            continue
        k = int(round(value))
        if k == ref:
            continue
        if k < 0:
            problems.append(f"{what} should be a number of steps back, zero or more; got {k}.")
        elif what == "k_shrink" and k == orthogonal:
            problems.append("k_shrink is the count of an orthogonal recurrent matrix with the same spectral radius, "
                            "from ||b_{T-k}|| = rho^k ||b_T||; this matrix is not orthogonal.")
        elif what == "k_peak" and k == 0:
            problems.append("k_peak: the signal does not fall from the start here; compare ||b_{T-1}|| with "
                            "||b_T||.")
        else:
            problems.append(f"{what} is not right: work out ||b_{{T-k}}|| for this matrix and check the "
                            "condition at your k and at its neighbours.")
    return result(name, problems)

#: For the graded (nbgrader) version (courseware/grading.py): per exercise, problem data drawn for each
#: student ("variant"), or why every student gets the same data ("same_data").
SUMMATIVE = {
    "ex-5-1-3-bptt-signals": {"same_data": "the answer is a function, which the grader calls on test inputs of the "
                                           "checker's own (EX_SIGNALS, drawn for each student)"},
    "ex-5-1-3-rtrl": {"same_data": "the answer is a function, which the grader calls on test inputs of the checker's "
                                   "own (EX_RTRL, drawn for each student)"},
    "ex-5-1-3-steps-to-shrink": {"same_data": "the statement spells out the numbers (rho = 0.85, the shear 3, a "
                                              "factor of a thousand), and the solution discusses the steps they give"},
}
