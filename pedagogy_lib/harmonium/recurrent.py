r"""A recurrent EFH for sequences (Sections 3.4 and 10.2.4; Makin, Dichter and Sabes 2015).

The recurrent EFH (rEFH) is an ordinary Bernoulli harmonium whose visible layer holds two parts:
the current observation :math:`\mathbf y_t` (``M`` units) and a copy of the previous step's hidden
means, :math:`\mathbf r_t = \mathbb E[\hat{\mathbf X}_{t-1}\mid\mathbf y_{t-1},\mathbf r_{t-1}]` (``K`` units):

.. math:: \boldsymbol\eta_t = \mathbf b_{\hat x} + \mathbf W_y\mathbf y_t + \mathbf W_r\mathbf r_t,
          \qquad \bar{\mathbf x}_t = \sigma(\boldsymbol\eta_t),\qquad \mathbf r_{t+1} = \bar{\mathbf x}_t,

with ``W = [W_y, W_r]`` of shape ``(K, M + K)``. The hidden means thus summarize the whole past,
as a filter's belief state does (Section 2.2). Training is CD on the pairs
:math:`[\mathbf y_t, \mathbf r_t]`, treating the recurrent part as data given as probabilities,
with the :math:`\mathbf r_t` recomputed under the current weights before each epoch.

Given the past, the model's prediction of the next observation is the harmonium's conditional
with :math:`\mathbf r_t` clamped: an RBM over :math:`\mathbf y_t` whose hidden biases are
:math:`\mathbf b_{\hat x} + \mathbf W_r\mathbf r_t`. Its normalizer is computed exactly by
enumeration, so :func:`predictive_log_probs` gives exact one-step log probabilities.
"""
from __future__ import annotations

import numpy as np

from ..core.checks import as_array, check_int, check_rng, positive_scalar
from ..core.logmath import logsumexp
from .exact import states
from .gibbs import cd_epoch
from .model import EFHParams, check_params, sigmoid, softplus

__all__ = ["init_refh", "recurrent_inputs", "refh_training_data", "train_refh",
           "predictive_log_probs", "static_log_probs"]


def _check_sequences(Y, M):
    # nonempty: at least one sequence of at least one step (T = 0 has no first step to predict)
    Y = as_array(Y, "Y", ndim=3, dims="(S, T, M)", nonempty=True)
    if Y.shape[2] != M:
        raise ValueError(f"Y must have shape (S, T, {M}); got {Y.shape}.")
    if ((Y != 0) & (Y != 1)).any():
        raise ValueError("Y must hold binary observations (0 or 1).")
    return Y


def _split(params: EFHParams, M: int):
    p = check_params(params)
    if p.hidden != "bernoulli" or p.visible != "bernoulli" or p.M != M + p.K:
        raise ValueError(f"params must be a Bernoulli harmonium with M + K = {M} + {p.K} visible units "
                         f"(observation plus recurrent copy); got {p.M} visible units.")
    return p, p.W[:, :M], p.W[:, M:]


def init_refh(M: int, K: int, rng, *, scale: float = 0.01) -> EFHParams:
    """A recurrent EFH with ``M`` observed units and ``K`` hidden units (``M + K`` visible units).

    Raises
    ------
    ValueError, TypeError
        If ``M`` or ``K`` is not a positive int, ``rng`` not a Generator, or ``scale`` not a
        non-negative finite number.
    """
    rng = check_rng(rng)
    M = check_int(M, "M", minimum=1)
    K = check_int(K, "K", minimum=1)
    scale = positive_scalar(scale, "scale", strict=False)
    return EFHParams(scale * rng.standard_normal((K, M + K)), np.zeros(K), np.zeros(M + K))


