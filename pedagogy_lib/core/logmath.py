"""Numerically safe log-space helpers: logsumexp, softmax, log-normalization.

Probabilities are kept in log space wherever a product of many small numbers appears (the
softmax posterior of Eq. 2.6, long HMM sequences, particle weights).
"""
from __future__ import annotations

import numpy as np

from .checks import to_float_array

__all__ = ["logsumexp", "softmax", "log_normalize", "sigmoid", "softplus"]


def logsumexp(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Return :math:`\log\sum_k e^{z_k}` along ``axis`` without overflow or underflow.

    The largest entry is subtracted before exponentiating; a slice that is entirely ``-inf``
    gives ``-inf`` (a zero probability) rather than NaN.
    """
    z = to_float_array(z, "z")
    zmax = np.max(z, axis=axis, keepdims=True)
    zmax = np.where(np.isfinite(zmax), zmax, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(z - zmax), axis=axis, keepdims=True)) + zmax
    return np.squeeze(out, axis=axis)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Return :math:`\mathrm{softmax}\{\mathbf z\}_j = e^{z_j}/\sum_k e^{z_k}` along ``axis`` (Eq. 2.6).

    With natural parameters as ``z`` these are the categorical probabilities of Eq. 8.27.

    Adding the same constant to every :math:`z_k` leaves the result unchanged; this is why the
    constant :math:`c` in the GMM logits (Eq. 2.8) never needs computing.
    """
    return np.exp(log_normalize(z, axis=axis))


def log_normalize(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Return ``z - logsumexp(z)`` along ``axis``: log-probabilities that sum (after exp) to one."""
    z = to_float_array(z, "z")
    return z - np.expand_dims(logsumexp(z, axis=axis), axis)


def sigmoid(a) -> np.ndarray:
    r"""Logistic function :math:`\sigma(a) = 1/(1+e^{-a})`, without overflow for any finite ``a``.

    Uses :math:`e^{-|a|} \le 1`: :math:`\sigma(a) = 1/(1+e^{-|a|})` for :math:`a \ge 0` and
    :math:`e^{-|a|}/(1+e^{-|a|})` otherwise.
    """
    a = to_float_array(a, "a")
    e = np.exp(-np.abs(a))
    return np.where(a >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(a) -> np.ndarray:
    r"""Softplus :math:`\log(1+e^{a})`, as :math:`\max(a, 0) + \log(1 + e^{-|a|})` (no overflow for any finite ``a``).

    It is the log-partition function of the Bernoulli distribution in its natural parameter. The
    same value as ``np.logaddexp(0, a)`` to a few units in the last place, from NumPy's vectorized
    ``exp`` and ``log1p`` (about four times faster than ``logaddexp``, whose loop is not vectorized);
    ``log1p`` keeps the small correction :math:`e^{-|a|}` exact when it is below machine precision.
    """
    a = to_float_array(a, "a")
    return np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a)))
