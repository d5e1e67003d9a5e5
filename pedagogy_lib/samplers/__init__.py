"""Markov chain Monte Carlo (Section 8.4, from the variational-inference seeds): Metropolis-Hastings
derived from detailed balance, random-walk MH, MALA (the Langevin step of Eq. 8.44 with a Metropolis
correction), HMC and Gibbs, each an ``(init, step)`` pair of pure functions over many chains, with
numba kernels for the book's targets and NumPy twins; exact transition matrices on finite state
spaces; and the mixing diagnostics (autocorrelation, effective sample size, R-hat).

* :mod:`~pedagogy_lib.samplers.targets`: the banana, a Gaussian given by its precision (stored dense
  or in sparse rows, by its structure), any Python target; one interface for the samplers.
* :mod:`~pedagogy_lib.samplers.proposals`: the chain state every step takes and returns, and the
  shared pieces (Metropolis-Hastings ratio, random-walk and Langevin proposals with their density,
  leapfrog), each with its NumPy twin.
* :mod:`~pedagogy_lib.samplers.rwmh`, :mod:`~pedagogy_lib.samplers.mala`,
  :mod:`~pedagogy_lib.samplers.hmc`, :mod:`~pedagogy_lib.samplers.gibbs`: one sampler each, an
  ``(init, step)`` pair over many chains.
* :mod:`~pedagogy_lib.samplers.kernels`: the numba kernels of all of them.
* :mod:`~pedagogy_lib.samplers.mcmc`: ``init_chains``, the four public steps, the registry and the driver ``sample``.
* :mod:`~pedagogy_lib.samplers.finite`: transition matrices for checking stationarity exactly.
* :mod:`~pedagogy_lib.samplers.diagnostics`: autocorrelation, ESS, MCSE, split R-hat.
* :mod:`~pedagogy_lib.samplers.conjugate`: Gibbs for a conjugate model (normal data, unknown mean
  and precision, independent normal and gamma priors).
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, [
    "targets",
    "proposals",
    "rwmh",
    "mala",
    "hmc",
    "gibbs",
    "kernels",
    "mcmc",
    "finite",
    "diagnostics",
    "conjugate",
], module_only=("warmup_kernels",))
