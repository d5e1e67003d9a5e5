"""Plain reference for the 4DVar gradient benchmark: the strong-constraint cost of Lorenz-96 and its
gradient by the adjoint, written independently of ``pedagogy_lib.assimilation``.

Written the way a careful user would write it in an afternoon, from the equations alone:

.. math::
    J(\\mathbf x_1) = \\tfrac12(\\mathbf x_1 - \\boldsymbol\\mu_1)^T\\mathbf B^{-1}(\\mathbf x_1 - \\boldsymbol\\mu_1)
      + \\tfrac12\\sum_t \\mathbf r_t^T\\mathbf R^{-1}\\mathbf r_t,\\qquad
    \\mathbf r_t = \\mathbf y_t - \\mathbf C\\mathbf x_t - \\mathbf c,

with :math:`\\mathbf x_{t+1}` one cycle (``n_steps`` classical RK4 steps of ``dt``) of Lorenz-96 from
:math:`\\mathbf x_t`. One ``@njit`` forward loop stores the four RK4 stage inputs of every step; the
gradient is one backward sweep, :math:`\\boldsymbol\\lambda_t = \\mathbf M_t^T\\boldsymbol\\lambda_{t+1}
- \\mathbf C^T\\mathbf R^{-1}\\mathbf r_t`, the RK4 steps differentiated in reverse (the transposed
Jacobian of the Lorenz-96 field applied by scattering each site's contribution to its four
neighbours), and :math:`\\nabla J = \\mathbf B^{-1}(\\mathbf x_1 - \\boldsymbol\\mu_1) + \\boldsymbol\\lambda_1`.
Nothing is validated, and ``B_inv``, ``C`` and ``R_inv`` are applied as the dense matrices they are
given as (numba's matrix-vector products, one per term and time).

Besides :func:`cost_grad`, the pieces it is made of are exposed so that the benchmark can time them
one by one: :func:`trajectory` (a bare forward run, no stages stored), :func:`forward_stages`,
:func:`adjoint_run` (the model adjoint over the window with no observation forcing) and
:func:`obs_terms` (the observation misfit and its forcing :math:`\\mathbf C^T\\mathbf R^{-1}\\mathbf r_t`
at every time), and :func:`cost` (a forward run and the cost, no gradient).
"""
from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True)


@jit
def field(x, F, out):
    n = x.shape[0]
    for i in range(n):
        out[i] = (x[(i + 1) % n] - x[i - 2]) * x[i - 1] - x[i] + F


@jit
def field_vjp(x, w, out):
    """out = J(x)^T w for the Lorenz-96 field: each f_i scatters into x_{i+1}, x_{i-2}, x_{i-1}, x_i."""
    n = x.shape[0]
    out[:] = 0.0
    for i in range(n):
        ip = (i + 1) % n
        out[ip] += w[i] * x[i - 1]
        out[i - 2] -= w[i] * x[i - 1]
        out[i - 1] += w[i] * (x[ip] - x[i - 2])
        out[i] -= w[i]


@jit
def rk4_cycle(x, F, dt, stages, out):
    """One cycle from x into out; stages (n_steps, 4, n) receives the input of every field evaluation."""
    n = x.shape[0]
    k1, k2, k3, k4 = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    cur = x.copy()
    for s in range(stages.shape[0]):
        stages[s, 0] = cur
        field(cur, F, k1)
        stages[s, 1] = cur + 0.5 * dt * k1
        field(stages[s, 1], F, k2)
        stages[s, 2] = cur + 0.5 * dt * k2
        field(stages[s, 2], F, k3)
        stages[s, 3] = cur + dt * k3
        field(stages[s, 3], F, k4)
        cur += dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    out[:] = cur


@jit
def rk4_cycle_adjoint(stages, lam, dt):
    """M^T lam for one cycle linearized at its stored stages (the RK4 steps in reverse)."""
    n = lam.shape[0]
    g, u = np.empty(n), np.empty(n)
    lam = lam.copy()
    for s in range(stages.shape[0] - 1, -1, -1):
        gx = lam.copy()
        g[:] = dt / 6.0 * lam                       # d/dk4
        field_vjp(stages[s, 3], g, u)
        gx += u
        g[:] = dt / 3.0 * lam + dt * u              # d/dk3
        field_vjp(stages[s, 2], g, u)
        gx += u
        g[:] = dt / 3.0 * lam + 0.5 * dt * u        # d/dk2
        field_vjp(stages[s, 1], g, u)
        gx += u
        g[:] = dt / 6.0 * lam + 0.5 * dt * u        # d/dk1
        field_vjp(stages[s, 0], g, u)
        gx += u
        lam = gx
    return lam


@jit
def trajectory(x1, F, dt, n_steps, T):
    """A bare forward run: the states at the T cycle times (T, n); the stages go to one scratch array."""
    traj = np.empty((T, x1.shape[0]))
    stages = np.empty((n_steps, 4, x1.shape[0]))
    traj[0] = x1
    for t in range(1, T):
        rk4_cycle(traj[t - 1], F, dt, stages, traj[t])
    return traj


@jit
def forward_stages(x1, F, dt, traj, stages):
    """The forward run of the gradient: traj (T, n) and every cycle's stages (T - 1, n_steps, 4, n)."""
    traj[0] = x1
    for t in range(1, traj.shape[0]):
        rk4_cycle(traj[t - 1], F, dt, stages[t - 1], traj[t])


@jit
def adjoint_run(stages, lam, dt):
    """The model adjoint over the whole window with no observation forcing (for timing the sweep alone)."""
    for t in range(stages.shape[0] - 1, -1, -1):
        lam = rk4_cycle_adjoint(stages[t], lam, dt)
    return lam


@jit
def obs_terms(traj, y, C, c, R_inv, forcing):
    """The observation half of the cost, returned, and forcing[t] = C^T R^-1 r_t."""
    J = 0.0
    for t in range(traj.shape[0]):
        r = y[t] - C @ traj[t] - c
        w = R_inv @ r
        J += 0.5 * (r @ w)
        forcing[t] = C.T @ w
    return J


@jit
def cost(x1, mu1, B_inv, y, C, c, R_inv, F, dt, n_steps):
    """J(x1): a forward run and the background and observation terms."""
    traj = trajectory(x1, F, dt, n_steps, y.shape[0])
    d = x1 - mu1
    J = 0.5 * (d @ (B_inv @ d))
    for t in range(y.shape[0]):
        r = y[t] - C @ traj[t] - c
        J += 0.5 * (r @ (R_inv @ r))
    return J


@jit
def cost_grad(x1, mu1, B_inv, y, C, c, R_inv, F, dt, n_steps):
    """(J, grad J) at x1: the forward run storing the stages, then one adjoint sweep."""
    T, n = y.shape[0], x1.shape[0]
    traj = np.empty((T, n))
    stages = np.empty((max(T - 1, 1), n_steps, 4, n))
    forward_stages(x1, F, dt, traj, stages)
    d = x1 - mu1
    gb = B_inv @ d
    J = 0.5 * (d @ gb)
    lam = np.zeros(n)
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            lam = rk4_cycle_adjoint(stages[t], lam, dt)
        r = y[t] - C @ traj[t] - c
        w = R_inv @ r
        J += 0.5 * (r @ w)
        lam -= C.T @ w
    return J, lam + gb
