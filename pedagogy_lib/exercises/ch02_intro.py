r"""Checkers for the Chapter 2 opening notebook, "Inverting the arrow" (Ch. 2 intro, Eq. 2.1)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import checker
from .checker import CheckResult, book_or_drawn, compare_scalar, compare_array, result

__all__ = ["ScreeningProblem", "AlarmProblem", "PriorShiftProblem", "EX_SCREENING", "EX_ALARM", "EX_SHIFT",
           "ALARM_NETWORK", "STATEMENTS", "prevalence_and_posterior", "explaining_away", "independences",
           "prior_shift", "reverse_arrow_function"]


class ScreeningProblem(NamedTuple):
    """A test of known behaviour used where the prevalence is unknown: ``P_y_x[l, k]`` = p(Y = l | X = k) (x = 1 ill,
    y = 1 positive), and the ``fraction_positive`` of results."""

    P_y_x: np.ndarray
    fraction_positive: float


class AlarmProblem(NamedTuple):
    """Burglary a and earthquake c, parents of the alarm b, and a radio report r of an earthquake: ``p_a``, ``p_c``,
    ``P_b_ac[j, i, k]`` = p(b = j | a = i, c = k), ``P_r_c[m, k]`` = p(r = m | c = k); 1 is "yes"."""

    p_a: np.ndarray
    p_c: np.ndarray
    P_b_ac: np.ndarray
    P_r_c: np.ndarray


class PriorShiftProblem(NamedTuple):
    """A test known only through a clinic's table ``P_x_y_train[k, l]`` = p(x = k | y = l), fitted with the prior
    ``pi_train``, now used where the prior is ``pi_new``."""

    pi_train: np.ndarray
    pi_new: np.ndarray
    P_x_y_train: np.ndarray


#: The screening test of exercise 1: specificity 0.93, sensitivity 0.85 (columns index x).
_TEST_TABLE = np.array([[0.93, 0.15], [0.07, 0.85]])

#: Exercise 1: the test, and the fraction of positives in a population of unknown prevalence.
EX_SCREENING = ScreeningProblem(P_y_x=_TEST_TABLE, fraction_positive=0.109)


def _alarm_table(on) -> np.ndarray:
    """p(b | a, c) as a (2, 2, 2) table from ``on[(a, c)] = p(b = 1 | a, c)``."""
    P = np.empty((2, 2, 2))
    for (a, c), v in on.items():
        P[:, a, c] = [round(1.0 - v, 3), v]
    return P


def _radio_table(hit, false_alarm) -> np.ndarray:
    """p(r | c) for a radio with the given hit and false-alarm rates."""
    return np.array([[round(1.0 - false_alarm, 3), round(1.0 - hit, 3)], [false_alarm, hit]])


def _draw_alarm(rng):
    """A problem like EX_ALARM in which a report explains the alarm away and a silence raises a burglary's
    probability."""
    from .references import ch02_intro as refs
    while True:
        p_a = round(float(rng.uniform(0.002, 0.02)), 3)
        p_c = round(float(rng.uniform(0.01, 0.05)), 3)
        on = {(0, 0): round(float(rng.uniform(0.001, 0.005)), 3), (1, 0): round(float(rng.uniform(0.85, 0.97)), 2),
              (0, 1): round(float(rng.uniform(0.2, 0.5)), 2), (1, 1): round(float(rng.uniform(0.9, 0.99)), 2)}
        problem = AlarmProblem(p_a=np.array([round(1.0 - p_a, 3), p_a]), p_c=np.array([round(1.0 - p_c, 3), p_c]),
                               P_b_ac=_alarm_table(on),
                               P_r_c=_radio_table(round(float(rng.uniform(0.75, 0.95)), 2),
                                                  round(float(rng.uniform(0.01, 0.05)), 2)))
        alarm = refs.burglary_given_alarm(problem)
        report, no_report = (refs.burglary_given_alarm_and_report(problem, 1),
                             refs.burglary_given_alarm_and_report(problem, 0))
        if (report < alarm / 2 and report > 1.2 * refs.burglary_given_alarm(problem, 1)
                and no_report > 1.1 * alarm and no_report < refs.burglary_given_alarm(problem, 0) / 1.05):
            return problem


#: Exercise 2: burglary (a) -> alarm (b) <- earthquake (c) -> radio report (r).
EX_ALARM = book_or_drawn(AlarmProblem(p_a=np.array([0.995, 0.005]), p_c=np.array([0.97, 0.03]),
                                      P_b_ac=_alarm_table({(0, 0): 0.002, (1, 0): 0.92, (0, 1): 0.35, (1, 1): 0.97}),
                                      P_r_c=_radio_table(0.9, 0.02)), _draw_alarm, seed=2002)


def _clinic_table(pi, sens, spec) -> np.ndarray:
    """p(x | y) that a clinic with prior ``pi`` fits to a test of the given sensitivity and specificity."""
    P_y_x = np.array([[spec, 1.0 - sens], [1.0 - spec, sens]])
    joint = P_y_x.T * np.asarray(pi)[:, None]                    # [x, y]: p(x) p(y | x)
    return joint / joint.sum(axis=0, keepdims=True)


def _shift_slips(problem) -> dict:
    """Tables that named wrong derivations give."""
    pi_train, pi_new, P = problem

    def over_x(t):
        return t / t.sum(axis=0, keepdims=True)

    right = P * (pi_new / pi_train)[:, None]
    return {
        "you returned the clinic's table, which has the clinic's prevalence built in": P,
        "you reweighted the clinic's table by the new prior alone": over_x(P * pi_new[:, None]),
        "you divided by the new prior and multiplied by the clinic's": over_x(P * (pi_train / pi_new)[:, None]),
        "you normalized each row; each column (one result y) is a distribution over x":
            right / right.sum(axis=1, keepdims=True),
        "you used the test of the first exercise; this is another test, known only through the clinic's table":
            _clinic_table(pi_new, EX_SCREENING.P_y_x[1, 1], EX_SCREENING.P_y_x[0, 0]),
    }


def _draw_shift(rng) -> PriorShiftProblem:
    """A problem of the same kind: 1-5% ill at the clinic, 10-40% where used, every named slip clearly off."""
    from .references import ch02_intro as refs
    while True:
        p_train = round(float(rng.uniform(0.01, 0.05)), 3)
        p_new = round(float(rng.uniform(0.1, 0.4)), 2)
        sens, spec = rng.uniform(0.7, 0.95), rng.uniform(0.85, 0.98)
        prob = PriorShiftProblem(pi_train=np.array([1.0 - p_train, p_train]), pi_new=np.array([1.0 - p_new, p_new]),
                                 P_x_y_train=_clinic_table([1.0 - p_train, p_train], sens, spec))
        ref = refs.shifted_table(prob)
        if all(np.abs(v - ref).max() > 0.05 for v in _shift_slips(prob).values()):
            return prob


#: Exercise 4: a second test, known only through a clinic's table (2% ill there), now used where one person in five is
#: ill.
EX_SHIFT = book_or_drawn(PriorShiftProblem(pi_train=np.array([0.98, 0.02]), pi_new=np.array([0.8, 0.2]),
                                           P_x_y_train=_clinic_table([0.98, 0.02], 0.8, 0.9)),
                         _draw_shift, seed=2004)

#: Exercise 3: the alarm network as {node: parents}; STATEMENTS: ``name: (x, y, given)`` for "x and y are independent
#: given ``given`` for every choice of tables".
ALARM_NETWORK = {"a": (), "c": (), "b": ("a", "c"), "r": ("c",), "d": ("b",)}
STATEMENTS = {"a_indep_r": ("a", "r", ()), "a_indep_r_given_d": ("a", "r", ("d",)),
              "a_indep_r_given_c_and_d": ("a", "r", ("c", "d")), "d_indep_r": ("d", "r", ()),
              "d_indep_r_given_b": ("d", "r", ("b",)), "a_indep_c_given_d": ("a", "c", ("d",))}


def prevalence_and_posterior(prevalence, posterior) -> CheckResult:
    """Exercise 1, ``ex-2-0-posterior-evidence``: for :data:`EX_SCREENING`, the prevalence the fraction of positives
    implies, and the posterior p(x | y = 1) (2,) at it. Slips named: the fraction as the prevalence, the healthy
    positives left out or over-counted, no prior, the fraction as the prior, no normalization."""
    from .references import ch02_intro as refs
    P, q = EX_SCREENING
    false_pos, sens = P[1, 0], P[1, 1]
    ref_prev, ref_post = refs.screening_reference(*EX_SCREENING)
    lik = P[1]

    def post(p1):
        joint = lik * np.array([1.0 - p1, p1])
        return joint / joint.sum()

    wrong_prev = {
        "you took the fraction of positives for the prevalence; healthy people test positive too": q,
        "you divided the fraction of positives by the sensitivity, leaving out the positives that come from "
        "healthy people": q / sens,
        "you subtracted the false-positive rate as if everyone tested were healthy; only the healthy fraction "
        "produces false positives": (q - false_pos) / sens,
        "you gave the fraction of healthy people, p(x = 0)": 1.0 - ref_prev,
    }
    problems = compare_scalar(prevalence, ref_prev, "the prevalence", hints=wrong_prev)
    wrong_post = {
        "you normalized the likelihood P_y_x[1, :] without multiplying by the prior (or with the prior at "
        "1/2, which is the same)": lik / lik.sum(),
        "you used the fraction of positives as the prior; the prior is the prevalence": post(q),
        "you stopped at the joint p(x, y = 1) and did not divide by the evidence": lik * np.array([1 - ref_prev,
                                                                                                  ref_prev]),
    }
    post_problems = compare_array(posterior, ref_post, "the posterior", hints=wrong_post)
    if not post_problems:
        total = float(np.sum(posterior))
        if abs(total - 1.0) > 1e-8:
            post_problems.append(f"the posterior sums to {total:.6g}, not 1.")
    return result("prevalence from the evidence, then the posterior (Eq. 2.1)", problems + post_problems)


def explaining_away(p_burglary_given_alarm_and_report, p_burglary_given_alarm_and_no_report) -> CheckResult:
    """Exercise 2, ``ex-2-0-explaining-away``: for :data:`EX_ALARM`, your p(a = 1 | b = 1, r = 1) and p(a = 1 | b = 1,
    r = 0). Slips named: the report taken as certain or ignored, p(c) left out, the radio's table read along the wrong
    axis, the prior of a burglary."""
    from .references import ch02_intro as refs
    p_a, p_c, P_b_ac, P_r_c = EX_ALARM
    ref1 = refs.burglary_given_alarm_and_report(EX_ALARM, 1)
    ref0 = refs.burglary_given_alarm_and_report(EX_ALARM, 0)
    alarm_only = refs.burglary_given_alarm(EX_ALARM)
    flat_quake = AlarmProblem(p_a, np.array([1.0, 1.0]), P_b_ac, P_r_c)
    transposed = AlarmProblem(p_a, p_c, P_b_ac, P_r_c.T)
    common = {
        "you ignored the report: that is p(burglary | alarm)": alarm_only,
        "you returned the prior p(burglary)": p_a[1],
    }
    problems = compare_scalar(p_burglary_given_alarm_and_report, ref1, "p(burglary | alarm, report of a quake)",
                              hints={
        "you treated the report as certain (conditioned on c = 1); the radio is sometimes wrong":
            refs.burglary_given_alarm(EX_ALARM, 1),
        "you left the prior p(c) of an earthquake out of the sum over c":
            refs.burglary_given_alarm_and_report(flat_quake, 1),
        "you read the radio's table along the wrong axis: P_r_c[m, k] = p(r = m | c = k), its columns sum to "
        "one": refs.burglary_given_alarm_and_report(transposed, 1),
        **common})
    problems += compare_scalar(p_burglary_given_alarm_and_no_report, ref0, "p(burglary | alarm, no report)",
                               hints={
        "you treated the silence as certain (conditioned on c = 0); the radio misses some earthquakes":
            refs.burglary_given_alarm(EX_ALARM, 0),
        "you left the prior p(c) of an earthquake out of the sum over c":
            refs.burglary_given_alarm_and_report(flat_quake, 0),
        "you read the radio's table along the wrong axis: P_r_c[m, k] = p(r = m | c = k), its columns sum to "
        "one": refs.burglary_given_alarm_and_report(transposed, 0),
        **common})
    return result("explaining away through a noisy report", problems)


def independences(answer) -> CheckResult:
    """Exercise 3, ``ex-2-0-canonical-independences``: a dict ``{statement: bool}`` over :data:`STATEMENTS`, True when
    the independence holds in :data:`ALARM_NETWORK` for *every* choice of tables. All or nothing."""
    from .references import ch02_intro as refs
    name = "independences in the alarm network"
    if answer is None:
        return result(name, ["the answer is None: fill in the dict."])
    if not isinstance(answer, dict):
        return result(name, [f"the answer should be a dict keyed by the names in STATEMENTS; got "
                             f"{type(answer).__name__}."])
    missing = [s for s in STATEMENTS if s not in answer]
    if missing:
        return result(name, [f"the answer is missing {missing}."])
    unknown = [s for s in answer if s not in STATEMENTS]
    if unknown:
        return result(name, [f"unknown statement names {unknown}: use the names in STATEMENTS."])
    values = {s: checker.as_bool(answer[s], f"answer[{s!r}]") for s in STATEMENTS}
    typed = [s for s in STATEMENTS if values[s][1]]
    if typed:
        return result(name, [f"answer[{typed[0]!r}] should be True or False."])
    ref = refs.reference_independences(ALARM_NETWORK, STATEMENTS)
    if any(values[s][0] != ref[s] for s in STATEMENTS):
        return result(name, ["not all six answers are right. For each statement, follow every path between "
                             "the two nodes and ask, node by node, whether the path is blocked there."])
    return result(name, [])


def prior_shift(table) -> CheckResult:
    """Exercise 4, ``ex-2-0-prior-shift``: the table p_new(x | y) (2, 2) for ``EX_SHIFT`` under ``EX_SHIFT.pi_new``,
    laid out as the clinic's. Slips named: the clinic's table, a reweighting by the new prior alone or reversed, rows
    normalized, the first exercise's test."""
    from .references import ch02_intro as refs
    ref = refs.shifted_table(EX_SHIFT)
    problems = compare_array(table, ref, "your table", rtol=1e-9, atol=1e-12, hints=_shift_slips(EX_SHIFT))
    return result("prior shift: correcting a discriminative table", problems)


