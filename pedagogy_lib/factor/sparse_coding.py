r"""Sparse coding and Laplace's method (book Section 2.1.3, Eqs. 2.28-2.34).

The sparse-coding model of Eq. 2.28 has a factorial prior written with one energy per source
variable and an isotropic Gaussian emission (no offset :math:`\mathbf c`, unlike Eq. 2.11):

.. math::
    \hat p(\mathbf x) = \frac{1}{Z(\boldsymbol\theta)}\prod_{k=1}^K \exp\{-E_k(x_k)\}, \qquad
    \hat p(\mathbf y\mid\mathbf x) = \mathcal N\!\left(\mathbf C\mathbf x, \tfrac1\lambda\mathbf I\right).

The energies of Eq. 2.29 (plus the Gaussian one, which turns the model into factor analysis), each
with its normalizer :math:`Z_k = \int e^{-E_k(x)}dx`, are

* ``"laplace"``: :math:`E_k = \alpha_k|x_k|`, :math:`Z_k = 2/\alpha_k`;
* ``"logcosh"``: :math:`E_k = \frac{\alpha_k}{\beta_k}\log\cosh(\beta_k x_k)`,
  :math:`Z_k = \mathrm B(\tfrac{\alpha_k}{2\beta_k},\tfrac12)/\beta_k`;
* ``"cauchy"``: :math:`E_k = \log(\beta_k^2 + x_k^2)`, :math:`Z_k = \tau/(2\beta_k)`;
* ``"gaussian"``: :math:`E_k = \tfrac12\alpha_k x_k^2` (precision :math:`\alpha_k`), :math:`Z_k = (\tau/\alpha_k)^{1/2}`.

(:math:`\mathrm B` is the beta function; substitute :math:`u=\beta x`, then :math:`t=\tanh u`, to
get it.) For the Laplace prior, :math:`\beta` is the sharpness of the hyperbolic-cosine surrogate
that the draft substitutes *in the Hessian only* (Eq. 2.33).

Energies, following the draft's usage: the joint energy is

.. math::
    E_\mathrm{joint}(\mathbf x,\mathbf y) = \sum_k E_k(x_k) + \frac\lambda2\|\mathbf y-\mathbf C\mathbf x\|^2,
    \qquad \hat p(\mathbf x,\mathbf y) = \frac{1}{Z_\mathrm{joint}}\exp\{-E_\mathrm{joint}(\mathbf x,\mathbf y)\},
    \qquad Z_\mathrm{joint} = Z(\boldsymbol\theta)\,(\tau/\lambda)^{L/2},

with :math:`Z(\boldsymbol\theta)=\prod_k Z_k`. As a function of :math:`\mathbf x` the posterior energy
:math:`E_\mathrm{post}` of Eq. 2.31 differs from :math:`E_\mathrm{joint}` only by the constant
:math:`-\log\hat p(\mathbf y)`; we take them equal, so the posterior's normalizer is
:math:`Z = Z_\mathrm{joint}\,\hat p(\mathbf y)`.

What this module provides:

* the energies, their gradient and their Hessian (the display above Eq. 2.33);
* the mode :math:`\hat{\mathbf x}_0` (MAP estimate), which the draft never says how to find: FISTA/ISTA
  (proximal gradient; exact for the Laplace prior, where the proximal step is soft thresholding),
  L-BFGS (on the smooth energies; for the Laplace prior on the split :math:`\mathbf x=\mathbf u-\mathbf v`,
  :math:`\mathbf u,\mathbf v\ge0`, which makes the problem smooth and is exact) and Newton's method;
* Laplace's approximation of the posterior (Eqs. 2.31, 2.33) and of the marginal (Eq. 2.32, and
  Eq. 2.34 *with its sign corrected* and :math:`Z_\mathrm{joint}` made explicit);
* a quadrature reference :func:`log_marginal_quadrature` for :math:`K\le2`;
* samplers for the prior and the model.

Shapes: ``K`` source dimensions (columns of ``C``), ``L`` emission dimensions. The draft writes the
mode both :math:`\hat{\mathbf x}^0` and :math:`\hat{\mathbf x}_0`; the code calls it ``x0``. ``lambda`` is a
Python keyword, so :math:`\lambda` is ``lam``.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from scipy import integrate, optimize, special

from ..core.checks import (positive_scalar, as_array, check_choice, check_int, check_positive, check_rng,
                           scaled_min_eig, spd_tolerance)
from ..core.linalg import TAU, chol_logdet, spd_inverse, symmetrize

__all__ = [
    "PRIORS",
    "SparseCodingModel",
    "MAPResult",
    "LaplaceApproximation",
    "make_model",
    "revalidate_model",
    "prior_energy",
    "prior_energy_derivatives",
    "log_Z_prior",
    "log_Z_joint",
    "prior_logpdf",
    "joint_energy",
    "posterior_energy",
    "energy_gradient",
    "energy_hessian",
    "soft_threshold",
    "map_estimate",
    "laplace_approximation",
    "log_marginal_quadrature",
    "sample_prior",
    "sample",
]

#: The prior energies of Eq. 2.29, plus the Gaussian energy of factor analysis.
PRIORS = ("laplace", "logcosh", "cauchy", "gaussian")

#: Which MAP algorithms each prior supports; the first is the default (``method="auto"``).
_METHODS = {
    "laplace": ("fista", "ista", "lbfgs"),
    "gaussian": ("newton", "fista", "ista", "lbfgs"),
    "logcosh": ("newton", "lbfgs"),
    "cauchy": ("lbfgs",),
}


class SparseCodingModel(NamedTuple):
    r"""Parameters of the sparse-coding model, Eqs. 2.28-2.29. Build it with :func:`make_model`.

    Attributes
    ----------
    C : ndarray, shape (L, K)
        Basis (dictionary): the columns are the basis vectors; ``K > L`` is overcomplete.
    lam : float
        Emission precision :math:`\lambda`; the emission covariance is :math:`\mathbf I/\lambda`.
    alpha : ndarray, shape (K,)
        :math:`\boldsymbol\alpha`: the Laplace/log-cosh rates, or the Gaussian precisions. Unused (NaN)
        for the Cauchy prior.
    beta : ndarray, shape (K,)
        :math:`\beta_k`: the Cauchy scales, the log-cosh sharpness, and for the Laplace prior the
        sharpness of the log-cosh surrogate used in the Hessian (Eq. 2.33). Unused (NaN) for the
        Gaussian prior.
    prior : str
        One of :data:`PRIORS`.
    """

    C: np.ndarray
    lam: float
    alpha: np.ndarray
    beta: np.ndarray
    prior: str


class MAPResult(NamedTuple):
    r"""Result of :func:`map_estimate`.

    Attributes
    ----------
    x0 : ndarray, shape (K,)
        The mode :math:`\hat{\mathbf x}_0 = \arg\min_{\mathbf x} E_\mathrm{post}(\mathbf x,\mathbf y)`.
    energy : float
        :math:`E_\mathrm{joint}(\hat{\mathbf x}_0, \mathbf y)`.
    path : ndarray, shape (n_iter + 1, K)
        The iterates, starting from the initial point (for FISTA/ISTA/Newton; L-BFGS records its
        accepted iterates).
    n_iter : int
    converged : bool
    method : str
    """

    x0: np.ndarray
    energy: float
    path: np.ndarray
    n_iter: int
    converged: bool
    method: str


class LaplaceApproximation(NamedTuple):
    r"""Result of :func:`laplace_approximation` (Eqs. 2.31-2.34).

    Attributes
    ----------
    x0 : ndarray, shape (K,)
        Mode, the mean of the approximating Gaussian.
    H : ndarray, shape (K, K)
        Hessian of :math:`E_\mathrm{post}` at the mode, the precision of the approximating Gaussian.
    Sigma : ndarray, shape (K, K)
        :math:`\mathbf H^{-1}`, its covariance (Eq. 2.31; Eq. 2.33 for the Laplace prior).
    E_joint0 : float
        :math:`E_\mathrm{joint}(\hat{\mathbf x}_0, \mathbf y)`.
    log_Z_joint : float
        :math:`\log Z_\mathrm{joint}`.
    log_evidence : float
        :math:`\log\hat p(\mathbf y) \approx -E_\mathrm{joint}(\hat{\mathbf x}_0,\mathbf y) - \log Z_\mathrm{joint}
        + \tfrac K2\log\tau - \tfrac12\log|\mathbf H|` (Eq. 2.32; Eq. 2.34 with the sign corrected).
    map_result : MAPResult
        How the mode was found.
    """

    x0: np.ndarray
    H: np.ndarray
    Sigma: np.ndarray
    E_joint0: float
    log_Z_joint: float
    log_evidence: float
    map_result: MAPResult


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------

def _per_source(value, name: str, K: int) -> np.ndarray:
    """A positive parameter given as a scalar (shared by all sources) or as a (K,) vector."""
    arr = as_array(value, name)
    if np.ndim(value) == 0:          # as_array returns 0-d input as shape (1,)
        arr = np.full(K, arr.item())
    elif arr.shape != (K,):
        raise ValueError(f"{name} must be a scalar or have shape (K,) = ({K},); got {arr.shape}.")
    check_positive(arr, name)
    return np.ascontiguousarray(arr)


def _positive_scalar(value, name: str) -> float:
    """A finite positive scalar (0-d input only)."""
    arr = as_array(value, name, ndim=0).reshape(())
    return positive_scalar(arr, name)


def make_model(C, lam, alpha=None, beta=None, prior: str = "laplace") -> SparseCodingModel:
    r"""Validate and pack the parameters of the sparse-coding model (Section 2.1.3).

    Parameters
    ----------
    C : array_like, shape (L, K)
        Basis matrix :math:`\mathbf C`.
    lam : float
        Emission precision :math:`\lambda > 0`.
    alpha : float or array_like, shape (K,)
        Rates :math:`\alpha_k > 0` (Laplace, log-cosh) or precisions (Gaussian); a scalar is shared
        by all sources. Required except for the Cauchy prior, which must not get one.
    beta : float or array_like, shape (K,)
        :math:`\beta_k > 0`: Cauchy scale, log-cosh sharpness, or the Hessian surrogate's sharpness
        for the Laplace prior (Eq. 2.33). Required for those three; not used by the Gaussian prior,
        which must not get one.
    prior : {"laplace", "logcosh", "cauchy", "gaussian"}

    Returns
    -------
    SparseCodingModel

    Raises
    ------
    ValueError, TypeError
        For an unknown ``prior``, a ``C`` that is empty or not finite, a ``lam`` that is not
        positive, or ``alpha``/``beta`` missing, superfluous, of the wrong length or not positive.
    """
    check_choice(prior, "prior", PRIORS)
    C = as_array(C, "C", ndim=2, dims="(L, K)")
    if C.shape[0] == 0 or C.shape[1] == 0:
        raise ValueError(f"C must have at least one row and one column; got shape {C.shape}.")
    K = C.shape[1]
    lam = _positive_scalar(lam, "lam")
    if prior == "cauchy":
        if alpha is not None:
            raise ValueError("alpha is not a parameter of the Cauchy prior (Eq. 2.29: E_k = log(beta_k^2 + x_k^2)); "
                             "pass alpha=None.")
        alpha_arr = np.full(K, np.nan)
    else:
        if alpha is None:
            raise ValueError(f"alpha is required for the {prior!r} prior; got None.")
        alpha_arr = _per_source(alpha, "alpha", K)
    if prior == "gaussian":
        if beta is not None:
            raise ValueError("beta is not a parameter of the Gaussian prior; pass beta=None.")
        beta_arr = np.full(K, np.nan)
    else:
        if beta is None:
            what = "the sharpness of the log-cosh surrogate used in the Hessian (Eq. 2.33)" \
                if prior == "laplace" else "its scale/sharpness"
            raise ValueError(f"beta is required for the {prior!r} prior ({what}); got None.")
        beta_arr = _per_source(beta, "beta", K)
    return SparseCodingModel(C, lam, alpha_arr, beta_arr, prior)


def _check_model(model) -> SparseCodingModel:
    """Validate every field of a :class:`SparseCodingModel`, one built by hand or edited with ``_replace``
    as much as one from :func:`make_model` (which does the checking: the fields go through it again)."""
    if not isinstance(model, SparseCodingModel):
        raise TypeError(f"model must be a SparseCodingModel (build it with make_model); got {type(model).__name__}.")
    return revalidate_model(model)


def revalidate_model(model: SparseCodingModel) -> SparseCodingModel:
    """Run the fields of ``model`` through :func:`make_model` again; return the clean model.

    Raises
    ------
    ValueError, TypeError
        As :func:`make_model`, naming the field (``C``, ``lam``, ``alpha``, ``beta``, ``prior``).
    """
    if not isinstance(model, SparseCodingModel):
        raise TypeError(f"model must be a SparseCodingModel (build it with make_model); got {type(model).__name__}.")
    prior = check_choice(model.prior, "prior", PRIORS)
    return make_model(model.C, model.lam, None if prior == "cauchy" else model.alpha,
                      None if prior == "gaussian" else model.beta, prior)


def _check_x(x, K: int, *, batch: bool) -> np.ndarray:
    x = as_array(x, "x")
    ok = (x.ndim == 1 or (batch and x.ndim == 2)) and x.shape[-1] == K
    if not ok:
        want = "(K,) or (N, K)" if batch else "(K,)"
        raise ValueError(f"x must have shape {want} with K = {K}; got {x.shape}.")
    return x


def _check_y(y, L: int) -> np.ndarray:
    return as_array(y, "y", shape=(L,), dims="(L,)")


# ----------------------------------------------------------------------------------------------
# Prior energies (Eq. 2.29) and their normalizers
# ----------------------------------------------------------------------------------------------

def _log_cosh(u):
    """Stable log(cosh(u)) = |u| + log1p(exp(-2|u|)) - log 2."""
    a = np.abs(u)
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


def _sech2(u):
    """Stable sech^2(u) = 4 e^{-2|u|} / (1 + e^{-2|u|})^2 (no overflow for large |u|)."""
    e = np.exp(-2.0 * np.abs(u))
    return 4.0 * e / (1.0 + e) ** 2


def _E(x, alpha, beta, prior):
    """Elementwise E_k(x_k) of Eq. 2.29 (x has shape (..., K))."""
    if prior == "laplace":
        return alpha * np.abs(x)
    if prior == "logcosh":
        return alpha / beta * _log_cosh(beta * x)
    if prior == "cauchy":
        return np.log(beta**2 + x**2)
    return 0.5 * alpha * x**2                                   # gaussian


def _dE(x, alpha, beta, prior):
    """Elementwise E_k'(x_k); for the Laplace prior alpha * sign(x) (a subgradient, 0 at 0)."""
    if prior == "laplace":
        return alpha * np.sign(x)
    if prior == "logcosh":
        return alpha * np.tanh(beta * x)
    if prior == "cauchy":
        return 2.0 * x / (beta**2 + x**2)
    return alpha * x


