"""Every page of the built book, visited once: accessibility, controls, offline math, layout, weight.

A page is opened once (light mode, every request outside 127.0.0.1 refused, as for a reader
offline) and everything below is observed during that one visit, in an order that leaves each
observation undisturbed by the ones before it; the tests of this module then each assert one part
of that visit's report (:func:`visit`). Opening a page is most of the cost of a browser test, so
one visit per page keeps the suite's time proportional to the book's size, not to the number of
checks.

The visit, in order:

0. **Layout shift.** While the page loads and MathJax typesets it, before anything is scrolled or
   clicked, the layout shifts add up to at most :data:`MAX_LAYOUT_SHIFT` (the "good" line of the
   cumulative layout shift of Core Web Vitals, here summed over the whole load, which is stricter).
1. **Load and first visit.** JavaScript errors and failed local requests while the page loads and
   is scrolled to the end (every lazily loaded image fetched); the bytes fetched beyond the theme's
   shared files (``_static/``), before any control is used.
2. **Offline math.** Every formula typeset by the site's own MathJax (no raw TeX, no TeX error),
   each with its hidden MathML for screen readers, none a tab stop unless it must scroll.
3. **Layout at 1280 px.** Nothing in the article is wider than the box that holds it, and no code
   block or display equation scrolls sideways.
4. **axe-core, solutions collapsed.** The collapsed solutions' blocks, every WCAG 2.1 A/AA rule in
   light mode, then the colour rules in dark mode (the theme switched in place, as its own toggle
   does). Collapsed blocks come from a few templates of the theme and its extensions, the same on
   every page, and a run of axe costs about two seconds whatever part of a page it checks; so this
   step runs on one page for each kind of collapsed block, not on all (:func:`collapsed_sample`).
5. **Controls.** Solutions are closed until their title is clicked, and then open. Every
   animation player answers Next by keyboard, its frame slider by arrow keys, Play and Pause.
   Every static slider, menu and checkbox of every interactive figure changes the image by
   keyboard, shows a focus ring and says its value; Reset changes it back.
6. **axe-core, everything expanded.** Every collapsed block opened; the whole page, every WCAG 2.1
   A/AA rule (plus ``label-content-name-mismatch``, WCAG 2.5.3, which axe marks experimental) in
   light mode, then the colour rules in dark mode. axe's best-practice rules (warnings, never
   failures) run on the pages of the collapsed-block sample only. The
   colour rules check one element of each look (same colours, type and backdrop), not every
   element, and each look once, on the first page that shows it (``_COLOUR_CONTEXT``; a test below
   makes sure a bad colour is still caught).
7. **Phone.** At 390 px wide nothing makes the page wider than the screen, and no slider panel
   scrolls sideways or has a control sticking out of it (a long label or a drop-down as wide as its
   longest choice once did, on four pages). On the pages with the widest tables, no word in a table
   cell is split over two lines (and, on the widest, one is when cells may break anywhere).

**The maths, apart from axe.** While axe runs (steps 4 and 6), MathJax's output is out of the page:
the children of every ``mjx-container`` (the glyph boxes and the hidden MathML), two thirds of the
elements of a page of formulas (12,481 of 19,040 on the notation page). axe's colour rule maps
every element under ``<body>`` before it checks its first one, at a cost that grows faster than
their number, whatever the run's context: with ``exclude: [["mjx-container"]]`` the notation page's
run of every rule took 17 s (14 s without), while with the formulas out of the page it took 2-3 s
(8-13 s with them; all on a loaded machine). axe found nothing to check in a formula's colour anyway
(MathJax draws its glyphs as CSS generated content, no text node for axe). What axe did check on
the maths was that nothing in them takes the focus (``aria-hidden-focus`` on the glyph boxes,
``nested-interactive`` on the MathML); the containers, which stay, still get every rule
(``avoid-inline-spacing``). In place of what axe no longer sees, the whole-page step checks the
maths itself, with the formulas back in the page, in light and in dark mode (:data:`_MATH_CHECK`):
every visible formula, and every part of one in a colour of its own (``\\color``), has a WCAG 2.1
contrast ratio of at least 4.5 with the background behind it, and nothing inside a formula can
take the focus. An offender fails the axe test as a violation would, and a test makes sure a light
grey formula is caught. That each formula carries its MathML for screen readers is step 2's.
"""
from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import pytest
from test_phone import SPLIT_WORDS, widest_table_pages

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: Rules that axe marks experimental but that test a WCAG 2.1 A/AA criterion (2.5.3 Label in Name).
EXTRA_RULES = ["label-content-name-mismatch"]
#: Rules whose outcome depends on the colours, run again in dark mode (the others look at markup,
#: which is the same in both modes).
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
#: What a collapsed solution changes: its block (title, toggle button); the rest of the page is
#: the same as with the solutions open.
TOGGLES = ".bd-article .toggle, .bd-article details"
HTML_BUDGET = 400_000
FIRST_VISIT_BUDGET = 1_000_000
PHONE_WIDTH = 390
MAX_LAYOUT_SHIFT = 0.1
PLAYER = "figure.pgw-player"
#: How long a control may take to show its next image. A few hundred milliseconds on an idle machine; a
#: browser starved of CPU (a machine busy with other work) was seen to take more than 10 s, on a page whose
#: formulas were still being typeset on the same thread.
IMAGE_TIMEOUT_MS = 60_000
SOLUTIONS = ".solution.admonition, details.solution, .solution.dropdown"
#: What axe loads before a run: the media (for ``no-autoplay-audio``), not the style sheets. axe
#: fetches and parses every style sheet of the page again for its CSSOM, which only the experimental
#: ``css-orientation-lock`` reads, a rule no run here enables (:func:`test_no_axe_rule_run_here_needs_the_cssom`).
PRELOAD = {"assets": ["media"]}
#: What the maths probe turns light grey (:func:`test_faint_math_is_noticed`).
FAINT_MATH = "mjx-container, mjx-container *"


class AxeBestPractice(UserWarning):
    """An axe-core best-practice finding (reported, not failed)."""


@pytest.fixture(scope="session")
def axe_source() -> str:
    try:
        import axe_playwright_python
    except ImportError:
        pytest.skip("the Python package axe-playwright-python is not installed "
                    "(pip install -r requirements-test.txt)")
    path = Path(axe_playwright_python.__file__).parent / "axe.min.js"
    if not path.is_file():
        pytest.fail(f"axe-playwright-python has no {path.name}")
    return path.read_text(encoding="utf-8")


def book_only(path: str, site_root: Path) -> None:
    """Skip what is not a page of the book: the root ``index.html`` that only redirects."""
    text = (site_root / path).read_text(encoding="utf-8", errors="replace")[:2000].lower()
    if 'http-equiv="refresh"' in text:
        pytest.skip(f"{path} only redirects to the book's first page")


# ------------------------------------------------------------------------------- the visit

