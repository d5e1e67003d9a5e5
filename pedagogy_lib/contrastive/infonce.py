r"""InfoNCE (Section 10.1.2, Eqs. 10.5-10.11) and its lower bound on mutual information.

Each trial holds :math:`K` examples, one drawn from :math:`p(\mathbf y\mid\mathbf z)` and :math:`K-1` from
the marginal :math:`p(\mathbf y)` (Eq. 10.5). With a critic :math:`h(\mathbf y,\mathbf z)` in place of the
energy difference, the posterior over which example is the positive one is a softmax (Eq. 10.6)
and the loss is its cross entropy (Eq. 10.7),
:math:`\mathcal L = \langle -\log\mathrm{softmax}\{h(\mathbf Y^1,\mathbf Z),\dots,h(\mathbf Y^K,\mathbf Z)\}_+\rangle`.

In a batch of :math:`K` pairs :math:`(\mathbf y_i,\mathbf z_i)` the other :math:`\mathbf y_j` serve as the
negatives of :math:`\mathbf z_i`; the scores form a :math:`K\times K` matrix
:math:`F_{ij} = h(\mathbf y_j,\mathbf z_i)` with the positives on the diagonal. For *every* critic and
every :math:`K` (Oord et al. 2018; Poole et al. 2019),

.. math::
    \mathcal I(\mathbf Y;\mathbf Z) \;\ge\; \log K - \mathcal L_{\text{InfoNCE}}, \qquad \log K - \mathcal L_{\text{InfoNCE}} \le \log K,

the exact form of Eq. 10.11's approximation. The bound is tight as :math:`K\to\infty` for the
optimal critic :math:`\log p(\mathbf y\mid\mathbf z)/p(\mathbf y)` (plus any function of :math:`\mathbf z`,
which the softmax ignores).

Critics here are quadratic, :math:`h(\mathbf y,\mathbf z) = \mathbf z^T\mathbf W\mathbf y + \mathbf y^T\mathbf B\mathbf y`:
with :math:`\mathbf B = \mathbf 0` the bilinear critic of CPC, and for jointly Gaussian
:math:`(\mathbf y,\mathbf z)` a family that contains the exact log density ratio. The loss is convex in
:math:`(\mathbf W,\mathbf B)`; :func:`infonce_grad` gives its gradient and :func:`fit_critic` minimizes it.
"""
from __future__ import annotations

import warnings

from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from ..core.checks import as_array, as_scalar, check_int, check_rng, check_symmetric
from ..core.logmath import logsumexp

__all__ = [
    "QuadraticCritic",
    "InfoNCEEstimate",
    "CriticFit",
    "infonce_loss",
    "critic_scores",
    "gaussian_log_ratio_scores",
    "exact_gaussian_critic",
    "sample_correlated_gaussian",
    "gaussian_mutual_information",
    "infonce_grad",
    "fit_critic",
]


class QuadraticCritic(NamedTuple):
    r"""The critic :math:`h(\mathbf y,\mathbf z) = \mathbf z^T\mathbf W\mathbf y + \mathbf y^T\mathbf B\mathbf y`.

    Attributes
    ----------
    W : ndarray, shape (D_z, D_y)
    B : ndarray, shape (D_y, D_y)
        Symmetric (checked to a relative 1e-8 of its largest entry by every function that takes a critic);
        zero for a bilinear critic.
    """

    W: np.ndarray
    B: np.ndarray


class InfoNCEEstimate(NamedTuple):
    r"""The InfoNCE loss of a set of batches and the bound it gives.

    Attributes
    ----------
    loss : float
        Eq. 10.7 averaged over every anchor of every batch.
    bound : float
        :math:`\log K - \mathcal L`, a lower bound on :math:`\mathcal I(\mathbf Y;\mathbf Z)`.
    se : float
        Standard error of ``loss`` (and of ``bound``) from the spread of the per-batch losses;
        ``nan`` for a single batch.
    K : int
        Examples per trial.
    """

    loss: float
    bound: float
    se: float
    K: int


class CriticFit(NamedTuple):
    """Result of :func:`fit_critic`.

    Attributes
    ----------
    critic : QuadraticCritic
    estimate : InfoNCEEstimate
        On the training batches.
    path : ndarray, shape (n_steps + 1,)
        The training bound :math:`\\log K - \\mathcal L` after each step of the optimizer.
    converged : bool
        Whether the stopping rule of :func:`fit_critic` was met.
    """

    critic: QuadraticCritic
    estimate: InfoNCEEstimate
    path: np.ndarray
    converged: bool = True


