r"""Generalized linear models and iteratively reweighted least squares (book Section 5.1.2).

An exponential family (Eq. 5.11) with natural parameter :math:`\eta`,

.. math:: \check p(x;\eta) = h(x)\exp\{\eta\, t(x) - A(\eta)\},

becomes a GLM when its natural parameter is linear in the inputs, :math:`\eta_n = \mathbf w^T\mathbf x_n`
(Eq. 5.12 with the canonical response function; the book writes :math:`\mathbf d^T\mathbf y_n`, see the
layout table in :mod:`pedagogy_lib.learning.regression`). The mean is :math:`\mu = \lambda(\eta)`, where the
book's :math:`\lambda` is the inverse link (Section 5.1.2, second derivation of IRLS) and the link is
:math:`g = \lambda^{-1}`; the variance is :math:`\phi\,V(\mu)` with dispersion :math:`\phi` (1 for
Bernoulli and Poisson; the book's Eq. 5.12 also calls it :math:`\phi`). For the canonical link,
:math:`d\mu/d\eta = A''(\eta) = V(\mu)`, the quantity the book calls :math:`\sigma^2_{\check x|\check y}`.

=========  =======================  ==================  =================  ==============
family     support of y             canonical link      inverse link       V(mu)
=========  =======================  ==================  =================  ==============
gaussian   real                     identity            :math:`\eta`       1
bernoulli  {0, 1}                   logit               sigmoid            mu (1 - mu)
poisson    0, 1, 2, ...             log                 :math:`e^\eta`     mu
gamma      y > 0                    inverse (1/mu)      :math:`1/\eta`     mu^2
=========  =======================  ==================  =================  ==============

(The Gamma's natural parameter is :math:`-1/\mu`; using :math:`\eta = 1/\mu` only flips the sign of
the coefficients, so the link is still canonical and Newton's method and Fisher scoring coincide.
The ``gamma`` family here regresses the *mean* with a constant shape, the common model that the
draft's Gamma subsection calls "the reverse" case; the draft's own model, which regresses the
*shape* with a known scale, is not implemented here.)

**IRLS** (Eq. 5.14): each Newton step on the cross entropy (Eq. 5.1) is a weighted least-squares
solve (Eq. 5.10) with working response :math:`z_n = \eta_n + (y_n - \mu_n)\,d\eta/d\mu|_n` and
weights :math:`W_n`, which for a canonical link are the book's
:math:`z_n = \eta_n + (y_n-\mu_n)/\sigma_n^2` and :math:`W_n = \sigma_n^2`. For a non-canonical link
(``gamma`` with ``link="log"``, which is what scikit-learn's ``GammaRegressor`` uses) the weights of
the expected Hessian give Fisher scoring (the expected Hessian in place of the observed one, as at
the end of the Gamma section of the draft), which converges only linearly; :func:`irls` uses the
observed Hessian by default (``hessian="observed"``: weights :math:`y_n/\mu_n` for the log-link
Gamma), i.e. true Newton steps. Both reach the same
maximum-likelihood estimate. The dispersion :math:`\phi` cancels from the update.

Safeguards that the draft's "convex, so Newton is guaranteed to converge" (opening of Section 5.1.2)
leaves out: an undamped Newton step can overshoot, and for separable Bernoulli data, or Poisson
data whose fit wants :math:`\mu_n\to0` on some zero counts, the maximum-likelihood estimate does
not exist. :func:`irls` therefore halves any step that increases the deviance or leaves the link's
domain (the inverse link needs :math:`\eta_n > 0` for every sample), emits
:class:`ConvergenceWarning` with the iteration count and the last change when it stops without
converging, and never reports converged when it can certify from its last iterate that no estimate
exists: separated classes (Bernoulli) or zero counts whose means a direction drives to 0 (Poisson);
see :func:`irls`, "Separation". The Gamma and Gaussian families have no such case: with a design of
full column rank (and, for the inverse link, some :math:`\mathbf w` with every
:math:`\eta_n > 0`) each sample's negative log-likelihood grows without bound at both ends of its
range of :math:`\eta_n` (Gamma: :math:`y_n/\mu_n + \log\mu_n` with :math:`y_n > 0`), so the
estimate exists.
"""
from __future__ import annotations

