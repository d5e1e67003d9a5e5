"""The courseware: student and instructor editions, nbgrader source notebooks, the exercise catalogue.

The editions are generated here, in the test run (``courseware.editions.write_editions``), from the
chapter notebooks as they are. What is executed, to keep the test run short (every chapter notebook
is already executed by nbval and by the strict book build):

* the student edition of ``2_2_1_hmm`` (it loses a hidden solution check) and the instructor edition
  of ``5_1_3_neural_networks`` (its solutions use the page's own functions), with nbclient;
* the nbgrader round trip on the chapters with one notebook each, Chapter 4 and Chapter 6:
  ``generate_assignment`` on their source notebooks, then ``autograde`` of three submissions (the
  reference solutions, the untouched release, one wrong answer), so each of those two notebooks
  is executed three more times. It needs nbgrader (``requirements-test.txt``) and is skipped,
  saying so, where nbgrader is not installed.

Every other notebook's editions are checked without being executed: no solution code in the
student edition, every answer cell a stub, every other cell unchanged, the instructor edition's
answer cells running the solution, the nbgrader cells' metadata and points.
"""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from courseware import editions as E

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = E.chapter_notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def _src(cell: dict) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def editions(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("editions")
    summary = E.write_editions(out, update_points=False)
    assert summary["notebooks"] == len(NOTEBOOKS)
    return out


def _edition(editions: Path, kind: str, nb_path: Path) -> dict:
    return _load(editions / kind / nb_path.relative_to(ROOT / "chapters"))


# ----------------------------------------------------------------- independent reading of a notebook
# The solution code is found here with a plain text scan of the notebook, not with the module's
# parser, so a parser that missed part of a solution would not hide a leak from this test.

def _norm(line: str) -> str:
    line = line.strip()
    return "" if line.startswith("#") else re.sub(r"\s+#.*$", "", line)


def _is_solution_check(cell: dict) -> bool:
    """Hidden cells that run the published solutions through their checkers."""
    return cell["cell_type"] == "code" and "remove-cell" in cell["metadata"].get("tags", []) \
        and "check." in _src(cell)


_SOLUTION_BLOCK = re.compile(r"\{solution\}\s*(\S+)(.*?)\n:{3,}", re.S)


def _solution_lines(nb: dict) -> dict[str, list[str]]:
    """Per solution label, the lines of its code that occur nowhere else in the notebook.

    "Elsewhere" is every code cell but the hidden solution checks, and the markdown outside the
    solution directives (an exercise's statement may show the checker call it expects).
    """
    public, sols = [], {}
    for c in nb["cells"]:
        s = _src(c)
        if c["cell_type"] == "code":
            if not _is_solution_check(c):
                public.append(s)
            continue
        public.append(_SOLUTION_BLOCK.sub("", s))
        for m in _SOLUTION_BLOCK.finditer(s):
            code = "\n".join(re.findall(r"```python\n(.*?)```", m.group(2), re.S))
            sols[m.group(1)] = [n for ln in code.splitlines() if len(n := _norm(ln)) >= 8]
    elsewhere = "\n".join(public)
    return {label: [ln for ln in lines if ln not in elsewhere] for label, lines in sols.items()}


# ----------------------------------------------------------------- every notebook, not executed

def test_every_notebook_follows_the_exercise_layout():
    labels = []
    for p in NOTEBOOKS:
        ch = E.read_notebook(p)                         # raises NotebookFormatError with the reason
        assert len(ch.exercises) >= 3, f"{p.name} has {len(ch.exercises)} exercises"
        labels += [e.label for e in ch.exercises]
    assert len(labels) == len(set(labels)), "exercise labels must be unique across the book"


def test_points_table_lists_every_exercise_once():
    table = tomllib.loads(E.POINTS_FILE.read_text(encoding="utf-8"))["points"]
    assert set(table) == {e.label for e in E.all_exercises()}
    assert all(isinstance(v, (int, float)) and v >= 0 for v in table.values())


def test_points_table_is_created_then_extended_not_rewritten(tmp_path):
    exs = E.all_exercises()[:3]
    table = tmp_path / "points.toml"
    assert E.load_points(exs[:2], table) == {exs[0].label: 1, exs[1].label: 1}
    table.write_text(table.read_text().replace(f'"{exs[0].label}" = 1', f'"{exs[0].label}" = 5'))
    assert E.load_points(exs, table) == {exs[0].label: 5, exs[1].label: 1, exs[2].label: 1}
    assert f'"{exs[0].label}" = 5' in table.read_text()
    with pytest.raises(ValueError, match="no notebook has"):
        E.load_points(exs[1:], table)


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=IDS)
def test_student_edition_has_no_solution_code(editions, nb_path):
    original = _load(nb_path)
    student = _edition(editions, "student", nb_path)
    text = "\n".join(_src(c) for c in student["cells"])
    assert "{solution}" not in text
    for label, lines in _solution_lines(original).items():
        assert lines, f"{label}: no line of its solution is distinctive enough to search for"
        leaked = [ln for ln in lines if ln in text]
        assert not leaked, f"{label}: solution code in the student edition: {leaked}"


