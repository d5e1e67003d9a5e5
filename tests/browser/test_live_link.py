"""Every chapter page shows, under its title, a link that opens the page's notebook live (issue 33).

The link (``lite/lite_build.py``: :func:`add_live_link`) leads to the JupyterLite copy of the
page's notebook in ``lite/`` of the site. Read from the built files for every chapter notebook's
page; in the browser for one page: the link is on the first screen, it is the first control of the
article that Tab reaches, and Enter follows it to the lite app with the page's notebook.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Open live in your browser"
_LINK = re.compile(r'<p class="live-link"><a class="live-link-button" href="(?P<href>[^"]+)">(?P<text>[^<]*)</a>')


def _chapter_notebooks() -> list[Path]:
    return sorted(p.relative_to(ROOT) for p in (ROOT / "chapters").rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def test_every_chapter_page_links_live_to_its_lite_notebook(site_root):
    notebooks = _chapter_notebooks()
    assert len(notebooks) >= 19
    problems = []
    for rel in notebooks:
        page = site_root / rel.with_suffix(".html")
        text = page.read_text(encoding="utf-8")
        found = list(_LINK.finditer(text))
        if len(found) != 1:
            problems.append(f"{page.relative_to(site_root)}: {len(found)} live links (one expected)")
            continue
        link = found[0]
        if link.group("text") != TEXT:
            problems.append(f"{page.relative_to(site_root)}: the live link reads {link.group('text')!r}")
        title_end = text.rfind("</h1>", 0, link.start())       # the article's title, before the link
        if not 0 <= title_end < link.start() or text[title_end + 5: link.start()].strip():
            problems.append(f"{page.relative_to(site_root)}: the live link is not right under the title")
        target = urlsplit(unquote(html.unescape(link.group("href"))))
        if target.scheme or target.netloc:
            problems.append(f"{page.relative_to(site_root)}: the live link leaves the site ({link.group('href')})")
        app = (page.parent / target.path).resolve()
        if app != (site_root / "lite" / "notebooks" / "index.html").resolve() or not app.is_file():
            problems.append(f"{page.relative_to(site_root)}: the live link opens {target.path}, not the lite site's "
                            "notebook app")
        path = parse_qs(target.query).get("path", [""])[0]
        if path != rel.as_posix() or not (site_root / "lite" / "files" / path).is_file():
            problems.append(f"{page.relative_to(site_root)}: the live link opens {path!r}, not the lite copy of "
                            f"{rel.as_posix()}")
    assert not problems, "\n".join(problems)


def test_live_link_is_seen_first_in_the_article_and_follows_with_enter(open_page):
    rel = next(p for p in _chapter_notebooks() if p.stem == "8_3_forward_diffusion")
    page = open_page(rel.with_suffix(".html").as_posix())
    link = page.get_by_role("link", name=TEXT, exact=True)
    assert link.count() == 1
    box = link.bounding_box()
    viewport = page.viewport_size
    assert box and box["width"] > 0 and box["y"] + box["height"] <= viewport["height"], \
        f"the live link is not on the first screen: {box} in {viewport}"
    page.evaluate("() => { window.scrollTo(0, 0); if (document.activeElement) document.activeElement.blur(); }")
    for _ in range(120):
        page.keyboard.press("Tab")
        where = page.evaluate("""() => { const el = document.activeElement;
            return el ? {live: el.matches('a.live-link-button'),
                         article: !!el.closest('article') && !el.matches('a.headerlink')} : null; }""")
        if where and (where["live"] or where["article"]):
            break
    assert where and where["live"], "Tab reaches another control of the article before the live link"
    with page.expect_navigation(wait_until="commit"):
        page.keyboard.press("Enter")
    target = urlsplit(page.url)
    assert target.path.endswith("/lite/notebooks/index.html")
    assert parse_qs(target.query).get("path") == [rel.as_posix()]
