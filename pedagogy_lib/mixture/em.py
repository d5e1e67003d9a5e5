r"""Learning a Gaussian mixture by EM, and K-means as its zero-variance limit (book Section 7.1).

Chapter 6 turns the coupled marginal cross entropy of Eq. 6.1 into an alternation (Section
6.3.1): an E step that sets the recognition distribution to the model posterior, and an M step
that minimizes the joint cross entropy with that distribution held fixed. For the GMM of Eq. 2.2
both steps are closed form (Section 7.1).

**E step.** The responsibilities are the posterior class probabilities of Eqs. 2.6-2.8,
computed in log space,

.. math::
    r_{nk} = \mathbb E[\check X_k\mid\mathbf y_n] = \mathrm{softmax}\{\hat{\mathbf z}_n\}_k, \qquad
    \hat z_{nk} = \log\pi_k - \tfrac L2\log\tau - \tfrac12\log|\boldsymbol\Sigma_k|
        - \tfrac12(\mathbf y_n-\boldsymbol\mu_k)^T\boldsymbol\Sigma_k^{-1}(\mathbf y_n-\boldsymbol\mu_k),

and all the M step needs of them are the expected sufficient statistics of Section 7.1
(sums rather than the book's averages :math:`\langle\cdot\rangle`, i.e. :math:`N` times them),

.. math::
    N_k = \sum_n r_{nk}, \qquad \sum_n r_{nk}\,\mathbf y_n, \qquad \sum_n r_{nk}\,\mathbf y_n\mathbf y_n^T.

The code accumulates the last two *centred on the means the E step used*,
:math:`\mathbf d_{nk} = \mathbf y_n - \boldsymbol\mu_k^{\text{old}}`, so that the covariance update
subtracts two small numbers rather than two large ones (the book's form
:math:`\langle\check X_k\mathbf Y\mathbf Y^T\rangle/\langle\check X_k\rangle - \boldsymbol\mu_k\boldsymbol\mu_k^T`
loses digits when the data sit far from the origin). See :class:`GMMStats`.

**M step** (Section 7.1, from the Lagrangian):

.. math::
    \pi_k = \frac{N_k}{N}, \qquad
    \boldsymbol\mu_k = \frac{\sum_n r_{nk}\mathbf y_n}{N_k}, \qquad
    \boldsymbol\Sigma_k = \frac{\sum_n r_{nk}(\mathbf y_n-\boldsymbol\mu_k)(\mathbf y_n-\boldsymbol\mu_k)^T}{N_k},

with the diagonal of :math:`\boldsymbol\Sigma_k` only (``"diag"``), or one pooled
:math:`\boldsymbol\Sigma = \sum_k N_k\boldsymbol\Sigma_k / N` (``"tied"``, the LDA model of Eq. 2.9).

**Semi-supervised EM** (the generative counterpart of the "semi-supervised" clustering that
closes Section 5.2.1). When some points come with their class :math:`c_n`, the objective is

.. math::
    \ell_{\text{semi}}(\boldsymbol\theta) = \sum_{n\notin\mathcal L}\log\hat p(\mathbf y_n;\boldsymbol\theta)
        + \sum_{n\in\mathcal L}\log\hat p(\hat X_{c_n} = 1, \mathbf y_n;\boldsymbol\theta),

and EM for it differs from EM for the GMM in one place: the E step *clamps* the responsibilities
of a labelled point to its label, :math:`r_{nk} = [k = c_n]`, the only recognition distribution
under which its ELBo term equals its complete-data log likelihood. The M step is unchanged. With
every point labelled, one M step is the supervised fit (class frequencies, class means, class
covariances): the special case of the unsupervised algorithm that Section 6.1 mentions. See
:func:`fit_gmm_semi_supervised`.

**K-means** (Section 7.1.1) is the limit of this algorithm when every component has the same
isotropic covariance :math:`\sigma^2\mathbf I` and :math:`\sigma\to0`: the responsibilities harden
into nearest-mean assignments (:func:`kmeans`, Lloyd's algorithm), and the mean update is unchanged.

Numerics: responsibilities by log-sum-exp; Cholesky factors instead of inverses; eigenvalues of
every covariance floored at ``reg_covar`` with a :class:`CovarianceFloorWarning` when the floor
binds; a component that loses all responsibility keeps its old mean and covariance with an
:class:`EmptyComponentWarning`; a NaN or infinite log likelihood stops EM with a
``FloatingPointError`` (from :func:`~pedagogy_lib.em.run_em`) instead of propagating.

The full E step with its statistics is one pass over the data, fused in numba kernels
(:mod:`~pedagogy_lib.mixture.kernels`, explicit loops over blocks of points) with a line-by-line
NumPy twin (:func:`_stats_numpy`); ``backend`` chooses. Shapes: ``N`` observations as rows of ``y``
``(N, L)``, ``K`` components; components are numbered ``0..K-1`` (the book: ``1..K``).
"""
from __future__ import annotations

import warnings
from functools import partial
from typing import NamedTuple

import numpy as np
from scipy.linalg import solve_triangular

from ..core.checks import (DivergenceError, positive_scalar, as_array, as_scalar, check_backend, check_choice, check_int,
                           check_labels, check_moments, check_positive, check_prob_rows, check_rng)
from ..em.engine import (ConvergenceWarning, CovarianceFloorWarning, EmptyComponentWarning, EMModel, EMResult, best_of_restarts,
                         floor_against_data,
                         run_em, units_log_shift)
from ..core.jit import choose
from ..core.linalg import TAU, chol_logdet_trace, symmetrize
from ..core.logmath import logsumexp, softmax
from . import kernels
from .model import COVARIANCE_TYPES, GMMParams, check_params

__all__ = [
    "GMMStats",
    "KMeansResult",
    "gmm_suff_stats",
    "gmm_stats_from_responsibilities",
    "gmm_m_step",
    "gmm_elbo",
    "gmm_em_model",
    "fit_gmm",
    "clamped_responsibilities",
    "semi_supervised_log_lik",
    "fit_gmm_semi_supervised",
    "kmeans_plusplus",
    "kmeans",
]


class GMMStats(NamedTuple):
    r"""Expected sufficient statistics of the GMM (Section 7.1, "The E step"), as sums over the data.

    Attributes
    ----------
    N_k : ndarray, shape (K,)
        :math:`N_k = \sum_n r_{nk}`, the soft count of component :math:`k` (the book's
        :math:`\langle\check X_k\rangle` times :math:`N`).
    sum_d : ndarray, shape (K, L)
        :math:`\sum_n r_{nk}(\mathbf y_n - \mathbf a_k)`.
    sum_dd : ndarray, shape (K, L, L)
        :math:`\sum_n r_{nk}(\mathbf y_n - \mathbf a_k)(\mathbf y_n - \mathbf a_k)^T`, symmetric.
    mu_ref : ndarray, shape (K, L)
        The centring points :math:`\mathbf a_k` (the means the E step used).
    log_lik : float
        :math:`\ell(\boldsymbol\theta) = \sum_n\log\hat p(\mathbf y_n;\boldsymbol\theta)` at the
        parameters whose posterior gave :math:`r` (NaN when :math:`r` was supplied by hand).
    entropy : float
        :math:`\sum_n \mathrm H[r_{n\cdot}] = -\sum_{n,k} r_{nk}\log r_{nk}`, needed for the ELBo.
    """

    N_k: np.ndarray
    sum_d: np.ndarray
    sum_dd: np.ndarray
    mu_ref: np.ndarray
    log_lik: float
    entropy: float


