"""What a reader pays on a first open: every chapter notebook run on an empty numba cache, then again.

    .venv-bench/bin/python benchmarks/cold_start.py [--resume] [notebook ...]

A reader who opens a page in Colab or a fresh local checkout starts with an empty numba cache: every
kernel the page calls is compiled at its first call, unless ``backend="auto"`` runs its twin
(:func:`pedagogy_lib.core.jit.prefer_compiled`). Each notebook is run three times in a fresh process,
with the fast setting the test command uses (``PEDAGOGY_FAST=1``) and one thread: first on an empty
cache of its own (cold), then on a cache where every kernel is compiled, as on Binder after
``postBuild`` (warm; one such cache, made once by :func:`pedagogy_lib.core.warmup.compile_all`, serves
every page), then with ``PEDAGOGY_DISABLE_NUMBA=1`` (the NumPy twins only, what the page would cost
if nothing were compiled). The difference of cold and warm is what compiling costs the
reader; the slowest cell of the cold run is where the wait is felt. CPU time (user + system of the
process) rather than wall time, so that a busy machine inflates the figures little; each run is one
measurement, not a best of several. Pages run side by side, one per core: the CPU seconds are each
process's own.

The target (:func:`target`): a first run costs at most its warm time plus :data:`COMPILE_ALLOWANCE`
seconds, or at most :data:`TWINS_FACTOR` times its twins-only time, whichever is larger.

The table goes to ``book/cold_start_table.md``, which the performance page includes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "book" / "cold_start_table.md"

#: Run inside the child process: execute the notebook's code cells in one IPython shell, as a kernel
#: would, and print the CPU seconds of the whole run and of its slowest cell as JSON.
_CHILD = r"""
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
nb = json.load(open(sys.argv[1], encoding="utf-8"))
shell = InteractiveShell.instance()

class Said:                           # standard output or error: when the cell first printed something
    def __init__(self, stream):
        self.stream = stream
    def write(self, text):
        global first
        if text.strip() and first is None:
            first = time.process_time()
        return self.stream.write(text)
    def flush(self):
        self.stream.flush()

sys.stdout, sys.stderr = Said(sys.stdout), Said(sys.stderr)
slowest, where, silent = 0.0, -1, []
for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
    t, first = time.process_time(), None
    result = shell.run_cell("".join(cell["source"]), silent=True)
    if not result.success:
        raise SystemExit(f"code cell {i} failed: {result.error_in_exec or result.error_before_exec!r}")
    took = time.process_time() - t
    if took > slowest:
        slowest, where = took, i
    if (time.process_time() if first is None else first) - t > SILENT_LIMIT:
        silent.append(i)
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)       # the whole process, interpreter start and imports included
print(json.dumps({"slowest": slowest, "cell": where, "silent": silent, "process": usage.ru_utime + usage.ru_stime}))
"""

#: A cell of the cold run must print something (the library's compile notice, or its own words) within
#: this many CPU seconds of starting, or it is a silent wait.
SILENT_LIMIT = 5.0
#: The target: a cold first run costs at most the warm run plus this many CPU seconds ...
COMPILE_ALLOWANCE = 10.0
#: ... or at most this many times the twins-only run, whichever is larger.
TWINS_FACTOR = 1.5


def target(warm: float, twins: float) -> float:
    """The most CPU seconds a page's first run on an empty cache may cost (see the module docstring)."""
    return max(warm + COMPILE_ALLOWANCE, TWINS_FACTOR * twins)


def _env(cache: str, twins: bool = False) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PEDAGOGY_FAST="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    if twins:
        env["PEDAGOGY_DISABLE_NUMBA"] = "1"
    return env


