"""Structure of the book: the table of contents, and the anatomy every chapter notebook must have.

These checks read files only (the notebooks themselves are executed by nbval and by the book
build); they catch a notebook that lost its asserting cell, its animation, its widget or its
exercises, and a table of contents that points at nothing.
"""
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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


# ------------------------------------------------------------------ going live: Colab, Binder, JupyterLite
def _config():
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def _pins():
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return {line.split("==")[0].strip().lower(): line.strip() for line in lines if "==" in line and not line.startswith("#")}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_cell_installs_the_library_where_it_is_missing(path):
    """Colab and JupyterLite start without pedagogy_lib: the first cell installs it there, and only there."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    cells = _cells(path)
    first = cells[0]
    src = _src(first)
    assert first["cell_type"] == "code", f"{path.name}: the first cell must be the install cell"
    assert "remove-cell" in first.get("metadata", {}).get("tags", []), f"{path.name}: the install cell is hidden"
    tree = ast.parse(TransformerManager().transform_cell(src))
    guard = tree.body[0] if tree.body else None
    assert isinstance(guard, ast.Try) and len(tree.body) == 1, f"{path.name}: the cell is one try/except"
    assert [a.name for s in guard.body if isinstance(s, ast.Import) for a in s.names] == ["pedagogy_lib"]
    assert [ast.unparse(h.type) for h in guard.handlers] == ["ImportError"], f"{path.name}: installs only on ImportError"
    url = _config()["repository"]["url"]
    import tomllib
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert f'%pip install -q "pedagogy_lib @ git+{url}@v{version}"' in src, \
        f"{path.name}: Colab installs release v{version} from {url}"
    assert re.search(r'sys\.platform == "emscripten":.*\n\s+%pip install -q pedagogy_lib\n', src), \
        f"{path.name}: JupyterLite installs the wheel shipped with the site"
    rest = "\n".join(_src(c) for c in cells[1:] if c["cell_type"] == "code")
    pins = _pins()
    for peer in ("hmmlearn", "pykalman"):                # what Colab lacks and this page uses
        if re.search(rf"\b{peer}\b", rest):
            assert pins[peer] in src, f"{path.name} uses {peer}: its install cell must install {pins[peer]}"


def _bound_and_free_names(src):
    """Names a cell binds anywhere, and names it reads without binding them itself."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    tree = compile(TransformerManager().transform_cell(src), "<cell>", "exec",
                   flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    bound, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, used - bound


REMOVED_TAGS = {"remove-cell", "remove-input"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_visible_code_relies_on_no_name_defined_only_in_removed_cells(path):
    """A reader must see where every name comes from (`check`, `hmm`, `kf`...): imports and setup that
    visible code uses are visible on the page (collapsed is fine), never in a removed cell."""
    import builtins

    visible_bound, removed_bound, uses = set(), {}, []
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        bound, free = _bound_and_free_names(_src(cell))
        if REMOVED_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            for name in bound:
                removed_bound.setdefault(name, i)
        else:
            visible_bound |= bound
            uses.append((i, free))
    hidden = sorted({f"{name} (used in cell {i}, defined in removed cell {removed_bound[name]})"
                     for i, free in uses for name in free
                     if name in removed_bound and name not in visible_bound and not hasattr(builtins, name)})
    assert not hidden, f"{path.name}: visible code uses names defined only in removed cells: {hidden[:8]}"


def test_numba_is_optional_for_the_library_but_installed_for_readers():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [d for d in project["dependencies"] if re.match(r"numba\b", d)], "numba must not be required"
    assert any(re.match(r"numba\b", d) for d in project["optional-dependencies"]["fast"])
    assert "numba" in _pins(), "requirements.txt keeps numba, so Binder and local readers get the fast kernels"


def test_binder_installs_requirements_and_warms_the_numba_cache():
    binder = ROOT / "binder"
    reqs = (binder / "requirements.txt").read_text(encoding="utf-8").split()
    assert "../requirements.txt" in reqs, "Binder must install the readers' requirements.txt"
    runtime = (binder / "runtime.txt").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"python-3\.(1[1-9])", runtime), runtime       # pyproject: requires-python >= 3.11
    post = binder / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    assert "python -m pedagogy_lib.core.warmup" in post.read_text(encoding="utf-8")
    warmup = (ROOT / "pedagogy_lib" / "core" / "warmup.py").read_text(encoding="utf-8")
    assert 'if __name__ == "__main__":' in warmup


