"""Harmoniums: exact log Z by Gray-code enumeration, and CD-1 / PCD-1 epochs on binarized digits.

1. Exact log Z of an RBM with K = 20 hidden and M = 64 visible units (2^20 hidden states). Ours:
   ``pedagogy_lib.harmonium.log_partition`` (the Gray-code numba kernel: one row of W per step,
   factors 1 + e^zeta kept by multiplication, their product and the block's sum in scaled form, a
   mantissa and a binary exponent, so no logarithm or exponential per state at any coupling).
   Reference: ``ref_harmonium.log_Z_enumeration``, the vectorized NumPy enumeration (block matrix
   products, softplus, log-sum-exp). Agreement to 1e-9
   relative is checked first. Targets: at most 1 s, and at least 5x the NumPy enumeration.
   Second row, the same call against ``ref_harmonium.log_Z_gray``, a plain numba Gray-code loop (one
   logarithm per state, running log-sum-exp), timed in alternation: at most 0.07 s and
   ours <= 1.2 x reference.
   Then a sweep over the coupling strength (``_harness.sweep``): weights c N(0, 1) for c = 0.1, 0.3, 1.0
   and 3.0 (3.0 only while both ours and the reference stay finite), biases 2 N(0, 1), K = 20, M = 64,
   ours against ``ref_harmonium.log_Z_gray`` in alternation after agreement to 1e-9 relative is checked;
   target ours <= 1.2 x reference at every coupling, and the sweep's worst ratio is shown.
2. One epoch of PCD-1 and of CD-1 on scikit-learn's digits binarized at > 7 (1797 x 64), with 64
   and 256 hidden units, at batch sizes 10 (scikit-learn's default) and 100. Peer: scikit-learn's
   ``BernoulliRBM`` with ``n_iter=1`` (its ``fit``, which is PCD-1 with one persistent chain per
   batch row: the same algorithm as our PCD-1). Before timing, both are trained for 10 epochs at
   learning rate 0.05 from their own small random starts and their full pseudo-log-likelihoods
   (``pseudo_log_likelihood``, every unit flipped in turn) must agree within 10 % of the untrained
   model's distance to them. The vectorized NumPy reference ``ref_harmonium.cd_epoch`` is timed too
   (in the note). Targets: at least 3x scikit-learn at batch 10 and 1.5x at batch 100.
3. The CD-1 / PCD-1 epoch over hidden units and batch sizes against ``ref_harmonium.cd_epoch``
   (``sweep_cd.py``): K = 16 to 512, batches of 10 and 100, the worst ratio on its own row.
"""
from __future__ import annotations

import numpy as np

import ref_harmonium as ref
from _harness import best_time, interleaved_times, row, sweep

LOGZ_TARGET_S, LOGZ_TARGET_RATIO = 1.0, 5.0
LOGZ_PLAIN_S, LOGZ_PLAIN_RATIO = 0.07, 1.2            # against the plain numba loop
CD_TARGETS = {10: 3.0, 100: 1.5}
COUPLINGS = (0.1, 0.3, 1.0, 3.0)                      # the sweep: weights c N(0, 1), biases 2 N(0, 1)


def _log_Z_rows():
    from pedagogy_lib.harmonium import EFHParams, log_partition
    rng = np.random.default_rng(0)
    K, M = 20, 64
    p = EFHParams(0.3 * rng.standard_normal((K, M)), rng.standard_normal(K), rng.standard_normal(M))
    ours = log_partition(p, layer="hidden")
    peer = ref.log_Z_enumeration(p.W, p.b_x, p.b_y)
    assert abs(ours - peer) <= 1e-9 * abs(peer), (ours, peer)
    t_ours = best_time(lambda: log_partition(p, layer="hidden"), repeat=3, min_time=0.0)
    t_ref = best_time(lambda: ref.log_Z_enumeration(p.W, p.b_x, p.b_y), repeat=3, min_time=0.0)
    t_twin = best_time(lambda: log_partition(p, layer="hidden", backend="numpy"), repeat=2, min_time=0.0)
    met = bool(t_ours <= LOGZ_TARGET_S and t_ref / t_ours >= LOGZ_TARGET_RATIO)
    rows = [row("RBM exact log Z (Gray-code enumeration)", "K=20 hidden (2^20 states), M=64", t_ours,
                peer_name="vectorized NumPy enumeration (reference)", peer=t_ref,
                target=f"<= {LOGZ_TARGET_S:g} s and >= {LOGZ_TARGET_RATIO:g}x", met=met,
                note=f"agreement 1e-9 relative checked; the library's NumPy twin {t_twin:.3g} s")]
    # the plain numba loop: its product of 1 + exp(zeta_j) over the visible units must fit in a float64
    assert float(np.max(np.abs(p.b_y) + np.abs(p.W).sum(axis=0))) * M < 700.0
    plain = ref.log_Z_gray(p.W, p.b_x, p.b_y)
    assert abs(ours - plain) <= 1e-9 * abs(plain), (ours, plain)
    t_ours, t_plain = interleaved_times([lambda: log_partition(p, layer="hidden"),
                                         lambda: ref.log_Z_gray(p.W, p.b_x, p.b_y)], rounds=7, min_time=0.0)
    rows.append(row("RBM exact log Z vs a plain numba loop", "K=20 hidden (2^20 states), M=64", t_ours,
                    peer_name="plain numba Gray-code loop (`benchmarks/ref_harmonium.py`)", peer=t_plain,
                    target=f"<= {LOGZ_PLAIN_S:g} s and ours <= {LOGZ_PLAIN_RATIO:g} x reference",
                    met=bool(t_ours <= LOGZ_PLAIN_S and t_ours <= LOGZ_PLAIN_RATIO * t_plain),
                    note="timed in alternation, validation included; agreement 1e-9 relative checked"))
    return rows


