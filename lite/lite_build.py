"""Sphinx extension: feed the chapter notebooks and a wheel of pedagogy_lib to the JupyterLite site.

``jupyterlite_sphinx`` runs ``jupyter lite build`` when the HTML build finishes and puts the
in-browser JupyterLab/Notebook site in ``<html>/lite``. This extension prepares what that site
ships, in a staging folder next to the HTML output (never in the source tree, so parallel builds
into different output folders do not collide):

- ``contents/chapters/...``: every chapter notebook, at the same relative path as in the repository,
  so the launch button's ``?path=chapters/.../name.ipynb`` opens it. Each is a *student copy*
  (:func:`student_notebook`): the student edition of ``courseware/editions.py`` (no solutions),
  with the MyST markup a plain Jupyter front end shows as raw text rewritten as Markdown
  (exercises, admonitions, citations, ``{doc}`` links), links to the book's other pages pointed at
  the published site (derived from ``repository.url``: :func:`site_url`), the book's TeX macros written out in its
  formulas (:func:`expand_macros`), and the Pyodide kernel in its kernelspec (else JupyterLite asks
  for a kernel).
  The notebooks in ``chapters/`` are only read;
- ``wheel/pedagogy_lib-*.whl``: a pure-Python wheel built from the working tree with
  ``pip wheel --no-deps`` (offline when setuptools is installed: ``--no-build-isolation --no-index``);
  numba is an optional extra, so in the browser every kernel runs as its NumPy twin;
- ``lite_dir/``: the lite build's settings (``lite/jupyter_lite_config.json``) and cache.

After the lite build it checks the result (:func:`lite_site_problems`) and fails the book build if
a notebook, the wheel, or the target of a chapter page's JupyterLite button is missing, or if a lite
notebook links a page of the site, or a ``#fragment`` on it, that the built site does not have
(:func:`lite_fragment_problems`; the fragment of a ``[text](page.md#slug)`` link becomes the id the
page's HTML gives that heading, :func:`heading_ids` and :func:`html_heading_ids`).

On every chapter page it also puts, under the title, a visible "Open live in your browser" link to
the page's notebook in the lite site (:func:`add_live_link`; the URL is the one the theme's launch
menu computes).

Nothing here needs the network, and nothing here can run the in-browser Python (Pyodide), which
the reader's browser downloads from its CDN when a notebook starts.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LITE_SUBDIR = "lite"            # where jupyterlite_sphinx writes the site inside the HTML output

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from courseware.plain import (book_macros, cell_source, html_anchors, markdown_anchors,  # noqa: E402
                              plain_notebook, read_bibliography, site_url)


def chapter_notebooks(root: Path = ROOT) -> list[Path]:
    """Every chapter notebook, relative to ``root``."""
    return sorted(p.relative_to(root) for p in (root / "chapters").rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


# ------------------------------------------------------------------- the student copy of a notebook
#: The in-browser kernel of the lite site (jupyterlite-pyodide-kernel registers it under this name).
#: A notebook whose kernelspec names another kernel (the chapters say ``python3``) opens a
#: "Select Kernel" dialog first.
PYODIDE_KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}


def student_notebook(path: Path, root: Path = ROOT, refs: dict | None = None,
                     macros: dict | None = None, site: str | None = None, anchors=None) -> dict:
    """The lite site's copy of the chapter notebook ``path``: what a student can read and run there.

    The student edition of :mod:`courseware.editions` (solutions and the hidden cells that check
    them removed, outputs cleared) with its Markdown made plain (:func:`courseware.plain.plain_notebook`:
    exercises, directives, citations, links, macros), and the Pyodide kernel in its kernelspec.
    """
    from courseware import editions

    chapter = editions.read_notebook(Path(path).resolve(), require_meta=False)
    nb = plain_notebook(editions.student_edition(chapter), path, root, refs=refs, macros=macros, site=site,
                        anchors=anchors)
    nb.setdefault("metadata", {})["kernelspec"] = dict(PYODIDE_KERNELSPEC)
    return nb


def stage_contents(content_dir: Path, root: Path = ROOT, html_dir: Path | None = None) -> list[Path]:
    """Write the lite copy (:func:`student_notebook`) of every chapter notebook into ``content_dir``,
    keeping their paths; return those paths. The notebooks in ``chapters/`` are only read. Links
    to book pages get the ids of ``html_dir``'s built pages when given (:func:`html_anchors`)."""
    root = Path(root).resolve()
    notebooks = chapter_notebooks(root)
    refs = read_bibliography(root / "book" / "references.bib")
    macros, site = book_macros(root), site_url(root)
    anchors = html_anchors(root, html_dir) if html_dir is not None else markdown_anchors(root)
    for rel in notebooks:
        target = content_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        nb = student_notebook(root / rel, root, refs, macros, site, anchors)
        target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return notebooks


