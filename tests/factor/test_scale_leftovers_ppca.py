"""Issue 69 leftovers: probabilistic PCA on data that lie exactly in a K-dimensional subspace.

The maximum-likelihood noise variance is then 0 (the average of the discarded eigenvalues of the sample
covariance), on the boundary, and the fits hold it at the documented floor ``sigma2_floor`` times the
average sample variance, with a HeywoodWarning. There the constrained maximum has the loadings of
Tipping and Bishop with that sigma2, C C^T = U_K (diag(w_K) - sigma2 I) U_K^T. The data are small
integers, symmetric about their mean, so their centred values and their rank are exact in float64.
Oracle: the SVD of the centred data matrix (a dense route that shares nothing with the fits).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from pedagogy_lib.em import ConvergenceWarning
from oracle_fa import dense_log_lik
from pedagogy_lib.factor import em as fl


def _rank_k_data(K=2, L=5):
    rng = np.random.default_rng(69)
    X = rng.integers(-3, 4, size=(20, K)).astype(float)
    X = np.vstack([X, -X])                                   # mean exactly 0
    C = rng.integers(-2, 3, size=(L, K)).astype(float)
    while np.linalg.matrix_rank(C) < K:
        C = rng.integers(-2, 3, size=(L, K)).astype(float)
    return X @ C.T + 3.0                                     # exact: small integers


def _reference(y, K, sigma2):
    """C C^T of the constrained maximum at this sigma2, from the SVD of the centred data."""
    Yc = y - y.mean(axis=0)
    _, s, Vt = np.linalg.svd(Yc, full_matrices=False)
    w = s**2 / y.shape[0]
    assert w[K] <= 1e-25 * w[0]                              # the data are rank K to rounding
    U = Vt[:K].T
    return U @ np.diag(w[:K] - sigma2) @ U.T


def test_rank_k_data_reach_the_documented_floor_with_the_right_loadings():
    """ppca_ml: sigma2 at the floor and C C^T of the constrained maximum, against the SVD."""
    y, K = _rank_k_data(), 2
    with pytest.warns(fl.HeywoodWarning, match=r"sigma2 reached its variance floor"):
        params = fl.ppca_ml(y, K)
    floor = 1e-6 * np.var(y, axis=0).mean()
    np.testing.assert_allclose(params.Lambda, floor, rtol=1e-9)
    ref = _reference(y, K, floor)
    np.testing.assert_allclose(params.C @ params.C.T, ref, rtol=0, atol=1e-8 * np.abs(ref).max())


def test_em_on_rank_k_data_reaches_the_floor_and_the_subspace_but_not_the_lengths():
    """fit_ppca: sigma2 reaches the floor within a few dozen iterations and the span of C is the data's
    subspace to rounding, but the lengths of the loadings then move at a rate of about 1 - sigma2 / w_K per
    iteration (EM's known slowness at small noise): after 40 iterations C C^T is still far from the
    maximum, and the fit says so with a ConvergenceWarning besides the HeywoodWarning (fit_ppca's docstring
    points to ppca_ml)."""
    y, K = _rank_k_data(), 2
    with pytest.warns(fl.HeywoodWarning, match=r"sigma2 reached its variance floor"), \
            pytest.warns(ConvergenceWarning, match=r"did not converge in 40 iterations"):
        res = fl.fit_ppca(y, K, rng=np.random.default_rng(0), max_iter=40)
    floor = 1e-6 * np.var(y, axis=0).mean()
    np.testing.assert_allclose(res.params.Lambda, floor, rtol=1e-9)
    Q, _ = np.linalg.qr(res.params.C)
    U = np.linalg.svd(y - y.mean(axis=0), full_matrices=False)[2][:K].T
    np.testing.assert_allclose(Q @ Q.T, U @ U.T, rtol=0, atol=1e-9)
    ref = _reference(y, K, floor)
    assert np.abs(res.params.C @ res.params.C.T - ref).max() > 1e-3 * np.abs(ref).max()


def test_a_floor_below_what_em_resolves_is_refused_by_name_on_rank_k_data():
    """With sigma2_floor = 1e-300, EM on exact rank-K data stopped on the rounding of its residuals (sigma2
    about 1e-31 of the average variance, with no warning) instead of at the floor, the constrained maximum.
    fit_ppca now refuses every floor below 1e-14 before it starts, naming sigma2_floor and the range: a learned
    sigma2 below about 1e-16 of the variance leaves a log likelihood that hangs on the rounding of y and C
    (fit_fa's docstring has the measurement). A floor of 1e-14 is reached and held (the documented floor,
    with a HeywoodWarning), and the log likelihood is that of the returned parameters (a dense oracle)."""
    y, K = _rank_k_data(), 2
    for bad in (1e-300, 1e-20):
        with pytest.raises(ValueError, match=rf"^sigma2_floor must lie in \[1e-14, 1\) for fit_ppca; got {bad:.3g}\."):
            fl.fit_ppca(y, K, rng=np.random.default_rng(0), sigma2_floor=bad, max_iter=90)
    with pytest.warns(fl.HeywoodWarning, match=r"sigma2 reached its variance floor"):
        res = fl.fit_ppca(y, K, rng=np.random.default_rng(0), sigma2_floor=1e-14, max_iter=60)
    np.testing.assert_allclose(res.params.Lambda, 1e-14 * np.var(y, axis=0).mean(), rtol=1e-9)
    exact = dense_log_lik(res.params, y, 90)
    assert abs(res.log_lik[-1] - exact) <= 1e-10 * abs(exact)


def test_a_tiny_learned_sigma2_keeps_the_log_likelihood_at_the_least_floor():
    """Data off a 2-dimensional subspace by noise of standard deviation 1e-7 (sigma2 near 1e-14 of the average
    variance, the least floor fit_ppca accepts): the log likelihood it reports is the dense mpmath value of
    the returned parameters to 1e-10 (with noise of 1e-10, below the supported range, it was 8e-10 off)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((100, 2))
    y = x @ rng.standard_normal((2, 5)) + 1e-7 * rng.standard_normal((100, 5)) + rng.normal(0, 10, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fl.HeywoodWarning)
        res = fl.fit_ppca(y, 2, rng=np.random.default_rng(0), sigma2_floor=1e-14, max_iter=3000, tol=1e-14)
    assert res.params.Lambda[0] < 1e-12 * np.var(y, axis=0).mean()
    exact = dense_log_lik(res.params, y, 100)
    assert abs(res.log_lik[-1] - exact) <= 1e-10 * abs(exact), (res.log_lik[-1], exact)


def test_ppca_ml_holds_a_tiny_floor_and_refuses_one_below_its_resolution():
    """The closed form read sigma2 off the discarded eigenvalues of eigh, rounded by a few ulps of the largest:
    on rank-K data with a floor of 1e-20 it returned that rounding (about 1e-16, or the floor, by BLAS
    kernel). It now takes them from the singular values of the centred data, which resolve them to about
    2e-28 of the largest, so a floor of 1e-20 is reached and held, and 1e-300 is refused naming sigma2_floor."""
    y, K = _rank_k_data(), 2
    with pytest.warns(fl.HeywoodWarning, match=r"sigma2 reached its variance floor"):
        params = fl.ppca_ml(y, K, sigma2_floor=1e-20)
    np.testing.assert_allclose(params.Lambda, 1e-20 * np.var(y, axis=0).mean(), rtol=1e-9)
    with pytest.raises(ValueError, match=r"sigma2_floor \(got 1e-300\) is what the fit holds there: raise it "
                                         r"to at least"):
        fl.ppca_ml(y, K, sigma2_floor=1e-300)
