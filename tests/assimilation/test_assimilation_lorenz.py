"""Lorenz-63/96 time steppers, tangent-linear and adjoint models (pedagogy_lib.assimilation.lorenz).

Oracles: the vector fields written out component by component here, an RK4 step written from its
textbook formula, SciPy's DOP853 at tight tolerance (for the order of the scheme), central finite
differences (pedagogy_lib.core.gradcheck) for the tangent-linear model, and the dot-product test
<M dx, lam> = <dx, M^T lam> for the adjoint.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from pedagogy_lib.assimilation import lorenz as L
from pedagogy_lib.core.gradcheck import gradcheck

SYSTEMS = {
    "lorenz63": lambda k: L.lorenz63(n_steps=k),
    "lorenz96": lambda k: L.lorenz96(40, n_steps=k),
    "lorenz96_small": lambda k: L.lorenz96(6, F=5.0, dt=0.02, n_steps=k),
}


def _f63(x, s=10.0, r=28.0, b=8.0 / 3.0):
    return np.array([s * (x[1] - x[0]), x[0] * (r - x[2]) - x[1], x[0] * x[1] - b * x[2]])


def _f96(x, F=8.0):
    n = len(x)
    return np.array([(x[(i + 1) % n] - x[i - 2]) * x[i - 1] - x[i] + F for i in range(n)])


def _field(dyn):
    if dyn.kind == "lorenz63":
        return lambda x: _f63(x, *dyn.theta)
    return lambda x: _f96(x, dyn.theta[0])


def _rk4_oracle(dyn, x, cycles=1):
    f = _field(dyn)
    h = dyn.dt
    for _ in range(cycles * dyn.n_steps):
        k1 = f(x)
        k2 = f(x + h / 2 * k1)
        k3 = f(x + h / 2 * k2)
        k4 = f(x + h * k3)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def _start(dyn, seed=0):
    rng = np.random.default_rng(seed)
    if dyn.kind == "lorenz63":
        return np.array([1.0, 2.0, 20.0]) + rng.standard_normal(3)
    return dyn.theta[0] + rng.standard_normal(dyn.n)


@pytest.mark.parametrize("name", SYSTEMS)
def test_vector_field_matches_componentwise_formula(name):
    dyn = SYSTEMS[name](1)
    X = np.stack([_start(dyn, s) for s in range(4)])
    np.testing.assert_allclose(L.vector_field(dyn, X), np.stack([_field(dyn)(x) for x in X]), rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name", SYSTEMS)
def test_integrate_equals_textbook_rk4(name, backend):
    dyn = SYSTEMS[name](3)
    x0 = _start(dyn)
    traj = L.integrate(dyn, x0, 5, backend=backend)
    assert traj.shape == (6, dyn.n)
    np.testing.assert_array_equal(traj[0], x0)
    for t in range(1, 6):
        np.testing.assert_allclose(traj[t], _rk4_oracle(dyn, traj[t - 1]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", SYSTEMS)
def test_kernels_equal_their_numpy_twins(name):
    dyn = SYSTEMS[name](2)
    rng = np.random.default_rng(1)
    x = _start(dyn)
    X = x + 0.1 * rng.standard_normal((5, dyn.n))
    np.testing.assert_allclose(L.propagate(dyn, X), L.propagate(dyn, X, backend="numpy"), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(L.integrate(dyn, x, 7), L.integrate(dyn, x, 7, backend="numpy"), rtol=1e-12, atol=1e-11)
    dX, lam = rng.standard_normal((3, dyn.n)), rng.standard_normal(dyn.n)
    a, b = L.tangent_linear(dyn, x, dX), L.tangent_linear(dyn, x, dX, backend="numpy")
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(L.adjoint(dyn, x, lam), L.adjoint(dyn, x, lam, backend="numpy"), rtol=1e-12, atol=1e-12)


def test_propagate_equals_member_loop_bit_for_bit():
    dyn = L.lorenz96(40, n_steps=3)
    X = 8.0 + np.random.default_rng(2).standard_normal((7, 40))
    loop = np.stack([L.integrate(dyn, x, 1)[1] for x in X])
    np.testing.assert_array_equal(L.propagate(dyn, X), loop)


def test_rk4_is_fourth_order_on_lorenz63():
    """Global error at t = 0.5 against DOP853 (rtol 1e-13): slope 4 on a log-log plot of error against dt."""
    x0 = np.array([1.0, 2.0, 20.0])
    ref = solve_ivp(lambda t, x: _f63(x), (0, 0.5), x0, method="DOP853", rtol=1e-13, atol=1e-13).y[:, -1]
    dts = np.array([0.02, 0.01, 0.005])
    errs = [np.linalg.norm(L.integrate(L.lorenz63(dt=dt), x0, int(round(0.5 / dt)))[-1] - ref) for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert 3.8 < slope < 4.2, slope


def test_lorenz96_advection_conserves_energy():
    """With F = 0 and the damping term removed, E = sum x^2 / 2 is invariant; RK4 keeps it to O(dt^4)."""
    dyn = L.lorenz96(40, F=0.0, dt=0.001)
    x0 = np.random.default_rng(3).standard_normal(40)
    # dE/dt = sum x_i (advection) - sum x_i^2: with the -x term present, E decays exactly as dE/dt = -2E
    traj = L.integrate(dyn, x0, 200)
    E = 0.5 * np.sum(traj ** 2, axis=1)
    np.testing.assert_allclose(E, E[0] * np.exp(-2 * 0.001 * np.arange(201)), rtol=1e-9)


@pytest.mark.parametrize("name", SYSTEMS)
@pytest.mark.parametrize("k", [1, 4])
def test_tangent_linear_equals_finite_differences(name, k):
    dyn = SYSTEMS[name](k)
    x = _start(dyn)
    _, M = L.cycle_jacobian(dyn, x)
    fd = gradcheck(lambda z: L.integrate(dyn, z, 1)[1], x, M, h=1e-4, order=4, rtol=1e-7, atol=1e-9)
    assert fd.ok, fd.ratio


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name", [*SYSTEMS, "linear"])
def test_adjoint_dot_product(name, backend):
    """<M dx, lam> = <dx, M^T lam> to rounding, for one cycle of several RK4 steps."""
    rng = np.random.default_rng(4)
    if name == "linear":
        dyn = L.linear_dynamics(rng.standard_normal((4, 4)), rng.standard_normal(4))
        x = rng.standard_normal(4)
    else:
        dyn = SYSTEMS[name](5)
        x = _start(dyn)
    for _ in range(3):
        dx, lam = rng.standard_normal(dyn.n), rng.standard_normal(dyn.n)
        _, Mdx = L.tangent_linear(dyn, x, dx, backend=backend)
        lhs, rhs = Mdx @ lam, dx @ L.adjoint(dyn, x, lam, backend=backend)
        assert abs(lhs - rhs) <= 1e-12 * (np.linalg.norm(Mdx) * np.linalg.norm(lam) + 1.0)


def test_linear_dynamics_is_the_affine_map():
    rng = np.random.default_rng(5)
    A, a = rng.standard_normal((3, 3)), rng.standard_normal(3)
    dyn = L.linear_dynamics(A, a)
    X = rng.standard_normal((4, 3))
    np.testing.assert_allclose(L.propagate(dyn, X), X @ A.T + a, rtol=1e-14)
    np.testing.assert_allclose(L.cycle_jacobian(dyn, X[0])[1], A)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="dt"):
        L.lorenz63(dt=-0.01)
    with pytest.raises(ValueError, match="n_steps"):
        L.lorenz96(40, n_steps=0)
    with pytest.raises(ValueError, match=r"\bn\b"):
        L.lorenz96(3)
    with pytest.raises(ValueError, match="x0"):
        L.integrate(L.lorenz63(), np.zeros(4), 3)
    with pytest.raises(ValueError, match="n_cycles"):
        L.integrate(L.lorenz63(), np.zeros(3), -1)
    with pytest.raises(ValueError, match="X"):
        L.propagate(L.lorenz96(8), np.zeros((2, 7)))
    with pytest.raises(TypeError, match="dynamics"):
        L.integrate("lorenz63", np.zeros(3), 1)
