"""What each kernel's NumPy twin costs, estimated from the sizes: the registry behind ``backend="auto"``.

One entry per kernel that ``backend="auto"`` may choose (:func:`pedagogy_lib.core.jit.choose`), keyed by
the kernel's module and name under ``pedagogy_lib``. Each entry names

* ``twin``: the NumPy function that does the kernel's work when the kernel is not called;
* ``sizes``: the names of the sizes the estimate takes, as the public call passes them;
* ``seconds``: the estimate of the twin's CPU seconds for one public call at those sizes (every step of
  the twin it makes, its validation not included): what the rule weighs against compiling;
* ``callers``: the public functions (``family.module.name``) whose ``backend`` resolves through it;
* ``validation``: True for a kernel that screens inputs rather than computing a result.

Only :mod:`pedagogy_lib.core.jit` imports this module; it imports nothing of the library, so the families
import it (through ``jit``) without a circle. The estimates were fitted to CPU time of the twins on a
2-core AMD EPYC (sizes chosen before fitting, a constant per call plus terms for the work);
``benchmarks/twin_costs.py`` times every twin against its estimate over a few sizes and reports the worst
ratio. An estimate within a factor of a few is enough: the rule compares it with the seconds of a compile.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

__all__ = ["COSTS", "Cost"]


class Cost(NamedTuple):
    """One kernel's entry: its twin, the sizes its estimate takes, the estimate, and who asks."""

    twin: str
    sizes: tuple
    seconds: Callable[..., float]
    callers: tuple
    validation: bool = False


# ------------------------------------------------------------------------------------------------
# The estimates, one function per kernel (or per group of kernels sharing a twin)
# ------------------------------------------------------------------------------------------------

def _hmm_forward(T, K):
    """The forward pass: about 18 us a step plus the K x K product (refitted for the registry; the earlier
    8 us a step read 2-4 times low on one core)."""
    return T * (1.8e-5 + 1.2e-8 * K * K)


def _hmm_smoother(T, K):
    """The forward pass, then the backward pass at about its cost again."""
    return 2.0 * _hmm_forward(T, K)


def _kalman_filter(T, n, m):
    """About 0.25 ms a step of the NumPy filter, plus the dense algebra."""
    return T * (2.5e-4 + 1e-9 * (n ** 3 + m ** 3))


def _rts(T, n):
    """The RTS backward pass, estimated as a filter of the same length without outputs."""
    return _kalman_filter(T, n, 0)


def _lgssm_screen(n, m):
    """The full checks of a small model in NumPy, about 100 us, once per model."""
    return 1e-4


def _bootstrap(T, I, n, m):
    """About 50 us a step plus the particles' propagation and weighing."""
    return T * (5e-5 + I * (4e-8 + 1e-9 * (n * n + n * m)))


def _ffbsm(T, I):
    """An I x I table of transition densities a step."""
    return T * (5e-5 + 6e-9 * I * I)


def _backward_simulation(T, M, I):
    """M trajectories against I particles a step."""
    return T * (1e-4 + 8e-9 * M * I)


