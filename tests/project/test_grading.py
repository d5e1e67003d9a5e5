"""The summative grader (courseware/grading.py) without nbgrader: its processes, data and refusals.

The nbgrader round trip of tests/project/test_courseware.py grades whole submissions; these tests call the
grader on single answers, so a failure points at the mechanism that broke.
"""
from __future__ import annotations

import copy
import functools
import json
import importlib
import importlib.util
import re
from pathlib import Path

import numpy as np
import scipy.linalg
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


def _resolve(dotted: str):
    """The object a dotted name stands for: ``module.function``, ``module.Class.method`` or a module."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def _answer(nb: dict, label: str, code: str) -> dict:
    nb = copy.deepcopy(nb)
    for c in nb["cells"]:
        if c["metadata"].get("nbgrader", {}).get("grade_id") == f"{label}-answer":
            c["source"] = code
    return nb


def _text(nb: dict, label: str) -> str:
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == f"{label}-test")
    return "\n".join(o.get("text", "") or "\n".join(o.get("traceback", [])) for o in cell["outputs"])


@functools.lru_cache(maxsize=None)
def _reference_grades(path: Path) -> tuple[dict, dict]:
    """The page's nbgrader source with its reference answers, graded for student-a: ``(notebook, results)``
    (once per test process: two tests read the grades of Section 7.1)."""
    ch = E.read_notebook(path)
    nb = E.nbgrader_source(ch, {e.label: 1 for e in ch.exercises})
    return nb, G.grade_notebook(nb, "student-a")


def test_reference_solutions_pass_and_students_get_data_of_their_own():
    nb, results = _reference_grades(SECTION)
    assert all(passed for passed, _ in results.values()), {k: _text(nb, k) for k in results}
    a = ch07_gmm_em.SUMMATIVE["ex-7-1-m-step"]["variant"](np.random.default_rng(G.student_seed("a", "ex-7-1-m-step")))
    b = ch07_gmm_em.SUMMATIVE["ex-7-1-m-step"]["variant"](np.random.default_rng(G.student_seed("b", "ex-7-1-m-step")))
    assert not np.allclose(a["EX_MSTEP"].y, b["EX_MSTEP"].y)
    assert "data of your own" in _text(nb, "ex-7-1-m-step")
    # the module's own data are back after grading
    assert ch07_gmm_em.EX_MSTEP.y.shape == (8, 2) and ch07_gmm_em.EX_MSTEP.y[0, 1] == 1.0


def test_numbers_from_the_books_data_do_not_pass(source):
    y, r = ch07_gmm_em.EX_MSTEP
    N_k = r.sum(0)
    mu = (r.T @ y) / N_k[:, None]
    sigma2 = np.array([r[:, k] @ np.sum((y - mu[k]) ** 2, axis=1) for k in range(2)]) / (2 * N_k)
    typed = (f"import numpy as np\nmy_m_step = (np.array({(N_k / 8).tolist()}), np.array({mu.tolist()}), "
             f"np.array({sigma2.tolist()}))\ncheck.m_step(my_m_step)")
    assert ch07_gmm_em.m_step(eval(typed.split("my_m_step = ")[1].split("\n")[0], {"np": np}))  # right on the book's data
    nb = _answer(source, "ex-7-1-m-step", typed)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"] == (False, [])


def test_the_student_process_has_no_checkers(source):
    code = ("import importlib\nmod = importlib.import_module('pedagogy_lib.exercises.ch07_gmm_em')\n"
            "my_m_step = mod._m_step_variants(mod.EX_MSTEP)\n")
    nb = _answer(source, "ex-7-1-m-step", code)
    passed, flags = G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"]
    assert not passed and "tampering" in " ".join(flags)
    # without the tamper scan, the import itself fails in the student process
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


def _without_allowlists(nb: dict) -> dict:
    """``nb`` with no exercise's list of allowed names in its hidden test (as a course generated before the
    lists were added has it): the static check is then off and the forbidden-function stubs do the work."""
    nb = copy.deepcopy(nb)
    for c in nb["cells"]:
        spec = G.parse_hidden_call("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
        if spec and "allowed" in spec:
            old = "# summative: " + json.dumps(spec)
            del spec["allowed"]
            src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            assert old in src
            c["source"] = src.replace(old, "# summative: " + json.dumps(spec))
    return nb


def test_forbidden_functions_raise_wherever_they_are_bound(source):
    code = ("from pedagogy_lib.mixture import gmm_m_step, gmm_stats_from_responsibilities\n"
            "y, r = check.EX_MSTEP\nfit = gmm_m_step(gmm_stats_from_responsibilities(y, r))\n"
            "my_m_step = (fit.pi, fit.mu, fit.Sigma)\ncheck.m_step(my_m_step)")
    nb = _answer(source, "ex-7-1-m-step", code)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"][0] is False     # refused before it runs
    assert "`pedagogy_lib.mixture.gmm_m_step`" in _text(nb, "ex-7-1-m-step")
    assert "which this exercise does not allow" in _text(nb, "ex-7-1-m-step")
    # and, with no list of allowed names, where it runs: the stubs refuse the call
    nb = _answer(_without_allowlists(source), "ex-7-1-m-step", code)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"][0] is False
    assert "not allowed in this exercise: pedagogy_lib.mixture.em.gmm_stats_from_responsibilities" in \
        _text(nb, "ex-7-1-m-step")


def test_graded_code_calls_only_what_its_exercise_allows_from_the_library_and_scipy(source):
    imports = ("import numpy as np\nimport scipy\nfrom scipy import stats, optimize, linalg, special\n"
               "from scipy.integrate import quad as integrate_it\nimport pedagogy_lib as pl\n"
               "from pedagogy_lib import hmm\nfrom pedagogy_lib.exercises import ch07_gmm_em as check\n"
               "from pedagogy_lib.display import animate\n")
    code = ("a = stats.norm.logpdf(0.0)\nb = stats.norm(0, 1).pdf(1.0)\nc = optimize.minimize(f, 0.0).x\n"
            "d = scipy.optimize.brentq(f, 0, 1)\ne = integrate_it(f, 0, 1)\ng = hmm.hmm_filter\n"
            "h = pl.hmm.inference.hmm_filter\ni = getattr(stats, 'mult' + 'ivariate_normal')\n")
    uses = G.restricted_uses(code, imports)
    # one function reached by two routes is one name; a distribution's methods are the distribution
    assert sorted(uses.values()) == ["getattr(stats, ...)", "pedagogy_lib.hmm.hmm_filter", "scipy.integrate.quad",
                                     "scipy.optimize.brentq", "scipy.optimize.minimize", "scipy.stats",
                                     "scipy.stats.norm"], uses
    assert G.canonical_name("pedagogy_lib.hmm.hmm_filter") == G.canonical_name("pedagogy_lib.hmm.inference.hmm_filter")
    # NumPy, scipy.special, scipy.linalg, the checkers' data and the plotting helpers are open to every answer
    honest = ("x = np.linalg.solve(A, b)\ny = special.logsumexp(x)\nz = linalg.cho_factor(A)\n"
              "w = check.EX_MSTEP\nanimate\nfrom scipy.special import expit\nv = expit(1.0)")
    assert G.restricted_uses(honest, imports) == {}
    # but not scipy.linalg's raw LAPACK and BLAS wrappers, by any route (B.3's inverses, found by a reader)
    raw = ("u, s, vt, info = linalg.lapack.dgesdd(A)\nx = scipy.linalg.blas.dtrsm(1.0, A, B)\n"
           "f = linalg.get_lapack_funcs(('gesv',))\nfrom scipy.linalg.lapack import dpotrf\nc = dpotrf(A)\n"
           "import scipy.linalg.lapack as lp\nq = lp.dgbsv(1, 1, A, b)\n")
    assert sorted(G.restricted_uses(raw, imports)) == [
        "scipy.linalg.blas.dtrsm", "scipy.linalg.lapack.dgbsv", "scipy.linalg.lapack.dgesdd",
        "scipy.linalg.lapack.dpotrf", "scipy.linalg.lapack.get_lapack_funcs"]
    # the student's own function of a name the page imports is the student's; moving a module to a name is a use
    assert G.restricted_uses("def hmm(x):\n    return x\ny = hmm(2)\nstats = 3\nz = stats + 1", imports) == {}
    assert list(G.restricted_uses("def f(m=hmm):\n    return m.hmm_filter", imports).values()) == ["pedagogy_lib.hmm"]
    assert G.outside_allowed(code, imports, [G.canonical_name("scipy.stats.norm")]) == \
        sorted(set(uses.values()) - {"scipy.stats.norm"})
    assert G.restricted_uses("from scipy.stats import *\nnorm", "") == {"from scipy.stats import *": "from scipy.stats import *"}
    # the plotting helpers are open, but not the library functions their modules import: plotting.check_spd
    # returns a Cholesky factor from a compiled kernel that no stub replaces (a reader reached 8.3's forbidden
    # triangular factor through it); NumPy reached through them stays open like NumPy itself
    through = ("from pedagogy_lib.display import plotting\nL = plotting.check_spd(S, 'S')\n"
               "import pedagogy_lib.display.plotting as pp\nM = pp.as_array(S, 'S')\n"
               "P = plotting.ellipse_points(m, S)\nQ = plotting.np.eye(2)\n")
    assert G.restricted_uses(through, imports) == {
        "pedagogy_lib.core.checks.check_spd": "pedagogy_lib.display.plotting.check_spd",
        "pedagogy_lib.core.checks.as_array": "pedagogy_lib.display.plotting.as_array"}
    # every reference answer uses only what its exercise allows, and its statement says what that is
    spec = importlib.util.spec_from_file_location("sync_allowed_lines", ROOT / "tools" / "sync_allowed_lines.py")
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    assert sync.main(["--check"]) == 0, "statements out of date: run python tools/sync_allowed_lines.py"
    # end to end: scipy.optimize is not among what the m-step exercise allows
    code = ("from scipy.optimize import minimize\ny, r = check.EX_MSTEP\nfit = minimize(lambda t: t @ t, y[0])\n"
            "my_m_step = None\ncheck.m_step(my_m_step)")
    nb = _answer(source, "ex-7-1-m-step", code)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"] == (False, [])
    assert "calls `scipy.optimize.minimize`, which this exercise does not allow" in _text(nb, "ex-7-1-m-step")


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
    nb = _answer(source, "ex-7-1-m-step", code)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"] == (False, [])
    assert "private functions (`em._m_step`)" in _text(nb, "ex-7-1-m-step")


def test_numpy_s_and_scipy_s_private_modules_are_not_accepted_in_graded_answers(source):
    """A "not allowed" list makes a function unavailable under its public name; the same compiled routine
    under a private module (``scipy.linalg._flapack.dgesv`` for ``np.linalg.solve``, say) is refused."""
    imports = "import numpy as np\nimport scipy.linalg as sla\nfrom scipy import linalg\n"
    assert G.private_numpy_scipy_names("x = sla._flapack.dgesv(A, b)", imports) == ["sla._flapack"]
    assert G.private_numpy_scipy_names("x = np.linalg._umath_linalg.inv(A)", imports) == ["np.linalg._umath_linalg"]
    assert G.private_numpy_scipy_names("from numpy.linalg import _umath_linalg as u", imports) == \
        ["numpy.linalg._umath_linalg"]
    assert G.private_numpy_scipy_names("import scipy.linalg._flapack", imports) == ["scipy.linalg._flapack"]
    for honest in ("x = np.linalg.solve(A, b)", "y = np.r_[1, 2]", "f = linalg.lapack.dgesv", "n = A.__class__",
                   "class A:\n    def __init__(self):\n        self._x = 1"):
        assert G.private_numpy_scipy_names(honest, imports) == [], honest
    code = ("import numpy as np\ny, r = check.EX_MSTEP\nw = np.linalg._umath_linalg.inv(np.eye(2))\n"
            "my_m_step = None\ncheck.m_step(my_m_step)")
    nb = _answer(source, "ex-7-1-m-step", code)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"] == (False, [])
    assert "private parts of NumPy or SciPy (`np.linalg._umath_linalg`)" in _text(nb, "ex-7-1-m-step")


def test_the_library_s_kernel_modules_are_not_accepted_in_graded_answers(source):
    imports = "import numpy as np\nimport pedagogy_lib as pl\nfrom pedagogy_lib import lgssm\n"
    assert G.kernel_module_names("k = lgssm.kernels.rts_backward", imports) == ["lgssm.kernels"]
    assert G.kernel_module_names("from pedagogy_lib.lgssm.kernels import filter_covariance", imports) == \
        ["pedagogy_lib.lgssm.kernels.filter_covariance"]
    assert G.kernel_module_names("from pedagogy_lib.samplers import kernels as k", imports) == \
        ["pedagogy_lib.samplers.kernels"]
    assert G.kernel_module_names("import pedagogy_lib.core.kernels", imports) == ["pedagogy_lib.core.kernels"]
    assert G.kernel_module_names("f = pl.core.kernels.chol_upper", imports) == ["pl.core.kernels"]
    assert G.kernel_module_names("t = pl.harmonium.kernels.gray_log_marginals(W, a, b, 1, 0, out)", imports) == \
        ["pl.harmonium.kernels"]
    assert G.kernel_module_names("t = pl.harmonium.exact.log_marginals_numba(W, a, b, 1, 0, out)", imports) == \
        ["pl.harmonium.exact.log_marginals_numba"]
    assert G.kernel_module_names("from pedagogy_lib.assimilation.kernels import rhs", imports) == \
        ["pedagogy_lib.assimilation.kernels.rhs"]
    assert G.kernel_module_names("f = pl.assimilation.kernels.run_etkf", imports) == ["pl.assimilation.kernels"]
    # a kernel whose name carries no _numba suffix (the HMM's forward and backward passes) is refused by its module
    assert G.kernel_module_names("from pedagogy_lib import hmm\nf = hmm.kernels.forward", imports) == ["hmm.kernels"]
    assert G.kernel_module_names("from pedagogy_lib.hmm.kernels import forward, backward", imports) == \
        ["pedagogy_lib.hmm.kernels.backward", "pedagogy_lib.hmm.kernels.forward"]
    assert G.kernel_module_names("r = pl.hmm.hmm_smoother(pi, A, log_lik)", imports) == []
    for honest in ("r = lgssm.kalman_smoother(p, y)", "kernels = 3\nx = kernels + 1",
                   "from sklearn.gaussian_process import kernels"):
        assert G.kernel_module_names(honest, imports) == [], honest
    # end to end: the compiled RTS pass written into the answer is refused and named
    code = ("from pedagogy_lib.lgssm import kernels as lk\nlk.rts_backward\n"
            "my_m_step = None\ncheck.m_step(my_m_step)")
    nb = _answer(source, "ex-7-1-m-step", code)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"] == (False, [])
    assert "compiled kernels (" in _text(nb, "ex-7-1-m-step") and "`pedagogy_lib.lgssm.kernels`" in _text(nb, "ex-7-1-m-step")


def test_a_peer_library_the_page_imports_is_refused_in_an_answer_that_uses_it():
    """Section 7.1 imports scikit-learn's GaussianMixture and KMeans itself, so an answer can use them
    without an import line of its own (one-cluster KMeans with sample weights is a weighted mean and
    scatter); the grade refuses that answer, names the library, and still grades the honest answers
    of the same notebook, whose page imports are the same."""
    src = E.nbgrader_source(E.read_notebook(SECTION), {e.label: 1 for e in E.read_notebook(SECTION).exercises})
    page = "\n".join("".join(c["source"]) for c in src["cells"] if c["cell_type"] == "code")
    assert "GaussianMixture" in page and "KMeans" in page
    code = ("y, r = check.EX_MSTEP\nfits = [KMeans(1, n_init=1).fit(y, sample_weight=r[:, k]) for k in range(2)]\n"
            "N_k = r.sum(0)\nmy_m_step = (N_k / len(y), np.array([f.cluster_centers_[0] for f in fits]),\n"
            "             np.array([f.inertia_ for f in fits]) / (2 * N_k))\ncheck.m_step(my_m_step)")
    nb = _answer(src, "ex-7-1-m-step", code)
    grades = G.grade_notebook(nb, "student-a")
    assert grades["ex-7-1-m-step"] == (False, []) and "`sklearn`" in _text(nb, "ex-7-1-m-step")
    assert "through the page's imports" in _text(nb, "ex-7-1-m-step")
    assert all(passed for label, (passed, _) in grades.items() if label != "ex-7-1-m-step"), grades
    # a function of the answer's own that has the name the page imports is the answer's
    pre = ["import numpy as np", "from sklearn.cluster import KMeans"]
    uses = lambda code: G.peer_library_imports("\n".join(G._answer_preamble(code, pre)))  # noqa: E731
    assert uses("z = KMeans(2).fit(y)") == ["sklearn"]
    assert uses("def KMeans(y):\n    return y\n\n\nz = KMeans(1)") == []


def test_answers_that_import_a_peer_library_are_not_accepted(source):
    assert G.peer_library_imports("from filterpy.kalman import KalmanFilter\nimport numpy as np") == ["filterpy"]
    assert G.peer_library_imports("import sklearn.mixture as skm\nimport pgmpy") == ["pgmpy", "sklearn"]
    assert G.peer_library_imports("m = importlib.import_module('hmmlearn.hmm')") == ["hmmlearn"]
    assert G.peer_library_imports("from mpmath import diff") == ["mpmath"]
    # pandas' Series.interpolate runs scipy.interpolate, past the name checks (the eighteenth reader pass)
    assert G.peer_library_imports("import pandas as pd\nt = pd.Series([0.0, None, 1.0]).interpolate('slinear')") == ["pandas"]
    for honest in ("import numpy as np\nfrom scipy import linalg", "from pedagogy_lib import mixture as mx",
                   "import networkx as nx", "from . import x"):
        assert G.peer_library_imports(honest) == [], honest
    # end to end: scikit-learn's mixture gives the right responsibilities' M step, and the grade refuses it
    code = ("from sklearn.mixture import GaussianMixture\ny, r = check.EX_MSTEP\n"
            "my_m_step = None\ncheck.m_step(my_m_step)")
    nb = _answer(source, "ex-7-1-m-step", code)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"] == (False, [])
    assert "imports `sklearn`" in _text(nb, "ex-7-1-m-step")


def test_compiled_numpy_and_namespace_walks_are_refused(source):
    """numba compiles its own ``np.linalg.lstsq``, ``np.vander``, ``np.convolve``..., which the stubs of the
    forbidden functions do not replace (the eighteenth reader pass graded njit-compiled ``lstsq`` and
    ``pinv`` as full marks for the M steps of 7.3, 7.4 and 8.1); ``vars()`` and ``__dict__`` walk from an
    allowed module to any other. Both are refused in a graded notebook, with the reference answer intact."""
    ref = next(c for c in source["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "ex-7-1-m-step-answer")
    answer = "".join(ref["source"])
    assert G.grade_notebook(source, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"][0] is True
    assert G.peer_library_imports("from numba import njit") == ["numba"]
    assert G.peer_library_imports("import llvmlite.binding") == ["llvmlite"]
    nb = _answer(source, "ex-7-1-m-step", "import numba\n" + answer)
    assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"] == (False, [])
    assert "imports `numba`, which compiles NumPy's functions anew" in _text(nb, "ex-7-1-m-step")
    nb = _answer(source, "ex-7-1-m-step", "import scipy.linalg as sl\nsp = vars(sl)['_expm_frechet']\n" + answer)
    passed, flags = G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"]
    assert passed is False and "tampering with the grading machinery" in flags
    assert "round its checks (vars" in _text(nb, "ex-7-1-m-step")


def test_where_a_pseudo_inverse_is_forbidden_so_is_the_symmetric_one():
    """``scipy.linalg.pinvh`` of the symmetric block matrix [[0, Z], [Z^T, 0]] holds ``pinv(Z)`` in its lower left
    block, so an exercise that forbids NumPy's or SciPy's ``pinv`` (stacked least squares) must forbid ``pinvh``
    too: the twentieth reader pass graded that route as full marks in eight M steps of Chapters 7 and 8."""
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((5, 3))
    big = np.block([[np.zeros((5, 5)), Z], [Z.T, np.zeros((3, 3))]])
    np.testing.assert_allclose(scipy.linalg.pinvh(big)[5:, :5], np.linalg.pinv(Z), atol=1e-12)
    missing = []
    for path in sorted((ROOT / "pedagogy_lib" / "exercises").glob("[!_]*.py")):
        mod = importlib.import_module(f"pedagogy_lib.exercises.{path.stem}")
        for label, spec in getattr(mod, "SUMMATIVE", {}).items():
            names = set(spec.get("forbidden", ()))
            if names & {"numpy.linalg.pinv", "scipy.linalg.pinv"} and "scipy.linalg.pinvh" not in names:
                missing.append(label)
    assert not missing, missing


def test_where_a_least_squares_solver_is_forbidden_so_are_its_disguises():
    """Least squares comes out of one call of SciPy routines that are not solvers by name: the interpolative
    decomposition of [Z, eps T] at Z's rank (pivoted QR) keeps Z's columns and writes T's through them by their
    least-squares coefficients times eps, and the null space of [Z, s t] (s small, a loose rcond) is the one
    vector (s lstsq(Z, t), -1) up to scale. The twenty-second and twenty-third reader passes graded both as
    full marks in nine M steps (6.3 to 8.1). Every exercise that forbids a least-squares solver or a
    pseudo-inverse forbids both; and every exercise that forbids QR forbids the routines that build its
    factor under other names (``checker.QR_BY_OTHER_NAMES``: the QR updates, the Hessenberg reduction, and the
    QZ decomposition of a pencil (0, B), whose triangular factor of B is B's R up to signs; the twenty-fourth
    pass graded it as full marks in 8.3, 8.3.2 and 8.3.3)."""
    import scipy.linalg.interpolative as sli
    from pedagogy_lib.exercises.checker import QR_BY_OTHER_NAMES

    rng = np.random.default_rng(1)
    Z, T = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    eps = 1e-6
    want = np.linalg.lstsq(Z, T, rcond=None)[0]
    idx, proj = sli.interp_decomp(np.column_stack([Z, eps * T]), 3, rand=False)
    assert sorted(idx[:3]) == [0, 1, 2]
    coef = np.empty((3, 2))
    coef[np.ix_(idx[:3], idx[3:] - 3)] = proj / eps
    np.testing.assert_allclose(coef, want, atol=1e-8)
    v = scipy.linalg.null_space(np.column_stack([Z, eps * T[:, 0]]), rcond=1e-3)[:, 0]
    np.testing.assert_allclose(-v[:3] / (eps * v[3]), want[:, 0], rtol=1e-6)
    u, w = rng.standard_normal(3), rng.standard_normal(3)
    bordered = np.zeros((4, 4))
    bordered[1:, 0], bordered[0, 1:] = u, w
    H = scipy.linalg.hessenberg(bordered)
    R = np.linalg.qr(np.column_stack([u, w]))[1]
    np.testing.assert_allclose(abs(H[1, 0]), abs(R[0, 0]), rtol=1e-12)
    np.testing.assert_allclose(abs(H[0, 1]), abs(R[0, 1]), rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(H[0, 2:]), abs(R[1, 1]), rtol=1e-12)
    B = rng.standard_normal((4, 4))
    R = np.linalg.qr(B)[1]
    for T in (scipy.linalg.qz(np.zeros((4, 4)), B)[1], scipy.linalg.ordqz(np.zeros((4, 4)), B)[1]):
        np.testing.assert_allclose(np.abs(T), np.abs(R), atol=1e-12)
    solvers = {"numpy.linalg.lstsq", "scipy.linalg.lstsq", "numpy.linalg.pinv", "scipy.linalg.pinv",
               "scipy.linalg.pinvh"}
    missing = []
    for path in sorted((ROOT / "pedagogy_lib" / "exercises").glob("[!_]*.py")):
        mod = importlib.import_module(f"pedagogy_lib.exercises.{path.stem}")
        for label, spec in getattr(mod, "SUMMATIVE", {}).items():
            names = set(spec.get("forbidden", ()))
            if names & solvers:
                missing += [(label, n) for n in ("scipy.linalg.interpolative", "scipy.linalg.null_space")
                            if n not in names]
            if names & {"numpy.linalg.qr", "scipy.linalg.qr"}:
                missing += [(label, n) for n in QR_BY_OTHER_NAMES if n not in names]
    assert not missing, missing


def test_numerical_shortcuts_are_ruled_out_unless_the_exercise_allows_them(source):
    """NumPy's and SciPy's numerical shortcuts (``grading.SHORTCUTS``: np.gradient, quadrature rules,
    polynomial fits) refuse in every graded answer, named in its statement or not, but for the names an
    exercise's ``SUMMATIVE`` entry allows under ``"shortcuts"``, which its statement then names."""
    import types

    for dotted in G.SHORTCUTS:
        obj = _resolve(dotted)
        assert callable(obj) and not isinstance(obj, types.ModuleType), dotted
    exercises = E.all_exercises()
    allowing = {e.label: _summative(e)["shortcuts"] for e in exercises if _summative(e).get("shortcuts")}
    assert allowing, "no exercise allows a shortcut: the opt-out is untested"
    for e in exercises:
        allowed = allowing.get(e.label, ())
        assert set(allowed) <= set(G.SHORTCUTS), (e.label, allowed)
        assert G.SHORTCUTS_SHOWN in e.statement, f"{e.label}: the statement does not rule the shortcuts out"
        assert all(f"`{n.replace('numpy.', 'np.', 1)}`" in e.statement.split(G.SHORTCUTS_SHOWN)[1] for n in allowed)
        assert G.shortcuts_for(_summative(e)) == [n for n in G.SHORTCUTS if n not in allowed]
    # end to end: 7.1's M step does not name them, and each refuses there when graded
    m_step = _summative(next(e for e in exercises if e.label == "ex-7-1-m-step"))
    for call in ("np.gradient(np.arange(3.0))", "np.trapezoid(np.ones(3))", "np.polyfit([0., 1, 2], [1., 0, 1], 2)",
                 "np.polynomial.hermite_e.hermegauss(3)", "scipy.special.roots_legendre(3)",
                 "statistics.linear_regression([0., 1, 2], [1., 0, 1])",
                 "scipy.linalg.funm(np.array([[1e-20j, 1], [0, -1e-20j]]), np.sin)"):
        assert not any(d.endswith("." + call.split("(")[0].split(".")[-1]) for d in m_step.get("forbidden", ())), call
        code = f"import scipy.special\nimport scipy.linalg\nimport statistics\ny, r = check.EX_MSTEP\n_ = {call}\nmy_m_step = None\ncheck.m_step(my_m_step)"
        nb = _answer(source, "ex-7-1-m-step", code)
        assert G.grade_notebook(nb, "student-a", labels={"ex-7-1-m-step"})["ex-7-1-m-step"][0] is False, call
        assert "not allowed in this exercise" in _text(nb, "ex-7-1-m-step"), (call, _text(nb, "ex-7-1-m-step"))


