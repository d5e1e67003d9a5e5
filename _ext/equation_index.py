"""The equation index: from each numbered equation of the draft to the code, tests and pages that cite it.

The draft's numbered equations, with their chapters and sections, are listed once in
``book/_data/draft_equations.json`` (made by ``tools/extract_equations.py``). This module finds
every citation of one of them ("Eq. 2.47", "Eqs. 2.47-2.48", "(Eq. 2.47)", "Eqs. 2.13, 2.14 and
2.16", "Eq. (A.7)") in three places and builds the book's index pages from them: an overview,
``book/equation_index.md`` (per chapter, how many equations are cited and by what), and a page
for each chapter or appendix of the draft that has numbered equations
(``book/equation_index/chapter_2.md`` ... ``appendix_b.md``: a table per section, a row per
equation), so a reader on a phone scrolls through one chapter rather than the whole draft.

code
    docstrings of ``pedagogy_lib``'s public functions, classes and their public methods: the
    function implements or uses the equation. A module's own docstring counts for the module
    when no public function of that module cites the same equation. The exercise checkers
    (``pedagogy_lib/exercises``) are not listed: their notebooks are. The page says which kind
    each code link is: a function (it computes the equation; listed first), a class ("(type)":
    parameters or results) or a module's docstring ("(module overview)": it only names it).
tests
    a test function (``test_*``, also as a method of a test class) cites an equation in its
    docstring, in a comment inside it, or in its name (``test_cross_covariance_eq_2_19``,
    ``..._eqs_2_16_2_17_...``, the range ``..._eqs_b_3_to_b_5``).
notebooks
    markdown cells and code comments of the chapter notebooks, attributed to the nearest heading
    above them; the link goes to that heading's anchor (MyST's heading slugs, enabled by
    ``myst_heading_anchors`` in ``_config.yml``). A citation in a notebook's opening is dropped
    when a section of the same notebook cites the equation too.

Claims and mentions. The strict counts (:func:`strict_coverage`) say what the library computes and
what the tests check, so only a citation that claims it counts (:func:`claims`); the others are
listed on the chapter's page marked "(mention)" and left out of the counts. The convention, for
whoever writes a docstring or a test:

- A public function's docstring, or a test's docstring or comment, claims the equations it cites
  one by one: "The Kalman gain (Eq. 2.47)", "Checks Eqs. 2.45, 2.46 and 2.47".
- A citation is a mention when a context word comes before it in its clause (the text since the
  last full stop, semicolon, colon, blank line or comment line): "see", "cf.", "as in", "like", "via",
  "after", "before", "following", "used by/in", "validates", "instead of", "same as"
  (:data:`CONTEXT_WORDS`), or when "from" comes just before it ("Eq. 2.47 from Eq. 2.27"). Write
  "(see Eq. 2.11)" for the model whose parameters a function takes, "the box after Eq. 8.26" for a
  place in the draft.
- A range in a docstring or a test's comment ("Eqs. 2.12-2.27") mentions its two ends and nothing
  between: code that computes, or a test that checks, several equations lists each of them. A
  range in a test's name (``..._eqs_b_3_to_b_5``) is a deliberate claim on every equation in it.
- A validator (``check_*``, ``validate_*``), a property, a class ("(type)") and a module's
  docstring ("(module overview)") never count as computing, whatever their words.

A range in a notebook section stands for every equation between its ends in the draft's order.
"Eq. 6.8" stands for 6.8a and 6.8b. An equation listed in the first column of the errata page is marked as corrected.

As a Sphinx extension (``_config.yml``, ``sphinx.local_extensions``), it replaces the marker
comment of each index page (the overview and the committed chapter pages, which hold nothing
else) by that page's generated markdown each time the page is read, and has those pages re-read
on every build, so the index always matches the checkout. A citation of an equation the draft
does not have is a build warning (an error in the strict build) naming the file and the
citation; so is a chapter with equations but no page, or a page that is no chapter's. Links to
code and tests go to the repository (``repository.url`` and ``branch`` in ``_config.yml``) with
the line of the ``def``; links to notebooks are relative. A notebook links to the rows of its
section as ``../../book/equation_index/chapter_2.md#<heading>`` (:func:`index_target`).
``python3 _ext/equation_index.py`` prints the generated markdown of every page.
"""
from __future__ import annotations

import ast
import io
import json
import os
import re
import tokenize
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("book") / "_data" / "draft_equations.json"
PAGE = Path("book") / "equation_index.md"
PAGE_DOCNAME = "book/equation_index"
#: The index's pages, one per chapter of the draft (``chapter_2.md``, ``appendix_b.md``), each
#: holding only the marker line below, which the generated page replaces.
FOLDER = Path("book") / "equation_index"
ERRATA = Path("book") / "errata.md"
MARKER = "<!-- equation index: generated by _ext/equation_index.py -->"
#: The tests of this module: they cite equations as examples for the parser and check none of them.
SELF_TEST = "tests/project/test_equation_index.py"

