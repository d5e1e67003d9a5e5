r"""Factor graphs: the bipartite graph of variables and the factors that mention them.

A model :math:`p(\mathbf x) = \frac1Z\prod_f\psi_f(\mathbf x_f)` has one *variable node* per variable
and one *factor node* per factor, with an edge between a factor and each variable in its scope. Belief
propagation passes messages along these edges; it is exact when the graph has no cycle (a tree, or a
forest of trees). The graph itself is a :mod:`networkx` graph whose nodes are ``("var", name)`` and
``("factor", k)``.
"""
from __future__ import annotations

from typing import Hashable, NamedTuple

import networkx as nx

from .factors import check_factors

__all__ = ["FactorGraph", "make_factor_graph", "var_node", "factor_node", "message_schedule", "check_tree"]


class FactorGraph(NamedTuple):
    """A validated list of factors with its bipartite graph.

    Attributes
    ----------
    factors : list of Factor
    card : dict
        Number of states of each variable, in order of first appearance.
    graph : networkx.Graph
        Nodes ``("var", name)`` and ``("factor", k)``; an edge joins factor ``k`` to each of its variables.
    """

    factors: list
    card: dict
    graph: nx.Graph


def var_node(name: Hashable) -> tuple:
    """The graph node of a variable."""
    return ("var", name)


def factor_node(k: int) -> tuple:
    """The graph node of the ``k``-th factor."""
    return ("factor", k)


def make_factor_graph(factors) -> FactorGraph:
    """Validate ``factors`` (see :func:`~pedagogy_lib.graphical.factors.check_factors`) and build the graph.

    A :class:`FactorGraph` is accepted too: its ``factors`` are validated again and its ``card`` and
    ``graph`` rebuilt from them, so one built by hand or edited with ``_replace`` cannot carry a
    graph or cardinalities that disagree with its factors.

    Raises
    ------
    TypeError, ValueError
        If the factors are invalid (see :func:`~pedagogy_lib.graphical.factors.check_factors`).
    """
    if isinstance(factors, FactorGraph):
        factors = factors.factors
        if isinstance(factors, FactorGraph):
            raise TypeError("FactorGraph.factors must be a list of factors; got a FactorGraph.")
        return make_factor_graph(factors)
    factors, card = check_factors(factors)
    G = nx.Graph()
    G.add_nodes_from(var_node(v) for v in card)
    for k, f in enumerate(factors):
        G.add_node(factor_node(k))
        G.add_edges_from((factor_node(k), var_node(v)) for v in f.variables)
    return FactorGraph(factors, card, G)


def check_tree(fg: FactorGraph, name: str = "factors") -> None:
    """Raise a ``ValueError`` naming a cycle unless the factor graph is a forest (exact BP needs one).

    ``fg`` may be a :class:`FactorGraph` or a list of factors (validated by :func:`make_factor_graph`).
    """
    fg = make_factor_graph(fg)
    if not nx.is_forest(fg.graph):
        cycle = nx.find_cycle(fg.graph)
        names = [n[1] for n, _ in cycle if n[0] == "var"]
        raise ValueError(f"{name} do not form a tree: the factor graph has a cycle through the variables {names}. "
                         "Use junction_tree (exact) or loopy_belief_propagation (approximate) instead.")


def message_schedule(fg: FactorGraph, root: Hashable | None = None) -> list[tuple[tuple, tuple]]:
    r"""The order in which tree belief propagation sends its messages: leaves to root, then back.

    Each connected component is rooted at a variable (``root`` for its own component, otherwise the
    component's first variable). The *collect* pass sends every message towards the root, each as
    soon as its sender has heard from all its other neighbours; the *distribute* pass sends the
    reverse messages from the root outwards. A tree with :math:`E` edges gets :math:`2E` messages.

    Returns
    -------
    list of (sender, receiver)
        Graph nodes as in :func:`var_node` / :func:`factor_node`.
    """
    fg = make_factor_graph(fg)
    check_tree(fg)
    G = fg.graph
    if root is not None and var_node(root) not in G:
        raise ValueError(f"root must be one of the variables {list(fg.card)}; got {root!r}.")
    collect, distribute = [], []
    seen = set()
    starts = ([var_node(root)] if root is not None else []) + [var_node(v) for v in fg.card]
    for start in starts:
        if start in seen:
            continue
        order = list(nx.bfs_edges(G, start))               # (parent, child) pairs, parents first
        seen.add(start)
        seen.update(c for _, c in order)
        collect.extend((c, p) for p, c in reversed(order))
        distribute.extend(order)
    return collect + distribute

