"""Discrete generative models by enumeration (book Chapter 2, opening section; Eq. 2.1 and the three
canonical graphs). Everything is exact: joint tables, Bayes inversion, reversing an arrow,
sequential updates and conditional-independence checks on small DAGs.

Finite Markov chains (Appendix B.2, used by the MCMC material) live beside them: stationary
distribution, detailed balance, spectral gap and mixing time, with the book's column-stochastic
transition matrices.

Modules: :mod:`~pedagogy_lib.discrete.categorical`, :mod:`~pedagogy_lib.discrete.markov_chain`.
"""
from . import markov_chain
from .categorical import *  # noqa: F401,F403
from .categorical import __all__ as _categorical_all
from .markov_chain import (detailed_balance_violation, is_detailed_balance, mixing_time, mixing_time_bounds,
                           simulate_chain, spectral_gap, stationary_distribution, tv_to_stationarity)

__all__ = list(_categorical_all) + ["markov_chain", "stationary_distribution", "is_detailed_balance",
                                    "detailed_balance_violation", "spectral_gap", "tv_to_stationarity",
                                    "mixing_time", "mixing_time_bounds", "simulate_chain"]