def _run(notebook: Path, cache: str, twins: bool = False) -> dict:
    child = _CHILD.replace("SILENT_LIMIT", repr(SILENT_LIMIT))
    out = subprocess.run([sys.executable, "-c", child, str(notebook)], cwd=notebook.parent, env=_env(cache, twins),
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"{notebook.name}: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _seconds(x: float) -> str:
    return f"{x:.1f} s".replace("-0.0", "0.0")        # a difference that rounds to zero has no sign


def _measure(nb: Path, warm_cache: str) -> tuple:
    """The three runs of one page: cold (an empty cache), warm (every kernel compiled) and twins only."""
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        return nb, _run(nb, cache), _run(nb, warm_cache), _run(nb, cache, twins=True)


def notebooks() -> list[Path]:
    """The chapter notebooks in the book's order (the table of contents)."""
    files = []
    for line in (ROOT / "_toc.yml").read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text.startswith("- file: chapters/") or text.startswith("file: chapters/"):
            path = ROOT / (text.split("file:", 1)[1].strip() + ".ipynb")
            if path.exists():                 # a chapter's index page is markdown
                files.append(path)
    return files


#: Each page's measurement as soon as it is made, so that ``--resume`` can continue an interrupted run.
PROGRESS = ROOT / "_build" / "cold_start.jsonl"


def main(names: list[str]) -> int:
    resume = "--resume" in names
    names = [n for n in names if n != "--resume"]
    chosen = [Path(n).resolve() for n in names] or notebooks()
    done = {}
    if resume and PROGRESS.exists():
        for line in PROGRESS.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if "twins" in entry:
                done[entry["page"]] = (entry["cold"], entry["warm"], entry["twins"])
    elif not names:
        PROGRESS.parent.mkdir(exist_ok=True)
        PROGRESS.write_text("", encoding="utf-8")
    started = time.time()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    measured = {nb: done[str(nb.relative_to(ROOT))] for nb in chosen if str(nb.relative_to(ROOT)) in done}
    resumed = set(measured)
    warm_cache = tempfile.TemporaryDirectory(prefix="numba-warm-")
    subprocess.run([sys.executable, "-m", "pedagogy_lib.core.warmup"], env=_env(warm_cache.name), check=True,
                   capture_output=True)
    # one page per core at a time: the CPU seconds are each process's own, so pages run side by side
    # do not count each other's work
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for nb, cold, warm, twins in pool.map(lambda nb: _measure(nb, warm_cache.name),
                                              [nb for nb in chosen if nb not in measured]):
            measured[nb] = (cold, warm, twins)
            if not names:
                with PROGRESS.open("a", encoding="utf-8") as f:
                    f.write(json.dumps({"page": str(nb.relative_to(ROOT)), "cold": cold, "warm": warm,
                                        "twins": twins}) + "\n")
            print(f"{nb.relative_to(ROOT)}: cold {cold['process']:.1f} s, warm {warm['process']:.1f} s, "
                  f"twins only {twins['process']:.1f} s, slowest cold cell {cold['slowest']:.1f} s "
                  f"(code cell {cold['cell'] + 1})", flush=True)
    rows = [(nb, *measured[nb]) for nb in chosen]
    sys.path.insert(0, str(HERE))
    from run import machine_description
    lines = [f"Measured on {machine_description()}, one thread, {time.strftime('%Y-%m-%d')}; "
             f"{time.time() - started:.0f} s for the {len(chosen) - len(resumed)} pages measured in this run"
             f"{f' ({len(resumed)} more from an earlier run)' if resumed else ''}, {os.cpu_count() or 1} pages at a "
             f"time (one per core); load average before this run {load}. CPU seconds (user + system) of a fresh "
             "process running every code cell with `PEDAGOGY_FAST=1`.", "",
             f"The target for a cold run is the larger of the warm run plus {COMPILE_ALLOWANCE:g} s and "
             f"{TWINS_FACTOR:g} times the twins-only run (`PEDAGOGY_DISABLE_NUMBA=1`).", "",
             f"A cold cell that prints nothing in its first {SILENT_LIMIT:g} s (no compile notice, no words of its "
             "own) is a silent wait (the last column).", "",
             "| Page | Cold cache | Warm cache | Twins only | Compiling costs | Target | Met | Slowest cell, cold | "
             "Silent waits |",
             "|---|---|---|---|---|---|---|---|---|"]
    met = 0
    for nb, cold, warm, twins in rows:
        page = nb.stem                         # short enough for the page's table at any width
        most = target(warm["process"], twins["process"])
        met += cold["process"] <= most
        lines.append(f"| `{page}` | {cold['process']:.1f} s | {warm['process']:.1f} s | {twins['process']:.1f} s | "
                     f"{_seconds(cold['process'] - warm['process'])} | {most:.1f} s | "
                     f"{'yes' if cold['process'] <= most else '**no**'} | {cold['slowest']:.1f} s "
                     f"(code cell {cold['cell'] + 1}) | "
                     f"{', '.join(f'code cell {i + 1}' for i in cold.get('silent', [])) or 'none'} |")
    total_cold, total_warm, total_twins = (sum(r[k]["process"] for r in rows) for k in (1, 2, 3))
    silent = sum(bool(r[1].get("silent")) for r in rows)
    lines.append(f"| all {len(rows)} pages | {total_cold:.0f} s | {total_warm:.0f} s | {total_twins:.0f} s | "
                 f"{total_cold - total_warm:.0f} s | - | {met} of {len(rows)} | - | on {silent} pages |")
    if not names:
        OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {OUT}")
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
