"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.appc_graphical`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import itertools


def evidence_by_enumeration(graph, cpts, evidence) -> float:
    """p(evidence) under the Bayesian network ``graph`` with tables ``cpts``, by summing over every assignment."""
    names = list(graph)
    total = 0.0
    for x in itertools.product((0, 1), repeat=len(names)):
        val = dict(zip(names, x))
        if any(val[k] != v for k, v in evidence.items()):
            continue
        w = 1.0
        for v, ps in graph.items():
            w *= cpts[v][(val[v],) + tuple(val[p] for p in ps)]
        total += w
    return total


def descendants(dag, v):
    """The descendants of v in dag ({node: parents}), v itself left out."""
    children = {u: [w for w, ps in dag.items() if u in ps] for u in dag}
    seen, stack = set(), [v]
    while stack:
        for w in children[stack.pop()]:
            if w not in seen:
                seen.add(w)
                stack.append(w)
    return seen


def simple_paths(dag, x, y):
    """Every simple path from x to y with the arrows ignored."""
    neighbours = {u: set(dag[u]) | {w for w, ps in dag.items() if u in ps} for u in dag}
    paths, stack = [], [[x]]
    while stack:
        path = stack.pop()
        for w in neighbours[path[-1]]:
            if w == y:
                paths.append(path + [w])
            elif w not in path:
                stack.append(path + [w])
    return paths


def blocked_everywhere(dag, desc, paths, given, rule):
    """Whether ``given`` blocks every path (colliders open by descendants or only by themselves)."""
    given = set(given)
    for path in paths:
        through = True
        for a, m, b in zip(path, path[1:], path[2:]):
            if a in dag[m] and b in dag[m]:                       # a collider, a -> m <- b
                seen = m in given or (rule == "descendants" and bool(desc[m] & given))
                if not seen:
                    through = False
            elif m in given:                                      # a chain or a fork, observed
                through = False
        if through:
            return False
    return True


def undirected_separated(edges, nodes, x, y, given):
    """Whether removing ``given`` leaves no path from x to y in the undirected graph."""
    given = set(given)
    seen, stack = {x}, [x]
    while stack:
        u = stack.pop()
        for e in edges:
            if u in e:
                (w,) = tuple(e - {u})
                if w == y:
                    return False
                if w not in seen and w not in given:
                    seen.add(w)
                    stack.append(w)
    return True


def dsep_answers(dag, queries):
    """The right answers and those of named slips, one bool per query."""
    skeleton = {frozenset((p, v)) for v, ps in dag.items() for p in ps}
    moral = skeleton | {frozenset(pair) for ps in dag.values() for pair in itertools.combinations(ps, 2)}
    desc = {m: descendants(dag, m) for m in dag}
    paths = {}
    for x, y, _ in queries:
        if (x, y) not in paths:
            paths[x, y] = simple_paths(dag, x, y)
    return {
        "right": [blocked_everywhere(dag, desc, paths[x, y], S, "descendants") for x, y, S in queries],
        "itself": [blocked_everywhere(dag, desc, paths[x, y], S, "itself") for x, y, S in queries],
        "skeleton": [undirected_separated(skeleton, dag, x, y, S) for x, y, S in queries],
        "moral": [undirected_separated(moral, dag, x, y, S) for x, y, S in queries],
    }
