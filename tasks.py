#!/usr/bin/env python3
"""The project's seven commands, with nothing needed beforehand but Python 3.11.

    python3 tasks.py book      # build the book into _build/html
    python3 tasks.py test      # every test: library, notebooks under nbval, strict build, browser
    python3 tasks.py check     # a few minutes: the lint (ruff) and the fast tests of every family
    python3 tasks.py pdf       # the whole book as one PDF, _build/pdf/book.pdf [--html DIR] [--out FILE]
    python3 tasks.py editions  # student, instructor and nbgrader editions, _build/editions [--out DIR]
    python3 tasks.py bench     # benchmarks against peer libraries; rewrites book/performance_table.md
                               # and the summary computed from it, book/performance_summary.md
    python3 tasks.py clean     # remove _build/ (the environments are kept)

This file holds the command dispatch, the environments and the test orchestration. ``book``,
``test``, ``pdf`` and ``editions`` create the virtual environment ``.venv`` from the requirements files
the first time (installed with uv, or pip where uv cannot be used) and reuse it afterwards (it is
refreshed only when a requirements file changes);
``bench`` uses environments of its own
(``.venv-bench`` with JAX and dynamax, ``.venv-bench-particles`` for the particles peer, which
requires NumPy < 2), never ``.venv``. The PDF printer is tools/print_book_pdf.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
# The benchmark environments: peers that readers never install (JAX and dynamax next to our NumPy 2;
# particles, which requires NumPy < 2, in a second small environment of its own).
BENCH_VENV = ROOT / ".venv-bench"
PARTICLES_VENV = ROOT / ".venv-bench-particles"
BUILD = ROOT / "_build"
#: Where the test command builds the book (with the notebooks' fast setting): _build/test/_build/html.
TEST_OUT = BUILD / "test"
#: The chapter notebook that the test command runs under nbval without numba (see cmd_test).
NO_NUMBA_NOTEBOOK = ROOT / "chapters" / "ch02_directed_generative_models" / "2_2_1_hmm.ipynb"


#: Seconds after which one test (or one notebook cell) counts as hung and fails, naming itself, instead
#: of stalling the command: far above the slowest test even on a busy machine (pytest-timeout).
TEST_TIMEOUT = 900
#: The same for one browser test (its first test of a page pays for the page's whole visit).
BROWSER_TEST_TIMEOUT = 420
#: The older OpenBLAS kernel that one run of the tests forces (see :func:`machine_variant`); Sandybridge
#: when the caller already forces Prescott, so that the two runs still differ.
VARIANT_CORETYPES = ("Prescott", "Sandybridge")


#: Asks the environment's NumPy which of its SIMD code paths beyond its baseline (AVX2, AVX-512, ...)
#: this CPU runs; the variant run switches exactly those off.
_NUMPY_DISPATCHED = ("from numpy._core._multiarray_umath import __cpu_dispatch__ as d, __cpu_features__ as f; "
                     "print(' '.join(k for k in d if f.get(k)))")


def numpy_simd_paths(python: Path = PY) -> list[str]:
    """The optional SIMD code paths (beyond NumPy's baseline) that NumPy selects on this CPU."""
    try:
        out = subprocess.run([str(python), "-c", _NUMPY_DISPATCHED], capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, NPY_DISABLE_CPU_FEATURES=""))
    except (OSError, subprocess.SubprocessError):
        return []
    return out.stdout.split() if out.returncode == 0 else []


