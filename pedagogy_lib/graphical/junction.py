r"""The junction-tree algorithm: exact inference on graphs with cycles, by making them tree-like.

Section 3.5 leaves "Junction-tree algorithm." as a stub; this is the standard construction, in four steps:

1. **Moralize**: the Markov network joins every pair of variables that share a factor (for a
   directed model, the parents of each node are "married").
2. **Triangulate**: add *fill-in* edges until every cycle of four or more nodes has a chord. Eliminating
   the variables in some order and connecting each one's remaining neighbours does this; the
   largest clique created (its size minus one is the order's *width*) sets the cost.
3. **Clique tree**: the maximal cliques of the chordal graph, joined by a maximum-weight spanning
   tree whose edge weights are the sizes of the cliques' intersections (the *separators*). Such a
   tree has the running-intersection property: a variable's cliques form a connected subtree.
4. **Pass messages** between cliques, leaves to root and back (sum-product on the clique tree). Each
   clique's belief is then proportional to the marginal of its variables.

The cost is :math:`O(\text{number of cliques}\times K^{w+1})` for width :math:`w`, against
:math:`O(K^N)` for enumeration: "bite the bullet and accept large cliques". The graph algorithms
(moralization, triangulation, maximal cliques, spanning tree) are :mod:`networkx`'s.
"""
from __future__ import annotations

from typing import Hashable, NamedTuple, Sequence

import networkx as nx
import numpy as np

from .factor_graph import make_factor_graph
from .factors import Factor, factor_product, marginal_of, sum_out

__all__ = ["JunctionTree", "markov_network", "triangulate", "junction_tree", "junction_marginal"]


class JunctionTree(NamedTuple):
    r"""A calibrated junction tree (result of :func:`junction_tree`).

    Attributes
    ----------
    cliques : list of tuple
        The maximal cliques of the triangulated graph, each a tuple of variables.
    edges : list of (int, int)
        The clique tree's edges, as pairs of indices into ``cliques``.
    separators : list of tuple
        ``separators[e]``: the variables the two cliques of ``edges[e]`` share.
    fill_in : list of (variable, variable)
        Edges the triangulation added to the Markov network.
    beliefs : list of Factor
        ``beliefs[c]``: the normalized marginal :math:`p(\mathbf x_{C_c})` of clique ``c``.
    marginals : dict
        Single-variable marginals :math:`p(x_v)`.
    log_Z : float
        :math:`\log Z`.
    width : int
        Largest clique size minus one (the treewidth of the triangulation).
    schedule : list of (int, int)
        Clique-to-clique messages in the order sent (collect, then distribute).
    """

    cliques: list
    edges: list
    separators: list
    fill_in: list
    beliefs: list
    marginals: dict
    log_Z: float
    width: int
    schedule: list


def markov_network(factors) -> nx.Graph:
    """The undirected graph joining every two variables that appear in a common factor (the moral graph)."""
    fg = make_factor_graph(factors)
    G = nx.Graph()
    G.add_nodes_from(fg.card)
    for f in fg.factors:
        vs = f.variables
        G.add_edges_from((vs[a], vs[b]) for a in range(len(vs)) for b in range(a + 1, len(vs)))
    return G


def triangulate(G: nx.Graph, order: Sequence[Hashable] | None = None) -> tuple[nx.Graph, list]:
    """A chordal supergraph of ``G`` and the fill-in edges it added.

    With ``order``, the variables are eliminated in that order (each one's not-yet-eliminated neighbours
    are joined); without it, networkx's minimal triangulation (``complete_to_chordal_graph``).

    Raises
    ------
    TypeError
        If ``G`` is not an undirected networkx graph.
    ValueError
        If ``order`` is not a permutation of the graph's nodes.
    """
    if not isinstance(G, nx.Graph) or G.is_directed():
        raise TypeError(f"G must be an undirected networkx.Graph (e.g. from markov_network); got {type(G).__name__}.")
    if order is None:
        H, _ = nx.complete_to_chordal_graph(G)
    else:
        order = list(order)
        if sorted(map(repr, order)) != sorted(map(repr, G.nodes)) or len(order) != G.number_of_nodes():
            raise ValueError(f"order must list every variable exactly once: {list(G.nodes)}; got {order}.")
        H = G.copy()
        work = G.copy()
        for v in order:
            nbrs = list(work.neighbors(v))
            for a in range(len(nbrs)):
                for b in range(a + 1, len(nbrs)):
                    if not work.has_edge(nbrs[a], nbrs[b]):
                        work.add_edge(nbrs[a], nbrs[b])
                        H.add_edge(nbrs[a], nbrs[b])
            work.remove_node(v)
    fill = [e for e in H.edges if not G.has_edge(*e)]
    return H, fill


#: A clique's product of its potential and its incoming messages is divided by its largest entry (its log
#: going to log Z) once that entry falls below this.
_PRODUCT_LO = 1e-200


def _scaled(f: Factor) -> tuple[Factor, float]:
    """``f`` divided by its largest entry, and the log of that entry (``f`` itself and 0 for an all-zero table)."""
    top = float(f.table.max())
    if not top > 0:
        return f, 0.0
    return Factor(f.variables, f.table / top), float(np.log(top))


