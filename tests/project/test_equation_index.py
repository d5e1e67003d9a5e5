"""The equation index (``_ext/equation_index.py``): the draft's list of equations, the citations the
generator finds, and the links of the pages it writes (an overview and a page per chapter).

The generator is exercised on a miniature checkout (``tests/fixtures/equation_index``) whose
every citation is known, then on the project itself: each citation must name an equation the
draft has, each link of a generated page must lead somewhere (the repository file and the line
of the ``def``; the notebook and the heading), and each link into the index from a notebook or
a page must reach the chapter page that has its heading. When a built site is present
(``PEDAGOGY_SITE`` or ``_build/html``), the links of the built pages are checked in it as well.
"""
from __future__ import annotations

import functools
import json
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "equation_index"
sys.path.insert(0, str(ROOT / "_ext"))
import equation_index as ei  # noqa: E402

DRAFT = ei.Draft.load(ROOT)
FIXTURE_CONFIG = {"url": "https://example.org/companion", "branch": "main",
                  "extensions": ["amsmath", "dollarmath", "colon_fence", "deflist", "substitution"],
                  "heading_anchors": 6}


# --- the draft's list ---------------------------------------------------------------------------
# Numbered equations per chapter in the draft of 31 July 2025 (counted in the draft's PDF
# numbering: the last equation of each chapter), 6.8 being split into 6.8a and 6.8b.
LAST = {"1": 5, "2": 61, "3": 4, "4": 6, "5": 28, "6": 15, "7": 4, "8": 48, "9": 8, "10": 27,
        "A": 8, "B": 15}


def test_draft_list_is_complete_ordered_and_sectioned():
    chapters = {c["number"]: c for c in DRAFT.chapters}
    for chapter, last in LAST.items():
        labels = [e["label"] for e in DRAFT.equations if e["chapter"] == chapter]
        numbers = [int(re.match(r"[0-9]+", x.split(".")[1]).group()) for x in labels]
        assert sorted(set(numbers)) == list(range(1, last + 1)), f"chapter {chapter}: {labels}"
        assert numbers == sorted(numbers), f"chapter {chapter} out of order"
    assert [e["label"] for e in DRAFT.equations if e["label"].startswith("6.8")] == ["6.8a", "6.8b"]
    for e in DRAFT.equations:
        sections = {chapters[e["chapter"]]["number"]} | {s["number"] for s in chapters[e["chapter"]]["sections"]}
        assert e["section"] in sections, e
        assert "line" not in json.dumps(e), "the list must not carry line numbers of the text conversion"
    # spot checks against the draft's table of contents and text
    assert DRAFT.by_label["2.47"]["section"] == "2.2.2"
    assert DRAFT.by_label["2.1"]["section"] == "2"
    assert DRAFT.by_label["A.7"]["section"] == "A.1"
    assert DRAFT.sections["2.2.1"]["title"] == "The hidden Markov Model and the α-γ algorithm"


# --- recognising citations ------------------------------------------------------------------
@pytest.mark.parametrize("text, labels", [
    ("see Eq. 2.47.", ["2.47"]),
    ("(Eq. 2.47)", ["2.47"]),
    ("Eq. (2.47)", ["2.47"]),
    ("Eqs. 2.47-2.48", ["2.47", "2.48"]),
    ("Eqs. 2.25–2.27", ["2.25", "2.26", "2.27"]),
    ("Eqs. 2.13-2.14 and 2.16", ["2.13", "2.14", "2.16"]),
    ("Eqs. 2.47, 2.48, 2.53, 2.54);", ["2.47", "2.48", "2.53", "2.54"]),
    ("Eqs. 2.31/2.32 vs 2.21/2.22", ["2.31", "2.32", "2.21", "2.22"]),
    ("Eqs.\n    4.1-4.2", ["4.1", "4.2"]),
    (r"\text{(Eqs. A.6-A.7)}", ["A.6", "A.7"]),
    ("Eqs. 6.7-6.9", ["6.7", "6.8a", "6.8b", "6.9"]),
    ("Eq. 6.8", ["6.8a", "6.8b"]),
    ("Section 2.2.2, Fig. 2.6 and 2.0 bits", []),
    ("the draft's broken reference (Eq. 2.1.1)", []),
])
def test_citation_forms(text, labels):
    found = []
    for _, _, items in ei.find_citations(text):
        for a, b in items:
            found += DRAFT.expand(a, b)
    assert found == labels


