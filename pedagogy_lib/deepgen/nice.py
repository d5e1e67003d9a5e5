r"""Nonlinear independent-component estimation, NICE (Section 9.2, Eqs. 9.6-9.8), by hand-written backprop.

The recognition function is a composition :math:`\mathbf d = \mathbf s\circ\mathbf d_L\circ\cdots\circ\mathbf d_1`
of invertible maps, and the generative function is its inverse, :math:`\mathbf c = \mathbf d^{-1}` (Eq. 9.6).
Each :math:`\mathbf d_l` is an **additive coupling**: a fixed partition of the coordinates into a
conditioning part :math:`a` and an updated part :math:`b`,

.. math:: \mathbf x_{l+1}^a = \mathbf x_l^a, \qquad
          \mathbf x_{l+1}^b = \mathbf x_l^b + \mathbf m_l(\mathbf x_l^a),

with :math:`\mathbf m_l` an MLP (:func:`pedagogy_lib.nn.network.mlp`). Ordering the coordinates
:math:`(a, b)`, its Jacobian is block **lower** triangular with identity diagonal blocks,
:math:`\begin{bmatrix}\mathbf I & \mathbf 0\\ \partial\mathbf m/\partial\mathbf x^{aT} & \mathbf I\end{bmatrix}`
(Section 9.2 calls it upper triangular while displaying this lower-triangular matrix), so its determinant
is 1 and its inverse is :math:`\mathbf x_l^b = \mathbf x_{l+1}^b - \mathbf m_l(\mathbf x_{l+1}^a)`.
Successive couplings **alternate** the partition, so that every coordinate gets updated.

A stack of volume-preserving maps cannot change the volume, so a fixed standard-normal prior
could never fit data of another scale. NICE therefore ends with a **diagonal scaling**
:math:`\mathbf s(\mathbf x) = e^{\boldsymbol\sigma}\circ\mathbf x` (Dinh, Krueger and Bengio 2015), whose log-determinant is
:math:`\sum_k\sigma_k`. Eq. 9.7 with a standard-normal prior (the case Section 9.2 ends with) gives

.. math:: \log\hat p(\mathbf y;\boldsymbol\theta) = \sum_{k=1}^K\log\mathcal N\big(d_k(\mathbf y);0,1\big)
          + \sum_{l=1}^L\log\Big|\frac{\partial\mathbf d_l}{\partial\mathbf x_l^T}\Big| + \sum_k\sigma_k
          = -\tfrac12\|\mathbf d(\mathbf y)\|^2 - \tfrac K2\log\tau + \sum_k\sigma_k,

and the loss of Eq. 9.8 is its negative average (plus the data entropy). The gradient runs by
hand: :math:`\partial/\partial\mathbf x = \mathbf d(\mathbf y)` at the output, times :math:`e^{\boldsymbol\sigma}`
through the scaling, then back through each coupling in reverse: the updated part passes its
gradient unchanged and sends it into :math:`\mathbf m_l`'s backward pass, whose input gradient is
added to the conditioning part.

**Leapfrog as couplings** (the draft's "Connection to HMC"). A leapfrog step of Hamiltonian Monte
Carlo on :math:`(\mathbf x, \mathbf p)` is a composition of additive couplings with alternating
partitions: a half "kick" :math:`\mathbf p\leftarrow\mathbf p + \tfrac\epsilon2\mathbf f(\mathbf x)`
(update :math:`\mathbf p` by a function of :math:`\mathbf x`), a "drift" :math:`\mathbf x\leftarrow\mathbf x+\epsilon\mathbf p`
(update :math:`\mathbf x` by a function of :math:`\mathbf p`), and another half kick. Each has unit Jacobian
determinant, which is why leapfrog preserves volume (Liouville's theorem, discretized) and why
HMC's acceptance test needs no Jacobian. See :func:`leapfrog_couplings`.

Layout: one sample per row, ``Y`` of shape ``(N, K)``; partitions are boolean masks of length
``K``, ``True`` marking the conditioning part :math:`a`.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from ..core.checks import as_array, check_choice, check_int, check_rng, positive_scalar
from ..nn.network import ACTIVATIONS, Sequential, mlp
from ..nn.optim import Adam
from ..samplers.targets import check_target, evaluate_checked_target

__all__ = [
    "NICE",
    "NICEParams",
    "NICEFit",
    "alternating_partitions",
    "make_nice",
    "check_nice",
    "nice_init",
    "forward",
    "forward_layers",
    "inverse",
    "log_det_jacobian",
    "log_likelihood",
    "nll_and_grads",
    "fit_nice",
    "sample",
    "leapfrog_couplings",
]

_LOG_TAU = float(np.log(2.0 * np.pi))


class NICE(NamedTuple):
    r"""Architecture of a NICE flow (no parameters). Build it with :func:`make_nice`.

    Attributes
    ----------
    nets : tuple of Sequential
        The coupling functions :math:`\mathbf m_l`, one per coupling, each from :math:`|a_l|` to :math:`|b_l|` inputs.
    masks : tuple of ndarray of bool, shape (K,)
        Partitions: ``True`` is the conditioning part :math:`a_l`, ``False`` the updated part :math:`b_l`.
    K : int
        Dimension of the data.
    """

    nets: tuple
    masks: tuple
    K: int


class NICEParams(NamedTuple):
    r"""Parameters :math:`\boldsymbol\theta` of a NICE flow.

    Attributes
    ----------
    nets : tuple
        Parameters of each coupling network (as returned by ``Sequential.init``).
    log_scale : ndarray, shape (K,)
        :math:`\boldsymbol\sigma` of the final diagonal scaling :math:`e^{\boldsymbol\sigma}\circ\mathbf x`.
    """

    nets: tuple
    log_scale: np.ndarray


class NICEFit(NamedTuple):
    """Result of :func:`fit_nice`: final ``params`` and the minibatch ``loss`` (average NLL, nats) per step."""

    params: NICEParams
    loss: np.ndarray


# ----------------------------------------------------------------------------------------------
# Architecture
# ----------------------------------------------------------------------------------------------

def alternating_partitions(K: int, n_couplings: int) -> tuple:
    r"""Masks that alternate the halves: coupling :math:`l` conditions on the first :math:`\lfloor K/2\rfloor`
    coordinates when :math:`l` is even and on the rest when it is odd."""
    K = check_int(K, "K", minimum=2)
    n_couplings = check_int(n_couplings, "n_couplings", minimum=1)
    first = np.arange(K) < K // 2
    return tuple(first.copy() if l % 2 == 0 else ~first for l in range(n_couplings))


def _check_partitions(partitions, K: int, name: str = "partitions") -> tuple:
    if not isinstance(partitions, (list, tuple)) or len(partitions) == 0:
        raise ValueError(f"{name} must be a non-empty list of boolean masks of length K = {K}; "
                         f"got {type(partitions).__name__}.")
    masks = []
    for l, m in enumerate(partitions):
        arr = np.asarray(m)
        if arr.dtype != bool or arr.shape != (K,):
            raise ValueError(f"{name}[{l}] must be a boolean mask of shape ({K},); got dtype {arr.dtype} "
                             f"and shape {arr.shape}.")
        if arr.all() or not arr.any():
            raise ValueError(f"{name}[{l}] must split the coordinates into two non-empty parts (some True, "
                             f"some False); got {arr.astype(int).tolist()}.")
        masks.append(arr.copy())
    return tuple(masks)


def make_nice(K: int = 2, n_couplings: int = 4, hidden: Sequence[int] = (64, 64), *,
              activation: str = "relu", partitions=None) -> NICE:
    r"""A NICE architecture: ``n_couplings`` additive couplings and a final diagonal scaling.

    Parameters
    ----------
    K : int
        Data dimension, at least 2.
    n_couplings : int
        Number of couplings :math:`L`; with the default alternating partitions, at least 2 are
        needed for every coordinate to be updated.
    hidden : sequence of int
        Hidden widths of each coupling network :math:`\mathbf m_l`.
    activation : str
        Hidden nonlinearity (see :data:`pedagogy_lib.nn.network.ACTIVATIONS`).
    partitions : sequence of boolean arrays, shape (K,), optional
        One mask per coupling (``True`` = conditioning part); default :func:`alternating_partitions`.
        Their number overrides ``n_couplings``.

    Raises
    ------
    TypeError, ValueError
        If ``K`` or ``n_couplings`` is not a suitable int, ``hidden`` is not a sequence of positive
        ints, ``activation`` is unknown, or a partition is not a boolean mask with two non-empty parts.
    """
    K = check_int(K, "K", minimum=2)
    if partitions is None:
        n_couplings = check_int(n_couplings, "n_couplings", minimum=2)
        partitions = alternating_partitions(K, n_couplings)
    masks = _check_partitions(partitions, K)
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a sequence of int (hidden layer widths); got {type(hidden).__name__}.")
    hidden = [check_int(h, f"hidden[{i}]", minimum=1) for i, h in enumerate(hidden)]
    check_choice(activation, "activation", tuple(ACTIVATIONS))
    nets = tuple(mlp([int(m.sum()), *hidden, int((~m).sum())], activation=activation) for m in masks)
    return NICE(nets, masks, K)


def check_nice(model, name: str = "model") -> NICE:
    """Return ``model`` after checking every field against the others, as :func:`make_nice` builds them.

    A :class:`NICE` built by hand or edited with ``_replace`` is held to the same rules: one
    boolean mask of length ``K`` per coupling network, each splitting the coordinates into two
    non-empty parts, and network ``l`` mapping the conditioning part to the other one.

    Raises
    ------
    TypeError
        If ``K`` is not an integer or a network is not a :class:`~pedagogy_lib.nn.network.Sequential`.
    ValueError
        If ``model`` is not a :class:`NICE` (a ``ValueError``, as before), ``K < 2``, the masks are
        malformed, their number differs from the networks', or a network's widths do not match its mask.
    """
    if not isinstance(model, NICE):
        raise ValueError(f"{name} must be a NICE architecture from make_nice; got {type(model).__name__}.")
    K = check_int(model.K, f"{name}.K", minimum=2)
    masks = _check_partitions(model.masks, K, f"{name}.masks")
    if not isinstance(model.nets, (list, tuple)) or len(model.nets) != len(masks):
        got = len(model.nets) if isinstance(model.nets, (list, tuple)) else type(model.nets).__name__
        raise ValueError(f"{name}.nets must hold one network per mask ({len(masks)}); got {got}.")
    for l, (net, m) in enumerate(zip(model.nets, masks)):
        if not isinstance(net, Sequential):
            raise TypeError(f"{name}.nets[{l}] must be a Sequential (see make_nice); got {type(net).__name__}.")
        n_in, n_out = int(m.sum()), int((~m).sum())
        if net.n_in != n_in or net.n_out != n_out:
            raise ValueError(f"{name}.nets[{l}] must map the {n_in} conditioning coordinates of {name}.masks[{l}] "
                             f"to the other {n_out}; got {net.n_in} inputs and {net.n_out} outputs.")
    return NICE(tuple(model.nets), masks, K)


def _check_model(model) -> NICE:
    return check_nice(model)


def nice_init(model: NICE, rng: np.random.Generator, *, out_scale: float = 0.1) -> NICEParams:
    r"""Initial parameters: each coupling network's default initialization with its output layer
    scaled by ``out_scale`` (so the flow starts near the identity), and :math:`\boldsymbol\sigma = \mathbf 0`."""
    model = _check_model(model)
    rng = check_rng(rng)
    out_scale = positive_scalar(out_scale, "out_scale", strict=False)
    nets = []
    for net in model.nets:
        p = list(net.init(rng))
        last = p[-2]                                       # the output Dense layer
        p[-2] = type(last)(last.D * out_scale, last.d * out_scale)
        nets.append(tuple(p))
    return NICEParams(tuple(nets), np.zeros(model.K))


def _check_params(model, params) -> NICEParams:
    if not isinstance(params, NICEParams) or len(params.nets) != len(model.nets):
        raise ValueError(f"params must be NICEParams with {len(model.nets)} coupling networks; "
                         f"got {type(params).__name__}.")
    log_scale = as_array(params.log_scale, "params.log_scale", shape=(model.K,), dims="(K,)")
    return NICEParams(params.nets, log_scale)


def _check_Y(Y, K: int, name: str = "Y") -> np.ndarray:
    return as_array(Y, name, shape=(None, K), dims="(N, K)", nonempty=True)


# ----------------------------------------------------------------------------------------------
# The flow
# ----------------------------------------------------------------------------------------------

def _forward(model, params, Y, keep=False):
    h = Y
    caches, states = [], [Y]
    for net, p, a in zip(model.nets, params.nets, model.masks):
        m, cache = net.forward(p, h[:, a])
        h = h.copy()
        h[:, ~a] += m
        caches.append(cache)
        if keep:
            states.append(h)
    X = h * np.exp(params.log_scale)
    if keep:
        states.append(X)
    return X, caches, states


def forward(model: NICE, params: NICEParams, Y) -> np.ndarray:
    r"""The recognition function :math:`\mathbf d(\mathbf y)`: the couplings, then the scaling. Returns ``X`` (N, K)."""
    model = _check_model(model)
    params = _check_params(model, params)
    return _forward(model, params, _check_Y(Y, model.K))[0]


def forward_layers(model: NICE, params: NICEParams, Y) -> list:
    r"""The states :math:`\mathbf x_1 = \mathbf y, \mathbf x_2, \dots, \mathbf x_{L+1}` and the scaled output, a list of ``L + 2`` arrays (N, K)."""
    model = _check_model(model)
    params = _check_params(model, params)
    return _forward(model, params, _check_Y(Y, model.K), keep=True)[2]


def inverse(model: NICE, params: NICEParams, X) -> np.ndarray:
    r"""The generative function :math:`\mathbf c = \mathbf d^{-1}` (Eq. 9.6): undo the scaling, then each
    coupling in reverse order, :math:`\mathbf x_l^b = \mathbf x_{l+1}^b - \mathbf m_l(\mathbf x_{l+1}^a)`."""
    model = _check_model(model)
    params = _check_params(model, params)
    h = _check_Y(X, model.K, "X") * np.exp(-params.log_scale)
    for net, p, a in zip(reversed(model.nets), reversed(params.nets), reversed(model.masks)):
        m, _ = net.forward(p, h[:, a])
        h = h.copy()
        h[:, ~a] -= m
    return h


def log_det_jacobian(model: NICE, params: NICEParams, Y) -> np.ndarray:
    r""":math:`\log|\partial\mathbf d/\partial\mathbf y^T|` per row: :math:`\sum_l 0 + \sum_k\sigma_k` (Eq. 9.7), shape (N,)."""
    model = _check_model(model)
    params = _check_params(model, params)
    Y = _check_Y(Y, model.K)
    return np.full(Y.shape[0], float(np.sum(params.log_scale)))


def log_likelihood(model: NICE, params: NICEParams, Y) -> np.ndarray:
    r"""Per-row :math:`\log\hat p(\mathbf y;\boldsymbol\theta)` of Eq. 9.7 with a standard-normal prior, shape (N,)."""
    model = _check_model(model)
    params = _check_params(model, params)
    Y = _check_Y(Y, model.K)
    X = _forward(model, params, Y)[0]
    return -0.5 * np.sum(X * X, axis=1) - 0.5 * model.K * _LOG_TAU + float(np.sum(params.log_scale))


def _nll_and_grads(model, params, Y):
    N = Y.shape[0]
    X, caches, _ = _forward(model, params, Y)
    nll = float(np.mean(0.5 * np.sum(X * X, axis=1))) + 0.5 * model.K * _LOG_TAU - float(np.sum(params.log_scale))
    gX = X / N                                               # d(mean NLL)/dX
    g_sigma = np.sum(gX * X, axis=0) - 1.0                   # X = h e^sigma, and the -sum(sigma)
    g = gX * np.exp(params.log_scale)                        # d/dh at the last coupling's output
    g_nets = [None] * len(model.nets)
    for l in range(len(model.nets) - 1, -1, -1):
        a = model.masks[l]
        g_xa, g_nets[l] = model.nets[l].backward(params.nets[l], caches[l], g[:, ~a])
        g = g.copy()
        g[:, a] += g_xa
    return nll, NICEParams(tuple(g_nets), g_sigma)


def nll_and_grads(model: NICE, params: NICEParams, Y):
    r"""Average negative log-likelihood (Eq. 9.8 without the data entropy) and its gradient.

    Returns
    -------
    (nll, grads) : (float, NICEParams)
        ``grads`` has the structure of ``params``; the gradient of the *loss* (to be descended).
    """
    model = _check_model(model)
    params = _check_params(model, params)
    return _nll_and_grads(model, params, _check_Y(Y, model.K))


def fit_nice(model: NICE, params: NICEParams, Y, *, rng: np.random.Generator, n_steps: int = 2000,
             batch_size: int = 256, lr: float = 1e-3) -> NICEFit:
    r"""Minimize the average NLL by Adam on minibatches drawn without replacement from ``rng``.

    Parameters
    ----------
    model, params : NICE, NICEParams
        Architecture and starting parameters.
    Y : array_like, shape (N, K)
        Training data, one sample per row.
    rng : numpy.random.Generator
        Source of the minibatches.
    n_steps : int
        Number of Adam steps.
    batch_size : int
        Samples per step, ``1 <= batch_size <= N``.
    lr : float
        Adam's step size.
    """
    model = _check_model(model)
    params = _check_params(model, params)
    Y = _check_Y(Y, model.K)
    rng = check_rng(rng)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    B = check_int(batch_size, "batch_size", minimum=1, maximum=Y.shape[0])
    opt = Adam(lr)
    state = opt.init(params)
    losses = np.empty(n_steps)
    for t in range(n_steps):
        idx = rng.choice(Y.shape[0], size=B, replace=False)
        losses[t], grads = _nll_and_grads(model, params, Y[idx])
        params, state = opt.step(params, grads, state)
        params = NICEParams(tuple(params.nets), np.asarray(params.log_scale))
    return NICEFit(params, losses)


def sample(model: NICE, params: NICEParams, rng: np.random.Generator, N: int) -> np.ndarray:
    r"""Ancestral samples: :math:`\hat{\mathbf x}\sim\mathcal N(\mathbf 0,\mathbf I)`, then :math:`\hat{\mathbf y} = \mathbf c(\hat{\mathbf x})` (Eq. 9.6)."""
    model = _check_model(model)
    rng = check_rng(rng)
    N = check_int(N, "N", minimum=1)
    return inverse(model, params, rng.standard_normal((N, model.K)))


# ----------------------------------------------------------------------------------------------
# Leapfrog written as additive couplings
# ----------------------------------------------------------------------------------------------

def leapfrog_couplings(target, x, p, step_size: float, n_leapfrog: int = 1):
    r"""``n_leapfrog`` leapfrog steps, each as three additive couplings on :math:`(\mathbf x,\mathbf p)`.

    With the force :math:`\mathbf f = \partial\log\tilde p/\partial\mathbf x`,

    * kick: conditioning part :math:`\mathbf x`, updated part :math:`\mathbf p`, :math:`\mathbf m(\mathbf x) = \tfrac\epsilon2\mathbf f(\mathbf x)`;
    * drift: conditioning part :math:`\mathbf p`, updated part :math:`\mathbf x`, :math:`\mathbf m(\mathbf p) = \epsilon\mathbf p`;
    * kick again.

    The partitions alternate, as in NICE, and every coupling has unit Jacobian determinant. The result
    equals :func:`pedagogy_lib.samplers.proposals.leapfrog`.

    Parameters
    ----------
    target : a target of :mod:`pedagogy_lib.samplers.targets`
    x, p : array_like, shape (C, D)
        Positions and momenta, one chain per row.
    step_size : float
    n_leapfrog : int

    Returns
    -------
    (x, p) : tuple of ndarray

    Raises
    ------
    ValueError
        If an argument is malformed, or if the trajectory overflows (``step_size`` too large for the target).
    """
    D = check_target(target)
    x = as_array(x, "x", shape=(None, D), dims="(C, D)", nonempty=True)
    p = as_array(p, "p", shape=x.shape, dims="(C, D)")
    eps = positive_scalar(step_size, "step_size")
    L = check_int(n_leapfrog, "n_leapfrog", minimum=1)

    def kick(x_, p_):                    # x^a = x (unchanged), x^b = p + m(x)
        return x_, p_ + 0.5 * eps * evaluate_checked_target(target, x_, "numpy")[1]

    def drift(x_, p_):                   # x^a = p (unchanged), x^b = x + m(p)
        return x_ + eps * p_, p_

    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(L):
            x, p = kick(x, p)
            x, p = drift(x, p)
            x, p = kick(x, p)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(p))):
        raise ValueError(f"the leapfrog trajectory left the finite numbers; reduce step_size (now {eps:g}) or "
                         "check the target's parameters.")
    return x, p
