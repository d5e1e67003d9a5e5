r"""numba kernels of data assimilation: the Lorenz time stepper with its tangent-linear and adjoint
models.

What is compiled here, with its NumPy twin in the readable module named in each docstring:

* the Lorenz vector fields and their Jacobian products (:func:`rhs`, :func:`jvp`, :func:`vjp`), the
  leaves every other kernel calls; an integer ``kind`` (0 = Lorenz-63, 1 = Lorenz-96, 2 = linear,
  the order of :data:`~pedagogy_lib.assimilation.lorenz.KINDS`) selects the *model*, never an
  algorithm, and ``theta`` is the flat vector of its constants;
* one cycle of the flow map by RK4 (:func:`cycle_forward`), its adjoint (:func:`cycle_adjoint`) and
  tangent-linear model (:func:`cycle_tlm`), a whole ensemble or trajectory (:func:`propagate`,
  :func:`integrate`), and the Lorenz-96 ensemble step with the members in the inner loops
  (:func:`l96_ensemble_cycle`).

The contract: a kernel writes into arrays its caller allocated where it can (the outputs are its
last arguments), draws no random number (noise comes in as arrays drawn by NumPy), and validates
nothing (the public functions of :mod:`~pedagogy_lib.assimilation.lorenz`, ``ensemble`` and
``fourdvar`` check every input once at their boundary).
"""
from __future__ import annotations

import numpy as np

from ..core.jit import njit

__all__ = ["warmup_kernels"]


# ------------------------------------------------------------------------------------------------
# The vector fields and their derivatives: one state at a time
# ------------------------------------------------------------------------------------------------

@njit
def rhs(kind, theta, x, out):
    r"""Vector field :math:`\mathbf f(\mathbf x)` into ``out`` (kinds 0 and 1).

    ``kind`` selects the model (Lorenz-63 or Lorenz-96), not an algorithm. NumPy twin:
    :func:`~pedagogy_lib.assimilation.lorenz.rhs_numpy`.
    """
    n = x.shape[0]
    if kind == 0:
        out[0] = theta[0] * (x[1] - x[0])
        out[1] = x[0] * (theta[1] - x[2]) - x[1]
        out[2] = x[0] * x[1] - theta[2] * x[2]
    else:
        # the wrap-around entries written out, so the middle loop has no index arithmetic and vectorizes
        F = theta[0]
        out[0] = (x[1] - x[n - 2]) * x[n - 1] - x[0] + F
        out[1] = (x[2] - x[n - 1]) * x[0] - x[1] + F
        for i in range(2, n - 1):
            out[i] = (x[i + 1] - x[i - 2]) * x[i - 1] - x[i] + F
        out[n - 1] = (x[0] - x[n - 3]) * x[n - 2] - x[n - 1] + F


@njit
def jvp(kind, theta, x, v, out):
    r"""Jacobian-vector product :math:`\mathbf J(\mathbf x)\mathbf v` into ``out``.

    ``kind`` selects the model (Lorenz-63 or Lorenz-96), not an algorithm. NumPy twin:
    :func:`~pedagogy_lib.assimilation.lorenz.jvp_numpy`.
    """
    n = x.shape[0]
    if kind == 0:
        out[0] = theta[0] * (v[1] - v[0])
        out[1] = (theta[1] - x[2]) * v[0] - v[1] - x[0] * v[2]
        out[2] = x[1] * v[0] + x[0] * v[1] - theta[2] * v[2]
    else:
        for i in range(n):
            ip, im, imm = (i + 1) % n, (i - 1 + n) % n, (i - 2 + n) % n
            out[i] = (v[ip] - v[imm]) * x[im] + (x[ip] - x[imm]) * v[im] - v[i]


@njit
def vjp(kind, theta, x, w, out):
    r"""Transposed Jacobian-vector product :math:`\mathbf J(\mathbf x)^T\mathbf w` into ``out``.

    ``kind`` selects the model (Lorenz-63 or Lorenz-96), not an algorithm. NumPy twin:
    :func:`~pedagogy_lib.assimilation.lorenz.vjp_numpy`.
    """
    n = x.shape[0]
    if kind == 0:
        out[0] = -theta[0] * w[0] + (theta[1] - x[2]) * w[1] + x[1] * w[2]
        out[1] = theta[0] * w[0] - w[1] + x[0] * w[2]
        out[2] = -x[0] * w[1] - theta[2] * w[2]
    else:
        for j in range(n):
            jm, jmm, jp, jpp = (j - 1 + n) % n, (j - 2 + n) % n, (j + 1) % n, (j + 2) % n
            out[j] = w[jm] * x[jmm] - w[jpp] * x[jp] + w[jp] * (x[jpp] - x[jm]) - w[j]


