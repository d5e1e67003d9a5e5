"""Jointly Gaussian building blocks (book Section 2.1.2): MARGINALIZE and BAYES-INVERT, joint,
condition, log density and sampling. The Kalman filter, the RTS smoother, factor analysis and the
generic recursion of Section 2.2 are built from these two operations.

Module: :mod:`~pedagogy_lib.gaussian.blocks`.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["blocks"])
