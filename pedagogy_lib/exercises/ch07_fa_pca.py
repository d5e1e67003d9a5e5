r"""Checkers for the exercises of notebook 7.3 (factor analysis, PPCA and PCA); observations are rows, ``(N, L)``."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import subspace_angles

from . import checker

__all__ = ["FAStepProblem", "PCAProblem", "EX_FA_STEP", "EX_IPCA", "EX_IPCA_START", "EX_IPCA_STEPS", "EX_HEYWOOD",
           "EX_PPCA_U", "fa_em_step", "principal_subspace", "heywood_dimension", "ppca_noise", "fa_em_iterations"]


class FAStepProblem(NamedTuple):
    """Observations ``y`` (N, L), the current ``C`` (L, K) and ``Lambda`` (L,), and two known quantities EM does not
    re-estimate: the bias ``c`` (L,) and the factors' prior covariance ``Phi`` (K, K)."""

    y: np.ndarray
    C: np.ndarray
    Lambda: np.ndarray
    c: np.ndarray
    Phi: np.ndarray


class PCAProblem(NamedTuple):
    """Observations ``y`` (N, L) and the number of components ``K``."""

    y: np.ndarray
    K: int


def _make_fa_step():
    """Correlated factors and a known bias c: neither the sample mean nor N(0, I) holds."""
    rng = checker.problem_rng(703)
    C_true = np.array([[1.0, 0.2], [0.8, -0.5], [0.3, 0.9], [0.6, 0.4]])
    c = np.array([2.0, -1.0, 0.5, 3.0])
    Phi = np.array([[1.0, 0.6], [0.6, 1.0]])
    x = rng.standard_normal((30, 2)) @ np.linalg.cholesky(Phi).T
    y = x @ C_true.T + rng.standard_normal((30, 4)) * np.sqrt([0.3, 0.4, 0.2, 0.5]) + c
    C0 = np.array([[0.5, 0.0], [0.5, 0.3], [0.0, 0.5], [0.4, -0.2]])
    return FAStepProblem(y, C0, np.array([0.8, 0.8, 0.8, 0.8]), c, Phi)


def _make_pca():
    rng = checker.problem_rng(731)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    scales = np.sqrt([6.0, 3.0, 0.8, 0.5, 0.3])
    y = (rng.standard_normal((120, 5)) * scales) @ Q.T + np.array([4.0, -3.0, 2.0, 5.0, -2.0])
    return PCAProblem(y, 2)


def _make_heywood():
    rng = checker.problem_rng(2118)
    R = np.array([[1.0, 0.45, 0.75], [0.45, 1.0, 0.85], [0.75, 0.85, 1.0]])
    return rng.multivariate_normal([10.0, 5.0, 0.0], R * np.outer([0.5, 3.0, 1.0], [0.5, 3.0, 1.0]), size=400)


#: Exercise 1: one EM step from ``C``, ``Lambda`` on ``y`` (N = 30, L = 4, K = 2), c and Phi known.
EX_FA_STEP = _make_fa_step()

#: Exercises 2 and 4: 120 observations in L = 5 dimensions (not centred), K = 2 components.
EX_IPCA = _make_pca()

#: Exercise 2: the starting C of the iteration and the number of steps to run.
EX_IPCA_START = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, -1.0], [1.0, 0.0]])
EX_IPCA_STEPS = 3

#: Exercise 3: 400 observations of three variables, for a one-factor model.
EX_HEYWOOD = _make_heywood()


def _make_ppca_subspace():
    """An orthonormal (5, 2) basis near a strong and a weak direction of EX_IPCA."""
    Q, _ = np.linalg.qr(checker.problem_rng(731).standard_normal((5, 5)))
    U, _ = np.linalg.qr(Q[:, [0, 4]] + 0.15 * checker.problem_rng(732).standard_normal((5, 2)))
    return U


