r"""numba kernels of data assimilation: the Lorenz time stepper with its tangent-linear and adjoint
models, the ensemble Kalman filters, and the 4DVar cost with its adjoint gradient.

What is compiled here, with its NumPy twin in the readable module named in each docstring:

* the Lorenz vector fields and their Jacobian products (:func:`rhs`, :func:`jvp`, :func:`vjp`), the
  leaves every other kernel calls; an integer ``kind`` (0 = Lorenz-63, 1 = Lorenz-96, 2 = linear,
  the order of :data:`~pedagogy_lib.assimilation.lorenz.KINDS`) selects the *model*, never an
  algorithm, and ``theta`` is the flat vector of its constants;
* one cycle of the flow map by RK4 (:func:`cycle_forward`), its adjoint (:func:`cycle_adjoint`) and
  tangent-linear model (:func:`cycle_tlm`), a whole ensemble or trajectory (:func:`propagate`,
  :func:`integrate`), and the Lorenz-96 ensemble step with the members in the inner loops
  (:func:`l96_ensemble_cycle`);
* the ensemble Kalman filters (:mod:`~pedagogy_lib.assimilation.ensemble`): the shared pieces of a
  cycle (:func:`forecast_ensemble`, :func:`inflate`, :func:`record_analysis`,
  :func:`colour_perturbations`), one analysis step per algorithm (:func:`perturbed_update`,
  :func:`perturbed_analysis_tapered`, :func:`etkf_analysis`, :func:`letkf_analysis`), and one
  driver per algorithm that runs the whole filter (:func:`run_perturbed`,
  :func:`run_perturbed_localized`, :func:`run_etkf`, :func:`run_letkf`): the Python side picks the
  driver, no kernel chooses an algorithm by a code;
* the strong- and weak-constraint 4DVar costs with their gradients by the adjoint: the strong
  constraint's observation half per storage of C and the observation noise (:func:`strong_misfit_grad`,
  :func:`strong_misfit_grad_selection`) and its background term per storage of the background
  covariance (:func:`background_dense`, :func:`background_diagonal`), the weak constraint's whole
  cost (:func:`weak_cost_grad`).

Kernels that need the flow map take it as one argument, a :class:`Flow` ``(kind, theta, dt,
n_steps)``; the filters' other structured arguments are the NamedTuples :class:`ObsModel`,
:class:`Noise` and :class:`Outputs`, all defined here and built by
:mod:`~pedagogy_lib.assimilation.lorenz` and :mod:`~pedagogy_lib.assimilation.ensemble`. The Cholesky solve of the perturbed-observation analysis is
the shared one of :mod:`pedagogy_lib.core.kernels`.

The contract: a kernel writes into arrays its caller allocated where it can (the outputs are its
last arguments; the drivers allocate only their work space), draws no random number (noise and the
observation perturbations' normals come in as arrays drawn by NumPy), and validates nothing (the
public functions of :mod:`~pedagogy_lib.assimilation.lorenz`, ``ensemble`` and ``fourdvar`` check
every input once at their boundary).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.jit import njit
from ..core.kernels import chol_lapack, solve_u, solve_ut

__all__ = ["warmup_kernels"]


# ------------------------------------------------------------------------------------------------
# The structured arguments of the kernels (built by lorenz.py and ensemble.py)
# ------------------------------------------------------------------------------------------------

class Flow(NamedTuple):
    """A :class:`~pedagogy_lib.assimilation.lorenz.Dynamics` in the form the kernels take it (one
    argument instead of four): the integer code of the kind (its index in
    :data:`~pedagogy_lib.assimilation.lorenz.KINDS`), the constants, the RK4 step and the steps per cycle."""

    kind: int
    theta: np.ndarray
    dt: float
    n_steps: int


class ObsModel(NamedTuple):
    r"""The observation model as the kernels take it, with the factors of its noise covariance
    computed once: ``C``, ``c``, ``R`` (:math:`\boldsymbol\Sigma_{\hat y|\hat x}`), ``CT``
    (:math:`\mathbf C^T`, contiguous), ``Wr`` (:math:`\mathbf L_R^{-1}`, whitening), ``r_std`` (the
    standard deviations), ``LrT`` (:math:`\mathbf L_R^T`) and ``r_diag`` (whether ``R`` is diagonal)."""

    C: np.ndarray
    c: np.ndarray
    R: np.ndarray
    CT: np.ndarray
    Wr: np.ndarray
    r_std: np.ndarray
    LrT: np.ndarray
    r_diag: bool


class Noise(NamedTuple):
    """The random numbers of a run, drawn up front: model noise ``eta`` (T, N, n), used only when
    ``add_noise``, and the standard normals ``Z`` (T, N, m) of the observation perturbations."""

    eta: np.ndarray
    add_noise: bool
    Z: np.ndarray


class Outputs(NamedTuple):
    """What a driver kernel writes: analysis ensembles (T, N, n), forecast means (T, n), analysis
    means (T, n) and spreads (T,)."""

    ensembles: np.ndarray
    forecast_mean: np.ndarray
    mean: np.ndarray
    spread: np.ndarray


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
        # the wrap-around entries written out; the middle sites i = 2..n-2 through shifted views of x,
        # so that the loop indexes by its counter alone (numba checks x[i - 2] for a negative index,
        # a branch that kept the loop from vectorizing: five times slower at n = 640)
        F = theta[0]
        out[0] = (x[1] - x[n - 2]) * x[n - 1] - x[0] + F
        out[1] = (x[2] - x[n - 1]) * x[0] - x[1] + F
        xp, xmm, xm, xi, o = x[3:], x[:n - 3], x[1:n - 2], x[2:n - 1], out[2:n - 1]
        for k in range(n - 3):
            o[k] = (xp[k] - xmm[k]) * xm[k] - xi[k] + F
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
        # out[j] = w[j-1] x[j-2] - w[j+2] x[j+1] + w[j+1] (x[j+2] - x[j-1]) - w[j], indices modulo n; the
        # wrap-around entries written out, the middle sites j = 2..n-3 through shifted views (as in rhs)
        out[0] = w[n - 1] * x[n - 2] - w[2] * x[1] + w[1] * (x[2] - x[n - 1]) - w[0]
        out[1] = w[0] * x[n - 1] - w[3] * x[2] + w[2] * (x[3] - x[0]) - w[1]
        wm, wj, wp, wpp = w[1:n - 3], w[2:n - 2], w[3:n - 1], w[4:]
        xmm, xm, xp, xpp, o = x[:n - 4], x[1:n - 3], x[3:n - 1], x[4:], out[2:n - 2]
        for k in range(n - 4):
            o[k] = wm[k] * xmm[k] - wpp[k] * xp[k] + wp[k] * (xpp[k] - xm[k]) - wj[k]
        out[n - 2] = w[n - 3] * x[n - 4] - w[0] * x[n - 1] + w[n - 1] * (x[0] - x[n - 3]) - w[n - 2]
        out[n - 1] = w[n - 2] * x[n - 3] - w[1] * x[0] + w[0] * (x[1] - x[n - 2]) - w[n - 1]


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
    r""":func:`cycle_forward` with its work rows passed in (``work`` (5, n), or more rows: the first five
    are used), for loops over many states.

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
    cycle_adjoint_with_work(kind, theta, dt, n_steps, stages, lam, np.empty((4, lam.shape[0])), out)


