r"""Gibbs sampling for a conjugate model: the normal with unknown mean and precision.

The data :math:`y_1,\dots,y_N` are independent :math:`\mathcal N(\mu, 1/\tau)`; the priors are
independent, :math:`\mu\sim\mathcal N(m_0, s_0^2)` and :math:`\tau\sim\mathrm{Gamma}(a_0, b_0)`
(shape :math:`a_0`, rate :math:`b_0`). Each prior is conjugate to the likelihood *given the other
unknown*, but the joint posterior of :math:`(\mu,\tau)` has no closed form (the priors are
independent rather than normal-gamma), which is the situation Gibbs sampling is made for. The two
full conditionals are

.. math::
    \mu\mid\tau,\mathbf y &\sim \mathcal N\!\Big(\frac{m_0/s_0^2 + \tau\sum_n y_n}{1/s_0^2 + N\tau},
        \ \frac{1}{1/s_0^2 + N\tau}\Big),\\
    \tau\mid\mu,\mathbf y &\sim \mathrm{Gamma}\Big(a_0 + \frac N2,\ b_0 + \frac12\sum_n (y_n-\mu)^2\Big).

A systematic-scan sweep draws :math:`\mu` then :math:`\tau`; every draw is accepted (Gibbs is the
Metropolis-Hastings chain whose proposal is the full conditional, so its acceptance ratio is one).
As with :mod:`~pedagogy_lib.samplers.mcmc`, the sampler is an ``(init, step)`` pair of pure
functions over :math:`C` chains at once; the state is the ``(C, 2)`` array of :math:`(\mu, \tau)`.
The arithmetic is a handful of vectorized operations per sweep, so there is no numba kernel.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_int, check_rng, positive_scalar

__all__ = ["NormalGammaModel", "normal_gamma_model", "normal_gamma_log_joint", "normal_gamma_conditionals",
           "gibbs_normal_gamma_init", "gibbs_normal_gamma_step", "gibbs_normal_gamma", "check_normal_gamma_model"]


class NormalGammaModel(NamedTuple):
    """Normal data with unknown mean and precision under independent conjugate priors.

    Attributes
    ----------
    y : ndarray, shape (N,)
        The data.
    m0, s0 : float
        Mean and standard deviation of the normal prior on :math:`\\mu`.
    a0, b0 : float
        Shape and rate of the gamma prior on :math:`\\tau`.
    """

    y: np.ndarray
    m0: float
    s0: float
    a0: float
    b0: float


class NormalGammaConditionals(NamedTuple):
    """Parameters of the two full conditionals at each chain's state (arrays of shape ``(C,)``)."""

    mu_mean: np.ndarray
    mu_var: np.ndarray
    tau_shape: float
    tau_rate: np.ndarray


def normal_gamma_model(y, m0: float, s0: float, a0: float, b0: float) -> NormalGammaModel:
    """Validate and build a :class:`NormalGammaModel`."""
    y = as_array(y, "y", ndim=1, dims="(N,)", nonempty=True)
    m0 = float(as_array(m0, "m0", ndim=0))
    return NormalGammaModel(y, m0, positive_scalar(s0, "s0"), positive_scalar(a0, "a0"),
                            positive_scalar(b0, "b0"))


def check_normal_gamma_model(model, name: str = "model") -> NormalGammaModel:
    """Return ``model`` with clean fields after checking each one, as :func:`normal_gamma_model` does.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`NormalGammaModel` or a field is not real and numeric.
    ValueError
        If ``y`` is not a finite non-empty vector, ``m0`` is not a finite number, or ``s0``, ``a0``,
        ``b0`` are not finite positive numbers.
    """
    if not isinstance(model, NormalGammaModel):
        raise TypeError(f"{name} must be a NormalGammaModel (see normal_gamma_model); got {type(model).__name__}.")
    y = as_array(model.y, f"{name}.y", ndim=1, dims="(N,)", nonempty=True)
    m0 = float(as_array(model.m0, f"{name}.m0", ndim=0))
    return NormalGammaModel(y, m0, positive_scalar(model.s0, f"{name}.s0"), positive_scalar(model.a0, f"{name}.a0"),
                            positive_scalar(model.b0, f"{name}.b0"))


def _states(model: NormalGammaModel, theta, name: str):
    model = check_normal_gamma_model(model)
    theta = as_array(theta, name, ndim=2, shape=(None, 2), dims="(C, 2)", nonempty=True)
    if np.any(theta[:, 1] <= 0):
        c = int(np.argmax(theta[:, 1] <= 0))
        raise ValueError(f"{name}[:, 1] holds the precisions tau and must be positive; got "
                         f"{name}[{c}, 1] = {theta[c, 1]:.6g}.")
    return model, theta


