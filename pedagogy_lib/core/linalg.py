r"""Small linear-algebra helpers shared by every Gaussian computation in the library.

Solves use Cholesky factors, never explicit inverses; covariances are symmetrized after each
update so that rounding cannot make them drift away from symmetry.

The book writes :math:`\tau = 2\pi` (Chapter 1), so the Gaussian normalizer is
:math:`\tau^{K/2}|\boldsymbol\Sigma|^{1/2}`; the constant is :data:`TAU`.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve, solve_triangular

__all__ = ["TAU", "symmetrize", "chol_solve", "chol_logdet", "chol_logdet_trace", "spd_inverse", "mvn_logpdf_chol"]

#: The circle constant of the book, :math:`\tau = 2\pi`.
TAU = 2.0 * np.pi


def symmetrize(S: np.ndarray) -> np.ndarray:
    """Return ``(S + S^T) / 2`` over the last two axes."""
    return 0.5 * (S + np.swapaxes(S, -1, -2))


def chol_solve(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    r"""Solve :math:`\mathbf S \mathbf X = \mathbf B` given the lower Cholesky factor ``L`` of :math:`\mathbf S`."""
    return cho_solve((L, True), B, check_finite=False)


def chol_logdet(L: np.ndarray) -> float:
    r"""Return :math:`\log|\mathbf S|` from the lower Cholesky factor ``L`` of :math:`\mathbf S`."""
    return 2.0 * float(np.sum(np.log(np.diag(L))))


def chol_logdet_trace(L: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""For a stack ``L`` (K, d, d) of lower Cholesky factors of :math:`\boldsymbol\Sigma_k` and a stack ``S`` of
    symmetric matrices: :math:`\log|\boldsymbol\Sigma_k|` and :math:`\mathrm{tr}(\boldsymbol\Sigma_k^{-1}\mathbf S_k)`,
    each (K,), in a few calls for the whole stack (the Gaussian terms of an EM bound)."""
    L_inv = np.linalg.inv(L)
    precision = np.swapaxes(L_inv, -1, -2) @ L_inv               # Sigma_k^{-1} = L_k^{-T} L_k^{-1}
    logdet = 2.0 * np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
    return logdet, np.einsum("kij,kij->k", precision, S)


def spd_inverse(L: np.ndarray) -> np.ndarray:
    """Return the (symmetrized) inverse of ``S = L L^T`` from its Cholesky factor."""
    Linv = solve_triangular(L, np.eye(L.shape[0]), lower=True, check_finite=False)
    return symmetrize(Linv.T @ Linv)


def mvn_logpdf_chol(y: np.ndarray, mu: np.ndarray, L: np.ndarray) -> np.ndarray:
    r"""Log density of :math:`\mathcal N(\boldsymbol\mu, \mathbf L\mathbf L^T)` at the rows of ``y``.

    .. math:: \log\mathcal N(\mathbf y;\boldsymbol\mu,\boldsymbol\Sigma) =
              -\tfrac12(\mathbf y-\boldsymbol\mu)^T\boldsymbol\Sigma^{-1}(\mathbf y-\boldsymbol\mu)
              -\tfrac12\log|\boldsymbol\Sigma| - \tfrac{D}{2}\log\tau

    ``y`` has shape ``(D,)`` or ``(N, D)``; the result has shape ``()`` or ``(N,)``.
    Inputs are assumed validated.
    """
    D = L.shape[0]
    diff = np.atleast_2d(y) - mu
    white = solve_triangular(L, diff.T, lower=True, check_finite=False)   # L^{-1}(y - mu)
    out = -0.5 * np.sum(white**2, axis=0) - 0.5 * chol_logdet(L) - 0.5 * D * np.log(TAU)
    return out if np.ndim(y) == 2 else out[0]
