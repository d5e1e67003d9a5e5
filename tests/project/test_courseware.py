"""The courseware: student and instructor editions, nbgrader source notebooks, the exercise catalogue.

The editions are generated here, in the test run (``courseware.editions.write_editions``), from the
chapter notebooks as they are. What is executed, to keep the test run short (every chapter notebook
is already executed by nbval and by the strict book build):

* the student edition of ``2_2_1_hmm`` (it loses a hidden solution check) and the instructor edition
  of ``5_1_2_glms_irls``, as exercise sheets, each in a process of its own with a deadline that
  names the cell it stalled in;
* the nbgrader round trip on one section of each half of the book, Section 7.1 and the second
  data-assimilation notebook, as one-notebook assignments in one course folder and gradebook:
  ``generate_assignment``, then ``autograde`` of seven submissions each (correct, blank, wrong,
  calling a forbidden library function, patching the checker, reading the reference from the
  checker's frames, a test cell deleted), graded by ``courseware/grading.py`` in its sandbox (no
  kernel runs a submitted notebook);
* the commands of the "For instructors" page, in order, on that course folder.

The nbgrader parts need nbgrader (``requirements-test.txt``) and are skipped, saying so, where it is
not installed. Every other notebook's editions are checked without being executed: no solution code
in the student edition, every answer cell a stub, every other cell unchanged, the instructor
edition's answer cells running the solution, the nbgrader cells' metadata and points.
"""
from __future__ import annotations

import ast
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
from courseware import plain

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = E.chapter_notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def _src(cell: dict) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _stand_in_values(path: Path, nb: dict) -> dict:
    """Glued numbers for editions checked here for their structure: one stand-in per glue name, so no
    notebook is executed for its values (tests/project/test_editions_plain.py checks real ones)."""
    return {name: {"text/plain": "'4.25'"} for name in E.glue_names(nb)}


#: Under the test command the "For instructors" page's ``python3 tasks.py editions`` reads the glued values
#: from nbval's executed copies without executing a notebook: the editions it writes are then the ones the
#: structure tests read, so that the whole book's editions are built once, not once more with stand-ins.
#: Outside the test command that command executes every notebook that glues (nothing executed has
#: been kept), so the structure tests build their own editions with stand-in values.
PAGE_BUILDS_THE_EDITIONS = bool(os.environ.get("PEDAGOGY_NBVAL_RECORD"))


@pytest.fixture(scope="module")
def editions(tmp_path_factory, request) -> Path:
    if PAGE_BUILDS_THE_EDITIONS:
        out, said = request.getfixturevalue("page_editions")
        assert f"wrote {len(NOTEBOOKS)} notebooks " in said, said
        return out
    out = tmp_path_factory.mktemp("editions")
    summary = E.write_editions(out, update_points=False, glued=_stand_in_values)
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


