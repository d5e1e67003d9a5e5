"""Deep generative models and learning with reparameterizations (Sections 8.1-8.2 and Chapter 9):
variational autoencoders, Monte Carlo gradient estimators, the Gumbel-softmax relaxation, and
models whose latent variables are an invertible function of the data, fit by maximum likelihood
through the change of variables: independent-components analysis and NICE.

* :mod:`~pedagogy_lib.deepgen.ica`: ICA as maximum likelihood (Eq. 9.5) with a choice of source
  prior, natural-gradient updates, extended InfoMax for sub-Gaussian sources, whitening.
* :mod:`~pedagogy_lib.deepgen.nice`: NICE (Section 9.2): additive couplings with alternating
  partitions, diagonal scaling, exact inverse and log-determinant, hand-written backprop, Adam
  training, sampling, and the leapfrog step written as two additive couplings.

Modules are imported on first use (``from pedagogy_lib.deepgen import nice``).
"""
__all__ = ["ica", "nice"]


def __getattr__(name):
    if name in __all__:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
