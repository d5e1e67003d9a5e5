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
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["targets", "mcmc", "finite", "diagnostics", "conjugate"],
                                       module_only=("warmup_kernels",))