#: Wait for MathJax and the web fonts, but never longer than 30 s: a promise that never settles
#: must not hang the test run (the math check then reports what was not typeset).
_SETTLE = """async () => {
    const ready = (async () => {
        if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
        if (document.fonts && document.fonts.ready) await document.fonts.ready;
    })();
    await Promise.race([ready, new Promise(r => setTimeout(r, 30000))]);
}"""

_SCROLL_THROUGH = """async () => { for (let y = 0; y <= document.body.scrollHeight; y += 900) {
    window.scrollTo(0, y); await new Promise(r => setTimeout(r, 30)); } window.scrollTo(0, 0); }"""

#: The layout shifts since the page started loading (the browser keeps them for a late observer:
#: they are in the observer's buffer as soon as it observes, ``takeRecords``; a shift of the last
#: frame still on its way is delivered within two more frames, each bounded at a second).
_LAYOUT_SHIFT = """async () => {
    const shifts = [], keep = list => { for (const e of list) if (!e.hadRecentInput) shifts.push(e); };
    const observer = new PerformanceObserver(list => keep(list.getEntries()));
    observer.observe({type: 'layout-shift', buffered: true});
    keep(observer.takeRecords());
    for (let i = 0; i < 2; i++) await Promise.race([new Promise(r => requestAnimationFrame(r)),
                                                    new Promise(r => setTimeout(r, 1000))]);
    keep(observer.takeRecords());
    observer.disconnect();
    const what = e => (e.sources || []).slice(0, 2).map(s => s.node ? (s.node.nodeName + '.' +
        String(s.node.className || '').slice(0, 30)) : '?').join(', ');
    return {total: shifts.reduce((a, e) => a + e.value, 0),
            largest: shifts.sort((a, b) => b.value - a.value).slice(0, 3)
                .map(e => `${e.value.toFixed(3)} at ${Math.round(e.startTime)} ms (${what(e)})`)};
}"""

_FETCHED = """() => performance.getEntriesByType('navigation').concat(
    performance.getEntriesByType('resource')).map(e => [e.name, e.encodedBodySize || 0])"""

_MATH = r"""() => {
    const article = document.querySelector('.bd-article') || document.body;
    const math = article.querySelectorAll('.math');
    let untypeset = 0;
    for (const m of math) if (!m.querySelector('mjx-container')) untypeset += 1;
    const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
    const raw = [];
    while (walker.nextNode()) {
        const n = walker.currentNode, p = n.parentElement;
        if (!p || p.closest('pre, code, script, style, textarea, mjx-container, .highlight')) continue;
        const t = n.textContent;
        if (t.includes('$$') || t.includes('\\(') || t.includes('\\[') || /\\begin\{/.test(t))
            raw.push(t.trim().slice(0, 60));
    }
    return {formulas: math.length, untypeset, raw: raw.slice(0, 3),
            tex_errors: document.querySelectorAll('mjx-merror').length,
            // a formula is a tab stop only when it is too wide and must be scrolled
            tab_stops: [...document.querySelectorAll('mjx-container[tabindex]:not([tabindex="-1"])')]
                .filter(m => m.scrollWidth <= m.clientWidth + 1).length,
            speech: document.querySelectorAll('mjx-container mjx-assistive-mml').length};
}"""

_OVERFLOW = r"""() => {
    const out = [];
    const article = document.querySelector('.bd-article');
    if (!article) return out;
    const right = article.getBoundingClientRect().right;
    const reported = [];
    const say = (el, what, over) => { reported.push(el); out.push({what, over: Math.round(over), tag: el.tagName,
        cls: String(el.className).slice(0, 50), text: (el.textContent || '').trim().slice(0, 50)}); };
    for (const el of article.querySelectorAll('*')) {
        // A stretchy brace or arrow (\underbrace, \xrightarrow) is a long run of extender glyphs
        // that MathJax clips to the stretched width inside mjx-stretchy-h/v: nothing scrolls.
        if (el.closest('mjx-assistive-mml, .visually-hidden, .sr-only, mjx-stretchy-h, mjx-stretchy-v')) continue;
        if (reported.some(r => r.contains(el))) continue;          // only the outermost culprit
        const s = getComputedStyle(el);
        if (s.display === 'none' || s.visibility === 'hidden') continue;
        // overflow does not apply to inline boxes (their client width is 0)
        if (!s.display.startsWith('inline') && ['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX)
            && el.scrollWidth > el.clientWidth + 2) {
            say(el, 'cut off or scrolled', el.scrollWidth - el.clientWidth);
            continue;
        }
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.right > right + 2) say(el, 'sticks out of the article', r.right - right);
    }
    return out;
}"""

_EXPAND = """() => {
    let n = 0;
    for (const d of document.querySelectorAll('.bd-article details:not([open])')) { d.open = true; n += 1; }
    for (const b of document.querySelectorAll('.bd-article button.toggle-button')) {
        if (b.getAttribute('aria-expanded') === 'false') { b.click(); n += 1; }
    }
    return n;
}"""

_PHONE = """(w) => ({width: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    culprits: [...document.querySelectorAll('body *')]
        .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > w + 1; })
        .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > w + 1))
        .slice(0, 4).map(e => e.tagName + '.' + String(e.className).slice(0, 40) + ': ' +
                         (e.textContent || '').trim().slice(0, 40))})"""

#: For each slider panel of the page: what scrolls sideways (the panel or a box around it, with the
#: hidden width) and which control reaches past the panel's right edge; and how many panels there are.
_PANEL_FIT = """() => { const panels = [...document.querySelectorAll('.bd-article figure.pgw-sliders')];
    return {count: panels.length, problems: panels.flatMap((f, i) => {
    const out = [];
    for (let e = f; e && !e.classList.contains('bd-article'); e = e.parentElement)
        if (e.scrollWidth > e.clientWidth + 1)
            out.push(`panel ${i + 1}: ${e.tagName.toLowerCase()}.${String(e.className).split(' ')[0]} hides ${e.scrollWidth - e.clientWidth} px`);
    const edge = f.getBoundingClientRect().right;
    for (const c of f.querySelectorAll('.pgw-controls label, .pgw-controls select, .pgw-controls input, .pgw-controls output'))
        if (c.getBoundingClientRect().right > edge + 1)
            out.push(`panel ${i + 1}: a ${c.tagName.toLowerCase()} reaches ${Math.round(c.getBoundingClientRect().right - edge)} px past it`);
    return out;
})}; }"""


#: Bring the transitions that a change of mode or an opened solution starts to their end state:
#: running animations of finite length only (a paused or idle one never finishes). They are
#: finished, not waited for: a transition started while the page is busy can sit at its first
#: frame for seconds in a headless browser, and only the settled page is of interest here.
_TRANSITIONS_DONE = """async () => {
    // a frame, or at most a second: a page the browser does not paint never runs its frame callbacks
    const frame = () => Promise.race([new Promise(r => requestAnimationFrame(r)),
                                      new Promise(r => setTimeout(r, 1000))]);
    await frame();
    await frame();
    for (const a of document.getAnimations()) {
        const t = a.effect && a.effect.getComputedTiming ? a.effect.getComputedTiming() : null;
        if (a.playState === 'running' && t && Number.isFinite(t.endTime)) a.finish();
    }
    await frame();
}"""

