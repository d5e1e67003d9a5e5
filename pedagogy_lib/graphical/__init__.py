"""Discrete graphical models (Appendix C, Section 3.5): factors and factor graphs, belief propagation
(sum-product and max-product on trees, loopy BP on any graph), the junction-tree algorithm, and
reading independences off graphs (d-separation, graph separation).

Modules: :mod:`~pedagogy_lib.graphical.factors` (tables and their algebra, enumeration for checking),
:mod:`~pedagogy_lib.graphical.factor_graph`, :mod:`~pedagogy_lib.graphical.bp`,
:mod:`~pedagogy_lib.graphical.junction`, :mod:`~pedagogy_lib.graphical.separation`,
:mod:`~pedagogy_lib.graphical.tree` (sum-product on large pairwise trees) and
:mod:`~pedagogy_lib.graphical.kernels` (the numba kernel of that sum-product). The graph
algorithms (moralization, triangulation, cliques, d-separation) are networkx's.

Finite Markov chains live in :mod:`pedagogy_lib.discrete.markov_chain`.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, [
    "factors",
    "factor_graph",
    "bp",
    "junction",
    "separation",
    "tree",
    "kernels",
], module_only=("warmup_kernels",))
