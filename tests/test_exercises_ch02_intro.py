"""Tests for the checkers in pedagogy_lib.exercises.ch02_intro.

Correct answers are computed here by hand from the problem constants (not with the library);
typical wrong answers must fail with the message that names the slip; None must fail gracefully.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.exercises import ch02_intro as check


def hand_posterior():
    pi, P, y = check.EX_TEST
    joint = [P[y, 0] * pi[0], P[y, 1] * pi[1]]
    ev = joint[0] + joint[1]
    return np.array(joint) / ev, ev


def test_ex_test_constants_by_hand():
    post, ev = hand_posterior()
    # 0.98 * 0.07 + 0.02 * 0.85 = 0.0686 + 0.017 = 0.0856
    assert abs(ev - 0.0856) < 1e-14
    assert abs(post[1] - 0.017 / 0.0856) < 1e-14


def test_posterior_and_evidence_correct_and_wrong():
    post, ev = hand_posterior()
    assert check.posterior_and_evidence(post, ev)
    assert check.posterior_and_evidence(list(post), float(ev))
    pi, P, y = check.EX_TEST
    r = check.posterior_and_evidence(P[y] / P[y].sum(), ev)
    assert not r and "without multiplying by the prior" in str(r)
    r = check.posterior_and_evidence(P[y] * pi, ev)
    assert not r and "did not divide by the evidence" in str(r)
    r = check.posterior_and_evidence(P[:, y] * pi / (P[:, y] * pi).sum(), ev)
    assert not r and "column P_y_x[:, y]" in str(r)
    r = check.posterior_and_evidence(post, P[y].sum())
    assert not r and "without weighting each term by pi" in str(r)
    r = check.posterior_and_evidence(post, 1 - ev)
    assert not r and "other test result" in str(r)
    r = check.posterior_and_evidence(post[::-1], ev)
    assert not r and "posterior" in str(r)
    r = check.posterior_and_evidence(post[:1], ev)
    assert not r and "shape" in str(r)
    r = check.posterior_and_evidence(None, None)
    assert not r and "None" in str(r)
    assert "0.0856" not in str(check.posterior_and_evidence(post, 0.5))   # never reveals the answer


def hand_alarm():
    p_a, p_c, P = check.EX_ALARM
    on = P[1]                                             # on[i, k] = p(alarm | a = i, c = k)
    alarm = sum(p_a[i] * p_c[k] * on[i, k] for i in (0, 1) for k in (0, 1))
    burg_alarm = sum(p_a[1] * p_c[k] * on[1, k] for k in (0, 1))
    given_quake = p_a[1] * on[1, 1] / (p_a[1] * on[1, 1] + p_a[0] * on[0, 1])
    return burg_alarm / alarm, given_quake


def test_explaining_away_correct_and_wrong():
    p1, p2 = hand_alarm()
    assert p2 < p1                                        # explaining away in these numbers
    assert check.explaining_away(p1, p2)
    r = check.explaining_away(p1, p1)
    assert not r and "learning of the earthquake should change it" in str(r)
    r = check.explaining_away(check.EX_ALARM.p_a[1], p2)
    assert not r and "prior p(burglary)" in str(r)
    p_a, p_c, P = check.EX_ALARM
    p_alarm_given_burglary = p_c[0] * P[1, 1, 0] + p_c[1] * P[1, 1, 1]
    r = check.explaining_away(p_alarm_given_burglary, p2)
    assert not r and "other direction of the arrow" in str(r)
    r = check.explaining_away(None, p2)
    assert not r and "None" in str(r)


CORRECT = {"chain": {"a_indep_c_given_d": False, "a_indep_c_given_b_and_d": True},
           "fork": {"a_indep_c_given_d": False, "a_indep_c_given_b_and_d": True},
           "collider": {"a_indep_c_given_d": False, "a_indep_c_given_b_and_d": False}}


def test_independences_correct_and_wrong():
    assert check.independences(CORRECT)
    assert check.independences({k: {s: np.bool_(v) for s, v in d.items()} for k, d in CORRECT.items()})
    swapped = {k: dict(v) for k, v in CORRECT.items()}
    swapped["collider"] = {"a_indep_c_given_d": True, "a_indep_c_given_b_and_d": True}   # the usual slip
    r = check.independences(swapped)
    assert not r and "not all six answers are right" in str(r)
    wrong_fork = {k: dict(v) for k, v in CORRECT.items()}
    wrong_fork["fork"]["a_indep_c_given_d"] = True
    r = check.independences(wrong_fork)
    assert not r and "not all six answers are right" in str(r)
    r = check.independences({"chain": CORRECT["chain"], "fork": CORRECT["fork"]})
    assert not r and "answer['collider'] should be a dict" in str(r)
    r = check.independences({**CORRECT, "chain": {"a_indep_c_given_d": False}})
    assert not r and "missing ['a_indep_c_given_b_and_d']" in str(r)
    r = check.independences({**CORRECT, "chain": {"a_indep_c_given_d": "perhaps", "a_indep_c_given_b_and_d": True}})
    assert not r and "should be True or False" in str(r)
    as_words = {k: {s: ("yes" if v else "no") for s, v in d.items()} for k, d in CORRECT.items()}
    assert check.independences(as_words)
    r = check.independences(None)
    assert not r and "None" in str(r)
    r = check.independences([1, 2])
    assert not r and "dict" in str(r)


def test_prior_shift_correct_and_wrong():
    pi_train, pi_new, P, y = check.EX_SHIFT
    # 0.2 * 0.85 / (0.2 * 0.85 + 0.8 * 0.07) = 0.17 / 0.226
    new = 0.17 / 0.226
    assert abs(new - pi_new[1] * P[y, 1] / (pi_new[1] * P[y, 1] + pi_new[0] * P[y, 0])) < 1e-14
    assert check.prior_shift(new, False)
    r = check.prior_shift(new, True)
    assert not r and "your claim about the discriminative table" in str(r)
    old = pi_train[1] * P[y, 1] / (pi_train[1] * P[y, 1] + pi_train[0] * P[y, 0])
    r = check.prior_shift(old, False)
    assert not r and "training prevalence" in str(r)
    r = check.prior_shift(P[y, 1], False)
    assert not r and "sensitivity" in str(r)
    r = check.prior_shift(None, None)
    assert not r and "None" in str(r) and "True or False" in str(r)


def test_the_library_routes_that_answer_in_one_call_are_forbidden_when_graded():
    """Each of these library functions answers its exercise (or does its work) in one call, so the
    graded version refuses it; the statement names it (tests/test_grading.py checks that)."""
    routes = {
        "ex-2-0-posterior-evidence": [
            "pedagogy_lib.discrete.categorical.update_sequence",
        ],
        "ex-2-0-explaining-away": [
            "pedagogy_lib.discrete.categorical.invert",
            "pedagogy_lib.graphical.bp.belief_propagation",
            "pedagogy_lib.graphical.junction.junction_marginal",
        ],
        "ex-2-0-canonical-independences": [
            "pedagogy_lib.graphical.separation.d_separated",
            "pedagogy_lib.discrete.categorical.is_independent",
        ],
        "ex-2-0-prior-shift": [
            "pedagogy_lib.discrete.categorical.invert",
            "pedagogy_lib.discrete.categorical.marginal_y",
            "pedagogy_lib.discrete.categorical.reverse_arrow",
            "pedagogy_lib.discrete.categorical.update_sequence",
        ],
    }
    for label, names in routes.items():
        missing = set(names) - set(check.SUMMATIVE[label]["forbidden"])
        assert not missing, (label, missing)


def test_independences_never_say_which_graph_or_how_many_answers_are_wrong():
    """Two booleans per graph: a message naming the graph, or the count, would let them be found by
    flipping entries in a few calls."""
    messages = set()
    for kind in check.GRAPHS:
        for statement in check.STATEMENTS:
            flipped = {k: dict(v) for k, v in CORRECT.items()}
            flipped[kind][statement] = not flipped[kind][statement]
            r = check.independences(flipped)
            assert not r
            messages.add(str(r))
            assert not any(k in str(r) for k in check.GRAPHS), str(r)
    everything = {k: {s: not v for s, v in d.items()} for k, d in CORRECT.items()}
    messages.add(str(check.independences(everything)))
    assert len(messages) == 1, messages


def test_independences_are_asked_about_d_a_case_the_page_does_not_state():
    assert check.STATEMENTS == ("a_indep_c_given_d", "a_indep_c_given_b_and_d")
    assert all(check.GRAPHS_WITH_D[k]["d"] == ("b",) for k in check.GRAPHS)
