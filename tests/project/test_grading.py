"""The summative grader (courseware/grading.py) without nbgrader: its processes, data and refusals.

The nbgrader round trip of tests/project/test_courseware.py grades whole submissions; these tests call the
grader on single answers, so a failure points at the mechanism that broke. The sandbox's containment of
hostile submissions is tested in tests/project/test_sandbox.py.
"""
from __future__ import annotations

import ast
import copy
import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from courseware import editions as E
from courseware import grading as G
from pedagogy_lib.exercises import ch07_gmm_em

ROOT = Path(__file__).resolve().parents[2]
SECTION = ROOT / "chapters" / "ch07_learning_invertible_models" / "7_1_gmm_kmeans.ipynb"


@pytest.fixture(scope="module")
def source() -> dict:
    ch = E.read_notebook(SECTION)
    return E.nbgrader_source(ch, {e.label: 1 for e in ch.exercises})


def _gid(cell: dict) -> str | None:
    return cell["metadata"].get("nbgrader", {}).get("grade_id")


def _answer(nb: dict, label: str, code: str) -> dict:
    nb = copy.deepcopy(nb)
    for c in nb["cells"]:
        if _gid(c) == f"{label}-answer":
            c["source"] = code
    return nb


def _reference(nb: dict, label: str) -> str:
    return "".join(next(c["source"] for c in nb["cells"] if _gid(c) == f"{label}-answer"))


