"""Issue 69 leftovers: fit_gmm's covariance floor ``reg_covar`` at data scaled by 1e-8 and 1e8.

The floor is absolute (units of y squared), as its docstring says, like the HMM's and the LGSSM's.
What a student should get, pinned here at s = 1e-8 and 1e8 against the fit at s = 1 (the same
start, scaled; a fixed number of iterations): with reg_covar scaled by s^2 the fit is the rescaled
one (means times s, covariances times s^2, the same weights), for fit_gmm and the semi-supervised
fit; with the default 1e-6, data of large units give the rescaled fit without a word, and data of
small units (variances near 1e-16) have the floor bind on every component, with a warning that
names the floor as large against the data and quotes the data's smallest variance. (The code
already did this; these tests pin it at the two scales the issue names.)
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from pedagogy_lib.em import CovarianceFloorWarning
from pedagogy_lib.mixture import GMMParams, fit_gmm, fit_gmm_semi_supervised


def _problem():
    rng = np.random.default_rng(6969)
    centres = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
    y = np.vstack([c + rng.standard_normal((60, 2)) @ np.array([[1.0, 0.3], [0.0, 0.6]]) for c in centres])
    start = GMMParams(np.full(3, 1 / 3), centres + 0.5, np.stack([np.eye(2)] * 3))
    labels = np.full(y.shape[0], -1)
    labels[::10] = np.repeat(np.arange(3), 60)[::10]
    return y, start, labels


def _fit(fit, y, start, labels, s, covariance_type, **kw):
    init = GMMParams(start.pi, start.mu * s, start.Sigma * s * s)
    if fit == "semi":
        return fit_gmm_semi_supervised(y * s, labels, 3, init=init, covariance_type=covariance_type, max_iter=12,
                                       tol=0.0, **kw)
    return fit_gmm(y * s, 3, init=init, covariance_type=covariance_type, max_iter=12, tol=0.0, backend="numpy", **kw)


def _assert_scaled(got, ref, s):
    np.testing.assert_allclose(got.params.pi, ref.params.pi, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.params.mu / s, ref.params.mu, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.params.Sigma / s**2, ref.params.Sigma, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied"])
@pytest.mark.parametrize("fit", ["gmm", "semi"])
@pytest.mark.parametrize("s", [1e-8, 1e8])
def test_a_floor_scaled_with_the_data_gives_the_rescaled_fit(s, fit, covariance_type):
    y, start, labels = _problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = _fit(fit, y, start, labels, 1.0, covariance_type, reg_covar=1e-6)
        got = _fit(fit, y, start, labels, s, covariance_type, reg_covar=1e-6 * s * s)
    _assert_scaled(got, ref, s)


@pytest.mark.parametrize("fit", ["gmm", "semi"])
def test_the_default_floor_is_silent_and_exact_on_large_units(fit):
    y, start, labels = _problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = _fit(fit, y, start, labels, 1.0, "full")
        got = _fit(fit, y, start, labels, 1e8, "full")
    _assert_scaled(got, ref, 1e8)


@pytest.mark.parametrize("fit", ["gmm", "semi"])
def test_the_default_floor_on_small_units_binds_everywhere_and_says_why(fit):
    y, start, labels = _problem()
    s = 1e-8
    with pytest.warns(CovarianceFloorWarning) as record:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)            # a floored M step is not exact EM
            _fit(fit, y, start, labels, s, "full")
    text = [str(w.message) for w in record if issubclass(w.category, CovarianceFloorWarning)][0]
    assert "component(s) [0, 1, 2]" in text and "not small against the data" in text, text
    v = np.linalg.eigvalsh(np.cov(y * s, rowvar=False, bias=True))[0]
    assert f"{v:.3g}" in text, (v, text)
