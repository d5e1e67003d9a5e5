"""ppca_ml factorizes the centred data once: the singular value decomposition gives the loadings' directions
(right singular vectors) and weights (squared singular values over N) as well as the discarded eigenvalues
whose mean is sigma2. It took an eigendecomposition of the covariance and then an SVD of the same data.
Oracle: a dense eigendecomposition of the 1/N sample covariance, at scales 1e-8, 1 and 1e8."""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.factor import em as fl


def _data(N=400, L=6):
    rng = np.random.default_rng(4)
    return rng.standard_normal((N, L)) @ np.diag([4.0, 2.5, 1.5, 0.6, 0.5, 0.4])[:L, :L] @ \
        np.linalg.qr(rng.standard_normal((L, L)))[0] + rng.normal(0, 3, L)


def _dense_ppca(y, K):
    """Tipping and Bishop's closed form from numpy's eigh of the 1/N covariance: C C^T + sigma2 I and sigma2."""
    S = np.cov(y, rowvar=False, bias=True)
    w, U = np.linalg.eigh(S)
    w, U = w[::-1], U[:, ::-1]
    sigma2 = float(np.mean(w[K:]))
    return U[:, :K] @ np.diag(w[:K] - sigma2) @ U[:, :K].T + sigma2 * np.eye(y.shape[1]), sigma2, U[:, :K]


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
@pytest.mark.parametrize("K", [1, 3])
def test_ppca_ml_matches_a_dense_eigendecomposition_at_every_scale(scale, K):
    y = _data() * scale
    got = fl.ppca_ml(y, K)
    cov, sigma2, U = _dense_ppca(y, K)
    np.testing.assert_allclose(got.Lambda, sigma2, rtol=1e-10)
    np.testing.assert_allclose(got.C @ got.C.T + np.diag(got.Lambda), cov, rtol=0, atol=1e-10 * np.abs(cov).max())
    np.testing.assert_allclose(got.c, y.mean(axis=0), rtol=1e-15)
    # columns along the eigenvectors, each with its largest-magnitude entry positive (the PCAResult convention)
    V = got.C / np.linalg.norm(got.C, axis=0)
    np.testing.assert_allclose(np.abs(V.T @ U), np.eye(K), atol=1e-9)
    idx = np.argmax(np.abs(V), axis=0)
    assert np.all(V[idx, np.arange(K)] > 0)
    # the same directions as pca's, which keeps the eigendecomposition of the covariance
    np.testing.assert_allclose(V, fl.pca(y, K).U, atol=1e-9)


def test_ppca_ml_factorizes_the_data_once(monkeypatch):
    """One SVD of the centred data and no eigendecomposition (it did both, of the same scaled data)."""
    calls = []
    svd, eigh = np.linalg.svd, np.linalg.eigh

    def count_svd(*a, **k):
        calls.append("svd")
        return svd(*a, **k)

    def count_eigh(*a, **k):
        calls.append("eigh")
        return eigh(*a, **k)

    monkeypatch.setattr(np.linalg, "svd", count_svd)
    monkeypatch.setattr(np.linalg, "eigh", count_eigh)
    fl.ppca_ml(_data(), 2)
    assert calls == ["svd"]
