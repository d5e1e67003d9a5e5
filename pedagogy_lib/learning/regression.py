r"""Linear regression, ridge, its Bayesian reading, and leave-one-out CV in one step.

Book Section 5.1.1 (Eqs. 5.2-5.6, 5.10) and Appendix A.1 (Eqs. A.1-A.8).

**Layout and symbols.** Arrays hold one sample per *row*, as in scikit-learn: ``X`` has shape
``(N, M)`` (``N`` samples of ``M`` input features) and ``y`` has shape ``(N,)`` or ``(N, K)``
(``K`` outputs). The book stores samples in *columns* and, in Chapter 5, calls the inputs
:math:`\mathbf Y` and the outputs :math:`\mathbf X` (footnote 2 of Chapter 5); Appendix A goes back to
inputs :math:`\mathbf X` and outputs :math:`\mathbf y` with :math:`\mathbf y = \mathbf X^T\mathbf w`. So

===========================  ==========================  ===============================
here                         Chapter 5                   Appendix A
===========================  ==========================  ===============================
``X`` (N, M)                 :math:`\mathbf Y^T`         :math:`\mathbf X^T`
``y`` (N,) or (N, K)         :math:`\mathbf X^T`         :math:`\mathbf y`
``w`` (M,) or (M, K)         :math:`\mathbf D^T`         :math:`\hat{\mathbf w}`
``intercept``                offset :math:`\mathbf d`    (not used)
``h`` (N,)                   --                          :math:`h_{nn}`, diagonal of H
===========================  ==========================  ===============================

**Normal equations** (Eq. 5.2, Eq. A.1). With sums over samples,

.. math::
    \mathbf w = (\mathbf X^T\mathbf X)^{-1}\mathbf X^T\mathbf y
    \quad\Longleftrightarrow\quad
    \mathbf D = \langle\mathbf X\mathbf Y^T\rangle\langle\mathbf Y\mathbf Y^T\rangle^{-1}
    \ \text{(book symbols; the factors } 1/N \text{ cancel)}.

**Ridge strength convention (read this).** Throughout the library the ridge strength
:math:`\lambda` (argument ``ridge``) multiplies a penalty on the *summed* squared error:

.. math::
    \mathbf w_\lambda = \operatorname*{argmin}_{\mathbf w}\ \tfrac12\sum_{n=1}^N(y_n-\mathbf x_n^T\mathbf w)^2
    + \tfrac12\lambda\|\mathbf w\|^2 = (\mathbf X^T\mathbf X + \lambda\mathbf I)^{-1}\mathbf X^T\mathbf y .

* scikit-learn: ``Ridge(alpha=lam)`` minimizes :math:`\|\mathbf y-\mathbf X\mathbf w\|^2 + \alpha\|\mathbf w\|^2`,
  the same minimizer, so **alpha = lambda**.
* Bayes: a Gaussian prior :math:`\mathbf w\sim\mathcal N(\mathbf 0,\boldsymbol\Sigma_d)` (Eq. 5.4) with noise
  variance :math:`\sigma^2_{\check x|y}` (Eq. 5.5) gives the posterior mean :math:`\mathbf w_\lambda` with
  :math:`\lambda\mathbf I \to \sigma^2_{\check x|y}\boldsymbol\Sigma_d^{-1}` (``ridge`` may be that matrix),
  i.e. **lambda = sigma^2 / sigma_d^2** for :math:`\boldsymbol\Sigma_d = \sigma_d^2\mathbf I`
  (:func:`bayesian_linear_regression`).
* The draft's Eq. 5.6 writes the penalty inside *sample averages*,
  :math:`\langle\mathbf Y\mathbf Y^T\rangle + \sigma^2\boldsymbol\Sigma_d^{-1}`; multiplying through by
  :math:`N` shows that it equals our formula with **lambda = N sigma^2 / sigma_d^2**: the prior is
  counted once per sample, so Eq. 5.6 as printed is *not* the posterior mean. The Bayesian answer is
  Eq. 5.6 with :math:`\sigma^2\boldsymbol\Sigma_d^{-1}/N` (or with sums in place of averages).

**Solvers.** Without a penalty the least-squares problem is solved with ``scipy.linalg.lstsq``
(orthogonal factorization, no :math:`\mathbf X^T\mathbf X` formed; it returns the minimum-norm
solution when :math:`\mathbf X` is rank deficient, the limit of ridge as :math:`\lambda\to0^+`; see
"Regularization" in Section 5.1.1).
With a penalty, :math:`\mathbf X^T\mathbf X + \lambda\mathbf I` is positive definite and is solved by
Cholesky.

**Intercept.** ``fit_intercept=False`` (default) fits exactly the book's equations. With
``fit_intercept=True`` an unpenalized offset is added: :func:`linear_regression` centers ``X`` and ``y``
(the remark after the model in Section 5.1.1); the LOO functions append a column of ones with a zero
penalty instead, which gives the same fit and keeps each left-out refit exact.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg as sla

from ..core.checks import positive_scalar, as_array, to_float_array, check_positive, check_shape, check_spd
from ..core.linalg import chol_solve, spd_inverse, symmetrize

__all__ = [
    "generalized_least_squares",
    "LinearFit",
    "WeightPosterior",
    "LOOResult",
    "linear_regression",
    "bayesian_linear_regression",
    "loo_residuals",
    "loo_cv_error",
    "lofo_residuals",
]

#: Leverages with 1 - h_nn below this are treated as 1 (leaving that sample out is undetermined).
LEVERAGE_TOL = 1e-10


class LinearFit(NamedTuple):
    r"""Result of :func:`linear_regression`.

    Attributes
    ----------
    w : ndarray, shape (M,) or (M, K)
        Weights; the transpose of the book's :math:`\mathbf D` (Eq. 5.2 / 5.6), Appendix A's :math:`\hat{\mathbf w}`.
    intercept : float or ndarray, shape (K,)
        Unpenalized offset (0 when ``fit_intercept=False``).
    ridge : float or ndarray, shape (M, M)
        The penalty :math:`\lambda` that was used (see the module docstring for its convention).
    rank : int
        Numerical rank of the (centered) design; ``M`` whenever a penalty is used.
    """

    w: np.ndarray
    intercept: float | np.ndarray
    ridge: float | np.ndarray
    rank: int


class WeightPosterior(NamedTuple):
    r"""Posterior over the weights of Bayesian linear regression.

    Attributes
    ----------
    mu : ndarray, shape (M,) or (M, K)
        Posterior mean; equals the ridge solution with ``ridge`` below.
    Sigma : ndarray, shape (M, M)
        Posterior covariance (shared by all outputs),
        :math:`(\mathbf X^T\mathbf X/\sigma^2 + \boldsymbol\Sigma_d^{-1})^{-1}`.
    ridge : ndarray, shape (M, M)
        The matching ridge penalty :math:`\sigma^2\boldsymbol\Sigma_d^{-1}` (with sums, Eq. 5.6 corrected).
    """

    mu: np.ndarray
    Sigma: np.ndarray
    ridge: np.ndarray


class LOOResult(NamedTuple):
    r"""Result of :func:`loo_residuals` (Appendix A.1).

    Attributes
    ----------
    e_loo : ndarray, shape (N,) or (N, K)
        Leave-one-out residuals :math:`\mathbf e_{LOO} = \mathbf M_d^{-1}\mathbf e` (Eq. A.7).
    y_hat_loo : ndarray, shape (N,) or (N, K)
        Leave-one-out predictions :math:`\mathbf M_d^{-1}(\hat{\mathbf y} - \mathbf H_d\mathbf y)` (Eq. A.6).
    e : ndarray, shape (N,) or (N, K)
        Ordinary residuals :math:`\mathbf e = \mathbf M\mathbf y` (Eq. A.5).
    h : ndarray, shape (N,)
        Leverages :math:`h_{nn}`, the diagonal of the hat matrix (Eq. A.3); :math:`m_{nn} = 1 - h_{nn}`.
    """

    e_loo: np.ndarray
    y_hat_loo: np.ndarray
    e: np.ndarray
    h: np.ndarray


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------

def _check_xy(X, y, *, min_rows: int = 1) -> tuple[np.ndarray, np.ndarray]:
    X = as_array(X, "X", ndim=2, dims="(N, M)")
    N = X.shape[0]
    if N < min_rows:
        raise ValueError(f"X needs at least {min_rows} sample{'s' if min_rows > 1 else ''} (rows); got {N}.")
    if X.shape[1] == 0:
        raise ValueError("X must have at least one column (feature); got shape (N, 0).")
    y = as_array(y, "y")
    if y.ndim not in (1, 2) or y.shape[0] != N:
        raise ValueError(f"y must have shape (N,) or (N, K) with N = {N} (the rows of X); got {y.shape}.")
    return X, y


def _penalty(ridge, M: int) -> np.ndarray | None:
    """Return the (M, M) penalty matrix, or None for no penalty. Scalars mean ridge * I."""
    lam = to_float_array(ridge, "ridge")
    if lam.ndim == 0:
        lam = check_positive(lam, "ridge", strict=False)
        return None if float(lam) == 0.0 else float(lam) * np.eye(M)
    lam = as_array(lam, "ridge")
    check_shape(lam, "ridge", (M, M), dims="(M, M)")
    check_spd(lam, "ridge")
    return symmetrize(lam)


def _report_ridge(ridge, P):
    return 0.0 if P is None else (float(np.asarray(ridge)) if np.ndim(ridge) == 0 else P)


# ----------------------------------------------------------------------------------------------
# Normal equations and ridge (Eqs. 5.2, 5.6)
# ----------------------------------------------------------------------------------------------

def linear_regression(X, y, *, ridge=0.0, fit_intercept: bool = False) -> LinearFit:
    r"""Least squares (Eq. 5.2) or ridge regression (Eq. 5.6 with sums) on row-wise data.

    .. math:: \mathbf w = (\mathbf X^T\mathbf X + \boldsymbol\Lambda)^{-1}\mathbf X^T\mathbf y,
              \qquad \boldsymbol\Lambda = \lambda\mathbf I \ \text{or a given SPD matrix}.

    With ``ridge=0`` these are the normal equations of Eq. A.1 (in row layout): the least-squares
    answer to the linear equation of Eq. 5.9, its exact solution when ``X`` is square and invertible.

    The strength convention (``ridge`` = scikit-learn's ``alpha`` = :math:`\sigma^2/\sigma_d^2`; the
    draft's Eq. 5.6 with averages corresponds to :math:`N\sigma^2/\sigma_d^2`) is spelled out in the
    module docstring.

    Parameters
    ----------
    X : array_like, shape (N, M)
        Inputs, one sample per row (the book's :math:`\mathbf Y^T` in Chapter 5).
    y : array_like, shape (N,) or (N, K)
        Outputs (the book's :math:`\mathbf X^T` in Chapter 5).
    ridge : float >= 0 or array_like, shape (M, M)
        :math:`\lambda`, or an SPD penalty matrix such as :math:`\sigma^2\boldsymbol\Sigma_d^{-1}`.
        ``0`` gives ordinary least squares (minimum-norm if ``X`` is rank deficient).
    fit_intercept : bool
        Fit an unpenalized offset by centering ``X`` and ``y`` first (default ``False``: the book's
        equations, without offset).

    Returns
    -------
    LinearFit
    """
    X, y = _check_xy(X, y)
    N, M = X.shape
    P = _penalty(ridge, M)
    if fit_intercept:
        x_bar, y_bar = X.mean(axis=0), y.mean(axis=0)
        Xc, yc = X - x_bar, y - y_bar
    else:
        Xc, yc = X, y
    if P is None:
        # Normal equations solved by an orthogonal factorization (no X^T X formed).
        w, _, rank, _ = sla.lstsq(Xc, yc, check_finite=False)
        rank = int(rank)
    else:
        L = np.linalg.cholesky(Xc.T @ Xc + P)                  # SPD: X^T X is PSD, P is SPD
        w = chol_solve(L, Xc.T @ yc)                            # Eq. 5.6 with sums
        rank = M
    intercept = (y_bar - x_bar @ w) if fit_intercept else (0.0 if y.ndim == 1 else np.zeros(y.shape[1]))
    if fit_intercept and y.ndim == 1:
        intercept = float(intercept)
    return LinearFit(w, intercept, _report_ridge(ridge, P), rank)


def generalized_least_squares(X, y, Upsilon) -> np.ndarray:
    r"""Generalized least squares for samples with a known covariance (Eq. 5.10).

    When the noise of the ``N`` samples is not i.i.d. but has covariance proportional to
    :math:`\boldsymbol\Upsilon` across samples (the same for every output), the maximum-likelihood
    weights minimize :math:`\operatorname{tr}[(\mathbf X-\mathbf D\mathbf Y)\boldsymbol\Upsilon^{-1}
    (\mathbf X-\mathbf D\mathbf Y)^T]`, which gives Eq. 5.10 in the book's symbols,

    .. math:: \mathbf D = \mathbf X\boldsymbol\Upsilon^{-1}\mathbf Y^T
              (\mathbf Y\boldsymbol\Upsilon^{-1}\mathbf Y^T)^{-1}
              \quad\Longleftrightarrow\quad
              \mathbf w = (\mathbf X^T\boldsymbol\Upsilon^{-1}\mathbf X)^{-1}\mathbf X^T\boldsymbol\Upsilon^{-1}\mathbf y
              \ \text{(rows here)}.

    It is ordinary least squares on whitened data: with :math:`\boldsymbol\Upsilon = \mathbf L\mathbf L^T`,
    regress :math:`\mathbf L^{-1}\mathbf y` on :math:`\mathbf L^{-1}\mathbf X`; that is how it is computed
    (one Cholesky factorization, triangular solves and an orthogonal factorization; no inverse is
    formed). A diagonal :math:`\boldsymbol\Upsilon` (heteroscedastic, uncorrelated samples) weights
    sample :math:`n` by :math:`1/\upsilon_{nn}`: weighted least squares, the draft's name for
    Eq. 5.10 (the errata page explains the two names). Scaling :math:`\boldsymbol\Upsilon` changes
    nothing.

    Parameters
    ----------
    X : array_like, shape (N, M)
        Inputs, one sample per row (the book's :math:`\mathbf Y^T`).
    y : array_like, shape (N,) or (N, K)
        Outputs (the book's :math:`\mathbf X^T`).
    Upsilon : array_like, shape (N, N) or (N,)
        The covariance of the samples' noise (symmetric positive definite), or its diagonal
        (positive variances) for uncorrelated samples.

    Returns
    -------
    ndarray, shape (M,) or (M, K)
        :math:`\mathbf w`, the transpose of the book's :math:`\mathbf D`.

    Raises
    ------
    ValueError
        If ``Upsilon`` has the wrong shape, is not positive definite or has a variance <= 0, or if
        the whitened inputs are rank deficient (:math:`\mathbf Y\boldsymbol\Upsilon^{-1}\mathbf Y^T`
        singular).
    """
    X, y = _check_xy(X, y)
    N, M = X.shape
    U = as_array(Upsilon, "Upsilon")
    if U.ndim == 1:
        check_shape(U, "Upsilon", (N,), dims="(N,) or (N, N)")
        check_positive(U, "Upsilon", strict=True)
        s = np.sqrt(U)
        Xw, yw = X / s[:, None], (y / s if y.ndim == 1 else y / s[:, None])
    else:
        check_shape(U, "Upsilon", (N, N), dims="(N, N) or (N,)")
        L = check_spd(U, "Upsilon")
        Xw = sla.solve_triangular(L, X, lower=True, check_finite=False)
        yw = sla.solve_triangular(L, y, lower=True, check_finite=False)
    w, _, rank, _ = sla.lstsq(Xw, yw, check_finite=False)
    if int(rank) < M:
        raise ValueError(f"the whitened inputs have rank {int(rank)} < {M} columns: Y Upsilon^-1 Y^T in "
                         "Eq. 5.10 is singular, so the weights are not determined.")
    return w


def bayesian_linear_regression(X, y, prior_precision, noise_variance) -> WeightPosterior:
    r"""Posterior over the weights under a zero-mean Gaussian prior (Eqs. 5.3, 5.4 and 5.5).

    Prior :math:`\mathbf w\sim\mathcal N(\mathbf 0, \boldsymbol\Sigma_d)` with precision
    :math:`\boldsymbol\Sigma_d^{-1}` = ``prior_precision``, likelihood
    :math:`y_n\mid\mathbf x_n,\mathbf w\sim\mathcal N(\mathbf x_n^T\mathbf w, \sigma^2)` with
    :math:`\sigma^2` = ``noise_variance``, independently over the :math:`N` samples (the prior is counted
    once, not once per sample). Completing the square (the information form of Eqs. 2.13-2.14) gives

    .. math::
        \boldsymbol\Sigma_{w|y} = \big(\mathbf X^T\mathbf X/\sigma^2 + \boldsymbol\Sigma_d^{-1}\big)^{-1},
        \qquad
        \boldsymbol\mu_{w|y} = \boldsymbol\Sigma_{w|y}\mathbf X^T\mathbf y/\sigma^2
        = (\mathbf X^T\mathbf X + \sigma^2\boldsymbol\Sigma_d^{-1})^{-1}\mathbf X^T\mathbf y,

    which is ridge regression with penalty :math:`\sigma^2\boldsymbol\Sigma_d^{-1}` (returned as ``ridge``).
    The posterior mean is also the MAP estimate; the covariance is what ridge alone does not give.
    For ``y`` with ``K`` columns, each column of weights has this posterior (they share
    :math:`\boldsymbol\Sigma_{w|y}`), as for the rows of :math:`\mathbf D` in Eq. 5.3.

    Parameters
    ----------
    X : array_like, shape (N, M)
    y : array_like, shape (N,) or (N, K)
    prior_precision : float > 0 or array_like, shape (M, M)
        :math:`\boldsymbol\Sigma_d^{-1}`; a scalar means :math:`\boldsymbol\Sigma_d^{-1} = \alpha\mathbf I`, i.e.
        :math:`\sigma_d^2 = 1/\alpha`.
    noise_variance : float > 0
        :math:`\sigma^2_{\check x|y}`.

    Returns
    -------
    WeightPosterior
    """
    X, y = _check_xy(X, y)
    M = X.shape[1]
    s2 = positive_scalar(noise_variance, "noise_variance")
    a = to_float_array(prior_precision, "prior_precision")
    if a.ndim == 0:
        Lambda_d = positive_scalar(a, "prior_precision") * np.eye(M)
    else:
        Lambda_d = as_array(a, "prior_precision")
        check_shape(Lambda_d, "prior_precision", (M, M), dims="(M, M)")
        check_spd(Lambda_d, "prior_precision")
        Lambda_d = symmetrize(Lambda_d)
    L = np.linalg.cholesky(X.T @ X / s2 + Lambda_d)              # posterior precision
    mu = chol_solve(L, X.T @ y) / s2
    return WeightPosterior(mu, spd_inverse(L), s2 * Lambda_d)


# ----------------------------------------------------------------------------------------------
# Leave-one-out and leave-one-fold-out in one step (Appendix A)
# ----------------------------------------------------------------------------------------------

def _hat_factor(X, y, ridge, fit_intercept):
    """Return (G, y_hat): the hat matrix is H = G G^T (Eq. A.3, ridge version) and y_hat = H y (Eq. A.2)."""
    N, M = X.shape
    P = _penalty(ridge, M)
    if fit_intercept:
        X = np.hstack([X, np.ones((N, 1))])
        if P is not None:
            P = np.pad(P, ((0, 1), (0, 1)))                     # the offset is not penalized
    if P is None:
        # H projects onto the column space of X, which scaling a column does not change: the rank is
        # judged on X with every column scaled to a largest entry of 1, so a column in small (or large)
        # units beside ordinary ones is not called dependent (issue 69)
        c = np.max(np.abs(X), axis=0) if X.size else np.ones(X.shape[1])
        Q, R, _ = sla.qr(X / np.where(c > 0, c, 1.0), mode="economic", pivoting=True, check_finite=False)
        d = np.abs(np.diag(R))
        rank = int(np.sum(d > d[0] * max(X.shape) * np.finfo(float).eps)) if d.size else 0
        if rank < X.shape[1]:
            extra = " (with the intercept)" if fit_intercept else ""
            raise ValueError(f"X has rank {rank} < {X.shape[1]} columns{extra}: "
                             "the hat matrix of Eq. A.3 needs (X^T X)^{-1}; pass ridge > 0.")
        G = Q                                                   # H = Q Q^T
    else:
        L = np.linalg.cholesky(X.T @ X + P)
        G = sla.solve_triangular(L, X.T, lower=True, check_finite=False).T   # H = X A^{-1} X^T = G G^T
    y_hat = G @ (G.T @ y)
    return G, y_hat


def loo_residuals(X, y, *, ridge=0.0, fit_intercept: bool = False) -> LOOResult:
    r"""Leave-one-out residuals and predictions in one step (Appendix A.1, Eqs. A.2, A.3, A.4, A.5,
    A.6 and A.7).

    With the hat matrix :math:`\mathbf H = \mathbf X(\mathbf X^T\mathbf X+\boldsymbol\Lambda)^{-1}\mathbf X^T`
    (Eq. A.3 in row layout; :math:`\boldsymbol\Lambda = 0` in the draft) and
    :math:`\mathbf M = \mathbf I - \mathbf H` (Eq. A.4), Sherman-Morrison (B.15) gives

    .. math::
        \hat{\mathbf y}_{LOO} = \mathbf M_d^{-1}(\hat{\mathbf y} - \mathbf H_d\mathbf y) \quad (A.6),
        \qquad
        \mathbf e_{LOO} = \mathbf M_d^{-1}\mathbf e, \ \text{i.e. } e_{LOO,n} = \frac{e_n}{1-h_{nn}} \quad (A.7),

    where :math:`\mathbf H_d, \mathbf M_d` keep only the diagonals. The derivation only uses that the
    normal matrix loses one outer product :math:`\mathbf x_n\mathbf x_n^T`, so it holds unchanged for
    ridge (any fixed penalty). One factorization replaces :math:`N` refits.
    :math:`\mathbf H` is never formed: :math:`h_{nn}` is the squared norm of row :math:`n` of a factor
    :math:`\mathbf G` with :math:`\mathbf H = \mathbf G\mathbf G^T`.

    Parameters
    ----------
    X : array_like, shape (N, M)
    y : array_like, shape (N,) or (N, K)
    ridge : float >= 0 or array_like, shape (M, M)
        Same convention as :func:`linear_regression`.
    fit_intercept : bool
        Include an unpenalized offset (refitted in every left-out fit).

    Returns
    -------
    LOOResult

    Raises
    ------
    ValueError
        If some :math:`h_{nn} = 1`: that sample alone determines a direction of the fit, so leaving it
        out leaves the normal equations singular.
    """
    X, y = _check_xy(X, y, min_rows=2)
    G, y_hat = _hat_factor(X, y, ridge, fit_intercept)
    h = np.sum(G**2, axis=1)                                    # h_nn, diagonal of H
    m = 1.0 - h                                                 # m_nn, diagonal of M (Eq. A.4)
    if np.any(m <= LEVERAGE_TOL):
        n = int(np.argmin(m))
        raise ValueError(f"sample {n} has leverage h_nn = {h[n]:.12g} (= 1): without it the normal equations are "
                         "singular, so its leave-one-out prediction is undetermined; pass ridge > 0.")
    m_col = m if y.ndim == 1 else m[:, None]
    h_col = h if y.ndim == 1 else h[:, None]
    e = y - y_hat                                               # Eq. A.5
    y_hat_loo = (y_hat - h_col * y) / m_col                     # Eq. A.6
    e_loo = e / m_col                                           # Eq. A.7
    return LOOResult(e_loo, y_hat_loo, e, h)


def loo_cv_error(X, y, *, ridge=0.0, fit_intercept: bool = False) -> float:
    r"""Leave-one-out cross-validation mean squared error, :math:`\frac1N\sum_n e_{LOO,n}^2` (Eq. A.7).

    (For ``K`` outputs, the mean over all ``N K`` entries.) Arguments as in :func:`loo_residuals`.
    """
    return float(np.mean(loo_residuals(X, y, ridge=ridge, fit_intercept=fit_intercept).e_loo ** 2))


def lofo_residuals(X, y, folds, *, ridge=0.0, fit_intercept: bool = False) -> np.ndarray:
    r"""Leave-one-fold-out (K-fold) residuals in one factorization (Appendix A.1, Eq. A.8).

    For the samples of fold :math:`k`, with the diagonal block :math:`\mathbf H_k` of the hat matrix and
    :math:`\mathbf M_k = \mathbf I - \mathbf H_k` (Woodbury, B.14),

    .. math:: \mathbf e_{LOFO,k} = \mathbf M_k^{-1}\mathbf e_k, \qquad
              \mathbf e_{LOFO} = \mathbf M_{bd}^{-1}\mathbf e \quad (A.8),

    solved block by block, as the draft recommends after Eq. A.8. Folds need not be contiguous or of
    equal size.

    Parameters
    ----------
    X : array_like, shape (N, M)
    y : array_like, shape (N,) or (N, K)
    folds : array_like of int, shape (N,)
        Fold label of each sample.
    ridge, fit_intercept :
        As in :func:`loo_residuals`.

    Returns
    -------
    ndarray, shape like ``y``
        The residual of each sample when its whole fold is left out.
    """
    X, y = _check_xy(X, y, min_rows=2)
    N = X.shape[0]
    f = as_array(folds, "folds", shape=(N,), dims="(N,)")
    if np.any(f != np.round(f)):
        n = int(np.argmax(f != np.round(f)))
        raise ValueError(f"folds must hold integer fold labels; entry {n} is {f[n]:g}.")
    f = f.astype(np.int64)
    labels = np.unique(f)
    if labels.size < 2:
        raise ValueError(f"folds must contain at least 2 distinct labels; got {labels.size}.")
    G, y_hat = _hat_factor(X, y, ridge, fit_intercept)
    e = y - y_hat
    out = np.empty_like(e)
    for k in labels:
        idx = np.flatnonzero(f == k)
        Gk = G[idx]
        M_k = symmetrize(np.eye(idx.size) - Gk @ Gk.T)          # I - H_k
        lam_min = float(np.linalg.eigvalsh(M_k)[0])
        if lam_min <= LEVERAGE_TOL:
            raise ValueError(f"leaving out fold {k} makes the normal equations singular "
                             f"(smallest eigenvalue of M_k is {lam_min:.3g}); use fewer samples per fold or ridge > 0.")
        out[idx] = np.linalg.solve(M_k, e[idx])                 # Eq. A.8, one block
    return out