def _setuptools_is_recent() -> bool:
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools

    return int(setuptools.__version__.split(".")[0]) >= 64


def build_wheel(wheel_dir: Path, root: Path = ROOT) -> Path:
    """Build the pure-Python wheel of pedagogy_lib into ``wheel_dir`` (emptied first); return its path.

    The sources are copied to a scratch folder first, so setuptools writes its ``build/`` and
    ``*.egg-info`` there rather than in the repository.
    """
    src = wheel_dir.parent / "wheel_src"
    for d in (src, wheel_dir):
        shutil.rmtree(d, ignore_errors=True)
    wheel_dir.mkdir(parents=True)
    src.mkdir(parents=True)
    shutil.copy2(root / "pyproject.toml", src / "pyproject.toml")
    shutil.copytree(root / "pedagogy_lib", src / "pedagogy_lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
           "-w", str(wheel_dir)]
    if _setuptools_is_recent():
        cmd += ["--no-build-isolation", "--no-index"]      # offline: use the installed setuptools
    subprocess.run([*cmd, str(src)], check=True, cwd=src)
    wheels = sorted(wheel_dir.glob("pedagogy_lib-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one pedagogy_lib wheel in {wheel_dir}; found {wheels}")
    return wheels[0]


def wheel_problems(wheel: Path) -> list[str]:
    """What is wrong with ``wheel`` for the browser: not pure Python, numba required, modules missing."""
    problems = []
    if not wheel.name.endswith("-py3-none-any.whl"):
        problems.append(f"{wheel.name} is not a pure-Python (py3-none-any) wheel")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
        requires = [] if meta is None else re.findall(r"^Requires-Dist:\s*(.+)$", zf.read(meta).decode(), flags=re.M)
    hard = [r for r in requires if "extra ==" not in r]
    if any(re.match(r"numba\b", r) for r in hard):
        problems.append(f"{wheel.name} requires numba (it must be the optional extra 'fast')")
    modules = {str(p.relative_to(ROOT)).replace("\\", "/") for p in (ROOT / "pedagogy_lib").rglob("*.py")
               if "__pycache__" not in p.parts}
    missing = sorted(modules - names)
    if missing:
        problems.append(f"{wheel.name} lacks {missing}")
    return problems


def lite_site_problems(lite: Path, notebooks: list[Path]) -> list[str]:
    """What is missing from the built JupyterLite site ``lite`` (the ``<html>/lite`` folder)."""
    problems = []
    for app in ("lab", "notebooks"):
        if not (lite / app / "index.html").exists():
            problems.append(f"the lite site has no {app}/index.html")
    for rel in notebooks:
        if not (lite / "files" / rel).exists():
            problems.append(f"the lite site does not ship {rel.as_posix()}")
    wheels = sorted((lite / "pypi").glob("pedagogy_lib-*.whl"))
    if len(wheels) != 1:
        problems.append(f"the lite site should ship one pedagogy_lib wheel in pypi/; found {[w.name for w in wheels]}")
    else:
        problems += wheel_problems(wheels[0])
        index = lite / "pypi" / "all.json"
        listed = json.loads(index.read_text(encoding="utf-8")) if index.exists() else {}
        if not any(re.sub(r"[-_.]+", "-", k).lower() == "pedagogy-lib" for k in listed):
            problems.append("pypi/all.json does not index pedagogy_lib, so %pip install cannot find it")
        settings = json.loads((lite / "jupyter-lite.json").read_text(encoding="utf-8"))
        urls = (settings["jupyter-config-data"].get("litePluginSettings", {})
                .get("@jupyterlite/pyodide-kernel-extension:kernel", {}).get("pipliteUrls", []))
        if not any(u.startswith("./pypi/all.json") for u in urls):
            problems.append("jupyter-lite.json does not point the kernel's pip at ./pypi/all.json")
    return problems


def launch_link_problems(html: Path, notebooks: list[Path]) -> list[str]:
    """Each chapter page's JupyterLite button must lead to the lite site and to that page's notebook."""
    problems = []
    for rel in notebooks:
        page = html / rel.with_suffix(".html")
        if not page.exists():
            problems.append(f"no page {page.relative_to(html)} for {rel.as_posix()}")
            continue
        links = [unquote(h) for h in re.findall(r'href="([^"]*\?path=[^"]*)"', page.read_text(encoding="utf-8"))
                 if "lite/" in h]
        if not links:
            problems.append(f"{page.relative_to(html)} has no JupyterLite launch button")
            continue
        for link in set(links):
            parts = urlsplit(link)
            target = (page.parent / parts.path).resolve()
            if not target.exists():
                problems.append(f"{page.relative_to(html)}: the JupyterLite button points at {link}, which does not exist")
            path = parse_qs(parts.query).get("path", [""])[0]
            if path != rel.as_posix():
                problems.append(f"{page.relative_to(html)}: the JupyterLite button opens {path!r}, not {rel.as_posix()!r}")
    return problems


_SITE_LINK_RE = re.compile(r"\]\((?P<href>https?://[^)\s]+)\)")


def site_links(nb: dict, site: str) -> list[str]:
    """Every Markdown link of the notebook ``nb`` (a dict) to a page of the published ``site``."""
    return [m.group("href") for c in nb.get("cells", []) if c.get("cell_type") == "markdown"
            for m in _SITE_LINK_RE.finditer(cell_source(c)) if m.group("href").startswith(site)]


def lite_fragment_problems(files: Path, html: Path, site: str) -> list[str]:
    """Each link of the lite notebooks under ``files`` to the published site must lead to a page of
    the built site ``html``, and its ``#fragment`` to an id on that page."""
    problems, ids = [], {}
    for path in sorted(Path(files).rglob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for href in site_links(nb, site):
            rel, _, fragment = href[len(site):].partition("#")
            page = Path(html) / unquote(rel)
            if not page.is_file():
                problems.append(f"{path.relative_to(files)}: links {href}, a page the site does not have")
                continue
            if page not in ids:
                ids[page] = set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))
            if fragment and unquote(fragment) not in ids[page]:
                problems.append(f"{path.relative_to(files)}: links {href}, but {rel} has no id {fragment!r}")
    return problems


