"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch09_ica`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

from scipy import special


def logit_beta_kurtosis(a):
    """Excess kurtosis of p_a, x being the logit of a Beta(a, a) variable."""
    return float(special.polygamma(3, a) / (2.0 * special.polygamma(1, a) ** 2))
