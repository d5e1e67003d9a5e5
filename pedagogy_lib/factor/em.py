r"""Learning factor analysis, probabilistic PCA and PCA by EM (book Section 7.3; model of Eq. 2.20).

Data are stored one observation per **row**: ``y`` has shape ``(N, L)``. The book's data matrix
:math:`\mathbf Y = [\mathbf y_1\cdots\mathbf y_N]` is its transpose, and its sample averages
:math:`\langle\cdot\rangle_{\mathbf Y}` are ``mean(axis=0)`` here. Averages use :math:`1/N`
(maximum likelihood), not the :math:`1/(N-1)` of ``np.cov`` and of scikit-learn's PCA.

**Factor analysis** (Section 7.3). With the exact posterior of Eq. 7.3 (Eq. 2.22, computed by
:func:`pedagogy_lib.factor.model.fa_posterior`) as the recognition distribution, the E step
supplies, with :math:`\mathbf m_n = \mathbb E[\check{\mathbf X}\mid\mathbf y_n]`,

.. math::
    \langle\mathbf y\,\mathbb E[\check{\mathbf X}^T\mid\mathbf y]\rangle = \tfrac1N\textstyle\sum_n(\mathbf y_n-\mathbf c)\mathbf m_n^T,
    \qquad
    \langle\mathbb E[\check{\mathbf X}\check{\mathbf X}^T\mid\mathbf y]\rangle
      = (\mathbf C^T\boldsymbol\Lambda^{-1}\mathbf C+\mathbf I)^{-1} + \tfrac1N\textstyle\sum_n\mathbf m_n\mathbf m_n^T,

and the M step is the pair of normal equations of Section 7.3,

.. math::
    \mathbf C \leftarrow \langle\mathbf y\check{\mathbf X}^T\rangle\langle\check{\mathbf X}\check{\mathbf X}^T\rangle^{-1},
    \qquad
    \boldsymbol\Lambda \leftarrow \operatorname{diag}\big(\langle(\mathbf y-\mathbf c)(\mathbf y-\mathbf c)^T\rangle
      - \mathbf C\langle\check{\mathbf X}(\mathbf y-\mathbf c)^T\rangle\big).

The book absorbs :math:`\mathbf c` into :math:`\mathbf C` with a constant latent 1. Its maximum-
likelihood value is the sample mean whatever :math:`\mathbf C` and :math:`\boldsymbol\Lambda`
are (the marginal is :math:`\mathcal N(\mathbf c, \mathbf C\mathbf C^T+\boldsymbol\Lambda)`, Eq.
2.21), and once :math:`\mathbf c = \bar{\mathbf y}` the augmented M step leaves it there (the
average posterior mean is then zero, which decouples the bias column). So here
:math:`\mathbf c = \bar{\mathbf y}` throughout and the posterior mean is
:math:`\mathbf K(\mathbf y-\mathbf c)`, not the draft's :math:`\mathbf K\mathbf y` (see the
errata; ``tests/factor/test_factor_em.py`` demonstrates the difference).

**Probabilistic PCA** is factor analysis with isotropic noise,
:math:`\boldsymbol\Lambda = \sigma^2\mathbf I` (Tipping and Bishop's PPCA, the book's reference
[51]). The E step and the update of :math:`\mathbf C` are unchanged; the noise update is the
average of the factor-analysis one, :math:`\sigma^2 \leftarrow \frac1L\operatorname{tr}(\cdot)`.
Its maximum-likelihood solution is also known in closed form (:func:`ppca_ml`), which checks EM.
The parameters are an ordinary :class:`~pedagogy_lib.factor.model.FAParams` whose
``Lambda`` has equal entries.

**PCA** (Section 7.3.1) is the limit :math:`\boldsymbol\Lambda = \epsilon\mathbf I`,
:math:`\epsilon\to0`: the posterior collapses onto the pseudo-inverse projection
:math:`\bar{\mathbf x} = (\mathbf C^T\mathbf C)^{-1}\mathbf C^T(\mathbf y-\mathbf c)`, and EM
becomes the draft's *iterative PCA* (:func:`fit_iterative_pca`). :func:`pca` gives the answer
directly from the eigenvectors of the sample covariance.

Both EM for PPCA and iterative PCA map the column space :math:`\operatorname{span}(\mathbf C)`
to :math:`\operatorname{span}(\mathbf S\mathbf C)`, with :math:`\mathbf S` the sample covariance,
whatever the noise variance: they are subspace (power) iterations, converging to the principal
subspace at the rate :math:`\lambda_{K+1}/\lambda_K` per step. The noise changes only the scale
of the columns.

Variance floors: when the likelihood is maximized on the boundary (a *Heywood case*: one
observed dimension explained entirely by the factors, :math:`\Lambda_l\to0`), EM approaches
the boundary only slowly (about like :math:`1/i`) and never converges in practice. The noise
variances are therefore kept at or above a floor proportional to each dimension's sample
variance (by default :math:`10^{-3}`; R's ``factanal`` uses a lower bound of 0.005 on the
correlation scale), and a :class:`HeywoodWarning` names the dimensions that reached it. The
floored update is the exact maximizer over :math:`\Lambda_l \ge` floor, so the log likelihood
still never decreases.
"""
from __future__ import annotations

import math
import warnings
from functools import partial
from typing import NamedTuple

import numpy as np

from ..core.checks import positive_scalar, as_array, check_int, check_positive, check_rng
from ..em.engine import EMModel, EMResult, gaussian_elbo, run_em
from .model import FAParams, FAPosterior, check_params, fa_log_likelihood, fa_posterior
from ..core.linalg import chol_solve, symmetrize
from scipy.linalg import solve_triangular

__all__ = ["HeywoodWarning", "PCAResult", "PCAParams", "fa_em_step", "fit_fa", "ppca_em_step", "fit_ppca",
           "ppca_ml", "pca", "iterative_pca_step", "fit_iterative_pca", "fa_model", "ppca_model",
           "iterative_pca_model"]


class HeywoodWarning(UserWarning):
    """A noise variance reached its floor: the likelihood is maximized on the boundary (a Heywood case)."""


class PCAResult(NamedTuple):
    r"""Principal components from the sample covariance (Section 7.3.1).

    Attributes
    ----------
    U : ndarray, shape (L, K)
        Orthonormal eigenvectors of :math:`\langle(\mathbf y-\mathbf c)(\mathbf y-\mathbf c)^T\rangle`
        for the ``K`` largest eigenvalues, in decreasing order; each column's largest-magnitude
        entry is positive (signs are otherwise arbitrary).
    eigvals : ndarray, shape (K,)
        Those eigenvalues (variances along the components), with the :math:`1/N` convention.
        scikit-learn's ``explained_variance_`` is ``eigvals * N / (N - 1)``.
    c : ndarray, shape (L,)
        The sample mean :math:`\bar{\mathbf y}`.
    eigvals_all : ndarray, shape (L,)
        All ``L`` eigenvalues in decreasing order (tiny negative rounding clipped to 0); the
        discarded ones are ``eigvals_all[K:]``.
    """

    U: np.ndarray
    eigvals: np.ndarray
    c: np.ndarray
    eigvals_all: np.ndarray


class PCAParams(NamedTuple):
    r"""Parameters of iterative PCA: emission matrix :math:`\mathbf C` (L, K), not orthonormal, and offset :math:`\mathbf c` (L,)."""

    C: np.ndarray
    c: np.ndarray


# --------------------------------------------------------------------------- validation