def test_the_search_finds_every_solution_in_the_book_notebooks():
    """The search above is not vacuous: run on the notebooks themselves, it finds every solution."""
    for nb_path in NOTEBOOKS:
        original = _load(nb_path)
        text = "\n".join(_src(c) for c in original["cells"])
        for label, lines in _solution_lines(original).items():
            assert lines and all(ln in text for ln in lines), label


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=IDS)
def test_student_edition_changes_nothing_but_the_solutions(editions, nb_path):
    original, student = _load(nb_path), _edition(editions, "student", nb_path)
    kept = [c for c in original["cells"] if not _is_solution_check(c)]
    assert len(student["cells"]) == len(kept)
    for before, after in zip(kept, student["cells"]):
        assert before["cell_type"] == after["cell_type"] and before.get("id") == after.get("id")
        assert before["metadata"] == after["metadata"]
        if before["cell_type"] == "markdown" and "{solution}" in _src(before):
            # the exercise statement stays, word for word
            statement = _src(before).split("{solution}")[0].rsplit("\n:", 1)[0]
            assert statement.strip() in _src(after)
        else:
            assert _src(before) == _src(after), f"cell {before.get('id')} changed"
    for e in E.read_notebook(nb_path).exercises:         # the answer cells are the book's stubs
        assert re.search(r"\bNone\b", e.stub), e.label


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=IDS)
def test_instructor_edition_runs_each_solution_in_its_answer_cell(editions, nb_path):
    ch = E.read_notebook(nb_path)
    nb = _edition(editions, "instructor", nb_path)
    sources = [_src(c) for c in nb["cells"]]
    assert "dropdown" not in "\n".join(s for s in sources if "{solution}" in s)
    for e in ch.exercises:
        cell = next(s for s in sources if e.call in s and "None  # your" not in s and e.answer_code in s)
        assert cell.rstrip().endswith(e.call)
        for line in _solution_lines(ch.nb)[e.label]:
            if not line.startswith(f"{e.alias}.{e.checker}("):      # the call is rebound to the stub's names
                assert line in cell, f"{e.label}: solution line missing: {line}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=IDS)
def test_nbgrader_source_marks_answers_and_locked_tests(editions, nb_path):
    points = tomllib.loads(E.POINTS_FILE.read_text(encoding="utf-8"))["points"]
    nb = _load(editions / "nbgrader" / "source" / nb_path.relative_to(ROOT / "chapters"))
    graded = [(i, c) for i, c in enumerate(nb["cells"]) if "nbgrader" in c["metadata"]]
    ch = E.read_notebook(nb_path)
    assert len(graded) == 2 * len(ch.exercises)
    for e in ch.exercises:
        i, answer = next((i, c) for i, c in graded if c["metadata"]["nbgrader"]["grade_id"] == f"{e.label}-answer")
        meta = answer["metadata"]["nbgrader"]
        assert meta["solution"] and not meta["grade"] and not meta["locked"]
        body = _src(answer)
        assert body.index("### BEGIN SOLUTION") < body.index(e.answer_code) < body.index("### END SOLUTION")
        test = nb["cells"][i + 1]
        tmeta = test["metadata"]["nbgrader"]
        assert tmeta["grade_id"] == f"{e.label}-test" and tmeta["grade"] and tmeta["locked"]
        assert tmeta["points"] == points[e.label]
        assert _src(test).rstrip().endswith(f"_grader.{e.checker}({e.call_args}).raise_if_wrong()")
        assert f"from pedagogy_lib.exercises import {e.checker_module} as _grader" in _src(test)


def test_a_notebook_that_breaks_the_layout_is_refused(tmp_path):
    nb = _load(NOTEBOOKS[0])
    ex = E.read_notebook(NOTEBOOKS[0]).exercises[0]
    broken = copy.deepcopy(nb)
    broken["cells"][ex.answer_cell]["source"] = ["my_answer = 42\n", _src(nb["cells"][ex.answer_cell]).splitlines()[-1]]
    path = tmp_path / "broken.ipynb"
    path.write_text(json.dumps(broken))
    with pytest.raises(E.NotebookFormatError, match=ex.label):
        E.read_notebook(path)
    del nb["cells"][ex.exercise_cell]["metadata"]["exercise"]
    path.write_text(json.dumps(nb))
    with pytest.raises(E.NotebookFormatError, match="metadata"):
        E.read_notebook(path)


