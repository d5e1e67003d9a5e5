"""Checkers for the exercises of notebook 5.1.3 (continued): backpropagation through time."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import checker
from .checker import FUNCTION_ANSWER, check_function, compare_array, result, problem_rng, tuple_problems

__all__ = ["SignalsCase", "EX_SIGNALS", "RTRLCase", "EX_RTRL", "DecayProblem", "EX_DECAY", "bptt_signals",
           "rtrl_sensitivities", "steps_to_shrink"]


class SignalsCase(NamedTuple):
    """Inputs of BPTT for the statement's RNN with a skip connection in time: ``D_zz``, ``D_skip`` (H, H), states
    ``Z`` and direct loss derivatives ``G`` (T, N, H), row ``t`` the book's t + 1."""

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


def bptt_signals(fn):
    """Exercise 1, ``ex-5-1-3-bptt-signals``: your function ``fn(D_zz, D_skip, Z, G)`` returning the signals ``B`` (T,
    N, H), inputs unchanged. Slips named: a missing transpose or path, the skip path over the wrong steps or without
    its Jacobian, the total derivatives."""
    from .references import ch05_bptt as refs
    def judge(out, label, *case):
        case = SignalsCase(*case)
        hints = {
            "you multiplied the later signals by the weight matrices where their transposes belong (recheck "
            "the transposes in the row layout)": refs.signals(case, "no_transpose"),
            "you left out every later step's share: that is only the direct effect of z_t":
                refs.signals(case, "no_future"),
            "you left out the skip path: z_t reaches the loss through z_{t+2} directly as well as through "
            "z_{t+1}": refs.signals(case, "no_skip"),
            "you took the skip path's share from the wrong step": refs.signals(case, "skip_one_step"),
            "you took the skip path's share from dS/dz at its end, leaving out the Jacobian of the "
            "nonlinearity there": refs.signals(case, "skip_total"),
            "you returned the total derivatives dS/dz_t; b_t multiplies them by J_t (Eq. 5.21)":
                refs.signals(case, "total_not_b"),
        }
        return compare_array(out, refs.signals(case), f"B on {label}", rtol=1e-8, atol=1e-10, hints=hints)

    cases = [(f"case {i + 1} of {len(EX_SIGNALS)} (T={c.Z.shape[0]}, N={c.Z.shape[1]}, H={c.Z.shape[2]})", tuple(c))
             for i, c in enumerate(EX_SIGNALS)]
    return check_function("BPTT signals b_t of the RNN with a skip connection", fn, cases, judge, name="bptt_signals",
                          signature="(D_zz, D_skip, Z, G)", unchanged=True)


class RTRLCase(NamedTuple):
    """The statement's one-unit RNN: weights ``w``, ``u``, bias ``d``, inputs ``y`` and targets ``x``."""

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


def rtrl_sensitivities(fn):
    """Exercise 2, ``ex-5-1-3-rtrl``: your function ``fn(w, u, d, y, x)`` returning ``(S, grad)``: S (T, 3), row t - 1
    the sensitivities of z_t to w, u and d, and grad = [dS/dw, dS/du, dS/dd]; run on :data:`EX_RTRL`. Slips named: in
    the update, the indexing and the gradient."""
    from .references import ch05_bptt as refs
    def judge(out, where, w, u, d, y, x, c):
        problems = tuple_problems(out, 2, "the pair (S, grad)", where)
        if problems:
            return problems
        S_ref, grad_ref = refs.forward_rtrl(c)
        s_hints = {
            "your update holds z_{t-1} fixed: that keeps only the direct effect of theta on z_t (a truncation "
            "to one step), not the total one, and z_{t-1} depends on the parameters too":
                refs.forward_rtrl(c, "truncated")[0],
            "your recurrent term is not dz_t/dz_{t-1} times s_{t-1}: differentiate the update with respect "
            "to z_{t-1} again": refs.forward_rtrl(c, "no_w")[0],
            "your recurrent term is not dz_t/dz_{t-1} times s_{t-1}: recheck how z_{t-1} enters z_t":
                refs.forward_rtrl(c, "J_direct_only")[0],
            "your tanh derivative is taken at the wrong step: recheck which pre-activation the update "
            "differentiates": refs.forward_rtrl(c, "J_prev")[0],
            "your update has no direct term (the derivative of the pre-activation with z_{t-1} held fixed): "
            "with s_0 = 0 nothing then starts the recursion": refs.forward_rtrl(c, "no_direct")[0],
            "your direct effect of w on z_t is not the derivative of the pre-activation with respect to w":
                refs.forward_rtrl(c, "z_t")[0],
            "you stored each row before updating it, so row t - 1 holds s_{t-1} (starting from s_0 = 0) "
            "instead of s_t": refs.forward_rtrl(c, "rows_shifted")[0],
        }
        problems = compare_array(out[0], S_ref, f"S on {where}", rtol=1e-8, atol=1e-10, hints=s_hints)
        if problems:
            return problems
        g_hints = {
            "you paired the error z_t - x_t with s_{t-1}, the sensitivities before the update: both "
            "belong to the same step t": refs.forward_rtrl(c, "grad_lag")[1],
        }
        return compare_array(out[1], grad_ref, f"grad = [dS/dw, dS/du, dS/dd] on {where}", rtol=1e-8, atol=1e-10,
                             hints=g_hints)

    cases = [(f"case {i + 1} of {len(EX_RTRL)} (T={len(c.y)}, w={c.w}, u={c.u}, d={c.d})",
              (c.w, c.u, c.d, c.y, c.x), c) for i, c in enumerate(EX_RTRL)]
    return check_function("forward sensitivities (first form of Eq. 5.19)", fn, cases, judge,
                          name="rtrl_sensitivities", signature="(w, u, d, y, x)")


class DecayProblem(NamedTuple):
    """A linear RNN with the loss at the last step, D_zz = rho [[1, shear], [0, 1]], b_T = (1, 0), and the ``factor``
    of decay asked about."""

    rho: float
    shear: float
    factor: float


#: Exercise 3: the peak and the thousand-fold decay of ||b_{T-k}|| for D_zz = 0.85 [[1, 3], [0, 1]].
EX_DECAY = DecayProblem(rho=0.85, shear=3.0, factor=1000.0)


def steps_to_shrink(k_peak, k_shrink):
    """Exercise 3, ``ex-5-1-3-steps-to-shrink``: your ``k_peak`` (where ||b_{T-k}|| is largest) and ``k_shrink`` (the
    smallest k with ||b_{T-k}|| <= ||b_T|| / factor) for :data:`EX_DECAY`, whole numbers. Slips named: an orthogonal
    matrix's count, a signal falling from the start."""
    from .references import ch05_bptt as refs
    name = "steps to the peak and to a thousand-fold decay of ||b_t||"
    p = EX_DECAY
    norms = refs.signal_norms(p, 2000)
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

#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-5-1-3-bptt-signals": {"same_data": FUNCTION_ANSWER},
    "ex-5-1-3-rtrl": {"same_data": FUNCTION_ANSWER},
    "ex-5-1-3-steps-to-shrink": {"same_data": "the statement spells out the numbers, which the solution discusses"},
}