@njit
def cycle_adjoint_with_work(kind, theta, dt, n_steps, stages, lam, work, out):
    r""":func:`cycle_adjoint` with its work rows passed in (``work`` (4, n), or more rows: the first
    four are used), for sweeps over many cycles. ``out`` may be ``lam`` itself.

    Each RK4 step backwards: the adjoints of the four stage increments from the last to the first,
    each one Jacobian-transpose product (:func:`vjp`) at its stored stage input, summed into the
    adjoint of the step's input as they come. NumPy twin:
    :func:`~pedagogy_lib.assimilation.lorenz.cycle_adjoint_numpy`.
    """
    n = lam.shape[0]
    cur, g, u, acc = work[0], work[1], work[2], work[3]
    if kind == 2:
        for j in range(n):
            s = 0.0
            for i in range(n):
                s += theta[i * n + j] * lam[i]
            cur[j] = s
        out[:] = cur
        return
    cur[:] = lam
    for s in range(n_steps - 1, -1, -1):
        for i in range(n):
            g[i] = dt / 6.0 * cur[i]
        vjp(kind, theta, stages[s, 3], g, u)
        for i in range(n):
            acc[i] = cur[i] + u[i]
            g[i] = dt / 3.0 * cur[i] + dt * u[i]
        vjp(kind, theta, stages[s, 2], g, u)
        for i in range(n):
            acc[i] += u[i]
            g[i] = dt / 3.0 * cur[i] + 0.5 * dt * u[i]
        vjp(kind, theta, stages[s, 1], g, u)
        for i in range(n):
            acc[i] += u[i]
            g[i] = dt / 6.0 * cur[i] + 0.5 * dt * u[i]
        vjp(kind, theta, stages[s, 0], g, u)
        for i in range(n):
            cur[i] = acc[i] + u[i]
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
    stages, work = np.empty((n_steps, 4, n)), np.empty((5, n))
    for r in range(N):
        cycle_forward_with_work(kind, theta, dt, n_steps, X[r], stages, work, out[r])


