"""The gradient checker: numerator layout (Appendix B.1, Eq. B.1) for scalar, vector and matrix
arguments, against derivatives worked out by hand; a wrong derivative fails; bad input is named.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.core.gradcheck import GradCheck, gradcheck

RNG = np.random.default_rng(20261122)


def test_scalar_of_scalar():
    res = gradcheck(np.exp, 0.7, np.exp(0.7))
    assert isinstance(res, GradCheck) and res.ok
    assert res.numeric.shape == ()
    assert abs(float(res.numeric) - np.exp(0.7)) < 1e-8


def test_scalar_of_vector_is_the_gradient_vector():
    A = RNG.standard_normal((4, 4))
    x = RNG.standard_normal(4)
    # d(x^T A x)/dx = (A + A^T) x, the column form of the draft's quadratic-form example
    res = gradcheck(lambda x: x @ A @ x, x, (A + A.T) @ x)
    assert res.numeric.shape == (4,) and res.ok
    # a quadratic is differentiated exactly by central differences (up to rounding)
    assert np.allclose(res.numeric, (A + A.T) @ x, atol=1e-8)


def test_vector_of_vector_is_the_jacobian_output_first():
    A = RNG.standard_normal((3, 5))
    x = RNG.standard_normal(5)
    res = gradcheck(lambda x: A @ x, x, A)           # d(Ax)/dx^T = A
    assert res.numeric.shape == (3, 5) and res.ok
    with pytest.raises(ValueError, match=r"transposed Jacobian"):
        gradcheck(lambda x: A @ x, x, A.T)


def test_scalar_of_matrix_has_the_matrix_shape_eq_b_1():
    a, b = RNG.standard_normal(3), RNG.standard_normal(2)
    X = RNG.standard_normal((3, 2))
    res = gradcheck(lambda X: a @ X @ b, X, np.outer(a, b))    # d(a^T X b)/dX = a b^T
    assert res.numeric.shape == (3, 2) and res.ok
    assert np.allclose(res.numeric, np.outer(a, b), atol=1e-8)


def test_matrix_of_matrix_has_shape_output_then_argument():
    A = RNG.standard_normal((2, 3))
    X = RNG.standard_normal((3, 4))
    res = gradcheck(lambda X: A @ X, X)
    assert res.numeric.shape == (2, 4, 3, 4)
    # d(AX)/dx_ij has column j equal to a_i, the i-th column of A (Appendix B.1.2)
    i, j = 1, 2
    expected = np.zeros((2, 4))
    expected[:, j] = A[:, i]
    assert np.allclose(res.numeric[:, :, i, j], expected, atol=1e-8)


def test_a_wrong_derivative_fails_and_reports_its_error():
    X = RNG.standard_normal((3, 3))
    A = RNG.standard_normal((3, 3))
    wrong = X @ A.T                                   # half of d tr(X A X^T)/dX
    res = gradcheck(lambda X: np.trace(X @ A @ X.T), X, wrong)
    assert not res.ok and res.ratio > 1
    assert res.max_abs_error == pytest.approx(np.abs(X @ A).max(), rel=1e-5)


def test_fourth_order_stencil_is_more_accurate_on_a_cubic_free_function():
    x = np.array([0.3, -1.2])
    f = lambda x: np.sin(x[0]) * np.exp(x[1])                        # noqa: E731
    g = np.array([np.cos(x[0]) * np.exp(x[1]), np.sin(x[0]) * np.exp(x[1])])
    e2 = np.abs(gradcheck(f, x, h=1e-3).numeric - g).max()
    e4 = np.abs(gradcheck(f, x, h=1e-3, order=4).numeric - g).max()
    assert e4 < e2 / 100                      # O(h^4) against O(h^2) at h = 1e-3
    assert e2 < 1e-6


def test_f_may_modify_its_argument():
    def f(x):
        x *= 2.0
        return x.sum()
    x = np.ones(3)
    res = gradcheck(f, x, 2.0 * np.ones(3))
    assert res.ok and np.array_equal(x, np.ones(3))


@pytest.mark.parametrize("call, match", [
    (lambda: gradcheck(np.sin, np.nan), r"^x must be finite"),
    (lambda: gradcheck(np.sin, 1.0, np.ones(2)), r"^analytic must have shape f\(x\).shape \+ x.shape = \(\)"),
    (lambda: gradcheck(np.sin, 1.0, h=0.0), r"^h must be"),
    (lambda: gradcheck(np.sin, 1.0, order=3), r"^order must be 2 or 4; got 3"),
    (lambda: gradcheck(np.sin, 1.0, rtol=0.0, atol=0.0), r"rtol and atol must not both be 0"),
    (lambda: gradcheck(lambda x: np.log(x), -1.0), r"^f\(x\) must be finite"),
    (lambda: gradcheck(lambda x: np.ones(int(10 * x[0]) % 3 + 1), np.array([0.1])), r"^f\(x\) must keep its shape"),
])
def test_bad_input_is_named(call, match):
    with np.errstate(all="ignore"), pytest.raises(ValueError, match=match):
        call()


def test_f_must_be_callable():
    with pytest.raises(TypeError, match=r"^f must be callable"):
        gradcheck(3.0, 1.0)
