r"""Checkers for the exercises of Section 2.1.1 (mixture models and the GMM)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp as _sp_logsumexp
from scipy.stats import multivariate_normal

from .checker import FUNCTION_ANSWER, CheckResult, book_or_drawn, compare_array, compare_scalar, result, check_function

__all__ = ["RespProblem", "BoundaryPointProblem", "QDA1DProblem", "LogMarginalProblem", "EX_RESP", "EX_TSTAR",
           "EX_QDA1D", "EX_LOGMARG", "responsibilities", "boundary_point", "qda_thresholds", "log_marginal_function"]


class RespProblem(NamedTuple):
    """A 2-D mixture of three Gaussians (``mu``, ``Sigma``) and a background uniform on the rectangle from ``lo`` to
    ``hi``, weights ``pi`` (the background's last), and one observation ``y``."""

    pi: np.ndarray
    mu: np.ndarray
    Sigma: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    y: np.ndarray


class BoundaryPointProblem(NamedTuple):
    """Two classes with a shared ``Sigma`` and a point ``a`` off the line through the means."""

    mu_k: np.ndarray
    mu_j: np.ndarray
    Sigma: np.ndarray
    pi_k: float
    pi_j: float
    a: np.ndarray


class QDA1DProblem(NamedTuple):
    """Two 1-D Gaussian classes with variances ``Sigma_1``, ``Sigma_2`` and a ``level`` above 1/2 of the posterior of
    class 1."""

    mu_1: float
    Sigma_1: float
    mu_2: float
    Sigma_2: float
    pi_1: float
    pi_2: float
    level: float


class LogMarginalProblem(NamedTuple):
    """A GMM and points near it and very far from it, for Eq. 2.10."""

    pi: np.ndarray
    mu: np.ndarray
    Sigma: np.ndarray
    y_near: np.ndarray
    y_far: np.ndarray


def _draw_cov2(rng, low, high):
    """A 2 x 2 covariance, one decimal: variances in [low, high], correlation at most 0.5 in size."""
    a, b = rng.uniform(low, high, size=2)
    off = round(float(rng.uniform(-0.5, 0.5) * np.sqrt(a * b)), 1) + 0.0
    return np.array([[round(float(a), 1), off], [off, round(float(b), 1)]])


def _draw_resp(rng):
    """A problem like EX_RESP: well-separated means, no responsibility above 0.9, the background's in (0.1, 0.8)."""
    from .references import ch02_gmm as refs
    while True:
        bg = round(float(rng.uniform(0.05, 0.15)), 2)
        w = (5 + rng.multinomial(85, rng.dirichlet(np.full(3, 4.0)))) / 100 * (1.0 - bg)
        pi = np.append(np.round(w, 3), 0.0)
        pi[3] = round(1.0 - pi[:3].sum(), 3)
        mu = np.round(rng.uniform(-1.0, 3.0, size=(3, 2)), 1) + 0.0
        Sigma = np.stack([_draw_cov2(rng, 0.4, 2.0) for _ in range(3)])
        lo = np.floor(mu.min(axis=0)) - rng.integers(2, 5, size=2)
        hi = np.ceil(mu.max(axis=0)) + rng.integers(2, 5, size=2)
        y = np.round(mu.mean(axis=0) + rng.normal(0.0, 2.0, size=2), 1) + 0.0
        if min(np.linalg.norm(mu[i] - mu[j]) for i in range(3) for j in range(i)) < 1.5 or pi[3] <= 0.0 \
                or np.any(y <= lo) or np.any(y >= hi):
            continue
        prob = RespProblem(pi=pi, mu=mu, Sigma=Sigma, lo=lo + 0.0, hi=hi + 0.0, y=y)
        variants = refs.resp_variants(prob)
        resp = variants.pop("correct")
        if resp.max() < 0.9 and 0.1 < resp[3] < 0.8 and \
                all(np.asarray(v).shape != resp.shape or np.abs(v - resp).max() > 0.02 for v in variants.values()):
            return prob


def _draw_tstar(rng):
    """A problem like EX_TSTAR: pi_j > pi_k, 0.1 < t* < 0.9 clearly apart from the centre line's."""
    from .references import ch02_gmm as refs
    while True:
        mu_j = np.round(rng.uniform(-1.0, 1.0, size=2), 1) + 0.0
        angle = rng.uniform(0.0, 2 * np.pi)
        mu_k = np.round(mu_j + rng.uniform(2.0, 4.0) * np.array([np.cos(angle), np.sin(angle)]), 1) + 0.0
        Sigma = _draw_cov2(rng, 0.5, 2.5)
        pi_k = float(rng.choice([0.1, 0.2, 0.25, 0.3, 0.35, 0.4]))
        turn = angle + rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.0)
        a = np.round(mu_j + rng.uniform(2.5, 5.0) * np.array([np.cos(turn), np.sin(turn)]), 1) + 0.0
        prob = BoundaryPointProblem(mu_k=mu_k, mu_j=mu_j, Sigma=Sigma, pi_k=pi_k, pi_j=round(1.0 - pi_k, 2), a=a)
        d2, c, lr = refs.tstar_parts(prob)
        cross = (mu_k - mu_j)[0] * (a - mu_j)[1] - (mu_k - mu_j)[1] * (a - mu_j)[0]
        if (d2 > 1.5 and not np.allclose(Sigma, np.eye(2)) and c > 0 and abs(cross) > 1.0
                and 0.1 < (0.5 * d2 + lr) / c < 0.9 and abs((0.5 * d2 + lr) / c - 0.5 - lr / d2) > 0.05):
            return prob