def test_equations_named_in_a_test_name():
    assert ei.name_markers("test_marginal_cumulants_eqs_2_16_2_17_monte_carlo") == [("2.16", None), ("2.17", None)]
    assert ei.name_markers("test_marble_problem_data_is_eqs_4_1_and_4_2") == [("4.1", None), ("4.2", None)]
    assert ei.name_markers("test_gain_of_eq_2_53_and_mistakes") == [("2.53", None)]
    assert ei.name_markers("test_frequency_response") == []
    # a range in a name: its two ends, read as one item ("to" alone, or after no label, is a word)
    assert ei.name_markers("test_chain_rule_through_AX_XA_AXBt_eqs_b_3_to_b_5") == [("B.3", "B.5")]
    assert ei.name_markers("test_eqs_2_16_2_17_to_2_19_and_4_1") == [("2.16", None), ("2.17", "2.19"), ("4.1", None)]
    assert ei.name_markers("test_eq_2_53_to_the_end") == [("2.53", None)]
    assert ei.name_markers("test_eqs_to_2_5") == []


def test_a_range_in_a_test_name_links_the_test_to_every_equation_of_it(tmp_path):
    """``..._eqs_b_3_to_b_5`` names B.3, B.4 and B.5: the test is listed on each of their rows."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "def test_chain_rule_eqs_b_3_to_b_5():\n    pass\n\n\ndef test_backwards_eqs_b_5_to_b_3():\n    pass\n",
        encoding="utf-8")
    citations = ei.test_citations(tmp_path, DRAFT)
    good = [c for c in citations if not c.error]
    assert [(c.source.name, c.labels) for c in good] == [("test_x.py::test_chain_rule_eqs_b_3_to_b_5", ["B.3", "B.4", "B.5"])]
    rows = ei.index_rows(citations, DRAFT)
    assert [len(rows[x]["test"]) for x in ("B.2", "B.3", "B.4", "B.5", "B.6")] == [0, 1, 1, 1, 0]
    bad = [c for c in citations if c.error]                 # a range running backwards is a typo
    assert [c.source.name for c in bad] == ["test_x.py::test_backwards_eqs_b_5_to_b_3"]
    assert "in the test's name" in bad[0].error


def test_the_index_tests_own_examples_are_not_links(tmp_path):
    """This file cites equations as examples for the parser; its tests check none of them."""
    for rel in (ei.SELF_TEST, "tests/project/test_other.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text('def test_x():\n    """Eq. 2.47."""\n', encoding="utf-8")
    assert [c.source.path for c in ei.test_citations(tmp_path, DRAFT)] == ["tests/project/test_other.py"]


def test_a_range_in_a_docstring_or_comment_links_only_its_two_ends(tmp_path):
    """"Eqs. 2.12-2.27" in a function's docstring does not make the function a link for 2.13-2.26,
    and its two ends are mentions, not counted; listing them does count. A test's comment likewise;
    a notebook section's range still spreads."""
    (tmp_path / "pedagogy_lib" / "fam").mkdir(parents=True)
    (tmp_path / "pedagogy_lib" / "fam" / "m.py").write_text(
        'def wide():\n    """Bayes inversion, Eqs. 2.12-2.27."""\n\n\n'
        'def listed():\n    """The filter, Eqs. 2.45, 2.46 and 2.47, and the family Eq. 6.7-6.8."""\n',
        encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_m.py").write_text(
        "def test_wide():\n    # Eqs. 2.16-2.18\n    pass\n", encoding="utf-8")
    citations = ei.library_citations(tmp_path, DRAFT) + ei.test_citations(tmp_path, DRAFT)
    by_name: dict[str, list[str]] = {}
    for c in citations:
        by_name.setdefault(c.source.name, []).extend(c.labels)
    assert by_name["fam.m.wide"] == ["2.12", "2.27"]
    assert by_name["fam.m.listed"] == ["2.45", "2.46", "2.47", "6.7", "6.8a", "6.8b"]   # 6.8 is 6.8a and 6.8b
    assert by_name["test_m.py::test_wide"] == ["2.16", "2.18"]
    rows = ei.index_rows(citations, DRAFT)
    assert [ei.computed(rows[x]) for x in ("2.12", "2.13", "2.20", "2.26", "2.27")] == [False] * 5
    assert [ei.checked(rows[x]) for x in ("2.16", "2.17", "2.18")] == [False] * 3
    assert [s.role for s in rows["2.12"]["code"]] == ["mention"]       # listed, as a mention
    assert [ei.computed(rows[x]) for x in ("2.45", "2.46", "2.47")] == [True] * 3
    # the strict count is from claims only: a range's ends are mentions
    assert ei.strict_coverage(rows, [f"2.{n}" for n in range(12, 28)])[0] == 0
    # a range that is not a range of the draft is still an error, not two silent ends
    c = ei._cite(DRAFT, ei.Source("code", "f", "p.py", 1, role="function"), "Eqs. 2.27-2.12")
    assert c[0].error and c[0].labels == []
    # a notebook section's range: every equation (a page derives the steps between the ends)
    nb = ei._cite(DRAFT, ei.Source("notebook", "s", "c.ipynb"), "the chain of Eqs. 3.2-3.4")
    assert nb[0].labels == ["3.2", "3.3", "3.4"]


