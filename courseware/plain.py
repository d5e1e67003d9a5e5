"""MyST as plain Markdown: a chapter notebook as it reads outside the book.

Plain Jupyter, Colab and JupyterLite render Markdown but not MyST, so a notebook opened there shows
``:::{exercise}``, ``{cite}`key``` and ``{doc}`page``` as raw text, and a relative link to a book page
that is not a notebook (``../../book/grading_rules.md``) leads to a file the edition does not have.
:class:`Page` rewrites a notebook's Markdown for such readers:

- exercises as a bold "Exercise (label)" paragraph and their statement (:func:`student_markdown`, which
  drops solutions; :func:`instructor_markdown` shows them as a quoted "Solution" block instead);
- other directives as block quotes, equations as ``$$`` blocks, code directives as fenced code;
- citations as "(Author year)", from ``book/references.bib``;
- ``{doc}`` links to a notebook as a relative link to that notebook, and links to other book pages
  as links to the published site (:func:`site_url`, from ``repository.url`` of ``_config.yml``), with
  the fragment the published page gives the heading;
- the book's TeX macros written out in its formulas (:func:`expand_macros`);
- MyST-NB's glue roles (``{glue:text}`name```, a number a hidden cell computed) as the glued value,
  taken from the executed notebook's outputs (``glued``); a role whose name has no value is an error,
  never the bare name.

The editions (``courseware/editions.py``) and the JupyterLite copies (``lite/lite_build.py``) both use
:func:`plain_notebook`.
"""
from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: An ``{exercise}`` directive, and a ``{solution}`` directive with its label.
EXERCISE_RE = re.compile(r"^(?P<fence>:{3,})\{exercise\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*\n?", re.M | re.S)
SOLUTION_RE = re.compile(r"^(?P<fence>:{3,})\{solution\}[ \t]*(?P<label>\S+)[ \t]*\n(?P<body>.*?)^(?P=fence)[ \t]*\n?",
                         re.M | re.S)


def statement_text(body: str) -> str:
    """An exercise directive's body without its option lines (``:label: ...``)."""
    return "\n".join(ln for ln in body.splitlines() if not re.match(r"^:\w+:", ln))


def _plain_exercise(m: re.Match) -> str:
    body = m.group("body")
    label = re.search(r"^:label:\s*(\S+)", body, re.M)
    head = f"**Exercise ({label.group(1)})**" if label else "**Exercise**"
    return f"{head}\n\n{statement_text(body).strip()}\n\n"


def student_markdown(text: str) -> str:
    """A markdown cell with every ``{solution}`` directive removed, whatever its label, and each
    ``{exercise}`` directive as plain Markdown: a bold line ``**Exercise (label)**`` and the statement
    under it. The rest of the text is left as it is."""
    out = EXERCISE_RE.sub(_plain_exercise, SOLUTION_RE.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", out).strip("\n")


def instructor_markdown(text: str) -> str:
    """Like :func:`student_markdown`, but each ``{solution}`` directive stays, as a quoted block headed
    "Solution (label)"."""
    def quoted(m: re.Match) -> str:
        lines = [f"**Solution ({m.group('label')}).**", ""] + m.group("body").strip("\n").splitlines()
        return "\n".join(f"> {ln}" if ln.strip() else ">" for ln in lines) + "\n\n"

    out = EXERCISE_RE.sub(_plain_exercise, SOLUTION_RE.sub(quoted, text))
    return re.sub(r"\n{3,}", "\n\n", out).strip("\n")


_DIRECTIVE_RE = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<name>[A-Za-z][\w:-]*)\}[ \t]*(?P<arg>[^\n]*)\n"
                           r"(?P<body>.*?)^(?P=fence)[ \t]*(?:\n|\Z)", re.M | re.S)
