"""The tests live in one folder per library family (``tests/lgssm``, ``tests/samplers``, ...), with
``tests/exercises`` for the checkers, ``tests/library`` for what holds across families,
``tests/project`` for the book, the courseware and the test command, and ``tests/browser`` for the
built site. The brute-force oracles shared across folders (``oracle_*.py``)
stay here, and this file puts this folder on the import path so that every test can import them.
"""
import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(autouse=True)
def _auto_backend_compiles(monkeypatch):
    """``backend="auto"`` calls the compiled kernel in every test, as on a machine whose numba cache is warm,
    so that a test of a function's default path tests the kernel whatever state the cache is in.
    ``tests/core/test_jit.py`` checks the rule itself."""
    from pedagogy_lib.core import jit
    monkeypatch.setattr(jit, "COMPILE_AFTER_TWIN_SECONDS", 0.0)


#: The longest test files (several minutes each under the test command), collected first: the test
#: command gives whole files to its two workers (pytest-xdist ``--dist loadfile``), and a long file
#: handed out last would leave one worker idle while the other finishes it.
LONGEST_FIRST = ("project/test_grading.py", "project/test_honest_answers.py", "project/test_courseware.py",
                 "library/test_without_numba.py")
#: Files whose tests are independent of each other (no state shared between tests, only cheap module
#: fixtures) and long in sum: their tests are handed out one by one, not as one file, so that the two
#: workers share them (each grades notebooks in the sandbox for several minutes in all).
SPREAD = ("project/test_grading.py", "project/test_honest_answers.py")


@pytest.hookimpl(optionalhook=True)            # a run without xdist (tests/library/test_without_numba.py) has no such hook
def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadfile``, each file goes to one worker (a notebook's cells run in order in one
    kernel), except the tests of :data:`SPREAD`, each handed out on its own."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SpreadLongFiles(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if path.endswith(SPREAD) else path

    return SpreadLongFiles(config, log)


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        path = str(item.path).replace("\\", "/")
        return next((i for i, tail in enumerate(LONGEST_FIRST) if path.endswith("/tests/" + tail)),
                    len(LONGEST_FIRST))
    items.sort(key=rank)          # stable: every other item keeps its place
