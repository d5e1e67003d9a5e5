r"""Noise-contrastive estimation (Section 10.1.1, Eqs. 10.1-10.4).

Data :math:`\mathbf y^+\sim p` and noise :math:`\mathbf y^-\sim p_n = e^{-E_n}` are labelled
:math:`X=1` and :math:`X=0` with equal prior probability (Eq. 10.1). An *unnormalized* model
:math:`e^{-E(\mathbf y;\boldsymbol\theta)}` for the data and the normalized noise give, by Bayes' rule, the
posterior :math:`\hat p(\hat X=1\mid\mathbf y) = \sigma\{h(\mathbf y,\boldsymbol\theta)\}` with
:math:`h = E_n - E` (Eqs. 10.2-10.3), and NCE minimizes the posterior cross entropy (Eq. 10.4)

.. math::
    \mathcal L(\boldsymbol\theta) = \tfrac12\big\langle -\log\sigma\{h(\mathbf Y^+,\boldsymbol\theta)\}\big\rangle_{\mathbf Y^+}
    + \tfrac12\big\langle -\log\sigma\{-h(\mathbf Y^-,\boldsymbol\theta)\}\big\rangle_{\mathbf Y^-}.

Here the energy is linear in its parameters, :math:`E(\mathbf y;\boldsymbol\theta) = \mathbf T(\mathbf y)^T\boldsymbol\theta`
(an exponential family written as an energy), and one feature is the constant 1, so the matching
parameter :math:`c` is a *learned log normalizer*. The loss is then convex, with gradient and
Hessian in closed form:

.. math::
    \nabla\mathcal L = \tfrac12\langle\sigma\{-h^+\}\mathbf T^+\rangle - \tfrac12\langle\sigma\{h^-\}\mathbf T^-\rangle, \qquad
    \nabla^2\mathcal L = \tfrac12\langle w^+\mathbf T^+\mathbf T^{+T}\rangle + \tfrac12\langle w^-\mathbf T^-\mathbf T^{-T}\rangle,

with :math:`w = \sigma\{h\}\sigma\{-h\}`. At the population optimum :math:`E = -\log p` exactly, offset
included, provided the noise covers the data (Gutmann and Hyvarinen, 2012). With finite samples the estimate
scatters, and it scatters more when the noise sits far from the data: most samples are then
classified with certainty, their weights :math:`w` vanish, and the Hessian that turns gradient
noise into parameter noise becomes nearly singular (:func:`nce_standard_errors`).

For one-dimensional data, :func:`quadratic_features` gives the Gaussian energy
:math:`E(y) = \tfrac12 a y^2 - m y + c`.
"""
from __future__ import annotations

import warnings
from typing import Callable, NamedTuple

import numpy as np

from ..core.checks import as_array, check_choice, check_int, check_rng, positive_scalar
from ..core.logmath import sigmoid, softplus

__all__ = [
    "NCEResult",
    "NCEGaussianFit",
    "sigmoid",
    "softplus",
    "quadratic_features",
    "gaussian_energy_params",
    "gaussian_noise_energy",
    "quadratic_log_mass",
    "energy_difference",
    "nce_posterior",
    "nce_loss",
    "nce_grad",
    "nce_hessian",
    "nce_standard_errors",
    "newton_minimize",
    "fit_nce",
    "nce_gaussian",
]

#: Natural log of the circle constant's normalizer, log(2 pi).
_LOG_TAU = float(np.log(2.0 * np.pi))


#: Machine epsilon, and the multiple of it (times the loss) below which a predicted decrease of the
#: loss is rounding: the "loss can no longer judge a step" rule of :func:`newton_minimize`.
_EPS = float(np.finfo(float).eps)
_ROUNDING_ULPS = 64.0


class NCEResult(NamedTuple):
    """Result of :func:`fit_nce` (or of :func:`pedagogy_lib.contrastive.local_nce.fit_local_nce`).

    Attributes
    ----------
    theta : ndarray, shape (P,)
        The fitted energy parameters.
    loss : float
        The loss at ``theta``.
    grad_norm : float
        Euclidean norm of the gradient at ``theta``.
    path : ndarray, shape (n_steps + 1, P)
        The iterates, starting point first.
    converged : bool
        Whether the stopping rule of :func:`newton_minimize` (or of gradient descent in
        :func:`fit_nce`) was met.
    """

    theta: np.ndarray
    loss: float
    grad_norm: float
    path: np.ndarray
    converged: bool = True


