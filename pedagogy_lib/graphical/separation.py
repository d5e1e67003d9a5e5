r"""Reading independences off graphs: d-separation in directed graphs, separation in undirected ones.

*Directed* (Appendix C; the three canonical graphs of Chapter 2). A path between :math:`A` and :math:`C`
is *blocked* by a set :math:`\mathcal S` if it passes through a chain :math:`\to B\to` or a fork
:math:`\leftarrow B\to` with :math:`B\in\mathcal S`, or through a collider :math:`\to B\leftarrow` such
that neither :math:`B` nor any of its descendants is in :math:`\mathcal S`. :math:`A` and :math:`C` are
*d-separated* by :math:`\mathcal S` when every path is blocked; then
:math:`A \perp C \mid \mathcal S` in every distribution that factorizes over the graph.

*Undirected* (Section 3.5's "usual graph-separation criterion"): :math:`A` and :math:`C` are
separated by :math:`\mathcal S` when every path from one to the other passes through
:math:`\mathcal S`, i.e. removing :math:`\mathcal S` disconnects them.

Graphs are given as a mapping ``{node: parents}`` (every node a key, roots with no parents), as a
:class:`~pedagogy_lib.discrete.categorical.DAG` from the discrete family, or as a
``networkx.DiGraph``. The separation tests are :mod:`networkx`'s.
"""
from __future__ import annotations

from typing import Hashable, Iterable, Mapping

import networkx as nx

__all__ = ["to_digraph", "d_separated", "moral_graph", "separated"]


def to_digraph(graph) -> nx.DiGraph:
    """A validated ``networkx.DiGraph`` from a ``{node: parents}`` mapping, a discrete ``DAG`` or a DiGraph.

    Raises
    ------
    ValueError
        If a parent is not a node, or the graph has a directed cycle (the message lists it).
    """
    if isinstance(graph, nx.DiGraph):
        G = graph.copy()
    elif hasattr(graph, "names") and hasattr(graph, "parents"):           # discrete.DAG
        G = nx.DiGraph()
        G.add_nodes_from(graph.names)
        G.add_edges_from((p, c) for c, ps in zip(graph.names, graph.parents) for p in ps)
    elif isinstance(graph, Mapping):
        G = nx.DiGraph()
        G.add_nodes_from(graph)
        for child, parents in graph.items():
            if isinstance(parents, (str, bytes)) or not isinstance(parents, Iterable):
                raise TypeError(f"graph[{child!r}] must be a list of parents; got {type(parents).__name__}.")
            for p in parents:
                if p not in graph:
                    raise ValueError(f"graph[{child!r}] names the parent {p!r}, which is not a node "
                                     f"(every node must be a key, roots with an empty list).")
                G.add_edge(p, child)
    else:
        raise TypeError(f"graph must be a {{node: parents}} mapping, a DAG or a networkx.DiGraph; "
                        f"got {type(graph).__name__}.")
    if not nx.is_directed_acyclic_graph(G):
        cycle = [u for u, _ in nx.find_cycle(G)]
        raise ValueError(f"graph must be acyclic; it has the directed cycle {' -> '.join(map(str, cycle + cycle[:1]))}.")
    return G


def _as_set(x, G, name: str) -> set:
    items = {x} if (isinstance(x, (str, int)) or not isinstance(x, Iterable)) else set(x)
    missing = [v for v in items if v not in G]
    if missing:
        raise ValueError(f"{name} names {missing}, not nodes of the graph {list(G.nodes)}.")
    return items


def d_separated(graph, a, c, given: Iterable[Hashable] = ()) -> bool:
    r"""Whether ``a`` and ``c`` (nodes or sets of nodes) are d-separated by ``given`` in a directed graph.

    Parameters
    ----------
    graph : mapping {node: parents}, discrete DAG, or networkx.DiGraph
    a, c : node or iterable of nodes
    given : iterable of nodes
        The conditioning set :math:`\mathcal S` (disjoint from ``a`` and ``c``).

    Raises
    ------
    ValueError
        If the graph has a cycle, a node is unknown, or the sets overlap.
    """
    G = to_digraph(graph)
    A, C, S = _as_set(a, G, "a"), _as_set(c, G, "c"), _as_set(given, G, "given")
    if A & C or A & S or C & S:
        raise ValueError(f"a, c and given must be disjoint; got a={sorted(map(str, A))}, c={sorted(map(str, C))}, "
                         f"given={sorted(map(str, S))}.")
    return bool(nx.is_d_separator(G, A, C, S))


def moral_graph(graph) -> nx.Graph:
    """The moral graph: parents of each node joined ("married"), then every edge made undirected."""
    return nx.moral_graph(to_digraph(graph))


def separated(graph: nx.Graph, a, c, given: Iterable[Hashable] = ()) -> bool:
    """Whether every path between ``a`` and ``c`` in an undirected graph passes through ``given``.

    Raises
    ------
    ValueError
        If a node is unknown or the sets overlap.
    """
    if not isinstance(graph, nx.Graph) or graph.is_directed():
        raise TypeError(f"graph must be an undirected networkx.Graph; got {type(graph).__name__}.")
    A, C, S = _as_set(a, graph, "a"), _as_set(c, graph, "c"), _as_set(given, graph, "given")
    if A & C or A & S or C & S:
        raise ValueError("a, c and given must be disjoint.")
    H = graph.subgraph(v for v in graph if v not in S)
    return not any(nx.has_path(H, u, w) for u in A for w in C)
