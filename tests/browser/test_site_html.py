"""The built site's HTML, read as files (no browser): what every page must and must not contain.

Checks that keep fixed what readers found on the published site: the landing page's contents
list every page of the table of contents, the footer reads as a sentence, no empty index page
is generated, ids are unique on every page, a page has one search box, no script or style sheet
comes from another site, each configuration script in a page's head is included once, and every
position of every static slider shows an image of its own.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
#: A script or a style sheet (any <link> but the page's canonical address, which nothing fetches) from another site.
_EXTERNAL_ASSET = re.compile(r"""<(?:script[^>]*\ssrc|link(?![^>]*\srel=["']canonical["'])[^>]*\shref)\s*=\s*["'](https?:)?//[^"']+""",
                             re.I)
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


_SLIDERS = re.compile(r'<figure class="pgw pgw-sliders"[^>]*>.*?<script type="application/json" class="pgw-data">'
                      r'(.*?)</script>', re.S)


def _slider_problems(rel: str, data: dict) -> list[str]:
    """Controls of one figure whose positions (the others at their defaults) share an image file."""
    problems = []
    controls, images = data["controls"], data["images"]
    initial = [c["initial"] for c in controls]
    for k, control in enumerate(controls):
        urls = []
        for j in range(len(control["labels"])):
            key = ",".join(str(j if m == k else i0) for m, i0 in enumerate(initial))
            urls.append(images.get(key))
        where = f"{rel}: figure {data['alt'][:50]!r}: control {control['name']!r}"
        if None in urls:
            problems.append(f"{where}: no image for position {control['labels'][urls.index(None)]}")
            continue
        if len(set(urls)) == 1:
            problems.append(f"{where}: the same image at every position (a dead control)")
            continue
        labels = control["labels"]
        repeats = [f"{labels[i]} and {labels[j]}" for i in range(len(urls)) for j in range(i + 1, len(urls))
                   if urls[i] == urls[j]]
        if repeats:                          # neighbours, the two ends of an angle, any two positions
            problems.append(f"{where}: the same image at positions {', '.join(repeats)}")
    return problems


def test_every_slider_position_shows_an_image_of_its_own(site_root):
    """Each position of each control (the others at their defaults) maps to its own image file.

    The images are moved into files named by their content's hash, so two positions that draw the
    same picture share a URL: this reads the position-to-URL table of every static figure (the JSON
    after its markup) and compares the URLs along each control, whatever the page's size.
    """
    problems, figures = [], 0
    for path in _book_html(site_root):
        rel = path.relative_to(site_root).as_posix()
        for match in _SLIDERS.finditer(path.read_text(encoding="utf-8", errors="replace")):
            figures += 1
            problems += _slider_problems(rel, json.loads(match.group(1)))
    assert figures, "no static slider figure found on any page"
    assert not problems, "\n".join(problems)


def test_the_slider_check_reports_repeats_and_dead_controls():
    """The rule above on a made-up table: a dead control and a repeat are both reported."""
    data = {"alt": "A made-up figure.", "mode": "axes",
            "controls": [{"name": "a", "labels": ["-90", "0", "90"], "initial": 1},
                         {"name": "b", "labels": ["off", "on"], "initial": 0}],
            "images": {"1,0": "f/0.webp", "0,0": "f/1.webp", "2,0": "f/1.webp", "1,1": "f/0.webp"}}
    problems = _slider_problems("p.html", data)
    assert len(problems) == 2
    assert "control 'a': the same image at positions -90 and 90" in problems[0]
    assert "control 'b': the same image at every position" in problems[1]
    data["images"].update({"2,0": "f/2.webp", "1,1": "f/3.webp"})
    assert _slider_problems("p.html", data) == []


#: Width (CSS px) of the book's column on a 375 px screen, where ``test_phone.py`` looks at the figures: a
#: figure up to this wide is shown there at its drawn size.
PHONE_COLUMN_PX = 315
#: A figure image of a cell output (the book moved it into ``_figures/``), with the phone source of its
#: ``<picture>`` when it has one (in a file, or inline when it is as small as an icon): (media, phone
#: width, image width).
_FIGURE = re.compile(r'(?:<picture><source media="([^"]+)" srcset="[^"]+" width="(\d+)" height="\d+" />)?'
                     r'<img\b(?=[^>]*\bsrc="[^"]*_figures/)[^>]*\bwidth="(\d+)"')
_WIDGET_DATA = re.compile(r'<figure class="pgw pgw-(player|sliders)"[^>]*>(.*?)<script type="application/json" '
                          r'class="pgw-data">(.*?)</script>', re.S)


def _phone_problems(rel: str, html: str, fit: int, media: str) -> tuple[list[str], int]:
    """The figures of one page that a phone would show shrunk (wider than ``fit`` CSS px with no phone
    drawing, or with one that is wider), and the number of phone drawings."""
    problems, drawings = [], 0
    for m in _FIGURE.finditer(html):
        phone_media, phone_width, width = m.group(1), m.group(2), int(m.group(3))
        if phone_media is None:
            if width > fit:
                problems.append(f"{rel}: a figure {width} px wide has no drawing for a phone")
            continue
        drawings += 1
        if phone_media != media or int(phone_width) > fit:
            problems.append(f"{rel}: a phone drawing {phone_width} px wide for {phone_media!r} (at most {fit} "
                            f"px, for {media!r})")
    for kind, markup, payload in _WIDGET_DATA.findall(html):
        data = json.loads(payload)
        shown = data["frames"] if kind == "player" else data["images"]
        phone = data.get("phone")
        if ("<picture>" in markup) != (phone is not None):
            problems.append(f"{rel}: a {kind} whose picture and phone images disagree")
        elif phone is not None and (len(phone) != len(shown) if kind == "player" else phone.keys() != shown.keys()):
            problems.append(f"{rel}: a {kind} with {len(shown)} images and {len(phone)} phone images")
    return problems, drawings


def test_every_wide_figure_has_a_drawing_for_a_phone(site_root):
    """A figure wider than a phone's column comes with a drawing for it (``plotting.phone_layout``): a static
    figure's ``<picture>``, a player's frame and a slider figure's position alike, so that on a phone no
    figure is shrunk below legibility or scrolls sideways. The browser tests check that a phone gets them."""
    from pedagogy_lib.display.plotting import PHONE_MEDIA

    problems, drawings = [], 0
    for path in _book_html(site_root):
        found, n = _phone_problems(path.relative_to(site_root).as_posix(),
                                   path.read_text(encoding="utf-8", errors="replace"), PHONE_COLUMN_PX, PHONE_MEDIA)
        problems += found
        drawings += n
    assert drawings > 100, f"only {drawings} phone drawings on the whole site: are the figures drawn for phones?"
    assert not problems, "\n".join(problems)


def test_the_phone_check_names_a_wide_figure_without_a_drawing():
    """The rule above on made-up markup: a wide bare figure and a too-wide phone drawing are named."""
    page = ('<img src="../_figures/a.webp" alt="x" width="900" height="300" />'
            '<picture><source media="(max-width: 40rem)" srcset="../_figures/b.webp" width="500" height="900" />'
            '<img src="../_figures/c.webp" alt="y" width="900" height="300" /></picture>'
            '<picture><source media="(max-width: 40rem)" srcset="data:image/webp;base64,UklG" width="300" '
            'height="200" /><img src="../_figures/e.webp" alt="w" width="500" height="300" /></picture>'
            '<img src="../_figures/d.webp" alt="z" width="300" height="300" />')
    problems, drawings = _phone_problems("p.html", page, PHONE_COLUMN_PX, "(max-width: 40rem)")
    assert drawings == 2 and len(problems) == 2
    assert "900 px wide has no drawing" in problems[0] and "500 px wide" in problems[1]


def test_only_the_search_page_loads_the_search_index(site_root):
    """_templates/layout.html: a book page does not load searchindex.js (about 500 kB, growing with the book),
    which the theme loaded on every page for a search-as-you-type the book leaves off; search.html does."""
    pages = [p for p in (site_root / "chapters").rglob("*.html")]
    assert pages
    assert not [p.name for p in pages if "searchindex.js" in p.read_text(encoding="utf-8")]
    assert "searchindex.js" in (site_root / "search.html").read_text(encoding="utf-8")
