"""Checkers of the data-assimilation notebook 3 (pedagogy_lib.exercises.da_ensemble)."""
from __future__ import annotations

import numpy as np

from pedagogy_lib import assimilation as da
from pedagogy_lib.exercises import da_ensemble as check


def _etkf(E, HE, y, R):
    """ETKF written from Hunt et al. (2007), in weight space with an SVD-based inverse square root, from the
    members' predicted observations (their paper's "Y^b" built from h applied to each member)."""
    N = E.shape[0]
    xb, hb = E.mean(axis=0), HE.mean(axis=0)
    X = (E - xb).T / np.sqrt(N - 1)                 # n x N
    Y = (HE - hb).T / np.sqrt(N - 1)                # m x N
    Ri = np.linalg.inv(R)
    Pt = np.linalg.inv(np.eye(N) + Y.T @ Ri @ Y)
    w = Pt @ Y.T @ Ri @ (y - hb)
    U, s, Vt = np.linalg.svd(Pt)
    W = U @ np.diag(np.sqrt(s)) @ Vt
    return (xb + X @ w) + (np.sqrt(N - 1) * X @ W).T


def _perturbed(E, HE, y, R):
    rng = np.random.default_rng(0)
    N = E.shape[0]
    A, B = E - E.mean(axis=0), HE - HE.mean(axis=0)
    K = (A.T @ B / (N - 1)) @ np.linalg.inv(B.T @ B / (N - 1) + R)
    return E + (y + rng.multivariate_normal(np.zeros(len(y)), R, N) - HE) @ K.T


def _linearized(E, HE, y, R):
    """The slip the statement warns about: a matrix C fitted to the first problem's members by least
    squares and then used as if h were linear (Step 1's analysis as the page writes it)."""
    N = E.shape[0]
    xb = E.mean(axis=0)
    C = np.linalg.lstsq(np.column_stack([E, np.ones(N)]), HE, rcond=None)[0][:-1].T
    X = (E - xb).T / np.sqrt(N - 1)
    S = (np.linalg.inv(np.linalg.cholesky(R)) @ C @ X).T
    d = np.linalg.inv(np.linalg.cholesky(R)) @ (y - C @ xb)
    g, U = np.linalg.eigh(np.eye(N) + S @ S.T)
    w = U @ ((U.T @ (S @ d)) / g)
    return (xb + X @ w) + np.sqrt(N - 1) * (X @ (U @ np.diag(g ** -0.5) @ U.T)).T


def test_etkf_update():
    assert check.etkf_update(_etkf)
    assert not check.etkf_update(_perturbed)
    r = check.etkf_update(lambda E, HE, y, R: _etkf(E, HE, y, R).mean(axis=0) + (E - E.mean(axis=0)))
    assert not r
    assert not check.etkf_update(None)


def test_etkf_update_needs_the_members_predicted_observations_not_a_matrix():
    assert any(np.abs(p.HE - p.E @ np.linalg.lstsq(p.E, p.HE, rcond=None)[0]).max() > 1e-3
               for p in check.EX_ANALYSIS)                 # some observation operators are not linear
    r = check.etkf_update(_linearized)
    assert not r and "problem 1" not in str(r), str(r)   # right on the linear problem, wrong on the others


def test_taper_matrix():
    n, radius = check.TAPER["n"], check.TAPER["radius"]
    i = np.arange(n)
    d = np.abs(i[:, None] - i[None, :])
    d = np.minimum(d, n - d)
    assert check.taper_matrix(da.gaspari_cohn(d / radius))
    assert np.allclose(da.periodic_taper(n, radius), da.gaspari_cohn(d / radius))
    r = check.taper_matrix(da.gaspari_cohn(np.abs(i[:, None] - i[None, :]) / radius))
    assert not r and "ring" in str(r)


def _l96_cycle(E, F=8.0, dt=0.05):
    """One RK4 step of Lorenz-96, dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, for every row of E, written
    from Lorenz (1996) without the library."""
    def f(X):
        return (np.roll(X, -1, axis=1) - np.roll(X, 2, axis=1)) * np.roll(X, 1, axis=1) - X + F
    k1 = f(E)
    k2 = f(E + dt / 2 * k1)
    k3 = f(E + dt / 2 * k2)
    k4 = f(E + dt * k3)
    return E + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def _sym_inv_sqrt(M):
    """The symmetric inverse square root of a symmetric positive definite M, from its SVD."""
    U, s, _ = np.linalg.svd(M)
    return U @ np.diag(s ** -0.5) @ U.T


