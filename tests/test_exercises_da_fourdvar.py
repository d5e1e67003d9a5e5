"""Checkers of the data-assimilation notebook 4 (pedagogy_lib.exercises.da_fourdvar).

The right answers come from the library's RTS smoother and its exact strong-constraint 4DVar,
which are tested against dense oracles in tests/test_assimilation_fourdvar.py.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib import assimilation as da
from pedagogy_lib.exercises import da_fourdvar as check
from pedagogy_lib.lgssm import LGSSMParams, kalman_smoother


def _params():
    p = check.EX_WINDOW
    return LGSSMParams(p.mu1, p.Sigma1, p.A, None, np.zeros(2), p.Q, p.C, np.zeros(1), p.R)


def test_strong_gradient():
    mod = da.from_lgssm(_params())
    y = check.EX_WINDOW.y
    assert check.strong_gradient(lambda x1: da.strong_cost_grad(mod, x1, y)[1])
    assert not check.strong_gradient(lambda x1: -da.strong_cost_grad(mod, x1, y)[1])
    assert not check.strong_gradient(None)


def test_weak_minimizer():
    ks = kalman_smoother(_params(), check.EX_WINDOW.y)
    assert check.weak_minimizer(ks.mu_smooth)
    strong = da.strong_4dvar(da.from_lgssm(_params())._replace(Sigma_x=np.zeros((2, 2))), check.EX_WINDOW.y,
                             method="exact")
    r = check.weak_minimizer(strong.mean)
    assert not r and "strong-constraint" in str(r)
    assert not check.weak_minimizer(ks.mu_filt)


def test_strong_equals_smoother():
    assert check.strong_equals_smoother(False)
    assert not check.strong_equals_smoother(True)
