"""Tests for the checkers of notebook 9.1 (pedagogy_lib.exercises.ch09_ica).

References: the logistic's moments by quadrature, the Gaussian-prior likelihood written out with
scipy's normal log-density, and the kurtosis of each column of the switching exercise.
"""
from __future__ import annotations

import numpy as np
from scipy import integrate, linalg, stats

from pedagogy_lib.exercises import ch09_ica as check


def _logistic_excess_kurtosis():
    m2 = integrate.quad(lambda x: x ** 2 * stats.logistic.pdf(x), -np.inf, np.inf)[0]
    m4 = integrate.quad(lambda x: x ** 4 * stats.logistic.pdf(x), -np.inf, np.inf)[0]
    return m4 / m2 ** 2 - 3


def test_logistic_kurtosis_passes_and_fails():
    assert check.logistic_kurtosis(_logistic_excess_kurtosis())
    res = check.logistic_kurtosis(_logistic_excess_kurtosis() + 3)
    assert not res and "excess" in str(res)
    assert not check.logistic_kurtosis(None)


def _rotation_logliks():
    Y = check.EX_Y
    W = np.real(linalg.sqrtm(np.linalg.inv(Y.T @ Y / len(Y))))
    out = []
    for t in check.EX_THETAS:
        R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        D = R @ W
        out.append(stats.norm.logpdf(Y @ D.T).sum(1).mean() + np.linalg.slogdet(D)[1])
    return np.array(out)


def test_gaussian_rotation_loglik_passes_and_fails():
    ref = _rotation_logliks()
    assert np.ptp(ref) < 1e-10                 # the point of the exercise: no rotation is preferred
    assert check.gaussian_rotation_loglik(ref)
    W = np.real(linalg.sqrtm(np.linalg.inv(check.EX_Y.T @ check.EX_Y / len(check.EX_Y))))
    res = check.gaussian_rotation_loglik(ref - np.linalg.slogdet(W)[1])
    assert not res and "log-determinant" in str(res)
    assert not check.gaussian_rotation_loglik(ref[:3])


def test_switching_signs_passes_and_fails():
    kurt = stats.kurtosis(check.EX_X, axis=0)
    signs = np.sign(kurt)                       # heavy tails +1, light tails -1
    assert check.switching_signs(signs)
    res = check.switching_signs(-signs)
    assert not res and "flipped" in str(res)
