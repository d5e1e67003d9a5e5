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
    """The page derives Eq. A.8 and computes its residuals with the library; no code cell before the
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


def test_the_least_squares_solvers_other_than_lstsq_are_forbidden_for_the_normal_equations():
    """scipy.optimize.lsq_linear, least_squares and the iterative scipy.sparse.linalg.lsqr / lsmr solve
    the least-squares problem row by row without the normal equations, as lstsq and pinv would. Each is
    named by the statement and refused when graded."""
    from graded_routes import assert_refused_when_graded

    names = {"scipy.optimize.lsq_linear", "scipy.optimize.least_squares", "scipy.sparse.linalg.lsqr",
             "scipy.sparse.linalg.lsmr"}
    assert names <= set(check.SUMMATIVE["ex-5-1-1-normal-equations"]["forbidden"])
    imports = ("from pedagogy_lib.exercises import ch05_regression as check\nimport numpy as np\n"
               "from scipy.optimize import lsq_linear\n")
    code = ("Y, X = check.EX_NORMAL.Y, check.EX_NORMAL.X\n"
            "my_D = np.vstack([lsq_linear(Y.T, X[k], tol=1e-14).x for k in range(X.shape[0])])\n")
    assert_refused_when_graded(check, "ex-5-1-1-normal-equations", "normal_equations", "my_D", imports, code)


def test_the_gaussian_posterior_helpers_are_forbidden_for_the_normal_equations_and_ridge():
    """The posterior mean of D under a Gaussian prior is ridge (sigma_d^2 as given, or divided by N for
    Eq. 5.6 as printed) and, with a very broad prior, least squares: a one-step Kalman filter or smoother,
    the factor analyzer's posterior, or the linear-Gaussian model's exact posterior (and local_vb, whose
    means are that posterior's) computes it in one call; so do bayes_invert and condition for the normal
    equations. Each is named by its statement and refused when graded."""
    from graded_routes import assert_refused_when_graded

    helpers = {"pedagogy_lib.lgssm.kalman.kalman_filter", "pedagogy_lib.lgssm.kalman.kalman_smoother",
               "pedagogy_lib.factor.model.fa_posterior", "pedagogy_lib.vi.amortized.exact_posterior",
               "pedagogy_lib.vi.amortized.local_vb"}
    assert helpers <= set(check.SUMMATIVE["ex-5-1-1-ridge-conventions"]["forbidden"])
    assert helpers | {"pedagogy_lib.gaussian.blocks.bayes_invert", "pedagogy_lib.gaussian.blocks.condition"} <= set(
        check.SUMMATIVE["ex-5-1-1-normal-equations"]["forbidden"])
    imports = ("from pedagogy_lib.exercises import ch05_regression as check\nimport numpy as np\n"
               "from pedagogy_lib.vi.amortized import exact_posterior, linear_gaussian_model\n")
    code = ("e = check.EX_RIDGE\n"
            "M, N = e.Y.shape\n"
            "L = np.linalg.cholesky(e.Sigma_d)\n"
            "def pm(c):\n"
            "    s = np.sqrt(c)\n"
            "    C = s * (L.T @ e.Y).T\n"
            "    return s * exact_posterior(linear_gaussian_model(C, np.zeros(N), e.sigma2), e.X)[0] @ L.T\n"
            "my_D_bayes, my_D_draft = pm(1.0), pm(1.0 / N)\n")
    from courseware import grading as G
    from courseware.editions import all_exercises

    ex = next(x for x in all_exercises() if x.label == "ex-5-1-1-ridge-conventions")
    passed, text = G.grade_exercise("ex-5-1-1-ridge-conventions", ex.checker_module, "ridge_conventions",
                                    ["my_D_bayes", "my_D_draft"], [(imports, False), (code, True)], "s")
    assert not passed and "not allowed in this exercise" in text, text
    code = ("Y, X = check.EX_NORMAL.Y, check.EX_NORMAL.X\n"
            "my_D = 1e5 * exact_posterior(linear_gaussian_model(1e5 * Y.T, np.zeros(Y.shape[1]), 1.0), X)[0]\n")
    assert_refused_when_graded(check, "ex-5-1-1-normal-equations", "normal_equations", "my_D", imports, code)


def test_the_pages_gradient_with_the_exercise_data_rebound_is_refused_when_graded():
    """The page's ``grad(D, Sigma)`` reads X, Y and N from the page: bound to EX_NORMAL's data, the tied
    gradient is the sum of its rows, and a numerical solve of that linear function gives D without the
    derivation. ``grad`` and ``loss`` are named by both statements of Steps 1-3 and refused when graded."""
    from graded_routes import assert_refused_when_graded

    for label in ("ex-5-1-1-normal-equations", "ex-5-1-1-ridge-conventions"):
        assert {"grad", "loss"} <= set(check.SUMMATIVE[label]["forbidden"]), label
    imports = ("from pedagogy_lib.exercises import ch05_regression as check\nimport numpy as np\n"
               "def grad(D, Sigma):\n"
               "    return -np.linalg.solve(Sigma, (X - D @ Y) @ Y.T) / N\n")
    code = ("Y, X, S = check.EX_NORMAL.Y, check.EX_NORMAL.X, check.EX_NORMAL.Sigma\n"
            "(K, N), M = X.shape, Y.shape[0]\n"
            "g = lambda d: grad(np.outer(np.ones(K), d), S).sum(axis=0)\n"
            "b = g(np.zeros(M))\n"
            "A = np.column_stack([g(e) - b for e in np.eye(M)])\n"
            "my_D = np.outer(np.ones(K), np.linalg.solve(A, -b))\n")
    assert_refused_when_graded(check, "ex-5-1-1-normal-equations", "normal_equations", "my_D", imports, code)


@pytest.mark.parametrize("solve", ["np.linalg.lstsq(A, b, rcond=None)[0]", "np.linalg.pinv(A) @ b"])
def test_ridge_conventions_stacked_least_squares_is_refused_when_graded(solve):
    """ex-5-1-1-ridge-conventions: the log posterior written as one stacked sum of squares (the data rows
    over sigma, or over sigma sqrt(N) for Eq. 5.6's convention, and the prior's rows whitened by L^-1
    about m_d) and handed to lstsq or the pseudo-inverse gave both means without the gradient being set
    to zero, as the normal-equations exercise already rules out. Named by the statement and refused."""
    from graded_routes import assert_refused_when_graded

    imports = "from pedagogy_lib.exercises import ch05_regression as check\nimport numpy as np\n"
    code = ("Y_e, X_e, m_e, S_d, s2 = check.EX_RIDGE\n"
            "N_e = Y_e.shape[1]\n"
            "Li = np.linalg.inv(np.linalg.cholesky(S_d))\n"
            "def fit(scale):\n"
            "    A = np.vstack([Y_e.T / np.sqrt(s2 * scale), Li])\n"
            "    b = np.concatenate([X_e[0] / np.sqrt(s2 * scale), Li @ m_e])\n"
            f"    return ({solve})[None, :]\n"
            "my_D_bayes, my_D_draft = fit(1.0), fit(N_e)\n")
    from courseware import grading as G
    from courseware.editions import all_exercises

    for dotted in ("numpy.linalg.lstsq", "scipy.linalg.lstsq", "numpy.linalg.pinv", "scipy.linalg.pinv"):
        assert dotted in check.SUMMATIVE["ex-5-1-1-ridge-conventions"]["forbidden"]
    ex = next(x for x in all_exercises() if x.label == "ex-5-1-1-ridge-conventions")
    assert "`numpy.linalg.lstsq`" in ex.statement and "`scipy.linalg.pinv`" in ex.statement
    passed, text = G.grade_exercise("ex-5-1-1-ridge-conventions", ex.checker_module, "ridge_conventions",
                                    ["my_D_bayes", "my_D_draft"], [(imports, False), (code, True)], "s")
    assert not passed and "not allowed in this exercise" in text, text


#: The page's two refits, as the page defines them (``loo_brute_force`` in the leave-one-out section,
#: ``_lofo_brute`` in the hidden check of the K-fold section).
_PAGE_REFITS = '''
def loo_brute_force(Xa, ya, ridge=0.0):
    out = np.empty(ya.size)
    P = ridge * np.eye(Xa.shape[0])
    for i in range(ya.size):
        k_ = np.arange(ya.size) != i
        w_i = np.linalg.solve(Xa[:, k_] @ Xa[:, k_].T + P, Xa[:, k_] @ ya[k_])
        out[i] = ya[i] - Xa[:, i] @ w_i
    return out


def _lofo_brute(Xa, ya, f, ridge=0.0):
    out = np.empty(ya.size)
    for k in np.unique(f):
        o = f == k
        w = np.linalg.solve(Xa[:, ~o] @ Xa[:, ~o].T + ridge * np.eye(Xa.shape[0]), Xa[:, ~o] @ ya[~o])
        out[o] = ya[o] - Xa[:, o].T @ w
    return out
'''

#: Ridge weights from a refit: one extra sample (scale e_j, 0) per weight, left out with the other extra
#: samples (one fold of their own) or alone (leave-one-out, with the scale so small that the other extra
#: samples barely touch the fit), has the residual -scale w_j.
_RIDGE_BY_REFIT = {
    "_lofo_brute": ("def ridge_fit(Xa, ya, lam):\n"
                    "    M_, N_ = Xa.shape\n"
                    "    f = np.r_[np.zeros(N_, int), np.ones(M_, int)]\n"
                    "    return -_lofo_brute(np.hstack([Xa, np.eye(M_)]), np.r_[ya, np.zeros(M_)], f, lam)[N_:]\n"),
    "loo_brute_force": ("def ridge_fit(Xa, ya, lam):\n"
                        "    M_, N_ = Xa.shape\n"
                        "    Xx = np.hstack([Xa, 1e-7 * np.eye(M_)])\n"
                        "    return -loo_brute_force(Xx, np.r_[ya, np.zeros(M_)], lam)[N_:] / 1e-7\n"),
}


@pytest.mark.parametrize("refit", sorted(_RIDGE_BY_REFIT))
def test_the_pages_refits_as_least_squares_solvers_are_refused_when_graded(refit):
    """The page's refits (``loo_brute_force`` and the hidden ``_lofo_brute``) solve a ridge problem given to
    them with one extra sample (e_j, 0) per weight: the residual of that sample is minus the weight. Handed
    the whitened inputs L^T Y and the outputs X - m_d^T Y they gave both means of the ridge-conventions
    exercise, and handed the stacked whitened rows of the tied model the normal-equations D, in place of
    the forbidden lstsq and without the gradient being set to zero. Both exercises name them and refuse them."""
    from courseware import grading as G
    from courseware.editions import all_exercises
    from graded_routes import assert_passes_then_refused

    imports = ("from pedagogy_lib.exercises import ch05_regression as check\nimport numpy as np\n"
               "from scipy.linalg import solve_triangular\n" + _PAGE_REFITS + _RIDGE_BY_REFIT[refit])
    tied = ("Y_e, X_e, S_e = check.EX_NORMAL\n"
            "(K_e, N_e), M_e = X_e.shape, Y_e.shape[0]\n"
            "L_s = np.linalg.cholesky(S_e)\n"
            "w1 = solve_triangular(L_s, np.ones(K_e), lower=True)\n"
            "A = (Y_e.T[:, None, :] * w1[None, :, None]).reshape(N_e * K_e, M_e)\n"
            "b = solve_triangular(L_s, X_e, lower=True).T.reshape(-1)\n"
            "my_D = np.outer(np.ones(K_e), ridge_fit(A.T, b, 0.0))\n")
    assert_passes_then_refused(check, "ex-5-1-1-normal-equations", "normal_equations", ["my_D"], imports, tied)

    conventions = ("Y_e, X_e, m_e, S_d, s2 = check.EX_RIDGE\n"
                   "L_d = np.linalg.cholesky(S_d)\n"
                   "Yt, xt = L_d.T @ Y_e, (X_e - m_e @ Y_e)[0]\n"
                   "my_D_bayes = (m_e + L_d @ ridge_fit(Yt, xt, s2))[None, :]\n"
                   "my_D_draft = (m_e + L_d @ ridge_fit(Yt, xt, Y_e.shape[1] * s2))[None, :]\n")
    ns: dict = {}
    exec(imports + conventions, ns)  # noqa: S102 - the route, run ungraded, passes the checker
    assert check.ridge_conventions(ns["my_D_bayes"], ns["my_D_draft"])
    label = "ex-5-1-1-ridge-conventions"
    assert {"loo_brute_force", "_lofo_brute"} <= set(check.SUMMATIVE[label]["forbidden"])
    ex = next(x for x in all_exercises() if x.label == label)
    assert "`loo_brute_force`" in ex.statement and "`_lofo_brute`" in ex.statement
    passed, text = G.grade_exercise(label, ex.checker_module, "ridge_conventions", ["my_D_bayes", "my_D_draft"],
                                    [(imports, False), (conventions, True)], "s")
    assert not passed and "not allowed in this exercise" in text, text
