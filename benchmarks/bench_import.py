"""Cost of a cold start: a fresh Python process that imports one family and makes its first call.

A reader who restarts a notebook kernel pays this before the first result. For each family with
numba kernels (``hmm``, ``lgssm``, ``smc``, ``mixture``, ``nn.rnn``) a fresh interpreter imports the
family and runs one small call of its main algorithm, with the numba cache already on disk (each
case is run once untimed first, which compiles and caches its kernels). Rows:

* the floor: ``import numpy, scipy.linalg, numba`` alone (what any numba + SciPy code pays);
* ``import pedagogy_lib`` alone (loads no family);
* each family: import + first call, target under 1 s for the whole process (interpreter start
  included); the note splits import and call and says whether SciPy's statistics or matplotlib
  were imported (they must not be);
* the same with ``PEDAGOGY_DISABLE_NUMBA=1``, the in-browser build's path (numba absent, NumPy
  twins): its floor is ``import numpy, scipy.linalg``; the note checks numba was not imported.

Each time is the CPU time (user + system) of the whole process, interpreter start-up included, the
least of several fresh processes. This start is single-threaded, so on an idle machine its CPU time
is its wall time; on a busy one the wall time also counts the waits for a core, which is why the
CPU time is the number compared with the target. The note gives the wall times as well.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from _harness import row

REPEAT = 3

# One small first call per family: the code a notebook cell would run after the import.
FAMILIES = {
    "hmm": (
        "from pedagogy_lib import hmm",
        "hmm.hmm_smoother(np.array([0.6, 0.4]), np.array([[0.9, 0.2], [0.1, 0.8]]), np.zeros((5, 2)))",
        "HMM smoother, T=5, K=2",
    ),
    "lgssm": (
        "from pedagogy_lib.lgssm import LGSSMParams, kalman_smoother",
        "kalman_smoother(LGSSMParams(np.zeros(2), np.eye(2), 0.9 * np.eye(2), None, np.zeros(2), 0.1 * np.eye(2), "
        "np.eye(2), np.zeros(2), np.eye(2)), np.zeros((10, 2)))",
        "Kalman filter + RTS smoother, T=10, n=m=2",
    ),
    "smc": (
        "from pedagogy_lib.lgssm import LGSSMParams\nfrom pedagogy_lib.smc import particle_filter, ffbsm",
        "p = LGSSMParams(np.zeros(1), np.eye(1), np.array([[0.9]]), None, np.zeros(1), np.array([[0.5]]), "
        "np.eye(1), np.zeros(1), np.array([[0.3]]))\n"
        "ffbsm(p, particle_filter(p, np.zeros((20, 1)), np.random.default_rng(0), 50))",
        "particle filter + FFBSm, T=20, I=50",
    ),
    "mixture": (
        "from pedagogy_lib.mixture import fit_gmm",
        "fit_gmm(np.random.default_rng(0).standard_normal((200, 2)), 2, rng=np.random.default_rng(1), max_iter=5)",
        "fit_gmm, N=200, K=2, 5 iterations",
    ),
    "nn.rnn": (
        "from pedagogy_lib.nn import rnn",
        "r = np.random.default_rng(0); p = rnn.init_rnn(r, 2, 4, 1); Y = r.standard_normal((10, 3, 2))\n"
        "f = rnn.rnn_forward(p, Y); rnn.rnn_bptt(p, Y, f.Z, np.ones((10, 3, 1)))",
        "RNN forward + BPTT, T=10, N=3, H=4",
    ),
}

# The child reports its own import and call times and which heavy modules it ended up loading.
_CHILD = """
import time
t0 = time.perf_counter()
import numpy as np
{imports}
t1 = time.perf_counter()
{call}
t2 = time.perf_counter()
import json, resource, sys
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"import": t1 - t0, "call": t2 - t1, "cpu": ru.ru_utime + ru.ru_stime,
                  "loaded": [m for m in ("numba", "scipy.stats", "matplotlib", "matplotlib.pyplot")
                             if m in sys.modules]}}))
