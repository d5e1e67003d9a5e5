"""Write each exercise's rules line from its metadata, and the checkers' copy of the names.

An exercise names, in its markdown cell's metadata (``exercise.not_allowed``), the one to three
functions that *are* the exercise: the library's (``pedagogy_lib.hmm.hmm_filter``) or the page's own
(``forward``). That list is the only place the names are written by hand. This script derives from it

* the statement's last line, ``Not allowed: `hmm.hmm_filter` ([rules for graded answers](...)).``,
  or only the link when the exercise names nothing (the general rules are on ``book/grading_rules.md``);
* ``pedagogy_lib/exercises/not_allowed.json``, ``{checker module: {checker: [names]}}``, from which the
  checkers in a reader's kernel learn what to warn about.

The editions read the metadata themselves (``courseware/editions.py``). ``tests/project/test_grading.py``
runs ``--check``, so a statement cannot drift from its metadata.

Usage: ``python tools/sync_exercise_rules.py [--check]`` (``--check`` changes nothing and exits 1 if a
statement or the file is out of date).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from courseware import editions as E  # noqa: E402

NAMES_FILE = ROOT / "pedagogy_lib" / "exercises" / "not_allowed.json"
#: Where the rules page is, seen from a chapter notebook (chapters/<chapter>/<section>.ipynb).
RULES_LINK = "../../book/grading_rules.md"
#: The lines this script writes (and those of the old wording, which it removes).
_RULES_LINE = re.compile(r"^(Not allowed:|Not allowed in this exercise|Graded code may use|\[Rules for graded answers\])")


def shown(name: str) -> str:
    """A name as a statement shows it: a library path without its package prefix."""
    return name.removeprefix("pedagogy_lib.")


def rules_line(names) -> str:
    link = f"[rules for graded answers]({RULES_LINK})"
    if not names:
        return f"[Rules for graded answers]({RULES_LINK})."
    return "Not allowed: " + ", ".join(f"`{shown(n)}`" for n in names) + f" ({link})."


def with_rules_line(text: str, label: str, line: str) -> str:
    """The markdown ``text`` with ``line`` as the last line of exercise ``label``'s statement."""
    start = text.index(f":label: {label}\n")
    end = start + re.search(r"\n:{3,}[ \t]*(\n|$)", text[start:]).start()
    lines = [ln for ln in text[start:end].split("\n") if not _RULES_LINE.match(ln)]
    while lines and not lines[-1].strip():
        lines.pop()
    return text[:start] + "\n".join(lines + [line]) + text[end:]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale, names = [], {}
    for path in E.chapter_notebooks():
        ch = E.read_notebook(path)
        nb = json.loads(path.read_text(encoding="utf-8"))
        changed = False
        for ex in ch.exercises:
            if ex.not_allowed:
                names.setdefault(ex.checker_module, {})[ex.checker] = list(ex.not_allowed)
            cell = nb["cells"][ex.exercise_cell]
            text = "".join(cell["source"])
            new = with_rules_line(text, ex.label, rules_line(ex.not_allowed))
            if new != text:
                stale.append(ex.label)
                cell["source"] = new.splitlines(keepends=True)
                changed = True
        if changed and not check:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    stored = json.dumps({m: dict(sorted(c.items())) for m, c in sorted(names.items())}, indent=1) + "\n"
    if not NAMES_FILE.exists() or NAMES_FILE.read_text(encoding="utf-8") != stored:
        stale.append(NAMES_FILE.name)
        if not check:
            NAMES_FILE.write_text(stored, encoding="utf-8")
    verb = "out of date" if check else "updated"
    print(f"{len(stale)} statement(s) or file(s) {verb}" + (": " + ", ".join(stale) if stale else ""))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
