r"""Checkers for the exercises of the notebook "4DVar" (data assimilation, 4)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checker import compare_array, result, problem_rng, check_function

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


def strong_gradient(fn) -> "result":
    """Exercise 1, ``ex-da-4-gradient``: your function ``fn(x1, a)`` returning ``(g_x1, g_a)``, the gradient of the
    strong-constraint cost of :data:`EX_WINDOW` with the offset ``a`` in its model, (2,) each, run at a few points.
    Slips named: the a-gradient summed from the first time, no offset forward, a flipped sign."""
    from .references import da_fourdvar as refs
    def judge(out, where, x1, a):
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return [f"on {where} your function should return the pair (g_x1, g_a); got {type(out).__name__}."]
        g1, ga = refs.strong_grads(EX_WINDOW, x1, a)
        _, sa = refs.strong_grads(EX_WINDOW, x1, a, from_first=True)
        n1, na = refs.strong_grads(EX_WINDOW, x1, a, no_offset_forward=True)
        flip = "the sign is flipped: the cost rises along the gradient"
        return (compare_array(out[0], g1, f"the gradient with respect to x1 at {where}", rtol=1e-8, atol=1e-10,
                              hints={"your forward run left the offset out": n1, flip: -g1})
                + compare_array(out[1], ga, f"the gradient with respect to a at {where}", rtol=1e-8, atol=1e-10,
                                hints={"you summed the adjoint variables from the first time on, but a first acts "
                                       "on x_2": sa, "your forward run left the offset out": na, flip: -ga}))

    cases = [(f"x1 = {v}, a = {off}", (np.array(v), np.array(off)))
             for v, off in (([0.0, 0.0], [0.0, 0.0]), ([1.0, -1.0], [0.3, -0.2]), ([2.5, 0.7], [-0.5, 0.4]))]
    return check_function("strong-constraint gradients", fn, cases, judge, name="my_grad", signature="(x1, a)")


def weak_minimizer(X) -> "result":
    """Exercise 2, ``ex-da-4-weak``: your weak-constraint 4DVar minimizer (6, 2) for :data:`EX_WINDOW`. Slips named:
    the strong-constraint solution, no model-error term, A and Q^{-1} in the wrong order, the off-diagonal blocks
    exchanged, A^T for A."""
    from .references import da_fourdvar as refs
    hints = {"you solved the strong-constraint problem (no model error)":
                 refs.smoother_means(EX_WINDOW, np.zeros((2, 2))),
             "the model-error term is missing from your normal equations (Q infinite)":
                 refs.smoother_means(EX_WINDOW, 1e6 * np.eye(2)),
             "your off-diagonal blocks multiply A and Q^{-1} in the wrong order":
                 refs.weak_by_normal_equations(EX_WINDOW, order=True),
             "you exchanged the blocks above and below the diagonal (a transpose of each)":
                 refs.weak_by_normal_equations(EX_WINDOW, swap=True),
             "you used A^T where the model has A (a transpose)":
                 refs.weak_by_normal_equations(EX_WINDOW, transpose=True)}
    expected = refs.smoother_means(EX_WINDOW, EX_WINDOW.Q)
    return result("weak-constraint minimizer", compare_array(X, expected, "your trajectory", rtol=1e-7, atol=1e-9,
                                                             hints=hints))


def strong_minus_smoother(answer) -> "result":
    """Exercise 3, ``ex-da-4-strong-smoother``: the strong-constraint estimate of x1 minus the RTS smoother's mean of
    x1 for :data:`EX_WINDOW`, (2,). Slips named: the reverse difference, zero, either estimate alone."""
    from .references import da_fourdvar as refs
    strong = refs.smoother_means(EX_WINDOW, np.zeros((2, 2)))[0]    # no model noise: the strong constraint
    smooth = refs.smoother_means(EX_WINDOW, EX_WINDOW.Q)[0]
    diff = strong - smooth
    hints = {"you took the difference the other way round": -diff,
             "you gave zero: compute both estimates for this window": np.zeros(2),
             "you gave the strong-constraint estimate alone, not the difference": strong,
             "you gave the smoother's mean alone, not the difference": smooth}
    return result("strong constraint minus the smoother",
                  compare_array(answer, diff, "your difference", rtol=1e-7, atol=1e-10, hints=hints))
