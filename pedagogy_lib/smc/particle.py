r"""Particle filter and smoother (book, "Sampling-based approaches", after Section 2.2.2, Eqs. 2.56-2.61).

A set of :math:`I` particles :math:`\hat{\mathbf x}_t^{(i)}` with normalized weights is a
categorical distribution with one category per particle (Eq. 2.56):

.. math::
    \hat p(\mathbf x_t\mid\mathbf y_1,\dots,\mathbf y_t) \approx
        \sum_{i=1}^I \alpha_t^{(i)}\,\delta(\mathbf x_t - \hat{\mathbf x}_t^{(i)}), \qquad
    \hat p(\mathbf x_t\mid\mathbf y_1,\dots,\mathbf y_T) \approx
        \sum_{i=1}^I \beta_t^{(i)}\,\delta(\mathbf x_t - \hat{\mathbf x}_t^{(i)}).

(Here :math:`\boldsymbol\alpha_t, \boldsymbol\beta_t` are particle weights, not the HMM's
:math:`\boldsymbol\alpha, \boldsymbol\gamma` of Section 2.2.1.)

**Filter** (:func:`particle_filter`, the *bootstrap* filter):

* time update (Eq. 2.57): pick ancestors from :math:`\mathrm{Categ}(\boldsymbol\alpha_{t-1})`
  (:mod:`pedagogy_lib.smc.resampling`), then move each through the transition
  :math:`\hat p(\mathbf x_t\mid\hat{\mathbf x}_{t-1})`; the predictive distribution is then uniform
  over the new particles (Eq. 2.58);
* measurement update (Eq. 2.59): :math:`\alpha_t^{(j)}\propto\hat p(\mathbf y_t\mid\hat{\mathbf x}_t^{(j)})`.

The book resamples at every step. We also allow resampling only when the effective sample size
of :math:`\boldsymbol\alpha_{t-1}` falls below ``ess_threshold * I``; when a step does not resample,
each particle keeps its own ancestor and carries its weight forward,
:math:`\alpha_t^{(j)}\propto\alpha_{t-1}^{(j)}\hat p(\mathbf y_t\mid\hat{\mathbf x}_t^{(j)})`.

The denominators of Eq. 2.59 estimate the factors of Eq. 2.40,

.. math::
    \hat p(\mathbf y_t\mid\mathbf y_1,\dots,\mathbf y_{t-1}) \approx \sum_i \bar w_{t}^{(i)}
        \hat p(\mathbf y_t\mid\hat{\mathbf x}_t^{(i)}),

with :math:`\bar w_t^{(i)} = 1/I` after resampling and :math:`\alpha_{t-1}^{(i)}` otherwise; the
product over :math:`t` is an *unbiased* estimate of the evidence :math:`\hat p(\mathbf y_1,\dots,
\mathbf y_T)` (its logarithm is biased low, by Jensen's inequality).

**Smoother** (:func:`ffbsm`, forward filtering backward smoothing): the same particles, reweighted
backwards (Eqs. 2.60-2.61),

.. math::
    \beta_{t-1}^{(j)} = \sum_{k=1}^I \beta_t^{(k)}
        \frac{\alpha_{t-1}^{(j)}\hat p(\hat{\mathbf x}_t^{(k)}\mid\hat{\mathbf x}_{t-1}^{(j)})}
             {\sum_{i=1}^I\alpha_{t-1}^{(i)}\hat p(\hat{\mathbf x}_t^{(k)}\mid\hat{\mathbf x}_{t-1}^{(i)})},
    \qquad \boldsymbol\beta_T = \boldsymbol\alpha_T,

an :math:`O(I^2)` step. It needs the particles :math:`\hat{\mathbf x}_{t-1}^{(j)}` that carry the
weights :math:`\alpha_{t-1}^{(j)}`, i.e. the set *before* resampling, which is why
:class:`ParticleFilterResult` keeps every step's particles before resampling (the draft reuses the
symbol :math:`\hat{\mathbf x}_{t-1}^{(i)}` for the resampled ancestors). :func:`backward_simulation`
draws whole trajectories from the same backward kernel (Eq. 2.60).

**Models.** Either the linear-Gaussian state-space model of Section 2.2.2 as ``LGSSMParams``
(:mod:`pedagogy_lib.lgssm.kalman`; numba kernels in :mod:`pedagogy_lib.smc.kernels`, NumPy twins here,
``backend="numba"|"numpy"``),

.. math::
    \mathbf x_1\sim\mathcal N(\boldsymbol\mu_1,\boldsymbol\Sigma_1),\quad
    \mathbf x_t = \mathbf A\mathbf x_{t-1} + \mathbf B\mathbf u_{t-1} + \mathbf a
        + \mathcal N(\mathbf 0, \boldsymbol\Sigma_x),\quad
    \mathbf y_t = \mathbf C\mathbf x_t + \mathbf c + \mathcal N(\mathbf 0, \boldsymbol\Sigma_{y|x}),

or any model given as a :class:`StateSpaceModel` of vectorized callables (a NumPy loop over
time; ``backend`` then only selects the resampling kernel).

Indexing: code is 0-based, row ``t`` is the book's :math:`t+1`. Shapes: ``T`` steps, ``I``
particles, ``n`` state dimensions, ``M`` sampled trajectories.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np

from ..core.checks import as_array, check_backend, check_choice, check_int, check_rng
from ..core.linalg import TAU
from ..lgssm.model import LGSSMParams
from ..lgssm.model import check_params as check_lgssm_params
from ..lgssm.model import check_u as check_lgssm_u
from . import kernels
from .resampling import SCHEMES, resample_by_kernel, resample_numpy

__all__ = ["StateSpaceModel", "ParticleFilterResult", "BackwardSimulationResult", "particle_filter", "ffbsm",
           "backward_simulation"]

class StateSpaceModel(NamedTuple):
    r"""A state-space model given by vectorized callables (for the generic, NumPy path).

    Attributes
    ----------
    sample_initial : callable ``(rng, I) -> ndarray (I, n)``
        Draws :math:`I` particles from the initial prior :math:`\hat p(\mathbf x_1)`.
    sample_transition : callable ``(rng, x_prev, t) -> ndarray (I, n)``
        Draws :math:`\hat{\mathbf x}_t^{(i)}\sim\hat p(\mathbf x_t\mid \hat{\mathbf x}_{t-1}^{(i)})` for every row of
        ``x_prev`` (shape ``(I, n)``); ``t`` is the 0-based row of the new state.
    log_lik : callable ``(y_t, x, t) -> ndarray (I,)``
        :math:`\log\hat p(\mathbf y_t\mid\mathbf x^{(i)})` for every row of ``x``; ``-inf`` is allowed.
    log_transition : callable ``(x_next, x_prev, t) -> ndarray (K, I)``, optional
        Entry ``[k, j]`` is :math:`\log\hat p(\mathbf x_t = \texttt{x\_next}[k]\mid\mathbf x_{t-1} =
        \texttt{x\_prev}[j])`, up to a constant that may depend on ``t`` only. Needed by :func:`ffbsm`
        and :func:`backward_simulation`.
    """

    sample_initial: Callable
    sample_transition: Callable
    log_lik: Callable
    log_transition: Optional[Callable] = None


class ParticleFilterResult(NamedTuple):
    r"""Output of :func:`particle_filter`.

    Attributes
    ----------
    x : ndarray, shape (T, I, n)
        Particles :math:`\hat{\mathbf x}_t^{(i)}` of every step, *before* the next step resamples them.
    log_alpha : ndarray, shape (T, I)
        Normalized log weights :math:`\log\alpha_t^{(i)}` (Eq. 2.59): ``logsumexp(log_alpha[t]) == 0``.
    ancestors : ndarray of int64, shape (T, I)
        ``x[t, i]`` was moved from ``x[t-1, ancestors[t, i]]``; row 0 is ``-1`` (no parent), and a step
        that did not resample has ``ancestors[t] == arange(I)``.
    ess : ndarray, shape (T,)
        Effective sample size :math:`1/\sum_i(\alpha_t^{(i)})^2` of each step's filter weights.
    resampled : ndarray of bool, shape (T,)
        Whether step ``t`` was formed by resampling :math:`\boldsymbol\alpha_{t-1}` (always False at t = 0).
    log_evidence_steps : ndarray, shape (T,)
        Estimates of :math:`\log\hat p(\mathbf y_t\mid\mathbf y_1,\dots,\mathbf y_{t-1})` (factors of Eq. 2.40).
    log_evidence : float
        Their sum: the log of an unbiased estimate of :math:`\hat p(\mathbf y_1,\dots,\mathbf y_T)`.
    """

    x: np.ndarray
    log_alpha: np.ndarray
    ancestors: np.ndarray
    ess: np.ndarray
    resampled: np.ndarray
    log_evidence_steps: np.ndarray
    log_evidence: float


class BackwardSimulationResult(NamedTuple):
    r"""Output of :func:`backward_simulation`.

    Attributes
    ----------
    indices : ndarray of int64, shape (M, T)
        ``indices[m, t]`` is the particle of step ``t`` on trajectory ``m``.
    x : ndarray, shape (M, T, n)
        The trajectories themselves, ``x[m, t] = pf.x[t, indices[m, t]]``: approximate draws from
        :math:`\hat p(\mathbf x_1,\dots,\mathbf x_T\mid\mathbf y_1,\dots,\mathbf y_T)`.
    """

    indices: np.ndarray
    x: np.ndarray


# ------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------
def _is_lgssm(model) -> bool:
    return isinstance(model, LGSSMParams)


def _check_model_kind(model):
    if _is_lgssm(model):
        return "lgssm"
    if isinstance(model, StateSpaceModel):
        return "generic"
    raise TypeError("model must be an LGSSMParams (fields mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x) or a "
                    f"particle.StateSpaceModel of callables; got {type(model).__name__}.")


class _LGSSMArrays(NamedTuple):
    """Validated LGSSM arrays in the form the kernels use (whitened emission, per-step drift)."""

    mu1: np.ndarray          # (n,)
    L1: np.ndarray           # (n, n) Cholesky factor of Sigma1
    A: np.ndarray            # (n, n)
    drift: np.ndarray        # (T, n): row t is B u_{t-1} + a (row 0 unused)
    Lx: np.ndarray           # (n, n) Cholesky factor of Sigma_x
    Lx_inv: np.ndarray       # (n, n) its inverse (lower triangular)
    C: np.ndarray            # (m, n)
    c: np.ndarray            # (m,)
    Ly: np.ndarray           # (m, m) Cholesky factor of Sigma_y_x


def _check_lgssm(params, T: int, u) -> _LGSSMArrays:
    """Validate with the Kalman module's checks (one set of messages), then precompute factors."""
    p, (n, m, n_u) = check_lgssm_params(params)
    if u is not None and n_u == 0:
        raise ValueError("u was given but B is None (or has no columns): the control term B u_{t-1} "
                         "needs B of shape (n, n_u).")
    u = check_lgssm_u(u, T, n_u)
    drift = np.tile(p.a, (T, 1))
    if n_u:
        drift[1:] += u @ p.B.T                 # row t gets B u_{t-1} (book: u_{t-1} drives x_t)
    L1 = np.linalg.cholesky(p.Sigma1)
    Lx = np.linalg.cholesky(p.Sigma_x)
    Ly = np.linalg.cholesky(p.Sigma_y_x)
    Lx_inv = np.linalg.solve(Lx, np.eye(n))   # lower-triangular factor of Sigma_x^{-1} = Lx^{-T} Lx^{-1}
    return _LGSSMArrays(p.mu1, np.ascontiguousarray(L1), p.A, np.ascontiguousarray(drift), np.ascontiguousarray(Lx),
                        np.ascontiguousarray(Lx_inv), p.C, p.c, np.ascontiguousarray(Ly))


