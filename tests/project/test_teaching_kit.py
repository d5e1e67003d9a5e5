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

from html.parser import HTMLParser

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "_ext"))
sys.path.insert(0, str(ROOT / "tools"))

import mark_slides  # noqa: E402
import teaching_kit as tk  # noqa: E402

NOTEBOOKS = mark_slides.chapter_notebooks()
import site_address  # noqa: E402

CREDIT = tk.credit_line(site_address.repository_url(ROOT))    # the book's one address (_config.yml)


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
    notes = [c.outputs[0]["data"]["text/html"] for c in deck.cells.cells if c.metadata["slideshow"]["slide_type"] == "notes"]
    heads = [re.match(r"#+ (.*)", c.source).group(1) for c in slides if c.cell_type == "markdown"]
    assert heads == ["9.9 A section", "What you will learn", "Step 1: the posterior", "Step 1: the posterior (continued)",
                     "Step 1: the posterior (continued, 2)", "Try it", "What to remember"]
    text = "\n".join(c.source for c in deck.cells.cells if c.cell_type == "markdown")
    assert "\\phat(x) = \\N(0, 1)" in text and "We complete the square:" in text       # equation and lead-in
    assert "{eq}" not in text and ":::" not in text and "forty-two" not in text
    assert "../../chapters/ch99_x/9_9_a_section.html#ex-9-9-a" in text and "licensed under CC BY 4.0" in text
    assert any("More words after the list." in n for n in notes) and any("Alt text: A rising line." in n for n in notes)
    html_out = [c.outputs[0]["data"]["text/html"] for c in deck.cells.cells
                if c.cell_type == "code" and c.metadata["slideshow"]["slide_type"] != "notes"]
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



# ------------------------------------------------------------------ every deck, rendered, as read
#: Tags a deck's page may hold (a tag of any other name is text that was taken for HTML: a ``<``
#: that was not escaped, as in ``$l<m$``).
HTML_TAGS = set("""html head body meta title link script style main div section aside p a em strong b i
code pre ul ol li h1 h2 h3 h4 h5 h6 img figure figcaption span br hr table thead tbody tr td th
blockquote sup sub del s button select option input label svg path g rect text title desc
details summary""".split())
#: Elements whose text MathJax leaves alone (its ``skipHtmlTags``), and elements without content.
SKIPPED = {"script", "style", "code", "pre", "textarea", "noscript"}
VOID = {"br", "img", "meta", "link", "hr", "input", "source", "wbr"}
#: Maths as MathJax finds it in a text node of the slides (``$$``, ``\[``, ``\(``, ``$``, environments).
SLIDE_MATH = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)|\$(?:\\.|[^$\\])+\$|"
                        r"\\begin\{([a-z]+\*?)\}.+?\\end\{\1\}", re.S)
#: Maths in a note: only what the build put in a span.deck-math (deck.js makes it MathML).
NOTE_MATH = re.compile(r"\\\(.+?\\\)|\\\[.+?\\\]", re.S)
#: What must not be left in the text a reader sees, outside maths.
RAW = [("a dollar sign", re.compile(r"\$")), ("a TeX command", re.compile(r"\\[A-Za-z]+")),
       ("a MyST role", re.compile(r"\{[\w:-]+\}`")), ("a MyST fence", re.compile(r":::|```")),
       ("a MyST option", re.compile(r":label:|:class:")),
       ("an entity escaped twice", re.compile(r"&(?:lt|gt|amp|quot);"))]


