"""The sign of the contrastive divergence of Eq. 10.21: non-negative, and zero, not positive, when the
data distribution is the model's own visible marginal (Section 10.2.2 says "it is positive")."""
from __future__ import annotations

import numpy as np

from pedagogy_lib.harmonium import (EFHParams, chain_distributions, empirical_distribution, kl_divergence,
                                    visible_log_probs)


def _cd(p, p0, n):
    """CD_n = KL(p^0 || p^inf) - KL(p^n || p^inf), every distribution exact (Eq. 10.21)."""
    p_inf = np.exp(visible_log_probs(p))
    chain = chain_distributions(p, p0, n)
    return kl_divergence(chain[0], p_inf) - kl_divergence(chain[n], p_inf)


def test_contrastive_divergence_is_zero_when_the_data_are_the_model():
    rng = np.random.default_rng(1022)
    p = EFHParams(2.0 * rng.standard_normal((3, 5)), rng.standard_normal(3), rng.standard_normal(5))
    p_inf = np.exp(visible_log_probs(p))
    for n in (1, 3, 10):
        assert abs(_cd(p, p_inf, n)) < 1e-12          # zero at p^0 = p^inf: not "positive"
    data = (rng.random((40, 5)) < 0.5).astype(float)
    p0 = empirical_distribution(data)
    assert all(_cd(p, p0, n) > 0 for n in (1, 3, 10))  # positive away from it
