"""What axe does not look at: focus you can see, colours while hovered or focused, the search page,
the interactive figures' panels in dark mode, and a first visit with nothing stored.

On a few sample pages (the book's first page, the first chapter page with both an interactive
figure and an animation player, and the search page):

1. **Focus visible.** Every control a keyboard can reach is focused in turn (after a key press,
   so the browser draws focus as for a keyboard user); the region round it is photographed
   unfocused and focused and the two must differ. Elements that draw their focus alike (same
   kind, same place on the page, same styles when focused) are photographed once. For every
   control, the colour its focus indicator adds (an outline, or a shadow ring) must have 3:1
   against the background behind it, where the styles say what that background is.
2. **Hover and focus colours.** A link of each kind (in the prose, the sidebar, the page contents,
   the footer of the article) is hovered, then focused, and its text must keep 4.5:1 against its
   background, in light and dark mode.
3. **Search page.** ``search.html?q=kalman`` lists its results (the site's own search index, no
   network) and passes axe's WCAG 2.1 A/AA rules in light mode and its colour rules in dark mode.
4. **Dark panels.** In dark mode the sliders' and players' panels are dark, and their text,
   controls and borders keep their contrast.
5. **First visit.** With empty storage (no stored colour mode, nothing else) pages load without a
   console error, and the page has a valid colour mode before the theme's own script runs.

Contrast is WCAG 2.x's: relative luminance of sRGB colours, (L1 + 0.05) / (L2 + 0.05). Nothing here
waits for a time to pass to decide a result: transitions and animations are switched off in the
page before anything is measured, so every computed style is the final one.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_pages import axe_source, describe, is_wcag, run_axe, set_mode  # noqa: F401 (axe_source: fixture)

#: A page under test holds still: no transitions or animations (a computed style or a screenshot
#: is then the end state, without waiting), no tooltips (the theme shows one on focus, which would
#: make a focused screenshot differ even without a focus indicator) and no blinking caret.
STILL = """*, *::before, *::after { transition: none !important; animation: none !important;
    caret-color: transparent !important; }
