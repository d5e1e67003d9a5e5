r"""Checkers for the exercises of Section 8.2.2 (Gumbel-max, the soft categorical, a discrete VAE).

Use in the notebook as::

    from pedagogy_lib.exercises import ch08_gumbel as check
    check.chi_square(my_value)               # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, compare_scalar, result

__all__ = ["EX_ETA", "EX_COUNTS", "EX_Y1", "EX_ETA2", "EX_S", "EX_LOGITS", "chi_square", "concrete_density",
           "kl_uniform"]

#: Exercise (a): natural parameters of a 4-way categorical and counts of 1000 Gumbel-max samples.
EX_ETA = np.array([0.5, -0.5, 1.0, 0.0])
EX_COUNTS = np.array([221, 83, 458, 238])

#: Exercise (b): a point y = (EX_Y1, 1 - EX_Y1), natural parameters and softness for K = 2.
EX_Y1 = 0.3
EX_ETA2 = np.array([0.2, -0.4])
EX_S = 0.7

#: Exercise (c): logits of one group of C = 4 categories.
EX_LOGITS = np.array([1.2, -0.3, 0.4, -1.0])


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
