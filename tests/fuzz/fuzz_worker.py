"""Child process of tests/library/test_fuzz_public_api.py: executes public calls of pedagogy_lib and classifies them.

Runs as a script. Requests and replies are pickled objects, each preceded by its length (4 bytes, big
endian), on stdin and on a duplicate of the original stdout; the library's own prints go to stderr.
A request is ``("describe", key)`` (run the valid example of a function, list what can be mutated) or
``("mutate", key, path, kind)`` (run the valid example with one argument or container field changed).
The reply is a dict with ``outcome`` and details. If the library crashes the interpreter, the parent
sees the pipe close and records the request that did it.
"""
from __future__ import annotations

import copy
import inspect
import math
import os
import pickle
import re
import struct
import sys
import traceback
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for p in (os.environ.get("PEDAGOGY_FUZZ_LIB_ROOT", ROOT), HERE, os.path.dirname(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import fuzz_cases  # noqa: E402

#: The mutations, by the kind of value they apply to.
ARRAY_MUTATIONS = ("nan", "inf", "complex", "empty", "none", "list", "ndim_up", "ndim_down", "shrink_last",
                   "grow_first", "negate", "double", "zero", "string", "huge", "tiny", "asymmetric", "int_dtype",
                   "object_dtype")
SCALAR_MUTATIONS = ("nan", "inf", "negative", "zero", "none", "string", "complex", "array", "huge", "bool")
INT_MUTATIONS = ("negative", "zero", "float", "none", "string", "array")
OTHER_MUTATIONS = ("none", "string", "int")
CONTAINER_MUTATIONS = ("none", "tuple", "string")


def _kind(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "scalar"
    if isinstance(value, np.ndarray):
        return "array" if value.dtype.kind in "fiub" and value.ndim else ("scalar" if value.ndim == 0 else "other")
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return "container"
    if isinstance(value, str):
        return "str"
    if isinstance(value, np.random.Generator):
        return "rng"
    return "other"


def mutations_for(kind: str) -> tuple:
    return {"array": ARRAY_MUTATIONS, "scalar": SCALAR_MUTATIONS, "int": INT_MUTATIONS, "container": CONTAINER_MUTATIONS,
            "str": OTHER_MUTATIONS, "rng": OTHER_MUTATIONS, "bool": ("none", "string")}.get(kind, ("none",))


def targets(args: tuple, kwargs: dict) -> list:
    """Every argument and every field of a container argument (one level): ``(path, kind)``."""
    out = []
    items = [((i,), v) for i, v in enumerate(args)] + [((k,), v) for k, v in kwargs.items()]
    for path, value in items:
        kind = _kind(value)
        out.append((path, kind))
        if kind == "container":
            for field in value._fields:
                sub = getattr(value, field)
                sub_kind = _kind(sub)
                if sub_kind in ("array", "scalar", "int", "container", "str"):
                    out.append((path + (field,), sub_kind))
    return out


def mutate_value(value, kind: str):
    """The value after mutation ``kind``; raises ``LookupError`` if it does not apply."""
    if kind == "none":
        return None
    if kind == "string":
        return "abc"
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        if kind == "tuple":
            return tuple(value)
        raise LookupError(kind)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating, np.ndarray)):
        if kind == "int":
            return 3
        raise LookupError(kind)
    if isinstance(value, (int, np.integer)):
        return {"negative": -1, "zero": 0, "float": 2.5, "array": np.array([int(value)])}[kind] \
            if kind in ("negative", "zero", "float", "array") else _raise(kind)
    a = np.asarray(value)
    if a.ndim == 0:
        x = float(a)
        table = {"nan": math.nan, "inf": math.inf, "negative": -abs(x) - 1.0, "zero": 0.0, "complex": complex(x, 1.0),
                 "array": np.array([x, x]), "huge": 1e150, "bool": True}
        if kind not in table:
            raise LookupError(kind)
        return table[kind]
    a = a.astype(np.float64) if a.dtype.kind in "fb" else a
    if kind == "nan" or kind == "inf":
        if a.dtype.kind != "f" or a.size == 0:
            raise LookupError(kind)
        b = a.copy()
        b.flat[0] = np.nan if kind == "nan" else np.inf
        return b
    if kind == "complex":
        return a + 1j
    if kind == "empty":
        return a[:0]
    if kind == "list":
        return a.tolist()
    if kind == "ndim_up":
        return a[None]
    if kind == "ndim_down":
        return a[0] if a.ndim > 1 else np.asarray(a.ravel()[0] if a.size else 0.0)
    if kind == "shrink_last":
        if a.shape[-1] < 1:
            raise LookupError(kind)
        return a[..., :-1]
    if kind == "grow_first":
        if a.shape[0] < 1:
            raise LookupError(kind)
        return np.concatenate([a, a[:1]], axis=0)
    if kind == "negate":
        return -a
    if kind == "double":
        return 2 * a
    if kind == "zero":
        return np.zeros_like(a)
    if kind == "huge":
        if a.dtype.kind != "f":
            raise LookupError(kind)
        return a * 1e150                          # squares still fit in float64: a finite answer exists
    if kind == "tiny":
        if a.dtype.kind != "f":
            raise LookupError(kind)
        return a * 1e-200                         # products of two entries underflow
    if kind == "asymmetric":
        if a.ndim < 2 or a.shape[-1] != a.shape[-2] or a.shape[-1] < 2:
            raise LookupError(kind)
        b = a.astype(np.float64).copy()
        b[..., 0, -1] += 0.5 + abs(b[..., 0, -1])
        return b
    if kind == "int_dtype":
        return np.round(a).astype(np.int64) if a.dtype.kind == "f" else a.astype(np.float64)
    if kind == "object_dtype":
        return a.astype(object)
    raise LookupError(kind)


def _raise(kind):
    raise LookupError(kind)


def apply_mutation(args: tuple, kwargs: dict, path: tuple, kind: str):
    args, kwargs = list(args), dict(kwargs)
    head = path[0]
    holder_get = (lambda: args[head]) if isinstance(head, int) else (lambda: kwargs[head])

    def holder_set(v):
        if isinstance(head, int):
            args[head] = v
        else:
            kwargs[head] = v
    if len(path) == 1:
        holder_set(mutate_value(holder_get(), kind))
    else:
        container = holder_get()
        field = path[1]
        holder_set(container._replace(**{field: mutate_value(getattr(container, field), kind)}))
    return tuple(args), kwargs


def leaves(value, prefix="result"):
    """Numeric leaves of a result: ``(name, ndarray)`` (NamedTuples, tuples, lists and dicts walked)."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        for f in value._fields:
            yield from leaves(getattr(value, f), f"{prefix}.{f}")
    elif isinstance(value, (tuple, list)) and len(value) < 200:
        for i, v in enumerate(value):
            yield from leaves(v, f"{prefix}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, f"{prefix}[{k!r}]")
    elif isinstance(value, (int, float, np.integer, np.floating, np.bool_)) and not isinstance(value, bool):
        yield prefix, np.asarray(value, dtype=np.float64)
    elif isinstance(value, np.ndarray) and value.dtype.kind in "fiuc":
        yield prefix, value


def nonfinite_leaves(value) -> set:
    return {name for name, a in leaves(value) if a.size and not np.all(np.isfinite(a))}


def names_in_call(fn, args, kwargs) -> set:
    names = set()
    try:
        names |= set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        pass
    for v in list(args) + list(kwargs.values()):
        if isinstance(v, str):                    # a symbol the caller chose (the name argument of the checks)
            names.add(v)
        if isinstance(v, (tuple, list)) and not hasattr(v, "_fields"):
            names |= {x for x in v if isinstance(x, str)}
        if isinstance(v, tuple) and hasattr(v, "_fields"):
            names |= set(v._fields)
            names.add(type(v).__name__)
            for f in v._fields:
                sub = getattr(v, f)
                if isinstance(sub, tuple) and hasattr(sub, "_fields"):
                    names |= set(sub._fields)
    return names


def message_names_something(message: str, names: set) -> bool:
    return any(re.search(r"(?<![A-Za-z0-9_])" + re.escape(n) + r"(?![A-Za-z0-9_])", message) for n in names if n)


#: Result fields that count an optimizer's iterations (4DVar's L-BFGS): the path to a minimum turns on
#: rounding, so the twins, whose gradients agree to rounding, may take one step more or fewer to the same
#: answer (seen on one CPU and not another). Their answers are compared; the counts are not.
ITERATION_COUNTS = ("n_iter",)


def compare(a, b, rtol=1e-6, atol=1e-8):
    """None if the results agree (every numeric leaf to tolerance, NaN where NaN, iteration counts aside),
    else a description."""
    la, lb = dict(leaves(a)), dict(leaves(b))
    if la.keys() != lb.keys():
        return f"different result structure: {sorted(la)[:5]} vs {sorted(lb)[:5]}"
    for k in la:
        if k.rpartition(".")[2] in ITERATION_COUNTS:
            continue
        x, y = np.asarray(la[k]), np.asarray(lb[k])
        if x.shape != y.shape:
            return f"{k}: shape {x.shape} vs {y.shape}"
        if x.dtype.kind in "iu" and y.dtype.kind in "iu":
            if not np.array_equal(x, y):
                return f"{k}: integer results differ"
            continue
        if not np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True):
            with np.errstate(all="ignore"):
                d = np.nanmax(np.abs(x.astype(complex) - y.astype(complex))) if x.size else 0.0
            return f"{k}: numba and numpy results differ by {d:.3g}"
    return None


class Case:
    def __init__(self, key, fn, args, kwargs, allow_nonfinite=(), twin=True, only=None, names=()):
        self.key, self.fn, self.args, self.kwargs, self.names = key, fn, args, kwargs, tuple(names)
        self.allow_nonfinite, self.twin, self.only = set(allow_nonfinite), twin, only


_CACHE: dict = {}


def get_case(key: str) -> Case:
    if key not in _CACHE:
        family = key.split(".")[0]
        for k, spec in fuzz_cases.build_family(family).items():
            fn, args, kwargs, opts = spec
            _CACHE[k] = Case(k, fn, args, kwargs, **opts)
    return _CACHE[key]


def _has_backend(fn) -> bool:
    """True for the functions with a ``backend="numba"`` switch to a NumPy twin."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "backend" in params and params["backend"].default == "numba"


def run(case: Case, args, kwargs, *, valid: bool, baseline_nonfinite=frozenset(), mutated=None,
        nonfinite_input=False) -> dict:
    args, kwargs = copy.deepcopy((args, kwargs))
    twin_args = copy.deepcopy((args, kwargs))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                result = case.fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        names = names_in_call(case.fn, case.args, case.kwargs) | set(case.names)
        if mutated:
            names |= {str(p) for p in mutated if isinstance(p, str)}
        if valid:
            return {"outcome": "valid_call_raised", "detail": f"{type(exc).__name__}: {msg[:300]}"}
        if message_names_something(msg, names):
            return {"outcome": "clear_error", "detail": f"{type(exc).__name__}: {msg[:200]}"}
        return {"outcome": "unclear_error", "detail": f"{type(exc).__name__}: {msg[:300]}"}
    except Exception as exc:                      # noqa: BLE001 - the point is to see every other kind
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        return {"outcome": "uncaught_exception",
                "detail": f"{type(exc).__name__}: {str(exc)[:200]} (at {os.path.basename(tb.filename)}:{tb.lineno})"}
    bad = nonfinite_leaves(result) - set(case.allow_nonfinite) - set(baseline_nonfinite)
    if bad and nonfinite_input:
        return {"outcome": "propagated", "detail": f"non-finite input gave non-finite {sorted(bad)[:4]}"}
    if bad and all(np.all(np.isfinite(a) | (a == -np.inf)) for name, a in leaves(result) if name in bad):
        # only -inf: the log of a probability that is zero (e.g. an integer-rounded probability vector)
        return {"outcome": "log_zero", "detail": f"-inf in {sorted(bad)[:4]}"}
    if bad:
        return {"outcome": "nonfinite_result", "detail": f"non-finite {sorted(bad)[:4]}"}
    if case.twin and _has_backend(case.fn) and kwargs.get("backend", "numba") == "numba":
        targs, tkwargs = twin_args
        tkwargs = dict(tkwargs, backend="numpy")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with np.errstate(all="ignore"):
                    other = case.fn(*targs, **tkwargs)
        except Exception as exc:                  # noqa: BLE001
            return {"outcome": "twin_mismatch",
                    "detail": f"numba returned a result; the numpy twin raised {type(exc).__name__}: {str(exc)[:150]}"}
        diff = compare(result, other)
        if diff:
            return {"outcome": "twin_mismatch", "detail": diff}
    return {"outcome": "ok", "nonfinite": sorted(nonfinite_leaves(result))}


def handle(request) -> dict:
    op, key = request[0], request[1]
    try:
        case = get_case(key)
    except Exception as exc:                      # noqa: BLE001
        return {"outcome": "no_case", "detail": f"{type(exc).__name__}: {exc}"}
    if op == "describe":
        reply = run(case, case.args, case.kwargs, valid=True)
        reply["targets"] = [(path, kind, mutations_for(kind)) for path, kind in targets(case.args, case.kwargs)
                            if case.only is None or path[0] in case.only]
        return reply
    _, _, path, kind, baseline = request
    try:
        args, kwargs = apply_mutation(case.args, case.kwargs, path, kind)
    except LookupError:
        return {"outcome": "not_applicable"}
    except (ValueError, TypeError) as exc:
        # a container validated when it is built (DAModel, PairwiseTree, ...) refuses the mutated field in
        # _replace itself: judged like a refusal by the call, its message must name the field or the call's names
        if len(path) < 2:
            raise
        msg = str(exc)
        names = names_in_call(case.fn, case.args, case.kwargs) | set(case.names) | {str(q) for q in path
                                                                                    if isinstance(q, str)}
        clear = message_names_something(msg, names)
        return {"outcome": "clear_error" if clear else "unclear_error",
                "detail": f"{type(exc).__name__} from _replace: {msg[:200 if clear else 300]}"}
    return run(case, args, kwargs, valid=False, baseline_nonfinite=frozenset(baseline), mutated=path,
               nonfinite_input=kind in ("nan", "inf"))


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                                 # the library's prints go to stderr, not into the protocol
    inp = sys.stdin.buffer
    while True:
        head = inp.read(4)
        if len(head) < 4:
            return
        request = pickle.loads(inp.read(struct.unpack(">I", head)[0]))
        reply = pickle.dumps(handle(request))
        out.write(struct.pack(">I", len(reply)) + reply)
        out.flush()


if __name__ == "__main__":
    main()
