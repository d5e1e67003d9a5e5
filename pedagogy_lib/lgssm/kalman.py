r"""Kalman filter and Rauch-Tung-Striebel smoother for the linear-Gaussian state-space model (Section 2.2.2).

The model, with the initial prior of Eq. 2.49:

.. math::
    \hat{\mathbf X}_1 \sim \mathcal N(\boldsymbol\mu_1, \boldsymbol\Sigma_1), \qquad
    \hat p(\mathbf x_t\mid\mathbf x_{t-1}) = \mathcal N(\mathbf A\mathbf x_{t-1} + \mathbf B\mathbf u_{t-1}
        + \mathbf a, \boldsymbol\Sigma_{\hat x}), \qquad
    \hat p(\mathbf y_t\mid\mathbf x_t) = \mathcal N(\mathbf C\mathbf x_t + \mathbf c, \boldsymbol\Sigma_{\hat y|\hat x}).

Every step is a jointly Gaussian block of Section 2.1.2 with its roles renamed: the measurement update is
BAYES-INVERT (Eq. 2.47 from Eq. 2.27; its normalizer is a factor of Eq. 2.40) and the time update
MARGINALIZE (Eq. 2.48 from Eq. 2.26); in the smoother, future conditioning is BAYES-INVERT with gain
:math:`\mathbf J` (Eq. 2.53), the backward step MARGINALIZE (Eq. 2.54), and Eq. 2.55 the cross-covariance.

:func:`kalman_filter` validates, chooses the measurement-update form (``"covariance"``, Eq. 2.47, factors
the ``m x m`` innovation covariance; ``"information"``, the roles of Eqs. 2.13-2.14, only ``n x n``
matrices) and runs the kernel of :mod:`~pedagogy_lib.lgssm.kernels` (``backend="numba"``) or its NumPy
twin below, built from the blocks of Section 2.1.2 written out for inputs validated once
(``_bayes_invert_step``, ``backend="numpy"``). :func:`kalman_smoother` adds
the backward pass; :func:`rts_smoother` runs it from a filter result and ``A`` alone.

Rows are 0-based: row ``t`` is the book's ``t + 1`` (``y[t]`` is :math:`\mathbf y_{t+1}`, ``mu_pred[0]`` is
:math:`\boldsymbol\mu_1`); ``u[t]`` drives the step from row ``t`` to ``t + 1``, so ``T`` steps take
``T - 1`` controls (none: ``B=None``, ``u=None``); ``J[t]`` and ``Upsilon_cross[t]`` link rows ``t`` and
``t + 1``. A row of ``y`` that is all NaN is missing (no measurement update; it adds 0 to the log
evidence); a partly-NaN row is refused.

Precision with nearly exact observations (the Joseph form, the information form's conditioning, what
``form="auto"`` chooses, what raises): the section "Precision notes" further down in this file.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import solve_triangular

from ..core.checks import PSD_RTOL, as_array, as_scalar, check_backend, check_choice, check_psd, check_shape, check_spd
from ..core.kernels import EPS, SPD_ULPS
from ..core.linalg import TAU, chol_logdet, chol_solve, symmetrize
from . import kernels, small
from .kernels import (FAIL_INFO, FAIL_INFO_COND, FAIL_INNOVATION, FAIL_OVERFLOW, FAIL_PRED, INFO_MAX_COND,
                      JOSEPH_RATIO)
from .model import LGSSMParams, check_params_factored, check_u, check_y, model_fact

__all__ = [
    "KalmanFilterResult",
    "KalmanSmootherResult",
    "kalman_filter",
    "kalman_smoother",
    "rts_smoother",
]

FORMS = ("auto", "covariance", "information")
#: ``form="auto"`` uses the information form when ``m > INFORMATION_RATIO * n`` ...
INFORMATION_RATIO = 2
#: ... and its estimated condition number (:func:`info_form_condition`) is at most this; for ``n < m``
#: it also does when that estimate is this many times below the covariance form's
#: (:func:`covariance_form_condition`), i.e. when it keeps at least three more digits.
AUTO_MAX_DIGITS_LOST_RATIO = 1e8
AUTO_DIGITS_MARGIN = 1e3


class KalmanFilterResult(NamedTuple):
    r"""Output of :func:`kalman_filter` (Eqs. 2.45-2.49, 2.40). Row ``t`` is the book's ``t + 1``.

    Attributes
    ----------
    mu_pred : ndarray, shape (T, n)
        One-step predictions :math:`\bar{\mathbf x}_{t|t-1}` (Eq. 2.46); row 0 is :math:`\boldsymbol\mu_1`.
    Upsilon_pred : ndarray, shape (T, n, n)
        :math:`\boldsymbol\Upsilon_{t|t-1}` (Eq. 2.46); row 0 is :math:`\boldsymbol\Sigma_1`.
    mu_filt : ndarray, shape (T, n)
        Filter means :math:`\bar{\mathbf x}_{t|t}` (Eq. 2.45).
    Upsilon_filt : ndarray, shape (T, n, n)
        Filter covariances :math:`\boldsymbol\Upsilon_{t|t}` (Eq. 2.45).
    K : ndarray, shape (T, n, m)
        Kalman gains :math:`\mathbf K_t` (Eq. 2.47); zero at steps with a missing observation.
    log_p_y : ndarray, shape (T,)
        :math:`\log\hat p(\mathbf y_t\mid\mathbf y_1,\dots,\mathbf y_{t-1})`, the factors of Eq. 2.40
        (0 at steps with a missing observation).
    log_evidence : float
        :math:`\log\hat p(\mathbf y_1,\dots,\mathbf y_T)`, the sum of ``log_p_y`` (Eq. 2.40).
    form : {"covariance", "information"}
        The measurement-update form that computed the result (what ``form="auto"`` chose). Defaults to
        ``"covariance"`` for a result built by hand.
    """

    mu_pred: np.ndarray
    Upsilon_pred: np.ndarray
    mu_filt: np.ndarray
    Upsilon_filt: np.ndarray
    K: np.ndarray
    log_p_y: np.ndarray
    log_evidence: float
    form: str = "covariance"


class KalmanSmootherResult(NamedTuple):
    r"""Output of :func:`kalman_smoother`: the filter fields plus the RTS smoother (Eqs. 2.50-2.55).

    Attributes
    ----------
    mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, K, log_p_y, log_evidence
        As in :class:`KalmanFilterResult`.
    mu_smooth : ndarray, shape (T, n)
        Smoother means :math:`\bar{\mathbf x}_{t|T}` (Eq. 2.50).
    Upsilon_smooth : ndarray, shape (T, n, n)
        Smoother covariances :math:`\boldsymbol\Upsilon_{t|T}` (Eq. 2.50).
    J : ndarray, shape (T - 1, n, n)
        Smoother gains; ``J[t]`` is the book's :math:`\mathbf J_{t+1}` (Eq. 2.53), linking rows ``t`` and ``t + 1``.
    Upsilon_cross : ndarray, shape (T - 1, n, n)
        ``Upsilon_cross[t]`` :math:`= \mathrm{Cov}[\hat{\mathbf X}_{t+1}, \hat{\mathbf X}_t\mid\mathbf y_{1:T}]
        = \boldsymbol\Upsilon_{t+1|T}\mathbf J_t^T` in 0-based rows (Eq. 2.55); EM needs it.
    form : {"covariance", "information"}
        The measurement-update form of the forward pass, as in :class:`KalmanFilterResult`.
    """

    mu_pred: np.ndarray
    Upsilon_pred: np.ndarray
    mu_filt: np.ndarray
    Upsilon_filt: np.ndarray
    K: np.ndarray
    log_p_y: np.ndarray
    log_evidence: float
    mu_smooth: np.ndarray
    Upsilon_smooth: np.ndarray
    J: np.ndarray
    Upsilon_cross: np.ndarray
    form: str = "covariance"


# ------------------------------------------------------------------------------------------------
# Public functions: validate, choose the form, run the kernel (or its twin)
# ------------------------------------------------------------------------------------------------

def kalman_filter(params: LGSSMParams, y, u=None, *, form: str = "auto",
                  backend: str = "auto") -> KalmanFilterResult:
    r"""Kalman filter (Section 2.2.2, Eqs. 2.45, 2.46, 2.47, 2.48 and 2.49) with the log evidence of Eq. 2.40.

    Parameters
    ----------
    params : LGSSMParams
        The model; its covariances must be symmetric positive definite.
    y : array_like, shape (T, m)
        Observations; row ``t`` is the book's :math:`\mathbf y_{t+1}`, and a row of NaN is missing.
    u : array_like, shape (T - 1, n_u), optional
        Controls, required when ``params.B`` has columns; ``u[t]`` drives the step from row ``t`` to ``t + 1``.
    form : {"auto", "covariance", "information"}
        The measurement-update algebra; ``"auto"`` chooses by the input's conditioning: the information form
        when ``m > n`` and its estimated condition number (prior covariances against
        :math:`\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C`) is 1e3 times below that of the
        covariance form's innovation covariance :math:`\mathbf C\boldsymbol\Upsilon\mathbf C^T +
        \boldsymbol\Sigma_{\hat y|\hat x}` (or, with ``m > 2 n``, at most 1e8), else the covariance form (see
        "Precision notes" in the module).
    backend : {"auto", "numba", "numpy"}
        The compiled kernel, or the readable twin built from the blocks of Section 2.1.2; ``"auto"`` runs
        the twin while compiling would cost more than it saves (:func:`pedagogy_lib.core.jit.choose`).

    Returns
    -------
    KalmanFilterResult
        With ``form`` the measurement-update form that computed it.

    Raises
    ------
    TypeError, ValueError
        For malformed parameters, observations, controls or options (the message names the symbol); a
        ``ValueError`` also when the recursion loses positive definiteness to rounding or overflows float64
        (the message names the step) rather than returning NaN.
    """
    backend = _resolve(backend, params, y)                           # "auto" decided once per call
    fast = _fast_path(params, y, u, form, backend, smooth=False)     # a small clean problem: one call
    if fast is not None:
        return KalmanFilterResult._make(fast)
    p, y, observed, u, L_R = _validate(params, y, u)
    form, fallback = _choose_form(form, p, L_R, y, observed)
    filt, _, form = _forward(p, y, observed, u, form, fallback, _backend(backend, p, y, form), L_R)
    return KalmanFilterResult(*filt, form)


def kalman_smoother(params: LGSSMParams, y, u=None, *, form: str = "auto",
                    backend: str = "auto") -> KalmanSmootherResult:
    r"""Kalman filter followed by the RTS smoother (Section 2.2.2: the filter of Eqs. 2.45, 2.46, 2.47, 2.48
    and 2.49, then the smoother of Eqs. 2.50, 2.53, 2.54 and 2.55).

    The backward pass starts from the filter at the last step (smoother = filter at ``t = T``) and applies
    future conditioning (Eq. 2.53) and the backward step (Eq. 2.54) at each earlier step. The compiled
    forward pass computes the gains ``J`` on its way (they need no future data).

    Parameters
    ----------
    params, y, u, form, backend
        As in :func:`kalman_filter`.

    Returns
    -------
    KalmanSmootherResult
        Filter fields, smoother means and covariances, the gains ``J`` and the cross-covariances
        ``Upsilon_cross[t]`` :math:`=\mathrm{Cov}[\hat{\mathbf X}_{t+1},\hat{\mathbf X}_t\mid\mathbf y_{1:T}]`.

    Raises
    ------
    TypeError, ValueError
        As :func:`kalman_filter`.
    """
    backend = _resolve(backend, params, y)
    fast = _fast_path(params, y, u, form, backend, smooth=True)
    if fast is not None:
        return KalmanSmootherResult._make(fast)
    p, y, observed, u, L_R = _validate(params, y, u)
    form, fallback = _choose_form(form, p, L_R, y, observed)
    backend = _backend(backend, p, y, form)
    filt, J, form = _forward(p, y, observed, u, form, fallback, backend, L_R, want_J=True)
    smooth = _backward(p.A, *filt[:4], J, backend)
    return KalmanSmootherResult(*filt, *smooth, form)


def rts_smoother(A, filt: KalmanFilterResult, *, backend: str = "auto") -> KalmanSmootherResult:
    r"""RTS backward pass (Section 2.2.2, Eqs. 2.50, 2.53, 2.54 and 2.55) from a filter result and
    :math:`\mathbf A` only.

    .. math::
        \mathbf J_{t-1} = \boldsymbol\Upsilon_{t-1|t-1}\mathbf A^T\boldsymbol\Upsilon_{t|t-1}^{-1}, \quad
        \bar{\mathbf x}_{t-1|T} = \bar{\mathbf x}_{t-1|t-1} + \mathbf J_{t-1}(\bar{\mathbf x}_{t|T} - \bar{\mathbf x}_{t|t-1}),

        \boldsymbol\Upsilon_{t-1|T} = \boldsymbol\Upsilon_{t-1|t-1}
            + \mathbf J_{t-1}(\boldsymbol\Upsilon_{t|T} - \boldsymbol\Upsilon_{t|t-1})\mathbf J_{t-1}^T, \quad
        \mathrm{Cov}[\hat{\mathbf X}_t, \hat{\mathbf X}_{t-1}\mid\mathbf y_{1:T}] = \boldsymbol\Upsilon_{t|T}\mathbf J_{t-1}^T.

    The signature makes the point of Section 2.2 explicit: the backward pass needs no emission
    parameter, no observation and not even the controls (they are folded into ``filt.mu_pred``).

    Parameters
    ----------
    A : array_like, shape (n, n)
        The transition matrix used by the filter.
    filt : KalmanFilterResult
        Output of :func:`kalman_filter`.
    backend : {"auto", "numba", "numpy"}
        As in :func:`kalman_filter`.

    Returns
    -------
    KalmanSmootherResult

    Raises
    ------
    TypeError
        If ``filt`` is not a Kalman filter or smoother result.
    ValueError
        If a field of ``filt`` has the wrong shape or a non-finite entry, ``filt.Upsilon_pred`` is not
        symmetric positive definite, ``filt.Upsilon_filt`` is not positive semidefinite or is
        inconsistent with ``filt.Upsilon_pred`` and ``A`` (``Upsilon_pred[t+1] - A Upsilon_filt[t] A^T``
        must be positive semidefinite, as it is for any filter's output), or ``filt.form`` names no form.
    """
    A, mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, form, log_evidence = _check_filter_result(A, filt)
    T, n = mu_filt.shape
    backend = check_backend(backend, kernels.rts_backward, T=T, n=n)
    J = np.empty((mu_filt.shape[0] - 1,) + A.shape)
    if backend == "numba":
        t = kernels.rts_gains(A, Upsilon_pred, Upsilon_filt, J, kernels.blas_for(A.shape[0]))
        if t >= 0:
            raise _failure(t, FAIL_PRED, "covariance")
    smooth = _backward(A, mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, J, backend)
    # passed through unread (the backward pass needs no emission output), so only made arrays
    K = as_array(filt.K, "filt.K", ndim=3, dims="(T, n, m)", finite=False)
    log_p_y = as_array(filt.log_p_y, "filt.log_p_y", shape=(mu_filt.shape[0],), dims="(T,)", finite=False)
    return KalmanSmootherResult(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, K, log_p_y, log_evidence, *smooth,
                                form)


def _validate(params, y, u) -> tuple:
    """Check the inputs once: ``(p, y, observed, u, L_R)``, the model with clean arrays (``B`` of shape
    ``(n, 0)`` without control), ``y`` with its missing rows zeroed and the mask ``observed`` (uint8), the
    controls, and the Cholesky factor of ``Sigma_y_x`` that the check computed."""
    p, (n, m, n_u), factors = check_params_factored(params)
    y, observed = check_y(y, m)
    check_noise_resolution(p, y, observed)
    return p, y, observed, check_u(u, y.shape[0], n_u), factors.L_Sigma_y_x


#: Largest ratio of the rounding of the observations, eps max(|y|, |c|), to the smallest observation noise
#: standard deviation, when m > n (see :func:`check_noise_resolution`).
NOISE_RESOLUTION = 1e-5


def noise_resolution_ratio(p, y, observed, *, any_m: bool = False) -> float:
    """``eps max(|y_t|, |c|) / sqrt(lambda_min(Sigma_y_x))`` over the observed rows, or 0 when ``m <= n``
    (unless ``any_m``: the information form forms the residual ``y_t - c - C mu_filt`` whatever ``m``)."""
    n, m = p.mu1.shape[0], p.c.shape[0]
    if m <= n and not any_m:
        return 0.0
    rows = y if observed.all() else y[observed.astype(bool)]
    scale = max(float(np.max(np.abs(rows))) if rows.size else 0.0, float(np.max(np.abs(p.c))))
    lam_min = noise_eigmin(p)
    return EPS * scale / np.sqrt(lam_min) if lam_min > 0 else np.inf


def noise_eigmin(p) -> float:
    """The smallest eigenvalue of ``Sigma_y_x``, computed once per model (:func:`~pedagogy_lib.lgssm.model.model_fact`)."""
    return model_fact(p, "eigmin_Sigma_y_x", lambda: float(np.linalg.eigvalsh(p.Sigma_y_x)[0]))


def check_noise_resolution(p, y, observed) -> None:
    r"""Refuse observation noise below the rounding of the observations when ``m > n``.

    With more observations than states, ``m - n`` directions of each innovation
    :math:`\mathbf y_t - \mathbf C\bar{\mathbf x}_{t|t-1} - \mathbf c` are pure noise, of size
    :math:`\sigma = \lambda_{\min}(\boldsymbol\Sigma_{\hat y|\hat x})^{1/2}`, while float64 forms that
    difference with an error of :math:`\epsilon\max|\mathbf y|`; the log evidence weighs it by
    :math:`1/\sigma`. When :math:`\epsilon\max|\mathbf y|/\sigma` exceeds ``NOISE_RESOLUTION`` = 1e-5 the
    answer would keep fewer than about five digits (at ``Sigma_y_x = 1e-30 I`` with unit data it was off by
    7%, at 1e-50 by a factor of 65), so the filter refuses, naming ``Sigma_y_x`` and the smallest noise
    variance these observations support; the ratio does not change when the whole model is rescaled.
    """
    ratio = noise_resolution_ratio(p, y, observed)
    if ratio > NOISE_RESOLUTION:
        n, m = p.mu1.shape[0], p.c.shape[0]
        lam_min = noise_eigmin(p)
        need = lam_min * (ratio / NOISE_RESOLUTION) ** 2
        raise ValueError(f"Sigma_y_x is too small for y: with m = {m} observations of n = {n} states, m - n "
                         f"directions of each innovation are noise of standard deviation {np.sqrt(lam_min):.3g}, "
                         f"within 1e5 of the rounding of y (eps max|y| = {ratio * np.sqrt(lam_min):.3g}), so the "
                         f"log evidence would keep fewer than about five digits in float64. The smallest eigenvalue of Sigma_y_x must be at "
                         f"least {need:.3g} for these observations (got {lam_min:.3g}).")


def _resolve(backend, params, y):
    """``backend``, with ``"auto"`` decided by the registry's rule for the covariance-form filter
    (:func:`small.resolve`) when the call's sizes can be read before validation (a model and a 2-D array of
    observations); otherwise ``"auto"`` is left for :func:`_backend` to decide after validation. Either way the
    twin's estimated work is counted once per call."""
    if backend != "auto" or type(params) is not LGSSMParams or type(y) is not np.ndarray or y.ndim != 2:
        return backend
    return small.resolve(backend, y.shape[0], np.size(params.mu1), y.shape[1])


def _backend(backend, p, y, form) -> str:
    """``backend`` resolved for a forward pass in ``form`` (``"auto"``, when :func:`_resolve` left it, weighs the
    twin's work: :func:`pedagogy_lib.core.jit.choose`)."""
    kernel = kernels.filter_covariance if form == "covariance" else kernels.filter_information
    return check_backend(backend, kernel, T=y.shape[0], n=p.mu1.shape[0], m=y.shape[1])


def _forward(p, y, observed, u, form, fallback, backend, L_R, want_J=False) -> tuple:
    """The forward pass in ``form``: ``(filt, J, form)``, the filter's fields ``(mu_pred, Upsilon_pred, mu_filt,
    Upsilon_filt, K, log_p_y, log_evidence)``, the gains ``J`` (empty unless ``want_J`` and the numba backend)
    and the form that computed them. When ``form``
    meets a rounding failure and there is a ``fallback`` (``form="auto"``), that form runs instead; when both
    fail, the first failure is raised, saying both were tried."""
    try:
        return (*_forward_pass(p, y, observed, u, form, backend, L_R, want_J), form)
    except ValueError as first:
        if fallback is None:
            raise
        try:
            return (*_forward_pass(p, y, observed, u, fallback, backend, L_R, want_J), fallback)
        except ValueError:
            raise ValueError(f"{first} (form=\"auto\" tried both the {form} and the {fallback} form; both "
                             "failed.)") from None


def _forward_pass(p, y, observed, u, form, backend, L_R, want_J) -> tuple:
    """One forward pass in ``form`` by the kernel (into arrays allocated here) or the NumPy twin: ``(filt, J)``;
    a failure is a ``ValueError`` naming the step."""
    if backend == "numpy":
        return _filter_numpy(p, y, observed, u, form)
    (T, m), n = y.shape, p.mu1.shape[0]
    out = (np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n, m)),
           np.empty(T), np.empty((T - 1 if want_J else 0, n, n)))
    blas = kernels.blas_for(n, m, form)
    if form == "covariance":
        t, kind, log_evidence = kernels.filter_covariance(tuple(p), u, y, observed, out, blas)
    else:
        C, c, y_white, info = _information_constants(p.C, p.c, p.Sigma_y_x, y, L_R)
        t, kind, log_evidence = kernels.filter_information(tuple(p._replace(C=C, c=c)), info, u, y_white, observed,
                                                           out, blas)
    if t >= 0:
        raise _failure(t, kind, form)
    return (*out[:6], log_evidence), out[6]


def _backward(A, mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, J, backend) -> tuple:
    """The RTS backward pass: ``(mu_smooth, Upsilon_smooth, J, Upsilon_cross)``. The kernel takes the gains
    ``J`` computed before; the NumPy twin computes them itself."""
    if backend == "numpy":
        return _rts_numpy(A, mu_pred, Upsilon_pred, mu_filt, Upsilon_filt)
    T, n = mu_filt.shape
    mu_smooth, Upsilon_smooth, Upsilon_cross = np.empty((T, n)), np.empty((T, n, n)), np.empty((T - 1, n, n))
    kernels.rts_backward(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, J, mu_smooth, Upsilon_smooth, Upsilon_cross,
                         kernels.blas_for(n))
    return mu_smooth, Upsilon_smooth, J, Upsilon_cross


def _failure(t: int, kind: int, form: str) -> ValueError:
    """The ``ValueError`` for a kernel's (or twin's) failure code ``kind`` at step ``t``."""
    where = f"The Kalman filter failed at time step t = {t} (row {t} of y, the book's t = {t + 1}): "
    if kind == FAIL_OVERFLOW:
        return ValueError(f"The Kalman filter overflowed at time step t = {t} (row {t} of y, the book's t = {t + 1}): "
                          "its means or covariances are no longer finite in float64. The parameters (A, Sigma_x, C, "
                          "Sigma_y_x) or y are too far out of scale; rescale the model.")
    if kind == FAIL_INFO_COND:
        return ValueError(
            where + "in the information form, Upsilon_pred[t]^{-1} + C^T Sigma_y_x^{-1} C is dominated by the "
            f"observation precision in some directions and not others (condition number above {INFO_MAX_COND:.0e}), "
            "so the filter mean would keep fewer than about six digits. Use form=\"covariance\" (or form=\"auto\").")
    what = {FAIL_PRED: "the predicted covariance Upsilon_pred[t]",
            FAIL_INNOVATION: "the innovation covariance C Upsilon_pred[t] C^T + Sigma_y_x",
            FAIL_INFO: "the information-form matrix I + U G U^T (U^T U = Upsilon_pred[t], "
                        "G = C^T Sigma_y_x^{-1} C)"}[kind]
    if kind == FAIL_INNOVATION:
        advice = ("The observation noise Sigma_y_x is too small next to C Upsilon_pred[t] C^T for float64 "
                  "(more observed than latent dimensions with nearly noiseless observations make this matrix "
                  "nearly singular); use a larger Sigma_y_x")
        if form == "covariance":
            advice += ', or form="information" when C^T Sigma_y_x^{-1} C is well conditioned'
    else:
        advice = 'Use form="covariance" or a larger observation noise Sigma_y_x'
    return ValueError(where + f"{what} lost positive definiteness to rounding (a Cholesky pivot at or below "
                      f"{SPD_ULPS:g} x n x machine epsilon of its diagonal entry). {advice}.")


# ------------------------------------------------------------------------------------------------
# Precision notes
# ------------------------------------------------------------------------------------------------
#
# The covariance form's subtraction (Eq. 2.47), Upsilon_pred - K Sigma_y K^T, loses about
# log10(tr Sigma_y / lambda_min(Sigma_y_x)) digits and can round into an indefinite matrix when the
# observation noise is tiny. Above a ratio of JOSEPH_RATIO = 1e6 the kernel (and its twin) use the Joseph
# form instead, (I - K C) Upsilon_pred (I - K C)^T + K Sigma_y_x K^T: equal in exact arithmetic and a sum of
# positive semidefinite terms (below the ratio the cheaper subtraction keeps ten digits or more).
#
# The information form adds the prior precision to G = C^T Sigma_y_x^{-1} C. When the observations are
# precise in some directions of the state and silent in others (G singular or nearly so, e.g. m < n with a
# tiny noise), that sum is dominated by G where G is large and the prior's digits elsewhere are lost: with
# I + U G U^T (U^T U = Upsilon_pred) of condition number 10^k the filter mean keeps about 16 - k digits (at
# 1e12, four, where the covariance form keeps all of them). The kernel estimates that condition number at
# every step and refuses a step above INFO_MAX_COND = 1e10. When every direction is observed precisely
# (m > n, G well conditioned) the information form is the accurate one: its log evidence takes the quadratic
# form as a sum of two squares (posterior residual and prior term), never Woodbury's difference of two terms
# of size 1 / noise, while the covariance form's innovation covariance is then nearly singular.
#
# So form="auto" uses the information form when m > INFORMATION_RATIO * n (it is then the cheaper one) and
# info_form_condition, estimated from the eigenvalues of G, Sigma_x and Sigma1, is at most
# AUTO_MAX_DIGITS_LOST_RATIO = 1e8; and, for any n < m, when that estimate is AUTO_DIGITS_MARGIN = 1e3 times
# below covariance_form_condition, the estimated condition number of the innovation covariance (from the
# singular values of C, the noise variances and the prior's eigenvalues): the form whose error bound is
# smaller by three digits or more. (n = 3, m = 5, Sigma_y_x = 1e-12 I: about 1e13 against 1e2, and the
# covariance form's log evidence is off by 1e-4..1e-3 on 1240 where the information form keeps 3e-10.)
# With m <= n the innovation covariance is full rank in C's range and the covariance form is kept;
# otherwise the covariance form. If the chosen form meets a rounding
# failure, the other one runs (nearly noiseless observations with n < m <= 2 n: the innovation covariance is
# singular in float64, the information form exact). Wherever a factorization meets a pivot at rounding level
# (SPD_ULPS x n x eps of its diagonal entry), or the output stops being finite (finite parameters can still
# overflow float64), the filter raises a ValueError naming the step and the matrix; it never returns NaN.

def _choose_form(form: str, p: LGSSMParams, L_R=None, y=None, observed=None) -> tuple:
    """The measurement-update form to run and the one to fall back on (``None`` unless ``form="auto"``).

    An explicit ``form="information"`` is refused when the observations are so large against the noise
    that the residual ``e = y_t - c - C mu_filt`` (formed by subtraction, then weighed by ``1/sigma``) keeps
    fewer than about five digits (:func:`noise_resolution_ratio` above ``NOISE_RESOLUTION``): with a
    prediction 1e26 wide and unit noise it was off by 1e22 nats, where the covariance form is exact."""
    check_choice(form, "form", FORMS)
    ratio = noise_resolution_ratio(p, y, observed, any_m=True) if form == "information" and y is not None else 0.0
    if ratio > NOISE_RESOLUTION:
        raise ValueError(f"form='information' cannot resolve these observations: the rounding of y "
                         f"(eps max|y| = {ratio * np.sqrt(noise_eigmin(p)):.3g}) is more than 1e-5 of the "
                         f"smallest noise standard deviation ({np.sqrt(noise_eigmin(p)):.3g}), so its residuals "
                         "would keep fewer than about five digits; use form='covariance' (or 'auto').")
    if form != "auto":
        return form, None
    first = model_fact(p, "auto_form", lambda: _auto_form(p, L_R))
    return first, ("covariance" if first == "information" else "information")


def _fast_path(params, y, u, form, backend, smooth: bool) -> tuple | None:
    """The small fast path's result (:func:`small.fast_path`), or ``None`` for the full path. The fast path
    runs the covariance form; with more observations than states it is kept only when the observation noise
    is resolved (:func:`noise_resolution_ratio`) and, for ``form="auto"``, when :func:`_auto_form` would
    choose the covariance form too."""
    out = small.fast_path(params, y, u, form, backend, smooth)
    if out is None or params.c.size <= params.mu1.size:
        return out
    if noise_resolution_ratio(params, y, np.ones(y.shape[0], dtype=np.uint8)) > NOISE_RESOLUTION:
        return None
    if form == "auto" and model_fact(params, "auto_form", lambda: _auto_form(params)) != "covariance":
        return None
    return out


def _auto_form(p: LGSSMParams, L_R=None) -> str:
    """What ``form="auto"`` runs first (see the notes above): the information form when ``m > 2 n`` and its
    estimated condition number is at most ``AUTO_MAX_DIGITS_LOST_RATIO``, or when that estimate is
    ``AUTO_DIGITS_MARGIN`` times below the covariance form's (:func:`covariance_form_condition`); else the
    covariance form. ``L_R`` is the lower Cholesky factor of ``Sigma_y_x`` when the caller has it."""
    n, m = p.mu1.shape[0], p.c.shape[0]
    if m <= n:                                               # C Upsilon C^T + Sigma_y_x has full rank in C's range
        return "covariance"
    if L_R is None:
        L_R = np.linalg.cholesky(p.Sigma_y_x)                # validated positive definite
    W = solve_triangular(L_R, p.C, lower=True, check_finite=False)
    lam_G = np.linalg.eigvalsh(symmetrize(W.T @ W))           # eigenvalues of C^T Sigma_y_x^{-1} C
    lam_prior = np.concatenate([np.linalg.eigvalsh(p.Sigma_x), np.linalg.eigvalsh(p.Sigma1)])
    info = info_form_condition(lam_G, lam_prior)
    if m > INFORMATION_RATIO * n and info <= AUTO_MAX_DIGITS_LOST_RATIO:
        return "information"
    lam_C = np.linalg.svd(p.C, compute_uv=False) ** 2
    cov = covariance_form_condition(lam_C, np.diag(L_R) ** 2, lam_prior, m > n)
    return "information" if info * AUTO_DIGITS_MARGIN < cov else "covariance"


def covariance_form_condition(lam_C, lam_R, lam_prior, rank_deficient: bool) -> float:
    r"""Estimated condition number of the covariance form's innovation covariance
    :math:`\mathbf C\boldsymbol\Upsilon\mathbf C^T + \boldsymbol\Sigma_{\hat y|\hat x}`.

    ``lam_C`` are the squared singular values of :math:`\mathbf C`, ``lam_R`` estimates of the noise
    variances (the squared diagonal of its Cholesky factor), ``lam_prior`` the eigenvalues of the prior
    covariances bounding :math:`\boldsymbol\Upsilon`: ``(max(lam_C) max(lam_prior) + max(lam_R)) /
    (min(lam_R) + [0 if rank_deficient else min(lam_C) min(lam_prior)])``. With ``m > n``
    (``rank_deficient``) the first term is singular and the estimate is about
    :math:`\|\mathbf C\|^2\|\boldsymbol\Upsilon\|/\sigma^2_{\min}`: the log evidence of that form then loses
    about ``log10`` of it in digits.
    """
    lam_C, lam_R, lam_prior = np.asarray(lam_C), np.asarray(lam_R), np.asarray(lam_prior)
    low = lam_R.min() + (0.0 if rank_deficient else lam_C.min() * lam_prior.min())
    return float((lam_C.max() * lam_prior.max() + lam_R.max()) / low)


def info_form_condition(lam_G, lam_prior) -> float:
    r"""Estimated condition number of the information form's :math:`\mathbf I + \mathbf U\mathbf G\mathbf U^T`.

    With :math:`\mathbf U^T\mathbf U` a prior covariance whose eigenvalues lie in
    ``[min(lam_prior), max(lam_prior)]`` and ``lam_G`` the eigenvalues of
    :math:`\mathbf G = \mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C`, it is
    ``(1 + max(lam_prior) max(lam_G)) / (1 + min(lam_prior) min(lam_G))``: large when the observations are
    precise in some directions of the state and silent in others (``G`` singular, e.g. ``m < n``), the case
    where the information form loses digits; about ``cond(G)`` when every direction is observed precisely.
    """
    lam_G, lam_prior = np.asarray(lam_G), np.asarray(lam_prior)
    return float((1.0 + lam_prior.max() * lam_G.max()) / (1.0 + lam_prior.min() * max(lam_G.min(), 0.0)))


def _information_constants(C, c, Sigma_y_x, y, L_R=None) -> tuple:
    r"""The information form's time-invariant work, done once per sequence: ``(C, c, y, info)`` as the kernel
    takes them, with ``info = (w, WC, CtRinv, G, logdet_R)``.

    A diagonal :math:`\boldsymbol\Sigma_{\hat y|\hat x} = \mathbf D` keeps the observations as they are, with
    weights ``w`` :math:`=\mathbf D^{-1}`. A dense one whitens them once: with :math:`\boldsymbol\Sigma_{\hat
    y|\hat x} = \mathbf L\mathbf L^T`, :math:`\tilde{\mathbf y}_t = \mathbf L^{-1}(\mathbf y_t - \mathbf c)` for
    every ``t`` (one triangular solve with ``T`` right-hand sides) and :math:`\tilde{\mathbf C} =
    \mathbf L^{-1}\mathbf C` give a model with the same posterior and unit noise (``w`` all ones), so a step
    costs ``O(n m)`` instead of a triangular solve's ``O(m^2)``. ``WC`` :math:`= \mathrm{diag}(\mathbf w)
    \mathbf C`, ``CtRinv`` :math:`=\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}` (for the gain), ``G``
    :math:`=\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C`, ``logdet_R``
    :math:`=\log|\boldsymbol\Sigma_{\hat y|\hat x}|`.
    """
    d = np.diag(Sigma_y_x)
    if not np.any(Sigma_y_x - np.diag(d)):                   # diagonal: the observations as they are
        w = 1.0 / d
        WC = C * w[:, None]
        CtRinv = WC.T
        logdet_R = float(np.sum(np.log(d)))
    else:                                                    # dense: whiten once
        if L_R is None:
            L_R = np.linalg.cholesky(Sigma_y_x)
        C = solve_triangular(L_R, C, lower=True, check_finite=False)                         # L^{-1} C
        y = solve_triangular(L_R, (y - c).T, lower=True, check_finite=False).T               # L^{-1}(y_t - c)
        c, w, WC = np.zeros_like(c), np.ones_like(c), C
        CtRinv = solve_triangular(L_R, C, lower=True, trans="T", check_finite=False).T     # C^T L^{-T} L^{-1}
        logdet_R = 2.0 * float(np.sum(np.log(np.diag(L_R))))
    G = symmetrize(WC.T @ C)
    cont = np.ascontiguousarray
    return cont(C), cont(c), cont(y), (cont(w), cont(WC), cont(CtRinv), cont(G), logdet_R)


# ------------------------------------------------------------------------------------------------
# NumPy twins: the Section 2.1.2 building blocks, with their roles renamed (the spec)
# ------------------------------------------------------------------------------------------------

def _filter_numpy(p, y, observed, u, form) -> tuple:
    """Readable twin of the forward kernels: one MARGINALIZE and one BAYES-INVERT per step. Returns what
    :func:`_forward_pass` returns (``J`` empty: :func:`_rts_numpy` computes the gains) or raises as the kernels
    report."""
    with np.errstate(over="ignore", invalid="ignore"):       # an overflow is reported by step, below
        try:
            return _kalman_filter_numpy(p, y, observed, u, form)
        except np.linalg.LinAlgError:
            # NumPy's factorizations meet the failures of the kernels' pivot test, and an overflowed
            # (infinite) covariance too; the step is not known here
            raise ValueError(f"The Kalman filter failed in the {form} form: a covariance lost positive "
                             "definiteness or overflowed float64. Rescale the model, use a larger observation "
                             "noise Sigma_y_x, or the other form.") from None


def _kalman_filter_numpy(p, y, observed, u, form) -> tuple:
    """The loop of :func:`_filter_numpy`: one MARGINALIZE and one BAYES-INVERT per step."""
    mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x = p
    T, n, m = y.shape[0], mu1.shape[0], c.shape[0]
    mu_pred, Upsilon_pred = np.zeros((T, n)), np.zeros((T, n, n))
    mu_filt, Upsilon_filt = np.zeros((T, n)), np.zeros((T, n, n))
    K, log_p_y = np.zeros((T, n, m)), np.zeros(T)
    mu_pred[0], Upsilon_pred[0] = mu1, Sigma1                       # Eq. 2.49: x_{1|0} = mu_1, Upsilon_{1|0} = Sigma_1
    lam_min_R = noise_eigmin(p)
    emission = _emission_constants(C, Sigma_y_x)                    # the noise's factor, once per call
    L_R = emission[0]
    for t in range(T):
        if t > 0:
            # TIME UPDATE (Eq. 2.48) = MARGINALIZE(filter at t-1, transition): the Eq. 2.26 roles are
            # source N(mu_filt, Upsilon_filt), "emission" matrix A, offset B u + a, noise Sigma_x.
            # (Written out rather than calling marginalize, which requires a positive definite source:
            # a filter covariance may be singular to working precision when observations are nearly exact.)
            mu_pred[t] = A @ mu_filt[t - 1] + B @ u[t - 1] + a
            Upsilon_pred[t] = symmetrize(A @ Upsilon_filt[t - 1] @ A.T + Sigma_x)
        if not observed[t]:                                          # missing y_t: nothing to condition on
            mu_filt[t], Upsilon_filt[t] = mu_pred[t], Upsilon_pred[t]
            continue
        # MEASUREMENT UPDATE (Eq. 2.47) = BAYES-INVERT(prediction, emission): Eq. 2.27 (covariance form)
        # or Eqs. 2.13-2.14 (information form) with source N(mu_pred, Upsilon_pred). Its normalizer is
        # the marginal of y_t in the same fragment, log p(y_t | y_1..y_{t-1}), a factor of Eq. 2.40.
        # A factorization that meets a rounding-level pivot is reported as the kernel reports it.
        if form == "covariance" and not _pivots_ok(symmetrize(C @ Upsilon_pred[t] @ C.T + Sigma_y_x)):
            raise _failure(t, FAIL_INNOVATION, form)
        if form == "information":
            # the kernel's checks: Upsilon_pred, then M = I + U_P G U_P^T (Upsilon_pred = U_P^T U_P)
            if not _pivots_ok(Upsilon_pred[t]):
                raise _failure(t, FAIL_PRED, form)
            U_P = np.linalg.cholesky(Upsilon_pred[t]).T
            M = symmetrize(np.eye(n) + U_P @ emission[3] @ U_P.T)
            if not _pivots_ok(M):
                raise _failure(t, FAIL_INFO, form)
            d_M = np.diag(np.linalg.cholesky(M))
            if (d_M.max() / d_M.min()) ** 2 > INFO_MAX_COND:
                raise _failure(t, FAIL_INFO_COND, form)
        try:
            mu_post, Sigma_post, gain, Sigma_y, log_ev = _bayes_invert_step(mu_pred[t], Upsilon_pred[t], C, c,
                                                                            Sigma_y_x, emission, y[t], form)
        except np.linalg.LinAlgError:
            raise _failure(t, FAIL_INNOVATION if form == "covariance" else FAIL_INFO, form) from None
        mu_filt[t], K[t] = mu_post, gain
        if log_ev is not None:                                       # the information form's comes below
            log_p_y[t] = log_ev
        if form == "covariance" and np.trace(Sigma_y) > JOSEPH_RATIO * lam_min_R:
            # Joseph form of Eq. 2.47's covariance: (I - K C) Upsilon_pred (I - K C)^T + K Sigma_y|x K^T,
            # a sum of positive semidefinite terms (see the precision notes)
            I_KC = np.eye(n) - gain @ C
            Upsilon_filt[t] = symmetrize(I_KC @ Upsilon_pred[t] @ I_KC.T + gain @ Sigma_y_x @ gain.T)
        else:
            Upsilon_filt[t] = Sigma_post
            # log p(y_t | ...) with its quadratic form as a sum of two squares, as the kernel computes it:
            # e^T Sigma_y|x^{-1} e + d^T Upsilon_pred^{-1} d (d = K r, the correction mu_filt - mu_pred formed
            # from the innovation r = y_t - c - C mu_pred, not as that difference, which cancels to rounding
            # when the prediction is nearly exact while Upsilon_pred^{-1} is huge; e = r - C d)
            # and log|Sigma_y| = log|Sigma_y|x| + log|Upsilon_pred| - log|Upsilon_filt| (determinant lemma)
            r = y[t] - c - C @ mu_pred[t]
            d = gain @ r
            e = r - C @ d
            L_P = np.linalg.cholesky(Upsilon_pred[t])
            quad = np.sum(solve_triangular(L_R, e, lower=True) ** 2) + np.sum(solve_triangular(L_P, d, lower=True) ** 2)
            logdet = 2.0 * np.sum(np.log(np.diag(L_R))) + 2.0 * np.sum(np.log(np.diag(L_P))) \
                - np.linalg.slogdet(Sigma_post)[1]
            log_p_y[t] = -0.5 * (quad + logdet + m * np.log(TAU))
    # the first step whose output is not finite, as the kernels' step_is_finite finds it
    finite = np.isfinite(log_p_y)
    for x in (mu_pred, mu_filt, np.diagonal(Upsilon_pred, axis1=1, axis2=2),
              np.diagonal(Upsilon_filt, axis1=1, axis2=2)):
        finite &= np.isfinite(x).all(axis=1)
    if not finite.all():
        raise _failure(int(np.argmin(finite)), FAIL_OVERFLOW, form)
    return (mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, K, log_p_y, float(np.sum(log_p_y))), np.zeros((0, n, n))


def _emission_constants(C, Sigma_y_x) -> tuple:
    r"""What every measurement update of one sequence shares: ``(L_R, diagonal, R_inv_C, G, logdet_R)``, the lower
    Cholesky factor of ``Sigma_y_x``, whether it is diagonal, :math:`\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C`,
    :math:`\mathbf G = \mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C` and
    :math:`\log|\boldsymbol\Sigma_{\hat y|\hat x}|`."""
    L_R = np.linalg.cholesky(Sigma_y_x)
    d = np.diag(Sigma_y_x)
    diagonal = not np.any(Sigma_y_x - np.diag(d))
    R_inv_C = C / d[:, None] if diagonal else chol_solve(L_R, C)
    logdet_R = float(np.sum(np.log(d))) if diagonal else 2.0 * float(np.sum(np.log(np.diag(L_R))))
    return L_R, diagonal, R_inv_C, C.T @ R_inv_C, logdet_R


def _bayes_invert_step(mu_x, P, C, c, Sigma_y_x, emission, y_t, form) -> tuple:
    r"""BAYES-INVERT of Section 2.1.2 for one observation, on inputs the filter has validated: the posterior
    mean and covariance, the gain, the marginal covariance of ``y_t`` (covariance form; ``None`` in the
    information form) and :math:`\log\hat p(\mathbf y_t)` (covariance form; ``None`` in the information
    form, whose caller computes it as a sum of two squares, see :func:`_filter_numpy`).

    ``"covariance"``: Eqs. 2.24-2.27 and 2.16-2.18 (factors the ``m x m`` marginal covariance);
    ``"information"``: Eqs. 2.13-2.15 (factors ``n x n`` matrices). ``emission`` is :func:`_emission_constants`' tuple. Raises ``numpy.linalg.LinAlgError`` when a
    factorization fails.
    """
    L_R, diagonal, R_inv_C, G, logdet_R = emission
    n, m = mu_x.shape[0], c.shape[0]
    mu_y = C @ mu_x + c                                          # Eq. 2.16
    r = y_t - mu_y
    if form == "covariance":
        Sigma_y = symmetrize(C @ P @ C.T + Sigma_y_x)            # Eq. 2.17
        L_y = np.linalg.cholesky(Sigma_y)
        gain = chol_solve(L_y, C @ P).T                          # Eq. 2.25: K = P C^T Sigma_y^{-1}
        mu = mu_x + gain @ r                                     # Eq. 2.27
        Sigma = symmetrize(P - gain @ Sigma_y @ gain.T)
        white = solve_triangular(L_y, r, lower=True, check_finite=False)
        log_ev = -0.5 * (white @ white) - 0.5 * chol_logdet(L_y) - 0.5 * m * np.log(TAU)    # Eq. 2.18
        return mu, Sigma, gain, Sigma_y, float(log_ev)
    L_x = np.linalg.cholesky(P)
    precision = symmetrize(G + chol_solve(L_x, np.eye(n)))      # Eq. 2.14
    L_post = np.linalg.cholesky(precision)
    Sigma = symmetrize(chol_solve(L_post, np.eye(n)))
    gain = Sigma @ R_inv_C.T                                     # Eq. 2.15: K = Sigma_{x|y} C^T Sigma_y|x^{-1}
    R_inv = (lambda v: v / np.diag(Sigma_y_x)) if diagonal else (lambda v: chol_solve(L_R, v))  # Sigma_y|x^{-1} v
    mu = chol_solve(L_post, R_inv(y_t - c) @ C + chol_solve(L_x, mu_x))                          # Eq. 2.13
    # no log evidence here: Woodbury's r^T Sigma_y|x^{-1} r - b^T Sigma_{x|y} b cancels when Sigma_y|x is tiny
    # (3.5e-4 off on |log p| = 131 at 1e-12, n = 3, m = 5); the filter forms it as two sums of squares
    return mu, Sigma, gain, None, None


def _pivots_ok(S) -> bool:
    """NumPy twin of the kernels' pivot test in :func:`pedagogy_lib.core.kernels.chol_upper`: is ``S`` positive definite to working precision?"""
    try:
        L = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.diag(L) ** 2 > SPD_ULPS * S.shape[0] * EPS * np.diag(S)))


def _rts_numpy(A, mu_pred, Upsilon_pred, mu_filt, Upsilon_filt):
    """Readable reference for the RTS backward pass: future conditioning then MARGINALIZE per step.

    It reads only the transition matrix ``A`` and the filter output: no emission parameter and no
    observation (Section 2.2: the smoother does not re-access the data).
    """
    T, n = mu_filt.shape
    mu_smooth = np.zeros((T, n))
    Upsilon_smooth = np.zeros((T, n, n))
    J = np.zeros((max(T - 1, 0), n, n))
    Upsilon_cross = np.zeros((max(T - 1, 0), n, n))
    mu_smooth[T - 1], Upsilon_smooth[T - 1] = mu_filt[T - 1], Upsilon_filt[T - 1]   # base case: smoother = filter at T
    for t in range(T - 2, -1, -1):
        # FUTURE CONDITIONING (Eq. 2.53) = BAYES-INVERT(filter at t, transition) on fragment A, i.e.
        # Eqs. 2.25-2.27 with C -> A and Sigma_y|x -> Sigma_x. The marginal that the inversion needs,
        # N(mu_pred[t+1], Upsilon_pred[t+1]), was already computed by the time update (the draft's remark after Eq. 2.53), so we use
        # the forms of Eq. 2.53 written with it: gain J_t and covariance Upsilon_{t|t+1,T} (Eq. 2.52).
        L_pred = np.linalg.cholesky(Upsilon_pred[t + 1])
        J[t] = chol_solve(L_pred, A @ Upsilon_filt[t]).T             # J_t = Upsilon_filt A^T Upsilon_pred^{-1}
        Upsilon_future = symmetrize(Upsilon_filt[t] - J[t] @ Upsilon_pred[t + 1] @ J[t].T)
        # BACKWARD STEP (Eq. 2.54) = MARGINALIZE(smoother at t+1, future-conditioned): the Eq. 2.26 roles
        # are source N(mu_smooth[t+1], Upsilon_smooth[t+1]), matrix J_t, offset mu_filt - J_t mu_pred[t+1],
        # noise Upsilon_{t|t+1,T}.
        offset_back = mu_filt[t] - J[t] @ mu_pred[t + 1]
        # (written out, as the time update: Upsilon_future may be singular to working precision)
        mu_smooth[t] = J[t] @ mu_smooth[t + 1] + offset_back
        Upsilon_smooth[t] = symmetrize(J[t] @ Upsilon_smooth[t + 1] @ J[t].T + Upsilon_future)
        # CROSS-COVARIANCE (Eq. 2.55) = the Eq. 2.19 block "Sigma_x C^T" of the same fragment.
        Upsilon_cross[t] = Upsilon_smooth[t + 1] @ J[t].T
    return mu_smooth, Upsilon_smooth, J, Upsilon_cross


# ------------------------------------------------------------------------------------------------
# Checking a filter result handed to rts_smoother
# ------------------------------------------------------------------------------------------------

def _check_filter_result(A, filt) -> tuple:
    if not isinstance(filt, (KalmanFilterResult, KalmanSmootherResult)):
        raise TypeError(f"filt must be a KalmanFilterResult; got {type(filt).__name__}.")
    A = as_array(A, "A", ndim=2, dims="(n, n)")
    n = A.shape[0]
    check_shape(A, "A", (n, n), dims="(n, n)")
    mu_filt = as_array(filt.mu_filt, "filt.mu_filt", ndim=2, dims="(T, n)")
    T = mu_filt.shape[0]
    check_shape(mu_filt, "filt.mu_filt", (T, n), dims="(T, n)")
    mu_pred = as_array(filt.mu_pred, "filt.mu_pred", shape=(T, n), dims="(T, n)")
    Upsilon_filt = as_array(filt.Upsilon_filt, "filt.Upsilon_filt", shape=(T, n, n), dims="(T, n, n)")
    Upsilon_pred = as_array(filt.Upsilon_pred, "filt.Upsilon_pred", shape=(T, n, n), dims="(T, n, n)")
    if T == 0:
        raise ValueError("filt must hold at least one time step (T >= 1); got T = 0.")
    check_spd(Upsilon_pred, "filt.Upsilon_pred")             # the smoother factors every one of them
    check_psd(Upsilon_filt, "filt.Upsilon_filt")
    _check_prediction_covers_filter(A, Upsilon_pred, Upsilon_filt)
    form = check_choice(getattr(filt, "form", "covariance"), "filt.form", FORMS[1:])
    log_evidence = as_scalar(filt.log_evidence, "filt.log_evidence", finite=False)
    return A, mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, form, log_evidence


def _check_prediction_covers_filter(A, Upsilon_pred, Upsilon_filt) -> None:
    r"""Raise unless ``Upsilon_pred[t+1] - A Upsilon_filt[t] A^T`` is positive semidefinite for every ``t``.

    A filter gives :math:`\boldsymbol\Upsilon_{t+1|t} = \mathbf A\boldsymbol\Upsilon_{t|t}\mathbf A^T +
    \boldsymbol\Sigma_{\hat x}`, so the difference is the transition noise. It is also exactly the condition
    under which the backward pass keeps every smoothed covariance positive semidefinite: a filter result
    built or edited by hand that breaks it (for example a singular ``Upsilon_filt`` next to an unrelated
    ``Upsilon_pred``) would give negative smoothed variances, so it is refused here.
    """
    if Upsilon_filt.shape[0] < 2:
        return
    D = Upsilon_pred[1:] - A @ Upsilon_filt[:-1] @ A.T
    lam = np.linalg.eigvalsh(symmetrize(D))[:, 0]
    scale = np.maximum(np.abs(np.diagonal(Upsilon_pred[1:], axis1=1, axis2=2)).max(axis=1), 1e-300)
    tol = PSD_RTOL * A.shape[0] * scale
    bad = lam < -tol
    if bad.any():
        t = int(np.argmax(bad))
        raise ValueError(f"filt.Upsilon_filt[{t}] is inconsistent with filt.Upsilon_pred[{t + 1}] and A: "
                         f"Upsilon_pred[{t + 1}] - A Upsilon_filt[{t}] A^T (the transition noise of a filter) must be "
                         f"positive semidefinite; its smallest eigenvalue is {lam[t]:.3g} (tolerance -{tol[t]:.2g}). "
                         "Pass the output of kalman_filter unchanged.")


