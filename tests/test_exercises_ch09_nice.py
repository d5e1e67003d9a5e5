"""Tests for the checkers of notebook 9.2 (pedagogy_lib.exercises.ch09_nice).

References: the flow's log-determinant and inverse from pedagogy_lib.deepgen.nice-independent
reasoning (sums and a root-find), and one leapfrog step integrated with the samplers' leapfrog.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize

from pedagogy_lib.exercises import ch09_nice as check
from pedagogy_lib.samplers import mcmc, targets


def test_log_det_passes_and_fails():
    assert check.log_det(np.log(np.prod(np.exp(check.EX_SIGMA))))
    res = check.log_det(np.exp(check.EX_SIGMA.sum()))
    assert not res and "exponentiated" in str(res)
    assert not check.log_det(None)


def test_invert_coupling_passes_and_fails():
    a, b = check.EX_OUT
    # solve x2 + m(x1) = b with x1 = a by root finding, not by the closed form
    x2 = optimize.brentq(lambda v: v + check.coupling_m(a) - b, -10, 10, xtol=1e-14)
    assert check.invert_coupling([a, x2])
    res = check.invert_coupling([a, b + check.coupling_m(a)])
    assert not res and "added" in str(res)


def test_leapfrog_matrix_passes_and_fails():
    target = targets.gaussian_target(np.zeros(1), np.eye(1))     # U = x^2 / 2
    cols = []
    for e in np.eye(2):
        x, p = mcmc.leapfrog(target, e[None, :1], e[None, 1:], check.EX_EPS, 1)
        cols.append([x[0, 0], p[0, 0]])
    M = np.array(cols).T                                       # linear map: columns are images of the basis
    assert abs(np.linalg.det(M) - 1) < 1e-12
    assert check.leapfrog_matrix(M)
    res = check.leapfrog_matrix(M.T)
    assert not res
