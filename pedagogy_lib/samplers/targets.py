r"""Target densities for the samplers: the banana, a Gaussian given by its precision, or any Python function.

A target is an unnormalized log density :math:`\log\tilde p(\mathbf x)` together with its gradient,
which the book calls the *force* (Section 8.3, after Eq. 8.44: the negative gradient of the energy,
:math:`\mathbf f(\mathbf x) = \partial\log\tilde p/\partial\mathbf x^T = -\partial E/\partial\mathbf x^T`).
The normalizer never enters a Metropolis-Hastings ratio, so it is left out everywhere.

Every function here works on a batch of chains: ``x`` has shape ``(C, D)`` (``C`` chains in
``D`` dimensions) and the answers have shapes ``(C,)`` and ``(C, D)``.

* :class:`Banana`: :math:`x_1\sim\mathcal N(0, s^2)`, :math:`x_2\mid x_1\sim\mathcal N(b(x_1^2-s^2), 1)`,
  a twisted Gaussian whose curved ridge defeats samplers that propose isotropically.
* :class:`GaussianTarget`: :math:`\mathcal N(\boldsymbol\mu, \boldsymbol\Lambda^{-1})` from its
  precision :math:`\boldsymbol\Lambda`, the book's correlated-Gaussian example.
* :class:`PythonTarget`: any function returning ``(log_p, force)``; samplers run their NumPy twins on it.

The two built-in targets have a numba kernel (:func:`log_density_and_force` with
``backend="numba"``) and a readable NumPy twin; the samplers' fused kernels inline the same
per-chain function.
"""
from __future__ import annotations

import hashlib
from typing import Callable, NamedTuple

import numpy as np

from ..core.checks import (as_array, as_scalar, check_backend, check_int, check_spd, fmt_shape, positive_scalar,
                           to_float_array)
from ..core.jit import njit, njit_inline

__all__ = [
    "Banana",
    "GaussianTarget",
    "PythonTarget",
    "banana",
    "gaussian_target",
    "ar1_gaussian",
    "python_target",
    "log_density_and_force",
    "check_target",
    "target_arrays",
    "warmup_kernels",
]

#: Kernel codes of the built-in targets.
KIND_BANANA, KIND_GAUSSIAN = 0, 1


class Banana(NamedTuple):
    r"""The twisted Gaussian :math:`x_1\sim\mathcal N(0,s^2)`, :math:`x_2\mid x_1\sim\mathcal N(b(x_1^2-s^2),1)`.

    :math:`\log\tilde p(\mathbf x) = -\tfrac{x_1^2}{2s^2} - \tfrac12\big(x_2 - b(x_1^2 - s^2)\big)^2`.
    Its exact moments: :math:`\mathbb E[x_1]=\mathbb E[x_2]=0`, :math:`\mathrm{Var}(x_1)=s^2`,
    :math:`\mathrm{Var}(x_2)=1+2b^2s^4`.

    Attributes
    ----------
    b : float
        Curvature :math:`b` (0 gives an axis-aligned Gaussian).
    s : float
        Standard deviation :math:`s` of :math:`x_1`.
    """

    b: float
    s: float


class GaussianTarget(NamedTuple):
    r"""The Gaussian :math:`\mathcal N(\boldsymbol\mu, \boldsymbol\Lambda^{-1})`, given by its precision.

    :math:`\log\tilde p(\mathbf x) = -\tfrac12(\mathbf x-\boldsymbol\mu)^T\boldsymbol\Lambda(\mathbf x-\boldsymbol\mu)`.

    Attributes
    ----------
    mu : ndarray, shape (D,)
    Lambda : ndarray, shape (D, D)
        Symmetric positive definite precision :math:`\boldsymbol\Lambda`.
    """

    mu: np.ndarray
    Lambda: np.ndarray


class PythonTarget(NamedTuple):
    """Any target given as a Python function.

    Attributes
    ----------
    log_density_and_force : callable
        ``f(x) -> (log_p, force)`` for ``x`` of shape ``(C, D)``, returning arrays of shapes
        ``(C,)`` and ``(C, D)``. Samplers run their NumPy twins on it (no kernel can call Python).
    D : int
        The dimension the function expects.
    """

    log_density_and_force: Callable
    D: int