def test_catalogue_lists_every_exercise_with_its_attributes():
    text = E.catalogue_markdown()
    rows = [ln for ln in text.splitlines() if ln.startswith("| {ref}")]
    exercises = E.all_exercises()
    assert len(rows) == len(exercises)
    for e, row in zip(exercises, rows):
        assert f"{{ref}}`{e.label}`" in row and f"({'../' + e.notebook})" in row
        assert e.kind in row and f"{e.minutes} min" in row and all(s in row for s in e.skills)
    page = (ROOT / "book" / "exercises.md").read_text(encoding="utf-8")
    assert "<!-- exercise catalogue: generated by _ext/exercise_catalogue.py -->" in page
    assert "book/exercises" in (ROOT / "_toc.yml").read_text(encoding="utf-8")


# ----------------------------------------------------------------- a few editions, executed

# ----------------------------------------------------------------- editions that run
# The chapter notebooks themselves run twice in the test command (under nbval and in the strict
# build) and no more. The editions are run here on *exercise sheets*: notebooks made of a chapter's
# title, one import cell and its exercise and answer cells, copied as they are, for exercises
# whose published solution needs nothing from the rest of its chapter (numbers and checkers only).

def _exercise_sheet(nb_path: Path, root: Path, labels: list[str] | None = None) -> Path:
    """``root/chapters/<chapter>/<name>.ipynb``: the chapter notebook's exercises (all, or ``labels``)."""
    chapter = E.read_notebook(nb_path)
    nb = _load(nb_path)
    cells = nb["cells"]
    keep = [e for e in chapter.exercises if labels is None or e.label in labels]
    imports = sorted({f"from pedagogy_lib.exercises import {e.checker_module} as {e.alias}" for e in keep})
    title = next(c for c in cells if c["cell_type"] == "markdown" and _src(c).lstrip().startswith("# "))
    sheet = [copy.deepcopy(title),
             {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": "import numpy as np\n" + "\n".join(imports)}]
    for e in keep:
        sheet += [copy.deepcopy(cells[e.exercise_cell]), copy.deepcopy(cells[e.answer_cell])]
    out = root / "chapters" / nb_path.parent.name / nb_path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(nb, cells=sheet), indent=1), encoding="utf-8")
    toc = root / "_toc.yml"                      # the sheets' own table of contents, in the order made
    with toc.open("a", encoding="utf-8") as f:
        f.write(f"- file: chapters/{nb_path.parent.name}/{nb_path.stem}\n")
    return out


