"""Browser tests of the built book: a local server, the system Chromium and Playwright.

These tests look at the HTML a book build wrote; they never build it. ``python3 tasks.py test``
runs them right after its strict book build. By hand::

    PEDAGOGY_SITE=/path/to/_build/html .venv/bin/python -m pytest tests/browser

What they need, and what happens without it (never a silent pass):

* the site: ``--site DIR`` or the environment variable ``PEDAGOGY_SITE``, else ``_build/html``
  of this checkout; without an ``index.html`` there every test is skipped, saying so;
* a Chromium or Chrome installed on the system (``CHROMIUM=/path`` overrides the search for
  ``chromium``, ``chromium-browser``, ``google-chrome``, ``google-chrome-stable``); no browser is
  ever downloaded (``tasks.py test`` installs Debian's ``chromium`` package when it can);
* the Python package ``playwright`` (in ``requirements-test.txt``), which drives that browser
  through ``executable_path``.

Fixtures for every browser test
-------------------------------
``site_root`` (session)
    ``Path`` of the built HTML folder.
``site_url`` (session)
    Base URL, ending in ``/``, of a threaded ``http.server`` serving ``site_root`` on 127.0.0.1 (a
    free port), so pages load as from any static host: relative URLs, lazily fetched files.
``built_pages`` / ``chapter_pages`` (session)
    Every book page as a path relative to the site root (``"chapters/ch02_.../2_2_1_hmm.html"``),
    sorted; ``chapter_pages`` keeps those under ``chapters/``. Sphinx's ``search.html`` and
    ``genindex.html``, hidden and ``_`` folders and the JupyterLite site under ``lite/`` are not
    book pages. The same lists parametrize tests that ask for the
    argument ``book_page`` or ``chapter_page`` (one test per page).
``browser`` (session)
    A headless Playwright ``Browser`` running the system Chromium.
``open_page`` (function)
    ``open_page(path, color_scheme="light", block_network=True, wait_ms=300)`` opens a page of the
    site in a fresh browser context and returns the Playwright ``Page``, loaded. ``color_scheme``
    is "light" or "dark": it sets the browser's ``prefers-color-scheme`` and the theme's stored
    mode, so the theme paints that mode from the first frame. With ``block_network`` every request
    that is not to 127.0.0.1 (or a ``data:``/``blob:`` URL) is refused, as for a reader offline.
    The page carries what went wrong while it was open:

    - ``page.js_errors``: uncaught exceptions and ``console.error`` messages (not counting the
      load failures of refused requests, listed apart);
    - ``page.refused``: URLs of refused (non-local) requests;
    - ``page.failed``: local requests that failed, or came back 4xx/5xx, as "URL (reason)";
    - ``page.pending``: the requests made and not yet finished or failed (a set, kept up to date).

    Contexts are closed at the end of the test.
``open_context`` (session)
    The same opener for a visit that outlives one test (``test_pages.py`` keeps one visit's report
    per page): it returns ``(context, page)`` and the caller closes the context. Every test of
    ``test_pages.py`` for one page is kept on one xdist worker (``--dist loadgroup`` and
    :func:`pytest_xdist_make_scheduler`), so that page is opened once.

"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Sphinx's own pages, not book pages.
NOT_BOOK_PAGES = {"search.html", "genindex.html", "py-modindex.html"}
#: Folders of the site that hold applications, not book pages (the JupyterLite site).
NOT_BOOK_FOLDERS = ("lite/",)
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def pytest_addoption(parser):
    parser.addoption("--site", default=None, help="built HTML folder of the book (default: $PEDAGOGY_SITE, "
                     "else _build/html)")


def _site_root(config) -> Path:
    value = config.getoption("--site") or os.environ.get("PEDAGOGY_SITE") or str(ROOT / "_build" / "html")
    return Path(value).resolve()


def _site_missing(config) -> str | None:
    root = _site_root(config)
    if not (root / "index.html").is_file():
        return f"no built book at {root} (build it, then set PEDAGOGY_SITE or pass --site)"
    return None


def book_pages(root: Path) -> list[str]:
    """Every book page under ``root``, relative and sorted."""
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(("_", ".")) for part in rel.split("/")) or rel in NOT_BOOK_PAGES \
                or rel.startswith(NOT_BOOK_FOLDERS):
            continue
        pages.append(rel)
    return pages


def find_chromium() -> str | None:
    """Path of a system Chromium or Chrome, or None."""
    override = os.environ.get("CHROMIUM")
    if override:
        return shutil.which(override) or (override if Path(override).is_file() else None)
    for name in _BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadgroup``, every test of ``test_pages.py`` for one page goes to one worker:
    they share one visit of the page; so do the tests of ``test_focus_contrast.py``, which share its
    few pages. (xdist's own grouping marks a group by editing the test's node id, which pytest 9 no
    longer reads, so the groups are formed here from the test's id.)"""
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByPage(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            found = _PAGE_TEST.match(nodeid)
            if found:
                return "page:" + found.group(1)
            return "module:" + nodeid.split("::")[0] if nodeid.split("::")[0].endswith(_SHARED_MODULES) else nodeid

    return ByPage(config, log)


_PAGE_TEST = re.compile(r".*test_pages\.py::test_\w+\[(.+)\]$")
#: Modules whose tests share pages among them, and so run on one worker.
_SHARED_MODULES = ("test_focus_contrast.py",)


def pytest_generate_tests(metafunc):
    for argument, chapters_only in (("book_page", False), ("chapter_page", True)):
        if argument not in metafunc.fixturenames:
            continue
        reason = _site_missing(metafunc.config)
        if reason:
            metafunc.parametrize(argument, [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-site")])
            continue
        pages = book_pages(_site_root(metafunc.config))
        if chapters_only:
            pages = [p for p in pages if p.startswith("chapters/")]
        metafunc.parametrize(argument, pages, ids=[p.removesuffix(".html") for p in pages])


@pytest.fixture(scope="session")
def site_root(pytestconfig) -> Path:
    reason = _site_missing(pytestconfig)
    if reason:
        pytest.skip(reason)
    return _site_root(pytestconfig)


@pytest.fixture(scope="session")
def built_pages(site_root) -> list[str]:
    return book_pages(site_root)


@pytest.fixture(scope="session")
def chapter_pages(built_pages) -> list[str]:
    return [p for p in built_pages if p.startswith("chapters/")]


def _printer():
    """``tools/print_book_pdf.py`` of this checkout (``python3 tasks.py pdf``), loaded as a module."""
    import importlib.util
    import sys

    if "print_book_pdf" not in sys.modules:
        spec = importlib.util.spec_from_file_location("print_book_pdf", ROOT / "tools" / "print_book_pdf.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["print_book_pdf"] = module
        spec.loader.exec_module(module)
    return sys.modules["print_book_pdf"]


def serve(root: Path):
    """Serve ``root`` on 127.0.0.1 at a free port; yields the base URL ending in '/' (the server of
    ``python3 tasks.py pdf``: ``serve_site`` of ``tools/print_book_pdf.py``)."""
    return _printer().serve_site(root)


@pytest.fixture(scope="session")
def site_url(site_root):
    with serve(site_root) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.skip("no system Chromium or Chrome (looked for " + ", ".join(_BROWSERS) +
                    "; on Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the Python package playwright is not installed (pip install -r requirements-test.txt)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


#: Any URL that :func:`_is_local` refuses (the same prefixes, negated).
_NOT_LOCAL = re.compile(r"^(?!http://127\.0\.0\.1:|data:|blob:|about:)")


def _is_local(url: str) -> bool:
    return url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:"))


@pytest.fixture(scope="session")
def open_context(browser, site_url):
    """``open_context(path, ...)`` -> ``(context, page)``: like ``open_page``, but the caller closes the context."""

    def opener(path: str, color_scheme: str = "light", block_network: bool = True, wait_ms: int = 300):
        if color_scheme not in ("light", "dark"):
            raise ValueError(f"color_scheme must be 'light' or 'dark'; got {color_scheme!r}")
        context = browser.new_context(color_scheme=color_scheme, viewport={"width": 1280, "height": 900})
        context.add_init_script(f"try {{ localStorage.setItem('mode', '{color_scheme}'); "
                                f"localStorage.setItem('theme', '{color_scheme}'); }} catch (e) {{}}")
        refused, failed, errors = [], [], []
        if block_network:
            def route(r):
                refused.append(r.request.url)
                r.abort()
            # Only what is not local is routed (a regular expression the browser's driver matches
            # itself), so the page's own files never wait for a round trip through Python.
            context.route(_NOT_LOCAL, route)
        page = context.new_page()

        def on_console(msg):
            if msg.type != "error":
                return
            where = (msg.location or {}).get("url", "")
            if msg.text.startswith("Failed to load resource") and (where in refused or not _is_local(where)):
                return                                            # a refused request: listed in page.refused
            errors.append(f"console.error: {msg.text} ({where})")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
        page.on("requestfailed", lambda req: _is_local(req.url) and failed.append(f"{req.url} ({req.failure})"))
        page.on("response", lambda resp: resp.status >= 400 and failed.append(f"{resp.url} (HTTP {resp.status})"))
        pending = set()
        page.on("request", lambda req: pending.add(req))
        page.on("requestfinished", lambda req: pending.discard(req))
        page.on("requestfailed", lambda req: pending.discard(req))
        page.js_errors, page.refused, page.failed, page.pending = errors, refused, failed, pending
        page.color_scheme = color_scheme                           # what set_mode of test_pages.py switches
        try:
            # a loaded machine was seen to take more than Playwright's 30 s to load a long page
            page.goto(site_url + path, wait_until="load", timeout=120_000)
            if wait_ms:
                page.wait_for_timeout(wait_ms)
        except Exception:
            context.close()
            raise
        return context, page

    return opener


@pytest.fixture
def open_page(open_context):
    contexts = []

    def opener(*args, **kwargs):
        context, page = open_context(*args, **kwargs)
        contexts.append(context)
        return page

    yield opener
    for context in contexts:
        context.close()
