"""Tests for the Section 10.2.4 exercise checkers (pedagogy_lib.exercises.ch10_dynamical).

References come from pedagogy_lib.harmonium (the conditional RBM's exact marginal through the
Gray-code enumeration), a different route from the checkers' explicit joint tables.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.exercises import ch10_dynamical as check
from pedagogy_lib.harmonium import EFHParams, state_index, visible_log_probs


def test_conditional_bias():
    p = check.EX_REFH
    c = p.b_x + p.W[:, 4:] @ check.EX_R
    assert check.conditional_bias(c)
    r = check.conditional_bias(p.W[:, 4:] @ check.EX_R)
    assert not r and "b_x" in str(r)


def test_predictive_log_prob():
    p = check.EX_REFH
    cond = EFHParams(p.W[:, :4], p.b_x + p.W[:, 4:] @ check.EX_R, p.b_y[:4])
    ref = visible_log_probs(cond)[state_index(check.EX_YT[None])[0]]
    assert check.predictive_log_prob(ref)
    r = check.predictive_log_prob(np.exp(ref))
    assert not r and "logarithm" in str(r)


def test_n_world_states():
    assert check.n_world_states(20)
    r = check.n_world_states(10)
    assert not r and "direction" in str(r)


def test_passes_full_posterior():
    assert check.passes_full_posterior(False)
    assert not check.passes_full_posterior(True)


def test_conditional_bias_names_the_first_K_columns_for_what_they_are():
    # the hint's slice takes K columns of W (W_y's first K; W_y itself has M columns and cannot multiply
    # r_t), so its message must say so rather than call them "the first M columns"
    p, K = check.EX_REFH, check.EX_REFH.W.shape[0]
    r = check.conditional_bias(p.b_x + p.W[:, :K] @ check.EX_R)
    assert not r and "first K columns" in str(r) and "first M columns" not in str(r), str(r)