# ------------------------------------------------------------------------------------------------
# One cycle of the flow map, its adjoint and its tangent-linear model
# ------------------------------------------------------------------------------------------------

@njit
def cycle_forward(kind, theta, dt, n_steps, x, stages, out):
    r"""One cycle :math:`\mathcal M(\mathbf x)` from ``x`` into ``out``; for the RK4 kinds the stage
    inputs go to ``stages`` (n_steps, 4, n).

    NumPy twin: :func:`~pedagogy_lib.assimilation.lorenz.cycle_forward_numpy`.
    """
    cycle_forward_with_work(kind, theta, dt, n_steps, x, stages, np.empty((5, x.shape[0])), out)


@njit
def cycle_forward_with_work(kind, theta, dt, n_steps, x, stages, work, out):
    r""":func:`cycle_forward` with its work rows passed in (``work`` (5, n)), for loops over many states.

    ``out`` may be ``x`` itself (the new state is formed in ``work`` and copied at the end). The
    linear kind is :math:`\mathbf A\mathbf x + \mathbf a` (Eq. 2.49 without control), the others
    ``n_steps`` classical RK4 steps. NumPy twin: :func:`~pedagogy_lib.assimilation.lorenz.cycle_forward_numpy`.
    """
    n = x.shape[0]
    if kind == 2:
        nxt = work[0]
        for i in range(n):
            s = theta[n * n + i]
            for j in range(n):
                s += theta[i * n + j] * x[j]
            nxt[i] = s
        out[:] = nxt
        return
    cur, k1, k2, k3, k4 = work[0], work[1], work[2], work[3], work[4]
    cur[:] = x
    for s in range(n_steps):
        stages[s, 0] = cur
        rhs(kind, theta, cur, k1)
        for i in range(n):
            stages[s, 1, i] = cur[i] + 0.5 * dt * k1[i]
        rhs(kind, theta, stages[s, 1], k2)
        for i in range(n):
            stages[s, 2, i] = cur[i] + 0.5 * dt * k2[i]
        rhs(kind, theta, stages[s, 2], k3)
        for i in range(n):
            stages[s, 3, i] = cur[i] + dt * k3[i]
        rhs(kind, theta, stages[s, 3], k4)
        for i in range(n):
            cur[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
    out[:] = cur


@njit
def cycle_adjoint(kind, theta, dt, n_steps, stages, lam, out):
    r"""Adjoint of one cycle: ``out`` :math:`= \mathbf M^T\boldsymbol\lambda` with :math:`\mathbf M`
    linearized at the stored ``stages`` (the RK4 stages run backwards, reverse-mode differentiation).

    NumPy twin: :func:`~pedagogy_lib.assimilation.lorenz.cycle_adjoint_numpy`.
    """
    n = lam.shape[0]
    if kind == 2:
        for j in range(n):
            s = 0.0
            for i in range(n):
                s += theta[i * n + j] * lam[i]
            out[j] = s
        return
    cur = lam.copy()
    g, u4, u3, u2, u1 = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for s in range(n_steps - 1, -1, -1):
        for i in range(n):
            g[i] = dt / 6.0 * cur[i]
        vjp(kind, theta, stages[s, 3], g, u4)
        for i in range(n):
            g[i] = dt / 3.0 * cur[i] + dt * u4[i]
        vjp(kind, theta, stages[s, 2], g, u3)
        for i in range(n):
            g[i] = dt / 3.0 * cur[i] + 0.5 * dt * u3[i]
        vjp(kind, theta, stages[s, 1], g, u2)
        for i in range(n):
            g[i] = dt / 6.0 * cur[i] + 0.5 * dt * u2[i]
        vjp(kind, theta, stages[s, 0], g, u1)
        for i in range(n):
            cur[i] += u4[i] + u3[i] + u2[i] + u1[i]
    out[:] = cur


@njit
def cycle_tlm(kind, theta, dt, n_steps, x, dX, x_out, dX_out):
    r"""One cycle of the state, :math:`\mathcal M(\mathbf x)`, and of the perturbations in the rows of
    ``dX`` (k, n) by the tangent-linear model, :math:`\mathbf M\,\delta\mathbf x`.

    NumPy twin: :func:`~pedagogy_lib.assimilation.lorenz.cycle_tlm_numpy`.
    """
    n = x.shape[0]
    k = dX.shape[0]
    if kind == 2:
        stages = np.empty((1, 4, n))
        cycle_forward(kind, theta, dt, n_steps, x, stages, x_out)
        for r in range(k):
            for i in range(n):
                s = 0.0
                for j in range(n):
                    s += theta[i * n + j] * dX[r, j]
                dX_out[r, i] = s
        return
    stages = np.empty((n_steps, 4, n))
    cycle_forward(kind, theta, dt, n_steps, x, stages, x_out)
    d = dX.copy()
    u, k1, k2, k3, k4 = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for s in range(n_steps):
        for r in range(k):
            jvp(kind, theta, stages[s, 0], d[r], k1)
            for i in range(n):
                u[i] = d[r, i] + 0.5 * dt * k1[i]
            jvp(kind, theta, stages[s, 1], u, k2)
            for i in range(n):
                u[i] = d[r, i] + 0.5 * dt * k2[i]
            jvp(kind, theta, stages[s, 2], u, k3)
            for i in range(n):
                u[i] = d[r, i] + dt * k3[i]
            jvp(kind, theta, stages[s, 3], u, k4)
            for i in range(n):
                d[r, i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
    dX_out[:] = d


# ------------------------------------------------------------------------------------------------
# Many states: the Lorenz-96 ensemble step, ensembles and trajectories
# ------------------------------------------------------------------------------------------------

@njit
def l96_field_cols(X, F, out):
    """Lorenz-96 field of every column of ``X`` (n, N) (one state per column) into ``out``.

    NumPy twin: :func:`~pedagogy_lib.assimilation.lorenz.rhs_numpy` on the transposed ensemble.
    """
    n, N = X.shape
    for i in range(n):
        ip, im, imm = (i + 1) % n, (i - 1 + n) % n, (i - 2 + n) % n
        for r in range(N):
            out[i, r] = (X[ip, r] - X[imm, r]) * X[im, r] - X[i, r] + F


@njit
def l96_ensemble_cycle(F, dt, n_steps, E, work):
    """One cycle (``n_steps`` RK4 steps) of every member (row) of ``E`` (N, n), in place, for Lorenz-96.

    The same arithmetic as :func:`cycle_forward_with_work` on each row (equal to the last bit), with
    the ensemble transposed into ``work[0]`` so that every inner loop runs over the members (unit
    stride, no wrap-around inside it); ``work`` is (6, n, N). The NumPy twin is
    :func:`~pedagogy_lib.assimilation.lorenz.cycle_forward_numpy` on the whole ensemble.
    """
    N, n = E.shape
    X, S, k1, k2, k3, k4 = work[0], work[1], work[2], work[3], work[4], work[5]
    for r in range(N):
        for i in range(n):
            X[i, r] = E[r, i]
    for _ in range(n_steps):
        l96_field_cols(X, F, k1)
        for i in range(n):
            for r in range(N):
                S[i, r] = X[i, r] + 0.5 * dt * k1[i, r]
        l96_field_cols(S, F, k2)
        for i in range(n):
            for r in range(N):
                S[i, r] = X[i, r] + 0.5 * dt * k2[i, r]
        l96_field_cols(S, F, k3)
        for i in range(n):
            for r in range(N):
                S[i, r] = X[i, r] + dt * k3[i, r]
        l96_field_cols(S, F, k4)
        for i in range(n):
            for r in range(N):
                X[i, r] += dt / 6.0 * (k1[i, r] + 2.0 * k2[i, r] + 2.0 * k3[i, r] + k4[i, r])
    for r in range(N):
        for i in range(n):
            E[r, i] = X[i, r]


@njit
def propagate(kind, theta, dt, n_steps, X, out):
    """One cycle for every row (member) of the ensemble ``X`` (N, n) into ``out``.

    NumPy twin: :func:`~pedagogy_lib.assimilation.lorenz.cycle_forward_numpy` on the whole ensemble.
    """
    N, n = X.shape
    stages = np.empty((n_steps, 4, n))
    for r in range(N):
        cycle_forward(kind, theta, dt, n_steps, X[r], stages, out[r])


@njit
def integrate(kind, theta, dt, n_steps, x0, out):
    r"""Trajectory at cycle times: ``out[0] = x0``, ``out[t]`` :math:`= \mathcal M(` ``out[t-1]`` :math:`)`.

    NumPy twin: :func:`~pedagogy_lib.assimilation.lorenz.cycle_forward_numpy`, once per cycle.
    """
    n = x0.shape[0]
    stages = np.empty((n_steps, 4, n))
    out[0] = x0
    for t in range(1, out.shape[0]):
        cycle_forward(kind, theta, dt, n_steps, out[t - 1], stages, out[t])



# ------------------------------------------------------------------------------------------------
# 4DVar: cost and gradient by the adjoint
# ------------------------------------------------------------------------------------------------

@njit
def strong_cost_grad(flow, x1, mu1, B_inv, y, C, c, R_inv, traj, stages, grad):
    r"""Strong-constraint 4DVar cost :math:`J(\mathbf x_1)` (returned) and its gradient into ``grad``:
    a forward run storing the trajectory in ``traj`` (T, n) and the RK4 stages in ``stages``
    (T - 1, n_steps, 4, n), then one backward sweep of the adjoint,
    :math:`\boldsymbol\lambda_t = \mathbf M_t^T\boldsymbol\lambda_{t+1} - \mathbf C^T\boldsymbol\Sigma_{\hat y|\hat x}^{-1}\mathbf r_t`.

    ``flow`` is the :class:`~pedagogy_lib.assimilation.lorenz.Flow` ``(kind, theta, dt, n_steps)``.
    NumPy twin: :func:`~pedagogy_lib.assimilation.fourdvar.strong_cost_grad_numpy`.
    """
    kind, theta, dt, n_steps = flow.kind, flow.theta, flow.dt, flow.n_steps
    T, n = traj.shape
    traj[0] = x1
    for t in range(1, T):
        cycle_forward(kind, theta, dt, n_steps, traj[t - 1], stages[t - 1], traj[t])
    db = x1 - mu1
    gb = B_inv @ db
    J = 0.5 * (db @ gb)
    lam = np.zeros(n)
    tmp = np.empty(n)
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            cycle_adjoint(kind, theta, dt, n_steps, stages[t], lam, tmp)
            lam[:] = tmp
        r = y[t] - C @ traj[t] - c
        w = R_inv @ r
        J += 0.5 * (r @ w)
        lam -= C.T @ w
    grad[:] = lam + gb
    return J


@njit
def weak_cost_grad(flow, X, mu1, B_inv, Q_inv, y, C, c, R_inv, stages, grad):
    r"""Weak-constraint 4DVar cost :math:`J(\mathbf x_{1:T})` (returned) over the trajectory ``X``
    (T, n) and its gradient into ``grad`` (T, n): one adjoint step per model-error term
    :math:`\mathbf x_t - \mathcal M(\mathbf x_{t-1})`; ``stages`` (n_steps, 4, n) is work space.

    ``flow`` is the :class:`~pedagogy_lib.assimilation.lorenz.Flow` ``(kind, theta, dt, n_steps)``.
    NumPy twin: :func:`~pedagogy_lib.assimilation.fourdvar.weak_cost_grad_numpy`.
    """
    kind, theta, dt, n_steps = flow.kind, flow.theta, flow.dt, flow.n_steps
    T, n = X.shape
    db = X[0] - mu1
    gb = B_inv @ db
    J = 0.5 * (db @ gb)
    grad[:] = 0.0
    grad[0] += gb
    f = np.empty(n)
    tmp = np.empty(n)
    for t in range(T):
        r = y[t] - C @ X[t] - c
        w = R_inv @ r
        J += 0.5 * (r @ w)
        grad[t] -= C.T @ w
        if t > 0:
            cycle_forward(kind, theta, dt, n_steps, X[t - 1], stages, f)
            e = X[t] - f
            q = Q_inv @ e
            J += 0.5 * (e @ q)
            grad[t] += q
            cycle_adjoint(kind, theta, dt, n_steps, stages, q, tmp)
            grad[t - 1] -= tmp
    return J


def warmup_kernels() -> None:
    """Compile (or load from the cache) every kernel on tiny inputs, through the public functions:
    each kind of dynamics forward, adjoint and tangent-linear."""
    from .lorenz import adjoint, cycle_jacobian, integrate as integrate_, linear_dynamics, lorenz63, lorenz96
    from .lorenz import propagate as propagate_
    for dyn in (lorenz63(), lorenz96(8), linear_dynamics(np.eye(2))):
        x = np.ones(dyn.n)
        integrate_(dyn, x, 2)
        propagate_(dyn, np.ones((2, dyn.n)))
        adjoint(dyn, x, x)
        cycle_jacobian(dyn, x)
    from .fourdvar import strong_cost_grad as strong_, weak_cost_grad as weak_
    from .model import DAModel
    mod = DAModel(lorenz63(), np.ones(3), np.eye(3), np.eye(3), np.eye(3), np.zeros(3), np.eye(3))
    y = np.ones((3, 3))
    strong_(mod, np.ones(3), y)
    weak_(mod, np.ones((3, 3)), y)