def _reverse_slips(pi, P_y_x) -> tuple[dict, dict]:
    """(hints for p_y, hints for P_x_y): what named wrong derivations give on one problem."""
    joint = P_y_x.T * pi[:, None]                                 # joint[k, l] = p(x = k) p(y = l | x = k)
    with np.errstate(divide="ignore", invalid="ignore"):
        rows = joint / joint.sum(axis=1, keepdims=True)
        no_prior = (P_y_x / P_y_x.sum(axis=1, keepdims=True)).T
    p_hints = {"you averaged the columns of P_y_x without weighting them by the prior pi": P_y_x.mean(axis=1),
               "you summed the columns of P_y_x without weighting them by the prior pi": P_y_x.sum(axis=1)}
    if P_y_x.shape[0] == P_y_x.shape[1]:
        p_hints["you multiplied pi by the transpose of P_y_x: its columns, not its rows, are the distributions "
                "p(y | x)"] = P_y_x.T @ pi
    P_hints = {"you normalized each row of the joint (over y); each column of P_x_y, one observation y, is a "
               "distribution over x": rows,
               "you left out the prior: you normalized the likelihood P_y_x[l, :] over x": no_prior,
               "you stopped at the joint p(x, y) and did not divide each column by p(y)": joint}
    return p_hints, P_hints


