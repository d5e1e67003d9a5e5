"""Each registered twin timed against its estimate (issue 70): is the rule of ``backend="auto"`` weighing
the right amount of work?

    .venv/bin/python benchmarks/twin_costs.py [--repeat N]

For every kernel in the registry (:func:`pedagogy_lib.core.jit.registry`) with a case below, the public
function that asks for it is called with ``backend="numpy"`` at a few sizes, on one core, and its CPU time
(best of ``--repeat``, ``time.process_time``) is divided by the registered estimate
(:func:`pedagogy_lib.core.jit.twin_estimate`) at the same sizes. The table lists every point and, last,
the worst ratio either way (max of ratio and 1/ratio). The public call includes its validation, which the
estimate leaves out, so small sizes read a little high. An estimate within a factor of about three is
enough for the rule, which compares it with the seconds of a compile (5 s, ``COMPILE_AFTER_TWIN_SECONDS``).
Not a test: CPU time depends on the machine and its load. Kernels without a case here are listed at the
end (their families build their inputs; add a case when a family joins).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"          # one core, set before numpy is imported: CPU time is then the work

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402


def _cpu(call, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        call()
        best = min(best, time.process_time() - t0)
    return best


def _hmm(sizes):
    from pedagogy_lib.hmm import hmm_filter, hmm_smoother
    rng = np.random.default_rng(0)
    for T, K in sizes:
        A = rng.dirichlet(np.ones(K), size=K).T.copy()
        pi, ll = np.ones(K) / K, np.log(rng.random((T, K)) + 0.05)
        yield "hmm.kernels.forward", dict(T=T, K=K), lambda: hmm_filter(pi, A, ll, backend="numpy")
        yield "hmm.kernels.backward", dict(T=T, K=K), lambda: hmm_smoother(pi, A, ll, backend="numpy")


def _gmm(sizes):
    from pedagogy_lib.mixture import GMMParams, gmm_suff_stats
    rng = np.random.default_rng(1)
    for N, K, L in sizes:
        p = GMMParams(np.ones(K) / K, rng.standard_normal((K, L)), np.stack([np.eye(L)] * K))
        y = rng.standard_normal((N, L))
        key = "mixture.kernels.suff_stats_lane_sums" if L <= 4 else "mixture.kernels.suff_stats_blas"
        yield key, dict(N=N, K=K, L=L), lambda: gmm_suff_stats(p, y, backend="numpy")


def _resample(sizes):
    from pedagogy_lib.smc import resample
    for I, scheme in sizes:
        W = np.random.default_rng(2).dirichlet(np.ones(I))
        yield f"smc.kernels.resample_{scheme}", dict(I=I, M=I), \
            lambda: resample(W, np.random.default_rng(3), scheme=scheme, backend="numpy")


def _langevin(sizes):
    from pedagogy_lib import diffusion as df
    for K, C, n in sizes:
        gmm, y0 = df.ring_mixture(K, 2.0, 0.2), np.random.default_rng(4).standard_normal((C, 2))
        yield "diffusion.kernels.langevin_gmm_steps", dict(C=C, K=K, d=2, n_steps=n), \
            lambda: df.langevin_gmm(gmm, 0.0, y0, n, 0.01, np.random.default_rng(5), backend="numpy")


def _harmonium(sizes_exact, sizes_gibbs):
    from pedagogy_lib.harmonium import EFHParams, gibbs_sample, log_marginal_table, log_partition
    rng = np.random.default_rng(6)
    for K, M in sizes_exact:
        p = EFHParams(0.3 * rng.standard_normal((K, M)), rng.standard_normal(K), rng.standard_normal(M))
        yield "harmonium.kernels.gray_log_partition", dict(E=K, O=M), \
            lambda: log_partition(p, layer="hidden", backend="numpy")
        yield "harmonium.kernels.gray_log_marginals", dict(E=K, O=M), \
            lambda: log_marginal_table(p, "hidden", backend="numpy")
    for K, M, C, n in sizes_gibbs:
        p = EFHParams(0.1 * rng.standard_normal((K, M)), np.zeros(K), np.zeros(M))
        y0 = (rng.random((C, M)) < 0.5).astype(float)
        yield "harmonium.kernels.gibbs_steps", dict(C=C, K=K, M=M, n_steps=n), \
            lambda: gibbs_sample(p, y0, n, np.random.default_rng(7), backend="numpy")


def _cd(sizes):
    from pedagogy_lib.harmonium import EFHParams, cd_epoch
    rng = np.random.default_rng(8)
    for N, K, M, B, k in sizes:
        p = EFHParams(0.01 * rng.standard_normal((K, M)), np.zeros(K), np.zeros(M))
        Y = (rng.random((N, M)) < 0.3).astype(float)
        yield "harmonium.kernels.cd_epoch", dict(N=N, K=K, M=M, batch_size=B, k=k), \
            lambda: cd_epoch(p, Y, np.random.default_rng(9), k=k, batch_size=B, backend="numpy")


def _nn(sizes_rnn, sizes_adam):
    from pedagogy_lib.nn import optim, rnn
    rng = np.random.default_rng(10)
    for T, N, H in sizes_rnn:
        p = rnn.init_rnn(rng, 3, H, 2, gain=0.9)
        Y = rng.standard_normal((T, N, 3))
        f = rnn.rnn_forward(p, Y)
        gX = rng.standard_normal((T, N, 2))
        yield "nn.kernels.bptt_backward", dict(T=T, N=N, H=H), lambda: rnn.rnn_bptt(p, Y, f.Z, gX, backend="numpy")
    for leaves, size in sizes_adam:
        params = [rng.standard_normal(size // leaves) for _ in range(leaves)]
        opt = optim.Adam(0.01, backend="numpy")
        state = opt.init(params)
        yield "nn.kernels.adam_update", dict(leaves=leaves, size=size // leaves * leaves), \
            lambda: opt.step(params, params, state)


def _samplers(sizes):
    from pedagogy_lib.samplers import banana, gaussian_target, init_chains, sample
    rng = np.random.default_rng(13)
    band = lambda D: 2.0 * np.eye(D) - 0.5 * (np.eye(D, k=1) + np.eye(D, k=-1))  # noqa: E731
    targets = {"banana_log_density_and_force": lambda D: banana(1.0, 1.0),
               "gaussian_log_density_from_product": lambda D: gaussian_target(np.zeros(D), np.eye(D) + 0.1),
               "gaussian_csr_log_density_and_force": lambda D: gaussian_target(np.zeros(D), band(D))}
    for name, D, C, n, method in sizes:
        target = targets[name](D)
        state = init_chains(target, rng.standard_normal((C, D)), backend="numpy")
        evals = n * (5 if method == "hmc" else 1)
        yield f"samplers.kernels.{name}", dict(C=C, D=D, steps=n, evaluations=evals), \
            lambda: sample(target, state, n, np.random.default_rng(14), method=method, step_size=0.1, n_leapfrog=5,
                           backend="numpy")


def _kalman(sizes):
    from pedagogy_lib.lgssm import LGSSMParams, kalman_filter
    rng = np.random.default_rng(11)
    for T, n in sizes:
        A = 0.9 * np.linalg.qr(rng.standard_normal((n, n)))[0]
        p = LGSSMParams(np.zeros(n), np.eye(n), A, None, np.zeros(n), 0.1 * np.eye(n), np.eye(n), np.zeros(n),
                        0.5 * np.eye(n))
        y = rng.standard_normal((T, n))
        yield "lgssm.kernels.filter_covariance", dict(T=T, n=n, m=n), lambda: kalman_filter(p, y, backend="numpy")


def _lorenz(sizes):
    from pedagogy_lib.assimilation import lorenz
    for n, cycles in sizes:
        dyn = lorenz.lorenz96(n, dt=0.05, n_steps=2)
        x0 = 8.0 + np.random.default_rng(12).normal(size=n)
        yield "assimilation.kernels.integrate", dict(steps=cycles * 2, rows=1, n=n), \
            lambda: lorenz.integrate(dyn, x0, cycles, backend="numpy")


def _fourdvar(sizes):
    from pedagogy_lib import assimilation as da
    for kind, n, T, n_steps in sizes:
        dyn = da.lorenz96(n, dt=0.05, n_steps=n_steps) if kind == "lorenz96" else da.lorenz63(dt=0.01, n_steps=n_steps)
        n = dyn.n
        dense = kind == "lorenz63"            # Lorenz-63: every coordinate through a dense C; Lorenz-96: every other site
        C = np.random.default_rng(15).standard_normal((n, n)) if dense else np.eye(n)[::2]
        m = C.shape[0]
        mod = da.DAModel(dyn, np.full(n, 1.0), 2.0 * np.eye(n), 0.1 * np.eye(n), C, np.zeros(m), 0.5 * np.eye(m))
        x, y = da.simulate(mod, T, rng=np.random.default_rng(16), spin_up=50)
        sizes_ = dict(steps=(T - 1) * n_steps, n=n, T=T, m=m, evaluations=1)
        key = "strong_misfit_grad" if dense else "strong_misfit_grad_selection"
        problem = da.strong_problem(mod, y, backend="numpy")
        yield f"assimilation.kernels.{key}", sizes_, lambda: da.strong_cost_grad(problem, x[0] + 0.1)
        yield "assimilation.kernels.weak_cost_grad", dict(n_steps=n_steps, n=n, T=T, m=m, evaluations=1), \
            lambda: da.weak_cost_grad(mod, x, y, backend="numpy")
        yield "assimilation.kernels.cycle_tlm", dict(steps=(T - 1) * n_steps, rows=n, n=n), \
            lambda: da.strong_hessian(mod, x[0], y, backend="numpy")


def _tree(sizes):
    from pedagogy_lib.graphical import random_tree, tree_sum_product
    for N, K in sizes:
        tree = random_tree(N, K, np.random.default_rng(17))
        yield "graphical.kernels.sum_product", dict(N=N, K=K), lambda: tree_sum_product(tree, backend="numpy")


def _lgssm_em(sizes):
    """fit_lgssm decides with the filter's estimate over every smoother pass it may run (max_iter of them)."""
    from pedagogy_lib.lgssm import LGSSMParams, sample_lgssm
    from pedagogy_lib.lgssm.em import fit_lgssm
    rng = np.random.default_rng(18)
    for T, n, m, iters in sizes:
        A = 0.9 * np.linalg.qr(rng.standard_normal((n, n)))[0]
        p = LGSSMParams(np.zeros(n), np.eye(n), A, None, np.zeros(n), 0.1 * np.eye(n), rng.standard_normal((m, n)),
                        np.zeros(m), 0.5 * np.eye(m))
        _, y = sample_lgssm(p, T, rng=rng)
        yield "lgssm.kernels.filter_covariance", dict(T=iters * T, n=n, m=m), \
            lambda: fit_lgssm(y, n, init=p, max_iter=iters, tol=0.0, backend="numpy")