def _log_Z_sweep_rows():
    """Ours against the plain numba loop as the coupling grows (the sweep's worst ratio last)."""
    from pedagogy_lib.harmonium import EFHParams, log_partition
    K, M = 20, 64
    cases = []
    for c in COUPLINGS:
        rng = np.random.default_rng(0)
        p = EFHParams(c * rng.standard_normal((K, M)), 2.0 * rng.standard_normal(K), 2.0 * rng.standard_normal(M))
        ours, plain = log_partition(p, layer="hidden"), ref.log_Z_gray(p.W, p.b_x, p.b_y)
        if c > 1.0 and not (np.isfinite(ours) and np.isfinite(plain)):
            continue                                   # the plain loop's product left float64's range
        assert abs(ours - plain) <= 1e-9 * abs(plain), (c, ours, plain)
        cases.append((f"weights {c:g} N(0,1), biases 2 N(0,1), K=20, M=64",
                      lambda p=p: log_partition(p, layer="hidden"), lambda p=p: ref.log_Z_gray(p.W, p.b_x, p.b_y)))
    return sweep("RBM exact log Z, coupling sweep", "plain numba Gray-code loop (`benchmarks/ref_harmonium.py`)",
                 cases, limit=LOGZ_PLAIN_RATIO, note="timed in alternation; agreement 1e-9 relative checked")


def _cd_rows():
    from sweep_cd import sklearn_agrees, sklearn_rbm
    from pedagogy_lib.harmonium import EFHParams, binarized_digits, cd_epoch
    Y, _ = binarized_digits()
    rows = []
    for K in (64, 256):
        for bs in (10, 100):
            lr, epochs = 0.05, 10
            pl_ours, pl_sk, start = sklearn_agrees(Y, K, bs, lr, epochs)
            rng = np.random.default_rng(2)
            # timing: one epoch each
            p0 = EFHParams(0.01 * rng.standard_normal((K, 64)), np.zeros(K), np.zeros(64))
            ch = (rng.random((bs, K)) < 0.5).astype(float)
            t_pcd = best_time(lambda: cd_epoch(p0, Y, rng, lr=lr, batch_size=bs, persistent=True, chains=ch),
                              repeat=5, min_time=0.0)
            t_cd = best_time(lambda: cd_epoch(p0, Y, rng, lr=lr, batch_size=bs), repeat=5, min_time=0.0)
            t_sk = best_time(lambda: sklearn_rbm(K, bs, 1, lr).fit(Y), repeat=5, min_time=0.0)

            def numpy_ref():
                W, bx, by = p0.W.copy(), p0.b_x.copy(), p0.b_y.copy()
                ref.cd_epoch(W, bx, by, Y, rng, lr=lr, batch_size=bs, persistent=True, chains=ch.copy())
            t_ref = best_time(numpy_ref, repeat=3, min_time=0.0)
            target = CD_TARGETS[bs]
            rows.append(row("RBM PCD-1 epoch, binarized digits", f"N=1797, M=64, K={K}, batch {bs}", t_pcd,
                            peer_name="scikit-learn `BernoulliRBM` (PCD-1)", peer=t_sk, target=f">= {target:g}x",
                            met=bool(t_sk / t_pcd >= target),
                            note=f"our CD-1 epoch {t_cd * 1e3:.3g} ms; vectorized NumPy reference (PCD-1) "
                                 f"{t_ref * 1e3:.3g} ms; pseudo-log-likelihood after {epochs} epochs: ours "
                                 f"{pl_ours:.2f}, scikit-learn {pl_sk:.2f} (start {start:.2f})"))
    return rows


def run() -> list[dict]:
    from sweep_cd import cd_sweep_rows
    return _log_Z_rows() + _log_Z_sweep_rows() + _cd_rows() + cd_sweep_rows()
