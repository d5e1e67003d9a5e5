"""Tests for the Section 10.1.2 exercise checkers (pedagogy_lib.exercises.ch10_infonce): the mutual information from
Gaussian entropies, the predictor weights from the library's Kalman filter on a long window."""
import numpy as np

from pedagogy_lib.contrastive import cpc
from pedagogy_lib.exercises import ch10_infonce


def test_gaussian_mi():
    rho = ch10_infonce.EX_RHO
    cov = np.array([[1, rho], [rho, 1]])
    I = 0.5 * np.log(1 * 1 / np.linalg.det(cov))                # H(Y) + H(Z) - H(Y, Z)
    assert ch10_infonce.gaussian_mi(I)
    r = ch10_infonce.gaussian_mi(2 * I)
    assert not r
    assert "1/2" in str(r)


def test_bound_ceiling():
    assert ch10_infonce.bound_ceiling(np.log(ch10_infonce.EX_K))
    r = ch10_infonce.bound_ceiling(np.log(ch10_infonce.EX_K - 1))
    assert not r
    assert "K - 1" in str(r)


def test_predictor_weights():
    a, q, r_ = ch10_infonce.EX_LGSSM
    p = cpc.stationary_params([[a]], [[q]], [[1.0]], [[r_]])
    beta = cpc.kalman_window_predictor(p, 60, 1).beta[0]          # a long window: steady state
    L = ch10_infonce.EX_L
    assert ch10_infonce.predictor_weights(beta[:L])
    r = ch10_infonce.predictor_weights(beta[:L] / a)
    assert not r
    assert "filter" in str(r)
