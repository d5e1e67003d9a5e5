"""Interactive figures across the site, from the built HTML.

The controls of each page (players, sliders, solutions) are driven by keyboard in that page's one
visit, in ``test_pages.py``. Here, from the built files: every chapter whose notebooks call
``interactive_plot`` shows real controls on those pages, and images are files, not inline data.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _chapters_with_interactive_figures() -> dict[str, list[str]]:
    """Chapter folder -> notebooks that call interactive_plot (from the sources)."""
    found = defaultdict(list)
    for nb in sorted((ROOT / "chapters").glob("*/*.ipynb")):
        if "interactive_plot(" in nb.read_text(encoding="utf-8"):
            found[nb.parent.name].append(nb.stem)
    return found


@pytest.mark.parametrize("chapter", sorted(_chapters_with_interactive_figures()))
def test_each_chapter_with_interactive_figures_has_sliders_on_its_pages(site_root, chapter):
    """Every page whose notebook calls interactive_plot shows real controls (moved by the test above)."""
    missing = []
    for stem in _chapters_with_interactive_figures()[chapter]:
        path = site_root / "chapters" / chapter / f"{stem}.html"
        html = path.read_text(encoding="utf-8") if path.exists() else ""
        if not re.search(r'<figure class="pgw pgw-sliders"[^>]*>.*?data-ctl="0"', html, flags=re.S):
            missing.append(path.relative_to(site_root).as_posix() + ("" if html else " (not built)"))
    assert not missing, "pages whose notebook calls interactive_plot but show no sliders: " + ", ".join(missing)


def test_images_are_files_not_inline_data(site_root, chapter_page):
    html = (site_root / chapter_page).read_text(encoding="utf-8")
    inline = re.findall(r"data:image/(?:png|webp|jpeg);base64,[A-Za-z0-9+/=]{3000,}", html)
    assert not inline, f"{chapter_page}: {len(inline)} large images are still inline in the HTML"