def _with_not_allowed(nb: dict, label: str, names: list[str]) -> dict:
    """``nb`` with the hidden test of ``label`` naming ``names`` as the functions the exercise asks for."""
    nb = copy.deepcopy(nb)
    for c in nb["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        spec = G.parse_hidden_call(src)
        if spec and spec["label"] == label:
            c["source"] = src.replace("# summative: " + json.dumps(spec),
                                      "# summative: " + json.dumps(dict(spec, not_allowed=names)))
            assert G.parse_hidden_call(c["source"])["not_allowed"] == names
    return nb


def _text(nb: dict, label: str) -> str:
    cell = next(c for c in nb["cells"] if _gid(c) == f"{label}-test")
    return "\n".join(o.get("text", "") or "\n".join(o.get("traceback", [])) for o in cell["outputs"])


def _summative(ex):
    import importlib

    return getattr(importlib.import_module(f"pedagogy_lib.exercises.{ex.checker_module}"), "SUMMATIVE", {}).get(ex.label, {})


@functools.lru_cache(maxsize=None)
def _reference_grades(path: Path) -> tuple[dict, dict]:
    """The page's nbgrader source with its reference answers, graded for student-a: ``(notebook, results)``
    (once per test process: two tests read the grades of Section 7.1)."""
    ch = E.read_notebook(path)
    nb = E.nbgrader_source(ch, {e.label: 1 for e in ch.exercises})
    return nb, G.grade_notebook(nb, "student-a")


# --- the student's own data, graded outside the kernel ---------------------------------------------------


def test_reference_solutions_pass_and_students_get_data_of_their_own(sandboxed):
    nb, results = _reference_grades(SECTION)
    assert all(passed for passed, _ in results.values()), {k: _text(nb, k) for k in results}
    a = ch07_gmm_em.SUMMATIVE["ex-7-1-m-step"]["variant"](np.random.default_rng(G.student_seed("a", "ex-7-1-m-step")))
    b = ch07_gmm_em.SUMMATIVE["ex-7-1-m-step"]["variant"](np.random.default_rng(G.student_seed("b", "ex-7-1-m-step")))
    assert not np.allclose(a["EX_MSTEP"].y, b["EX_MSTEP"].y)
    assert "data of your own" in _text(nb, "ex-7-1-m-step")
    # the module's own data are back after grading
    assert ch07_gmm_em.EX_MSTEP.y.shape == (8, 2) and ch07_gmm_em.EX_MSTEP.y[0, 1] == 1.0


def test_numbers_from_the_books_data_do_not_pass(source, sandboxed):
    y, r = ch07_gmm_em.EX_MSTEP
    N_k = r.sum(0)
    mu = (r.T @ y) / N_k[:, None]
    sigma2 = np.array([r[:, k] @ np.sum((y - mu[k]) ** 2, axis=1) for k in range(2)]) / (2 * N_k)
    typed = (f"import numpy as np\nmy_m_step = (np.array({(N_k / 8).tolist()}), np.array({mu.tolist()}), "
             f"np.array({sigma2.tolist()}))\ncheck.m_step(my_m_step)")
    assert ch07_gmm_em.m_step(eval(typed.split("my_m_step = ")[1].split("\n")[0], {"np": np}))  # right on the book's data
    nb = _answer(source, "ex-7-1-m-step", typed)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"] == (False, [])


def test_the_student_process_has_no_checkers(source, sandboxed):
    code = ("import importlib\nmod = importlib.import_module('pedagogy_lib.exercises.ch07_gmm_em')\n"
            "from pedagogy_lib.exercises import checker\nmy_m_step = None\n")
    nb = _answer(source, "ex-7-1-m-step", code)
    passed, flags = G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"]
    assert not passed and "tampering" in " ".join(flags)
    assert "an import of the checkers in an answer cell" in _text(nb, "ex-7-1-m-step")
    # without the source checks, the import itself fails in the student process
    job_cells = [("import numpy as np\nfrom pedagogy_lib.exercises import ch07_gmm_em as check", False),
                 ("from pedagogy_lib.exercises import checker\nmy_m_step = None", True)]
    passed, text = G.grade_exercise("ex-7-1-m-step", "ch07_gmm_em", "m_step", ["my_m_step"], job_cells, "s")
    assert not passed and "not available to graded code" in text
    # the checker module seen by the student's code holds data and no-op checkers only
    probe = [("from pedagogy_lib.exercises import ch07_gmm_em as check", False),
             ("assert not hasattr(check, '_m_step_variants') and not hasattr(check, '_nearest_loop')\n"
              "assert check.m_step(None) is None and check.EX_MSTEP.y.shape == (8, 2)\n"
              "my_m_step = None", True)]
    passed, text = G.grade_exercise("ex-7-1-m-step", "ch07_gmm_em", "m_step", ["my_m_step"], probe, "s")
    assert not passed and "raised" not in text and "None" in text


def test_function_answers_run_in_the_student_process_on_hidden_inputs(source, sandboxed):
    code = ("def my_assign(y, mu):\n    import os\n    return np.full(len(y), os.getpid() % 1)\n"
            "check.assign_function(my_assign)")
    nb = _answer(source, "ex-7-1-kmeans-assign", code)
    assert G.grade_notebook(nb, "s", labels={"ex-7-1-kmeans-assign"})["ex-7-1-kmeans-assign"][0] is False
    text = _text(nb, "ex-7-1-kmeans-assign")
    assert "EX_ASSIGN[0]" in text and "not assigned to their nearest centre" in text


def test_test_problems_a_checker_draws_as_it_runs_are_the_students_own(sandboxed):
    """A function answer is called on test problems the checker draws when it runs (``_lofo_cases``):
    while grading, those are drawn for the student, so two students' functions meet different inputs."""
    seen = {}
    for student in ("a", "b"):
        code = ("import numpy as np\n"
                "def my_lofo(H, e, folds):\n"
                "    raise ValueError(f'{H.shape[0]} {float(e[0])!r}')\n")
        passed, text = G.grade_exercise("ex-5-1-1-lofo-function", "ch05_regression", "lofo_function", ["my_lofo"],
                                        [(code, True)], student)
        assert not passed
        seen[student] = text.split("ValueError: ", 1)[1].split(" (on ", 1)[0]
    assert seen["a"] != seen["b"]


@pytest.mark.parametrize("path", [p for p in E.chapter_notebooks() if E.read_notebook(p).exercises],
                         ids=lambda p: p.stem)
def test_every_reference_solution_passes_the_summative_grader(path, sandboxed):
    """The instructor's solutions, graded as a submission would be (outside the kernel, in the sandbox,
    after the source checks and, where the checker draws them, on a student's own data): full marks."""
    ch = E.read_notebook(path)
    nb, results = _reference_grades(path)
    assert set(results) == {e.label for e in ch.exercises}
    failed = {label: _text(nb, label) for label, (passed, _) in results.items() if not passed}
    assert not failed, failed
    for ex in ch.exercises:                   # the data the solutions passed on were the student's own
        if _graded_on_own_data(ex):
            assert "data of your own" in _text(nb, ex.label), ex.label


def test_checkers_that_draw_their_data_grade_each_student_on_data_of_their_own(sandboxed):
    """Every module that draws its problem data with ``checker.problem_rng`` gives two students different
    data and the book its own, unchanged; a number computed from the book's data then fails."""
    import importlib
    import pkgutil

    import pedagogy_lib.exercises as package
    from pedagogy_lib.exercises.checker import MACHINERY

    drawing = []
    for info in pkgutil.iter_modules(package.__path__):
        mod = importlib.import_module(f"pedagogy_lib.exercises.{info.name}")
        if info.name in MACHINERY or "problem_rng(" not in Path(mod.__file__).read_text(encoding="utf-8"):
            continue
        book = json.dumps(G._public_data(mod), sort_keys=True)
        a, b = G.own_copy(mod, G.student_seed("a", "x")), G.own_copy(mod, G.student_seed("b", "x"))
        if a is None:              # draws only at checking time (hidden test inputs): the data are the book's
            continue
        drawing.append(info.name)
        assert json.dumps(G._public_data(a), sort_keys=True) != json.dumps(G._public_data(b), sort_keys=True)
        assert json.dumps(G._public_data(mod), sort_keys=True) == book        # the book's module is untouched
    assert len(drawing) >= 15, drawing

    from pedagogy_lib.exercises import ch07_fa_pca
    # the noise variance with the loadings in span(U): the directions of U^T S U whose variance is above
    # it carry signal, the others join the noise
    answer = ("y, K = check.EX_IPCA\nU = check.EX_PPCA_U\nS = np.cov(y.T, bias=True)\n"
              "lam = np.sort(np.linalg.eigvalsh(U.T @ S @ U))[::-1]\n"
              "for r in range(K, -1, -1):\n"
              "    sigma2 = float(np.trace(S) - lam[:r].sum()) / (y.shape[1] - r)\n"
              "    if r == 0 or lam[r - 1] > sigma2:\n"
              "        break\n")
    scope = {"np": np, "check": ch07_fa_pca}
    exec(answer, scope)
    s2 = scope["sigma2"]
    assert ch07_fa_pca.ppca_noise(s2)                              # right on the book's data ...
    cells = [("import numpy as np\nfrom pedagogy_lib.exercises import ch07_fa_pca as check", False),
             (f"sigma2 = {s2!r}", True)]
    passed, text = G.grade_exercise("ex-7-3-ppca-noise", "ch07_fa_pca", "ppca_noise", ["sigma2"], cells, "s")
    assert not passed, text                                        # ... wrong on the student's
    cells[1] = (answer, True)
    passed, text = G.grade_exercise("ex-7-3-ppca-noise", "ch07_fa_pca", "ppca_noise", ["sigma2"], cells, "s")
    assert passed and "Graded on problem data of your own (EX_IPCA, EX_PPCA_U drawn for student 's')" in text, text


def test_a_students_copy_is_built_from_the_source_read_when_grading_began(monkeypatch):
    from pedagogy_lib.exercises import ch07_fa_pca

    G.remember_source(ch07_fa_pca)
    file, source = G._SOURCES[ch07_fa_pca.__name__]
    monkeypatch.setitem(G._SOURCES, ch07_fa_pca.__name__, (file, source.replace("def ppca_noise(sigma2):",
                                                                                "def ppca_noise(sigma2):\n    return True")))
    assert G.own_copy(ch07_fa_pca, 1).ppca_noise(None) is True     # the remembered text, not the file on disk
    assert not ch07_fa_pca.ppca_noise(None)


@functools.lru_cache(maxsize=None)
def _data_a_student_copy_changes(checker_module: str) -> tuple[str, ...]:
    """The public data of a checker module that a student's copy draws anew (none if it draws none);
    built once per module, since every exercise of the module asks the same."""
    import importlib

    mod = importlib.import_module(f"pedagogy_lib.exercises.{checker_module}")
    own = G.own_copy(mod, 1)
    if own is None:
        return ()
    book = G._public_data(mod)
    return tuple(name for name, value in G._public_data(own).items() if value != book.get(name))


def _graded_on_own_data(ex) -> bool:
    if "variant" in _summative(ex):
        return True
    return any(re.search(rf"\b{name}\b", ex.answer_code) for name in _data_a_student_copy_changes(ex.checker_module))


def test_every_exercise_is_graded_on_data_of_the_students_own_or_says_why_not():
    """An exercise whose data are the same for every student names its reason in its module's
    ``SUMMATIVE`` table (``"same_data"``): the statement spells the numbers out, the answer is a function
    the grader runs on inputs of its own, a choice among a few, or words."""
    missing, both = [], []
    for ex in E.all_exercises():
        own, reason = _graded_on_own_data(ex), _summative(ex).get("same_data")
        if not own and not reason:
            missing.append(ex.label)
        elif own and reason:
            both.append(ex.label)
    assert not missing, f"{len(missing)} exercises give everyone the same data without saying why: {missing}"
    assert not both, f"graded on the student's own data, yet a reason for the same data is given: {both}"


def test_the_counts_the_instructors_page_gives_are_the_tables_counts():
    """The instructors' page says how many exercises draw data of each student's own; the number is
    recounted here from the ``SUMMATIVE`` tables, so that a new or reworked exercise cannot leave it stale."""
    exercises = E.all_exercises()
    n = len(exercises)
    own = sum(_graded_on_own_data(e) for e in exercises)
    page = " ".join((ROOT / "book" / "for_instructors.md").read_text().split())
    assert f"{own} of the {n} exercises" in page, f"book/for_instructors.md: say {own} of the {n} draw own data"
    assert f"the other {n - own}" in page, f"book/for_instructors.md: say the other {n - own}"


def test_a_page_function_reading_a_value_of_its_cell_makes_the_grader_replay_the_page():
    """An answer may call a function the page defines which reads a value the page computes (5.1.3's
    ``signal_norms`` reads ``Q_dec``): the imports and definitions alone would leave that value
    undefined, so the grader replays the page's cells before the answer."""
    page = ["import numpy as np\nQ_dec = np.eye(3)\n\ndef signal_norms(x):\n    return np.linalg.norm(Q_dec @ x)\n",
            "print(signal_norms(np.ones(3)))"]
    calls = ["my_norm = signal_norms(np.arange(3.0))"]
    preamble = G._preamble(page, calls)
    assert any(code.startswith("def signal_norms") for code in preamble)
    assert G._needs_page_state(preamble, calls, page)
    plain = ["my_norm = np.linalg.norm(np.arange(3.0))"]
    assert not G._needs_page_state(G._preamble(page, plain), plain, page)


def test_the_slice_of_the_page_keeps_what_the_answer_reads_and_the_draws_before_it():
    """The statements replayed before an answer that reads the page's values: those that may change a
    name it reads (a draw from ``rng`` changes ``rng``), and in turn theirs; not the figure, nor a loop
    that merely reuses a name; a cell with a magic is left out."""
    page = ["%matplotlib inline",
            "import numpy as np\nrng = np.random.default_rng(0)\nx = rng.normal(size=3)\n"
            "fig = draw(x)\nfor t in range(2):\n    fig = draw(x + t)\ny = rng.normal(size=2) + x[:2]\n",
            "t = 5\ntotal = 0.0\nfor k in range(3):\n    total = total + k\n"]
    answer = ["my_y = 2 * y + total"]
    sliced = G.page_slice(page, answer)
    assert sliced == ["import numpy as np", "rng = np.random.default_rng(0)", "x = rng.normal(size=3)",
                      "y = rng.normal(size=2) + x[:2]", "total = 0.0",
                      "for k in range(3):\n    total = total + k"], sliced
    ns: dict = {}
    exec("\n".join(sliced), ns)  # noqa: S102 - the page above, without its figures
    rng = np.random.default_rng(0)
    x = rng.normal(size=3)
    assert np.array_equal(ns["y"], rng.normal(size=2) + x[:2]) and ns["total"] == 3.0


def test_an_answer_that_fails_on_the_slice_is_graded_on_the_whole_page(source, sandboxed):
    """A page that changes a value out of the slice's sight (a function filling the list it is given)
    gives the answer a different value in the slice: the grader then replays the whole page, so the
    verdict is the page's. The page's cells keep only their imports and definitions: the replay of the
    whole page is then short, and it is still the whole page, which the slice is not."""
    nb = copy.deepcopy(source)
    k = next(i for i, c in enumerate(nb["cells"]) if _gid(c) == "ex-7-1-m-step-answer")
    for c in nb["cells"][:k]:
        if c["cell_type"] == "code" and not G._nb_meta(c):
            try:
                body = ast.parse(G._src(c)).body
            except SyntaxError:                     # the install cell's %pip lines
                body = []
            c["source"] = "\n".join(ast.unparse(s) for s in body
                                    if isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)))
    page_cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                 "source": "def fill(box):\n    box.append(1.0)\n\nscale = []\nfill(scale)\n"}
    nb["cells"].insert(k, page_cell)
    code = _reference(nb, "ex-7-1-m-step").replace("my_m_step = None", "my_m_step = None\nunit = scale[0]")
    nb = _answer(nb, "ex-7-1-m-step", code)
    answers = {_gid(c): i for i, c in enumerate(nb["cells"]) if G._nb_meta(c).get("solution")}
    page = [G._src(c) for c in nb["cells"] if c["cell_type"] == "code" and not G._nb_meta(c)]
    runs = G.replays(nb["cells"], answers, k + 1, G._preamble(page, [code]), page)
    assert len(runs) == 2 and "fill(scale)" not in "".join(c for c, _ in runs[0])
    graded = G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})
    assert graded == {"ex-7-1-m-step": (True, [])}


