"""Issue 69 leftovers: fit_fa when unique variances go to a tiny floor (a Heywood case).

Columns 0 and 1 are exactly proportional and one factor explains both, so the likelihood is maximized
at Lambda_0 = Lambda_1 = 0 (two tiny variances, one factor): EM drives both to the floor ``Lambda_floor``
times their columns' variances. Oracle: the dense log N(y; c, C C^T + diag(Lambda)) of the returned
parameters in mpmath, with enough digits for the 1 / Lambda scale (no Woodbury, no lemma), summed over
the data.

Below about 1e-16 of a column's variance no float64 route resolves that likelihood: a rounding of y or C
by eps moves it by about eps |y| delta / Lambda per datum (delta, the data's departure from the loadings'
span, is up to Lambda^(1/2) there), and by (eps |y|)^2 / Lambda when more such columns than factors are
collinear (0.06 nats at 6.6e-31, 24 at 1.7e-32 here, where EM reports a decrease and stops short of the
floor). fit_fa therefore refuses a floor below 1e-14, a factor 100 above the least floor whose fits kept
1e-10 (relative) in the measurement its docstring quotes, and holds 1e-10 at 1e-14 for these data, for data
with a large offset and for data whose departure from the span is at the floor's own size.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from oracle_fa import dense_log_lik as _dense_log_lik
from pedagogy_lib.factor import em as fl

FLOOR_MIN = 1e-14


def _data():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 1))
    return np.hstack([x, 2 * x, x + rng.standard_normal((50, 1))])


def _start(y, ratio):
    """One factor along column 0 (column 1 is twice it), unique variances `ratio` times the columns' variances
    in the two collinear columns: EM then halves them per step towards the floor."""
    var = np.var(y, axis=0)
    yc = y - y.mean(axis=0)
    s = np.sqrt(var[0])
    C = np.array([[s], [2 * s], [yc[:, 0] @ yc[:, 2] / y.shape[0] / s]])
    return fl.FAParams(C, y.mean(axis=0), np.array([ratio * var[0], ratio * var[1], 0.5 * var[2]]))


def _check_against_oracle(res, y, floor):
    exact = _dense_log_lik(res.params, y, dps=60 + 3 * int(-np.log10(floor)))
    assert abs(res.log_lik[-1] - exact) <= 1e-10 * abs(exact), (res.log_lik[-1], exact)
    # the bound after the last M step is below the likelihood of those parameters, and close to it at convergence
    assert res.elbo[-1] <= res.log_lik[-1] + 1e-9 * abs(exact)
    assert res.log_lik[-1] - res.elbo[-1] <= 1e-6 * abs(exact)


@pytest.mark.parametrize("floor", [1e-10, FLOOR_MIN])
def test_two_tiny_unique_variances_with_one_factor_keep_the_log_likelihood(floor):
    y = _data()
    with pytest.warns(fl.HeywoodWarning, match=r"dimension\(s\) \[0, 1\]"):
        res = fl.fit_fa(y, 1, init=_start(y, 1e-8), Lambda_floor=floor, max_iter=200)
    np.testing.assert_allclose(res.params.Lambda[:2], floor * np.var(y, axis=0)[:2], rtol=1e-9)
    _check_against_oracle(res, y, floor)


@pytest.mark.parametrize("floor", [1e-100, 1e-15])
def test_a_floor_below_what_float64_resolves_is_refused_by_name(floor):
    """At 1e-100 the fit's log likelihood was 24 nats off the oracle's at 1.7e-32, and EM stopped short of the
    floor with a reported decrease; every floor below 1e-14 is now refused, naming Lambda_floor, the range
    and the value received."""
    y = _data()
    with pytest.raises(ValueError, match=rf"^Lambda_floor must lie in \[1e-14, 1\) for fit_fa; got {floor:.3g}\."):
        fl.fit_fa(y, 1, init=_start(y, 1e-8), Lambda_floor=floor, max_iter=200)


def test_a_large_offset_keeps_the_log_likelihood_of_the_returned_parameters():
    """Data with means near 1e7 beside spreads near 1: the sample mean carries a rounding of about 1e-9, which the
    fit kept as an offset of its standardized data and dropped on the way back, so the log likelihood it
    reported was that of another c: 1.9e-5 relative off at 1e-14 (2e-9 at 1e-16 with means near 1e4). The
    offset in the fit's units is now 0 exactly, and the reported value is the returned parameters'."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((200, 1))
    y = np.hstack([x, 2 * x, x + rng.standard_normal((200, 1))]) + np.array([1e7, -3e6, 7.0])
    with pytest.warns(fl.HeywoodWarning, match=r"dimension\(s\) \[0, 1\]"):
        res = fl.fit_fa(y, 1, rng=np.random.default_rng(0), Lambda_floor=FLOOR_MIN, max_iter=400, tol=1e-12)
    np.testing.assert_array_equal(res.params.c, y.mean(axis=0))
    _check_against_oracle(res, y, FLOOR_MIN)


@pytest.mark.parametrize("seed", [0, 2])
def test_data_departing_from_the_span_at_the_floors_size_keep_the_log_likelihood(seed):
    """The worst case of the measurement: column 1 departs from the factor's span by noise of standard deviation
    Lambda_floor^(1/2) (1e-7), where the likelihood is most sensitive to the rounding of y and C."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((300, 1))
    y = np.hstack([1.3 * x, -0.7 * x + 1e-7 * rng.standard_normal((300, 1)), x + rng.standard_normal((300, 1)),
                   2 * x * (1 + 0.3 * rng.standard_normal((300, 1)))]) + rng.normal(0, 100, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fl.HeywoodWarning)
        res = fl.fit_fa(y, 1, rng=np.random.default_rng(seed), Lambda_floor=FLOOR_MIN, max_iter=500, tol=1e-14)
    assert np.all(res.params.Lambda[:2] <= 2 * FLOOR_MIN * np.var(y, axis=0)[:2])
    _check_against_oracle(res, y, FLOOR_MIN)


def test_an_init_below_the_floor_is_raised_to_it():
    """An init whose unique variances are 1e-40 of their columns' (below every supported floor) cannot take EM
    below the floor: they are raised to Lambda_floor times the column's variance before the first E step, as
    the docstring says, and the fit is the one from that start."""
    y = _data()
    var = np.var(y, axis=0)
    low, at = _start(y, 1e-40), _start(y, FLOOR_MIN)
    with pytest.warns(fl.HeywoodWarning):
        a = fl.fit_fa(y, 1, init=low, Lambda_floor=FLOOR_MIN, max_iter=50, return_path=True)
    with pytest.warns(fl.HeywoodWarning):
        b = fl.fit_fa(y, 1, init=at, Lambda_floor=FLOOR_MIN, max_iter=50)
    np.testing.assert_allclose(a.path[0].Lambda[:2], FLOOR_MIN * var[:2], rtol=1e-12)
    assert np.all(np.array([p.Lambda[:2] for p in a.path]) >= FLOOR_MIN * var[:2] * (1 - 1e-12))
    np.testing.assert_allclose(a.log_lik, b.log_lik, rtol=1e-12)
    _check_against_oracle(a, y, FLOOR_MIN)
