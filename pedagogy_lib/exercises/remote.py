"""The exercise checkers in a process of their own, beside a reader's kernel.

A checker computes the reference answer to compare with the reader's. Run in the reader's own
kernel, that computation (and any hidden test inputs) would be there for the taking: a few lines
of introspection reach a function's globals or a frame's locals. So in a Jupyter kernel,
``from pedagogy_lib.exercises import ch07_fa_pca as check`` does not load the checker module
itself. It starts (once per kernel) a *checker process*, a plain Python process that imports the
real module, and builds in the kernel a stand-in module with

* the problem data (the ``EX_...`` constants and the module's public NamedTuple types), copied;
* for each public function (the checkers and the statement's helpers), a stand-in with the same
  name, signature and docstring that sends its arguments to the checker process and returns what
  the real function returned there: the verdict, a :class:`~pedagogy_lib.exercises.checker.CheckResult`,
  built again in the kernel.

An answer that is a function stays in the kernel: the checker process calls it back through the
pipe, on inputs the kernel never sees. Values travel as JSON (:mod:`pedagogy_lib.core.wire`).

Where no process can be started (JupyterLite's Python in the browser) or outside a Jupyter kernel
(a script, the test suite, the course's grader), the real module is imported as before. The
environment variable ``PEDAGOGY_CHECKERS`` set to ``remote`` or ``local`` overrides the choice.
This is not a lock: the checkers' source is installed with the library and can be read. It keeps
the reference out of the kernel's memory, so that a grade never depends on it; grades come from
``courseware/grading.py``, which runs the student's code in a process of its own.
"""
from __future__ import annotations

import builtins
import inspect
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from ..core.wire import decode, encode

__all__ = ["checkers_run_apart", "load_into", "serve"]

PACKAGE = __package__ or "pedagogy_lib.exercises"


def checkers_run_apart() -> bool:
    """Whether checker modules imported now are stand-ins for modules in a checker process."""
    mode = os.environ.get("PEDAGOGY_CHECKERS", "").strip().lower()
    if mode in ("local", "remote"):
        return mode == "remote"
    if sys.platform == "emscripten":
        return False
    ipython = sys.modules.get("IPython")
    return "ipykernel" in sys.modules and ipython is not None and ipython.get_ipython() is not None


def _raise(reply: dict):
    """Raise, in this process, the exception the other process reported (its builtin type if it has one)."""
    kind = getattr(builtins, str(reply.get("type", "")), None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)) or kind in (SystemExit, KeyboardInterrupt):
        kind = RuntimeError
    raise kind(reply["raised"])


class _Peer:
    """One end of a pipe of JSON lines, where either end may call functions the other offered.

    Calls nest (the checker calls the reader's function, which may call a function of the problem
    data back in the checker process): each end answers the other's requests while it waits for
    the reply to its own.
    """

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.offered: dict[str, object] = {}
        self.namedtuples: dict[str, type] = {}

    def send(self, message: dict) -> None:
        self.writer.write(json.dumps(message) + "\n")
        self.writer.flush()

    def receive(self) -> dict:
        line = self.reader.readline()
        if not line:
            raise EOFError("the other process closed the pipe")
        return json.loads(line)

    def offer(self, fn) -> dict:
        key = f"f{len(self.offered)}"
        self.offered[key] = fn
        return {"__cb__": key, "name": getattr(fn, "__name__", "function")}

    def pack(self, x):
        return encode(x, on_callable=self.offer)

    def unpack(self, x):
        return decode(x, self.namedtuples, on_reference=self.reference)

    def reference(self, tag: dict):
        key, name = tag["__cb__"], tag.get("name", "function")

        def stand_in(*args, **kwargs):
            return self.call(key, args, kwargs)
        stand_in.__name__ = stand_in.__qualname__ = str(name)
        return stand_in

    def call(self, key: str, args, kwargs):
        reply = self.request({"invoke": key, "args": self.pack(list(args)), "kwargs": self.pack(dict(kwargs))})
        if "raised" in reply:
            _raise(reply)
        return self.result(reply)

    def result(self, reply: dict):
        return self.unpack(reply.get("ok"))

    def request(self, message: dict) -> dict:
        self.send({"req": message})
        while True:
            incoming = self.receive()
            if "req" in incoming:
                self.send({"res": self.handle(incoming["req"])})
            else:
                return incoming["res"]

    def handle(self, message: dict) -> dict:
        try:
            return self.answer(message)
        except Exception as exc:  # noqa: BLE001 - sent back as the other side's exception
            return {"raised": f"{type(exc).__name__}: {exc}" if type(exc).__module__ != "builtins" else str(exc),
                    "type": type(exc).__name__}

    def answer(self, message: dict) -> dict:
        fn = self.offered[message["invoke"]]
        return {"ok": self.pack(fn(*self.unpack(message["args"]), **self.unpack(message.get("kwargs", {}))))}


# --- the checker process -------------------------------------------------------------------------------


