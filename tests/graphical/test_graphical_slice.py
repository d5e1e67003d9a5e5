"""Section 3.5: the normalizer of an undirected model is a marginal of an augmented, normalized model
(the "slice" construction), checked by enumeration and by the junction tree.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib import graphical as g

SQUARE = [(1, 2), (1, 3), (2, 4), (3, 4)]          # psi_A, psi_B, psi_C, psi_D of Fig. 3.1A


def square_factors(rng):
    return [(pair, rng.gamma(2.0, size=(2, 2))) for pair in SQUARE]


def slice_model(factors):
    """psi_check_f(x_f, y) with psi_check_f(x_f, 1) = psi_f / s_f and a constant slice at y = 0.

    The rescaling s_f makes Z' = Z / prod(s_f) <= 1, which a normalized p_check(y = 1) = Z' needs;
    the constant y = 0 slice takes the remaining mass 1 - Z' (so building it needs Z: the construction
    shows that Z is a marginal, it does not compute it)."""
    n_vars = 4
    scaled = [(vs, t / (t.max() * 2.0)) for vs, t in factors]     # every product <= 2^-4 = 1/2^n_vars
    Zp = np.exp(g.log_partition_by_enumeration(scaled))
    c = ((1.0 - Zp) / 2**n_vars) ** (1.0 / len(factors))
    out = []
    for vs, t in scaled:
        T = np.empty(t.shape + (2,))
        T[..., 1] = t
        T[..., 0] = c
        out.append((vs + ("y",), T))
    return out, Zp, scaled


def test_the_slice_construction_section_3_5():
    rng = np.random.default_rng(35)
    factors = square_factors(rng)
    aug, Zp, scaled = slice_model(factors)
    J = g.joint(aug, order=[1, 2, 3, 4, "y"]).table
    assert J.sum() == pytest.approx(1.0, abs=1e-14)                   # p_check is normalized
    assert J[..., 1].sum() == pytest.approx(Zp, rel=1e-13)            # Z' = p_check(y = 1)
    P = g.joint(scaled, order=[1, 2, 3, 4]).table
    assert np.allclose(J[..., 1] / J[..., 1].sum(), P / P.sum(), atol=1e-15)   # p_check(x | y=1) = p_hat(x)
    # the junction tree of the augmented model gets the same marginal of y
    jt = g.junction_tree(aug)
    assert jt.marginals["y"][1] == pytest.approx(Zp, rel=1e-12)
    # Z of the original potentials is Z' times the rescaling
    scale = np.prod([t.max() * 2.0 for _, t in factors])
    assert np.log(Zp * scale) == pytest.approx(g.log_partition_by_enumeration(factors), rel=1e-13)


def _cond_indep_1_4_given_2_3(P):
    P = P / P.sum()
    cond = P / P.sum(axis=(0, 3), keepdims=True)
    return np.abs(cond - cond.sum(axis=3, keepdims=True) * cond.sum(axis=0, keepdims=True)).max()


def test_y_connects_x1_and_x4_until_it_is_observed():
    rng = np.random.default_rng(36)
    aug, _, _ = slice_model(square_factors(rng))
    J = g.joint(aug, order=[1, 2, 3, 4, "y"]).table
    assert _cond_indep_1_4_given_2_3(J.sum(axis=4)) > 1e-4          # y marginalized: dependent
    assert _cond_indep_1_4_given_2_3(J[..., 1]) < 1e-14               # y observed: Fig. 3.1A again
    assert _cond_indep_1_4_given_2_3(J[..., 0]) < 1e-14


def test_the_slice_needs_z_at_most_one():
    """With potentials whose Z exceeds one, no normalized p_check can have p_check(y = 1) = Z."""
    rng = np.random.default_rng(37)
    factors = [(pair, 1.0 + rng.random((2, 2))) for pair in SQUARE]
    Z = np.exp(g.log_partition_by_enumeration(factors))
    assert Z > 1.0                          # the unrescaled slice would hold more than all the mass