_ROLE_RE = re.compile(r"(?<![\w\\}])\{(?P<name>[a-z][\w:-]*)\}`(?P<content>[^`]+)`")
_EXPLICIT_RE = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>\s*$", re.S)
_OPTION_RE = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
#: Titles of the admonitions MyST knows, when the directive gives none.
_ADMONITION_TITLES = {"seealso": "See also", "admonition": "Note"}


#: MyST-NB's roles that paste a value glued by a code cell (``myst_nb.glue``).
GLUE_ROLES = ("glue", "glue:", "glue:any", "glue:text", "glue:md")


def glue_key(content: str) -> tuple[str, str]:
    """A glue role's content ``name`` or ``name:format`` as (``name``, ``format``). A value glued on
    another page (``page::name``) is refused: the editions have only this notebook's outputs."""
    if "::" in content:
        raise ValueError(f"{{glue}}`{content}` pastes a value glued on another page; the editions can "
                         "only paste values glued by the notebook itself")
    key, _, fmt = content.partition(":")
    return key.strip(), fmt.strip()


def glue_keys(text: str) -> set[str]:
    """The names that the glue roles of the Markdown ``text`` paste."""
    return {glue_key(m.group("content"))[0] for m in _ROLE_RE.finditer(text) if m.group("name").startswith("glue")}


def glued_text(plain: str, fmt: str = "") -> str:
    """A glued ``text/plain`` value as ``{glue:text}`name:fmt``` shows it: the Python literal's value
    (a glued string without its quotes), formatted by ``fmt`` when one is given."""
    try:
        value = ast.literal_eval(plain)
    except (SyntaxError, ValueError):
        value = plain
    if not fmt:
        return str(value)
    kind = fmt[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return format(value, fmt)


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
        text = "\n".join(cell_source(c) for c in cells if c.get("cell_type") == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    return next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), path.stem)


