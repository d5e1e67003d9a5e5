"""Tests for pedagogy_lib.learning.regression (book Section 5.1.1, Eqs. 5.2-5.6 and 5.10; Appendix A.1, Eqs. A.1-A.8).

Oracles, each independent of the code under test:

* ``np.linalg.lstsq`` / ``np.linalg.pinv`` and the book's sample-average formula written with
  ``np.linalg.solve``;
* scikit-learn ``LinearRegression``, ``Ridge`` (``alpha`` = our ``ridge``: both penalize the *summed*
  squared error), ``RidgeCV(store_cv_results=True)`` and ``cross_val_predict`` with ``LeaveOneOut``;
* the Bayesian posterior by dense Schur conditioning of the joint Gaussian of weights and outputs
  (``gaussian.joint`` + ``gaussian.condition``);
* brute-force refits, one per left-out sample or fold, with ``np.linalg.solve``.
"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, Ridge, RidgeCV
from sklearn.model_selection import LeaveOneOut, cross_val_predict

from pedagogy_lib.gaussian import blocks as gaussian
from pedagogy_lib.learning import regression as reg

RTOL = 1e-10          # exact algebraic identities in float64


def make_data(rng, N, M, K=None, offset=0.0):
    X = rng.standard_normal((N, M)) + 0.5
    w = rng.standard_normal((M,) if K is None else (M, K))
    y = X @ w + offset + 0.3 * rng.standard_normal((N,) if K is None else (N, K))
    return X, y


def ridge_refit(X, y, lam, fit_intercept):
    """Brute-force oracle: ridge with an unpenalized offset via the augmented normal equations."""
    if fit_intercept:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
        P = np.diag(np.r_[np.full(X.shape[1] - 1, lam), 0.0])
    else:
        P = lam * np.eye(X.shape[1])
    return X, np.linalg.solve(X.T @ X + P, X.T @ y)


# ----------------------------------------------------------------------------------------------
# Normal equations (Eq. 5.2)
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("N,M,K", [(20, 3, None), (50, 5, 2), (6, 6, None)])
def test_normal_equations_match_lstsq_and_book_formula(N, M, K):
    """The normal equations (Eq. A.1 in row layout) against least squares by lstsq and Eq. 5.2."""
    rng = np.random.default_rng(N + M)
    X, y = make_data(rng, N, M, K)
    fit = reg.linear_regression(X, y)
    np.testing.assert_allclose(fit.w, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-9, atol=1e-12)
    # Eq. 5.2 in the book's symbols: D = <X Y^T> <Y Y^T>^{-1}, with Y = X.T (inputs), X = y.T (outputs).
    Yb, Xb = X.T, np.atleast_2d(y.T)
    D = np.linalg.solve((Yb @ Yb.T / N).T, (Xb @ Yb.T / N).T).T
    np.testing.assert_allclose(fit.w, D.T.reshape(fit.w.shape), rtol=1e-9)
    assert fit.rank == M and fit.intercept is not None


def test_intercept_matches_sklearn_and_appended_ones():
    rng = np.random.default_rng(2)
    X, y = make_data(rng, 40, 3, offset=2.5)
    fit = reg.linear_regression(X, y, fit_intercept=True)
    sk = LinearRegression(fit_intercept=True).fit(X, y)
    np.testing.assert_allclose(fit.w, sk.coef_, rtol=1e-10)
    assert fit.intercept == pytest.approx(sk.intercept_, rel=1e-10)
    # Appending a 1 to each input and the offset to w (the book's alternative, Section 5.1.1) gives the same.
    w_aug = np.linalg.lstsq(np.hstack([X, np.ones((40, 1))]), y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[fit.w, fit.intercept], w_aug, rtol=1e-10)


def test_underdetermined_gives_minimum_norm_and_is_ridge_limit():
    rng = np.random.default_rng(3)
    X, y = make_data(rng, 4, 9)                                   # N < M: <Y Y^T> singular (Section 5.1.1)
    w_pinv = np.linalg.pinv(X) @ y
    fit = reg.linear_regression(X, y)
    np.testing.assert_allclose(fit.w, w_pinv, rtol=1e-9)
    assert fit.rank == 4
    errs = [np.linalg.norm(reg.linear_regression(X, y, ridge=10.0**-k).w - w_pinv) for k in (1, 2, 3, 4, 5, 6)]
    assert all(b < a for a, b in zip(errs, errs[1:])) and errs[-1] < 1e-6
    # (smaller lambda makes X^T X + lambda I ill-conditioned: round-off, not the limit, dominates)


# ----------------------------------------------------------------------------------------------
# Ridge (Eq. 5.6) and its Bayesian reading
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("lam", [1e-3, 0.7, 25.0])
def test_ridge_matches_sklearn_alpha(lam, fit_intercept):
    rng = np.random.default_rng(4)
    X, y = make_data(rng, 30, 4, K=2, offset=1.0)
    fit = reg.linear_regression(X, y, ridge=lam, fit_intercept=fit_intercept)
    # sklearn minimizes ||y - Xw||^2 + alpha ||w||^2: same minimizer as ours with alpha = lambda.
    sk = Ridge(alpha=lam, fit_intercept=fit_intercept, solver="cholesky").fit(X, y)
    np.testing.assert_allclose(fit.w, sk.coef_.T, rtol=1e-9)
    np.testing.assert_allclose(fit.intercept, sk.intercept_, rtol=1e-9, atol=1e-12)
    assert fit.ridge == lam


def test_matrix_penalty_equals_augmented_least_squares():
    rng = np.random.default_rng(5)
    X, y = make_data(rng, 12, 3)
    A = rng.standard_normal((3, 3))
    Lam = A @ A.T + 0.5 * np.eye(3)
    R = np.linalg.cholesky(Lam).T                                  # Lam = R^T R
    w_aug = np.linalg.lstsq(np.vstack([X, R]), np.r_[y, np.zeros(3)], rcond=None)[0]
    fit = reg.linear_regression(X, y, ridge=Lam)
    np.testing.assert_allclose(fit.w, w_aug, rtol=1e-9)
    np.testing.assert_allclose(fit.ridge, Lam)


@pytest.mark.parametrize("K", [None, 3])
def test_ridge_equals_bayesian_posterior_mean(K):
    rng = np.random.default_rng(6)
    N, M = 15, 4
    X, y = make_data(rng, N, M, K)
    sigma2, sigma_d2 = 0.4, 2.5
    post = reg.bayesian_linear_regression(X, y, prior_precision=1.0 / sigma_d2, noise_variance=sigma2)
    fit = reg.linear_regression(X, y, ridge=sigma2 / sigma_d2)
    np.testing.assert_allclose(post.mu, fit.w, rtol=1e-10)
    np.testing.assert_allclose(post.ridge, sigma2 / sigma_d2 * np.eye(M), rtol=1e-14)
    # Oracle: w ~ N(0, sigma_d2 I) (the Gaussian prior of Eqs. 5.3-5.4), y = X w + noise with variance
    # sigma2 (Eq. 5.5); condition the joint on y (Schur complement).
    cols = [y] if K is None else [y[:, k] for k in range(K)]
    for k, yk in enumerate(cols):
        J = gaussian.joint(np.zeros(M), sigma_d2 * np.eye(M), X, np.zeros(N), sigma2 * np.eye(N))
        cond = gaussian.condition(J.mu, J.Sigma, np.arange(M, M + N), yk)
        mu_k = post.mu if K is None else post.mu[:, k]
        np.testing.assert_allclose(mu_k, cond.mu, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(post.Sigma, cond.Sigma, rtol=1e-9, atol=1e-12)


def test_bayesian_with_full_prior_precision():
    rng = np.random.default_rng(7)
    X, y = make_data(rng, 10, 3)
    A = rng.standard_normal((3, 3))
    Sigma_d = A @ A.T + 0.2 * np.eye(3)
    sigma2 = 0.8
    post = reg.bayesian_linear_regression(X, y, np.linalg.inv(Sigma_d), sigma2)
    J = gaussian.joint(np.zeros(3), Sigma_d, X, np.zeros(10), sigma2 * np.eye(10))
    cond = gaussian.condition(J.mu, J.Sigma, np.arange(3, 13), y)
    np.testing.assert_allclose(post.mu, cond.mu, rtol=1e-9)
    np.testing.assert_allclose(post.Sigma, cond.Sigma, rtol=1e-9, atol=1e-12)
    # Eq. 5.6 with sums and the matrix penalty sigma^2 Sigma_d^{-1}
    np.testing.assert_allclose(reg.linear_regression(X, y, ridge=post.ridge).w, post.mu, rtol=1e-9)


def test_draft_eq_5_6_counts_the_prior_once_per_sample():
    """Erratum (Section 5.1.1, Eq. 5.6): with sample averages the prior term is N times too strong."""
    rng = np.random.default_rng(8)
    N, M = 25, 3
    X, y = make_data(rng, N, M)
    sigma2, sigma_d2 = 0.5, 1.5
    # Eq. 5.6 exactly as printed, in the book's symbols (Y = X.T inputs, X = y outputs):
    Yb, Xb = X.T, y[None, :]
    D_printed = np.linalg.solve((Yb @ Yb.T / N + sigma2 / sigma_d2 * np.eye(M)).T, (Xb @ Yb.T / N).T).T
    post = reg.bayesian_linear_regression(X, y, 1.0 / sigma_d2, sigma2)
    # As printed it equals our ridge with lambda = N sigma^2 / sigma_d^2 ...
    np.testing.assert_allclose(D_printed[0], reg.linear_regression(X, y, ridge=N * sigma2 / sigma_d2).w, rtol=1e-10)
    # ... which is not the posterior mean (the prior is counted once, not N times):
    assert np.max(np.abs(D_printed[0] - post.mu)) > 1e-3
    # With sigma^2 Sigma_d^{-1} / N inside the averages it is.
    D_fixed = np.linalg.solve((Yb @ Yb.T / N + sigma2 / sigma_d2 / N * np.eye(M)).T, (Xb @ Yb.T / N).T).T
    np.testing.assert_allclose(D_fixed[0], post.mu, rtol=1e-10)


def test_ridge_normal_matrix_is_positive_definite_when_underdetermined():
    rng = np.random.default_rng(9)
    X, y = make_data(rng, 3, 6)
    fit = reg.linear_regression(X, y, ridge=0.1)
    assert fit.rank == 6
    assert np.linalg.eigvalsh(X.T @ X + 0.1 * np.eye(6))[0] > 0
    np.testing.assert_allclose(fit.w, np.linalg.solve(X.T @ X + 0.1 * np.eye(6), X.T @ y), rtol=1e-9)


# ----------------------------------------------------------------------------------------------
# Leave-one-out in one step (Eqs. A.6-A.7) and K-fold (Eq. A.8)
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("lam", [0.0, 0.3, 5.0])
@pytest.mark.parametrize("K", [None, 2])
def test_one_step_loo_equals_brute_force_refits(lam, fit_intercept, K):
    """The leave-one-out predictions (Eq. A.6) and residuals (Eq. A.7) against N refits."""
    rng = np.random.default_rng(10)
    N, M = 14, 3
    X, y = make_data(rng, N, M, K, offset=1.5)
    res = reg.loo_residuals(X, y, ridge=lam, fit_intercept=fit_intercept)
    e_bf = np.empty_like(y)
    yhat_bf = np.empty_like(y)
    for n in range(N):
        keep = np.arange(N) != n
        _, w = ridge_refit(X[keep], y[keep], lam, fit_intercept)
        x_n = np.r_[X[n], 1.0] if fit_intercept else X[n]
        yhat_bf[n] = x_n @ w
        e_bf[n] = y[n] - yhat_bf[n]
    np.testing.assert_allclose(res.e_loo, e_bf, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(res.y_hat_loo, yhat_bf, rtol=RTOL, atol=1e-12)
    assert reg.loo_cv_error(X, y, ridge=lam, fit_intercept=fit_intercept) == pytest.approx(np.mean(e_bf**2), rel=1e-10)
    # e = y - y_hat of the full fit (Eq. A.5)
    Xa, w_full = ridge_refit(X, y, lam, fit_intercept)
    np.testing.assert_allclose(res.e, y - Xa @ w_full, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_loo_matches_sklearn_cross_val_predict(fit_intercept):
    """The leave-one-out predictions of Eq. A.6 against scikit-learn's."""
    rng = np.random.default_rng(11)
    X, y = make_data(rng, 20, 3, offset=-1.0)
    pred = cross_val_predict(LinearRegression(fit_intercept=fit_intercept), X, y, cv=LeaveOneOut())
    res = reg.loo_residuals(X, y, fit_intercept=fit_intercept)
    np.testing.assert_allclose(res.y_hat_loo, pred, rtol=1e-9)


