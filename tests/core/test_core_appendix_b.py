"""Appendix B checked numerically: every matrix-calculus identity of B.1 against the gradient checker
(numerator layout, random non-square shapes), with the corrected Eqs. B.6 and B.10; B.11 with SciPy's
expm and the log-determinant derivatives; the score and Fisher information of B.2 (Eq. B.12); Eq. B.13
by Monte Carlo; the change of variables for Z = aX + bY; Poisson thinning; the six expressions of
B.3, Woodbury (Eq. B.14) and Sherman-Morrison (Eq. B.15).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, linalg, stats

from pedagogy_lib.core.gradcheck import gradcheck

RNG = np.random.default_rng(31)
m, n, p, q = 3, 4, 5, 2               # X is m x n throughout; other factors conform


def spd(k, rng=RNG):
    G = rng.standard_normal((k, k))
    return G @ G.T + k * np.eye(k)


def y_of(F):
    """A generic scalar function of a matrix, with its gradient G = dy/dF."""
    return float(np.sum(np.sin(F)) + 0.5 * np.sum(F**2) ** 1.5 / 10)


def G_of(F):
    return np.cos(F) + 0.15 * np.sqrt(np.sum(F**2)) * F


def test_y_of_and_G_of_agree():
    F = RNG.standard_normal((3, 3))
    assert gradcheck(y_of, F, G_of(F)).ok


# ---------------------------------------------------------------- B.1.1: vectors
def test_vector_rules_linear_and_quadratic():
    A, c, x = RNG.standard_normal((m, n)), RNG.standard_normal(n), RNG.standard_normal(n)
    assert gradcheck(lambda x: A @ x, x, A).ok                          # d(Ax)/dx^T = A
    assert gradcheck(lambda x: c @ x, x, c).ok                          # d(c.x)/dx = c
    S = RNG.standard_normal((n, n))
    assert gradcheck(lambda x: x @ S @ x, x, (S.T + S) @ x).ok          # x^T (A^T + A), as a column


def test_chain_rule_special_cases():
    """dz/dx^T = (dz/dy^T)(dy/dx^T) for vector z and y, scalar z and vector y, vector z and scalar y
    (a matrix), and scalar z and y (a row vector)."""
    A, B = RNG.standard_normal((p, m)), RNG.standard_normal((m, n))
    x = RNG.standard_normal(n)
    y = lambda x: np.tanh(B @ x)                                        # noqa: E731
    Jy = (1 - np.tanh(B @ x) ** 2)[:, None] * B                         # dy/dx^T, (m, n)
    assert gradcheck(lambda x: A @ y(x), x, A @ Jy).ok                  # vector z of vector y
    w = RNG.standard_normal(m)
    assert gradcheck(lambda x: w @ y(x), x, w @ Jy).ok                  # scalar z of vector y
    b = RNG.standard_normal(n)
    s = float(b @ x)
    assert gradcheck(lambda x: np.exp(np.sin(b @ x)), x, np.exp(np.sin(s)) * np.cos(s) * b).ok


def test_product_rule_for_a_dot_product():
    U, V = RNG.standard_normal((m, n)), RNG.standard_normal((m, n))
    x = RNG.standard_normal(n)
    u, v = np.sin(U @ x), np.cos(V @ x)
    Ju, Jv = np.cos(U @ x)[:, None] * U, -np.sin(V @ x)[:, None] * V
    assert gradcheck(lambda x: np.sin(U @ x) @ np.cos(V @ x), x, v @ Ju + u @ Jv).ok


# ---------------------------------------------------------------- B.1.2: matrices, Eqs. B.1-B.10
def test_bilinear_form_eq_b_1():
    a, b, X = RNG.standard_normal(m), RNG.standard_normal(n), RNG.standard_normal((m, n))
    assert gradcheck(lambda X: a @ X @ b, X, np.outer(a, b)).ok


def test_quadratic_in_X_eq_b_2():
    a, b = RNG.standard_normal(n), RNG.standard_normal(m)
    W, X = RNG.standard_normal((m, m)), RNG.standard_normal((m, n))
    z = X @ a + b
    assert gradcheck(lambda X: (X @ a + b) @ W @ (X @ a + b), X, np.outer((W + W.T) @ z, a)).ok


def test_matrix_valued_derivatives_entry_by_entry():
    A, B, X = RNG.standard_normal((p, m)), RNG.standard_normal((q, n)), RNG.standard_normal((m, n))
    i, j = 1, 2
    d_AXBt = gradcheck(lambda X: A @ X @ B.T, X).numeric[:, :, i, j]
    assert np.allclose(d_AXBt, np.outer(A[:, i], B[:, j]), atol=1e-8)    # a_i b_j^T
    C = RNG.standard_normal((n, n))
    d_XCXt = gradcheck(lambda X: X @ C @ X.T, X).numeric[:, :, i, j]
    expected = np.zeros((m, m))
    expected[i, :] += X @ C[j, :]          # row i: (X c~_j)^T, c~_j^T the j-th row of C
    expected[:, i] += X @ C[:, j]          # column i: X c_j
    assert np.allclose(d_XCXt, expected, atol=1e-8)


def test_chain_rule_through_AX_XA_AXBt_eqs_b_3_to_b_5():
    X = RNG.standard_normal((m, n))
    A = RNG.standard_normal((p, m))
    assert gradcheck(lambda X: y_of(A @ X), X, A.T @ G_of(A @ X)).ok                   # B.3
    A2 = RNG.standard_normal((n, p))
    assert gradcheck(lambda X: y_of(X @ A2), X, G_of(X @ A2) @ A2.T).ok               # B.4
    B = RNG.standard_normal((q, n))
    assert gradcheck(lambda X: y_of(A @ X @ B.T), X, A.T @ G_of(A @ X @ B.T) @ B).ok   # B.5


def test_eq_b_6_as_printed_fails_and_the_corrected_forms_hold():
    """Eq. B.6 is labelled y(AXA^T) but its right-hand side, G X A^T + G, fits neither AXA^T nor XAX^T.
    Correct: dy(AXA^T)/dX = A^T G A, and dy(XAX^T)/dX = G X A^T + G^T X A."""
    X = RNG.standard_normal((n, n))
    A = RNG.standard_normal((n, n))
    F1 = A @ X @ A.T
    assert gradcheck(lambda X: y_of(A @ X @ A.T), X, A.T @ G_of(F1) @ A).ok
    F2 = X @ A @ X.T
    assert gradcheck(lambda X: y_of(X @ A @ X.T), X, G_of(F2) @ X @ A.T + G_of(F2).T @ X @ A).ok
    for F, f in ((F1, lambda X: y_of(A @ X @ A.T)), (F2, lambda X: y_of(X @ A @ X.T))):
        printed = G_of(F) @ X @ A.T + G_of(F)
        assert not gradcheck(f, X, printed).ok
    # the rectangular case of the corrected B.6 (A is p x m, X is m x m)
    A3, X3 = RNG.standard_normal((p, m)), RNG.standard_normal((m, m))
    assert gradcheck(lambda X: y_of(A3 @ X @ A3.T), X3, A3.T @ G_of(A3 @ X3 @ A3.T) @ A3).ok


def test_chain_rule_through_f_of_Xa_plus_b_eq_b_7():
    a, b, X = RNG.standard_normal(n), RNG.standard_normal(m), RNG.standard_normal((m, n))
    W = RNG.standard_normal((p, m))
    f = lambda z: np.tanh(W @ z)                                            # noqa: E731
    w = RNG.standard_normal(p)
    z = X @ a + b
    J = (1 - np.tanh(W @ z) ** 2)[:, None] * W                              # df/dz^T
    # y = w . f(Xa + b): dy/dX = J^T (dy/df) a^T
    assert gradcheck(lambda X: w @ f(X @ a + b), X, np.outer(J.T @ w, a)).ok


def test_trace_derivatives_eqs_b_8_and_b_9():
    X = RNG.standard_normal((m, n))
    A = RNG.standard_normal((n, m))
    assert gradcheck(lambda X: np.trace(A @ X), X, A.T).ok                 # B.8, AX square: A is n x m
    assert gradcheck(lambda X: np.trace(X @ A), X, A.T).ok                 # B.8, XA
    A2, B2 = RNG.standard_normal((p, m)), RNG.standard_normal((p, n))
    assert gradcheck(lambda X: np.trace(A2 @ X @ B2.T), X, A2.T @ B2).ok   # B.9


def test_eq_b_10_is_the_derivative_of_tr_XAX_not_tr_AXA():
    """Eq. B.10's right-hand side X A^T + X A is d tr(XAX^T)/dX; d tr(AXA^T)/dX = A^T A."""
    X, A = RNG.standard_normal((m, n)), RNG.standard_normal((n, n))
    assert gradcheck(lambda X: np.trace(X @ A @ X.T), X, X @ A.T + X @ A).ok
    A2, X2 = RNG.standard_normal((p, m)), RNG.standard_normal((m, m))
    assert gradcheck(lambda X: np.trace(A2 @ X @ A2.T), X2, A2.T @ A2).ok
    Xs, As = RNG.standard_normal((n, n)), RNG.standard_normal((n, n))
    assert not gradcheck(lambda X: np.trace(As @ X @ As.T), Xs, Xs @ As.T + Xs @ As).ok