# ---------------------------------------------------------------------------------------------
# Citations in text
# ---------------------------------------------------------------------------------------------
#: An equation label: 2.47, 6.8a, A.7, B.15 (not 2.1.1, a section, nor 2.475).
LABEL = r"(?:[1-9][0-9]?|[A-C])\.[0-9]{1,2}[a-z]?(?![0-9a-z]|\.[0-9])"
_DASH = r"(?:\s*(?:--|[-–—])\s*|\s+to\s+)"
_ITEM = rf"\(?{LABEL}\)?(?:{_DASH}\(?{LABEL}\)?)?"
_SEP = r"(?:\s*(?:,\s*and\b|,\s*or\b|,|/|=|&|\band\b|\bor\b|\bvs\b\.?)\s*)"
#: "Eq. 2.47", "Eqs. 2.47-2.48", "Eq. (2.47)", "Eqs. 2.31/2.32 vs 2.21/2.22", "eq 2.1".
CITATION = re.compile(rf"\b[Ee][Qq]s?\.?\s*(?:{_ITEM})(?:{_SEP}{_ITEM})*")
_PART = re.compile(rf"({LABEL})\)?(?:{_DASH}\(?({LABEL}))?")
def find_citations(text: str) -> list[tuple[int, str, list[tuple[str, str | None]]]]:
    """Every citation in ``text``: (offset, text as written, [(first, last or None), ...])."""
    found = []
    for m in CITATION.finditer(text):
        items = [(p.group(1), p.group(2)) for p in _PART.finditer(m.group(0))]
        found.append((m.start(), " ".join(m.group(0).split()), items))
    return found


def name_markers(name: str) -> list[tuple[str, str | None]]:
    """Equations written into a test's name, as (first, last or None): ``..._eq_2_19_...``,
    ``..._eqs_2_16_2_17_...``, ``..._eqs_4_1_and_4_2``, and the range ``..._eqs_b_3_to_b_5``
    (``("B.3", "B.5")``, which stands for each equation from B.3 to B.5: a name is a short, deliberate
    list of what the test checks, unlike a range in running text, see :func:`_cite`)."""
    words = name.split("_")
    items: list[tuple[str, str | None]] = []

    def label_at(rest: list[str]) -> str | None:
        if (len(rest) >= 2 and re.fullmatch(r"[0-9]+|[a-c]", rest[0])
                and re.fullmatch(r"[0-9]+[a-z]?", rest[1])):
            return f"{rest[0].upper()}.{rest[1]}"
        return None

    for k, word in enumerate(words):
        if word not in ("eq", "eqs"):
            continue
        rest = words[k + 1:]
        while rest:
            if rest[0] == "and":
                rest = rest[1:]
            elif rest[0] == "to" and items and items[-1][1] is None and label_at(rest[1:]):
                items[-1] = (items[-1][0], label_at(rest[1:]))
                rest = rest[3:]
            elif label_at(rest):
                items.append((label_at(rest), None))
                rest = rest[2:]
            else:
                break
    return items


class Draft:
    """The draft's numbered equations, in order, with their chapters and sections."""

    def __init__(self, data: dict):
        self.data = data
        self.equations = data["equations"]
        self.labels = [e["label"] for e in self.equations]
        self.position = {label: i for i, label in enumerate(self.labels)}
        self.by_label = {e["label"]: e for e in self.equations}
        self.families: dict[str, list[str]] = {}
        for label in self.labels:
            if label[-1].isalpha():
                self.families.setdefault(label[:-1], []).append(label)
        self.chapters = data["chapters"]
        self.sections = {s["number"]: s for c in self.chapters for s in c["sections"]}

    @classmethod
    def load(cls, root: Path = ROOT) -> "Draft":
        return cls(json.loads((root / DATA).read_text(encoding="utf-8")))

    def _resolve(self, label: str) -> list[str]:
        if label in self.position:
            return [label]
        if label in self.families:
            return self.families[label]
        raise ValueError(f"the draft has no equation {label}")

    def expand(self, first: str, last: str | None = None) -> list[str]:
        """The labels a citation stands for; ``ValueError`` if the draft has no such equation."""
        start = self._resolve(first)
        if last is None:
            return start
        end = self._resolve(last)
        i, j = self.position[start[0]], self.position[end[-1]]
        if first.split(".")[0] != last.split(".")[0] or j < i:
            raise ValueError(f"{first}-{last} is not a range of equations of one chapter")
        return self.labels[i:j + 1]

    def endpoints(self, first: str, last: str | None = None) -> list[str]:
        """The labels a citation attaches a function or a test to: a single equation as
        :meth:`expand` gives it, a range only its two ends (checked as :meth:`expand` checks it),
        so "Eqs. 2.12-2.27" does not claim the fourteen equations between them."""
        if last is None:
            return self.expand(first)
        self.expand(first, last)
        return list(dict.fromkeys(self._resolve(first) + self._resolve(last)))


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """Where a citation sits: a function, a test, or a notebook section."""
    kind: str              # "code", "test" or "notebook"
    name: str              # link text
    path: str              # relative to the repository root, with forward slashes
    line: int | None = None        # code and tests: the line of the def (repository link)
    anchor: str | None = None      # notebooks: the heading's slug (None: the top of the page)
    group: str = ""                # module or notebook (a module/opening citation yields to a specific one)
    opening: bool = False          # module docstring or a notebook's opening
    role: str = ""                 # code: "function" (computes it), "class" (a type: parameters,
                                   # results) or "module" (its docstring only names it)