class _Server(_Peer):
    def answer(self, message: dict) -> dict:
        if "load" in message:
            return {"ok": self.describe(message["load"])}
        fn = self.offered[message["invoke"]]
        value = fn(*self.unpack(message["args"]), **self.unpack(message.get("kwargs", {})))
        from .checker import CheckResult
        if isinstance(value, CheckResult):
            return {"ok": None, "check": [value.name, list(value.problems)]}
        return {"ok": self.pack(value)}

    def describe(self, name: str) -> dict:
        """What the stand-in module needs: docstring, public names, data, types and functions."""
        import importlib
        import types

        module = importlib.import_module(f"{PACKAGE}.{name}")
        own = vars(module)
        out = {"doc": module.__doc__ or "", "all": list(getattr(module, "__all__", [])),
               "data": {}, "types": {}, "functions": {}}
        for key, value in own.items():
            if key.startswith("_") or isinstance(value, types.ModuleType) or key == "SUMMATIVE":
                continue
            if isinstance(value, type):
                if value.__module__ == module.__name__ and issubclass(value, tuple) and hasattr(value, "_fields"):
                    out["types"][key] = {"fields": list(value._fields), "doc": value.__doc__ or ""}
            elif callable(value):
                if getattr(value, "__module__", None) == module.__name__:
                    try:
                        signature = str(inspect.signature(value))
                    except (TypeError, ValueError):
                        signature = "(*args, **kwargs)"
                    out["functions"][key] = {"ref": self.offer(value), "doc": value.__doc__ or "",
                                             "signature": signature}
            else:
                out["data"][key] = self.pack(value)
        return out


def serve() -> int:
    """Run as the checker process: answer the kernel's requests on standard input and output."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)                      # anything printed goes to the log, not into the pipe
    sys.stdout = sys.stderr
    server = _Server(sys.stdin, protocol)
    while True:
        try:
            message = server.receive()
        except EOFError:
            return 0
        server.send({"res": server.handle(message["req"])})


# --- the kernel's side ------------------------------------------------------------------------------


class _Client(_Peer):
    """The kernel's connection to its checker process, started on first use."""

    def __init__(self):
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PEDAGOGY_CHECKERS="local", MPLBACKEND="Agg",
                   PYTHONPATH=os.pathsep.join([root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-c", f"from {PACKAGE}.remote import serve; raise SystemExit(serve())"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env, cwd=root)
        super().__init__(self.process.stdout, self.process.stdin)
        self.lock = threading.RLock()
        self.loaded: dict[str, dict] = {}

    def result(self, reply: dict):
        if "check" in reply:
            from .checker import CheckResult
            name, problems = reply["check"]
            return CheckResult(name, problems)
        return super().result(reply)

    def request(self, message: dict) -> dict:
        with self.lock:
            try:
                return super().request(message)
            except BaseException as exc:       # an interrupt or a dead process: start afresh next time
                _drop(self)
                # a dead process shows as the end of its output, or, if it was gone before our request was
                # written, as a broken pipe: which one depends only on timing
                if isinstance(exc, (EOFError, BrokenPipeError)):
                    raise RuntimeError("the exercise checker process stopped" + self.last_words()) from None
                raise

    def last_words(self) -> str:
        try:
            self.log.seek(0)
            text = self.log.read().strip().splitlines()[-3:]
        except (OSError, ValueError):
            return ""
        return (": " + " / ".join(text)) if text else ""

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


_CLIENT: list[_Client] = []


def _client() -> _Client:
    if not _CLIENT:
        _CLIENT.append(_Client())
    return _CLIENT[0]


def _drop(client: _Client) -> None:
    if client in _CLIENT:
        _CLIENT.remove(client)
    client.close()


def _close_all() -> None:
    for client in list(_CLIENT):
        _drop(client)


import atexit  # noqa: E402

atexit.register(_close_all)


def _stand_in(module_name: str, name: str, spec: dict):
    short = module_name.rpartition(".")[2]

    def stand_in(*args, **kwargs):
        client = _client()
        if short not in client.loaded:               # a fresh checker process: load the module there again
            client.loaded[short] = client.request({"load": short})["ok"]
        ref = client.loaded[short]["functions"][name]["ref"]["__cb__"]
        return client.call(ref, args, kwargs)

    stand_in.__name__ = stand_in.__qualname__ = name
    stand_in.__module__ = module_name
    stand_in.__doc__ = spec.get("doc") or None
    scope: dict = {}
    try:
        source = f"def _signature{spec.get('signature', '(*args, **kwargs)')}:\n    pass\n"
        exec(compile(source, "<signature>", "exec", dont_inherit=True), scope)
        stand_in.__signature__ = inspect.signature(scope["_signature"])
    except Exception:  # noqa: BLE001 - a default that does not read back: no signature shown
        pass
    return stand_in


def load_into(module) -> None:
    """Fill the stand-in ``module`` (named ``pedagogy_lib.exercises.<name>``) from the checker process."""
    short = module.__name__.rpartition(".")[2]
    client = _client()
    reply = client.request({"load": short})
    if "raised" in reply:
        _raise(reply)
    spec = reply["ok"]
    client.loaded[short] = spec
    module.__doc__ = spec["doc"]
    module.__all__ = spec["all"]
    import collections
    namedtuples: dict[str, type] = {}          # this module's own types, so that its data are of them
    for name, info in spec["types"].items():
        cls = collections.namedtuple(name, info["fields"])
        cls.__doc__, cls.__module__ = info["doc"], module.__name__
        namedtuples[name] = cls
        setattr(module, name, cls)
    for name, value in spec["data"].items():
        setattr(module, name, decode(value, namedtuples, on_reference=client.reference))
    for name, info in spec["functions"].items():
        setattr(module, name, _stand_in(module.__name__, name, info))