#: Exercise 4: the subspace, given in advance, to which the PPCA loadings are confined (orthonormal columns).
EX_PPCA_U = _make_ppca_subspace()


def _draft_sign_lambda(y, C, Lam, c, prior_cov):
    """The update of Lambda with the draft's sign on C <x x^T> C^T."""
    N = y.shape[0]
    Yc = y - c
    Sx = np.linalg.inv(C.T @ np.diag(1.0 / Lam) @ C + np.linalg.inv(prior_cov))
    M = Yc @ (Sx @ C.T @ np.diag(1.0 / Lam)).T
    Eyx, Exx = Yc.T @ M / N, Sx + M.T @ M / N
    C_new = Eyx @ np.linalg.inv(Exx)
    return np.diag(Yc.T @ Yc / N - Eyx @ C_new.T - C_new @ Eyx.T - C_new @ Exx @ C_new.T)


def fa_em_step(C_new, Lambda_new):
    """Exercise 1, ``ex-7-3-fa-em-step``: your ``C_new`` (4, 2) and diagonal ``Lambda_new`` (4,) after one EM step on
    :data:`EX_FA_STEP`. Slips named: the uncentred E step, the sample mean, N(0, I) or Phi uninverted, no posterior
    covariance, the old C, the draft's sign."""
    from .references import ch07_fa_pca as refs
    y, C, Lam, c, Phi = EX_FA_STEP
    I = np.eye(C.shape[1])
    variants = {
        "draft": refs.one_step(y, C, Lam, c, Phi, centre="none"),
        "mean": refs.one_step(y, C, Lam, c, Phi, centre="mean"),
        "identity": refs.one_step(y, C, Lam, c, I),
        "page": refs.one_step(y, C, Lam, c, I, centre="mean"),
        "phi": refs.one_step(y, C, Lam, c, Phi, prior_inverse=False),
        "nocov": refs.one_step(y, C, Lam, c, Phi, with_cov=False),
    }
    C_ref, L_ref = refs.one_step(y, C, Lam, c, Phi)
    _, L_old = refs.one_step(y, C, Lam, c, Phi, new_C_in_Lambda=False)
    messages = {
        "draft": "you used the draft's posterior mean K y without subtracting the bias c (use K (y - c))",
        "mean": "you centred the data at their sample mean; in this model the bias c is known and is not "
                "re-estimated",
        "identity": "you kept the page's prior N(0, I) for the factors; here their prior is N(0, Phi)",
        "page": "you ran the page's step unchanged; this model differs from the page's in two places (see "
                "the statement)",
        "phi": "the prior enters the posterior precision with the wrong matrix: redo Eq. 2.22 with the prior "
               "N(0, Phi)",
        "nocov": "you left the posterior covariance out of <E[x x^T]>: E[x x^T | y] = Cov[x | y] + E[x] E[x]^T",
    }
    C_hints = {messages[k]: v[0] for k, v in variants.items()}
    C_hints["you returned the old C"] = C
    L_hints = {messages[k]: v[1] for k, v in variants.items()}
    L_hints["you used the old C in the update of Lambda: the simplification <yy^T> - C <x y^T> needs the "
            "new C"] = L_old
    L_hints["your Lambda has the draft's sign on the last term of the expansion (the erratum above): expand "
            "<(y - C x)(y - C x)^T> again"] = _draft_sign_lambda(y, C, Lam, c, Phi)
    if Lambda_new is not None and np.ndim(Lambda_new) == 2 and np.shape(Lambda_new) == (len(Lam), len(Lam)):
        return checker.result("one EM step of factor analysis", [
            "Lambda should be the diagonal only, shape (L,): the M step keeps just the diagonal of "
            "<yy^T> - C <x y^T> (Section 7.3)."] + checker.compare_array(C_new, C_ref, "your C", hints=C_hints))
    problems = checker.compare_array(C_new, C_ref, "your C", rtol=1e-7, hints=C_hints)
    problems += checker.compare_array(Lambda_new, L_ref, "your Lambda", rtol=1e-7, hints=L_hints)
    return checker.result("one EM step of factor analysis", problems)


