"""Write into every exercise's statement the sentence that says what its graded code may call.

Graded answers may use NumPy, ``scipy.special``, ``scipy.linalg`` and the standard library; from the
library, the rest of SciPy, networkx and SymPy they may call only what the exercise allows
(``courseware/grading.py``: ``RESTRICTED``, ``restricted_uses``). What it allows is what its reference
answer calls there, and what its checker module's ``SUMMATIVE`` entry lists under ``"allow"``
(``courseware/editions.py``: ``allowed_uses``). This script puts that list into the statement, as the
sentence ``grading.allowed_sentence`` makes, just before the statement's "Not allowed" line (or at its
end), replacing the sentence an earlier run wrote, and writes every exercise's list (canonical names) to
``courseware/allowed.json``, from which the editions take it without importing anything.
``tests/project/test_grading.py`` checks that every statement holds the sentence its exercise gets and
that the file holds its list.

Usage: ``python tools/sync_allowed_lines.py [--check]`` (``--check`` changes nothing and exits 1 if a
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
from courseware import grading as G  # noqa: E402


def sentence_for(uses: dict[str, str], shortcuts=()) -> str:
    return G.allowed_sentence([G.shown_name(w) for w in uses.values()], list(shortcuts))


def allowed_shortcuts(ex) -> tuple:
    """The numerical shortcuts (``grading.SHORTCUTS``) that the exercise's ``SUMMATIVE`` entry allows."""
    import importlib

    mod = importlib.import_module(f"pedagogy_lib.exercises.{ex.checker_module}")
    return tuple(getattr(mod, "SUMMATIVE", {}).get(ex.label, {}).get("shortcuts", ()))


def with_sentence(text: str, label: str, sentence: str) -> str:
    """The markdown ``text`` with ``sentence`` as a line of the statement of exercise ``label``."""
    start = text.index(f":label: {label}\n")
    end = start + re.search(r"\n:{3,}[ \t]*(\n|$)", text[start:]).start()
    body = text[start:end]
    # the sentence an earlier run wrote, also in an earlier wording of its opening
    lines = [ln for ln in body.split("\n") if not ln.startswith("Graded code may use NumPy, ")]
    at = next((i for i, ln in enumerate(lines) if ln.startswith("Not allowed in this exercise")), len(lines))
    lines.insert(at, sentence)
    return text[:start] + "\n".join(lines) + text[end:]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    lists = {}
    for path in E.chapter_notebooks():
        ch = E.read_notebook(path)
        if not ch.exercises:
            continue
        imports = E.page_imports(ch)
        nb = json.loads(path.read_text(encoding="utf-8"))
        changed = False
        for ex in ch.exercises:
            uses = E.allowed_uses(ex, imports)
            lists[ex.label] = sorted(uses)
            cell = nb["cells"][ex.exercise_cell]
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            new = with_sentence(text, ex.label, sentence_for(uses, allowed_shortcuts(ex)))
            if new != text:
                stale.append(ex.label)
                cell["source"] = new.splitlines(keepends=True)
                changed = True
        if changed and not check:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    stored = json.dumps(dict(sorted(lists.items())), indent=1) + "\n"
    if not E.ALLOWED_FILE.exists() or E.ALLOWED_FILE.read_text(encoding="utf-8") != stored:
        stale.append(E.ALLOWED_FILE.name)
        if not check:
            E.ALLOWED_FILE.write_text(stored, encoding="utf-8")
    print(f"{len(stale)} statement(s) or file(s) {'out of date' if check else 'updated'}" + (": " + ", ".join(stale) if stale else ""))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
