"""Every module with numba kernels has a warm-up, and the warm-up list (read from the source) finds it."""
import ast
import importlib
from pathlib import Path

import pytest

from pedagogy_lib.core import warmup as _warmup
from pedagogy_lib.core.jit import HAVE_NUMBA

LIB = Path(__file__).resolve().parents[2] / "pedagogy_lib"


def _kernel_modules():
    """Modules that decorate a function with the library's ``njit`` (read from the source, so the
    answer does not depend on whether numba is importable in this process)."""
    found = set()
    for path in LIB.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(
                    (isinstance(d, ast.Name) and d.id.startswith("njit"))
                    or (isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id.startswith("njit"))
                    for d in node.decorator_list):
                found.add(".".join(path.relative_to(LIB).with_suffix("").parts))
                break
    return found


def test_warmup_registry_lists_exactly_the_kernel_modules():
    """Every module with a kernel defines ``warmup_kernels`` (so the generated list finds it), and
    no other module does."""
    assert _kernel_modules() == set(_warmup.KERNEL_MODULES)
    # one per family, its kernels module (tests/library/test_library_layout.py holds every kernel there)
    assert all(name.endswith(".kernels") for name in _warmup.KERNEL_MODULES)
    assert {"core.kernels", "lgssm.kernels", "assimilation.kernels", "harmonium.kernels", "smc.kernels",
            "hmm.kernels", "nn.kernels", "mixture.kernels", "graphical.kernels", "diffusion.kernels",
            "samplers.kernels"} == set(_warmup.KERNEL_MODULES)


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not importable here: nothing to compile")
def test_every_registered_module_warms_up_its_kernels():
    from numba.core.registry import CPUDispatcher

    _warmup.compile_all()
    for name in _warmup.KERNEL_MODULES:
        module = importlib.import_module(f"pedagogy_lib.{name}")
        kernels = [v for v in vars(module).values()
                   if isinstance(v, CPUDispatcher) and v.py_func.__module__ == module.__name__]
        compiled = [k for k in kernels if k.signatures]
        assert compiled, f"pedagogy_lib.{name}.warmup_kernels() compiled none of its kernels"


def test_two_shares_warm_every_module_once(monkeypatch):
    """``tasks.py check`` warms the cache in two processes, ``i/2`` each: together they import every
    kernel module, and no module twice; a share outside ``0 <= i < n`` is refused by name."""
    imported = []

    class _Stub:
        def warmup_kernels(self):
            pass

    monkeypatch.setattr(_warmup.importlib, "import_module", lambda name: imported.append(name) or _Stub())
    for i in range(2):
        _warmup.compile_all(share=(i, 2))
    assert sorted(imported) == sorted(f"pedagogy_lib.{name}" for name in _warmup.KERNEL_MODULES)
    for bad in [(2, 2), (-1, 2), (0, 0)]:
        with pytest.raises(ValueError, match="share"):
            _warmup.compile_all(share=bad)
