"""Honest answers get full marks, and the notebook's checker says so too.

``honest_answers.json`` holds answers to the graded exercises written the way students write them
(vectorized or with loops, in the log domain, with ``scipy.stats`` or by hand), without reading the
reference solutions: {notebook, label, style, code}, where code is the whole answer cell. Each is
graded as a submission is (its answer cell in the nbgrader source notebook, run in the sandbox on
data of the student's own), and the checker a reader calls is run on the book's data; both must
pass, and neither the grader's reading of the code nor the checker's must refuse a call.
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


def test_the_corpus_is_wide_enough():
    assert len(ANSWERS) >= 60 and len(BY_NOTEBOOK) >= 15
    assert len({a["style"] for a in ANSWERS}) >= 20


def _with_answer(source: dict, label: str, code: str) -> dict:
    nb = copy.deepcopy(source)
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == f"{label}-answer")
    cell["source"] = code
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("notebook", sorted(BY_NOTEBOOK), ids=lambda p: Path(p).stem)
def test_honest_answers_get_full_marks_and_the_checker_agrees(notebook):
    ch = E.read_notebook(ROOT / notebook)
    exercises = {ex.label: ex for ex in ch.exercises}
    source = E.nbgrader_source(ch, {label: 1 for label in exercises})
    page = "\n".join(c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                     for c in ch.nb["cells"] if c["cell_type"] == "code")
    for i, answer in enumerate(BY_NOTEBOOK[notebook]):
        ex = exercises[answer["label"]]
        where = f"{answer['label']} ({answer['style']})"
        # what the checker in the reader's kernel reads: the cell's calls of the exercise's named functions
        assert C.named_calls_in(answer["code"], ex.not_allowed, [page]) == [], where
        nb = _with_answer(source, ex.label, answer["code"])
        graded = G.grade_notebook(nb, f"honest-{i}", labels={ex.label})
        assert graded == {ex.label: (True, [])}, (where, _verdict(nb, ex.label))
        verdict = _checker_in_the_notebook(nb, ex)
        assert verdict, (where, "the notebook's checker, on the book's data", str(verdict))


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
