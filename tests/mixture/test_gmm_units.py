"""fit_gmm in any units (issue 69): equivariant when the floor is scaled with the data, and a floor that
binds only because the data's units are small is named as the cause, not called a collapse.

``reg_covar`` is absolute (units of y squared). With ``y -> s y`` and ``reg_covar -> s^2 reg_covar``, EM is
equivariant in exact arithmetic: every iterate has ``mu -> s mu``, ``Sigma -> s^2 Sigma``, the same ``pi``,
and a log likelihood lower by ``N L log s``. The fits run a fixed number of iterations (``tol = 0``) from a
scaled copy of one start, so the comparison is of the same iterate; the tolerance is rounding accumulated
over 15 iterations, far below the parameters' own differences between iterates (checked below).

The stopping rule is free of the units too: run to convergence at ``tol = 1e-6`` from starts scaled alike,
``s * y`` for ``s = 2^-200, 1, 2^200`` (powers of two scale exactly) stops at the same iteration.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from pedagogy_lib.em import CovarianceFloorWarning
from pedagogy_lib.mixture import GMMParams, fit_gmm, fit_gmm_semi_supervised


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # multi-threaded OpenBLAS stalls on a loaded 2-core machine for the tiny solves of these fits
    with threadpool_limits(limits=1):
        yield

EXPONENTS = (-8, -4, 0, 4, 8)


def _problem():
    rng = np.random.default_rng(69)
    centres = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
    y = np.vstack([c + rng.standard_normal((80, 2)) @ np.diag([1.0, 0.5]) for c in centres])
    start = GMMParams(np.full(3, 1 / 3), centres + 0.7, np.stack([np.eye(2)] * 3))
    return y, start


def _fit(y, start, s, reg_covar, covariance_type):
    init = GMMParams(start.pi, start.mu * s, start.Sigma * s * s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fit_gmm(y * s, 3, init=init, covariance_type=covariance_type, max_iter=15, tol=0.0,
                       reg_covar=reg_covar * s * s, backend="numpy")


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied"])
@pytest.mark.parametrize("exponent", EXPONENTS)
def test_a_floor_scaled_with_the_data_gives_an_equivariant_fit(exponent, covariance_type):
    y, start = _problem()
    s = 10.0 ** exponent
    ref = _fit(y, start, 1.0, 1e-6, covariance_type)
    got = _fit(y, start, s, 1e-6, covariance_type)
    N, L = y.shape
    assert len(got.log_lik) == len(ref.log_lik), "the same number of iterations"
    np.testing.assert_allclose(got.params.pi, ref.params.pi, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.params.mu / s, ref.params.mu, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.params.Sigma / (s * s), ref.params.Sigma, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.log_lik[-1], ref.log_lik[-1] - N * L * np.log(s), rtol=1e-10, atol=1e-8)
    # the tolerance above resolves iterates: the last two differ by far more than it
    assert np.max(np.abs(np.diff(ref.log_lik[:6]))) > 1e-3


@pytest.mark.parametrize("exponent", [-8, -6, -4, -3])
def test_an_absolute_floor_in_small_units_is_named_as_the_cause(exponent):
    """Default reg_covar = 1e-6 with the data's variances near 10^(2 exponent): the floor binds on healthy
    components. The warning must say the floor is large against the data, not that a component collapses."""
    y, start = _problem()
    s = 10.0 ** exponent
    init = GMMParams(start.pi, start.mu * s, start.Sigma * s * s)
    with pytest.warns(CovarianceFloorWarning) as record:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)          # the floor breaks EM's monotonicity
            fit_gmm(y * s, 3, init=init, max_iter=3, tol=0.0, backend="numpy")
    text = str(record[0].message)
    assert "not small against the data" in text and "is collapsing" not in text, text
    v = np.linalg.eigvalsh(np.cov(y * s, rowvar=False, bias=True))[0]          # the data's smallest variance
    assert f"{v:.3g}" in text, f"the message should quote the data's smallest variance {v:.3g}: {text}"


def test_in_ordinary_units_the_default_floor_is_silent_and_a_collapse_is_called_one():
    y, start = _problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_gmm(y, 3, init=start, max_iter=10, tol=0.0, backend="numpy")       # no warning at all
    rng = np.random.default_rng(14)
    yc = np.vstack([rng.standard_normal((100, 2)), np.tile([[6.0, 6.0]], (10, 1))])   # 10 identical points
    start = GMMParams(np.array([0.9, 0.1]), np.array([[0.0, 0.0], [6.0, 6.0]]), np.stack([np.eye(2), 0.01 * np.eye(2)]))
    for s in (1e-6, 1.0, 1e6):                                                   # a collapse in any units
        init = GMMParams(start.pi, start.mu * s, start.Sigma * s * s)
        with pytest.warns(CovarianceFloorWarning, match="collapsing") as record:
            fit_gmm(yc * s, 2, init=init, max_iter=3, tol=0.0, reg_covar=1e-4 * s * s, backend="numpy")
        assert "not small against the data" not in str(record[0].message)


# ------------------------------------------------------------------ the stopping rule in any units
UNIT_EXPONENTS = (-200, 0, 200)


def _overlapping():
    """Three overlapping clusters and a poor start: tens of iterations to converge, so the iteration at
    which the rule stops depends on the tolerance it reads."""
    rng = np.random.default_rng(69)
    centres = np.array([[0.0, 0.0], [2.0, 0.5], [0.5, 2.5]])
    mix = np.array([[1.0, 0.3], [0.0, 0.6]])
    y = np.vstack([c + rng.standard_normal((80, 2)) @ mix for c in centres])
    start = GMMParams(np.full(3, 1 / 3), np.array([[1.0, 1.0], [1.5, 0.8], [0.8, 1.5]]),
                      np.stack([np.eye(2)] * 3))
    labels = np.full(y.shape[0], -1)
    labels[::16] = np.repeat(np.arange(3), 80)[::16]                 # every 16th point carries its class
    return y, start, labels


def _assert_same_fit_in_any_units(fits, y):
    """``fits[e]`` fitted ``2^e * y``: the same iteration count, mu and Sigma scaled, log p shifted by N L e log 2."""
    ref = fits[0]
    assert ref.converged and 10 < ref.n_iter < 500
    for e, got in fits.items():
        s = 2.0 ** e
        assert got.converged and got.n_iter == ref.n_iter, (e, got.n_iter, ref.n_iter)
        np.testing.assert_allclose(got.params.pi, ref.params.pi, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got.params.mu / s, ref.params.mu, rtol=1e-9,
                                   atol=1e-9 * np.max(np.abs(ref.params.mu)))
        np.testing.assert_allclose(got.params.Sigma / (s * s), ref.params.Sigma, rtol=1e-9,
                                   atol=1e-9 * np.max(np.abs(ref.params.Sigma)))
        shift = y.size * e * np.log(2.0)                               # N L log s
        np.testing.assert_allclose(got.log_lik[-1] + shift, ref.log_lik[-1], rtol=0,
                                   atol=1e-9 * abs(got.log_lik[-1]))


def _fit_gmm(y, labels, init, s, covariance_type):
    return fit_gmm(y, 3, init=init, covariance_type=covariance_type, max_iter=500, tol=1e-6,
                   reg_covar=1e-6 * s * s, backend="numpy")


def _fit_semi_supervised(y, labels, init, s, covariance_type):
    return fit_gmm_semi_supervised(y, labels, 3, init=init, covariance_type=covariance_type, max_iter=500,
                                   tol=1e-6, reg_covar=1e-6 * s * s)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied"])
@pytest.mark.parametrize("fit", [_fit_gmm, _fit_semi_supervised], ids=["fit_gmm", "semi_supervised"])
def test_the_fit_stops_at_the_same_iteration_whatever_the_units_of_y(fit, covariance_type):
    """The rule was relative to |log p(y)|, which moves by N L |e| log 2 (66,542 here, against about 740)
    when y is scaled by 2^e, so at e = +-200 it allowed a change 90 times larger and stopped early. For
    fit_gmm: 28, 18 and 20 iterations for the full, diagonal and tied fits, against 45, 76 and 41 now at
    every scale; for the fit with clamped labels (its objective, marginal for the unlabelled points and
    joint for the labelled, shifts by the same N L log s): 28 or 29, 15 and 15 against 69, 39 and 27. The
    rule now reads log p in units where each column of y has unit spread."""
    y, start, labels = _overlapping()
    fits = {}
    for e in UNIT_EXPONENTS:
        s = 2.0 ** e
        init = GMMParams(start.pi, start.mu * s, start.Sigma * s * s)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fits[e] = fit(y * s, labels, init, s, covariance_type)
    _assert_same_fit_in_any_units(fits, y)
