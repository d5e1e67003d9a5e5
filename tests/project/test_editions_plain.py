"""The editions read outside the book: plain Markdown, and links that lead somewhere.

A student opens the student edition or the nbgrader release in plain Jupyter, where MyST is not
rendered and the book's other pages are not beside the notebook. Every markdown cell of every
edition must therefore be free of MyST markup, and every link must be either a notebook of the same
edition (relative) or a page of the published site that the book has. A number glued into a
solution (``{glue:text}`name```) shows the value the notebook computed, never its name.
"""
from __future__ import annotations

import ast
import builtins
import copy
import functools
import json
import re
from pathlib import Path

import pytest
from scipy.optimize import brentq

from courseware import editions, plain

#: Writing the editions reads the whole book once (about 10 s of CPU).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: Three pages with exercises of different kinds, links to book pages, citations and directives.
NOTEBOOKS = ["chapters/ch02_directed_generative_models/2_2_2_kalman_filter.ipynb",
             "chapters/appendix_b_mathematical_appendix/b_3_matrix_identities.ipynb",
             "chapters/ch08_learning_non_invertible_models/8_4_2_black_box_vi.ipynb"]
#: What MyST writes and plain Markdown shows as raw text.
RAW_MYST = {"a directive": re.compile(r"^(:{3,}|`{3,})\{[\w:-]+\}", re.M), "a role": re.compile(r"\{[a-z][\w:-]*\}`"),
            "an option line": re.compile(r"^:(label|class|name):", re.M), "a target line": re.compile(r"^\([\w-]+\)=$", re.M)}
_LINK_RE = re.compile(r"\]\((?P<href>[^)\s]+)\)")


def _stand_in_values(path: Path, nb: dict) -> dict:
    """Glued values for the Markdown tests here, which need no executed notebook: one stand-in number
    per name (the glue tests below take real ones from an execution)."""
    return {name: {"text/plain": "'4.25'"} for name in editions.glue_names(nb)}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("editions")
    notebooks = [ROOT / n for n in NOTEBOOKS if (ROOT / n).exists()]
    assert len(notebooks) == len(NOTEBOOKS), "a notebook this test reads has moved"
    editions.write_editions(out, notebooks=notebooks, update_points=False, glued=_stand_in_values)
    return out


