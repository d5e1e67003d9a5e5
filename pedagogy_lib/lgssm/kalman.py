r"""Kalman filter and Rauch-Tung-Striebel smoother for the state-space model (book Section 2.2.2).

The linear-Gaussian state-space model (LGSSM) of Section 2.2.2, with the initial prior of Eq. 2.49:

.. math::
    \hat{\mathbf X}_1 \sim \mathcal N(\boldsymbol\mu_1, \boldsymbol\Sigma_1), \qquad
    \hat p(\mathbf x_t\mid\mathbf x_{t-1}) = \mathcal N(\mathbf A\mathbf x_{t-1} + \mathbf B\mathbf u_{t-1}
        + \mathbf a, \boldsymbol\Sigma_{\hat x}), \qquad
    \hat p(\mathbf y_t\mid\mathbf x_t) = \mathcal N(\mathbf C\mathbf x_t + \mathbf c, \boldsymbol\Sigma_{\hat y|\hat x}).

Every step of the filter and the smoother is one of the two jointly Gaussian building blocks of
Section 2.1.2 (:func:`pedagogy_lib.gaussian.marginalize` and
:func:`pedagogy_lib.gaussian.bayes_invert`) with the roles of its arguments renamed:

* measurement update = BAYES-INVERT, source ``mu_pred[t]``, ``Upsilon_pred[t]``; emission ``C``,
  ``c``, ``Sigma_y_x`` (Eq. 2.47 from Eq. 2.27; its normalizer is the factor of Eq. 2.40);
* time update = MARGINALIZE, source ``mu_filt[t]``, ``Upsilon_filt[t]``; "emission" ``A``,
  ``B u[t] + a``, ``Sigma_x`` (Eq. 2.48 from Eq. 2.26);
* future conditioning = BAYES-INVERT with the same roles as the time update; its gain is ``J[t]``
  (Eq. 2.53);
* backward step = MARGINALIZE, source ``mu_smooth[t+1]``, ``Upsilon_smooth[t+1]``; "emission"
  ``J[t]``, ``mu_filt[t] - J[t] mu_pred[t+1]``, :math:`\boldsymbol\Upsilon_{t|t+1,T}` (Eq. 2.54), and
  the cross-covariance block of Eq. 2.19 is Eq. 2.55.

The NumPy reference implementation (``backend="numpy"``) calls BAYES-INVERT for the measurement
update and writes the two MARGINALIZE steps out (one line each: that function insists on a positive
definite source, and a filter covariance may be singular to working precision); the
numba kernels (``backend="numba"``, the default) do the same algebra with explicit loops. One
difference in bookkeeping: :func:`kalman_smoother`'s kernel computes the gains ``J[t]`` during the
forward pass, when ``A Upsilon_filt[t]`` and the factor of ``Upsilon_pred[t+1]`` are at hand (the
draft notes that J does not depend on future data); :func:`rts_smoother`, which starts from a
filter result, computes them in a separate pass from ``A`` and the filter output only.

Measurement update forms (``form=``): ``"covariance"`` factors the ``m x m`` innovation covariance
(Eq. 2.47); ``"information"`` adds precisions (Eqs. 2.13-2.14 roles) and factors only ``n x n``
matrices, with :math:`\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C` computed once;
``"auto"`` picks the information form when ``m > 2 n`` *and* the observations are not too precise
for it (the rule below).

Precision and nearly exact observations. The subtraction of Eq. 2.47,
:math:`\boldsymbol\Upsilon_{t|t-1}-\mathbf K_t\boldsymbol\Sigma_{\hat y}\mathbf K_t^T`, loses about
:math:`\log_{10}(\mathrm{tr}\,\boldsymbol\Sigma_{\hat y}/\lambda_{\min}(\boldsymbol\Sigma_{\hat y|\hat x}))`
digits and can round into an indefinite matrix when the observation noise is tiny. When that ratio
exceeds ``1e6`` (``JOSEPH_RATIO``) the covariance form uses the Joseph form instead,
:math:`(\mathbf I-\mathbf K\mathbf C)\boldsymbol\Upsilon_{t|t-1}(\mathbf I-\mathbf K\mathbf C)^T
+ \mathbf K\boldsymbol\Sigma_{\hat y|\hat x}\mathbf K^T`, equal in exact arithmetic and a sum of
positive semidefinite terms (below the threshold the cheaper subtraction keeps ten
digits or more).

The information form adds the prior precision to
:math:`\mathbf G = \mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C`. When the observations are
precise in some directions of the state and silent in others (``G`` singular or nearly so, e.g. ``m < n``
with a tiny noise), that sum is dominated by ``G`` where ``G`` is large and the prior's digits elsewhere are
lost: with ``I + U G U^T`` (``U^T U = Upsilon_pred``) of condition number ``10^k`` the filter mean keeps
about ``16 - k`` digits (at ``1e12``, four, where the covariance form keeps all of them). The kernels
estimate that condition number at every step and raise a ``ValueError`` above ``1e10``. When every
direction is observed precisely (``m > n``, ``G`` well conditioned) the information form is the accurate
one: its log evidence uses the quadratic form as a sum of two squares (posterior residual and prior
term), never Woodbury's difference of two terms of size ``1 / noise``, while the covariance form's
innovation covariance is then nearly singular. ``form="auto"`` uses the information form when ``m > 2 n``
and the estimate :func:`info_form_condition` of that condition number, from the eigenvalues of ``G`` and
of :math:`\boldsymbol\Sigma_{\hat x}` and :math:`\boldsymbol\Sigma_1`, is at most
``AUTO_MAX_DIGITS_LOST_RATIO`` (``1e8``); otherwise the covariance form. Where a factorization meets a
pivot at rounding level (for example an innovation covariance
:math:`\mathbf C\boldsymbol\Upsilon_{t|t-1}\mathbf C^T + \boldsymbol\Sigma_{\hat y|\hat x}` with
``m > n`` and a noise ``1e-16`` times the state scale, singular in float64), the filter raises
a ``ValueError`` naming the step and the matrix; it never returns NaN.

Time indexing (stated once): code is 0-based and **row t is the book's t + 1**. ``y[t]`` is
:math:`\mathbf y_{t+1}`; ``mu_pred[0]`` is the prior mean :math:`\bar{\mathbf x}_{1|0} = \boldsymbol\mu_1`;
``u[t]`` is :math:`\mathbf u_{t+1}` and drives the transition from row ``t`` into row ``t + 1``, so a
sequence of length ``T`` needs ``T - 1`` controls; ``J[t]`` and ``Upsilon_cross[t]`` link rows ``t``
and ``t + 1``.

Shapes: ``n`` latent dimensions, ``m`` observed dimensions, ``n_u`` control dimensions, ``T``
time steps.

Conventions chosen here (the draft leaves them open):

* No control: pass ``B=None`` (or a ``(n, 0)`` array) and ``u=None``.
* Missing observations: a row of ``y`` that is entirely NaN skips the measurement update at that
  step (the filter equals the prediction, the gain is zero, and the step contributes 0 to the log
  evidence). A row that is only *partly* NaN is rejected with a ``ValueError``: drop those
  coordinates from the model yourself if that is what you mean.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.linalg import solve_triangular

from ..core.checks import (PSD_RTOL, as_array, as_scalar, check_backend, check_choice, check_psd, check_shape,
                           check_spd)
from ..core.jit import HAVE_NUMBA
from ..core.kernels import EPS, SPD_ULPS
from ..core.linalg import TAU, chol_solve, symmetrize
from ..gaussian.blocks import bayes_invert
from . import kernels
from .kernels import FAIL_INFO, FAIL_INFO_COND, FAIL_INNOVATION, FAIL_PRED, INFO_MAX_COND, JOSEPH_RATIO
from .model import MAX_MAGNITUDE, LGSSMParams, check_params_factored, check_u, check_y

__all__ = [
    "KalmanFilterResult",
    "KalmanSmootherResult",
    "kalman_filter",
    "kalman_smoother",
    "rts_smoother",
]

FORMS = ("auto", "covariance", "information")
#: ``form="auto"`` uses the information form when ``m > INFORMATION_RATIO * n``.
INFORMATION_RATIO = 2
#: ... and only when ``lambda_max(C^T Sigma_y_x^{-1} C)`` times the state scale is at most this (see above).
AUTO_MAX_DIGITS_LOST_RATIO = 1e8
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
# Validation (once, at the boundary)
# ------------------------------------------------------------------------------------------------

def _resolve_form(form: str, p: LGSSMParams, L_R=None) -> str:
    """The measurement-update form; ``"auto"`` weighs the cost (``m > 2 n``) and the precision lost.

    ``L_R`` is the lower Cholesky factor of ``Sigma_y_x`` when the caller has it."""
    check_choice(form, "form", FORMS)
    n, m = p.mu1.shape[0], p.c.shape[0]
    if form != "auto":
        return form
    if m <= INFORMATION_RATIO * n:
        return "covariance"
    if L_R is None:
        L_R = np.linalg.cholesky(p.Sigma_y_x)                # validated positive definite
    W = solve_triangular(L_R, p.C, lower=True, check_finite=False)
    lam_G = np.linalg.eigvalsh(symmetrize(W.T @ W))           # eigenvalues of C^T Sigma_y_x^{-1} C
    lam_prior = np.concatenate([np.linalg.eigvalsh(p.Sigma_x), np.linalg.eigvalsh(p.Sigma1)])
    return "information" if info_form_condition(lam_G, lam_prior) <= AUTO_MAX_DIGITS_LOST_RATIO else "covariance"


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


def _information_precompute(C, c, Sigma_y_x, y, L_R=None):
    r"""The information form's time-invariant work, done once for the whole sequence.

    With a diagonal :math:`\boldsymbol\Sigma_{\hat y|\hat x} = \mathbf D` the observations are used as
    they are, with weights ``w`` :math:`=\mathbf D^{-1}` (m,). Otherwise the observations are *whitened*
    once: with :math:`\boldsymbol\Sigma_{\hat y|\hat x} = \mathbf L\mathbf L^T` (one Cholesky
    factorization), :math:`\tilde{\mathbf y}_t = \mathbf L^{-1}(\mathbf y_t - \mathbf c)` for every
    ``t`` (one triangular solve with ``T`` right-hand sides) and :math:`\tilde{\mathbf C} =
    \mathbf L^{-1}\mathbf C`, a model with the same posterior and unit observation noise, so
    ``w`` is all ones and each time step costs ``O(n m)`` instead of the ``O(m^2)`` of a triangular solve.

    Returns ``C_eff`` (m, n), ``Ct_eff`` (n, m), ``c_eff`` (m,), ``y_eff`` (T, m): the emission and
    observations the kernel works with; ``w`` (m,); ``WC`` :math:`= \mathrm{diag}(\mathbf w)\,
    \mathbf C_{\rm eff}`; ``CtRinv`` :math:`=\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}`
    (n, m), for the gain; ``G`` :math:`=\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C`
    (n, n); and ``logdet_R`` :math:`=\log|\boldsymbol\Sigma_{\hat y|\hat x}|`.
    """
    d = np.diag(Sigma_y_x)
    if not np.any(Sigma_y_x - np.diag(d)):     # diagonal: O(m), observations used as they are
        w = 1.0 / d
        C_eff, c_eff, y_eff = C, c, y
        WC = C * w[:, None]
        CtRinv = WC.T
        logdet_R = float(np.sum(np.log(d)))
    else:                                      # dense: whiten once
        if L_R is None:                        # (validation usually passes the factor it computed)
            L_R = np.linalg.cholesky(Sigma_y_x)
        # (inputs are validated: no finiteness scan; y - c is a fresh array, solved in place)
        C_eff = solve_triangular(L_R, C, lower=True, check_finite=False)                  # L^{-1} C
        y_eff = solve_triangular(L_R, (y - c).T, lower=True, check_finite=False,
                                 overwrite_b=True).T                                       # L^{-1}(y_t - c), all t
        c_eff = np.zeros_like(c)
        w = np.ones_like(c)
        WC = C_eff
        CtRinv = solve_triangular(L_R, C_eff, lower=True, trans="T", check_finite=False).T  # C^T L^{-T} L^{-1}
        logdet_R = 2.0 * float(np.sum(np.log(np.diag(L_R))))
    G = symmetrize(WC.T @ C_eff)
    cont = np.ascontiguousarray
    return (cont(C_eff), cont(C_eff.T), cont(c_eff), cont(y_eff), cont(w), cont(WC), cont(CtRinv), cont(G),
            logdet_R)


# ------------------------------------------------------------------------------------------------
# NumPy reference: the Section 2.1.2 building blocks, with their roles renamed (the spec)
# ------------------------------------------------------------------------------------------------

def _kalman_filter_numpy(mu1, Sigma1, A, B, u, a, Sigma_x, C, c, Sigma_y_x, y, observed, form):
    """Readable reference for :func:`kalman_filter`: one MARGINALIZE and one BAYES-INVERT per step."""
    T, n, m = y.shape[0], mu1.shape[0], c.shape[0]
    mu_pred = np.zeros((T, n))
    Upsilon_pred = np.zeros((T, n, n))
    mu_filt = np.zeros((T, n))
    Upsilon_filt = np.zeros((T, n, n))
    K = np.zeros((T, n, m))
    log_p_y = np.zeros(T)
    mu_pred[0], Upsilon_pred[0] = mu1, Sigma1                       # Eq. 2.49: x_{1|0} = mu_1, Upsilon_{1|0} = Sigma_1
    lam_min_R = np.linalg.eigvalsh(Sigma_y_x)[0]
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
            raise _definiteness_error(t, FAIL_INNOVATION, form)
        if form == "information":
            # the kernel's check on M = I + U_P G U_P^T (Upsilon_pred = U_P^T U_P, G = C^T Sigma_y|x^{-1} C)
            U_P = np.linalg.cholesky(Upsilon_pred[t]).T
            G = C.T @ np.linalg.solve(Sigma_y_x, C)
            M = symmetrize(np.eye(n) + U_P @ G @ U_P.T)
            if not _pivots_ok(M):
                raise _definiteness_error(t, FAIL_INFO, form)
            d_M = np.diag(np.linalg.cholesky(M))
            if (d_M.max() / d_M.min()) ** 2 > INFO_MAX_COND:
                raise _definiteness_error(t, FAIL_INFO_COND, form)
        try:
            post = bayes_invert(mu_pred[t], Upsilon_pred[t], C, c, Sigma_y_x, y[t], form=form)
        except (ValueError, np.linalg.LinAlgError):
            raise _definiteness_error(t, FAIL_INNOVATION if form == "covariance" else FAIL_INFO, form) from None
        mu_filt[t], K[t], log_p_y[t] = post.mu, post.gain, post.log_evidence
        if form == "covariance" and np.trace(post.Sigma_y) > JOSEPH_RATIO * lam_min_R:
            # Joseph form of Eq. 2.47's covariance: (I - K C) Upsilon_pred (I - K C)^T + K Sigma_y|x K^T,
            # a sum of positive semidefinite terms (the kernel's comment says why and when)
            I_KC = np.eye(n) - post.gain @ C
            Upsilon_filt[t] = symmetrize(I_KC @ Upsilon_pred[t] @ I_KC.T + post.gain @ Sigma_y_x @ post.gain.T)
        else:
            Upsilon_filt[t] = post.Sigma
            # log p(y_t | ...) with its quadratic form as a sum of two squares, as the kernel computes it:
            # e^T Sigma_y|x^{-1} e + d^T Upsilon_pred^{-1} d (e = y_t - c - C mu_filt, d = mu_filt - mu_pred)
            # and log|Sigma_y| = log|Sigma_y|x| + log|Upsilon_pred| - log|Upsilon_filt| (determinant lemma)
            e, d = y[t] - c - C @ post.mu, post.mu - mu_pred[t]
            L_R, L_P = np.linalg.cholesky(Sigma_y_x), np.linalg.cholesky(Upsilon_pred[t])
            quad = np.sum(solve_triangular(L_R, e, lower=True) ** 2) + np.sum(solve_triangular(L_P, d, lower=True) ** 2)
            logdet = 2.0 * np.sum(np.log(np.diag(L_R))) + 2.0 * np.sum(np.log(np.diag(L_P))) \
                - np.linalg.slogdet(post.Sigma)[1]
            log_p_y[t] = -0.5 * (quad + logdet + m * np.log(TAU))
    return mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, K, log_p_y


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
# Public functions
# ------------------------------------------------------------------------------------------------

def _run_filter(p, y, observed, u, form, backend, want_J=False, L_R=None):
    """Dispatch the forward pass; returns the six filter arrays and ``J`` (numba with ``want_J``) or None.

    ``L_R``: the lower Cholesky factor of ``Sigma_y_x`` from validation (whitens in the information form)."""
    n, m = p.mu1.shape[0], p.c.shape[0]
    if backend == "numpy":
        return _kalman_filter_numpy(p.mu1, p.Sigma1, p.A, p.B, u, p.a, p.Sigma_x, p.C, p.c, p.Sigma_y_x,
                                    y, observed, form), None
    T = y.shape[0]
    out = kernels.FilterArrays(np.empty((T, n)), np.empty((T, n, n)), np.empty((T, n)), np.empty((T, n, n)),
                               np.empty((T, n, m)), np.empty(T), np.empty((max(T - 1, 0) if want_J else 0, n, n)))
    model = kernels.KernelModel(p.A, np.ascontiguousarray(p.A.T), p.B, p.a, p.Sigma_x, p.C,
                                np.ascontiguousarray(p.C.T), p.c, p.Sigma_y_x)
    if form == "information":
        C, Ct, c, y, *constants = _information_precompute(p.C, p.c, p.Sigma_y_x, y, L_R)
        model = model._replace(C=C, Ct=Ct, c=c)
        t_fail, kind = kernels.filter_information(p.mu1, p.Sigma1, model, kernels.InfoConstants(*constants),
                                                  u, y, observed, out, kernels.step_flavour(*y.shape[1:], *p.A.shape))
    else:
        t_fail, kind = kernels.filter_covariance(p.mu1, p.Sigma1, model, u, y, observed, out,
                                                 kernels.step_flavour(*y.shape[1:], *p.A.shape))
    if t_fail >= 0:
        raise _definiteness_error(t_fail, kind, form)
    return out[:6], (out.J if want_J else None)


def _run_filter_resolved(p, y, observed, u, requested, form, backend, want_J=False, L_R=None):
    """:func:`_run_filter` in the resolved ``form``; returns ``(out, J, form_used)``.

    With ``requested == "auto"`` a form that meets a rounding failure (a ``ValueError`` from
    :func:`_definiteness_error` or :func:`_check_finite_run`) is not the end: the other form is tried,
    and the first that completes is used. The cost rule of :func:`_resolve_form` picks the order; nearly
    noiseless observations with ``n < m <= 2 n`` (the innovation covariance singular in float64, the
    information form exact) are the case it rescues. When both fail, the error of the first is raised,
    saying both were tried.
    """
    try:
        out, J = _attempt_filter(p, y, observed, u, form, backend, want_J, L_R)
        return out, J, form
    except ValueError as first:
        if requested != "auto":
            raise
        other = "information" if form == "covariance" else "covariance"
        try:
            out, J = _attempt_filter(p, y, observed, u, other, backend, want_J, L_R)
        except ValueError:
            raise ValueError(f"{first} (form=\"auto\" tried both the {form} and the {other} form; both failed.)") \
                from None
        return out, J, other


def _attempt_filter(p, y, observed, u, form, backend, want_J, L_R):
    """One forward pass in ``form``; every failure, overflow included, is a ``ValueError`` naming the step."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):     # an overflow is reported below, by step
            out, J = _run_filter(p, y, observed, u, form, backend, want_J=want_J, L_R=L_R)
    except np.linalg.LinAlgError:
        # the NumPy twin's factorizations meet the same failures as the kernel's pivot test, and an
        # overflowed (infinite) covariance too; the step is not known here
        raise ValueError(f"The Kalman filter failed in the {form} form: a covariance lost positive definiteness "
                         "or overflowed float64. Rescale the model, use a larger observation noise Sigma_y_x, or "
                         "the other form.") from None
    _check_finite_run(out)
    return out, J


