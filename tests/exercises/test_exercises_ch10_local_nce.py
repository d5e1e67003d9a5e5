"""Tests for the Section 10.1.3 exercise checkers (pedagogy_lib.exercises.ch10_local_nce): the one-positive mass by
enumerating the independent coins, the minimizer by a grid search, the gradient-and-Hessian function's reference by
central differences of -log of Eq. 10.12 at the positive."""
import re

import numpy as np
import pytest

from pedagogy_lib.exercises import ch10_local_nce
from pedagogy_lib.exercises.references import ch10_local_nce as refs


def _offset_by_minimizing(K, P):
    """Independently of the checker: minimize the expected loss at one point numerically (with p = p_n, so
    that h* is minus the offset)."""
    from scipy.optimize import minimize_scalar

    loss = lambda h: P * np.logaddexp(0, -h) + (K - P) * np.logaddexp(0, h)
    return -minimize_scalar(loss, bounds=(-20, 20), method="bounded", options={"xatol": 1e-12}).x


def test_offset_asks_for_several_positives_per_trial_not_the_pages_one():
    K, P = ch10_local_nce.EX_K, ch10_local_nce.EX_POSITIVES
    assert P >= 2
    value = _offset_by_minimizing(K, P)
    assert abs(value - np.log((K - P) / P)) < 1e-6
    assert ch10_local_nce.offset(np.log((K - P) / P))
    for wrong, fragment in [(np.log(K - 1), "page's answer"), (np.log(K - P), "does not depend on the number"),
                            (np.log(P / (K - P)), "wrong sign"), (np.log(K / P), "includes the positives"),
                            (0.0, "binary NCE")]:
        r = ch10_local_nce.offset(wrong)
        assert not r and fragment in str(r), str(r)
        assert "ratio" not in str(r) and "weighed against" not in str(r) and "divide" not in str(r)   # no form


def test_offset_variant_keeps_more_negatives_than_positives():
    rng = np.random.default_rng(0)
    draw = ch10_local_nce._draw_k
    for _ in range(200):
        K, P = draw(rng)
        assert 2 <= P < K - P


def test_one_positive_mass():
    s = 1 / (1 + np.exp(-ch10_local_nce.EX_H))
    assert len(s) == 40                     # 2^40 configurations: the page's enumeration is out of reach
    counts = np.array([1.0])                # the number of positives among independent coins, by convolution
    for si in s:
        counts = np.convolve(counts, [1 - si, si])
    assert abs(counts.sum() - 1) < 1e-12
    assert ch10_local_nce.one_positive_mass(counts[1])
    r = ch10_local_nce.one_positive_mass(1.0)
    assert not r
    assert "softmax" in str(r)


def _minimizer_by_search(p, pn, K, pi):
    """Independently of the checker: the model's probability that an example is data, pi e^-E / (pi e^-E +
    (1 - pi) e^-E_n) with h = E_n - E, put into the expected loss at one point, minimized numerically."""
    from scipy.optimize import minimize_scalar

    def risk(h):
        data = pi * np.exp(h) / (pi * np.exp(h) + 1 - pi)
        return -p * np.log(data) - (K - 1) * pn * np.log(1 - data)

    return minimize_scalar(risk, bounds=(-15, 15), method="bounded", options={"xatol": 1e-12}).x


def test_pointwise_minimizer_with_biased_coins():
    p, pn, K, pi = ch10_local_nce.EX_P
    assert pi != 0.5
    best = _minimizer_by_search(p, pn, K, pi)
    assert ch10_local_nce.pointwise_minimizer(best)
    assert not ch10_local_nce.pointwise_minimizer(best + 1e-3)


