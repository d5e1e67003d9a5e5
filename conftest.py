"""Settings for every pytest run of the project: the library tests and the notebooks under nbval.

Kernels started by nbval listen on Unix sockets in a private folder (ZeroMQ's ``ipc`` transport)
rather than on TCP ports of 127.0.0.1. The test command runs two workers that start kernels at the
same time, and two kernels that pick the same free port make one of them fail to start, or a
client wait on a kernel that is not its own.
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


_kernels_on_unix_sockets()
