"""Checkers of the data-assimilation notebook 1 (pedagogy_lib.exercises.da_chaos)."""
from __future__ import annotations

import numpy as np

from pedagogy_lib import assimilation as da
from pedagogy_lib.exercises import da_chaos as check


def test_lorenz63_field():
    dyn = da.lorenz63()
    assert check.lorenz63_field(lambda x: da.vector_field(dyn, x))
    r = check.lorenz63_field(lambda x: -da.vector_field(dyn, x))
    assert not r and "sign" in str(r)
    assert not check.lorenz63_field(lambda x: da.vector_field(da.lorenz63(rho=10.0), x))
    assert not check.lorenz63_field(None)


def test_predictability_time():
    # e^{1.7 t} 1e-6 = 1  <=>  t = 6 ln(10) / 1.7
    assert check.predictability_time(6 * 2.302585092994046 / 1.7)
    r = check.predictability_time(6 / 1.7)
    assert not r and "base-10" in str(r)
    assert not check.predictability_time(1.0)


def _run(start, cycles):
    """States at the start of every cycle of a Lorenz-63 run (the exercise's dt = 0.01, 10 steps)."""
    return da.integrate(da.lorenz63(dt=0.01, n_steps=10), np.asarray(start, float), cycles)


def test_lyapunov_exponent():
    on = _run([1.0, 1.0, 20.0], 300)[-1]                 # 30 time units of spin-up: on the attractor
    states = _run(on, 3000)                              # 300 time units from there
    assert check.lyapunov_exponent(0.906, states)
    r = check.lyapunov_exponent(0.906 * 0.01, states)
    assert not r and "per step" in str(r)
    assert not check.lyapunov_exponent(-0.9, states)
    assert not check.lyapunov_exponent(2.0, states)
    assert not check.lyapunov_exponent("abc", states)
    # the run the statement asks for: long enough, started on the attractor, one cycle per row
    r = check.lyapunov_exponent(0.906)
    assert not r and "states" in str(r)
    r = check.lyapunov_exponent(0.906, states[:301])
    assert not r and "30 time units" in str(r) and "300" in str(r)
    r = check.lyapunov_exponent(0.906, _run([1.0, 2.0, 3.0], 3000))
    assert not r and "attractor" in str(r)
    r = check.lyapunov_exponent(0.906, states[::2])
    assert not r and "one cycle" in str(r)