def _check_scores(F):
    F = as_array(F, "F")
    if F.ndim == 2:
        F = F[None]
    if F.ndim != 3 or F.shape[1] != F.shape[2] or F.shape[1] < 2:
        raise ValueError(f"F must be a (K, K) or (n_batches, K, K) score matrix with K >= 2; got shape {F.shape}.")
    return F


def _per_batch(F):
    K = F.shape[1]
    diag = np.diagonal(F, axis1=1, axis2=2)
    return (logsumexp(F, axis=2) - diag).mean(axis=1), K


def _estimate(per_batch, K):
    loss = float(per_batch.mean())
    se = float(per_batch.std(ddof=1) / np.sqrt(len(per_batch))) if len(per_batch) > 1 else float("nan")
    return InfoNCEEstimate(loss, float(np.log(K) - loss), se, K)


def infonce_loss(F) -> InfoNCEEstimate:
    r"""The InfoNCE loss (Eq. 10.7) from score matrices :math:`F_{ij} = h(\mathbf y_j,\mathbf z_i)`.

    Row :math:`i` is the softmax over the :math:`K` candidates for anchor :math:`\mathbf z_i`, whose
    positive is candidate :math:`i` (Eq. 10.6); the loss is :math:`-\log` of that probability,
    averaged over anchors and batches. The estimate's ``bound`` is :math:`\log K - \mathcal L`, the
    lower bound on :math:`\mathcal I(\mathbf Y;\mathbf Z)` of Eq. 10.11.

    Parameters
    ----------
    F : array_like, shape (K, K) or (n_batches, K, K)
        Scores, with :math:`K\ge 2`.

    Returns
    -------
    InfoNCEEstimate
    """
    return _estimate(*_per_batch(_check_scores(F)))


def _check_pairs(y, z, K):
    y = as_array(y, "y", ndim=2, dims="(N, D_y)", nonempty=True)
    z = as_array(z, "z", ndim=2, dims="(N, D_z)", nonempty=True)
    if z.shape[0] != y.shape[0]:
        raise ValueError(f"z must have N = {y.shape[0]} rows like y; got shape {z.shape}.")
    K = check_int(K, "K", minimum=2)
    if y.shape[0] % K:
        raise ValueError(f"the number of rows of y (N = {y.shape[0]}) must be a multiple of K = {K}, "
                         "one batch of K pairs per trial.")
    return y, z, K


def _check_critic(critic, D_y, D_z, name="critic"):
    if not isinstance(critic, QuadraticCritic):
        raise TypeError(f"{name} must be a QuadraticCritic; got {type(critic).__name__}.")
    W = as_array(critic.W, "W", shape=(D_z, D_y), dims="(D_z, D_y)")
    B = as_array(critic.B, "B", shape=(D_y, D_y), dims="(D_y, D_y)")
    check_symmetric(B, f"{name}.B")               # documented symmetric: y^T B y sees only its symmetric part
    return W, B


def _scores(W, B, y, z, K):
    n = y.shape[0] // K
    Yb = y.reshape(n, K, -1)
    Zb = z.reshape(n, K, -1)
    quad = np.einsum("bjd,de,bje->bj", Yb, B, Yb)
    return np.einsum("bid,de,bje->bij", Zb, W, Yb) + quad[:, None, :], Yb, Zb


def critic_scores(critic: QuadraticCritic, y, z, K: int) -> np.ndarray:
    r"""Score matrices :math:`F_{ij} = h(\mathbf y_j,\mathbf z_i)` of a quadratic critic, batch by batch.

    Parameters
    ----------
    critic : QuadraticCritic
    y : array_like, shape (N, D_y)
    z : array_like, shape (N, D_z)
        Paired rows; consecutive blocks of ``K`` rows form one batch (shuffle beforehand if the
        rows are ordered, e.g. in time).
    K : int
        Batch size, at least 2; it must divide ``N``.

    Returns
    -------
    ndarray, shape (N // K, K, K)
    """
    y, z, K = _check_pairs(y, z, K)
    W, B = _check_critic(critic, y.shape[1], z.shape[1])
    return _scores(W, B, y, z, K)[0]


def _check_rho(rho):
    rho = as_scalar(rho, "rho")
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie strictly between -1 and 1; got {rho}.")
    return rho


