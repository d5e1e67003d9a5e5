"""Eq. 10.22 term by term: the gradient of the contrastive divergence CD_n (Eq. 10.21) is the expected CD-n update
of Eq. 10.20 minus the term CD drops, (d KL(p^n || p^inf) / d p^n)(d p^n / d theta) with p^inf held fixed. Every
distribution is exact on a model small enough to enumerate; the gradients are central differences."""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.harmonium import (EFHParams, chain_distributions, empirical_distribution, expected_cd_gradient,
                                    exact_gradient, kl_divergence, visible_log_probs)


def _flat(g):
    return np.concatenate([np.ravel(g.W), g.b_x, g.b_y])


def _unflat(v, K, M):
    return EFHParams(v[:K * M].reshape(K, M), v[K * M:K * M + K], v[K * M + K:])


def _central(fun, p, h=1e-5):
    K, M = p.W.shape
    v = _flat(p)
    cols = []
    for i in range(v.size):
        e = np.zeros_like(v)
        e[i] = h
        cols.append((np.asarray(fun(_unflat(v + e, K, M))) - np.asarray(fun(_unflat(v - e, K, M)))) / (2 * h))
    return np.array(cols)


def _cd(p, p0, n):
    p_inf = np.exp(visible_log_probs(p))
    return kl_divergence(p0, p_inf) - kl_divergence(chain_distributions(p, p0, n)[n], p_inf)


@pytest.mark.parametrize("n", [1, 2])
def test_cd_gradient_is_the_cd_update_minus_the_dropped_term(n):
    rng = np.random.default_rng(1022 + n)
    p = EFHParams(2.0 * rng.standard_normal((3, 4)), rng.standard_normal(3), rng.standard_normal(4))
    data = (rng.random((25, 4)) < rng.uniform(0.2, 0.8, 4)).astype(float)
    p0 = empirical_distribution(data)
    grad = _central(lambda q: _cd(q, p0, n), p)
    p_n = chain_distributions(p, p0, n)[n]
    log_ratio = np.log(p_n / np.exp(visible_log_probs(p)))
    dropped = _central(lambda q: chain_distributions(q, p0, n)[n], p) @ log_ratio
    update = _flat(expected_cd_gradient(p, p0, n))
    scale = np.abs(grad).max()
    np.testing.assert_allclose(grad, update - dropped, rtol=0, atol=1e-7 * scale)
    # the dropped term is not negligible here, so the identity is not met by accident
    assert np.linalg.norm(dropped) > 1e-3 * np.linalg.norm(update)
    # and it is not the gap between the CD update and the MRE gradient (Eq. 10.19): that gap is the
    # fourth term of Eq. 10.22's second line, which cancels inside the gradient of CD_n
    gap = _flat(exact_gradient(p, data)) - update
    assert min(np.linalg.norm(gap + dropped), np.linalg.norm(gap - dropped)) > 1e-3 * np.linalg.norm(dropped)
