"""The teaching kit's parts that need no build (issue 55): the slide marks of the chapter notebooks
(``tools/mark_slides.py``), the decks and figure packs made from an executed notebook
(``_ext/teaching_kit.py``). The built decks, packs and report links are checked in the browser by
``tests/browser/test_teaching_kit.py``."""
from __future__ import annotations

import base64
import gzip
import io
import json
import re
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "_ext"))
sys.path.insert(0, str(ROOT / "tools"))

import mark_slides  # noqa: E402
import teaching_kit as tk  # noqa: E402

NOTEBOOKS = mark_slides.chapter_notebooks()
CREDIT = tk.credit_line("https://github.com/modern-statistical-learning/companion")


def _nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_chapter_notebook_marks_what_the_rule_selects():
    """``python tools/mark_slides.py --check`` passes, and every deck has its goals, a figure or an
    equation, and a "Try it" exercise."""
    assert len(NOTEBOOKS) >= 50
    problems = []
    for path in NOTEBOOKS:
        nb = _nb(path)
        name = path.relative_to(ROOT)
        problems += [f"{name}: cell {i} is selected but carries no slide mark" for i in mark_slides.unmarked(nb)]
        kinds = set(mark_slides.roles(nb).values())
        for needed in ("goals", "try-it"):
            if needed not in kinds:
                problems.append(f"{name}: no {needed} cell")
        if not kinds & {"figure", "equations"}:
            problems.append(f"{name}: neither a figure nor an equation for the slides")
    assert not problems, "\n".join(problems[:20])


def test_marking_writes_metadata_only_and_keeps_an_authors_choice():
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# 1.1 A title\n\n**What you will learn**\n\n- a"},
        {"cell_type": "markdown", "metadata": {}, "source": "Some prose.\n\n$$\nx = 1\n$$\n"},
        {"cell_type": "code", "metadata": {}, "source": "def draw(a):\n    show(fig, alt='a line')\n"},
        {"cell_type": "code", "metadata": {}, "source": "draw(1)  # a figure, through a helper\n"},
        {"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "source": "show(fig, alt='hidden')"},
        {"cell_type": "markdown", "metadata": {"slideshow": {"slide_type": "skip"}}, "source": "$$y$$"},
        {"cell_type": "markdown", "metadata": {"exercise": {}}, "source": ":::{exercise}\n:label: ex-a\nDo.\n:::"},
        {"cell_type": "markdown", "metadata": {"exercise": {}}, "source": ":::{exercise}\n:label: ex-b\nDo.\n:::"},
        {"cell_type": "markdown", "metadata": {}, "source": "## What to remember\n\n- b"},
    ], "metadata": {}}
    sources = [c["source"] for c in nb["cells"]]
    assert mark_slides.roles(nb) == {0: "goals", 1: "equations", 3: "figure", 5: "equations", 6: "try-it",
                                     8: "summary"}
    assert mark_slides.mark(nb) == 5                      # the author's skip on cell 5 stays
    assert nb["cells"][5]["metadata"]["slideshow"] == {"slide_type": "skip"}
    assert [c["source"] for c in nb["cells"]] == sources
    assert mark_slides.mark(nb) == 0 and mark_slides.unmarked(nb) == []


def _exercise_and_solution(nb: dict) -> tuple[str, str, str]:
    """The first exercise's cell, the exercise directive in it, and the solution directive in it."""
    text = next(mark_slides.source(c) for c in nb["cells"] if "exercise" in c.get("metadata", {}))
    blocks = [re.search(r"^(:{3,}|`{3,})\{" + kind + r"\}.*?^\1\s*$", text, re.S | re.M)
              for kind in ("exercise", "solution")]
    return (text, *(b.group(0) if b else "" for b in blocks))