def test_the_grader_modifies_no_third_party_function(sandboxed):
    """A graded answer that imports NumPy, SciPy and networkx sees their functions exactly as a fresh
    interpreter does: the hash of several hundred of their code objects (bytecode and constants, nested
    functions included) is the same in the student process and in a plain ``python -I``."""
    digest = (
        "import hashlib, types\n"
        "import numpy, numpy.linalg, numpy.fft, numpy.polynomial.polynomial, networkx\n"
        "import scipy, scipy.linalg, scipy.stats, scipy.optimize, scipy.integrate, scipy.special\n"
        "def feed(code, h):\n"
        "    h.update(code.co_code)\n"
        "    for c in code.co_consts:\n"
        "        if isinstance(c, types.CodeType):\n"
        "            feed(c, h)\n"
        "        else:\n"
        "            h.update(repr(sorted(map(repr, c)) if isinstance(c, frozenset) else c).encode())\n"
        "h, n = hashlib.sha256(), 0\n"
        "for m in (numpy, numpy.linalg, numpy.fft, numpy.polynomial.polynomial, scipy.linalg, scipy.stats,\n"
        "          scipy.optimize, scipy.integrate, scipy.special, networkx):\n"
        "    for name in sorted(vars(m)):\n"
        "        f = vars(m)[name]\n"
        "        f = getattr(f, '__wrapped__', None) or getattr(f, 'orig_func', None) or f\n"
        "        if isinstance(f, types.FunctionType):\n"
        "            feed(f.__code__, h)\n"
        "            n += 1\n"
        "seen = f'{n} {h.hexdigest()}'\n")
    cells = [("import numpy as np", False), (digest + "raise KeyError(seen)\n", True)]
    passed, text = G.grade_exercise("ex-7-3-ppca-noise", "ch07_fa_pca", "ppca_noise", ["sigma2"], cells, "s")
    graded = re.search(r"KeyError: '(\d+) ([0-9a-f]{64})'", text)
    assert graded, text
    fresh = subprocess.run([sys.executable, "-I", "-c", digest + "print(seen)"], capture_output=True, text=True,
                           env={"PATH": os.environ.get("PATH", ""), "OPENBLAS_NUM_THREADS": "1"})
    assert fresh.returncode == 0, fresh.stderr
    assert int(graded.group(1)) >= 300
    assert f"{graded.group(1)} {graded.group(2)}" == fresh.stdout.strip()


