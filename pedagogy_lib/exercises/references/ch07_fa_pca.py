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


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def em_slips(y, C, Lam, n_iter, ll_ref) -> tuple[dict, dict, dict]:
    """(hints for C, for Lambda, for log_lik) of named wrong versions."""
    N, L = y.shape
    named = {
        "you used the draft's posterior mean K y without subtracting the bias: use K (y - c) with c the sample "
        "mean, and centred data throughout": {"centred": False},
        "you left the posterior covariance out of <E[x x^T]>: E[x x^T | y] = Cov[x | y] + E[x] E[x]^T":
            {"with_cov": False},
        "you divided the averages by N - 1; maximum likelihood divides by N": {"ddof": 1},
    }
    C_hints, L_hints = {}, {}
    with np.errstate(all="ignore"):
        for text, kw in named.items():
            C_hints[text], L_hints[text] = em_variant(y, C, Lam, n_iter, **kw)
        for text, kw in (("you used the old C in the update of Lambda: the simplification <yy^T> - C <x y^T> "
                          "needs the new C", {"new_C": False}),
                         ("your Lambda has the draft's sign on the last term of the expansion (the erratum above): "
                          "expand <(y - C x)(y - C x)^T> again", {"draft_sign": True})):
            C_w, L_hints[text] = em_variant(y, C, Lam, n_iter, **kw)
            if n_iter > 1:                 # the wrong Lambda steers the later iterations of C as well
                C_hints[text] = C_w
    C_hints["you returned the starting C"] = C
    L_hints["you returned the starting Lambda"] = Lam
    Yc = y - y.mean(axis=0)
    ll_hints = {
        "your log likelihood is the average over the data; the exercise asks for the sum": ll_ref / N,
        "your log likelihood lacks the constant -N L log(2 pi) / 2": ll_ref + 0.5 * N * L * np.log(2 * np.pi),
        "your log likelihood is of the data about zero: the marginal is N(c, C C^T + Lambda), centred at the "
        "sample mean c": ll_ref - 0.5 * np.array([_quad_shift(y, Yc, p) for p in _em_path(y, C, Lam, n_iter)]),
    }
    return C_hints, L_hints, ll_hints


def _em_path(y, C, Lam, n_iter):
    """The covariances C C^T + Lambda at the start and after each iteration."""
    out, params = [C @ C.T + np.diag(Lam)], fa.FAParams(C, y.mean(axis=0), Lam)
    for _ in range(n_iter):
        params = fl.fa_em_step(params, y, Lambda_floor=1e-9)
        out.append(params.C @ params.C.T + np.diag(params.Lambda))
    return out


def _quad_shift(y, Yc, Sigma):
    """sum_n y_n^T Sigma^{-1} y_n - sum_n (y_n - c)^T Sigma^{-1} (y_n - c): what leaving out the mean adds."""
    return float(np.sum(y * np.linalg.solve(Sigma, y.T).T) - np.sum(Yc * np.linalg.solve(Sigma, Yc.T).T))
