"""Tests for the Section 10.2.3 exercise checkers (pedagogy_lib.exercises.ch10_dbn).

References come from pedagogy_lib.harmonium.dbn (aggregated_posterior, jre_bound,
dbn_visible_log_probs), a different route from the checkers' explicit joint tables.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.exercises import ch10_dbn as check
from pedagogy_lib.harmonium import aggregated_posterior, dbn_visible_log_probs, invert, jre_bound, state_index


def test_aggregated():
    ref = aggregated_posterior(check.EX_RBM, check.EX_PY)
    assert check.aggregated(ref)
    r = check.aggregated(np.full(4, 0.25))
    assert not r
    assert not check.aggregated(None)


def _gap_by_the_bound(bottom, top, p_y):
    """Eq. 10.25's second line read backwards: the library's JRE minus the DBN's marginal relative entropy
    (from the library's DBN marginal), a route that never forms the DBN's posterior."""
    log_p = dbn_visible_log_probs([bottom, top])
    return jre_bound(bottom, top, p_y) - float(np.sum(p_y * (np.log(p_y) - log_p)))


def test_bound_gap():
    from pedagogy_lib.harmonium import mre, states

    ref = _gap_by_the_bound(check.EX_RBM, check.EX_TOP, check.EX_PY)
    assert ref > 1e-3
    assert abs(_gap_by_the_bound(check.EX_RBM, invert(check.EX_RBM), check.EX_PY)) < 1e-12   # the tight start
    assert check.bound_gap(ref)
    assert not check.bound_gap(None)
    mre_dbn = float(np.sum(check.EX_PY * (np.log(check.EX_PY) - dbn_visible_log_probs([check.EX_RBM, check.EX_TOP]))))
    for wrong, fragment in [(0.0, "tight start"), (jre_bound(check.EX_RBM, check.EX_TOP, check.EX_PY), "whole JRE"),
                            (mre_dbn, "DBN's marginal"), (mre(check.EX_RBM, states(4), check.EX_PY), "bottom harmonium")]:
        r = check.bound_gap(wrong)
        assert not r and fragment in str(r), str(r)


def test_bound_gap_names_the_reversed_unweighted_and_unnormalized_relative_entropies():
    """The slips, from Bernoulli products and the library's visible marginal of the top, rather than the
    checker's joint tables."""
    from pedagogy_lib.harmonium import states, visible_log_probs

    b, t, p_y = check.EX_RBM, check.EX_TOP, check.EX_PY
    Sx, Sy = states(2), states(4)
    q = np.array([[np.prod(np.where(x == 1, m, 1 - m)) for x in Sx]
                  for m in 1 / (1 + np.exp(-(Sy @ b.W.T + b.b_x)))])                        # [y, x]
    emit = np.array([[np.prod(np.where(y == 1, m, 1 - m)) for m in 1 / (1 + np.exp(-(Sx @ b.W + b.b_y)))]
                     for y in Sy])                                                          # [y, x]
    joint = emit * np.exp(visible_log_probs(t))[None, :]
    post = joint / joint.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.sum(p_y[:, None] * q * np.log(q / post)),
                               _gap_by_the_bound(b, t, p_y), rtol=1e-10)
    for wrong, fragment in [(np.sum(p_y[:, None] * post * np.log(post / q)), "other way round"),
                            (np.mean(np.sum(q * np.log(q / post), axis=1)), "equal weights"),
                            (np.sum(p_y[:, None] * q * np.log(q / joint)), "not normalized")]:
        r = check.bound_gap(float(wrong))
        assert not r and fragment in str(r), str(r)


def test_bound_gaps_drawn_for_students_pass_with_their_own_answer():
    from courseware import grading as G

    for salt in range(1, 4):
        fresh = G.own_copy(check, salt)
        ref = _gap_by_the_bound(fresh.EX_RBM, fresh.EX_TOP, fresh.EX_PY)
        assert ref > 1e-3 and fresh.bound_gap(ref) and not fresh.bound_gap(0.0)


def test_dbn_marginal():
    logp = dbn_visible_log_probs([check.EX_RBM, check.EX_TOP])
    ref = float(np.exp(logp[state_index(check.EX_Y0[None])[0]]))
    assert check.dbn_marginal(ref)
    assert not check.dbn_marginal(ref * 1.5)


def test_stacking_stalls_asks_for_the_second_layers_starting_loss_not_a_bool():
    from pedagogy_lib.harmonium import hidden_log_probs, kl_divergence, mre, states

    agg = aggregated_posterior(check.EX_RBM, check.EX_PY)
    prior = np.exp(hidden_log_probs(check.EX_RBM))
    loss = kl_divergence(agg, prior)
    assert loss > 1e-4
    assert check.stacking_stalls(loss)
    for guess in (True, False):                          # a bool no longer passes, whichever it is
        assert not check.stacking_stalls(guess)
    for wrong, fragment in [(0.0, "gave zero"), (kl_divergence(prior, agg), "wrong way round"),
                            (float(-agg @ np.log(prior)), "cross entropy"),
                            (mre(check.EX_RBM, states(4), check.EX_PY), "fit to the data")]:
        r = check.stacking_stalls(wrong)
        assert not r and fragment in str(r), str(r)