def _check_y(y, name: str = "y") -> np.ndarray:
    y = as_array(y, name, finite=True)
    if y.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (T,) or (T, m); got {y.shape}.")
    if y.shape[0] == 0:
        raise ValueError(f"{name} is an empty sequence (T = 0); the filter needs at least one observation.")
    return y


def _check_threshold(ess_threshold) -> float:
    try:
        thr = float(ess_threshold)
    except (TypeError, ValueError):
        raise TypeError(f"ess_threshold must be a number in [0, 1]; got {type(ess_threshold).__name__}.") from None
    if not (0.0 <= thr <= 1.0):
        raise ValueError(f"ess_threshold must lie in [0, 1] (a fraction of I; 1 = resample at every step, "
                         f"0 = never); got {ess_threshold!r}.")
    return thr


def _check_filter_result(pf) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(pf, ParticleFilterResult):
        raise TypeError(f"pf must be the ParticleFilterResult of particle_filter; got {type(pf).__name__}.")
    x = as_array(pf.x, "pf.x", ndim=3, dims="(T, I, n)")
    T, I, _ = x.shape
    log_alpha = as_array(pf.log_alpha, "pf.log_alpha", shape=(T, I), dims="(T, I)", finite=False)
    if np.isnan(log_alpha).any() or np.isposinf(log_alpha).any():
        raise ValueError("pf.log_alpha must not contain NaN or +inf.")
    with np.errstate(divide="ignore"):
        tot = np.log(np.sum(np.exp(log_alpha), axis=1))
    if np.any(np.abs(tot) > 1e-8):
        t = int(np.argmax(np.abs(tot) > 1e-8))
        raise ValueError(f"pf.log_alpha must be normalized (exp sums to 1 in every row); row {t} has "
                         f"log-sum {tot[t]:.3g}.")
    return x, log_alpha


