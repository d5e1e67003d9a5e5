r"""Approximate-model filters: the extended and unscented Kalman filters (the 4DVar notes'
"Non-linear flow map: approximate model" section), built on the measurement update of Eq. 2.47.

Both keep the Gaussian form of the Kalman filter (Section 2.2.2, Eqs. 2.45-2.49) and replace only
the time update, which for a nonlinear :math:`\mathcal M` has no closed form:

* the **EKF** linearizes: :math:`\bar{\mathbf x}_{t|t-1} = \mathcal M(\bar{\mathbf x}_{t-1|t-1})`,
  :math:`\boldsymbol\Upsilon_{t|t-1} = \mathbf M\boldsymbol\Upsilon_{t-1|t-1}\mathbf M^T + \boldsymbol\Sigma_{\hat x}`
  with :math:`\mathbf M` the tangent-linear model at the previous mean;
* the **UKF** pushes ``2n + 1`` sigma points through :math:`\mathcal M` and matches moments
  (the unscented transform with the scaled weights of Wan and van der Merwe). Where the points sit
  closer to the mean than float64 resolves around it (a spread below about 1e-8 of the mean's size,
  as after near-exact observations), the transform equals the linearization to that accuracy and the
  tangent-linear model forecasts instead.

Observations are linear (:math:`\mathbf C\mathbf x + \mathbf c`), so the measurement update is
exact for both, and the unscented transform of :math:`\mathbf C\mathbf x + \mathbf c` reproduces its
moments exactly: both filters share one update, in a square-root form that holds for observation
noise from 1e-300 to 1e300 of the prior spread. On a linear model both equal the Kalman filter to
rounding.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from ..core.checks import as_array, as_scalar, check_backend, check_spd
from . import kernels
from .lorenz import cycle_jacobian, propagate, twin_seconds
from .model import DAModel, check_model, check_observations, check_truth, make_result

__all__ = ["ekf", "ukf", "sigma_points"]


def _kalman_update(mean, cov, y_t, C, c, Sigma_y_x):
    r"""The measurement update (Eq. 2.47): ``(mean, cov)`` of :math:`p(\mathbf x_t\mid\mathbf y_{1:t})`.

    .. math::
        \mathbf K = \boldsymbol\Upsilon\mathbf C^T(\mathbf C\boldsymbol\Upsilon\mathbf C^T + \boldsymbol\Sigma_{\hat y|\hat x})^{-1},\quad
        \bar{\mathbf x} \leftarrow \bar{\mathbf x} + \mathbf K(\mathbf y_t - \mathbf C\bar{\mathbf x} - \mathbf c),\quad
        \boldsymbol\Upsilon \leftarrow \boldsymbol\Upsilon - \mathbf K\mathbf C\boldsymbol\Upsilon.

    Computed in square-root information form, so that no ratio of the observation noise to the prior
    spread spoils it: :math:`\boldsymbol\Upsilon - \mathbf K\mathbf C\boldsymbol\Upsilon` cancels to the
    rounding of :math:`\boldsymbol\Upsilon` once the noise is 1e-16 of it (and the covariance form then loses
    positive definiteness; a Joseph form cancels in :math:`\mathbf I - \mathbf K\mathbf C` the same way).
    With :math:`\mathbf L_\Upsilon\mathbf L_\Upsilon^T = \boldsymbol\Upsilon`, :math:`\mathbf L_R\mathbf L_R^T =
    \boldsymbol\Sigma_{\hat y|\hat x}` and :math:`\mathbf x = \bar{\mathbf x} + \mathbf L_\Upsilon\mathbf z`, the prior is
    :math:`\mathbf z\sim\mathcal N(\mathbf 0, \mathbf I)` and the whitened observation
    :math:`\mathbf L_R^{-1}(\mathbf y_t - \mathbf C\bar{\mathbf x} - \mathbf c) = \mathbf H\mathbf z + \text{unit noise}`,
    :math:`\mathbf H = \mathbf L_R^{-1}\mathbf C\mathbf L_\Upsilon`. A QR factorization
    :math:`[\mathbf H; \mathbf I] = \mathbf Q\mathbf R` gives the posterior precision of :math:`\mathbf z`,
    :math:`\mathbf I + \mathbf H^T\mathbf H = \mathbf R^T\mathbf R`, without forming it, so the posterior is
    :math:`\boldsymbol\Upsilon = \mathbf W\mathbf W^T` with :math:`\mathbf W = \mathbf L_\Upsilon\mathbf R^{-1}`
    (positive semi-definite by construction) and its mean the least-squares :math:`\mathbf z`. Equal to the
    formulas above in exact arithmetic; tested against the information form in 50-digit arithmetic for noise
    from 1e-300 to 1e300 of the prior.

    Inputs are trusted (the filters validate once).
    """
    n, m = mean.shape[0], y_t.shape[0]
    L_P = _cov_sqrt(cov)
    L_R = np.linalg.cholesky(Sigma_y_x)
    H = solve_triangular(L_R, C @ L_P, lower=True, check_finite=False)
    r = solve_triangular(L_R, y_t - C @ mean - c, lower=True, check_finite=False)
    Q, R = np.linalg.qr(np.vstack([H, np.eye(n)]))
    z = solve_triangular(R, Q[:m].T @ r, check_finite=False)
    W = solve_triangular(R, L_P.T, trans="T", check_finite=False).T       # L_P R^{-1}
    mean = mean + L_P @ z
    cov = W @ W.T
    return mean, 0.5 * (cov + cov.T)


def _check_step(name: str, t: int, mean, cov) -> None:
    """Raise a ``ValueError`` naming step ``t`` if the filter's moments are not finite (or a
    factorization failed, ``mean`` None): the model's scales exceed what float64 can carry."""
    if mean is None or not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        raise ValueError(f"{name} step t = {t}: the filter's covariance is no longer positive definite or finite in "
                         "float64; model.Sigma1, model.Sigma_x, model.C and model.Sigma_y_x must be on moderate, "
                         "comparable scales.")


