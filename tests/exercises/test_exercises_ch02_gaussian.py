"""Tests for the checkers of notebook 2.1.2 (pedagogy_lib.exercises.ch02_gaussian).

References here are hand-computed or written out with numpy, not taken from the checkers.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.exercises import ch02_gaussian as check

# ---------------------------------------------------------------- exercise 1: scalar posterior
# mu_x = -1, s2_x = 4, C = 2, c = 0.5, s2_yx = 2, y = 6.5: C^2 s2_x + s2_yx = 18,
# mean = (2 * (-1) + 2 * 4 * 6) / 18 = 46 / 18, variance = 4 * 2 / 18 = 8 / 18.
MEAN, VAR = 46 / 18, 8 / 18


def test_scalar_problem_data_as_documented():
    assert tuple(check.EX_SCALAR) == (-1.0, 4.0, 2.0, 0.5, 2.0, 6.5)


def test_scalar_correct_passes():
    res = check.scalar_posterior(MEAN, VAR)
    assert res and "correct" in str(res)
    # precision-weighted form gives the same numbers
    prec = 1 / 4 + 2**2 / 2
    assert check.scalar_posterior((-1 / 4 + 2 * 6 / 2) / prec, 1 / prec)


@pytest.mark.parametrize("mean,var,fragment", [
    ((-2 + 8 * 6.5) / 18, VAR, "forgot to subtract the offset c"),
    (3.0, VAR, "ignored the prior"),
    ((-1 / 4 + 3 / 2) / (1 / 4 + 1 / 2), VAR, "C^2 / sigma2_y_x"),
    (MEAN, 4 + 2 / 4, "added the variances"),
    (MEAN, 1 / (1 / 4 + 1 / 2), "left out the C^2"),
    (MEAN, 18 / 8, "posterior precision, not the variance"),
    (-MEAN, VAR, "wrong sign"),
    (MEAN + 0.1, VAR, "not within tolerance"),
])
def test_scalar_wrong_answers_fail_with_hint(mean, var, fragment):
    res = check.scalar_posterior(mean, var)
    assert not res
    assert fragment in str(res)


def test_scalar_none_fails_gracefully():
    res = check.scalar_posterior(None, None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 2: the gain
def _gain_parts():
    mu_x, Sigma_x, C, c, Sigma_y_x = check.EX_GAIN
    Sigma_y = C @ Sigma_x @ C.T + Sigma_y_x
    return Sigma_x, C, Sigma_y_x, Sigma_y


def test_gain_correct_both_equations_pass():
    Sigma_x, C, Sigma_y_x, Sigma_y = _gain_parts()
    K_225 = Sigma_x @ C.T @ np.linalg.inv(Sigma_y)                                  # Eq. 2.25
    post_cov = np.linalg.inv(C.T @ np.linalg.inv(Sigma_y_x) @ C + np.linalg.inv(Sigma_x))
    K_215 = post_cov @ C.T @ np.linalg.inv(Sigma_y_x)                               # Eq. 2.15
    assert check.kalman_gain(K_225)
    assert check.kalman_gain(K_215)


@pytest.mark.parametrize("make,fragment", [
    (lambda Sx, C, Syx, Sy: Sx @ C.T @ Sy, "Sigma_y itself where its inverse"),
    (lambda Sx, C, Syx, Sy: Sx @ C.T @ np.linalg.inv(Syx), "Sigma_y|x in place of"),
    (lambda Sx, C, Syx, Sy: C.T @ np.linalg.inv(Sy), "left out Sigma_x"),
    (lambda Sx, C, Syx, Sy: Sx @ C.T @ np.linalg.pinv(C @ Sx @ C.T), "noiseless limit"),
    (lambda Sx, C, Syx, Sy: np.linalg.pinv(C), "Moore-Penrose"),
    (lambda Sx, C, Syx, Sy: np.linalg.inv(Sy) @ C @ Sx, "transpose"),          # missing transpose
    (lambda Sx, C, Syx, Sy: -Sx @ C.T @ np.linalg.inv(Sy), "wrong sign"),
    (lambda Sx, C, Syx, Sy: np.zeros((3, 3)), "should have shape (2, 3)"),
])
def test_gain_wrong_answers_fail_with_hint(make, fragment):
    res = check.kalman_gain(make(*_gain_parts()))
    assert not res
    assert fragment in str(res)


def test_gain_none_fails_gracefully():
    res = check.kalman_gain(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 3: same marginal
def test_fa_pairs_truth_by_hand():
    # pair A: C' = C R D with R a rotation and D = diag(1, -1): orthogonal, so C'C'^T = C C^T
    p, q = check.EX_FA_PAIRS["A"]
    np.testing.assert_allclose(q.C @ q.C.T, p.C @ p.C.T, atol=1e-12)
    # pair B: a shear changes C C^T
    p, q = check.EX_FA_PAIRS["B"]
    assert np.abs(q.C @ q.C.T - p.C @ p.C.T).max() > 0.1


def test_same_marginal_checker():
    assert check.same_marginal(True, False)
    res = check.same_marginal(False, False)
    assert not res and "not both answers are right" in str(res)
    assert str(res) == str(check.same_marginal(True, True)) == str(check.same_marginal(False, True))
    res = check.same_marginal(None, "yes")
    assert not res and "True or False" in str(res)
    assert check.same_marginal(np.bool_(True), np.bool_(False))


# ---------------------------------------------------------------- exercise 4: cheaper form
def test_flop_count_answers_only_after_the_cheaper_form_is_accepted(monkeypatch):
    monkeypatch.setitem(check.flop_count.__globals__, "_CHEAPER_FORM_ACCEPTED", [])
    with pytest.raises(RuntimeError, match="once check.cheaper_form has accepted"):
        check.flop_count(3, 1000, "information", True)
    assert not check.cheaper_form(["covariance", "covariance", "covariance"])
    with pytest.raises(RuntimeError):
        check.flop_count(3, 1000, "information", True)
    assert check.cheaper_form(["information", "covariance", "information"])
    assert check.flop_count(3, 1000, "information", True) == pytest.approx(9009)


def test_flop_count_by_hand(monkeypatch):
    monkeypatch.setitem(check.flop_count.__globals__, "_CHEAPER_FORM_ACCEPTED", [True])
    # K=3, L=1000, diagonal: information 1000*9 + 9 = 9009; covariance 9000 + 6e6 + 1e9/3
    assert check.flop_count(3, 1000, "information", True) == pytest.approx(9009)
    assert check.flop_count(3, 1000, "covariance", True) == pytest.approx(9000 + 6e6 + 1e9 / 3)
    # K=400, L=20, diagonal: information 20*160000 + 64e6/3; covariance 3.2e6 + 2*400*400 + 8000/3
    assert check.flop_count(400, 20, "information", True) == pytest.approx(3.2e6 + 64e6 / 3)
    assert check.flop_count(400, 20, "covariance", True) == pytest.approx(3.2e6 + 320000 + 8000 / 3)
    with pytest.raises(ValueError, match="form must be one of"):
        check.flop_count(1, 1, "woodbury", True)


def test_cheaper_form_checker():
    good = ["information", "covariance", "information"]
    assert check.cheaper_form(good)
    res = check.cheaper_form(["information", "covariance", "covariance"])
    assert not res and "not all three answers are right" in str(res) and "problem 3" not in str(res)
    messages = {str(check.cheaper_form(a)) for a in (["covariance", "covariance", "information"],
                                                     ["information", "information", "information"],
                                                     ["covariance", "information", "covariance"])}
    assert messages == {str(res)}
    res = check.cheaper_form(["information", "Woodbury", "covariance"])
    assert not res and "'information' or 'covariance'" in str(res)
    assert not check.cheaper_form(["information"])
    assert "list" in str(check.cheaper_form("information"))
    res = check.cheaper_form(None)
    assert not res and "None" in str(res)


def test_scalar_by_hand_accepts_three_significant_figures_and_any_number_type():
    mean, var = MEAN, VAR
    assert check.scalar_posterior(float(f"{mean:.3g}"), float(f"{var:.3g}"))
    assert check.scalar_posterior(str(mean), np.float32(var))
    assert not check.scalar_posterior(mean * 1.02, var)


def test_cheaper_form_ignores_case_and_spaces():
    costs = [{f: check.flop_count.__globals__["_flop_count"](p.K, p.L, f, p.diagonal) for f in check.FORMS} for p in check.EX_SIZES]
    best = [min(c, key=c.get) for c in costs]
    assert check.cheaper_form([" " + b.upper() + " " for b in best])


def test_the_library_routes_that_answer_in_one_call_are_forbidden_when_graded():
    """Each of these library functions answers its exercise (or does its work) in one call, so the
    graded version refuses it; the statement names it (tests/project/test_grading.py checks that)."""
    routes = {
        "ex-2-1-2-scalar-posterior": [
            "pedagogy_lib.lgssm.kalman.kalman_filter",
            "pedagogy_lib.lgssm.kalman.kalman_smoother",
            "pedagogy_lib.factor.model.fa_posterior",
        ],
        "ex-2-1-2-gain": [
            "pedagogy_lib.lgssm.kalman.kalman_filter",
            "pedagogy_lib.lgssm.kalman.kalman_smoother",
            "pedagogy_lib.factor.model.fa_posterior",
        ],
        "ex-2-1-2-same-marginal": [
            "pedagogy_lib.factor.model.fa_marginal",
            "pedagogy_lib.factor.model.fa_log_likelihood",
        ],
    }
    for label, names in routes.items():
        missing = set(names) - set(check.SUMMATIVE[label]["forbidden"])
        assert not missing, (label, missing)


def test_cheaper_form_has_a_problem_the_rule_of_thumb_gets_wrong():
    """The page's rule "more sources than emissions? use the covariance form" would answer every
    problem; one problem has K > L and a diagonal Sigma_y|x, where the cost table says otherwise."""
    count = check.flop_count.__globals__["_flop_count"]
    odd = [p for p in check.EX_SIZES if p.K > p.L
           and count(p.K, p.L, "information", p.diagonal) < count(p.K, p.L, "covariance", p.diagonal)]
    assert len(odd) == 1
    p = odd[0]                                     # the page's own counts (7K^3/6, L^3/6) agree
    assert p.L * p.K**2 + 7 * p.K**3 / 6 < p.L * p.K**2 + 2 * p.L**2 * p.K + p.L**3 / 6
