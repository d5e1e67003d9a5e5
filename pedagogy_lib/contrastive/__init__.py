"""Learning by contrasting data with noise (Section 10.1): noise-contrastive estimation of an
unnormalized model with a learned log normalizer, InfoNCE and its lower bound on mutual
information, the "local" NCE of wav2vec, and contrastive predictive coding (CPC) of a
linear-Gaussian sequence, whose best summary of the past is the Kalman predictor.

* :mod:`~pedagogy_lib.contrastive.nce`: NCE for energies linear in their parameters (Eqs. 10.1-10.4):
  objective, gradient, Hessian, Newton fit; Gaussian energies and noise.
* :mod:`~pedagogy_lib.contrastive.infonce`: the InfoNCE loss and bound (Eqs. 10.5-10.11), bilinear and
  exact log-density-ratio critics, correlated Gaussian pairs, critic fitting.
* :mod:`~pedagogy_lib.contrastive.local_nce`: "local" NCE (Eqs. 10.12-10.13) and its offset.
* :mod:`~pedagogy_lib.contrastive.cpc`: CPC windows of a sequence and the exact Kalman window
  predictor that the learned summary should match.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["nce", "infonce", "local_nce", "cpc"])
