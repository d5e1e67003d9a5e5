"""Tests for pedagogy_lib.factor.sparse_coding_em (Sections 8.1-8.1.1, Eqs. 8.1-8.11).

Oracles: the per-datum MAP and Laplace approximation of pedagogy_lib.factor.sparse_coding (Section
2.1.3), Monte Carlo estimates of the free energy written with scipy.stats log-densities, a
numerical optimizer for the M step, and 2-D quadrature of the marginal likelihood.

What is guaranteed with the Laplace E step (not exact EM): the M step is the exact minimizer of the
free energy given the recognition distributions (so it never increases it), and the free energy
bounds the negative log-likelihood from above for any Gaussian recognition distribution. The E
step itself may increase the free energy; no test claims otherwise.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from pedagogy_lib.factor import sparse_coding as sc
from pedagogy_lib.factor import sparse_coding_em as se


def _problem(M=2, K=3, N=40, lam=8.0, seed=0):
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(M, K))
    model = sc.make_model(C, lam, alpha=1.5, beta=6.0, prior="laplace")
    X, Y = sc.sample(rng, model, N)
    return model, Y


def test_batch_map_matches_the_per_datum_map_of_section_2_1_3():
    """The recognition means of Eq. 8.10 are the per-datum MAP estimates."""
    model, Y = _problem()
    nu = se.batch_map(Y, model, n_iter=5000, tol=1e-13)
    for y, v in zip(Y[:10], nu[:10]):
        ref = sc.map_estimate(y, model, method="lbfgs").x0
        np.testing.assert_allclose(v, ref, atol=1e-6)


def test_e_step_precision_is_the_hessian_at_the_new_mode():
    """Errata, the algorithm box of Section 8.1.1: P uses the new mean nu^(i+1), Eq. 8.11. Each datum has its
    own mean and precision, the local parameters (see Eq. 8.2)."""
    model, Y = _problem()
    rec = se.e_step(Y, model)
    for y, nu, P, S in zip(Y[:5], rec.nu, rec.P, rec.Sigma):
        np.testing.assert_allclose(P, sc.energy_hessian(nu, model), rtol=1e-12)
        np.testing.assert_allclose(S @ P, np.eye(3), atol=1e-10)
        lap = sc.laplace_approximation(y, model, method="lbfgs")
        np.testing.assert_allclose(P, lap.H, rtol=1e-4, atol=1e-6)


def test_expected_abs_matches_monte_carlo():
    rng = np.random.default_rng(1)
    for mu, s in [(0.0, 1.0), (0.7, 0.3), (-1.2, 2.0)]:
        x = rng.normal(mu, s, size=400_000)
        est, se_ = np.mean(np.abs(x)), np.std(np.abs(x)) / np.sqrt(len(x))
        assert abs(se.expected_abs(mu, s) - est) < 4 * se_


def test_free_energy_matches_monte_carlo_with_correct_normalizers():
    """Errata, Eq. 8.7: the emission normalizer is (M/2) log(tau / lambda), not +(K/2) log lambda.
    F_n = E_q[-log p(x, y)] + E_q[log q(x)] is estimated by Monte Carlo with scipy's densities.
    This is the joint relative entropy of Eq. 8.1 (less the data entropy) in the form of Eq. 8.8, for
    the model of Eq. 8.5 with the Laplace energy of Eq. 8.6."""
    model, Y = _problem(M=2, K=3, N=3, lam=5.0)
    rec = se.e_step(Y, model)
    F = se.free_energy(Y, model, rec, per_datum=True)
    rng = np.random.default_rng(2)
    S = 200_000
    for n in range(3):
        q = stats.multivariate_normal(rec.nu[n], rec.Sigma[n])
        x = q.rvs(size=S, random_state=rng)
        log_joint = (stats.laplace.logpdf(x, scale=1 / model.alpha).sum(1)
                     + stats.norm.logpdf(Y[n], loc=x @ model.C.T, scale=1 / np.sqrt(model.lam)).sum(1))
        vals = q.logpdf(x) - log_joint
        assert abs(F[n] - vals.mean()) < 4 * vals.std() / np.sqrt(S)
    # the draft's constant differs from ours by (M/2)(log lambda - log tau) + (K/2) log lambda
    M, K = model.C.shape
    shift = 0.5 * K * np.log(model.lam) + 0.5 * M * (np.log(model.lam) - np.log(2 * np.pi))
    assert abs(shift) > 1.0


def test_free_energy_bounds_the_negative_log_likelihood():
    model, Y = _problem(M=2, K=2, N=6, lam=4.0, seed=3)
    rec = se.e_step(Y, model)
    F = se.free_energy(Y, model, rec, per_datum=True)
    for y, f in zip(Y, F):
        nll = -sc.log_marginal_quadrature(y, model)
        assert f >= nll - 1e-8
        assert f - nll < 1.0                       # and the Laplace E step is a decent bound


def test_m_step_is_the_exact_minimizer_given_the_e_step():
    """Errata, the algorithm box of Section 8.1.1: the M step needs the outer product nu nu^T."""
    model, Y = _problem(M=2, K=3, N=60, lam=6.0, seed=4)
    rec = se.e_step(Y, model)
    new = se.m_step(Y, rec, model)
    M, K = model.C.shape

    def F_of(theta):
        C, log_lam = theta[:M * K].reshape(M, K), theta[-1]
        m = sc.make_model(C, np.exp(log_lam), alpha=model.alpha, beta=model.beta, prior="laplace")
        return se.free_energy(Y, m, rec)

    x0 = np.concatenate([model.C.ravel(), [np.log(model.lam)]])
    opt = optimize.minimize(F_of, x0, method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(new.C, opt.x[:M * K].reshape(M, K), atol=1e-4)
    assert new.lam == pytest.approx(np.exp(opt.x[-1]), rel=1e-4)
    F_new = se.free_energy(Y, new, rec)
    assert F_new <= opt.fun + 1e-9
    assert F_new <= se.free_energy(Y, model, rec) + 1e-12
    # the draft's "nu^T nu^T" read as the inner product nu^T nu is a different (worse) matrix
    A = Y.T @ rec.nu / len(Y)
    B_wrong = rec.Sigma.mean(0) + np.mean(np.sum(rec.nu ** 2, 1))
    C_wrong = A @ np.linalg.inv(B_wrong)
    wrong = sc.make_model(C_wrong, new.lam, alpha=model.alpha, beta=model.beta, prior="laplace")
    assert se.free_energy(Y, wrong, rec) > F_new + 1e-3


def test_m_step_gradient_of_eq_8_9_vanishes():
    model, Y = _problem(M=3, K=4, N=50, lam=5.0, seed=5)
    rec = se.e_step(Y, model)
    new = se.m_step(Y, rec, model, update_lam=False)
    C = new.C
    grad = model.lam * np.mean([C @ S - np.outer(y - C @ v, v) for y, v, S in zip(Y, rec.nu, rec.Sigma)], axis=0)
    assert np.abs(grad).max() < 1e-10
    assert new.lam == model.lam


def test_em_iterations_never_increase_F_in_the_m_step_and_learn_the_dictionary():
    rng = np.random.default_rng(6)
    C_true = np.array([[1.0, 0.0, 0.7], [0.0, 1.0, 0.7]])
    truth = sc.make_model(C_true, 50.0, alpha=1.0, beta=10.0, prior="laplace")
    _, Y = sc.sample(rng, truth, 800)
    C0 = C_true + 0.3 * rng.normal(size=C_true.shape)
    res = se.sparse_coding_em(Y, sc.make_model(C0, 10.0, alpha=1.0, beta=10.0, prior="laplace"), n_iter=25)
    assert np.all(res.F_after_M <= res.F_after_E + 1e-10)
    assert res.F_after_M[-1] < res.F_after_M[0]
    C_hat = res.model.C
    cos = np.abs((C_hat / np.linalg.norm(C_hat, axis=0)).T @ (C_true / np.linalg.norm(C_true, axis=0)))
    assert np.all(cos.max(axis=0) > 0.95)


def test_bad_input_raises_value_error_naming_the_argument():
    model, Y = _problem()
    with pytest.raises(ValueError, match="Y"):
        se.e_step(Y[:, :1], model)
    bad = Y.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="Y"):
        se.sparse_coding_em(bad, model)
    with pytest.raises(ValueError, match="model"):
        se.e_step(Y, sc.make_model(model.C, 1.0, alpha=1.0, prior="gaussian"))
    rec = se.e_step(Y, model)
    with pytest.raises(ValueError, match="rec"):
        se.m_step(Y[:5], rec, model)
    with pytest.raises(ValueError, match="n_iter"):
        se.sparse_coding_em(Y, model, n_iter=0)
    with pytest.raises(ValueError, match="x_init"):
        se.batch_map(Y, model, x_init=np.zeros((2, 3)))


def _three_arm_data(N):
    """The first N points of the three-arm data of the Section 8.1 page."""
    C_true = np.array([[1.0, 0.2, -0.8], [0.1, 1.0, 0.6]])
    truth = sc.make_model(C_true, 50.0, alpha=1.0, beta=10.0, prior="laplace")
    return sc.sample(np.random.default_rng(4), truth, 1000)[1][:N]


def test_singular_e_step_precision_is_refused_naming_the_budget():
    """Issue 69. From a Gaussian random start (columns 1 and 2 nearly parallel, |cos| = 0.998) on the
    8.1 page's data, FISTA's 500 iterations leave rows with three nonzero codes in M = 2 dimensions,
    far enough from zero that the surrogate's curvature in the precision of Eq. 8.11 is lost in the
    rounding of lam C^T C. The old code inverted that singular precision and failed later inside
    expected_abs ("sigma must be finite", a symbol the caller never passed). The E step now refuses,
    naming the row, the codes and the budget to raise; with a larger budget the mean reaches the mode
    of Eq. 8.10 (at most M nonzero codes), the precision is positive definite and the M step lowers F."""
    Y = _three_arm_data(200)
    start = sc.make_model(np.random.default_rng(2).normal(size=(2, 3)), 10.0, alpha=1.0, beta=10.0,
                          prior="laplace")
    with pytest.raises(ValueError, match=r"row \d+ of Y .*EM iteration 1 \(under the starting model\).* "
                                         r"3 nonzero codes .*M = 2.*Raise map_iter"):
        se.sparse_coding_em(Y, start, n_iter=3)
    with pytest.raises(ValueError, match=r"row \d+ of Y is singular.*Raise n_iter"):
        se.e_step(Y, start)
    rec = se.e_step(Y, start, n_iter=10_000, tol=1e-8)
    assert np.max(np.sum(rec.nu != 0, axis=1)) <= 2
    F_E = se.free_energy(Y, start, rec)
    F_M = se.free_energy(Y, se.m_step(Y, rec, start), rec)
    assert np.isfinite(F_E) and F_M <= F_E


def test_a_column_at_zero_stays_at_zero_with_its_codes_unused():
    """A dead dictionary element is kept: a column that is exactly zero has all-zero codes, no coupling
    in the precision of Eq. 8.11, and the M step (Eq. 8.9) returns it as zero; the other columns still
    learn and no M step raises F."""
    Y = _three_arm_data(400)
    ang = np.deg2rad([10.0, 70.0, 130.0])
    C0 = 0.7 * np.vstack([np.cos(ang), np.sin(ang)])
    C0[:, 2] = 0.0
    res = se.sparse_coding_em(Y, sc.make_model(C0, 10.0, alpha=1.0, beta=10.0, prior="laplace"), n_iter=8)
    assert np.all(res.C_history[:, :, 2] == 0.0)
    assert np.all(res.recognition.nu[:, 2] == 0.0)
    assert np.all(res.recognition.Sigma[:, 2, :2] == 0.0)
    assert np.all(res.F_after_M <= res.F_after_E + 1e-10)
    assert res.F_after_M[-1] < res.F_after_M[0]
