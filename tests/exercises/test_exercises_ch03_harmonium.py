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


def _binomial_B_by_enumeration(zeta):
    """log of the sum over all 4^M visible states of prod_j C(3, y_j) exp(zeta_j y_j), state by state."""
    from itertools import product
    from math import comb

    return float(np.log(sum(np.prod([comb(3, c) for c in y]) * np.exp(np.dot(zeta, y))
                            for y in product(range(4), repeat=len(zeta)))))


def test_binomial_log_partition():
    right = lambda z: float(3 * np.sum(np.logaddexp(0, z)))
    for zeta in (np.array([0.3]), np.array([0.5, -1.0]), np.array([1.3, -0.2, 0.7])):
        np.testing.assert_allclose(right(zeta), _binomial_B_by_enumeration(zeta), rtol=1e-12)
    assert check.binomial_log_partition(right)
    r = check.binomial_log_partition(lambda z: 3 * np.logaddexp(0, z))
    assert not r and "one value per unit" in str(r)
    r = check.binomial_log_partition(lambda z: float(np.sum(np.log1p(np.exp(z)))))
    assert not r and "Bernoulli" in str(r)
    r = check.binomial_log_partition(lambda z: float(np.sum([np.logaddexp.reduce(v * np.arange(4)) for v in z])))
    assert not r and "base measure" in str(r)
    assert not check.binomial_log_partition(3.0)


def test_binomial_log_partition_the_pages_poisson_answer_does_not_pass():
    """The page states B(zeta) = sum_j e^zeta_j for Poisson units: that is not the answer here."""
    r = check.binomial_log_partition(lambda z: float(np.sum(np.exp(z))))
    assert not r and "Poisson" in str(r)


def test_log_Z():
    ref = log_partition(check.EX_RBM_Z)
    assert check.log_Z(ref)
    r = check.log_Z(np.exp(ref))
    assert not r and "logarithm" in str(r)
    r = check.log_Z(ref + 1.0)
    assert not r


def test_n_components():
    """Distinct means by brute force over the 16 configurations: 10, not 2^4 = 16 or the page's 2^K."""
    W = check.EX_W_MIX
    means = {tuple(np.array(x) @ W) for x in __import__("itertools").product((0.0, 1.0), repeat=4)}
    assert len(means) == 10
    assert check.n_components(10)
    r = check.n_components(16)
    assert not r and "same mean" in str(r)
    r = check.n_components(4)
    assert not r and "configuration" in str(r)
    assert not check.n_components(32)
    assert not check.n_components(9)
