"""Tests for the checkers of notebook 9.0.1 (pedagogy_lib.exercises.ch09_duality).

References: scipy's normal and logistic densities, the entropy of the squashed outputs by
quadrature over the unit interval, and the optimal gain by minimizing the relative entropy.
"""
from __future__ import annotations

import numpy as np
from scipy import integrate, optimize, special, stats

from pedagogy_lib.exercises import ch09_duality as check


def _pz(z, a):
    x = special.logit(z)
    y = x / a
    return stats.norm.pdf(y, scale=check.EX_SIGMA) / (stats.logistic.pdf(x) * a)


def test_z_density_passes_and_fails():
    ref = _pz(check.EX_Z, check.EX_A)
    assert check.z_density(ref)
    res = check.z_density(ref * check.EX_A)             # Jacobian left out
    assert not res and "Jacobian" in str(res)
    assert not check.z_density(1 / ref)
    assert not check.z_density(None)
    assert not check.z_density(ref[:3])


def _neg_entropy_z(a):
    # -H[Z] by quadrature over the unit interval (an independent route to the relative entropy)
    def f(z):
        p = _pz(z, a)
        return p * np.log(p) if p > 0 else 0.0
    return integrate.quad(f, 0, 1, limit=200, epsabs=1e-12)[0]


def test_kl_at_gain_passes_and_fails():
    ref = _neg_entropy_z(check.EX_A)
    assert check.kl_at_gain(ref)
    res = check.kl_at_gain(-ref)
    assert not res and "entropy" in str(res)
    res = check.kl_at_gain(ref + np.log(check.EX_A))
    assert not res and "log-determinant" in str(res)


def _best_gain():
    def kl(a):
        f = lambda y: stats.norm.pdf(y, scale=check.EX_SIGMA) * (        # noqa: E731
            stats.norm.logpdf(y, scale=check.EX_SIGMA) - stats.logistic.logpdf(a * y) - np.log(a))
        return integrate.quad(f, -np.inf, np.inf)[0]
    return optimize.minimize_scalar(kl, bounds=(0.1, 3.0), method="bounded",
                                    options={"xatol": 1e-9}).x


def test_best_gain_passes_and_fails():
    a = _best_gain()
    assert check.best_gain(a)
    assert check.best_gain(-a)                         # the mirror-image maximum
    res = check.best_gain(a * check.EX_SIGMA)          # the unit-variance optimum
    assert not res and "unit-variance" in str(res)
    assert not check.best_gain(1 / check.EX_SIGMA)
    assert not check.best_gain("abc")
