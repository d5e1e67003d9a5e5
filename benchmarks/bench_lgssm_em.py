"""One EM iteration (E step + M step) for the linear-Gaussian state-space model, against pykalman.

Ours: ``lgssm_em.lgssm_m_step(lgssm_em.lgssm_suff_stats(init, y), init)``, i.e. input validation,
the numba Kalman filter + RTS smoother with lag-one cross-covariances, the expected sufficient
statistics and the closed-form M step of Eq. 7.4: exactly one iteration of ``fit_lgssm``.
Peer: pykalman's ``KalmanFilter.em(y, n_iter=1, em_vars=[...])`` with the six parameters of Eq. 7.4
listed explicitly (its default ``em_vars`` leaves A and C fixed). Before timing, one iteration of
both from the same parameters must agree (all six parameters to 1e-8 relative).

Conventions: pykalman's ``initial_state_mean/covariance`` are for its x_0, our row 0 (the book's
x_1); offsets are zero here.
"""
from __future__ import annotations

import numpy as np

from _harness import best_time, row

T = 1000
TARGET = 1.0                      # not slower than pykalman
EM_VARS = ["transition_matrices", "observation_matrices", "transition_covariance", "observation_covariance",
           "initial_state_mean", "initial_state_covariance"]


def _problem(n: int, m: int, seed: int = 0):
    from pedagogy_lib.lgssm import LGSSMParams, sample_lgssm
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, n))
    A = 0.95 * G / np.max(np.abs(np.linalg.eigvals(G)))
    true = LGSSMParams(np.zeros(n), np.eye(n), A, None, np.zeros(n), 0.1 * np.eye(n),
                       rng.standard_normal((m, n)), np.zeros(m), 0.5 * np.eye(m))
    y = sample_lgssm(true, T, rng=rng)[1]
    init = true._replace(A=0.5 * np.eye(n), C=rng.standard_normal((m, n)), Sigma_x=np.eye(n), Sigma_y_x=np.eye(m),
                         B=np.zeros((n, 0)))
    return init, y


def _peer(init, y):
    from pykalman import KalmanFilter
    kf = KalmanFilter(transition_matrices=init.A, observation_matrices=init.C, transition_covariance=init.Sigma_x,
                      observation_covariance=init.Sigma_y_x, transition_offsets=init.a, observation_offsets=init.c,
                      initial_state_mean=init.mu1, initial_state_covariance=init.Sigma1)
    return kf.em(y, n_iter=1, em_vars=EM_VARS)


def run() -> list[dict]:
    from pedagogy_lib.lgssm import em as le
    rows = []
    for n, m in ((2, 4), (4, 16)):
        init, y = _problem(n, m)
        ours = le.lgssm_m_step(le.lgssm_suff_stats(init, y), init)
        kf = _peer(init, y)
        for name, peer in zip(("A", "C", "Sigma_x", "Sigma_y_x", "mu1", "Sigma1"), EM_VARS):
            np.testing.assert_allclose(getattr(ours, name), getattr(kf, peer), rtol=1e-8, atol=1e-10, err_msg=name)
        t_ours = best_time(lambda: le.lgssm_m_step(le.lgssm_suff_stats(init, y), init), repeat=5)
        t_peer = best_time(lambda: _peer(init, y), repeat=3)
        ratio = t_peer / t_ours
        rows.append(row("LGSSM EM iteration (smoother + Eq. 7.4 M step)", f"T={T}, n={n}, m={m}", t_ours,
                        peer_name="pykalman `KalmanFilter.em` (`n_iter=1`)", peer=t_peer,
                        target=f">= {TARGET:g}x", met=bool(ratio >= TARGET),
                        note="one-iteration agreement checked (A, C, Sigma_x, Sigma_y_x, mu1, Sigma1)"))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