@njit
def integrate(kind, theta, dt, n_steps, x0, out):
    r"""Trajectory at cycle times: ``out[0] = x0``, ``out[t]`` :math:`= \mathcal M(` ``out[t-1]`` :math:`)`.

    NumPy twin: :func:`~pedagogy_lib.assimilation.lorenz.cycle_forward_numpy`, once per cycle.
    """
    n = x0.shape[0]
    stages, work = np.empty((n_steps, 4, n)), np.empty((5, n))
    out[0] = x0
    for t in range(1, out.shape[0]):
        cycle_forward_with_work(kind, theta, dt, n_steps, out[t - 1], stages, work, out[t])


# ------------------------------------------------------------------------------------------------
# Ensemble Kalman filters: the pieces of one cycle
# ------------------------------------------------------------------------------------------------

@njit
def forecast_ensemble(flow, E, t, noise, stages, work, work_cols):
    r"""The forecast of cycle ``t``: every member (row) of ``E`` (N, n) one cycle of the flow map
    forward, in place, plus its model noise ``noise.eta[t]`` when ``noise.add_noise``.

    ``flow.kind`` selects the model's loop, not an algorithm: Lorenz-96 moves all members at once
    with the members in the inner loops (:func:`l96_ensemble_cycle`, the same numbers), other kinds
    one member at a time (:func:`cycle_forward_with_work`). ``stages`` (n_steps, 4, n), ``work``
    (5, n) and ``work_cols`` (6, n, N) are work space. NumPy twin: the forecast line of
    :func:`~pedagogy_lib.assimilation.ensemble.enkf_run_numpy`.
    """
    kind, theta, dt, n_steps = flow.kind, flow.theta, flow.dt, flow.n_steps
    N = E.shape[0]
    if kind == 1:
        l96_ensemble_cycle(theta[0], dt, n_steps, E, work_cols)
    else:
        for r in range(N):
            cycle_forward_with_work(kind, theta, dt, n_steps, E[r], stages, work, E[r])
    if noise.add_noise:
        eta = noise.eta
        for r in range(N):
            E[r] += eta[t, r]


@njit
def forecast_work(flow, N, n):
    """The work arrays of :func:`forecast_ensemble` for ``N`` members of dimension ``n``."""
    return np.empty((flow.n_steps, 4, n)), np.empty((5, n)), np.empty((6, n, N))


@njit
def inflate(E, inflation, xbar, A):
    r"""Multiplicative inflation: the forecast mean :math:`\bar{\mathbf x}` of ``E`` (N, n) into
    ``xbar``, the inflated anomalies :math:`\lambda(\mathbf x^{(i)} - \bar{\mathbf x})` into ``A``
    (N, n), and (for :math:`\lambda \ne 1`) the members moved to :math:`\bar{\mathbf x} + ` ``A[i]``.

    NumPy twin: the inflation lines of :func:`~pedagogy_lib.assimilation.ensemble.enkf_run_numpy`.
    """
    N, n = E.shape
    xbar[:] = 0.0
    for r in range(N):
        xbar += E[r]
    xbar /= N
    for r in range(N):
        for j in range(n):
            A[r, j] = inflation * (E[r, j] - xbar[j])
            if inflation != 1.0:
                E[r, j] = xbar[j] + A[r, j]


@njit
def record_analysis(E, t, out):
    r"""The analysis ensemble ``E`` (N, n) of cycle ``t`` into ``out.ensembles[t]``, its mean into
    ``out.mean[t]`` and its spread :math:`\sqrt{\tfrac1n\operatorname{tr}\boldsymbol\Upsilon_t}` (root
    mean sample variance) into ``out.spread[t]``.

    NumPy twin: ``ens.mean(axis=1)`` in :func:`~pedagogy_lib.assimilation.ensemble.enkf` and the
    spread of :func:`~pedagogy_lib.assimilation.model.make_result`.
    """
    N, n = E.shape
    out.ensembles[t] = E
    xbar = out.mean[t]
    xbar[:] = 0.0
    for r in range(N):
        for j in range(n):
            xbar[j] += E[r, j]
    for j in range(n):
        xbar[j] /= N
    top = 0.0                                  # the largest deviation: squares scaled by it cannot overflow
    for r in range(N):
        for j in range(n):
            top = max(top, abs(E[r, j] - xbar[j]))
    if top == 0.0:
        out.spread[t] = 0.0
        return
    v = 0.0
    for r in range(N):
        for j in range(n):
            d = (E[r, j] - xbar[j]) / top
            v += d * d
    out.spread[t] = top * np.sqrt(v / (N - 1) / n)


@njit
def colour_perturbations(Z, obs, out):
    r"""Observation perturbations ``out`` :math:`= \mathbf Z\mathbf L_R^T` (N, m) from standard normals
    ``Z`` (N, m), :math:`\mathbf L_R` the Cholesky factor of :math:`\boldsymbol\Sigma_{\hat y|\hat x}`.

    NumPy twin: the ``pert`` line of :func:`~pedagogy_lib.assimilation.ensemble.enkf`'s analysis.
    """
    LrT, r_std, r_diag = obs.LrT, obs.r_std, obs.r_diag
    if r_diag:                                       # diagonal Sigma_y_x: L_R is the diagonal of r_std
        for r in range(Z.shape[0]):
            for k in range(Z.shape[1]):
                out[r, k] = Z[r, k] * r_std[k]
    else:
        np.dot(Z, LrT, out)


