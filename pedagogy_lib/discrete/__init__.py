"""Discrete generative models by enumeration (book Chapter 2, opening section; Eq. 2.1 and the three
canonical graphs). Everything is exact: joint tables, Bayes inversion, reversing an arrow,
sequential updates and conditional-independence checks on small DAGs.

Module: :mod:`~pedagogy_lib.discrete.categorical`.
"""
from .categorical import *  # noqa: F401,F403
from .categorical import __all__
