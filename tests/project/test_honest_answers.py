"""Honest answers get full marks, and the notebook's checker says so too.

``honest_answers.json`` holds answers to the graded exercises written the way students write them
(vectorized or with loops, in the log domain, with ``scipy.stats`` or by hand), without reading the
reference solutions: {notebook, label, style, code}, where code is the whole answer cell. They are
graded as submissions are, a notebook's answers in rounds of one answer per exercise (each round one
nbgrader source notebook with those answers in their cells, graded in one run, each exercise in the
sandbox on data of the round's student), and the checker a reader calls is run on the book's data;
both must pass, and neither the grader's reading of the code nor the checker's must refuse a call.
"""
from __future__ import annotations

import copy
import json
from collections import defaultdict
from pathlib import Path

import pytest

from courseware import editions as E
from courseware import grading as G
from pedagogy_lib.exercises import checker as C

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = json.loads((ROOT / "tests" / "project" / "honest_answers.json").read_text(encoding="utf-8"))
BY_NOTEBOOK: dict[str, list[dict]] = defaultdict(list)
for _a in ANSWERS:
    BY_NOTEBOOK[_a["notebook"]].append(_a)

pytestmark = pytest.mark.skipif(G.sandbox_problem() is not None, reason=f"no sandbox: {G.sandbox_problem()}")

#: The course's limits but for the wall clock: an honest answer is held to the CPU time a student's
#: is (``Limits.cpu_seconds``), while the test, on a machine others share, waits for it ten minutes
#: (the test command stops a test at 900 s), so that the verdict does not depend on the machine's load.
LIMITS = G.Limits(wall_seconds=600.0)


def test_the_corpus_is_wide_enough():
    assert len(ANSWERS) >= 60 and len(BY_NOTEBOOK) >= 15
    assert len({a["style"] for a in ANSWERS}) >= 20


def _with_answer(source: dict, label: str, code: str) -> dict:
    nb = copy.deepcopy(source)
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == f"{label}-answer")
    cell["source"] = code
    return nb


def _rounds(answers: list[dict]) -> list[list[dict]]:
    """The answers of one notebook in rounds: round r holds the r-th answer (in the corpus's order) of each
    exercise that has one, so that a round puts at most one answer in each answer cell."""
    by_label: dict[str, list[dict]] = defaultdict(list)
    for answer in answers:
        by_label[answer["label"]].append(answer)
    return [[styles[r] for styles in by_label.values() if len(styles) > r]
            for r in range(max(len(styles) for styles in by_label.values()))]


def test_the_rounds_hold_every_answer_once_and_one_per_exercise():
    for answers in BY_NOTEBOOK.values():
        rounds = _rounds(answers)
        assert sorted(id(a) for r in rounds for a in r) == sorted(id(a) for a in answers)
        assert all(len({a["label"] for a in r}) == len(r) for r in rounds)


@pytest.mark.slow
@pytest.mark.parametrize("notebook", sorted(BY_NOTEBOOK), ids=lambda p: Path(p).stem)
def test_honest_answers_get_full_marks_and_the_checker_agrees(notebook):
    ch = E.read_notebook(ROOT / notebook)
    exercises = {ex.label: ex for ex in ch.exercises}
    source = E.nbgrader_source(ch, {label: 1 for label in exercises})
    page = "\n".join(c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                     for c in ch.nb["cells"] if c["cell_type"] == "code")
    # One submission per round, with every exercise of the round answered in the corpus's style: the
    # grader grades them in one run, as it grades a student's notebook (each exercise in its own sandbox,
    # after the answer cells before it), on the data of that round's student.
    for r, answers in enumerate(_rounds(BY_NOTEBOOK[notebook])):
        nb = source
        for answer in answers:
            ex = exercises[answer["label"]]
            # what the checker in the reader's kernel reads: the cell's calls of the exercise's named functions
            assert C.named_calls_in(answer["code"], ex.not_allowed, [page]) == [], _where(answer)
            nb = _with_answer(nb, ex.label, answer["code"])
        graded = G.grade_notebook(nb, f"honest-{r}", labels={a["label"] for a in answers}, limits=LIMITS)
        wrong = {_where(a): _verdict(nb, a["label"]) for a in answers if graded.get(a["label"]) != (True, [])}
        assert not wrong and set(graded) == {a["label"] for a in answers}, wrong
        for answer in answers:
            verdict = _checker_in_the_notebook(nb, exercises[answer["label"]])
            assert verdict, (_where(answer), "the notebook's checker, on the book's data", str(verdict))


def _where(answer: dict) -> str:
    return f"{answer['label']} ({answer['style']})"


def _checker_in_the_notebook(nb: dict, ex):
    """The checker's verdict as a reader's kernel gives it: what the grader replays before the answer
    (:func:`courseware.grading.replays`: the page's imports and definitions, or the statements of the
    page the answer needs, then the page itself), the answer cells up to this one, then the checker on
    the book's data, all in this process, as the kernel runs them."""
    cells = nb["cells"]
    answers = {G._nb_meta(c)["grade_id"]: i for i, c in enumerate(cells)
               if G._nb_meta(c).get("solution") and c["cell_type"] == "code"}
    page = [G._src(c) for c in cells if c["cell_type"] == "code" and not G._nb_meta(c)]
    preamble = G._preamble(page, [G._src(cells[i]) for i in answers.values()])
    module = __import__(f"pedagogy_lib.exercises.{ex.checker_module}", fromlist=["_"])
    for run in G.replays(cells, answers, answers[f"{ex.label}-answer"], preamble, page):
        ns: dict = {"__name__": "__main__"}
        for code, must_run in run:
            try:
                exec(compile(code, "<cell>", "exec"), ns)  # noqa: S102 - the book's cells and a corpus answer
            except Exception:
                if must_run:
                    raise
        verdict = getattr(module, ex.checker)(*(ns[name] for name in E.answer_names(ex)))
        if verdict:
            break
    return verdict


def _verdict(nb: dict, label: str) -> str:
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == f"{label}-test")
    return json.dumps(cell.get("outputs", []))[:2000]