def _check_finite_run(out) -> None:
    """Raise a ``ValueError`` naming the first step where the filter's output stopped being finite.

    Finite, valid parameters can still overflow float64: a transition ``A`` with a spectral radius of
    ``1e150`` squares it into the predicted covariance at the first step. The filter then has no
    representable answer, and says so instead of returning infinities or NaN.
    """
    mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, _, log_p_y = out
    # the common case in five sums: a finite total means every entry is finite (a sum of finite
    # numbers that overflows is not finite, and is sorted out row by row below)
    total = 0.0
    for x in (log_p_y, mu_filt, Upsilon_filt, mu_pred, Upsilon_pred):
        total += np.add.reduce(x, axis=None)             # np.sum's work without its Python layers
    if math.isfinite(total):
        return
    T = mu_pred.shape[0]
    bad = ~(np.isfinite(mu_pred).reshape(T, -1).all(axis=1) & np.isfinite(Upsilon_pred).reshape(T, -1).all(axis=1)
            & np.isfinite(mu_filt).reshape(T, -1).all(axis=1) & np.isfinite(Upsilon_filt).reshape(T, -1).all(axis=1)
            & np.isfinite(log_p_y))
    if bad.any():
        t = int(np.argmax(bad))
        raise ValueError(f"The Kalman filter overflowed at time step t = {t} (row {t} of y, the book's t = {t + 1}): "
                         "its means or covariances are no longer finite in float64. The parameters (A, Sigma_x, C, "
                         "Sigma_y_x) or y are too far out of scale; rescale the model.")


