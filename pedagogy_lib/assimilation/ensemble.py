r"""Ensemble Kalman filters: the Kalman update with the covariance estimated from an ensemble.

The ensemble is a set of :math:`N` equally weighted particles (Section 2.2.2, "Sampling-based
approaches") that are moved by the flow map, as in the particle filter, but updated by the
Kalman gain of Eq. 2.47 computed from their sample covariance
:math:`\boldsymbol\Upsilon^f = \tfrac{1}{N-1}\sum_i(\mathbf x^{(i)} - \bar{\mathbf x})(\mathbf x^{(i)} - \bar{\mathbf x})^T`
instead of by reweighting. Two analysis steps:

* **perturbed observations** (the stochastic EnKF): every member is updated with the gain and its
  own observation :math:`\mathbf y_t + \boldsymbol\varepsilon^{(i)}`,
  :math:`\boldsymbol\varepsilon^{(i)}\sim\mathcal N(\mathbf 0, \boldsymbol\Sigma_{\hat y|\hat x})`,
  so the analysis ensemble has the right covariance on average;
* **ETKF** (a deterministic square-root filter): the mean gets the Kalman update and the anomalies
  are multiplied by the symmetric square root of the analysis covariance in ensemble space,
  :math:`\mathbf T = (\mathbf I_N + \mathbf S\mathbf S^T)^{-1/2}`, with
  :math:`\mathbf S` the anomalies seen through :math:`\boldsymbol\Sigma_{\hat y|\hat x}^{-1/2}\mathbf C`,
  so its mean and covariance are exactly the Kalman filter's whenever the forecast ensemble's are.

Both inflate the forecast anomalies by a factor (multiplicative inflation) and can localize:
the perturbed-observation filter tapers the forecast covariance elementwise (a Schur product),
the ETKF does a separate analysis for each state variable with the observations' precisions
tapered by distance (the local ETKF). Random numbers are drawn by NumPy up front and passed to the
kernels. The whole run (forecasts, inflation, analyses) is one compiled driver per algorithm
(:func:`~pedagogy_lib.assimilation.kernels.run_perturbed`, ``run_perturbed_localized``, ``run_etkf``,
``run_letkf``), built from shared pieces; :func:`enkf` picks the driver, and its NumPy twin
:func:`enkf_run_numpy` takes the analysis step as a function.
"""
from __future__ import annotations

import numpy as np

from ..core.checks import as_array, as_scalar, check_backend, check_choice, check_int, check_rng, check_spd
from . import kernels
from .kernels import Noise, ObsModel, Outputs
from .lorenz import cycle_forward_numpy, twin_seconds
from .model import DAModel, check_model, check_observations, check_truth, make_result, psd_sqrt

__all__ = ["enkf", "exact_ensemble", "METHODS"]

#: The analysis steps of :func:`enkf`; each has its own driver kernel, with and without localization.
METHODS = ("perturbed", "etkf")


def exact_ensemble(mean, cov, n_members: int, *, rng) -> np.ndarray:
    r"""An ensemble (N, n) whose sample mean and sample covariance (``N - 1``) equal ``mean`` and ``cov`` exactly.

    Needs ``N >= n + 1``: standard normal draws are centred, whitened to identity sample
    covariance and coloured by a Cholesky factor of ``cov``.

    Raises
    ------
    ValueError
        If ``mean`` is empty or not finite, ``cov`` has the wrong shape or is not symmetric positive
        definite, or ``n_members < n + 1``.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    """
    rng = check_rng(rng)
    mean = as_array(mean, "mean", ndim=1, dims="(n,)", nonempty=True)
    n = mean.shape[0]
    cov = as_array(cov, "cov", shape=(n, n), dims="(n, n)")
    L_cov = check_spd(cov, "cov")
    N = check_int(n_members, "n_members", minimum=n + 1)
    Z = rng.standard_normal((N, n))
    Z -= Z.mean(axis=0)
    Lz = np.linalg.cholesky(Z.T @ Z / (N - 1))
    Z = np.linalg.solve(Lz, Z.T).T                 # sample covariance is now the identity
    return mean + Z @ L_cov.T


# ------------------------------------------------------------------------------------------------
# NumPy twins
# ------------------------------------------------------------------------------------------------

