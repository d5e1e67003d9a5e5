"""Tests for the Section 8.4.2 exercise checkers (pedagogy_lib.exercises.ch08_bbvi): the variance by
quadrature of Gaussian moments, the coefficient by least squares, the optimum by a grid search."""
import numpy as np

from pedagogy_lib.exercises import ch08_bbvi as check


def test_sf_variance():
    mu = check.EX_MU
    z, w = np.polynomial.hermite_e.hermegauss(40)       # E over N(0, 1) by Gauss-Hermite
    w = w / w.sum()
    v = (z + mu - mu) * (z + mu) ** 2
    var = float(w @ v ** 2 - (w @ v) ** 2)
    assert check.sf_variance(var)
    r = check.sf_variance(float(w @ v ** 2))
    assert not r and "second moment" in str(r)
    assert not check.sf_variance(4.0)


def test_cv_coefficient():
    g, h = check.EX_SAMPLES
    X = np.column_stack([np.ones_like(h), h])
    a = np.linalg.lstsq(X, g, rcond=None)[0][1]          # regression slope = Cov / Var
    assert check.cv_coefficient(a)
    r = check.cv_coefficient(float(np.corrcoef(g, h)[0, 1]))
    assert not r and "correlation" in str(r)


def test_naive_optimum():
    from scipy.optimize import minimize_scalar
    best = minimize_scalar(lambda l: -(check.EX_X * l ** 2 + np.log(l)), bounds=(0.01, 3), method="bounded",
                           options={"xatol": 1e-10}).x
    assert check.naive_optimum(best)
    r = check.naive_optimum(0.25)
    assert not r and "square root" in str(r)
    assert not check.naive_optimum(-0.5)
