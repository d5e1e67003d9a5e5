r"""Losses for the networks of Section 5.1.3: sample averages of surprisals, with their gradients.

Training a discriminative model minimizes the sample cross entropy of Eq. 5.1, the surprisal
:math:`\mathcal S = -\log\check p(\mathbf x\mid\mathbf y;\phi)` of each target averaged over the data,

.. math::
    \langle\mathcal S\rangle = \frac1N\sum_{n=1}^N -\log\check p(\mathbf x_n\mid\mathbf y_n;\phi).

Each loss here takes the network's output for a batch (one sample per row, shape ``(N, K)``; see
:mod:`~pedagogy_lib.nn.network`) and the targets ``X``, and returns :math:`\langle\mathcal S\rangle`
with its gradient with respect to that output. The ``1/N`` of the average is already inside the
gradient, so backpropagating it (:meth:`~pedagogy_lib.nn.network.Sequential.backward`, Eqs.
5.16-5.17) gives the averaged updates :math:`\langle\mathbf b_l\check{\mathbf z}_{l-1}^{\mathsf T}\rangle`
directly. The ``grad`` is the :math:`d\mathcal S/d\check{\mathbf z}_L` that starts the recursion,
:math:`\mathbf b_L = \mathbf J_L\,d\mathcal S/d\check{\mathbf z}_L` (Eq. 5.16), per row:

* :func:`squared_error`: a unit-variance Gaussian, :math:`\boldsymbol\mu - \mathbf x`;
* :func:`bernoulli_cross_entropy`: Bernoulli from logits (Eq. 5.11's exponential-family form),
  :math:`\sigma(\boldsymbol\eta) - \mathbf x`;
* :func:`categorical_cross_entropy`: categorical from logits, :math:`\mathrm{softmax}(\boldsymbol\eta) - \mathbf x`
  (with :func:`one_hot` to turn labels into targets);
* :func:`gaussian_nll`: a Gaussian with a learned log-variance, two gradients (:class:`GaussianLoss`).

The first three are the "prediction minus target" that every canonical link produces, so the
network's output layer stays linear (``output="identity"`` in :func:`~pedagogy_lib.nn.network.mlp`)
and the loss applies the link. Logits never become probabilities before the logarithm is taken
(:func:`~pedagogy_lib.core.logmath.softplus`, :func:`~pedagogy_lib.core.logmath.log_normalize`),
so the Bernoulli and categorical losses are finite for any finite logits (:func:`gaussian_nll`
raises when a tiny variance makes its surprisal overflow).

Role reversal: in Chapter 5 the network's input is :math:`\mathbf y` and the modelled output is
:math:`\check{\mathbf x}` (draft footnote 2), so the loss targets are called ``X``.
Every loss validates its inputs and raises ``ValueError`` naming the argument.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_finite, check_int, fmt_shape
from ..core.linalg import TAU
from ..core.logmath import log_normalize

__all__ = [
    "Loss",
    "GaussianLoss",
    "squared_error",
    "bernoulli_cross_entropy",
    "categorical_cross_entropy",
    "gaussian_nll",
    "one_hot",
]


class Loss(NamedTuple):
    r"""A loss value and its gradient.

    Attributes
    ----------
    value : float
        :math:`\langle\mathcal S\rangle`, the surprisal averaged over the ``N`` rows (summed over
        output dimensions).
    grad : ndarray, shape (N, K)
        :math:`d\langle\mathcal S\rangle/d(\text{prediction})`, i.e. the per-row gradient divided by ``N``.
    """

    value: float
    grad: np.ndarray


class GaussianLoss(NamedTuple):
    r"""Value and gradients of :func:`gaussian_nll`.

    Attributes
    ----------
    value : float
        Average Gaussian surprisal.
    grad_mu, grad_log_var : ndarray, shape (N, K)
        Gradients of the average with respect to the mean and to the log-variance.
    """

    value: float
    grad_mu: np.ndarray
    grad_log_var: np.ndarray


def _check_pred_target(pred, X, pred_name: str, X_finite: bool = True):
    pred = as_array(pred, pred_name, ndim=2, dims="(N, K)")
    if pred.shape[0] == 0:
        raise ValueError(f"{pred_name} must have at least one row; got shape {fmt_shape(pred.shape)}.")
    if pred.shape[1] == 0:
        raise ValueError(f"{pred_name} must have at least one column; got shape {fmt_shape(pred.shape)}.")
    X = as_array(X, "X", shape=pred.shape, dims="(N, K)", finite=X_finite)
    return pred, X


def squared_error(mu, X) -> Loss:
    r"""Half the squared error, averaged over samples: the unit-variance Gaussian surprisal up to a constant.

    .. math::
        \langle\mathcal S\rangle = \Big\langle \tfrac12\lVert\mathbf x - \boldsymbol\mu\rVert^2\Big\rangle, \qquad
        \frac{d\mathcal S}{d\boldsymbol\mu} = \boldsymbol\mu - \mathbf x,

    the "prediction minus target" form that every canonical link produces (identity link here).
    Note the conventions: scikit-learn's ``mean_squared_error`` averages :math:`(x-\mu)^2` over
    samples *and* outputs without the ½, so it equals ``2 * value / K``.

    Parameters
    ----------
    mu : array_like, shape (N, K)
        Predicted means (the network output :math:`\check{\mathbf z}_L`).
    X : array_like, shape (N, K)
        Targets :math:`\mathbf x`.
    """
    mu, X = _check_pred_target(mu, X, "mu")
    N = mu.shape[0]
    R = mu - X
    return Loss(0.5 * float(np.sum(R * R)) / N, R / N)


def bernoulli_cross_entropy(eta, X) -> Loss:
    r"""Bernoulli cross entropy from logits (natural parameters), computed stably.

    The sample estimate of Eq. 5.1 for Bernoulli outputs.

    With :math:`\mu = \sigma(\eta)`, :math:`-\log\check p(x\mid\eta) = \log(1+e^{\eta}) - x\eta`
    (the exponential-family form of Eq. 5.11, log-partition :math:`A(\eta)` = softplus), so

    .. math::
        \langle\mathcal S\rangle = \Big\langle\sum_k \mathrm{softplus}(\eta_k) - x_k\eta_k\Big\rangle, \qquad
        \frac{d\mathcal S}{d\eta_k} = \sigma(\eta_k) - x_k.

    No probability is ever formed, so logits of :math:`\pm 10^3` give exact, finite losses.

    Parameters
    ----------
    eta : array_like, shape (N, K)
        Logits :math:`\eta = \log\frac{\mu}{1-\mu}`.
    X : array_like, shape (N, K)
        Targets in :math:`[0, 1]` (0/1 labels, or probabilities for soft targets).
    """
    eta, X = _check_pred_target(eta, X, "eta", X_finite=False)    # the range test also refuses NaN and infinities
    if not (0.0 <= X.min() and X.max() <= 1.0):                      # (a NaN makes both comparisons false)
        check_finite(X, "X")
        idx = tuple(int(i) for i in np.argwhere((X < 0) | (X > 1))[0])
        raise ValueError(f"X must lie in [0, 1] for a Bernoulli cross entropy; entry {idx} is {X[idx]:.6g}.")
    N = eta.shape[0]
    # softplus(eta) = max(eta, 0) + log1p(e) and sigmoid(eta) = (1 or e) / (1 + e), as core.logmath writes them,
    # from the one exponential e = exp(-|eta|) <= 1 that they share
    e = np.exp(-np.abs(eta))
    value = float(np.sum(np.maximum(eta, 0.0) + np.log1p(e) - X * eta)) / N
    return Loss(value, (np.where(eta >= 0.0, 1.0, e) / (1.0 + e) - X) / N)


def categorical_cross_entropy(eta, X) -> Loss:
    r"""Categorical cross entropy from logits via the log-softmax (Eq. 2.6), computed stably.

    The sample estimate of Eq. 5.1 for categorical outputs.

    .. math::
        \langle\mathcal S\rangle = -\Big\langle\sum_k x_k\log\mathrm{softmax}(\boldsymbol\eta)_k\Big\rangle, \qquad
        \frac{d\mathcal S}{d\boldsymbol\eta} = \mathrm{softmax}(\boldsymbol\eta) - \mathbf x
        \quad\text{(when } \textstyle\sum_k x_k = 1\text{)}.

    Parameters
    ----------
    eta : array_like, shape (N, K)
        Logits; adding a constant to a row changes nothing.
    X : array_like, shape (N, K)
        One-hot rows (see :func:`one_hot`) or probability vectors: non-negative, each row summing to 1.
    """
    eta, X = _check_pred_target(eta, X, "eta")
    if (X < 0).any():
        idx = tuple(int(i) for i in np.argwhere(X < 0)[0])
        raise ValueError(f"X must be non-negative (one-hot or probability rows); entry {idx} is {X[idx]:.6g}.")
    sums = X.sum(axis=1)
    bad = np.abs(sums - 1.0) > 1e-8
    if bad.any():
        n = int(np.argmax(bad))
        raise ValueError(f"X must have rows summing to 1 (one-hot or probability rows); row {n} sums to {sums[n]:.10g}.")
    N = eta.shape[0]
    log_p = log_normalize(eta, axis=1)                   # log softmax, never exp of a large number
    value = -float(np.sum(X * log_p)) / N
    return Loss(value, (np.exp(log_p) - X) / N)


def gaussian_nll(mu, log_var, X) -> GaussianLoss:
    r"""Gaussian surprisal with a learned (diagonal) log-variance, averaged over samples.

    The sample estimate of Eq. 5.1 for Gaussian outputs.

    .. math::
        \langle\mathcal S\rangle = \Big\langle\sum_k \tfrac12\big[\log\tau + \log v_k
            + (x_k-\mu_k)^2 e^{-\log v_k}\big]\Big\rangle, \qquad
        \frac{d\mathcal S}{d\mu_k} = \frac{\mu_k - x_k}{v_k}, \quad
        \frac{d\mathcal S}{d\log v_k} = \tfrac12\Big(1 - \frac{(x_k-\mu_k)^2}{v_k}\Big),

    with :math:`\tau = 2\pi` (the book's convention). The log-variance parametrization keeps
    :math:`v_k > 0` without constraints; this is the decoder (and encoder) likelihood of a
    Gaussian VAE. For one variance shared by all rows, pass ``np.broadcast_to(log_v, mu.shape)``
    and sum ``grad_log_var`` over rows.

    Parameters
    ----------
    mu, log_var, X : array_like, shape (N, K)
        Means, log-variances :math:`\log v_k` and targets.

    Raises
    ------
    ValueError
        If the arrays are malformed or not finite, or the surprisal or its gradient overflows
        float64 (a variance :math:`e^{\log v_k}` so small, against its residual, that
        :math:`(x_k-\mu_k)^2/v_k` or :math:`|x_k-\mu_k|/v_k` exceeds 1.8e308). The quadratic term is
        formed as :math:`(r_k e^{-\log v_k/4}e^{-\log v_k/4})^2`, never as :math:`e^{-\log v_k}`
        alone, so a tiny residual over a tiny variance (``log_var = -1381``, residual ``1e-300``)
        is an ordinary number.
    """
    mu, X = _check_pred_target(mu, X, "mu")
    log_var = as_array(log_var, "log_var", shape=mu.shape, dims="(N, K)")
    N = mu.shape[0]
    R = X - mu
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        # e^{-log v} alone overflows below log v = -709 although r^2 / v may be an ordinary number
        # (r = 1e-300, log v = -1381 gives 0.58): scale r by e^{-log v / 4} twice, each factor at most
        # the square root of the result, so nothing overflows unless r / sqrt(v) itself does
        q = np.exp(-0.25 * log_var)
        z = (R * q) * q                                   # r e^{-log v / 2}, the standardized residual
        R2v = z * z
        value = 0.5 * float(np.sum(np.log(TAU) + log_var + R2v)) / N
        grad_mu = -((z * q) * q) / N                      # -r / v
        out = GaussianLoss(value, grad_mu, 0.5 * (1.0 - R2v) / N)
    if not (np.isfinite(value) and np.all(np.isfinite(out.grad_log_var))):
        raise ValueError("the Gaussian surprisal overflows float64: log_var is too small for the residuals X - mu "
                         "((X - mu)^2 / exp(log_var) exceeds 1.8e308; smallest log_var "
                         f"{np.min(log_var):.3g}, largest |X - mu| {np.max(np.abs(R)):.3g}).")
    if not np.all(np.isfinite(out.grad_mu)):
        raise ValueError("the gradient of the Gaussian surprisal with respect to mu, (mu - X) / exp(log_var) / N, "
                         "overflows float64 although the surprisal is finite: log_var is too small for the "
                         f"residuals (smallest log_var {np.min(log_var):.3g}, largest |X - mu| "
                         f"{np.max(np.abs(R)):.3g}); a residual r and log_var need |r| exp(-log_var) < 1.8e308.")
    return out


def one_hot(labels, K: int) -> np.ndarray:
    """One-hot rows, shape ``(N, K)``, for integer ``labels`` in ``{0, ..., K-1}`` (the book's one-hot :math:`\\mathbf x`)."""
    K = check_int(K, "K", minimum=1)
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array; got shape {fmt_shape(labels.shape)} "
                         f"and dtype {labels.dtype}.")
    if labels.size and (labels.min() < 0 or labels.max() >= K):
        bad = int(np.argmax((labels < 0) | (labels >= K)))
        raise ValueError(f"labels must lie in {{0, ..., {K - 1}}}; entry {bad} is {labels[bad]}.")
    X = np.zeros((labels.size, K))
    X[np.arange(labels.size), labels] = 1.0
    return X


