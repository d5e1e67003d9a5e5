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

The samplers see every target through one interface, :func:`as_density`: a :class:`Density`
whose ``evaluate(x)`` returns ``(log_p, force)`` for all chains at once. The two built-in targets
have numba kernels (:mod:`~pedagogy_lib.samplers.kernels`, with ``backend="numba"``) and readable
NumPy twins. A Gaussian's precision is stored in the form its structure calls for
(:func:`precision_storage`): dense, multiplied by BLAS over all chains at once, when at least a
quarter of its entries are nonzero; in compressed sparse rows otherwise (a banded precision such as
:func:`ar1_gaussian`'s then costs :math:`O(D)` per chain instead of :math:`O(D^2)`).
"""
from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple

import numpy as np

from ..core.checks import (as_array, as_scalar, check_backend, check_int, check_spd, fmt_shape, positive_scalar,
                           to_float_array)
from . import kernels
from .kernels import CSR

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
    "precision_storage",
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
    Lambda = as_array(Lambda, "Lambda")
    if Lambda.ndim == 2 and Lambda.shape[0] == Lambda.shape[1] != D:        # name both: either may be wrong
        raise ValueError(f"mu and Lambda disagree on the dimension: mu has shape {mu.shape} (D = {D}) but Lambda "
                         f"has shape {Lambda.shape} (D = {Lambda.shape[0]}); one of them has the wrong length.")
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
        check_spd(Lambda, f"{name}.Lambda")
        return D
    if isinstance(target, PythonTarget):
        if not callable(target.log_density_and_force):
            raise TypeError(f"{name}.log_density_and_force must be callable f(x) -> (log_p, force); got "
                            f"{type(target.log_density_and_force).__name__}.")
        return check_int(target.D, f"{name}.D", minimum=1)
    raise TypeError(f"{name} must be a Banana, GaussianTarget or PythonTarget (build one with banana(), "
                    f"gaussian_target() or python_target()); got {type(target).__name__}.")


#: A Gaussian's precision is stored dense when at least this fraction of its entries is nonzero.
DENSE_FRACTION = 0.25


def csr_of(A) -> CSR:
    """The :class:`~pedagogy_lib.samplers.kernels.CSR` form of a float64 ``(D, D)`` array."""
    rows, cols = np.nonzero(A)
    indptr = np.searchsorted(rows, np.arange(A.shape[0] + 1)).astype(np.int64)
    return CSR(indptr, cols.astype(np.int64), np.ascontiguousarray(A[rows, cols], dtype=np.float64))


def precision_storage(Lambda) -> str:
    """``"dense"`` or ``"csr"``: how the samplers store the precision ``Lambda`` (shape ``(D, D)``).

    Decided by structure alone, the same on every machine: dense when at least
    ``DENSE_FRACTION`` (a quarter) of the entries are nonzero. A dense precision is applied to all
    chains at once by one matrix product (BLAS); a sparse one row by row, touching only its nonzero
    entries. Measured on the benchmark machine with 1000 chains in 50 dimensions: for a full
    precision the matrix product makes random-walk MH and MALA about four times faster than sparse
    rows; for the tridiagonal one (6 % nonzero) the two storages take about the same time in those
    samplers (drawing the normals dominates), while the Gibbs sweep, which cannot use a matrix
    product, is about twice as fast on the sparse rows.

    Raises
    ------
    TypeError, ValueError
        If ``Lambda`` is not a real square matrix.
    """
    Lambda = as_array(Lambda, "Lambda", ndim=2, dims="(D, D)")
    if Lambda.shape[0] != Lambda.shape[1]:
        raise ValueError(f"Lambda must be square (D, D); got shape {fmt_shape(Lambda.shape)}.")
    return _storage(Lambda)


def _storage(Lambda):
    return "dense" if np.count_nonzero(Lambda) >= DENSE_FRACTION * Lambda.size else "csr"


def target_arrays(target):
    """``(kind, mu, Lambda, theta, indptr, indices, values)``: the arrays of a built-in target.

    ``kind`` is 0 for the banana (``theta = [b, s]``) and 1 for the Gaussian. The Gaussian's
    precision comes both dense and in compressed sparse rows (``indptr``, ``indices``, ``values``:
    the nonzero entries of row ``i`` are ``values[indptr[i]:indptr[i + 1]]``); which of the two
    the samplers use is :func:`precision_storage`'s choice. Unused arrays are small placeholders.

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


def _arrays(target):
    if isinstance(target, Banana):
        return (KIND_BANANA, np.zeros(2), np.zeros((2, 2)), np.array([target.b, target.s]),
                np.zeros(3, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    Lam = np.ascontiguousarray(target.Lambda, dtype=np.float64)
    csr = csr_of(Lam)
    return (KIND_GAUSSIAN, np.ascontiguousarray(target.mu, dtype=np.float64), Lam, np.zeros(2), *csr)


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
    """log p~ and force of N(mu, Lambda^{-1}) for rows of ``x``, dense precision."""
    d = x - mu
    force = -d @ Lambda                                   # -Lambda (x - mu), Lambda symmetric
    logp = 0.5 * np.sum(d * force, axis=1)
    return logp, force


def _gaussian_csr_numpy(x, mu, csr):
    """The same with the precision in sparse rows: each row's products summed by ``np.add.reduceat``
    (every row of a positive definite precision has its diagonal entry, so no row is empty)."""
    d = x - mu
    force = -np.add.reduceat(d[:, csr.indices] * csr.values, csr.indptr[:-1], axis=1)
    logp = 0.5 * np.sum(d * force, axis=1)
    return logp, force


def _python_evaluate(target, x):
    """A :class:`PythonTarget`'s function at validated ``x`` of shape ``(C, D)``, its answer checked."""
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
# numba paths: allocate the answers, let a kernel fill them
# ----------------------------------------------------------------------------------------------

def _banana_numba(x, b, s):
    logp, force = np.empty(x.shape[0]), np.empty_like(x)
    kernels.banana_log_density_and_force(x, b, s, logp, force)
    return logp, force


def _gaussian_dense_numba(x, mu, Lambda):
    """One matrix product over all chains (BLAS), then a kernel for the sign and the quadratic form."""
    d = x - mu
    force = d @ Lambda
    logp = np.empty(x.shape[0])
    kernels.gaussian_log_density_from_product(d, force, logp)
    return logp, force


def _gaussian_csr_numba(x, mu, csr):
    logp, force = np.empty(x.shape[0]), np.empty_like(x)
    kernels.gaussian_csr_log_density_and_force(x, mu, csr, logp, force)
    return logp, force


# ----------------------------------------------------------------------------------------------
# The one interface the samplers use
# ----------------------------------------------------------------------------------------------

class Density(NamedTuple):
    """A checked target in the form the samplers evaluate it.

    Attributes
    ----------
    evaluate : callable
        ``evaluate(x) -> (log_p, force)`` for a float64 ``(C, D)`` array, fresh arrays of shapes
        ``(C,)`` and ``(C, D)``.
    storage : {"banana", "dense", "csr", "python"}
        Which form of the target ``evaluate`` reads (for a Gaussian, :func:`precision_storage`).
    arrays : tuple
        What the kernels read: ``(b, s)``; ``(mu, Lambda)`` (dense); ``(mu, csr, diag)`` (sparse
        rows and the diagonal); ``()`` for a Python target.
    backend : {"numba", "numpy"}
        ``"numpy"`` for a Python target whatever was asked (no kernel can call Python).
    """

    evaluate: Callable
    storage: str
    arrays: tuple
    backend: str


#: The kernel each built-in target's density runs first, by the storage of :func:`as_density`: what
#: ``backend="auto"`` weighs (:func:`pedagogy_lib.core.jit.choose`).
DENSITY_KERNELS = {"banana": kernels.banana_log_density_and_force, "dense": kernels.gaussian_log_density_from_product,
                   "csr": kernels.gaussian_csr_log_density_and_force}


def density_backend(target, backend, C: int, D: int, steps: int, evaluations: int) -> str:
    """``backend`` checked and resolved for a target already checked: ``"auto"`` weighs the twin's work for
    ``C`` chains in ``D`` dimensions, ``steps`` sampler steps and ``evaluations`` evaluations of the density
    against compiling the target's kernel. A :class:`PythonTarget` has no kernel (its density is NumPy)."""
    if backend != "auto" or isinstance(target, PythonTarget):
        return check_backend(backend)
    storage = "banana" if isinstance(target, Banana) else _storage(np.asarray(target.Lambda))
    return check_backend(backend, DENSITY_KERNELS[storage], C=C, D=D, steps=steps, evaluations=evaluations)


def as_density(target, backend: str) -> Density:
    """The :class:`Density` of a target already checked by :func:`check_target`; ``backend`` already checked.

    Samplers call this once per call and then ``evaluate`` at every step.
    """
    if isinstance(target, PythonTarget):
        return Density(partial(_python_evaluate, target), "python", (), "numpy")
    numba = backend == "numba"
    if isinstance(target, Banana):
        b, s = float(target.b), float(target.s)
        return Density(partial(_banana_numba if numba else _banana_numpy, b=b, s=s), "banana", (b, s), backend)
    mu = np.ascontiguousarray(target.mu, dtype=np.float64)
    Lam = np.ascontiguousarray(target.Lambda, dtype=np.float64)
    if _storage(Lam) == "dense":
        return Density(partial(_gaussian_dense_numba if numba else _gaussian_numpy, mu=mu, Lambda=Lam), "dense",
                       (mu, Lam), backend)
    csr = csr_of(Lam)
    return Density(partial(_gaussian_csr_numba if numba else _gaussian_csr_numpy, mu=mu, csr=csr), "csr",
                   (mu, csr, np.diag(Lam).copy()), backend)


def log_density_and_force(target, x, *, backend: str = "auto"):
    r"""Unnormalized log density and force :math:`\mathbf f = \partial\log\tilde p/\partial\mathbf x^T` at rows of ``x``.

    Parameters
    ----------
    target : Banana, GaussianTarget or PythonTarget
    x : array_like, shape (C, D)
    backend : {"auto", "numba", "numpy"}
        The kernel or its NumPy twin (a :class:`PythonTarget` always uses NumPy); ``"auto"`` runs the twin
        while compiling would cost more than it saves (:func:`pedagogy_lib.core.jit.choose`).

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
    check_backend(backend)
    D = check_target(target)
    x = as_array(x, "x", shape=(None, D), dims="(C, D)")
    return evaluate_checked_target(target, x, density_backend(target, backend, x.shape[0], D, 0, 1))


def evaluate_checked_target(target, x, backend: str):
    """:func:`log_density_and_force` without validation, for callers that have already run
    :func:`check_target` on ``target`` and hold ``x`` as a float64 ``(C, D)`` array.

    Loops that evaluate one target many times (estimators) validate once and call this, or hold
    on to :func:`as_density`'s answer.
    """
    return as_density(target, backend).evaluate(x)