@pytest.mark.parametrize("slip,fragment", [
    (lambda p, pn, K, pi: np.log(p / pn) - np.log(K - 1), "fair coins"),
    (lambda p, pn, K, pi: np.log(p / pn) - np.log(K - 1) + np.log(pi / (1 - pi)), "wrong sign"),
    (lambda p, pn, K, pi: np.log(p / pn) - np.log(K - 1) - np.log(pi), "log pi alone"),
    (lambda p, pn, K, pi: np.log(p / pn) - np.log(pi / (1 - pi)), "K - 1 negatives"),
    (lambda p, pn, K, pi: np.log(p / pn), "binary NCE"),
    (lambda p, pn, K, pi: p * (1 - pi) / (pn * (K - 1) * pi), "ratio, not its logarithm"),
])
def test_pointwise_minimizer_names_the_slips(slip, fragment):
    r = ch10_local_nce.pointwise_minimizer(slip(*ch10_local_nce.EX_P))
    assert not r and fragment in str(r), str(r)


def test_minimizer_draws_keep_the_prior_away_from_one_in_k():
    rng = np.random.default_rng(0)
    draw = ch10_local_nce._draw_p
    for _ in range(200):
        p, pn, K, pi = draw(rng)
        assert 0.05 <= pi <= 0.45 and abs(pi - 1 / K) > 0.02
        assert abs(_minimizer_by_search(p, pn, K, pi) - np.log(p / pn)) > 1e-2


def _local_nce_numpy(theta, T_pos, T_neg, En_pos, En_neg):
    """The notebook's solution: both terms of Eq. 10.13 differentiated twice through h = E_n - T theta."""
    h_pos = En_pos - T_pos @ theta
    h_neg = En_neg - T_neg @ theta
    s_pos = 1 / (1 + np.exp(h_pos))
    s_neg = 1 / (1 + np.exp(-h_neg))
    grad = (s_pos @ T_pos - np.einsum("nk,nkp->p", s_neg, T_neg)) / len(h_pos)
    hess = ((T_pos.T * (s_pos * (1 - s_pos))) @ T_pos
            + np.einsum("nk,nkp,nkq->pq", s_neg * (1 - s_neg), T_neg, T_neg)) / len(h_pos)
    return grad, hess


def _local_nce_library(*args):
    from pedagogy_lib.contrastive import local_nce
    return local_nce.local_nce_grad(*args), local_nce.local_nce_hessian(*args)


def _eq_10_12_loss(T_pos, T_neg, En_pos, En_neg):
    """The loss taken literally: -log of Eq. 10.12 at the positive, averaged over the trials."""
    from pedagogy_lib.contrastive.local_nce import local_nce_posterior

    def loss(t):
        h = np.concatenate([(En_pos - T_pos @ t)[:, None], En_neg - T_neg @ t], axis=1)
        return float(np.mean(-np.log(local_nce_posterior(h)[:, 0])))
    return loss


def _local_nce_by_trials(theta, T_pos, T_neg, En_pos, En_neg):
    """Independently of the closed form: central first and second differences of the loss of Eq. 10.12
    (the loss is smooth, so they agree with the derivatives to about 1e-9 and 1e-6 relative)."""
    loss = _eq_10_12_loss(T_pos, T_neg, En_pos, En_neg)
    E = np.eye(theta.size)
    eps = 1e-5
    grad = np.array([(loss(theta + eps * e) - loss(theta - eps * e)) / (2 * eps) for e in E])
    d = 1e-4
    hess = np.array([[(loss(theta + d * (ei + ej)) - loss(theta + d * (ei - ej)) - loss(theta - d * (ei - ej))
                       + loss(theta - d * (ei + ej))) / (4 * d * d) for ej in E] for ei in E])
    return grad, hess


def _cases_and_reference():
    g = ch10_local_nce.gradient_hessian_function.__globals__
    return g["_local_cases"](), refs.local_variants


def test_gradient_hessian_function_accepts_the_solution_and_the_library():
    assert ch10_local_nce.gradient_hessian_function(_local_nce_numpy)
    assert ch10_local_nce.gradient_hessian_function(_local_nce_library)
    assert ch10_local_nce.gradient_hessian_function(lambda *a: list(_local_nce_numpy(*a)))   # a list of the two is fine


