"""Checkers for the exercises of notebook 5.1.3 (artificial neural networks and backpropagation)."""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from scipy.special import logsumexp, softmax

from ..nn import network as nn
from .checker import FUNCTION_ANSWER, check_function, compare_array, problem_rng, result, tuple_problems

__all__ = ["DenseCase", "EX_DENSE", "EX_GRAD_FUNCTIONS", "EX_GRAD_EPS", "EX_SIGNAL", "EX_PRODUCT", "GradFunction",
           "SignalCase", "ProductProblem", "residual_backward", "central_difference", "poisson_signal",
           "product_network"]


class DenseCase(NamedTuple):
    """A case for a residual block's backward pass: ``D`` (K, K), ``d`` (K,), the input ``Z_prev`` (N, K) and ``G``
    (N, K), the loss's gradient in each row of the block's *output*."""

    D: np.ndarray
    d: np.ndarray
    Z_prev: np.ndarray
    G: np.ndarray


def _dense_case(seed: int, N: int, K: int) -> DenseCase:
    r = problem_rng(seed)
    while True:                            # D far from symmetric, so that D and D^T give different numbers
        D = r.normal(size=(K, K))
        if np.abs(D - D.T).max() > 0.5:
            return DenseCase(D, r.normal(size=K), r.normal(size=(N, K)), r.normal(size=(N, K)))


#: Exercise 1: residual blocks of widths 3, 2, 4, 3 (one with N = 1), every D far from symmetric.
EX_DENSE = (_dense_case(1, 4, 3), _dense_case(2, 5, 2), _dense_case(3, 1, 4), _dense_case(4, 6, 3))


def _describe_dense(i: int, case: DenseCase) -> str:
    N, K = case.Z_prev.shape
    return f"case {i + 1} of {len(EX_DENSE)} (N={N}, K={K})"


def _nan_like(a):
    return np.full(np.shape(a), np.nan)


def residual_backward(fn):
    """Exercise 1, ``ex-5-1-3-dense-backward``: your function ``fn(D, d, Z_prev, G)`` returning ``(grad_Z_prev,
    grad_D, grad_d)`` (parameter gradients summed over rows), inputs unchanged. Slips named: a plain tanh layer, no or
    a misplaced tanh derivative, a missing transpose, an average, a transposed weight gradient."""
    from .references import ch05_nn as refs
    def judge(out, label, *case):
        problems = tuple_problems(out, 3, "a tuple (grad_Z_prev, grad_D, grad_d)", label)
        if problems:
            return problems
        case = DenseCase(*case)
        A, T, B = refs.residual_parts(case)
        ref_Z, ref_D, ref_d = case.G + B @ case.D, B.T @ case.Z_prev, B.sum(axis=0)
        N = case.Z_prev.shape[0]
        B_at_input = (1.0 - np.tanh(case.Z_prev) ** 2) * case.G
        B_at_output = (1.0 - (case.Z_prev + T) ** 2) * case.G
        problems = compare_array(out[0], ref_Z, f"grad_Z_prev on {label}", hints={
            "your grad_Z_prev is that of a plain tanh layer, and this block is not one: derive dS/dZ_prev "
            "for the block of the statement":
                B @ case.D,
            "you passed G through D without the Jacobian of tanh": case.G + case.G @ case.D,
            "you multiplied the signal by D instead of D^T (the printed Eq. 5.16 drops the transpose)":
                case.G + B @ case.D.T,
            "you evaluated the derivative of tanh at the block's input instead of at its pre-activation":
                case.G + B_at_input @ case.D,
            "you wrote tanh' as 1 - z^2 with z the block's output, which includes the skip; the derivative "
            "belongs to the tanh branch alone": case.G + B_at_output @ case.D,
        })
        problems += compare_array(out[1], ref_D, f"grad_D on {label}", hints={
            "you used G as the signal and forgot the Jacobian of tanh": case.G.T @ case.Z_prev,
            "you averaged over the N rows instead of summing them": ref_D / N if N > 1 else _nan_like(ref_D),
            "you multiplied Z_prev^T B (that is the transpose of the book's b z^T)": case.Z_prev.T @ B,
            "you multiplied the signal by the block's output where its input belongs":
                B.T @ (case.Z_prev + T),
        })
        return problems + compare_array(out[2], ref_d, f"grad_d on {label}", hints={
            "you used G as the signal and forgot the Jacobian of tanh": case.G.sum(axis=0),
            "you averaged over the N rows instead of summing them": ref_d / N if N > 1 else _nan_like(ref_d),
        })

    cases = [(_describe_dense(i, case), tuple(case)) for i, case in enumerate(EX_DENSE)]
    return check_function("backward pass of a residual tanh block", fn, cases, judge, name="residual_backward",
                          signature="(D, d, Z_prev, G)", unchanged=True)


