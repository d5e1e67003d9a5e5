r"""Contrastive predictive coding of a linear-Gaussian sequence (Section 10.1.2, variation (4)).

CPC scores a future observation :math:`\mathbf y_{t+s}` against a summary of the past with a bilinear
critic, :math:`h = f(\mathbf y_{t+s})^T\mathbf W f_{\text{RNN}}(\dots)`, and trains it by InfoNCE (Eq. 10.7).
Here the encoder is the identity and the summary a linear function of the last :math:`L`
observations, :math:`\mathbf z_t = (\mathbf y_t, \mathbf y_{t-1},\dots,\mathbf y_{t-L+1})`. For data from a
linear-Gaussian state-space model (Eq. 2.49 with zero offsets), :math:`(\mathbf y_{t+s},\mathbf z_t)` is
jointly Gaussian and the optimal critic is

.. math::
    \log\frac{p(\mathbf y_{t+s}\mid\mathbf z_t)}{p(\mathbf y_{t+s})}
    = \mathbf y^T\mathbf V^{-1}\boldsymbol\beta\mathbf z_t - \tfrac12\mathbf y^T(\mathbf V^{-1} - \mathbf V_0^{-1})\mathbf y + g(\mathbf z_t),

where :math:`\boldsymbol\beta\mathbf z_t = \mathbb E[\mathbf y_{t+s}\mid\mathbf z_t]` is the Kalman predictor from
a window of :math:`L` observations, :math:`\mathbf V` its error covariance and :math:`\mathbf V_0` the
marginal covariance of :math:`\mathbf y`. The critic's :math:`\mathbf W` should therefore learn
:math:`\boldsymbol\beta^T\mathbf V^{-1}`: the direction of the Kalman predictor, whose weights decay
geometrically into the past, as the draft's parenthesis says of linear dynamical systems.
:func:`kalman_window_predictor` gets :math:`\boldsymbol\beta` and :math:`\mathbf V` exactly from
:func:`pedagogy_lib.lgssm.kalman.kalman_filter` run on unit impulses (the filter is linear in the data).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import solve_discrete_lyapunov

from ..core.checks import as_array, check_int, check_spd
from ..lgssm.kalman import kalman_filter
from ..lgssm.model import MAX_MAGNITUDE, LGSSMParams, check_params
from .infonce import QuadraticCritic

__all__ = [
    "WindowPredictor",
    "stationary_params",
    "cpc_windows",
    "kalman_window_predictor",
    "check_window_predictor",
    "exact_cpc_critic",
    "subspace_cosine",
]


class WindowPredictor(NamedTuple):
    r"""The best linear predictor of :math:`\mathbf y_{t+s}` from the window :math:`\mathbf z_t`.

    Attributes
    ----------
    beta : ndarray, shape (m, L*m)
        :math:`\mathbb E[\mathbf y_{t+s}\mid\mathbf z_t] = \boldsymbol\beta\mathbf z_t + \mathbf b_0`; columns ordered as
        :func:`cpc_windows` orders the window (most recent observation first).
    intercept : ndarray, shape (m,)
        :math:`\mathbf b_0`, zero for a zero-mean model.
    V : ndarray, shape (m, m)
        Prediction error covariance.
    V0 : ndarray, shape (m, m)
        Marginal covariance of :math:`\mathbf y_{t+s}` (under the first state's prior, propagated).
    """

    beta: np.ndarray
    intercept: np.ndarray
    V: np.ndarray
    V0: np.ndarray


def stationary_params(A, Sigma_x, C, Sigma_y_x) -> LGSSMParams:
    r"""A zero-offset LGSSM started in its stationary distribution, :math:`\boldsymbol\Sigma_1 = \mathbf A\boldsymbol\Sigma_1\mathbf A^T + \boldsymbol\Sigma_{\hat x}`.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Stable: every eigenvalue inside the unit circle.
    Sigma_x : array_like, shape (n, n)
    C : array_like, shape (m, n)
    Sigma_y_x : array_like, shape (m, m)

    Raises
    ------
    ValueError
        If a shape disagrees, ``A`` is not stable, or ``Sigma_x`` or ``Sigma_y_x`` is not symmetric
        positive definite (each is named; ``Sigma1`` is computed from them, so it is never blamed).
    """
    A = as_array(A, "A", ndim=2, dims="(n, n)", nonempty=True)
    n = A.shape[0]
    A = as_array(A, "A", shape=(n, n), dims="(n, n)")
    if np.max(np.abs(np.linalg.eigvals(A))) >= 1.0:
        raise ValueError("A must be stable (every eigenvalue inside the unit circle) for a stationary "
                         f"distribution; its spectral radius is {np.max(np.abs(np.linalg.eigvals(A))):.4g}.")
    Sigma_x = as_array(Sigma_x, "Sigma_x", shape=(n, n), dims="(n, n)")
    check_spd(Sigma_x, "Sigma_x")
    C = as_array(C, "C", ndim=2, dims="(m, n)", nonempty=True)
    m = C.shape[0]
    C = as_array(C, "C", shape=(m, n), dims="(m, n)")
    Sigma_y_x = as_array(Sigma_y_x, "Sigma_y_x", shape=(m, m), dims="(m, m)")
    check_spd(Sigma_y_x, "Sigma_y_x")
    Sigma1 = solve_discrete_lyapunov(A, Sigma_x)
    Sigma1 = 0.5 * (Sigma1 + Sigma1.T)
    big = float(np.max(np.abs(Sigma1)))
    if not big <= MAX_MAGNITUDE:                 # Sigma1 is ours: blame the argument it comes from
        raise ValueError(f"Sigma_x (largest entry {np.max(np.abs(Sigma_x)):.3g}) gives a stationary covariance with "
                         f"entries up to {big:.3g}, beyond the {MAX_MAGNITUDE:.0e} an LGSSM supports (its recursions "
                         "multiply three such numbers); rescale Sigma_x and Sigma_y_x.")
    p = LGSSMParams(np.zeros(n), Sigma1, A, None, np.zeros(n), Sigma_x, C, np.zeros(m), Sigma_y_x)
    check_params(p)
    return p


def cpc_windows(y, L: int, s: int = 1) -> tuple[np.ndarray, np.ndarray]:
    r"""Pairs (future, past window) from one sequence: :math:`\mathbf y_{t+s}` and :math:`(\mathbf y_t,\dots,\mathbf y_{t-L+1})`.

    Parameters
    ----------
    y : array_like, shape (T, m)
    L : int
        Window length, at least 1.
    s : int
        Prediction horizon, at least 1.

    Returns
    -------
    future : ndarray, shape (N, m)
    past : ndarray, shape (N, L*m)
        Most recent observation first; :math:`N = T - L - s + 1`.
    """
    y = as_array(y, "y", ndim=2, dims="(T, m)", nonempty=True)
    L = check_int(L, "L", minimum=1)
    s = check_int(s, "s", minimum=1)
    T, m = y.shape
    N = T - L - s + 1
    if N < 1:
        raise ValueError(f"y must have at least L + s = {L + s} rows for one window; got T = {T}.")
    past = np.concatenate([y[L - 1 - lag:L - 1 - lag + N] for lag in range(L)], axis=1)
    future = y[L - 1 + s:L - 1 + s + N]
    return future, past


def kalman_window_predictor(params: LGSSMParams, L: int, s: int = 1) -> WindowPredictor:
    r"""The exact predictor of :math:`\mathbf y_{t+s}` from the last :math:`L` observations, by the Kalman filter.

    The filter is run on windows of length :math:`L` from the first state's prior (use
    :func:`stationary_params` for a stationary sequence). Its filtered mean is affine in the data,
    so running it on zeros gives the intercept and on each unit impulse a column of
    :math:`\boldsymbol\beta`; then
    :math:`\mathbb E[\mathbf y_{L+s}\mid\mathbf y_{1:L}] = \mathbf C(\mathbf A^s\bar{\mathbf x}_{L|L} + \dots) + \mathbf c`
    and :math:`\mathbf V = \mathbf C\boldsymbol\Upsilon_{L+s|L}\mathbf C^T + \boldsymbol\Sigma_{\hat y|\hat x}`.

    Parameters
    ----------
    params : LGSSMParams
        Without controls.
    L : int
    s : int

    Returns
    -------
    WindowPredictor

    Raises
    ------
    ValueError, TypeError
        If ``params`` is malformed or has a control input, ``L`` or ``s`` is not a positive int, or
        the predictor overflows float64 (an explosive ``A``).
    """
    p, (n, m, n_u) = check_params(params)
    if n_u:
        raise ValueError(f"params must have no control input (B None or with 0 columns); got n_u = {n_u}.")
    L = check_int(L, "L", minimum=1)
    s = check_int(s, "s", minimum=1)
    A, C = p.A, p.C

    def predict(y):
        f = kalman_filter(p, y, backend="numpy")
        mu, U = f.mu_filt[-1], f.Upsilon_filt[-1]
        for _ in range(s):
            mu = A @ mu + p.a
            U = A @ U @ A.T + p.Sigma_x
        return C @ mu + p.c, C @ U @ C.T + p.Sigma_y_x

    base, V = predict(np.zeros((L, m)))
    beta = np.zeros((m, L * m))
    for lag in range(L):
        for k in range(m):
            y = np.zeros((L, m))
            y[L - 1 - lag, k] = 1.0
            beta[:, lag * m + k] = predict(y)[0] - base
    P = p.Sigma1
    for _ in range(L - 1 + s):
        P = A @ P @ A.T + p.Sigma_x
    V0 = C @ P @ C.T + p.Sigma_y_x
    if not all(np.all(np.isfinite(a)) for a in (beta, base, V, V0)):
        raise ValueError(f"the window predictor overflows float64 over L + s = {L + s} steps: params.A (spectral "
                         f"radius {np.max(np.abs(np.linalg.eigvals(A))):.3g}) and the covariances must keep the "
                         "state on a moderate scale.")
    return WindowPredictor(beta, base, 0.5 * (V + V.T), 0.5 * (V0 + V0.T))


def exact_cpc_critic(predictor: WindowPredictor) -> QuadraticCritic:
    r"""The quadratic critic equal to :math:`\log p(\mathbf y\mid\mathbf z)/p(\mathbf y)` up to a function of :math:`\mathbf z`.

    :math:`\mathbf W = \boldsymbol\beta^T\mathbf V^{-1}` and :math:`\mathbf B = -\tfrac12(\mathbf V^{-1} - \mathbf V_0^{-1})`
    (zero-mean model: the intercept must vanish).

    Raises
    ------
    TypeError, ValueError
        If ``predictor`` is malformed (:func:`check_window_predictor`) or its intercept is not zero.
    """
    predictor = check_window_predictor(predictor)
    if np.any(np.abs(predictor.intercept) > 1e-12):
        raise ValueError("predictor must come from a zero-mean model (intercept 0); "
                         f"got intercept {predictor.intercept}.")
    Vi = np.linalg.inv(predictor.V)
    return QuadraticCritic(predictor.beta.T @ Vi, -0.5 * (Vi - np.linalg.inv(predictor.V0)))


def check_window_predictor(predictor, name: str = "predictor") -> WindowPredictor:
    """Return ``predictor`` with clean fields after checking them against each other.

    A :class:`WindowPredictor` built by hand or edited with ``_replace`` is held to the rules of
    :func:`kalman_window_predictor`'s result.

    Raises
    ------
    TypeError
        If ``predictor`` is not a :class:`WindowPredictor` or a field is not real and numeric.
    ValueError
        If ``beta`` is not a finite ``(m, L*m)`` matrix, ``intercept`` not a finite ``(m,)``
        vector, or ``V`` and ``V0`` not symmetric positive definite ``(m, m)`` matrices.
    """
    if not isinstance(predictor, WindowPredictor):
        raise TypeError(f"{name} must be a WindowPredictor; got {type(predictor).__name__}.")
    beta = as_array(predictor.beta, f"{name}.beta", ndim=2, dims="(m, L*m)", nonempty=True)
    m = beta.shape[0]
    if beta.shape[1] % m:
        raise ValueError(f"{name}.beta must have shape (m, L*m), a multiple of m = {m} columns; got {beta.shape}.")
    intercept = as_array(predictor.intercept, f"{name}.intercept", shape=(m,), dims="(m,)")
    V = as_array(predictor.V, f"{name}.V", shape=(m, m), dims="(m, m)")
    check_spd(V, f"{name}.V")
    V0 = as_array(predictor.V0, f"{name}.V0", shape=(m, m), dims="(m, m)")
    check_spd(V0, f"{name}.V0")
    return WindowPredictor(beta, intercept, V, V0)


def subspace_cosine(u, v) -> float:
    r"""Cosine of the angle between the column spaces of ``u`` and ``v`` (vectors or one-column matrices).

    For vectors, :math:`|\mathbf u^T\mathbf v|/(\lVert\mathbf u\rVert\lVert\mathbf v\rVert)`; for matrices with
    several columns, the cosine of the largest principal angle (the smallest singular value of
    :math:`\mathbf Q_u^T\mathbf Q_v`). One means the same subspace.
    """
    u = as_array(u, "u", nonempty=True)
    v = as_array(v, "v", nonempty=True)
    u = u[:, None] if u.ndim == 1 else u
    v = v[:, None] if v.ndim == 1 else v
    if u.ndim != 2 or v.ndim != 2 or u.shape[0] != v.shape[0]:
        raise ValueError(f"u and v must have the same number of rows; got shapes {u.shape} and {v.shape}.")
    Qu = _column_basis(u, "u")
    Qv = _column_basis(v, "v")
    return float(np.clip(np.linalg.svd(Qu.T @ Qv, compute_uv=False).min(), 0.0, 1.0))


def _column_basis(a: np.ndarray, name: str) -> np.ndarray:
    """An orthonormal basis of the column space of ``a``, refused unless its columns are independent.

    Each column is first divided by its largest entry (the column space is unchanged), so columns of
    any scale, ``1e-300`` or ``1e300``, are handled alike; a zero column, or columns dependent to working
    precision, span no well-defined subspace of the stated dimension: a ``ValueError`` names ``name``.
    """
    top = np.abs(a).max(axis=0)
    if np.any(top == 0.0):
        j = int(np.argmax(top == 0.0))
        what = "a zero vector" if a.shape[1] == 1 else f"column {j} is zero"
        raise ValueError(f"{name} must span a subspace: {what}, which has no direction (every angle to it is "
                         "undefined).")
    a = a / top
    sv = np.linalg.svd(a, compute_uv=False)
    if a.shape[1] > a.shape[0] or sv[-1] <= max(a.shape) * np.finfo(float).eps * sv[0]:
        raise ValueError(f"{name} must have linearly independent columns (at most as many columns as rows), a basis "
                         f"of the subspace; got shape {a.shape} with singular values (after scaling each column to "
                         f"largest entry 1) down to {sv[-1] if sv.size else 0.0:.3g}.")
    return np.linalg.qr(a)[0]