def _check_data(y, K, *, max_K_is_L_minus_1: bool = False, need_every_column: bool = True):
    """Validate ``y`` (N, L) and ``K``; return ``y, K, mean, var`` (1/N variances)."""
    y = as_array(y, "y", ndim=2, dims="(N, L)")
    N, L = y.shape
    if N < 2:
        raise ValueError(f"y must hold at least 2 observations (rows) to estimate a covariance; got N = {N}.")
    if L < 1:
        raise ValueError(f"y must have at least one column (L >= 1); got shape {y.shape}.")
    K = check_int(K, "K", minimum=1)
    if max_K_is_L_minus_1 and K > L - 1:
        raise ValueError(f"K must be at most L - 1 = {L - 1} (the noise variance is the average of the L - K "
                         f"discarded eigenvalues, so at least one must be left); got K = {K}.")
    if K > L:
        raise ValueError(f"K must be at most L = {L}, the number of observed dimensions; got K = {K}.")
    if K > N - 1:
        raise ValueError(f"K must be at most N - 1 = {N - 1}: centred data with N = {N} rows have rank at most "
                         f"N - 1; got K = {K}.")
    mean = y.mean(axis=0)
    dev = y - mean
    with np.errstate(over="ignore", under="ignore"):
        # squared in units of a power of two near the largest deviation (exact), so that a sum of N squares
        # near 1e308 does not overflow
        e = math.frexp(float(np.max(np.abs(dev))))[1]
        var = np.ldexp(np.mean(np.ldexp(dev, -e) ** 2, axis=0), 2 * e)
    scale = float(np.max(var))
    if not np.isfinite(scale) or (scale < np.finfo(float).tiny and np.any(dev != 0.0)):
        # the model's covariances are variances of the data: they must be normal floats themselves
        raise ValueError("y's deviations from its mean must be between about 1e-154 and 1e154 in size, so that "
                         "their variances (which the model's covariances are) are floating-point numbers; got a "
                         f"largest deviation of {float(np.max(np.abs(dev))):.3g}. Rescale y first (fitted loadings "
                         "scale with y, fitted variances with its square).")
    if scale == 0.0:
        raise ValueError("y is constant: every column has zero sample variance, so there is nothing to model.")
    if need_every_column:
        # constant up to rounding, judged in each column's own units (factor analysis is equivariant under
        # them): a spread of a few hundred ulps of the column's largest entry
        bad = np.sqrt(var) <= 1e3 * np.finfo(float).eps * np.max(np.abs(y), axis=0)
        if bad.any():
            ell = int(np.argmax(bad))
            raise ValueError(f"y has (numerically) zero variance in column {ell} (variance {var[ell]:.3g}); "
                             "factor analysis needs every observed dimension to vary. Drop constant columns.")
    return y, K, mean, var


def _check_init(init, L, K, mean, name="init"):
    """Validate an FAParams initialization of shapes (L, K); return it with c replaced by the sample mean."""
    C, c, Lambda = check_params(init, name)
    if C.shape != (L, K) or c.shape != (L,):
        raise ValueError(f"{name} must be FAParams with C of shape (L, K) = {(L, K)} and c of shape (L,) = {(L,)}; "
                         f"got C {C.shape}, c {c.shape}.")
    return FAParams(C, mean.copy(), Lambda)


def _check_floor(value, name):
    value = positive_scalar(value, name)
    if value >= 1.0:
        raise ValueError(f"{name} must be below 1 (it is a fraction of each dimension's sample variance); got {value}.")
    return value


#: The smallest normal float64.
_TINY = float(np.finfo(float).tiny)


def _in_units(fraction, var):
    """A variance floor ``fraction * var`` in the data's units. For data of variance near 1e-300 and a small
    fraction it is subnormal or 0: the fits hold their floor in units of the data's variance and use this one
    only to raise the initial variances, where a subnormal or 0 is harmless."""
    with np.errstate(under="ignore"):
        return fraction * var


def _floor_z(fraction, var, scale2):
    """A variance floor in units of the data's variance ``scale2`` (an array like ``var``): the fraction itself
    wherever ``fraction * var`` is not a normal float64, else ``fraction * var / scale2`` (the same number to an
    ulp, the rounding the fits have always had, so their results are unchanged bit for bit there)."""
    floor = _in_units(fraction, var)
    return np.where(floor >= _TINY, floor / scale2, fraction)


#: The smallest noise variance the closed form :func:`ppca_ml` resolves, relative to the largest eigenvalue:
#: residuals of unit-variance data carry rounding of a few ulps, and their mean square cannot be told from 0
#: below about (64 eps)^2, 2e-28. Data that lie in a K-dimensional subspace to working precision would leave
#: sigma2 there, on rounding noise, instead of at the floor. (fit_ppca accepts no floor below 1e-14.)
_PPCA_EM_RESOLUTION = (64.0 * float(np.finfo(float).eps)) ** 2


def _refuse_unresolved_sigma2(sigma2_z, resolution, fraction, K, route):
    """Refuse a learned sigma2 (in units of the average variance) below what ``route`` resolves: it is rounding
    noise, and the maximum-likelihood value of such data is 0 up to rounding, where only a floor is defined."""
    if not sigma2_z < resolution:
        return
    raise ValueError(f"The fitted noise variance sigma2 is {sigma2_z:.3g} times the average sample variance, below "
                     f"{resolution:.2g}, the least that {route} resolves in double precision: the data lie in a "
                     f"K = {K}-dimensional subspace to working precision, where the maximum-likelihood sigma2 is 0 up "
                     f"to rounding and this value is rounding noise. sigma2_floor (got {fraction:.3g}) is what the fit holds "
                     f"there: raise it to at least {resolution:.2g}, and a HeywoodWarning will say that the floor "
                     "was reached.")


def _raise_floor_or_rescale(name, v):
    """The remedy for a floor ``fraction * v`` below the normal floats: a larger fraction where one below 1
    reaches 2.2e-308, else only rescaling (``v`` is then itself subnormal)."""
    if _TINY / v < 1.0:
        return f"Raise {name} to at least {_TINY / v:.3g} (where float64 keeps every digit) or rescale y"
    return "Rescale y: that variance is itself below 2.2e-308, so no floor fraction below 1 is held there"


def _check_step_floor(Lambda, fraction, var, name, which, step):
    """Refuse an EM step in the data's units whose variance fell below the smallest normal float64.

    It can fall there only on its way to a floor ``fraction * var`` that float64 cannot hold (a subnormal or
    0; a normal floor keeps it above): the step would return a variance that has lost its digits, or 0 in
    place of the floor it promises. ``which`` describes ``var`` ("column {}'s", "the average"). ``fit_fa``
    and ``fit_ppca`` work in units of the data's variance and hold any floor."""
    low = np.flatnonzero(np.asarray(Lambda) < _TINY)
    if low.size:
        v = float(np.ravel(var)[low[0]] if np.size(var) > 1 else var)
        where = which.format(int(low[0]))
        raise ValueError(f"{name} (got {fraction:.3g}) times {where} sample variance ({v:.3g}) must be at least "
                         f"2.2e-308, the smallest normal float64, once {step} works in y's units near that floor: "
                         f"this step's variance fell to {float(np.ravel(Lambda)[low[0]]):.3g}, below the normal "
                         f"floats. {_raise_floor_or_rescale(name, v)}, or fit with "
                         f"{'fit_fa' if step == 'fa_em_step' else 'fit_ppca'}, which works in units of the data's "
                         "variance.")
    return Lambda


def _check_returnable(Lambda, ratio, at_floor, fraction, var, name, which, what):
    """Refuse a fit whose noise variance, mapped back to ``y``'s units, rounds to 0 there.

    The fits work in units of the data's variance, where any floor is held; the model they return is in
    ``y``'s units, where a variance below 2.2e-308 is a subnormal (the nearest float64, with fewer digits)
    and one below about 4.9e-324 is 0: a model with no noise, which is not one. ``ratio`` is the fitted
    variance over ``var`` (per entry of ``Lambda``); ``at_floor`` says where it is the floor
    ``fraction * var``, which the caller can raise."""
    zero = np.flatnonzero(np.asarray(Lambda) == 0.0)
    if not zero.size:
        return
    j = int(zero[0])
    v = float(np.ravel(var)[j] if np.size(var) > 1 else var)
    r = float(np.ravel(ratio)[j])
    where = which.format(j)
    if bool(np.ravel(at_floor)[j]):
        why = f"its floor, {name} (got {fraction:.3g}) times {where} sample variance ({v:.3g})"
        fix = _raise_floor_or_rescale(name, v)
    else:
        why = f"{r:.3g} times {where} sample variance ({v:.3g})"
        fix = "Rescale y (e.g. divide it by its standard deviation)"
    raise ValueError(f"The fitted {what} is {why}, which rounds to 0 in y's units (float64 holds nothing below "
                     f"about 4.9e-324): a model with no noise. {fix}.")


# --------------------------------------------------------------------------- factor analysis

def _moments(q: FAPosterior, y, c):
    r"""Expected sufficient statistics of Section 7.3: <(y-c) E[x]^T> (L, K) and <E[x x^T]> (K, K)."""
    N = y.shape[0]
    Eyx = (y - c).T @ q.mu / N
    Exx = symmetrize(q.Sigma + q.mu.T @ q.mu / N)     # Cov + mean outer product, averaged
    return Eyx, Exx


