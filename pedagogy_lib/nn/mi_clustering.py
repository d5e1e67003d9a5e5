r"""Clustering by maximizing mutual information with a softmax classifier, with or without a few labels
(book Section 5.2.1, the closing "Semi-supervised" clustering).

The discriminative route of Bridle, Heading and MacKay (1992, "Unsupervised classifiers, mutual
information and 'phantom targets'"): a classifier with no targets at all,

.. math:: q(k\mid\mathbf y) = \mathrm{softmax}\{\mathbf W\mathbf y + \mathbf b\}_k,

is trained to make its output tell as much as possible about its input. Written with the
empirical distribution of the data, the mutual information between the input and the label is

.. math:: \hat{\mathcal I} = H\big[\langle q(\cdot\mid\mathbf Y)\rangle\big]
          - \big\langle H[q(\cdot\mid\mathbf Y)]\big\rangle
          = \big\langle \mathrm D_{\mathrm{KL}}\{q(\cdot\mid\mathbf Y)\,\|\,\bar{\mathbf q}\}\big\rangle,
          \qquad \bar{\mathbf q} = \langle q(\cdot\mid\mathbf Y)\rangle:

the first term, the entropy of the average assignment, is largest when the clusters are equally
used; the second, the average entropy of one assignment, is smallest when every point is assigned
confidently. As in the rest of Section 5.2.1, an invertible map would make the information
trivial; here the output is a discrete label, so information is scarce and must be spent well.

**Semi-supervised objective.** For the labelled points :math:`\mathcal L` (classes :math:`c_m`)
the classifier's average log-probability of the label is added with a weight :math:`\lambda`, and
an optional weight decay :math:`\gamma` keeps :math:`\mathbf W` finite (without it, making every
assignment more confident always raises :math:`\hat{\mathcal I}`; the penalty is the
"regularized information maximization" of Krause, Perona and Gomes, 2010, not in Bridle et al.),

.. math:: \mathcal F(\mathbf W, \mathbf b) = \hat{\mathcal I}
          + \frac{\lambda}{|\mathcal L|}\sum_{m\in\mathcal L}\log q(c_m\mid\mathbf y_m)
          - \frac\gamma2\|\mathbf W\|_F^2 .

The information term is estimated on *all* points, labelled or not; the label term is absent
when no point is labelled.

**Gradient** (derived step by step on the page of Section 5.2.1). With logits
:math:`\mathbf a_n = \mathbf W\mathbf y_n + \mathbf b`, the softmax Jacobian turns a derivative
:math:`\mathbf g` with respect to :math:`\mathbf q_n` into
:math:`\mathbf q_n\odot(\mathbf g - \mathbf q_n^T\mathbf g)` with respect to :math:`\mathbf a_n`.
For the information term :math:`\partial\hat{\mathcal I}/\partial\mathbf q_n =
\frac1N(\log\mathbf q_n - \log\bar{\mathbf q})` (the constants cancel), so with
:math:`u_{nk} = \log(q_{nk}/\bar q_k)`,

.. math:: \frac{\partial\mathcal F}{\partial\mathbf a_n} =
          \frac1N\,\mathbf q_n\odot\big(\mathbf u_n - \mathbf q_n^T\mathbf u_n\big)
          + [n\in\mathcal L]\,\frac{\lambda}{|\mathcal L|}\big(\mathbf e_{c_n} - \mathbf q_n\big),
          \qquad
          \frac{\partial\mathcal F}{\partial\mathbf W} = \sum_n\frac{\partial\mathcal F}{\partial\mathbf a_n}\mathbf y_n^T
          - \gamma\mathbf W,
          \qquad
          \frac{\partial\mathcal F}{\partial\mathbf b} = \sum_n\frac{\partial\mathcal F}{\partial\mathbf a_n}.

Layout: ``Y`` has one point per row, shape ``(N, L)``; ``W`` has shape ``(K, L)`` (row ``k`` the
weights of cluster ``k``) and ``b`` shape ``(K,)``; ``labels`` is an integer array of length
``N`` with ``-1`` for an unlabelled point and the class ``0..K-1`` otherwise (the same convention as
:func:`pedagogy_lib.mixture.em.fit_gmm_semi_supervised`). Every gradient is written by hand and
tested against finite differences (:func:`pedagogy_lib.core.gradcheck.gradcheck`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import optimize

from ..core.checks import as_array, check_int, check_labels, check_rng, positive_scalar
from ..core.logmath import log_normalize, logsumexp

__all__ = ["MIObjective", "MIGradient", "MIClusteringResult", "cluster_probs", "mi_objective",
           "mi_gradient", "fit_mi_clustering"]


class MIObjective(NamedTuple):
    r"""The semi-supervised information-maximization objective of :func:`mi_objective` and its parts.

    Attributes
    ----------
    value : float
        :math:`\mathcal F = \hat{\mathcal I} + \lambda\,\ell_{\mathcal L} - \frac\gamma2\|\mathbf W\|_F^2`.
    mi : float
        :math:`\hat{\mathcal I} = H[\bar{\mathbf q}] - \langle H[\mathbf q]\rangle`, in nats, between 0
        and :math:`\log K`.
    marginal_entropy : float
        :math:`H[\bar{\mathbf q}]`, the entropy of the average assignment.
    mean_conditional_entropy : float
        :math:`\langle H[q(\cdot\mid\mathbf Y)]\rangle`, the average entropy of one assignment.
    label_log_lik : float
        :math:`\ell_{\mathcal L} = \frac1{|\mathcal L|}\sum_{m\in\mathcal L}\log q(c_m\mid\mathbf y_m)`
        (0 when no point is labelled).
    """

    value: float
    mi: float
    marginal_entropy: float
    mean_conditional_entropy: float
    label_log_lik: float


class MIGradient(NamedTuple):
    r"""The gradient of :math:`\mathcal F` (:func:`mi_gradient`).

    Attributes
    ----------
    W : ndarray, shape (K, L)
        :math:`\partial\mathcal F/\partial\mathbf W`, entry ``[k, l]`` the derivative with respect to ``W[k, l]``.
    b : ndarray, shape (K,)
        :math:`\partial\mathcal F/\partial\mathbf b`.
    """

    W: np.ndarray
    b: np.ndarray


class MIClusteringResult(NamedTuple):
    r"""Outcome of :func:`fit_mi_clustering`.

    Attributes
    ----------
    W : ndarray, shape (K, L)
    b : ndarray, shape (K,)
        The classifier at the end of the fit.
    objective : MIObjective
        :math:`\mathcal F` and its parts at ``(W, b)``.
    n_iter : int
        Iterations of L-BFGS performed.
    """

    W: np.ndarray
    b: np.ndarray
    objective: MIObjective
    n_iter: int


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------

def _check_Y(Y) -> np.ndarray:
    Y = as_array(Y, "Y", ndim=2, dims="(N, L)")
    if Y.shape[0] == 0 or Y.shape[1] == 0:
        raise ValueError(f"Y must have at least one point and one dimension, shape (N, L); got {Y.shape}.")
    return Y


def _check_Wb(W, b, L: int):
    W = as_array(W, "W", ndim=2, dims="(K, L)")
    K = W.shape[0]
    if K == 0 or W.shape[1] != L:
        raise ValueError(f"W must have shape (K, L) with K >= 1 and L = {L} (the columns of Y); got {W.shape}.")
    b = as_array(b, "b", shape=(K,), dims="(K,)")
    return W, b


def _check_inputs(W, b, Y, labels, label_weight, weight_decay):
    Y = _check_Y(Y)
    W, b = _check_Wb(W, b, Y.shape[1])
    labels = check_labels(labels, Y.shape[0], W.shape[0])
    lam = positive_scalar(label_weight, "label_weight", strict=False)
    gam = positive_scalar(weight_decay, "weight_decay", strict=False)
    return W, b, Y, labels, lam, gam


# ---------------------------------------------------------------------------------------------
# the objective and its gradient (validated inputs)
# ---------------------------------------------------------------------------------------------

def _pieces(W, b, Y):
    """log q (N, K), q, and log q-bar (K,), all in log space."""
    log_q = log_normalize(Y @ W.T + b, axis=1)                 # log softmax of the logits a_n
    log_qbar = logsumexp(log_q, axis=0) - np.log(Y.shape[0])   # log <q>
    return log_q, np.exp(log_q), log_qbar


def _objective(W, b, Y, labels, lam, gam) -> MIObjective:
    log_q, q, log_qbar = _pieces(W, b, Y)
    qbar = np.exp(log_qbar)
    H_bar = -float(np.sum(np.where(qbar > 0, qbar * log_qbar, 0.0)))
    H_cond = -float(np.mean(np.sum(np.where(q > 0, q * log_q, 0.0), axis=1)))
    lab = np.flatnonzero(labels >= 0)
    ll = float(np.mean(log_q[lab, labels[lab]])) if lab.size else 0.0
    mi = H_bar - H_cond
    return MIObjective(mi + lam * ll - _decay(W, gam), mi, H_bar, H_cond, ll)


def _decay(W, gam) -> float:
    r""":math:`\frac\gamma2\|\mathbf W\|_F^2`: exactly 0 when :math:`\gamma = 0` (``0 * inf`` was NaN for
    entries beyond 1e154), and the squares taken of ``W`` over its largest entry; ``inf`` only where the
    term itself is beyond float64."""
    if gam == 0.0:
        return 0.0
    big = float(np.max(np.abs(W)))
    if big < 1e100:
        return 0.5 * gam * float(np.sum(W * W))                # the squares are in float64
    with np.errstate(over="ignore"):
        return float(0.5 * gam * big * big * np.sum((W / big) ** 2))


def _logit_gradient(W, b, Y, labels, lam):
    """dF/da_n for every point, shape (N, K)."""
    N = Y.shape[0]
    log_q, q, log_qbar = _pieces(W, b, Y)
    u = log_q - log_qbar                                       # u_nk = log(q_nk / qbar_k)
    G = q * (u - np.sum(q * u, axis=1, keepdims=True)) / N     # information term through the softmax
    lab = np.flatnonzero(labels >= 0)
    if lab.size:
        target = np.zeros((lab.size, W.shape[0]))
        target[np.arange(lab.size), labels[lab]] = 1.0
        G[lab] += lam / lab.size * (target - q[lab])           # the labelled points' log-likelihood
    return G


def _gradient(W, b, Y, labels, lam, gam) -> MIGradient:
    G = _logit_gradient(W, b, Y, labels, lam)
    return MIGradient(G.T @ Y - gam * W, G.sum(axis=0))


# ---------------------------------------------------------------------------------------------
# public
# ---------------------------------------------------------------------------------------------

def cluster_probs(W, b, Y) -> np.ndarray:
    r"""The classifier's assignments :math:`q(k\mid\mathbf y_n) = \mathrm{softmax}\{\mathbf W\mathbf y_n+\mathbf b\}_k`.

    The unsupervised classifier of Bridle, Heading and MacKay (1992), used for the semi-supervised
    clustering of Section 5.2.1.

    Parameters
    ----------
    W : array_like, shape (K, L)
    b : array_like, shape (K,)
    Y : array_like, shape (N, L)
        One point per row.

    Returns
    -------
    ndarray, shape (N, K)
        Each row a probability vector (computed in log space).
    """
    Y = _check_Y(Y)
    W, b = _check_Wb(W, b, Y.shape[1])
    return _pieces(W, b, Y)[1]


def mi_objective(W, b, Y, labels=None, *, label_weight: float = 1.0, weight_decay: float = 0.0) -> MIObjective:
    r"""The information-maximization objective of Bridle, Heading and MacKay (1992) with labels (Section 5.2.1).

    .. math:: \mathcal F = H[\bar{\mathbf q}] - \langle H[\mathbf q]\rangle
              + \frac{\lambda}{|\mathcal L|}\sum_{m\in\mathcal L}\log q(c_m\mid\mathbf y_m)
              - \frac\gamma2\|\mathbf W\|_F^2,

    with :math:`\mathbf q_n = \mathrm{softmax}(\mathbf W\mathbf y_n+\mathbf b)` and
    :math:`\bar{\mathbf q}` their average over all ``N`` points.

    Parameters
    ----------
    W : array_like, shape (K, L)
    b : array_like, shape (K,)
    Y : array_like, shape (N, L)
        One point per row.
    labels : array_like of int, shape (N,), optional
        ``-1`` for an unlabelled point, else its class ``0..K-1``; ``None``: no point labelled.
    label_weight : float
        :math:`\lambda \ge 0`.
    weight_decay : float
        :math:`\gamma \ge 0`.

    Returns
    -------
    MIObjective

    Raises
    ------
    ValueError
        If a shape, a label or a weight is malformed (the message names the argument), or if the
        objective is beyond float64 (``weight_decay`` times the squares of ``W`` entries beyond 1e154, or
        ``label_weight`` times a log assignment below -1e308).
    """
    args = _check_inputs(W, b, Y, labels, label_weight, weight_decay)
    out = _objective(*args)
    if not np.isfinite(out.value):
        raise ValueError(f"the objective is beyond float64: weight_decay / 2 * ||W||_F^2 = "
                         f"{_decay(args[0], args[5]):.3g} (largest |W| {float(np.max(np.abs(args[0]))):.3g}) and "
                         f"label_weight * label_log_lik = {args[4]:.3g} * {out.label_log_lik:.3g}.")
    return out


def mi_gradient(W, b, Y, labels=None, *, label_weight: float = 1.0, weight_decay: float = 0.0) -> MIGradient:
    r"""Hand-written gradient of :func:`mi_objective` with respect to ``W`` and ``b`` (Section 5.2.1).

    .. math:: \frac{\partial\mathcal F}{\partial\mathbf a_n} =
              \frac1N\,\mathbf q_n\odot\big(\mathbf u_n - \mathbf q_n^T\mathbf u_n\big)
              + [n\in\mathcal L]\,\frac{\lambda}{|\mathcal L|}(\mathbf e_{c_n} - \mathbf q_n),
              \quad u_{nk} = \log\frac{q_{nk}}{\bar q_k},

    then :math:`\partial\mathcal F/\partial\mathbf W = \sum_n(\partial\mathcal F/\partial\mathbf a_n)\mathbf y_n^T
    - \gamma\mathbf W` and :math:`\partial\mathcal F/\partial\mathbf b = \sum_n\partial\mathcal F/\partial\mathbf a_n`.

    Parameters are those of :func:`mi_objective`.

    Returns
    -------
    MIGradient
    """
    return _gradient(*_check_inputs(W, b, Y, labels, label_weight, weight_decay))


def fit_mi_clustering(Y, K: int, *, labels=None, label_weight: float = 1.0, weight_decay: float = 0.01,
                      rng, init_scale: float = 1e-3, max_iter: int = 500) -> MIClusteringResult:
    r"""Maximize :func:`mi_objective` over ``W`` and ``b`` by L-BFGS with the hand-written gradient.

    Clustering by information maximization (Bridle, Heading and MacKay, 1992), semi-supervised when
    ``labels`` are given (Section 5.2.1).

    The start is ``W`` drawn from :math:`\mathcal N(0, \text{init\_scale}^2)` and ``b = 0``. Near
    ``W = 0`` every assignment is uniform, so :math:`\hat{\mathcal I}` and its gradient vanish there
    (to first order): a small start lets the labels, when there are any, choose the first direction,
    and otherwise the direction in which the logits vary most. The objective is not concave, and the
    answer is a local maximum.

    Parameters
    ----------
    Y : array_like, shape (N, L)
    K : int
        Number of clusters, at least 2.
    labels, label_weight, weight_decay
        As in :func:`mi_objective`.
    rng : numpy.random.Generator
        Draws the starting ``W``.
    init_scale : float
        Standard deviation of the starting weights (positive).
    max_iter : int
        Iterations of L-BFGS at most (a fixed budget: the fit stops earlier when L-BFGS converges).

    Returns
    -------
    MIClusteringResult
    """
    Y = _check_Y(Y)
    N, L = Y.shape
    K = check_int(K, "K", minimum=2)
    labels = check_labels(labels, N, K)
    lam = positive_scalar(label_weight, "label_weight", strict=False)
    gam = positive_scalar(weight_decay, "weight_decay", strict=False)
    rng = check_rng(rng)
    init_scale = positive_scalar(init_scale, "init_scale")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    x0 = np.concatenate([init_scale * rng.standard_normal(K * L), np.zeros(K)])

    def split(x):
        return x[:K * L].reshape(K, L), x[K * L:]

    def negative(x):
        W, b = split(x)
        g = _gradient(W, b, Y, labels, lam, gam)
        return -_objective(W, b, Y, labels, lam, gam).value, -np.concatenate([g.W.ravel(), g.b])

    res = optimize.minimize(negative, x0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    W, b = split(np.array(res.x, dtype=float))
    return MIClusteringResult(W, b, _objective(W, b, Y, labels, lam, gam), int(res.nit))
