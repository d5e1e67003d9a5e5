"""Tests for the Section 8.2.1 exercise checkers (pedagogy_lib.exercises.ch08_estimators): references by
Gauss-Hermite and Gauss-Laguerre quadrature."""
import numpy as np

from pedagogy_lib.exercises import ch08_estimators as check


def _sf_variance(mu, K):
    """Var[(z_1 + R)(mu + z_1)^2] with R ~ N(0, K - 1), by quadrature over z_1 and r = R / sqrt(K - 1)."""
    z, w = np.polynomial.hermite_e.hermegauss(30)
    w = w / w.sum()
    Z1, R = np.meshgrid(z, z, indexing="ij")
    W = np.outer(w, w)
    g = (Z1 + np.sqrt(K - 1) * R) * (mu + Z1) ** 2
    return np.sum(W * g * g) - np.sum(W * g) ** 2, W, Z1, R


def test_variance_slope():
    mu = check.EX_MU
    slope = _sf_variance(mu, 3)[0] - _sf_variance(mu, 2)[0]
    assert check.variance_slope(slope)
    r = check.variance_slope(_sf_variance(mu, 1)[0])
    assert not r and "K = 1" in str(r)


def test_best_baseline():
    mu, K = check.EX_MU, check.EX_K
    _, W, Z1, R = _sf_variance(mu, K)
    s = Z1 + np.sqrt(K - 1) * R
    f = (mu + Z1) ** 2
    beta = np.sum(W * s * s * f) / np.sum(W * s * s)      # least squares of s f on s
    assert check.best_baseline(beta)
    r = check.best_baseline(mu ** 2 + 1)
    assert not r and "E[f]" in str(r)


def test_expo_pathwise_variance():
    lam = check.EX_LAM
    u, w = np.polynomial.laguerre.laggauss(30)
    g = -2 * (u / lam) ** 2 / lam
    assert check.expo_pathwise_variance(np.sum(w * g * g) - np.sum(w * g) ** 2)
    r = check.expo_pathwise_variance(np.sum(w * g * g))
    assert not r and "second moment" in str(r)