def junction_tree(factors, *, order: Sequence[Hashable] | None = None) -> JunctionTree:
    r"""Exact marginals and :math:`\log Z` of any (small-width) discrete model by the junction-tree algorithm.

    Parameters
    ----------
    factors : list of Factor or (variables, table), or FactorGraph
        The model :math:`\frac1Z\prod_f\psi_f`.
    order : sequence of variables, optional
        Elimination order for the triangulation (default: networkx's minimal triangulation).

    Returns
    -------
    JunctionTree

    Raises
    ------
    ValueError
        If the factors are invalid, ``order`` is not a permutation of the variables, or :math:`Z = 0`.
    """
    fg = make_factor_graph(factors)
    G = markov_network(fg)
    H, fill = triangulate(G, order)
    position = {v: i for i, v in enumerate(fg.card)}
    cliques = [tuple(sorted(c, key=position.__getitem__)) for c in nx.chordal_graph_cliques(H)]
    cliques.sort(key=lambda c: [position[v] for v in c])
    C = nx.Graph()
    C.add_nodes_from(range(len(cliques)))
    for a in range(len(cliques)):
        for b in range(a + 1, len(cliques)):
            C.add_edge(a, b, weight=len(set(cliques[a]) & set(cliques[b])))
    T = nx.maximum_spanning_tree(C)
    edges = sorted(tuple(sorted(e)) for e in T.edges)
    separators = [tuple(v for v in cliques[a] if v in cliques[b]) for a, b in edges]

    # each factor goes to the first clique that contains its scope; every table, and every clique
    # potential after each product, is divided by its largest entry, whose log goes to log Z, so
    # that potentials of any scale neither under- nor overflow (issue 53)
    card = fg.card
    potentials = [Factor(c, np.ones([card[v] for v in c])) for c in cliques]
    log_Z = 0.0
    for k, f in enumerate(fg.factors):
        home = next(i for i, c in enumerate(cliques) if set(f.variables) <= set(c))
        f, log_top = _scaled(f)
        prod, log_prod = _scaled(marginal_of(factor_product(potentials[home], f), cliques[home]))
        potentials[home] = prod
        log_Z += log_top + log_prod

    # collect towards clique 0 then distribute (tree BP on the clique tree)
    order_edges = list(nx.bfs_edges(T, 0)) if len(cliques) > 1 else []
    schedule = [(c, p) for p, c in reversed(order_edges)] + list(order_edges)
    msgs: dict = {}

    def incoming(i, exclude):
        """Clique i's potential times the messages from its neighbours but ``exclude``, and the log of
        what it was divided by on the way (a clique with many neighbours does not underflow)."""
        out, log_scale = potentials[i], 0.0
        for j in T.neighbors(i):
            if j != exclude and (j, i) in msgs:
                out = factor_product(out, msgs[(j, i)])
                top = float(out.table.max())
                if 0.0 < top < _PRODUCT_LO:
                    out, log_scale = Factor(out.variables, out.table / top), log_scale + float(np.log(top))
        return out, log_scale

    for n, (i, j) in enumerate(schedule):
        sep = [v for v in cliques[i] if v in cliques[j]]
        into, log_scale = incoming(i, j)
        m = sum_out(into, [v for v in cliques[i] if v not in sep])
        s = float(m.table.sum())
        if not s > 0:
            raise ValueError("factors give every configuration probability zero (Z = 0).")
        msgs[(i, j)] = Factor(m.variables, m.table / s)
        if n < len(order_edges):
            log_Z += np.log(s) + log_scale
    root, log_scale = incoming(0, None)
    s0 = float(root.table.sum())
    if not s0 > 0:
        raise ValueError("factors give every configuration probability zero (Z = 0).")
    log_Z += np.log(s0) + log_scale
    # disconnected Markov networks: the spanning tree joins components by empty separators, whose
    # messages are scalars, so the root's total already includes every component's normalizer
    beliefs = []
    for i, c in enumerate(cliques):
        b = marginal_of(incoming(i, None)[0], c)
        beliefs.append(Factor(c, b.table / b.table.sum()))
    marginals = {}
    for v in card:
        i = min((i for i, c in enumerate(cliques) if v in c), key=lambda i: len(cliques[i]))
        marginals[v] = marginal_of(beliefs[i], (v,)).table
    width = max(len(c) for c in cliques) - 1
    return JunctionTree(cliques, edges, separators, fill, beliefs, marginals, float(log_Z), width, schedule)


def junction_marginal(jt: JunctionTree, variables: Sequence[Hashable]) -> Factor:
    """The joint marginal of ``variables`` from a clique that contains them all.

    Raises
    ------
    TypeError
        If ``jt`` is not a :class:`JunctionTree` or ``variables`` is not a sequence.
    ValueError
        If ``jt``'s beliefs do not match its cliques, a belief is not a valid factor, or no single
        clique contains all of ``variables`` (the junction tree does not hold that joint).
    """
    if not isinstance(jt, JunctionTree):
        raise TypeError(f"jt must be the JunctionTree returned by junction_tree; got {type(jt).__name__}.")
    if isinstance(variables, (str, bytes)) or not isinstance(variables, Sequence):
        raise TypeError(f"variables must be a sequence of variable names; got {type(variables).__name__} "
                        f"{variables!r}.")
    if len(jt.cliques) != len(jt.beliefs):
        raise ValueError(f"jt.beliefs must hold one factor per clique ({len(jt.cliques)}); got {len(jt.beliefs)}.")
    for c, b in zip(jt.cliques, jt.beliefs):
        if not isinstance(b, Factor) or set(b.variables) != set(c):
            raise ValueError(f"jt.beliefs must be factors over the cliques jt.cliques; the belief of clique {c} "
                             f"is over {getattr(b, 'variables', b)!r}.")
    want = tuple(variables)
    for c, b in zip(jt.cliques, jt.beliefs):
        if set(want) <= set(c):
            return marginal_of(b, want)
    raise ValueError(f"variables {want} are not all in one clique of the junction tree {jt.cliques}.")
