"""Section 2.2.1 ("The alpha-gamma algorithm"): what normalizing the filter costs.

The draft says that renormalizing in the measurement update (Eq. 2.37) nearly doubles the
operations of the HMM's forward pass. Counted operation by operation, a normalized step costs
(K + 1) / K times an unnormalized alpha step (Eq. 2.41): twice for K = 1, at most 1.5 from K = 2
on. The counter below records every addition, multiplication and division that one step
performs; the normalized step is checked against the library's filter, so the count is of a
real filter and not of a stand-in.
"""
from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
from numpy.testing import assert_allclose

from oracle_hmm import random_hmm
from pedagogy_lib.hmm import inference as hmm


class _Counted:
    """A number that counts the arithmetic operations it takes part in (in ``tally[0]``)."""

    def __init__(self, value, tally):
        self.value, self.tally = float(value), tally

    def _op(self, other, f):
        self.tally[0] += 1
        return _Counted(f(self.value, other.value if isinstance(other, _Counted) else float(other)),
                        self.tally)

    def __add__(self, other):
        return self._op(other, lambda a, b: a + b)

    def __mul__(self, other):
        return self._op(other, lambda a, b: a * b)

    def __truediv__(self, other):
        return self._op(other, lambda a, b: a / b)

    def __rtruediv__(self, other):
        return self._op(other, lambda a, b: b / a)


def _alpha_step(A, prev, lik):
    """Eq. 2.41: the product with A (Eq. 2.36), then the weighting by the likelihoods."""
    K = len(prev)
    pred = [reduce(lambda s, j: s + prev[j] * A[i][j], range(1, K), prev[0] * A[i][0])
            for i in range(K)]
    return [pred[i] * lik[i] for i in range(K)]


def _normalized_step(A, prev, lik):
    """Eqs. 2.36-2.37: the alpha step, then one reciprocal of the sum and K multiplications."""
    joint = _alpha_step(A, prev, lik)
    inv = 1.0 / reduce(lambda s, x: s + x, joint[1:], joint[0])
    return [x * inv for x in joint]


def _count(step, A, prev, lik):
    tally = [0]
    out = step(A, [_Counted(p, tally) for p in prev], lik)
    return tally[0], np.array([x.value for x in out])


@pytest.mark.parametrize("K", [1, 2, 3, 5, 8, 16])
def test_normalizing_costs_a_factor_k_plus_one_over_k_not_two(K):
    rng = np.random.default_rng(100 + K)
    pi, A, log_lik = random_hmm(rng, K, 2)
    lik = np.exp(log_lik[1])
    f1 = hmm.hmm_filter(pi, A, log_lik[:1]).filtered[0]
    n_alpha, _ = _count(_alpha_step, A, f1, lik)
    n_norm, f2 = _count(_normalized_step, A, f1, lik)
    # the counted step is the filter's second step
    assert_allclose(f2, hmm.hmm_filter(pi, A, log_lik).filtered[1], rtol=1e-12)
    # K^2 multiplications and K(K - 1) additions for A f, K for the likelihoods: 2K^2 in all;
    # normalizing adds K - 1 additions, one division and K multiplications
    assert n_alpha == 2 * K**2 and n_norm == 2 * K**2 + 2 * K
    assert n_norm / n_alpha == pytest.approx((K + 1) / K, rel=1e-12)
    assert n_norm / n_alpha <= (2.0 if K == 1 else 1.5)