def test_context_mentions_validators_and_properties_do_not_count(tmp_path):
    """Only a citation that claims computing or checking counts: "see Eq.", "as in Eq.", "cf.",
    "after Eq.", "from Eq." just before it, a validator (``check_*``), a property and a module's
    docstring are listed as mentions and left out of the strict counts."""
    (tmp_path / "pedagogy_lib" / "fam").mkdir(parents=True)
    (tmp_path / "pedagogy_lib" / "fam" / "m.py").write_text(
        '"""The module: Eq. 2.30."""\n\n\n'
        'def gain():\n    """The gain of Eq. 2.47, from Eq. 2.27. Inputs as in Eq. 2.11."""\n\n\n'
        'def helper():\n    """A step of the sampler (see Eq. 8.22). Cf. Eq. 6.6; the box after Eq. 8.26."""\n\n\n'
        'def check_model():\n    """Validate the parameters of Eq. 2.45."""\n\n\n'
        'class Result:\n    """Results."""\n\n'
        '    @property\n    def free_energy(self):\n        """The free energy, Eq. 6.9."""\n\n'
        '    def value(self):\n        """The value, Eq. 6.7."""\n',
        encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_m.py").write_text(
        'def test_gain():\n    """The gain, Eq. 2.46."""\n    # the same cases as in Eq. 8.9\n    pass\n\n\n'
        'def test_elbo():\n    # ELBO sandwich (cf. Eq. 6.6)\n    # the erratum after Eq. 7.3 matters\n    # Eq. 2.16\n    pass\n',
        encoding="utf-8")
    citations = ei.library_citations(tmp_path, DRAFT) + ei.test_citations(tmp_path, DRAFT)
    rows = ei.index_rows(citations, DRAFT)
    assert [x for x in DRAFT.labels if ei.computed(rows[x])] == ["2.47", "6.7"]
    assert [x for x in DRAFT.labels if ei.checked(rows[x])] == ["2.16", "2.46"]

    def roles(label, kind):
        return [(s.name, s.role) for s in rows[label][kind]]

    assert roles("2.27", "code") == [("fam.m.gain", "mention")]
    assert roles("2.11", "code") == [("fam.m.gain", "mention")]
    assert roles("8.22", "code") == roles("6.6", "code") == roles("8.26", "code") == [("fam.m.helper", "mention")]
    assert roles("2.45", "code") == [("fam.m.check_model", "validator")]
    assert roles("6.9", "code") == [("fam.m.Result.free_energy", "property")]
    assert roles("2.30", "code") == [("fam.m", "module")]
    assert roles("8.9", "test") == [("test_m.py::test_gain", "mention")]
    assert roles("6.6", "test") == roles("7.3", "test") == [("test_m.py::test_elbo", "mention")]
    # the same equation claimed in one place and mentioned in another is a claim, listed once
    both = ei._cite(DRAFT, ei.Source("code", "f", "p.py", 1, role="function"), "Eq. 2.47; see Eq. 2.47.")
    assert [c.strict for c in both] == [True, False]
    # a colon ends the clause of a context word; "cf." does not
    place = ei._cite(DRAFT, ei.Source("test", "t", "t.py", 1), "Erratum (after Eq. 7.1): Eq. 7.1 holds. Cf. Eq. 6.6")
    assert [c.strict for c in place] == [False, True, False]
    assert [s.role for s in ei.index_rows(both, DRAFT)["2.47"]["code"]] == ["function"]
    # mentions are listed on the chapter's page, marked, and the strict table leaves them out
    config = {"url": "https://example.org/r", "branch": "main"}
    page = ei.render_chapter(rows, DRAFT, DRAFT.chapters[[c["number"] for c in DRAFT.chapters].index("8")],
                             config, {})
    assert "`fam.m.helper`](https://example.org/r/blob/main/pedagogy_lib/fam/m.py#L8) (mention)" in page
    strict = _overview_rows(ei.render_overview(rows, DRAFT), "## Strict coverage")
    assert strict["All"][1:] == ["2", "2", str(len(DRAFT.labels) - 4)]