def _definiteness_error(t: int, kind: int, form: str) -> ValueError:
    """The ``ValueError`` raised when a factorization inside the filter meets a non-positive pivot."""
    if kind == FAIL_INFO_COND:
        return ValueError(
            f"The Kalman filter failed at time step t = {t} (row {t} of y, the book's t = {t + 1}): in the "
            f"information form, Upsilon_pred[t]^{{-1}} + C^T Sigma_y_x^{{-1}} C is dominated by the observation "
            f"precision in some directions and not others (condition number above {INFO_MAX_COND:.0e}), so the "
            f"filter mean would keep fewer than about six digits. Use form=\"covariance\" (or form=\"auto\").")
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
    return ValueError(f"The Kalman filter failed at time step t = {t} (row {t} of y, the book's t = {t + 1}): "
                      f"{what} lost positive definiteness to rounding (a Cholesky pivot at or below "
                      f"{SPD_ULPS:g} x n x machine epsilon of its diagonal entry). {advice}.")


def _run_backward(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, J):
    """Allocate the smoother outputs and run the numba backward kernel; returns (mu, Upsilon, J, cross)."""
    T, n = mu_filt.shape
    mu_smooth, Upsilon_smooth = np.empty((T, n)), np.empty((T, n, n))
    Upsilon_cross = np.empty((max(T - 1, 0), n, n))
    kernels.rts_backward(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, J, mu_smooth, Upsilon_smooth, Upsilon_cross,
                         kernels.step_flavour(n))
    return mu_smooth, Upsilon_smooth, J, Upsilon_cross