def test_a_try_it_slide_never_shows_the_solution():
    """The first exercise's cell holds its solution too: the slide takes the exercise's statement only."""
    checked = 0
    for path in NOTEBOOKS:
        text, exercise, solution = _exercise_and_solution(_nb(path))
        statement = tk._exercise_statement(text)
        assert statement.strip(), f"{path.name}: an empty statement"
        lines = [ln.strip() for ln in solution.splitlines()[1:] if len(ln.strip()) > 25 and ln.strip() not in exercise]
        shown = [ln for ln in lines if ln in statement]
        assert not shown, f"{path.name}: the Try it slide shows lines of the solution: {shown[:2]}"
        checked += bool(solution)
    assert checked >= 40, "the notebooks' first exercises no longer carry their solutions in the same cell?"


def _png_uri(color=(30, 90, 200), size=(40, 30)) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _executed() -> dict:
    """A small executed chapter notebook: title and goals, a derivation, a figure, an animation, an
    exercise with its solution, the summary."""
    import nbformat

    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
    svgz = base64.b64encode(gzip.compress(svg.encode())).decode()
    frames = [_png_uri((k * 40, 0, 0)) for k in range(5)]
    player = ('<figure class="pgw pgw-player" data-pgw-kind="player"><img class="pgw-img" src="' + frames[0] +
              '" alt="A dot moving right." /><script type="application/json" class="pgw-data">' +
              json.dumps({"frames": frames, "interval": 200}) + '</script></figure>')
    mark = {"slideshow": {"slide_type": "slide"}}
    cells = [
        nbformat.v4.new_markdown_cell("# 9.9 A section\n\n**What you will learn**\n\n- one thing;\n- another.\n\n"
                                      "More words after the list.", metadata=mark),
        nbformat.v4.new_markdown_cell("## Step 1: the posterior\n\nWe complete the square:\n\n$$\n\\phat(x) = \\N(0, 1)"
                                      "\n$$\n\nand so, by {eq}`eq-b`,\n\n$$\n\\E[x] = 0.\n$$", metadata=mark),
        nbformat.v4.new_code_cell("show(fig, alt='A rising line.')", metadata=mark),
        nbformat.v4.new_code_cell("animate(fig, update, 5, alt='A dot moving right.')", metadata=mark),
        nbformat.v4.new_markdown_cell(":::{exercise}\n:label: ex-9-9-a\nFind $x$ with `check.x`.\n:::\n\n"
                                      "::::{solution} ex-9-9-a\n:class: dropdown\nThe answer is forty-two, "
                                      "because of the secret reason.\n::::",
                                      metadata={"exercise": {"skills": []}, **mark}),
        nbformat.v4.new_markdown_cell("## What to remember\n\n- the posterior is Gaussian.\n\nGaps filled here.",
                                      metadata=mark),
    ]
    cells[2].outputs = [nbformat.v4.new_output(
        "display_data", data={"text/html": f'<img src="{_png_uri()}" alt="A rising line." />',
                              "text/plain": "[figure]"}, metadata={tk.SVG_METADATA_KEY: svgz})]
    cells[3].outputs = [nbformat.v4.new_output("display_data", data={"text/html": player})]
    return json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=cells)))


def test_a_deck_has_goals_equations_figures_try_it_and_notes_from_the_prose():
    deck = tk.make_deck(_executed(), "chapters/ch99_x/9_9_a_section", CREDIT)
    slides = [c for c in deck.cells.cells if c.metadata["slideshow"]["slide_type"] == "slide"]
    notes = [c.source for c in deck.cells.cells if c.metadata["slideshow"]["slide_type"] == "notes"]
    heads = [re.match(r"#+ (.*)", c.source).group(1) for c in slides if c.cell_type == "markdown"]
    assert heads == ["9.9 A section", "What you will learn", "Step 1: the posterior", "Step 1: the posterior (continued)",
                     "Step 1: the posterior (continued, 2)", "Try it", "What to remember"]
    text = "\n".join(c.source for c in deck.cells.cells if c.cell_type == "markdown")
    assert "\\phat(x) = \\N(0, 1)" in text and "We complete the square:" in text       # equation and lead-in
    assert "{eq}" not in text and ":::" not in text and "forty-two" not in text
    assert "../../chapters/ch99_x/9_9_a_section.html#ex-9-9-a" in text and "licensed under CC BY 4.0" in text
    assert any("More words after the list." in n for n in notes) and any("Alt text: A rising line." in n for n in notes)
    html_out = [c.outputs[0]["data"]["text/html"] for c in deck.cells.cells if c.cell_type == "code"]
    assert 'alt="A rising line."' in html_out[0] and "pgw-player" in html_out[1]