def _qda_variants(p: QDA1DProblem) -> dict:
    """The thresholds that named wrong derivations give."""
    from .references import ch02_gmm as refs
    sd1, sd2 = np.sqrt(p.Sigma_1), np.sqrt(p.Sigma_2)
    odds = np.log(p.level / (1 - p.level))
    return {
        "you found where the two classes are equally probable; the exercise asks where the posterior of class 1 "
        "equals level": refs.qda_roots(p.mu_1, p.Sigma_1, p.mu_2, p.Sigma_2, p.pi_1, p.pi_2),
        "you set the logit difference to log(level); the posterior of class 1 is not exp(z_1 - z_2)":
            refs.qda_roots(p.mu_1, p.Sigma_1, p.mu_2, p.Sigma_2, p.pi_1, p.pi_2, log_odds=np.log(p.level)),
        "you found where the posterior of class 2 equals level":
            refs.qda_roots(p.mu_1, p.Sigma_1, p.mu_2, p.Sigma_2, p.pi_1, p.pi_2, log_odds=-odds),
        "the -1/2 log(Sigma_1/Sigma_2) term is left out":
            refs.qda_roots(p.mu_1, p.Sigma_1, p.mu_2, p.Sigma_2, p.pi_1, p.pi_2, logdet=False, log_odds=odds),
        "the priors are left out (equal priors)":
            refs.qda_roots(p.mu_1, p.Sigma_1, p.mu_2, p.Sigma_2, 0.5, 0.5, log_odds=odds),
        "the priors are swapped":
            refs.qda_roots(p.mu_1, p.Sigma_1, p.mu_2, p.Sigma_2, p.pi_2, p.pi_1, log_odds=odds),
        "the standard deviations are used where the variances Sigma_1, Sigma_2 belong":
            refs.qda_roots(p.mu_1, sd1, p.mu_2, sd2, p.pi_1, p.pi_2, log_odds=odds),
    }


def _draw_qda1d(rng):
    """A problem like EX_QDA1D: Sigma_2 > Sigma_1, two real thresholds, every named slip apart."""
    from .references import ch02_gmm as refs
    while True:
        mu_1 = round(float(rng.uniform(-1.0, 1.0)), 1) + 0.0
        mu_2 = round(mu_1 + float(rng.uniform(0.5, 2.5) * rng.choice([-1.0, 1.0])), 1) + 0.0
        Sigma_1 = round(float(rng.uniform(0.5, 1.5)), 1)
        Sigma_2 = round(Sigma_1 * float(rng.uniform(2.0, 5.0)), 1)
        pi_1 = float(rng.choice([0.3, 0.4, 0.6, 0.7]))
        pi_2 = round(1.0 - pi_1, 2)
        a = -0.5 * (1 / Sigma_1 - 1 / Sigma_2)
        b = mu_1 / Sigma_1 - mu_2 / Sigma_2
        level = float(rng.choice([0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]))
        c = -0.5 * mu_1**2 / Sigma_1 + 0.5 * mu_2**2 / Sigma_2 - 0.5 * np.log(Sigma_1 / Sigma_2) + np.log(pi_1 / pi_2)
        c -= np.log(level / (1 - level))
        if b * b - 4 * a * c > 0 and np.sqrt(b * b - 4 * a * c) / abs(a) > 0.5:
            prob = QDA1DProblem(mu_1=mu_1, Sigma_1=Sigma_1, mu_2=mu_2, Sigma_2=Sigma_2, pi_1=pi_1, pi_2=pi_2,
                                level=level)
            ref = refs.qda_reference(prob)
            slips = _qda_variants(prob).values()
            if all(np.all(np.isfinite(v)) and v.size == 2 and np.abs(np.sort(v) - ref).max() > 0.05 for v in slips):
                return prob


