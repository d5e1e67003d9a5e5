"""Variational inference (Section 8.4, from the variational-inference seeds): mean-field
approximations of a correlated Gaussian and their under-dispersion, CAVI for the Bayesian Gaussian
mixture with its ELBO, black-box VI with score-function and reparameterization gradients, control
variates and Adam, a coupling-flow variational family, and the road from per-datum variational
Bayes to the amortized encoder of a VAE.

* :mod:`~pedagogy_lib.vi.mean_field`: closed-form mean-field factors, CAVI on a Gaussian, Gaussian KL.
* :mod:`~pedagogy_lib.vi.bgmm`: CAVI and the ELBO for the Bayesian GMM.
* :mod:`~pedagogy_lib.vi.bbvi`: gradient estimators, control variates, stochastic VI with Adam.
* :mod:`~pedagogy_lib.vi.flows`: a two-dimensional affine coupling flow as a variational family.
* :mod:`~pedagogy_lib.vi.advi`: ADVI, Gaussian VI for constrained latents through a transform.
* :mod:`~pedagogy_lib.vi.amortized`: variational Bayes for a linear-Gaussian model, amortized.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["mean_field", "bgmm", "bbvi", "flows", "advi", "amortized"])