#: The same for a change the test has just made itself, synchronously (a click on a solution's title,
#: the theme's mode switched in place): the transitions that change starts exist as soon as the styles
#: are brought up to date, which ``document.getAnimations()`` does before it answers, so they are
#: finished at once, without the two frames above (each up to a second on a loaded machine), and the
#: page painted once at its end state. A change that the browser reacts to only in its next frame
#: (a new viewport size: resize handlers, media queries) still takes :data:`_TRANSITIONS_DONE`.
_OWN_TRANSITIONS_DONE = """async () => {
    for (const a of document.getAnimations()) {
        const t = a.effect && a.effect.getComputedTiming ? a.effect.getComputedTiming() : null;
        if (a.playState === 'running' && t && Number.isFinite(t.endTime)) a.finish();
    }
    await Promise.race([new Promise(r => requestAnimationFrame(r)), new Promise(r => setTimeout(r, 1000))]);
}"""


def set_mode(page, mode: str) -> str:
    """Switch the theme to ``mode`` in place, as its own light/dark toggle does; returns the theme now shown.

    A page already in ``mode`` (the scheme it was opened with, or the last one set here, and the theme
    showing it) is left as it is: switching to the same mode changes nothing on the page, but costs
    a style pass of the whole document and a painted frame."""
    if getattr(page, "color_scheme", None) == mode and page.evaluate(
            "(mode) => document.documentElement.dataset.theme === mode && "
            "document.documentElement.dataset.mode === mode", mode):
        return mode
    page.emulate_media(color_scheme=mode)
    page.color_scheme = mode
    shown = page.evaluate("""(mode) => {
        try { localStorage.setItem('mode', mode); localStorage.setItem('theme', mode); } catch (e) {}
        document.documentElement.dataset.mode = mode;
        document.documentElement.dataset.theme = mode;
        return document.documentElement.dataset.theme;
    }""", mode)
    page.evaluate(_OWN_TRANSITIONS_DONE)
    return shown


#: axe's context for the colour rules on a whole page. A page's text comes in a handful of looks
#: (syntax highlighting, outputs, formulas, tables, admonitions) repeated thousands of times, and
#: checking the contrast of every element is most of axe's time on a page. So the colour rules see
#: one element of each look: everything they compare (text colour, size class, weight, decoration and
#: shadow, a link's surrounding text, and from the element outwards every box that paints a
#: background, changes the opacity or filter, or is positioned over other content), the visible one
#: with the fewest elements inside it. Every other rule sees the whole page. Returns pairs
#: ``[look, element]``; a look already checked (on an earlier page) can be left out, since axe's
#: verdict on it depends only on what the look's key holds.
_COLOUR_CONTEXT = """() => {
    const settings = new Map();
    const setting = (el) => {                       // what shows through behind el's text
        if (!el || el.nodeType !== 1) return '';
        if (settings.has(el)) return settings.get(el);
        const s = getComputedStyle(el);
        let own = '';
        if (s.backgroundImage !== 'none' || !/^(transparent|rgba\\(.*,\\s*0\\))$/.test(s.backgroundColor))
            own += s.backgroundColor + s.backgroundImage;
        if (s.opacity !== '1') own += ' o' + s.opacity;
        if (s.filter !== 'none' || s.mixBlendMode !== 'normal') own += s.filter + s.mixBlendMode;
        if (['absolute', 'fixed', 'sticky'].includes(s.position)) own += ' ' + s.position;
        const key = (own ? own + ';' : '') + setting(el.parentElement);
        settings.set(el, key);
        return key;
    };
    // axe's thresholds depend on the size only through "large text" (24 px, or 18.67 px if bold):
    // sizes well away from both are one look
    const size = (s) => { const px = parseFloat(s.fontSize);
                          return px < 18 ? 'small' : px > 25 ? 'large' : s.fontSize; };
    const ownText = (el) => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const best = new Map();
    for (const el of document.body.querySelectorAll('*')) {
        if (!ownText(el)) continue;
        const s = getComputedStyle(el), p = el.parentElement;
        const key = [el.tagName === 'A' ? 'link in ' + p.tagName + ' ' + getComputedStyle(p).color : '',
                     s.color, size(s), s.fontWeight, s.textDecorationLine, s.textShadow,
                     setting(el)].join('|');
        const r = el.getBoundingClientRect();
        const score = (el.checkVisibility() && r.width > 1 && r.height > 1 ? 0 : 1e9)
                      + el.getElementsByTagName('*').length;
        const held = best.get(key);
        if (!held || score < held.score) best.set(key, {el, score});
    }
    return [...best.entries()].map(([key, b]) => [key, b.el]);
}"""


#: The colour rules' elements when they share the document's run of axe: the marked elements (one of
#: each look not yet checked, :data:`_COLOUR_CONTEXT`), and for the link rule only marked links.
_SAMPLED_COLOUR_SELECTORS = [["color-contrast", "[data-pg-look]"],
                             ["link-in-text-block", "a[href][data-pg-look], [role=link][data-pg-look]"]]
assert {rule for rule, _ in _SAMPLED_COLOUR_SELECTORS} == set(COLOUR_RULES)


