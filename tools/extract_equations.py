#!/usr/bin/env python3
"""List the draft textbook's numbered equations, with the chapter and section each sits in.

Run once, by hand, where the text conversion of the draft is available::

    python3 tools/extract_equations.py [path/to/draft.txt]

(default: ``../shared/seeds/002_*.txt`` next to the checkout). It writes
``book/_data/draft_equations.json``, which is committed: the book build and the tests read that
file and never need the draft's text.

What the file holds
-------------------
``chapters``: every chapter and appendix of the draft's table of contents, in order, each with its
numbered sections (number and title). ``equations``: every numbered equation, in the draft's
order, as ``{"label", "chapter", "section"}``; ``section`` is the number of the innermost
numbered section the equation sits in, or the chapter's own number for an equation that comes
before the chapter's first numbered section.

How equations are found
-----------------------
The conversion writes an equation's number in three ways: ``\\quad (2.37)`` at the end of the
display, ``\\tag{2.1}``, and ``\\quad (\\text{A.1})`` in the appendices; a label can carry a
letter (``6.8a``, ``6.8b``). Numbers in running text ("Eq. 2.47", "(2.0) bits") are not
definitions and are ignored. The script refuses to write the file if the numbers of a chapter
are not contiguous from 1, or out of order, or repeated: the conversion dropping a number would
otherwise go unnoticed. (For the draft of 31 July 2025 every chapter is contiguous: 1.1-1.5,
2.1-2.61, 3.1-3.4, 4.1-4.6, 5.1-5.28, 6.1-6.15 with 6.8a and 6.8b, 7.1-7.4, 8.1-8.48, 9.1-9.8,
10.1-10.27, A.1-A.8, B.1-B.15.)
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "_data" / "draft_equations.json"

LABEL = r"(?:[0-9]+|[A-C])\.[0-9]+[a-z]?"
DEFINITION = re.compile(
    r"(?:\\q?quad\s*|&\s*)\((?:\\text\{)?(" + LABEL + r")\}?\)"   # \quad (2.37), \quad (\text{A.1})
    r"|\\tag\{(" + LABEL + r")\}"                                   # \tag{2.1}
)
#: Body headings that open a numbered section ("### 2.2.1 The hidden ...", "#### B.1.1 ...").
SECTION_HEADING = re.compile(r"^#{1,6}\s+((?:[0-9]+|[A-C])(?:\.[0-9]+)+)\s+\S", re.M)
#: Body headings that open a chapter or an appendix.
CHAPTER_HEADING = re.compile(r"^#{1,6}\s+(?:Chapter\s+([0-9]+)|Appendix\s+([A-C]))\s*$", re.M)
#: Table-of-contents lines: "<b>2</b> <b>Directed ...</b>", "<b>Appendix A Bonus Material</b>".
TOC_CHAPTER = re.compile(r"^<b>(?:([0-9]+)</b>\s*<b>|Appendix ([A-C]) )(.+?)</b>", re.M)
TOC_SECTION = re.compile(r"^((?:[0-9]+|[A-C])(?:\.[0-9]+)+)\s+(.+?)(?:\s*(?:\.\s*)+)?\s*[0-9]*\s*$", re.M)


def clean_title(title: str) -> str:
    """A section title as plain text: the conversion's inline math and quotes tidied."""
    title = title.replace("$\\alpha$ - $\\gamma$", "α-γ").replace("$K$ -means", "K-means")
    title = re.sub(r"\$([^$]*)\$", r"\1", title)
    title = title.replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", title).strip()


def read_contents(text: str) -> list[dict]:
    """Chapters and sections from the table of contents at the start of the draft."""
    start = text.index("# Contents")
    end = text.index("# Preface")
    chapters: list[dict] = []
    for line in text[start:end].splitlines():
        line = line.strip()
        m = TOC_CHAPTER.match(line)
        if m:
            number = m.group(1) or m.group(2)
            title = re.sub(r"</?b>", "", m.group(3)).strip()
            chapters.append({"number": number, "title": clean_title(title), "sections": []})
            continue
        m = TOC_SECTION.match(line.replace("\t", " "))
        if m and chapters:
            number, title = m.group(1), re.sub(r"(?:\s*\.)+\s*[0-9]*$", "", m.group(2))
            if number.split(".")[0] != chapters[-1]["number"]:
                raise SystemExit(f"section {number} listed under chapter {chapters[-1]['number']}")
            chapters[-1]["sections"].append({"number": number, "title": clean_title(title)})
    return chapters


def extract(text: str) -> dict:
    chapters = read_contents(text)
    known_sections = {s["number"] for c in chapters for s in c["sections"]}
    body = text[text.index("# Preface"):]
    events = []                                   # (offset, kind, value)
    for m in CHAPTER_HEADING.finditer(body):
        events.append((m.start(), "chapter", m.group(1) or m.group(2)))
    for m in SECTION_HEADING.finditer(body):
        if m.group(1) in known_sections:
            events.append((m.start(), "section", m.group(1)))
    for m in DEFINITION.finditer(body):
        events.append((m.start(), "equation", m.group(1) or m.group(2)))
    events.sort()
    chapter = section = None
    equations = []
    for _, kind, value in events:
        if kind == "chapter":
            chapter = section = value
        elif kind == "section":
            section = value
        else:
            label_chapter = value.split(".")[0]
            if label_chapter != chapter or not (section == chapter or section.startswith(chapter + ".")):
                raise SystemExit(f"equation {value} found in chapter {chapter}, section {section}")
            equations.append({"label": value, "chapter": chapter, "section": section})
    check(equations, chapters)
    return {"source": "J.G. Makin, An Introduction to Modern Statistical Learning, draft of 31 July 2025",
            "chapters": chapters, "equations": equations}


def check(equations: list[dict], chapters: list[dict]) -> None:
    """Refuse gaps, repeats and disorder within each chapter."""
    labels = [e["label"] for e in equations]
    repeated = sorted({x for x in labels if labels.count(x) > 1})
    if repeated:
        raise SystemExit(f"equation numbers found twice: {repeated}")
    for chapter in {e["chapter"] for e in equations}:
        numbers = [int(re.match(r"[0-9]+", e["label"].split(".")[1]).group())
                   for e in equations if e["chapter"] == chapter]
        if numbers != sorted(numbers):
            raise SystemExit(f"chapter {chapter}: equations out of order")
        missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        if missing:
            raise SystemExit(f"chapter {chapter}: no equation found for numbers {missing}; "
                             "fix the pattern or list them explicitly")
    listed = {c["number"] for c in chapters}
    unknown = {e["chapter"] for e in equations} - listed
    if unknown:
        raise SystemExit(f"equations in chapters missing from the contents: {sorted(unknown)}")


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        source = Path(argv[1])
    else:
        found = sorted((ROOT.parent / "shared" / "seeds").glob("002_*.txt"))
        if not found:
            raise SystemExit("the draft's text was not found; pass its path")
        source = found[0]
    data = extract(source.read_text(encoding="utf-8"))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    per_chapter = {}
    for e in data["equations"]:
        per_chapter.setdefault(e["chapter"], []).append(e["label"])
    for chapter, labels in per_chapter.items():
        print(f"chapter {chapter}: {len(labels)} equations, {labels[0]} to {labels[-1]}")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
