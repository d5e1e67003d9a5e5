"""Every commit since the rule was introduced has a subject of at most 72 characters, a blank
line, then a body.

The rule came with the hook ``.githooks/commit-msg`` (enabled with ``git config core.hooksPath
.githooks``), so the commit that first added that file is where it starts: that commit and every
commit after it (descendants of it that ``HEAD`` reaches) are checked with the hook's own
:func:`problems`. Commits before it, and side branches forked before it, are not. While no commit
has added the hook there is nothing to check. A shallow clone checks the commits it has: when the
hook's commit lies beyond its depth, the oldest commit it holds shows the hook as added, and every
commit from there on came after the rule. The test is skipped only outside a git checkout of the
project, or in a shallow clone that holds the hook but no commit adding it.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOOK = ".githooks/commit-msg"


def _hook():
    loader = importlib.machinery.SourceFileLoader("commit_msg_hook", str(ROOT / HOOK))
    spec = importlib.util.spec_from_loader("commit_msg_hook", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


hook = _hook()


def _env() -> dict:
    """The environment without the variables of a git command this test might run inside (a hook
    sets GIT_DIR and GIT_INDEX_FILE), and with nobody's global or system configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    return env


def _git(repo: Path, *args: str, env: dict | None = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=120,
                          env=env or _env())
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def why_not_checkable(repo: Path) -> str:
    """Why the history of ``repo`` cannot be checked; '' when it can."""
    if shutil.which("git") is None:
        return "no git command on this machine"
    try:
        top = _git(repo, "rev-parse", "--show-toplevel").strip()
    except RuntimeError:
        return f"{repo} is not a git checkout (an unpacked copy has no history to check)"
    if Path(top).resolve() != repo.resolve():
        return f"{repo} is not the top of a git checkout (the enclosing checkout is {top})"
    return ""


def introducing_commit(repo: Path) -> str | None:
    """The oldest commit that added the hook, as ``HEAD`` reaches it; None while none did."""
    added = _git(repo, "log", "--root", "--diff-filter=A", "--format=%H", "--", HOOK).split()
    return added[-1] if added else None


def _tracked_at_head(repo: Path) -> bool:
    try:
        _git(repo, "cat-file", "-e", f"HEAD:{HOOK}")
    except RuntimeError:
        return False
    return True


def commits_to_check(repo: Path) -> list[tuple[str, str]]:
    """(hash, message) of the commit that introduced the rule and of every commit after it, oldest first."""
    first = introducing_commit(repo)
    if first is None:
        if _git(repo, "rev-parse", "--is-shallow-repository").strip() == "true" and _tracked_at_head(repo):
            # the hook is committed, but the clone is too shallow to hold any commit adding it
            pytest.skip(f"a shallow clone that lacks the commit introducing {HOOK}: fetch more history "
                        "(git fetch --unshallow) to check the commit messages")
        return []
    later = _git(repo, "rev-list", "--reverse", "--ancestry-path", f"{first}..HEAD").split()
    found = []
    for sha in [first, *later]:
        found.append((sha, _git(repo, "log", "-1", "--format=%B", sha)))
    return found


def rule_breakers(repo: Path) -> list[str]:
    """One line per checked commit whose message breaks the rule, naming the commit and what is wrong."""
    return [f"{sha[:10]} {hook.message_lines(message)[0][:60] if message.strip() else ''!r}: "
            + "; ".join(problems)
            for sha, message in commits_to_check(repo)
            if (problems := hook.problems(message))]


def test_every_commit_since_the_rule_has_a_short_subject_a_blank_line_and_a_body():
    why = why_not_checkable(ROOT)
    if why:
        pytest.skip(why)
    breakers = rule_breakers(ROOT)
    assert not breakers, ("commit messages need a subject of at most 72 characters, a blank line and a "
                          "body (enable the hook: git config core.hooksPath .githooks):\n" + "\n".join(breakers))


# --- the rule and the history check, on messages and on a repository made for the test --------------

GOOD = "Kalman filter: reach the kernel in three calls\n\nThe clean lane is gone; the numbers did not move.\n"
LONG_SUBJECT = ("Kalman filter: reach the kernel in three calls instead of ten, and drop the global flag "
                "of the sealed lane")
LONG = LONG_SUBJECT + "\n\nWhy.\n"


@pytest.mark.parametrize("message, expected", [
    (GOOD, []),
    ("x" * 72 + "\n\nbody\n", []),
    ("x" * 73 + "\n\nbody\n", ["subject is 73 characters"]),
    (LONG, [f"subject is {len(LONG_SUBJECT)} characters"]),
    ("Subject\nbody at once\n", ["second line is not blank"]),
    ("Subject only\n", ["no body"]),
    ("Subject only\n\n   \n", ["no body"]),
    ("", ["empty"]),
])
def test_the_rule_on_messages(message, expected):
    found = hook.problems(message)
    assert len(found) == len(expected) and all(e in f for e, f in zip(expected, found)), found


