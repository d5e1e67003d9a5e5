"""A plain reference for CAVI on the Bayesian Gaussian mixture (Bishop 2006, Section 10.2), written
independently of ``pedagogy_lib.vi`` and ``pedagogy_lib.mixture``.

The way a careful user would write it: the label update as one ``@njit`` loop over the points
(for each point the K log-responsibilities from the Cholesky factor of each expected precision
``nu_k W_k``, a log-sum-exp, the responsibilities, their entropy, and the responsibility-weighted
sums of ``d = y_n - m_k`` and ``d d^T`` accumulated per component), and the parameter update and
the ELBO (Bishop 2006, Section 10.2: his results 10.58 to 10.63 and 10.70 to 10.77) in a few
lines of NumPy and SciPy on the ``K x D x D`` factors. Priors and initialization are
scikit-learn's parameterization, as in the library: ``W0_inv`` is the inverse Wishart scale,
soft counts get ``10 eps`` added. It returns the same things as ``cavi_bgmm``: the final factors ``(alpha, beta, m, W_inv, nu)`` and the ELBO after
every iteration. No input validation, no convergence test (``tol = 0``).
"""
from __future__ import annotations

import numba
import numpy as np
from scipy.special import digamma, gammaln

TINY = 10.0 * np.finfo(np.float64).eps


@numba.njit(cache=True)
def _labels(y, m, U, c, Nk, Sd, Sdd):
    """One pass over the points. ``U[k] = chol(nu_k W_k)^T`` (upper triangular), so the quadratic form
    ``nu_k d^T W_k d`` is ``||U[k] d||^2``; ``c[k]`` is the constant part of the log-responsibility. Adds the soft counts, sums of ``r d`` and ``r d d^T`` (upper triangle,
    ``d = y_n - m_k``) into ``Nk, Sd, Sdd``; returns the entropy ``-sum r log r``."""
    N, D = y.shape
    K = m.shape[0]
    d = np.empty((K, D))
    logr = np.empty(K)
    H = 0.0
    for n in range(N):
        for k in range(K):
            for i in range(D):
                d[k, i] = y[n, i] - m[k, i]
            q = 0.0
            for i in range(D):
                w = 0.0
                for j in range(i, D):
                    w += U[k, i, j] * d[k, j]
                q += w * w
            logr[k] = c[k] - 0.5 * q
        mx = logr.max()
        s = 0.0
        for k in range(K):
            s += np.exp(logr[k] - mx)
        lse = mx + np.log(s)
        for k in range(K):
            lr = logr[k] - lse
            r = np.exp(lr)
            if r > 0.0:
                H -= r * lr
            Nk[k] += r
            for i in range(D):
                rd = r * d[k, i]
                Sd[k, i] += rd
                for j in range(i, D):
                    Sdd[k, i, j] += rd * d[k, j]
    return H


def _labels_numpy(y, m, U, c, Nk, Sd, Sdd):
    """The same pass vectorized over the points with NumPy (one loop over the K components)."""
    K = m.shape[0]
    logr = np.empty((y.shape[0], K))
    ds = []
    for k in range(K):
        d = y - m[k]
        w = d @ U[k].T
        logr[:, k] = c[k] - 0.5 * np.einsum("ni,ni->n", w, w)
        ds.append(d)
    mx = logr.max(axis=1, keepdims=True)
    lse = mx + np.log(np.exp(logr - mx).sum(axis=1, keepdims=True))
    logr -= lse
    r = np.exp(logr)
    H = -float(np.sum(np.where(r > 0.0, r * logr, 0.0)))
    Nk += r.sum(axis=0)
    for k in range(K):
        rd = r[:, k, None] * ds[k]
        Sd[k] += rd.sum(axis=0)
        Sdd[k] += rd.T @ ds[k]
    return H


def _update(Nk, Sd, Sdd, mref, alpha0, beta0, m0, W0_inv, nu0):
    """Bishop's (2006) results 10.58 to 10.63 from the statistics centred at ``mref``; also returns (N, ybar, N S)."""
    N = Nk + TINY
    Sdd = np.triu(Sdd) + np.swapaxes(np.triu(Sdd, 1), 1, 2)
    delta = Sd / N[:, None]
    ybar = mref + delta
    NS = Sdd - Sd[:, :, None] * delta[:, None, :]
    NS = 0.5 * (NS + np.swapaxes(NS, 1, 2))
    beta = beta0 + N
    m = (beta0 * m0 + N[:, None] * ybar) / beta[:, None]
    e = ybar - m0
    W_inv = W0_inv + NS + (beta0 * N / beta)[:, None, None] * e[:, :, None] * e[:, None, :]
    return (alpha0 + N, beta, m, W_inv, nu0 + N), (N, ybar, NS)