# ---------------------------------------------------------------- B.1.3: determinants
def test_trace_and_determinant_eq_b_11():
    for k in (1, 3, 6):
        M = RNG.standard_normal((k, k))
        assert np.exp(np.trace(M)) == pytest.approx(np.linalg.det(linalg.expm(M)), rel=1e-12)


def test_log_determinant_derivatives():
    A = RNG.standard_normal((n, n)) + n * np.eye(n)
    assert gradcheck(lambda A: np.linalg.slogdet(A)[1], A, np.linalg.inv(A).T).ok          # A^{-T}
    assert gradcheck(np.linalg.det, A, np.linalg.det(A) * np.linalg.inv(A).T, rtol=1e-6).ok
    # d/dx log|A(x)| = tr(A^{-1} dA/dx) for A(x) = A0 + x A1 + x^2 A2
    A0, A1, A2 = A, RNG.standard_normal((n, n)), RNG.standard_normal((n, n))
    x = 0.3
    Ax = A0 + x * A1 + x**2 * A2
    dA = A1 + 2 * x * A2
    assert gradcheck(lambda x: np.linalg.slogdet(A0 + x * A1 + x**2 * A2)[1], x,
                     np.trace(np.linalg.solve(Ax, dA))).ok


# ---------------------------------------------------------------- B.2: probability and statistics
def test_bernoulli_score_has_mean_zero_and_fisher_information_eq_b_12():
    p_ = 0.2
    score = lambda y, p: y / p - (1 - y) / (1 - p)                         # noqa: E731
    probs = np.array([1 - p_, p_])
    ys = np.array([0, 1])
    assert np.dot(probs, score(ys, p_)) == pytest.approx(0.0, abs=1e-15)
    fisher = np.dot(probs, score(ys, p_) ** 2)
    assert fisher == pytest.approx(1 / (p_ * (1 - p_))) and fisher == pytest.approx(6.25)
    # Eq. B.12: (dE[t]/dtheta)^T Cov[t]^{-1} (dE[t]/dtheta) with t(y) = y; both moments by enumeration,
    # the derivative by the gradient checker
    mean_t = lambda p: float(np.dot([1 - p, p], ys))                        # noqa: E731
    var_t = float(np.dot(probs, (ys - mean_t(p_)) ** 2))
    h = float(gradcheck(mean_t, p_).numeric)
    assert h * h / var_t == pytest.approx(fisher, rel=1e-8)