def test_function_answers_run_in_the_student_process_on_hidden_inputs(source):
    code = ("def my_assign(y, mu):\n    import os\n    return np.full(len(y), os.getpid() % 1)\n"
            "check.assign_function(my_assign)")
    nb = _answer(source, "ex-7-1-kmeans-assign", code)
    assert G.grade_notebook(nb, "s", labels={"ex-7-1-kmeans-assign"})["ex-7-1-kmeans-assign"][0] is False
    text = _text(nb, "ex-7-1-kmeans-assign")
    assert "EX_ASSIGN[0]" in text and "not assigned to their nearest centre" in text


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
    from pedagogy_lib.core import wire
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


@pytest.mark.parametrize("code, found", [
    ("from pedagogy_lib.exercises.checker import CheckResult\nCheckResult.raise_if_wrong = lambda s: s", "CheckResult"),
    ("check.m_step = lambda a: True", "an assignment to check.m_step"),
    ("import sys\nsys.modules['x'] = 1", ".modules"),
    ("import inspect", "inspect"),
    ("f = sys._getframe(1).f_locals", "._getframe"),
    ("get_ipython().set_custom_exc((Exception,), print)", ".set_custom_exc"),
    # namespaces read as dictionaries walk from scipy.linalg (allowed) to all of SciPy: the eighteenth reader
    # pass graded scipy.integrate.quad reached so as full marks in 8.2.1
    ("q = vars(vars(sl)['_expm_frechet'])['scipy'].integrate.quad", "vars"),
    ("q = sl.__dict__['_expm_frechet'].__dict__['scipy'].integrate.quad", ".__dict__"),
    ("m = globals()['sl']", "globals"),
    ("q = eval('__imp' + 'ort__')('scipy.integrate').quad", "eval"),
    ("exec('import scipy.integrate as si')", "exec"),
    ("t = type(np).__subclasses__()", ".__subclasses__"),
    ("m = [sl][0]._expm_frechet", "._expm_frechet"),                     # a module laundered through a list
    ("q = functools.reduce(getattr, ['_expm_frechet', 'scipy'], sl)", "getattr by"),
    ("q = getattr(m, '_expm_' + 'frechet')", "getattr by"),
    ("import pickle\nq = pickle.loads(b'cscipy.integrate\\nquad\\n.')", "import pickle"),
    ("q = operator.attrgetter('_expm_frechet.scipy')(sl)", "attrgetter"),
])
def test_tampering_is_recognized(code, found):
    assert any(found in t for t in G.tampering(code)), G.tampering(code)


