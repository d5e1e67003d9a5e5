"""The JupyterLite copy opened in the browser, offline: no dialog, no solution, every formula typeset.

``tests/project/test_lite_site.py`` checks the lite copies as files. Here a few of them are opened in the
built site's JupyterLite notebook app, as the "Open live" link opens them, with every request
that leaves 127.0.0.1 refused (so the Pyodide runtime, which a reader's browser fetches from its
CDN when the kernel starts, never arrives; that part is not checked here). For each notebook:

* the notebook shows, in the book's Pyodide kernel, and no dialog is open (the "Select Kernel"
  dialog opened on every notebook when the kernelspec named another kernel);
* scrolled from top to bottom, every cell of the lite file is drawn; every exercise of the
  source shows its bold "Exercise (label)" line, and no line of code from any solution of the
  source appears anywhere;
* no formula shows an error or an undefined macro (MathJax draws an undefined macro in red, as
  ``\\N`` was on 8.3 before the lite copies wrote the book's macros out).

The notebooks: 8.3 (the page the issue names), the notebook with the most solution code and the
one using the book's macros most.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = "lite/notebooks/index.html?path="
#: Code lines of a solution at least this long are looked for (shorter ones, like ``b = 1``,
#: could be in the page's own code).
MIN_LINE = 16

_SOLUTION = re.compile(r"^(:{3,})\{solution\}[^\n]*\n(?P<body>.*?)^\1\s*$", re.S | re.M)
_EXERCISE = re.compile(r"^(:{3,})\{exercise\}[^\n]*\n(?P<body>.*?)^\1\s*$", re.S | re.M)
_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n(?P<code>.*?)^\1\s*$", re.S | re.M)
_LABEL = re.compile(r"^:label:\s*(\S+)", re.M)


def _markdown(path: Path, kind: str = "markdown") -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == kind)


def telling_solution_lines(path: Path) -> list[str]:
    """:func:`solution_code_lines` of a source notebook that occur nowhere else in it (not the
    exercise's own stub, such as ``check.kalman_gain(my_K)``)."""
    markdown = _markdown(path)
    elsewhere = _SOLUTION.sub("", markdown) + "\n" + _markdown(path, "code")
    return [ln for ln in solution_code_lines(markdown) if ln not in elsewhere]


def solution_code_lines(markdown: str) -> list[str]:
    """The code lines (inside a fence) of every solution block, long enough to be telling."""
    lines = []
    for block in _SOLUTION.finditer(markdown):
        for fence in _FENCE.finditer(block.group("body")):
            lines += [ln.strip() for ln in fence.group("code").splitlines() if len(ln.strip()) >= MIN_LINE]
    return lines


def exercise_labels(markdown: str) -> list[str]:
    return [m.group(1) for block in _EXERCISE.finditer(markdown) for m in _LABEL.finditer(block.group("body"))]


def _macro_uses(markdown: str) -> int:
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    macros = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    return sum(len(re.findall(r"\\" + re.escape(name) + r"(?![A-Za-z])", markdown)) for name in macros)


def chosen_notebooks() -> list[Path]:
    """8.3's forward-diffusion page, the notebook with the most solution code lines and the one
    using the book's macros most (in the sources' order when they tie), without repeats."""
    sources = sorted(p.relative_to(ROOT) for p in (ROOT / "chapters").rglob("*.ipynb")
                     if ".ipynb_checkpoints" not in p.parts)
    text = {p: _markdown(ROOT / p) for p in sources}
    chosen = [p for p in sources if p.stem == "8_3_forward_diffusion"]
    for key in (lambda p: len(telling_solution_lines(ROOT / p)), lambda p: _macro_uses(text[p])):
        best = max(sources, key=key)
        chosen += [] if best in chosen else [best]
    return chosen


def test_the_sources_give_something_to_look_for():
    """The pick and the parsers find solutions, exercises and macros (else the test below would pass empty)."""
    chosen = chosen_notebooks()
    assert len(chosen) >= 2
    markdown = "\n".join(_markdown(ROOT / p) for p in chosen)
    assert sum(len(telling_solution_lines(ROOT / p)) for p in chosen) >= 5
    assert len(exercise_labels(markdown)) >= 6
    assert _macro_uses(markdown) >= 10


#: Walk the notebook's cells in order and collect every drawn cell's text by its index in the notebook
#: (once drawn: a cell out of view may be an empty placeholder), counting formula errors and formulas
#: drawn in red (an undefined macro) on the way. The argument is the number of cells the notebook has.
#: For each cell in turn the script scrolls down while the cell lies below the drawn window, up while it
#: lies above it, and waits while it is inside the window but not drawn yet, until it is drawn. Only
#: the number of steps (two painted frames each) is bounded, by many times what a notebook needs, not the
#: time each step takes:
#: on a loaded machine the windowed list draws late or skips a cell that scrolled past while it was
#: busy, and the walk then takes longer instead of ending with cells unseen.
_SCROLL = """async (n) => {
    const outer = document.querySelector('.jp-WindowedPanel-outer');
    const seen = {};
    let bad = 0, formulas = 0, next = 0;
    const look = () => {
        const drawn = [];
        for (const cell of document.querySelectorAll('.jp-Notebook .jp-Cell[data-windowed-list-index]')) {
            const i = cell.getAttribute('data-windowed-list-index'), text = cell.innerText.trim();
            drawn.push(Number(i));
            if (text && text.length >= (seen[i] || '').length) seen[i] = text;   // drawn, not a placeholder
        }
        formulas = Math.max(formulas, document.querySelectorAll('.jp-Notebook mjx-container').length);
        bad += document.querySelectorAll('.jp-Notebook mjx-merror').length;
        bad += [...document.querySelectorAll('.jp-Notebook mjx-container [style]')]
            .filter(el => /color:\\s*red/.test(el.getAttribute('style'))).length;
        return drawn;
    };
    // a step waits two painted frames (the list draws what a scroll uncovered in the next frame), or
    // at most half a second each when the browser paints none
    const frame = () => Promise.race([new Promise(r => requestAnimationFrame(r)), new Promise(r => setTimeout(r, 500))]);
    for (let k = 0; k < 8000 && outer; k++) {
        await frame();
        await frame();
        const drawn = look();
        while (next < n && seen[String(next)]) next++;
        if (next >= n || !drawn.length) {
            if (next >= n) break;
            continue;
        }
        const step = Math.max(100, outer.clientHeight * 0.5);
        if (next > Math.max(...drawn)) outer.scrollTop += step;          // below the drawn window
        else if (next < Math.min(...drawn)) outer.scrollTop -= step;     // above it
        else {                                                           // inside it, not drawn yet
            const cell = document.querySelector(`.jp-Notebook .jp-Cell[data-windowed-list-index="${next}"]`);
            if (cell) cell.scrollIntoView({block: 'center'});
        }
    }
    await new Promise(r => setTimeout(r, 300));
    look();
    return {seen, bad, formulas, scrolled: !!outer};
}"""


def _open(page, rel: str) -> None:
    """Wait until the notebook app shows the notebook's cells and its kernel (the Pyodide one, or
    a failure naming what is shown instead)."""
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    kernel = page.locator(".jp-Toolbar-kernelName").first
    try:          # "No Kernel" until the app has read the kernelspec and started a session
        page.wait_for_function("() => /Pyodide/.test((document.querySelector('.jp-Toolbar-kernelName') || "
                               "{}).innerText || '')", timeout=30_000, polling=100)
    except Exception:                                    # noqa: BLE001 - named here
        pytest.fail(f"{rel}: after 30 s the kernel shown is {kernel.inner_text()!r}, not the Pyodide kernel")


@pytest.mark.parametrize("rel", [p.as_posix() for p in chosen_notebooks()])
def test_lite_notebook_opens_offline_without_dialog_or_solution(open_page, site_root, rel):
    lite_file = site_root / "lite" / "files" / rel
    if not lite_file.is_file():
        pytest.fail(f"the built site has no lite copy of {rel} ({lite_file})")
    n_cells = len(json.loads(lite_file.read_text(encoding="utf-8"))["cells"])
    page = open_page(APP + rel, wait_ms=0)
    _open(page, rel)
    found = page.evaluate(_SCROLL, n_cells)
    dialogs = page.locator(".jp-Dialog")
    assert dialogs.count() == 0, f"{rel}: a dialog is open: {dialogs.first.inner_text()[:200]!r}"
    assert found["scrolled"], f"{rel}: the notebook app drew no scrolling notebook panel"
    assert len(found["seen"]) == n_cells, \
        f"{rel}: {len(found['seen'])} of the lite file's {n_cells} cells were drawn while scrolling through"
    text = "\n".join(found["seen"].values())

    markdown = _markdown(ROOT / rel)
    missing = [lab for lab in exercise_labels(markdown) if f"Exercise ({lab})" not in text]
    assert not missing, f"{rel}: these exercises are not shown: {missing}"
    leaked = [ln for ln in telling_solution_lines(ROOT / rel) if ln in text]
    assert not leaked, f"{rel}: {len(leaked)} lines of the solutions are shown, e.g. {leaked[:3]}"
    raw = re.findall(r":{3,}\{[a-z-]+\}|\{(?:cite|doc|ref|eq|numref)[^}]*\}`", text)
    assert not raw, f"{rel}: MyST directives or roles are shown raw: {raw[:5]}"
    assert found["formulas"] > 0, f"{rel}: no formula was typeset"
    assert found["bad"] == 0, f"{rel}: {found['bad']} formula parts show an error or an undefined macro (red)"


def test_an_undefined_macro_is_noticed(browser, site_url, site_root):
    """The red-formula count above sees an undefined macro: 8.3 served with ``\\N`` not written out."""
    rel = chosen_notebooks()[0].as_posix()
    nb = json.loads((site_root / "lite" / "files" / rel).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = "".join(cell["source"]).replace("\\mathcal{N}", "\\N")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.route(re.compile(r"^(?!http://127\.0\.0\.1:)(?!data:)(?!blob:).*"), lambda r: r.abort())
        context.route(re.compile(re.escape("/lite/files/" + rel) + r"(\?.*)?$"),
                      lambda r: r.fulfill(status=200, content_type="application/json", body=json.dumps(nb)))
        page = context.new_page()
        page.goto(site_url + APP + rel, wait_until="load")
        _open(page, rel)
        found = page.evaluate(_SCROLL, len(nb["cells"]))
    finally:
        context.close()
    assert len(found["seen"]) == len(nb["cells"])
    assert found["bad"] > 0, "8.3 with an undefined \\N showed no red formula: the check does not look"