@njit
def perturbed_update(E, A, xbar, y_t, obs, Z_t, ws):
    r"""Perturbed-observation analysis without localization, in ensemble space and in place of ``E``
    (the Kalman update of Eq. 2.47 with the sample covariance); False if the innovation covariance
    is not finite (its sum of squares overflowed) or not positive definite.

    ``A`` (N, n) are the (inflated) anomalies of ``E`` about ``xbar``. With ``HA = A C^T`` and the
    innovation covariance ``S = HA^T HA / (N - 1) + R``, the gain is ``K^T = S^{-1} HA^T A / (N - 1)``,
    so ``E + D K^T = E + (D S^{-1} HA^T) A / (N - 1)``, with ``D = y + eps - C xbar - HA - c``
    the perturbed innovations (``E C^T = xbar C^T + HA``). One Cholesky factorization
    (:func:`~pedagogy_lib.core.kernels.chol_lapack`) and two triangular solves with N right-hand
    sides, and four small matrix products; ``ws = (HA, S, Dt, W, WA, P, U)`` are work arrays.
    NumPy twin: :func:`~pedagogy_lib.assimilation.ensemble.po_analysis_numpy` without a taper.
    """
    C, c, R, CT = obs.C, obs.c, obs.R, obs.CT
    HA, S, Dt, W, WA, P, U = ws
    N, n = E.shape
    m = y_t.shape[0]
    np.dot(A, CT, HA)
    np.dot(HA.T, HA, S)
    for i in range(m):
        for j in range(m):
            S[i, j] = S[i, j] / (N - 1) + R[i, j]
            if not np.isfinite(S[i, j]):             # HA^T HA overflowed: S^{-1} would be 0, the update none
                return False
    colour_perturbations(Z_t, obs, P)
    for k in range(m):
        d0 = y_t[k] - c[k]
        for j in range(n):
            d0 -= C[k, j] * xbar[j]
        for r in range(N):
            Dt[k, r] = d0 + P[r, k] - HA[r, k]
    if not chol_lapack(S, U):                        # S = U^T U
        return False
    solve_ut(U, Dt)
    solve_u(U, Dt)                                   # Dt = S^{-1} D^T  (m, N)
    np.dot(Dt.T, HA.T, W)                            # W = D S^{-1} HA^T  (N, N)
    np.dot(W, A, WA)
    for r in range(N):
        for j in range(n):
            E[r, j] += WA[r, j] / (N - 1)
    return True


@njit
def perturbed_analysis_tapered(E, y_t, C, c, R, pert, L, out):
    r"""Perturbed-observation analysis of ``E`` (N, n) with perturbations ``pert`` (N, m) and the
    forecast covariance tapered elementwise by ``L`` (n, n) (a Schur product, localization) into
    ``out``: the gain of Eq. 2.47 from :math:`\mathbf P = \boldsymbol\Upsilon^f\circ\mathbf L`.

    NumPy twin: :func:`~pedagogy_lib.assimilation.ensemble.po_analysis_numpy` with a taper.
    """
    N, n = E.shape
    xbar = np.zeros(n)
    for r in range(N):
        xbar += E[r]
    xbar /= N
    Xa = E - xbar
    P = (Xa.T @ Xa) / (N - 1) * L
    PCt = P @ C.T
    S = C @ PCt + R
    Kt = np.linalg.solve(S, PCt.T)                  # (m, n) = K^T
    D = np.empty((N, y_t.shape[0]))
    HE = E @ C.T
    for r in range(N):
        D[r] = y_t + pert[r] - HE[r] - c
    out[:] = E + D @ Kt


@njit
def etkf_transform(S, d):
    r"""The weights :math:`(\mathbf I + \mathbf S\mathbf S^T)^{-1}\mathbf S\mathbf d` and the transform
    :math:`(\mathbf I + \mathbf S\mathbf S^T)^{-1/2}` from the singular values of ``S`` (N, m): an
    eigendecomposition of :math:`\mathbf I + \mathbf S\mathbf S^T` rounds its eigenvalues 1 by
    :math:`\epsilon\sigma_{\max}^2`, negative once the observation noise is 1e-16 of the spread.

    NumPy twin: ``_transform`` in :mod:`pedagogy_lib.assimilation.ensemble`.
    """
    N, m = S.shape
    U, sv, Vt = np.linalg.svd(S, full_matrices=False)
    k = sv.shape[0]
    gain, shrink = np.empty(k), np.empty(k)
    for i in range(k):
        h = np.hypot(1.0, sv[i])
        gain[i] = sv[i] / h / h
        shrink[i] = 1.0 / h - 1.0
    w = U @ (gain * (Vt @ d))
    Tm = (U * shrink) @ U.T
    for i in range(N):
        Tm[i, i] += 1.0
    return w, Tm