class KMeansResult(NamedTuple):
    r"""Outcome of :func:`kmeans` (Section 7.1.1).

    Attributes
    ----------
    mu : ndarray, shape (K, L)
        Final centres :math:`\boldsymbol\mu_k`.
    labels : ndarray of int, shape (N,)
        Nearest-centre assignment of every point under the final centres.
    inertia : ndarray, shape (n_iter + 1,)
        :math:`J^{(i)} = \sum_n\min_k\|\mathbf y_n-\boldsymbol\mu_k^{(i)}\|^2` for every iterate
        (entry 0: the initial centres); non-increasing.
    n_iter : int
        Number of mean updates performed.
    converged : bool
        True if the assignments stopped changing (an exact fixed point).
    """

    mu: np.ndarray
    labels: np.ndarray
    inertia: np.ndarray
    n_iter: int
    converged: bool


INITS = ("kmeans++",)

# ---------------------------------------------------------------------------------------------
# E step + sufficient statistics: NumPy twin and the choice of numba driver (same equations)
# ---------------------------------------------------------------------------------------------
#
# Both take validated, contiguous float64 inputs:
#   y (N, L); mu (K, L); U (K, L, L) with U[k] = L_k^{-T} (upper triangular), where
#   Sigma_k = L_k L_k^T, so that (y - mu_k)^T Sigma_k^{-1} (y - mu_k) = || U[k]^T (y - mu_k) ||^2;
#   b (K,) = log pi_k - (L/2) log tau - (1/2) log|Sigma_k|  (the y-independent part of Eq. 2.8);
# they add into the zero-initialized M (K, L+1, L+1) the moments of the extended vector
# d~_nk = (y_n - mu_k, 1):
#   M[k] = sum_n r_nk d~_nk d~_nk^T = [[sum_n r_nk d d^T, sum_n r_nk d], [sum_n r_nk d^T, N_k]]
# (the kernels fill at least the upper triangle) and return (log_lik, entropy).


def _stats_numpy(y, mu, U, b, M):
    """Readable twin of the numba drivers :func:`~pedagogy_lib.mixture.kernels.suff_stats_lane_sums` and
    :func:`~pedagogy_lib.mixture.kernels.suff_stats_blas`: vectorized over points, a loop over components."""
    N, L = y.shape
    K = mu.shape[0]
    z = np.empty((N, K))
    for k in range(K):
        d = y - mu[k]                                    # d_nk = y_n - mu_k
        w = d @ U[k]                                     # rows: (L_k^{-1} d_nk)^T
        z[:, k] = b[k] - 0.5 * np.sum(w * w, axis=1)     # Eq. 2.8: the logit z_nk
    zmax = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = np.sum(e, axis=1, keepdims=True)
    lse = zmax + np.log(s)                               # log p(y_n) (Eq. 2.10), by log-sum-exp
    r = e / s                                            # responsibilities r_nk (Eqs. 2.6-2.7)
    log_lik = float(np.sum(lse))
    pos = r > 0.0                                        # 0 log 0 = 0
    entropy = -float(np.sum(r * np.where(pos, z - lse, 0.0)))   # -sum r log r, with log r = z - lse
    for k in range(K):
        d_ext = np.hstack([y - mu[k], np.ones((N, 1))])  # d~_nk = (y_n - mu_k, 1)
        M[k] += (r[:, k:k + 1] * d_ext).T @ d_ext        # sum_n r_nk d~ d~^T: N_k, sum r d, sum r d d^T
    return log_lik, entropy


def _e_step_kernel(L: int):
    """The numba E step for ``L`` dimensions: the moments summed per lane up to ``kernels.MAX_L_LANE_SUMS``, by
    BLAS above."""
    return kernels.suff_stats_lane_sums if L <= kernels.MAX_L_LANE_SUMS else kernels.suff_stats_blas


def _stats_kernel(y, mu, U, b, M):
    """The numba E step (:func:`_e_step_kernel`)."""
    return _e_step_kernel(y.shape[1])(y, mu, U, b, M)


_STATS = {"numpy": _stats_numpy, "numba": _stats_kernel}


def _mirror_upper(S):
    """Copy the upper triangle of each ``S[k]`` into its lower triangle."""
    upper = np.triu(S)
    return upper + np.swapaxes(np.triu(S, 1), -1, -2)


def _e_step_inputs(pi, mu, chol):
    """Precompute ``U[k] = L_k^{-T}`` and ``b_k`` (the data-independent part of each logit)."""
    K, L = mu.shape
    U = np.empty((K, L, L))
    b = np.empty(K)
    eye = np.eye(L)
    with np.errstate(divide="ignore"):                   # pi_k = 0 gives log pi_k = -inf: never chosen
        log_pi = np.log(pi)
    for k in range(K):
        U[k] = solve_triangular(chol[k], eye, lower=True, check_finite=False).T
        b[k] = log_pi[k] - 0.5 * L * np.log(TAU) - np.sum(np.log(np.diag(chol[k])))
    return U, b


def _check_backend_auto(backend) -> str:
    """``backend`` checked, with ``"auto"`` kept for :func:`_stats` to resolve per E step (``"numpy"`` without numba)."""
    resolved = check_backend(backend)
    return "auto" if backend == "auto" and resolved == "numba" else resolved


def _stats(pi, mu, chol, y, backend):
    """The E step on validated inputs: a :class:`GMMStats` at the parameters ``(pi, mu, L L^T)``; ``backend``
    already checked, ``"auto"`` resolved here for this E step (:func:`pedagogy_lib.core.jit.choose`)."""
    K, L = mu.shape
    if backend == "auto":
        backend = choose(_e_step_kernel(L), N=y.shape[0], K=K, L=L)
    U, b = _e_step_inputs(pi, mu, chol)
    M = np.zeros((K, L + 1, L + 1))
    log_lik, entropy = _STATS[backend](y, np.ascontiguousarray(mu), U, b, M)
    M = _mirror_upper(M)
    return GMMStats(M[:, L, L].copy(), M[:, :L, L].copy(), np.ascontiguousarray(M[:, :L, :L]), mu.copy(),
                    float(log_lik), float(entropy))


