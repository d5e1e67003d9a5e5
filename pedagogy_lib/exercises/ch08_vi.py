r"""Checkers for the exercises of Section 8.4 (variational inference: mean-field and CAVI)."""
from __future__ import annotations

import math

import numpy as np

from .checker import (FUNCTION_ANSWER, CheckResult, as_integer, book_or_drawn, compare_array, compare_scalar,
                      problem_rng, result, check_function)

__all__ = ["EX_LAMBDA", "EX_SIGMA", "EX_LAMBDA2", "mean_field_kl", "forward_kl_minimum", "cavi_sweeps", "cavi_sweep"]

def _spd(rng, diag_low: float, diag_high: float) -> np.ndarray:
    """A symmetric, well-conditioned positive-definite 3 x 3 matrix, one decimal, clearly correlated."""
    while True:
        d = np.round(rng.uniform(diag_low, diag_high, size=3), 1)
        scale = np.sqrt(d[[0, 0, 1]] * d[[1, 2, 2]])                  # for the pairs (0, 1), (0, 2), (1, 2)
        off = np.round(rng.choice([-1.0, 1.0], size=3) * rng.uniform(0.2, 0.6, size=3) * scale, 1)
        M = np.diag(d)
        M[0, 1], M[0, 2], M[1, 2] = off
        M = np.triu(M) + np.triu(M, 1).T + 0.0
        w = np.linalg.eigvalsh(M)
        if np.all(np.abs(off) >= 0.1) and w[0] > 0.15 and w[-1] / w[0] < 15:
            return M


#: Exercise (a): the precision matrix of a three-dimensional Gaussian target.
EX_LAMBDA = book_or_drawn(np.array([[2.0, -0.8, 0.3], [-0.8, 1.5, -0.4], [0.3, -0.4, 1.2]]),
                          lambda rng: _spd(rng, 1.0, 2.5), seed=8441)


#: Exercise (b): the covariance matrix of a three-dimensional Gaussian target.
EX_SIGMA = book_or_drawn(np.array([[1.0, 0.6, -0.2], [0.6, 2.0, 0.5], [-0.2, 0.5, 0.7]]),
                         lambda rng: _spd(rng, 0.5, 2.2), seed=8442)


def _draw_lambda2(rng):
    """A 2 x 2 precision like EX_LAMBDA2 with a pair count not near a whole number."""
    from .references import ch08_vi as refs
    while True:
        a, b = np.round(rng.uniform(0.5, 3.0, 2), 1)
        off = round(float(rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 0.95) * math.sqrt(a * b)), 1)
        Lam = np.array([[a, off], [off, b]]) + 0.0
        rho2 = off ** 2 / (a * b)
        if a != b and 0.36 <= rho2 <= 0.9025 and 0.05 < refs.pairs(Lam) % 1 < 0.95 and abs(off) >= min(a, b):
            return Lam


#: Exercise (c): a 2 x 2 target precision with unequal variances, for parallel CAVI.
EX_LAMBDA2 = book_or_drawn(np.array([[2.0, -1.2], [-1.2, 1.0]]), _draw_lambda2, seed=8443)


def mean_field_kl(answer) -> CheckResult:
    """Exercise (a), ``ex-8-4-mean-field``: your minimum over factorized Gaussians q of D_KL{q || p} for the target
    with precision :data:`EX_LAMBDA`, in nats. Slips named: the other direction's optimum, the KL reversed, no factor
    1/2."""
    from .references import ch08_vi as refs
    Lam = EX_LAMBDA
    Sigma = np.linalg.inv(Lam)
    mu = np.zeros(3)
    expected = refs.kl(mu, np.diag(1.0 / np.diag(Lam)), mu, Sigma)
    hints = {
        "you gave the factors the marginal variances, which minimize the other direction":
            refs.kl(mu, np.diag(np.diag(Sigma)), mu, Sigma),
        "you evaluated the divergence in the other order, D_KL{p || q}":
            refs.kl(mu, Sigma, mu, np.diag(1.0 / np.diag(Lam))),
        "you left out the factor 1/2 in front of the Gaussian KL": 2.0 * expected,
    }
    return result("D_KL{q* || p} for EX_LAMBDA",
                  compare_scalar(answer, expected, "the divergence", rtol=1e-6, hints=hints))


def forward_kl_minimum(answer) -> CheckResult:
    """Exercise (b), ``ex-8-4-forward-kl``: your minimum over factorized Gaussians q of D_KL{p || q} for the target
    with covariance :data:`EX_SIGMA`, in nats. Slips named: the mean-field factors, the KL reversed, no factor 1/2."""
    from .references import ch08_vi as refs
    S = EX_SIGMA
    mu = np.zeros(3)
    expected = refs.kl(mu, S, mu, np.diag(np.diag(S)))
    mf_diag = np.diag(1.0 / np.diag(np.linalg.inv(S)))
    hints = {
        "you used the mean-field factors, which minimize the other direction": refs.kl(mu, S, mu, mf_diag),
        "you evaluated the divergence in the other order, D_KL{q || p}":
            refs.kl(mu, np.diag(np.diag(S)), mu, S),
        "you left out the factor 1/2 in front of the Gaussian KL": 2.0 * expected,
    }
    return result("D_KL{p || q*} for EX_SIGMA",
                  compare_scalar(answer, expected, "the divergence", rtol=1e-6, hints=hints))


