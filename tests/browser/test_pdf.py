"""The PDF of the book (``python3 tasks.py pdf``), on two pages instead of the whole book.

The pages are printed with the command's own function (``print_pages`` of
``tools/print_book_pdf.py``) and joined with its own (``join_pdf``): the introduction and the
smallest chapter page that has both sliders and an animation (two pages keep the test short; every
notebook page has both). What is checked: each
page's PDF has pages and holds the page's title (read here from its HTML); the chapter page embeds
at least one image (figures, the sliders' static default, the animation's first frame); what only
works on a screen (slider and player controls, search) and the solutions are not printed; the
joined file has one bookmark per printed page and part, named by its title, at its first page.
"""
from __future__ import annotations

import html
import importlib.util
import io
import re
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]
INTRO = "book/intro.html"
#: Words that only controls and screen-only parts of a page show (the slider panel's reset button,
#: the player's "At the end" choice, the search field's prompt and its keyboard shortcut).
SCREEN_ONLY = ("Reset to the defaults", "At the end", "Search this book", "Ctrl+K")


def _printer():
    """``tools/print_book_pdf.py``, which ``python3 tasks.py pdf`` runs, loaded as a module."""
    spec = importlib.util.spec_from_file_location("print_book_pdf", ROOT / "tools" / "print_book_pdf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _squash(text: str) -> str:
    """Text compared without its layout: compatibility forms folded (ligatures), no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _html_title(site_root: Path, rel: str) -> str:
    page = (site_root / rel).read_text(encoding="utf-8")
    title = html.unescape(re.search(r"<title>(.*?)</title>", page, re.S).group(1))
    return title.rsplit(" \u2014 ", 1)[0].strip()


def _smallest_with(site_root: Path, *markers: str) -> str:
    pages = sorted((p for p in (site_root / "chapters").rglob("*.html")
                    if all(m in p.read_text(encoding="utf-8", errors="replace") for m in markers)),
                   key=lambda p: (p.stat().st_size, p.as_posix()))
    if not pages:
        pytest.fail(f"no chapter page of {site_root} contains all of {markers}")
    return pages[0].relative_to(site_root).as_posix()


@pytest.fixture(scope="module")
def printed(site_root, browser):
    # the browser tests' own Chromium: a process can hold only one running Playwright
    chapter = _smallest_with(site_root, 'data-pgw-kind="sliders"', 'data-pgw-kind="player"')
    return _printer().print_pages(site_root, [INTRO, chapter], "", browser=browser)


def test_each_printed_page_has_its_title_its_images_and_nothing_screen_only(site_root, printed):
    assert [rel for rel, _, _ in printed][0] == INTRO and len(printed) == 2
    for rel, title, data in printed:
        reader = PdfReader(io.BytesIO(data))
        assert len(reader.pages) > 0, f"{rel}: the printed PDF has no page"
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
        expected = _html_title(site_root, rel)
        assert title == expected, f"{rel}: print_pages named it {title!r}, its <title> says {expected!r}"
        assert _squash(expected) in _squash(text), f"{rel}: the PDF text lacks the title {expected!r}"
        shown = [words for words in SCREEN_ONLY if _squash(words) in _squash(text)]
        assert not shown, f"{rel}: screen-only parts were printed: {shown}"
        assert "solutiontoexercise" not in _squash(text), f"{rel}: a solution was printed (the PDF omits them)"
        if rel.startswith("chapters/"):
            images = sum(len(page.images) for page in reader.pages)
            assert images >= 1, f"{rel}: no image embedded in its PDF"


def test_joined_pdf_has_a_bookmark_per_page_at_its_first_page(tmp_path, printed):
    printer = _printer()
    entries = [(0, "page", "book/intro"), (0, "part", "A part"), (1, "page", "chapters/not_printed"),
               (1, "page", printed[1][0].removesuffix(".html"))]
    out = tmp_path / "book.pdf"
    count = printer.join_pdf(printed, entries, out, {"/Title": "test"})
    sizes = [len(PdfReader(io.BytesIO(data)).pages) for _, _, data in printed]
    assert count == sum(sizes)
    reader = PdfReader(out)
    assert len(reader.pages) == count

    def flatten(items, depth=0):
        for item in items:
            if isinstance(item, list):
                yield from flatten(item, depth + 1)
            else:
                yield depth, item.title, reader.get_destination_page_number(item)

    outline = list(flatten(reader.outline))
    # the page that was not printed has no bookmark; the part points at its first printed page
    assert outline == [(0, printed[0][1], 0), (0, "A part", sizes[0]), (1, printed[1][1], sizes[0])], outline
    assert reader.metadata.title == "test"
