r"""The Helmholtz machine and the wake-sleep algorithm (Section 3.3; Dayan et al. 1995, Hinton et al. 1995).

A Helmholtz machine pairs a *directed* generative model of binary layers (a sigmoid belief net)

.. math:: \hat p(\mathbf x_L) = \prod_k\sigma(b_k)^{x_k}(1-\sigma(b_k))^{1-x_k},\qquad
          \hat p(\mathbf x_{l}\mid\mathbf x_{l+1}) = \text{Bernoulli}\big(\sigma(\mathbf G_l\mathbf x_{l+1} + \mathbf g_l)\big),

with :math:`\mathbf x_0 = \mathbf y` the data, with a separate recognition model running upwards,
:math:`\check p(\mathbf x_{l+1}\mid\mathbf x_l) = \text{Bernoulli}(\sigma(\mathbf R_l\mathbf x_l + \mathbf r_l))`.
Unlike the harmonium, the generative model is easy to sample and its posterior is intractable;
the recognition model stands in for it, as in the joint relative entropy of Eq. 6.5.

Wake-sleep alternates two delta rules:

* **wake**: push data up through the recognition model, then move each generative layer toward
  predicting the layer below from the layer above. In expectation this is exactly minus the
  gradient of the JRE (Eq. 6.5) with respect to the generative parameters;
* **sleep**: sample ("dream") from the generative model, then move each recognition layer toward
  predicting the layer above from the layer below. This descends the *reversed* relative entropy
  :math:`D_{KL}\{\hat p\|\check p\}` of the recognition model, not the JRE: the approximation that
  distinguishes wake-sleep from variational learning.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_int, check_rng, positive_scalar
from ..core.logmath import logsumexp
from .exact import states
from .model import check_layer, sigmoid, softplus

__all__ = ["HelmholtzParams", "init_helmholtz", "helmholtz_log_likelihood", "helmholtz_jre", "wake_update",
           "expected_wake_update", "wake_sleep"]


class HelmholtzParams(NamedTuple):
    r"""A Helmholtz machine with layer sizes ``sizes = (M, K_1, ..., K_L)``, bottom first.

    Attributes
    ----------
    G : list of ndarray
        ``G[l]`` has shape ``(sizes[l], sizes[l + 1])``: generative weights from layer ``l + 1`` down to ``l``.
    g : list of ndarray
        ``g[l]`` (sizes[l],): generative biases of layer ``l`` for ``l < L``.
    b_top : ndarray
        Generative biases of the top layer (its factorial prior).
    R : list of ndarray
        ``R[l]`` has shape ``(sizes[l + 1], sizes[l])``: recognition weights from layer ``l`` up to ``l + 1``.
    r : list of ndarray
        ``r[l]`` (sizes[l + 1],): recognition biases.
    """

    G: list
    g: list
    b_top: np.ndarray
    R: list
    r: list


def _check(hm) -> HelmholtzParams:
    if not isinstance(hm, HelmholtzParams):
        raise TypeError(f"hm must be a HelmholtzParams; got {type(hm).__name__}.")
    L = len(hm.G)
    if L < 1 or not (len(hm.g) == len(hm.R) == len(hm.r) == L):
        raise ValueError("G, g, R and r must be lists with one entry per layer pair (at least one).")
    G = [as_array(hm.G[l], f"G[{l}]", ndim=2) for l in range(L)]
    sizes = [G[0].shape[0]] + [G[l].shape[1] for l in range(L)]
    for l in range(1, L):
        if G[l].shape[0] != sizes[l]:
            raise ValueError(f"G[{l}] must have shape ({sizes[l]}, any); got {G[l].shape}.")
    g = [as_array(hm.g[l], f"g[{l}]", shape=(sizes[l],)) for l in range(L)]
    b_top = as_array(hm.b_top, "b_top", shape=(sizes[-1],))
    R = [as_array(hm.R[l], f"R[{l}]", shape=(sizes[l + 1], sizes[l])) for l in range(L)]
    r = [as_array(hm.r[l], f"r[{l}]", shape=(sizes[l + 1],)) for l in range(L)]
    return HelmholtzParams(G, g, b_top, R, r)


def init_helmholtz(sizes, rng, *, scale: float = 0.1) -> HelmholtzParams:
    """Small random weights and zero biases for layer sizes ``(M, K_1, ..., K_L)``.

    Raises
    ------
    TypeError, ValueError
        If ``rng`` is not a Generator, ``sizes`` not a sequence of at least two positive ints, or
        ``scale`` not a non-negative finite number.
    """
    rng = check_rng(rng)
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be a sequence of int (layer widths); got {type(sizes).__name__}.")
    scale = positive_scalar(scale, "scale", strict=False)
    sizes = [check_int(s, "sizes", minimum=1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError("sizes must list the data layer and at least one hidden layer.")
    L = len(sizes) - 1
    return HelmholtzParams([scale * rng.standard_normal((sizes[l], sizes[l + 1])) for l in range(L)],
                           [np.zeros(sizes[l]) for l in range(L)], np.zeros(sizes[-1]),
                           [scale * rng.standard_normal((sizes[l + 1], sizes[l])) for l in range(L)],
                           [np.zeros(sizes[l + 1]) for l in range(L)])


def _log_bern(x, logits):
    """Sum over units of log Bernoulli(x; sigmoid(logits)), row-wise: x (A, n), logits (B, n) -> (A, B)."""
    return x @ (-softplus(-logits)).T + (1 - x) @ (-softplus(logits)).T


def _latent_table(hm: HelmholtzParams):
    """All joint latent configurations (x_1..x_L) and their generative log prior (small machines only)."""
    sizes = [hm.G[0].shape[0]] + [G.shape[1] for G in hm.G]
    total = sum(sizes[1:])
    if total > 16:
        raise ValueError(f"exact computations enumerate 2**{total} latent states; limited to 16 latent units.")
    S = states(total)
    bounds = np.cumsum([0] + sizes[1:])
    layers = [S[:, bounds[i]:bounds[i + 1]] for i in range(len(sizes) - 1)]
    log_prior = layers[-1] @ (-softplus(-hm.b_top)) + (1 - layers[-1]) @ (-softplus(hm.b_top))
    for l in range(len(layers) - 1, 0, -1):
        logits = layers[l] @ hm.G[l].T + hm.g[l]
        log_prior += np.sum(layers[l - 1] * (-softplus(-logits)) + (1 - layers[l - 1]) * (-softplus(logits)), axis=1)
    return layers, log_prior


def helmholtz_log_likelihood(hm: HelmholtzParams, Y) -> float:
    r"""Average exact :math:`\log\hat p(\mathbf y)` over rows of ``Y``, by enumerating every latent state."""
    hm = _check(hm)
    Y = check_layer(Y, "bernoulli", "Y", hm.G[0].shape[0], nonempty=True)
    layers, log_prior = _latent_table(hm)
    log_emit = _log_bern(Y, layers[0] @ hm.G[0].T + hm.g[0])          # (N, S)
    return float(np.mean(logsumexp(log_emit + log_prior[None, :], axis=1)))


def _log_recognition(hm: HelmholtzParams, Y, layers):
    """log q(x_1..x_L | y) for every row of Y and every latent state: (N, S)."""
    out = _log_bern_rows(layers[0], Y @ hm.R[0].T + hm.r[0])
    for l in range(1, len(layers)):
        logits = layers[l - 1] @ hm.R[l].T + hm.r[l]                     # depends on the state's own lower layer
        out = out + np.sum(layers[l] * (-softplus(-logits)) + (1 - layers[l]) * (-softplus(logits)), axis=1)[None, :]
    return out


def _log_bern_rows(x_states, logits):
    """log Bernoulli(x_s; sigmoid(logits_n)) for every state s and row n: (N, S)."""
    return (-softplus(-logits)) @ x_states.T + (-softplus(logits)) @ (1 - x_states).T


def helmholtz_jre(hm: HelmholtzParams, Y) -> float:
    r"""The joint relative entropy (Eq. 6.5) of the machine on the empirical distribution of ``Y``, exactly.

    :math:`\mathbb E_{\mathbf Y}\mathbb E_{\check p(\mathbf x\mid\mathbf Y)}[\log\check p(\mathbf x\mid\mathbf Y) - \log\hat p(\mathbf x,\mathbf Y)] - H_p[\mathbf Y]`;
    it equals the MRE plus the posterior relative entropy, so it bounds the MRE from above.
    """
    hm = _check(hm)
    Y = check_layer(Y, "bernoulli", "Y", hm.G[0].shape[0], nonempty=True)
    layers, log_prior = _latent_table(hm)
    log_q = _log_recognition(hm, Y, layers)
    log_joint = _log_bern(Y, layers[0] @ hm.G[0].T + hm.g[0]) + log_prior[None, :]
    q = np.exp(log_q)
    _, inv = np.unique(Y, axis=0, return_inverse=True)
    freq = np.bincount(inv.ravel()) / Y.shape[0]
    neg_entropy = float(np.sum(freq * np.log(freq)))
    return float(np.mean(np.sum(q * (log_q - log_joint), axis=1))) + neg_entropy


def _sample_up(hm, Y, rng):
    layers = [Y]
    for l in range(len(hm.R)):
        prob = sigmoid(layers[-1] @ hm.R[l].T + hm.r[l])
        layers.append((rng.random(prob.shape) < prob).astype(float))
    return layers


def _sample_down(hm, n, rng):
    top = (rng.random((n, hm.b_top.size)) < sigmoid(hm.b_top)).astype(float)
    layers = [top]
    for l in range(len(hm.G) - 1, -1, -1):
        prob = sigmoid(layers[0] @ hm.G[l].T + hm.g[l])
        layers.insert(0, (rng.random(prob.shape) < prob).astype(float))
    return layers


def wake_update(hm: HelmholtzParams, layers):
    """The wake-phase delta rules for given up-pass samples ``layers`` = [y, x_1, ..., x_L] (batch averages).

    Returns ``(dG, dg, db_top)``: the changes that make each generative layer predict its own
    (recognition-sampled) units better.

    Raises
    ------
    TypeError
        If ``hm`` is not a :class:`HelmholtzParams` or ``layers`` is not a list or tuple.
    ValueError
        If a field of ``hm`` has the wrong shape or is not finite, or ``layers`` does not hold
        ``L + 1`` binary arrays ``(N, sizes[l])`` with one ``N``.
    """
    hm = _check(hm)
    sizes = [hm.G[0].shape[0]] + [G.shape[1] for G in hm.G]
    if not isinstance(layers, (list, tuple)):
        raise TypeError(f"layers must be a list [y, x_1, ..., x_L]; got {type(layers).__name__}.")
    if len(layers) != len(sizes):
        raise ValueError(f"layers must hold {len(sizes)} arrays [y, x_1, ..., x_L]; got {len(layers)}.")
    layers = [check_layer(layers[l], "bernoulli", f"layers[{l}]", sizes[l]) for l in range(len(sizes))]
    N = layers[0].shape[0]
    for l, X in enumerate(layers):
        if X.shape[0] != N or N == 0:
            raise ValueError(f"layers[{l}] must have N = {N} rows (those of layers[0], at least one); got "
                             f"{X.shape[0]}.")
    return _wake_update(hm, layers)


def _wake_update(hm, layers):
    dG, dg = [], []
    for l in range(len(hm.G)):
        err = layers[l] - sigmoid(layers[l + 1] @ hm.G[l].T + hm.g[l])
        dG.append(err.T @ layers[l + 1] / err.shape[0])
        dg.append(err.mean(axis=0))
    db_top = (layers[-1] - sigmoid(hm.b_top)).mean(axis=0)
    return dG, dg, db_top


def expected_wake_update(hm: HelmholtzParams, Y):
    r"""The expectation of :func:`wake_update` over the recognition model, computed exactly by enumeration.

    It equals minus the gradient of :func:`helmholtz_jre` with respect to the generative parameters.
    """
    hm = _check(hm)
    Y = check_layer(Y, "bernoulli", "Y", hm.G[0].shape[0])
    layers, _ = _latent_table(hm)
    q = np.exp(_log_recognition(hm, Y, layers)) / Y.shape[0]           # (N, S), weights summing to one
    full = [None] + layers
    dG, dg = [], []
    for l in range(len(hm.G)):
        upper = full[l + 1]                                              # (S, K_{l+1})
        pred = sigmoid(upper @ hm.G[l].T + hm.g[l])                      # (S, n_l)
        if l == 0:
            # sum_n sum_s q_ns (y_n - pred_s) upper_s^T
            err_w = (q.sum(axis=0)[:, None] * (-pred))
            dG.append(Y.T @ (q @ upper) + err_w.T @ upper)
            dg.append(Y.T @ q.sum(axis=1) - pred.T @ q.sum(axis=0))
        else:
            lower = full[l]
            w = q.sum(axis=0)
            err = (lower - pred) * w[:, None]
            dG.append(err.T @ upper)
            dg.append(err.sum(axis=0))
    w = q.sum(axis=0)
    db_top = (full[-1] - sigmoid(hm.b_top)).T @ w
    return dG, dg, db_top


def wake_sleep(hm: HelmholtzParams, Y, rng, n_epochs: int, *, lr: float = 0.05, batch_size: int = 10,
               callback=None):
    """Train by wake-sleep: per mini-batch, one wake update of the generative weights and one sleep
    update of the recognition weights (on as many dreams as the batch has rows).

    ``callback(epoch, hm)`` is called before training and after each epoch; returns ``(hm, history)``.
    """
    hm = _check(hm)
    Y = check_layer(Y, "bernoulli", "Y", hm.G[0].shape[0])
    rng = check_rng(rng)
    n_epochs = check_int(n_epochs, "n_epochs", minimum=0)
    lr = positive_scalar(lr, "lr")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    G, g, b_top = [a.copy() for a in hm.G], [a.copy() for a in hm.g], hm.b_top.copy()
    R, r = [a.copy() for a in hm.R], [a.copy() for a in hm.r]
    cur = HelmholtzParams(G, g, b_top, R, r)
    history = [callback(0, cur)] if callback is not None else []
    for epoch in range(1, n_epochs + 1):
        order = rng.permutation(Y.shape[0])
        for start in range(0, Y.shape[0], batch_size):
            batch = Y[order[start:start + batch_size]]
            up = _sample_up(cur, batch, rng)                      # wake
            dG, dg, db = _wake_update(cur, up)
            for l in range(len(G)):
                G[l] += lr * dG[l]
                g[l] += lr * dg[l]
            b_top += lr * db
            dream = _sample_down(cur, batch.shape[0], rng)         # sleep
            for l in range(len(R)):
                err = dream[l + 1] - sigmoid(dream[l] @ R[l].T + r[l])
                R[l] += lr * err.T @ dream[l] / batch.shape[0]
                r[l] += lr * err.mean(axis=0)
        if callback is not None:
            history.append(callback(epoch, cur))
    return cur, history