def test_a_typo_fails_with_the_file_and_the_citation(tmp_path):
    (tmp_path / "pedagogy_lib").mkdir()
    (tmp_path / "pedagogy_lib" / "kalman.py").write_text(
        'def f():\n    """The update of Eq. 2.47 and the gain of\n    Eq. 2.74."""\n', encoding="utf-8")
    bad = [c for c in ei.all_project_citations(tmp_path, DRAFT) if c.error]
    assert [(c.source.name, c.text) for c in bad] == [("pedagogy_lib/kalman.py:3", "Eq. 2.74")]
    assert "no equation 2.74" in bad[0].error
    with pytest.raises(ValueError):
        DRAFT.expand("2.48", "2.47")          # a range running backwards is a typo too


def test_errata_rows_mark_the_equations_they_correct_not_the_places_they_name():
    page = "\n".join([
        "## Mathematical errors", "",
        "| Where | The draft has | Correct | Demonstrated by |", "|---|---|---|---|",
        "| Eq. 6.4 and, in Section 6.1, the gradient before Eq. 6.1 | a | b | c |",
        "| Section 2.1.3, Eqs. 2.32 and 2.34 | a | b | c |",
        "| Section 7.3, the M step between Eqs. 7.2 and 7.3 | a | b | c |",
        "## Wording", "",
        "| Where | The draft has | Correct | Demonstrated by |", "|---|---|---|---|",
        "| Section 2.2.2, the paragraph after the time update, Eq. 2.48 | a | b | c |",
        "| Eq. 6.8a | a | b | c |",
    ])
    assert ei.errata_labels(ROOT, DRAFT, page) == {"6.4": "mathematical-errors", "2.32": "mathematical-errors",
                                                   "2.34": "mathematical-errors", "6.8a": "wording"}


# --- the three kinds of source, on the fixture ----------------------------------------------
def _fixture_citations():
    return (ei.library_citations(FIXTURE, DRAFT) + ei.test_citations(FIXTURE, DRAFT)
            + ei.notebook_citations(FIXTURE, DRAFT, FIXTURE_CONFIG["extensions"], 6))


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def _rows():
    return ei.index_rows(_fixture_citations(), DRAFT)


def test_fixture_library_docstrings():
    rows = _rows()
    mod = FIXTURE / "pedagogy_lib" / "fam" / "mod.py"
    posterior = [(s.name, s.path, s.line) for s in rows["2.47"]["code"]]
    assert posterior == [("fam.mod.posterior", "pedagogy_lib/fam/mod.py", _line_of(mod, "def posterior"))]
    assert [s.name for s in rows["2.48"]["code"]] == ["fam.mod.posterior"]
    assert [s.name for s in rows["2.53"]["code"]] == ["fam.mod.Result"]
    assert [s.name for s in rows["2.54"]["code"]] == ["fam.mod.Result.gain"]
    # module docstrings count for their module, unless a function of the module cites the same equation
    assert [(s.name, s.line) for s in rows["2.12"]["code"]] == [("fam.mod", 1)]
    assert [s.name for s in rows["2.1"]["code"]] == ["fam"]
    assert rows["2.5"]["code"] == []                       # a private kernel is not listed
    # what each link is: a function computes, a class holds, a module docstring only names
    assert [s.role for s in rows["2.47"]["code"]] == ["function"]
    assert [s.role for s in rows["2.53"]["code"]] == ["class"]
    assert [s.role for s in rows["2.54"]["code"]] == ["function"]       # a public method
    assert [s.role for s in rows["2.12"]["code"]] == ["module"]


