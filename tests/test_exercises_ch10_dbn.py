"""Tests for the Section 10.2.3 exercise checkers (pedagogy_lib.exercises.ch10_dbn).

References come from pedagogy_lib.harmonium.dbn (aggregated_posterior, jre_bound,
dbn_visible_log_probs), a different route from the checkers' explicit joint tables.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.exercises import ch10_dbn as check
from pedagogy_lib.harmonium import aggregated_posterior, dbn_visible_log_probs, invert, jre_bound, state_index


def test_aggregated():
    ref = aggregated_posterior(check.EX_RBM, check.EX_PY)
    assert check.aggregated(ref)
    r = check.aggregated(np.full(4, 0.25))
    assert not r
    assert not check.aggregated(None)


def test_tight_bound():
    ref = jre_bound(check.EX_RBM, invert(check.EX_RBM), check.EX_PY)
    assert check.tight_bound(ref)
    r = check.tight_bound(-ref)
    assert not r and "negative" in str(r)


def test_dbn_marginal():
    logp = dbn_visible_log_probs([check.EX_RBM, check.EX_TOP])
    ref = float(np.exp(logp[state_index(check.EX_Y0[None])[0]]))
    assert check.dbn_marginal(ref)
    assert not check.dbn_marginal(ref * 1.5)


def test_stacking_stalls():
    assert check.stacking_stalls(True)
    assert not check.stacking_stalls(False)