def test_ridge_loo_matches_sklearn_ridgecv():
    rng = np.random.default_rng(12)
    X, y = make_data(rng, 25, 4)
    lam = 0.8
    # RidgeCV's efficient LOO stores squared LOO errors per sample (fit_intercept=False: no centering),
    # to be compared with the squares of Eq. A.7's residuals.
    sk = RidgeCV(alphas=[lam], fit_intercept=False, store_cv_results=True).fit(X, y)
    res = reg.loo_residuals(X, y, ridge=lam)
    np.testing.assert_allclose(res.e_loo**2, sk.cv_results_[:, 0], rtol=1e-8)


def test_hat_matrix_properties():
    """h_nn in [0, 1], trace H = M, and H's eigenvalues are 0 or 1 (not -1: erratum in App. A.1)."""
    rng = np.random.default_rng(13)
    N, M = 12, 4
    X, y = make_data(rng, N, M)
    res = reg.loo_residuals(X, y)
    assert np.all(res.h >= 0) and np.all(res.h <= 1)
    assert res.h.sum() == pytest.approx(M, rel=1e-12)
    H = X @ np.linalg.solve(X.T @ X, X.T)                           # Eq. A.3 in row layout
    np.testing.assert_allclose(np.diag(H), res.h, rtol=1e-10)
    eig = np.linalg.eigvalsh(H)
    assert np.all(np.minimum(np.abs(eig), np.abs(eig - 1)) < 1e-10)
    assert np.sum(np.abs(eig - 1) < 1e-10) == M
    # Leverage is what inflates the LOO residual: |e_loo| >= |e| (Eq. A.7 with 0 < m_nn <= 1).
    assert np.all(np.abs(res.e_loo) >= np.abs(res.e))