@njit
def etkf_analysis(E, y_t, C, c, Wr, out):
    r"""Global ETKF analysis of ``E`` (N, n) into ``out``: the Kalman update of the mean, the anomalies
    multiplied by :math:`\mathbf T = (\mathbf I_N + \mathbf S\mathbf S^T)^{-1/2}`; ``Wr`` whitens the
    observation noise (``Wr R Wr^T = I``).

    NumPy twin: :func:`~pedagogy_lib.assimilation.ensemble.etkf_analysis_numpy`.
    """
    N, n = E.shape
    xbar = np.zeros(n)
    for r in range(N):
        xbar += E[r]
    xbar /= N
    Xa = E - xbar
    sq = np.sqrt(N - 1.0)
    S = (Xa @ C.T) @ Wr.T / sq                     # (N, m)
    d = Wr @ (y_t - C @ xbar - c)
    w, Tm = etkf_transform(S, d)
    xa = xbar + (Xa.T @ w) / sq
    out[:] = xa + Tm @ Xa


@njit
def letkf_analysis(E, y_t, C, c, r_std, rho, out):
    """Local ETKF analysis of ``E`` (N, n) into ``out``: one ETKF analysis per state variable ``j``,
    with the observation precisions tapered by ``rho[j]`` (n, m); ``r_std`` are the observation
    noise standard deviations (a diagonal noise covariance).

    NumPy twin: :func:`~pedagogy_lib.assimilation.ensemble.letkf_analysis_numpy`.
    """
    N, n = E.shape
    m = y_t.shape[0]
    xbar = np.zeros(n)
    for r in range(N):
        xbar += E[r]
    xbar /= N
    Xa = E - xbar
    sq = np.sqrt(N - 1.0)
    S0 = (Xa @ C.T) / sq
    d0 = y_t - C @ xbar - c
    for k in range(m):
        S0[:, k] /= r_std[k]
        d0[k] /= r_std[k]
    S = np.empty((N, m))
    d = np.empty(m)
    for j in range(n):
        for k in range(m):
            s = np.sqrt(rho[j, k])
            S[:, k] = S0[:, k] * s
            d[k] = d0[k] * s
        w, Tm = etkf_transform(S, d)
        col = np.ascontiguousarray(Xa[:, j])
        xa = xbar[j] + (col @ w) / sq
        out[:, j] = xa + Tm @ col


# ------------------------------------------------------------------------------------------------
# Ensemble Kalman filters: one driver per algorithm, the whole run
# ------------------------------------------------------------------------------------------------
# Each driver runs every cycle t of the filter: the forecast (for t > 0), the inflation, its own
# analysis, the record. ``flow`` is the Flow (kind, theta, dt, n_steps); ``obs`` the ObsModel
# (C, c, R, C^T, Wr, r_std, L_R^T, R is diagonal); ``noise`` the Noise (eta, add_noise, Z) with Z
# (T, N, m) the standard normals of the observation perturbations; ``out`` the Outputs (ensembles
# (T, N, n), forecast means, analysis means, spreads), all defined at the top of this module;
# :func:`~pedagogy_lib.assimilation.ensemble.enkf_run_numpy` is the twin of every driver.

@njit
def run_perturbed(flow, E0, y, obs, noise, inflation, out):
    """The stochastic EnKF (perturbed observations) without localization, analysis in ensemble
    space (:func:`perturbed_update`); False (the run stopped) if an innovation covariance was not
    positive definite, True otherwise."""
    T, m = y.shape
    N, n = E0.shape
    E, A = E0.copy(), np.empty((N, n))
    stages, work, work_cols = forecast_work(flow, N, n)
    ws = (np.empty((N, m)), np.empty((m, m)), np.empty((m, N)), np.empty((N, N)), np.empty((N, n)),
          np.empty((N, m)), np.empty((m, m)))
    for t in range(T):
        if t > 0:
            forecast_ensemble(flow, E, t, noise, stages, work, work_cols)
        xbar = out.forecast_mean[t]
        inflate(E, inflation, xbar, A)
        if not perturbed_update(E, A, xbar, y[t], obs, noise.Z[t], ws):
            return False
        record_analysis(E, t, out)
    return True