def test_the_wire_format_carries_data_not_code():
    class Evil:
        def __reduce__(self):
            return (print, ("ran",))
    from pedagogy_lib.core.wire import Opaque
    assert G.decode(G.encode(Evil())).__class__ is Opaque
    arr = np.arange(6.0).reshape(2, 3)
    back = G.decode(G.encode({"a": (arr, 2, "x", [np.int64(3)])}))
    assert np.array_equal(back["a"][0], arr) and back["a"][1:] == (2, "x", [3])
    # a NamedTuple names its module; only the library's own modules are looked up
    fake = {"__nt__": "GMMParams", "module": "os", "fields": ["pi"], "values": [1.0]}
    assert type(G.decode(fake)).__module__ != "os"


def test_an_array_travels_exactly_as_its_bytes_and_a_bad_one_is_refused():
    """Arrays travel as their bytes (B.3's problems have 200 000 entries): every kind arrives as the
    wire's type for it, entry for entry (NaN, infinities and -0.0 included), writable; a message whose
    kind, shape or length does not fit is refused, never read as something else."""
    rng = np.random.default_rng(0)
    cases = [(rng.standard_normal(7), np.float64), (rng.standard_normal((3, 4)), np.float64),
             (rng.standard_normal((2, 3, 2)), np.float64), (np.arange(6).reshape(2, 3), np.int64),
             (np.arange(4, dtype=np.int8), np.int64), (np.arange(3, dtype=np.uint16), np.int64),
             (np.array([True, False]), np.bool_), (np.array(2.5), np.float64), (np.zeros((0, 3)), np.float64),
             (np.float32([1.5, 2.0]), np.float64), (np.array([1.0, np.nan, np.inf, -np.inf, -0.0]), np.float64),
             (np.array([1 + 2j, -0.5j]), np.complex128), (rng.standard_normal((4, 5))[:, ::2], np.float64),
             (np.array([2**64 - 1], dtype=np.uint64), None)]
    for arr, kind in cases:
        sent = json.loads(json.dumps(G.encode(arr)))
        back = G.decode(sent)
        assert back.shape == arr.shape and (kind is None or back.dtype == kind), (arr, back)
        assert np.array_equal(back, arr, equal_nan=arr.dtype.kind in "fc")
        assert np.array_equal(np.signbit(back.real), np.signbit(arr.real)) if arr.dtype.kind in "fc" else True
        if back.size:
            back.flat[0] = back.flat[0]              # writable, not a view of the message's bytes
    big = np.random.default_rng(1).standard_normal(200_000)
    assert len(json.dumps(G.encode(big))) < 12 * big.size     # about 10.7 characters an entry, not ~20
    good = G.encode(np.arange(6.0).reshape(2, 3))
    for bad in (dict(good, shape=[4, 3]), dict(good, shape=[2, -3]), dict(good, shape="2,3"),
                dict(good, dtype="O"), dict(good, __nd__=good["__nd__"][:-4]), dict(good, __nd__="@@@@")):
        with pytest.raises(ValueError):
            G.decode(bad)


