"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch08_sparse_em`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def m_step_with_offset(Y, nu, S, *, use_sigma=True):
    """The minimizer of the free energy's emission term over C and b together."""
    N = len(Y)
    y_bar, nu_bar = Y.mean(0), nu.mean(0)
    cov_yn = (Y - y_bar).T @ (nu - nu_bar) / N
    cov_nn = (nu - nu_bar).T @ (nu - nu_bar) / N
    C = cov_yn @ np.linalg.inv((S.mean(0) if use_sigma else 0.0) + cov_nn)
    return C, y_bar - C @ nu_bar


def em_variant(Y, nu, C, lam, alpha, beta, *, sigma=True, k_for_m=False, old_c=False, trace=True):
    """One EM iteration given the means, one named slip switched on: (C_new, lam_new), or None if the slip's normal
    equations are singular."""
    N, M = Y.shape
    K = C.shape[1]
    Sigma = np.linalg.inv(lam * C.T @ C + np.einsum("nk,kj->nkj", alpha * beta / np.cosh(beta * nu) ** 2,
                                                    np.eye(K)))
    B = (Sigma.mean(axis=0) if sigma else 0.0) + nu.T @ nu / N
    if np.linalg.cond(B) > 1e12:
        return None
    C_new = np.linalg.solve(B, nu.T @ Y / N).T
    C_lam = C if old_c else C_new
    resid = Y - nu @ C_lam.T
    err = np.sum(resid * resid) / N + (np.einsum("mk,nkj,mj->", C_lam, Sigma, C_lam) / N if trace else 0.0)
    return C_new, (K if k_for_m else M) / err


def em_cases():
    """Hidden problems (description, Y, nu, C, lam, alpha, beta): data of a sparse-coding model, the current model,
    and the E step's means for it found by FISTA; with the library's M step after the precisions of Eq. 8.11."""
    from ...factor import sparse_coding as sc
    from ...factor import sparse_coding_em as se
    from ..checker import problem_rng

    r = problem_rng(8112)
    cases = []
    for M, K, N, beta in [(4, 4, 30, 2.0), (2, 3, 60, 3.0), (5, 3, 25, 4.0), (3, 2, 1, 2.5), (6, 8, 40, 2.0)]:
        alpha = r.uniform(0.5, 2.0, size=K)
        truth = sc.make_model(r.normal(size=(M, K)), float(r.uniform(10.0, 40.0)), alpha=alpha, beta=beta,
                              prior="laplace")
        _, Y = sc.sample(r, truth, N)
        C = truth.C + 0.3 * r.normal(size=(M, K))
        model = sc.make_model(C, float(r.uniform(5.0, 30.0)), alpha=alpha, beta=beta, prior="laplace")
        nu = se.batch_map(Y, model, n_iter=2000, tol=1e-10)
        P = model.lam * C.T @ C + np.einsum("nk,kj->nkj", alpha * beta / np.cosh(beta * nu) ** 2, np.eye(K))
        Sigma = np.linalg.inv(P)
        new = se.m_step(Y, se.Recognition(nu, P, 0.5 * (Sigma + np.swapaxes(Sigma, 1, 2))), model)
        what = f"M = {M}, K = {K}, N = {N}" + (" (overcomplete)" if K > M else "") + (", one datum" if N == 1 else "")
        cases.append((what, (Y, nu, C, model.lam, alpha, np.full(K, beta)), (new.C, new.lam)))
    return cases
