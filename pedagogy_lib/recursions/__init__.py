"""One forward-backward recursion for every chain-structured model (book Section 2.2).

The filter and smoother are written once against the two operations MARGINALIZE and BAYES-INVERT;
a *backend* supplies them for one family of distributions: categorical (the HMM), Gaussian (the
Kalman filter and RTS smoother) or weighted particles (the particle filter). The fast, specialized
versions live in their families (:mod:`pedagogy_lib.hmm`, :mod:`pedagogy_lib.lgssm`,
:mod:`pedagogy_lib.smc`); tests hold them to this one.

Module: :mod:`~pedagogy_lib.recursions.generic`.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["generic"])
