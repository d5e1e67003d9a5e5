"""Tests for the Appendix B.1 exercise checkers (pedagogy_lib.exercises.appb_calculus).

Correct answers come from the gradient checker (central differences in numerator layout), never
from the checker's closed forms.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.exercises import appb_calculus as check


def test_trace_quadratic():
    X, A, L = check.EX_TRACE
    fd = gradcheck(lambda X: np.trace(L @ X @ A @ X), X, order=4, h=1e-3).numeric
    assert check.trace_quadratic(fd)
    first = gradcheck(lambda Z: np.trace(L @ Z @ A @ X), X, order=4, h=1e-3).numeric   # the first X alone
    r = check.trace_quadratic(first)
    assert not r and "only the term of the first X" in str(r)
    r = check.trace_quadratic(fd.T)                    # the other layout
    assert not r and "other layout" in str(r)
    r = check.trace_quadratic(-fd)
    assert not r and "sign" in str(r)
    assert not check.trace_quadratic(None)


def test_trace_is_asked_for_a_case_the_page_does_not_state():
    """The page's chain rule gives d tr(L X A X^T)/dX = L^T X A^T + L X A (its formula for y(X A X^T) with
    G = L^T): the exercise asks for tr(L X A X), where neither X is transposed, so that formula is a named
    slip; leaving L out is another."""
    X, A, L = check.EX_TRACE
    assert not np.allclose(L, L.T) and not np.allclose(A, A.T) and not np.allclose(X, X.T)
    page = gradcheck(lambda Z: np.trace(L @ Z @ A @ Z.T), X, order=4, h=1e-3).numeric
    r = check.trace_quadratic(page)
    assert not r and "second X is transposed" in str(r)
    r = check.trace_quadratic(gradcheck(lambda Z: np.trace(Z @ A @ Z), X, order=4, h=1e-3).numeric)
    assert not r and "left L out" in str(r)


def test_logdet_gradient():
    A, B = check.EX_LOGDET
    fd = gradcheck(lambda A: np.linalg.slogdet(B @ A @ B.T)[1], A, order=4, h=1e-3).numeric
    assert check.logdet_gradient(fd)
    r = check.logdet_gradient(np.linalg.inv(A).T)     # the page's identity, log|A| alone
    assert not r and "log|A|" in str(r)
    r = check.logdet_gradient(fd.T)
    assert not r and "layout" in str(r)
    assert "transpose" not in str(r)                   # points at what to recheck, does not fix it
    r = check.logdet_gradient(np.linalg.det(B @ A @ B.T) * fd)
    assert not r and "not its log" in str(r)
    r = check.logdet_gradient(np.eye(2))
    assert not r and "shape of A" in str(r)


def test_chain_similarity():
    A, X, G = check.EX_CHAIN
    # G is the gradient of y(F) = sum(sin F) at F = X A X^{-1}: differentiate y(X A X^{-1}) numerically
    y = lambda Z: np.sum(np.sin(Z @ A @ np.linalg.inv(Z)))  # noqa: E731
    fd = gradcheck(y, X, order=4, h=1e-3).numeric
    assert np.allclose(G, np.cos(X @ A @ np.linalg.inv(X)))
    assert check.chain_similarity(fd)
    first = gradcheck(lambda Z: np.sum(G * (Z @ A @ np.linalg.inv(X))), X, order=4, h=1e-3).numeric
    r = check.chain_similarity(first)                  # the term of X alone, X^{-1} held fixed
    assert not r and "only the term of X " in str(r)
    r = check.chain_similarity(fd - first)             # the term of X^{-1} alone
    assert not r and "only the term of X^{-1}" in str(r)
    r = check.chain_similarity(2 * first - fd)         # the term of X^{-1} with its sign flipped
    assert not r and "wrong sign" in str(r)
    assert "X^{-1} dX X^{-1}" not in str(r)            # points at what to recheck, does not fix it
    r = check.chain_similarity(fd.T)
    assert not r and "other layout" in str(r)
    assert not check.chain_similarity(None)


def test_chain_is_asked_for_a_case_the_page_does_not_state():
    """The page's chain rule for y(X A X^T), G X A^T + G^T X A, evaluated at X^T and transposed, answered the
    old version of this exercise, y(X^T A X), by one substitution; no rule on the page covers X A X^{-1},
    neither that formula (with X or with X^T) nor the chain rules through AX, XA and AXB^T with X^{-1} held fixed. The trace of F does
    not depend on X, so G = I has gradient zero."""
    A, X, G = check.EX_CHAIN
    assert not np.allclose(A, A.T) and not np.allclose(X, X.T)
    for page in (G @ X @ A.T + G.T @ X @ A, (G @ X.T @ A.T + G.T @ X.T @ A).T,
                 G @ (A @ np.linalg.inv(X)).T):
        assert not check.chain_similarity(page)
    zero = gradcheck(lambda Z: np.trace(Z @ A @ np.linalg.inv(Z)), X, order=4, h=1e-3).numeric
    assert np.abs(zero).max() < 1e-8


def test_chain_data_are_well_conditioned_for_every_student():
    """Each student's X is invertible with a condition number at most 20, and the answer drawn for the student
    is the central-difference gradient and passes that student's checker."""
    from courseware import grading as G

    seen = []
    for salt in range(1, 11):                # salt 0 draws the book's data
        fresh = G.own_copy(check, salt)
        A, X, G_ = fresh.EX_CHAIN
        assert np.linalg.cond(X) <= 20 and not np.allclose(X, X.T) and not np.allclose(A, A.T)
        fd = gradcheck(lambda Z: np.sum(np.sin(Z @ A @ np.linalg.inv(Z))), X, order=4, h=1e-3).numeric
        assert fresh.chain_similarity(fd)
        seen.append(X)
    assert not np.allclose(seen[0], seen[1])


