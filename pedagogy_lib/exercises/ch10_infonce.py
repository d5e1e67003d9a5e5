r"""Checkers for the exercises of Section 10.1.2 (InfoNCE and contrastive predictive coding).

Use in the notebook as::

    from pedagogy_lib.exercises import ch10_infonce as check
    check.gaussian_mi(my_I)                  # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, book_or_drawn, compare_array, compare_scalar, result

__all__ = ["EX_RHO", "EX_K", "EX_LGSSM", "EX_L", "gaussian_mi", "bound_ceiling", "predictor_weights"]


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