def test_honest_code_is_not_taken_for_tampering():
    for code in ("y, r = check.EX_MSTEP\nN_k = r.sum(axis=0)\nmu = (r.T @ y) / N_k[:, None]",
                 "def assign(y, mu):\n    return np.argmin(((y[:, None] - mu[None]) ** 2).sum(2), axis=1)",
                 "import numpy as np\nfrom pedagogy_lib import assimilation as da\nx = da.integrate",
                 "gc = g - g.mean()\na = np.linalg.solve(H.T @ H, H.T @ gc)",       # a name of the answer's own
                 "def f(inspect):\n    return inspect + 1",
                 "def g(compile, vars):\n    return compile(vars)",            # arguments of the answer's own
                 "res = check.EX_FIT._replace(mu=0)\nmu = getattr(res, 'mu')",
                 "class Acc:\n    def add(self, x):\n        self._total = self._total + x"):
        assert G.tampering(code) == [], code
    # the module under that name is still recognized, at its import
    assert G.tampering("import gc\ngc = gc.get_objects()")
    assert G.tampering("builtins = 1\n__builtins__['x'] = 2")


def test_checker_modules_keep_their_reference_helpers_private():
    import importlib
    import pkgutil

    import pedagogy_lib.exercises as package

    sealed = 0
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in package.MACHINERY:
            continue
        mod = importlib.import_module(f"pedagogy_lib.exercises.{info.name}")
        private = [n for n in vars(mod) if n.startswith("_") and not n.startswith("__")]
        for name in private:
            with pytest.raises(AttributeError, match="private to the checker module"):
                getattr(mod, name)
        sealed += bool(private)
    assert sealed >= 40
    from pedagogy_lib.exercises import da_fourdvar
    with pytest.raises(AttributeError):
        da_fourdvar._strong_grad
    assert callable(da_fourdvar.strong_gradient) and da_fourdvar.__name__ == "pedagogy_lib.exercises.da_fourdvar"


