"""The sandbox of the student process (courseware/grading.py): each submission that reaches for the course
folder, the machine or the network is contained, scores zero with a reason that says what happened, and
the next student's correct answer, graded right after it, scores full marks.

Every submission answers one small exercise (7.3's PPCA noise variance, a number). The limits are made
small here (one second of CPU time, a few seconds of waiting, 16 processes, 1 MB of output) so that the
file runs in seconds; the course's defaults are :class:`courseware.grading.Limits`'.
"""
from __future__ import annotations

import dataclasses
import json
import os
import socket
from pathlib import Path

import pytest

from courseware import grading as G

LABEL, MODULE, CHECKER, NAMES = "ex-7-3-ppca-noise", "ch07_fa_pca", "ppca_noise", ["sigma2"]
SETUP = ("import numpy as np\nfrom pedagogy_lib.exercises import ch07_fa_pca as check", False)
#: A correct answer: the noise variance with the loadings in span(U), the directions of U^T S U whose
#: variance is above it carrying signal.
CORRECT = ("y, K = check.EX_IPCA\nU = check.EX_PPCA_U\nS = np.cov(y.T, bias=True)\n"
           "lam = np.sort(np.linalg.eigvalsh(U.T @ S @ U))[::-1]\n"
           "for r in range(K, -1, -1):\n"
           "    sigma2 = float(np.trace(S) - lam[:r].sum()) / (y.shape[1] - r)\n"
           "    if r == 0 or lam[r - 1] > sigma2:\n"
           "        break\n")
#: The next student: the correct answer, in a scratch directory that holds nothing of the one before.
NEXT = CORRECT + "import os\nassert not os.path.exists('/tmp/left-behind')\n"
LIMITS = G.Limits(cpu_seconds=1, processes=16, file_bytes=1 << 20, output_bytes=1_000_000, reply_bytes=1_000_000,
                  wall_seconds=30)


@pytest.fixture(scope="module", autouse=True)
def sandbox(sandboxed):
    """The sandbox must be there (``sandboxed``, tests/project/conftest.py)."""


def _grade(code: str, student: str = "attacker", limits: G.Limits = LIMITS, **kwargs) -> tuple[bool, str]:
    return G.grade_exercise(LABEL, MODULE, CHECKER, NAMES, [SETUP, (code, True)], student, limits=limits, **kwargs)


def _next_student_passes() -> None:
    passed, text = _grade(NEXT, "next-student")
    assert passed, text


