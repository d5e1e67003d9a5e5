r"""Gradient descent for the networks of Section 5.1.3: SGD with momentum, Adam and shuffled minibatches.

Backpropagation (:mod:`~pedagogy_lib.nn.network`, Eqs. 5.16-5.17) gives the gradient of the
average surprisal :math:`\langle\mathcal S\rangle` (:mod:`~pedagogy_lib.nn.losses`) with respect
to every parameter; Section 5.1.3 closes with the update that uses it,

.. math::
    \Delta\theta \propto -\Big\langle\frac{d\mathcal S}{d\theta}\Big\rangle,

the average taken over the data or, in practice, over a random minibatch of it (a stochastic
gradient, whose expectation is the full average). This module holds the steps and the batches:

* :class:`SGD`: gradient descent with (heavy-ball) momentum; ``momentum=0`` is the update above.
* :class:`Adam` (Kingma and Ba 2015): each coordinate's step scaled by running estimates of the
  gradient's first two moments, with bias corrections, so the first steps have size about the
  learning rate whatever the gradient's scale. ``backend="numba"`` updates each
  parameter array in one compiled pass (:func:`~pedagogy_lib.nn.kernels.adam_update`);
  ``"numpy"`` is its readable twin, with the same numbers.
* :func:`minibatches`: one epoch of shuffled minibatches, every row once.

Design
------
* **Optimizers are functional**: ``state = opt.init(params)``, then
  ``params, state = opt.step(params, grads, state)`` returns new arrays and never modifies its
  inputs; the state (:class:`SGDState`, :class:`AdamState`) is a NamedTuple the caller holds.
* ``params`` is any parameter tree (:func:`~pedagogy_lib.nn.network.tree_map`): one
  ``DenseParams``, a ``Sequential``'s tuple, a dict of several networks. ``step`` checks that
  ``grads`` and the state have its structure and shapes and are finite, and raises ``ValueError``
  naming the leaf at fault (``grads[2].D``); in a training loop, where every leaf is already a
  float64 array, the checks cost one walk of all the trees together.
* Randomness only through an explicit ``np.random.Generator`` (:func:`minibatches`).

Examples
--------
>>> import numpy as np
>>> from pedagogy_lib.nn.network import mlp
>>> from pedagogy_lib.nn.losses import squared_error
>>> rng = np.random.default_rng(0)
>>> net = mlp([1, 8, 1])
>>> params, opt = net.init(rng), Adam(0.05, backend="numpy")
>>> state = opt.init(params)
>>> Y = np.linspace(-1, 1, 32)[:, None]
>>> for epoch in range(100):
...     for Yb, Xb in minibatches(rng, 8, Y, Y ** 2):
...         out, cache = net.forward(params, Yb)
...         _, grads = net.backward(params, cache, squared_error(out, Xb).grad, input_grad=False)
...         params, state = opt.step(params, grads, state)
>>> bool(squared_error(net.forward(params, Y)[0], Y ** 2).value < 1e-2)
True
"""
from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

from ..core.checks import check_backend, check_finite, check_int, check_rng, positive_scalar
from ..core.jit import choose
from . import kernels
from .network import check_tree_like, checked_leaves, tree_map, tree_unflatten

__all__ = [
    "SGDState",
    "AdamState",
    "SGD",
    "Adam",
    "minibatches",
]


# ----------------------------------------------------------------------------------------------
# Optimizers (functional: step returns new parameters and state)
# ----------------------------------------------------------------------------------------------

class SGDState(NamedTuple):
    """State of :class:`SGD`: the momentum buffer ``velocity`` (same structure as ``params``)."""

    velocity: object


class AdamState(NamedTuple):
    """State of :class:`Adam`: step count ``t`` and moment estimates ``m``, ``v`` (structure of ``params``)."""

    t: int
    m: object
    v: object


