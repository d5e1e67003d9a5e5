"""Student and instructor editions, nbgrader source notebooks and the exercise catalogue.

Every chapter notebook states its exercises the same way (checked here, so a notebook that
drifts fails loudly instead of leaking a solution):

* a markdown cell holds one ``{exercise}`` directive with a ``:label:`` and, after it, the
  ``{solution}`` directive for that label: optional prose and one fenced ``python`` block whose
  code ends by calling the exercise's checker, e.g. ``check.boundary_point(t_star)``;
* the markdown cell's metadata ``exercise`` says what the catalogue lists:
  ``{"skills": [...], "kind": "computational" | "derivational", "minutes": 15}``;
* the *answer cell* is the first code cell after it that calls that checker: a stub whose
  answers are ``None`` (``my_t_star = None  # your code here``) or a function returning ``None``,
  then the call ``check.boundary_point(my_t_star)``;
* a hidden cell (tag ``remove-cell``) may run the published solutions through their checkers
  again (a *solution check*); it contains solution code, so no edition keeps it.

From this, :func:`write_editions` writes, for every chapter notebook,

* the **student edition**: the ``{solution}`` directives removed and the solution checks
  dropped; everything else (answer stubs, the hidden checks of the library) unchanged;
* the **instructor edition**: the solution's prose shown under each exercise and the answer cell
  replaced by the solution code, which binds the stub's names and calls the checker;
* the **nbgrader source** notebook (one nbgrader assignment per chapter folder): the answer cell
  becomes an autograded answer with the solution between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``, followed by a locked test cell that calls the checker with
  ``.raise_if_wrong()``, worth the points that ``courseware/points.toml`` gives the exercise.

A number a hidden cell computes reaches a solution's prose through MyST-NB's glue
(``{glue:text}`name```, see ``pedagogy_lib.display.prose.glue``). The editions are read outside the
book, so each such role is filled with the value the book shows (:func:`glued_values`): from an
executed copy of the notebook (the book's execution cache; under the test command's short setting,
its own copies), else by executing the notebook here. A role whose name no output glues stops the
editions.

:func:`catalogue_markdown` is the book's exercise catalogue (``book/exercises.md``, filled in at
every build by ``_ext/exercise_catalogue.py``).

Run as ``python -m courseware.editions [--out DIR]`` (``python3 tasks.py editions``).
"""
from __future__ import annotations

import argparse
import ast
import copy
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Callable, NamedTuple

if __package__ in (None, ""):                     # run as a script: python courseware/editions.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from courseware.plain import (EXERCISE_RE, SOLUTION_RE, book_macros, glue_keys, markdown_anchors,  # noqa: E402
                              plain_notebook, read_bibliography, site_url, statement_text)

ROOT = Path(__file__).resolve().parent.parent
POINTS_FILE = ROOT / "courseware" / "points.toml"
KINDS = ("computational", "derivational")
#: At most this many functions an exercise names as the ones its graded code may not call.
MAX_NAMED = 3

_CODE_FENCE_RE = re.compile(r"^```python[ \t]*\n(?P<code>.*?)^```[ \t]*\n?", re.M | re.S)
_IMPORT_RE = re.compile(r"^from pedagogy_lib\.exercises import (?P<module>\w+) as (?P<alias>\w+)", re.M)


class NotebookFormatError(ValueError):
    """A chapter notebook does not follow the exercise layout described in the module docstring."""


class Exercise(NamedTuple):
    """One exercise of a chapter notebook, with everything the editions and the catalogue need."""

    label: str
    notebook: str            # path relative to the repository root, e.g. chapters/ch04_.../4_1_....ipynb
    section: str             # the notebook's title, e.g. "4.1-4.2 Learning as optimization: ..."
    exercise_cell: int       # index of the markdown cell with the exercise and its solution
    answer_cell: int         # index of the stub cell
    checker_module: str      # e.g. "ch04_objectives" (pedagogy_lib.exercises.<module>)
    alias: str               # the notebook's name for it, e.g. "check"
    checker: str             # the checker function, e.g. "gaussian_kl"
    statement: str           # the body of the exercise directive
    solution_prose: str
    solution_code: str
    stub: str                # the answer cell as the book has it
    answer_code: str         # the solution, ending by binding the stub's answer names
    call: str                # the stub's checker call, e.g. "check.gaussian_kl(my_kl)"
    stub_setup: str          # stub lines that are not answers (e.g. "print(check.EX_SIZES)")
    skills: tuple
    kind: str
    minutes: int
    not_allowed: tuple = ()  # the library (or page) functions graded code may not call: the exercise itself

    @property
    def chapter_dir(self) -> str:
        return Path(self.notebook).parent.name

    @property
    def call_args(self) -> str:
        return self.call[self.call.index("(") + 1: self.call.rindex(")")]


