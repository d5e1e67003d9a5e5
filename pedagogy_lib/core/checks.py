"""Input validation for every public function, in one place.

Public functions call these once, at the boundary, and pass clean, contiguous ``float64`` arrays
to the code that does the work. Every failure is a ``ValueError`` (``TypeError`` for a wrong
kind of object) whose message names the symbol as the book writes it in ASCII, what was
expected, and what was received, e.g.::

    Sigma_x must have shape (K, K) = (2, 2); got (2, 3).
    Sigma_x is not symmetric positive definite (Cholesky failed; smallest eigenvalue -0.5).

Nothing here reshapes silently: a vector is 1-D, a sequence of vectors is ``(T, D)``.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from .jit import HAVE_NUMBA

__all__ = [
    "ConvergenceWarning",
    "as_array",
    "check_shape",
    "check_finite",
    "check_symmetric",
    "check_spd",
    "check_prob_vector",
    "check_stochastic_matrix",
    "check_emission_table",
    "check_prob_rows",
    "check_positive",
    "check_int",
    "check_rng",
    "check_choice",
    "check_backend",
]

#: Tolerance for "sums to one" and "is symmetric" checks (relative to the scale of the entries).
PROB_ATOL = 1e-8
SYM_RTOL = 1e-8

BACKENDS = ("numba", "numpy")


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped (at ``max_iter``, or unable to improve) before meeting its tolerance.

    Every module raises this one class, and its message reports the iteration count and the last
    change, so a reader knows how far the fit got.
    """


def fmt_shape(shape: Iterable[int]) -> str:
    shape = tuple(int(s) for s in shape)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def as_array(x, name: str, *, ndim: int | None = None, shape: Sequence[int | None] | None = None,
             dims: str | None = None, finite: bool = True) -> np.ndarray:
    """Return ``x`` as a C-contiguous float64 array after checking its shape and values.

    Parameters
    ----------
    x : array_like
        The user's input.
    name : str
        The symbol used in error messages (``"Sigma_x"``, ``"y"``).
    ndim : int, optional
        Required number of dimensions.
    shape : sequence of int or None, optional
        Required shape; ``None`` entries match any length. Implies ``ndim``.
    dims : str, optional
        The shape in symbols, e.g. ``"(K, K)"``, shown next to the numbers in messages.
    finite : bool
        Reject NaN and infinite entries (the default).
    """
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array; got {type(x).__name__} ({exc}).") from None
    if shape is not None:
        check_shape(arr, name, shape, dims=dims)
    elif ndim is not None and arr.ndim != ndim:
        what = {0: "a scalar", 1: "a 1-D array", 2: "a 2-D array", 3: "a 3-D array"}.get(ndim, f"{ndim}-D")
        raise ValueError(f"{name} must be {what}{' of shape ' + dims if dims else ''}; "
                         f"got an array of shape {fmt_shape(arr.shape)}.")
    if finite:
        check_finite(arr, name)
    # np.ascontiguousarray promotes a 0-d array to shape (1,): keep scalars 0-d
    return arr if arr.ndim == 0 else np.ascontiguousarray(arr)