# --- every exercise, summatively -------------------------------------------------------------------------

def _summative(ex):
    import importlib

    return getattr(importlib.import_module(f"pedagogy_lib.exercises.{ex.checker_module}"), "SUMMATIVE", {}).get(ex.label, {})


#: Statements that sound as if they rule the library out but leave nothing to forbid, and why.
NOTHING_TO_FORBID = {
    "ex-2-2-3-rate": "the exercise measures the library's own particle filter; running it is the task",
    "ex-7-1-n-params": "no library function counts a mixture's free parameters",
    "ex-8-3-3-levels": "no library function counts the levels of a geometric noise ladder",
    "ex-b3-shapes": "no library function chooses how to group the factors of a low-rank update",
}
_RULES_OUT = re.compile(r"numpy only|only numpy|by hand|yourself|your own|without (calling|using)? ?`|no library|"
                        r"not allowed|do not use|\bwrite (a function|the|your|`)|\bimplement\b", re.I)


def test_statements_that_rule_the_library_out_are_enforced_when_graded():
    exercises = E.all_exercises()
    unenforced = [e.label for e in exercises if _RULES_OUT.search(e.statement) and not _summative(e).get("forbidden")
                  and e.label not in NOTHING_TO_FORBID]
    assert not unenforced, f"statements that rule the library out with no functions forbidden when graded: {unenforced}"
    assert set(NOTHING_TO_FORBID) <= {e.label for e in exercises if _RULES_OUT.search(e.statement)}
    assert sum(bool(_summative(e).get("forbidden")) for e in exercises) >= 45