"""


# The floor of any numba code: the first call of a one-line cached kernel loads numba's compiler
# context (typing and lowering registries), which costs the same whatever the kernel is.
_FLOOR_KERNEL = "import numba\n\n\n@numba.njit(cache=True)\ndef plus_one(x):\n    return x + 1.0\n"


def _env(numba: bool, floor_dir: str) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env.pop("PEDAGOGY_DISABLE_NUMBA", None)
    # Warm caches mean bytecode too: a reader's Python writes .pyc files on the first import, so
    # the untimed first run must be allowed to write them (some shells turn that off).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (floor_dir, env.get("PYTHONPATH", "")) if p)
    if not numba:
        env["PEDAGOGY_DISABLE_NUMBA"] = "1"
    return env


def _measure(imports: str, call: str, env: dict) -> dict:
    """The least disturbed of REPEAT fresh processes (smallest CPU time), after one untimed run."""
    code = _CHILD.format(imports=imports, call=call)
    # the untimed run warms the caches; it compiles even a small call (backend="auto" would run its twin),
    # so that the timed runs find the kernel compiled and marked, as on a machine after postBuild's warm-up
    compiles = "from pedagogy_lib.core import jit\njit.COMPILE_AFTER_TWIN_SECONDS = 0.0\n"
    first = subprocess.run([sys.executable, "-c", compiles + code], env=env, capture_output=True, text=True)
    if first.returncode != 0:
        raise RuntimeError(f"cold-start case failed:\n{code}\n{first.stderr}")
    best = None
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        res = dict(json.loads(out.stdout.strip().splitlines()[-1]), wall=wall)
        if best is None or res["cpu"] < best["cpu"]:
            best = res
    return best


def _floor_row(task: str, mode: str, res: dict, what: str) -> dict:
    return row(task, mode, res["cpu"], note=f"{what}; wall {res['wall']:.3f} s")


def _family_rows(numba: bool, floor_dir: str) -> list[dict]:
    env = _env(numba, floor_dir)
    mode = "numba, warm cache" if numba else "`PEDAGOGY_DISABLE_NUMBA=1` (in-browser path)"
    rows = []
    floor_imports = "import numpy, scipy.linalg" + (", numba" if numba else "")
    floor = _measure(floor_imports, "pass", env)
    rows.append(_floor_row(f"cold start floor: {floor_imports}", mode, floor,
                           f"the imports alone {floor['import']:.3f} s"))
    if numba:
        kernel = _measure("import scipy.linalg, numba\nfrom bench_import_floor import plus_one", "plus_one(1.0)", env)
        rows.append(_floor_row("cold start floor: the same + first call of a one-line cached numba kernel", mode,
                               kernel, f"the call alone (numba loads its compiler context) {kernel['call']:.3f} s"))
        bare = _measure("import pedagogy_lib", "pass", env)
        rows.append(_floor_row("cold start: import pedagogy_lib alone", mode, bare,
                               f"the import alone {bare['import'] * 1e3:.0f} ms; loaded: "
                               f"{', '.join(bare['loaded']) or 'no numba, SciPy stats or matplotlib'}"))
    for name, (imports, call, what) in FAMILIES.items():
        res = _measure(imports, call, env)
        heavy = [m for m in res["loaded"] if m != "numba"]
        lazy_ok = not heavy and (numba or "numba" not in res["loaded"])
        note = (f"{what}; import {res['import']:.3f} s + first call {res['call']:.3f} s (wall, in the process); "
                f"{res['cpu'] - floor['cpu']:+.3f} s over the first floor; whole process wall {res['wall']:.3f} s; "
                + ("no SciPy stats or matplotlib" + ("" if numba else ", no numba") + " loaded"
                   if lazy_ok else f"loaded {', '.join(res['loaded'])}"))
        rows.append(row(f"cold start: import {name} + first call", mode, res["cpu"], target="< 1 s",
                        met=bool(res["cpu"] < 1.0 and lazy_ok), note=note))
    return rows


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench_import_") as floor_dir:
        with open(os.path.join(floor_dir, "bench_import_floor.py"), "w", encoding="utf-8") as f:
            f.write(_FLOOR_KERNEL)
        return _family_rows(True, floor_dir) + _family_rows(False, floor_dir)


if __name__ == "__main__":
    for r in run():
        print(f"{r['task']} [{r['size']}]: {r['ours']:.3f} s, met={r['met']}; {r['note']}")
