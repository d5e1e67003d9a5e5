r"""Black-box variational inference: stochastic gradients of the ELBO, control variates, and Adam.

For a factorized Gaussian :math:`q(\mathbf x;\boldsymbol\lambda) = \prod_i\mathcal N(x_i; m_i, s_i^2)`,
parameterized by :math:`\boldsymbol\lambda = (\mathbf m, \log\mathbf s)`, and an unnormalized target
:math:`\tilde p(\mathbf x)` (for posterior inference, the joint :math:`p(\mathbf x, \mathbf y)`), the
ELBO is :math:`\mathcal L(\boldsymbol\lambda) = \mathbb E_q[\log\tilde p(\mathbf x) - \log q(\mathbf x;\boldsymbol\lambda)]`.
Drawing :math:`\mathbf x = \mathbf m + \mathbf s\odot\boldsymbol\varepsilon`,
:math:`\boldsymbol\varepsilon\sim\mathcal N(\mathbf 0,\mathbf I)`, two unbiased per-sample gradient
estimators follow (the two of Section 8.2.1, here for a non-amortized :math:`q`):

* **score function** (log-derivative trick, Eq. 8.22's first form):
  :math:`\mathbf h\,(\log\tilde p(\mathbf x) - \log q(\mathbf x))` with the score
  :math:`\mathbf h = \partial\log q/\partial\boldsymbol\lambda = (\boldsymbol\varepsilon/\mathbf s,\ \boldsymbol\varepsilon^2-1)`;
* **reparameterization** (pathwise, Eqs. 8.24-8.25 with the entropy in closed form):
  :math:`(\mathbf f(\mathbf x),\ \mathbf f(\mathbf x)\odot\boldsymbol\varepsilon\odot\mathbf s + 1)`, where
  :math:`\mathbf f = \partial\log\tilde p/\partial\mathbf x^T` is the force.

Because :math:`\mathbb E_q[\mathbf h] = \mathbf 0`, subtracting :math:`a\,\mathbf h` leaves the score-function
estimator unbiased for any constant :math:`a`; :math:`a^* = \mathrm{Cov}(g, h)/\mathrm{Var}(h)` per
coordinate minimizes its variance (:func:`control_variate`). Targets are the
:mod:`pedagogy_lib.samplers.targets` objects (a :class:`~pedagogy_lib.samplers.targets.PythonTarget`
for a model of your own).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, as_scalar, check_choice, check_int, check_rng, positive_scalar
from ..nn.optim import Adam
from ..samplers.targets import PythonTarget, check_target, evaluate_checked_target, python_target

__all__ = [
    "GaussianVIParams",
    "VIResult",
    "NormalNormal",
    "normal_normal",
    "check_normal_normal",
    "normal_normal_posterior",
    "normal_normal_target",
    "gaussian_vi_sample",
    "elbo_terms",
    "score_function_terms",
    "reparam_terms",
    "control_variate",
    "fit_gaussian_vi",
    "ESTIMATORS",
]

ESTIMATORS = ("reparam", "score", "score_cv")
_LOG2PI = np.log(2.0 * np.pi)


class GaussianVIParams(NamedTuple):
    r"""Variational parameters :math:`\boldsymbol\lambda` of a factorized Gaussian.

    Attributes
    ----------
    m : ndarray, shape (D,)
    log_s : ndarray, shape (D,)
        Log standard deviations (unconstrained, so plain gradient steps keep :math:`s > 0`).
    """

    m: np.ndarray
    log_s: np.ndarray


class VIResult(NamedTuple):
    """What :func:`fit_gaussian_vi` returns.

    Attributes
    ----------
    params : GaussianVIParams
        The average of the iterates over the last half of the run (Polyak averaging), which
        removes most of the noise a constant step size leaves.
    path : ndarray, shape (n_iter + 1, 2 D)
        Every iterate, ``(m, log_s)`` concatenated.
    elbo : ndarray, shape (n_iter,)
        The Monte Carlo ELBO estimate at each iterate.
    """

    params: GaussianVIParams
    path: np.ndarray
    elbo: np.ndarray


class NormalNormal(NamedTuple):
    r"""The conjugate model :math:`x\sim\mathcal N(m_0, s_0^2)`, :math:`y_n\mid x\sim\mathcal N(x,\sigma^2)`.

    Attributes
    ----------
    y : ndarray, shape (N,)
    sigma : float
    m0 : float
    s0 : float
    """

    y: np.ndarray
    sigma: float
    m0: float
    s0: float


def normal_normal(y, sigma: float, m0: float, s0: float) -> NormalNormal:
    """A validated :class:`NormalNormal` model."""
    return NormalNormal(as_array(y, "y", ndim=1, dims="(N,)"), positive_scalar(sigma, "sigma"),
                        as_scalar(m0, "m0"), positive_scalar(s0, "s0"))


def check_normal_normal(model, name: str = "model") -> NormalNormal:
    """Return ``model`` with clean fields after checking them as :func:`normal_normal` does.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`NormalNormal` or a field is not real and numeric.
    ValueError
        If ``y`` is not a finite vector, ``m0`` not a finite number, or ``sigma``, ``s0`` not finite
        positive numbers.
    """
    if not isinstance(model, NormalNormal):
        raise TypeError(f"{name} must be a NormalNormal (see normal_normal); got {type(model).__name__}.")
    return NormalNormal(as_array(model.y, f"{name}.y", ndim=1, dims="(N,)"), positive_scalar(model.sigma, f"{name}.sigma"),
                        as_scalar(model.m0, f"{name}.m0"), positive_scalar(model.s0, f"{name}.s0"))


def normal_normal_posterior(model: NormalNormal) -> tuple[float, float]:
    r"""Exact posterior mean and standard deviation: precision :math:`1/s_0^2 + N/\sigma^2`.

    Raises
    ------
    TypeError, ValueError
        If ``model`` is malformed (see :func:`check_normal_normal`).
    """
    model = check_normal_normal(model)
    prec = 1.0 / model.s0 ** 2 + model.y.size / model.sigma ** 2
    mean = (model.m0 / model.s0 ** 2 + model.y.sum() / model.sigma ** 2) / prec
    return float(mean), float(1.0 / np.sqrt(prec))


def normal_normal_target(model: NormalNormal) -> PythonTarget:
    r"""The log joint :math:`\log p(x, \mathbf y)` and its force as a one-dimensional target."""
    y, sigma, m0, s0 = check_normal_normal(model)
    N, Sy, Syy = y.size, y.sum(), float(y @ y)
    const = -0.5 * (N + 1) * _LOG2PI - N * np.log(sigma) - np.log(s0)

    def log_joint_and_force(x):
        x = x[:, 0]
        log_p = const - 0.5 * (x - m0) ** 2 / s0 ** 2 - 0.5 * (Syy - 2.0 * x * Sy + N * x * x) / sigma ** 2
        force = -(x - m0) / s0 ** 2 + (Sy - N * x) / sigma ** 2
        return log_p, force[:, None]

    return python_target(log_joint_and_force, 1)


def _finite_terms(terms):
    """``terms`` (an array or a tuple of arrays) if finite, else a ``ValueError`` naming the arguments."""
    for a in (terms if isinstance(terms, tuple) else (terms,)):
        if not np.all(np.isfinite(a)):
            raise ValueError("the estimates overflow float64: lam and eps (standard normal draws) must be on a "
                             "moderate scale for this target.")
    return terms


#: Largest log standard deviation accepted: exp(700) ~ 1e304 still leaves room for the samples.
_MAX_LOG_S = 700.0


def _check_lam(lam, D):
    if not isinstance(lam, GaussianVIParams):
        raise TypeError(f"lam must be a GaussianVIParams(m, log_s); got {type(lam).__name__}.")
    m = as_array(lam.m, "lam.m", shape=(D,), dims="(D,)")
    log_s = as_array(lam.log_s, "lam.log_s", shape=(D,), dims="(D,)")
    if np.any(log_s > _MAX_LOG_S):                # s = exp(log_s) must be a float64
        raise ValueError(f"lam.log_s must be at most {_MAX_LOG_S:g} (a standard deviation exp(log_s) that "
                         f"fits in float64); got {np.max(log_s):.3g}.")
    return m, log_s


def _check_eps(eps, D):
    eps = as_array(eps, "eps", ndim=2, dims="(S, D)")
    if eps.shape[1] != D or eps.shape[0] < 1:
        raise ValueError(f"eps must have shape (S, D) with S >= 1 and D = {D}; got {eps.shape}.")
    return eps


def gaussian_vi_sample(lam: GaussianVIParams, eps):
    r""":math:`\mathbf x = \mathbf m + \mathbf s\odot\boldsymbol\varepsilon` and :math:`\log q(\mathbf x;\boldsymbol\lambda)` for rows of ``eps``.

    Raises
    ------
    TypeError, ValueError
        If ``lam`` is not a :class:`GaussianVIParams` of two finite non-empty vectors of one length
        ``D`` (``log_s`` at most 700), ``eps`` is not a finite ``(S, D)`` array, or the samples overflow.
    """
    if not isinstance(lam, GaussianVIParams):
        raise TypeError(f"lam must be a GaussianVIParams(m, log_s); got {type(lam).__name__}.")
    D = as_array(lam.m, "lam.m", ndim=1, dims="(D,)", nonempty=True).shape[0]
    m, log_s = _check_lam(lam, D)
    eps = _check_eps(eps, D)
    with np.errstate(over="ignore", invalid="ignore"):
        x, log_q = _sample(m, log_s, eps)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(log_q))):
        raise ValueError("the samples m + exp(log_s) * eps overflow float64: lam.m, lam.log_s and eps must be on a "
                         "moderate scale.")
    return x, log_q


def _sample(m, log_s, eps):
    x = m + np.exp(log_s) * eps
    log_q = np.sum(-0.5 * eps * eps - log_s - 0.5 * _LOG2PI, axis=1)
    return x, log_q


def _elbo_terms(target, m, log_s, eps):
    x, log_q = _sample(m, log_s, eps)
    log_p, _ = evaluate_checked_target(target, x, "numba")
    return log_p - log_q


def _score_terms(log_s, eps, w):
    h = np.hstack([eps / np.exp(log_s), eps * eps - 1.0])
    return h * w[:, None], h


def _reparam_terms(target, m, log_s, eps):
    s = np.exp(log_s)
    _, f = evaluate_checked_target(target, m + s * eps, "numba")
    return np.hstack([f, f * eps * s + 1.0])


def _checked(target, lam, eps):
    D = check_target(target)
    m, log_s = _check_lam(lam, D)
    return m, log_s, _check_eps(eps, D)


def elbo_terms(target, lam: GaussianVIParams, eps) -> np.ndarray:
    r"""Per-sample :math:`\log\tilde p(\mathbf x) - \log q(\mathbf x)`; their mean estimates the ELBO.

    Raises
    ------
    TypeError, ValueError
        If ``target`` is malformed (:func:`~pedagogy_lib.samplers.targets.check_target`), ``lam.m``
        or ``lam.log_s`` is not a finite ``(D,)`` vector for the target's ``D``, or ``eps`` is not a
        finite ``(S, D)`` array.
    """
    m, log_s, eps = _checked(target, lam, eps)
    return _finite_terms(_elbo_terms(target, m, log_s, eps))


def score_function_terms(target, lam: GaussianVIParams, eps):
    r"""Per-sample score-function gradients and the scores themselves.

    Returns ``(g, h)``, both of shape ``(S, 2 D)`` (the ``m`` block, then the ``log_s`` block):
    :math:`\mathbf g = \mathbf h\,(\log\tilde p - \log q)`, :math:`\mathbf h = \partial\log q/\partial\boldsymbol\lambda`.

    Raises
    ------
    TypeError, ValueError
        As :func:`elbo_terms`.
    """
    m, log_s, eps = _checked(target, lam, eps)
    return _finite_terms(_score_terms(log_s, eps, _elbo_terms(target, m, log_s, eps)))


def reparam_terms(target, lam: GaussianVIParams, eps) -> np.ndarray:
    r"""Per-sample pathwise gradients, shape ``(S, 2 D)``: :math:`(\mathbf f,\ \mathbf f\odot\boldsymbol\varepsilon\odot\mathbf s + 1)`.

    The ``+1`` is the derivative of the entropy :math:`\sum_i\log s_i` (+ const), taken exactly.

    Raises
    ------
    TypeError, ValueError
        As :func:`elbo_terms`.
    """
    m, log_s, eps = _checked(target, lam, eps)
    return _finite_terms(_reparam_terms(target, m, log_s, eps))


def control_variate(g, h, a=None):
    r"""Subtract :math:`a\,\mathbf h` from per-sample gradients ``g`` (``h`` has mean zero).

    With ``a=None`` the coefficient is estimated per coordinate from the same samples,
    :math:`\hat a = \widehat{\mathrm{Cov}}(g, h)/\widehat{\mathrm{Var}}(h)` (a bias of order
    :math:`1/S`; pass an ``a`` estimated from other samples to avoid it). Returns ``(g - a h, a)``.
    """
    g = as_array(g, "g", ndim=2, dims="(S, P)", nonempty=True)
    h = as_array(h, "h", shape=g.shape, dims="(S, P)")
    if a is None:
        if g.shape[0] < 2:
            raise ValueError(f"g must hold at least 2 samples to estimate a; got S = {g.shape[0]}.")
        # Each column divided by its largest magnitude first, so that the sums of squares and products
        # neither underflow (h of size 1e-300) nor overflow (1e300); the scales come back as sg / sh.
        sg, sh = np.max(np.abs(g), axis=0), np.max(np.abs(h), axis=0)
        gs, hs = g / np.where(sg > 0, sg, 1.0), h / np.where(sh > 0, sh, 1.0)
        gc, hc = gs - gs.mean(axis=0), hs - hs.mean(axis=0)
        var = np.sum(hc * hc, axis=0)
        with np.errstate(over="ignore"):
            a = np.where(var > 0, np.sum(gc * hc, axis=0) / np.where(var > 0, var, 1.0)
                         * (sg / np.where(sh > 0, sh, 1.0)), 0.0)
        if not np.all(np.isfinite(a)):
            raise ValueError("control_variate: the coefficient Cov(g, h) / Var(h) overflows float64 (g is "
                             f"about {float(np.max(sg)):.3g} in size against h's {float(np.min(sh[sh > 0])):.3g}); "
                             "rescale g or h so that their ratio stays below about 1e300.")
    else:
        a = np.broadcast_to(as_array(a, "a"), (g.shape[1],))
    return g - a * h, a


def fit_gaussian_vi(target, lam0: GaussianVIParams, rng: np.random.Generator, *, n_iter: int = 2000,
                    n_samples: int = 10, estimator: str = "reparam", lr: float = 0.05) -> VIResult:
    r"""Stochastic gradient ascent on the ELBO with Adam (:class:`pedagogy_lib.nn.optim.Adam`).

    Parameters
    ----------
    target : Banana, GaussianTarget or PythonTarget
    lam0 : GaussianVIParams
        Starting point.
    rng : numpy.random.Generator
    n_iter : int
    n_samples : int
        :math:`S`, samples per gradient estimate.
    estimator : {"reparam", "score", "score_cv"}
        Pathwise, score-function, or score-function with the control variate of :func:`control_variate`.
    lr : float
        Adam's step size.

    Raises
    ------
    TypeError, ValueError
        If ``target`` or ``lam0`` is malformed (see
        :func:`~pedagogy_lib.samplers.targets.check_target`; ``lam0.m`` and ``lam0.log_s`` must be
        finite ``(D,)`` vectors), or an option is out of range.
    """
    D = check_target(target)
    m, log_s = _check_lam(lam0, D)
    rng = check_rng(rng)
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    S = check_int(n_samples, "n_samples", minimum=2 if estimator == "score_cv" else 1)
    estimator = check_choice(estimator, "estimator", ESTIMATORS)
    opt = Adam(positive_scalar(lr, "lr"))
    theta = (m.copy(), log_s.copy())
    state = opt.init(theta)
    path = [np.concatenate(theta)]
    elbo = np.empty(n_iter)
    for it in range(n_iter):
        eps = rng.standard_normal((S, D))
        w = _elbo_terms(target, theta[0], theta[1], eps)
        elbo[it] = w.mean()
        if estimator == "reparam":
            g = _reparam_terms(target, theta[0], theta[1], eps)
        else:
            g, h = _score_terms(theta[1], eps, w)
            if estimator == "score_cv":
                g, _ = control_variate(g, h)
        grad = g.mean(axis=0)
        theta, state = opt.step(theta, (-grad[:D], -grad[D:]), state)       # Adam descends: negate
        path.append(np.concatenate(theta))
    path = np.array(path)
    tail = path[n_iter // 2 + 1:]
    avg = tail.mean(axis=0)
    return VIResult(GaussianVIParams(avg[:D], avg[D:]), path, elbo)
