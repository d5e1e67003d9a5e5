r"""Checkers for the exercises of Section 8.4 (variational inference: mean-field and CAVI).

Use in the notebook as::

    from pedagogy_lib.exercises import ch08_vi as check
    check.EX_LAMBDA                          # a precision matrix (the problem data)
    check.mean_field_variances(my_v)         # says what is wrong, never the answer

References are written out here from the definitions, independently of :mod:`pedagogy_lib.vi`.
"""
from __future__ import annotations

import math

import numpy as np

from .checker import CheckResult, as_integer, compare_array, result

__all__ = ["EX_LAMBDA", "EX_SIGMA", "EX_RHO", "mean_field_variances", "forward_kl_variances", "cavi_sweeps"]

#: Exercise (a): the precision matrix of a three-dimensional Gaussian target.
EX_LAMBDA = np.array([[2.0, -0.8, 0.3], [-0.8, 1.5, -0.4], [0.3, -0.4, 1.2]])

#: Exercise (b): the covariance matrix of a three-dimensional Gaussian target.
EX_SIGMA = np.array([[1.0, 0.6, -0.2], [0.6, 2.0, 0.5], [-0.2, 0.5, 0.7]])

#: Exercise (c): the correlation of a two-dimensional Gaussian target with unit variances.
EX_RHO = 0.9


def mean_field_variances(answer) -> CheckResult:
    r"""Exercise (a): the variances of the factorized :math:`q` that minimizes :math:`D_{KL}\{q\|p\}` for EX_LAMBDA."""
    Lam = EX_LAMBDA
    expected = np.array([1.0 / Lam[i, i] for i in range(3)])
    hints = {
        "you took the marginal variances, the diagonal of the covariance Lambda^{-1}: that is what the "
        "other direction, D_KL{p || q}, gives": np.diag(np.linalg.inv(Lam)),
        "you used the diagonal of the precision itself, without inverting it": np.diag(Lam),
        "you took square roots: the question asks for variances, not standard deviations":
            np.sqrt(expected),
    }
    return result("mean-field variances for EX_LAMBDA",
                  compare_array(answer, expected, "the variances", rtol=1e-8, hints=hints))


def forward_kl_variances(answer) -> CheckResult:
    r"""Exercise (b): the variances of the factorized :math:`q` that minimizes :math:`D_{KL}\{p\|q\}` for EX_SIGMA."""
    S = EX_SIGMA
    expected = np.array([S[i, i] for i in range(3)])
    hints = {
        "you gave the mean-field answer 1 / (Sigma^{-1})_ii, which minimizes the other direction, D_KL{q || p}":
            1.0 / np.diag(np.linalg.inv(S)),
        "you took square roots: the question asks for variances": np.sqrt(expected),
    }
    return result("moment-matched variances for EX_SIGMA",
                  compare_array(answer, expected, "the variances", rtol=1e-8, hints=hints))


def cavi_sweeps(answer) -> CheckResult:
    r"""Exercise (c): full CAVI sweeps that shrink the error of the means by :math:`10^6` when each sweep multiplies it by :math:`\rho^2`."""
    k, problems = as_integer(answer, "the number of sweeps")
    if problems:
        return result("CAVI sweeps", problems)
    expected = math.ceil(math.log(1e-6) / math.log(EX_RHO ** 2))
    if k == expected:
        return result("CAVI sweeps", [])
    if k == math.ceil(math.log(1e-6) / math.log(EX_RHO)):
        return result("CAVI sweeps", ["that is the count for a factor rho per sweep; one sweep updates both "
                                      "coordinates, and each update contributes a factor rho."])
    if k == expected - 1:
        return result("CAVI sweeps", ["one short: after that many sweeps the error is still just above 1e-6 "
                                      "of its starting size (round up)."])
    return result("CAVI sweeps", ["not right: solve rho^(2k) <= 1e-6 for the smallest whole k."])
