r"""Checkers for the exercises of the notebook "4DVar" (data assimilation, 4)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checker import problem_rng
from .engine import Exercise, Part, lazy

__all__ = ["LinearWindow", "EX_WINDOW", "strong_gradient", "weak_minimizer", "strong_minus_smoother"]


class LinearWindow(NamedTuple):
    """A linear-Gaussian window: x_{t+1} = A x_t + noise(Q), y_t = C x_t + noise(R), x_1 ~ N(mu1, Sigma1)."""

    A: np.ndarray
    C: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    mu1: np.ndarray
    Sigma1: np.ndarray
    y: np.ndarray


def _make() -> LinearWindow:
    rng = problem_rng(404)
    th = 0.3
    A = 0.98 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    C = np.array([[1.0, 0.5]])
    # a model-error covariance that is not a multiple of I, so that Q^{-1} A and A Q^{-1} differ
    Q, R = np.array([[0.06, 0.02], [0.02, 0.03]]), np.array([[0.2]])
    mu1, Sigma1 = np.array([1.0, 0.0]), 0.5 * np.eye(2)
    x = mu1 + np.sqrt(0.5) * rng.standard_normal(2)
    ys = []
    for _ in range(6):
        ys.append(C @ x + np.sqrt(0.2) * rng.standard_normal(1))
        x = A @ x + np.linalg.cholesky(Q) @ rng.standard_normal(2)
    return LinearWindow(A, C, Q, R, mu1, Sigma1, np.array(ys))


#: The window of all three exercises: n = 2, m = 1, T = 6.
EX_WINDOW = _make()


_FLIP = "the sign is flipped: the cost rises along the gradient"
_NO_OFFSET = "your forward run left the offset out"
_GRADIENT = Exercise(
    label="ex-da-4-gradient", name="strong_gradient", title="strong-constraint gradients", data="EX_WINDOW",
    reference="da_fourdvar:strong_grads", function="my_grad", signature="(x1, a)",
    cases=lambda: [(f"x1 = {v}, a = {off}", (np.array(v), np.array(off))) for v, off in
                   (([0.0, 0.0], [0.0, 0.0]), ([1.0, -1.0], [0.3, -0.2]), ([2.5, 0.7], [-0.5, 0.4]))],
    parts=(Part("g_x1", "the gradient with respect to x1 at {where}", rtol=1e-8, atol=1e-10, slips={
        _NO_OFFSET: lazy("da_fourdvar:strong_grads", star=True, no_offset_forward=True, item=0),
        _FLIP: lambda x, ref: -ref[0]}),
        Part("g_a", "the gradient with respect to a at {where}", rtol=1e-8, atol=1e-10, slips={
            "you summed the adjoint variables from the first time on, but a first acts on x_2":
                lazy("da_fourdvar:strong_grads", star=True, from_first=True, item=1),
            _NO_OFFSET: lazy("da_fourdvar:strong_grads", star=True, no_offset_forward=True, item=1),
            _FLIP: lambda x, ref: -ref[1]})),
    doc=r"""Exercise 1, ``ex-da-4-gradient``: your function ``fn(x1, a)`` returning ``(g_x1, g_a)``, the gradient of the
    strong-constraint cost of :data:`EX_WINDOW` with the offset ``a`` in its model, (2,) each, run at a few points.
    Slips named: the a-gradient summed from the first time, no offset forward, a flipped sign.""")

_WEAK = Exercise(
    label="ex-da-4-weak", name="weak_minimizer", title="weak-constraint minimizer", data="EX_WINDOW",
    reference="da_fourdvar:weak_reference",
    parts=(Part("X", "your trajectory", rtol=1e-7, atol=1e-9, slips={
        "you solved the strong-constraint problem (no model error)":
            lazy("da_fourdvar:smoother_means", np.zeros((2, 2))),
        "the model-error term is missing from your normal equations (Q infinite)":
            lazy("da_fourdvar:smoother_means", 1e6 * np.eye(2)),
        "your off-diagonal blocks multiply A and Q^{-1} in the wrong order":
            lazy("da_fourdvar:weak_by_normal_equations", order=True),
        "you exchanged the blocks above and below the diagonal (a transpose of each)":
            lazy("da_fourdvar:weak_by_normal_equations", swap=True),
        "you used A^T where the model has A (a transpose)":
            lazy("da_fourdvar:weak_by_normal_equations", transpose=True)}),),
    doc=r"""Exercise 2, ``ex-da-4-weak``: your weak-constraint 4DVar minimizer (6, 2) for :data:`EX_WINDOW`. Slips named:
    the strong-constraint solution, no model-error term, A and Q^{-1} in the wrong order, the off-diagonal blocks
    exchanged, A^T for A.""")

_STRONG_MINUS = Exercise(
    label="ex-da-4-strong-smoother", name="strong_minus_smoother", title="strong constraint minus the smoother",
    data="EX_WINDOW", reference="da_fourdvar:strong_minus_smoother",
    parts=(Part("answer", "your difference", rtol=1e-7, atol=1e-10, slips={
        "you took the difference the other way round": lambda p, ref: -ref[0],
        "you gave zero: compute both estimates for this window": lambda p, ref: np.zeros(2),
        "you gave the strong-constraint estimate alone, not the difference":
            lazy("da_fourdvar:smoother_means", np.zeros((2, 2)), item=0),
        "you gave the smoother's mean alone, not the difference": "da_fourdvar:smoothed_x1"}),),
    doc=r"""Exercise 3, ``ex-da-4-strong-smoother``: the strong-constraint estimate of x1 minus the RTS smoother's mean of
    x1 for :data:`EX_WINDOW`, (2,). Slips named: the reverse difference, zero, either estimate alone.""")

strong_gradient = _GRADIENT.checker(globals())
weak_minimizer = _WEAK.checker(globals())
strong_minus_smoother = _STRONG_MINUS.checker(globals())