class GradFunction(NamedTuple):
    """A scalar test function ``f(theta)`` and the point where it is checked."""

    description: str
    f: Callable
    theta: np.ndarray


_A_QUAD = np.array([[2.0, 0.5, 0.0], [-0.3, 1.0, 0.4], [0.2, 0.0, 3.0]])
_b_QUAD = np.array([1.0, -2.0, 0.5])
_W_NET = np.array([[0.7, -1.2], [0.4, 0.9], [-0.5, 0.3]])


#: Exercise 2: the functions a student's checker is run on.
EX_GRAD_FUNCTIONS = (
    GradFunction("a quadratic 0.5 theta^T A theta + b^T theta (non-symmetric A)",
                 lambda t: float(0.5 * t @ _A_QUAD @ t + _b_QUAD @ t),
                 np.array([0.3, -1.1, 0.8])),
    GradFunction("sum(exp(3 theta))",
                 lambda t: float(np.sum(np.exp(3.0 * t))),
                 np.array([0.1, -0.4, 0.25, 0.0])),
    GradFunction("log-sum-exp(theta)", lambda t: float(logsumexp(t)), np.array([1.0, -0.5, 2.0, 0.3, -1.2])),
    GradFunction("a one-unit network sum(tanh(W theta))",
                 lambda t: float(np.sum(np.tanh(_W_NET @ t))),
                 np.array([0.6, -0.2])),
)


def _exact_gradient(i: int, t) -> np.ndarray:
    """The exact gradient of test function ``i`` of :data:`EX_GRAD_FUNCTIONS` at ``t``."""
    t = np.asarray(t, dtype=float)
    if i == 0:
        return 0.5 * (_A_QUAD + _A_QUAD.T) @ t + _b_QUAD
    if i == 1:
        return 3.0 * np.exp(3.0 * t)
    if i == 2:
        return softmax(t)
    return _W_NET.T @ (1.0 - np.tanh(_W_NET @ t) ** 2)

#: Step passed to the student's function: large enough that a one-sided difference is visibly worse.
EX_GRAD_EPS = 1e-3


def central_difference(fn):
    """Exercise 2, ``ex-5-1-3-central-difference``: your function ``fn(f, theta, eps)`` returning the central
    differences of the statement (shape of ``theta``, left as it was found), run with :data:`EX_GRAD_EPS` on
    :data:`EX_GRAD_FUNCTIONS`. Slips named: a one-sided difference, a wrong divisor."""
    from .references import ch05_nn as refs
    name = "central-difference gradient"
    if fn is None:
        return result(name, ["central_difference is None: write the function first."])
    if not callable(fn):
        return result(name, [f"central_difference should be a function; got {type(fn).__name__}."])
    eps = EX_GRAD_EPS
    for i, case in enumerate(EX_GRAD_FUNCTIONS):
        label = f"test function {i + 1} of {len(EX_GRAD_FUNCTIONS)}, {case.description}"
        theta = case.theta.copy()
        try:
            out = fn(case.f, theta, eps)
        except Exception as exc:  # noqa: BLE001
            return result(name, [f"central_difference raised {type(exc).__name__}: {exc} (on {label})."])
        if not np.array_equal(theta, case.theta) and np.allclose(theta, case.theta, rtol=1e-12, atol=1e-15):
            return result(name, [f"central_difference put theta back only up to rounding (on {label}): adding "
                                 "and subtracting eps does not restore an entry bit for bit. Keep the old value "
                                 "and assign it back, or perturb a copy."])
        if not np.array_equal(theta, case.theta):
            return result(name, [f"central_difference changed theta in place and did not restore it (on {label}): "
                                 "perturb a copy, or put each entry back after using it."])
        hints = {
            "you used a one-sided (forward) difference, whose error is O(eps) rather than O(eps^2)":
                refs.differences(case.f, case.theta, eps, one_sided=True),
            "you divided by eps instead of 2 eps": refs.differences(case.f, case.theta, eps, 1.0),
        }
        problems = compare_array(out, _exact_gradient(i, case.theta), f"the gradient of {label}",
                                 rtol=1e-5, atol=1e-8, hints=hints)
        if problems:
            return result(name, problems)
        # central differences at this step differ from the exact gradient by O(eps^2): an answer much
        # closer to the exact gradient than the differences themselves did not compute them
        if not np.allclose(out, refs.differences(case.f, case.theta, eps), rtol=1e-7, atol=1e-10):
            return result(name, [f"on {label}, your values are not the central differences at eps = {eps:g}: "
                                 "return the difference quotients of the statement, with their own O(eps^2) "
                                 "error, not another estimate of the gradient."])
    return result(name, [])


