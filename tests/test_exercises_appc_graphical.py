"""Tests for the Appendix C exercise checkers (pedagogy_lib.exercises.appc_graphical).

Correct answers come from the graphical family: networkx's d-separation, networkx's moral graph, and the
junction tree's normalizer of the clamped factors; the checker computes its own by enumeration.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib import graphical as g
from pedagogy_lib.exercises import appc_graphical as check


def _statements():
    out = {}
    for k in check.DSEP_KEYS:
        left, _, given = k.partition(" | ")
        a, b = (s.strip() for s in left.split("_||_"))
        out[k] = g.d_separated(check.EX_DAG, a, b, [s.strip() for s in given.split(",") if s.strip()])
    return out


def test_d_separations():
    truth = _statements()
    assert check.d_separations(truth)
    wrong = dict(truth)
    wrong["a _||_ b | c"] = not truth["a _||_ b | c"]
    r = check.d_separations(wrong)
    assert not r and "collider" in str(r)
    assert not check.d_separations({"a _||_ b": True})
    assert not check.d_separations(None)


def test_moral_edges():
    M = g.moral_graph(check.EX_DAG)
    directed = {frozenset((p, v)) for v, ps in check.EX_DAG.items() for p in ps}
    added = [tuple(e) for e in M.edges if frozenset(e) not in directed]
    assert check.moral_edges(added)
    assert check.moral_edges([tuple(reversed(e)) for e in added])
    fewer, more = str(check.moral_edges(added[:1])), str(check.moral_edges(added + [("x", "y")]))
    assert "[not yet]" in fewer and "marry each pair" in fewer
    assert fewer == more or "already edges" in more       # a miss does not say which way it is wrong
    r = check.moral_edges(added + [("a", "c")])
    assert not r and "already edges" in str(r)
    assert not check.moral_edges(None)


def test_evidence_probability():
    fs = [((v,) + tuple(ps), check.EX_CPTS[v]) for v, ps in check.EX_DAG.items()]
    jt = g.junction_tree([(vs + (), t) for vs, t in fs]
                         + [(("d",), np.array([0.0, 1.0])), (("f",), np.array([1.0, 0.0]))])
    p = np.exp(jt.log_Z)
    assert check.evidence_probability(p)
    r = check.evidence_probability(np.log(p))
    assert not r and "log" in str(r)
    assert not check.evidence_probability(2 * p)