def _solve_C(Eyx, Exx):
    """Normal equations C = <y x^T><x x^T>^{-1}, by Cholesky."""
    return chol_solve(np.linalg.cholesky(Exx), Eyx.T).T


def _fa_e_step(params, y):
    return fa_posterior(params, y)                     # Eq. 7.3 = Eq. 2.22, the exact posterior


#: Below this fraction of its column's sample variance a unique variance is updated in coordinates whitened by
#: the old Lambda (:func:`_whitened_small_variances`); above it the expected squared residual keeps about
#: 12 digits.
_SMALL_VARIANCE = 1e-4

#: Largest relative rounding of a unique variance that :func:`fa_em_step` returns rather than refuses.
_SMALL_MAX_ERR = 1e-10


def _whitened_small_variances(q, Rc, params, L_xx, small):
    r"""The M step's :math:`\Lambda_l` for the columns ``small`` whose unique variance is tiny, to ~1e-15.

    In coordinates whitened by the old :math:`\boldsymbol\Lambda^{1/2}` (:math:`\tilde{\mathbf C} =
    \boldsymbol\Lambda^{-1/2}\mathbf C`), the new variance over the old is the minimum over the new row
    :math:`\tilde{\mathbf C}_l + \boldsymbol\delta^T` of the expected squared residual,

    .. math::
        \Lambda^{\rm new}_l/\Lambda_l = \langle\tilde e_l^2\rangle + (1 - P_{ll})
            - \mathbf b_l^T\langle\check{\mathbf X}\check{\mathbf X}^T\rangle^{-1}\mathbf b_l,
        \qquad \mathbf b_l = \langle\boldsymbol\mu\,\tilde e_l\rangle - \boldsymbol\Sigma\tilde{\mathbf C}_l^T,

    with :math:`\tilde{\mathbf e} = \boldsymbol\Lambda^{-1/2}(\mathbf y - \mathbf c - \mathbf C\boldsymbol\mu)`
    the whitened residual of the old fit and :math:`\mathbf P = (\mathbf I + \tilde{\mathbf C}\tilde{\mathbf C}^T)^{-1}
    = \boldsymbol\Lambda^{1/2}\boldsymbol\Sigma_{\hat y}^{-1}\boldsymbol\Lambda^{1/2}`. For a tiny :math:`\Lambda_l`
    the three small terms are of the order of :math:`\Lambda_l/\mathrm{var}_l` and the ratio is 1 minus them,
    so nothing cancels, provided they come from :math:`\boldsymbol\Sigma_{\hat y}^{-1}` without forming
    :math:`\mathbf I + \mathbf C^T\boldsymbol\Lambda^{-1}\mathbf C` (whose huge rows swamp the rest). They do,
    through the Schur complement of the small columns ``H`` given the others ``O`` (the posterior from the
    columns ``O`` alone, :math:`\boldsymbol\mu_O`, :math:`\boldsymbol\Sigma_O`):
    :math:`\mathbf S_H = \mathbf C_H\boldsymbol\Sigma_O\mathbf C_H^T + \boldsymbol\Lambda_H = ((\boldsymbol\Sigma_{\hat y}^{-1})_{HH})^{-1}`,
    :math:`\boldsymbol\Lambda_H^{-1}\mathbf e_H = \mathbf S_H^{-1}(\mathbf y_H - \mathbf c_H - \mathbf C_H\boldsymbol\mu_O)`
    and :math:`(\mathbf C^T\boldsymbol\Sigma_{\hat y}^{-1})_{:H} = \boldsymbol\Sigma_O\mathbf C_H^T\mathbf S_H^{-1}`.

    Returns the new variances of the columns ``small`` and a bound on their relative rounding errors
    (``inf`` where no route applies).
    """
    C0, c, Lam = params
    N, L = Rc.shape
    K = C0.shape[1]
    H = small
    O = np.setdiff1d(np.arange(L), H)
    if O.size:
        q_O = fa_posterior(FAParams(C0[O], np.zeros(O.size), Lam[O]), Rc[:, O])
        mu_O, Sigma_O = q_O.mu, q_O.Sigma
    else:
        mu_O, Sigma_O = np.zeros((N, K)), np.eye(K)
    C_H, Lam_H = C0[H], Lam[H]
    d_H = np.sqrt(Lam_H)
    terms = _schur_inverse_terms(C_H, Lam_H, Sigma_O, Rc[:, H] - mu_O @ C_H.T)
    if terms is None:
        return np.full(H.size, np.nan), np.full(H.size, np.inf)
    W, diag_inv, B, cond, de = terms
    e_t = W * d_H                                                        # whitened old residual, (N, h)
    P = Lam_H * diag_inv
    b = q.mu.T @ e_t / N - B * d_H                                       # (K, h)
    z = solve_triangular(L_xx, b, lower=True)
    ratio = np.mean(e_t**2, axis=0) + (1.0 - P) - np.sum(z**2, axis=0)
    err = np.full(H.size, 8 * np.finfo(float).eps * cond)               # relative, of the ratio
    if de is not None:
        err = err + np.mean(2 * np.abs(e_t) * de + de**2, axis=0) / np.abs(ratio)
    return Lam_H * ratio, err


def _scaled_cond(S):
    """Condition number of a symmetric matrix after scaling its diagonal to 1 (``inf`` if not positive definite)."""
    s = np.sqrt(np.abs(np.diag(S)))
    if not np.all(s > 0):
        return np.inf
    w = np.linalg.eigvalsh(S / np.outer(s, s))
    return float(w[-1] / w[0]) if w[0] > 0 else np.inf


def _schur_inverse_terms(C_H, Lam_H, Sigma_O, rho):
    r"""With :math:`\mathbf S_H = \mathbf C_H\boldsymbol\Sigma_O\mathbf C_H^T + \boldsymbol\Lambda_H` (``h x h``) and its
    tiny diagonal :math:`\boldsymbol\Lambda_H`: rows :math:`\mathbf S_H^{-1}\boldsymbol\rho_n` (``(N, h)``), the diagonal of
    :math:`\mathbf S_H^{-1}`, :math:`\boldsymbol\Sigma_O\mathbf C_H^T\mathbf S_H^{-1}` (``(K, h)``) and the condition
    number that bounds their rounding, and a bound on the rounding of the whitened rows
    :math:`\boldsymbol\Lambda_H^{1/2}\mathbf S_H^{-1}\boldsymbol\rho_n` carried by the data (``None`` when it is
    negligible); ``None`` if neither route below applies.

    With ``h <= K`` independent rows, :math:`\mathbf S_H` is well conditioned whatever :math:`\boldsymbol\Lambda_H`,
    and a Cholesky factor serves. With ``h > K`` (more tiny variances than factors, e.g. collinear columns)
    it is not: :math:`\boldsymbol\Lambda_H` alone fills the ``h - K`` directions :math:`\mathbf N` orthogonal
    to the columns of :math:`\mathbf C_H`, and, with :math:`\mathbf X = \mathbf C_H\mathbf L_O`
    (:math:`\boldsymbol\Sigma_O = \mathbf L_O\mathbf L_O^T`) and :math:`\mathbf G = \mathbf X^T\boldsymbol\Lambda_H^{-1}\mathbf X`,

    .. math::
        \mathbf S_H^{-1} = \mathbf N(\mathbf N^T\boldsymbol\Lambda_H\mathbf N)^{-1}\mathbf N^T
            + \boldsymbol\Lambda_H^{-1}\mathbf X\,\mathbf G^{-1}(\mathbf I+\mathbf G)^{-1}\mathbf X^T\boldsymbol\Lambda_H^{-1},
        \qquad
        \boldsymbol\Sigma_O\mathbf C_H^T\mathbf S_H^{-1} = \mathbf L_O(\mathbf I+\mathbf G)^{-1}\mathbf X^T\boldsymbol\Lambda_H^{-1},

    (the projector onto the whitened complement of the columns, plus the whitened range's share), in
    which no two large terms meet.
    """
    h, K = C_H.shape
    if h <= K:
        S_H = symmetrize(C_H @ Sigma_O @ C_H.T) + np.diag(Lam_H)
        try:
            L_S = np.linalg.cholesky(S_H)
        except np.linalg.LinAlgError:
            return None
        S_inv = chol_solve(L_S, np.eye(h))
        return chol_solve(L_S, rho.T).T, np.diag(S_inv), Sigma_O @ C_H.T @ S_inv, _scaled_cond(S_H), None
    try:
        L_O = np.linalg.cholesky(Sigma_O)
        U, sv, _ = np.linalg.svd(C_H)
        if not sv[-1] > 0:
            return None
        Nc = U[:, K:]                                                    # orthonormal, N^T C_H = 0
        A_N = symmetrize(Nc.T @ (Lam_H[:, None] * Nc))
        L_N = np.linalg.cholesky(A_N)
        X = C_H @ L_O
        Xl = X / Lam_H[:, None]                                          # Lambda_H^{-1} X
        G = symmetrize(X.T @ Xl)
        L_G = np.linalg.cholesky(G)
        L_IG = np.linalg.cholesky(G + np.eye(K))
    except np.linalg.LinAlgError:
        return None
    inner = lambda V: chol_solve(L_IG, chol_solve(L_G, V))                # noqa: E731  G^{-1}(I+G)^{-1} V, commuting
    W = chol_solve(L_N, (rho @ Nc).T).T @ Nc.T + inner((rho @ Xl).T).T @ Xl.T
    diag_inv = np.sum(Nc * chol_solve(L_N, Nc.T).T, axis=1) + np.sum(Xl * inner(Xl.T).T, axis=1)
    B = L_O @ chol_solve(L_IG, Xl.T)
    cond = max((sv[0] / sv[-1]) ** 2, _scaled_cond(A_N), _scaled_cond(G))
    # rho N is a difference of O(|rho|) terms when the data nearly lie in the columns' span: its rounding,
    # u |rho_n|, reaches W through N (N^T Lambda_H N)^{-1}, and the answer through the whitened residual
    Z = chol_solve(L_N, Nc.T) * np.sqrt(Lam_H)                            # whitened: up to about 1e154
    dE = np.finfo(float).eps * _safe_norm(rho, axis=1)[:, None] * _safe_norm(Z, axis=0)[None, :]
    return W, diag_inv, B, cond, dE