def principal_subspace(C_answer, tol_rad: float = 1e-6):
    """Exercise 2, ``ex-7-3-iterative-pca``: your C (5, 2) after exactly :data:`EX_IPCA_STEPS` iterations of iterative
    PCA on :data:`EX_IPCA` from :data:`EX_IPCA_START`; the iterate itself is compared. Slips named: latent projections
    for C, another number of steps, a converged run, uncentred data."""
    from .references import ch07_fa_pca as refs
    y, K = EX_IPCA
    L = y.shape[1]
    title = f"iterative PCA: C after {EX_IPCA_STEPS} steps from EX_IPCA_START"
    arr, problems = checker.as_numeric(C_answer, "your matrix")
    if problems:
        return checker.result(title, problems)
    if arr.shape != (L, K):
        hint = " (that looks like the latent projections X_bar, one row per observation)" \
            if arr.shape == (y.shape[0], K) else ""
        return checker.result(title, [f"your matrix should have shape (L, K) = {(L, K)}; got {arr.shape}{hint}."])
    ref = refs.ipca_steps(y, EX_IPCA_START, EX_IPCA_STEPS)
    if np.allclose(arr, ref, rtol=1e-7, atol=1e-9):
        return checker.result(title, [])
    for n in (0, 1, 2, 4, 5, 6):
        if np.allclose(arr, refs.ipca_steps(y, EX_IPCA_START, n), rtol=1e-7, atol=1e-9):
            return checker.result(title, [f"your matrix is the iterate after {n} steps; the exercise asks for "
                                          f"{EX_IPCA_STEPS}."])
    w, V = np.linalg.eigh(refs.centred_cov(y))
    if np.linalg.matrix_rank(arr) == K and float(np.max(subspace_angles(arr, V[:, ::-1][:, :K]))) < 1e-4:
        return checker.result(title, ["your matrix spans the principal subspace, so it comes from a converged run "
                                      "or an eigendecomposition: the exercise asks for the iterate after "
                                      f"{EX_IPCA_STEPS} steps from EX_IPCA_START, which has not converged yet."])
    if np.allclose(arr, refs.ipca_steps(y, EX_IPCA_START, EX_IPCA_STEPS, centre=False), rtol=1e-7, atol=1e-9):
        return checker.result(title, ["your iterate is not the reference, though your steps look right: check "
                                      "what the iteration assumes about the data it is run on."])
    return checker.result(title, checker.compare_array(arr, ref, "your C", rtol=1e-7, atol=1e-9))


