r""""Local" NCE (Section 10.1.3, Eqs. 10.12-10.13), the objective of wav2vec.

The data are InfoNCE's (Eq. 10.5: one positive among :math:`K` examples), but the model treats the
:math:`K` examples as independent and each as equally likely to be data or noise. The probability
it gives to "example :math:`i` is the positive and the others are not" is then a product of the
binary NCE posteriors of Eq. 10.2 (Eq. 10.12),

.. math::
    \sigma\{h(\mathbf y^i)\}\prod_{j\ne i}\big(1-\sigma\{h(\mathbf y^j)\}\big),

which, summed over :math:`i`, falls short of one: the model also believes in trials with no
positive or several. The loss (Eq. 10.13) is one binary-NCE term for the positive and one for
each of the :math:`K-1` negatives,

.. math::
    \mathcal L = -\big\langle\log\sigma\{h(\mathbf Y^+)\} + \textstyle\sum_{j\ne +}\log\sigma\{-h(\mathbf Y^j)\}\big\rangle .

Pointwise, :math:`p(\mathbf y)\sigma\{-h\} = (K-1)p_n(\mathbf y)\sigma\{h\}` at the minimum, so
:math:`h^* = \log p - \log p_n - \log(K-1)`: with :math:`h = E_n - E` the learned energy is
:math:`-\log p + \log(K-1)`, and a learned log normalizer comes out :math:`\log(K-1)` too large
(:func:`local_nce_offset`). Binary NCE (Eq. 10.4) has no such offset, and InfoNCE (Eq. 10.7) leaves
the offset undetermined.

Energies are linear in their parameters, as in :mod:`pedagogy_lib.contrastive.nce`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_int, check_rng, positive_scalar
from .nce import (NCEResult, gaussian_energy_params, gaussian_noise_energy, newton_minimize, quadratic_features,
                  quadratic_log_mass, sigmoid, softplus)

__all__ = [
    "LocalNCEGaussianFit",
    "local_nce_posterior",
    "local_nce_loss",
    "local_nce_grad",
    "local_nce_hessian",
    "fit_local_nce",
    "local_nce_offset",
    "local_nce_gaussian",
]


class LocalNCEGaussianFit(NamedTuple):
    r"""Result of :func:`local_nce_gaussian`: the energy :math:`\tfrac12 a y^2 - m y + c` fitted by local NCE.

    Attributes
    ----------
    theta : ndarray, shape (3,)
    mu, var : float
    c : float
        The learned log normalizer (biased by :math:`\log(K-1)`).
    log_mass : float
        :math:`\log\int e^{-E}`; about :math:`-\log(K-1)` rather than zero (``inf`` when the fitted
        ``a`` is not positive: no normalizable Gaussian).
    fit : NCEResult
    """

    theta: np.ndarray
    mu: float
    var: float
    c: float
    log_mass: float
    fit: NCEResult


def local_nce_posterior(h) -> np.ndarray:
    r"""Eq. 10.12 for every :math:`i`: :math:`\sigma\{h_i\}\prod_{j\ne i}(1-\sigma\{h_j\})`.

    Parameters
    ----------
    h : array_like, shape (..., K)
        Energy differences (Eq. 10.3) of the :math:`K` examples of each trial, :math:`K\ge 2`.

    Returns
    -------
    ndarray, shape (..., K)
        Not normalized over :math:`i`.
    """
    h = as_array(h, "h")
    if h.ndim < 1 or h.shape[-1] < 2:
        raise ValueError(f"h must have K >= 2 examples along its last axis; got shape {h.shape}.")
    log_neg = -softplus(h)                               # log(1 - sigma(h))
    log_pos = -softplus(-h)
    return np.exp(log_pos - log_neg + log_neg.sum(axis=-1, keepdims=True))


def _check_data(T_pos, T_neg, En_pos, En_neg):
    T_pos = as_array(T_pos, "T_pos", ndim=2, dims="(N, P)", nonempty=True)
    N, P = T_pos.shape
    T_neg = as_array(T_neg, "T_neg", ndim=3, dims="(N, K-1, P)", nonempty=True)
    if T_neg.shape[0] != N or T_neg.shape[2] != P:
        raise ValueError(f"T_neg must have shape (N, K-1, P) = ({N}, any, {P}); got {T_neg.shape}.")
    En_pos = as_array(En_pos, "En_pos", shape=(N,), dims="(N,)")
    En_neg = as_array(En_neg, "En_neg", shape=T_neg.shape[:2], dims="(N, K-1)")
    return T_pos, T_neg, En_pos, En_neg


def _terms(theta, T_pos, T_neg, En_pos, En_neg):
    return En_pos - T_pos @ theta, En_neg - T_neg @ theta


def _loss(theta, *data):
    h_pos, h_neg = _terms(theta, *data)
    return float(softplus(-h_pos).mean() + softplus(h_neg).sum(axis=1).mean())


def _grad(theta, T_pos, T_neg, En_pos, En_neg):
    h_pos, h_neg = _terms(theta, T_pos, T_neg, En_pos, En_neg)
    N = len(h_pos)
    return (sigmoid(-h_pos) @ T_pos - np.einsum("nk,nkp->p", sigmoid(h_neg), T_neg)) / N


def _hess(theta, T_pos, T_neg, En_pos, En_neg):
    h_pos, h_neg = _terms(theta, T_pos, T_neg, En_pos, En_neg)
    w_pos = sigmoid(h_pos) * sigmoid(-h_pos)
    w_neg = sigmoid(h_neg) * sigmoid(-h_neg)
    N = len(h_pos)
    return ((T_pos.T * w_pos) @ T_pos + np.einsum("nk,nkp,nkq->pq", w_neg, T_neg, T_neg)) / N


def _check_theta(theta, P):
    return as_array(theta, "theta", shape=(P,), dims="(P,)")


def local_nce_loss(theta, T_pos, T_neg, En_pos, En_neg) -> float:
    r"""The local-NCE loss of Eq. 10.13 for the energy :math:`E(\mathbf y;\boldsymbol\theta) = \mathbf T(\mathbf y)^T\boldsymbol\theta`.

    Parameters
    ----------
    theta : array_like, shape (P,)
    T_pos : array_like, shape (N, P)
        Features of the positive example of each of :math:`N` trials.
    T_neg : array_like, shape (N, K-1, P)
        Features of its :math:`K-1` negatives.
    En_pos, En_neg : array_like, shapes (N,), (N, K-1)
        The noise energy at each example.
    """
    data = _check_data(T_pos, T_neg, En_pos, En_neg)
    return _loss(_check_theta(theta, data[0].shape[1]), *data)


def local_nce_grad(theta, T_pos, T_neg, En_pos, En_neg) -> np.ndarray:
    r"""Gradient of Eq. 10.13 with respect to :math:`\boldsymbol\theta`, shape ``(P,)``; arguments as :func:`local_nce_loss`."""
    data = _check_data(T_pos, T_neg, En_pos, En_neg)
    return _grad(_check_theta(theta, data[0].shape[1]), *data)


def local_nce_hessian(theta, T_pos, T_neg, En_pos, En_neg) -> np.ndarray:
    r"""Hessian of Eq. 10.13 (positive semidefinite); arguments as :func:`local_nce_loss`."""
    data = _check_data(T_pos, T_neg, En_pos, En_neg)
    return _hess(_check_theta(theta, data[0].shape[1]), *data)


def fit_local_nce(T_pos, T_neg, En_pos, En_neg, theta0=None, *, max_iter: int = 100,
                  tol: float = 1e-10) -> NCEResult:
    r"""Minimize Eq. 10.13 by damped Newton (:func:`pedagogy_lib.contrastive.nce.newton_minimize`).

    Arguments as :func:`local_nce_loss`; ``theta0`` defaults to zeros.
    """
    data = _check_data(T_pos, T_neg, En_pos, En_neg)
    P = data[0].shape[1]
    theta0 = np.zeros(P) if theta0 is None else _check_theta(theta0, P)
    return newton_minimize(lambda t: _loss(t, *data), lambda t: _grad(t, *data), lambda t: _hess(t, *data),
                           theta0, max_iter=max_iter, tol=tol)


def local_nce_offset(K: int) -> float:
    r""":math:`\log(K-1)`, the amount by which local NCE's learned log normalizer exceeds the true one."""
    K = check_int(K, "K", minimum=2)
    return float(np.log(K - 1))