def banana(b: float = 1.0, s: float = 1.0) -> Banana:
    """A validated :class:`Banana` (``s`` must be positive; ``b`` any real number)."""
    return Banana(as_scalar(b, "b"), positive_scalar(s, "s"))


def gaussian_target(mu, Lambda) -> GaussianTarget:
    """A validated :class:`GaussianTarget` (``Lambda`` symmetric positive definite, shape ``(D, D)``)."""
    mu = as_array(mu, "mu", ndim=1, dims="(D,)")
    D = mu.shape[0]
    Lambda = as_array(Lambda, "Lambda", shape=(D, D), dims="(D, D)")
    check_spd(Lambda, "Lambda")
    return GaussianTarget(mu, Lambda)


def ar1_gaussian(D: int, rho: float) -> GaussianTarget:
    r"""The zero-mean Gaussian with covariance :math:`\Sigma_{ij} = \rho^{|i-j|}` (unit variances).

    Its precision is tridiagonal, :math:`\boldsymbol\Lambda = (1-\rho^2)^{-1}\,\mathrm{tridiag}(-\rho,
    1+\rho^2, -\rho)` with corners :math:`1/(1-\rho^2)`: the correlated Gaussian used by the
    benchmarks (``D = 50``) and, with ``D = 2``, the two-variable example of the notebooks.
    """
    D = check_int(D, "D", minimum=1)
    rho = as_scalar(rho, "rho")
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must be in (-1, 1); got {rho:.6g}.")
    Lambda = np.zeros((D, D))
    idx = np.arange(D)
    Lambda[idx, idx] = 1.0 + rho * rho
    Lambda[0, 0] = Lambda[-1, -1] = 1.0
    Lambda[idx[:-1], idx[1:]] = Lambda[idx[1:], idx[:-1]] = -rho
    return GaussianTarget(np.zeros(D), Lambda / (1.0 - rho * rho))


def python_target(log_density_and_force: Callable, D: int) -> PythonTarget:
    """Wrap ``f(x) -> (log_p, force)`` as a :class:`PythonTarget` of dimension ``D``."""
    if not callable(log_density_and_force):
        raise TypeError("log_density_and_force must be callable f(x) -> (log_p, force); got "
                        f"{type(log_density_and_force).__name__}.")
    return PythonTarget(log_density_and_force, check_int(D, "D", minimum=1))


def check_target(target, name: str = "target"):
    """Return the target's dimension ``D`` after checking its type and every field.

    A target built by hand or edited with ``_replace`` is held to the same rules as one made by
    :func:`banana`, :func:`gaussian_target` or :func:`python_target`: no kernel ever sees a field
    it could read out of bounds.

    Parameters
    ----------
    target : Banana, GaussianTarget or PythonTarget
    name : str
        How the target is called in messages.

    Returns
    -------
    int
        The dimension ``D``.

    Raises
    ------
    TypeError
        If ``target`` is none of the three types, or a field has the wrong kind (complex, a
        string, a non-callable function, a non-integer ``D``).
    ValueError
        If a field has the wrong shape or is not finite: ``b`` and ``s`` must be finite numbers with
        ``s > 0``; ``mu`` a non-empty vector ``(D,)`` and ``Lambda`` a symmetric positive definite
        ``(D, D)`` matrix; ``D`` at least 1.
    """
    if isinstance(target, Banana):
        as_scalar(target.b, f"{name}.b")
        positive_scalar(target.s, f"{name}.s")
        return 2
    if isinstance(target, GaussianTarget):
        mu = as_array(target.mu, f"{name}.mu", ndim=1, dims="(D,)", nonempty=True)
        D = mu.shape[0]
        Lambda = as_array(target.Lambda, f"{name}.Lambda", shape=(D, D), dims="(D, D)")
        _check_precision(Lambda, f"{name}.Lambda")
        return D
    if isinstance(target, PythonTarget):
        if not callable(target.log_density_and_force):
            raise TypeError(f"{name}.log_density_and_force must be callable f(x) -> (log_p, force); got "
                            f"{type(target.log_density_and_force).__name__}.")
        return check_int(target.D, f"{name}.D", minimum=1)
    raise TypeError(f"{name} must be a Banana, GaussianTarget or PythonTarget (build one with banana(), "
                    f"gaussian_target() or python_target()); got {type(target).__name__}.")