def run_axe(page, axe_source: str, *, colour_only: bool = False, within: str | None = None,
            advice: bool = True, looks_checked: set | None = None) -> list[dict]:
    """axe-core's violations on the page (or on the elements matching ``within``), in one run of axe.

    On the whole page, the colour rules check one element of each look (``_COLOUR_CONTEXT``) and every
    other rule the whole document. ``advice`` adds axe's best-practice rules (reported as warnings,
    never failures). ``looks_checked``, when given, holds the looks the colour rules have already seen:
    they are left out, and the ones checked now are added (a book's pages share most of their looks).
    A run of axe maps the whole page first, a second or two on a long page whatever it checks, so the
    colour rules share the document's run (their elements marked, and their selectors set to the marks
    for that run) instead of a run of their own. axe loads only the media it may need (:data:`PRELOAD`).
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    colour = {"runOnly": {"type": "rule", "values": COLOUR_RULES}, "resultTypes": ["violations"], "preload": PRELOAD}
    every = {"runOnly": {"type": "tag", "values": WCAG_TAGS + (["best-practice"] if advice else [])},
             "resultTypes": ["violations"], "preload": PRELOAD,
             "rules": {rule: {"enabled": True} for rule in EXTRA_RULES}}
    scope = "within" if within is not None else "colour" if colour_only else "document"
    options = colour if colour_only else every
    result = page.evaluate("""async ([within, options, scope, skip, selectors]) => {
        let context = document, looks = [], fresh = [];
        if (scope === 'within') {
            context = {include: [...document.querySelectorAll(within)]};
        } else {
            const done = new Set(skip);
            fresh = (""" + _COLOUR_CONTEXT + """)().filter(([look]) => !done.has(look));
            looks = fresh.map(([look]) => look);
            if (scope === 'colour') {
                if (!fresh.length) return {violations: [], looks: []};
                context = {include: fresh.map(([, el]) => el)};
            } else {
                for (const [id] of selectors) options.rules[id] = {enabled: fresh.length > 0};
                for (const [, el] of fresh) el.setAttribute('data-pg-look', '');
                axe.configure({rules: selectors.map(([id, selector]) => ({id, selector}))});
            }
        }
        const late = new Promise((_, no) => setTimeout(
            () => no(new Error('axe did not finish within 180 s (' + scope + ')')), 180000));
        try {
            return {violations: (await Promise.race([axe.run(context, options), late])).violations, looks};
        } finally {
            if (scope === 'document') {
                axe.reset();
                for (const [, el] of fresh) el.removeAttribute('data-pg-look');
            }
        }
    }""", [within, options, scope, sorted(looks_checked or ()), _SAMPLED_COLOUR_SELECTORS])
    if looks_checked is not None:
        looks_checked.update(result["looks"])
    return result["violations"]


def describe(v: dict) -> str:
    targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
    return f"{v['id']} ({v.get('impact')}, {len(v['nodes'])} elements): {v['help']}; e.g. {targets}"


def is_wcag(v: dict) -> bool:
    return bool(set(v["tags"]) & set(WCAG_TAGS)) or v["id"] in EXTRA_RULES


#: The kinds of collapsed block a page can hold, as the built HTML marks them.
COLLAPSED_KINDS = {"solution dropdown": 'class="solution dropdown', "hidden input": "tag_hide-input",
                   "hidden output": "tag_hide-output", "hidden cell": "tag_hide-cell",
                   "dropdown admonition": 'class="admonition dropdown', "details": "<details"}


def collapsed_sample(site_root: Path, pages: list[str]) -> set[str]:
    """Pages that between them hold every kind of collapsed block (``COLLAPSED_KINDS``): the first
    page, in order, that holds a kind no page chosen before it holds."""
    chosen, covered = set(), set()
    for path in pages:
        text = (site_root / path).read_text(encoding="utf-8", errors="replace")
        kinds = {k for k, mark in COLLAPSED_KINDS.items() if mark in text} - covered
        if kinds:
            chosen.add(path)
            covered |= kinds
    return chosen


#: MathJax's output, taken out of the page while axe runs and put back after (``_MATH_OUT``,
#: ``_MATH_IN``): the children of every ``mjx-container`` (the glyph boxes, ``aria-hidden``, and the
#: hidden MathML for screen readers), the container itself staying in place. Two thirds of a page of
#: formulas are these elements, and axe's colour rule maps every element under ``<body>`` before it
#: checks anything, at a cost that grows faster than the count; leaving them out of axe's context
#: (``exclude``) does not shorten that map, only taking them out of the page does.
_MATH_OUT = """() => {
    if ((window.__pgMathHeld || []).length) return 0;          // out already
    const held = window.__pgMathHeld = [];
    for (const m of document.querySelectorAll('mjx-container')) {
        const kept = document.createDocumentFragment();
        while (m.firstChild) kept.appendChild(m.firstChild);
        held.push([m, kept]);
    }
    return held.length;
}"""

_MATH_IN = """() => {
    for (const [m, kept] of window.__pgMathHeld || []) m.appendChild(kept);
    window.__pgMathHeld = [];
}"""

#: What axe no longer sees of the maths, checked here instead: every visible formula, and every
#: part of one drawn in a colour of its own (``\color``), has a contrast ratio of at least 4.5 with
#: the background behind it (WCAG 2.1, 1.4.3: relative luminance of sRGB, the first ancestor with a
#: background colour that is not transparent, a translucent one laid over the ones below it, the
#: page's canvas white at the bottom); and nothing inside a formula can take the focus (what axe's
#: ``aria-hidden-focus`` checked on the glyph boxes and ``nested-interactive`` on the MathML). Returns
#: the number of formulas checked and the offenders, as axe reports its violations.
_MATH_CHECK = r"""() => {
    const rgba = (text) => {
        const v = (text.match(/[\d.]+/g) || []).map(Number);
        return v.length < 3 ? [0, 0, 0, 0] : [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
    };
    const over = (top, under) => {           // top laid over an opaque colour
        const a = top[3];
        return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
    };
    const behind = (el) => {
        const layers = [];
        for (let e = el; e; e = e.parentElement) {
            const c = rgba(getComputedStyle(e).backgroundColor);
            if (c[3] > 0) layers.push(c);
            if (c[3] >= 1) break;
        }
        let colour = [255, 255, 255, 1];
        for (const c of layers.reverse()) colour = over(c, colour);
        return colour;
    };
    const luminance = (c) => {
        const lin = c.slice(0, 3).map(v => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    };
    const ratio = (el) => {
        const back = behind(el), fore = over(rgba(getComputedStyle(el).color), back);
        const [hi, lo] = [luminance(fore), luminance(back)].sort((a, b) => b - a);
        return {ratio: (hi + 0.05) / (lo + 0.05), fore: getComputedStyle(el).color,
                back: `rgb(${back.slice(0, 3).map(Math.round).join(', ')})`};
    };
    const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
    const faint = [], focusable = [];
    let checked = 0;
    const focus = 'a[href], button, input, select, textarea, iframe, summary, [contenteditable=""], ' +
                  '[contenteditable="true"], [tabindex]:not([tabindex="-1"])';
    for (const m of document.querySelectorAll('mjx-container')) {
        if (!m.checkVisibility()) continue;
        checked += 1;
        const text = (m.querySelector('mjx-assistive-mml') || m).textContent.trim().slice(0, 30);
        const own = [m, ...[...m.querySelectorAll('mjx-math *')].filter(
            e => getComputedStyle(e).color !== getComputedStyle(e.parentElement).color)];
        for (const el of own) {
            const r = ratio(el);
            if (r.ratio < 4.5) faint.push(`${name(el)} "${text}": ${r.fore} on ${r.back}, ` +
                                          `ratio ${r.ratio.toFixed(2)} < 4.5`);
        }
        for (const el of m.querySelectorAll(focus)) focusable.push(`${name(el)} in "${text}"`);
    }
    return {checked, faint, focusable};
}"""


def check_math(page, mode: str, state: str, report: dict) -> dict:
    """:data:`_MATH_CHECK` on the page as it is now; its offenders added to ``report["axe"]`` in
    axe's words (so :func:`test_axe_wcag21_aa_in_light_and_dark_mode` fails on them)."""
    found = page.evaluate(_MATH_CHECK)
    for rule, what, offenders in (("math-color-contrast", "formulas must have a contrast ratio of at least 4.5",
                                   found["faint"]),
                                  ("math-focusable", "nothing inside a formula may take the focus",
                                   found["focusable"])):
        if offenders:
            report["axe"].append(f"[{mode}, {state}] {rule} (serious, {len(offenders)} elements): "
                                 f"{what}; e.g. {offenders[:3]}")
    report.setdefault("math_checked", {})[mode] = found["checked"]
    return found


def _axe_both_modes(page, axe_source, state: str, within: str | None, report: dict, *,
                    back_to_light: bool = True, advice: bool = True, looks_checked: set | None = None) -> None:
    """axe in light then dark mode (then light again, unless ``back_to_light`` is false);
    ``looks_checked`` as in :func:`run_axe`.

    axe, when it preloads the CSSOM (not here, :data:`PRELOAD`), fetches the page's stylesheets again
    and resolves an ``@import`` of the theme against the page's address, which the server answers
    with a 404: such failed loads, logged while axe runs, are axe's, not the page's, and are dropped;
    any other error is kept.
    """
    errors_before = len(page.js_errors)
    whole_page, shown = within is None, None
    try:
        for mode in ("light", "dark"):
            shown = set_mode(page, mode)
            if shown != mode:
                report["axe"].append(f"[{state}] the page did not switch to {mode} mode (got {shown!r})")
                continue
            if whole_page and mode == "light":
                check_math(page, mode, state, report)
            page.evaluate(_MATH_OUT)
            for v in run_axe(page, axe_source, colour_only=mode == "dark", within=within, advice=advice,
                             looks_checked=looks_checked):
                text = f"[{mode}, {state}] {describe(v)}"
                if is_wcag(v):
                    report["axe"].append(text)
                else:
                    report["axe_advice"].setdefault(v["id"], text)
    finally:
        page.evaluate(_MATH_IN)
    if whole_page and shown == "dark":          # the maths in dark mode, back in the page
        check_math(page, "dark", state, report)
    if back_to_light:
        set_mode(page, "light")
    page.js_errors[errors_before:] = [e for e in page.js_errors[errors_before:]
                                      if not e.startswith("console.error: Failed to load resource")]


#: Two painted frames (or a second each at most): requests the page decided on in the last frame
#: have been sent, and so are listed in ``page.pending``.
_TWO_FRAMES = """async () => { for (let i = 0; i < 2; i++) await Promise.race([
    new Promise(r => requestAnimationFrame(r)), new Promise(r => setTimeout(r, 1000))]); }"""


def _network_quiet(page, rounds: int = 600) -> None:
    """Wait until no request of the page is under way, twice in a row with two frames between (what
    Playwright's "networkidle" sees, without its fixed half second of quiet). Only the number of
    rounds is bounded, not the time (a round is two frames, at most two seconds); after that the
    checks go on with what arrived (a request that never ends shows up as failed or missing)."""
    quiet = 0
    for _ in range(rounds):
        if quiet >= 2:
            return
        page.evaluate(_TWO_FRAMES)
        quiet = quiet + 1 if not page.pending else 0


def _image(img) -> dict:
    return img.evaluate("(el) => ({src: el.currentSrc || el.src, loaded: el.complete && el.naturalWidth > 0})")


class ControlProblem(Exception):
    """A control that did not do what it says (collected into the report, not raised further)."""


def _new_image(page, img, old_src: str, what: str) -> str:
    try:
        page.wait_for_function("([el, old]) => (el.currentSrc || el.src) !== old && el.complete && "
                               "el.naturalWidth > 0", arg=[img, old_src], timeout=IMAGE_TIMEOUT_MS, polling=100)
    except Exception as exc:                       # noqa: BLE001 - reported as a test failure
        raise ControlProblem(f"{what} did not show a new, loaded image (still {old_src[-60:]}): "
                             f"{str(exc).splitlines()[0]}") from None
    return _image(img)["src"]


def _ring(element) -> bool:
    return element.evaluate("(el) => { const s = getComputedStyle(el); "
                            "return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }")


def _click(element) -> None:
    """Click ``element`` with the mouse. Playwright first waits until the element's box has stayed
    put for two painted frames; a browser starved of CPU (a loaded machine) may paint none for 30 s,
    although the element is on screen (scrolled there by the page itself). After 5 s the mouse then
    clicks where the element is now; one covered by something else fails the check that follows."""
    try:
        element.click(timeout=5000)
    except Exception:                             # noqa: BLE001 - Playwright's TimeoutError
        element.click(force=True, timeout=60_000)


def _check_solutions(page) -> list[str]:
    problems = []
    for n, sol in enumerate(page.query_selector_all(SOLUTIONS), 1):
        body = sol.query_selector(":scope > :not(.admonition-title):not(summary)") or \
            sol.query_selector(":scope > section > :not(.admonition-title)")
        if body is None:
            problems.append(f"solution {n} has no body")
            continue
        if body.is_visible():
            problems.append(f"solution {n} is open before it is clicked")
            continue
        trigger = sol.query_selector(":scope > summary") or sol.query_selector(":scope > .admonition-title")
        trigger.evaluate("(el) => el.scrollIntoView({block: 'center'})")
        _click(trigger)
        try:                                      # visible as soon as it opens (allowed 10 s) ...
            body.wait_for_element_state("visible", timeout=10_000)
        except Exception:                         # noqa: BLE001 - reported below
            pass
        page.evaluate(_OWN_TRANSITIONS_DONE)      # ... and settled, so the page below stops moving
        if not body.is_visible():
            problems.append(f"solution {n} did not open when its title was clicked")
    return problems


def _check_player(page, player, n: int) -> None:
    # scrolled by the page itself: Playwright's own scroll first waits for two painted frames with the
    # player in the same place, which a browser starved of CPU (a loaded machine) may not paint in 30 s
    player.evaluate("el => el.scrollIntoView({block: 'center'})")
    img = player.query_selector("img.pgw-img")
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=img, timeout=IMAGE_TIMEOUT_MS, polling=100)
    first = _image(img)["src"]
    nxt = player.query_selector("button[data-act=next]")          # keyboard: focus Next, press Enter
    nxt.focus()
    page.keyboard.press("Enter")
    if not _ring(nxt):
        raise ControlProblem(f"player {n}: the focused button has no visible outline")
    second = _new_image(page, img, first, f"player {n}: Next")
    frame = player.query_selector("input[type=range]")
    if not (frame.get_attribute("aria-valuetext") or "").startswith("frame 2 of "):
        raise ControlProblem(f"player {n}: after Next the frame slider says {frame.get_attribute('aria-valuetext')!r}")
    frame.focus()                                                  # the frame slider, by keyboard
    page.keyboard.press("ArrowRight")
    third = _new_image(page, img, second, f"player {n}: the frame slider")
    play = player.query_selector("button[data-act=play]")          # Play advances, Pause stops
    _click(play)
    _new_image(page, img, third, f"player {n}: Play")
    if "Pause" not in play.inner_text():
        raise ControlProblem(f"player {n}: the Play button does not turn into Pause while playing")
    _click(play)
    if "Play" not in play.inner_text():
        raise ControlProblem(f"player {n}: the Pause button does not turn back into Play")


def _check_sliders(page, figure, n: int) -> int:
    figure.evaluate("el => el.scrollIntoView({block: 'center'})")   # see _check_player
    img = figure.query_selector("img.pgw-img")
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=img, timeout=IMAGE_TIMEOUT_MS, polling=100)
    moved = 0
    for control in figure.query_selector_all("input[type=range][data-ctl]"):
        label = figure.query_selector(f"label[for='{control.get_attribute('id')}']")
        if not (label and label.inner_text().strip()):
            raise ControlProblem(f"figure {n}: a slider without a label")
        name = label.inner_text().strip()
        before = _image(img)["src"]
        at_max = control.evaluate("(el) => el.value === el.max")
        control.focus()
        page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
        if not _ring(control):
            raise ControlProblem(f"figure {n}: the focused slider {name!r} has no visible outline")
        _new_image(page, img, before, f"slider {name!r} of figure {n}")
        status = figure.query_selector(".pgw-status").inner_text()
        if name not in status:
            raise ControlProblem(f"figure {n}: the status line does not name the slider moved ({status!r})")
        moved += 1
    for control in figure.query_selector_all("select[data-ctl], input[type=checkbox][data-ctl]"):
        before = _image(img)["src"]
        control.focus()
        if control.evaluate("(el) => el.tagName") == "SELECT":
            page.keyboard.press("ArrowDown" if control.evaluate("(el) => el.selectedIndex < el.length - 1")
                                else "ArrowUp")
        else:
            page.keyboard.press("Space")
        _new_image(page, img, before, f"control {control.get_attribute('id')} of figure {n}")
        moved += 1
    reset = figure.query_selector("button[data-act=reset]")
    before = _image(img)["src"]
    _click(reset)
    _new_image(page, img, before, f"the reset button of figure {n}")
    if moved == 0:
        raise ControlProblem(f"figure {n}: an interactive figure without a single control")
    return moved