def gaussian_log_ratio_scores(y, z, rho, K: int) -> np.ndarray:
    r"""Scores of the optimal critic :math:`\log p(\mathbf y_j\mid\mathbf z_i) - \log p(\mathbf y_j)` for correlated Gaussians.

    For standard normal :math:`\mathbf y,\mathbf z` with :math:`\mathrm{Cov}(y_d, z_d) = \rho` in each dimension
    (:func:`sample_correlated_gaussian`),
    :math:`\log\frac{p(\mathbf y\mid\mathbf z)}{p(\mathbf y)} = \sum_d\big[-\tfrac12\log(1-\rho^2) - \frac{(y_d-\rho z_d)^2}{2(1-\rho^2)} + \frac{y_d^2}{2}\big]`.
    Arguments as :func:`critic_scores`, with ``rho`` in (-1, 1).
    """
    y, z, K = _check_pairs(y, z, K)
    if z.shape[1] != y.shape[1]:
        raise ValueError(f"z must have D = {y.shape[1]} columns like y; got shape {z.shape}.")
    rho = _check_rho(rho)
    n = y.shape[0] // K
    Yb = y.reshape(n, K, -1)
    Zb = z.reshape(n, K, -1)
    s2 = (1.0 - rho) * (1.0 + rho)        # 1 - rho^2 without rounding rho^2 (1 - rho is exact near 1)
    diff = Yb[:, None, :, :] - rho * Zb[:, :, None, :]
    return (-0.5 * np.log(s2) - 0.5 * diff ** 2 / s2 + 0.5 * Yb[:, None, :, :] ** 2).sum(axis=3)


def exact_gaussian_critic(rho, D: int = 1) -> QuadraticCritic:
    r"""The quadratic critic equal to the log density ratio up to a function of :math:`\mathbf z`.

    Expanding :func:`gaussian_log_ratio_scores`, the terms in :math:`\mathbf y` are
    :math:`\frac{\rho}{1-\rho^2}\mathbf z^T\mathbf y - \frac{\rho^2}{2(1-\rho^2)}\mathbf y^T\mathbf y`, so
    :math:`\mathbf W = \frac{\rho}{1-\rho^2}\mathbf I` and :math:`\mathbf B = -\frac{\rho^2}{2(1-\rho^2)}\mathbf I`.
    The rest depends on :math:`\mathbf z` alone, which the softmax over the candidates ignores.
    """
    rho = _check_rho(rho)
    D = check_int(D, "D", minimum=1)
    s2 = (1.0 - rho) * (1.0 + rho)        # as in gaussian_log_ratio_scores
    return QuadraticCritic(rho / s2 * np.eye(D), -0.5 * rho * rho / s2 * np.eye(D))


