r"""Checkers for the exercises of Section 10.1.2 (InfoNCE and contrastive predictive coding)."""
from __future__ import annotations

import numpy as np

from .checker import (FUNCTION_ANSWER, CheckResult, book_or_drawn, compare_array, compare_scalar, problem_rng, result,
                      check_function)

__all__ = ["EX_COV", "EX_K", "EX_B", "EX_LGSSM", "EX_S", "EX_L", "gaussian_mi", "bound_ceiling", "predictor_weights",
           "infonce_bound"]


def _draw_cov(rng) -> np.ndarray:
    """A covariance of (Y_1, Y_2, Z_1, Z_2) with mutual information in (0.15, 1.5) nats."""
    from .references import ch10_infonce as refs
    while True:
        M = rng.normal(0.0, 0.6, (4, 4))
        S = np.round(M @ M.T + np.diag(rng.uniform(0.4, 1.0, 4)), 1)
        ok = np.all(np.linalg.eigvalsh(S) > 0.1) and np.all(S[:2, 2:] != 0) and S[0, 1] != 0 and S[2, 3] != 0
        if ok and 0.15 < refs.block_mi(S) < 1.5:
            return S


#: Exercise (a): the covariance (4, 4) of the zero-mean Gaussian vector (Y_1, Y_2, Z_1, Z_2).
EX_COV = book_or_drawn(np.array([[1.0, 0.5, 0.6, 0.3], [0.5, 2.0, -0.2, 0.7],
                                 [0.6, -0.2, 1.5, -0.3], [0.3, 0.7, -0.3, 1.0]]), _draw_cov, seed=10121)


def _draw_k_b(rng) -> tuple:
    """(K, B): K in [16, 512] and B at which (K - 1) exp(-2B) lies in about [0.3, 20]."""
    K = int(rng.integers(16, 513))
    while True:
        B = float(np.round(0.5 * np.log((K - 1) / rng.uniform(0.3, 20.0)), 1))
        if B >= 0.5:
            return K, B


#: Exercise (b): examples per trial, and the bound B on the size of every score, |h| <= B.
EX_K, EX_B = book_or_drawn((64, 2.0), _draw_k_b, seed=10122)


def _draw_lgssm(rng) -> tuple:
    """(a1, a2, c, q, r): a stationary AR(2) state with complex roots of modulus 0.7-0.9, c away from 1."""
    while True:
        rho, omega = rng.uniform(0.7, 0.9), rng.uniform(0.5, 1.1)
        a1, a2 = float(np.round(2 * rho * np.cos(omega), 2)), float(np.round(-rho * rho, 2))
        if a1 * a1 + 4 * a2 < -0.1:
            return (a1, a2, float(rng.choice([0.4, 0.5, 0.6, 1.5, 2.0, 2.5])),
                    float(np.round(rng.uniform(0.3, 2.0), 1)), float(np.round(rng.uniform(0.2, 2.0), 1)))


#: Exercise (c): (a1, a2, c, q, r) of x_t = a1 x_{t-1} + a2 x_{t-2} + w, y_t = c x_t + v; a second-order state, so the
#: page's AR(1) autocovariance does not apply.
EX_LGSSM = book_or_drawn((1.2, -0.6, 0.5, 1.0, 1.0), _draw_lgssm, seed=10123)

#: Exercise (c): the prediction step s and the number of lags.
EX_S = 2
EX_L = 8


def gaussian_mi(answer) -> CheckResult:
    """Exercise (a), ``ex-10-1-2-gaussian-mi``: your mutual information between (Y_1, Y_2) and (Z_1, Z_2), jointly
    Gaussian with covariance :data:`EX_COV`, in nats. Slips named: coordinates paired one by one, the joint
    determinant alone, a dropped factor, bits."""
    from .references import ch10_infonce as refs
    S = np.asarray(EX_COV, float)
    expected = refs.block_mi(S)
    d = np.sqrt(np.diag(S))
    pairs = np.array([S[0, 2] / (d[0] * d[2]), S[1, 3] / (d[1] * d[3])])
    hints = {
        "you paired the coordinates one by one (Y_1 with Z_1, Y_2 with Z_2): the cross terms and the "
        "correlations within each vector matter too": -0.5 * np.sum(np.log(1 - pairs ** 2)),
        "you took -1/2 log det of the joint covariance alone: that is the information only when each vector's "
        "own covariance is the identity": -0.5 * np.log(np.linalg.det(S)),
        "you left out the factor 1/2": 2 * expected,
        "you computed bits (log base 2): the bound uses natural logarithms": expected / np.log(2),
    }
    return result("mutual information of two correlated Gaussian vectors",
                  compare_scalar(answer, expected, "I", rtol=1e-6, hints=hints))