# --- NumPy's finite differences, entry by entry, gave each gradient to the checker's tolerance ---


# --- ex-b1-central-difference: the derivative by central differences, as a function --------------------------------

def _central_loops(f, X, h):
    """The notebook's solution: one entry of X at a time, the slice D[..., r] after the output's indices."""
    X = np.asarray(X, dtype=float)
    D = np.zeros(np.shape(f(X)) + X.shape)
    for r in np.ndindex(X.shape):
        E = np.zeros(X.shape)
        E[r] = h
        D[(...,) + r] = (np.asarray(f(X + E)) - np.asarray(f(X - E))) / (2 * h)
    return D


def _central_flat(f, X, h):
    """Written otherwise: a flat Jacobian (outputs x entries), columns stacked, reshaped to S + R at the end."""
    X = np.array(X, dtype=float)
    flat = X.reshape(-1)
    cols = []
    for k in range(flat.size):
        plus, minus = flat.copy(), flat.copy()
        plus[k] += h
        minus[k] -= h
        cols.append((np.ravel(f(plus.reshape(X.shape))) - np.ravel(f(minus.reshape(X.shape)))) / h / 2)
    S = np.shape(f(X))
    return np.stack(cols, axis=-1).reshape(S + X.shape)


def test_central_difference_accepts_the_solution_and_another_route():
    assert check.central_difference(_central_loops)
    assert check.central_difference(_central_flat)
    assert check.central_difference(lambda f, X, h: _central_loops(f, X, h).tolist())   # nested lists are fine


def test_central_difference_cases_cover_every_kind_of_output_and_argument():
    kinds = {(np.ndim(np.asarray(f(X))), np.ndim(X)) for _, f, X, _ in check._difference_cases()}
    assert {(0, 2), (1, 1), (2, 2), (1, 0), (0, 3)} <= kinds
    for _, f, X, h in check._difference_cases():              # the reference is the central difference itself
        np.testing.assert_allclose(gradcheck(f, X, h=h).numeric, _central_loops(f, X, h), rtol=1e-9, atol=1e-12)


def _forward(f, X, h):
    X = np.asarray(X, dtype=float)
    D = np.zeros(np.shape(f(X)) + X.shape)
    for r in np.ndindex(X.shape):
        E = np.zeros(X.shape)
        E[r] = h
        D[(...,) + r] = (np.asarray(f(X + E)) - np.asarray(f(X))) / h
    return D


def _other_layout(f, X, h):
    X = np.asarray(X, dtype=float)
    D = np.zeros(X.shape + np.shape(f(X)))
    for r in np.ndindex(X.shape):
        E = np.zeros(X.shape)
        E[r] = h
        D[r] = (np.asarray(f(X + E)) - np.asarray(f(X - E))) / (2 * h)
    return D


def _flattened(f, X, h):
    return _central_loops(f, X, h).reshape(np.size(f(X)), np.size(X))


@pytest.mark.parametrize("wrong,fragment", [
    (_forward, "forward difference"),
    (lambda f, X, h: 2 * _central_loops(f, X, h), "2h apart"),
    (_other_layout, "the other layout"),
    (_flattened, "right numbers in shape"),
    (lambda f, X, h: None, "forget to return"),
    (lambda f, X, h: 1 / 0, "raised ZeroDivisionError"),
    (lambda f, X, h: f(X), "should have shape"),
])
def test_central_difference_names_the_slips(wrong, fragment):
    res = check.central_difference(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_central_difference_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.central_difference(np.eye(2)))
    assert "write the function first" in str(check.central_difference(None))
    msg = str(check.central_difference(lambda f, X, h: _central_loops(f, X, h) + 0.01))
    assert not check.central_difference(lambda f, X, h: _central_loops(f, X, h) + 0.01)
    assert "test case 1" in msg
    assert not re.search(r"[0-9]\.[0-9]", msg), msg
