r"""The diffusion loss in its parameterizations, and a small denoising network (Section 8.3.1).

**Per-step weights.** With the reverse variances of the draft,
:math:`\sigma_l^2 = v_{l-1}^2(\rho_{l-1}^2-\rho_l^2)/\rho_{l-1}^2`, the joint relative entropy is
(up to a constant)

.. math::
    \mathcal L_{\rm JRE} = \sum_{l=1}^L \frac{1}{2\sigma_l^2}\big\langle\lVert\bar{\boldsymbol\mu}_l-\boldsymbol\mu_l\rVert^2\big\rangle
    = \sum_{l=1}^L w_l\big\langle\lVert\check{\mathbf X}_0-\hat{\mathbf m}_l\rVert^2\big\rangle
    = \sum_{l=1}^L \frac{w_l}{\rho_l^2}\big\langle\lVert\check{\mathbf Z}+v_l\hat{\mathbf f}_l\rVert^2\big\rangle,
    \qquad w_l = \frac{\rho_{l-1}^2-\rho_l^2}{2},

(Eqs. 8.39, 8.41 and 8.48), where :math:`\bar{\boldsymbol\mu}_l` is the mean of Eq. 8.38. The
parameterizations are linked by

* mean: :math:`\boldsymbol\mu_l = \frac{v_{l-1}}{\rho_{l-1}}\big((\rho_{l-1}^2-\rho_l^2)\hat{\mathbf m}_l + \frac{\rho_l}{v_l}\mathbf x_l\big)`;
* force (Eq. 8.47): :math:`\hat{\mathbf f}_l = (v_l\rho_l\hat{\mathbf m}_l - \mathbf x_l)/v_l^2`;
* noise (DDPM's :math:`\epsilon`-prediction): :math:`\hat{\boldsymbol\epsilon}_l = -v_l\hat{\mathbf f}_l
  = \mathbf x_l/v_l - \rho_l\hat{\mathbf m}_l`, with loss :math:`(w_l/\rho_l^2)\lVert\check{\mathbf Z}-\hat{\boldsymbol\epsilon}_l\rVert^2`.

Every prediction is an affine function of the others given :math:`\mathbf x_l`, so one network can
be read in any of them, and the losses agree exactly (:func:`loss_terms`). DDPM's
"simple" loss drops the weight :math:`w_l/\rho_l^2`; for the log-linear SNR schedule that weight is
the same at every step, so the two agree up to a factor.

**The denoiser.** :func:`denoiser` builds an MLP (:mod:`pedagogy_lib.nn.network`) whose input is
:math:`\mathbf x_l` and a sinusoidal embedding of :math:`u = l/L` and whose output is read as
``param`` (one of :data:`PARAMS`). :func:`denoiser_loss` returns the Monte Carlo estimate of
:math:`\mathcal L_{\rm JRE}` (levels drawn uniformly, times :math:`L`) and its gradient by
hand-written backpropagation; :func:`train_denoiser` runs Adam.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..core.checks import as_array, check_choice, check_int, check_rng, positive_scalar
from ..nn.network import Sequential, mlp
from ..nn.optim import Adam
from .forward import levels, noise_data
from .schedules import Schedule, check_schedule

__all__ = [
    "PARAMS",
    "WEIGHTINGS",
    "Denoiser",
    "check_denoiser",
    "TrainResult",
    "step_weights",
    "reverse_variances",
    "mean_weights",
    "eq_8_40_weights",
    "mean_from_m_hat",
    "m_hat_from_mean",
    "force_from_m_hat",
    "m_hat_from_force",
    "eps_from_force",
    "force_from_eps",
    "loss_terms",
    "gaussian_optimal_loss",
    "gaussian_loss_limit",
    "time_features",
    "denoiser",
    "init_denoiser",
    "predict",
    "denoiser_loss",
    "train_denoiser",
]

#: What a prediction (or a network's output) stands for.
PARAMS = ("mean", "m_hat", "force", "eps")
#: ``"jre"``: the weights of Eq. 8.41; ``"simple"``: unit weight on the noise error (DDPM's L_simple).
WEIGHTINGS = ("jre", "simple")


def step_weights(schedule: Schedule) -> np.ndarray:
    r""":math:`w_l = (\rho_{l-1}^2-\rho_l^2)/2` for :math:`l = 1..L` (Eq. 8.41), shape (L,)."""
    schedule = check_schedule(schedule)
    lam = schedule.snr
    return 0.5 * (lam[:-1] - lam[1:])


def reverse_variances(schedule: Schedule) -> np.ndarray:
    r""":math:`\sigma_l^2 = v_{l-1}^2(\rho_{l-1}^2-\rho_l^2)/\rho_{l-1}^2`, the variance of Eq. 8.38 with :math:`m = l`, for :math:`l = 1..L`."""
    schedule = check_schedule(schedule)
    lam, v = schedule.snr, schedule.v
    return v[:-1] ** 2 * (lam[:-1] - lam[1:]) / lam[:-1]


def mean_weights(schedule: Schedule) -> np.ndarray:
    r""":math:`1/(2\sigma_l^2)`, the weights of Eqs. 8.34 and 8.39, for :math:`l = 1..L`."""
    return 0.5 / reverse_variances(schedule)


def eq_8_40_weights(schedule: Schedule, sigma2=None) -> np.ndarray:
    r"""The weight of Eq. 8.40, :math:`v_{l-1}^2(\rho_{l-1}^2-\rho_l^2)^2/(2\sigma_l^2\rho_{l-1}^2)`.

    With the default :math:`\sigma_l^2` (:func:`reverse_variances`) it reduces to :math:`w_l`.
    """
    schedule = check_schedule(schedule)
    sigma2 = reverse_variances(schedule) if sigma2 is None else \
        as_array(sigma2, "sigma2", shape=(schedule.L,), dims="(L,)")
    lam, v = schedule.snr, schedule.v
    return v[:-1] ** 2 * (lam[:-1] - lam[1:]) ** 2 / (2.0 * sigma2 * lam[:-1])


def _prep(schedule, l, x_l, pred, name, minimum=1):
    schedule = check_schedule(schedule)
    x_l = as_array(x_l, "x_l", ndim=2, dims="(N, d)")
    pred = as_array(pred, name, shape=x_l.shape, dims="(N, d)")
    l = levels(l, "l", schedule.L, x_l.shape[0], minimum=minimum)
    return schedule, l, x_l, pred


def mean_from_m_hat(schedule: Schedule, l, x_l, m_hat) -> np.ndarray:
    r"""The reverse mean :math:`\boldsymbol\mu_l` of a clean-data prediction :math:`\hat{\mathbf m}_l` (Eq. 8.38 with :math:`\hat{\mathbf m}` for :math:`\mathbf x`)."""
    schedule, l, x_l, m_hat = _prep(schedule, l, x_l, m_hat, "m_hat")
    v, rho, lam = schedule.v, schedule.rho, schedule.snr
    a = v[l - 1] / rho[l - 1] * (lam[l - 1] - lam[l])
    b = v[l - 1] * rho[l] / (rho[l - 1] * v[l])
    return a[:, None] * m_hat + b[:, None] * x_l


def m_hat_from_mean(schedule: Schedule, l, x_l, mu) -> np.ndarray:
    r"""Inverse of :func:`mean_from_m_hat`."""
    schedule, l, x_l, mu = _prep(schedule, l, x_l, mu, "mu")
    v, rho, lam = schedule.v, schedule.rho, schedule.snr
    a = v[l - 1] / rho[l - 1] * (lam[l - 1] - lam[l])
    b = v[l - 1] * rho[l] / (rho[l - 1] * v[l])
    return (mu - b[:, None] * x_l) / a[:, None]


def force_from_m_hat(schedule: Schedule, l, x_l, m_hat) -> np.ndarray:
    r"""Tweedie's force estimate, Eq. 8.47: :math:`\hat{\mathbf f}_l = (v_l\rho_l\hat{\mathbf m}_l - \mathbf x_l)/v_l^2`. Levels 0..L.

    With the exact posterior mean for :math:`\hat{\mathbf m}_l` this is the force of the noised data,
    Tweedie's formula (Eq. 8.46 with :math:`\boldsymbol\Sigma = v_l^2\mathbf I`, :math:`\alpha = v_l\rho_l`).
    """
    schedule, l, x_l, m_hat = _prep(schedule, l, x_l, m_hat, "m_hat", minimum=0)
    v, s = schedule.v[l][:, None], schedule.scale[l][:, None]
    return (s * m_hat - x_l) / v ** 2


def m_hat_from_force(schedule: Schedule, l, x_l, f_hat) -> np.ndarray:
    r"""Inverse of Eq. 8.47: :math:`\hat{\mathbf m}_l = (v_l/\rho_l)\hat{\mathbf f}_l + \mathbf x_l/(v_l\rho_l)`. Levels 0..L."""
    schedule, l, x_l, f_hat = _prep(schedule, l, x_l, f_hat, "f_hat", minimum=0)
    v, rho = schedule.v[l][:, None], schedule.rho[l][:, None]
    return v / rho * f_hat + x_l / (v * rho)


def eps_from_force(schedule: Schedule, l, f_hat) -> np.ndarray:
    r"""Noise prediction :math:`\hat{\boldsymbol\epsilon}_l = -v_l\hat{\mathbf f}_l`. Levels 0..L."""
    schedule = check_schedule(schedule)
    f_hat = as_array(f_hat, "f_hat", ndim=2, dims="(N, d)")
    l = levels(l, "l", schedule.L, f_hat.shape[0])
    return -schedule.v[l][:, None] * f_hat


def force_from_eps(schedule: Schedule, l, eps_hat) -> np.ndarray:
    r"""Inverse of :func:`eps_from_force`: :math:`\hat{\mathbf f}_l = -\hat{\boldsymbol\epsilon}_l/v_l`."""
    schedule = check_schedule(schedule)
    eps_hat = as_array(eps_hat, "eps_hat", ndim=2, dims="(N, d)")
    l = levels(l, "l", schedule.L, eps_hat.shape[0])
    return -eps_hat / schedule.v[l][:, None]


def _eps_affine(schedule, l, param):
    r"""Coefficients ``(A, B, C)`` with :math:`\hat\epsilon = A\,\text{pred} + B\,\mathbf x_l` (per row) for ``param``."""
    v, rho, lam = schedule.v, schedule.rho, schedule.snr
    if param == "eps":
        return np.ones(l.shape), np.zeros(l.shape)
    if param == "force":
        return -v[l], np.zeros(l.shape)
    if param == "m_hat":
        return -rho[l], 1.0 / v[l]
    # mean: m_hat = (mu - b x_l) / a, eps = x_l / v - rho m_hat
    a = v[l - 1] / rho[l - 1] * (lam[l - 1] - lam[l])
    b = v[l - 1] * rho[l] / (rho[l - 1] * v[l])
    return -rho[l] / a, 1.0 / v[l] + rho[l] * b / a


def _loss_weight(schedule, l, weighting):
    if weighting == "simple":
        return np.ones(l.shape)
    lam = schedule.snr
    return 0.5 * (lam[l - 1] - lam[l]) / lam[l]


def loss_terms(schedule: Schedule, l, x0, z, pred, param: str = "m_hat") -> np.ndarray:
    r"""Per-sample summands of :math:`\mathcal L_{\rm JRE}` (constants dropped) for a prediction in any parameterization.

    The sample is :math:`\check{\mathbf x}_l = v_l(\rho_l\mathbf x_0 + \mathbf z)` (Eq. 8.43) and, by ``param``,

    * ``"mean"``: :math:`\lVert\bar{\boldsymbol\mu}_l - \text{pred}\rVert^2/(2\sigma_l^2)` (Eq. 8.39);
    * ``"m_hat"``: :math:`w_l\lVert\mathbf x_0-\text{pred}\rVert^2` (Eq. 8.41);
    * ``"force"``: :math:`(w_l/\rho_l^2)\lVert\mathbf z + v_l\,\text{pred}\rVert^2` (Eq. 8.48);
    * ``"eps"``: :math:`(w_l/\rho_l^2)\lVert\mathbf z - \text{pred}\rVert^2`.

    Each formula is evaluated as written (no conversion), so equal values for converted
    predictions check the algebra of Eqs. 8.39-8.48.

    Parameters
    ----------
    l : int or array of int, shape (N,)
        Levels in 1..L.
    x0, z, pred : array_like, shape (N, d)

    Returns
    -------
    ndarray, shape (N,)
    """
    schedule = check_schedule(schedule)
    param = check_choice(param, "param", PARAMS)
    x0 = as_array(x0, "x0", ndim=2, dims="(N, d)")
    z = as_array(z, "z", shape=x0.shape, dims="(N, d)")
    pred = as_array(pred, "pred", shape=x0.shape, dims="(N, d)")
    l = levels(l, "l", schedule.L, x0.shape[0], minimum=1)
    v, lam = schedule.v, schedule.snr
    w = 0.5 * (lam[l - 1] - lam[l])
    if param == "m_hat":
        return w * np.sum((x0 - pred) ** 2, axis=1)
    if param == "force":
        return w / lam[l] * np.sum((z + v[l][:, None] * pred) ** 2, axis=1)
    if param == "eps":
        return w / lam[l] * np.sum((z - pred) ** 2, axis=1)
    x_l = noise_data(schedule, x0, l, z)
    mu_bar = mean_from_m_hat(schedule, l, x_l, x0)
    sigma2 = v[l - 1] ** 2 * (lam[l - 1] - lam[l]) / lam[l - 1]
    return np.sum((mu_bar - pred) ** 2, axis=1) / (2.0 * sigma2)


def gaussian_optimal_loss(schedule: Schedule, s0: float, d: int = 1) -> float:
    r""":math:`\sum_l w_l\,\mathrm{MSE}_l` at the optimal denoiser for data :math:`\mathcal N(\mathbf 0, s_0^2\mathbf I_d)`.

    The optimal :math:`\hat{\mathbf m}_l` is the posterior mean; its error is the posterior variance
    :math:`d/(1/s_0^2+\rho_l^2)` (the datum seen through :math:`\mathbf x_l/(v_l\rho_l) = \mathbf x + \check{\mathbf Z}/\rho_l`).
    """
    schedule = check_schedule(schedule)
    s0 = positive_scalar(s0, "s0")
    d = check_int(d, "d", minimum=1)
    lam = schedule.snr
    return float(np.sum(0.5 * d * _posterior_variance_steps(lam[:-1] - lam[1:], lam[1:], s0)))


def gaussian_loss_limit(lam_min: float, lam_max: float, s0: float, d: int = 1) -> float:
    r"""The :math:`L\to\infty` limit of :func:`gaussian_optimal_loss`, the same for every schedule:

    .. math::
        \tfrac12\int_{\lambda_\min}^{\lambda_\max}\frac{d\,d\lambda}{1/s_0^2+\lambda}
        = \frac d2\log\frac{1/s_0^2+\lambda_\max}{1/s_0^2+\lambda_\min}.

    This is the corrected continuous-time limit of Eq. 8.41: no factor :math:`1/L`, and the
    integrand carries :math:`-h'(u)\,du = d\lambda` (see the errata page).
    """
    lam_min = positive_scalar(lam_min, "lam_min")
    lam_max = positive_scalar(lam_max, "lam_max")
    s0 = positive_scalar(s0, "s0")
    d = check_int(d, "d", minimum=1)
    if lam_min >= lam_max:
        raise ValueError(f"lam_min must be below lam_max; got {lam_min:.6g} and {lam_max:.6g}.")
    if s0 <= 1.0:
        # log((1 + lam_max s0^2) / (1 + lam_min s0^2)) as log1p of a ratio formed without 1 / s0^2,
        # which overflows below s0 = 1e-154 and cancels in the quotient well before that
        gap = (lam_max - lam_min) * s0 * s0
        return 0.5 * d * float(np.log1p(gap / (1.0 + lam_min * s0 * s0)))
    p = (1.0 / s0) ** 2
    if lam_max - lam_min <= p + lam_min:
        return 0.5 * d * float(np.log1p((lam_max - lam_min) / (p + lam_min)))
    return 0.5 * d * float(np.log(p + lam_max) - np.log(p + lam_min))


def _posterior_variance_steps(dlam, lam, s0: float) -> np.ndarray:
    """``dlam / (1 / s0^2 + lam)`` without forming ``1 / s0^2`` when ``s0 < 1`` (it overflows below 1e-154)."""
    if s0 <= 1.0:
        return (dlam * s0) * s0 / (1.0 + (lam * s0) * s0)
    return dlam / ((1.0 / s0) ** 2 + lam)


# ----------------------------------------------------------------------------------------------
# The denoising network
# ----------------------------------------------------------------------------------------------

class Denoiser(NamedTuple):
    r"""A network :math:`(\mathbf x_l, l)\mapsto` prediction, read as ``param``.

    Attributes
    ----------
    net : Sequential
        Input width ``d + 1 + 2 * n_freq``, output width ``d``.
    d : int
        Data dimension.
    n_freq : int
        Frequencies of the time embedding (:func:`time_features`).
    param : str
        What the output stands for (one of :data:`PARAMS`).
    """

    net: Sequential
    d: int
    n_freq: int
    param: str


class TrainResult(NamedTuple):
    """Trained parameters and the loss estimate at every iteration."""

    params: tuple
    losses: np.ndarray


def time_features(schedule: Schedule, l, n_freq: int) -> np.ndarray:
    r"""Embedding of the level: :math:`u = l/L`, then :math:`\cos(\pi k u), \sin(\pi k u)` for :math:`k = 1..n`.

    Returns an array of shape ``(N, 1 + 2 n_freq)`` for ``l`` of shape ``(N,)``.
    """
    schedule = check_schedule(schedule)
    n_freq = check_int(n_freq, "n_freq", minimum=0)
    arr = np.asarray(l)
    l = levels(l, "l", schedule.L, arr.shape[0] if arr.ndim == 1 else 1)
    u = l / schedule.L
    k = np.arange(1, n_freq + 1)
    return np.column_stack([u, np.cos(np.pi * np.outer(u, k)), np.sin(np.pi * np.outer(u, k))])


def denoiser(d: int = 2, hidden: tuple = (64, 64), *, n_freq: int = 4, param: str = "eps",
             activation: str = "tanh") -> Denoiser:
    """An MLP denoiser for ``d``-dimensional data (see :class:`Denoiser`).

    Raises
    ------
    TypeError, ValueError
        If ``d``, ``n_freq`` or a width of ``hidden`` is not a suitable int, ``hidden`` is not a
        sequence, or ``param`` or ``activation`` is unknown.
    """
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a sequence of int (hidden layer widths); got {type(hidden).__name__}.")
    d = check_int(d, "d", minimum=1)
    n_freq = check_int(n_freq, "n_freq", minimum=0)
    param = check_choice(param, "param", PARAMS)
    net = mlp([d + 1 + 2 * n_freq, *hidden, d], activation=activation)
    return Denoiser(net, d, n_freq, param)


def init_denoiser(model: Denoiser, rng: np.random.Generator) -> tuple:
    """Initial parameters of ``model.net`` drawn with ``rng``."""
    _check_model(model)
    return model.net.init(check_rng(rng))


def check_denoiser(model, name: str = "model") -> Denoiser:
    """Return ``model`` after checking every field against the others, as :func:`denoiser` builds them.

    A :class:`Denoiser` built by hand or edited with ``_replace`` is held to the same rules: the
    network must read ``d + 1 + 2 * n_freq`` inputs (the point, the level and its time features)
    and write ``d`` outputs.

    Raises
    ------
    TypeError
        If ``net`` is not a :class:`~pedagogy_lib.nn.network.Sequential`, or ``d`` or ``n_freq`` is
        not an integer.
    ValueError
        If ``model`` is not a :class:`Denoiser` (a ``ValueError``, as before), ``d < 1``, ``n_freq < 0``, ``param`` is not one of :data:`PARAMS`, or the network's
        widths do not match ``d`` and ``n_freq``.
    """
    if not isinstance(model, Denoiser):
        raise ValueError(f"{name} must be a Denoiser (from denoiser()); got {type(model).__name__}.")
    if not isinstance(model.net, Sequential):
        raise TypeError(f"{name}.net must be a Sequential (see denoiser()); got {type(model.net).__name__}.")
    d = check_int(model.d, f"{name}.d", minimum=1)
    n_freq = check_int(model.n_freq, f"{name}.n_freq", minimum=0)
    param = check_choice(model.param, f"{name}.param", PARAMS)
    n_in = d + 1 + 2 * n_freq
    if model.net.n_in != n_in or model.net.n_out != d:
        raise ValueError(f"{name}.net must map d + 1 + 2 * n_freq = {n_in} inputs to d = {d} outputs (with "
                         f"{name}.d = {d}, {name}.n_freq = {n_freq}); got {model.net.n_in} inputs and "
                         f"{model.net.n_out} outputs.")
    return Denoiser(model.net, d, n_freq, param)


def _check_model(model):
    return check_denoiser(model)


def _inputs(model, schedule, x_l, l):
    u = l / schedule.L
    k = np.arange(1, model.n_freq + 1)
    return np.column_stack([x_l, u, np.cos(np.pi * np.outer(u, k)), np.sin(np.pi * np.outer(u, k))])


def predict(model: Denoiser, params, schedule: Schedule, x_l, l, out: str = "m_hat") -> np.ndarray:
    r"""The network's prediction at :math:`(\mathbf x_l, l)`, converted to ``out`` (one of :data:`PARAMS`).

    ``out="mean"`` needs levels of at least 1; the others accept 0..L.
    """
    model = _check_model(model)
    schedule = check_schedule(schedule)
    out = check_choice(out, "out", PARAMS)
    x_l = as_array(x_l, "x_l", shape=(None, model.d), dims="(N, d)")
    minimum = 1 if "mean" in (out, model.param) else 0
    l = levels(l, "l", schedule.L, x_l.shape[0], minimum=minimum)
    raw, _ = model.net.forward(params, _inputs(model, schedule, x_l, l))
    A, B = _read_affine(schedule, l, model.param, out)
    return A[:, None] * raw + B[:, None] * x_l


def _m_hat_affine(schedule, l, param, to_m_hat: bool):
    r"""``(A, B)`` per row with :math:`\hat{\mathbf m} = A\,\text{pred} + B\,\mathbf x_l` (``to_m_hat``) or
    :math:`\text{pred} = A\hat{\mathbf m} + B\,\mathbf x_l`, ``pred`` read as ``param`` (not ``"m_hat"``)."""
    v, rho = schedule.v[l], schedule.rho[l]
    if param == "mean":
        lam = schedule.snr
        a = schedule.v[l - 1] / schedule.rho[l - 1] * (lam[l - 1] - lam[l])
        b = schedule.v[l - 1] * rho / (schedule.rho[l - 1] * v)
        return (1.0 / a, -b / a) if to_m_hat else (a, b)
    if param == "force":
        return (v / rho, 1.0 / (v * rho)) if to_m_hat else (rho / v, -1.0 / v ** 2)
    return (-1.0 / rho, 1.0 / (v * rho)) if to_m_hat else (-rho, 1.0 / v)        # eps


def _read_affine(schedule, l, param, out):
    r"""``(A, B)`` per row with ``out`` :math:`= A\,\text{raw} + B\,\mathbf x_l` for a network read as ``param``.

    Each coefficient is a closed form whose terms share a sign, so that neither loses digits: the
    reading itself is the identity (routing it through another parameterization cancels terms of
    size :math:`\lVert\mathbf x_l\rVert/(v_l\rho_l)`, which dwarf the prediction at a low SNR); noise and
    force are multiples of each other; every other pair passes through :math:`\hat{\mathbf m}`, where the
    coefficients of :math:`\mathbf x_l` add terms of one sign (``a``, ``b``, ``v``, ``rho`` are positive).
    """
    if out == param:
        return np.ones(l.shape), np.zeros(l.shape)
    v = schedule.v[l]
    if {param, out} == {"eps", "force"}:
        return (-v if out == "eps" else -1.0 / v), np.zeros(l.shape)
    A1, B1 = (np.ones(l.shape), np.zeros(l.shape)) if param == "m_hat" else _m_hat_affine(schedule, l, param, True)
    if out == "m_hat":
        return A1, B1
    A2, B2 = _m_hat_affine(schedule, l, out, False)
    return A2 * A1, A2 * B1 + B2


def denoiser_loss(model: Denoiser, params, schedule: Schedule, x0, l, z, weighting: str = "jre"):
    r"""Loss estimate and its gradient with respect to ``params`` (hand-written backpropagation).

    The value is :math:`L\cdot\frac1N\sum_n c_{l_n}\lVert\mathbf z_n-\hat{\boldsymbol\epsilon}_n\rVert^2`
    with :math:`c_l = w_l/\rho_l^2` (``"jre"``: with levels drawn uniformly from 1..L this is an
    unbiased estimate of Eq. 8.41 without its constant) or :math:`c_l = 1` (``"simple"``).

    Returns
    -------
    value : float
    grads : tuple shaped like ``params``
    """
    model = _check_model(model)
    schedule = check_schedule(schedule)
    weighting = check_choice(weighting, "weighting", WEIGHTINGS)
    x0 = as_array(x0, "x0", shape=(None, model.d), dims="(N, d)", nonempty=True)
    z = as_array(z, "z", shape=x0.shape, dims="(N, d)")
    l = levels(l, "l", schedule.L, x0.shape[0], minimum=1)
    return _loss_and_grad(model, params, schedule, x0, l, z, weighting)


def _loss_and_grad(model, params, schedule, x0, l, z, weighting):
    x_l = schedule.v[l][:, None] * (schedule.rho[l][:, None] * x0 + z)          # Eq. 8.43
    raw, cache = model.net.forward(params, _inputs(model, schedule, x_l, l))
    A, B = _eps_affine(schedule, l, model.param)
    eps = A[:, None] * raw + B[:, None] * x_l
    c = _loss_weight(schedule, l, weighting) * (schedule.L if weighting == "jre" else 1.0)
    N = x0.shape[0]
    r = eps - z
    value = float(np.sum(c * np.sum(r ** 2, axis=1)) / N)
    grad_raw = (2.0 / N) * (c * A)[:, None] * r
    _, grads = model.net.backward(params, cache, grad_raw)
    return value, grads


def train_denoiser(model: Denoiser, params, schedule: Schedule, X, rng: np.random.Generator, *,
                   n_iter: int = 3000, batch_size: int = 256, lr: float = 2e-3, weighting: str = "jre",
                   callback: Callable | None = None) -> TrainResult:
    r"""Fit the denoiser by Adam on minibatches: rows of ``X``, a uniform level in 1..L and fresh noise for each row.

    The learning rate decays by cosine annealing to 5% of ``lr`` over ``n_iter`` steps.
    ``callback(i, params)``, if given, is called every iteration (e.g. to store snapshots).
    """
    model = _check_model(model)
    schedule = check_schedule(schedule)
    X = as_array(X, "X", shape=(None, model.d), dims="(N, d)", nonempty=True)
    rng = check_rng(rng)
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = positive_scalar(lr, "lr")
    check_choice(weighting, "weighting", WEIGHTINGS)
    state = Adam(lr).init(params)
    losses = np.empty(n_iter)
    for i in range(n_iter):
        idx = rng.integers(0, X.shape[0], batch_size)
        l = rng.integers(1, schedule.L + 1, batch_size)
        z = rng.standard_normal((batch_size, model.d))
        losses[i], grads = _loss_and_grad(model, params, schedule, X[idx], l, z, weighting)
        lr_i = lr * (0.05 + 0.95 * 0.5 * (1.0 + np.cos(np.pi * i / n_iter)))
        params, state = Adam(lr_i).step(params, grads, state)
        if callback is not None:
            callback(i, params)
    return TrainResult(params, losses)
