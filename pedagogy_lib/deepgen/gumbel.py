r"""Gumbel-max sampling, the soft categorical (Concrete / Gumbel-softmax) relaxation, and a discrete VAE.

Section 8.2.2 ("Discrete VAEs with the Gumbel-Softmax trick"). With natural parameters
:math:`\boldsymbol\eta\in\mathbb R^K` and independent standard Gumbel perturbations
:math:`\mathbf G_0` (CDF :math:`\exp\{-e^{-g}\}`),

* **Gumbel-max** (Eq. 8.28): :math:`\operatorname{argmax}_k(\eta_k + G_{0k})` is categorical with
  probabilities :math:`\sigma(\boldsymbol\eta)` (Eq. 8.27);
* **the soft categorical** (Eq. 8.29): :math:`\mathbf y = \sigma((\boldsymbol\eta + \mathbf G_0)/s)`
  with softness (temperature) :math:`s>0`, a point in the interior of the simplex, differentiable
  in :math:`\boldsymbol\eta`. Its density on the simplex, which the draft leaves open, is
  :math:`(K-1)!\,s^{K-1}\prod_k e^{\eta_k}y_k^{-s-1}\big/\big(\sum_i e^{\eta_i}y_i^{-s}\big)^K`
  (Maddison et al. 2017; Jang et al. 2017);
* **straight-through**: the forward pass uses the one-hot :math:`\operatorname{argmax}\mathbf y`,
  the backward pass the soft Jacobian.

A standard Gumbel variate has mean :math:`\gamma\approx0.5772` (the Euler-Mascheroni constant), not
zero as the draft says; the shift is common to all :math:`k` and changes neither the argmax nor the
softmax.

The discrete VAE has :math:`G` groups of :math:`C`-way categorical latents. The encoder maps
:math:`\mathbf y` (binary pixels) to logits :math:`\boldsymbol\eta` of shape ``(G, C)``, the relaxed
sample goes through a Bernoulli decoder, and the KL regularizer against a uniform prior,
:math:`\sum_g\sum_c q_{gc}\log(Cq_{gc})` with :math:`\mathbf q_g = \sigma(\boldsymbol\eta_g)`, is
exact. All gradients are written out and checked against finite differences in the tests.
"""
from __future__ import annotations

from math import lgamma
from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_int, check_rng, positive_scalar
from ..core.logmath import log_normalize
from ..nn.network import Sequential, mlp, sigmoid, softplus
from ..nn.optim import Adam

__all__ = [
    "EULER_GAMMA",
    "DiscreteVAE",
    "DiscreteVAEParams",
    "DiscreteVAEFit",
    "sample_gumbel",
    "gumbel_max",
    "soft_categorical",
    "soft_categorical_jacobian",
    "concrete_log_density",
    "discrete_vae",
    "check_discrete_vae",
    "init_discrete_params",
    "discrete_loss_and_grad",
    "discrete_elbo",
    "fit_discrete_vae",
]

#: Mean of the standard Gumbel distribution.
EULER_GAMMA = 0.5772156649015329


def sample_gumbel(rng: np.random.Generator, shape) -> np.ndarray:
    r"""Standard Gumbel variates :math:`-\log(-\log U)`, :math:`U\sim\mathcal U(0,1)`."""
    rng = check_rng(rng)
    u = rng.random(shape)
    return -np.log(-np.log(np.where(u > 0, u, np.finfo(float).tiny)))


def _eta_G0(eta, G0):
    eta = as_array(eta, "eta", nonempty=True)
    if eta.ndim == 0:
        raise ValueError("eta must have at least one axis (the K categories last); got a scalar.")
    G0 = as_array(G0, "G0")
    if G0.ndim == 0 or G0.shape[-1] != eta.shape[-1]:
        raise ValueError(f"G0 must have the K = {eta.shape[-1]} categories on its last axis; got shape {G0.shape}.")
    try:
        np.broadcast_shapes(eta.shape, G0.shape)
    except ValueError:
        raise ValueError(f"G0 must broadcast against eta {eta.shape}; got shape {G0.shape}.") from None
    return eta, G0


def _one_hot_argmax(g):
    out = np.zeros(g.shape)
    np.put_along_axis(out, np.argmax(g, axis=-1)[..., None], 1.0, axis=-1)
    return out


def gumbel_max(eta, G0) -> np.ndarray:
    r"""One-hot :math:`\boldsymbol\sigma_0(\boldsymbol\eta+\mathbf G_0)`: the argmax of the perturbed parameters (Eq. 8.28)."""
    eta, G0 = _eta_G0(eta, G0)
    return _one_hot_argmax(eta + G0)


