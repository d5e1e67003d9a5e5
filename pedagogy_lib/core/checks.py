"""Input validation for every public function, in one place.

Public functions call these once, at the boundary, and pass clean, contiguous ``float64`` arrays
to the code that does the work. Every failure is a ``ValueError`` (``TypeError`` for a wrong
kind of object) whose message names the symbol as the book writes it in ASCII, what was
expected, and what was received, e.g.::

    Sigma_x must have shape (K, K) = (2, 2); got (2, 3).
    Sigma_x is not symmetric positive definite (Cholesky failed; smallest eigenvalue -0.5).
    Sigma_y_x is not symmetric positive definite: it is singular to working precision (...).

Nothing here reshapes silently: a vector is 1-D, a sequence of vectors is ``(T, D)``.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from .jit import HAVE_NUMBA, choose, prefer_compiled
from .kernels import EPS, SPD_ULPS, spd_screen

__all__ = [
    "ConvergenceWarning",
    "DivergenceError",
    "as_array",
    "as_scalar",
    "to_float_array",
    "check_shape",
    "check_finite",
    "check_symmetric",
    "check_spd",
    "spd_tolerance",
    "check_psd",
    "check_moments",
    "check_prob_vector",
    "check_stochastic_matrix",
    "check_emission_table",
    "check_prob_rows",
    "check_positive",
    "positive_scalar",
    "check_int",
    "check_buffer",
    "check_rng",
    "check_choice",
    "check_backend",
    "check_callable",
    "replaced_fields",
    "check_labels",
]

#: Tolerance for "sums to one" and "is symmetric" checks (relative to the scale of the entries).
PROB_ATOL = 1e-8
SYM_RTOL = 1e-8

BACKENDS = ("auto", "numba", "numpy")


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped (at ``max_iter``, or unable to improve) before meeting its tolerance.

    Every module raises this one class, and its message reports the iteration count and the last
    change, so a reader knows how far the fit got.
    """


class DivergenceError(FloatingPointError, ValueError):
    """A gradient fit left the finite numbers because its step size is too large for the data.

    It is a ``FloatingPointError`` (the arithmetic blew up) and a ``ValueError`` (the cure is another
    argument: a smaller learning rate, or data on a smaller scale); its message names both.
    """


def fmt_shape(shape: Iterable[int]) -> str:
    shape = tuple(int(s) for s in shape)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def to_float_array(x, name: str) -> np.ndarray:
    """Return ``x`` as a float64 array, refusing what is not real and numeric (no silent casts).

    Complex input is refused rather than cast to its real part, and strings, ``None`` and other
    non-numbers are refused with a message naming ``name`` (not NumPy's "could not convert string to
    float"). Booleans and integers are accepted and converted.
    """
    if isinstance(x, np.ndarray):
        raw = x
    else:
        try:
            raw = np.asarray(x)
        except ValueError:                      # NumPy refuses ragged nested sequences
            raise TypeError(f"{name} must be a numeric array; got a ragged nested {type(x).__name__} (rows of "
                            "different lengths).") from None
    kind = raw.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real; got complex input (dtype {raw.dtype}). Pass the real part "
                        f"explicitly, e.g. {name}.real, if that is what you mean.")
    if kind in "biuf":
        return raw.astype(np.float64, copy=False)
    what = _describe(x)
    if kind == "O":
        flat = raw.ravel()
        if any(isinstance(v, (complex, np.complexfloating)) for v in flat):
            raise TypeError(f"{name} must be real; got complex input ({what}).")
        if all(isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating)) for v in flat):
            return raw.astype(np.float64)
    raise TypeError(f"{name} must be a numeric array; got {what}.")


def _describe(x) -> str:
    """Type and a short repr of ``x`` for error messages."""
    text = repr(x)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(x).__name__} {text}"


def as_scalar(x, name: str, *, finite: bool = True) -> float:
    """Return ``x`` as a Python float after checking it is one real number (0-d, not a string or complex)."""
    return float(as_array(x, name, ndim=0, finite=finite))


