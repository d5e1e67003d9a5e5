"""One place for compiled-or-NumPy (issue 70): every public function with a ``backend`` defaults to ``"auto"``
and its kernel is in the registry of ``pedagogy_lib/core/costs.py``; each entry names a kernel, a twin and
an estimate that exist and agree; and one public call counts its twin's estimate exactly once."""
from __future__ import annotations

import importlib
import inspect
import math
import pkgutil

import numpy as np
import pytest

import pedagogy_lib
from pedagogy_lib.core import jit
from pedagogy_lib.core.checks import check_backend

#: Public functions whose family is being reworked elsewhere: they still default to "numba" or weigh
#: their own estimate. The test below fails when one of them joins (remove it here then) as well as when
#: any other public function leaves the rule. Empty: every family has joined.
PENDING: set = set()

#: Public functions with a ``backend`` that are not a choice between a kernel and its twin: the generic
#: recursions take a backend object (the algebra of a model family); a validator and a helper whose
#: default is the twin by design (they run once, on small inputs).
NOT_A_KERNEL_CHOICE = {
    "core.checks.check_backend": "validates the argument itself",
    "samplers.mcmc.check_chain_state": "validation helper: one density evaluation, the twin by design",
    "samplers.proposals.leapfrog": "a readable teaching helper, the twin by design",
}


def _public_with_backend() -> dict:
    """``family.module.name`` -> the default of its ``backend`` parameter, for every public function (or class,
    by its ``__init__``) in every module's ``__all__``."""
    found = {}
    for info in pkgutil.walk_packages(pedagogy_lib.__path__, "pedagogy_lib."):
        if ".exercises" in info.name or ".display" in info.name:
            continue
        mod = importlib.import_module(info.name)
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr, None)
            if obj is None or getattr(obj, "__module__", None) != info.name:
                continue
            try:
                sig = inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)
            except (TypeError, ValueError):
                continue
            param = sig.parameters.get("backend")
            if param is not None and param.default is not inspect.Parameter.empty and isinstance(param.default, str):
                found[f"{info.name.removeprefix('pedagogy_lib.')}.{attr}"] = param.default
    return found


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(f"pedagogy_lib.{module}"), name)


def test_every_public_backend_defaults_to_auto_and_its_kernel_is_registered():
    public = _public_with_backend()
    assert len(public) >= 40, f"the walk found only {len(public)} public functions with a backend"
    callers = {c for cost in jit.registry().values() for c in cost.callers}
    off_rule = {key for key, default in public.items()
                if key not in NOT_A_KERNEL_CHOICE and (default != "auto" or key not in callers)}
    assert off_rule - PENDING == set(), f"public defaults not 'auto' or kernels not registered: {sorted(off_rule - PENDING)}"
    assert PENDING - off_rule == set(), f"these joined the registry; remove them from PENDING: {sorted(PENDING - off_rule)}"
    assert all(public[key] != "numba" for key in public if key not in PENDING)


@pytest.mark.parametrize("key", sorted(jit.registry()))
def test_each_entry_names_a_kernel_a_twin_and_an_estimate_that_exist_and_grow_with_the_sizes(key):
    cost = jit.registry()[key]
    kernel = _resolve(key)
    assert hasattr(kernel, "py_func"), f"{key} is not one of the library's kernels"
    assert callable(_resolve(cost.twin)), cost.twin
    params = inspect.signature(cost.seconds).parameters
    assert tuple(params) == tuple(cost.sizes), f"{key}: sizes {cost.sizes} but the estimate takes {tuple(params)}"
    for caller in cost.callers:
        target = _resolve(caller)
        assert callable(target), caller
        if not cost.validation:
            assert "backend" in inspect.signature(target.__init__ if inspect.isclass(target) else target).parameters
    base = {name: 4 for name in cost.sizes}
    at_base = jit.twin_estimate(kernel, **base)
    assert 0.0 < at_base < 1.0 and math.isfinite(at_base)
    for name in cost.sizes:                      # more of any size never costs the twin less
        assert jit.twin_estimate(kernel, **{**base, name: 64}) >= at_base, f"{key}: falls as {name} grows"


def test_an_unregistered_kernel_or_wrong_sizes_are_refused_by_name():
    with pytest.raises(LookupError, match="no cost estimate"):
        jit.twin_estimate(jit.njit(lambda x: x), n=1)
    from pedagogy_lib.hmm import kernels
    with pytest.raises(TypeError, match="T, K"):
        jit.twin_estimate(kernels.forward, T=3)
    with pytest.raises(ValueError, match="backend"):
        check_backend("fast", kernels.forward, T=3, K=2)


# ------------------------------------------------------------------------------------------------
# One public call counts the registered estimate once
# ------------------------------------------------------------------------------------------------