def test_the_reference_is_the_derivatives_of_minus_the_log_of_eq_10_12_at_the_positive():
    """The checker's closed forms agree with differences of Eq. 10.12 taken literally: this route passes at
    a looser tolerance than the checker's, so it is compared here case by case."""
    cases, reference = _cases_and_reference()
    for case in cases:
        grad, hess = _local_nce_by_trials(*case)
        ref_grad, ref_hess = reference(*case)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(hess, ref_hess, rtol=1e-5, atol=1e-5)
        assert np.all(np.linalg.eigvalsh(ref_hess) > -1e-12)                 # convex, as Step 2 says


def test_the_copied_step_2_route_fails():
    """Step 2's loss cell with the old pair (loss, grad) no longer answers: the exercise asks for the Hessian,
    which the page does not show."""
    def copied(theta, T_pos, T_neg, En_pos, En_neg):
        h_pos = En_pos - T_pos @ theta
        h_neg = En_neg - T_neg @ theta
        loss = np.mean(-np.log(1 / (1 + np.exp(-h_pos))) - np.log(1 / (1 + np.exp(h_neg))).sum(axis=1))
        return loss, _local_nce_numpy(theta, T_pos, T_neg, En_pos, En_neg)[0]
    assert not ch10_local_nce.gradient_hessian_function(copied)


def _local_slip(halves=False, mean_neg=False, summed=False, pos_flipped=False, h_flipped=False,
                hess_first=False, hess_neg_sub=False):
    def fn(theta, T_pos, T_neg, En_pos, En_neg):
        s = -1.0 if h_flipped else 1.0
        h_pos, h_neg = s * (En_pos - T_pos @ theta), s * (En_neg - T_neg @ theta)
        a = (1.0 if summed else 1.0 / len(h_pos)) * (0.5 if halves else 1.0)
        b = 1.0 / T_neg.shape[1] if mean_neg else 1.0
        w_pos = 1 / (1 + np.exp(-h_pos if pos_flipped else h_pos))
        w_neg = 1 / (1 + np.exp(-h_neg))
        grad = a * s * (w_pos @ T_pos - b * np.einsum("nk,nkp->p", w_neg, T_neg))
        q_pos = w_pos if hess_first else w_pos * (1 - w_pos)
        q_neg = w_neg if hess_first else w_neg * (1 - w_neg)
        hess = a * ((T_pos.T * q_pos) @ T_pos
                    + (-b if hess_neg_sub else b) * np.einsum("nk,nkp,nkq->pq", q_neg, T_neg, T_neg))
        return grad, hess
    return fn