def _safe_norm(A, axis):
    """Euclidean norms along ``axis`` without overflow or underflow of the squares."""
    m = np.max(np.abs(A), axis=axis, keepdims=True)
    m = np.where(m > 0, m, 1.0)
    return np.squeeze(m, axis=axis) * np.sqrt(np.sum((A / m) ** 2, axis=axis))


def _fa_m_step(q, y, params, *, floor, strict=False):
    C_old, c, Lambda_old = params
    Eyx, Exx = _moments(q, y, c)
    L_xx = np.linalg.cholesky(Exx)
    C = chol_solve(L_xx, Eyx.T).T                        # normal equations, as _solve_C
    # diag(<yy^T> - C <x y^T>), written as the expected squared residual under the posterior, a sum of two
    # non-negative terms (equal, since C solves the normal equations): the difference form cancels O(1)
    # numbers. This keeps about 16 - log10(var_l / Lambda_new_l) digits, so a variance that stays below
    # _SMALL_VARIANCE of its column's is recomputed in whitened coordinates, where nothing cancels.
    Rc = y - c
    R = Rc - q.mu @ C.T
    Lambda = np.mean(R**2, axis=0) + np.sum((C @ q.Sigma) * C, axis=1)
    var = np.mean(Rc**2, axis=0)
    small = np.flatnonzero(Lambda_old < _SMALL_VARIANCE * var)
    if small.size:
        lam_w, err_w = _whitened_small_variances(q, Rc, params, L_xx, small)
        # the residual route rounds by some ulps of the column's variance
        err_r = 8 * np.finfo(float).eps * var[small] / np.maximum(Lambda[small], _TINY)
        need = (Lambda[small] < _SMALL_VARIANCE * var[small]) & (err_w < err_r)
        Lambda[small[need]] = lam_w[need]
        if strict:
            bad = np.flatnonzero(np.minimum(err_w, err_r) > _SMALL_MAX_ERR)
            if bad.size:
                j = int(small[bad[0]])
                raise ValueError(
                    f"Lambda[{j}] (got {Lambda_old[j]:.3g}, {Lambda_old[j] / var[j]:.3g} times column {j}'s sample "
                    f"variance) is among {small.size} unique variances below {_SMALL_VARIANCE:g} of their columns' "
                    f"variances, more than the K = {C.shape[1]} factors can pin down or with dependent loadings "
                    f"(collinear columns, say), in data that those factors fit almost exactly: the step's answer "
                    f"there would be good to only about {float(np.minimum(err_w, err_r)[bad[0]]):.1g} (relative), "
                    f"set by the rounding of y and C, not to {_SMALL_MAX_ERR:g}. Such a Lambda is supported down to "
                    f"about {_SMALL_MAX_ERR ** -1 * np.finfo(float).eps ** 2:.0e} of its column's variance when "
                    "the data fit it; raise Lambda (or Lambda_floor) above that, or fit with fit_fa, which takes "
                    "the more accurate of two routes there.")
    return FAParams(C, c, np.maximum(Lambda, floor))


def _fa_log_lik(params, y):
    return float(np.sum(fa_log_likelihood(params, y)))


def _fa_elbo(params, q, y):
    C, c, Lambda = params
    K = C.shape[1]
    return float(np.sum(gaussian_elbo(np.zeros(K), np.eye(K), C, c, np.diag(Lambda), y, q.mu, q.Sigma)))


def _fa_init(rng, y, K, mean, var, isotropic):
    L = y.shape[1]
    if isotropic:
        var = np.full(L, var.mean())
    C = rng.standard_normal((L, K)) * np.sqrt(var / (2.0 * K))[:, None]
    return FAParams(C, mean.copy(), 0.5 * var)


def fa_model(Lambda_floor_abs) -> EMModel:
    r"""The factor analyzer as an :class:`~pedagogy_lib.em.EMModel` (E step Eq. 7.3, M step Section 7.3).

    ``Lambda_floor_abs`` (shape (L,)) is the absolute floor on :math:`\boldsymbol\Lambda`; the
    data passed to :func:`~pedagogy_lib.em.run_em` are the ``(N, L)`` observations, and the
    parameters' ``c`` must already be the sample mean. :func:`fit_fa` builds this for you.
    """
    floor = as_array(Lambda_floor_abs, "Lambda_floor_abs", ndim=1, dims="(L,)")
    check_positive(floor, "Lambda_floor_abs")
    return EMModel(_fa_e_step, partial(_fa_m_step, floor=floor), _fa_log_lik, _fa_elbo, None, "factor analysis",
                   _fa_check)


def _fa_check(params, y):
    """The boundary check of the FA and PPCA models for :func:`~pedagogy_lib.em.run_em`: ``y`` (N, L) and
    ``FAParams`` whose ``C`` has L rows."""
    if params is None:
        return None, _check_data(y, 1, need_every_column=False)[0]
    C, c, Lambda = check_params(params, "init_params")
    y = _check_data(y, C.shape[1], need_every_column=False)[0]
    if C.shape[0] != y.shape[1]:
        raise ValueError(f"init_params.C must have shape (L, K) with L = {y.shape[1]} (the columns of y); got "
                         f"{C.shape}.")
    return FAParams(C, c, Lambda), y


def fa_em_step(params, y, *, Lambda_floor: float = 1e-3) -> FAParams:
    r"""One EM iteration for factor analysis (Section 7.3): E step by Eq. 7.3, then the M step.

    The M step minimizes the joint cross entropy of Eq. 7.2 under the posterior of the E step:

    .. math::
        \mathbf C \leftarrow \langle\mathbf y\check{\mathbf X}^T\rangle\langle\check{\mathbf X}\check{\mathbf X}^T\rangle^{-1},
        \qquad
        \boldsymbol\Lambda \leftarrow \operatorname{diag}\big(\langle\mathbf y\mathbf y^T\rangle
           - \mathbf C\langle\check{\mathbf X}\mathbf y^T\rangle\big)
        \quad\text{(centred } \mathbf y\text{)}.

    Parameters
    ----------
    params : FAParams
        Current parameters; their ``c`` is replaced by the sample mean (its ML value).
    y : array_like, shape (N, L)
    Lambda_floor : float
        Fraction of each dimension's sample variance below which :math:`\Lambda_l` is not allowed
        to fall (no warning here; :func:`fit_fa` warns). A :math:`\Lambda_l` below ``1e-4`` of that
        variance is updated in coordinates whitened by the old :math:`\boldsymbol\Lambda^{1/2}`, which
        keeps its digits at any ratio down to 1e-300 when the loadings of such columns, given the
        others, are linearly independent (at most ``K`` of them). With more (two collinear columns
        and one factor, say) the step takes the more accurate of that route and the residual in the
        data's coordinates, which keeps about 16 - log10(var / Lambda) digits.

    Returns
    -------
    FAParams
    """
    C0 = check_params(params)[0]
    y, K, mean, var = _check_data(y, C0.shape[1])
    fraction = _check_floor(Lambda_floor, "Lambda_floor")
    params = _check_init(params, y.shape[1], K, mean, "params")
    new = _fa_m_step(_fa_e_step(params, y), y, params, floor=_in_units(fraction, var), strict=True)
    _check_step_floor(new.Lambda, fraction, var, "Lambda_floor", "column {}'s", "fa_em_step")
    return new


