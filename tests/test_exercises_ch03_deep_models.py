"""Tests for the Section 3.2, 3.3 and 3.4 exercise checkers (pedagogy_lib.exercises.ch03_deep_models).

References come from the library (invert, helmholtz_log_likelihood, recurrent_inputs), a different
route from the checkers' explicit loops.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.exercises import ch03_deep_models as check
from pedagogy_lib.harmonium import (dbn_visible_log_probs, directed_table, invert, log_marginal_table, states,
                                    visible_log_probs)
from pedagogy_lib.harmonium import helmholtz as hh
from pedagogy_lib.harmonium import recurrent as rec


def test_inverted():
    inv = invert(check.EX_RBM)
    assert check.inverted(inv)
    np.testing.assert_allclose(dbn_visible_log_probs([check.EX_RBM, inv]), visible_log_probs(check.EX_RBM), atol=1e-12)
    r = check.inverted(check.EX_RBM._replace(W=check.EX_RBM.W.T))
    assert not r and "swap" in str(r)
    assert not check.inverted(check.EX_RBM)
    assert not check.inverted(None)


def test_helmholtz_log_prob():
    ref = hh.helmholtz_log_likelihood(check.EX_HM, check.EX_Y[None, :])
    assert check.helmholtz_log_prob(ref)
    r = check.helmholtz_log_prob(np.exp(ref))
    assert not r and "logarithm" in str(r)


def test_recurrent_input():
    r = rec.recurrent_inputs(check.EX_REFH, check.EX_SEQ[None])[0]
    assert check.recurrent_input(r[2])
    res = check.recurrent_input(r[3])
    assert not res and "r_4" in str(res)


def test_dbn_posterior_factorial():
    assert check.dbn_posterior_factorial(False)
    assert not check.dbn_posterior_factorial(True)


def _index(rows, state):
    return int(np.flatnonzero(np.all(rows == state, axis=1))[0])


def test_emission_prob():
    # the library's directed table [y0, x1], indexed by state enumeration
    table = directed_table(check.EX_RBM)
    ref = table[_index(states(3), check.EX_Y), _index(states(2), check.EX_X1)]
    assert check.emission_prob(ref)
    r = check.emission_prob(np.log(ref))
    assert not r and "log-probability" in str(r)
    assert not check.emission_prob(ref * 1.3)


def test_recognition_prob():
    # brute force: normalize the recognition network's joint over all (x1, x2) via its own layers
    m = check.EX_HM_R
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    table = {}
    for x1 in states(2):
        for x2 in states(1):
            q1, q2 = sig(m.R[0] @ check.EX_Y + m.r[0]), sig(m.R[1] @ x1 + m.r[1])
            table[(tuple(x1), tuple(x2))] = np.prod(q1 ** x1 * (1 - q1) ** (1 - x1)) * \
                np.prod(q2 ** x2 * (1 - q2) ** (1 - x2))
    assert abs(sum(table.values()) - 1) < 1e-12
    ref = table[((1.0, 0.0), (1.0,))]
    assert check.recognition_prob(ref)
    r = check.recognition_prob(np.log(ref))
    assert not r and "log-probability" in str(r)
    r = check.recognition_prob(sum(v for k, v in table.items() if k[0] == (1.0, 0.0)))
    assert not r and "first layer" in str(r)


def test_sleep_descends_pre():
    assert check.sleep_descends_pre(False)
    assert not check.sleep_descends_pre(True)


def test_same_hidden_conditional():
    # both models: p(x_t = 1 | y_t, r_t) = sigma(b_x + W_y y_t + W_r r_t); the recurrent EFH's hidden
    # conditional for the visible layer [y_t, r_t] is the RTRBM's with hidden biases b_x + W_r r_t
    p = check.EX_REFH
    r_t = rec.recurrent_inputs(p, check.EX_SEQ[None])[0][2]
    refh = 1 / (1 + np.exp(-(p.b_x + p.W @ np.concatenate([check.EX_SEQ[2], r_t]))))
    rtrbm = 1 / (1 + np.exp(-((p.b_x + p.W[:, 3:] @ r_t) + p.W[:, :3] @ check.EX_SEQ[2])))
    np.testing.assert_allclose(refh, rtrbm, rtol=1e-12)
    assert check.same_hidden_conditional(True)
    assert not check.same_hidden_conditional(False)


def test_trbm_configurations():
    assert check.trbm_configurations(len(states(12)))
    r = check.trbm_configurations(8)
    assert not r and "one step" in str(r)
    assert not check.trbm_configurations(12)


def _dbn_solution(theta0, theta1):
    """The notebook's solution: the prior from the softplus form of Step 1, the emission as Bernoullis."""
    X1, Y0 = states(theta0.K), states(theta0.M)
    a = X1 @ theta1.b_y + np.logaddexp(0, X1 @ theta1.W.T + theta1.b_x).sum(1)
    log_prior = a - np.logaddexp.reduce(a)
    eta = X1 @ theta0.W + theta0.b_y
    log_emit = Y0 @ (-np.logaddexp(0, -eta)).T + (1 - Y0) @ (-np.logaddexp(0, eta)).T
    return np.logaddexp.reduce(log_emit + log_prior, axis=1)