def cavi_sweeps(answer) -> CheckResult:
    """Exercise (c), ``ex-8-4-cavi-sweeps``: the number of parallel CAVI updates after which the error of the means is
    a million times smaller, target precision :data:`EX_LAMBDA2`, a whole number. A few common slips are named."""
    from .references import ch08_vi as refs
    title = "parallel CAVI updates"
    k, problems = as_integer(answer, "the number of updates")
    if problems:
        return result(title, problems)
    Lam = EX_LAMBDA2
    x = refs.pairs(Lam)
    expected = 2 * math.ceil(x)
    if k == expected:
        return result(title, [])
    rho = abs(Lam[0, 1]) / math.sqrt(Lam[0, 0] * Lam[1, 1])
    slips = [
        (math.ceil(x), "not the count asked for: re-read what the question counts as one update"),
        (2 * math.floor(x), "rounded the wrong way: after that many updates the error is still above 1e-6 "
                            "of its starting size"),
        (2 * math.ceil(math.log(1e-6) / math.log(0.9 ** 2)), "that is the count for the page's correlation "
                                                            "0.9 with unit variances; this target has its own"),
        (2 * math.ceil(math.log(1e-6) / math.log(rho)), "your factor for a pair of updates is not squared: "
                                                        "each of the two updates contributes to it"),
    ]
    for a, b in ((0, 0), (1, 1)):
        one_diag = Lam[0, 1] ** 2 / (Lam[a, b] ** 2)
        if one_diag < 1:
            slips.append((2 * math.ceil(math.log(1e-6) / math.log(one_diag)),
                          "your factor for a pair divides by the same diagonal entry of the precision twice; "
                          "each update divides by its own coordinate's entry"))
    for value, message in slips:
        if k == value:
            return result(title, [message + "."])
    if k % 2 == 1:
        return result(title, ["an odd count: after an odd number of parallel updates the error is not a fixed "
                              "multiple of the start, so count whole pairs."])
    return result(title, ["not right: re-check the factor by which a pair of parallel updates multiplies the "
                          "error, and how the count follows from it."])


def _sweep_cases():
    """Hidden problems (description, mu, Lambda, m): diagonals not all one, D from 1 to 5."""
    r = problem_rng(84010)
    cases = []
    sd, rho = r.uniform(0.6, 1.8, size=2), 0.9
    Sigma = np.array([[sd[0] ** 2, rho * sd[0] * sd[1]], [rho * sd[0] * sd[1], sd[1] ** 2]])
    cases.append(("D = 2, correlation 0.9", r.normal(size=2), np.linalg.inv(Sigma), r.normal(size=2) * 2.0))
    for D in (3, 5):
        A = r.normal(size=(D, D))
        Lam = A @ A.T + np.diag(r.uniform(0.5, 2.0, size=D))
        cases.append((f"D = {D}", r.normal(size=D), 0.5 * (Lam + Lam.T), r.normal(size=D) * 2.0))
    cases.append(("D = 1", r.normal(size=1), np.array([[float(r.uniform(0.5, 3.0))]]), r.normal(size=1) * 2.0))
    return cases


def cavi_sweep(fn) -> CheckResult:
    """Exercise (d), ``ex-8-4-cavi-sweep``: your function ``fn(mu, Lam, m)`` returning the means (D,) after one CAVI
    sweep in order over the coordinates, for the Gaussian target of Step 4. Slips named: all coordinates at once, the
    own coordinate in the sum, a flipped correction, no division by the diagonal, the reverse order, the fixed point."""
    from .references import ch08_vi as refs
    def judge(out, where, mu, Lam, m):
        off = Lam - np.diag(np.diag(Lam))
        hints = {
            "you updated every coordinate at once from the means at the start of the sweep; CAVI updates one "
            "coordinate at a time, each from the newest means of the others":
                mu - off @ (m - mu) / np.diag(Lam),
            "you kept the term k = j in the sum; the update of m_j uses the other coordinates only":
                refs.gauss_seidel(mu, Lam, m, keep_own=True),
            "you added the correction instead of subtracting it": refs.gauss_seidel(mu, Lam, m, sign=-1.0),
            "you did not divide the correction by Lambda_jj": refs.gauss_seidel(mu, Lam, m, divide=False),
            "you swept the coordinates from last to first; the exercise asks for the order 1, 2, ..., D":
                refs.gauss_seidel(mu, Lam, m, order=range(mu.size - 1, -1, -1)),
            "you returned the fixed point mu; one sweep from m does not reach it when the coordinates are "
            "correlated": mu,
        }
        return compare_array(out, refs.gauss_seidel(mu, Lam, m), f"your output on {where}", rtol=1e-8, atol=1e-10,
                             hints=hints)

    cases = _sweep_cases()
    cases = [(f"test problem {i + 1} of {len(cases)} ({what})", args) for i, (what, *args) in enumerate(cases)]
    return check_function("one sweep of CAVI on a Gaussian (Step 4)", fn, cases, judge, name="my_cavi_sweep",
                          signature="(mu, Lam, m)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-8-4-cavi-sweep": {"same_data": FUNCTION_ANSWER},
}