def normal_gamma_log_joint(model: NormalGammaModel, theta) -> np.ndarray:
    r"""Unnormalized log posterior :math:`\log p(\mu,\tau,\mathbf y)` at the rows ``(mu, tau)`` of ``theta``.

    Returns
    -------
    ndarray, shape (C,)
        Up to a constant that depends on neither :math:`\mu` nor :math:`\tau`.

    Raises
    ------
    TypeError, ValueError
        If ``model`` is malformed (:func:`check_normal_gamma_model`) or the states are not a finite
        ``(C, 2)`` array with positive precisions in the second column.
    """
    model, theta = _states(model, theta, "theta")
    mu, tau = theta[:, 0], theta[:, 1]
    y, N = model.y, model.y.shape[0]
    sq = np.sum((y[None, :] - mu[:, None]) ** 2, axis=1)
    return (0.5 * N * np.log(tau) - 0.5 * tau * sq - 0.5 * (mu - model.m0) ** 2 / model.s0 ** 2
            + (model.a0 - 1.0) * np.log(tau) - model.b0 * tau)


def normal_gamma_conditionals(model: NormalGammaModel, theta) -> NormalGammaConditionals:
    """The full conditionals' parameters: :math:`\\mu` given each row's :math:`\\tau`, and
    :math:`\\tau` given each row's :math:`\\mu` (see the module docstring).

    Raises
    ------
    TypeError, ValueError
        If ``model`` is malformed (:func:`check_normal_gamma_model`) or the states are not a finite
        ``(C, 2)`` array with positive precisions in the second column.
    """
    model, theta = _states(model, theta, "theta")
    return _conditionals(model, theta)


def _conditionals(model, theta):
    mu, tau = theta[:, 0], theta[:, 1]
    y, N = model.y, model.y.shape[0]
    prec = 1.0 / model.s0 ** 2 + N * tau
    mu_mean = (model.m0 / model.s0 ** 2 + tau * np.sum(y)) / prec
    rate = model.b0 + 0.5 * np.sum((y[None, :] - mu[:, None]) ** 2, axis=1)
    return NormalGammaConditionals(mu_mean, 1.0 / prec, model.a0 + 0.5 * N, rate)


def gibbs_normal_gamma_init(model: NormalGammaModel, theta0) -> np.ndarray:
    """Check and copy the chains' starting states ``(C, 2)``: columns :math:`\\mu` and :math:`\\tau > 0`.

    Raises
    ------
    TypeError, ValueError
        If ``model`` is malformed (:func:`check_normal_gamma_model`) or the states are not a finite
        ``(C, 2)`` array with positive precisions in the second column.
    """
    return _states(model, theta0, "theta0")[1].copy()


def gibbs_normal_gamma_step(model: NormalGammaModel, theta, rng: np.random.Generator) -> np.ndarray:
    """One systematic-scan sweep for every chain: draw :math:`\\mu\\mid\\tau`, then :math:`\\tau\\mid\\mu`.

    Returns a new ``(C, 2)`` array; ``theta`` is not modified.

    Raises
    ------
    TypeError, ValueError
        If ``model`` is malformed (:func:`check_normal_gamma_model`) or the states are not a finite
        ``(C, 2)`` array with positive precisions in the second column, or ``rng`` is not a Generator.
    """
    model, theta = _states(model, theta, "theta")
    return _step(model, theta, check_rng(rng))


def _step(model, theta, rng):
    C = theta.shape[0]
    z = rng.standard_normal(C)
    cond = _conditionals(model, theta)
    mu = cond.mu_mean + np.sqrt(cond.mu_var) * z
    rate = model.b0 + 0.5 * np.sum((model.y[None, :] - mu[:, None]) ** 2, axis=1)
    tau = rng.gamma(cond.tau_shape, 1.0, size=C) / rate
    return np.stack([mu, tau], axis=1)


def gibbs_normal_gamma(model: NormalGammaModel, theta0, n_steps: int, rng: np.random.Generator) -> np.ndarray:
    """Run :func:`gibbs_normal_gamma_step` ``n_steps`` times from ``theta0``.

    Returns
    -------
    ndarray, shape (n_steps, C, 2)
        The state after every sweep (the layout of ``SampleResult.trace``, so ``ess`` and ``rhat``
        apply directly).

    Raises
    ------
    TypeError, ValueError
        If ``model`` is malformed (:func:`check_normal_gamma_model`) or the states are not a finite
        ``(C, 2)`` array with positive precisions in the second column, or an option is out of range.
    """
    model, theta = _states(model, theta0, "theta0")
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    rng = check_rng(rng)
    trace = np.empty((n_steps,) + theta.shape)
    for t in range(n_steps):
        theta = _step(model, theta, rng)
        trace[t] = theta
    return trace
