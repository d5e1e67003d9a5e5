r"""Checkers for the exercises of notebook 5.1.1 (regression, ridge, leave-one-out in one step), in the book's layout
of one sample per *column*: Y (M x N), X (K x N), D (K x M); in Appendix A, X (M x N) and y (N,)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..learning import regression as rg
from . import checker

__all__ = ["RegressionProblem", "RidgeProblem", "LOOProblem", "EX_NORMAL", "EX_RIDGE", "EX_LOO", "normal_equations",
           "ridge_conventions", "loo_residual", "lofo_function"]


class RegressionProblem(NamedTuple):
    """Inputs ``Y`` (M, N), outputs ``X`` (K, N) and their noise covariance ``Sigma`` (K, K), the book's Sigma_x|y of
    Eq. 5.1."""

    Y: np.ndarray
    X: np.ndarray
    Sigma: np.ndarray


class RidgeProblem(NamedTuple):
    """Inputs and outputs, the prior mean ``m_d`` (M,) and covariance ``Sigma_d`` (M, M) of each row of D, and the
    noise variance ``sigma2``."""

    Y: np.ndarray
    X: np.ndarray
    m_d: np.ndarray
    Sigma_d: np.ndarray
    sigma2: float


class LOOProblem(NamedTuple):
    """Inputs ``X`` (M, N), outputs ``y`` (N,), the 0-based index ``n`` to leave out and the ridge strength ``lam``
    (every weight penalized)."""

    X: np.ndarray
    y: np.ndarray
    n: int
    lam: float


def _draw_normal(rng):
    """A problem like EX_NORMAL: the tied fit clearly apart from the untied rows and the plain average's fit."""
    from .references import ch05_regression as refs
    while True:
        Y = np.round(rng.uniform(-2.5, 3.0, size=(2, 6)), 1) + 0.0
        sd = np.sqrt(rng.uniform(0.2, 2.0, size=2))
        rho = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.6))
        S = np.round(np.array([[sd[0] ** 2, rho * sd[0] * sd[1]], [rho * sd[0] * sd[1], sd[1] ** 2]]), 2) + 0.0
        d = np.round(rng.uniform(-2.0, 2.0, size=2), 1)
        X = np.round(np.outer(np.ones(2), d @ Y) + np.linalg.cholesky(S) @ rng.normal(size=(2, 6)), 1) + 0.0
        if np.linalg.cond(Y @ Y.T) >= 10 or np.linalg.eigvalsh(S)[0] < 0.05:
            continue
        w = refs.tied_weights(S)
        G = Y @ Y.T
        tied = np.linalg.solve(G, Y @ (X.T @ w))
        plain = np.linalg.solve(G, Y @ X.T.mean(axis=1))
        rows = np.linalg.solve(G, Y @ X.T).T
        if (np.abs(w - 0.5).max() > 0.15 and np.abs(tied - plain).max() > 0.05
                and np.abs(rows - tied).max() > 0.05):
            return RegressionProblem(Y, X, S)


#: Exercise 1: M = 2 inputs, K = 2 outputs (two noisy readings of one linear function), N = 6.
EX_NORMAL = checker.book_or_drawn(RegressionProblem(
    Y=np.array([[1.0, 2.0, -1.0, 0.5, 3.0, -2.0], [0.0, 1.0, 1.5, -1.0, 2.0, 0.5]]),
    X=np.array([[1.4, 1.2, -2.7, 2.1, 1.8, -3.7], [2.2, 2.8, -1.5, 0.3, 1.9, -4.9]]),
    Sigma=np.array([[0.3, 0.2], [0.2, 1.2]]),
), _draw_normal, seed=5111)


def _draw_ridge(rng):
    """A problem like EX_RIDGE: correlated inputs, a prior mean that moves the posterior mean."""
    while True:
        Y = np.round(rng.multivariate_normal(np.zeros(3), [[1.0, 0.3, 0.2], [0.3, 1.0, 0.7], [0.2, 0.7, 1.0]],
                                             size=8).T, 1) + 0.0
        X = np.round(np.round(rng.uniform(-1.5, 1.5, size=3), 1) @ Y + rng.normal(scale=0.6, size=8), 1)[None, :]
        sd = np.round(rng.uniform(0.6, 1.6, size=3), 1)
        R = np.eye(3)
        i, j = rng.choice(3, size=2, replace=False)
        R[i, j] = R[j, i] = round(float(rng.uniform(0.3, 0.6)), 1) * rng.choice([-1.0, 1.0])
        S = np.round(sd[:, None] * R * sd[None, :], 2) + 0.0
        m = np.round(rng.uniform(-1.5, 1.5, size=3), 1) + 0.0
        s2 = round(float(rng.uniform(0.2, 0.9)), 1)
        shift = s2 * m @ np.linalg.solve(S, np.linalg.inv(Y @ Y.T + s2 * np.linalg.inv(S)))
        if (np.linalg.cond(Y @ Y.T) < 50 and np.linalg.eigvalsh(S)[0] > 0.1
                and np.diag(S).max() >= 2.0 * np.diag(S).min() and np.abs(shift).max() > 0.05):
            return RidgeProblem(Y, X + 0.0, m, S, s2)


