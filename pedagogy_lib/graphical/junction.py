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
:math:`O(K^N)` for enumeration: "bite the bullet and accept large cliques". The moral graph, and the
triangulation along a given elimination order, are built here; :mod:`networkx` finds the maximal cliques, the
spanning tree, and a minimal triangulation when no order is given.
"""
from __future__ import annotations

from typing import Hashable, NamedTuple, Sequence

import networkx as nx
import numpy as np

from ..core.logmath import logsumexp
from .factor_graph import make_factor_graph
from .factors import Factor, marginal_of

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


def _log_expand(variables: tuple, log_table: np.ndarray, target: tuple) -> np.ndarray:
    """``log_table`` (over ``variables``, all in ``target``) with its axes in ``target``'s order and size-1
    axes for the rest of ``target``, to broadcast against a table over ``target``."""
    present = [v for v in target if v in variables]
    T = log_table.transpose([variables.index(v) for v in present])
    return T.reshape([log_table.shape[variables.index(v)] if v in variables else 1 for v in target])


def _log_sum_to(L: np.ndarray, variables: tuple, keep: list) -> np.ndarray:
    """``log`` of the sum of ``exp(L)`` (a table over ``variables``) over every variable not in ``keep``,
    by log-sum-exp; the result's axes follow ``keep``."""
    L = np.moveaxis(L, [variables.index(v) for v in keep], list(range(len(keep))))
    shape = L.shape[:len(keep)]
    return logsumexp(L.reshape(int(np.prod(shape, dtype=np.int64)), -1), axis=1).reshape(shape)


def junction_tree(factors, *, order: Sequence[Hashable] | None = None) -> JunctionTree:
    r"""Exact marginals and :math:`\log Z` of any (small-width) discrete model by the junction-tree algorithm.

    The clique potentials and messages are kept in logs (a product of tables is a sum of their logs, a
    sum over states a log-sum-exp by its largest term, each message normalized in logs), so potentials
    of any positive scale, tables holding :math:`e^{600}` beside :math:`e^{-600}` included, give the
    right marginals and :math:`\log Z`; ``beliefs`` and ``marginals`` are exponentiated at the end.

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

    # each factor goes to the first clique that contains its scope; a clique's log potential is the sum
    # of its factors' log tables (-inf where a table is zero), so no scale of the tables under- or overflows
    card = fg.card
    log_pot = [np.zeros([card[v] for v in c]) for c in cliques]
    with np.errstate(divide="ignore"):
        for f in fg.factors:
            home = next(i for i, c in enumerate(cliques) if set(f.variables) <= set(c))
            log_pot[home] = log_pot[home] + _log_expand(f.variables, np.log(f.table), cliques[home])

    # collect towards clique 0 then distribute (tree BP on the clique tree), every message in logs
    order_edges = list(nx.bfs_edges(T, 0)) if len(cliques) > 1 else []
    schedule = [(c, p) for p, c in reversed(order_edges)] + list(order_edges)
    msgs: dict = {}                                  # (i, j) -> (separator variables, normalized log message)

    def incoming(i, exclude):
        """Clique i's log potential plus the log messages from its neighbours but ``exclude``."""
        out = log_pot[i]
        for j in T.neighbors(i):
            if j != exclude and (j, i) in msgs:
                sep, m = msgs[(j, i)]
                out = out + _log_expand(sep, m, cliques[i])
        return out

    def normalizer(L):
        s = float(logsumexp(L.ravel()))
        if s == -np.inf:
            raise ValueError("factors give every configuration probability zero (Z = 0).")
        return s

    log_Z = 0.0
    for n, (i, j) in enumerate(schedule):
        sep = tuple(v for v in cliques[i] if v in cliques[j])
        m = _log_sum_to(incoming(i, j), cliques[i], list(sep))
        s = normalizer(m)
        msgs[(i, j)] = (sep, m - s)
        if n < len(order_edges):
            log_Z += s
    # disconnected Markov networks: the spanning tree joins components by empty separators, whose
    # messages are scalars, so the root's total already includes every component's normalizer
    log_Z += normalizer(incoming(0, None))
    log_beliefs = []
    for i in range(len(cliques)):
        L = incoming(i, None)
        log_beliefs.append(L - normalizer(L))
    beliefs = [Factor(c, np.exp(L)) for c, L in zip(cliques, log_beliefs)]
    marginals = {}
    for v in card:
        i = min((i for i, c in enumerate(cliques) if v in c), key=lambda i: len(cliques[i]))
        marginals[v] = np.exp(_log_sum_to(log_beliefs[i], cliques[i], [v]))
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
