"""The RBM CD-1 / PCD-1 epoch over the sizes a reader uses, against the plain NumPy reference (issue 56).

:func:`cd_sweep_rows` times one epoch of ``pedagogy_lib.harmonium.cd_epoch`` (the public call, validation
included) against ``ref_harmonium.cd_epoch`` (mini-batch matrix products written from the definitions)
on scikit-learn's digits binarized at > 7 (1797 x 64), for K = 16, 64, 256 and 512 hidden units at batch
sizes 10 (scikit-learn's default) and 100, PCD-1 and CD-1: one ``_harness.sweep`` per algorithm, each
with its worst ratio on a last row; target ours <= 1.2 x reference at every size.

Agreement first: both draw the epoch's order and uniforms from the same stream (``rng.permutation``, then
the hidden and the visible uniforms), so from the same start and seed one epoch must give the same
weights, biases and (PCD) chains up to rounding, which is checked to 1e-9 before any timing. scikit-learn's
``BernoulliRBM`` (PCD-1) is timed beside PCD-1 at every size, after :func:`sklearn_agrees`.

    python benchmarks/sweep_cd.py
"""
from __future__ import annotations

import os

if __name__ == "__main__":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_var, "1")          # one core, as run.py arranges, before NumPy loads

import numpy as np  # noqa: E402

import ref_harmonium as ref  # noqa: E402
from _harness import sweep  # noqa: E402

#: Hidden units and mini-batch sizes of the sweep.
CD_SWEEP_K = (16, 64, 256, 512)
CD_SWEEP_BATCH = (10, 100)
CD_SWEEP_LR = 0.05
CD_SWEEP_LIMIT = 1.2


def _cd_case(Y, K, bs, persistent, seed=3):
    """``(ours, reference)`` callables for one epoch from the same start and seed, agreement checked first."""
    from pedagogy_lib.harmonium import EFHParams, cd_epoch
    rng = np.random.default_rng(K * 1000 + bs)
    p0 = EFHParams(0.01 * rng.standard_normal((K, Y.shape[1])), np.zeros(K), np.zeros(Y.shape[1]))
    ch = (rng.random((bs, K)) < 0.5).astype(float) if persistent else None
    lr = CD_SWEEP_LR

    def ours(p0=p0, ch=ch, bs=bs):
        return cd_epoch(p0, Y, np.random.default_rng(seed), lr=lr, batch_size=bs, persistent=persistent, chains=ch)

    def reference(p0=p0, ch=ch, bs=bs):
        W, bx, by = p0.W.copy(), p0.b_x.copy(), p0.b_y.copy()
        chains = None if ch is None else ch.copy()
        ref.cd_epoch(W, bx, by, Y, np.random.default_rng(seed), lr=lr, batch_size=bs, persistent=persistent,
                     chains=chains)
        return W, bx, by, chains

    p, chains = ours()
    W, bx, by, ch_ref = reference()
    what = f"{'PCD' if persistent else 'CD'}-1, K={K}, batch {bs}"
    assert np.max(np.abs(W - p0.W)) > 1e-3, f"{what}: the epoch did not move the weights"
    for name, a, b in (("W", p.W, W), ("b_x", p.b_x, bx), ("b_y", p.b_y, by)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=f"{what}: {name}")
    if persistent:
        assert np.array_equal(chains, ch_ref), f"{what}: chains"
    return ours, reference


def sklearn_rbm(K, batch_size, n_iter, lr, seed=0):
    """scikit-learn's ``BernoulliRBM`` (PCD-1 with one persistent chain per mini-batch row), unfitted."""
    from sklearn.neural_network import BernoulliRBM
    return BernoulliRBM(n_components=K, learning_rate=lr, batch_size=batch_size, n_iter=n_iter, random_state=seed)


def sklearn_agrees(Y, K, bs, lr, epochs: int = 10):
    """Ten epochs of PCD-1, ours and scikit-learn's, from small random weights: their pseudo-log-likelihoods
    must be within a tenth of the distance scikit-learn travelled from the start (the chains and the random
    streams differ, so the check is on what is learned). Returns ``(ours, scikit-learn's, start)``."""
    from pedagogy_lib.harmonium import EFHParams, cd_epoch, pseudo_log_likelihood
    sk = sklearn_rbm(K, bs, epochs, lr).fit(Y)
    p_sk = EFHParams(sk.components_.copy(), sk.intercept_hidden_.copy(), sk.intercept_visible_.copy())
    rng = np.random.default_rng(1)
    p = EFHParams(0.01 * rng.standard_normal((K, Y.shape[1])), np.zeros(K), np.zeros(Y.shape[1]))
    start = pseudo_log_likelihood(p, Y)
    chains = None
    for _ in range(epochs):
        p, chains = cd_epoch(p, Y, rng, lr=lr, batch_size=bs, persistent=True, chains=chains)
    pl_ours, pl_sk = pseudo_log_likelihood(p, Y), pseudo_log_likelihood(p_sk, Y)
    assert abs(pl_ours - pl_sk) <= 0.1 * abs(start - pl_sk), (K, bs, pl_ours, pl_sk, start)
    return pl_ours, pl_sk, start


def cd_sweep_rows(rounds: int = 5) -> list[dict]:
    """One epoch of PCD-1 and of CD-1, ours against ``ref_harmonium.cd_epoch`` over K in :data:`CD_SWEEP_K` and
    batch sizes :data:`CD_SWEEP_BATCH` on the binarized digits; each algorithm's worst ratio on its last row."""
    from pedagogy_lib.harmonium import binarized_digits
    from pedagogy_lib.harmonium import kernels
    kernels.warmup_kernels()
    Y, _ = binarized_digits()
    rows = []
    for persistent in (True, False):
        cases = []
        for K in CD_SWEEP_K:
            for bs in CD_SWEEP_BATCH:
                ours, reference = _cd_case(Y, K, bs, persistent)
                peers = {}
                if persistent:                       # scikit-learn's BernoulliRBM learns by PCD-1
                    sklearn_agrees(Y, K, bs, CD_SWEEP_LR)
                    peers["scikit-learn BernoulliRBM"] = lambda K=K, bs=bs: sklearn_rbm(K, bs, 1, CD_SWEEP_LR).fit(Y)
                cases.append((f"N=1797, M=64, K={K}, batch {bs}", ours, reference, peers))
        algo = "PCD-1" if persistent else "CD-1"
        rows += sweep(f"RBM {algo} epoch (public call) vs plain NumPy, sweep",
                      "vectorized NumPy reference (`benchmarks/ref_harmonium.py` `cd_epoch`)", cases,
                      limit=CD_SWEEP_LIMIT, rounds=rounds,
                      note=f"binarized digits, lr {CD_SWEEP_LR:g}; same order and uniforms, one epoch's weights, "
                           f"biases{' and chains' if persistent else ''} agree to 1e-9 (checked first); "
                           "timed in alternation")
    return rows


if __name__ == "__main__":
    for r in cd_sweep_rows():
        print(f"{r['task']:48s} {r['size']:60s} ours {r['ours'] * 1e3:8.2f} ms  ref {r['peer'] * 1e3:8.2f} ms  "
              f"ours/ref {r['ours'] / r['peer']:5.2f}  met {r['met']}", flush=True)
