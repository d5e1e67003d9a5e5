r"""Checkers for the exercises of Section 10.1.2 (InfoNCE and contrastive predictive coding).

Use in the notebook as::

    from pedagogy_lib.exercises import ch10_infonce as check
    check.gaussian_mi(my_I)                  # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, book_or_drawn, compare_array, compare_scalar, problem_rng, result

__all__ = ["EX_RHO", "EX_K", "EX_LGSSM", "EX_L", "gaussian_mi", "bound_ceiling", "predictor_weights", "infonce_bound"]


def _draw_rho(rng) -> float:
    """A correlation for one student, of either sign, between 0.3 and 0.95 in size (two decimals)."""
    return float(np.round(rng.choice([-1, 1]) * rng.uniform(0.3, 0.95), 2))


#: Exercise (a): the correlation of a bivariate standard Gaussian.
EX_RHO = book_or_drawn(0.8, _draw_rho, seed=10121)


def _draw_k(rng) -> int:
    """A number of examples per trial between 16 and 512, for one student."""
    return int(rng.integers(16, 513))


#: Exercise (b): examples per trial.
EX_K = book_or_drawn(64, _draw_k, seed=10122)


def _draw_lgssm(rng) -> tuple:
    """(a, q, r) for one student: a stable positive a between 0.5 and 0.95, noise variances between
    0.2 and 2 (one or two decimals)."""
    return (float(np.round(rng.uniform(0.5, 0.95), 2)), float(np.round(rng.uniform(0.3, 2.0), 1)),
            float(np.round(rng.uniform(0.2, 2.0), 1)))


#: Exercise (c): (a, q, r) of the scalar model x_t = a x_{t-1} + w, y_t = x_t + v.
EX_LGSSM = book_or_drawn((0.8, 1.0, 0.5), _draw_lgssm, seed=10123)

#: Exercise (c): number of lags.
EX_L = 6


def gaussian_mi(answer) -> CheckResult:
    """Exercise (a), ``ex-10-1-2-gaussian-mi``: your mutual information of the standard bivariate Gaussian
    with correlation :data:`EX_RHO`, a single number in nats.

    The checker recognizes a dropped factor, a slip inside the logarithm, and bits.
    """
    rho = EX_RHO
    expected = -0.5 * np.log(1 - rho ** 2)
    hints = {
        "you left out the factor 1/2": -np.log(1 - rho ** 2),
        "you used 1 - rho instead of 1 - rho^2": -0.5 * np.log(1 - rho),
        "you computed bits (log base 2): the bound uses natural logarithms": -0.5 * np.log2(1 - rho ** 2),
    }
    return result("mutual information of a correlated Gaussian pair",
                  compare_scalar(answer, expected, "I", rtol=1e-4, hints=hints))


def bound_ceiling(answer) -> CheckResult:
    """Exercise (b), ``ex-10-1-2-ceiling``: the largest value the InfoNCE estimate of the statement can
    take with K = :data:`EX_K` examples per trial, a single number in nats.

    The checker recognizes a count of negatives in place of examples, bits, and a missing logarithm.
    """
    K = EX_K
    expected = np.log(K)
    hints = {
        "you used log(K - 1), the number of negatives: the loss can reach 0, the bound log K": np.log(K - 1),
        "you used log base 2": np.log2(K),
        "you gave K itself, not its logarithm": float(K),
    }
    return result("ceiling of the InfoNCE bound",
                  compare_scalar(answer, expected, "the ceiling", rtol=1e-4, hints=hints))


def _steady_gain(a, q, r):
    P = q
    for _ in range(2000):                       # prior variance by iterating the Riccati map
        K = P / (P + r)
        P = a * a * (1 - K) * P + q
    return P / (P + r)


def predictor_weights(answer) -> CheckResult:
    """Exercise (c), ``ex-10-1-2-kalman-weights``: your weights of the steady-state one-step predictor on
    y_t, y_{t-1}, ... for the model :data:`EX_LGSSM`.

    Pass an array of the first :data:`EX_L` weights, most recent observation first. The checker
    recognizes the filter's weights and a decay ratio missing one of its factors.
    """
    a, q, r = EX_LGSSM
    K = _steady_gain(a, q, r)
    j = np.arange(EX_L)
    expected = a * K * ((1 - K) * a) ** j
    hints = {
        "you gave the filter's weights (the estimate of x_t), not the predictor's: one more factor a":
            K * ((1 - K) * a) ** j,
        "your decay ratio is (1 - K) alone: the state also decays by a each step": a * K * (1 - K) ** j,
        "your decay ratio is a alone: each new observation also replaces a fraction K": a * K * a ** j,
    }
    return result("steady-state Kalman predictor weights",
                  compare_array(answer, expected, "the weights", rtol=1e-4, hints=hints))


def _bound_cases():
    """Score arrays the student's function has not seen, shape (n_batches, K, K) with F[b, i, j] = h(y_j, z_i):
    the smallest K, bilinear and quadratic critics on correlated Gaussian pairs, and a sharp critic whose
    scores run far beyond a hundred (exponentials overflow there unless the largest score is taken out)."""
    r = problem_rng(10124)
    cases = []
    for n, K, D, rho, scale in [(1, 2, 1, 0.6, 1.0), (6, 8, 1, 0.8, 1.0), (3, 16, 2, 0.9, 60.0),
                                (10, 5, 2, -0.5, 1.0)]:
        z = r.standard_normal((n, K, D))
        y = rho * z + np.sqrt(1 - rho ** 2) * r.standard_normal((n, K, D))
        W = rho / (1 - rho ** 2) * np.eye(D) + 0.2 * r.standard_normal((D, D))
        B = -0.5 * rho ** 2 / (1 - rho ** 2) * np.eye(D)
        F = np.einsum("bid,de,bje->bij", z, W, y) + np.einsum("bjd,de,bje->bj", y, B, y)[:, None, :]
        cases.append(scale * F)
    return cases


def _log_softmax_positive(F: np.ndarray, axis: int) -> np.ndarray:
    """Log of the softmax at the diagonal entry, normalized along ``axis`` (2: over the candidates of each
    anchor; 1: over the anchors of each candidate), one value per anchor of every batch."""
    m = F.max(axis=axis, keepdims=True)
    lse = np.squeeze(m, axis) + np.log(np.exp(F - m).sum(axis=axis))
    return np.diagonal(F, axis1=1, axis2=2) - lse


def infonce_bound(fn) -> CheckResult:
    """Exercise (d), ``ex-10-1-2-bound-function``: your function ``fn(F)`` returning the InfoNCE estimate
    of the statement, a single number in nats.

    ``F`` has shape (n_batches, K, K); entry [b, i, j] is the critic's score of candidate j for anchor i of
    batch b, and anchor i's positive is candidate i. It is run on score arrays made here, from K = 2 up,
    one of them with scores far beyond a hundred. The checker recognizes the softmax taken over the anchors
    instead of the candidates, the loss returned in place of the estimate, and the number of negatives
    used in place of K.
    """
    title = "InfoNCE estimate from a batch of scores (Eqs. 10.6-10.7)"
    if not callable(fn):
        return result(title, [f"my_bound should be a function of the scores F; got {type(fn).__name__}."])
    problems = []
    for i, F in enumerate(_bound_cases()):
        n, K = F.shape[0], F.shape[1]
        sharp = np.abs(F).max() > 100
        where = (f"test problem {i + 1} ({n} batch{'es' if n > 1 else ''} of K = {K} pairs"
                 f"{', large scores' if sharp else ''})")
        try:
            out = fn(F.copy())
        except Exception as exc:  # noqa: BLE001 - any student error is reported, not raised
            problems = [f"your function raised {type(exc).__name__}: {exc} (on {where})."]
            break
        loss = -_log_softmax_positive(F, 2).mean()
        if sharp:
            try:
                value = None if out is None else np.asarray(out, dtype=float)
            except (TypeError, ValueError):
                value = None
            if value is not None and not np.all(np.isfinite(value)):
                problems = [f"the output on {where} is not finite: the exponential of a large score "
                            "overflows. Subtract each row's largest score before exponentiating; the softmax "
                            "does not change."]
                break
        hints = {
            "you normalized over the anchors (each column of F), not over the K candidates of one anchor "
            "(each row)": np.log(K) + _log_softmax_positive(F, 1).mean(),
            "you returned the loss L, not the estimate log K - L": loss,
            "you used log(K - 1), the number of negatives; the estimate is log K - L": np.log(K - 1) - loss,
        }
        problems = compare_scalar(out, np.log(K) - loss, f"the output on {where}", rtol=1e-8, atol=1e-10,
                                  hints=hints)
        if problems:
            break
    return result(title, problems)


#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py).
SUMMATIVE = {
    "ex-10-1-2-gaussian-mi": {"forbidden": ["pedagogy_lib.contrastive.infonce.gaussian_mutual_information"]},
    "ex-10-1-2-kalman-weights": {"forbidden": ["pedagogy_lib.contrastive.cpc.kalman_window_predictor"]},
    "ex-10-1-2-bound-function": {"forbidden": ["pedagogy_lib.contrastive.infonce.infonce_loss"],
                                 "same_data": "the answer is a function, which the grader calls on test problems of "
                                              "the checker's own (drawn for each student)"},
}
