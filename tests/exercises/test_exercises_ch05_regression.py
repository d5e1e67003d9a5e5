"""Tests for the checkers of notebook 5.1.1 (pedagogy_lib.exercises.ch05_regression).

References are computed here independently of the checkers: numpy's lstsq, scikit-learn's Ridge
(alpha is the penalty on the summed squared error), and brute-force refits for leave-one-out.
"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from pedagogy_lib.exercises import ch05_regression as check


# ---------------------------------------------------------------- exercise 1: normal equations with tied rows
def _d_stacked():
    """The tied row d from its definition, by least squares on the whitened, stacked problem: with
    Sigma = L L^T the cross entropy is (1/2) sum_n |L^{-1} (x_n - 1 d^T y_n)|^2 + const, a least-squares
    problem in d with N K rows L^{-1} 1 y_n^T and targets L^{-1} x_n."""
    Y, X, S = check.EX_NORMAL
    L = np.linalg.cholesky(S)
    u = np.linalg.solve(L, np.ones(S.shape[0]))
    A = np.vstack([np.outer(u, Y[:, n]) for n in range(Y.shape[1])])
    b = np.concatenate([np.linalg.solve(L, X[:, n]) for n in range(Y.shape[1])])
    return np.linalg.lstsq(A, b, rcond=None)[0]


def _D_tied():
    Y, X, S = check.EX_NORMAL
    return np.outer(np.ones(X.shape[0]), _d_stacked())


def _loss(d):
    """The sample cross entropy of Eq. 5.1 with D = 1 d^T, up to constants (the page's loss written out)."""
    Y, X, S = check.EX_NORMAL
    R = X - np.outer(np.ones(X.shape[0]), d @ Y)
    return 0.5 * np.mean(np.sum(R * np.linalg.solve(S, R), axis=0))


def test_normal_problem_shapes_are_the_book_layout():
    Y, X, S = check.EX_NORMAL
    assert Y.shape == (2, 6) and X.shape == (2, 6) and S.shape == (2, 2)
    assert np.linalg.matrix_rank(Y) == 2 and np.linalg.eigvalsh(S)[0] > 0
    assert abs(S[0, 1]) > 0.1 and abs(S[0, 0] - S[1, 1]) > 0.5     # correlated, unequal noise


def test_tied_reference_is_stationary_and_a_minimum():
    d = _d_stacked()
    h = 1e-6
    grad = np.array([(_loss(d + h * e) - _loss(d - h * e)) / (2 * h) for e in np.eye(2)])
    assert np.abs(grad).max() < 1e-7
    assert all(_loss(d + t * e) > _loss(d) for e in np.eye(2) for t in (-1e-2, 1e-2))


def test_normal_equations_correct_passes():
    res = check.normal_equations(_D_tied())
    assert res and "correct" in str(res)


def test_the_pages_normal_equations_copied_fail():
    """The page's cell 10 (and cell 25) solves the untied normal equations; with EX_NORMAL's Y and X copied
    in, each output keeps its own row, which is not the tied answer."""
    from scipy import linalg as sla

    Y, X, S = check.EX_NORMAL
    D_hat = sla.cho_solve(sla.cho_factor(Y @ Y.T), (X @ Y.T).T).T
    res = check.normal_equations(D_hat)
    assert not res and "one row per output" in str(res)
    assert np.abs(D_hat - _D_tied()).max() > 0.05


def _tied_with(w):
    Y, X, S = check.EX_NORMAL
    return np.outer(np.ones(X.shape[0]), np.linalg.lstsq(Y.T, X.T @ w, rcond=None)[0])


@pytest.mark.parametrize("make,fragment", [
    (lambda S: _tied_with(np.full(2, 0.5)), "weighted the outputs equally"),
    (lambda S: _tied_with(S @ np.ones(2) / np.sum(S)), "Sigma itself"),
    (lambda S: _tied_with(1 / np.diag(S) / np.sum(1 / np.diag(S))), "dropping their correlation"),
    (lambda S: _tied_with(np.linalg.inv(S) @ np.ones(2)), "scaled by a constant"),
    (lambda S: _D_tied().T, "transpose"),
    (lambda S: -_D_tied(), "wrong sign"),
    (lambda S: _d_stacked(), "shape"),
    (lambda S: _D_tied() + 0.01, "not within tolerance"),
])
def test_normal_equations_wrong_answers_fail_with_hint(make, fragment):
    res = check.normal_equations(make(check.EX_NORMAL.Sigma))
    assert not res
    assert fragment in str(res), str(res)


def test_normal_equations_none_fails_gracefully():
    res = check.normal_equations(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 2: ridge conventions
def _refs():
    """Both answers from scikit-learn's Ridge after centring and whitening the prior: with
    Sigma_d = L L^T and d = m_d + L u, u ~ N(0, I), the inputs L^T Y and the outputs X - m_d^T Y carry
    an isotropic unit-variance zero-mean prior, so the posterior mean is Ridge(alpha=sigma^2) on them
    and Eq. 5.6's convention is Ridge(alpha=N sigma^2); D = m_d^T + U L^T."""
    Y, X, m, S_d, s2 = check.EX_RIDGE
    N = Y.shape[1]
    L = np.linalg.cholesky(S_d)
    Yw, Xc = L.T @ Y, X - m[None, :] @ Y
    bayes = Ridge(alpha=s2, fit_intercept=False, solver="cholesky").fit(Yw.T, Xc.T).coef_
    draft = Ridge(alpha=N * s2, fit_intercept=False, solver="cholesky").fit(Yw.T, Xc.T).coef_
    return m[None, :] + bayes.reshape(1, -1) @ L.T, m[None, :] + draft.reshape(1, -1) @ L.T


def _averaged_objective(d):
    """Eq. 5.6's convention: (1/N) sum_n [ (x_n - d^T y_n)^2 / (2 sigma^2) + (d - m)^T Sigma_d^{-1} (d - m) / 2 ]."""
    Y, X, m, S_d, s2 = check.EX_RIDGE
    r = X[0] - d @ Y
    return np.mean(r ** 2 / (2 * s2) + 0.5 * (d - m) @ np.linalg.solve(S_d, d - m))


def test_ridge_prior_is_not_isotropic_and_not_centred():
    """The page's code handles Sigma_d = sigma_d^2 I only and its formulas a zero-mean prior; the
    exercise's prior has unequal variances, a correlation and a mean away from zero, so no scalar
    penalty lambda I, and no zero-mean formula, gives the posterior mean."""
    Y, X, m, S_d, s2 = check.EX_RIDGE
    assert np.ptp(np.diag(S_d)) > 0.5 and np.abs(S_d - np.diag(np.diag(S_d))).max() > 0.2
    assert np.linalg.eigvalsh(S_d)[0] > 0.1 and np.abs(m).max() >= 1.0
    bayes, _ = _refs()
    G, B = Y @ Y.T, X @ Y.T
    best = min(np.abs(np.linalg.solve(G + lam * np.eye(3), B.T).T - bayes).max()
               for lam in np.logspace(-3, 3, 601))
    assert best > 1e-2


def test_ridge_refs_match_posterior_mean_and_eq_5_6_convention():
    Y, X, m, S_d, s2 = check.EX_RIDGE
    N = Y.shape[1]
    bayes, draft = _refs()
    # posterior mean by conditioning the joint Gaussian of (d, x) densely: d ~ N(m, S_d), x = Y^T d + noise
    C_xx = Y.T @ S_d @ Y + s2 * np.eye(N)
    cond = m[None, :] + (S_d @ Y @ np.linalg.solve(C_xx, X[0] - m @ Y))[None, :]
    np.testing.assert_allclose(bayes, cond, rtol=1e-10)
    # Eq. 5.6's convention: the averaged objective is stationary at draft (central differences) and larger
    # a little way off in every coordinate direction
    h = 1e-5
    grad = np.array([(_averaged_objective(draft[0] + h * e) - _averaged_objective(draft[0] - h * e)) / (2 * h)
                     for e in np.eye(3)])
    assert np.abs(grad).max() < 1e-7
    f0 = _averaged_objective(draft[0])
    assert all(_averaged_objective(draft[0] + t * e) > f0 for e in np.eye(3) for t in (-1e-2, 1e-2))
    assert np.abs(bayes - draft).max() > 1e-2


def test_ridge_conventions_correct_passes():
    res = check.ridge_conventions(*_refs())
    assert res and "correct" in str(res)


def _ridge(P, c=0.0, avg=False):
    """(X Y^T + c)(Y Y^T + P)^{-1}, with averages of X Y^T and Y Y^T if avg."""
    Y, X, _, _, _ = check.EX_RIDGE
    N = Y.shape[1] if avg else 1
    return np.linalg.solve(Y @ Y.T / N + P, (Y @ X.T / N + np.reshape(c, (-1, 1)))).T


def test_the_pages_isotropic_code_copied_fails():
    """The page's hidden check writes D_post = X Y^T (Y Y^T + lam I)^{-1}: with any scalar read off Sigma_d
    (its mean variance, its largest or smallest) it is not the answer."""
    Y, X, m, S_d, s2 = check.EX_RIDGE
    N = Y.shape[1]
    for s2d in (np.trace(S_d) / 3, np.diag(S_d).max(), np.diag(S_d).min()):
        lam = s2 / s2d
        D_post = X @ Y.T @ np.linalg.inv(Y @ Y.T + lam * np.eye(3))
        D_draft = (X @ Y.T / N) @ np.linalg.inv(Y @ Y.T / N + lam * np.eye(3))
        assert not check.ridge_conventions(D_post, D_draft)


def test_the_pages_printed_formulas_copied_fail():
    """Step 1 prints D_post = X Y^T (Y Y^T + sigma^2 Sigma_d^{-1})^{-1} and Step 3 prints Eq. 5.6 with
    <.> for a general Sigma_d, but both for a zero-mean prior: with the exercise's Sigma_d and sigma2
    put in, they are not the answer (and the message names the missing prior mean)."""
    Y, X, m, S_d, s2 = check.EX_RIDGE
    N = Y.shape[1]
    P = s2 * np.linalg.inv(S_d)
    D_post = np.linalg.solve((Y @ Y.T + P).T, (X @ Y.T).T).T
    D_draft = np.linalg.solve((Y @ Y.T / N + P).T, (X @ Y.T / N).T).T
    res = check.ridge_conventions(D_post, D_draft)
    assert not res and "centred at zero" in str(res)
    bayes, draft = _refs()
    assert np.abs(D_post - bayes).max() > 0.1 and np.abs(D_draft - draft).max() > 0.1


@pytest.mark.parametrize("which,fragment", [
    ("swapped", "counted N times"),
    ("zero_mean", "centred at zero"),
    ("mean_after", "added the prior mean after solving"),
    ("mean_no_precision", "lacks the prior precision"),
    ("mean_no_sigma2", "lacks the noise variance"),
    ("uninverted", "Sigma_d itself"),
    ("diagonal", "only the diagonal"),
    ("no_sigma2", "left out the noise variance"),
    ("ols", "without the prior"),
])
def test_ridge_wrong_bayes_fails_with_hint(which, fragment):
    Y, X, m, S_d, s2 = check.EX_RIDGE
    bayes, draft = _refs()
    P = np.linalg.inv(S_d)
    Pdiag = np.diag(1 / np.diag(S_d))
    wrong = {"swapped": lambda: draft,
             "zero_mean": lambda: _ridge(s2 * P),
             "mean_after": lambda: _ridge(s2 * P) + m,
             "mean_no_precision": lambda: _ridge(s2 * P, s2 * m),
             "mean_no_sigma2": lambda: _ridge(s2 * P, P @ m),
             "uninverted": lambda: _ridge(s2 * S_d, s2 * S_d @ m),
             "diagonal": lambda: _ridge(s2 * Pdiag, s2 * Pdiag @ m),
             "no_sigma2": lambda: _ridge(P, P @ m),
             "ols": lambda: _ridge(0 * P)}[which]()
    res = check.ridge_conventions(wrong, draft)
    assert not res
    assert fragment in str(res)


@pytest.mark.parametrize("which,fragment", [
    ("bayes", "sums form"),
    ("zero_mean", "centred at zero"),
    ("mean_once", "not counted the same number of times"),
    ("mixed", "averaged X Y^T but summed"),
    ("uninverted", "Sigma_d itself"),
])
def test_ridge_wrong_draft_fails_with_hint(which, fragment):
    Y, X, m, S_d, s2 = check.EX_RIDGE
    N = Y.shape[1]
    bayes, draft = _refs()
    P = np.linalg.inv(S_d)
    wrong = {"bayes": lambda: bayes,
             "zero_mean": lambda: _ridge(s2 * P, avg=True),
             "mean_once": lambda: _ridge(N * s2 * P, s2 * P @ m),
             "mixed": lambda: _ridge(s2 * P, s2 * P @ m) / N,
             "uninverted": lambda: _ridge(s2 * S_d, s2 * S_d @ m, avg=True)}[which]()
    res = check.ridge_conventions(bayes, wrong)
    assert not res
    assert fragment in str(res)


def test_ridge_none_fails_gracefully():
    res = check.ridge_conventions(None, None)
    assert not res and str(res).count("None") >= 2


# ---------------------------------------------------------------- exercise 3: LOO residual
def _ridge_fit(X, y, lam):
    """Ridge weights as least squares on the augmented system [X^T; sqrt(lam) I] w = [y; 0]."""
    M = X.shape[0]
    A = np.vstack([X.T, np.sqrt(lam) * np.eye(M)])
    return np.linalg.lstsq(A, np.concatenate([y, np.zeros(M)]), rcond=None)[0]


def _brute(lam=None):
    """Leverage, LOO residual and ordinary residual of sample n, by refitting: the leverage is the
    derivative of the fitted value yhat_n with respect to y_n (the fit is linear in y), taken as the
    change of yhat_n when y_n grows by one; the LOO residual refits without sample n."""
    X, y, n, lam_ex = check.EX_LOO
    lam = lam_ex if lam is None else lam
    keep = np.arange(y.size) != n
    e_loo = y[n] - X[:, n] @ _ridge_fit(X[:, keep], y[keep], lam)
    y_hat_n = X[:, n] @ _ridge_fit(X, y, lam)
    bumped = y.copy()
    bumped[n] += 1.0
    h = X[:, n] @ _ridge_fit(X, bumped, lam) - y_hat_n
    return float(h), float(e_loo), float(y[n] - y_hat_n)


def test_loo_point_has_high_leverage():
    h, e_loo, e = _brute()
    assert h > 0.8 and abs(e_loo) > 3 * abs(e)


def test_loo_penalty_changes_the_answer():
    """The page's cells compute the unpenalized H and e / (1 - h); copied with the exercise's data they
    give a leverage and a residual far from the ridge fit's."""
    h, e_loo, _ = _brute()
    h0, e0_loo, _ = _brute(lam=0.0)
    assert h0 - h > 0.02 and abs(e0_loo - e_loo) > 0.2 * abs(e_loo)
    res = check.loo_residual(h0, e0_loo)
    assert not res and "unpenalized" in str(res)


def test_loo_correct_passes_from_brute_force_refit():
    h, e_loo, _ = _brute()
    res = check.loo_residual(h, e_loo)
    assert res and "correct" in str(res)


@pytest.mark.parametrize("which,fragment", [
    ("ordinary", "ordinary residual"),
    ("times_m", "multiplied by m_nn"),
    ("one_plus", "1 + h_nn"),
    ("over_h", "divided by h_nn"),
    ("prediction", "prediction, not the residual"),
    ("plain_h", "unpenalized leverage"),
])
def test_loo_wrong_residual_fails_with_hint(which, fragment):
    X, y, n, lam = check.EX_LOO
    h, e_loo, e = _brute()
    h0 = _brute(lam=0.0)[0]
    wrong = {"ordinary": e, "times_m": e * (1 - h), "one_plus": e / (1 + h), "over_h": e / h,
             "prediction": y[n] - e_loo, "plain_h": e / (1 - h0)}[which]
    res = check.loo_residual(h, wrong)
    assert not res
    assert fragment in str(res)


@pytest.mark.parametrize("which,fragment", [("m", "m_nn = 1 - h_nn"), ("trace", "number of parameters"),
                                            ("plain", "unpenalized")])
def test_loo_wrong_leverage_fails_with_hint(which, fragment):
    h, e_loo, _ = _brute()
    res = check.loo_residual({"m": 1 - h, "trace": 2.0, "plain": _brute(lam=0.0)[0]}[which], e_loo)
    assert not res
    assert fragment in str(res)


def test_loo_none_fails_gracefully():
    res = check.loo_residual(None, None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 4: K-fold in one step
def _lofo_by_refitting(H, e, folds):
    """The answer without Eq. A.8: recover a data set with this hat matrix and these residuals
    (H = Q Q^T with Q an orthonormal basis of its range; any inputs spanning it give the same
    fits), then refit without each fold. Independent of the checker's formula."""
    vals, vecs = np.linalg.eigh(H)
    Q = vecs[:, vals > 0.5]                                  # inputs: samples in rows, rank M
    y = e + H @ np.arange(1.0, e.size + 1)                   # any y with (I - H) y = e
    out = np.empty_like(e)
    for k in np.unique(folds):
        o = folds == k
        w = np.linalg.lstsq(Q[~o], y[~o], rcond=None)[0]
        out[o] = y[o] - Q[o] @ w
    return out


def test_lofo_function_refitting_passes():
    assert check.lofo_function(_lofo_by_refitting)


@pytest.mark.parametrize("wrong,fragment", [
    (lambda H, e, f: e, "ordinary residuals"),
    (lambda H, e, f: e / (1 - np.diag(H)), "one sample at a time"),
    (lambda H, e, f: 2.0 * _lofo_by_refitting(H, e, f), "scaled by a constant"),
    (lambda H, e, f: None, "forget to return"),
    (lambda H, e, f: 1 / 0, "ZeroDivisionError"),
])
def test_lofo_function_wrong_answers_fail_and_name_the_slip(wrong, fragment):
    res = check.lofo_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_lofo_function_names_the_blocks_slips():
    def with_block(op):
        def fn(H, e, folds):
            out = np.empty_like(e)
            for k in np.unique(folds):
                i = np.flatnonzero(folds == k)
                out[i] = op(np.eye(i.size) - H[np.ix_(i, i)], e[i])
            return out
        return fn

    assert "multiplied e_k by M_k" in str(check.lofo_function(with_block(lambda M, v: M @ v)))
    assert check.lofo_function(with_block(lambda M, v: np.linalg.solve(M, v)))     # the right block passes


def test_lofo_function_rejects_a_non_function_and_reveals_no_answer():
    """A wrong answer is told where it failed (problem, fold sizes), never a number of the answer."""
    import re

    assert "should be a function" in str(check.lofo_function(3))
    msg = str(check.lofo_function(lambda H, e, f: e + 1.0))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg.replace("Eq. A.8", "")), msg


def test_lofo_exercise_answer_is_not_written_out_on_the_page():
    """The page derives the leave-one-fold-out residuals and computes them with the library; no code cell before the
    exercise solves the diagonal blocks I - H_k fold by fold, which is what the exercise asks for."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "chapters/ch05_discriminative_models/5_1_1_linear_regression.ipynb"
    cells = json.loads(path.read_text())["cells"]
    stop = next(i for i, c in enumerate(cells) if ":label: ex-5-1-1-lofo-function" in "".join(c["source"]))
    for c in cells[:stop]:
        code = "".join(c["source"])
        if c["cell_type"] == "code":
            assert not ("np.ix_(" in code and "np.linalg.solve" in code), code[:200]