def _warn_floor(Lambda, floor, what):
    hit = np.flatnonzero(Lambda <= floor * (1.0 + 1e-9))
    if not hit.size:
        return
    where = "" if Lambda.size == 1 else f" in dimension(s) {hit.tolist()}"
    warnings.warn(f"{what} reached its variance floor{where} (a Heywood case): the likelihood is maximized on the "
                  "boundary of zero noise, i.e. the factors account for all of the variance there. The floor keeps "
                  "the posterior defined, but the solution is improper: consider fewer factors or more data.",
                  HeywoodWarning, stacklevel=3)


def _run_standardized(model, init, y, mean, scale, *, max_iter, tol, return_path):
    r"""Run EM on the standardized data :math:`\mathbf z = (\mathbf y - \bar{\mathbf y})/\mathbf s` and map back.

    ``scale`` (shape (L,)) is :math:`\mathbf s`; ``model`` must already be built with floors in
    :math:`\mathbf z`'s units (the floor fractions, to an ulp, which float64 holds at every scale of
    :math:`\mathbf y`) and ``init`` is in :math:`\mathbf y`'s. Returns the result in :math:`\mathbf y`'s
    units and the final noise variances in :math:`\mathbf z`'s (for the test against the floor, which in
    :math:`\mathbf y`'s units may underflow). Factor analysis and PPCA are
    equivariant under this change of units (:math:`\mathbf C\to\mathbf S\mathbf C`,
    :math:`\boldsymbol\Lambda\to\mathbf S^2\boldsymbol\Lambda`, :math:`\ell\to\ell - N\sum_l\log s_l`), so the
    iterates are those on ``y``; only the stopping rule, relative to :math:`|\ell|`, now sees a
    log likelihood that does not shift with the units, and so stops at the same iteration
    whatever they are.
    """
    N = y.shape[0]
    z = (y - mean) / scale
    # the offset in z's units is 0 exactly, so that the model EM fits and scores is the returned one with
    # c = mean: z.mean(axis=0) is not 0 but the rounding of ``mean`` over s (1e-12 for a mean of 1e4 beside
    # a spread of 1), and that offset, dropped on the way back, moved the log likelihood of a Heywood fit by
    # (1e-12)^2 / Lambda per datum (2e-9 relative at a floor of 1e-16)
    to_z = lambda p: FAParams(p.C / scale[:, None], np.zeros(z.shape[1]), p.Lambda / scale**2)  # noqa: E731
    to_y = lambda p: FAParams(p.C * scale[:, None], mean.copy(), p.Lambda * scale**2)       # noqa: E731
    res = run_em(model, to_z(init), z, max_iter=max_iter, tol=tol, return_path=return_path)
    shift = N * float(np.sum(np.log(scale)))
    with np.errstate(under="ignore"):
        out = EMResult(to_y(res.params), res.log_lik - shift, None if res.elbo is None else res.elbo - shift,
                       res.n_iter, res.converged, None if res.path is None else tuple(to_y(p) for p in res.path))
    return out, res.params.Lambda


#: The least floor fraction that :func:`fit_fa` and :func:`fit_ppca` accept (see fit_fa's docstring for the
#: measurement): below about 1e-16 of the data's variance a learned noise variance, which is then about the
#: squared departure of the data from the loadings' span, leaves a log likelihood that float64 cannot resolve.
_FIT_FLOOR_MIN = 1e-14


def _check_fit_floor(fraction, name, fit):
    """Refuse a floor fraction below :data:`_FIT_FLOOR_MIN`, naming it, the range and the value received."""
    if fraction < _FIT_FLOOR_MIN:
        raise ValueError(f"{name} must lie in [{_FIT_FLOOR_MIN:g}, 1) for {fit}; got {fraction:.3g}. A noise variance "
                         f"learned below {_FIT_FLOOR_MIN:g} of the data's variance weighs the rounding of y and C by "
                         "1 / variance, so the fit's log likelihood would hang on the last digits of the data rather "
                         "than on the model (it keeps 10 digits down to about 1e-16). Use a floor of at least "
                         f"{_FIT_FLOOR_MIN:g}.")


def fit_fa(y, K: int, *, rng: np.random.Generator | None = None, init=None, max_iter: int = 1000,
           tol: float = 1e-8, Lambda_floor: float = 1e-3, return_path: bool = False) -> EMResult:
    r"""Fit a factor analyzer (Eq. 2.20) by EM (Section 7.3).

    Parameters
    ----------
    y : array_like, shape (N, L)
        Observations, one per row; every column must vary.
    K : int
        Number of factors, ``1 <= K <= min(L, N - 1)``.
    rng : numpy.random.Generator, optional
        Draws the initialization when ``init`` is ``None``.
    init : FAParams, optional
        Initial parameters (``c`` is replaced by the sample mean, its ML value, and an entry of
        ``Lambda`` below the floor is raised to it, so EM never sees a variance below the floor).
    max_iter, tol : int, float
        Passed to :func:`~pedagogy_lib.em.run_em` (relative tolerance on the log likelihood, never
        below :math:`64\epsilon`, the rounding of the computed likelihood). The rule is applied to
        the log likelihood of the standardized data :math:`(y_{nl}-\bar y_l)/s_l`, with
        :math:`s_l` the sample standard deviation of column ``l``, so it is free of units:
        multiplying ``y`` (or a column of it) by any factor gives the same iterations, with ``C``
        and :math:`\boldsymbol\Lambda^{1/2}` multiplied by it (the model is equivariant, and
        ``log_lik`` is reported for ``y`` itself).
    Lambda_floor : float
        In ``[1e-14, 1)``: :math:`\Lambda_l \ge` ``Lambda_floor`` times the sample variance of
        column ``l``. Reaching it raises a :class:`HeywoodWarning`. Lower it (e.g. ``1e-9``) to
        compare with software that uses a tiny absolute floor, such as scikit-learn (``1e-12``).
        A fraction below ``1e-14`` is refused (``ValueError`` naming ``Lambda_floor``): at a
        variance :math:`\Lambda_l` far below its column's, the exact log likelihood moves by about
        :math:`\epsilon\,|y|\,\delta/\Lambda_l` per datum under a rounding of ``y`` or ``C`` by
        :math:`\epsilon`, with :math:`\delta \lesssim \Lambda_l^{1/2}` the data's departure from
        the loadings' span there, and up to :math:`(\epsilon |y|)^2/\Lambda_l` when more such
        columns than factors are collinear, so no float64 route keeps the digits. Measured
        against a dense mpmath likelihood of the returned parameters (data with two collinear
        columns and one factor, offsets up to 1e6 and departures near :math:`\Lambda_l^{1/2}`):
        worst relative error 2e-11 at 1e-14, 8e-11 at 1e-16, 9e-10 at 1e-18, and 24 nats on 1500
        at 1.7e-32, where EM also reports a decrease and stops short of the floor; ``1e-14`` is a
        factor 100 above the least floor that kept 1e-10. The fit holds the floor in units of
        each column's variance, so any accepted fraction works at any scale of ``y``; a returned
        :math:`\Lambda_l` below 2.2e-308 in ``y``'s units is rounded to a subnormal, and one that
        would round to 0 (a model with no noise) is refused, naming ``Lambda_floor`` if the
        floor is what reached it.
    return_path : bool
        Keep every iterate (for animations).

    Returns
    -------
    EMResult
        ``params`` is an :class:`~pedagogy_lib.factor.model.FAParams`; ``log_lik`` and
        ``elbo`` are sums over the ``N`` observations. ``C`` is identified only up to an
        orthogonal rotation :math:`\mathbf C\mathbf R`; compare :math:`\mathbf C\mathbf C^T+\boldsymbol\Lambda`.
    """
    y, K, mean, var = _check_data(y, K)
    fraction = _check_floor(Lambda_floor, "Lambda_floor")
    _check_fit_floor(fraction, "Lambda_floor", "fit_fa")
    if init is None:
        init = _fa_init(check_rng(rng), y, K, mean, var, isotropic=False)
    else:
        init = _check_init(init, y.shape[1], K, mean)
    init = init._replace(Lambda=np.maximum(init.Lambda, _in_units(fraction, var)))
    scale = np.sqrt(var)
    floor_z = _floor_z(fraction, var, scale**2)    # the floor in units of each column's variance
    res, Lambda_z = _run_standardized(fa_model(floor_z), init, y, mean, scale, max_iter=max_iter, tol=tol,
                                      return_path=return_path)
    _warn_floor(Lambda_z, floor_z, "Lambda")
    _check_returnable(res.params.Lambda, Lambda_z, Lambda_z <= floor_z * (1.0 + 1e-9), fraction, var,
                      "Lambda_floor", "column {}'s", "noise variance Lambda")
    return res


