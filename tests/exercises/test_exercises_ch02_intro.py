"""Tests for the checkers in pedagogy_lib.exercises.ch02_intro.

Correct answers are computed here by hand from the problem constants (not with the library);
typical wrong answers must fail with the message that names the slip; None must fail gracefully.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.exercises import ch02_intro as check
from pedagogy_lib.exercises.references import ch02_intro as refs


def hand_screening():
    """Solve q = rho * sens + (1 - rho) * fp by bisection (an independent route from the closed form), then
    Bayes by hand."""
    P, q = check.EX_SCREENING
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid * P[1, 1] + (1 - mid) * P[1, 0] < q:
            lo = mid
        else:
            hi = mid
    rho = (lo + hi) / 2
    joint = [P[1, 0] * (1 - rho), P[1, 1] * rho]
    return rho, np.array(joint) / (joint[0] + joint[1])


def test_screening_constants_by_hand():
    rho, post = hand_screening()
    # 0.05 * 0.85 + 0.95 * 0.07 = 0.0425 + 0.0665 = 0.109
    assert abs(rho - 0.05) < 1e-12
    assert abs(post[1] - 0.0425 / 0.109) < 1e-12


def test_prevalence_and_posterior_correct_and_wrong():
    rho, post = hand_screening()
    assert check.prevalence_and_posterior(rho, post)
    assert check.prevalence_and_posterior(float(rho), list(post))
    P, q = check.EX_SCREENING

    def at(p1):
        j = P[1] * np.array([1 - p1, p1])
        return j / j.sum()

    cases = [((q, post), "fraction of positives for the prevalence"),
             ((q / P[1, 1], post), "leaving out the positives that come from healthy people"),
             (((q - P[1, 0]) / P[1, 1], post), "as if everyone tested were healthy"),
             ((1 - rho, post), "fraction of healthy people"),
             ((rho, P[1] / P[1].sum()), "without multiplying by the prior"),
             ((rho, at(0.5)), "prior at 1/2"),           # the same as the likelihood normalized
             ((rho, at(q)), "fraction of positives as the prior"),
             ((rho, P[1] * np.array([1 - rho, rho])), "did not divide by the evidence")]
    for args, phrase in cases:
        r = check.prevalence_and_posterior(*args)
        assert not r and phrase in str(r), (phrase, str(r))
    r = check.prevalence_and_posterior(rho, post[::-1])
    assert not r and "posterior" in str(r)
    r = check.prevalence_and_posterior(rho, post[:1])
    assert not r and "shape" in str(r)
    r = check.prevalence_and_posterior(None, None)
    assert not r and "None" in str(r)
    assert "0.05" not in str(check.prevalence_and_posterior(0.5, post))   # never reveals the answer


def test_prevalence_and_posterior_is_not_the_pages_forward_computation():
    """The page computes the posterior from a known prior; the clinic's 2% (of the prior-shift exercise)
    or the page's 1% do not give this answer."""
    P, _ = check.EX_SCREENING
    for p1 in (0.01, 0.02):
        j = P[1] * np.array([1 - p1, p1])
        assert not check.prevalence_and_posterior(p1, j / j.sum())


def hand_alarm():
    """p(a = 1 | b = 1, r) for r = 1 and r = 0 by enumerating the 16 states of (a, b, c, r)."""
    p_a, p_c, P_b_ac, P_r_c = check.EX_ALARM
    num = {0: 0.0, 1: 0.0}
    den = {0: 0.0, 1: 0.0}
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                for r in (0, 1):
                    w = p_a[a] * p_c[c] * P_b_ac[b, a, c] * P_r_c[r, c]
                    if b == 1:
                        den[r] += w
                        num[r] += w * (a == 1)
    return num[1] / den[1], num[0] / den[0]