@njit
def run_perturbed_localized(flow, E0, y, obs, noise, inflation, taper, out):
    """The stochastic EnKF (perturbed observations) with the forecast covariance tapered by
    ``taper`` (n, n) (:func:`perturbed_analysis_tapered`); returns True."""
    T, m = y.shape
    N, n = E0.shape
    E, A, Enew, P = E0.copy(), np.empty((N, n)), np.empty((N, n)), np.empty((N, m))
    stages, work, work_cols = forecast_work(flow, N, n)
    for t in range(T):
        if t > 0:
            forecast_ensemble(flow, E, t, noise, stages, work, work_cols)
        inflate(E, inflation, out.forecast_mean[t], A)
        colour_perturbations(noise.Z[t], obs, P)
        perturbed_analysis_tapered(E, y[t], obs.C, obs.c, obs.R, P, taper, Enew)
        E[:] = Enew
        record_analysis(E, t, out)
    return True


@njit
def run_etkf(flow, E0, y, obs, noise, inflation, out):
    """The ensemble transform Kalman filter (:func:`etkf_analysis`); returns True."""
    N, n = E0.shape
    E, A, Enew = E0.copy(), np.empty((N, n)), np.empty((N, n))
    stages, work, work_cols = forecast_work(flow, N, n)
    for t in range(y.shape[0]):
        if t > 0:
            forecast_ensemble(flow, E, t, noise, stages, work, work_cols)
        inflate(E, inflation, out.forecast_mean[t], A)
        etkf_analysis(E, y[t], obs.C, obs.c, obs.Wr, Enew)
        E[:] = Enew
        record_analysis(E, t, out)
    return True


@njit
def run_letkf(flow, E0, y, obs, noise, inflation, rho, out):
    """The local ETKF (:func:`letkf_analysis`), ``rho`` (n, m) the state-observation taper; returns True."""
    N, n = E0.shape
    E, A, Enew = E0.copy(), np.empty((N, n)), np.empty((N, n))
    stages, work, work_cols = forecast_work(flow, N, n)
    for t in range(y.shape[0]):
        if t > 0:
            forecast_ensemble(flow, E, t, noise, stages, work, work_cols)
        inflate(E, inflation, out.forecast_mean[t], A)
        letkf_analysis(E, y[t], obs.C, obs.c, obs.r_std, rho, Enew)
        E[:] = Enew
        record_analysis(E, t, out)
    return True



# ------------------------------------------------------------------------------------------------
# 4DVar: cost and gradient by the adjoint
# ------------------------------------------------------------------------------------------------
# The strong-constraint cost and gradient are the observation half, three passes (the forward run
# storing the RK4 stages, :func:`strong_forward`; the observation misfit of every time at once; one
# backward sweep that subtracts the observations' forcing C^T R^-1 r_t at each time,
# :func:`adjoint_sweep`), and the background term. The observation terms come in two storages, dense or a coordinate selection with
# a diagonal R^-1, each with its own kernels and driver (:func:`strong_misfit_grad`,
# :func:`strong_misfit_grad_selection`); the background term in two, dense or diagonal
# (:func:`background_dense`, :func:`background_diagonal`). The Python side
# (:mod:`~pedagogy_lib.assimilation.fourdvar`, which decides the storages once per window) calls one
# of each.

@njit
def strong_forward(flow, x1, traj, stages, work):
    """The trajectory from ``x1`` into ``traj`` (T, n), every cycle's RK4 stages into ``stages``
    (T - 1, n_steps, 4, n); ``work`` (5, n) is work space."""
    kind, theta, dt, n_steps = flow
    traj[0] = x1
    for t in range(1, traj.shape[0]):
        cycle_forward_with_work(kind, theta, dt, n_steps, traj[t - 1], stages[t - 1], work, traj[t])


@njit
def adjoint_sweep(flow, stages, forcing, work, lam):
    r"""One backward sweep of the adjoint into ``lam``: :math:`\boldsymbol\lambda_T = -\mathbf f_T`,
    :math:`\boldsymbol\lambda_t = \mathbf M_t^T\boldsymbol\lambda_{t+1} - \mathbf f_t`, down to
    :math:`\boldsymbol\lambda_1`, with ``forcing[t]`` :math:`= \mathbf f_t`."""
    kind, theta, dt, n_steps = flow
    T = forcing.shape[0]
    lam[:] = -forcing[T - 1]
    for t in range(T - 2, -1, -1):
        cycle_adjoint_with_work(kind, theta, dt, n_steps, stages[t], lam, work, lam)
        lam -= forcing[t]


@njit
def obs_terms_dense(traj, y, C, c, R_inv, forcing):
    r"""The observation half of the cost, :math:`\tfrac12\sum_t\mathbf r_t^T\mathbf R^{-1}\mathbf r_t`
    (returned), and ``forcing[t]`` :math:`= \mathbf C^T\mathbf R^{-1}\mathbf r_t`, with
    :math:`\mathbf r_t = \mathbf y_t - \mathbf C\mathbf x_t - \mathbf c`, for dense ``C`` and
    ``R_inv``: all times at once, three matrix products."""
    res = y - c - np.dot(traj, C.T)                   # (T, m): row t is r_t
    W = np.dot(res, R_inv.T)                          # row t is R^-1 r_t
    np.dot(W, C, forcing)
    return 0.5 * np.sum(res * W)


