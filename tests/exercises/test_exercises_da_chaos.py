"""Checkers of the data-assimilation notebook 1 (pedagogy_lib.exercises.da_chaos)."""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib import assimilation as da
from pedagogy_lib.exercises import da_chaos as check


def test_lorenz63_field():
    dyn = da.lorenz63()
    assert check.lorenz63_field(lambda x: da.vector_field(dyn, x))
    r = check.lorenz63_field(lambda x: -da.vector_field(dyn, x))
    assert not r and "sign" in str(r)
    assert not check.lorenz63_field(lambda x: da.vector_field(da.lorenz63(rho=10.0), x))
    assert not check.lorenz63_field(None)


def test_predictability_statement_names_the_fields_of_growth():
    import json
    from pathlib import Path
    nb = json.loads(Path("chapters/da_data_assimilation/da_1_chaos_predictability.ipynb").read_text())
    text = "".join("".join(c["source"]) for c in nb["cells"])
    statement = text.split(":label: ex-da-1-predictability")[1].split(":::")[0]
    for key in check.GROWTH:
        assert f'check.GROWTH["{key}"]' in statement


def _crossing_time(lam, d0, q, dmax):
    """Independently of the closed form: the exact flow of d delta / dt = lam delta + q, as the matrix
    exponential of the augmented linear system (delta, 1), and the root of delta(t) = delta_max by bisection
    to rounding."""
    from scipy.linalg import expm
    from scipy.optimize import brentq

    G = np.array([[lam, q], [0.0, 0.0]])

    def gap(t):
        return (expm(G * t) @ [d0, 1.0])[0] - dmax
    hi = 1.0
    while gap(hi) < 0:
        hi *= 2
    return brentq(gap, 0.0, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)


def _euler_crossing(g, dt):
    """The route the statement rules out: Euler steps until delta reaches delta_max."""
    d, t = g["delta0"], 0.0
    while d < g["delta_max"]:
        d, t = d + dt * (g["lam"] * d + g["q"]), t + dt
    return t


def test_predictability_time_is_not_met_by_a_crude_integration():
    g = check.GROWTH
    assert abs(_euler_crossing(g, 1e-5) / _crossing_time(g["lam"], g["delta0"], g["q"], g["delta_max"]) - 1) < 1e-3
    assert not check.predictability_time(_euler_crossing(g, 1e-5))


def test_predictability_time_with_model_error():
    g = check.GROWTH
    t = _crossing_time(g["lam"], g["delta0"], g["q"], g["delta_max"])
    assert check.predictability_time(t)
    assert not check.predictability_time(1.01 * t)
    r = check.predictability_time(np.log(g["delta_max"] / g["delta0"]) / g["lam"])
    assert not r and "perfect model" in str(r), str(r)
    r = check.predictability_time(np.log((g["delta_max"] + g["q"]) / (g["delta0"] + g["q"])) / g["lam"])
    assert not r and "units of q" in str(r), str(r)
    r = check.predictability_time(_crossing_time(g["lam"], 0.0, g["q"], g["delta_max"]))
    assert not r and "does not depend on the initial error" in str(r), str(r)
    r = check.predictability_time(t / np.log(10))
    assert not r and "base-10" in str(r), str(r)
    r = check.predictability_time(t * g["lam"] ** 2)
    assert not r and "multiplied by the exponent" in str(r), str(r)
    assert not check.predictability_time(None)


def test_predictability_variants_make_both_errors_matter():
    variant = check.SUMMATIVE["ex-da-1-predictability"]["variant"]
    rng = np.random.default_rng(5)
    for _ in range(20):
        g = variant(rng)["GROWTH"]
        assert set(g) == set(check.GROWTH)
        t = _crossing_time(g["lam"], g["delta0"], g["q"], g["delta_max"])
        perfect = np.log(g["delta_max"] / g["delta0"]) / g["lam"]
        no_start = _crossing_time(g["lam"], 0.0, g["q"], g["delta_max"])
        assert t < perfect * (1 - 2e-3) and t < no_start * (1 - 2e-3)


def _run(start, cycles):
    """States at the start of every cycle of a Lorenz-63 run (the exercise's dt = 0.01, 10 steps)."""
    return da.integrate(da.lorenz63(dt=0.01, n_steps=10), np.asarray(start, float), cycles)