EX_RESP = book_or_drawn(RespProblem(
    pi=np.array([0.45, 0.27, 0.18, 0.10]),
    mu=np.array([[0.0, 0.0], [2.0, 1.0], [0.0, 3.0]]),
    Sigma=np.array([[[1.0, 0.3], [0.3, 0.5]],
                    [[0.6, 0.0], [0.0, 0.6]],
                    [[2.0, -0.4], [-0.4, 1.5]]]),
    lo=np.array([-4.0, -3.0]),
    hi=np.array([6.0, 7.0]),
    y=np.array([3.0, 3.5]),
), _draw_resp, seed=2111)

EX_TSTAR = book_or_drawn(BoundaryPointProblem(
    mu_k=np.array([3.0, 1.0]),
    mu_j=np.array([0.0, 0.0]),
    Sigma=np.array([[2.0, 0.6], [0.6, 1.0]]),
    pi_k=0.25,
    pi_j=0.75,
    a=np.array([4.0, -1.0]),
), _draw_tstar, seed=2112)

EX_QDA1D = book_or_drawn(QDA1DProblem(mu_1=0.0, Sigma_1=1.0, mu_2=1.5, Sigma_2=4.0, pi_1=0.6, pi_2=0.4,
                                      level=0.65), _draw_qda1d, seed=2113)

EX_LOGMARG = LogMarginalProblem(
    pi=np.array([0.3, 0.7]),
    mu=np.array([[0.0, 0.0], [3.0, -1.0]]),
    Sigma=np.array([[[1.0, 0.2], [0.2, 0.8]], [[0.5, 0.0], [0.0, 2.0]]]),
    y_near=np.array([[0.0, 0.0], [1.5, -0.5], [3.0, 0.5], [-1.0, 2.0]]),
    y_far=np.array([[1000.0, 0.0], [0.0, -2000.0], [-1500.0, 1500.0]]),
)


def _tstar_variants(p: BoundaryPointProblem) -> dict:
    """The crossing points that named wrong derivations give."""
    from .references import ch02_gmm as refs
    d2, c, lr = refs.tstar_parts(p)
    delta, v = p.mu_k - p.mu_j, p.a - p.mu_j
    t_ref = (0.5 * d2 + lr) / c
    return {
        "you found where the boundary crosses the segment between the two means, not the segment to a":
            0.5 + lr / d2,
        "the prior log-odds enter with the wrong sign (log(pi_k/pi_j) instead of log(pi_j/pi_k))":
            (0.5 * d2 - lr) / c,
        "t is measured from a instead of from mu_j": 1.0 - t_ref,
        "the Euclidean inner products are used instead of the Mahalanobis ones":
            (0.5 * float(delta @ delta) + lr) / float(v @ delta),
        "the midpoint term is missing (the boundary is not through mu_j when the priors are equal)": lr / c,
        "the priors are ignored (that is the equal-prior crossing)": 0.5 * d2 / c,
    }


def responsibilities(answer) -> CheckResult:
    """Exercise ``ex-2-1-1-responsibilities``: your responsibilities of the four components for ``EX_RESP.y``, shape
    (4,), the background last. Slips named: a constant or a term of Eq. 2.8 left out, a background density that is not
    the rectangle's, no background or prior, unnormalized values, logits."""
    from .references import ch02_gmm as refs
    name = "responsibilities for EX_RESP.y"
    variants = refs.resp_variants(EX_RESP)
    expected = variants.pop("correct")
    K = expected.shape[0]
    problems = []
    if answer is not None:
        arr = np.asarray(answer, dtype=float) if _is_numeric(answer) else None
        if arr is not None and arr.shape == (1, K):
            problems.append(f"your answer has shape (1, {K}) (one row per point); pass the single row, shape "
                            f"({K},), e.g. answer[0].")
            return result(name, problems)
        if arr is not None and arr.shape == (K - 1,):
            return result(name, [f"your answer has {K - 1} entries; the mixture has {K} components (pi has {K} "
                                 "entries), the background among them."])
    problems += compare_array(answer, expected, "your answer", rtol=1e-6, atol=1e-9, hints=variants)
    if problems and answer is not None and _is_numeric(answer):
        arr = np.asarray(answer, dtype=float)
        if arr.shape == (K,) and np.all(np.isfinite(arr)) and abs(arr.sum() - 1) > 1e-6 \
                and not any("is what you get" in q for q in problems):
            problems.append(f"they sum to {arr.sum():.6g}; a posterior over the K = {K} components must sum to 1.")
    return result(name, problems)