def _chol_or_raise(Sigma, what):
    """Cholesky factors of a stack of covariances; a clear error instead of NaN when one is singular.

    The error is a :class:`~pedagogy_lib.core.checks.DivergenceError`: a ``FloatingPointError`` (the
    fit broke down) and a ``ValueError`` naming the argument that cures it, ``reg_covar``.
    """
    try:
        return np.linalg.cholesky(Sigma)
    except np.linalg.LinAlgError:
        for k in range(Sigma.shape[0]):
            try:
                np.linalg.cholesky(Sigma[k])
            except np.linalg.LinAlgError:
                lam = float(np.linalg.eigvalsh(Sigma[k])[0])
                raise DivergenceError(
                    f"{what}: Sigma[{k}] is singular (smallest eigenvalue {lam:.3g}); the component has collapsed "
                    "onto a point or a subspace. Use reg_covar > 0 to floor the covariances.") from None
        raise


# ---------------------------------------------------------------------------------------------
# M step
# ---------------------------------------------------------------------------------------------

def _m_step(stats: GMMStats, covariance_type: str, reg_covar: float, old: GMMParams | None):
    """Closed-form M step of Section 7.1 on validated statistics; returns (GMMParams, chol)."""
    N_k, sum_d, sum_dd, a = stats.N_k, stats.sum_d, stats.sum_dd, stats.mu_ref
    K, L = a.shape
    N = float(np.sum(N_k))
    pi = N_k / N                                                 # pi_k = <X_k> = N_k / N
    empty = N_k <= 1e-12 * N                                     # responsibility underflowed everywhere
    safe_N_k = np.where(empty, 1.0, N_k)
    delta = sum_d / safe_N_k[:, None]                            # mu_k - a_k
    mu = a + delta                                               # mu_k = sum_n r_nk y_n / N_k
    # sum_n r_nk (y_n - mu_k)(y_n - mu_k)^T = sum_dd - N_k delta delta^T   (centred at a_k)
    scatter = sum_dd - N_k[:, None, None] * (delta[:, :, None] * delta[:, None, :])
    if covariance_type == "full":
        Sigma = scatter / safe_N_k[:, None, None]                # Sigma_k = scatter_k / N_k
    elif covariance_type == "diag":
        var = np.diagonal(scatter, axis1=1, axis2=2) / safe_N_k[:, None]
        Sigma = var[:, :, None] * np.eye(L)[None]
    else:                                                        # tied: pooled over components
        Sigma = np.broadcast_to(np.sum(scatter, axis=0) / N, (K, L, L)).copy()
    Sigma = symmetrize(Sigma)
    if empty.any():
        ks = np.flatnonzero(empty).tolist()
        warnings.warn(f"component(s) {ks} received zero total responsibility (N_k <= 1e-12 N); their means and "
                      "covariances were left unchanged and their weights pi_k set to N_k / N. Try another "
                      "initialization or fewer components.", EmptyComponentWarning, stacklevel=3)
        if old is not None:
            mu[empty] = old.mu[empty]
            if covariance_type != "tied":
                Sigma[empty] = old.Sigma[empty]
        else:
            mu[empty] = a[empty]
            Sigma[empty] = np.eye(L) * max(reg_covar, 1.0)
    if reg_covar > 0.0:
        Sigma = _floor(Sigma, covariance_type, reg_covar, lambda: _data_spread(N_k, mu, scatter, covariance_type))
    chol = _chol_or_raise(Sigma, "M step")
    return GMMParams(pi, mu, Sigma), chol


def _data_spread(N_k, mu, scatter, covariance_type):
    """The data's smallest variance (smallest eigenvalue of their covariance; smallest column variance for
    ``"diag"``), from the M step's statistics: the law of total covariance, within plus between components."""
    N = float(np.sum(N_k))
    m = N_k @ mu / N
    d = mu - m
    total = (np.sum(scatter, axis=0) + (N_k[:, None] * d).T @ d) / N
    if covariance_type == "diag":
        return float(np.min(np.diag(total)))
    return float(np.linalg.eigvalsh(symmetrize(total))[0])


def _floor_reason(reg_covar: float, smallest: float, data_var: float, what: str) -> str:
    """The one sentence a covariance-floor warning gives for why the floor bound."""
    why = floor_against_data(reg_covar, data_var, "components that are", "1e-6")
    if why:
        return f"covariance floor reg_covar = {reg_covar:.3g} bound for {what} (smallest eigenvalue {smallest:.3g}) {why}"
    return (f"covariance floor reg_covar = {reg_covar:.3g} bound for {what} (smallest eigenvalue {smallest:.3g}, "
            f"against the data's smallest variance {data_var:.3g}): the component is collapsing onto a point or "
            "subspace, where the likelihood is unbounded. Its covariance was floored, so this M step is not exact EM.")


def _floor(Sigma, covariance_type, reg_covar, data_var):
    """Raise every eigenvalue below ``reg_covar`` to it (variances for ``"diag"``); warn if any was raised,
    saying whether the floor is large against the data (``data_var()``, computed only then) or a component
    is collapsing."""
    K, L, _ = Sigma.shape
    if covariance_type == "diag":
        var = np.diagonal(Sigma, axis1=1, axis2=2)
        low = var < reg_covar
        if not low.any():
            return Sigma
        bound = np.flatnonzero(low.any(axis=1))
        Sigma = np.maximum(var, reg_covar)[:, :, None] * np.eye(L)[None]
        smallest = float(var.min())
    else:
        lam = np.linalg.eigvalsh(Sigma)                          # ascending, per component
        low = lam[:, 0] < reg_covar
        if not low.any():
            return Sigma
        bound = np.flatnonzero(low)
        smallest = float(lam[:, 0].min())
        Sigma = Sigma.copy()
        for k in bound:
            lam_k, V = np.linalg.eigh(Sigma[k])
            Sigma[k] = symmetrize((V * np.maximum(lam_k, reg_covar)) @ V.T)
    which = "the tied covariance" if covariance_type == "tied" else f"component(s) {bound.tolist()}"
    warnings.warn(_floor_reason(reg_covar, smallest, data_var(), which), CovarianceFloorWarning, stacklevel=4)
    return Sigma


def _elbo(params: GMMParams, chol, stats: GMMStats) -> float:
    r"""Sum over n of the ELBo :math:`\sum_k r_{nk}[\log\hat p(k,\mathbf y_n;\boldsymbol\theta) - \log r_{nk}]` from statistics."""
    pi, mu, _ = params
    L = mu.shape[1]
    e = mu - stats.mu_ref                                        # mu_k - a_k
    # sum_n r_nk (y_n - mu_k)(y_n - mu_k)^T from the statistics centred at a_k
    C = (stats.sum_dd - stats.sum_d[:, :, None] * e[:, None, :] - e[:, :, None] * stats.sum_d[:, None, :]
         + stats.N_k[:, None, None] * (e[:, :, None] * e[:, None, :]))
    logdet, trace = chol_logdet_trace(chol, C)                   # log|Sigma_k|, tr(Sigma_k^{-1} C_k)
    k = stats.N_k != 0.0                                         # an empty component contributes nothing
    per_k = (stats.N_k[k] * (np.log(pi[k]) - 0.5 * L * np.log(TAU) - 0.5 * logdet[k])   # (and its pi_k may be 0)
             - 0.5 * trace[k])
    return float(stats.entropy + np.sum(per_k))


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------