#: Exercise 2: M = 3, K = 1, N = 8; a prior with a non-zero mean and a non-isotropic covariance.
EX_RIDGE = checker.book_or_drawn(RidgeProblem(
    Y=np.array([[0.3, -1.2, 0.8, 1.5, -0.4, 0.9, -1.1, 0.2],
                [1.0, 0.4, -0.6, 0.2, 1.3, -0.8, 0.5, -1.4],
                [0.7, 0.6, -0.9, 0.4, 1.0, -0.5, 0.3, -1.2]]),
    X=np.array([[1.9, -0.7, -0.2, 1.8, 1.4, -0.1, -0.4, -1.3]]),
    m_d=np.array([-0.5, 1.0, 1.5]), Sigma_d=np.array([[2.0, 0.8, 0.0], [0.8, 1.0, -0.3], [0.0, -0.3, 0.5]]),
    sigma2=0.5,
), _draw_ridge, seed=5112)


def _draw_loo(rng):
    """A problem like EX_LOO: one far sample whose leverage and residual the penalty clearly changes."""
    from .references import ch05_regression as refs
    while True:
        f = np.append(np.sort(np.round(rng.uniform(-1.2, 1.2, size=6), 1)), round(float(rng.uniform(3.0, 5.0)), 1))
        X = np.vstack([np.ones(7), f + 0.0])
        y = np.round(rng.uniform(-0.3, 0.3) + rng.uniform(0.5, 1.0) * f + rng.normal(scale=0.25, size=7), 1)
        y[6] = round(float(y[6] - rng.uniform(1.0, 2.0)), 1)       # the far sample sits off the others' line
        lam = round(float(rng.uniform(0.5, 1.5)), 1)
        h0, e0 = refs.leverage_and_loo(X, y, 6, 0.0)
        h, e_loo = refs.leverage_and_loo(X, y, 6, lam)
        if (np.ptp(f[:6]) > 1.2 and 0.7 < h0 < 0.95 and 0.6 < h < 0.93 and h0 - h > 0.02
                and abs(e_loo) > 0.3 and abs(e0 - e_loo) > 0.2 * abs(e_loo)):
            return LOOProblem(X, y + 0.0, 6, lam)


