"""The library's wheel, as a release builds it: built from the sources with the environment's own
setuptools (``pip wheel --no-deps --no-build-isolation``), it carries the version of
``pyproject.toml``, every sub-package of ``pedagogy_lib/`` and nothing else of the repository; and,
installed alone into a clean virtual environment (no site packages of this one, no numba), it runs
a Kalman filter through the NumPy twin.

The clean environment gets the wheel with ``--no-deps`` and then only NumPy and SciPy, the two
packages ``pedagogy_lib.lgssm`` imports (``core/linalg.py`` needs SciPy), at the versions this
environment has, as binary wheels from the package index or pip's cache. Where neither can be
reached the second test is skipped, saying so, except under CI, where it fails.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Building, creating the environment and installing NumPy and SciPy take about 15 s of CPU.
pytestmark = pytest.mark.slow


def _version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def _source_packages() -> set[str]:
    """Every package of the source tree: each folder of pedagogy_lib/ with an ``__init__.py``."""
    return {".".join(init.parent.relative_to(ROOT).parts)
            for init in (ROOT / "pedagogy_lib").rglob("__init__.py") if "__pycache__" not in init.parts}


def _source_modules() -> set[str]:
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / "pedagogy_lib").rglob("*.py")
            if "__pycache__" not in path.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the sources, so that setuptools' ``build/`` and ``*.egg-info``
    land in the scratch folder, not in the repository."""
    scratch = tmp_path_factory.mktemp("wheel")
    src = scratch / "src"
    src.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", src / "pyproject.toml")
    shutil.copytree(ROOT / "pedagogy_lib", src / "pedagogy_lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    out = scratch / "dist"
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--disable-pip-version-check", "-q", "--wheel-dir", str(out), str(src)],
                          cwd=src, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"pip wheel failed:\n{done.stdout}\n{done.stderr}"
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_holds_every_package_at_the_projects_version_and_nothing_else(wheel):
    version = _version()
    assert wheel.name == f"pedagogy_lib-{version}-py3-none-any.whl", wheel.name
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = zf.read(f"pedagogy_lib-{version}.dist-info/METADATA").decode("utf-8")
    assert f"\nVersion: {version}\n" in meta and "\nName: pedagogy_lib\n" in meta.replace("pedagogy-lib", "pedagogy_lib")
    assert re.search(r"^Requires-Dist: numba\s*;\s*extra\s*==\s*[\"']fast[\"']\s*$", meta, re.M), \
        "numba should be the optional extra 'fast'"
    assert not re.search(r"^Requires-Dist: numba\s*$", meta, re.M), "numba should not be required"
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"pedagogy_lib", f"pedagogy_lib-{version}.dist-info"}, tops
    packages = {".".join(name.split("/")[:-1]) for name in names if name.endswith("/__init__.py")}
    source = _source_packages()
    assert packages == source, (f"missing from the wheel: {sorted(source - packages)}; "
                                f"not in the sources: {sorted(packages - source)}")
    modules = {name for name in names if name.endswith(".py")}
    assert modules == _source_modules(), sorted(modules ^ _source_modules())
    assert "pedagogy_lib/exercises/not_allowed.json" in names, "the checkers' package data is missing"
    leaked = [n for n in names if n.endswith((".ipynb", ".nbi", ".nbc", ".pyc")) or "/tests/" in n
              or n.split("/")[-1].startswith("test_")]
    assert not leaked, leaked


def _install(python: Path, *args: str) -> subprocess.CompletedProcess:
    # this environment's pip, installing into the clean one (``--python``), which needs no pip of its own
    return subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--disable-pip-version-check", "-q", *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def clean_python(wheel, tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("clean-env") / "env"
    venv.EnvBuilder(with_pip=False, system_site_packages=False, clear=True).create(where)
    python = where / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")
    done = _install(python, "--no-index", str(wheel))
    assert done.returncode == 0, f"installing the wheel alone failed:\n{done.stdout}\n{done.stderr}"
    pins = [f"{name}=={metadata.version(name)}" for name in ("numpy", "scipy")]
    done = _install(python, "--only-binary=:all:", *pins)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        if os.environ.get("CI"):
            pytest.fail(f"installing {' '.join(pins)} into the clean environment failed: {why}")
        pytest.skip(f"{' '.join(pins)} could not be installed from the package index or pip's cache ({why})")
    return python


#: Run in the clean environment with ``-I`` (no current folder, no PYTHONPATH): one Kalman step of a
#: scalar model (prior variance, noise variance and observation from the command line), whose answer
#: the test knows in closed form.
PROBE = """
import importlib.util, json, sys
from importlib import metadata
import numpy as np
import pedagogy_lib.lgssm
from pedagogy_lib.lgssm import kalman_filter
from pedagogy_lib.lgssm.model import LGSSMParams
sigma1, r, y = (float(v) for v in sys.argv[1:])
one = np.ones((1, 1))
params = LGSSMParams(mu1=np.zeros(1), Sigma1=one * sigma1, A=one, B=None, a=np.zeros(1), Sigma_x=one,
                     C=one, c=np.zeros(1), Sigma_y_x=one * r)
result = kalman_filter(params, np.array([[y]]), backend="numpy")
print(json.dumps({
    "version": metadata.version("pedagogy_lib"),
    "file": pedagogy_lib.__file__,
    "numba": importlib.util.find_spec("numba") is not None,
    "matplotlib": importlib.util.find_spec("matplotlib") is not None,
    "mean": float(result.mu_filt[0, 0]),
    "variance": float(result.Upsilon_filt[0, 0, 0]),
    "log_evidence": float(result.log_evidence),
}))
"""


def test_the_installed_wheel_runs_a_kalman_filter_without_numba(clean_python):
    sigma1, r, y = 3.0, 1.0, 2.0
    done = subprocess.run([str(clean_python), "-I", "-c", PROBE, repr(sigma1), repr(r), repr(y)],
                          capture_output=True, text=True, timeout=300,
                          cwd=clean_python.parent)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["version"] == _version()
    env_root = clean_python.parent.parent
    assert Path(got["file"]).resolve().is_relative_to(env_root.resolve()), \
        f"pedagogy_lib came from {got['file']}, not from the clean environment {env_root}"
    assert got["numba"] is False and got["matplotlib"] is False, got
    # One observation y of x ~ N(0, sigma1) through y = x + noise, noise ~ N(0, r): the posterior is
    # N(sigma1 y / (sigma1 + r), sigma1 r / (sigma1 + r)) and the evidence N(y; 0, sigma1 + r).
    s = sigma1 + r
    assert got["mean"] == pytest.approx(sigma1 * y / s, rel=1e-12)
    assert got["variance"] == pytest.approx(sigma1 * r / s, rel=1e-12)
    assert got["log_evidence"] == pytest.approx(-0.5 * (math.log(2 * math.pi * s) + y * y / s), rel=1e-12)