def test_poisson_fisher_information_in_the_log_rate():
    """theta = log rate: eta = theta, Cov[t] = e^theta, so I(theta) = e^theta (both forms of Eq. B.12)."""
    theta = 0.7
    lam = np.exp(theta)
    ys = np.arange(0, 80)
    pmf = stats.poisson.pmf(ys, lam)
    score = ys - lam                                                        # d/dtheta (theta y - e^theta)
    assert np.dot(pmf, score) == pytest.approx(0.0, abs=1e-12)
    assert np.dot(pmf, score**2) == pytest.approx(np.exp(theta), rel=1e-12)
    h = gradcheck(lambda th: np.exp(th), theta).numeric                     # dE[t]/dtheta
    assert float(h) ** 2 / lam == pytest.approx(np.exp(theta), rel=1e-8)


def test_expected_quadratic_form_eq_b_13_by_monte_carlo():
    rng = np.random.default_rng(13)
    k, l = 3, 2
    mu, Sigma = rng.standard_normal(k), spd(k, rng)
    C, b, A = rng.standard_normal((l, k)), rng.standard_normal(l), spd(l, rng)
    closed = np.trace(A @ C @ Sigma @ C.T) + (b - C @ mu) @ A @ (b - C @ mu)
    N = 200_000
    X = rng.multivariate_normal(mu, Sigma, size=N)
    R = b - X @ C.T
    vals = np.einsum("ni,ij,nj->n", R, A, R)
    se = vals.std(ddof=1) / np.sqrt(N)
    assert abs(vals.mean() - closed) < 5 * se


