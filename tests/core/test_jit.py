"""``backend="auto"``: the twin for small work on a cold kernel, the kernel once the work adds up or the
kernel is in the cache; and the one-line notice when numba compiles (``pedagogy_lib/core/jit.py``)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pedagogy_lib.core import jit
from pedagogy_lib.core.checks import check_backend

ROOT = Path(__file__).resolve().parents[2]
needs_numba = pytest.mark.skipif(not jit.HAVE_NUMBA, reason="the rule only chooses when numba is installed")



@pytest.fixture(autouse=True)
def _own_twin_totals(monkeypatch):
    """The rule keeps each kernel's twin work by the kernel's name, and every fresh kernel here is named
    ``twice``: each test starts from no work."""
    monkeypatch.setattr(jit, "_twin_seconds", {})

def _fresh_kernel():
    """A kernel nobody has compiled: a new dispatcher each call."""
    def twice(x):
        return 2.0 * x
    return jit.njit(twice)


@needs_numba
def test_auto_runs_the_twin_until_the_twins_work_adds_up_to_the_threshold(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jit, "COMPILE_AFTER_TWIN_SECONDS", 5.0)
    kernel = _fresh_kernel()
    # 1.5 + 3.0 < 5 s of the twin's work: the twin twice; the third call brings the sum to 5.1 s
    assert [check_backend("auto", kernel, s) for s in (1.5, 3.0, 0.6)] == ["numpy", "numpy", "numba"]
    # one call above the threshold compiles at once; "numba" and "numpy" choose outright
    assert check_backend("auto", _fresh_kernel(), 5.5) == "numba"
    assert check_backend("numpy", _fresh_kernel(), 100.0) == "numpy"
    assert check_backend("numba", _fresh_kernel(), 0.0) == "numba"
    # without a kernel to weigh, "auto" is the compiled path, as before the rule
    assert check_backend("auto") == "numba"



@needs_numba
def test_once_past_the_threshold_auto_stays_on_the_kernel_even_if_the_call_did_not_compile_it(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jit, "COMPILE_AFTER_TWIN_SECONDS", 5.0)
    kernel = _fresh_kernel()
    # the compiled path chosen by the second call may run another kernel: this one stays cold
    assert [jit.prefer_compiled(kernel, s) for s in (4.0, 2.0, 0.1)] == [False, True, True]
    assert not kernel.signatures

@needs_numba
def test_auto_calls_a_kernel_compiled_in_this_process_or_marked_in_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jit, "COMPILE_AFTER_TWIN_SECONDS", 5.0)
    compiled = _fresh_kernel()
    assert compiled(np.float64(1.5)) == 3.0                 # now compiled in this process
    assert check_backend("auto", compiled, 1e-6) == "numba"
    marked = _fresh_kernel()
    assert check_backend("auto", marked, 1e-6) == "numpy"
    jit.mark_compiled(marked)
    assert (tmp_path / "pedagogy_lib-compiled").is_dir()
    assert check_backend("auto", marked, 1e-6) == "numba"


@needs_numba
def test_a_function_compiled_for_one_signature_refuses_other_types_instead_of_compiling(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))

    def first(x):
        return x[0]
    kernel = jit.compile_for(first, "(float64[::1],)")
    assert kernel(np.array([2.5, 1.0])) == 2.5
    readonly = np.array([1.0, 2.0])
    readonly.flags.writeable = False
    for other in (np.array([1, 2]), np.ones((2, 2)), np.ones(4)[::2], readonly, [1.0, 2.0]):
        with pytest.raises(TypeError, match="No matching definition"):
            kernel(other)
    assert len(kernel.signatures) == 1                      # nothing else was compiled


def test_without_numba_every_backend_is_the_twin(monkeypatch):
    monkeypatch.setattr("pedagogy_lib.core.checks.HAVE_NUMBA", False)
    assert {check_backend(b, _fresh_kernel(), 100.0) for b in ("auto", "numba", "numpy")} == {"numpy"}
    with pytest.raises(ValueError, match=r"backend must be one of \{'auto', 'numba', 'numpy'\}; got 'jax'"):
        check_backend("jax")


# The kernel: stratified resampling, whose helpers (the points, the inverse CDF) compile inside it; of the
# kernels "auto" weighs, among the quickest to compile (a few seconds less than the HMM's forward pass)
_READER = """
import numpy as np
from pedagogy_lib.core import jit
from pedagogy_lib.smc import kernels, resample
W = np.random.default_rng(0).dirichlet(np.ones(30))
auto = resample(W, np.random.default_rng(1), scheme="stratified")      # small: the twin, nothing compiles
print("cold kernel chosen:", jit.prefer_compiled(kernels.resample_stratified, 0.0))
compiled = resample(W, np.random.default_rng(1), scheme="stratified", backend="numba")
print("agree:", np.array_equal(auto, compiled))
"""


@needs_numba
@pytest.mark.timeout(300)
def test_a_first_run_says_once_what_compiles_and_the_next_run_loads_it_silently(tmp_path):
    """A reader's first run on an empty cache: a small call runs the twin silently; a compiling call prints
    one line; the next process finds the kernel marked, chooses it and prints nothing."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    env.pop("PEDAGOGY_DISABLE_NUMBA", None)
    first = subprocess.run([sys.executable, "-c", _READER], env=env, capture_output=True, text=True, timeout=280)
    assert first.returncode == 0, first.stderr
    assert "cold kernel chosen: False" in first.stdout and "agree: True" in first.stdout
    notices = [line for line in first.stderr.splitlines() if line.startswith("Compiling ")]
    # one line for the kernel called; none for the helpers compiled inside it
    assert notices == ["Compiling smc.kernels.resample_stratified with numba for this machine (a one-off: later runs "
                       "load it from numba's cache)."], first.stderr
    second = subprocess.run([sys.executable, "-c", _READER], env=env, capture_output=True, text=True, timeout=280)
    assert second.returncode == 0, second.stderr
    assert "cold kernel chosen: True" in second.stdout
    assert "Compiling" not in second.stderr
