r"""The variational autoencoder of Section 8.2, with hand-written gradients.

Generative model (Eq. 8.15 with Eq. 8.26's isotropic emission, or a Bernoulli emission for binary
data), with :math:`K` latent and :math:`M` observed dimensions:

.. math::
    \hat{\mathbf X}\sim\mathcal N(\mathbf 0,\mathbf I_K), \qquad
    \hat{\mathbf Y}\mid\hat{\mathbf x}\sim\mathcal N(\boldsymbol\mu(\hat{\mathbf x},\boldsymbol\theta),\alpha\mathbf I_M)
    \quad\text{or}\quad \prod_m\mathrm{Bern}\big(\sigma(\eta_m(\hat{\mathbf x},\boldsymbol\theta))\big).

Recognition model (Eqs. 8.12 and 8.26): :math:`\check p(\mathbf x\mid\mathbf y;\boldsymbol\phi) =
\mathcal N(\boldsymbol\nu(\mathbf y,\boldsymbol\phi), \mathrm{diag}\,\mathbf v^2(\mathbf y,\boldsymbol\phi))`,
one network with two output heads, the mean :math:`\boldsymbol\nu` and the log-variance
:math:`\log\mathbf v^2`.

The loss is the last line of Eq. 8.20 per datum, without the constant data entropy,

.. math::
    \underbrace{\tfrac12\sum_k\big(-\log v_k^2 - 1 + v_k^2 + \nu_k^2\big)}_{\text{KL regularizer}}
    + \underbrace{-\log\hat p(\mathbf y\mid\boldsymbol\nu + \mathbf v\odot\check{\mathbf z};\boldsymbol\theta)}_{\text{reconstruction}},
    \qquad \check{\mathbf z}\sim\mathcal N(\mathbf 0,\mathbf I_K),

i.e. minus the ELBO, estimated with one reparameterized sample per datum (Eq. 8.24). For the
Gaussian emission the reconstruction is :math:`\tfrac12[M\log(\tau\alpha) + \lVert\mathbf y-\boldsymbol\mu\rVert^2/\alpha]`
(the draft's box after Eq. 8.26 writes :math:`K` for :math:`M` and :math:`\boldsymbol\Upsilon` for
:math:`\boldsymbol\Upsilon^{1/2}`; see the errata). :func:`loss_and_grad` returns its gradient with
respect to every encoder and decoder parameter by one backward pass through the whole
"autoencoder" (the draft's "stochastic backpropagation"); :func:`fit_vae` trains both with Adam.

:func:`jre_terms` evaluates, for discrete tables, every piece of Eqs. 8.20, 8.21 and 6.6.
Arrays hold one datum per row (``Y`` is ``(N, M)``), as in :mod:`pedagogy_lib.nn.network`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import (as_array, check_choice, check_int, check_prob_rows, check_prob_vector, check_rng,
                           positive_scalar)
from ..core.linalg import TAU
from ..nn.network import Sequential, mlp, sigmoid, softplus
from ..nn.optim import Adam

__all__ = [
    "LIKELIHOODS",
    "VAE",
    "VAEParams",
    "ELBOTerms",
    "VAEFit",
    "JRETerms",
    "vae",
    "check_vae",
    "init_params",
    "encode",
    "decode",
    "reparameterize",
    "gaussian_kl",
    "reconstruction",
    "elbo_terms",
    "loss_and_grad",
    "fit_vae",
    "jre_terms",
]

#: Largest ``log v^2`` whose standard deviation ``exp(log v^2 / 2)`` is a float64 number (2 log of the largest).
_LOG_V2_MAX = 2.0 * float(np.log(np.finfo(float).max))

LIKELIHOODS = ("bernoulli", "gaussian")


class VAE(NamedTuple):
    r"""A VAE's architecture (no parameters).

    Attributes
    ----------
    encoder : Sequential
        :math:`\mathbf y\mapsto(\boldsymbol\nu, \log\mathbf v^2)`, input ``M``, output ``2K``.
    decoder : Sequential
        :math:`\hat{\mathbf x}\mapsto` logits :math:`\boldsymbol\eta` (Bernoulli) or means
        :math:`\boldsymbol\mu` (Gaussian), input ``K``, output ``M``.
    K, M : int
        Latent and observed dimensions.
    likelihood : {"bernoulli", "gaussian"}
    alpha : float
        Emission variance :math:`\alpha` of Eq. 8.26 (used by the Gaussian emission only).
    """

    encoder: Sequential
    decoder: Sequential
    K: int
    M: int
    likelihood: str
    alpha: float


class VAEParams(NamedTuple):
    """Recognition parameters ``phi`` and generative parameters ``theta`` (tuples of layer parameters)."""

    phi: tuple
    theta: tuple


class ELBOTerms(NamedTuple):
    """Per-datum pieces, each shape ``(N,)``: ``elbo = -(kl + reconstruction)``."""

    elbo: np.ndarray
    kl: np.ndarray
    reconstruction: np.ndarray


class VAEFit(NamedTuple):
    r"""What :func:`fit_vae` returns.

    Attributes
    ----------
    params : VAEParams
        The trained parameters.
    elbo, kl, reconstruction : ndarray, shape (n_epochs,)
        Per-datum averages over each epoch's minibatches (one-sample estimates).
    snapshots : list of ndarray
        Recognition means :math:`\boldsymbol\nu` of ``record_Y`` after every ``record_every`` epochs
        (the first entry is before training); empty when nothing is recorded.
    """

    params: VAEParams
    elbo: np.ndarray
    kl: np.ndarray
    reconstruction: np.ndarray
    snapshots: list


def vae(M: int, K: int, *, hidden: int = 64, likelihood: str = "bernoulli", alpha: float = 1.0,
        activation: str = "tanh") -> VAE:
    """A VAE with one hidden layer of width ``hidden`` in each network (``hidden=0``: linear maps)."""
    M, K = check_int(M, "M", minimum=1), check_int(K, "K", minimum=1)
    hidden = check_int(hidden, "hidden", minimum=0)
    likelihood = check_choice(likelihood, "likelihood", LIKELIHOODS)
    alpha = positive_scalar(alpha, "alpha")
    enc = mlp([M, 2 * K] if hidden == 0 else [M, hidden, 2 * K], activation=activation)
    dec = mlp([K, M] if hidden == 0 else [K, hidden, M], activation=activation)
    return VAE(enc, dec, K, M, likelihood, alpha)


def check_vae(model, name: str = "model") -> VAE:
    """Return ``model`` after checking every field against the others, as :func:`vae` builds them.

    A :class:`VAE` built by hand or edited with ``_replace`` is held to the same rules: the encoder
    maps ``M`` inputs to ``2 K`` outputs (means and log standard deviations) and the decoder ``K``
    to ``M``.

    Raises
    ------
    TypeError
        If ``encoder`` or ``decoder`` is not a :class:`~pedagogy_lib.nn.network.Sequential`, or
        ``K`` or ``M`` is not an integer.
    ValueError
        If ``model`` is not a :class:`VAE` (a ``ValueError``, as before), ``K`` or ``M`` is below 1,
        ``likelihood`` is not one of :data:`LIKELIHOODS`, ``alpha`` is not finite and positive, or
        the networks' widths do not match ``K`` and ``M``.
    """
    if not isinstance(model, VAE):
        raise ValueError(f"{name} must be a VAE (see vae()); got {type(model).__name__}.")
    K = check_int(model.K, f"{name}.K", minimum=1)
    M = check_int(model.M, f"{name}.M", minimum=1)
    likelihood = check_choice(model.likelihood, f"{name}.likelihood", LIKELIHOODS)
    alpha = positive_scalar(model.alpha, f"{name}.alpha")
    for field, net, n_in, n_out in (("encoder", model.encoder, M, 2 * K), ("decoder", model.decoder, K, M)):
        if not isinstance(net, Sequential):
            raise TypeError(f"{name}.{field} must be a Sequential (see vae()); got {type(net).__name__}.")
        if net.n_in != n_in or net.n_out != n_out:
            raise ValueError(f"{name}.{field} must map {n_in} inputs to {n_out} outputs (with {name}.K = {K}, "
                             f"{name}.M = {M}); got {net.n_in} inputs and {net.n_out} outputs.")
    return VAE(model.encoder, model.decoder, K, M, likelihood, alpha)


def _check_model(model) -> VAE:
    return check_vae(model)


def _check_params(model: VAE, params) -> VAEParams:
    if not isinstance(params, VAEParams):
        raise ValueError(f"params must be a VAEParams(phi, theta); got {type(params).__name__}.")
    model.encoder._check_params(params.phi, "params.phi")
    model.decoder._check_params(params.theta, "params.theta")
    return params


def _check_Y(model: VAE, Y) -> np.ndarray:
    Y = as_array(Y, "Y", ndim=2, dims="(N, M)")
    if Y.shape[1] != model.M or Y.shape[0] == 0:
        raise ValueError(f"Y must have shape (N, M) with N >= 1 and M = {model.M}; got {Y.shape}.")
    if model.likelihood == "bernoulli" and np.any((Y != 0.0) & (Y != 1.0)):
        idx = tuple(int(i) for i in np.argwhere((Y != 0.0) & (Y != 1.0))[0])
        raise ValueError(f"Y must be binary (0 or 1) for a Bernoulli decoder; entry {idx} is {Y[idx]:.6g}.")
    return Y


def _check_Z(model: VAE, Z, N: int) -> np.ndarray:
    Z = as_array(Z, "Z", ndim=2, dims="(N, K)")
    if Z.shape != (N, model.K):
        raise ValueError(f"Z must have shape (N, K) = ({N}, {model.K}); got {Z.shape}.")
    return Z


def init_params(model: VAE, rng: np.random.Generator) -> VAEParams:
    """Glorot-initialized encoder and decoder; the log-variance head starts near 0 (unit variances)."""
    model = _check_model(model)
    rng = check_rng(rng)
    return VAEParams(model.encoder.init(rng), model.decoder.init(rng))


def encode(model: VAE, params: VAEParams, Y):
    r"""Recognition moments: ``(nu, log_v2)``, each ``(N, K)`` (Eq. 8.12 with Eq. 8.26's diagonal)."""
    model = _check_model(model)
    params = _check_params(model, params)
    Y = _check_Y(model, Y)
    out, _ = model.encoder._forward(params.phi, Y)
    return out[:, :model.K], out[:, model.K:]


def decode(model: VAE, params: VAEParams, X):
    r"""Emission means for latent rows ``X`` (N, K): :math:`\sigma(\boldsymbol\eta)` or :math:`\boldsymbol\mu`."""
    model = _check_model(model)
    params = _check_params(model, params)
    X = as_array(X, "X", shape=(None, model.K), dims="(N, K)")
    out, _ = model.decoder._forward(params.theta, X)
    return sigmoid(out) if model.likelihood == "bernoulli" else out


def reparameterize(nu, log_v2, Z) -> np.ndarray:
    r"""Eq. 8.24 with a diagonal covariance: :math:`\check{\mathbf x} = \boldsymbol\nu + \mathbf v\odot\check{\mathbf z}`.

    Raises
    ------
    ValueError
        If ``nu``, ``log_v2`` or ``Z`` is malformed or not finite, or the sample overflows float64
        (as :func:`gaussian_kl` refuses: a standard deviation :math:`v_k = e^{\log v_k^2/2}` beyond the
        float64 range, ``log_v2`` above about 1419, or a sample beyond it).
    """
    nu = as_array(nu, "nu", ndim=2, dims="(N, K)", nonempty=True)
    log_v2 = as_array(log_v2, "log_v2", shape=nu.shape, dims="(N, K)")
    Z = as_array(Z, "Z", shape=nu.shape, dims="(N, K)")
    if np.max(log_v2) > _LOG_V2_MAX:
        raise ValueError(f"log_v2 must be at most {_LOG_V2_MAX:.6g} (twice the log of the largest float64), so that "
                         f"the standard deviation exp(log_v2 / 2) is a float64 number; got {np.max(log_v2):.6g}.")
    with np.errstate(over="ignore", invalid="ignore"):
        x = nu + np.exp(0.5 * log_v2) * Z
    if not np.all(np.isfinite(x)):
        raise ValueError("the sample nu + exp(log_v2 / 2) * Z overflows float64: log_v2 (largest "
                         f"{np.max(log_v2):.3g}), nu (largest |nu| {np.max(np.abs(nu)):.3g}) and Z (largest |Z| "
                         f"{np.max(np.abs(Z)):.3g}) must be moderate.")
    return x


def gaussian_kl(nu, log_v2) -> np.ndarray:
    r"""The KL regularizer per datum, in closed form (the box after Eq. 8.26):
    :math:`\operatorname{D_{KL}}\{\mathcal N(\boldsymbol\nu,\mathrm{diag}\,\mathbf v^2)\|\mathcal N(\mathbf 0,\mathbf I)\}
    = \tfrac12\sum_k(-\log v_k^2 - 1 + v_k^2 + \nu_k^2)`. Shape ``(N,)``.

    Raises
    ------
    ValueError
        If ``nu`` or ``log_v2`` is malformed or not finite, or the KL overflows float64 (a variance
        :math:`v_k^2 = e^{\log v_k^2}` or a mean beyond the float64 range).
    """
    nu = as_array(nu, "nu", ndim=2, dims="(N, K)", nonempty=True)
    log_v2 = as_array(log_v2, "log_v2", shape=nu.shape, dims="(N, K)")
    with np.errstate(over="ignore", invalid="ignore"):
        kl = _kl(nu, log_v2)
    if not np.all(np.isfinite(kl)):
        raise ValueError("the KL overflows float64: log_v2 (largest "
                         f"{np.max(log_v2):.3g}) and nu (largest |nu| {np.max(np.abs(nu)):.3g}) must be moderate.")
    return kl


def _exp_minus_one_minus(x):
    r""":math:`e^x - 1 - x \ge 0` without cancellation. For :math:`|x| < 1` its Taylor series (terms :math:`x^k/k!`,
    :math:`k = 2, \dots, 19`; the rest is below one ulp of the sum), since ``expm1(x) - x`` loses the digits of
    :math:`x^2/2` there (all of them for :math:`|x|` below about 1e-8); elsewhere ``expm1(x) - x``, whose
    terms no longer cancel (the result is at least a third of :math:`|x|`)."""
    small = np.abs(x) < 1.0
    xs = np.where(small, x, 0.0)
    term = 0.5 * xs * xs
    total = term.copy()
    for k in range(3, 20):
        term = term * xs / k
        total += term
    return np.where(small, total, np.expm1(np.where(small, 0.0, x)) - x)


def _kl(nu, log_v2):
    # each term v^2 - 1 - log v^2 >= 0 computed as one piece, so a variance near 1 keeps its digits
    return 0.5 * np.sum(_exp_minus_one_minus(log_v2) + nu * nu, axis=1)


def _rec(model, out, Y):
    """Per-datum surprisal -log p(y | x) and its derivative with respect to the decoder output."""
    if model.likelihood == "bernoulli":
        sp = softplus(out)
        # sigma(eta) = exp(eta - softplus(eta)), from the softplus already at hand (eta - softplus(eta) <= 0)
        return np.sum(sp - Y * out, axis=1), np.exp(out - sp) - Y
    r = out - Y
    a = model.alpha
    return 0.5 * (model.M * np.log(TAU * a) + np.sum(r * r, axis=1) / a), r / a


def reconstruction(model: VAE, params: VAEParams, X, Y) -> np.ndarray:
    r"""The surprisal :math:`-\log\hat p(\mathbf y_n\mid\mathbf x_n;\boldsymbol\theta)` per row, shape ``(N,)``.

    For the Gaussian emission it is the emission energy of Eq. 8.18 with :math:`\boldsymbol\Sigma = \alpha\mathbf I`
    plus the normalizer :math:`\tfrac M2\log(\tau\alpha)`.
    """
    model = _check_model(model)
    params = _check_params(model, params)
    Y = _check_Y(model, Y)
    X = as_array(X, "X", shape=(Y.shape[0], model.K), dims="(N, K)")
    out, _ = model.decoder._forward(params.theta, X)
    return _rec(model, out, Y)[0]


def elbo_terms(model: VAE, params: VAEParams, Y, Z) -> ELBOTerms:
    r"""One-sample ELBO estimate and its two pieces per datum (Eq. 8.20), using the noise ``Z`` (N, K)."""
    model = _check_model(model)
    params = _check_params(model, params)
    Y = _check_Y(model, Y)
    Z = _check_Z(model, Z, Y.shape[0])
    loss = _forward(model, params, Y, Z)
    return ELBOTerms(-(loss[0] + loss[1]), loss[0], loss[1])


def _forward(model, params, Y, Z):
    K = model.K
    enc_out, enc_cache = model.encoder._forward(params.phi, Y)
    nu, log_v2 = enc_out[:, :K], enc_out[:, K:]
    v = np.exp(0.5 * log_v2)
    X = nu + v * Z
    dec_out, dec_cache = model.decoder._forward(params.theta, X)
    rec, g_out = _rec(model, dec_out, Y)
    return _kl(nu, log_v2), rec, (nu, log_v2, v, enc_cache, dec_cache, g_out)


def loss_and_grad(model: VAE, params: VAEParams, Y, Z, *, beta: float = 1.0):
    r"""Minus the average ELBO of the batch and its gradient with respect to ``params``.

    Returns ``(loss, grads, terms)``: ``loss`` is
    :math:`\langle\beta\,\mathrm{KL} + \mathrm{reconstruction}\rangle` over the rows (``beta = 1`` is
    minus the ELBO), ``grads`` a :class:`VAEParams` shaped like ``params``, ``terms`` the
    :class:`ELBOTerms` per datum. The backward pass runs from the emission surprisal through the
    decoder to :math:`\check{\mathbf x}`, then through :math:`\check{\mathbf x} = \boldsymbol\nu +
    \mathbf v\odot\check{\mathbf z}` into the encoder's two heads, where the KL's own derivatives
    :math:`\boldsymbol\nu` and :math:`\tfrac12(v_k^2-1)` (per :math:`\log v_k^2`) are added.
    """
    model = _check_model(model)
    params = _check_params(model, params)
    Y = _check_Y(model, Y)
    Z = _check_Z(model, Z, Y.shape[0])
    beta = positive_scalar(beta, "beta", strict=False)
    N = Y.shape[0]
    kl, rec, (nu, log_v2, v, enc_cache, dec_cache, g_out) = _forward(model, params, Y, Z)
    g_X, g_theta = model.decoder._backward(params.theta, dec_cache, g_out / N)
    g_nu = g_X + beta * nu / N
    g_lv = 0.5 * g_X * v * Z + beta * 0.5 * (np.exp(log_v2) - 1.0) / N
    _, g_phi = model.encoder._backward(params.phi, enc_cache, np.hstack([g_nu, g_lv]), False)  # no dS/dY
    loss = float(np.mean(beta * kl + rec))
    return loss, VAEParams(g_phi, g_theta), ELBOTerms(-(kl + rec), kl, rec)


def fit_vae(model: VAE, Y, rng: np.random.Generator, *, n_epochs: int = 50, batch: int = 128, lr: float = 1e-3,
            params0: VAEParams | None = None, beta: float = 1.0, record_every: int = 0,
            record_Y=None) -> VAEFit:
    r"""Train encoder and decoder together by Adam on minibatch estimates of minus the ELBO.

    Each epoch shuffles the rows of ``Y``; each minibatch draws one :math:`\check{\mathbf z}` per
    datum and takes one Adam step on :func:`loss_and_grad`.

    Parameters
    ----------
    model : VAE
    Y : array_like, shape (N, M)
        Data; binary for a Bernoulli decoder.
    rng : numpy.random.Generator
        Initialization (unless ``params0``), shuffling and noise.
    n_epochs, batch : int
    lr : float
        Adam's step size.
    params0 : VAEParams, optional
        Starting parameters (default: :func:`init_params`).
    beta : float
        Weight of the KL term (1 for the ELBO).
    record_every : int
        Store the recognition means of ``record_Y`` every this many epochs (0: never).
    record_Y : array_like, optional
        Rows to encode for the snapshots (default ``Y``).
    """
    model = _check_model(model)
    Y = _check_Y(model, Y)
    rng = check_rng(rng)
    n_epochs = check_int(n_epochs, "n_epochs", minimum=1)
    batch = check_int(batch, "batch", minimum=1)
    record_every = check_int(record_every, "record_every", minimum=0)
    R = Y if record_Y is None else _check_Y(model, record_Y)
    params = init_params(model, rng) if params0 is None else _check_params(model, params0)
    opt = Adam(positive_scalar(lr, "lr"))
    state = opt.init(params)
    N, K = Y.shape[0], model.K
    hist = np.zeros((3, n_epochs))
    snaps = []
    for epoch in range(n_epochs):
        if record_every and epoch % record_every == 0:
            snaps.append(model.encoder._forward(params.phi, R)[0][:, :K].copy())
        perm = rng.permutation(N)
        for start in range(0, N, batch):
            y = Y[perm[start:start + batch]]
            z = rng.standard_normal((y.shape[0], K))
            _, grads, terms = loss_and_grad(model, params, y, z, beta=beta)
            params, state = opt.step(params, grads, state)
            hist[:, epoch] += np.array([terms.elbo.sum(), terms.kl.sum(), terms.reconstruction.sum()])
    hist /= N
    if record_every:
        snaps.append(model.encoder._forward(params.phi, R)[0][:, :K].copy())
    return VAEFit(params, hist[0], hist[1], hist[2], snaps)


# ----------------------------------------------------------------------------------------------
# Eqs. 8.20-8.21 and 6.6 on discrete tables
# ----------------------------------------------------------------------------------------------

class JRETerms(NamedTuple):
    r"""Every piece of the joint relative entropy for discrete tables (nats).

    Attributes
    ----------
    L_JRE : float
        :math:`\operatorname{D_{KL}}\{\check p(\check X\mid Y)p(Y)\|\hat p(\check X, Y)\}` (Eq. 6.5).
    kl_regularizer : float
        :math:`\operatorname{D_{KL}}\{\check p(\check X\mid Y)\|\hat p(\check X)\}`, averaged over :math:`p(y)`.
    reconstruction : float
        :math:`H_{(p\check p)\hat p}[Y\mid\check X]`.
    data_entropy : float
        :math:`H_p[Y]`.
    aggregate_kl : float
        :math:`\operatorname{D_{KL}}\{\check p(\check X)\|\hat p(\check X)\}` with the aggregated
        posterior :math:`\check p(x) = \langle\check p(x\mid y)\rangle_y`.
    mutual_information : float
        :math:`I(\check X; Y)` under :math:`\check p(x\mid y)p(y)`.
    mre, pre : float
        Marginal and posterior relative entropies of Eq. 6.6.
    """

    L_JRE: float
    kl_regularizer: float
    reconstruction: float
    data_entropy: float
    aggregate_kl: float
    mutual_information: float
    mre: float
    pre: float


def _xlogy(x, y):
    """x log y with 0 log 0 = 0."""
    out = np.zeros(np.broadcast(x, y).shape)
    x, y = np.broadcast_arrays(x, y)
    m = x > 0
    out[m] = x[m] * np.log(y[m])
    return out


def jre_terms(p_y, q_x_y, p_x, p_y_x) -> JRETerms:
    r"""Each term of Eqs. 8.20, 8.21 and 6.6 for discrete variables, each computed from its own definition.

    Parameters
    ----------
    p_y : array_like, shape (J,)
        Data distribution :math:`p(y)`.
    q_x_y : array_like, shape (J, I)
        Recognition :math:`\check p(x\mid y)`, one row per :math:`y`.
    p_x : array_like, shape (I,)
        Generative prior :math:`\hat p(x)`.
    p_y_x : array_like, shape (I, J)
        Emission :math:`\hat p(y\mid x)`, one row per :math:`x`.
    """
    p_y = as_array(p_y, "p_y", ndim=1, dims="(J,)", nonempty=True)
    check_prob_vector(p_y, "p_y")
    J = p_y.size
    q = as_array(q_x_y, "q_x_y", ndim=2, dims="(J, I)", nonempty=True)
    if q.shape[0] != J:
        raise ValueError(f"q_x_y must have shape (J, I) with J = {J} rows; got {q.shape}.")
    check_prob_rows(q, "q_x_y")
    I = q.shape[1]
    p_x = as_array(p_x, "p_x", shape=(I,), dims="(I,)")
    check_prob_vector(p_x, "p_x")
    E = as_array(p_y_x, "p_y_x", shape=(I, J), dims="(I, J)")
    check_prob_rows(E, "p_y_x")
    joint_q = p_y[:, None] * q                             # (J, I): q(x|y) p(y)
    joint_p = (p_x[:, None] * E).T                         # (J, I): p(x) p(y|x)
    L = float(np.sum(_xlogy(joint_q, joint_q) - _xlogy(joint_q, joint_p)))
    kl_reg = float(np.sum(p_y[:, None] * (_xlogy(q, q) - _xlogy(q, p_x[None, :]))))
    rec = -float(np.sum(_xlogy(joint_q, E.T)))
    H = -float(np.sum(_xlogy(p_y, p_y)))
    q_agg = joint_q.sum(axis=0)
    agg_kl = float(np.sum(_xlogy(q_agg, q_agg) - _xlogy(q_agg, p_x)))
    mi = float(np.sum(_xlogy(joint_q, joint_q) - _xlogy(joint_q, p_y[:, None] * q_agg[None, :])))
    p_hat_y = joint_p.sum(axis=1)
    mre = float(np.sum(_xlogy(p_y, p_y) - _xlogy(p_y, p_hat_y)))
    post = joint_p / p_hat_y[:, None]                      # p(x|y)
    pre = float(np.sum(p_y[:, None] * (_xlogy(q, q) - _xlogy(q, post))))
    return JRETerms(L, kl_reg, rec, H, agg_kl, mi, mre, pre)
