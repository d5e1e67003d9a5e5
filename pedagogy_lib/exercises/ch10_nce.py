r"""Checkers for the exercises of Section 10.1.1 (noise-contrastive estimation).

Use in the notebook as::

    from pedagogy_lib.exercises import ch10_nce as check
    check.log_normalizer(my_c)              # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, book_or_drawn, compare_scalar, result, problem_rng

__all__ = ["EX_A", "EX_M", "EX_E", "EX_EN", "EX_SAMPLES", "log_normalizer", "posterior", "offset_gradient"]


def _draw_energy(rng) -> tuple:
    """(a, m) for one student: a precision between 0.5 and 5 and a non-zero m (one decimal each)."""
    a = float(np.round(rng.uniform(0.5, 5.0), 1))
    return a, float(np.round(rng.choice([-1, 1]) * rng.uniform(0.5, 3.0), 1))


#: Exercise (a): the energy 0.5 a y^2 - m y with a = EX_A and m = EX_M.
EX_A, EX_M = book_or_drawn((4.0, 2.0), _draw_energy, seed=10111)


def _draw_energies(rng) -> tuple:
    """(E, E_n) for one student (one decimal), the model's energy lower than the noise's by 0.3 to 2, as
    in the book."""
    e = float(np.round(rng.uniform(0.2, 2.0), 1))
    return e, float(np.round(e + rng.uniform(0.3, 2.0), 1))


#: Exercise (b): the model energy E(y) and the noise energy E_n(y) at one point y.
EX_E, EX_EN = book_or_drawn((0.7, 1.9), _draw_energies, seed=10112)


def _samples():
    rng = problem_rng(1011)
    return rng.normal(0.5, 1.0, 200), rng.normal(-0.3, 1.5, 200)


#: Exercise (c): energy differences h at 200 data samples and at 200 noise samples.
EX_SAMPLES = _samples()


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def log_normalizer(answer) -> CheckResult:
    """Exercise (a), ``ex-10-1-1-log-normalizer``: your offset c that makes the energy of the statement
    (with :data:`EX_A` and :data:`EX_M`) integrate to one; a single number.

    The checker recognizes a left-out term, the variance turned upside down, Z given for log Z, and
    a dropped factor.
    """
    a, m = EX_A, EX_M
    expected = 0.5 * np.log(2 * np.pi / a) + m * m / (2 * a)
    hints = {
        "you left out m^2 / (2a), the term from completing the square": 0.5 * np.log(2 * np.pi / a),
        "you used log(2 pi a) instead of log(2 pi / a): the variance is 1/a": 0.5 * np.log(2 * np.pi * a)
        + m * m / (2 * a),
        "you gave Z instead of log Z": np.exp(expected),
        "you dropped the factor 1/2 in front of the logarithm": np.log(2 * np.pi / a) + m * m / (2 * a),
    }
    return result("learned log normalizer of a Gaussian energy",
                  compare_scalar(answer, expected, "c", rtol=1e-6, hints=hints))


def posterior(answer) -> CheckResult:
    """Exercise (b), ``ex-10-1-1-posterior``: your probability that the NCE classifier (Eq. 10.2) gives to
    y being data, at the energies :data:`EX_E` and :data:`EX_EN`; a single number.

    The checker recognizes the energies swapped, an unnormalized probability, and log odds.
    """
    expected = _sig(EX_EN - EX_E)
    hints = {
        "you used E - E_n: the lower energy should make the example more probable": _sig(EX_E - EX_EN),
        "you gave the unnormalized model probability exp(-E) without Bayes' rule": np.exp(-EX_E),
        "you gave the log odds h, not the probability": EX_EN - EX_E,
    }
    return result("posterior probability that y is data (Eq. 10.2)",
                  compare_scalar(answer, expected, "p(X=1 | y)", rtol=1e-6, hints=hints))


def offset_gradient(answer) -> CheckResult:
    """Exercise (c), ``ex-10-1-1-offset-gradient``: your derivative of the loss of Eq. 10.4 with respect to
    the offset c, from the energy differences in :data:`EX_SAMPLES`; a single number.

    The checker recognizes a flipped sign, a missing factor, and the wrong sign inside the data term.
    """
    h_pos, h_neg = EX_SAMPLES
    expected = 0.5 * _sig(-h_pos).mean() - 0.5 * _sig(h_neg).mean()
    hints = {
        "your sign is flipped: raising c lowers h = E_n - E everywhere": -expected,
        "you left out the factor 1/2 of the equal prior": 2 * expected,
        "you used sigma(h) for the data term instead of sigma(-h)": 0.5 * _sig(h_pos).mean()
        - 0.5 * _sig(h_neg).mean(),
    }
    return result("derivative of the NCE loss with respect to c",
                  compare_scalar(answer, expected, "dL/dc", rtol=1e-6, hints=hints))
