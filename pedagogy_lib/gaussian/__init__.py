"""Jointly Gaussian building blocks (book Section 2.1.2): MARGINALIZE and BAYES-INVERT, joint,
condition, log density and sampling. The Kalman filter, the RTS smoother, factor analysis and the
generic recursion of Section 2.2 are built from these two operations.

Module: :mod:`~pedagogy_lib.gaussian.blocks`.
"""
from .blocks import *  # noqa: F401,F403
from .blocks import __all__
