#!/usr/bin/env python3
"""The project's two commands, with nothing needed beforehand but Python 3.11.

    python3 tasks.py book    # build the book into _build/html (creates .venv on first use)
    python3 tasks.py test    # library tests + every notebook under nbval + a strict book build

Both commands create the virtual environment ``.venv`` from the requirements files the first
time and reuse it afterwards (it is refreshed only when a requirements file changes).
``python3 tasks.py bench`` runs the benchmarks and rewrites the table the book's performance
page shows.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
BUILD = ROOT / "_build"


def say(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


def run(cmd: list[str], env: dict | None = None) -> int:
    say(" ".join(str(c) for c in cmd))
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)


def ensure_env(requirement_file: str) -> None:
    """Create .venv and install `requirement_file` into it, unless that was already done."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    inputs = [ROOT / requirement_file, ROOT / "requirements.txt", ROOT / "pyproject.toml"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in inputs)).hexdigest()[:16]
    stamp = VENV / f".stamp-{requirement_file}-{digest}"
    if stamp.exists() and PY.exists():
        return
    if not PY.exists():
        say(f"creating virtual environment {VENV}")
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    for old in VENV.glob(f".stamp-{requirement_file}-*"):
        old.unlink()
    pip = [PY, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if run(pip + ["--upgrade", "pip"]) != 0 or run(pip + ["-r", requirement_file]) != 0:
        sys.exit(f"installing {requirement_file} failed; see the pip output above.")
    stamp.touch()


def child_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    env.setdefault("MPLBACKEND", "Agg")
    # Two cores, one job per core: keep BLAS from oversubscribing them.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    env.pop("PYTHONPATH", None)
    return env


def build_book(env: dict) -> int:
    """Strict build: warnings are errors, nitpicky references, every notebook executed.

    The HTML page shows each interactive figure's static default, so the build asks the widget
    helper for that alone (PEDAGOGY_STATIC_WIDGETS=1) instead of creating live widgets.
    """
    env = dict(env, PEDAGOGY_STATIC_WIDGETS="1")
    return run([BIN / "jupyter-book", "build", ".", "-W", "-n", "--keep-going"], env=env)


def cmd_book() -> int:
    ensure_env("requirements.txt")
    rc = build_book(child_env())
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


def cmd_test() -> int:
    ensure_env("requirements-test.txt")
    env = child_env()
    BUILD.mkdir(exist_ok=True)
    report = BUILD / "pytest-report.xml"
    report.unlink(missing_ok=True)
    start = time.time()
    # Warm the numba cache once, so the two pytest workers do not compile the same kernels.
    run([PY, "-c", "import pedagogy_lib.core.warmup as w; w.compile_all()"], env=env)
    notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "chapters").rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
    rc_tests = run([PY, "-m", "pytest", "-n", "2", "--dist", "loadfile", "-p", "no:cacheprovider",
                    "--nbval-lax", "--nbval-cell-timeout=300", f"--junitxml={report}",
                    "tests", *notebooks], env=env)
    say(f"pytest finished in {time.time() - start:.0f} s (exit code {rc_tests})")
    start = time.time()
    rc_book = build_book(env)
    say(f"strict book build finished in {time.time() - start:.0f} s (exit code {rc_book})")
    passed, failed, skipped = pytest_counts(report)
    if rc_book != 0:
        failed += 1
        say("the strict book build FAILED (counted as one failure below)")
    elif rc_tests not in (0,):
        failed = max(failed, 1)
    # One plain closing line that summarizes everything the command checked.
    print(f"summary: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return 0 if (rc_tests == 0 and rc_book == 0 and passed > 0) else 1


def cmd_bench() -> int:
    ensure_env("requirements-test.txt")
    return run([PY, "benchmarks/run.py"], env=child_env())


def cmd_clean() -> int:
    shutil.rmtree(BUILD, ignore_errors=True)
    say("removed _build/ (the virtual environment .venv is kept)")
    return 0


COMMANDS = {"book": cmd_book, "test": cmd_test, "bench": cmd_bench, "clean": cmd_clean}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python3 tasks.py {{{','.join(COMMANDS)}}}")
    sys.exit(COMMANDS[sys.argv[1]]())
