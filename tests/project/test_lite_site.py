"""The in-browser (JupyterLite) site: it builds offline and ships every chapter notebook and the wheel.

The book build makes the lite site with ``lite/lite_build.py`` and ``jupyterlite_sphinx`` and checks
it at the end (including each chapter page's launch button). To test that without a second full
book build, this file builds a one-page Sphinx project with the same extension and settings, which
runs the same wheel build and the same ``jupyter lite build``, with the network cut off when the
machine allows it (``unshare -n``).

The notebooks it ships are student copies (issue 33): checked here against the sources, no solution
line, no MyST directive or role left raw, every book macro written out (none left for a cell typeset
early to show red), the Pyodide kernel in their kernelspec, and the sources unchanged by the build. The visible live link on
each chapter page is checked on the built book by ``tests/browser/test_live_link.py``.

What this cannot check: running a notebook in the browser. The lite site's Python (Pyodide) is
downloaded by the reader's browser from its CDN when a kernel starts, and this machine cannot
fetch it. ``tests/library/test_without_numba.py`` checks the part of that we can: the library without numba.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lite"))
import lite_build  # noqa: E402

from courseware import plain  # noqa: E402

pytest.importorskip("jupyterlite_sphinx", reason="jupyterlite-sphinx is not installed (requirements.txt lists it)")


def _offline_prefix() -> list[str]:
    """``unshare -n`` (a private network namespace with no network) when it works here, else nothing."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def _source_hashes() -> dict[str, str]:
    """SHA-256 of every file under chapters/ (the sources the lite build reads and must not touch)."""
    return {p.relative_to(ROOT).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((ROOT / "chapters").rglob("*")) if p.is_file() and ".ipynb_checkpoints" not in p.parts}


@pytest.fixture(scope="module")
def lite_site(tmp_path_factory):
    work = tmp_path_factory.mktemp("lite")
    sources = _source_hashes()
    src = work / "src"
    src.mkdir()
    (src / "index.rst").write_text("Lite site test\n==============\n", encoding="utf-8")
    (src / "conf.py").write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(ROOT / 'lite')!r})
        extensions = ["lite_build"]
        pedagogy_lite_root = {str(ROOT)!r}
        pedagogy_lite_check_buttons = False     # this one-page project has no chapter pages
        jupyterlite_bind_ipynb_suffix = False
        jupyterlite_silence = True
    """), encoding="utf-8")
    html = work / "_build" / "html"
    offline = _offline_prefix()
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    res = subprocess.run([*offline, sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", str(src), str(html)],
                         cwd=src, env=env, capture_output=True, text=True, timeout=900)
    return {"html": html, "work": work, "src": src, "offline": bool(offline), "result": res, "sources": sources}


@pytest.mark.slow
def test_lite_site_builds(lite_site):
    res = lite_site["result"]
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    if not lite_site["offline"]:
        print("note: built with the network available (unshare -n is not permitted here)")


def test_lite_site_ships_every_chapter_notebook_and_the_wheel(lite_site):
    lite = lite_site["html"] / "lite"
    notebooks = lite_build.chapter_notebooks()
    assert len(notebooks) >= 19
    assert lite_build.lite_site_problems(lite, notebooks) == []
    staged = lite_site["html"].parent / "lite_staging" / "contents"
    for rel in notebooks:                                   # the student copies, as staged
        assert (lite / "files" / rel).read_bytes() == (staged / rel).read_bytes(), rel


def test_lite_site_leaves_the_source_tree_alone(lite_site):
    # staging, wheel build, lite settings and cache all live next to the HTML output
    staging = lite_site["html"].parent / "lite_staging"
    assert (staging / "contents" / "chapters").is_dir() and (staging / "lite_dir" / ".cache").is_dir()
    for name in ("_contents", ".jupyterlite.doit.db", "build", ".cache"):
        assert not (lite_site["src"] / name).exists(), name
    assert not (ROOT / "_contents").exists() and not (ROOT / "lite" / ".cache").exists()


def test_pages_do_not_load_the_lite_embedding_assets(lite_site):
    page = (lite_site["html"] / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in page and "jupyterlite_sphinx" not in page


def test_wheel_is_pure_python_without_numba_and_imports_without_it(lite_site, tmp_path):
    wheel, = (lite_site["html"] / "lite" / "pypi").glob("pedagogy_lib-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        zf.extractall(tmp_path / "site")
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert not [r for r in requires if r.startswith("numba") and "extra" not in r], requires
    assert any(r.startswith("numba") and 'extra == "fast"' in r for r in requires), requires
    assert not list((tmp_path / "site").rglob("*.nb[ic]")) and not list((tmp_path / "site").rglob("*.pyc"))
    # The unpacked wheel alone (not the working tree), with numba unimportable, runs every kernel.
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(textwrap.dedent("""\
        import sys
        class _RefuseNumba:
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in ("numba", "llvmlite"):
                    raise ModuleNotFoundError(name)
        sys.meta_path.insert(0, _RefuseNumba())
    """), encoding="utf-8")
    code = textwrap.dedent(f"""\
        import pedagogy_lib, pedagogy_lib.core.warmup as warmup
        from pedagogy_lib.core.jit import HAVE_NUMBA
        assert pedagogy_lib.__file__.startswith({str(tmp_path / 'site')!r}), pedagogy_lib.__file__
        assert not HAVE_NUMBA
        warmup.compile_all()
        print("wheel ok")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "hook"), str(tmp_path / "site")]),
               MPLBACKEND="Agg")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0 and "wheel ok" in res.stdout, res.stdout + res.stderr


