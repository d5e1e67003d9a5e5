"""Tests for the Appendix B.1 exercise checkers (pedagogy_lib.exercises.appb_calculus).

Correct answers come from the gradient checker (central differences in numerator layout), never
from the checker's closed forms.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.exercises import appb_calculus as check


def test_trace_quadratic():
    X, A = check.EX_TRACE
    fd = gradcheck(lambda X: np.trace(X @ A @ X.T), X, order=4, h=1e-3).numeric
    assert check.trace_quadratic(fd)
    r = check.trace_quadratic(X @ A.T)
    assert not r and ("one of the two terms" in str(r) or "X A^T term" in str(r))
    r = check.trace_quadratic(-fd)
    assert not r and "sign" in str(r)
    assert not check.trace_quadratic(None)


def test_logdet_gradient():
    A = check.EX_LOGDET
    fd = gradcheck(lambda A: np.linalg.slogdet(A)[1], A, order=4, h=1e-3).numeric
    assert check.logdet_gradient(fd)
    r = check.logdet_gradient(fd.T)
    assert not r and "transpose" in str(r)
    r = check.logdet_gradient(np.linalg.det(A) * fd)
    assert not r and "determinant itself" in str(r)


def test_chain_AXAt():
    A, X, G = check.EX_CHAIN
    # G is the gradient of y(F) = sum(sin F) at F = A X A^T: differentiate y(A X A^T) numerically
    fd = gradcheck(lambda X: np.sum(np.sin(A @ X @ A.T)), X, order=4, h=1e-3).numeric
    assert np.allclose(G, np.cos(A @ X @ A.T))
    assert check.chain_AXAt(fd)
    r = check.chain_AXAt(A.T @ G.T @ A)
    assert not r and "G^T" in str(r)
    r = check.chain_AXAt(G)
    assert not r and "shape of X" in str(r)


def test_the_library_routes_that_answer_in_one_call_are_forbidden_when_graded():
    """Each of these library functions answers its exercise (or does its work) in one call, so the
    graded version refuses it; the statement names it (tests/test_grading.py checks that)."""
    routes = {
        "ex-b1-logdet": [
            "pedagogy_lib.core.gradcheck.gradcheck",
            "pedagogy_lib.nn.network.numerical_gradient",
        ],
        "ex-b1-chain": [
            "pedagogy_lib.core.gradcheck.gradcheck",
            "pedagogy_lib.nn.network.numerical_gradient",
        ],
    }
    for label, names in routes.items():
        missing = set(names) - set(check.SUMMATIVE[label]["forbidden"])
        assert not missing, (label, missing)
