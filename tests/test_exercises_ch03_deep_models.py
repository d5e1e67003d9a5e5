"""Tests for the Sections 3.2-3.4 exercise checkers (pedagogy_lib.exercises.ch03_deep_models).

References come from the library (invert, helmholtz_log_likelihood, recurrent_inputs), a different
route from the checkers' explicit loops.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.exercises import ch03_deep_models as check
from pedagogy_lib.harmonium import dbn_visible_log_probs, invert, visible_log_probs
from pedagogy_lib.harmonium import helmholtz as hh
from pedagogy_lib.harmonium import recurrent as rec


def test_inverted():
    inv = invert(check.EX_RBM)
    assert check.inverted(inv)
    np.testing.assert_allclose(dbn_visible_log_probs([check.EX_RBM, inv]), visible_log_probs(check.EX_RBM), atol=1e-12)
    r = check.inverted(check.EX_RBM._replace(W=check.EX_RBM.W.T))
    assert not r and "swap" in str(r)
    assert not check.inverted(check.EX_RBM)
    assert not check.inverted(None)


def test_helmholtz_log_prob():
    ref = hh.helmholtz_log_likelihood(check.EX_HM, check.EX_Y[None, :])
    assert check.helmholtz_log_prob(ref)
    r = check.helmholtz_log_prob(np.exp(ref))
    assert not r and "logarithm" in str(r)


def test_recurrent_input():
    r = rec.recurrent_inputs(check.EX_REFH, check.EX_SEQ[None])[0]
    assert check.recurrent_input(r[2])
    res = check.recurrent_input(r[3])
    assert not res and "r_4" in str(res)


def test_dbn_posterior_factorial():
    assert check.dbn_posterior_factorial(False)
    assert not check.dbn_posterior_factorial(True)
