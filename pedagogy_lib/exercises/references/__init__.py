"""Reference solutions and slip generators of the exercises, kept out of the checker modules a notebook imports.

A notebook imports one checker module as ``check``, so every name in it is one attribute away from a reader:
a reference solver there would be an answer its checker accepts. The solvers, and the slip generators whose
default arguments compute the right answer, live here instead, one module per checker module and of the same
name (``references/ch02_hmm.py`` for ``ch02_hmm``). A checker imports what it needs from here inside its
function bodies, never at module level (``from .references import ch02_hmm as refs``), so no name of a
checker module reaches them. These modules never import their checker module; a reference that needs a
problem's data takes it as arguments. Nothing is loaded until a checker runs.
"""