def bound_ceiling(answer) -> CheckResult:
    """Exercise (b), ``ex-10-1-2-ceiling``: the largest InfoNCE estimate with K = :data:`EX_K` examples per trial and
    scores within [-B, B], B = :data:`EX_B`, in nats. Slips named: an unbounded critic, K negatives, the wrong gap, a
    left-out term, the loss, bits."""
    K, B = EX_K, EX_B
    floor = np.log1p((K - 1) * np.exp(-2 * B))              # the smallest loss the bounded scores allow
    expected = np.log(K) - floor
    hints = {
        "you gave the ceiling of a critic whose scores are not bounded": np.log(K),
        "you counted K negatives; a trial holds one positive and K - 1 negatives":
            np.log(K) - np.log1p(K * np.exp(-2 * B)),
        "your gap between the positive's score and a negative's is not the largest the bounded scores "
        "allow": np.log(K) - np.log1p((K - 1) * np.exp(-B)),
        "you left out the positive's own term in the softmax's denominator":
            np.log(K) - np.log((K - 1) * np.exp(-2 * B)),
        "you gave the smallest loss, not the largest estimate log K - L": floor,
        "you used log base 2": expected / np.log(2),
    }
    return result("ceiling of the InfoNCE bound with bounded scores",
                  compare_scalar(answer, expected, "the ceiling", rtol=1e-6, hints=hints))


def predictor_weights(answer) -> CheckResult:
    """Exercise (c), ``ex-10-1-2-kalman-weights``: the first :data:`EX_L` weights (most recent first) of the
    steady-state predictor of y_{t+s}, s = :data:`EX_S`, for :data:`EX_LGSSM`. Slips named: the wrong horizon, the
    filter's weights, the state predicted, no gain c, a first-order state, noise on both components, the last EX_L
    observations alone."""
    from .references import ch10_infonce as refs
    a1, a2, c, q, r = EX_LGSSM
    s, L = EX_S, EX_L
    expected = refs.ar2_weights(a1, a2, c, q, r, s, L)
    K1 = refs.steady_gain(a1, c, q, r)
    hints = {
        "you predicted one step ahead, not s steps": refs.ar2_weights(a1, a2, c, q, r, 1, L),
        "you gave the filter's weights (the estimate of x_t), not the predictor's of y_{t+s}":
            refs.ar2_weights(a1, a2, c, q, r, 0, L, row=[1.0, 0.0]),
        "you predicted the state x_{t+s}, not the observation y_{t+s} = c x_{t+s} + v":
            refs.ar2_weights(a1, a2, c, q, r, s, L, row=[1.0, 0.0]),
        "you used a model with c = 1; redo the Riccati recursion and the filter with the observation gain c":
            refs.ar2_weights(a1, a2, 1.0, q, r, s, L),
        "you treated the state as first order, as in Step 4, with a = a1; x_t also depends on x_{t-2}":
            c * a1 ** s * K1 * ((1 - c * K1) * a1) ** np.arange(L),
        "you put noise on both components of the state; its second component, x_{t-1}, is copied exactly":
            refs.ar2_weights(a1, a2, c, q, r, s, L, both_noisy=True),
        "you regressed y_{t+s} on the last EX_L observations only; the predictor conditions on all of "
        "y_{1:t}": refs.ar2_window_weights(a1, a2, c, q, r, s, L),
    }
    return result("steady-state Kalman predictor weights, s steps ahead",
                  compare_array(answer, expected, "the weights", rtol=1e-6, atol=1e-10, hints=hints))