# --- what an answer's source may not do --------------------------------------------------------------


def test_a_named_function_is_recognised_however_it_is_written():
    imports = ("import numpy as np\nimport pedagogy_lib as pl\nfrom pedagogy_lib import hmm\n"
               "from pedagogy_lib import recursions as rec\n")
    named = ["pedagogy_lib.hmm.hmm_filter", "pedagogy_lib.recursions.CATEGORICAL.bayes_invert", "_enumerate"]
    cases = {
        "a = hmm.hmm_filter(pi, A, L)": ["hmm.hmm_filter"],                                   # the page's alias
        "from pedagogy_lib.hmm import hmm_filter as f\na = f(pi, A, L)": ["f"],              # a from-import
        "import pedagogy_lib.hmm.inference\na = pedagogy_lib.hmm.inference.hmm_filter(1)":  # its defining module
            ["pedagogy_lib.hmm.inference.hmm_filter"],
        "a = pl.hmm.hmm_filter.py_func(1)": ["pl.hmm.hmm_filter.py_func"],                   # a name inside it
        "m = hmm\na = m.hmm_filter(1)": ["m.hmm_filter"],                                     # a module renamed
        "g = getattr(hmm, 'hmm_filter')": ["getattr(hmm, 'hmm_filter')"],
        "from pedagogy_lib.hmm import *\na = hmm_filter(1)": ["hmm_filter"],
        "a = rec.CATEGORICAL.bayes_invert(p, l)": ["rec.CATEGORICAL.bayes_invert"],          # a method of an object
        "a = _enumerate(3)": ["_enumerate"],                                                  # the page's function
        # what the exercise does not name, and the answer's own functions of those names, are open
        "a = rec.CATEGORICAL.time_update(p)\nb = hmm.hmm_smoother(pi, A, L)": [],
        "def hmm_filter(x):\n    return x\n\n\ndef _enumerate():\n    return 0\n\n\na = hmm_filter(_enumerate())": [],
    }
    for code, expected in cases.items():
        assert G.named_calls(code, imports, named) == expected, code
    assert G.canonical_name("pedagogy_lib.hmm.hmm_filter") == G.canonical_name("pedagogy_lib.hmm.inference.hmm_filter")


