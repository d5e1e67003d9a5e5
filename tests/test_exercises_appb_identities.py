"""Tests for the Appendix B.3 exercise checkers (pedagogy_lib.exercises.appb_identities).

Correct answers come from the identities themselves (Eqs. B.14 and B.15, written out here); the checker
compares against direct inverses.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.exercises import appb_identities as check


def test_sherman_morrison():
    Ai, u, v = check.EX_SM
    good = Ai - np.outer(Ai @ u, v @ Ai) / (1 + v @ Ai @ u)
    assert check.sherman_morrison(good)
    r = check.sherman_morrison(Ai + np.outer(Ai @ u, v @ Ai) / (1 + v @ Ai @ u))
    assert not r and "instead of subtracting" in str(r)
    assert not check.sherman_morrison(None)


def test_woodbury():
    a, U, C, V = check.EX_WOODBURY
    Ai = np.diag(1 / a)
    good = Ai - Ai @ U @ np.linalg.inv(np.linalg.inv(C) + V @ Ai @ U) @ V @ Ai
    assert check.woodbury(good)
    r = check.woodbury(Ai - Ai @ U @ np.linalg.inv(C + V @ Ai @ U) @ V @ Ai)
    assert not r and "C^{-1}" in str(r)


def test_woodbury_shapes():
    assert check.woodbury_shapes(False)
    assert not check.woodbury_shapes(True)
