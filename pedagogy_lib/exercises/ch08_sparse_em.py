r"""Checkers for the exercises of notebook 8.1 (sparse coding learned by EM)."""
from __future__ import annotations

import numpy as np

from . import checker

__all__ = ["EX_SCALAR", "EX_LOGDET", "EX_MSTEP", "scalar_mode", "logdet_gradient", "m_step", "em_step_function"]


def _draw_scalar(rng):
    """A problem like EX_SCALAR: a mode that is not zero, c away from one, a threshold clearly apart from the rate."""
    while True:
        d = {"y": round(float(rng.choice([-1.0, 1.0]) * rng.uniform(0.8, 2.5)), 1),
             "c": round(float(rng.uniform(0.5, 1.5)), 1), "alpha": round(float(rng.uniform(0.5, 3.0)), 1),
             "lam": round(float(rng.uniform(2.0, 6.0)), 1)}
        z, t = abs(d["y"] / d["c"]), d["alpha"] / (d["lam"] * d["c"] ** 2)
        if z - t > 0.2 and abs(d["c"] - 1.0) > 0.15 and abs(t - d["alpha"]) > 0.2:
            return d


#: Exercise 1: one observation y, one basis weight c, the prior rate alpha and the precision lambda.
EX_SCALAR = checker.book_or_drawn({"y": 1.3, "c": 0.8, "alpha": 2.0, "lam": 4.0}, _draw_scalar, seed=811)

_r = checker.problem_rng(81)
#: Exercise 2: C (M = 3, K = 4), lambda, and the diagonal d of the prior's curvature.
EX_LOGDET = {"C": _r.normal(size=(3, 4)), "lam": 2.5, "d": np.array([0.5, 3.0, 1.2, 0.1])}

#: Exercise 3: data Y (N=6, M=2) whose mean is far from zero, recognition means nu (N, K=3) and
#: covariances Sigma (N, 3, 3), for the M step of a model with an emission offset b (which the page's
#: model does not have).
_nu = _r.normal(size=(6, 3))
_A = _r.normal(size=(6, 3, 3))
#: Exercise 3: data Y (6, 2) with a mean far from zero, recognition means nu (6, 3) and covariances Sigma (6, 3, 3),
#: for a model with an emission offset b.
EX_MSTEP = {"Y": _r.normal(size=(6, 2)) + np.array([2.0, -1.0]), "nu": _nu,
            "Sigma": 0.1 * np.einsum("nij,nkj->nik", _A, _A) + 0.05 * np.eye(3)}


def scalar_mode(nu):
    """Exercise 1, ``ex-8-1-scalar-mode``: your E-step mean, the minimizer of the statement's objective, for
    :data:`EX_SCALAR`. Slips named: a wrongly scaled threshold, the unpenalized solution."""
    y, c, a, lam = (EX_SCALAR[k] for k in ("y", "c", "alpha", "lam"))
    z, t = y / c, a / (lam * c * c)
    ref = np.sign(z) * max(abs(z) - t, 0.0)
    hints = {
        "your threshold is alpha as it stands in the objective, which leaves out the weight of its "
        "quadratic term": np.sign(z) * max(abs(z) - a, 0.0),
        "that is the unpenalized least-squares solution y / c (no shrinkage)": z,
        "the threshold scales wrongly with c: check how c enters it":
            np.sign(z) * max(abs(z) - a / (lam * c), 0.0),
    }
    problems = checker.compare_scalar(nu, ref, "your mode", hints=hints)
    return checker.result("the scalar E step", problems)