def _softmax(a):
    return np.exp(log_normalize(a, axis=-1))


def soft_categorical(eta, G0, s) -> np.ndarray:
    r"""Eq. 8.29: :math:`\mathbf y = \sigma((\boldsymbol\eta+\mathbf G_0)/s)` along the last axis."""
    eta, G0 = _eta_G0(eta, G0)
    s = positive_scalar(s, "s")
    return _softmax((eta + G0) / s)


def soft_categorical_jacobian(y, s) -> np.ndarray:
    r""":math:`\partial y_l/\partial g_m = \frac1s y_l(\mathbb 1[l=m] - y_m)` for the soft categorical
    :math:`\mathbf y = \sigma(\mathbf g/s)`; ``y`` of shape ``(..., K)`` gives ``(..., K, K)`` (rows :math:`l`)."""
    y = as_array(y, "y", nonempty=True)
    if y.ndim == 0:
        raise ValueError("y must have at least one axis (the K categories last); got a scalar.")
    s = positive_scalar(s, "s")
    eye = np.eye(y.shape[-1])
    return (y / s)[..., :, None] * (eye - y[..., None, :])      # y / s first: y_l y_m / s need not underflow


def concrete_log_density(y, eta, s) -> np.ndarray:
    r"""Log density of the soft categorical on the simplex, with respect to the first :math:`K-1` coordinates.

    .. math::
        \log p(\mathbf y) = \log(K-1)! + (K-1)\log s + \sum_k(\eta_k - (s+1)\log y_k)
            - K\log\sum_i e^{\eta_i}y_i^{-s}.

    Parameters
    ----------
    y : array_like, shape (..., K)
        Points with positive entries summing to one.
    eta : array_like, shape (K,)
    s : float
        Softness, positive.
    """
    eta = as_array(eta, "eta", ndim=1, dims="(K,)", nonempty=True)
    K = eta.size
    y = as_array(y, "y")
    if y.ndim == 0 or y.shape[-1] != K:
        raise ValueError(f"y must have the K = {K} categories on its last axis; got shape {y.shape}.")
    if np.any(y <= 0) or np.any(np.abs(y.sum(axis=-1) - 1.0) > 1e-8):
        raise ValueError("y must lie in the interior of the simplex (positive entries summing to 1).")
    s = positive_scalar(s, "s")
    log_y = np.log(y)
    a = eta - s * log_y
    m = a.max(axis=-1, keepdims=True)
    lse = (m + np.log(np.sum(np.exp(a - m), axis=-1, keepdims=True)))[..., 0]
    return lgamma(K) + (K - 1) * np.log(s) + np.sum(eta - (s + 1.0) * log_y, axis=-1) - K * lse


# ----------------------------------------------------------------------------------------------
# A VAE with G groups of C-way categorical latents
# ----------------------------------------------------------------------------------------------

class DiscreteVAE(NamedTuple):
    """Architecture: ``encoder`` (M -> G*C logits), ``decoder`` (G*C -> M Bernoulli logits), sizes."""

    encoder: Sequential
    decoder: Sequential
    G: int
    C: int
    M: int


class DiscreteVAEParams(NamedTuple):
    """Encoder parameters ``phi`` and decoder parameters ``theta``."""

    phi: tuple
    theta: tuple


class DiscreteVAEFit(NamedTuple):
    r"""What :func:`fit_discrete_vae` returns: parameters; per-epoch averages (per datum) of the relaxed
    ELBO estimate and its KL and reconstruction pieces; the softness :math:`s` used in each epoch."""

    params: DiscreteVAEParams
    elbo: np.ndarray
    kl: np.ndarray
    reconstruction: np.ndarray
    s: np.ndarray


def discrete_vae(M: int, G: int, C: int, *, hidden: int = 64) -> DiscreteVAE:
    """A discrete VAE with one tanh hidden layer of width ``hidden`` in each network."""
    M, G, C = (check_int(v, n, minimum=1) for v, n in ((M, "M"), (G, "G"), (C, "C")))
    if C < 2:
        raise ValueError(f"C must be at least 2 (categories per group); got {C}.")
    hidden = check_int(hidden, "hidden", minimum=1)
    return DiscreteVAE(mlp([M, hidden, G * C]), mlp([G * C, hidden, M]), G, C, M)


