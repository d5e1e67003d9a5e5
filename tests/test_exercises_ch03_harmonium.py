"""Tests for the Section 3.1 exercise checkers (pedagogy_lib.exercises.ch03_harmonium).

Reference answers come from the library's Gray-code enumeration and free energy (a different route
from the checkers' sum over every joint state) and, for the Poisson log partition, its closed form.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.exercises import ch03_harmonium as check
from pedagogy_lib.harmonium import free_energy_visible, log_partition


def test_marginal_prob():
    p = check.EX_RBM
    y = check.EX_Y[None, :]
    ref = float(np.exp(-free_energy_visible(p, y)[0] - log_partition(p)))
    assert check.marginal_prob(ref)
    r = check.marginal_prob(float(np.exp(-free_energy_visible(p, y)[0])))
    assert not r and "normalizer" in str(r)
    r = check.marginal_prob(np.log(ref))
    assert not r and "logarithm" in str(r)
    assert not check.marginal_prob(None)


def test_poisson_log_partition():
    assert check.poisson_log_partition(lambda z: float(np.sum(np.exp(z))))
    r = check.poisson_log_partition(lambda z: np.exp(z))
    assert not r and "one value per unit" in str(r)
    r = check.poisson_log_partition(lambda z: float(np.sum(np.log1p(np.exp(z)))))
    assert not r and "Bernoulli" in str(r)
    assert not check.poisson_log_partition(3.0)


def test_log_Z():
    ref = log_partition(check.EX_RBM_Z)
    assert check.log_Z(ref)
    r = check.log_Z(np.exp(ref))
    assert not r and "logarithm" in str(r)
    r = check.log_Z(ref + 1.0)
    assert not r


def test_n_components():
    assert check.n_components(32)
    r = check.n_components(5)
    assert not r and "configuration" in str(r)
    assert not check.n_components(31)
