r"""Checkers for the exercises of Section 8.2.2 (Gumbel-max, the soft categorical, a discrete VAE).

Use in the notebook as::

    from pedagogy_lib.exercises import ch08_gumbel as check
    check.chi_square(my_value)               # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, book_or_drawn, compare_scalar, result

__all__ = ["EX_ETA", "EX_COUNTS", "EX_Y1", "EX_ETA2", "EX_S", "EX_LOGITS", "chi_square", "concrete_density",
           "kl_uniform"]


def _draw_eta(rng):
    """Natural parameters of the same kind as the book's EX_ETA, for one student: four values between -1
    and 1.2 (one decimal), not all equal."""
    while True:
        eta = np.round(rng.uniform(-1.0, 1.2, size=4), 1) + 0.0
        if np.ptp(eta) >= 0.8:
            return eta


def _draw_counts(rng):
    """Counts of the same kind as the book's EX_COUNTS, for one student: the categories of 1000 Gumbel-max
    samples with the natural parameters EX_ETA."""
    return np.bincount(np.argmax(EX_ETA + rng.gumbel(size=(1000, EX_ETA.size)), axis=1), minlength=EX_ETA.size)


#: Exercise (a): natural parameters of a 4-way categorical and counts of 1000 Gumbel-max samples.
EX_ETA = book_or_drawn(np.array([0.5, -0.5, 1.0, 0.0]), _draw_eta, seed=8221)
EX_COUNTS = book_or_drawn(np.array([221, 83, 458, 238]), _draw_counts, seed=8222)


def _draw_y1(rng):
    """A point of the same kind as the book's EX_Y1, for one student: strictly between 0.15 and 0.85 (two
    decimals)."""
    return round(float(rng.uniform(0.15, 0.85)), 2)


def _draw_eta2(rng):
    """Natural parameters of the same kind as the book's EX_ETA2, for one student: two unequal values between
    -1 and 1 (one decimal)."""
    while True:
        eta = np.round(rng.uniform(-1.0, 1.0, size=2), 1) + 0.0
        if eta[0] != eta[1]:
            return eta


def _draw_s(rng):
    """A softness of the same kind as the book's EX_S, for one student: between 0.3 and 1.5 (one decimal),
    not 1."""
    return round(float(rng.choice([0.3, 0.4, 0.5, 0.6, 0.8, 0.9, 1.2, 1.5])), 1)


#: Exercise (b): a point y = (EX_Y1, 1 - EX_Y1), natural parameters and softness for K = 2.
EX_Y1 = book_or_drawn(0.3, _draw_y1, seed=8223)
EX_ETA2 = book_or_drawn(np.array([0.2, -0.4]), _draw_eta2, seed=8224)
EX_S = book_or_drawn(0.7, _draw_s, seed=8225)


def _draw_logits(rng):
    """Logits of the same kind as the book's EX_LOGITS, for one student: four values between -1.5 and 1.5
    (one decimal), not all equal."""
    while True:
        logits = np.round(rng.uniform(-1.5, 1.5, size=4), 1) + 0.0
        if np.ptp(logits) >= 1.0:
            return logits


#: Exercise (c): logits of one group of C = 4 categories.
EX_LOGITS = book_or_drawn(np.array([1.2, -0.3, 0.4, -1.0]), _draw_logits, seed=8226)


def _softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


def chi_square(answer) -> CheckResult:
    """Exercise (a), ``ex-8-2-2-chi-square``: your Pearson chi-square statistic of :data:`EX_COUNTS`
    against the probabilities of Eq. 8.28 for :data:`EX_ETA`, a single number.

    The checker recognizes the wrong counts in the denominator, frequencies used in place of
    counts, and natural parameters used as probabilities.
    """
    n = EX_COUNTS.sum()
    E = n * _softmax(EX_ETA)
    expected = float(np.sum((EX_COUNTS - E) ** 2 / E))
    hints = {
        "you divided by the observed counts instead of the expected ones": float(np.sum((EX_COUNTS - E) ** 2 / EX_COUNTS)),
        "you compared frequencies with probabilities; Pearson's statistic uses counts": float(
            np.sum((EX_COUNTS / n - E / n) ** 2 / (E / n))),
        "you used the normalized eta without the exponential as probabilities": float(
            np.sum((EX_COUNTS - n * (EX_ETA - EX_ETA.min()) / np.sum(EX_ETA - EX_ETA.min())) ** 2
                   / np.maximum(n * (EX_ETA - EX_ETA.min()) / np.sum(EX_ETA - EX_ETA.min()), 1e-12))),
    }
    return result("chi-square statistic", compare_scalar(answer, expected, "the statistic", rtol=1e-6, hints=hints))


def concrete_density(answer) -> CheckResult:
    """Exercise (b), ``ex-8-2-2-density``: your soft-categorical density (K = 2) at y = (EX_Y1, 1 - EX_Y1)
    for :data:`EX_ETA2` and :data:`EX_S`, a single number (not its log).

    The checker recognizes a missing factor, wrong exponents, and the log density.
    """
    y = np.array([EX_Y1, 1 - EX_Y1])
    a, s = np.exp(EX_ETA2), EX_S
    expected = float(s * np.prod(a * y ** (-s - 1)) / np.sum(a * y ** (-s)) ** 2)
    hints = {
        "you left out the factor s^(K-1)": expected / s,
        "you used y^(-s) in the product where the density has y^(-s-1)": float(
            s * np.prod(a * y ** (-s)) / np.sum(a * y ** (-s)) ** 2),
        "you gave the log density": float(np.log(expected)),
        "you raised the denominator to the power 1 instead of K": float(
            s * np.prod(a * y ** (-s - 1)) / np.sum(a * y ** (-s))),
    }
    return result("soft-categorical density", compare_scalar(answer, expected, "the density", rtol=1e-6, hints=hints))


def kl_uniform(answer) -> CheckResult:
    """Exercise (c), ``ex-8-2-2-kl``: your contribution of the group with logits :data:`EX_LOGITS` to the
    KL regularizer against the uniform prior, a single number in nats.

    The checker recognizes reversed arguments, a missing constant, and unnormalized logits.
    """
    q = _softmax(EX_LOGITS)
    C = q.size
    expected = float(np.sum(q * np.log(C * q)))
    hints = {
        "you reversed the arguments, KL(uniform || q)": float(np.sum(np.log(1 / (C * q)) / C)),
        "you gave minus the entropy of q, forgetting log C": float(np.sum(q * np.log(q))),
        "you used the logits as log-probabilities without normalizing them": float(
            np.sum(np.exp(EX_LOGITS) * (EX_LOGITS + np.log(C)))),
    }
    return result("KL from the uniform prior", compare_scalar(answer, expected, "the KL", rtol=1e-6, hints=hints))
