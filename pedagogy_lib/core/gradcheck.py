r"""Finite-difference derivatives in the book's numerator layout, to check hand-written ones.

The draft's Appendix B.1 fixes the layout every chapter uses:

* a vector-valued :math:`\mathbf y` (length :math:`m`) of a vector :math:`\mathbf x` (length :math:`n`)
  has the Jacobian :math:`d\mathbf y/d\mathbf x^T`, an :math:`m\times n` matrix whose entry
  :math:`(i, j)` is :math:`\partial y_i/\partial x_j`;
* a scalar :math:`y` of a vector :math:`\mathbf x` has the gradient :math:`dy/d\mathbf x`, stored as a
  1-D array of length :math:`n` (its row form :math:`dy/d\mathbf x^T` has the same entries);
* a scalar :math:`y` of a matrix :math:`\mathbf X` has :math:`dy/d\mathbf X` with the shape of
  :math:`\mathbf X`, entry :math:`(i, j)` being :math:`\partial y/\partial x_{ij}` (Eq. B.1).

All three are one rule: the derivative of an output of shape ``S`` with respect to an argument of
shape ``R`` has shape ``S + R``, entry ``[s, r]`` being :math:`\partial y_s/\partial x_r`. The single
public function :func:`gradcheck` computes that array by central differences and, given the
hand-written derivative, compares the two.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .checks import as_array, check_int, fmt_shape, positive_scalar

__all__ = ["GradCheck", "gradcheck"]


class GradCheck(NamedTuple):
    """What :func:`gradcheck` found.

    Attributes
    ----------
    numeric : ndarray, shape ``f(x).shape + x.shape``
        The finite-difference derivative in numerator layout.
    analytic : ndarray or None
        The derivative that was checked (as a float array), or ``None`` when none was given.
    max_abs_error : float
        Largest ``|analytic - numeric|`` (``nan`` without ``analytic``).
    ratio : float
        Largest ``|analytic - numeric| / (atol + rtol * |numeric|)``: the check passes when it is at
        most 1 (``nan`` without ``analytic``).
    ok : bool
        ``|analytic - numeric| <= atol + rtol * |numeric|`` everywhere (``False`` without ``analytic``).
    """

    numeric: np.ndarray
    analytic: np.ndarray | None
    max_abs_error: float
    ratio: float
    ok: bool


# derivative = sum over (step, weight) of weight * (f(x + step h) - f(x - step h)) / h
_STENCILS = {2: ((1.0, 0.5),), 4: ((1.0, 8.0 / 12.0), (2.0, -1.0 / 12.0))}


def _evaluate(f: Callable, x: np.ndarray) -> np.ndarray:
    out = f(x.copy() if x.ndim else float(x))
    return as_array(out, "f(x)")


def gradcheck(f: Callable, x, analytic=None, *, h: float = 1e-6, order: int = 2,
              rtol: float = 1e-5, atol: float = 1e-8) -> GradCheck:
    r"""Central-difference derivative of ``f`` at ``x`` in numerator layout, compared with ``analytic``.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar or an array of any shape ``S``; it is called with a fresh copy of
        ``x`` each time (a Python float when ``x`` is a scalar), so it may modify its argument.
    x : float or array_like, shape ``R``
        Where to differentiate: a scalar, a vector or a matrix (any shape works).
    analytic : array_like, shape ``S + R``, optional
        The hand-written derivative to check: for vector ``f`` and vector ``x`` the Jacobian
        :math:`d\mathbf f/d\mathbf x^T` (``(m, n)``); for scalar ``f`` and matrix ``X`` the matrix
        :math:`df/d\mathbf X` of ``X``'s shape (Eq. B.1). A transposed Jacobian is refused with a
        message saying so.
    h : float
        The step. Each entry of ``x`` is moved by ``h`` (absolute step).
    order : {2, 4}
        Accuracy of the stencil: ``2`` is :math:`(f(x+h)-f(x-h))/2h` (error :math:`O(h^2)`), ``4``
        the five-point stencil (error :math:`O(h^4)`, use it with ``h`` near ``1e-3``).
    rtol, atol : float
        The comparison: ``|analytic - numeric| <= atol + rtol * |numeric|`` entrywise. The
        defaults suit ``order=2, h=1e-6`` on well-scaled functions (rounding error of order
        :math:`10^{-10}/h`).

    Returns
    -------
    GradCheck
        ``numeric``, ``analytic``, the largest absolute error, the worst error-to-tolerance
        ``ratio`` and ``ok``.

    Raises
    ------
    ValueError
        If ``x``, ``f(x)`` or ``analytic`` is not finite, ``analytic`` has the wrong shape, ``f``
        changes its output shape, or ``h``, ``order``, ``rtol``, ``atol`` are out of range.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
    >>> X = np.array([[1.0, -1.0], [0.5, 2.0]])
    >>> # d tr(X A X^T) / dX = X A^T + X A   (the right-hand side the draft prints as Eq. B.10)
    >>> gradcheck(lambda X: np.trace(X @ A @ X.T), X, X @ A.T + X @ A).ok
    True
    """
    if not callable(f):
        raise TypeError(f"f must be callable; got {type(f).__name__}.")
    x = as_array(x, "x")
    h = positive_scalar(h, "h")
    order = check_int(order, "order")
    if order not in _STENCILS:
        raise ValueError(f"order must be 2 or 4; got {order}.")
    rtol = positive_scalar(rtol, "rtol", strict=False)
    atol = positive_scalar(atol, "atol", strict=False)
    if rtol == 0.0 and atol == 0.0:
        raise ValueError("rtol and atol must not both be 0 (no tolerance would ever pass).")

    f0 = _evaluate(f, x)
    numeric = np.empty(f0.shape + x.shape)
    flat_x = x.reshape(-1)
    for k in range(flat_x.size):
        idx = np.unravel_index(k, x.shape)
        d = np.zeros(f0.shape)
        for step, weight in _STENCILS[order]:
            e = np.zeros(x.size)
            e[k] = step * h
            e = e.reshape(x.shape)
            fp, fm = _evaluate(f, x + e), _evaluate(f, x - e)
            for out in (fp, fm):
                if out.shape != f0.shape:
                    raise ValueError(f"f(x) must keep its shape {fmt_shape(f0.shape)} near x; got "
                                     f"{fmt_shape(out.shape)} after moving entry {idx} of x.")
            d = d + weight * (fp - fm) / h
        numeric[(Ellipsis,) + tuple(idx)] = d
    if analytic is None:
        return GradCheck(numeric, None, float("nan"), float("nan"), False)

    G = as_array(analytic, "analytic")
    want = f0.shape + x.shape
    if G.shape != want:
        hint = ""
        if f0.ndim == 1 and x.ndim == 1 and G.shape == x.shape + f0.shape and f0.shape != x.shape:
            hint = (" That is the transposed Jacobian df^T/dx; the book's numerator layout puts the "
                    "output first, df/dx^T.")
        raise ValueError(f"analytic must have shape f(x).shape + x.shape = {fmt_shape(want)}; got "
                         f"{fmt_shape(G.shape)}.{hint}")
    err = np.abs(G - numeric)
    scale = atol + rtol * np.abs(numeric)
    max_abs = float(err.max()) if err.size else 0.0
    ratio = float((err / scale).max()) if err.size else 0.0
    return GradCheck(numeric, G, max_abs, ratio, bool((err <= scale).all()))