def test_every_forbidden_name_exists_and_its_statement_names_it():
    import importlib
    import types

    for ex in E.all_exercises():
        for dotted in _summative(ex).get("forbidden", ()):
            name = dotted.rpartition(".")[2]
            assert f"{name}`" in ex.statement, f"{ex.label}: the statement does not name {dotted}"
            if "." not in dotted:                       # a function the page defines
                page = "".join("".join(c["source"]) for c in json.loads(Path(ex.notebook).read_text())["cells"]
                               if c["cell_type"] == "code")
                assert f"def {dotted}(" in page, f"{ex.label}: the page defines no {dotted}"
                continue
            obj = _resolve(dotted)
            # a function, or a NumPy/SciPy module that stands for all of its functions (grading.expand_forbidden)
            assert callable(obj) or (isinstance(obj, types.ModuleType) and dotted.startswith(("numpy.", "scipy."))), \
                f"{ex.label}: {dotted} is not a function"


def _exercises_with_forbidden_functions():
    return [e for e in E.all_exercises() if _summative(e).get("forbidden")]


def _forbidden_by_module():
    """Per checker module: (a checker of it, every function its exercises forbid, in order, once each)."""
    out: dict[str, tuple[str, list[str]]] = {}
    for ex in _exercises_with_forbidden_functions():
        checker, names = out.setdefault(ex.checker_module, (ex.checker, []))
        names += [d for d in _summative(ex).get("forbidden") if d not in names]
    return sorted(out.items())