def test_fixture_tests():
    rows = _rows()
    path = FIXTURE / "tests" / "test_fam.py"
    line = _line_of(path, "def test_posterior_eq_2_19")
    for label in ("2.13", "2.14", "2.19"):              # docstring, comment, name
        assert [(s.name, s.line) for s in rows[label]["test"]] == [("test_fam.py::test_posterior_eq_2_19", line)]
    for label in ("2.25", "2.27"):                        # a comment's range: its two ends only, as mentions
        assert [(s.name, s.role) for s in rows[label]["test"]] == [("test_fam.py::TestGroup.test_method", "mention")]
        assert not ei.checked(rows[label])
    assert rows["2.26"]["test"] == []
    assert rows["2.40"]["test"] == [] and rows["2.41"]["test"] == []   # not inside a test function


def test_fixture_notebook_sections():
    rows = _rows()
    nb = "chapters/ch02_demo/2_2_2_demo.ipynb"

    def where(label):
        return [(s.path, s.anchor, s.name) for s in rows[label]["notebook"]]

    # the opening's citation of 2.47 yields to the section that cites it
    assert where("2.47") == [(nb, "the-measurement-update", "2.2.2: The measurement update")]
    assert where("2.36") == [(nb, None, "2.2.2 (opening)")]
    assert where("2.15") == [(nb, "step-one", "2.2.2: Step one")]
    assert where("2.26") == [(nb, "step-one", "2.2.2: Step one")]          # a code comment
    assert where("2.9") == [(nb, "the-measurement-update-1", "2.2.2: The measurement update")]


#: The index's pages, one per chapter or appendix of the draft with numbered equations (``LAST``).
CHAPTER_PAGES = {**{str(n): f"chapter_{n}" for n in range(1, 11)}, "A": "appendix_a", "B": "appendix_b"}
INDEX_FOLDER = ROOT / "book" / "equation_index"


def test_fixture_page_links():
    pages = ei.render_pages(_fixture_citations(), DRAFT, FIXTURE_CONFIG, {"2.47": "mathematical-errors"})
    md = pages["book/equation_index/chapter_2"]              # the page of Chapter 2, one folder down
    row = next(line for line in md.splitlines() if line.startswith("| **2.47**"))
    line = _line_of(FIXTURE / "pedagogy_lib" / "fam" / "mod.py", "def posterior")
    assert "**2.47** [erratum](../errata.md#mathematical-errors)" in row
    assert f"(https://example.org/companion/blob/main/pedagogy_lib/fam/mod.py#L{line})" in row
    assert "(../../chapters/ch02_demo/2_2_2_demo.ipynb#the-measurement-update)" in row
    assert f"mod.py#L{line}) |" in row or f"mod.py#L{line}), " in row     # a function: no note
    rows = {l.split(" |")[0]: l for l in md.splitlines() if l.startswith("| **")}
    assert "`fam.mod.Result`](" in rows["| **2.53**"] and ") (type)" in rows["| **2.53**"]
    assert ") (module overview)" in rows["| **2.12**"]
    assert ei.ROLE_KEY in md
    # Chapter 2's rows are on its page only; the overview leads to every chapter's page
    assert [name for name, text in pages.items() if "| **2.47**" in text] == ["book/equation_index/chapter_2"]
    for page in ("chapter_2", "chapter_10", "appendix_b"):
        assert f"](equation_index/{page}.md)" in pages["book/equation_index"], page