def _oracle_etkf(E0, Y, R, inflation, *, members=False):
    """The statement's cycling ETKF in state space: the mean by the Kalman gain of the inflated sample
    covariance, the anomalies (rows) by T A with T = (I + A R^{-1} A^T / (N - 1))^{-1/2} symmetric, which is
    Step 1's transform written without whitening (Hunt et al. 2007). ``members`` is the slip of inflating
    the members rather than their anomalies."""
    N, n = E0.shape
    E, out = np.array(E0, dtype=float), []
    for t, y in enumerate(Y):
        if t > 0:
            E = _l96_cycle(E)
        m = E.mean(axis=0)
        E = inflation * E if members else m + inflation * (E - m)
        m = E.mean(axis=0)
        A = E - m
        P = A.T @ A / (N - 1)
        K = np.linalg.solve(P + R, P).T                    # P (P + R)^{-1}, P and R symmetric
        Tm = _sym_inv_sqrt(np.eye(N) + A @ np.linalg.solve(R, A.T) / (N - 1))
        E = m + K @ (y - m) + Tm @ A
        out.append(E)
    return np.array(out)


def test_cycling_etkf_accepts_the_state_space_oracle_on_book_and_drawn_problems():
    import importlib

    from pedagogy_lib.exercises import checker

    assert check.cycling_etkf(_oracle_etkf)
    try:
        for salt in range(3):
            with checker.drawn_for(salt):
                own = importlib.reload(check)
                for p in own.EX_CYCLING:
                    assert 1.04 <= p.inflation <= 1.25 and p.Y.shape[1] == p.E0.shape[1]
                    assert np.abs(p.R - np.diag(np.diag(p.R))).max() > 1e-3     # R is not diagonal
                assert own.cycling_etkf(_oracle_etkf), salt
    finally:
        importlib.reload(check)


def test_cycling_etkf_names_the_slips_without_the_answer():
    """Each slip gets its own message; none of them gives the ensembles, the factor or a direction."""
    def no_inflation(E0, Y, R, infl):
        return _oracle_etkf(E0, Y, R, 1.0)

    def forecast_first(E0, Y, R, infl):
        return _oracle_etkf(_l96_cycle(E0), Y, R, infl)

    def twice(E0, Y, R, infl):
        return _oracle_etkf(E0, Y, R, infl ** 2)

    def identity_R(E0, Y, R, infl):
        return _oracle_etkf(E0, Y, np.eye(len(R)), infl)

    def diagonal_R(E0, Y, R, infl):
        return _oracle_etkf(E0, Y, np.diag(np.diag(R)), infl)

    def other_root(E0, Y, R, infl):                 # right mean and covariance, members permuted
        return _oracle_etkf(E0, Y, R, infl)[:, ::-1]

    def no_forecast(E0, Y, R, infl):                # every cycle analyses the previous analysis
        E, out = E0, []
        for t in range(len(Y)):
            E = _oracle_etkf(E, Y[t:t + 1], R, infl)[0]
            out.append(E)
        return np.array(out)

    expect = {no_inflation: "not multiplied by the inflation factor", forecast_first: "made on a forecast",
              twice: "more than once", identity_R: "not used as given", diagonal_R: "only the diagonal",
              other_root: "square root", no_forecast: "differ from cycle 1 on"}
    for fn, words in expect.items():
        r = check.cycling_etkf(fn)
        assert not r and words in str(r), (fn.__name__, str(r))
        assert "1.0" not in str(r) and "larger" not in str(r) and "smaller" not in str(r), str(r)
    assert not check.cycling_etkf(None)
    assert "shape" in str(check.cycling_etkf(lambda E0, Y, R, infl: E0))


def test_etkf_hints_point_at_what_to_recheck_without_the_transform():
    def plain(E, HE, y, R):                      # the right mean, anomalies scaled by a wrong matrix
        out = _etkf(E, HE, y, R)
        return out.mean(axis=0) + 0.5 * (out - out.mean(axis=0))

    msg = str(check.etkf_update(plain))
    assert "re-check" in msg and "(I + S S^T)" not in msg, msg