def _check_y_K(y, K):
    y = as_array(y, "y", ndim=2, dims="(N, L)")
    N, L = y.shape
    if N == 0 or L == 0:
        raise ValueError(f"y must have at least one row and one column, shape (N, L); got {y.shape}.")
    K = check_int(K, "K", minimum=1)
    if K > N:
        raise ValueError(f"K must be at most N = {N} (the number of rows of y): each component needs a point; "
                         f"got K = {K}.")
    return y, K


def _check_params_for(params, name, K, L):
    pi, mu, Sigma, chol = check_params(params, name)
    if mu.shape != (K, L):
        raise ValueError(f"{name}.mu must have shape (K, L) = ({K}, {L}) to match K and y; got {mu.shape}.")
    return GMMParams(pi, mu, Sigma), chol


def _check_stats(stats):
    if not isinstance(stats, GMMStats):
        raise TypeError(f"stats must be a GMMStats (from gmm_suff_stats); got {type(stats).__name__}.")
    a = as_array(stats.mu_ref, "stats.mu_ref", ndim=2, dims="(K, L)")
    K, L = a.shape
    N_k = as_array(stats.N_k, "stats.N_k", shape=(K,), dims="(K,)")
    check_positive(N_k, "stats.N_k", strict=False)
    if not np.sum(N_k) > 0:
        raise ValueError("stats.N_k must have a positive sum (the number of observations); got 0.")
    sum_d = as_array(stats.sum_d, "stats.sum_d", shape=(K, L), dims="(K, L)")
    sum_dd = as_array(stats.sum_dd, "stats.sum_dd", shape=(K, L, L), dims="(K, L, L)")
    check_moments(N_k, sum_d, sum_dd, ("stats.N_k", "stats.sum_d", "stats.sum_dd"))
    log_lik = as_scalar(stats.log_lik, "stats.log_lik", finite=False)      # NaN when r was supplied by hand
    if np.isinf(log_lik):
        raise ValueError(f"stats.log_lik must be finite or NaN; got {log_lik}.")
    entropy = as_scalar(stats.entropy, "stats.entropy")
    if entropy < -1e-9 * max(1.0, float(np.sum(N_k))):
        raise ValueError(f"stats.entropy (a sum of entropies of probability vectors) must be non-negative; "
                         f"got {entropy:.6g}.")
    return GMMStats(N_k, sum_d, sum_dd, a, log_lik, entropy)


def _check_reg(reg_covar):
    arr = as_array(reg_covar, "reg_covar", ndim=0)
    return positive_scalar(arr, "reg_covar", strict=False)


# ---------------------------------------------------------------------------------------------
# public: the steps
# ---------------------------------------------------------------------------------------------

def gmm_suff_stats(params: GMMParams, y, *, backend: str = "auto") -> GMMStats:
    r"""The E step of Section 7.1: responsibilities and their expected sufficient statistics, in one pass.

    .. math::
        r_{nk} = \mathrm{softmax}\{\hat{\mathbf z}_n\}_k, \quad
        N_k = \sum_n r_{nk}, \quad \sum_n r_{nk}\mathbf d_{nk}, \quad
        \sum_n r_{nk}\mathbf d_{nk}\mathbf d_{nk}^T, \qquad \mathbf d_{nk} = \mathbf y_n - \boldsymbol\mu_k,

    with the logits :math:`\hat z_{nk}` of Eq. 2.8. The log likelihood
    :math:`\ell(\boldsymbol\theta) = \sum_n\operatorname{logsumexp}_k\hat z_{nk}` (Eq. 2.10) and the
    total posterior entropy come out of the same pass. The responsibilities themselves are not
    stored (use :func:`pedagogy_lib.mixture.gmm_posterior`).

    Parameters
    ----------
    params : GMMParams
        :math:`\boldsymbol\theta = (\boldsymbol\pi, \boldsymbol\mu, \boldsymbol\Sigma)`, full covariances.
    y : array_like, shape (N, L)
    backend : {"auto", "numba", "numpy"}
        The fused kernel or its NumPy twin (equal to rounding); ``"auto"`` runs the twin while compiling
        would cost more than it saves (:func:`pedagogy_lib.core.jit.choose`).

    Returns
    -------
    GMMStats
        Statistics centred at ``params.mu``.
    """
    backend = _check_backend_auto(backend)
    pi, mu, _, chol = check_params(params)
    y = as_array(y, "y", shape=(None, mu.shape[1]), dims="(N, L)")
    if y.shape[0] == 0:
        raise ValueError(f"y must have at least one row (observation), shape (N, L); got {y.shape}.")
    return _stats(pi, mu, chol, y, backend)


def gmm_stats_from_responsibilities(y, r, mu_ref=None) -> GMMStats:
    r"""Sufficient statistics for *any* recognition distribution :math:`\check p(\check X_k=1\mid\mathbf y_n) = r_{nk}`.

    With one-hot rows (observed classes) the M step of Section 7.1 becomes the fully observed
    maximum-likelihood fit (per-class proportions, means, covariances); with a recognition
    distribution other than the posterior, :func:`gmm_elbo` gives a bound strictly below the log
    likelihood (Eq. 6.6).

    Parameters
    ----------
    y : array_like, shape (N, L)
    r : array_like, shape (N, K)
        Each row a probability vector.
    mu_ref : array_like, shape (K, L), optional
        Centring points; default: the responsibility-weighted means (the origin for an empty column).

    Returns
    -------
    GMMStats
        ``log_lik`` is NaN (there are no parameters behind ``r``).
    """
    y = as_array(y, "y", ndim=2, dims="(N, L)")
    N, L = y.shape
    if N == 0 or L == 0:
        raise ValueError(f"y must have at least one row and one column, shape (N, L); got {y.shape}.")
    r = as_array(r, "r", ndim=2, dims="(N, K)")
    if r.shape[0] != N:
        raise ValueError(f"r must have one row per observation: shape (N, K) with N = {N}; got {r.shape}.")
    K = r.shape[1]
    check_prob_rows(r, "r")
    if mu_ref is not None:
        mu_ref = as_array(mu_ref, "mu_ref", shape=(K, L), dims="(K, L)")
    return _stats_from_responsibilities(y, r, mu_ref)