.tooltip, .popover { display: none !important; }"""
#: Pixels round an element that its photograph includes (an outline drawn outside the element).
MARGIN = 8
SEARCH = "search.html?q=kalman"


# ------------------------------------------------------------------------------- colour arithmetic

def parse_colour(text: str) -> tuple[float, float, float, float] | None:
    """``rgb(r, g, b)`` / ``rgba(r, g, b, a)`` (a computed CSS colour) -> (r, g, b, a), or None."""
    m = re.fullmatch(r"rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)", text.strip())
    if not m:
        return None
    alpha = m.group(4)
    a = 1.0 if alpha is None else (float(alpha[:-1]) / 100 if alpha.endswith("%") else float(alpha))
    return float(m.group(1)), float(m.group(2)), float(m.group(3)), a


def over(top, bottom):
    """``top`` (r, g, b, a) painted over the opaque ``bottom`` (r, g, b[, 1])."""
    a = top[3]
    return tuple(top[i] * a + bottom[i] * (1 - a) for i in range(3)) + (1.0,)


def luminance(rgb) -> float:
    """WCAG 2.x relative luminance of an sRGB colour given as 0-255 components."""
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg, bg) -> float:
    """WCAG 2.x contrast ratio of two opaque colours (1 to 21)."""
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_function_against_known_values():
    """The arithmetic itself: black on white is 21:1, a colour on itself 1:1, and #767676 the
    lightest grey with 4.5:1 on white (a value WCAG's own examples quote)."""
    white, black = (255, 255, 255), (0, 0, 0)
    assert contrast(black, white) == pytest.approx(21.0)
    assert contrast((18, 52, 86), (18, 52, 86)) == pytest.approx(1.0)
    assert 4.5 <= contrast((0x76, 0x76, 0x76), white) < contrast((0x75, 0x75, 0x75), white)
    assert contrast((0x77, 0x77, 0x77), white) < 4.5
    assert parse_colour("rgba(0, 0, 0, 0.5)") == (0, 0, 0, 0.5)
    assert over((0, 0, 0, 0.5), white)[:3] == (127.5, 127.5, 127.5)


# ------------------------------------------------------------------------------- pages

def _pages(site_root: Path) -> dict[str, str]:
    """The sample: the book's first page and the first chapter page with both kinds of widget."""
    chapter = None
    for path in sorted((site_root / "chapters").rglob("*.html")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if 'class="pgw pgw-sliders"' in text and 'class="pgw pgw-player"' in text:
            chapter = path.relative_to(site_root).as_posix()
            break
    return {"intro": "book/intro.html", "chapter": chapter, "search": SEARCH}


@pytest.fixture(scope="session")
def sample(site_root) -> dict[str, str]:
    pages = _pages(site_root)
    if pages["chapter"] is None:
        pytest.fail("no chapter page has both an interactive figure and an animation player")
    return pages


def _settle(page) -> None:
    """MathJax and the web fonts done (or 30 s passed: the checks then see what is there)."""
    page.evaluate("""async () => {
        const ready = (async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
            if (document.fonts && document.fonts.ready) await document.fonts.ready;
        })();
        await Promise.race([ready, new Promise(r => setTimeout(r, 30000))]);
    }""")


@pytest.fixture(scope="module")
def still_page(open_context):
    """``still_page(path, mode)``: the page opened in that colour mode, settled and held still (see
    :data:`STILL`), every image loaded. A page is opened once per mode and shared by the tests of this
    module that look at it, in the order they run (each leaves nothing focused or hovered); they run
    on one worker (``pytest_xdist_make_scheduler`` in ``conftest.py``), and the pages are closed
    after the module's last test."""
    opened = {}

    def opener(path: str, mode: str):
        if (path, mode) not in opened:
            context, page = open_context(path, color_scheme=mode, wait_ms=0)
            opened[path, mode] = context
            if path.startswith("search.html"):
                _wait_for_results(page)
            _settle(page)
            page.add_style_tag(content=STILL)
            page.evaluate(_ALL_IMAGES)
        return opened[path, mode].pages[0]

    yield opener
    for context in opened.values():
        context.close()


#: Every image loaded now (the widgets' images load lazily, when scrolled to: one arriving between
#: two photographs would make them differ), or after 30 s the checks see what is there.
_ALL_IMAGES = """async () => {
    const images = [...document.images];
    images.forEach(i => { i.loading = 'eager'; });
    const loaded = Promise.all(images.map(i => i.complete ? 0 : new Promise(r => { i.addEventListener('load', r);
        i.addEventListener('error', r); })));
    await Promise.race([loaded, new Promise(r => setTimeout(r, 30000))]);
}"""


def _wait_for_results(page) -> None:
    """Sphinx's search lists its results one by one and then says how many it found."""
    page.wait_for_function("""() => { const s = document.querySelector('#search-results .search-summary,'
        + ' #search-results > p'); return s && /found|did not match/i.test(s.textContent); }""",
                           timeout=60_000, polling=100)


#: JavaScript shared by the page scripts below: ``parse`` reads a CSS colour as [r, g, b, alpha];
#: ``behind(el)`` is the opaque colour behind an element (its and its ancestors' backgrounds laid
#: over white), or null over an image.
_COLOUR_JS = r"""    const parse = (c) => { const m = /^rgba?\(([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,\/]\s*([\d.]+))?\)$/
                           .exec(c.trim()); return m ? [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]] : null; };
    const behind = (start) => {
        const layers = [];
        for (let e = start; e; e = e.parentElement) {
            const s = getComputedStyle(e);
            if (s.backgroundImage !== 'none') return null;
            const c = parse(s.backgroundColor);
            if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
        }
        let base = [255, 255, 255];
        for (const c of layers.reverse()) base = base.map((b, i) => c[i] * c[3] + b * (1 - c[3]));
        return base;
    };
"""


def _with_colour_js(script: str) -> str:
    return script.replace("    /*COLOURS*/\n", _COLOUR_JS)


# ------------------------------------------------------------------------------- 1. focus visible

#: Every control a keyboard reaches (visible, enabled, not taken out of the tab order), each
#: marked with data-h3 = its number; and for each, what focusing it changes: the outline and box
#: shadow of the element and of what it holds, each with the background behind it.
_FOCUS_SURVEY = _with_colour_js(r"""() => {
    const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
    /*COLOURS*/
    const look = (e) => { const s = getComputedStyle(e);
        return {outline: s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor + ' ' + s.outlineOffset,
                style: s.outlineStyle, width: parseFloat(s.outlineWidth), colour: s.outlineColor,
                offset: parseFloat(s.outlineOffset), shadow: s.boxShadow, bg: s.backgroundColor, fg: s.color,
                border: s.borderColor}; };
    const region = (e) => { const r = e.closest('.pgw, .bd-header-article, .bd-header, .bd-sidebar-primary, '
        + '.bd-sidebar-secondary, .bd-footer, footer, .prev-next-area, #search-results, .bd-article, #pst-skip-link');
        return r ? (r.id || String(r.className).split(' ')[0]) : 'page'; };
    const found = [];
    let n = 0;
    for (const el of document.querySelectorAll(sel)) {
        if (el.tabIndex < 0 || el.disabled || el.closest('[inert], [hidden]')) continue;
        const r = el.getBoundingClientRect();
        if (!el.checkVisibility({visibilityProperty: true}) || r.width < 1 || r.height < 1) {
            // a control may draw itself through what it holds (an icon): then it is seen too
            if (![...el.querySelectorAll('*')].some(c => { const b = c.getBoundingClientRect();
                    return b.width > 0 && b.height > 0 && c.checkVisibility({visibilityProperty: true}); }))
                continue;
        }
        const parts = [el, ...el.querySelectorAll('*')].slice(0, 40);
        if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
        const before = parts.map(look);
        el.focus({preventScroll: true});
        if (document.activeElement !== el) continue;     // not focusable after all
        const after = parts.map(look);
        const changes = [];
        parts.forEach((p, i) => {
            const a = after[i], b = before[i];
            if (a.outline !== b.outline && a.style !== 'none' && a.width > 0)
                changes.push({what: 'outline', colour: parse(a.colour),
                              behind: behind(a.offset >= 0 && p.parentElement ? p.parentElement : p)});
            if (a.shadow !== b.shadow && a.shadow !== 'none') {
                // each shadow drawn outside the box: its colour on what is behind the element
                for (const part of a.shadow.split(/,(?![^(]*\))/)) {
                    if (/inset/.test(part)) continue;
                    const c = /rgba?\([^)]*\)/.exec(part);
                    if (c) changes.push({what: 'shadow', colour: parse(c[0]), behind: behind(p.parentElement || p)});
                }
            }
            if (a.bg !== b.bg || a.fg !== b.fg || a.border !== b.border)
                changes.push({what: 'colours', colour: null, behind: null});
        });
        n += 1;
        el.setAttribute('data-h3', String(n));
        const name = (el.getAttribute('aria-label') || el.textContent || el.getAttribute('title') || '')
            .replace(/\s+/g, ' ').trim().slice(0, 40);
        const kind = el.tagName + '.' + [...el.classList].sort().join('.') + (el.type ? '[' + el.type + ']' : '');
        found.push({n, name, kind, region: region(el), visible: el.matches(':focus-visible'), changes,
                    key: [kind, region(el),
                          JSON.stringify(after.slice(0, 6).map(a => [a.outline, a.shadow]))].join('|')});
        el.blur();
    }
    return found;
}""")

_CLIP = """async ([n, margin]) => {
    const el = document.querySelector(`[data-h3="${n}"]`);
    el.scrollIntoView({block: 'center', inline: 'nearest'});
    // two frames: what watches the scrolling (the page contents' current entry) has caught up
    for (let i = 0; i < 2; i++) await new Promise(r => requestAnimationFrame(r));
    const boxes = [el, ...el.querySelectorAll('*')].map(e => e.getBoundingClientRect()).filter(b => b.width > 0);
    const x0 = Math.min(...boxes.map(b => b.left)) - margin, y0 = Math.min(...boxes.map(b => b.top)) - margin;
    const x1 = Math.max(...boxes.map(b => b.right)) + margin, y1 = Math.max(...boxes.map(b => b.bottom)) + margin;
    const x = Math.max(0, x0), y = Math.max(0, y0);
    return {x, y, width: Math.min(innerWidth, x1) - x, height: Math.min(innerHeight, y1) - y};
}"""


def _photo_pair(page, n: int) -> tuple[bytes, bytes]:
    """Control n (see _FOCUS_SURVEY) and MARGIN pixels round it, photographed unfocused, then focused;
    two empty photographs when it has no box on screen."""
    clip = page.evaluate(_CLIP, [n, MARGIN])
    if clip["width"] < 1 or clip["height"] < 1:
        return b"", b""
    page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); }")
    plain = page.screenshot(clip=clip, animations="disabled")
    page.evaluate("(n) => document.querySelector(`[data-h3=\"${n}\"]`).focus({preventScroll: true})", n)
    focused = page.screenshot(clip=clip, animations="disabled")
    return plain, focused