def _clean_lane(params, y, u, form: str, backend: str, smooth: bool):
    """The result of :func:`kalman_filter` or :func:`kalman_smoother` by one compiled call, or ``None``.

    For a clean problem (an ``LGSSMParams`` of float64 C-contiguous arrays, no controls, ``y`` complete,
    every entry within ``MAX_MAGNITUDE``, the covariances clearly positive definite, fewer than 16
    dimensions (``kernels.LOOPS_ONLY_MAX_DIM``: the lane runs the loops-only step loops), the covariance
    form or ``"auto"`` choosing it) the screening of the full checks and the
    recursions run in :func:`~pedagogy_lib.lgssm.kernels.smooth_if_clean` (or ``filter_if_clean``):
    the same kernels on the same arrays, so the same numbers. A short sequence under a slider costs
    several times less. The kernels are sealed to one signature (``kernels.CLEAN_SIGNATURE``) on the
    lane's first use, so numba's dispatch checks the dtypes, layouts and dimensions: any other array
    raises ``TypeError`` there. Anything else, and any check the screen cannot decide, returns ``None``,
    and the full path validates, explains and computes.
    """
    global _LANE_SEALED
    if backend != "numba" or not HAVE_NUMBA or u is not None or type(params) is not LGSSMParams \
            or form not in ("auto", "covariance"):
        return None
    mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x = params
    # exact ndarrays only (a masked array's mask would be ignored), and no control matrix
    if B is not None or not (type(mu1) is type(Sigma1) is type(A) is type(a) is type(Sigma_x) is type(C)
                             is type(c) is type(Sigma_y_x) is type(y) is np.ndarray):
        return None
    if form == "auto" and c.size > INFORMATION_RATIO * mu1.size:       # "auto" may pick the information form
        return None
    if not _LANE_SEALED:
        kernels.seal_clean_lane()
        _LANE_SEALED = True
    try:
        res = (kernels.smooth_if_clean if smooth else kernels.filter_if_clean)(
            mu1, Sigma1, A, a, Sigma_x, C, c, Sigma_y_x, y, MAX_MAGNITUDE)
    except (TypeError, ValueError):       # not float64, not C-contiguous, read-only or of other dimensions
        return None
    if not res[0]:
        return None
    # the result's fields in order (tuple.__new__ is what a NamedTuple's own constructor calls)
    return tuple.__new__(KalmanSmootherResult if smooth else KalmanFilterResult, res[1:] + ("covariance",))