def _stats_from_responsibilities(y, r, mu_ref=None) -> GMMStats:
    """:func:`gmm_stats_from_responsibilities` on validated inputs."""
    N, L = y.shape
    K = r.shape[1]
    N_k = r.sum(axis=0)
    if mu_ref is None:
        mu_ref = (r.T @ y) / np.where(N_k > 0, N_k, 1.0)[:, None]
    sum_d = np.empty((K, L))
    sum_dd = np.empty((K, L, L))
    for k in range(K):
        d = y - mu_ref[k]
        rd = r[:, k:k + 1] * d
        sum_d[k] = rd.sum(axis=0)
        sum_dd[k] = rd.T @ d
    pos = r > 0
    entropy = -float(np.sum(np.where(pos, r * np.log(np.where(pos, r, 1.0)), 0.0)))
    return GMMStats(N_k, sum_d, symmetrize(sum_dd), np.array(mu_ref, dtype=float), float("nan"), entropy)


def gmm_m_step(stats: GMMStats, *, covariance_type: str = "full", reg_covar: float = 0.0,
               old_params: GMMParams | None = None) -> GMMParams:
    r"""The closed-form M step of Section 7.1 from expected sufficient statistics.

    .. math::
        \pi_k = \frac{N_k}{\sum_j N_j}, \qquad \boldsymbol\mu_k = \mathbf a_k + \frac{\sum_n r_{nk}\mathbf d_{nk}}{N_k},
        \qquad \boldsymbol\Sigma_k = \frac{\sum_n r_{nk}(\mathbf y_n-\boldsymbol\mu_k)(\mathbf y_n-\boldsymbol\mu_k)^T}{N_k},

    where :math:`\mathbf d_{nk} = \mathbf y_n - \mathbf a_k` and the scatter about the new mean is
    ``sum_dd - N_k (mu_k - a_k)(mu_k - a_k)^T``. ``"diag"`` keeps the diagonal of each
    :math:`\boldsymbol\Sigma_k`; ``"tied"`` pools, :math:`\boldsymbol\Sigma = \sum_k N_k\boldsymbol\Sigma_k/N`.

    The mean is Eq. 6.4, :math:`\boldsymbol\mu_k = \langle\check X_k\mathbf Y\rangle/\langle\check X_k\rangle`,
    with the expectations taken under the responsibilities held fixed (not under the moving posterior).

    Parameters
    ----------
    stats : GMMStats
    covariance_type : {"full", "diag", "tied"}
    reg_covar : float
        Eigenvalue floor (non-negative; 0 disables it). Raises a :class:`CovarianceFloorWarning` when it binds.
    old_params : GMMParams, optional
        Supplies the mean and covariance of a component with zero responsibility.

    Returns
    -------
    GMMParams
        Full ``(K, L, L)`` covariances.
    """
    check_choice(covariance_type, "covariance_type", COVARIANCE_TYPES)
    stats = _check_stats(stats)
    reg_covar = _check_reg(reg_covar)
    if old_params is not None:
        K, L = stats.mu_ref.shape
        old_params, _ = _check_params_for(old_params, "old_params", K, L)
    return _m_step(stats, covariance_type, reg_covar, old_params)[0]


def gmm_elbo(params: GMMParams, stats: GMMStats) -> float:
    r"""The ELBo (Section 6.3.1) summed over the data, for the recognition distribution behind ``stats``.

    .. math::
        \sum_n\mathcal B_n = \sum_k\Big[N_k\big(\log\pi_k - \tfrac L2\log\tau - \tfrac12\log|\boldsymbol\Sigma_k|\big)
          - \tfrac12\operatorname{tr}\big(\boldsymbol\Sigma_k^{-1}\textstyle\sum_n r_{nk}(\mathbf y_n-\boldsymbol\mu_k)
          (\mathbf y_n-\boldsymbol\mu_k)^T\big)\Big] + \sum_n\mathrm H[r_{n\cdot}]

    This is :math:`\sum_n\sum_k r_{nk}[\log\hat p(k,\mathbf y_n;\boldsymbol\theta)-\log r_{nk}]`, computed
    from the statistics alone. It equals :math:`\ell(\boldsymbol\theta)` when :math:`r` is the
    posterior under :math:`\boldsymbol\theta` and is smaller by the summed KL divergence otherwise
    (Eq. 6.6). The book's free energy (Eq. 6.5, second line) is its negative (per datum, divide by :math:`N`).

    Parameters
    ----------
    params : GMMParams
    stats : GMMStats

    Returns
    -------
    float
    """
    stats = _check_stats(stats)
    K, L = stats.mu_ref.shape
    params, chol = _check_params_for(params, "params", K, L)
    return _elbo(params, chol, stats)


# ---------------------------------------------------------------------------------------------
# public: the EM model and the fit
# ---------------------------------------------------------------------------------------------

def gmm_em_model(covariance_type: str = "full", reg_covar: float = 0.0, backend: str = "auto") -> EMModel:
    r"""The GMM as an :class:`~pedagogy_lib.em.EMModel` for :func:`~pedagogy_lib.em.run_em` (data: ``y`` (N, L)).

    The E step returns a :class:`GMMStats`; the log likelihood and the next E step share one pass
    over the data (the statistics computed with :math:`\ell(\boldsymbol\theta^{(i)})` are reused as
    the E step at :math:`\boldsymbol\theta^{(i)}`), so an iteration costs one pass, as in scikit-learn.
    The memo is keyed on the identity of the parameter tuple and of ``y``. The functions assume
    validated inputs (``y`` a finite, contiguous float64 ``(N, L)`` array), as :func:`fit_gmm` passes them.
    """
    check_choice(covariance_type, "covariance_type", COVARIANCE_TYPES)
    reg_covar = _check_reg(reg_covar)
    backend = _check_backend_auto(backend)             # "auto" chooses at each E step
    cache: dict = {"params": None, "y": None, "stats": None, "chol": None}

    def chol_of(params):
        if cache["params"] is params and cache["chol"] is not None:
            return cache["chol"]
        return _chol_or_raise(np.asarray(params.Sigma), "E step")

    def e_step(params, y):
        if cache["params"] is params and cache["y"] is y and cache["stats"] is not None:
            return cache["stats"]
        chol = chol_of(params)
        stats = _stats(params.pi, params.mu, chol, y, backend)
        cache.update(params=params, y=y, stats=stats, chol=chol)
        return stats

    def m_step(stats, y, params):
        new, chol = _m_step(stats, covariance_type, reg_covar, params)
        cache.update(params=new, stats=None, chol=chol)
        return new

    def log_likelihood(params, y):
        return e_step(params, y).log_lik

    def elbo(params, stats, y):
        return _elbo(params, chol_of(params), stats)

    def check(params, y):
        if params is not None and not isinstance(params, GMMParams):
            raise TypeError(f"init_params must be a GMMParams(pi, mu, Sigma); got {type(params).__name__}.")
        pi = None if params is None else check_params(params, "init_params")[0]
        y, _ = _check_y_K(y, 1 if pi is None else pi.shape[0])
        if reg_covar == 0.0 and y.shape[0] > 1 and np.any(np.ptp(y, axis=0) == 0.0):
            j = int(np.argmax(np.ptp(y, axis=0) == 0.0))
            raise ValueError(f"y is constant in column {j}: with reg_covar = 0 every covariance collapses to zero "
                             "variance there at the first M step. Use reg_covar > 0 (fit_gmm's default is 1e-6).")
        if params is None:
            return None, y
        return _check_params_for(params, "init_params", pi.shape[0], y.shape[1])[0], y

    return EMModel(e_step, m_step, log_likelihood, elbo, None, f"GMM EM ({covariance_type} covariances)", check)