#: The header and sidebar are the same on every page: the search page is looked at in light mode only,
#: and the widgets' panels (which change most in dark mode) in both.
FOCUS_CASES = [("intro", "light"), ("chapter", "light"), ("chapter", "dark"), ("search", "light")]


@pytest.mark.parametrize("which,mode", FOCUS_CASES, ids=[f"{w}-{m}" for w, m in FOCUS_CASES])
def test_focus_is_visible_on_every_control(still_page, sample, which, mode):
    path = sample[which]
    page = still_page(path, mode)
    page.mouse.move(0, 0)
    page.keyboard.press("Shift")                  # a key press: focus is now drawn as for the keyboard
    controls = page.evaluate(_FOCUS_SURVEY)
    assert len(controls) >= 10, f"{path}: only {len(controls)} focusable controls found; the survey is broken"
    problems = []
    not_visible = [c for c in controls if not c["visible"]]
    assert not not_visible, (f"{path}: focus() did not make these :focus-visible, so what follows would not "
                             f"test keyboard focus: {[c['name'] for c in not_visible[:5]]}")
    photographed = {}
    for c in controls:
        label = f"{c['kind']} {c['name']!r} ({c['region']})"
        if c["key"] not in photographed:
            plain, focused = _photo_pair(page, c["n"])
            if plain:                             # (off screen even when scrolled to: the next alike)
                photographed[c["key"]] = plain != focused
        if photographed.get(c["key"]) is False:
            problems.append(f"no visible change when focused: {label}")
            continue
        # the indicator's colours that the styles say (an outline, a shadow ring) and what is behind
        # them; a ring of the background's own colour only spaces the indicator out, so one colour
        # with 3:1 is enough
        ratios = []
        for change in c["changes"]:
            if change["colour"] is not None and change["behind"] is not None and change["colour"][3] > 0:
                bg = tuple(change["behind"])
                ratios.append((contrast(over(change["colour"], bg), bg), change, bg))
        if ratios and max(r for r, _, _ in ratios) < 3.0:
            ratio, change, bg = max(ratios, key=lambda t: t[0])
            problems.append(f"focus {change['what']} {tuple(round(v) for v in change['colour'][:3])} "
                            f"has {ratio:.2f}:1 on {tuple(round(v) for v in bg)}: {label}")
    page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); }")   # for the next test
    assert photographed, f"{path}: no control could be photographed"
    assert not problems, f"{path} ({mode}), {len(controls)} controls:\n  " + "\n  ".join(dict.fromkeys(problems))


