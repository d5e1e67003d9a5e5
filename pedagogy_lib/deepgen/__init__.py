"""Deep generative models learned with recognition networks or invertible maps (draft Chapters 8-9).

The family holds the models whose generative side is a neural network and whose learning rule
is a relative entropy estimated from samples:

* :mod:`~pedagogy_lib.deepgen.vae`: the variational autoencoder of Section 8.2 (Gaussian
  recognition network, Bernoulli or Gaussian emission network, Eqs. 8.12, 8.15, 8.20-8.21, 8.26),
  its loss and hand-written gradients, training with Adam; the discrete-table decompositions of
  the joint relative entropy (Eqs. 8.20-8.21 and 6.6).
* :mod:`~pedagogy_lib.deepgen.gaussian_gradients`: the gradients of one datum's joint relative
  entropy in the recognition moments and the emission parameters through the Gaussian identities
  (Eqs. 8.16-8.17 and 8.19, an expected gradient and half an expected Hessian), and the
  reparameterized (pathwise) estimates of the same gradients, from given standard normal draws.
* :mod:`~pedagogy_lib.deepgen.estimators`: the two Monte Carlo gradient estimators of Section 8.2.1
  on problems whose variances are known in closed form (the general-purpose estimators live in
  :mod:`pedagogy_lib.vi.bbvi`).
* :mod:`~pedagogy_lib.deepgen.gumbel`: Gumbel-max sampling, the soft categorical (Concrete,
  Gumbel-softmax) relaxation and its density, and a VAE with categorical latents (Section 8.2.2).

* :mod:`~pedagogy_lib.deepgen.ica`: independent-components analysis as maximum likelihood (Section
  8.1.2, Eq. 9.5) with a choice of source prior, natural-gradient updates, extended InfoMax for
  sub-Gaussian sources, whitening.
* :mod:`~pedagogy_lib.deepgen.nice`: NICE (Section 9.2): additive couplings with alternating
  partitions, diagonal scaling, exact inverse and log-determinant, training with Adam, sampling,
  and the leapfrog step written as two additive couplings.

Networks are :mod:`pedagogy_lib.nn.network` models with hand-written backpropagation, trained by
the Adam of :mod:`pedagogy_lib.nn.optim`; no automatic differentiation is used. Modules are
imported on first use.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, [
    "vae",
    "gaussian_gradients",
    "estimators",
    "gumbel",
    "ica",
    "nice",
], module_only=("log_likelihood",))
