"""Values between two Python processes as JSON lines: data only, nothing that runs code when read.

The course's grader runs a student's answers in a sandboxed process and the checkers in its own
(``courseware/grading.py``); values cross between the two in this encoding.

What travels: ``None``, booleans, integers, floats (NaN and infinities included), strings; NumPy
arrays of booleans, integers, floats or complex numbers (shape and kind kept; every integer kind
arrives as ``int64`` (unsigned ones beyond its range as ``uint64``), every float kind as ``float64``
and every complex kind as ``complex128``) and NumPy scalars; tuples, lists, dicts
(any keys that travel themselves), sets; NamedTuples, by class name, defining module and fields.
A function becomes a *reference*: ``encode``'s ``on_callable`` names it (by default it travels as
its name only), and ``decode``'s ``on_reference`` turns the name back into something to call
(a stand-in that calls the original across the pipe). Anything else arrives as :class:`Opaque`.

An array's entries travel as the base64 text of their little-endian bytes, with the array's kind and
shape beside them: exact (NaN, infinities and the sign of zero included), and a problem of 200 000
entries is encoded and read back in milliseconds. Reading it back makes an array of one of four fixed
types from bytes whose length must match the shape; nothing else is read from them.
"""
from __future__ import annotations

import base64
import collections
import importlib
import sys
from typing import Callable

__all__ = ["Opaque", "encode", "decode"]

_MAX_DEPTH = 20


class Opaque:
    """A value that could not travel (an object of some other type); it says what it was."""

    def __init__(self, kind: str):
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{self.kind} object>"


def encode(x, on_callable: Callable | None = None, depth: int = 0):
    """``x`` as a JSON-ready value (see the module docstring); ``on_callable(f)`` gives a function's tag."""
    if depth > _MAX_DEPTH:
        return {"__opaque__": "too deeply nested"}
    if x is None or isinstance(x, (bool, str, int)):
        return x
    if isinstance(x, float):
        # float(x): a NumPy float64 is a float whose repr is "np.float64(inf)", which float() cannot read back
        return x if x == x and abs(x) != float("inf") else {"__float__": repr(float(x))}
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(x, np.ndarray) and x.dtype.kind in "biufc":
            kind = x.dtype.kind
            if kind == "u" and x.size and int(x.max()) > np.iinfo(np.int64).max:
                # beyond int64: entry by entry (the numbers arrive as they are)
                return {"__nd__": encode(x.tolist(), depth=depth + 1), "dtype": kind, "shape": list(x.shape)}
            kind = "i" if kind == "u" else kind
            flat = np.ascontiguousarray(x, dtype=_WIRE_DTYPES[kind])
            return {"__nd__": base64.b64encode(flat.tobytes()).decode("ascii"), "dtype": kind,
                    "shape": list(x.shape), "bytes": "base64"}
        if isinstance(x, np.generic) and x.dtype.kind in "biuf":
            return encode(x.item(), depth=depth + 1)
    item = lambda v: encode(v, on_callable, depth + 1)  # noqa: E731
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return {"__nt__": type(x).__name__, "module": type(x).__module__, "fields": list(x._fields),
                "values": [item(v) for v in x], "doc": type(x).__doc__ or ""}
    if isinstance(x, (tuple, list)):
        return {"__seq__": "tuple" if isinstance(x, tuple) else "list", "items": [item(v) for v in x]}
    if isinstance(x, (set, frozenset)):
        return {"__set__": [item(v) for v in x]}
    if isinstance(x, dict):
        if all(isinstance(k, str) for k in x):
            return {"__dict__": {k: item(v) for k, v in x.items()}}
        return {"__map__": [[item(k), item(v)] for k, v in x.items()]}
    if callable(x) and not isinstance(x, type):
        return on_callable(x) if on_callable is not None else {"__fn__": getattr(x, "__name__", "?")}
    return {"__opaque__": type(x).__name__}


