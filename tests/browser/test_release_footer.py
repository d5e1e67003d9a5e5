"""The built site's footer gives the release and the licences on every page (HTML read as files).

The version is read here from ``pyproject.toml``, its one source; the build reads the same file
(``_ext/accessible_site.py``), so a page built before a version change fails here.
"""
from __future__ import annotations

import html
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_RELEASE = re.compile(r'<p class="component-release">(.*?)</p>', re.S)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_every_page_footer_shows_the_pyproject_version_and_the_licences(site_root, built_pages):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    problems, checked = [], 0
    for rel in built_pages:
        page = (site_root / rel).read_text(encoding="utf-8", errors="replace")
        if 'http-equiv="refresh"' in page[:2000].lower():
            continue                                   # the root index.html only redirects
        checked += 1
        footer = page[page.find('class="bd-footer-content'):] if 'class="bd-footer-content' in page else ""
        lines = [_text(m.group(1)) for m in _RELEASE.finditer(footer)]
        if len(lines) != 1:
            problems.append(f"{rel}: {len(lines)} release lines in the footer")
            continue
        line = lines[0]
        if not re.search(rf"\bversion {re.escape(version)}(?![\w.])", line, re.I):
            problems.append(f"{rel}: the footer says {line!r}, not version {version}")
        if "MIT licence" not in line or "CC BY 4.0" not in line:
            problems.append(f"{rel}: the footer does not name both licences: {line!r}")
    assert checked > 0, "no book page to check"
    assert not problems, "\n".join(problems[:20])
