r"""The assimilation problem, twin experiments, localization tapers and the one result type.

An assimilation problem is the state-space model of Section 2.2 with a nonlinear flow map in place
of the linear transition (the 4DVar notes' "Non-linear flow map" section), in the book's symbols:

.. math::
    \hat{\mathbf X}_1 \sim \mathcal N(\boldsymbol\mu_1, \boldsymbol\Sigma_1), \qquad
    \hat{\mathbf X}_t = \mathcal M(\hat{\mathbf X}_{t-1}) + \boldsymbol\eta_t,\ \
        \boldsymbol\eta_t \sim \mathcal N(\mathbf 0, \boldsymbol\Sigma_{\hat x}), \qquad
    \mathbf Y_t = \mathbf C\hat{\mathbf X}_t + \mathbf c + \boldsymbol\varepsilon_t,\ \
        \boldsymbol\varepsilon_t \sim \mathcal N(\mathbf 0, \boldsymbol\Sigma_{\hat y|\hat x}).

With :math:`\mathcal M(\mathbf x) = \mathbf A\mathbf x + \mathbf a` this is the
:class:`~pedagogy_lib.lgssm.LGSSMParams` model (Eq. 2.49 without control), and
:func:`from_lgssm` builds it from one. Unlike there, :math:`\boldsymbol\Sigma_{\hat x}` may be
zero (a perfect model, the usual twin experiment and the strong constraint of 4DVar).
Row ``t`` of every array is the book's time ``t + 1``; the first observation is of the first state.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_int, check_psd, check_rng, check_spd, positive_scalar, replaced_fields
from ..lgssm.model import LGSSMParams, check_params
from .lorenz import Dynamics, check_dynamics, integrate, linear_dynamics, propagate

__all__ = ["DAModel", "AssimilationResult", "from_lgssm", "check_model", "check_observations",
           "check_truth", "simulate", "rmse", "gaspari_cohn", "periodic_taper", "psd_sqrt", "make_result"]


class _DAModelFields(NamedTuple):
    dynamics: Dynamics
    mu1: np.ndarray
    Sigma1: np.ndarray
    Sigma_x: np.ndarray
    C: np.ndarray
    c: np.ndarray
    Sigma_y_x: np.ndarray


class DAModel(_DAModelFields):
    r"""A state-space model with a flow map: the dynamics and the Gaussian pieces of Eq. 2.49.

    Validated when built, however it is built (``DAModel(...)``, :func:`from_lgssm`, ``_make`` or
    ``_replace``): every field is checked as :func:`check_model` describes, and the model holds
    read-only copies of the arrays, so that what was checked stays true. A public function given a
    ``DAModel`` checks only its own data (the observations, a state). (The dynamics are a small named
    tuple of constants, kept as given: the kernels take them alike from a model or on their own.)
    ``_replace`` checks the fields
    it is given against the others and keeps what was derived from the fields it leaves alone
    (:meth:`derive`), so a new background mean costs no covariance check.

    Attributes
    ----------
    dynamics : Dynamics
        The flow map :math:`\mathcal M` over one cycle (:mod:`pedagogy_lib.assimilation.lorenz`).
    mu1 : ndarray, shape (n,)
        Prior (background) mean of the first state.
    Sigma1 : ndarray, shape (n, n)
        Prior (background) covariance of the first state; symmetric positive definite.
    Sigma_x : ndarray, shape (n, n)
        Model-error covariance :math:`\boldsymbol\Sigma_{\hat x}`; positive semi-definite (zero allowed).
    C : ndarray, shape (m, n)
        Observation matrix.
    c : ndarray, shape (m,)
        Observation offset.
    Sigma_y_x : ndarray, shape (m, m)
        Observation-noise covariance :math:`\boldsymbol\Sigma_{\hat y|\hat x}`; symmetric positive definite.

    Raises
    ------
    TypeError, ValueError
        If a field is not of its kind, shape or kind of matrix (see :func:`check_model`).
    """

    def __new__(cls, dynamics, mu1, Sigma1, Sigma_x, C, c, Sigma_y_x):
        fields = _checked_fields(dict(zip(_DAModelFields._fields, (dynamics, mu1, Sigma1, Sigma_x, C, c,
                                                                  Sigma_y_x))), frozenset())
        return super().__new__(cls, *fields)

    @classmethod
    def _make(cls, iterable):
        return cls(*iterable)

    def _replace(self, /, **changes):
        values = replaced_fields(self, changes)
        trusted = frozenset(f for f in self._fields if values[f] is getattr(self, f))
        new = _DAModelFields.__new__(type(self), *_checked_fields(values, trusted))
        cache = self.__dict__.get("_derived", {})
        new.__dict__["_derived"] = {key: item for key, item in cache.items() if trusted.issuperset(item[0])}
        return new

    def derive(self, key: str, depends: tuple, make):
        """``make(self)``, computed on the first call for ``key`` and kept with the model.

        For quantities computed from the fields named in ``depends`` (an inverse covariance, a
        storage decision): the fields cannot change, so neither can they; a model made by
        ``_replace`` keeps those whose fields it did not replace. A ``make`` that raises keeps nothing.
        """
        cache = self.__dict__.setdefault("_derived", {})
        item = cache.get(key)
        if item is None:
            item = cache[key] = (frozenset(depends), make(self))
        return item[1]

class AssimilationResult(NamedTuple):
    r"""What every filter and every 4DVar returns.

    Attributes
    ----------
    method : str
        Which algorithm produced it.
    mean : ndarray, shape (T, n)
        The analysis: filter means :math:`\bar{\mathbf x}_{t|t}` for the filters, the minimizing
        trajectory for 4DVar (a smoother estimate :math:`\bar{\mathbf x}_{t|T}`).
    cov : ndarray, shape (T, n, n), or None
        Analysis covariances (the Kalman-type filters, and the inverse (Gauss-Newton) Hessian's
        diagonal blocks for 4DVar); ``None`` for the ensemble filters, whose spread comes from the
        ensemble.
    ensemble : ndarray, shape (T, N, n), or None
        Analysis ensembles (ensemble filters only).
    forecast_mean : ndarray, shape (T, n)
        The forecast (prior) mean before each analysis, :math:`\bar{\mathbf x}_{t|t-1}`; row 0 is
        :math:`\boldsymbol\mu_1` (for 4DVar, the free run from the analysis' start).
    rmse : ndarray, shape (T,)
        :math:`\sqrt{\tfrac1n\lVert\text{mean}_t - \mathbf x_t\rVert^2}` against the truth, or NaN
        when no truth was given.
    spread : ndarray, shape (T,)
        :math:`\sqrt{\tfrac1n\operatorname{tr}\text{cov}_t}` (ensemble variance with ``N - 1``);
        NaN where no covariance is known.
    cost : float
        The 4DVar cost at the minimum (NaN for the filters).
    n_iter : int
        Optimizer iterations (0 for the filters and the exact solutions).
    """

    method: str
    mean: np.ndarray
    cov: np.ndarray | None
    ensemble: np.ndarray | None
    forecast_mean: np.ndarray
    rmse: np.ndarray
    spread: np.ndarray
    cost: float
    n_iter: int


def from_lgssm(params: LGSSMParams) -> DAModel:
    """The :class:`DAModel` of a linear-Gaussian model (validated by :func:`pedagogy_lib.lgssm.model.check_params`).

    The model must have no control input (``B`` is ``None`` or has no columns).
    """
    p, (n, m, n_u) = check_params(params)
    if n_u:
        raise ValueError(f"params.B must be None (no control input) for data assimilation; got {n_u} columns.")
    return DAModel(linear_dynamics(p.A, p.a), p.mu1, p.Sigma1, p.Sigma_x, p.C, p.c, p.Sigma_y_x)


def check_model(model, name: str = "model") -> tuple[DAModel, tuple[int, int]]:
    """Return ``model`` and ``(n, m)``: a :class:`DAModel` was validated when it was built.

    What building one checks: ``dynamics`` is a :class:`~pedagogy_lib.assimilation.lorenz.Dynamics`
    (:func:`~pedagogy_lib.assimilation.lorenz.check_dynamics`); ``mu1`` is ``(n,)``; ``Sigma1`` is
    ``(n, n)`` symmetric positive definite; ``Sigma_x`` is ``(n, n)`` positive semi-definite; ``c`` is
    ``(m,)`` with ``m >= 1``, ``C`` is ``(m, n)``; ``Sigma_y_x`` is ``(m, m)`` symmetric positive
    definite; every entry finite.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`DAModel`.
    """
    if not isinstance(model, DAModel):
        raise TypeError(f"{name} must be a DAModel (or use from_lgssm); got {type(model).__name__}.")
    return model, (model.dynamics.n, model.c.shape[0])


def _frozen(arr: np.ndarray) -> np.ndarray:
    """A read-only copy of ``arr`` that the model owns (an edit in place raises instead of going unchecked)."""
    out = np.array(arr, dtype=np.float64, order="C", copy=True)
    out.setflags(write=False)
    return out


def _checked_fields(values: dict, trusted: frozenset) -> tuple:
    """The fields of a :class:`DAModel` from ``values``, checked and frozen; those in ``trusted`` come from a
    model already built (frozen and checked), so only their shapes are checked against the others."""
    dyn = values["dynamics"]
    if "dynamics" not in trusted:
        dyn = check_dynamics(dyn, "model.dynamics")
    n = dyn.n

    def field(key, shape, dims, check=None):
        x = values[key]
        if key in trusted and x.shape == shape:
            return x
        if key in trusted:                 # a kept field whose partner changed size
            raise ValueError(f"{key} must have shape {dims} = {shape} to match the other fields; got {x.shape}.")
        x = as_array(x, key, shape=shape, dims=dims)
        if check is not None:
            check(x, key)
        return _frozen(x)

    mu1 = field("mu1", (n,), "(n,)")
    Sigma1 = field("Sigma1", (n, n), "(n, n)", check_spd)
    Sigma_x = field("Sigma_x", (n, n), "(n, n)", check_psd)
    c = values["c"]
    if "c" not in trusted:
        c = _frozen(as_array(c, "c", ndim=1, dims="(m,)"))
    m = c.shape[0]
    if m == 0:
        raise ValueError("c must have at least one entry (m >= 1); got shape (0,).")
    C = field("C", (m, n), "(m, n)")
    Sigma_y_x = field("Sigma_y_x", (m, m), "(m, m)", check_spd)
    return dyn, mu1, Sigma1, Sigma_x, C, c, Sigma_y_x


def check_observations(y, m: int) -> np.ndarray:
    """Observations ``y`` (T, m), finite, at least one row.

    A writeable C-contiguous float64 array of that shape whose sum is finite (then so is every entry:
    a NaN or an infinity would make the sum one) is returned at once: an optimizer's loop passes the
    same ``y`` at every call. Anything else is converted and checked entry by entry.
    """
    if (type(y) is np.ndarray and y.ndim == 2 and y.shape[1] == m and y.shape[0] and y.dtype == np.float64
            and y.flags.c_contiguous and y.flags.writeable and math.isfinite(np.add.reduce(y, axis=None))):
        return y
    y = as_array(y, "y", ndim=2, dims="(T, m)")
    if y.shape[1] != m or y.shape[0] == 0:
        raise ValueError(f"y must have shape (T, m) with T >= 1 and m = {m}; got {y.shape}.")
    return y


def check_truth(truth, T: int, n: int):
    """``None`` or the true states (T, n)."""
    if truth is None:
        return None
    return as_array(truth, "truth", shape=(T, n), dims="(T, n)")


def psd_sqrt(S: np.ndarray) -> np.ndarray:
    """A square root ``L`` with ``L L^T = S`` for a positive semi-definite ``S`` (zero allowed).

    Raises
    ------
    ValueError
        If ``S`` is not a finite, square, symmetric positive semi-definite matrix.
    """
    S = as_array(S, "S", ndim=2, dims="(n, n)")
    check_psd(S, "S")
    if not np.any(S):
        return np.zeros_like(S)
    w, V = np.linalg.eigh(S)
    return V * np.sqrt(np.clip(w, 0.0, None))


def simulate(model: DAModel, T: int, *, rng, spin_up: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""A twin experiment: the true states :math:`\mathbf x_{1:T}` and observations :math:`\mathbf y_{1:T}`.

    ``x_1`` is drawn from :math:`\mathcal N(\boldsymbol\mu_1, \boldsymbol\Sigma_1)` and then run
    ``spin_up`` cycles without noise (to land on the attractor) before the first kept state.
    """
    rng = check_rng(rng)
    model, (n, m) = check_model(model)
    T = check_int(T, "T", minimum=1)
    spin_up = check_int(spin_up, "spin_up", minimum=0)
    dyn = model.dynamics
    x = model.mu1 + np.linalg.cholesky(model.Sigma1) @ rng.standard_normal(n)
    x = integrate(dyn, x, spin_up)[-1]
    Lx = psd_sqrt(model.Sigma_x)
    noise = rng.standard_normal((T, n)) @ Lx.T
    xs = np.empty((T, n))
    xs[0] = x
    for t in range(1, T):
        xs[t] = propagate(dyn, xs[t - 1][None])[0] + noise[t]
    y = xs @ model.C.T + model.c + rng.standard_normal((T, m)) @ np.linalg.cholesky(model.Sigma_y_x).T
    return xs, y


def rmse(estimate, truth) -> np.ndarray:
    r"""Root-mean-square error over the state's components at each time: shape (T,).

    Scaled: each row's errors are divided by the largest before they are squared, and the root is
    multiplied back, so errors of size ``1e200`` (whose squares overflow) or ``1e-200`` (whose squares
    underflow) give the right answer.

    Raises
    ------
    ValueError
        If ``estimate`` is not a finite non-empty ``(T, n)`` array, ``truth`` not a finite array of the
        same shape, or an error ``estimate - truth`` itself overflows float64.
    """
    e = as_array(estimate, "estimate", ndim=2, dims="(T, n)", nonempty=True)
    x = as_array(truth, "truth", shape=e.shape, dims="(T, n)")
    with np.errstate(over="ignore"):
        d = e - x
    if not np.all(np.isfinite(d)):
        raise ValueError("estimate - truth overflows float64 (entries of opposite sign near the largest float64, "
                         f"{np.max(np.abs(e)):.3g} and {np.max(np.abs(x)):.3g}); rescale estimate and truth.")
    return _row_rms(d)


def _row_rms(d: np.ndarray) -> np.ndarray:
    """Root mean square of each row of the finite array ``d``, scaled by the row's largest magnitude."""
    top = np.abs(d).max(axis=1)
    safe = np.where(top > 0.0, top, 1.0)
    return top * np.sqrt(np.mean((d / safe[:, None]) ** 2, axis=1))


def gaspari_cohn(r) -> np.ndarray:
    r"""The Gaspari-Cohn fifth-order taper of the scaled distance ``r`` (1 at 0, 0 beyond ``r = 2``)."""
    r = np.abs(as_array(r, "r"))
    out = np.zeros_like(r)
    a = r <= 1
    b = (r > 1) & (r < 2)
    ra = r[a]
    out[a] = (((-0.25 * ra + 0.5) * ra + 0.625) * ra - 5.0 / 3.0) * ra ** 2 + 1.0
    rb = r[b]
    out[b] = ((((rb / 12.0 - 0.5) * rb + 0.625) * rb + 5.0 / 3.0) * rb - 5.0) * rb + 4.0 - 2.0 / (3.0 * rb)
    return out


def periodic_taper(n: int, radius) -> np.ndarray:
    """Localization matrix (n, n) on a periodic 1-D grid: Gaspari-Cohn of distance / ``radius``.

    ``radius`` is the Gaspari-Cohn length scale in grid points: the taper is 1 at distance 0, about
    0.21 at ``radius`` and reaches zero at ``2 * radius``.
    """
    n = check_int(n, "n", minimum=1)
    radius = positive_scalar(radius, "radius")
    i = np.arange(n)
    d = np.abs(i[:, None] - i[None, :])
    d = np.minimum(d, n - d)
    return gaspari_cohn(d / radius)


def make_result(method: str, mean, cov, ensemble, forecast_mean, truth, *, cost=np.nan, n_iter=0,
                spread=None) -> AssimilationResult:
    """Assemble an :class:`AssimilationResult`, computing RMSE (against ``truth``) and spread.

    ``spread`` (T,), when given, is taken as computed (a filter's kernel that already has it);
    otherwise it is the root mean sample variance of ``ensemble``, or the root mean variance of ``cov``.

    Raises
    ------
    ValueError, TypeError
        If ``mean`` is not a finite ``(T, n)`` array or ``forecast_mean``, ``cov`` (``(T, n, n)``),
        ``ensemble`` (``(T, N, n)``) or ``truth`` does not match it.
    """
    mean = as_array(mean, "mean", ndim=2, dims="(T, n)")
    T, n = mean.shape
    forecast_mean = as_array(forecast_mean, "forecast_mean", shape=(T, n), dims="(T, n)")
    cov = None if cov is None else as_array(cov, "cov", shape=(T, n, n), dims="(T, n, n)")
    ensemble = None if ensemble is None else as_array(ensemble, "ensemble", shape=(T, None, n), dims="(T, N, n)")
    truth = check_truth(truth, T, n)
    with np.errstate(over="ignore"):
        d = None if truth is None else mean - truth
    # scaled, as rmse() is: errors and spreads near 1e160 (squares overflow) or 1e-170 (squares underflow)
    err = np.full(T, np.nan) if d is None else (_row_rms(d) if np.all(np.isfinite(d)) else np.full(T, np.inf))
    if spread is not None:
        spread = as_array(spread, "spread", shape=(T,), dims="(T,)")
    elif ensemble is not None:
        N = ensemble.shape[1]
        dev = (ensemble - ensemble.mean(axis=1, keepdims=True)).reshape(T, -1)
        spread = _row_rms(dev) * np.sqrt(N / (N - 1.0))      # root mean variance with N - 1
    elif cov is not None:
        var = np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None)
        top = var.max(axis=1)
        spread = np.sqrt(top) * np.sqrt(np.mean(var / np.where(top > 0.0, top, 1.0)[:, None], axis=1))
    else:
        spread = np.full(T, np.nan)
    return AssimilationResult(method, mean, cov, ensemble, forecast_mean, err, spread, float(cost), int(n_iter))