# --------------------------------------------------------------------------- probabilistic PCA

def _ppca_m_step(q, y, params, *, floor, sigma2_fixed):
    C_old, c, Lambda_old = params
    Eyx, Exx = _moments(q, y, c)
    C = _solve_C(Eyx, Exx)
    if sigma2_fixed is not None:
        return FAParams(C, c, Lambda_old)
    L = y.shape[1]
    # tr(<yy^T> - C<x y^T>) / L as the expected squared residual, as in the factor-analysis M step
    R = (y - c) - q.mu @ C.T
    sigma2 = (np.sum(R**2) / y.shape[0] + np.sum((C @ q.Sigma) * C)) / L
    return FAParams(C, c, np.full(L, max(sigma2, floor)))


def ppca_model(sigma2_floor_abs: float, sigma2_fixed: float | None = None) -> EMModel:
    r"""Probabilistic PCA as an :class:`~pedagogy_lib.em.EMModel`: the factor-analysis E step with
    :math:`\boldsymbol\Lambda=\sigma^2\mathbf I` and M step :math:`\sigma^2\leftarrow\frac1L\operatorname{tr}(\langle\mathbf y\mathbf y^T\rangle-\mathbf C\langle\check{\mathbf X}\mathbf y^T\rangle)`
    (or :math:`\sigma^2` held at ``sigma2_fixed``)."""
    floor = positive_scalar(sigma2_floor_abs, "sigma2_floor_abs")
    if sigma2_fixed is not None:
        sigma2_fixed = positive_scalar(sigma2_fixed, "sigma2")
    return EMModel(_fa_e_step, partial(_ppca_m_step, floor=floor, sigma2_fixed=sigma2_fixed), _fa_log_lik,
                   _fa_elbo, None, "probabilistic PCA", _fa_check)


def ppca_em_step(params, y, *, sigma2: float | None = None, sigma2_floor: float = 1e-6) -> FAParams:
    r"""One EM iteration for probabilistic PCA (factor analysis with :math:`\boldsymbol\Lambda = \sigma^2\mathbf I`).

    With ``sigma2`` given, the noise variance is held fixed at that value (the route to PCA as
    ``sigma2 -> 0``, Section 7.3.1) and ``params.Lambda`` is replaced by it.

    Parameters
    ----------
    params : FAParams
        ``Lambda`` must be isotropic (all entries equal) unless ``sigma2`` is given.
    y : array_like, shape (N, L)
    sigma2 : float, optional
        Fixed noise variance.
    sigma2_floor : float
        Fraction of the average sample variance below which a learned :math:`\sigma^2` may not fall.

    Returns
    -------
    FAParams
    """
    C0 = check_params(params)[0]
    y, K, mean, var = _check_data(y, C0.shape[1], max_K_is_L_minus_1=sigma2 is None, need_every_column=False)
    fraction = _check_floor(sigma2_floor, "sigma2_floor")
    sc2 = float(var.mean())
    params = _check_ppca_init(params, y.shape[1], K, mean, sigma2, "params")
    new = _ppca_m_step(_fa_e_step(params, y), y, params, floor=_in_units(fraction, sc2), sigma2_fixed=sigma2)
    if sigma2 is None:
        _check_step_floor(new.Lambda[:1], fraction, sc2, "sigma2_floor", "the average", "ppca_em_step")
    return new


def _check_ppca_init(init, L, K, mean, sigma2, name="init"):
    init = _check_init(init, L, K, mean, name)
    if sigma2 is not None:
        return init._replace(Lambda=np.full(L, positive_scalar(sigma2, "sigma2")))
    if np.ptp(init.Lambda) > 1e-12 * float(np.max(init.Lambda)):
        raise ValueError(f"{name}.Lambda must be isotropic (all entries equal, Lambda = sigma^2 * ones(L)) for "
                         f"probabilistic PCA; got entries from {init.Lambda.min():.6g} to {init.Lambda.max():.6g}.")
    return init


def fit_ppca(y, K: int, *, rng: np.random.Generator | None = None, init=None, sigma2: float | None = None,
             max_iter: int = 1000, tol: float = 1e-8, sigma2_floor: float = 1e-6,
             return_path: bool = False) -> EMResult:
    r"""Fit probabilistic PCA, :math:`\hat p(\mathbf y\mid\mathbf x) = \mathcal N(\mathbf C\mathbf x+\mathbf c, \sigma^2\mathbf I)`, by EM.

    The maximum-likelihood answer is also available in closed form (:func:`ppca_ml`); EM reaches
    it, which the tests check. With ``sigma2`` fixed, this is EM for the factor analyzer with
    :math:`\boldsymbol\Lambda = \epsilon\mathbf I` of Section 7.3.1; as :math:`\epsilon\to0` its
    iterates approach those of :func:`fit_iterative_pca`.

    Parameters
    ----------
    y : array_like, shape (N, L)
    K : int
        ``1 <= K <= min(L - 1, N - 1)`` (``K <= L`` if ``sigma2`` is fixed).
    rng : numpy.random.Generator, optional
        Draws the initialization when ``init`` is ``None``.
    init : FAParams, optional
        Isotropic ``Lambda``; ``c`` is replaced by the sample mean.
    sigma2 : float, optional
        Hold the noise variance fixed at this value instead of learning it. The fit works in units
        of the average sample variance of ``y``'s columns, so ``sigma2`` must lie between about
        2.2e-308 and 1.8e308 times that variance (a ``ValueError`` names ``sigma2`` otherwise).
    max_iter, tol : int, float
        See :func:`~pedagogy_lib.em.run_em` (relative tolerance on the log likelihood, never below
        :math:`64\epsilon`, the rounding of the computed likelihood). The rule is applied to the
        log likelihood of the standardized data :math:`(\mathbf y_n-\bar{\mathbf y})/s`, with
        :math:`s^2` the average sample variance of the columns, so it is free of units:
        multiplying ``y`` by any factor gives the same iterations, with ``C`` and
        :math:`\sigma` multiplied by it (``log_lik`` is reported for ``y`` itself).
    sigma2_floor : float
        In ``[1e-14, 1)``: a learned :math:`\sigma^2` stays at or above this fraction of the average
        sample variance; reaching it raises a :class:`HeywoodWarning`. The fit holds the floor in
        units of that variance, so any accepted fraction works at any scale of ``y`` unless the
        returned :math:`\sigma^2` would round to 0 in ``y``'s units, which is refused. A fraction
        below ``1e-14`` is refused (``ValueError`` naming ``sigma2_floor``), for the reason and by the
        measurement given under ``Lambda_floor`` in :func:`fit_fa`: a learned :math:`\sigma^2` is
        about the squared departure of the data from the principal subspace, and below about
        ``1e-16`` of the variance the log likelihood then hangs on the rounding of ``y`` and ``C``
        (data with noise of standard deviation 1e-10 beside unit loadings gave 8e-10 relative,
        1e-12 gave 4e-7). Data that lie exactly in a ``K``-dimensional subspace have a
        maximum-likelihood :math:`\sigma^2` of 0, so the floor is what the fit returns. Once :math:`\sigma^2` sits at a small floor, EM still finds the
        principal subspace quickly, but the lengths of the loadings move only at a rate of about
        :math:`1-\sigma^2/\lambda_K` per iteration, so :math:`\mathbf C\mathbf C^T` can stay far from the
        maximum while the log likelihood barely changes: :func:`ppca_ml` gives it in closed form.
    return_path : bool

    Returns
    -------
    EMResult
        ``params`` is an ``FAParams`` with ``Lambda = sigma2 * ones(L)``.
    """
    y, K, mean, var = _check_data(y, K, max_K_is_L_minus_1=sigma2 is None, need_every_column=False)
    fraction = _check_floor(sigma2_floor, "sigma2_floor")
    _check_fit_floor(fraction, "sigma2_floor", "fit_ppca")
    sc2 = float(var.mean())
    if init is None:
        init = _fa_init(check_rng(rng), y, K, mean, var, isotropic=True)
        if sigma2 is not None:
            init = init._replace(Lambda=np.full(y.shape[1], positive_scalar(sigma2, "sigma2")))
    else:
        init = _check_ppca_init(init, y.shape[1], K, mean, sigma2)
    fixed = None
    if sigma2 is None:
        init = init._replace(Lambda=np.maximum(init.Lambda, _in_units(fraction, sc2)))
    else:                               # held in units of the average variance, where float64 must hold it
        with np.errstate(over="ignore", under="ignore"):
            fixed = float(init.Lambda[0]) / sc2
        if not _TINY <= fixed < np.inf:
            raise ValueError(f"sigma2 (got {float(init.Lambda[0]):.3g}) must lie between about 2.2e-308 and 1.8e308 "
                             f"times the average sample variance of y's columns ({sc2:.3g}), since the fit works in "
                             "units of that variance: rescale y or choose another sigma2.")
    scale = np.full(y.shape[1], np.sqrt(sc2))
    floor_z = float(_floor_z(fraction, sc2, sc2))  # the floor in units of the average variance
    res, Lambda_z = _run_standardized(ppca_model(floor_z, fixed), init, y, mean, scale, max_iter=max_iter,
                                      tol=tol, return_path=return_path)
    if sigma2 is None:
        _warn_floor(Lambda_z[:1], np.array([floor_z]), "sigma2")
        _check_returnable(res.params.Lambda[:1], Lambda_z[:1], Lambda_z[:1] <= floor_z * (1.0 + 1e-9), fraction,
                          sc2, "sigma2_floor", "the average", "noise variance sigma2")
    return res


