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
kernels; the whole run (forecasts and analyses) is one numba kernel, with a NumPy twin.
"""
from __future__ import annotations

import numpy as np

from ..core.checks import as_array, as_scalar, check_backend, check_choice, check_int, check_rng, check_spd
from ..core.jit import njit
from .kernels import cycle_forward_with_work, l96_ensemble_cycle
from .lorenz import cycle_forward_numpy
from .model import DAModel, check_model, check_observations, check_truth, make_result, psd_sqrt

__all__ = ["enkf", "exact_ensemble", "METHODS"]

#: Analysis steps, in the order of their integer codes in the kernels.
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
# numba kernels
# ------------------------------------------------------------------------------------------------

@njit
def po_analysis_numba(E, y_t, C, c, R, pert, L, use_loc, out):
    """Perturbed-observation analysis of ensemble ``E`` (N, n) with perturbations ``pert`` (N, m)."""
    N, n = E.shape
    xbar = np.zeros(n)
    for r in range(N):
        xbar += E[r]
    xbar /= N
    Xa = E - xbar
    P = (Xa.T @ Xa) / (N - 1)
    if use_loc:
        P = P * L
    PCt = P @ C.T
    S = C @ PCt + R
    Kt = np.linalg.solve(S, PCt.T)                  # (m, n) = K^T
    D = np.empty((N, y_t.shape[0]))
    HE = E @ C.T
    for r in range(N):
        D[r] = y_t + pert[r] - HE[r] - c
    out[:] = E + D @ Kt


@njit
def etkf_analysis_numba(E, y_t, C, c, Wr, out):
    """Global ETKF analysis; ``Wr`` whitens the observation noise (``Wr R Wr^T = I``)."""
    N, n = E.shape
    xbar = np.zeros(n)
    for r in range(N):
        xbar += E[r]
    xbar /= N
    Xa = E - xbar
    sq = np.sqrt(N - 1.0)
    S = (Xa @ C.T) @ Wr.T / sq                     # (N, m)
    d = Wr @ (y_t - C @ xbar - c)
    G = S @ S.T
    for i in range(N):
        G[i, i] += 1.0
    g, U = np.linalg.eigh(G)
    w = U @ ((U.T @ (S @ d)) / g)
    xa = xbar + (Xa.T @ w) / sq
    Tm = (U / np.sqrt(g)) @ U.T
    out[:] = xa + Tm @ Xa


@njit
def letkf_analysis_numba(E, y_t, C, c, r_std, rho, out):
    """Local ETKF: one analysis per state variable ``j`` with observation precisions tapered by ``rho[j]``."""
    N, n = E.shape
    m = y_t.shape[0]
    xbar = np.zeros(n)
    for r in range(N):
        xbar += E[r]
    xbar /= N
    Xa = E - xbar
    sq = np.sqrt(N - 1.0)
    S0 = (Xa @ C.T) / sq
    d0 = y_t - C @ xbar - c
    for k in range(m):
        S0[:, k] /= r_std[k]
        d0[k] /= r_std[k]
    S = np.empty((N, m))
    d = np.empty(m)
    for j in range(n):
        for k in range(m):
            s = np.sqrt(rho[j, k])
            S[:, k] = S0[:, k] * s
            d[k] = d0[k] * s
        G = S @ S.T
        for i in range(N):
            G[i, i] += 1.0
        g, U = np.linalg.eigh(G)
        w = U @ ((U.T @ (S @ d)) / g)
        Tm = (U / np.sqrt(g)) @ U.T
        col = np.ascontiguousarray(Xa[:, j])
        xa = xbar[j] + (col @ w) / sq
        out[:, j] = xa + Tm @ col


@njit
def chol_solve_numba(S, B):
    """Solve ``S X = B`` in place of ``B`` (m, k) for a symmetric positive definite ``S`` (m, m).

    ``S = L L^T`` by LAPACK (``np.linalg.cholesky``), then ``L Z = B`` and ``L^T X = Z`` by
    substitution, one row of ``B`` at a time (the inner loops run along rows, unit stride).
    """
    L = np.linalg.cholesky(S)
    m, k = B.shape
    for j in range(m):                               # forward: L Z = B
        inv = 1.0 / L[j, j]
        Bj = B[j]
        for r in range(k):
            Bj[r] *= inv
        for i in range(j + 1, m):
            u = L[i, j]
            Bi = B[i]
            for r in range(k):
                Bi[r] -= u * Bj[r]
    for j in range(m - 1, -1, -1):                   # backward: L^T X = Z
        inv = 1.0 / L[j, j]
        Bj = B[j]
        for r in range(k):
            Bj[r] *= inv
        for i in range(j):
            u = L[j, i]
            Bi = B[i]
            for r in range(k):
                Bi[r] -= u * Bj[r]


@njit
def colour_numba(Z, obs, out):
    """Observation perturbations ``out = Z L_R^T`` (N, m) from standard normals ``Z`` (N, m)."""
    LrT, r_std, r_diag = obs[6], obs[5], obs[7]
    if r_diag:                                       # diagonal Sigma_y_x: L_R is the diagonal of r_std
        for r in range(Z.shape[0]):
            for k in range(Z.shape[1]):
                out[r, k] = Z[r, k] * r_std[k]
    else:
        np.dot(Z, LrT, out)


@njit
def po_update_numba(E, A, xbar, y_t, obs, Z, ws):
    """Perturbed-observation analysis without localization, in ensemble space and in place of ``E``.

    ``A`` (N, n) are the (inflated) anomalies of ``E`` about ``xbar``. With ``HA = A C^T`` and the
    innovation covariance ``S = HA^T HA / (N - 1) + R``, the gain is ``K^T = S^{-1} HA^T A / (N - 1)``,
    so ``E + D K^T = E + (D S^{-1} HA^T) A / (N - 1)``, with ``D = y + eps - C xbar - HA - c``
    the perturbed innovations (``E C^T = xbar C^T + HA``). One Cholesky solve with N right-hand sides
    and four small matrix products; ``ws = (HA, S, Dt, W, WA, P)`` are work arrays.
    """
    C, c, R, CT = obs[0], obs[1], obs[2], obs[3]
    HA, S, Dt, W, WA, P = ws
    N, n = E.shape
    m = y_t.shape[0]
    np.dot(A, CT, HA)
    np.dot(HA.T, HA, S)
    for i in range(m):
        for j in range(m):
            S[i, j] = S[i, j] / (N - 1) + R[i, j]
    colour_numba(Z, obs, P)
    for k in range(m):
        d0 = y_t[k] - c[k]
        for j in range(n):
            d0 -= C[k, j] * xbar[j]
        for r in range(N):
            Dt[k, r] = d0 + P[r, k] - HA[r, k]
    chol_solve_numba(S, Dt)                          # Dt = S^{-1} D^T  (m, N)
    np.dot(Dt.T, HA.T, W)                            # W = D S^{-1} HA^T  (N, N)
    np.dot(W, A, WA)
    for r in range(N):
        for j in range(n):
            E[r, j] += WA[r, j] / (N - 1)


@njit
def ensemble_stats_numba(E, mean_out, t, spread_out):
    """Analysis mean of ``E`` into ``mean_out[t]`` and its spread (root mean sample variance) into ``spread_out[t]``."""
    N, n = E.shape
    xbar = mean_out[t]
    xbar[:] = 0.0
    for r in range(N):
        for j in range(n):
            xbar[j] += E[r, j]
    for j in range(n):
        xbar[j] /= N
    v = np.zeros(n)
    for r in range(N):
        for j in range(n):
            d = E[r, j] - xbar[j]
            v[j] += d * d
    spread_out[t] = np.sqrt(np.sum(v / (N - 1)) / n)


@njit
def enkf_analysis_numba(E, A, xbar, t, y, obs, Z, method, loc, ws, Enew):
    """The analysis of cycle ``t`` in place of ``E`` (inflated, with anomalies ``A`` about ``xbar``)."""
    L, rho, use_loc = loc
    if method == 0 and not use_loc:
        po_update_numba(E, A, xbar, y[t], obs, Z[t], ws)
        return
    C, c, R, Wr, r_std = obs[0], obs[1], obs[2], obs[4], obs[5]
    if method == 0:
        P = ws[5]
        colour_numba(Z[t], obs, P)
        po_analysis_numba(E, y[t], C, c, R, P, L, use_loc, Enew)
    elif use_loc:
        letkf_analysis_numba(E, y[t], C, c, r_std, rho, Enew)
    else:
        etkf_analysis_numba(E, y[t], C, c, Wr, Enew)
    E[:] = Enew


@njit
def enkf_run_numba(dyn, E0, y, obs, noise, method, inflation, loc, ens_out, stats_out):
    """The whole filter: forecast every member (plus model noise), inflate, analyse.

    ``dyn = (kind, theta, dt, n_steps)``; ``obs = (C, c, R, C^T, Wr, r_std, L_R^T, R is diagonal)``;
    ``noise = (eta, add_noise, Z)`` with ``Z`` (T, N, m) the standard normals of the observation
    perturbations; ``loc = (L, rho, use_loc)``; ``stats_out = (forecast means, analysis means,
    spreads)``; the analysis ensembles go to ``ens_out`` (T, N, n).
    """
    kind, theta, dt, n_steps = dyn
    eta, add_noise, Z = noise
    fmean, amean, spread = stats_out
    T = y.shape[0]
    N, n = E0.shape
    m = y.shape[1]
    E = E0.copy()
    A, Enew = np.empty((N, n)), np.empty((N, n))
    stages, work, work_cols = np.empty((n_steps, 4, n)), np.empty((5, n)), np.empty((6, n, N))
    ws = (np.empty((N, m)), np.empty((m, m)), np.empty((m, N)), np.empty((N, N)), np.empty((N, n)), np.empty((N, m)))
    for t in range(T):
        if t > 0:
            if kind == 1:                            # Lorenz-96: all members at once, members in the inner loops
                l96_ensemble_cycle(theta[0], dt, n_steps, E, work_cols)
            for r in range(N):
                if kind != 1:
                    cycle_forward_with_work(kind, theta, dt, n_steps, E[r], stages, work, E[r])
                if add_noise:
                    E[r] += eta[t, r]
        xbar = fmean[t]
        xbar[:] = 0.0
        for r in range(N):
            xbar += E[r]
        xbar /= N
        for r in range(N):
            for j in range(n):
                A[r, j] = inflation * (E[r, j] - xbar[j])
                if inflation != 1.0:
                    E[r, j] = xbar[j] + A[r, j]
        enkf_analysis_numba(E, A, xbar, t, y, obs, Z, method, loc, ws, Enew)
        ens_out[t] = E
        ensemble_stats_numba(E, amean, t, spread)


# ------------------------------------------------------------------------------------------------
# NumPy twins
# ------------------------------------------------------------------------------------------------

def po_analysis_numpy(E, y_t, C, c, R, pert, L):
    """Perturbed-observation analysis (``L`` is None without localization).

    Without localization in ensemble space, as :func:`po_update_numba`:
    ``E + (D S^{-1} HA^T) A / (N - 1)`` with ``HA = A C^T`` and ``S = HA^T HA / (N - 1) + R``.
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
    g, U = np.linalg.eigh(np.eye(S.shape[0]) + S @ S.T)
    return U @ ((U.T @ (S @ d)) / g), (U / np.sqrt(g)) @ U.T