def test_change_of_variables_for_a_linear_combination():
    """Z = aX + bY: p(x, z) = p_xy(x, (z - ax)/b) / |b|; the draft writes |g(x, z)| for the Jacobian."""
    a, b = 0.7, -1.6
    pxy = lambda x, y: stats.norm.pdf(x) * stats.norm.pdf(y, loc=0.5, scale=1.3)    # noqa: E731
    sd_z = math.hypot(a, b * 1.3)
    for z in (-1.0, 0.4, 2.0):
        correct = integrate.quad(lambda x: pxy(x, (z - a * x) / b) / abs(b), -12, 12)[0]
        assert correct == pytest.approx(stats.norm.pdf(z, loc=0.5 * b, scale=sd_z), rel=1e-9)
        printed = integrate.quad(lambda x: pxy(x, (z - a * x) / b) * abs((z - a * x) / b), -12, 12)[0]
        assert abs(printed - correct) > 1e-3


@pytest.mark.parametrize("mu", [0.1, 0.5, 1.0])
def test_poisson_thinning_by_summing_the_series(mu):
    """Pois(1) trials, each kept with probability mu, leave Pois(mu) successes (mu = 1 included)."""
    for y in range(8):
        series = sum(stats.poisson.pmf(x, 1.0) * stats.binom.pmf(y, x, mu) for x in range(y, 80))
        assert series == pytest.approx(stats.poisson.pmf(y, mu), abs=1e-12)


# ---------------------------------------------------------------- B.3: matrix identities
def test_six_expressions_of_b3_agree():
    A, B = spd(4), spd(4)
    I, inv = np.eye(4), np.linalg.inv
    forms = [B @ inv(A + B), inv(I + A @ inv(B)), inv(inv(A) + inv(B)) @ inv(A),
             I - A @ inv(A + B), I - inv(I + B @ inv(A)), I - inv(inv(A) + inv(B)) @ inv(B)]
    for F in forms[1:]:
        assert np.allclose(F, forms[0], atol=1e-12)


def test_push_through_and_woodbury_eq_b_14():
    M, N_ = RNG.standard_normal((5, 2)), RNG.standard_normal((2, 5))
    inv = np.linalg.inv
    assert np.allclose(inv(np.eye(5) + M @ N_) @ M, M @ inv(np.eye(2) + N_ @ M), atol=1e-12)
    A, C = spd(6), spd(2)
    U, V = RNG.standard_normal((6, 2)), RNG.standard_normal((2, 6))
    Ai = inv(A)
    lhs = inv(A + U @ C @ V)
    rhs = Ai - Ai @ U @ inv(inv(C) + V @ Ai @ U) @ V @ Ai
    assert np.allclose(lhs, rhs, atol=1e-12)


def test_sherman_morrison_eq_b_15():
    A, u, v = spd(5), RNG.standard_normal(5), RNG.standard_normal(5)
    Ai = np.linalg.inv(A)
    rhs = Ai - np.outer(Ai @ u, v @ Ai) / (1 + v @ Ai @ u)
    assert np.allclose(np.linalg.inv(A + np.outer(u, v)), rhs, atol=1e-12)