class DeckText(HTMLParser):
    """The text of a deck's page, node by node, as MathJax and a reader meet it: for each text node
    (MathJax never finds maths across an element's edge), which slide it is on, whether it is in the
    speaker notes or in a note's maths span, and every tag name met."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str]] = []
        self.tags: set[str] = set()
        self.slide = -1
        self.nodes: list[tuple[int, str, str]] = []      # (slide, "slide" | "note" | "note-math", text)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "section":
            self.slide += 1
        if tag not in VOID:
            self.stack.append((tag, dict(attrs).get("class") or ""))

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if not data.strip() or any(t in SKIPPED for t, _ in self.stack):
            return
        if not any(t == "section" for t, _ in self.stack):
            return
        classes = " ".join(c for _, c in self.stack).split()
        where = ("note-math" if "deck-math" in classes else "note") if "notes" in classes else "slide"
        self.nodes.append((self.slide, where, data))


def raw_markup(nodes) -> list[str]:
    """What a reader would see as markup: in the slides, outside the maths MathJax typesets; in the
    notes, anywhere but a maths span; and a maths span holding anything but one formula."""
    found = []
    for slide, where, text in nodes:
        if where == "note-math":
            if not NOTE_MATH.fullmatch(text.strip()):
                found.append(f"slide {slide + 1}: a note's maths span holds {text[:60]!r}")
            continue
        rest = (SLIDE_MATH if where == "slide" else re.compile("(?!)")).sub(" ", text)
        for what, pattern in RAW:
            m = pattern.search(rest)
            if m:
                found.append(f"slide {slide + 1} ({where}): {what} in "
                             f"{' '.join(rest[max(0, m.start() - 50):m.end() + 30].split())!r}")
    return found


_PAGE_DISPLAY = re.compile(r"\$\$(.+?)\$\$|(\\begin\{(align|equation|gather|multline)\*?\}.+?\\end\{\3\*?\})", re.S)


def _squeeze(tex: str) -> str:
    return "".join(tex.split())


def page_equations(nb: dict) -> list[str]:
    """The displayed equations of the notebook's marked equation cells, in page order (read from the
    cells here, not by the kit)."""
    out = []
    for i, role in mark_slides.roles(nb).items():
        cell = nb["cells"][i]
        if role != "equations" or cell.get("metadata", {}).get("slideshow", {}).get("slide_type") != "slide":
            continue
        for m in _PAGE_DISPLAY.finditer(mark_slides.source(cell)):
            out.append(_squeeze(m.group(1) if m.group(1) is not None else m.group(2)))
    return out


def deck_equations(nodes) -> list[str]:
    """The displayed equations on the slides of a rendered deck, in order."""
    out = []
    for _, where, text in nodes:
        if where == "slide":
            out += [_squeeze(m.group(1) if m.group(1) is not None else m.group(2))
                    for m in _PAGE_DISPLAY.finditer(text)]
    return out


@pytest.fixture(scope="module")
def rendered_decks() -> dict[str, DeckText]:
    """Every chapter notebook's deck, made from the notebook as stored (nothing executed: its code
    cells have no outputs, so it has no figure slides), rendered to its page and read."""
    writer = tk.DeckWriter(tk.deck_mathjax_config({"tex": {"macros": {"N": "\\mathcal{N}"}}}), CREDIT)
    pages = {}
    for path in NOTEBOOKS:
        rel = path.relative_to(ROOT).with_suffix("").as_posix()
        deck = tk.make_deck(_nb(path), rel, CREDIT)
        if deck is not None:
            pages[rel] = DeckText()
            pages[rel].feed(writer.render(deck))
    assert len(pages) >= 50
    return pages


def test_no_deck_shows_raw_markup(rendered_decks):
    """No slide or note shows a dollar sign, a TeX command, MyST or an escaped entity outside the
    maths that gets typeset, and no text was taken for a tag (an unescaped ``<``)."""
    problems = []
    for name, text in rendered_decks.items():
        odd = sorted(text.tags - HTML_TAGS)
        if odd:
            problems.append(f"{name}: text taken for tags {odd}")
        problems += [f"{name}: {p}" for p in raw_markup(text.nodes)]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:30])


def test_every_deck_shows_the_pages_displayed_equations_in_order(rendered_decks):
    """The equation slides hold every displayed equation of the page's marked equation cells, in the
    page's order (slides of inline formulas may come between them)."""
    problems, checked = [], 0
    for name, text in rendered_decks.items():
        wanted = page_equations(_nb(ROOT / f"{name}.ipynb"))
        shown = iter(deck_equations(text.nodes))
        missing = [eq for eq in wanted if not any(eq == s for s in shown)]      # an ordered subsequence
        if missing:
            problems.append(f"{name}: {len(missing)} of {len(wanted)} displayed equations missing or out "
                            f"of order, first {missing[0][:80]!r}")
        checked += len(wanted)
    assert checked > 100
    assert not problems, "\n".join(problems[:20])


