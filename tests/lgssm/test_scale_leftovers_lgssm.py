"""Issue 69 leftovers: fit_lgssm's covariance floor ``reg_covar`` at data scaled by 1e-8 and 1e8.

``reg_covar`` is absolute, like the floors of the mixture and HMM fits: units of y squared for
Sigma_y_x, of the latent state squared for Sigma_x and Sigma1 (the random start puts the latent
state near unit variance whatever y's units). So y -> s y (s < 1) with reg_covar -> s^2 reg_covar is
the same fit with C, c scaled by s and Sigma_y_x by s^2, and A, a, mu1, Sigma1, Sigma_x unchanged. The
default 1e-9 is far below data of ordinary or large variance (s = 1e8: the same fit, no warning),
but above the noise variance of data at s = 1e-8 (about 3e-17): there it binds, the fit is not the
rescaled one, and the warning must say that the units of y are the cause (it used to blame the
boundary of positive definite matrices, or noise-free dimensions).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from pedagogy_lib.em import ConvergenceWarning, CovarianceFloorWarning
from pedagogy_lib.lgssm import LGSSMParams, fit_lgssm, sample_lgssm


def _data():
    rng = np.random.default_rng(69)
    params = LGSSMParams(mu1=np.zeros(2), Sigma1=np.eye(2), A=np.array([[0.9, 0.2], [-0.1, 0.8]]),
                         B=np.zeros((2, 0)), a=np.zeros(2), Sigma_x=0.3 * np.eye(2),
                         C=np.array([[1.0, 0.5], [-0.4, 1.0], [0.3, 0.2]]), c=np.array([1.0, -2.0, 0.5]),
                         Sigma_y_x=0.4 * np.eye(3))
    return sample_lgssm(params, 80, rng=rng)[1]


def _fit(y, s, reg_covar=1e-9):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)            # a fixed number of iterations
        return fit_lgssm(y * s, 2, rng=np.random.default_rng(3), max_iter=8, tol=0.0, reg_covar=reg_covar,
                         backend="numpy")


def _assert_scaled(got, ref, s):
    for name in ("A", "a", "mu1", "Sigma1", "Sigma_x"):
        np.testing.assert_allclose(getattr(got.params, name), getattr(ref.params, name), rtol=1e-6, atol=1e-9,
                                   err_msg=name)
    np.testing.assert_allclose(got.params.C / s, ref.params.C, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got.params.c / s, ref.params.c, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got.params.Sigma_y_x / s**2, ref.params.Sigma_y_x, rtol=1e-6, atol=1e-9)


def test_a_floor_scaled_down_with_small_data_gives_the_rescaled_fit():
    """s = 1e-8 with reg_covar = 1e-9 s^2. (Scaling it up with large data would floor the latent covariances,
    which keep their units: at s = 1e8 a floor of 1e7 binds on Sigma_x and Sigma1, so there the default is
    kept, below.)"""
    y = _data()
    s = 1e-8
    with warnings.catch_warnings():
        warnings.simplefilter("error", CovarianceFloorWarning)
        ref = _fit(y, 1.0)
        got = _fit(y, s, reg_covar=1e-9 * s * s)
    _assert_scaled(got, ref, s)


def test_the_default_floor_is_silent_and_exact_on_large_units():
    y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CovarianceFloorWarning)
        ref = _fit(y, 1.0)
        got = _fit(y, 1e8)
    _assert_scaled(got, ref, 1e8)


def test_the_default_floor_on_small_units_is_named_as_the_cause():
    """At s = 1e-8 the default floor binds on Sigma_y_x; the warning says the floor is large against the
    data and quotes the data's smallest variance, so the student knows to rescale or scale reg_covar."""
    y = _data()
    s = 1e-8
    with pytest.warns(CovarianceFloorWarning) as record:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)            # a floored M step is not exact EM
            _fit(y, s)
    floors = [str(w.message) for w in record if issubclass(w.category, CovarianceFloorWarning)]
    text = floors[0]
    assert "Sigma_y_x" in text and "not small against the data" in text, text
    assert "noise-free" not in text, text
    v = np.linalg.eigvalsh(np.cov(y * s, rowvar=False, bias=True))[0]
    assert f"{v:.3g}" in text, (v, text)
