"""One check shared by the exercise tests: a route that answers an exercise in one or two library calls is
named by its statement and refused in the graded student process (courseware/grading.py)."""
from __future__ import annotations


def assert_refused_when_graded(check, label: str, checker_name: str, answer_name: str, imports: str,
                               code: str) -> None:
    """Grade ``code`` (after ``imports``) as the answer of ``label``; it must fail with "not allowed"."""
    from courseware import grading as G
    from courseware.editions import all_exercises

    ex = next(e for e in all_exercises() if e.label == label)
    for dotted in check.SUMMATIVE[label]["forbidden"]:
        assert dotted.rpartition(".")[2] + "`" in ex.statement, (label, dotted)
    cells = [(imports, False), (code, True)]
    passed, text = G.grade_exercise(label, ex.checker_module, checker_name, [answer_name], cells, "s")
    if passed or "not allowed in this exercise" not in text:
        # say why: the same imports as a cell that must run report their own error
        _, why = G.grade_exercise(label, ex.checker_module, checker_name, [answer_name],
                                  [(imports, True), (code, True)], "s")
        raise AssertionError(f"{text}\n--- with the imports as a cell that must run:\n{why}")
