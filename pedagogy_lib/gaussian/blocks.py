r"""Jointly Gaussian building blocks: MARGINALIZE and BAYES-INVERT (book Section 2.1.2).

The model of Eq. 2.11 is a Gaussian source and an affine-Gaussian emission,

.. math::
    \hat p(\mathbf x) = \mathcal N(\boldsymbol\mu_{\hat x}, \boldsymbol\Sigma_{\hat x}), \qquad
    \hat p(\mathbf y \mid \mathbf x) = \mathcal N(\mathbf C\mathbf x + \mathbf c, \boldsymbol\Sigma_{\hat y|\hat x}).

Two operations answer every question about it, and Section 2.2 reuses them for every step of
the Kalman filter and RTS smoother (time update, measurement update, future conditioning,
backward step):

* :func:`marginalize` gives the marginal cumulants of :math:`\hat{\mathbf Y}` (Eqs. 2.16-2.17);
* :func:`bayes_invert` gives the posterior :math:`\hat p(\mathbf x\mid\mathbf y)` (Eqs. 2.13-2.15
  in information form, Eqs. 2.23-2.27 in covariance form), the gain :math:`\mathbf K`, and the
  log evidence :math:`\log\hat p(\mathbf y)` (Eq. 2.18).

:func:`joint` stacks the source and emission into one Gaussian (using the cross-covariance of
Eq. 2.19) and :func:`condition` conditions any Gaussian by Schur complements; together they give
an independent route to the same posterior, which the tests and notebooks use as an oracle.

Shapes: ``K`` source dimensions, ``L`` emission dimensions (``M`` in the book's complexity
remark), ``N`` observations processed at once.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_choice, check_int, check_psd, check_rng, check_spd
from ..core.linalg import TAU, chol_logdet, chol_solve, mvn_logpdf_chol, symmetrize

__all__ = [
    "Gaussian",
    "LinearGaussian",
    "GaussianPosterior",
    "marginalize",
    "bayes_invert",
    "joint",
    "condition",
    "mvn_logpdf",
    "sample_mvn",
]


class Gaussian(NamedTuple):
    r"""A multivariate normal :math:`\mathcal N(\boldsymbol\mu, \boldsymbol\Sigma)`.

    Attributes
    ----------
    mu : ndarray, shape (D,)
    Sigma : ndarray, shape (D, D)
    """

    mu: np.ndarray
    Sigma: np.ndarray


class LinearGaussian(NamedTuple):
    r"""Parameters of the jointly Gaussian model of Eq. 2.11.

    ``bayes_invert(*model, y)`` and ``marginalize(*model)`` accept it unpacked.

    Attributes
    ----------
    mu_x : ndarray, shape (K,)
        Source mean :math:`\boldsymbol\mu_{\hat x}`.
    Sigma_x : ndarray, shape (K, K)
        Source covariance :math:`\boldsymbol\Sigma_{\hat x}`.
    C : ndarray, shape (L, K)
        Emission matrix :math:`\mathbf C`.
    c : ndarray, shape (L,)
        Emission offset :math:`\mathbf c`.
    Sigma_y_x : ndarray, shape (L, L)
        Emission covariance :math:`\boldsymbol\Sigma_{\hat y|\hat x}`.
    """

    mu_x: np.ndarray
    Sigma_x: np.ndarray
    C: np.ndarray
    c: np.ndarray
    Sigma_y_x: np.ndarray


class GaussianPosterior(NamedTuple):
    r"""Result of :func:`bayes_invert`.

    Attributes
    ----------
    mu : ndarray, shape (K,) or (N, K)
        Posterior mean :math:`\boldsymbol\mu_{\hat x|\hat y}` (Eq. 2.13 = Eq. 2.27), one row per observation.
    Sigma : ndarray, shape (K, K)
        Posterior covariance :math:`\boldsymbol\Sigma_{\hat x|\hat y}` (Eq. 2.14 = Eq. 2.23); it does not
        depend on :math:`\mathbf y`.
    gain : ndarray, shape (K, L)
        :math:`\mathbf K = \boldsymbol\Sigma_{\hat x|\hat y}\mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}
        = \boldsymbol\Sigma_{\hat x}\mathbf C^T\boldsymbol\Sigma_{\hat y}^{-1}` (Eqs. 2.15, 2.25), the Kalman gain
        of Section 2.2.2.
    mu_y : ndarray, shape (L,)
        Marginal mean :math:`\boldsymbol\mu_{\hat y} = \mathbf C\boldsymbol\mu_{\hat x}+\mathbf c` (Eq. 2.16).
    Sigma_y : ndarray, shape (L, L)
        Marginal covariance :math:`\boldsymbol\Sigma_{\hat y}` (Eq. 2.17).
    log_evidence : float or ndarray, shape (N,)
        :math:`\log\hat p(\mathbf y) = \log\mathcal N(\mathbf y; \boldsymbol\mu_{\hat y}, \boldsymbol\Sigma_{\hat y})`
        (Eq. 2.18) at each observation.
    """

    mu: np.ndarray
    Sigma: np.ndarray
    gain: np.ndarray
    mu_y: np.ndarray
    Sigma_y: np.ndarray
    log_evidence: np.ndarray | float


def check_model(mu_x, Sigma_x, C, c, Sigma_y_x, *, semidefinite: bool = False, noise_semidefinite: bool = False):
    """Validate the five parameters of Eq. 2.11; return arrays and Cholesky factors.

    With ``semidefinite=True`` a singular ``Sigma_x`` (a prior that pins some directions exactly, as a
    filter's posterior does after a near-noiseless observation) is accepted and its factor is ``None``:
    the marginal, the joint and the covariance form of the posterior never invert it. With
    ``noise_semidefinite=True`` the same holds for ``Sigma_y_x`` (the marginal and the joint only;
    the smoother's backward conditionals are such).
    """
    mu_x = as_array(mu_x, "mu_x", ndim=1, dims="(K,)")
    K = mu_x.shape[0]
    if K == 0:
        raise ValueError("mu_x must have at least one entry (K >= 1); got shape (0,).")
    Sigma_x = _check_cov_width(Sigma_x, "Sigma_x", K, "mu_x", mu_x.shape)
    L_x = _check_covariance(Sigma_x, "Sigma_x", semidefinite)
    c = as_array(c, "c", ndim=1, dims="(L,)")
    L = c.shape[0]
    if L == 0:
        raise ValueError("c must have at least one entry (L >= 1); got shape (0,).")
    C = as_array(C, "C", shape=(L, K), dims="(L, K)")
    Sigma_y_x = as_array(Sigma_y_x, "Sigma_y_x", shape=(L, L), dims="(L, L)")
    try:
        L_yx = _noise_factor(Sigma_y_x)
    except ValueError as exc:
        if not noise_semidefinite:
            raise
        try:
            check_psd(Sigma_y_x, "Sigma_y_x")
        except ValueError:
            raise exc from None
        L_yx = None
    return mu_x, Sigma_x, L_x, C, c, Sigma_y_x, L_yx


def _noise_factor(Sigma_y_x: np.ndarray):
    """The Cholesky factor of a definite ``Sigma_y_x``, or ``None`` when it is diagonal (then inverted in O(L))."""
    if _is_diagonal(Sigma_y_x):          # O(L) check; L_yx = None marks the diagonal case
        d = np.diag(Sigma_y_x)
        if np.any(d <= 0):
            k = int(np.argmax(d <= 0))
            raise ValueError(f"Sigma_y_x is not symmetric positive definite: it is diagonal and "
                             f"diagonal entry {k} is {d[k]:.3g} (must be positive).")
        return None
    return check_spd(Sigma_y_x, "Sigma_y_x")


def _check_covariance(S: np.ndarray, name: str, semidefinite: bool):
    """The Cholesky factor of a definite ``S``; with ``semidefinite``, ``None`` for a singular one that is
    still semidefinite. A matrix that is neither gets the definite check's message."""
    try:
        return check_spd(S, name)
    except ValueError as exc:
        if not semidefinite:
            raise
        try:
            check_psd(S, name)
        except ValueError:
            raise exc from None
        return None


def _nearest_psd(S: np.ndarray) -> np.ndarray:
    """``S`` itself when no eigenvalue is negative, else its projection onto the semidefinite cone.

    For a covariance that is a sum of semidefinite terms (the Joseph arrangement of Eq. 2.27): a
    negative eigenvalue is rounding, of the size of the terms times the unit roundoff, not of ``S``'s
    own small eigenvalues. A prior exact along a direction (true variance 1e-40 beside variances near
    one) rounds to about -1e-17 there, and a later step that judged that matrix on its own scale
    refused it as indefinite. Setting the negative eigenvalues to zero is the nearest semidefinite
    matrix in the Frobenius norm, so it moves ``S`` no farther from the exact covariance than the
    rounding already did.
    """
    w, V = np.linalg.eigh(S)
    if w[0] >= 0.0:
        return S
    return symmetrize((V * np.maximum(w, 0.0)) @ V.T)


def _is_diagonal(S: np.ndarray) -> bool:
    return not np.any(S - np.diag(np.diag(S)))


def marginalize(mu_x, Sigma_x, C, c, Sigma_y_x) -> Gaussian:
    r"""Marginal of the emission, :math:`\hat p(\mathbf y)` (Eqs. 2.16, 2.17 and 2.18).

    .. math::
        \boldsymbol\mu_{\hat y} = \mathbf C\boldsymbol\mu_{\hat x} + \mathbf c, \qquad
        \boldsymbol\Sigma_{\hat y} = \mathbf C\boldsymbol\Sigma_{\hat x}\mathbf C^T + \boldsymbol\Sigma_{\hat y|\hat x}.

    The first line is the law of total expectation, the second the law of total covariance; all
    higher cumulants vanish, so the marginal is Gaussian. With :math:`\mathbf C = \mathbf A`,
    :math:`\mathbf c = \mathbf B\mathbf u_{t-1}+\mathbf a` and the state noise as
    :math:`\boldsymbol\Sigma_{\hat y|\hat x}` this is the Kalman filter's time update (Eq. 2.46).

    Parameters
    ----------
    mu_x : array_like, shape (K,)
    Sigma_x : array_like, shape (K, K)
        Symmetric positive semidefinite (a prior exact along some directions is a valid prior here).
    C : array_like, shape (L, K)
    c : array_like, shape (L,)
    Sigma_y_x : array_like, shape (L, L)
        Symmetric positive semidefinite (likewise).

    Returns
    -------
    Gaussian
        ``mu`` of shape (L,), ``Sigma`` of shape (L, L).
    """
    mu_x, Sigma_x, _, C, c, Sigma_y_x, _ = check_model(mu_x, Sigma_x, C, c, Sigma_y_x, semidefinite=True,
                                                       noise_semidefinite=True)
    return Gaussian(C @ mu_x + c, symmetrize(C @ Sigma_x @ C.T + Sigma_y_x))


def bayes_invert(mu_x, Sigma_x, C, c, Sigma_y_x, y, *, form: str = "auto") -> GaussianPosterior:
    r"""Posterior :math:`\hat p(\mathbf x\mid\mathbf y)` of the jointly Gaussian model (Eq. 2.12), with the
    marginal cumulants and the log evidence on the way (Eqs. 2.16, 2.17 and 2.18).

    Two algebraically equal forms are available:

    ``"information"`` (Eqs. 2.13, 2.14 and 2.15), completing the square in source space; inverts a
    :math:`K\times K` matrix (and :math:`\boldsymbol\Sigma_{\hat y|\hat x}`, which costs only
    :math:`O(L)` when it is diagonal, as in factor analysis):

    .. math::
        \boldsymbol\Sigma_{\hat x|\hat y}^{-1} = \mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf C
            + \boldsymbol\Sigma_{\hat x}^{-1}, \qquad
        \boldsymbol\mu_{\hat x|\hat y} = \boldsymbol\Sigma_{\hat x|\hat y}\big[\mathbf C^T
            \boldsymbol\Sigma_{\hat y|\hat x}^{-1}(\mathbf y-\mathbf c)
            + \boldsymbol\Sigma_{\hat x}^{-1}\boldsymbol\mu_{\hat x}\big].

    ``"covariance"`` (Eqs. 2.24, 2.25, 2.26 and 2.27), after the Woodbury identity (B.14) moves the inversion to
    emission space; inverts the :math:`L\times L` marginal covariance :math:`\boldsymbol\Sigma_{\hat y}`:

    .. math::
        \mathbf K = \boldsymbol\Sigma_{\hat x}\mathbf C^T\boldsymbol\Sigma_{\hat y}^{-1}, \quad
        \boldsymbol\mu_{\hat x|\hat y} = \boldsymbol\mu_{\hat x} + \mathbf K(\mathbf y - \boldsymbol\mu_{\hat y}), \quad
        \boldsymbol\Sigma_{\hat x|\hat y} = \boldsymbol\Sigma_{\hat x} - \mathbf K\boldsymbol\Sigma_{\hat y}\mathbf K^T.

    ``"auto"`` picks the information form when :math:`K < L` and the covariance form otherwise, and the
    covariance form whenever :math:`\boldsymbol\Sigma_{\hat x}` is singular to working precision (the
    information form inverts it; the covariance form needs only :math:`\boldsymbol\Sigma_{\hat y}` definite).
    ``"covariance"`` accepts such a prior too; ``"information"`` refuses it, naming ``Sigma_x``.

    Parameters
    ----------
    mu_x, Sigma_x, C, c, Sigma_y_x : array_like
        The model's parameters, as in Eq. 2.11; see :class:`LinearGaussian` for shapes.
    y : array_like, shape (L,) or (N, L)
        One observation, or ``N`` observations that share the model (the posterior covariance and
        gain are computed once, which answers the book's question of how to limit the number of
        inversions when inference is repeated).
    form : {"auto", "information", "covariance"}

    Returns
    -------
    GaussianPosterior

    Raises
    ------
    ValueError
        If a shape does not match, a covariance is not symmetric positive definite, or an entry
        is not finite.
    """
    try:
        mu_x, Sigma_x, L_x, C, c, Sigma_y_x, L_yx = check_model(mu_x, Sigma_x, C, c, Sigma_y_x)
    except ValueError as exc:                       # a singular prior is valid for the covariance form
        if not (isinstance(form, str) and form in ("auto", "covariance")):
            raise
        try:
            mu_x, Sigma_x, L_x, C, c, Sigma_y_x, L_yx = check_model(mu_x, Sigma_x, C, c, Sigma_y_x,
                                                                    semidefinite=True)
        except ValueError:
            raise exc from None
        form = "covariance"
    K, L = mu_x.shape[0], c.shape[0]
    y = as_array(y, "y")
    if y.ndim not in (1, 2) or y.shape[-1] != L:
        raise ValueError(f"y must have shape (L,) or (N, L) with L = {L}; got {y.shape}.")
    check_choice(form, "form", ("auto", "information", "covariance"))
    if form == "auto":
        form = "information" if K < L else "covariance"
    Y = np.atleast_2d(y)
    mu_y = C @ mu_x + c                                         # Eq. 2.16
    Sigma_y = symmetrize(C @ Sigma_x @ C.T + Sigma_y_x)         # Eq. 2.17
    if form == "covariance":
        try:
            L_y = np.linalg.cholesky(Sigma_y)
        except np.linalg.LinAlgError:
            raise ValueError("form='covariance' factors the marginal covariance C Sigma_x C^T + Sigma_y_x, which is "
                             "singular to working precision here (Sigma_y_x is below the rounding of C Sigma_x C^T "
                             "along a direction C does not reach): use form='information', which never forms it."
                             ) from None
        gain = chol_solve(L_y, C @ Sigma_x).T                   # Eq. 2.25: K = Sigma_x C^T Sigma_y^{-1}
        mu = mu_x + (Y - mu_y) @ gain.T                         # Eq. 2.27 (Eq. 2.24)
        # Eq. 2.27 in Joseph's arrangement, (I - K C) Sigma_x (I - K C)^T + K Sigma_y|x K^T: the same matrix,
        # but a sum of two semidefinite terms, so a prior pinned along a direction stays semidefinite
        # where the difference Sigma_x - K Sigma_y K^T rounds to negative variances
        M = np.eye(K) - gain @ C
        Sigma = _nearest_psd(symmetrize(M @ Sigma_x @ M.T + gain @ Sigma_y_x @ gain.T))
        log_ev = mvn_logpdf_chol(Y, mu_y, L_y)                  # Eq. 2.18
    else:
        if L_yx is None:                                        # diagonal: O(L) to invert
            d = np.diag(Sigma_y_x)
            Syx_inv_C = C / d[:, None]
            Syx_inv_r = lambda R: R / d                          # noqa: E731
            logdet_yx = float(np.sum(np.log(d)))
        else:
            Syx_inv_C = chol_solve(L_yx, C)
            Syx_inv_r = lambda R: chol_solve(L_yx, R.T).T       # noqa: E731
            logdet_yx = chol_logdet(L_yx)
        precision = symmetrize(C.T @ Syx_inv_C + chol_solve(L_x, np.eye(K)))     # Eq. 2.14
        L_post = np.linalg.cholesky(precision)
        Sigma = symmetrize(chol_solve(L_post, np.eye(K)))
        gain = Sigma @ Syx_inv_C.T                              # Eq. 2.15: K = Sigma_{x|y} C^T Sigma_{y|x}^{-1}
        rhs = Syx_inv_r(Y - c) @ C + chol_solve(L_x, mu_x)      # C^T S^{-1}(y - c) + Sigma_x^{-1} mu_x
        mu = chol_solve(L_post, rhs.T).T                        # Eq. 2.13
        # log p(y) without forming Sigma_y^{-1}. The matrix determinant lemma gives
        # log|Sigma_y| = log|Sigma_y|x| + log|Sigma_x| + log|Sigma_{x|y}^{-1}|. For the quadratic form,
        # Woodbury's r^T Sigma_y|x^{-1} r - b^T Sigma_{x|y} b (b = C^T Sigma_y|x^{-1} r) is a difference of two
        # terms of size |r|^2 / noise, which cancel when the noise is small beside the prior (10 nats off at
        # 1e-16); the same number is the minimum over x of the two squares below, reached at the posterior
        # mean's shift u = Sigma_{x|y} b, and as their sum nothing cancels:
        # r^T Sigma_y^{-1} r = (r - C u)^T Sigma_y|x^{-1} (r - C u) + u^T Sigma_x^{-1} u.
        R = Y - mu_y
        u = chol_solve(L_post, (Syx_inv_r(R) @ C).T).T
        E = R - u @ C.T
        quad = np.sum(E * Syx_inv_r(E), axis=1) + np.sum(u * chol_solve(L_x, u.T).T, axis=1)
        logdet = logdet_yx + chol_logdet(L_x) + chol_logdet(L_post)
        log_ev = -0.5 * quad - 0.5 * logdet - 0.5 * L * np.log(TAU)
    if y.ndim == 1:
        mu, log_ev = mu[0], float(log_ev[0])
    return GaussianPosterior(mu, Sigma, gain, mu_y, Sigma_y, log_ev)


def joint(mu_x, Sigma_x, C, c, Sigma_y_x) -> Gaussian:
    r"""The stacked Gaussian of :math:`[\hat{\mathbf X}; \hat{\mathbf Y}]` (Eqs. 2.16, 2.17 and 2.19).

    .. math::
        \begin{bmatrix}\hat{\mathbf X}\\ \hat{\mathbf Y}\end{bmatrix} \sim \mathcal N\left(
        \begin{bmatrix}\boldsymbol\mu_{\hat x}\\ \mathbf C\boldsymbol\mu_{\hat x}+\mathbf c\end{bmatrix},
        \begin{bmatrix}\boldsymbol\Sigma_{\hat x} & \boldsymbol\Sigma_{\hat x}\mathbf C^T\\
        \mathbf C\boldsymbol\Sigma_{\hat x} & \mathbf C\boldsymbol\Sigma_{\hat x}\mathbf C^T+\boldsymbol\Sigma_{\hat y|\hat x}
        \end{bmatrix}\right)

    The off-diagonal block is the cross-covariance :math:`\boldsymbol\Sigma_{\hat x,\hat y} =
    \boldsymbol\Sigma_{\hat x}\mathbf C^T` of Eq. 2.19 (with the transposes the draft omits; see
    the errata page). The first ``K`` entries are the source, the last ``L`` the emission.
    """
    mu_x, Sigma_x, _, C, c, Sigma_y_x, _ = check_model(mu_x, Sigma_x, C, c, Sigma_y_x, semidefinite=True,
                                                       noise_semidefinite=True)
    Sigma_xy = Sigma_x @ C.T                                    # Eq. 2.19
    mu = np.concatenate([mu_x, C @ mu_x + c])
    Sigma = np.block([[Sigma_x, Sigma_xy], [Sigma_xy.T, C @ Sigma_x @ C.T + Sigma_y_x]])
    return Gaussian(mu, symmetrize(Sigma))


def _check_cov_width(Sigma, name: str, D: int, partner: str, partner_shape) -> np.ndarray:
    """``Sigma`` as an array of shape ``(D, D)``, where ``D`` was read from ``partner`` (a mean).

    A square ``Sigma`` of another size is reported as a disagreement naming both arrays, the mean
    first: the mean's width is as likely to be the wrong one, and a message blaming ``Sigma`` alone
    would send the caller to the wrong argument.
    """
    Sigma = as_array(Sigma, name)
    if Sigma.ndim == 2 and Sigma.shape[0] == Sigma.shape[1] != D:
        raise ValueError(f"{partner} and {name} disagree on the dimension: {partner} has shape "
                         f"{tuple(partner_shape)} (D = {D}) but {name} has shape {Sigma.shape} (D = {Sigma.shape[0]}); "
                         "one of them has the wrong width.")
    return as_array(Sigma, name, shape=(D, D), dims="(D, D)")


def condition(mu, Sigma, observed, value) -> Gaussian:
    r"""Condition :math:`\mathcal N(\boldsymbol\mu,\boldsymbol\Sigma)` on some entries (Schur complement).

    With the entries split into unobserved :math:`a` and observed :math:`b`,

    .. math::
        \boldsymbol\mu_{a|b} = \boldsymbol\mu_a + \boldsymbol\Sigma_{ab}\boldsymbol\Sigma_{bb}^{-1}(\mathbf v - \boldsymbol\mu_b),
        \qquad
        \boldsymbol\Sigma_{a|b} = \boldsymbol\Sigma_{aa} - \boldsymbol\Sigma_{ab}\boldsymbol\Sigma_{bb}^{-1}\boldsymbol\Sigma_{ba}.

    This is the dense, brute-force route to every posterior in Chapter 2: applied to
    :func:`joint` it reproduces :func:`bayes_invert`, and applied to the joint of a whole state
    sequence it reproduces the Kalman filter and RTS smoother.

    Parameters
    ----------
    mu : array_like, shape (D,)
    Sigma : array_like, shape (D, D)
        Symmetric positive definite.
    observed : array_like of int, shape (B,)
        Indices of the observed entries (distinct, in ``range(D)``).
    value : array_like, shape (B,)
        Their observed values.

    Returns
    -------
    Gaussian
        Over the remaining ``D - B`` entries, in increasing index order.
    """
    mu = as_array(mu, "mu", ndim=1, dims="(D,)", nonempty=True)
    D = mu.shape[0]
    Sigma = _check_cov_width(Sigma, "Sigma", D, "mu", mu.shape)
    check_spd(Sigma, "Sigma")
    b = np.asarray(observed)
    if b.ndim != 1 or not np.issubdtype(b.dtype, np.integer):
        raise ValueError(f"observed must be a 1-D array of integer indices; got {b!r}.")
    if b.size and (b.min() < 0 or b.max() >= D or len(set(b.tolist())) != b.size):
        raise ValueError(f"observed must hold distinct indices in range({D}); got {b.tolist()}.")
    value = as_array(value, "value", shape=(b.size,), dims="(B,)")
    a = np.setdiff1d(np.arange(D), b)
    L_bb = np.linalg.cholesky(Sigma[np.ix_(b, b)])
    S_ab = Sigma[np.ix_(a, b)]
    mu_a = mu[a] + S_ab @ chol_solve(L_bb, value - mu[b])
    Sigma_a = Sigma[np.ix_(a, a)] - S_ab @ chol_solve(L_bb, S_ab.T)
    return Gaussian(mu_a, symmetrize(Sigma_a))


def mvn_logpdf(y, mu, Sigma) -> np.ndarray | float:
    r"""Log density :math:`\log\mathcal N(\mathbf y; \boldsymbol\mu, \boldsymbol\Sigma)`, with :math:`\tau = 2\pi`.

    Parameters
    ----------
    y : array_like, shape (D,) or (N, D)
    mu : array_like, shape (D,)
    Sigma : array_like, shape (D, D)

    Returns
    -------
    float or ndarray, shape (N,)
    """
    mu = as_array(mu, "mu", ndim=1, dims="(D,)", nonempty=True)
    D = mu.shape[0]
    Sigma = _check_cov_width(Sigma, "Sigma", D, "mu", mu.shape)
    L = check_spd(Sigma, "Sigma")
    y = as_array(y, "y")
    if y.ndim not in (1, 2) or y.shape[-1] != D:
        raise ValueError(f"y must have shape (D,) or (N, D) with D = {D}; got {y.shape}.")
    out = mvn_logpdf_chol(y, mu, L)
    return float(out) if y.ndim == 1 else out


def sample_mvn(rng, mu, Sigma, N: int) -> np.ndarray:
    r"""Draw ``N`` samples from :math:`\mathcal N(\boldsymbol\mu,\boldsymbol\Sigma)` as rows of an ``(N, D)`` array."""
    rng = check_rng(rng)
    mu = as_array(mu, "mu", ndim=1, dims="(D,)", nonempty=True)
    D = mu.shape[0]
    Sigma = _check_cov_width(Sigma, "Sigma", D, "mu", mu.shape)
    L = check_spd(Sigma, "Sigma")
    N = check_int(N, "N", minimum=1)
    return mu + rng.standard_normal((N, D)) @ L.T
