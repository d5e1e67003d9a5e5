"""The book as one PDF: ``python3 tasks.py pdf [--html DIR] [--out FILE]``.

``tasks.py`` dispatches the command here (:func:`main`). Without ``--html``, the book in
``_build/html`` is built first, as ``python3 tasks.py book`` does, when it is missing or older than
its sources (:data:`BOOK_SOURCES`); ``--html DIR`` prints an existing build as it is. Every page of
``_toc.yml`` is then printed, in its order, by the system Chromium driven by Playwright (a test
requirement; no browser is ever downloaded), with the print section of
``_static/accessible-site.css``: no sidebars, header buttons, search or figure controls, the static
image of each interactive figure and the first frame of each animation, and no solutions, so that
the PDF can be handed out as a book of exercises. pypdf joins the pages into FILE (default
``_build/pdf/book.pdf``) with one bookmark per part and per page, named by the page's title.

The browser tests use :func:`serve_site` to serve the built book, and ``tests/browser/test_pdf.py``
prints two pages with :func:`print_pages` and joins them with :func:`join_pdf`.
"""
from __future__ import annotations

import contextlib
import re
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"

#: Where ``python3 tasks.py pdf`` writes the book.
PDF_OUT = BUILD / "pdf" / "book.pdf"
#: What the built pages are made from: when one of these changed after the last build, ``pdf``
#: builds the book again first. (``pedagogy_lib`` is not among them: the build takes the executed
#: notebooks from its cache, so a change to the library alone changes no page.)
BOOK_SOURCES = ("_config.yml", "_toc.yml", "pyproject.toml", "book", "chapters", "_ext", "_static", "_templates")
#: Touched when ``pdf`` has built the book, so that a build which rewrote no page counts as fresh.
PDF_BUILD_STAMP = BUILD / ".html-built-for-pdf"
#: Paper and margins of every printed page.
PDF_PAPER = {"format": "A4", "margin": {"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"}}
#: How long one page may take to load its images, fonts and formulas before it is printed (ms).
#: Only a page that never finishes reaches it, and the command then fails naming the page: how
#: long printing took decides nothing else.
PDF_PAGE_LIMIT_MS = 180_000

#: Run in each page before it is printed: every lazy image is fetched now (the static figures and
#: the first frame of each animation are ``loading="lazy"``, fetched when scrolled into view); a
#: link to another page of the site keeps its text but loses its target, which in the PDF would
#: be the local server of the print run (links to other sites stay); then it waits for the fonts,
#: MathJax's typesetting and every image. Returns the images that failed to load.
_PREPARE_FOR_PRINT = """async (limit) => {
  document.querySelectorAll('img[loading="lazy"]').forEach((img) => { img.loading = "eager"; });
  document.querySelectorAll("a[href]").forEach((a) => {
    if (a.href.startsWith(location.origin)) { a.removeAttribute("href"); }
  });
  const ready = (async () => {
    await document.fonts.ready;
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
    await Promise.all(Array.from(document.images).map((img) => img.complete ? null : new Promise((done) => {
      img.addEventListener("load", done, {once: true});
      img.addEventListener("error", done, {once: true});
    })));
  })();
  const late = new Promise((_, fail) => setTimeout(
    () => fail(new Error("images, fonts or formulas still loading after " + limit + " ms")), limit));
  await Promise.race([ready, late]);
  return Array.from(document.images).filter((img) => img.naturalWidth === 0).map((img) => img.currentSrc || img.src);
}"""


def _newest_mtime(paths) -> float:
    newest = 0.0
    for path in paths:
        files = [path] if path.is_file() else (path.rglob("*") if path.is_dir() else [])
        for f in files:
            if f.is_file() and not {"__pycache__", ".ipynb_checkpoints"} & set(f.parts):
                newest = max(newest, f.stat().st_mtime)
    return newest


def site_is_stale(site: Path) -> str:
    """Why the book in ``site`` (``_build/html``) must be built before it is printed; '' if it need not."""
    if not (site / "index.html").is_file():
        return f"there is no built book in {site}"
    pages = [*site.glob("*.html"), *(site / "book").rglob("*.html"), *(site / "chapters").rglob("*.html")]
    built = _newest_mtime([PDF_BUILD_STAMP, *pages])
    changed = [name for name in BOOK_SOURCES if _newest_mtime([ROOT / name]) > built]
    return f"changed since it was built: {', '.join(changed)}" if changed else ""