class SignalCase(NamedTuple):
    """Output pre-activations ``a`` and counts ``x`` (whole numbers as floats), 1-D of one length."""

    a: np.ndarray
    x: np.ndarray


#: Exercise 3: small and large counts, a zero count, and logits far out on both sides.
EX_SIGNAL = (
    SignalCase(np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0, 3.0])),
    SignalCase(np.array([-0.3, 0.0, 1.5, -2.5]), np.array([2.0, 1.0, 0.0, 4.0])),
    SignalCase(np.array([30.0, -30.0, 5.0]), np.array([25.0, 1.0, 0.0])),
)


def poisson_signal(fn):
    """Exercise 3, ``ex-5-1-3-bernoulli-signal``: your function ``fn(a, x)`` returning b_L for the softplus output and
    the Poisson surprisal, run on :data:`EX_SIGNAL`. Slips named: no Jacobian, the logistic's derivative, the
    canonical-link shortcut, an exponential output, a squared-error signal, an imprecise softplus."""
    def judge(out, where, a, x):
        mu = nn.softplus(a)                                        # the Poisson mean
        s = nn.sigmoid(a)                                          # softplus' = diagonal of J_L
        dS_dmu = 1.0 - x / mu
        hints = {
            "you returned dS/dz_L and forgot the Jacobian J_L of the softplus output": dS_dmu,
            "you took for the softplus's derivative that of the logistic function, sigma (1 - sigma)":
                s * (1.0 - s) * dS_dmu,
            "you used the canonical-link shortcut mean minus target, which needs the Poisson's canonical link; "
            "the softplus is not that link": mu - x,
            "you computed the signal of an exponential output (the Poisson's canonical link), not of a "
            "softplus one": np.exp(np.minimum(a, 700.0)) - x,
            "you used the signal of a squared-error loss, J_L (mu - x), not that of the Poisson surprisal":
                s * (mu - x),
        }
        with np.errstate(all="ignore"):
            crude_mu = np.log(1.0 + np.exp(a))                     # loses its digits where e^a << 1
        if np.abs(crude_mu / mu - 1.0).max() > 1e-6:
            hints["you computed the softplus as log(1 + e^a), which keeps only a few correct digits where "
                  "e^a is far below the rounding error of 1 (here at a = -30)"] = s * (1.0 - x / crude_mu)
        return compare_array(out, s * dS_dmu, f"b_L on {where}", hints=hints)

    cases = [(f"case {i + 1} of {len(EX_SIGNAL)}", (case.a, case.x)) for i, case in enumerate(EX_SIGNAL)]
    return check_function("output signal b_L for a softplus output and a Poisson surprisal", fn, cases, judge,
                          name="poisson_signal", signature="(a, x)")


class ProductProblem(NamedTuple):
    """The target ``c`` y_1^p_1 y_2^p_2 (y_2 + y_3 + 1)^p_3 with ``powers`` (p_1, p_2, p_3), and its positive test
    inputs ``Y_test`` (50, 3)."""

    c: float
    powers: np.ndarray
    Y_test: np.ndarray


