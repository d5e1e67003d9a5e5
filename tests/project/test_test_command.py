"""The test command varies the machine, and the rules that keep results machine-independent.

``python3 tasks.py test`` runs the library tests and every other notebook under nbval as on another
machine (an older OpenBLAS kernel, numba compiled for a generic x86-64 CPU), and the remaining
notebooks with this machine's defaults (``tasks.machine_variant``, ``tasks.nbval_kernels``); the
strict build renders the notebooks as nbval ran them. These tests check that choice, that the run
really sees it, that nbval keeps what it ran for the build, that a notebook writing to stderr fails
nbval as it fails the build, and that nothing in the library, the notebooks or the tests decides
anything by the clock or the machine's load.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402


@pytest.mark.parametrize("forced, expected", [(None, "Prescott"), ("Prescott", "Sandybridge"),
                                              ("PRESCOTT", "Sandybridge"), ("Haswell", "Prescott")])
def test_the_variant_forces_an_older_blas_kernel_than_the_defaults_and_generic_numba(monkeypatch, forced, expected):
    monkeypatch.setattr(tasks.platform, "machine", lambda: "x86_64")
    env = {"PATH": "/bin"} if forced is None else {"PATH": "/bin", "OPENBLAS_CORETYPE": forced}
    variant, says = tasks.machine_variant(env, ["X86_V3", "X86_V4"])
    assert variant["OPENBLAS_CORETYPE"] == expected
    assert variant["NPY_DISABLE_CPU_FEATURES"] == "X86_V3 X86_V4" and "X86_V4" in says
    assert variant["NUMBA_CPU_NAME"] == "generic"
    assert Path(variant["NUMBA_CACHE_DIR"]).parent == tasks.BUILD     # a cache of its own, under _build
    assert variant["PATH"] == "/bin" and env.get("OPENBLAS_CORETYPE") == forced   # the defaults are untouched
    assert expected in says and "generic" in says


def test_numpy_paths_are_left_alone_when_the_cpu_runs_none_beyond_the_baseline(monkeypatch):
    monkeypatch.setattr(tasks.platform, "machine", lambda: "x86_64")
    variant, says = tasks.machine_variant({"PATH": "/bin"}, [])
    assert "NPY_DISABLE_CPU_FEATURES" not in variant and "NumPy without" not in says


def test_the_simd_paths_switched_off_are_ones_this_numpy_runs():
    paths = tasks.numpy_simd_paths(Path(sys.executable))
    from numpy._core._multiarray_umath import __cpu_dispatch__

    assert set(paths) <= set(__cpu_dispatch__)


def test_on_another_architecture_the_command_says_it_could_not_vary_the_machine(monkeypatch):
    monkeypatch.setattr(tasks.platform, "machine", lambda: "aarch64")
    variant, says = tasks.machine_variant({"PATH": "/bin"})
    assert variant is None and "aarch64" in says and "not x86-64" in says


@pytest.mark.skipif(os.environ.get("NUMBA_CPU_NAME") != "generic",
                    reason="runs inside the test command's run of the tests as on another machine")
def test_this_run_really_uses_the_older_kernels():
    """Under the test command, the BLAS and numba code paths are the forced ones, not the machine's."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import numpy as np  # noqa: F401  (loads OpenBLAS)

    forced = os.environ["OPENBLAS_CORETYPE"]
    blas = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
    assert blas, "no OpenBLAS loaded"
    default = subprocess.run(
        [sys.executable, "-c", "import numpy, threadpoolctl; print([i.get('architecture') for i in "
         "threadpoolctl.threadpool_info() if i.get('internal_api') == 'openblas'][0])"],
        env={k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"},
        capture_output=True, text=True, check=True).stdout.strip()
    assert blas[0].get("architecture") != default, (forced, default)
    from numpy._core._multiarray_umath import __cpu_features__

    off = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").split()
    assert not any(__cpu_features__.get(k) for k in off), "NumPy still runs a SIMD path the variant switched off"
    numba = pytest.importorskip("numba")
    from numba.core import config

    assert config.CPU_NAME == "generic" and numba.config.CPU_FEATURES == ""


def _notebook(path: Path, sources: list[str]) -> None:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
              "source": src} for i, src in enumerate(sources)]
    nb = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                      "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")