def recurrent_inputs(params: EFHParams, Y) -> np.ndarray:
    r"""The recurrent inputs :math:`\mathbf r_t` for every sequence and step, shape ``(S, T, K)``.

    :math:`\mathbf r_1 = \tfrac12\mathbf 1` (no past yet), :math:`\mathbf r_{t+1} = \sigma(\mathbf b_{\hat x} +
    \mathbf W_y\mathbf y_t + \mathbf W_r\mathbf r_t)`.
    """
    M = np.shape(Y)[-1] if np.ndim(Y) == 3 else -1
    p, Wy, Wr = _split(params, M)
    Y = _check_sequences(Y, M)
    S, T, _ = Y.shape
    r = np.empty((S, T, p.K))
    r[:, 0] = 0.5
    for t in range(T - 1):
        r[:, t + 1] = sigmoid(p.b_x + Y[:, t] @ Wy.T + r[:, t] @ Wr.T)
    return r


def refh_training_data(params: EFHParams, Y) -> np.ndarray:
    """The rows ``[y_t, r_t]`` on which one epoch of CD trains, shape ``(S * T, M + K)``.

    Raises
    ------
    ValueError, TypeError
        As :func:`recurrent_inputs`.
    """
    r = recurrent_inputs(params, Y)
    Y = np.asarray(Y, dtype=float)                # validated by recurrent_inputs
    return np.concatenate([Y, r], axis=2).reshape(-1, Y.shape[2] + r.shape[2])


def train_refh(params: EFHParams, Y, rng, n_epochs: int, *, k: int = 1, lr: float = 0.05, batch_size: int = 20,
               backend: str = "auto") -> EFHParams:
    """Train a recurrent EFH by CD-k, recomputing the recurrent inputs under the current weights each epoch."""
    rng = check_rng(rng)
    n_epochs = check_int(n_epochs, "n_epochs", minimum=1)
    lr = positive_scalar(lr, "lr")
    p = check_params(params)
    for _ in range(n_epochs):
        V = refh_training_data(p, Y)
        p, _ = cd_epoch(p, V, rng, k=k, lr=lr, batch_size=batch_size, backend=backend)
    return p


def _conditional_log_probs(W_y, b_y, hidden_bias, Y):
    """log p(y | hidden biases) of an RBM (W_y, b_y) for rows Y (N, M) with per-row hidden biases (N, K),
    normalized by enumerating the M observed units."""
    M = W_y.shape[1]
    if M > 16:
        raise ValueError(f"exact predictions enumerate 2**M observation states; M must be at most 16, got {M}.")
    Sy = states(M)
    base = Sy @ b_y                                           # (2^M,)
    proj = Sy @ W_y.T                                         # (2^M, K)
    out = np.empty(Y.shape[0])
    for start in range(0, Y.shape[0], 256):
        c = hidden_bias[start:start + 256]                    # (B, K)
        log_table = base[None, :] + softplus(c[:, None, :] + proj[None, :, :]).sum(axis=2)
        log_Z = logsumexp(log_table, axis=1)
        yb = Y[start:start + 256]
        log_num = yb @ b_y + softplus(c + yb @ W_y.T).sum(axis=1)
        out[start:start + 256] = log_num - log_Z
    return out


def predictive_log_probs(params: EFHParams, Y) -> np.ndarray:
    r"""Exact one-step predictive :math:`\log\hat p(\mathbf y_t\mid\mathbf r_t)` for every sequence and step, ``(S, T)``."""
    M = np.shape(Y)[-1] if np.ndim(Y) == 3 else -1
    p, Wy, Wr = _split(params, M)
    Y = _check_sequences(Y, M)
    r = recurrent_inputs(p, Y)
    S, T, _ = Y.shape
    hidden_bias = (p.b_x + r @ Wr.T).reshape(S * T, p.K)
    return _conditional_log_probs(Wy, p.b_y[:M], hidden_bias, Y.reshape(S * T, M)).reshape(S, T)


def static_log_probs(params: EFHParams, Y) -> np.ndarray:
    r"""Exact :math:`\log\hat p(\mathbf y_t)` of a static RBM on each frame of sequences ``Y``, ``(S, T)``."""
    p = check_params(params)
    M = p.M
    Y = _check_sequences(Y, M)
    S, T, _ = Y.shape
    hb = np.broadcast_to(p.b_x, (S * T, p.K))
    return _conditional_log_probs(p.W, p.b_y, hb, Y.reshape(S * T, M)).reshape(S, T)
