"""Keyboard access across the site: tabbing from the top of a page reaches and drives a player.

The per-page checks (axe-core in both colour modes, offline math, layout, weight, controls) are
made in one visit per page by ``test_pages.py``. Here:

* Skip link: the first Tab stop of a chapter page is the skip link, and after it the next Tab
  stop is inside the article, not the article's toolbar.
* Keyboard: tabbing from the top of the first chapter page with an animation player reaches the
  player within :data:`MAX_TAB_STOPS` stops, every stop is visible, no formula that fits its
  column is a tab stop, and the player answers the keyboard (its frame changes) with a visible
  focus indicator.
"""
from __future__ import annotations

from pathlib import Path

import pytest

#: Tab stops allowed from the top of a chapter page to its first player: the skip link and about
#: 30 header and sidebar controls, then the page's own links, code cells' copy buttons and
#: controls before the player (formulas are not tab stops; with them it took thousands).
MAX_TAB_STOPS = 120
PLAYER = "figure.pgw-player"


def settle(page) -> None:
    """Wait for MathJax (when the page loads it) and the web fonts."""
    settled = page.evaluate("""async () => {
        const ready = (async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
            if (document.fonts && document.fonts.ready) await document.fonts.ready;
            return true;
        })();
        return Promise.race([ready, new Promise(r => setTimeout(() => r(false), 30000))]);
    }""")
    assert settled, "MathJax or the web fonts did not finish loading within 30 s"


def _first_player_page(site_root: Path, chapter_pages: list[str]) -> str | None:
    for path in chapter_pages:
        if "pgw-player" in (site_root / path).read_text(encoding="utf-8", errors="replace"):
            return path
    return None


_FOCUS = f"""() => {{
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const r = el.getBoundingClientRect();
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
    // a control is seen if it or something it holds (a chevron, an icon) has a size on screen
    const sized = [el, ...el.querySelectorAll('*')].some(e => {{ const b = e.getBoundingClientRect();
        return b.width > 0 && b.height > 0; }});
    return {{tag: el.tagName, type: el.type || '', inPlayer: !!el.closest('{PLAYER}'),
             formula: !!el.closest('mjx-container, .math'), scrolls: el.scrollWidth > el.clientWidth + 1,
             name: (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 40),
             visible: sized && opacity > 0.5}};
}}"""


def test_the_skip_link_leads_past_the_toolbar_into_the_article(open_page, chapter_pages):
    path = chapter_pages[0]
    page = open_page(path)
    settle(page)
    page.evaluate("() => { window.scrollTo(0, 0); if (document.activeElement) document.activeElement.blur(); }")
    page.keyboard.press("Tab")
    first = page.evaluate("() => document.activeElement.closest('#pst-skip-link, .skip-link') !== null")
    assert first, f"{path}: the first Tab stop is not the skip link"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    where = page.evaluate("""() => { const el = document.activeElement;
        return {inArticle: !!el.closest('.bd-article'), inToolbar: !!el.closest('.bd-header-article'),
                what: el.tagName + ' ' + (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 40)}; }""")
    assert where["inArticle"] and not where["inToolbar"], (
        f"{path}: after the skip link, Tab went to {where['what']!r}, not into the article")


def test_keyboard_reaches_and_drives_the_first_player(open_page, site_root, chapter_pages):
    path = _first_player_page(site_root, chapter_pages)
    assert path is not None, "no chapter page has an animation player (figure.pgw-player)"
    page = open_page(path)
    settle(page)
    page.evaluate("() => { window.scrollTo(0, 0); if (document.activeElement) document.activeElement.blur(); }")
    stops = []
    for _ in range(MAX_TAB_STOPS):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(_FOCUS))
        if stops[-1] and stops[-1]["inPlayer"]:
            break
    trail = [s and f"{s['tag']} {s['name']!r}" for s in stops]
    assert stops and stops[-1] and stops[-1]["inPlayer"], (
        f"{path}: {MAX_TAB_STOPS} Tab presses did not reach the first player; focus went through {trail}")
    hidden = [t for s, t in zip(stops, trail) if s and not s["visible"]]
    assert not hidden, f"{path}: Tab stopped on elements that cannot be seen: {hidden}"
    formulas = [t for s, t in zip(stops, trail) if s and s["formula"] and not s["scrolls"]]
    assert not formulas, f"{path}: formulas that fit their column are tab stops: {formulas[:5]}"
    ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'; }""")
    assert ring, f"{path}: the focused player control shows no focus indicator"
    # Move on to the player's frame slider and step it with the arrow keys.
    for _ in range(10):
        info = page.evaluate(_FOCUS)
        if info and info["inPlayer"] and info["type"] == "range":
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail(f"{path}: no frame slider reachable by Tab inside the player")
    frame = "() => { const p = document.activeElement.closest('" + PLAYER + "'); " \
            "return [document.activeElement.value, p.querySelector('img').getAttribute('src')]; }"
    before = page.evaluate(frame)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    try:                                          # the new frame's image (allowed 30 s; else named below)
        page.wait_for_function(f"(old) => ({frame})()[1] !== old", arg=before[1], timeout=30_000, polling=100)
    except Exception:                             # noqa: BLE001 - reported by the assertion below
        pass
    after = page.evaluate(frame)
    assert after[0] != before[0] and after[1] != before[1], (
        f"{path}: the frame slider did not move the animation by keyboard ({before} -> {after})")