def logdet_gradient(G, G2):
    """Exercise 2, ``ex-8-1-logdet-gradient``: your gradients in the diagonal d, with P = lambda C^T C + diag(d), for
    :data:`EX_LOGDET`: ``G`` of log|P| and ``G2`` of (lambda/2) tr(C P^{-1} C^T), (4,) each. A few common slips are
    named."""
    C, lam, d = EX_LOGDET["C"], EX_LOGDET["lam"], EX_LOGDET["d"]
    P = lam * C.T @ C + np.diag(d)
    Pi = np.linalg.inv(P)
    ref = np.diag(Pi)
    what = "gradients of log|P| and of (lambda/2) tr(C P^-1 C^T) with respect to d"
    shape_c = ("has the shape of C: the statement asks for the gradient in the diagonal d, "
               "a vector of length K.")
    problems = []
    for name, ans in (("G", G), ("G2", G2)):
        a = np.asarray(ans, dtype=float) if isinstance(ans, (list, tuple, np.ndarray)) else ans
        if isinstance(a, np.ndarray) and a.shape == C.shape:
            problems.append(f"your {name} {shape_c}")
    if problems:
        return checker.result(what, problems)
    hints = {
        "you took the diagonal of P itself: recheck the derivative of a log-determinant": np.diag(P),
        "you left C out: P is not diagonal here": 1 / d,
        "you carried over the factor 2 of the gradient in C (C appears twice in P, d once)": 2 * ref,
    }
    problems = checker.compare_array(G, ref, "your gradient G of log|P|", hints=hints)
    # f(d) = (lam/2) tr(C P^-1 C^T); its gradient is -(lam/2) diag(P^-1 C^T C P^-1)
    W = Pi @ C.T @ C @ Pi
    ref2 = -0.5 * lam * np.diag(W)
    one_side = np.diag(C.T @ C @ Pi)                   # = diag(P^-1 C^T C): P^-1 on one side only
    hints2 = {
        "the derivative of P^-1 has the wrong sign: recheck how an inverse changes when P does":
            0.5 * lam * np.diag(W),
        "P^-1 appears on one side of C^T C only: recheck the derivative of P^-1":
            -0.5 * lam * one_side,
        "the derivative of P^-1 has the wrong sign and P^-1 appears on one side of C^T C only":
            0.5 * lam * one_side,
        "you summed the rows of the K x K matrix instead of taking its diagonal": -0.5 * lam * W.sum(1),
        "you took the diagonal of each factor separately instead of the diagonal of the product":
            -0.5 * lam * np.diag(Pi) ** 2 * np.diag(C.T @ C),
        "you gave the gradient of log|P| (G) for G2": ref,
    }
    what2 = "your gradient G2 of (lambda/2) tr(C P^-1 C^T)"
    try:
        a2 = np.asarray(G2, dtype=float)
    except (TypeError, ValueError):
        a2 = None
    # a constant other than lambda/2 in front (1, lambda or 1/2): one message, which does not say which
    if (a2 is not None and a2.shape == ref2.shape and np.all(np.isfinite(a2))
            and not np.allclose(a2, ref2, rtol=1e-6, atol=1e-8)
            and any(np.allclose(a2, f * ref2, rtol=1e-6, atol=1e-8) for f in (2 / lam, 1 / lam, 2.0))):
        problems.append(f"{what2} has the right form but not the constant lambda/2 of f in "
                        "front: recheck the factors.")
    else:
        problems += checker.compare_array(G2, ref2, what2, hints=hints2)
    return checker.result(what, problems)


