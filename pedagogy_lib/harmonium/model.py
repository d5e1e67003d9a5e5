r"""Exponential-family harmoniums: parameters, conditionals, energy and free energies (Section 3.1).

A harmonium couples a hidden layer :math:`\hat{\mathbf x}` (``K`` units) and a visible layer
:math:`\hat{\mathbf y}` (``M`` units) whose conditionals are both exponential families (Eq. 10.17):

.. math::
    \hat p(\mathbf x\mid\mathbf y) = h(\mathbf x)\exp\{\boldsymbol\eta(\mathbf y)^T\mathbf T(\mathbf x) - A(\boldsymbol\eta)\},
    \qquad \boldsymbol\eta(\mathbf y) = \mathbf b_{\hat x} + \mathbf W\mathbf U(\mathbf y),

.. math::
    \hat p(\mathbf y\mid\mathbf x) = k(\mathbf y)\exp\{\boldsymbol\zeta(\mathbf x)^T\mathbf U(\mathbf y) - B(\boldsymbol\zeta)\},
    \qquad \boldsymbol\zeta(\mathbf x) = \mathbf b_{\hat y} + \mathbf W^T\mathbf T(\mathbf x).

The affine coupling through one matrix :math:`\mathbf W` (``W``, shape ``(K, M)``) is what Eq. 3.1
forces. Each layer is one of three unit families, always with the identity as sufficient
statistic (:math:`\mathbf T(\mathbf x)=\mathbf x`, :math:`\mathbf U(\mathbf y)=\mathbf y`):

========== ===================== ======================================= =====================
family     support               log base measure per unit               log-partition per unit
========== ===================== ======================================= =====================
bernoulli  {0, 1}                0                                       softplus(eta)
gaussian   real (unit variance)  -y^2/2 - log(tau)/2                     eta^2 / 2
poisson    {0, 1, 2, ...}        -log y!                                 exp(eta)
========== ===================== ======================================= =====================

At least one layer must be Bernoulli: a Gaussian or Poisson layer coupled to another unbounded
layer has no normalizer for most ``W``. The joint is a Boltzmann distribution with the energy of
Eq. 10.18, and either marginal is known up to :math:`Z` through its *free energy*:
:math:`\hat p(\mathbf y)\propto k(\mathbf y)\exp\{\mathbf b_{\hat y}^T\mathbf y + A(\boldsymbol\eta(\mathbf y))\}`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_choice, check_rng, to_float_array
from ..core.logmath import sigmoid, softplus

__all__ = ["FAMILIES", "EFHParams", "check_params", "check_layer", "family_code", "log_partition_units",
           "mean_units", "log_base_measure", "hidden_natural", "visible_natural", "hidden_mean", "visible_mean",
           "energy", "free_energy_visible", "free_energy_hidden", "log_conditional_hidden",
           "log_conditional_visible", "sample_hidden", "sample_visible", "softplus", "sigmoid", "init_params"]

#: The unit families, in the order of their integer codes in the kernels.
FAMILIES = ("bernoulli", "gaussian", "poisson")
LOG_TAU = float(np.log(2.0 * np.pi))
#: Largest natural parameter of a Poisson unit: its mean and log-partition ``e^eta`` leave float64 beyond it.
POISSON_ETA_MAX = float(np.log(np.finfo(float).max))


def _poisson_range(eta, name):
    """Refuse Poisson natural parameters whose ``e^eta`` (the mean and log-partition) overflows float64."""
    top = float(np.max(eta)) if np.size(eta) else -np.inf
    if top > POISSON_ETA_MAX:
        raise ValueError(f"{name}: a Poisson unit's natural parameter must be at most log(float64 max) = "
                         f"{POISSON_ETA_MAX:.6g} (beyond it e^eta, its mean and log-partition, overflows); got {top:.6g}.")


class EFHParams(NamedTuple):
    r"""Parameters of a harmonium.

    Attributes
    ----------
    W : ndarray, shape (K, M)
        :math:`\mathbf W_{\hat y\hat x}` of Eq. 10.17: row ``k`` couples hidden unit ``k`` to every visible unit.
    b_x : ndarray, shape (K,)
        Hidden biases :math:`\mathbf b_{\hat x}`.
    b_y : ndarray, shape (M,)
        Visible biases :math:`\mathbf b_{\hat y}`.
    hidden, visible : str
        Unit families of the two layers (``"bernoulli"``, ``"gaussian"`` or ``"poisson"``).
    """

    W: np.ndarray
    b_x: np.ndarray
    b_y: np.ndarray
    hidden: str = "bernoulli"
    visible: str = "bernoulli"

    @property
    def K(self) -> int:
        return int(self.W.shape[0])

    @property
    def M(self) -> int:
        return int(self.W.shape[1])


def family_code(family: str) -> int:
    """The integer code of a unit family in the kernels (0 Bernoulli, 1 Gaussian, 2 Poisson).

    Raises
    ------
    ValueError
        If ``family`` is not one of :data:`FAMILIES`.
    """
    return FAMILIES.index(check_choice(family, "family", FAMILIES))


def check_params(params) -> EFHParams:
    """Validate an :class:`EFHParams` and return it with clean float64 arrays."""
    if not isinstance(params, EFHParams):
        raise TypeError(f"params must be an EFHParams; got {type(params).__name__}.")
    W = as_array(params.W, "W", ndim=2, dims="(K, M)")
    K, M = W.shape
    if K < 1 or M < 1:
        raise ValueError(f"W must have at least one hidden and one visible unit; got shape {W.shape}.")
    b_x = as_array(params.b_x, "b_x", shape=(K,), dims="(K,)")
    b_y = as_array(params.b_y, "b_y", shape=(M,), dims="(M,)")
    hidden = check_choice(params.hidden, "hidden", FAMILIES)
    visible = check_choice(params.visible, "visible", FAMILIES)
    if "bernoulli" not in (hidden, visible):
        raise ValueError(f"at least one layer must be Bernoulli (an EFH with two unbounded layers has no normalizer "
                         f"in general); got hidden={hidden!r}, visible={visible!r}.")
    return EFHParams(W, b_x, b_y, hidden, visible)


def check_layer(values, family: str, name: str, n_units: int, *, allow_fraction: bool = False,
                nonempty: bool = False) -> np.ndarray:
    """Validate a batch of layer states, shape ``(N, n_units)`` (a single state ``(n_units,)`` is refused).

    With ``nonempty``, ``N = 0`` is refused too (for averages over the rows).

    Bernoulli states must be 0 or 1 (or lie in [0, 1] with ``allow_fraction``, for data given as
    probabilities); Poisson states non-negative integers; Gaussian states finite reals.
    """
    arr = as_array(values, name, ndim=2, dims=f"(N, {n_units})")
    if arr.shape[1] != n_units:
        raise ValueError(f"{name} must have shape (N, {n_units}); got {arr.shape}.")
    if nonempty and arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one row (N >= 1); got shape {arr.shape}.")
    if family == "bernoulli":
        bad = (arr < 0) | (arr > 1) if allow_fraction else (arr != 0) & (arr != 1)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            want = "in [0, 1]" if allow_fraction else "0 or 1 (binary)"
            raise ValueError(f"{name} holds Bernoulli states, which must be {want}; entry {idx} is {arr[idx]:g}.")
    elif family == "poisson":
        bad = (arr < 0) | (arr != np.round(arr))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{name} holds Poisson counts, which must be non-negative integers; entry {idx} is "
                             f"{arr[idx]:g}.")
    return arr


# ------------------------------------------------------------------------------------------------
# Per-unit exponential-family pieces
# ------------------------------------------------------------------------------------------------
def log_partition_units(eta, family: str):
    """The log-partition function of each unit at natural parameter ``eta`` (A or B of Eq. 10.17, per unit).

    Raises
    ------
    TypeError, ValueError
        If ``eta`` is not real-valued numeric or ``family`` is unknown, or a Poisson ``eta`` exceeds
        ``log(float64 max)``, about 709.78 (``e^eta`` leaves float64).
    """
    family = check_choice(family, "family", FAMILIES)
    eta = to_float_array(eta, "eta")
    if family == "bernoulli":
        return softplus(eta)
    if family == "gaussian":
        return 0.5 * np.asarray(eta) ** 2
    _poisson_range(eta, "eta")
    return np.exp(eta)


def mean_units(eta, family: str):
    """The mean of each unit at natural parameter ``eta`` (the derivative of its log partition).

    Raises
    ------
    TypeError, ValueError
        If ``eta`` is not real-valued numeric or ``family`` is unknown, or a Poisson ``eta`` exceeds
        ``log(float64 max)``, about 709.78.
    """
    family = check_choice(family, "family", FAMILIES)
    eta = to_float_array(eta, "eta")
    if family == "bernoulli":
        return sigmoid(eta)
    if family == "gaussian":
        return np.asarray(eta, dtype=float)
    _poisson_range(eta, "eta")
    return np.exp(eta)


def log_base_measure(values, family: str):
    r"""Sum over units of :math:`\log h` or :math:`\log k` for each row of ``values`` (shape ``(N,)``).

    Raises
    ------
    ValueError
        If ``family`` is unknown or ``values`` is not a 2-D batch ``(N, n_units)`` of valid states of
        the family (binary for Bernoulli, non-negative integers for Poisson, finite for Gaussian).
    """
    family = check_choice(family, "family", FAMILIES)
    v = as_array(values, "values", ndim=2, dims="(N, n_units)")
    v = check_layer(v, family, "values", v.shape[1])
    if family == "bernoulli":
        return np.zeros(v.shape[0])
    if family == "gaussian":
        return -0.5 * np.sum(v ** 2, axis=1) - 0.5 * v.shape[1] * LOG_TAU
    from math import lgamma
    return -np.sum(np.vectorize(lgamma)(v + 1.0), axis=1) if v.size else np.zeros(v.shape[0])


# ------------------------------------------------------------------------------------------------
# Conditionals and energies
# ------------------------------------------------------------------------------------------------
def hidden_natural(params: EFHParams, y) -> np.ndarray:
    r""":math:`\boldsymbol\eta(\mathbf y) = \mathbf b_{\hat x} + \mathbf W\mathbf y` for each row of ``y`` (N, M) -> (N, K)."""
    p = check_params(params)
    y = check_layer(y, p.visible, "y", p.M, allow_fraction=True)
    return y @ p.W.T + p.b_x


def visible_natural(params: EFHParams, x) -> np.ndarray:
    r""":math:`\boldsymbol\zeta(\mathbf x) = \mathbf b_{\hat y} + \mathbf W^T\mathbf x` for each row of ``x`` (N, K) -> (N, M)."""
    p = check_params(params)
    x = check_layer(x, p.hidden, "x", p.K, allow_fraction=True)
    return x @ p.W + p.b_y


def _natural_in_range(p, eta, layer):
    """Refuse, naming ``params``, a Poisson layer whose natural parameters ``eta`` leave float64 through ``e^eta``."""
    if (p.hidden if layer == "hidden" else p.visible) == "poisson":
        what = "b_x + W y" if layer == "hidden" else "b_y + W^T x"
        _poisson_range(eta, f"params (W, b_x, b_y) give the {layer} layer natural parameters {what}")
    return eta


def hidden_mean(params: EFHParams, y) -> np.ndarray:
    r""":math:`\mathbb E[\hat{\mathbf X}\mid\mathbf y]` for each row of ``y`` (e.g. :math:`\sigma(\boldsymbol\eta)` for Bernoulli units).

    A Poisson layer whose natural parameters exceed ``log(float64 max)`` (about 709.78) is refused naming ``params``.
    """
    p = check_params(params)
    return mean_units(_natural_in_range(p, hidden_natural(p, y), "hidden"), p.hidden)


def visible_mean(params: EFHParams, x) -> np.ndarray:
    r""":math:`\mathbb E[\hat{\mathbf Y}\mid\mathbf x]` for each row of ``x`` (a Poisson layer refused as in :func:`hidden_mean`)."""
    p = check_params(params)
    return mean_units(_natural_in_range(p, visible_natural(p, x), "visible"), p.visible)


def energy(params: EFHParams, x, y) -> np.ndarray:
    r"""The energy of Eq. 10.18 for each pair of rows of ``x`` (N, K) and ``y`` (N, M).

    .. math:: E = -\mathbf b_{\hat y}^T\mathbf y - \mathbf b_{\hat x}^T\mathbf x - \mathbf y^T\mathbf W^T\mathbf x
              - \log h(\mathbf x) - \log k(\mathbf y).
    """
    p = check_params(params)
    x = check_layer(x, p.hidden, "x", p.K)
    y = check_layer(y, p.visible, "y", p.M)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of rows; got {x.shape[0]} and {y.shape[0]}.")
    return -(y @ p.b_y + x @ p.b_x + np.einsum("nk,km,nm->n", x, p.W, y)
             + log_base_measure(x, p.hidden) + log_base_measure(y, p.visible))


def free_energy_visible(params: EFHParams, y) -> np.ndarray:
    r"""Free energy of each visible row: :math:`F(\mathbf y) = -\log k(\mathbf y) - \mathbf b_{\hat y}^T\mathbf y - A(\boldsymbol\eta(\mathbf y))`.

    Then :math:`\hat p(\mathbf y) = e^{-F(\mathbf y)}/Z` with the joint's :math:`Z` (see Eq. 10.14).
    """
    p = check_params(params)
    y = check_layer(y, p.visible, "y", p.M)
    eta = _natural_in_range(p, y @ p.W.T + p.b_x, "hidden")
    with np.errstate(over="ignore", invalid="ignore"):
        F = -(log_base_measure(y, p.visible) + y @ p.b_y + log_partition_units(eta, p.hidden).sum(axis=1))
    return _in_float64(F, "free energies")


def free_energy_hidden(params: EFHParams, x) -> np.ndarray:
    r"""Free energy of each hidden row: :math:`-\log h(\mathbf x) - \mathbf b_{\hat x}^T\mathbf x - B(\boldsymbol\zeta(\mathbf x))`."""
    p = check_params(params)
    x = check_layer(x, p.hidden, "x", p.K)
    zeta = _natural_in_range(p, x @ p.W + p.b_y, "visible")
    with np.errstate(over="ignore", invalid="ignore"):
        F = -(log_base_measure(x, p.hidden) + x @ p.b_x + log_partition_units(zeta, p.visible).sum(axis=1))
    return _in_float64(F, "free energies")


def _log_conditional(p, values, given, layer):
    r"""Log-density of each row of ``values`` given the same row of ``given`` (Eq. 10.17): for the
    ``"hidden"`` layer :math:`\log\hat p(\mathbf x\mid\mathbf y)`, for the ``"visible"`` one
    :math:`\log\hat p(\mathbf y\mid\mathbf x)`; ``p`` already checked. Either is
    :math:`\log h(\mathbf x) + \boldsymbol\eta^T\mathbf x - A(\boldsymbol\eta)` with the layer's own
    family and natural parameters."""
    if layer == "hidden":
        family, n_units, name, other, natural = p.hidden, p.K, "x", "y", hidden_natural
    else:
        family, n_units, name, other, natural = p.visible, p.M, "y", "x", visible_natural
    values = check_layer(values, family, name, n_units)
    eta = _natural_in_range(p, natural(p, given), layer)
    if values.shape[0] != eta.shape[0]:
        raise ValueError(f"{name} and {other} must have the same number of rows; got {values.shape[0]} and "
                         f"{eta.shape[0]}.")
    with np.errstate(over="ignore", invalid="ignore"):
        out = log_base_measure(values, family) + np.sum(values * eta - log_partition_units(eta, family), axis=1)
    return _in_float64(out, "log conditionals")


def _in_float64(values, what):
    """``values``, refused naming ``params`` where a sum over the units left float64: each unit's terms are
    finite (:func:`_natural_in_range`), but several Poisson units each near ``e^709`` add up beyond it."""
    if not np.all(np.isfinite(values)):
        raise ValueError(f"params (W, b_x, b_y) give {what} beyond float64 (a sum over the units above 1.8e308 "
                         "in magnitude, e.g. several Poisson units each near e^709): rescale the weights and biases.")
    return values


def log_conditional_hidden(params: EFHParams, x, y) -> np.ndarray:
    r""":math:`\log\hat p(\mathbf x\mid\mathbf y)` for each pair of rows (first line of Eq. 10.17).

    Raises
    ------
    ValueError
        If ``params`` is malformed, ``x`` or ``y`` is not a batch of states of its layer, or they
        differ in their number of rows.
    """
    return _log_conditional(check_params(params), x, y, "hidden")


def log_conditional_visible(params: EFHParams, y, x) -> np.ndarray:
    r""":math:`\log\hat p(\mathbf y\mid\mathbf x)` for each pair of rows (second line of Eq. 10.17).

    Raises
    ------
    ValueError
        If ``params`` is malformed, ``y`` or ``x`` is not a batch of states of its layer, or they
        differ in their number of rows.
    """
    return _log_conditional(check_params(params), y, x, "visible")


def _sample_units(eta, family, rng):
    if family == "bernoulli":
        return (rng.random(eta.shape) < sigmoid(eta)).astype(float)
    if family == "gaussian":
        return eta + rng.standard_normal(eta.shape)
    return rng.poisson(np.exp(eta)).astype(float)


def sample_hidden(params: EFHParams, y, rng) -> np.ndarray:
    r"""One draw of :math:`\hat{\mathbf x}\sim\hat p(\mathbf x\mid\mathbf y)` per row of ``y``."""
    rng = check_rng(rng)
    return _sample_units(hidden_natural(params, y), params.hidden, rng)


def sample_visible(params: EFHParams, x, rng) -> np.ndarray:
    r"""One draw of :math:`\hat{\mathbf y}\sim\hat p(\mathbf y\mid\mathbf x)` per row of ``x``."""
    rng = check_rng(rng)
    return _sample_units(visible_natural(params, x), params.visible, rng)


def init_params(K: int, M: int, rng, *, scale: float = 0.01, hidden: str = "bernoulli", visible: str = "bernoulli",
                data=None) -> EFHParams:
    """Small random weights, zero hidden biases; visible biases set from Bernoulli ``data`` (N, M) when it
    is given (a common start that saves the first epochs), else zero.

    Raises
    ------
    ValueError, TypeError
        If ``K`` or ``M`` is not a positive int, ``rng`` not a Generator, ``scale`` not a non-negative
        finite number, a family unknown, or ``data`` not a batch of ``M`` Bernoulli units.
    """
    from ..core.checks import check_int, positive_scalar
    K = check_int(K, "K", minimum=1)
    M = check_int(M, "M", minimum=1)
    rng = check_rng(rng)
    scale = positive_scalar(scale, "scale", strict=False)
    b_y = np.zeros(M)
    if data is not None and visible == "bernoulli":
        d = check_layer(data, "bernoulli", "data", M, allow_fraction=True)
        m = np.clip(d.mean(axis=0), 1e-3, 1 - 1e-3)
        b_y = np.log(m / (1 - m))
    return check_params(EFHParams(scale * rng.standard_normal((K, M)), np.zeros(K), b_y, hidden, visible))
