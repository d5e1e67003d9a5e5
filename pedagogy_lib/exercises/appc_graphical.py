r"""Checkers for the exercises of Appendix C (a review of probabilistic graphical models)."""
from __future__ import annotations

import itertools

import numpy as np

from ..discrete import categorical as cat
from .checker import FUNCTION_ANSWER, CheckResult, as_bool, compare_scalar, result, problem_rng

__all__ = ["EX_DAG", "EX_GRAPH", "EX_CPTS", "EX_GRAPH_CPTS", "EX_EVIDENCE", "DSEP_KEYS", "d_separations",
           "moral_edges", "evidence_probability", "d_separation_function"]

#: The directed graph of the page's examples, as {node: parents}; the format of the answers' graphs.
EX_DAG = {"a": [], "b": [], "c": ["a", "b"], "d": ["c"], "e": ["c"], "f": ["e", "b"]}

#: Exercises (a)-(c): a directed graph as {node: parents}, not the page's.
EX_GRAPH = {"p": [], "q": [], "r": ["p"], "s": ["p", "q"], "t": ["r", "s"], "u": ["s"], "v": ["t", "u"]}

#: Exercise (a): statements "x _||_ y | S" about EX_GRAPH.
DSEP_KEYS = ("p _||_ q", "p _||_ q | v", "r _||_ s | p", "r _||_ u | s", "r _||_ u | s, v", "q _||_ r | t")


def _cpts(seed: int = 3601, graph=None) -> dict:
    rng = problem_rng(seed)
    out = {}
    for v, ps in (EX_DAG if graph is None else graph).items():
        draws = rng.dirichlet(np.ones(2) * 1.5, size=(2,) * len(ps) or None)
        out[v] = np.moveaxis(np.asarray(draws), -1, 0)
    return out


#: The page's binary conditional tables of EX_DAG, ``EX_CPTS[v][x_v, x_pa1, x_pa2, ...]``.
EX_CPTS = _cpts()

#: Exercise (c): binary conditional tables of EX_GRAPH, ``EX_GRAPH_CPTS[v][x_v, x_pa1, x_pa2, ...]``.
EX_GRAPH_CPTS = _cpts(3603, EX_GRAPH)

#: Exercise (c): the observed values.
EX_EVIDENCE = {"r": 1, "v": 0}


def _parse(key: str):
    left, _, given = key.partition(" | ")
    a, b = (s.strip() for s in left.split("_||_"))
    return a, b, tuple(s.strip() for s in given.split(",") if s.strip())


def d_separations(answer) -> CheckResult:
    """Exercise (a), ``ex-c-dsep``: a dict over :data:`DSEP_KEYS`, True where the statement holds in :data:`EX_GRAPH`
    for every distribution on it. All or nothing."""
    if not isinstance(answer, dict):
        return result("d-separation in EX_GRAPH", [f"your answer should be a dict with the keys of "
                                                   f"check.DSEP_KEYS; got {type(answer).__name__}."])
    dag = cat.make_dag(_cpts(3602, EX_GRAPH), EX_GRAPH)
    problems = []
    missing = [k for k in DSEP_KEYS if k not in answer]
    if missing:
        problems.append(f"missing statements: {missing} (copy the keys from check.DSEP_KEYS).")
    wrong = False
    for k in DSEP_KEYS:
        if k not in answer:
            continue
        value, p = as_bool(answer[k], f"the value for {k!r}")
        problems += p
        a, b, given = _parse(k)
        if not p and value != cat.is_independent(dag, a, b, given, atol=1e-12):
            wrong = True
    if wrong and not problems:
        problems.append("not all the statements are right (the six are judged together): trace every path "
                        "and check each middle node, chain, fork or collider, and whether it or a descendant "
                        "is observed.")
    return result("d-separation in EX_GRAPH", problems)


def moral_edges(answer) -> CheckResult:
    """Exercise (b), ``ex-c-moral``: the edges moralization *adds* to :data:`EX_GRAPH`, a list of pairs in any order.
    Edges the graph already has are named; missing or extra ones are not."""
    expected = set()
    for _, ps in EX_GRAPH.items():
        for u, w in itertools.combinations(ps, 2):
            expected.add(frozenset((u, w)))
    directed = {frozenset((p, v)) for v, ps in EX_GRAPH.items() for p in ps}
    expected -= directed
    if answer is None:
        return result("edges added by moralization", ["your answer is None: give a list of pairs, e.g. [('x', 'y')]."])
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


def evidence_probability(answer) -> CheckResult:
    """Exercise (c), ``ex-c-evidence``: your p(:data:`EX_EVIDENCE`) under the tables :data:`EX_GRAPH_CPTS` of
    :data:`EX_GRAPH`, a probability. Slips named: the opposite values, a log."""
    from .references import appc_graphical as refs
    expected = refs.evidence_by_enumeration(EX_GRAPH, EX_GRAPH_CPTS, EX_EVIDENCE)
    flipped = {k: 1 - v for k, v in EX_EVIDENCE.items()}
    hints = {"you clamped the opposite values (r = 0, v = 1)":
                 refs.evidence_by_enumeration(EX_GRAPH, EX_GRAPH_CPTS, flipped),
             "you returned the log of the probability": np.log(expected)}
    return result("p(r = 1, v = 0)", compare_scalar(answer, expected, "p(evidence)", rtol=1e-9, hints=hints))


def _random_dag(r, names, p_edge):
    """{node: parents} on ``names``, each node earlier in a random order a parent with probability p_edge."""
    order = [str(v) for v in r.permutation(names)]
    dag = {v: sorted(u for u in order[:i] if r.random() < p_edge) for i, v in enumerate(order)}
    return {v: dag[v] for v in sorted(dag)}