def test_explaining_away_correct_and_wrong():
    p_report, p_silent = hand_alarm()
    p_a, p_c, P_b_ac, P_r_c = check.EX_ALARM
    on = P_b_ac[1]
    alarm = sum(p_a[i] * p_c[k] * on[i, k] for i in (0, 1) for k in (0, 1))
    p_alarm = sum(p_a[1] * p_c[k] * on[1, k] for k in (0, 1)) / alarm
    quake = p_a[1] * on[1, 1] / (p_a[1] * on[1, 1] + p_a[0] * on[0, 1])
    no_quake = p_a[1] * on[1, 0] / (p_a[1] * on[1, 0] + p_a[0] * on[0, 0])
    assert quake < p_report < p_alarm < p_silent < no_quake       # explaining away, softened by the radio
    assert check.explaining_away(p_report, p_silent)
    cases = [((quake, p_silent), "treated the report as certain"),
             ((p_report, no_quake), "treated the silence as certain"),
             ((p_alarm, p_silent), "ignored the report"),
             ((p_report, p_alarm), "ignored the report"),
             ((p_a[1], p_silent), "prior p(burglary)")]
    for args, phrase in cases:
        r = check.explaining_away(*args)
        assert not r and phrase in str(r), (phrase, str(r))
    # the prior of c left out of the sum over c
    w = [sum(p_a[i] * P_b_ac[1, i, k] * P_r_c[1, k] for k in (0, 1)) for i in (0, 1)]
    r = check.explaining_away(w[1] / sum(w), p_silent)
    assert not r and "prior p(c)" in str(r)
    # the radio's table transposed
    w = [sum(p_a[i] * p_c[k] * P_b_ac[1, i, k] * P_r_c[k, 1] for k in (0, 1)) for i in (0, 1)]
    r = check.explaining_away(w[1] / sum(w), p_silent)
    assert not r and "wrong axis" in str(r)
    r = check.explaining_away(None, p_silent)
    assert not r and "None" in str(r)


def test_drawn_alarm_problems_explain_away_through_the_report():
    import importlib

    from pedagogy_lib.exercises.checker import drawn_for

    try:
        for salt in range(5):
            with drawn_for(salt):
                mod = importlib.reload(check)
                np.testing.assert_allclose(mod.EX_ALARM.P_r_c.sum(axis=0), 1.0)
                np.testing.assert_allclose(mod.EX_ALARM.P_b_ac.sum(axis=0), 1.0)
                p_report, p_silent = hand_alarm()          # on the drawn EX_ALARM (check is mod, reloaded)
                assert mod.explaining_away(p_report, p_silent)
    finally:
        importlib.reload(check)


CORRECT = {"a_indep_r": True, "a_indep_r_given_d": False, "a_indep_r_given_c_and_d": True,
           "d_indep_r": False, "d_indep_r_given_b": True, "a_indep_c_given_d": False}


def _independent_by_enumeration(x, y, given, seed):
    """Whether x and y are independent given ``given`` in the alarm network with random binary tables,
    from the joint built with einsum (not the library)."""
    rng = np.random.default_rng(seed)
    p_a, p_c = rng.dirichlet(np.ones(2)), rng.dirichlet(np.ones(2))
    P_b_ac = rng.dirichlet(np.ones(2), size=(2, 2)).transpose(2, 0, 1)    # [b, a, c]
    P_r_c, P_d_b = rng.dirichlet(np.ones(2), size=2).T, rng.dirichlet(np.ones(2), size=2).T
    joint = np.einsum("a,c,bac,rc,db->acbrd", p_a, p_c, P_b_ac, P_r_c, P_d_b)
    order = "acbrd"
    keep = [x, y, *given]
    other = tuple(i for i, n in enumerate(order) if n not in keep)
    marg = joint.sum(axis=other)
    names = [n for n in order if n in keep]
    marg = np.moveaxis(marg, [names.index(n) for n in keep], range(len(keep)))      # [x, y, given...]
    p_xy = marg / marg.sum(axis=(0, 1), keepdims=True)
    prod = p_xy.sum(axis=1, keepdims=True) * p_xy.sum(axis=0, keepdims=True)
    return float(np.max(np.abs(p_xy - prod))) < 1e-12


def test_the_correct_independences_hold_for_random_tables_and_the_others_fail():
    assert set(CORRECT) == set(check.STATEMENTS)
    for name, (x, y, given) in check.STATEMENTS.items():
        found = [_independent_by_enumeration(x, y, given, seed) for seed in range(3)]
        assert all(f == CORRECT[name] for f in found), (name, found)


def test_independences_correct_and_wrong():
    assert check.independences(CORRECT)
    assert check.independences({k: np.bool_(v) for k, v in CORRECT.items()})
    assert check.independences({k: ("yes" if v else "no") for k, v in CORRECT.items()})
    page_rules = dict(CORRECT, a_indep_r_given_d=True, a_indep_c_given_d=True)    # d taken as nothing observed
    r = check.independences(page_rules)
    assert not r and "not all six answers are right" in str(r)
    r = check.independences({k: v for k, v in CORRECT.items() if k != "d_indep_r"})
    assert not r and "missing ['d_indep_r']" in str(r)
    r = check.independences({**CORRECT, "a_indep_b": True})
    assert not r and "unknown statement names" in str(r)
    r = check.independences({**CORRECT, "d_indep_r": "perhaps"})
    assert not r and "should be True or False" in str(r)
    r = check.independences(None)
    assert not r and "None" in str(r)
    r = check.independences([1, 2])
    assert not r and "dict" in str(r)