#: Exercise 4: f(y) = 2 y_1 y_2 / (y_2 + y_3 + 1)^2 on 50 positive test inputs.
EX_PRODUCT = ProductProblem(c=2.0, powers=np.array([1.0, 1.0, -2.0]),
                            Y_test=np.random.default_rng(7).uniform(0.2, 3.0, size=(50, 3)))


def product_network(D1, d1, D2, d2):
    """Exercise 4, ``ex-5-1-3-product-network``: your ``D1`` (H, 3), ``d1`` (H,), ``D2`` (1, H), ``d2`` (1,) of the
    two-layer log/exp network reproducing :data:`EX_PRODUCT` to a relative 1e-8. Slips named: a missing or misplaced
    constant, wrong powers."""
    from .references import ch05_nn as refs
    name = "a log/exp network computing 2 y1 y2 / (y2 + y3 + 1)^2"
    arrs = {}
    for nm, val, nd in (("D1", D1, 2), ("d1", d1, 1), ("D2", D2, 2), ("d2", d2, 1)):
        if val is None:
            return result(name, [f"{nm} is None: fill in all four parameters."])
        try:
            a = np.asarray(val, dtype=float)
        except (TypeError, ValueError):
            return result(name, [f"{nm} should be numeric; got {type(val).__name__}."])
        if a.ndim != nd:
            return result(name, [f"{nm} should be {'a matrix' if nd == 2 else 'a vector'} ({nd}-D); got {a.ndim}-D."])
        arrs[nm] = a
    D1, d1, D2, d2 = arrs["D1"], arrs["d1"], arrs["D2"], arrs["d2"]
    p = EX_PRODUCT
    if D1.shape[1] != 3:
        return result(name, [f"D1 should have 3 columns (one per input); got shape {D1.shape}."])
    H = D1.shape[0]
    if d1.shape != (H,):
        return result(name, [f"d1 should have shape ({H},) to match D1; got {d1.shape}."])
    if D2.shape != (1, H):
        return result(name, [f"D2 should have shape (1, {H}): one output, {H} hidden units; got {D2.shape}."])
    if d2.shape != (1,):
        return result(name, [f"d2 should have shape (1,); got {d2.shape}."])
    out, A1 = refs.product_network_output(D1, d1, D2, d2, p.Y_test)
    if np.any(A1 <= 0):
        return result(name, ["D1 y + d1 is not positive for some of the test inputs, so the logarithm is "
                             "undefined there: the inputs are positive, so what first layer keeps them so?"])
    def monomial(F, powers=p.powers, c=p.c):
        return c * np.prod(F ** powers, axis=1, keepdims=True)

    F = refs.product_factors(p.Y_test)
    ref = monomial(F)
    hints = {
        "the output depends on y as it should but is off by a constant factor at every input":
            monomial(F, c=1.0),
        "the output depends on y as it should but is off by a constant factor at every input: check what a "
        "bias of the second layer does to the output":
            monomial(F, c=np.exp(p.c)),
        "the denominator is not right as y2 and y3 approach zero: compare your network with f there":
            monomial(refs.product_factors(p.Y_test, shift=0.0)),
        "the denominator does not change with y2 as it should (see how the output changes when y2 doubles)":
            monomial(refs.product_factors(p.Y_test, with_y2=False)),
        "the output depends on y1 and y2 as it should, but the denominator enters with the wrong power":
            monomial(F, powers=np.array([1.0, 1.0, -1.0])),
        "the output depends on y1 and y2 as it should, but it grows with the denominator":
            monomial(F, powers=np.array([1.0, 1.0, 2.0])),
    }
    problems = compare_array(out, ref, "the network's output on the 50 test inputs", rtol=1e-8, atol=1e-12, hints=hints)
    return result(name, problems)

#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-5-1-3-dense-backward": {"same_data": FUNCTION_ANSWER},
    "ex-5-1-3-central-difference": {"same_data": FUNCTION_ANSWER},
    "ex-5-1-3-bernoulli-signal": {"same_data": FUNCTION_ANSWER},
    "ex-5-1-3-product-network": {"same_data": "the statement spells out the function to compute"},
}