@pytest.mark.parametrize("module, forbidden", _forbidden_by_module(), ids=lambda v: v if isinstance(v, str) else "")
def test_graded_code_cannot_call_what_the_statement_forbids(module, forbidden, monkeypatch):
    """Each forbidden function raises in the student process, by its own module, by its family's name for
    it and by name from the page; and the library's other functions still run. One grading run per
    checker module forbids what all of its exercises forbid (the stubbing is the same for every
    exercise: each name is stubbed on its own), so a function any exercise names is checked."""
    checker, dotted = forbidden
    mod = importlib.import_module(f"pedagogy_lib.exercises.{module}")
    monkeypatch.setitem(mod.SUMMATIVE, "ex-probe", {"forbidden": list(dotted)})
    dotted = list(dotted)
    library = [d for d in dotted if "." in d]
    page = [d for d in dotted if "." not in d]
    probe = (
        "import importlib\n"
        f"names = {library!r}\n"
        "refused = []\n"
        "for dotted in names:\n"
        "    parts = dotted.split('.')\n"
        "    for i in range(len(parts) - 1, 0, -1):\n"
        "        try:\n"
        "            obj = importlib.import_module('.'.join(parts[:i]))\n"
        "        except ImportError:\n"
        "            continue\n"
        "        holders = [obj]\n"
        "        if parts[0] == 'pedagogy_lib' and i > 2:\n"
        "            holders.append(importlib.import_module('.'.join(parts[:2])))   # the family's re-export\n"
        "        for holder in holders:\n"
        "            for attr in parts[i:] if holder is obj else parts[-1:]:\n"
        "                holder = getattr(holder, attr, None)\n"
        "            if holder is None or isinstance(holder, type(importlib)):\n"
        "                continue\n"
        "            try:\n"
        "                holder()\n"
        "            except RuntimeError as exc:\n"
        "                refused.append('ok' if 'not allowed in this exercise' in str(exc) else 'other')\n"
        "            except Exception:\n"
        "                refused.append('other')\n"
        "            else:\n"
        "                refused.append('ran')\n"
        "        break\n"
        f"for name in {page!r}:\n"
        "    try:\n"
        "        globals()[name]()\n"
        "    except RuntimeError as exc:\n"
        "        refused.append('ok' if 'not allowed in this exercise' in str(exc) else 'other')\n"
        "    else:\n"
        "        refused.append('ran')\n"
        "import numpy as np\n"
        "from pedagogy_lib.core.logmath import logsumexp\n"
        "assert abs(logsumexp(np.zeros(2)) - np.log(2)) < 1e-12\n"
        "raise KeyError(' '.join(refused))\n"
    )
    defs = "".join(f"def {name}(*args):\n    return 0\n" for name in page)
    cells = [(f"import numpy as np\n{defs}", False), (probe, True)]
    passed, text = G.grade_exercise("ex-probe", module, checker, [], cells, "s")
    assert not passed and "KeyError" in text, text
    verdicts = text.split("KeyError: ", 1)[1].splitlines()[0].strip("'\"").split()
    # a forbidden NumPy or SciPy module stands for its functions and cannot itself be called: the probe skips it
    def is_module(name):
        try:
            return importlib.util.find_spec(name) is not None
        except ImportError:          # numpy.polynomial.Polynomial.fit: its parent is a class, not a package
            return False

    modules = [d for d in library if d.startswith(("numpy.", "scipy.")) and is_module(d)]
    # so is a name inside such a module (numpy.polynomial.legendre.Legendre.fit): the module refuses for it
    skipped = [d for d in library if any(d == m or d.startswith(m + ".") for m in modules)]
    assert len(verdicts) >= len(dotted) - len(skipped) and set(verdicts) == {"ok"}, (module, verdicts)


