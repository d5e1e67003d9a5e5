"""Tests for the Section 10.1.1 exercise checkers (pedagogy_lib.exercises.ch10_nce): the normalizer by quadrature,
Bayes' rule, the derivative by finite differences, the Newton step from the library's gradient and Hessian."""
import numpy as np
import pytest
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


# ---------------------------------------------------------------- exercise (d): one Newton step
def _step_by_library(theta, T_pos, T_neg, En_pos, En_neg):
    """The answer from the library's gradient and Hessian (independent of the checker's sample-by-sample sums)."""
    from pedagogy_lib.contrastive import nce
    args = (T_pos, T_neg, En_pos, En_neg)
    return theta - np.linalg.solve(nce.nce_hessian(theta, *args), nce.nce_grad(theta, *args))


def test_newton_step_reference_passes():
    assert ch10_nce.newton_step(_step_by_library)


def _pooled(theta, T_pos, T_neg, En_pos, En_neg):
    T = np.vstack([T_pos, T_neg])
    x = np.r_[np.ones(len(T_pos)), np.zeros(len(T_neg))]
    h = np.r_[En_pos, En_neg] - T @ theta
    s = 1 / (1 + np.exp(-h))
    g = (x - s) @ T / len(T)
    H = (T.T * (s * (1 - s))) @ T / len(T)
    return theta - np.linalg.solve(H, g)


@pytest.mark.parametrize("wrong, fragment", [
    (_pooled, "one pooled sample"),
    (lambda th, Tp, Tn, Ep, En: _step_by_library(th, Tp, Tn, -Ep + 2 * Tp @ th, -En + 2 * Tn @ th), "h = E - E_n"),
    (lambda th, *a: 2 * th - _step_by_library(th, *a), "instead of subtracting"),
    (lambda th, *a: th, "not within tolerance"),
    (lambda th, *a: None, "forget to return"),
    (lambda th, *a: 1 / 0, "ZeroDivisionError"),
])
def test_newton_step_slips_are_named(wrong, fragment):
    r = ch10_nce.newton_step(wrong)
    assert not r and fragment in str(r), str(r)


def test_newton_step_pooling_passes_equal_halves_and_fails_where_they_differ():
    r = str(ch10_nce.newton_step(_pooled))
    assert "test problem 2 (40 data and 130 noise samples" in r, r


def test_newton_step_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(ch10_nce.newton_step(np.zeros(3)))
    msg = str(ch10_nce.newton_step(lambda th, *a: th + 1.0))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg.replace("Eq. 10.4", "")), msg


@pytest.mark.parametrize("label, names", [
    ("ex-10-1-1-log-normalizer", ["nce.gaussian_energy_params", "nce.quadratic_log_mass"]),
    ("ex-10-1-1-posterior", ["nce.nce_posterior"]),
    ("ex-10-1-1-offset-gradient", ["nce.nce_grad", "nce.nce_loss"]),
])
def test_the_page_functions_that_answer_in_one_call_are_forbidden(label, names):
    forbidden = ch10_nce.SUMMATIVE[label]["forbidden"]
    for name in names:
        assert "pedagogy_lib.contrastive." + name in forbidden, (label, name)


def test_the_page_does_not_print_the_offset_component_before_the_exercise():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parent.parent / "chapters" / "ch10_learning_energy_based_models"
                     / "10_1_1_nce.ipynb").read_text())
    before = ""
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if "ex-10-1-1-offset-gradient" in text:
            break
        before += text
    assert r"\tfrac12\langle\sigma\{-h^+\}\rangle - \tfrac12\langle\sigma\{h^-\}\rangle" not in before
