"""Tests for the Section 10.1.2 exercise checkers (pedagogy_lib.exercises.ch10_infonce): the mutual information from
Gaussian entropies, the predictor weights from the library's Kalman filter on a long window, the InfoNCE estimate
from scipy's log-sum-exp and the library's loss."""
import numpy as np
import pytest

from pedagogy_lib.contrastive import cpc
from pedagogy_lib.exercises import ch10_infonce


def test_gaussian_mi():
    rho = ch10_infonce.EX_RHO
    cov = np.array([[1, rho], [rho, 1]])
    I = 0.5 * np.log(1 * 1 / np.linalg.det(cov))                # H(Y) + H(Z) - H(Y, Z)
    assert ch10_infonce.gaussian_mi(I)
    r = ch10_infonce.gaussian_mi(2 * I)
    assert not r
    assert "1/2" in str(r)


def test_bound_ceiling():
    assert ch10_infonce.bound_ceiling(np.log(ch10_infonce.EX_K))
    r = ch10_infonce.bound_ceiling(np.log(ch10_infonce.EX_K - 1))
    assert not r
    assert "K - 1" in str(r)


def test_predictor_weights():
    a, q, r_ = ch10_infonce.EX_LGSSM
    p = cpc.stationary_params([[a]], [[q]], [[1.0]], [[r_]])
    beta = cpc.kalman_window_predictor(p, 60, 1).beta[0]          # a long window: steady state
    L = ch10_infonce.EX_L
    assert ch10_infonce.predictor_weights(beta[:L])
    r = ch10_infonce.predictor_weights(beta[:L] / a)
    assert not r
    assert "filter" in str(r)


# ---------------------------------------------------------------- exercise (d): the estimate from scores
def _bound_by_scipy(F):
    """The answer with scipy's log-sum-exp (independent of the checker's own)."""
    from scipy.special import logsumexp

    return np.log(F.shape[1]) - np.mean(logsumexp(F, axis=2) - np.diagonal(F, axis1=1, axis2=2))


def _bound_by_library(F):
    from pedagogy_lib.contrastive import infonce

    return infonce.infonce_loss(F).bound


def _bound_naive(F):
    P = np.exp(F) / np.exp(F).sum(axis=2, keepdims=True)
    return np.log(F.shape[1]) + np.mean(np.log(np.diagonal(P, axis1=1, axis2=2)))


@pytest.mark.parametrize("right", [_bound_by_scipy, _bound_by_library])
def test_infonce_bound_reference_passes(right):
    assert ch10_infonce.infonce_bound(right)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("wrong, fragment", [
    (lambda F: _bound_by_scipy(np.swapaxes(F, 1, 2)), "over the anchors"),
    (lambda F: np.log(F.shape[1]) - _bound_by_scipy(F), "returned the loss L"),
    (lambda F: _bound_by_scipy(F) - np.log(F.shape[1]) + np.log(F.shape[1] - 1), "log(K - 1)"),
    (_bound_naive, "test problem 3 (3 batches of K = 16 pairs, large scores) is not finite"),
    (lambda F: _bound_by_scipy(F) + 0.01, "not within tolerance"),
    (lambda F: None, "forget to return"),
    (lambda F: {}["x"], "KeyError"),
])
def test_infonce_bound_slips_are_named(wrong, fragment):
    r = ch10_infonce.infonce_bound(wrong)
    assert not r and fragment in str(r), str(r)


def test_infonce_bound_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(ch10_infonce.infonce_bound(0.5))
    msg = str(ch10_infonce.infonce_bound(lambda F: _bound_by_scipy(F) + 0.3))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg.replace("Eqs. 10.6-10.7", "")), msg


@pytest.mark.parametrize("label, name", [
    ("ex-10-1-2-gaussian-mi", "pedagogy_lib.contrastive.infonce.gaussian_mutual_information"),
    ("ex-10-1-2-kalman-weights", "pedagogy_lib.contrastive.cpc.kalman_window_predictor"),
])
def test_the_page_functions_that_answer_in_one_call_are_forbidden(label, name):
    from pedagogy_lib.exercises import ch10_infonce

    assert name in ch10_infonce.SUMMATIVE[label]["forbidden"]


def test_the_ceiling_statement_asks_only_what_the_checker_grades():
    from courseware import editions as E

    ex = next(e for e in E.all_exercises() if e.label == "ex-10-1-2-ceiling")
    assert "10 nats" not in ex.statement
