r"""Factor analysis: inference and marginalization (book Section 2.1.2, Eqs. 2.20-2.22).

A factor analyzer is the jointly Gaussian model of Eq. 2.11 with the degrees of freedom that the
data cannot identify removed: a standard-normal source of ``K`` latent factors and a diagonal
emission covariance :math:`\boldsymbol\Lambda` over ``L`` observed dimensions (usually
:math:`K < L`),

.. math::
    \hat p(\mathbf x) = \mathcal N(\mathbf 0, \mathbf I), \qquad
    \hat p(\mathbf y\mid\mathbf x) = \mathcal N(\mathbf C\mathbf x + \mathbf c, \boldsymbol\Lambda).
    \qquad (2.20)

The diagonal of :math:`\boldsymbol\Lambda` is stored as a vector ``Lambda`` of shape ``(L,)``,
so that inverting it costs :math:`O(L)`; every function here exploits that and never forms an
``L x L`` inverse. Learning the parameters (EM, Section 7.3 of the book) builds on
:func:`fa_posterior`, whose outputs are the E-step's sufficient statistics, and on
:func:`fa_log_likelihood`, which monitors it.

The general-purpose :func:`pedagogy_lib.gaussian.bayes_invert` computes the same posterior with
``mu_x = 0``, ``Sigma_x = I``, ``Sigma_y_x = diag(Lambda)``; the tests use it as an oracle.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_int, check_positive, check_rng
from ..gaussian.blocks import Gaussian
from ..core.linalg import TAU, chol_logdet, chol_solve, symmetrize

__all__ = ["FAParams", "FAPosterior", "FASample", "fa_marginal", "fa_posterior", "fa_log_likelihood",
           "fa_sample"]


class FAParams(NamedTuple):
    r"""Parameters of a factor analyzer (Eq. 2.20).

    Attributes
    ----------
    C : ndarray, shape (L, K)
        Loadings :math:`\mathbf C`: column ``k`` is how factor ``k`` moves the observations.
    c : ndarray, shape (L,)
        Offset :math:`\mathbf c` (the marginal mean, Eq. 2.21).
    Lambda : ndarray, shape (L,)
        Diagonal of the emission covariance :math:`\boldsymbol\Lambda` (the "unique" variances);
        all entries positive.
    """

    C: np.ndarray
    c: np.ndarray
    Lambda: np.ndarray


class FAPosterior(NamedTuple):
    r"""Posterior over the factors, :math:`\hat p(\mathbf x\mid\mathbf y)` (Eq. 2.22).

    Attributes
    ----------
    mu : ndarray, shape (N, K) or (K,)
        Posterior means :math:`\boldsymbol\mu_{\hat x|\hat y}`, one row per observation (the
        "factor scores").
    Sigma : ndarray, shape (K, K)
        Posterior covariance :math:`(\mathbf C^T\boldsymbol\Lambda^{-1}\mathbf C + \mathbf I)^{-1}`,
        shared by all observations.
    """

    mu: np.ndarray
    Sigma: np.ndarray


class FASample(NamedTuple):
    """Draws from the factor analyzer: factors ``x`` of shape (N, K), observations ``y`` of shape (N, L)."""

    x: np.ndarray
    y: np.ndarray


def check_params(params, name: str = "params"):
    """Validate FAParams; return contiguous float arrays ``C, c, Lambda``.

    ``name`` is the argument's name in messages; fields are called ``C``, ``c``, ``Lambda`` for
    ``"params"`` and ``init.C``, ... otherwise.
    """
    if not isinstance(params, tuple) or len(params) != 3:
        got = f"a tuple of length {len(params)}" if isinstance(params, tuple) else type(params).__name__
        raise TypeError(f"{name} must be FAParams(C, c, Lambda), a 3-tuple; got {got}.")
    f = "" if name == "params" else f"{name}."
    C, c, Lambda = params
    c = as_array(c, f"{f}c", ndim=1, dims="(L,)", nonempty=True)
    L = c.shape[0]
    C = as_array(C, f"{f}C", ndim=2, dims="(L, K)")
    if C.shape[0] != L or C.shape[1] < 1:
        raise ValueError(f"{f}C must have shape (L, K) with L = {L} and K >= 1; got {C.shape}.")
    Lambda = as_array(Lambda, f"{f}Lambda", shape=(L,), dims="(L,)")
    check_positive(Lambda, f"{f}Lambda")
    return C, c, Lambda


def _check_y(y, L):
    y = as_array(y, "y")
    if y.ndim not in (1, 2) or y.shape[-1] != L:
        raise ValueError(f"y must have shape (L,) or (N, L) with L = {L}; got {y.shape}.")
    return y


def fa_marginal(params) -> Gaussian:
    r"""Marginal distribution of the observations (Eq. 2.21).

    .. math::
        \hat p(\mathbf y) = \mathcal N(\mathbf c, \mathbf C\mathbf C^T + \boldsymbol\Lambda).

    It is Eqs. 2.16-2.17 with :math:`\boldsymbol\mu_{\hat x}=\mathbf 0` and
    :math:`\boldsymbol\Sigma_{\hat x}=\mathbf I`. It depends on :math:`\mathbf C` only through
    :math:`\mathbf C\mathbf C^T`, so :math:`\mathbf C\mathbf R` gives the same marginal for any
    orthogonal :math:`\mathbf R` (the factors are identifiable only up to a rotation).

    Parameters
    ----------
    params : FAParams

    Returns
    -------
    Gaussian
        ``mu`` of shape (L,), ``Sigma`` of shape (L, L).
    """
    C, c, Lambda = check_params(params)
    return Gaussian(c.copy(), symmetrize(C @ C.T + np.diag(Lambda)))


def _posterior_precision_chol(C, Lambda):
    """Return C^T Lambda^{-1} (K, L) and the Cholesky factor of C^T Lambda^{-1} C + I (Eq. 2.22)."""
    Ct_Lam_inv = C.T / Lambda                                   # O(L K): Lambda is diagonal
    precision = symmetrize(Ct_Lam_inv @ C + np.eye(C.shape[1]))
    return Ct_Lam_inv, np.linalg.cholesky(precision)


def fa_posterior(params, y) -> FAPosterior:
    r"""Posterior over the factors given observations (Eq. 2.22), in :math:`O(NLK + LK^2 + K^3)`.

    .. math::
        \boldsymbol\Sigma_{\hat x|\hat y} = (\mathbf C^T\boldsymbol\Lambda^{-1}\mathbf C + \mathbf I)^{-1},
        \qquad
        \boldsymbol\mu_{\hat x|\hat y} = \boldsymbol\Sigma_{\hat x|\hat y}\mathbf C^T\boldsymbol\Lambda^{-1}(\mathbf y-\mathbf c).

    This is the information form of Eqs. 2.13-2.14: the only inversions are of the diagonal
    :math:`\boldsymbol\Lambda` (elementwise) and of one ``K x K`` matrix, by Cholesky, computed
    once for all ``N`` observations.

    Parameters
    ----------
    params : FAParams
    y : array_like, shape (N, L) or (L,)

    Returns
    -------
    FAPosterior
        ``mu`` of shape (N, K) (or (K,) for a single observation) and ``Sigma`` of shape (K, K).
    """
    C, c, Lambda = check_params(params)
    y = _check_y(y, c.shape[0])
    Ct_Lam_inv, L_post = _posterior_precision_chol(C, Lambda)
    K = C.shape[1]
    Sigma = symmetrize(chol_solve(L_post, np.eye(K)))                    # Eq. 2.22, covariance
    mu = chol_solve(L_post, Ct_Lam_inv @ (np.atleast_2d(y) - c).T).T    # Eq. 2.22, mean
    return FAPosterior(mu[0] if y.ndim == 1 else mu, Sigma)


def fa_log_likelihood(params, y) -> np.ndarray | float:
    r"""Log marginal density :math:`\log\mathcal N(\mathbf y; \mathbf c, \mathbf C\mathbf C^T+\boldsymbol\Lambda)` (Eq. 2.21).

    Computed without an ``L x L`` factorization: with :math:`\mathbf r = \mathbf y - \mathbf c`,
    the Woodbury identity (Eq. B.14) and the matrix determinant lemma give

    .. math::
        \mathbf r^T\boldsymbol\Sigma_{\hat y}^{-1}\mathbf r = \mathbf r^T\boldsymbol\Lambda^{-1}\mathbf r
            - \mathbf b^T\boldsymbol\Sigma_{\hat x|\hat y}\mathbf b, \quad
        \mathbf b = \mathbf C^T\boldsymbol\Lambda^{-1}\mathbf r, \qquad
        \log|\boldsymbol\Sigma_{\hat y}| = \textstyle\sum_l\log\Lambda_l
            + \log|\mathbf C^T\boldsymbol\Lambda^{-1}\mathbf C + \mathbf I|.

    Parameters
    ----------
    params : FAParams
    y : array_like, shape (N, L) or (L,)

    Returns
    -------
    ndarray, shape (N,), or float for a single observation
    """
    C, c, Lambda = check_params(params)
    y = _check_y(y, c.shape[0])
    L = c.shape[0]
    Ct_Lam_inv, L_post = _posterior_precision_chol(C, Lambda)
    R = np.atleast_2d(y) - c
    b = R @ Ct_Lam_inv.T                                                   # rows: C^T Lambda^{-1} r
    quad = np.sum(R**2 / Lambda, axis=1) - np.sum(b * chol_solve(L_post, b.T).T, axis=1)
    logdet = float(np.sum(np.log(Lambda))) + chol_logdet(L_post)
    out = -0.5 * quad - 0.5 * logdet - 0.5 * L * np.log(TAU)
    return float(out[0]) if y.ndim == 1 else out


def fa_sample(rng, params, N: int) -> FASample:
    r"""Draw ``N`` factor vectors and observations from the factor analyzer (Eq. 2.20).

    .. math::
        \hat{\mathbf X} \sim \mathcal N(\mathbf 0, \mathbf I), \qquad
        \hat{\mathbf Y} = \mathbf C\hat{\mathbf X} + \mathbf c + \boldsymbol\Lambda^{1/2}\hat{\mathbf Z},
        \quad \hat{\mathbf Z} \sim \mathcal N(\mathbf 0, \mathbf I).

    Parameters
    ----------
    rng : numpy.random.Generator
    params : FAParams
    N : int
        Number of draws (at least 1).

    Returns
    -------
    FASample
        ``x`` of shape (N, K) and ``y`` of shape (N, L).
    """
    rng = check_rng(rng)
    C, c, Lambda = check_params(params)
    N = check_int(N, "N", minimum=1)
    L, K = C.shape
    x = rng.standard_normal((N, K))
    y = x @ C.T + c + rng.standard_normal((N, L)) * np.sqrt(Lambda)
    return FASample(x, y)
