r"""Checkers for the exercises of notebook 9.2 (NICE: couplings, log-determinants, leapfrog).

Use in the notebook as::

    from pedagogy_lib.exercises import ch09_nice as check
    check.flow_log_density(my_lp)

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from . import checker

__all__ = ["EX_SIGMA", "EX_N_COUPLINGS", "EX_Y", "EX_OUT", "EX_EPS", "coupling_m", "flow_log_density",
           "invert_coupling", "leapfrog_matrix"]


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


def _draw_y(rng) -> np.ndarray:
    """A 4-dimensional data point (one decimal) for one student, no entry zero."""
    while True:
        y = np.round(rng.uniform(-1.5, 1.5, 4), 1) + 0.0
        if np.all(np.abs(y) >= 0.2):
            return y


#: Exercise 1: the data point at which the flow's log-density is wanted.
EX_Y = checker.book_or_drawn(np.array([0.5, -0.3, 1.1, 0.2]), _draw_y, seed=9025)


def _draw_out(rng) -> np.ndarray:
    """An output point (one decimal) for one student, with x_1 away from zero so that m(x_1) matters."""
    while True:
        out = np.round(rng.uniform(-1.5, 1.5, 2), 1) + 0.0
        if abs(out[0]) >= 0.2:
            return out


#: Exercise 2: the output point of two additive couplings of 2-D data (x_2 updated from x_1, then x_1 from
#: the new x_2).
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


def _couplings(y, n, *, first_even=True):
    """The flow's n additive couplings of Exercise 1 applied to the 4-vector y: coupling k adds m of one
    half to the other, the first half conditioning when k is even."""
    x = np.array(y, dtype=float)
    for k in range(n):
        if (k % 2 == 0) == first_even:
            x[2:] = x[2:] + coupling_m(x[:2])
        else:
            x[:2] = x[:2] + coupling_m(x[2:])
    return x


def _log_normal(x):
    return float(np.sum(-0.5 * x * x - 0.5 * np.log(2 * np.pi)))


def flow_log_density(value):
    """Exercise 1, ``ex-9-2-log-det``: your log-density log p-hat(y) of the NICE flow of the statement at
    y = :data:`EX_Y`, a single number.

    The checker recognizes the log-determinant left out or subtracted, the determinant added in place
    of its log, the couplings run in the other alternation, and the scaling applied before them.
    """
    n, sig = EX_N_COUPLINGS, EX_SIGMA
    x_hat = np.exp(sig) * _couplings(EX_Y, n)
    ref = _log_normal(x_hat) + float(sig.sum())
    hints = {
        "you left out the log-determinant of the Jacobian": _log_normal(x_hat),
        "you subtracted the log-determinant; for the density of y it is added":
            _log_normal(x_hat) - float(sig.sum()),
        "you added the determinant itself, not its logarithm": _log_normal(x_hat) + float(np.exp(sig.sum())),
        "your couplings alternate the other way round (the first one conditions on x_1, x_2)":
            _log_normal(np.exp(sig) * _couplings(EX_Y, n, first_even=False)) + float(sig.sum()),
        "you applied the scaling before the couplings; it comes last":
            _log_normal(_couplings(np.exp(sig) * EX_Y, n)) + float(sig.sum()),
    }
    problems = checker.compare_scalar(value, ref, "your log-density", rtol=1e-8, hints=hints)
    return checker.result("log-density of a NICE flow", problems)


def invert_coupling(x):
    """Exercise 2, ``ex-9-2-invert``: your input (x_1, x_2) of the two couplings of the statement whose
    output is :data:`EX_OUT`.

    Pass an array of shape (2,). The checker recognizes the couplings undone in the wrong order, a
    sign slip, and only the last coupling undone.
    """
    a, b = EX_OUT
    x1 = a - coupling_m(b)                       # undo the second coupling first
    ref = np.array([x1, b - coupling_m(x1)])
    x2_wrong = b - coupling_m(a)
    hints = {
        "you undid the couplings in the order they were applied":
            np.array([a - coupling_m(x2_wrong), x2_wrong]),
        "you added m instead of subtracting it": np.array([a + coupling_m(b), b + coupling_m(a + coupling_m(b))]),
        "you undid only the second coupling": np.array([x1, b]),
        "you undid only the first coupling; the second one changed x_1 as well":
            np.array([a, b - coupling_m(a)]),
    }
    problems = checker.compare_array(x, ref, "your input point", hints=hints)
    return checker.result("inverting two additive couplings", problems)


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
    "ex-9-2-invert": {"forbidden": ["scipy.optimize.fsolve", "scipy.optimize.root",
                                    "pedagogy_lib.deepgen.nice.inverse",
                                    "scipy.optimize.least_squares",
                                    "scipy.optimize.minimize",
                                    "scipy.optimize.newton",
                                    "scipy.optimize.broyden1",
                                    "scipy.optimize.broyden2",
                                    "scipy.optimize.anderson",
                                    "scipy.optimize.newton_krylov",
                                    "scipy.optimize.diagbroyden",
                                    "scipy.optimize.fixed_point"]},
    "ex-9-2-log-det": {"forbidden": ["pedagogy_lib.nn.network.numerical_gradient", "scipy.differentiate.derivative", "scipy.differentiate.jacobian", "scipy.optimize.approx_fprime",
                                     "pedagogy_lib.deepgen.nice.log_likelihood",
                                     "pedagogy_lib.deepgen.nice.log_det_jacobian",
                                     "pedagogy_lib.deepgen.nice.forward",
                                     "pedagogy_lib.deepgen.nice.nll_and_grads",
                                     "fd_jacobian",
                                     "scipy.optimize.least_squares"]},
    "ex-9-2-leapfrog": {"forbidden": ["pedagogy_lib.samplers.proposals.leapfrog_steps", "pedagogy_lib.samplers.proposals.leapfrog", "pedagogy_lib.deepgen.nice.leapfrog_couplings", "pedagogy_lib.samplers.mcmc.leapfrog",
                                      "pedagogy_lib.deepgen.nice.forward",
                                      "pedagogy_lib.deepgen.nice.inverse",
                                      "pedagogy_lib.deepgen.nice.forward_layers"]},
}
