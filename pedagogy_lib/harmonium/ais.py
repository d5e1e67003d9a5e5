r"""Annealed importance sampling (AIS) for the log partition function of an RBM.

When neither layer is small enough to enumerate, :math:`\log Z` (Eq. 10.14) can be estimated by
AIS (Neal 2001; for RBMs, Salakhutdinov and Murray 2008). A path of distributions runs from a base
model with known normalizer, here the visible-bias-only model :math:`p_A(\mathbf y)\propto
e^{\mathbf b_A^T\mathbf y}`, to the RBM:

.. math:: \tilde p_\beta(\mathbf y) = e^{(1-\beta)\mathbf b_A^T\mathbf y}\,
          e^{\beta\mathbf b_{\hat y}^T\mathbf y}\prod_k\big(1 + e^{\beta\eta_k(\mathbf y)}\big),
          \qquad 0 = \beta_0 < \beta_1 < \dots < \beta_L = 1,

i.e. the RBM with every parameter scaled by :math:`\beta` (plus the base's biases scaled by
:math:`1-\beta`). Each run starts with an exact draw from :math:`p_A` and alternates a block-Gibbs
step that leaves :math:`p_{\beta_l}` invariant with the weight update
:math:`\log w \mathrel{+}= \log\tilde p_{\beta_{l+1}}(\mathbf y) - \log\tilde p_{\beta_l}(\mathbf y)`. Then
:math:`\mathbb E[w] = Z/Z_A`, so :math:`\log\hat Z = \log Z_A + \log\langle w\rangle`. The estimate
of :math:`\log Z` is biased low (Jensen), by about half its variance.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_int, check_rng
from ..core.logmath import logsumexp
from .model import EFHParams, check_params, sigmoid, softplus

__all__ = ["AISResult", "ais_log_partition"]


class AISResult(NamedTuple):
    """An AIS estimate of log Z with its standard error.

    Attributes
    ----------
    log_Z : float
        :math:`\\log Z_A + \\log\\langle w\\rangle`.
    std_err : float
        Delta-method standard error of ``log_Z``: the standard deviation of the weights over
        their mean, divided by the square root of the number of runs.
    log_w : ndarray, shape (n_runs,)
        Log importance weights of the runs.
    log_Z_base : float
        :math:`\\log Z_A` of the base model.
    """

    log_Z: float
    std_err: float
    log_w: np.ndarray
    log_Z_base: float


def _log_p_tilde(p: EFHParams, b_A, y, beta):
    eta = y @ p.W.T + p.b_x
    return (1.0 - beta) * (y @ b_A) + beta * (y @ p.b_y) + softplus(beta * eta).sum(axis=1)


def ais_log_partition(params: EFHParams, rng, *, n_runs: int = 100, n_betas: int = 1000, b_A=None) -> AISResult:
    r"""Estimate :math:`\log Z` of a Bernoulli-Bernoulli harmonium by annealed importance sampling.

    Parameters
    ----------
    params : EFHParams
        A Bernoulli-Bernoulli harmonium.
    rng : numpy.random.Generator
    n_runs : int
        Independent annealing runs (all advanced together).
    n_betas : int
        Number of intermediate temperatures (at least 2), spaced uniformly in :math:`\beta`.
    b_A : array_like, shape (M,), optional
        Visible biases of the base model (a fully factorized Bernoulli model); zero if omitted.
        Its normalizer is :math:`\sum_j\operatorname{softplus}(b_{A,j}) + K\log 2`.
    """
    p = check_params(params)
    if p.hidden != "bernoulli" or p.visible != "bernoulli":
        raise ValueError("ais_log_partition is for Bernoulli-Bernoulli harmoniums.")
    rng = check_rng(rng)
    n_runs = check_int(n_runs, "n_runs", minimum=2)
    n_betas = check_int(n_betas, "n_betas", minimum=2)
    b_A = np.zeros(p.M) if b_A is None else as_array(b_A, "b_A", shape=(p.M,), dims="(M,)")
    betas = np.linspace(0.0, 1.0, n_betas)
    log_Z_base = float(softplus(b_A).sum() + p.K * np.log(2.0))
    y = (rng.random((n_runs, p.M)) < sigmoid(b_A)).astype(float)
    log_w = np.zeros(n_runs)
    for l in range(1, n_betas):
        log_w += _log_p_tilde(p, b_A, y, betas[l]) - _log_p_tilde(p, b_A, y, betas[l - 1])
        beta = betas[l]
        x = (rng.random((n_runs, p.K)) < sigmoid(beta * (y @ p.W.T + p.b_x))).astype(float)
        y = (rng.random((n_runs, p.M)) < sigmoid((1 - beta) * b_A + beta * (x @ p.W + p.b_y))).astype(float)
    log_mean_w = float(logsumexp(log_w) - np.log(n_runs))
    w = np.exp(log_w - log_w.max())
    std_err = float(np.std(w, ddof=1) / np.mean(w) / np.sqrt(n_runs))
    return AISResult(log_Z_base + log_mean_w, std_err, log_w, log_Z_base)
