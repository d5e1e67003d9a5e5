"""Tests for the checkers of notebook 7.3 (pedagogy_lib.exercises.ch07_fa_pca).

References are computed here independently of the checkers: the E step through the covariance
(Woodbury) form of the gain, scikit-learn's PCA, and pedagogy_lib.factor.em's EM (a
different implementation from the checkers' dense formulas).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.decomposition import PCA

from pedagogy_lib.factor import model as fa
from pedagogy_lib.factor import em as fl
from pedagogy_lib.exercises import ch07_fa_pca as check
from pedagogy_lib.exercises.references import ch07_fa_pca as refs


# ---------------------------------------------------------------- exercise 1: one FA EM step
def _fa_step(y, C, Lam, c, Phi, *, centre="c", with_cov=True, new_C=True):
    """One EM step with the covariance-form gain K = Phi C^T (C Phi C^T + Lambda)^{-1} (Eq. 2.25) for the
    model x ~ N(0, Phi), y | x ~ N(C x + c, Lambda); ``centre`` is "c", "mean" or "none"."""
    N = y.shape[0]
    Yc = {"c": y - c, "mean": y - y.mean(0), "none": y}[centre]
    Sy = C @ Phi @ C.T + np.diag(Lam)
    Kg = np.linalg.solve(Sy, C @ Phi).T                 # Phi C^T Sy^{-1} (Sy, Phi symmetric)
    post_cov = Phi - Kg @ C @ Phi                        # Phi - K C Phi
    S = Yc.T @ Yc / N
    Eyx = S @ Kg.T
    Exx = (post_cov if with_cov else 0) + Kg @ S @ Kg.T
    C1 = np.linalg.solve(Exx, Eyx.T).T
    L1 = np.diag(S) - np.sum((C1 if new_C else C) * Eyx, axis=1)
    return C1, L1


def _log_lik(y, C, Lam, c, Phi):
    Sy = C @ Phi @ C.T + np.diag(Lam)
    r = y - c
    return -0.5 * (len(y) * np.linalg.slogdet(2 * np.pi * Sy)[1] + np.sum(r * np.linalg.solve(Sy, r.T).T))


def test_fa_step_correct_passes():
    p = check.EX_FA_STEP
    C1, L1 = _fa_step(*p)
    assert np.all(L1 > 1e-3 * p.y.var(0))
    res = check.fa_em_step(C1, L1)
    assert res and "correct" in str(res)


def test_fa_step_is_the_maximizer_of_the_expected_complete_log_likelihood():
    """Dense oracle: posterior moments by conditioning the joint Gaussian of (x, y) datum by datum, then
    finite differences of Q(C, Lambda) = sum_n E[log N(y_n; C x + c, Lambda) | y_n] vanish at the answer."""
    y, C, Lam, c, Phi = check.EX_FA_STEP
    K = C.shape[1]
    Syy = C @ Phi @ C.T + np.diag(Lam)
    Sxy = Phi @ C.T
    moments = []
    for yn in y:
        m = Sxy @ np.linalg.solve(Syy, yn - c)
        V = Phi - Sxy @ np.linalg.solve(Syy, Sxy.T)
        moments.append((m, V + np.outer(m, m)))

    def Q(Cq, Lq):
        total = 0.0
        for yn, (m, xx) in zip(y, moments):
            r = yn - c
            quad = r @ (r / Lq) - 2 * r @ ((Cq @ m) / Lq) + np.trace(Cq.T @ np.diag(1 / Lq) @ Cq @ xx)
            total += -0.5 * (np.sum(np.log(2 * np.pi * Lq)) + quad)
        return total

    def grad(Cq, Lq, h=1e-4):
        g = []
        for i in range(C.shape[0]):
            for j in range(K):
                E = np.zeros_like(Cq)
                E[i, j] = h
                g.append((Q(Cq + E, Lq) - Q(Cq - E, Lq)) / (2 * h))
            e = np.zeros_like(Lq)
            e[i] = h
            g.append((Q(Cq, Lq + e) - Q(Cq, Lq - e)) / (2 * h))
        return np.array(g)

    C1, L1 = _fa_step(y, C, Lam, c, Phi)
    assert np.abs(grad(C1, L1)).max() < 1e-4                               # truncation error ~1e-6
    C_page, L_page = _fa_step(y, C, Lam, c, np.eye(K), centre="mean")      # the page's step: not stationary
    assert np.abs(grad(C_page, L_page)).max() > 1e-2
    assert _log_lik(y, C1, L1, c, Phi) > _log_lik(y, C, Lam, c, Phi)          # EM does not decrease it


def test_fa_step_reduces_to_the_library_s_step_for_the_page_s_model():
    """With Phi = I and c the sample mean the same formulas give the library's FA EM step (the page's model)."""
    y, C, Lam, _, _ = check.EX_FA_STEP
    C1, L1 = _fa_step(y, C, Lam, y.mean(0), np.eye(2))
    lib = fl.fa_em_step(fa.FAParams(C, np.zeros(4), Lam), y, Lambda_floor=1e-9)
    np.testing.assert_allclose(lib.C, C1, rtol=1e-9)
    np.testing.assert_allclose(lib.Lambda, L1, rtol=1e-9)


def test_fa_step_data_are_not_the_page_s_model():
    """The known bias is not the sample mean and the prior is not N(0, I): the page's step (its
    e_step_stats and my_fa_em_step with S from the centred data) gives another answer, which is named."""
    p = check.EX_FA_STEP
    assert p.c.shape == (4,) and p.Phi.shape == (2, 2)
    assert np.abs(p.y.mean(0) - p.c).max() > 0.1
    assert np.abs(p.Phi - np.eye(2)).max() > 0.3 and np.all(np.linalg.eigvalsh(p.Phi) > 0)
    C_page, L_page = _fa_step(p.y, p.C, p.Lambda, p.c, np.eye(2), centre="mean")
    C_ok, _ = _fa_step(*p)
    assert np.abs(C_page - C_ok).max() > 1e-2
    res = check.fa_em_step(C_page, L_page)
    assert not res and "page's step unchanged" in str(res), str(res)


@pytest.mark.parametrize("kw,fragment,part", [
    ({"centre": "none"}, "without subtracting the bias", "both"),
    ({"centre": "mean"}, "sample mean", "both"),
    ({"Phi": "I"}, "prior N(0, I)", "both"),
    ({"Phi": "inverse"}, "wrong matrix", "both"),
    ({"with_cov": False}, "posterior covariance", "both"),
    ({"new_C": False}, "old C in the update of Lambda", "Lambda"),
])
def test_fa_step_wrong_derivations_are_diagnosed(kw, fragment, part):
    y, C, Lam, c, Phi = check.EX_FA_STEP
    C_ok, L_ok = _fa_step(y, C, Lam, c, Phi)
    kw = dict(kw)
    prior = {"I": np.eye(2), "inverse": np.linalg.inv(Phi)}.get(kw.pop("Phi", None), Phi)
    C_w, L_w = _fa_step(y, C, Lam, c, prior, **kw)
    assert np.abs(L_w - L_ok).max() > 1e-3
    res = check.fa_em_step(C_w if part == "both" else C_ok, L_w)
    assert not res and fragment in str(res), str(res)


def test_fa_step_draft_uncentred_estep_differs_substantially():
    # the erratum (see Eq. 7.3) matters for these data (the mean is far from zero)
    p = check.EX_FA_STEP
    assert np.abs(_fa_step(*p, centre="none")[0] - _fa_step(*p)[0]).max() > 0.1


def test_fa_step_draft_minus_sign_in_lambda_is_named():
    """The page computes Lam_draft, the expansion of <(y - Cx)(y - Cx)^T> with the draft's minus sign on
    C <x x^T> C^T; an answer that uses it is told so."""
    y, C, Lam, c, Phi = check.EX_FA_STEP
    N = len(y)
    Yc = y - c
    Sx = np.linalg.inv(C.T @ np.diag(1 / Lam) @ C + np.linalg.inv(Phi))
    M = Yc @ (Sx @ C.T @ np.diag(1 / Lam)).T
    Eyx, Exx = Yc.T @ M / N, Sx + M.T @ M / N
    C_new = Eyx @ np.linalg.inv(Exx)
    S = Yc.T @ Yc / N
    good = np.diag(S - Eyx @ C_new.T - C_new @ Eyx.T + C_new @ Exx @ C_new.T)
    assert check.fa_em_step(C_new, good)
    minus = np.diag(S - Eyx @ C_new.T - C_new @ Eyx.T - C_new @ Exx @ C_new.T)
    res = check.fa_em_step(C_new, minus)
    assert not res and "draft's sign" in str(res), str(res)


def test_fa_step_full_matrix_and_old_C_and_none():
    p = check.EX_FA_STEP
    C1, L1 = _fa_step(*p)
    res = check.fa_em_step(C1, np.diag(L1))
    assert not res and "diagonal only" in str(res)
    res = check.fa_em_step(p.C, L1)
    assert not res and "old C" in str(res)
    res = check.fa_em_step(C1.T, L1)
    assert not res and "transpose" in str(res)
    res = check.fa_em_step(None, None)
    assert not res and "None" in str(res)


def test_drawn_fa_step_problems_keep_c_and_phi_apart_from_the_page_s_model():
    import importlib

    from pedagogy_lib.exercises.checker import drawn_for

    try:
        for salt in range(4):
            with drawn_for(salt):
                mod = importlib.reload(check)
                p = mod.EX_FA_STEP
                C1, L1 = _fa_step(*p)
                assert mod.fa_em_step(C1, L1)
                assert np.all(L1 > 0)
                assert not mod.fa_em_step(*_fa_step(p.y, p.C, p.Lambda, p.c, np.eye(2), centre="mean"))
                assert not mod.fa_em_step(*_fa_step(*p, centre="mean"))
                assert not mod.fa_em_step(*_fa_step(p.y, p.C, p.Lambda, p.c, np.eye(2)))
    finally:
        importlib.reload(check)


# ---------------------------------------------------------------- exercise 2: iterative PCA, three steps
def _top(K=None):
    y, K0 = check.EX_IPCA
    return PCA(n_components=K or K0).fit(y).components_.T


def _steps(n, centre=True):
    """The draft's iteration written with explicit per-observation loops."""
    y, K = check.EX_IPCA
    Y = y - y.mean(axis=0) if centre else y
    C = check.EX_IPCA_START.copy()
    for _ in range(n):
        X = np.array([np.linalg.inv(C.T @ C) @ C.T @ yn for yn in Y])
        C = sum(np.outer(yn, xn) for yn, xn in zip(Y, X)) @ np.linalg.inv(sum(np.outer(xn, xn) for xn in X))
    return C