def test_dbn_log_marginal_function_accepts_the_solution_and_the_library():
    assert check.dbn_log_marginal_function(_dbn_solution)
    assert check.dbn_log_marginal_function(lambda t0, t1: dbn_visible_log_probs([t0, t1]))


def test_dbn_log_marginal_function_names_the_slips():
    import itertools

    def slip(fn):
        r = check.dbn_log_marginal_function(fn)
        assert not r
        return str(r)

    assert "left the top harmonium out" in slip(lambda t0, t1: visible_log_probs(t0))
    assert "same prior probability" in slip(lambda t0, t1: np.log(directed_table(t0).mean(axis=1)))
    assert "did not normalize the prior" in slip(
        lambda t0, t1: np.log(directed_table(t0) @ np.exp(log_marginal_table(t1, "visible"))))
    assert "hidden-layer marginal" in slip(
        lambda t0, t1: np.log(directed_table(t0) @ np.exp(visible_log_probs(invert(t1)))))
    assert "another order" in slip(lambda t0, t1: dbn_visible_log_probs([t0, t1])[
        [int("".join(str(b) for b in s[::-1]), 2) for s in itertools.product((0, 1), repeat=t0.M)]])
    assert "exponential of the answer" in slip(lambda t0, t1: np.exp(dbn_visible_log_probs([t0, t1])))
    assert "forget to return" in slip(lambda t0, t1: None)
    assert "raised AttributeError" in slip(lambda t0, t1: t0.V)
    assert "should be a function" in str(check.dbn_log_marginal_function(check.EX_RBM))


def test_dbn_log_marginal_function_reaches_the_inverted_top_and_reveals_no_answer():
    import re

    msg = str(check.dbn_log_marginal_function(lambda t0, t1: _dbn_solution(t0, t1) + 0.01 * np.arange(2 ** t0.M)))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    # right except with the inverted bottom harmonium on top (problem 3), where the answer is theta0's own marginal
    inverted = lambda t0, t1: t1.W.shape == t0.W.T.shape and np.allclose(t1.W, t0.W.T)  # noqa: E731
    msg = str(check.dbn_log_marginal_function(lambda t0, t1: _dbn_solution(t0, t1) + (1.0 if inverted(t0, t1) else 0.0)))
    assert "test problem 3 (M = 4, K = 3, K2 = 4)" in msg, msg
    assert check.dbn_log_marginal_function(lambda t0, t1: visible_log_probs(t0) if inverted(t0, t1)
                                           else _dbn_solution(t0, t1))