#: Digests of precisions already found symmetric positive definite (the test costs O(D^3); a
#: sampler checks its target at every call, often with the same matrix).
_SPD_SEEN: dict = {}
_SPD_SEEN_MAX = 16


def _check_precision(Lambda, name):
    """:func:`check_spd` on a finite ``(D, D)`` float64 array, remembered by content for repeated calls."""
    key = (Lambda.shape, hashlib.blake2b(Lambda.tobytes(), digest_size=16).digest())
    if key in _SPD_SEEN:
        return
    check_spd(Lambda, name)
    if len(_SPD_SEEN) >= _SPD_SEEN_MAX:
        _SPD_SEEN.pop(next(iter(_SPD_SEEN)))
    _SPD_SEEN[key] = True


def target_arrays(target):
    """``(kind, mu, Lambda, theta, indptr, indices, values)``: what a fused kernel receives for a built-in target.

    ``kind`` is 0 for the banana (``theta = [b, s]``) and 1 for the Gaussian. The Gaussian's
    precision also comes in compressed sparse rows (``indptr``, ``indices``, ``values``: the
    nonzero entries of row ``i`` are ``values[indptr[i]:indptr[i + 1]]``), so a banded precision
    such as :func:`ar1_gaussian`'s costs :math:`O(D)` per evaluation instead of :math:`O(D^2)`.
    Unused arrays are small placeholders.

    Raises
    ------
    TypeError, ValueError
        If ``target`` is malformed (see :func:`check_target`) or a :class:`PythonTarget` (which has
        no arrays).
    """
    check_target(target)
    if isinstance(target, PythonTarget):
        raise TypeError("target must be a Banana or a GaussianTarget to have kernel arrays; got a PythonTarget.")
    return _arrays(target)


def arrays_of_checked_target(target):
    """:func:`target_arrays` without validation, for callers that have already run :func:`check_target`
    on a :class:`Banana` or :class:`GaussianTarget` (a sampler validates once, then hands these to its kernel)."""
    return _arrays(target)