def test_an_answer_that_calls_a_named_function_scores_zero_and_is_told_which(source, sandboxed):
    """7.1's M step names the library's ``gmm_m_step`` and ``gmm_stats_from_responsibilities`` and the
    page's ``sigma_centred``; an answer that calls one, however written, or the page's ``em_step``, which
    calls ``sigma_centred``, scores zero with a message that names it. The reference answer passes."""
    label = "ex-7-1-m-step"
    nb = _with_not_allowed(source, label, ["pedagogy_lib.mixture.gmm_m_step",
                                           "pedagogy_lib.mixture.gmm_stats_from_responsibilities", "sigma_centred"])
    tail = "\nmy_m_step = (fit.pi, fit.mu, fit.Sigma)\ncheck.m_step(my_m_step)"
    cases = {
        "y, r = check.EX_MSTEP\nfit = me.gmm_m_step(me.gmm_stats_from_responsibilities(y, r))" + tail:
            "calls `me.gmm_m_step`, `me.gmm_stats_from_responsibilities`, which this exercise asks you to write yourself",
        "from pedagogy_lib.mixture import gmm_m_step as step\ny, r = check.EX_MSTEP\nfit = step(s)" + tail:
            "calls `step` (`mixture.gmm_m_step`), which this exercise asks you to write yourself",
        "import pedagogy_lib.mixture\nfit = pedagogy_lib.mixture.gmm_m_step(s)" + tail:
            "calls `pedagogy_lib.mixture.gmm_m_step`",
        "y, r = check.EX_MSTEP\nS = sigma_centred(r, y, mu)\nfit = make(S)" + tail: "calls `sigma_centred`",
        "y, r = check.EX_MSTEP\nfit = em_step(params, y)" + tail:
            "uses the page's function `em_step`, which calls `sigma_centred`; this exercise asks you to write that",
    }
    for code, message in cases.items():
        graded = _answer(nb, label, code)
        assert G.grade_notebook(graded, "student-a", labels={label})[label] == (False, []), code
        assert message in _text(graded, label), _text(graded, label)
    assert G.grade_notebook(nb, "student-a", labels={label})[label] == (True, []), _text(nb, label)


def test_a_named_function_is_looked_for_only_in_the_lines_that_make_the_answer():
    """9.2's inverse exercise: a cell that defines the answer's function and also runs the named function on
    the page's flow, only to look at it, is not refused; the same call inside the answer's function is."""
    named = ["pedagogy_lib.deepgen.nice.inverse"]
    preamble = ["from pedagogy_lib.deepgen import nice"]
    answer = ("def my_inverse(flow, z):\n    x = z.copy()\n    return x\n\n"
              "look = nice.inverse(flow, z0)\nprint(look[:3])\n")
    assert G.source_refusal(answer, preamble, named, ["my_inverse"]) is None
    assert "calls `nice.inverse`" in G.source_refusal(answer, preamble, named)        # the whole cell
    inside = answer.replace("x = z.copy()", "x = nice.inverse(flow, z)")
    assert "calls `nice.inverse`" in G.source_refusal(inside, preamble, named, ["my_inverse"])
    # 10.1.1's Newton step: the look also calls NumPy, which the answer's function uses; a call of a module's
    # function does not change the module, so the look stays outside the answer
    preamble = ["import numpy as np", "from pedagogy_lib.deepgen import nice"]
    answer = ("def my_inverse(flow, z):\n    return np.tanh(z)\n\n"
              "print(nice.inverse(flow, np.zeros(3)))\n")
    assert G.source_refusal(answer, preamble, named, ["my_inverse"]) is None
    inside = answer.replace("np.tanh(z)", "nice.inverse(flow, np.tanh(z))")
    assert "calls `nice.inverse`" in G.source_refusal(inside, preamble, named, ["my_inverse"])


def test_the_library_s_private_functions_are_not_accepted_in_graded_answers(source):
    imports = "import numpy as np\nfrom pedagogy_lib import mixture as mx\nfrom pedagogy_lib.mixture import em\n"
    assert G.private_library_names("r = mx.em._stats_numpy(y, mu, U, b, M)", imports) == ["mx.em._stats_numpy"]
    assert G.private_library_names("from pedagogy_lib.mixture.em import _m_step as f", imports) == \
        ["pedagogy_lib.mixture.em._m_step"]
    # NamedTuple methods, the student's own private names and NumPy's are not the library's internals
    for honest in ("p = mx.gmm_params([1.0], [[0.0]], [[[1.0]]])._replace(pi=[1.0])",
                   "class A:\n    def __init__(self):\n        self._x = 1", "v = np.random._bit_generator"):
        assert G.private_library_names(honest, imports) == [], honest
    # end to end: a private helper gives the right M step, and the grade is still a refusal that names it
    code = ("from pedagogy_lib.mixture import em\ny, r = check.EX_MSTEP\n"
            "fit = em._m_step(em.gmm_stats_from_responsibilities(y, r), 'full', 0.0, None)\n"
            "my_m_step = (fit.pi, fit.mu, fit.Sigma)\ncheck.m_step(my_m_step)")
    nb = _answer(_with_not_allowed(source, "ex-7-1-m-step", []), "ex-7-1-m-step", code)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"}, unisolated=True)["ex-7-1-m-step"] == (False, [])
    assert "private functions (`em._m_step`)" in _text(nb, "ex-7-1-m-step")


