r"""Checkers for the Chapter 2 opening notebook, "Inverting the arrow" (Ch. 2 intro, Eq. 2.1).

Import as ``from pedagogy_lib.exercises import ch02_intro as check``. The problem data are the
module constants below; every reference answer is computed from them when a checker runs, and
is never printed.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..discrete import categorical as discrete
from . import checker
from .checker import CheckResult, book_or_drawn, compare_bool, compare_scalar, compare_array, result

__all__ = [
    "TwoNodeProblem",
    "ColliderProblem",
    "PriorShiftProblem",
    "EX_TEST",
    "EX_ALARM",
    "EX_SHIFT",
    "GRAPHS",
    "STATEMENTS",
    "GRAPHS_WITH_D",
    "posterior_and_evidence",
    "explaining_away",
    "independences",
    "prior_shift",
]


class TwoNodeProblem(NamedTuple):
    """A model X -> Y and one observation.

    ``pi[k]`` is p(X = k); ``P_y_x[l, k]`` is p(Y = l | X = k) (columns sum to one); ``y`` is the
    observed value.
    """

    pi: np.ndarray
    P_y_x: np.ndarray
    y: int


class ColliderProblem(NamedTuple):
    """Burglary a and earthquake c, both parents of the alarm b.

    ``p_a[i]`` is p(a = i), ``p_c[k]`` is p(c = k), ``P_b_ac[j, i, k]`` is p(b = j | a = i, c = k);
    state 1 means "yes".
    """

    p_a: np.ndarray
    p_c: np.ndarray
    P_b_ac: np.ndarray


class PriorShiftProblem(NamedTuple):
    """The test of :data:`EX_TEST`, deployed where the prevalence is different.

    ``pi_train`` is the prior the clinic's data had, ``pi_new`` the prior where the test is now used.
    """

    pi_train: np.ndarray
    pi_new: np.ndarray
    P_y_x: np.ndarray
    y: int


#: Exercise 1: a screening test; x = 0 healthy, 1 ill; y = 0 negative, 1 positive; we saw y = 1.
EX_TEST = TwoNodeProblem(
    pi=np.array([0.98, 0.02]),
    P_y_x=np.array([[0.93, 0.15],
                    [0.07, 0.85]]),
    y=1,
)


def _alarm_table() -> np.ndarray:
    on = {(0, 0): 0.002, (1, 0): 0.92, (0, 1): 0.35, (1, 1): 0.97}   # p(alarm | burglary, quake)
    P = np.empty((2, 2, 2))
    for (a, c), v in on.items():
        P[:, a, c] = [1.0 - v, v]
    return P


def _draw_alarm(rng):
    """A problem of the same kind as the book's EX_ALARM, for one student: rare burglaries and earthquakes,
    an alarm that almost never goes off by itself, that a burglary nearly always sets off and an
    earthquake often does, so that learning of the earthquake explains the alarm away (the second
    probability is less than a third of the first)."""
    while True:
        p_a = round(float(rng.uniform(0.002, 0.02)), 3)
        p_c = round(float(rng.uniform(0.01, 0.05)), 3)
        on = {(0, 0): round(float(rng.uniform(0.001, 0.005)), 3), (1, 0): round(float(rng.uniform(0.85, 0.97)), 2),
              (0, 1): round(float(rng.uniform(0.2, 0.5)), 2), (1, 1): round(float(rng.uniform(0.9, 0.99)), 2)}
        P = np.empty((2, 2, 2))
        for (a, c), v in on.items():
            P[:, a, c] = [round(1.0 - v, 3), v]
        pa, pc = np.array([round(1.0 - p_a, 3), p_a]), np.array([round(1.0 - p_c, 3), p_c])
        joint = np.einsum("a,c,bac->abc", pa, pc, P)
        p1 = joint[1, 1, :].sum() / joint[:, 1, :].sum()
        p2 = joint[1, 1, 1] / joint[:, 1, 1].sum()
        if p2 < p1 / 3:
            return ColliderProblem(p_a=pa, p_c=pc, P_b_ac=P)


#: Exercise 2: burglary (a) -> alarm (b) <- earthquake (c).
EX_ALARM = book_or_drawn(ColliderProblem(p_a=np.array([0.995, 0.005]), p_c=np.array([0.97, 0.03]),
                                         P_b_ac=_alarm_table()), _draw_alarm, seed=2002)

#: Exercise 4: the same test, now used in a population where one person in five is ill.
EX_SHIFT = PriorShiftProblem(pi_train=EX_TEST.pi, pi_new=np.array([0.8, 0.2]), P_y_x=EX_TEST.P_y_x, y=1)

#: Exercise 3: the graphs and the statements to judge for each.
GRAPHS = ("chain", "fork", "collider")
STATEMENTS = ("a_indep_c_given_d", "a_indep_c_given_b_and_d")
#: The three canonical graphs, each with a fourth node d, a child of b (a noisy reading of b), as
#: {node: parents}: the exercise asks about conditioning on d, a case the page does not work out.
GRAPHS_WITH_D = {"chain": {"a": (), "b": ("a",), "c": ("b",), "d": ("b",)},
                 "fork": {"b": (), "a": ("b",), "c": ("b",), "d": ("b",)},
                 "collider": {"a": (), "c": (), "b": ("a", "c"), "d": ("b",)}}


# --------------------------------------------------------------------------------------------
def posterior_and_evidence(posterior, evidence) -> CheckResult:
    """Exercise 1, ``ex-2-0-posterior-evidence``: your posterior over x given the observed y, and
    the evidence of y, for :data:`EX_TEST`.

    Pass the posterior as an array of shape (2,) (healthy, ill) and the evidence as a number. The
    checker recognizes a missing prior, a column taken for a row of ``P_y_x``, an unnormalized
    joint, and an evidence that is not averaged over the prior.
    """
    pi, P, y = EX_TEST
    ref = discrete.invert(pi, P, y)
    lik = P[y]
    wrong_post = {
        "you normalized the likelihood P_y_x[y, :] without multiplying by the prior pi": lik / lik.sum(),
        "you used the column P_y_x[:, y] instead of the row P_y_x[y, :] (columns index x, rows index y)":
            P[:, y] * pi / (P[:, y] * pi).sum(),
        "you stopped at the joint p(x, y) and did not divide by the evidence p(y)": lik * pi,
    }
    wrong_ev = {
        "you took p(y | x) for one state of x instead of averaging over the prior": P[y, 1],
        "you summed the likelihood over x without weighting each term by pi": lik.sum(),
        "you computed the probability of the other test result": 1.0 - ref.evidence,
    }
    problems = compare_array(posterior, ref.posterior, "the posterior", hints=wrong_post)
    if not problems:
        s = float(np.sum(posterior))
        if abs(s - 1.0) > 1e-8:
            problems.append(f"the posterior sums to {s:.6g}, not 1.")
    problems += compare_scalar(evidence, ref.evidence, "the evidence", hints=wrong_ev)
    return result("posterior and evidence (Eq. 2.1)", problems)


def explaining_away(p_burglary_given_alarm, p_burglary_given_alarm_and_quake) -> CheckResult:
    """Exercise 2, ``ex-2-0-explaining-away``: your p(a = 1 | b = 1) and p(a = 1 | b = 1, c = 1)
    for :data:`EX_ALARM`, two numbers.

    The checker recognizes the prior returned unchanged, the conditional in the other direction,
    and the first answer reused for the second.
    """
    g = discrete.collider(*EX_ALARM)
    ref1 = discrete.conditional(g, "a", {"b": 1})[1]
    ref2 = discrete.conditional(g, "a", {"b": 1, "c": 1})[1]
    p_alarm_given_burglary = discrete.conditional(g, "b", {"a": 1})[1]
    problems = compare_scalar(p_burglary_given_alarm, ref1, "p(burglary | alarm)", hints={
        "you returned the prior p(burglary) (the alarm should change it)": EX_ALARM.p_a[1],
        "you computed p(alarm | burglary), the other direction of the arrow": p_alarm_given_burglary,
        "you ignored the earthquake path (used only p(alarm | burglary, no quake))":
            EX_ALARM.p_a[1] * EX_ALARM.P_b_ac[1, 1, 0] / (EX_ALARM.p_a[1] * EX_ALARM.P_b_ac[1, 1, 0]
                                                         + EX_ALARM.p_a[0] * EX_ALARM.P_b_ac[1, 0, 0]),
    })
    problems += compare_scalar(p_burglary_given_alarm_and_quake, ref2, "p(burglary | alarm, quake)", hints={
        "you reused p(burglary | alarm): learning of the earthquake should change it": ref1,
        "you returned the prior p(burglary)": EX_ALARM.p_a[1],
    })
    return result("explaining away on a collider", problems)


def _reference_independences() -> dict:
    from pedagogy_lib.graphical.separation import d_separated

    ref = {}
    for kind, parents in GRAPHS_WITH_D.items():   # d-separated: independent for every choice of tables
        ref[kind] = {"a_indep_c_given_d": d_separated(parents, "a", "c", ["d"]),
                     "a_indep_c_given_b_and_d": d_separated(parents, "a", "c", ["b", "d"])}
    return ref


def independences(answer) -> CheckResult:
    """Exercise 3, ``ex-2-0-canonical-independences``: for each graph in :data:`GRAPHS`, a dict
    ``{statement: bool}`` over :data:`STATEMENTS`.

    Each graph carries a fourth node d, a child of b (:data:`GRAPHS_WITH_D`);
    ``answer["chain"]["a_indep_c_given_d"]`` says whether a and c are independent given d for
    *every* choice of conditional tables on the chain with d. The checker says only whether all six
    answers are right, not which or how many are wrong.
    """
    name = "independences of the three canonical graphs"
    if answer is None:
        return result(name, ["the answer is None: fill in the dict."])
    if not isinstance(answer, dict):
        return result(name, [f"the answer should be a dict keyed by graph name; got {type(answer).__name__}."])
    ref = _reference_independences()
    problems, n_wrong = [], 0
    for kind in GRAPHS:
        entry = answer.get(kind)
        if not isinstance(entry, dict):
            problems.append(f"answer[{kind!r}] should be a dict with keys {STATEMENTS}.")
            continue
        missing = [s for s in STATEMENTS if s not in entry]
        if missing:
            problems.append(f"answer[{kind!r}] is missing {missing}.")
            continue
        values = {s: checker.as_bool(entry[s], f"answer[{kind!r}][{s!r}]") for s in STATEMENTS}
        typed = [s for s in STATEMENTS if values[s][1]]
        if typed:
            problems.append(f"answer[{kind!r}][{typed[0]!r}] should be True or False.")
            continue
        n_wrong += sum(values[s][0] != ref[kind][s] for s in STATEMENTS)
    if n_wrong and not problems:
        problems.append("not all six answers are right. For each graph, follow the path from a to c "
                        "through b and ask what observing d, a child of b, does to it.")
    return result(name, problems)


def prior_shift(p_ill_given_positive, discriminative_still_right) -> CheckResult:
    """Exercise 4, ``ex-2-0-prior-shift``: the generative model's p(ill | positive) under
    ``EX_SHIFT.pi_new`` (a number), and whether the discriminative table fitted under ``pi_train``
    still gives it (a bool)."""
    pi_train, pi_new, P, y = EX_SHIFT
    new = discrete.invert(pi_new, P, y).posterior[1]
    old = discrete.invert(pi_train, P, y).posterior[1]
    problems = compare_scalar(p_ill_given_positive, new, "p(ill | positive) at the new prevalence", hints={
        "you used the training prevalence pi_train; the point is to swap in pi_new": old,
        "you returned the new prevalence itself, without the test result": pi_new[1],
        "you returned the sensitivity p(positive | ill)": P[y, 1],
    })
    problems += compare_bool(discriminative_still_right, bool(abs(new - old) < 1e-9),
                             "your claim about the discriminative table")
    return result("prior shift: generative vs discriminative", problems)

#: For the graded (nbgrader) version: the functions each statement rules out, unavailable while the
#: student's code is graded (courseware/grading.py; a name without a dot is a function the page defines).
SUMMATIVE = {
    "ex-2-0-posterior-evidence": {"forbidden": ["pedagogy_lib.discrete.categorical.invert",
                                                "pedagogy_lib.discrete.categorical.marginal_y",
                                                "pedagogy_lib.discrete.categorical.reverse_arrow",
                                                "pedagogy_lib.discrete.categorical.update_sequence"],
                                  "same_data": "the statement spells out the numbers (specificity 0.93, sensitivity "
                                               "0.85, 2% of people ill), and the prior-shift exercise and the "
                                               "solution (from 0.02 to about 0.2) refer back to them"},
    "ex-2-0-explaining-away": {"forbidden": ["pedagogy_lib.discrete.categorical.joint_table",
                                             "pedagogy_lib.discrete.categorical.marginal",
                                             "pedagogy_lib.discrete.categorical.conditional",
                                             "pedagogy_lib.graphical.factors.marginals_by_enumeration",
                                             "pedagogy_lib.discrete.categorical.invert",
                                             "pedagogy_lib.graphical.bp.belief_propagation",
                                             "pedagogy_lib.graphical.junction.junction_marginal"]},
    "ex-2-0-canonical-independences": {"forbidden": ["networkx.is_d_separator", "pedagogy_lib.graphical.separation.d_separated",
                                                     "pedagogy_lib.discrete.categorical.is_independent"],
                                       "same_data": "the answer is a choice, True or False for each graph and "
                                                    "statement, which no choice of tables changes"},
    "ex-2-0-prior-shift": {"forbidden": ["pedagogy_lib.discrete.categorical.invert",
                                         "pedagogy_lib.discrete.categorical.marginal_y",
                                         "pedagogy_lib.discrete.categorical.reverse_arrow",
                                         "pedagogy_lib.discrete.categorical.update_sequence"],
                           "same_data": "the statement spells out the numbers (2% ill in the clinic, 20% in the "
                                        "outbreak, and the test of the first exercise), and the solution "
                                        "discusses the result (about 0.75, against about 0.2)"},
}
