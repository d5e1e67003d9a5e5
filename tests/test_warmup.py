"""Every module with numba kernels is warmed up before the parallel test workers start."""
import importlib
import pkgutil

from numba.core.registry import CPUDispatcher

import pedagogy_lib
from pedagogy_lib.core import warmup as _warmup


def _kernel_modules():
    found = set()
    for info in pkgutil.walk_packages(pedagogy_lib.__path__, prefix="pedagogy_lib."):
        module = importlib.import_module(info.name)
        own = [v for v in vars(module).values()
               if isinstance(v, CPUDispatcher) and v.py_func.__module__ == module.__name__]
        if own:
            found.add(info.name.removeprefix("pedagogy_lib."))
    return found


def test_warmup_registry_lists_exactly_the_kernel_modules():
    assert _kernel_modules() == set(_warmup.KERNEL_MODULES)


def test_every_registered_module_warms_up_its_kernels():
    _warmup.compile_all()
    for name in _warmup.KERNEL_MODULES:
        module = importlib.import_module(f"pedagogy_lib.{name}")
        kernels = [v for v in vars(module).values()
                   if isinstance(v, CPUDispatcher) and v.py_func.__module__ == module.__name__]
        compiled = [k for k in kernels if k.signatures]
        assert compiled, f"pedagogy_lib.{name}.warmup_kernels() compiled none of its kernels"