def test_iterative_pca_three_steps_pass():
    assert check.EX_IPCA_STEPS == 3
    assert check.principal_subspace(_steps(3))


def test_iterative_pca_any_pca_no_longer_answers_it():
    """The span of the principal subspace (an SVD, scikit-learn, a converged library run) is not the
    iterate after three steps."""
    y, K = check.EX_IPCA
    res = check.principal_subspace(_top())
    assert not res and "converged run or an eigendecomposition" in str(res)
    res = check.principal_subspace(fl.fit_iterative_pca(y, K, rng=np.random.default_rng(0), tol=1e-15,
                                                        max_iter=500).params.C)
    assert not res


def test_iterative_pca_other_step_counts_and_uncentred():
    res = check.principal_subspace(_steps(2))
    assert not res and "after 2 steps" in str(res)
    res = check.principal_subspace(_steps(3, centre=False))
    assert not res and "assumes about the data" in str(res)
    assert "centre" not in str(res) and "mean" not in str(res)


def test_principal_subspace_shape_none():
    y, K = check.EX_IPCA
    res = check.principal_subspace(np.zeros((y.shape[0], K)))
    assert not res and "X_bar" in str(res)
    res = check.principal_subspace(np.ones((5, 2)))
    assert not res
    res = check.principal_subspace(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 3: Heywood variable and ratio
def _heywood_ratio():
    R = np.corrcoef(check.EX_HEYWOOD.T)
    return R[2, 0] * R[2, 1] / R[0, 1]


def test_heywood_reference_agrees_with_em_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fl.fit_fa(check.EX_HEYWOOD, 1, rng=np.random.default_rng(0))
    msgs = [str(w.message) for w in caught if issubclass(w.category, fl.HeywoodWarning)]
    assert msgs and "[2]" in msgs[0]
    assert np.isclose(res.params.Lambda[2], 1e-3 * check.EX_HEYWOOD[:, 2].var())
    r = _heywood_ratio()
    assert check.heywood_dimension(2, r)
    assert check.heywood_dimension(np.int64(2), np.float64(r))
    assert check.heywood_dimension(2.0, r) and check.heywood_dimension("2", [r])


def test_heywood_index_alone_from_the_warning_is_not_enough():
    assert not check.heywood_dimension(2)
    assert not check.heywood_dimension(2, 1.0)


@pytest.mark.parametrize("answer,ratio,fragment", [
    (0, "ok", "your index is wrong"),
    (1, "ok", "your index is wrong"),
    (2, "raw", "raw covariances"),
    (2, "other", "below 1"),
    (2, "one", "your ratio is wrong"),
    (3, "ok", "0, 1 or 2"),
    ("two", "ok", "integer"),
    (2.5, "ok", "whole number"),
    (True, "ok", "integer"),
    (None, "ok", "give both"),
])
def test_heywood_wrong_answers_name_the_wrong_part(answer, ratio, fragment):
    C = np.cov(check.EX_HEYWOOD.T)
    R = np.corrcoef(check.EX_HEYWOOD.T)
    value = {"ok": _heywood_ratio(), "raw": C[2, 0] * C[2, 1] / C[0, 1],
             "other": R[1, 0] * R[1, 2] / R[0, 2], "one": 1.0}[ratio]
    res = check.heywood_dimension(answer, value)
    assert not res and fragment in str(res), str(res)
    assert "smallest raw variance" not in str(res) and "index is 2" not in str(res)
    if ratio == "ok":                              # a right ratio is not blamed
        assert "your ratio" not in str(res)
    if answer == 2:                                # nor a right index
        assert "your index" not in str(res)


def test_heywood_rounded_ratio_gets_the_precision_message():
    """The solution displays the ratio as 1.52; with the right index that is a precision slip, not a wrong
    index."""
    r = _heywood_ratio()
    assert round(r, 2) == 1.52 and not np.isclose(1.52, r, rtol=1e-6, atol=0)
    res = check.heywood_dimension(2, 1.52)
    assert not res and "1e-6" in str(res) and "rounded" in str(res), str(res)
    assert "your index" not in str(res)
    both = str(check.heywood_dimension(0, 1.52))
    assert "your index is wrong" in both and "rounded" in both
    assert check.heywood_dimension(2, r * (1 + 5e-7))


# ---------------------------------------------------------------- exercise 4: PPCA noise, loadings in a subspace
def _sigma2_by_optimizer(y, U, starts=4):
    """Maximize the PPCA log likelihood over C = U B (B any K x K) and sigma2 by BFGS from several starts,
    with the library's log likelihood of a factor analyzer (c = sample mean, Lambda = sigma2 * ones)."""
    from scipy.optimize import minimize

    L, K = U.shape
    c = y.mean(axis=0)

    def nll(v):
        params = fa.FAParams(U @ v[:K * K].reshape(K, K), c, np.full(L, np.exp(v[-1])))
        return -float(np.sum(fa.fa_log_likelihood(params, y))) / len(y)
    runs = [minimize(nll, np.r_[np.random.default_rng(s).standard_normal(K * K), 0.0], method="BFGS",
                     options={"gtol": 1e-10}) for s in range(starts)]
    return float(np.exp(min(runs, key=lambda r: r.fun).x[-1]))


def test_ppca_noise_in_a_fixed_subspace_passes_and_matches_the_optimizer():
    """EX_PPCA_U holds a direction weaker than the interior solution's noise: the optimizer's maximum is
    not the interior point (B invertible) but the one with that direction in the noise, and the checker
    accepts exactly the optimizer's value."""
    y, K = check.EX_IPCA
    U = check.EX_PPCA_U
    np.testing.assert_allclose(U.T @ U, np.eye(K), atol=1e-12)
    N, L = y.shape
    S = np.cov(y.T, bias=True)
    interior = np.trace((np.eye(L) - U @ U.T) @ S) / (L - K)
    lam = np.linalg.eigvalsh(U.T @ S @ U)
    assert lam.min() < 0.5 * interior                                  # the interior point is not reachable
    best = _sigma2_by_optimizer(y, U)
    assert abs(best - interior) > 0.1 * interior
    assert check.ppca_noise(best)
    assert not check.ppca_noise(interior)
    # the optimizer's maximum leaves the weak direction without loading: its noise is the average over the
    # L - 1 directions other than the strong one
    np.testing.assert_allclose(best, (np.trace(S) - lam.max()) / (L - 1), rtol=1e-6)


def test_ppca_noise_reference_handles_a_subspace_with_too_little_variance():
    """With U along the data's weakest directions, the closed form's interior solution is not the maximum:
    the checker's reference still agrees with the optimizer there."""
    y, K = check.EX_IPCA
    S = np.cov(y.T, bias=True)
    U = np.linalg.eigh(S)[1][:, :K]                                     # the two smallest eigenvalues
    ref = refs.sigma2_in_subspace(S, U)
    np.testing.assert_allclose(_sigma2_by_optimizer(y, U), ref, rtol=1e-5)
    assert not np.isclose(ref, np.trace((np.eye(5) - U @ U.T) @ S) / 3, rtol=1e-3)


def test_ppca_noise_wrong_answers():
    y, K = check.EX_IPCA
    U = check.EX_PPCA_U
    N, L = y.shape
    S = np.cov(y.T, bias=True)
    off = np.trace(S) - np.trace(U.T @ S @ U)
    best = _sigma2_by_optimizer(y, U)
    page = PCA(n_components=K).fit(y).noise_variance_ * (N - 1) / N      # unconfined PPCA (sklearn: N - 1)
    Su = y.T @ y / N
    for wrong, fragment in [(page, "free to point anywhere"), (off / (L - K), "B invertible"),
                            (best * N / (N - 1), "1/(N-1)"),
                            (off, "summed"), (off / L, "all L directions"),
                            (np.trace(U.T @ S @ U) / K, "inside the subspace"),
                            ((np.trace(Su) - np.trace(U.T @ Su @ U)) / (L - K), "centre"),
                            (-best, "wrong sign")]:
        res = check.ppca_noise(wrong)
        assert not res and fragment in str(res), (wrong, str(res))
        assert f"{best:.3f}" not in str(res) and "rank" not in str(res) and "weak" not in str(res)
    res = check.ppca_noise(None)
    assert not res and "None" in str(res)
    assert "L - K" not in check.ppca_noise.__doc__ and "trace" not in check.ppca_noise.__doc__


def test_heywood_ratio_quoted_in_the_solution():
    """The notebook's solution quotes r_20 r_21 / r_01 = 0.726 * 0.854 / 0.408 = 1.52 for EX_HEYWOOD."""
    R = np.corrcoef(check.EX_HEYWOOD.T)
    assert [round(R[2, 0], 3), round(R[2, 1], 3), round(R[0, 1], 3)] == [0.726, 0.854, 0.408]
    assert round(R[2, 0] * R[2, 1] / R[0, 1], 2) == 1.52


def test_heywood_variance_decays_like_one_over_i_and_steps_like_one_over_i_squared():
    """The notebook's Heywood paragraph: Lambda_l ~ c / i, so the EM step ~ c / i^2."""
    import warnings

    from pedagogy_lib.factor import em as fl
    from pedagogy_lib.factor import model as fm
    y = check.EX_HEYWOOD
    y = (y - y.mean(0)) / y.std(0)
    p = fm.FAParams(np.full((3, 1), 0.5), np.zeros(3), np.ones(3))
    lam = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2001):
            p = fl.fa_em_step(p, y, Lambda_floor=1e-14)
            lam.append(p.Lambda[2])
    lam = np.array(lam)
    i1, i2 = 500, 2000
    assert abs(lam[i2 - 1] * i2 / (lam[i1 - 1] * i1) - 1) < 0.05                 # Lambda * i is flat
    s1, s2 = lam[i1 - 1] - lam[i1], lam[i2 - 1] - lam[i2]
    assert abs(s2 * i2**2 / (s1 * i1**2) - 1) < 0.05                             # step * i^2 is flat
    assert s2 * i2 / (s1 * i1) < 0.3                                             # step * i is not


