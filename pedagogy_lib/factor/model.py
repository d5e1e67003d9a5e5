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
from scipy.linalg import solve_triangular

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


#: Largest ratio C C^T_ll / Lambda_l for which the route through C^T Lambda^{-1} C (Woodbury and the
#: determinant lemma) is used; above it that route loses about log10(ratio) digits to cancellation
#: (r^T Lambda^{-1} r - b^T Sigma b, and log|Lambda| + log|C^T Lambda^{-1} C + I|), and the
#: weighted least-squares route of :func:`_weighted_qr` is taken instead.
_LEMMA_MAX_RATIO = 1e4


def _lemma_is_safe(C, Lambda) -> bool:
    """Whether every unique variance is at least 1/_LEMMA_MAX_RATIO of its dimension's common variance."""
    return bool(np.all(np.sum(C**2, axis=1) <= _LEMMA_MAX_RATIO * Lambda))


def _weighted_qr(C, Lambda, R):
    r"""Posterior and Mahalanobis terms from a Householder QR that never forms C^T Lambda^{-1} C.

    The posterior mean is the weighted least-squares solution
    :math:`\min_{\mathbf x}\|\mathbf x\|^2 + \|\boldsymbol\Lambda^{-1/2}(\mathbf r-\mathbf C\mathbf x)\|^2`,
    i.e. of the stacked system :math:`\mathbf B\mathbf x \approx \mathbf t` with
    :math:`\mathbf B = [\boldsymbol\Lambda^{-1/2}\mathbf C; \mathbf I]`, :math:`\mathbf t = [\boldsymbol\Lambda^{-1/2}\mathbf r; \mathbf 0]`.
    Householder QR of ``B`` with its rows sorted by decreasing size and column pivoting is stable
    row by row even when some rows are enormous (a tiny :math:`\Lambda_l`; Cox and Higham,
    1998), and gives, without any subtraction of large terms, :math:`\mathbf B^T\mathbf B =
    \mathbf C^T\boldsymbol\Lambda^{-1}\mathbf C + \mathbf I = \mathbf U^T\mathbf U`, the minimizer, and the
    minimum :math:`\mathbf r^T(\mathbf C\mathbf C^T+\boldsymbol\Lambda)^{-1}\mathbf r` as the squared norm of the
    rotated right-hand side's last ``L`` entries.

    Returns ``U`` (K, K) upper triangular, ``perm`` (the column order of ``U``), ``z`` (K, N)
    with ``U x_perm = z`` for the posterior means, and ``quad`` (N,).
    """
    L, K = C.shape
    d = np.sqrt(Lambda)
    B = np.vstack([C / d[:, None], np.eye(K)])
    T = np.vstack([R.T / d[:, None], np.zeros((K, R.shape[0]))])
    order = np.argsort(-np.max(np.abs(B), axis=1), kind="stable")      # heaviest rows first
    B, T = B[order], T[order]
    perm = np.arange(K)
    for k in range(K):
        sub = B[k:, k:]
        scale = np.max(np.abs(sub), axis=0)
        norms = scale * np.sqrt(np.sum((sub / np.where(scale > 0, scale, 1.0)) ** 2, axis=0))
        j = k + int(np.argmax(norms))                                   # column pivoting
        if j != k:
            B[:, [k, j]] = B[:, [j, k]]
            perm[[k, j]] = perm[[j, k]]
        x = B[k:, k]
        m = np.max(np.abs(x))
        v = x / m                                                       # scaled: no overflow in v^T v
        alpha = -np.copysign(np.sqrt(v @ v), v[0])
        v[0] -= alpha
        beta = 2.0 / (v @ v)
        B[k:, k:] -= np.outer(v, beta * (v @ B[k:, k:]))
        T[k:] -= np.outer(v, beta * (v @ T[k:]))
        B[k, k], B[k + 1:, k] = alpha * m, 0.0
    U = np.triu(B[:K])
    resid = T[K:]
    return U, perm, T[:K], np.sum(resid**2, axis=0)


def fa_posterior(params, y) -> FAPosterior:
    r"""Posterior over the factors given observations (Eq. 2.22), in :math:`O(NLK + LK^2 + K^3)`.

    .. math::
        \boldsymbol\Sigma_{\hat x|\hat y} = (\mathbf C^T\boldsymbol\Lambda^{-1}\mathbf C + \mathbf I)^{-1},
        \qquad
        \boldsymbol\mu_{\hat x|\hat y} = \boldsymbol\Sigma_{\hat x|\hat y}\mathbf C^T\boldsymbol\Lambda^{-1}(\mathbf y-\mathbf c).

    This is the information form of Eqs. 2.13-2.14: the only inversions are of the diagonal
    :math:`\boldsymbol\Lambda` (elementwise) and of one ``K x K`` matrix, by Cholesky, computed
    once for all ``N`` observations. When a unique variance is tiny next to its dimension's
    common variance (some :math:`(\mathbf C\mathbf C^T)_{ll} > 10^4\,\Lambda_l`), the precision matrix
    is dominated by a few huge rows and loses digits; the posterior is then computed as the
    weighted least-squares solution by a row-sorted, column-pivoted Householder QR (see
    :func:`fa_log_likelihood`), which never forms it.

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
    K = C.shape[1]
    if not _lemma_is_safe(C, Lambda):                                    # a tiny unique variance
        U, perm, z, _ = _weighted_qr(C, Lambda, np.atleast_2d(y) - c)
        Uinv = solve_triangular(U, np.eye(K))
        inv = np.empty(K, dtype=int)
        inv[perm] = np.arange(K)
        Sigma = symmetrize((Uinv @ Uinv.T)[np.ix_(inv, inv)])
        mu = solve_triangular(U, z)[inv].T
        return FAPosterior(mu[0] if y.ndim == 1 else mu, Sigma)
    Ct_Lam_inv, L_post = _posterior_precision_chol(C, Lambda)
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

    Both differences cancel when a unique variance is tiny next to its dimension's common
    variance (the Heywood boundary, :math:`\Lambda_l \ll (\mathbf C\mathbf C^T)_{ll}`): the terms
    grow like :math:`1/\Lambda_l` while the density stays finite. So when some
    :math:`(\mathbf C\mathbf C^T)_{ll} > 10^4\,\Lambda_l` (a check of the input), the same two
    quantities come instead from a Householder QR of the weighted least-squares problem
    :math:`\min_{\mathbf x}\|\mathbf x\|^2 + \|\boldsymbol\Lambda^{-1/2}(\mathbf r-\mathbf C\mathbf x)\|^2`
    (rows sorted by size, columns pivoted), whose minimum is the quadratic form and whose
    triangular factor gives the determinant, with no difference of large terms: the result stays
    accurate to a few ulps for any :math:`\Lambda_l > 0` (1e-300 included). :func:`fa_posterior`
    takes the same route.

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
    R = np.atleast_2d(y) - c
    if _lemma_is_safe(C, Lambda):
        Ct_Lam_inv, L_post = _posterior_precision_chol(C, Lambda)
        b = R @ Ct_Lam_inv.T                                               # rows: C^T Lambda^{-1} r
        quad = np.sum(R**2 / Lambda, axis=1) - np.sum(b * chol_solve(L_post, b.T).T, axis=1)
        logdet = float(np.sum(np.log(Lambda))) + chol_logdet(L_post)
    else:                                                                  # a tiny unique variance
        U, _, _, quad = _weighted_qr(C, Lambda, R)
        logdet = float(np.sum(np.log(Lambda))) + 2.0 * float(np.sum(np.log(np.abs(np.diag(U)))))
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
