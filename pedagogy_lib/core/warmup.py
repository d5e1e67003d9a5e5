"""Compile (or load from the on-disk cache) every numba kernel once, on tiny inputs.

``python3 tasks.py test`` and ``check`` call :func:`compile_all` before starting parallel test workers, so
the workers find a warm cache instead of compiling the same kernels twice. ``python -m
pedagogy_lib.core.warmup 1/2`` warms every second module only, so that two processes share a cold cache's
compilation.

Which modules to warm is read from the library's own source, not kept by hand: every module
that defines a top-level ``warmup_kernels()`` (a module with numba kernels must have one;
``tests/core/test_warmup.py`` checks it) is imported and its function called. The bottom layer
therefore names no family.
"""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from .jit import mark_compiled

_LIBRARY = Path(__file__).resolve().parents[1]


def kernel_modules() -> list[str]:
    """Modules of ``pedagogy_lib`` (dotted, relative to it, sorted) that define a top-level
    ``warmup_kernels`` function, found by parsing the source files (nothing is imported)."""
    found = []
    for path in sorted(_LIBRARY.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "def warmup_kernels" not in text:
            continue
        tree = ast.parse(text)
        if any(isinstance(node, ast.FunctionDef) and node.name == "warmup_kernels" for node in tree.body):
            found.append(".".join(path.relative_to(_LIBRARY).with_suffix("").parts))
    return found


#: Modules that define a ``warmup_kernels()`` function exercising their kernels.
KERNEL_MODULES: list[str] = kernel_modules()


def compile_all(share: tuple[int, int] = (0, 1)) -> None:
    """Call every module's ``warmup_kernels()``, then mark each kernel it compiled or loaded as in the cache
    (:func:`pedagogy_lib.core.jit.mark_compiled`), so that ``backend="auto"`` calls it from then on.

    ``share=(i, n)`` takes modules ``i, i + n, i + 2n, ...`` of :data:`KERNEL_MODULES` only."""
    i, n = share
    if not (isinstance(n, int) and isinstance(i, int) and n >= 1 and 0 <= i < n):
        raise ValueError(f"share must be (i, n) with 0 <= i < n; got {share!r}")
    for name in KERNEL_MODULES[i::n]:
        module = importlib.import_module(f"pedagogy_lib.{name}")
        module.warmup_kernels()
        for value in vars(module).values():
            if getattr(value, "signatures", None) and hasattr(value, "py_func"):
                mark_compiled(value)


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 2 or (len(sys.argv) == 2 and not re.fullmatch(r"\d+/\d+", sys.argv[1])):
        sys.exit("usage: python -m pedagogy_lib.core.warmup [i/n]  (warm every n-th kernel module from the i-th)")
    compile_all(tuple(int(v) for v in sys.argv[1].split("/")) if len(sys.argv) == 2 else (0, 1))