def test_independences_never_say_which_statement_or_how_many_answers_are_wrong():
    """One boolean per statement: a message naming the statement, or the count, would let them be found by
    flipping entries in a few calls."""
    messages = set()
    for statement in check.STATEMENTS:
        r = check.independences({**CORRECT, statement: not CORRECT[statement]})
        assert not r
        messages.add(str(r))
        assert not any(k in str(r) for k in check.STATEMENTS), str(r)
    messages.add(str(check.independences({k: not v for k, v in CORRECT.items()})))
    assert len(messages) == 1, messages


def test_independences_are_asked_about_a_network_the_page_does_not_draw():
    assert check.ALARM_NETWORK["b"] == ("a", "c") and check.ALARM_NETWORK["r"] == ("c",)
    assert check.ALARM_NETWORK["d"] == ("b",)


def hand_shift_book():
    """The outbreak's table for the book's problem from the test itself (sensitivity 0.8, specificity 0.9,
    which built the clinic's table and which the statement does not give), by Bayes's rule entry by entry."""
    lik = {(0, 0): 0.9, (1, 0): 0.1, (0, 1): 0.2, (1, 1): 0.8}          # p(y | x), keyed (y, x)
    pi_new = (0.8, 0.2)
    out = np.empty((2, 2))
    for y in (0, 1):
        evidence = sum(lik[y, x] * pi_new[x] for x in (0, 1))
        for x in (0, 1):
            out[x, y] = lik[y, x] * pi_new[x] / evidence
    return out


def test_prior_shift_book_problem_from_the_test_itself():
    pi_train, pi_new, P = check.EX_SHIFT
    # the clinic's table is Bayes's rule with the 2% prior: p(ill | +) = 0.02 * 0.8 / (0.02 * 0.8 + 0.98 * 0.1)
    assert abs(P[1, 1] - 0.016 / 0.114) < 1e-12 and abs(P[:, 0].sum() - 1) < 1e-15
    ref = hand_shift_book()
    # p_new(ill | +) = 0.2 * 0.8 / (0.2 * 0.8 + 0.8 * 0.1) = 2/3
    assert abs(ref[1, 1] - 2 / 3) < 1e-12
    assert check.prior_shift(ref)
    U = P * (pi_new / pi_train)[:, None]                                 # the solution's reweighting
    np.testing.assert_allclose(U / U.sum(axis=0), ref, rtol=1e-12)


def test_prior_shift_slips_are_named():
    pi_train, pi_new, P = check.EX_SHIFT
    ref = hand_shift_book()

    def over_x(t):
        return t / t.sum(axis=0, keepdims=True)

    U = P * (pi_new / pi_train)[:, None]
    cases = [(P, "clinic's table"),
             (over_x(P * pi_new[:, None]), "by the new prior alone"),
             (over_x(P * (pi_train / pi_new)[:, None]), "divided by the new prior"),
             (U / U.sum(axis=1, keepdims=True), "normalized each row"),
             (U, "normalization of each column"),
             (ref.T, "transpose"),
             (ref[1:], "shape")]
    first = check.EX_SCREENING.P_y_x.T * pi_new[:, None]                 # the first exercise's test
    cases.append((over_x(first), "test of the first exercise"))
    for answer, phrase in cases:
        r = check.prior_shift(answer)
        assert not r and phrase in str(r), (phrase, str(r))
    r = check.prior_shift(None)
    assert not r and "None" in str(r)
    assert "0.666" not in str(check.prior_shift(ref + 0.01)) and "2/3" not in str(check.prior_shift(ref + 0.01))


def test_prior_shift_drawn_problems_pass_the_reweighting_and_keep_the_slips_apart():
    """On problems drawn for students, the checker's reference (the emission recovered, then Bayes with the
    new prior) is the reweighting of the clinic's columns by the ratio of the priors; the priors differ
    enough that every named slip is clearly off the answer."""
    import importlib

    from pedagogy_lib.exercises import checker

    try:
        for salt in range(8):
            with checker.drawn_for(salt):
                own = importlib.reload(check)
                pi_train, pi_new, P = own.EX_SHIFT
                assert 0.01 <= pi_train[1] <= 0.05 and 0.1 <= pi_new[1] <= 0.4
                np.testing.assert_allclose(P.sum(axis=0), 1.0, rtol=1e-12)
                U = P * (pi_new / pi_train)[:, None]
                assert own.prior_shift(U / U.sum(axis=0))
                V = P * pi_new[:, None]
                assert not own.prior_shift(P) and not own.prior_shift(V / V.sum(axis=0))
    finally:
        importlib.reload(check)


# ---------------------------------------------------------------- the arrow reversed, as a function