def _d2E(x, alpha, beta, prior):
    """Elementwise E_k''(x_k); for the Laplace prior the log-cosh surrogate alpha beta sech^2(beta x) (Eq. 2.33)."""
    if prior in ("laplace", "logcosh"):
        return alpha * beta * _sech2(beta * x)
    if prior == "cauchy":
        return 2.0 * (beta**2 - x**2) / (beta**2 + x**2) ** 2
    return alpha * np.ones_like(x)


def _log_Zk(alpha, beta, prior):
    """log of each normalizer Z_k = int exp(-E_k(x)) dx."""
    if prior == "laplace":
        return np.log(2.0 / alpha)
    if prior == "logcosh":
        # int sech(u)^a du = B(a/2, 1/2) with a = alpha / beta, and dx = du / beta
        return special.betaln(0.5 * alpha / beta, 0.5) - np.log(beta)
    if prior == "cauchy":
        return np.log(0.5 * TAU / beta)
    return 0.5 * np.log(TAU / alpha)


def prior_energy(x, model: SparseCodingModel) -> np.ndarray | float:
    r"""Prior energy :math:`\sum_k E_k(x_k)` (Eqs. 2.28 and 2.29).

    The Laplace energy :math:`\alpha_k|x_k|` and its log-cosh approximation are the two of Eq. 8.6.

    Parameters
    ----------
    x : array_like, shape (K,) or (N, K)
    model : SparseCodingModel

    Returns
    -------
    float or ndarray, shape (N,)
    """
    model = _check_model(model)
    x = _check_x(x, model.C.shape[1], batch=True)
    out = np.sum(_E(x, model.alpha, model.beta, model.prior), axis=-1)
    return float(out) if x.ndim == 1 else out


