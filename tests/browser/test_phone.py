"""The book at phone width: tables wrap between words, figure text stays readable.

``test_pages.py`` checks on every page that nothing makes it wider than a 390 px screen. Here, on
a few pages chosen from the built HTML (so the checks stay cheap while looking where the trouble
would be):

* **Tables** (at 390 px), on the pages whose tables need the most width when no word is broken
  (:func:`widest_table_pages`): no word of ordinary letters in a table cell is split over two
  lines (each word's text range must lie on one line), and the page is no wider than the screen.
* **Figures** (at 375 px), on the page with the widest figure and the first other pages with an
  animation player and with a slider figure: every figure image of a cell output is shown at a
  scale at which the smallest font a figure uses (the book's plotting style or a size a notebook
  passes), at the lowest resolution a notebook draws at, is at least :data:`MIN_TEXT_PX` high
  (and that smallest text is at least that high in the image itself); a figure box that scrolls sideways is
  a tab stop and a region named "figure N, scroll sideways", scrolls with the arrow keys and
  shows a focus ring, and passes axe-core; the page itself does not scroll sideways. At 1280 px
  the same boxes are plain boxes (no tab stop, no region).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TABLE_WIDTH = 390
FIGURE_WIDTH = 375
#: The smallest text height (CSS px) a figure may show at phone width.
MIN_TEXT_PX = 9.0
#: Table pages checked: this many with the widest tables (plus the largest page of the equation index).
TABLE_SAMPLE = 4
BOXES = ".bd-article .pg-figure-scroll"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


# ------------------------------------------------------------------ what the sources say

#: matplotlib's named font sizes, as fractions of ``font.size``.
_NAMED_SIZES = {"xx-small": 0.579, "x-small": 0.694, "small": 0.833, "medium": 1.0}
_NOTEBOOK_SIZE = re.compile(r"\b(?:fontsize|labelsize|title_fontsize)\s*=\s*(?:([0-9]+(?:\.[0-9]+)?)|['\"]([a-z-]+)['\"])")


def notebook_font_sizes() -> list[float]:
    """Every font size (pt) a notebook passes to matplotlib itself (``fontsize=``, ``labelsize=``,
    ``title_fontsize=``; a named size as a fraction of the style's ``font.size`` of 10)."""
    sizes = []
    for nb in sorted((ROOT / "chapters").rglob("*.ipynb")):
        for number, name in _NOTEBOOK_SIZE.findall(nb.read_text(encoding="utf-8")):
            if number:
                sizes.append(float(number))
            elif name in _NAMED_SIZES:
                sizes.append(10.0 * _NAMED_SIZES[name])
    return sizes


def smallest_figure_text_px() -> float:
    """The smallest font of the figures, in pixels of the image: the smallest of the sizes of the
    book's matplotlib style (``_STYLE`` in ``pedagogy_lib/display/plotting.py``) and of the sizes a
    notebook passes itself (:func:`notebook_font_sizes`), at the lowest resolution any figure is
    drawn at (the style's own dpi, or a lower ``dpi=`` a notebook passes): s pt at d dpi is
    s * d / 72 px."""
    source = (ROOT / "pedagogy_lib" / "display" / "plotting.py").read_text(encoding="utf-8")
    style = next(ast.literal_eval(node.value) for node in ast.parse(source).body
                 if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_STYLE" for t in node.targets))
    sizes = [v for k, v in style.items() if (k == "font.size" or k.endswith("size") and "fig" not in k)
             and isinstance(v, (int, float))]
    sizes += notebook_font_sizes()
    dpis = [style["savefig.dpi"], style["figure.dpi"]]
    for nb in sorted((ROOT / "chapters").rglob("*.ipynb")):
        dpis += [float(d) for d in re.findall(r"\bdpi\s*=\s*([0-9]+(?:\.[0-9]+)?)", nb.read_text(encoding="utf-8"))]
    return min(sizes) * min(dpis) / 72.0


def test_the_style_figures_are_measured_against_is_read():
    """The measure above reads the real style: a font size and a resolution a figure can have."""
    px = smallest_figure_text_px()
    assert 5.0 < px < 20.0, f"{px} px: the style or the notebooks' dpi were not read as expected"
    assert len(notebook_font_sizes()) > 50, "the notebooks' own font sizes were not found"


def test_no_figure_text_is_drawn_below_the_readable_size():
    """At the lowest resolution a figure is drawn at, its smallest text is at least MIN_TEXT_PX
    high in the image (at phone width a figure is shown at its drawn size, in a box that scrolls)."""
    px = smallest_figure_text_px()
    assert px >= MIN_TEXT_PX, (f"the smallest figure text is {px:.2f} px high in its image (< {MIN_TEXT_PX}): "
                               f"font sizes used {sorted(set(notebook_font_sizes()))[:4]}...")


_TABLE = re.compile(r"<table\b.*?</table>", re.S)
_ROW = re.compile(r"<tr\b.*?</tr>", re.S)
_CELL = re.compile(r"<t[hd]\b.*?</t[hd]>", re.S)
_UNBREAKABLE_NOT_WORDS = re.compile(r"<(code|pre|script|style|mjx-container)\b.*?</\1>", re.S)


def _min_width_chars(table: str) -> int:
    """What a table needs when no word is broken: over its columns, the sum of each column's
    longest word (letters), in characters. (Code and formulas are left out: code may break.)"""
    longest: dict[int, int] = {}
    for row in _ROW.findall(table):
        for k, cell in enumerate(_CELL.findall(row)):
            text = re.sub(r"<[^>]+>", " ", _UNBREAKABLE_NOT_WORDS.sub(" ", cell))
            words = re.findall(r"[^\W\d_]{2,}", text)
            longest[k] = max(longest.get(k, 0), max((len(w) for w in words), default=0))
    return sum(longest.values())


def widest_table_pages(site_root: Path, pages: list[str], n: int = TABLE_SAMPLE) -> list[str]:
    """The ``n`` pages whose widest table needs the most width (:func:`_min_width_chars`), and the
    largest page of the equation index."""
    need = {}
    for path in pages:
        html = (site_root / path).read_text(encoding="utf-8", errors="replace")
        tables = _TABLE.findall(html)
        if tables:
            need[path] = max(_min_width_chars(t) for t in tables)
    chosen = sorted(need, key=lambda p: (-need[p], p))[:n]
    index = [p for p in pages if p.startswith("book/equation_index/")]
    if index:
        biggest = max(index, key=lambda p: ((site_root / p).stat().st_size, p))
        chosen += [] if biggest in chosen else [biggest]
    return chosen


_IMG_WIDTH = re.compile(r"<img\b[^>]*\bwidth=\"([0-9]+)\"")


def figure_pages(site_root: Path, chapter_pages: list[str]) -> list[str]:
    """Three chapter pages, or as many as there are: the one with the widest figure image, then the
    first with an animation player and the first with a slider figure (in the pages' order) that
    is not chosen already."""
    widest, width, players, sliders = None, 0, [], []
    for path in chapter_pages:
        html = (site_root / path).read_text(encoding="utf-8", errors="replace")
        w = max((int(x) for x in _IMG_WIDTH.findall(html)), default=0)
        if w > width:
            widest, width = path, w
        if 'class="pgw pgw-player' in html:
            players.append(path)
        if 'class="pgw pgw-sliders' in html:
            sliders.append(path)
    chosen = [widest] if widest else []
    for kind in (players, sliders):
        fresh = [p for p in kind if p not in chosen]
        chosen += fresh[:1] if fresh else []
    return chosen


# ------------------------------------------------------------------ in the browser

_SETTLE = """async () => {
    const ready = (async () => {
        if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
        if (document.fonts && document.fonts.ready) await document.fonts.ready;
        return true;
    })();
    return Promise.race([ready, new Promise(r => setTimeout(() => r(false), 30000))]);
}"""

_PAGE_WIDTH = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"

#: Every word of ordinary letters in a table cell (not in code or a formula), and the words whose
#: text range lies on more than one line.
_SPLIT_WORDS = r"""() => {
    const out = {cells: 0, words: 0, split: []};
    const skip = 'code, pre, kbd, samp, mjx-container, script, style, .visually-hidden, .sr-only';
    for (const cell of document.querySelectorAll('.bd-article table td, .bd-article table th')) {
        if (!cell.getClientRects().length) continue;
        out.cells += 1;
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const node = walker.currentNode, parent = node.parentElement;
            if (!parent || parent.closest(skip) || parent.closest('td, th') !== cell) continue;
            for (const m of node.data.matchAll(/\p{L}{2,}/gu)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const lines = new Set([...range.getClientRects()].filter(r => r.width > 0)
                                      .map(r => Math.round(r.top)));
                out.words += 1;
                if (lines.size > 1)
                    out.split.push(`${m[0]} (${cell.textContent.trim().replace(/\s+/g, ' ').slice(0, 50)})`);
            }
        }
    }
    return out;
}"""


@pytest.fixture(scope="module")
def table_pages(site_root, built_pages):
    pages = widest_table_pages(site_root, built_pages)
    if not pages:
        pytest.skip("no page of the built book has a table")
    return pages


def test_table_cells_break_lines_between_words_at_phone_width(open_page, table_pages):
    problems = []
    for path in table_pages:
        page = open_page(path, wait_ms=0)
        page.set_viewport_size({"width": TABLE_WIDTH, "height": 844})
        assert page.evaluate(_SETTLE), f"{path}: MathJax or the web fonts did not finish loading within 30 s"
        found = page.evaluate(_SPLIT_WORDS)
        assert found["words"] > 20, f"{path}: hardly a word found in its tables ({found}): is the check looking?"
        if found["split"]:
            problems.append(f"{path}: {len(found['split'])} of {found['words']} words split over two lines, "
                            f"e.g. {found['split'][:4]}")
        width = page.evaluate(_PAGE_WIDTH)
        if width > TABLE_WIDTH + 1:
            problems.append(f"{path}: the page is {width} px wide on a {TABLE_WIDTH} px screen")
    assert not problems, "\n".join(problems)


def test_split_words_are_noticed(open_page, table_pages):
    """The check above sees a split word: with cells allowed to break anywhere again (as they were)
    and the table held to the screen's width, the widest table's words split."""
    page = open_page(table_pages[0], wait_ms=0)
    page.set_viewport_size({"width": TABLE_WIDTH, "height": 844})
    page.evaluate(_SETTLE)
    page.add_style_tag(content=".bd-article table td, .bd-article table th { overflow-wrap: anywhere !important; }")
    assert page.evaluate(_SPLIT_WORDS)["split"], f"{table_pages[0]}: no split word noticed"


#: For every figure image of a cell output that is shown: its displayed and natural widths, and
#: its box (a div.pg-figure-scroll) with whether it scrolls and what it says.
_FIGURES = """(sel) => [...document.querySelectorAll('.bd-article .cell_output img')]
    .filter(img => img.getClientRects().length > 0)
    .map(img => { const box = img.closest(sel);
        return {src: (img.currentSrc || img.src).split('/').pop(), shown: img.getBoundingClientRect().width,
                natural: img.naturalWidth, complete: img.complete,
                box: box ? {scrolls: box.scrollWidth > box.clientWidth + 1, tabindex: box.getAttribute('tabindex'),
                            role: box.getAttribute('role'), label: box.getAttribute('aria-label')} : null}; })"""

#: Load every image now (the lazy ones too) and open every collapsed block; resolves when the
#: images have arrived (or after 30 s, leaving the incomplete ones for the test to name).
_LOAD_ALL = """async () => {
    for (const d of document.querySelectorAll('.bd-article details:not([open])')) d.open = true;
    for (const b of document.querySelectorAll('.bd-article button.toggle-button'))
        if (b.getAttribute('aria-expanded') === 'false') b.click();
    const imgs = [...document.querySelectorAll('.bd-article .cell_output img')];
    for (const img of imgs) img.loading = 'eager';
    const done = Promise.all(imgs.map(img => img.complete ? null :
        new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); })));
    await Promise.race([done, new Promise(r => setTimeout(r, 30000))]);
}"""

#: The page's script has made every box that scrolls a named tab stop (and only those).
_BOXES_SETTLED = """(sel) => [...document.querySelectorAll(sel)].every(box => {
    const scrolls = box.getClientRects().length > 0 && box.scrollWidth > box.clientWidth + 1;
    return scrolls === (box.getAttribute('tabindex') === '0'); })"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    try:
        import axe_playwright_python
    except ImportError:
        pytest.skip("the Python package axe-playwright-python is not installed (pip install -r requirements-test.txt)")
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def _ring(element) -> bool:
    return element.evaluate("(el) => { const s = getComputedStyle(el); "
                            "return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }")


def test_figure_text_is_readable_at_phone_width(open_page, site_root, chapter_pages, axe_source):
    pages = figure_pages(site_root, chapter_pages)
    if not pages:
        pytest.skip("no chapter page with figures")
    text_px = smallest_figure_text_px()
    problems, scrolling = [], 0
    for path in pages:
        page = open_page(path, wait_ms=0)
        page.evaluate(_LOAD_ALL)
        page.wait_for_function(_BOXES_SETTLED, arg=BOXES, timeout=10_000)
        wide = page.evaluate(_FIGURES, BOXES)
        if [f for f in wide if f["box"] and (f["box"]["tabindex"] or f["box"]["role"])]:
            problems.append(f"{path} at 1280 px: figure boxes are tab stops or regions though the figures fit")
        page.set_viewport_size({"width": FIGURE_WIDTH, "height": 812})
        try:
            page.wait_for_function(_BOXES_SETTLED, arg=BOXES, timeout=10_000)
        except Exception:                        # noqa: BLE001 - named below
            problems.append(f"{path}: after the resize, the figure boxes that scroll are not all tab stops")
        figures = page.evaluate(_FIGURES, BOXES)
        if not figures:
            problems.append(f"{path}: no figure image shown")
        for f in figures:
            if not (f["complete"] and f["natural"]):
                problems.append(f"{path}: {f['src']} did not load")
                continue
            shown_px = f["shown"] / f["natural"] * text_px
            if shown_px < MIN_TEXT_PX:
                problems.append(f"{path}: {f['src']} is shown {f['shown']:.0f} of {f['natural']} px wide: "
                                f"its smallest text is {shown_px:.1f} px high (< {MIN_TEXT_PX})")
            box = f["box"]
            if box is None:
                problems.append(f"{path}: {f['src']} is in no figure box")
            elif box["scrolls"]:
                scrolling += 1
                if box["tabindex"] != "0" or box["role"] != "region" or \
                        not re.fullmatch(r"figure [0-9]+, scroll sideways", box["label"] or ""):
                    problems.append(f"{path}: the box of {f['src']} scrolls but says {box}")
        labels = [f["box"]["label"] for f in figures if f["box"] and f["box"]["label"]]
        if len(set(labels)) != len(labels):
            problems.append(f"{path}: two figure boxes have the same name")
        width = page.evaluate(_PAGE_WIDTH)
        if width > FIGURE_WIDTH + 1:
            problems.append(f"{path}: the page is {width} px wide on a {FIGURE_WIDTH} px screen")
        box = page.query_selector(f"{BOXES}[tabindex='0']")
        if box is not None:                      # the first box that scrolls: keyboard and focus ring
            box.scroll_into_view_if_needed()
            box.focus()
            page.keyboard.press("ArrowRight")
            if not _ring(box):
                problems.append(f"{path}: a focused figure box shows no focus ring")
            try:
                page.wait_for_function("(el) => el.scrollLeft > 0", arg=box, timeout=5_000)
            except Exception:                    # noqa: BLE001 - named here
                problems.append(f"{path}: a focused figure box does not scroll with the arrow key")
            page.add_script_tag(content=axe_source)
            found = page.evaluate("""async ([sel, tags]) => (await axe.run(
                {include: [...document.querySelectorAll(sel + "[tabindex='0']")]},
                {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
                 rules: {"scrollable-region-focusable": {enabled: true}}})).violations
                .map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ')')""", [BOXES, WCAG_TAGS])
            problems += [f"{path}: axe: {v}" for v in found]
    if not scrolling:
        problems.append(f"no figure box scrolls at {FIGURE_WIDTH} px on {pages}: the wide figures were not kept wide")
    assert not problems, "\n".join(problems)
