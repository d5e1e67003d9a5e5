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


# ---------------------------------------------------------------- exercise 1: one FA EM step
def _fa_step(y, C, Lam, *, centre=True, with_cov=True, new_C=True):
    """One EM step with the covariance-form gain K = C^T (C C^T + Lambda)^{-1} (Eq. 2.25)."""
    N = y.shape[0]
    Yc = y - y.mean(0) if centre else y
    Sy = C @ C.T + np.diag(Lam)
    Kg = np.linalg.solve(Sy, C).T                       # C^T Sy^{-1} (Sy symmetric)
    post_cov = np.eye(C.shape[1]) - Kg @ C               # I - K C
    S = Yc.T @ Yc / N
    Eyx = S @ Kg.T
    Exx = (post_cov if with_cov else 0) + Kg @ S @ Kg.T
    C1 = np.linalg.solve(Exx, Eyx.T).T
    L1 = np.diag(S) - np.sum((C1 if new_C else C) * Eyx, axis=1)
    return C1, L1


def test_fa_step_correct_passes_and_matches_library():
    y, C, Lam = check.EX_FA_STEP
    C1, L1 = _fa_step(y, C, Lam)
    lib = fl.fa_em_step(fa.FAParams(C, np.zeros(4), Lam), y, Lambda_floor=1e-9)
    np.testing.assert_allclose(lib.C, C1, rtol=1e-9)
    np.testing.assert_allclose(lib.Lambda, L1, rtol=1e-9)
    assert np.all(L1 > 1e-3 * y.var(0))                  # the library's default floor is not active
    res = check.fa_em_step(C1, L1)
    assert res and "correct" in str(res)


@pytest.mark.parametrize("kw,fragment,part", [
    ({"centre": False}, "without subtracting the bias", "both"),
    ({"with_cov": False}, "posterior covariance", "both"),
    ({"new_C": False}, "old C in the update of Lambda", "Lambda"),
])
def test_fa_step_wrong_derivations_are_diagnosed(kw, fragment, part):
    y, C, Lam = check.EX_FA_STEP
    C_ok, L_ok = _fa_step(y, C, Lam)
    C_w, L_w = _fa_step(y, C, Lam, **kw)
    res = check.fa_em_step(C_w if part == "both" else C_ok, L_w)
    assert not res and fragment in str(res)


def test_fa_step_draft_uncentred_estep_differs_substantially():
    # the erratum of Eq. 7.3 matters for these data (the mean is far from zero)
    y, C, Lam = check.EX_FA_STEP
    assert np.abs(_fa_step(y, C, Lam, centre=False)[0] - _fa_step(y, C, Lam)[0]).max() > 0.1


def test_fa_step_full_matrix_and_old_C_and_none():
    y, C, Lam = check.EX_FA_STEP
    C1, L1 = _fa_step(y, C, Lam)
    res = check.fa_em_step(C1, np.diag(L1))
    assert not res and "diagonal only" in str(res)
    res = check.fa_em_step(C, L1)
    assert not res and "old C" in str(res)
    res = check.fa_em_step(C1.T, L1)
    assert not res and "transpose" in str(res)
    res = check.fa_em_step(None, None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 2: principal subspace
def _top(K=None):
    y, K0 = check.EX_IPCA
    return PCA(n_components=K or K0).fit(y).components_.T


def test_principal_subspace_sklearn_basis_and_any_basis_pass():
    U = _top()
    assert check.principal_subspace(U)
    A = np.array([[2.0, 0.5], [-1.0, 3.0]])             # any invertible mixing of the basis
    assert check.principal_subspace(U @ A)


def test_principal_subspace_library_iterative_pca_passes():
    y, K = check.EX_IPCA
    res = fl.fit_iterative_pca(y, K, rng=np.random.default_rng(0), tol=1e-15, max_iter=500)
    assert check.principal_subspace(res.params.C)


def test_principal_subspace_uncentred_is_diagnosed():
    y, K = check.EX_IPCA
    w, V = np.linalg.eigh(y.T @ y)
    res = check.principal_subspace(V[:, ::-1][:, :K])
    assert not res and "centre" in str(res)


def test_principal_subspace_not_converged_and_wrong():
    y, K = check.EX_IPCA
    U = PCA().fit(y).components_.T                       # all 5 directions, decreasing variance
    near = U[:, :2] + 1e-4 * U[:, 2:4]
    res = check.principal_subspace(near)
    assert not res and "not converged" in str(res)
    res = check.principal_subspace(U[:, 3:5])
    assert not res and "not the principal subspace" in str(res)


def test_principal_subspace_shape_rank_none():
    y, K = check.EX_IPCA
    res = check.principal_subspace(np.zeros((y.shape[0], K)))
    assert not res and "X_bar" in str(res)
    res = check.principal_subspace(np.ones((5, 2)))
    assert not res and "rank" in str(res)
    res = check.principal_subspace(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 3: Heywood dimension
def test_heywood_reference_agrees_with_em_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fl.fit_fa(check.EX_HEYWOOD, 1, rng=np.random.default_rng(0))
    msgs = [str(w.message) for w in caught if issubclass(w.category, fl.HeywoodWarning)]
    assert msgs and "[2]" in msgs[0]
    assert np.isclose(res.params.Lambda[2], 1e-3 * check.EX_HEYWOOD[:, 2].var())
    assert check.heywood_dimension(2)
    assert check.heywood_dimension(np.int64(2))
    assert check.heywood_dimension(2.0) and check.heywood_dimension("2")


@pytest.mark.parametrize("answer,fragment", [
    (0, "smallest raw variance"),
    (1, "compare r_lj r_lk / r_jk"),
    (3, "0, 1 or 2"),
    ("two", "integer"),
    (2.5, "whole number"),
    (True, "integer"),
    (None, "None"),
])
def test_heywood_wrong_answers(answer, fragment):
    res = check.heywood_dimension(answer)
    assert not res and fragment in str(res)


# ---------------------------------------------------------------- exercise 4: PPCA noise
def _sigma2():
    y, K = check.EX_IPCA
    N = len(y)
    return PCA(n_components=K).fit(y).noise_variance_ * (N - 1) / N, y, K   # sklearn divides by N - 1


def test_ppca_noise_correct_passes_and_matches_library():
    s2, y, K = _sigma2()
    np.testing.assert_allclose(fl.ppca_ml(y, K).Lambda[0], s2, rtol=1e-10)
    assert check.ppca_noise(s2)


def test_ppca_noise_wrong_answers():
    s2, y, K = _sigma2()
    N = len(y)
    lam = np.sort(np.linalg.eigvalsh(np.cov(y.T, bias=True)))[::-1]
    for wrong, fragment in [(s2 * N / (N - 1), "1/(N-1)"), (lam.mean(), "all L eigenvalues"),
                            (lam[K:].sum(), "summed"), (lam[:K].mean(), "kept eigenvalues"),
                            (-s2, "wrong sign"),
                            (np.sort(np.linalg.eigvalsh(y.T @ y / N))[::-1][K:].mean(), "centre")]:
        res = check.ppca_noise(wrong)
        assert not res and fragment in str(res), (wrong, str(res))
    res = check.ppca_noise(None)
    assert not res and "None" in str(res)


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