@pytest.mark.parametrize("lam,fit_intercept", [(0.0, False), (0.0, True), (1.3, True)])
def test_lofo_equals_brute_force_kfold(lam, fit_intercept):
    """The leave-one-fold-out residuals of Eq. A.8 against one refit per fold."""
    rng = np.random.default_rng(14)
    N, M = 23, 3
    X, y = make_data(rng, N, M, offset=0.7)
    folds = np.repeat(np.arange(4), [6, 6, 6, 5])                   # contiguous, unequal sizes
    folds_shuffled = rng.permutation(folds)                          # non-contiguous too
    for f in (folds, folds_shuffled):
        e = reg.lofo_residuals(X, y, f, ridge=lam, fit_intercept=fit_intercept)
        e_bf = np.empty(N)
        for k in range(4):
            out = f == k
            _, w = ridge_refit(X[~out], y[~out], lam, fit_intercept)
            Xo = np.hstack([X[out], np.ones((out.sum(), 1))]) if fit_intercept else X[out]
            e_bf[out] = y[out] - Xo @ w
        np.testing.assert_allclose(e, e_bf, rtol=RTOL, atol=1e-12)
    # One sample per fold is leave-one-out.
    np.testing.assert_allclose(reg.lofo_residuals(X, y, np.arange(N), ridge=lam, fit_intercept=fit_intercept),
                               reg.loo_residuals(X, y, ridge=lam, fit_intercept=fit_intercept).e_loo, rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# Validation: one test per message
# ----------------------------------------------------------------------------------------------

X0, Y0 = np.arange(15.0).reshape(5, 3) ** 0.5, np.arange(5.0)
LEV1 = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 3.0]])   # sample 0 alone sets w[0]: h_00 = 1