def test_a_deck_page_loads_only_the_sites_own_files_with_the_books_macros():
    deck = tk.make_deck(_executed(), "chapters/ch99_x/9_9_a_section", CREDIT)
    macros = {"phat": "\\hat{p}", "N": "\\mathcal{N}"}
    page = tk.DeckWriter(tk.deck_mathjax_config({"tex": {"macros": macros}}), CREDIT).render(deck)
    assets = re.findall(r"""<(?:script|link|img)\b[^>]*?\s(?:src|href)=["']([^"']+)""", page)
    assert "../../_static/mathjax/tex-chtml.js" in assets and "../../_slides/reveal/reveal.js" in assets
    assert not [a for a in assets if re.match(r"(?:[a-z]+:)?//", a)], assets
    config = json.loads(re.search(r"window\.MathJax = (\{.*?\});</script>", page).group(1))
    assert config["tex"]["macros"] == macros and ["$", "$"] in config["tex"]["inlineMath"]
    assert page.count("<section") >= 8 and '<aside class="notes">' in page


def test_a_figure_pack_holds_each_figure_with_caption_alt_text_and_credit():
    from PIL import Image

    data = tk.build_pack("ch99_x", "Chapter 99", [("chapters/ch99_x/9_9_a_section", "9.9 A section", _executed())],
                         CREDIT)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = sorted(zf.namelist())
        assert names == ["ch99_x/9_9_a_section-fig01.png", "ch99_x/9_9_a_section-fig01.svg",
                         "ch99_x/9_9_a_section-fig02.png", "ch99_x/CREDITS.md", "ch99_x/figures.json"]
        info = Image.open(io.BytesIO(zf.read("ch99_x/9_9_a_section-fig01.png"))).info
        assert info["Copyright"] == CREDIT and info["Description"] == "A rising line."
        assert "Section 9.9 A section, figure 1" in info["Title"]
        frames = Image.open(io.BytesIO(zf.read("ch99_x/9_9_a_section-fig02.png")))
        assert frames.width > 3 * 40                        # three key frames side by side
        svg = zf.read("ch99_x/9_9_a_section-fig01.svg").decode()
        assert "<title>Section 9.9 A section, figure 1" in svg and CREDIT in svg
        manifest = json.loads(zf.read("ch99_x/figures.json"))
        assert [f["kind"] for f in manifest["figures"]] == ["figure", "animation"]
        assert all(f["credit"] == CREDIT and f["alt"] and f["caption"] for f in manifest["figures"])
        assert "CC BY 4.0" in zf.read("ch99_x/CREDITS.md").decode()
    assert data == tk.build_pack("ch99_x", "Chapter 99", [("chapters/ch99_x/9_9_a_section", "9.9 A section",
                                                           _executed())], CREDIT), "the zip is not reproducible"


@pytest.mark.parametrize("text, expected", [
    ("See {doc}`the notation page </book/notation>` and {cite:t}`makin2025`.", "See the notation page and [makin2025]."),
    ("(eq-a)=\n$$\nx\n$$ (eq-a)\n", "$$\nx\n$$"),
    ("A [link](../x.ipynb) and [a site](https://example.org).", "A link and [a site](https://example.org)."),
])
def test_myst_becomes_plain_markdown(text, expected):
    assert tk.myst_to_markdown(text) == expected
