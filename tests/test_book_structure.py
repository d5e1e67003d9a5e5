"""Structure of the book: the table of contents, and the anatomy every chapter notebook must have.

These checks read files only (the notebooks themselves are executed by nbval and by the book
build); they catch a notebook that lost its asserting cell, its animation, its widget or its
exercises, and a table of contents that points at nothing.
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _toc_files():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return re.findall(r"(?:root|file):\s*(\S+)", toc)


def _resolve(entry):
    for suffix in (".md", ".ipynb"):
        if (ROOT / f"{entry}{suffix}").exists():
            return ROOT / f"{entry}{suffix}"
    return None


def test_every_toc_entry_exists():
    missing = [e for e in _toc_files() if _resolve(e) is None]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


def test_every_notebook_is_in_the_toc():
    listed = {_resolve(e) for e in _toc_files()}
    orphans = [str(p.relative_to(ROOT)) for p in NOTEBOOKS if p not in listed]
    assert not orphans, f"notebooks missing from _toc.yml: {orphans}"


def test_front_matter_pages_exist():
    for page in ("intro", "notation", "how_to_use", "for_instructors", "errata", "references"):
        assert (ROOT / "book" / f"{page}.md").exists(), page


def _cells(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return nb["cells"]


def _src(cell):
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_anatomy(path):
    cells = _cells(path)
    markdown = "\n".join(_src(c) for c in cells if c["cell_type"] == "markdown")
    code_cells = [c for c in cells if c["cell_type"] == "code"]
    code = "\n".join(_src(c) for c in code_cells)
    problems = []
    prose = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)      # code fences are not headings
    if len(re.findall(r"^# \S", prose, flags=re.M)) != 1:
        problems.append("exactly one '# ' title")
    if not re.search(r"what you will learn", markdown, flags=re.I):
        problems.append("a 'What you will learn' section")
    if "makin2025" not in markdown:
        problems.append("a citation of the draft ({cite}`makin2025`) with the sections it follows")
    hidden_asserts = [c for c in code_cells
                      if {"remove-input", "remove-cell"} & set(c.get("metadata", {}).get("tags", []))
                      and re.search(r"\bassert\b|assert_allclose|assert_array", _src(c))]
    if not hidden_asserts:
        problems.append("a hidden (remove-input/remove-cell) cell that asserts against an independent answer")
    if "animate(" not in code:
        problems.append("an animation via pedagogy_lib.display.animation.animate")
    if "interactive_plot(" not in code:
        problems.append("a widget via pedagogy_lib.display.widgets.interactive_plot")
    exercises = re.findall(r"^:{3,}\{exercise\}", markdown, flags=re.M)
    solutions = re.findall(r"^:{3,}\{solution\}[^\n]*\n:class: dropdown", markdown, flags=re.M)
    if len(exercises) < 3:
        problems.append(f"at least 3 exercises (found {len(exercises)})")
    if len(solutions) < len(exercises):
        problems.append("a collapsed (:class: dropdown) solution for every exercise")
    if "pedagogy_lib.exercises" not in code:
        problems.append("exercise checkers from pedagogy_lib.exercises")
    if re.search(r"default_rng\(\s*\)", code) or re.search(r"np\.random\.(seed|rand|randn|normal)\(", code):
        problems.append("only seeded np.random.default_rng(seed) randomness")
    if re.search(r"plt\.show\(\)", code):
        problems.append("figures shown with plotting.show(fig, alt=...) (plt.show() has no alt text)")
    if any(c.get("outputs") for c in code_cells):
        problems.append("no stored outputs (the build executes notebooks)")
    assert not problems, f"{path.name} lacks: " + "; ".join(problems)


def test_exercise_labels_are_unique_across_the_book():
    labels = []
    for path in NOTEBOOKS:
        for c in _cells(path):
            if c["cell_type"] == "markdown":
                labels += re.findall(r"^:{3,}\{exercise\}[^\n]*\n:label:\s*(\S+)", _src(c), flags=re.M)
    dupes = {x for x in labels if labels.count(x) > 1}
    assert not dupes, f"duplicate exercise labels: {dupes}"


def test_every_test_cited_on_the_errata_page_exists():
    """An erratum is only as good as the test that demonstrates it: each cited test must exist."""
    text = (ROOT / "book" / "errata.md").read_text(encoding="utf-8")
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", text)
    assert cited, "the errata page cites no tests"
    missing = []
    for path, name in cited:
        file = ROOT / path
        if not file.exists():
            missing.append(path)
        elif name and not re.search(rf"^def {name}\(", file.read_text(encoding="utf-8"), flags=re.M):
            missing.append(f"{path}::{name}")
    assert not missing, f"errata cite tests that do not exist: {missing}"


# Import names of what requirements.txt installs for a reader (Binder, Colab, `tasks.py book`).
READER_IMPORTS = {"numpy", "scipy", "matplotlib", "ipywidgets", "IPython", "ipykernel", "numba", "sklearn",
                  "hmmlearn", "pykalman", "threadpoolctl", "joblib", "pedagogy_lib"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_import_only_what_readers_install(path):
    """`python3 tasks.py book` installs requirements.txt only: a test-only import would break it."""
    import sys

    code = "\n".join(_src(c) for c in _cells(path) if c["cell_type"] == "code")
    names = set(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", code, flags=re.M))
    foreign = sorted(n for n in names if n not in READER_IMPORTS and n not in sys.stdlib_module_names)
    assert not foreign, f"{path.name} imports {foreign}, which requirements.txt does not install"
