r"""Independent-components analysis as maximum likelihood in a generative model (Sections 9.0.1 and 9.1).

The generative model is :math:`\hat{\mathbf y} = \mathbf C\hat{\mathbf x} = \mathbf D^{-1}\hat{\mathbf x}`
with a square, invertible :math:`\mathbf D` and independent sources :math:`\hat x_k` whose densities are
the derivatives :math:`\psi_k'` of CDFs :math:`\psi_k` (Eq. 9.2). The change of variables (Eq. 9.3)
gives the marginal of Eq. 9.5,

.. math:: \hat p(\mathbf y;\mathbf D) = \prod_{k=1}^K\psi_k'(\mathbf d_k^T\mathbf y)\,|\mathbf D|,

so minimizing :math:`\DKL\{p(\mathbf Y)\|\hat p(\mathbf Y;\mathbf D)\}` is maximum likelihood. With the
logistic :math:`\psi` this is InfoMax ICA of Section 5.2.1, whose code (objective, gradient, natural
gradient, Amari index, source laws) lives in :mod:`pedagogy_lib.nn.infomax` and is reused here. This
module adds what Section 9.1 needs: a **choice of source prior** (the point of the section is that
the choice matters), the generative reading, and a fix for sources the logistic prior cannot separate.

**Priors** (``prior=``), each a normalized density :math:`\hat p(x) = \psi'(x)` with score
:math:`g(x) = d\log\hat p/dx`:

* ``"logistic"``: :math:`\psi'(x) = \psi(x)(1-\psi(x))`, :math:`g = 1-2\psi(x)` (InfoMax; super-Gaussian,
  positive excess kurtosis);
* ``"gaussian"``: standard normal, :math:`g = -x`. Then :math:`\hat p(\mathbf y)` is the normal density with
  covariance :math:`\mathbf D^{-1}\mathbf D^{-T} = (\mathbf D^T\mathbf D)^{-1}` (the draft prints
  :math:`\mathbf D^T\mathbf D^{-1}`), which depends on :math:`\mathbf D` only through :math:`\mathbf D^T\mathbf D`:
  every :math:`\mathbf R\boldsymbol\Sigma^{-1/2}` with :math:`\mathbf R` orthogonal is a maximum, not only the
  draft's :math:`\mathbf D^* = \E[\mathbf Y\mathbf Y^T]^{-1/2}`;
* ``"super"`` and ``"sub"``: the pair used by extended InfoMax (Lee, Girolami and Sejnowski 1999),
  :math:`\hat p_\kappa(x)\propto\exp(-x^2/2)\cosh(x)^{-\kappa}` with :math:`\kappa = +1` (super-Gaussian,
  a normal density times :math:`\mathrm{sech}\,x`) or :math:`\kappa = -1` (sub-Gaussian: exactly the
  bimodal mixture :math:`\tfrac12\mathcal N(-1,1)+\tfrac12\mathcal N(1,1)`). Score
  :math:`g_\kappa(x) = -x - \kappa\tanh x`.

**Natural gradient.** With :math:`\check{\mathbf X} = \mathbf D\mathbf Y`,

.. math:: \frac{d\mathcal J}{d\mathbf D} = \langle g(\mathbf D\mathbf Y)\mathbf Y^T\rangle + \mathbf D^{-T},
          \qquad
          \frac{d\mathcal J}{d\mathbf D}\mathbf D^T\mathbf D = \big(\mathbf I + \langle g(\check{\mathbf X})\check{\mathbf X}^T\rangle\big)\mathbf D .

**Extended InfoMax** picks :math:`\kappa_k` per output from the data: :math:`\kappa_k = \mathrm{sign}\big(
\E[\mathrm{sech}^2\check x_k]\E[\check x_k^2] - \E[\tanh(\check x_k)\check x_k]\big)`, the sign of the
stability condition for the :math:`\tanh` nonlinearity; the update is then
:math:`\Delta\mathbf D\propto(\mathbf I - \mathbf K\langle\tanh(\check{\mathbf X})\check{\mathbf X}^T\rangle - \langle\check{\mathbf X}\check{\mathbf X}^T\rangle)\mathbf D`,
the natural gradient above with :math:`\mathbf K = \mathrm{diag}(\kappa)`.

Layout: one sample per **row**, ``Y`` of shape ``(N, K)`` (the book's :math:`\mathbf Y^T`), sources
``X = Y @ D.T``; mixing matrix ``C`` (:math:`\mathbf y = \mathbf C\mathbf s`). Data should have zero mean.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import integrate

from ..core.checks import DivergenceError, as_array, check_choice, check_int, check_rng, positive_scalar
from ..nn.infomax import check_unmixing, log_dpsi

__all__ = [
    "PRIORS",
    "ICAResult",
    "log_prior",
    "prior_score",
    "log_likelihood",
    "log_likelihood_gradient",
    "natural_gradient",
    "switching_signs",
    "fit_ica",
    "extended_infomax",
    "whitening_matrix",
    "gaussian_model_covariance",
]

#: Source priors :math:`\psi'` offered by :func:`log_prior`.
PRIORS = ("logistic", "gaussian", "super", "sub")

_LOG_TAU = float(np.log(2.0 * np.pi))


class ICAResult(NamedTuple):
    r"""Result of :func:`fit_ica` and :func:`extended_infomax`.

    Attributes
    ----------
    D : ndarray, shape (K, K)
        Final unmixing matrix.
    log_likelihood : ndarray, shape (n_epochs + 1,)
        Average log-likelihood (Eq. 9.5) on the whole data set before the first update and after
        every epoch, under the prior in force at that moment.
    D_history : ndarray, shape (n_epochs + 1, K, K)
        The unmixing matrix at the same moments.
    kappa : ndarray, shape (n_epochs + 1, K)
        Prior per output at those moments: +1 super-Gaussian, -1 sub-Gaussian; for a fixed prior
        :func:`fit_ica` fills it with 0.
    """

    D: np.ndarray
    log_likelihood: np.ndarray
    D_history: np.ndarray
    kappa: np.ndarray


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------

def _check_Y(Y) -> np.ndarray:
    Y = as_array(Y, "Y", ndim=2, dims="(N, K)", nonempty=True)
    if Y.shape[1] < 1:
        raise ValueError(f"Y must have at least one column; got shape {Y.shape}.")
    return Y


def _check_D(D, K: int, name: str = "D") -> np.ndarray:
    return check_unmixing(D, K, name, equation="Eq. 9.5")


def _check_kappa(kappa, K: int) -> np.ndarray:
    kappa = as_array(kappa, "kappa", shape=(K,), dims="(K,)")
    if not np.all(np.isin(kappa, (-1.0, 1.0))):
        raise ValueError(f"kappa must hold only +1 (super-Gaussian) and -1 (sub-Gaussian); got {kappa}.")
    return kappa


# ----------------------------------------------------------------------------------------------
# Priors
# ----------------------------------------------------------------------------------------------

def _log_cosh(x):
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


_LOG_Z_SUPER = float(np.log(integrate.quad(lambda x: np.exp(-0.5 * x * x - _log_cosh(x)), -np.inf, np.inf,
                                           epsabs=1e-13, epsrel=1e-13)[0]))
_LOG_Z_SUB = 0.5 * _LOG_TAU + 0.5            # integral of exp(-x^2/2) cosh(x) = sqrt(2 pi) e^{1/2}


def _log_prior(x, prior, kappa=None):
    if prior == "logistic":
        return log_dpsi(x)
    if prior == "gaussian":
        return -0.5 * x * x - 0.5 * _LOG_TAU
    if prior == "super":
        return -0.5 * x * x - _log_cosh(x) - _LOG_Z_SUPER
    if prior == "sub":
        return -0.5 * x * x + _log_cosh(x) - _LOG_Z_SUB
    # "kappa": column k uses kappa[k]
    return np.where(kappa > 0, -0.5 * x * x - _log_cosh(x) - _LOG_Z_SUPER,
                    -0.5 * x * x + _log_cosh(x) - _LOG_Z_SUB)


def _score(x, prior, kappa=None):
    if prior == "logistic":
        return -np.tanh(0.5 * x)                              # = 1 - 2 psi(x), with no cancellation near 0
    if prior == "gaussian":
        return -x
    if prior == "super":
        return -x - np.tanh(x)
    if prior == "sub":
        return -x + np.tanh(x)
    return -x - kappa * np.tanh(x)


def log_prior(x, prior: str = "logistic") -> np.ndarray:
    r"""Element-wise log source density :math:`\log\psi'(x)` of Eq. 9.2 for the named ``prior``.

    Every prior is a normalized density on the real line (see the module docstring).
    """
    check_choice(prior, "prior", PRIORS)
    return _log_prior(as_array(x, "x"), prior)


def prior_score(x, prior: str = "logistic") -> np.ndarray:
    r"""Element-wise score :math:`g(x) = \frac{d}{dx}\log\psi'(x)` of the named ``prior``."""
    check_choice(prior, "prior", PRIORS)
    return _score(as_array(x, "x"), prior)


# ----------------------------------------------------------------------------------------------
# Likelihood and gradients (Eq. 9.5 and the gradient after it)
# ----------------------------------------------------------------------------------------------

def _loglik(D, Y, prior, kappa=None):
    X = Y @ D.T
    return float(_log_prior(X, prior, kappa).sum(axis=1).mean()) + float(np.linalg.slogdet(D)[1])


def _prior_args(prior, kappa, K):
    if kappa is not None:
        if prior != "logistic":
            raise ValueError("give either prior or kappa (a per-output choice of 'super'/'sub'), not both; "
                             f"got prior={prior!r} and kappa.")
        return "kappa", _check_kappa(kappa, K)
    return check_choice(prior, "prior", PRIORS), None


def log_likelihood(D, Y, prior: str = "logistic", *, kappa=None) -> float:
    r"""Average log-likelihood :math:`\mathcal J(\mathbf D) = \langle\log\hat p(\mathbf Y;\mathbf D)\rangle` of Eq. 9.5.

    .. math:: \mathcal J(\mathbf D) = \Big\langle\sum_k\log\psi_k'(\mathbf d_k^T\mathbf Y)\Big\rangle + \log|\det\mathbf D|.

    The log of the change of variables of Eq. 9.3 for :math:`\mathbf d(\mathbf y) = \mathbf D\mathbf y`, averaged;
    minus the relative entropy of Eq. 9.4 up to the data entropy. With ``prior="logistic"`` it
    equals :func:`pedagogy_lib.nn.infomax.objective`.

    Parameters
    ----------
    D : array_like, shape (K, K)
        Unmixing matrix; :math:`\mathbf C = \mathbf D^{-1}`.
    Y : array_like, shape (N, K)
        Zero-mean data, one sample per row.
    prior : {"logistic", "gaussian", "super", "sub"}
        The source density used for every output.
    kappa : array_like of +1/-1, shape (K,), optional
        Instead of ``prior``: output ``k`` uses ``"super"`` if ``kappa[k] = 1`` and ``"sub"`` if -1.
    """
    Y = _check_Y(Y)
    D = _check_D(D, Y.shape[1])
    prior, kappa = _prior_args(prior, kappa, Y.shape[1])
    return _loglik(D, Y, prior, kappa)


def _gradient(D, Y, prior, kappa=None):
    return _score(Y @ D.T, prior, kappa).T @ Y / Y.shape[0] + np.linalg.solve(D.T, np.eye(D.shape[0]))


def _natural_gradient(D, Y, prior, kappa=None):
    X = Y @ D.T
    return (np.eye(D.shape[0]) + _score(X, prior, kappa).T @ X / Y.shape[0]) @ D


def log_likelihood_gradient(D, Y, prior: str = "logistic", *, kappa=None) -> np.ndarray:
    r"""Gradient of :func:`log_likelihood`: :math:`\langle g(\mathbf D\mathbf Y)\mathbf Y^T\rangle + \mathbf D^{-T}`.

    The gradient of the relative entropy in Section 9.1 is its negative. Entry ``[k, j]`` is
    :math:`\partial\mathcal J/\partial D_{kj}`; row ``k`` is the derivative with respect to the row
    :math:`\mathbf d_k^T`.
    """
    Y = _check_Y(Y)
    D = _check_D(D, Y.shape[1])
    prior, kappa = _prior_args(prior, kappa, Y.shape[1])
    return _gradient(D, Y, prior, kappa)


def natural_gradient(D, Y, prior: str = "logistic", *, kappa=None) -> np.ndarray:
    r"""Natural (relative) gradient :math:`\frac{d\mathcal J}{d\mathbf D}\mathbf D^T\mathbf D = (\mathbf I + \langle g(\check{\mathbf X})\check{\mathbf X}^T\rangle)\mathbf D`."""
    Y = _check_Y(Y)
    D = _check_D(D, Y.shape[1])
    prior, kappa = _prior_args(prior, kappa, Y.shape[1])
    return _natural_gradient(D, Y, prior, kappa)


def _signs(X):
    t = np.tanh(X)
    crit = np.mean(1.0 - t * t, axis=0) * np.mean(X * X, axis=0) - np.mean(t * X, axis=0)
    return np.where(crit > 0, 1.0, -1.0)


def switching_signs(X) -> np.ndarray:
    r"""Extended InfoMax's choice of prior per output (Lee, Girolami and Sejnowski 1999).

    .. math:: \kappa_k = \mathrm{sign}\big(\langle\mathrm{sech}^2\check x_k\rangle\langle\check x_k^2\rangle
              - \langle\tanh(\check x_k)\check x_k\rangle\big),

    +1 (use the super-Gaussian prior) for heavy-tailed outputs and -1 (sub-Gaussian) for light-tailed
    ones; a tie is sent to -1.

    Parameters
    ----------
    X : array_like, shape (N, K)
        Current outputs :math:`\check{\mathbf x} = \mathbf D\mathbf y`, one per row.
    """
    return _signs(as_array(X, "X", ndim=2, dims="(N, K)", nonempty=True))


# ----------------------------------------------------------------------------------------------
# Learning
# ----------------------------------------------------------------------------------------------

def _run(Y, rng, D_init, n_epochs, batch_size, lr, prior, adapt):
    Y = _check_Y(Y)
    N, K = Y.shape
    rng = check_rng(rng)
    D = np.eye(K) if D_init is None else _check_D(D_init, K, "D_init").copy()
    n_epochs = check_int(n_epochs, "n_epochs", minimum=1)
    B = N if batch_size is None else check_int(batch_size, "batch_size", minimum=1, maximum=N)
    lr = positive_scalar(lr, "lr")

    def kappa_of(D_):
        return _signs(Y @ D_.T) if adapt else np.zeros(K)

    def ll(D_, kap):
        return _loglik(D_, Y, "kappa", kap) if adapt else _loglik(D_, Y, prior)

    kap = kappa_of(D)
    hist, Ds, kaps = [ll(D, kap)], [D.copy()], [kap.copy()]
    for _ in range(n_epochs):
        order = rng.permutation(N) if B < N else np.arange(N)
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, N, B):
                Yb = Y[order[start:start + B]]
                if adapt:
                    kb = _signs(Yb @ D.T)
                    D = D + lr * _natural_gradient(D, Yb, "kappa", kb)
                else:
                    D = D + lr * _natural_gradient(D, Yb, prior)
        if not np.all(np.isfinite(D)) or np.linalg.svd(D, compute_uv=False)[-1] == 0.0:
            raise DivergenceError(f"ICA diverged (D is not finite or singular); reduce lr (now {lr:g}) or "
                                  f"rescale Y (largest |Y| = {np.max(np.abs(Y)):.3g}).")
        kap = kappa_of(D)
        hist.append(ll(D, kap))
        Ds.append(D.copy())
        kaps.append(kap.copy())
    return ICAResult(D, np.asarray(hist), np.asarray(Ds), np.asarray(kaps))


def fit_ica(Y, *, rng, prior: str = "logistic", D_init=None, n_epochs: int = 20,
            batch_size: int | None = 100, lr: float = 0.05) -> ICAResult:
    r"""Maximum-likelihood ICA (Eq. 9.5) with a fixed source prior, by natural-gradient ascent.

    Each epoch visits the samples in a random order (from ``rng``) in minibatches and steps
    :math:`\mathbf D\leftarrow\mathbf D + \eta(\mathbf I + \langle g(\check{\mathbf X})\check{\mathbf X}^T\rangle_\text{batch})\mathbf D`.
    With ``prior="logistic"`` this is the natural-gradient InfoMax of
    :func:`pedagogy_lib.nn.infomax.infomax`.

    Parameters
    ----------
    Y : array_like, shape (N, K)
        Zero-mean mixtures, one per row.
    rng : numpy.random.Generator
        Source of the minibatch order.
    prior : {"logistic", "gaussian", "super", "sub"}
    D_init : array_like, shape (K, K), optional
        Default the identity.
    n_epochs : int
        Number of passes through the data: a fixed budget, with no stopping rule (so no result
        depends on whether a tolerance is met in floating point); judge convergence from the
        returned ``log_likelihood`` per epoch.
    batch_size : int or None
        ``None`` for full-batch steps.
    lr : float
        Step size.

    Returns
    -------
    ICAResult

    Raises
    ------
    ValueError
        If an argument is malformed; a :class:`~pedagogy_lib.core.checks.DivergenceError` (also a
        ``FloatingPointError``) if ``D`` leaves the finite numbers, naming ``lr`` and the scale of ``Y``.
    """
    check_choice(prior, "prior", PRIORS)
    return _run(Y, rng, D_init, n_epochs, batch_size, lr, prior, adapt=False)


def extended_infomax(Y, *, rng, D_init=None, n_epochs: int = 20, batch_size: int | None = 100,
                     lr: float = 0.05) -> ICAResult:
    r"""Extended InfoMax (Lee, Girolami and Sejnowski 1999): a prior that switches per output.

    Before every minibatch step, :func:`switching_signs` chooses for each output the super- or
    sub-Gaussian prior of the module docstring, and the natural-gradient step
    :math:`(\mathbf I - \mathbf K\langle\tanh(\check{\mathbf X})\check{\mathbf X}^T\rangle - \langle\check{\mathbf X}\check{\mathbf X}^T\rangle)\mathbf D`
    follows. It separates sub-Gaussian sources (uniform), which InfoMax with the fixed logistic
    prior cannot, as well as super-Gaussian ones.

    Parameters, returns and raises as in :func:`fit_ica`; ``kappa`` records the choices after each epoch.
    """
    return _run(Y, rng, D_init, n_epochs, batch_size, lr, None, adapt=True)


# ----------------------------------------------------------------------------------------------
# The Gaussian prior
# ----------------------------------------------------------------------------------------------

def whitening_matrix(Y) -> np.ndarray:
    r"""The symmetric whitening matrix :math:`\langle\mathbf Y\mathbf Y^T\rangle^{-1/2}`.

    The draft's :math:`\mathbf D^*` for the Gaussian prior; every :math:`\mathbf R\langle\mathbf Y\mathbf Y^T\rangle^{-1/2}`
    with orthogonal :math:`\mathbf R` has the same likelihood.
    """
    Y = _check_Y(Y)
    S = Y.T @ Y / Y.shape[0]
    w, V = np.linalg.eigh(S)
    if w[0] <= 1e-12 * max(w[-1], 1e-300):
        raise ValueError("Y must have a full-rank second-moment matrix to be whitened; its smallest "
                         f"eigenvalue is {w[0]:.3g}.")
    return (V / np.sqrt(w)) @ V.T


def gaussian_model_covariance(D) -> np.ndarray:
    r"""Covariance of :math:`\hat{\mathbf y} = \mathbf D^{-1}\hat{\mathbf x}` with :math:`\hat{\mathbf x}\sim\mathcal N(\mathbf 0,\mathbf I)`.

    .. math:: \mathrm{Cov}[\hat{\mathbf Y}] = \mathbf D^{-1}\mathbf D^{-T} = (\mathbf D^T\mathbf D)^{-1}.

    (Section 9.1 prints :math:`\mathbf D^T\mathbf D^{-1}`.)

    Raises
    ------
    ValueError
        If ``D`` is not a finite nonsingular square matrix, or so close to singular that the
        covariance overflows float64.
    """
    D = as_array(D, "D", ndim=2, dims="(K, K)", nonempty=True)
    D = _check_D(D, D.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        D_inv = np.linalg.solve(D, np.eye(D.shape[0]))     # D^{-1}; D^T D could underflow to singular
        cov = D_inv @ D_inv.T
    if not np.all(np.isfinite(cov)):
        raise ValueError("D is too close to singular: its model covariance (D^T D)^{-1} overflows float64 "
                         f"(smallest singular value of D = {np.linalg.svd(D, compute_uv=False)[-1]:.3g}).")
    return cov
