"""Markov chain Monte Carlo (Section 8.4, from the variational-inference seeds): Metropolis-Hastings
derived from detailed balance, random-walk MH, MALA (the Langevin step of Eq. 8.44 with a Metropolis
correction), HMC and Gibbs, each an ``(init, step)`` pair of pure functions over many chains, with
numba kernels for the book's targets and NumPy twins; exact transition matrices on finite state
spaces; and the mixing diagnostics (autocorrelation, effective sample size, R-hat).

* :mod:`~pedagogy_lib.samplers.targets`: the banana, a Gaussian given by its precision, any Python target.
* :mod:`~pedagogy_lib.samplers.mcmc`: ``init_chains``, the four steps and the driver ``sample``.
* :mod:`~pedagogy_lib.samplers.finite`: transition matrices for checking stationarity exactly.
* :mod:`~pedagogy_lib.samplers.diagnostics`: autocorrelation, ESS, MCSE, split R-hat.
* :mod:`~pedagogy_lib.samplers.conjugate`: Gibbs for a conjugate model (normal data, unknown mean
  and precision, independent normal and gamma priors).
"""
from . import conjugate, diagnostics, finite, mcmc, targets
from .conjugate import *  # noqa: F401,F403
from .conjugate import __all__ as _conjugate_all
from .diagnostics import *  # noqa: F401,F403
from .diagnostics import __all__ as _diagnostics_all
from .finite import *  # noqa: F401,F403
from .finite import __all__ as _finite_all
from .mcmc import *  # noqa: F401,F403
from .mcmc import __all__ as _mcmc_all
from .targets import *  # noqa: F401,F403
from .targets import __all__ as _targets_all

__all__ = ["conjugate", "diagnostics", "finite", "mcmc", "targets", *_targets_all, *_mcmc_all, *_finite_all,
           *_diagnostics_all, *_conjugate_all]
