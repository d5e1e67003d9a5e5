"""MCMC: effective samples per second of random-walk MH and MALA, 1000 chains, vs emcee and BlackJAX.

Targets: the 2-D banana (b = s = 1) and a 50-D Gaussian with correlations 0.9^|i-j| (tridiagonal
precision). Every run starts its 1000 chains at exact draws from the target, so no burn-in is
needed, and the ESS (``pedagogy_lib.samplers.ess``: pooled over chains, Geyer's initial monotone
sequence; the same estimator for every peer) is the smallest over the recorded coordinates (both
for the banana; 0, 12, 25, 37, 49 in 50-D). ESS per second is ESS / wall time of the sampling call.

* ours: ``pedagogy_lib.samplers.sample`` (fused numba kernel; random numbers drawn by NumPy in
  blocks), and its NumPy twin; numba's compile time with a cold cache is reported separately.
* plain NumPy reference: ``ref_samplers.run``, a vectorized step written from the definitions.
* emcee 3: the same random-walk Metropolis algorithm (``moves.GaussianMove``, same proposal scale)
  and emcee's default affine-invariant stretch move, with a vectorized log density.
* BlackJAX (JAX, 64-bit, ``jit`` of a ``lax.scan`` over ``vmap``-ed steps): ``normal_random_walk``
  and ``mala`` (whose step is Eq. 8.44's, as ours); compile time reported separately.

Before timing, each sampler's output is checked against the target: the mean of every recorded
coordinate within 5 Monte Carlo standard errors of 0 and its variance within 15% of the truth.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from _harness import row
import ref_samplers

C = 1000
CASES = {   # name: (n_steps, rwmh step, mala step)
    "banana": (1000, 0.9, 0.1),
    "gauss50": (500, 0.12, 0.02),
}
TARGETS = {"emcee": 10.0, "blackjax": 3.0}


def _problem(name):
    from pedagogy_lib import samplers as smp
    rng = np.random.default_rng(0)
    if name == "banana":
        t = smp.banana(1.0, 1.0)
        x1 = rng.standard_normal(C)
        x0 = np.column_stack([x1, x1 ** 2 - 1.0 + rng.standard_normal(C)])
        return t, x0, np.array([0, 1]), np.array([1.0, 3.0]), ref_samplers.banana_logp_grad
    D = 50
    t = smp.ar1_gaussian(D, 0.9)
    Sigma = 0.9 ** np.abs(np.subtract.outer(np.arange(D), np.arange(D)))
    x0 = rng.standard_normal((C, D)) @ np.linalg.cholesky(Sigma).T
    return t, x0, np.array([0, 12, 25, 37, 49]), np.ones(5), ref_samplers.gaussian_logp_grad(t.Lambda)


def _check(trace, var_true, who):
    from pedagogy_lib.samplers import ess
    e = ess(trace)
    z = trace.mean(axis=(0, 1)) / np.sqrt(trace.var(axis=(0, 1)) / e)
    v = trace.var(axis=(0, 1))
    assert np.all(np.abs(z) < 5) and np.all(np.abs(v / var_true - 1) < 0.15), (who, z, v)
    return float(e.min())


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _numba_compile_seconds() -> float:
    """Cold-cache compile of every sampler kernel (both targets, all methods), in a child process."""
    with tempfile.TemporaryDirectory() as d:
        code = ("import time; t = time.perf_counter(); from pedagogy_lib.samplers import mcmc, targets; "
                "targets.warmup_kernels(); mcmc.warmup_kernels(); print(time.perf_counter() - t)")
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


def _blackjax(name, method, step, x0, n_steps, keep):
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
        from pedagogy_lib.samplers import ar1_gaussian
        Lam = jnp.asarray(ar1_gaussian(50, 0.9).Lambda)

        def logdensity(x):
            return -0.5 * x @ (Lam @ x)
    D = x0.shape[1]
    alg = (blackjax.additive_step_random_walk.normal_random_walk(logdensity, step * jnp.ones(D))
           if method == "rwmh" else blackjax.mala(logdensity, step))
    kp = jnp.asarray(keep)

    def run(key, x):
        states = jax.vmap(alg.init)(x)

        def one(st, k):
            st, _ = jax.vmap(alg.step)(jax.random.split(k, C), st)
            return st, st.position[:, kp]

        _, tr = jax.lax.scan(one, states, jax.random.split(key, n_steps))
        return tr

    fn = jax.jit(run)
    key, xj = jax.random.PRNGKey(4), jnp.asarray(x0)
    t0 = time.perf_counter()
    fn.lower(key, xj).compile()
    compile_s = time.perf_counter() - t0
    return (lambda: np.asarray(jax.block_until_ready(fn(key, xj)))), compile_s


def run() -> list[dict]:
    from pedagogy_lib import samplers as smp
    smp.targets.warmup_kernels()
    smp.mcmc.warmup_kernels()
    compile_s = _numba_compile_seconds()
    rows = []
    for name, (n_steps, step_rw, step_mala) in CASES.items():
        t, x0, keep, var_true, logp_grad = _problem(name)
        size = f"{'2-D banana' if name == 'banana' else '50-D Gaussian, rho = 0.9'}, {C} chains x {n_steps} steps"
        for method, step in (("rwmh", step_rw), ("mala", step_mala)):
            st = smp.init_chains(t, x0)
            res, t_ours = _timed(lambda: smp.sample(t, st, n_steps, np.random.default_rng(1), method=method,
                                                    step_size=step, keep=keep))
            res, t2 = _timed(lambda: smp.sample(t, st, n_steps, np.random.default_rng(1), method=method,
                                                step_size=step, keep=keep))
            t_ours = min(t_ours, t2)
            e_ours = _check(res.trace, var_true, "ours")
            ours_rate = e_ours / t_ours
            label = f"MCMC {'random-walk MH' if method == 'rwmh' else 'MALA'}: ESS per second"
            # the NumPy twin and the plain NumPy reference
            tw, t_tw = _timed(lambda: smp.sample(t, st, n_steps, np.random.default_rng(1), method=method,
                                                 step_size=step, keep=keep, backend="numpy"))
            e_tw = _check(tw.trace, var_true, "twin")
            rows.append(row(label, size, 1.0 / ours_rate, peer_name="our NumPy twin", peer=t_tw / e_tw,
                            note=f"times are seconds per effective sample; ours: ESS {e_ours:.0f} in "
                                 f"{t_ours:.2f} s, accept {res.accept_rate.mean():.2f}; numba compile "
                                 f"{compile_s:.1f} s once, cold cache (not in the time)"))
            tr, t_ref = _timed(lambda: ref_samplers.run(logp_grad, x0, n_steps, np.random.default_rng(2),
                                                        method=method, step=step, keep=keep))
            e_ref = _check(tr, var_true, "reference")
            rows.append(row(label, size, 1.0 / ours_rate, peer_name="plain NumPy (ref_samplers)",
                            peer=t_ref / e_ref, note=f"reference ESS {e_ref:.0f} in {t_ref:.2f} s"))
            if method == "rwmh":
                import emcee
                for move, mname in ((emcee.moves.GaussianMove(step * step), "emcee GaussianMove (same MH)"),
                                    (emcee.moves.StretchMove(), "emcee stretch move (default)")):
                    tr, t_em = _timed(lambda: _emcee(logp_grad, x0, n_steps, keep, move))
                    e_em = _check(tr, var_true, mname)
                    ratio = (t_em / e_em) * ours_rate
                    rows.append(row(label, size, 1.0 / ours_rate, peer_name=mname, peer=t_em / e_em,
                                    target=f">= {TARGETS['emcee']:g}x emcee", met=bool(ratio >= TARGETS["emcee"]),
                                    note=f"emcee ESS {e_em:.0f} in {t_em:.2f} s"))
            bj = _blackjax(name, method, step, x0, n_steps, keep)
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
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
