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


def chapter_notebooks(root: Path = ROOT) -> list[Path]:
    """Every chapter notebook, relative to ``root``."""
    return sorted(p.relative_to(root) for p in (root / "chapters").rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


# ------------------------------------------------------------------- the student copy of a notebook
#: The in-browser kernel of the lite site (jupyterlite-pyodide-kernel registers it under this name).
#: A notebook whose kernelspec names another kernel (the chapters say ``python3``) opens a
#: "Select Kernel" dialog first.
PYODIDE_KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
_DIRECTIVE_RE = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<name>[A-Za-z][\w:-]*)\}[ \t]*(?P<arg>[^\n]*)\n"
                           r"(?P<body>.*?)^(?P=fence)[ \t]*(?:\n|\Z)", re.M | re.S)
_ROLE_RE = re.compile(r"(?<![\w\\}])\{(?P<name>[a-z][\w:-]*)\}`(?P<content>[^`]+)`")
_EXPLICIT_RE = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>\s*$", re.S)
_OPTION_RE = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
#: Titles of the admonitions MyST knows, when the directive gives none.
_ADMONITION_TITLES = {"seealso": "See also", "admonition": "Note"}


def _text_and_target(content: str) -> tuple[str, str]:
    """``Title <target>`` -> (``Title``, ``target``); ``target`` -> ("", ``target``)."""
    m = _EXPLICIT_RE.match(content)
    return (m.group("text").strip(), m.group("target").strip()) if m else ("", content.strip())


# --- the bibliography
_LATEX_ACCENTS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303",
                  "=": "\u0304", ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b"}


def latex_to_text(value: str) -> str:
    """A BibTeX field as plain text: ``Hyv{\\"a}rinen`` -> ``Hyvärinen``, braces dropped."""
    import unicodedata

    def accent(m: re.Match) -> str:
        return m.group("letter") + _LATEX_ACCENTS[m.group("accent")]

    out = re.sub(r"\\(?P<accent>[\"'`^~=.]|[cvuH](?![A-Za-z]))\s*\{?(?P<letter>[A-Za-z])\}?", accent, value)
    out = out.replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", " ".join(out.split()))


def _bib_fields(body: str) -> dict[str, str]:
    """The ``name = {value}`` / ``name = "value"`` / ``name = 1999`` fields of one BibTeX entry."""
    fields, i = {}, 0
    while True:
        m = re.compile(r"\s*,?\s*(\w+)\s*=\s*").match(body, i)
        if not m:
            return fields
        i = m.end()
        if i < len(body) and body[i] in "{\"":
            close, depth, j = ("}" if body[i] == "{" else '"'), 0, i
            while j < len(body):
                ch = body[j]
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                if (close == "}" and ch == "}" and depth == 0) or (close == '"' and ch == '"' and j > i and depth == 0):
                    break
                j += 1
            fields[m.group(1).lower()] = body[i + 1: j]
            i = j + 1
        else:
            v = re.compile(r"[^,}\s]*").match(body, i)
            fields[m.group(1).lower()] = v.group(0)
            i = v.end()


def _surname(person: str) -> str:
    person = person.strip()
    return person.split(",")[0].strip() if "," in person else person.split()[-1]