# -------------------------------------------------------------------- the "Open live" link of a page
#: Text of the link under a chapter page's title that opens the page's notebook in the lite site.
LIVE_LINK_TEXT = "Open live in your browser"
LIVE_LINK_CLASS = "live-link"


def lite_launch_url(header_buttons) -> str | None:
    """The URL of the JupyterLite entry of sphinx-book-theme's launch (rocket) menu, if the page has one.

    The theme computes it from ``launch_buttons.jupyterlite_url`` in ``_config.yml`` and the page's
    notebook (``<jupyterlite_url>?path=chapters/.../name.ipynb``); the visible link reuses it.
    """
    for group in header_buttons or []:
        if not isinstance(group, dict):
            continue
        for button in group.get("buttons") or []:
            if isinstance(button, dict) and button.get("url") and (
                    button.get("text") == "JupyterLite" or "jupyterlite" in str(button.get("icon", ""))):
                return button["url"]
    return None


def live_link_html(url: str) -> str:
    """The paragraph put under a chapter page's title: the link, then what it opens."""
    import html

    return (f'<p class="{LIVE_LINK_CLASS}"><a class="{LIVE_LINK_CLASS}-button" href="{html.escape(url, quote=True)}">'
            f'{LIVE_LINK_TEXT}</a> <span class="{LIVE_LINK_CLASS}-note">This section\'s notebook in JupyterLite: '
            'its code runs in this browser tab, nothing to install (the first start fetches Python for the '
            'browser). The exercises come without their solutions.</span></p>\n')