def test_the_library_s_kernel_modules_are_not_accepted_in_graded_answers(source):
    imports = "import numpy as np\nimport pedagogy_lib as pl\nfrom pedagogy_lib import lgssm\n"
    assert G.kernel_module_names("k = lgssm.kernels.rts_backward", imports) == ["lgssm.kernels"]
    assert G.kernel_module_names("from pedagogy_lib.lgssm.kernels import filter_covariance", imports) == \
        ["pedagogy_lib.lgssm.kernels.filter_covariance"]
    assert G.kernel_module_names("from pedagogy_lib.samplers import kernels as k", imports) == \
        ["pedagogy_lib.samplers.kernels"]
    assert G.kernel_module_names("import pedagogy_lib.core.kernels", imports) == ["pedagogy_lib.core.kernels"]
    assert G.kernel_module_names("f = pl.core.kernels.chol_upper", imports) == ["pl.core.kernels"]
    assert G.kernel_module_names("t = pl.harmonium.exact.log_marginals_numba(W, a, b, 1, 0, out)", imports) == \
        ["pl.harmonium.exact.log_marginals_numba"]
    assert G.kernel_module_names("from pedagogy_lib.hmm.kernels import forward, backward", imports) == \
        ["pedagogy_lib.hmm.kernels.backward", "pedagogy_lib.hmm.kernels.forward"]
    for honest in ("r = lgssm.kalman_smoother(p, y)", "r = pl.hmm.hmm_smoother(pi, A, log_lik)",
                   "kernels = 3\nx = kernels + 1", "from sklearn.gaussian_process import kernels"):
        assert G.kernel_module_names(honest, imports) == [], honest
    # end to end: the compiled RTS pass written into the answer is refused and named
    code = "from pedagogy_lib.lgssm import kernels as lk\nlk.rts_backward\nmy_m_step = None\ncheck.m_step(my_m_step)"
    nb = _answer(_with_not_allowed(source, "ex-7-1-m-step", []), "ex-7-1-m-step", code)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"}, unisolated=True)["ex-7-1-m-step"] == (False, [])
    assert "compiled kernels (`lgssm.kernels`)" in _text(nb, "ex-7-1-m-step")


def test_answers_that_import_a_peer_library_or_a_compiler_are_not_accepted(source):
    assert G.peer_library_imports("from filterpy.kalman import KalmanFilter\nimport numpy as np") == ["filterpy"]
    assert G.peer_library_imports("import sklearn.mixture as skm\nimport pgmpy") == ["pgmpy", "sklearn"]
    assert G.peer_library_imports("m = importlib.import_module('hmmlearn.hmm')") == ["hmmlearn"]
    assert G.peer_library_imports("from numba import njit\nimport llvmlite.binding") == ["llvmlite", "numba"]
    for honest in ("import numpy as np\nfrom scipy import linalg", "from pedagogy_lib import mixture as mx",
                   "import networkx as nx", "from . import x", "import pandas as pd", "from mpmath import mp"):
        assert G.peer_library_imports(honest) == [], honest
    nb = _with_not_allowed(source, "ex-7-1-m-step", [])
    for first, message in (("from sklearn.mixture import GaussianMixture", "imports `sklearn`, a library that runs "
                            "the book's algorithms for you"), ("import numba", "imports `numba`, a compiler")):
        graded = _answer(nb, "ex-7-1-m-step", first + "\n" + _reference(nb, "ex-7-1-m-step"))
        assert G.grade_notebook(graded, "student-a", labels={"ex-7-1-m-step"},
                                unisolated=True)["ex-7-1-m-step"] == (False, [])
        assert message in _text(graded, "ex-7-1-m-step"), _text(graded, "ex-7-1-m-step")


def test_a_peer_library_the_page_imports_is_refused_in_an_answer_that_uses_it(source):
    """Section 7.1 imports scikit-learn's GaussianMixture and KMeans itself, so an answer can use them
    without an import line of its own (one-cluster KMeans with sample weights is a weighted mean and
    scatter); the grade refuses that answer and names the library."""
    page = "\n".join("".join(c["source"]) for c in source["cells"] if c["cell_type"] == "code")
    assert "GaussianMixture" in page and "KMeans" in page
    code = ("y, r = check.EX_MSTEP\nfits = [KMeans(1, n_init=1).fit(y, sample_weight=r[:, k]) for k in range(2)]\n"
            "N_k = r.sum(0)\nmy_m_step = (N_k / len(y), np.array([f.cluster_centers_[0] for f in fits]),\n"
            "             np.array([f.inertia_ for f in fits]) / (2 * N_k))\ncheck.m_step(my_m_step)")
    nb = _answer(source, "ex-7-1-m-step", code)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"}, unisolated=True)["ex-7-1-m-step"] == (False, [])
    assert "`sklearn` through the page's imports" in _text(nb, "ex-7-1-m-step")
    # a function of the answer's own that has the name the page imports is the answer's
    pre = ["import numpy as np", "from sklearn.cluster import KMeans"]
    uses = lambda code: G.peer_library_imports("\n".join(G._answer_preamble(code, pre)))  # noqa: E731
    assert uses("z = KMeans(2).fit(y)") == ["sklearn"]
    assert uses("def KMeans(y):\n    return y\n\n\nz = KMeans(1)") == []