def _markdown(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def _without_maths(text: str) -> str:
    """``text`` with its formulas blanked (``[a,b](x)`` in TeX is no link)."""
    return re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", "$$", text, flags=re.S)


def _editions(out: Path) -> list[Path]:
    found = sorted(p for sub in ("student", "instructor", "nbgrader/source") for p in (out / sub).rglob("*.ipynb"))
    assert len(found) == 4 * len(NOTEBOOKS)       # the section's nbgrader assignment is a second copy
    return found


def test_no_edition_shows_raw_myst(written):
    problems = [f"{p.relative_to(written)}: {what} in {text[:80]!r}"
                for p in _editions(written) for text in _markdown(p)
                for what, pattern in RAW_MYST.items() if pattern.search(text)]
    assert problems == []


def test_every_link_of_an_edition_leads_to_a_notebook_beside_it_or_a_published_page(written):
    """Relative links only in the student and instructor editions, which hold every notebook at its
    path under ``chapters/``; an nbgrader assignment holds one notebook, so only published pages."""
    site = plain.site_url(ROOT)
    problems = []
    for path in _editions(written):
        edition, rel = path.relative_to(written).parts[0], path.relative_to(written)
        for text in _markdown(path):
            for m in _LINK_RE.finditer(_without_maths(text)):
                href = m.group("href").split("#")[0]
                if href.startswith(site):
                    page = href[len(site):].removesuffix(".html")
                    if not any((ROOT / f"{page}{ext}").exists() for ext in (".md", ".ipynb")):
                        problems.append(f"{rel}: {href} is no page of the book")
                elif re.match(r"[a-z][\w+.-]*:", href) or not href:
                    continue                      # another site: the build's link check covers it
                elif edition == "nbgrader":
                    problems.append(f"{rel}: {href} is relative, but the assignment holds one notebook")
                elif not (ROOT / "chapters" / Path(*rel.parts[1:]).parent / href).exists():
                    problems.append(f"{rel}: {href} leads nowhere in the edition")
    assert problems == []


def test_each_exercise_reads_as_markdown_with_its_label_and_the_rules_link(written):
    for nb in NOTEBOOKS:
        labels = [e.label for e in editions.read_notebook(ROOT / nb).exercises]
        text = "\n".join(_markdown(written / "student" / Path(nb).relative_to("chapters")))
        for label in labels:
            assert f"**Exercise ({label})**" in text
        rules = plain.site_url(ROOT) + "book/grading_rules.html"
        assert text.count(rules) >= len(labels)


def test_the_instructor_edition_keeps_each_solution_and_the_student_edition_none(written):
    for nb in NOTEBOOKS:
        rel = Path(nb).relative_to("chapters")
        labels = [e.label for e in editions.read_notebook(ROOT / nb).exercises]
        student = "\n".join(_markdown(written / "student" / rel))
        instructor = "\n".join(_markdown(written / "instructor" / rel))
        for label in labels:
            assert f"**Solution ({label}).**" in instructor
            assert f"Solution ({label})" not in student


# --- glued numbers -------------------------------------------------------------------------------
#: Its scalar-posterior solution glues the gain, the noise variance and the posterior variance.
GLUED = ROOT / "chapters/ch02_directed_generative_models/2_1_2_jointly_gaussian.ipynb"
SCALAR_LABEL = "ex-2-1-2-scalar-posterior"


def _names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(names a cell binds, names it reads) at any depth: enough to find the cells a cell needs."""
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return bound, read


def _glue_run(nb: dict) -> tuple[dict, list[int]]:
    """The notebook cut to the cells that glue and, recursively, the last earlier cell binding each
    name they read: one small notebook to execute instead of the page (2.1.2 runs 4 of its cells)."""
    from IPython.core.inputtransformer2 import TransformerManager

    code = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    src = {i: "".join(nb["cells"][i]["source"]) for i in code}
    as_python = TransformerManager().transform_cell          # %pip and other magics as calls
    names = {i: _names(ast.parse(as_python(src[i]))) for i in code}
    todo = [i for i in code if "import glue" in src[i]]
    assert todo, "the notebook glues nothing"
    keep = set(todo)
    while todo:
        i = todo.pop()
        for name in sorted(names[i][1] - names[i][0] - set(dir(builtins))):
            earlier = [j for j in code if j < i and name in names[j][0]]
            assert earlier, f"no cell before cell {i} binds {name}"
            if earlier[-1] not in keep:
                keep.add(earlier[-1])
                todo.append(earlier[-1])
    return dict(nb, cells=[copy.deepcopy(nb["cells"][i]) for i in sorted(keep)]), sorted(keep)


@pytest.fixture(scope="module")
def executed_copy(tmp_path_factory):
    """A folder holding an executed copy of 2.1.2 at its path in the checkout: the notebook with the
    outputs of its glue cells, which ran (with the cells they need) as the build runs notebooks."""
    nb = json.loads(GLUED.read_text(encoding="utf-8"))
    small, kept = _glue_run(nb)
    assert len(kept) < len([c for c in nb["cells"] if c["cell_type"] == "code"]) // 4
    ran = editions.execute_notebook(small, GLUED)
    full = copy.deepcopy(nb)
    for i, cell in zip(kept, ran["cells"]):
        full["cells"][i]["outputs"] = cell["outputs"]
    folder = tmp_path_factory.mktemp("executed")
    target = folder / GLUED.relative_to(ROOT)
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(full), encoding="utf-8")
    return folder


def _scalar_numbers() -> tuple[float, float, float]:
    """The gain, noise variance and posterior variance of check.EX_SCALAR, found here from the
    information form (Eqs. 2.13-2.14): the noise variance is the one whose posterior mean is the
    problem's, found by bisection, not by the solution's closed form."""
    from pedagogy_lib.exercises import ch02_gaussian

    p = ch02_gaussian.EX_SCALAR

    def post(noise):
        precision = 1 / p.sigma2_x + p.C**2 / noise
        return (p.mu_x / p.sigma2_x + p.C * (p.y - p.c) / noise) / precision, 1 / precision

    noise = brentq(lambda n: post(n)[0] - p.mean_post, 1e-6, 1e6, xtol=1e-12)
    gain = (p.mean_post - p.mu_x) / (p.y - p.C * p.mu_x - p.c)
    return gain, noise, post(noise)[1]


def _solution_text(nb_path: Path, label: str) -> str:
    """The quoted solution block of ``label`` in an instructor edition, without its quote marks."""
    marker = f"**Solution ({label}).**"
    text = next(t for t in _markdown(nb_path) if marker in t)
    block = []
    for line in text[text.rfind("\n", 0, text.index(marker)) + 1:].splitlines():
        if not line.startswith(">"):
            break
        block.append(re.sub(r"^> ?", "", line))
    return "\n".join(block)


def test_an_instructor_edition_shows_the_glued_values(executed_copy, tmp_path):
    out = tmp_path / "editions"
    editions.write_editions(out, notebooks=[GLUED], update_points=False,
                            glued=functools.partial(editions.glued_values, copies=(executed_copy,), execute=False))
    nb = json.loads(GLUED.read_text(encoding="utf-8"))
    names = editions.glue_names(nb)
    assert {"ex212_gain", "ex212_noise", "ex212_var"} <= names
    rel = GLUED.relative_to(ROOT / "chapters")
    for path in (out / "instructor" / rel, out / "student" / rel, out / "nbgrader" / "source" / rel):
        text = "\n".join(_markdown(path))
        assert "{glue" not in text and not any(name in text for name in names), path
    solution = _solution_text(out / "instructor" / rel, SCALAR_LABEL)
    m = re.search(r"the gain is\s+(\S+) / (\S+) = (\S+), the noise variance.*?= (\S+) and the "
                  r"posterior variance.*?= ([^\s.]+(?:\.\d+)?)", solution, re.S)
    assert m, solution
    gain, noise, var = _scalar_numbers()
    shown = [float(m.group(k)) for k in (3, 4, 5)]
    # the page prints three significant figures: half a unit of the third
    assert shown == pytest.approx([gain, noise, var], rel=5e-3), (shown, solution)
    assert float(m.group(1)) / float(m.group(2)) == pytest.approx(gain, rel=5e-3)


def test_a_glue_name_with_no_value_stops_the_editions(executed_copy, tmp_path):
    """An executed copy that lacks one glued value: the editions fail naming it, and never show it."""
    target = executed_copy / GLUED.relative_to(ROOT)
    nb = json.loads(target.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        cell["outputs"] = [o for o in cell.get("outputs", [])
                           if (o.get("metadata") or {}).get("scrapbook", {}).get("name") != "ex212_noise"]
    lacking = tmp_path / "lacking"
    (lacking / GLUED.relative_to(ROOT)).parent.mkdir(parents=True)
    (lacking / GLUED.relative_to(ROOT)).write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(editions.NotebookFormatError, match="ex212_noise"):
        editions.write_editions(tmp_path / "out", notebooks=[GLUED], update_points=False,
                                glued=functools.partial(editions.glued_values, copies=(lacking,), execute=False))
    with pytest.raises(editions.NotebookFormatError, match="no executed copy"):
        editions.glued_values(GLUED, json.loads(GLUED.read_text(encoding="utf-8")), copies=(tmp_path / "none",),
                              execute=False)
    page = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "K = {glue:text}`ex212_gain`."}]}
    with pytest.raises(ValueError, match="ex212_gain"):
        plain.plain_notebook(copy.deepcopy(page), GLUED, glued={})
    shown = plain.plain_notebook(page, GLUED, glued={"ex212_gain": {"text/plain": "'0.4'"}})
    assert "".join(shown["cells"][0]["source"]) == "K = 0.4."


def test_an_executed_copy_is_found_in_an_execution_cache_by_its_code(executed_copy, tmp_path):
    """The book's build caches executed notebooks by the hash of their code (jupyter-cache): a copy
    cached for the notebook as it is now is found; none is found once the code changes."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    ran = nbformat.read(executed_copy / GLUED.relative_to(ROOT), as_version=4)
    cache = get_cache(str(tmp_path / "cache"))
    cache.cache_notebook_bundle(CacheBundleIn(ran, str(GLUED)), check_validity=False)
    found = editions.executed_copy(GLUED, copies=(tmp_path / "cache",))
    assert found is not None
    shown = float(plain.glued_text(editions.glued_outputs(found)["ex212_var"]["text/plain"]))
    assert shown == pytest.approx(_scalar_numbers()[2], rel=5e-3)
    changed = tmp_path / "changed" / GLUED.relative_to(ROOT)
    nb = json.loads(GLUED.read_text(encoding="utf-8"))
    next(c for c in nb["cells"] if c["cell_type"] == "code")["source"] += ["\n# changed"]
    changed.parent.mkdir(parents=True)
    changed.write_text(json.dumps(nb), encoding="utf-8")
    assert editions.executed_copy(changed, copies=(tmp_path / "cache",)) is None


def test_the_command_reads_copies_made_in_its_own_setting(executed_copy, monkeypatch):
    """The test command's copies ran training pages short (PEDAGOGY_FAST=1): the editions read them only
    in that setting, the book's cache otherwise; the command gathers the values one process per core."""
    monkeypatch.delenv("PEDAGOGY_FAST", raising=False)
    assert editions.executed_copies() == (editions.BOOK_CACHE,)
    monkeypatch.setenv("PEDAGOGY_FAST", "1")
    assert editions.executed_copies() == editions.TEST_COPIES
    monkeypatch.setattr(editions, "TEST_COPIES", (executed_copy,))
    plain_page = next(p for p in editions.chapter_notebooks()
                      if not editions.glue_names(json.loads(p.read_text(encoding="utf-8"))))
    table = editions.glued_table([GLUED, plain_page], workers=2)
    assert table[plain_page.resolve()] == {}
    shown = float(plain.glued_text(table[GLUED.resolve()]["ex212_noise"]["text/plain"]))
    assert shown == pytest.approx(_scalar_numbers()[1], rel=5e-3)


def _bound_and_read(code: str) -> tuple[set[str], set[str]]:
    """Names a cell binds anywhere (assignments, definitions, imports, loop targets) and names it reads,
    by a walk of its own (not the editions' helper); a cell that does not parse binds and reads nothing."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(), set()
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, (ast.Store, ast.Del)) else read).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return bound, read


@pytest.mark.parametrize("path", editions.chapter_notebooks(), ids=lambda p: p.stem)
def test_the_student_edition_keeps_no_cell_that_reads_what_a_removed_cell_made(path):
    """A hidden cell left in the student edition must run there: it reads no name that only the cells the
    edition removes (the solution checks) bind, or Run All stops at it with a NameError."""
    ch = editions.read_notebook(path)
    nb = ch.nb
    removed = set(ch.solution_checks)
    code = [(j, "".join(c["source"])) for j, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    kept_bound = set(dir(builtins)).union(*(_bound_and_read(src)[0] for j, src in code if j not in removed))
    removed_bound = set().union(*(_bound_and_read(src)[0] for j, src in code if j in removed))
    broken = {j: sorted((_bound_and_read(src)[1] & removed_bound) - kept_bound)
              for j, src in code if j not in removed}
    assert not {j: names for j, names in broken.items() if names}, (
        f"{path.name}: cells of the student edition read names that only removed solution checks bind")