def _nearest(y, mu):
    """Squared distances to the nearest centre and its index (ties: the lowest index)."""
    N, K = y.shape[0], mu.shape[0]
    d2 = np.empty((N, K))
    for k in range(K):
        diff = y - mu[k]
        d2[:, k] = np.einsum("nl,nl->n", diff, diff)
    labels = np.argmin(d2, axis=1)
    return d2[np.arange(N), labels], labels


def _kmeans_plusplus(y, K, rng):
    N = y.shape[0]
    centers = np.empty((K, y.shape[1]))
    first = int(rng.integers(N))
    centers[0] = y[first]
    diff = y - centers[0]
    D2 = np.einsum("nl,nl->n", diff, diff)                   # squared distance to the nearest centre so far
    for k in range(1, K):
        cum = np.cumsum(D2)
        total = cum[-1]
        if not total > 0.0:
            raise ValueError(f"y has fewer than K = {K} distinct rows (only {k} found by k-means++ seeding); "
                             "reduce K or remove duplicated points.")
        idx = min(int(np.searchsorted(cum, rng.random() * total, side="right")), N - 1)  # P(n) = D2_n / sum D2
        centers[k] = y[idx]
        diff = y - centers[k]
        D2 = np.minimum(D2, np.einsum("nl,nl->n", diff, diff))
    return centers


def kmeans_plusplus(y, K: int, rng: np.random.Generator) -> np.ndarray:
    r"""k-means++ seeding (Arthur and Vassilvitskii, 2007): spread-out initial centres drawn from the data.

    The first centre is a uniformly chosen point; each next one is point :math:`n` with probability
    proportional to :math:`D_n^2`, its squared distance to the nearest centre chosen so far. One
    uniform number per centre, all from ``rng``. (scikit-learn's version also tries several
    candidates per step and keeps the best, so its centres differ.)

    Parameters
    ----------
    y : array_like, shape (N, L)
    K : int
        ``1 <= K <= N``; ``y`` needs at least ``K`` distinct rows.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (K, L)
        Rows of ``y``.
    """
    rng = check_rng(rng)
    y, K = _check_y_K(y, K)
    return _kmeans_plusplus(y, K, rng)


def _hard_stats(y, mu):
    """Statistics of the hard (one-hot) nearest-centre assignment, for initializing EM."""
    _, labels = _nearest(y, mu)
    r = np.zeros((y.shape[0], mu.shape[0]))
    r[np.arange(y.shape[0]), labels] = 1.0
    return gmm_stats_from_responsibilities(y, r, mu)


def _fit_once(y, K, rng, init_params, covariance_type, reg_covar, max_iter, tol, backend, return_path, shift):
    if init_params is None:
        centers = _kmeans_plusplus(y, K, rng)
        init_params = _m_step(_hard_stats(y, centers), covariance_type, reg_covar, None)[0]
    model = gmm_em_model(covariance_type, reg_covar, backend)
    # tol = 0 runs exactly max_iter iterations (run_em's convention)
    return run_em(model, init_params, y, max_iter=max_iter, tol=tol,
                  return_path=return_path, log_lik_shift=shift)


def fit_gmm(y, K: int, *, covariance_type: str = "full", rng: np.random.Generator | None = None,
            init="kmeans++", max_iter: int = 100, tol: float = 1e-8, reg_covar: float = 1e-6,
            n_restarts: int = 1, backend: str = "auto", return_path: bool = False) -> EMResult:
    r"""Fit a Gaussian mixture (Eq. 2.2) by EM (Sections 6.3.1 and 7.1).

    Each iteration is the E step of :func:`gmm_suff_stats` followed by the M step of
    :func:`gmm_m_step`; :func:`~pedagogy_lib.em.run_em` runs the loop, records
    :math:`\ell(\boldsymbol\theta^{(i)})` and the ELBo, and checks that the likelihood never decreases.

    Parameters
    ----------
    y : array_like, shape (N, L)
        Observations as rows; finite.
    K : int
        Number of components, ``1 <= K <= N``.
    covariance_type : {"full", "diag", "tied"}
    rng : numpy.random.Generator, optional
        Required for ``init="kmeans++"`` (and for restarts).
    init : "kmeans++" or GMMParams
        ``"kmeans++"``: :func:`kmeans_plusplus` centres, hard nearest-centre responsibilities, then
        one M step. A :class:`~pedagogy_lib.mixture.GMMParams` is used as
        :math:`\boldsymbol\theta^{(0)}` as given (its covariances need not have the structure of
        ``covariance_type``; the first M step imposes it).
    max_iter : int
        Maximum number of EM iterations.
    tol : float
        Stop when :math:`\ell^{(i+1)}-\ell^{(i)}\le` ``tol`` :math:`\cdot\max(1,|\ell^{(i)}|)`,
        never below :math:`64\epsilon` times that scale, the rounding of the computed likelihood (see
        :func:`~pedagogy_lib.em.run_em`).
        ``tol = 0`` runs exactly ``max_iter`` iterations. Here :math:`\ell` is read in units where each
        column of ``y`` has unit spread (:func:`~pedagogy_lib.em.units_log_shift`), so rescaled data
        stop at the same iteration.
    reg_covar : float
        Floor on every covariance eigenvalue (variance for ``"diag"``), in the units of ``y``
        squared; 0 disables it. Unlike scikit-learn's ``reg_covar``, which is *added* to every
        diagonal at every step, this one acts only when it binds, with a :class:`CovarianceFloorWarning`.
        Being absolute, it is not scale-equivariant: with ``y`` in small units (a smallest data variance
        below ``1000 * reg_covar``) it binds on components that are not collapsing, and the warning says
        so; pass ``reg_covar`` scaled with ``y`` squared to make the fit equivariant (``y -> s y`` then
        gives ``mu -> s mu``, ``Sigma -> s^2 Sigma`` and the same ``pi``).
    n_restarts : int
        Independent k-means++ initializations (children of ``rng``); the fit with the largest final
        log likelihood is returned. Must be 1 when ``init`` is a GMMParams.
    backend : {"auto", "numba", "numpy"}
        Implementation of the E step (see :func:`gmm_suff_stats`); ``"auto"`` chooses at each E step.
    return_path : bool
        Keep every iterate (for animations).

    Returns
    -------
    EMResult
        ``params`` is a :class:`~pedagogy_lib.mixture.GMMParams` (full covariance arrays);
        ``log_lik`` has the log likelihood of every iterate, ``elbo`` the bound after every M step.
        Components are identified only up to a permutation (label switching).

    Raises
    ------
    ValueError
        Bad shapes or values of any argument, ``K > N``, fewer than ``K`` distinct rows, or a
        constant column of ``y`` with ``reg_covar = 0``.
    FloatingPointError
        A covariance became singular (only possible with ``reg_covar = 0``).
    """
    backend = _check_backend_auto(backend)
    check_choice(covariance_type, "covariance_type", COVARIANCE_TYPES)
    y, K = _check_y_K(y, K)
    N, L = y.shape
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = positive_scalar(tol, "tol", strict=False)
    reg_covar = _check_reg(reg_covar)
    n_restarts = check_int(n_restarts, "n_restarts", minimum=1)
    if reg_covar == 0.0:
        const = np.flatnonzero(np.all(y == y[0], axis=0))
        if const.size:
            raise ValueError(f"y is degenerate: column(s) {const.tolist()} are constant, so every covariance would be "
                             "singular with reg_covar = 0; use reg_covar > 0 or drop those columns.")
    if isinstance(init, str):
        check_choice(init, "init", INITS)
        rng = check_rng(rng)
        init_params = None
    else:
        init_params, _ = _check_params_for(init, "init", K, L)
        if n_restarts != 1:
            raise ValueError(f"n_restarts must be 1 when init is a GMMParams (every restart would be identical); "
                             f"got {n_restarts}.")
    fit = partial(_fit_once, y, K, init_params=init_params, covariance_type=covariance_type, reg_covar=reg_covar,
                  max_iter=max_iter, tol=tol, backend=backend, return_path=return_path, shift=units_log_shift(y))
    if n_restarts == 1:
        return fit(rng)
    return best_of_restarts(fit, rng, n_restarts).best


