r"""Block Gibbs sampling and learning by contrastive divergence (Sections 10.2.1-10.2.2).

Because neither layer has connections within itself, a whole layer is drawn at once from its
conditional (Eq. 10.17): :math:`\hat{\mathbf x}\sim\hat p(\mathbf x\mid\mathbf y)`, then
:math:`\hat{\mathbf y}\sim\hat p(\mathbf y\mid\mathbf x)`. :func:`gibbs_sample` runs many such chains.

Learning replaces the model expectation of Eq. 10.19 by an average over chains:

* **CD-k** (Eq. 10.20, Eq. 10.23 for k = 1): each chain starts at a data vector and takes ``k``
  full steps; the update is data statistics minus the statistics after ``k`` steps;
* **persistent CD (PCD-k)**: the chains are not restarted at the data but continue from where the
  previous mini-batch left them, so over training they approximate samples of the model.

Both follow the same conventions as scikit-learn's ``BernoulliRBM`` where they overlap: the
positive phase uses the hidden *probabilities* given the data, the negative phase the hidden
probabilities given the last visible sample, and the update is the learning rate times the batch
average. The numba kernels (:mod:`pedagogy_lib.harmonium.kernels`) never draw random numbers: the
functions here draw uniforms (and standard normals for Gaussian units) in blocks from a
``numpy.random.Generator`` and pass them in; the NumPy twins are here.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..core.checks import check_backend, check_choice, check_int, check_rng, positive_scalar
from . import kernels
from .model import FAMILIES, EFHParams, check_layer, check_params, family_code, sigmoid

__all__ = ["GibbsResult", "TrainResult", "gibbs_sample", "draw_noise", "cd_epoch", "train_rbm",
           "pseudo_log_likelihood"]


class GibbsResult(NamedTuple):
    """Final states of every chain, and the visible trace if it was asked for.

    Attributes
    ----------
    x : ndarray, shape (C, K)
        The hidden states drawn in the last step.
    y : ndarray, shape (C, M)
        The visible states after the last step.
    trace : ndarray, shape (n_steps + 1, C, M) or (0, C, M)
        ``trace[s]`` is the visible state after ``s`` steps (``trace[0]`` the start).
    """

    x: np.ndarray
    y: np.ndarray
    trace: np.ndarray


class TrainResult(NamedTuple):
    """Learned parameters, the persistent chains (PCD) and whatever the callback returned each epoch."""

    params: EFHParams
    chains: np.ndarray
    history: list


# ------------------------------------------------------------------------------------------------
# Block Gibbs: NumPy twin of the kernel (pedagogy_lib.harmonium.kernels.gibbs_steps)
# ------------------------------------------------------------------------------------------------
def _draw_numpy(eta, family, noise):
    """NumPy twin of :func:`~pedagogy_lib.harmonium.kernels.draw_unit`, for a whole layer."""
    if family == "bernoulli":
        return (noise < sigmoid(eta)).astype(float)
    if family == "gaussian":
        return eta + noise
    lam = np.exp(eta)
    k = np.zeros_like(eta)
    term = np.exp(-lam)
    cdf = term.copy()
    active = noise > cdf
    while active.any():
        k = k + active
        term = np.where(active, term * lam / np.maximum(k, 1), term)
        cdf = np.where(active, cdf + term, cdf)
        active = (noise > cdf) & (k < 100000)
    return k


def _gibbs_numpy(p: EFHParams, y, noise_x, noise_y, record):
    """NumPy twin of :func:`~pedagogy_lib.harmonium.kernels.gibbs_steps`."""
    y = y.copy()
    trace = [y.copy()] if record else []
    x = np.zeros((y.shape[0], p.K))
    for s in range(noise_x.shape[0]):
        x = _draw_numpy(y @ p.W.T + p.b_x, p.hidden, noise_x[s])
        y = _draw_numpy(x @ p.W + p.b_y, p.visible, noise_y[s])
        if record:
            trace.append(y.copy())
    tr = np.array(trace) if record else np.zeros((0,) + y.shape)
    return x, y, tr


def draw_noise(family: str, shape, rng) -> np.ndarray:
    """The pre-drawn randomness for units of ``family``: uniforms, or standard normals for Gaussian units.

    Raises
    ------
    TypeError, ValueError
        If ``family`` is unknown, ``rng`` is not a Generator, or ``shape`` is not a tuple of
        non-negative ints.
    """
    check_choice(family, "family", FAMILIES)
    rng = check_rng(rng)
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"shape must be a tuple of int; got {type(shape).__name__}.")
    dims = tuple(check_int(n, "shape", minimum=0) for n in dims)
    return rng.standard_normal(dims) if family == "gaussian" else rng.random(dims)


def gibbs_sample(params: EFHParams, y0, n_steps: int, rng, *, record: bool = False,
                 backend: str = "auto") -> GibbsResult:
    r"""Run block Gibbs chains, one per row of ``y0``, for ``n_steps`` full steps.

    Parameters
    ----------
    params : EFHParams
    y0 : array_like, shape (C, M)
        Starting visible states (valid values of the visible family).
    n_steps : int
        Number of full steps (hidden draw then visible draw), at least 1.
    rng : numpy.random.Generator
        Source of the pre-drawn noise.
    record : bool
        Keep the visible state after every step (``trace``).
    backend : {"auto", "numba", "numpy"}
        The kernel or its NumPy twin; ``"auto"`` runs the twin while compiling would cost more than it saves
        (:func:`pedagogy_lib.core.jit.choose`).
    """
    p = check_params(params)
    y0 = check_layer(y0, p.visible, "y0", p.M)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    rng = check_rng(rng)
    C = y0.shape[0]
    backend = check_backend(backend, kernels.gibbs_steps, C=C, K=p.K, M=p.M, n_steps=n_steps)
    noise_x = draw_noise(p.hidden, (n_steps, C, p.K), rng)
    noise_y = draw_noise(p.visible, (n_steps, C, p.M), rng)
    if backend == "numpy":
        return GibbsResult(*_gibbs_numpy(p, y0, noise_x, noise_y, record))
    y = y0.copy()
    x = np.zeros((C, p.K))
    trace = np.empty((n_steps + 1, C, p.M)) if record else np.zeros((0, C, p.M))
    kernels.gibbs_steps(p.W, p.b_x, p.b_y, family_code(p.hidden), family_code(p.visible), y, noise_x, noise_y, x,
                        trace)
    return GibbsResult(x, y, trace)


# ------------------------------------------------------------------------------------------------
# CD-k and PCD-k for Bernoulli-Bernoulli harmoniums: NumPy twin of the kernel (kernels.cd_epoch)
# ------------------------------------------------------------------------------------------------
def _cd_epoch_numpy(W, b_x, b_y, Y, order, batch_size, k, lr, persistent, chains, u_x, u_y):
    """NumPy twin of :func:`~pedagogy_lib.harmonium.kernels.cd_epoch`, one mini-batch at a time (the plain
    vectorized reference). ``W``, ``b_x``, ``b_y`` and, for PCD, ``chains`` are updated in place."""
    N = order.shape[0]
    for start in range(0, N, batch_size):
        stop = min(N, start + batch_size)
        B = stop - start
        Y0 = Y[order[start:stop]]
        P0 = sigmoid(Y0 @ W.T + b_x)
        prob = P0
        for s in range(k):
            if persistent and s == 0:
                x = chains[:B]
            else:
                x = (u_x[start:stop, s - 1 if persistent else s] < prob).astype(float)
            y = (u_y[start:stop, s] < sigmoid(x @ W + b_y)).astype(float)
            prob = sigmoid(y @ W.T + b_x)
        if persistent:
            chains[:B] = (u_x[start:stop, k - 1] < prob).astype(float)
        scale = lr / B
        W += scale * (P0.T @ Y0 - prob.T @ y)
        b_x += scale * (P0.sum(axis=0) - prob.sum(axis=0))
        b_y += scale * (Y0.sum(axis=0) - y.sum(axis=0))


def cd_epoch(params: EFHParams, Y, rng, *, k: int = 1, lr: float = 0.1, batch_size: int = 10,
             persistent: bool = False, chains=None, shuffle: bool = True, backend: str = "auto"):
    r"""One epoch of CD-k or PCD-k on a Bernoulli-Bernoulli harmonium; returns ``(params, chains)``.

    Parameters
    ----------
    params : EFHParams
        Current parameters (not modified; a new :class:`EFHParams` is returned).
    Y : array_like, shape (N, M)
        Training data, binary (or probabilities in [0, 1]: the positive phase uses them as given).
    rng : numpy.random.Generator
        Source of the epoch's order and uniforms.
    k : int
        Gibbs steps per update (k >= 1).
    lr : float
        Learning rate; the update is ``lr`` times the mini-batch average.
    batch_size : int
    persistent : bool
        PCD: continue the persistent ``chains`` instead of restarting at the data (as scikit-learn's
        ``BernoulliRBM`` does, one chain per row of a mini-batch).
    chains : array_like, shape (batch_size, K), optional
        PCD's chains, as the hidden state of each (binary); if omitted each starts at a hidden draw
        given one row of the shuffled data. The returned chains continue them.
    shuffle : bool
        Visit the rows in a random order (else in order).
    backend : {"auto", "numba", "numpy"}
        The compiled kernel or the NumPy twin; ``"auto"`` runs the twin while compiling would cost more than it
        saves (:func:`pedagogy_lib.core.jit.prefer_compiled`).
    """
    p = check_params(params)
    if p.hidden != "bernoulli" or p.visible != "bernoulli":
        raise ValueError(f"cd_epoch trains Bernoulli-Bernoulli harmoniums; got hidden={p.hidden!r}, "
                         f"visible={p.visible!r}.")
    Y = check_layer(Y, "bernoulli", "Y", p.M, allow_fraction=True)
    rng = check_rng(rng)
    k = check_int(k, "k", minimum=1)
    lr = positive_scalar(lr, "lr")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    N = Y.shape[0]
    backend = check_backend(backend, kernels.cd_epoch, N=N, K=p.K, M=p.M, batch_size=batch_size, k=k)
    order = rng.permutation(N) if shuffle else np.arange(N)
    if persistent:
        if chains is None:                   # start each chain at a hidden draw given one data row
            rows = Y[order[np.arange(batch_size) % N]]
            chains = (rng.random((batch_size, p.K)) < sigmoid(rows @ p.W.T + p.b_x)).astype(float)
        chains = check_layer(chains, "bernoulli", "chains", p.K).copy()
        if chains.shape[0] != batch_size:
            raise ValueError(f"chains must have shape (batch_size, K) = ({batch_size}, {p.K}); got {chains.shape}.")
    else:
        chains = np.zeros((0, p.K))
    u_x = rng.random((N, k, p.K))
    u_y = rng.random((N, k, p.M))
    W, b_x, b_y = p.W.copy(), p.b_x.copy(), p.b_y.copy()
    order = order.astype(np.int64)
    if backend == "numba":
        kernels.cd_epoch(kernels.RBMArrays(W, np.ascontiguousarray(W.T), b_x, b_y),
                         kernels.CDEpoch(Y, order, u_x, u_y, chains),
                         kernels.CDSettings(batch_size, k, float(lr), bool(persistent)))
    else:
        _cd_epoch_numpy(W, b_x, b_y, Y, order, batch_size, k, lr, bool(persistent), chains, u_x, u_y)
    return EFHParams(W, b_x, b_y, p.hidden, p.visible), chains


def train_rbm(params: EFHParams, Y, rng, n_epochs: int, *, k: int = 1, lr: float = 0.1, batch_size: int = 10,
              method: str = "cd", callback: Callable | None = None, backend: str = "auto") -> TrainResult:
    r"""Train a Bernoulli-Bernoulli harmonium by CD-k (``method="cd"``) or persistent CD (``"pcd"``).

    ``callback(epoch, params)``, if given, is called before the first epoch (``epoch = 0``) and
    after each one; its return values are collected in ``history``.
    """
    method = check_choice(method, "method", ("cd", "pcd"))
    n_epochs = check_int(n_epochs, "n_epochs", minimum=0)
    p = check_params(params)
    history = []
    chains = None
    if callback is not None:
        history.append(callback(0, p))
    for epoch in range(1, n_epochs + 1):
        p, ch = cd_epoch(p, Y, rng, k=k, lr=lr, batch_size=batch_size, persistent=(method == "pcd"),
                         chains=chains, backend=backend)
        chains = ch if method == "pcd" else None
        if callback is not None:
            history.append(callback(epoch, p))
    return TrainResult(p, chains if chains is not None else np.zeros((0, p.K)), history)


def pseudo_log_likelihood(params: EFHParams, Y) -> float:
    r"""Average pseudo-log-likelihood :math:`\sum_j\log\hat p(y_j\mid\mathbf y_{-j})` of binary rows ``Y``.

    Each term is :math:`\sigma(F(\mathbf y^{(j)}) - F(\mathbf y))`, with :math:`\mathbf y^{(j)}` the
    row with unit ``j`` flipped and :math:`F` the free energy; it needs no :math:`Z`. (scikit-learn's
    ``score_samples`` flips one random unit per row and multiplies by ``M``: the same quantity in
    expectation.)
    """
    from .model import softplus
    p = check_params(params)
    if p.visible != "bernoulli" or p.hidden != "bernoulli":
        raise ValueError("pseudo_log_likelihood is for Bernoulli-Bernoulli harmoniums.")
    Y = check_layer(Y, "bernoulli", "Y", p.M, nonempty=True)
    eta = Y @ p.W.T + p.b_x
    F = -(Y @ p.b_y) - softplus(eta).sum(axis=1)
    total = np.zeros(Y.shape[0])
    for j in range(p.M):
        d = 1.0 - 2.0 * Y[:, j]                               # +1 turns unit j on, -1 turns it off
        F_flip = F - d * p.b_y[j] - (softplus(eta + d[:, None] * p.W[:, j]) - softplus(eta)).sum(axis=1)
        total += -softplus(-(F_flip - F))                     # log sigma(F_flip - F)
    return float(total.mean())