def _bound_cases():
    """Hidden score arrays (n_batches, K, K): K = 2, several critics, huge scores, underflowing positives."""
    r = problem_rng(10124)
    cases = []
    for n, K, D, rho, scale in [(4, 2, 1, 0.6, 1.0), (6, 8, 1, 0.8, 1.0), (3, 16, 2, 0.9, 60.0),
                                (10, 5, 2, -0.5, 1.0), (4, 6, 1, 0.8, -60.0)]:
        z = r.standard_normal((n, K, D))
        y = rho * z + np.sqrt(1 - rho ** 2) * r.standard_normal((n, K, D))
        W = rho / (1 - rho ** 2) * np.eye(D) + 0.2 * r.standard_normal((D, D))
        B = -0.5 * rho ** 2 / (1 - rho ** 2) * np.eye(D)
        F = np.einsum("bid,de,bje->bij", z, W, y) + np.einsum("bjd,de,bje->bj", y, B, y)[:, None, :]
        cases.append(scale * F)
    return cases


def infonce_bound(fn) -> CheckResult:
    """Exercise (d), ``ex-10-1-2-bound-function``: your function ``fn(F)`` returning the InfoNCE estimate and its
    standard error, in nats; ``F[b, i, j]`` scores candidate j for anchor i of batch b, whose positive is candidate i.
    Slips named: the softmax over anchors, the loss, K - 1 for K, anchors taken as independent, a standard deviation,
    the divisor n_batches."""
    from .references import ch10_infonce as refs
    def judge(out, where, F):
        n, K = F.shape[0], F.shape[1]
        try:
            value = None if out is None else np.asarray(out, dtype=float)
        except (TypeError, ValueError):
            value = None
        if value is None or value.shape != (2,):
            return [f"my_bound should return two numbers, the estimate and its standard error (on {where}); "
                    f"got {'None (did you forget to return?)' if out is None else type(out).__name__}"
                    f"{'' if value is None else ' of shape ' + str(value.shape)}."]
        if np.any(refs.log_softmax_positive(F, 2) < -745.0) and not np.all(np.isfinite(value)):
            # exp of some positive's log-softmax is 0 in floating point
            return [f"the output on {where} is not finite: there some positives score so far below the best "
                    "candidate of their row that their softmax probability is 0 in floating point, and its "
                    "logarithm is minus infinity. Their log-softmax is a finite number: compute it without "
                    "forming the probability."]
        if np.abs(F).max() > 100 and not np.all(np.isfinite(value)):
            return [f"the output on {where} is not finite: the exponential of a large score overflows. The "
                    "softmax does not change when a constant is taken out of a row."]
        terms = np.log(K) + refs.log_softmax_positive(F, 2)           # (n, K): one term per anchor
        per_batch = terms.mean(axis=1)
        loss = -terms.mean() + np.log(K)
        hints = {
            "you normalized over the anchors (each column of F), not over the K candidates of one anchor "
            "(each row)": np.log(K) + refs.log_softmax_positive(F, 1).mean(),
            "you returned the loss L, not the estimate log K - L": loss,
            "you used log(K - 1), the number of negatives; the estimate is log K - L": np.log(K - 1) - loss,
        }
        problems = compare_scalar(value[0], per_batch.mean(), f"the estimate on {where}", rtol=1e-8, atol=1e-10,
                                  hints=hints)
        if problems:
            return problems
        se_hints = {
            "you treated every anchor as an independent draw; the anchors of a batch share their candidates":
                terms.std(ddof=1) / np.sqrt(terms.size),
            "you treated every anchor as an independent draw (and divided by n K); the anchors of a batch "
            "share their candidates": terms.std(ddof=0) / np.sqrt(terms.size),
            "you returned the standard deviation of the per-batch estimates, not the standard error of their "
            "mean": per_batch.std(ddof=1),
            "you divided the sum of squared deviations by n_batches; the sample variance divides by "
            "n_batches - 1": per_batch.std(ddof=0) / np.sqrt(n),
        }
        return compare_scalar(value[1], per_batch.std(ddof=1) / np.sqrt(n), f"the standard error on {where}",
                              rtol=1e-6, atol=1e-12, hints=se_hints)

    cases = [(f"test problem {i + 1} ({F.shape[0]} batches of K = {F.shape[1]} pairs"
              f"{', large scores' if np.abs(F).max() > 100 else ''})", (F,)) for i, F in enumerate(_bound_cases())]
    return check_function("InfoNCE estimate and its standard error from batches of scores (Eqs. 10.6-10.7)", fn,
                          cases, judge, name="my_bound", signature="the scores F")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-10-1-2-bound-function": {"same_data": FUNCTION_ANSWER},
}