def test_the_checks_see_broken_escaping_raw_tex_and_myst():
    """The checks above find what the issue found: a ``<`` taken for a tag, TeX in a note, MyST."""
    page = ('<section><p class="deck-lead">If $x$ for $l<m$, the law</p><p>$a&lt;b$ and {eq}`e` '
            'and \\alpha</p><aside class="notes"><p>Write $x$ and <span class="deck-math">\\(y\\)</span>'
            '</p></aside></section>')
    text = DeckText()
    text.feed(page)
    assert text.tags - HTML_TAGS == {"m$,"}
    found = " ".join(raw_markup(text.nodes))
    assert "a dollar sign in 'If for $l'" in found and "a MyST role" in found and "TeX command" in found
    assert "(note): a dollar sign" in found and "a<b" not in found


def test_notes_are_sentences_with_maths_spans_and_no_pointers_to_code():
    text = ("`pedagogy_lib.diffusion` draws the figures. The forward chain adds noise, $l<m$, step by step. "
            "The code is `pedagogy_lib.diffusion` (`schedules`, `forward`). Eq. 8.36 fixes the marginals, "
            "$\\E[x] = 0. 5$ and so on.")
    note = tk.prose(text)
    assert note.startswith("The forward chain adds noise") and "pedagogy_lib" not in note
    html_note = tk.note_html(note)
    assert '<span class="deck-math">\\(l&lt;m\\)</span>' in html_note
    assert '<span class="deck-math">\\(\\E[x] = 0. 5\\)</span>' in html_note
    long = " ".join(f"Sentence {k} says $a_{k} = b. c$ again." for k in range(200))
    cut = tk.prose(long, limit=300)
    assert cut.endswith("again. ...") and cut.count("$") % 2 == 0 and len(cut) <= 310


def test_a_cell_that_derives_in_running_text_gets_a_slide_of_its_formulas():
    """A cell without a display but with many inline formulas (8.3's noise schedules) is selected, and
    its deck slide shows them displayed, those of one list item side by side under its label."""
    text = ("## Step 2: schedules\n\nFrom $\\lambda_\\max = 10^3$ to $\\lambda_\\min = 10^{-3}$:\n\n"
            "- **cosine**: $\\lambda(u) = \\cot^2(a+u(b-a))$ and $\\bar\\alpha = \\lambda/(1+\\lambda)$;\n"
            "- **variance preserving**: $v_l^2 = 1/(1+\\lambda_l)$, $v_l\\rho_l = \\sqrt{\\bar\\alpha_l}$;\n"
            "- **variance exploding**: $v_l\\rho_l = 1$, for $l<m$, and $x$ alone.\n")
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# 9.9 A section\n\nWords."},
                    {"cell_type": "markdown", "metadata": {}, "source": text}], "metadata": {}}
    assert mark_slides.roles(nb) == {0: "goals", 1: "formulas"}
    assert len(mark_slides.key_formulas(text)) == 7                   # not $l<m$, not $x$
    mark_slides.mark(nb)
    deck = tk.make_deck(nb, "chapters/ch99_x/9_9_a_section", CREDIT)
    slide = next(c.source for c in deck.cells.cells if c.source.startswith("## Step 2"))
    assert '<p class="deck-lead">cosine:</p>' in slide
    assert "$$\n\\lambda(u) = \\cot^2(a+u(b-a)),\\qquad \\bar\\alpha = \\lambda/(1+\\lambda)\n$$" in slide
    assert slide.index("variance preserving") < slide.index("v_l^2") < slide.index("variance exploding")