class NCEGaussianFit(NamedTuple):
    r"""Result of :func:`nce_gaussian`: the energy :math:`\tfrac12 a y^2 - m y + c` fitted by NCE.

    Attributes
    ----------
    theta : ndarray, shape (3,)
        :math:`(a, m, c)`.
    mu, var : float
        The Gaussian the energy describes, :math:`m/a` and :math:`1/a`.
    c : float
        The learned log normalizer.
    log_mass : float
        :math:`\log\int e^{-E(y)}dy`; zero when the model is normalized, ``inf`` when the fitted
        ``a`` is not positive (the energy has no normalizable Gaussian).
    y_neg : ndarray, shape (N_neg,)
        The noise samples drawn.
    fit : NCEResult
    """

    theta: np.ndarray
    mu: float
    var: float
    c: float
    log_mass: float
    y_neg: np.ndarray
    fit: NCEResult


def quadratic_features(y) -> np.ndarray:
    r"""Features :math:`\mathbf T(y) = (\tfrac12 y^2, -y, 1)` of the energy :math:`\tfrac12 a y^2 - m y + c`.

    Parameters
    ----------
    y : array_like, shape (N,)

    Returns
    -------
    ndarray, shape (N, 3)
    """
    y = as_array(y, "y", ndim=1, dims="(N,)")
    return np.column_stack([0.5 * y * y, -y, np.ones_like(y)])


def gaussian_energy_params(mu, var) -> np.ndarray:
    r"""The parameters :math:`(a, m, c)` for which :math:`\tfrac12 a y^2 - m y + c = -\log\mathcal N(y;\mu,v)`.

    :math:`a = 1/v`, :math:`m = \mu/v`, and :math:`c = \mu^2/(2v) + \tfrac12\log(2\pi v)` is the log
    normalizer NCE should recover.
    """
    mu = float(as_array(mu, "mu", ndim=0))
    var = positive_scalar(var, "var")
    return np.array([1.0 / var, mu / var, mu * mu / (2.0 * var) + 0.5 * (_LOG_TAU + np.log(var))])


def gaussian_noise_energy(y, mu_n, var_n) -> np.ndarray:
    r"""Noise energy :math:`E_n(y) = -\log\mathcal N(y;\mu_n,v_n)`, so :math:`p_n = e^{-E_n}` is normalized.

    Parameters
    ----------
    y : array_like, any shape
    mu_n : float
    var_n : float
        Noise variance, positive.
    """
    y = as_array(y, "y")
    mu_n = float(as_array(mu_n, "mu_n", ndim=0))
    var_n = positive_scalar(var_n, "var_n")
    return 0.5 * (y - mu_n) ** 2 / var_n + 0.5 * (_LOG_TAU + np.log(var_n))


def quadratic_log_mass(theta) -> float:
    r""":math:`\log\int e^{-(\frac12 a y^2 - m y + c)}dy = \tfrac12\log(2\pi/a) + m^2/(2a) - c` (needs :math:`a>0`).

    It is zero exactly when the energy is a normalized Gaussian's.
    """
    theta = as_array(theta, "theta", shape=(3,), dims="(3,)")
    a = positive_scalar(theta[0], "theta[0] (the precision a)")
    m, c = theta[1], theta[2]
    return float(0.5 * (_LOG_TAU - np.log(a)) + m * m / (2.0 * a) - c)


def energy_difference(E_n, E) -> np.ndarray:
    r""":math:`h = E_n - E` (Eq. 10.3), the log odds that an example is data rather than noise."""
    E_n = as_array(E_n, "E_n")
    E = as_array(E, "E", shape=E_n.shape)
    return E_n - E


def nce_posterior(E_n, E) -> np.ndarray:
    r""":math:`\hat p(\hat X=1\mid\mathbf y) = \sigma\{E_n(\mathbf y) - E(\mathbf y,\boldsymbol\theta)\}` (Eq. 10.2)."""
    return sigmoid(energy_difference(E_n, E))


def _check_data(T_pos, T_neg, En_pos, En_neg):
    """Validate the features and noise energies of positive and negative samples."""
    T_pos = as_array(T_pos, "T_pos", ndim=2, dims="(N_pos, P)", nonempty=True)
    P = T_pos.shape[1]
    T_neg = as_array(T_neg, "T_neg", ndim=2, dims="(N_neg, P)", nonempty=True)
    if T_neg.shape[1] != P:
        raise ValueError(f"T_neg must have P = {P} columns like T_pos; got shape {T_neg.shape}.")
    En_pos = as_array(En_pos, "En_pos", shape=(T_pos.shape[0],), dims="(N_pos,)")
    En_neg = as_array(En_neg, "En_neg", shape=(T_neg.shape[0],), dims="(N_neg,)")
    return T_pos, T_neg, En_pos, En_neg


