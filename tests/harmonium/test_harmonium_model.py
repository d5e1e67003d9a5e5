"""Harmonium conditionals, marginals and energies (Section 3.1, Eqs. 3.1, 10.17, 10.18) against
brute-force enumeration of the joint distribution of tiny models, and input validation."""
from __future__ import annotations

import itertools
from math import lgamma

import numpy as np
import pytest

from pedagogy_lib.harmonium import (EFHParams, energy, free_energy_hidden, free_energy_visible, hidden_mean,
                                    log_conditional_hidden, log_conditional_visible, log_partition, states,
                                    visible_mean)


def _rbm(K=3, M=4, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return EFHParams(scale * rng.standard_normal((K, M)), rng.standard_normal(K), rng.standard_normal(M))


def _joint_table(p):
    """p(x, y) over all binary states from the energy written out term by term (Eq. 10.18)."""
    Sx, Sy = states(p.K), states(p.M)
    E = np.array([[-(y @ p.b_y) - (x @ p.b_x) - x @ p.W @ y for y in Sy] for x in Sx])
    P = np.exp(-E)
    return P / P.sum(), Sx, Sy


def test_conditionals_are_products_of_sigmoids_eq_10_17():
    p = _rbm()
    P, Sx, Sy = _joint_table(p)
    for j, y in enumerate(Sy):
        cond = P[:, j] / P[:, j].sum()                           # p(x | y) by enumeration
        lib = np.exp(log_conditional_hidden(p, Sx, np.repeat(y[None], len(Sx), axis=0)))
        np.testing.assert_allclose(lib, cond, rtol=1e-12, atol=1e-15)
    for i, x in enumerate(Sx):
        cond = P[i] / P[i].sum()
        lib = np.exp(log_conditional_visible(p, Sy, np.repeat(x[None], len(Sy), axis=0)))
        np.testing.assert_allclose(lib, cond, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hidden_mean(p, Sy), (P / P.sum(axis=0)).T @ Sx, rtol=1e-12)
    np.testing.assert_allclose(visible_mean(p, Sx), (P / P.sum(axis=1, keepdims=True)) @ Sy, rtol=1e-12)


def test_marginals_from_free_energies_and_log_Z():
    p = _rbm()
    P, Sx, Sy = _joint_table(p)
    log_Z = log_partition(p)
    np.testing.assert_allclose(np.exp(-free_energy_visible(p, Sy) - log_Z), P.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(np.exp(-free_energy_hidden(p, Sx) - log_Z), P.sum(axis=1), rtol=1e-12)
    # the energy of Eq. 10.18 reproduces the table
    X = np.repeat(Sx, len(Sy), axis=0)
    Yy = np.tile(Sy, (len(Sx), 1))
    np.testing.assert_allclose(np.exp(-energy(p, X, Yy) - log_Z), P.ravel(), rtol=1e-12)


def test_ratio_of_conditionals_is_ratio_of_marginals_eq_3_1():
    p = _rbm(seed=3)
    log_Z = log_partition(p)
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = (rng.random((1, p.K)) < 0.5).astype(float)
        y = (rng.random((1, p.M)) < 0.5).astype(float)
        lhs = log_conditional_visible(p, y, x) - log_conditional_hidden(p, x, y)
        rhs = (-free_energy_visible(p, y) - log_Z) - (-free_energy_hidden(p, x) - log_Z)
        np.testing.assert_allclose(lhs, rhs, rtol=1e-12, atol=1e-12)


def _stationary(Tm):
    w, v = np.linalg.eig(Tm)
    s = np.real(v[:, np.argmin(np.abs(w - 1))])
    return s / s.sum()


def _two_orders(logit_x, logit_y):
    """Stationary joints of the Gibbs sweeps 'x then y' and 'y then x' for conditionals given as
    logit_x(y) (scalar x) and logit_y(x) (vector y), over all (x, y) with x in {0, 1}, y in {0, 1}^2."""
    Sy = states(2)
    joint = [(x, tuple(y)) for x in (0, 1) for y in Sy]
    n = len(joint)

    def px(x, y):
        q = 1 / (1 + np.exp(-logit_x(np.array(y))))
        return q if x else 1 - q

    def py(y, x):
        q = 1 / (1 + np.exp(-logit_y(x)))
        return float(np.prod(np.where(np.array(y) == 1, q, 1 - q)))

    A = np.zeros((n, n))   # x then y: from (x, y) to (x', y') with prob p(x'|y) p(y'|x')
    B = np.zeros((n, n))   # y then x
    for j, (x, y) in enumerate(joint):
        for i, (x2, y2) in enumerate(joint):
            A[i, j] = px(x2, y) * py(y2, x2)
            B[i, j] = py(y2, x) * px(x2, y2)
    return _stationary(A), _stationary(B)


def test_affine_coupling_gives_one_joint_and_non_affine_does_not():
    w, c, b = np.array([1.5, -2.0]), np.array([0.7, -1.1]), 0.3
    # affine with one shared W: logit_x = b + w.y, logit_y = c + w x (an RBM); both sweep orders
    # have the same stationary joint
    a1, a2 = _two_orders(lambda y: b + w @ y, lambda x: c + w * x)
    np.testing.assert_allclose(a1, a2, atol=1e-12)
    # non-affine: logit_x = 3 y1 y2 while p(y|x) factorizes: no joint has both conditionals
    n1, n2 = _two_orders(lambda y: 3.0 * y[0] * y[1], lambda x: c + w * x)
    assert np.max(np.abs(n1 - n2)) > 1e-3


def test_gaussian_bernoulli_marginal_is_a_mixture_of_gaussians():
    rng = np.random.default_rng(4)
    K, M = 3, 2
    p = EFHParams(rng.standard_normal((K, M)), rng.standard_normal(K), rng.standard_normal(M), "bernoulli", "gaussian")
    log_Z = log_partition(p)
    Sx = states(K)
    log_px = -free_energy_hidden(p, Sx) - log_Z
    np.testing.assert_allclose(np.exp(log_px).sum(), 1.0, rtol=1e-12)
    y = rng.standard_normal((5, M))
    means = p.b_y + Sx @ p.W                              # component means b_y + W^T x
    mix = sum(np.exp(log_px[i]) * np.exp(-0.5 * np.sum((y - means[i]) ** 2, axis=1)) / (2 * np.pi) ** (M / 2)
              for i in range(len(Sx)))
    np.testing.assert_allclose(np.exp(-free_energy_visible(p, y) - log_Z), mix, rtol=1e-12)


def test_poisson_bernoulli_normalizer_matches_truncated_sum():
    rng = np.random.default_rng(5)
    K, M = 2, 2
    p = EFHParams(0.5 * rng.standard_normal((K, M)), rng.standard_normal(K), 0.3 * rng.standard_normal(M),
                  "bernoulli", "poisson")
    counts = np.array(list(itertools.product(range(40), repeat=M)), dtype=float)
    log_unnorm = -free_energy_visible(p, counts)
    total = np.log(np.exp(log_unnorm).sum())
    np.testing.assert_allclose(total, log_partition(p), rtol=1e-12)
    # B(zeta) = sum exp(zeta): the per-x normalizer of the Poisson emission
    x = np.array([[1.0, 0.0]])
    zeta = p.b_y + x @ p.W
    direct = np.log(sum(np.exp(c @ zeta[0] - sum(lgamma(ci + 1) for ci in c)) for c in counts))
    np.testing.assert_allclose(direct, np.exp(zeta).sum(), rtol=1e-12)


def test_poisson_units_beyond_float64_are_refused_by_name_and_inside_it_answered():
    """A Poisson unit's mean and log-partition are e^zeta: at zeta = 800 that is about 1e347, beyond float64,
    so the conditional pieces refuse naming params and the range (they returned inf with an overflow
    warning); at zeta = 709 (inside the range) they give e^709 from math.exp."""
    import math
    import warnings

    from pedagogy_lib.harmonium.model import mean_units
    x, y = np.array([[1.0]]), np.array([[1.0, 0.0]])
    for z, b in ((800.0, 0.0), (700.0, 100.0)):
        p = EFHParams(np.array([[z, 1.0]]), np.zeros(1), np.array([b, 0.0]), "bernoulli", "poisson")
        for f in (lambda: visible_mean(p, x), lambda: free_energy_hidden(p, x),
                  lambda: log_conditional_visible(p, y, x)):
            with pytest.raises(ValueError, match=r"params.*Poisson.*709\.78"):
                f()
    with pytest.raises(ValueError, match=r"eta.*709\.78"):
        mean_units(np.array([0.0, 710.0]), "poisson")
    p = EFHParams(np.array([[709.0, 1.0]]), np.zeros(1), np.zeros(2), "bernoulli", "poisson")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(visible_mean(p, x), [[math.exp(709.0), math.e]], rtol=1e-14)
        np.testing.assert_allclose(free_energy_hidden(p, x), [-(math.exp(709.0) + math.e)], rtol=1e-14)
        np.testing.assert_allclose(log_conditional_visible(p, y, x), [709.0 - math.exp(709.0) - math.e], rtol=1e-14)


def test_poisson_units_whose_sum_leaves_float64_are_refused_by_name():
    """Two Poisson units at zeta = 709.7 are each inside the range (e^709.7 is 1.65e308), but their
    log-partitions add up to 3.3e308, beyond float64: the free energy and the log conditional are refused
    naming params (they returned -inf with an overflow warning). One such unit is answered, from math.exp."""
    import math
    import warnings

    x = np.array([[1.0]])
    p = EFHParams(np.array([[709.7, 709.7]]), np.zeros(1), np.zeros(2), "bernoulli", "poisson")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^params .*beyond float64.*1\.8e308"):
            free_energy_hidden(p, x)
        with pytest.raises(ValueError, match=r"^params .*beyond float64.*1\.8e308"):
            log_conditional_visible(p, np.zeros((1, 2)), x)
        one = EFHParams(np.array([[709.7, 0.0]]), np.zeros(1), np.zeros(2), "bernoulli", "poisson")
        np.testing.assert_allclose(free_energy_hidden(one, x), [-(math.exp(709.7) + 1.0)], rtol=1e-14)


@pytest.mark.parametrize("bad, word", [
    (lambda p: p._replace(W=np.zeros((3,))), "W"),
    (lambda p: p._replace(b_x=np.zeros(5)), "b_x"),
    (lambda p: p._replace(b_y=np.zeros(7)), "b_y"),
    (lambda p: p._replace(visible="binomial"), "visible"),
    (lambda p: p._replace(hidden="gaussian", visible="poisson"), "Bernoulli"),
])
def test_bad_parameters_raise_naming_the_symbol(bad, word):
    with pytest.raises(ValueError, match=word):
        log_partition(bad(_rbm()))


def test_bad_states_raise_naming_the_argument():
    p = _rbm()
    with pytest.raises(ValueError, match="binary"):
        free_energy_visible(p, np.full((1, 4), 0.5))
    with pytest.raises(ValueError, match="shape"):
        free_energy_visible(p, np.zeros((1, 5)))
    with pytest.raises(ValueError, match="y must be a 2-D"):
        energy(p, np.zeros((1, 3)), np.zeros(4))
    pois = p._replace(visible="poisson")
    with pytest.raises(ValueError, match="non-negative integers"):
        free_energy_visible(pois, np.array([[0.0, -1.0, 2.0, 0.0]]))


def test_monomial_proof_eqs_3_3_3_4_needs_full_row_rank_not_columns():
    """The proof of the affine coupling (Eqs. 3.2-3.4): with fat A and D of full *row* rank, right
    inverses exist (A A^+ = I), W := (C A^+)^T = B D^+, and then C^T = A^T W and B = W D, so the
    interaction matrix C^T D - A^T B vanishes. A fat matrix cannot have linearly independent
    columns (its rank is at most its number of rows), so the draft's condition must be on the rows."""
    rng = np.random.default_rng(0)
    n_alpha, n_delta, n_vx, n_vy = 2, 3, 5, 6          # alpha = A v_x + a, delta = D v_y + d: A, D fat
    A = rng.standard_normal((n_alpha, n_vx))
    D = rng.standard_normal((n_delta, n_vy))
    assert np.linalg.matrix_rank(A) == n_alpha < n_vx     # full row rank; the 5 columns are dependent
    Wm = rng.standard_normal((n_delta, n_alpha))          # the shared matrix of the solution
    # gamma (paired with delta) and beta (paired with alpha): Eq. 3.2's cross term is
    # v_x^T (C^T D - A^T B) v_y; build a consistent pair and recover W from the right inverses
    C = Wm @ A                                            # gamma(x) = W alpha(x) + const (n_delta x n_vx)
    B = Wm.T @ D                                          # beta(y) = W^T delta(y) + const
    np.testing.assert_allclose(C.T @ D - A.T @ B, 0.0, atol=1e-12)
    A_dag, D_dag = np.linalg.pinv(A), np.linalg.pinv(D)
    np.testing.assert_allclose(A @ A_dag, np.eye(n_alpha), atol=1e-12)   # right inverse: rows independent
    np.testing.assert_allclose((C @ A_dag), Wm, atol=1e-12)                 # W recovered from C
    np.testing.assert_allclose(B @ D_dag, Wm.T, atol=1e-12)                 # and, transposed, from B
    # a fat matrix has no left inverse: A^+ A is a projection of rank 2, not the 5 x 5 identity
    assert np.linalg.matrix_rank(A_dag @ A) == n_alpha and not np.allclose(A_dag @ A, np.eye(n_vx))