# ---------------------------------------------------------------------------------------------
# semi-supervised EM: the labelled points' responsibilities clamped to their labels
# ---------------------------------------------------------------------------------------------

def _log_joint(pi, mu, chol, y):
    """The logits of Eq. 2.8 with every constant, log(pi_k N(y_n; mu_k, Sigma_k)), for validated inputs (N, K)."""
    U, b = _e_step_inputs(pi, mu, chol)
    z = np.empty((y.shape[0], mu.shape[0]))
    for k in range(mu.shape[0]):
        w = (y - mu[k]) @ U[k]                                   # rows: (L_k^{-1}(y_n - mu_k))^T
        z[:, k] = b[k] - 0.5 * np.sum(w * w, axis=1)
    return z


def _clamp(z, labels):
    """Responsibilities and the semi-supervised log likelihood from the logits ``z`` (N, K) of Eq. 2.8."""
    lab = np.flatnonzero(labels >= 0)
    free = np.flatnonzero(labels < 0)
    r = softmax(z, axis=1)                                       # the posterior (Eqs. 2.6-2.7)
    r[lab] = 0.0
    r[lab, labels[lab]] = 1.0                                    # clamped: r_nk = [k = c_n]
    with np.errstate(invalid="ignore"):
        ll = float(np.sum(logsumexp(z[free], axis=1)) + np.sum(z[lab, labels[lab]]))
    return r, ll


def _check_labelled(params, y, labels, name="params"):
    """Validated ``(log joint (N, K), labels)`` for a GMMParams, its data and partial labels."""
    pi, mu, _, chol = check_params(params, name)
    y = as_array(y, "y", shape=(None, mu.shape[1]), dims="(N, L)")
    if y.shape[0] == 0:
        raise ValueError(f"y must have at least one row (observation), shape (N, L); got {y.shape}.")
    return _log_joint(pi, mu, chol, y), check_labels(labels, y.shape[0], pi.shape[0])


def clamped_responsibilities(params: GMMParams, y, labels) -> np.ndarray:
    r"""The E step of semi-supervised EM: the posterior for unlabelled points, the label for labelled ones.

    .. math::
        r_{nk} = \begin{cases} [k = c_n] & n\in\mathcal L\ \text{(labelled)},\\
            \mathrm{softmax}\{\hat{\mathbf z}_n\}_k & \text{otherwise},\end{cases}

    with the logits :math:`\hat z_{nk}` of Eq. 2.8 (the semi-supervised clustering of Section 5.2.1, in
    its generative form; the E step of Section 7.1 with the observed classes clamped).

    Parameters
    ----------
    params : GMMParams
    y : array_like, shape (N, L)
    labels : array_like of int, shape (N,)
        ``-1`` for an unlabelled point, else its class ``0..K-1`` (component ``k`` is class ``k``).

    Returns
    -------
    ndarray, shape (N, K)
        Each row a probability vector; one-hot on labelled rows.

    Raises
    ------
    ValueError
        If ``params``, ``y`` or ``labels`` is malformed (the message names it).
    """
    return _clamp(*_check_labelled(params, y, labels))[0]


def semi_supervised_log_lik(params: GMMParams, y, labels) -> float:
    r"""The objective of semi-supervised EM: marginal for unlabelled points, joint for labelled ones.

    .. math::
        \ell_{\text{semi}}(\boldsymbol\theta) = \sum_{n\notin\mathcal L}\log\sum_k\pi_k
            \mathcal N(\mathbf y_n;\boldsymbol\mu_k,\boldsymbol\Sigma_k)
            + \sum_{n\in\mathcal L}\log\big(\pi_{c_n}\mathcal N(\mathbf y_n;\boldsymbol\mu_{c_n},
            \boldsymbol\Sigma_{c_n})\big)

    (Eq. 2.10 for the first sum; Section 5.2.1's semi-supervised clustering in its generative form).
    It is ``-inf`` if a labelled point's class has :math:`\pi_{c_n} = 0`.

    Parameters
    ----------
    params : GMMParams
    y : array_like, shape (N, L)
    labels : array_like of int, shape (N,)
        As in :func:`clamped_responsibilities`.

    Returns
    -------
    float
    """
    return _clamp(*_check_labelled(params, y, labels))[1]


def _semi_supervised_model(labels, covariance_type, reg_covar) -> EMModel:
    """The GMM with clamped labels as an EMModel for run_em (validated inputs)."""

    def clamped(params, y):
        chol = _chol_or_raise(np.asarray(params.Sigma), "E step")
        return _clamp(_log_joint(params.pi, params.mu, chol, y), labels)

    def e_step(params, y):
        return _stats_from_responsibilities(y, clamped(params, y)[0], params.mu)

    def m_step(stats, y, params):
        return _m_step(stats, covariance_type, reg_covar, params)[0]

    def log_likelihood(params, y):
        return clamped(params, y)[1]

    def elbo(params, stats, y):
        return _elbo(params, _chol_or_raise(np.asarray(params.Sigma), "ELBo"), stats)

    return EMModel(e_step, m_step, log_likelihood, elbo, None,
                   f"semi-supervised GMM EM ({covariance_type} covariances)", None)