def reverse_arrow_function(fn) -> CheckResult:
    """Exercise ``ex-2-0-reverse-arrow-function``: your function ``fn(pi, P_y_x)`` returning ``(p_y, P_x_y)``,
    shapes (L,) and (K, L), run on hidden problems. Slips named: p(y) without the prior or with the transposed table;
    P_x_y normalized over y, without the prior, or not divided by p(y)."""
    from .references import ch02_intro as refs

    def judge(out, where, pi, P_y_x, ref):
        problems = checker.tuple_problems(out, 2, "the pair (p_y, P_x_y)", where)
        if problems:
            return problems
        (p_ref, P_ref), (p_hints, P_hints) = ref, _reverse_slips(pi, P_y_x)
        return (compare_array(out[0], p_ref, f"p_y on {where}", rtol=1e-7, atol=1e-10, hints=p_hints)
                + compare_array(out[1], P_ref, f"P_x_y on {where}", rtol=1e-7, atol=1e-10, hints=P_hints))

    return checker.check_function("reversing the arrow of a discrete model (Eq. 2.1)", fn, refs.reverse_cases(), judge,
                                  name="my_reverse_arrow", signature="(pi, P_y_x)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-2-0-reverse-arrow-function": {"same_data": checker.FUNCTION_ANSWER},
    "ex-2-0-posterior-evidence": {"same_data": "the statement spells out the numbers, and exercise 4 refers back"},
    "ex-2-0-canonical-independences": {"same_data": "the answer is True or False per statement, for any tables"},
}
