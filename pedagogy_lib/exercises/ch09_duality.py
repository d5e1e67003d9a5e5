"""Checkers for the exercises of notebook 9.0.1 (the generative/discriminative duality).

Use in the notebook as::

    from pedagogy_lib.exercises import ch09_duality as check
    check.z_density(my_pz)

The setting of all three exercises is one-dimensional: zero-mean normal data Y with standard
deviation :data:`EX_SIGMA`, the recognition map d(y) = a y and the logistic CDF psi as squashing
function (discriminative reading) or prior CDF (generative reading). Reference answers are
computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np
from scipy import integrate, optimize

from . import checker

__all__ = ["EX_SIGMA", "EX_A", "EX_Z", "z_density", "kl_at_gain", "best_gain"]


def _draw_sigma(rng) -> float:
    """A standard deviation between 2 and 4 (one decimal), for one student: away from 1 and from the
    optimal output scale, so that the gain differs from its unit-variance value and from its reciprocal."""
    return float(np.round(rng.uniform(2.0, 4.0), 1))


#: Standard deviation of the zero-mean normal data of all three exercises.
EX_SIGMA = checker.book_or_drawn(2.0, _draw_sigma, seed=9011)


def _draw_a(rng) -> float:
    """A gain within 25% of the maximum-likelihood gain for this student's EX_SIGMA (two decimals), as the
    book's is: the squashed outputs stay close to uniform."""
    return float(np.round(1.75 / EX_SIGMA * rng.uniform(0.75, 1.25), 2))


#: Gain a of the recognition map d(y) = a y in Exercises 1 and 2.
EX_A = checker.book_or_drawn(0.8, _draw_a, seed=9012)


def _draw_z(rng) -> np.ndarray:
    """Five different points of the unit interval on the grid 0.05, 0.10, ..., 0.95, in increasing order."""
    return np.round(np.sort(rng.choice(np.arange(1, 20), 5, replace=False)) * 0.05, 2)


#: Exercise 1: points of the unit interval where the density of the squashed output Z is wanted.
EX_Z = checker.book_or_drawn(np.array([0.05, 0.25, 0.5, 0.75, 0.95]), _draw_z, seed=9013)


def _log_p(y):
    return -0.5 * (y / EX_SIGMA) ** 2 - np.log(EX_SIGMA * np.sqrt(2.0 * np.pi))


def _log_dpsi(x):
    s = np.abs(x)
    return -s - 2.0 * np.log1p(np.exp(-s))


def _logit(z):
    return np.log(z) - np.log1p(-z)


def z_density(values):
    """Exercise 1, ``ex-9-0-1-z-density``: your density of the squashed output Z at each point of :data:`EX_Z`.

    Pass an array of 5 numbers, one per point. The checker recognizes a missing Jacobian factor, a
    ratio upside down, the data density alone, and a forgotten gain.
    """
    x = _logit(EX_Z)
    y = x / EX_A
    ref = np.exp(_log_p(y) - _log_dpsi(x) - np.log(EX_A))
    hints = {
        "you left out the Jacobian |a| of d: the model density is psi'(a y) |a|":
            np.exp(_log_p(y) - _log_dpsi(x)),
        "the ratio is upside down: the density of Z is p(y) over the model density, not the reverse":
            1.0 / ref,
        "you gave the data density p(y) at the pre-image; divide by |dz/dy|": np.exp(_log_p(y)),
        "you evaluated p at psi^{-1}(z) without dividing by the gain a": np.exp(_log_p(x) - _log_dpsi(x)
                                                                                - np.log(EX_A)),
    }
    problems = checker.compare_array(values, ref, "your densities", rtol=1e-6, hints=hints)
    return checker.result("density of the squashed outputs", problems)


def _kl(a, *, with_logdet=True):
    def f(y):
        return np.exp(_log_p(y)) * (_log_p(y) - _log_dpsi(a * y) - (np.log(abs(a)) if with_logdet else 0.0))
    return integrate.quad(f, -np.inf, np.inf, epsabs=1e-12, epsrel=1e-12)[0]


def kl_at_gain(value):
    """Exercise 2, ``ex-9-0-1-entropy``: your relative entropy of the generative model from the data at
    a = :data:`EX_A`, a single number.

    The checker recognizes the output entropy given in its place and a missing log-determinant.
    """
    ref = _kl(EX_A)
    hints = {
        "that is H[Z], the output entropy; the relative entropy is its negative": -ref,
        "you left out log|a|, the log-determinant of the Jacobian": _kl(EX_A, with_logdet=False),
    }
    problems = checker.compare_scalar(value, ref, "your relative entropy", rtol=1e-5, atol=1e-7, hints=hints)
    return checker.result("relative entropy at the given gain", problems)


def _lambda_unit():
    def stat(lam):
        return integrate.quad(lambda s: np.tanh(lam * s / 2.0) * lam * s * np.exp(-s * s / 2.0),
                              -np.inf, np.inf, epsabs=1e-13)[0] / np.sqrt(2.0 * np.pi) - 1.0
    return optimize.brentq(stat, 0.1, 10.0, xtol=1e-13)


def best_gain(a):
    """Exercise 3, ``ex-9-0-1-best-gain``: your gain a* > 0 that maximizes the likelihood of the logistic
    model for the data of :data:`EX_SIGMA`, a single number.

    A negative answer of the right size is accepted too (the mirror-image maximum). The checker
    recognizes the optimum for unit-variance data, its reciprocal, and the whitening gain.
    """
    lam = _lambda_unit()
    ref = lam / EX_SIGMA
    arr, problems = checker.as_numeric(a, "your gain")
    if problems:
        return checker.result("maximum-likelihood gain", problems)
    if arr.size == 1 and float(arr.reshape(())) < 0:
        arr = -arr                    # -a* is the mirror-image maximum of a symmetric prior
    hints = {
        "that is the optimum for unit-variance data; these data have standard deviation EX_SIGMA": lam,
        "you gave the reciprocal, a scale instead of a gain": 1.0 / ref,
        "1/sigma only whitens the data; the logistic prior prefers another scale": 1.0 / EX_SIGMA,
    }
    problems = checker.compare_scalar(arr, ref, "your gain", rtol=1e-4, hints=hints)
    return checker.result("maximum-likelihood gain", problems)