def heywood_dimension(answer, ratio=None):
    """Exercise 3, ``ex-7-3-heywood``: the index (0, 1 or 2) of the variable of :data:`EX_HEYWOOD` whose unique
    variance collapses, and its ratio r_lj r_lk / r_jk of sample correlations, checked to a relative 1e-6. The two
    parts are judged separately and the verdict says which is wrong. Slips named: a missing part, an index that is
    not an integer in 0, 1, 2, the wrong variable, a ratio of raw covariances, the ratio of another variable, a
    rounded ratio."""
    title = "Heywood variable and its correlation ratio"
    y = EX_HEYWOOD
    R, Cv = np.corrcoef(y.T), np.cov(y.T)
    trip = [(0, 1, 2), (1, 0, 2), (2, 0, 1)]
    ratios = np.array([R[l, j] * R[l, k] / R[j, k] for l, j, k in trip])
    raw = np.array([Cv[l, j] * Cv[l, k] / Cv[j, k] for l, j, k in trip])
    ref = int(np.argmax(ratios))
    if answer is None or ratio is None:
        return checker.result(title, ["give both answers: the index (0, 1 or 2) and the ratio, a number."])
    index, bad = checker.as_integer(answer, "your index")
    if bad:
        return checker.result(title, [f"give an integer index 0, 1 or 2; {bad[0]}"])
    value, bad = checker.as_numeric(ratio, "your ratio")
    if bad or value.size != 1:
        return checker.result(title, ["your ratio should be a single number."])
    if index not in (0, 1, 2):
        return checker.result(title, [f"give an index 0, 1 or 2 (Python counts from 0); got {index}."])
    v = float(value.reshape(-1)[0])
    problems = []
    if index != ref:
        problems.append("your index is wrong: the Heywood variable is the one whose ratio r_lj r_lk / r_jk "
                        "exceeds 1, which no unique variance of zero or more can give.")

    def same(a, b, rtol):
        return bool(np.isclose(a, b, rtol=rtol, atol=0.0))
    if same(v, ratios[ref], 1e-6):
        return checker.result(title, problems)
    if any(same(v, r, 1e-6) for r in raw):
        problems.append("your ratio is of the raw covariances: compute it from the sample correlations "
                        "(np.corrcoef), which factor analysis's scale equivariance makes the right scale.")
    elif same(v, ratios[ref], 1e-2):
        problems.append("your ratio is close but is checked to a relative tolerance of 1e-6: pass the value "
                        "you computed, not a rounded one.")
    elif any(same(v, r, 1e-6) for r in ratios):
        problems.append("your ratio is that of a variable whose ratio is below 1: give the ratio of the "
                        "Heywood variable.")
    else:
        problems.append("your ratio is wrong: compute r_lj r_lk / r_jk from the sample correlations of all "
                        "400 observations (np.corrcoef), with l the variable and j, k the other two.")
    return checker.result(title, problems)


def ppca_noise(sigma2):
    """Exercise 4, ``ex-7-3-ppca-noise``: your ML noise variance for :data:`EX_IPCA` under PPCA with loadings in the
    span of :data:`EX_PPCA_U`. Slips named: unconfined PPCA, the all-signal stationary point, the other covariance
    normalization, a sum, the wrong count of directions, the variance inside, uncentred data."""
    from .references import ch07_fa_pca as refs
    y, K = EX_IPCA
    U = EX_PPCA_U
    N, L = y.shape
    S = refs.centred_cov(y)
    ref = refs.sigma2_in_subspace(S, U)
    w = np.sort(np.linalg.eigvalsh(S))[::-1]
    off = np.trace(S) - np.trace(U.T @ S @ U)
    hints = {
        "that is the noise variance of PPCA with loadings free to point anywhere; here their subspace is fixed":
            float(np.mean(w[K:])),
        "that is the stationary point at which every direction of span(U) carries signal (B invertible), "
        "which the statement does not let you assume: check that it is the maximum":
            off / (L - K),
        "you used the 1/(N-1) covariance (np.cov's default); maximum likelihood divides by N": ref * N / (N - 1),
        "you summed the variance left outside the subspace instead of averaging it": off,
        "you averaged over all L directions; count the directions the noise alone has to explain": off / L,
        "you averaged the variance inside the subspace, which the loadings explain":
            float(np.trace(U.T @ S @ U)) / K,
        "you forgot to centre the data":
            float(np.trace(y.T @ y / N) - np.trace(U.T @ (y.T @ y / N) @ U)) / (L - K),
    }
    # rtol 1e-6: the nearest slip lies 0.8 % away; a general-purpose optimizer lands within a few 1e-8
    problems = checker.compare_scalar(sigma2, ref, "your sigma2", rtol=1e-6, hints=hints)
    return checker.result("PPCA noise variance with the loadings in span(EX_PPCA_U)", problems)


# --- exercise 5: EM for factor analysis as a function ---------------------------------------------------------------


