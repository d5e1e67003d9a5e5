r"""Brute-force oracle for the linear-Gaussian state-space model (Section 2.2.2).

Independent of the recursions under test: it writes the whole sequence as one big Gaussian and
conditions it with Schur complements (:func:`pedagogy_lib.gaussian.condition`).

Construction. Stack the noises :math:`\boldsymbol\epsilon = (\mathbf x_1 - \boldsymbol\mu_1,
\mathbf w_2, \dots, \mathbf w_T)` (covariance blockdiag(Sigma1, Sigma_x, ..., Sigma_x)). Unrolling
:math:`\mathbf x_t = \mathbf A\mathbf x_{t-1} + \mathbf B\mathbf u_{t-1} + \mathbf a + \mathbf w_t`
gives :math:`\mathbf x = \mathbf m + \mathbf M\boldsymbol\epsilon` with block lower-triangular
:math:`\mathbf M_{ts} = \mathbf A^{t-s}` and the noiseless mean path :math:`\mathbf m`. Then
:math:`\mathbf y = (\mathbf I\otimes\mathbf C)\mathbf x + \mathbf c + \mathbf v`. The joint of
``[x_1..x_T, y_1..y_T]`` (0-based rows as in the library) is returned as a ``Gaussian``.

Used by ``tests/lgssm/test_kalman.py`` and by the particle-filter tests; keep the function names stable.
:func:`high_precision_filter` is the filter of a perfect model in many digits, for the assimilation
filters' tests at extreme noise ratios.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import block_diag

from pedagogy_lib.gaussian.blocks import Gaussian, condition, mvn_logpdf

__all__ = ["lgssm_joint", "posterior_states", "oracle_filter", "oracle_smoother", "oracle_log_evidence",
           "high_precision_filter"]


def _unpack(params, T, u):
    mu1, Sigma1, A, B, a, Sigma_x, C, c, Sigma_y_x = (None if v is None else np.asarray(v, float) for v in params)
    n = mu1.shape[0]
    if B is None or B.size == 0:
        drive = np.tile(a, (max(T - 1, 0), 1))
    else:
        drive = np.asarray(u, float) @ B.T + a           # row t drives x[t] -> x[t+1]
    return mu1, Sigma1, A, drive, Sigma_x, C, c, Sigma_y_x, n


def lgssm_joint(params, T: int, u=None) -> Gaussian:
    """The joint Gaussian of ``[x_0..x_{T-1}, y_0..y_{T-1}]`` (0-based rows), dimension ``T (n + m)``."""
    mu1, Sigma1, A, drive, Sigma_x, C, c, Sigma_y_x, n = _unpack(params, T, u)
    mean_x = np.zeros((T, n))
    mean_x[0] = mu1
    for t in range(1, T):
        mean_x[t] = A @ mean_x[t - 1] + drive[t - 1]
    M = np.zeros((T * n, T * n))
    powers = [np.eye(n)]
    for _ in range(T):
        powers.append(A @ powers[-1])
    for t in range(T):
        for s in range(t + 1):
            M[t * n:(t + 1) * n, s * n:(s + 1) * n] = powers[t - s]
    noise = block_diag(Sigma1, *([Sigma_x] * (T - 1)))
    Sxx = M @ noise @ M.T
    H = np.kron(np.eye(T), C)
    Sxy = Sxx @ H.T
    Syy = H @ Sxx @ H.T + np.kron(np.eye(T), Sigma_y_x)
    mu = np.concatenate([mean_x.ravel(), (mean_x @ C.T + c).ravel()])
    Sigma = np.block([[Sxx, Sxy], [Sxy.T, Syy]])
    return Gaussian(mu, 0.5 * (Sigma + Sigma.T))


def posterior_states(params, y, u=None, upto: int | None = None) -> Gaussian:
    """Gaussian over all states ``x_0..x_{T-1}`` given the observed (non-NaN) rows ``y[t]`` with ``t < upto``.

    Returns the mean reshaped to ``(T, n)`` and the full ``(T n, T n)`` covariance.
    """
    y = np.asarray(y, float)
    T, m = y.shape
    upto = T if upto is None else upto
    joint = lgssm_joint(params, T, u)
    n = joint.mu.shape[0] // T - m
    rows = [t for t in range(min(upto, T)) if not np.isnan(y[t]).any()]
    obs = np.array([T * n + t * m + i for t in rows for i in range(m)], dtype=int)
    keep = np.arange(T * n)
    if obs.size == 0:
        return Gaussian(joint.mu[keep].reshape(T, n), joint.Sigma[np.ix_(keep, keep)])
    # drop the unobserved y's (marginalize them out) before conditioning on the observed ones
    sub = np.concatenate([keep, obs])
    g = condition(joint.mu[sub], joint.Sigma[np.ix_(sub, sub)], np.arange(T * n, T * n + obs.size),
                  np.concatenate([y[t] for t in rows]))
    return Gaussian(g.mu.reshape(T, n), g.Sigma)


def _block(S, n, t, s):
    return S[t * n:(t + 1) * n, s * n:(s + 1) * n]


def oracle_filter(params, y, u=None):
    """Return ``(mu_pred, Upsilon_pred, mu_filt, Upsilon_filt)`` by conditioning on prefixes of ``y``."""
    y = np.asarray(y, float)
    T = y.shape[0]
    out = {k: [] for k in ("mp", "Up", "mf", "Uf")}
    for t in range(T):
        g_pred = posterior_states(params, y, u, upto=t)
        g_filt = posterior_states(params, y, u, upto=t + 1)
        n = g_pred.mu.shape[1]
        out["mp"].append(g_pred.mu[t])
        out["Up"].append(_block(g_pred.Sigma, n, t, t))
        out["mf"].append(g_filt.mu[t])
        out["Uf"].append(_block(g_filt.Sigma, n, t, t))
    return tuple(np.array(out[k]) for k in ("mp", "Up", "mf", "Uf"))


def oracle_smoother(params, y, u=None):
    """Return ``(mu_smooth, Upsilon_smooth, Upsilon_cross)``; ``Upsilon_cross[t] = Cov[x_{t+1}, x_t | y]``."""
    g = posterior_states(params, y, u)
    T, n = g.mu.shape
    U_s = np.array([_block(g.Sigma, n, t, t) for t in range(T)])
    cross = np.array([_block(g.Sigma, n, t + 1, t) for t in range(T - 1)]).reshape(T - 1, n, n)
    return g.mu, U_s, cross


def oracle_log_evidence(params, y, u=None, upto: int | None = None) -> float:
    """``log p(observed rows of y[:upto])``: the stacked observed y under its Gaussian marginal."""
    y = np.asarray(y, float)
    T, m = y.shape
    upto = T if upto is None else upto
    joint = lgssm_joint(params, T, u)
    n = joint.mu.shape[0] // T - m
    rows = [t for t in range(min(upto, T)) if not np.isnan(y[t]).any()]
    if not rows:
        return 0.0
    obs = np.array([T * n + t * m + i for t in rows for i in range(m)], dtype=int)
    return float(mvn_logpdf(np.concatenate([y[t] for t in rows]), joint.mu[obs], joint.Sigma[np.ix_(obs, obs)]))


def high_precision_filter(A, C, mu1, S1, R, y, dps=50):
    """Filtered means and covariances of a perfect linear model (no state noise) in ``dps``-digit arithmetic,
    in information form: (Upsilon^-1 + C^T R^-1 C)^-1, a sum of positive definite terms that cancels at no
    ratio of the observation noise to the prior spread."""
    import mpmath as mp
    with mp.workdps(dps):
        M = lambda X: mp.matrix(np.atleast_2d(X).tolist())             # noqa: E731
        mu, P, Am, Cm, Ri = M(mu1).T, M(S1), M(A), M(C), M(R) ** -1
        means, covs = [], []
        for t in range(y.shape[0]):
            if t:
                mu, P = Am * mu, Am * P * Am.T
            Pi = P ** -1
            P = (Pi + Cm.T * Ri * Cm) ** -1
            mu = P * (Pi * mu + Cm.T * Ri * M(y[t]).T)
            means.append([float(v) for v in mu])
            covs.append([[float(P[i, j]) for j in range(P.cols)] for i in range(P.rows)])
    return np.array(means), np.array(covs)