def prior_energy_derivatives(x, model: SparseCodingModel) -> tuple[np.ndarray, np.ndarray]:
    r"""First and second derivatives :math:`E_k'(x_k)`, :math:`E_k''(x_k)` of each prior energy.

    .. math::
        \text{log-cosh: } E_k' = \alpha_k\tanh(\beta_k x_k),\quad E_k'' = \alpha_k\beta_k\,\mathrm{sech}^2(\beta_k x_k).

    For the Cauchy prior they are the derivatives of its energy :math:`E_k = \log(\beta_k^2 + x_k^2)`
    (working them out is an exercise of Section 2.1.3's page).

    For the Laplace prior, :math:`E_k' = \alpha_k\,\mathrm{sign}(x_k)` (the minimal-norm subgradient,
    0 at the kink) and :math:`E_k''` is the log-cosh surrogate's, as in Eq. 2.33; the true curvature is
    zero away from 0 and undefined at 0.

    Parameters
    ----------
    x : array_like, shape (K,)
    model : SparseCodingModel

    Returns
    -------
    dE, d2E : ndarray, shape (K,)
    """
    model = _check_model(model)
    x = _check_x(x, model.C.shape[1], batch=False)
    return _dE(x, model.alpha, model.beta, model.prior), _d2E(x, model.alpha, model.beta, model.prior)


def log_Z_prior(model: SparseCodingModel) -> float:
    r""":math:`\log Z(\boldsymbol\theta) = \sum_k\log\int e^{-E_k(x)}dx`, the prior's normalizer in Eq. 2.28."""
    model = _check_model(model)
    return float(np.sum(_log_Zk(model.alpha, model.beta, model.prior)))


def log_Z_joint(model: SparseCodingModel) -> float:
    r"""The normalizer :math:`Z_\mathrm{joint}` that Eq. 2.34 leaves undefined, in log form.

    .. math::
        \log Z_\mathrm{joint} = \log Z(\boldsymbol\theta) + \tfrac L2\log(\tau/\lambda).


    It normalizes :math:`\exp\{-E_\mathrm{joint}(\mathbf x,\mathbf y)\}` over :math:`(\mathbf x,\mathbf y)`:
    the emission's Gaussian contributes :math:`(\tau/\lambda)^{L/2}` and the prior :math:`\prod_k Z_k`.
    """
    model = _check_model(model)
    L = model.C.shape[0]
    return log_Z_prior(model) + 0.5 * L * np.log(TAU / model.lam)


def prior_logpdf(x, model: SparseCodingModel) -> np.ndarray | float:
    r""":math:`\log\hat p(\mathbf x) = -\sum_k E_k(x_k) - \log Z(\boldsymbol\theta)` (Eq. 2.28)."""
    model = _check_model(model)
    return -prior_energy(x, model) - log_Z_prior(model)


# ----------------------------------------------------------------------------------------------
# Joint/posterior energy, gradient, Hessian
# ----------------------------------------------------------------------------------------------

def _joint_energy(x, y, C, lam, alpha, beta, prior):
    r = y - x @ C.T
    return np.sum(_E(x, alpha, beta, prior), axis=-1) + 0.5 * lam * np.sum(r * r, axis=-1)


def joint_energy(x, y, model: SparseCodingModel) -> np.ndarray | float:
    r"""Joint energy :math:`E_\mathrm{joint}(\mathbf x,\mathbf y)` of the sparse-coding model (Eq. 2.28, restated as Eq. 8.5).

    .. math::
        E_\mathrm{joint}(\mathbf x,\mathbf y) = \sum_k E_k(x_k) + \tfrac\lambda2\|\mathbf y-\mathbf C\mathbf x\|^2.


    :math:`\log\hat p(\mathbf x,\mathbf y) = -E_\mathrm{joint}(\mathbf x,\mathbf y) - \log Z_\mathrm{joint}`
    (see :func:`log_Z_joint`). The draft writes it :math:`E_\mathrm{joint}(\mathbf x,\boldsymbol\theta)`
    in the display above Eq. 2.33, leaving out its dependence on :math:`\mathbf y`.

    Parameters
    ----------
    x : array_like, shape (K,) or (N, K)
        One source vector, or ``N`` of them (e.g. the points of a grid).
    y : array_like, shape (L,)
    model : SparseCodingModel

    Returns
    -------
    float or ndarray, shape (N,)
    """
    model = _check_model(model)
    L, K = model.C.shape
    x = _check_x(x, K, batch=True)
    y = _check_y(y, L)
    out = _joint_energy(x, y, model.C, model.lam, model.alpha, model.beta, model.prior)
    return float(out) if x.ndim == 1 else out


def posterior_energy(x, y, model: SparseCodingModel) -> np.ndarray | float:
    r"""Posterior energy :math:`E_\mathrm{post}(\mathbf x,\mathbf y)` of Eq. 2.31.

    .. math::
        \hat p(\mathbf x\mid\mathbf y) = \frac1Z\exp\{-E_\mathrm{post}(\mathbf x,\mathbf y)\},\qquad
        E_\mathrm{post} := E_\mathrm{joint},\qquad Z = Z_\mathrm{joint}\,\hat p(\mathbf y).

    Any :math:`\mathbf x`-independent offset could be chosen; we take none, so this equals
    :func:`joint_energy` and has the same gradient and Hessian, as the draft's Hessian display uses.
    """
    return joint_energy(x, y, model)


