"""Tests for the Section 10.1.3 exercise checkers (pedagogy_lib.exercises.ch10_local_nce): the one-positive mass by
enumerating the independent coins, the minimizer by a grid search."""
import itertools

import numpy as np

from pedagogy_lib.exercises import ch10_local_nce


def test_offset():
    assert ch10_local_nce.offset(np.log(ch10_local_nce.EX_K - 1))
    r = ch10_local_nce.offset(np.log(ch10_local_nce.EX_K))
    assert not r
    assert "log K" in str(r)


def test_one_positive_mass():
    s = 1 / (1 + np.exp(-ch10_local_nce.EX_H))
    total = 0.0
    for bits in itertools.product([0, 1], repeat=len(s)):     # enumerate the independent coins
        if sum(bits) == 1:
            total += np.prod([si if b else 1 - si for si, b in zip(s, bits)])
    assert ch10_local_nce.one_positive_mass(total)
    r = ch10_local_nce.one_positive_mass(1.0)
    assert not r
    assert "softmax" in str(r)


def test_pointwise_minimizer():
    p, pn, K = ch10_local_nce.EX_P
    hs = np.linspace(-5, 5, 200001)
    risk = p * np.logaddexp(0, -hs) + (K - 1) * pn * np.logaddexp(0, hs)
    best = hs[np.argmin(risk)]
    assert ch10_local_nce.pointwise_minimizer(np.log(p / pn) - np.log(K - 1))
    assert abs(best - (np.log(p / pn) - np.log(K - 1))) < 1e-4
    r = ch10_local_nce.pointwise_minimizer(np.log(p / pn))
    assert not r
    assert "binary NCE" in str(r)
