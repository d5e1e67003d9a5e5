"""Settings for every pytest run of the project: the library tests and the notebooks under nbval.

Kernels started by nbval listen on Unix sockets in a private folder (ZeroMQ's ``ipc`` transport)
rather than on TCP ports of 127.0.0.1. The test command runs two workers that start kernels at the
same time, and two kernels that pick the same free port make one of them fail to start, or a
client wait on a kernel that is not its own.

A notebook cell that writes to stderr (a warning from ``pedagogy_lib`` or any other library, a
traceback printed by hand) fails under nbval, as it fails the strict book build, whose
``stderr_output: remove-warn`` turns such output into a build warning and ``-W`` into an error.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile


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


_kernels_on_unix_sockets()
_stderr_fails_the_cell()
