"""The tests live in one folder per library family (``tests/lgssm``, ``tests/samplers``, ...), with
``tests/exercises`` for the checkers, ``tests/library`` for what holds across families,
``tests/project`` for the book, the courseware and the test command, and ``tests/browser`` for the
built site. The brute-force oracles shared across folders (``oracle_*.py``, ``graded_routes.py``)
stay here, and this file puts this folder on the import path so that every test can import them.
"""
import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
