"""Each exercise's rules: one short line, written from its metadata, linking the rules page."""
from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import re
from pathlib import Path

import pytest

from courseware import editions as E

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = E.all_exercises()
RULES_PAGE = ROOT / "book" / "grading_rules.md"


def _sync_tool():
    spec = importlib.util.spec_from_file_location("sync_exercise_rules", ROOT / "tools" / "sync_exercise_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rules_lines(statement: str) -> list[str]:
    return [ln for ln in statement.splitlines() if ln.startswith(("Not allowed", "[Rules for graded answers]"))]


def test_statements_and_the_checkers_copy_follow_the_metadata(capsys):
    assert _sync_tool().main(["--check"]) == 0, capsys.readouterr().out


def test_every_statement_ends_with_one_short_rules_line_that_links_the_rules_page():
    assert RULES_PAGE.exists() and "book/grading_rules" in (ROOT / "_toc.yml").read_text(encoding="utf-8")
    for ex in EXERCISES:
        lines = _rules_lines(ex.statement)
        assert len(lines) == 1 and ex.statement.rstrip().endswith(lines[0]), (ex.label, lines)
        assert "(../../book/grading_rules.md)" in lines[0], ex.label
        assert len(lines[0]) <= 250, (ex.label, len(lines[0]))
        assert len(re.findall(r"`[^`]+`", lines[0])) == len(ex.not_allowed) <= E.MAX_NAMED, ex.label
        assert "Graded code may use" not in ex.statement, ex.label


def test_the_rules_take_a_small_share_of_the_statements():
    rules = sum(len(_rules_lines(ex.statement)[0]) for ex in EXERCISES)
    total = sum(len(ex.statement) for ex in EXERCISES)
    assert rules / total < 0.25, rules / total


def _defines(notebook: Path, name: str) -> bool:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        try:
            tree = ast.parse("".join(cell["source"]))
        except SyntaxError:
            continue
        if any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name for n in tree.body):
            return True
    return False


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
        return callable(obj)
    return False


@pytest.mark.parametrize("ex", [e for e in EXERCISES if e.not_allowed], ids=lambda e: e.label)
def test_every_named_function_exists(ex):
    for name in ex.not_allowed:
        if "." in name:
            assert _resolves(name), (ex.label, name)
        else:
            assert _defines(ROOT / ex.notebook, name), f"{ex.label}: the page defines no function {name}"


def test_a_bad_not_allowed_entry_is_refused(tmp_path):
    with pytest.raises(E.NotebookFormatError, match="not_allowed"):
        E._meta(tmp_path / "x.ipynb", "ex-x", {"metadata": {"exercise": {
            "skills": ["a"], "kind": "computational", "minutes": 3, "not_allowed": ["a", "b", "c", "d"]}}})
