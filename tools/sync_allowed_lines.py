"""Write into every exercise's statement the sentence that says what its graded code may call.

Graded answers may use NumPy, ``scipy.special``, ``scipy.linalg`` and the standard library; from the
library, the rest of SciPy, networkx and SymPy they may call only what the exercise allows
(``courseware/grading.py``: ``RESTRICTED``, ``restricted_uses``). What it allows is what its reference
answer calls there, and what its checker module's ``SUMMATIVE`` entry lists under ``"allow"``
(``courseware/editions.py``: ``allowed_uses``). This script puts that list into the statement, as the
sentence ``grading.allowed_sentence`` makes, just before the statement's "Not allowed" line (or at its
end), replacing the sentence an earlier run wrote. ``tests/project/test_grading.py`` checks that every
statement holds the sentence its exercise gets.

Usage: ``python tools/sync_allowed_lines.py [--check]`` (``--check`` changes nothing and exits 1 if a
statement is out of date).
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


def sentence_for(ex, imports: str) -> str:
    return G.allowed_sentence([G.shown_name(w) for w in E.allowed_uses(ex, imports).values()])


def with_sentence(text: str, label: str, sentence: str) -> str:
    """The markdown ``text`` with ``sentence`` as a line of the statement of exercise ``label``."""
    start = text.index(f":label: {label}\n")
    end = start + re.search(r"\n:{3,}[ \t]*(\n|$)", text[start:]).start()
    body = text[start:end]
    lines = [ln for ln in body.split("\n") if not ln.startswith(G.ALLOWED_SENTENCE)]
    at = next((i for i, ln in enumerate(lines) if ln.startswith("Not allowed in this exercise")), len(lines))
    lines.insert(at, sentence)
    return text[:start] + "\n".join(lines) + text[end:]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path in E.chapter_notebooks():
        ch = E.read_notebook(path)
        if not ch.exercises:
            continue
        imports = E.page_imports(ch)
        nb = json.loads(path.read_text(encoding="utf-8"))
        changed = False
        for ex in ch.exercises:
            cell = nb["cells"][ex.exercise_cell]
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            new = with_sentence(text, ex.label, sentence_for(ex, imports))
            if new != text:
                stale.append(ex.label)
                cell["source"] = new.splitlines(keepends=True)
                changed = True
        if changed and not check:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(stale)} statement(s) {'out of date' if check else 'updated'}" + (": " + ", ".join(stale) if stale else ""))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
