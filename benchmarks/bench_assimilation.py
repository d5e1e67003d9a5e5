"""Data assimilation: the ensemble Kalman filter per cycle, and the cost of a 4DVar gradient.

1. EnKF with perturbed observations on Lorenz-96 (40 variables, F = 8, one RK4 step of 0.05 per
   cycle, every variable observed with unit noise), 40 members, multiplicative inflation 1.06,
   1000 cycles. Ours: ``pedagogy_lib.assimilation.enkf(method="perturbed")``, one numba kernel for
   the whole run. Peer: filterpy's ``EnsembleKalmanFilter`` (its predict with the same RK4 step as
   ``fx``, and the same inflation applied to its members between predict and update, since it has
   none of its own). Reference: ``ref_enkf.enkf_l96``, the fully vectorized NumPy filter. Equal
   accuracy is checked first: the time-averaged analysis RMSE (after 200 cycles) of every filter
   must be within 15% of ours (they use different random numbers, except the reference, which
   reuses ours and must agree to 1e-8). Plain numba reference: ``ref_enkf.enkf_l96_numba``, the same
   filter as one ``@njit`` loop (written independently of the library), which draws its perturbations
   from the same seed exactly as the library does, inside the timed call, as the public call does; its
   analysis means must agree with ours to 1e-8. Targets: at least 30x filterpy per cycle, at least
   2.5x the vectorized NumPy reference (which is handed its perturbations, so it is timed without
   drawing them), and within 1.2x of the plain numba reference. Ours and the two references are timed
   in alternation. The ETKF's time per cycle is reported in the note.
2. Strong-constraint 4DVar gradient on Lorenz-96 of dimension n = 10, 40, 160, 640 over a window
   of 20 cycles of one RK4 step (one time unit), every other variable observed. Ours: the adjoint
   kernel (one forward run storing the RK4 stages and one backward sweep). Compared with one
   evaluation of the cost over the window (the same forward run and observation misfit, compiled
   the same way, without the backward sweep) and with central finite differences (2 n cost
   evaluations). The ratio to a bare forward model run (the kernel of ``integrate``) is in the
   note: the observation operator is a dense (n/2, n) matrix, whose products cost more than the
   Lorenz-96 step itself at large n, so the cost evaluation is the fair unit. Agreement with the
   finite differences is checked first (relative 1e-6). Target: the gradient costs at most 4
   cost evaluations (the cheap-gradient bound); the speed-up over finite differences is reported
   and grows with n.
"""
from __future__ import annotations

import numpy as np

import ref_enkf as ref
from _harness import best_time, interleaved_times, row
from pedagogy_lib.assimilation import kernels
from pedagogy_lib.core.jit import njit

CYCLES, SPIN = 1000, 200
ENKF_TARGET = 30.0
NUMPY_TARGET = 2.5          # ours at least this many times faster than the vectorized NumPy reference
PLAIN_TARGET = 1.2          # ours at most this many times the plain numba reference
GRAD_TARGET = 4.0


def _l96_problem():
    from pedagogy_lib import assimilation as da
    n = 40
    mod = da.DAModel(da.lorenz96(n), 8.0 * np.ones(n), np.eye(n), np.zeros((n, n)), np.eye(n), np.zeros(n),
                     np.eye(n))
    x, y = da.simulate(mod, CYCLES, rng=np.random.default_rng(96), spin_up=500)
    mod = mod._replace(mu1=x[0] + np.random.default_rng(7).standard_normal(n))
    E0 = mod.mu1 + np.random.default_rng(8).standard_normal((40, n))
    return da, mod, x, y, E0


def _filterpy_run(da, mod, y, E0, inflation, seed):
    from filterpy.kalman import EnsembleKalmanFilter
    dyn = mod.dynamics
    np.random.seed(seed)                                  # filterpy draws from NumPy's global generator

    def fx(s, dt):
        return da.lorenz.cycle_forward_numpy(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, s)[0]

    f = EnsembleKalmanFilter(x=mod.mu1.copy(), P=np.eye(40), dim_z=40, dt=dyn.dt, N=40, hx=lambda s: s, fx=fx)
    f.sigmas = E0.copy()
    f.Q = np.zeros((40, 40))
    f.R = mod.Sigma_y_x.copy()
    means = np.empty((y.shape[0], 40))
    for t in range(y.shape[0]):
        if t > 0:
            f.predict()
        xb = f.sigmas.mean(axis=0)
        f.sigmas = xb + inflation * (f.sigmas - xb)
        f.x = xb
        f.update(y[t])
        means[t] = f.sigmas.mean(axis=0)
    return means