def _hmm_inputs(rng, T=30, K=3):
    A = rng.dirichlet(np.ones(K), size=K).T.copy()
    return np.ones(K) / K, A, np.log(rng.random((T, K)) + 0.1)


def _calls(rng):
    """(label, call, kernel key, sizes the test derives from the inputs) for one public call per family."""
    from pedagogy_lib import diffusion as df
    from pedagogy_lib.harmonium import EFHParams, gibbs_sample, log_partition
    from pedagogy_lib.hmm import fit_hmm, hmm_filter, hmm_smoother
    from pedagogy_lib.mixture import GMMParams, gmm_suff_stats
    from pedagogy_lib.nn import optim, rnn
    from pedagogy_lib.samplers import banana, gaussian_target, init_chains, sample
    from pedagogy_lib.smc import resample
    pi, A, ll = _hmm_inputs(rng)
    gmm = GMMParams(np.array([0.3, 0.7]), rng.standard_normal((2, 3)), np.stack([np.eye(3)] * 2))
    y = rng.standard_normal((50, 3))
    ring = df.ring_mixture(4, 2.0, 0.3)
    y0 = rng.standard_normal((6, 2))
    efh = EFHParams(0.2 * rng.standard_normal((5, 7)), np.zeros(5), np.zeros(7))
    net = rnn.init_rnn(rng, 2, 4, 1)
    Y = rng.standard_normal((9, 3, 2))
    fwd = rnn.rnn_forward(net, Y)
    opt = optim.Adam(0.01)
    leaves = [rng.standard_normal(3), rng.standard_normal((2, 5))]
    seqs = [rng.standard_normal((20, 1)), rng.standard_normal((15, 1))]
    bent, gauss = banana(1.0, 1.0), gaussian_target(np.zeros(3), np.eye(3) + 0.2)
    start = init_chains(bent, rng.standard_normal((5, 2)), backend="numpy")
    start3 = init_chains(gauss, rng.standard_normal((4, 3)), backend="numpy")
    return [
        ("init_chains", lambda: init_chains(bent, np.zeros((5, 2))), "samplers.kernels.banana_log_density_and_force",
         dict(C=5, D=2, steps=0, evaluations=1)),
        ("sample, rwmh", lambda: sample(bent, start, 6, rng), "samplers.kernels.banana_log_density_and_force",
         dict(C=5, D=2, steps=6, evaluations=6)),
        ("sample, hmc", lambda: sample(gauss, start3, 3, rng, method="hmc", n_leapfrog=4),
         "samplers.kernels.gaussian_log_density_from_product", dict(C=4, D=3, steps=3, evaluations=12)),
        ("hmm_filter", lambda: hmm_filter(pi, A, ll), "hmm.kernels.forward", dict(T=30, K=3)),
        ("hmm_smoother", lambda: hmm_smoother(pi, A, ll), "hmm.kernels.backward", dict(T=30, K=3)),
        ("resample", lambda: resample(np.full(8, 0.125), rng, scheme="stratified", M=5),
         "smc.kernels.resample_stratified", dict(I=8, M=5)),
        ("gmm_suff_stats", lambda: gmm_suff_stats(gmm, y), "mixture.kernels.suff_stats_lane_sums", dict(N=50, K=2, L=3)),
        ("langevin_gmm", lambda: df.langevin_gmm(ring, 0.1, y0, 7, 0.01, rng), "diffusion.kernels.langevin_gmm_steps",
         dict(C=6, K=4, d=2, n_steps=7)),
        ("annealed_langevin", lambda: df.annealed_langevin(ring, [1.0, 0.5, 0.2], y0, 4, 0.01, rng),
         "diffusion.kernels.langevin_gmm_steps", dict(C=6, K=4, d=2, n_steps=12)),
        ("log_partition", lambda: log_partition(efh), "harmonium.kernels.gray_log_partition", dict(E=5, O=7)),
        ("gibbs_sample", lambda: gibbs_sample(efh, np.ones((4, 7)), 3, rng), "harmonium.kernels.gibbs_steps",
         dict(C=4, K=5, M=7, n_steps=3)),
        ("rnn_bptt", lambda: rnn.rnn_bptt(net, Y, fwd.Z, np.ones((9, 3, 1))), "nn.kernels.bptt_backward",
         dict(T=9, N=3, H=4)),
        ("Adam.step", lambda: opt.step(leaves, leaves, opt.init(leaves)), "nn.kernels.adam_update",
         dict(leaves=2, size=13)),
        ("fit_hmm, one E step", lambda: fit_hmm(seqs, 2, rng=rng, max_iter=1, tol=0.0), "hmm.kernels.backward",
         dict(T=35, K=2)),
    ]


