"""Tests for the checkers of notebook 5.2.1 (pedagogy_lib.exercises.ch05_infomax).

References: finite differences of the objective, hand-computed Amari indices, and the
simulations of tests/test_infomax.py (Laplace and logistic separate, uniform does not).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pedagogy_lib.exercises import ch05_infomax as check
from pedagogy_lib.core.gradcheck import gradcheck


def _J(D, Y):
    return np.mean(stats.logistic.logpdf(Y @ D.T).sum(1)) + np.log(abs(np.linalg.det(D)))


def _fd_gradient():
    Y, D = check.EX_GRAD
    return gradcheck(lambda D_: _J(D_, Y), D).numeric


# ---------------------------------------------------------------- exercise 1
def test_gradient_correct_passes():
    res = check.gradient(_fd_gradient())       # FD accuracy ~1e-9, within rtol 1e-6
    assert res and "correct" in str(res)


def test_gradient_wrong_answers_fail_with_hints():
    Y, D = check.EX_GRAD
    G = _fd_gradient()
    DinvT = np.linalg.inv(D).T
    inner = G - DinvT
    cases = [
        (inner.T + DinvT, "transposed"),
        (inner, "log-determinant"),
        (inner + np.linalg.inv(D), "D^{-1}"),
        (-G, "gradient of the loss"),
        (G + 0.01, "not within tolerance"),
    ]
    for answer, fragment in cases:
        res = check.gradient(answer)
        assert not res and fragment in str(res), (fragment, str(res))


def test_gradient_none_fails_gracefully():
    res = check.gradient(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 2
def _rhs(transposed=False):
    Y, D = check.EX_FIXED
    T = np.tanh(Y @ D.T / 2)
    M = T.T @ Y / len(Y) if transposed else Y.T @ T / len(Y)
    return np.linalg.inv(M)


def test_fixed_point_correct_passes():
    assert check.fixed_point(_rhs())


def test_fixed_point_draft_form_gets_its_hint():
    res = check.fixed_point(_rhs(transposed=True))
    assert not res and "draft's form" in str(res)


def test_fixed_point_other_wrong_answers():
    Y, D = check.EX_FIXED
    res = check.fixed_point(np.linalg.inv(Y.T @ np.tanh(Y @ D.T) / len(Y)))
    assert not res and "factor 1/2" in str(res)
    res = check.fixed_point(np.linalg.inv(_rhs()))
    assert not res and "without inverting" in str(res)
    assert not check.fixed_point(None)


# ---------------------------------------------------------------- exercise 3
def _amari(P):
    P = np.abs(P)
    K = len(P)
    return ((P.sum(1) / P.max(1) - 1).sum() + (P.sum(0) / P.max(0) - 1).sum()) / (2 * K * (K - 1))


def test_amari_hand_values():
    # hand: [[1, .1], [.3, 1]] -> rows .1 + .3, cols .3 + .1 -> 0.8 / 4 = 0.2
    assert _amari(check.AMARI_CASES[1]) == pytest.approx(0.2)
    assert _amari(check.AMARI_CASES[0]) == 0.0
    assert _amari(check.AMARI_CASES[2]) == pytest.approx(1.0)


def test_amari_correct_passes():
    assert check.amari(_amari)


def test_amari_wrong_functions_fail():
    res = check.amari(lambda P: _amari(P) * 2)
    assert not res and "not within tolerance" in str(res)
    res = check.amari(lambda P: (np.abs(P).sum(1) / np.abs(P).max(1) - 1).sum() / (len(P) * (len(P) - 1)))
    assert not res
    res = check.amari(lambda P: 1 / 0)
    assert not res and "ZeroDivisionError" in str(res)
    res = check.amari(None)
    assert not res and "should be a function" in str(res)


def test_amari_sign_sensitive_function_fails():
    def no_abs(P):                     # right on the non-negative cases, wrong with negative entries
        P = np.asarray(P, float)
        K = len(P)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ((P.sum(1) / P.max(1) - 1).sum() + (P.sum(0) / P.max(0) - 1).sum()) / (2 * K * (K - 1))
    assert not check.amari(no_abs)


# ---------------------------------------------------------------- exercise 4
def test_separable_sources():
    assert check.separable_sources({"laplace": True, "logistic": True, "uniform": False})
    res = check.separable_sources({"laplace": True, "logistic": True, "uniform": True})
    assert not res and "'uniform'" in str(res) and "kurtosis" in str(res)
    res = check.separable_sources({"laplace": True})
    assert not res and "missing" in str(res)
    res = check.separable_sources(None)
    assert not res and "dict" in str(res)