def read_bibliography(path: Path) -> dict[str, tuple[str, str]]:
    """Citation key -> (authors' short form, year) of every entry of the BibTeX file ``path``."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    refs = {}
    for m in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,", text):
        fields = _bib_fields(text[m.end():])
        people = fields.get("author") or fields.get("editor") or ""
        names = [_surname(latex_to_text(p)) for p in re.split(r"\s+and\s+", people) if p.strip()]
        et_al = len(names) > 2 or (len(names) == 2 and names[-1].lower() == "others")
        short = ("" if not names else f"{names[0]} et al." if et_al else " and ".join(names))
        refs[m.group(1)] = (short, latex_to_text(fields.get("year", "")))
    return refs


def cite_text(keys: str, refs: dict, textual: bool = False) -> str:
    """``{cite}`a,b``` as readers see it in print: "(Makin 2025; Bishop 2006)"; textual: "Makin (2025)"."""
    parts = []
    for key in (k.strip() for k in keys.split(",") if k.strip()):
        if key not in refs or not refs[key][0]:
            parts.append(f"[{key}]")
        else:
            who, year = refs[key]
            parts.append(f"{who} ({year})" if textual else f"{who} {year}".strip())
    if textual:
        return ", ".join(parts)
    return "(" + "; ".join(parts) + ")"


# --- the notebooks
def notebook_title(path: Path) -> str:
    """The first level-1 heading of a notebook or Markdown page (the page's title), or its name."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        text = "\n".join(_cell_source(c) for c in cells if c.get("cell_type") == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    return next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), path.stem)


def _cell_source(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _set_source(cell: dict, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


#: A Markdown link ``[text](target)`` whose target has no scheme: JupyterLab opens such a target as a
#: file of the lite site, so one that names a page of the book (not a notebook) leads nowhere there.
_RELATIVE_LINK_RE = re.compile(r"\[(?P<text>[^\]]*)\]\((?P<target>(?![a-z][\w+.-]*:|#|/)[^)\s]+)\)")


def site_url(root: Path) -> str:
    """The address where the book is published, ending in ``/``: derived from ``repository.url`` of
    ``_config.yml`` (``_ext/site_address.py``, the one place that rule is written)."""
    return _site_address().site_url(Path(root))


def _site_address():
    ext = str(HERE.parent / "_ext")
    if ext not in sys.path:
        sys.path.insert(0, ext)
    import site_address

    return site_address


# --- the fragment of a link to a book page: the id that page's HTML gives the heading
_HEADING_RE = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<title>.+?)(?:[ \t]+#+)?[ \t]*$")
_LABEL_RE = re.compile(r"^\((?P<label>[^()\s]+)\)=[ \t]*$")
_FENCE_RE = re.compile(r"^(`{3,}|~{3,}|:{3,})")


def _heading_text(title: str) -> str:
    """A Markdown heading as the text the reader sees: link targets, math dollars, emphasis dropped."""
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)
    return re.sub(r"[`*$]|(?<!\w)_|_(?!\w)", "", title).strip()


def heading_ids(markdown: str) -> dict[str, str]:
    """Fragment -> HTML id for the page whose MyST source is ``markdown``.

    A heading's fragment is its GitHub-style slug (MyST's ``myst_heading_anchors``, the form a
    ``[text](page.md#slug)`` link uses); the id its section gets in the HTML is docutils'
    ``make_id`` of its text (``## 2.2.2 State-space models`` -> ``#222-state-space-models`` in the
    source, ``id="state-space-models"`` on the page). A ``(label)=`` target keeps its name.
    """
    from docutils.nodes import make_id
    from myst_parser.mdit_to_docutils.base import default_slugify

    ids: dict[str, str] = {}
    fence = None
    for line in markdown.splitlines():
        f = _FENCE_RE.match(line)
        if f:
            fence = None if fence and line.startswith(fence) else (fence or f.group(1))
            continue
        if fence:
            continue
        label = _LABEL_RE.match(line)
        if label:
            ids.setdefault(label.group("label"), make_id(label.group("label")) or label.group("label"))
            continue
        m = _HEADING_RE.match(line)
        if m:
            text = _heading_text(m.group("title"))
            slug, n = default_slugify(text), 0
            while (slug if n == 0 else f"{slug}-{n}") in ids:      # MyST numbers a repeated slug
                n += 1
            ids[slug if n == 0 else f"{slug}-{n}"] = make_id(text)
    return ids


def html_heading_ids(page_html: str) -> dict[str, str]:
    """Fragment -> id for a built page: each section's heading slug (as :func:`heading_ids`) maps to
    the section's id; every id of the page maps to itself."""
    from myst_parser.mdit_to_docutils.base import default_slugify
    import html as _html

    ids = {i: i for i in re.findall(r'\bid="([^"]+)"', page_html)}
    for m in re.finditer(r'<section id="(?P<id>[^"]+)"[^>]*>\s*<h[1-6][^>]*>(?P<title>.*?)</h[1-6]>', page_html, re.S):
        title = re.sub(r'<a class="headerlink".*?</a>', "", m.group("title"), flags=re.S)
        text = " ".join(_html.unescape(re.sub(r"<[^>]+>", "", title)).split())
        ids.setdefault(default_slugify(text), m.group("id"))
    return ids


_GENERATED: dict[Path, dict[str, str]] = {}


def page_source(page: Path, root: Path) -> str:
    """The MyST source of the book page ``page`` as the build reads it: the equation index's pages
    hold only a marker line in the repository, and ``_ext/equation_index.py`` fills them in."""
    text = page.read_text(encoding="utf-8")
    ext = str(Path(root) / "_ext")
    if "<!-- equation index" in text and (Path(root) / "_ext" / "equation_index.py").exists():
        if ext not in sys.path:
            sys.path.insert(0, ext)
        import equation_index

        if equation_index.MARKER in text:
            if root not in _GENERATED:
                _GENERATED[root] = equation_index.generate(Path(root))[0]
            docname = page.relative_to(root).with_suffix("").as_posix()
            text = text.replace(equation_index.MARKER, _GENERATED[root].get(docname, ""))
    return text


def markdown_anchors(root: Path):
    """For :class:`_Page`: a book page -> its fragment-to-id map, from its MyST source."""
    cache: dict[Path, dict[str, str]] = {}

    def anchors(page: Path) -> dict[str, str]:
        if page not in cache:
            cache[page] = heading_ids(page_source(page, root))
        return cache[page]
    return anchors


def html_anchors(root: Path, html_dir: Path):
    """For :class:`_Page`: a book page -> its fragment-to-id map, from the built HTML page (from its
    MyST source when the page has not been built)."""
    cache: dict[Path, dict[str, str]] = {}
    fallback = markdown_anchors(root)

    def anchors(page: Path) -> dict[str, str]:
        if page not in cache:
            built = Path(html_dir) / page.relative_to(root).with_suffix(".html")
            cache[page] = (html_heading_ids(built.read_text(encoding="utf-8")) if built.is_file()
                           else fallback(page))
        return cache[page]
    return anchors


class _Page:
    """What the role conversion needs to know about the notebook being converted."""

    def __init__(self, rel: Path, root: Path, refs: dict, labels: set[str], site: str = "", anchors=None):
        self.rel, self.root, self.refs, self.labels, self.site = rel, root, refs, labels, site
        self.anchors = anchors or markdown_anchors(root)

    def fragment(self, page: Path, anchor: str) -> str:
        """``#id`` on the published ``page`` for the source's ``#anchor`` (a heading's slug or a
        label), or ``#anchor`` unchanged when the page has no such heading (the build's check
        :func:`lite_fragment_problems` then fails)."""
        if not anchor:
            return ""
        return "#" + self.anchors(page).get(anchor, anchor)

    def published(self, page: Path, anchor: str = "") -> str:
        """The address of the book page ``page`` (a path under ``root``) on the published site."""
        return self.site + page.relative_to(self.root).with_suffix(".html").as_posix() + anchor

    def link(self, m: re.Match) -> str:
        """A relative link to a book page that is not a notebook: to the published page (the lite copy
        has only the notebooks), or its text alone when the book has no published address."""
        target, _, anchor = m.group("target").partition("#")
        page = (self.root / self.rel.parent / target).resolve()
        if page.suffix != ".md" or not page.is_file():
            return m.group(0)
        if not self.site:
            return m.group("text")
        return f"[{m.group('text')}]({self.published(page, self.fragment(page, anchor))})"

    def doc(self, content: str) -> str:
        """``{doc}``: a link to the lite copy of the notebook it names (in JupyterLite a relative
        link opens that notebook), else the page's title as text (pages that are not notebooks
        have no lite copy)."""
        text, target = _text_and_target(content)
        target = target.removesuffix(".ipynb").removesuffix(".md")
        base = Path(target.lstrip("/")) if target.startswith("/") else self.rel.parent / target
        resolved = (self.root / base).resolve()
        notebook, page = resolved.with_suffix(".ipynb"), resolved.with_suffix(".md")
        if notebook.exists():
            title = text or notebook_title(notebook)
            title = title.replace("[", "\\[").replace("]", "\\]")
            href = ("/".join([".."] * (len(self.rel.parts) - 1)) + "/" + target.lstrip("/")
                    if target.startswith("/") else target)
            return f"[{title}]({href}.ipynb)"
        if page.exists():
            title = text or notebook_title(page)
            return f"[{title}]({self.published(page)})" if self.site else f"*{title}*"
        return f"*{text or target}*"

    def role(self, m: re.Match) -> str:
        name, content = m.group("name"), m.group("content")
        text, target = _text_and_target(content)
        if name.startswith("cite"):
            return cite_text(content, self.refs, textual=name in ("cite:t", "cite:ts", "cite:alt"))
        if name == "doc":
            return self.doc(content)
        if name == "math":
            return f"${content}$"
        if name == "eq":
            return text or f"Eq. ({target})"
        if name in ("ref", "numref", "term", "any"):
            if text:
                return text.replace("%s", target).replace("{number}", target)
            return f"Exercise ({target})" if target in self.labels else target
        if name in ("code", "kbd", "samp", "file", "command"):
            return f"`{content}`"
        if name in ("sub", "subscript"):
            return f"<sub>{content}</sub>"
        if name in ("sup", "superscript"):
            return f"<sup>{content}</sup>"
        return text or target                      # {abbr}, {index} and any other role: its text

    def directive(self, m: re.Match) -> str:
        """A MyST directive (not an exercise: those are already plain Markdown) as plain Markdown."""
        name, arg = m.group("name"), m.group("arg").strip()
        lines = m.group("body").splitlines()
        while lines and _OPTION_RE.match(lines[0]):          # :class:, :label: and other options
            lines.pop(0)
        raw = "\n".join(lines).strip("\n")
        if name == "math":
            return f"$$\n{raw}\n$$\n"
        if name in ("code", "code-block", "code-cell", "sourcecode"):
            return f"```{arg}\n{raw}\n```\n"
        title = arg or _ADMONITION_TITLES.get(name, name.replace("-", " ").capitalize())
        head = f"**{title}**" if title[-1:] in ".:?!" else f"**{title}.**"
        quoted = [head, ""] + self.markdown(raw).splitlines()
        return "\n".join(f"> {ln}" if ln.strip() else ">" for ln in quoted) + "\n\n"   # a blank line ends the quote

    def markdown(self, text: str) -> str:
        text = _DIRECTIVE_RE.sub(self.directive, text)
        return _RELATIVE_LINK_RE.sub(self.link, _ROLE_RE.sub(self.role, text))


def book_macros(root: Path) -> dict[str, str]:
    """The TeX macros the book defines for MathJax (``_config.yml``: sphinx.config.mathjax3_config)."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    tex = ((((config.get("sphinx") or {}).get("config") or {}).get("mathjax3_config") or {}).get("tex") or {})
    return dict(tex.get("macros") or {})


def expand_macros(text: str, macros: dict) -> str:
    """``text`` with every book macro replaced by its definition (``\\N`` -> ``\\mathcal{N}``).

    JupyterLab typesets each markdown cell on its own, in the order the cells are drawn, so a
    macro defined once in a first cell is undefined (drawn red) in any cell typeset before that
    one, which happens when the app is busy or the reader jumps down the notebook. Written out,
    each formula stands alone. A macro that directly follows ``^`` or ``_`` is braced
    (``x^\\T`` -> ``x^{\\mathsf{T}}``); a definition that itself uses a macro is expanded too.
    Macros with arguments cannot be written out this way and raise ``ValueError``.
    """
    if not macros:
        return text
    names = sorted(macros, key=len, reverse=True)
    pattern = re.compile(r"(?P<script>[\^_]\s*)?\\(?P<name>" + "|".join(map(re.escape, names)) + r")(?![A-Za-z])")

    def one_pass(s: str) -> str:
        def replace(m: re.Match) -> str:
            definition = macros[m.group("name")]
            if isinstance(definition, (list, tuple)):
                raise ValueError(f"the book macro \\{m.group('name')} takes arguments; the lite copies can "
                                 f"only write out macros without arguments")
            return m.group("script") + "{" + definition + "}" if m.group("script") else definition
        return pattern.sub(replace, s)

    for _ in range(len(macros) + 1):            # a definition may use other macros
        text, before = one_pass(text), text
        if text == before:
            return text
    raise ValueError("the book's macros refer to each other in a cycle")


def student_notebook(path: Path, root: Path = ROOT, refs: dict | None = None,
                     macros: dict | None = None, site: str | None = None, anchors=None) -> dict:
    """The lite site's copy of the chapter notebook ``path``: what a student can read and run there.

    The student edition of :mod:`courseware.editions` (solutions and the hidden cells that check
    them removed, outputs cleared), whose markdown a plain Jupyter front end can render: exercise
    directives as bold "Exercise (label)" paragraphs, other directives as block quotes, citations
    as "(Author year)", ``{doc}`` links to the lite copy of the notebook named. The book's TeX
    macros are written out (:func:`expand_macros`), and the kernelspec names the Pyodide kernel.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from courseware import editions

    root = Path(root).resolve()
    path = Path(path).resolve()
    refs = read_bibliography(root / "book" / "references.bib") if refs is None else refs
    macros = book_macros(root) if macros is None else macros
    chapter = editions.read_notebook(path, require_meta=False)
    nb = editions.student_edition(chapter)
    site = site_url(root) if site is None else site
    page = _Page(path.relative_to(root), root, refs, {e.label for e in chapter.exercises}, site, anchors)
    for cell in nb["cells"]:
        if cell.get("cell_type") == "markdown":
            text = page.markdown(editions.student_markdown(_cell_source(cell))).rstrip("\n")
            _set_source(cell, expand_macros(text, macros))
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
            for m in _SITE_LINK_RE.finditer(_cell_source(c)) if m.group("href").startswith(site)]


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