def energy_gradient(x, y, model: SparseCodingModel) -> np.ndarray:
    r"""Gradient :math:`\partial E_\mathrm{post}/\partial\mathbf x^T`, whose zero defines the mode (before Eq. 2.30).

    .. math::
        \frac{\partial E_\mathrm{post}}{\partial\mathbf x^T} = \big[E_1'(x_1),\dots,E_K'(x_K)\big]^T
        - \lambda\mathbf C^T(\mathbf y - \mathbf C\mathbf x).

    For the Laplace prior the first term is :math:`\boldsymbol\alpha\circ\mathrm{sign}(\mathbf x)`; at a
    coordinate with :math:`x_k=0` this is only one element of the subdifferential (see
    :func:`map_estimate` for the optimality condition).

    Parameters
    ----------
    x : array_like, shape (K,)
    y : array_like, shape (L,)
    model : SparseCodingModel

    Returns
    -------
    ndarray, shape (K,)
    """
    model = _check_model(model)
    L, K = model.C.shape
    x = _check_x(x, K, batch=False)
    y = _check_y(y, L)
    C = model.C
    return _dE(x, model.alpha, model.beta, model.prior) - model.lam * C.T @ (y - C @ x)


def energy_hessian(x, model: SparseCodingModel) -> np.ndarray:
    r"""Hessian of the posterior energy (display above Eq. 2.33).

    .. math::
        \frac{\partial^2 E_\mathrm{post}}{\partial\mathbf x\,\partial\mathbf x^T}
        = \mathrm{diag}\big([E_1''(x_1),\dots,E_K''(x_K)]^T\big) + \lambda\mathbf C^T\mathbf C.

    It does not depend on :math:`\mathbf y`. For the Laplace prior the diagonal is the log-cosh
    surrogate's :math:`\alpha_k\beta_k\,\mathrm{sech}^2(\beta_k x_k)`, as in Eq. 2.33.

    Parameters
    ----------
    x : array_like, shape (K,)
    model : SparseCodingModel

    Returns
    -------
    ndarray, shape (K, K)
    """
    model = _check_model(model)
    x = _check_x(x, model.C.shape[1], batch=False)
    C = model.C
    return symmetrize(np.diag(_d2E(x, model.alpha, model.beta, model.prior)) + model.lam * C.T @ C)


# ----------------------------------------------------------------------------------------------
# MAP inference: the mode x0
# ----------------------------------------------------------------------------------------------

def soft_threshold(z, t) -> np.ndarray:
    r"""Soft thresholding :math:`\mathrm{sign}(z)\max(|z|-t, 0)`, the proximal map of :math:`t|z|`.

    .. math::
        \mathrm{soft}(z, t) = \arg\min_x \tfrac12(x-z)^2 + t|x|.

    Parameters
    ----------
    z : array_like
    t : array_like
        Non-negative thresholds, broadcast against ``z``.
    """
    z = as_array(z, "z")
    t = check_positive(as_array(t, "t"), "t", strict=False)
    try:
        np.broadcast_shapes(z.shape, t.shape)
    except ValueError:
        raise ValueError(f"t must be a scalar or broadcast against z (shape {z.shape}); got shape {t.shape}.") from None
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


#: Machine epsilon of the float64 arithmetic every MAP solver works in.
_EPS = float(np.finfo(float).eps)
#: How many roundings of the largest term a computed gradient or energy may carry: a modest multiple
#: of the number of operations that sum into one entry, so the floors below are reachable on any
#: machine and any order of floating-point operations (BLAS kernel).
_ROUNDING_ULPS = 64.0
#: The smallest positive normal float64 (a guard against dividing by a zero column norm).
_TINY_POS = float(np.finfo(float).tiny)


def _gradient_terms(x, y, C, lam, alpha, beta, prior):
    """Magnitudes summed in each entry of the gradient E'(x) - lam C^T (y - C x), elementwise.

    Rounding in computing that gradient is at most a few ulps of these magnitudes: the residual
    y - C x carries errors of order eps (|y| + |C||x|), and lam C^T maps them into the gradient.
    """
    absC = np.abs(C)
    return np.abs(_dE(x, alpha, beta, prior)) + lam * (absC.T @ (np.abs(y) + absC @ np.abs(x)))


def _gradient_floor(x, y, C, lam, alpha, beta, prior):
    """The smallest gradient norm the arithmetic can be relied on to attain at x (see _ROUNDING_ULPS)."""
    return _ROUNDING_ULPS * _EPS * float(np.linalg.norm(_gradient_terms(x, y, C, lam, alpha, beta, prior)))


def _energy_round(x, y, C, lam, alpha, beta, prior):
    """Rounding level of a computed E_joint(x): ulps of the magnitudes it sums (prior terms and the
    squares of the residual's terms). Changes of the energy below this cannot be seen."""
    absr = np.abs(y) + np.abs(C) @ np.abs(x)
    mag = np.sum(np.abs(_E(x, alpha, beta, prior))) + 0.5 * lam * float(absr @ absr)
    return _ROUNDING_ULPS * _EPS * mag


def _map_proximal(y, C, lam, alpha, prior, x_init, tol, max_iter, accelerate):
    """FISTA (accelerate=True) or ISTA on f(x) = lam/2 ||y - Cx||^2 plus the prior energy g(x).

    Step 1/Lip with Lip = lam ||C||_2^2, the Lipschitz constant of grad f. The proximal step of g is
    soft thresholding (Laplace) or shrinkage z / (1 + t alpha) (Gaussian).

    Stopping rule: the fixed-point residual r(x) = ||x - prox(x - t grad f(x))|| (zero exactly at the
    mode) satisfies r <= max(tol (1 + ||x||), 64 eps ||m||), where m = |x| + t lam (|C^T C||x| + |C^T y|)
    holds the magnitudes summed in computing r, so the floor is what the arithmetic can attain.
    """
    Lip = lam * np.linalg.norm(C, 2) ** 2
    t = 1.0 / Lip if Lip > 0 else 1.0         # C = 0 (or underflowing): f is flat, any step is exact
    CtC, Cty = C.T @ C, C.T @ y
    absCtC, absCty = np.abs(CtC), np.abs(Cty)

    def prox(z):
        if prior == "laplace":
            return np.sign(z) * np.maximum(np.abs(z) - t * alpha, 0.0)
        return z / (1.0 + t * alpha)

    x = x_init.copy()
    v, s = x.copy(), 1.0                              # FISTA's extrapolated point and momentum
    path = [x.copy()]
    converged = False
    n = 0
    for n in range(1, max_iter + 1):
        base = v if accelerate else x
        grad_f = lam * (CtC @ base - Cty)             # gradient of the Gaussian term
        x_new = prox(base - t * grad_f)
        if accelerate:
            s_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * s * s))
            v = x_new + ((s - 1.0) / s_new) * (x_new - x)
            s = s_new
        x = x_new
        path.append(x.copy())
        # fixed-point residual of the proximal-gradient map at x (zero exactly at the mode)
        residual = np.linalg.norm(x - prox(x - t * lam * (CtC @ x - Cty)))
        magnitude = np.abs(x) + t * lam * (absCtC @ np.abs(x) + absCty)
        floor = _ROUNDING_ULPS * _EPS * np.linalg.norm(magnitude)
        if residual <= max(tol * (1.0 + np.linalg.norm(x)), floor):
            converged = True
            break
    return x, np.array(path), n, converged


