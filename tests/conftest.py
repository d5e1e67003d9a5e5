"""The tests live in one folder per library family (``tests/lgssm``, ``tests/samplers``, ...), with
``tests/exercises`` for the checkers, ``tests/library`` for what holds across families,
``tests/project`` for the book, the courseware and the test command, and ``tests/browser`` for the
built site. The brute-force oracles shared across folders (``oracle_*.py``)
stay here, and this file puts this folder on the import path so that every test can import them.
"""
import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

#: The longest test files (several minutes each under the test command), collected first: the test
#: command gives whole files to its two workers (pytest-xdist ``--dist loadfile``), and a long file
#: handed out last would leave one worker idle while the other finishes it.
LONGEST_FIRST = ("project/test_grading.py", "project/test_courseware.py", "library/test_without_numba.py")


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        path = str(item.path).replace("\\", "/")
        return next((i for i, tail in enumerate(LONGEST_FIRST) if path.endswith("/tests/" + tail)),
                    len(LONGEST_FIRST))
    items.sort(key=rank)          # stable: every other item keeps its place
