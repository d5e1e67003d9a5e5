"""Timing helpers shared by the benchmark modules.

Every benchmark times a callable after a warm-up call (which also triggers numba compilation or
loads it from the cache), repeats the measurement, and keeps the best time: the least disturbed
run is the best estimate of what the code itself costs.

Importing this module makes ``backend="auto"`` call the compiled kernels from the first call, as on a
machine whose cache is warm (:data:`pedagogy_lib.core.jit.COMPILE_AFTER_TWIN_SECONDS`): the rows time the
kernels, and a row that times a twin says ``backend="numpy"``.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

try:                                          # the particles peer's environment has no pedagogy_lib
    from pedagogy_lib.core import jit
except ModuleNotFoundError:
    jit = None
else:
    jit.COMPILE_AFTER_TWIN_SECONDS = 0.0


def best_time(fn: Callable[[], object], *, repeat: int = 5, min_time: float = 0.05) -> float:
    """Seconds per call of ``fn()``: warm up once, then the best of ``repeat`` timed batches.

    Each batch runs ``fn`` enough times to last at least ``min_time`` seconds, so that very
    fast calls are not dominated by timer resolution.
    """
    fn()                                      # warm-up (compilation, caches, allocations)
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time or number >= 1 << 20:
            break
        number *= 2
    best = elapsed / number
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def interleaved_times(fns, *, rounds: int = 40, min_time: float = 0.004, clock=time.perf_counter) -> list[float]:
    """Seconds per call of each function, timed in alternation: the best of ``rounds`` short batches each.

    Alternation makes a busy machine slow every contender alike, so their ratio stays meaningful.
    ``clock=time.process_time`` times CPU seconds instead of wall time (a process waiting for a core is
    not charged for the wait).
    """
    number = []
    for fn in fns:
        fn()                                  # warm-up
        k = 1
        while True:
            t0 = clock()
            for _ in range(k):
                fn()
            if clock() - t0 >= min_time or k >= 1 << 16:
                break
            k *= 2
        number.append(k)
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, (fn, k) in enumerate(zip(fns, number)):
            t0 = clock()
            for _ in range(k):
                fn()
            best[i] = min(best[i], (clock() - t0) / k)
    return best


def matmul_rate(n: int = 512) -> float:
    """The machine's matrix-multiply rate in FLOP/s: ``np.dot`` of two ``n x n`` float64 matrices (2 n^3 flops).

    Single-core when the BLAS thread count is 1, as ``run.py`` arranges.
    """
    a = np.random.default_rng(0).standard_normal((n, n))
    b = np.random.default_rng(1).standard_normal((n, n))
    out = np.empty((n, n))
    t = best_time(lambda: np.dot(a, b, out=out), repeat=7, min_time=0.1)
    return 2 * n**3 / t


def row(task: str, size: str, ours: float, *, peer_name: str = "", peer: float | None = None,
        target: str = "", met: bool | None = None, note: str = "") -> dict:
    """One line of the performance table (times in seconds; ratio = peer time / our time)."""
    return {"task": task, "size": size, "ours": ours, "peer_name": peer_name, "peer": peer,
            "ratio": (peer / ours) if (peer is not None and ours > 0) else None,
            "target": target, "met": met, "note": note}


def sweep(task: str, reference: str, cases, *, limit: float = 1.2, rounds: int = 20, note: str = "") -> list[dict]:
    """One row per size of a sweep, ours against a plain reference timed in alternation, then the worst.

    ``cases`` is a list of ``(size, ours, ref)`` or ``(size, ours, ref, peers)``: a label, two callables
    computing the same thing (the caller checks they agree before the sweep) and, optionally, a dict of peer
    libraries' callables for the same work at that size (``{name: callable}``, checked by the caller too). The
    peers are timed in the same alternation and their ratio to ours goes in the row's note. A row meets its
    target when ours takes at most ``limit`` times the reference's time. The last row, ``worst of the sweep``,
    repeats the case where ours / reference is largest, so the table shows the sweep's worst beside its
    headline sizes.
    """
    rows = []
    for size, ours, ref, *rest in cases:
        peers = rest[0] if rest else {}
        t_ours, t_ref, *t_peers = interleaved_times([ours, ref, *peers.values()], rounds=rounds)
        said = "; ".join(f"{name} {readable(t)}, {peer_speed(t, t_ours)}"
                         for name, t in zip(peers, t_peers))
        rows.append(row(task, size, t_ours, peer_name=reference, peer=t_ref, target=f"<= {limit:g}x reference",
                        met=t_ours <= limit * t_ref, note="; ".join(x for x in (note, said) if x)))
    worst = max(rows, key=lambda r: r["ours"] / r["peer"])
    rows.append({**worst, "size": f"worst of the sweep: {worst['size']}",
                 "note": f"ours / reference {worst['ours'] / worst['peer']:.2f} at the sweep's worst size"})
    return rows


def readable(seconds: float) -> str:
    """A time with its unit: "4.44 ms", "381 µs"."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def peer_speed(t_peer: float, t_ours: float) -> str:
    """How a peer's time compares with ours, in words: "ours 3.1x faster" or "peer 1.4x faster"."""
    return f"ours {t_peer / t_ours:.2f}x faster" if t_peer >= t_ours else f"peer {t_ours / t_peer:.2f}x faster"