def _map_newton(y, C, lam, alpha, beta, prior, x_init, tol, max_iter):
    """Newton's method with Armijo backtracking on a smooth, strictly convex energy.

    In an overcomplete model lam C^T C is singular and the log-cosh curvature underflows far from 0,
    so the Hessian can be (numerically) singular. A Levenberg term mu I is then added, and increased
    whenever the line search fails.

    Stopping rule (converged): ||g|| <= max(tol (1 + lam ||C^T y||), 64 eps ||m(x)||), where m(x)
    holds the magnitudes summed in each entry of the gradient (see _gradient_terms), so the floor is
    attainable whatever the order of the floating-point operations.

    Near the mode the predicted decrease -g.d of a Newton step falls below the rounding level of the
    computed energy, and the Armijo test only compares rounding errors. There the energy can no longer
    judge a step, and the gradient does: the full Newton step is taken if it lowers ||g|| (it does,
    quadratically, until ||g|| reaches its own rounding level). If it does not, x is the attainable
    minimum: that is convergence when ||g|| <= sqrt(eps) ||m(x)|| (a gradient at which even the exact
    Newton decrease g^T H^{-1} g / 2 would be invisible in the energy), and a failure otherwise.
    """
    CtC = C.T @ C
    scale = 1.0 + lam * np.linalg.norm(C.T @ y)
    x = x_init.copy()
    E = _joint_energy(x, y, C, lam, alpha, beta, prior)
    path = [x.copy()]
    converged = False
    n = 0
    mu = 0.0

    def grad(z):
        return _dE(z, alpha, beta, prior) - lam * C.T @ (y - C @ z)

    g = grad(x)
    for n in range(1, max_iter + 1):
        g_norm = np.linalg.norm(g)
        if g_norm <= max(tol * scale, _gradient_floor(x, y, C, lam, alpha, beta, prior)):
            converged = True
            n -= 1
            break
        H = symmetrize(np.diag(_d2E(x, alpha, beta, prior)) + lam * CtC)
        h_max = float(np.max(np.diag(H)))
        E_round = _energy_round(x, y, C, lam, alpha, beta, prior)
        accepted = stalled = flat = False
        step = 1.0
        while not (accepted or stalled):
            try:
                Lh = np.linalg.cholesky(H + mu * np.eye(H.shape[0]))
            except np.linalg.LinAlgError:
                mu = max(10.0 * mu, 1e-12 * h_max)
                continue
            d = -np.linalg.solve(Lh.T, np.linalg.solve(Lh, g))
            step = 1.0
            if -(g @ d) <= E_round:
                # the energy cannot tell this step from rounding: judge it by the gradient
                flat = True
                x_try = x + d
                g_try = grad(x_try)
                if np.linalg.norm(g_try) < g_norm:
                    accepted = True
                    E_try = _joint_energy(x_try, y, C, lam, alpha, beta, prior)
                else:
                    stalled = True
                break
            for _ in range(40):                       # Armijo backtracking
                x_try = x + step * d
                E_try = _joint_energy(x_try, y, C, lam, alpha, beta, prior)
                if E_try <= E + 1e-4 * step * (g @ d):
                    accepted = True
                    break
                step *= 0.5
            if not accepted:                          # the quadratic model is poor: damp more
                mu = max(10.0 * mu, 1e-8 * h_max)
        if stalled:
            # no step lowers the energy or the gradient: the attainable minimum
            terms = np.linalg.norm(_gradient_terms(x, y, C, lam, alpha, beta, prior))
            converged = bool(g_norm <= np.sqrt(_EPS) * terms)
            n -= 1
            break
        mu = 0.1 * mu if step == 1.0 else mu
        x, E = x_try, E_try
        g = g_try if flat else grad(x)
        path.append(x.copy())
    return x, np.array(path), n, converged


def _map_lbfgs(y, C, lam, alpha, beta, prior, x_init, tol, max_iter):
    """L-BFGS(-B) with the analytic gradient. For the Laplace prior, x = u - v with u, v >= 0 makes
    alpha^T|x| the linear alpha^T(u + v) at the optimum, a smooth bound-constrained problem.

    Stopping rule: scipy stops when the energy no longer decreases in double precision (or on its
    own gradient test); its ``success`` flag depends on rounding, so it is not used. The result is
    converged when our own gradient at the returned point (for the Laplace split, in (u, v) and
    projected on the bounds: entries at a bound that push outwards count as zero) has max-norm
    <= max(sqrt(tol) (1 + lam ||C^T y||), 64 eps max(m(x))), with m(x) the magnitudes summed in the
    gradient. sqrt(tol): where the energy stops decreasing the gradient is of order sqrt(eps)
    relative, not eps. When scipy stops short of that (its relative-decrease test can fire early on
    a badly scaled energy, and when it does depends on the order of the floating-point operations),
    it is restarted from where it stopped, with a fresh curvature memory, until the rule holds, a
    restart no longer lowers the energy, or ``max_iter`` iterations are spent.
    """
    K = C.shape[1]
    path = [x_init.copy()]
    scale = 1.0 + lam * np.linalg.norm(C.T @ y)
    if prior == "laplace":
        def fun(z):
            u, v = z[:K], z[K:]
            r = y - C @ (u - v)
            g_x = -lam * C.T @ r
            return alpha @ (u + v) + 0.5 * lam * r @ r, np.concatenate([alpha + g_x, alpha - g_x])

        def judge(z):
            x = z[:K] - z[K:]
            jac = fun(z)[1]
            grad = np.where((z <= 0.0) & (jac > 0.0), 0.0, jac)        # projected on the bounds
            m_x = alpha + lam * (np.abs(C).T @ (np.abs(y) + np.abs(C) @ np.abs(x)))
            return np.max(np.abs(grad)) <= max(np.sqrt(tol) * scale, _ROUNDING_ULPS * _EPS * np.max(m_x))

        z = np.concatenate([np.maximum(x_init, 0.0), np.maximum(-x_init, 0.0)])
        bounds, record = [(0.0, None)] * (2 * K), (lambda z: path.append(z[:K] - z[K:]))
    else:
        def fun(x):
            r = y - C @ x
            E = np.sum(_E(x, alpha, beta, prior)) + 0.5 * lam * r @ r
            return E, _dE(x, alpha, beta, prior) - lam * C.T @ r

        def judge(x):
            terms = _gradient_terms(x, y, C, lam, alpha, beta, prior)
            return np.max(np.abs(fun(x)[1])) <= max(np.sqrt(tol) * scale, _ROUNDING_ULPS * _EPS * np.max(terms))

        z, bounds, record = x_init.astype(float), None, (lambda x: path.append(x.copy()))
    n_iter, ok, energy = 0, False, fun(z)[0]
    while n_iter < max_iter:
        res = optimize.minimize(fun, z, jac=True, method="L-BFGS-B", bounds=bounds, callback=record,
                                options={"maxiter": max_iter - n_iter, "ftol": 1e-15, "gtol": tol * 1e-2})
        n_iter += max(int(res.nit), 1)
        progressed = res.fun < energy
        if res.fun <= energy:
            z, energy = res.x, float(res.fun)
        ok = bool(judge(z))
        if ok or not progressed:
            break
    x = z[:K] - z[K:] if prior == "laplace" else z
    return x, np.array(path), n_iter, ok


