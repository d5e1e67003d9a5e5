r"""Coordinate-ascent variational inference (CAVI) for the Bayesian Gaussian mixture.

The model puts priors on the mixture of Section 7.1: mixing weights
:math:`\boldsymbol\pi\sim\mathrm{Dir}(\alpha_0\mathbf 1)` and, per component, a Gaussian-Wishart
:math:`\boldsymbol\Lambda_k\sim\mathcal W(\mathbf W_0,\nu_0)`,
:math:`\boldsymbol\mu_k\mid\boldsymbol\Lambda_k\sim\mathcal N(\mathbf m_0,(\beta_0\boldsymbol\Lambda_k)^{-1})`.
The mean-field family splits the class labels from the parameters,
:math:`q(\mathbf Z)\,q(\boldsymbol\pi)\prod_k q(\boldsymbol\mu_k,\boldsymbol\Lambda_k)`, and each factor's
coordinate update is available in closed form (Bishop 2006, Section 10.2):

* **labels** (an "E step"): :math:`r_{nk}\propto\exp\{\mathbb E\log\pi_k + \tfrac12\mathbb E\log|\boldsymbol\Lambda_k|
  - \tfrac{D}{2\beta_k} - \tfrac{\nu_k}{2}(\mathbf y_n-\mathbf m_k)^T\mathbf W_k(\mathbf y_n-\mathbf m_k)\}`;
* **parameters** (an "M step" on posteriors instead of points): with soft counts :math:`N_k`, means
  :math:`\bar{\mathbf y}_k` and scatter :math:`N_k\mathbf S_k`,
  :math:`\alpha_k=\alpha_0+N_k`, :math:`\beta_k=\beta_0+N_k`, :math:`\nu_k=\nu_0+N_k`,
  :math:`\mathbf m_k=(\beta_0\mathbf m_0+N_k\bar{\mathbf y}_k)/\beta_k`,
  :math:`\mathbf W_k^{-1}=\mathbf W_0^{-1}+N_k\mathbf S_k+\tfrac{\beta_0N_k}{\beta_0+N_k}(\bar{\mathbf y}_k-\mathbf m_0)(\bar{\mathbf y}_k-\mathbf m_0)^T`.

The label update is a Gaussian-mixture E step at an effective mixture, so it runs on the fused
numba kernel of :mod:`pedagogy_lib.mixture.em` (:func:`~pedagogy_lib.mixture.em.gmm_suff_stats`).
The parameterization matches scikit-learn's ``BayesianGaussianMixture`` with
``weight_concentration_prior_type="dirichlet_distribution"``: its ``covariance_prior`` is
:math:`\mathbf W_0^{-1}` and its ``covariances_`` are :math:`\mathbf W_k^{-1}/\nu_k`.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from scipy.special import digamma, gammaln

from ..core.checks import (ConvergenceWarning, as_array, as_scalar, check_backend, check_int, check_moments,
                           check_positive, check_prob_rows, check_spd, positive_scalar)
from ..mixture.em import GMMStats, gmm_stats_from_responsibilities, gmm_suff_stats
from ..mixture.model import GMMParams

__all__ = [
    "BGMMPrior",
    "BGMMPosterior",
    "CAVIResult",
    "bgmm_prior",
    "default_bgmm_prior",
    "bgmm_update_parameters",
    "bgmm_responsibilities",
    "bgmm_elbo",
    "cavi_bgmm",
    "check_bgmm_prior",
    "check_bgmm_posterior",
]

_TINY = 10.0 * np.finfo(np.float64).eps                  # added to soft counts, as scikit-learn does


class BGMMPrior(NamedTuple):
    r"""Hyper-parameters of the Bayesian GMM.

    Attributes
    ----------
    alpha0 : float
        Dirichlet concentration :math:`\alpha_0` (small values let components empty out).
    beta0 : float
        Prior precision scale :math:`\beta_0` of the means.
    m0 : ndarray, shape (D,)
        Prior mean :math:`\mathbf m_0`.
    W0_inv : ndarray, shape (D, D)
        :math:`\mathbf W_0^{-1}`, the inverse Wishart scale (scikit-learn's ``covariance_prior``).
    nu0 : float
        Wishart degrees of freedom :math:`\nu_0 > D - 1`.
    """

    alpha0: float
    beta0: float
    m0: np.ndarray
    W0_inv: np.ndarray
    nu0: float


class BGMMPosterior(NamedTuple):
    r"""The variational factors :math:`q(\boldsymbol\pi)=\mathrm{Dir}(\boldsymbol\alpha)`,
    :math:`q(\boldsymbol\mu_k,\boldsymbol\Lambda_k)=\mathcal N(\mathbf m_k,(\beta_k\boldsymbol\Lambda_k)^{-1})\mathcal W(\mathbf W_k,\nu_k)`.

    Attributes
    ----------
    alpha : ndarray, shape (K,)
    beta : ndarray, shape (K,)
    m : ndarray, shape (K, D)
    W_inv : ndarray, shape (K, D, D)
        :math:`\mathbf W_k^{-1}`.
    nu : ndarray, shape (K,)
    """

    alpha: np.ndarray
    beta: np.ndarray
    m: np.ndarray
    W_inv: np.ndarray
    nu: np.ndarray


class CAVIResult(NamedTuple):
    """What :func:`cavi_bgmm` returns.

    Attributes
    ----------
    q : BGMMPosterior
        The factors after the last iteration.
    elbo : ndarray, shape (n_iter,)
        The ELBO after each iteration (never decreasing, up to rounding).
    n_iter : int
    converged : bool
    """

    q: BGMMPosterior
    elbo: np.ndarray
    n_iter: int
    converged: bool


def bgmm_prior(alpha0, beta0, m0, W0_inv, nu0) -> BGMMPrior:
    """A validated :class:`BGMMPrior`."""
    m0 = as_array(m0, "m0", ndim=1, dims="(D,)", nonempty=True)
    D = m0.shape[0]
    W0_inv = as_array(W0_inv, "W0_inv", shape=(D, D), dims="(D, D)")
    check_spd(W0_inv, "W0_inv")
    nu0 = as_scalar(nu0, "nu0")
    if not nu0 > D - 1:
        raise ValueError(f"nu0 must exceed D - 1 = {D - 1}; got {nu0:.6g}.")
    return BGMMPrior(positive_scalar(alpha0, "alpha0"), positive_scalar(beta0, "beta0"), m0, W0_inv, nu0)


def default_bgmm_prior(y, K: int) -> BGMMPrior:
    r"""scikit-learn's defaults: :math:`\alpha_0=1/K`, :math:`\beta_0=1`, :math:`\mathbf m_0=\bar{\mathbf y}`,
    :math:`\mathbf W_0^{-1}` the sample covariance (``np.cov``), :math:`\nu_0=D`.

    Raises
    ------
    ValueError
        If ``y`` is not a finite ``(N, D)`` array with at least two rows, or its sample covariance is
        not positive definite (data on a subspace, or too small to resolve in double precision).
    """
    y = as_array(y, "y", ndim=2, dims="(N, D)")
    K = check_int(K, "K", minimum=1)
    if y.shape[0] < 2:
        raise ValueError(f"y must have at least two rows (N >= 2) for a sample covariance; got shape {y.shape}.")
    cov = np.atleast_2d(np.cov(y.T))
    try:
        check_spd(cov, "the sample covariance of y")
    except ValueError:
        raise ValueError("y must have a positive definite sample covariance for the default prior (its W0_inv); "
                         "these data lie on a subspace or vary too little to resolve in double precision. Build "
                         "the prior with bgmm_prior and a W0_inv of your choosing instead.") from None
    return bgmm_prior(1.0 / K, 1.0, y.mean(axis=0), cov, float(y.shape[1]))


def check_bgmm_prior(prior, name: str = "prior") -> BGMMPrior:
    """Return ``prior`` with clean fields after checking each one as :func:`bgmm_prior` does.

    A :class:`BGMMPrior` built by hand or edited with ``_replace`` is held to the same rules.

    Raises
    ------
    TypeError
        If ``prior`` is not a :class:`BGMMPrior` or a field is not real and numeric.
    ValueError
        If ``m0`` is not a finite non-empty ``(D,)`` vector, ``W0_inv`` not a symmetric positive
        definite ``(D, D)`` matrix, ``alpha0`` or ``beta0`` not finite and positive, or ``nu0`` not
        above ``D - 1``.
    """
    if not isinstance(prior, BGMMPrior):
        raise TypeError(f"{name} must be a BGMMPrior (see bgmm_prior); got {type(prior).__name__}.")
    m0 = as_array(prior.m0, f"{name}.m0", ndim=1, dims="(D,)", nonempty=True)
    D = m0.shape[0]
    W0_inv = as_array(prior.W0_inv, f"{name}.W0_inv", shape=(D, D), dims="(D, D)")
    check_spd(W0_inv, f"{name}.W0_inv")
    nu0 = as_scalar(prior.nu0, f"{name}.nu0")
    if not nu0 > D - 1:
        raise ValueError(f"{name}.nu0 must exceed D - 1 = {D - 1}; got {nu0:.6g}.")
    return BGMMPrior(positive_scalar(prior.alpha0, f"{name}.alpha0"), positive_scalar(prior.beta0, f"{name}.beta0"),
                     m0, W0_inv, nu0)


def check_bgmm_posterior(q, name: str = "q", *, D: int | None = None) -> BGMMPosterior:
    """Return ``q`` with clean fields after checking them against each other.

    Parameters
    ----------
    q : BGMMPosterior
    name : str
        How ``q`` is called in messages.
    D : int, optional
        The data dimension ``q.m`` must have (a prior's).

    Raises
    ------
    TypeError
        If ``q`` is not a :class:`BGMMPosterior` or a field is not real and numeric.
    ValueError
        If ``m`` is not a finite non-empty ``(K, D)`` array, ``alpha``, ``beta`` and ``nu`` are not
        ``(K,)``, ``W_inv`` is not ``(K, D, D)`` and symmetric positive definite, ``alpha`` or
        ``beta`` is not positive, or ``nu`` is not above ``D - 1``.
    """
    if not isinstance(q, BGMMPosterior):
        raise TypeError(f"{name} must be a BGMMPosterior (see bgmm_update_parameters); got {type(q).__name__}.")
    m = as_array(q.m, f"{name}.m", shape=(None, D), dims="(K, D)", nonempty=True)
    K, D = m.shape
    alpha = check_positive(as_array(q.alpha, f"{name}.alpha", shape=(K,), dims="(K,)"), f"{name}.alpha")
    beta = check_positive(as_array(q.beta, f"{name}.beta", shape=(K,), dims="(K,)"), f"{name}.beta")
    nu = as_array(q.nu, f"{name}.nu", shape=(K,), dims="(K,)")
    if np.any(nu <= D - 1):
        k = int(np.argmax(nu <= D - 1))
        raise ValueError(f"{name}.nu must exceed D - 1 = {D - 1} in every component; {name}.nu[{k}] is {nu[k]:.6g}.")
    W_inv = as_array(q.W_inv, f"{name}.W_inv", shape=(K, D, D), dims="(K, D, D)")
    check_spd(W_inv, f"{name}.W_inv")
    return BGMMPosterior(alpha, beta, m, W_inv, nu)


def _check_label_stats(stats, K, D, name: str = "stats"):
    """Label statistics (a GMMStats) with ``K`` components (any if None) in ``D`` dimensions, cleaned."""
    if not isinstance(stats, GMMStats):
        raise TypeError(f"{name} must be a GMMStats (from gmm_suff_stats or bgmm_responsibilities); got "
                        f"{type(stats).__name__}.")
    a = as_array(stats.mu_ref, f"{name}.mu_ref", shape=(K, D), dims="(K, D)", nonempty=True)
    K = a.shape[0]
    N_k = check_positive(as_array(stats.N_k, f"{name}.N_k", shape=(K,), dims="(K,)"), f"{name}.N_k", strict=False)
    sum_d = as_array(stats.sum_d, f"{name}.sum_d", shape=(K, D), dims="(K, D)")
    sum_dd = as_array(stats.sum_dd, f"{name}.sum_dd", shape=(K, D, D), dims="(K, D, D)")
    check_moments(N_k, sum_d, sum_dd, (f"{name}.N_k", f"{name}.sum_d", f"{name}.sum_dd"))
    entropy = as_scalar(stats.entropy, f"{name}.entropy")
    if entropy < -1e-9 * max(1.0, float(np.sum(N_k))):
        raise ValueError(f"{name}.entropy (a sum of entropies of probability vectors) must be non-negative; got "
                         f"{entropy:.6g}.")
    return stats._replace(N_k=N_k, sum_d=sum_d, sum_dd=sum_dd, mu_ref=a, entropy=entropy)


def _expectations(q: BGMMPosterior):
    r""":math:`\mathbb E\log\pi_k`, :math:`\mathbb E\log|\boldsymbol\Lambda_k|`, :math:`\log|\mathbf W_k|`."""
    K, D = q.m.shape
    logdet_W = -np.linalg.slogdet(q.W_inv)[1]
    E_log_pi = digamma(q.alpha) - digamma(q.alpha.sum())
    E_logdet = digamma(0.5 * (q.nu[:, None] - np.arange(D))).sum(axis=1) + D * np.log(2.0) + logdet_W
    return E_log_pi, E_logdet, logdet_W


def _effective_mixture(q: BGMMPosterior, expectations=None) -> GMMParams:
    """A GMM whose responsibilities are the CAVI label update: covariances (nu_k W_k)^{-1}, weights to match.

    ``expectations`` is ``_expectations(q)`` when the caller has it already.
    """
    D = q.m.shape[1]
    E_log_pi, E_logdet, logdet_W = _expectations(q) if expectations is None else expectations
    # log pi_k - (1/2) log|Sigma_k| must equal E log pi_k + (1/2) E log|Lambda_k| - D / (2 beta_k)
    log_w = E_log_pi + 0.5 * E_logdet - 0.5 * D / q.beta - 0.5 * (D * np.log(q.nu) + logdet_W)
    top = np.max(log_w)                                  # normalized by log-sum-exp (K numbers: plain NumPy)
    return GMMParams(np.exp(log_w - (top + np.log(np.sum(np.exp(log_w - top))))), q.m, q.W_inv / q.nu[:, None, None])


def _moments(stats):
    """Soft counts, means and scatter matrices N_k S_k from statistics centred anywhere."""
    N = stats.N_k + _TINY
    delta = stats.sum_d / N[:, None]                      # ybar_k - a_k
    ybar = stats.mu_ref + delta
    NS = stats.sum_dd - np.einsum("ki,kj->kij", stats.sum_d, delta)
    NS = 0.5 * (NS + np.swapaxes(NS, 1, 2))
    return N, ybar, NS


def bgmm_update_parameters(stats, prior: BGMMPrior) -> BGMMPosterior:
    """The closed-form update of every parameter factor from the label statistics (a :class:`~pedagogy_lib.mixture.em.GMMStats`).

    Raises
    ------
    TypeError, ValueError
        If ``prior`` is malformed (:func:`check_bgmm_prior`) or ``stats`` are not statistics of
        ``D``-dimensional data (soft counts, sums and scatter matrices that could come from
        non-negative weights).
    """
    prior = check_bgmm_prior(prior)
    stats = _check_label_stats(stats, None, prior.m0.shape[0])
    return _update(stats, prior)


def _update(stats, prior, moments=None):
    N, ybar, NS = _moments(stats) if moments is None else moments
    beta = prior.beta0 + N
    m = (prior.beta0 * prior.m0 + N[:, None] * ybar) / beta[:, None]
    d = ybar - prior.m0
    W_inv = prior.W0_inv + NS + (prior.beta0 * N / beta)[:, None, None] * np.einsum("ki,kj->kij", d, d)
    return BGMMPosterior(prior.alpha0 + N, beta, m, W_inv, prior.nu0 + N)


def bgmm_responsibilities(y, q: BGMMPosterior, *, backend: str = "auto"):
    """The label update: the statistics of :math:`q(\\mathbf Z)` at the current parameter factors.

    Raises
    ------
    TypeError, ValueError
        If ``q`` is malformed (:func:`check_bgmm_posterior`) or ``y`` is not a finite ``(N, D)``
        array.
    """
    q = check_bgmm_posterior(q)
    y = as_array(y, "y", shape=(None, q.m.shape[1]), dims="(N, D)", nonempty=True)
    return gmm_suff_stats(_effective_mixture(q), y, backend=backend)


def _log_B(W_inv, nu, D):
    """log of the Wishart normalizer B(W, nu) (Bishop 2006, Appendix B), from W^{-1}."""
    logdet_W = -np.linalg.slogdet(W_inv)[1]
    return (-0.5 * nu * logdet_W - 0.5 * nu * D * np.log(2.0) - 0.25 * D * (D - 1) * np.log(np.pi)
            - gammaln(0.5 * (np.asarray(nu)[..., None] - np.arange(D))).sum(axis=-1))


def bgmm_elbo(stats, q: BGMMPosterior, prior: BGMMPrior) -> float:
    r"""The evidence lower bound :math:`\mathcal L(q)\le\log p(\mathbf Y)` (Bishop 2006, Section 10.2.2).

    ``stats`` are the label statistics (with their entropy) that produced ``q``. With ``K = 1`` the
    factor :math:`q(\boldsymbol\mu,\boldsymbol\Lambda)` is the exact posterior and the bound is the
    log evidence.

    Raises
    ------
    TypeError, ValueError
        If ``q`` or ``prior`` is malformed (:func:`check_bgmm_posterior`, :func:`check_bgmm_prior`),
        their dimensions differ, or ``stats`` do not have ``q``'s ``K`` and ``D``.
    """
    prior = check_bgmm_prior(prior)
    q = check_bgmm_posterior(q, D=prior.m0.shape[0])
    stats = _check_label_stats(stats, q.m.shape[0], q.m.shape[1])
    return _elbo(stats, q, prior)


def _elbo(stats, q, prior, moments=None, expectations=None):
    """The ELBO; ``moments`` (``_moments(stats)``) and ``expectations`` (``_expectations(q)``) when already known."""
    K, D = q.m.shape
    N, ybar, NS = _moments(stats) if moments is None else moments
    E_log_pi, E_logdet, _ = _expectations(q) if expectations is None else expectations
    W = np.linalg.inv(q.W_inv)
    dy = ybar - q.m
    dm = q.m - prior.m0
    quad_y = np.einsum("ki,kij,kj->k", dy, W, dy)
    quad_m = np.einsum("ki,kij,kj->k", dm, W, dm)
    tr_SW = np.einsum("kij,kji->k", NS, W)
    tr_W0W = np.einsum("ij,kji->k", prior.W0_inv, W)
    log2pi = np.log(2.0 * np.pi)
    e_lik = 0.5 * np.sum(N * (E_logdet - D / q.beta - D * log2pi) - q.nu * (tr_SW + N * quad_y))
    e_z = np.sum(N * E_log_pi)
    lnC0 = gammaln(K * prior.alpha0) - K * gammaln(prior.alpha0)
    e_pi = lnC0 + (prior.alpha0 - 1.0) * E_log_pi.sum()
    e_mulam = (0.5 * np.sum(D * np.log(prior.beta0 / (2 * np.pi)) + E_logdet - D * prior.beta0 / q.beta
                            - prior.beta0 * q.nu * quad_m)
               + K * _log_B(prior.W0_inv, prior.nu0, D) + 0.5 * (prior.nu0 - D - 1) * E_logdet.sum()
               - 0.5 * np.sum(q.nu * tr_W0W))
    lnC = gammaln(q.alpha.sum()) - gammaln(q.alpha).sum()
    q_pi = np.sum((q.alpha - 1.0) * E_log_pi) + lnC
    H_lam = -_log_B(q.W_inv, q.nu, D) - 0.5 * (q.nu - D - 1) * E_logdet + 0.5 * q.nu * D
    q_mulam = np.sum(0.5 * E_logdet + 0.5 * D * np.log(q.beta / (2 * np.pi)) - 0.5 * D - H_lam)
    return float(e_lik + e_z + e_pi + e_mulam + stats.entropy - q_pi - q_mulam)


def cavi_bgmm(y, prior: BGMMPrior, r0, *, n_iter: int = 100, tol: float = 1e-8,
              backend: str = "auto") -> CAVIResult:
    r"""CAVI for the Bayesian GMM from initial responsibilities ``r0``.

    First the parameter factors are updated from ``r0``; then each iteration updates the labels and
    the parameters once and records the ELBO. This is the order scikit-learn's
    ``BayesianGaussianMixture`` uses, so from the same ``r0`` and priors the iterates agree.

    Parameters
    ----------
    y : array_like, shape (N, D)
    prior : BGMMPrior
    r0 : array_like, shape (N, K)
        Initial responsibilities (rows are probability vectors); ``K`` is read from it.
    n_iter : int
        Maximum number of iterations.
    tol : float
        Stop when the ELBO changes by at most :math:`\max(\mathrm{tol},\ 64\epsilon\max(1, |\mathrm{ELBO}|))`
        between iterations (:math:`\epsilon` the machine epsilon): ``tol`` is absolute, and the floor
        is the rounding level of the computed ELBO, so the rule can be met on any machine and in any
        order of the floating-point operations. CAVI never lowers the ELBO, so a change at rounding
        level, of either sign, is convergence. ``0`` runs all ``n_iter``; otherwise a run that
        ends with the ELBO still changing issues a :class:`~pedagogy_lib.core.checks.ConvergenceWarning`.
    backend : {"auto", "numba", "numpy"}
        For the label update (the fused E-step kernel of :mod:`pedagogy_lib.mixture.em` or its twin);
        ``"auto"`` chooses at each update (:func:`pedagogy_lib.core.jit.choose`).

    Raises
    ------
    TypeError, ValueError
        If ``prior`` is malformed (:func:`check_bgmm_prior`), ``y`` is not a finite ``(N, D)`` array,
        ``r0`` is not ``(N, K)`` with probability rows, or the posterior overflows float64 (prior and
        data on extreme scales).
    """
    check_backend(backend)                       # checked here; "auto" chooses at each label update
    prior = check_bgmm_prior(prior)
    D = prior.m0.shape[0]
    y = as_array(y, "y", shape=(None, D), dims="(N, D)", nonempty=True)
    r0 = as_array(r0, "r0", ndim=2, dims="(N, K)")
    if r0.shape[0] != y.shape[0]:
        raise ValueError(f"r0 must have one row per observation: shape (N, K) with N = {y.shape[0]}; got {r0.shape}.")
    check_prob_rows(r0, "r0")
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    tol = positive_scalar(tol, "tol", strict=False)
    q = _update(gmm_stats_from_responsibilities(y, r0), prior)
    elbo = []
    converged = False
    expectations = None
    for _ in range(n_iter):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if expectations is None:
                expectations = _expectations(q)
            mix = _effective_mixture(q, expectations)
        if not all(np.all(np.isfinite(a)) for a in mix):
            raise ValueError("the variational posterior overflows float64: prior and y must be on moderate, "
                             f"comparable scales (largest |prior.m0| = {np.max(np.abs(prior.m0)):.3g}, "
                             f"largest |y| = {np.max(np.abs(y)):.3g}).")
        stats = gmm_suff_stats(mix, y, backend=backend)
        moments = _moments(stats)
        q = _update(stats, prior, moments)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            expectations = _expectations(q)                # shared by this ELBO and the next label update
        elbo.append(_elbo(stats, q, prior, moments, expectations))
        floor = 64.0 * np.finfo(float).eps * max(1.0, abs(elbo[-1]))
        if tol > 0 and len(elbo) > 1 and abs(elbo[-1] - elbo[-2]) <= max(tol, floor):
            converged = True
            break
    if not converged and tol > 0:
        warnings.warn(f"CAVI stopped after {n_iter} iterations with the ELBO still changing by "
                      f"{abs(elbo[-1] - elbo[-2]) if len(elbo) > 1 else float('nan'):.3g}; increase n_iter.",
                      ConvergenceWarning, stacklevel=2)
    return CAVIResult(q, np.array(elbo), len(elbo), converged)