def _em_cases():
    """Hidden problems ``(y, C, Lambda, n_iter)``: data of random factor analyzers whose means are far from zero,
    random starts, one to three factors, zero to 25 iterations; every unique variance stays clear of the floor. The
    first runs a single iteration, so that every named slip is still finite there (leaving out the posterior
    covariance, for one, drives a unique variance to zero within a few iterations)."""
    from .references import ch07_fa_pca as refs
    r = checker.problem_rng(7304)
    cases = []
    for N, L, K, n_iter in [(40, 5, 2, 1), (200, 6, 2, 10), (60, 4, 1, 25), (150, 8, 3, 5), (80, 3, 1, 0)]:
        while True:
            C_true = r.standard_normal((L, K))
            noise = r.uniform(0.2, 1.0, L)
            y = r.standard_normal((N, K)) @ C_true.T + r.standard_normal((N, L)) * np.sqrt(noise) \
                + r.uniform(2.0, 4.0, L) * r.choice([-1.0, 1.0], L)
            C0 = 0.5 * r.standard_normal((L, K))
            Lam0 = 0.5 * y.var(axis=0)
            _, Lam, _ = refs.em_reference(y, C0, Lam0, max(n_iter, 25))
            if np.all(Lam > 0.02 * y.var(axis=0)):
                break
        cases.append((y, C0, Lam0, n_iter))
    return cases


def fa_em_iterations(fn):
    """Exercise 5, ``ex-7-3-fa-em-function``: your function ``fn(y, C, Lambda, n_iter)`` returning ``(C, Lambda,
    log_lik)`` after ``n_iter`` EM iterations of factor analysis from the given start, c the sample mean, and the
    summed log likelihood at the start and after each iteration (``n_iter + 1`` values). Slips named: the draft's
    uncentred E step, no posterior covariance, 1/(N - 1), the old C or the draft's sign in Lambda, an average or a
    missing constant or mean in the log likelihood, a trace one short."""
    from .references import ch07_fa_pca as refs
    def judge(out, where, y, C0, Lam0, n_iter, ref):
        problems = checker.tuple_problems(out, 3, "the triple (C, Lambda, log_lik)", where)
        if problems:
            return problems
        C_ref, L_ref, ll_ref = ref
        C_hints, L_hints, ll_hints = refs.em_slips(y, C0, Lam0, n_iter, ll_ref)
        problems = checker.compare_array(out[0], C_ref, f"C on {where}", rtol=1e-7, atol=1e-9, hints=C_hints)
        if np.ndim(out[1]) == 2 and np.shape(out[1]) == (len(L_ref), len(L_ref)):
            problems.append(f"Lambda on {where} should be the diagonal only, shape (L,) = ({len(L_ref)},): the M "
                            "step keeps the diagonal of <yy^T> - C <x y^T>.")
        else:
            problems += checker.compare_array(out[1], L_ref, f"Lambda on {where}", rtol=1e-7, atol=1e-9,
                                              hints=L_hints)
        if np.ndim(out[2]) == 1 and np.shape(out[2])[0] == n_iter:
            problems.append(f"log_lik on {where} has n_iter = {n_iter} entries; it should have n_iter + 1: the "
                            "log likelihood at the start and after each iteration.")
        else:
            problems += checker.compare_array(out[2], ll_ref, f"log_lik on {where}", rtol=1e-8, atol=1e-8,
                                              hints=ll_hints)
        return problems

    cases = [(f"test problem {i + 1} (N = {y.shape[0]}, L = {y.shape[1]}, K = {C.shape[1]}, n_iter = {n})",
              (y, C, Lam, n), refs.em_reference(y, C, Lam, n)) for i, (y, C, Lam, n) in enumerate(_em_cases())]
    return checker.check_function("EM for factor analysis (Eqs. 7.2-7.3) and its log likelihood", fn, cases, judge,
                                  name="my_fa_em", signature="(y, C, Lambda, n_iter)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-7-3-fa-em-function": {"same_data": checker.FUNCTION_ANSWER},
}
