"""The samplers as separate (init, step) modules over shared pieces (Section 8.4, Eq. 8.44).

* the numba path and the NumPy twin of every sampler give the same chains, with the Gaussian's
  precision stored dense and in sparse rows, and the two storages give the same chains;
* every sampler leaves a small Gaussian invariant: chains started at exact draws are still exact
  draws after a few steps (mean and variance of many independent chains within standard errors);
* the public ``mala_log_proposal``, ``mh_log_accept_ratio`` and ``leapfrog`` are what the samplers
  run: a step rebuilt from them with the same random numbers gives the same chains;
* the registry takes a new sampler with one entry, and every kernel stays small.
"""
import ast
import inspect
import types
from pathlib import Path

import numpy as np
import pytest

from pedagogy_lib import samplers as S
from pedagogy_lib.samplers import mcmc, proposals, rwmh, targets

METHODS = [("rwmh", 0.5), ("mala", 0.2), ("hmc", 0.3), ("gibbs", 1.0)]
KERNELS = Path(S.__file__).with_name("kernels.py")


def _rotation(D, seed=0):
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((D, D)))
    return q * np.sign(np.diag(r))


def _sparse_target():
    """Tridiagonal precision in 12 dimensions (34 of 144 entries nonzero): stored in sparse rows."""
    t = S.ar1_gaussian(12, 0.6)
    return S.gaussian_target(np.linspace(-1.0, 1.0, 12), t.Lambda)


def _dense_target(D=4):
    """The AR(1) precision turned by a rotation, shifted mean: every entry nonzero, stored dense."""
    Q = _rotation(D)
    Lam = Q @ S.ar1_gaussian(D, 0.6).Lambda @ Q.T
    return S.gaussian_target(np.arange(D) * 0.5 - 0.7, 0.5 * (Lam + Lam.T))


STORAGES = {"csr": _sparse_target, "dense": _dense_target}


@pytest.mark.parametrize("storage", sorted(STORAGES))
def test_the_storage_is_chosen_by_structure(storage):
    t = STORAGES[storage]()
    assert S.precision_storage(t.Lambda) == storage
    assert targets.as_density(t, "numpy").storage == storage
    assert S.precision_storage(S.ar1_gaussian(50, 0.9).Lambda) == "csr"          # 148 of 2500 nonzero
    assert S.precision_storage(np.eye(3)) == "dense"                             # 3 of 9: dense enough