def _check_states(x, I: int, name: str, n: int | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != I or (n is not None and x.shape[1] != n):
        want = f"({I}, n)" if n is None else f"({I}, {n})"
        raise ValueError(f"{name} must return particles of shape (I, n) = {want}; got {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} returned a NaN or infinite particle.")
    return np.ascontiguousarray(x)


def _check_loglik(lw, I: int, name: str = "log_lik") -> np.ndarray:
    lw = np.asarray(lw, dtype=np.float64)
    if lw.shape != (I,):
        raise ValueError(f"{name} must return an array of shape (I,) = ({I},); got {lw.shape}.")
    if np.isnan(lw).any() or np.isposinf(lw).any():
        raise ValueError(f"{name} returned NaN or +inf.")
    return lw


# ------------------------------------------------------------------------------------------------
# Bootstrap filter for the linear-Gaussian model: the kernels (one per scheme) and their twin
# ------------------------------------------------------------------------------------------------
#: The compiled bootstrap filter of each resampling scheme (one driver per scheme, built from the same
#: step: no kernel chooses the scheme by an integer code).
BOOTSTRAP_KERNELS = {"multinomial": kernels.bootstrap_lgssm_multinomial,
                     "stratified": kernels.bootstrap_lgssm_stratified,
                     "systematic": kernels.bootstrap_lgssm_systematic}


def _bootstrap_lgssm_numpy(model: kernels.WhitenedLGSSM, x, U, scheme, ess_threshold):
    """NumPy twin of the bootstrap kernels (``BOOTSTRAP_KERNELS[scheme]``): one vectorized line per book equation.

    Like the kernels, it receives the standard normals in ``x`` and overwrites them with the particles;
    it returns the fields of :class:`~pedagogy_lib.smc.kernels.FilterOutput`.
    """
    mu1, L1, A, drift, Lx, G, g, log_const = model
    T, I, n = x.shape
    log_alpha = np.empty((T, I))
    ancestors = np.empty((T, I), dtype=np.int64)
    ess = np.empty(T)
    resampled = np.zeros(T, dtype=bool)
    log_Z_steps = np.empty(T)
    W_prev = None
    for t in range(T):
        if t == 0:
            x[0] = mu1 + x[0] @ L1.T                                 # x_1 = mu1 + L1 eps ~ N(mu1, Sigma1)
            ancestors[0] = -1
            log_prior = np.full(I, -np.log(I))
        else:
            resampled[t] = ess_threshold >= 1.0 or ess[t - 1] < ess_threshold * I
            if resampled[t]:                                          # (Eq. 2.57) pick ancestors
                a_idx = resample_numpy(W_prev, U[t], I, scheme)
                log_prior = np.full(I, -np.log(I))                    # (Eq. 2.58) uniform weights
            else:
                a_idx = np.arange(I)
                log_prior = log_alpha[t - 1]
            ancestors[t] = a_idx
            x[t] = x[t - 1, a_idx] @ A.T + drift[t] + x[t] @ Lx.T     # (Eq. 2.57) move; x[t] held eps
        z = g[t] - x[t] @ G.T                                         # whitened residuals
        lw = log_prior + log_const - 0.5 * np.sum(z * z, axis=1)      # (Eq. 2.59) unnormalized
        mx = np.max(lw)
        w = np.exp(lw - mx)
        s1 = np.sum(w)
        log_Z_steps[t] = mx + np.log(s1)                              # factor of Eq. 2.40
        log_alpha[t] = lw - (mx + np.log(s1))
        W_prev = w * (1.0 / s1)
        ess[t] = s1 * s1 / np.sum(w * w)
    return x, log_alpha, ancestors, ess, resampled, log_Z_steps


def _emission_whitened(arr: _LGSSMArrays, y: np.ndarray):
    """``G = Ly^{-1} C``, ``g[t] = Ly^{-1}(y_t - c)`` and the constant of the Gaussian log density."""
    m = arr.c.shape[0]
    G = np.ascontiguousarray(np.linalg.solve(arr.Ly, arr.C))             # Ly^{-1} C (a triangular solve)
    g = np.ascontiguousarray(np.linalg.solve(arr.Ly, (y - arr.c).T).T)   # Ly^{-1} (y_t - c)
    log_const = -float(np.sum(np.log(np.diag(arr.Ly)))) - 0.5 * m * np.log(TAU)
    return G, g, log_const


# ------------------------------------------------------------------------------------------------
# Generic bootstrap filter (NumPy)
# ------------------------------------------------------------------------------------------------
def _bootstrap_generic(model: StateSpaceModel, y, rng, I, scheme, ess_threshold, backend):
    resample_impl = resample_by_kernel if backend == "numba" else resample_numpy
    T = y.shape[0]
    xs, log_alpha = [], np.empty((T, I))
    ancestors = np.empty((T, I), dtype=np.int64)
    ess = np.empty(T)
    resampled = np.zeros(T, dtype=bool)
    log_Z_steps = np.empty(T)
    for t in range(T):
        if t == 0:
            x_t = _check_states(model.sample_initial(rng, I), I, "sample_initial")
            ancestors[0] = -1
            log_prior = np.full(I, -np.log(I))
        else:
            resampled[t] = ess_threshold >= 1.0 or ess[t - 1] < ess_threshold * I
            if resampled[t]:
                u = rng.random(1 if scheme == "systematic" else I)
                a_idx = resample_impl(np.exp(log_alpha[t - 1]), u, I, scheme)        # (Eq. 2.57)
                log_prior = np.full(I, -np.log(I))                                  # (Eq. 2.58)
            else:
                a_idx = np.arange(I)
                log_prior = log_alpha[t - 1]
            ancestors[t] = a_idx
            x_t = _check_states(model.sample_transition(rng, xs[t - 1][a_idx], t), I, "sample_transition",
                                xs[0].shape[1])
        xs.append(x_t)
        lw = log_prior + _check_loglik(model.log_lik(y[t], x_t, t), I)               # (Eq. 2.59)
        if not np.isfinite(lw).any():
            raise ValueError(f"every particle has likelihood zero at step t = {t}: the filter has collapsed "
                             "(use more particles or a wider observation model).")
        mx = np.max(lw)
        w = np.exp(lw - mx)
        s1 = np.sum(w)
        log_Z_steps[t] = mx + np.log(s1)
        log_alpha[t] = lw - log_Z_steps[t]
        ess[t] = s1 * s1 / np.sum(w * w)
    return np.stack(xs), log_alpha, ancestors, ess, resampled, log_Z_steps


def particle_filter(model, y, rng, I: int, *, u=None, ess_threshold: float = 1.0, scheme: str = "systematic",
                    backend: str = "auto") -> ParticleFilterResult:
    r"""Bootstrap particle filter (Eqs. 2.56, 2.57, 2.58 and 2.59), with optional ESS-triggered resampling.

    .. math::
        \hat{\mathbf x}_t^{(i)} \sim \hat p(\mathbf x_t\mid\hat{\mathbf x}_{t-1}^{(a_t^i)}),\quad
        a_t^i\sim\mathrm{Categ}(\boldsymbol\alpha_{t-1}),\qquad
        \alpha_t^{(j)} = \frac{\hat p(\mathbf y_t\mid\hat{\mathbf x}_t^{(j)})}
                              {\sum_i\hat p(\mathbf y_t\mid\hat{\mathbf x}_t^{(i)})}.

    Parameters
    ----------
    model : LGSSMParams or StateSpaceModel
        The linear-Gaussian SSM of Section 2.2.2 (fast kernels) or vectorized callables (NumPy loop).
    y : array_like, shape (T, m) (or (T,) for a generic model with scalar observations)
        Observations :math:`\mathbf y_1,\dots,\mathbf y_T`.
    rng : numpy.random.Generator
    I : int
        Number of particles, at least 1.
    u : array_like, shape (T - 1, n_u), optional
        Controls of the LGSSM (as in :func:`pedagogy_lib.lgssm.kalman.kalman_filter`): row ``t - 1`` drives the
        transition into row ``t``.
    ess_threshold : float in [0, 1]
        Resample before step ``t`` when the ESS of :math:`\boldsymbol\alpha_{t-1}` is below
        ``ess_threshold * I``; 1 (the book's filter) resamples at every step, 0 never.
    scheme : {"systematic", "stratified", "multinomial"}
        Resampling scheme (:mod:`pedagogy_lib.smc.resampling`); the book's Eq. 2.57 is "multinomial".
    backend : {"auto", "numba", "numpy"}
        Kernel or NumPy twin for the LGSSM; for a generic model, only the resampling step. ``"auto"`` runs
        the twin while compiling would cost more than it saves (:func:`pedagogy_lib.core.jit.prefer_compiled`).

    Returns
    -------
    ParticleFilterResult

    Raises
    ------
    ValueError, TypeError
        For invalid arguments (naming them), and when the weights of an LGSSM run stop being finite
        (every particle has likelihood zero, or the states overflow).
    """
    kind = _check_model_kind(model)
    y = _check_y(y)
    rng = check_rng(rng)
    I = check_int(I, "I", minimum=1)
    thr = _check_threshold(ess_threshold)
    scheme = check_choice(scheme, "scheme", SCHEMES)
    T = y.shape[0]
    if kind == "generic":
        out = _bootstrap_generic(model, y, rng, I, scheme, thr, check_backend(backend))
    else:
        arr = _check_lgssm(model, T, u)
        m, n = arr.C.shape
        backend = check_backend(backend, BOOTSTRAP_KERNELS[scheme], T=T, I=I, n=n, m=m)
        if y.ndim != 2 or y.shape[1] != m:
            raise ValueError(f"y must have shape (T, m) with m = {m} (rows of C); got {y.shape}.")
        G, g, log_const = _emission_whitened(arr, y)
        whitened = kernels.WhitenedLGSSM(arr.mu1, arr.L1, arr.A, arr.drift, arr.Lx, G, g, log_const)
        eps = rng.standard_normal((T, I, n))                      # all randomness drawn here, up front;
        U = rng.random((T, 1 if scheme == "systematic" else I))   # the kernel turns eps into the particles
        try:
            with np.errstate(all="ignore"):
                if backend == "numba":
                    out = kernels.FilterOutput(eps, np.empty((T, I)), np.empty((T, I), dtype=np.int64), np.empty(T),
                                               np.zeros(T, dtype=bool), np.empty(T))
                    BOOTSTRAP_KERNELS[scheme](whitened, U, thr, out)
                else:
                    out = _bootstrap_lgssm_numpy(whitened, eps, U, scheme, thr)
        except ZeroDivisionError:
            out = None
        if out is None or not np.all(np.isfinite(out[5])):
            raise ValueError("the particle weights are not finite at some step (every particle has likelihood zero, "
                             "or the states overflowed): y is out of reach of the model's particles, or the model "
                             "(A, Sigma_x, C, Sigma_y_x) is far out of scale. Check the model and the observations.")
    x, log_alpha, ancestors, ess, resampled, log_Z_steps = out
    return ParticleFilterResult(x, log_alpha, ancestors, ess, resampled, log_Z_steps, float(np.sum(log_Z_steps)))


# ------------------------------------------------------------------------------------------------
# FFBSm (Eqs. 2.60-2.61): NumPy twin of the kernel (kernels.ffbsm_lgssm), generic version
# ------------------------------------------------------------------------------------------------
def _whiten_lgssm_step_numpy(x_next, x_prev, A, drift_t, Lx_inv, log_alpha_prev):
    """NumPy twin of :func:`~pedagogy_lib.smc.kernels.whiten_transition_step`: z_k = Lx^{-1} x_t^(k),
    m_j = Lx^{-1}(A x_{t-1}^(j) + drift_t), c_j = log alpha_{t-1}^(j) - |m_j|^2/2."""
    z = x_next @ Lx_inv.T
    mm = (x_prev @ A.T + drift_t) @ Lx_inv.T
    cj = log_alpha_prev - 0.5 * np.sum(mm * mm, axis=1)
    return z, mm, cj


def _backward_step_from_logits(L, beta_t):
    """Eq. 2.61 given ``L[k, j] = log alpha_{t-1}^(j) + log p(x_t^(k) | x_{t-1}^(j))`` (+ any k-only constant)."""
    L = L - np.max(L, axis=1, keepdims=True)
    E = np.exp(L)                                             # alpha_{t-1}^(j) p(x_t^(k)|x_{t-1}^(j)), scaled per k
    S = np.sum(E, axis=1)                                     # Eq. 2.60 denominators (same scaling)
    beta_prev = (beta_t / S) @ E                              # (Eq. 2.61)
    return beta_prev / np.sum(beta_prev)


def _ffbsm_lgssm_numpy(x, log_alpha, beta_T, A, drift, Lx_inv):
    """NumPy twin of :func:`~pedagogy_lib.smc.kernels.ffbsm_lgssm`: the I x I logits as one rank-(n + 1)
    matrix product [z_k, 1] . [m_j, c_j], then one exp."""
    T, I, n = x.shape
    beta = np.empty((T, I))
    beta[T - 1] = beta_T                                      # beta_T = alpha_T
    for t in range(T - 1, 0, -1):
        z, mm, cj = _whiten_lgssm_step_numpy(x[t], x[t - 1], A, drift[t], Lx_inv, log_alpha[t - 1])
        Z = np.hstack([z, np.ones((I, 1))])
        Mj = np.hstack([mm, cj[:, None]])
        beta[t - 1] = _backward_step_from_logits(Z @ Mj.T, beta[t])
    return beta


def _ffbsm_generic(model: StateSpaceModel, x, log_alpha):
    T, I, _ = x.shape
    beta = np.empty((T, I))
    beta[T - 1] = np.exp(log_alpha[T - 1])
    for t in range(T - 1, 0, -1):
        log_P = _check_transition(model.log_transition(x[t], x[t - 1], t), I, I)
        beta[t - 1] = _backward_step_from_logits(log_P + log_alpha[t - 1], beta[t])
    return beta


def _check_transition(log_P, K: int, I: int) -> np.ndarray:
    log_P = np.asarray(log_P, dtype=np.float64)
    if log_P.shape != (K, I):
        raise ValueError(f"log_transition must return an array of shape (K, I) = ({K}, {I}); got {log_P.shape}.")
    if np.isnan(log_P).any() or np.isposinf(log_P).any():
        raise ValueError("log_transition returned NaN or +inf.")
    return log_P


def _smoother_setup(model, pf, u):
    kind = _check_model_kind(model)
    x, log_alpha = _check_filter_result(pf)
    T, I, n = x.shape
    if kind == "generic":
        if model.log_transition is None:
            raise ValueError("model.log_transition is None: the smoother needs the transition density "
                             "log p(x_t | x_{t-1}) (Eq. 2.60).")
        return kind, x, log_alpha, None
    arr = _check_lgssm(model, T, u)
    if arr.A.shape[0] != n:
        raise ValueError(f"pf.x has state dimension n = {n} but the model has n = {arr.A.shape[0]}.")
    return kind, x, log_alpha, arr


def ffbsm(model, pf: ParticleFilterResult, *, u=None, backend: str = "auto") -> np.ndarray:
    r"""Smoothing weights :math:`\boldsymbol\beta_t` on the filter's particles (Eqs. 2.60-2.61): FFBSm.

    .. math::
        \beta_{t-1}^{(j)} = \sum_{k=1}^I\beta_t^{(k)}
            \frac{\alpha_{t-1}^{(j)}\hat p(\hat{\mathbf x}_t^{(k)}\mid\hat{\mathbf x}_{t-1}^{(j)})}
                 {\sum_{i=1}^I\alpha_{t-1}^{(i)}\hat p(\hat{\mathbf x}_t^{(k)}\mid\hat{\mathbf x}_{t-1}^{(i)})},
        \qquad\boldsymbol\beta_T=\boldsymbol\alpha_T.

    This is the HMM's backward step (Section 2.2.1) with the "transition matrix"
    :math:`M_{kj} = \hat p(\hat{\mathbf x}_t^{(k)}\mid\hat{\mathbf x}_{t-1}^{(j)})`; it costs
    :math:`O(I^2)` per step and never looks at the observations again.

    Parameters
    ----------
    model : LGSSMParams or StateSpaceModel
        The model given to :func:`particle_filter`; a generic model needs ``log_transition``.
    pf : ParticleFilterResult
    u : array_like, shape (T - 1, n_u), optional
        The LGSSM controls used by the filter.
    backend : {"numba", "numpy"}
        For the LGSSM: the kernel (a tight loop) or the NumPy twin (the :math:`I\times I` log densities
        as one rank-:math:`(n+1)` matrix product of whitened coordinates, then one ``exp``); ``"auto"``
        runs the twin while compiling would cost more than it saves (:func:`pedagogy_lib.core.jit.prefer_compiled`).
        Ignored for a generic model (NumPy).

    Returns
    -------
    beta : ndarray, shape (T, I)
        Normalized smoothing weights; ``beta[-1] == exp(pf.log_alpha[-1])``.
    """
    kind, x, log_alpha, arr = _smoother_setup(model, pf, u)
    if kind == "generic":
        check_backend(backend)
        return _ffbsm_generic(model, x, log_alpha)
    T, I = log_alpha.shape
    backend = check_backend(backend, kernels.ffbsm_lgssm, T=T, I=I)
    impl = kernels.ffbsm_lgssm if backend == "numba" else _ffbsm_lgssm_numpy
    return impl(x, log_alpha, np.exp(log_alpha[-1]), arr.A, arr.drift, arr.Lx_inv)


# ------------------------------------------------------------------------------------------------
# Backward simulation (draws from the backward kernel of Eq. 2.60)
# ------------------------------------------------------------------------------------------------
def _backward_simulation_from_logits_numpy(L, U_row):
    """One backward draw per row of ``L`` (logits over the previous particles), by inverse CDF."""
    E = np.exp(L - np.max(L, axis=1, keepdims=True))
    c = np.cumsum(E, axis=1)
    target = U_row * c[:, -1]
    out = np.sum(c <= target[:, None], axis=1)               # first j with target < c_j
    return np.minimum(out, L.shape[1] - 1)


def _backward_simulation_lgssm_numpy(x, log_alpha, A, drift, Lx_inv, U):
    """NumPy twin of :func:`~pedagogy_lib.smc.kernels.backward_simulation_lgssm`, vectorized over trajectories."""
    T, I, n = x.shape
    M = U.shape[1]
    idx = np.empty((M, T), dtype=np.int64)
    idx[:, T - 1] = _backward_simulation_from_logits_numpy(np.tile(log_alpha[T - 1], (M, 1)), U[T - 1])
    for t in range(T - 1, 0, -1):
        z, mm, cj = _whiten_lgssm_step_numpy(x[t], x[t - 1], A, drift[t], Lx_inv, log_alpha[t - 1])
        L = z[idx[:, t]] @ mm.T + cj                          # (M, I) logits of Eq. 2.60
        idx[:, t - 1] = _backward_simulation_from_logits_numpy(L, U[t - 1])
    return idx


def _backward_simulation_generic(model, x, log_alpha, U):
    T, I, _ = x.shape
    M = U.shape[1]
    idx = np.empty((M, T), dtype=np.int64)
    idx[:, T - 1] = _backward_simulation_from_logits_numpy(np.tile(log_alpha[T - 1], (M, 1)), U[T - 1])
    for t in range(T - 1, 0, -1):
        log_P = _check_transition(model.log_transition(x[t][idx[:, t]], x[t - 1], t), M, I)
        idx[:, t - 1] = _backward_simulation_from_logits_numpy(log_P + log_alpha[t - 1], U[t - 1])
    return idx


def backward_simulation(model, pf: ParticleFilterResult, rng, M: int, *, u=None,
                        backend: str = "auto") -> BackwardSimulationResult:
    r"""Draw ``M`` smoothed trajectories by backward simulation through the filter's particles.

    Start from :math:`b_T\sim\mathrm{Categ}(\boldsymbol\alpha_T)`, then, going backwards, draw
    :math:`b_{t-1}` from the future-conditioned categorical distribution of Eq. 2.60,

    .. math::
        P(b_{t-1} = j\mid b_t) =
            \frac{\alpha_{t-1}^{(j)}\hat p(\hat{\mathbf x}_t^{(b_t)}\mid\hat{\mathbf x}_{t-1}^{(j)})}
            {\sum_i\alpha_{t-1}^{(i)}\hat p(\hat{\mathbf x}_t^{(b_t)}\mid\hat{\mathbf x}_{t-1}^{(i)})}.

    This is the "inversion on Fig. 2.6C" of Section 2.2 (a posterior over whole sequences) done by
    sampling; the marginal frequencies of :math:`b_t` have expectation :math:`\boldsymbol\beta_t` (compare Eq. 2.61).
    Cost :math:`O(MIT)`.

    Parameters
    ----------
    model : LGSSMParams or StateSpaceModel
    pf : ParticleFilterResult
    rng : numpy.random.Generator
    M : int
        Number of trajectories.
    u : array_like, shape (T - 1, n_u), optional
    backend : {"auto", "numba", "numpy"}
        As in :func:`ffbsm`.

    Returns
    -------
    BackwardSimulationResult
    """
    rng = check_rng(rng)
    M = check_int(M, "M", minimum=1)
    kind, x, log_alpha, arr = _smoother_setup(model, pf, u)
    T, I = log_alpha.shape
    backend = check_backend(backend) if kind == "generic" else \
        check_backend(backend, kernels.backward_simulation_lgssm, T=T, M=M, I=I)
    U = rng.random((T, M))
    if kind == "generic":
        idx = _backward_simulation_generic(model, x, log_alpha, U)
    else:
        impl = kernels.backward_simulation_lgssm if backend == "numba" else _backward_simulation_lgssm_numpy
        idx = impl(x, log_alpha, arr.A, arr.drift, arr.Lx_inv, U)
    traj = x[np.arange(T)[None, :], idx]
    return BackwardSimulationResult(idx, traj)