def ppca_ml(y, K: int, *, sigma2_floor: float = 1e-6) -> FAParams:
    r"""Closed-form maximum-likelihood probabilistic PCA (Tipping and Bishop, the book's [51]).

    With :math:`\lambda_1\ge\dots\ge\lambda_L` and :math:`\mathbf U_K` the eigenvalues and top
    eigenvectors of the :math:`1/N` sample covariance,

    .. math::
        \sigma^2_{\mathrm{ML}} = \frac{1}{L-K}\sum_{j>K}\lambda_j, \qquad
        \mathbf C_{\mathrm{ML}} = \mathbf U_K(\operatorname{diag}(\lambda_{1:K}) - \sigma^2_{\mathrm{ML}}\mathbf I)^{1/2}\mathbf R,

    returned with the rotation :math:`\mathbf R=\mathbf I`. scikit-learn's ``PCA.noise_variance_``
    and ``get_covariance()`` are these times ``N / (N - 1)``.

    Parameters
    ----------
    y : array_like, shape (N, L)
    K : int
        ``1 <= K <= min(L - 1, N - 1)``.
    sigma2_floor : float
        In (0, 1), as in :func:`fit_ppca` (a :class:`HeywoodWarning` if reached, e.g. for data of
        rank ``K``). The eigenvectors and eigenvalues come from one singular value decomposition
        of the centred data, in units of a power of two near the average standard deviation
        (exactly), so data anywhere in the supported range give the same answer. The squared
        singular values resolve the discarded eigenvalues, whose mean is
        :math:`\sigma^2_{\mathrm{ML}}`, down to about ``2e-28`` of the largest; on data of
        rank ``K`` to working precision with a floor below that, the answer would be rounding noise,
        and the call is refused naming ``sigma2_floor`` (discarded eigenvalues that are exactly 0,
        from constant columns say, leave the floor as the exact answer).

    Returns
    -------
    FAParams
        ``Lambda = sigma2_ML * ones(L)``.
    """
    y, K, mean, var = _check_data(y, K, max_K_is_L_minus_1=True, need_every_column=False)
    fraction = _check_floor(sigma2_floor, "sigma2_floor")
    sc2 = float(var.mean())
    e = _unit_exponent(sc2)
    sc2_z = float(np.ldexp(sc2, -2 * e))           # the average variance in units of 4^e, near 1 (exact)
    floor_z = fraction * sc2_z
    # One factorization gives everything: the right singular vectors of the centred data (in units of 2^e,
    # scaled exactly) are the eigenvectors of its 1/N covariance and the squared singular values over N its
    # eigenvalues. A singular value carries a few ulps of the largest, so its square resolves an eigenvalue
    # down to about eps^2 of the largest (an eigendecomposition of the covariance rounds each by ulps of the
    # largest, about 1e-16 of it), which the discarded ones, whose mean is sigma2, need.
    _, sv, Vt = np.linalg.svd(np.ldexp(y - mean, -e), full_matrices=False)
    w_z = sv**2 / y.shape[0]
    V = _largest_entry_positive(Vt[:K].T)
    w_tail = np.zeros(y.shape[1] - K)
    w_tail[:max(sv.size - K, 0)] = w_z[K:]
    tail = float(np.mean(w_tail))
    sigma2_z = max(tail, floor_z)
    if tail > 0.0:          # an exactly zero tail (constant columns, say) is exact, and so is the floor then
        _refuse_unresolved_sigma2(sigma2_z / sc2_z, _PPCA_EM_RESOLUTION * w_z[0] / sc2_z, fraction, K,
                                  "the singular values of the centred data")
    C = np.ldexp(V * np.sqrt(np.maximum(w_z[:K] - sigma2_z, 0.0)), e)
    _warn_floor(np.array([sigma2_z]), np.array([floor_z]), "sigma2")
    with np.errstate(under="ignore"):
        sigma2 = float(np.ldexp(sigma2_z, 2 * e))
    _check_returnable([sigma2], [sigma2_z / sc2_z], [sigma2_z <= floor_z * (1.0 + 1e-9)], fraction, sc2,
                      "sigma2_floor", "the average", "noise variance sigma2")
    return FAParams(np.ascontiguousarray(C), mean, np.full(y.shape[1], sigma2))


# --------------------------------------------------------------------------- PCA

def _unit_exponent(var):
    """The exponent ``e`` with :math:`4^e` near ``var``: data divided by :math:`2^e` (which float64 does exactly)
    form products that neither underflow (deviations near 1e-154) nor overflow (near 1e154), and the results
    are those of the unscaled route bit for bit wherever that route is exact."""
    return math.frexp(math.sqrt(var))[1]


def _largest_entry_positive(V):
    """The sign convention of :class:`PCAResult`: each column's largest-magnitude entry positive."""
    idx = np.argmax(np.abs(V), axis=0)
    return V * np.sign(V[idx, np.arange(V.shape[1])])


def _pca_core(y, K, mean, var):
    r"""Eigen-decomposition of the :math:`1/N` sample covariance, formed in units of :math:`4^e \approx` the
    average variance (:func:`_unit_exponent`) and mapped back."""
    e = _unit_exponent(float(var.mean()))
    Z = np.ldexp(y - mean, -e)
    w_z, V = np.linalg.eigh(symmetrize(Z.T @ Z / y.shape[0]))
    w_z, V = np.maximum(w_z[::-1], 0.0), _largest_entry_positive(V[:, ::-1])
    with np.errstate(under="ignore"):
        w = np.ldexp(w_z, 2 * e)
    return PCAResult(np.ascontiguousarray(V[:, :K]), w[:K].copy(), mean, w)


