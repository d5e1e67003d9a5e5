r"""Deep belief networks by greedy stacking of harmoniums (Section 10.2.3, Eqs. 10.24-10.27).

A DBN is a list of Bernoulli-Bernoulli harmoniums, bottom first. The bottom one's visible layer is
the data; each harmonium's visible layer is the hidden layer of the one below. As a generative
model only the *top* harmonium stays undirected: below it, each layer is generated from the one
above by the emission :math:`\hat p(\mathbf y\mid\mathbf x)` of its harmonium (Fig. 10.2). The
recognition model is the stack of the harmoniums' own posteriors :math:`\check p(\mathbf x_{l+1}\mid\mathbf x_l)`.

* :func:`invert` turns a harmonium upside down (:math:`\mathbf W\to\mathbf W^T`, biases swapped):
  stacked on the original, it reproduces the original's visible marginal exactly (the unrolling of
  Fig. 10.2B).
* :func:`aggregated_posterior` is Eq. 10.24, :func:`dbn_visible_log_probs` the DBN's exact marginal
  and :func:`jre_bound` the joint relative entropy of Eq. 10.25, for models small enough to enumerate.
* :func:`greedy_fit` trains a stack layer by layer with CD-k (Eq. 10.27), each layer on the
  previous layer's posterior means of its training data (Eq. 10.26); :func:`dbn_sample` runs Gibbs
  in the top harmonium and then one pass down.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_int, check_prob_vector, check_rng
from ..core.logmath import logsumexp
from .exact import states, visible_log_probs
from .gibbs import cd_epoch, gibbs_sample
from .model import EFHParams, check_layer, check_params, init_params, sigmoid, softplus

__all__ = ["DBNSample", "invert", "aggregated_posterior", "directed_table", "dbn_visible_log_probs", "jre_bound",
           "greedy_fit", "up_pass", "dbn_sample"]


class DBNSample(NamedTuple):
    """Samples from a DBN: the bottom layer's binary draws and its probabilities given the layer above."""

    y: np.ndarray
    prob: np.ndarray


def _check_stack(rbms):
    if not isinstance(rbms, (list, tuple)) or not rbms:
        raise ValueError("rbms must be a non-empty list of EFHParams, bottom first.")
    out = [check_params(r) for r in rbms]
    for l, r in enumerate(out):
        if r.hidden != "bernoulli" or r.visible != "bernoulli":
            raise ValueError(f"rbms[{l}] must be Bernoulli-Bernoulli; got hidden={r.hidden!r}, visible={r.visible!r}.")
        if l > 0 and r.M != out[l - 1].K:
            raise ValueError(f"rbms[{l}] has M = {r.M} visible units but rbms[{l - 1}] has K = {out[l - 1].K} hidden units.")
    return out


def _log_bernoulli_table(eta, S):
    """``L[i, j] = log p(S[j] | eta[i])`` for independent Bernoulli units with logits ``eta``.

    By ``log sigma(a) = -softplus(-a)``: finite for finite logits, however saturated.
    """
    return -softplus(-eta) @ S.T - softplus(eta) @ (1 - S).T


def _check_p_y(p_y, M: int) -> np.ndarray:
    p_y = as_array(p_y, "p_y", shape=(2 ** M,), dims="(2**M,)")
    check_prob_vector(p_y, "p_y")
    return p_y


def invert(params: EFHParams) -> EFHParams:
    r"""The harmonium with its layers swapped: :math:`\mathbf W^T`, hidden and visible biases exchanged.

    Stacking ``invert(theta0)`` on ``theta0`` (so :math:`\boldsymbol\theta_1 = \boldsymbol\theta_0` in the
    draft's words) gives a DBN with exactly the original harmonium's visible marginal (Fig. 10.2B).
    """
    p = check_params(params)
    return EFHParams(np.ascontiguousarray(p.W.T), p.b_y.copy(), p.b_x.copy(), p.visible, p.hidden)


def directed_table(params: EFHParams) -> np.ndarray:
    r"""``D[y, x]`` :math:`=\hat p(\mathbf y\mid\mathbf x)` over all states: a harmonium used as a directed layer."""
    p = check_params(params)
    Sx, Sy = states(p.K), states(p.M)
    logD = _log_bernoulli_table(Sx @ p.W + p.b_y, Sy)               # [x, y]
    return np.exp(logD).T


def aggregated_posterior(params: EFHParams, p_y) -> np.ndarray:
    r"""Eq. 10.24: :math:`\check p(\mathbf x_1) = \sum_{\mathbf y}\check p(\mathbf x_1\mid\mathbf y)p(\mathbf y)` over all hidden states.

    ``p_y`` is a probability vector over the ``2**M`` visible states.

    Raises
    ------
    ValueError
        If ``params`` is malformed or ``p_y`` is not a probability vector of length ``2**M``.
    """
    p = check_params(params)
    p_y = _check_p_y(p_y, p.M)
    Sx, Sy = states(p.K), states(p.M)
    log_post = _log_bernoulli_table(Sy @ p.W.T + p.b_x, Sx)         # [y, x]
    return p_y @ np.exp(log_post)