def _f63(z):
    s, r, b = 10.0, 28.0, 8.0 / 3.0
    return np.array([s * (z[1] - z[0]), z[0] * (r - z[2]) - z[1], z[0] * z[1] - b * z[2]])


def _tangent(z, v, dt=0.01, n_steps=10):
    """One cycle of RK4 for the state and, by its exact linearization, for the perturbation ``v`` (a vector,
    or several as the columns of a matrix, each carried as it would be alone)."""
    def jac(z):
        s, r, b = 10.0, 28.0, 8.0 / 3.0
        return np.array([[-s, s, 0.0], [r - z[2], -1.0, -z[0]], [z[1], z[0], -b]])
    for _ in range(n_steps):
        k1 = _f63(z)
        j1 = jac(z) @ v
        k2 = _f63(z + dt / 2 * k1)
        j2 = jac(z + dt / 2 * k1) @ (v + dt / 2 * j1)
        k3 = _f63(z + dt / 2 * k2)
        j3 = jac(z + dt / 2 * k2) @ (v + dt / 2 * j2)
        k4 = _f63(z + dt * k3)
        j4 = jac(z + dt * k3) @ (v + dt * j3)
        z = z + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        v = v + dt / 6 * (j1 + 2 * j2 + 2 * j3 + j4)
    return z, v


def _lyapunov_run(start, cycles):
    """Two perturbations through the exact linearization, re-orthonormalized by Gram-Schmidt written out
    (not a library QR): the logs of the first vector's growth and of the growth of the second one's part
    at right angles to the first."""
    z = np.asarray(start, float)
    q1, q2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    states, frames, logs, full = [z], [np.column_stack([q1, q2])], [], []
    for _ in range(cycles):
        z, w = _tangent(z, np.column_stack([q1, q2]))     # both vectors along one state trajectory
        w1, w2 = w[:, 0], w[:, 1]
        r11 = np.linalg.norm(w1)
        q1 = w1 / r11
        u = w2 - (w2 @ q1) * q1
        r22 = np.linalg.norm(u)
        q2 = u / r22
        logs.append([np.log(r11), np.log(r22)])
        full.append(np.log(np.linalg.norm(w2)))
        states.append(z)
        frames.append(np.column_stack([q1, q2]))
    return (np.mean(logs, axis=0) / 0.1, np.array(states), np.array(frames), float(np.mean(full) / 0.1))


def test_lyapunov_exponents():
    on = _run([1.0, 1.0, 20.0], 300)[-1]                 # 30 time units of spin-up: on the attractor
    lam, states, frames, full = _lyapunov_run(on, 3000)  # 300 time units from there
    np.testing.assert_allclose(states, _run(on, 3000), rtol=1e-9, atol=1e-9)
    assert 0.85 < lam[0] < 0.95 and abs(lam[1]) < 0.05
    assert check.lyapunov_exponents(lam, states, frames)
    flipped = frames.copy()
    flipped[1::2, :, 0] *= -1                            # QR with a negative diagonal: signs do not matter
    assert check.lyapunov_exponents(lam, states, flipped)
    r = check.lyapunov_exponents(lam * 0.01, states, frames)
    assert not r and "per step" in str(r)
    r = check.lyapunov_exponents(lam[::-1], states, frames)
    assert not r and "order" in str(r)
    r = check.lyapunov_exponents([lam[0], lam.sum()], states, frames)
    assert not r and "area" in str(r)
    r = check.lyapunov_exponents([lam[0], full], states, frames)
    assert not r and "whole image" in str(r)
    assert not check.lyapunov_exponents(-lam, states, frames)
    assert not check.lyapunov_exponents("abc", states, frames)
    # numbers not computed from this run: literals, or the first alone right
    assert not check.lyapunov_exponents([0.9, 0.0], states, frames)
    r = check.lyapunov_exponents([lam[0], 0.0], states, frames)
    assert not r and "first is right" in str(r)
    r = check.lyapunov_exponents(lam[0], states, frames)
    assert not r and "two" in str(r)
    r = check.lyapunov_exponents(lam, states)
    assert not r and "frames" in str(r)
    # Step 3's single vector, repeated as both columns: not orthonormal
    single = np.repeat(frames[:, :, :1], 2, axis=2)
    r = check.lyapunov_exponents(lam, states, single)
    assert not r and "orthonormal" in str(r)
    fake = frames.copy()
    fake[1:] = frames[0]                                 # orthonormal pairs that are not the run's images
    r = check.lyapunov_exponents(lam, states, fake)
    assert not r and "tangent-linear" in str(r)
    swapped = frames[:, :, ::-1].copy()                  # the pair re-orthonormalized second column first
    r = check.lyapunov_exponents(lam, states, swapped)
    assert not r and "tangent-linear" in str(r)
    # the run the statement asks for: long enough, started on the attractor, one cycle per row
    r = check.lyapunov_exponents(lam)
    assert not r and "states" in str(r)
    r = check.lyapunov_exponents(lam, states[:301], frames[:301])
    assert not r and "30 time units" in str(r) and "300" in str(r)
    r = check.lyapunov_exponents(lam, _run([1.0, 2.0, 3.0], 3000), frames)
    assert not r and "attractor" in str(r)
    r = check.lyapunov_exponents(lam, states[::2], frames[::2])
    assert not r and "one cycle" in str(r)


