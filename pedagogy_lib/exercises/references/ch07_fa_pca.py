"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch07_fa_pca`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np

from ...factor import em as fl
from ...factor import model as fa


def centred_cov(y):
    """The covariance of the rows of y about their mean, divided by N."""
    Yc = y - y.mean(axis=0)
    return Yc.T @ Yc / y.shape[0]


def one_step(y, C, Lam, c, prior_cov, *, centre="c", prior_inverse=True, with_cov=True, new_C_in_Lambda=True):
    """One dense EM step (Eq. 7.3, bias subtracted) for a prior N(0, prior_cov); keywords make slips."""
    N = y.shape[0]
    Yc = {"c": y - c, "mean": y - y.mean(axis=0), "none": y}[centre]
    prior_prec = np.linalg.inv(prior_cov) if prior_inverse else prior_cov
    P = C.T @ np.diag(1.0 / Lam) @ C + prior_prec                # posterior precision
    Sx = np.linalg.inv(P)                                          # posterior covariance
    Kg = Sx @ C.T @ np.diag(1.0 / Lam)                             # gain K of Eq. 7.3
    M = Yc @ Kg.T                                                  # posterior means, rows
    Eyx = Yc.T @ M / N                                             # <(y - c) E[x]^T>
    Exx = (Sx if with_cov else 0.0) + M.T @ M / N                  # <E[x x^T]>
    C_new = Eyx @ np.linalg.inv(Exx)
    Syy = Yc.T @ Yc / N
    Lam_new = np.diag(Syy) - np.sum((C_new if new_C_in_Lambda else C) * Eyx, axis=1)
    return C_new, Lam_new


def ipca_steps(y, C, n_steps, *, centre=True):
    """``n_steps`` iterations of the draft's iterative PCA (Section 7.3.1) from ``C``."""
    Y = y - y.mean(axis=0) if centre else y
    for _ in range(n_steps):
        X = np.linalg.solve(C.T @ C, C.T @ Y.T).T
        C = (Y.T @ X) @ np.linalg.inv(X.T @ X)
    return C


def sigma2_in_subspace(S, U):
    """The ML noise variance of PPCA with loadings in span(U), direction by direction."""
    L, K = U.shape
    inside = np.sort(np.linalg.eigvalsh(U.T @ S @ U))[::-1]
    outside = np.trace(S) - inside.sum()
    for r in range(K, -1, -1):                      # r directions of span(U) carry signal
        s2 = (outside + inside[r:].sum()) / (L - r)
        if r == 0 or inside[r - 1] > s2:
            return float(s2)


def em_reference(y, C, Lam, n_iter):
    """The library's EM steps (floor far below every variance) and its log likelihood, summed over the data."""
    params = fa.FAParams(C, y.mean(axis=0), Lam)
    ll = [float(np.sum(fa.fa_log_likelihood(params, y)))]
    for _ in range(n_iter):
        params = fl.fa_em_step(params, y, Lambda_floor=1e-9)
        ll.append(float(np.sum(fa.fa_log_likelihood(params, y))))
    return params.C, params.Lambda, np.array(ll)


def em_variant(y, C, Lam, n_iter, *, centred=True, with_cov=True, new_C=True, draft_sign=False, ddof=0):
    """EM for factor analysis written out densely, one named slip switched on."""
    N, L = y.shape
    K = C.shape[1]
    Yc = y - y.mean(axis=0) if centred else y
    S = Yc.T @ Yc / (N - ddof)
    for _ in range(n_iter):
        Sx = np.linalg.inv(C.T @ np.diag(1.0 / Lam) @ C + np.eye(K))
        Kg = Sx @ C.T @ np.diag(1.0 / Lam)
        Eyx = S @ Kg.T
        Exx = (Sx if with_cov else 0.0) + Kg @ S @ Kg.T
        C_new = Eyx @ np.linalg.inv(Exx)
        if draft_sign:
            Lam = np.diag(S - Eyx @ C_new.T - C_new @ Eyx.T - C_new @ Exx @ C_new.T)
        else:
            Lam = np.diag(S) - np.sum((C_new if new_C else C) * Eyx, axis=1)
        C = C_new
    return C, Lam