def test_the_hook_ignores_comments_and_the_diff_below_the_scissors(tmp_path):
    edited = tmp_path / "COMMIT_EDITMSG"
    edited.write_text("# Please enter the commit message\nSubject\n\n# a comment\nThe body.\n"
                      "# ------------------------ >8 ------------------------\ndiff --git a b\n")
    assert _run_hook(edited).returncode == 0
    edited.write_text("Subject\n\n# only a comment where the body should be\n")
    assert _run_hook(edited).returncode == 1
    edited.write_text("fixup! Subject\n")
    assert _run_hook(edited).returncode == 0                 # folded away before it lands


def _run_hook(message_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / HOOK), str(message_file)], capture_output=True, text=True, timeout=60)


def test_the_hook_is_executable_and_refuses_a_bad_commit(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("no git command on this machine")
    assert os.access(ROOT / HOOK, os.X_OK), f"{HOOK} is not executable (chmod +x; git keeps the mode)"
    repo = _new_repo(tmp_path)
    (repo / ".githooks").mkdir()
    shutil.copy2(ROOT / HOOK, repo / HOOK)
    _git(repo, "config", "core.hooksPath", ".githooks")
    (repo / "a.txt").write_text("a\n")
    _git(repo, "add", "-A")
    refused = subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", LONG_SUBJECT],
                             capture_output=True, text=True, timeout=120, env=_env())
    assert refused.returncode != 0 and "at most 72" in refused.stderr, refused.stderr
    _git(repo, "commit", "-q", "-m", "Add a", "-m", "Because the test needs a file.")
    assert _git(repo, "log", "-1", "--format=%s").strip() == "Add a"


def _new_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org"), ("commit.gpgsign", "false"),
                       ("core.hooksPath", os.devnull)):
        _git(repo, "config", key, value)
    return repo


def _commit(repo: Path, name: str, message: str) -> str:
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(name + "\n")
    _git(repo, "add", "-A")
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "--cleanup=whitespace", "-F", "-"], input=message,
                   text=True, check=True, capture_output=True, timeout=120, env=_env())
    return _git(repo, "rev-parse", "HEAD").strip()


def test_history_is_checked_from_the_commit_that_adds_the_hook_on(tmp_path):
    repo = _new_repo(tmp_path)
    _commit(repo, "old.txt", LONG_SUBJECT + "\n")          # an essay in the subject, before the rule
    assert why_not_checkable(repo) == "" and rule_breakers(repo) == []     # no rule yet: nothing to check
    _commit(repo, "tasks.py", GOOD)
    assert rule_breakers(repo) == []
    first = _commit(repo, HOOK, "Add the commit-msg hook\n\nSubjects of at most 72 characters, then a body.\n")
    assert [sha for sha, _ in commits_to_check(repo)] == [first]
    assert rule_breakers(repo) == []                       # the old commit is not held to the new rule
    _commit(repo, "b.txt", GOOD)
    assert rule_breakers(repo) == []
    bad = _commit(repo, "c.txt", "Subject only\n")
    breakers = rule_breakers(repo)
    assert len(breakers) == 1 and breakers[0].startswith(bad[:10]) and "no body" in breakers[0], breakers
    # a shallow clone that holds the hook's commit checks the same commits
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "3", f"file://{repo}", str(shallow)], check=True,
                   capture_output=True, timeout=120, env=_env())
    assert [b.split()[0] for b in rule_breakers(shallow)] == [bad[:10]]


def test_the_commit_that_introduces_the_rule_follows_it_too(tmp_path):
    repo = _new_repo(tmp_path)
    _commit(repo, "a.txt", GOOD)
    first = _commit(repo, HOOK, "Add the commit-msg hook and with it a rule that this very subject line breaks\n")
    breakers = rule_breakers(repo)
    assert len(breakers) == 1 and breakers[0].startswith(first[:10]), breakers


def test_a_shallow_clone_beyond_the_hooks_commit_checks_what_it_holds(tmp_path):
    repo = _new_repo(tmp_path)
    _commit(repo, HOOK, "Add the commit-msg hook\n\nThe rule starts here.\n")
    _commit(repo, "a.txt", GOOD)
    bad = _commit(repo, "b.txt", "Subject\nno blank line\n")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{repo}", str(shallow)], check=True,
                   capture_output=True, timeout=120, env=_env())
    # the clone's oldest commit shows the hook as added: it and every later commit came after the rule
    breakers = rule_breakers(shallow)
    assert [b.split()[0] for b in breakers] == [bad[:10]], breakers


def test_outside_a_checkout_the_check_says_why_it_cannot_run(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("no git command on this machine")
    plain = tmp_path / "unpacked"
    plain.mkdir()
    assert why_not_checkable(plain) != ""           # "not a git checkout" (or not the top of one)