#: Exercise 3: an intercept row and one feature; leave out n = 6 of a ridge fit with lam = 1.
EX_LOO = checker.book_or_drawn(LOOProblem(
    X=np.array([[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [-1.0, -0.6, -0.1, 0.2, 0.5, 0.9, 4.0]]),
    y=np.array([-0.8, -0.2, 0.1, 0.6, 0.7, 1.3, 2.0]), n=6, lam=1.0,
), _draw_loo, seed=5113)


def normal_equations(D):
    """Exercise 1, ``ex-5-1-1-normal-equations``: your D = 1 d^T (K, M) for :data:`EX_NORMAL`, every output with the
    same row, fitted by the cross entropy of Eq. 5.1 with noise covariance ``Sigma``. Slips named: the untied Eq. 5.2,
    outputs weighted equally, Sigma brought in the wrong way."""
    from .references import ch05_regression as refs
    Y, X, S = EX_NORMAL
    K = X.shape[0]
    G = Y @ Y.T

    def tied(w):
        return np.outer(np.ones(K), np.linalg.solve(G, Y @ (X.T @ w)))

    ref = tied(refs.tied_weights(S))
    ones = np.ones(K)
    hints = {
        "you solved the normal equations of Eq. 5.2, one row per output: the statement ties the rows":
            rg.linear_regression(Y.T, X.T).w.T,
        "you weighted the outputs equally (the fit to their plain average)": tied(ones / K),
        "you weighted the outputs with Sigma itself where the cross entropy has its inverse":
            tied(S @ ones / (ones @ S @ ones)),
        "you weighted the outputs with their variances only, dropping their correlation":
            tied((1 / np.diag(S)) / np.sum(1 / np.diag(S))),
    }
    problems = checker.compare_array(D, ref, "your D", rtol=1e-6, hints=hints)
    return checker.result("normal equations with tied rows (Eq. 5.1)", problems)


def ridge_conventions(D_bayes, D_draft):
    """Exercise 2, ``ex-5-1-1-ridge-conventions``: for :data:`EX_RIDGE`, your ``D_bayes`` (the posterior mean) and
    ``D_draft`` (Eq. 5.6, the prior inside the sample average), (1, 3) each. Slips named: the prior mean left out or
    added after, its term incomplete, Sigma_d uninverted or diagonal, no noise variance, the conventions swapped,
    mixed sums and averages, no prior."""
    Y, X, m, S_d, s2 = EX_RIDGE
    N = Y.shape[1]
    P_d = np.linalg.inv(S_d)
    G, B = Y @ Y.T, X @ Y.T
    # shift the outputs by the prior mean's prediction: the residual weights D - m^T have a zero-mean prior
    Xc = X - m[None, :] @ Y
    post = rg.bayesian_linear_regression(Y.T, Xc.T, prior_precision=P_d, noise_variance=s2)
    ref_bayes = post.mu.T + m[None, :]
    ref_draft = rg.linear_regression(Y.T, Xc.T, ridge=N * s2 * P_d).w.T + m[None, :]

    def solve(P, c, n=1):
        """(X Y^T + c)(Y Y^T + P)^{-1}, all divided by n (sums for n = 1, averages for n = N)."""
        return np.linalg.solve((G + P) / n, (B + c).T / n).T

    mP = m[None, :] @ P_d

    hints_b = {
        "you used a prior centred at zero (the prior mean m_d is missing)": solve(s2 * P_d, 0.0 * mP),
        "you added the prior mean after solving with a zero-mean prior": solve(s2 * P_d, 0.0 * mP) + m[None, :],
        "the prior mean's term lacks the prior precision Sigma_d^{-1}": solve(s2 * P_d, s2 * m[None, :]),
        "the prior mean's term lacks the noise variance sigma^2": solve(s2 * P_d, mP),
        "you used Sigma_d itself where the posterior precision adds its inverse":
            solve(s2 * S_d, s2 * m[None, :] @ S_d),
        "you kept only the diagonal of Sigma_d, dropping the prior correlations":
            solve(s2 * np.diag(1.0 / np.diag(S_d)), s2 * m[None, :] / np.diag(S_d)),
        "you left out the noise variance sigma^2 in front of the prior precision": solve(P_d, mP),
        "you used the draft's sample-average form (the prior counted N times)": ref_draft,
        "you solved ordinary least squares, without the prior": solve(0.0 * P_d, 0.0 * mP),
    }
    hints_d = {
        "you used the sums form (the Bayesian posterior mean); Eq. 5.6 averages over samples": ref_bayes,
        "you used a prior centred at zero (the prior mean m_d is missing)": solve(N * s2 * P_d, 0.0 * mP),
        "you added the prior mean after solving with a zero-mean prior": solve(N * s2 * P_d, 0.0 * mP) + m[None, :],
        "the prior's precision and its mean's term are not counted the same number of times":
            solve(N * s2 * P_d, s2 * mP),
        "you averaged X Y^T but summed Y Y^T (or the reverse)": solve(s2 * P_d, s2 * mP) / N,
        "you used Sigma_d itself where Eq. 5.6 has its inverse": solve(N * s2 * S_d, N * s2 * m[None, :] @ S_d),
        "you kept only the diagonal of Sigma_d, dropping the prior correlations":
            solve(N * s2 * np.diag(1.0 / np.diag(S_d)), N * s2 * m[None, :] / np.diag(S_d)),
    }
    problems = checker.compare_array(D_bayes, ref_bayes, "your posterior mean D_bayes", rtol=1e-6, hints=hints_b)
    problems += checker.compare_array(D_draft, ref_draft, "your Eq. 5.6 D_draft", rtol=1e-6, hints=hints_d)
    return checker.result("ridge under the two conventions (Eq. 5.6)", problems)


def loo_residual(h_nn, e_loo_n):
    """Exercise 3, ``ex-5-1-1-loo-residual``: your leverage h_nn and leave-one-out residual of sample ``n`` of
    :data:`EX_LOO` for the ridge fit. Slips named: the unpenalized fit's, the two fits mixed, 1 - h_nn, the number of
    parameters, the ordinary residual, slips in how the leverage enters, a prediction."""
    X, y, n, lam = EX_LOO
    res = rg.loo_residuals(X.T, y, ridge=lam)
    plain = rg.loo_residuals(X.T, y)
    h_ref, e_ref = float(res.h[n]), float(res.e_loo[n])
    e_n = float(res.e[n])
    h0, e0 = float(plain.h[n]), float(plain.e[n])
    h_hints = {"you returned the leverage of the unpenalized fit; the fit here has the penalty lam": h0,
               "you returned m_nn = 1 - h_nn instead of h_nn": 1.0 - h_ref,
               "you used the number of parameters, not the n-th diagonal entry of the hat matrix": float(X.shape[0])}
    e_hints = {
        "you returned the leave-one-out residual of the unpenalized fit; the fit here has the penalty lam":
            float(plain.e_loo[n]),
        "you divided the ridge residual by one minus the unpenalized leverage": e_n / (1.0 - h0),
        "you divided the unpenalized residual by one minus the ridge leverage": e0 / (1.0 - h_ref),
        "you returned the ordinary residual e_n, from the fit that saw y_n": e_n,
        "you multiplied by m_nn = 1 - h_nn instead of dividing": e_n * (1.0 - h_ref),
        "you divided by 1 + h_nn; the denominator is m_nn = 1 - h_nn": e_n / (1.0 + h_ref),
        "you divided by h_nn; the denominator is m_nn = 1 - h_nn": e_n / h_ref,
        "you returned the leave-one-out prediction, not the residual y_n - yhat_LOO,n": float(res.y_hat_loo[n]),
    }
    problems = checker.compare_scalar(h_nn, h_ref, "your leverage h_nn", rtol=1e-6, hints=h_hints)
    problems += checker.compare_scalar(e_loo_n, e_ref, "your leave-one-out residual", rtol=1e-6, hints=e_hints)
    return checker.result("leave-one-out residual of a ridge fit from its leverage (Eq. A.7)", problems)


def _lofo_cases():
    """Hidden problems (H, e, folds): least-squares fits with unequal folds, contiguous or interleaved."""
    r = checker.problem_rng(51151)
    cases = []
    for M, N, K, interleave in [(2, 9, 3, True), (3, 14, 4, False), (4, 21, 5, True), (3, 10, 2, False)]:
        X = r.normal(size=(M, N))
        X[0] = 1.0                                                # an offset row
        y = X.T @ r.normal(size=M) + 0.3 * r.normal(size=N)
        sizes = np.full(K, N // K)
        sizes[: N % K] += 1
        sizes[0] += 1
        sizes[-1] -= 1                                            # unequal sizes
        folds = np.repeat(np.arange(K), sizes)
        if interleave:
            folds = r.permutation(folds)
        H = X.T @ np.linalg.solve(X @ X.T, X)
        e = y - H @ y
        cases.append((H, e, folds, rg.lofo_residuals(X.T, y, folds)))
    return cases


def _lofo_slips(H, e, folds):
    """Named wrong derivations of Eq. A.8 on one problem."""
    out = {"you returned the ordinary residuals e: the samples of each fold were not left out": e.copy()}
    h = np.diag(H)
    out["you divided by 1 - h_nn sample by sample (Eq. A.7, leaving out one sample at a time), "
        "as if the other samples of the fold stayed in the fit"] = e / (1.0 - h)
    wrong = np.empty_like(e)
    for k in np.unique(folds):
        idx = np.flatnonzero(folds == k)
        wrong[idx] = (np.eye(idx.size) - H[np.ix_(idx, idx)]) @ e[idx]
    out["you multiplied e_k by M_k: the block is applied the wrong way round"] = wrong
    return out


def lofo_function(fn):
    """Exercise 4, ``ex-5-1-1-lofo-function``: your function ``fn(H, e, folds)`` returning the leave-one-fold-out
    residuals (N,) from the hat matrix ``H``, the residuals ``e`` and the fold labels. Slips named: the ordinary
    residuals, Eq. A.7 sample by sample, the block applied the wrong way round."""
    def judge(out, where, H, e, folds, ref):
        return checker.compare_array(out, ref, f"the output on {where}", rtol=1e-6, hints=_lofo_slips(H, e, folds))

    cases = [(f"test problem {i + 1} ({H.shape[0]} samples in {np.unique(folds).size} folds of sizes "
              f"{', '.join(str(n) for n in np.bincount(folds))})", (H, e, folds), ref)
             for i, (H, e, folds, ref) in enumerate(_lofo_cases())]
    return checker.check_function("K-fold residuals from one fit (Eq. A.8)", fn, cases, judge, name="my_lofo",
                                  signature="(H, e, folds)")

#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-5-1-1-lofo-function": {"same_data": checker.FUNCTION_ANSWER},
}