import warnings
from typing import Callable, NamedTuple

import numpy as np
from scipy import linalg as sla
from scipy.special import expit, logit, xlogy

from ..core.checks import positive_scalar, ConvergenceWarning, as_array, check_choice, check_int

__all__ = [
    "ConvergenceWarning",
    "Family",
    "IRLSResult",
    "FAMILIES",
    "LINKS",
    "family",
    "irls",
]


class Family(NamedTuple):
    r"""An exponential family with a link (Section 5.1.2). All functions act element-wise on arrays.

    Attributes
    ----------
    name : str
        ``"gaussian"``, ``"bernoulli"``, ``"poisson"`` or ``"gamma"``.
    link : str
        ``"identity"``, ``"logit"``, ``"log"`` or ``"inverse"``.
    canonical : bool
        Whether ``link`` is the canonical link (then IRLS is exactly Newton-Raphson).
    g : callable
        Link, :math:`\eta = g(\mu)`.
    lam : callable
        Inverse link (the book's :math:`\lambda`), :math:`\mu = \lambda(\eta)`.
    dmu_deta : callable
        :math:`d\mu/d\eta` as a function of :math:`\eta`.
    V : callable
        Variance function of :math:`\mu`: :math:`\mathrm{Var}[\check X] = \phi V(\mu)`.
    deviance : callable
        ``deviance(y, eta)``: :math:`2\sum_n[\log\check p(y_n;\text{saturated}) - \log\check p(y_n;\eta_n)]`
        (times :math:`\phi`), computed from :math:`\eta` for numerical stability.
    eta_ok : callable
        ``eta_ok(eta)``: boolean array, True where :math:`\eta` lies in the link's domain.
    mu_start : callable
        ``mu_start(y)``: starting means for the first IRLS step.
    support : str
        Description of the valid responses, used in error messages.
    d2_obs : callable or None
        ``d2_obs(y, eta)``: the *observed* second derivative of the per-sample negative
        log-likelihood in :math:`\eta` (times :math:`\phi`), i.e. the Newton weight. ``None`` for a
        canonical link, where it equals the expected (Fisher) weight.
    """

    name: str
    link: str
    canonical: bool
    g: Callable
    lam: Callable
    dmu_deta: Callable
    V: Callable
    deviance: Callable
    eta_ok: Callable
    mu_start: Callable
    support: str
    d2_obs: Callable | None = None


class IRLSResult(NamedTuple):
    r"""Result of :func:`irls`.

    Attributes
    ----------
    w : ndarray, shape (M,)
        Coefficients (the book's :math:`\mathbf d`, one row of :math:`\mathbf D`, Eqs. 5.12-5.14).
    intercept : float
        Offset (0.0 unless ``fit_intercept=True``).
    n_iter : int
        Number of weighted least-squares solves performed (the first starts from ``mu_start(y)`` or
        ``w_init``; convergence is declared when a step changes ``w`` by less than ``tol``).
    deviance : ndarray, shape (n_iter,)
        Deviance after each solve; non-increasing.
    converged : bool
    mu : ndarray, shape (N,)
        Fitted means :math:`\lambda(\eta_n)`.
    phi : float
        Dispersion: 1 for Bernoulli and Poisson; for Gaussian and Gamma the Pearson estimate
        :math:`\sum_n (y_n-\mu_n)^2/V(\mu_n) / (N - P)` (``nan`` if :math:`N \le P`).
    """

    w: np.ndarray
    intercept: float
    n_iter: int
    deviance: np.ndarray
    converged: bool
    mu: np.ndarray
    phi: float


# ----------------------------------------------------------------------------------------------
# Family building blocks (element-wise, written in terms of eta where that is more stable)
# ----------------------------------------------------------------------------------------------

def _always(eta):
    return np.ones(np.shape(eta), dtype=bool)


