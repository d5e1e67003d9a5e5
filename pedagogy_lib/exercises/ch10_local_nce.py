r"""Checkers for the exercises of Section 10.1.3 ("local" NCE).

Use in the notebook as::

    from pedagogy_lib.exercises import ch10_local_nce as check
    check.offset(my_offset)                  # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, book_or_drawn, compare_scalar, result

__all__ = ["EX_K", "EX_H", "EX_P", "offset", "one_positive_mass", "pointwise_minimizer"]


def _draw_k(rng) -> int:
    """A number of examples per trial between 3 and 50, for one student."""
    return int(rng.integers(3, 51))


#: Exercise (a): examples per trial.
EX_K = book_or_drawn(11, _draw_k, seed=10131)


def _draw_h(rng) -> np.ndarray:
    """Four energy differences between -2.5 and 2.5 (one decimal), for one student."""
    return np.round(rng.uniform(-2.5, 2.5, 4), 1) + 0.0


#: Exercise (b): energy differences h of the K = 4 examples of one trial.
EX_H = book_or_drawn(np.array([1.5, -0.5, -2.0, 0.3]), _draw_h, seed=10132)


def _draw_p(rng) -> tuple:
    """(p, p_n, K) for one student: two densities between 0.02 and 0.6 (two decimals) that differ, and
    K between 3 and 20."""
    while True:
        p, pn = (float(v) for v in np.round(rng.uniform(0.02, 0.6, 2), 2))
        K = int(rng.integers(3, 21))
        if p != pn * (K - 1) and p != pn:
            return p, pn, K


#: Exercise (c): the data density p(y), the noise density p_n(y) at one point y, and K.
EX_P = book_or_drawn((0.30, 0.05, 6), _draw_p, seed=10133)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def offset(answer) -> CheckResult:
    """Exercise (a), ``ex-10-1-3-offset``: by how much local NCE's learned c exceeds the true log
    normalizer with K = :data:`EX_K` examples per trial, in the limit of many trials; a single number.

    The checker recognizes a miscount of the negatives, a missing logarithm, and zero.
    """
    K = EX_K
    expected = np.log(K - 1)
    hints = {
        "you used log K: only K - 1 of the examples are negatives": np.log(K),
        "you gave the factor K - 1, not its logarithm": float(K - 1),
        "you gave zero, as for binary NCE; the K - 1 negative terms outweigh the one positive": 0.0,
    }
    return result("local NCE's offset", compare_scalar(answer, expected, "the offset", rtol=1e-6, hints=hints))


def one_positive_mass(answer) -> CheckResult:
    """Exercise (b), ``ex-10-1-3-one-positive``: your total probability the local model gives to exactly one
    positive among the examples with energy differences :data:`EX_H` (the sum over i of Eq. 10.12); a
    single number.

    The checker recognizes InfoNCE's answer, a sum missing the other examples' factors, and a softmax.
    """
    s = _sig(EX_H)
    expected = sum(s[i] * np.prod(np.delete(1 - s, i)) for i in range(len(s)))
    soft = np.exp(EX_H) / np.exp(EX_H).sum()
    hints = {
        "you gave 1, as for the softmax of Eq. 10.6; the local model also allows 0 or several positives": 1.0,
        "you summed sigma(h_i) alone, without the factors for the other examples": s.sum(),
        "you gave the softmax of the positive example": soft[0],
    }
    return result("probability of exactly one positive under the local model",
                  compare_scalar(answer, expected, "the sum", rtol=1e-6, hints=hints))


def pointwise_minimizer(answer) -> CheckResult:
    """Exercise (c), ``ex-10-1-3-minimizer``: your h(y) that minimizes the expected local-NCE loss at the
    point described by :data:`EX_P` = (p, p_n, K); a single number.

    The checker recognizes binary NCE's minimizer, a miscount of the negatives, and a ratio given
    for its logarithm.
    """
    p, pn, K = EX_P
    expected = np.log(p) - np.log(pn) - np.log(K - 1)
    hints = {
        "you left out -log(K - 1): that is binary NCE's minimizer": np.log(p) - np.log(pn),
        "you used log K instead of log(K - 1)": np.log(p) - np.log(pn) - np.log(K),
        "you gave the ratio, not its logarithm": p / (pn * (K - 1)),
    }
    return result("pointwise minimizer of Eq. 10.13",
                  compare_scalar(answer, expected, "h*", rtol=1e-6, hints=hints))