def _recorder(monkeypatch):
    asked = []

    def record(kernel, seconds):
        asked.append((f"{kernel.py_func.__module__}.{kernel.py_func.__qualname__}".removeprefix("pedagogy_lib."),
                      seconds))
        return False                                   # the twin, so that nothing compiles here
    monkeypatch.setattr(jit, "prefer_compiled", record)
    monkeypatch.setattr(jit, "_ready", set())          # kernels compiled by earlier tests are asked about too
    return asked


@pytest.mark.filterwarnings("ignore:HMM EM")                  # one iteration of EM does not converge
def test_one_public_call_counts_its_twins_estimate_once(monkeypatch):
    if not jit.HAVE_NUMBA:
        pytest.skip("without numba every choice is the twin and nothing is counted")
    asked = _recorder(monkeypatch)
    for label, call, key, sizes in _calls(np.random.default_rng(3)):
        asked.clear()
        call()
        expected = jit.registry()[key].seconds(**sizes)
        if label.startswith("fit_hmm"):               # one E step per iteration, plus the final likelihood's
            assert asked and {a for a in asked} == {(key, expected)}, (label, asked)
            continue
        assert asked == [(key, expected)], (label, asked)


def test_a_kalman_call_counts_the_filters_estimate_once_on_either_path(monkeypatch):
    """The small fast path and the full path share one decision: before, a call on which "auto" chose the
    twin counted the filter's estimate in the fast path and again in the full path, so the twin's budget
    ran out at half the documented work. A model's screen (a validation kernel) is decided once per model."""
    if not jit.HAVE_NUMBA:
        pytest.skip("without numba every choice is the twin and nothing is counted")
    from pedagogy_lib.lgssm import LGSSMParams, kalman_filter, kalman_smoother, rts_smoother, small
    monkeypatch.setattr(small, "_chosen", False)           # an earlier call of this process may have set it
    asked = _recorder(monkeypatch)
    rng = np.random.default_rng(5)
    for n, m, T in ((2, 1, 12), (20, 3, 4)):            # under and over the fast path's dimensions
        def model():
            return LGSSMParams(np.zeros(n), np.eye(n), 0.9 * np.eye(n), None, np.zeros(n), 0.1 * np.eye(n),
                               rng.standard_normal((m, n)), np.zeros(m), np.eye(m))
        y = rng.standard_normal((T, m))
        estimate = jit.registry()["lgssm.kernels.filter_covariance"].seconds(T=T, n=n, m=m)
        for call in (kalman_filter, kalman_smoother):
            asked.clear()
            out = call(model(), y)
            filters = [a for a in asked if a[0].startswith("lgssm.kernels.filter_")]
            assert filters == [("lgssm.kernels.filter_covariance", estimate)], (n, call.__name__, asked)
            assert {a[0] for a in asked} <= {"lgssm.kernels.filter_covariance", "lgssm.kernels.screen_model",
                                            "lgssm.kernels.rts_backward"}, asked
        asked.clear()
        rts_smoother(model().A, kalman_filter(model(), y))
        assert [a for a in asked if a[0] == "lgssm.kernels.rts_backward"] == [
            ("lgssm.kernels.rts_backward", jit.registry()["lgssm.kernels.rts_backward"].seconds(T=T, n=n))], asked
        assert out.mu_filt.shape == (T, n)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")       # a few L-BFGS iterations do not converge