def _infonce(theta, T_pos, T_neg, En_pos, En_neg):
    T = np.concatenate([T_pos[:, None], T_neg], axis=1)
    h = np.concatenate([En_pos[:, None], En_neg], axis=1) - T @ theta
    p = np.exp(h - h.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    m = np.einsum("nk,nkp->np", p, T)
    return np.mean(T_pos - m, axis=0), (np.einsum("nk,nkp,nkq->pq", p, T, T) - m.T @ m) / len(h)


def _right_gradient(hess_of):
    return lambda *a: (_local_nce_numpy(*a)[0], hess_of(*a))


@pytest.mark.parametrize("wrong,fragment", [
    (_local_slip(halves=True), "gradient on test problem 1 (50 trials of K = 6, P = 3 parameters) is what you "
                               "get if you kept the factors of one half"),
    (_local_slip(mean_neg=True), "averaged the terms of a trial's negatives"),
    (_local_slip(summed=True), "summed over the trials"),
    (_local_slip(pos_flipped=True), "is what you get if you differentiated the positive's term"),
    (_local_slip(h_flipped=True), "h = E - E_n"),
    (_infonce, "InfoNCE's softmax loss"),
    (lambda *a: (-_local_nce_numpy(*a)[0], _local_nce_numpy(*a)[1]), "wrong sign"),
    (_right_gradient(lambda *a: _local_slip(hess_first=True)(*a)[1]), "not by its derivative"),
    (_right_gradient(lambda *a: _local_slip(hess_neg_sub=True)(*a)[1]), "subtracted the negatives' terms"),
    (_right_gradient(lambda *a: _local_slip(mean_neg=True)(*a)[1]), "Hessian on test problem 1 (50 trials of "
                                                                    "K = 6, P = 3 parameters) is what you get if "
                                                                    "you averaged"),
    (_right_gradient(lambda *a: _local_slip(halves=True)(*a)[1]), "Hessian on test problem 1 (50 trials of "
                                                                  "K = 6, P = 3 parameters) is what you get if "
                                                                  "you kept the factors of one half"),
    (_right_gradient(lambda *a: -_local_nce_numpy(*a)[1]), "Hessian on test problem 1 (50 trials of K = 6, P = 3 "
                                                           "parameters) has the wrong sign"),
    (_right_gradient(lambda *a: _infonce(*a)[1]), "Hessian on test problem 1 (50 trials of K = 6, P = 3 "
                                                  "parameters) is what you get if you differentiated InfoNCE"),
    (lambda *a: None, "forget to return"),
    (lambda *a: 1 / 0, "raised ZeroDivisionError"),
    (lambda *a: _local_nce_numpy(*a)[1], "should return the pair (grad, hess)"),
])
def test_gradient_hessian_function_names_the_slips(wrong, fragment):
    res = ch10_local_nce.gradient_hessian_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_gradient_hessian_function_rejects_a_non_function_and_reveals_no_answer():
    assert "should be a function" in str(ch10_local_nce.gradient_hessian_function(np.zeros(3)))
    for wrong in [lambda *a: (_local_nce_numpy(*a)[0] + 1e-3, _local_nce_numpy(*a)[1]),
                  lambda *a: (_local_nce_numpy(*a)[0], _local_nce_numpy(*a)[1] + 1e-3)]:
        msg = str(ch10_local_nce.gradient_hessian_function(wrong))
        assert "test problem 1" in msg
        assert not re.search(r"[0-9]\.[0-9]", msg.replace("Eq. 10.13", "")), msg


def test_gradient_hessian_function_reaches_the_single_trial_and_k_2():
    """A function that is right except on one trial alone, or on trials of K = 2, is caught there."""
    def wrong_when(cond):
        def fn(theta, T_pos, T_neg, En_pos, En_neg):
            grad, hess = _local_nce_numpy(theta, T_pos, T_neg, En_pos, En_neg)
            return (grad, hess + np.eye(len(grad))) if cond(T_neg) else (grad, hess)
        return fn

    msg = str(ch10_local_nce.gradient_hessian_function(wrong_when(lambda T: T.shape[0] == 1)))
    assert "test problem 2 (1 trial of K = 5" in msg, msg
    msg = str(ch10_local_nce.gradient_hessian_function(wrong_when(lambda T: T.shape[1] == 1)))
    assert "test problem 3 (40 trials of K = 2" in msg, msg


def test_one_positive_uses_a_trial_the_page_does_not_print():
    import json
    from pathlib import Path

    assert len(ch10_local_nce.EX_H) != 4
    nb = json.loads((Path(__file__).resolve().parents[2] / "chapters" / "ch10_learning_energy_based_models"
                     / "10_1_3_local_nce.ipynb").read_text())
    page = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    h = ", ".join(str(v) for v in ch10_local_nce.EX_H)
    assert h not in page


def test_help_on_the_gradient_does_not_print_the_gradient_the_last_exercise_asks_for():
    """help(local_nce.local_nce_grad) printed the gradient of Eq. 10.13, one sigmoid-weighted feature term for the
    positive and one for each negative, which is half of what ex-10-1-3-loss-gradient asks the student to derive
    (the page does not print it before the exercise). The docstring now says what the function returns without
    the formula."""
    import pydoc

    from pedagogy_lib.contrastive import local_nce

    for fn in (local_nce.local_nce_grad, local_nce.local_nce_hessian):
        text = pydoc.render_doc(fn, renderer=pydoc.plaintext)
        assert "sigma" not in text and r"\mathbf T" not in text, text