def _overview_rows(markdown: str, heading: str) -> dict[str, list[str]]:
    """The rows of the table under ``heading`` in the overview, by the chapter's page name."""
    section = markdown.split(heading + "\n", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        m = re.match(r"^\| (?:\[[^]]+\]\(equation_index/([a-z0-9_]+)\.md\)|(All)) \| (.+) \|$", line)
        if m:
            out[m.group(1) or m.group(2)] = [c.strip().strip("*") for c in m.group(3).split(" | ")]
    return out


def test_strict_coverage_counts_only_functions_and_tests():
    """The overview reports, per chapter and in total, the equations a function computes and those a
    test checks; a citation by a type or a module's docstring alone does not count (the Code column
    of the plain coverage counts them)."""
    md = ei.render_overview(_rows(), DRAFT)
    assert "## Strict coverage" in md
    plain = _overview_rows(md, "## Coverage")
    strict = _overview_rows(md, "## Strict coverage")
    assert list(strict) == list(CHAPTER_PAGES.values()) + ["All"]
    # the fixture's Chapter 2: functions cite 2.47, 2.48 and 2.54 (a method); the type Result cites
    # 2.53 and module docstrings alone cite 2.1 and 2.12; the tests check 2.13, 2.14, 2.19 and the
    # range "Eqs. 2.25-2.27" in a comment mentions its ends 2.25 and 2.27 (listed, not counted)
    assert plain["chapter_2"][:3] == ["61", "6", "5"]                  # Eqs., Code (any kind), Test
    assert strict["chapter_2"] == ["61", "3", "3", str(61 - 6)]       # Eqs., Function, Test, Neither
    assert strict["chapter_10"] == ["27", "0", "0", "27"]
    assert strict["All"] == ["230", "3", "3", str(230 - 6)]

    # one equation whose only code is a module overview, one only a type, one a function, one a test
    module = ei.Source("code", "fam", "pedagogy_lib/fam/__init__.py", 1, group="g", opening=True, role="module")
    kind = ei.Source("code", "fam.T", "pedagogy_lib/fam/t.py", 3, group="t", role="class")
    function = ei.Source("code", "fam.f", "pedagogy_lib/fam/f.py", 5, group="f", role="function")
    test = ei.Source("test", "test_f.py::test_f", "tests/test_f.py", 7, group="tests/test_f.py")
    citations = [ei.Citation(module, "Eq. 10.1", ["10.1"]), ei.Citation(kind, "Eq. 10.2", ["10.2"]),
                 ei.Citation(function, "Eq. 10.3", ["10.3"]), ei.Citation(test, "Eq. 10.4", ["10.4"])]
    rows = ei.index_rows(citations, DRAFT)
    assert [ei.computed(rows[x]) for x in ("10.1", "10.2", "10.3", "10.4")] == [False, False, True, False]
    assert [ei.checked(rows[x]) for x in ("10.1", "10.2", "10.3", "10.4")] == [False, False, False, True]
    assert ei.strict_coverage(rows, ["10.1", "10.2", "10.3", "10.4"]) == (1, 1, 2)
    md = ei.render_overview(rows, DRAFT)
    assert _overview_rows(md, "## Coverage")["chapter_10"][:3] == ["27", "3", "1"]
    assert _overview_rows(md, "## Strict coverage")["chapter_10"] == ["27", "1", "1", "25"]


def test_a_page_per_chapter_committed_and_listed_in_the_toc():
    """The generator makes a page for each chapter of the draft with numbered equations; each is a
    committed file holding only the marker line, listed in ``_toc.yml`` under the overview."""
    import yaml

    expected = [f"book/equation_index/{CHAPTER_PAGES[c]}" for c in LAST]
    pages = ei.render_pages([], DRAFT, FIXTURE_CONFIG, {})
    assert list(pages) == ["book/equation_index"] + expected
    committed = sorted(p.relative_to(ROOT).with_suffix("").as_posix() for p in INDEX_FOLDER.glob("*.md"))
    assert committed == sorted(expected)
    for name in committed:
        text = (ROOT / f"{name}.md").read_text(encoding="utf-8")
        assert text.strip() == ei.MARKER, f"{name}.md must hold only the marker line"
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    entry = next(c for part in toc["parts"] for c in part["chapters"] if c["file"] == "book/equation_index")
    assert [s["file"] for s in entry.get("sections", [])] == expected


# --- the project ----------------------------------------------------------------------------
def test_every_citation_in_the_project_names_an_equation_of_the_draft():
    citations = ei.all_project_citations(ROOT, DRAFT)
    assert len(citations) > 100, "the scan found almost no citations: is it reading the right files?"
    bad = [f"{c.source.name}: {c.text!r} ({c.error})" for c in citations if c.error]
    assert not bad, "citations of equations the draft does not have:\n" + "\n".join(bad)


@functools.lru_cache(maxsize=1)
def _generated() -> tuple[dict, tuple]:
    pages, bad = ei.generate(ROOT)
    return pages, tuple(bad)


@functools.lru_cache(maxsize=1)
def _full_pages() -> dict[Path, str]:
    """Each page of the index as the build reads it: the committed file, its marker replaced."""
    pages, _ = _generated()
    return {ROOT / f"{name}.md": (ROOT / f"{name}.md").read_text(encoding="utf-8").replace(ei.MARKER, text)
            for name, text in pages.items()}


def _links(markdown: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", markdown)


def _headings_of_markdown(markdown: str) -> set[str]:
    md = ei._markdown_parser(ei.book_config(ROOT)["extensions"])
    heads = ei.notebook_headings([{"cell_type": "markdown", "source": [markdown]}], md, 6)
    return {slug for slug in (h[2] for h in heads[0]) if slug}


@pytest.mark.slow
def test_the_generated_pages_list_every_equation_and_the_corrected_ones():
    pages, bad = _generated()
    assert not bad
    corrected = ei.errata_labels(ROOT, DRAFT)
    assert "2.34" in corrected                # the errata page corrects Laplace's approximation, Eq. 2.34
    overview = pages["book/equation_index"]
    for chapter in DRAFT.chapters:
        labels = [e["label"] for e in DRAFT.equations if e["chapter"] == chapter["number"]]
        if not labels:
            assert chapter["number"] not in CHAPTER_PAGES
            continue
        name = CHAPTER_PAGES[chapter["number"]]
        text = pages[f"book/equation_index/{name}"]
        assert text.startswith(f"# {ei.chapter_heading(chapter)}\n"), name
        # the overview's row for the chapter: its link and its number of equations
        assert re.search(rf"^\| \[[^]]+\]\(equation_index/{name}\.md\) \| {len(labels)} \|", overview, flags=re.M), name
        rows = set(re.findall(r"^\| \*\*([0-9A-C.a-z]+)\*\*", text, flags=re.M))
        assert rows <= set(labels), f"{name}: rows of another chapter {sorted(rows - set(labels))}"
        if rows:                               # a row for every equation, cited or not
            assert set(labels) <= rows, sorted(set(labels) - rows)
        else:                                  # a chapter nothing cites: its equations as ranges
            assert f"(Eqs. {labels[0]}-{labels[-1]})" in text, chapter["number"]
        for label in corrected.keys() & rows:
            assert re.search(rf"^\| \*\*{re.escape(label)}\*\* \[erratum\]\(\.\./errata\.md#", text, flags=re.M), label
    assert not re.search(r"^\| \*\*", overview, flags=re.M), "the overview lists chapters, not equations"


def _slugs_of(file: Path, cache: dict) -> set[str]:
    """The heading anchors of a notebook or a markdown page (an index page as generated)."""
    if file not in cache:
        if file.suffix == ".ipynb":
            md = ei._markdown_parser(ei.book_config(ROOT)["extensions"])
            cells = json.loads(file.read_text(encoding="utf-8"))["cells"]
            cache[file] = {h[2] for heads in ei.notebook_headings(cells, md, ei.book_config(ROOT)["heading_anchors"])
                           for h in heads}
        else:
            cache[file] = _headings_of_markdown(_full_pages().get(file) or file.read_text(encoding="utf-8"))
    return cache[file]


def test_every_link_of_the_generated_pages_resolves_in_the_checkout():
    config = ei.book_config(ROOT)
    problems, slugs, every = [], {}, []
    for page, text in _full_pages().items():
        for target in _links(text):
            every.append(target)
            url = urlsplit(target)
            if target.startswith(config["url"] + "/blob/"):
                rest = target[len(config["url"]) + len("/blob/"):]
                branch, _, path_line = rest.partition("/")
                path, _, line = path_line.partition("#L")
                file = ROOT / path
                if branch != config["branch"] or not file.is_file():
                    problems.append(f"{page.name}: {target}: no such file")
                    continue
                lines = file.read_text(encoding="utf-8").splitlines()
                n = int(line)
                if n == 1:
                    continue                     # a module docstring
                if not (1 <= n <= len(lines) and re.match(r"\s*(async\s+)?(def|class)\s", lines[n - 1])):
                    problems.append(f"{page.name}: {target}: line {n} is not a def or class")
            elif url.scheme:
                problems.append(f"{page.name}: {target}: an external link that is not the repository")
            else:
                file = (page.parent / unquote(url.path)).resolve() if url.path else page
                if not file.is_file():
                    problems.append(f"{page.name}: {target}: no such file")
                elif url.fragment and unquote(url.fragment) not in _slugs_of(file, slugs):
                    problems.append(f"{page.name}: {target}: no heading with that anchor")
    assert any(x.startswith(config["url"]) for x in every) and any(".ipynb#" in x for x in every)
    assert not problems, "\n".join(problems)


def _markdown_sources():
    """(file, markdown) of every notebook cell and page of the book that could link to the index."""
    for path in sorted((ROOT / "chapters").rglob("*.ipynb")):
        if ".ipynb_checkpoints" not in path.parts:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            yield path, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for folder in ("book", "chapters"):
        for path in sorted((ROOT / folder).rglob("*.md")):
            yield path, path.read_text(encoding="utf-8")


def test_every_link_into_the_index_reaches_the_page_that_has_the_heading():
    """A link to the index from a notebook or a page reaches a page of the index that exists and
    has the heading the link names (a section's rows are on its chapter's page)."""
    index_pages = set(_full_pages())
    problems, slugs, found = [], {}, 0
    for path, text in _markdown_sources():
        for target in _links(text):
            url = urlsplit(target)
            if url.scheme or "equation_index" not in url.path:
                continue
            found += 1
            file = (path.parent / unquote(url.path)).resolve()
            where = f"{path.relative_to(ROOT)}: {target}"
            if file not in index_pages:
                problems.append(f"{where}: not a page of the index")
            elif url.fragment and unquote(url.fragment) not in _slugs_of(file, slugs):
                problems.append(f"{where}: no heading #{url.fragment} on {file.name}")
    assert found > 50, "hardly a link into the index was found: is the scan reading the right files?"
    assert not problems, "\n".join(problems)


def test_every_chapter_notebook_links_to_its_rows_of_the_index():
    problems, slugs = [], {}
    for path in sorted((ROOT / "chapters").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        first = next("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        folder = os.path.relpath(INDEX_FOLDER, path.parent).replace(os.sep, "/")
        links = re.findall(rf"\]\({re.escape(folder)}/(\w+)\.md#([^)\s]+)\)", first)
        if not links:
            problems.append(f"{path.name}: its opening (first markdown cell) does not link to {folder}/<chapter>.md#...")
        for page, anchor in links:
            file = INDEX_FOLDER / f"{page}.md"
            if file not in _full_pages():
                problems.append(f"{path.name}: {page}.md is not a page of the index")
            elif unquote(anchor) not in _slugs_of(file, slugs):
                problems.append(f"{path.name}: no heading #{anchor} on the index page {page}.md")
    assert not problems, "\n".join(problems)


# --- the built site (when there is one) -------------------------------------------------------
class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


def _parse(path: Path) -> _Anchors:
    p = _Anchors()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_links_of_the_built_pages_resolve_in_the_built_site():
    site = Path(os.environ.get("PEDAGOGY_SITE") or ROOT / "_build" / "html")
    overview = site / "book" / "equation_index.html"
    if not overview.is_file():
        pytest.skip(f"no built equation index at {overview} (build the book, or set PEDAGOGY_SITE)")
    chapters = [site / "book" / "equation_index" / f"{name}.html" for name in CHAPTER_PAGES.values()]
    assert [p.name for p in chapters if not p.is_file()] == [], "chapter pages of the index missing from the site"
    config = ei.book_config(ROOT)
    problems, cache, to_notebooks, to_repository = [], {}, 0, 0
    for page in [overview] + chapters:
        built = _parse(page)
        content = [h for h in built.hrefs if ".html" in h and not h.startswith(("http", "#"))]
        to_notebooks += sum("chapters/" in h for h in content)
        to_repository += sum(h.startswith(config["url"] + "/blob/") for h in built.hrefs)
        for href in content + [h for h in built.hrefs if h.startswith("#")]:
            url = urlsplit(href)
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if not target.is_file():
                problems.append(f"{page.name}: {href}: no such page")
                continue
            if url.fragment:
                ids = cache.setdefault(target, _parse(target).ids)
                if unquote(url.fragment) not in ids:
                    problems.append(f"{page.name}: {href}: no element with that id")
    assert to_notebooks and to_repository, "the built index links to no notebook page or no repository file"
    # and the notebooks' links into the index, as built
    for page in sorted((site / "chapters").rglob("*.html")):
        for href in set(re.findall(r'href="([^"#]*equation_index[^"]*)"', page.read_text(encoding="utf-8"))):
            url = urlsplit(href)
            target = (page.parent / unquote(url.path)).resolve()
            if not target.is_file():
                problems.append(f"{page.relative_to(site)}: {href}: no such page")
            elif url.fragment and unquote(url.fragment) not in cache.setdefault(target, _parse(target).ids):
                problems.append(f"{page.relative_to(site)}: {href}: no element with that id")
    assert not problems, "\n".join(problems)