def test_every_chapter_page_gets_a_jupyterlite_button_that_resolves():
    """The button's URL is relative to the page: it is right only for pages two folders below the root.
    (The book build then checks every built page's button against the built lite site.)"""
    config = _config()
    url = config["launch_buttons"]["jupyterlite_url"]
    assert url == "../../lite/notebooks/index.html"
    assert config["sphinx"]["local_extensions"].get("lite_build") == "lite"
    assert (ROOT / "lite" / "lite_build.py").exists() and (ROOT / "lite" / "jupyter_lite_config.json").exists()
    wrong_depth = [str(p.relative_to(ROOT)) for p in NOTEBOOKS if len(p.relative_to(ROOT).parts) != 3]
    assert not wrong_depth, f"notebooks not at chapters/<chapter>/<name>.ipynb: {wrong_depth}"


def test_landing_page_contents_reach_every_section():
    """The landing page's contents list every section, not only the chapters.

    A chapter's sections show there only when the chapter's own page has a visible list of them:
    an index page with a ``{tableofcontents}`` directive, or ``options: {hidden: false}`` on the
    chapter in ``_toc.yml`` (Chapter 2 opens with a notebook). Without either, the sections are
    missing from the contents, as Chapter 2's once were.
    """
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    hidden = []
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            if not chapter.get("sections"):
                continue
            visible = (chapter.get("options") or {}).get("hidden") is False
            page = _resolve(chapter["file"])
            if not visible and page is not None and page.suffix == ".md":
                visible = "{tableofcontents}" in page.read_text(encoding="utf-8")
            if not visible:
                hidden.append(chapter["file"])
    assert not hidden, f"chapters whose sections the landing page would not list: {hidden}"


def test_no_page_loads_a_script_or_style_from_another_site():
    """Templates, static files and local extensions point at nothing outside the built site.

    (The built pages themselves are checked with the network blocked by the browser tests.)
    """
    pattern = re.compile(r"""(?:src|href)\s*=\s*["']https?://|@import\s+url\(\s*["']?https?://""")
    offenders = []
    for folder in ("_templates", "_static"):
        for path in sorted((ROOT / folder).rglob("*")) if (ROOT / folder).is_dir() else []:
            if path.is_file() and pattern.search(path.read_text(encoding="utf-8", errors="replace")):
                offenders.append(str(path.relative_to(ROOT)))
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    if re.search(r"mathjax_path:\s*\S*https?://", config):
        offenders.append("_config.yml (mathjax_path)")
    assert not offenders, f"files that load from another site: {offenders}"


# ------------------------------------------------------------------ citing the draft as a reader can
# A reader has the draft's PDF, not the text conversion we work from: "line 1234", "lines 120-130",
# "L1234", "l. 123" or "ll. 12-14" mean nothing to them. Digits are required (two or more, or L with
# three or more), so "line search", "a line of code" or "the L2 norm" are not flagged.
LINE_REFERENCE = re.compile(
    r"\b(?:lines?|ll?\.)[ \t\n]*\d{2,5}\b"        # line 1234, lines 120-130, l. 123, ll. 12-14
    r"|\bL\d{3,5}\b",                             # L1234, L2064-2066
    flags=re.I)
LINE_REFERENCE_EXAMPLES = ("line 1234", "lines 120-130", "its lines\n1513 and 1517", "L1234", "(L2064-2066)",
                           "l. 123", "ll. 12-14", "Line 889")
NOT_LINE_REFERENCES = ("line search", "a line of code", "the first line of Eq. 5.13", "the L2 norm",
                       "L1 penalty", "an L-BFGS step", "baseline 2024", "inline 300", "the 12 lines")
CONVERSION_CLAIM = re.compile(r"missing from the draft|lost in (?:the )?conversion|image is missing|"
                              r"only as captions?|captions only|does not exist yet|text version of the draft|"
                              r"not in our copy|\[\[\[table",
                              flags=re.I)


def _reader_visible_texts():
    """Everything a reader can see: notebooks (every cell), book pages, chapter pages, the README,
    and the library's source (docstrings, comments and the messages its checkers print)."""
    for path in NOTEBOOKS:
        for i, cell in enumerate(_cells(path)):
            yield f"{path.relative_to(ROOT)} cell {i}", _src(cell)
    pages = sorted((ROOT / "book").glob("*.md")) + sorted((ROOT / "chapters").rglob("*.md")) + [ROOT / "README.md"]
    for path in pages:
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "pedagogy_lib").rglob("*.py")):
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def test_line_reference_pattern_catches_the_usual_forms_only():
    assert all(LINE_REFERENCE.search(s) for s in LINE_REFERENCE_EXAMPLES)
    assert not any(LINE_REFERENCE.search(s) for s in NOT_LINE_REFERENCES)


def test_no_line_numbers_of_the_draft_anywhere_a_reader_can_see():
    """Cite the draft by section, equation, figure, footnote or quoted words, never by line number."""
    found = [f"{where}: {m.group(0)!r}" for where, text in _reader_visible_texts()
             for m in LINE_REFERENCE.finditer(text)]
    assert not found, "line-number references to the draft:\n" + "\n".join(found)