@njit
def obs_terms_selection(traj, y, index, weight, c, r_inv, W):
    r"""The observation half of the cost (returned) for a ``C`` whose row ``k`` has the one nonzero
    entry ``weight[k]``, in column ``index[k]`` (a coordinate selection, scaled), and
    ``R_inv = diag(r_inv)``: O(m) per time. ``W[t]`` receives :math:`\mathbf R^{-1}\mathbf r_t`
    (T, m), which :func:`adjoint_sweep_selection` scatters into the adjoint's forcing."""
    T, m = y.shape
    J = 0.0
    for t in range(T):
        x = traj[t]
        for k in range(m):
            r = y[t, k] - c[k] - weight[k] * x[index[k]]
            W[t, k] = r_inv[k] * r
            J += r * W[t, k]
    return 0.5 * J


@njit
def adjoint_sweep_selection(flow, stages, W, index, weight, work, lam):
    r""":func:`adjoint_sweep` with the forcing :math:`\mathbf f_t = \mathbf C^T\mathbf w_t` of a coordinate
    selection applied in place: ``weight[k] * W[t, k]`` leaves coordinate ``index[k]`` of
    :math:`\boldsymbol\lambda_t`."""
    kind, theta, dt, n_steps = flow
    T, m = W.shape
    lam[:] = 0.0
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            cycle_adjoint_with_work(kind, theta, dt, n_steps, stages[t], lam, work, lam)
        for k in range(m):
            lam[index[k]] -= weight[k] * W[t, k]


@njit
def strong_misfit_grad(flow, x1, y, C, c, R_inv, traj, stages, grad):
    r"""The observation half of the strong-constraint cost (returned) and its gradient
    :math:`\boldsymbol\lambda_1` into ``grad``, for dense ``C`` and ``R_inv``: the forward run storing
    the trajectory in ``traj`` (T, n) and the RK4 stages in ``stages`` (T - 1, n_steps, 4, n), the
    observation terms (:func:`obs_terms_dense`), one backward sweep (:func:`adjoint_sweep`).

    ``flow`` is the :class:`Flow` ``(kind, theta, dt, n_steps)``.
    NumPy twin: :func:`~pedagogy_lib.assimilation.fourdvar.strong_cost_grad_numpy` without its background term.
    """
    T, n = traj.shape
    work, forcing = np.empty((5, n)), np.empty((T, n))
    strong_forward(flow, x1, traj, stages, work)
    J = obs_terms_dense(traj, y, C, c, R_inv, forcing)
    adjoint_sweep(flow, stages, forcing, work, grad)
    return J


@njit
def strong_misfit_grad_selection(flow, x1, y, index, weight, c, r_inv, traj, stages, grad):
    r""":func:`strong_misfit_grad` for a coordinate selection ``C`` and a diagonal ``R_inv``
    (:func:`obs_terms_selection`, :func:`adjoint_sweep_selection`); the same cost and gradient, to rounding.

    NumPy twin: :func:`~pedagogy_lib.assimilation.fourdvar.strong_cost_grad_numpy` without its background term.
    """
    T, n = traj.shape
    work, W = np.empty((5, n)), np.empty(y.shape)
    strong_forward(flow, x1, traj, stages, work)
    J = obs_terms_selection(traj, y, index, weight, c, r_inv, W)
    adjoint_sweep_selection(flow, stages, W, index, weight, work, grad)
    return J


@njit
def background_dense(B_inv, x1, mu1, grad):
    r"""The background term :math:`\tfrac12\mathbf d^T\mathbf B^{-1}\mathbf d`,
    :math:`\mathbf d = \mathbf x_1 - \boldsymbol\mu_1` (returned); its gradient
    :math:`\mathbf B^{-1}\mathbf d` is added to ``grad``."""
    d = x1 - mu1
    g = np.dot(B_inv, d)
    grad += g
    return 0.5 * (d @ g)


@njit
def background_diagonal(b_inv, x1, mu1, grad):
    """:func:`background_dense` for ``B_inv = diag(b_inv)``: O(n)."""
    J = 0.0
    for i in range(x1.shape[0]):
        d = x1[i] - mu1[i]
        g = b_inv[i] * d
        grad[i] += g
        J += d * g
    return 0.5 * J