def po_analysis_numpy(E, y_t, C, c, R, pert, L):
    """Perturbed-observation analysis (``L`` is None without localization).

    Without localization in ensemble space, as :func:`pedagogy_lib.assimilation.kernels.perturbed_update`:
    ``E + (D S^{-1} HA^T) A / (N - 1)`` with ``HA = A C^T`` and ``S = HA^T HA / (N - 1) + R``; with it
    the gain from the tapered covariance, as :func:`~pedagogy_lib.assimilation.kernels.perturbed_analysis_tapered`.
    """
    N = E.shape[0]
    xbar = E.mean(axis=0)
    Xa = E - xbar
    if L is None:
        HA = Xa @ C.T
        S = HA.T @ HA / (N - 1) + R
        D = y_t - c - C @ xbar + pert - HA
        return E + (np.linalg.solve(S, D.T).T @ HA.T) @ Xa / (N - 1)
    P = Xa.T @ Xa / (N - 1) * L
    PCt = P @ C.T
    K = np.linalg.solve(C @ PCt + R, PCt.T).T
    return E + (y_t + pert - E @ C.T - c) @ K.T


def _transform(S, d):
    """The weights ``(I + S S^T)^{-1} S d`` and the transform ``(I + S S^T)^{-1/2}`` from the singular
    values of ``S``: through ``I + S S^T`` itself, an eigenvalue 1 beside one of 1e20 (observation noise
    1e-20 of the spread) came out negative and the square root NaN."""
    U, sv, Vt = np.linalg.svd(S, full_matrices=False)
    hyp = np.hypot(1.0, sv)
    gain = sv / hyp / hyp                                  # sigma / (1 + sigma^2), without forming sigma^2
    return U @ (gain * (Vt @ d)), np.eye(S.shape[0]) + (U * (1.0 / hyp - 1.0)) @ U.T


def etkf_analysis_numpy(E, y_t, C, c, Wr):
    """Global ETKF analysis (twin of :func:`pedagogy_lib.assimilation.kernels.etkf_analysis`)."""
    N = E.shape[0]
    xbar = E.mean(axis=0)
    Xa = E - xbar
    sq = np.sqrt(N - 1.0)
    w, Tm = _transform(Xa @ C.T @ Wr.T / sq, Wr @ (y_t - C @ xbar - c))
    return xbar + Xa.T @ w / sq + Tm @ Xa


def letkf_analysis_numpy(E, y_t, C, c, r_std, rho):
    """Local ETKF, one state variable at a time (twin of :func:`pedagogy_lib.assimilation.kernels.letkf_analysis`)."""
    N, n = E.shape
    xbar = E.mean(axis=0)
    Xa = E - xbar
    sq = np.sqrt(N - 1.0)
    S0 = Xa @ C.T / sq / r_std
    d0 = (y_t - C @ xbar - c) / r_std
    out = np.empty_like(E)
    for j in range(n):
        s = np.sqrt(rho[j])
        w, Tm = _transform(S0 * s, d0 * s)
        out[:, j] = xbar[j] + Xa[:, j] @ w / sq + Tm @ Xa[:, j]
    return out


def enkf_run_numpy(flow, E0, y, noise, inflation, analysis):
    """Twin of the driver kernels (:func:`pedagogy_lib.assimilation.kernels.run_perturbed` and the
    others): forecast, inflate, then ``analysis(E, t)``, the analysis step of cycle ``t``, for every
    cycle; returns ``(ensembles, forecast means)``."""
    kind, theta, dt, n_steps = flow
    T = y.shape[0]
    E = E0.copy()
    ens, fmean = np.empty((T,) + E.shape), np.empty((T, E.shape[1]))
    for t in range(T):
        if t > 0:
            E = cycle_forward_numpy(kind, theta, dt, n_steps, E)[0]
            if noise.add_noise:
                E = E + noise.eta[t]
        xbar = E.mean(axis=0)
        fmean[t] = xbar
        E = xbar + inflation * (E - xbar)
        E = analysis(E, t)
        ens[t] = E
    return ens, fmean


