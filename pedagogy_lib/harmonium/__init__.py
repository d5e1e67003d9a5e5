"""Exponential-family harmoniums and their learning (book Chapter 3 and Section 10.2).

* :mod:`~pedagogy_lib.harmonium.model`: parameters, unit families (Bernoulli, Gaussian, Poisson),
  conditionals, energy and free energies (Eqs. 3.1, 10.17, 10.18).
* :mod:`~pedagogy_lib.harmonium.exact`: exact log Z by Gray-code enumeration, marginals, the MRE
  and its gradient (Eq. 10.19), exact Gibbs-chain distributions for the contrastive-divergence
  analysis (Eqs. 10.21-10.22).
* :mod:`~pedagogy_lib.harmonium.gibbs`: block Gibbs sampling and CD-k / persistent CD learning
  over many chains (random numbers drawn in blocks beforehand, NumPy twins of the kernels).
* :mod:`~pedagogy_lib.harmonium.ais`: annealed importance sampling for log Z.
* :mod:`~pedagogy_lib.harmonium.dbn`: deep belief networks by greedy stacking (Eqs. 10.24-10.27).
* :mod:`~pedagogy_lib.harmonium.helmholtz`: the Helmholtz machine and wake-sleep.
* :mod:`~pedagogy_lib.harmonium.recurrent`: the recurrent EFH for sequences.
* :mod:`~pedagogy_lib.harmonium.datasets`: bars and stripes, binarized digits, moving bars.
* :mod:`~pedagogy_lib.harmonium.kernels`: the numba kernels of exact and gibbs (the Gray-code walk,
  block Gibbs steps, CD-k and PCD-k epochs).

The hidden layer is ``x`` (``K`` units), the visible layer ``y`` (``M`` units), and ``W`` has
shape ``(K, M)``, as in Eq. 10.17.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, [
    "model",
    "exact",
    "gibbs",
    "ais",
    "dbn",
    "helmholtz",
    "recurrent",
    "datasets",
    "kernels",
])
