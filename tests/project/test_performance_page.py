"""The performance page's ratios come from the committed benchmark runs, not from a hand.

``book/performance.md`` includes the tables ``python3 tasks.py bench`` writes and a summary of the sweeps
that ``tools/performance_summary.py`` computes from them; its prose quotes ratios from the same tables. These
checks read files only (no benchmark runs, nothing is timed): the included summary is what the tables give,
every ratio the prose quotes is its row's value as rounded on the page, and the prose writes no other ratio
("N times", "Nx", "N of the reference's time", "within N") without saying what it is (a target, an earlier
run, a measurement of its own).
"""
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("performance_summary", ROOT / "tools" / "performance_summary.py")
ps = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("performance_summary", ps)   # dataclasses look their module up
_spec.loader.exec_module(ps)


@pytest.fixture(scope="module")
def runs():
    return {"main": ps.Run.read(ps.TABLE), "haswell": ps.Run.read(ps.TABLE_HASWELL)}


@pytest.fixture(scope="module")
def page():
    return ps.PAGE.read_text(encoding="utf-8")


def test_performance_summary_is_what_the_tables_give(runs):
    assert ps.OUT.read_text(encoding="utf-8") == ps.summary(runs["main"], runs["haswell"]), (
        "book/performance_summary.md is out of date: run python3 tools/performance_summary.py")


def test_performance_page_includes_the_summary_and_types_none(page):
    assert "```{include} performance_summary.md\n```" in page
    assert "| Sweep |" not in page, "the sweeps' summary is generated (performance_summary.md), not typed"


def test_performance_prose_ratios_are_the_runs(page, runs):
    problems = ps.check_claims(page, runs)
    assert not problems, "\n".join(problems)


def test_performance_prose_quotes_no_other_ratio(page):
    stray = ps.unclaimed_ratios(page)
    assert not stray, ("ratios on the page that come from no row of the runs' tables (add them to CLAIMS in "
                       "tools/performance_summary.py, or to NOT_FROM_THE_RUN with what they are):\n"
                       + "\n".join(stray))


def test_performance_claims_catch_a_changed_number(page, runs):
    """The check itself: a ratio typed differently from its row is reported."""
    text, which, value = ps.CLAIMS[0]
    written = ps._norm(page)
    before = ps._norm(text.split("{}")[0])
    i = written.index(before) + len(before)
    j = i
    while written[j].isdigit() or written[j] in ",.":
        j += 1
    changed = written[:i] + str(round(value(runs[which]) * 1.3 + 7)) + written[j:]
    assert ps.check_claims(changed, runs), "a changed ratio went unnoticed"


def test_performance_summary_worst_ratios_match_the_sweep_rows(runs):
    """Each sweep's last row ("worst of the sweep") is the largest ours / reference of its rows."""
    for _label, _sizes, source, _peers in ps.SUMMARY:
        if source[0] != "sweep":
            continue
        value, _ = runs["main"].sweep_worst(source[1])
        rows = runs["main"].sweep_rows(source[1])
        largest = max(r.ours / r.peer for r in rows)
        assert abs(value - largest) <= 0.02 * largest, source[1]


def test_kalman_bench_times_its_peers_in_alternation():
    """filterpy and pykalman are timed in one alternation with ours (``interleaved_times``), not one after the
    other: on a shared machine a ratio of separate timings measures the load (read from the source, not run)."""
    import ast
    source = (ROOT / "benchmarks" / "bench_kalman.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    run = next(f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "run")
    calls = {n.func.id for n in ast.walk(run) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "best_time" not in calls, "bench_kalman.run times something on its own (best_time)"
    assert "interleaved_times" in calls
    contenders = next(n for n in ast.walk(run) if isinstance(n, ast.Assign)
                      and any(isinstance(t, ast.Name) and t.id == "contenders" for t in n.targets))
    text = ast.get_source_segment(source, contenders)
    assert "_filterpy" in text and "_pykalman" in text and "ours_fn" in text