@pytest.mark.slow
def test_a_notebook_cell_that_writes_to_stderr_fails_under_nbval(tmp_path):
    path = tmp_path / "warns.ipynb"
    _notebook(path, ["import warnings\nwarnings.warn('the gradient did not settle', RuntimeWarning)",
                     "print('stdout is fine')"])
    # the project's conftest.py, loaded as a plugin since the notebook lies outside the checkout
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "conftest", "-q",
                          "--nbval-lax", "--nbval-cell-timeout=60", str(path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stdout[-3000:]
    assert "1 failed, 1 passed" in out.stdout, out.stdout[-3000:]
    assert "wrote to stderr" in out.stdout and "the gradient did not settle" in out.stdout


@pytest.mark.slow
def test_nbval_keeps_what_it_ran_for_the_build_and_starts_each_kernel_with_its_variables(tmp_path):
    """Under the test command the build renders the notebooks as nbval ran them (conftest.py): a notebook
    whose cells all pass is written with its outputs, one that fails is marked, and each kernel starts
    with the variables ``nbval_kernels`` gives its notebook."""
    where = Path(tempfile.mkdtemp(prefix="nbval-record-", dir=tasks.BUILD if tasks.BUILD.is_dir() else ROOT))
    try:
        good, bad = where / "good.ipynb", where / "bad.ipynb"
        _notebook(good, ["import os\nprint(os.environ.get('PG_PROBE'), os.environ.get('PG_GONE'))", "6 * 7"])
        _notebook(bad, ["print('before')", "1 / 0"])
        keys = [p.relative_to(ROOT).as_posix() for p in (bad, good)]
        kernels = tasks.nbval_kernels(keys, {"PG_PROBE": "own"}, {"PG_PROBE": "other", "PG_GONE": "x"})
        assert kernels[keys[0]] == {"PEDAGOGY_STATIC_WIDGETS": "1"}            # the first: the tests' machine
        assert kernels[keys[1]] == {"PEDAGOGY_STATIC_WIDGETS": "1", "PG_PROBE": "own", "PG_GONE": None}
        record = tmp_path / "record.json"
        record.write_text(json.dumps({"outputs": str(tmp_path / "out"), "kernels": kernels}), encoding="utf-8")
        env = dict(os.environ, PEDAGOGY_NBVAL_RECORD=str(record), PG_PROBE="other", PG_GONE="x")
        out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval-lax",
                              "--nbval-cell-timeout=60", str(good), str(bad)],
                             cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
        assert "1 failed, 3 passed" in out.stdout, out.stdout[-3000:]
        import nbformat

        written = nbformat.read(tmp_path / "out" / keys[1], as_version=4)
        nbformat.validate(written)
        first, second = written.cells
        assert first.outputs[0]["text"] == "own None\n"                         # this machine's variables
        assert second.outputs[0]["data"]["text/plain"] == "42" and second.execution_count == 2
        assert (tmp_path / "out" / f"{keys[0]}.failed").exists()
        assert not (tmp_path / "out" / keys[0]).exists()
    finally:
        shutil.rmtree(where, ignore_errors=True)


#: Calls that read the clock or the machine's load; none may decide an output or an assertion.
CLOCK = re.compile(r"\b(perf_counter|process_time|monotonic|getloadavg|timeit|time\.time)\b")
#: Files that may read the clock: the command-line tasks report how long each step took, and the
#: fuzz gives a call two minutes before it counts as a hang (a safety net like nbval's cell timeout,
#: which no correct call comes near); neither decides a result.
MAY_READ_THE_CLOCK = {"tasks.py", "tools/execute_notebooks.py", "tests/library/test_fuzz_public_api.py"}


def _sources():
    for folder in ("pedagogy_lib", "courseware", "_ext", "lite", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path, path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "chapters").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        yield path, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name != Path(__file__).name and "browser" not in path.parts:
            yield path, path.read_text(encoding="utf-8")


def test_nothing_decides_by_the_clock_or_the_load():
    found = []
    for path, text in _sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel in MAY_READ_THE_CLOCK:
            continue
        found += [f"{rel}: {m.group(0)}" for m in CLOCK.finditer(text)]
    assert not found, ("these read the clock or the load; results and assertions must not depend on "
                       "either (measure speed in benchmarks/):\n" + "\n".join(found))