def test_a_page_function_cannot_reach_what_the_exercise_does_not_allow():
    """A page function called with the page's globals rebound to the exercise's data (3.3's jre_with, which
    calls the library's Helmholtz JRE) reaches, from inside, a library function the statement does not
    allow: the answer is refused, naming it. A page function that calls nothing restricted, the student's
    own function of a page function's name, and what the exercise allows stay open."""
    preamble = ["import numpy as np", "from pedagogy_lib.harmonium import helmholtz as hh",
                "def jre_with(a):\n    return hh.helmholtz_jre(m_tr, a)",
                "def via(a):\n    return jre_with(a) + 1",
                "def tidy(x):\n    return np.round(x, 3)"]
    refused = G.page_functions_outside_allowed("m_tr = check.EX_HM\nmy_p = via(bas)", preamble, [])
    assert refused == ["pedagogy_lib.harmonium.helmholtz.helmholtz_jre"], refused
    assert G.page_functions_outside_allowed("my_p = tidy(0.5)", preamble, []) == []
    own = "def via(a):\n    return a\n\n\nmy_p = via(0.5)"
    assert G.page_functions_outside_allowed(own, preamble, []) == []
    allowed = [G.canonical_name("pedagogy_lib.harmonium.helmholtz.helmholtz_jre")]
    assert G.page_functions_outside_allowed("my_p = via(bas)", preamble, allowed) == []
    # end to end, on the page itself: 3.3's sleep exercise, its answer through the page's jre_with
    path = ROOT / "chapters" / "ch03_undirected_generative_models" / "3_3_helmholtz_machine.ipynb"
    ch = E.read_notebook(path)
    src = E.nbgrader_source(ch, {e.label: 1 for e in ch.exercises})
    code = "m_tr = check.EX_HM\nbas = check.EX_Y[None].astype(float)\nprobe = jre_with(1, 0, 0, 1e-4)\n"
    label = next(e.label for e in ch.exercises if e.label == "ex-3-3-helmholtz")
    stub = next(e.stub for e in ch.exercises if e.label == label)
    nb = _answer(src, label, code + stub)
    assert G.grade_notebook(nb, "student-a", labels={label})[label] == (False, [])
    assert "helmholtz_jre" in _text(nb, label) and "page's functions that the answer calls" in _text(nb, label)


def test_a_forbidden_page_function_refuses_through_what_the_page_built_from_it():
    """When the page's cells are replayed, an object a page cell builds from a forbidden function (a model
    holding its e_step, as 6.3's toy_model does) refuses too: the function object raises, not only its name."""
    page = "def e_step(params, y):\n    return params\n\n\nmodel = {'e_step': e_step}\n"
    answer = "def em_step(theta, y):\n    return model['e_step'](theta, y)\n\n\nprobe = em_step(0.5, None)\n"
    cells = [("import numpy as np\n", False), (page, False), (answer, True)]
    passed, text = G.grade_exercise("ex-6-3-em-step", "ch06_em", "em_step", [], cells, "s")
    assert not passed and "not allowed in this exercise: e_step (the page's function)" in text, text
    # the student's own function of that name, in the graded answer cell, is theirs to use
    own = "def e_step(params, y):\n    return params\n\n\nraise KeyError(repr(e_step(0.5, None)))\n"
    passed, text = G.grade_exercise("ex-6-3-em-step", "ch06_em", "em_step", [], cells[:2] + [(own, True)], "s")
    assert "KeyError" in text and "0.5" in text and "not allowed" not in text, text


@pytest.mark.parametrize("path", [p for p in E.chapter_notebooks() if E.read_notebook(p).exercises],
                         ids=lambda p: p.stem)
def test_every_reference_solution_passes_the_summative_grader(path):
    """The instructor's solutions, graded as a submission would be (outside the kernel, with the forbidden
    functions unavailable and, where the checker draws them, on a student's own data): full marks."""
    ch = E.read_notebook(path)
    nb, results = _reference_grades(path)
    assert set(results) == {e.label for e in ch.exercises}
    failed = {label: _text(nb, label) for label, (passed, _) in results.items() if not passed}
    assert not failed, failed
    import importlib
    for ex in ch.exercises:                   # the data the solutions passed on were the student's own
        mod = importlib.import_module(f"pedagogy_lib.exercises.{ex.checker_module}")
        own = G.own_copy(mod, 1)
        drawn = own is not None and any(re.search(rf"\b{name}\b", ex.answer_code) for name, value in
                                        G._public_data(own).items() if value != G._public_data(mod).get(name))
        if "variant" in _summative(ex) or drawn:
            assert "data of your own" in _text(nb, ex.label), ex.label