def dbn_visible_log_probs(rbms) -> np.ndarray:
    r"""Exact :math:`\log\hat p(\mathbf y_0)` of a DBN over all ``2**M`` data states (small layers only).

    The top harmonium's visible marginal is pushed down through the directed emissions of the
    harmoniums below it, in logs (so a state of tiny probability keeps its finite log).
    """
    rbms = _check_stack(rbms)
    log_prob = visible_log_probs(rbms[-1])
    for r in reversed(rbms[:-1]):
        # in logs: a probability below float64's smallest (a saturated emission) keeps its finite log
        log_emit = _log_bernoulli_table(states(r.K) @ r.W + r.b_y, states(r.M))     # [x, y]
        log_prob = logsumexp(log_emit + log_prob[:, None], axis=0)
    return log_prob


def jre_bound(rbm0: EFHParams, rbm1: EFHParams, p_y) -> float:
    r"""The joint relative entropy of Eq. 10.25 for a two-layer DBN, exactly:

    .. math:: D_{KL}\{\check p(\check{\mathbf X}_1\mid\mathbf Y_0)p(\mathbf Y_0)\,\|\,
              \hat p(\mathbf Y_0\mid\check{\mathbf X}_1;\boldsymbol\theta_0)\hat p(\check{\mathbf X}_1;\boldsymbol\theta_1)\},

    with the recognition model the bottom harmonium's posterior. It bounds the DBN's MRE from above,
    with equality when the recognition model is the DBN's posterior (e.g. at ``rbm1 = invert(rbm0)``).

    Raises
    ------
    ValueError
        If a harmonium is malformed, the two do not stack, or ``p_y`` is not a probability vector of
        length ``2**M``.
    """
    r0, r1 = _check_stack([rbm0, rbm1])
    py = _check_p_y(p_y, r0.M)
    Sx, Sy = states(r0.K), states(r0.M)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_post = _log_bernoulli_table(Sy @ r0.W.T + r0.b_x, Sx)    # log q(x|y), [y, x]
        log_emit = _log_bernoulli_table(Sx @ r0.W + r0.b_y, Sy).T    # log p(y|x), [y, x]
        log_prior = visible_log_probs(r1)                            # log p(x; theta_1)
        joint_q = py[:, None] * np.exp(log_post)                     # [y, x]
        terms = np.where(joint_q > 0, joint_q * (np.log(joint_q) - log_emit - log_prior[None, :]), 0.0)
    return float(terms.sum())


def up_pass(params: EFHParams, data) -> np.ndarray:
    r"""The posterior means :math:`\mathbb E[\hat{\mathbf X}\mid\mathbf y]` of each row: the next layer's "data" (Eq. 10.26)."""
    p = check_params(params)
    data = check_layer(data, p.visible, "data", p.M, allow_fraction=True)
    return sigmoid(data @ p.W.T + p.b_x)


def greedy_fit(Y, layer_sizes, rng, n_epochs: int, *, k: int = 1, lr: float = 0.1, batch_size: int = 10,
               backend: str = "auto"):
    r"""Greedy layer-wise training (Eq. 10.27): each harmonium by CD-k on the layer below's posterior means.

    Parameters
    ----------
    Y : array_like, shape (N, M)
        Binary data.
    layer_sizes : sequence of int
        Hidden units of each harmonium, bottom first.
    rng : numpy.random.Generator
    n_epochs : int
        Epochs of CD-k per layer.

    Returns
    -------
    list of EFHParams
        The trained stack, bottom first.

    Raises
    ------
    ValueError
        If ``Y`` is empty or not binary, or a layer size is not a positive int.
    TypeError
        If ``layer_sizes`` is not a sequence.
    """
    rng = check_rng(rng)
    n_epochs = check_int(n_epochs, "n_epochs", minimum=1)
    if not isinstance(layer_sizes, (list, tuple, np.ndarray)):
        raise TypeError(f"layer_sizes must be a sequence of int (hidden units per layer); got "
                        f"{type(layer_sizes).__name__}.")
    sizes = [check_int(s, "layer_sizes", minimum=1) for s in layer_sizes]
    if not sizes:
        raise ValueError("layer_sizes must name at least one layer.")
    data = check_layer(Y, "bernoulli", "Y", np.shape(Y)[1] if np.ndim(Y) == 2 else -1)
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise ValueError(f"Y must hold at least one datum of at least one unit; got shape {data.shape}.")
    rbms = []
    for K in sizes:
        p = init_params(K, data.shape[1], rng, data=data)
        for _ in range(n_epochs):
            p, _ = cd_epoch(p, data, rng, k=k, lr=lr, batch_size=batch_size, backend=backend)
        rbms.append(p)
        data = up_pass(p, data)
    return rbms


def dbn_sample(rbms, n_samples: int, n_gibbs: int, rng, *, start=None, backend: str = "auto") -> DBNSample:
    r"""Sample a DBN: ``n_gibbs`` block-Gibbs steps in the top harmonium, then one directed pass down.

    ``start`` (n_samples, M_top) sets the top chains' initial visible states (for example an up
    pass of data, binarized); otherwise they start from independent fair coin flips.
    """
    rbms = _check_stack(rbms)
    rng = check_rng(rng)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_gibbs = check_int(n_gibbs, "n_gibbs", minimum=1)
    top = rbms[-1]
    y0 = (rng.random((n_samples, top.M)) < 0.5).astype(float) if start is None else \
        check_layer(start, "bernoulli", "start", top.M)
    layer = gibbs_sample(top, y0, n_gibbs, rng, backend=backend).y
    prob = layer
    for r in reversed(rbms[:-1]):
        prob = sigmoid(layer @ r.W + r.b_y)
        layer = (rng.random(prob.shape) < prob).astype(float)
    return DBNSample(layer, prob)