def _enkf_rows():
    da, mod, x, y, E0 = _l96_problem()
    infl = 1.06
    ours = da.enkf(mod, y, n_members=40, rng=np.random.default_rng(1), method="perturbed", inflation=infl,
                   initial_ensemble=E0, truth=x)
    rmse_ours = ours.rmse[SPIN:].mean()
    # the library draws its perturbations as rng.standard_normal((T, N, m)) @ chol(R)^T; the reference reuses them
    pert = np.random.default_rng(1).standard_normal((CYCLES, 40, 40))
    m_ref = ref.enkf_l96(E0, y, mod.C, mod.Sigma_y_x, pert, inflation=infl)
    assert np.abs(m_ref - ours.mean).max() < 1e-8, np.abs(m_ref - ours.mean).max()
    m_nb = ref.enkf_l96_numba(E0, y, mod.C, mod.Sigma_y_x, np.random.default_rng(1), inflation=infl)
    assert np.abs(m_nb - ours.mean).max() < 1e-8, np.abs(m_nb - ours.mean).max()
    m_fp = _filterpy_run(da, mod, y, E0, infl, seed=2)
    rmse_fp = da.rmse(m_fp, x)[SPIN:].mean()
    assert abs(rmse_fp / rmse_ours - 1) < 0.15, (rmse_fp, rmse_ours)

    t_ours, t_nb, t_ref = (t / CYCLES for t in interleaved_times([
        lambda: da.enkf(mod, y, n_members=40, rng=np.random.default_rng(1), method="perturbed", inflation=infl,
                        initial_ensemble=E0),
        lambda: ref.enkf_l96_numba(E0, y, mod.C, mod.Sigma_y_x, np.random.default_rng(1), inflation=infl),
        lambda: ref.enkf_l96(E0, y, mod.C, mod.Sigma_y_x, pert, inflation=infl)], rounds=5, min_time=0.0))
    short = y[:100]
    t_fp = best_time(lambda: _filterpy_run(da, mod, short, E0, infl, seed=2), repeat=2, min_time=0.0) / 100
    t_etkf = best_time(lambda: da.enkf(mod, y, n_members=40, rng=np.random.default_rng(1), inflation=1.01,
                                       initial_ensemble=E0), repeat=3, min_time=0.0) / CYCLES
    size = "Lorenz-96 n=40, N=40, 1000 cycles"
    note = (f"time per cycle; analysis RMSE after {SPIN} cycles: ours {rmse_ours:.3f}, filterpy {rmse_fp:.3f}; "
            f"ETKF (inflation 1.01) {t_etkf * 1e6:.3g} µs per cycle")
    return [
        row("EnKF (perturbed observations), per cycle", size, t_ours, peer_name="filterpy `EnsembleKalmanFilter`",
            peer=t_fp, target=f">= {ENKF_TARGET:g}x", met=bool(t_fp / t_ours >= ENKF_TARGET), note=note),
        row("EnKF (perturbed observations), per cycle", size, t_ours, peer_name="vectorized NumPy (reference)",
            peer=t_ref, target=f">= {NUMPY_TARGET:g}x", met=bool(t_ref / t_ours >= NUMPY_TARGET),
            note="same random numbers (handed to the reference: its time has no drawing); analysis means agree "
                 "to 1e-8"),
        row("EnKF (perturbed observations), per cycle", size, t_ours, peer_name="plain numba loop (reference)",
            peer=t_nb, target=f"ours <= {PLAIN_TARGET:g} x reference", met=bool(t_ours <= PLAIN_TARGET * t_nb),
            note="same random numbers, drawn inside both timed calls; analysis means agree to 1e-8; timed in "
                 "alternation"),
    ]


