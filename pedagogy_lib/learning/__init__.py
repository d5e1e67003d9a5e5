"""Learning as optimization and the discriminative models of Chapters 4-5.1.

* :mod:`~pedagogy_lib.learning.objectives`: entropy, cross entropy, relative entropy and maximum
  likelihood (Chapter 4 and Appendix A).
* :mod:`~pedagogy_lib.learning.regression`: linear regression, ridge as a posterior mean, one-step
  leave-one-out (Section 5.1.1).
* :mod:`~pedagogy_lib.learning.glm`: generalized linear models and IRLS (Section 5.1.2).

The submodules are imported on first use (``from pedagogy_lib.learning import glm``).
"""
__all__ = ["objectives", "regression", "glm"]


def __getattr__(name):
    if name in __all__:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