def fit_gmm_semi_supervised(y, labels, K: int, *, covariance_type: str = "full", rng: np.random.Generator | None = None,
                            init="kmeans++", max_iter: int = 100, tol: float = 1e-8, reg_covar: float = 1e-6,
                            return_path: bool = False) -> EMResult:
    r"""EM for a Gaussian mixture in which some points carry their class (Section 5.2.1's semi-supervised
    clustering, generative form; Sections 6.3.1 and 7.1).

    Each iteration clamps the labelled points' responsibilities to their labels and sets the others to
    the posterior (:func:`clamped_responsibilities`), turns them into statistics with
    :func:`gmm_stats_from_responsibilities`, and takes the M step of :func:`gmm_m_step`.
    :func:`~pedagogy_lib.em.run_em` runs the loop and records :func:`semi_supervised_log_lik` and the
    ELBo (:func:`gmm_elbo`), which EM never decreases. With no point labelled this is :func:`fit_gmm`;
    with every point labelled the first M step is the supervised fit and the second changes nothing.

    Parameters
    ----------
    y : array_like, shape (N, L)
    labels : array_like of int, shape (N,)
        ``-1`` for an unlabelled point, else its class ``0..K-1``.
    K : int
        Number of components (classes), ``1 <= K <= N``.
    covariance_type : {"full", "diag", "tied"}
    rng : numpy.random.Generator, optional
        Required for ``init="kmeans++"``.
    init : "kmeans++" or GMMParams
        ``"kmeans++"``: :func:`kmeans_plusplus` centres and nearest-centre responsibilities, the
        labelled points' clamped to their labels, then one M step. A GMMParams is used as given.
    max_iter, tol, reg_covar, return_path
        As in :func:`fit_gmm` (the stopping rule reads :math:`\ell_{\text{semi}}` in units where each
        column of ``y`` has unit spread, so rescaled data stop at the same iteration).

    Returns
    -------
    EMResult
        ``log_lik`` holds :math:`\ell_{\text{semi}}` of every iterate, ``elbo`` the bound after every M step.

    Raises
    ------
    ValueError
        Bad shapes or values of any argument (the message names it).
    """
    check_choice(covariance_type, "covariance_type", COVARIANCE_TYPES)
    y, K = _check_y_K(y, K)
    N, L = y.shape
    labels = check_labels(labels, N, K)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = positive_scalar(tol, "tol", strict=False)
    reg_covar = _check_reg(reg_covar)
    if isinstance(init, str):
        check_choice(init, "init", INITS)
        centers = _kmeans_plusplus(y, K, check_rng(rng))
        _, nearest = _nearest(y, centers)
        hard = np.where(labels >= 0, labels, nearest)
        r = np.zeros((N, K))
        r[np.arange(N), hard] = 1.0
        init_params = _m_step(_stats_from_responsibilities(y, r, centers), covariance_type, reg_covar, None)[0]
    else:
        init_params, _ = _check_params_for(init, "init", K, L)
    model = _semi_supervised_model(labels, covariance_type, reg_covar)
    return run_em(model, init_params, y, max_iter=max_iter, tol=tol, return_path=return_path,
                  log_lik_shift=units_log_shift(y))


# ---------------------------------------------------------------------------------------------
# K-means
# ---------------------------------------------------------------------------------------------

def kmeans(y, K: int, *, rng: np.random.Generator | None = None, init="kmeans++",
           max_iter: int = 300) -> KMeansResult:
    r"""K-means by Lloyd's algorithm: the :math:`\sigma\to0` limit of GMM EM (Section 7.1.1).

    .. math::
        \text{E: } \check p^{(i+1)}(\hat X_j = 1\mid\mathbf y_n) = [\,j = \operatorname{argmin}_k
            \|\mathbf y_n-\boldsymbol\mu_k^{(i)}\|\,], \qquad
        \text{M: } \boldsymbol\mu_j^{(i+1)} = \frac{\sum_n\check p^{(i+1)}(\hat X_j=1\mid\mathbf y_n)\,\mathbf y_n}
            {\sum_n\check p^{(i+1)}(\hat X_j=1\mid\mathbf y_n)}

    Stops when the assignments no longer change (then the centres are an exact fixed point), or
    when the inertia :math:`\sum_n\min_k\|\mathbf y_n-\boldsymbol\mu_k\|^2` no longer decreases by
    more than its rounding level, :math:`64\epsilon` times its value (then the only changes are
    between centres whose distances tie to rounding, which could otherwise swap a point back and
    forth on some machines); Lloyd's algorithm never increases the inertia, so both are
    convergence. Otherwise it stops after ``max_iter`` mean updates with a :class:`~pedagogy_lib.em.ConvergenceWarning`. A centre
    that loses all its points stays where it is (:class:`EmptyComponentWarning`). Ties go to the
    lowest index.

    Parameters
    ----------
    y : array_like, shape (N, L)
    K : int
        ``1 <= K <= N``.
    rng : numpy.random.Generator, optional
        Required for ``init="kmeans++"``.
    init : "kmeans++" or array_like, shape (K, L)
        Initial centres :math:`\boldsymbol\mu^{(0)}`.
    max_iter : int

    Returns
    -------
    KMeansResult
    """
    y, K = _check_y_K(y, K)
    N, L = y.shape
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if isinstance(init, str):
        check_choice(init, "init", INITS)
        mu = _kmeans_plusplus(y, K, check_rng(rng))
    else:
        mu = as_array(init, "init", shape=(K, L), dims="(K, L)").copy()
    D2, labels = _nearest(y, mu)                             # E step at mu^(0)
    inertia = [float(np.sum(D2))]
    converged = False
    n_iter = 0
    for i in range(1, max_iter + 1):
        counts = np.bincount(labels, minlength=K).astype(float)
        sums = np.stack([np.bincount(labels, weights=y[:, l], minlength=K) for l in range(L)], axis=1)
        empty = counts == 0
        if empty.any():
            warnings.warn(f"K-means: centre(s) {np.flatnonzero(empty).tolist()} have no points at iteration {i}; "
                          "they were left in place.", EmptyComponentWarning, stacklevel=2)
        mu = np.where(empty[:, None], mu, sums / np.where(empty, 1.0, counts)[:, None])   # M step: means
        D2, new_labels = _nearest(y, mu)                     # E step: nearest centre
        inertia.append(float(np.sum(D2)))
        n_iter = i
        if np.array_equal(new_labels, labels) or \
                inertia[-1] >= inertia[-2] * (1.0 - 64.0 * np.finfo(float).eps):
            labels = new_labels
            converged = True
            break
        labels = new_labels
    if not converged:
        warnings.warn(f"K-means did not converge in {n_iter} iterations: assignments were still changing. "
                      "Increase max_iter.", ConvergenceWarning, stacklevel=2)
    return KMeansResult(mu, labels, np.asarray(inertia), n_iter, converged)