def machine_variant(env: dict, simd_paths: list[str] | None = None) -> tuple[dict | None, str]:
    """The environment of "another machine" for one run of the tests, and a sentence saying what it is.

    A result that depends on the CPU (the order of floating-point operations in a BLAS kernel or a
    vectorized loop, a stopping rule at rounding level) passes on the machine where it was written
    and fails on the next one. So the library tests, and every other notebook under nbval, run with
    this environment, and the remaining notebooks with the machine's own (:func:`nbval_kernels`):

    * OpenBLAS forced to an older x86-64 kernel (``OPENBLAS_CORETYPE``: SSE3 or AVX code paths
      instead of the AVX2/AVX-512 ones a current CPU selects);
    * NumPy's own SIMD loops beyond its baseline switched off (``NPY_DISABLE_CPU_FEATURES`` with
      ``simd_paths``, those this CPU would run): reductions and element-wise maths then add in
      another order, as on an older CPU;
    * numba compiling for a generic x86-64 CPU (``NUMBA_CPU_NAME=generic``, with a cache of its own
      under ``_build``).

    On a machine that is not x86-64 these kernels do not exist: (None, why) is returned and both
    runs use the machine's defaults.
    """
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return None, f"this machine is {machine or 'of an unknown kind'}, not x86-64: every run used its defaults"
    forced = env.get("OPENBLAS_CORETYPE", "").lower()
    core = next(c for c in VARIANT_CORETYPES if c.lower() != forced)
    variant = dict(env, OPENBLAS_CORETYPE=core, NUMBA_CPU_NAME="generic",
                   NUMBA_CACHE_DIR=str(BUILD / "numba-cache-generic"))
    simd = " ".join(simd_paths or [])
    if simd:
        variant["NPY_DISABLE_CPU_FEATURES"] = simd
    default = f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}" if forced else "the machine's own BLAS kernel"
    numpy_part = f", NumPy without its {simd} loops" if simd else ""
    return variant, (f"the library tests and every other notebook under nbval ran with OPENBLAS_CORETYPE={core}"
                     f"{numpy_part} and numba compiled for a generic x86-64 CPU, the other notebooks with {default}, "
                     f"NumPy's own loops and numba compiled for this CPU")


def nbval_kernels(notebooks: list[str], env: dict, variant: dict | None) -> dict[str, dict]:
    """Per notebook (path in the checkout), the variables its kernel under nbval starts with, on top of
    the tests' environment (``variant``, or ``env`` when there is none): the book build's static
    figures (``PEDAGOGY_STATIC_WIDGETS=1``, so that the build can render what nbval ran), and for
    every second notebook in sorted order this machine's own defaults (``None``: removed). Each
    notebook therefore runs once, on one of the two machines, always the same one."""
    own = {k: env.get(k) for k in set(env) | set(variant or {}) if variant and variant.get(k) != env.get(k)}
    return {nb: {"PEDAGOGY_STATIC_WIDGETS": "1", **(own if i % 2 else {})} for i, nb in enumerate(sorted(notebooks))}


