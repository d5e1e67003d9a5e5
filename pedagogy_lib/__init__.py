"""pedagogy_lib: the algorithms of *An Introduction to Modern Statistical Learning* (J.G. Makin,
draft 2025), written to be read next to the book.

The library is a set of families, one sub-package each, holding a model, its inference and its
learning side by side (the README has the map from the book's sections to files):

=================  ==========================================================================
``core``           validation, linear algebra, log-math, the optional-numba switch
``discrete``       discrete models by enumeration (Chapter 2 opening)
``gaussian``       jointly Gaussian building blocks (2.1.2)
``mixture``        Gaussian mixtures: model (2.1.1) and EM / K-means (7.1)
``factor``         factor analysis, sparse coding (2.1.2-2.1.3) and FA/PPCA/PCA learning (7.3)
``recursions``     the generic filter and smoother of Section 2.2, three backends
``hmm``            hidden Markov models: inference (2.2.1) and Baum-Welch (7.2)
``lgssm``          the linear-Gaussian state-space model, Kalman/RTS (2.2.2) and EM (7.4)
``smc``            resampling, particle filter and smoothers (2.2.2, "Sampling-based approaches")
``em``             the EM engine and its warnings (Chapter 6)
``learning``       objectives (Chapter 4), regression (5.1.1), GLMs (5.1.2)
``nn``             networks with hand-written backprop (5.1.3), BPTT, InfoMax (5.2.1)
``harmonium``     exponential-family harmoniums (Chapter 3) and their learning (10.2)
``graphical``      discrete graphical models and belief propagation (Appendix C, 3.5)
``samplers``       Markov chain Monte Carlo (8.4)
``vi``             mean-field and black-box variational inference (8.4)
``deepgen``        VAEs, Gumbel-softmax, ICA and NICE flows (Chapters 8-9)
``diffusion``      diffusion models and score matching (8.3)
``contrastive``    noise-contrastive estimation, InfoNCE, local NCE (10.1)
``assimilation``   chaos, nonlinear and ensemble filters, 4DVar (the data-assimilation notes)
``display``        plotting style, the animation player, interactive figures
``exercises``      the checkers the notebooks' exercises call
=================  ==========================================================================

Import a family, or a name from it: ``from pedagogy_lib import hmm`` or
``from pedagogy_lib.lgssm import LGSSMParams, kalman_smoother``. Importing ``pedagogy_lib`` itself
loads nothing else: each family is imported on first use, and no computation imports matplotlib.
Names follow the book's symbols in ASCII (``mu_x``, ``Sigma_y_x``, ``Upsilon_filt``);
``book/notation.md`` maps every symbol to its code name and shape.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: The sub-packages, each imported the first time it is used.
FAMILIES = ("core", "discrete", "gaussian", "mixture", "factor", "recursions", "hmm", "lgssm", "smc", "em",
            "learning", "nn", "harmonium", "graphical", "samplers", "vi", "deepgen", "diffusion", "contrastive",
            "assimilation", "display", "exercises")

__all__ = [*FAMILIES, "__version__"]


def __getattr__(name: str):
    if name in FAMILIES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(FAMILIES))