# --- code that reaches for the grading machinery ---------------------------------------------------------


@pytest.mark.parametrize("code, found", [
    ("from pedagogy_lib.exercises.checker import CheckResult\nCheckResult.raise_if_wrong = lambda s: s", "CheckResult"),
    ("check.m_step = lambda a: True", "an assignment to check.m_step"),
    ("setattr(check, 'm_step', print)", "setattr(check, ...)"),
    ("del check.EX_MSTEP.y", "an assignment to check.EX_MSTEP.y"),
    ("result = check.m_step(x)\nresult.problems.clear()", ".problems"),
    ("import sys\nsys.modules['pedagogy_lib.exercises'] = None", "sys.modules"),
    ("import sys as s\nh = s.meta_path", ".meta_path"),
    ("from sys import modules", "from sys import modules"),
    ("f = sys._getframe(1).f_locals", "._getframe"),
    ("import inspect\nf = inspect.currentframe().f_back", ".currentframe"),
    ("import inspect\nloc = inspect.stack()[1].frame", "inspect.stack"),
    ("sys.settrace(spy)", ".settrace"),
    ("import gc\nobjs = gc.get_referrers(check.m_step)", ".get_referrers"),
    ("from gc import get_objects", "from gc import get_objects"),
    ("from pedagogy_lib.exercises import ch07_gmm_em as check", "an import of the checkers in an answer cell"),
])
def test_tampering_is_recognized(code, found):
    assert any(found in t for t in G.tampering(code)), G.tampering(code)


def test_honest_code_is_not_taken_for_tampering():
    for code in ("y, r = check.EX_MSTEP\nN_k = r.sum(axis=0)\nmu = (r.T @ y) / N_k[:, None]",
                 "res = check.EX_FIT._replace(mu=0)\nvalues = [getattr(res, f) for f in res._fields]",
                 "import inspect\nn = len(inspect.signature(f).parameters)",
                 "def g(**kw):\n    return vars()['kw']\nm = globals()['np']\nv = eval('1 + 1')",
                 "import pickle\nb = pickle.dumps([1, 2])\nd = np.__dict__['pi']\nt = type(y).__name__",
                 "gc = g - g.mean()\na = np.linalg.solve(H.T @ H, H.T @ gc)",
                 "modules = [1, 2]\nx = mod.modules",
                 "class Acc:\n    def add(self, x):\n        self._total = self._total + x"):
        assert G.tampering(code) == [], code
    # a cell the student added may import the checkers as the page does
    assert G.tampering("from pedagogy_lib.exercises import ch07_gmm_em as check", in_answer=False) == []


PATCH = "from pedagogy_lib.exercises.checker import CheckResult\nCheckResult.raise_if_wrong = lambda self: self\n"


def test_a_tamper_flag_concerns_only_its_exercise(source, sandboxed):
    """The patched checker in the M step's answer, a frame read in a cell added before it that names the
    K-means checker, and the garbage collector's objects in a cell added before the parameter count (naming
    no checker): each of those three exercises scores zero, flagged for review, and says which cell; the
    fourth, untouched, is graded as usual."""
    nb = _answer(source, "ex-7-1-m-step", PATCH + _reference(source, "ex-7-1-m-step"))
    first = next(i for i, c in enumerate(nb["cells"]) if _gid(c) == "ex-7-1-m-step-answer")
    nb["cells"].insert(first, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                               "source": "import sys\nlocals_ = sys._getframe(0).f_locals\ncheck.assign_function"})
    count = next(i for i, c in enumerate(nb["cells"]) if _gid(c) == "ex-7-1-n-params-answer")
    nb["cells"].insert(count, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                               "source": "import gc\nseen = len(gc.get_objects())"})
    results = G.grade_notebook(nb, "student-a", source=source)
    flagged = {"ex-7-1-m-step": ("CheckResult", first + 1), "ex-7-1-kmeans-assign": ("._getframe", first),
               "ex-7-1-n-params": (".get_objects", count)}
    for label, (what, cell) in flagged.items():
        assert results[label] == (False, ["tampering with the grading machinery"]), (label, results[label])
        text = _text(nb, label)
        assert f"{what} (cell {cell})" in text and "FLAGGED: tampering with the grading machinery." in text, text
    assert results["ex-7-1-mahalanobis-limit"] == (True, []), _text(nb, "ex-7-1-mahalanobis-limit")