def drop_stale_numba_caches(root: Path = ROOT, build: Path = BUILD) -> bool:
    """Delete numba's on-disk caches when any file of compiled code changed since they were written.

    numba keys a cached kernel to its own source file only: a kernel that calls or inlines a helper
    of another module (``core/kernels.py``'s matrix helpers or its exponential) keeps the old
    helper's machine code after that module changes, on the machine where it was cached. A fresh
    clone has no cache; a working copy gets its caches dropped here, once, when the digest of every
    ``kernels.py`` (and of ``core/jit.py``) differs from the one recorded with them. Returns whether
    it dropped them.
    """
    sources = sorted((root / "pedagogy_lib").glob("*/kernels.py")) + [root / "pedagogy_lib" / "core" / "jit.py"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    stamp = build / "numba-cache-sources"
    if stamp.exists() and stamp.read_text(encoding="utf-8").strip() == digest:
        return False
    caches = [p for p in (root / "pedagogy_lib").rglob("__pycache__/*") if p.suffix in (".nbi", ".nbc")]
    for p in caches:
        p.unlink(missing_ok=True)
    shutil.rmtree(build / "numba-cache-generic", ignore_errors=True)
    build.mkdir(exist_ok=True)
    stamp.write_text(digest + "\n", encoding="utf-8")
    return bool(caches)


def python_in(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")


def say(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


def run(cmd: list[str], env: dict | None = None, log=None) -> int:
    """Run ``cmd`` in the project folder; its output goes to ``log`` (an open file) when given."""
    line = " ".join(str(c) for c in cmd)
    if log is None:
        say(line)
        return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)
    print(f"[tasks] {line}", file=log, flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


#: Requirement files whose environment includes another's (its first line is ``-r`` that file).
SUPERSETS = {"requirements.txt": ("requirements-test.txt",)}


def _stamp(requirement_file: str, venv_dir: Path, inputs: list[str] | None = None) -> Path:
    """The file that marks ``venv_dir`` as holding ``requirement_file`` as it is now: its name carries a digest of
    ``inputs`` (by default the requirement file, requirements.txt and pyproject.toml)."""
    files = [ROOT / f for f in (inputs or [requirement_file, "requirements.txt", "pyproject.toml"])]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:16]
    return venv_dir / f".stamp-{requirement_file}-{digest}"


def ensure_env(requirement_file: str, venv_dir: Path = VENV, inputs: list[str] | None = None) -> None:
    """Create `venv_dir` (.venv by default) and install `requirement_file` into it, unless done already.

    `inputs` are the files whose content decides whether the environment is up to date (by default
    the requirement file, requirements.txt and pyproject.toml).
    """
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    py = python_in(venv_dir)
    stamp = _stamp(requirement_file, venv_dir, inputs)
    # an environment made for the tests holds the book's requirements too (requirements-test.txt
    # includes requirements.txt), so book, pdf and editions use it without installing anything
    held = [stamp] + [_stamp(f, venv_dir) for f in SUPERSETS.get(requirement_file, ())]
    if py.exists() and any(s.exists() for s in held):
        return
    if not py.exists():
        say(f"creating virtual environment {venv_dir}")
        venv.EnvBuilder(with_pip=True, clear=venv_dir.exists()).create(venv_dir)
    for old in venv_dir.glob(f".stamp-{requirement_file}-*"):
        old.unlink()
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if not install_with_uv(py, requirement_file):
        say("installing with pip instead")
        if run(pip + ["--upgrade", "pip"]) != 0 or run(pip + ["-r", requirement_file]) != 0:
            sys.exit(f"installing {requirement_file} failed; see the pip output above.")
    stamp.touch()


#: The installer the environments are filled with: uv resolves and installs the same packages as pip
#: (checked by comparing the two environments' package lists) in about 15 s instead of about 4 minutes
#: on a fresh clone; pip remains the fallback wherever uv has no wheel or fails.
UV = "uv==0.13.9"
#: pip's settings (its configuration files and PIP_* variables, which uv does not read) and uv's names for
#: them: the machine's package indexes, local wheel folders and constraints.
PIP_TO_UV = {"index-url": "UV_DEFAULT_INDEX", "extra-index-url": "UV_EXTRA_INDEX_URL",
             "find-links": "UV_FIND_LINKS", "constraint": "UV_CONSTRAINT"}


def uv_environment(pip_config: str, base: dict) -> dict:
    """``base`` with pip's settings, as ``pip config list`` prints them (``scope.key='value'`` lines, later
    lines winning), under uv's names, and pip's rule for several indexes: the best version from any of them."""
    env = dict(base, UV_INDEX_STRATEGY="unsafe-best-match")
    for line in pip_config.splitlines():
        key, sep, value = line.partition("=")
        name = key.rsplit(".", 1)[-1].strip()
        if sep and name in PIP_TO_UV:
            env[PIP_TO_UV[name]] = value.strip().strip("'\"")
    return env


def install_with_uv(py: Path, requirement_file: str) -> bool:
    """Install ``requirement_file`` into the environment of ``py`` with uv; False when that could not be done."""
    if run([py, "-m", "pip", "install", "--disable-pip-version-check", "-q", UV]) != 0:
        return False
    config = subprocess.run([str(py), "-m", "pip", "config", "list"], capture_output=True, text=True, cwd=ROOT)
    env = uv_environment(config.stdout, os.environ)
    return run([py, "-m", "uv", "pip", "install", "-q", "--python", py, "-r", requirement_file], env=env) == 0


def child_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    env.setdefault("MPLBACKEND", "Agg")
    # Two cores, one job per core: keep BLAS from oversubscribing them.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    env.pop("PYTHONPATH", None)
    # Python caches the compiled bytecode of every module it imports (__pycache__, in .venv and here);
    # with PYTHONDONTWRITEBYTECODE set (common in container images) every one of the test command's
    # hundreds of Python processes compiles NumPy, SciPy, matplotlib and Jupyter from source again,
    # and pytest rewrites every test file's asserts again: about 2.5 s of CPU per process.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def build_book(env: dict, out: Path | None = None, log=None, executed: Path | None = None) -> int:
    """Strict build: warnings are errors, nitpicky references, every notebook executed.

    The HTML page shows each interactive figure's static default, so the build asks the widget
    helper for that alone (PEDAGOGY_STATIC_WIDGETS=1) instead of creating live widgets. The
    notebooks are first executed into the build's cache in parallel (tools/execute_notebooks.py);
    the build then reads them from there. ``executed``: a folder of notebooks already executed
    under nbval by the test command, taken into the cache as they are. ``out`` (default: the project
    folder) is where the build writes its ``_build/`` folder, as ``jupyter-book build
    --path-output``; ``log`` (an open file) receives the output instead of the terminal.
    """
    env = dict(env, PEDAGOGY_STATIC_WIDGETS="1")
    build_dir = (out or ROOT) / "_build"
    start = time.time()
    run([PY, "tools/execute_notebooks.py", build_dir, *(["--executed", executed] if executed else [])],
        env=env, log=log)
    note = f"notebooks executed into the cache in {time.time() - start:.0f} s"
    say(note) if log is None else print(f"[tasks] {note}", file=log, flush=True)
    where = ["--path-output", out] if out else []
    return run([BIN / "jupyter-book", "build", ".", "-W", "-n", "--keep-going", *where], env=env, log=log)


#: Compile (or load) and mark every numba kernel, as Binder's postBuild does.
WARM = [PY, "-m", "pedagogy_lib.core.warmup"]


def cmd_book() -> int:
    ensure_env("requirements.txt")
    env = child_env()
    drop_stale_numba_caches()
    # Every kernel compiled first, as on Binder after postBuild: the pages then run what a reader's warm
    # machine runs, and no page shows numba's one-line compile notice (the strict build refuses stderr).
    rc = run(WARM, env=env) or build_book(env)
    if rc == 0:
        say(f"the book is at {BUILD / 'html' / 'index.html'}")
    return rc


def pytest_counts(xml_path: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) from a JUnit XML report; failures include errors."""
    if not xml_path.exists():
        return 0, 0, 0
    root = ET.parse(xml_path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return tests - failed - skipped, failed, skipped


def fuzz_shares(xml_path: Path) -> list[str]:
    """"family good/calls (percent)" for each family the fuzz of the public API ran
    (``tests/library/test_fuzz_public_api.py`` attaches its count to the JUnit report)."""
    if not xml_path.exists():
        return []
    lines = []
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        share = next((p.get("value") for p in case.iter("property") if p.get("name") == "fuzz_good_share"), None)
        if share and "[" in case.get("name", ""):
            family = case.get("name").split("[", 1)[1].rstrip("]")
            good, calls = (int(x) for x in share.split("/"))
            lines.append(f"{family} {good}/{calls} ({100.0 * good / max(calls, 1):.1f} %)")
    return sorted(lines)


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_or_install_chromium() -> tuple[str | None, str]:
    """A system Chromium or Chrome; on Debian, as root, install the ``chromium`` package if none.

    Returns (path or None, why there is none). No browser is ever downloaded by other means.
    """
    for name in BROWSERS:
        if found := shutil.which(name):
            return found, ""
    debian = Path("/etc/debian_version").exists() and shutil.which("apt-get")
    if not debian:
        return None, "no system Chromium or Chrome found"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None, "no system Chromium or Chrome found, and installing Debian's chromium package needs root"
    say("no system Chromium: installing Debian's chromium package")
    apt_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if run(["apt-get", "update", "-q"], env=apt_env) != 0 or \
            run(["apt-get", "install", "-y", "-q", "chromium"], env=apt_env) != 0:
        return None, "installing Debian's chromium package failed"
    found = shutil.which("chromium")
    return (found, "") if found else (None, "Debian's chromium package installed no chromium command")


def skip_reasons(xml_path: Path) -> list[str]:
    """The distinct skip messages of a JUnit XML report."""
    if not xml_path.exists():
        return []
    reasons = {el.get("message", "") for el in ET.parse(xml_path).getroot().iter("skipped")}
    return sorted(r for r in reasons if r)


def run_browser_tests(env: dict, rc_book: int, log=None) -> tuple[int, int, int, int, str]:
    """Run tests/browser against the site just built: (passed, failed, skipped, exit code, note).

    The note is empty when the browser tests ran; otherwise it says that they were skipped, and why.
    ``log`` (an open file) receives pytest's output instead of the terminal.
    """
    site = TEST_OUT / "_build" / "html"
    if rc_book != 0 or not (site / "index.html").exists():
        return 0, 0, 0, 0, "browser tests skipped: the book build failed"
    chromium, why = find_or_install_chromium()
    if chromium is None:
        return 0, 0, 0, 0, f"browser tests skipped: {why}"
    report = BUILD / "browser-report.xml"
    report.unlink(missing_ok=True)
    # Two workers, one browser each: the pages are independent, and the suite is the longest step.
    rc = run([PY, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", "--durations=10",
              f"--timeout={BROWSER_TEST_TIMEOUT}", f"--junitxml={report}",
              "tests/browser"], env=dict(env, PEDAGOGY_SITE=str(site), CHROMIUM=chromium), log=log)
    passed, failed, skipped = pytest_counts(report)
    if rc not in (0, 5) and failed == 0:
        failed = 1                                  # pytest itself failed (import error, crash)
    if passed == 0 and failed == 0:
        reasons = skip_reasons(report) or ["pytest collected no browser test"]
        return passed, failed, skipped, 0, "browser tests skipped: " + "; ".join(reasons)
    return passed, failed, skipped, (0 if failed == 0 else 1), ""


def ensure_bubblewrap() -> None:
    """The grader runs students' code in bubblewrap (courseware/grading.py), and its tests need it: on
    Debian, as root, install the ``bubblewrap`` package when ``bwrap`` is missing; otherwise say that those
    tests are skipped (and fail under CI, where a missing sandbox is an error)."""
    if shutil.which("bwrap"):
        return
    if Path("/etc/debian_version").exists() and shutil.which("apt-get") and hasattr(os, "geteuid") \
            and os.geteuid() == 0:
        say("no bwrap: installing Debian's bubblewrap package (the grader's sandbox)")
        apt_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if run(["apt-get", "update", "-q"], env=apt_env) == 0 and \
                run(["apt-get", "install", "-y", "-q", "bubblewrap"], env=apt_env) == 0 and shutil.which("bwrap"):
            return
    say("bwrap (bubblewrap) is not installed: the grader's sandbox tests are skipped, and fail when CI is set; "
        "install it with `sudo apt-get install bubblewrap` or your system's package manager")


def cmd_test() -> int:
    ensure_env("requirements-test.txt")
    ensure_bubblewrap()
    # Notebooks that train run their short setting (pedagogy_lib.core.budget); the site this
    # command builds is therefore its own (TEST_SITE), never mistaken for the published book.
    env = dict(child_env(), PEDAGOGY_FAST="1")
    variant, machines = machine_variant(env, numpy_simd_paths())
    tests_env = variant or env
    BUILD.mkdir(exist_ok=True)
    if drop_stale_numba_caches():
        say("compiled code changed since numba's caches were written: they were dropped and are rebuilt now")
    report = BUILD / "pytest-report.xml"
    report.unlink(missing_ok=True)
    start = time.time()
    # Warm numba's caches once, so that the two pytest workers, and then the build's two notebook
    # processes, do not compile the same kernels: the generic-CPU cache and this CPU's, side by side.
    say("warming numba's caches: " + ("generic x86-64 CPU and this CPU" if variant else "this CPU"))
    procs = [subprocess.Popen([str(c) for c in WARM], cwd=ROOT, env=e) for e in ([variant, env] if variant else [env])]
    rc_warm = max(p.wait() for p in procs)
    say(f"numba's caches warm in {time.time() - start:.0f} s (exit code {rc_warm})")
    notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "chapters").rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts and p.name != NO_NUMBA_NOTEBOOK.name)
    # Each notebook runs once, under nbval, and the strict build renders what nbval ran (see
    # conftest.py): the kernels get the build's static figures, and every second notebook this
    # machine's defaults instead of the other machine's (nbval_kernels).
    executed = BUILD / "nbval-executed"
    shutil.rmtree(executed, ignore_errors=True)
    all_notebooks = sorted([*notebooks, str(NO_NUMBA_NOTEBOOK.relative_to(ROOT))])
    record = BUILD / "nbval-record.json"
    record.write_text(json.dumps({"outputs": str(executed), "kernels": nbval_kernels(all_notebooks, env, variant)},
                                 indent=1), encoding="utf-8")
    tests_env = dict(tests_env, PEDAGOGY_NBVAL_RECORD=str(record))
    pytest_done = threading.Event()
    # The strict build starts when every notebook has run under nbval (or pytest has ended), beside
    # the rest of pytest. Its output goes to a log, shown afterwards.
    build_log_path = BUILD / "test-build.log"
    browser_log_path = BUILD / "browser-tests.log"
    build_result: dict = {}

    def strict_build():
        while not pytest_done.is_set() and not all(
                (executed / nb).exists() or (executed / f"{nb}.failed").exists() for nb in all_notebooks):
            pytest_done.wait(2.0)
        started = time.time()
        with open(build_log_path, "w", encoding="utf-8") as log:
            build_result["rc"] = build_book(env, TEST_OUT, log=log, executed=executed)
        build_result["seconds"] = time.time() - started
        # The browser tests need only the built site, so they start as soon as it is there, beside
        # whatever pytest has left to do (the end of a worker's share leaves a core idle).
        started = time.time()
        with open(browser_log_path, "w", encoding="utf-8") as log:
            build_result["browser"] = run_browser_tests(env, build_result["rc"], log=log)
        build_result["browser_seconds"] = time.time() - started

    say(f"the strict book build starts once the notebooks have run under nbval, beside the rest of pytest, "
        f"then the browser tests (their logs: {build_log_path}, {browser_log_path})")
    builder = threading.Thread(target=strict_build, name="strict-build")
    builder.start()
    # One notebook runs under nbval with numba made unimportable, as in the in-browser build; its
    # hidden checks hold the NumPy twins to the same brute-force oracles.
    report_nn = BUILD / "pytest-report-no-numba.xml"
    report_nn.unlink(missing_ok=True)
    env_nn = dict(tests_env, PYTHONPATH=str(ROOT / "tests" / "numba_blocker"))
    no_numba = [PY, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-cell-timeout=300",
                f"--timeout={TEST_TIMEOUT}", f"--junitxml={report_nn}", str(NO_NUMBA_NOTEBOOK.relative_to(ROOT))]
    say(" ".join(str(c) for c in no_numba) + "  (without numba, in the background)")
    log_nn = BUILD / "pytest-no-numba.log"
    try:
        with open(log_nn, "w", encoding="utf-8") as log:
            proc_nn = subprocess.Popen([str(c) for c in no_numba], cwd=ROOT, env=env_nn, stdout=log,
                                       stderr=subprocess.STDOUT)
            # the notebooks first, so that the build can start while the library tests run
            rc_tests = run([PY, "-m", "pytest", "-n", "2", "--dist", "loadfile", "-p", "no:cacheprovider",
                            "--durations=25", "--nbval-lax", "--nbval-cell-timeout=300", f"--timeout={TEST_TIMEOUT}",
                            f"--junitxml={report}", "--ignore=tests/browser", *notebooks, "tests"], env=tests_env)
            rc_nn = proc_nn.wait()
    finally:
        pytest_done.set()
    say(f"the notebook without numba: exit code {rc_nn}; its output:")
    print(log_nn.read_text(encoding="utf-8", errors="replace")[-4000:], flush=True)
    rc_tests = rc_tests or rc_nn or rc_warm
    shares = fuzz_shares(report)
    if shares:
        say("fuzz of the public API, good outcomes per family: " + "; ".join(shares))
    say(f"pytest finished in {time.time() - start:.0f} s (exit code {rc_tests}); waiting for the strict build "
        "and the browser tests")
    builder.join()
    rc_book = build_result.get("rc", 1)
    build_log = build_log_path.read_text(encoding="utf-8", errors="replace")
    # the build's warnings and errors in full, then the end of its log
    flagged = [line for line in build_log.splitlines() if re.search(r"WARNING|ERROR|Error|\[tasks\]", line)]
    print("\n".join(flagged[-200:]) + "\n" + build_log[-3000:], flush=True)
    say(f"strict book build finished in {build_result.get('seconds', 0):.0f} s, beside pytest (exit code {rc_book})")
    passed, failed, skipped = (a + b for a, b in zip(pytest_counts(report), pytest_counts(report_nn)))
    if rc_book != 0:
        failed += 1
        say("the strict book build FAILED (counted as one failure below)")
    elif rc_tests not in (0,):
        failed = max(failed, 1)
    b_passed, b_failed, b_skipped, rc_browser, browser_note = build_result.get(
        "browser", (0, 0, 0, 1, "browser tests did not run: the build thread ended early"))
    if browser_log_path.exists():
        print(browser_log_path.read_text(encoding="utf-8", errors="replace")[-6000:], flush=True)
    say(f"browser tests finished in {build_result.get('browser_seconds', 0):.0f} s, after the build "
        f"({browser_note or 'ran'})")
    passed, failed, skipped = passed + b_passed, failed + b_failed, skipped + b_skipped
    say(f"two machines in one: {machines}")
    # One plain closing line that summarizes everything the command checked; when the browser
    # tests did not run, or the machine could not be varied, it says so and why.
    notes = [n for n in (browser_note, "" if variant else machines) if n]
    note = f" ({'; '.join(notes)})" if notes else ""
    print(f"summary: {passed} passed, {failed} failed, {skipped} skipped{note}", flush=True)
    return 0 if (rc_tests == 0 and rc_book == 0 and rc_browser == 0 and passed > 0) else 1


#: What ``check`` runs of pytest: the library's tests (pyproject's testpaths: tests/ without tests/browser)
#: less those marked slow or heavy (tests/conftest.py), on two workers handed whole files as the test
#: command does. Among them are the project's checks of the usual slips: commit messages, the
#: exercise rules' sync, the slide marks, the README's library map and each notebook's shape.
CHECK_PYTEST = ["-m", "not slow and not heavy", "-n", "2", "--dist", "loadfile", "-p", "no:cacheprovider", "-q",
                "--durations=10", f"--timeout={TEST_TIMEOUT}"]


def cmd_check() -> int:
    """``python3 tasks.py check``: the loop before a commit, a few minutes on two cores. ruff's lint
    (rules in ruff.toml), then the fast tests of every family (:data:`CHECK_PYTEST`) with this
    machine's defaults. No notebook runs, nothing is built; the whole suite is ``test``."""
    ensure_env("requirements-test.txt")
    ensure_bubblewrap()
    env = child_env()
    drop_stale_numba_caches()
    start = time.time()
    rc_lint = run([BIN / "ruff", "check", "."], env=env)
    # Both workers need most kernels: two processes warm numba's cache first, half the kernel modules
    # each, so that a cold cache (a fresh clone, or kernels just edited) is compiled once, not per worker.
    warm_start = time.time()
    procs = [subprocess.Popen([str(c) for c in WARM] + [f"{i}/2"], cwd=ROOT, env=env) for i in range(2)]
    rc_warm = max(p.wait() for p in procs)
    say(f"numba's cache warm in {time.time() - warm_start:.0f} s (exit code {rc_warm})")
    rc_tests = run([PY, "-m", "pytest", *CHECK_PYTEST], env=env) or rc_warm
    say(f"check finished in {time.time() - start:.0f} s: lint exit code {rc_lint}, tests exit code {rc_tests}")
    return 0 if rc_lint == 0 and rc_tests == 0 else 1


def cmd_bench() -> int:
    """Run benchmarks/run.py in .venv-bench; the particles peer runs in .venv-bench-particles.

    Neither environment is .venv, so benchmarking never changes what the book and the tests use.
    """
    ensure_env("requirements-bench.txt", BENCH_VENV,
               ["requirements-bench.txt", "requirements-test.txt", "requirements.txt", "pyproject.toml"])
    ensure_env("requirements-bench-particles.txt", PARTICLES_VENV, ["requirements-bench-particles.txt"])
    env = child_env()
    bench_bin = python_in(BENCH_VENV).parent
    env["PATH"] = f"{bench_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(BENCH_VENV)
    env["PEDAGOGY_BENCH_PARTICLES_PYTHON"] = str(python_in(PARTICLES_VENV))
    code = run([python_in(BENCH_VENV), "benchmarks/run.py"], env=env)
    # the page's summary of the sweeps, computed from the table just written (standard library only)
    return code or run([sys.executable, "tools/performance_summary.py"])


def cmd_editions() -> int:
    """``python3 tasks.py editions [--out DIR]``: student and instructor editions and nbgrader source
    notebooks of every chapter notebook, in DIR (default ``_build/editions``); see courseware/editions.py.

    The editions are read outside the book, so their Markdown is rendered as plain Markdown with the
    book's own parser (courseware/plain.py): this runs in the book's environment (``.venv``, created
    on first use as for ``book``). The functions an exercise names as not allowed come from the
    notebooks' exercise metadata.
    """
    ensure_env("requirements.txt")
    return run([PY, str(ROOT / "courseware" / "editions.py"), *sys.argv[2:]], env=child_env())


def cmd_pdf() -> int:
    """``python3 tasks.py pdf [--html DIR] [--out FILE]``: the whole book as one PDF (tools/print_book_pdf.py)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import print_book_pdf

    return print_book_pdf.main(sys.argv[2:], sys.modules[__name__])


def cmd_clean() -> int:
    shutil.rmtree(BUILD, ignore_errors=True)
    say("removed _build/ (the virtual environment .venv is kept)")
    return 0


COMMANDS = {"book": cmd_book, "test": cmd_test, "check": cmd_check, "pdf": cmd_pdf, "editions": cmd_editions,
            "bench": cmd_bench, "clean": cmd_clean}
#: The commands that take options of their own.
WITH_OPTIONS = ("editions", "pdf")

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS or (len(sys.argv) > 2 and sys.argv[1] not in WITH_OPTIONS):
        sys.exit(f"usage: python3 tasks.py {{{','.join(COMMANDS)}}} (editions takes [--out DIR], "
                 "pdf [--html DIR] [--out FILE])")
    sys.exit(COMMANDS[sys.argv[1]]())