def test_the_page_does_not_compute_the_second_exponent_before_the_exercise():
    """The page's lyapunov() pushes one vector (the first exponent); nothing before the exercise pushes a
    pair or orthonormalizes one."""
    import json
    from pathlib import Path

    nb = json.loads(Path("chapters/da_data_assimilation/da_1_chaos_predictability.ipynb").read_text())
    before = []
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if ":label: ex-da-1-lyapunov" in text:
            break
        before.append(text)
    page = "".join(before)
    assert "linalg.qr" not in page and "lambda_2" not in page and "second exponent" not in page


# --- ex-da-1-tlm: the tangent-linear model of an RK4 cycle ---------------------------------------------------------

def _l63(z):
    return np.array([10.0 * (z[1] - z[0]), z[0] * (28.0 - z[2]) - z[1], z[0] * z[1] - 8.0 / 3.0 * z[2]])


def _l63_jac(z):
    return np.array([[-10.0, 10.0, 0.0], [28.0 - z[2], -1.0, -z[0]], [z[1], z[0], -8.0 / 3.0]])


def _rk4_points(z, dt):
    """The four points where one RK4 step evaluates f, and the state after the step."""
    k1 = _l63(z)
    k2 = _l63(z + 0.5 * dt * k1)
    k3 = _l63(z + 0.5 * dt * k2)
    k4 = _l63(z + dt * k3)
    points = [z, z + 0.5 * dt * k1, z + 0.5 * dt * k2, z + dt * k3]
    return points, z + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def _tlm(x, dx, dt, n_steps, *, at_stages=True, advance=True, transposed=False, chained=True):
    """The notebook's solution, each named slip a switch."""
    def J(z):
        return _l63_jac(z).T if transposed else _l63_jac(z)

    x0 = np.array(x, dtype=float)
    x, dx = x0.copy(), np.array(dx, dtype=float)
    for _ in range(n_steps):
        points, x_next = _rk4_points(x, dt)
        lin = points if advance else _rk4_points(x0, dt)[0]
        if not at_stages:
            lin = [lin[0]] * 4
        d1 = J(lin[0]) @ dx
        d2 = J(lin[1]) @ (dx + 0.5 * dt * d1 if chained else dx)
        d3 = J(lin[2]) @ (dx + 0.5 * dt * d2 if chained else dx)
        d4 = J(lin[3]) @ (dx + dt * d3 if chained else dx)
        x, dx = x_next, dx + dt / 6 * (d1 + 2 * d2 + 2 * d3 + d4)
    return x, dx


