"""Tests for the Section 10.1.1 exercise checkers (pedagogy_lib.exercises.ch10_nce): the normalizer by quadrature,
Bayes' rule, the derivative by finite differences."""
import numpy as np
from scipy import integrate

from pedagogy_lib.exercises import ch10_nce


def test_log_normalizer():
    a, m = ch10_nce.EX_A, ch10_nce.EX_M
    Z = integrate.quad(lambda y: np.exp(-(0.5 * a * y * y - m * y)), -30, 30)[0]
    assert ch10_nce.log_normalizer(np.log(Z))
    r = ch10_nce.log_normalizer(0.5 * np.log(2 * np.pi / a))
    assert not r
    assert "completing the square" in str(r)
    assert not ch10_nce.log_normalizer(Z)


def test_posterior():
    pE, pEn = np.exp(-ch10_nce.EX_E), np.exp(-ch10_nce.EX_EN)
    assert ch10_nce.posterior(pE / (pE + pEn))                 # Bayes' rule with prior 1/2
    r = ch10_nce.posterior(pEn / (pE + pEn))
    assert not r
    assert "E - E_n" in str(r)


def test_offset_gradient():
    h_pos, h_neg = ch10_nce.EX_SAMPLES
    loss = lambda dc: 0.5 * np.mean(np.logaddexp(0, -(h_pos - dc))) + 0.5 * np.mean(np.logaddexp(0, h_neg - dc))
    eps = 1e-6
    fd = (loss(eps) - loss(-eps)) / (2 * eps)                  # raising c by dc lowers h by dc
    assert ch10_nce.offset_gradient(fd)
    r = ch10_nce.offset_gradient(-fd)
    assert not r
    assert "sign" in str(r)
