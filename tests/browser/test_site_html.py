"""The built site's HTML, read as files (no browser): what every page must and must not contain.

Checks that keep fixed what readers found on the published site: the landing page's contents
list every page of the table of contents, the footer reads as a sentence, no empty index page
is generated, ids are unique on every page, a page has one search box, no script or style sheet
comes from another site, and each configuration script in a page's head is included once.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
_EXTERNAL_ASSET = re.compile(r"""<(?:script[^>]*\ssrc|link[^>]*\shref)\s*=\s*["'](https?:)?//[^"']+""", re.I)
_ID = re.compile(r"""\sid\s*=\s*["']([^"']+)["']""")


def _book_html(site_root: Path) -> list[Path]:
    pages = []
    for path in sorted(site_root.rglob("*.html")):
        rel = path.relative_to(site_root).as_posix()
        top = rel.split("/", 1)[0]
        if top.startswith((".", "_")) or top == "lite":
            continue
        if 'http-equiv="refresh"' in path.read_text(encoding="utf-8", errors="replace")[:2000].lower():
            continue                              # the root index.html only redirects
        pages.append(path)
    return pages


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = []

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return files


def test_landing_page_lists_every_page(site_root):
    landing = (site_root / "book" / "intro.html").read_text(encoding="utf-8")
    contents = landing[landing.find('<div class="toctree-wrapper'):landing.rfind("</article>")]
    missing = [f for f in _toc_files() if f"{Path(f).name}.html" not in contents]
    assert not missing, f"the landing page's contents omit: {missing}"


def test_footer_and_no_empty_index(site_root):
    landing = (site_root / "book" / "intro.html").read_text(encoding="utf-8")
    footer = re.search(r'<p class="component-author">(.*?)</p>', landing, re.S)
    assert footer is not None, "the footer has no author line"
    text = " ".join(re.sub(r"<[^>]+>", "", footer.group(1)).split())
    assert not text.startswith("By The"), f"footer reads {text!r}"
    assert "Makin" in text, f"the footer does not name the draft's author: {text!r}"
    index = site_root / "genindex.html"
    if index.exists():
        entries = len(re.findall(r'<li><a href=', index.read_text(encoding="utf-8")))
        assert entries > 0, "genindex.html is generated but lists nothing"


def test_every_page_has_unique_ids_one_search_box_and_only_local_assets(site_root):
    problems = []
    for path in _book_html(site_root):
        rel = path.relative_to(site_root).as_posix()
        html = path.read_text(encoding="utf-8", errors="replace")
        ids = _ID.findall(html)
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            problems.append(f"{rel}: repeated ids {repeated[:5]}")
        boxes = html.count("search-button-field")
        if boxes != 1:
            problems.append(f"{rel}: {boxes} search boxes")
        external = [m.group(0)[-80:] for m in _EXTERNAL_ASSET.finditer(html)]
        if external:
            problems.append(f"{rel}: assets from other sites {external[:3]}")
        head = html[:html.find("</head>")]
        inline = re.findall(r"<script>(.*?)</script>", head, re.S)
        twice = sorted({s[:60] for s in inline if inline.count(s) > 1})
        if twice:
            problems.append(f"{rel}: inline scripts included more than once {twice}")
    assert not problems, "\n".join(problems)
