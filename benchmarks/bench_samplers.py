"""MCMC: effective samples per second of random-walk MH and MALA, 1000 chains, vs emcee and BlackJAX.

Targets: the 2-D banana (b = s = 1); a 50-D Gaussian with correlations 0.9^|i-j| (tridiagonal
precision, which the library stores in sparse rows); and the same Gaussian turned by a fixed random
rotation, whose precision has all 2,500 entries nonzero (stored dense; isotropic proposals see the
same spectrum, so the two 50-D rows differ only in how the precision is stored). Every run starts
its 1000 chains at exact draws from the target, so no burn-in is needed, and the ESS
(``pedagogy_lib.samplers.ess``: pooled over chains, Geyer's initial monotone sequence; the same
estimator for every peer) is the smallest over the recorded coordinates (both for the banana; 0,
12, 25, 37, 49 in 50-D). ESS per second is ESS / wall time of the sampling call.

* ours: the public call ``pedagogy_lib.samplers.sample`` (numba kernels; random numbers drawn by
  NumPy in blocks), and its NumPy twin; numba's compile time with a cold cache is reported separately.
* plain NumPy reference: ``ref_samplers.run``, a vectorized step written from the definitions.
* emcee 3: the same random-walk Metropolis algorithm (``moves.GaussianMove``, same proposal scale)
  and emcee's default affine-invariant stretch move, with a vectorized log density.
* BlackJAX (JAX, 64-bit, ``jit`` of a ``lax.scan`` over ``vmap``-ed steps): ``normal_random_walk``
  and ``mala`` (whose step is Eq. 8.44's, as ours); compile time reported separately.

A shared machine slows whatever runs while it is busy, so ours and the plain reference are timed in
alternation in one process (``--repeats`` rounds, the order swapped every round) and the median of
the per-round ratios is reported, next to the median times. Peers absent from the environment
(emcee, BlackJAX) are skipped.

Before timing, each sampler's output is checked against the target: the mean of every recorded
coordinate within 5 Monte Carlo standard errors of 0 and its variance within 15% of the truth.

Then the sizes a reader uses (:func:`_sweep_rows`, ``_harness.sweep``, ``--sweep``): the public call against
``ref_samplers.run`` on ``ar1_gaussian(D, 0.9)`` for D = 2, 10, 50 and 200, each with 1000 short chains (200
steps; 100 at D = 200) and with 50 chains of 1000 steps, and on the banana with 200 and 1000 chains of 1000
steps, for both RWMH and MALA (steps scaled as D^(-1/2) and D^(-1/3) from the 50-D case's). Both outputs are
checked first (means and variances within 5 Monte Carlo standard errors of the target's: the sweep's few or
short chains are too short for a fixed 15 %), then timed in alternation; target ours <= 1.2 x reference
at every size, and each method's worst ratio is shown on its own row.

    python benchmarks/bench_samplers.py --cases gauss50dense,banana --methods rwmh --repeats 9 --no-peers
    python benchmarks/bench_samplers.py --sweep --methods rwmh,mala
"""
from __future__ import annotations

import os

if __name__ == "__main__":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_var, "1")          # one core, as run.py arranges, before NumPy loads

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from _harness import row, sweep  # noqa: E402
import ref_samplers  # noqa: E402

C = 1000
CASES = {   # name: (n_steps, rwmh step, mala step)
    "banana": (1000, 0.9, 0.1),
    "gauss50": (500, 0.12, 0.02),
    "gauss50dense": (500, 0.12, 0.02),
}
TARGETS = {"emcee": 10.0, "blackjax": 3.0}
#: Rounds of alternating timing (ours, reference) per row in ``run()``.
REPEATS = 7