@pytest.mark.parametrize("storage", sorted(STORAGES))
@pytest.mark.parametrize("method,step", METHODS)
def test_numba_path_and_numpy_twin_agree_on_both_storages(method, step, storage):
    t = STORAGES[storage]()
    D = S.check_target(t)
    st = S.init_chains(t, np.random.default_rng(1).standard_normal((6, D)))
    a = S.sample(t, st, 40, np.random.default_rng(2), method=method, step_size=step, n_leapfrog=4)
    b = S.sample(t, st, 40, np.random.default_rng(2), method=method, step_size=step, n_leapfrog=4,
                 backend="numpy")
    np.testing.assert_allclose(a.trace, b.trace, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.state.log_p, b.state.log_p, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.state.force, b.state.force, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(a.state.n_accept, b.state.n_accept)
    assert 0 < a.state.n_accept.sum()


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("method,step", METHODS)
@pytest.mark.parametrize("make", [_sparse_target, _dense_target], ids=["sparse", "dense"])
def test_dense_and_sparse_storage_give_the_same_chains(make, method, step, backend, monkeypatch):
    t = make()
    D = S.check_target(t)
    st = S.init_chains(t, np.random.default_rng(3).standard_normal((5, D)))
    runs = {}
    for storage, fraction in (("dense", 0.0), ("csr", 2.0)):          # every matrix dense / every one sparse
        monkeypatch.setattr(targets, "DENSE_FRACTION", fraction)
        assert targets.as_density(t, backend).storage == storage
        runs[storage] = S.sample(t, st, 30, np.random.default_rng(4), method=method, step_size=step,
                                 n_leapfrog=3, backend=backend)
    np.testing.assert_allclose(runs["dense"].trace, runs["csr"].trace, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(runs["dense"].state.n_accept, runs["csr"].state.n_accept)


@pytest.mark.parametrize("storage", sorted(STORAGES))
@pytest.mark.parametrize("method,step", [("rwmh", 0.9), ("mala", 0.4), ("hmc", 0.45), ("gibbs", 1.0)])
def test_each_sampler_leaves_a_small_gaussian_invariant(method, step, storage):
    """C independent chains start at exact draws from N(mu, Sigma) and take 15 steps. If the step
    leaves the target invariant they are still C independent exact draws, so the sample mean of
    coordinate i has standard error sqrt(Sigma_ii / C) and the sample variance sqrt(2 / C) Sigma_ii
    (Gaussian fourth moment); every z-score must stay below 4.5 (one in about 150,000 by chance).
    The steps are large enough for a biased sampler to fail: unadjusted Langevin with eps = 0.4
    inflates the variance of the dense target's stiffest direction by several standard errors."""
    t = STORAGES[storage]()
    D = S.check_target(t)
    Sigma = np.linalg.inv(t.Lambda)
    C = 4000
    rng = np.random.default_rng(5)
    x0 = t.mu + rng.standard_normal((C, D)) @ np.linalg.cholesky(Sigma).T
    if method == "rwmh":
        step *= 2.0 / np.sqrt(D)                                       # keeps the acceptance near 0.3
    res = S.sample(t, S.init_chains(t, x0), 15, rng, method=method, step_size=step, n_leapfrog=3)
    x = res.state.x
    sd = np.sqrt(np.diag(Sigma))
    z_mean = (x.mean(axis=0) - t.mu) / (sd / np.sqrt(C))
    z_var = (x.var(axis=0) - sd ** 2) / (sd ** 2 * np.sqrt(2.0 / C))
    assert np.all(np.abs(z_mean) < 4.5), z_mean
    assert np.all(np.abs(z_var) < 4.5), z_var
    assert 0.2 < res.accept_rate.mean() <= 1.0                         # the chains did move


def test_the_invariance_test_catches_an_unadjusted_langevin_sampler():
    """The same test on Langevin steps accepted always (Eq. 8.44 without the Hastings factor) fails."""
    t = _dense_target()
    D = S.check_target(t)
    Sigma = np.linalg.inv(t.Lambda)
    C, eps = 4000, 0.4
    rng = np.random.default_rng(5)
    x = t.mu + rng.standard_normal((C, D)) @ np.linalg.cholesky(Sigma).T
    for _ in range(15):
        _, f = S.log_density_and_force(t, x)
        x = x + eps * f + np.sqrt(2 * eps) * rng.standard_normal((C, D))
    sd2 = np.diag(Sigma)
    z_var = (x.var(axis=0) - sd2) / (sd2 * np.sqrt(2.0 / C))
    assert np.abs(z_var).max() > 4.5


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("make", [S.banana, _dense_target, _sparse_target], ids=["banana", "dense", "sparse"])
def test_mala_step_is_the_public_langevin_proposal_density_and_mh_ratio(make, backend):
    """Rebuild one MALA step (Eq. 8.44) from the public functions and the same random numbers."""
    t = make()
    D = S.check_target(t)
    st = S.init_chains(t, np.random.default_rng(6).standard_normal((50, D)), backend=backend)
    eps = 0.3
    new = S.mala_step(t, st, eps, np.random.default_rng(7), backend=backend)
    rng = np.random.default_rng(7)                                   # the draws of sample's first block
    z, log_u = rng.standard_normal((1, 50, D))[0], np.log(rng.random((1, 50)))[0]
    x1 = st.x + eps * st.force + np.sqrt(2 * eps) * z
    lp1, f1 = S.log_density_and_force(t, x1, backend=backend)
    ratio = S.mh_log_accept_ratio(lp1, st.log_p, S.mala_log_proposal(st.x, x1, f1, eps),
                                  S.mala_log_proposal(x1, st.x, st.force, eps))
    acc = log_u < ratio
    assert 0 < acc.sum() < 50
    np.testing.assert_array_equal(new.n_accept, acc.astype(float))
    expect = np.where(acc[:, None], x1, st.x)
    if backend == "numpy":                                           # the very same functions: bit for bit
        np.testing.assert_array_equal(new.x, expect)
        np.testing.assert_array_equal(new.log_p, np.where(acc, lp1, st.log_p))
    else:
        np.testing.assert_allclose(new.x, expect, rtol=1e-13, atol=1e-13)
    # the kernel and the public density agree
    ours = proposals.langevin_log_density(x1, st.x, st.force, eps, "numba")
    np.testing.assert_allclose(ours, S.mala_log_proposal(x1, st.x, st.force, eps), rtol=1e-13)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("make,eps", [(S.banana, 0.35), (_dense_target, 0.8), (_sparse_target, 0.8)],
                         ids=["banana", "dense", "sparse"])
def test_hmc_step_is_the_public_leapfrog_and_mh_ratio(make, eps, backend):
    t = make()
    D = S.check_target(t)
    st = S.init_chains(t, np.random.default_rng(8).standard_normal((50, D)), backend=backend)
    L = 5
    new = S.hmc_step(t, st, eps, L, np.random.default_rng(9), backend=backend)
    rng = np.random.default_rng(9)
    p0, log_u = rng.standard_normal((1, 50, D))[0], np.log(rng.random((1, 50)))[0]
    x1, p1 = S.leapfrog(t, st.x, p0, eps, L, backend=backend)
    lp1, _ = S.log_density_and_force(t, x1, backend=backend)
    ratio = S.mh_log_accept_ratio(lp1, st.log_p, -0.5 * np.sum(p1 * p1, axis=1), -0.5 * np.sum(p0 * p0, axis=1))
    acc = log_u < ratio
    assert 0 < acc.sum() < 50
    np.testing.assert_array_equal(new.n_accept, acc.astype(float))
    tol = 0.0 if backend == "numpy" else 1e-13                      # same leapfrog; sums in another order
    np.testing.assert_allclose(new.x, np.where(acc[:, None], x1, st.x), rtol=tol, atol=tol)


def test_a_new_sampler_is_one_registry_entry(monkeypatch):
    """A sampler module is anything with settings, draw, init and step: here random-walk MH with its
    scale doubled, registered under a new name, runs through the public driver unchanged."""
    doubled = types.SimpleNamespace(settings=lambda step_size: 2.0 * step_size, draw=rwmh.draw,
                                    init=rwmh.init, step=rwmh.step)
    monkeypatch.setitem(mcmc.SAMPLERS, "rwmh2x", doubled)
    t = S.banana()
    st = S.init_chains(t, np.zeros((3, 2)))
    a = S.sample(t, st, 20, np.random.default_rng(0), method="rwmh2x", step_size=0.3)
    b = S.sample(t, st, 20, np.random.default_rng(0), method="rwmh", step_size=0.6)
    np.testing.assert_array_equal(a.trace, b.trace)
    for name in S.METHODS:
        module = mcmc.SAMPLERS[name]
        assert all(callable(getattr(module, f)) for f in ("settings", "draw", "init", "step")), name


def test_each_sampler_settings_takes_only_its_own_options():
    """``settings`` names the options of ``sample`` the sampler uses, and the driver passes only those.
    ``n_leapfrog`` is an argument of ``sample`` documented as an integer of at least 1 whatever the method:
    it is checked for every method (a malformed value was silently ignored by the others)."""
    wanted = {name: list(inspect.signature(mcmc.SAMPLERS[name].settings).parameters) for name in S.METHODS}
    assert wanted == {"rwmh": ["step_size"], "mala": ["step_size"], "hmc": ["step_size", "n_leapfrog"],
                      "gibbs": ["target"]}
    t = S.ar1_gaussian(2, 0.5)
    st = S.init_chains(t, np.zeros((2, 2)))
    for method in ("rwmh", "mala", "hmc", "gibbs"):
        S.sample(t, st, 2, np.random.default_rng(0), method=method, step_size=0.1, n_leapfrog=3)
        for bad, error in ((0, ValueError), (-1, ValueError), (2.5, TypeError), ("3", TypeError), (None, TypeError)):
            with pytest.raises(error, match="n_leapfrog"):
                S.sample(t, st, 2, np.random.default_rng(0), method=method, step_size=0.1, n_leapfrog=bad)
    S.sample(t, st, 2, np.random.default_rng(0), method="gibbs", step_size=-1.0)      # gibbs has no step


@pytest.mark.parametrize("method", S.METHODS)
def test_a_call_checks_its_target_once(method, monkeypatch):
    """``sample`` (and so every ``*_step``) validates the target once per call, whatever the number of
    steps, and builds its density once; the chain state is checked against that density."""
    t = _dense_target()
    st = S.init_chains(t, np.zeros((3, S.check_target(t))))
    calls = {"check_target": 0, "as_density": 0}
    for name in calls:
        def counted(*args, _name=name, _f=getattr(mcmc, name), **kwargs):
            calls[_name] += 1
            return _f(*args, **kwargs)
        monkeypatch.setattr(mcmc, name, counted)
    S.sample(t, st, 5, np.random.default_rng(0), method=method, step_size=0.2, n_leapfrog=2)
    assert calls == {"check_target": 1, "as_density": 1}


def test_one_chain_state_type():
    """The state init_chains returns is the state every sampler's step takes and returns."""
    assert S.ChainState is proposals.ChainState
    assert not hasattr(proposals, "Chains") and "ChainState" not in mcmc.__all__
    t = S.banana()
    st = S.init_chains(t, np.zeros((3, 2)))
    density = targets.as_density(t, "numba")
    for name in S.METHODS[:3]:
        sampler = mcmc.SAMPLERS[name]
        z, log_u = sampler.draw(np.random.default_rng(0), 1, 3, 2)
        new = sampler.step(st, z[0], log_u[0], density, proposals.pieces("numba"),
                           mcmc._settings(sampler, t, 0.1, 2))
        assert type(new) is S.ChainState and new.n_steps == 1 and st.n_steps == 0


def test_every_kernel_is_small():
    """At most about 80 lines and 12 parameters per numba kernel; no integer code chooses an algorithm
    (no parameter called method, kind or code)."""
    tree = ast.parse(KERNELS.read_text())
    kernels = [n for n in tree.body if isinstance(n, ast.FunctionDef)
               and any(getattr(d, "id", "").startswith("njit") for d in n.decorator_list)]
    assert len(kernels) >= 10
    for k in kernels:
        names = [a.arg for a in k.args.args]
        assert k.end_lineno - k.lineno + 1 <= 80, k.name
        assert len(names) <= 12, k.name
        assert not {"method", "kind", "code"} & set(names), k.name