def _execute(path: Path) -> dict:
    """Run a notebook in a fresh kernel that listens on Unix sockets, not TCP ports: nbval starts
    kernels on the other test worker at the same time, and two kernels must not pick one port."""
    import tempfile

    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="kernel-sockets-") as sockets:
        km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "k"))
        NotebookClient(nb, km=km, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def _verdicts(nb, cell_sources: list[str]) -> list[str]:
    out = []
    for c in nb.cells:
        if c.cell_type == "code" and c.source in cell_sources:
            texts = [o.get("data", {}).get("text/plain", "") or o.get("text", "") for o in c.outputs]
            out.append(" ".join(texts))
    return out


@pytest.fixture(scope="module")
def sheets(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """Editions of two exercise sheets: every stub of 2.2.1, every solution of 5.1.2."""
    root = tmp_path_factory.mktemp("sheets")
    made = {"student": _exercise_sheet(ROOT / "chapters" / "ch02_directed_generative_models" / "2_2_1_hmm.ipynb", root),
            "instructor": _exercise_sheet(ROOT / "chapters" / "ch05_discriminative_models" / "5_1_2_glms_irls.ipynb",
                                          root)}
    out = root / "out"
    E.write_editions(out, root=root, points_file=root / "points.toml", notebooks=list(made.values()))
    return out, made


def test_exercise_sheets_keep_the_chapters_exercise_cells_unchanged(sheets):
    _, made = sheets
    for kind, sheet in made.items():
        original = E.read_notebook(ROOT / "chapters" / sheet.parent.name / sheet.name)
        copied = E.read_notebook(sheet)
        assert [(e.label, e.stub, e.solution_code) for e in copied.exercises] == \
               [(e.label, e.stub, e.solution_code) for e in original.exercises]


def test_student_edition_executes_with_its_stubs(sheets):
    out, made = sheets
    sheet = made["student"]
    nb = _execute(out / "student" / sheet.parent.name / sheet.name)
    verdicts = _verdicts(nb, [e.stub for e in E.read_notebook(sheet).exercises])
    assert len(verdicts) == 3 and all("[not yet]" in v and "None" in v for v in verdicts), verdicts


def test_instructor_edition_executes_and_every_solution_passes(sheets):
    out, made = sheets
    sheet = made["instructor"]
    exercises = E.read_notebook(sheet).exercises
    nb = _execute(out / "instructor" / sheet.parent.name / sheet.name)
    verdicts = _verdicts(nb, [E.instructor_answer(e) for e in exercises])
    assert len(verdicts) == len(exercises) == 4 and all("[pass]" in v for v in verdicts), verdicts


# ----------------------------------------------------------------- the nbgrader round trip

ROUND_TRIP = {
    # chapter folder: (its notebook, the exercise answered wrongly, the wrong line appended to its answer)
    "ch04_framework_for_learning": ("4_1_learning_as_optimization", "ex-4-2-gaussian-kl",
                                    "my_kl = 2 * my_kl  # the factor 1/2 of the cross entropy lost"),
    "ch06_latent_variable_models": ("6_3_expectation_maximization", "ex-6-3-bits-back",
                                    "net_cost = gross  # the refund forgotten"),
}
#: The exercises of those chapters whose solutions need nothing else from their notebook.
ROUND_TRIP_EXERCISES = ["ex-4-2-marble-entropies", "ex-4-2-gaussian-kl",
                        "ex-6-3-em-step", "ex-6-3-bits-back", "ex-6-3-hard-excess"]


def _nbgrader(course: Path, *args: str) -> None:
    # nbgrader runs the `alembic` command of its environment: put that environment first on PATH
    env = dict(os.environ, MPLBACKEND="Agg",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"


def test_nbgrader_round_trip(tmp_path):
    pytest.importorskip("nbgrader", reason="nbgrader (requirements-test.txt) is not installed")
    from nbgrader.api import Gradebook

    root = tmp_path / "sheets"
    notebooks = [_exercise_sheet(ROOT / "chapters" / ch / f"{nb}.ipynb", root, ROUND_TRIP_EXERCISES)
                 for ch, (nb, _, _) in ROUND_TRIP.items()]
    exercises = [e for p in notebooks for e in E.read_notebook(p).exercises]
    assert sorted(e.label for e in exercises) == sorted(ROUND_TRIP_EXERCISES)
    # a points table of its own, so one exercise per chapter is worth 2 points and the rest 1
    points_file = tmp_path / "points.toml"
    points = E.load_points(exercises, points_file)
    text = points_file.read_text()
    for _, (_, wrong, _) in ROUND_TRIP.items():
        text = text.replace(f'"{wrong}" = 1', f'"{wrong}" = 2')
        points[wrong] = 2
    points_file.write_text(text)
    E.write_editions(tmp_path / "out", root=root, points_file=points_file, notebooks=notebooks)
    course = tmp_path / "out" / "nbgrader"

    for chapter, (name, wrong, wrong_line) in ROUND_TRIP.items():
        _nbgrader(course, "generate_assignment", chapter, "--force")
        source = _load(course / "source" / chapter / f"{name}.ipynb")
        release = _load(course / "release" / chapter / f"{name}.ipynb")
        answers = {c["metadata"]["nbgrader"]["grade_id"]: _src(c) for c in source["cells"]
                   if c["metadata"].get("nbgrader", {}).get("solution")}
        # the release's answer cells are the student edition's stubs (nbgrader leaves a blank line)
        stubs = {f"{e.label}-answer": e.stub for e in exercises if Path(e.notebook).stem == name}
        for c in release["cells"]:
            gid = c["metadata"].get("nbgrader", {}).get("grade_id")
            if gid in stubs:
                assert [ln for ln in _src(c).splitlines() if ln.strip()] == \
                       [ln for ln in stubs[gid].splitlines() if ln.strip()]
                assert "BEGIN SOLUTION" not in _src(c)
        for student, wrong_id in (("reference", None), ("untouched", "all"), ("one-wrong", f"{wrong}-answer")):
            nb = copy.deepcopy(release)
            if wrong_id != "all":
                for c in nb["cells"]:
                    gid = c["metadata"].get("nbgrader", {}).get("grade_id")
                    if gid in answers:
                        c["source"] = answers[gid] + (f"\n{wrong_line}" if gid == wrong_id else "")
            folder = course / "submitted" / student / chapter
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.ipynb").write_text(json.dumps(nb, indent=1))
        _nbgrader(course, "autograde", chapter, "--force")

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for chapter, (name, wrong, _) in ROUND_TRIP.items():
            labels = [e.label for e in exercises if Path(e.notebook).stem == name]
            full = sum(points[lab] for lab in labels)
            for student in ("reference", "untouched", "one-wrong"):
                sub = gb.find_submission_notebook(name, chapter, student)
                scores = {g.name.removesuffix("-test"): g.score for g in sub.grades}
                assert sub.max_score == full and set(scores) == set(labels)
                if student == "reference":
                    assert scores == {lab: points[lab] for lab in labels}, scores
                elif student == "untouched":
                    assert scores == {lab: 0 for lab in labels}, scores
                else:
                    assert scores == {lab: (0 if lab == wrong else points[lab]) for lab in labels}, scores
                    assert sub.score == full - 2
