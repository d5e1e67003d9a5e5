"""Sphinx extension: the book's pages work offline, by keyboard and with a screen reader.

What it does, each for a reason a browser test in ``tests/browser/`` checks:

* **MathJax from the site itself.** The formulas are typeset by MathJax 3, copied at build time
  from the PyPI package ``sphinx-mathjax-offline`` (MathJax 3.2.2, installed with the book's
  requirements) into ``_static/mathjax`` of the built site, so a page renders its math with no
  network. Only the parts a page can load are copied (the TeX-to-HTML bundle, its fonts, the TeX
  extensions that ``\\require`` or autoloading may fetch, and the menu's accessibility tools with
  English speech rules), about 4 MB on disk, of which a page fetches the 1.2 MB bundle and a few
  fonts, cached across pages.
* **Formulas out of the tab order.** MathJax's menu puts every formula in the tab order by
  default, so a keyboard user would tab through thousands of formulas to reach a slider. The
  configuration keeps the hidden MathML that screen readers read, and leaves formulas out of the
  tab order (``inTabOrder: false``).
* **No script a page does not use.** Pages load neither require.js nor the ipywidgets-7 HTML
  manager (no page shows live widget state: the book renders each interactive figure's static
  default), nor sphinx-thebe's configuration (live code is not enabled; its inline script was
  also included twice, which raised "Identifier 'THEBE_JS_URL' has already been declared").
* **Names for the theme's controls.** The sidebar's expand/collapse toggles (a ``<summary>``
  holding only a chevron) get a name saying which sections they show; see
  :func:`name_sidebar_toggles`.
* **Solution toggles named after what they open** (``_static/accessible-site.js``).
* **A first visit starts in a valid colour mode** (``_static/accessible-site.js``): with nothing
  stored, the theme left the mode empty and logged a console error on every page.
* **Focus, hover and dark-mode panels** (``_static/accessible-site.css``, section H3): a focus ring
  on the toolbar buttons, a readable hover colour, search highlights, and the interactive
  figures' panels in the dark theme's colours.
* **Search snippets without TeX.** Formulas in the quoted lines of a search result are written as
  plain text (``_static/accessible-site.js``, with the book's macros given to the search page).
* **A bibliography screen readers accept.** See :func:`fix_bibliography_roles`.
* **Unique element ids.** See :func:`unique_ids`.
* **Hidden cells named by what they show.** See :func:`name_hidden_cells`.
* **The release in the footer.** The version written in ``pyproject.toml`` (its one source) is
  given to the templates as ``companion_version``; ``_templates/author.html`` prints it with the
  licences (checked by ``tests/browser/test_release_footer.py``). See :func:`project_version`.

Everything is done on the page being written (``html-page-context``), so a fresh build, a
build from the execution cache and an incremental build all give the same pages.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import tomllib
from importlib import metadata
from pathlib import Path

#: The distribution that ships MathJax 3 (files under ``sphinx-mathjax-offline/static/mathjax``).
MATHJAX_DIST = "sphinx-mathjax-offline"
MATHJAX_DIR = "mathjax"
#: What of MathJax the site needs (paths relative to MathJax's folder).
MATHJAX_PARTS = (
    "tex-chtml.js",                  # TeX input, HTML output, menu, assistive MathML
    "input/tex/extensions",          # loaded on demand by \require and autoload
    "output/chtml/fonts/woff-v2",    # the TeX fonts
    "a11y",                          # explorer and speech, switched on from MathJax's menu
    "ui",                            # the menu's lazy and safe modules
    "sre/mathmaps/base.json",        # speech rules the explorer loads (English only)
    "sre/mathmaps/en.json",
    "sre/mathmaps/nemeth.json",
)
HERE = Path(__file__).resolve().parent
#: Pages whose content is mostly wide tables: shown without the right-hand page contents. The
#: equation index's chapter pages are named one by one: the theme warns when a page matches two
#: patterns with wildcards, and "**" is one.
WIDE_PAGES = ("book/errata", "book/performance", "book/notation", "book/equation_index") + tuple(
    f"book/equation_index/{p.stem}" for p in sorted((HERE.parent / "book" / "equation_index").glob("*.md")))
STATIC = HERE.parent / "_static"
#: The project file whose ``[project] version`` is the release every page shows in its footer.
PYPROJECT = HERE.parent / "pyproject.toml"

#: Scripts no page uses (matched against the script's URL or inline body).
UNUSED_SCRIPTS = (
    "require.min.js",                # myst-nb: only for ipywidgets 7 embedding
    "@jupyter-widgets/html-manager",  # myst-nb: the ipywidgets 7 manager
    "sphinx-thebe.js",               # sphinx-thebe: live code, not enabled in this book
    "THEBE_JS_URL",                  # sphinx-thebe's inline configuration
)


def mathjax_source() -> Path:
    """The folder of the installed MathJax 3 files; a clear error when the package is missing."""
    try:
        dist = metadata.distribution(MATHJAX_DIST)
    except metadata.PackageNotFoundError:
        raise RuntimeError(
            f"the book serves MathJax from its own site and takes it from the Python package "
            f"{MATHJAX_DIST!r}, which is not installed: pip install -r requirements.txt"
        ) from None
    root = Path(dist.locate_file("sphinx-mathjax-offline")) / "static" / "mathjax"
    if not (root / "tex-chtml.js").is_file():
        raise RuntimeError(f"{MATHJAX_DIST} is installed but {root / 'tex-chtml.js'} is missing")
    return root


def copy_mathjax(source: Path, outdir: Path) -> None:
    """Copy :data:`MATHJAX_PARTS` from ``source`` into ``outdir/_static/mathjax``."""
    target = outdir / "_static" / MATHJAX_DIR
    for part in MATHJAX_PARTS:
        src, dst = source / part, target / part
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def project_version(pyproject: Path = PYPROJECT) -> str:
    """The release, ``[project] version`` of ``pyproject.toml``: the one place it is written."""
    with open(pyproject, "rb") as f:
        version = tomllib.load(f).get("project", {}).get("version")
    if not isinstance(version, str) or not version.strip():
        raise RuntimeError(f"{pyproject} has no [project] version for the footer to show")
    return version.strip()


# --- markup fixes ---------------------------------------------------------------------------

_TOGGLE = re.compile(
    r'(<a class="(?:current )?reference internal" href="[^"]*">(?P<title>(?:(?!</a>).)*)</a>\s*<details(?: open="open")?>\s*'
    r'<summary>)(\s*<span class="toctree-toggle" role="presentation">)',
    re.S,
)
_CAPTION_TOGGLE = re.compile(
    r'(<summary>\s*<p aria-level="2" class="caption" role="heading">'
    r'<span class="caption-text">(?P<title>.*?)</span></p>)(\s*<span class="toctree-toggle" role="presentation">)',
    re.S,
)


def _plain(fragment: str) -> str:
    return html.escape(html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip(), quote=True)


def name_sidebar_toggles(nav: str) -> str:
    """Give each sidebar toggle (a ``<summary>`` holding only a chevron) an accessible name.

    pydata-sphinx-theme (0.15-0.17) builds the navigation's expand/collapse disclosures as a
    ``<summary>`` whose only content is a decorative chevron, so screen readers announce an
    unnamed "disclosure triangle" on every page (axe: ``summary-name``). Upstream discussion:
    pydata/pydata-sphinx-theme#1582 (keyboard-operable TOC sections, which introduced the
    markup). The name added here says what the toggle shows: "Sections of <page title>".
    """
    def named(match: re.Match) -> str:
        title = _plain(match.group("title"))
        return (f'{match.group(1)}<span class="visually-hidden">Sections of {title}</span>'
                f'{match.group(3)}')

    return _TOGGLE.sub(named, nav)


_BIB_LIST = re.compile(r'<div role="list" class="citation-list">')
_BIB_ENTRY = re.compile(r'(<div class="citation" id="[^"]*") role="doc-biblioentry"')


def fix_bibliography_roles(body: str) -> str:
    """Bibliography entries become plain list items of their list.

    docutils (0.18-0.21) writes a citation list as ``<div role="list">`` whose children carry
    ``role="doc-biblioentry"``. A list may only own ``listitem`` children, and DPUB-ARIA 1.1
    deprecated ``doc-biblioentry`` for exactly this reason (w3c/dpub-aria#15, fixed by
    w3c/dpub-aria#22): axe reports ``aria-required-children`` and ``aria-required-parent`` on
    every entry. Each entry gets ``role="listitem"``, which is what the deprecation note advises.
    """
    if "citation-list" not in body:
        return body
    return _BIB_ENTRY.sub(r'\1 role="listitem"', body)


_ID = re.compile(r'\bid="([^"]+)"')


def unique_ids(body: str) -> str:
    """Rename the second and later copies of an element id in ``body`` (``<id>-2``, ``<id>-3``...).

    sphinx-exercise (1.2) gives every exercise and solution section the same ids
    (``exercise-content``, ``solution-content``), so a page with several exercises repeats them;
    nothing links to those ids. An id that a link of the page targets is left alone (renaming it
    would change where the link goes); the browser test reports any duplicate that remains.
    """
    seen: dict[str, int] = {}
    for name in _ID.findall(body):
        seen[name] = seen.get(name, 0) + 1
    repeated = {name for name, n in seen.items() if n > 1 and f'href="#{name}"' not in body}
    if not repeated:
        return body
    count: dict[str, int] = {}

    def rename(match: re.Match) -> str:
        name = match.group(1)
        if name not in repeated:
            return match.group(0)
        count[name] = count.get(name, 0) + 1
        return match.group(0) if count[name] == 1 else f'id="{name}-{count[name]}"'

    return _ID.sub(rename, body)


_SUMMARY_NAME = '<summary aria-label="Toggle hidden content">'


def name_hidden_cells(body: str) -> str:
    """A collapsed cell's ``<summary>`` is named by what it shows ("Show code cell source").

    myst-nb (1.x) gives the disclosure of a hidden input or output the fixed name "Toggle hidden
    content" while it shows "Show code cell source", so its name does not contain its visible
    text (WCAG 2.5.3, axe ``label-content-name-mismatch``). Without the ``aria-label`` the name
    is the visible text.
    """
    return body.replace(_SUMMARY_NAME, "<summary>")


def _drop_unused_scripts(scripts: list) -> None:
    """Remove from ``scripts`` (Sphinx's per-page list, restored after the page) what no page uses."""
    seen = set()
    keep = []
    for js in scripts:
        text = f"{getattr(js, 'filename', '') or ''} {getattr(js, 'attributes', {}).get('body', '')}"
        if any(marker in text for marker in UNUSED_SCRIPTS):
            continue
        # the same inline script can be registered twice, once with filename None and once with
        # "" (sphinx-togglebutton's selector is): one copy is enough
        key = (getattr(js, "filename", None) or "", tuple(sorted(getattr(js, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        keep.append(js)
    scripts[:] = keep


def tex_macros(config) -> dict[str, str]:
    """The book's TeX macros without arguments (``mathjax3_config.tex.macros``), name -> definition."""
    macros = ((config.mathjax3_config or {}).get("tex") or {}).get("macros") or {}
    return {name: value for name, value in macros.items() if isinstance(value, str)}


def _on_page_context(app, pagename, templatename, context, doctree):
    if app.builder.format != "html":
        return
    if isinstance(context.get("body"), str):
        context["body"] = unique_ids(name_hidden_cells(fix_bibliography_roles(context["body"])))
        if pagename == "search":                    # the snippets write formulas as text with these
            context["body"] += f"<script>window.pgTexMacros = {json.dumps(tex_macros(app.config))};</script>"
    if isinstance(context.get("script_files"), list):
        _drop_unused_scripts(context["script_files"])
    # whether the page has the page-contents column (pydata-sphinx-theme's layout.html decides the same
    # way); _templates/theme-switcher.html marks it ahead of the article for accessible-site.css
    meta = context.get("meta") or {}
    context["pg_toc_column"] = bool(context.get("secondary_sidebar_items")) and \
        "html_theme.sidebar_secondary.remove" not in meta
    toctree = context.get("generate_toctree_html")
    if callable(toctree) and not getattr(toctree, "_named_toggles", False):
        def generate_toctree_html(*args, **kwargs):
            return name_sidebar_toggles(str(toctree(*args, **kwargs)))
        generate_toctree_html._named_toggles = True
        context["generate_toctree_html"] = generate_toctree_html


def _on_config_inited(app, config):
    config.mathjax_path = f"{MATHJAX_DIR}/tex-chtml.js"
    mj = dict(config.mathjax3_config or {})
    options = dict(mj.get("options") or {})
    menu = dict(options.get("menuOptions") or {})
    settings = dict(menu.get("settings") or {})
    settings.setdefault("inTabOrder", False)      # formulas are not tab stops
    settings.setdefault("assistiveMml", True)     # screen readers read the hidden MathML
    menu["settings"] = settings
    options["menuOptions"] = menu
    mj["options"] = options
    config.mathjax3_config = mj
    # The release, printed in every page's footer by _templates/author.html
    config.html_context = {**(config.html_context or {}), "companion_version": project_version()}
    # Our stylesheet and templates
    static = str(STATIC)
    if STATIC.is_dir() and static not in config.html_static_path and "_static" not in config.html_static_path:
        config.html_static_path.append(static)
    # pages show no live widgets; nothing needs the ipywidgets 7 embedding scripts
    config.nb_ipywidgets_js = {}
    # One search field: the sidebar's. The theme's default also puts one in the top bar
    # ("navbar_persistent"), which made two search boxes side by side on a desktop screen.
    options = dict(config.html_theme_options or {})
    options.setdefault("navbar_persistent", [])
    # Pages made of wide tables get the width of the right-hand "Contents" column: their tables
    # (with formulas that cannot break) then fit without a scroll bar at 1280 px.
    options.setdefault("secondary_sidebar_items",
                       {"**": ["page-toc"], **{page: [] for page in WIDE_PAGES}})
    config.html_theme_options = options


def _on_builder_inited(app):
    if app.builder.format == "html":
        app._mathjax_source = mathjax_source()   # fail early, before hours of execution


def _on_build_finished(app, exc):
    if exc is None and app.builder.format == "html":
        copy_mathjax(app._mathjax_source, Path(app.outdir))


def setup(app):
    app.connect("config-inited", _on_config_inited, priority=900)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("html-page-context", _on_page_context, priority=900)
    app.connect("build-finished", _on_build_finished)
    app.add_css_file("accessible-site.css")
    app.add_js_file("accessible-site.js", priority=900)   # after sphinx-togglebutton's script
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