def cell_source(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def set_source(cell: dict, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


#: A Markdown link ``[text](target)`` whose target has no scheme: JupyterLab opens such a target as a
#: file of the lite site, so one that names a page of the book (not a notebook) leads nowhere there.
_RELATIVE_LINK_RE = re.compile(r"\[(?P<text>[^\]]*)\]\((?P<target>(?![a-z][\w+.-]*:|#|/)[^)\s]+)\)")


def site_url(root: Path) -> str:
    """The address where the book is published, ending in ``/``: derived from ``repository.url`` of
    ``_config.yml`` (``_ext/site_address.py``, the one place that rule is written); "" for a folder without
    ``_config.yml`` (no published address: links to its pages become their text)."""
    if not (Path(root) / "_config.yml").exists():
        return ""
    return _site_address().site_url(Path(root))


def _site_address():
    ext = str(ROOT / "_ext")
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
    """For :class:`Page`: a book page -> its fragment-to-id map, from its MyST source."""
    cache: dict[Path, dict[str, str]] = {}

    def anchors(page: Path) -> dict[str, str]:
        if page not in cache:
            cache[page] = heading_ids(page_source(page, root))
        return cache[page]
    return anchors


def html_anchors(root: Path, html_dir: Path):
    """For :class:`Page`: a book page -> its fragment-to-id map, from the built HTML page (from its
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


class Page:
    """What the role conversion needs to know about the notebook being converted."""

    def __init__(self, rel: Path, root: Path, refs: dict, labels: set[str], site: str = "", anchors=None,
                 notebooks_beside: bool = True, glued: dict | None = None):
        self.rel, self.root, self.refs, self.labels, self.site = rel, root, refs, labels, site
        #: Glue name -> the glued output's data (MIME type -> value), from the executed notebook.
        self.glued = glued or {}
        self.anchors = anchors or markdown_anchors(root)
        #: Whether the other chapter notebooks sit beside this one, at their paths in ``chapters/`` (the
        #: lite site and the student edition); if not (an nbgrader assignment holds one notebook), a
        #: link to one leads to its published page.
        self.notebooks_beside = notebooks_beside

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
        """A relative link to a book page that is not a notebook beside this one: to the published page
        (the lite copy has only the notebooks), or its text alone when the book has no published address."""
        target, _, anchor = m.group("target").partition("#")
        page = (self.root / self.rel.parent / target).resolve()
        kinds = (".md",) if self.notebooks_beside else (".md", ".ipynb")
        if page.suffix not in kinds or not page.is_file():
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
        if notebook.exists() and not self.notebooks_beside:
            title = text or notebook_title(notebook)
            return f"[{title}]({self.published(notebook)})" if self.site else f"*{title}*"
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

    def glue(self, name: str, content: str) -> str:
        """A glue role as the book shows it: the value the notebook glued under its name. A name with
        no glued value, or a value with no text, raises ``ValueError``."""
        try:
            key, fmt = glue_key(content)
        except ValueError as exc:
            raise ValueError(f"{self.rel}: {exc}") from None
        if name not in GLUE_ROLES:
            raise ValueError(f"{self.rel}: {{{name}}}`{content}` is no glue role MyST-NB knows")
        if key not in self.glued:
            raise ValueError(f"{self.rel}: {{{name}}}`{content}` has no value: no output of the executed "
                             f"notebook glues the name {key!r}")
        data = self.glued[key]
        if name != "glue:text" and "text/markdown" in data:
            return str(data["text/markdown"]).strip()
        if name == "glue:md" or "text/plain" not in data:
            raise ValueError(f"{self.rel}: {{{name}}}`{content}`: the glued value has no "
                             f"{'text/markdown' if name == 'glue:md' else 'text/plain'} form to paste")
        return glued_text(data["text/plain"], fmt) if name == "glue:text" else str(data["text/plain"])

    def role(self, m: re.Match) -> str:
        name, content = m.group("name"), m.group("content")
        if name.startswith("glue"):
            return self.glue(name, content)
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
        if name.startswith("glue"):
            raise ValueError(f"{self.rel}: the {{{name}}} directive pastes a glued output, which plain "
                             "Markdown cannot show; paste text with the {glue:text} role instead")
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
    """The TeX macros the book defines for MathJax (``_config.yml``: sphinx.config.mathjax3_config); none for a
    folder without ``_config.yml``."""
    if not (Path(root) / "_config.yml").exists():
        return {}
    config = _site_address().book_config(Path(root))
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


def plain_notebook(nb: dict, path: Path, root: Path = ROOT, *, solutions: bool = False, refs: dict | None = None,
                   macros: dict | None = None, site: str | None = None, anchors=None,
                   notebooks_beside: bool = True, glued: dict | None = None) -> dict:
    """``nb`` (a copy of the chapter notebook ``path``, already an edition) with every markdown cell as
    plain Markdown (see the module docstring); solutions are kept as quoted blocks when ``solutions``;
    links to other notebooks lead to their published pages unless ``notebooks_beside`` (see
    :class:`Page`); each glue role shows the value ``glued`` (name -> the glued output's data, see
    ``courseware.editions.glued_values``) holds for its name, and a role with none raises ``ValueError``.
    ``nb`` is changed in place and returned."""
    root = Path(root).resolve()
    path = Path(path).resolve()
    refs = read_bibliography(root / "book" / "references.bib") if refs is None else refs
    macros = book_macros(root) if macros is None else macros
    site = site_url(root) if site is None else site
    labels = {label for cell in nb["cells"] if cell.get("cell_type") == "markdown"
              for m in EXERCISE_RE.finditer(cell_source(cell))
              for label in re.findall(r"^:label:\s*(\S+)", m.group("body"), re.M)}
    page = Page(path.relative_to(root), root, refs, labels, site, anchors, notebooks_beside, glued)
    first = instructor_markdown if solutions else student_markdown
    for cell in nb["cells"]:
        if cell.get("cell_type") == "markdown":
            text = page.markdown(first(cell_source(cell))).rstrip("\n")
            set_source(cell, expand_macros(text, macros))
    return nb