def _controls(page, kind: str, selector: str, check) -> dict:
    found = page.query_selector_all(selector)
    problems = []
    for n, element in enumerate(found, 1):
        try:
            check(page, element, n)
        except ControlProblem as exc:
            problems.append(str(exc))
    return {"count": len(found), "problems": problems, "kind": kind}


def visit(open_context, book_page: str, site_url: str, axe_source: str, collapsed_pass: bool = True,
          looks_checked: set | None = None, tables: bool = False, split_probe: bool = False,
          panel_probe: bool = False, math_probe: bool = False) -> dict:
    """Open ``book_page`` once and observe everything this module asserts (see the module docstring);
    axe looks at the collapsed blocks only when ``collapsed_pass`` is true, and its colour rules at
    the looks not in ``looks_checked`` (see :func:`run_axe`). With ``tables``, the words of its tables
    at phone width are looked at too (``SPLIT_WORDS`` of ``test_phone.py``); with ``split_probe`` also
    once more with table cells allowed to break anywhere, to show that a split word is seen; with
    ``panel_probe`` the slider panels once more with their labels and menus made too wide; with
    ``math_probe`` the maths once more (:data:`_MATH_CHECK`), light grey on the light page."""
    context, page = open_context(book_page, color_scheme="light", wait_ms=0)
    report = {"axe": [], "axe_advice": {}}
    try:
        # 0. the layout shifts of the load, MathJax's typesetting included
        page.evaluate(_SETTLE)
        report["layout_shift"] = page.evaluate(_LAYOUT_SHIFT)
        # 1. load, scroll to the end, what a first visit fetched
        page.evaluate(_SCROLL_THROUGH)
        _network_quiet(page)
        report["fetched"] = {u: n for u, n in page.evaluate(_FETCHED)
                             if u.startswith(site_url) and "/_static/" not in u}
        page.evaluate(_SETTLE)
        report["load_errors"] = list(page.js_errors)
        report["failed"] = list(page.failed)
        report["refused"] = list(page.refused)
        # 2-3. math and layout
        report["math"] = page.evaluate(_MATH)
        report["overflow"] = page.evaluate(_OVERFLOW)
        # 4. axe on the collapsed blocks
        has_toggles = page.evaluate(f"() => document.querySelectorAll({TOGGLES!r}).length") > 0
        if has_toggles and collapsed_pass:
            _axe_both_modes(page, axe_source, "solutions collapsed", TOGGLES, report)
        # 5. controls, by keyboard
        errors_before = len(page.js_errors)
        report["solutions"] = {"count": len(page.query_selector_all(SOLUTIONS)), "problems": _check_solutions(page)}
        report["players"] = _controls(page, "player", PLAYER, _check_player)
        report["sliders"] = _controls(page, "interactive figure", "figure.pgw-sliders", _check_sliders)
        report["control_errors"] = page.js_errors[errors_before:]
        # 6. axe on the whole page, everything open
        page.evaluate(_EXPAND)
        if has_toggles:
            page.evaluate(_OWN_TRANSITIONS_DONE)              # the toggles' transitions
        _axe_both_modes(page, axe_source, "solutions expanded" if has_toggles else "no solutions", None, report,
                        back_to_light=False, advice=collapsed_pass, looks_checked=looks_checked)
        if math_probe:
            set_mode(page, "light")
            style = page.add_style_tag(content=f"{FAINT_MATH} {{ color: #aaa !important; }}")
            report["math_faint"] = {"axe": []}
            check_math(page, "light", "formulas made light grey", report["math_faint"])
            style.evaluate("(el) => el.remove()")
        # 7. phone width (in dark mode, as axe left it: the layout is the same in both)
        page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
        page.evaluate(_TRANSITIONS_DONE)                      # laid out and painted at the new width
        report["phone"] = page.evaluate(_PHONE, PHONE_WIDTH)
        report["panels"] = page.evaluate(_PANEL_FIT)
        if panel_probe:
            style = page.add_style_tag(content=".pgw-controls select, .pgw-controls label { min-width: 500px; }")
            report["panels_widened"] = page.evaluate(_PANEL_FIT)
            style.evaluate("(el) => el.remove()")
        if tables:
            report["tables"] = page.evaluate(SPLIT_WORDS)
        if split_probe:
            style = page.add_style_tag(content=".bd-article table td, .bd-article table th "
                                               "{ overflow-wrap: anywhere !important; }")
            report["tables_anywhere"] = page.evaluate(SPLIT_WORDS)
            style.evaluate("(el) => el.remove()")
        report["late_errors"] = page.js_errors[errors_before + len(report["control_errors"]):]
    finally:
        context.close()
    return report


