"""What the scale sweep's cases share (tests/library/test_scales.py has the method and runs them).

``case`` registers a sweep in ``CASES``; ``close`` and ``quiet`` compare an answer with its reference and
turn a warning into a failure; the reasons are the one-line explanations a public function without a case
carries in ``NOT_SWEPT``. The cases live in test_scales.py and in the ``scale_cases_*`` modules beside it,
each of which also lists its families' functions without a case.
"""
from __future__ import annotations

import warnings

import numpy as np

#: Scales of potentials and variances (the issue's range).
POTENTIAL_EXPONENTS = (-150, -120, -100, -50, -20, -12, -6, -4, 0, 4, 6, 12, 20, 50, 100, 120, 150)
#: Scales of traces, errors and vectors (whose squares are formed): to the edge of float64.
LINEAR_EXPONENTS = (-300, -250, -200, -150, -100, -50, 0, 50, 100, 150, 200, 250, 300)
#: Extra scales and seeds per case, drawn by hypothesis (fixed seed: the same run on every machine).
DRAWN_EXAMPLES = 4

CASES: dict = {}


def case(*keys, exponents=POTENTIAL_EXPONENTS):
    """Register ``fn(s, rng)`` as the sweep of the public functions ``keys`` (``family.module.name``)."""
    def register(fn):
        CASES[fn.__name__.removeprefix("case_")] = (fn, keys, exponents)
        return fn
    return register


def close(actual, expected, rtol=1e-9, atol=0.0, what=""):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs {expected.shape}"
    assert np.all(np.isfinite(actual)), f"{what}: non-finite result {actual}"
    err = np.abs(actual - expected)
    tol = atol + rtol * np.abs(expected)
    assert np.all(err <= tol), (f"{what}: largest error {float(err.max()):.3g} (relative "
                                f"{float(np.max(err / np.maximum(np.abs(expected), 1e-300))):.3g}); got "
                                f"{actual.ravel()[:4]}, expected {expected.ravel()[:4]}")


def quiet(fn, *args, **kwargs):
    """Call ``fn``; a warning is a failure (the notebooks run under nbval, where stderr fails a cell)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)


#: Why a public function has no case (the reasons of ``NOT_SWEPT``).
NO_SCALED_INPUT = "takes no probability, potential, density, variance, precision or log-quantity"
VALIDATION = "validation only: returns its input checked, or raises naming it"
CONSTRUCTOR = "builds a model, network, schedule or container; no arithmetic on a scaled quantity"
WARMUP = "compiles its family's kernels on small inputs; returns nothing"
TRUSTED = "trusted helper of validated callers (core.linalg); swept through the public functions that call it"
FIT = ("an iterative fit or sampler: its answer is a draw or an optimizer's stopping point; the densities it "
       "evaluates are those of the functions swept here")
MONTE_CARLO = "a Monte Carlo estimate from caller-supplied draws; the exact quantity it estimates is swept"
DERIVATIVE = "a gradient or Hessian of an objective; held to finite differences of that objective by its family's tests"
DATA = "a data set, toy target or test signal of fixed scale"
NO_CASE_YET = "takes such a quantity and has no case yet: listed so the gap is visible"


def group(reason, family, names):
    return {f"{family}.{name}": reason for name in names.split()}