def _arrays(target):
    if isinstance(target, Banana):
        return (KIND_BANANA, np.zeros(2), np.zeros((2, 2)), np.array([target.b, target.s]),
                np.zeros(3, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    Lam = np.ascontiguousarray(target.Lambda, dtype=np.float64)
    rows, cols = np.nonzero(Lam)
    indptr = np.searchsorted(rows, np.arange(Lam.shape[0] + 1)).astype(np.int64)
    return (KIND_GAUSSIAN, np.ascontiguousarray(target.mu, dtype=np.float64), Lam, np.zeros(2),
            indptr, cols.astype(np.int64), np.ascontiguousarray(Lam[rows, cols]))


# ----------------------------------------------------------------------------------------------
# NumPy twins (vectorized over chains)
# ----------------------------------------------------------------------------------------------

def _banana_numpy(x, b, s):
    """log p~ and force of the banana for rows of ``x``."""
    x1, x2 = x[:, 0], x[:, 1]
    r = x2 - b * (x1 * x1 - s * s)                        # residual of x2 about the ridge
    logp = -0.5 * x1 * x1 / (s * s) - 0.5 * r * r
    force = np.empty_like(x)
    force[:, 0] = -x1 / (s * s) + 2.0 * b * x1 * r        # d log p~ / d x1
    force[:, 1] = -r                                      # d log p~ / d x2
    return logp, force


def _gaussian_numpy(x, mu, Lambda):
    """log p~ and force of N(mu, Lambda^{-1}) for rows of ``x``."""
    d = x - mu
    force = -d @ Lambda                                   # -Lambda (x - mu), Lambda symmetric
    logp = 0.5 * np.sum(d * force, axis=1)
    return logp, force


def numpy_log_density_and_force(target, x):
    """NumPy twin for every target type, on validated ``x`` of shape ``(C, D)``."""
    if isinstance(target, Banana):
        return _banana_numpy(x, target.b, target.s)
    if isinstance(target, GaussianTarget):
        return _gaussian_numpy(x, target.mu, target.Lambda)
    out = target.log_density_and_force(x)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError("target.log_density_and_force must return a pair (log_p, force); got "
                        f"{type(out).__name__}.")
    logp = to_float_array(out[0], "log_p returned by target.log_density_and_force")
    force = to_float_array(out[1], "force returned by target.log_density_and_force")
    if logp.shape != x.shape[:1] or force.shape != x.shape:
        raise ValueError("target.log_density_and_force must return log_p of shape (C,) and force of shape "
                         f"(C, D) = {fmt_shape(x.shape)} for x of shape {fmt_shape(x.shape)}; got "
                         f"{fmt_shape(logp.shape)} and {fmt_shape(force.shape)}.")
    return logp, force


# ----------------------------------------------------------------------------------------------
# numba: one chain at a time (inlined into the samplers' kernels)
# ----------------------------------------------------------------------------------------------

@njit_inline
def logp_force_one(kind, mu, theta, indptr, indices, values, x, f):
    """log p~ at one point ``x`` (D,); writes the force into ``f`` (D,). Same math as the twins.

    The Gaussian's precision is read from its compressed sparse rows (see :func:`target_arrays`).
    """
    D = x.shape[0]
    if kind == 0:
        b, s = theta[0], theta[1]
        r = x[1] - b * (x[0] * x[0] - s * s)
        f[0] = -x[0] / (s * s) + 2.0 * b * x[0] * r
        f[1] = -r
        return -0.5 * x[0] * x[0] / (s * s) - 0.5 * r * r
    out = 0.0
    for i in range(D):
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            acc -= values[k] * (x[j] - mu[j])
        f[i] = acc
        out += 0.5 * (x[i] - mu[i]) * acc
    return out


@njit
def _log_density_numba(kind, mu, theta, indptr, indices, values, x, logp, force):
    for c in range(x.shape[0]):
        logp[c] = logp_force_one(kind, mu, theta, indptr, indices, values, x[c], force[c])


def log_density_and_force(target, x, *, backend: str = "numba"):
    r"""Unnormalized log density and force :math:`\mathbf f = \partial\log\tilde p/\partial\mathbf x^T` at rows of ``x``.

    Parameters
    ----------
    target : Banana, GaussianTarget or PythonTarget
    x : array_like, shape (C, D)
    backend : {"numba", "numpy"}
        The kernel or its NumPy twin (a :class:`PythonTarget` always uses NumPy).

    Returns
    -------
    log_p : ndarray, shape (C,)
    force : ndarray, shape (C, D)

    Raises
    ------
    TypeError
        If ``target`` is not a target (see :func:`check_target`) or ``x`` is not real and numeric.
    ValueError
        If a field of ``target`` is malformed (see :func:`check_target`) or ``x`` is not a finite
        ``(C, D)`` array.
    """
    backend = check_backend(backend)
    D = check_target(target)
    x = as_array(x, "x", shape=(None, D), dims="(C, D)")
    return evaluate_checked_target(target, x, backend)


def evaluate_checked_target(target, x, backend: str):
    """:func:`log_density_and_force` without validation, for callers that have already run
    :func:`check_target` on ``target`` and hold ``x`` as a float64 ``(C, D)`` array.

    Loops that evaluate one target many times (leapfrog, estimators) validate once and call this.
    """
    if isinstance(target, GaussianTarget):         # fields given as lists or other dtypes, checked: as float64
        target = GaussianTarget(np.asarray(target.mu, dtype=np.float64), np.asarray(target.Lambda, dtype=np.float64))
    if backend == "numpy" or isinstance(target, PythonTarget):
        return numpy_log_density_and_force(target, x)
    kind, mu, _, theta, indptr, indices, values = _arrays(target)
    logp = np.empty(x.shape[0])
    force = np.empty_like(x)
    _log_density_numba(kind, mu, theta, indptr, indices, values, x, logp, force)
    return logp, force


def warmup_kernels() -> None:
    """Compile (or load from the cache) the kernel for both built-in targets."""
    for t in (banana(1.0, 1.0), ar1_gaussian(3, 0.5)):
        log_density_and_force(t, np.zeros((2, check_target(t))))