# ------------------------------------------------------------------------------- 2. hover and focus colours

#: One link of each kind (the first visible one), by CSS selector.
LINK_KINDS = {
    "link in the prose": ".bd-article p a[href]:not(.headerlink)",
    "sidebar link": "nav.bd-links li:not(.current) > a[href]",
    "current sidebar link": "nav.bd-links li.current > a[href]",
    "page contents link": ".bd-sidebar-secondary nav.page-toc a[href]",
    "article footer link": ".prev-next-area a[href], .bd-footer-article a[href]",
    "page footer link": ".bd-footer a[href], footer.bd-footer-content a[href]",
}

#: The text colours of a link (itself and what it holds with text of its own), each with the
#: opaque background behind it.
_TEXT_COLOURS = _with_colour_js(r"""(el) => {
    /*COLOURS*/
    const own = (e) => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    return [el, ...el.querySelectorAll('*')].filter(own).filter(e => e.checkVisibility())
        .map(e => ({text: e.textContent.trim().slice(0, 30), fg: parse(getComputedStyle(e).color), bg: behind(e)}));
}""")


def _text_problems(element, state: str, what: str) -> list[str]:
    out = []
    for t in element.evaluate(_TEXT_COLOURS):
        if t["fg"] is None or t["bg"] is None:
            continue
        bg = tuple(t["bg"])
        ratio = contrast(over(t["fg"], bg), bg)
        if ratio < 4.5:
            out.append(f"{what} {t['text']!r} {state}: {ratio:.2f}:1 "
                       f"({tuple(round(v) for v in t['fg'][:3])} on {tuple(round(v) for v in bg)})")
    return out


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_links_keep_their_contrast_when_hovered_or_focused(still_page, sample, mode):
    path = sample["chapter"]
    page = still_page(path, mode)
    problems, seen = [], []
    for what, css in LINK_KINDS.items():
        link = next((a for a in page.query_selector_all(css) if a.is_visible()), None)
        if link is None:
            continue
        seen.append(what)
        link.evaluate("(el) => el.scrollIntoView({block: 'center'})")
        problems += _text_problems(link, "at rest", what)
        link.hover()
        assert link.evaluate("(el) => el.matches(':hover')"), f"{path}: could not hover the {what}"
        problems += _text_problems(link, "hovered", what)
        page.mouse.move(0, 0)
        page.keyboard.press("Shift")
        link.focus()
        problems += _text_problems(link, "focused", what)
        link.evaluate("(el) => el.blur()")
    for required in ("link in the prose", "sidebar link", "page contents link", "article footer link"):
        assert required in seen, f"{path}: no visible {required} ({LINK_KINDS[required]}); the test is out of date"
    assert not problems, f"{path} ({mode}):\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------------------- 3. search page