@njit
def weak_cost_grad(flow, X, mu1, B_inv, Q_inv, y, C, c, R_inv, stages, grad):
    r"""Weak-constraint 4DVar cost :math:`J(\mathbf x_{1:T})` (returned) over the trajectory ``X``
    (T, n) and its gradient into ``grad`` (T, n): one adjoint step per model-error term
    :math:`\mathbf x_t - \mathcal M(\mathbf x_{t-1})`; ``stages`` (n_steps, 4, n) is work space.

    ``flow`` is the :class:`Flow` ``(kind, theta, dt, n_steps)``.
    NumPy twin: :func:`~pedagogy_lib.assimilation.fourdvar.weak_cost_grad_numpy`.
    """
    kind, theta, dt, n_steps = flow.kind, flow.theta, flow.dt, flow.n_steps
    T, n = X.shape
    db = X[0] - mu1
    gb = B_inv @ db
    J = 0.5 * (db @ gb)
    grad[:] = 0.0
    grad[0] += gb
    f, tmp, work = np.empty(n), np.empty(n), np.empty((5, n))
    for t in range(T):
        r = y[t] - C @ X[t] - c
        w = R_inv @ r
        J += 0.5 * (r @ w)
        grad[t] -= C.T @ w
        if t > 0:
            cycle_forward_with_work(kind, theta, dt, n_steps, X[t - 1], stages, work, f)
            e = X[t] - f
            q = Q_inv @ e
            J += 0.5 * (e @ q)
            grad[t] += q
            cycle_adjoint_with_work(kind, theta, dt, n_steps, stages, q, work, tmp)
            grad[t - 1] -= tmp
    return J


def warmup_kernels() -> None:
    """Compile (or load from the cache) every kernel the Python side calls, on tiny inputs in the types
    it passes: one cycle forward, adjoint and tangent-linear and a trajectory and an ensemble forecast
    (Lorenz-63: the kind is an argument, not a type); each EnKF driver on a Lorenz-96 ensemble, with
    model noise; both strong-constraint misfits (dense and selection, the flow as a plain tuple), both
    background terms, and the weak-constraint cost (the flow as a :class:`Flow`). A model's arrays and what
    is derived from them are read-only (:class:`~pedagogy_lib.assimilation.model.DAModel`), the data writeable."""
    def ro(a):                             # a model's arrays are read-only, which numba types apart
        a = np.array(a, dtype=np.float64)
        a.setflags(write=False)
        return a

    theta, dt, n = np.array([10.0, 28.0, 8.0 / 3.0]), 0.01, 3          # Lorenz-63, one RK4 step per cycle
    x, eye = np.ones(n), np.eye(n)
    stages = np.empty((1, 4, n))
    cycle_forward(0, theta, dt, 1, x, stages, np.empty(n))
    cycle_adjoint(0, theta, dt, 1, stages, x, np.empty(n))
    cycle_tlm(0, theta, dt, 1, x, eye.copy(), np.empty(n), np.empty((n, n)))
    integrate(0, theta, dt, 1, x, np.empty((3, n)))
    propagate(0, theta, dt, 1, np.ones((2, n)), np.empty((2, n)))
    # the ensemble filters: Lorenz-96 on 8 sites, 3 members, 2 cycles, every site observed
    n, N, T = 8, 3, 2
    flow = Flow(1, np.array([8.0]), 0.05, 1)
    E0, y, eye = 8.0 + np.eye(N, n), np.zeros((T, n)), np.eye(n)
    obs = ObsModel(ro(eye), ro(np.zeros(n)), ro(eye), eye.copy(), eye.copy(), np.ones(n), eye.copy(), True)
    noise = Noise(np.zeros((T, N, n)), True, np.zeros((T, N, n)))

    def out():
        return Outputs(np.empty((T, N, n)), np.empty((T, n)), np.empty((T, n)), np.empty(T))
    run_perturbed(flow, E0, y, obs, noise, 1.0, out())
    run_perturbed_localized(flow, E0, y, obs, noise, 1.0, eye.copy(), out())
    run_etkf(flow, E0, y, obs, noise, 1.0, out())
    run_letkf(flow, E0, y, obs, noise, 1.0, np.ones((n, n)), out())
    # 4DVar on Lorenz-63 over a window of 3 cycles, every coordinate observed
    n, T = 3, 3
    flow = Flow(0, theta, dt, 1)
    x1, y, eye = np.ones(n), np.ones((T, n)), np.eye(n)
    traj, stages4, grad = np.zeros((T, n)), np.zeros((T - 1, 1, 4, n)), np.empty(n)
    index = np.arange(n)
    index.setflags(write=False)
    zero = ro(np.zeros(n))
    strong_misfit_grad(tuple(flow), x1, y, ro(eye), zero, ro(eye), traj, stages4, grad)
    strong_misfit_grad_selection(tuple(flow), x1, y, index, ro(np.ones(n)), zero, ro(np.ones(n)), traj, stages4,
                                 grad)
    background_dense(ro(eye), x1, zero, grad)
    background_diagonal(ro(np.ones(n)), x1, zero, grad)
    weak_cost_grad(flow, np.ones((T, n)), zero, ro(eye), ro(eye), y, ro(eye), zero, ro(eye), np.empty((1, 4, n)),
                   np.empty((T, n)))