@pytest.fixture(scope="session")
def page_report(open_context, site_url, axe_source, site_root, built_pages, tmp_path_factory):
    """``page_report(path)``: the report of the one visit of that page (made at the first request).
    The colour rules check each look once per test process, on the first page that shows it.

    A page visited by a second worker is an error (its tests were not kept together, and the run
    pays for the visit twice): the workers note their visits in a folder they share."""
    sample, looks_checked = collapsed_sample(site_root, built_pages), set()
    table_pages = widest_table_pages(site_root, built_pages)
    first_panel = next((p for p in built_pages if "pgw pgw-sliders" in (site_root / p).read_text(encoding="utf-8")), None)
    first_math = next((p for p in built_pages if (site_root / p).read_text(encoding="utf-8").count('class="math') >= 10),
                      None)
    base = tmp_path_factory.getbasetemp()
    visits = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "page-visits"
    visits.mkdir(exist_ok=True)
    mine = set()

    @functools.lru_cache(maxsize=None)
    def once(path: str) -> dict:
        if path not in mine:
            try:
                (visits / path.replace("/", "__")).touch(exist_ok=False)
            except FileExistsError:
                pytest.fail(f"{path} was visited by another worker already: the tests of one page must "
                            "run on one worker (see pytest_xdist_make_scheduler in conftest.py)")
            mine.add(path)
        return visit(open_context, path, site_url, axe_source, collapsed_pass=path in sample,
                     looks_checked=looks_checked, tables=path in table_pages,
                     split_probe=bool(table_pages) and path == table_pages[0], panel_probe=path == first_panel,
                     math_probe=path == first_math)

    return once