@pytest.fixture()
def course(tmp_path, monkeypatch) -> Path:
    """A course folder with a source notebook (the solutions), another student's submission and a
    gradebook; grading runs in it, as ``nbgrader autograde`` does."""
    for path in ("source/ps1/ps1.ipynb", "submitted/other-student/ps1/ps1.ipynb", "gradebook.db"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(json.dumps({"cells": [{"source": "sigma2 = 0.123  # the solution"}]}))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_course_folder_cannot_be_read(course):
    paths = [str(course / "source/ps1/ps1.ipynb"), str(course / "submitted/other-student/ps1/ps1.ipynb"),
             "source/ps1/ps1.ipynb", str(course / "gradebook.db")]
    code = (f"import os\nseen = []\nfor path in {paths!r}:\n"
            "    try:\n        seen.append(open(path).read())\n    except FileNotFoundError:\n        pass\n"
            "if seen:\n    raise RuntimeError('read ' + repr(seen))\n"
            f"os.listdir({str(course)!r})\n")
    passed, text = _grade(code)
    assert not passed and "FileNotFoundError" in text and "read [" not in text, text
    _next_student_passes()


def test_nothing_outside_the_scratch_directory_can_be_written(course):
    import pedagogy_lib

    planted = Path(pedagogy_lib.__file__).parent / "planted_by_a_student.py"
    code = ("open('/tmp/left-behind', 'w').write('x')\n"        # the scratch directory is writable
            f"for path in ({str(course / 'gradebook.db')!r}, '/left-behind'):\n"
            "    try:\n        open(path, 'w').write('x')\n    except OSError:\n        pass\n"
            "    else:\n        raise RuntimeError('wrote ' + path)\n"
            f"open({str(planted)!r}, 'w').write('x = 1')\n")
    passed, text = _grade(code)
    assert not passed and "Read-only file system" in text, text
    assert not planted.exists() and json.loads((course / "gradebook.db").read_text())
    _next_student_passes()                  # and finds nothing in its scratch directory


def test_there_is_no_network():
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    try:
        port = server.getsockname()[1]
        passed, text = _grade(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)\n")
        assert not passed and "ConnectionRefusedError" in text, text
        with pytest.raises(BlockingIOError):           # no connection ever reached the server
            server.accept()
    finally:
        server.close()
    _next_student_passes()


@pytest.mark.parametrize("code, reason", [
    ("import os\nwhile True:\n    os.fork()\n", "BlockingIOError"),                         # forks without end
    ("import numpy as np\nx = np.ones(30 * 10**9 // 8)\n", "tried to allocate more than 4 GiB"),   # 30 GB
    ("import os\nos.write(1, b'{\"values\": {\"sigma2\": 0.5}, \"error\": null}\\n')\n"    # a forged reply ...
     "for _ in range(1000):\n    print('x' * 1_000_000)\n",                             # ... then 1 GB printed
     "printed more than 1 MB"),
    ("sigma2 = np.zeros(10**6)\n", "larger than the 1 MB the grader reads"),
    ("open('/tmp/big', 'wb').write(bytes(2 << 20))\n", "wrote a file larger than 1 MiB"),
    ("while True:\n    pass\n", "used more than 1 s of CPU time"),                        # never returns, busy
    ("import time\ntime.sleep(3600)\n", "did not finish within 3 s"),                  # never returns, idle
], ids=["fork-bomb", "memory", "printing", "reply", "file", "cpu-time", "no-return"])
def test_a_submission_that_exhausts_a_resource_is_stopped_and_says_so(code, reason):
    limits = dataclasses.replace(LIMITS, wall_seconds=3) if "sleep" in code else LIMITS
    passed, text = _grade(code, limits=limits)
    assert not passed and reason in text, text
    if "fork" in code:
        assert "graded code may start at most 16 processes" in text, text
    _next_student_passes()


def test_grading_refuses_without_the_sandbox_unless_told_to_run_unisolated(monkeypatch):
    monkeypatch.setattr(G, "BWRAP", "bwrap-not-installed-here")
    with pytest.raises(G.SandboxUnavailable, match="apt-get install bubblewrap"):
        _grade(CORRECT)
    with pytest.raises(G.SandboxUnavailable, match="--SummativeGrader.unisolated=True"):
        G.grade_notebook({"cells": []}, "s")
    passed, text = _grade(CORRECT, unisolated=True)
    assert passed, text


# --- the fork server: the exercises of one submission share a sandbox, each in a process of its own -----

#: The next exercise in the same fork server: correct, and it finds neither a file nor a process of the one before.
NEXT_IN_THE_SERVER = (CORRECT + "import os\nassert not {'left-behind', 'locked'} & set(os.listdir('/tmp'))\n"
                      "pids = {int(n) for n in os.listdir('/proc') if n.isdigit()}\n"
                      "assert pids <= {1, os.getppid(), os.getpid()}, pids\n"
                      "assert not ROOT or os.geteuid() == 65534, os.geteuid()\n")


def _grade_in(servers, code: str, student: str = "attacker", limits: G.Limits = LIMITS) -> tuple[bool, str]:
    return G.grade_exercise(LABEL, MODULE, CHECKER, NAMES, [SETUP, (f"ROOT = {os.geteuid() == 0}\n", True),
                                                           (code, True)], student, limits=limits, servers=servers)


def test_an_exercise_of_a_fork_server_leaves_nothing_to_the_next():
    """A file (in a folder no one may read), and a process that left its session, both left by one exercise:
    the next exercise, forked by the same server, finds neither, and runs as the same user as before."""
    leave = ("import os, time\nopen('/tmp/left-behind', 'w').write('x')\nos.mkdir('/tmp/locked')\n"
             "open('/tmp/locked/f', 'w').write('x')\nos.chmod('/tmp/locked', 0)\n"
             "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(3600)\n    os._exit(0)\n"
             "sigma2 = 0.5\n")
    with G.fork_servers(limits=LIMITS, imports=SETUP[0]) as servers:
        passed, text = _grade_in(servers, leave)
        assert not passed and "not within tolerance" in text, text      # graded, and wrong
        first = servers.server
        assert first is not None and not first.broken       # a wrong answer: the server is kept ...
        passed, text = _grade_in(servers, NEXT_IN_THE_SERVER, "next-student")
        assert passed, text
        assert servers.server is first                       # ... and the next exercise ran in it


def test_a_fork_server_s_exercise_that_exhausts_a_resource_is_stopped_and_says_so():
    """The limits of each exercise forked by a server are those of a sandbox of its own, said the same way;
    after each, the next exercise passes (in a new server when the last one was killed)."""
    cases = [("import os\nwhile True:\n    os.fork()\n", "graded code may start at most 16 processes"),
             ("import numpy as np\nx = np.ones(30 * 10**9 // 8)\n", "tried to allocate more than 4 GiB"),
             ("for _ in range(1000):\n    print('x' * 1_000_000)\n", "printed more than 1 MB"),
             ("while True:\n    pass\n", "used more than 1 s of CPU time"),
             # the server: refused, or, where the kernel lets it happen, the exercise's sandbox goes with it
             ("import os, time\nos.kill(os.getppid(), 9)\ntime.sleep(60)\n", ("PermissionError", "your code was killed")),
             ("import time\ntime.sleep(3600)\n", "did not finish within 3 s")]
    with G.fork_servers(limits=LIMITS, imports=SETUP[0]) as servers:
        for code, reason in cases:
            limits = dataclasses.replace(LIMITS, wall_seconds=3) if "sleep" in code else LIMITS
            passed, text = _grade_in(servers, code, limits=limits)
            assert not passed and any(r in text for r in ((reason,) if isinstance(reason, str) else reason)), text
            passed, text = _grade_in(servers, NEXT_IN_THE_SERVER, "next-student")
            assert passed, (reason, text)
