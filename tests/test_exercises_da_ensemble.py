"""Checkers of the data-assimilation notebook 3 (pedagogy_lib.exercises.da_ensemble)."""
from __future__ import annotations

import numpy as np

from pedagogy_lib import assimilation as da
from pedagogy_lib.exercises import da_ensemble as check


def _etkf(E, y, C, R):
    """ETKF written from Hunt et al. (2007), in weight space with an SVD-based inverse square root."""
    N = E.shape[0]
    xb = E.mean(axis=0)
    X = (E - xb).T / np.sqrt(N - 1)                 # n x N
    Ri = np.linalg.inv(R)
    Y = C @ X
    Pt = np.linalg.inv(np.eye(N) + Y.T @ Ri @ Y)
    w = Pt @ Y.T @ Ri @ (y - C @ xb)
    U, s, Vt = np.linalg.svd(Pt)
    W = U @ np.diag(np.sqrt(s)) @ Vt
    return (xb + X @ w) + (np.sqrt(N - 1) * X @ W).T


def _perturbed(E, y, C, R):
    rng = np.random.default_rng(0)
    P = np.cov(E.T)
    K = P @ C.T @ np.linalg.inv(C @ P @ C.T + R)
    return E + (y + rng.multivariate_normal(np.zeros(len(y)), R, E.shape[0]) - E @ C.T) @ K.T


def test_etkf_update():
    assert check.etkf_update(_etkf)
    assert not check.etkf_update(_perturbed)
    r = check.etkf_update(lambda E, y, C, R: _etkf(E, y, C, R).mean(axis=0) + (E - E.mean(axis=0)))
    assert not r
    assert not check.etkf_update(None)


def test_taper_matrix():
    n, radius = check.TAPER["n"], check.TAPER["radius"]
    i = np.arange(n)
    d = np.abs(i[:, None] - i[None, :])
    d = np.minimum(d, n - d)
    assert check.taper_matrix(da.gaspari_cohn(d / radius))
    assert np.allclose(da.periodic_taper(n, radius), da.gaspari_cohn(d / radius))
    r = check.taper_matrix(da.gaspari_cohn(np.abs(i[:, None] - i[None, :]) / radius))
    assert not r and "ring" in str(r)


def test_best_inflation():
    rmse = check.inflation_rmse()
    assert len(rmse) == len(check.INFLATIONS)
    assert check.best_inflation(int(np.argmin(rmse)))
    r = check.best_inflation(0)
    assert not r and "without inflation" in str(r)
    assert not check.best_inflation(len(check.INFLATIONS))
