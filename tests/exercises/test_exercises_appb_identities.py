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
    # Oracle: every way of splitting each term U_i C_i V_i into M_i N_i at a factor boundary, the two splits
    # put side by side (M = [M_1 M_2], N = [N_1; N_2]), each checked against the dense inverse of
    # A + U_1 C_1 V_1 + U_2 C_2 V_2; the smallest (I + N M) that reproduces it is the answer, and the rank of
    # the update shows no other factorization can be smaller.
    import itertools
    n = check.EX_SIZES["n"]
    km = [(check.EX_SIZES["k1"], check.EX_SIZES["m1"]), (check.EX_SIZES["k2"], check.EX_SIZES["m2"])]
    rng = np.random.default_rng(0)
    a = rng.uniform(1, 2, n)
    terms = [(rng.standard_normal((n, k)), rng.standard_normal((k, m)), rng.standard_normal((m, n))) for k, m in km]
    Ai = np.diag(1 / a)
    update = sum(U @ C @ V for U, C, V in terms)
    dense = np.linalg.inv(np.diag(a) + update)
    splits = [[(Ai, U @ C @ V), (Ai @ U, C @ V), (Ai @ U @ C, V)] for U, C, V in terms]
    sizes = {}
    for (M1, N1), (M2, N2) in itertools.product(*splits):
        M, N = np.hstack([M1, M2]), np.vstack([N1, N2])
        small = np.eye(N.shape[0]) + N @ M
        pushed = (np.eye(n) - M @ np.linalg.inv(small) @ N) @ Ai
        np.testing.assert_allclose(pushed, dense, rtol=1e-8, atol=1e-10)
        sizes[small.shape] = (M1.shape[1], M2.shape[1])
    best = min(sizes)
    assert best == (3, 3) and np.linalg.matrix_rank(update) == best[0]
    assert check.woodbury_shapes(best)
    assert check.woodbury_shapes(list(best))
    (k1, m1), (k2, m2) = km
    # the page's grouping (C_i with V_i) for both terms, C_i with U_i for both, and the worse mixed one:
    # all valid, none the smallest
    for wrong in (k1 + k2, m1 + m2, k1 + m2):
        assert (wrong, wrong) in sizes and wrong != best[0]
        r = check.woodbury_shapes((wrong, wrong))
        assert not r and "not the smallest" in str(r), str(r)
    for one_term in (min(k1, m1), min(k2, m2)):      # the single-term answer min(k, m): the message does not
        r = check.woodbury_shapes((one_term, one_term))   # say which term it fits, nor which way the miss is
        assert not r and "no way of writing" in str(r) and "term" not in str(r), str(r)
    r = check.woodbury_shapes((n, n))
    assert not r and "avoids" in str(r)
    r = check.woodbury_shapes((k1, m1))
    assert not r and "not square" in str(r)
    for guess in (True, False, None, "abc", "33", (3, 3, 3), (4, 4)):
        assert not check.woodbury_shapes(guess)