def test_ppca_noise_numbers_quoted_in_the_solution():
    """The notebook's solution quotes about 1.45 for the interior point, eigenvalues of U^T S U of about 5.3
    and 0.29, and sigma2 of about 1.16 with the weak direction in the noise."""
    y, K = check.EX_IPCA
    U = check.EX_PPCA_U
    S = np.cov(y.T, bias=True)
    lam = np.sort(np.linalg.eigvalsh(U.T @ S @ U))[::-1]
    assert round((np.trace(S) - lam.sum()) / 3, 2) == 1.45
    assert round(lam[0], 1) == 5.3 and round(lam[1], 2) == 0.29
    assert round((np.trace(S) - lam[0]) / 4, 2) == 1.16


# --- ex-7-3-fa-em-function: EM for factor analysis as a function -----------------------------------------------------

def _fa_em_page(y, C, Lambda, n_iter):
    """The notebook's solution: the statistics from S, inverses written out, the log likelihood by slogdet."""
    N, L = y.shape
    K = C.shape[1]
    Yc = y - y.mean(axis=0)
    S = Yc.T @ Yc / N

    def log_lik(C, Lambda):
        Sigma = C @ C.T + np.diag(Lambda)
        return -0.5 * (N * np.linalg.slogdet(2 * np.pi * Sigma)[1] + np.sum(Yc * np.linalg.solve(Sigma, Yc.T).T))

    trace = [log_lik(C, Lambda)]
    for _ in range(n_iter):
        Sigma_post = np.linalg.inv(C.T @ (C / Lambda[:, None]) + np.eye(K))
        K_gain = Sigma_post @ C.T / Lambda
        Eyx, Exx = S @ K_gain.T, Sigma_post + K_gain @ S @ K_gain.T
        C = Eyx @ np.linalg.inv(Exx)
        Lambda = np.diag(S) - np.sum(C * Eyx, axis=1)
        trace.append(log_lik(C, Lambda))
    return C, Lambda, np.array(trace)