def sigma_points(mean, cov, *, alpha=1.0, beta=2.0, kappa=0.0):
    r"""Sigma points and weights of the scaled unscented transform.

    With :math:`\lambda = \alpha^2(n + \kappa) - n` and :math:`\mathbf L\mathbf L^T = (n+\lambda)\boldsymbol\Upsilon`:
    points :math:`\bar{\mathbf x}` and :math:`\bar{\mathbf x}\pm\mathbf L_{:,i}`; mean weights
    :math:`\lambda/(n+\lambda)` and :math:`1/(2(n+\lambda))`; the covariance weight of the centre
    point adds :math:`1 - \alpha^2 + \beta`.

    Returns
    -------
    X : ndarray, shape (2n + 1, n)
    w_mean, w_cov : ndarray, shape (2n + 1,)

    Raises
    ------
    ValueError
        If ``mean`` is empty or not finite, ``cov`` has the wrong shape or is not symmetric positive
        definite, ``alpha <= 0`` or ``n + kappa <= 0``.
    """
    mean = as_array(mean, "mean", ndim=1, dims="(n,)", nonempty=True)
    n = mean.shape[0]
    cov = as_array(cov, "cov", shape=(n, n), dims="(n, n)")
    check_spd(cov, "cov")
    alpha, beta, kappa = _check_ut(alpha, beta, kappa, n)
    return _sigma_points(mean, cov, alpha, beta, kappa)


def _check_ut(alpha, beta, kappa, n):
    alpha, beta, kappa = as_scalar(alpha, "alpha"), as_scalar(beta, "beta"), as_scalar(kappa, "kappa")
    if alpha <= 0:
        raise ValueError(f"alpha must be positive; got {alpha}.")
    if n + kappa <= 0:
        raise ValueError(f"n + kappa must be positive (n = {n}); got kappa = {kappa}.")
    return alpha, beta, kappa


def _cov_sqrt(P):
    """``L`` with ``L L^T = P``: the Cholesky factor, or, where ``P`` is semidefinite and rounding left it
    indefinite (an observation 1e-16 of the spread or more precise makes a posterior variance of the
    order of the rounding of the others), the symmetric square root with the eigenvalues within that
    rounding of zero set to zero. A more negative eigenvalue re-raises the ``LinAlgError``."""
    try:
        return np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(P)
        if not w[0] >= -_ROUNDING_ULPS * P.shape[0] * _EPS * np.abs(w).max():
            raise
        return V * np.sqrt(np.clip(w, 0.0, None))


#: Machine epsilon, and the multiple of it (times the size and the largest eigenvalue) within which
#: a negative eigenvalue of a covariance is rounding.
_EPS = float(np.finfo(float).eps)
_ROUNDING_ULPS = 64.0


def _sigma_points(mean, cov, alpha, beta, kappa):
    n = mean.shape[0]
    lam = alpha ** 2 * (n + kappa) - n
    L = _cov_sqrt((n + lam) * cov)
    X = np.vstack([mean, mean + L.T, mean - L.T])
    w_mean = np.full(2 * n + 1, 0.5 / (n + lam))
    w_mean[0] = lam / (n + lam)
    w_cov = w_mean.copy()
    w_cov[0] += 1.0 - alpha ** 2 + beta
    return X, w_mean, w_cov


#: Largest rounding, relative to a sigma point's offset from the mean, at which the points still carry it.
_RESOLUTION = 1e-8


def _resolved(X, cov, n_lam) -> bool:
    """Whether the sigma points ``X`` (2n + 1, n) carry their offsets from the mean, the columns of a square
    root of ``n_lam * cov``: float64 rounds a point to about eps times its size, which must stay below
    ``_RESOLUTION`` of the offsets (the square root of the smallest nonzero variance of ``n_lam * cov``)."""
    w = np.linalg.eigvalsh(n_lam * cov)
    w = w[w > _ROUNDING_ULPS * cov.shape[0] * _EPS * max(float(w[-1]), 0.0)]
    if not w.size:
        return True
    return bool(_EPS * float(np.max(np.abs(X))) <= _RESOLUTION * float(np.sqrt(w[0])))