def _check_theta(theta, P):
    return as_array(theta, "theta", shape=(P,), dims="(P,)")


def _terms(theta, T_pos, T_neg, En_pos, En_neg):
    h_pos = En_pos - T_pos @ theta
    h_neg = En_neg - T_neg @ theta
    return h_pos, h_neg


def _loss(theta, T_pos, T_neg, En_pos, En_neg):
    h_pos, h_neg = _terms(theta, T_pos, T_neg, En_pos, En_neg)
    return 0.5 * softplus(-h_pos).mean() + 0.5 * softplus(h_neg).mean()


def _grad(theta, T_pos, T_neg, En_pos, En_neg):
    h_pos, h_neg = _terms(theta, T_pos, T_neg, En_pos, En_neg)
    return 0.5 * (sigmoid(-h_pos) @ T_pos) / len(h_pos) - 0.5 * (sigmoid(h_neg) @ T_neg) / len(h_neg)


def _hess(theta, T_pos, T_neg, En_pos, En_neg):
    h_pos, h_neg = _terms(theta, T_pos, T_neg, En_pos, En_neg)
    w_pos = sigmoid(h_pos) * sigmoid(-h_pos)
    w_neg = sigmoid(h_neg) * sigmoid(-h_neg)
    return (0.5 * (T_pos.T * w_pos) @ T_pos / len(h_pos)
            + 0.5 * (T_neg.T * w_neg) @ T_neg / len(h_neg))


def nce_loss(theta, T_pos, T_neg, En_pos, En_neg) -> float:
    r"""The NCE loss of Eq. 10.4 for the energy :math:`E(\mathbf y;\boldsymbol\theta) = \mathbf T(\mathbf y)^T\boldsymbol\theta`.

    Parameters
    ----------
    theta : array_like, shape (P,)
    T_pos : array_like, shape (N_pos, P)
        Features of the data ("positive") samples.
    T_neg : array_like, shape (N_neg, P)
        Features of the noise ("negative") samples.
    En_pos, En_neg : array_like, shapes (N_pos,), (N_neg,)
        The (normalized) noise energy at each sample.

    Returns
    -------
    float
    """
    T_pos, T_neg, En_pos, En_neg = _check_data(T_pos, T_neg, En_pos, En_neg)
    return float(_loss(_check_theta(theta, T_pos.shape[1]), T_pos, T_neg, En_pos, En_neg))


def nce_grad(theta, T_pos, T_neg, En_pos, En_neg) -> np.ndarray:
    r"""Gradient of the NCE loss (Eq. 10.4) with respect to :math:`\boldsymbol\theta`; arguments as :func:`nce_loss`."""
    T_pos, T_neg, En_pos, En_neg = _check_data(T_pos, T_neg, En_pos, En_neg)
    return _grad(_check_theta(theta, T_pos.shape[1]), T_pos, T_neg, En_pos, En_neg)


def nce_hessian(theta, T_pos, T_neg, En_pos, En_neg) -> np.ndarray:
    r"""Hessian of the NCE loss (Eq. 10.4), positive semidefinite; arguments as :func:`nce_loss`."""
    T_pos, T_neg, En_pos, En_neg = _check_data(T_pos, T_neg, En_pos, En_neg)
    return _hess(_check_theta(theta, T_pos.shape[1]), T_pos, T_neg, En_pos, En_neg)


def nce_standard_errors(theta, T_pos, T_neg, En_pos, En_neg) -> np.ndarray:
    r"""Sandwich standard errors of the NCE estimate (Eq. 10.4's minimizer), :math:`\mathbf H^{-1}\mathbf V\mathbf H^{-1}`.

    :math:`\mathbf V` is the sampling covariance of the gradient, the two halves' per-sample terms
    being independent; :math:`\mathbf H` is :func:`nce_hessian`. Both are evaluated at ``theta``
    (normally the fit). Arguments as :func:`nce_loss`.

    Returns
    -------
    ndarray, shape (P,)

    Raises
    ------
    ValueError
        If an argument is malformed, or the Hessian at ``theta`` is singular (every classifier
        output saturated, e.g. ``theta`` far from the fit), so the standard errors do not exist.
    """
    T_pos, T_neg, En_pos, En_neg = _check_data(T_pos, T_neg, En_pos, En_neg)
    theta = _check_theta(theta, T_pos.shape[1])
    H = _hess(theta, T_pos, T_neg, En_pos, En_neg)
    try:
        H_inv = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        H_inv = None
    if H_inv is None or not np.all(np.isfinite(H_inv)):
        raise ValueError("the NCE Hessian at theta is singular (the classifier is saturated on every sample): no "
                         "standard errors there; evaluate them at the fit.")
    h_pos, h_neg = _terms(theta, T_pos, T_neg, En_pos, En_neg)
    g_pos = 0.5 * sigmoid(-h_pos)[:, None] * T_pos
    g_neg = -0.5 * sigmoid(h_neg)[:, None] * T_neg
    V = (np.atleast_2d(np.cov(g_pos, rowvar=False)) / len(h_pos)
         + np.atleast_2d(np.cov(g_neg, rowvar=False)) / len(h_neg))
    return np.sqrt(np.diag(H_inv @ V @ H_inv))


