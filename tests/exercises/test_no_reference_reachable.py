"""Nothing a student can reach from a checker module computes an answer that passes.

A notebook imports one checker module (``from pedagogy_lib.exercises import ch10_dbn as check``), so
every name in it, public or private, is one attribute away: ``check._aggregated()`` must not be an
answer ``check.aggregated`` accepts, and ``check._filter_variant`` must not be a function answer
``check.filter_function`` accepts. The references and the slip generators live in
``pedagogy_lib.exercises.references``, which the checkers import inside their bodies, never at the
top of the module.

For every checker module, each callable defined in it (other than its checkers) is offered to every
checker as a function answer, and, if it takes no arguments, its result is offered as an answer
(unpacked when it is a tuple of the checker's arity). None may pass.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import multiprocessing
import resource
import pkgutil
import signal
import warnings

import pytest

import pedagogy_lib.exercises as E

MODULES = sorted(m.name for m in pkgutil.iter_modules(E.__path__)
                 if m.name not in ("checker", "references") and not m.name.startswith("_"))

#: Seconds one call may take before it is abandoned (a candidate that hangs is no answer).
CALL_SECONDS = 5


class _TimedOut(Exception):
    pass


def _call(fn, *args):
    """(True, fn(*args)) or (False, the exception), printing nothing, giving up after CALL_SECONDS."""
    def stop(*_):
        raise _TimedOut

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, CALL_SECONDS)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return True, fn(*args)
    except Exception as exc:  # noqa: BLE001 - a candidate that fails is not an answer
        return False, exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _required(fn) -> int | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _argument_lists(required: int | None, data: dict):
    """The argument lists a private function is tried with: none, or the module's problem data (one or two
    of its ``EX_`` values, or one of them unpacked when it is a tuple of the right length)."""
    if required == 0:
        yield (), ""
    elif required == 1:
        for name, value in data.items():
            yield [value], name
    if required:
        for name, value in data.items():
            if isinstance(value, tuple) and len(value) == required:
                yield list(value), f"*{name}"


def _checkers(module) -> list:
    return [getattr(module, n) for n in getattr(module, "__all__", [])
            if inspect.isfunction(getattr(module, n, None))]


def _is_case_list(value) -> bool:
    """Whether ``value`` looks like a function checker's hidden cases: ``(where, args, expected)`` triples."""
    return (isinstance(value, list) and bool(value)
            and all(isinstance(c, tuple) and len(c) == 3 and isinstance(c[1], tuple) for c in value))


def _lookup_answer(cases):
    """A function answer that finds its arguments among ``cases`` and returns the stored answer: it passes
    exactly when the cases carry their answers (a case list with only the problems gives it nothing)."""
    import numpy as np

    def same(a, b) -> bool:
        try:
            return bool(np.array_equal(np.asarray(a), np.asarray(b)))
        except Exception:  # noqa: BLE001 - objects that do not compare are not the same problem
            return a is b

    def answer(*args):
        for _, case_args, expected in cases:
            if len(case_args) == len(args) and all(same(a, b) for a, b in zip(case_args, args)):
                return expected
        raise LookupError("not a hidden problem")
    return answer


def passing_candidates(module) -> list[str]:
    """``checker(candidate)`` for every candidate of ``module`` that the checker accepts."""
    checkers = _checkers(module)
    own = {name: obj for name, obj in vars(module).items()
           if callable(obj) and getattr(obj, "__module__", None) == module.__name__ and obj not in checkers}
    data = {name: value for name, value in vars(module).items() if name.startswith("EX_")}
    candidates = []
    for name, obj in own.items():
        candidates.append((f"{name} itself", obj, False))
        if not inspect.isfunction(obj):
            continue
        for args, shown in _argument_lists(_required(obj), data):
            ok, value = _call(obj, *args)
            if not ok:
                continue
            candidates.append((f"{name}({shown})", value, True))
            if _is_case_list(value):                       # hidden cases handed out with their answers
                candidates.append((f"a look-up in {name}({shown})", _lookup_answer(value), False))
            if isinstance(value, tuple):                   # a solver that returns the answer among others
                candidates += [(f"{name}({shown})[{i}]", v, True) for i, v in enumerate(value)]
    leaks = []
    for chk in checkers:
        arity = _required(chk)
        for label, value, is_result in candidates:
            if arity == 1:
                ok, verdict = _call(chk, value)
            elif is_result and isinstance(value, tuple) and arity == len(value):
                ok, verdict = _call(chk, *value)
            else:
                continue
            if ok and hasattr(verdict, "problems") and bool(verdict):
                leaks.append(f"{chk.__name__}({label})")
    return leaks


