r"""The VAE's gradients through the Gaussian identities (Section 8.2, Eqs. 8.13-8.17 and 8.19).

For one datum :math:`\mathbf y`, a recognition distribution :math:`\check p(\mathbf x\mid\mathbf y) =
\mathcal N(\boldsymbol\nu,\boldsymbol\Upsilon)` (Eq. 8.12), the standard normal prior and an emission
energy :math:`E_{\text{emiss}}(\mathbf x,\mathbf y,\boldsymbol\theta)` (Eqs. 8.15 and 8.18), the joint
relative entropy is, up to terms that depend on neither :math:`\boldsymbol\nu` nor
:math:`\boldsymbol\Upsilon` nor :math:`\boldsymbol\theta`,

.. math::
    \mathcal L(\boldsymbol\nu,\boldsymbol\Upsilon,\boldsymbol\theta)
    = \mathbb E\big[E_{\text{emiss}}(\check{\mathbf X})\big]
      + \tfrac12\big(\boldsymbol\nu^{\mathsf T}\boldsymbol\nu + \operatorname{tr}\boldsymbol\Upsilon\big)
      - \tfrac12\log\lvert\boldsymbol\Upsilon\rvert .

Two ways to estimate its gradients from standard normal draws :math:`\check{\mathbf z}_s` (passed in;
nothing here draws random numbers), with :math:`\check{\mathbf x}_s = \boldsymbol\nu + \mathbf L\check{\mathbf z}_s`
and :math:`\mathbf L` the lower Cholesky factor of :math:`\boldsymbol\Upsilon`:

* :func:`hessian_route_gradients`: the identities of Eqs. 8.3-8.4 (Bonnet's and Price's theorems), the
  gradient in the mean is the expected gradient and the gradient in the covariance half the expected
  Hessian; averaged over the draws this is Eqs. 8.16-8.17 (the matrices inside the traces) and Eq. 8.19;
* :func:`pathwise_gradients`: the reparameterization of Eq. 8.24, differentiating
  :math:`E_{\text{emiss}}(\boldsymbol\nu + \mathbf L\check{\mathbf z})` through the path, which needs only
  the gradient in :math:`\mathbf x`.

In both the prior's and the entropy's parts are exact; only the emission's expectation is sampled. The
emission is given as callables of one latent vector (their closures hold :math:`\mathbf y` and
:math:`\boldsymbol\theta`). For a learned emission covariance the energy must include
:math:`\tfrac12\log\lvert\boldsymbol\Sigma(\mathbf x,\boldsymbol\theta)\rvert`, which Eq. 8.18 leaves out
(see the errata).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..core.checks import as_array, check_callable, check_spd, check_symmetric

__all__ = ["GaussianGradients", "PathwiseGradients", "hessian_route_gradients", "pathwise_gradients"]


class GaussianGradients(NamedTuple):
    r"""Estimates of Eqs. 8.16, 8.17 and 8.19 for one datum (:func:`hessian_route_gradients`).

    Attributes
    ----------
    d_nu : ndarray, shape (K,)
        :math:`d\mathcal L/d\boldsymbol\nu`, the average emission gradient plus :math:`\boldsymbol\nu`
        (the vector in Eq. 8.16).
    d_Upsilon : ndarray, shape (K, K)
        :math:`d\mathcal L/d\boldsymbol\Upsilon`, half of the average emission Hessian minus
        :math:`\boldsymbol\Upsilon^{-1}` plus :math:`\mathbf I` (the matrix in the trace of Eq. 8.17,
        with its factor one half).
    d_theta : ndarray, shape (P,), or None
        :math:`d\mathcal L/d\boldsymbol\theta`, the average of :math:`\partial E_{\text{emiss}}/\partial
        \boldsymbol\theta` (Eq. 8.19); ``None`` when no ``grad_theta`` was given.
    d_nu_draws : ndarray, shape (S, K)
        The single-draw estimates whose average is ``d_nu``.
    d_Upsilon_draws : ndarray, shape (S, K, K)
        The single-draw estimates whose average is ``d_Upsilon``.
    """

    d_nu: np.ndarray
    d_Upsilon: np.ndarray
    d_theta: np.ndarray | None
    d_nu_draws: np.ndarray
    d_Upsilon_draws: np.ndarray


class PathwiseGradients(NamedTuple):
    r"""Reparameterized (pathwise) estimates of the same gradients (:func:`pathwise_gradients`).

    Attributes
    ----------
    d_nu : ndarray, shape (K,)
        :math:`d\mathcal L/d\boldsymbol\nu`; with the same draws it equals the Hessian route's.
    d_L : ndarray, shape (K, K), lower triangular
        :math:`d\mathcal L/d\mathbf L` for the free entries of the Cholesky factor
        (:math:`\boldsymbol\Upsilon = \mathbf L\mathbf L^{\mathsf T}`), the gradient a reparameterized VAE
        backpropagates.
    d_Upsilon : ndarray, shape (K, K)
        The same information as a symmetric estimate of :math:`d\mathcal L/d\boldsymbol\Upsilon`,
        whose expectation is the Hessian route's (for comparing the two in expectation and in spread).
    d_theta : ndarray, shape (P,), or None
        As in :class:`GaussianGradients` (the path does not change Eq. 8.19).
    d_L_draws : ndarray, shape (S, K, K)
        The single-draw estimates whose average is ``d_L``.
    d_Upsilon_draws : ndarray, shape (S, K, K)
        The single-draw estimates whose average is ``d_Upsilon``.
    """

    d_nu: np.ndarray
    d_L: np.ndarray
    d_Upsilon: np.ndarray
    d_theta: np.ndarray | None
    d_L_draws: np.ndarray
    d_Upsilon_draws: np.ndarray


def _check_moments(nu, Upsilon, Z):
    """Validated ``(nu, Upsilon, Z, L)``: shapes (K,), (K, K) SPD, (S, K); L the lower Cholesky factor."""
    nu = as_array(nu, "nu", ndim=1, dims="(K,)", nonempty=True)
    K = nu.shape[0]
    Upsilon = as_array(Upsilon, "Upsilon", shape=(K, K), dims="(K, K)")
    L = check_spd(Upsilon, "Upsilon")
    Z = as_array(Z, "Z", shape=(None, K), dims="(S, K)")
    if Z.shape[0] == 0:
        raise ValueError("Z must hold at least one draw (shape (S, K) with S >= 1); got shape (0, "
                         f"{K}).")
    return nu, Upsilon, Z, L


def _call(fn, x, name: str, shape, dims: str, s: int) -> np.ndarray:
    """``fn(x)`` as a finite float array of ``shape`` (``None`` matches any length); errors name ``name``."""
    out = fn(x.copy())
    return as_array(out, f"{name}(x) at draw {s}", shape=shape, dims=dims)


def _theta_terms(grad_theta, X) -> np.ndarray | None:
    if grad_theta is None:
        return None
    check_callable(grad_theta, "grad_theta", "of x returning dE_emiss/dtheta, shape (P,)")
    first = _call(grad_theta, X[0], "grad_theta", (None,), "(P,)", 0)
    out = np.empty((X.shape[0], first.shape[0]))
    out[0] = first
    for s in range(1, X.shape[0]):
        out[s] = _call(grad_theta, X[s], "grad_theta", first.shape, "(P,)", s)
    return out


def hessian_route_gradients(nu, Upsilon, Z, grad_x: Callable, hess_x: Callable,
                            grad_theta: Callable | None = None) -> GaussianGradients:
    r"""Monte Carlo estimates of Eqs. 8.16, 8.17 and 8.19 for one datum through the Gaussian identities.

    With :math:`\check{\mathbf x}_s = \boldsymbol\nu + \mathbf L\check{\mathbf z}_s`,
    :math:`\mathbf g_s = \partial E_{\text{emiss}}/\partial\hat{\mathbf x}` and
    :math:`\mathbf H_s = \partial^2E_{\text{emiss}}/\partial\hat{\mathbf x}\partial\hat{\mathbf x}^{\mathsf T}`
    at :math:`\check{\mathbf x}_s`,

    .. math::
        \frac{d\mathcal L}{d\boldsymbol\nu} \approx \langle\mathbf g_s\rangle + \boldsymbol\nu,\qquad
        \frac{d\mathcal L}{d\boldsymbol\Upsilon} \approx
        \tfrac12\big(\langle\mathbf H_s\rangle - \boldsymbol\Upsilon^{-1} + \mathbf I\big),\qquad
        \frac{d\mathcal L}{d\boldsymbol\theta} \approx
        \Big\langle\frac{\partial E_{\text{emiss}}}{\partial\boldsymbol\theta}(\check{\mathbf x}_s)\Big\rangle .

    The first two are the vector of Eq. 8.16 and the matrix in the trace of Eq. 8.17 (Eqs. 8.13-8.14 with
    the standard normal prior of Eq. 8.15, whose energy contributes :math:`\boldsymbol\nu` and
    :math:`\mathbf I`); the third is Eq. 8.19. The chain rule into the recognition network's parameters,
    :math:`\partial\boldsymbol\nu^{\mathsf T}/\partial\boldsymbol\phi_\nu` and
    :math:`\operatorname{tr}[\cdot\,\partial\boldsymbol\Upsilon/\partial\phi^i_\Upsilon]`, is left to the caller.
    The matrix gradient treats the entries of :math:`\boldsymbol\Upsilon` as free (it is symmetric, and
    :math:`\operatorname{tr}[\mathbf G\,\delta\boldsymbol\Upsilon]` is the change along a symmetric
    :math:`\delta\boldsymbol\Upsilon`).

    Parameters
    ----------
    nu : array_like, shape (K,)
        Recognition mean :math:`\boldsymbol\nu`.
    Upsilon : array_like, shape (K, K)
        Recognition covariance :math:`\boldsymbol\Upsilon`, symmetric positive definite.
    Z : array_like, shape (S, K)
        Standard normal draws :math:`\check{\mathbf z}_s`, one per row (S >= 1).
    grad_x : callable
        ``grad_x(x)`` for ``x`` of shape (K,) returns :math:`\partial E_{\text{emiss}}/\partial\hat{\mathbf x}`,
        shape (K,).
    hess_x : callable
        ``hess_x(x)`` returns the symmetric Hessian in :math:`\hat{\mathbf x}`, shape (K, K).
    grad_theta : callable, optional
        ``grad_theta(x)`` returns :math:`\partial E_{\text{emiss}}/\partial\boldsymbol\theta`, shape (P,).

    Returns
    -------
    GaussianGradients
        ``(d_nu, d_Upsilon, d_theta, d_nu_draws, d_Upsilon_draws)``.

    Raises
    ------
    ValueError
        If ``nu``, ``Upsilon`` or ``Z`` is malformed, not finite, or ``Upsilon`` is not symmetric positive
        definite; or if a callable returns an array of the wrong shape, a non-finite one, or (``hess_x``)
        a matrix that is not symmetric.
    TypeError
        If a callable is not callable or returns something that is not numeric.
    """
    nu, Upsilon, Z, L = _check_moments(nu, Upsilon, Z)
    check_callable(grad_x, "grad_x", "of x returning dE_emiss/dx, shape (K,)")
    check_callable(hess_x, "hess_x", "of x returning the Hessian of E_emiss in x, shape (K, K)")
    S, K = Z.shape
    X = nu + Z @ L.T
    G = np.empty((S, K))
    H = np.empty((S, K, K))
    for s in range(S):
        G[s] = _call(grad_x, X[s], "grad_x", (K,), "(K,)", s)
        H[s] = _call(hess_x, X[s], "hess_x", (K, K), "(K, K)", s)
        check_symmetric(H[s], f"hess_x(x) at draw {s}")
    theta = _theta_terms(grad_theta, X)
    U_inv = np.linalg.inv(Upsilon)
    U_inv = 0.5 * (U_inv + U_inv.T)
    d_nu_draws = G + nu                                        # Eq. 8.16: emission gradient + prior's nu
    d_U_draws = 0.5 * (H - U_inv + np.eye(K))                  # Eq. 8.17: 1/2 (Hessian - Upsilon^-1 + I)
    return GaussianGradients(d_nu_draws.mean(axis=0), d_U_draws.mean(axis=0),
                             None if theta is None else theta.mean(axis=0), d_nu_draws, d_U_draws)


def pathwise_gradients(nu, Upsilon, Z, grad_x: Callable, grad_theta: Callable | None = None) -> PathwiseGradients:
    r"""Reparameterized (pathwise, Eq. 8.24) estimates of the gradients of :func:`hessian_route_gradients`.

    With :math:`\check{\mathbf x}_s = \boldsymbol\nu + \mathbf L\check{\mathbf z}_s` and
    :math:`\mathbf g_s` the emission gradient there, the chain rule through the path gives, per draw,
    :math:`\mathbf g_s` for :math:`\boldsymbol\nu` and :math:`\mathbf g_s\check{\mathbf z}_s^{\mathsf T}` for
    the entries of :math:`\mathbf L`; the exact prior and entropy terms add :math:`\boldsymbol\nu`, and
    :math:`\mathbf L - \operatorname{diag}(1/L_{kk})` for the free (lower) entries of :math:`\mathbf L`:

    .. math::
        \frac{d\mathcal L}{d\mathbf L} \approx
        \operatorname{tril}\big\langle\mathbf g_s\check{\mathbf z}_s^{\mathsf T}\big\rangle
        + \mathbf L - \operatorname{diag}(1/L_{kk}) .

    For a comparison with the Hessian route in the coordinates of :math:`\boldsymbol\Upsilon`, the same
    draws also give the symmetric estimate
    :math:`\tfrac12\operatorname{sym}(\mathbf g_s\check{\mathbf z}_s^{\mathsf T}\mathbf L^{-1})
    + \tfrac12(\mathbf I - \boldsymbol\Upsilon^{-1})`, where :math:`\operatorname{sym}(\mathbf A) =
    (\mathbf A + \mathbf A^{\mathsf T})/2`. Its expectation is that of Eq. 8.17's matrix, because
    :math:`\mathbb E[\mathbf g\check{\mathbf z}^{\mathsf T}] = \mathbb E[\mathbf H]\mathbf L` (Stein's
    lemma, the one-step integration by parts behind Eq. 8.3), and the two estimates of
    :math:`d\mathcal L/d\mathbf L` agree in expectation through
    :math:`d\mathcal L/d\mathbf L = \operatorname{tril}(2\,(d\mathcal L/d\boldsymbol\Upsilon)\,\mathbf L)`.

    Parameters
    ----------
    nu, Upsilon, Z, grad_x, grad_theta
        As in :func:`hessian_route_gradients`; no Hessian is needed.

    Returns
    -------
    PathwiseGradients
        ``(d_nu, d_L, d_Upsilon, d_theta, d_L_draws, d_Upsilon_draws)``.

    Raises
    ------
    ValueError
        If ``nu``, ``Upsilon`` or ``Z`` is malformed, not finite, or ``Upsilon`` is not symmetric positive
        definite; or if a callable returns an array of the wrong shape or a non-finite one.
    TypeError
        If a callable is not callable or returns something that is not numeric.
    """
    nu, Upsilon, Z, L = _check_moments(nu, Upsilon, Z)
    check_callable(grad_x, "grad_x", "of x returning dE_emiss/dx, shape (K,)")
    S, K = Z.shape
    X = nu + Z @ L.T
    G = np.empty((S, K))
    for s in range(S):
        G[s] = _call(grad_x, X[s], "grad_x", (K,), "(K,)", s)
    theta = _theta_terms(grad_theta, X)
    L_inv = np.linalg.inv(L)
    U_inv = L_inv.T @ L_inv
    outer = G[:, :, None] * Z[:, None, :]                      # g_s z_s^T
    d_L_draws = np.tril(outer) + (L - np.diag(1.0 / np.diag(L)))
    A = outer @ L_inv                                          # g_s z_s^T L^{-1} = g_s (x_s - nu)^T Upsilon^{-1}
    d_U_draws = 0.25 * (A + np.swapaxes(A, 1, 2)) + 0.5 * (np.eye(K) - U_inv)
    d_nu_draws = G + nu
    return PathwiseGradients(d_nu_draws.mean(axis=0), d_L_draws.mean(axis=0), d_U_draws.mean(axis=0),
                             None if theta is None else theta.mean(axis=0), d_L_draws, d_U_draws)
