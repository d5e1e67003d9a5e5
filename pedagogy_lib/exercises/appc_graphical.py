r"""Checkers for the exercises of Appendix C (a review of probabilistic graphical models).

Use in the notebook as::

    from pedagogy_lib.exercises import appc_graphical as check
    check.EX_DAG                      # the six-node directed graph of the exercises
    check.d_separations(my_dict)      # says what is wrong, never the answer

Reference answers are computed in this module, independently of the library's graph functions.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..discrete import categorical as cat
from .checker import CheckResult, as_bool, compare_scalar, result, problem_rng

__all__ = ["EX_DAG", "EX_CPTS", "EX_EVIDENCE", "DSEP_KEYS", "d_separations", "moral_edges", "evidence_probability"]

#: The directed graph of the exercises, as {node: parents}.
EX_DAG = {"a": [], "b": [], "c": ["a", "b"], "d": ["c"], "e": ["c"], "f": ["e", "b"]}

#: Exercise (a): statements "x _||_ y | S" about EX_DAG.
DSEP_KEYS = ("a _||_ b", "a _||_ b | c", "a _||_ b | d", "d _||_ e | c", "a _||_ f | c", "d _||_ f | c, b")


def _cpts(seed: int = 3601) -> dict:
    rng = problem_rng(seed)
    out = {}
    for v, ps in EX_DAG.items():
        draws = rng.dirichlet(np.ones(2) * 1.5, size=(2,) * len(ps) or None)
        out[v] = np.moveaxis(np.asarray(draws), -1, 0)
    return out


#: Exercise (c): binary conditional tables, ``EX_CPTS[v][x_v, x_pa1, x_pa2, ...]``.
EX_CPTS = _cpts()

#: Exercise (c): the observed values.
EX_EVIDENCE = {"d": 1, "f": 0}


def _parse(key: str):
    left, _, given = key.partition(" | ")
    a, b = (s.strip() for s in left.split("_||_"))
    return a, b, tuple(s.strip() for s in given.split(",") if s.strip())


def d_separations(answer) -> CheckResult:
    """Exercise (a), ``ex-c-dsep``: which statements of :data:`DSEP_KEYS` hold for :data:`EX_DAG`.

    Pass a dict with every key of ``DSEP_KEYS``, each mapped to True (the statement holds for every
    distribution on the graph) or False. The checker says how many are wrong, not which.
    """
    if not isinstance(answer, dict):
        return result("d-separation in EX_DAG", [f"your answer should be a dict with the keys of check.DSEP_KEYS; "
                                                 f"got {type(answer).__name__}."])
    dag = cat.make_dag(_cpts(3602), EX_DAG)
    problems = []
    missing = [k for k in DSEP_KEYS if k not in answer]
    if missing:
        problems.append(f"missing statements: {missing} (copy the keys from check.DSEP_KEYS).")
    wrong = []
    for k in DSEP_KEYS:
        if k not in answer:
            continue
        value, p = as_bool(answer[k], f"the value for {k!r}")
        problems += p
        a, b, given = _parse(k)
        if not p and value != cat.is_independent(dag, a, b, given, atol=1e-12):
            wrong.append(k)
    if wrong:
        colliders = [k for k in wrong if "a _||_ b" in k]
        hint = (" Look at the collider c: it blocks the path while neither it nor a descendant is observed."
                if colliders else " Trace every path and check each middle node: chain, fork or collider?")
        problems.append(f"{len(wrong)} statement{'s are' if len(wrong) > 1 else ' is'} not right.{hint}")
    return result("d-separation in EX_DAG", problems)


def moral_edges(answer) -> CheckResult:
    """Exercise (b), ``ex-c-moral``: the edges that moralization *adds* to :data:`EX_DAG`.

    Pass a list of pairs of node names, e.g. ``[("x", "y")]``, in any order. The checker recognizes
    edges the graph already has, missing edges and extra edges.
    """
    expected = set()
    for _, ps in EX_DAG.items():
        for u, w in itertools.combinations(ps, 2):
            expected.add(frozenset((u, w)))
    directed = {frozenset((p, v)) for v, ps in EX_DAG.items() for p in ps}
    expected -= directed
    if answer is None:
        return result("edges added by moralization", ["your answer is None: give a list of pairs such as [('x', 'y')]."])
    try:
        got = {frozenset(pair) for pair in answer}
    except TypeError:
        return result("edges added by moralization", ["give a list of pairs of node names, e.g. [('x', 'y')]."])
    problems = []
    if any(len(p) != 2 for p in got):
        problems.append("every edge should be a pair of two different nodes.")
    elif got & directed:
        problems.append("some of your pairs are already edges of the graph: list only the edges moralization adds.")
    elif got != expected:
        problems.append("not the set of edges moralization adds: for every node with two or more parents, "
                        "marry each pair of its parents, and add nothing else.")
    return result("edges added by moralization", problems)


def _p_evidence() -> float:
    names = list(EX_DAG)
    total = 0.0
    for x in itertools.product((0, 1), repeat=len(names)):
        val = dict(zip(names, x))
        if any(val[k] != v for k, v in EX_EVIDENCE.items()):
            continue
        w = 1.0
        for v, ps in EX_DAG.items():
            w *= EX_CPTS[v][(val[v],) + tuple(val[p] for p in ps)]
        total += w
    return total


def evidence_probability(answer) -> CheckResult:
    """Exercise (c), ``ex-c-evidence``: your probability of the evidence :data:`EX_EVIDENCE`
    (d = 1 and f = 0) under the tables :data:`EX_CPTS`, a single number (not its log).

    The checker recognizes the opposite values clamped and a log-probability.
    """
    expected = _p_evidence()
    flipped = {"d": 0, "f": 1}
    names = list(EX_DAG)
    wrong_ev = 0.0
    for x in itertools.product((0, 1), repeat=len(names)):
        val = dict(zip(names, x))
        if all(val[k] == v for k, v in flipped.items()):
            w = 1.0
            for v, ps in EX_DAG.items():
                w *= EX_CPTS[v][(val[v],) + tuple(val[p] for p in ps)]
            wrong_ev += w
    hints = {"you clamped the opposite values (d = 0, f = 1)": wrong_ev,
             "you returned the log of the probability": np.log(expected)}
    return result("p(d = 1, f = 0)", compare_scalar(answer, expected, "p(evidence)", rtol=1e-9, hints=hints))


#: For the graded (nbgrader) version: why some exercises keep the same data for every student
#: (courseware/grading.py).
SUMMATIVE = {
    "ex-c-dsep": {"same_data": "the statement spells out the graph (a -> c <- b, c -> d, c -> e, e -> f <- b) and "
                               "the statements of DSEP_KEYS; each answer is True or False"},
    "ex-c-moral": {"same_data": "the graph is the one spelled out in the statement of ex-c-dsep and on the page; the "
                                "answer is a set of edges, a structure of that named graph"},
}