def _exp(eta):
    with np.errstate(over="ignore"):
        return np.exp(eta)


# Gaussian, identity link
def _gauss_dev(y, eta):
    return float(np.sum((y - eta) ** 2))


# Bernoulli, logit link: log mu = -log(1 + e^-eta), log(1 - mu) = -log(1 + e^eta)
def _bern_dmu(eta):
    return expit(eta) * expit(-eta)                  # mu (1 - mu) without cancellation


def _bern_dev(y, eta):
    return float(2.0 * np.sum(y * np.logaddexp(0.0, -eta) + (1.0 - y) * np.logaddexp(0.0, eta)))


# Poisson, log link
def _pois_dev(y, eta):
    mu = _exp(eta)
    with np.errstate(invalid="ignore", over="ignore"):
        return float(2.0 * np.sum(xlogy(y, y) - y * eta - y + mu))


# Gamma: deviance 2 sum[(y - mu)/mu - log(y/mu)]
def _gamma_dev_from_mu(y, mu):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return float(2.0 * np.sum((y - mu) / mu - np.log(y / mu)))


def _gamma_log_dev(y, eta):
    with np.errstate(over="ignore", invalid="ignore"):
        return float(2.0 * np.sum(y * np.exp(-eta) - 1.0 - np.log(y) + eta))


def _gamma_inv_dev(y, eta):
    return _gamma_dev_from_mu(y, 1.0 / eta) if np.all(eta > 0) else float("inf")


def _inv(eta):
    with np.errstate(divide="ignore"):
        return 1.0 / eta


def _neg_inv_sq(eta):
    with np.errstate(divide="ignore"):
        return -1.0 / eta**2


_SUPPORT = {
    "gaussian": "real numbers",
    "bernoulli": "0 or 1",
    "poisson": "non-negative integers",
    "gamma": "positive",
}

#: Allowed links per family; the first is the default (the canonical link).
LINKS = {
    "gaussian": ("identity",),
    "bernoulli": ("logit",),
    "poisson": ("log",),
    "gamma": ("inverse", "log"),
}


def _make(name: str, link: str) -> Family:
    sup = _SUPPORT[name]
    if name == "gaussian" and link == "identity":
        return Family(name, link, True, lambda mu: mu, lambda eta: eta, lambda eta: np.ones_like(eta),
                      lambda mu: np.ones_like(mu), _gauss_dev, _always, lambda y: y.copy(), sup)
    if name == "bernoulli":
        return Family(name, link, True, logit, expit, _bern_dmu, lambda mu: mu * (1.0 - mu), _bern_dev,
                      _always, lambda y: (y + 0.5) / 2.0, sup)
    if name == "poisson":
        return Family(name, link, True, np.log, _exp, _exp, lambda mu: mu, _pois_dev, _always,
                      lambda y: y + 0.1, sup)
    if name == "gamma" and link == "inverse":
        return Family(name, link, True, _inv, _inv, _neg_inv_sq, lambda mu: mu**2, _gamma_inv_dev,
                      lambda eta: eta > 0, lambda y: y.copy(), sup)
    if name == "gamma" and link == "log":
        # per-sample NLL (phi = 1): y e^{-eta} + eta; its second derivative y e^{-eta} = y / mu > 0
        return Family(name, link, False, np.log, _exp, _exp, lambda mu: mu**2, _gamma_log_dev, _always,
                      lambda y: y.copy(), sup, lambda y, eta: y * np.exp(-eta))
    raise AssertionError("unreachable")  # pragma: no cover


def family(name: str, link: str | None = None) -> Family:
    r"""Return the exponential family ``name`` with ``link`` (default: its canonical link).

    Parameters
    ----------
    name : {"gaussian", "bernoulli", "poisson", "gamma"}
    link : str, optional
        ``"identity"`` for gaussian, ``"logit"`` for bernoulli, ``"log"`` for poisson,
        ``"inverse"``/``"log"`` for gamma. The Gamma's canonical inverse link needs a positive linear
        predictor at every sample; ``"log"`` (scikit-learn's choice) has no such constraint.
    """
    check_choice(name, "family", tuple(LINKS))
    allowed = LINKS[name]
    if link is None:
        link = allowed[0]
    if link not in allowed:
        raise ValueError(f"link must be one of {{{', '.join(repr(a) for a in allowed)}}} for the "
                         f"{name.capitalize()} family; got {link!r}.")
    return _make(name, link)