def _cd_epoch(N, K, M, batch_size, k):
    """Per mini-batch about 15 us plus 25 us per Gibbs step, then the products."""
    return -(-N // batch_size) * (1.5e-5 + 2.5e-5 * k) + N * k * (3.5e-10 * K * M + 1e-8 * (K + M))


def _lorenz(steps, rows, n, tangent):
    """About 0.1 ms per RK4 step (0.25 ms with the tangent-linear or adjoint model) plus the arithmetic."""
    return steps * ((2.5e-4 if tangent else 1e-4) + 5e-9 * rows * n)


def _integrate(steps, rows, n):
    return _lorenz(steps, rows, n, False)


def _tangent(steps, rows, n):
    return _lorenz(steps, rows, n, True)


def _etkf(steps, T, N, n, m):
    """The ensemble's forecasts (``steps`` RK4 steps in all), then about 0.1 ms per analysis and its algebra."""
    return _integrate(steps, N, n) + T * (1e-4 + 4e-9 * N ** 3 + 2e-9 * N * n * m)


def _letkf(steps, T, N, n, m):
    """The forecasts, then about 20 us per site and its own algebra per analysis."""
    return _integrate(steps, N, n) + T * n * (2e-5 + 5e-8 * N ** 2)


def _gmm_e_step(N, K, L):
    """A loop over components, each a pass over the points with its (L + 1) x (L + 1) moments."""
    return 3e-4 + K * 1e-4 + N * K * (1.5e-7 + 2e-9 * (L + 1) ** 2)


def _resample(I, M):
    """A cumulative sum over the I weights and a search for each of the M points."""
    return 7e-5 + 2e-8 * (I + M)


def _langevin_gmm(C, K, d, n_steps):
    """Per step about 50 us, plus the mixture's force at every chain (K components of d x d precisions)."""
    return n_steps * (5e-5 + 4.5e-8 * C * K * (d * d + 1))


def _gray(E, O):
    """Every state of the E enumerated units, each against the O units of the other layer."""
    return 1e-4 + 2.5e-8 * 2.0 ** E * O


def _block_gibbs(C, K, M, n_steps):
    """About 0.2 ms a call (drawing the noise), then per full step about 25 us, the draws of both layers and
    the two products."""
    return 2e-4 + n_steps * (2.5e-5 + 1.5e-8 * C * (K + M) + 2e-10 * C * K * M)


def _bptt(T, N, H):
    """Per step about 12 us plus the H x H product of every sequence."""
    return T * (1.2e-5 + 5e-10 * N * H * H)


def _adam(leaves, size):
    """About 25 us a parameter array plus the elementwise update."""
    return 3e-5 + 2.5e-5 * leaves + 3e-8 * size


def _sampler_steps(C, D, steps):
    """A sampler's own work per step (normals, proposal, accept test), about 35 us plus the chains' vectors."""
    return steps * (3.5e-5 + 1e-7 * C * D)


def _banana(C, D, steps, evaluations):
    return _sampler_steps(C, D, steps) + evaluations * (5e-6 + 5e-9 * C)


def _gaussian_dense(C, D, steps, evaluations):
    """Each evaluation one product of the chains with the D x D precision."""
    return _sampler_steps(C, D, steps) + evaluations * (5e-6 + 2e-10 * C * D * D)


def _gaussian_csr(C, D, steps, evaluations):
    """Each evaluation a pass over the precision's sparse rows (a few entries a row)."""
    return _sampler_steps(C, D, steps) + evaluations * (2e-5 + 1e-8 * C * D)


def _fourdvar_grad(steps, n, T, m, evaluations):
    """Per evaluation of the cost and its gradient, one forward and one adjoint run over the window's ``steps``
    RK4 steps, plus the misfits of the T observations; a solver passes the evaluations it may make (its
    ``max_iter``), so that the rule weighs the longest run the call allows."""
    return evaluations * (_integrate(steps, 1, n) + _tangent(steps, 1, n) + T * (1e-5 + 2e-9 * m * n))


def _fourdvar_weak(n_steps, n, T, m, evaluations):
    """Per evaluation of the weak-constraint cost, one cycle (``n_steps`` RK4 steps) forward and back for the
    T - 1 model-error terms at once (the twin moves them together as rows), plus the misfits."""
    return evaluations * (_integrate(n_steps, T - 1, n) + _tangent(n_steps, T - 1, n) + T * (1e-5 + 2e-9 * m * n))


def _tree(N, K):
    """About 45 us a node over both passes, plus each edge's K x K message."""
    return 1e-4 + N * (4.5e-5 + 1e-9 * K * K)


# ------------------------------------------------------------------------------------------------
# The registry
# ------------------------------------------------------------------------------------------------

_LGSSM_CALLERS = ("lgssm.kalman.kalman_filter", "lgssm.kalman.kalman_smoother")
#: EM decides once per call with the filter's estimate over every step its smoothers may run (the smoother's
#: twin reads 0.9-1.0 of the filter's estimate at T = 100-300, n = 2-8; a whole fit, M steps included, 1.3-1.5)
_LGSSM_EM_CALLERS = ("lgssm.em.lgssm_suff_stats", "lgssm.em.lgssm_log_likelihood", "lgssm.em.lgssm_em_model",
                     "lgssm.em.fit_lgssm")

COSTS: dict[str, Cost] = {
    # hmm (2.2.1, 7.2)
    "hmm.kernels.forward": Cost("hmm.inference._forward_numpy", ("T", "K"), _hmm_forward,
                                ("hmm.inference.hmm_filter",)),
    "hmm.kernels.backward": Cost("hmm.inference._backward_numpy", ("T", "K"), _hmm_smoother,
                                 ("hmm.inference.hmm_smoother", "hmm.em.hmm_em_model", "hmm.em.fit_hmm")),
    # mixture (7.1) and the label update of vi (8.4): one E step; two kernels by L, one twin
    **{f"mixture.kernels.{name}": Cost("mixture.em._stats_numpy", ("N", "K", "L"), _gmm_e_step,
                                       ("mixture.em.gmm_suff_stats", "mixture.em.gmm_em_model", "mixture.em.fit_gmm",
                                        "vi.bgmm.bgmm_responsibilities", "vi.bgmm.cavi_bgmm"))
       for name in ("suff_stats_lane_sums", "suff_stats_blas")},
    # diffusion (8.3)
    "diffusion.kernels.langevin_gmm_steps": Cost("diffusion.sampling._langevin_gmm_numpy", ("C", "K", "d", "n_steps"),
                                                 _langevin_gmm, ("diffusion.sampling.langevin_gmm",
                                                                 "diffusion.sampling.annealed_langevin")),
    # nn (5.1.3, 5.2.1)
    "nn.kernels.bptt_backward": Cost("nn.rnn._bptt_numpy", ("T", "N", "H"), _bptt, ("nn.rnn.rnn_bptt",)),
    "nn.kernels.adam_update": Cost("nn.optim._adam_numpy", ("leaves", "size"), _adam, ("nn.optim.Adam",)),
    # lgssm (2.2.2): the filter in either form, the RTS pass, and the screen of a model
    "lgssm.kernels.filter_covariance": Cost("lgssm.kalman._kalman_filter_numpy", ("T", "n", "m"), _kalman_filter,
                                            _LGSSM_CALLERS + _LGSSM_EM_CALLERS),
    "lgssm.kernels.filter_information": Cost("lgssm.kalman._kalman_filter_numpy", ("T", "n", "m"), _kalman_filter,
                                             _LGSSM_CALLERS),
    "lgssm.kernels.rts_backward": Cost("lgssm.kalman._rts_numpy", ("T", "n"), _rts, ("lgssm.kalman.rts_smoother",)),
    "lgssm.kernels.screen_model": Cost("lgssm.model._check_fields", ("n", "m"), _lgssm_screen,
                                       ("lgssm.model.check_params_factored",), validation=True),
    # smc (2.2.2)
    **{f"smc.kernels.bootstrap_lgssm_{scheme}": Cost("smc.particle._bootstrap_lgssm_numpy", ("T", "I", "n", "m"), _bootstrap,
                                                      ("smc.particle.particle_filter",))
       for scheme in ("multinomial", "stratified", "systematic")},
    **{f"smc.kernels.resample_{scheme}": Cost("smc.resampling.resample_numpy", ("I", "M"), _resample,
                                              ("smc.resampling.resample", "smc.resampling.resample_from_uniforms"))
       for scheme in ("multinomial", "stratified", "systematic")},
    "smc.kernels.ffbsm_lgssm": Cost("smc.particle._ffbsm_lgssm_numpy", ("T", "I"), _ffbsm, ("smc.particle.ffbsm",)),
    "smc.kernels.backward_simulation_lgssm": Cost("smc.particle._backward_simulation_lgssm_numpy", ("T", "M", "I"),
                                                  _backward_simulation, ("smc.particle.backward_simulation",)),
    # harmonium (3.1-3.4)
    "harmonium.kernels.cd_epoch": Cost("harmonium.gibbs._cd_epoch_numpy", ("N", "K", "M", "batch_size", "k"),
                                       _cd_epoch, ("harmonium.gibbs.cd_epoch", "harmonium.gibbs.train_rbm",
                                                   "harmonium.dbn.greedy_fit", "harmonium.recurrent.train_refh")),
    "harmonium.kernels.gray_log_marginals": Cost("harmonium.exact._gray_log_marginals_numpy", ("E", "O"), _gray,
                                                 ("harmonium.exact.log_marginal_table",
                                                  "harmonium.exact.visible_log_probs", "harmonium.exact.hidden_log_probs")),
    "harmonium.kernels.gray_log_partition": Cost("harmonium.exact._gray_log_partition_numpy", ("E", "O"), _gray,
                                                 ("harmonium.exact.log_partition",)),
    "harmonium.kernels.gibbs_steps": Cost("harmonium.gibbs._gibbs_numpy", ("C", "K", "M", "n_steps"), _block_gibbs,
                                          ("harmonium.gibbs.gibbs_sample", "harmonium.dbn.dbn_sample")),
    # samplers (8.4): the kernel of the target's density stands for the sampler's kernels
    **{f"samplers.kernels.{name}": Cost(f"samplers.targets.{twin}", ("C", "D", "steps", "evaluations"), cost,
                                        ("samplers.mcmc.init_chains", "samplers.mcmc.rwmh_step", "samplers.mcmc.mala_step",
                                         "samplers.mcmc.hmc_step", "samplers.mcmc.gibbs_step", "samplers.mcmc.sample",
                                         "samplers.targets.log_density_and_force"))
       for name, twin, cost in (("banana_log_density_and_force", "_banana_numpy", _banana),
                                ("gaussian_log_density_from_product", "_gaussian_numpy", _gaussian_dense),
                                ("gaussian_csr_log_density_and_force", "_gaussian_csr_numpy", _gaussian_csr))},
    # assimilation (on 2.2.2): ``steps`` is cycles x RK4 steps per cycle, ``rows`` the states moved together
    "assimilation.kernels.integrate": Cost("assimilation.lorenz.cycle_forward_numpy", ("steps", "rows", "n"), _integrate,
                                           ("assimilation.lorenz.integrate",)),
    "assimilation.kernels.propagate": Cost("assimilation.lorenz.cycle_forward_numpy", ("steps", "rows", "n"), _integrate,
                                           ("assimilation.lorenz.propagate", "assimilation.nonlinear_filters.ukf")),
    "assimilation.kernels.cycle_tlm": Cost("assimilation.lorenz.cycle_tlm_numpy", ("steps", "rows", "n"), _tangent,
                                           ("assimilation.lorenz.tangent_linear", "assimilation.lorenz.cycle_jacobian",
                                            "assimilation.nonlinear_filters.ekf", "assimilation.fourdvar.strong_hessian",
                                            "assimilation.fourdvar.weak_hessian")),
    "assimilation.kernels.cycle_adjoint": Cost("assimilation.lorenz.cycle_adjoint_numpy", ("steps", "rows", "n"),
                                               _tangent, ("assimilation.lorenz.adjoint",)),
    # 4DVar: the strong-constraint misfit in either storage (one twin, on the dense matrices) and the weak cost;
    # the Gauss-Newton Hessians run the tangent-linear model (``cycle_tlm`` above)
    **{f"assimilation.kernels.{name}": Cost("assimilation.fourdvar.strong_cost_grad_numpy",
                                            ("steps", "n", "T", "m", "evaluations"), _fourdvar_grad,
                                            ("assimilation.fourdvar.strong_problem",
                                             "assimilation.fourdvar.strong_cost_grad",
                                             "assimilation.fourdvar.strong_4dvar",
                                             "assimilation.fourdvar.cycle_4dvar"))
       for name in ("strong_misfit_grad", "strong_misfit_grad_selection")},
    "assimilation.kernels.weak_cost_grad": Cost("assimilation.fourdvar.weak_cost_grad_numpy",
                                                ("n_steps", "n", "T", "m", "evaluations"), _fourdvar_weak,
                                                ("assimilation.fourdvar.weak_cost_grad",
                                                 "assimilation.fourdvar.weak_4dvar",
                                                 "assimilation.fourdvar.cycle_4dvar")),
    # graphical (3.5, App. C)
    "graphical.kernels.sum_product": Cost("graphical.tree._sum_product_numpy", ("N", "K"), _tree,
                                          ("graphical.tree.tree_sum_product",)),
    "assimilation.kernels.run_etkf": Cost("assimilation.ensemble.enkf_run_numpy", ("steps", "T", "N", "n", "m"), _etkf,
                                          ("assimilation.ensemble.enkf",)),
    "assimilation.kernels.run_letkf": Cost("assimilation.ensemble.enkf_run_numpy", ("steps", "T", "N", "n", "m"), _letkf,
                                           ("assimilation.ensemble.enkf",)),
}