def cases():
    """Every (kernel key, sizes, call) of the sweep; the sizes were fixed before the estimates were fitted."""
    yield from _hmm([(100, 2), (1000, 4), (300, 30)])
    yield from _gmm([(1000, 2, 2), (10000, 4, 2), (3000, 8, 6), (20000, 3, 10)])
    yield from _resample([(100, "multinomial"), (10000, "stratified"), (100000, "systematic")])
    yield from _langevin([(2, 10, 20), (8, 300, 100), (4, 2000, 20)])
    yield from _harmonium([(8, 20), (12, 30), (15, 12)], [(10, 20, 10, 10), (50, 100, 100, 50), (20, 64, 1000, 5)])
    yield from _cd([(200, 16, 64, 10, 1), (1000, 32, 64, 50, 3)])
    yield from _nn([(10, 4, 8), (100, 16, 32), (40, 32, 96)], [(2, 10), (6, 6000), (2, 400000)])
    yield from _samplers([("banana_log_density_and_force", 2, 10, 100, "rwmh"),
                          ("banana_log_density_and_force", 2, 1000, 50, "mala"),
                          ("gaussian_log_density_from_product", 10, 100, 50, "hmc"),
                          ("gaussian_log_density_from_product", 200, 50, 20, "mala"),
                          ("gaussian_csr_log_density_and_force", 50, 20, 100, "rwmh"),
                          ("gaussian_csr_log_density_and_force", 20, 200, 30, "gibbs")])
    yield from _kalman([(50, 2), (200, 8), (100, 24)])
    yield from _lorenz([(8, 50), (40, 200)])
    yield from _fourdvar([("lorenz63", 3, 21, 10), ("lorenz96", 40, 10, 2), ("lorenz96", 12, 40, 5)])
    yield from _tree([(200, 2), (3000, 3), (10000, 10)])
    yield from _lgssm_em([(100, 2, 1, 10), (300, 4, 3, 5), (200, 8, 8, 5)])


def main(argv=None) -> float:
    from pedagogy_lib.core import jit
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    seen, worst = set(), (1.0, "")
    print("| kernel | sizes | twin CPU | estimate | ratio |\n|---|---|---|---|---|")
    for key, sizes, call in cases():
        call()                                              # first call: imports and caches out of the timing
        measured = _cpu(call, args.repeat)
        estimate = jit.twin_estimate(key, **sizes)
        ratio = measured / estimate
        seen.add(key)
        label = ", ".join(f"{k}={v}" for k, v in sizes.items())
        print(f"| {key} | {label} | {1e3 * measured:.3g} ms | {1e3 * estimate:.3g} ms | {ratio:.2f} |", flush=True)
        off = max(ratio, 1.0 / ratio)
        if off > worst[0]:
            worst = (off, f"{key} at {label} (ratio {ratio:.2f})")
    print(f"\nworst: a factor {worst[0]:.2f}, {worst[1]}")
    rest = sorted(set(jit.registry()) - seen)
    print(f"kernels without a case here: {', '.join(rest) if rest else 'none'}")
    return worst[0]


if __name__ == "__main__":
    main()
