"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch04_objectives`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np

from ...learning import objectives as ob


def kl_1d(mu_a, s2_a, mu_b, s2_b):
    """D_KL{N(mu_a, s2_a) || N(mu_b, s2_b)} in nats, in one dimension."""
    return 0.5 * (s2_a / s2_b + (mu_b - mu_a) ** 2 / s2_b - 1.0 + np.log(s2_b / s2_a))


def entropy_reference(y, q, base):
    """(H_p, H_pq, D_pq) of the sample's relative frequencies p against q, by the library (Eqs. 4.3-4.5)."""
    p = np.bincount(y, minlength=len(q)) / len(y)
    return np.array([ob.entropy(p, base=base), ob.cross_entropy(p, q, base=base),
                     ob.relative_entropy(p, q, base=base)])
