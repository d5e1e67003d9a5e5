"""Discrete generative models by enumeration (book Chapter 2, opening section; Eq. 2.1 and the three
canonical graphs). Everything is exact: joint tables, Bayes inversion, reversing an arrow,
sequential updates and conditional-independence checks on small DAGs.

Finite Markov chains (Appendix B.2, used by the MCMC material) live beside them: stationary
distribution, detailed balance, spectral gap and mixing time, with the book's column-stochastic
transition matrices.

Modules: :mod:`~pedagogy_lib.discrete.categorical`, :mod:`~pedagogy_lib.discrete.markov_chain`.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["categorical", "markov_chain"])
