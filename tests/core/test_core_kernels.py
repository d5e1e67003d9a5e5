"""The shared vectorizable exponential of ``pedagogy_lib.core.kernels`` against ``np.exp``.

Tolerance: 2 ulp of ``np.exp``'s result. ``exp_into`` is within 1.2 ulp of the exact value (a Taylor
polynomial of degree 13, whose truncation is below 5e-18 relative, evaluated with at most one rounding
per Horner step, then an exact power of two), and ``np.exp`` itself is within about 1 ulp of it; so the
two may differ by up to about 2 ulp, and an error in a coefficient, in the range reduction or in the
power of two would show as a relative error of 1e-13 or more. At the extremes the documented behaviour
is checked exactly: arguments at or below -708 give 0 (``np.exp`` gives subnormal numbers there, all
at most 3.31e-308), above 709.78 give ``inf`` as ``np.exp`` does, and a NaN gives 0.
"""
import numpy as np

from pedagogy_lib.core.kernels import EXP_FLOOR, exp_into


def _exp(v, scale=1.0, shift=0.0):
    out = np.empty_like(v)
    with np.errstate(over="ignore", invalid="ignore"):    # the Python version (without numba) overflows to inf
        exp_into(v, scale, shift, out, np.empty(v.shape[0], dtype=np.int64))
    return out


def test_exp_into_agrees_with_numpy_to_two_ulp_over_the_whole_range():
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.uniform(-708.0, 709.78, 20000), rng.uniform(-1.0, 1.0, 2000),
                        np.linspace(-707.999, 709.78, 4001), [0.0, -0.0, 1e-300, -1e-300, 0.5 * np.log(2.0),
                                                            -0.5 * np.log(2.0), 709.782, -707.9999]])
    ref = np.exp(v)
    out = _exp(v)
    assert np.all(np.abs(out - ref) <= 2 * np.spacing(ref))
    assert _exp(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]


def test_exp_into_scale_and_shift():
    rng = np.random.default_rng(1)
    v = rng.uniform(-300.0, 300.0, 5000)
    for scale, shift in ((1.0, 2.5), (-1.0, 0.0), (-1.0, -7.25), (1.0, 300.0)):
        ref = np.exp(scale * v - shift)
        assert np.all(np.abs(_exp(v, scale, shift) - ref) <= 2 * np.spacing(ref)), (scale, shift)
    np.testing.assert_array_equal(_exp(v, -1.0, 0.0), _exp(-v))                # scale -1 is exact


def test_exp_into_at_the_extremes():
    big_neg = np.array([-np.inf, -1e300, -800.0, -745.2, -708.5, EXP_FLOOR])
    assert np.all(_exp(big_neg) == 0.0) and np.all(np.exp(big_neg) <= 3.31e-308)   # flushed, documented
    assert _exp(np.array([EXP_FLOOR + 1e-9]))[0] > 0.0
    big_pos = np.array([709.79, 710.0, 800.0, 1e300, np.inf])
    assert np.all(np.isposinf(_exp(big_pos)))
    assert np.isfinite(_exp(np.array([709.78]))[0])                          # largest finite range kept
    out = _exp(np.array([np.nan, 1.0, -np.inf, np.nan]))
    assert out[0] == 0.0 and out[3] == 0.0 and out[2] == 0.0
    # the same through the shift: what counts is scale * v - shift
    assert _exp(np.array([0.0]), 1.0, 708.0)[0] == 0.0 and np.isposinf(_exp(np.array([0.0]), 1.0, -710.0)[0])


def test_exp_into_python_version_agrees_with_the_compiled_one():
    v = np.random.default_rng(2).uniform(-700.0, 700.0, 200)
    a = _exp(v)
    b = np.empty_like(v)
    getattr(exp_into, "py_func", exp_into)(v, 1.0, 0.0, b, np.empty(v.shape[0], dtype=np.int64))
    assert np.all(np.abs(a - b) <= 2 * np.spacing(a))


