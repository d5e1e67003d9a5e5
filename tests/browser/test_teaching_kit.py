"""The teaching kit of the built site (issue 55): lecture slides, figure packs, the "Report a problem" link.

Made by ``_ext/teaching_kit.py`` (decks and packs) and ``_templates/author.html`` (the report link).

* **Every deck, lightly, in the browser**: it loads with every request outside 127.0.0.1 refused and
  none made, no failed request and no JavaScript error; MathJax (the site's own) typesets every
  formula with no TeX error; and every slide, shown in turn, fits 1280 x 720 with nothing cut off
  (its content no taller or wider than the slide, no element sticking out of it, no formula or
  image wider than its box). One visit per deck, every slide measured in one script call.
* **A sample of decks, fully** (:data:`FULL_SAMPLE`): the keyboard moves through each deck (arrows,
  space, Home and End), and axe-core's WCAG 2.1 A/AA rules pass on the first deck, on one slide of
  each kind it has (title, goals, equations, figure, player, interactive figure, try it, summary:
  the slides of a kind share their markup, from one template and the book's own figure and player
  markup, and a run of axe costs about two seconds a slide); a check that axe does see the slides'
  colours comes with it.
* **Files, every deck and chapter**: each chapter notebook with slide marks has a deck, linked from
  its page; a deck's scripts, styles and images are the site's own files and exist; each chapter's
  figure pack holds one PNG per figure of the chapter's pages (counted on the pages themselves), each
  with its caption, alt text and the CC BY 4.0 credit, in the file and in ``figures.json``.
* **Every page shows the report link**, leading to a new issue in the repository of ``_config.yml``
  with the page's title and address; in the browser, the address is the page's own.
"""
from __future__ import annotations