#: The type an array of each kind travels as (little-endian; booleans as one byte each).
_WIRE_DTYPES = {"b": "u1", "i": "<i8", "f": "<f8", "c": "<c16"}


def _array_from_bytes(x: dict):
    """The array an ``encode`` of kind b, i, f or c sent as base64 bytes; ValueError for a message
    whose kind, shape or length does not fit."""
    import numpy as np

    kind, shape = x.get("dtype"), x.get("shape")
    if kind not in _WIRE_DTYPES or not isinstance(x["__nd__"], str):
        raise ValueError(f"an array on the wire has kind {kind!r}; expected one of b, i, f, c as base64 text")
    if not (isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                            for n in shape)):
        raise ValueError(f"an array on the wire has shape {shape!r}; expected a list of non-negative integers")
    dtype = np.dtype(_WIRE_DTYPES[kind])
    raw = base64.b64decode(x["__nd__"], validate=True)
    count = 1
    for n in shape:
        count *= n
    if len(raw) != count * dtype.itemsize:
        raise ValueError(f"an array on the wire of shape {tuple(shape)} and kind {kind!r} has {len(raw)} bytes; "
                         f"expected {count * dtype.itemsize}")
    arr = np.frombuffer(raw, dtype=dtype).reshape(shape)
    if kind == "b":
        return arr != 0
    return arr.astype(dtype.newbyteorder("="))           # a writable copy in the machine's byte order


def _library_class(module: str, name: str, fields: list):
    """The library's own NamedTuple class (its functions may check for it); never a module outside it."""
    if not module.startswith("pedagogy_lib.") or module.startswith("pedagogy_lib.exercises"):
        return None
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    if isinstance(found, type) and issubclass(found, tuple) and list(getattr(found, "_fields", ())) == fields:
        return found
    return None


def decode(x, namedtuples: dict | None = None, on_reference: Callable | None = None):
    """The value :func:`encode` sent. ``namedtuples`` maps class names to classes (and collects the ones
    made here); ``on_reference(tag)`` turns a function's tag into something to call."""
    import numpy as np

    again = lambda v: decode(v, namedtuples, on_reference)  # noqa: E731
    if isinstance(x, list):
        return [again(v) for v in x]
    if not isinstance(x, dict):
        return x
    if "__float__" in x:
        return float(x["__float__"])
    if "__nd__" in x and x.get("bytes") == "base64":
        return _array_from_bytes(x)
    if "__nd__" in x:
        if x.get("dtype") in ("c", "complex"):
            arr = np.asarray(again(x["__nd__"]), float) + 1j * np.asarray(again(x["imag"]), float)
        else:
            kind = {"b": bool, "i": np.int64, "u": np.uint64, "f": float}.get(x.get("dtype"), float)
            arr = np.asarray(again(x["__nd__"]), dtype=kind)
        return arr.reshape(x["shape"]) if "shape" in x else arr
    if "__nt__" in x:
        values = [again(v) for v in x["values"]]
        cls = (namedtuples or {}).get(x["__nt__"]) or _library_class(str(x.get("module", "")), x["__nt__"], x["fields"])
        if cls is None:
            cls = collections.namedtuple(x["__nt__"], x["fields"])
            if x.get("doc"):
                cls.__doc__ = x["doc"]
            if namedtuples is not None:
                namedtuples[x["__nt__"]] = cls
        return cls(*values)
    if "__seq__" in x:
        items = [again(v) for v in x["items"]]
        return tuple(items) if x["__seq__"] == "tuple" else items
    if "__set__" in x:
        return set(again(v) for v in x["__set__"])
    if "__dict__" in x:
        return {k: again(v) for k, v in x["__dict__"].items()}
    if "__map__" in x:
        return {_hashable(again(k)): again(v) for k, v in x["__map__"]}
    if "__opaque__" in x:
        return Opaque(x["__opaque__"])
    if on_reference is not None and ("__cb__" in x or "__ref__" in x):
        return on_reference(x)
    return x


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key
