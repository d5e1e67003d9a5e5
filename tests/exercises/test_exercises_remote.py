"""The checkers in a process of their own (pedagogy_lib/exercises/remote.py): what a Jupyter kernel holds.

Each test runs a fresh Python with ``PEDAGOGY_CHECKERS=remote`` (as a kernel gets by default) and
compares what it sees with the checker modules imported as usual, here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from courseware import grading as G
from pedagogy_lib.exercises import ch05_nn, ch07_fa_pca, ch07_gmm_em, remote

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, mode: str = "remote") -> dict:
    env = dict(os.environ, PEDAGOGY_CHECKERS=mode, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_kernel_holds_data_and_stand_ins_but_no_code_of_the_checkers():
    seen = _run("""
        import gc, inspect, json, pkgutil
        import pedagogy_lib.exercises as package
        from pedagogy_lib.exercises import ch07_fa_pca as check, ch05_nn, ch07_gmm_em
        from pedagogy_lib.core.wire import encode
        files = {info.name + ".py" for info in pkgutil.iter_modules(package.__path__)} - {"checker.py", "remote.py"}
        code = [o.__qualname__ for o in gc.get_objects() if inspect.isfunction(o)
                and o.__code__.co_filename.rpartition("/")[2] in files]
        try:
            check._one_step
            private = "reachable"
        except AttributeError as exc:
            private = str(exc)
        print(json.dumps({"code": code, "private": private, "globals": check.fa_em_step.__globals__["__name__"],
                          "data": json.dumps(encode(check.EX_IPCA)), "type": type(check.EX_FA_STEP).__name__,
                          "doc": check.fa_em_step.__doc__, "signature": str(inspect.signature(check.principal_subspace)),
                          "names": sorted(n for n in dir(check) if not n.startswith("_"))}))
    """)
    assert seen["code"] == []                      # not one function of a checker module's source
    assert "private to the checker module" in seen["private"]
    assert seen["globals"] == "pedagogy_lib.exercises.remote"
    from pedagogy_lib.core.wire import encode
    assert seen["data"] == json.dumps(encode(ch07_fa_pca.EX_IPCA)) and seen["type"] == "FAStepProblem"
    assert seen["doc"] == ch07_fa_pca.fa_em_step.__doc__
    import inspect
    assert seen["signature"] == str(inspect.signature(ch07_fa_pca.principal_subspace))
    public = {n for n in dir(ch07_fa_pca) if not n.startswith("_") and n not in ("SUMMATIVE", "annotations")}
    assert public <= set(seen["names"]) | {n for n in public if type(getattr(ch07_fa_pca, n)).__name__ == "module"} \
        | {"NamedTuple", "subspace_angles", "checker", "np", "problem_rng"}


def test_verdicts_are_the_ones_the_checker_gives_in_process():
    y, K = ch07_fa_pca.EX_IPCA
    U = ch07_fa_pca.EX_PPCA_U                      # the loadings' subspace the exercise confines them to
    S = np.cov(y.T, bias=True)
    lam = np.sort(np.linalg.eigvalsh(U.T @ S @ U))[::-1]
    # the weaker direction of span(U) carries less variance than the noise, so it joins the noise
    assert lam[1] < (np.trace(S) - lam.sum()) / (S.shape[0] - 2)
    right = float((np.trace(S) - lam[0]) / (S.shape[0] - 1))
    answers = [right, right * len(y) / (len(y) - 1), None, "0.3", 1.7]
    seen = _run(f"""
        import json
        from pedagogy_lib.exercises import ch07_fa_pca as check
        out = []
        for a in {answers!r}:
            r = check.ppca_noise(a)
            out.append([bool(r), str(r), type(r).__name__])
        print(json.dumps(out))
    """)
    for a, (passed, text, kind) in zip(answers, seen):
        here = ch07_fa_pca.ppca_noise(a)
        assert (passed, text, kind) == (bool(here), str(here), "CheckResult")
    assert seen[0][0] and not any(p for p, _, _ in seen[1:])


def test_function_answers_stay_in_the_kernel_and_calls_nest():
    """The checker process calls the reader's function back; that function calls a function of the
    problem data, which runs in the checker process again (two levels of nesting)."""
    seen = _run("""
        import json, os
        import numpy as np
        from pedagogy_lib.exercises import ch05_nn, ch07_gmm_em
        pids = set()
        def my_assign(y, mu):
            pids.add(os.getpid())
            return np.argmin(((y[:, None, :] - mu[None]) ** 2).sum(-1), axis=1)
        def central_difference(f, theta, eps):
            g = np.zeros_like(theta)
            for i in range(len(theta)):
                e = np.zeros_like(theta)
                e[i] = eps
                g[i] = (f(theta + e) - f(theta - e)) / (2 * eps)
            return g
        def sloppy(f, theta, eps):
            return np.array([(f(theta + eps * e) - f(theta)) / eps for e in np.eye(len(theta))])
        print(json.dumps({"assign": str(ch07_gmm_em.assign_function(my_assign)), "pids": list(pids) == [os.getpid()],
                          "cd": str(ch05_nn.central_difference(central_difference)),
                          "sloppy": str(ch05_nn.central_difference(sloppy))}))
    """)
    assert seen["pids"]
    assert seen["assign"].startswith("[pass]") and seen["cd"].startswith("[pass]")

    def sloppy(f, theta, eps):
        return np.array([(f(theta + eps * e) - f(theta)) / eps for e in np.eye(len(theta))])
    assert seen["sloppy"] == str(ch05_nn.central_difference(sloppy)) and not ch05_nn.central_difference(sloppy)
    assert ch07_gmm_em.assign_function is not None


def test_a_checker_process_that_died_is_started_again():
    seen = _run("""
        import json
        from pedagogy_lib.exercises import ch07_fa_pca as check, remote
        first = bool(check.ppca_noise(None))
        process = remote._client().process
        process.kill()
        process.wait()       # gone before the request is written: a broken pipe, not an end of output
        try:
            check.ppca_noise(None)
            died = "no error"
        except RuntimeError as exc:
            died = str(exc)
        again = str(check.ppca_noise(None))
        print(json.dumps({"first": first, "died": died, "again": again}))
    """)
    assert seen["first"] is False and "checker process stopped" in seen["died"]
    assert seen["again"] == str(ch07_fa_pca.ppca_noise(None))


def test_the_modules_run_in_process_where_no_kernel_asks_otherwise():
    assert not remote.checkers_run_apart()                        # pytest is no Jupyter kernel
    assert _run("""
        import json
        from pedagogy_lib.exercises import ch07_fa_pca as check
        print(json.dumps(check.fa_em_step.__globals__["__name__"]))
    """, mode="local") == "pedagogy_lib.exercises.ch07_fa_pca"


def test_the_grader_refuses_a_kernels_stand_ins():
    seen = _run("""
        import json
        from courseware import grading as G
        from pedagogy_lib.exercises import ch07_fa_pca
        try:
            G.grade_exercise("ex-7-3-ppca-noise", "ch07_fa_pca", "ppca_noise", ["s"], [("s = 1.0", True)], "x")
            print(json.dumps("graded"))
        except RuntimeError as exc:
            print(json.dumps(str(exc)))
    """)
    assert "not a Jupyter kernel's stand-ins" in seen
    assert G.grade_exercise("ex-7-3-ppca-noise", "ch07_fa_pca", "ppca_noise", ["s"], [("s = 1.0", True)], "x")[0] is False
