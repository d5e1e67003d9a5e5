"""The EM engine (book Chapter 6): coordinate descent on the free energy, with the log likelihood and
the ELBO tracked at every iteration, a monotonicity check, restarts, and the warnings EM can raise.

Each model family brings its own E and M steps as an :class:`EMModel` (in ``<family>/em.py``:
:mod:`pedagogy_lib.mixture.em`, :mod:`pedagogy_lib.hmm.em`, :mod:`pedagogy_lib.factor.em`,
:mod:`pedagogy_lib.lgssm.em`); this package runs them.

Module: :mod:`~pedagogy_lib.em.engine`.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["engine"])
