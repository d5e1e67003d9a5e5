r"""Checkers for the exercises of notebook 4.1-4.2 (entropies, relative entropy and maximum likelihood)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..learning import objectives as ob
from . import checker

__all__ = ["MarbleProblem", "GaussianPair", "EX_MARBLE", "EX_KL", "EX_ML_DATA", "marble_entropies", "gaussian_kl",
           "ml_estimate", "asymmetric_pair", "empirical_entropies"]


class MarbleProblem(NamedTuple):
    """Two hiding strategies over the cups A-D, ``p`` and ``q``, as in Eqs. 4.1-4.2."""

    p: np.ndarray
    q: np.ndarray


class GaussianPair(NamedTuple):
    """Two 2-D Gaussians p = N(mu_p, Sigma_p) and q = N(mu_q, Sigma_q), each correlated."""

    mu_p: np.ndarray
    Sigma_p: np.ndarray
    mu_q: np.ndarray
    Sigma_q: np.ndarray


def _draw_marble(rng):
    """Two different strategies over four cups, every probability a multiple of 0.05, at least 0.05, and neither
    uniform (a uniform q makes H_pq = 2 bits for every p, and the statement promises no powers of one half)."""
    while True:
        p, q = (np.round(0.05 + 0.05 * rng.multinomial(16, np.full(4, 0.25)), 2) for _ in range(2))
        if np.abs(p - q).max() > 0.1 and np.ptp(p) > 0 and np.ptp(q) > 0:
            return MarbleProblem(p=p, q=q)


#: Exercise 1: two hiding strategies over the four cups, other than the page's Eqs. 4.1-4.2.
EX_MARBLE = checker.book_or_drawn(MarbleProblem(p=np.array([0.4, 0.3, 0.2, 0.1]),
                                                q=np.array([0.15, 0.15, 0.3, 0.4])), _draw_marble, seed=4203)


def _draw_cov(rng):
    """A 2 x 2 covariance: variances in [0.3, 2.5], |correlation| in [0.3, 0.7], two decimals."""
    sd = np.sqrt(rng.uniform(0.3, 2.5, size=2))
    rho = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.7))
    return np.round(np.array([[sd[0] ** 2, rho * sd[0] * sd[1]], [rho * sd[0] * sd[1], sd[1] ** 2]]), 2) + 0.0


def _kl_diagonal(mp, Sp, mq, Sq):
    """The one-dimensional formula summed over the coordinates (correlations ignored)."""
    from .references import ch04_objectives as refs
    return float(sum(refs.kl_1d(mp[i], Sp[i, i], mq[i], Sq[i, i]) for i in range(len(mp))))


def _draw_kl(rng):
    """A pair like EX_KL whose KL the coordinate-wise sum misses by more than 0.05 nats."""
    while True:
        mp = np.round(rng.uniform(-2.0, 2.0, size=2), 1) + 0.0
        mq = np.round(mp + rng.uniform(-2.0, 2.0, size=2), 1) + 0.0
        Sp, Sq = _draw_cov(rng), _draw_cov(rng)
        if (np.linalg.norm(mp - mq) >= 0.5 and min(np.linalg.eigvalsh(Sp)[0], np.linalg.eigvalsh(Sq)[0]) > 0.1
                and np.abs(Sp - Sq).max() > 0.2
                and abs(ob.gaussian_relative_entropy(mp, Sp, mq, Sq) - _kl_diagonal(mp, Sp, mq, Sq)) > 0.05):
            return GaussianPair(mu_p=mp, Sigma_p=Sp, mu_q=mq, Sigma_q=Sq)


#: Exercise 2: D_KL{p || q} for two correlated 2-D Gaussians (covariances, not standard deviations).
EX_KL = checker.book_or_drawn(GaussianPair(mu_p=np.array([1.0, 0.0]), Sigma_p=np.array([[0.5, 0.3], [0.3, 1.0]]),
                                           mu_q=np.array([-0.5, 0.5]), Sigma_q=np.array([[2.0, -0.6], [-0.6, 1.0]])),
                              _draw_kl, seed=4201)


def _draw_ml_data(rng):
    """Twelve positive observations from a log-normal with mean one, s2 in [0.15, 0.6]."""
    s2 = float(rng.uniform(0.15, 0.6))
    return np.maximum(np.round(np.exp(rng.normal(-s2 / 2, np.sqrt(s2), size=12)), 2), 0.05)


#: Exercise 3: twelve positive observations, to fit a mean-one log-normal by minimum cross entropy.
EX_ML_DATA = checker.book_or_drawn(np.array([0.73, 2.25, 0.54, 0.76, 1.10, 0.60, 1.30, 0.95, 0.60, 2.21, 0.41,
                                             0.56]), _draw_ml_data, seed=4202)


def marble_entropies(answer):
    """Exercise 1, ``ex-4-2-marble-entropies``: your ``[H_p, H_q, H_pq, H_qp]`` in **bits** for :data:`EX_MARBLE`
    (Eqs. 4.3-4.4). Slips named: nats, the cross entropies swapped, relative entropies."""
    p, q = EX_MARBLE
    ref = np.array([ob.entropy(p, base=2), ob.entropy(q, base=2),
                    ob.cross_entropy(p, q, base=2), ob.cross_entropy(q, p, base=2)])
    hints = {
        "you used natural logarithms (nats) instead of base 2 (bits)": ref * np.log(2),
        "you swapped the two cross entropies (H_pq is the average of -log q under p)": ref[[0, 1, 3, 2]],
        "you returned relative entropies D_KL (extra questions) instead of cross entropies":
            np.array([ref[0], ref[1], ref[2] - ref[0], ref[3] - ref[1]]),
    }
    problems = checker.compare_array(answer, ref, "your [H_p, H_q, H_pq, H_qp]", rtol=1e-6, hints=hints)
    return checker.result("marble-game entropies in bits (Eqs. 4.3-4.4)", problems)


def gaussian_kl(answer):
    """Exercise 2, ``ex-4-2-gaussian-kl``: your D_KL{p || q} in nats for :data:`EX_KL` (Eq. 4.5). Slips named: the
    other direction, independent coordinates, a covariance in the wrong place, a missing or misplaced factor or term,
    the cross entropy."""
    mp, Sp, mq, Sq = (np.asarray(a, dtype=float) for a in EX_KL)
    D = len(mp)
    ref = ob.gaussian_relative_entropy(mp, Sp, mq, Sq)
    d = mq - mp
    tr = float(np.trace(np.linalg.solve(Sq, Sp)))
    maha = float(d @ np.linalg.solve(Sq, d))
    logdet = float(np.linalg.slogdet(Sq)[1] - np.linalg.slogdet(Sp)[1])
    hints = {
        "you computed the other direction, D_KL{q || p}": ob.gaussian_relative_entropy(mq, Sq, mp, Sp),
        "you treated the coordinates as independent (only the diagonals of the covariances)":
            _kl_diagonal(mp, Sp, mq, Sq),
        "the trace term has the inverse on the wrong covariance":
            0.5 * (float(np.trace(np.linalg.solve(Sp, Sq))) + maha - D + logdet),
        "you weighted the mean difference with the covariance of p instead of q":
            0.5 * (tr + float(d @ np.linalg.solve(Sp, d)) - D + logdet),
        "the log-determinant ratio is upside down": 0.5 * (tr + maha - D - logdet),
        "the log-determinant term lacks its factor one half (variances against standard deviations)":
            0.5 * (tr + maha - D) + logdet,
        "a constant term is missing (check what the entropy of p contributes)": 0.5 * (tr + maha + logdet),
        "the constant term is counted once, not once per dimension": 0.5 * (tr + maha - 1.0 + logdet),
        "that is twice the divergence: the whole expression carries a factor one half": 2.0 * ref,
        "you returned the cross entropy H_pq rather than H_pq - H_p":
            0.5 * (D * np.log(2 * np.pi) + float(np.linalg.slogdet(Sq)[1]) + tr + maha),
    }
    problems = checker.compare_scalar(answer, ref, "your D_KL{p || q}", rtol=1e-6, hints=hints)
    return checker.result("KL divergence between two Gaussians", problems)


def ml_estimate(sigma2):
    """Exercise 3, ``ex-4-2-ml-estimate``: your sigma^2 minimizing the sample cross entropy (Eq. 4.6) of the mean-one
    log-normal N(log y; -sigma^2 / 2, sigma^2) / y on :data:`EX_ML_DATA`. Slips named: the free log-normal, other
    estimators, a derivative missing the tied mean, the standard deviation."""
    z = np.log(EX_ML_DATA)
    N = z.shape[0]
    m1, m2 = float(np.sum(z) / N), float(np.sum(z ** 2) / N)
    ref = 2.0 * (np.sqrt(1.0 + m2) - 1.0)
    free = float(np.sum((z - m1) ** 2) / N)
    hints = {
        "you fitted the free log-normal, its mean mu = <log y> estimated on its own; in this model the mean of "
        "log Y is tied to sigma^2": free,
        "you fitted the free log-normal and divided by N - 1 besides; in this model the mean of log Y is tied "
        "to sigma^2": free * N / (N - 1),
        "you took the mean of log Y to be zero (that makes the median one, not the mean)": m2,
        "you matched the average of log y to the model's mean of log Y: a moment estimator, not the minimizer "
        "of the sample cross entropy": -2.0 * m1,
        "you returned the standard deviation, not the variance": np.sqrt(ref),
    }
    disc = (1.0 - m1) ** 2 - m2
    if disc >= 0:   # d/ds of the quadratic term taken with the mean -s/2 held fixed: s = <(log y + s/2)^2>
        hints["you differentiated as if the mean of log Y, -sigma^2 / 2, did not change with sigma^2"] = \
            2.0 * (1.0 - m1 - np.sqrt(disc))
    problems = checker.compare_scalar(sigma2, ref, "your sigma^2", rtol=1e-6, hints=hints)
    return checker.result("maximum-likelihood log-normal with mean one (Eq. 4.6)", problems)


def asymmetric_pair(p, q):
    """Exercise 4, ``ex-4-2-asymmetric-pair``: your ``p`` over the four cups (no zero entry) and the uniform ``q``,
    with D_KL{p || q} exceeding D_KL{q || p} by more than 0.01 bits. Any such ``p`` passes."""
    problems = []
    arrays = []
    for name, v in (("p", p), ("q", q)):
        arr, probs = checker.as_numeric(v, f"your {name}")
        if probs:
            problems += probs
            continue
        if arr.shape != (4,):
            problems.append(f"your {name} should be a vector of 4 probabilities (cups A-D); got shape {arr.shape}.")
        elif np.any(arr < 0) or abs(arr.sum() - 1.0) > 1e-9:
            problems.append(f"your {name} must be non-negative and sum to 1; its sum is {arr.sum():.6g}.")
        elif np.any(arr == 0):
            problems.append(f"your {name} has a zero entry: one of the two divergences is then infinite; "
                            "give every cup some probability.")
        elif name == "q" and not np.allclose(arr, 0.25, rtol=0, atol=1e-12):
            problems.append("your q should be the uniform strategy, 1/4 on every cup.")
        arrays.append(arr)
    if not problems:
        d = ob.relative_entropies(arrays[0], arrays[1], base=2)
        if d.D_pq <= d.D_qp + 0.01:
            problems.append("for your p, D_KL{p || q} does not exceed D_KL{q || p} by more than 0.01 bits. "
                            "Ask which direction a cup that p makes rare costs more in.")
    return checker.result("asymmetry of the relative entropy", problems)


def _entropy_cases():
    """Hidden problems ``(y, q, base)``: samples of categories and model distributions over them; among them
    categories that never occur (one where q is zero too), a single observation, and q equal to the data
    distribution."""
    r = checker.problem_rng(4204)
    cases = []
    for K, N, base, unseen, q_zero, q_is_p in [(4, 40, 2.0, 0, False, False), (6, 25, np.e, 1, False, False),
                                               (5, 1, 2.0, 4, False, False), (8, 60, 10.0, 2, True, False),
                                               (3, 30, 2.0, 0, False, True)]:
        while True:
            p_true = r.dirichlet(np.full(K, 2.0))
            if N > 1:
                p_true[r.choice(K, size=unseen, replace=False)] = 0.0
            y = r.choice(K, size=N, p=p_true / p_true.sum())
            counts = np.bincount(y, minlength=K)
            if np.sum(counts == 0) == unseen:
                break
        q = counts / N if q_is_p else r.dirichlet(np.full(K, 2.0))
        if q_zero:
            q[np.flatnonzero(counts == 0)[0]] = 0.0
            q = q / q.sum()
        cases.append((y, q, base))
    return cases


def _is_nan(value) -> bool:
    """Whether an answer is a NaN (or holds one), for a message of its own."""
    try:
        return bool(np.any(np.isnan(np.asarray(value, dtype=float))))
    except (TypeError, ValueError):
        return False


def empirical_entropies(fn):
    """Exercise 5, ``ex-4-2-entropies-function``: your function ``fn(y, q, base)`` returning ``(H_p, H_pq, D_pq)`` for
    the relative frequencies p of the categories in ``y`` against the model ``q``, in base ``base`` (Eqs. 4.3-4.6).
    Slips named: nats or base 10, counts for frequencies, p and q swapped, an average over categories, NaN from
    0 log 0."""
    from .references import ch04_objectives as refs
    def judge(out, where, y, q, base, ref):
        if isinstance(out, np.ndarray) and out.shape == (3,):
            out = tuple(out)                        # three numbers in an array are the triple too
        problems = checker.tuple_problems(out, 3, "the triple (H_p, H_pq, D_pq)", where)
        if problems:
            return problems
        unseen = np.bincount(y, minlength=len(q)) == 0
        for name, value in zip(("H_p", "H_pq", "D_pq"), out):
            if unseen.any() and _is_nan(value):
                return [f"your {name} on {where} is NaN: a category that never occurs in y has p = 0, and its "
                        "terms p log p and p log q count as 0 (0 log 0 = 0), even where q is 0 too."]
        hints = refs.entropy_slips(y, q, base)
        problems = []
        for name, value, expected, h in zip(("H_p", "H_pq", "D_pq"), out, ref, hints):
            problems += checker.compare_scalar(value, expected, f"your {name} on {where}", rtol=1e-7, atol=1e-10,
                                               hints=h)
        return problems

    names = {2.0: "2", np.e: "e", 10.0: "10"}
    cases = [(f"test case {i + 1} ({len(q)} categories, N = {len(y)}, base {names[base]})", (y, q, base),
              refs.entropy_reference(y, q, base)) for i, (y, q, base) in enumerate(_entropy_cases())]
    return checker.check_function("entropies of a sample's distribution (Eqs. 4.3-4.6)", fn, cases, judge,
                                  name="my_entropies", signature="(y, q, base)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-4-2-asymmetric-pair": {"same_data": "the answer is any distribution meeting the condition (a construction)"},
    "ex-4-2-entropies-function": {"same_data": checker.FUNCTION_ANSWER},
}