def pca(y, K: int) -> PCAResult:
    r"""Principal components: the top-``K`` eigenvectors of the sample covariance (Section 7.3.1).

    .. math::
        \langle(\mathbf y-\bar{\mathbf y})(\mathbf y-\bar{\mathbf y})^T\rangle_{\mathbf Y}
          = \mathbf U\operatorname{diag}(\lambda)\mathbf U^T, \qquad
        \langle\cdot\rangle = \tfrac1N\textstyle\sum_n.

    The :math:`1/N` average is the maximum-likelihood convention of Chapter 6. scikit-learn's
    ``PCA`` divides by :math:`N-1`: its ``explained_variance_`` equals ``eigvals * N / (N - 1)``;
    its ``components_`` equals ``U.T`` up to the sign of each row.

    Parameters
    ----------
    y : array_like, shape (N, L)
    K : int
        ``1 <= K <= min(L, N - 1)``.

    Returns
    -------
    PCAResult
    """
    y, K, mean, var = _check_data(y, K, need_every_column=False)
    return _pca_core(y, K, mean, var)


def _ipca_e_step(params, y):
    C, c = params
    G = C.T @ C
    try:
        LG = np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        raise FloatingPointError("iterative PCA: C has lost rank (C^T C is singular); restart from another "
                                 "initialization or reduce K.") from None
    return chol_solve(LG, C.T @ (y - c).T).T               # rows: x_bar_n = (C^T C)^{-1} C^T (y_n - c)


def _ipca_m_step(Xbar, y, params):
    C_old, c = params
    Yc = y - c
    return PCAParams(_solve_C(Yc.T @ Xbar, symmetrize(Xbar.T @ Xbar)), c)   # <y x^T><x x^T>^{-1}


def _ipca_objective(params, y):
    C, c = params
    R = (y - c) - _ipca_e_step(params, y) @ C.T
    return -0.5 * float(np.sum(R**2))


def iterative_pca_model() -> EMModel:
    r"""Iterative PCA as an :class:`~pedagogy_lib.em.EMModel`; its "log likelihood" is
    :math:`-\tfrac12\sum_n\|\mathbf y_n-\mathbf c-\mathbf C\bar{\mathbf x}_n\|^2`, the
    :math:`\epsilon\to0` limit of :math:`\epsilon` times the log likelihood with :math:`\boldsymbol\Lambda=\epsilon\mathbf I`."""
    return EMModel(_ipca_e_step, _ipca_m_step, _ipca_objective, None, None, "iterative PCA", _ipca_check)


def _ipca_check(params, y):
    """The boundary check of iterative PCA for :func:`~pedagogy_lib.em.run_em`."""
    if params is None:
        return None, _check_data(y, 1, need_every_column=False)[0]
    C, _ = _check_pca_params(params, y, "init_params")
    c = as_array(params[1], "init_params.c", shape=(C.shape[0],), dims="(L,)")
    return PCAParams(C, c), _check_data(y, C.shape[1], need_every_column=False)[0]


def iterative_pca_step(params, y) -> PCAParams:
    r"""One iteration of the draft's iterative PCA (Section 7.3.1).

    .. math::
        \bar{\mathbf X}^{(i+1)} \leftarrow (\mathbf C^{(i)T}\mathbf C^{(i)})^{-1}\mathbf C^{(i)T}\mathbf Y, \qquad
        \mathbf C^{(i+1)} \leftarrow \langle\mathbf Y\bar{\mathbf X}^{(i+1)T}\rangle
            \langle\bar{\mathbf X}^{(i+1)}\bar{\mathbf X}^{(i+1)T}\rangle^{-1},

    on the centred data (``c`` is replaced by the sample mean; the draft leaves the centring
    implicit).

    Parameters
    ----------
    params : PCAParams
    y : array_like, shape (N, L)

    Returns
    -------
    PCAParams

    Raises
    ------
    TypeError, ValueError
        For ``params`` that are not a ``PCAParams``, a ``C`` of the wrong shape or without full column
        rank, or invalid ``y``.
    """
    C, mean = _check_pca_params(params, y)
    params = PCAParams(C, mean)
    return _ipca_m_step(_ipca_e_step(params, y), as_array(y, "y"), params)


def _check_pca_params(params, y, name="params"):
    if not isinstance(params, tuple) or len(params) != 2:
        raise TypeError(f"{name} must be PCAParams(C, c), a 2-tuple; got {type(params).__name__}.")
    f = "" if name == "params" else f"{name}."
    C = as_array(params[0], f"{f}C", ndim=2, dims="(L, K)")
    y, K, mean, _ = _check_data(y, C.shape[1], need_every_column=False)
    if C.shape != (y.shape[1], K):
        raise ValueError(f"{f}C must have shape (L, K) = {(y.shape[1], K)}; got {C.shape}.")
    norms = np.sqrt(np.sum(C**2, axis=0))
    s = np.linalg.svd(C / np.where(norms > 0, norms, 1.0), compute_uv=False) if np.all(norms > 0) else np.zeros(1)
    if s[-1] <= 100 * K * np.finfo(float).eps * s[0]:
        raise ValueError(f"{f}C must have full column rank K = {K} (the E step solves with C^T C); its columns, "
                         "scaled to unit length, are linearly dependent.")
    return C, mean


def fit_iterative_pca(y, K: int, *, rng: np.random.Generator | None = None, init=None, max_iter: int = 1000,
                      tol: float = 1e-10, return_path: bool = False) -> EMResult:
    r"""Run the draft's iterative PCA (Section 7.3.1) to convergence.

    The E step projects the centred data onto the current column space by the pseudo-inverse
    (the :math:`\epsilon\to0` posterior mean); the M step regresses the data on those
    projections. Each step minimizes the squared reconstruction error over one argument, so
    ``log_lik`` (here :math:`-\tfrac12` the total squared reconstruction error) never decreases.
    Together the two steps send :math:`\operatorname{span}(\mathbf C)` to
    :math:`\operatorname{span}(\mathbf S\mathbf C)` (a subspace iteration), so the span of ``C``
    converges to the top-``K`` principal subspace at the rate :math:`\lambda_{K+1}/\lambda_K`;
    ``C`` itself is not orthonormal. Each iteration costs :math:`O(NLK + K^3)`, with no
    :math:`L\times L` covariance (Roweis' motivation for EM-PCA).

    Parameters
    ----------
    y : array_like, shape (N, L)
    K : int
        ``1 <= K <= min(L, N - 1)``.
    rng : numpy.random.Generator, optional
        Draws the initial ``C`` when ``init`` is ``None``.
    init : PCAParams, optional
        ``c`` is replaced by the sample mean.
    max_iter, tol : int, float
        See :func:`~pedagogy_lib.em.run_em` (relative tolerance on the log likelihood, never below
        :math:`64\epsilon`, the rounding of the computed likelihood). The rule is applied to the
        objective of the standardized data :math:`(\mathbf y_n-\bar{\mathbf y})/s`, with :math:`s^2`
        the average sample variance of the columns, so it is free of units: multiplying ``y`` by any
        factor gives the same iterations, with ``C`` multiplied by it and ``log_lik`` by its square
        (``log_lik`` is reported for ``y`` itself). Iterative PCA is equivariant under one common
        factor, not under a factor per column, so the columns share :math:`s`.
    return_path : bool

    Returns
    -------
    EMResult
        ``params`` is a :class:`PCAParams`; ``elbo`` is ``None`` (a point-mass posterior has no
        finite entropy).
    """
    y, K, mean, var = _check_data(y, K, need_every_column=False)
    if init is None:
        C0 = check_rng(rng).standard_normal((y.shape[1], K)) * np.sqrt(var.mean())
    else:
        C0, _ = _check_pca_params(init, y, "init")
    # E step x = (C^T C)^{-1} C^T (y - c) and M step C = <y x^T><x x^T>^{-1} map (s y, s C) to (x, s C):
    # run on z = (y - mean) / s, whose objective does not scale with the units, and map back
    s = float(np.sqrt(var.mean()))
    z = (y - mean) / s
    to_y = lambda p: PCAParams(p.C * s, mean.copy())                                   # noqa: E731
    res = run_em(iterative_pca_model(), PCAParams(C0 / s, z.mean(axis=0)), z, max_iter=max_iter, tol=tol,
                 return_path=return_path)
    return EMResult(to_y(res.params), res.log_lik * s**2, None, res.n_iter, res.converged,
                    None if res.path is None else tuple(to_y(p) for p in res.path))