def etkf_analysis_numpy(E, y_t, C, c, Wr):
    """Global ETKF analysis."""
    N = E.shape[0]
    xbar = E.mean(axis=0)
    Xa = E - xbar
    sq = np.sqrt(N - 1.0)
    w, Tm = _transform(Xa @ C.T @ Wr.T / sq, Wr @ (y_t - C @ xbar - c))
    return xbar + Xa.T @ w / sq + Tm @ Xa


def letkf_analysis_numpy(E, y_t, C, c, r_std, rho):
    """Local ETKF, one state variable at a time."""
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


def enkf_run_numpy(dyn, E0, y, obs, noise, method, inflation, loc):
    """Twin of :func:`enkf_run_numba`; returns ``(ensembles, forecast means)``."""
    kind, theta, dt, n_steps = dyn
    C, c, R, _, Wr, r_std, LrT, r_diag = obs
    eta, add_noise, Z = noise
    L, rho, use_loc = loc
    T = y.shape[0]
    E = E0.copy()
    ens, fmean = np.empty((T,) + E.shape), np.empty((T, E.shape[1]))
    for t in range(T):
        if t > 0:
            E = cycle_forward_numpy(kind, theta, dt, n_steps, E)[0]
            if add_noise:
                E = E + eta[t]
        xbar = E.mean(axis=0)
        fmean[t] = xbar
        E = xbar + inflation * (E - xbar)
        if method == 0:
            pert = Z[t] * r_std if r_diag else Z[t] @ LrT
            E = po_analysis_numpy(E, y[t], C, c, R, pert, L if use_loc else None)
        elif use_loc:
            E = letkf_analysis_numpy(E, y[t], C, c, r_std, rho)
        else:
            E = etkf_analysis_numpy(E, y[t], C, c, Wr)
        ens[t] = E
    return ens, fmean