def check_discrete_vae(model, name: str = "model") -> DiscreteVAE:
    """Return ``model`` after checking every field against the others, as :func:`discrete_vae` builds them.

    A :class:`DiscreteVAE` built by hand or edited with ``_replace`` is held to the same rules: the
    encoder maps ``M`` inputs to ``G * C`` logits and the decoder ``G * C`` to ``M``.

    Raises
    ------
    TypeError
        If ``encoder`` or ``decoder`` is not a :class:`~pedagogy_lib.nn.network.Sequential`, or
        ``G``, ``C`` or ``M`` is not an integer.
    ValueError
        If ``model`` is not a :class:`DiscreteVAE` (a ``ValueError``, as before), ``G`` or ``M`` is
        below 1, ``C`` below 2, or the networks' widths do not match them.
    """
    if not isinstance(model, DiscreteVAE):
        raise ValueError(f"{name} must be a DiscreteVAE (see discrete_vae()); got {type(model).__name__}.")
    G = check_int(model.G, f"{name}.G", minimum=1)
    C = check_int(model.C, f"{name}.C", minimum=2)
    M = check_int(model.M, f"{name}.M", minimum=1)
    for field, net, n_in, n_out in (("encoder", model.encoder, M, G * C), ("decoder", model.decoder, G * C, M)):
        if not isinstance(net, Sequential):
            raise TypeError(f"{name}.{field} must be a Sequential (see discrete_vae()); got {type(net).__name__}.")
        if net.n_in != n_in or net.n_out != n_out:
            raise ValueError(f"{name}.{field} must map {n_in} inputs to {n_out} outputs (with {name}.G = {G}, "
                             f"{name}.C = {C}, {name}.M = {M}); got {net.n_in} inputs and {net.n_out} outputs.")
    return DiscreteVAE(model.encoder, model.decoder, G, C, M)


def _check_dmodel(model):
    return check_discrete_vae(model)


def _check_dparams(model, params):
    if not isinstance(params, DiscreteVAEParams):
        raise ValueError(f"params must be a DiscreteVAEParams(phi, theta); got {type(params).__name__}.")
    model.encoder._check_params(params.phi, "params.phi")
    model.decoder._check_params(params.theta, "params.theta")
    return params


def _check_binary_Y(model, Y):
    Y = as_array(Y, "Y", ndim=2, dims="(N, M)")
    if Y.shape[1] != model.M or Y.shape[0] == 0:
        raise ValueError(f"Y must have shape (N, M) with N >= 1 and M = {model.M}; got {Y.shape}.")
    if np.any((Y != 0.0) & (Y != 1.0)):
        idx = tuple(int(i) for i in np.argwhere((Y != 0.0) & (Y != 1.0))[0])
        raise ValueError(f"Y must be binary (0 or 1) for a Bernoulli decoder; entry {idx} is {Y[idx]:.6g}.")
    return Y


def _check_G0(model, G0, N):
    G0 = as_array(G0, "G0", ndim=3, dims="(N, G, C)")
    if G0.shape != (N, model.G, model.C):
        raise ValueError(f"G0 must have shape (N, G, C) = ({N}, {model.G}, {model.C}); got {G0.shape}.")
    return G0


def init_discrete_params(model: DiscreteVAE, rng: np.random.Generator) -> DiscreteVAEParams:
    """Glorot-initialized encoder and decoder."""
    model = _check_dmodel(model)
    rng = check_rng(rng)
    return DiscreteVAEParams(model.encoder.init(rng), model.decoder.init(rng))


def _kl_uniform(log_q, C):
    """Per-datum KL(q || uniform) = sum_g sum_c q log(C q), and its gradient with respect to the logits."""
    q = np.exp(log_q)
    plogq = q * log_q
    kl = np.sum(plogq, axis=(1, 2)) + log_q.shape[1] * np.log(C)
    grad = q * (log_q - np.sum(plogq, axis=2, keepdims=True))
    return kl, grad


