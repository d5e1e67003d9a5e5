r"""The forward (recognition) process of a Gaussian diffusion model (Section 8.3.1, Eqs. 8.36-8.38).

* Marginals (Eq. 8.36): :math:`\check p(\mathbf x_l\mid\mathbf x) = \mathcal N(v_l\rho_l\mathbf x, v_l^2\mathbf I)`,
  reparameterized as :math:`\check{\mathbf X}_l = v_l(\rho_l\mathbf x + \check{\mathbf Z})` (Eq. 8.43).
* Transitions between *any* two levels :math:`l < m` (Eq. 8.37):
  :math:`\check{\mathbf X}_m = \beta_{ml}\check{\mathbf X}_l + \gamma_{ml}\check{\mathbf Z}_m` with
  :math:`\beta_{ml} = v_m\rho_m/(v_l\rho_l)` and :math:`\gamma_{ml}^2 = v_m^2(1-\rho_m^2/\rho_l^2)`.
  They compose: :math:`\beta_{nl} = \beta_{nm}\beta_{ml}` and
  :math:`\gamma_{nl}^2 = \beta_{nm}^2\gamma_{ml}^2 + \gamma_{nm}^2`.
* Posterior transitions (Eq. 8.38):

  .. math::
      \check p(\mathbf x_l\mid\mathbf x_m,\mathbf x) = \mathcal N\Big(\frac{v_l}{\rho_l}\big((\rho_l^2-\rho_m^2)\mathbf x
      + \frac{\rho_m}{v_m}\mathbf x_m\big),\ \frac{v_l^2(\rho_l^2-\rho_m^2)}{\rho_l^2}\mathbf I\Big).

All maps act coordinate by coordinate, so data are arrays of shape ``(N, d)`` and the scalars
:math:`\beta, \gamma` are shared by the coordinates.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_int
from .schedules import Schedule, check_schedule

__all__ = [
    "Transition",
    "PosteriorTransition",
    "marginal",
    "transition",
    "consecutive_transitions",
    "iterate_moments",
    "noise_data",
    "levels",
    "posterior_transition",
]


class Transition(NamedTuple):
    r"""Coefficients of :math:`\check p(\mathbf x_m\mid\mathbf x_l) = \mathcal N(\beta_{ml}\mathbf x_l, \gamma_{ml}^2\mathbf I)` (Eq. 8.37)."""

    beta: float
    gamma2: float


class PosteriorTransition(NamedTuple):
    r"""The Gaussian of Eq. 8.38: mean ``a * x + b * x_m`` and variance ``var`` (per coordinate).

    Attributes
    ----------
    a, b : float
        :math:`v_l(\rho_l^2-\rho_m^2)/\rho_l` and :math:`v_l\rho_m/(\rho_l v_m)`.
    var : float
        :math:`v_l^2(\rho_l^2-\rho_m^2)/\rho_l^2`.
    """

    a: float
    b: float
    var: float


def _level(l, name: str, L: int) -> int:
    return check_int(l, name, minimum=0, maximum=L)


def _pair(schedule, l, m):
    schedule = check_schedule(schedule)
    l = _level(l, "l", schedule.L)
    m = _level(m, "m", schedule.L)
    if m <= l:
        raise ValueError(f"m must come after l (m > l); got l = {l}, m = {m}.")
    return schedule, l, m


def marginal(schedule: Schedule, l: int) -> tuple[float, float]:
    r"""Scale and variance of Eq. 8.36 at level ``l``: :math:`(v_l\rho_l,\ v_l^2)`."""
    schedule = check_schedule(schedule)
    l = _level(l, "l", schedule.L)
    return float(schedule.v[l] * schedule.rho[l]), float(schedule.v[l] ** 2)


def transition(schedule: Schedule, l: int, m: int) -> Transition:
    r""":math:`(\beta_{ml}, \gamma_{ml}^2)` of Eq. 8.37 for levels :math:`l < m` (not necessarily consecutive)."""
    schedule, l, m = _pair(schedule, l, m)
    v, rho = schedule.v, schedule.rho
    return Transition(float(v[m] * rho[m] / (v[l] * rho[l])), float(v[m] ** 2 * (1.0 - rho[m] ** 2 / rho[l] ** 2)))


def consecutive_transitions(schedule: Schedule) -> tuple[np.ndarray, np.ndarray]:
    r"""The one-step coefficients :math:`\beta_l = \beta_{l,l-1}` and :math:`\gamma_l^2` for :math:`l = 1..L`.

    For a variance-preserving schedule :math:`\beta_l = \sqrt{\alpha_l}` (a scale) and
    :math:`\gamma_l^2 = 1-\alpha_l`, DDPM's :math:`\beta_t` (a variance).
    """
    schedule = check_schedule(schedule)
    s, v, lam = schedule.scale, schedule.v, schedule.snr
    return s[1:] / s[:-1], v[1:] ** 2 * (1.0 - lam[1:] / lam[:-1])


def iterate_moments(schedule: Schedule, x) -> tuple[np.ndarray, np.ndarray]:
    r"""Run the Markov chain of Eq. 8.31 step by step, exactly, in distribution.

    Starting from the level-0 marginal :math:`\mathcal N(v_0\rho_0\mathbf x, v_0^2\mathbf I)`, each
    consecutive transition maps mean :math:`\to\beta_l\,\text{mean}` and variance
    :math:`\to\beta_l^2\,\text{var} + \gamma_l^2`. The result must agree with Eq. 8.36 at every level.

    Parameters
    ----------
    x : array_like, shape (d,)
        The clean datum.

    Returns
    -------
    means : ndarray, shape (L + 1, d)
    variances : ndarray, shape (L + 1,)
    """
    schedule = check_schedule(schedule)
    x = as_array(x, "x", ndim=1, dims="(d,)")
    beta, gamma2 = consecutive_transitions(schedule)
    means = np.empty((schedule.L + 1, x.shape[0]))
    var = np.empty(schedule.L + 1)
    means[0], var[0] = schedule.scale[0] * x, schedule.v[0] ** 2
    for l in range(1, schedule.L + 1):
        means[l] = beta[l - 1] * means[l - 1]
        var[l] = beta[l - 1] ** 2 * var[l - 1] + gamma2[l - 1]
    return means, var


def noise_data(schedule: Schedule, x0, l, z) -> np.ndarray:
    r"""Corrupt data to level ``l`` in one step: :math:`\check{\mathbf x}_l = v_l(\rho_l\mathbf x_0 + \mathbf z)` (Eq. 8.43).

    Parameters
    ----------
    x0 : array_like, shape (N, d)
    l : int or array of int, shape (N,)
        One level for all rows, or one per row.
    z : array_like, shape (N, d)
        Standard normal noise (drawn by the caller).
    """
    schedule = check_schedule(schedule)
    x0 = as_array(x0, "x0", ndim=2, dims="(N, d)")
    z = as_array(z, "z", shape=x0.shape, dims="(N, d)")
    l = levels(l, "l", schedule.L, x0.shape[0])
    v, rho = schedule.v[l], schedule.rho[l]
    return v[:, None] * (rho[:, None] * x0 + z)


def levels(l, name: str, L: int, N: int, minimum: int = 0) -> np.ndarray:
    """Validate one level or a length-``N`` array of levels in ``[minimum, L]``; return an int array of length ``N``.

    Raises
    ------
    TypeError, ValueError
        If ``L``, ``N`` or ``minimum`` is not a suitable int, or ``l`` is not an integer level (or
        length-``N`` array of levels) in ``[minimum, L]``.
    """
    L = check_int(L, "L", minimum=0)
    N = check_int(N, "N", minimum=0)
    minimum = check_int(minimum, "minimum", minimum=0)
    arr = np.asarray(l)
    if arr.dtype.kind not in "iu" or arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != N):
        raise ValueError(f"{name} must be an integer level or an integer array of shape (N,) = ({N},); "
                         f"got {arr.dtype} array of shape {arr.shape}.")
    if arr.size and (arr.min() < minimum or arr.max() > L):
        raise ValueError(f"{name} must lie in [{minimum}, {L}]; got values from {arr.min()} to {arr.max()}.")
    return np.broadcast_to(arr.astype(np.int64), (N,)).copy()


def posterior_transition(schedule: Schedule, l: int, m: int) -> PosteriorTransition:
    r"""Coefficients of Eq. 8.38, :math:`\check p(\mathbf x_l\mid\mathbf x_m,\mathbf x)`, for levels :math:`l < m`.

    The mean is ``a * x + b * x_m`` and the variance ``var``. With :math:`m = l+1` and a
    variance-preserving schedule these are DDPM's
    :math:`\sqrt{\bar\alpha_{t-1}}\beta_t/(1-\bar\alpha_t)`,
    :math:`\sqrt{\alpha_t}(1-\bar\alpha_{t-1})/(1-\bar\alpha_t)` and
    :math:`\tilde\beta_t = (1-\bar\alpha_{t-1})\beta_t/(1-\bar\alpha_t)`.
    """
    schedule, l, m = _pair(schedule, l, m)
    v, rho = schedule.v, schedule.rho
    dlam = rho[l] ** 2 - rho[m] ** 2
    return PosteriorTransition(float(v[l] / rho[l] * dlam), float(v[l] * rho[m] / (rho[l] * v[m])),
                               float(v[l] ** 2 * dlam / rho[l] ** 2))
