"""Tests for the Appendix B.3 exercise checkers (pedagogy_lib.exercises.appb_identities).

Correct answers come from the identities themselves (Eqs. B.14 and B.15, written out here); the checker
compares against direct inverses.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.exercises import appb_identities as check


def _sm(Ai, u, v, one=1.0):
    return Ai - np.outer(Ai @ u, v @ Ai) / (one + v @ Ai @ u)


def test_sherman_morrison_two_updates():
    Ai, u, v = check.EX_SM
    assert u.shape == v.shape == (2, 4)
    good = _sm(_sm(Ai, u[0], v[0]), u[1], v[1])
    assert check.sherman_morrison(good)
    r = check.sherman_morrison(_sm(Ai, u[0], v[0]))                  # the page's single update
    assert not r and "only one" in str(r)
    r = check.sherman_morrison(_sm(Ai, u[0], v[0]) + _sm(Ai, u[1], v[1]) - Ai)
    assert not r and "from A^{-1}" in str(r)
    assert not check.sherman_morrison(None)


def test_sherman_morrison_names_the_denominator_slip_help_promises():
    Ai, u, v = check.EX_SM
    minus = Ai
    for ui, vi in zip(u, v):
        minus = minus - np.outer(minus @ ui, vi @ minus) / (1 - vi @ minus @ ui)
    r = check.sherman_morrison(minus)
    assert not r and "1 - v^T" in str(r)


def test_the_inverse_exercises_forbid_the_direct_routes():
    for label in ("ex-b3-sherman-morrison", "ex-b3-woodbury"):
        forbidden = set(check.SUMMATIVE[label]["forbidden"])
        assert {"numpy.linalg.inv", "numpy.linalg.tensorinv", "numpy.linalg.lstsq", "scipy.linalg.lu_solve"} <= forbidden


def test_woodbury():
    a, U, C, V = check.EX_WOODBURY
    Ai = np.diag(1 / a)
    good = Ai - Ai @ U @ np.linalg.inv(np.linalg.inv(C) + V @ Ai @ U) @ V @ Ai
    assert check.woodbury(good)
    r = check.woodbury(Ai - Ai @ U @ np.linalg.inv(C + V @ Ai @ U) @ V @ Ai)
    assert not r and "C^{-1}" in str(r)


def test_woodbury_shapes_is_the_smallest_push_through_inverse():
    # Oracle: every split of A^{-1} U C V into M N at a factor boundary, each checked against the dense inverse
    # of A + U C V; the smallest (I + N M) that reproduces it is the answer, and the rank of U C V shows no
    # other factorization can be smaller.
    n, k, m = check.EX_SIZES["n"], check.EX_SIZES["k"], check.EX_SIZES["m"]
    assert k != m
    rng = np.random.default_rng(0)
    a = rng.uniform(1, 2, n)
    U, C, V = rng.standard_normal((n, k)), rng.standard_normal((k, m)), rng.standard_normal((m, n))
    Ai = np.diag(1 / a)
    dense = np.linalg.inv(np.diag(a) + U @ C @ V)
    inner = []
    for M, N in ((Ai, U @ C @ V), (Ai @ U, C @ V), (Ai @ U @ C, V)):
        small = np.eye(N.shape[0]) + N @ M
        pushed = (np.eye(n) - M @ np.linalg.inv(small) @ N) @ Ai
        np.testing.assert_allclose(pushed, dense, rtol=1e-8, atol=1e-10)
        inner.append(small.shape)
    best = min(inner)
    assert np.linalg.matrix_rank(U @ C @ V) == best[0]
    assert check.woodbury_shapes(best)
    assert check.woodbury_shapes(list(best))
    r = check.woodbury_shapes((max(k, m), max(k, m)))  # the page's grouping: valid, not the smallest
    assert not r and "not the smallest" in str(r)
    r = check.woodbury_shapes((n, n))
    assert not r and "avoids" in str(r)
    r = check.woodbury_shapes((k, m))
    assert not r and "shape of C" in str(r)
    for guess in (True, False, None, "abc", "22", (2, 2, 2)):
        assert not check.woodbury_shapes(guess)