def _dsep_cases():
    """Hidden graphs and queries (a, c, given), among them queries each slip gets wrong."""
    from .references import appc_graphical as refs
    r = problem_rng(3603)
    cases = []
    for n, p_edge, n_queries in [(5, 0.45, 20), (7, 0.35, 30), (8, 0.3, 36), (9, 0.3, 40)]:
        names = [f"x{k}" for k in range(1, n + 1)] if n != 7 else list("pqrstuv")
        while True:
            dag = _random_dag(r, names, p_edge)
            pool = [(x, y, S) for x, y in itertools.combinations(names, 2)
                    for k in range(3) for S in itertools.combinations([v for v in names if v not in (x, y)], k)]
            ans = refs.dsep_answers(dag, pool)
            differ = {k: [i for i in range(len(pool)) if ans[k][i] != ans["right"][i]] for k in ans if k != "right"}
            connected = not any(refs.undirected_separated({frozenset((p, v)) for v, ps in dag.items() for p in ps},
                                                          dag, names[0], v, ()) for v in names[1:])
            if connected and all(differ.values()) and 0.2 < np.mean(ans["right"]) < 0.8:
                break
        chosen = set()
        for idx in differ.values():
            chosen.update(int(i) for i in r.choice(idx, size=min(3, len(idx)), replace=False))
        rest = [i for i in range(len(pool)) if i not in chosen]
        chosen.update(int(i) for i in r.choice(rest, size=n_queries - len(chosen), replace=False))
        queries = [(pool[i][0], pool[i][1], list(pool[i][2])) for i in r.permutation(sorted(chosen))]
        cases.append((dag, queries))
    return cases


def _trail_defect(dag, desc, trail, a, c, given):
    """What is wrong with ``trail`` as an active trail (a key of _TRAIL_DEFECTS), or None."""
    if not isinstance(trail, (list, tuple)) or not all(isinstance(v, str) for v in trail):
        return "shape"
    if len(trail) < 2 or trail[0] != a or trail[-1] != c or len(set(trail)) != len(trail) \
            or any(v not in dag for v in trail):
        return "shape"
    if any(u not in dag[w] and w not in dag[u] for u, w in zip(trail, trail[1:])):
        return "edge"
    given = set(given)
    for u, m, w in zip(trail, trail[1:], trail[2:]):
        if u in dag[m] and w in dag[m]:                           # a collider, u -> m <- w
            if m not in given and not desc[m] & given:
                return "collider"
        elif m in given:                                          # a chain or a fork, observed
            return "observed"
    return None


_TRAIL_DEFECTS = {
    "shape": "a trail should be a list of distinct node names that starts at a and ends at c",
    "edge": "two consecutive nodes of a trail are not joined by an arrow of the graph (in either direction); "
            "marrying parents, as moralizing does, adds links that are not arrows",
    "observed": "a chain or fork node on a trail is in given, which blocks the trail there",
    "collider": "a collider on a trail has neither itself nor any of its descendants in given, so it blocks "
                "the trail; you ignored the arrows there",
}


def d_separation_function(fn) -> CheckResult:
    """Exercise (d), ``ex-c-dsep-function``: your function ``fn(parents, a, c, given)`` returning an active trail from
    a to c (a list of names) or None when they are d-separated given ``given``. A miss names the graph and the kind of
    defect, not the query."""
    from .references import appc_graphical as refs
    title = "d-separation as a function"
    if not callable(fn):
        return result(title, [f"my_trail should be a function of (parents, a, c, given); got {type(fn).__name__}."])
    problems = []
    for i, (dag, queries) in enumerate(_dsep_cases()):
        where = f"test problem {i + 1} (a graph of {len(dag)} nodes, {len(queries)} queries)"
        desc = {m: refs.descendants(dag, m) for m in dag}
        got = []
        for a, c, S in queries:
            try:
                out = fn({v: list(ps) for v, ps in dag.items()}, a, c, list(S))
            except Exception as exc:  # noqa: BLE001 - any student error is reported, not raised
                problems = [f"your function raised {type(exc).__name__}: {exc} (on {where}, query a = {a!r}, "
                            f"c = {c!r}, given = {S!r})."]
                break
            if isinstance(out, (bool, np.bool_)):
                problems = [f"your function returned {type(out).__name__} on {where}: return a trail (a list of "
                            "node names from a to c) when a and c are d-connected, and None when they are "
                            "d-separated."]
                break
            if out is not None:
                defect = _trail_defect(dag, desc, list(out) if isinstance(out, tuple) else out, a, c, S)
                if defect:
                    problems = [f"a trail your function returned on {where} is not active: "
                                f"{_TRAIL_DEFECTS[defect]}."]
                    break
            got.append(out is None)
        if problems:
            break
        ans = refs.dsep_answers(dag, queries)
        if got == ans["right"]:
            continue
        if got == ans["itself"]:
            problems = [f"your function returned None for a query of {where} that has an active trail: you opened a "
                        "collider only when it is observed itself; an observed descendant opens it too."]
        else:
            problems = [f"your function returned None for a query of {where} that has an active trail: search every "
                        "path between the two nodes and check each middle node (chain, fork or collider)."]
        break
    return result(title, problems)


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-c-dsep-function": {"same_data": FUNCTION_ANSWER},
    "ex-c-dsep": {"same_data": "the statement spells out the graph; each answer is True or False"},
    "ex-c-moral": {"same_data": "the statement spells out the graph; the answer is a set of its edges"},
}