def add_live_link(body: str, url: str) -> str:
    """``body`` (a page's HTML) with the live link right after its first heading (at its top if none)."""
    if f'class="{LIVE_LINK_CLASS}"' in body:
        return body
    end = body.find("</h1>")
    if end < 0:
        return live_link_html(url) + body
    end += len("</h1>")
    return body[:end] + "\n" + live_link_html(url) + body[end:]


def _on_page_context(app, pagename, templatename, context, doctree):
    """After the theme's launch buttons (priority 501): the visible live link on notebook pages."""
    if app.builder.format != "html" or not isinstance(context.get("body"), str):
        return
    url = lite_launch_url(context.get("header_buttons"))
    if url:
        context["body"] = add_live_link(context["body"], url)


# ----------------------------------------------------------------------------------- Sphinx hooks
def _staging(app) -> Path:
    return Path(app.outdir).resolve().parent / "lite_staging"


def _configure(app, config):
    """Point jupyterlite_sphinx's contents and lite folders into the staging area (before it reads them)."""
    staging = _staging(app)
    config.jupyterlite_content_dir = str(staging / "contents")
    config.jupyterlite_dir = str(staging / "lite_dir")


def _prepare(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    staging = _staging(app)
    root = Path(app.config.pedagogy_lite_root or app.srcdir).resolve()
    stage_contents(Path(app.config.jupyterlite_content_dir), root, Path(app.outdir))
    lite_dir = Path(app.config.jupyterlite_dir)
    lite_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "jupyter_lite_config.json", lite_dir / "jupyter_lite_config.json")
    wheel = build_wheel(staging / "wheel", root)
    options = dict(app.config.jupyterlite_build_command_options or {})
    options["piplite-wheels"] = str(wheel)
    app.config.jupyterlite_build_command_options = options


def _verify(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.errors import ExtensionError

    root = Path(app.config.pedagogy_lite_root or app.srcdir).resolve()
    html = Path(app.outdir)
    notebooks = chapter_notebooks(root)
    problems = lite_site_problems(html / LITE_SUBDIR, notebooks)
    if app.config.pedagogy_lite_check_buttons:       # checks that need the book's own pages
        problems += launch_link_problems(html, notebooks)
        problems += lite_fragment_problems(html / LITE_SUBDIR / "files", html, site_url(root))
    if problems:
        raise ExtensionError("the JupyterLite site is incomplete:\n  " + "\n  ".join(problems))


def _is_lite_page_asset(filename) -> bool:
    return any(key in str(filename or "") for key in ("jupyterlite_sphinx.", "fonts.googleapis.com"))


def setup(app):
    app.setup_extension("jupyterlite_sphinx")
    # jupyterlite_sphinx adds to every page a stylesheet from Google Fonts (a download from another
    # site each time a page is read) and the CSS/JS of its embedding directives, which this book
    # does not use: the site links to the lite app instead of embedding it. Drop all three.
    app.registry.css_files = [f for f in app.registry.css_files if not _is_lite_page_asset(f[0])]
    app.registry.js_files = [f for f in app.registry.js_files if not _is_lite_page_asset(f[0])]
    app.add_config_value("pedagogy_lite_root", "", "env")       # the repository (default: the book's source)
    app.add_config_value("pedagogy_lite_check_buttons", True, "env")
    app.connect("config-inited", _configure, priority=400)     # before jupyterlite_sphinx creates its folders
    app.connect("build-finished", _prepare, priority=400)      # before jupyterlite_sphinx runs the lite build
    app.connect("build-finished", _verify, priority=600)       # after it
    app.connect("html-page-context", _on_page_context, priority=950)   # after the launch buttons
    return {"parallel_read_safe": True, "parallel_write_safe": True}