# ------------------------------------------------------------------------------- the tests

@pytest.fixture
def report(page_report, book_page, site_root):
    book_only(book_page, site_root)
    return page_report(book_page)


def test_loads_without_errors_offline(report, book_page):
    problems = []
    if report["load_errors"]:
        problems.append(f"JavaScript errors: {report['load_errors'][:3]}")
    if report["failed"]:
        problems.append(f"failed requests: {report['failed'][:5]}")
    if report["refused"]:
        problems.append(f"requests outside the site: {sorted(set(report['refused']))[:5]}")
    if report["late_errors"]:
        problems.append(f"JavaScript errors after the controls were used: {report['late_errors'][:3]}")
    assert not problems, f"{book_page}:\n  " + "\n  ".join(problems)


def test_the_page_does_not_jump_while_it_loads(report, book_page):
    shift = report["layout_shift"]
    assert shift["total"] <= MAX_LAYOUT_SHIFT, (
        f"{book_page}: the layout shifted by {shift['total']:.3f} in all while loading (at most "
        f"{MAX_LAYOUT_SHIFT}); largest shifts: {shift['largest']}")


def test_math_is_typeset_offline_and_spoken(report, book_page):
    m = report["math"]
    problems = []
    if m["untypeset"] or m["raw"] or m["tex_errors"]:
        problems.append(f"math not typeset: {m}")
    if m["tab_stops"]:
        problems.append(f"{m['tab_stops']} formulas are tab stops (MathJax's inTabOrder)")
    if m["formulas"] and m["speech"] < m["formulas"]:
        problems.append(f"only {m['speech']} of {m['formulas']} formulas carry MathML for screen readers")
    assert not problems, f"{book_page}:\n  " + "\n  ".join(problems)


def test_axe_wcag21_aa_in_light_and_dark_mode(report, book_page):
    for text in report["axe_advice"].values():
        warnings.warn(AxeBestPractice(f"{book_page} {text}"))
    assert not report["axe"], f"{book_page}: WCAG 2.1 A/AA violations:\n  " + "\n  ".join(report["axe"])


def test_solutions_are_collapsed_until_clicked(report, book_page):
    if not report["solutions"]["count"]:
        pytest.skip(f"{book_page} has no solutions")
    assert not report["solutions"]["problems"], f"{book_page}: " + "; ".join(report["solutions"]["problems"])


def test_every_player_advances_by_keyboard_and_by_play(report, book_page):
    if not report["players"]["count"]:
        pytest.skip(f"{book_page} has no animation player")
    problems = report["players"]["problems"] + [f"JavaScript error: {e}" for e in report["control_errors"]]
    assert not problems, f"{book_page}:\n  " + "\n  ".join(problems)


def test_every_static_slider_changes_the_figure(report, book_page):
    if not report["sliders"]["count"]:
        pytest.skip(f"{book_page} has no interactive figure")
    problems = report["sliders"]["problems"] + [f"JavaScript error: {e}" for e in report["control_errors"]]
    assert not problems, f"{book_page}:\n  " + "\n  ".join(problems)


def test_nothing_is_wider_than_its_container_at_1280px(report, book_page):
    """Nothing in the article sticks out of its box or is cut off at 1280 px, and no code block or
    display equation scrolls sideways (long code lines and equations are broken instead; the static
    tests of the notebooks' and pages' code lines catch most of them before a build)."""
    found = report["overflow"]
    scrolls = [f for f in found if f["what"] == "cut off or scrolled"
               and (f["tag"] == "PRE" or f["tag"].startswith("MJX") or "highlight" in f["cls"] or "math" in f["cls"])]
    broken = [f for f in found if f not in scrolls]
    problems = []
    if scrolls:
        problems.append(f"{len(scrolls)} code blocks or display equations scroll sideways (widest "
                        f"{max(f['over'] for f in scrolls)} px over), e.g. {scrolls[:3]}")
    if broken:
        problems.append(f"{len(broken)} elements wider than their container, e.g. {broken[:4]}")
    assert not problems, f"{book_page} at 1280 px:\n  " + "\n  ".join(problems)


def test_page_fits_a_phone_screen(report, book_page):
    phone = report["phone"]
    assert phone["width"] <= PHONE_WIDTH + 1, (
        f"{book_page} is {phone['width']} px wide on a {PHONE_WIDTH} px screen; widest: {phone['culprits']}")


def test_slider_panels_fit_a_phone_column(report, book_page):
    """At 390 px no slider panel, nor the output that holds it, scrolls sideways, and no control
    (a long label, a drop-down as wide as its longest choice) sticks out of its panel."""
    if not report["sliders"]["count"]:
        pytest.skip(f"{book_page} has no interactive figure")
    panels = report["panels"]
    assert panels["count"] == report["sliders"]["count"], (
        f"{book_page}: {panels['count']} slider panels measured at {PHONE_WIDTH} px, "
        f"{report['sliders']['count']} found at 1280 px")
    assert not panels["problems"], (f"{book_page}: slider panels wider than a {PHONE_WIDTH} px column:\n  "
                                    + "\n  ".join(panels["problems"][:20]))


def test_a_slider_panel_too_wide_is_noticed(report, book_page):
    """The check above sees a panel too wide: on the first page with slider panels, their labels
    and menus made 500 px wide, every panel is named, with the labels that stick out."""
    found = report.get("panels_widened")
    if found is None:
        pytest.skip(f"{book_page} is not the first page with slider panels")
    named = {p.split(":")[0] for p in found["problems"]}
    assert found["count"] and named == {f"panel {i + 1}" for i in range(found["count"])}, found
    assert any("a label reaches" in p for p in found["problems"]), found["problems"]