def toc_entries(toc_file: Path = ROOT / "_toc.yml") -> list[tuple[int, str, str]]:
    """The table of contents in reading order, as ``(depth, kind, value)``.

    ``kind`` is "page" (``value``: the file as written in ``_toc.yml``, without suffix) or "part"
    (``value``: the part's caption). The root page and the parts have depth 0, a part's chapters
    depth 1, their sections depth 2, and so on. Needs PyYAML (it runs in the book's environment).
    """
    import yaml

    toc = yaml.safe_load(toc_file.read_text(encoding="utf-8"))
    entries = [(0, "page", toc["root"])]

    def walk(items, depth):
        for item in items or []:
            if "file" in item:
                entries.append((depth, "page", item["file"]))
            walk(item.get("sections"), depth + 1)

    for part in toc.get("parts") or []:
        entries.append((0, "part", part.get("caption") or "Part"))
        walk(part.get("chapters"), 1)
    walk(toc.get("chapters"), 1)
    return entries


@contextlib.contextmanager
def serve_site(site: Path):
    """Serve ``site`` on 127.0.0.1 at a free port (pages load as from any web server: relative URLs,
    lazily fetched files, the MIME types of WebP images and modules); yields its base URL, ending in
    '/'. The browser tests serve the built book with it too."""
    import functools
    import http.server
    import socketserver

    class Quiet(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".webp": "image/webp",
                          ".js": "text/javascript", ".mjs": "text/javascript", ".woff2": "font/woff2"}

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def print_pages(site: Path, pages: list[str], chromium: str, progress=None, browser=None) -> list[tuple[str, str, bytes]]:
    """Print each of ``pages`` (paths relative to the built site ``site``) to PDF with ``chromium``.

    The site is served on 127.0.0.1 and opened in the system Chromium through Playwright (its
    ``executable_path``; no browser is downloaded), in light mode, with every request to another
    site refused. Each page is printed with the print section of ``_static/accessible-site.css``
    (no sidebars, header buttons, search or figure controls; the static image of each interactive
    figure and the first frame of each animation; solutions omitted). Returns ``(page, title,
    PDF bytes)`` for each page, the title being the page's own (its ``<title>`` without the book's
    name). ``progress(i, n, page)`` is called before each page when given. ``browser``, a Playwright
    ``Browser`` already running (the browser tests' own: one process holds one Playwright), is used
    instead of launching ``chromium``.
    """
    if browser is not None:
        with serve_site(site) as base:
            return _print_with(browser, base, pages, progress)
    from playwright.sync_api import sync_playwright

    with serve_site(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            return _print_with(browser, base, pages, progress)
        finally:
            browser.close()


def _print_with(browser, base: str, pages: list[str], progress) -> list[tuple[str, str, bytes]]:
    """:func:`print_pages` with a running ``browser`` and the site served at ``base``."""
    printed = []
    context = browser.new_context(color_scheme="light", viewport={"width": 1280, "height": 900})
    try:
        context.add_init_script("try { localStorage.setItem('mode', 'light'); "
                                "localStorage.setItem('theme', 'light'); } catch (e) {}")
        context.route(re.compile(r"^(?!http://127\.0\.0\.1:|data:|blob:|about:)"), lambda route: route.abort())
        page = context.new_page()
        page.set_default_timeout(PDF_PAGE_LIMIT_MS)
        for i, rel in enumerate(pages, 1):
            if progress:
                progress(i, len(pages), rel)
            page.goto(base + rel, wait_until="load")
            broken = page.evaluate(_PREPARE_FOR_PRINT, PDF_PAGE_LIMIT_MS)
            if broken:
                raise RuntimeError(f"{rel}: images that did not load: {broken[:5]}")
            title = page.title()
            title = title.rsplit(" \u2014 ", 1)[0].strip() if " \u2014 " in title else title.strip()
            printed.append((rel, title, page.pdf(print_background=True, **PDF_PAPER)))
    finally:
        context.close()
    return printed


def join_pdf(printed: list[tuple[str, str, bytes]], entries: list[tuple[int, str, str]], out: Path,
             metadata: dict | None = None) -> int:
    """Join the pages printed by :func:`print_pages`, in the order given, into ``out``; return its page count.

    The outline (bookmarks) follows ``entries`` (:func:`toc_entries`): one item per page, named by
    its title and nested as in the table of contents, and one per part, at the part's first page.
    Entries whose pages were not printed are left out. ``metadata`` (e.g. ``{"/Title": ...}``) is
    written into the document information.
    """
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    first, titles = {}, {}
    for rel, title, data in printed:
        first[rel], titles[rel] = len(writer.pages), title
        writer.append(PdfReader(io.BytesIO(data)), import_outline=False)
    parents: dict[int, object] = {}
    for k, (depth, kind, value) in enumerate(entries):
        if kind == "page":
            rel = f"{value}.html"
            if rel not in first:
                continue
            title, number = titles[rel], first[rel]
        else:
            following = [f"{v}.html" for d, kd, v in entries[k + 1:] if kd == "page" and f"{v}.html" in first]
            if not following:
                continue
            title, number = value, first[following[0]]
        parent = next((parents[d] for d in range(depth - 1, -1, -1) if d in parents), None)
        for d in [d for d in parents if d >= depth]:
            del parents[d]
        parents[depth] = writer.add_outline_item(title=title, page_number=number, parent=parent)
    if metadata:
        writer.add_metadata(metadata)
    writer.page_mode = "/UseOutlines"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        writer.write(f)
    return len(writer.pages)


def write_book_pdf(site: Path, out: Path, chromium: str) -> None:
    """Print every page of the table of contents of the book built in ``site`` and join them into ``out``."""
    import tomllib

    import yaml

    entries = toc_entries()
    pages = [f"{value}.html" for _, kind, value in entries if kind == "page"]
    missing = [p for p in pages if not (site / p).is_file()]
    if missing:
        sys.exit(f"{site} lacks pages of the table of contents: {missing[:5]} (build the book again)")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    title = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["title"]
    printed = print_pages(site, pages, chromium,
                          progress=lambda i, n, rel: print(f"[tasks] printing {i}/{n}: {rel}", flush=True))
    count = join_pdf(printed, entries, out, {
        "/Title": title, "/Author": "The contributors to the companion",
        "/Subject": f"Version {version}. Code under the MIT licence; text and figures under CC BY 4.0."})
    print(f"[tasks] {out}: {count} PDF pages from {len(printed)} pages of the book, "
          f"{out.stat().st_size / 1e6:.1f} MB", flush=True)


def main(argv: list[str], tasks) -> int:
    """``python3 tasks.py pdf [--html DIR] [--out FILE]`` (``argv``: the options): the whole book as one PDF.

    Runs with the Python that runs ``tasks.py``; ``tasks`` is that module, whose environment helpers
    this uses: it creates or reuses the test environment (Playwright and pypdf), finds the system
    Chromium, builds the book when it is stale, and then prints it in that environment with
    :func:`write_book_pdf`.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python3 tasks.py pdf", description="The whole book as one PDF.")
    parser.add_argument("--html", type=Path, help="an existing build of the book to print (not rebuilt)")
    parser.add_argument("--out", type=Path, default=PDF_OUT, help=f"the PDF to write (default {PDF_OUT})")
    args = parser.parse_args(argv)
    tasks.ensure_env("requirements-test.txt")
    chromium, why = tasks.find_or_install_chromium()
    if chromium is None:
        sys.exit(f"the PDF is printed by a system Chromium or Chrome: {why}")
    env = tasks.child_env()
    if args.html is None:
        site = BUILD / "html"
        stale = site_is_stale(site)
        if stale:
            tasks.say(f"building the book first ({stale})")
            rc = tasks.build_book(env)
            if rc != 0:
                return rc
            PDF_BUILD_STAMP.touch()
    else:
        site = args.html.resolve()
        if not (site / "index.html").is_file():
            sys.exit(f"--html {args.html}: no built book there (no index.html)")
    code = (f"import pathlib, sys; sys.path.insert(0, {str(ROOT / 'tools')!r}); import print_book_pdf; "
            f"print_book_pdf.write_book_pdf(pathlib.Path({str(site)!r}), "
            f"pathlib.Path({str(args.out.resolve())!r}), {chromium!r})")
    return tasks.run([tasks.PY, "-c", code], env=env)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    import tasks as _tasks

    sys.exit(main(sys.argv[1:], _tasks))