def _fa_em_per_datum(y, C, Lambda, n_iter):
    """Written otherwise: posterior means datum by datum, the residuals' average for Lambda, the log likelihood
    with scipy.stats; C solved by least squares on the expected statistics."""
    from scipy import stats

    N, L = y.shape
    c = y.mean(axis=0)
    lls = [stats.multivariate_normal(c, C @ C.T + np.diag(Lambda)).logpdf(y).sum()]
    for _ in range(n_iter):
        prec = np.eye(C.shape[1]) + C.T @ np.diag(1 / Lambda) @ C
        Sig = np.linalg.inv(prec)
        m = np.array([Sig @ C.T @ ((yn - c) / Lambda) for yn in y])
        Eyx = (y - c).T @ m / N
        Exx = Sig + m.T @ m / N
        C = np.linalg.solve(Exx, Eyx.T).T
        R = (y - c) - m @ C.T
        # <(y - C x)(y - C x)^T> with the posterior covariance: residuals of the means plus C Sig C^T
        Lambda = np.mean(R ** 2, axis=0) + np.einsum("lk,kj,lj->l", C, Sig, C)
        lls.append(stats.multivariate_normal(c, C @ C.T + np.diag(Lambda)).logpdf(y).sum())
    return C, Lambda, np.array(lls)


