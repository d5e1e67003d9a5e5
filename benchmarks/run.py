"""Run every benchmark in one process, single-threaded, and write the performance table.

    python3 tasks.py bench        # or: .venv-bench/bin/python benchmarks/run.py [--out FILE] [name ...]

``python3 tasks.py bench`` runs this in the benchmark environment ``.venv-bench`` (the book's
packages plus JAX and dynamax); the particles peer, which requires NumPy < 2, runs in
``.venv-bench-particles`` (see ``bench_particle.py``).

Each ``bench_<name>.py`` module defines ``run() -> list[dict]`` (rows made with
``_harness.row``); before timing, each module checks that our result and the peer's agree.
The table goes to ``book/performance_table.md``, which the book's performance page includes.
``python3 tasks.py bench`` then runs ``tools/performance_summary.py``, which computes the page's summary
of the sweeps from this table (``book/performance_summary.md``); the ratios the page's prose quotes
are checked against it by ``tests/project/test_performance_page.py``.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"          # single core, set before numpy is imported
# JAX (dynamax) on one core too: XLA's CPU backend otherwise runs its own thread pool.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()

import importlib  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _harness import readable  # noqa: E402
OUT = HERE.parent / "book" / "performance_table.md"


def _fmt_time(s: float | None) -> str:
    return "n/a" if s is None else readable(s)


PEERS = ("scikit-learn", "hmmlearn", "pykalman", "filterpy", "jax", "dynamax")


def _versions() -> str:
    """Installed versions of the peer libraries in this environment ("absent" when not installed)."""
    from importlib import metadata
    out = []
    for name in PEERS:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} absent")
    return ", ".join(out)


def _load() -> str:
    """The machine's load averages: a benchmark is only as honest as the machine is idle."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"


def _cpu() -> str:
    """The CPU model (Linux's /proc/cpuinfo; platform.processor() is often empty)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _instruction_set() -> str:
    """The widest x86-64 vector extension the CPU reports (Linux's /proc/cpuinfo flags), else the machine."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        flags = []
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2")):
        if flag in flags:
            return name
    return platform.machine() or "unknown"


def _blas_kernel() -> str:
    """Which kernel OpenBLAS runs (threadpoolctl reads it from the library), and whether
    ``OPENBLAS_CORETYPE`` forced it."""
    forced = os.environ.get("OPENBLAS_CORETYPE")
    try:
        import numpy  # noqa: F401 - loads OpenBLAS, which threadpoolctl then finds
        import threadpoolctl
        found = [f"{i.get('internal_api')} {i.get('version')}, kernel {i.get('architecture')}"
                 for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    except Exception:                                       # noqa: BLE001 - only a description
        found = []
    text = "; ".join(found) or "BLAS kernel unknown"
    return text + (f" (forced: OPENBLAS_CORETYPE={forced})" if forced else " (chosen by OpenBLAS for this CPU)")


def _numba_target() -> str:
    """The CPU numba compiles for: ``NUMBA_CPU_NAME`` when set, else the host CPU llvmlite reports."""
    name = os.environ.get("NUMBA_CPU_NAME")
    if name:
        return f"{name} (NUMBA_CPU_NAME)"
    try:
        import llvmlite.binding as llvm
        return f"{llvm.get_host_cpu_name()} (this CPU)"
    except Exception:                                       # noqa: BLE001 - only a description
        return "numba absent"


def machine_description() -> str:
    """One sentence on what the timings ran on: CPU, cores, instruction set, BLAS kernel, numba's target."""
    return (f"{platform.machine()} / {_cpu()} ({os.cpu_count()} cores), instruction set {_instruction_set()}, "
            f"{_blas_kernel()}, numba compiling for {_numba_target()}")


def main(names: list[str]) -> int:
    import numpy as np

    modules = names or sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    load_before = _load()
    if hasattr(os, "getloadavg") and os.getloadavg()[0] > 1.0:
        print(f"warning: the machine is busy (load average {load_before}); timings will be inflated "
              "and the table records the load", flush=True)
    rows, started = [], time.time()
    for name in modules:
        print(f"== {name}", flush=True)
        mod = importlib.import_module(f"bench_{name}")
        for r in mod.run():
            print(f"   {r['task']} [{r['size']}]: ours {_fmt_time(r['ours'])}, "
                  f"{r['peer_name'] or '-'} {_fmt_time(r['peer'])}, target {r['target'] or '-'}: "
                  f"{'met' if r['met'] else ('NOT met' if r['met'] is False else '-')}", flush=True)
            rows.append(r)
    lines = [
        f"Measured on {machine_description()}; Python "
        f"{platform.python_version()}, NumPy {np.__version__}, one thread, "
        f"{time.strftime('%Y-%m-%d')}; total benchmark time {time.time() - started:.0f} s; "
        f"load average (1, 5, 15 min) before the run {load_before}, after it {_load()}.",
        "",
        f"Peers in the benchmark environment: {_versions()}; particles runs in its own environment "
        "(it requires NumPy < 2; versions in its row's note).",
        "",
        "| Task | Size | Ours | Peer | Peer time | Speed-up (peer / ours) | Target | Met? | Note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "n/a"
        met = {True: "yes", False: "**no**", None: "-"}[r["met"]]
        lines.append(f"| {r['task']} | {r['size']} | {_fmt_time(r['ours'])} | {r['peer_name'] or '-'} | "
                     f"{_fmt_time(r['peer'])} | {ratio} | {r['target'] or '-'} | {met} | {r['note']} |")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--out" in args:              # another table file, e.g. a run under a second OpenBLAS core type
        i = args.index("--out")
        OUT = Path(args[i + 1]).resolve()
        del args[i:i + 2]
    sys.exit(main(args))
