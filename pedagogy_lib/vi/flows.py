r"""A normalizing-flow variational family in two dimensions: an affine layer, then an affine coupling.

With :math:`\boldsymbol\varepsilon\sim\mathcal N(\mathbf 0,\mathbf I_2)`,

.. math::
    x_1 = c_1 + e^{a_1}\varepsilon_1, \qquad
    (t, u) = \mathrm{NN}(x_1;\boldsymbol\omega), \qquad
    x_2 = t + e^{u}\varepsilon_2 .

The Jacobian :math:`\partial\mathbf x/\partial\boldsymbol\varepsilon^T` is triangular, so by the change of
variables (Eq. 8.25) :math:`\log q(\mathbf x) = \log\mathcal N(\boldsymbol\varepsilon;\mathbf 0,\mathbf I) - a_1 - u`,
and the map inverts in closed form (:func:`flow_log_density`). The conditioner NN is an
:func:`~pedagogy_lib.nn.network.mlp` whose gradients come from the library's hand-written
backpropagation. Because the banana's :math:`x_2\mid x_1` is Gaussian with a mean quadratic in
:math:`x_1`, this family contains it (up to how well the NN fits a parabola), while no Gaussian does.
The ELBO is climbed with pathwise (reparameterization) gradients and Adam.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_int, check_rng, positive_scalar
from ..nn.network import DenseParams, Sequential, mlp, tree_map
from ..nn.optim import Adam
from ..samplers.targets import check_target, evaluate_checked_target

__all__ = ["CouplingFlowParams", "FlowVIResult", "coupling_flow", "check_flow", "flow_init", "flow_sample",
           "flow_log_density", "flow_elbo_and_grads", "fit_flow_vi"]

_LOG2PI = np.log(2.0 * np.pi)


class CouplingFlowParams(NamedTuple):
    """Parameters of the flow.

    Attributes
    ----------
    c1 : ndarray, shape (1,)
        Shift of the first coordinate.
    a1 : ndarray, shape (1,)
        Log scale of the first coordinate.
    omega : tuple
        Parameters of the conditioner network (``Sequential.init``'s structure).
    """

    c1: np.ndarray
    a1: np.ndarray
    omega: tuple


class FlowVIResult(NamedTuple):
    """What :func:`fit_flow_vi` returns: final ``params`` and the ELBO estimate at every step."""

    params: CouplingFlowParams
    elbo: np.ndarray


def coupling_flow(hidden: int = 16) -> Sequential:
    """The conditioner: an MLP from :math:`x_1` to :math:`(t, u)` with one tanh hidden layer."""
    return mlp([1, check_int(hidden, "hidden", minimum=1), 2], activation="tanh")


def flow_init(net: Sequential, rng: np.random.Generator) -> CouplingFlowParams:
    """Start at :math:`q = \\mathcal N(\\mathbf 0, \\mathbf I)`-like: zero shift and log scale, small output weights."""
    _check_net(net)
    rng = check_rng(rng)
    omega = net.init(rng)
    if len(omega) < 2 or not isinstance(omega[-2], DenseParams):
        raise ValueError("net must end with a Dense layer and its activation, as coupling_flow() builds; got "
                         f"{net!r}.")
    last = omega[-2]                                          # the output Dense layer
    omega = omega[:-2] + (DenseParams(last.D * 0.1, last.d * 0.0),) + omega[-1:]
    return CouplingFlowParams(np.zeros(1), np.zeros(1), omega)


def _forward(net, params, eps):
    x1 = params.c1[0] + np.exp(params.a1[0]) * eps[:, 0]
    out, cache = net.forward(params.omega, x1[:, None])
    t, u = out[:, 0], out[:, 1]
    x = np.column_stack([x1, t + np.exp(u) * eps[:, 1]])
    log_q = np.sum(-0.5 * eps * eps, axis=1) - _LOG2PI - params.a1[0] - u
    return x, log_q, cache, u


def _check_net(net):
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a Sequential (see coupling_flow); got {type(net).__name__}.")
    if net.n_in != 1 or net.n_out != 2:
        raise ValueError(f"net must map x_1 (1 input) to (t, u) (2 outputs), as coupling_flow() builds; got "
                         f"{net.n_in} inputs and {net.n_out} outputs.")


def check_flow(net, params, name: str = "params") -> CouplingFlowParams:
    """Return ``params`` with clean ``c1`` and ``a1`` after checking them and the conditioner ``net``.

    A :class:`CouplingFlowParams` built by hand or edited with ``_replace`` is held to the rules of
    :func:`flow_init`; ``omega`` is checked against ``net`` by the network's own ``forward``.

    Raises
    ------
    TypeError
        If ``net`` is not a :class:`~pedagogy_lib.nn.network.Sequential` or ``params`` is not a
        :class:`CouplingFlowParams`.
    ValueError
        If ``net`` does not map 1 input to 2 outputs (see :func:`coupling_flow`), or ``c1`` or
        ``a1`` is not a finite array of shape ``(1,)``.
    """
    _check_net(net)
    if not isinstance(params, CouplingFlowParams):
        raise TypeError(f"{name} must be a CouplingFlowParams (see flow_init); got {type(params).__name__}.")
    c1 = as_array(params.c1, f"{name}.c1", shape=(1,), dims="(1,)")
    a1 = as_array(params.a1, f"{name}.a1", shape=(1,), dims="(1,)")
    return CouplingFlowParams(c1, a1, params.omega)


def _check_eps(eps):
    eps = as_array(eps, "eps", ndim=2, dims="(S, 2)")
    if eps.shape[1] != 2 or eps.shape[0] < 1:
        raise ValueError(f"eps must have shape (S, 2) with S >= 1; got {eps.shape}.")
    return eps


def flow_sample(net: Sequential, params: CouplingFlowParams, eps):
    r"""Push rows of ``eps`` through the flow: returns ``x`` (S, 2) and :math:`\log q(\mathbf x)` (S,)."""
    params = check_flow(net, params)
    x, log_q, _, _ = _forward(net, params, _check_eps(eps))
    return x, log_q


def flow_log_density(net: Sequential, params: CouplingFlowParams, x) -> np.ndarray:
    r""":math:`\log q(\mathbf x)` by inverting the flow: :math:`\varepsilon_1 = (x_1-c_1)e^{-a_1}`, :math:`\varepsilon_2 = (x_2-t)e^{-u}`.

    The change of variables of Eq. 8.25: :math:`\log\mathcal N(\boldsymbol\varepsilon;\mathbf 0,\mathbf I) - a_1 - u`.
    """
    params = check_flow(net, params)
    x = as_array(x, "x", ndim=2, dims="(S, 2)")
    if x.shape[1] != 2:
        raise ValueError(f"x must have shape (S, 2); got {x.shape}.")
    e1 = (x[:, 0] - params.c1[0]) * np.exp(-params.a1[0])
    out, _ = net.forward(params.omega, x[:, :1])
    t, u = out[:, 0], out[:, 1]
    e2 = (x[:, 1] - t) * np.exp(-u)
    return -0.5 * (e1 * e1 + e2 * e2) - _LOG2PI - params.a1[0] - u


def flow_elbo_and_grads(net: Sequential, params: CouplingFlowParams, target, eps):
    r"""Monte Carlo ELBO :math:`\langle\log\tilde p(\mathbf x) - \log q(\mathbf x)\rangle` and its pathwise gradient.

    Returns ``(elbo, grads)`` with ``grads`` shaped like ``params`` (the gradient of the ELBO, to
    be *ascended*). The chain rule runs by hand: from the target's force at :math:`\mathbf x` back
    through :math:`x_2 = t + e^u\varepsilon_2` into the network (its backward pass), then to :math:`(c_1, a_1)`.

    Raises
    ------
    TypeError, ValueError
        If ``net`` and ``params`` do not match (:func:`check_flow`), ``target`` is not a 2-D target,
        ``eps`` is not a finite ``(S, 2)`` array, or the samples or the force overflow float64.
    """
    params = check_flow(net, params)
    _check_2d_target(target)
    eps = _check_eps(eps)
    with np.errstate(over="ignore", invalid="ignore"):
        x, log_q, _, _ = _forward(net, params, eps)
        log_p, f = evaluate_checked_target(target, x, "numba") if np.all(np.isfinite(x)) else (x, x)
    if not all(np.all(np.isfinite(a)) for a in (x, log_q, log_p, f)):
        raise ValueError("the flow's samples or the target's force at them overflow float64: eps (standard normal "
                         f"draws, largest |eps| = {np.max(np.abs(eps)):.3g}) and params must be on a moderate scale.")
    return _elbo_and_grads(net, params, target, eps)


def _check_2d_target(target):
    D = check_target(target)
    if D != 2:
        raise ValueError(f"target must be two-dimensional for this flow; got D = {D}.")


def _elbo_and_grads(net, params, target, eps):
    S = eps.shape[0]
    x, log_q, cache, u = _forward(net, params, eps)
    log_p, f = evaluate_checked_target(target, x, "numba")
    elbo = float(np.mean(log_p - log_q))
    g_t = f[:, 1]                                              # d(elbo_s)/dt
    g_u = f[:, 1] * np.exp(u) * eps[:, 1] + 1.0                # d(elbo_s)/du, the +1 from -log q
    g_x1_net, g_omega = net.backward(params.omega, cache, np.column_stack([g_t, g_u]) / S)
    g_x1 = f[:, 0] / S + g_x1_net[:, 0]                        # total d(mean elbo)/dx1 per sample
    g_c1 = np.array([g_x1.sum()])
    g_a1 = np.array([np.sum(g_x1 * np.exp(params.a1[0]) * eps[:, 0]) + 1.0])
    return elbo, CouplingFlowParams(g_c1, g_a1, g_omega)


def fit_flow_vi(net: Sequential, params: CouplingFlowParams, target, rng: np.random.Generator, *,
                n_iter: int = 2000, n_samples: int = 64, lr: float = 0.01) -> FlowVIResult:
    """Ascend the ELBO with Adam and fresh samples each step.

    Raises
    ------
    TypeError, ValueError
        If ``net`` or ``params`` is malformed (:func:`check_flow`), ``target`` is not a valid
        two-dimensional target, or an option is out of range.
    """
    params = check_flow(net, params)
    _check_2d_target(target)
    rng = check_rng(rng)
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    S = check_int(n_samples, "n_samples", minimum=1)
    opt = Adam(positive_scalar(lr, "lr"))
    state = opt.init(params)
    elbo = np.empty(n_iter)
    for it in range(n_iter):
        elbo[it], g = _elbo_and_grads(net, params, target, rng.standard_normal((S, 2)))
        neg = tree_map(np.negative, g)
        params, state = opt.step(params, neg, state)
    return FlowVIResult(params, elbo)

