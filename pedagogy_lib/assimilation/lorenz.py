r"""Chaotic test systems for data assimilation: Lorenz-63 and Lorenz-96, integrated by RK4, with
their tangent-linear and adjoint models (the 4DVar notes' "ODE/PDEs" and "TimeStepper" sections).

The vector fields are

.. math::
    \text{Lorenz-63:}\quad \dot x = \sigma(y - x),\quad \dot y = x(\rho - z) - y,\quad
        \dot z = xy - \beta z \qquad (\sigma, \rho, \beta) = (10, 28, 8/3),

    \text{Lorenz-96:}\quad \dot x_i = (x_{i+1} - x_{i-2})\,x_{i-1} - x_i + F
        \qquad (i \text{ modulo } n;\ n = 40,\ F = 8).

One *cycle* of the flow map :math:`\mathcal M` (the time between two observations, the book's step
from :math:`t-1` to :math:`t`) is ``n_steps`` steps of the classical fourth-order Runge-Kutta
scheme with step ``dt``. The tangent-linear model :math:`\mathbf M = \partial\mathcal M/\partial
\mathbf x` differentiates every RK4 stage; the adjoint :math:`\mathbf M^T` runs the same stages
backwards (reverse-mode differentiation of the time stepper, the discrete analogue of
backpropagation through time, Section 5.1.3). A third kind, ``"linear"``, is the transition of the
linear-Gaussian model (:math:`\mathcal M(\mathbf x) = \mathbf A\mathbf x + \mathbf a`), so every
filter and 4DVar in this family runs on the exact linear limit too.

The compiled kernels (:mod:`pedagogy_lib.assimilation.kernels`) work on one state or one ensemble
with an integer ``kind`` (0 = Lorenz-63, 1 = Lorenz-96, 2 = linear, the order of :data:`KINDS`) and a
flat parameter vector ``theta``; each has a NumPy twin here (``*_numpy``), vectorized over a leading axis.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, as_scalar, check_backend, check_int, positive_scalar
from . import kernels
from .kernels import Flow

__all__ = ["Dynamics", "lorenz63", "lorenz96", "linear_dynamics", "vector_field", "integrate", "propagate",
           "tangent_linear", "adjoint", "cycle_jacobian", "KINDS"]

#: Kinds of dynamics, in the order of their integer codes in the kernels.
KINDS = ("lorenz63", "lorenz96", "linear")


class Dynamics(NamedTuple):
    r"""A deterministic flow map :math:`\mathcal M` applied once per assimilation cycle.

    Attributes
    ----------
    kind : str
        ``"lorenz63"``, ``"lorenz96"`` or ``"linear"``.
    n : int
        State dimension.
    theta : ndarray
        Model constants: ``(sigma, rho, beta)``; ``(F,)``; or ``A`` flattened row-major then ``a``.
    dt : float
        RK4 step (unused for ``"linear"``).
    n_steps : int
        RK4 steps per cycle (1 for ``"linear"``).
    """

    kind: str
    n: int
    theta: np.ndarray
    dt: float
    n_steps: int

    @property
    def code(self) -> int:
        """The integer code of :attr:`kind` used by the kernels."""
        return KINDS.index(self.kind)

    @property
    def flow(self) -> "Flow":
        """The flow map as the kernels take it: ``Flow(code, theta, dt, n_steps)``."""
        return Flow(KINDS.index(self.kind), self.theta, self.dt, self.n_steps)


def lorenz63(*, sigma=10.0, rho=28.0, beta=8.0 / 3.0, dt=0.01, n_steps=1) -> Dynamics:
    """Lorenz-63 with the standard constants; one cycle is ``n_steps`` RK4 steps of ``dt``."""
    theta = np.array([as_scalar(sigma, "sigma"), as_scalar(rho, "rho"), as_scalar(beta, "beta")])
    return Dynamics("lorenz63", 3, theta, positive_scalar(dt, "dt"), check_int(n_steps, "n_steps", minimum=1))


def lorenz96(n=40, *, F=8.0, dt=0.05, n_steps=1) -> Dynamics:
    """Lorenz-96 on ``n`` (at least 4) periodic sites with forcing ``F``; one cycle is ``n_steps`` RK4 steps."""
    n = check_int(n, "n", minimum=4)
    return Dynamics("lorenz96", n, np.array([as_scalar(F, "F")]), positive_scalar(dt, "dt"),
                    check_int(n_steps, "n_steps", minimum=1))


def linear_dynamics(A, a=None) -> Dynamics:
    r"""The linear transition :math:`\mathbf x\mapsto\mathbf A\mathbf x + \mathbf a` (Eq. 2.49 without control)."""
    A = as_array(A, "A", ndim=2, dims="(n, n)")
    n = A.shape[0]
    if A.shape != (n, n) or n == 0:
        raise ValueError(f"A must be a non-empty square matrix of shape (n, n); got {A.shape}.")
    a = np.zeros(n) if a is None else as_array(a, "a", shape=(n,), dims="(n,)")
    return Dynamics("linear", n, np.concatenate([A.ravel(), a]), 1.0, 1)


def check_dynamics(dyn, name: str = "dynamics") -> Dynamics:
    """Validate a :class:`Dynamics` (public: the filters and 4DVar call it once at their boundary)."""
    if not isinstance(dyn, Dynamics):
        raise TypeError(f"{name} must be a Dynamics (from lorenz63, lorenz96 or linear_dynamics); "
                        f"got {type(dyn).__name__}.")
    if dyn.kind not in KINDS:
        raise ValueError(f"{name}.kind must be one of {KINDS}; got {dyn.kind!r}.")
    n = check_int(dyn.n, f"{name}.n", minimum=1)
    if dyn.kind == "lorenz63" and n != 3:
        raise ValueError(f"{name}.n must be 3 for the Lorenz-63 model; got {n}.")
    want = {"lorenz63": 3, "lorenz96": 1, "linear": n * n + n}[dyn.kind]
    theta = as_array(dyn.theta, f"{name}.theta", shape=(want,), dims=f"({want},)")
    return Dynamics(dyn.kind, n, theta, positive_scalar(dyn.dt, f"{name}.dt"),
                    check_int(dyn.n_steps, f"{name}.n_steps", minimum=1))


def _state(x, dyn: Dynamics, name: str) -> np.ndarray:
    x = as_array(x, name, ndim=1, dims="(n,)")
    if x.shape[0] != dyn.n:
        raise ValueError(f"{name} must have shape (n,) = ({dyn.n},); got {x.shape}.")
    return x


# ------------------------------------------------------------------------------------------------
# NumPy twins: vectorized over a leading axis of states
# ------------------------------------------------------------------------------------------------

def rhs_numpy(kind, theta, X):
    """Vector field of each row of ``X`` (..., n)."""
    if kind == 0:
        x, y, z = X[..., 0], X[..., 1], X[..., 2]
        return np.stack([theta[0] * (y - x), x * (theta[1] - z) - y, x * y - theta[2] * z], axis=-1)
    return (np.roll(X, -1, -1) - np.roll(X, 2, -1)) * np.roll(X, 1, -1) - X + theta[0]


def jvp_numpy(kind, theta, X, V):
    """J(x) v for rows of ``X`` and ``V``."""
    if kind == 0:
        x, y, z = X[..., 0], X[..., 1], X[..., 2]
        a, b, c = V[..., 0], V[..., 1], V[..., 2]
        return np.stack([theta[0] * (b - a), (theta[1] - z) * a - b - x * c, y * a + x * b - theta[2] * c], axis=-1)
    r = np.roll
    return (r(V, -1, -1) - r(V, 2, -1)) * r(X, 1, -1) + (r(X, -1, -1) - r(X, 2, -1)) * r(V, 1, -1) - V


def vjp_numpy(kind, theta, X, W):
    """J(x)^T w for rows of ``X`` and ``W``."""
    if kind == 0:
        x, y, z = X[..., 0], X[..., 1], X[..., 2]
        a, b, c = W[..., 0], W[..., 1], W[..., 2]
        return np.stack([-theta[0] * a + (theta[1] - z) * b + y * c, theta[0] * a - b + x * c,
                         -x * b - theta[2] * c], axis=-1)
    r = np.roll
    return r(W, 1, -1) * r(X, 2, -1) - r(W, -2, -1) * r(X, -1, -1) + r(W, -1, -1) * (r(X, -2, -1) - r(X, 1, -1)) - W


def _linear_parts(theta, n):
    return theta[: n * n].reshape(n, n), theta[n * n:]


def cycle_forward_numpy(kind, theta, dt, n_steps, X):
    """One cycle of every row of ``X``; returns ``(X_next, stages)`` with stages (n_steps, 4, ..., n)."""
    n = X.shape[-1]
    if kind == 2:
        A, a = _linear_parts(theta, n)
        return X @ A.T + a, None
    stages = []
    cur = X
    for _ in range(n_steps):
        k1 = rhs_numpy(kind, theta, cur)
        s2 = cur + 0.5 * dt * k1
        k2 = rhs_numpy(kind, theta, s2)
        s3 = cur + 0.5 * dt * k2
        k3 = rhs_numpy(kind, theta, s3)
        s4 = cur + dt * k3
        k4 = rhs_numpy(kind, theta, s4)
        stages.append(np.stack([cur, s2, s3, s4]))
        cur = cur + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return cur, np.stack(stages)


def cycle_adjoint_numpy(kind, theta, dt, n_steps, stages, lam):
    """``M^T lam`` for one cycle linearized at ``stages`` (as returned by :func:`cycle_forward_numpy`)."""
    n = lam.shape[-1]
    if kind == 2:
        A, _ = _linear_parts(theta, n)
        return lam @ A
    cur = lam
    for s in range(n_steps - 1, -1, -1):
        S = stages[s]
        u4 = vjp_numpy(kind, theta, S[3], dt / 6.0 * cur)
        u3 = vjp_numpy(kind, theta, S[2], dt / 3.0 * cur + dt * u4)
        u2 = vjp_numpy(kind, theta, S[1], dt / 3.0 * cur + 0.5 * dt * u3)
        u1 = vjp_numpy(kind, theta, S[0], dt / 6.0 * cur + 0.5 * dt * u2)
        cur = cur + u4 + u3 + u2 + u1
    return cur


def cycle_tlm_numpy(kind, theta, dt, n_steps, x, dX):
    """One cycle of ``x`` (n,) and of the perturbation rows ``dX`` (k, n)."""
    n = x.shape[-1]
    if kind == 2:
        A, a = _linear_parts(theta, n)
        return A @ x + a, dX @ A.T
    x_next, stages = cycle_forward_numpy(kind, theta, dt, n_steps, x)
    d = dX
    for s in range(n_steps):
        S = stages[s]
        k1 = jvp_numpy(kind, theta, S[0], d)
        k2 = jvp_numpy(kind, theta, S[1], d + 0.5 * dt * k1)
        k3 = jvp_numpy(kind, theta, S[2], d + 0.5 * dt * k2)
        k4 = jvp_numpy(kind, theta, S[3], d + dt * k3)
        d = d + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return x_next, d


# ------------------------------------------------------------------------------------------------
# Public functions
# ------------------------------------------------------------------------------------------------

def vector_field(dynamics: Dynamics, x) -> np.ndarray:
    """The vector field :math:`\\mathbf f(\\mathbf x)` of a Lorenz system at each row of ``x`` (..., n)."""
    dyn = check_dynamics(dynamics)
    if dyn.kind == "linear":
        raise ValueError("dynamics.kind must be 'lorenz63' or 'lorenz96' for a vector field; "
                         "the linear kind is a map, not a flow.")
    X = as_array(x, "x")
    if X.ndim == 0 or X.shape[-1] != dyn.n:
        raise ValueError(f"x must have shape (..., n) with n = {dyn.n}; got {X.shape}.")
    return rhs_numpy(dyn.code, dyn.theta, X)


def _finite(dyn: Dynamics, what: str, *arrays):
    """The arrays if every entry is finite, else a ``ValueError``: the integration blew up."""
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ValueError(f"the {what} overflows float64: dynamics.dt (now {dyn.dt:g}), dynamics.theta and the "
                         "state must be on a scale the integrator can follow (reduce dt or the state).")
    return arrays if len(arrays) > 1 else arrays[0]


def twin_seconds(dyn: Dynamics, cycles: int, rows: int = 1, *, tangent: bool = False) -> float:
    """What the NumPy twin costs for ``cycles`` cycles of ``rows`` states (with the tangent-linear or adjoint
    model when ``tangent``), estimated from the sizes (about 0.1 ms per RK4 step, 0.25 ms with the tangent
    model, plus the arithmetic): the work ``backend="auto"`` weighs against compiling
    (:func:`pedagogy_lib.core.jit.prefer_compiled`)."""
    return cycles * dyn.n_steps * ((2.5e-4 if tangent else 1e-4) + 5e-9 * rows * dyn.n)


def integrate(dynamics: Dynamics, x0, n_cycles: int, *, backend: str = "auto") -> np.ndarray:
    """Trajectory from ``x0`` over ``n_cycles`` cycles; shape ``(n_cycles + 1, n)`` with row 0 = ``x0``.

    Raises
    ------
    TypeError, ValueError
        If an argument is malformed, or the trajectory overflows float64 (``dt`` too large).
    """
    dyn = check_dynamics(dynamics)
    x0 = _state(x0, dyn, "x0")
    n_cycles = check_int(n_cycles, "n_cycles", minimum=0)
    with np.errstate(over="ignore", invalid="ignore"):
        if check_backend(backend, kernels.integrate, twin_seconds(dyn, n_cycles)) == "numba":
            out = np.empty((n_cycles + 1, dyn.n))
            kernels.integrate(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, x0, out)
        else:
            out = [x0]
            for _ in range(n_cycles):
                out.append(cycle_forward_numpy(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, out[-1])[0])
            out = np.array(out)
    return _finite(dyn, "trajectory", out)


def propagate(dynamics: Dynamics, X, *, backend: str = "auto") -> np.ndarray:
    """One cycle of the flow map for every member (row) of an ensemble ``X`` (N, n).

    Raises
    ------
    TypeError, ValueError
        If an argument is malformed, or the cycle overflows float64 (``dt`` too large).
    """
    dyn = check_dynamics(dynamics)
    X = as_array(X, "X", ndim=2, dims="(N, n)")
    if X.shape[1] != dyn.n:
        raise ValueError(f"X must have shape (N, n) with n = {dyn.n}; got {X.shape}.")
    with np.errstate(over="ignore", invalid="ignore"):
        if check_backend(backend, kernels.propagate, twin_seconds(dyn, 1, X.shape[0])) == "numba":
            out = np.empty_like(X)
            kernels.propagate(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, X, out)
        else:
            out = cycle_forward_numpy(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, X)[0]
    return _finite(dyn, "ensemble forecast", out)


def tangent_linear(dynamics: Dynamics, x, dx, *, backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    r"""One cycle of the state and of the tangent-linear model: :math:`(\mathcal M(\mathbf x), \mathbf M\,\delta\mathbf x)`.

    ``dx`` is one perturbation (n,) or a stack of them in rows (k, n).

    Raises
    ------
    TypeError, ValueError
        If an argument is malformed, or the cycle overflows float64 (``dt`` too large).
    """
    dyn = check_dynamics(dynamics)
    x = _state(x, dyn, "x")
    dX = as_array(dx, "dx")
    if dX.ndim not in (1, 2) or dX.shape[-1] != dyn.n:
        raise ValueError(f"dx must have shape (n,) or (k, n) with n = {dyn.n}; got {dX.shape}.")
    D = np.atleast_2d(dX)
    with np.errstate(over="ignore", invalid="ignore"):
        if check_backend(backend, kernels.cycle_tlm, twin_seconds(dyn, 1, D.shape[0], tangent=True)) == "numba":
            x_out, D_out = np.empty(dyn.n), np.empty_like(D)
            kernels.cycle_tlm(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, x, np.ascontiguousarray(D), x_out, D_out)
        else:
            x_out, D_out = cycle_tlm_numpy(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, x, D)
    _finite(dyn, "tangent-linear cycle", x_out, D_out)
    return x_out, (D_out[0] if dX.ndim == 1 else D_out)


def adjoint(dynamics: Dynamics, x, lam, *, backend: str = "auto") -> np.ndarray:
    r"""The adjoint of one cycle at ``x``: :math:`\mathbf M^T\boldsymbol\lambda`, so that
    :math:`\langle\mathbf M\,\delta\mathbf x, \boldsymbol\lambda\rangle = \langle\delta\mathbf x, \mathbf M^T\boldsymbol\lambda\rangle`.

    Raises
    ------
    TypeError, ValueError
        If an argument is malformed, or the cycle overflows float64 (``dt`` too large).
    """
    dyn = check_dynamics(dynamics)
    x = _state(x, dyn, "x")
    lam = _state(lam, dyn, "lam")
    with np.errstate(over="ignore", invalid="ignore"):
        if check_backend(backend, kernels.cycle_adjoint, twin_seconds(dyn, 1, tangent=True)) == "numba":
            stages, x_next, out = np.empty((dyn.n_steps, 4, dyn.n)), np.empty(dyn.n), np.empty(dyn.n)
            kernels.cycle_forward(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, x, stages, x_next)
            kernels.cycle_adjoint(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, stages, lam, out)
        else:
            _, stages = cycle_forward_numpy(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, x)
            out = cycle_adjoint_numpy(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, stages, lam)
    return _finite(dyn, "adjoint cycle", out)


def cycle_jacobian(dynamics: Dynamics, x, *, backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    r"""``(M(x), M)``: one cycle and its Jacobian :math:`\mathbf M` (n, n), from the tangent-linear model."""
    dyn = check_dynamics(dynamics)
    x_next, D = tangent_linear(dyn, x, np.eye(dyn.n), backend=backend)
    return x_next, D.T