def _binds(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} | \
        {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def _removed_cells(nb: dict) -> set[int]:
    """The cells the student edition leaves out: the solution checks, and the hidden cells after them that
    use a name only those cells define (a check of a solution against a function its exercise names sits in
    a cell of its own, since the checker reads its cell for such calls)."""
    cells = nb["cells"]
    removed = {j for j, c in enumerate(cells) if _is_solution_check(c)}
    others = set().union(*(_binds(_src(c)) for j, c in enumerate(cells) if c["cell_type"] == "code" and j not in removed))
    only = set().union(*(_binds(_src(cells[j])) for j in removed)) - others
    for j, c in enumerate(cells):
        if j not in removed and removed and j > min(removed) and c["cell_type"] == "code" \
                and "remove-cell" in c["metadata"].get("tags", []) \
                and any(re.search(rf"\b{re.escape(name)}\b", _src(c)) for name in only):
            removed.add(j)
            only |= _binds(_src(c)) - others
    return removed


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


def test_catalogue_minutes_come_from_the_timed_attempt():
    timed = tomllib.loads(E.TIMINGS_FILE.read_text(encoding="utf-8"))
    attempt, measured = timed["attempt"], timed["minutes"]
    exercises = E.all_exercises()
    labels = {e.label for e in exercises}
    assert not labels - set(measured), f"exercises never timed: {sorted(labels - set(measured))}"
    assert not set(measured) - labels, f"timings of exercises that no longer exist: {sorted(set(measured) - labels)}"
    # the scale is the calibration: a student's minutes on those exercises over this attempt's first pass
    calibration = timed["calibration"]
    assert set(calibration) <= labels and len(calibration) >= 10
    assert attempt["scale"] == round(attempt["student_minutes"] / sum(calibration.values()), 2)
    wrong = [(e.label, e.minutes, E.timed_minutes(measured[e.label], attempt["scale"])) for e in exercises
             if e.minutes != E.timed_minutes(measured[e.label], attempt["scale"])]
    assert not wrong, f"catalogue minutes that are not the timed ones (label, metadata, timed): {wrong}"
    assert E.timed_minutes(0.0, 3.0) == 1 and E.timed_minutes(1.0, 2.6) == 3


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
    removed = _removed_cells(original)
    kept = [c for j, c in enumerate(original["cells"]) if j not in removed]
    assert len(student["cells"]) == len(kept)
    for before, after in zip(kept, student["cells"]):
        assert before["cell_type"] == after["cell_type"] and before.get("id") == after.get("id")
        assert before["metadata"] == after["metadata"]
        if before["cell_type"] == "code":
            assert _src(before) == _src(after), f"cell {before.get('id')} changed"
            continue
        # Markdown is made plain for readers outside the book (courseware/plain.py): every line without
        # MyST markup, maths or links stays word for word, solutions' lines included only if not solutions
        text = _src(before)
        if "{solution}" in text:
            text = text.split("{solution}")[0].rsplit("\n:", 1)[0]
        for line in text.splitlines():
            if line.strip() and not re.search(r"[{}$\\\[\]`<>|*_#]|^\s*:|^\s*[-+>]|^\s*\d+\.", line):
                assert line.strip() in _src(after), f"cell {before.get('id')}: {line!r} is gone"
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
    rel = nb_path.relative_to(ROOT / "chapters")
    nb = _load(editions / "nbgrader" / "source" / rel)
    # the same notebook is also an assignment of its own (one section)
    assert _load(editions / "nbgrader" / "source" / nb_path.stem / nb_path.name) == nb
    graded = [(i, c) for i, c in enumerate(nb["cells"]) if "nbgrader" in c["metadata"]]
    ch = E.read_notebook(nb_path)
    written = [e for e in ch.exercises if E.written_question(e)]
    assert len(graded) == 2 * len(ch.exercises) + len(written)
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
        visible, hidden = _src(test).split("### BEGIN HIDDEN TESTS\n")
        assert visible.rstrip().endswith(f"_grader.{e.checker}({e.call_args}).raise_if_wrong()")
        assert hidden.rstrip().endswith("### END HIDDEN TESTS")
        call = json.loads(hidden.split("# summative: ")[1].splitlines()[0])
        assert call == {"label": e.label, "module": e.checker_module, "checker": e.checker,
                        "names": E.answer_names(e), "not_allowed": list(e.not_allowed)}
        if e in written:
            cell = nb["cells"][i + 2]
            wmeta = cell["metadata"]["nbgrader"]
            assert cell["cell_type"] == "markdown" and wmeta["grade_id"] == f"{e.label}-written"
            assert wmeta["grade"] and wmeta["solution"] and wmeta["points"] == E.WRITTEN_POINTS
            # the question as the plain edition writes it: the book's macros written out
            question = plain.expand_macros(E.written_question(e), plain.book_macros(ROOT))
            assert "### BEGIN SOLUTION\nRubric" in _src(cell) and question in _src(cell)


def test_written_parts_are_found_in_the_statements():
    exercises = E.all_exercises()
    written = [e for e in exercises if E.written_question(e)]
    assert 60 <= len(written) <= 80, len(written)
    for e in written:
        assert "?" in E.written_question(e) or re.search(r"why|explain", E.written_question(e), re.I), e.label
    for e in exercises:
        if "?" in e.statement:
            assert E.written_question(e), e.label


def test_nbgrader_config_restores_tests_and_grades_outside_the_kernel(editions):
    config = (editions / "nbgrader" / "nbgrader_config.py").read_text(encoding="utf-8")
    assert 'c.CourseDirectory.course_id = "msl-companion"' in config
    assert "c.OverwriteCells.add_missing_cells = True" in config
    assert "SummativeGrader" in config
    copied = (editions / "nbgrader" / "grading" / "msl_grading.py").read_text(encoding="utf-8")
    assert copied == (ROOT / "courseware" / "grading.py").read_text(encoding="utf-8")


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
# The chapter notebooks themselves run once in the test command (under nbval, and the strict build
# renders that run) and no more. The editions are run here on *exercise sheets*: notebooks made of a chapter's
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


#: Each notebook runs in a process of its own, which this test kills (with its kernel) after this long.
EXECUTE_TIMEOUT = 240
#: ... and each cell may take this long before the run fails, naming the cell.
CELL_TIMEOUT = 120

_RUNNER = """\
import os, sys, tempfile
import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

path, out = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)

def started(cell, cell_index, **kw):
    print(f"cell {cell_index}: {cell.source.splitlines()[0] if cell.source else ''}", file=sys.stderr, flush=True)

with tempfile.TemporaryDirectory(prefix="kernel-sockets-") as sockets:
    km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "k"))
    client = NotebookClient(nb, km=km, timeout=int(sys.argv[3]), iopub_timeout=15, raise_on_iopub_timeout=True,
                            shutdown_kernel="immediate", on_cell_start=started,
                            resources={"metadata": {"path": os.path.dirname(path)}})
    # cleanup_kc: nbclient leaves running a kernel whose manager it was handed, unless told otherwise
    client.execute(cleanup_kc=True)
nbformat.write(nb, out)
print("done", file=sys.stderr, flush=True)
"""


def _execute(path: Path) -> dict:
    """Run a notebook in a process of its own with a fresh kernel; fail naming the cell if it stalls.

    The kernel listens on Unix sockets, not TCP ports (nbval starts kernels on the other test worker
    at the same time, and two kernels must not pick one port); the kernel is shut down at the end (given a
    kernel manager, nbclient otherwise leaves the kernel running until the interpreter exits, by which
    time its socket folder is gone), and a run that takes longer than EXECUTE_TIMEOUT is killed
    together with its kernel.
    """
    import nbformat
    import signal
    import tempfile

    with tempfile.TemporaryDirectory(prefix="executed-") as tmp:
        out, log = Path(tmp) / "out.ipynb", Path(tmp) / "log.txt"
        with log.open("w") as err:
            proc = subprocess.Popen([sys.executable, "-c", _RUNNER, str(path), str(out), str(CELL_TIMEOUT)],
                                    stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
                                    env=dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT)))
            try:
                rc = proc.wait(timeout=EXECUTE_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = None
        text = log.read_text()
        cells = [ln for ln in text.splitlines() if ln.startswith("cell ")]
        where = cells[-1] if cells else "before the first cell (starting the kernel)"
        assert rc is not None, f"{path.name}: stalled for {EXECUTE_TIMEOUT} s in {where}\n{text[-2000:]}"
        assert rc == 0, f"{path.name}: failed in {where}\n{text[-3000:]}"
        return nbformat.read(out, as_version=4)


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
    # the sheets keep the solutions' glue roles but not the hidden cells that glue their values
    E.write_editions(out, root=root, points_file=root / "points.toml", notebooks=list(made.values()),
                     glued=_stand_in_values)
    return out, made


def test_exercise_sheets_keep_the_chapters_exercise_cells_unchanged(sheets):
    _, made = sheets
    for kind, sheet in made.items():
        original = E.read_notebook(ROOT / "chapters" / sheet.parent.name / sheet.name)
        copied = E.read_notebook(sheet)
        assert [(e.label, e.stub, e.solution_code) for e in copied.exercises] == \
               [(e.label, e.stub, e.solution_code) for e in original.exercises]


@pytest.mark.slow
def test_student_edition_executes_with_its_stubs(sheets):
    out, made = sheets
    sheet = made["student"]
    nb = _execute(out / "student" / sheet.parent.name / sheet.name)
    exercises = E.read_notebook(sheet).exercises
    verdicts = _verdicts(nb, [e.stub for e in exercises])
    assert len(exercises) >= 3 and len(verdicts) == len(exercises), verdicts
    assert all("[not yet]" in v and "None" in v for v in verdicts), verdicts


def test_instructor_edition_executes_and_every_solution_passes(sheets):
    out, made = sheets
    sheet = made["instructor"]
    exercises = E.read_notebook(sheet).exercises
    nb = _execute(out / "instructor" / sheet.parent.name / sheet.name)
    verdicts = _verdicts(nb, [E.instructor_answer(e) for e in exercises])
    assert len(verdicts) == len(exercises) == 4 and all("[pass]" in v for v in verdicts), verdicts


# ----------------------------------------------------------------- the nbgrader round trip
# One section of each half of the book, as a one-notebook assignment: generate_assignment, then
# autograde of submissions from honest and dishonest students, all in one course folder and one
# gradebook. The verdicts come from courseware/grading.py, outside the student's kernel.

ROUND_TRIP = {
    # assignment (a section notebook): its chapter folder, and per exercise a wrong answer line
    "7_1_gmm_kmeans": ("ch07_learning_invertible_models", {
        "ex-7-1-m-step": "my_m_step = (my_m_step[0], my_m_step[1], my_m_step[2] * 8 / 7)",
        "ex-7-1-kmeans-assign": "my_assign = lambda y, mu: np.zeros(len(y), dtype=int)",
        "ex-7-1-n-params": "my_n_params = lambda K, L, t: K * L * L + K * L + K",
        "ex-7-1-mahalanobis-limit": "my_labels = np.array([0, 1, 0, 1, 2, 2, 1, 2])"}),
    "da_2_nonlinear_filters": ("da_data_assimilation", {
        "ex-da-2-sigma": "X = X * 1.01",
        "ex-da-2-ekf-forecast": "P_forecast = P_forecast - check.EX_FORECAST.Q",
        "ex-da-2-bias": "bias = 0.4  # the book's number, typed in",
        "ex-da-2-ukf-cycle": "my_ukf_cycle = lambda mu, Upsilon, *rest: (mu, Upsilon)   # no cycle at all",
        "ex-da-2-adf-update": "my_adf_update = lambda m, v, y, h, Sigma_y_x: (m, v)   # the forecast kept"}),
}
#: Per assignment: the answer cell that calls a library function its statement forbids.
FORBIDDEN = {
    "ex-7-1-m-step": ("from pedagogy_lib.mixture import gmm_m_step, gmm_stats_from_responsibilities\n"
                      "y, r = check.EX_MSTEP\n"
                      "fit = gmm_m_step(gmm_stats_from_responsibilities(y, r))\n"
                      "my_m_step = (fit.pi, fit.mu, fit.Sigma)\n"
                      "check.m_step(my_m_step)"),
    "ex-da-2-sigma": ("from pedagogy_lib import assimilation as da\n"
                      "X, w, _ = da.sigma_points(check.EX_UT.mean, check.EX_UT.cov, kappa=1.0)\n"
                      "check.sigma_points(X, w)"),
}
#: ... and the function of the exercise's own that it calls, as the grader's refusal names it.
FORBIDDEN_CALLS = {"ex-7-1-m-step": "gmm_m_step", "ex-da-2-sigma": "sigma_points"}
#: A line that makes every in-kernel test pass: the checker's verdict patched away.
PATCH = ("from pedagogy_lib.exercises.checker import CheckResult\n"
         "CheckResult.raise_if_wrong = lambda self: self\n")
#: An answer object that reads the reference from the checker's frames when compared (no names the
#: tamper scan knows, so it is not flagged: the attack must fail because no checker runs where it runs).
PEEK = """\
import sys as _s
class _Peek:
    def _find(self):
        f = getattr(_s, "_get" + "frame")(1)
        while f is not None:
            loc = getattr(f, "f_" + "locals")
            for key in ("expected", "correct", "P"):
                if key in loc and not isinstance(loc[key], _Peek):
                    return np.asarray(loc[key], dtype=float)
            f = getattr(f, "f_" + "back")
        return np.zeros(1)
    def __array__(self, dtype=None, copy=None):
        return self._find()
    def __float__(self):
        return float(self._find().ravel()[0])
"""


def test_a_peeking_answer_finds_no_verdict_to_read(sandboxed):
    """The peeking answer's frame walk, run without the checks that read an answer's names (as
    ``grading.grade_exercise`` runs it), still earns nothing: the answer leaves the student's process, whose
    frames hold no checker, only as what can be sent (here an opaque object), and the checker sees only that."""
    from courseware import grading as G

    cells = [("import numpy as np\nfrom pedagogy_lib.exercises import ch07_gmm_em as check", False),
             (PEEK + "my_m_step = (_Peek(), _Peek(), _Peek())", True)]
    passed, text = G.grade_exercise("ex-7-1-m-step", "ch07_gmm_em", "m_step", ["my_m_step"], cells, "student-a")
    assert not passed, text


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    # nbgrader runs the `alembic` command of its environment: put that environment first on PATH
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    RAN.append(" ".join(["nbgrader", *args]))
    return run


#: The nbgrader commands the tests ran, for the check that the "For instructors" page runs as written.
RAN: list[str] = []


def _gid(cell: dict) -> str | None:
    return cell["metadata"].get("nbgrader", {}).get("grade_id")


def _submissions(source: dict, release: dict, wrong: dict[str, str]) -> dict[str, dict]:
    """The students' notebooks, made from the release and the source's reference answers."""
    answers = {_gid(c): _src(c) for c in source["cells"] if c["metadata"].get("nbgrader", {}).get("solution")
               and c["cell_type"] == "code"}

    def with_answers(change=lambda gid, text: text) -> dict:
        nb = copy.deepcopy(release)
        for c in nb["cells"]:
            if _gid(c) in answers:
                c["source"] = change(_gid(c), answers[_gid(c)])
        return nb

    first = next(g for g in answers)
    correct = with_answers()
    for c in correct["cells"]:
        if (_gid(c) or "").endswith("-written"):
            c["source"] = _src(c) + "\nBecause it is shared equally between the two components."
    out = {
        "correct": correct,
        "blank": copy.deepcopy(release),
        "wrong": with_answers(lambda gid, t: t + "\n" + wrong[gid.removesuffix("-answer")]),
        "forbidden": with_answers(lambda gid, t: FORBIDDEN.get(gid.removesuffix("-answer"), t)),
        "patched": copy.deepcopy(release),
        "peeking": copy.deepcopy(release),
        "deleted-test": with_answers(),
    }
    for c in out["patched"]["cells"]:
        if _gid(c) == first:
            c["source"] = PATCH + _src(c)
    for c in out["peeking"]["cells"]:
        gid = _gid(c)
        if gid in answers:
            names = [ln.split("=")[0].strip() for ln in _src(c).splitlines() if "= None" in ln]
            fn = [ln for ln in _src(c).splitlines() if ln.startswith("def ")]
            text = PEEK + "\n".join(f"{n.replace(' ', '')} = " + " ".join(["_Peek(),"] * n.count(",") + ["_Peek()"])
                                    for n in names)
            if fn:
                text += "\n" + "\n".join(f"{ln.split('(')[0][4:]} = lambda *a: _Peek()" for ln in fn)
            c["source"] = text + "\n" + _src(c).splitlines()[-1]
    cells = out["deleted-test"]["cells"]
    out["deleted-test"]["cells"] = [c for c in cells if _gid(c) != first.replace("-answer", "-test")]
    second = [g for g in answers][1].replace("-answer", "-test")
    for c in out["deleted-test"]["cells"]:
        if _gid(c) == second:
            c["source"] = "pass  # this test is in my way"
    return out


EXPECTED = {"correct": "full", "blank": 0, "wrong": 0, "forbidden": "forbidden", "patched": 0, "peeking": 0,
            "deleted-test": "full"}
#: The submissions that attack the grading machinery itself (a blank sheet, a patched verdict, a peeking
#: answer, a deleted test cell) do not depend on the assignment's content, so they are graded on this
#: assignment only; every assignment gets the correct, wrong and forbidden answers.
MACHINERY_ON = "7_1_gmm_kmeans"


def _students(name: str) -> dict:
    """The submissions graded for assignment ``name``, with the score each deserves."""
    return {s: v for s, v in EXPECTED.items()
            if name == MACHINERY_ON or s in ("correct", "wrong", "forbidden")}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    pytest.importorskip("nbgrader", reason="nbgrader (requirements-test.txt) is not installed")
    tmp = tmp_path_factory.mktemp("course")
    root = tmp / "sheets"
    notebooks = [_exercise_sheet(ROOT / "chapters" / chapter / f"{name}.ipynb", root)
                 for name, (chapter, _) in ROUND_TRIP.items()]
    exercises = [e for p in notebooks for e in E.read_notebook(p).exercises]
    points_file = tmp / "points.toml"
    E.load_points(exercises, points_file)
    E.write_editions(tmp / "out", root=root, points_file=points_file, notebooks=notebooks, glued=_stand_in_values)
    course = tmp / "out" / "nbgrader"
    for name in ROUND_TRIP:
        _nbgrader(course, "generate_assignment", name)
    made, logs = {}, {}
    for name, (chapter, wrong) in ROUND_TRIP.items():
        source = _load(course / "source" / name / f"{name}.ipynb")
        release = _load(course / "release" / name / f"{name}.ipynb")
        made[name] = (source, release)
        for student, nb in _submissions(source, release, wrong).items():
            if student not in _students(name):
                continue
            folder = course / "submitted" / student / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.ipynb").write_text(json.dumps(nb, indent=1))
        logs[name] = _nbgrader(course, "autograde", name).stderr
    return course, exercises, made, logs


@pytest.mark.slow
def test_the_release_lacks_the_hidden_tests_and_the_grader(graded_course):
    course, exercises, made, _ = graded_course
    for name, (source, release) in made.items():
        text = json.dumps(release)
        assert "BEGIN HIDDEN TESTS" in json.dumps(source) and "summative" in json.dumps(source)
        assert "HIDDEN TESTS" not in text and "summative" not in text and "BEGIN SOLUTION" not in text
        assert not list((course / "release" / name).glob("**/*.py"))
        stubs = {f"{e.label}-answer": e.stub for e in exercises if Path(e.notebook).stem == name}
        for c in release["cells"]:
            if _gid(c) in stubs:
                assert [ln for ln in _src(c).splitlines() if ln.strip()] == \
                       [ln for ln in stubs[_gid(c)].splitlines() if ln.strip()]


def test_autograde_gives_each_submission_the_score_it_deserves(graded_course):
    from nbgrader.api import Gradebook

    course, exercises, _, _ = graded_course
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for name, (chapter, _) in ROUND_TRIP.items():
            labels = [e.label for e in exercises if Path(e.notebook).stem == name]
            forbidden = [lab for lab in labels if lab in FORBIDDEN]
            assert forbidden, name
            for student, expected in _students(name).items():
                sub = gb.find_submission_notebook(name, name, student)
                scores = {g.name.removesuffix("-test"): g.auto_score for g in sub.grades if g.name.endswith("-test")}
                assert set(scores) == set(labels), (student, scores)
                graded = _load(course / "autograded" / student / name / f"{name}.ipynb")
                outputs = {_gid(c): json.dumps(c.get("outputs", [])) for c in graded["cells"]}
                if expected == "full":
                    assert scores == {lab: 1 for lab in labels}, (name, student, scores, outputs)
                elif expected == "forbidden":
                    assert all(scores[lab] == 0 for lab in forbidden), (name, student, scores)
                    assert all(scores[lab] == 1 for lab in labels if lab not in forbidden), (name, student, scores)
                    for lab in forbidden:    # refused before it runs, naming the function the exercise names
                        called = FORBIDDEN_CALLS[lab]
                        assert "Not accepted" in outputs[f"{lab}-test"] and f"{called}`" in outputs[f"{lab}-test"], \
                            outputs[f"{lab}-test"]
                else:
                    assert scores == {lab: 0 for lab in labels}, (name, student, scores, outputs)
                # a flagged exercise waits in formgrader's list of work needing a manual grade; no other does
                flagged = {lab for lab in labels if "FLAGGED" in outputs[f"{lab}-test"]}
                review = {g.name.removesuffix("-test") for g in sub.grades
                          if g.name.endswith("-test") and g.needs_manual_grade}
                assert review == flagged, (name, student, review, outputs)
                if student == "patched":     # the patch is in the first exercise's answer cell: only it is flagged
                    assert flagged == {labels[0]}, outputs
                if student == "deleted-test":
                    flagged = {lab: outputs[f"{lab}-test"] for lab in labels if "FLAGGED" in outputs[f"{lab}-test"]}
                    assert len(flagged) == 2, outputs
                    assert sorted("test cell was deleted" in t for t in flagged.values()) == [False, True], flagged
                    assert sorted("test cell was edited" in t for t in flagged.values()) == [False, True], flagged
                # the peeking answers score zero (above) whether or not the grader flags them:
                # test_a_peeking_answer_finds_no_verdict_to_read shows that their frame walk finds nothing
                if student in ("correct", "blank", "wrong"):
                    assert "FLAGGED" not in json.dumps(outputs), (student, outputs)


def _autograde_warnings(log: str) -> dict[str, list[str]]:
    """An autograde log as the warnings nbgrader logged for each student's submission."""
    found: dict[str, list[str]] = {}
    student = None
    for line in log.splitlines():
        m = re.search(r"Sanitizing .*?submitted[/\\]([^/\\]+)[/\\]", line)
        if m:
            student = m.group(1)
            found[student] = []
        elif student is not None and "WARNING" in line:
            found[student].append(line)
    return found


def test_autograde_logs_a_changed_test_cell_only_where_the_student_changed_one(graded_course):
    """nbgrader releases a test cell without its hidden part; an untouched one is not logged as changed
    ("checksum has changed!"), while the edited and the deleted test cells of "deleted-test" are."""
    _, _, made, logs = graded_course
    for name, log in logs.items():
        warnings = _autograde_warnings(log)
        assert set(warnings) == set(_students(name)), (name, list(warnings))
        tests = [_gid(c) for c in made[name][0]["cells"] if (_gid(c) or "").endswith("-test")]
        for student, lines in warnings.items():
            changed = [ln for ln in lines if "has changed" in ln]
            missing = [ln for ln in lines if "Missing grade cell" in ln]
            if student == "deleted-test":
                assert len(changed) == 1 and f"for cell {tests[1]} has changed" in changed[0], lines
                assert len(missing) == 1 and tests[0] in missing[0], lines
            else:
                assert not changed and not missing, (name, student, lines)


def test_autograding_runs_no_kernel_and_sends_flags_to_review(editions, monkeypatch):
    """The course's autograding steps: no kernel runs a submitted notebook (nbgrader's Execute is left out),
    the outputs as submitted are kept (ClearOutput is left out), untouched test cells are restored without
    a warning, and flagged exercises are marked as needing a manual grade once the grades are saved."""
    pytest.importorskip("nbgrader", reason="nbgrader (requirements-test.txt) is not installed")
    from traitlets.config import Config

    path = editions / "nbgrader" / "nbgrader_config.py"
    config = Config()
    monkeypatch.setattr(sys, "path", list(sys.path))         # the configuration puts grading/ on it
    try:
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"),
             {"get_config": lambda: config, "__file__": str(path)})
    finally:
        sys.modules.pop("msl_grading", None)
    sanitize = [p.__name__ for p in config.Autograde.sanitize_preprocessors]
    autograde = [p.__name__ for p in config.Autograde.autograde_preprocessors]
    assert autograde[0] == "SummativeGrader" and "Execute" not in sanitize + autograde
    assert "ClearOutput" not in sanitize and "OverwriteReleasedCells" in sanitize and "OverwriteCells" not in sanitize
    assert autograde.index("MarkFlaggedForReview") == autograde.index("SaveAutoGrades") + 1


