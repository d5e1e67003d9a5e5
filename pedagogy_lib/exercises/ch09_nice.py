r"""Checkers for the exercises of notebook 9.2 (NICE: couplings, log-determinants, leapfrog).

Use in the notebook as::

    from pedagogy_lib.exercises import ch09_nice as check
    check.log_det(my_ld)

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from . import checker

__all__ = ["EX_SIGMA", "EX_N_COUPLINGS", "EX_OUT", "EX_EPS", "coupling_m", "log_det", "invert_coupling",
           "leapfrog_matrix"]


def _draw_log_scales(rng) -> np.ndarray:
    """Four log-scales between -1.5 and 1.5 (two decimals) for one student, their sum away from 0."""
    while True:
        sigma = np.round(rng.uniform(-1.5, 1.5, 4), 2) + 0.0
        if abs(sigma.sum()) > 0.1:
            return sigma


def _draw_n_couplings(rng) -> int:
    """A number of additive couplings, 2 to 8."""
    return int(rng.integers(2, 9))


#: Exercise 1: the log-scales of the final diagonal scaling of a flow with
#: :data:`EX_N_COUPLINGS` additive couplings in 4 dimensions.
EX_SIGMA = checker.book_or_drawn(np.array([0.3, -1.2, 0.45, 0.8]), _draw_log_scales, seed=9021)
EX_N_COUPLINGS = checker.book_or_drawn(6, _draw_n_couplings, seed=9022)


def _draw_out(rng) -> np.ndarray:
    """An output point (one decimal) for one student, with x_1 away from zero so that m(x_1) matters."""
    while True:
        out = np.round(rng.uniform(-1.5, 1.5, 2), 1) + 0.0
        if abs(out[0]) >= 0.2:
            return out


#: Exercise 2: an output point of one additive coupling of 2-D data, conditioning on x_1.
EX_OUT = checker.book_or_drawn(np.array([0.7, -1.3]), _draw_out, seed=9023)


def _draw_eps(rng) -> float:
    """A leapfrog step size between 0.1 and 0.9 (two decimals), for one student."""
    return float(np.round(rng.uniform(0.1, 0.9), 2))


#: Exercise 3: the leapfrog step size.
EX_EPS = checker.book_or_drawn(0.4, _draw_eps, seed=9024)


def coupling_m(u):
    """Exercise 2's coupling function m(u) = tanh(2u) - u/2, element-wise on arrays."""
    u = np.asarray(u, dtype=float)
    return np.tanh(2 * u) - 0.5 * u


def log_det(value):
    """Exercise 1, ``ex-9-2-log-det``: your log-determinant of the Jacobian of the whole flow, a single number.

    The checker recognizes the determinant itself, an average where a sum belongs, and couplings
    counted as contributing.
    """
    ref = float(EX_SIGMA.sum())
    hints = {
        "you exponentiated: the determinant of the scaling is exp(sum sigma), its log is the sum":
            float(np.exp(EX_SIGMA.sum())),
        "you averaged the log-scales instead of summing them": float(EX_SIGMA.mean()),
        "each additive coupling contributes log 1 = 0, not 1": ref + EX_N_COUPLINGS,
    }
    problems = checker.compare_scalar(value, ref, "your log-determinant", hints=hints)
    return checker.result("log-determinant of a NICE flow", problems)


def invert_coupling(x):
    """Exercise 2, ``ex-9-2-invert``: your input (x_1, x_2) of the coupling of the statement whose output
    is :data:`EX_OUT`.

    Pass an array of shape (2,). The checker recognizes a sign slip, a changed conditioning
    coordinate, and m evaluated at the wrong coordinate.
    """
    a, b = EX_OUT
    ref = np.array([a, b - coupling_m(a)])
    hints = {
        "you added m instead of subtracting it": np.array([a, b + coupling_m(a)]),
        "the conditioning coordinate x_1 passes through unchanged; you changed it too":
            np.array([a - coupling_m(b), b - coupling_m(a)]),
        "you evaluated m at the updated coordinate instead of the conditioning one":
            np.array([a, b - coupling_m(b)]),
    }
    problems = checker.compare_array(x, ref, "your input point", hints=hints)
    return checker.result("inverting an additive coupling", problems)


def _shears(eps):
    kick = np.array([[1.0, 0.0], [-eps / 2, 1.0]])          # p += (eps/2) f(x), f(x) = -x
    drift = np.array([[1.0, eps], [0.0, 1.0]])              # x += eps p
    return kick, drift


def leapfrog_matrix(M):
    """Exercise 3, ``ex-9-2-leapfrog``: your 2 x 2 matrix of one whole leapfrog step for the quadratic
    potential of the statement, step size :data:`EX_EPS`, acting on the column (x, p).

    The checker recognizes a full kick in place of two half kicks and a kick with the wrong sign.
    """
    kick, drift = _shears(EX_EPS)
    ref = kick @ drift @ kick
    hints = {
        "you used a full kick of eps instead of two half kicks of eps/2":
            np.array([[1.0, 0.0], [-EX_EPS, 1.0]]) @ drift,
        "the kick's sign is wrong: the force of U = x^2/2 is -x": _shears(-EX_EPS)[0] @ drift @ _shears(-EX_EPS)[0],
    }
    problems = checker.compare_array(M, ref, "your matrix", hints=hints)
    return checker.result("leapfrog as three shears", problems)


#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py).
SUMMATIVE = {
    "ex-9-2-leapfrog": {"forbidden": ["pedagogy_lib.deepgen.nice.leapfrog_couplings", "pedagogy_lib.samplers.mcmc.leapfrog"]},
}