def test_each_4dvar_call_decides_once_with_the_work_it_may_do(monkeypatch):
    """The 4DVar functions joined the registry: a cost, a Hessian or a whole solve asks the rule once, with the
    sizes of its window (a solver with its ``max_iter`` evaluations, a cycled solve with those of every
    window), and passes the answer to every step inside. A validated window keeps ``"auto"`` and decides at
    each evaluation, so an optimizer's loop on it compiles once the twin's work would pay for it."""
    if not jit.HAVE_NUMBA:
        pytest.skip("without numba every choice is the twin and nothing is counted")
    from pedagogy_lib import assimilation as da
    n, T, n_steps = 8, 6, 2
    dyn = da.lorenz96(n, dt=0.05, n_steps=n_steps)
    C = np.eye(n)[::2]                                 # every other site: the selection storage
    mod = da.DAModel(dyn, np.ones(n), 2.0 * np.eye(n), 0.1 * np.eye(n), C, np.zeros(4), 0.5 * np.eye(4))
    x, y = da.simulate(mod, T, rng=np.random.default_rng(7), spin_up=20)
    problem = da.strong_problem(mod, y)
    assert problem.backend == "auto"
    strong, weak, tlm = ("assimilation.kernels.strong_misfit_grad_selection", "assimilation.kernels.weak_cost_grad",
                         "assimilation.kernels.cycle_tlm")

    def misfit(T, evaluations):
        return dict(steps=(T - 1) * n_steps, n=n, T=T, m=4, evaluations=evaluations)

    def weak_sizes(T, evaluations):
        return dict(n_steps=n_steps, n=n, T=T, m=4, evaluations=evaluations)
    asked = _recorder(monkeypatch)
    for label, call, key, sizes in [
        ("strong_cost_grad", lambda: da.strong_cost_grad(mod, x[0], y), strong, misfit(T, 1)),
        ("strong_cost_grad, window", lambda: da.strong_cost_grad(problem, x[0]), strong, misfit(T, 1)),
        ("weak_cost_grad", lambda: da.weak_cost_grad(mod, x, y), weak, weak_sizes(T, 1)),
        ("strong_hessian", lambda: da.strong_hessian(mod, x[0], y), tlm, dict(steps=(T - 1) * n_steps, rows=n, n=n)),
        ("weak_hessian", lambda: da.weak_hessian(mod, x, y), tlm, dict(steps=(T - 1) * n_steps, rows=n, n=n)),
        ("strong_4dvar", lambda: da.strong_4dvar(mod, y, max_iter=7), strong, misfit(T, 7)),
        ("weak_4dvar", lambda: da.weak_4dvar(mod, y, max_iter=5), weak, weak_sizes(T, 5)),
        ("cycle_4dvar", lambda: da.cycle_4dvar(mod, y, window=4, max_iter=3), strong, misfit(4, 3 * 2)),
        ("cycle_4dvar, weak", lambda: da.cycle_4dvar(mod, y, window=3, constraint="weak", max_iter=2), weak,
         weak_sizes(3, 2 * 2)),
    ]:
        asked.clear()
        call()
        mine = [a for a in asked if a[0].startswith("assimilation.")]
        assert mine == [(key, jit.registry()[key].seconds(**sizes))], (label, asked)


def test_a_tree_and_an_lgssm_em_run_decide_once(monkeypatch):
    """tree_sum_product asks once with the tree's sizes. fit_lgssm asks once for the whole fit, with the filter's
    estimate over ``max_iter`` smoother passes of every sequence (per restart), and hands the answer to every
    E step; lgssm_em_model, given "auto", asks once per E step; lgssm_suff_stats and lgssm_log_likelihood once
    per call, whatever the number of sequences."""
    if not jit.HAVE_NUMBA:
        pytest.skip("without numba every choice is the twin and nothing is counted")
    from pedagogy_lib.em import run_em
    from pedagogy_lib.graphical import random_tree, tree_sum_product
    from pedagogy_lib.lgssm import LGSSMParams, em, sample_lgssm
    asked = _recorder(monkeypatch)
    tree = random_tree(30, 3, np.random.default_rng(8))
    tree_sum_product(tree)
    assert asked == [("graphical.kernels.sum_product", jit.registry()["graphical.kernels.sum_product"].seconds(N=30, K=3))]

    rng = np.random.default_rng(9)
    n, m = 2, 3
    p = LGSSMParams(np.zeros(n), np.eye(n), 0.8 * np.eye(n), None, np.zeros(n), 0.2 * np.eye(n),
                    rng.standard_normal((m, n)), np.zeros(m), np.eye(m))
    seqs = [sample_lgssm(p, T, rng=rng)[1] for T in (15, 25)]
    key = "lgssm.kernels.filter_covariance"

    def filters():
        return [a for a in asked if a[0].startswith("lgssm.kernels.filter_")]

    def estimate(steps):
        return jit.registry()[key].seconds(T=steps, n=n, m=m)
    for label, call, want in [
        ("fit_lgssm", lambda: em.fit_lgssm(seqs, n, init=p, max_iter=4, tol=0.0), [estimate(4 * 40)]),
        ("fit_lgssm, restarts", lambda: em.fit_lgssm(seqs, n, rng=np.random.default_rng(1), max_iter=3, tol=0.0,
                                                     n_restarts=2), [estimate(3 * 2 * 40)]),
        ("lgssm_suff_stats", lambda: em.lgssm_suff_stats(p, seqs), [estimate(40)]),
        ("lgssm_log_likelihood", lambda: em.lgssm_log_likelihood(p, seqs), [estimate(40)]),
    ]:
        asked.clear()
        call()
        assert filters() == [(key, w) for w in want], (label, asked)
    asked.clear()
    run_em(em.lgssm_em_model(), p, seqs, max_iter=3, tol=0.0)
    per_step = filters()
    assert len(per_step) >= 3 and set(per_step) == {(key, estimate(40))}, asked