# --- the lite copy is a student edition that a plain Jupyter front end renders (issue 33) ---------

_SOLUTION_BLOCK = re.compile(r"^(?P<fence>:{3,})\{solution\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
_EXERCISE_LABEL = re.compile(r"^:{3,}\{exercise\}[^\n]*\n:label:[ \t]*(?P<label>\S+)", re.M)
_DIRECTIVE_FENCE = re.compile(r"^[ \t>]*(?::{3,}|`{3,})\{", re.M)
_ROLE = re.compile(r"(?<![\w\\}])\{[a-z][\w:-]*\}`")
_MD_LINK = re.compile(r"\]\(([^)\s]+\.ipynb)\)")


def _text(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _lite_copies(lite_site) -> list[tuple[Path, dict, dict]]:
    """(path, source notebook, lite copy) of every chapter notebook."""
    lite = lite_site["html"] / "lite" / "files"
    return [(rel, _read(ROOT / rel), _read(lite / rel)) for rel in lite_build.chapter_notebooks()]


def test_the_lite_build_leaves_the_chapter_sources_unchanged(lite_site):
    assert lite_site["sources"], "no files under chapters/"
    assert _source_hashes() == lite_site["sources"]


def test_no_lite_notebook_contains_a_solution(lite_site):
    checked = 0
    for rel, source, lite in _lite_copies(lite_site):
        solutions, rest = [], []
        for cell in source["cells"]:
            text = _text(cell)
            if cell["cell_type"] == "markdown":
                solutions += [m.group("body") for m in _SOLUTION_BLOCK.finditer(text)]
                rest.append(_SOLUTION_BLOCK.sub("", text))
            elif "remove-cell" not in cell.get("metadata", {}).get("tags", []):
                rest.append(text)                  # (hidden cells may re-run the solutions)
        rest = "\n".join(rest)
        shipped = "\n".join(_text(c) for c in lite["cells"])
        for body in solutions:
            # every line of a solution that says something (and is not also said outside it)
            for line in (ln.strip() for ln in body.splitlines()):
                if len(line) < 16 or line.startswith((":", "```")) or line in rest:
                    continue
                assert line not in shipped, f"{rel}: the lite copy shows the solution line {line!r}"
                checked += 1
        assert not [c for c in lite["cells"] if c["cell_type"] == "code" and c.get("outputs")], \
            f"{rel}: the lite copy keeps outputs"
    assert checked >= 186, f"only {checked} solution lines checked"   # every solution has at least one


def test_lite_notebooks_state_every_exercise_as_plain_markdown(lite_site):
    total = 0
    for rel, source, lite in _lite_copies(lite_site):
        labels = [m.group("label") for c in source["cells"] if c["cell_type"] == "markdown"
                  for m in _EXERCISE_LABEL.finditer(_text(c))]
        shipped = "\n".join(_text(c) for c in lite["cells"] if c["cell_type"] == "markdown")
        for label in labels:
            assert shipped.count(f"**Exercise ({label})**") == 1, f"{rel}: exercise {label} is not stated once"
        total += len(labels)
    assert total >= 186


def test_lite_notebooks_have_no_myst_directives_or_roles(lite_site):
    for rel, _source, lite in _lite_copies(lite_site):
        for i, cell in enumerate(lite["cells"]):
            if cell["cell_type"] != "markdown":
                continue
            text = _text(cell)
            assert not _DIRECTIVE_FENCE.search(text), f"{rel}, cell {i}: a MyST directive fence is left: {text[:300]!r}"
            found = _ROLE.findall(text)
            assert not found, f"{rel}, cell {i}: MyST role syntax is left: {found}"


def test_lite_notebooks_cite_and_link_as_text(lite_site):
    copies = {rel.as_posix(): lite for rel, _s, lite in _lite_copies(lite_site)}
    # {cite}`makin2025` (the draft: one author, 2025) and {cite}`oord2018,poole2019`
    cited = [rel for rel, source, _l in _lite_copies(lite_site)
             if "{cite}`makin2025`" in "".join(_text(c) for c in source["cells"])]
    assert cited
    for rel in cited:
        assert "(Makin 2025)" in "".join(_text(c) for c in copies[rel.as_posix()]["cells"]), rel
    both = [lite for rel, source, lite in _lite_copies(lite_site)
            if "{cite}`oord2018,poole2019`" in "".join(_text(c) for c in source["cells"])]
    assert both and all("(van den Oord et al. 2018; Poole et al. 2019)" in "".join(_text(c) for c in lite["cells"])
                        for lite in both)
    # {doc} becomes a relative link that opens the other notebook's lite copy
    lite_files = lite_site["html"] / "lite" / "files"
    links = 0
    for rel, _source, lite in _lite_copies(lite_site):
        for c in lite["cells"]:
            if c["cell_type"] == "markdown":
                for href in _MD_LINK.findall(_text(c)):
                    assert (lite_files / rel.parent / href).resolve().is_file(), f"{rel}: link to {href} leads nowhere"
                    links += 1
    assert links >= 20


def test_lite_notebooks_link_book_pages_on_the_published_site(lite_site):
    """JupyterLab opens a relative link as a file of the lite site, which ships only notebooks: a link
    to a book page (notation, rules for graded answers, equation index) must be the published page."""
    site = lite_build.site_url(ROOT)
    assert site.startswith("https://"), "no site address derives from _config.yml's repository.url"
    lite_files = lite_site["html"] / "lite" / "files"
    published = 0
    for rel, _source, lite in _lite_copies(lite_site):
        for i, c in enumerate(lite["cells"]):
            if c["cell_type"] != "markdown":
                continue
            prose = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", "", _text(c), flags=re.S)     # a formula is not a link
            for href in re.findall(r"\]\(([^)\s]+)\)", prose):
                path = href.partition("#")[0]
                if href.startswith(site):
                    page = ROOT / path[len(site):]
                    assert page.with_suffix(".md").is_file() or page.with_suffix(".ipynb").is_file(), \
                        f"{rel}, cell {i}: {href} names no page of the book"
                    published += 1
                elif not re.match(r"[a-z][\w+.-]*:|#", href):
                    assert (lite_files / rel.parent / path).resolve().is_file(), \
                        f"{rel}, cell {i}: the relative link {href} leads nowhere in the lite site"
    assert published >= 100            # every exercise links the rules page


def _docutils_ids(markdown: str) -> set[str]:
    """The ids docutils (with MyST, as the book's build parses a page) gives the elements of a page."""
    from docutils import nodes
    from docutils.core import publish_doctree
    from myst_parser.parsers.docutils_ import Parser

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    tree = publish_doctree(markdown, parser=Parser(), settings_overrides={
        "report_level": 5, "halt_level": 5, "myst_heading_anchors": 6,
        "myst_enable_extensions": [e for e in config["parse"]["myst_enable_extensions"] if e != "substitution"]})
    return {i for node in tree.findall(nodes.Element) for i in node.get("ids", [])}


@pytest.mark.slow
def test_every_fragment_of_a_lite_link_names_an_id_of_its_page(tmp_path):
    """A ``[text](page.md#slug)`` link of a notebook becomes ``<site>/page.html#id`` in its lite copy:
    the id the page's HTML gives that heading, which drops the section number the slug keeps
    (``#222-state-space-models...`` -> ``#state-space-models...``). Every fragment is checked against
    the ids docutils gives the page's source as the build reads it (the equation index filled in)."""
    site = lite_build.site_url(ROOT)
    staged = tmp_path / "contents"
    lite_build.stage_contents(staged, ROOT)
    ids, checked, problems = {}, 0, []
    for path in sorted(staged.rglob("*.ipynb")):
        for href in lite_build.site_links(json.loads(path.read_text(encoding="utf-8")), site):
            rel, _, fragment = href[len(site):].partition("#")
            if not fragment:
                continue
            page = ROOT / Path(rel).with_suffix(".md")
            if page not in ids:
                ids[page] = _docutils_ids(plain.page_source(page, ROOT))
            checked += 1
            if fragment not in ids[page]:
                problems.append(f"{path.relative_to(staged)}: {href}")
    assert checked >= 50, f"only {checked} fragments checked"        # 57 when this test was written
    assert not problems, "fragments that name no id of their page:\n" + "\n".join(problems[:20])


def test_a_heading_slug_becomes_the_id_docutils_gives_the_heading():
    page = ("# Chapter 2: Directed models\n\n(my-label)=\n## 2.2.1 The hidden Markov model and the α-γ algorithm\n\n"
            "```python\n# 1.1 not a heading\n```\n\n## 2.2.2 State-space models: the `Kalman` filter\n\n"
            "## Examples\n\n## Examples\n")
    ids = plain.heading_ids(page)
    real = _docutils_ids(page)
    assert ids["chapter-2-directed-models"] == "chapter-2-directed-models"
    assert ids["221-the-hidden-markov-model-and-the-α-γ-algorithm"] == "the-hidden-markov-model-and-the-algorithm"
    assert ids["222-state-space-models-the-kalman-filter"] == "state-space-models-the-kalman-filter"
    assert ids["my-label"] == "my-label"
    assert "11-not-a-heading" not in ids                    # a comment in a code block
    assert ids["examples"] == "examples"
    assert {ids[k] for k in ("chapter-2-directed-models", "221-the-hidden-markov-model-and-the-α-γ-algorithm",
                             "222-state-space-models-the-kalman-filter", "my-label", "examples")} <= real


def test_every_book_macro_is_written_out_in_the_lite_notebooks(lite_site):
    """No lite formula relies on a macro defined elsewhere: the source's uses are there, expanded."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    macros = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    assert {"N", "E", "T"} <= set(macros)
    written_out = 0
    for rel, source, lite in _lite_copies(lite_site):
        source_md = "\n".join(_text(c) for c in source["cells"] if c["cell_type"] == "markdown")
        lite_md = "\n".join(_text(c) for c in lite["cells"] if c["cell_type"] == "markdown")
        assert "\\newcommand" not in lite_md, rel
        for name, definition in macros.items():
            pattern = rf"\\{re.escape(name)}(?![A-Za-z])"
            assert not re.search(pattern, lite_md), f"{rel}: \\{name} is left for MathJax to define"
            if name == "N" and rel.stem == "8_3_forward_diffusion":
                assert len(re.findall(pattern, source_md)) >= 5 and lite_md.count(definition) >= 5
                written_out += 1
    assert written_out == 1, "the 8.3 notebook's \\N is not found (see issue 33)"


def test_expand_macros_writes_out_nested_macros_braces_scripts_and_refuses_arguments():
    macros = {"Sx": r"\boldsymbol{\Sigma}_{\hat{x}}", "Si": r"\Sx^{-1}", "f": [r"f(#1)", 1]}
    text = r"$a^\Sx + \Si\Sx - \Sxy$ and `f`"
    assert plain.expand_macros(text, macros) == (
        r"$a^{\boldsymbol{\Sigma}_{\hat{x}}} + \boldsymbol{\Sigma}_{\hat{x}}^{-1}\boldsymbol{\Sigma}_{\hat{x}}"
        r" - \Sxy$ and `f`")
    with pytest.raises(ValueError, match=r"\\f takes arguments"):
        plain.expand_macros(r"$\f{x}$", macros)
    with pytest.raises(ValueError, match="cycle"):
        plain.expand_macros(r"$\A$", {"A": r"\B", "B": r"\A"})


def test_lite_notebooks_open_on_the_pyodide_kernel(lite_site):
    for rel, source, lite in _lite_copies(lite_site):
        assert source["metadata"]["kernelspec"]["name"] == "python3"      # the book's kernel
        assert lite["metadata"]["kernelspec"] == {"name": "python", "display_name": "Python (Pyodide)",
                                                  "language": "python"}, rel


def _cell(kind: str, text: str, n: int, tags: list | None = None) -> dict:
    cell = {"cell_type": kind, "id": f"c{n}", "metadata": {"tags": tags} if tags else {}, "source": text}
    if kind == "code":
        cell.update(execution_count=1, outputs=[{"output_type": "stream", "name": "stdout", "text": "out\n"}])
    return cell


def test_student_notebook_rewrites_myst_for_a_plain_front_end(tmp_path):
    """The conversion on a small made-up book (no build): each rule once, with made-up names."""
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "references.bib").write_text(textwrap.dedent("""\
        @book{doe2020,
          author = {Doe, Jane},
          title  = {A {B}ook},
          year   = {2020}
        }
        @article{roe2019,
          author = {Ro{\\"e}, Ann and Moe, Bo and Poe, Cy},
          title  = "An article",
          year   = 2019
        }
    """), encoding="utf-8")
    (tmp_path / "_config.yml").write_text(textwrap.dedent("""\
        repository:
          url: https://github.com/made-up-owner/made-up-book
        sphinx:
          config:
            mathjax3_config:
              tex:
                macros:
                  "E": "\\\\mathbb{E}"
                  "Nrm": "\\\\mathcal{N}"
                  "T": "\\\\mathsf{T}"
    """), encoding="utf-8")
    folder = tmp_path / "chapters" / "ch01_test"
    folder.mkdir(parents=True)
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    other = {"cells": [_cell("markdown", "# 1.2 The other page\n", 0)], "metadata": meta, "nbformat": 4,
             "nbformat_minor": 5}
    (folder / "b.ipynb").write_text(json.dumps(other), encoding="utf-8")
    intro = ("# 1.1 A test page\n\nAs in {cite}`doe2020` and {cite:t}`roe2019,doe2020`; see {doc}`b`, "
             "{doc}`that page <b>`, {eq}`eq-one`, {ref}`ex-one` and {math}`\\Nrm(0, 1)`, not {cite}`nokey`.\n\n"
             "```{note}\nA note citing {cite}`doe2020`.\n```\n\n"
             ":::{admonition} Careful here\n:class: warning\nSecond line.\n:::\n")
    exercise = (":::{exercise}\n:label: ex-one\nCompute $\\E[x]$ and $x_i^\\T x_j$, then pass it.\n:::\n\n"
                "::::{solution} ex-one\n:class: dropdown\n```python\nmy_answer = 6 * 7 * 1000003\ncheck.fn(my_answer)\n"
                "```\nThe secret reasoning of the solution.\n::::\n")
    nb = {"cells": [_cell("markdown", intro, 1),
                    _cell("code", "from pedagogy_lib.exercises import ch04_objectives as check", 2),
                    _cell("markdown", exercise, 3),
                    _cell("code", "my_answer = None  # your code here\ncheck.fn(my_answer)", 4),
                    _cell("code", "check.fn(6 * 7 * 1000003)", 5, tags=["remove-cell"])],
          "metadata": meta, "nbformat": 4, "nbformat_minor": 5}
    path = folder / "a.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    before = path.read_bytes()

    out = lite_build.student_notebook(path, tmp_path)

    assert path.read_bytes() == before
    assert out["metadata"]["kernelspec"] == {"name": "python", "display_name": "Python (Pyodide)",
                                             "language": "python"}
    cells = out["cells"]
    text = "\n".join(_text(c) for c in cells)
    for expected in ("As in (Doe 2020) and Roë et al. (2019), Doe (2020); see [1.2 The other page](b.ipynb), "
                     "[that page](b.ipynb), Eq. (eq-one), Exercise (ex-one) and $\\mathcal{N}(0, 1)$, not ([nokey]).",
                     "> **Note.**\n>\n> A note citing (Doe 2020).",
                     "> **Careful here.**\n>\n> Second line.",
                     "**Exercise (ex-one)**\n\nCompute $\\mathbb{E}[x]$ and $x_i^{\\mathsf{T}} x_j$, then pass it."):
        assert expected in text, (expected, text)
    for gone in ("1000003", "secret reasoning", ":::", "```{", "{cite", ":class:"):
        assert gone not in text, gone
    assert [c["id"] for c in cells] == ["c1", "c2", "c3", "c4"]     # the solution check is dropped
    assert all(c.get("outputs") == [] for c in cells if c["cell_type"] == "code")
