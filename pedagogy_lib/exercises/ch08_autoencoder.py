r"""Checkers for the exercises of Section 8.2 (the variational autoencoder from the joint relative entropy).

Use in the notebook as::

    from pedagogy_lib.exercises import ch08_autoencoder as check
    check.mutual_information(my_value)       # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, as_integer, book_or_drawn, compare_scalar, result

__all__ = ["EX_P_Y", "EX_Q", "EX_P_X", "EX_EIGS", "EX_ALPHA", "mutual_information", "aggregate_kl",
           "active_dimensions"]


def _draw_p_y(rng):
    """A distribution of the same kind as the book's EX_P_Y, for one student: three probabilities (two
    decimals), none below 0.1, not all equal."""
    while True:
        a = np.round(rng.uniform(0.1, 0.7), 2)
        b = np.round(rng.uniform(0.1, 0.9 - a), 2)
        p = np.array([a, b, round(1.0 - a - b, 2)])
        if p.min() >= 0.1 and np.ptp(p) >= 0.1:
            return p


#: Exercises (a) and (b): data distribution p(y) over three values of y.
EX_P_Y = book_or_drawn(np.array([0.5, 0.3, 0.2]), _draw_p_y, seed=821)


def _draw_q(rng):
    """A table of the same kind as the book's EX_Q, for one student: one row per y, two values of x (one
    decimal, rows sum to one, no zero entry), no two rows alike."""
    while True:
        q1 = np.round(rng.uniform(0.1, 0.9, size=3), 1)
        if np.ptp(q1) >= 0.4 and np.unique(q1).size == 3:
            return np.column_stack([q1, np.round(1.0 - q1, 1)])


#: Recognition table q(x | y), one row per y, two values of x.
EX_Q = book_or_drawn(np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]), _draw_q, seed=822)


def _draw_p_x(rng):
    """A prior of the same kind as the book's EX_P_X, for one student: two unequal probabilities (one decimal)."""
    a = round(float(rng.choice([0.3, 0.4, 0.6, 0.7])), 1)
    return np.array([a, round(1.0 - a, 1)])


#: Generative prior p(x).
EX_P_X = book_or_drawn(np.array([0.5, 0.5]), _draw_p_x, seed=823)


def _draw_eigs(rng):
    """Eigenvalues of the same kind as the book's EX_EIGS, for one student: seven positive values in
    decreasing order (two decimals), from about 2.5 down to about 0.1, each about 0.5 to 0.75 times the one
    before."""
    return np.round(rng.uniform(2.0, 3.0) * np.cumprod(np.append(1.0, rng.uniform(0.5, 0.75, size=6))), 2)


def _draw_alpha(rng):
    """An emission variance of the same kind as the book's EX_ALPHA, for one student (two decimals, below
    one): between two and five eigenvalues of EX_EIGS exceed it, at least one eigenvalue lies between it and
    its square root, and none is close to either."""
    while True:
        alpha = round(float(rng.uniform(0.3, 0.8)), 2)
        active, by_sd = int(np.sum(EX_EIGS > alpha)), int(np.sum(EX_EIGS > np.sqrt(alpha)))
        margin = min(np.abs(EX_EIGS - alpha).min(), np.abs(EX_EIGS - np.sqrt(alpha)).min())
        if 2 <= active <= 5 and by_sd < active and margin > 0.03:
            return alpha


#: Exercise (c): eigenvalues of a data covariance, and an emission variance alpha.
EX_EIGS = book_or_drawn(np.array([2.5, 1.4, 0.9, 0.6, 0.35, 0.2, 0.1]), _draw_eigs, seed=824)
EX_ALPHA = book_or_drawn(0.5, _draw_alpha, seed=825)


def _aggregate():
    return EX_P_Y @ EX_Q


def mutual_information(answer) -> CheckResult:
    """Exercise (a), ``ex-8-2-information``: your mutual information of Eq. 8.21 for the tables
    :data:`EX_P_Y` and :data:`EX_Q`, a single number in nats.

    The checker recognizes bits, the KL regularizer, and one of the two entropies alone.
    """
    agg = _aggregate()
    expected = float(np.sum(EX_P_Y[:, None] * EX_Q * np.log(EX_Q / agg[None, :])))
    kl_reg = float(np.sum(EX_P_Y[:, None] * EX_Q * np.log(EX_Q / EX_P_X[None, :])))
    h_agg = -float(np.sum(agg * np.log(agg)))
    h_cond = -float(np.sum(EX_P_Y[:, None] * EX_Q * np.log(EX_Q)))
    hints = {
        "you measured it in bits (log base 2); the book's losses are in nats": expected / np.log(2.0),
        "you compared each q(x | y) with the prior p(x), which gives the KL regularizer of Eq. 8.20": kl_reg,
        "you gave the entropy of the aggregated posterior, H[X]; subtract H[X | Y]": h_agg,
        "you gave the conditional entropy H[X | Y], not the information": h_cond,
    }
    return result("mutual information I(X; Y)",
                  compare_scalar(answer, expected, "I(X; Y)", rtol=1e-6, hints=hints))


def aggregate_kl(answer) -> CheckResult:
    """Exercise (b), ``ex-8-2-aggregate``: your KL divergence of the aggregated posterior from the prior
    :data:`EX_P_X` (the first term of Eq. 8.21), a single number in nats.

    The checker recognizes reversed arguments, the KL regularizer, bits, and an unweighted average.
    """
    agg = _aggregate()
    expected = float(np.sum(agg * np.log(agg / EX_P_X)))
    kl_reg = float(np.sum(EX_P_Y[:, None] * EX_Q * np.log(EX_Q / EX_P_X[None, :])))
    hints = {
        "you reversed the arguments, KL(p(x) || aggregated posterior)": float(np.sum(EX_P_X * np.log(EX_P_X / agg))),
        "you averaged the per-datum KLs (the KL regularizer of Eq. 8.20) instead of comparing the average "
        "of q(x | y) with p(x)": kl_reg,
        "you measured it in bits (log base 2); the book's losses are in nats": expected / np.log(2.0),
        "you averaged q(x | y) without weighting by p(y)": float(np.sum(EX_Q.mean(0) * np.log(EX_Q.mean(0) / EX_P_X))),
    }
    return result("KL of the aggregated posterior from the prior",
                  compare_scalar(answer, expected, "the aggregated-posterior KL", rtol=1e-6, hints=hints))


def active_dimensions(answer) -> CheckResult:
    """Exercise (c), ``ex-8-2-collapse``: the number of latent dimensions a linear VAE keeps active for
    :data:`EX_EIGS` and :data:`EX_ALPHA`, an integer."""
    n, problems = as_integer(answer, "the number of active dimensions")
    if problems:
        return result("active latent dimensions", problems)
    expected = int(np.sum(EX_EIGS > EX_ALPHA))
    if n == expected:
        return result("active latent dimensions", [])
    if n == int(np.sum(EX_EIGS < EX_ALPHA)):
        msg = "you counted the collapsed dimensions, not the active ones."
    elif n == int(np.sum(EX_EIGS > np.sqrt(EX_ALPHA))):
        msg = "you compared the eigenvalues with a standard deviation; alpha is a variance, like them."
    elif n == EX_EIGS.size:
        msg = "not every direction survives: a direction whose variance the noise alone explains collapses."
    else:
        msg = "compare each eigenvalue (a variance of the data along a direction) with the emission variance."
    return result("active latent dimensions", [msg])