# ----------------------------------------------------------------- the "For instructors" page, as written

PAGE = ROOT / "book" / "for_instructors.md"
sys.path.insert(0, str(ROOT / "_ext"))
import site_address  # noqa: E402

#: The page's {{ repository_url }} and the like, as the build fills them in (_ext/site_address.py).
ADDRESS = site_address.values(ROOT)
#: Commands of the page this test does not run: they fetch or install (the test runs in a clone with
#: the book's packages and nbgrader installed already), or change the shell's folder.
NOT_RUN = {f"git clone {ADDRESS['repository_url']} msl-companion",
           "cd msl-companion", "python3 -m venv ~/msl-env",
           "~/msl-env/bin/pip install -r requirements.txt -e . nbgrader==0.9.6",
           "cd ~/msl-course", "source ~/msl-env/bin/activate"}


def _page_commands() -> list[str]:
    blocks = [re.sub(r"\\\n\s*", " ", b) for b in     # a line ending in a backslash goes on on the next
              re.findall(r"```bash\n(.*?)```", site_address.fill(PAGE.read_text(encoding="utf-8"), ADDRESS), re.S)]
    return [" ".join(ln.split()) for b in blocks for ln in b.splitlines() if ln.strip() and not ln.startswith("#")]


def _await_nbval_copies() -> None:
    """Under the test command, nbval writes each notebook it ran (conftest.py) where the editions look for
    glued values: wait until the notebooks that glue have landed, rather than have the editions execute
    them a second time beside nbval. The command hands out every notebook before this file
    (tests/conftest.py), so the wait is for the last ones at most; a notebook that failed under nbval
    counts as landed (its failure is reported there), and the test's timeout bounds the wait. Outside the
    test command the editions execute them."""
    import time

    record = os.environ.get("PEDAGOGY_NBVAL_RECORD")
    if not record:
        return
    outputs = Path(json.loads(Path(record).read_text(encoding="utf-8"))["outputs"])
    gluing = [p.relative_to(ROOT) for p in E.chapter_notebooks()
              if E.glue_names(json.loads(p.read_text(encoding="utf-8")))]
    while not all((outputs / p).exists() or (outputs / f"{p}.failed").exists() for p in gluing):
        time.sleep(2.0)