def _tlm_by_differences(x, dx, dt, n_steps, h=1e-6, unit=True):
    """Independently of any derivative: central differences of the library's cycle along dx (the cycle is smooth,
    so the error is O(h^2) plus rounding, far below the checker's tolerance for these cycles). With ``unit`` the
    difference is taken along dx / |dx| and scaled back by |dx|, which uses that M dx is linear in dx; without it,
    a step of h along dx itself, whose error grows with |dx| and whose rounding grows as |dx| shrinks."""
    dyn = da.lorenz63(dt=dt, n_steps=n_steps)
    x = np.asarray(x, float)
    size = float(np.linalg.norm(dx)) if unit else 1.0
    x_next = da.integrate(dyn, x, 1, backend="numpy")[-1]
    plus = da.integrate(dyn, x + h * dx / size, 1, backend="numpy")[-1]
    minus = da.integrate(dyn, x - h * dx / size, 1, backend="numpy")[-1]
    return x_next, size * (plus - minus) / (2 * h)


def test_tlm_accepts_the_solution_and_differences_along_a_unit_vector():
    assert check.tangent_linear_cycle(_tlm)
    assert check.tangent_linear_cycle(_tlm_by_differences)
    assert check.tangent_linear_cycle(lambda *args: list(_tlm(*args)))


@pytest.mark.parametrize("h", [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9])
def test_tlm_rejects_a_difference_quotient_along_dx(h):
    """The statement asks for each stage differentiated: a difference quotient of the cycle along dx, at any fixed
    step, misses one of the perturbations of length 1e-8 and 1e4 (the product h |dx| is either lost to rounding or
    bent by the cycle's curvature), while the exact linearization passes both."""
    sizes = sorted(float(np.linalg.norm(dx)) for _, dx, _, _ in check._tlm_cases())
    assert sizes[0] <= 1e-8 * (1 + 1e-12) and sizes[-1] >= 1e4 * (1 - 1e-12)
    res = check.tangent_linear_cycle(lambda *args: _tlm_by_differences(*args, h=h, unit=False))
    assert not res, h
    if "perturbation of length" in str(res):
        assert "exactly linear in dx" in str(res), str(res)


def test_tlm_reference_is_the_librarys_and_the_origin_is_a_fixed_point():
    cases = check._tlm_cases()
    assert any(np.all(x == 0) for x, *_ in cases) and any(n == 1 for *_, n in cases)
    for x, dx, dt, n in cases:
        x_lib, d_lib = da.tangent_linear(da.lorenz63(dt=dt, n_steps=n), x, dx, backend="numpy")
        x_me, d_me = _tlm(x, dx, dt, n)
        np.testing.assert_allclose(x_me, x_lib, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(d_me, d_lib, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("kw,fragment", [
    (dict(at_stages=False), "at the start of each step for all four stages"),
    (dict(advance=False), "linearized every step about x itself"),
    (dict(transposed=True), "rows and columns exchanged"),
    (dict(chained=False), "apply the Jacobian to dx alone"),
])
def test_tlm_names_the_slips(kw, fragment):
    res = check.tangent_linear_cycle(lambda *args: _tlm(*args, **kw))
    assert not res and fragment in str(res), str(res)


@pytest.mark.parametrize("wrong,fragment", [
    (lambda x, dx, dt, n: _tlm(x, dx, dt, n)[::-1], "the pair is (x_next, dx_next)"),
    (lambda x, dx, dt, n: _tlm(x, dx, dt, n)[1], "should return the pair"),
    (lambda x, dx, dt, n: 1 / 0, "raised ZeroDivisionError"),
])
def test_tlm_names_a_swapped_pair_a_single_array_and_an_exception(wrong, fragment):
    res = check.tangent_linear_cycle(wrong)
    assert not res and fragment in str(res), str(res)


def test_tlm_rejects_a_stub_and_a_non_function_and_reveals_no_answer():
    import re

    stub = check.tangent_linear_cycle(lambda x, dx, dt, n: None)
    assert not stub and stub.unanswered and "forget to return" in str(stub)
    assert "it is None" in str(check.tangent_linear_cycle(None))
    assert "should be a function" in str(check.tangent_linear_cycle([1.0, 2.0]))
    msg = str(check.tangent_linear_cycle(lambda *args: (_tlm(*args)[0], _tlm(*args)[1] * 1.001 + 1e-3)))
    assert "test problem 1" in msg, msg
    assert not re.search(r"[0-9]\.[0-9]", re.sub(r"dt = [0-9.]+", "", msg)), msg
