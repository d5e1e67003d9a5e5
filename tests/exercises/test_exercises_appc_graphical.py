"""Tests for the Appendix C exercise checkers (pedagogy_lib.exercises.appc_graphical).

Correct answers come from the graphical family: networkx's d-separation, networkx's moral graph (also of the
ancestors of a query, for d-separation as a function, whose active trails come from networkx's path enumeration),
and the junction tree's normalizer of the clamped factors;
the checker computes its own by enumeration (of paths, for d-separation as a function).
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib import graphical as g
from pedagogy_lib.exercises import appc_graphical as check


def _statements(graph=None):
    out = {}
    for k in check.DSEP_KEYS:
        left, _, given = k.partition(" | ")
        a, b = (s.strip() for s in left.split("_||_"))
        out[k] = g.d_separated(check.EX_GRAPH if graph is None else graph, a, b,
                               [s.strip() for s in given.split(",") if s.strip()])
    return out


def test_the_exercise_graph_is_not_the_pages():
    assert set(check.EX_GRAPH) != set(check.EX_DAG)
    truth = _statements()
    assert set(truth.values()) == {True, False}


def test_d_separations_are_judged_all_or_nothing():
    truth = _statements()
    assert check.d_separations(truth)
    messages = set()
    for flip in (check.DSEP_KEYS[:1], check.DSEP_KEYS[1:2], check.DSEP_KEYS[:3], check.DSEP_KEYS):
        wrong = dict(truth)
        for k in flip:
            wrong[k] = not truth[k]
        r = check.d_separations(wrong)
        assert not r
        messages.add(str(r))
    assert len(messages) == 1                          # neither which nor how many
    assert not any(ch.isdigit() for ch in messages.pop())
    assert not check.d_separations({"p _||_ q": True})
    assert not check.d_separations(None)


def test_moral_edges():
    M = g.moral_graph(check.EX_GRAPH)
    directed = {frozenset((p, v)) for v, ps in check.EX_GRAPH.items() for p in ps}
    added = [tuple(e) for e in M.edges if frozenset(e) not in directed]
    assert len(added) == 3
    assert check.moral_edges(added)
    assert check.moral_edges([tuple(reversed(e)) for e in added])
    fewer, more = str(check.moral_edges(added[:1])), str(check.moral_edges(added + [("x", "y")]))
    assert "[not yet]" in fewer and "marry each pair" in fewer
    assert fewer == more or "already edges" in more       # a miss does not say which way it is wrong
    r = check.moral_edges(added + [("p", "r")])
    assert not r and "already edges" in str(r)
    assert not check.moral_edges([("a", "b"), ("b", "e")])   # the page's graph's answer
    assert not check.moral_edges(None)


def test_evidence_probability():
    fs = [((v,) + tuple(ps), check.EX_GRAPH_CPTS[v]) for v, ps in check.EX_GRAPH.items()]
    jt = g.junction_tree([(vs + (), t) for vs, t in fs]
                         + [(("r",), np.array([0.0, 1.0])), (("v",), np.array([1.0, 0.0]))])
    p = np.exp(jt.log_Z)
    assert check.evidence_probability(p)
    r = check.evidence_probability(np.log(p))
    assert not r and "log" in str(r)
    assert not check.evidence_probability(2 * p)
    page = [((v,) + tuple(ps), check.EX_CPTS[v]) for v, ps in check.EX_DAG.items()]
    page_z = np.exp(g.junction_tree(page + [(("d",), np.array([0.0, 1.0])), (("f",), np.array([1.0, 0.0]))]).log_Z)
    assert not check.evidence_probability(page_z)          # the number the page prints


# ---------------------------------------------------------------- exercise (d): d-separation with a witness
def _ancestral_moral(parents, a, c, given):
    """d-separation as plain separation in the moral graph of a, c, the observed nodes and their ancestors."""
    keep, todo = set(), [a, c, *given]
    while todo:
        v = todo.pop()
        if v not in keep:
            keep.add(v)
            todo.extend(parents[v])
    return g.separated(g.moral_graph({v: parents[v] for v in keep}), a, c, given)


def _skeleton_graph(parents):
    import networkx as nx

    H = nx.Graph()
    H.add_nodes_from(parents)
    H.add_edges_from((p, v) for v, ps in parents.items() for p in ps)
    return H


def _trails(parents, a, c, given, collider_open):
    """The simple paths from a to c (networkx's enumeration) that no middle node blocks, where
    ``collider_open(m)`` says whether the collider m lets a path through."""
    import networkx as nx

    out = []
    for path in nx.all_simple_paths(_skeleton_graph(parents), a, c):
        if all(collider_open(m) if (u in parents[m] and w in parents[m]) else (m not in given)
               for u, m, w in zip(path, path[1:], path[2:])):
            out.append(path)
    return out


def _open_by_descendants(parents, given):
    import networkx as nx

    D = nx.DiGraph([(p, v) for v, ps in parents.items() for p in ps])
    D.add_nodes_from(parents)
    return lambda m: m in given or bool(nx.descendants(D, m) & set(given))


def _first_trail(parents, a, c, given):
    """An active trail from networkx's path enumeration and descendants, or None."""
    trails = _trails(parents, a, c, given, _open_by_descendants(parents, given))
    return trails[0] if trails else None


def _longest_trail_as_tuple(parents, a, c, given):
    """Another active trail than the first, as a tuple: any active trail is an answer."""
    trails = _trails(parents, a, c, given, _open_by_descendants(parents, given))
    return tuple(max(trails, key=len)) if trails else None


def _library_decides(parents, a, c, given):
    """None where the library's d-separation and the ancestral moral graph agree that a and c are separated,
    else the first active trail: the checker's answer key against two other decisions."""
    separated = g.d_separated(parents, a, c, given)
    if separated != _ancestral_moral(parents, a, c, given):
        raise AssertionError("the two references of d-separation disagree")
    return None if separated else _first_trail(parents, a, c, given)


def _skeleton_trail(parents, a, c, given):
    """A path through which only observed chain and fork nodes block: colliders are let through."""
    trails = _trails(parents, a, c, given, lambda m: True)
    return trails[0] if trails else None


def _collider_itself(parents, a, c, given):
    """A collider lets a path through only when it is observed itself."""
    trails = _trails(parents, a, c, given, lambda m: m in given)
    return trails[0] if trails else None


def _moral_path(parents, a, c, given):
    """A path in the moral graph of the whole graph that avoids the observed nodes."""
    import networkx as nx

    M = g.moral_graph(parents)
    M = M.subgraph([v for v in M.nodes if v not in given])
    return nx.shortest_path(M, a, c) if nx.has_path(M, a, c) else None


def _given_ignored(parents, a, c, given):
    """Colliders judged right, but observed chain and fork nodes let through."""
    import networkx as nx

    opened = _open_by_descendants(parents, given)
    for path in nx.all_simple_paths(_skeleton_graph(parents), a, c):
        if all(opened(m) for u, m, w in zip(path, path[1:], path[2:]) if u in parents[m] and w in parents[m]):
            return path
    return None


@pytest.mark.parametrize("right", [_first_trail, _longest_trail_as_tuple, _library_decides])
def test_d_separation_function_reference_passes(right):
    assert check.d_separation_function(right)


@pytest.mark.parametrize("wrong, fragment", [
    (_skeleton_trail, "ignored the arrows"),
    (_collider_itself, "only when it is observed itself"),
    (_moral_path, "marrying parents"),
    (_given_ignored, "which blocks the trail there"),
    (lambda P, a, c, S: None, "that has an active trail: search every path"),
    (lambda P, a, c, S: g.d_separated(P, a, c, S), "return a trail"),
    (lambda P, a, c, S: None if g.d_separated(P, a, c, S) else [a, c], "not joined by an arrow"),
    (lambda P, a, c, S: None if g.d_separated(P, a, c, S) else _first_trail(P, c, a, S), "starts at a"),
    (lambda P, a, c, S: None if g.d_separated(P, a, c, S) else "".join(_first_trail(P, a, c, S)), "list of"),
    (lambda P, a, c, S: P["a"], "KeyError"),
])
def test_d_separation_function_slips_are_named(wrong, fragment):
    r = check.d_separation_function(wrong)
    assert not r and fragment in str(r), str(r)


def test_a_yes_or_no_decision_without_a_trail_does_not_pass():
    """Deciding d-separation without the path-blocking rules, as a generic linear-Gaussian model's partial
    correlation does (right for almost every choice of weights), gives no trail, so it cannot pass."""
    def partial_correlation(parents, a, c, given):
        names = sorted(parents)
        k = {v: i for i, v in enumerate(names)}
        rng = np.random.default_rng(0)
        B = np.zeros((len(names), len(names)))
        for v, ps in parents.items():
            for p in ps:
                B[k[v], k[p]] = rng.uniform(0.5, 1.5) * rng.choice([-1, 1])
        A = np.linalg.inv(np.eye(len(names)) - B)
        idx = [k[a], k[c]] + [k[v] for v in given]
        prec = np.linalg.inv((A @ A.T)[np.ix_(idx, idx)])
        return abs(prec[0, 1]) < 1e-9

    agree = []

    def as_separated_or_trail(parents, a, c, given):      # right as a yes-or-no answer on the checker's graphs
        agree.append(partial_correlation(parents, a, c, given) == g.d_separated(parents, a, c, given))
        return None if g.d_separated(parents, a, c, given) else _first_trail(parents, a, c, given)

    assert check.d_separation_function(as_separated_or_trail)
    assert len(agree) > 100 and all(agree)
    r = check.d_separation_function(partial_correlation)
    assert not r and "return a trail" in str(r)


def test_d_separation_function_names_the_graph_not_the_query():
    assert "should be a function" in str(check.d_separation_function({"a": []}))
    for wrong in (_skeleton_trail, _collider_itself, lambda P, a, c, S: None, lambda P, a, c, S: [a, c]):
        msg = str(check.d_separation_function(wrong))
        assert "test problem" in msg and "given =" not in msg and "c = " not in msg, msg