@pytest.fixture(scope="module")
def page_editions(tmp_path_factory) -> tuple[Path, str]:
    """The page's ``python3 tasks.py editions``, writing to a folder of this file's own, in the book's
    environment (already made: the command installs nothing then); ``(folder, what the command said)``.
    The structure tests read the same folder under the test command (:data:`PAGE_BUILDS_THE_EDITIONS`)."""
    out = tmp_path_factory.mktemp("page-editions") / "editions"
    _await_nbval_copies()
    run = subprocess.run([sys.executable, "tasks.py", "editions", "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True,
                         timeout=300 if os.environ.get("PEDAGOGY_NBVAL_RECORD") else 1800)
    assert run.returncode == 0, run.stdout + run.stderr
    return out, run.stdout + run.stderr


@pytest.mark.slow
def test_for_instructors_page_runs_as_written(graded_course, page_editions, tmp_path):
    """Every command of the page, in order, on the course folder the round trip graded."""
    course, _, _, _ = graded_course
    commands = _page_commands()
    assert commands[:3] == [f"git clone {ADDRESS['repository_url']} msl-companion",
                            "cd msl-companion", "python3 tasks.py editions --out _build/editions"]
    section = "7_1_gmm_kmeans"
    for cmd in commands:
        if cmd in NOT_RUN:
            continue
        if cmd.startswith("python3 tasks.py editions"):
            out, said = page_editions              # the command, run once for this file (page_editions)
            assert "pip" not in said, said
            assert (out / "nbgrader" / "source" / section / f"{section}.ipynb").exists()
            assert (out / "nbgrader" / "nbgrader_config.py").exists() and (out / "student").is_dir()
        elif cmd.startswith("cp -r _build/editions/nbgrader"):
            assert (course / "nbgrader_config.py").exists()         # the round trip's course folder
        elif cmd.startswith("nbgrader generate_assignment") or cmd.startswith("nbgrader autograde"):
            assert cmd in RAN, f"{cmd!r} was not run by the round trip (ran: {RAN})"
        elif cmd.startswith("nbgrader release_assignment"):
            exchange = tmp_path / "exchange"
            exchange.mkdir()
            exchange.chmod(0o777)
            args = cmd.split()[1:]
            _nbgrader(course, *[a.replace("/srv/nbgrader/exchange", str(exchange)) for a in args])
            assert (exchange / "msl-companion" / "outbound" / section / f"{section}.ipynb").exists()
        elif cmd.startswith("nbgrader "):
            _nbgrader(course, *cmd.split()[1:])
        elif cmd.startswith("python grading/msl_grading.py"):
            run = subprocess.run([sys.executable, *cmd.split()[1:]], cwd=course, capture_output=True, text=True,
                                 timeout=300, env=dict(os.environ, PYTHONPATH=str(ROOT)))
            assert run.returncode == 0, run.stderr
        else:
            raise AssertionError(f"the page has a command this test does not know: {cmd!r}")
    # what the page says these commands leave behind
    assert (course / "feedback" / "correct" / section / f"{section}.html").exists()
    grades = (course / "grades.csv").read_text()
    assert "correct" in grades and section in grades
    import csv
    rows = list(csv.DictReader((course / "grades_by_exercise.csv").open()))
    mine = {(r["exercise"], r["part"]): r for r in rows if r["student"] == "correct" and r["assignment"] == section}
    assert mine[("ex-7-1-m-step", "autograded")]["score"] == "1.0"
    assert mine[("ex-7-1-m-step", "written")]["needs_manual_grade"] == "True"
    # the patch concerns the first exercise only: it alone is flagged and waits for a manual grade
    patched = {r["exercise"]: r for r in rows
               if r["student"] == "patched" and r["assignment"] == section and r["part"] == "autograded"}
    assert [lab for lab, r in patched.items() if "tampering" in r["flags"]] == ["ex-7-1-m-step"], patched
    assert {lab: r["needs_manual_grade"] for lab, r in patched.items()} == \
           {lab: str(lab == "ex-7-1-m-step") for lab in patched}, patched
    solution = course / "solution" / section / f"{section}.ipynb"
    assert solution.exists() and "np.argmin" in solution.read_text()