def check_shape(arr: np.ndarray, name: str, shape: Sequence[int | None], *, dims: str | None = None) -> None:
    """Raise unless ``arr.shape`` matches ``shape`` (``None`` matches any length)."""
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        label = f"{dims} = {want}" if dims else want
        raise ValueError(f"{name} must have shape {label}; got {fmt_shape(arr.shape)}.")


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` has a NaN or an infinite entry, naming the first one."""
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {idx if len(idx) > 1 else idx[0]}" if arr.ndim else ""
        raise ValueError(f"{name} must be finite; got {arr[idx] if arr.ndim else arr}{where}.")


def check_symmetric(S: np.ndarray, name: str, *, rtol: float = SYM_RTOL) -> None:
    """Raise unless the square matrix ``S`` equals its transpose to ``rtol`` of its largest entry."""
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise ValueError(f"{name} must be a square matrix; got shape {fmt_shape(S.shape)}.")
    scale = max(float(np.max(np.abs(S))), 1e-300)
    asym = float(np.max(np.abs(S - S.T)))
    if asym > rtol * scale:
        i, j = (int(v) for v in np.unravel_index(np.argmax(np.abs(S - S.T)), S.shape))
        raise ValueError(f"{name} is not symmetric: entry ({i}, {j}) differs from ({j}, {i}) by {asym:.3g} "
                         f"(tolerance {rtol:.0e} x max |entry|).")


def check_spd(S: np.ndarray, name: str) -> np.ndarray:
    """Raise unless ``S`` is symmetric positive definite; return its lower Cholesky factor.

    Works on a single ``(D, D)`` matrix or a stack ``(..., D, D)``; for a stack the message names
    the first failing index.
    """
    if S.ndim < 2 or S.shape[-1] != S.shape[-2]:
        raise ValueError(f"{name} must be a square matrix; got shape {fmt_shape(S.shape)}.")
    if S.ndim > 2:
        factors = np.empty_like(S)
        for idx in np.ndindex(S.shape[:-2]):
            label = f"{name}[{', '.join(str(i) for i in idx)}]"
            factors[idx] = check_spd(S[idx], label)
        return factors
    check_symmetric(S, name)
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        lam = float(np.linalg.eigvalsh(0.5 * (S + S.T))[0])
        raise ValueError(f"{name} is not symmetric positive definite (Cholesky failed; smallest eigenvalue "
                         f"{lam:.3g}). Check the construction, or add jitter, e.g. {name} + 1e-6 * I.") from None


def check_prob_vector(p: np.ndarray, name: str, *, atol: float = PROB_ATOL) -> None:
    """Raise unless ``p`` is a 1-D array of non-negative entries summing to one."""
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D probability vector; got shape {fmt_shape(p.shape)}.")
    if (p < 0).any():
        k = int(np.argmax(p < 0))
        raise ValueError(f"{name} must be non-negative; entry {k} is {p[k]:.3g}.")
    total = float(p.sum())
    if abs(total - 1.0) > atol:
        raise ValueError(f"{name} must sum to 1; it sums to {total:.10g} (tolerance {atol:.0e}).")


def check_stochastic_matrix(A: np.ndarray, name: str, *, axis: int = 0, atol: float = PROB_ATOL) -> None:
    """Raise unless ``A`` is square, non-negative, and its columns (``axis=0``) or rows (``axis=1``) sum to one.

    The book's HMM transition matrix is column-stochastic, ``A[i, j] = p(x_t = i | x_{t-1} = j)``
    (Section 2.2.1), so ``axis=0`` is the default.
    """
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix; got shape {fmt_shape(A.shape)}.")
    if (A < 0).any():
        i, j = (int(v) for v in np.argwhere(A < 0)[0])
        raise ValueError(f"{name} must be non-negative; entry ({i}, {j}) is {A[i, j]:.3g}.")
    sums = A.sum(axis=axis)
    bad = np.abs(sums - 1.0) > atol
    if bad.any():
        k = int(np.argmax(bad))
        kind, what = ("column", "column-stochastic") if axis == 0 else ("row", "row-stochastic")
        raise ValueError(f"{name} must be {what}: {kind} {k} sums to {sums[k]:.10g} "
                         f"(expected 1 within {atol:.0e}).")


def check_emission_table(B: np.ndarray, name: str, *, atol: float = PROB_ATOL) -> None:
    """Raise unless ``B`` (shape ``(V, K)``, not necessarily square) is non-negative and column-stochastic.

    Columns index the source state, as for the book's transition matrix: ``B[v, k] = p(y = v | x = k)``.
    """
    if (B < 0).any():
        v, k = (int(i) for i in np.argwhere(B < 0)[0])
        raise ValueError(f"{name} must be non-negative; entry ({v}, {k}) is {B[v, k]:.3g}.")
    sums = B.sum(axis=0)
    bad = np.abs(sums - 1.0) > atol
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"{name} must be column-stochastic ({name}[v, k] = p(y = v | x = k)): column {k} sums to "
                         f"{sums[k]:.10g} (expected 1 within {atol:.0e}).")


def check_prob_rows(q: np.ndarray, name: str, *, atol: float = PROB_ATOL) -> None:
    """Raise unless every row of the 2-D array ``q`` is a probability vector (responsibilities, posteriors)."""
    if (q < 0).any():
        n, k = (int(v) for v in np.argwhere(q < 0)[0])
        raise ValueError(f"{name} must be non-negative; entry ({n}, {k}) is {q[n, k]:.3g}.")
    sums = q.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > atol):
        n = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(f"each row of {name} must sum to 1; row {n} sums to {sums[n]:.10g}.")


def check_positive(x, name: str, *, strict: bool = True) -> np.ndarray:
    """Raise unless every entry of ``x`` is finite and positive (or non-negative with ``strict=False``)."""
    arr = np.asarray(x, dtype=np.float64)
    check_finite(arr, name)
    bad = (arr <= 0) if strict else (arr < 0)
    if bad.any():
        word = "positive" if strict else "non-negative"
        if arr.ndim == 0:
            raise ValueError(f"{name} must be {word}; got {float(arr):.6g}.")
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be {word}; entry {idx if len(idx) > 1 else idx[0]} is {arr[idx]:.6g}.")
    return arr


def check_int(n, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``n`` as an int after checking that it is an integer in ``[minimum, maximum]``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {type(n).__name__} {n!r}.")
    n = int(n)
    if minimum is not None and n < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {n}.")
    if maximum is not None and n > maximum:
        raise ValueError(f"{name} must be at most {maximum}; got {n}.")
    return n


def check_rng(rng) -> np.random.Generator:
    """Require an explicit ``np.random.Generator`` (no global state, no bare seeds hidden in code)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator, e.g. np.random.default_rng(0); "
                        f"got {type(rng).__name__}.")
    return rng


def check_choice(value, name: str, choices: Sequence[str]) -> str:
    """Raise unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {{{', '.join(repr(c) for c in choices)}}}; got {value!r}.")
    return value


def check_backend(backend) -> str:
    """Raise unless ``backend`` names an implementation: ``'numba'`` (kernel) or ``'numpy'`` (readable twin).

    Without numba (:data:`pedagogy_lib.core.jit.HAVE_NUMBA` false) ``'numba'`` resolves to
    ``'numpy'``: the twin computes the same result, only more slowly.
    """
    backend = check_choice(backend, "backend", BACKENDS)
    return backend if HAVE_NUMBA else "numpy"
