r"""Checkers for the exercises of the notebook "Chaos and predictability" (data assimilation, 1).

Use in the notebook as::

    from pedagogy_lib.exercises import da_chaos as check
    check.lorenz63_field(my_f)

References are written out here from the equations (the Lorenz-63 vector field component by
component, the exponential growth of a small error), independently of
:mod:`pedagogy_lib.assimilation`.
"""
from __future__ import annotations

import numpy as np

from .checker import as_numeric, compare_function, compare_scalar, result

__all__ = ["EX_STATES", "GROWTH", "lorenz63_field", "predictability_time", "lyapunov_exponent"]

#: Exercise 1: states at which the vector field is tested (rows).
EX_STATES = np.array([[1.0, 2.0, 3.0], [-5.5, 0.3, 24.0], [8.0, 8.0, 27.0], [0.0, 0.0, 0.0]])

#: Exercise 2: leading Lyapunov exponent, initial error and tolerance for the predictability time.
GROWTH = {"lam": 0.9, "delta0": 1e-6, "delta_max": 1.0}


def _field(x):
    s, r, b = 10.0, 28.0, 8.0 / 3.0
    return np.array([s * (x[1] - x[0]), x[0] * (r - x[2]) - x[1], x[0] * x[1] - b * x[2]])


def lorenz63_field(fn) -> "result":
    r"""Exercise 1: ``fn(x)`` returns the Lorenz-63 vector field at a state ``x`` of shape (3,)."""
    cases = [((x.copy(),), _field(x)) for x in EX_STATES]
    return result("the Lorenz-63 vector field", compare_function(
        fn, cases, "your f", rtol=1e-10, atol=1e-10, describe=lambda a: f"x = {np.round(a[0], 2).tolist()}"))


def predictability_time(answer) -> "result":
    r"""Exercise 2: the time for an error of size ``delta0`` growing as ``exp(lam t)`` to reach ``delta_max``."""
    g = GROWTH
    expected = np.log(g["delta_max"] / g["delta0"]) / g["lam"]
    hints = {"you took a base-10 logarithm; exponential growth needs the natural logarithm":
             np.log10(g["delta_max"] / g["delta0"]) / g["lam"],
             "you multiplied by the exponent instead of dividing by it": np.log(g["delta_max"] / g["delta0"]) * g["lam"],
             "you left out the exponent": np.log(g["delta_max"] / g["delta0"])}
    return result("predictability time", compare_scalar(answer, expected, "your time", rtol=1e-3, hints=hints))


def lyapunov_exponent(answer) -> "result":
    r"""Exercise 3: an estimate of Lorenz-63's leading Lyapunov exponent (accepted between 0.85 and 0.95)."""
    arr, problems = as_numeric(answer, "your exponent")
    if problems:
        return result("leading Lyapunov exponent", problems)
    if arr.size != 1:
        return result("leading Lyapunov exponent", [f"your exponent should be one number; got shape {arr.shape}."])
    lam = float(arr.ravel()[0])
    if 0.85 <= lam <= 0.95:
        return result("leading Lyapunov exponent", [])
    if 0.85 <= lam / 0.01 <= 0.95 or 0.85 <= lam / 0.05 <= 0.95:
        why = "it looks like a rate per step, not per unit time: divide by the time step"
    elif lam < 0:
        why = "it is negative, so nearby trajectories would converge: check the sign of the log"
    elif 0.85 <= lam * np.log(10) <= 0.95:
        why = "it looks like a base-10 logarithm was used"
    elif lam > 0.95:
        why = "it is too large: average the log growth over a long run, renormalizing the perturbation"
    else:
        why = "it is too small: is the run long enough, and did you start on the attractor?"
    return result("leading Lyapunov exponent", [f"your exponent is not accepted: {why}."])