class ChapterNotebook(NamedTuple):
    path: Path
    nb: dict
    exercises: list          # of Exercise
    solution_checks: list    # indices of the hidden cells that re-run the solutions


def _src(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _set_src(cell: dict, text: str) -> None:
    lines = text.splitlines(keepends=True)
    cell["source"] = lines


def chapter_notebooks(root: Path = ROOT) -> list[Path]:
    """The chapter notebooks in the order of the table of contents (then any others, sorted)."""
    listed = re.findall(r"file:\s*(chapters/\S+)", (root / "_toc.yml").read_text(encoding="utf-8"))
    ordered = [root / f"{f}.ipynb" for f in listed if (root / f"{f}.ipynb").exists()]
    others = sorted(p for p in (root / "chapters").rglob("*.ipynb")
                    if ".ipynb_checkpoints" not in p.parts and p not in ordered)
    return ordered + others


def _call_of(stmt: ast.stmt, alias: str) -> ast.Call | None:
    """The call ``alias.fn(...)`` if ``stmt`` is exactly such an expression statement."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        f = stmt.value.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == alias:
            return stmt.value
    return None


def _calls_checker(code: str, alias: str, names: set[str]) -> bool:
    """Whether ``code`` calls ``alias.<one of names>(`` (one scan of the code for all the names)."""
    return bool(names) and re.search(rf"\b{re.escape(alias)}\.(?:{'|'.join(map(re.escape, sorted(names)))})\(",
                                     code) is not None


def _lines(code: str, stmt: ast.stmt) -> list[str]:
    return code.splitlines()[stmt.lineno - 1: stmt.end_lineno]


def _is_none(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and node.value is None:
        return True
    return isinstance(node, ast.Tuple) and all(_is_none(e) for e in node.elts)


def _target_names(node: ast.expr) -> set[str] | None:
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Tuple) and all(isinstance(e, ast.Name) for e in node.elts):
        return {e.id for e in node.elts}
    return None


def _where(path: Path, label: str) -> str:
    return f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}, exercise {label}"


def _answer_code(path: Path, label: str, alias: str, solution: str, checker: str, stub_args: list[str]) -> str:
    """The solution code with its checker call replaced by assignments to the stub's names."""
    tree = ast.parse(solution)
    for stmt in tree.body:
        call = _call_of(stmt, alias)
        if call is not None and call.func.attr == checker:
            break
    else:
        raise NotebookFormatError(f"{_where(path, label)}: the solution never calls {alias}.{checker}(...)")
    if call.keywords or len(call.args) != len(stub_args):
        raise NotebookFormatError(f"{_where(path, label)}: the solution's {alias}.{checker} call does not "
                                  f"take the stub's {len(stub_args)} positional answers")
    binds = []
    for name, arg in zip(stub_args, call.args):
        expr = ast.get_source_segment(solution, arg)
        if expr != name:
            binds.append(f"{name} = {expr}")
    lines = solution.splitlines()
    new = lines[: stmt.lineno - 1] + binds + lines[stmt.end_lineno:]
    return "\n".join(new).strip("\n")


def _parse_stub(path: Path, label: str, alias: str, stub: str, checker: str) -> tuple[list[str], str, str]:
    """(answer names, setup lines, the call line) of a stub cell; checks that it is a stub."""
    tree = ast.parse(stub)
    calls = [s for s in tree.body if (c := _call_of(s, alias)) is not None and c.func.attr == checker]
    if len(calls) != 1 or calls[0] is not tree.body[-1]:
        raise NotebookFormatError(f"{_where(path, label)}: the answer cell must end with its one "
                                  f"{alias}.{checker}(...) call")
    call = calls[0].value
    if call.keywords or not all(isinstance(a, ast.Name) for a in call.args):
        raise NotebookFormatError(f"{_where(path, label)}: the stub's checker call must pass plain names")
    names = [a.id for a in call.args]
    setup, answered = [], set()
    for stmt in tree.body[:-1]:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and _is_none(stmt.value) \
                and (t := _target_names(stmt.targets[0])) and t <= set(names):
            answered |= t
        elif isinstance(stmt, ast.FunctionDef) and stmt.name in names:
            body = [s for s in stmt.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            if not (len(body) == 1 and isinstance(body[0], ast.Return) and _is_none(body[0].value)):
                raise NotebookFormatError(f"{_where(path, label)}: the stub function {stmt.name} must return None")
            answered.add(stmt.name)
        else:
            setup.extend(_lines(stub, stmt))
    if answered != set(names):
        raise NotebookFormatError(f"{_where(path, label)}: the stub must set {sorted(set(names) - answered)} "
                                  "to None (or define it as a function returning None)")
    return names, "\n".join(setup), "\n".join(_lines(stub, calls[0]))


def _meta(path: Path, label: str, cell: dict) -> tuple[tuple, str, int, tuple]:
    meta = cell.get("metadata", {}).get("exercise")
    if not isinstance(meta, dict):
        raise NotebookFormatError(f"{_where(path, label)}: the markdown cell has no 'exercise' metadata "
                                  "(skills, kind, minutes)")
    skills, kind, minutes = meta.get("skills"), meta.get("kind"), meta.get("minutes")
    if not (isinstance(skills, list) and skills and all(isinstance(s, str) and s for s in skills)):
        raise NotebookFormatError(f"{_where(path, label)}: metadata 'skills' must be a non-empty list of words")
    if kind not in KINDS:
        raise NotebookFormatError(f"{_where(path, label)}: metadata 'kind' must be one of {KINDS}; got {kind!r}")
    if not (isinstance(minutes, int) and 0 < minutes <= 240):
        raise NotebookFormatError(f"{_where(path, label)}: metadata 'minutes' must be a whole number of minutes")
    named = meta.get("not_allowed", [])
    if not (isinstance(named, list) and len(named) <= MAX_NAMED and all(isinstance(n, str) and n for n in named)):
        raise NotebookFormatError(f"{_where(path, label)}: metadata 'not_allowed' must be a list of at most "
                                  f"{MAX_NAMED} function names; got {named!r}")
    return tuple(skills), kind, minutes, tuple(named)


@functools.lru_cache(maxsize=8192)
def _names(code: str) -> tuple[frozenset[str], frozenset[str]]:
    """The names a cell's code binds at its top level and the names it reads (both empty when it does not
    parse, e.g. a cell of magics). Remembered per code text: a notebook is read many times in one run (each
    edition, the catalogue, the points table), and parsing its every code cell each time was most of the
    cost of reading it."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return frozenset(), frozenset()
    bound, read = set(), set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).partition(".")[0] for a in stmt.names}
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name):
                if isinstance(n.ctx, ast.Load):
                    read.add(n.id)
                elif isinstance(n.ctx, ast.Store) and not isinstance(
                        stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
                    bound.add(n.id)
    return frozenset(bound), frozenset(read)


def _with_cells_reading_them(cells: list[dict], checks: list[int], answer_cells: set[int]) -> list[int]:
    """``checks`` (the hidden cells that call a checker) and the later hidden cells that read a name one
    of them binds, and so on: such a cell goes with them, since without them it would fail. A check that
    calls a function its exercise names sits in a cell of its own after the checker's, because the checker
    reads the code of its own cell for such calls (``pedagogy_lib.exercises.checker``)."""
    kept = set(checks)
    if not kept:
        return []
    code = [j for j, c in enumerate(cells) if c["cell_type"] == "code"]
    # the names that only the checks bind (not the page's imports, say, which a check may repeat)
    elsewhere = set().union(*(_names(_src(cells[j]))[0] for j in code if j not in kept))
    bound = set().union(*(_names(_src(cells[j]))[0] for j in kept)) - elsewhere
    for j, c in enumerate(cells):
        if j in kept or j in answer_cells or c["cell_type"] != "code" or j < min(kept) \
                or "remove-cell" not in c.get("metadata", {}).get("tags", []):
            continue
        binds, reads = _names(_src(c))
        if reads & bound:
            kept.add(j)
            bound |= binds - elsewhere
    return sorted(kept)


def read_notebook(path: Path, *, require_meta: bool = True) -> ChapterNotebook:
    """Parse a chapter notebook's exercises (see the module docstring for the layout)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    imports = [m for c in cells if c["cell_type"] == "code" for m in _IMPORT_RE.finditer(_src(c))]
    module, alias = (imports[0].group("module"), imports[0].group("alias")) if imports else ("", "check")
    title = next((line[2:].strip() for c in cells if c["cell_type"] == "markdown"
                  for line in _src(c).splitlines() if line.startswith("# ")), path.stem)
    exercises, answer_cells = [], set()
    ex_cells = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and EXERCISE_RE.search(_src(c))]
    for n, i in enumerate(ex_cells):
        text = _src(cells[i])
        found = list(EXERCISE_RE.finditer(text))
        label_m = re.search(r"^:label:\s*(\S+)", found[0].group("body"), re.M)
        label = label_m.group(1) if label_m else "?"
        if len(found) != 1 or not label_m:
            raise NotebookFormatError(f"{_where(path, label)}: one labelled exercise per markdown cell")
        statement = statement_text(found[0].group("body"))
        sols = [m for m in SOLUTION_RE.finditer(text) if m.group("label") == label]
        if len(sols) != 1:
            raise NotebookFormatError(f"{_where(path, label)}: needs exactly one solution directive in its cell")
        body = sols[0].group("body")
        fences = list(_CODE_FENCE_RE.finditer(body))
        if len(fences) != 1:
            raise NotebookFormatError(f"{_where(path, label)}: the solution needs exactly one ```python block")
        solution_code = fences[0].group("code").rstrip("\n")
        prose = _CODE_FENCE_RE.sub("", body)
        prose = "\n".join(ln for ln in prose.splitlines() if not re.match(r"^:\w+:", ln)).strip()
        end = ex_cells[n + 1] if n + 1 < len(ex_cells) else len(cells)
        answer = None
        for j in range(i + 1, end):
            if cells[j]["cell_type"] != "code":
                continue
            tree = ast.parse(_src(cells[j]))
            calls = [c for s in tree.body if (c := _call_of(s, alias)) is not None]
            if calls:
                answer = j
                break
        if answer is None:
            raise NotebookFormatError(f"{_where(path, label)}: no answer cell calls a checker after the exercise")
        stub = _src(cells[answer])
        checker = calls[-1].func.attr
        names, setup, call = _parse_stub(path, label, alias, stub, checker)
        answer_code = _answer_code(path, label, alias, solution_code, checker, names)
        skills, kind, minutes, named = _meta(path, label, cells[i]) if require_meta else ((), KINDS[0], 1, ())
        exercises.append(Exercise(label, path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path),
                                  title, i, answer, module, alias, checker, statement.strip(), prose,
                                  solution_code, stub, answer_code, call, setup, skills, kind, minutes, named))
        answer_cells.add(answer)
    checkers = {e.checker for e in exercises}
    solution_checks = [j for j, c in enumerate(cells) if c["cell_type"] == "code" and j not in answer_cells
                       and _calls_checker(_src(c), alias, checkers)]
    solution_checks = _with_cells_reading_them(cells, solution_checks, answer_cells)
    for j in solution_checks:
        if "remove-cell" not in cells[j].get("metadata", {}).get("tags", []):
            raise NotebookFormatError(f"{path}: cell {j} calls an exercise checker outside an answer cell "
                                      "but is not a hidden (remove-cell) solution check")
    return ChapterNotebook(path, nb, exercises, solution_checks)


def all_exercises(root: Path = ROOT) -> list[Exercise]:
    return [e for p in chapter_notebooks(root) for e in read_notebook(p).exercises]


# --- the three editions -------------------------------------------------------------------------


def _without_solution(text: str, label: str) -> str:
    out = SOLUTION_RE.sub(lambda m: "" if m.group("label") == label else m.group(0), text)
    return re.sub(r"\n{3,}", "\n\n", out).strip("\n")


def _with_inline_solution(text: str, ex: Exercise) -> str:
    def inline(m: re.Match) -> str:
        if m.group("label") != ex.label:
            return m.group(0)
        fence = m.group("fence")
        if not ex.solution_prose:
            return (f"{fence}{{solution}} {ex.label}\n**Grading the written part.** {written_rubric(ex)}\n{fence}\n"
                    if written_question(ex) else "")
        rubric = f"\n\n**Grading the written part.** {written_rubric(ex)}" if written_question(ex) else ""
        return (f"{fence}{{solution}} {ex.label}\n{ex.solution_prose}\n\nThe answer cell below runs the reference "
                f"solution.{rubric}\n{fence}\n")
    return re.sub(r"\n{3,}", "\n\n", SOLUTION_RE.sub(inline, text)).strip("\n")


def _code_cell(source: str, metadata: dict | None = None, cell_id: str | None = None) -> dict:
    cell = {"cell_type": "code", "execution_count": None, "metadata": metadata or {}, "outputs": [], "source": []}
    if cell_id:
        cell["id"] = cell_id
    _set_src(cell, source)
    return cell


def instructor_answer(ex: Exercise) -> str:
    """The instructor edition's answer cell: the solution, binding the stub's names, then the call."""
    parts = [ex.stub_setup, ex.answer_code, ex.call]
    return "\n".join(p for p in parts if p)


def nbgrader_answer(ex: Exercise) -> str:
    """The nbgrader answer cell: the stub's lines, the solution between nbgrader's markers, the call."""
    stub_lines = ex.stub.rstrip("\n").splitlines()
    head = "\n".join(stub_lines[: len(stub_lines) - len(ex.call.splitlines())]).rstrip("\n")
    return f"{head}\n### BEGIN SOLUTION\n{ex.answer_code}\n### END SOLUTION\n{ex.call}"


def answer_names(ex: Exercise) -> list[str]:
    """The names the stub's checker call passes, in order (``["X", "w"]`` for ``check.f(X, w)``)."""
    return [a.strip() for a in ex.call_args.split(",") if a.strip()]


def nbgrader_test(ex: Exercise) -> str:
    """The locked test cell: a visible check on the book's data, then the hidden summative test.

    The hidden part (between nbgrader's HIDDEN TESTS markers, so the release lacks it) names the
    exercise for ``grading/msl_grading.py``, which grades it outside the student's kernel, and the
    functions the exercise names as the ones its graded code may not call (its ``not_allowed``).
    """
    spec = json.dumps({"label": ex.label, "module": ex.checker_module, "checker": ex.checker,
                       "names": answer_names(ex), "not_allowed": list(ex.not_allowed)})
    return (f"# Test of exercise {ex.label}. Run it to check your answer on the book's data; after you submit,\n"
            f"# your answer cell is run again and graded on data of your own, outside this notebook.\n"
            f"from pedagogy_lib.exercises import {ex.checker_module} as _grader\n"
            f"_grader.{ex.checker}({ex.call_args}).raise_if_wrong()\n"
            f"### BEGIN HIDDEN TESTS\n"
            f"# summative: {spec}\n"
            f"# graded outside this kernel by grading/msl_grading.py\n"
            f"### END HIDDEN TESTS")


#: Points of the written part of an exercise (graded by hand in formgrader).
WRITTEN_POINTS = 1
_QUESTION_RE = re.compile(r"[^.?!:]*\b(?:why|explain)\b[^.?!]*[.?!]|[^.?!:]*\?", re.I | re.S)


def written_question(ex: Exercise) -> str:
    """The statement's written part (its questions and requests to explain), or "" if it has none."""
    found = [m.group(0).strip() for m in _QUESTION_RE.finditer(ex.statement)]
    return " ".join(" ".join(q.split()) for q in found if q)


def written_rubric(ex: Exercise) -> str:
    prose = " ".join(ex.solution_prose.split())
    return (f"Rubric ({WRITTEN_POINTS} point): full marks for an answer that says, in the student's words, what "
            f"this does: {prose}" if prose else
            f"Rubric ({WRITTEN_POINTS} point): full marks for a correct answer with its reason; the answer follows "
            "from the exercise's solution.")


def nbgrader_written(ex: Exercise) -> str:
    return (f"**Written part of exercise {ex.label}.** {written_question(ex)} Answer in this cell.\n\n"
            f"### BEGIN SOLUTION\n{written_rubric(ex)}\n### END SOLUTION")


def _strip_outputs(nb: dict) -> dict:
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
    return nb


def student_edition(ch: ChapterNotebook) -> dict:
    nb = copy.deepcopy(ch.nb)
    for ex in ch.exercises:
        _set_src(nb["cells"][ex.exercise_cell], _without_solution(_src(nb["cells"][ex.exercise_cell]), ex.label))
    nb["cells"] = [c for j, c in enumerate(nb["cells"]) if j not in ch.solution_checks]
    return _strip_outputs(nb)


def instructor_edition(ch: ChapterNotebook) -> dict:
    nb = copy.deepcopy(ch.nb)
    for ex in ch.exercises:
        cell = nb["cells"][ex.exercise_cell]
        _set_src(cell, _with_inline_solution(_src(cell), ex))
        _set_src(nb["cells"][ex.answer_cell], instructor_answer(ex))
    nb["cells"] = [c for j, c in enumerate(nb["cells"]) if j not in ch.solution_checks]
    return _strip_outputs(nb)


def nbgrader_source(ch: ChapterNotebook, points: dict) -> dict:
    nb = student_edition(ch)                       # the student edition's cells, minus the solution checks
    removed = sorted(ch.solution_checks)
    shift = {ex.label: sum(1 for j in removed if j < ex.answer_cell) for ex in ch.exercises}
    inserted = 0
    for ex in ch.exercises:
        k = ex.answer_cell - shift[ex.label] + inserted
        cell = nb["cells"][k]
        _set_src(cell, nbgrader_answer(ex))
        cell["metadata"] = dict(cell.get("metadata", {}), nbgrader={
            "grade": False, "grade_id": f"{ex.label}-answer", "locked": False, "schema_version": 3,
            "solution": True, "task": False})
        test = _code_cell(nbgrader_test(ex), {"nbgrader": {
            "grade": True, "grade_id": f"{ex.label}-test", "locked": True, "points": points[ex.label],
            "schema_version": 3, "solution": False, "task": False}, "tags": ["autograder-test"]},
            cell_id="test-" + hashlib.sha1(ex.label.encode()).hexdigest()[:12])
        nb["cells"].insert(k + 1, test)
        inserted += 1
        if written_question(ex):
            written = {"cell_type": "markdown", "id": "written-" + hashlib.sha1(ex.label.encode()).hexdigest()[:12],
                       "metadata": {"nbgrader": {"grade": True, "grade_id": f"{ex.label}-written", "locked": False,
                                                 "points": WRITTEN_POINTS, "schema_version": 3, "solution": True,
                                                 "task": False}}, "source": []}
            _set_src(written, nbgrader_written(ex))
            nb["cells"].insert(k + 2, written)
            inserted += 1
    return nb


# --- glued values ---------------------------------------------------------------------------------

#: The execution cache of the book's build (``python3 tasks.py book``): notebooks executed as the
#: published book runs them, keyed by the hash of their code.
BOOK_CACHE = ROOT / "_build" / ".jupyter_cache"
#: The test command's executed notebooks: as nbval ran them (at their paths in the checkout), and its
#: build's cache. They ran the pages that train with their short setting (``PEDAGOGY_FAST=1``).
TEST_COPIES = (ROOT / "_build" / "nbval-executed", ROOT / "_build" / "test" / "_build" / ".jupyter_cache")


def executed_copies() -> tuple[Path, ...]:
    """Where executed notebooks that ran as the editions are made now may be: the test command's copies
    under its short setting (``pedagogy_lib.core.budget.fast``), the book's cache otherwise, so that a
    number a training page computes is the one the book (or the test command's site) shows."""
    from pedagogy_lib.core.budget import fast

    return TEST_COPIES if fast() else (BOOK_CACHE,)


def glue_names(nb: dict) -> set[str]:
    """The names that the glue roles of a notebook's markdown cells paste."""
    return {k for c in nb["cells"] if c["cell_type"] == "markdown" for k in glue_keys(_src(c))}


def glued_outputs(executed: dict) -> dict[str, dict]:
    """Name -> data (MIME type -> value) of every value an executed notebook glued: the display outputs
    that ``myst_nb.glue`` writes with ``scrapbook`` metadata (their MIME types carry a prefix when the
    value was not displayed)."""
    found = {}
    for cell in executed["cells"]:
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            meta = (out.get("metadata") or {}).get("scrapbook")
            if isinstance(meta, dict) and "name" in meta:
                prefix = meta.get("mime_prefix") or ""
                found[meta["name"]] = {k[len(prefix):]: v for k, v in (out.get("data") or {}).items()
                                       if k.startswith(prefix)}
    return found


def _code(nb: dict) -> list[str]:
    return [_src(c) for c in nb["cells"] if c["cell_type"] == "code"]


def executed_copy(path: Path, copies=None) -> dict | None:
    """An executed copy of the notebook ``path`` whose code is the notebook's code now, from the first of
    ``copies`` (default :func:`executed_copies`) that holds one (a jupyter-cache folder, matched by the
    hash of the code, or a folder of executed notebooks at their paths in the checkout); ``None`` if none
    does."""
    import nbformat

    copies = executed_copies() if copies is None else copies
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    for where in map(Path, copies):
        if (where / "global.db").is_file():
            from jupyter_cache import get_cache

            cache = get_cache(str(where))
            try:
                return json.loads(nbformat.writes(cache.get_cache_bundle(cache.match_cache_notebook(nb).pk).nb))
            except KeyError:
                continue
        copy_ = where / path.relative_to(ROOT) if path.is_relative_to(ROOT) else None
        if copy_ is not None and copy_.is_file():
            try:
                found = json.loads(copy_.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue                      # being written: the next place, or an execution
            if _code(found) == _code(nb):
                return found
    return None


def execute_notebook(nb: dict, path: Path, timeout: int | None = None) -> dict:
    """``nb`` executed as the book's build executes the notebook ``path`` (in its folder, each cell
    within the build's timeout: ``tools/execute_notebooks.py``, which the build's first step is); a cell
    that fails raises :class:`NotebookFormatError` naming it."""
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("execute_notebooks", ROOT / "tools" / "execute_notebooks.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    node = nbformat.reads(json.dumps(nb), as_version=4)
    result = runner.run_like_the_build(node, str(Path(path).resolve().parent),
                                       runner.cell_timeout() if timeout is None else timeout)
    if result.err is not None:
        raise NotebookFormatError(f"{path}: executing it for its glued values failed: "
                                  f"{type(result.err).__name__}: {str(result.err)[:600]}")
    return json.loads(nbformat.writes(node))


def glued_values(path: Path, nb: dict, copies=None, execute: bool = True) -> dict[str, dict]:
    """Name -> glued data for every glue role in the markdown of ``nb`` (the chapter notebook ``path``):
    from an executed copy (:func:`executed_copy`, in ``copies``, default :func:`executed_copies`), else,
    if ``execute``, from executing the notebook here. A name that the executed notebook does not glue
    raises :class:`NotebookFormatError`."""
    names = glue_names(nb)
    if not names:
        return {}
    copies = executed_copies() if copies is None else copies
    executed = executed_copy(path, copies)
    if executed is None and execute:
        executed = execute_notebook(nb, path)
    if executed is None:
        raise NotebookFormatError(f"{path}: its Markdown pastes glued values ({', '.join(sorted(names))}) and "
                                  f"no executed copy of it was found in {', '.join(map(str, copies)) or 'no folder'}")
    found = glued_outputs(executed)
    missing = sorted(names - set(found))
    if missing:
        raise NotebookFormatError(f"{path}: glue roles name {', '.join(missing)}, which no output of the executed "
                                  "notebook glues")
    return {name: found[name] for name in names}


def _glued_of(path: Path) -> dict[str, dict]:
    return glued_values(path, json.loads(Path(path).read_text(encoding="utf-8")))


def glued_table(paths: list[Path], workers: int | None = None) -> dict[Path, dict]:
    """:func:`glued_values` of each notebook of ``paths`` (resolved path -> values), the notebooks that
    glue values computed ``workers`` at a time (default: one per core), since those without an executed
    copy are executed."""
    from concurrent.futures import ProcessPoolExecutor

    resolved = [Path(p).resolve() for p in paths]
    gluing = [p for p in resolved if glue_names(json.loads(p.read_text(encoding="utf-8")))]
    table = {p: {} for p in resolved}
    if gluing:
        with ProcessPoolExecutor(max_workers=min(len(gluing), workers or os.cpu_count() or 1)) as pool:
            for p, values in zip(gluing, pool.map(_glued_of, gluing)):
                table[p] = values
    return table


# --- points ---------------------------------------------------------------------------------------

_POINTS_HEADER = """\
# Points per exercise in the nbgrader source notebooks that `python3 tasks.py editions` writes.
# Edit the numbers (0 leaves an exercise ungraded). An exercise added to a notebook later is
# appended here with 1 point the next time the command runs; a label that no notebook has is an error.
[points]
"""


def load_points(exercises: list[Exercise], path: Path = POINTS_FILE, *, update: bool = True) -> dict:
    """Points per exercise label; creates the table (1 point each) or appends new labels."""
    labels = [e.label for e in exercises]
    if path.exists():
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("points", {})
    else:
        table = {}
        if update:
            path.write_text(_POINTS_HEADER, encoding="utf-8")
    unknown = sorted(set(table) - set(labels))
    if unknown:
        raise ValueError(f"{path}: no notebook has the exercise(s) {unknown}")
    for label, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{path}: points of {label} must be a number >= 0; got {value!r}")
    missing = [lab for lab in labels if lab not in table]
    if missing and update:
        with path.open("a", encoding="utf-8") as f:
            f.writelines(f'"{lab}" = 1\n' for lab in missing)
    return {lab: table.get(lab, 1) for lab in labels}


# --- writing everything -----------------------------------------------------------------------------

NBGRADER_CONFIG = """\
# nbgrader configuration of this course folder (written by `python3 tasks.py editions`).
# Assignments are the folders under source/: one per chapter (e.g. ch07_learning_invertible_models)
# and one per section notebook (e.g. 7_1_gmm_kmeans). Run nbgrader commands from this folder.
import os
import sys

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "msl-companion"
# The released answer cell keeps the book's stub (my_answer = None  # your code here) and the
# checker call; the solution between the markers is replaced by nothing.
c.ClearSolutions.code_stub = {"python": ""}
# Test cells a student deleted are put back (edited ones are always restored); grading/ flags both.
c.OverwriteCells.add_missing_cells = True

# Grading: grading/msl_grading.py (a copy of the book's courseware/grading.py) runs each answer in a
# sandboxed process and writes every test cell's verdict. No kernel runs the submitted notebooks (nbgrader's
# Execute step is left out), so no student code runs outside the sandbox, and the autograded notebooks
# keep the outputs as submitted (nbgrader's ClearOutput step is left out too); no score depends on them.
# A flagged exercise (tampering, an edited or deleted test cell) is marked as needing a manual grade.
# The release contains neither this file nor grading/.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "grading"))
from msl_grading import MarkFlaggedForReview, OverwriteReleasedCells, SummativeGrader  # noqa: E402
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, DeduplicateIds,  # noqa: E402
                                    IgnorePattern, LimitOutput, OverwriteKernelspec, SaveAutoGrades)

c.Autograde.sanitize_preprocessors = [DeduplicateIds, OverwriteKernelspec, OverwriteReleasedCells, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [SummativeGrader, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, MarkFlaggedForReview, AssignLatePenalties, CheckCellMetadata]
"""


def _dump(nb: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_editions(out: Path, root: Path = ROOT, points_file: Path = POINTS_FILE,
                   notebooks: list[Path] | None = None, *, update_points: bool = True,
                   glued: Callable[[Path, dict], dict] = glued_values) -> dict:
    """Write out/student, out/instructor and the nbgrader course out/nbgrader; return a summary.

    ``notebooks`` restricts the editions to some chapter notebooks (all by default);
    ``update_points=False`` reads the points table without creating or extending it; ``glued(path, nb)``
    gives the values of a notebook's glue roles (default :func:`glued_values`).
    """
    chapters = [read_notebook(p) for p in (notebooks or chapter_notebooks(root))]
    everything = [e for p in chapter_notebooks(root) for e in read_notebook(p).exercises] \
        if notebooks else [e for ch in chapters for e in ch.exercises]
    points = load_points(everything, points_file, update=update_points)
    course = out / "nbgrader"
    for sub in ("student", "instructor", "nbgrader/source", "nbgrader/grading"):
        shutil.rmtree(out / sub, ignore_errors=True)
    # Every edition is read outside the book (plain Jupyter, nbgrader), so its Markdown is made
    # plain: exercises and directives as Markdown, links to book pages pointing at the published site.
    book = {"root": root, "refs": read_bibliography(root / "book" / "references.bib"),
            "macros": book_macros(root), "site": site_url(root), "anchors": markdown_anchors(root)}
    for ch in chapters:
        rel = ch.path.relative_to(root / "chapters")
        values = glued(ch.path, ch.nb)                   # the numbers the book shows in its glue roles
        _dump(plain_notebook(student_edition(ch), ch.path, glued=values, **book), out / "student" / rel)
        _dump(plain_notebook(instructor_edition(ch), ch.path, solutions=True, glued=values, **book),
              out / "instructor" / rel)
        # an assignment holds one notebook: links to the others lead to their published pages
        source = plain_notebook(nbgrader_source(ch, points), ch.path, notebooks_beside=False, glued=values, **book)
        _dump(source, course / "source" / rel)                           # the chapter's assignment
        _dump(source, course / "source" / ch.path.stem / ch.path.name)  # the section's assignment
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(NBGRADER_CONFIG, encoding="utf-8")
    (course / "grading").mkdir(exist_ok=True)
    shutil.copyfile(Path(__file__).with_name("grading.py"), course / "grading" / "msl_grading.py")
    return {"notebooks": len(chapters), "exercises": sum(len(ch.exercises) for ch in chapters),
            "points": sum(points[e.label] for ch in chapters for e in ch.exercises)}


# --- the catalogue ---------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


TIMINGS_FILE = ROOT / "courseware" / "timings.toml"


def timed_minutes(measured: float, scale: float) -> int:
    """The catalogue's minutes for an exercise timed at ``measured`` minutes: ``scale * measured`` rounded,
    at least one (``courseware/timings.toml`` holds both numbers and says where the scale comes from)."""
    return max(1, int(scale * measured + 0.5))


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{minutes} min" if not hours else f"{hours} h" + (f" {rest} min" if rest else "")


def catalogue_markdown(root: Path = ROOT) -> str:
    """The exercise catalogue: one table per chapter folder, one row per exercise, in book order."""
    exercises = all_exercises(root)
    by_chapter: dict[str, list[Exercise]] = {}
    for e in exercises:
        by_chapter.setdefault(e.chapter_dir, []).append(e)
    total = sum(e.minutes for e in exercises)
    out = [f"{len(exercises)} exercises in {len(by_chapter)} chapters, about {_duration(total)} in all "
           f"({sum(e.kind == 'computational' for e in exercises)} computational, "
           f"{sum(e.kind == 'derivational' for e in exercises)} derivational).", ""]
    for chapter, exs in by_chapter.items():
        index = root / "chapters" / chapter / "index.md"
        heading = (index.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
                   if index.exists() else exs[0].section)
        out += [f"## {heading}", "",
                f"{len(exs)} exercises, about {_duration(sum(e.minutes for e in exs))} in all.", "",
                "| Exercise | Section | Skills practised | Kind | Time |",
                "|---|---|---|---|---|"]
        for e in exs:
            page = "../" + e.notebook            # the page is book/exercises.md
            out.append(f"| {{ref}}`{e.label}` | [{_cell(e.section)}]({page}) | {_cell(', '.join(e.skills))} "
                       f"| {e.kind} | {e.minutes} min |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "editions",
                        help="folder to write student/, instructor/ and nbgrader/ into (default: _build/editions)")
    args = parser.parse_args(argv)
    # The glue roles show the book's values: from its cache, or the notebooks executed as its build runs
    # them (in parallel, first; under the test command's PEDAGOGY_FAST=1, the test site's values).
    os.environ.setdefault("PEDAGOGY_STATIC_WIDGETS", "1")
    try:
        table = glued_table(chapter_notebooks())
        summary = write_editions(args.out.resolve(), glued=lambda path, nb: table[Path(path).resolve()])
    except (NotebookFormatError, ValueError) as exc:
        print(f"editions: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {summary['notebooks']} notebooks ({summary['exercises']} exercises, {summary['points']} points) "
          f"in three editions under {args.out}: student/, instructor/, nbgrader/source/ "
          f"(points from {POINTS_FILE.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
