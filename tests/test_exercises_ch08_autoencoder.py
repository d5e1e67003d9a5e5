"""Tests for the Section 8.2 exercise checkers (pedagogy_lib.exercises.ch08_autoencoder): information
quantities from scipy's entropies, the active dimensions from the maximum-likelihood PPCA fit."""
import numpy as np
from scipy import stats

from pedagogy_lib.exercises import ch08_autoencoder as check


def _joint():
    return check.EX_P_Y[:, None] * check.EX_Q


def test_mutual_information():
    J = _joint()
    mi = stats.entropy(J.sum(0)) + stats.entropy(J.sum(1)) - stats.entropy(J.ravel())
    assert check.mutual_information(mi)
    r = check.mutual_information(mi / np.log(2))
    assert not r and "bits" in str(r)
    assert not check.mutual_information(stats.entropy(J.sum(0)))


def test_aggregate_kl():
    agg = _joint().sum(0)
    assert check.aggregate_kl(stats.entropy(agg, check.EX_P_X))
    r = check.aggregate_kl(stats.entropy(check.EX_P_X, agg))
    assert not r and "reversed" in str(r)


def test_active_dimensions():
    from scipy.optimize import minimize_scalar
    # along eigen-direction i the Gaussian log likelihood with loading c and noise variance alpha is
    # -(log(c^2 + alpha) + lambda_i / (c^2 + alpha)) / 2; maximize it numerically over c^2 >= 0
    a = check.EX_ALPHA
    c2 = [minimize_scalar(lambda t: np.log(t + a) + lam / (t + a), bounds=(0, 20), method="bounded",
                          options={"xatol": 1e-10}).x for lam in check.EX_EIGS]
    active = int(np.sum(np.array(c2) > 1e-4))
    assert check.active_dimensions(active)
    r = check.active_dimensions(check.EX_EIGS.size - active)
    assert not r and "collapsed" in str(r)
    assert not check.active_dimensions(check.EX_EIGS.size)