@dataclass
class Citation:
    source: Source
    text: str
    labels: list[str] = field(default_factory=list)
    error: str | None = None
    #: Whether the citation claims that its function computes, or its test checks, the equations
    #: (:func:`claims`); a citation that does not is a mention, listed on the page but not counted.
    strict: bool = True


#: Words that make a citation a mention: they point at an equation from elsewhere ("see Eq. 2.47",
#: "as in Eq. 2.33", "the box after Eq. 8.26", "cf. Eq. 6.6") rather than say that the function or
#: the test at hand is about it. Searched in the citation's clause (:func:`claims`).
CONTEXT_WORDS = re.compile(r"\b(?:see|cf\.?|as\s+in|as\s+the\s+draft|like|unlike|via|compare[sd]?|"
                           r"after|before|following|used\s+(?:by|in)|validates?|instead\s+of|"
                           r"in\s+place\s+of|same\s+as)\b", re.I)
#: "Eq. 2.47 from Eq. 2.27": the equation just after "from" is the one the other is derived from.
_FROM = re.compile(r"\bfrom\s*\(?\s*$", re.I)
#: Where a clause starts: a sentence's end, a semicolon or colon, a blank line, or a new comment line.
#: (The full stop of "cf.", "e.g.", "i.e.", "Eq." or "Sec." ends no clause.)
_CLAUSE_END = re.compile(r"(?<![Cc]f)(?<!\be\.g)(?<!\bi\.e)(?<![Ee]q)(?<![Ee]qs)(?<!Sec)(?<!Fig)[.;:!?](?=\s)"
                         r"|\n\s*\n|\n\s*#")


def claims(text: str, offset: int, items: list[tuple[str, str | None]]) -> bool:
    """Whether the citation at ``offset`` of a docstring or a test's comments claims the function
    computes, or the test checks, what it names: it names single equations, not a range ("Eqs.
    2.12-2.27": list each one that is computed), and no context word (:data:`CONTEXT_WORDS`)
    precedes it in its clause, nor "from" just before it."""
    if any(last is not None for _, last in items):
        return False
    before = text[:offset]
    starts = [m.end() for m in _CLAUSE_END.finditer(before)]
    clause = before[starts[-1] if starts else 0:]
    return not (CONTEXT_WORDS.search(clause) or _FROM.search(clause))


def _cite(draft: Draft, source: Source, text: str) -> list[Citation]:
    """The citations in ``text`` from ``source``. A range in the text of a function, a class, a
    module or a test attaches it to the range's two ends only (:meth:`Draft.endpoints`): code that
    computes, or a test that checks, each equation of a range lists them ("Eqs. 2.45, 2.46 and
    2.47"). A notebook section's range still stands for every equation in it: a page derives the
    steps between the ends."""
    out = []
    spread = draft.expand if source.kind == "notebook" else draft.endpoints
    for offset, raw, items in find_citations(text):
        c = Citation(source, raw)
        if source.kind != "notebook":
            c.strict = source.role not in MENTION_ROLES and claims(text, offset, items)
        try:
            for first, last in items:
                for label in spread(first, last):
                    if label not in c.labels:
                        c.labels.append(label)
        except ValueError as e:
            c.error = str(e)
        out.append(c)
    return out