def _jre_solution(theta0, theta1, p_y):
    """The notebook's solution: recognition model and emission as Bernoulli products, theta1's visible
    marginal as the prior, the sum over the recognition joint."""
    from pedagogy_lib.harmonium import states, visible_log_probs

    X1, Y0 = states(theta0.K), states(theta0.M)
    eta = Y0 @ theta0.W.T + theta0.b_x
    log_q = -np.logaddexp(0, -eta) @ X1.T - np.logaddexp(0, eta) @ (1 - X1).T
    zeta = X1 @ theta0.W + theta0.b_y
    log_e = Y0 @ -np.logaddexp(0, -zeta).T + (1 - Y0) @ -np.logaddexp(0, zeta).T
    log_prior = visible_log_probs(theta1)
    keep = p_y > 0
    w = p_y[keep, None] * np.exp(log_q[keep])
    return float(np.sum(w * (np.log(p_y[keep])[:, None] + log_q[keep] - log_e[keep] - log_prior[None, :])))


def _jre_parts(theta0, theta1, p_y):
    """Library tables for the slips: (log q [y, x], log emission [y, x], log prior, p_y > 0)."""
    from pedagogy_lib.harmonium import directed_table, states, visible_log_probs

    Sx, Sy = states(theta0.K), states(theta0.M)
    q = 1 / (1 + np.exp(-(Sy @ theta0.W.T + theta0.b_x)))
    log_q = np.log(np.prod(np.where(Sx[None] == 1, q[:, None, :], 1 - q[:, None, :]), axis=2))
    return log_q, np.log(directed_table(theta0)), visible_log_probs(theta1), p_y > 0


def _jre_msg(fn):
    r = check.jre_function(fn)
    assert not r
    return str(r)


def test_jre_function_accepts_the_solution_and_the_library():
    assert check.jre_function(_jre_solution)
    assert check.jre_function(jre_bound)
    assert check.jre_function(lambda *a: np.array([_jre_solution(*a)]))


def test_jre_function_names_the_slips():
    from pedagogy_lib.harmonium import hidden_log_probs, log_partition, visible_log_probs

    def jre(prior=None, data=True, recog=True):
        def fn(t0, t1, p_y):
            log_q, log_e, log_prior, keep = _jre_parts(t0, t1, p_y)
            lp = log_prior if prior is None else prior(t0, t1)
            w = p_y[keep, None] * np.exp(log_q[keep])
            terms = (np.log(p_y[keep])[:, None] if data else 0.0) + (log_q[keep] if recog else 0.0) \
                - log_e[keep] - lp[None, :]
            return float(np.sum(w * terms))
        return fn

    assert "marginal relative entropy over y_0 alone" in _jre_msg(
        lambda t0, t1, p: float(np.sum(p[p > 0] * (np.log(p[p > 0]) - dbn_visible_log_probs([t0, t1])[p > 0]))))
    assert "bottom harmonium's own prior" in _jre_msg(jre(prior=lambda t0, t1: hidden_log_probs(t0)))
    assert "not normalized" in _jre_msg(
        jre(prior=lambda t0, t1: visible_log_probs(t1) + log_partition(t1)))
    assert "hidden-layer marginal" in _jre_msg(jre(prior=lambda t0, t1: visible_log_probs(invert(t1))))
    assert "log p(y_0)" in _jre_msg(jre(data=False))
    assert "log q(x_1 | y_0)" in _jre_msg(jre(recog=False))

    def only_last_line(t0, t1, p_y):
        agg = aggregated_posterior(t0, p_y)
        return float(np.sum(agg * (np.log(agg) - visible_log_probs(t1))))
    assert "only the divergence" in _jre_msg(only_last_line)
    assert "wrong sign" in _jre_msg(lambda *a: -_jre_solution(*a))


def test_jre_function_reports_errors_none_non_functions_and_zero_states():
    assert not check.jre_function(lambda *a: None)
    assert "forget to return" in _jre_msg(lambda *a: None)
    assert "raised ValueError" in _jre_msg(lambda *a: float("x"))
    assert "should be a function" in str(check.jre_function(check.EX_PY))

    def no_guard(t0, t1, p_y):                       # 0 * log 0 left in: nan where a data state never occurs
        log_q, log_e, log_prior, _ = _jre_parts(t0, t1, p_y)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = p_y[:, None] * np.exp(log_q)
            return float(np.sum(w * (np.log(p_y)[:, None] + log_q - log_e - log_prior[None, :])))
    msg = _jre_msg(no_guard)
    assert "test problem 5 (M = 4, K = 3, K2 = 2)" in msg and "probability zero" in msg, msg


def test_jre_function_reaches_the_inverted_top_and_reveals_no_answer():
    import re

    msg = _jre_msg(lambda *a: _jre_solution(*a) + 0.01)
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg.replace("Eq. 10.25", "")), msg
    inverted = lambda t0, t1: t1.W.shape == t0.W.T.shape and np.allclose(t1.W, t0.W.T)  # noqa: E731
    msg = _jre_msg(lambda t0, t1, p: _jre_solution(t0, t1, p) + (1.0 if inverted(t0, t1) else 0.0))
    assert "test problem 3 (M = 4, K = 2, K2 = 4)" in msg, msg