@njit
def cost_kernel(kind, theta, dt, n_steps, x1, mu1, B_inv, y, C, c, R_inv, traj, stages):
    """The strong-constraint cost alone: the forward pass of the gradient kernel, no backward sweep."""
    T = traj.shape[0]
    traj[0] = x1
    for t in range(1, T):
        kernels.cycle_forward(kind, theta, dt, n_steps, traj[t - 1], stages, traj[t])
    db = x1 - mu1
    J = 0.5 * (db @ (B_inv @ db))
    for t in range(T):
        r = y[t] - C @ traj[t] - c
        J += 0.5 * (r @ (R_inv @ r))
    return J


def _grad_rows():
    from pedagogy_lib import assimilation as da
    rows = []
    T, k = 20, 1
    for n in (10, 40, 160, 640):
        dyn = da.lorenz96(n, n_steps=k)
        C = np.ascontiguousarray(np.eye(n)[::2])
        m = C.shape[0]
        mod = da.DAModel(dyn, 8.0 * np.ones(n), np.eye(n), np.zeros((n, n)), C, np.zeros(m), np.eye(m))
        x, y = da.simulate(mod, T, rng=np.random.default_rng(n), spin_up=200)
        x1 = x[0] + 0.1 * np.random.default_rng(0).standard_normal(n)
        B_inv, R_inv = np.eye(n), np.eye(m)
        traj, stages, grad = np.empty((T, n)), np.empty((T - 1, k, 4, n)), np.empty(n)
        out = np.empty((T, n))

        def forward():
            kernels.integrate(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, x1, out)

        def gradient():
            return kernels.strong_cost_grad(dyn.flow, x1, mod.mu1, B_inv, y, C, mod.c, R_inv, traj, stages, grad)

        st1 = np.empty((k, 4, n))

        def cost(z):
            return cost_kernel(dyn.code, dyn.theta, dyn.dt, dyn.n_steps, z, mod.mu1, B_inv, y, C, mod.c, R_inv,
                               out, st1)

        def fd_gradient():
            h = 1e-5
            g = np.empty(n)
            for i in range(n):
                e = np.zeros(n)
                e[i] = h
                g[i] = (cost(x1 + e) - cost(x1 - e)) / (2 * h)
            return g

        gradient()
        g_adj = grad.copy()
        g_fd = fd_gradient()
        assert np.linalg.norm(g_adj - g_fd) <= 1e-6 * np.linalg.norm(g_fd), np.linalg.norm(g_adj - g_fd)
        assert abs(cost(x1) - gradient()) <= 1e-12 * abs(cost(x1))
        t_fwd = best_time(forward, repeat=5)
        t_cost = best_time(lambda: cost(x1), repeat=5)
        t_grad = best_time(gradient, repeat=5)
        t_fd = best_time(fd_gradient, repeat=3, min_time=0.0)
        problem = da.strong_problem(mod, y)
        assert np.array_equal(da.strong_cost_grad(problem, x1)[1], g_adj)
        t_public = best_time(lambda: da.strong_cost_grad(problem, x1), repeat=5)
        ratio = t_grad / t_cost
        rows.append(row("4DVar gradient by the adjoint (strong constraint)",
                        f"Lorenz-96 n={n}, window 20 cycles of 0.05", t_grad,
                        peer_name="central finite differences (2n cost evaluations)", peer=t_fd,
                        target=f"<= {GRAD_TARGET:g} cost evaluations", met=bool(ratio <= GRAD_TARGET),
                        note=f"one cost evaluation {t_cost * 1e6:.3g} µs, gradient = {ratio:.2f} of them; "
                             f"one bare forward model run {t_fwd * 1e6:.3g} µs, gradient = {t_grad / t_fwd:.2f} "
                             f"of them; the public call on a window validated once (strong_problem) = "
                             f"{t_public / t_fwd:.2f} of them; agreement with finite differences 1e-6 relative "
                             "checked"))
    return rows


def run() -> list[dict]:
    return _enkf_rows() + _grad_rows()