class SGD:
    r"""Gradient descent with (heavy-ball) momentum.

    With ``momentum=0`` this is the update :math:`\Delta\theta\propto-\langle d\mathcal S/d\theta\rangle`
    that closes Section 5.1.3. In general, with :math:`\mathbf g` the gradient,

    .. math::
        \mathbf v \leftarrow \beta\,\mathbf v + \mathbf g, \qquad \theta \leftarrow \theta - \eta\,\mathbf v,

    with learning rate :math:`\eta` = ``lr`` and momentum :math:`\beta` = ``momentum``
    (:math:`\beta = 0` is plain gradient descent). This is PyTorch's convention; Sutskever et al.
    scale the velocity by the learning rate instead, which is equivalent for a constant ``lr``.
    """

    def __init__(self, lr: float, *, momentum: float = 0.0):
        self.lr = positive_scalar(lr, "lr")
        self.momentum = positive_scalar(momentum, "momentum", strict=False)
        if self.momentum >= 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {self.momentum:.6g}.")

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr:g}, momentum={self.momentum:g})"

    def init(self, params) -> SGDState:
        """Zero velocity shaped like ``params``."""
        check_tree_like(params, "params", params, "params")
        return SGDState(tree_map(lambda p: np.zeros(np.shape(p)), params))

    def step(self, params, grads, state: SGDState):
        """One update; returns ``(new_params, new_state)`` and leaves the inputs untouched.

        Raises
        ------
        ValueError
            If ``state`` is not an :class:`SGDState`, or ``grads`` or ``state.velocity`` does not
            have the structure and shapes of ``params`` or is not finite.
        """
        if not isinstance(state, SGDState):
            raise ValueError(f"state must be the SGDState returned by init; got {type(state).__name__}.")
        structure, rows = checked_leaves(params, ((grads, "grads", True), (state.velocity, "state.velocity", True)))
        beta, lr = self.momentum, self.lr
        V = [beta * v + g for _, g, v in rows]
        new_params = [p - lr * v for (p, _, _), v in zip(rows, V)]
        return tree_unflatten(structure, iter(new_params)), SGDState(tree_unflatten(structure, iter(V)))


def _adam_numpy(p, g, m, v, h):
    """Readable twin of :func:`~pedagogy_lib.nn.kernels.adam_update`: one leaf's update; returns
    ``(p_new, m_new, v_new, all_finite)``.

    ``h = (b1, b2, lr, eps, c1, c2)`` holds the step's scalars: :math:`\\beta_1, \\beta_2`, the learning
    rate, :math:`\\epsilon` and the bias corrections :math:`c_1 = 1-\\beta_1^t`, :math:`c_2 = 1-\\beta_2^t`.
    """
    b1, b2, lr, eps, c1, c2 = h
    with np.errstate(over="ignore", invalid="ignore"):      # a non-finite input is reported by the flag
        m_new = b1 * m + (1.0 - b1) * g
        v_new = b2 * v + (1.0 - b2) * (g * g)
        p_new = p - lr * (m_new / c1) / (np.sqrt(v_new / c2) + eps)
    return p_new, m_new, v_new, bool(np.isfinite(p_new).all())


def _adam_leaf_kernel(p, g, m, v, h):
    """:func:`~pedagogy_lib.nn.kernels.adam_update` on one leaf of any shape; returns what
    :func:`_adam_numpy` returns."""
    p_new, m_new, v_new = np.empty(p.shape), np.empty(p.shape), np.empty(p.shape)   # C order: reshape is a view
    finite = kernels.adam_update(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), h,
                                 p_new.reshape(-1), m_new.reshape(-1), v_new.reshape(-1))
    return p_new, m_new, v_new, finite


_ADAM = {"numpy": _adam_numpy, "numba": _adam_leaf_kernel}