def m_step(C, b):
    """Exercise 3, ``ex-8-1-m-step``: your M-step updates of C (2, 3) and the emission offset b (2,), learned
    together, for :data:`EX_MSTEP`. Slips named: the page's offset-free update (on raw or centred data), the data's
    mean for b, a sign slip, b fitted to the page's C, no recognition covariances."""
    from .references import ch08_sparse_em as refs
    Y, nu, S = EX_MSTEP["Y"], EX_MSTEP["nu"], EX_MSTEP["Sigma"]
    N = len(Y)
    C_ref, b_ref = refs.m_step_with_offset(Y, nu, S)
    C_page = (Y.T @ nu / N) @ np.linalg.inv(S.mean(0) + nu.T @ nu / N)      # no offset in the model
    C_ls, b_ls = refs.m_step_with_offset(Y, nu, S, use_sigma=False)
    y_bar, nu_bar = Y.mean(0), nu.mean(0)
    C_hints = {
        "you used the page's update, which assumes the model has no offset: with b in the model, C and b "
        "must be solved for together": C_page,
        "you left out the recognition covariances Sigma (that is the MAP-only update)": C_ls,
        "you removed the mean of the data but otherwise kept the page's offset-free update, which does not "
        "minimize over C and b together":
            ((Y - y_bar).T @ nu / N) @ np.linalg.inv(S.mean(0) + nu.T @ nu / N),
    }
    try:
        C_arr = np.asarray(C, dtype=float)
    except (TypeError, ValueError):
        C_arr = None
    b_hints = {
        "you took the mean of the data for b, which does not minimize the free energy over b here: recheck "
        "its gradient in b": y_bar,
        "your b has a sign slip in its term that involves C": y_bar + C_ref @ nu_bar,
        "your b fits the residuals of the page's offset-free C: C and b must be solved for together":
            y_bar - C_page @ nu_bar,
        "your b goes with a C that leaves out the recognition covariances Sigma": b_ls,
    }
    if C_arr is not None and C_arr.shape == C_ref.shape and np.all(np.isfinite(C_arr)):
        b_hints["your b is consistent with your C, so recheck C"] = y_bar - C_arr @ nu_bar
    problems = checker.compare_array(C, C_ref, "your C", hints=C_hints)
    problems += checker.compare_array(b, b_ref, "your b", hints=b_hints)
    return checker.result("the M step for C and the offset b", problems)


def em_step_function(fn) -> checker.CheckResult:
    """Exercise 4, ``ex-8-1-em-function``: your function ``fn(Y, nu, C, lam, alpha, beta)`` returning ``(C_new,
    lam_new)`` of one EM iteration given the E step's means, compared with the library's M step after the precisions
    of Eq. 8.11. Slips named: no recognition covariances, K for M (the draft's normalizer), the old C in the noise
    update, the trace term left out."""
    from .references import ch08_sparse_em as refs
    slips = {"you left the recognition covariances Sigma_n out of the M step (least squares on the means)":
             {"sigma": False},
             "your noise update divides by K; the emission's normalizer (M/2) log(tau/lambda) counts the M "
             "dimensions of y (the draft's Eq. 8.7 has K)": {"k_for_m": True},
             "your noise update used the old C; it takes the C of this M step": {"old_c": True},
             "your noise update left out tr(C Sigma_n C^T), the spread of the codes": {"trace": False}}

    def judge(out, where, Y, nu, C, lam, alpha, beta, ref):
        problems = checker.tuple_problems(out, 2, "the pair (C_new, lam_new)", where)
        if problems:
            return problems
        wrong = {text: refs.em_variant(Y, nu, C, lam, alpha, beta, **kw) for text, kw in slips.items()}
        wrong = {text: v for text, v in wrong.items() if v is not None}
        return (checker.compare_array(out[0], ref[0], f"C_new on {where}", rtol=1e-7, atol=1e-10,
                                      hints={t: v[0] for t, v in wrong.items()})
                + checker.compare_scalar(out[1], ref[1], f"lam_new on {where}", rtol=1e-7, atol=1e-10,
                                         hints={t: v[1] for t, v in wrong.items()}))

    cases = [(f"test problem {i + 1} ({what})", args, ref) for i, (what, args, ref) in enumerate(refs.em_cases())]
    return checker.check_function("one EM iteration for sparse coding (Eqs. 8.9, 8.11)", fn, cases, judge,
                                  name="my_em_step", signature="(Y, nu, C, lam, alpha, beta)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-8-1-em-function": {"same_data": checker.FUNCTION_ANSWER},
}
