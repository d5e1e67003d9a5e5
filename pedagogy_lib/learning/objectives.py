r"""Learning objectives: entropy, cross entropy, relative entropy and maximum likelihood (book Chapter 4).

Section 4.2 measures how far the model distribution :math:`\hat p(\mathbf y;\boldsymbol\theta)` is
from the data distribution :math:`p(\mathbf y)` with three quantities (natural log by default;
``base=2`` gives bits, as in the marble game of Eqs. 4.1-4.2):

.. math::
    H_p[\mathbf Y] = -\sum_{\mathbf y} p(\mathbf y)\log p(\mathbf y) \quad (4.3), \qquad
    H_{pq}[\mathbf Y] = -\sum_{\mathbf y} p(\mathbf y)\log q(\mathbf y) \quad (4.4),

.. math::
    D_{KL}\{p(\mathbf Y)\|q(\mathbf Y)\} = H_{pq}[\mathbf Y] - H_p[\mathbf Y] \ \ge 0 \quad (4.5).

The relative entropy is not symmetric, so both directions are provided (:func:`relative_entropies`):
:math:`D_{KL}\{p\|\hat p\}` is the one learning minimizes (Eq. 4.6); :math:`D_{KL}\{\hat p\|p\}` is the
"reverse" direction that reappears in variational inference.

* Discrete distributions: :func:`entropy`, :func:`cross_entropy`, :func:`relative_entropy`,
  :func:`relative_entropies` (both directions at once).
* Gaussians, in closed form: :func:`gaussian_entropy`, :func:`gaussian_cross_entropy`,
  :func:`gaussian_relative_entropy`.
* Sample averages :math:`\langle\cdot\rangle_{\mathbf Y}` (the book's notation for an average over the
  data, as opposed to an expectation): :func:`sample_cross_entropy` estimates
  :math:`H_{p\hat p}` from log-densities at samples of :math:`p`, :func:`sample_relative_entropy`
  estimates :math:`D_{KL}` from log-density differences; both return a standard error.
* Maximum likelihood (Eq. 4.6): :func:`empirical_distribution` is the data distribution of a sample of
  category labels, and :func:`max_likelihood` minimizes the sample cross entropy
  :math:`\langle -\log\hat p(\mathbf Y;\boldsymbol\theta)\rangle_{\mathbf Y}` with ``scipy.optimize.minimize``.

Conventions: :math:`0\log 0 = 0`; a model that gives zero probability to an outcome the data
distribution can produce has infinite cross and relative entropy. Gaussian normalizers use the
book's :math:`\tau = 2\pi`.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from scipy import optimize
from scipy.special import rel_entr, xlogy

from ..core.checks import as_array, check_int, check_prob_vector, check_spd, positive_scalar
from ..core.linalg import TAU, chol_logdet, chol_solve

__all__ = [
    "RelativeEntropies",
    "SampleEstimate",
    "MaxLikelihoodResult",
    "entropy",
    "cross_entropy",
    "relative_entropy",
    "relative_entropies",
    "gaussian_entropy",
    "gaussian_cross_entropy",
    "gaussian_relative_entropy",
    "sample_cross_entropy",
    "sample_relative_entropy",
    "empirical_distribution",
    "max_likelihood",
]


class RelativeEntropies(NamedTuple):
    r"""Both directions of the relative entropy (Eq. 4.5).

    Attributes
    ----------
    D_pq : float
        :math:`D_{KL}\{p\|q\} = H_{pq} - H_p`.
    D_qp : float
        :math:`D_{KL}\{q\|p\} = H_{qp} - H_q`.
    """

    D_pq: float
    D_qp: float


class SampleEstimate(NamedTuple):
    r"""A sample average :math:`\langle f(\mathbf Y)\rangle_{\mathbf Y}` and its standard error.

    Attributes
    ----------
    value : float
        The average over the ``N`` samples.
    std_error : float
        :math:`s/\sqrt N`, with :math:`s` the sample standard deviation (``ddof=1``); ``nan`` for ``N = 1``.
    N : int
        Number of samples.
    """

    value: float
    std_error: float
    N: int


class MaxLikelihoodResult(NamedTuple):
    r"""Result of :func:`max_likelihood`.

    Attributes
    ----------
    theta : ndarray
        The minimizer of the sample cross entropy (the maximum-likelihood estimate, Eq. 4.6).
    cross_entropy : float
        :math:`\langle -\log\hat p(\mathbf Y;\boldsymbol\theta)\rangle_{\mathbf Y}` at ``theta`` (nats).
    success : bool
        Whether ``theta`` is a stationary point: the largest entry of the gradient, measured at
        ``theta`` (analytically when ``grad`` was given, else by central differences), is at most
        ``gtol``. This is a statement about the answer, not about the optimizer's path: BFGS with
        finite-difference gradients often reports a "precision loss" stop at a point that is the
        optimum to every digit the gradient can resolve.
    grad_norm : float
        That largest absolute gradient entry.
    n_iter : int
        Number of optimizer iterations (depends on the machine's floating point; for reading, not
        for asserting).
    """

    theta: np.ndarray
    cross_entropy: float
    success: bool
    grad_norm: float
    n_iter: int


# ----------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------

def _log_base(base) -> float:
    """Return log(base) for converting nats, after checking the base (None means natural log)."""
    if base is None:
        return 1.0
    b = positive_scalar(base, "base")
    if b == 1.0:
        raise ValueError("base must be positive and different from 1 (e.g. 2 for bits); got 1.")
    return float(np.log(b))


def _check_pair(p, q, names=("p", "q")) -> tuple[np.ndarray, np.ndarray]:
    p = as_array(p, names[0], ndim=1, dims="(K,)")
    check_prob_vector(p, names[0])
    q = as_array(q, names[1], shape=(p.shape[0],), dims="(K,)")
    check_prob_vector(q, names[1])
    return p, q


def _check_gaussian(mu, Sigma, mu_name: str, Sigma_name: str, D: int | None = None):
    mu = as_array(mu, mu_name, ndim=1, dims="(D,)") if D is None else \
        as_array(mu, mu_name, shape=(D,), dims="(D,)")
    D = mu.shape[0]
    if D == 0:
        raise ValueError(f"{mu_name} must hold at least one entry (D >= 1); got shape (0,).")
    Sigma = as_array(Sigma, Sigma_name)
    if Sigma.ndim == 2 and Sigma.shape[0] == Sigma.shape[1] != D:               # name both: the mean's width may be the wrong one
        raise ValueError(f"{mu_name} and {Sigma_name} disagree on the dimension: {mu_name} has shape {mu.shape} "
                         f"(D = {D}) but {Sigma_name} has shape {Sigma.shape} (D = {Sigma.shape[0]}); one of them "
                         "has the wrong width.")
    Sigma = as_array(Sigma, Sigma_name, shape=(D, D), dims="(D, D)")
    return mu, Sigma, check_spd(Sigma, Sigma_name)


# ----------------------------------------------------------------------------------------------
# Discrete distributions (Eqs. 4.3-4.5)
# ----------------------------------------------------------------------------------------------

def entropy(p, *, base=None) -> float:
    r"""Entropy of a discrete distribution, Eq. 4.3.

    .. math:: H_p[\mathbf Y] = -\sum_{\mathbf y} p(\mathbf y)\log p(\mathbf y)

    the average surprisal :math:`-\log p(\mathbf y)`. Terms with :math:`p(\mathbf y) = 0` contribute 0.

    Parameters
    ----------
    p : array_like, shape (K,)
        A probability vector.
    base : float, optional
        Logarithm base; ``None`` (default) gives nats, ``2`` gives bits.

    Returns
    -------
    float
    """
    p = as_array(p, "p", ndim=1, dims="(K,)")
    check_prob_vector(p, "p")
    return float(-np.sum(xlogy(p, p)) / _log_base(base))


def cross_entropy(p, q, *, base=None) -> float:
    r"""Cross entropy of ``q`` under ``p``, Eq. 4.4.

    .. math:: H_{pq}[\mathbf Y] = -\sum_{\mathbf y} p(\mathbf y)\log q(\mathbf y)

    the average number of questions (bits with ``base=2``) needed when the marble is hidden with
    :math:`p` but the guessing strategy is built for :math:`q` (Section 4.2). It is infinite when
    :math:`q` gives probability zero to an outcome that :math:`p` can produce.

    Parameters
    ----------
    p : array_like, shape (K,)
        The distribution the data come from.
    q : array_like, shape (K,)
        The distribution used to encode them (the model).
    base : float, optional
        Logarithm base; ``None`` for nats.

    Returns
    -------
    float
    """
    p, q = _check_pair(p, q)
    with np.errstate(divide="ignore"):
        return float(-np.sum(xlogy(p, q)) / _log_base(base))


def relative_entropy(p, q, *, base=None) -> float:
    r"""Relative entropy (Kullback-Leibler divergence) :math:`D_{KL}\{p\|q\}`, Eq. 4.5.

    .. math:: D_{KL}\{p(\mathbf Y)\|q(\mathbf Y)\} = H_{pq}[\mathbf Y] - H_p[\mathbf Y]
              = \sum_{\mathbf y} p(\mathbf y)\log\frac{p(\mathbf y)}{q(\mathbf y)} \ \ge\ 0,

    with equality if and only if :math:`p = q` (Gibbs's inequality, from Jensen's inequality). It is
    the number of *extra* questions (bits) paid for guessing with the wrong distribution. Computed
    term by term with ``scipy.special.rel_entr``, so it is never negative because of cancellation.

    Parameters
    ----------
    p, q : array_like, shape (K,)
        Probability vectors. The argument order matters: swap them for the other direction, or use
        :func:`relative_entropies`.
    base : float, optional
        Logarithm base; ``None`` for nats.

    Returns
    -------
    float
        ``inf`` when some outcome has :math:`p > 0` and :math:`q = 0`.
    """
    p, q = _check_pair(p, q)
    return float(np.sum(rel_entr(p, q)) / _log_base(base))


def relative_entropies(p, q, *, base=None) -> RelativeEntropies:
    r"""Both directions, :math:`D_{KL}\{p\|q\}` and :math:`D_{KL}\{q\|p\}` (Eq. 4.5).

    In the marble game of Eqs. 4.1-4.2 both equal 0.25 bits, a coincidence of that example; in
    general they differ.
    """
    p, q = _check_pair(p, q)
    c = _log_base(base)
    return RelativeEntropies(float(np.sum(rel_entr(p, q)) / c), float(np.sum(rel_entr(q, p)) / c))


# ----------------------------------------------------------------------------------------------
# Gaussians, closed form
# ----------------------------------------------------------------------------------------------

def gaussian_entropy(mu, Sigma) -> float:
    r"""Entropy (nats) of :math:`\mathcal N(\boldsymbol\mu,\boldsymbol\Sigma)` in :math:`D` dimensions, in
    closed form: the continuous analogue of Eq. 4.3 (a differential entropy, which can be negative).
    Several exercises ask for it or build on it, so its formula is left to them.
    """
    mu, Sigma, L = _check_gaussian(mu, Sigma, "mu", "Sigma")
    D = mu.shape[0]
    return 0.5 * (D * np.log(TAU) + chol_logdet(L) + D)


def gaussian_cross_entropy(mu_p, Sigma_p, mu_q, Sigma_q) -> float:
    r"""Cross entropy (nats) of :math:`q = \mathcal N(\boldsymbol\mu_q,\boldsymbol\Sigma_q)` under
    :math:`p = \mathcal N(\boldsymbol\mu_p,\boldsymbol\Sigma_p)` (Eq. 4.4 with integrals), in closed
    form: :math:`\mathbb E_p[-\log q(\mathbf Y)]`, whose expected quadratic form follows from
    identity B.13.
    """
    mu_p, Sigma_p, _ = _check_gaussian(mu_p, Sigma_p, "mu_p", "Sigma_p")
    mu_q, Sigma_q, L_q = _check_gaussian(mu_q, Sigma_q, "mu_q", "Sigma_q", D=mu_p.shape[0])
    return _gauss_cross(mu_p, Sigma_p, mu_q, L_q)


def _gauss_cross(mu_p, Sigma_p, mu_q, L_q) -> float:
    D = mu_p.shape[0]
    diff = mu_p - mu_q
    trace = float(np.trace(chol_solve(L_q, Sigma_p)))            # tr[Sigma_q^{-1} Sigma_p]
    maha = float(diff @ chol_solve(L_q, diff))                    # Mahalanobis term
    return 0.5 * (D * np.log(TAU) + chol_logdet(L_q) + trace + maha)


def gaussian_relative_entropy(mu_p, Sigma_p, mu_q, Sigma_q) -> float:
    r"""Relative entropy :math:`D_{KL}\{p\|q\}` (nats) between two Gaussians, Eq. 4.5 in closed form:
    :func:`gaussian_cross_entropy` minus :func:`gaussian_entropy` of :math:`p`.

    Swap the arguments for the other direction; the two differ unless the covariances are equal.
    """
    mu_p, Sigma_p, L_p = _check_gaussian(mu_p, Sigma_p, "mu_p", "Sigma_p")
    mu_q, Sigma_q, L_q = _check_gaussian(mu_q, Sigma_q, "mu_q", "Sigma_q", D=mu_p.shape[0])
    D = mu_p.shape[0]
    diff = mu_q - mu_p
    trace = float(np.trace(chol_solve(L_q, Sigma_p)))
    maha = float(diff @ chol_solve(L_q, diff))
    return max(0.5 * (trace + maha - D + chol_logdet(L_q) - chol_logdet(L_p)), 0.0)


# ----------------------------------------------------------------------------------------------
# Sample averages (the approximation step of Eq. 4.6)
# ----------------------------------------------------------------------------------------------

def _average(values: np.ndarray) -> SampleEstimate:
    N = values.shape[0]
    se = float(np.std(values, ddof=1) / np.sqrt(N)) if N > 1 else float("nan")
    return SampleEstimate(float(np.mean(values)), se, N)


def sample_cross_entropy(log_q) -> SampleEstimate:
    r"""Sample-average estimate of the cross entropy, the third line of Eq. 4.6.

    .. math:: H_{p\hat p}[\mathbf Y;\boldsymbol\theta] \approx
              \big\langle -\log\hat p(\mathbf Y;\boldsymbol\theta)\big\rangle_{\mathbf Y}
              = -\frac1N\sum_{n=1}^N\log\hat p(\mathbf y_n;\boldsymbol\theta),
              \qquad \mathbf y_n \sim p,

    i.e. the average negative log-likelihood. With data drawn from :math:`p` this is a Monte Carlo
    estimate whose standard error is returned too.

    Parameters
    ----------
    log_q : array_like, shape (N,)
        :math:`\log\hat p(\mathbf y_n;\boldsymbol\theta)` (or :math:`\log q(\mathbf y_n)`) at samples
        :math:`\mathbf y_n` of the data distribution. ``-inf`` (zero model probability) is allowed and
        gives an infinite estimate.

    Returns
    -------
    SampleEstimate
    """
    log_q = _check_log_values(log_q, "log_q")
    with np.errstate(invalid="ignore"):
        return _average(-log_q)


def sample_relative_entropy(log_p, log_q) -> SampleEstimate:
    r"""Sample-average estimate of :math:`D_{KL}\{p\|q\}` from samples of :math:`p` (Eq. 4.5).

    .. math:: D_{KL}\{p\|q\} = \mathbb E_{\mathbf Y}\Big[\log\frac{p(\mathbf Y)}{q(\mathbf Y)}\Big]
              \approx \Big\langle \log p(\mathbf Y) - \log q(\mathbf Y)\Big\rangle_{\mathbf Y},
              \qquad \mathbf y_n\sim p.

    Needs :math:`p` in closed form, so it is a check on models rather than a training loss. The
    individual terms can be negative; only the average converges to a non-negative number.

    Parameters
    ----------
    log_p, log_q : array_like, shape (N,)
        Log-densities of the two distributions at the same ``N`` samples drawn from :math:`p`.
    """
    log_p = _check_log_values(log_p, "log_p", allow_neg_inf=False)
    log_q = _check_log_values(log_q, "log_q", N=log_p.shape[0])
    return _average(log_p - log_q)


def _check_log_values(v, name: str, *, N: int | None = None, allow_neg_inf: bool = True) -> np.ndarray:
    dims = "(N,)"
    v = as_array(v, name, ndim=1, dims=dims, finite=False) if N is None else \
        as_array(v, name, shape=(N,), dims=dims, finite=False)
    if v.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample; got shape (0,).")
    bad = np.isnan(v) | (v == np.inf) | ((v == -np.inf) & (not allow_neg_inf))
    if bad.any():
        n = int(np.argmax(bad))
        raise ValueError(f"{name} must hold finite log-densities{'' if not allow_neg_inf else ' (or -inf)'}; "
                         f"entry {n} is {v[n]}.")
    return v


# ----------------------------------------------------------------------------------------------
# Maximum likelihood = minimum cross entropy (Eq. 4.6)
# ----------------------------------------------------------------------------------------------

#: The ``scipy.optimize.minimize`` methods :func:`max_likelihood` accepts: those that use the
#: gradient and stop on its largest entry (option ``gtol``). Upper case; ``method`` is matched
#: without regard to case, as SciPy does.
GRADIENT_METHODS = ("BFGS", "CG", "L-BFGS-B")

def empirical_distribution(y, K: int) -> np.ndarray:
    r"""The data distribution of a sample of category labels: relative frequencies.

    .. math:: p(k) = \big\langle \mathbb 1[Y = k]\big\rangle_Y = \frac{\#\{n : y_n = k\}}{N}

    With this :math:`p`, the exact cross entropy :math:`H_{pq}` *equals* the average negative
    log-likelihood :math:`\langle-\log q(Y)\rangle_Y`, so the "approx." line of the draft's
    maximum-likelihood argument (Section 4.2) is an equality, and the minimizing :math:`q` is
    :math:`p` itself (Gibbs's inequality): the categorical maximum-likelihood estimate is the
    vector of relative frequencies.

    Parameters
    ----------
    y : array_like of int, shape (N,)
        Labels in ``0..K-1``.
    K : int
        Number of categories.
    """
    K = check_int(K, "K", minimum=1)
    y = _check_labels(y, K)
    return np.bincount(y, minlength=K).astype(np.float64) / y.shape[0]


def _check_labels(y, K: int) -> np.ndarray:
    arr = as_array(y, "y", ndim=1, dims="(N,)")
    if arr.shape[0] == 0:
        raise ValueError("y must hold at least one label; got shape (0,).")
    bad = (arr != np.round(arr)) | (arr < 0) | (arr > K - 1)
    if bad.any():
        n = int(np.argmax(bad))
        raise ValueError(f"y must hold integer labels in 0..{K - 1} (K = {K}); entry {n} is {arr[n]:g}.")
    return arr.astype(np.int64)


#: At most this many gradient-judged quasi-Newton steps polish the optimizer's answer in
#: :func:`max_likelihood` (quadratic convergence needs two or three).
_POLISH_STEPS = 20


def max_likelihood(log_phat: Callable, theta0, y, *, grad: Callable | None = None, method: str = "BFGS",
                   gtol: float | None = None, max_iter: int = 1000) -> MaxLikelihoodResult:
    r"""Maximum likelihood as minimum sample cross entropy, Eq. 4.6, with ``scipy.optimize.minimize``.

    .. math:: \boldsymbol\theta^* = \operatorname*{argmin}_{\boldsymbol\theta}
              D_{KL}\{p(\mathbf Y)\|\hat p(\mathbf Y;\boldsymbol\theta)\}
              \approx \operatorname*{argmin}_{\boldsymbol\theta}
              \big\langle -\log\hat p(\mathbf Y;\boldsymbol\theta)\big\rangle_{\mathbf Y}
              = \operatorname*{argmax}_{\boldsymbol\theta}\prod_{n=1}^N\hat p(\mathbf y_n;\boldsymbol\theta).

    The entropy :math:`H_p` does not depend on :math:`\boldsymbol\theta`, so minimizing the relative
    entropy and minimizing the cross entropy are the same problem; replacing the expectation under
    :math:`p` by the sample average over the data makes it maximum likelihood.

    Parameters
    ----------
    log_phat : callable
        ``log_phat(theta, y)`` returns the ``(N,)`` log-densities :math:`\log\hat p(\mathbf y_n;\boldsymbol\theta)`.
        Use an unconstrained parametrization (log-variances, logits).
    theta0 : array_like, shape (P,)
        Starting point.
    y : array_like, shape (N,) or (N, D)
        The data; passed to ``log_phat`` unchanged.
    grad : callable, optional
        ``grad(theta, y)`` returns the ``(P,)`` gradient of the *sum* of ``log_phat`` over the data.
        Without it the gradient is taken by finite differences, which resolve it only to about
        :math:`10^{-8}` relative to the objective, so the default ``gtol`` is looser.
    method : str
        A ``scipy.optimize.minimize`` method that uses gradients and stops on the largest gradient
        entry: one of :data:`GRADIENT_METHODS` (``"BFGS"``, ``"CG"``, ``"L-BFGS-B"``, any
        case); ``"BFGS"`` by default.
    gtol : float, optional
        Stationarity tolerance on the largest gradient entry of the cross entropy: ``1e-8`` with an
        analytic ``grad``, ``1e-6`` without (what finite differences of a float64 objective can
        certify). It is passed to the optimizer and decides ``success``: the stopping rule is our own
        gradient, measured at the answer, whatever the optimizer's own flag. Where the optimizer stops
        because the objective no longer decreases in floating point (BFGS's "precision loss", at a
        gradient of order :math:`\sqrt{\epsilon\,|f|\,h}` for curvature :math:`h`, which can be
        above ``gtol`` on one machine and below on another), up to 20 quasi-Newton steps with the
        optimizer's inverse-Hessian estimate (BFGS, L-BFGS-B) are taken, each kept only if it lowers
        the largest gradient entry: the gradient resolves the optimum to its own rounding, far below
        the default ``gtol``. CG, and a run that used up ``max_iter``, keep the optimizer's answer.
    max_iter : int
        Passed to ``minimize`` as ``options={"maxiter": max_iter}``.

    Returns
    -------
    MaxLikelihoodResult
    """
    if not callable(log_phat):
        raise TypeError(f"log_phat must be a callable log_phat(theta, y); got {type(log_phat).__name__}.")
    theta0 = as_array(theta0, "theta0", ndim=1, dims="(P,)")
    if theta0.shape[0] == 0:
        raise ValueError("theta0 must hold at least one parameter (P >= 1); got shape (0,).")
    y = as_array(y, "y")
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise ValueError(f"y must have shape (N,) or (N, D) with N >= 1; got {y.shape}.")
    if grad is not None and not callable(grad):
        raise TypeError(f"grad must be a callable grad(theta, y) or None; got {type(grad).__name__}.")
    gtol = (1e-8 if grad is not None else 1e-6) if gtol is None else positive_scalar(gtol, "gtol")
    if not isinstance(method, str):
        raise TypeError(f"method must be the name of a scipy.optimize.minimize method, e.g. \"BFGS\"; "
                        f"got {type(method).__name__} {method!r}.")
    if method.upper() not in GRADIENT_METHODS:
        raise ValueError(f"method must be one of {', '.join(GRADIENT_METHODS)} (a scipy.optimize.minimize "
                         f"method that uses the gradient and stops on gtol), in any case; got {method!r}.")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    N, P = y.shape[0], theta0.shape[0]

    def objective(theta):
        ll = np.asarray(log_phat(theta, y), dtype=np.float64)
        if ll.shape != (N,):
            raise ValueError(f"log_phat(theta, y) must return shape (N,) = ({N},); got {ll.shape}.")
        return float(-np.mean(ll))          # <-log phat(Y; theta)>_Y

    def gradient(theta):
        if grad is not None:
            g = np.asarray(grad(theta, y), dtype=np.float64)
            if g.shape != (P,):
                raise ValueError(f"grad(theta, y) must return shape (P,) = ({P},); got {g.shape}.")
            return -g / N
        # Central differences with the step that balances truncation and rounding error.
        h = np.finfo(float).eps ** (1 / 3) * np.maximum(1.0, np.abs(theta))
        g = np.empty(P)
        for i in range(P):
            e = np.zeros(P)
            e[i] = h[i]
            g[i] = (objective(theta + e) - objective(theta - e)) / (2 * h[i])
        return g

    res = optimize.minimize(objective, theta0, jac=gradient, method=method, options={"maxiter": max_iter,
                                                                                     "gtol": gtol})
    theta = np.asarray(res.x, dtype=np.float64)
    g = gradient(theta)
    # Polish where the optimizer's line search gave up: near the optimum the decrease of the objective
    # (of order g^2 / curvature) falls below its rounding before the gradient reaches gtol, so whether
    # the optimizer gets there depends on the machine. The gradient still resolves the optimum: take
    # quasi-Newton steps with the optimizer's inverse-Hessian estimate, each kept only if it lowers
    # the largest gradient entry, until one does not (the gradient's own rounding level).
    H_inv = getattr(res, "hess_inv", None)
    if H_inv is not None and hasattr(H_inv, "todense"):
        H_inv = H_inv.todense()
    out_of_iterations = int(getattr(res, "nit", 0)) >= max_iter      # a starved run stays starved
    if H_inv is not None and np.max(np.abs(g)) > gtol and not out_of_iterations:
        H_inv = np.asarray(H_inv, dtype=np.float64)
        for _ in range(_POLISH_STEPS):
            trial = theta - H_inv @ g
            g_trial = gradient(trial)
            if not np.max(np.abs(g_trial)) < np.max(np.abs(g)):
                break
            theta, g = trial, g_trial
            if np.max(np.abs(g)) <= gtol:
                break
    grad_norm = float(np.max(np.abs(g))) if P else 0.0
    return MaxLikelihoodResult(theta, objective(theta), grad_norm <= gtol, grad_norm,
                               int(getattr(res, "nit", -1)))