@pytest.mark.parametrize("call, match", [
    (lambda: reg.linear_regression(np.ones(5), Y0), r"X must be a 2-D array"),
    (lambda: reg.linear_regression(X0, np.ones(4)), r"y must have shape \(N,\) or \(N, K\) with N = 5 \(the rows of X\); got \(4,\)"),
    (lambda: reg.linear_regression(X0, np.ones((5, 2, 1))), r"y must have shape \(N,\) or \(N, K\)"),
    (lambda: reg.linear_regression(np.where(X0 > 3, np.nan, X0), Y0), r"X must be finite; got nan at index \(3, 1\)"),
    (lambda: reg.linear_regression(X0, np.r_[Y0[:4], np.inf]), r"y must be finite; got inf at index 4"),
    (lambda: reg.linear_regression(np.ones((0, 3)), np.ones(0)), r"X needs at least 1 sample \(rows\); got 0"),
    (lambda: reg.linear_regression(np.ones((5, 0)), Y0), r"X must have at least one column"),
    (lambda: reg.linear_regression(X0, Y0, ridge=-1.0), r"ridge must be non-negative; got -1"),
    (lambda: reg.linear_regression(X0, Y0, ridge=np.nan), r"ridge must be finite"),
    (lambda: reg.linear_regression(X0, Y0, ridge=np.eye(2)), r"ridge must have shape \(M, M\) = \(3, 3\); got \(2, 2\)"),
    (lambda: reg.linear_regression(X0, Y0, ridge=-np.eye(3)), r"ridge is not symmetric positive definite"),
    (lambda: reg.linear_regression(X0, Y0, ridge=np.triu(np.ones((3, 3)))), r"ridge is not symmetric"),
    (lambda: reg.bayesian_linear_regression(X0, Y0, 1.0, 0.0), r"noise_variance must be positive; got 0"),
    (lambda: reg.bayesian_linear_regression(X0, Y0, -2.0, 1.0), r"prior_precision must be positive; got -2"),
    (lambda: reg.bayesian_linear_regression(X0, Y0, np.eye(4), 1.0), r"prior_precision must have shape \(M, M\) = \(3, 3\)"),
    (lambda: reg.bayesian_linear_regression(X0, Y0, np.zeros((3, 3)), 1.0), r"prior_precision is not symmetric positive definite"),
    (lambda: reg.loo_residuals(X0[:1], Y0[:1]), r"X needs at least 2 samples \(rows\); got 1"),
    (lambda: reg.loo_residuals(np.c_[X0, X0[:, :1]], Y0), r"X has rank 3 < 4 columns: the hat matrix"),
    (lambda: reg.loo_residuals(np.c_[np.ones(5), X0], Y0, fit_intercept=True), r"X has rank 4 < 5 columns \(with the intercept\)"),
    (lambda: reg.loo_residuals(LEV1, np.ones(4)), r"sample 0 has leverage h_nn = 1"),
    (lambda: reg.lofo_residuals(X0, Y0, [0, 1, 0, 1]), r"folds must have shape \(N,\) = \(5,\); got \(4,\)"),
    (lambda: reg.lofo_residuals(X0, Y0, [0, 1, 0, 1, 0.5]), r"folds must hold integer fold labels; entry 4 is 0.5"),
    (lambda: reg.lofo_residuals(X0, Y0, [2, 2, 2, 2, 2]), r"folds must contain at least 2 distinct labels; got 1"),
    (lambda: reg.lofo_residuals(LEV1, np.ones(4), [0, 0, 1, 1]), r"leaving out fold 0 makes the normal equations singular"),
])
def test_validation_messages(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- generalized least squares (Eq. 5.10)
def test_generalized_least_squares_eq_5_10_against_its_formula_sklearn_and_the_likelihood():
    """Eq. 5.10 (rows: w = (X^T U^-1 X)^-1 X^T U^-1 y) three ways: the formula with an explicit
    inverse, scikit-learn's sample weights 1/u_nn for a diagonal Upsilon, and a zero gradient of
    the generalized squared error tr[(y - Xw)^T U^-1 (y - Xw)] by central differences."""
    from sklearn.linear_model import LinearRegression

    r = np.random.default_rng(510)
    N, M = 25, 3
    X = r.normal(size=(N, M))
    y = X @ r.normal(size=M) + r.normal(size=N)
    A = r.normal(size=(N, N))
    U = A @ A.T / N + 0.5 * np.eye(N)
    Ui = np.linalg.inv(U)
    w = reg.generalized_least_squares(X, y, U)
    np.testing.assert_allclose(w, np.linalg.solve(X.T @ Ui @ X, X.T @ Ui @ y), rtol=1e-9)
    loss = lambda v: float((y - X @ v) @ Ui @ (y - X @ v))
    g = [(loss(w + 1e-6 * e) - loss(w - 1e-6 * e)) / 2e-6 for e in np.eye(M)]
    np.testing.assert_allclose(g, 0.0, atol=1e-6 * loss(w))
    v = r.uniform(0.1, 4.0, N)
    ref = LinearRegression(fit_intercept=False).fit(X, y, sample_weight=1 / v).coef_
    np.testing.assert_allclose(reg.generalized_least_squares(X, y, v), ref, rtol=1e-9)
    np.testing.assert_allclose(reg.generalized_least_squares(X, y, np.diag(v)), ref, rtol=1e-9)
    # several outputs at once; Upsilon's scale does not matter; Upsilon = I is ordinary least squares
    Y2 = np.column_stack([y, 2 * y + 1])
    W2 = reg.generalized_least_squares(X, Y2, 7.0 * U)
    np.testing.assert_allclose(W2[:, 0], w, rtol=1e-9)
    np.testing.assert_allclose(reg.generalized_least_squares(X, y, np.eye(N)), reg.linear_regression(X, y).w, rtol=1e-9)


@pytest.mark.parametrize("Upsilon,fragment", [
    (np.ones(4), "shape"),
    (-np.ones(5), "positive"),
    (np.ones((5, 5)), "positive definite"),
    (np.eye(4), "shape"),
])
def test_generalized_least_squares_names_a_bad_upsilon(Upsilon, fragment):
    X = np.arange(10.0).reshape(5, 2) ** 1.5
    with pytest.raises(ValueError, match="Upsilon") as err:
        reg.generalized_least_squares(X, np.ones(5), Upsilon)
    assert fragment in str(err.value)


def test_generalized_least_squares_refuses_rank_deficient_inputs():
    X = np.column_stack([np.ones(6), 2 * np.ones(6)])
    with pytest.raises(ValueError, match="rank 1 < 2"):
        reg.generalized_least_squares(X, np.arange(6.0), np.linspace(1, 2, 6))
