r"""From variational Bayes to the VAE, on the linear-Gaussian model where every answer is known.

The generative model is probabilistic PCA in the book's symbols (Eq. 2.20 with isotropic noise):
:math:`\hat{\mathbf x}\sim\mathcal N(\mathbf 0,\mathbf I_K)`,
:math:`\hat{\mathbf y}\mid\hat{\mathbf x}\sim\mathcal N(\mathbf C\hat{\mathbf x}+\mathbf c,\sigma^2\mathbf I_L)`.
For a datum :math:`\mathbf y_n` and a factorized Gaussian recognition distribution
:math:`\check p(\mathbf x\mid\mathbf y_n) = \mathcal N(\boldsymbol\nu_n, \mathrm{diag}\,\mathbf s_n^2)` the ELBO is
available in closed form (:func:`linear_gaussian_elbo`).

Three stages, each a special case of the next:

1. **Variational Bayes, one datum at a time** (:func:`local_vb`): maximize each datum's ELBO over its
   own :math:`(\boldsymbol\nu_n, \mathbf s_n)`, the "local parameters" of the draft's Eq. 8.2. The optimum is
   mean-field on the exact Gaussian posterior: :math:`\boldsymbol\nu_n` the posterior mean and
   :math:`s_{nk}^2 = 1/P_{kk}` with :math:`\mathbf P = \mathbf I + \mathbf C^T\mathbf C/\sigma^2`.
2. **Amortization** (:func:`fit_encoder`): replace the per-datum parameters by a function of the datum,
   :math:`(\boldsymbol\nu, \log\mathbf s) = \mathrm{NN}(\mathbf y;\boldsymbol\phi)`, a recognition model
   trained on the average ELBO. Here the posterior mean is linear in :math:`\mathbf y`, so a linear
   encoder closes the amortization gap.
3. **The VAE** (:func:`fit_linear_vae`): learn the generative parameters
   :math:`(\mathbf C,\mathbf c,\sigma^2)` at the same time, with reparameterized samples
   :math:`\check{\mathbf x} = \boldsymbol\nu + \mathbf s\odot\check{\mathbf z}` (Eq. 8.24). Its optimum is
   the maximum-likelihood PPCA subspace (:func:`pedagogy_lib.factor.em.ppca_ml`).

Encoders are :func:`~pedagogy_lib.nn.network.mlp` networks trained with the library's hand-written
backpropagation and :class:`~pedagogy_lib.nn.optim.Adam`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import DivergenceError, as_array, check_int, check_rng, positive_scalar
from ..nn.network import Sequential, mlp
from ..nn.optim import Adam

__all__ = [
    "LinearGaussianModel",
    "EncoderResult",
    "VAEResult",
    "linear_gaussian_model",
    "check_linear_gaussian_model",
    "exact_posterior",
    "log_evidence",
    "linear_gaussian_elbo",
    "local_vb",
    "encoder",
    "fit_encoder",
    "fit_linear_vae",
]

_LOG2PI = np.log(2.0 * np.pi)


class LinearGaussianModel(NamedTuple):
    r"""PPCA: loadings ``C`` (L, K), offset ``c`` (L,), noise variance ``sigma2``."""

    C: np.ndarray
    c: np.ndarray
    sigma2: float


class EncoderResult(NamedTuple):
    """What :func:`fit_encoder` returns: encoder parameters, the input shift, the average ELBO at every step.

    The encoder reads ``y - shift`` (centred inputs make the gradient steps well conditioned):
    ``net.forward(phi, Y - shift)`` gives ``(nu, log_s)``.
    """

    phi: tuple
    shift: np.ndarray
    elbo: np.ndarray


class VAEResult(NamedTuple):
    """What :func:`fit_linear_vae` returns: the decoder (a model), encoder parameters and input shift
    (the data mean; the encoder reads ``y - shift``), the minibatch ELBO estimates, and the decoder
    every ``record_every`` steps (``path``; empty unless asked for)."""

    model: LinearGaussianModel
    phi: tuple
    shift: np.ndarray
    elbo: np.ndarray
    path: list


def linear_gaussian_model(C, c, sigma2) -> LinearGaussianModel:
    """A validated :class:`LinearGaussianModel`."""
    C = as_array(C, "C", ndim=2, dims="(L, K)", nonempty=True)
    c = as_array(c, "c", shape=(C.shape[0],), dims="(L,)")
    return LinearGaussianModel(C, c, positive_scalar(sigma2, "sigma2"))


def check_linear_gaussian_model(model, name: str = "model") -> LinearGaussianModel:
    """Return ``model`` with clean fields after checking them as :func:`linear_gaussian_model` does.

    A :class:`LinearGaussianModel` built by hand or edited with ``_replace`` is held to the same rules.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`LinearGaussianModel` or a field is not real and numeric.
    ValueError
        If ``C`` is not a finite non-empty ``(L, K)`` matrix, ``c`` not a finite ``(L,)`` vector, or
        ``sigma2`` not a finite positive number.
    """
    if not isinstance(model, LinearGaussianModel):
        raise TypeError(f"{name} must be a LinearGaussianModel (see linear_gaussian_model); got "
                        f"{type(model).__name__}.")
    C = as_array(model.C, f"{name}.C", ndim=2, dims="(L, K)", nonempty=True)
    c = as_array(model.c, f"{name}.c", shape=(C.shape[0],), dims="(L,)")
    return LinearGaussianModel(C, c, positive_scalar(model.sigma2, f"{name}.sigma2"))


def _check_encoder(net, L, K):
    """Raise unless ``net`` is a Sequential from ``L`` inputs to ``2 K`` outputs (see :func:`encoder`)."""
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a Sequential (see encoder()); got {type(net).__name__}.")
    if net.n_in != L or net.n_out != 2 * K:
        raise ValueError(f"net must map L = {L} inputs to 2 K = {2 * K} outputs (nu and log s), as encoder(L, K) "
                         f"builds; got {net.n_in} inputs and {net.n_out} outputs.")


def _check(model, Y):
    model = check_linear_gaussian_model(model)
    return model, as_array(Y, "Y", shape=(None, model.C.shape[0]), dims="(N, L)")


def exact_posterior(model: LinearGaussianModel, Y):
    r"""Posterior means (N, K) and the shared covariance :math:`\mathbf P^{-1}` (K, K) (Eq. 2.22's form).

    Raises
    ------
    TypeError, ValueError
        If ``model`` is malformed (:func:`check_linear_gaussian_model`) or ``Y`` is not a finite
        ``(N, L)`` array.
    """
    model, Y = _check(model, Y)
    return _exact_posterior(model, Y)


def _exact_posterior(model, Y):
    C, c, s2 = model
    P = np.eye(C.shape[1]) + C.T @ C / s2
    cov = np.linalg.inv(P)
    return (Y - c) @ C @ cov / s2, cov


def log_evidence(model: LinearGaussianModel, Y) -> np.ndarray:
    r""":math:`\log\hat p(\mathbf y_n) = \log\mathcal N(\mathbf y_n;\mathbf c,\mathbf C\mathbf C^T+\sigma^2\mathbf I)` per datum.

    Raises
    ------
    TypeError, ValueError
        If ``model`` is malformed (:func:`check_linear_gaussian_model`) or ``Y`` is not a finite
        ``(N, L)`` array.
    """
    model, Y = _check(model, Y)
    return _log_evidence(model, Y)


def _log_sq_norms(A: np.ndarray) -> np.ndarray:
    """``log ||a||^2`` of each row ``a`` of ``A`` (``-inf`` for a zero row), scaled so no square under- or overflows."""
    top = np.abs(A).max(axis=1) if A.shape[1] else np.zeros(A.shape[0])
    safe = np.where(top > 0.0, top, 1.0)
    with np.errstate(divide="ignore"):
        return 2.0 * np.log(top) + np.log(np.sum((A / safe[:, None]) ** 2, axis=1) + (top == 0.0))


def _log_evidence(model, Y):
    r"""The log evidence from the SVD :math:`\mathbf C = \mathbf U\,\mathrm{diag}(\mathbf d)\,\mathbf V^T`, in logs.

    :math:`\mathbf C\mathbf C^T + \sigma^2\mathbf I` has eigenvalues :math:`d_i^2 + \sigma^2` on the columns of
    :math:`\mathbf U` and :math:`\sigma^2` on their orthogonal complement, so with :math:`\mathbf r = \mathbf y - \mathbf c`
    the Mahalanobis term is :math:`\sum_i (\mathbf u_i^T\mathbf r)^2/(d_i^2+\sigma^2) + \lVert\mathbf r - \mathbf U\mathbf U^T\mathbf r\rVert^2/\sigma^2`
    and the log determinant :math:`\sum_i\log(d_i^2+\sigma^2) + (L - r)\log\sigma^2`. Every term is formed
    from logs (``logaddexp`` for :math:`d_i^2+\sigma^2`, scaled norms), so neither a tiny :math:`\sigma^2` (where
    the Cholesky factor of the nearly singular covariance is dominated by rounding) nor large loadings
    under- or overflow; the residual off the column space of :math:`\mathbf C` is computed directly, not as
    a difference of two large quadratic forms.
    """
    C, c, s2 = model
    L = C.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):
        R = Y - c
    if not np.all(np.isfinite(R)):
        raise ValueError("Y - model.c overflows float64; rescale Y and the model (C, c by a, sigma2 by a^2).")
    U, d, _ = np.linalg.svd(C, full_matrices=False)         # C = U diag(d) V^T; r = min(L, K) columns
    log_s2 = np.log(s2)
    with np.errstate(divide="ignore"):
        log_eig = np.logaddexp(2.0 * np.log(d), log_s2)      # log(d_i^2 + sigma2)
    P = R @ U                                                # coordinates on the column space of C
    with np.errstate(divide="ignore"):
        log_terms = 2.0 * np.log(np.abs(P)) - log_eig
    if d.size < L:                                           # the rest, orthogonal to it (none when L <= K)
        log_rest = _log_sq_norms(R - P @ U.T) - log_s2
    else:
        log_rest = np.full(R.shape[0], -np.inf)
    with np.errstate(over="ignore"):
        quad = np.exp(log_terms).sum(axis=1) + np.exp(log_rest)
    log_det = float(log_eig.sum()) + (L - d.size) * log_s2
    out = -0.5 * quad - 0.5 * log_det - 0.5 * L * _LOG2PI
    if not np.all(np.isfinite(out)):
        n = int(np.argmax(~np.isfinite(out)))
        raise ValueError(f"the log evidence of Y[{n}] lies below the float64 range: the datum is about "
                         f"exp({0.5 * float(np.logaddexp.reduce(np.r_[log_terms[n], log_rest[n]])):.4g}) standard "
                         f"deviations from the model's mean (model.sigma2 = {s2:.3g}); rescale Y and the model.")
    return out


def linear_gaussian_elbo(model: LinearGaussianModel, Y, nu, log_s) -> np.ndarray:
    r"""Closed-form ELBO per datum for :math:`\check p = \mathcal N(\boldsymbol\nu_n,\mathrm{diag}\,\mathbf s_n^2)`.

    .. math::
        -\tfrac{L}{2}\log 2\pi\sigma^2 - \frac{\|\mathbf y-\mathbf C\boldsymbol\nu-\mathbf c\|^2
        + \sum_k s_k^2\|\mathbf C_{:k}\|^2}{2\sigma^2}
        - \tfrac12\sum_k(\nu_k^2 + s_k^2 - 1 - \log s_k^2).

    Raises
    ------
    TypeError, ValueError
        If ``model`` is malformed (:func:`check_linear_gaussian_model`) or ``Y`` is not a finite
        ``(N, L)`` array, or ``nu`` and ``log_s`` are not finite ``(N, K)`` arrays.
    """
    model, Y = _check(model, Y)
    K = model.C.shape[1]
    nu = as_array(nu, "nu", shape=(Y.shape[0], K), dims="(N, K)")
    log_s = as_array(log_s, "log_s", shape=(Y.shape[0], K), dims="(N, K)")
    return _elbo(model, Y, nu, log_s)


def _elbo(model, Y, nu, log_s):
    C, c, s2 = model
    L = C.shape[0]
    s_sq = np.exp(2.0 * log_s)
    r = Y - nu @ C.T - c
    rec = -0.5 * L * np.log(2 * np.pi * s2) - (np.sum(r * r, axis=1) + s_sq @ np.sum(C * C, axis=0)) / (2 * s2)
    kl = 0.5 * np.sum(nu * nu + s_sq - 1.0 - 2.0 * log_s, axis=1)
    return rec - kl


def _elbo_grads(model, Y, nu, log_s):
    """d ELBO_n / d nu_n and d ELBO_n / d log s_n (per datum)."""
    C, c, s2 = model
    s_sq = np.exp(2.0 * log_s)
    r = Y - nu @ C.T - c
    g_nu = r @ C / s2 - nu
    g_log_s = -s_sq * np.sum(C * C, axis=0) / s2 - s_sq + 1.0
    return g_nu, g_log_s


def local_vb(model: LinearGaussianModel, Y):
    r"""The per-datum ELBO maximizers over factorized Gaussians: ``(nu, log_s)``, each (N, K).

    :math:`\boldsymbol\nu_n` is the exact posterior mean; :math:`s_{k}^2 = 1/P_{kk}`, the mean-field
    variance, the same for every datum.

    Raises
    ------
    TypeError, ValueError
        If ``model`` is malformed (:func:`check_linear_gaussian_model`) or ``Y`` is not a finite
        ``(N, L)`` array.
    """
    model, Y = _check(model, Y)
    C, _, s2 = model
    nu, _ = _exact_posterior(model, Y)
    P_diag = 1.0 + np.sum(C * C, axis=0) / s2
    return nu, np.broadcast_to(-0.5 * np.log(P_diag), nu.shape).copy()


def encoder(L: int, K: int, hidden: int = 0) -> Sequential:
    """A recognition network from ``y`` (L) to ``(nu, log_s)`` (2K): linear, or one tanh hidden layer."""
    L, K = check_int(L, "L", minimum=1), check_int(K, "K", minimum=1)
    hidden = check_int(hidden, "hidden", minimum=0)
    return mlp([L, 2 * K] if hidden == 0 else [L, hidden, 2 * K], activation="tanh")


def fit_encoder(model: LinearGaussianModel, Y, net: Sequential, rng: np.random.Generator, *,
                n_iter: int = 2000, lr: float = 0.01) -> EncoderResult:
    """Amortized VB: train ``net`` on the average closed-form ELBO of the data (the decoder fixed).

    The network reads ``y - c`` (the decoder's offset), on which the exact posterior mean depends linearly.

    Raises
    ------
    TypeError, ValueError
        If ``model`` is malformed (:func:`check_linear_gaussian_model`), ``Y`` is not a non-empty
        ``(N, L)`` array, ``net`` does not map ``L`` inputs to ``2 K`` outputs, or an option is out of
        range; a :class:`~pedagogy_lib.core.checks.DivergenceError` (a ``ValueError``) if the ELBO
        leaves the finite numbers (``lr`` too large for the scale of ``Y``).
    """
    model, Y = _check(model, Y)
    if Y.shape[0] == 0:
        raise ValueError(f"Y must hold at least one datum; got shape {Y.shape}.")
    rng = check_rng(rng)
    K = model.C.shape[1]
    _check_encoder(net, model.C.shape[0], K)
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    lr = positive_scalar(lr, "lr")
    opt = Adam(lr)
    phi = net.init(rng)
    state = opt.init(phi)
    N = Y.shape[0]
    elbo = np.empty(n_iter)
    shift = model.c.copy()
    for it in range(n_iter):
        out, cache = net.forward(phi, Y - shift)
        nu, log_s = out[:, :K], out[:, K:]
        with np.errstate(over="ignore", invalid="ignore"):
            elbo[it] = _elbo(model, Y, nu, log_s).mean()
        _check_progress(elbo[it], it, lr, Y)
        g_nu, g_ls = _elbo_grads(model, Y, nu, log_s)
        _, g_phi = net.backward(phi, cache, -np.hstack([g_nu, g_ls]) / N)       # descend -ELBO
        phi, state = opt.step(phi, g_phi, state)
    return EncoderResult(phi, shift, elbo)


def _check_progress(elbo: float, it: int, lr: float, Y: np.ndarray) -> None:
    """Raise a :class:`DivergenceError` once the training ELBO is no longer finite."""
    if not np.isfinite(elbo):
        raise DivergenceError(f"the training diverged at iteration {it} (the ELBO is {elbo}); reduce lr (now {lr:g}) "
                              f"or rescale Y (largest |Y| = {np.max(np.abs(Y)):.3g}).")


def fit_linear_vae(Y, K: int, net: Sequential, rng: np.random.Generator, *, n_iter: int = 3000,
                   batch: int = 100, lr: float = 0.01, record_every: int = 0) -> VAEResult:
    r"""A linear-Gaussian VAE: decoder :math:`(\mathbf C, \mathbf c, \log\sigma^2)` and encoder ``net`` together.

    Each step draws a minibatch and one :math:`\check{\mathbf z}\sim\mathcal N(\mathbf 0,\mathbf I)` per
    datum, forms :math:`\check{\mathbf x} = \boldsymbol\nu + \mathbf s\odot\check{\mathbf z}`, and
    ascends :math:`\log\hat p(\mathbf y\mid\check{\mathbf x}) - D_{KL}\{\check p\|\mathcal N(\mathbf 0,\mathbf I)\}`
    (the KL in closed form) with pathwise gradients.

    Raises
    ------
    TypeError, ValueError
        If ``Y`` is not a finite non-empty ``(N, L)`` array with positive variance, ``net`` does not
        map ``L`` inputs to ``2 K`` outputs, or an option is out of range; a
        :class:`~pedagogy_lib.core.checks.DivergenceError` (a ``ValueError``) if the ELBO leaves the
        finite numbers (``lr`` too large for the scale of ``Y``).
    """
    Y = as_array(Y, "Y", ndim=2, dims="(N, L)", nonempty=True)
    N, L = Y.shape
    K = check_int(K, "K", minimum=1)
    _check_encoder(net, Y.shape[1], K)
    rng = check_rng(rng)
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    B = min(check_int(batch, "batch", minimum=1), N)
    lr = positive_scalar(lr, "lr")
    var_Y = float(Y.var())
    if not (np.isfinite(var_Y) and var_Y > 0.0):
        raise ValueError(f"Y must vary on a representable scale: its variance is {var_Y:.3g} (the noise variance "
                         "starts there).")
    phi = net.init(rng)
    theta = (0.1 * rng.standard_normal((L, K)), Y.mean(axis=0), np.array([np.log(var_Y)]))
    opt_phi, opt_theta = Adam(lr), Adam(lr)
    st_phi, st_theta = opt_phi.init(phi), opt_theta.init(theta)
    elbo = np.empty(n_iter)
    shift = Y.mean(axis=0)
    record_every = check_int(record_every, "record_every", minimum=0)
    path = []
    for it in range(n_iter):
        if record_every and it % record_every == 0:
            path.append(LinearGaussianModel(theta[0].copy(), theta[1].copy(), float(np.exp(theta[2][0]))))
        y = Y[rng.choice(N, B, replace=False)]
        z = rng.standard_normal((B, K))
        C, c, log_s2 = theta
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            s2 = float(np.exp(log_s2[0]))
            out, cache = net.forward(phi, y - shift)
            nu, log_s = out[:, :K], out[:, K:]
            s = np.exp(log_s)
            x = nu + s * z                                              # Eq. 8.24
            r = y - x @ C.T - c
            rec = -0.5 * L * (np.log(2 * np.pi) + log_s2[0]) - np.sum(r * r, axis=1) / (2 * s2)
            kl = 0.5 * np.sum(nu * nu + s * s - 1.0 - 2.0 * log_s, axis=1)
            elbo[it] = np.mean(rec - kl)
        _check_progress(elbo[it], it, lr, Y)
        g_x = r @ C / s2                                                # d rec / d x
        g_nu = g_x - nu
        g_log_s = g_x * s * z - s * s + 1.0
        g_C = r.T @ x / s2
        g_c = r.sum(axis=0) / s2
        g_ls2 = np.array([np.sum(-0.5 * L + np.sum(r * r, axis=1) / (2 * s2))])
        _, g_phi = net.backward(phi, cache, -np.hstack([g_nu, g_log_s]) / B)
        phi, st_phi = opt_phi.step(phi, g_phi, st_phi)
        theta, st_theta = opt_theta.step(theta, (-g_C / B, -g_c / B, -g_ls2 / B), st_theta)
    C, c, log_s2 = theta
    return VAEResult(LinearGaussianModel(C, c, float(np.exp(log_s2[0]))), phi, shift, elbo, path)
