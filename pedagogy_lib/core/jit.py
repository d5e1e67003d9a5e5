"""numba when it is installed, plain Python when it is not.

Every kernel module decorates its loops with :func:`njit` from here instead of importing numba
itself. With numba installed this is ``numba.njit(cache=True)``: compiled once, then loaded from the
on-disk cache. Without numba (for example in the in-browser JupyterLite build, whose Python runtime
has no LLVM) the decorator returns the function unchanged, and :func:`pedagogy_lib.core.checks.check_backend`
sends every ``backend="numba"`` request to the NumPy twin instead, so results are the same and only
speed differs. Set the environment variable ``PEDAGOGY_DISABLE_NUMBA=1`` to get that behaviour with
numba installed (the test suite does, to check the fallback).
"""
from __future__ import annotations

import os

__all__ = ["HAVE_NUMBA", "njit", "njit_ieee", "njit_inline"]

try:
    if os.environ.get("PEDAGOGY_DISABLE_NUMBA", "") not in ("", "0"):
        raise ImportError("numba disabled by PEDAGOGY_DISABLE_NUMBA")
    import numba as _numba
except ImportError:
    _numba = None

#: True when the kernels are compiled by numba; False when the NumPy twins do all the work.
HAVE_NUMBA: bool = _numba is not None


def njit(func):
    """Compile ``func`` with ``numba.njit(cache=True)``, or return it unchanged without numba.

    The uncompiled function gets a ``py_func`` attribute pointing at itself, as numba's
    dispatchers have, so code that asks for the Python version works either way.
    """
    if _numba is not None:
        return _numba.njit(cache=True)(func)
    func.py_func = func
    return func


def njit_inline(func):
    """Like :func:`njit`, but numba inlines the function into its compiled callers (``inline="always"``).

    For the small dense helpers of a kernel (a 2 x 2 product, a Cholesky step): inlined, the compiler
    sees the whole time step at once, and no array structures are passed per call.
    """
    if _numba is not None:
        return _numba.njit(cache=True, inline="always")(func)
    func.py_func = func
    return func


def njit_ieee(func):
    """Like :func:`njit`, with NumPy's floating-point error model (``error_model="numpy"``).

    By default numba follows Python and checks every floating division for a zero divisor (to
    raise ``ZeroDivisionError``); that branch keeps a loop with divisions from being vectorized.
    With this decorator a division by zero gives an infinity or NaN as in NumPy, so an elementwise
    loop with divisions and square roots compiles to vector instructions. For kernels whose
    divisors are positive by construction, or whose caller checks the result for NaN.
    """
    if _numba is not None:
        return _numba.njit(cache=True, error_model="numpy")(func)
    func.py_func = func
    return func