def _reverse_by_loops(pi, P_y_x):
    """The table of Eq. 2.1 entry by entry, with explicit sums (the notebook's solution is vectorized)."""
    L, K = P_y_x.shape
    p_y = np.array([sum(P_y_x[l, k] * pi[k] for k in range(K)) for l in range(L)])
    P_x_y = np.array([[P_y_x[l, k] * pi[k] / p_y[l] for l in range(L)] for k in range(K)])
    return p_y, P_x_y


def _reverse_one_column_at_a_time(pi, P_y_x):
    """Bayes for each observation in log space, the way discrete.invert does it, returned as lists."""
    from scipy.special import logsumexp

    with np.errstate(divide="ignore"):
        columns = [np.log(P_y_x[l]) + np.log(pi) for l in range(P_y_x.shape[0])]
    log_p_y = [logsumexp(z) for z in columns]
    return list(np.exp(log_p_y)), np.stack([np.exp(z - lz) for z, lz in zip(columns, log_p_y)], axis=1).tolist()


def test_reverse_arrow_function_accepts_two_independent_routes():
    assert check.reverse_arrow_function(_reverse_by_loops)
    assert check.reverse_arrow_function(_reverse_one_column_at_a_time)
    # the page's own model, reversed twice, comes back (the statement's remark about the round trip)
    pi, P = np.array([0.99, 0.01]), np.array([[0.95, 0.10], [0.05, 0.90]])
    back = _reverse_by_loops(*_reverse_by_loops(pi, P))
    np.testing.assert_allclose(back[0], pi, rtol=1e-12)
    np.testing.assert_allclose(back[1], P, rtol=1e-12)


def _reverse_slip(kind):
    def fn(pi, P_y_x):
        joint = P_y_x.T * pi[:, None]
        p_y = joint.sum(axis=0)
        if kind == "rows":
            return p_y, joint / joint.sum(axis=1, keepdims=True)
        if kind == "no prior":
            return p_y, (P_y_x / P_y_x.sum(axis=1, keepdims=True)).T
        if kind == "joint":
            return p_y, joint
        if kind == "mean":
            return P_y_x.mean(axis=1), joint / p_y
        if kind == "sum":
            return P_y_x.sum(axis=1), joint / p_y
        if kind == "transposed table":
            return P_y_x.T @ pi, joint / p_y
        if kind == "layout":
            return p_y, (joint / p_y).T
        if kind == "swapped":
            return joint / p_y, p_y
        raise ValueError(kind)
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_reverse_slip("rows"), "you normalized each row of the joint"),
    (_reverse_slip("no prior"), "you left out the prior"),
    (_reverse_slip("joint"), "did not divide each column by p(y)"),
    (_reverse_slip("mean"), "averaged the columns of P_y_x"),
    (_reverse_slip("sum"), "summed the columns of P_y_x"),
    (_reverse_slip("transposed table"), "transpose of P_y_x"),
    (_reverse_slip("layout"), "transpose"),
    (_reverse_slip("swapped"), "should have shape"),
    (lambda pi, P: None, "forget to return"),
    (lambda pi, P: 1 / 0, "raised ZeroDivisionError"),
    (lambda pi, P: _reverse_by_loops(pi, P)[1], "should return the pair"),
])
def test_reverse_arrow_function_names_the_slips(wrong, fragment):
    with np.errstate(divide="ignore", invalid="ignore"):
        res = check.reverse_arrow_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_reverse_arrow_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.reverse_arrow_function(np.eye(2)))
    none = check.reverse_arrow_function(None)
    assert not none and "None" in str(none) and "my_reverse_arrow" in str(none)
    msg = str(check.reverse_arrow_function(lambda pi, P: (_reverse_by_loops(pi, P)[0] + 0.003,
                                                          _reverse_by_loops(pi, P)[1])))
    assert "test problem 1" in msg
    assert not re.search(r"[0-9]\.[0-9]", msg.replace("Eq. 2.1", "")), msg


def test_reverse_arrow_function_meets_a_state_of_prior_zero_and_unequal_sizes():
    """The hidden problems are what the statement promises: K != L both ways, K = L, and a prior with a zero,
    whose state has a row of zeros in P_x_y."""
    cases = refs.reverse_cases()
    shapes = [args[1].shape for _, args, _ in cases]
    assert any(L > K for L, K in shapes) and any(L < K for L, K in shapes) and any(L == K for L, K in shapes)
    zero = [(args, ref) for _, args, ref in cases if np.any(args[0] == 0)]
    assert len(zero) == 1
    (pi, _), (_, P_x_y) = zero[0]
    assert np.all(P_x_y[pi == 0] == 0)