# ------------------------------------------------------------------------------------------------
# Public function
# ------------------------------------------------------------------------------------------------

def _check_localization(localization, n, m, C, Sigma_y_x, method):
    if localization is None:
        return np.zeros((1, 1)), np.zeros((1, 1)), False
    L = as_array(localization, "localization", shape=(n, n), dims="(n, n)")
    if L.min() < 0 or L.max() > 1 or not np.allclose(L, L.T) or not np.allclose(np.diag(L), 1.0):
        raise ValueError("localization must be a symmetric (n, n) taper with entries in [0, 1] and ones on "
                         f"the diagonal; got entries in [{L.min():.3g}, {L.max():.3g}].")
    if method == "etkf" and np.any(Sigma_y_x != np.diag(np.diag(Sigma_y_x))):
        raise ValueError("Sigma_y_x must be diagonal for the local ETKF (localization tapers each "
                         "observation's precision); got off-diagonal entries.")
    absC = np.abs(C)
    rho = (L @ absC.T) / np.maximum(absC.sum(axis=1), 1e-300)       # (n, m) state-observation taper
    return L, np.ascontiguousarray(np.clip(rho, 0.0, 1.0)), True


def enkf(model: DAModel, y, *, n_members: int, rng, method: str = "etkf", inflation=1.0, localization=None,
         initial_ensemble=None, truth=None, backend: str = "numba"):
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
    backend : {"numba", "numpy"}

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
    backend = check_backend(backend)
    N = check_int(n_members, "n_members", minimum=2)
    inflation = as_scalar(inflation, "inflation")
    if inflation <= 0:
        raise ValueError(f"inflation must be positive (a factor on the anomalies); got {inflation}.")
    L, rho, use_loc = _check_localization(localization, n, m, model.C, model.Sigma_y_x, method)
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
    obs = (model.C, model.c, R, np.ascontiguousarray(model.C.T), np.ascontiguousarray(np.linalg.inv(Lr)), r_std,
           np.ascontiguousarray(Lr.T), r_diag)
    dyn = model.dynamics
    args = ((dyn.code, dyn.theta, dyn.dt, dyn.n_steps), E0, y, obs, (eta, add_noise, Z), METHODS.index(method),
            inflation, (L, rho, use_loc))
    spread = None
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            if backend == "numba":
                ens, fmean, mean, spread = np.empty((T, N, n)), np.empty((T, n)), np.empty((T, n)), np.empty(T)
                enkf_run_numba(*args, ens, (fmean, mean, spread))
            else:
                ens, fmean = enkf_run_numpy(*args)
                mean = ens.mean(axis=1)
    except np.linalg.LinAlgError:
        ens = None
    # a NaN or an infinity in any member makes the mean over members non-finite: checking the means suffices
    if ens is None or not (np.all(np.isfinite(mean)) and np.all(np.isfinite(fmean))):
        raise ValueError("the ensemble overflowed float64 (an analysis met infinite or NaN values): the model "
                         "(its dynamics, Sigma1, Sigma_x, C, Sigma_y_x) or y is too far out of scale; rescale it.")
    name = "EnKF (perturbed observations)" if method == "perturbed" else ("LETKF" if use_loc else "ETKF")
    return make_result(name, mean, None, ens, fmean, truth, spread=spread)


def warmup_kernels() -> None:
    """Compile the kernels on tiny inputs."""
    from .lorenz import lorenz96
    n = 8
    mod = DAModel(lorenz96(n), 8.0 * np.ones(n), np.eye(n), np.zeros((n, n)), np.eye(n), np.zeros(n), np.eye(n))
    y = np.zeros((2, n))
    for method in METHODS:
        enkf(mod, y, n_members=3, rng=np.random.default_rng(0), method=method)
        enkf(mod, y, n_members=3, rng=np.random.default_rng(0), method=method, localization=np.eye(n))