def _already(x, ndim, shape, finite: bool, nonempty: bool) -> bool:
    """Whether :func:`as_array` would return ``x`` itself: a C-contiguous, writeable float64 array of the
    asked shape, finite if asked, non-empty if asked. Arrays a loop passes at every call (a training step's
    batch and parameters) are such, and then one test replaces the conversions and checks."""
    if not (type(x) is np.ndarray and x.dtype == np.float64 and x.flags.c_contiguous and x.flags.writeable):
        return False
    if shape is not None:
        if len(shape) != x.ndim:
            return False
        for n, wanted in zip(x.shape, shape):
            if wanted is not None and wanted != n:
                return False
    elif ndim is not None and x.ndim != ndim:
        return False
    if nonempty and x.ndim and 0 in x.shape:
        return False
    return not finite or bool(np.isfinite(x).all())


def as_array(x, name: str, *, ndim: int | None = None, shape: Sequence[int | None] | None = None,
             dims: str | None = None, finite: bool = True, nonempty: bool = False) -> np.ndarray:
    """Return ``x`` as a C-contiguous, writeable float64 array after checking its shape and values.

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
    nonempty : bool
        Reject a length of zero along any axis. Use it for the argument whose shape sets a
        dimension (``D = mu.shape[0]``) that later arguments are checked against, so an empty
        argument is blamed itself rather than its partner ("Sigma must have shape (0, 0)").
    """
    if _already(x, ndim, shape, finite, nonempty):
        return x                                  # what the steps below would return, after one test
    arr = to_float_array(x, name)
    if shape is not None:
        check_shape(arr, name, shape, dims=dims)
    elif ndim is not None and arr.ndim != ndim:
        what = {0: "a scalar", 1: "a 1-D array", 2: "a 2-D array", 3: "a 3-D array"}.get(ndim, f"{ndim}-D")
        raise ValueError(f"{name} must be {what}{' of shape ' + dims if dims else ''}; "
                         f"got an array of shape {fmt_shape(arr.shape)}.")
    if nonempty and arr.ndim and 0 in arr.shape:
        raise ValueError(f"{name} must not be empty{' (shape ' + dims + ')' if dims else ''}; "
                         f"got shape {fmt_shape(arr.shape)}.")
    if finite:
        check_finite(arr, name)
    # np.ascontiguousarray promotes a 0-d array to shape (1,): keep scalars 0-d. A read-only array is
    # copied: numba types it apart, so a kernel would compile once more for it (seconds, for nothing).
    arr = arr if arr.ndim == 0 else np.ascontiguousarray(arr)
    return arr if arr.flags.writeable else arr.copy()


