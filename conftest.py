"""Settings for every pytest run of the project: the library tests and the notebooks under nbval.

Kernels started by nbval listen on Unix sockets in a private folder (ZeroMQ's ``ipc`` transport)
rather than on TCP ports of 127.0.0.1. The test command runs two workers that start kernels at the
same time, and two kernels that pick the same free port make one of them fail to start, or a
client wait on a kernel that is not its own.

A notebook cell that writes to stderr (a warning from ``pedagogy_lib`` or any other library, a
traceback printed by hand) fails under nbval, as it fails the strict book build, whose
``stderr_output: remove-warn`` turns such output into a build warning and ``-W`` into an error. Each
cell enters the kernel's history (``In``), as in the build's execution, since the exercises' checkers read
it.

Under the test command, nbval's run of a notebook is also the one the book's build renders: the
command names a JSON file in ``PEDAGOGY_NBVAL_RECORD`` holding ``{"outputs": folder, "kernels":
{notebook: {variable: value or null}}}``. Each notebook's kernel starts with its variables set
(null: removed), and each cell keeps the outputs nbval read; when every cell of the notebook has
passed, the notebook is written with its outputs to ``folder/<its path in the checkout>``, else a
file of the same name ending in ``.failed`` says that it was not. The build takes the written ones
into its execution cache (``tools/execute_notebooks.py --executed``) and runs the others itself.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _kernels_on_unix_sockets() -> None:
    if os.name != "posix":
        return
    try:
        import nbval.kernel
    except ImportError:                       # nbval is a test requirement; without it nothing to do
        return
    from jupyter_client.manager import KernelManager

    sockets = tempfile.mkdtemp(prefix="kernel-sockets-")
    atexit.register(shutil.rmtree, sockets, ignore_errors=True)

    class UnixSocketKernelManager(KernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(sockets, "kernel"))
            super().__init__(**kwargs)

    nbval.kernel.KernelManager = UnixSocketKernelManager


def _stderr_fails_the_cell() -> None:
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:
        return
    if getattr(IPyNbCell.runtest, "_fails_on_stderr", False):
        return
    run_cell = IPyNbCell.runtest

    def runtest(self):
        run_cell(self)
        err = "".join(out.get("text", "") for out in (self.test_outputs or [])
                      if out.get("output_type") == "stream" and out.get("name") == "stderr")
        if err.strip():
            self.raise_cell_error(
                "the cell wrote to stderr, which the strict book build refuses as well "
                f"(stderr_output: remove-warn in _config.yml):\n{err[:3000]}")

    runtest._fails_on_stderr = True
    IPyNbCell.runtest = runtest


def _recording() -> dict | None:
    where = os.environ.get("PEDAGOGY_NBVAL_RECORD")
    return json.loads(Path(where).read_text(encoding="utf-8")) if where else None


_RECORD = _recording()


def _notebook_key(collector) -> str | None:
    """The notebook's path in the checkout; None for one outside it (a test's own, in a temporary folder)."""
    path = Path(str(collector.fspath)).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else None


def _cells_enter_history() -> None:
    """Each cell enters the kernel's history (``In``), as in the build's execution and in a reader's kernel;
    nbval's runner leaves it out. The checkers read the code of an answer from there
    (``pedagogy_lib.exercises.checker``) to tell a reader that it calls a function the exercise names, so a
    hidden check that calls such a function beside a checker fails here as it fails the build."""
    try:
        from nbval.kernel import RunningKernel
    except ImportError:
        return

    def execute_cell_input(self, cell_input, allow_stdin=None):
        return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)

    RunningKernel.execute_cell_input = execute_cell_input


def _nbval_records_outputs() -> None:
    """Kernels start with their notebook's variables; each cell keeps the outputs nbval read."""
    try:
        from nbval.plugin import IPyNbCell, IPyNbFile
    except ImportError:
        return
    start_kernel, run_cell = IPyNbFile.setup, IPyNbCell.runtest

    def set_all(variables: dict) -> None:
        for name, value in variables.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def setup(self):
        changes = _RECORD["kernels"].get(_notebook_key(self), {})
        before = {name: os.environ.get(name) for name in changes}
        set_all(changes)
        try:
            start_kernel(self)                      # the kernel copies os.environ as it starts
        finally:
            set_all(before)

    def runtest(self):
        self.parent.executed = getattr(self.parent, "executed", 0) + 1
        run_cell(self)
        self.cell.outputs = list(self.test_outputs or [])
        self.cell.execution_count = self.parent.executed

    IPyNbFile.setup, IPyNbCell.runtest = setup, runtest


_kernels_on_unix_sockets()
_stderr_fails_the_cell()
_cells_enter_history()
if _RECORD is not None:
    _nbval_records_outputs()


def pytest_runtest_makereport(item, call):
    if _RECORD is not None and call.excinfo is not None and hasattr(item, "cell_num"):
        item.parent.failed_cells = True         # a skipped cell too: it has no outputs to render


def pytest_runtest_teardown(item, nextitem):
    """The notebook's last cell: write it with its outputs, or say that it failed."""
    if _RECORD is None or not hasattr(item, "cell_num") or (nextitem is not None and nextitem.parent is item.parent):
        return
    key = _notebook_key(item.parent)
    if key is None:
        return
    import nbformat

    target = Path(_RECORD["outputs"]) / key
    target.parent.mkdir(parents=True, exist_ok=True)
    if getattr(item.parent, "failed_cells", False):
        target.with_name(target.name + ".failed").write_text("a cell failed under nbval\n", encoding="utf-8")
    else:                                   # whole or not at all: the build and the editions read it as it lands
        partial = target.with_name(target.name + ".partial")
        nbformat.write(item.parent.nb, str(partial))
        os.replace(partial, target)
