"""pedagogy_lib without numba: the NumPy twins must give the answers the numba kernels give.

In the browser (JupyterLite) there is no numba, and ``pyproject.toml`` makes it an optional extra.
These tests make numba *unimportable* in a child Python (a ``sitecustomize`` on ``PYTHONPATH``
installs an import hook that refuses ``numba`` and ``llvmlite``, which is stronger than the
``PEDAGOGY_DISABLE_NUMBA`` switch because nothing can reach numba by another route) and then

- check that the library notices (``HAVE_NUMBA`` is false, ``backend="numba"`` resolves to NumPy);
- run the library tests of the families that have numba kernels (HMM, Kalman, particle filter and
  smoother, resampling, GMM EM, RNN backpropagation through time), each against its oracle: every test
  that compares a twin with its kernel or an oracle, and every validation test, so that each public
  function with a kernel runs without numba. Left out (:data:`LEFT_OUT`, a third of the run's time, none
  a twin or oracle test of a function not tested otherwise): a test's ``backend="numpy"`` case (without
  numba its ``backend="numba"`` case runs the same twins); tests that never reach a kernel (the generic
  particle path, a statistical control computed by hand); tests that call a kernel and its twin by name
  (without numba the kernel is its own Python source, which ``test_kernel_py_func_equals_compiled``
  checks, and the twin's case is the one the main run makes); long runs of the same recurrences that
  check stability, not the twin (T = 100000 and 10000: the twin gives the kernel's numbers to rounding,
  which the twin tests kept here check); and repeats of a statistical test over further resampling
  schemes or observation sizes whose twin paths the kept cases and :data:`PROBE` already run;
- compute a set of key results once with numba and once without it and compare them.

``python3 tasks.py test`` also runs one chapter notebook (2.2.1, the HMM) under nbval with the same
blocker, so its hidden checks hold the NumPy twins to the notebook's brute-force oracles; the
blocker itself is ``tests/numba_blocker/sitecustomize.py``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

BLOCKER_DIR = ROOT / "tests" / "numba_blocker"

# The families with numba kernels, tested against their oracles (brute-force enumeration, dense
# Gaussian conditioning, Monte Carlo with standard errors, finite differences, scikit-learn).
LIBRARY_TESTS = ["tests/hmm/test_hmm.py", "tests/lgssm/test_kalman.py", "tests/smc/test_particle.py", "tests/smc/test_resampling.py",
                 "tests/mixture/test_mixture_em.py", "tests/nn/test_rnn.py"]

# Tests of LIBRARY_TESTS that the run without numba leaves out (node id, or its part before "[" for every
# case): why in the module docstring; each line says what covers the functions it calls there.
LEFT_OUT = (
    # T = 100000 and T = 10000: stability of the recurrences the kept twin tests compare to the kernel
    "tests/hmm/test_hmm.py::test_long_sequence_no_underflow",
    "tests/lgssm/test_kalman.py::test_long_run_covariances_stay_symmetric_positive_definite_and_ordered",
    # calls kernels.forward and the twin by name: without numba, the kernel's Python source on 1200 x 60
    "tests/hmm/test_hmm.py::test_kernels_report_zero_evidence_row_in_any_block",
    # the generic path is NumPy alone; the control computes the wrong estimate by hand
    "tests/smc/test_particle.py::test_generic_path_converges_to_kalman",
    "tests/smc/test_particle.py::test_evidence_wrong_accounting_would_be_detected",
    # two of three schemes: the kept case resamples at a threshold and carries weights between; the twins
    # of all three schemes match the kernels to rounding (PROBE) and test_resampling.py's tests
    "tests/smc/test_particle.py::test_evidence_estimate_is_unbiased[1.0-multinomial]",
    "tests/smc/test_particle.py::test_evidence_estimate_is_unbiased[0.0-stratified]",
    # m = 5 at the three noises where it takes the path of m = 2 (kept); m = 5 at 1e-16 (the fallback) stays
    *(f"tests/lgssm/test_kalman.py::test_nearly_exact_observations_match_a_50_digit_oracle_or_raise_a_clear_error"
      f"[5-{noise}-{form}-numba]" for noise in ("0.0001", "1e-08", "1e-12")
      for form in ("covariance", "auto", "information")),
)

# Results of every kernel family on fixed inputs, flattened into {name: array}.
PROBE = textwrap.dedent('''\
    import sys
    import numpy as np
    from pedagogy_lib import hmm
    from pedagogy_lib.core.jit import HAVE_NUMBA
    from pedagogy_lib.lgssm import LGSSMParams, kalman_smoother, sample_lgssm
    from pedagogy_lib.mixture.em import fit_gmm
    from pedagogy_lib.nn.rnn import init_rnn, rnn_bptt, rnn_forward
    from pedagogy_lib.smc import particle_filter, resample, ffbsm

    out = {"have_numba": np.array(HAVE_NUMBA), "numba_loaded": np.array("numba" in sys.modules)}

    def put(prefix, value):
        if hasattr(value, "_fields"):
            for field in value._fields:
                put(f"{prefix}.{field}", getattr(value, field))
        elif value is not None:
            out[prefix] = np.asarray(value)

    rng = np.random.default_rng(2024)
    K, T = 4, 300
    A = rng.dirichlet(np.full(K, 2.0), size=K).T             # column-stochastic
    pi = rng.dirichlet(np.ones(K))
    log_lik = 3.0 * rng.standard_normal((T, K))
    put("hmm_filter", hmm.hmm_filter(pi, A, log_lik))
    put("hmm_smoother", hmm.hmm_smoother(pi, A, log_lik, return_pairwise="full"))

    n, m = 2, 3
    params = LGSSMParams(mu1=np.zeros(n), Sigma1=np.eye(n), A=np.array([[0.95, 0.1], [-0.1, 0.95]]), B=None,
                         a=np.zeros(n), Sigma_x=0.1 * np.eye(n), C=rng.standard_normal((m, n)), c=np.zeros(m),
                         Sigma_y_x=0.5 * np.eye(m))
    x, y = sample_lgssm(params, 80, rng=np.random.default_rng(1))
    put("kalman", kalman_smoother(params, y))
    for scheme in ("multinomial", "stratified", "systematic"):
        pf = particle_filter(params, y, np.random.default_rng(3), 64, scheme=scheme, ess_threshold=0.5)
        put(f"pf_{scheme}", pf)
    put("ffbsm", ffbsm(params, pf))
    W = rng.dirichlet(np.full(50, 0.3))
    for scheme in ("multinomial", "stratified", "systematic"):
        out[f"resample_{scheme}"] = resample(W, np.random.default_rng(5), scheme=scheme)

    y_gmm = np.concatenate([rng.normal(-2.0, 1.0, (150, 2)), rng.normal(2.0, 0.7, (150, 2))])
    for cov in ("full", "diag", "tied"):
        put(f"gmm_{cov}", fit_gmm(y_gmm, 2, covariance_type=cov, rng=np.random.default_rng(6), max_iter=30, tol=0.0))

    net = init_rnn(np.random.default_rng(7), 3, 8, 2)
    Y = rng.standard_normal((25, 4, 3))
    fwd = rnn_forward(net, Y)
    put("rnn_forward", fwd)
    put("rnn_bptt", rnn_bptt(net, Y, fwd.Z, fwd.X_hat - 1.0))
    np.savez(sys.argv[1], **out)
''')


def _env(blocked: bool, tmp_path: Path) -> dict:
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.pop("PEDAGOGY_DISABLE_NUMBA", None)
    env.pop("PYTHONPATH", None)
    if blocked:
        env["PYTHONPATH"] = str(BLOCKER_DIR)
    return env


def _run(args, env, timeout=900):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _numba_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def test_numba_is_unimportable_and_the_library_falls_back(tmp_path):
    code = textwrap.dedent('''\
        import importlib.util
        try:
            import numba
        except ImportError as exc:
            print("numba refused:", exc)
        else:
            raise SystemExit("numba was importable")
        from pedagogy_lib.core.jit import HAVE_NUMBA, njit
        from pedagogy_lib.core.checks import check_backend
        import pedagogy_lib.core.warmup as warmup
        assert HAVE_NUMBA is False
        assert check_backend("numba") == "numpy" and check_backend("numpy") == "numpy"
        f = njit(lambda v: v + 1)
        assert f(1) == 2 and f.py_func is f
        warmup.compile_all()                       # every kernel module imports and runs without numba
        import sys
        assert not any(name.partition(".")[0] in ("numba", "llvmlite") for name in sys.modules)
        print("fallback ok")
    ''')
    res = _run(["-c", code], _env(True, tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "numba refused" in res.stdout and "fallback ok" in res.stdout


@pytest.mark.slow
def test_library_tests_pass_without_numba(tmp_path):
    code = textwrap.dedent(f'''\
        import sys
        import pytest
        import pedagogy_lib.core.jit as jit
        assert not jit.HAVE_NUMBA, "numba should be blocked"

        LEFT_OUT = {LEFT_OUT!r}

        class OneTwinRun:
            # without numba, backend="numba" resolves to the NumPy twins: a test's backend="numpy" case
            # would run what its backend="numba" case runs here, so only the latter runs; and LEFT_OUT
            def pytest_collection_modifyitems(self, config, items):
                keep, left = [], []
                for i in items:
                    numpy_case = getattr(i, "callspec", None) and i.callspec.params.get("backend") == "numpy"
                    named = i.nodeid in LEFT_OUT or i.nodeid.partition("[")[0] in LEFT_OUT
                    (left if numpy_case or named else keep).append(i)
                missing = set(LEFT_OUT) - {{i.nodeid for i in items}} - {{i.nodeid.partition("[")[0] for i in items}}
                assert not missing, f"LEFT_OUT names no test: {{sorted(missing)}}"
                items[:] = keep
                config.hook.pytest_deselected(items=left)

        sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:xdist", *{LIBRARY_TESTS!r}],
                             plugins=[OneTwinRun()]))
    ''')
    res = _run(["-c", code], _env(True, tmp_path), timeout=1800)
    tail = res.stdout[-3000:] + res.stderr[-3000:]
    assert res.returncode == 0, tail
    assert " passed" in res.stdout and " failed" not in res.stdout, tail


@pytest.mark.skipif(not _numba_installed(), reason="numba is not installed here: nothing to compare the fallback with")
def test_kernel_results_match_with_and_without_numba(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    files = {}
    for blocked in (False, True):
        files[blocked] = tmp_path / f"out_{'without' if blocked else 'with'}.npz"
        res = _run([str(probe), str(files[blocked])], _env(blocked, tmp_path))
        assert res.returncode == 0, res.stdout + res.stderr
    with np.load(files[False]) as a, np.load(files[True]) as b:
        assert bool(a["have_numba"]) and bool(a["numba_loaded"])
        assert not bool(b["have_numba"]) and not bool(b["numba_loaded"])
        assert set(a.files) == set(b.files) and len(a.files) > 40
        for name in sorted(set(a.files) - {"have_numba", "numba_loaded"}):
            x, z = a[name], b[name]
            assert x.shape == z.shape and x.dtype == z.dtype, name
            if np.issubdtype(x.dtype, np.integer) or x.dtype == bool or x.dtype.kind == "U":
                np.testing.assert_array_equal(x, z, err_msg=name)    # ancestors, resampled indices
            else:
                # the kernels and the twins order some sums differently: agreement to rounding error
                np.testing.assert_allclose(x, z, rtol=1e-9, atol=1e-12, err_msg=name)
