"""pedagogy_lib: the algorithms of *An Introduction to Modern Statistical Learning* (J.G. Makin,
draft 2025), written to be read next to the book.

Modules are organized by concept; names follow the book's symbols in ASCII (``mu_x``,
``Sigma_y_x``, ``Upsilon_filt``). ``book/notation.md`` maps every symbol to its code name and
array shape. Every public function validates its inputs once and raises ``ValueError`` naming
the symbol; kernels trust their inputs.
"""
from . import (discrete, em, factor_analysis, factor_learning, gaussian, glm, hmm, hmm_em, infomax, kalman, lgssm_em, linalg,
               mixture, mixture_em, nn, objectives, particle, plotting, recursions, regression, resampling,
               rnn, sparse_coding)
from ._checks import ConvergenceWarning
from .gaussian import (Gaussian, GaussianPosterior, LinearGaussian, bayes_invert, condition, joint,
                       marginalize, mvn_logpdf, sample_mvn)
from .linalg import TAU

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "TAU",
    "Gaussian",
    "GaussianPosterior",
    "LinearGaussian",
    "bayes_invert",
    "condition",
    "joint",
    "marginalize",
    "mvn_logpdf",
    "sample_mvn",
    "discrete",
    "em",
    "factor_analysis",
    "factor_learning",
    "gaussian",
    "glm",
    "hmm",
    "hmm_em",
    "infomax",
    "kalman",
    "lgssm_em",
    "linalg",
    "mixture",
    "mixture_em",
    "nn",
    "objectives",
    "particle",
    "plotting",
    "recursions",
    "regression",
    "resampling",
    "rnn",
    "sparse_coding",
]
