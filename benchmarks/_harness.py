"""Timing helpers shared by the benchmark modules.

Every benchmark times a callable after a warm-up call (which also triggers numba compilation or
loads it from the cache), repeats the measurement, and keeps the best time: the least disturbed
run is the best estimate of what the code itself costs.
"""
from __future__ import annotations

import time
from typing import Callable


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


def row(task: str, size: str, ours: float, *, peer_name: str = "", peer: float | None = None,
        target: str = "", met: bool | None = None, note: str = "") -> dict:
    """One line of the performance table (times in seconds; ratio = peer time / our time)."""
    return {"task": task, "size": size, "ours": ours, "peer_name": peer_name, "peer": peer,
            "ratio": (peer / ours) if (peer is not None and ours > 0) else None,
            "target": target, "met": met, "note": note}