#: Whether :func:`_clean_lane` has sealed its kernels (``kernels.seal_clean_lane``), once per process.
_LANE_SEALED = False


def _log_evidence(log_p_y, backend: str) -> float:
    """Eq. 2.40's sum of the per-step terms: by the compiled pairwise sum on the numba backend (the one
    the clean lane uses, so both lanes agree to the last bit), by NumPy's on the NumPy twin."""
    if backend == "numba":
        return float(kernels.log_evidence_total(log_p_y))
    return float(np.sum(log_p_y))


def kalman_filter(params: LGSSMParams, y, u=None, *, form: str = "auto",
                  backend: str = "numba") -> KalmanFilterResult:
    r"""Kalman filter (Section 2.2.2, Eqs. 2.45-2.49) with the log evidence of Eq. 2.40.

    Alternates the measurement update (BAYES-INVERT, Eq. 2.47) and the time update (MARGINALIZE,
    Eq. 2.48), starting from :math:`\bar{\mathbf x}_{1|0}=\boldsymbol\mu_1,
    \boldsymbol\Upsilon_{1|0}=\boldsymbol\Sigma_1` (Eq. 2.49):

    .. math::
        \mathbf K_t = \boldsymbol\Upsilon_{t|t-1}\mathbf C^T[\mathbf C\boldsymbol\Upsilon_{t|t-1}\mathbf C^T
            + \boldsymbol\Sigma_{\hat y|\hat x}]^{-1}, \quad
        \bar{\mathbf x}_{t|t} = \bar{\mathbf x}_{t|t-1} + \mathbf K_t[\mathbf y_t - (\mathbf C\bar{\mathbf x}_{t|t-1}+\mathbf c)],
        \quad \boldsymbol\Upsilon_{t|t} = \boldsymbol\Upsilon_{t|t-1} - \mathbf K_t\mathbf C\boldsymbol\Upsilon_{t|t-1},

        \bar{\mathbf x}_{t+1|t} = \mathbf A\bar{\mathbf x}_{t|t} + \mathbf B\mathbf u_t + \mathbf a, \quad
        \boldsymbol\Upsilon_{t+1|t} = \mathbf A\boldsymbol\Upsilon_{t|t}\mathbf A^T + \boldsymbol\Sigma_{\hat x}.

    The information form computes the same posterior from
    :math:`\boldsymbol\Upsilon_{t|t}^{-1} = \boldsymbol\Upsilon_{t|t-1}^{-1} + \mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C`
    (the roles of Eqs. 2.13-2.14): it factors only ``n x n`` matrices per step and precomputes
    :math:`\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C` once, so it is the form to use when
    ``m >> n`` (the neural-decoder case of Section 2.2.2); a diagonal :math:`\boldsymbol\Sigma_{\hat y|\hat x}`
    is inverted in :math:`O(m)`, and a dense one is factored once and used to whiten the whole
    observation sequence (one triangular solve with ``T`` right-hand sides), so each step costs
    :math:`O(nm)` either way.

    Parameters
    ----------
    params : LGSSMParams
        The model; covariances must be symmetric positive definite.
    y : array_like, shape (T, m)
        Observations; row ``t`` is the book's :math:`\mathbf y_{t+1}`. A row of NaN is a missing
        observation (its measurement update is skipped); partly-NaN rows are rejected.
    u : array_like, shape (T - 1, n_u), optional
        Controls; row ``t`` is the book's :math:`\mathbf u_{t+1}` and drives the transition from row
        ``t`` to row ``t + 1``. Required when ``params.B`` has columns, else omit.
    form : {"auto", "covariance", "information"}
        Measurement-update algebra; ``"auto"`` picks the information form when ``m > 2 n`` and the
        estimated condition number of its ``I + U G U^T`` (:func:`info_form_condition`, from the
        eigenvalues of :math:`\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C`,
        :math:`\boldsymbol\Sigma_{\hat x}` and :math:`\boldsymbol\Sigma_1`) is at most ``1e8``, else the
        covariance form. At condition number ``10^k`` the information form loses about ``k`` digits
        (at ``1e12`` it keeps four where the covariance form keeps all), and it refuses a step above
        ``1e10``; see the module notes on nearly exact observations. If the form ``"auto"`` chose
        meets a rounding failure, the other form is tried; the result's ``form`` says which one
        computed it.
    backend : {"numba", "numpy"}
        The compiled kernel, or the readable reference built from :mod:`pedagogy_lib.gaussian`.

    Returns
    -------
    KalmanFilterResult
        With ``form`` set to the measurement-update form used.

    Raises
    ------
    ValueError
        For a wrong shape, a covariance that is not symmetric positive definite, a non-finite
        parameter, an empty or partly-missing ``y``, or missing/unexpected controls; and when a
        covariance inside the recursion loses positive definiteness to rounding (nearly exact
        observations; the message names the step and the matrix) rather than returning NaN.

    Examples
    --------
    >>> import numpy as np
    >>> p = LGSSMParams(mu1=np.zeros(1), Sigma1=np.eye(1), A=np.eye(1), B=None, a=np.zeros(1),
    ...                 Sigma_x=np.eye(1), C=np.eye(1), c=np.zeros(1), Sigma_y_x=np.eye(1))
    >>> res = kalman_filter(p, np.array([[1.0]]))
    >>> round(float(res.mu_filt[0, 0]), 12), round(float(res.Upsilon_filt[0, 0, 0]), 12)
    (0.5, 0.5)
    """
    clean = _clean_lane(params, y, u, form, backend, False)
    if clean is not None:
        return clean
    p, (n, m, n_u), factors = check_params_factored(params)
    y, observed = check_y(y, m)
    u = check_u(u, y.shape[0], n_u)
    requested = form
    form = _resolve_form(form, p, factors.L_Sigma_y_x)
    backend = check_backend(backend)
    out, _, form = _run_filter_resolved(p, y, observed, u, requested, form, backend, L_R=factors.L_Sigma_y_x)
    return KalmanFilterResult(*out, _log_evidence(out[5], backend), form)


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


