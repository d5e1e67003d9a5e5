"""The EM engine (book Chapter 6): coordinate descent on the free energy, with the log likelihood and
the ELBO tracked at every iteration, a monotonicity check, restarts, and the warnings EM can raise.

Each model family brings its own E and M steps as an :class:`EMModel` (in ``<family>/em.py``:
:mod:`pedagogy_lib.mixture.em`, :mod:`pedagogy_lib.hmm.em`, :mod:`pedagogy_lib.factor.em`,
:mod:`pedagogy_lib.lgssm.em`); this package runs them. Its stopping rule is relative to the log likelihood,
which for continuous data moves with their units; :func:`~pedagogy_lib.em.engine.units_log_shift` gives the
shift that the fits pass to read it in units where each column of the data has unit spread.

Module: :mod:`~pedagogy_lib.em.engine`.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["engine"])