import html
import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1280, 720
#: Decks checked fully (axe on every slide, keyboard): two sections an instructor would teach from.
FULL_SAMPLE = ("ch02_directed_generative_models/2_1_2_jointly_gaussian",
               "ch02_directed_generative_models/2_2_2_kalman_filter")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_LOCAL_ASSET = re.compile(r"""<(?:script|img|link|iframe|source|video|audio)\b[^>]*?\s(?:src|href)\s*=\s*["']([^"']+)""",
                          re.I)


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def _marked_notebooks() -> list[str]:
    """Chapter notebooks (relative to chapters/, without suffix) that mark cells for slides."""
    out = []
    for path in sorted((ROOT / "chapters").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        if any(c.get("metadata", {}).get("slideshow", {}).get("slide_type") == "slide" for c in nb["cells"]):
            out.append(path.relative_to(ROOT / "chapters").with_suffix("").as_posix())
    return out


NOTEBOOKS = _marked_notebooks()


def _deck(site_root: Path, name: str) -> Path:
    return site_root / "_slides" / f"{name}.html"


# ------------------------------------------------------------------------------------ files only
def test_every_marked_notebook_has_a_deck_linked_from_its_page_with_only_local_assets(site_root):
    assert len(NOTEBOOKS) >= 50, f"only {len(NOTEBOOKS)} chapter notebooks mark cells for slides"
    problems = []
    for name in NOTEBOOKS:
        deck = _deck(site_root, name)
        if not deck.is_file():
            problems.append(f"no deck {deck.relative_to(site_root)}")
            continue
        page = site_root / "chapters" / f"{name}.html"
        links = re.findall(r'<p class="teaching-links">(.*?)</p>', page.read_text(encoding="utf-8"), re.S)
        hrefs = re.findall(r'href="([^"]+)"', links[0]) if len(links) == 1 else []
        if not any((page.parent / h).resolve() == deck.resolve() for h in hrefs):
            problems.append(f"{page.relative_to(site_root)} does not link its deck (links: {hrefs})")
        text = deck.read_text(encoding="utf-8")
        for url in _LOCAL_ASSET.findall(text):
            if url.startswith(("data:", "#")):
                continue
            if re.match(r"^(?:[a-z]+:)?//", url, re.I):
                problems.append(f"{deck.relative_to(site_root)} loads {url} from another host")
            elif not (deck.parent / url.split("#")[0].split("?")[0]).is_file():
                problems.append(f"{deck.relative_to(site_root)} loads {url}, which the site does not have")
    assert not problems, "\n".join(problems[:20])


def _page_figure_count(html: str) -> int:
    """Figures a chapter page shows: static figures, interactive figures and animation players."""
    article = html[html.find('<article'):html.rfind('</article>')]
    players = article.count('<figure class="pgw pgw-player"')
    sliders = article.count('<figure class="pgw pgw-sliders"')
    static = len(re.findall(r'<img [^>]*style="max-width:100%; height:auto; background:white;"', article))
    return players + sliders + static


def _chapters() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in sorted(p.relative_to(ROOT / "chapters").with_suffix("").as_posix()
                       for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts):
        out.setdefault(name.split("/")[0], []).append(name)
    return out


def test_every_chapter_figure_pack_holds_each_figure_with_caption_alt_text_and_credit(site_root):
    from PIL import Image

    repo = _config()["repository"]["url"].rstrip("/")
    problems, total = [], 0
    for chapter, sections in _chapters().items():
        pack = site_root / "_figure_packs" / f"{chapter}.zip"
        if not pack.is_file():
            problems.append(f"no figure pack {pack.relative_to(site_root)}")
            continue
        expected = sum(_page_figure_count((site_root / "chapters" / f"{s}.html").read_text(encoding="utf-8"))
                       for s in sections)
        with zipfile.ZipFile(pack) as zf:
            names = zf.namelist()
            pngs = [n for n in names if n.endswith(".png")]
            manifest = json.loads(zf.read(f"{chapter}/figures.json"))
            credits = zf.read(f"{chapter}/CREDITS.md").decode("utf-8")
            if len(pngs) != expected:
                problems.append(f"{chapter}: {len(pngs)} PNG files for {expected} figures on its pages")
            listed = {f"{chapter}/{f['file']}": f for f in manifest["figures"]}
            if set(listed) != set(pngs):
                problems.append(f"{chapter}: figures.json lists {sorted(set(listed) ^ set(pngs))[:3]} differently")
            for name in pngs:
                entry = listed.get(name, {})
                info = Image.open(io.BytesIO(zf.read(name))).info
                credit = info.get("Copyright", "")
                if not ("CC BY 4.0" in credit and repo in credit):
                    problems.append(f"{name}: the PNG carries no CC BY 4.0 credit naming {repo} ({credit!r})")
                if not info.get("Title") or not info.get("Description"):
                    problems.append(f"{name}: the PNG has no caption or no alt text")
                if not (entry.get("caption") and entry.get("alt") and entry.get("credit") == credit):
                    problems.append(f"{name}: figures.json has no caption, alt text or the same credit")
                if entry.get("file") and entry["file"] not in credits:
                    problems.append(f"{name}: not in CREDITS.md")
                svg = entry.get("svg")
                if svg:
                    text = zf.read(f"{chapter}/{svg}").decode("utf-8")
                    if "<title>" not in text or "CC BY 4.0" not in text:
                        problems.append(f"{chapter}/{svg}: the SVG has no title or no credit")
            total += len(pngs)
    assert total > 0, "no figure in any figure pack"
    assert not problems, "\n".join(problems[:20])


def _published() -> bool:
    """Whether _config.yml says the repository is public (then the report link opens an issue)."""
    return bool(((_config().get("sphinx") or {}).get("config") or {}).get("companion_published"))


def test_every_page_shows_the_report_link_with_its_title_and_address(site_root, built_pages):
    """Published: a new issue in the repository, with the page's title and address. Until then: the
    "Reporting a problem" section of the how-to page, which must exist (it works offline)."""
    repo = _config()["repository"]["url"].rstrip("/")
    published = _published()
    problems, checked = [], 0
    for rel in built_pages:
        text = (site_root / rel).read_text(encoding="utf-8", errors="replace")
        if 'http-equiv="refresh"' in text[:2000].lower():
            continue                                    # the root index.html only redirects
        checked += 1
        links = re.findall(r'<a class="report-problem" href="([^"]+)"', text)
        if len(links) != 1:
            problems.append(f"{rel}: {len(links)} report links")
            continue
        if not published:
            url = urlsplit(html.unescape(links[0]))
            # on the how-to page itself the link is the bare fragment
            target = ((site_root / rel).parent / url.path).resolve() if url.path else (site_root / rel).resolve()
            if url.scheme or target != (site_root / "book" / "how_to_use.html").resolve():
                problems.append(f"{rel}: the report link goes to {links[0]}, not to book/how_to_use.html")
            elif url.fragment != "reporting-a-problem":
                problems.append(f"{rel}: the report link names the section {url.fragment!r}")
            continue
        url = urlsplit(links[0].replace("&amp;", "&"))
        query = parse_qs(url.query)
        title = re.search(r"<title>(.*?)</title>", text, re.S).group(1)
        title = html.unescape(re.sub(r"<[^>]+>", "", title)).split(" \u2014 ")[0].strip()
        if f"{url.scheme}://{url.netloc}{url.path}" != f"{repo}/issues/new":
            problems.append(f"{rel}: the report link goes to {url.geturl()[:80]}, not {repo}/issues/new")
        elif title and title not in query.get("title", [""])[0]:
            problems.append(f"{rel}: the new issue's title {query.get('title')} lacks the page's title {title!r}")
        elif rel not in query.get("body", [""])[0]:
            problems.append(f"{rel}: the new issue's body {query.get('body')} lacks the page's address")
    assert checked > 0
    assert not problems, "\n".join(problems[:20])
    if not published:
        how_to = (site_root / "book" / "how_to_use.html").read_text(encoding="utf-8")
        assert 'id="reporting-a-problem"' in how_to, "the how-to page has no section the report link can lead to"


def test_the_report_link_carries_the_address_the_reader_sees(open_page, chapter_pages, site_url):
    path = chapter_pages[0]
    page = open_page(path, wait_ms=0)
    link = page.locator("a.report-problem")
    link.scroll_into_view_if_needed()
    assert link.is_visible(), f"{path}: the report link is not visible"
    if not _published():
        # before publication the link leads to the how-to page's section, and the reader lands on it
        link.click()
        page.wait_for_load_state("load")
        assert page.url.split("#")[0].endswith("book/how_to_use.html") and page.url.endswith("#reporting-a-problem")
        assert page.locator("#reporting-a-problem").is_visible(), "the section the report link names is not shown"
        return
    href = link.get_attribute("href")
    body = parse_qs(urlsplit(href).query)["body"][0]
    assert f"Address: {site_url}{path}" in body, f"{path}: the issue body says {body!r}"


# ------------------------------------------------------------------------------------ in the browser
_WAIT = """async () => {
    const until = Date.now() + 30000;
    while (Date.now() < until) {
        if (window.Reveal && Reveal.isReady() && document.documentElement.dataset.math === 'typeset') return true;
        await new Promise(r => setTimeout(r, 50));
    }
    return false;
}"""

#: Show every slide in turn; for each: the scale reveal.js fitted it to, its content's size, anything
#: sticking out of the slide, anything cut off, and its math.
_SLIDES = """async ([W, H]) => {
    // reveal.js shows a slide and the deck fits it (deck.js) synchronously; reading the sizes lays
    // the page out. Only images still loading are waited for.
    const loaded = (im) => im.complete ? Promise.resolve() : Promise.race([
        new Promise(r => { im.addEventListener('load', r, {once: true}); im.addEventListener('error', r, {once: true}); }),
        new Promise(r => setTimeout(r, 5000))]);
    const slides = Reveal.getSlides();
    const out = [];
    for (let i = 0; i < slides.length; i++) {
        Reveal.slide(i);
        const s = Reveal.getCurrentSlide();
        const images = [...s.querySelectorAll('img')].filter(im => !im.closest('aside.notes'));
        if (images.some(im => !im.complete)) await Promise.all(images.map(loaded));
        const box = document.querySelector('.reveal .slides').getBoundingClientRect();
        const problems = [];
        if (s.scrollHeight > H + 1 || s.scrollWidth > W + 1)
            problems.push(`content ${s.scrollWidth} x ${s.scrollHeight} px on a ${W} x ${H} slide`);
        for (const el of s.querySelectorAll('*')) {
            if (el.closest('aside.notes, mjx-assistive-mml, script, style')) continue;
            const r = el.getBoundingClientRect();
            if (!r.width || !r.height) continue;
            if (r.left < box.left - 2 || r.right > box.right + 2 || r.top < box.top - 2 || r.bottom > box.bottom + 2) {
                problems.push(`${el.tagName.toLowerCase()}.${String(el.className).slice(0, 30)} sticks out of the slide`);
                break;
            }
            const st = getComputedStyle(el);
            if (!st.display.startsWith('inline') && ['hidden', 'clip', 'auto', 'scroll'].includes(st.overflowX)
                && el.scrollWidth > el.clientWidth + 2 && !el.closest('mjx-stretchy-h, mjx-stretchy-v')) {
                problems.push(`${el.tagName.toLowerCase()}.${String(el.className).slice(0, 30)} is cut off`);
                break;
            }
        }
        for (const im of images) if (!im.complete || !im.naturalWidth) problems.push(`image ${im.src.slice(-40)} not loaded`);
        const math = s.querySelectorAll('mjx-container').length;
        // a note's formulas are MathML made by deck.js (the speaker view has no MathJax)
        const errors = s.querySelectorAll('mjx-merror, aside.notes math merror').length;
        const walker = document.createTreeWalker(s, NodeFilter.SHOW_TEXT);
        let raw = 0;
        while (walker.nextNode()) {
            const n = walker.currentNode, p = n.parentElement;
            if (!p || p.closest('aside.notes, script, style, mjx-container, code, pre')) continue;
            if (/\\$\\$|\\\\begin\\{|\\\\\\(|(^|[^\\\\])\\$[^$\\s][^$]*\\$/.test(n.textContent)) raw += 1;
        }
        raw += s.querySelectorAll('aside.notes .deck-math:not(.deck-mathml)').length;
        out.push({index: i, problems, math, errors, raw, fit: s.dataset.fit || '1',
                  heading: (s.querySelector('h1, h2') || {}).textContent || ''});
    }
    Reveal.slide(0);
    return out;
}"""


def _visit_deck(open_context, name: str) -> tuple:
    context, page = open_context(f"_slides/{name}.html", wait_ms=0)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    return context, page


@pytest.fixture(scope="module")
def deck_visitor(open_context, site_url):
    """``visit(name)``: the page, showing deck ``name``; one browser page for every deck of this worker
    (the site's MathJax and reveal.js then come from the browser's cache after the first deck), with
    the lists of refused and failed requests and of errors emptied before each deck."""
    held = {}

    def visit(name: str):
        if "page" not in held:
            held["context"], held["page"] = _visit_deck(open_context, name)
            return held["page"]
        page = held["page"]
        # the fonts the last deck's slides asked for arrive first (leaving would abort them, and the
        # aborted requests would be counted against the next deck)
        page.evaluate("() => Promise.race([document.fonts.ready, new Promise(r => setTimeout(r, 5000))])")
        for found in (page.refused, page.failed, page.js_errors):
            del found[:]
        page.goto(f"{site_url}_slides/{name}.html", wait_until="load")
        return page

    yield visit
    if "context" in held:
        held["context"].close()


@pytest.mark.parametrize("name", NOTEBOOKS, ids=[n.split("/")[-1] for n in NOTEBOOKS])
def test_deck_loads_offline_typesets_and_every_slide_fits(deck_visitor, site_root, name):
    if not _deck(site_root, name).is_file():
        pytest.fail(f"no deck for {name} (see the test of the files above)")
    page = deck_visitor(name)
    ready = page.evaluate(_WAIT)
    slides = page.evaluate(_SLIDES, [WIDTH, HEIGHT]) if ready else []
    problems = []
    if not ready:
        problems.append("reveal.js or MathJax did not finish within 30 s")
    if page.refused:
        problems.append(f"requests to other hosts: {sorted(set(page.refused))[:5]}")
    if page.failed:
        problems.append(f"failed requests: {page.failed[:5]}")
    if page.js_errors:
        problems.append(f"JavaScript errors: {page.js_errors[:3]}")
    for s in slides:
        where = f"slide {s['index'] + 1} ({s['heading'][:40]!r})"
        problems += [f"{where}: {p}" for p in s["problems"]]
        if s["errors"] or s["raw"]:
            problems.append(f"{where}: {s['errors']} TeX errors, {s['raw']} text nodes of raw TeX")
    if ready and not any(s["math"] for s in slides):
        problems.append("no typeset formula on any slide")
    if ready and len(slides) < 4:
        problems.append(f"only {len(slides)} slides")
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


@pytest.fixture(scope="module")
def axe_source() -> str:
    try:
        import axe_playwright_python
    except ImportError:
        pytest.skip("the Python package axe-playwright-python is not installed")
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


#: The first slide of each kind, by what it holds (a title, a list, displayed or inline math, a figure,
#: a player, a link, a caption): slides of one kind share their markup, and a run of axe costs about
#: two seconds a slide.
_ONE_OF_EACH_KIND = """() => {
    const kinds = new Map();
    Reveal.getSlides().forEach((s, i) => {
        const has = (css) => s.querySelector(css) ? '1' : '0';
        const kind = [has('h1'), has('ul, ol'), has('mjx-container[display="true"]'), has('.deck-figure > img'),
                      has('.pgw-player'), has('a[href]'), has('.deck-caption'), has('.deck-lead'),
                      has('p mjx-container, li mjx-container')].join('');
        if (!kinds.has(kind)) kinds.set(kind, i);
    });
    return [...kinds.values()];
}"""


@pytest.mark.parametrize("name", FULL_SAMPLE, ids=[n.split("/")[-1] for n in FULL_SAMPLE])
def test_sample_deck_passes_axe_and_moves_by_keyboard(open_context, site_root, axe_source, name):
    if not _deck(site_root, name).is_file():
        pytest.skip(f"no deck {name} in this build")
    context, page = _visit_deck(open_context, name)
    try:
        assert page.evaluate(_WAIT), f"{name}: reveal.js or MathJax did not finish within 30 s"
        n = page.evaluate("() => Reveal.getTotalSlides()")
        found = {}
        if name == FULL_SAMPLE[0]:
            page.add_script_tag(content=axe_source)
        for i in (page.evaluate(_ONE_OF_EACH_KIND) if name == FULL_SAMPLE[0] else []):
            violations = page.evaluate("""async ([i, tags]) => {
                Reveal.slide(i);
                await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
                // the media only: the style sheets' CSSOM serves no rule of these tags (test_pages.PRELOAD)
                const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                   resultTypes: ['violations'], preload: {assets: ['media']}});
                return r.violations.map(v => `${v.id}: ${v.help} (${v.nodes.slice(0, 2).map(
                    x => x.target.join(' ')).join('; ')})`);
            }""", [i, WCAG_TAGS])
            for v in violations:
                found.setdefault(v, i + 1)
        assert not found, f"{name}: WCAG 2.1 A/AA violations:\n  " + "\n  ".join(
            f"slide {i}: {v}" for v, i in found.items())
        # axe does see the colours: a heading made unreadable is a violation
        seen = name != FULL_SAMPLE[0] or page.evaluate("""async () => {
            Reveal.slide(1);
            const style = document.createElement('style');
            style.textContent = '.reveal h2 { color: #e8e8e8 !important; }';
            document.head.appendChild(style);
            const r = await axe.run(document, {runOnly: {type: 'rule', values: ['color-contrast']},
                                               preload: {assets: ['media']}});
            style.remove();
            return r.violations.length;
        }""")
        assert seen, f"{name}: a heading in light grey on white passed axe's contrast check (axe cannot see the colours)"
        # keyboard: the arrows, the space bar, End and Home move through the deck
        page.evaluate("() => { Reveal.slide(0); document.activeElement && document.activeElement.blur(); }")
        where = lambda: page.evaluate("() => Reveal.getIndices().h")     # noqa: E731
        steps = []
        for key, expected in (("ArrowRight", 1), ("ArrowRight", 2), ("ArrowLeft", 1), ("Space", 2),
                              ("End", n - 1), ("Home", 0)):
            page.keyboard.press(key)
            page.wait_for_timeout(50)
            steps.append((key, where(), expected))
        wrong = [s for s in steps if s[1] != s[2]]
        assert not wrong, f"{name}: keys did not move through the deck as expected (key, slide, expected): {steps}"
    finally:
        context.close()
