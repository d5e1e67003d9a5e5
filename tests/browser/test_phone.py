"""The book at phone width: tables wrap between words, figure text stays readable.

``test_pages.py`` checks on every page that nothing makes it wider than a 390 px screen. Here, on
a few pages chosen from the built HTML (so the checks stay cheap while looking where the trouble
would be):

* **Tables** (at 390 px), on the pages whose tables need the most width when no word is broken
  (:func:`widest_table_pages`): no word of ordinary letters in a table cell is split over two
  lines (each word's text range must lie on one line). These pages are looked at in their one
  visit of ``test_pages.py`` (which also checks that no page is wider than the screen); this module
  holds what chooses them and the script that finds split words.
* **Figures** (at 375 px), on the page with the widest figure and the first other pages with an
  animation player and with a slider figure: a figure drawn for a phone as well
  (``plotting.phone_layout``) shows that drawing there and its own at 1280 px; every figure image of
  a cell output fits the screen at a scale at which the smallest font a figure uses (the book's
  plotting style or a size a notebook passes), at the lowest resolution a notebook draws at, is at
  least :data:`MIN_TEXT_PX` high (and that smallest text is at least that high in the image itself);
  a player and a slider figure, moved by keyboard, show phone images; the page does not scroll
  sideways. (``test_site_html.py`` checks that every wide figure of the site has a phone drawing.)

The slider panels at 390 px are checked on every page that has one, in the one visit of the page
of ``test_pages.py``.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURE_WIDTH = 375
#: The smallest text height (CSS px) a figure may show at phone width.
MIN_TEXT_PX = 9.0
#: Table pages checked: this many with the widest tables (plus the largest page of the equation index).
TABLE_SAMPLE = 4


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
    high in the image (on a phone a figure is shown at about its drawn size: its phone drawing)."""
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

_PAGE_WIDTH = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"