def ekf(model: DAModel, y, *, truth=None, backend: str = "auto"):
    r"""Extended Kalman filter: linearize the flow map about the current mean (tangent-linear model).

    Parameters
    ----------
    model : DAModel
    y : array_like, shape (T, m)
        Observations; row ``t`` observes the state at cycle ``t``.
    truth : array_like, shape (T, n), optional
        True states, for the RMSE.
    backend : {"auto", "numba", "numpy"}
        Which tangent-linear kernel to use; ``"auto"`` runs the twin while compiling would cost more than it saves
        (:func:`pedagogy_lib.core.jit.prefer_compiled`).

    Returns
    -------
    AssimilationResult
        Filter means and covariances, forecast means, RMSE and spread.

    Raises
    ------
    TypeError, ValueError
        If ``model``, ``y`` or ``truth`` is malformed, or at a step ``t`` the covariances stop being
        finite and positive definite in float64 (the message names the step).
    """
    model, (n, m) = check_model(model)
    y = check_observations(y, m)
    T = y.shape[0]
    truth = check_truth(truth, T, n)
    backend = check_backend(backend, kernels.cycle_tlm, twin_seconds(model.dynamics, T, n, tangent=True))
    mean, cov = model.mu1, model.Sigma1
    means, covs, fmeans = np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n))
    for t in range(T):
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                if t > 0:
                    mean, M = cycle_jacobian(model.dynamics, mean, backend=backend)
                    cov = M @ cov @ M.T + model.Sigma_x
                fmeans[t] = mean
                mean, cov = _kalman_update(mean, cov, y[t], model.C, model.c, model.Sigma_y_x)
        except np.linalg.LinAlgError:
            mean = None
        _check_step("EKF", t, mean, cov)
        means[t], covs[t] = mean, cov
    return make_result("EKF", means, covs, None, fmeans, truth)


def ukf(model: DAModel, y, *, alpha=1.0, beta=2.0, kappa=0.0, truth=None, backend: str = "auto"):
    r"""Unscented Kalman filter: propagate sigma points through the flow map and match moments.

    Parameters
    ----------
    model, y, truth, backend
        As in :func:`ekf`.
    alpha, beta, kappa : float
        Unscented-transform parameters (:func:`sigma_points`); ``alpha > 0`` and ``n + kappa > 0``.
        The default puts the points at :math:`\pm\sqrt n` standard deviations with no centre
        weight in the mean, and ``beta = 2`` is the choice for Gaussian priors.

    Returns
    -------
    AssimilationResult

    Raises
    ------
    TypeError, ValueError
        As :func:`ekf`, and if ``alpha``, ``beta`` or ``kappa`` is out of range.
    """
    model, (n, m) = check_model(model)
    y = check_observations(y, m)
    T = y.shape[0]
    truth = check_truth(truth, T, n)
    backend = check_backend(backend, kernels.propagate, twin_seconds(model.dynamics, T, 2 * n + 1))
    alpha, beta, kappa = _check_ut(alpha, beta, kappa, n)
    mean, cov = model.mu1, model.Sigma1
    means, covs, fmeans = np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n))
    for t in range(T):
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                mean, cov = _ukf_step(model, y, t, mean, cov, fmeans, alpha, beta, kappa, backend)
        except np.linalg.LinAlgError:
            mean = None
        _check_step("UKF", t, mean, cov)
        means[t], covs[t] = mean, cov
    return make_result("UKF", means, covs, None, fmeans, truth)


def _ukf_step(model, y, t, mean, cov, fmeans, alpha, beta, kappa, backend):
    """One forecast (for t > 0) and measurement update of the UKF; writes ``fmeans[t]``."""
    if t > 0:
        X, wm, wc = _sigma_points(mean, cov, alpha, beta, kappa)
        if _resolved(X, cov, alpha ** 2 * (mean.shape[0] + kappa)):     # n + lambda
            FX = propagate(model.dynamics, X, backend=backend)
            mean = wm @ FX
            D = FX - mean
            cov = (D * wc[:, None]).T @ D + model.Sigma_x
        else:
            # the sigma points sit closer to the mean than float64 resolves around it (a spread below about
            # 1e-8 of |mean|, as after near-exact observations of a perfect model): there the unscented
            # transform equals the linearization to 1e-8 or better, which the tangent-linear model gives
            # without the rounding of mean +- L
            mean, M = cycle_jacobian(model.dynamics, mean, backend=backend)
            cov = M @ cov @ M.T + model.Sigma_x
        cov = 0.5 * (cov + cov.T)
    fmeans[t] = mean
    # the measurement update: the unscented transform of the linear C x + c reproduces its moments exactly
    # (y_hat = C mean + c, P_yy = C cov C^T + Sigma_y_x, P_xy = cov C^T, whatever alpha, beta and kappa),
    # so the unscented update is Eq. 2.47 itself; it is computed as the EKF's, in square-root form, which
    # stays right where P_yy's gain formula cancels (observation noise 1e-16 of the spread or less)
    return _kalman_update(mean, cov, y[t], model.C, model.c, model.Sigma_y_x)