def test_numba_caches_are_dropped_once_when_compiled_code_changes(tmp_path):
    """numba ties a cached kernel to its own file; a helper inlined from another file goes stale in a
    working copy. The test command drops every cache when a kernels module changed, and only then."""
    import tasks

    lib = tmp_path / "pedagogy_lib"
    for family in ("core", "smc"):
        (lib / family / "__pycache__").mkdir(parents=True)
        (lib / family / "kernels.py").write_text(f"# {family}\n")
    (lib / "core" / "jit.py").write_text("# jit\n")
    cached = [lib / "smc" / "__pycache__" / "kernels.f-1.py311.nbi", lib / "smc" / "__pycache__" / "kernels.f-1.py311.1.nbc"]
    keep = lib / "smc" / "__pycache__" / "kernels.cpython-311.pyc"
    build = tmp_path / "_build"
    (build / "numba-cache-generic").mkdir(parents=True)

    def fill():
        for p in cached + [keep]:
            p.write_bytes(b"x")

    fill()
    assert tasks.drop_stale_numba_caches(tmp_path, build)              # no record yet: dropped
    assert not any(p.exists() for p in cached) and keep.exists() and not (build / "numba-cache-generic").exists()
    fill()
    assert not tasks.drop_stale_numba_caches(tmp_path, build)          # nothing changed: kept
    assert all(p.exists() for p in cached)
    (lib / "core" / "kernels.py").write_text("# core, changed\n")
    assert tasks.drop_stale_numba_caches(tmp_path, build)              # a helper changed: dropped again
    assert not any(p.exists() for p in cached)


# ------------------------------------------------------------------------------------- bare pytest and check

#: The project's checks of the usual slips, which ``python3 tasks.py check`` must keep running.
SLIP_CHECKS = (
    "tests/project/test_commit_messages.py::test_every_commit_since_the_rule_has_a_short_subject_a_blank_line_and_a_body",
    "tests/project/test_exercise_rules.py::test_statements_and_the_checkers_copy_follow_the_metadata",
    "tests/project/test_teaching_kit.py::test_every_chapter_notebook_marks_what_the_rule_selects",
    "tests/library/test_library_layout.py::test_the_readme_map_lists_every_module_and_nothing_else",
    "tests/project/test_book_structure.py::test_notebook_anatomy",
)


def _family_folders() -> set[str]:
    return {p.parent.name for p in (ROOT / "tests").glob("*/test_*.py") if p.parent.name != "browser"}


def _check_selection(request) -> tuple[list[str], int]:
    """The node ids ``python3 tasks.py check`` selects and how many it deselects.

    When this session collected every test module (as the test command's pytest does), they are read from
    its items: an item is selected when it carries neither the ``slow`` nor the ``heavy`` mark, which is what
    the check's ``-m "not slow and not heavy"`` (asserted below) matches. Run alone, the test collects the
    tree as the check does, in a subprocess."""
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("test_*.py")
               if "browser" not in p.parts and "fixtures" not in p.parts}
    items = request.session.items
    if modules <= {item.nodeid.partition("::")[0] for item in items}:
        ids = [i.nodeid for i in items if i.nodeid.startswith("tests/")
               and not {"slow", "heavy"} & {m.name for m in i.iter_markers()}]
        return ids, sum(1 for i in items if i.nodeid.startswith("tests/")) - len(ids)
    marks = tasks.CHECK_PYTEST[tasks.CHECK_PYTEST.index("-m"):][:2]
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *marks],
                         cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    return ids, int(re.search(r"/(\d+) tests collected \((\d+) deselected\)", out.stdout).group(2))


@pytest.mark.slow
def test_the_check_collects_tests_of_every_family_and_the_slip_checks_but_no_browser_test(request):
    """The selection of ``python3 tasks.py check`` (pytest's defaults from pyproject.toml, then
    ``tasks.CHECK_PYTEST`` less its run options)."""
    assert tasks.CHECK_PYTEST[tasks.CHECK_PYTEST.index("-m") + 1] == "not slow and not heavy"
    ids, deselected = _check_selection(request)
    folders = {i.split("/")[1] for i in ids}
    assert not _family_folders() - folders, f"no test of {sorted(_family_folders() - folders)} in the check"
    assert "browser" not in folders and all(i.startswith("tests/") for i in ids)
    missing = [c for c in SLIP_CHECKS if not any(i == c or i.startswith(c + "[") for i in ids)]
    assert not missing, missing
    assert deselected > 0                                    # the slow and heavy tests stayed out