def test_no_claims_about_what_the_conversion_of_the_draft_lost():
    """The reader's PDF may have the figure or box our text conversion lacks: never claim it is missing."""
    found = [f"{where}: {m.group(0)!r}" for where, text in _reader_visible_texts()
             for m in CONVERSION_CLAIM.finditer(text)]
    assert not found, "claims about the draft's missing pieces:\n" + "\n".join(found)


def test_every_erratum_row_cites_a_test():
    """Each row of a table with a "Demonstrated by" column names at least one test in tests/."""
    text = (ROOT / "book" / "errata.md").read_text(encoding="utf-8")
    uncited, header = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        if header is None:
            header = line
            continue
        if set(line) <= set("|- "):
            continue
        if "Demonstrated by" in header and not re.search(r"`tests/[\w/]+\.py::\w+`", line):
            uncited.append(line[:80])
    assert not uncited, f"errata rows without a demonstrating test: {uncited}"


#: Characters of code that fit on one line of a code block in the article column at a 1280 px
#: window (measured in headless Chromium on a built page: the block is 666 px wide, 634 px inside
#: its padding, and the 14 px monospace font advances 8.43 px a character, as DejaVu Sans Mono,
#: Menlo and Source Code Pro do), so 75. A longer line makes its block scroll sideways.
CODE_COLUMNS = 75

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")


def _fenced_code_lines(markdown: str):
    """``(line number, line)`` of the code blocks of a markdown cell (fenced, any language); the
    bodies of MyST directives that hold prose (``{note}``, ``{admonition}``, ``{math}``...) are read
    as markdown, so a code block inside a solution counts."""
    lines = markdown.split("\n")
    prose_fences, k = [], 0
    while k < len(lines):
        m = _FENCE.match(lines[k])
        if not m:
            k += 1
            continue
        fence, info = m.group(2), m.group(3).strip()
        if prose_fences and not info and fence == prose_fences[-1]:
            prose_fences.pop()
            k += 1
            continue
        if info.startswith("{") and not info.startswith("{code"):
            prose_fences.append(fence)
            k += 1
            continue
        end = k + 1
        while end < len(lines) and lines[end].strip() != fence:
            yield end + 1, lines[end]
            end += 1
        k = end + 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_lines_fit_the_column_at_1280px(path):
    """Every line of code a reader sees (code cells not removed from the page, code blocks in the
    markdown) is at most CODE_COLUMNS characters, so no code block scrolls sideways at 1280 px."""
    too_long = []
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            if REMOVED_TAGS & set(cell.get("metadata", {}).get("tags", [])):
                continue                                  # never on the page
            kind, lines = "code cell", enumerate(_src(cell).split("\n"), 1)
        elif cell["cell_type"] == "markdown":
            kind, lines = "code block in markdown cell", _fenced_code_lines(_src(cell))
        else:
            continue
        too_long += [f"{kind} {i}, line {n}: {len(line)} characters: {line.strip()[:50]}"
                     for n, line in lines if len(line) > CODE_COLUMNS]
    assert not too_long, (
        f"{path.relative_to(ROOT)}: {len(too_long)} lines of code are longer than {CODE_COLUMNS} "
        f"characters, the width of a code block at 1280 px, and scroll sideways (cells counted from 0, "
        f"lines from 1); break them inside brackets or shorten them:\n  " + "\n  ".join(too_long[:15])
        + (f"\n  ... and {len(too_long) - 15} more" if len(too_long) > 15 else ""))


def test_code_lines_of_the_book_pages_fit_the_column_at_1280px():
    """The same limit for the code blocks of the markdown pages (front matter, chapter pages)."""
    pages = sorted((ROOT / "book").glob("*.md")) + sorted((ROOT / "chapters").rglob("*.md"))
    too_long = [f"{page.relative_to(ROOT)}, line {n}: {len(line)} characters: {line.strip()[:50]}"
                for page in pages for n, line in _fenced_code_lines(page.read_text(encoding="utf-8"))
                if len(line) > CODE_COLUMNS]
    assert not too_long, (f"code lines longer than {CODE_COLUMNS} characters, which scroll sideways at "
                          "1280 px:\n  " + "\n  ".join(too_long))


def test_fenced_code_lines_reads_code_blocks_inside_prose_directives():
    md = ("text\n```{note}\nprose " + "x" * 90 + "\n```python\n" + "y" * 80 + "\n```\n```\n"
          "```{math}\n" + "z" * 90 + "\n```\n~~~\nplain\n~~~")
    assert [n for n, _ in _fenced_code_lines(md)] == [5, 12]


#: A line that starts with a list marker ("+ ", "- ", "* ", "1. ") begins a list, even in the middle of a
#: paragraph: inside inline math that spans lines, it cuts the formula in two and prints its second half as
#: a bullet of raw LaTeX. Such a line must carry its operator at the end of the line before.
_LIST_MARKER = re.compile(r"^\s*(?:[+*-]|\d+[.)])\s+")


