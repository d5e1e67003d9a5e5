r"""Samplers for a Gaussian diffusion model, and the exact force of a noised Gaussian mixture.

Section 8.3 implies but never writes down a sampler. Two are given here.

**Ancestral sampling** runs the generative chain of Eq. 8.30 from the top: draw
:math:`\mathbf x_L\sim\mathcal N(\mathbf 0, v_L^2\mathbf I)` (the draft's :math:`\mathcal N(\mathbf 0,\mathbf I)`
for a variance-preserving schedule with a small :math:`\lambda_\min`; the top marginal in
general), then for :math:`l = L, \dots, 1`

.. math::
    \mathbf x_{l-1} = \frac{v_{l-1}}{\rho_{l-1}}\Big((\rho_{l-1}^2-\rho_l^2)\,\hat{\mathbf m}(\mathbf x_l, l)
    + \frac{\rho_l}{v_l}\mathbf x_l\Big) + \sigma_l\mathbf z_l, \qquad
    \sigma_l^2 = \frac{v_{l-1}^2(\rho_{l-1}^2-\rho_l^2)}{\rho_{l-1}^2},

the mean of Eq. 8.38 with the prediction :math:`\hat{\mathbf m}` in place of the datum and the
variance chosen after Eq. 8.40. The last step returns the prediction :math:`\hat{\mathbf m}(\mathbf x_1, 1)`
itself (no noise), the usual final step.

**Annealed Langevin dynamics** (the NCSN sampler of the score-matching slides) works with the
rescaled variable :math:`\mathbf y = \mathbf x_l/(v_l\rho_l) = \mathbf x + \sigma_l\check{\mathbf z}`,
:math:`\sigma_l = 1/\rho_l`, whose force is :math:`\mathbf s(\mathbf y, \sigma_l) = v_l\rho_l\,\hat{\mathbf f}(v_l\rho_l\mathbf y, l)`.
From :math:`\mathbf y\sim\mathcal N(\mathbf 0, \sigma_1^2\mathbf I)` it runs ``n_steps`` steps of Eq. 8.44,

.. math::
    \mathbf y \leftarrow \mathbf y + \epsilon_i\,\mathbf s(\mathbf y, \sigma_i) + \sqrt{2\epsilon_i}\,\mathbf z,
    \qquad \epsilon_i = \epsilon\,\sigma_i^2,

at each noise level in turn, from the largest :math:`\sigma` to the smallest, each level starting
where the previous one stopped. (The slides' :math:`\mathbf x + \tfrac\alpha2\mathbf s + \sqrt\alpha\mathbf z`
is the same step with :math:`\alpha = 2\epsilon`.) Without the Metropolis correction each level
keeps an :math:`O(\epsilon)` bias: for a Gaussian of variance :math:`s^2` the chain's stationary
variance is :math:`s^2/(1-\epsilon_i/(2s^2))`.

**Exact forces.** For data from a Gaussian mixture :math:`\sum_k\pi_k\mathcal N(\boldsymbol\mu_k,\boldsymbol\Sigma_k)`
the noised marginal is again a mixture, with components
:math:`\mathcal N(v_l\rho_l\boldsymbol\mu_k,\ v_l^2\rho_l^2\boldsymbol\Sigma_k + v_l^2\mathbf I)`; its
force is exact (:func:`gmm_force`), and so is the posterior mean :math:`\mathbb E[\mathbf X\mid\mathbf x_l]`
(:func:`gmm_m_hat`), the optimal denoiser. Tweedie's formula (Eqs. 8.46-8.47) links the two. The
Langevin loop with an exact mixture force runs as a numba kernel over many chains
(:func:`~pedagogy_lib.diffusion.kernels.langevin_gmm_steps`; its NumPy twin ``_langevin_gmm_numpy``
here gives the same numbers); the wrapper draws all noise from the generator.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..core.checks import as_array, check_backend, check_int, check_rng, positive_scalar
from ..mixture.model import GMMParams, gmm_log_marginal, gmm_params
from . import kernels
from .forward import levels
from .losses import Denoiser, check_denoiser, mean_from_m_hat, predict, reverse_variances
from .schedules import Schedule, check_schedule

__all__ = [
    "LangevinResult",
    "noised_mixture",
    "mixture_force",
    "gmm_force",
    "gmm_m_hat",
    "gmm_log_density",
    "ancestral_sample",
    "langevin_gmm",
    "annealed_langevin",
    "m_hat_from_model",
    "score_from_model",
]


class LangevinResult(NamedTuple):
    """Final states and, if asked for, the state after each level.

    Attributes
    ----------
    y : ndarray, shape (C, d)
    path : ndarray, shape (n_levels + 1, C, d) or None
        The start, then the state at the end of each level.
    """

    y: np.ndarray
    path: np.ndarray | None


def _check_gmm(gmm, name="gmm") -> GMMParams:
    if not isinstance(gmm, GMMParams):
        raise ValueError(f"{name} must be a GMMParams (pedagogy_lib.mixture.gmm_params); got {type(gmm).__name__}.")
    return gmm_params(gmm.pi, gmm.mu, gmm.Sigma)


def noised_mixture(gmm: GMMParams, scale: float, var: float) -> GMMParams:
    r"""The law of :math:`a\mathbf X + \sqrt{s^2}\mathbf Z` for :math:`\mathbf X` from ``gmm``: components :math:`\mathcal N(a\boldsymbol\mu_k, a^2\boldsymbol\Sigma_k + s^2\mathbf I)`.

    ``scale`` is :math:`a` (e.g. :math:`v_l\rho_l`) and ``var`` is :math:`s^2` (e.g. :math:`v_l^2`; may be 0).
    """
    gmm = _check_gmm(gmm)
    a = positive_scalar(scale, "scale")
    s2 = positive_scalar(var, "var", strict=False)
    d = gmm.mu.shape[1]
    return GMMParams(gmm.pi.copy(), a * gmm.mu, a ** 2 * gmm.Sigma + s2 * np.eye(d))


def _level_mixture(gmm, schedule, l):
    schedule = check_schedule(schedule)
    l = check_int(l, "l", minimum=0, maximum=schedule.L)
    return noised_mixture(gmm, schedule.scale[l], schedule.v[l] ** 2), schedule, l


def _mixture_arrays(gmm: GMMParams):
    """Precisions, log weights minus half log-determinants: what the force needs."""
    P = np.linalg.inv(gmm.Sigma)
    P = 0.5 * (P + np.transpose(P, (0, 2, 1)))
    _, logdet = np.linalg.slogdet(gmm.Sigma)
    with np.errstate(divide="ignore"):
        c = np.log(gmm.pi) - 0.5 * logdet
    return np.ascontiguousarray(gmm.mu), np.ascontiguousarray(P), c


def _mixture_force_numpy(mu, P, c, y):
    diff = mu[None, :, :] - y[:, None, :]                    # (C, K, d)
    Pd = np.einsum("kij,ckj->cki", P, diff)                  # P_k (mu_k - y)
    logit = c[None, :] - 0.5 * np.sum(diff * Pd, axis=2)
    logit -= logit.max(axis=1, keepdims=True)
    r = np.exp(logit)
    r /= r.sum(axis=1, keepdims=True)
    return np.einsum("ck,cki->ci", r, Pd)


def mixture_force(gmm: GMMParams, y) -> np.ndarray:
    r"""Force :math:`\partial\log p(\mathbf y)/\partial\mathbf y^{\mathsf T}` of a Gaussian mixture, :math:`\sum_k r_k(\mathbf y)\boldsymbol\Sigma_k^{-1}(\boldsymbol\mu_k-\mathbf y)`."""
    gmm = _check_gmm(gmm)
    y = as_array(y, "y", shape=(None, gmm.mu.shape[1]), dims="(N, d)")
    return _mixture_force_numpy(*_mixture_arrays(gmm), y)


def gmm_force(gmm: GMMParams, schedule: Schedule, l: int, x) -> np.ndarray:
    r"""Exact force :math:`\partial\log\check p(\mathbf x_l)/\partial\mathbf x_l^{\mathsf T}` of mixture data noised to level ``l``.

    :math:`\sum_k r_k(\mathbf x)\,\mathbf S_k^{-1}(v_l\rho_l\boldsymbol\mu_k-\mathbf x)` with
    :math:`\mathbf S_k = v_l^2\rho_l^2\boldsymbol\Sigma_k + v_l^2\mathbf I` and :math:`r_k` the component
    responsibilities under the noised mixture: Eq. 8.45 with the component as the latent variable.
    """
    mix, _, _ = _level_mixture(gmm, schedule, l)
    x = as_array(x, "x", shape=(None, mix.mu.shape[1]), dims="(N, d)")
    return _mixture_force_numpy(*_mixture_arrays(mix), x)


def gmm_m_hat(gmm: GMMParams, schedule: Schedule, l: int, x) -> np.ndarray:
    r"""The optimal denoiser, :math:`\mathbb E[\check{\mathbf X}_0\mid\mathbf x_l]`, for mixture data (exact).

    Given component :math:`k`, :math:`(\mathbf X, \mathbf X_l)` is jointly Gaussian and
    :math:`\mathbb E[\mathbf X\mid\mathbf x_l, k] = \boldsymbol\mu_k + a\boldsymbol\Sigma_k\mathbf S_k^{-1}(\mathbf x_l - a\boldsymbol\mu_k)`,
    :math:`a = v_l\rho_l`; these are averaged with the responsibilities. This is computed by
    Gaussian conditioning, not from the force, so that Tweedie's formula can be checked against it.
    """
    mix, schedule, l = _level_mixture(gmm, schedule, l)
    g = _check_gmm(gmm)
    x = as_array(x, "x", shape=(None, mix.mu.shape[1]), dims="(N, d)")
    a = schedule.scale[l]
    logp = np.stack([_gauss_logpdf(x, mix.mu[k], mix.Sigma[k]) for k in range(len(g.pi))], axis=1)
    with np.errstate(divide="ignore"):
        logp = logp + np.log(g.pi)[None, :]
    logp -= logp.max(axis=1, keepdims=True)
    r = np.exp(logp)
    r /= r.sum(axis=1, keepdims=True)
    out = np.zeros_like(x)
    for k in range(len(g.pi)):
        gain = a * g.Sigma[k] @ np.linalg.inv(mix.Sigma[k])
        out += r[:, k:k + 1] * (g.mu[k] + (x - mix.mu[k]) @ gain.T)
    return out


def _gauss_logpdf(x, mu, S):
    Lc = np.linalg.cholesky(S)
    w = np.linalg.solve(Lc, (x - mu).T)
    return -0.5 * np.sum(w ** 2, axis=0) - np.sum(np.log(np.diag(Lc))) - 0.5 * x.shape[1] * np.log(2 * np.pi)


def gmm_log_density(gmm: GMMParams, schedule: Schedule, l: int, x) -> np.ndarray:
    r""":math:`\log\check p(\mathbf x_l)` of mixture data noised to level ``l`` (via :func:`pedagogy_lib.mixture.gmm_log_marginal`).

    Raises
    ------
    TypeError, ValueError
        If ``gmm``, ``schedule`` or ``l`` is malformed, or ``x`` is not a finite real ``(N, d)`` array.
    """
    mix, _, _ = _level_mixture(gmm, schedule, l)
    x = as_array(x, "x", shape=(None, mix.mu.shape[1]), dims="(N, d)")
    return gmm_log_marginal(mix, x)


# ----------------------------------------------------------------------------------------------
# Ancestral sampling
# ----------------------------------------------------------------------------------------------

def _check_model_params(model, params, schedule):
    """Check a denoiser, its parameters (by a forward pass on no rows) and a schedule; return the schedule."""
    model = check_denoiser(model)
    schedule = check_schedule(schedule)
    model.net.forward(params, np.zeros((0, model.net.n_in)))
    return schedule


def m_hat_from_model(model: Denoiser, params, schedule: Schedule) -> Callable:
    r"""The callable ``m_hat(x, l)`` of a trained denoiser, for :func:`ancestral_sample`.

    Raises
    ------
    TypeError, ValueError
        At once (not at the first call of the result) if ``model``, ``params`` or ``schedule`` is
        malformed (:func:`~pedagogy_lib.diffusion.losses.check_denoiser`,
        :func:`~pedagogy_lib.diffusion.schedules.check_schedule`).
    """
    _check_model_params(model, params, schedule)

    def m_hat(x, l):
        return predict(model, params, schedule, x, l, out="m_hat")
    return m_hat


def ancestral_sample(schedule: Schedule, m_hat: Callable, rng: np.random.Generator, N: int, d: int, *,
                     keep_path: bool = False):
    r"""Run the generative chain of Eq. 8.30 with the reverse transitions of Eq. 8.38 (module docstring).

    Each step is a Gaussian of the form of Eq. 8.33, :math:`\mathcal N(\boldsymbol\mu_l, \sigma_l^2\mathbf I)`;
    the top level is drawn from its marginal :math:`\mathcal N(\mathbf 0, v_L^2\mathbf I)`.

    Parameters
    ----------
    m_hat : callable
        ``m_hat(x, l) -> (N, d)``: a clean-data prediction :math:`\hat{\mathbf m}(\mathbf x_l, l)`
        (a trained network via :func:`m_hat_from_model`, or the exact :func:`gmm_m_hat`).
    rng : numpy.random.Generator
        All noise, ``(L + 1, N, d)`` standard normals, is drawn first.
    N, d : int

    Returns
    -------
    x : ndarray, shape (N, d)
        The samples (the prediction at level 1).
    path : ndarray, shape (L + 1, N, d)
        Only with ``keep_path``: ``path[l]`` is the state at level ``l`` (``path[0]`` = ``x``).
    """
    schedule = check_schedule(schedule)
    if not callable(m_hat):
        raise ValueError(f"m_hat must be a callable m_hat(x, l); got {type(m_hat).__name__}.")
    rng = check_rng(rng)
    N = check_int(N, "N", minimum=1)
    d = check_int(d, "d", minimum=1)
    L = schedule.L
    Z = rng.standard_normal((L + 1, N, d))
    sd = np.sqrt(reverse_variances(schedule))
    x = schedule.v[L] * Z[L]
    path = np.empty((L + 1, N, d)) if keep_path else None
    if keep_path:
        path[L] = x
    for l in range(L, 0, -1):
        m = as_array(m_hat(x, l), "m_hat(x, l)", shape=(N, d), dims="(N, d)")
        if l == 1:
            x = m
        else:
            x = mean_from_m_hat(schedule, l, x, m) + sd[l - 1] * Z[l - 1]
        if keep_path:
            path[l - 1] = x
    return (x, path) if keep_path else x


# ----------------------------------------------------------------------------------------------
# Langevin dynamics: NumPy twin of the mixture-force kernel, and a generic driver
# ----------------------------------------------------------------------------------------------

def _langevin_gmm_numpy(y, mu, P, c, eps, Z):
    """Readable twin of :func:`~pedagogy_lib.diffusion.kernels.langevin_gmm_steps`: one step per row of ``Z``."""
    root = np.sqrt(2.0 * eps)
    for t in range(Z.shape[0]):
        y += eps * _mixture_force_numpy(mu, P, c, y) + root * Z[t]


def langevin_gmm(gmm: GMMParams, sigma: float, y0, n_steps: int, step_size: float, rng: np.random.Generator,
                 *, backend: str = "auto") -> np.ndarray:
    r"""Unadjusted Langevin dynamics (Eq. 8.44) on :math:`\sum_k\pi_k\mathcal N(\boldsymbol\mu_k, \boldsymbol\Sigma_k+\sigma^2\mathbf I)` for many chains.

    Parameters
    ----------
    gmm : GMMParams
        The clean mixture; ``sigma`` (may be 0) is the noise level of the target.
    y0 : array_like, shape (C, d)
        Starting points, one chain per row (not modified).
    n_steps : int
    step_size : float
        :math:`\epsilon` of Eq. 8.44.
    rng : numpy.random.Generator
        The ``(n_steps, C, d)`` standard normals are drawn here, in blocks.
    backend : {"auto", "numba", "numpy"}
        The kernel or its NumPy twin; ``"auto"`` runs the twin while compiling would cost more than it saves
        (:func:`pedagogy_lib.core.jit.choose`).

    Returns
    -------
    ndarray, shape (C, d)

    Raises
    ------
    TypeError, ValueError
        If an argument is malformed, or the chains overflow (``step_size`` too large for the mixture).
    """
    check_backend(backend)
    gmm = _check_gmm(gmm)
    s = positive_scalar(sigma, "sigma", strict=False)
    d = gmm.mu.shape[1]
    y = as_array(y0, "y0", shape=(None, d), dims="(C, d)").copy()
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    eps = positive_scalar(step_size, "step_size")
    rng = check_rng(rng)
    mu, P, c = _mixture_arrays(GMMParams(gmm.pi, gmm.mu, gmm.Sigma + s ** 2 * np.eye(d)))
    C = y.shape[0]
    backend = check_backend(backend, kernels.langevin_gmm_steps, C=C, K=mu.shape[0], d=d, n_steps=n_steps)
    block = max(1, min(n_steps, (1 << 18) // max(1, C * d)))
    run = kernels.langevin_gmm_steps if backend == "numba" else _langevin_gmm_numpy
    for t0 in range(0, n_steps, block):
        Z = rng.standard_normal((min(block, n_steps - t0), C, d))
        with np.errstate(over="ignore", invalid="ignore"):
            run(y, mu, P, c, eps, Z)
        if not np.isfinite(y).all():
            raise ValueError(f"the Langevin chains left the finite numbers; reduce step_size (now {eps:g}) or "
                             "rescale y0 and gmm.")
    return y


def score_from_model(model: Denoiser, params, schedule: Schedule, level_list) -> Callable:
    r"""The force ``score(y, i)`` of the rescaled variable at the ``i``-th level of ``level_list``.

    :math:`\mathbf s(\mathbf y, \sigma_l) = v_l\rho_l\,\hat{\mathbf f}(v_l\rho_l\mathbf y, l)`, with
    :math:`\hat{\mathbf f}` the network read as a force (Eq. 8.47).

    Raises
    ------
    TypeError, ValueError
        As :func:`m_hat_from_model`, or if ``level_list`` holds a level outside ``0..L``.
    """
    schedule = _check_model_params(model, params, schedule)
    if isinstance(level_list, (str, bytes)) or not hasattr(level_list, "__len__"):
        raise TypeError(f"level_list must be a sequence of int levels; got {type(level_list).__name__}.")
    lv = levels(np.asarray(level_list), "level_list", schedule.L, len(level_list))

    def score(y, i):
        l = int(lv[i])
        a = schedule.scale[l]
        return a * predict(model, params, schedule, a * y, l, out="force")
    return score


def annealed_langevin(score, sigmas, y0, n_steps: int, eps: float, rng: np.random.Generator, *,
                      backend: str = "auto", keep_path: bool = False) -> LangevinResult:
    r"""Annealed Langevin dynamics over decreasing noise levels ``sigmas`` (module docstring).

    Parameters
    ----------
    score : GMMParams or callable
        A clean mixture (exact force of each noised level, run by the numba kernel), or
        ``score(y, i) -> (C, d)``, the force at noise ``sigmas[i]`` (e.g. :func:`score_from_model`).
    sigmas : array_like, shape (n_levels,)
        Positive and decreasing.
    y0 : array_like, shape (C, d)
        Starting points, usually :math:`\mathcal N(\mathbf 0, \sigma_1^2\mathbf I)`.
    n_steps : int
        Langevin steps per level.
    eps : float
        Relative step: level :math:`i` uses :math:`\epsilon\sigma_i^2`.
    backend : {"auto", "numba", "numpy"}
        For a mixture ``score``, the kernel of :func:`langevin_gmm` or its twin, chosen once for every level's
        steps (:func:`pedagogy_lib.core.jit.choose`).

    Raises
    ------
    TypeError, ValueError
        If an argument is malformed, the steps :math:`\epsilon\sigma_i^2` underflow or overflow, or
        the chains leave the finite numbers (``eps`` too large).
    """
    sigmas = as_array(sigmas, "sigmas", ndim=1, dims="(n_levels,)", nonempty=True)
    if np.any(sigmas <= 0) or np.any(np.diff(sigmas) >= 0):
        raise ValueError(f"sigmas must be positive and strictly decreasing; got {sigmas!r}.")
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    eps = positive_scalar(eps, "eps")
    with np.errstate(over="ignore", under="ignore"):
        steps = eps * sigmas ** 2
    if not np.all(np.isfinite(steps) & (steps > 0.0)):
        raise ValueError(f"the Langevin steps eps * sigmas**2 must be positive float64 numbers; with eps = {eps:g} "
                         f"and sigmas from {sigmas.min():.3g} to {sigmas.max():.3g} they underflow or overflow.")
    rng = check_rng(rng)
    check_backend(backend)
    y = as_array(y0, "y0", ndim=2, dims="(C, d)").copy()
    path = np.empty((len(sigmas) + 1,) + y.shape) if keep_path else None
    if keep_path:
        path[0] = y
    if isinstance(score, GMMParams):
        gmm = _check_gmm(score, "score")
        if gmm.mu.shape[1] != y.shape[1]:
            raise ValueError(f"y0 must have d = {gmm.mu.shape[1]} columns like the mixture; got {y.shape[1]}.")
        backend = check_backend(backend, kernels.langevin_gmm_steps, C=y.shape[0], K=gmm.mu.shape[0], d=y.shape[1],
                                n_steps=n_steps * len(sigmas))        # once for every level's steps
        for i, s in enumerate(sigmas):
            try:
                y = langevin_gmm(gmm, s, y, n_steps, steps[i], rng, backend=backend)
            except ValueError as exc:                 # its message speaks of step_size; here that is eps * sigma^2
                raise ValueError(f"at sigmas[{i}] = {s:g} (step eps * sigmas[{i}]**2 = {steps[i]:g}): {exc} "
                                 "Reduce eps.") from None
            if keep_path:
                path[i + 1] = y
        return LangevinResult(y, path)
    if not callable(score):
        raise ValueError(f"score must be a GMMParams or a callable score(y, i); got {type(score).__name__}.")
    for i, s in enumerate(sigmas):
        step = eps * s ** 2
        Z = rng.standard_normal((n_steps,) + y.shape)
        for t in range(n_steps):
            f = as_array(score(y, i), "score(y, i)", shape=y.shape, dims="(C, d)")
            with np.errstate(over="ignore", invalid="ignore"):
                y = y + step * f + np.sqrt(2.0 * step) * Z[t]
            if not np.all(np.isfinite(y)):
                raise ValueError(f"the Langevin chains left the finite numbers at sigmas[{i}] = {s:g}; reduce eps "
                                 f"(now {eps:g}).")
        if keep_path:
            path[i + 1] = y
    return LangevinResult(y, path)