def sample_correlated_gaussian(n: int, D: int, rho, *, rng) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw :math:`n` pairs :math:`\mathbf z\sim\mathcal N(\mathbf 0,\mathbf I)`, :math:`\mathbf y = \rho\mathbf z + \sqrt{1-\rho^2}\,\boldsymbol\varepsilon`.

    Returns
    -------
    y, z : ndarray, shape (n, D) each
    """
    n = check_int(n, "n", minimum=1)
    D = check_int(D, "D", minimum=1)
    rho = _check_rho(rho)
    rng = check_rng(rng)
    z = rng.standard_normal((n, D))
    y = rho * z + np.sqrt((1.0 - rho) * (1.0 + rho)) * rng.standard_normal((n, D))
    return y, z


def gaussian_mutual_information(rho, D: int = 1) -> float:
    r""":math:`\mathcal I(\mathbf Y;\mathbf Z) = -\tfrac D2\log(1-\rho^2)` nats for :func:`sample_correlated_gaussian`.

    The mutual information on the left of Eq. 10.11, which the InfoNCE bound never exceeds. Computed as
    :math:`\log(1-\rho)+\log(1+\rho)` near :math:`|\rho| = 1`, where :math:`1-\rho^2` would lose the digits
    of :math:`1-|\rho|`, and as :math:`\log(1-\rho^2)` for :math:`|\rho| < 1/2`, where the two logarithms
    would nearly cancel (at :math:`\rho = 10^{-12}` they leave 4e-5 of relative error, at :math:`10^{-16}`
    all of it).
    """
    rho = _check_rho(rho)
    D = check_int(D, "D", minimum=1)
    log_1m_rho2 = np.log1p(-rho * rho) if abs(rho) < 0.5 else np.log1p(-rho) + np.log1p(rho)
    return float(-0.5 * D * log_1m_rho2)


def _loss_grad(W, B, y, z, K):
    F, Yb, Zb = _scores(W, B, y, z, K)
    lse = logsumexp(F, axis=2)
    per_batch = (lse - np.diagonal(F, axis1=1, axis2=2)).mean(axis=1)
    P = np.exp(F - lse[:, :, None])                      # softmax over candidates j
    R = P - np.eye(K)[None]                              # d loss_i / d F_ij
    count = F.shape[0] * K
    dW = np.einsum("bij,bid,bje->de", R, Zb, Yb) / count
    col = R.sum(axis=1)                                  # weight of candidate j in the y^T B y terms
    dB = np.einsum("bj,bjd,bje->de", col, Yb, Yb) / count
    return per_batch, dW, dB


def infonce_grad(critic: QuadraticCritic, y, z, K: int) -> tuple[float, np.ndarray, np.ndarray]:
    r"""The InfoNCE loss (Eq. 10.7) of a quadratic critic and its gradient.

    With :math:`P_{ij}` the softmax of row :math:`i`,
    :math:`\partial\mathcal L/\partial\mathbf W = \langle\sum_j(P_{ij} - \delta_{ij})\mathbf z_i\mathbf y_j^T\rangle_i`
    and :math:`\partial\mathcal L/\partial\mathbf B = \langle\sum_j(P_{ij} - \delta_{ij})\mathbf y_j\mathbf y_j^T\rangle_i`.
    Arguments as :func:`critic_scores`.

    Returns
    -------
    loss : float
    dW : ndarray, shape (D_z, D_y)
    dB : ndarray, shape (D_y, D_y)
    """
    y, z, K = _check_pairs(y, z, K)
    W, B = _check_critic(critic, y.shape[1], z.shape[1])
    per_batch, dW, dB = _loss_grad(W, B, y, z, K)
    return float(per_batch.mean()), dW, dB


#: The stopping rule of :func:`fit_critic`: the largest gradient entry (scipy's default ``gtol``),
#: or the relative decrease L-BFGS predicts for its next step (the order of its default ``ftol``).
_CRITIC_GTOL = 1e-5
_CRITIC_RTOL = 1e-8


def fit_critic(y, z, K: int, critic0: QuadraticCritic | None = None, *, learn_B: bool = True,
               max_iter: int = 200) -> CriticFit:
    r"""Minimize the InfoNCE loss (Eq. 10.7) over a quadratic critic by L-BFGS with :func:`infonce_grad`.

    Parameters
    ----------
    y, z, K
        As in :func:`critic_scores`.
    critic0 : QuadraticCritic, optional
        Starting point; zeros by default.
    learn_B : bool
        Fit :math:`\mathbf B` too (otherwise it stays at ``critic0.B``: a bilinear critic when zero).
    max_iter : int
        Iterations of L-BFGS.

    Returns
    -------
    CriticFit
        With ``converged`` judged by our own rule at the answer, not by the optimizer's ``success``
        flag (which depends on rounding): the largest gradient entry is at most :math:`10^{-5}`
        (scipy's default ``gtol``, far above the gradient's rounding for a loss of size
        :math:`\log K`), or the run ended before ``max_iter`` and the decrease that L-BFGS predicts
        for its next step, :math:`\tfrac12\mathbf g^T\tilde{\mathbf H}^{-1}\mathbf g`, is at most
        :math:`10^{-8}\max(1, |\mathcal L|)` (the order of scipy's default ``ftol``: the loss no longer
        decreases to the precision asked for). Otherwise a ``RuntimeWarning``.
    """
    y, z, K = _check_pairs(y, z, K)
    Dy, Dz = y.shape[1], z.shape[1]
    if critic0 is None:
        critic0 = QuadraticCritic(np.zeros((Dz, Dy)), np.zeros((Dy, Dy)))
    W0, B0 = _check_critic(critic0, Dy, Dz, "critic0")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    nW = Dz * Dy

    def unpack(x):
        W = x[:nW].reshape(Dz, Dy)
        if not learn_B:
            return W, B0
        Bh = x[nW:].reshape(Dy, Dy)
        return W, 0.5 * (Bh + Bh.T)

    def fun(x):
        W, B = unpack(x)
        per_batch, dW, dB = _loss_grad(W, B, y, z, K)
        g = dW.ravel() if not learn_B else np.concatenate([dW.ravel(), (0.5 * (dB + dB.T)).ravel()])
        return float(per_batch.mean()), g

    x0 = W0.ravel() if not learn_B else np.concatenate([W0.ravel(), B0.ravel()])
    path = [np.log(K) - fun(x0)[0]]
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter},
                   callback=lambda xk: path.append(np.log(K) - fun(xk)[0]))
    W, B = unpack(res.x)
    per_batch = _loss_grad(W, B, y, z, K)[0]
    loss, g = fun(res.x)
    converged = bool(np.max(np.abs(g)) <= _CRITIC_GTOL)
    if not converged and int(res.nit) < max_iter:
        predicted = 0.5 * float(g @ res.hess_inv.matvec(g))
        converged = predicted <= _CRITIC_RTOL * max(1.0, abs(loss))
    if not converged:
        warnings.warn(f"fit_critic: L-BFGS did not converge in {int(res.nit)} iterations (max_iter = {max_iter}); the "
                      f"largest gradient entry is {np.max(np.abs(g)):.3g}.", RuntimeWarning, stacklevel=2)
    return CriticFit(QuadraticCritic(W, B), _estimate(per_batch, K), np.array(path), converged)