def check_shape(arr: np.ndarray, name: str, shape: Sequence[int | None], *, dims: str | None = None) -> None:
    """Raise unless ``arr.shape`` matches ``shape`` (``None`` matches any length)."""
    arr = to_float_array(arr, name)
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        label = f"{dims} = {want}" if dims else want
        raise ValueError(f"{name} must have shape {label}; got {fmt_shape(arr.shape)}.")


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` has a NaN or an infinite entry, naming the first one (``TypeError`` if it is not numeric)."""
    arr = to_float_array(arr, name)
    if np.isfinite(arr).all():                    # the common case, in one pass
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {idx if len(idx) > 1 else idx[0]}" if arr.ndim else ""
        raise ValueError(f"{name} must be finite; got {arr[idx] if arr.ndim else arr}{where}.")


def check_symmetric(S: np.ndarray, name: str, *, rtol: float = SYM_RTOL) -> None:
    """Raise unless the square matrix ``S`` equals its transpose to ``rtol`` of its largest entry."""
    S = to_float_array(S, name)
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise ValueError(f"{name} must be a square matrix; got shape {fmt_shape(S.shape)}.")
    scale = max(float(np.max(np.abs(S))), 1e-300)
    asym = float(np.max(np.abs(S - S.T)))
    if asym > rtol * scale:
        i, j = (int(v) for v in np.unravel_index(np.argmax(np.abs(S - S.T)), S.shape))
        raise ValueError(f"{name} is not symmetric: entry ({i}, {j}) differs from ({j}, {i}) by {asym:.3g} "
                         f"(tolerance {rtol:.0e} x max |entry|).")


def check_spd(S: np.ndarray, name: str) -> np.ndarray:
    """Raise unless ``S`` is symmetric positive definite to working precision; return its lower Cholesky factor.

    A Cholesky factorization alone is not enough: on a singular matrix (a zero eigenvalue) rounding
    often leaves a tiny positive pivot, the factorization "succeeds", and every later log density or
    solve is dominated by that noise (log densities near -1e14). So after the factorization the
    matrix is scaled to unit diagonal, ``C = D^{-1/2} S D^{-1/2}`` with ``D = diag(S)``, and ``S`` is
    called singular when the smallest eigenvalue of ``C`` is at most ``SPD_ULPS * n * eps`` (``n``
    the dimension, ``eps`` the machine epsilon). Rounding a singular matrix leaves eigenvalues of
    ``C`` of a few ``n * eps`` at most, so the margin is wide; the scaling makes the test blind to
    units (``diag(1, 1e-20)`` is a fine covariance), and a positive definite ``S`` passes as long as
    the condition number of ``C`` is below about ``1 / (SPD_ULPS * n * eps)`` (``4.5e13 / n``).

    Works on a single ``(n, n)`` matrix or a stack ``(..., n, n)``; for a stack the message names
    the first failing index. ``S`` may be any real array-like; NaN or infinite entries are refused
    (``ValueError``) and non-numeric input is a ``TypeError``, both naming ``name``.
    """
    S = to_float_array(S, name)
    if S.ndim < 2 or S.shape[-1] != S.shape[-2]:
        raise ValueError(f"{name} must be a square matrix; got shape {fmt_shape(S.shape)}.")
    check_finite(S, name)
    if S.ndim > 2:
        try:                                      # the whole stack at once when every matrix passes
            if S.size and not _is_symmetric(S):
                raise np.linalg.LinAlgError
            factors = np.linalg.cholesky(S)
            if S.size and np.any(_scaled_min_eig(S, factors) <= spd_tolerance(S.shape[-1])):
                raise np.linalg.LinAlgError
            return factors
        except np.linalg.LinAlgError:
            pass
        factors = np.empty_like(S)
        for idx in np.ndindex(S.shape[:-2]):
            label = f"{name}[{', '.join(str(i) for i in idx)}]"
            factors[idx] = check_spd(S[idx], label)
        return factors
    n = S.shape[0]
    # Small matrices: the whole test (symmetry, Cholesky, the bounds of _scaled_min_eig) in one
    # compiled call, which removes most of a small model's validation time. Only a clear pass is
    # taken from it; anything else goes through the path below, which decides and explains.
    L = spd_factor_if_clear(S)
    if L is not None:
        return L
    check_symmetric(S, name)
    hint = f"Check the construction, or add jitter, e.g. {name} + 1e-6 * I."
    try:
        L = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        lam = np.linalg.eigvalsh(0.5 * (S + S.T))
        scale = max(float(np.max(np.abs(np.diag(S)))), float(np.abs(lam).max()), 1e-300)
        singular = abs(float(lam[0])) <= spd_tolerance(n) * scale
        why = " It is singular (a zero eigenvalue to working precision)." if singular else ""
        raise ValueError(f"{name} is not symmetric positive definite (Cholesky failed; smallest eigenvalue "
                         f"{float(lam[0]):.3g}).{why} {hint}") from None
    if n:
        lam_min = float(_scaled_min_eig(S, L))
        tol = spd_tolerance(n)
        if lam_min <= tol:
            raise ValueError(f"{name} is not symmetric positive definite: it is singular to working precision "
                             f"(scaled to unit diagonal, its smallest eigenvalue is {lam_min:.3g}, at most "
                             f"{tol:.2g} = {SPD_ULPS} x n x machine epsilon with n = {n}). The Cholesky factor "
                             f"exists only through rounding. {hint}")
    return L




def spd_factor_if_clear(S: np.ndarray) -> np.ndarray | None:
    """The lower Cholesky factor of ``S`` when the compiled screen clearly passes it, else ``None``.

    The fast lane of :func:`check_spd` for callers that validate many small matrices at every call
    (a model's covariances under a slider): ``S`` must already be a finite float64 ``(n, n)`` array,
    which the caller has checked. ``None`` says nothing about ``S`` (it may be fine, or numba may be
    absent, or ``n`` too large for the screen): the caller then runs :func:`check_spd`, which decides
    and explains.
    """
    n = S.shape[0]
    if HAVE_NUMBA and 0 < n <= SPD_SCREEN_MAX_N:
        ok, L = spd_screen(S, SYM_RTOL, SPD_ULPS * n * EPS)
        if ok:
            return L
    return None


def spd_tolerance(n: int) -> float:
    """Smallest eigenvalue of a unit-diagonal ``(n, n)`` matrix at or below which :func:`check_spd` calls it singular."""
    n = check_int(n, "n", minimum=0)
    return SPD_ULPS * max(int(n), 1) * EPS


def scaled_min_eig(S: np.ndarray) -> np.ndarray:
    """Smallest eigenvalue of ``S`` (a float array ``(..., n, n)``, symmetric) scaled to unit diagonal, per
    matrix of the stack; ``-inf`` where the scaling fails (a diagonal entry not positive, or an entry not
    finite). :func:`check_spd` calls a matrix singular to working precision when this is at most
    :func:`spd_tolerance`; callers that must judge a stack of matrices without raising at the first (the
    sparse-coding Laplace step and E step, on a precision and its computed inverse) apply the rule with it.
    Not in ``__all__``: a helper of the library's families."""
    S = np.asarray(S, dtype=float)
    dg = np.diagonal(S, axis1=-2, axis2=-1)
    out = np.full(S.shape[:-2], -np.inf)
    with np.errstate(all="ignore"):
        r = 1.0 / np.sqrt(dg)
        Z = S * r[..., :, None] * r[..., None, :]
        ok = np.all(dg > 0, axis=-1) & np.all(np.isfinite(Z), axis=(-2, -1))
    if np.any(ok):
        out[ok] = np.linalg.eigvalsh(Z[ok])[..., 0]
    return out


def _is_symmetric(S: np.ndarray, rtol: float = SYM_RTOL) -> bool:
    scale = np.maximum(np.max(np.abs(S), axis=(-2, -1)), 1e-300)
    return bool(np.all(np.max(np.abs(S - np.swapaxes(S, -1, -2)), axis=(-2, -1)) <= rtol * scale))


def _scaled_min_eig(S: np.ndarray, L: np.ndarray) -> np.ndarray:
    """Smallest eigenvalue of ``S`` scaled to unit diagonal (the diagonal is positive once ``L`` exists),
    or a lower bound on it that already clears :func:`spd_tolerance`.

    The bound is Gershgorin's, ``1 - max_i sum_{j != i} |C_ij|`` for the unit-diagonal ``C``: it costs
    one pass over the matrix and settles the common covariances (diagonal, or diagonally dominant
    after scaling) without an eigenvalue decomposition; only when it is inconclusive is the
    smallest eigenvalue computed.
    """
    d = 1.0 / np.sqrt(np.diagonal(S, axis1=-2, axis2=-1))
    C = S * d[..., :, None] * d[..., None, :]
    off = np.sum(np.abs(C), axis=-1) - np.abs(np.diagonal(C, axis1=-2, axis2=-1))
    bound = 1.0 - np.max(off, axis=-1)
    tol = spd_tolerance(S.shape[-1])
    if np.all(bound > tol):
        return bound
    bound = np.maximum(bound, _frobenius_bound(S, L))
    if np.all(bound > tol):
        return bound
    return np.linalg.eigvalsh(0.5 * (C + np.swapaxes(C, -1, -2)))[..., 0]


def _frobenius_bound(S: np.ndarray, L: np.ndarray) -> np.ndarray:
    """A lower bound on the smallest eigenvalue of ``S`` scaled to unit diagonal, from its Cholesky factor.

    With ``S = L L^T`` and ``D = diag(S)``, the scaled matrix ``C = D^{-1/2} S D^{-1/2}`` has the
    factor ``D^{-1/2} L``, so ``lambda_min(C) = 1 / ||L^{-1} D^{1/2}||_2^2 >= 1 / ||L^{-1} D^{1/2}||_F^2``
    (the Frobenius norm bounds the spectral one, and is at most ``sqrt(n)`` times larger). One
    triangular inverse, about a fifth of the cost of the eigenvalues, settles every matrix whose
    smallest scaled eigenvalue is above ``n`` times the tolerance.
    """
    eye = np.broadcast_to(np.eye(L.shape[-1]), L.shape)
    with np.errstate(all="ignore"):
        L_inv = np.linalg.solve(L, eye) if L.ndim > 2 else _triangular_inverse(L)
        # scale each column by sqrt(S_jj) before squaring, so the terms stay of order one in any units
        frob = np.sum((L_inv * np.sqrt(np.diagonal(S, axis1=-2, axis2=-1))[..., None, :])**2, axis=(-2, -1))
    return np.where(np.isfinite(frob) & (frob > 0), 1.0 / frob, 0.0)


def _triangular_inverse(L: np.ndarray) -> np.ndarray:
    from scipy.linalg import lapack

    inv, info = lapack.dtrtri(L, lower=1)
    return inv if info == 0 else np.full_like(L, np.nan)


#: Largest dimension for which :func:`check_spd` first tries the compiled screen.
SPD_SCREEN_MAX_N = 16


def spd_screen_numpy(S: np.ndarray, sym_rtol: float, tol: float) -> tuple[bool, np.ndarray]:
    """The readable twin of :func:`pedagogy_lib.core.kernels.spd_screen`: the same decision from NumPy's pieces."""
    if not _is_symmetric(S, sym_rtol):
        return False, np.zeros_like(S)
    try:
        L = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        return False, np.zeros_like(S)
    return bool(_scaled_min_eig_bounds(S, L) > tol), L


def _scaled_min_eig_bounds(S: np.ndarray, L: np.ndarray) -> float:
    """The larger of the Gershgorin and Frobenius lower bounds of :func:`_scaled_min_eig` (one matrix)."""
    d = 1.0 / np.sqrt(np.diag(S))
    C = S * d[:, None] * d[None, :]               # one factor at a time: np.outer(d, d) can overflow
    gershgorin = 1.0 - np.max(np.sum(np.abs(C), axis=1) - np.abs(np.diag(C)))
    return max(float(gershgorin), float(_frobenius_bound(S, L)))


#: Relative tolerance (times the dimension and the largest diagonal entry) for positive *semi*definiteness.
PSD_RTOL = 1e-9


def check_psd(S: np.ndarray, name: str, *, rtol: float = PSD_RTOL) -> None:
    """Raise unless ``S`` (``(n, n)`` or a stack ``(..., n, n)``) is symmetric positive semidefinite.

    For sums of outer products (sufficient statistics such as ``sum_n r_nk d d^T``), which may be
    singular but never have a negative eigenvalue beyond rounding: the smallest eigenvalue may go
    down to ``-rtol * n * max_i S_ii``. A stack is decided in one pass (one ``eigvalsh`` call for all
    matrices); the message names the first failing index.
    """
    S = to_float_array(S, name)
    if S.ndim < 2 or S.shape[-1] != S.shape[-2]:
        raise ValueError(f"{name} must be a square matrix; got shape {fmt_shape(S.shape)}.")
    check_finite(S, name)
    if S.size == 0:
        return
    n = S.shape[-1]
    scale = np.maximum(np.max(np.abs(S), axis=(-2, -1)), 1e-300)
    asym = np.max(np.abs(S - np.swapaxes(S, -1, -2)), axis=(-2, -1))
    d = np.diagonal(S, axis1=-2, axis2=-1)
    lam = np.linalg.eigvalsh(0.5 * (S + np.swapaxes(S, -1, -2)))[..., 0]
    bad = (asym > SYM_RTOL * scale) | (d < 0).any(axis=-1) | (lam < -rtol * n * d.max(axis=-1))
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if S.ndim > 2 else ()
        label = f"{name}[{', '.join(str(i) for i in idx)}]" if idx else name
        _raise_not_psd(S[idx], label, rtol)


def _raise_not_psd(S: np.ndarray, name: str, rtol: float) -> None:
    """Explain why the ``(n, n)`` matrix ``S``, found not positive semidefinite by :func:`check_psd`, fails."""
    check_symmetric(S, name)
    d = np.diag(S)
    if (d < 0).any():
        k = int(np.argmax(d < 0))
        raise ValueError(f"{name} must be symmetric positive semidefinite (a sum of squares); diagonal entry {k} "
                         f"is {d[k]:.3g}.")
    lam = float(np.linalg.eigvalsh(0.5 * (S + S.T))[0])
    tol = rtol * S.shape[0] * float(d.max())
    raise ValueError(f"{name} must be symmetric positive semidefinite (a sum of outer products); its smallest "
                     f"eigenvalue is {lam:.3g} (tolerance -{tol:.2g}).")


def check_moments(count, first, second, names: tuple[str, str, str], *, rtol: float = PSD_RTOL) -> None:
    """Raise unless weighted moments ``(N, sum w d, sum w d d^T)`` could come from non-negative weights.

    ``count`` has shape ``(...)``, ``first`` ``(..., n)`` and ``second`` ``(..., n, n)``; for every
    index the matrix ``[[second, first], [first^T, count]] = sum_i w_i [d_i; 1][d_i; 1]^T`` must be
    positive semidefinite. That rules out a negative count, a negative sum of squares, and a
    scatter about the mean, ``second - first first^T / count``, that is not positive semidefinite.
    ``names`` are the three symbols, used in messages. All indices are decided at once (one
    ``eigvalsh`` call on the stack); the message names the first failing one.
    """
    count, first, second = (to_float_array(a, nm) for a, nm in zip((count, first, second), names))
    if first.ndim < 1 or first.shape[:-1] != count.shape:
        want = "(" + "".join(f"{k}, " for k in count.shape) + "n)"
        raise ValueError(f"{names[1]} must have shape {want} (the shape of {names[0]} plus one axis); got "
                         f"{fmt_shape(first.shape)}.")
    if second.shape != first.shape + first.shape[-1:]:
        raise ValueError(f"{names[2]} must have shape {fmt_shape(first.shape + first.shape[-1:])} (one n x n matrix "
                         f"per entry of {names[0]}); got {fmt_shape(second.shape)}.")
    for a, nm in zip((first, second), names[1:]):
        check_finite(a, nm)
    check_positive(count, names[0], strict=False)
    check_psd(second, names[2], rtol=rtol)
    if count.size == 0:
        return
    n = first.shape[-1]
    M = np.zeros(count.shape + (n + 1, n + 1))
    M[..., :n, :n] = second
    M[..., :n, n] = first
    M[..., n, :n] = first
    M[..., n, n] = count
    lam = np.linalg.eigvalsh(M)[..., 0]
    tol = rtol * (n + 1) * np.diagonal(M, axis1=-2, axis2=-1).max(axis=-1)
    bad = lam < -tol
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if count.ndim else ()
        where = f"[{', '.join(str(i) for i in idx)}]" if idx else ""
        raise ValueError(f"{names[1]}{where} is inconsistent with {names[0]}{where} and {names[2]}{where}: the "
                         f"implied scatter about the mean is not positive semidefinite (smallest eigenvalue "
                         f"{float(lam[idx]):.3g} of [[{names[2]}, {names[1]}], [{names[1]}^T, {names[0]}]], "
                         f"tolerance -{float(tol[idx]):.2g}). Statistics must be sums of weighted outer products.")


def check_prob_vector(p: np.ndarray, name: str, *, atol: float = PROB_ATOL) -> None:
    """Raise unless ``p`` is a 1-D array of non-negative entries summing to one."""
    p = to_float_array(p, name)
    # the common case in two passes: non-negative entries (a NaN fails) with a finite sum are all finite
    if p.ndim == 1 and p.size and p.min() >= 0.0 and abs(float(p.sum()) - 1.0) <= atol:
        return
    check_finite(p, name)
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
    A = to_float_array(A, name)
    # the common case in two passes: non-negative entries (a NaN fails) with finite sums are all finite
    if A.ndim == 2 and A.shape[0] == A.shape[1] and A.size and A.min() >= 0.0 \
            and np.abs(A.sum(axis=axis) - 1.0).max() <= atol:
        return
    check_finite(A, name)
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
    B = to_float_array(B, name)
    check_finite(B, name)
    if B.ndim != 2 or 0 in B.shape:
        raise ValueError(f"{name} must be a non-empty 2-D table of shape (V, K); got shape {fmt_shape(B.shape)}.")
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
    q = to_float_array(q, name)
    check_finite(q, name)
    if q.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array with one probability vector per row; got shape "
                         f"{fmt_shape(q.shape)}.")
    if (q < 0).any():
        n, k = (int(v) for v in np.argwhere(q < 0)[0])
        raise ValueError(f"{name} must be non-negative; entry ({n}, {k}) is {q[n, k]:.3g}.")
    sums = q.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > atol):
        n = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(f"each row of {name} must sum to 1; row {n} sums to {sums[n]:.10g}.")


def check_positive(x, name: str, *, strict: bool = True) -> np.ndarray:
    """Raise unless every entry of ``x`` is finite and positive (or non-negative with ``strict=False``)."""
    arr = to_float_array(x, name)
    check_finite(arr, name)
    bad = (arr <= 0) if strict else (arr < 0)
    if bad.any():
        word = "positive" if strict else "non-negative"
        if arr.ndim == 0:
            raise ValueError(f"{name} must be {word}; got {float(arr):.6g}.")
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be {word}; entry {idx if len(idx) > 1 else idx[0]} is {arr[idx]:.6g}.")
    return arr


def positive_scalar(x, name: str, *, strict: bool = True) -> float:
    """Return ``x`` as a float after checking it is one finite, positive (non-negative if not ``strict``) number."""
    if isinstance(x, float) and math.isfinite(x) and (x > 0.0 if strict else x >= 0.0):
        return float(x)                           # a float that passes needs no array (np.float64 is a float)
    return float(check_positive(as_array(x, name, ndim=0), name, strict=strict))


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


def check_buffer(arr, name: str, shape: Sequence[int], *, dims: str | None = None,
                 finite: bool = True) -> np.ndarray:
    """Check an array that a kernel writes into: a writeable C-contiguous float64 ndarray of ``shape``.

    Unlike :func:`as_array` nothing is converted or copied (a copy would not receive the kernel's
    output), so a list, another dtype or a read-only view is refused.

    Parameters
    ----------
    arr : numpy.ndarray
        The caller's buffer.
    name : str
        The symbol used in error messages.
    shape : sequence of int
        Required shape.
    dims : str, optional
        The shape in symbols, shown next to the numbers in messages.
    finite : bool
        Also require finite entries (buffers whose values the kernel reads).

    Returns
    -------
    numpy.ndarray
        ``arr`` itself.

    Raises
    ------
    TypeError
        If ``arr`` is not a float64 ndarray.
    ValueError
        If it has another shape, is not C-contiguous or writeable, or (``finite``) holds NaN or inf.
    """
    if not isinstance(arr, np.ndarray) or arr.dtype != np.float64:
        got = f"ndarray of dtype {arr.dtype}" if isinstance(arr, np.ndarray) else type(arr).__name__
        raise TypeError(f"{name} must be a float64 numpy array (it receives output in place); got {got}.")
    shape = tuple(int(n) for n in shape)
    if arr.shape != shape:
        what = f" {dims}" if dims else ""
        raise ValueError(f"{name} must have shape{what} = {fmt_shape(shape)}; got {fmt_shape(arr.shape)}.")
    if not arr.flags.c_contiguous or not arr.flags.writeable:
        raise ValueError(f"{name} must be a writeable C-contiguous array (it receives output in place).")
    if finite:
        check_finite(arr, name)
    return arr


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


def check_backend(backend, kernel=None, twin_seconds: float | None = None, **sizes) -> str:
    """Raise unless ``backend`` names an implementation; return ``'numba'`` (kernel) or ``'numpy'`` (readable twin).

    ``'auto'`` follows the registry's rule (:func:`pedagogy_lib.core.jit.choose`): the caller names the
    ``kernel`` its compiled path calls first and the ``sizes`` its registered estimate takes, e.g.
    ``check_backend(backend, kernels.forward, T=T, K=K)``. A family not yet in the registry may pass its own
    ``twin_seconds`` instead (:func:`pedagogy_lib.core.jit.prefer_compiled`); without a ``kernel``,
    ``'auto'`` is ``'numba'``. Without numba (:data:`pedagogy_lib.core.jit.HAVE_NUMBA` false) every choice
    resolves to ``'numpy'``: the twin computes the same result, only more slowly. Call it once per call of a
    public function and pass the answer down, so that the estimate is counted once.
    """
    backend = check_choice(backend, "backend", BACKENDS)
    if not HAVE_NUMBA:
        return "numpy"
    if backend == "auto" and kernel is not None:
        if twin_seconds is None:
            return choose(kernel, **sizes)
        return "numba" if prefer_compiled(kernel, twin_seconds) else "numpy"
    return "numba" if backend == "auto" else backend


def replaced_fields(container, changes: dict) -> dict:
    """The fields of the named tuple ``container`` with ``changes`` applied, for the ``_replace`` of a container
    that is validated when built (it builds the new one through its checks); a name that is no field raises
    ``ValueError`` naming the container's fields."""
    unknown = set(changes) - set(container._fields)
    if unknown:
        raise ValueError(f"{type(container).__name__} has no field(s) {sorted(unknown)}; its fields are "
                         f"{container._fields}.")
    return {**container._asdict(), **changes}


def check_callable(fn, name: str, signature: str):
    """Return ``fn`` if it is callable; otherwise raise a ``TypeError`` naming ``name`` and the
    ``signature`` expected, e.g. ``check_callable(h, "h", "h(x) of an array of states")``."""
    if not callable(fn):
        raise TypeError(f"{name} must be a function {signature}; got {type(fn).__name__}.")
    return fn


def check_labels(labels, N: int, K: int, name: str = "labels") -> np.ndarray:
    """Validate partial labels: ``None`` (no point labelled) or ``N`` integers, each ``-1`` (unlabelled)
    or a class in ``0..K-1``; return them as an ``int`` array of length ``N``."""
    if labels is None:
        return np.full(N, -1, dtype=int)
    arr = np.asarray(labels)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be integers (-1 for an unlabelled point, else a class 0..K-1); "
                         f"got dtype {arr.dtype}.")
    if arr.shape != (N,):
        raise ValueError(f"{name} must have shape (N,) = ({N},), one entry per point; got {arr.shape}.")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold whole numbers (-1 or a class 0..K-1); got non-integer values.")
    arr = arr.astype(int)
    bad = (arr < -1) | (arr >= K)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be -1 (unlabelled) or a class 0..K-1 = 0..{K - 1}; got {arr[i]} at "
                         f"position {i}.")
    return arr