#: Seconds the scan of one module may take, and the memory it may use (a private function called on
#: the wrong problem can enumerate far too much; C code does not see a timer's signal).
MODULE_SECONDS, MODULE_BYTES = 120, 3 << 30


def _scan_in_child(name, queue):
    resource.setrlimit(resource.RLIMIT_AS, (MODULE_BYTES, MODULE_BYTES))
    try:
        queue.put(passing_candidates(importlib.import_module(f"pedagogy_lib.exercises.{name}")))
    except BaseException as exc:  # noqa: BLE001 - reported by the parent
        queue.put(f"the scan failed: {type(exc).__name__}: {exc}")


@pytest.mark.slow
@pytest.mark.parametrize("name", MODULES)
def test_no_name_of_a_checker_module_is_a_passing_answer(name):
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_scan_in_child, args=(name, queue))
    child.start()
    try:
        leaks = queue.get(timeout=MODULE_SECONDS)
    except Exception:  # noqa: BLE001 - queue.Empty: the scan did not finish
        leaks = f"the scan did not finish in {MODULE_SECONDS} s: a name of the module runs without end on its data"
    finally:
        child.kill()
        child.join()
    assert not leaks, (f"pedagogy_lib.exercises.{name}: these names, one attribute away in the notebook, pass "
                       f"their checkers; move the reference into pedagogy_lib.exercises.references: {leaks}")


def test_the_scan_finds_a_reference_left_in_a_checker_module():
    """The scan itself: a module whose private reference passes its checker is caught, both as a value
    and as a function answer; one whose private helper computes something else is not."""
    import types

    from pedagogy_lib.exercises import checker

    page = types.ModuleType("pedagogy_lib.exercises.fake_leak")
    exec("from pedagogy_lib.exercises import checker\n"
         "__all__ = ['value', 'function']\n"
         "def _answer():\n    return 42.0\n"
         "def _square(x):\n    return x * x\n"
         "def _half():\n    return 21.0\n"
         "def value(a):\n    return checker.result('v', checker.compare_scalar(a, _answer(), 'v'))\n"
         "def function(fn):\n    return checker.result('f', checker.compare_scalar(fn(3.0), 9.0, 'f'))\n",
         page.__dict__)
    assert checker.compare_scalar(1.0, 1.0, "x") == []
    assert sorted(passing_candidates(page)) == ["function(_square itself)", "value(_answer())"]


# --- slip tables -------------------------------------------------------------------------------------
# The scan above calls what it can call on a module's own data, and compares what it gets with the
# answer itself. A table of named slips for a function answer escapes it twice: it needs a hidden
# problem's arguments, and its entries are one step from the reference rather than the reference
# (ch08_diffusion's mean-loss table held the reference plus d/2, and its reverse-step table held the
# reference itself wherever l > 1). So a slip table that the references build lives in references/,
# and no checker module may hold one (the last ones moved out with issue 68); a checker module may
# still hold a table it builds by itself from the problem, or name a slip of references/ with
# engine.lazy.


def slip_tables_from_references(source: str) -> set[str]:
    """Module-level functions of ``source`` named for slips that import ``references`` in their body."""
    import ast

    found = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and "slip" in node.name:
            if any(isinstance(sub, ast.ImportFrom) and "references" in (sub.module or "")
                   for sub in ast.walk(node)):
                found.add(node.name)
    return found


@pytest.mark.parametrize("name", MODULES)
def test_slip_tables_built_from_references_live_there(name):
    source = inspect.getsource(importlib.import_module(f"pedagogy_lib.exercises.{name}"))
    found = slip_tables_from_references(source)
    assert not found, (f"pedagogy_lib.exercises.{name}: {sorted(found)} build slip tables from the references in "
                       f"the checker module, one attribute away in the notebook; move them into references/")


def test_the_slip_table_rule_catches_the_mean_loss_table():
    """The table that held the reference plus d/2, as it sat in ch08_diffusion, is caught; the same
    table in references/ (no import of references in its body) and a drawer are not."""
    leaked = ("def _mean_loss_slips(v, rho, l, x0, z, mu) -> dict:\n"
              "    from .references import ch08_diffusion as refs\n"
              "    ref = refs.mean_loss(v, rho, l, x0, z, mu)\n"
              "    return {'you kept the trace term': ref + 0.5 * x0.shape[1]}\n"
              "def _draw_tweedie(rng):\n"
              "    from .references import ch08_diffusion as refs\n"
              "    return refs.two_atom_posterior(rng)\n")
    moved = ("def mean_loss_slips(v, rho, l, x0, z, mu) -> dict:\n"
             "    return {'you kept the trace term': mean_loss(v, rho, l, x0, z, mu) + 0.5 * x0.shape[1]}\n")
    assert slip_tables_from_references(leaked) == {"_mean_loss_slips"}
    assert slip_tables_from_references(moved) == set()