def test_checkers_that_draw_their_data_grade_each_student_on_data_of_their_own():
    """Every module that draws its problem data with ``checker.problem_rng`` gives two students different
    data and the book its own, unchanged; a number computed from the book's data then fails."""
    import importlib
    import pkgutil

    import pedagogy_lib.exercises as package

    drawing = []
    for info in pkgutil.iter_modules(package.__path__):
        mod = importlib.import_module(f"pedagogy_lib.exercises.{info.name}")
        if info.name in package.MACHINERY or "problem_rng(" not in Path(mod.__file__).read_text(encoding="utf-8"):
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


def test_a_forbidden_function_raises_when_its_module_is_first_loaded_by_importlib(monkeypatch):
    """``importlib.import_module`` (which a family's lazy attribute uses) bypasses the import statement;
    the function is refused all the same, whether the stubbing already loaded its module (looking the
    forbidden name up through the lazy family loads it) or the module gets its stubs as it loads."""
    from pedagogy_lib.exercises import ch04_objectives

    monkeypatch.setitem(ch04_objectives.SUMMATIVE, "ex-probe",
                        {"forbidden": ["pedagogy_lib.core.gradcheck.gradcheck"]})
    probe = ("import sys, importlib\n"
             "was = 'pedagogy_lib.core.gradcheck' in sys.modules\n"
             "m = importlib.import_module('pedagogy_lib.core.gradcheck')\n"
             "try:\n"
             "    m.gradcheck()\n"
             "    r = 'ran'\n"
             "except RuntimeError as exc:\n"
             "    r = 'refused' if 'not allowed in this exercise' in str(exc) else 'other'\n"
             "except Exception:\n"
             "    r = 'other'\n"
             "raise KeyError(f'{was} {r}')\n")
    passed, text = G.grade_exercise("ex-probe", "ch04_objectives", "marble_entropies", [],
                                    [("import numpy as np", False), (probe, True)], "s")
    assert re.search(r"KeyError: '(True|False) refused'", text), text


def test_a_forbidden_decorated_function_refuses_under_its_other_names(monkeypatch):
    """SciPy decorates ``scipy.stats.entropy`` (axis and NaN policies); the undecorated body is reached as
    ``scipy.stats._entropy.entropy`` too, and through ``scipy.stats.distributions``. Forbidding the public
    name disables the body, so every route refuses."""
    from pedagogy_lib.exercises import ch04_objectives

    monkeypatch.setitem(ch04_objectives.SUMMATIVE, "ex-probe", {"forbidden": ["scipy.stats.entropy"]})
    probe = ("import numpy as np\nimport scipy.stats._entropy as se\nfrom scipy.stats import distributions\n"
             "out = []\n"
             "for f in (se.entropy, distributions.entropy):\n"
             "    try:\n"
             "        f(np.array([0.5, 0.5]))\n"
             "        out.append('ran')\n"
             "    except RuntimeError as exc:\n"
             "        out.append('refused' if 'not allowed in this exercise' in str(exc) else 'other')\n"
             "raise KeyError(' '.join(out))\n")
    passed, text = G.grade_exercise("ex-probe", "ch04_objectives", "marble_entropies", [],
                                    [("import numpy as np", False), (probe, True)], "s")
    assert "KeyError: 'refused refused'" in text, text


def test_test_problems_a_checker_draws_as_it_runs_are_the_students_own():
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


def test_a_forbidden_module_stands_for_its_functions_and_a_special_function_for_its_compiled_twin():
    """Readers reached the Gaussian expectation of a polynomial through the HermiteE family one name at a
    time (poly2herme, then hermefit, hermemul, the class) and a forbidden scipy.special function through
    scipy.special.cython_special; the list's module and function names now cover those."""
    names = G.expand_forbidden(["numpy.polynomial.hermite_e", "scipy.special.pdtr", "scipy.linalg.expm",
                                "_counted_lu_solve"])
    import numpy.polynomial.hermite_e as herme
    assert {f"numpy.polynomial.hermite_e.{n}" for n in herme.__all__ if callable(getattr(herme, n))} <= set(names)
    assert "numpy.polynomial.hermite_e.hermezero" not in names     # a constant, not a function
    assert "numpy.polynomial.HermiteE" in names                   # the class where numpy.polynomial binds it
    assert "numpy.polynomial.hermite_e" not in names              # a module itself is not stubbed
    assert "scipy.special.cython_special.pdtr" in names
    assert {"scipy.linalg.expm", "_counted_lu_solve"} <= set(names)
    assert len(names) == len(set(names))


def test_the_counts_the_readme_and_the_instructors_page_give_are_the_tables_counts():
    """The grading paragraphs say how many exercises draw data of each student's own, forbid library
    functions and list none; those numbers are recounted here from the ``SUMMATIVE`` tables and
    ``courseware/allowed.json``, so that a new or reworked exercise cannot leave them stale."""
    exercises = E.all_exercises()
    n = len(exercises)
    own = sum(_graded_on_own_data(e) for e in exercises)
    forbidding = len(_exercises_with_forbidden_functions())
    allowed = json.loads((ROOT / "courseware" / "allowed.json").read_text())
    listing_none = sum(not names for names in allowed.values())
    assert len(allowed) == n
    readme = " ".join((ROOT / "README.md").read_text().split())
    page = " ".join((ROOT / "book" / "for_instructors.md").read_text().split())
    for text, where in ((readme, "README.md"), (page, "book/for_instructors.md")):
        assert f"{own} of the {n} exercises" in text, f"{where}: say {own} of the {n} exercises draw own data"
        assert f"the other {n - own}" in text, f"{where}: say the other {n - own}"
    assert f"the {forbidding} whose statements name library" in readme, f"README.md: {forbidding} forbid"
    assert f"({forbidding} exercises, for example" in page, f"book/for_instructors.md: {forbidding} forbid"
    assert f"({listing_none} of the {n} exercises list none)" in page, f"{listing_none} list none"