def boundary_point(answer) -> CheckResult:
    """Exercise ``ex-2-1-1-boundary-point``: your t* for ``EX_TSTAR``, where the segment from mu_j to a crosses the
    Eq. 2.9 boundary. Slips named: the centre line's crossing, the prior term's sign, t measured from a, Euclidean
    inner products, no midpoint term, the priors ignored."""
    from .references import ch02_gmm as refs
    name = "boundary point t* for EX_TSTAR"
    variants = _tstar_variants(EX_TSTAR)
    return result(name, compare_scalar(answer, refs.tstar_reference(EX_TSTAR), "your answer", rtol=1e-7, atol=1e-9,
                                       hints=variants))


def qda_thresholds(answer) -> CheckResult:
    """Exercise ``ex-2-1-1-qda-thresholds``: your two thresholds (in any order) where the posterior of class 1 equals
    ``EX_QDA1D.level``. Slips named: the equal-probability thresholds, the level misplaced or for class 2, a left-out
    term, priors left out or swapped, sds for variances."""
    from .references import ch02_gmm as refs
    name = "1-D QDA thresholds for EX_QDA1D"
    if answer is None:
        return result(name, ["your answer is None: did the cell forget to compute the two thresholds?"])
    if not _is_numeric(answer):
        return result(name, [f"your answer should be two numbers; got {type(answer).__name__}."])
    arr = np.asarray(answer, dtype=float).ravel()
    if arr.size == 1:
        return result(name, ["you gave one threshold. With unequal variances the logit difference has a y^2 "
                             "term, so the equation has two roots."])
    if arr.size != 2:
        return result(name, [f"give exactly two thresholds; got {arr.size} numbers."])
    if not np.all(np.isfinite(arr)):
        return result(name, ["your thresholds contain NaN or inf."])
    variants = {k: np.sort(v) for k, v in _qda_variants(EX_QDA1D).items()}
    return result(name, compare_array(np.sort(arr), refs.qda_reference(EX_QDA1D), "your answer (sorted)",
                                      rtol=1e-7, atol=1e-9, hints=variants))


def log_marginal_function(fn) -> CheckResult:
    """Exercise ``ex-2-1-1-log-marginal``: your function ``fn(pi, mu, Sigma, y)`` for the log marginal of Eq. 2.10,
    ``y`` (N, L) to shape (N,). Run on ``EX_LOGMARG.y_near``, then on ``EX_LOGMARG.y_far``,
    a thousand or more standard deviations away, where it must stay finite. Slip named: the weights left out."""
    p = EX_LOGMARG

    def judge(out, where, pi, mu, Sigma, y):
        if out is None:
            return [f"your function returned None on {where}: did it forget to return?"]
        if _is_numeric(out):
            arr = np.asarray(out, dtype=float)
            if arr.shape == y.shape[:1] and where.endswith("far") and np.any(~np.isfinite(arr)):
                return ["on EX_LOGMARG.y_far your function returns -inf or NaN: every density exp(z_k) underflows "
                        "to 0 there. Work with the logits z_k and use log-sum-exp (subtract max_k z_k before "
                        "exponentiating)."]
        logpdf = np.stack([multivariate_normal(mu[k], Sigma[k]).logpdf(y) for k in range(pi.shape[0])], axis=1)
        return compare_array(out, _sp_logsumexp(np.log(pi) + logpdf, axis=1), f"the output on {where}", rtol=1e-8,
                             atol=1e-8, hints={"the mixture weights pi_k are left out": _sp_logsumexp(logpdf, axis=1)})

    cases = [("EX_LOGMARG.y_near", (p.pi, p.mu, p.Sigma, p.y_near)),
             ("EX_LOGMARG.y_far", (p.pi, p.mu, p.Sigma, p.y_far))]
    with np.errstate(all="ignore"):
        return check_function("log marginal log p(y) (Eq. 2.10)", fn, cases, judge, name="my_log_marginal",
                              signature="(pi, mu, Sigma, y)")


def _is_numeric(answer) -> bool:
    try:
        np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return False
    return True

#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-2-1-1-log-marginal": {"same_data": FUNCTION_ANSWER},
}
