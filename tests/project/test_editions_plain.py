"""The editions read outside the book: plain Markdown, and links that lead somewhere.

A student opens the student edition or the nbgrader release in plain Jupyter, where MyST is not
rendered and the book's other pages are not beside the notebook. Every markdown cell of every
edition must therefore be free of MyST markup, and every link must be either a notebook of the same
edition (relative) or a page of the published site that the book has.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from courseware import editions, plain

#: Writing the editions reads the whole book once (about 10 s of CPU).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: Three pages with exercises of different kinds, links to book pages, citations and directives.
NOTEBOOKS = ["chapters/ch02_directed_generative_models/2_2_2_kalman_filter.ipynb",
             "chapters/appendix_b_mathematical_appendix/b_3_matrix_identities.ipynb",
             "chapters/ch08_learning_non_invertible_models/8_4_2_black_box_vi.ipynb"]
#: What MyST writes and plain Markdown shows as raw text.
RAW_MYST = {"a directive": re.compile(r"^(:{3,}|`{3,})\{[\w:-]+\}", re.M), "a role": re.compile(r"\{[a-z][\w:-]*\}`"),
            "an option line": re.compile(r"^:(label|class|name):", re.M), "a target line": re.compile(r"^\([\w-]+\)=$", re.M)}
_LINK_RE = re.compile(r"\]\((?P<href>[^)\s]+)\)")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("editions")
    notebooks = [ROOT / n for n in NOTEBOOKS if (ROOT / n).exists()]
    assert len(notebooks) == len(NOTEBOOKS), "a notebook this test reads has moved"
    editions.write_editions(out, notebooks=notebooks, update_points=False)
    return out


def _markdown(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def _without_maths(text: str) -> str:
    """``text`` with its formulas blanked (``[a,b](x)`` in TeX is no link)."""
    return re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", "$$", text, flags=re.S)


def _editions(out: Path) -> list[Path]:
    found = sorted(p for sub in ("student", "instructor", "nbgrader/source") for p in (out / sub).rglob("*.ipynb"))
    assert len(found) == 4 * len(NOTEBOOKS)       # the section's nbgrader assignment is a second copy
    return found


def test_no_edition_shows_raw_myst(written):
    problems = [f"{p.relative_to(written)}: {what} in {text[:80]!r}"
                for p in _editions(written) for text in _markdown(p)
                for what, pattern in RAW_MYST.items() if pattern.search(text)]
    assert problems == []


def test_every_link_of_an_edition_leads_to_a_notebook_beside_it_or_a_published_page(written):
    """Relative links only in the student and instructor editions, which hold every notebook at its
    path under ``chapters/``; an nbgrader assignment holds one notebook, so only published pages."""
    site = plain.site_url(ROOT)
    problems = []
    for path in _editions(written):
        edition, rel = path.relative_to(written).parts[0], path.relative_to(written)
        for text in _markdown(path):
            for m in _LINK_RE.finditer(_without_maths(text)):
                href = m.group("href").split("#")[0]
                if href.startswith(site):
                    page = href[len(site):].removesuffix(".html")
                    if not any((ROOT / f"{page}{ext}").exists() for ext in (".md", ".ipynb")):
                        problems.append(f"{rel}: {href} is no page of the book")
                elif re.match(r"[a-z][\w+.-]*:", href) or not href:
                    continue                      # another site: the build's link check covers it
                elif edition == "nbgrader":
                    problems.append(f"{rel}: {href} is relative, but the assignment holds one notebook")
                elif not (ROOT / "chapters" / Path(*rel.parts[1:]).parent / href).exists():
                    problems.append(f"{rel}: {href} leads nowhere in the edition")
    assert problems == []


def test_each_exercise_reads_as_markdown_with_its_label_and_the_rules_link(written):
    for nb in NOTEBOOKS:
        labels = [e.label for e in editions.read_notebook(ROOT / nb).exercises]
        text = "\n".join(_markdown(written / "student" / Path(nb).relative_to("chapters")))
        for label in labels:
            assert f"**Exercise ({label})**" in text
        rules = plain.site_url(ROOT) + "book/grading_rules.html"
        assert text.count(rules) >= len(labels)


def test_the_instructor_edition_keeps_each_solution_and_the_student_edition_none(written):
    for nb in NOTEBOOKS:
        rel = Path(nb).relative_to("chapters")
        labels = [e.label for e in editions.read_notebook(ROOT / nb).exercises]
        student = "\n".join(_markdown(written / "student" / rel))
        instructor = "\n".join(_markdown(written / "instructor" / rel))
        for label in labels:
            assert f"**Solution ({label}).**" in instructor
            assert f"Solution ({label})" not in student