def discrete_loss_and_grad(model: DiscreteVAE, params: DiscreteVAEParams, Y, G0, s, *,
                           straight_through: bool = False):
    r"""Minus the relaxed ELBO of the batch, averaged over rows, and its gradient.

    The latent is :math:`\mathbf y_g = \sigma((\boldsymbol\eta_g + \mathbf G_{0g})/s)` per group (Eq. 8.29);
    with ``straight_through`` the decoder receives the one-hot argmax instead, and the gradient
    with respect to it is passed back through the soft Jacobian. Returns ``(loss, grads, (kl, rec))``
    with per-datum ``kl`` and ``rec`` of shape ``(N,)``.
    """
    model = _check_dmodel(model)
    params = _check_dparams(model, params)
    Y = _check_binary_Y(model, Y)
    N = Y.shape[0]
    G0 = _check_G0(model, G0, N)
    s = positive_scalar(s, "s")
    G, C = model.G, model.C
    eta_flat, enc_cache = model.encoder._forward(params.phi, Y)
    eta = eta_flat.reshape(N, G, C)
    y_soft = _softmax((eta + G0) / s)
    h = _one_hot_argmax(y_soft) if straight_through else y_soft
    out, dec_cache = model.decoder._forward(params.theta, h.reshape(N, G * C))
    rec = np.sum(softplus(out) - Y * out, axis=1)
    kl, g_kl = _kl_uniform(log_normalize(eta, axis=2), C)
    g_h, g_theta = model.decoder._backward(params.theta, dec_cache, (sigmoid(out) - Y) / N)
    g_h = g_h.reshape(N, G, C)
    g_eta = y_soft * (g_h - np.sum(y_soft * g_h, axis=2, keepdims=True)) / s + g_kl / N
    _, g_phi = model.encoder._backward(params.phi, enc_cache, g_eta.reshape(N, G * C), False)  # no dS/dY
    return float(np.mean(kl + rec)), DiscreteVAEParams(g_phi, g_theta), (kl, rec)


def discrete_elbo(model: DiscreteVAE, params: DiscreteVAEParams, Y, G0) -> np.ndarray:
    r"""One-sample estimate of the true (categorical) ELBO per datum: hard Gumbel-max latents, exact KL.

    The KL term uses the categorical probabilities :math:`\mathbf q_g = \sigma(\boldsymbol\eta_g)` of Eq. 8.27.
    """
    model = _check_dmodel(model)
    params = _check_dparams(model, params)
    Y = _check_binary_Y(model, Y)
    N = Y.shape[0]
    G0 = _check_G0(model, G0, N)
    eta = model.encoder._forward(params.phi, Y)[0].reshape(N, model.G, model.C)
    h = _one_hot_argmax(eta + G0)
    out = model.decoder._forward(params.theta, h.reshape(N, -1))[0]
    rec = np.sum(softplus(out) - Y * out, axis=1)
    kl, _ = _kl_uniform(log_normalize(eta, axis=2), model.C)
    return -(kl + rec)


def fit_discrete_vae(model: DiscreteVAE, Y, rng: np.random.Generator, *, n_epochs: int = 30, batch: int = 100,
                     lr: float = 1e-3, s0: float = 1.0, s_min: float = 0.5, anneal: float = 0.97,
                     straight_through: bool = False) -> DiscreteVAEFit:
    r"""Train a discrete VAE with Adam, the softness annealed as :math:`s_e = \max(s_{\min}, s_0\,a^e)` per epoch ``e``.

    Parameters
    ----------
    model : DiscreteVAE
    Y : array_like, shape (N, M)
        Binary data.
    rng : numpy.random.Generator
    n_epochs, batch : int
    lr : float
        Adam's step size.
    s0, s_min : float
        Initial and final softness, positive.
    anneal : float
        Factor :math:`a\in(0, 1]` per epoch.
    straight_through : bool
        Use the straight-through estimator.
    """
    model = _check_dmodel(model)
    Y = _check_binary_Y(model, Y)
    rng = check_rng(rng)
    n_epochs = check_int(n_epochs, "n_epochs", minimum=1)
    batch = check_int(batch, "batch", minimum=1)
    s0, s_min = positive_scalar(s0, "s0"), positive_scalar(s_min, "s_min")
    anneal = positive_scalar(anneal, "anneal")
    if anneal > 1.0:
        raise ValueError(f"anneal must be in (0, 1]; got {anneal:.6g}.")
    params = init_discrete_params(model, rng)
    opt = Adam(positive_scalar(lr, "lr"))
    state = opt.init(params)
    N = Y.shape[0]
    hist = np.zeros((3, n_epochs))
    s_used = np.empty(n_epochs)
    for epoch in range(n_epochs):
        s = max(s_min, s0 * anneal ** epoch)
        s_used[epoch] = s
        perm = rng.permutation(N)
        for start in range(0, N, batch):
            y = Y[perm[start:start + batch]]
            g0 = sample_gumbel(rng, (y.shape[0], model.G, model.C))
            _, grads, (kl, rec) = discrete_loss_and_grad(model, params, y, g0, s,
                                                         straight_through=straight_through)
            params, state = opt.step(params, grads, state)
            hist[:, epoch] += (-(kl + rec).sum(), kl.sum(), rec.sum())
    hist /= N
    return DiscreteVAEFit(params, hist[0], hist[1], hist[2], s_used)