def test_search_page_passes_axe_in_light_and_dark_mode(still_page, axe_source):  # noqa: F811 (a fixture)
    page = still_page(SEARCH, "light")
    results = page.evaluate("() => document.querySelectorAll('#search-results li').length")
    marked = page.evaluate("() => document.querySelectorAll('#search-results span.highlighted').length")
    assert results > 0, f"{SEARCH}: no results"
    assert marked > 0, f"{SEARCH}: no matched word is marked in the results, so their colour goes unchecked"
    # errors are read before axe runs: axe fetches the stylesheets again and resolves the theme's @import
    # against the page's address, a 404 that is axe's, not the page's (see _axe_both_modes in test_pages.py)
    assert not page.js_errors, f"{SEARCH}: JavaScript errors: {page.js_errors[:3]}"
    found = []
    for mode in ("light", "dark"):
        assert set_mode(page, mode) == mode
        found += [f"[{mode}] {describe(v)}" for v in run_axe(page, axe_source, colour_only=mode == "dark",
                                                                 advice=False) if is_wcag(v)]
    assert not found, f"{SEARCH}: WCAG 2.1 A/AA violations:\n  " + "\n  ".join(found)


# ------------------------------------------------------------------------------- 4. dark panels

#: For every widget panel: its background, and each text, control and border with the colour
#: behind it (the backgrounds composited to an opaque colour, as in _TEXT_COLOURS).
_PANELS = r"""() => {
    const parse = (c) => { const m = /^rgba?\(([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,\/]\s*([\d.]+))?\)$/
                           .exec(c.trim()); return m ? [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]] : null; };
    const behind = (start) => {
        const layers = [];
        for (let e = start; e; e = e.parentElement) {
            const c = parse(getComputedStyle(e).backgroundColor);
            if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
        }
        let base = [255, 255, 255];
        for (const c of layers.reverse()) base = base.map((b, i) => c[i] * c[3] + b * (1 - c[3]));
        return base;
    };
    return [...document.querySelectorAll('figure.pgw')].map((fig, i) => {
        const texts = [...fig.querySelectorAll('label, output, .pgw-caption, .pgw-status, button, select')]
            .filter(e => e.checkVisibility())
            .map(e => ({what: e.tagName.toLowerCase() + ' ' + e.textContent.trim().slice(0, 25),
                        fg: parse(getComputedStyle(e).color), bg: behind(e)}));
        const borders = [{what: 'panel border', fg: parse(getComputedStyle(fig).borderTopColor),
                          bg: behind(fig.parentElement)}]
            .concat([...fig.querySelectorAll('button, select')].slice(0, 3).map(e => ({
                what: e.tagName.toLowerCase() + ' border', fg: parse(getComputedStyle(e).borderTopColor),
                bg: behind(e.parentElement)})));
        return {n: i + 1, kind: fig.className, panel: behind(fig), texts, borders};
    });
}"""