def _analysis_numpy(method, y, obs, Z, L, rho):
    """The analysis step ``(E, t) -> E`` of the NumPy twin for ``method`` (local when ``L`` is given)."""
    C, c, R, _, Wr, r_std, LrT, r_diag = obs
    if method == "perturbed":
        def analysis(E, t):
            pert = Z[t] * r_std if r_diag else Z[t] @ LrT
            return po_analysis_numpy(E, y[t], C, c, R, pert, L)
    elif L is not None:
        def analysis(E, t):
            return letkf_analysis_numpy(E, y[t], C, c, r_std, rho)
    else:
        def analysis(E, t):
            return etkf_analysis_numpy(E, y[t], C, c, Wr)
    return analysis


def _driver(method, L):
    """The driver kernel of ``method`` (local when ``L`` is given)."""
    if method == "perturbed":
        return kernels.run_perturbed if L is None else kernels.run_perturbed_localized
    return kernels.run_etkf if L is None else kernels.run_letkf


def _twin_seconds(dyn, T: int, N: int, m: int, local: bool) -> float:
    """What the NumPy twin of :func:`enkf` costs, estimated from the sizes (the forecasts, then about 0.1 ms
    per analysis plus its dense algebra, or 20 us per site and its own algebra when local): the work
    ``backend="auto"`` weighs against compiling (:func:`pedagogy_lib.core.jit.prefer_compiled`)."""
    n = dyn.n
    analysis = n * (2e-5 + 5e-8 * N ** 2) if local else 1e-4 + 4e-9 * N ** 3 + 2e-9 * N * n * m
    return twin_seconds(dyn, T, N) + T * analysis


def _run_compiled(method, args, L, rho, out) -> bool:
    """The driver kernel of ``method`` (local when ``L`` is given) on ``args = (flow, E0, y, obs,
    noise, inflation)``; False if it stopped at an innovation covariance that is not positive definite."""
    if method == "perturbed":
        if L is None:
            return kernels.run_perturbed(*args, out)
        return kernels.run_perturbed_localized(*args, L, out)
    if L is None:
        return kernels.run_etkf(*args, out)
    return kernels.run_letkf(*args, rho, out)


# ------------------------------------------------------------------------------------------------
# Public function
# ------------------------------------------------------------------------------------------------

def _check_localization(localization, n, m, C, Sigma_y_x, method):
    """``(L, rho)``: the taper between state variables and the state-observation taper, or ``(None, None)``."""
    if localization is None:
        return None, None
    L = as_array(localization, "localization", shape=(n, n), dims="(n, n)")
    if L.min() < 0 or L.max() > 1 or not np.allclose(L, L.T) or not np.allclose(np.diag(L), 1.0):
        raise ValueError("localization must be a symmetric (n, n) taper with entries in [0, 1] and ones on "
                         f"the diagonal; got entries in [{L.min():.3g}, {L.max():.3g}].")
    if method == "etkf" and np.any(Sigma_y_x != np.diag(np.diag(Sigma_y_x))):
        raise ValueError("Sigma_y_x must be diagonal for the local ETKF (localization tapers each "
                         "observation's precision); got off-diagonal entries.")
    absC = np.abs(C)
    rho = (L @ absC.T) / np.maximum(absC.sum(axis=1), 1e-300)       # (n, m) state-observation taper
    return L, np.ascontiguousarray(np.clip(rho, 0.0, 1.0))


