"""The generic Gaussian smoother with near-noiseless observations (issue 69), against a 300-digit oracle.

With a state noise and an observation noise both ``t`` (1e-12 down to 1e-150), the filter's posterior is
exact along the observed direction: its variance there (about ``t``) is far below the rounding of the
variances near one beside it. The Joseph arrangement of the covariance update rounds such a matrix to
eigenvalues of about -1e-17, and the smoother's backward step then refused its own backward conditional
as "Sigma_y_x is not symmetric positive definite", from 1e-18 down under one BLAS code path and not at all
under another. The oracle is the Kalman filter and RTS smoother (Eqs. 2.47-2.55) in 300-digit mpmath
arithmetic on the same float64 inputs; float64 resolves the smoothed covariances to an absolute error of a
few unit roundoffs of their largest entries (about one), which is the tolerance used.
"""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from pedagogy_lib.core.checks import check_psd
from pedagogy_lib.recursions import generic as G


def _rts_mp(mu1, S1, A, Q, C, R, y, dps=300):
    """Filter and RTS smoother in ``dps`` digits: smoothed means and covariances as float arrays."""
    with mp.workdps(dps):
        M = lambda X: mp.matrix(np.atleast_2d(X).tolist())             # noqa: E731
        A_, Q_, C_, R_ = M(A), M(Q), M(C), M(R)
        mu, P = M(np.asarray(mu1)[:, None]), M(S1)
        fm, fP, pm, pP = [], [], [], []
        for t in range(y.shape[0]):
            if t:
                mu, P = A_ * mu, A_ * P * A_.T + Q_
            pm.append(mu)
            pP.append(P)
            S = C_ * P * C_.T + R_
            K = P * C_.T * S ** -1
            mu, P = mu + K * (M(y[t][:, None]) - C_ * mu), P - K * S * K.T
            fm.append(mu)
            fP.append(P)
        sm, sP = [fm[-1]], [fP[-1]]
        for t in range(y.shape[0] - 2, -1, -1):
            J = fP[t] * A_.T * pP[t + 1] ** -1
            sm.insert(0, fm[t] + J * (sm[0] - pm[t + 1]))
            sP.insert(0, fP[t] + J * (sP[0] - pP[t + 1]) * J.T)
        to = lambda X: np.array(X.tolist(), dtype=float)                # noqa: E731
        return np.array([to(m).ravel() for m in sm]), np.array([to(P) for P in sP])


@pytest.mark.parametrize("exponent", [-12, -16, -18, -20, -30, -50, -100, -150])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_near_noiseless_smoother_matches_the_high_precision_oracle(exponent, seed):
    t = 10.0 ** exponent
    rng = np.random.default_rng(seed)
    A, C = 0.9 * np.eye(2), np.array([[1.0, rng.uniform(0.2, 0.8)]])
    Q, R = np.diag([t, 0.5]), np.array([[t]])
    y = rng.normal(size=(4, 1))
    chain = G.gaussian_chain(np.zeros(2), np.eye(2), A, Q, C, np.zeros(1), R, y)
    filt = G.forward_filter(G.GAUSSIAN, chain)
    smooth = G.backward_smoother(G.GAUSSIAN, filt.filtered, chain.transitions)
    mu_ref, P_ref = _rts_mp(np.zeros(2), np.eye(2), A, Q, C, R, y)
    eps = np.finfo(float).eps
    np.testing.assert_allclose(np.array([g.mu for g in smooth.smoothed]), mu_ref, rtol=0, atol=64 * eps)
    np.testing.assert_allclose(np.array([g.Sigma for g in smooth.smoothed]), P_ref, rtol=0, atol=64 * eps)
    for k, b in enumerate(smooth.backward):           # every backward conditional is a valid covariance
        check_psd(b.Sigma, f"backward[{k}].Sigma")


def test_a_covariance_update_never_returns_a_negative_variance():
    """The posterior covariance of the covariance form is a sum of semidefinite terms: no eigenvalue of
    the returned matrix may be below the rounding of its own largest entry, at any noise level."""
    from pedagogy_lib import gaussian
    eps = np.finfo(float).eps
    for exponent in range(-150, 1, 10):
        t = 10.0 ** exponent
        post = gaussian.bayes_invert(np.zeros(3), np.eye(3), np.array([[1.0, 0.3, -0.7]]), np.zeros(1),
                                     np.array([[t]]), np.array([0.4]), form="covariance")
        lam = np.linalg.eigvalsh(post.Sigma)
        assert lam[0] >= -8 * eps * lam[-1], f"noise {t:.0e}: smallest eigenvalue {lam[0]:.3g}"
        # exact, with a unit prior: along u = C^T / |C| the variance is 1 - |C|^2 / (|C|^2 + t) = t / (|C|^2 + t)
        c2 = 1.0 + 0.09 + 0.49
        u = np.array([1.0, 0.3, -0.7]) / np.sqrt(c2)
        assert abs(u @ post.Sigma @ u - t / (c2 + t)) <= 8 * eps, f"noise {t:.0e}: variance along C"
