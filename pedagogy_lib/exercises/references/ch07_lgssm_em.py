"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch07_lgssm_em`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def moments(p):
    """(E[x_t x_t^T | y] for every t, E[x_{t+1} x_t^T | y] for every t) of a smoothed problem."""
    T = p.mu_smooth.shape[0]
    E_xx = [p.Upsilon_smooth[t] + np.outer(p.mu_smooth[t], p.mu_smooth[t]) for t in range(T)]
    E_next_prev = [p.Upsilon_cross[t] + np.outer(p.mu_smooth[t + 1], p.mu_smooth[t]) for t in range(T - 1)]
    return E_xx, E_next_prev


def lag_two_covariances(p):
    """Cov[x_{t+2}, x_t | y] for t = 0..T-3."""
    U, Uc = p.Upsilon_smooth, p.Upsilon_cross
    return [Uc[t + 1] @ np.linalg.solve(U[t + 1], Uc[t]) for t in range(U.shape[0] - 2)]


def offset_fit(y, mu, E_xx_sum):
    """(C, c, Sigma_y_x) fitted together from the sums of the emission term."""
    T, n = mu.shape
    W = np.block([[E_xx_sum, mu.sum(axis=0)[:, None]], [mu.sum(axis=0)[None, :], np.array([[float(T)]])]])
    Z = np.concatenate([y.T @ mu, y.sum(axis=0)[:, None]], axis=1)
    Cc = np.linalg.solve(W.T, Z.T).T
    return Cc[:, :n], Cc[:, n], (y.T @ y - Cc @ Z.T) / T


def isotropic(M):
    """s^2 I with s^2 the mean of the diagonal of M (the maximizer over s^2 I)."""
    return np.trace(M) / M.shape[0] * np.eye(M.shape[0])


def m_step_reference(p, *, covariances=True):
    """Eq. 7.4 for one sequence with Sigma_y_x = s^2 I (``covariances=False``: means only)."""
    y, mu, T = p.y, p.mu_smooth, p.y.shape[0]
    if not covariances:
        p = p._replace(Upsilon_smooth=0.0 * p.Upsilon_smooth, Upsilon_cross=0.0 * p.Upsilon_cross)
    E_xx, E_next_prev = moments(p)
    S10, S00, S11, S_all = sum(E_next_prev), sum(E_xx[:-1]), sum(E_xx[1:]), sum(E_xx)
    A = np.linalg.solve(S00.T, S10.T).T
    Syx = sum(np.outer(y[t], mu[t]) for t in range(T))
    C = np.linalg.solve(S_all.T, Syx.T).T
    return (A, (S11 - A @ S10.T) / (T - 1), C, isotropic((y.T @ y - C @ Syx.T) / T), mu[0].copy(),
            E_xx[0] - np.outer(mu[0], mu[0]))


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def m_step_slips(p):
    """Named wrong derivations of Eq. 7.4 on one smoothed problem ``p`` (a ``SmootherProblem``), per parameter."""
    y, mu, U, Uc = p.y, p.mu_smooth, p.Upsilon_smooth, p.Upsilon_cross
    T = y.shape[0]
    E_xx, E_next_prev = moments(p)
    S10, S00, S_all = sum(E_next_prev), sum(E_xx[:-1]), sum(E_xx)
    A, Sx, C, Syx_cov, mu1, S1 = m_step_reference(p)
    # the smoothed means alone have singular second moments when T - 1 < n: no such hint there
    means = m_step_reference(p, covariances=False) if T - 1 > mu.shape[1] else (None,) * 6
    Syx = y.T @ mu
    A_all = np.linalg.solve(S_all.T, S10.T).T
    A_cross_t = np.linalg.solve(S00.T, S10).T
    swapped = m_step_reference(p._replace(Upsilon_cross=np.swapaxes(Uc, 1, 2)))
    cross_t = ("you transposed Upsilon_cross; row t of it already holds the covariance of the later state with "
               "the earlier one, the order of E[x_t x_{t-1}^T]")
    no_cov = ("you left out the posterior covariances (smoothed means only): that is least squares on the "
              "smoothed means, not EM")
    hints = {
        "A": {no_cov: means[0],
              "your denominator sums E[x x^T] over all T steps; the predecessor runs over t = 1..T-1 only": A_all,
              "you used the transpose of the cross moment, the sum of E[x_{t-1} x_t^T]": A_cross_t,
              "you multiplied in the wrong order, S00^{-1} S10": np.linalg.solve(S00, S10),
              cross_t: swapped[0]},
        "Sigma_x": {no_cov: means[1],
                    "you divided by T; the transition averages run over the T - 1 transitions": Sx * (T - 1) / T,
                    "your second moment of x_t sums over all T steps instead of t = 2..T":
                        (S_all - A @ S10.T) / (T - 1),
                    cross_t: swapped[1]},
        "C": {no_cov: means[2],
              "your sums run over t = 2..T only; the emission statistics use every step":
                  np.linalg.solve(sum(E_xx[1:]).T, (y[1:].T @ mu[1:]).T).T},
        "Sigma_y_x": {no_cov: means[3],
                      "you divided by T - 1; the emission averages run over all T steps":
                          Syx_cov * T / (T - 1),
                      "you used the residuals of the smoothed means only, which miss C Upsilon C^T":
                          isotropic(((y - mu @ C.T).T @ (y - mu @ C.T)) / T),
                      "your Sigma_y_x is the unrestricted covariance of the residuals; this model's emission "
                      "noise is s^2 I": (y.T @ y - C @ Syx.T) / T,
                      "your s^2 does not maximize the emission term over s^2 I: write log det(s^2 I) and the "
                      "trace term as functions of s^2 before you differentiate":
                          Syx_cov * y.shape[1]},
        "mu1": {"you averaged the smoothed means over all steps; mu1 is about the first step":
                    mu.mean(axis=0)},
        "Sigma1": {no_cov: means[5],
                   "you gave the second moment E[x_1 x_1^T] without subtracting the outer product of mu1":
                       E_xx[0],
                   "you averaged the smoothed covariances over all steps; Sigma1 is about the first step":
                       U.mean(axis=0)},
    }
    return {name: {what: wrong for what, wrong in found.items() if wrong is not None} for name, found in hints.items()}