def test_faint_math_is_noticed(report, book_page):
    """The maths check (:data:`_MATH_CHECK`, which stands in for axe's colour rule on the formulas
    that axe no longer sees) bites: on the first page with formulas, made light grey (#aaa, a ratio
    of 2.3 on white), every visible formula is reported, in the words the axe test fails on. The
    page is the first with ten formulas or more."""
    found = report.get("math_faint")
    if found is None:
        pytest.skip(f"{book_page} is not the first page with ten formulas or more")
    checked = report["math_checked"]["light"]
    assert checked, f"{book_page}: no visible formula checked: is the check looking?"
    assert len(found["axe"]) == 1 and "math-color-contrast" in found["axe"][0], found["axe"]
    assert f", {checked} elements)" in found["axe"][0], (checked, found["axe"])


def test_table_cells_break_lines_between_words_at_phone_width(report, book_page):
    """On the pages whose tables need the most width (``widest_table_pages`` of ``test_phone.py``),
    at 390 px no word of ordinary letters in a table cell is split over two lines (each word's text
    range lies on one line). That the page is no wider than the screen is checked on every page above."""
    found = report.get("tables")
    if found is None:
        pytest.skip(f"{book_page} is not among the pages with the widest tables")
    assert found["words"] > 20, f"{book_page}: hardly a word found in its tables ({found}): is the check looking?"
    assert not found["split"], (f"{book_page} at {PHONE_WIDTH} px: {len(found['split'])} of {found['words']} "
                                f"words split over two lines, e.g. {found['split'][:4]}")


def test_split_words_are_noticed(report, book_page):
    """The check above sees a split word: on the page with the widest table, with cells allowed to
    break anywhere again (as they were) and the table held to the screen's width, its words split."""
    found = report.get("tables_anywhere")
    if found is None:
        pytest.skip(f"{book_page} is not the page with the widest table")
    assert found["split"], f"{book_page}: no split word noticed in {found['words']} words"


def test_page_weight_budget(report, book_page, site_root, site_url):
    if book_page.startswith("chapters/"):
        size = (site_root / book_page).stat().st_size
        assert size <= HTML_BUDGET, f"{book_page}: HTML is {size / 1e3:.0f} kB > {HTML_BUDGET / 1e3:.0f} kB"
    fetched = report["fetched"]
    total = sum(fetched.values())
    biggest = sorted(fetched.items(), key=lambda kv: -kv[1])[:3]
    assert total <= FIRST_VISIT_BUDGET, (
        f"{book_page}: a first visit fetches {total / 1e3:.0f} kB beyond the shared theme files "
        f"(budget {FIRST_VISIT_BUDGET / 1e3:.0f} kB); largest: "
        f"{[(u.rsplit('/', 1)[-1], n) for u, n in biggest]}")


def test_sampled_colour_check_still_sees_every_look(open_context, axe_source, site_root, chapter_pages):
    """The colour rules see one element of each look (``_COLOUR_CONTEXT``): a token class turned
    unreadable in a collapsed code cell, the plain text of outputs, the prose, an admonition's text
    or a link in the prose is still a violation, whether the colour rules run alone (dark mode) or
    share the run of every rule (light mode)."""
    # the smallest such page: eleven runs of axe, each costing in proportion to the page's size
    fit = [p for p in chapter_pages if "tag_hide-input" in (site_root / p).read_text(encoding="utf-8")
           and "cell_output" in (site_root / p).read_text(encoding="utf-8")]
    path = min(fit, key=lambda p: (site_root / p).stat().st_size, default=None)
    if path is None:
        pytest.skip("no chapter page with a collapsed code cell and an output")
    context, page = open_context(path, wait_ms=0)
    try:
        page.evaluate(_EXPAND)
        page.wait_for_timeout(1000)
        assert not [v for v in run_axe(page, axe_source, colour_only=True) if v["id"] == "color-contrast"], \
            f"{path} already fails the colour rules; see test_axe_wcag21_aa_in_light_and_dark_mode"
        token = page.evaluate("""() => { const s = [...document.querySelectorAll(
            '.tag_hide-input .highlight pre span[class]')].find(s => s.textContent.trim());
            return s ? s.classList[0] : null; }""")
        assert token, f"{path}: no coloured token in its collapsed code cells"
        for what, css in ((f"the token class {token!r} in code cells", f".highlight pre span.{token}"),
                          ("the plain text of outputs", ".cell_output .highlight pre"),
                          ("the prose", ".bd-article section > p"),
                          ("an admonition's text", ".bd-article .admonition p"),
                          ("links in the prose", ".bd-article p a, .bd-article p a *")):
            style = page.add_style_tag(content=f"{css} {{ color: #f2f2f2 !important; }}")
            for alone in (True, False):          # the colour rules' own run (dark mode), and the page's run
                found = [v for v in run_axe(page, axe_source, colour_only=alone) if v["id"] == "color-contrast"]
                assert found, (f"{path}: {what} made unreadable, and the sampled colour check "
                               f"({'on its own' if alone else 'in the run of every rule'}) did not notice")
            style.evaluate("(el) => el.remove()")
    finally:
        context.close()


def test_requests_outside_the_site_are_refused_and_listed(open_page, built_pages):
    """The visit's offline guard: a request outside 127.0.0.1 fails and is listed; the site's own
    files load as usual."""
    page = open_page(built_pages[0], wait_ms=0)
    result = page.evaluate("""async () => {
        const out = {};
        try { await fetch('http://example.com/script.js'); out.remote = 'loaded'; }
        catch (e) { out.remote = 'refused'; }
        out.local = (await fetch(location.href)).status;
        return out;
    }""")
    assert result == {"remote": "refused", "local": 200}
    assert [u for u in page.refused if u.startswith("http://example.com/")]


def test_no_axe_rule_run_here_needs_the_cssom(browser, axe_source):
    """axe runs here with :data:`PRELOAD` (the media, not the style sheets): no rule that a run
    enables (the WCAG 2.1 A/AA tags, the best-practice advice, :data:`EXTRA_RULES`; axe leaves its
    experimental rules out of a run by tag) asks for more than the media before it runs."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content("<!doctype html><title>axe</title><main><p>axe's rules</p></main>")
        page.add_script_tag(content=axe_source)
        rules = page.evaluate("""([tags, extra]) => axe._audit.rules
            .filter(r => extra.includes(r.id) || (r.tags.some(t => tags.includes(t)) && !r.tags.includes('experimental')))
            .map(r => [r.id, !!r.preload])""", [WCAG_TAGS + ["best-practice"], EXTRA_RULES])
    finally:
        context.close()
    assert len(rules) > 50, f"only {len(rules)} axe rules found: the survey is broken"
    preloading = sorted(rule for rule, preload in rules if preload)
    assert preloading == ["no-autoplay-audio"], (
        f"axe rules run here that load assets before they run: {preloading}; PRELOAD loads only "
        f"{PRELOAD['assets']} (no-autoplay-audio reads the media); add what the others need")