def test_fa_em_function_accepts_the_solution_and_another_route():
    assert check.fa_em_iterations(_fa_em_page)
    assert check.fa_em_iterations(_fa_em_per_datum)
    assert check.fa_em_iterations(lambda *a: [np.asarray(v).tolist() for v in _fa_em_page(*a)])


def test_fa_em_function_cases_and_reference():
    cases = check._em_cases()
    assert {C.shape[1] for _, C, _, _ in cases} == {1, 2, 3} and {0, 1} <= {n for *_, n in cases}
    for y, C, Lam, n in cases:
        C_ref, L_ref, ll = refs.em_reference(y, C, Lam, n)
        assert ll.shape == (n + 1,) and np.all(np.diff(ll) >= -1e-9 * np.abs(ll[:-1]))     # EM climbs
        assert np.abs(y.mean(axis=0)).min() > 1.0                    # the uncentred slip is far from right
        C_p, L_p, ll_p = _fa_em_page(y, C, Lam, n)
        np.testing.assert_allclose(C_p, C_ref, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(L_p, L_ref, rtol=1e-9)
        np.testing.assert_allclose(ll_p, ll, rtol=1e-11)


def _fa_em_slip(centred=True, with_cov=True, new_C=True, draft=False, ddof=0, ll="sum", short=False,
                Lambda_matrix=False):
    def fn(y, C, Lambda, n_iter):
        N, L = y.shape
        K = C.shape[1]
        c = y.mean(axis=0)
        Yc = y - c
        Yuse = Yc if centred else y
        n = N - ddof

        def log_lik(C, Lambda):
            Sigma = C @ C.T + np.diag(Lambda)
            R = Yc if ll != "zero" else y
            val = -0.5 * (N * np.linalg.slogdet(Sigma)[1] + np.sum(R * np.linalg.solve(Sigma, R.T).T))
            if ll != "noconst":
                val -= 0.5 * N * L * np.log(2 * np.pi)
            return val / N if ll == "mean" else val

        trace = [] if short else [log_lik(C, Lambda)]
        for _ in range(n_iter):
            Sig = np.linalg.inv(np.eye(K) + C.T @ np.diag(1 / Lambda) @ C)
            M = Yuse @ (Sig @ C.T @ np.diag(1 / Lambda)).T
            Eyx = Yuse.T @ M / n
            Exx = (Sig if with_cov else 0) + M.T @ M / n
            C_new = Eyx @ np.linalg.inv(Exx)
            S = Yuse.T @ Yuse / n
            if draft:
                Lambda = np.diag(S - Eyx @ C_new.T - C_new @ Eyx.T - C_new @ Exx @ C_new.T)
            else:
                Lambda = np.diag(S - (C_new if new_C else C) @ Eyx.T)
            C = C_new
            trace.append(log_lik(C, Lambda))
        return C, (np.diag(Lambda) if Lambda_matrix else Lambda), np.array(trace)
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_fa_em_slip(centred=False), "without subtracting the bias"),
    (_fa_em_slip(with_cov=False), "posterior covariance"),
    (_fa_em_slip(ddof=1), "N - 1"),
    (_fa_em_slip(new_C=False), "old C in the update of Lambda"),
    (_fa_em_slip(draft=True), "draft's sign"),
    (_fa_em_slip(ll="mean"), "the exercise asks for the sum"),
    (_fa_em_slip(ll="noconst"), "lacks the constant"),
    (_fa_em_slip(ll="zero"), "centred at the sample mean"),
    (_fa_em_slip(short=True), "n_iter + 1"),
    (_fa_em_slip(Lambda_matrix=True), "diagonal only"),
    (lambda y, C, Lambda, n: (C, Lambda, _fa_em_page(y, C, Lambda, n)[2]), "returned the starting C"),
    (lambda y, C, Lambda, n: _fa_em_page(y, C, Lambda, n)[:2], "should return the triple"),
    (lambda y, C, Lambda, n: None, "forget to return"),
    (lambda y, C, Lambda, n: 1 / 0, "raised ZeroDivisionError"),
])
def test_fa_em_function_names_the_slips(wrong, fragment):
    res = check.fa_em_iterations(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_fa_em_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.fa_em_iterations(np.eye(2)))
    assert "write the function first" in str(check.fa_em_iterations(None))
    res = check.fa_em_iterations(lambda *a: tuple(np.asarray(v) * 1.001 for v in _fa_em_page(*a)))
    assert not res and "test problem 1" in str(res)
    assert not re.search(r"[0-9]\.[0-9]", str(res).replace("Eqs. 7.2-7.3", "")), str(res)