def newton_minimize(fun: Callable, grad: Callable, hess: Callable, theta0, *, max_iter: int = 100,
                    tol: float = 1e-10) -> NCEResult:
    r"""Damped Newton's method for a smooth convex loss (the NCE losses of Eqs. 10.4 and 10.13).

    Each step solves :math:`\mathbf H\boldsymbol\delta = -\mathbf g` and halves the step until the loss
    does not increase. Stopping rule (converged), whichever comes first:

    * :math:`\lVert\mathbf g\rVert\le` ``tol``;
    * the loss can no longer judge a step: the predicted decrease :math:`-\mathbf g^T\boldsymbol\delta`
      (the Newton decrement) is at most :math:`64\epsilon\max(1, |f|)`, the rounding level of the
      computed loss (:math:`\epsilon` the machine epsilon). The full step is then kept only if it
      lowers :math:`\lVert\mathbf g\rVert` (Newton's quadratic convergence, judged by the gradient);
      when it does not, ``theta`` is the attainable minimum: the gradient is as small as the
      arithmetic resolves it in the metric of the Hessian, whatever the order of the floating-point
      operations.

    A run that ends otherwise (``max_iter`` steps, or no halving of a step above rounding lowers
    the loss) issues a ``RuntimeWarning`` and reports ``converged=False``; ``max_iter = 0`` only
    evaluates ``theta0`` and does not warn.

    Parameters
    ----------
    fun, grad, hess : callable
        Loss, gradient and Hessian as functions of ``theta``.
    theta0 : array_like, shape (P,)
    max_iter : int
    tol : float

    Returns
    -------
    NCEResult

    Raises
    ------
    TypeError, ValueError
        If ``fun``, ``grad`` or ``hess`` is not callable, ``theta0`` is not a finite non-empty
        vector, or an option is out of range.
    """
    for name, fn in (("fun", fun), ("grad", grad), ("hess", hess)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable; got {type(fn).__name__}.")
    theta = as_array(theta0, "theta0", ndim=1, dims="(P,)", nonempty=True).copy()
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    tol = positive_scalar(tol, "tol")
    path = [theta.copy()]
    f = fun(theta)
    g = grad(theta)
    converged = bool(np.linalg.norm(g) <= tol)
    n_steps = 0
    while not converged and n_steps < max_iter:
        H = hess(theta)
        try:
            step = -np.linalg.solve(H + 1e-12 * np.eye(len(theta)), g)
        except np.linalg.LinAlgError:
            step = -g
        if -(g @ step) <= _ROUNDING_ULPS * _EPS * max(1.0, abs(f)):
            # the loss cannot tell this step from rounding: judge the full step by the gradient
            trial = theta + step
            g_trial = grad(trial)
            if not np.linalg.norm(g_trial) < np.linalg.norm(g):
                converged = True                      # the attainable minimum
                break
            theta, f, g = trial, fun(trial), g_trial
        else:
            t = 1.0
            while t > 1e-10:
                trial = theta + t * step
                f_trial = fun(trial)
                if np.isfinite(f_trial) and f_trial <= f + 1e-14 * abs(f):
                    break
                t *= 0.5
            else:
                break                                 # no step lowers the loss: a failure
            theta, f = trial, f_trial
            g = grad(theta)
        n_steps += 1
        path.append(theta.copy())
        converged = bool(np.linalg.norm(g) <= tol)
    if not converged and max_iter > 0:
        warnings.warn(f"newton_minimize did not converge in {n_steps} steps (max_iter = {max_iter}): the "
                      f"gradient norm is {np.linalg.norm(g):.3g} > tol = {tol:.3g} and the loss can still "
                      "decrease.", RuntimeWarning, stacklevel=2)
    return NCEResult(theta, float(f), float(np.linalg.norm(g)), np.array(path), converged)


def fit_nce(T_pos, T_neg, En_pos, En_neg, theta0=None, *, method: str = "newton", lr: float = 0.5,
            max_iter: int = 100, tol: float = 1e-10) -> NCEResult:
    r"""Minimize the NCE loss (Eq. 10.4) over :math:`\boldsymbol\theta`.

    Parameters
    ----------
    T_pos, T_neg, En_pos, En_neg : array_like
        As in :func:`nce_loss`.
    theta0 : array_like, shape (P,), optional
        Starting point; zeros by default.
    method : {"newton", "gradient"}
        Damped Newton (:func:`newton_minimize`; converges in a few steps) or plain gradient
        descent with step ``lr`` (slow, for watching the classifier learn).
    lr : float
        Step size of gradient descent.
    max_iter : int
    tol : float
        Stop when the gradient's norm falls to it (Newton: see :func:`newton_minimize` for the whole
        rule, which also stops at the attainable minimum and warns on a failure). Gradient descent
        runs its ``max_iter`` steps as an illustration and reports ``converged`` without warning.

    Returns
    -------
    NCEResult
    """
    T_pos, T_neg, En_pos, En_neg = _check_data(T_pos, T_neg, En_pos, En_neg)
    P = T_pos.shape[1]
    theta0 = np.zeros(P) if theta0 is None else as_array(theta0, "theta0", shape=(P,), dims="(P,)")
    method = check_choice(method, "method", ("newton", "gradient"))
    args = (T_pos, T_neg, En_pos, En_neg)
    if method == "newton":
        return newton_minimize(lambda t: _loss(t, *args), lambda t: _grad(t, *args),
                               lambda t: _hess(t, *args), theta0, max_iter=max_iter, tol=tol)
    lr = positive_scalar(lr, "lr")
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    theta = theta0.copy()
    path = [theta.copy()]
    g = _grad(theta, *args)
    for _ in range(max_iter):
        if np.linalg.norm(g) <= tol:
            break
        theta = theta - lr * g
        g = _grad(theta, *args)
        path.append(theta.copy())
    return NCEResult(theta, float(_loss(theta, *args)), float(np.linalg.norm(g)), np.array(path),
                     bool(np.linalg.norm(g) <= tol))


def nce_gaussian(y, mu_n, var_n, *, rng, nu: float = 1.0, theta0=None, method: str = "newton",
                 lr: float = 0.5, max_iter: int = 100) -> NCEGaussianFit:
    r"""Fit the energy :math:`\tfrac12 a y^2 - m y + c` to one-dimensional data by NCE against Gaussian noise.

    Draws :math:`\nu N` noise samples from :math:`\mathcal N(\mu_n, v_n)` and minimizes Eq. 10.4 (each
    half averaged over its own samples, so the equal prior of Eq. 10.1 is kept whatever :math:`\nu`).

    Parameters
    ----------
    y : array_like, shape (N,)
        Data.
    mu_n : float
        Noise mean.
    var_n : float
        Noise variance, positive.
    rng : numpy.random.Generator
    nu : float
        Noise samples per data sample.
    theta0, method, lr, max_iter
        As in :func:`fit_nce`; the default start is the noise's own energy.

    Returns
    -------
    NCEGaussianFit

    Raises
    ------
    ValueError, TypeError
        If an argument is malformed, or the fit overflows float64 (``y`` on an extreme scale
        against the noise).
    """
    y = as_array(y, "y", ndim=1, dims="(N,)", nonempty=True)
    mu_n = float(as_array(mu_n, "mu_n", ndim=0))
    var_n = positive_scalar(var_n, "var_n")
    rng = check_rng(rng)
    nu = positive_scalar(nu, "nu")
    n_neg = max(1, int(round(nu * len(y))))
    y_neg = mu_n + np.sqrt(var_n) * rng.standard_normal(n_neg)
    if theta0 is None:
        theta0 = gaussian_energy_params(mu_n, var_n)
    fit = fit_nce(quadratic_features(y), quadratic_features(y_neg), gaussian_noise_energy(y, mu_n, var_n),
                  gaussian_noise_energy(y_neg, mu_n, var_n), theta0, method=method, lr=lr, max_iter=max_iter)
    if not (np.all(np.isfinite(fit.theta)) and np.isfinite(fit.loss) and np.isfinite(fit.grad_norm)):
        raise ValueError("the fit overflows float64: y must be on a scale comparable to the noise (largest |y| = "
                         f"{np.max(np.abs(y)):.3g}, mu_n = {mu_n:.3g}, var_n = {var_n:.3g}).")
    a, m, c = fit.theta
    log_mass = quadratic_log_mass(fit.theta) if a > 0 else float("inf")
    return NCEGaussianFit(fit.theta, float(m / a), float(1.0 / a), float(c), log_mass, y_neg, fit)
