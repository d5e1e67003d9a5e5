r"""Noise schedules in the book's :math:`(v_l, \rho_l)` notation (Section 8.3.1, Eq. 8.36).

The draft defines the forward (recognition) process through its marginals,

.. math::
    \check p(\mathbf x_l\mid\mathbf x) = \mathcal N(v_l\rho_l\mathbf x,\ v_l^2\mathbf I), \qquad
    l = 0, 1, \dots, L,

so that :math:`\check{\mathbf X}_l = v_l(\rho_l\mathbf x + \check{\mathbf Z})` (Eq. 8.43) and
:math:`\lambda_l := \rho_l^2` is the signal-to-noise ratio, which must decrease with :math:`l`.
Section 8.3 never picks a schedule; this module supplies three families, each fixed by its
endpoints :math:`\lambda_0 = \lambda_\max` and :math:`\lambda_L = \lambda_\min`:

* ``"log_snr"``: :math:`\log\lambda` linear in :math:`u = l/L`;
* ``"cosine"``: :math:`\lambda(u) = \cot^2(a + u(b-a))` with :math:`\tan a = \lambda_\max^{-1/2}`,
  :math:`\tan b = \lambda_\min^{-1/2}` (the cosine schedule of improved DDPM, shifted so that it
  hits both endpoints);
* :func:`ddpm_schedule`: DDPM's discrete variances :math:`\beta_t` (e.g. linear in :math:`t`).

**Level 0 is lightly noised data.** Taken literally the draft's :math:`\check{\mathbf X}_0` is the
clean datum, :math:`v_0 = 0` and :math:`\rho_0 = \infty`, which makes the weight
:math:`(\rho_0^2-\rho_1^2)/2` of the :math:`l = 1` term of Eq. 8.41 and the variance
:math:`\sigma_1^2` infinite or zero. Here, as in variational diffusion models, level 0 has a
finite SNR :math:`\lambda_\max` (see the errata page).

Two scalings of the same process
--------------------------------
A schedule fixes only :math:`\lambda_l`; the scale :math:`v_l\rho_l` of the signal is a second
choice (``kind``):

* **variance preserving** (``"vp"``, DDPM): :math:`v_l^2 = 1/(1+\lambda_l)`, so
  :math:`v_l^2\rho_l^2 + v_l^2 = 1`. In DDPM's symbols :math:`v_l = \sqrt{1-\bar\alpha_l}`,
  :math:`v_l\rho_l = \sqrt{\bar\alpha_l}` and :math:`\lambda_l = \bar\alpha_l/(1-\bar\alpha_l)`.
  Between consecutive levels the book's transition
  :math:`\check p(\mathbf x_l\mid\mathbf x_{l-1}) = \mathcal N(\beta_l\mathbf x_{l-1},\gamma_l^2\mathbf I)`
  has :math:`\beta_l = \sqrt{\alpha_l}` and :math:`\gamma_l^2 = 1-\alpha_l`. **Name clash:** the
  book's :math:`\beta_l` is a *scale* (close to 1), while DDPM's :math:`\beta_t = 1-\alpha_t` is a
  *variance* (close to 0), and equals the book's :math:`\gamma_l^2`.
* **variance exploding** (``"ve"``, score-based models / NCSN): :math:`v_l\rho_l = 1`, so
  :math:`\check{\mathbf X}_l = \mathbf x + \sigma_l\check{\mathbf Z}` with
  :math:`\sigma_l = v_l = 1/\rho_l`. Any schedule becomes this one after dividing
  :math:`\check{\mathbf x}_l` by :math:`v_l\rho_l` (:func:`ve_sigmas`).

In the variational-diffusion notation :math:`\alpha_t\leftrightarrow v_l\rho_l`,
:math:`\sigma_t\leftrightarrow v_l` and :math:`\mathrm{SNR}(t)\leftrightarrow\rho_l^2`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_choice, check_int, positive_scalar

__all__ = [
    "Schedule",
    "FAMILIES",
    "KINDS",
    "snr_curve",
    "make_schedule",
    "ddpm_schedule",
    "schedule_from_snr",
    "to_ddpm",
    "ve_sigmas",
    "check_schedule",
]

FAMILIES = ("log_snr", "cosine")
KINDS = ("vp", "ve")


class Schedule(NamedTuple):
    r"""A forward process in the book's notation (Eq. 8.36), levels :math:`l = 0, \dots, L`.

    Attributes
    ----------
    v : ndarray, shape (L + 1,)
        Noise scales :math:`v_l` (the marginal standard deviation given the datum).
    rho : ndarray, shape (L + 1,)
        :math:`\rho_l`, so the signal is scaled by :math:`v_l\rho_l`; :math:`\lambda_l = \rho_l^2`
        strictly decreases.
    """

    v: np.ndarray
    rho: np.ndarray

    @property
    def L(self) -> int:
        """Number of steps :math:`L` (levels minus one)."""
        return self.v.shape[0] - 1

    @property
    def snr(self) -> np.ndarray:
        r""":math:`\lambda_l = \rho_l^2`, shape (L + 1,)."""
        return self.rho ** 2

    @property
    def scale(self) -> np.ndarray:
        r"""Signal scale :math:`v_l\rho_l`, shape (L + 1,)."""
        return self.v * self.rho


#: Range of the entries of ``v`` and ``rho``: their squares and reciprocal squares stay float64 numbers.
SCALE_RANGE = (1e-150, 1e150)


def check_schedule(schedule, name: str = "schedule") -> Schedule:
    """Validate a :class:`Schedule`: positive ``v`` and ``rho`` of equal length, SNR strictly decreasing.

    Raises
    ------
    TypeError
        If a field is not real and numeric.
    ValueError
        If ``schedule`` is not a :class:`Schedule`, ``v`` and ``rho`` are not finite vectors of one
        length of at least 2, an entry is not positive or lies outside :data:`SCALE_RANGE`, or
        :math:`\\rho_l^2` does not decrease strictly.
    """
    if not isinstance(schedule, Schedule):
        raise ValueError(f"{name} must be a Schedule(v, rho); got {type(schedule).__name__}.")
    v = as_array(schedule.v, f"{name}.v", ndim=1, dims="(L + 1,)")
    rho = as_array(schedule.rho, f"{name}.rho", shape=(v.shape[0],), dims="(L + 1,)")
    if v.shape[0] < 2:
        raise ValueError(f"{name} must have at least two levels (L >= 1); got {v.shape[0]}.")
    if np.any(v <= 0) or np.any(rho <= 0):
        raise ValueError(f"{name}.v and {name}.rho must be positive; got min v = {v.min():.3g}, "
                         f"min rho = {rho.min():.3g}.")
    for field, a in (("v", v), ("rho", rho)):      # squares and reciprocal squares must be float64 numbers
        if a.min() < SCALE_RANGE[0] or a.max() > SCALE_RANGE[1]:
            raise ValueError(f"{name}.{field} must lie in [{SCALE_RANGE[0]:g}, {SCALE_RANGE[1]:g}] (its squares and "
                             f"their reciprocals enter the formulas); got values from {a.min():.3g} to {a.max():.3g}.")
    lam = rho ** 2
    if np.any(np.diff(lam) >= 0):
        l = int(np.argmax(np.diff(lam) >= 0)) + 1
        raise ValueError(f"{name}: the SNR rho_l^2 must decrease strictly with l (Eq. 8.36); "
                         f"rho_{l}^2 = {lam[l]:.6g} >= rho_{l - 1}^2 = {lam[l - 1]:.6g}.")
    return Schedule(v, rho)


def snr_curve(u, family: str, lam_min: float, lam_max: float) -> tuple[np.ndarray, np.ndarray]:
    r"""The continuous SNR :math:`h(u)` on :math:`u\in[0,1]` and its derivative :math:`h'(u)`.

    The draft's continuous-time limit (Section 8.3.1, "Implementation") sets
    :math:`h(l/L) = \rho_l^2`; :math:`h(0) = \lambda_\max`, :math:`h(1) = \lambda_\min`, and
    :math:`h' < 0`.

    Parameters
    ----------
    u : array_like
        Points in :math:`[0, 1]`.
    family : {"log_snr", "cosine"}
    lam_min, lam_max : float
        Endpoints, :math:`10^{-300} \le \lambda_\min < \lambda_\max \le 10^{300}` (:data:`SNR_RANGE`),
        hit exactly: :math:`h(0)` is ``lam_max`` and :math:`h(1)` is ``lam_min`` to the bit. The
        cosine curve is evaluated as :math:`\cot^2 t` for :math:`t \le \pi/4` and as
        :math:`\tan^2(\pi/2 - t)` beyond, each angle measured from its own endpoint, so it keeps
        full relative accuracy at SNRs far below machine epsilon.

    Returns
    -------
    h, dh : ndarray
        Same shape as ``u``. ``dh`` overflows to ``-inf`` where :math:`|h'|` exceeds the float64
        range (cosine with ``lam_max`` above about 1e200).
    """
    family = check_choice(family, "family", FAMILIES)
    lam_min, lam_max = _check_snr_range(lam_min, lam_max)
    u = as_array(u, "u")
    if np.any((u < 0) | (u > 1)):
        raise ValueError(f"u must lie in [0, 1]; got values from {u.min():.6g} to {u.max():.6g}.")
    if family == "log_snr":
        c = np.log(lam_min) - np.log(lam_max)           # not log(lam_min / lam_max): that ratio can underflow
        # as powers, not exp(log lam_max + c u): an exponent near 690 carries 1e-13 of rounding
        h = lam_max ** (1.0 - u) * lam_min ** u
        h = np.where(u == 0, lam_max, np.where(u == 1, lam_min, h))
        return h, c * h
    # lambda = cot^2(t) = tan^2(pi/2 - t), t from a to pi/2 - b'. Near pi/2 the angle itself has lost
    # the digits of a tiny lambda (cot(pi/2) is 6e-17 in float64), so the half of the curve past pi/4
    # is computed from its complement t' = pi/2 - t, measured from b' = arctan(lam_min^(1/2)); each
    # half is then accurate to a few ulps, and the endpoints are exact.
    a, b_c = np.arctan(lam_max ** -0.5), np.arctan(np.sqrt(lam_min))
    r_hi, r_lo = np.sqrt(lam_max), np.sqrt(lam_min)
    w = np.arctan((r_hi - r_lo) / (1.0 + r_hi * r_lo))  # the angle swept, arctan r_hi - arctan r_lo, no cancellation
    t, t_c = a + u * w, b_c + (1.0 - u) * w
    with np.errstate(divide="ignore", over="ignore"):
        h = np.where(t <= t_c, 1.0 / np.tan(np.minimum(t, t_c)) ** 2, np.tan(np.minimum(t, t_c)) ** 2)
        h = np.where(u == 0, lam_max, np.where(u == 1, lam_min, h))
        dh = -2.0 * w * np.sqrt(h) * (1.0 + h)          # d/du cot^2(t) = -2 w cot(t) (1 + cot^2(t))
    return h, dh


#: Range of the schedules' SNRs lambda = rho^2 (rho must lie in :data:`SCALE_RANGE`).
SNR_RANGE = (1e-300, 1e300)


def _check_snr_range(lam_min, lam_max):
    lam_min = positive_scalar(lam_min, "lam_min")
    lam_max = positive_scalar(lam_max, "lam_max")
    if lam_min < SNR_RANGE[0]:
        raise ValueError(f"lam_min must be at least {SNR_RANGE[0]:g} (rho = sqrt(lambda) must lie in "
                         f"[{SCALE_RANGE[0]:g}, {SCALE_RANGE[1]:g}]); got {lam_min:.6g}.")
    if lam_max > SNR_RANGE[1]:
        raise ValueError(f"lam_max must be at most {SNR_RANGE[1]:g} (rho = sqrt(lambda) must lie in "
                         f"[{SCALE_RANGE[0]:g}, {SCALE_RANGE[1]:g}]); got {lam_max:.6g}.")
    if lam_min >= lam_max:
        raise ValueError(f"lam_min must be below lam_max; got lam_min = {lam_min:.6g}, lam_max = {lam_max:.6g}.")
    return lam_min, lam_max


def schedule_from_snr(lam, kind: str = "vp") -> Schedule:
    r"""The schedule with SNRs ``lam`` (:math:`\lambda_0 > \dots > \lambda_L`) in the chosen scaling.

    ``"vp"``: :math:`v_l = (1+\lambda_l)^{-1/2}`; ``"ve"``: :math:`v_l = \lambda_l^{-1/2}`
    (so :math:`v_l\rho_l = 1`). In both :math:`\rho_l = \sqrt{\lambda_l}`.
    """
    kind = check_choice(kind, "kind", KINDS)
    lam = as_array(lam, "lam", ndim=1, dims="(L + 1,)")
    if lam.shape[0] < 2 or np.any(lam <= 0):
        raise ValueError(f"lam must hold at least two positive SNRs; got {lam!r}.")
    rho = np.sqrt(lam)
    v = 1.0 / np.sqrt(1.0 + lam) if kind == "vp" else 1.0 / rho
    return check_schedule(Schedule(v, rho), "the schedule built from lam")


def make_schedule(L: int, family: str = "log_snr", *, lam_min: float = 1e-3, lam_max: float = 1e3,
                  kind: str = "vp") -> Schedule:
    r"""A schedule of ``L`` steps from one of :data:`FAMILIES`: :math:`\lambda_l = h(l/L)`.

    Parameters
    ----------
    L : int
        Number of steps, at least 1.
    family : {"log_snr", "cosine"}
        See :func:`snr_curve`.
    lam_min, lam_max : float
        :math:`\lambda_L` and :math:`\lambda_0`, returned exactly, with
        :math:`10^{-300} \le \lambda_\min < \lambda_\max \le 10^{300}` (:data:`SNR_RANGE`; a value
        outside is refused naming it).
    kind : {"vp", "ve"}
        Variance preserving or variance exploding scaling (module docstring).
    """
    L = check_int(L, "L", minimum=1)
    lam, _ = snr_curve(np.arange(L + 1) / L, family, lam_min, lam_max)
    return schedule_from_snr(lam, kind)


def ddpm_schedule(betas, lam_max: float | None = None) -> Schedule:
    r"""The variance-preserving schedule of DDPM's variances :math:`\beta_1, \dots, \beta_L`.

    :math:`\bar\alpha_l = \prod_{k\le l}(1-\beta_k)` gives :math:`\lambda_l = \bar\alpha_l/(1-\bar\alpha_l)`
    for :math:`l \ge 1`. DDPM's level 0 is the clean datum (:math:`\lambda_0 = \infty`); here it gets
    the finite SNR ``lam_max`` (default :math:`10\lambda_1`), see the module docstring.

    Parameters
    ----------
    betas : array_like, shape (L,)
        DDPM's per-step variances in :math:`(0, 1)`: the book's :math:`\gamma_l^2`, not its :math:`\beta_l`.
    lam_max : float, optional
        Must exceed :math:`\lambda_1`.

    The SNRs are computed in logs, :math:`\log\bar\alpha_l = \sum_{k\le l}\log(1-\beta_k)` and
    :math:`1-\bar\alpha_l` by ``expm1``, so variances far below machine epsilon (``1e-20``, where
    :math:`1-\beta` rounds to 1) keep every digit.

    Raises
    ------
    ValueError
        If ``betas`` is not a finite non-empty vector in :math:`(0, 1)`, gives SNRs outside
        :math:`[10^{-300}, 10^{300}]` (the range of a schedule's :math:`\rho^2`) or not strictly
        decreasing in double precision (each message names ``betas``), or ``lam_max`` is not above
        :math:`\lambda_1` and at most :math:`10^{300}`.
    """
    betas = as_array(betas, "betas", ndim=1, dims="(L,)", nonempty=True)
    if np.any((betas <= 0) | (betas >= 1)):
        raise ValueError(f"betas must lie in (0, 1) (they are variances); got values from {betas.min():.3g} "
                         f"to {betas.max():.3g}.")
    # in logs: 1 - beta rounds to 1 for beta below 1e-16, and 1 - abar to 0, so the direct route makes
    # lambda infinite; log abar = sum log1p(-beta) and 1 - abar = -expm1(log abar) keep every digit
    log_abar = np.cumsum(np.log1p(-betas))
    with np.errstate(divide="ignore", over="ignore"):
        log_lam = log_abar - np.log(-np.expm1(log_abar))
    lo, hi = (2.0 * np.log(b) for b in SCALE_RANGE)          # rho = sqrt(lambda) must lie in SCALE_RANGE
    if not (np.all(log_lam >= lo) and np.all(log_lam <= hi)):
        why = (f"betas[0] = {betas[0]:.3g} is too small (it must be at least about {SCALE_RANGE[1] ** -2:g})"
               if log_lam.max() > hi else f"the product of the 1 - beta_l falls below about {SCALE_RANGE[0] ** 2:g} "
               "(the betas are too large, or too many)")
        raise ValueError(f"betas give SNRs abar_l / (1 - abar_l) from exp({log_lam.min():.4g}) to "
                         f"exp({log_lam.max():.4g}), outside [{SCALE_RANGE[0] ** 2:g}, {SCALE_RANGE[1] ** 2:g}] (the "
                         f"range of a schedule's rho^2): {why}.")
    if np.any(np.diff(log_lam) >= 0):
        l = int(np.argmax(np.diff(log_lam) >= 0)) + 1
        raise ValueError(f"betas[{l}] = {betas[l]:.3g} is too small to lower the SNR after betas[{l - 1}] = "
                         f"{betas[l - 1]:.3g} in double precision (abar_l rounds to abar_(l-1)); the SNR must decrease "
                         "strictly.")
    lam = np.exp(log_abar) / -np.expm1(log_abar)            # in range (checked above): no exp(log) round trip
    if lam_max is None:
        lam0 = 10.0 * lam[0]
        if lam0 > SCALE_RANGE[1] ** 2:
            raise ValueError(f"betas[0] = {betas[0]:.3g} is too small for the default lam_max = 10 x the SNR of "
                             f"level 1 ({lam0:.3g}) to lie within {SCALE_RANGE[1] ** 2:g}; pass lam_max, or a larger "
                             "betas[0].")
    else:
        lam0 = positive_scalar(lam_max, "lam_max")
        if lam0 <= lam[0]:
            raise ValueError(f"lam_max must exceed the SNR of level 1, {lam[0]:.6g}; got {lam0:.6g}.")
        if lam0 > SCALE_RANGE[1] ** 2:
            raise ValueError(f"lam_max must be at most {SCALE_RANGE[1] ** 2:g} (rho_0 = sqrt(lam_max) at most "
                             f"{SCALE_RANGE[1]:g}); got {lam0:.6g}.")
    return schedule_from_snr(np.concatenate([[lam0], lam]), "vp")


def to_ddpm(schedule: Schedule) -> tuple[np.ndarray, np.ndarray]:
    r"""DDPM's :math:`(\bar\alpha_l, \beta_l)` of a variance-preserving schedule.

    Returns
    -------
    alpha_bar : ndarray, shape (L + 1,)
        :math:`\bar\alpha_l = (v_l\rho_l)^2` (level 0 included, below 1 since :math:`\lambda_0` is finite).
    betas : ndarray, shape (L,)
        DDPM's :math:`\beta_l = 1 - \bar\alpha_l/\bar\alpha_{l-1}` for :math:`l = 1..L`: the book's
        :math:`\gamma_l^2` (a variance; the book's own :math:`\beta_l` is :math:`\sqrt{1-\beta^{\rm DDPM}_l}`).
    """
    schedule = check_schedule(schedule)
    total = schedule.scale ** 2 + schedule.v ** 2
    if np.max(np.abs(total - 1.0)) > 1e-10:
        raise ValueError("schedule must be variance preserving (v_l^2 rho_l^2 + v_l^2 = 1) to have DDPM "
                         f"coefficients; got v^2 rho^2 + v^2 up to {np.max(np.abs(total - 1)):.3g} away from 1.")
    abar = schedule.scale ** 2
    # 1 - abar_l / abar_{l-1} = (lam_{l-1} - lam_l) v_l^2 / lam_{l-1}: the difference of the SNRs is exact
    # (Sterbenz), where 1 - abar_l / abar_{l-1} cancels to 0 once abar is within 1e-16 of 1 (lam > 1e16)
    lam = schedule.snr
    return abar, (lam[:-1] - lam[1:]) / lam[:-1] * schedule.v[1:] ** 2


def ve_sigmas(schedule: Schedule) -> np.ndarray:
    r"""Noise levels :math:`\sigma_l = 1/\rho_l` of the rescaled variable :math:`\check{\mathbf x}_l/(v_l\rho_l) = \mathbf x + \sigma_l\check{\mathbf z}`."""
    schedule = check_schedule(schedule)
    return 1.0 / schedule.rho