class Adam:
    r"""Adam (Kingma and Ba 2015): gradient steps scaled by running moment estimates.

    .. math::
        \mathbf m_t = \beta_1\mathbf m_{t-1} + (1-\beta_1)\mathbf g_t, \qquad
        \mathbf v_t = \beta_2\mathbf v_{t-1} + (1-\beta_2)\mathbf g_t^2, \\
        \theta_t = \theta_{t-1} - \eta\,\frac{\mathbf m_t/(1-\beta_1^t)}{\sqrt{\mathbf v_t/(1-\beta_2^t)} + \epsilon}.

    The bias corrections :math:`1-\beta^t` undo the zero start of :math:`\mathbf m, \mathbf v`, so
    the first step has size about :math:`\eta` in every coordinate whatever the gradient's scale.

    ``backend="numba"`` updates each leaf in one compiled pass
    (:func:`~pedagogy_lib.nn.kernels.adam_update`);
    ``"numpy"`` is its readable twin, the three lines above in NumPy. Both give the same numbers
    (the same operations in the same order; the tests hold them to 1e-15). ``"auto"`` (the default)
    chooses at each step: the twin while compiling would cost more than it saves
    (:func:`pedagogy_lib.core.jit.choose`).
    """

    def __init__(self, lr: float = 1e-3, *, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 backend: str = "auto"):
        self.lr = positive_scalar(lr, "lr")
        for name, b in (("beta1", beta1), ("beta2", beta2)):
            b = positive_scalar(b, name, strict=False)
            if b >= 1.0:
                raise ValueError(f"{name} must be in [0, 1); got {b:.6g}.")
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = positive_scalar(eps, "eps")
        resolved = check_backend(backend)                   # "auto" is kept, and chosen at each step
        self.backend = "auto" if backend == "auto" and resolved == "numba" else resolved

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr:g}, beta1={self.beta1:g}, beta2={self.beta2:g}, eps={self.eps:g})"

    def init(self, params) -> AdamState:
        """Zero moments shaped like ``params`` and ``t = 0``."""
        check_tree_like(params, "params", params, "params")
        zeros = tree_map(lambda p: np.zeros(np.shape(p)), params)
        return AdamState(0, zeros, tree_map(np.copy, zeros))

    def step(self, params, grads, state: AdamState):
        """One update; returns ``(new_params, new_state)`` and leaves the inputs untouched.

        Raises
        ------
        TypeError, ValueError
            If ``state`` is not an :class:`AdamState`, ``state.t`` is not a non-negative integer,
            ``grads``, ``state.m`` or ``state.v`` does not have the structure and shapes of
            ``params``, an input is not finite, ``state.v`` has a negative entry, or the update
            overflows.
        """
        if not isinstance(state, AdamState):
            raise ValueError(f"state must be the AdamState returned by init; got {type(state).__name__}.")
        # structure and shapes first; the finiteness of params and grads is read off the result
        # (a NaN or infinity in either always reaches the new parameters)
        others = ((grads, "grads", False), (state.m, "state.m", False), (state.v, "state.v", False))
        structure, rows = checked_leaves(params, others, finite=False)
        t = check_int(state.t, "state.t", minimum=0) + 1
        b1, b2, lr, eps = self.beta1, self.beta2, self.lr, self.eps
        # the step's scalars, shared by every leaf, with this step's bias corrections 1 - beta^t; a plain
        # tuple, which numba types in its fast path (a NamedTuple costs about 0.5 us more per kernel call)
        h = (b1, b2, lr, eps, 1.0 - b1 ** t, 1.0 - b2 ** t)
        backend = self.backend if self.backend != "auto" else \
            choose(kernels.adam_update, leaves=len(rows), size=sum(leaf[0].size for leaf in rows))
        update = _ADAM[backend]
        new = [update(p, g, m_, v_, h) for p, g, m_, v_ in rows]
        if not all(leaf[3] for leaf in new):
            checked_leaves(params, ((grads, "grads", True),))          # names the input that is not finite
            check_tree_like(state.m, "state.m", params, "params")
            check_tree_like(state.v, "state.v", params, "params")
            for i, (_, _, _, v_) in enumerate(rows):
                if np.any(v_ < 0):
                    raise ValueError(f"state.v holds running means of squared gradients and must be non-negative; "
                                     f"leaf {i} has the entry {float(v_.min()):.6g}.")
            raise ValueError("the Adam update is not finite although params, grads and state are (an overflow: "
                             f"lr = {lr:g} may be too large for these gradients).")
        tree = lambda k: tree_unflatten(structure, iter([leaf[k] for leaf in new]))  # noqa: E731
        return tree(0), AdamState(t, tree(1), tree(2))


# ----------------------------------------------------------------------------------------------
# Minibatches
# ----------------------------------------------------------------------------------------------

def minibatches(rng: np.random.Generator, batch_size: int, *arrays, drop_last: bool = False) -> Iterator[tuple]:
    """One epoch of shuffled minibatches: yields tuples ``(arrays[0][idx], arrays[1][idx], ...)``.

    A fresh permutation of the ``N`` rows is drawn from ``rng``; consecutive blocks of
    ``batch_size`` indices form the batches, so every row appears exactly once per epoch (the
    last batch is smaller unless ``drop_last``). Arrays are validated now, not at the first batch.

    Parameters
    ----------
    rng : numpy.random.Generator
    batch_size : int
        At least 1.
    *arrays : array_like
        At least one; all must have the same number of rows ``N`` (first axis).
    drop_last : bool
        Skip a final, incomplete batch.
    """
    rng = check_rng(rng)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if not arrays:
        raise ValueError("arrays must contain at least one array; got none.")
    arrs = []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if a.ndim == 0:
            raise ValueError(f"arrays[{i}] must have at least one axis (rows); got a scalar.")
        if np.issubdtype(a.dtype, np.floating):
            check_finite(a, f"arrays[{i}]")
        if i > 0 and a.shape[0] != arrs[0].shape[0]:
            raise ValueError(f"arrays[{i}] must have N = {arrs[0].shape[0]} rows like arrays[0]; "
                             f"got {a.shape[0]}.")
        arrs.append(a)
    N = arrs[0].shape[0]
    perm = rng.permutation(N)

    def _gen():
        stop = N - N % batch_size if drop_last else N
        for start in range(0, stop, batch_size):
            idx = perm[start:start + batch_size]
            yield tuple(a[idx] for a in arrs)

    return _gen()
