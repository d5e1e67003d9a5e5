"""Exponential-family harmoniums and their learning (book Chapter 3 and Section 10.2).

* :mod:`~pedagogy_lib.harmonium.model`: parameters, unit families (Bernoulli, Gaussian, Poisson),
  conditionals, energy and free energies (Eqs. 3.1, 10.17, 10.18).
* :mod:`~pedagogy_lib.harmonium.exact`: exact log Z by Gray-code enumeration (numba kernel),
  marginals, the MRE and its gradient (Eq. 10.19), exact Gibbs-chain distributions for the
  contrastive-divergence analysis (Eqs. 10.21-10.22).
* :mod:`~pedagogy_lib.harmonium.gibbs`: block Gibbs sampling and CD-k / persistent CD learning
  over many chains (numba kernels with NumPy twins, random numbers drawn in blocks beforehand).
* :mod:`~pedagogy_lib.harmonium.ais`: annealed importance sampling for log Z.
* :mod:`~pedagogy_lib.harmonium.dbn`: deep belief networks by greedy stacking (Eqs. 10.24-10.27).
* :mod:`~pedagogy_lib.harmonium.helmholtz`: the Helmholtz machine and wake-sleep.
* :mod:`~pedagogy_lib.harmonium.recurrent`: the recurrent EFH for sequences.
* :mod:`~pedagogy_lib.harmonium.datasets`: bars and stripes, binarized digits, moving bars.

The hidden layer is ``x`` (``K`` units), the visible layer ``y`` (``M`` units), and ``W`` has
shape ``(K, M)``, as in Eq. 10.17.
"""
from . import ais, datasets, dbn, exact, gibbs, helmholtz, model, recurrent
from .ais import *  # noqa: F401,F403
from .ais import __all__ as _ais_all
from .datasets import *  # noqa: F401,F403
from .datasets import __all__ as _datasets_all
from .dbn import *  # noqa: F401,F403
from .dbn import __all__ as _dbn_all
from .exact import *  # noqa: F401,F403
from .exact import __all__ as _exact_all
from .gibbs import *  # noqa: F401,F403
from .gibbs import __all__ as _gibbs_all
from .helmholtz import *  # noqa: F401,F403
from .helmholtz import __all__ as _helmholtz_all
from .model import *  # noqa: F401,F403
from .model import __all__ as _model_all
from .recurrent import *  # noqa: F401,F403
from .recurrent import __all__ as _recurrent_all

__all__ = ["ais", "datasets", "dbn", "exact", "gibbs", "helmholtz", "model", "recurrent", *_model_all,
           *_exact_all, *_gibbs_all, *_ais_all, *_dbn_all, *_helmholtz_all, *_recurrent_all, *_datasets_all]