def test_widget_panels_follow_the_dark_theme(still_page, sample):
    path = sample["chapter"]
    page = still_page(path, "dark")
    panels = page.evaluate(_PANELS)
    kinds = {p["kind"] for p in panels}
    assert any("pgw-sliders" in k for k in kinds) and any("pgw-player" in k for k in kinds), (
        f"{path}: expected both a slider panel and a player panel, found {kinds}")
    page_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    problems = []
    for p in panels:
        where = f"panel {p['n']} ({p['kind']})"
        if luminance(p["panel"]) > 0.05:
            problems.append(f"{where}: background {tuple(round(v) for v in p['panel'])} is not dark "
                            f"(page {page_bg})")
        for t in p["texts"]:
            ratio = contrast(over(t["fg"], t["bg"]), t["bg"])
            if ratio < 4.5:
                problems.append(f"{where}: {t['what']!r} has {ratio:.2f}:1")
        for b in p["borders"]:
            ratio = contrast(over(b["fg"], b["bg"]), b["bg"])
            if ratio < 3.0:
                problems.append(f"{where}: {b['what']} has {ratio:.2f}:1 against what surrounds it")
    assert not problems, f"{path} (dark):\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------------------- 5. first visit

#: Before the theme's script runs, note the colour mode the page holds. The theme's script is deferred:
#: it runs once the document is parsed, just after the document turns "interactive", when this runs.
_EARLY_MODE = """document.addEventListener('readystatechange', () => {
    if (document.readyState !== 'interactive') return;
    window.__h3_early = {mode: document.documentElement.dataset.mode,
                         theme: document.documentElement.dataset.theme,
                         stored: localStorage.length};
});"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_first_visit_with_empty_storage_logs_no_error(browser, site_url, sample, scheme):
    """Each page in a context of its own (a first visit: the theme stores the mode once it runs). The
    three sample pages with a light preference; with a dark one, the first page only (the same script)."""
    problems = []
    for path in ((sample["intro"], sample["chapter"], SEARCH) if scheme == "light" else (sample["intro"],)):
        context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
        try:
            context.route(re.compile(r"^(?!http://127\.0\.0\.1:|data:|blob:|about:)"), lambda r: r.abort())
            context.add_init_script(_EARLY_MODE)
            page = context.new_page()
            errors = []
            page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
                    and errors.append(m.text))
            page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
            page.goto(site_url + path, wait_until="load")
            if path == SEARCH:
                _wait_for_results(page)
            _settle(page)
            early = page.evaluate("() => window.__h3_early")
        finally:
            context.close()
        if errors:
            problems.append(f"{path}: {errors[:3]}")
        if early is None or early["stored"] != 0:
            problems.append(f"{path}: storage was not empty on arrival ({early})")
        elif early["theme"] != scheme or early["mode"] not in ("auto", "light", "dark"):
            problems.append(f"{path}: before the theme's script the page held mode {early['mode']!r}, theme "
                            f"{early['theme']!r} (expected a valid mode and the {scheme!r} theme the browser prefers)")
    assert not problems, f"a first visit ({scheme} preferred), nothing stored:\n  " + "\n  ".join(problems)