def _rotation(D, seed=5):
    """A fixed random rotation (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((D, D)))
    return q * np.sign(np.diag(r))


def _problem(name):
    """``(target, x0, keep, var_true, logp_grad, precision)`` for one case."""
    from pedagogy_lib import samplers as smp
    rng = np.random.default_rng(0)
    if name == "banana":
        t = smp.banana(1.0, 1.0)
        x1 = rng.standard_normal(C)
        x0 = np.column_stack([x1, x1 ** 2 - 1.0 + rng.standard_normal(C)])
        return t, x0, np.array([0, 1]), np.array([1.0, 3.0]), ref_samplers.banana_logp_grad, None
    D = 50
    Sigma = 0.9 ** np.abs(np.subtract.outer(np.arange(D), np.arange(D)))
    t = smp.ar1_gaussian(D, 0.9)
    if name == "gauss50dense":
        Q = _rotation(D)
        Lam = Q @ t.Lambda @ Q.T
        Lam = 0.5 * (Lam + Lam.T)
        Sigma = Q @ Sigma @ Q.T
        t = smp.gaussian_target(np.zeros(D), Lam)
    x0 = rng.standard_normal((C, D)) @ np.linalg.cholesky(Sigma).T
    keep = np.array([0, 12, 25, 37, 49])
    return t, x0, keep, np.diag(Sigma)[keep], ref_samplers.gaussian_logp_grad(t.Lambda), t.Lambda


def _check(trace, var_true, who):
    from pedagogy_lib.samplers import ess
    e = ess(trace)
    z = trace.mean(axis=(0, 1)) / np.sqrt(trace.var(axis=(0, 1)) / e)
    v = trace.var(axis=(0, 1))
    assert np.all(np.abs(z) < 5) and np.all(np.abs(v / var_true - 1) < 0.15), (who, z, v)
    return float(e.min())


def _check_se(trace, var_true, who):
    """:func:`_check` with the variance judged by its own Monte Carlo standard error instead of a fixed 15 %:
    for the sweep's short or few chains, whose ESS is too small for 15 % (the notebooks' hidden check)."""
    from pedagogy_lib.samplers import mcse
    z = trace.mean(axis=(0, 1)) / mcse(trace)
    d2 = (trace - trace.mean(axis=(0, 1))) ** 2
    zv = (d2.mean(axis=(0, 1)) - var_true) / mcse(d2)
    assert np.all(np.abs(z) < 5) and np.all(np.abs(zv) < 5), (who, z, zv)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _numba_compile_seconds() -> float:
    """Cold-cache compile of every sampler kernel (both targets, all methods), in a child process."""
    with tempfile.TemporaryDirectory() as d:
        code = ("import time; t = time.perf_counter(); from pedagogy_lib.samplers import kernels; "
                "kernels.warmup_kernels(); print(time.perf_counter() - t)")
        out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, NUMBA_CACHE_DIR=d),
                             capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _emcee(logp_grad, x0, n_steps, keep, move):
    import emcee
    def logp(x):
        return logp_grad(x)[0]
    s = emcee.EnsembleSampler(C, x0.shape[1], logp, vectorize=True, moves=move)
    s.random_state = np.random.RandomState(3)
    s.run_mcmc(x0, n_steps, progress=False)
    return s.get_chain()[:, :, keep]


def _blackjax(name, method, step, x0, n_steps, keep, precision):
    """``(run, compile_seconds)`` or ``None`` when JAX/BlackJAX do not import."""
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        import blackjax
        import jax.numpy as jnp
    except ImportError:
        return None
    if name == "banana":
        def logdensity(x):
            r = x[1] - (x[0] ** 2 - 1.0)
            return -0.5 * x[0] ** 2 - 0.5 * r * r
    else:
        Lam = jnp.asarray(precision)

        def logdensity(x):
            return -0.5 * x @ (Lam @ x)
    D = x0.shape[1]
    alg = (blackjax.additive_step_random_walk.normal_random_walk(logdensity, step * jnp.ones(D))
           if method == "rwmh" else blackjax.mala(logdensity, step))
    kp = jnp.asarray(keep)

    def run(key, x):
        states = jax.vmap(alg.init)(x)

        def one(st, k):
            st, _ = jax.vmap(alg.step)(jax.random.split(k, x0.shape[0]), st)
            return st, st.position[:, kp]

        _, tr = jax.lax.scan(one, states, jax.random.split(key, n_steps))
        return tr

    fn = jax.jit(run)
    key, xj = jax.random.PRNGKey(4), jnp.asarray(x0)
    t0 = time.perf_counter()
    fn.lower(key, xj).compile()
    compile_s = time.perf_counter() - t0
    return (lambda: np.asarray(jax.block_until_ready(fn(key, xj)))), compile_s


def _ours(t, st, n_steps, method, step, keep, backend="numba", seed=1):
    from pedagogy_lib import samplers as smp
    return lambda: smp.sample(t, st, n_steps, np.random.default_rng(seed), method=method, step_size=step,
                              keep=keep, backend=backend)


def _reference(logp_grad, x0, n_steps, method, step, keep, seed=2):
    return lambda: ref_samplers.run(logp_grad, x0, n_steps, np.random.default_rng(seed), method=method,
                                    step=step, keep=keep)


def alternating(fns, repeats):
    """Seconds per call of each of ``fns``, shape ``(repeats, len(fns))``: timed in alternation, the
    order reversed every other round, so that a busy machine slows each contender alike."""
    times = np.empty((repeats, len(fns)))
    for r in range(repeats):
        for i in (range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))):
            times[r, i] = _timed(fns[i])[1]
    return times


def compare(name, method, repeats=REPEATS, with_emcee=False):
    """Ours against the plain reference (and, for ``rwmh`` with ``with_emcee``, emcee's same move) on one
    case: checked once, then timed in alternation.

    Returns a dict with the median times, the median over rounds of ours / reference (``ratio``: above 1
    means ours is slower; ``ratio_emcee`` likewise), and the ESS of each.
    """
    from pedagogy_lib import samplers as smp
    n_steps, step_rw, step_mala = CASES[name]
    step = step_rw if method == "rwmh" else step_mala
    t, x0, keep, var_true, logp_grad, _ = _problem(name)
    st = smp.init_chains(t, x0)
    ours = _ours(t, st, n_steps, method, step, keep)
    ref = _reference(logp_grad, x0, n_steps, method, step, keep)
    res = ours()                                              # warm-up, and the output checked
    e_ours = _check(res.trace, var_true, "ours")
    e_ref = _check(ref(), var_true, "reference")
    fns = [ours, ref]
    out = {}
    if with_emcee and method == "rwmh":
        import emcee
        em = lambda: _emcee(logp_grad, x0, n_steps, keep, emcee.moves.GaussianMove(step * step))  # noqa: E731
        out["ess_emcee"] = _check(em(), var_true, "emcee")
        fns.append(em)
    times = alternating(fns, repeats)
    med = np.median(times, axis=0)
    if len(fns) == 3:
        out.update(t_emcee=float(med[2]), ratio_emcee=float(np.median(times[:, 0] / times[:, 2])))
    return {"case": name, "method": method, "n_steps": n_steps, "t_ours": float(med[0]), "t_ref": float(med[1]),
            "ratio": float(np.median(times[:, 0] / times[:, 1])), "ess_ours": e_ours, "ess_ref": e_ref,
            "accept": float(res.accept_rate.mean()), "storage": _storage(t), **out}


def _storage(t):
    from pedagogy_lib.samplers import targets
    return getattr(targets, "precision_storage", lambda _: "csr")(t.Lambda) if hasattr(t, "Lambda") else "-"


def _size(name, n_steps):
    what = {"banana": "2-D banana", "gauss50": "50-D Gaussian, rho = 0.9 (tridiagonal precision)",
            "gauss50dense": "50-D Gaussian, rho = 0.9, rotated (dense precision)"}[name]
    return f"{what}, {C} chains x {n_steps} steps"


#: The sweep (:func:`_sweep_rows`): ``(target, D, chains, steps)``. The Gaussian is ``ar1_gaussian(D, 0.9)``
#: (tridiagonal precision, sparse rows) at the dimensions a reader uses, each with the benchmark's 1000 short
#: chains and with the notebooks' 50 longer ones; the banana as the notebooks run it (200 chains) and as
#: the benchmark does (1000).
SWEEP = (("gauss", 2, 1000, 200), ("gauss", 2, 50, 1000), ("gauss", 10, 1000, 200), ("gauss", 10, 50, 1000),
         ("gauss", 50, 1000, 200), ("gauss", 50, 50, 1000), ("gauss", 200, 1000, 100), ("gauss", 200, 50, 1000),
         ("banana", 2, 200, 1000), ("banana", 2, 1000, 1000))


def _sweep_steps(name, D):
    """``(rwmh step, mala step)``: the 50-D benchmark's scaled by D^(-1/2) and D^(-1/3); the banana's as in CASES."""
    if name == "banana":
        return CASES["banana"][1:]
    return 0.12 * (50 / D) ** 0.5, 0.02 * (50 / D) ** (1 / 3)


def _sweep_problem(name, D, C):
    """``(target, x0, keep, var_true, logp_grad)``: ``C`` exact draws from the target to start at."""
    from pedagogy_lib import samplers as smp
    rng = np.random.default_rng(0)
    if name == "banana":
        x1 = rng.standard_normal(C)
        x0 = np.column_stack([x1, x1 ** 2 - 1.0 + rng.standard_normal(C)])
        return smp.banana(1.0, 1.0), x0, np.array([0, 1]), np.array([1.0, 3.0]), ref_samplers.banana_logp_grad
    t = smp.ar1_gaussian(D, 0.9)
    Sigma = 0.9 ** np.abs(np.subtract.outer(np.arange(D), np.arange(D)))
    x0 = rng.standard_normal((C, D)) @ np.linalg.cholesky(Sigma).T
    keep = np.unique(np.linspace(0, D - 1, min(D, 5)).round().astype(np.int64))
    return t, x0, keep, np.diag(Sigma)[keep], ref_samplers.gaussian_logp_grad(t.Lambda)


def _sweep_rows(methods=("rwmh", "mala"), rounds=5, with_peers=True) -> list[dict]:
    """The public call against the plain NumPy reference over :data:`SWEEP`, per method, with BlackJAX beside
    them when it is installed: every output checked against the target first (:func:`_check_se`), then timed in
    alternation (``_harness.sweep``); the last row of each method repeats its worst ratio."""
    from pedagogy_lib import samplers as smp
    smp.kernels.warmup_kernels()
    rows = []
    for method in methods:
        cases = []
        for name, D, C, n_steps in SWEEP:
            step = _sweep_steps(name, D)[0 if method == "rwmh" else 1]
            t, x0, keep, var_true, logp_grad = _sweep_problem(name, D, C)
            st = smp.init_chains(t, x0)
            _check_se(smp.sample(t, st, n_steps, np.random.default_rng(1), method=method, step_size=step,
                                 keep=keep).trace, var_true, f"ours {name} D={D} C={C}")
            _check_se(ref_samplers.run(logp_grad, x0, n_steps, np.random.default_rng(2), method=method, step=step,
                                       keep=keep), var_true, f"reference {name} D={D} C={C}")
            peers = {}
            bj = _blackjax(name, method, step, x0, n_steps, keep, getattr(t, "Lambda", None)) if with_peers else None
            if bj is not None:
                _check_se(bj[0](), var_true, f"BlackJAX {name} D={D} C={C}")
                peers["BlackJAX (jit)"] = bj[0]
            what = "banana" if name == "banana" else f"Gaussian rho = 0.9, D = {D}"
            cases.append((f"{what}, {C} chains x {n_steps} steps, step {step:.3g}",
                          lambda t=t, st=st, n=n_steps, m=method, step=step, keep=keep: smp.sample(
                              t, st, n, np.random.default_rng(1), method=m, step_size=step, keep=keep),
                          lambda lg=logp_grad, x0=x0, n=n_steps, m=method, step=step, keep=keep: ref_samplers.run(
                              lg, x0, n, np.random.default_rng(2), method=m, step=step, keep=keep), peers))
        label = "random-walk MH" if method == "rwmh" else "MALA"
        rows += sweep(f"MCMC {label} (public call) vs plain NumPy, sweep", "plain NumPy (ref_samplers)", cases,
                      rounds=rounds, note="times per call (the same chains, so ESS per second scales alike); "
                                          "every output's means and variances within 5 Monte "
                                          "Carlo standard errors of the target's (checked first)")
    return rows


def run(cases=tuple(CASES), methods=("rwmh", "mala"), repeats=REPEATS, peers=True) -> list[dict]:
    from pedagogy_lib import samplers as smp
    smp.kernels.warmup_kernels()
    compile_s = _numba_compile_seconds()
    rows = []
    for name in cases:
        n_steps, step_rw, step_mala = CASES[name]
        t, x0, keep, var_true, logp_grad, precision = _problem(name)
        size = _size(name, n_steps)
        for method in methods:
            step = step_rw if method == "rwmh" else step_mala
            st = smp.init_chains(t, x0)
            cmp = compare(name, method, repeats)
            t_ours, e_ours = cmp["t_ours"], cmp["ess_ours"]
            ours_rate = e_ours / t_ours
            label = f"MCMC {'random-walk MH' if method == 'rwmh' else 'MALA'}: ESS per second"
            # the NumPy twin and the plain NumPy reference
            tw, t_tw = _timed(_ours(t, st, n_steps, method, step, keep, backend="numpy"))
            e_tw = _check(tw.trace, var_true, "twin")
            rows.append(row(label, size, 1.0 / ours_rate, peer_name="our NumPy twin", peer=t_tw / e_tw,
                            note=f"times are seconds per effective sample; ours: ESS {e_ours:.0f} in "
                                 f"{t_ours:.2f} s (median of {repeats}), accept {cmp['accept']:.2f}; numba compile "
                                 f"{compile_s:.1f} s once, cold cache (not in the time)"))
            rows.append(row(label, size, 1.0 / ours_rate, peer_name="plain NumPy (ref_samplers)",
                            peer=cmp["t_ref"] / cmp["ess_ref"],
                            note=f"reference ESS {cmp['ess_ref']:.0f} in {cmp['t_ref']:.2f} s; timed in "
                                 f"alternation with ours, median time ratio ours / reference {cmp['ratio']:.2f}"))
            if method == "rwmh" and peers:
                try:
                    import emcee
                except ImportError:
                    emcee = None
                for move, mname in (() if emcee is None else
                                    ((emcee.moves.GaussianMove(step * step), "emcee GaussianMove (same MH)"),
                                     (emcee.moves.StretchMove(), "emcee stretch move (default)"))):
                    tr, t_em = _timed(lambda: _emcee(logp_grad, x0, n_steps, keep, move))
                    e_em = _check(tr, var_true, mname)
                    ratio = (t_em / e_em) * ours_rate
                    rows.append(row(label, size, 1.0 / ours_rate, peer_name=mname, peer=t_em / e_em,
                                    target=f">= {TARGETS['emcee']:g}x emcee", met=bool(ratio >= TARGETS["emcee"]),
                                    note=f"emcee ESS {e_em:.0f} in {t_em:.2f} s"))
            bj = _blackjax(name, method, step, x0, n_steps, keep, precision) if peers else None
            if bj is not None:
                fn, cs = bj
                tr, t_bj = _timed(fn)
                tr, t_bj2 = _timed(fn)
                t_bj = min(t_bj, t_bj2)
                e_bj = _check(tr, var_true, "blackjax")
                ratio = (t_bj / e_bj) * ours_rate
                rows.append(row(label, size, 1.0 / ours_rate, peer_name=f"BlackJAX {method} (jit, float64)",
                                peer=t_bj / e_bj, target=f">= {TARGETS['blackjax']:g}x BlackJAX",
                                met=bool(ratio >= TARGETS["blackjax"]),
                                note=f"BlackJAX ESS {e_bj:.0f} in {t_bj:.2f} s; jit compile {cs:.2f} s (not in the time)"))
    return rows + _sweep_rows(methods, with_peers=peers)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Time pedagogy_lib.samplers.sample against the plain NumPy reference "
                                             "(ref_samplers.run), alternating the two in one process.")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from {', '.join(CASES)}")
    ap.add_argument("--methods", default="rwmh,mala", help="comma-separated, from rwmh, mala")
    ap.add_argument("--repeats", type=int, default=REPEATS, help="alternating rounds per row (median reported)")
    ap.add_argument("--rows", action="store_true",
                    help="print the performance-table rows (with emcee and BlackJAX when installed) instead of "
                         "the ratio table")
    ap.add_argument("--no-peers", action="store_true", help="with --rows: leave out emcee and BlackJAX")
    ap.add_argument("--sweep", action="store_true",
                    help="print only the sweep's rows (ours vs the plain reference over SWEEP, worst ratio last)")
    ap.add_argument("--emcee", action="store_true",
                    help="in the ratio table, time emcee's GaussianMove (the same random-walk MH) in the alternation too")
    args = ap.parse_args(argv)
    cases, methods = args.cases.split(","), args.methods.split(",")
    if args.sweep:
        for r in _sweep_rows(methods):
            print(f"{r['task']:50s} {r['size']:70s} ours {r['ours']:9.4f} s  ref {r['peer']:9.4f} s  "
                  f"ours/ref {r['ours'] / r['peer']:5.2f}  met {r['met']}", flush=True)
        return 0
    if args.rows:
        for r in run(cases, methods, args.repeats, peers=not args.no_peers):
            print(r)
        return 0
    from pedagogy_lib import samplers as smp
    smp.kernels.warmup_kernels()
    print(f"load average before: {', '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    print(f"{'case':14s} {'method':6s} {'storage':8s} {'ours s':>8s} {'ref s':>8s} {'ours/ref':>9s} "
          f"{'ESS ours':>9s} {'ESS ref':>8s}", flush=True)
    for name in cases:
        for method in methods:
            c = compare(name, method, args.repeats, with_emcee=args.emcee)
            em = (f"   emcee {c['t_emcee']:.3f} s, ESS {c['ess_emcee']:.0f}, ours/emcee {c['ratio_emcee']:.2f}"
                  if "t_emcee" in c else "")
            print(f"{name:14s} {method:6s} {c['storage']:8s} {c['t_ours']:8.3f} {c['t_ref']:8.3f} "
                  f"{c['ratio']:9.2f} {c['ess_ours']:9.0f} {c['ess_ref']:8.0f}{em}", flush=True)
    print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