#: The four families with their canonical links.
FAMILIES = {name: _make(name, links[0]) for name, links in LINKS.items()}


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------

def _check_response(y: np.ndarray, fam: Family) -> None:
    if fam.name == "bernoulli":
        bad = (y != 0) & (y != 1)
    elif fam.name == "poisson":
        bad = (y < 0) | (y != np.round(y))
    elif fam.name == "gamma":
        bad = y <= 0
    else:
        return
    if bad.any():
        n = int(np.argmax(bad))
        raise ValueError(f"y must be {fam.support} for the {fam.name.capitalize()} family; entry {n} is {y[n]:g}.")


def _resolve_family(fam) -> Family:
    if isinstance(fam, Family):
        return fam
    if isinstance(fam, str):
        return family(fam)
    raise TypeError(f"family must be a Family (see glm.family) or a family name; got {type(fam).__name__}.")


# ----------------------------------------------------------------------------------------------
# IRLS (Eq. 5.14)
# ----------------------------------------------------------------------------------------------

def _wls_solve(X, y, eta, fam: Family, observed: bool = True) -> np.ndarray:
    r"""One IRLS update: weighted least squares with working response z and weights W (Eq. 5.14).

    Solved as ordinary least squares on the whitened system :math:`\sqrt W X, \sqrt W z`, which has
    the same normal equations as Eq. 5.14 but never forms :math:`X^T W X`. The whitened response is
    written so that a zero weight never divides.
    """
    mu = fam.lam(eta)
    dmu = fam.dmu_deta(eta)
    # Canonical link: V(mu) = |dmu/deta| (= A''(eta)), computed from eta without cancellation
    # (for the Bernoulli family 1 - mu rounds to 0 long before mu (1 - mu) underflows).
    V = np.abs(dmu) if fam.canonical else fam.V(mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        sqrtW = np.where(V > 0, np.abs(dmu) / np.sqrt(V), 0.0)  # sqrt((dmu/deta)^2 / V)
    with np.errstate(divide="ignore", invalid="ignore"):
        # sqrt(W) z = sqrt(W) eta + sign(dmu/deta) (y - mu) / sqrt(V)
        r = sqrtW * eta + np.sign(dmu) * (y - mu) / np.sqrt(V)
    r = np.where(sqrtW > 0, r, 0.0)
    if observed and fam.d2_obs is not None:
        # Newton with the observed Hessian: weights d2 = d^2(-log p)/deta^2, and
        # sqrt(W) z = sqrt(W) eta + score / sqrt(W), score = (y - mu) (dmu/deta) / V.
        W_obs = fam.d2_obs(y, eta)
        if np.all(np.isfinite(W_obs)) and np.all(W_obs > 0):
            sqrtW = np.sqrt(W_obs)
            r = sqrtW * eta + (y - mu) * dmu / V / sqrtW
    w, *_ = sla.lstsq(sqrtW[:, None] * X, r, check_finite=False)
    return w


#: Machine epsilon, and the multiple of it (times the deviance) within which a change of the
#: deviance is rounding: the "no longer decreases" rule of :func:`irls`.
_EPS = float(np.finfo(float).eps)
_ROUNDING_ULPS = 64.0
#: A sample is saturated when its fit is within sqrt(eps) of the bound it is pushed towards: a
#: Bernoulli margin (2y - 1) eta above this (mean within sqrt(eps) of the output), or a Poisson
#: sample with y = 0 whose eta lies this far below the log of the mean count (mean below sqrt(eps)
#: times the mean count).
_SATURATED = 0.5 * float(np.log(1.0 / _EPS))


def _unbounded_direction(X: np.ndarray, w: np.ndarray, saturated: np.ndarray, sign) -> bool:
    r"""Whether a direction :math:`\mathbf v` leaves the unsaturated rows of ``X`` unchanged and has
    the sign ``sign`` on every saturated one: :math:`\mathbf x_n^T\mathbf v = 0` (to rounding) for
    each ``~saturated`` sample and ``sign * x_n^T v > 0`` for each ``saturated`` one.

    The candidate is the projection of ``w`` (the last iterate, which has been moving along such a
    direction) onto the null space of the unsaturated rows, columns scaled to unit norm so that the
    rank test is scale-free. ``sign`` is a scalar or an array over the saturated samples.
    """
    rest = ~saturated
    n_rest = int(rest.sum())
    if n_rest == len(saturated):
        return False
    scale = np.linalg.norm(X, axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    Xs = X / scale                                   # unit columns: the rank test is scale-free
    if n_rest:
        # all P right singular vectors, without the (n_rest, n_rest) left ones when n_rest >= P
        _, sv, Vt = np.linalg.svd(Xs[rest], full_matrices=n_rest < X.shape[1])
        rank = int(np.sum(sv > max(Xs[rest].shape) * _EPS * sv[0])) if sv.size else 0
        null = Vt[rank:]                             # orthonormal basis of the rows' null space
    else:
        null = np.eye(X.shape[1])                    # no other rows: every direction is free
    if null.shape[0] == 0:
        return False
    v = null.T @ (null @ (w * scale))                # w's component in that null space
    t = sign * (Xs[saturated] @ v)
    bound = _ROUNDING_ULPS * _EPS * (np.abs(Xs[saturated]) @ np.abs(v))
    return bool(np.all(t > bound))


def _separation(X: np.ndarray, y: np.ndarray, eta: np.ndarray, w: np.ndarray) -> str | None:
    """A checked certificate that Bernoulli data are separated, read off the last IRLS iterate.

    Returns ``None`` when none is found, else a clause naming the kind of separation (see
    :func:`irls`, "Separation").
    """
    sign = 2.0 * y - 1.0
    margin = sign * eta
    if np.all(margin > 0):
        return ("the classes are completely separated: the last w classifies every sample "
                "correctly, and scaling it up lowers the deviance towards 0")
    saturated = margin > _SATURATED
    if not _unbounded_direction(X, w, saturated, sign[saturated]):
        return None
    n_sat = int(saturated.sum())
    return (f"the classes are quasi-completely separated: {n_sat} samples are fitted to "
            f"rounding and a direction that leaves the other {len(y) - n_sat} unchanged raises their "
            "likelihood without bound")


def _sample_list(idx: np.ndarray, shown: int = 5) -> str:
    head = ", ".join(str(int(i)) for i in idx[:shown])
    return head + (f", ... ({len(idx)} in all)" if len(idx) > shown else "")


def _zero_counts(X: np.ndarray, y: np.ndarray, eta: np.ndarray, w: np.ndarray) -> str | None:
    """A checked certificate that a Poisson fit has no maximum-likelihood estimate because some
    zero counts can be fitted ever closer to mean 0, read off the last IRLS iterate.

    Returns ``None`` when none is found, else a clause naming the samples (see :func:`irls`,
    "Separation").
    """
    zero = y == 0
    if not zero.any():
        return None
    if zero.all():
        if np.all(eta < 0):
            return ("every count is 0 and the last w gives every sample a negative eta: scaling "
                    "it up lowers every mean towards 0")
        ref = float(np.max(eta))                     # no mean count: the largest fitted mean
    else:
        ref = float(np.log(np.mean(y)))
    saturated = zero & (eta < ref - _SATURATED)
    if not saturated.any() or not _unbounded_direction(X, w, saturated, -1.0):
        return None
    idx = np.flatnonzero(saturated)
    return (f"the samples {_sample_list(idx)} have y = 0 and a direction lowers their means "
            f"towards 0 without changing the fit of the other {len(y) - len(idx)}")


#: The families whose maximum-likelihood estimate can fail to exist, and their certificates.
_NO_MLE = {"bernoulli": _separation, "poisson": _zero_counts}


def irls(X, y, family, *, fit_intercept: bool = False, max_iter: int = 100, tol: float = 1e-8,
         w_init=None, hessian: str = "observed", max_halvings: int = 30) -> IRLSResult:
    r"""Fit a GLM by iteratively reweighted least squares (Section 5.1.2, Eq. 5.14).

    It minimizes the sample cross entropy of Eq. 5.1 for the GLM of Eq. 5.12 (canonical links) or
    its non-canonical variant; each step is the Newton step built on the gradient of Eq. 5.13.

    Each iteration solves the weighted least-squares problem (cf. Eq. 5.10)

    .. math:: \mathbf w^{(i+1)} = \big(\mathbf X^T\mathbf W^{(i)}\mathbf X\big)^{-1}
              \mathbf X^T\mathbf W^{(i)}\mathbf z^{(i)},
              \qquad z_n = \eta_n + (y_n-\mu_n)\,\frac{d\eta}{d\mu},

    with :math:`W_n` the weights of the expected (Fisher) or the observed Hessian in :math:`\eta_n`
    (``hessian``), which for the canonical link coincide; then it is a Newton-Raphson step (Eq. 5.7)
    on the sample cross entropy
    :math:`\langle -\log\check p(X\mid\mathbf Y;\mathbf w)\rangle`, with
    :math:`W_n = \sigma^2_{\check x|\check y} = A''(\eta_n)` (Eq. 5.14; Poisson: the update in the
    draft's "IRLS for the Poisson distribution", with :math:`W_n = e^{\eta_n}`; Bernoulli, the section
    the draft leaves empty: :math:`W_n = \mu_n(1-\mu_n)`, :math:`z_n = \eta_n + (y_n-\mu_n)/(\mu_n(1-\mu_n))`).

    The first solve starts from the family's ``mu_start(y)`` (or from ``w_init``). A step that
    increases the deviance, makes it non-finite, or leaves the link's domain is halved (up to
    ``max_halvings`` times). Convergence, whichever comes first:

    * the step is small, :math:`\max_j|\Delta w_j| \le \mathrm{tol}\,(1 + \max_j|w_j|)`;
    * the deviance no longer decreases: a full (unhalved) step lowers it by at most
      :math:`64\epsilon\,D` (:math:`\epsilon` the machine epsilon, :math:`D` the deviance, a sum of
      non-negative unit deviances, so :math:`64\epsilon D` bounds its rounding). For the Newton step
      the decrease is half the Newton decrement :math:`\mathbf g^T\mathbf H^{-1}\mathbf g`, so this
      is the attainable minimum: the step itself can then be rounding noise of size
      :math:`\epsilon\,\kappa(\mathbf X^T\mathbf W\mathbf X)\,|\mathbf w|`, above ``tol`` for an
      ill-conditioned design on some machines and not on others, which the first rule alone would
      report as a failure.

    **Separation** (Bernoulli and Poisson families). When the maximum-likelihood estimate does not
    exist the deviance falls towards its infimum as :math:`|\mathbf w|` grows along some direction,
    and once the samples that direction moves are fitted to rounding the steps stop changing the
    deviance, so the second rule above would fire. Whenever the iteration stops (either rule,
    ``max_iter``, or a stalled step), :func:`irls` looks for a certificate of non-existence in the
    last iterate and, if it finds one, returns ``converged=False`` and emits a
    :class:`ConvergenceWarning` that names it. Both families share one test: split the samples into
    the *saturated* ones :math:`S` (fitted to within a factor :math:`\sqrt\epsilon` of the bound they
    are pushed towards) and the rest :math:`R`, and project :math:`\mathbf w` onto the null space of
    the rows of :math:`R` (columns scaled to unit norm, so the test is scale-free); if the projection
    :math:`\mathbf v` has the required sign :math:`s_n` on every saturated sample,
    :math:`s_n\mathbf x_n^T\mathbf v > 0`, moving along :math:`\mathbf v` improves the fit of
    :math:`S` and leaves that of :math:`R` unchanged (to rounding: :math:`\mathbf v` is a numerical
    null vector), so no finite optimum exists.

    * Bernoulli, *complete* separation: every margin :math:`(2y_n-1)\,\eta_n` is positive, i.e. the
      last :math:`\mathbf w` itself classifies every sample correctly, so :math:`t\mathbf w` with
      :math:`t\to\infty` lowers the deviance towards 0 (exact: a sign check with no tolerance).
    * Bernoulli, *quasi-complete* separation: :math:`S` holds the samples whose margins exceed
      :math:`\tfrac12\log(1/\epsilon)\approx18` (fitted mean within :math:`\sqrt\epsilon` of the
      output), and :math:`s_n = 2y_n - 1`.
    * Poisson (log link), zero counts: :math:`S` holds the samples with :math:`y_n = 0` whose fitted
      mean is below :math:`\sqrt\epsilon` times the mean count :math:`\bar y` (i.e.
      :math:`\eta_n < \log\bar y - 18`), and :math:`s_n = -1`: the direction lowers their means
      towards 0, where their unit deviance :math:`2\mu_n` tends to its infimum 0. For example an
      indicator column that is 1 exactly on a group of zero counts, whose coefficient runs to
      :math:`-\infty`. If every count is 0, the last :math:`\mathbf w` giving every sample a
      negative :math:`\eta_n` is itself the certificate (exact, as for complete separation);
      failing that, the largest fitted mean stands in for :math:`\bar y`.

    The certificate is checked, so a fit whose estimate exists is never reported as non-existent;
    it can be missed only if the deviance of :math:`R` is so large (over about :math:`10^6` per
    sample of :math:`S`, times :math:`\bar y` for the Poisson family) that the second rule fires
    before the samples of :math:`S` saturate. The Gamma and Gaussian families need no check (see
    the module docstring).

    Parameters
    ----------
    X : array_like, shape (N, M)
        Inputs, one sample per row (the book's :math:`\mathbf Y^T`); include a column of ones or set
        ``fit_intercept``.
    y : array_like, shape (N,)
        Responses, in the family's support.
    family : str or Family
        ``"bernoulli"``, ``"poisson"``, ``"gamma"``, ``"gaussian"`` (canonical links), or the result
        of :func:`family` for another link, e.g. ``family("gamma", "log")``.
    fit_intercept : bool
        Append an (unpenalized) column of ones and report its coefficient as ``intercept``.
    max_iter : int
        Maximum number of weighted least-squares solves.
    tol : float
        Relative tolerance on the change of ``w`` (see the convergence rules above).
    w_init : array_like, shape (M,) (or (M + 1,) with the intercept last), optional
        Starting coefficients instead of ``mu_start``; must give a valid linear predictor.
    hessian : {"observed", "expected"}
        Only matters for a non-canonical link (``gamma`` with ``"log"``): ``"observed"`` (default)
        takes true Newton steps (quadratic convergence, like scikit-learn's ``newton-cholesky``
        solver), falling back to the expected Hessian at an iteration where an observed weight is not
        positive; ``"expected"`` is Fisher scoring (linear convergence). The draft's Gamma section
        (its observed and expected Hessians) contrasts the two. For canonical links they coincide.
    max_halvings : int
        Maximum number of step halvings per iteration.

    Returns
    -------
    IRLSResult

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` is reached, or no halving of the step decreases the deviance, before
        convergence; the message gives the iteration count and the last change. Also, whichever
        rule stopped the iteration, when the maximum-likelihood estimate is certified not to exist
        (see "Separation" above): for the Bernoulli family the message names the kind of
        separation, for the Poisson family the zero counts whose means run to 0.
    """
    fam = _resolve_family(family)
    X = as_array(X, "X", ndim=2, dims="(N, M)")
    N, M = X.shape
    if N == 0 or M == 0:
        raise ValueError(f"X must have at least one row and one column; got shape ({N}, {M}).")
    y = as_array(y, "y", shape=(N,), dims="(N,)")
    _check_response(y, fam)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    max_halvings = check_int(max_halvings, "max_halvings", minimum=0)
    tol = positive_scalar(tol, "tol")
    observed = check_choice(hessian, "hessian", ("observed", "expected")) == "observed"
    Xd = np.hstack([X, np.ones((N, 1))]) if fit_intercept else X
    P = Xd.shape[1]

    if w_init is None:
        mu0 = fam.mu_start(y)
        w = _wls_solve(Xd, y, fam.g(mu0), fam, observed)         # first WLS solve
        n_iter = 1
    else:
        w = as_array(w_init, "w_init", shape=(P,), dims="(M + 1,)" if fit_intercept else "(M,)")
        n_iter = 0
    eta = Xd @ w
    if not np.all(fam.eta_ok(eta)):
        n = int(np.argmax(~fam.eta_ok(eta)))
        where = "w_init" if w_init is not None else "the starting fit"
        raise ValueError(f"{where} gives eta = {eta[n]:.3g} at sample {n}, outside the domain of the "
                         f"{fam.link} link of the {fam.name.capitalize()} family (needs eta > 0); "
                         "pass a valid w_init or use link='log'.")
    dev = fam.deviance(y, eta)
    history = [dev] if n_iter else []
    converged = False
    change = np.inf
    stalled = False

    while n_iter < max_iter:
        step = _wls_solve(Xd, y, eta, fam, observed) - w
        n_iter += 1
        for halvings in range(max_halvings + 1):
            eta_new = Xd @ (w + step)
            ok = bool(np.all(fam.eta_ok(eta_new)))
            dev_new = fam.deviance(y, eta_new) if ok else np.inf
            if np.isfinite(dev_new) and dev_new <= dev + 1e-12 * (abs(dev) + 1.0):
                break
            step = step / 2.0
        else:
            stalled = True
            history.append(dev)
            break
        w = w + step
        dev_drop = dev - dev_new
        eta, dev = eta_new, dev_new
        history.append(dev)
        change = float(np.max(np.abs(step)) / (1.0 + np.max(np.abs(w))))
        # the deviance's rounding: a few ulps of its (non-negative) terms' sum
        flat = halvings == 0 and dev_drop <= _ROUNDING_ULPS * _EPS * max(abs(dev_drop + dev), abs(dev))
        if change <= tol or flat:
            converged = True
            break

    certificate = _NO_MLE.get(fam.name)
    separated = certificate(Xd, y, eta, w) if certificate is not None else None
    if separated is not None:
        converged = False
        warnings.warn(f"IRLS did not converge after {n_iter} iterations: {separated}, so the "
                      "maximum-likelihood estimate does not exist (|w| grows without bound; "
                      f"now {np.max(np.abs(w)):.3g}). A ridge penalty or prior restores a finite "
                      "optimum.", ConvergenceWarning, stacklevel=2)
    elif not converged:
        why = (f"no step halving decreased the deviance at iteration {n_iter}" if stalled
               else f"reached max_iter = {max_iter}")
        hint = (" For the Bernoulli family this usually means the classes are (nearly) separable, so the "
                "maximum-likelihood estimate does not exist (|w| grows without bound)."
                if fam.name == "bernoulli" and not stalled else "")
        last = (f"last relative change in w {change:.3g} > tol {tol:.3g}" if np.isfinite(change)
                else "no step was accepted")
        warnings.warn(f"IRLS did not converge after {n_iter} iterations ({why}; {last}).{hint}",
                      ConvergenceWarning, stacklevel=2)

    mu = fam.lam(eta)
    if fam.name in ("gaussian", "gamma"):
        phi = float(np.sum((y - mu) ** 2 / fam.V(mu)) / (N - P)) if N > P else float("nan")
    else:
        phi = 1.0
    if fit_intercept:
        return IRLSResult(w[:-1].copy(), float(w[-1]), n_iter, np.asarray(history), converged, mu, phi)
    return IRLSResult(w, 0.0, n_iter, np.asarray(history), converged, mu, phi)
