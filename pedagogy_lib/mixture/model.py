r"""Gaussian mixture models: generation, posterior, marginal and class boundaries (book Section 2.1.1).

The generative story of Eq. 2.2 rolls a :math:`K`-sided die and then draws from the Gaussian
that the die picked,

.. math::
    \hat p(\mathbf x;\boldsymbol\theta) = \mathrm{Categ}(\boldsymbol\pi), \qquad
    \hat p(\mathbf y\mid\mathbf x;\boldsymbol\theta) = \mathcal N(\boldsymbol\mu_{\mathbf x},
    \boldsymbol\Sigma_{\mathbf x}).

Everything about inference follows from the *logits* of Eq. 2.8, one per observation and
component,

.. math::
    \hat z_k = \log\big(\hat p(\mathbf y\mid\hat X_k=1;\boldsymbol\theta)\,\pi_k\big)
    = c - \tfrac12\log|\boldsymbol\Sigma_k|
      - \tfrac12(\mathbf y-\boldsymbol\mu_k)^T\boldsymbol\Sigma_k^{-1}(\mathbf y-\boldsymbol\mu_k)
      + \log\pi_k, \qquad c = -\tfrac{L}{2}\log\tau,

which :func:`gmm_logits` returns *with* the constant :math:`c`, so that

* :func:`gmm_posterior` is their softmax (Eqs. 2.6-2.7), and
* :func:`gmm_log_marginal` is their log-sum-exp, :math:`\log\hat p(\mathbf y)` (Eq. 2.10).

The difference of two logits is the class boundary: :func:`linear_boundary` gives its affine
form when the covariances are shared (Eq. 2.9, linear discriminant analysis) and
:func:`quadratic_boundary` its quadratic form when they differ (quadratic discriminant
analysis); :func:`boundary_value` evaluates either at a batch of points.

Shapes: ``K`` components, ``L`` emission dimensions, ``N`` observations, always stacked as rows
of an ``(N, L)`` array (a single observation is ``(1, L)``). The cost is one Cholesky factor per
component, :math:`O(KL^3)`, then :math:`O(NKL^2)` for the triangular solves; there is no Python
loop over observations, so EM (Section 7.1) can call these functions on every iteration.

The book numbers components :math:`1, \dots, K`; the code numbers them ``0, ..., K-1``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import solve_triangular

from ..core.checks import positive_scalar, as_array, as_scalar, to_float_array, check_choice, check_int, check_positive, check_prob_vector, check_rng, check_spd
from ..core.logmath import logsumexp, softmax
from ..core.linalg import TAU, chol_logdet, chol_solve, symmetrize

__all__ = [
    "GMMParams",
    "GMMSample",
    "LinearBoundary",
    "QuadraticBoundary",
    "COVARIANCE_TYPES",
    "gmm_params",
    "gmm_logits",
    "gmm_posterior",
    "gmm_log_marginal",
    "gmm_sample",
    "linear_boundary",
    "quadratic_boundary",
    "boundary_value",
    "whiten",
]

#: Covariance structures understood by :func:`gmm_params` (the names scikit-learn uses).
COVARIANCE_TYPES = ("full", "diag", "tied")


class GMMParams(NamedTuple):
    r"""Parameters :math:`\boldsymbol\theta` of a Gaussian mixture (Eq. 2.2).

    Attributes
    ----------
    pi : ndarray, shape (K,)
        Class probabilities :math:`\boldsymbol\pi` (the loaded die); non-negative, summing to one.
    mu : ndarray, shape (K, L)
        Component means; row ``k`` is :math:`\boldsymbol\mu_k`. The book's matrix
        :math:`\mathbf C = [\boldsymbol\mu_1, \dots, \boldsymbol\mu_K]` of Eq. 2.5 is ``mu.T``.
    Sigma : ndarray, shape (K, L, L)
        Component covariances :math:`\boldsymbol\Sigma_k`, each symmetric positive definite.
        Diagonal and tied (shared) covariances are stored in this full form too; build them with
        :func:`gmm_params`.
    """

    pi: np.ndarray
    mu: np.ndarray
    Sigma: np.ndarray


class GMMSample(NamedTuple):
    r"""Draws from the generative process of Eq. 2.2.

    Attributes
    ----------
    x : ndarray of int, shape (N,)
        The die rolls :math:`\hat X` as integer labels in ``0, ..., K-1`` (the book's one-hot
        vector :math:`\hat{\mathbf X}` is ``np.eye(K)[x]``).
    y : ndarray, shape (N, L)
        The emissions :math:`\hat{\mathbf Y}`, one row per draw.
    """

    x: np.ndarray
    y: np.ndarray


class LinearBoundary(NamedTuple):
    r"""The affine logit difference :math:`\hat z_k - \hat z_j = \mathbf w^T\mathbf y + b` (shared covariance).

    The boundary of Eq. 2.9 is the hyperplane :math:`\mathbf w^T\mathbf y + b = 0`; class
    :math:`k` is more probable than class :math:`j` where the value is positive.

    Attributes
    ----------
    w : ndarray, shape (L,)
        Normal vector :math:`\boldsymbol\Sigma^{-1}(\boldsymbol\mu_k-\boldsymbol\mu_j)`.
    b : float
        Offset :math:`-\tfrac12(\boldsymbol\mu_k+\boldsymbol\mu_j)^T\mathbf w + \log(\pi_k/\pi_j)`.
    """

    w: np.ndarray
    b: float


class QuadraticBoundary(NamedTuple):
    r"""The quadratic logit difference :math:`\hat z_k - \hat z_j = \mathbf y^T\mathbf Q\mathbf y + \mathbf w^T\mathbf y + b`.

    The QDA boundary is the conic (quadric) where the value is zero.

    Attributes
    ----------
    Q : ndarray, shape (L, L)
        :math:`-\tfrac12(\boldsymbol\Sigma_k^{-1}-\boldsymbol\Sigma_j^{-1})`, half the Hessian of the
        logit difference; zero when the covariances are equal.
    w : ndarray, shape (L,)
        :math:`\boldsymbol\Sigma_k^{-1}\boldsymbol\mu_k - \boldsymbol\Sigma_j^{-1}\boldsymbol\mu_j`.
    b : float
        :math:`-\tfrac12\boldsymbol\mu_k^T\boldsymbol\Sigma_k^{-1}\boldsymbol\mu_k
        + \tfrac12\boldsymbol\mu_j^T\boldsymbol\Sigma_j^{-1}\boldsymbol\mu_j
        - \tfrac12\log(|\boldsymbol\Sigma_k|/|\boldsymbol\Sigma_j|) + \log(\pi_k/\pi_j)`.
    """

    Q: np.ndarray
    w: np.ndarray
    b: float


# ---------------------------------------------------------------------------------------------
# validation (once, at the boundary of every public function)
# ---------------------------------------------------------------------------------------------

def check_params(params, name: str = "params"):
    """Validate a :class:`GMMParams`; return ``(pi, mu, Sigma, chol)`` with ``chol[k]`` the factor of ``Sigma[k]``.

    ``name`` is the argument's name in messages; fields are called ``pi``, ``mu``, ``Sigma`` for
    ``"params"`` and ``init.pi``, ... otherwise.
    """
    if not isinstance(params, tuple) or len(params) != 3:
        raise TypeError(f"{name} must be a GMMParams(pi, mu, Sigma) (or a tuple of those three arrays); "
                        f"got {type(params).__name__}.")
    f = "" if name == "params" else f"{name}."
    pi, mu, Sigma = params
    pi = as_array(pi, f"{f}pi", ndim=1, dims="(K,)", finite=False)    # the next line checks the values
    check_prob_vector(pi, f"{f}pi")
    K = pi.shape[0]
    mu = as_array(mu, f"{f}mu", ndim=2, dims="(K, L)")
    if mu.shape[0] != K:
        raise ValueError(f"{f}mu must have one row per component: shape (K, L) with K = {K} (the length of "
                         f"{f}pi); got {mu.shape}.")
    L = mu.shape[1]
    if L == 0:
        raise ValueError(f"{f}mu must have at least one column (L >= 1); got shape (K, 0).")
    Sigma = as_array(Sigma, f"{f}Sigma", finite=False)
    if Sigma.ndim == 3 and Sigma.shape[0] == K and Sigma.shape[1] == Sigma.shape[2] != L:       # name both: either may be wrong
        raise ValueError(f"{f}mu and {f}Sigma disagree on the dimension: {f}mu has shape {mu.shape} (L = {L}) but "
                         f"{f}Sigma has shape {Sigma.shape} (L = {Sigma.shape[1]}); one of them has the wrong width.")
    Sigma = as_array(Sigma, f"{f}Sigma", shape=(K, L, L), dims="(K, L, L)", finite=False)
    chol = check_spd(Sigma, f"{f}Sigma")        # finite first; names the failing component, e.g. Sigma[2]
    return pi, mu, Sigma, chol


def _check_y(y, L: int) -> np.ndarray:
    """Require observations stacked as rows, ``(N, L)``; a single point is ``(1, L)``."""
    return as_array(y, "y", shape=(None, L), dims="(N, L)")


def _check_vector(v, name: str, L: int | None) -> np.ndarray:
    if L is None:
        return as_array(v, name, ndim=1, dims="(L,)", nonempty=True)
    return as_array(v, name, shape=(L,), dims="(L,)")


def _check_cov(S, name: str, L: int) -> np.ndarray:
    S = as_array(S, name, shape=(L, L), dims="(L, L)")
    return check_spd(S, name)


def _check_prior(p, name: str) -> float:
    arr = to_float_array(p, name)
    if np.ndim(arr) != 0:
        raise ValueError(f"{name} must be a scalar probability; got an array of shape {np.shape(arr)}.")
    return positive_scalar(arr, name)


# ---------------------------------------------------------------------------------------------
# construction
# ---------------------------------------------------------------------------------------------

def gmm_params(pi, mu, Sigma, covariance_type: str = "full") -> GMMParams:
    r"""Validate mixture parameters and return them as a :class:`GMMParams` with full covariances.

    Parameters
    ----------
    pi : array_like, shape (K,)
        Class probabilities :math:`\boldsymbol\pi`.
    mu : array_like, shape (K, L)
        Component means, one per row.
    Sigma : array_like
        The covariances, in the layout named by ``covariance_type``:

        * ``"full"``: shape ``(K, L, L)``, one :math:`\boldsymbol\Sigma_k` per component;
        * ``"diag"``: shape ``(K, L)``, the variances (diagonals) of each :math:`\boldsymbol\Sigma_k`;
        * ``"tied"``: shape ``(L, L)``, one :math:`\boldsymbol\Sigma` shared by all components (the
          LDA model of Eq. 2.9).
    covariance_type : {"full", "diag", "tied"}

    Returns
    -------
    GMMParams
        ``Sigma`` expanded to shape ``(K, L, L)``.

    Raises
    ------
    ValueError
        If ``pi`` is not a probability vector, a shape does not match, a variance is not
        positive, or a covariance is not symmetric positive definite (the message names the
        component).
    """
    check_choice(covariance_type, "covariance_type", COVARIANCE_TYPES)
    pi_arr = as_array(pi, "pi", ndim=1, dims="(K,)", nonempty=True)
    mu_arr = as_array(mu, "mu", ndim=2, dims="(K, L)", nonempty=True)
    K, L = pi_arr.shape[0], mu_arr.shape[1]
    if covariance_type == "diag":
        var = as_array(Sigma, "Sigma (diagonal variances)", shape=(K, L), dims="(K, L)")
        check_positive(var, "Sigma (diagonal variances)")
        Sigma_full = var[:, :, None] * np.eye(L)[None]
    elif covariance_type == "tied":
        S = as_array(Sigma, "Sigma (tied)", shape=(L, L), dims="(L, L)")
        check_spd(S, "Sigma (tied)")
        Sigma_full = np.broadcast_to(S, (K, L, L)).copy()
    else:
        Sigma_full = Sigma
    pi_arr, mu_arr, Sigma_full, _ = check_params((pi_arr, mu_arr, Sigma_full))
    return GMMParams(pi_arr, mu_arr, Sigma_full)


# ---------------------------------------------------------------------------------------------
# inference
# ---------------------------------------------------------------------------------------------

def _logits(pi, mu, chol, y):
    """Eq. 2.8 for validated inputs: an ``(N, K)`` array, one triangular solve per component."""
    N, L = y.shape
    K = pi.shape[0]
    c = -0.5 * L * np.log(TAU)                                   # the constant c of Eq. 2.8
    with np.errstate(divide="ignore"):                           # pi_k = 0 gives log pi_k = -inf
        log_pi = np.log(pi)
    z = np.empty((N, K))
    for k in range(K):                                           # a loop over components, not points
        white = solve_triangular(chol[k], (y - mu[k]).T, lower=True, check_finite=False)  # L_k^{-1}(y - mu_k)
        maha = np.einsum("ln,ln->n", white, white)               # (y - mu_k)^T Sigma_k^{-1} (y - mu_k)
        z[:, k] = c - 0.5 * chol_logdet(chol[k]) - 0.5 * maha + log_pi[k]
    return z


def gmm_logits(params: GMMParams, y) -> np.ndarray:
    r"""The logits :math:`\hat z_k = \log(\hat p(\mathbf y\mid\hat X_k=1)\,\pi_k)` of Eq. 2.8, for every point and component.

    .. math::
        \hat z_k = -\tfrac{L}{2}\log\tau - \tfrac12\log|\boldsymbol\Sigma_k|
            - \tfrac12(\mathbf y-\boldsymbol\mu_k)^T\boldsymbol\Sigma_k^{-1}(\mathbf y-\boldsymbol\mu_k)
            + \log\pi_k

    The constant :math:`c = -\tfrac L2\log\tau` (:math:`\tau = 2\pi`) is included, so each entry
    is the log of a joint probability density :math:`\hat p(\mathbf y, \hat X_k = 1)`: the log of the
    joint of Eq. 6.2 (the product of Eqs. 2.3 and 2.4) at the one-hot :math:`\hat{\mathbf x} = \mathbf e_k`;
    :func:`~pedagogy_lib.core.logmath.logsumexp` over ``k`` is the log marginal of Eq. 2.10. The
    quadratic form is computed as the squared norm of :math:`\mathbf L_k^{-1}(\mathbf y-\boldsymbol\mu_k)`
    with :math:`\boldsymbol\Sigma_k = \mathbf L_k\mathbf L_k^T` (one Cholesky factor per
    component, no inverse).

    Parameters
    ----------
    params : GMMParams
        ``pi`` (K,), ``mu`` (K, L), ``Sigma`` (K, L, L).
    y : array_like, shape (N, L)
        Observations as rows (one point is ``(1, L)``).

    Returns
    -------
    ndarray, shape (N, K)
        ``-inf`` in column ``k`` if :math:`\pi_k = 0`.
    """
    pi, mu, _, chol = check_params(params)
    y = _check_y(y, mu.shape[1])
    return _logits(pi, mu, chol, y)


def gmm_posterior(params: GMMParams, y) -> np.ndarray:
    r"""Responsibilities :math:`\hat p(\hat X_k = 1\mid\mathbf y)`: the softmax of the logits (Eqs. 2.6-2.7).

    .. math::
        \hat p(\hat X_j = 1\mid\mathbf y;\boldsymbol\theta) = \mathrm{softmax}\{\hat{\mathbf z}\}_j
        = \frac{\exp\hat z_j}{\sum_{k=1}^K\exp\hat z_k}

    With one covariance shared by all components (as :func:`gmm_params` builds for ``"tied"``) this is Eq. 7.1.
    Computed in log space (the largest logit is subtracted first), so points far from every
    component, whose densities all underflow to zero, still get a valid categorical posterior.

    Parameters
    ----------
    params : GMMParams
    y : array_like, shape (N, L)

    Returns
    -------
    ndarray, shape (N, K)
        Each row is a probability vector (the parameter of the categorical posterior, Eq. 2.7).
    """
    pi, mu, _, chol = check_params(params)
    y = _check_y(y, mu.shape[1])
    return softmax(_logits(pi, mu, chol, y), axis=1)


def gmm_log_marginal(params: GMMParams, y) -> np.ndarray:
    r"""Log marginal density :math:`\log\hat p(\mathbf y;\boldsymbol\theta)` of a Gaussian mixture (Eq. 2.10).

    .. math::
        \log\hat p(\mathbf y;\boldsymbol\theta)
        = \log\sum_{k=1}^K \hat p(\mathbf y\mid\hat X_k=1;\boldsymbol\theta)\,\pi_k
        = \operatorname{logsumexp}_k \hat z_k

    Parameters
    ----------
    params : GMMParams
    y : array_like, shape (N, L)

    Returns
    -------
    ndarray, shape (N,)
        The sum over points is the log-likelihood that EM increases (Section 7.1); minus its
        average is the sample estimate of the marginal cross entropy of Eq. 6.1.
    """
    pi, mu, _, chol = check_params(params)
    y = _check_y(y, mu.shape[1])
    return logsumexp(_logits(pi, mu, chol, y), axis=1)


def gmm_sample(rng, params: GMMParams, N: int) -> GMMSample:
    r"""Draw ``N`` points by the generative process of Eq. 2.2: roll the die, then draw from that component.

    .. math::
        \hat X \sim \mathrm{Categ}(\boldsymbol\pi), \qquad
        \hat{\mathbf Y} = \boldsymbol\mu_{\hat X} + \mathbf L_{\hat X}\boldsymbol\epsilon, \quad
        \boldsymbol\epsilon\sim\mathcal N(\mathbf 0, \mathbf I)

    All random numbers are drawn first (labels, then an ``(N, L)`` block of standard normals), so
    the stream depends only on ``rng``, ``K``, ``L`` and ``N``.

    Parameters
    ----------
    rng : numpy.random.Generator
    params : GMMParams
    N : int
        Number of draws, at least 1.

    Returns
    -------
    GMMSample
        ``x`` (N,) integer labels in ``0..K-1`` and ``y`` (N, L).
    """
    rng = check_rng(rng)
    pi, mu, _, chol = check_params(params)
    N = check_int(N, "N", minimum=1)
    K, L = mu.shape
    x = rng.choice(K, size=N, p=pi)
    eps = rng.standard_normal((N, L))
    y = np.empty((N, L))
    for k in range(K):                                           # loop over components only
        rows = x == k
        y[rows] = mu[k] + eps[rows] @ chol[k].T
    return GMMSample(x, y)


# ---------------------------------------------------------------------------------------------
# class boundaries
# ---------------------------------------------------------------------------------------------

def linear_boundary(mu_k, mu_j, Sigma, pi_k, pi_j) -> LinearBoundary:
    r"""The equiprobability hyperplane of classes :math:`k` and :math:`j` with a shared covariance (Eq. 2.9).

    With :math:`\boldsymbol\Sigma_k = \boldsymbol\Sigma_j = \boldsymbol\Sigma`, the quadratic
    terms of Eq. 2.8 cancel and the logit difference is affine,

    .. math::
        \hat z_k - \hat z_j
        = \Big(\mathbf y - \tfrac12(\boldsymbol\mu_k+\boldsymbol\mu_j)\Big)^T\boldsymbol\Sigma^{-1}
          (\boldsymbol\mu_k-\boldsymbol\mu_j) - \log\frac{\pi_j}{\pi_k}
        = \mathbf w^T\mathbf y + b,

    so the boundary (Eq. 2.9) is :math:`\mathbf w^T\mathbf y + b = 0` with
    :math:`\mathbf w = \boldsymbol\Sigma^{-1}(\boldsymbol\mu_k-\boldsymbol\mu_j)` and
    :math:`b = -\tfrac12(\boldsymbol\mu_k+\boldsymbol\mu_j)^T\mathbf w + \log(\pi_k/\pi_j)`.
    Only the ratio of the priors matters, so ``pi_k`` and ``pi_j`` need not sum to one.

    In whitened coordinates (:func:`whiten`) :math:`\mathbf w` becomes the centre difference
    itself, and the left side of Eq. 2.9 is a Euclidean projection of the displacement from
    the midpoint onto it.

    Parameters
    ----------
    mu_k, mu_j : array_like, shape (L,)
    Sigma : array_like, shape (L, L)
        Shared covariance, symmetric positive definite.
    pi_k, pi_j : float
        Positive prior probabilities of the two classes.

    Returns
    -------
    LinearBoundary
        ``(w, b)``; :func:`boundary_value` evaluates :math:`\mathbf w^T\mathbf y + b`.
    """
    mu_k = _check_vector(mu_k, "mu_k", None)
    L = mu_k.shape[0]
    mu_j = _check_vector(mu_j, "mu_j", L)
    chol = _check_cov(Sigma, "Sigma", L)
    pi_k, pi_j = _check_prior(pi_k, "pi_k"), _check_prior(pi_j, "pi_j")
    w = chol_solve(chol, mu_k - mu_j)                            # Sigma^{-1}(mu_k - mu_j)
    b = -0.5 * float((mu_k + mu_j) @ w) + np.log(pi_k / pi_j)    # Eq. 2.9 moved to one side
    return LinearBoundary(w, float(b))


def quadratic_boundary(mu_k, mu_j, Sigma_k, Sigma_j, pi_k, pi_j) -> QuadraticBoundary:
    r"""The QDA boundary: coefficients of :math:`\hat z_k - \hat z_j` for distinct covariances (Eq. 2.8).

    Subtracting two logits of Eq. 2.8 (the constant :math:`c` cancels) gives a quadratic form

    .. math::
        \hat z_k - \hat z_j = \mathbf y^T\mathbf Q\mathbf y + \mathbf w^T\mathbf y + b, \qquad
        \mathbf Q = -\tfrac12\big(\boldsymbol\Sigma_k^{-1}-\boldsymbol\Sigma_j^{-1}\big), \quad
        \mathbf w = \boldsymbol\Sigma_k^{-1}\boldsymbol\mu_k-\boldsymbol\Sigma_j^{-1}\boldsymbol\mu_j,

    .. math::
        b = -\tfrac12\boldsymbol\mu_k^T\boldsymbol\Sigma_k^{-1}\boldsymbol\mu_k
            + \tfrac12\boldsymbol\mu_j^T\boldsymbol\Sigma_j^{-1}\boldsymbol\mu_j
            - \tfrac12\log\frac{|\boldsymbol\Sigma_k|}{|\boldsymbol\Sigma_j|} + \log\frac{\pi_k}{\pi_j}.

    The boundary is the conic where this is zero; its Hessian in :math:`\mathbf y` is
    :math:`2\mathbf Q`. With :math:`\boldsymbol\Sigma_k = \boldsymbol\Sigma_j` it reduces to
    :func:`linear_boundary` (``Q`` is zero).

    Parameters
    ----------
    mu_k, mu_j : array_like, shape (L,)
    Sigma_k, Sigma_j : array_like, shape (L, L)
        Symmetric positive definite.
    pi_k, pi_j : float
        Positive prior probabilities of the two classes.

    Returns
    -------
    QuadraticBoundary
    """
    mu_k = _check_vector(mu_k, "mu_k", None)
    L = mu_k.shape[0]
    mu_j = _check_vector(mu_j, "mu_j", L)
    chol_k = _check_cov(Sigma_k, "Sigma_k", L)
    chol_j = _check_cov(Sigma_j, "Sigma_j", L)
    pi_k, pi_j = _check_prior(pi_k, "pi_k"), _check_prior(pi_j, "pi_j")
    eye = np.eye(L)
    P_k, P_j = chol_solve(chol_k, eye), chol_solve(chol_j, eye)  # precisions, via Cholesky solves
    Q = symmetrize(-0.5 * (P_k - P_j))
    h_k, h_j = P_k @ mu_k, P_j @ mu_j                             # Sigma^{-1} mu for each class
    b = (-0.5 * float(mu_k @ h_k) + 0.5 * float(mu_j @ h_j)
         - 0.5 * (chol_logdet(chol_k) - chol_logdet(chol_j)) + np.log(pi_k / pi_j))
    return QuadraticBoundary(Q, h_k - h_j, float(b))


def boundary_value(boundary, y) -> np.ndarray:
    r"""Evaluate the logit difference :math:`\hat z_k - \hat z_j` of a boundary at the rows of ``y``.

    For a :class:`LinearBoundary` this is :math:`\mathbf w^T\mathbf y + b`; for a
    :class:`QuadraticBoundary`, :math:`\mathbf y^T\mathbf Q\mathbf y + \mathbf w^T\mathbf y + b`.
    The boundary is the zero level set; for two classes the posterior of class :math:`k` is the
    logistic sigmoid of this value.

    Parameters
    ----------
    boundary : LinearBoundary or QuadraticBoundary
    y : array_like, shape (N, L)

    Returns
    -------
    ndarray, shape (N,)
    """
    if isinstance(boundary, QuadraticBoundary):
        w = as_array(boundary.w, "w", ndim=1, dims="(L,)")
        L = w.shape[0]
        Q = as_array(boundary.Q, "Q", shape=(L, L), dims="(L, L)")
        y = _check_y(y, L)
        return np.einsum("ni,ij,nj->n", y, Q, y) + y @ w + as_scalar(boundary.b, "b")
    if isinstance(boundary, LinearBoundary):
        w = as_array(boundary.w, "w", ndim=1, dims="(L,)")
        y = _check_y(y, w.shape[0])
        return y @ w + as_scalar(boundary.b, "b")
    raise TypeError(f"boundary must be a LinearBoundary or a QuadraticBoundary; got {type(boundary).__name__}.")


def whiten(y, Sigma) -> np.ndarray:
    r"""Map points to whitened coordinates :math:`\tilde{\mathbf y} = \boldsymbol\Sigma^{-1/2}\mathbf y` (the reading of Eq. 2.9).

    :math:`\boldsymbol\Sigma^{-1/2}` is the symmetric inverse square root (from the eigenvalue
    decomposition), so :math:`(\mathbf a-\mathbf b)^T\boldsymbol\Sigma^{-1}(\mathbf c-\mathbf d)
    = (\tilde{\mathbf a}-\tilde{\mathbf b})^T(\tilde{\mathbf c}-\tilde{\mathbf d})`: Mahalanobis
    inner products become Euclidean ones, and the shared-covariance boundary becomes the
    perpendicular bisector of the whitened centres, shifted by :math:`\log(\pi_j/\pi_k)/d` along
    the unit centre difference (:math:`d` the Mahalanobis distance between the centres).

    Parameters
    ----------
    y : array_like, shape (N, L)
        Points (or means) as rows.
    Sigma : array_like, shape (L, L)
        Symmetric positive definite.

    Returns
    -------
    ndarray, shape (N, L)
    """
    Sigma = as_array(Sigma, "Sigma", ndim=2, dims="(L, L)", nonempty=True)
    L = Sigma.shape[0]
    _check_cov(Sigma, "Sigma", L)
    y = _check_y(y, L)
    lam, U = np.linalg.eigh(symmetrize(Sigma))
    inv_sqrt = symmetrize((U / np.sqrt(lam)) @ U.T)              # Sigma^{-1/2}
    return y @ inv_sqrt                                           # rows: (Sigma^{-1/2} y_n)^T
