"""What a reader pays on a first open: every chapter notebook run on an empty numba cache, then again.

    .venv-bench/bin/python benchmarks/cold_start.py [--resume] [notebook ...]

A reader who opens a page in Colab, Binder or a fresh local checkout starts with an empty numba
cache: every kernel the page calls is compiled at its first call. Each notebook is run twice in a
fresh process, with the fast setting the test command uses (``PEDAGOGY_FAST=1``), one thread and a
numba cache directory of its own: first on an empty cache (cold), then on the cache the first run
left (warm). The difference of the two CPU times is what compiling costs the reader; the slowest
cell of the cold run is where the wait is felt. CPU time (user + system of the process) rather than
wall time, so that a busy machine inflates the figures little; each run is one measurement, not a
best of several.

The table goes to ``book/cold_start_table.md``, which the performance page includes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "book" / "cold_start_table.md"

#: Run inside the child process: execute the notebook's code cells in one IPython shell, as a kernel
#: would, and print the CPU seconds of the whole run and of its slowest cell as JSON.
_CHILD = r"""
import json, sys, time
t0 = time.process_time()
from IPython.core.interactiveshell import InteractiveShell
nb = json.load(open(sys.argv[1], encoding="utf-8"))
shell = InteractiveShell.instance()
slowest, where = 0.0, -1
for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
    t = time.process_time()
    result = shell.run_cell("".join(cell["source"]), silent=True)
    if not result.success:
        raise SystemExit(f"code cell {i} failed: {result.error_in_exec or result.error_before_exec!r}")
    if time.process_time() - t > slowest:
        slowest, where = time.process_time() - t, i
print(json.dumps({"cpu": time.process_time() - t0, "slowest": slowest, "cell": where}))
"""


def _run(notebook: Path, cache: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PEDAGOGY_FAST="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    before = os.times()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(notebook)], cwd=notebook.parent, env=env,
                         capture_output=True, text=True, timeout=1800)
    after = os.times()
    if out.returncode != 0:
        raise RuntimeError(f"{notebook.name}: {out.stderr.strip().splitlines()[-1:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # the whole process, interpreter start and imports included
    result["process"] = (after.children_user - before.children_user) + (after.children_system -
                                                                      before.children_system)
    return result


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
            done[entry["page"]] = (entry["cold"], entry["warm"])
    elif not names:
        PROGRESS.parent.mkdir(exist_ok=True)
        PROGRESS.write_text("", encoding="utf-8")
    rows, started = [], time.time()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    for nb in chosen:
        page = str(nb.relative_to(ROOT))
        if page in done:
            rows.append((nb, *done[page]))
            continue
        with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
            cold = _run(nb, cache)
            warm = _run(nb, cache)
        rows.append((nb, cold, warm))
        if not names:
            with PROGRESS.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"page": page, "cold": cold, "warm": warm}) + "\n")
        print(f"{nb.relative_to(ROOT)}: cold {cold['process']:.1f} s, warm {warm['process']:.1f} s, "
              f"slowest cold cell {cold['slowest']:.1f} s (code cell {cold['cell']})", flush=True)
    sys.path.insert(0, str(HERE))
    from run import machine_description
    lines = [f"Measured on {machine_description()}, one thread, {time.strftime('%Y-%m-%d')}; "
             f"{time.time() - started:.0f} s in all; load average before the run {load}. CPU seconds "
             "(user + system) of a fresh process running every code cell with `PEDAGOGY_FAST=1`.", "",
             "| Page | Cold cache | Warm cache | Compiling costs | Slowest cell, cold |",
             "|---|---|---|---|---|"]
    for nb, cold, warm in rows:
        page = nb.stem                         # short enough for the page's table at any width
        lines.append(f"| `{page}` | {cold['process']:.1f} s | {warm['process']:.1f} s | "
                     f"{cold['process'] - warm['process']:.1f} s | {cold['slowest']:.1f} s "
                     f"(code cell {cold['cell'] + 1}) |")
    total_cold = sum(c["process"] for _, c, _ in rows)
    total_warm = sum(w["process"] for _, _, w in rows)
    lines.append(f"| all {len(rows)} pages | {total_cold:.0f} s | {total_warm:.0f} s | "
                 f"{total_cold - total_warm:.0f} s | - |")
    if not names:
        OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {OUT}")
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