def local_nce_gaussian(y, mu_n, var_n, K: int, *, rng) -> LocalNCEGaussianFit:
    r"""Fit :math:`\tfrac12 a y^2 - m y + c` by local NCE: each datum with :math:`K-1` Gaussian negatives.

    Each trial is a draw from the data distribution of Eq. 10.5: one positive from the data and
    :math:`K-1` examples from the noise.

    Parameters
    ----------
    y : array_like, shape (N,)
        The positives, one per trial.
    mu_n : float
    var_n : float
        Noise mean and (positive) variance.
    K : int
        Examples per trial, at least 2.
    rng : numpy.random.Generator

    Returns
    -------
    LocalNCEGaussianFit

    Raises
    ------
    ValueError, TypeError
        If an argument is malformed, or the fit overflows float64 (``y`` on an extreme scale
        against the noise).
    """
    y = as_array(y, "y", ndim=1, dims="(N,)", nonempty=True)
    mu_n = float(as_array(mu_n, "mu_n", ndim=0))
    var_n = positive_scalar(var_n, "var_n")
    K = check_int(K, "K", minimum=2)
    rng = check_rng(rng)
    N = len(y)
    y_neg = mu_n + np.sqrt(var_n) * rng.standard_normal((N, K - 1))
    T_neg = quadratic_features(y_neg.ravel()).reshape(N, K - 1, 3)
    fit = fit_local_nce(quadratic_features(y), T_neg, gaussian_noise_energy(y, mu_n, var_n),
                        gaussian_noise_energy(y_neg, mu_n, var_n), gaussian_energy_params(mu_n, var_n))
    if not (np.all(np.isfinite(fit.theta)) and np.isfinite(fit.loss) and np.isfinite(fit.grad_norm)):
        raise ValueError("the fit overflows float64: y must be on a scale comparable to the noise (largest |y| = "
                         f"{np.max(np.abs(y)):.3g}, mu_n = {mu_n:.3g}, var_n = {var_n:.3g}).")
    a, m, c = fit.theta
    log_mass = quadratic_log_mass(fit.theta) if a > 0 else float("inf")
    return LocalNCEGaussianFit(fit.theta, float(m / a), float(1.0 / a), float(c), log_mass, fit)