def map_estimate(y, model: SparseCodingModel, *, method: str = "auto", x_init=None, tol: float = 1e-10,
                 max_iter: int = 10000) -> MAPResult:
    r"""The mode :math:`\hat{\mathbf x}_0` of the posterior: minimize :math:`E_\mathrm{post}(\mathbf x,\mathbf y)`.

    The draft needs the mode for Laplace's method (Section 2.1.3; :func:`laplace_approximation`) but
    gives no algorithm. With the
    Laplace prior the problem is the LASSO,

    .. math::
        \hat{\mathbf x}_0 = \arg\min_{\mathbf x}\ \frac\lambda2\|\mathbf y-\mathbf C\mathbf x\|^2
        + \boldsymbol\alpha^T|\mathbf x|,

    and its optimality (subgradient) condition is, for every :math:`k`,

    .. math::
        \lambda\,\mathbf c_k^T(\mathbf y-\mathbf C\hat{\mathbf x}_0) = \alpha_k\,\mathrm{sign}(\hat x_{0,k})
        \ \text{ if } \hat x_{0,k}\neq0, \qquad
        |\lambda\,\mathbf c_k^T(\mathbf y-\mathbf C\hat{\mathbf x}_0)|\le\alpha_k \ \text{ if } \hat x_{0,k}=0.

    Methods:

    * ``"fista"`` / ``"ista"`` (Laplace, Gaussian): proximal gradient with step :math:`1/(\lambda\|\mathbf C\|_2^2)`,
      :math:`\mathbf x\leftarrow\mathrm{soft}\big(\mathbf x - t\,\lambda\mathbf C^T(\mathbf C\mathbf x-\mathbf y),
      \ t\boldsymbol\alpha\big)`;
      FISTA adds Nesterov momentum. Coordinates become exactly zero.
    * ``"lbfgs"`` (all priors): scipy's L-BFGS-B with the analytic gradient; for the Laplace prior on
      the split :math:`\mathbf x=\mathbf u-\mathbf v`, :math:`\mathbf u,\mathbf v\ge0` (exact; zeros are
      exact only up to the tolerance). It stops when the energy no longer decreases in double
      precision, which leaves :math:`\mathbf x` accurate to about :math:`10^{-8}`. The Cauchy energy
      is not convex: this finds a *local* mode near ``x_init``.
    * ``"newton"`` (Gaussian, log-cosh): damped Newton with the Hessian of :func:`energy_hessian`;
      one step is exact for the Gaussian prior.
    * ``"auto"``: FISTA for Laplace, Newton for Gaussian and log-cosh, L-BFGS for Cauchy.

    Parameters
    ----------
    y : array_like, shape (L,)
    model : SparseCodingModel
    method : {"auto", "fista", "ista", "lbfgs", "newton"}
    x_init : array_like, shape (K,), optional
        Starting point (default zeros).
    tol : float
        The stopping rule's tolerance. Every rule has a floor of :math:`64\epsilon` (:math:`\epsilon`
        the machine epsilon) times the magnitudes actually summed in the quantity it measures, the
        rounding that quantity carries, so a converged problem is reported converged whatever the
        order of the floating-point operations (BLAS kernel):

        * FISTA/ISTA: the fixed-point residual
          :math:`\|\mathbf x-\mathrm{prox}(\mathbf x-t\nabla f(\mathbf x))\|\le\mathrm{tol}\,(1+\|\mathbf x\|)`;
        * Newton: :math:`\|\mathbf g\|\le\mathrm{tol}\,(1+\lambda\|\mathbf C^T\mathbf y\|)`. Near the
          mode, where the predicted decrease :math:`-\mathbf g^T\mathbf d` is below the energy's
          rounding, a full step is judged by the gradient instead of the energy; if it no longer
          lowers :math:`\|\mathbf g\|`, the point is the attainable minimum, converged when
          :math:`\|\mathbf g\|\le\sqrt\epsilon` times the gradient's terms;
        * L-BFGS: our own (projected) gradient at the answer, largest entry
          :math:`\le\sqrt{\mathrm{tol}}\,(1+\lambda\|\mathbf C^T\mathbf y\|)` (the optimizer stops when
          the energy no longer decreases, where the gradient is of order :math:`\sqrt\epsilon`
          relative); scipy's ``success`` flag is not used.
    max_iter : int

    Returns
    -------
    MAPResult
        A ``RuntimeWarning`` is issued if the method did not converge in ``max_iter`` iterations.
    """
    model = _check_model(model)
    L, K = model.C.shape
    y = _check_y(y, L)
    check_choice(method, "method", ("auto", "fista", "ista", "lbfgs", "newton"))
    allowed = _METHODS[model.prior]
    if method == "auto":
        method = allowed[0]
    if method not in allowed:
        raise ValueError(f"method {method!r} is not available for the {model.prior!r} prior; "
                         f"use one of {{{', '.join(repr(m) for m in allowed)}}}.")
    x_init = np.zeros(K) if x_init is None else _check_x(x_init, K, batch=False).copy()
    tol = _positive_scalar(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    C, lam, alpha, beta, prior = model
    if method in ("fista", "ista"):
        x, path, n, ok = _map_proximal(y, C, lam, alpha, prior, x_init, tol, max_iter, method == "fista")
    elif method == "newton":
        x, path, n, ok = _map_newton(y, C, lam, alpha, beta, prior, x_init, tol, max_iter)
    else:
        x, path, n, ok = _map_lbfgs(y, C, lam, alpha, beta, prior, x_init, tol, max_iter)
    if not ok:
        warnings.warn(f"map_estimate ({method}) did not converge in {n} iterations (max_iter = {max_iter}).",
                      RuntimeWarning, stacklevel=2)
    E0 = float(_joint_energy(x, y, C, lam, alpha, beta, prior))
    return MAPResult(x, E0, path, n, ok, method)


# ----------------------------------------------------------------------------------------------
# Laplace's method (Eqs. 2.30-2.34) and the quadrature reference
# ----------------------------------------------------------------------------------------------

def laplace_approximation(y, model: SparseCodingModel, *, method: str = "auto", x_init=None) -> LaplaceApproximation:
    r"""Laplace's approximation of the posterior and of the marginal (Eqs. 2.31-2.34).

    Expanding :math:`E_\mathrm{post}` to second order about the mode :math:`\hat{\mathbf x}_0` (Eq. 2.30)
    gives a Gaussian posterior with precision :math:`\mathbf H` = the Hessian at the mode (Eq. 2.31;
    Eq. 2.33 for the sparse-coding model):

    .. math::
        \hat p(\mathbf x\mid\mathbf y)\approx\mathcal N\big(\hat{\mathbf x}_0, \mathbf H^{-1}\big), \qquad
        \mathbf H = \lambda\mathbf C^T\mathbf C + \mathrm{diag}\big([E_k''(\hat x_{0,k})]_k\big).

    Dividing the joint at the mode by that Gaussian's density at its mean (Eq. 2.32) gives

    .. math::
        \hat p(\mathbf y) \approx \frac{\tau^{K/2}}{Z_\mathrm{joint}}
        \exp\{-E_\mathrm{joint}(\hat{\mathbf x}_0,\mathbf y)\}\,|\mathbf H|^{-1/2},

    which for the Laplace prior is Eq. 2.34 with the sign in the exponent corrected,
    :math:`\exp\{-\boldsymbol\alpha^T|\hat{\mathbf x}_0| - \tfrac\lambda2\|\mathbf y-\mathbf C\hat{\mathbf x}_0\|^2\}`,
    and with :math:`Z_\mathrm{joint} = \prod_k(2/\alpha_k)\,(\tau/\lambda)^{L/2}` (see :func:`log_Z_joint`).
    The draft's :math:`\tau^{k/2}` means :math:`\tau^{K/2}` (the source dimension).

    For the Laplace prior the exact energy enters :math:`E_\mathrm{joint}` and the log-cosh surrogate
    (sharpness ``model.beta``) enters :math:`\mathbf H`. The approximation is exact when the prior is
    Gaussian (it then reproduces the marginal and the posterior of factor analysis).

    Parameters
    ----------
    y : array_like, shape (L,)
    model : SparseCodingModel
    method, x_init
        Passed to :func:`map_estimate`.

    Returns
    -------
    LaplaceApproximation

    Raises
    ------
    ValueError
        If the Hessian at the point the MAP solver returned is not positive definite (possible only
        for the Cauchy prior, whose :math:`E_k''` is negative beyond :math:`|x_k| = \beta_k`, and only
        short of a mode, where the Hessian is positive semi-definite), where Laplace's method does
        not apply; or if it is singular to working precision, by the rule of
        :func:`~pedagogy_lib.core.checks.check_spd` (scaled to unit diagonal, the smallest eigenvalue
        of :math:`\mathbf H` or of :math:`\mathbf H^{-1}` at most ``spd_tolerance(K)``, about
        :math:`100K\epsilon`). That happens with valid inputs when the prior's curvature at the mode
        is below the rounding of :math:`\lambda\mathbf C^T\mathbf C` in directions that
        :math:`\mathbf C` cannot see: more codes far in the prior's tail (where
        :math:`\mathrm{sech}^2(\beta_k x_k)` is tiny) than :math:`\mathbf C` has independent
        columns, nearly parallel columns, or an overcomplete :math:`\mathbf C` with a tiny noise
        variance :math:`1/\lambda`. :math:`\log|\mathbf H|` and :math:`\mathbf H^{-1}` would then be
        rounding noise, so the message names the codes, ``model.lam``, ``model.beta`` and the columns
        of ``model.C`` involved instead of returning them.
    """
    model = _check_model(model)
    L, K = model.C.shape
    y = _check_y(y, L)
    res = map_estimate(y, model, method=method, x_init=x_init)
    x0 = res.x0
    H = energy_hessian(x0, model)
    L_H, Sigma = _factor_hessian(H, x0, model)
    lZ = log_Z_joint(model)
    log_ev = -res.energy - lZ + 0.5 * K * np.log(TAU) - 0.5 * chol_logdet(L_H)     # Eq. 2.32 / corrected 2.34
    return LaplaceApproximation(x0, H, Sigma, res.energy, lZ, float(log_ev), res)


def _factor_hessian(H, x0, model):
    """The Cholesky factor of the Hessian at the mode and its inverse, or a ValueError that says why not.

    Refuses a Hessian that is indefinite (only the Cauchy prior's energy has negative curvature) or
    singular to working precision by the rule of ``check_spd`` (see :func:`~pedagogy_lib.core.checks.scaled_min_eig`)."""
    K = H.shape[0]
    tol = spd_tolerance(K)
    with np.errstate(all="ignore"):
        try:
            L_H = np.linalg.cholesky(H)
            Sigma = spd_inverse(L_H)
            worst = float(min(scaled_min_eig(H[None])[0], scaled_min_eig(Sigma[None])[0]))
        except np.linalg.LinAlgError:
            worst = -np.inf
    if worst > tol:
        return L_H, Sigma
    C, lam, alpha, beta, prior = model
    d2 = _d2E(x0, alpha, beta, prior)
    ev_scaled = scaled_min_eig(H[None])[0]
    if prior == "cauchy" and np.any(d2 < 0) and ev_scaled < -tol:
        tail = np.flatnonzero(d2 < 0)
        raise ValueError("The Hessian of E_post at the mode is not positive definite (scaled to unit diagonal, its "
                         f"smallest eigenvalue is {ev_scaled:.3g}), so Laplace's method (Eq. 2.31) does not apply "
                         f"there: the point the MAP solver returned has |x_k| > beta_k for k = "
                         f"{', '.join(str(int(k)) for k in tail)}, where the Cauchy energy's curvature E_k'' is "
                         "negative. At a local mode the Hessian is positive semi-definite, so that point is a saddle "
                         "or short of a mode: try another method or x_init.")
    cc = lam * np.sum(C * C, axis=0)
    worst_txt = f"{worst:.3g}" if np.isfinite(worst) else "not computable (the Cholesky factorization failed)"
    head = ("The Hessian H of E_post at the mode (the precision of Laplace's approximation, Eqs. 2.31 and 2.33) is "
            "singular to working precision: scaled to unit diagonal, the smallest eigenvalue of H or of its inverse "
            f"is {worst_txt}, at most {tol:.2g} (the rule of check_spd, about 100 K machine epsilon with K = {K}), "
            "so log|H| in the log evidence and the covariance H^-1 would be rounding noise. ")
    k = int(np.argmin(d2 / np.maximum(cc, _TINY_POS)))
    why = (f"The prior's curvature E_k''(x0_k) is as small as {d2[k]:.3g} (code k = {k}, x0_k = {x0[k]:.3g}) against "
           f"lam ||c_k||^2 = {cc[k]:.3g} from the data term, whose rounding swamps it in the directions model.C "
           "cannot see. ")
    norms = np.sqrt(np.sum(C * C, axis=0))
    cos_note = ""
    if K > 1 and np.all(norms > 0):
        G = np.abs((C / norms).T @ (C / norms)) - np.eye(K)
        i, j = np.unravel_index(int(np.argmax(G)), G.shape)
        if G[i, j] > 0.9:
            cos_note = (f"Columns {int(i)} and {int(j)} of model.C are nearly parallel (|cos| = {G[i, j]:.10f}). ")
    fix = ("Supported: that scaled smallest eigenvalue above the tolerance, i.e. the prior's curvature at the mode "
           "above about 1e-13 of lam ||c_k||^2. Lower model.lam (a larger noise variance 1/lam), raise model.alpha "
           "or lower model.beta (for the Laplace prior, the surrogate's sharpness; beta_k |x0_k| of a few tens "
           "puts sech^2 below 1e-20), or drop or separate nearly parallel columns of model.C.")
    raise ValueError(head + why + cos_note + fix)


def _log_inner_closed_form(x2, y, C, lam, alpha, prior):
    """log of int exp(-E_joint((x1, x2), y)) dx1 over the real line, for the Laplace or Gaussian prior.

    With r = y - c_2 x2, a = lam c_1.c_1 and b = lam c_1.r, the x1-dependent part of the energy is
    a/2 x1^2 - b x1 + E_1(x1). Gaussian E_1: one Gaussian integral with curvature a + alpha_1. Laplace
    E_1: on each half-line s x1 > 0 the energy is quadratic with linear coefficient b_s = b - s alpha_1,
    and the integral is a Gaussian integral times Phi(s b_s / sqrt(a)).
    """
    c1, c2 = C[:, 0], C[:, 1]
    r = y - c2 * x2
    a, b = lam * (c1 @ c1), lam * (c1 @ r)
    base = -0.5 * lam * (r @ r) - float(_E(np.array([x2]), alpha[1:], None, prior)[0])
    if prior == "gaussian":
        a_post = a + alpha[0]
        return base + 0.5 * b * b / a_post + 0.5 * np.log(TAU / a_post)
    terms = []
    for s in (1.0, -1.0):
        b_s = b - s * alpha[0]
        terms.append(0.5 * b_s * b_s / a + 0.5 * np.log(TAU / a) + special.log_ndtr(s * b_s / np.sqrt(a)))
    return base + np.logaddexp(terms[0], terms[1])


def log_marginal_quadrature(y, model: SparseCodingModel, *, half_width=None, epsrel: float = 1e-10,
                            closed_form_inner: bool = True) -> float:
    r"""Reference :math:`\log\hat p(\mathbf y)` by numerical integration, for :math:`K \le 2`.

    .. math::
        \hat p(\mathbf y) = \frac{1}{Z_\mathrm{joint}}\int\exp\{-E_\mathrm{joint}(\mathbf x,\mathbf y)\}\,d\mathbf x.

    The integrand is rescaled by :math:`e^{E_\mathrm{joint}(\hat{\mathbf x}_0,\mathbf y)}` (its value at the
    mode) to avoid underflow, and integrated over the box :math:`\hat{\mathbf x}_0\pm` ``half_width``
    with adaptive Gauss-Kronrod quadrature (``scipy.integrate.quad``, nested for :math:`K=2`), with
    break points at the mode and at 0 (the kink of the Laplace energy). The default half-width,
    :math:`15\sqrt{\Sigma_{kk}} + 40/\alpha_k` for the Laplace/log-cosh priors (:math:`\Sigma` from
    Laplace's approximation), leaves out tails whose mass is below :math:`e^{-40}` of the total for these
    log-concave posteriors, so the accuracy is set by ``epsrel`` (relative; the tests confirm about
    :math:`10^{-9}` against closed forms). For the heavy-tailed Cauchy prior pass a wide ``half_width``.

    For :math:`K=2` with the Laplace or Gaussian prior (and ``closed_form_inner=True``, the default),
    the inner integral over :math:`x_1` is done exactly: for fixed :math:`x_2` the energy is a quadratic
    in :math:`x_1` plus :math:`\alpha_1|x_1|`, so on each half-line it is a Gaussian integral (an error
    function). Only the outer integral over :math:`x_2` is numerical, which is about 100 times faster
    than the nested quadrature and no less accurate; the tests compare the two.

    Parameters
    ----------
    y : array_like, shape (L,)
    model : SparseCodingModel
        With ``K = 1`` or ``2`` sources.
    half_width : float or array_like, shape (K,), optional
    epsrel : float
        Relative tolerance requested from ``quad`` (at every level).
    closed_form_inner : bool
        Use the exact inner integral when available (see above).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the model or ``y`` is malformed, ``K > 2``, or the integral cannot be resolved in double
        precision (scales of ``model.C``, ``model.alpha`` or ``model.lam`` far from the data's).
    """
    model = _check_model(model)
    L, K = model.C.shape
    if K > 2:
        raise ValueError(f"log_marginal_quadrature integrates over K <= 2 sources; got K = {K} (C has shape "
                         f"{model.C.shape}).")
    y = _check_y(y, L)
    epsrel = _positive_scalar(epsrel, "epsrel")
    method = "lbfgs" if model.prior == "cauchy" else "auto"
    res = map_estimate(y, model, method=method)
    x0, E0 = res.x0, res.energy
    if half_width is None:
        H = energy_hessian(x0, model)
        try:
            sd = np.sqrt(np.diag(spd_inverse(np.linalg.cholesky(H))))
        except np.linalg.LinAlgError:
            sd = np.ones(K)
        extra = 40.0 / model.alpha if model.prior in ("laplace", "logcosh") else 0.0
        if model.prior == "cauchy":
            extra = 1e3 * model.beta
        hw = 15.0 * sd + extra
    else:
        hw = _per_source(half_width, "half_width", K)
    C, lam, alpha, beta, prior = model
    lo, hi = x0 - hw, x0 + hw
    pts = [sorted({0.0, float(x0[k])}) for k in range(K)]
    opts = [{"points": pts[k], "epsrel": epsrel, "epsabs": 0.0, "limit": 200} for k in range(K)]

    if K == 2 and closed_form_inner and prior in ("laplace", "gaussian") and np.any(C[:, 0] != 0):
        def g(x2):
            return np.exp(E0 + _log_inner_closed_form(x2, y, C, lam, alpha, prior))

        val, _ = integrate.quad(g, lo[1], hi[1], **opts[1])
    else:
        def f(*xs):
            x = np.array(xs)                  # nquad integrates over its first argument innermost
            return np.exp(E0 - _joint_energy(x, y, C, lam, alpha, beta, prior))

        val, _ = integrate.nquad(f, [(lo[k], hi[k]) for k in range(K)], opts=opts)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        out = float(np.log(val) - E0 - log_Z_joint(model))
    if not np.isfinite(out):
        raise ValueError("log_marginal_quadrature cannot resolve this model in double precision: the integrand "
                         f"around the mode is {'zero' if val == 0 else 'not finite'} on the quadrature grid. The "
                         "scales of model.C, model.alpha or model.lam are too extreme for it (rescale the data "
                         "and the model, or use laplace_approximation).")
    return out


# ----------------------------------------------------------------------------------------------
# Sampling
# ----------------------------------------------------------------------------------------------

def sample_prior(rng, model: SparseCodingModel, N: int) -> np.ndarray:
    r"""Draw ``N`` source vectors from the factorial prior of Eq. 2.28, as rows of an ``(N, K)`` array.

    Laplace: scale :math:`1/\alpha_k`; Gaussian: variance :math:`1/\alpha_k`; Cauchy: scale :math:`\beta_k`.
    Log-cosh: with :math:`a=\alpha_k/\beta_k`, :math:`u=\beta_k x` has density :math:`\propto\mathrm{sech}^a u`,
    and :math:`t=\tanh u` then has density :math:`\propto(1-t^2)^{a/2-1}`, i.e.
    :math:`(1+t)/2\sim\mathrm{Beta}(a/2,a/2)`.
    """
    rng = check_rng(rng)
    model = _check_model(model)
    N = check_int(N, "N", minimum=1)
    K = model.C.shape[1]
    alpha, beta = model.alpha, model.beta
    if model.prior == "laplace":
        return rng.laplace(0.0, 1.0 / alpha, size=(N, K))
    if model.prior == "gaussian":
        return rng.standard_normal((N, K)) / np.sqrt(alpha)
    if model.prior == "cauchy":
        return beta * rng.standard_cauchy((N, K))
    a = alpha / beta
    b = rng.beta(0.5 * a, 0.5 * a, size=(N, K))
    return np.arctanh(np.clip(2.0 * b - 1.0, -1.0 + 1e-16, 1.0 - 1e-16)) / beta


def sample(rng, model: SparseCodingModel, N: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw ``N`` pairs :math:`(\mathbf x, \mathbf y)` from the model of Eq. 2.28.

    .. math::
        \mathbf x\sim\hat p(\mathbf x), \qquad \mathbf y = \mathbf C\mathbf x + \boldsymbol\varepsilon,
        \qquad \boldsymbol\varepsilon\sim\mathcal N(\mathbf 0,\mathbf I/\lambda).

    Returns
    -------
    X : ndarray, shape (N, K)
    Y : ndarray, shape (N, L)
    """
    rng = check_rng(rng)
    model = _check_model(model)
    X = sample_prior(rng, model, N)
    Y = X @ model.C.T + rng.standard_normal((X.shape[0], model.C.shape[0])) / np.sqrt(model.lam)
    return X, Y
