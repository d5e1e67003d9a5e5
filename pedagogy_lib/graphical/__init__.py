"""Discrete graphical models (Appendix C, Section 3.5): factors and factor graphs, belief propagation
(sum-product and max-product on trees, loopy BP on any graph), the junction-tree algorithm, and
reading independences off graphs (d-separation, graph separation).

Modules: :mod:`~pedagogy_lib.graphical.factors` (tables and their algebra, enumeration for checking),
:mod:`~pedagogy_lib.graphical.factor_graph`, :mod:`~pedagogy_lib.graphical.bp`,
:mod:`~pedagogy_lib.graphical.junction`, :mod:`~pedagogy_lib.graphical.separation` and
:mod:`~pedagogy_lib.graphical.tree` (a numba kernel for sum-product on large pairwise trees). The
graph algorithms (moralization, triangulation, cliques, d-separation) are networkx's.

Finite Markov chains live in :mod:`pedagogy_lib.discrete.markov_chain`.
"""
from .bp import *  # noqa: F401,F403
from .factor_graph import *  # noqa: F401,F403
from .factors import *  # noqa: F401,F403
from .junction import *  # noqa: F401,F403
from .separation import *  # noqa: F401,F403
from .tree import *  # noqa: F401,F403
from . import bp, factor_graph, factors, junction, separation, tree  # noqa: E402

__all__ = (bp.__all__ + factor_graph.__all__ + factors.__all__ + junction.__all__  # noqa: F405
           + separation.__all__ + tree.__all__)