def _comments(source: str) -> list[tuple[int, str]]:
    """(line, text) of each comment in Python source; lines starting with # if it does not tokenize."""
    try:
        return [(t.start[0], t.string) for t in tokenize.generate_tokens(io.StringIO(source).readline)
                if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [(i, line) for i, line in enumerate(source.splitlines(), 1) if line.lstrip().startswith("#")]


#: Code that cites an equation without computing it: a validator (``check_*``, ``validate_*``) names
#: the equation whose parameters it checks, a property reads a field of a result.
MENTION_ROLES = {"class", "module", "validator", "property"}


def code_role(node) -> str:
    """What a public definition of the library is for the index: "class", "validator" (named
    ``check_*`` or ``validate_*``), "property" (decorated ``@property`` or ``@cached_property``)
    or "function"; only a "function" computes the equations its docstring claims."""
    if isinstance(node, ast.ClassDef):
        return "class"
    if node.name.startswith(("check_", "validate_")):
        return "validator"
    for d in node.decorator_list:
        name = d.attr if isinstance(d, ast.Attribute) else getattr(d, "id", "")
        if name in ("property", "cached_property"):
            return "property"
    return "function"


def library_citations(root: Path, draft: Draft) -> list[Citation]:
    out = []
    package = root / "pedagogy_lib"
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(root)
        if "exercises" in rel.parts or any(p.startswith("_") and p != "__init__.py" for p in rel.parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parts = list(rel.with_suffix("").parts[1:])
        if parts[-1] == "__init__":
            parts = parts[:-1]
        module = ".".join(parts) or "pedagogy_lib"
        group = rel.as_posix()
        doc = ast.get_docstring(tree)
        if doc:
            out += _cite(draft, Source("code", module, rel.as_posix(), 1, group=group,
                                       opening=True, role="module"), doc)
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or node.name.startswith("_"):
                continue
            members = [(node.name, node)]
            if isinstance(node, ast.ClassDef):
                members += [(f"{node.name}.{m.name}", m) for m in node.body
                            if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and not m.name.startswith("_")]
            for name, member in members:
                doc = ast.get_docstring(member)
                if doc:
                    role = code_role(member)
                    out += _cite(draft, Source("code", f"{module}.{name}", rel.as_posix(), member.lineno,
                                               group=group, role=role), doc)
    return out


def test_citations(root: Path, draft: Draft, folder: str = "tests") -> list[Citation]:
    out = []
    for path in sorted((root / folder).rglob("test_*.py")):
        rel = path.relative_to(root)
        if "fixtures" in rel.parts[1:] and folder == "tests":
            continue
        if rel.as_posix() == SELF_TEST:          # its citations are examples for the parser, not checks
            continue
        text = path.read_text(encoding="utf-8")
        comments = _comments(text)
        tree = ast.parse(text)
        tests = []
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                tests.append((node.name, node))
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                tests += [(f"{node.name}.{m.name}", m) for m in node.body
                          if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name.startswith("test")]
        for name, node in tests:
            source = Source("test", f"{path.name}::{name}", rel.as_posix(), node.lineno, group=rel.as_posix())
            body = [ast.get_docstring(node) or ""]
            body += [c for line, c in comments if node.lineno <= line <= node.end_lineno]
            out += _cite(draft, source, "\n".join(body))
            for first, last in name_markers(node.name):
                c = Citation(source, first if last is None else f"{first}-{last}")
                try:
                    c.labels = draft.expand(first, last)
                except ValueError as e:
                    c.error = f"{e} (in the test's name)"
                out.append(c)
    return out


def _markdown_parser(extensions):
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    return create_md_parser(MdParserConfig(enable_extensions=set(extensions)), RendererHTML)


def slugify(title: str) -> str:
    """MyST's heading slug (GitHub's rule): lower case, spaces to hyphens, punctuation dropped."""
    from myst_parser.mdit_to_docutils.base import default_slugify

    return default_slugify(title)


def notebook_headings(cells: list[dict], md, max_level: int) -> list[list[tuple[int, int, str, str]]]:
    """Per cell, its headings as (line in cell, level, slug or "", inline markdown), slugs made
    unique over the notebook as MyST makes them."""
    seen: set[str] = set()
    result = []
    for cell in cells:
        heads = []
        if cell["cell_type"] == "markdown":
            tokens = md.parse("".join(cell["source"]))
            for k, tok in enumerate(tokens):
                if tok.type != "heading_open":
                    continue
                level = int(tok.tag[1:])
                inline = tokens[k + 1]
                slug = ""
                if level <= max_level:
                    slug = slugify("".join(c.content for c in inline.children or []
                                           if c.type in ("text", "code_inline")))
                    i = 1
                    while slug in seen:
                        slug = f"{slug}-{i}"
                        i += 1
                    seen.add(slug)
                heads.append((tok.map[0], level, slug, inline.content))
        result.append(heads)
    return result


def notebook_number(title: str) -> str:
    """The section number a notebook's title starts with ("2.2.2", "4.1-4.2", "2")."""
    m = re.match(r"\s*([0-9]+(?:\.[0-9]+)*(?:-[0-9.]+)?)\b", title)
    return m.group(1) if m else ""


def notebook_citations(root: Path, draft: Draft, extensions, max_level: int,
                       folder: str = "chapters") -> list[Citation]:
    md = _markdown_parser(extensions)
    out = []
    for path in sorted((root / folder).rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        rel = path.relative_to(root).as_posix()
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        headings = notebook_headings(cells, md, max_level)
        title = next((h[3] for heads in headings for h in heads if h[1] == 1), path.stem)
        number = notebook_number(title)
        current = None                       # the heading in force: (level, slug, text)
        first_heading = True
        for cell, heads in zip(cells, headings):
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                lines = text.splitlines(keepends=True)
                starts = [0]
                for line in lines:
                    starts.append(starts[-1] + len(line))
                pieces, last = [], 0
                for line, level, slug, heading in heads:
                    pieces.append((current, text[starts[last]:starts[line]]))
                    current = (level, slug, heading, first_heading)
                    first_heading = False
                    last = line
                pieces.append((current, text[starts[last]:]))
            elif cell["cell_type"] == "code":
                pieces = [(current, "\n".join(c for _, c in _comments(text)))]
            else:
                continue
            for where, chunk in pieces:
                if not chunk.strip():
                    continue
                opening = where is None or where[3]
                anchor = None if opening else (where[1] or None)
                label = number or Path(rel).stem
                name = f"{label} (opening)" if opening else f"{label}: {where[2]}"
                source = Source("notebook", name, rel, anchor=anchor, group=rel, opening=opening)
                out += _cite(draft, source, chunk)
    return out


def errata_labels(root: Path, draft: Draft, text: str | None = None) -> dict[str, str]:
    """Equations the errata page corrects (cited in the first column of its tables, not as a place
    "after Eq. 2.14"), with the slug of the heading above the row."""
    if text is None:
        path = root / ERRATA
        if not path.exists():
            return {}
        text = path.read_text(encoding="utf-8")
    corrected: dict[str, str] = {}
    slug = ""
    for line in text.splitlines():
        if line.startswith("## "):
            slug = slugify(line[3:].strip())
        elif line.startswith("|") and not re.match(r"^\|\s*(Where|-)", line):
            first = line.strip("|").split("|")[0]
            for offset, _, items in find_citations(first):
                # "the paragraph after Eq. 2.14", "between Eqs. 2.32 and 2.33": a place, not the error
                if re.search(r"\b(after|before|between|following|preceding|near|above|below)\b", first[:offset]):
                    continue
                for a, b in items:
                    try:
                        for label in draft.expand(a, b):
                            corrected.setdefault(label, slug)
                    except ValueError:
                        pass
    return corrected


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------
def book_config(root: Path = ROOT) -> dict:
    """What the index needs from ``_config.yml``: repository URL and branch, MyST extensions and
    the heading depth that gets anchors."""
    import yaml

    cfg = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    repo = cfg.get("repository", {}) or {}
    sphinx_cfg = (cfg.get("sphinx", {}) or {}).get("config", {}) or {}
    return {
        "url": str(repo.get("url", "")).rstrip("/"),
        "branch": str(repo.get("branch", "main")),
        "extensions": list((cfg.get("parse", {}) or {}).get("myst_enable_extensions", [])),
        "heading_anchors": int(sphinx_cfg.get("myst_heading_anchors", 0) or 0),
    }


def collect(root: Path = ROOT, draft: Draft | None = None, config: dict | None = None) -> list[Citation]:
    """Every citation of a draft equation in the library, the tests and the notebooks."""
    draft = draft or Draft.load(root)
    config = config or book_config(root)
    return (library_citations(root, draft) + test_citations(root, draft)
            + notebook_citations(root, draft, config["extensions"], config["heading_anchors"]))


def all_project_citations(root: Path = ROOT, draft: Draft | None = None) -> list[Citation]:
    """Every citation anywhere in the project's text (also private functions, comments, the book's
    pages, benchmarks), for the check that each one names an equation of the draft."""
    draft = draft or Draft.load(root)
    out = []
    # This module and its tests write wrong citations on purpose, as examples.
    skip = {(root / "_ext" / "equation_index.py").resolve(), (root / SELF_TEST).resolve()}
    files = [p for folder in ("pedagogy_lib", "tests", "benchmarks", "_ext", "tools")
             for p in sorted((root / folder).rglob("*.py"))]
    files += sorted((root / "book").rglob("*.md")) + sorted((root / "chapters").rglob("*.md"))
    files += [root / "README.md"]
    files += sorted(p for p in (root / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    for path in files:
        rel = path.relative_to(root)
        if path.resolve() in skip or "fixtures" in rel.parts or not path.exists():
            continue
        if path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"])
        else:
            text = path.read_text(encoding="utf-8")
        for offset, raw, items in find_citations(text):
            line = text.count("\n", 0, offset) + 1
            where = f"{rel.as_posix()}" + ("" if path.suffix == ".ipynb" else f":{line}")
            c = Citation(Source("text", where, rel.as_posix(), line), raw)
            try:
                for a, b in items:
                    c.labels += draft.expand(a, b)
            except ValueError as e:
                c.error = str(e)
            out.append(c)
        if path.suffix == ".py" and "tests" in rel.parts[:1]:
            for m in re.finditer(r"^\s*(?:async\s+)?def\s+(test\w*)", text, flags=re.M):
                for first, last in name_markers(m.group(1)):
                    line = text.count("\n", 0, m.start()) + 1
                    c = Citation(Source("text", f"{rel.as_posix()}:{line}", rel.as_posix(), line),
                                 first if last is None else f"{first}-{last}")
                    try:
                        c.labels = draft.expand(first, last)
                    except ValueError as e:
                        c.error = f"{e} (in the test name {m.group(1)})"
                    out.append(c)
    return out


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------
def _escape(text: str) -> str:
    return text.replace("|", r"\|").replace("[", r"\[").replace("]", r"\]")


def _ranges(labels: list[str], draft: Draft) -> str:
    """"2.1, 2.3-2.5" for a list of labels, runs in the draft's order shortened to ranges."""
    runs: list[list[str]] = []
    for label in labels:
        if runs and draft.position[label] == draft.position[runs[-1][-1]] + 1:
            runs[-1].append(label)
        else:
            runs.append([label])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def link(source: Source, config: dict, page_dir: str = "book") -> str:
    if source.kind == "notebook":
        import os.path

        target = os.path.relpath(source.path, page_dir).replace("\\", "/")
        if source.anchor:
            target += f"#{source.anchor}"
        return f"[{_escape(source.name)}]({target})"
    url = f"{config['url']}/blob/{config['branch']}/{source.path}#L{source.line}"
    return f"[`{source.name}`]({url})" + ROLE_NOTE.get(source.role, "")


#: What a code link is, said after it (a function, which computes the equation, says nothing);
#: :func:`index_rows` lists functions first.
ROLE_NOTE = {"class": " (type)", "module": " (module overview)", "validator": " (validator)",
             "property": " (property)", "mention": " (mention)"}
_ROLE_ORDER = {"function": 0, "": 0, "class": 1, "validator": 2, "property": 3, "module": 4, "mention": 5}
#: The key to the code column, said on every page of the index.
ROLE_KEY = ("In the Code column a plain name is a function whose description says it computes the "
            "equation; \"(type)\" marks a class that holds its parameters or results, \"(validator)\" a "
            "function that checks the inputs of a function that computes it, \"(property)\" a field of "
            "a result, and \"(module overview)\" a module whose description names it. In the Tests "
            "column a plain name is a test that checks the equation. \"(mention)\" marks a function or a "
            "test that names the equation only as context (\"see Eq. 2.47\", \"as in\", \"after\", a "
            "range): it is listed, and the strict counts leave it out.")


def index_rows(citations: list[Citation], draft: Draft) -> dict[str, dict[str, list[Source]]]:
    """For each equation, its sources by kind, each source once, in the order found (code:
    functions first, then classes, then module docstrings); a module's docstring or a notebook's
    opening is dropped when a function of that module or a section of that notebook cites the same
    equation."""
    rows: dict[str, dict[str, list[Source]]] = {label: {"code": [], "test": [], "notebook": []}
                                               for label in draft.labels}
    for c in citations:
        if c.error:
            continue
        for label in c.labels:
            bucket = rows[label][c.source.kind]
            source = c.source
            if not c.strict and source.role in ("function", ""):
                source = replace(source, role="mention")
            if source not in bucket:
                bucket.append(source)
    for row in rows.values():
        for kind, sources in row.items():
            specific = {s.group for s in sources if not s.opening}
            claimed = {(s.name, s.path) for s in sources if s.role in ("function", "")}
            kept = [s for s in sources if not (s.opening and s.group in specific)
                    and not (s.role == "mention" and (s.name, s.path) in claimed)]
            row[kind] = sorted(kept, key=lambda s: _ROLE_ORDER.get(s.role, 0))   # stable: found order within a role
    return rows


def chapter_heading(chapter: dict) -> str:
    number = chapter["number"]
    word = "Appendix" if number.isalpha() else "Chapter"
    return f"{word} {number}: {chapter['title']}"


def section_heading(section: dict) -> str:
    return f"{section['number']} {section['title']}"


def indexed_chapters(draft: Draft) -> list[dict]:
    """The chapters (and appendices) of the draft that have numbered equations, in the draft's
    order: each one has a page of the index."""
    return [c for c in draft.chapters if any(e["chapter"] == c["number"] for e in draft.equations)]


def chapter_page(chapter: dict) -> str:
    """The file name, without ``.md``, of a chapter's page of the index in ``FOLDER``:
    ``chapter_2``, ``chapter_10``, ``appendix_b``."""
    number = chapter["number"]
    return f"appendix_{number.lower()}" if number.isalpha() else f"chapter_{number}"


def chapter_docname(chapter: dict) -> str:
    """Sphinx's name of a chapter's page of the index (``book/equation_index/chapter_2``)."""
    return f"{FOLDER.as_posix()}/{chapter_page(chapter)}"


def chapter_of(draft: Draft, number: str) -> dict:
    """The chapter of the draft that holds a section (or is the chapter) numbered ``number``."""
    for chapter in draft.chapters:
        if chapter["number"] == number or any(s["number"] == number for s in chapter["sections"]):
            return chapter
    raise KeyError(f"the draft has no chapter or section {number}")


def anchor_for_section(draft: Draft, number: str) -> str:
    """The slug of the index's heading for a section (or a chapter) of the draft."""
    for chapter in draft.chapters:
        if chapter["number"] == number:
            return slugify(chapter_heading(chapter))
    return slugify(section_heading(draft.sections[number]))


def index_target(draft: Draft, number: str) -> str:
    """Where the index lists a section (or a chapter) of the draft, relative to the ``book``
    folder: ``equation_index/chapter_2.md#211-mixture-models-and-the-gmm``."""
    return f"{FOLDER.name}/{chapter_page(chapter_of(draft, number))}.md#{anchor_for_section(draft, number)}"


def notebook_index_anchor(draft: Draft, title: str, cited: list[str]) -> str:
    """The heading of the index a notebook's opening links to: the draft section its title starts
    with ("2.2.2 ...", "4.1-4.2 ..." -> 4.1, "2 ..." -> the chapter), else the section holding
    most of the equations the notebook cites. (The heading is on the page of the chapter holding
    that section; :func:`index_target` gives page and heading together.)"""
    number = notebook_number(title).split("-")[0]
    if number not in draft.sections and number not in {c["number"] for c in draft.chapters}:
        sections = [draft.by_label[label]["section"] for label in cited]
        number = max(sections, key=sections.count)
    return anchor_for_section(draft, number)


def computed(row: dict[str, list[Source]]) -> bool:
    """Whether a function of the library (not a type, a validator, a property or a module's
    description) claims to compute the equation of this row of :func:`index_rows` (a citation that
    is not a mention, see :func:`claims`): something computes it."""
    return any(s.role == "function" for s in row["code"])


def checked(row: dict[str, list[Source]]) -> bool:
    """Whether a test function claims to check the equation of this row of :func:`index_rows`
    (a citation that is not a mention, see :func:`claims`): something checks it."""
    return any(s.role != "mention" for s in row["test"])


def strict_coverage(rows: dict, labels: list[str]) -> tuple[int, int, int]:
    """Of the equations ``labels``, how many a function computes (:func:`computed`), how many a
    test checks (:func:`checked`), and how many have neither."""
    return (sum(computed(rows[x]) for x in labels), sum(checked(rows[x]) for x in labels),
            sum(not (computed(rows[x]) or checked(rows[x])) for x in labels))


def render_overview(rows: dict, draft: Draft) -> str:
    """The generated part of the overview page (``book/equation_index.md``): per chapter, the
    counts of its equations and of those cited, with a link to the chapter's page; then the strict
    counts, of those a function computes and a test checks (:func:`strict_coverage`)."""
    out = ["## Coverage", "",
           "For each chapter of the draft, the number of its numbered equations (Eqs.), of those "
           "the code cites (Code: a function, a type or a module's description), a test that checks "
           "them (Test) and a notebook section that derives or uses them (Page), and of those "
           "nothing cites yet (None).", "",
           "Each chapter's equations have a page of their own, one table per section: follow the "
           "chapter's name.", "",
           "| Chapter | Eqs. | Code | Test | Page | None |",
           "|---|---:|---:|---:|---:|---:|"]

    def has(label, kind):
        return bool(rows[label][kind])

    chapters = [(chapter, [e["label"] for e in draft.equations if e["chapter"] == chapter["number"]])
                for chapter in indexed_chapters(draft)]

    def name(chapter):
        return f"[{_escape(chapter_heading(chapter))}]({FOLDER.name}/{chapter_page(chapter)}.md)"

    totals = [0, 0, 0, 0, 0]
    for chapter, labels in chapters:
        counts = [len(labels)] + [sum(has(x, k) for x in labels) for k in ("code", "test", "notebook")]
        counts.append(sum(not any(rows[x].values()) for x in labels))
        totals = [a + b for a, b in zip(totals, counts)]
        out.append(f"| {name(chapter)} | " + " | ".join(str(n) for n in counts) + " |")
    out.append("| All | " + " | ".join(f"**{n}**" for n in totals) + " |")

    out += ["", "## Strict coverage", "",
            "What is computed and what is checked: for each chapter, the number of its numbered "
            "equations (Eqs.), of those a library function computes (Function; a type or a module's "
            "description does not count), of those a test checks (Test), and of those with neither "
            "(Neither), whatever the notebooks say about them. Only claims count: a citation in a "
            "function's docstring or a test's docstring or comments counts when it names single "
            "equations (not a range) and no context word such as \"see\", \"as in\", \"cf.\", "
            "\"after\" or \"used by\" comes before it in its clause; a validator (`check_*`), a "
            "property, a class or a module's description never counts. The rest are listed on the "
            "chapters' pages as mentions.", "",
            "| Chapter | Eqs. | Function | Test | Neither |",
            "|---|---:|---:|---:|---:|"]
    totals = [0, 0, 0, 0]
    for chapter, labels in chapters:
        counts = [len(labels), *strict_coverage(rows, labels)]
        totals = [a + b for a, b in zip(totals, counts)]
        out.append(f"| {name(chapter)} | " + " | ".join(str(n) for n in counts) + " |")
    out.append("| All | " + " | ".join(f"**{n}**" for n in totals) + " |")
    return "\n".join(out).rstrip() + "\n"


def render_chapter(rows: dict, draft: Draft, chapter: dict, config: dict, corrected: dict[str, str]) -> str:
    """A chapter's page of the index (``book/equation_index/chapter_2.md``): the chapter's title,
    what is not cited yet, and a table per section with the code, tests and notebook sections of
    each equation."""
    page_dir = FOLDER.as_posix()
    errata = os.path.relpath(ERRATA.as_posix(), page_dir).replace("\\", "/")
    labels = [e["label"] for e in draft.equations if e["chapter"] == chapter["number"]]
    out = [f"# {chapter_heading(chapter)}", ""]
    uncited = [x for x in labels if not any(rows[x].values())]
    if len(uncited) == len(labels):
        out.append(f"Nothing in the companion cites the equations of this chapter yet "
                   f"(Eqs. {_ranges(labels, draft)}):")
        out.append("")
        for number in [chapter["number"]] + [s["number"] for s in chapter["sections"]]:
            here = [e["label"] for e in draft.equations if e["section"] == number]
            if here:
                title = ("the chapter's opening" if number == chapter["number"]
                         else f"Section {section_heading(draft.sections[number])}")
                out.append(f"- {title}: Eqs. {_ranges(here, draft)}")
        return "\n".join(out).rstrip() + "\n"
    if uncited:
        out += [f"Not cited yet: Eqs. {_ranges(uncited, draft)}.", ""]
    else:
        out += ["Every equation of this chapter is cited.", ""]
    out += [ROLE_KEY, ""]
    for number in [chapter["number"]] + [s["number"] for s in chapter["sections"]]:
        here = [e["label"] for e in draft.equations if e["section"] == number]
        if number != chapter["number"]:
            out += [f"## {section_heading(draft.sections[number])}", ""]
            if not here:
                out += ["This section has no numbered equations.", ""]
                continue
        elif not here:
            continue
        else:
            out += ["Before the chapter's first section:", ""]
        out += ["| Eq. | Code | Tests | Notebook sections |", "|---|---|---|---|"]
        for label in here:
            cell = f"**{label}**"
            if label in corrected:
                cell += f" [erratum]({errata}#{corrected[label]})"
            parts = [", ".join(link(s, config, page_dir) for s in rows[label][k]) or "-"
                     for k in ("code", "test", "notebook")]
            out.append(f"| {cell} | " + " | ".join(parts) + " |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_pages(citations: list[Citation], draft: Draft, config: dict,
                 corrected: dict[str, str]) -> dict[str, str]:
    """The generated markdown of every page of the index, by Sphinx docname: the overview
    (``PAGE_DOCNAME``) first, then one page per chapter in the draft's order."""
    rows = index_rows(citations, draft)
    pages = {PAGE_DOCNAME: render_overview(rows, draft)}
    for chapter in indexed_chapters(draft):
        pages[chapter_docname(chapter)] = render_chapter(rows, draft, chapter, config, corrected)
    return pages


def generate(root: Path = ROOT) -> tuple[dict[str, str], list[Citation]]:
    """The generated markdown of each page of the index (by docname, see :func:`render_pages`)
    and the citations that name no equation of the draft."""
    draft = Draft.load(root)
    config = book_config(root)
    citations = collect(root, draft, config)
    pages = render_pages(citations, draft, config, errata_labels(root, draft))
    return pages, [c for c in citations if c.error]


# ---------------------------------------------------------------------------------------------
# Sphinx
# ---------------------------------------------------------------------------------------------
def is_index_page(docname: str) -> bool:
    return docname == PAGE_DOCNAME or docname.startswith(FOLDER.as_posix() + "/")


def _generated(app) -> tuple[dict[str, str], list[Citation]]:
    # The index is made once per build (per reading process), not once per page.
    made = getattr(app, "_equation_index_pages", None)
    if made is None:
        made = app._equation_index_pages = generate(Path(app.srcdir))
    return made


def _on_source_read(app, docname, source):
    if not is_index_page(docname):
        return
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    if MARKER not in source[0]:
        logger.warning(f"equation index: {docname}.md lost its marker line {MARKER!r}", location=docname)
        return
    pages, bad = _generated(app)
    if docname not in pages:
        logger.warning(f"equation index: {docname}.md is not the page of a chapter of the draft "
                       f"with numbered equations (those are: {', '.join(d for d in pages if d != PAGE_DOCNAME)})",
                       location=docname)
        return
    if docname == PAGE_DOCNAME:            # said once, not on every page of the index
        for c in bad:
            where = c.source.path + (f":{c.source.line}" if c.source.line else f" ({c.source.name})")
            logger.warning(f"equation index: {where} cites {c.text!r}: {c.error}", location=docname)
        for name in pages:
            if name not in app.env.found_docs:
                logger.warning(f"equation index: there is no page {name}.md; add it, holding only the "
                               f"marker line {MARKER!r}, and list it in _toc.yml", location=docname)
    source[0] = source[0].replace(MARKER, pages[docname])


def _on_env_get_outdated(app, env, added, changed, removed):
    # The index depends on the whole checkout, not on its own source files: read them every build.
    return sorted(d for d in env.found_docs if is_index_page(d))


def setup(app):
    app.connect("source-read", _on_source_read)
    app.connect("env-get-outdated", _on_env_get_outdated)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    pages, errors = generate(ROOT)
    for docname, markdown in pages.items():
        print(f"<!-- {docname}.md -->")
        print(markdown)
    for c in errors:
        print(f"ERROR {c.source.path}:{c.source.line or ''} {c.source.name}: {c.text!r}: {c.error}")
