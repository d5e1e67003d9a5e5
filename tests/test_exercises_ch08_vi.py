"""Tests for the Section 8.4 exercise checkers (pedagogy_lib.exercises.ch08_vi): correct answers
computed here by minimizing the KL divergences numerically, or by iterating CAVI, and known slips."""
import numpy as np
from scipy.optimize import minimize

from pedagogy_lib.exercises import ch08_vi as check
from pedagogy_lib.vi.mean_field import cavi_gaussian, kl_gaussian


def _argmin_variances(kl):
    z = minimize(kl, np.zeros(3), method="BFGS", options={"gtol": 1e-11}).x
    return np.exp(z)


def test_mean_field_variances():
    Sigma = np.linalg.inv(check.EX_LAMBDA)
    v = _argmin_variances(lambda z: kl_gaussian(np.zeros(3), np.diag(np.exp(z)), np.zeros(3), Sigma))
    np.testing.assert_allclose(v, 1 / np.diag(check.EX_LAMBDA), rtol=1e-5)
    assert check.mean_field_variances(1 / np.diag(check.EX_LAMBDA))
    r = check.mean_field_variances(np.diag(Sigma))
    assert not r and "other direction" in str(r)
    r = check.mean_field_variances(np.diag(check.EX_LAMBDA))
    assert not r and "without inverting" in str(r)
    assert not check.mean_field_variances(None)


def test_forward_kl_variances():
    S = check.EX_SIGMA
    v = _argmin_variances(lambda z: kl_gaussian(np.zeros(3), S, np.zeros(3), np.diag(np.exp(z))))
    assert check.forward_kl_variances(v.tolist())
    r = check.forward_kl_variances(1 / np.diag(np.linalg.inv(S)))
    assert not r and "mean-field" in str(r)
    assert not check.forward_kl_variances([1.0, 1.0, 1.0])


def test_cavi_sweeps():
    rho = check.EX_RHO
    Lam = np.linalg.inv(np.array([[1.0, rho], [rho, 1.0]]))
    path = cavi_gaussian(np.zeros(2), Lam, np.array([1.0, 1.0]), 200)
    err = np.abs(path[2::2, 1])                       # after sweeps 1, 2, ...
    k = int(np.argmax(err <= 1e-6 * err[0]))          # sweeps after the first until 1e-6 of it
    assert check.cavi_sweeps(k)
    assert check.cavi_sweeps(float(k))
    r = check.cavi_sweeps(int(np.ceil(np.log(1e-6) / np.log(rho))))
    assert not r and "factor rho per sweep" in str(r)
    assert not check.cavi_sweeps(k - 1)
    assert not check.cavi_sweeps(3.5)
