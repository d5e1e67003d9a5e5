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


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def entropy_slips(y, q, base) -> list[dict]:
    """Per quantity (H_p, H_pq, D_pq), what named wrong versions give (only the finite ones)."""
    K, N = len(q), len(y)
    counts = np.bincount(y, minlength=K).astype(float)
    p = counts / N
    seen = p > 0
    ref = entropy_reference(y, q, base)
    lb = np.log(base)
    with np.errstate(all="ignore"):
        swapped = [float(-np.sum(q[q > 0] * np.log(p[q > 0])) / lb),
                   float(np.sum(q[q > 0] * np.log(q[q > 0] / p[q > 0])) / lb)]
        over_k = float(-np.mean(np.log(q)) / lb)
    on_counts = [float(-np.sum(counts[seen] * np.log(counts[seen])) / lb), N * ref[1], N * ref[2]]
    hints = [{}, {}, {}]
    for i in range(3):
        if not np.isclose(base, np.e):
            hints[i]["you gave it in nats (natural logarithm); divide by log(base) for the base asked"] = ref[i] * lb
            if not np.isclose(base, 10.0):
                hints[i]["you took base-10 logarithms; the base is the function's argument"] = ref[i] * lb / np.log(10)
        hints[i]["you used the counts of the categories, not their relative frequencies"] = on_counts[i]
    for i, value in ((1, swapped[0]), (2, swapped[1])):
        if np.isfinite(value):
            hints[i]["you swapped p and q: the weights are the data's frequencies p, the logarithm is of the model "
                     "q"] = value
    if np.isfinite(over_k):
        hints[1]["you averaged -log q over the K categories; Eq. 4.6 averages over the observations"] = over_k
    return hints
