"""Every exercise of the book has a checker test: its reference passes and a typical wrong answer fails.

The exercises are read from the notebooks (``courseware.editions``); for each one, the test module
of its checker module, ``tests/exercises/test_exercises_<module>.py``, must contain a test function that
calls the exercise's checker and asserts that the call passes (``assert check.fn(...)``, or
``res = check.fn(...)`` then ``assert res``) and a test function that asserts a call fails
(``assert not check.fn(...)``, or ``assert not res``) with an answer other than the stub's
``None``. The analysis is static (it reads the test
files), so it holds for every test run whatever subset of tests is selected.

It also checks the autograder's mode of the checker core: ``raise_if_wrong`` returns a passing
result and raises ``AnswerNotAccepted`` (an ``AssertionError``) with the reader's messages.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from courseware.editions import all_exercises
from pedagogy_lib.exercises import ch04_objectives
from pedagogy_lib.exercises.checker import AnswerNotAccepted, CheckResult

TESTS = Path(__file__).resolve().parent
EXERCISES = all_exercises()


def _aliases(tree: ast.Module, module: str) -> set[str]:
    """Names under which a test file imports pedagogy_lib.exercises.<module>."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "pedagogy_lib.exercises":
            names |= {a.asname or a.name for a in node.names if a.name == module}
        if isinstance(node, ast.Import):
            names |= {a.asname for a in node.names if a.name == f"pedagogy_lib.exercises.{module}" and a.asname}
    return names


def _checker_of(node: ast.AST, aliases: set[str]) -> str | None:
    """The checker a call node calls, if it calls one with an answer (not only ``None`` stubs)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and isinstance(node.func.value, ast.Name) and node.func.value.id in aliases:
        args = list(node.args) + [k.value for k in node.keywords]
        if args and all(isinstance(a, ast.Constant) and a.value is None for a in args):
            return None                         # the untouched stub is not a "typical wrong answer"
        return node.func.attr
    return None


def _conjuncts(test: ast.expr) -> list[ast.expr]:
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return [x for v in test.values for x in _conjuncts(v)]
    return [test]


def _evidence(path: Path, module: str) -> tuple[set[str], set[str]]:
    """(checkers asserted to pass, checkers asserted to fail) somewhere in one test file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = _aliases(tree, module)
    passes, fails = set(), set()
    for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]:
        bound: dict[str, str] = {}              # variable -> checker whose result it holds
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if (name := _checker_of(node.value, aliases)) is not None:
                    bound[node.targets[0].id] = name
        for node in ast.walk(fn):
            if not isinstance(node, ast.Assert):
                continue
            for part in _conjuncts(node.test):
                negated = isinstance(part, ast.UnaryOp) and isinstance(part.op, ast.Not)
                inner = part.operand if negated else part
                for sub in _conjuncts(inner):
                    name = _checker_of(sub, aliases)
                    if name is None and isinstance(sub, ast.Name):
                        name = bound.get(sub.id)
                    if name is not None:
                        (fails if negated else passes).add(name)
    return passes, fails


@pytest.mark.parametrize("module", sorted({e.checker_module for e in EXERCISES}))
def test_every_exercise_checker_has_a_passing_and_a_failing_test(module):
    path = TESTS / f"test_exercises_{module}.py"
    assert path.exists(), f"no checker tests for pedagogy_lib.exercises.{module} ({path.name})"
    passes, fails = _evidence(path, module)
    needed = sorted({e.checker for e in EXERCISES if e.checker_module == module})
    missing = []
    for name in needed:
        lacks = [what for what, ok in (("a passing test", name in passes), ("a failing test", name in fails))
                 if not ok]
        if lacks:
            missing.append(f"{name}: {' and '.join(lacks)}")
    assert not missing, f"{path.name} lacks, for the exercises' checkers: {'; '.join(missing)}"


def test_the_analysis_sees_both_kinds_of_assertion(tmp_path):
    """The static analysis itself: a file with only a passing assertion has no failing evidence."""
    demo = tmp_path / "demo.py"
    demo.write_text("from pedagogy_lib.exercises import ch04_objectives as c\n"
                    "def test_a():\n    res = c.gaussian_kl(1.0)\n    assert res and 'x' in str(res)\n"
                    "def test_b():\n    assert not c.ml_estimate(1.0, -2.0)\n"
                    "def test_c():\n    assert not c.marble_entropies(None)\n", encoding="utf-8")
    assert _evidence(demo, "ch04_objectives") == ({"gaussian_kl"}, {"ml_estimate"})


def test_raise_if_wrong_returns_a_passing_result_and_raises_on_a_wrong_one():
    ok = CheckResult("demo", [])
    assert ok.raise_if_wrong() is ok
    wrong = CheckResult("demo", ["your answer has the wrong sign."])
    with pytest.raises(AnswerNotAccepted, match="wrong sign") as info:
        wrong.raise_if_wrong()
    assert isinstance(info.value, AssertionError)       # nbgrader scores any error as a failed test
    with pytest.raises(AnswerNotAccepted, match="None"):
        ch04_objectives.gaussian_kl(None).raise_if_wrong()