def _log_wishart_B(logdet_W, nu, D):
    return (-0.5 * nu * logdet_W - 0.5 * nu * D * np.log(2.0) - 0.25 * D * (D - 1) * np.log(np.pi)
            - gammaln(0.5 * (np.asarray(nu)[..., None] - np.arange(D))).sum(axis=-1))


def _expect(q):
    alpha, beta, m, W_inv, nu = q
    D = m.shape[1]
    logdet_W = -np.linalg.slogdet(W_inv)[1]
    E_log_pi = digamma(alpha) - digamma(alpha.sum())
    E_logdet = digamma(0.5 * (nu[:, None] - np.arange(D))).sum(axis=1) + D * np.log(2.0) + logdet_W
    return E_log_pi, E_logdet, logdet_W


def _elbo(q, moments, H, alpha0, beta0, m0, W0_inv, nu0):
    """Bishop's (2006) results 10.70 to 10.77 (the label entropy ``H`` from the pass over the points)."""
    alpha, beta, m, W_inv, nu = q
    N, ybar, NS = moments
    K, D = m.shape
    E_log_pi, E_logdet, logdet_W = _expect(q)
    W = np.linalg.inv(W_inv)
    dy, dm = ybar - m, m - m0
    quad_y = np.einsum("ki,kij,kj->k", dy, W, dy)
    quad_m = np.einsum("ki,kij,kj->k", dm, W, dm)
    tr_SW = np.einsum("kij,kji->k", NS, W)
    tr_W0W = np.einsum("ij,kji->k", W0_inv, W)
    e_lik = 0.5 * np.sum(N * (E_logdet - D / beta - D * np.log(2 * np.pi)) - nu * (tr_SW + N * quad_y))
    e_z = np.sum(N * E_log_pi)
    e_pi = gammaln(K * alpha0) - K * gammaln(alpha0) + (alpha0 - 1.0) * E_log_pi.sum()
    logdet_W0 = -np.linalg.slogdet(W0_inv)[1]
    e_mulam = (0.5 * np.sum(D * np.log(beta0 / (2 * np.pi)) + E_logdet - D * beta0 / beta - beta0 * nu * quad_m)
               + K * _log_wishart_B(logdet_W0, nu0, D) + 0.5 * (nu0 - D - 1) * E_logdet.sum()
               - 0.5 * np.sum(nu * tr_W0W))
    q_pi = np.sum((alpha - 1.0) * E_log_pi) + gammaln(alpha.sum()) - gammaln(alpha).sum()
    H_lam = -_log_wishart_B(logdet_W, nu, D) - 0.5 * (nu - D - 1) * E_logdet + 0.5 * nu * D
    q_mulam = np.sum(0.5 * E_logdet + 0.5 * D * np.log(beta / (2 * np.pi)) - 0.5 * D - H_lam)
    return float(e_lik + e_z + e_pi + e_mulam + H - q_pi - q_mulam)


def cavi_bgmm(y, alpha0, beta0, m0, W0_inv, nu0, r0, n_iter, labels="numba"):
    """Plain CAVI from responsibilities ``r0``: returns ``((alpha, beta, m, W_inv, nu), elbo)``.

    ``labels="numba"`` runs the label update as the numba loop, ``"numpy"`` vectorized with NumPy."""
    pass_ = _labels if labels == "numba" else _labels_numpy
    y = np.ascontiguousarray(y, dtype=float)
    N, D = y.shape
    K = r0.shape[1]
    mref = (r0.T @ y) / (r0.sum(axis=0) + TINY)[:, None]          # centre the initial statistics at the means
    Sd = np.zeros((K, D))
    Sdd = np.empty((K, D, D))
    for k in range(K):
        d = y - mref[k]
        Sd[k] = r0[:, k] @ d
        Sdd[k] = (r0[:, k, None] * d).T @ d
    q, _ = _update(r0.sum(axis=0), Sd, Sdd, mref, alpha0, beta0, m0, W0_inv, nu0)
    elbo = np.empty(n_iter)
    for it in range(n_iter):
        alpha, beta, m, W_inv, nu = q
        E_log_pi, E_logdet, _ = _expect(q)
        U = np.ascontiguousarray(np.swapaxes(np.linalg.cholesky(nu[:, None, None] * np.linalg.inv(W_inv)), 1, 2))
        c = E_log_pi + 0.5 * E_logdet - 0.5 * D / beta - 0.5 * D * np.log(2 * np.pi)
        Nk, Sd, Sdd = np.zeros(K), np.zeros((K, D)), np.zeros((K, D, D))
        H = pass_(y, m, U, c, Nk, Sd, Sdd)
        q, moments = _update(Nk, Sd, Sdd, m, alpha0, beta0, m0, W0_inv, nu0)
        elbo[it] = _elbo(q, moments, H, alpha0, beta0, m0, W0_inv, nu0)
    return q, elbo
