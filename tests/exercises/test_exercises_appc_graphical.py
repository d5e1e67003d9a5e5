"""Tests for the Appendix C exercise checkers (pedagogy_lib.exercises.appc_graphical).

Correct answers come from the graphical family: networkx's d-separation, networkx's moral graph (also of the
ancestors of a query, for d-separation as a function), and the junction tree's normalizer of the clamped factors;
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


def test_one_call_routes_are_forbidden():
    S = check.SUMMATIVE
    assert "pedagogy_lib.graphical.separation.d_separated" in S["ex-c-dsep"]["forbidden"]
    assert "pedagogy_lib.graphical.separation.moral_graph" in S["ex-c-moral"]["forbidden"]
    assert "pedagogy_lib.graphical.junction.junction_tree" in S["ex-c-evidence"]["forbidden"]
    assert {"pedagogy_lib.graphical.separation.separated",
            "pedagogy_lib.graphical.separation.moral_graph"} <= set(S["ex-c-dsep-function"]["forbidden"])


# ---------------------------------------------------------------- exercise (d): d-separation as a function
def _ancestral_moral(parents, a, c, given):
    """d-separation as plain separation in the moral graph of a, c, the observed nodes and their ancestors."""
    keep, todo = set(), [a, c, *given]
    while todo:
        v = todo.pop()
        if v not in keep:
            keep.add(v)
            todo.extend(parents[v])
    return g.separated(g.moral_graph({v: parents[v] for v in keep}), a, c, given)


def _skeleton(parents, a, c, given):
    import networkx as nx

    H = nx.Graph()
    H.add_nodes_from(parents)
    H.add_edges_from((p, v) for v, ps in parents.items() for p in ps)
    return g.separated(H, a, c, given)


def _collider_itself(parents, a, c, given):
    """Every path enumerated with networkx, a collider letting it through only when the collider is observed."""
    import networkx as nx

    H = nx.Graph()
    H.add_nodes_from(parents)
    H.add_edges_from((p, v) for v, ps in parents.items() for p in ps)
    for path in nx.all_simple_paths(H, a, c):
        if all((m in given) if (u in parents[m] and w in parents[m]) else (m not in given)
               for u, m, w in zip(path, path[1:], path[2:])):
            return False
    return True


@pytest.mark.parametrize("right", [lambda P, a, c, S: g.d_separated(P, a, c, S), _ancestral_moral])
def test_d_separation_function_reference_passes(right):
    assert check.d_separation_function(right)


@pytest.mark.parametrize("wrong, fragment", [
    (_skeleton, "ignored the arrows"),
    (_collider_itself, "only when it is observed itself"),
    (lambda P, a, c, S: g.separated(g.moral_graph(P), a, c, S), "moral graph of the whole graph"),
    (lambda P, a, c, S: not g.d_separated(P, a, c, S), "no single named slip"),
    (lambda P, a, c, S: None, "is None"),
    (lambda P, a, c, S: P["a"], "KeyError"),
])
def test_d_separation_function_slips_are_named(wrong, fragment):
    r = check.d_separation_function(wrong)
    assert not r and fragment in str(r), str(r)


def test_d_separation_function_names_the_graph_not_the_query():
    assert "should be a function" in str(check.d_separation_function({"a": []}))
    for wrong in (_skeleton, lambda P, a, c, S: True, lambda P, a, c, S: len(S) > 0):
        msg = str(check.d_separation_function(wrong))
        assert "test problem" in msg and "given =" not in msg and "True" not in msg and "False" not in msg, msg