#: Every word of ordinary letters in a table cell (not in code or a formula), and the words whose
#: text range lies on more than one line.
SPLIT_WORDS = r"""() => {
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


#: Every figure image of a cell output that is shown: the file it shows, its own file, the file of its
#: picture's phone source (if it is in a <picture>), its displayed and natural widths and its right edge.
_FIGURES = """() => [...document.querySelectorAll('.bd-article .cell_output img')]
    .filter(img => img.getClientRects().length > 0)
    .map(img => { const pic = img.parentElement.tagName === 'PICTURE' ? img.parentElement : null;
        const r = img.getBoundingClientRect(), file = u => (u || '').split('/').pop();
        return {src: file(img.currentSrc || img.src), own: file(img.src),
                phone: pic ? file(pic.querySelector('source').srcset) : null,
                shown: r.width, right: r.right, natural: img.naturalWidth, complete: img.complete}; })"""

#: Every shown image of a <picture> in a cell output has loaded its phone source.
_PHONE_SHOWN = """() => [...document.querySelectorAll('.bd-article .cell_output picture img')]
    .filter(img => img.getClientRects().length > 0)
    .every(img => { const file = u => u.split('/').pop();
        return img.complete && img.naturalWidth > 0 &&
               file(img.currentSrc) === file(img.parentElement.querySelector('source').srcset); })"""

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

#: The image a widget shows, as a file name, and its phone source's (the widget is the argument).
_WIDGET_IMAGE = """(w) => { const img = w.querySelector('img.pgw-img'), source = w.querySelector('picture source');
    return {src: img.currentSrc.split('/').pop(), phone: source.srcset.split('/').pop(), complete: img.complete}; }"""


def _moves_on_a_phone(page, widget, move) -> str | None:
    """After ``move()`` (a control of ``widget`` used by keyboard) the widget shows another of its phone
    images; what went wrong otherwise."""
    before = page.evaluate(_WIDGET_IMAGE, widget)
    move()
    try:
        page.wait_for_function("""([w, before]) => { const img = w.querySelector('img.pgw-img'),
            source = w.querySelector('picture source'), file = u => u.split('/').pop();
            return img.complete && file(img.currentSrc) === file(source.srcset) && file(source.srcset) !== before; }""",
                               arg=[widget, before["src"]], timeout=10_000, polling=100)
    except Exception:                          # noqa: BLE001 - named here
        return f"it shows {page.evaluate(_WIDGET_IMAGE, widget)} (before: {before})"
    return None


def test_figures_are_drawn_for_a_phone_and_readable_there(open_page, site_root, chapter_pages):
    """At 1280 px a figure shows its own image; at 375 px every figure with a phone drawing shows it, every
    figure fits the screen at a scale that keeps its smallest text at least MIN_TEXT_PX high, and a player
    and a slider figure, moved by keyboard, go on showing phone images."""
    pages = figure_pages(site_root, chapter_pages)
    if not pages:
        pytest.skip("no chapter page with figures")
    text_px = smallest_figure_text_px()
    problems, drawings, moved = [], 0, set()
    for path in pages:
        page = open_page(path, wait_ms=0)
        page.evaluate(_LOAD_ALL)
        wide = page.evaluate(_FIGURES)
        if [f for f in wide if f["src"] != f["own"]]:
            problems.append(f"{path} at 1280 px: a phone drawing is shown")
        page.set_viewport_size({"width": FIGURE_WIDTH, "height": 812})
        try:
            page.wait_for_function(_PHONE_SHOWN, timeout=30_000, polling=100)
        except Exception:                        # noqa: BLE001 - named below
            problems.append(f"{path}: at {FIGURE_WIDTH} px not every figure shows its phone drawing within 30 s")
        figures = page.evaluate(_FIGURES)
        if not figures:
            problems.append(f"{path}: no figure image shown")
        for f in figures:
            if not (f["complete"] and f["natural"]):
                problems.append(f"{path}: {f['src']} did not load")
                continue
            drawings += f["phone"] is not None
            if f["phone"] is not None and f["src"] != f["phone"]:
                problems.append(f"{path}: {f['src']} is shown where its phone drawing {f['phone']} should be")
            shown_px = f["shown"] / f["natural"] * text_px
            if shown_px < MIN_TEXT_PX:
                problems.append(f"{path}: {f['src']} is shown {f['shown']:.0f} of {f['natural']} px wide: "
                                f"its smallest text is {shown_px:.1f} px high (< {MIN_TEXT_PX})")
            if f["right"] > FIGURE_WIDTH + 1:
                problems.append(f"{path}: {f['src']} reaches {f['right']:.0f} px on a {FIGURE_WIDTH} px screen")
        width = page.evaluate(_PAGE_WIDTH)
        if width > FIGURE_WIDTH + 1:
            problems.append(f"{path}: the page is {width} px wide on a {FIGURE_WIDTH} px screen")
        player = page.query_selector("figure.pgw-player:has(picture)")
        if player is not None:
            button = player.query_selector("button[data-act=next]")
            button.scroll_into_view_if_needed()
            wrong = _moves_on_a_phone(page, player, lambda: (button.focus(), page.keyboard.press("Enter")))
            problems += [f"{path}: the player's Next on a phone: {wrong}"] if wrong else []
            moved.add("player")
        sliders = page.query_selector("figure.pgw-sliders:has(picture)")
        slider = sliders.query_selector("input[type=range]") if sliders is not None else None
        if slider is not None:
            slider.scroll_into_view_if_needed()
            wrong = _moves_on_a_phone(page, sliders, lambda: (slider.focus(), page.keyboard.press("ArrowRight")))
            problems += [f"{path}: a slider moved on a phone: {wrong}"] if wrong else []
            moved.add("slider")
    if not drawings:
        problems.append(f"no phone drawing shown on {pages}")
    if moved != {"player", "slider"}:
        problems.append(f"only {sorted(moved)} of a player and a slider figure with phone images were moved on {pages}")
    assert not problems, "\n".join(problems)
