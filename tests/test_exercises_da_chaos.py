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
    # e^{0.9 t} 1e-6 = 1  <=>  t = 6 ln(10) / 0.9
    assert check.predictability_time(6 * 2.302585092994046 / 0.9)
    r = check.predictability_time(6 / 0.9)
    assert not r and "base-10" in str(r)
    assert not check.predictability_time(1.0)


def test_lyapunov_exponent():
    assert check.lyapunov_exponent(0.906)
    r = check.lyapunov_exponent(0.906 * 0.01)
    assert not r and "per step" in str(r)
    assert not check.lyapunov_exponent(-0.9)
    assert not check.lyapunov_exponent(2.0)
    assert not check.lyapunov_exponent("abc")