def enkf(model: DAModel, y, *, n_members: int, rng, method: str = "etkf", inflation=1.0, localization=None,
         initial_ensemble=None, truth=None, backend: str = "auto"):
    r"""Ensemble Kalman filter, perturbed-observation or ETKF, with inflation and localization.

    Parameters
    ----------
    model : DAModel
        Dynamics, prior, model-error and observation covariances (``Sigma_x`` may be zero).
    y : array_like, shape (T, m)
        Observations; row ``t`` observes cycle ``t`` (the first row the initial state).
    n_members : int
        Ensemble size :math:`N` (at least 2).
    rng : numpy.random.Generator
        Draws the initial ensemble (unless given), the model noise and the observation perturbations.
    method : {"etkf", "perturbed"}
    inflation : float
        Multiplicative inflation :math:`\lambda > 0`: forecast anomalies are multiplied by
        :math:`\lambda` (the covariance by :math:`\lambda^2`) before each analysis.
    localization : array_like, shape (n, n), optional
        A taper between state variables (e.g. :func:`~pedagogy_lib.assimilation.model.periodic_taper`).
        The perturbed-observation filter multiplies the forecast covariance by it elementwise; the
        ETKF becomes the local ETKF, whose taper between state ``j`` and observation ``k`` is the
        taper averaged over the variables that observation ``k`` reads (``|C|``-weighted), and
        which needs a diagonal ``Sigma_y_x``.
    initial_ensemble : array_like, shape (N, n), optional
        The ensemble before the first analysis; drawn from :math:`\mathcal N(\boldsymbol\mu_1, \boldsymbol\Sigma_1)` otherwise.
    truth : array_like, shape (T, n), optional
        True states, for the RMSE.
    backend : {"auto", "numba", "numpy"}
        The compiled driver or the NumPy twin; ``"auto"`` runs the twin while compiling would cost more than it saves
        (:func:`pedagogy_lib.core.jit.prefer_compiled`).

    Returns
    -------
    AssimilationResult
        Analysis means and ensembles, forecast means, RMSE and spread (``cov`` is None).
    """
    model, (n, m) = check_model(model)
    y = check_observations(y, m)
    T = y.shape[0]
    truth = check_truth(truth, T, n)
    rng = check_rng(rng)
    method = check_choice(method, "method", METHODS)
    N = check_int(n_members, "n_members", minimum=2)
    inflation = as_scalar(inflation, "inflation")
    if inflation <= 0:
        raise ValueError(f"inflation must be positive (a factor on the anomalies); got {inflation}.")
    L, rho = _check_localization(localization, n, m, model.C, model.Sigma_y_x, method)
    backend = check_backend(backend, _driver(method, L), _twin_seconds(model.dynamics, T, N, m, L is not None))
    if initial_ensemble is None:
        E0 = model.mu1 + rng.standard_normal((N, n)) @ np.linalg.cholesky(model.Sigma1).T
    else:
        E0 = as_array(initial_ensemble, "initial_ensemble", shape=(N, n), dims="(N, n)")
    add_noise = bool(np.any(model.Sigma_x))
    eta = (rng.standard_normal((T, N, n)) @ psd_sqrt(model.Sigma_x).T) if add_noise else np.zeros((1, 1, 1))
    R = model.Sigma_y_x
    Z = rng.standard_normal((T, N, m)) if method == "perturbed" else np.zeros((1, 1, 1))
    Lr = np.linalg.cholesky(R)
    r_std = np.sqrt(np.diag(R)).copy()
    r_diag = not np.any(R - np.diag(np.diag(R)))
    obs = ObsModel(model.C, model.c, R, np.ascontiguousarray(model.C.T), np.ascontiguousarray(np.linalg.inv(Lr)),
                   r_std, np.ascontiguousarray(Lr.T), r_diag)
    flow, noise = model.dynamics.flow, Noise(eta, add_noise, Z)
    spread = None
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            if backend == "numba":
                out = Outputs(np.empty((T, N, n)), np.empty((T, n)), np.empty((T, n)), np.empty(T))
                ens, fmean, mean, spread = out
                if not _run_compiled(method, (flow, E0, y, obs, noise, inflation), L, rho, out):
                    ens = None
            else:
                ens, fmean = enkf_run_numpy(flow, E0, y, noise, inflation, _analysis_numpy(method, y, obs, Z, L, rho))
                mean = ens.mean(axis=1)
    except np.linalg.LinAlgError:
        ens = None
    # a NaN or an infinity in any member makes the mean over members non-finite: checking the means suffices
    if ens is None or not (np.all(np.isfinite(mean)) and np.all(np.isfinite(fmean))):
        raise ValueError("the ensemble overflowed float64 (an analysis met infinite or NaN values): the model "
                         "(its dynamics, Sigma1, Sigma_x, C, Sigma_y_x) or y is too far out of scale; rescale it.")
    name = "EnKF (perturbed observations)" if method == "perturbed" else ("ETKF" if L is None else "LETKF")
    return make_result(name, mean, None, ens, fmean, truth, spread=spread)

