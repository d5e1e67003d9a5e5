r"""The two Monte Carlo gradient estimators of Section 8.2.1, on problems whose variances are known.

Both estimate :math:`\frac{d}{d\phi}\mathbb E_{\check X}[f(\check{\mathbf X})]` (Eq. 8.22 for one
:math:`\mathbf y`) from samples of :math:`\check p(\mathbf x;\phi)`:

* the **score-function** estimator :math:`\frac{d\log\check p(\check{\mathbf x};\phi)}{d\phi}\,
  (f(\check{\mathbf x}) - \beta)`, unbiased for every constant baseline :math:`\beta` because the
  score has mean zero (Appendix B.2);
* the **pathwise** estimator :math:`\frac{d\mathbf g^{\mathsf T}}{d\phi}\frac{\partial f}{\partial\check{\mathbf x}}`
  with :math:`\check{\mathbf x} = \mathbf g(\check{\mathbf z},\phi)` (Eqs. 8.23-8.25).

Two test problems, with every mean and variance in closed form:

1. **Shared mean.** :math:`\check p = \mathcal N(\mu\mathbf 1_K,\mathbf I_K)`, :math:`f(\mathbf x) = x_1^2`,
   :math:`\phi = \mu`. The gradient is :math:`2\mu`. The score is :math:`s = \sum_k\check z_k`, a sum
   over all :math:`K` coordinates although :math:`f` reads only the first, so the score-function
   variance grows linearly in :math:`K` (the draft's factorial argument);
   the pathwise estimator :math:`2(\mu+\check z_1)` has variance 4 for every :math:`K`.
2. **Exponential** (Eq. 8.23). :math:`\check X = -\log(1-\check Z)/\lambda`, :math:`f(x) = x^2`,
   :math:`\frac{d}{d\lambda}\mathbb E[\check X^2] = -4/\lambda^3`.

The general-purpose estimators for a Gaussian variational family, and the sample estimate of the
optimal control-variate coefficient, are :mod:`pedagogy_lib.vi.bbvi`
(:func:`~pedagogy_lib.vi.bbvi.control_variate`); this module adds only the closed forms.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, as_scalar, check_int, positive_scalar

__all__ = [
    "EstimatorTerms",
    "shared_mean_terms",
    "shared_mean_gradient",
    "shared_mean_variances",
    "optimal_baseline",
    "expo_reparameterize",
    "expo_terms",
    "expo_gradient",
    "expo_variances",
]


class EstimatorTerms(NamedTuple):
    """Per-sample estimates, each shape ``(S,)``: ``score_function``, ``pathwise``, and the ``score`` itself."""

    score_function: np.ndarray
    pathwise: np.ndarray
    score: np.ndarray


def _finite_result(values, message: str):
    """``values`` (floats) if all are finite, else a ``ValueError`` with ``message`` (names the arguments)."""
    if not all(np.isfinite(v) for v in values):
        raise ValueError(message)
    return values


def _check_Z(Z):
    Z = as_array(Z, "Z", ndim=2, dims="(S, K)", nonempty=True)
    return Z


def shared_mean_terms(mu, Z, *, beta=0.0) -> EstimatorTerms:
    r"""Single-sample estimates of :math:`d\,\mathbb E[\check X_1^2]/d\mu` for :math:`\check{\mathbf X}\sim\mathcal N(\mu\mathbf 1,\mathbf I)`.

    Score-function and pathwise estimates of the gradient of an expectation, the inner derivative
    of Eq. 8.22 for one datum.

    Parameters
    ----------
    mu : float
        The shared mean :math:`\mu`.
    Z : array_like, shape (S, K)
        Standard normal noise, one sample per row; :math:`\check{\mathbf x} = \mu\mathbf 1 + \check{\mathbf z}`.
    beta : float
        Baseline subtracted from :math:`f` in the score-function estimator.

    Raises
    ------
    ValueError
        If ``mu``, ``Z`` or ``beta`` is malformed or not finite, or so large that the estimates overflow.
    """
    mu = as_scalar(mu, "mu")
    Z = _check_Z(Z)
    beta = as_scalar(beta, "beta")
    x1 = mu + Z[:, 0]
    s = Z.sum(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        terms = EstimatorTerms(s * (x1 * x1 - beta), 2.0 * x1, s)
    if not all(np.all(np.isfinite(v)) for v in terms):
        raise ValueError("the estimates overflow float64: mu, beta and the entries of Z must be moderate "
                         f"(got mu = {mu:.3g}, beta = {beta:.3g}, largest |Z| = {np.max(np.abs(Z)):.3g}).")
    return terms


def shared_mean_gradient(mu) -> float:
    r"""The exact gradient :math:`d\,\mathbb E[\check X_1^2]/d\mu = 2\mu`."""
    return 2.0 * as_scalar(mu, "mu")


def _moments(mu, K):
    m2 = mu * mu
    Es2f = (m2 + 3.0) + (K - 1) * (m2 + 1.0)                                  # E[s^2 f]
    Es2f2 = (m2 * m2 + 18.0 * m2 + 15.0) + (K - 1) * (m2 * m2 + 6.0 * m2 + 3.0)  # E[s^2 f^2]
    return Es2f, Es2f2


def _square_exactly(x):
    """``(hi, lo)`` with ``hi + lo = x * x`` exactly (Dekker's split; ``lo = 0`` where the split would overflow)."""
    hi = x * x
    if not abs(x) < 1e150:
        return hi, 0.0
    c = 134217729.0 * x                                     # 2^27 + 1
    xh = c - (c - x)
    xl = x - xh
    return hi, ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl


def _score_function_variance(mu, K, beta):
    """``E[s^2 f^2] - 2 beta E[s^2 f] + beta^2 K - 4 mu^2`` without cancelling its ``mu^4`` terms.

    Completing the square in ``beta`` about ``beta* = mu^2 + 1 + 2/K`` leaves
    ``K (beta - beta*)^2 + (4K + 4) mu^2 + 2K + 8 - 4/K``, a sum of non-negative terms; ``beta - beta*`` is
    formed from the exact square of ``mu`` so that a ``beta`` near ``beta*`` keeps its digits.
    """
    hi, lo = _square_exactly(mu)
    d = ((beta - hi) - lo) - (1.0 + 2.0 / K)
    return float(K * d * d + (4.0 * K + 4.0) * hi + (2.0 * K + 8.0 - 4.0 / K))


def shared_mean_variances(mu, K: int, *, beta=0.0) -> tuple[float, float]:
    r"""Closed-form variances ``(score_function, pathwise)`` of the single-sample estimators.

    With :math:`s = \sum_k\check z_k` and :math:`f = (\mu+\check z_1)^2`,

    .. math::
        \mathrm{Var}_{\text{SF}} = \mathbb E[s^2f^2] - 2\beta\,\mathbb E[s^2f] + \beta^2K - 4\mu^2,\qquad
        \mathrm{Var}_{\text{path}} = 4,

    where :math:`\mathbb E[s^2f^2] = (\mu^4+18\mu^2+15) + (K-1)(\mu^4+6\mu^2+3)` (derived on the
    page of Section 8.2.1) and :math:`\mathbb E[s^2f]` is worked out the same way (an exercise there).

    Raises
    ------
    ValueError
        If an argument is malformed, or ``mu`` or ``beta`` so large that the variance overflows float64.
    """
    mu = as_scalar(mu, "mu")
    K = check_int(K, "K", minimum=1)
    beta = as_scalar(beta, "beta")
    with np.errstate(over="ignore", invalid="ignore"):
        var_sf = _score_function_variance(np.float64(mu), K, np.float64(beta))
    _finite_result((var_sf,), f"the variance overflows float64: mu (got {mu:.3g}) and beta (got {beta:.3g}) "
                              "must be moderate.")
    return var_sf, 4.0


def optimal_baseline(mu, K: int) -> float:
    r"""The variance-minimizing constant baseline :math:`\beta^* = \mathbb E[s^2f]/\mathbb E[s^2]`, with :math:`\mathbb E[s^2] = K`.

    Raises
    ------
    ValueError
        If ``mu`` or ``K`` is malformed, or ``mu`` so large that the baseline overflows float64.
    """
    mu = as_scalar(mu, "mu")
    K = check_int(K, "K", minimum=1)
    with np.errstate(over="ignore", invalid="ignore"):
        beta = float(_moments(np.float64(mu), K)[0] / K)
    return _finite_result((beta,), f"the baseline overflows float64: mu must be moderate (got {mu:.3g}).")[0]


def expo_reparameterize(lam, Z) -> np.ndarray:
    r"""Eq. 8.23: :math:`\check X = -\log(1-\check Z)/\lambda` for uniform :math:`\check Z\in[0,1)`; any shape."""
    lam = positive_scalar(lam, "lam")
    Z = as_array(Z, "Z", nonempty=True)
    if np.any((Z < 0) | (Z >= 1)):
        raise ValueError("Z must lie in [0, 1) (uniform variates); got values outside it.")
    return -np.log1p(-Z) / lam


def expo_terms(lam, Z) -> EstimatorTerms:
    r"""Single-sample estimates of :math:`d\,\mathbb E[\check X^2]/d\lambda` for :math:`\check X\sim\mathrm{Expo}(\lambda)`.

    As in :func:`shared_mean_terms`, estimates of the inner derivative of Eq. 8.22.

    Pathwise: :math:`2\check x\,\partial g/\partial\lambda = -2\check x^2/\lambda`; score function:
    :math:`\check x^2(1/\lambda - \check x)`, with score :math:`1/\lambda - \check x`. ``Z`` is a 1-D
    array of uniform variates.

    Raises
    ------
    ValueError
        If ``lam`` is not positive, ``Z`` is not in [0, 1), or the estimates overflow float64.
    """
    Z = as_array(Z, "Z", ndim=1, dims="(S,)", nonempty=True)
    x = expo_reparameterize(lam, Z)
    lam = float(lam)
    with np.errstate(over="ignore", invalid="ignore"):
        s = 1.0 / lam - x
        terms = EstimatorTerms(x * x * s, -2.0 * x * x / lam, s)
    if not all(np.all(np.isfinite(v)) for v in terms):
        raise ValueError(f"the estimates overflow float64: lam is too small (got {lam:.3g}).")
    return terms


def expo_gradient(lam) -> float:
    r""":math:`d\,\mathbb E[\check X^2]/d\lambda = d(2/\lambda^2)/d\lambda = -4/\lambda^3`.

    Raises
    ------
    ValueError
        If ``lam`` is not a positive finite number, or so small that the gradient overflows float64.
    """
    lam = positive_scalar(lam, "lam")
    with np.errstate(over="ignore", under="ignore"):
        g = float(-4.0 * np.float64(1.0 / lam) ** 3)
    return _finite_result((g,), f"the gradient overflows float64: lam is too small (got {lam:.3g}).")[0]


def expo_variances(lam) -> tuple[float, float]:
    r"""Closed-form variances ``(score_function, pathwise)``: :math:`488/\lambda^6` and :math:`80/\lambda^6`
    (from :math:`\mathbb E[\check X^n] = n!/\lambda^n`).

    Raises
    ------
    ValueError
        If ``lam`` is not a positive finite number, or so small that the variances overflow float64.
    """
    lam = positive_scalar(lam, "lam")
    with np.errstate(over="ignore", under="ignore"):
        r6 = np.float64(1.0 / lam) ** 6
    return _finite_result((float(488.0 * r6), float(80.0 * r6)),
                          f"the variances overflow float64: lam is too small (got {lam:.3g}).")