def rts_smoother(A, filt: KalmanFilterResult, *, backend: str = "numba") -> KalmanSmootherResult:
    r"""RTS backward pass (Section 2.2.2, Eqs. 2.50-2.55) from a filter result and :math:`\mathbf A` only.

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
    backend : {"numba", "numpy"}

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
    backend = check_backend(backend)
    if backend == "numba":
        J = np.empty((max(mu_filt.shape[0] - 1, 0),) + A.shape)
        t_fail = kernels.rts_gains(A, Upsilon_pred, Upsilon_filt, J, kernels.step_flavour(A.shape[0]))
        if t_fail >= 0:
            raise _definiteness_error(t_fail, FAIL_PRED, "covariance")
        smooth = _run_backward(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, J)
    else:
        smooth = _rts_numpy(A, mu_pred, Upsilon_pred, mu_filt, Upsilon_filt)
    # passed through unread (the backward pass needs no emission output), so only made arrays
    K = as_array(filt.K, "filt.K", ndim=3, dims="(T, n, m)", finite=False)
    log_p_y = as_array(filt.log_p_y, "filt.log_p_y", shape=(mu_filt.shape[0],), dims="(T,)", finite=False)
    return KalmanSmootherResult(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt, K, log_p_y, log_evidence, *smooth,
                                form)


def kalman_smoother(params: LGSSMParams, y, u=None, *, form: str = "auto",
                    backend: str = "numba") -> KalmanSmootherResult:
    r"""Kalman filter followed by the RTS smoother (Section 2.2.2, Eqs. 2.45-2.55).

    Runs :func:`kalman_filter` forward, then the backward pass of :func:`rts_smoother`, which starts
    from the filter at the last step (smoother = filter at ``t = T``) and applies future conditioning
    (Eq. 2.53) and the backward step (Eq. 2.54) at each earlier step.

    Parameters
    ----------
    params, y, u, form, backend
        As in :func:`kalman_filter`.

    Returns
    -------
    KalmanSmootherResult
        Filter fields, smoother means and covariances, the gains ``J`` and the cross-covariances
        ``Upsilon_cross[t]`` :math:`=\mathrm{Cov}[\hat{\mathbf X}_{t+1},\hat{\mathbf X}_t\mid\mathbf y_{1:T}]`.
    """
    clean = _clean_lane(params, y, u, form, backend, True)
    if clean is not None:
        return clean
    p, (n, m, n_u), factors = check_params_factored(params)
    y, observed = check_y(y, m)
    u = check_u(u, y.shape[0], n_u)
    requested = form
    form = _resolve_form(form, p, factors.L_Sigma_y_x)
    backend = check_backend(backend)
    out, J, form = _run_filter_resolved(p, y, observed, u, requested, form, backend, want_J=True,
                                        L_R=factors.L_Sigma_y_x)
    if backend == "numba":           # J was computed in the forward pass (it needs no future data)
        smooth = _run_backward(out[0], out[1], out[2], out[3], J)
    else:
        smooth = _rts_numpy(p.A, out[0], out[1], out[2], out[3])
    return KalmanSmootherResult(*out, _log_evidence(out[5], backend), *smooth, form)