def test_the_check_command_leaves_out_slow_and_heavy_tests_and_lints_with_a_pinned_ruff():
    assert "check" in tasks.COMMANDS
    assert tasks.CHECK_PYTEST[tasks.CHECK_PYTEST.index("-m") + 1] == "not slow and not heavy"
    assert not any(a.startswith("tests") or a.endswith(".ipynb") for a in tasks.CHECK_PYTEST)   # pyproject's testpaths
    pins = (ROOT / "requirements-test.txt").read_text(encoding="utf-8").splitlines()
    assert any(re.fullmatch(r"ruff==[0-9.]+", line) for line in pins)
    assert (ROOT / "ruff.toml").is_file()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python3 tasks.py check" in readme and "`pytest`" in readme


@pytest.mark.parametrize("table, definition", [("HEAVY", r"^def {name}\("),
                                               ("HEAVY_FIXTURES", r"^@pytest\.fixture\(.*\)\ndef {name}\(")])
def test_every_heavy_entry_names_a_test_or_fixture_that_exists(table, definition):
    """tests/conftest.py marks heavy the tests of its table HEAVY and the tests that use a fixture of its table
    HEAVY_FIXTURES; an entry whose test or fixture was renamed or removed would silently mark nothing."""
    import ast

    tree = ast.parse((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    entries = next(ast.literal_eval(node.value) for node in tree.body
                   if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == table)
    assert entries
    for key in entries:
        path, name = key.split("::")
        source = (ROOT / "tests" / path).read_text(encoding="utf-8")
        assert re.search(definition.format(name=re.escape(name)), source, re.M), key


def test_no_two_test_modules_share_a_name_outside_packages():
    """pytest imports a test file of a folder without ``__init__.py`` as a top-level module named after
    the file: two such files of one name cannot both be collected in one run."""
    seen: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if "fixtures" in path.parts or (path.parent / "__init__.py").exists():
            continue
        seen.setdefault(path.name, []).append(path.parent.relative_to(ROOT).as_posix())
    assert not {k: v for k, v in seen.items() if len(v) > 1}


def test_uv_is_given_pips_indexes_wheel_folders_and_constraints_and_pips_rule_for_several_indexes():
    printed = ("global.constraint='/etc/pip/constraints.txt'\n"
               "global.extra-index-url='file:///a/simple file:///b/simple'\n"
               "global.find-links='/opt/wheels'\n"
               "global.cert='/etc/ssl/certs/ca.crt'\n"
               ":env:.find-links='/srv/wheels'\n"            # a PIP_* variable, printed last, wins
               "user.index-url=\"https://mirror.example/simple\"\n")
    env = tasks.uv_environment(printed, {"PATH": "/bin"})
    assert env == {"PATH": "/bin", "UV_INDEX_STRATEGY": "unsafe-best-match",
                   "UV_CONSTRAINT": "/etc/pip/constraints.txt",
                   "UV_EXTRA_INDEX_URL": "file:///a/simple file:///b/simple",
                   "UV_FIND_LINKS": "/srv/wheels", "UV_DEFAULT_INDEX": "https://mirror.example/simple"}
    assert tasks.uv_environment("", {})["UV_INDEX_STRATEGY"] == "unsafe-best-match"


def test_a_failed_uv_install_falls_back_to_pip(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(tasks, "run", lambda cmd, env=None, log=None: calls.append([str(c) for c in cmd]) or
                        (1 if "uv" in [str(c) for c in cmd] else 0))
    monkeypatch.setattr(tasks.venv.EnvBuilder, "create", lambda self, d: None)
    monkeypatch.setattr(tasks.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, "", ""))
    py = tasks.python_in(tmp_path)
    py.parent.mkdir(parents=True)
    py.touch()
    tasks.ensure_env("requirements.txt", tmp_path)
    assert any("uv" in c for c in calls)                      # uv was tried first ...
    assert calls[-1][-2:] == ["-r", "requirements.txt"] and "pip" in calls[-1] and "uv" not in calls[-1]
    assert list(tmp_path.glob(".stamp-requirements.txt-*"))   # ... and pip finished the job


def test_the_commands_children_cache_bytecode_whatever_the_shell_says(monkeypatch):
    """With PYTHONDONTWRITEBYTECODE set, every Python process of the test command would compile NumPy, SciPy,
    matplotlib and Jupyter from source again (and pytest rewrite every test file's asserts again); the
    commands' children therefore run without it, and keep the rest of the caller's environment."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PEDAGOGY_PROBE_VARIABLE", "kept")
    env = tasks.child_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PEDAGOGY_PROBE_VARIABLE"] == "kept"
