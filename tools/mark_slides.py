"""Mark the cells of every chapter notebook that its lecture slides are made of.

    python tools/mark_slides.py            # mark what the rule selects (rewrites cell metadata only)
    python tools/mark_slides.py --check    # exit 1, naming the cells, if a selected cell is unmarked

The book's build makes one reveal.js deck per chapter notebook (``_ext/teaching_kit.py``) from the
cells that carry nbconvert's slide mark, ``"slideshow": {"slide_type": "slide"}`` in the cell's
metadata, the mark that ``jupyter nbconvert --to slides`` and RISE read. This tool puts that mark on
the cells a simple rule selects:

* **goals**: the first Markdown cell that starts with the page's title (``# ...``); in these
  notebooks it holds the title and the list "What you will learn". The deck opens with it.
* **equations**: every Markdown cell with a displayed equation (a ``$$`` block, or an ``align``,
  ``equation``, ``gather`` or ``multline`` environment), leaving out exercises and solutions. In
  these notebooks a displayed equation is a step of a derivation; the deck shows the cell's
  displayed equations under the cell's section heading and keeps its prose as speaker notes.
* **formulas**: every Markdown cell without a displayed equation that states at least
  :data:`KEY_FORMULAS` formulas inline (``$...$`` with ``=``, ``\\propto`` or ``\\approx``, at least
  :data:`FORMULA_CHARS` characters long), leaving out exercises and solutions. Such a cell derives
  in running text (a list of schedules, the steps of backpropagation); the deck shows its formulas
  displayed, one a row, under the cell's section heading, with the prose as speaker notes.
* **figures**: every code cell that calls one of the display helpers (``show``, ``animate``,
  ``interactive_plot``) at its top level, or a function defined in the notebook that calls one,
  leaving out cells removed from the page. Every figure of the
  book is drawn through them, so this is every figure, animation and interactive figure of the
  page; the deck shows a figure's static image, an animation as its player, an interactive figure
  as its default view.
* **try it**: the first exercise (the first Markdown cell with ``exercise`` metadata), shown with a
  link to it on the page.
* **summary**: the Markdown cell headed "What to remember", when there is one, which closes the deck.

A cell that already has a ``slideshow`` entry keeps it, whatever it says: an author may mark another
cell for the deck by hand (``slide``), or keep a selected one out of it (``skip``). Only metadata is
written; every cell's source stays as it is (the file is written back as
``json.dumps(nb, indent=1, ensure_ascii=False) + "\\n"``, the notebooks' own format). Cells without
a mark are left out of the deck (``skip``), not appended to the slide before them as plain nbconvert
would.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: A displayed equation: a ``$$`` block or an amsmath display environment.
DISPLAY_MATH = re.compile(r"\$\$|\\begin\{(?:align|equation|gather|multline)\*?\}")
#: The display helpers: every figure of the book goes through one of them.
HELPERS = ("show", "animate", "interactive_plot")
_DEF = re.compile(r"^def\s+(\w+)\s*\(", re.M)
#: The Markdown cell that sums a section up.
SUMMARY = re.compile(r"^\s*#{2,3}\s+What to remember\b", re.M)
SLIDE_MARK = {"slide_type": "slide"}
ROLES = ("goals", "equations", "formulas", "figure", "try-it", "summary")
#: Inline maths (``$...$``, not ``$$``).
INLINE_MATH = re.compile(r"(?<![$\\])\$(?!\$)((?:\\.|[^$\\])+)\$")
#: A formula, not a symbol: a relation between two sides.
_RELATION = re.compile(r"=|\\propto\b|\\approx\b")
#: Fewest inline formulas that make a cell without displays a slide of formulas.
KEY_FORMULAS = 6
#: Shortest formula (characters other than white space) that counts.
FORMULA_CHARS = 8


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def _tags(cell: dict) -> set:
    return set(cell.get("metadata", {}).get("tags", []) or [])


def _is_exercise_or_solution(cell: dict) -> bool:
    text = source(cell)
    return "exercise" in cell.get("metadata", {}) or re.search(r"[:`]{3,}\{(?:exercise|solution)", text) is not None


def key_formulas(text: str) -> list[str]:
    """The formulas a Markdown cell states inline, in order, each once (see **formulas** above)."""
    out = []
    for m in INLINE_MATH.finditer(text):
        tex = " ".join(m.group(1).split())
        if _RELATION.search(tex) and len(tex.replace(" ", "")) >= FORMULA_CHARS and tex not in out:
            out.append(tex)
    return out


def _code_without_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def _calls(text: str, names) -> bool:
    return re.search(r"(?<![\w.])(?<!def )(?:" + "|".join(map(re.escape, names)) + r")\(", text) is not None


def figure_cells(cells: list) -> set[int]:
    """Code cells that draw a figure: they call a display helper, or a function that a cell of the
    notebook defines and that calls one (a cell only defining such a function draws nothing)."""
    drawing = set(HELPERS)
    changed = True
    while changed:                               # functions calling functions that draw
        changed = False
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            text = _code_without_comments(source(cell))
            for block in re.split(r"(?m)^(?=\S)", text):
                found = _DEF.match(block)
                if found and found.group(1) not in drawing and _calls(block, drawing):
                    drawing.add(found.group(1))
                    changed = True
    out = set()
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or "remove-cell" in _tags(cell):
            continue
        text = _code_without_comments(source(cell))
        top_level = "".join(b for b in re.split(r"(?m)^(?=\S)", text) if not _DEF.match(b)
                            and not b.startswith(("class ", "@")))
        if _calls(top_level, drawing):
            out.add(i)
    return out


def roles(nb: dict) -> dict[int, str]:
    """Index of each cell the rule selects -> its role (one of :data:`ROLES`)."""
    found: dict[int, str] = {}
    cells = nb.get("cells", [])
    goals = next((i for i, c in enumerate(cells) if c.get("cell_type") == "markdown"
                  and source(c).lstrip().startswith("# ")), None)
    if goals is not None:
        found[goals] = "goals"
    exercise = next((i for i, c in enumerate(cells) if c.get("cell_type") == "markdown"
                     and "exercise" in c.get("metadata", {})), None)
    if exercise is not None:
        found[exercise] = "try-it"
    figures = figure_cells(cells)
    for i, cell in enumerate(cells):
        if i in found or "remove-cell" in _tags(cell):
            continue
        text = source(cell)
        if cell.get("cell_type") == "markdown":
            if _is_exercise_or_solution(cell):
                continue
            if SUMMARY.search(text):
                found[i] = "summary"
            elif DISPLAY_MATH.search(text):
                found[i] = "equations"
            elif len(key_formulas(text)) >= KEY_FORMULAS:
                found[i] = "formulas"
        elif i in figures:
            found[i] = "figure"
    return dict(sorted(found.items()))


def role_of(nb: dict, index: int) -> str | None:
    """The role of cell ``index`` under the rule, or None when the rule does not select it."""
    return roles(nb).get(index)


def chapter_notebooks(root: Path = ROOT) -> list[Path]:
    return sorted(p for p in (root / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def unmarked(nb: dict) -> list[int]:
    """Selected cells that carry no ``slideshow`` entry."""
    return [i for i in roles(nb) if "slideshow" not in nb["cells"][i].get("metadata", {})]


def mark(nb: dict) -> int:
    """Put the slide mark on every selected cell without a ``slideshow`` entry; returns how many."""
    todo = unmarked(nb)
    for i in todo:
        nb["cells"][i].setdefault("metadata", {})["slideshow"] = dict(SLIDE_MARK)
    return len(todo)


def write(path: Path, nb: dict) -> None:
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report selected cells without a mark")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook under chapters/")
    args = parser.parse_args(argv)
    problems = 0
    for path in args.notebooks or chapter_notebooks():
        nb = json.loads(path.read_text(encoding="utf-8"))
        before = [source(c) for c in nb["cells"]]
        name = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
        selected = roles(nb)
        if args.check:
            missing = unmarked(nb)
            problems += len(missing)
            for i in missing:
                print(f"{name}: cell {i} ({selected[i]}) has no slide mark")
            continue
        n = mark(nb)
        assert [source(c) for c in nb["cells"]] == before        # metadata only
        if n:
            write(path, nb)
        counts = {r: sum(1 for v in selected.values() if v == r) for r in ROLES}
        print(f"{name}: {n} cells marked now; " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    if args.check and problems:
        print(f"{problems} selected cells without a slide mark: run python tools/mark_slides.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