def _list_markers_inside_inline_math(text):
    """(line number from 1, line) of each line of ``text`` that begins with a list marker while an inline
    $...$ opened on an earlier line of the same paragraph is still open (code and $$ displays skipped)."""
    found, fence, display, inline = [], False, False, False
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fence = not fence
            continue
        if fence:
            continue
        if inline and not display and _LIST_MARKER.match(line):
            found.append((n, line.strip()[:50]))
        if not stripped:
            inline = False
            continue
        j, code = 0, False
        while j < len(line):
            if line[j] == "`":
                code = not code
            elif not code and line[j] == "\\":
                j += 2
                continue
            elif not code and line[j] == "$":
                if line[j:j + 2] == "$$":
                    display = not display
                    j += 2
                    continue
                inline = inline if display else not inline
            j += 1
    return found


def test_list_markers_inside_inline_math_are_found():
    assert _list_markers_inside_inline_math("so $a\n+ b$ and\n- a list") == [(2, "+ b$ and")]
    assert _list_markers_inside_inline_math("$$\na\n+ b\n$$\n- item\n`$` x\n+ y") == []
    assert _list_markers_inside_inline_math("cost \\$5 and $x +\ny$\n1. step") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_formula_is_cut_by_a_line_that_starts_a_list(path):
    """Inline math that spans lines never has a line starting with "+ ", "- " or "1. ": Markdown would
    start a list there and print the rest of the formula as raw LaTeX in a bullet."""
    cut = [f"markdown cell {i}, line {n}: {line}" for i, cell in enumerate(_cells(path))
           if cell["cell_type"] == "markdown" for n, line in _list_markers_inside_inline_math(_src(cell))]
    assert not cut, (f"{path.relative_to(ROOT)}: a line inside inline math starts with a list marker; move "
                     "the operator to the end of the line before:\n  " + "\n  ".join(cut))


#: A $$ display holding a line break (\\) is wrapped by Sphinx's MathJax writer in a split
#: environment, where MathJax refuses \tag and prints an error box; such a display must be written
#: as a bare amsmath environment (\begin{equation} ... \end{equation}), which is passed through.
_DOLLAR_DISPLAY = re.compile(r"\$\$(.*?)\$\$", re.S)


def _tagged_multiline_displays(text):
    return [m.group(1).strip()[:50] for m in _DOLLAR_DISPLAY.finditer(text)
            if "\\tag" in m.group(1) and "\\\\" in m.group(1)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_tag_inside_a_display_that_sphinx_wraps_in_split(path):
    bad = [f"markdown cell {i}: {snippet}" for i, cell in enumerate(_cells(path))
           if cell["cell_type"] == "markdown" for snippet in _tagged_multiline_displays(_src(cell))]
    assert not bad, (f"{path.relative_to(ROOT)}: a $$ display with \\\\ and \\tag becomes a TeX "
                     "error on the page; write it as \\begin{equation}...\\end{equation} instead:\n  "
                     + "\n  ".join(bad))


def test_tagged_multiline_display_pattern():
    assert _tagged_multiline_displays("$$\na \\\\ b \\tag{1}\n$$ and $$c \\tag{2}$$") == ["a \\\\ b \\tag{1}"]
    assert not _tagged_multiline_displays("\\begin{equation}\na \\\\ b \\tag{1}\n\\end{equation}")


def _display_math_after_text(path: Path) -> list[str]:
    """Markdown lines ``$$`` that open a display formula right after a line of text (outside code
    fences): MyST then keeps the formula as raw TeX in the paragraph instead of typesetting it."""
    found = []
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        lines = "".join(cell["source"]).split("\n")
        inside = fence = False
        for j, line in enumerate(lines):
            if line.strip().startswith(("```", "~~~")):
                fence = not fence
            if fence or line.strip() != "$$":
                continue
            if not inside and j > 0 and lines[j - 1].strip():
                found.append(f"markdown cell {i}, line {j + 1}: $$ right after {lines[j - 1].strip()[:40]!r}")
            inside = not inside
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_display_formulas_open_a_paragraph_of_their_own(path):
    """A ``$$`` block must follow a blank line (the browser tests find the raw TeX it leaves
    otherwise, but only after a full build)."""
    found = _display_math_after_text(path)
    assert not found, f"{path.relative_to(ROOT)}: put a blank line before these formulas: {found}"


def test_display_formula_check_sees_a_formula_glued_to_text(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": ["Text before,\n", "$$\n", "x = 1\n", "$$\n"]}]}
    path = tmp_path / "glued.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert len(_display_math_after_text(path)) == 1
    nb["cells"][0]["source"].insert(1, "\n")
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert _display_math_after_text(path) == []
