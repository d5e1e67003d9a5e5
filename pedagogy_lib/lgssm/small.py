"""A fast path for small Kalman problems, such as a notebook slider redrawing ten steps.

:func:`~pedagogy_lib.lgssm.kalman.kalman_filter` validates in Python and then calls its kernel; for a short
sequence that validation and the calls cost more than the recursion. When a problem is plainly clean, this
module does the same work in one compiled call, :func:`~pedagogy_lib.lgssm.kernels.run_small`: the entry
screen of the checks, the covariance-form filter and, for the smoother, the backward pass, with the same
kernels on the same arrays, so the same numbers. It is compiled for one signature
(``kernels.SMALL_SIGNATURE``, float64 C-contiguous writable arrays) on first use, so numba itself refuses any other array with a ``TypeError`` and Python checks only
that each argument is an ndarray. Anything the call cannot decide (another dtype, layout or dimension, a
read-only array, controls, a missing or non-finite observation, a covariance not clearly positive
definite, a dimension of 16 or more, the information form) gives ``None``, and the public function takes
its full path, which validates, explains and computes.

The switch is :data:`FAST_PATH` (``pedagogy_lib.lgssm.small.FAST_PATH``): on, unless the environment sets
``PEDAGOGY_KALMAN_FAST_PATH=0``. What it buys is measured in ``benchmarks/bench_kalman.py`` (the
short-sequence rows, with and without it).
"""
from __future__ import annotations

import functools
import os

import numpy as np

from ..core.checks import SYM_RTOL
from ..core.jit import HAVE_NUMBA, choose, compile_for
from ..core.kernels import EPS, LOOPS_ONLY_MAX_DIM, SPD_ULPS
from . import kernels
from .model import MAX_MAGNITUDE, LGSSMParams

__all__: list[str] = []                        # internal: reached through kalman_filter and kalman_smoother

#: Whether :func:`fast_path` may answer (numba only).
FAST_PATH: bool = HAVE_NUMBA and os.environ.get("PEDAGOGY_KALMAN_FAST_PATH", "1") != "0"

_SCREEN = (MAX_MAGNITUDE, SYM_RTOL, SPD_ULPS, EPS)            # the last arguments of kernels.screen_model


@functools.cache
def compiled():
    """``kernels.run_small`` compiled for ``kernels.SMALL_SIGNATURE``, once per process."""
    return compile_for(kernels.run_small, kernels.SMALL_SIGNATURE)


_chosen = False                                # set once backend="auto" has chosen the compiled call


def resolve(backend: str, T: int, n: int, m: int) -> str:
    """``backend`` with ``"auto"`` resolved by the registry's rule (:func:`~pedagogy_lib.core.jit.choose`) for the
    covariance-form filter at these sizes, counted once per public call: the fast path and, when it declines,
    the full path both use the answer. Once the rule says ``"numba"`` it is kept for the rest of the process
    (this path calls :func:`compiled`, not the dispatcher the rule looks at, so the rule would otherwise look
    for its cache mark at every call and count the twin's work again)."""
    global _chosen
    if backend != "auto":
        return backend
    if not _chosen:
        _chosen = choose(kernels.filter_covariance, T=T, n=n, m=m) == "numba"
    return "numba" if _chosen else "numpy"


def fast_path(params, y, u, form, backend, smooth: bool) -> tuple | None:
    """The fields of the filter's (or, with ``smooth``, the smoother's) result, or ``None`` for the full path.
    ``backend`` is already resolved (:func:`resolve`): only ``"numba"`` takes this path."""
    if not FAST_PATH or backend != "numba" or u is not None or form not in ("auto", "covariance") \
            or type(params) is not LGSSMParams or params.B is not None:
        return None
    mu1, Sigma1, A, _, a, Sigma_x, C, c, Sigma_y_x = params
    if not (type(mu1) is type(Sigma1) is type(A) is type(a) is type(Sigma_x) is type(C) is type(c)
            is type(Sigma_y_x) is type(y) is np.ndarray):        # not a list, nor a subclass such as a masked array
        return None
    n, m = mu1.size, c.size
    if y.ndim != 2 or y.shape[0] < 1 or max(n, m) >= LOOPS_ONLY_MAX_DIM or (form == "auto" and m > 2 * n):   # "auto": maybe information
        return None
    try:
        out = compiled()(mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y, _SCREEN, smooth)   # (ok, *fields)
    except TypeError:                  # numba found another dtype, dimension or layout, or a read-only array
        return None
    if not out[0]:
        return None
    # with m > n the caller (lgssm.kalman) still checks that the noise is resolved and that "auto" keeps
    # the covariance form before it takes this result
    return (out[1:] if smooth else out[1:8]) + ("covariance",)
