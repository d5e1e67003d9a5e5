"""Summative grading of the nbgrader course: each exercise graded outside the student's kernel.

The formative checkers (``pedagogy_lib.exercises``) run in the reader's own kernel, where a reader
who wants to can patch them. Graded work is therefore judged elsewhere. During ``nbgrader autograde``
the preprocessor :class:`SummativeGrader` (registered by the course's ``nbgrader_config.py``, which
the release does not contain) runs after the notebook has executed and, for every test cell whose
hidden part names an exercise, replaces that cell's output with a verdict computed by two fresh
processes, neither of them the student's kernel:

* the **grader** (the nbgrader process itself, trusted): it imports the real checker module, sets
  its problem data to data of the student's own (seeded from the student id and the exercise label,
  when the checker module gives the exercise a ``SUMMATIVE`` variant or draws its data), and calls
  the checker, so the reference is computed at grading time and only here;
* the **student process** (``python -I`` running this file with ``--child``, in a sandbox): it runs
  the notebook's import lines and the student's answer cells up to this exercise (after the page's
  statements whose values they read, when they read any: :func:`replays`) on a *copy of the
  problem data only* (no checker code, no reference; ``pedagogy_lib.exercises`` cannot be imported)
  and sends back the answers as plain JSON (numbers, strings, arrays); a function answer stays in
  the student process and the grader calls it through the pipe, on inputs the student never saw.

Before anything runs, the answer's source is read (the rules are on the book's page "Rules for
graded answers"). The exercise scores zero, with a message that names the reason, when its answer
cell, or a function of the page that the answer uses, calls one of the functions the exercise names
(the hidden test's ``not_allowed`` list: library paths such as ``pedagogy_lib.hmm.hmm_filter``, or
bare names of the page's own functions; see :func:`named_calls`), imports a library that runs the
book's algorithms or a compiler (:data:`PEER_LIBRARIES`), or reaches the library's private names or
its compiled kernels. The grader changes no function of NumPy, SciPy or any other installed package.

Code that reaches for the grading machinery (the checker module's alias, ``CheckResult``, frames,
``sys.modules``, import hooks, tracing, the garbage collector's lists of objects; see
:func:`tampering`) is flagged. A flag concerns one exercise: the one whose answer cell holds the
code, or, for a cell the student added or edited, the exercise whose checker that cell names, else
the next exercise after it. That exercise scores zero until the instructor reviews it; the others
are graded as usual. Test cells deleted or edited in the submission are restored by nbgrader
(``add_missing_cells``) and flagged too. Flags are written into the test cell's output as
``FLAGGED: ...`` lines, where the feedback and :func:`export_by_exercise` find them, and
:func:`grade_notebook` returns them with each exercise's result.

The sandbox
-----------
The student process runs under bubblewrap (``bwrap``, the Debian and Ubuntu package ``bubblewrap``),
with the resource limits of :class:`Limits`, set before it starts:

* **Files.** It sees, read-only, only what Python needs: ``/usr`` (with the ``/bin`` and ``/lib``
  links), the dynamic linker's files, the time zone, ``passwd`` and ``group`` of ``/etc``, the Python
  installation with its site-packages, this library's package directory with its checkers
  (``pedagogy_lib/exercises``) hidden, and this file. Nothing else of the course folder is visible
  (no sources, solutions, other students' submissions or gradebook), nor any home directory.
* **Writing.** The only writable place is ``/tmp``, a fresh in-memory file system of at most
  :attr:`Limits.scratch_bytes`, which is also the working and home directory; it disappears with the
  process. Each file is at most :attr:`Limits.file_bytes`.
* **Network.** None: the process has a network namespace of its own, with only its own loopback.
* **Processes.** A PID namespace of its own (it sees no other process), at most
  :attr:`Limits.processes` processes and threads, and no capabilities. When the grader runs as
  root, the student's code runs as the user ``nobody``. The sandbox, with everything it started,
  is killed when the exercise is graded (under a fork server, below: every process it started),
  when the grader stops, and :attr:`Limits.wall_seconds` after the exercise started
  (``MSL_GRADING_TIMEOUT``, 120 s by default).
* **Resources.** :attr:`Limits.cpu_seconds` of CPU time per process (60 s), an address space of
  :attr:`Limits.memory_bytes` per process (4 GiB), 256 open files, no core files. What the code
  prints goes nowhere and stops it after :attr:`Limits.output_bytes` (10 MB); it talks to the grader
  over pipes of their own, and the grader reads at most :attr:`Limits.reply_bytes` of one reply.
* **Environment.** Cleared, then ``HOME=/tmp``, ``MPLBACKEND=Agg``, one BLAS thread and
  ``PEDAGOGY_DISABLE_NUMBA=1`` (the library runs its NumPy twins and compiles nothing); of the
  grader's own, only the variables of :data:`PASSED_ON`. (Not ``PEDAGOGY_STATIC_WIDGETS``: a page's
  interactive figure, replayed before an answer, would then draw every frame of its sliders.)

**The fork server.** :func:`grade_notebook` grades the exercises of one submission with one sandbox, a
fork server (:func:`fork_servers`), which forks one process per exercise. Before it forks one, the server
loads the modules of NumPy, SciPy and this library that the exercise's cells import at their top level
(not the checkers, nor ``pedagogy_lib.display``, whose matplotlib writes into ``/tmp``), so that later
exercises find them loaded. The exercise's process runs its cells from a new namespace, with its own
:attr:`Limits.cpu_seconds` counted from zero (the server has ten times as much, at least 600 s) and the
per-process limits above (the modules loaded for earlier exercises count in its address space); it reads the grader's messages only through the server, which holds the
grader's side and which the processes it forks cannot read or trace (``PR_SET_DUMPABLE``). When the
exercise is graded, the server kills every process of the sandbox but itself (it is their subreaper),
empties ``/tmp`` and answers with a token the exercise never saw, before the next exercise is forked: a
file or a process one exercise left behind never reaches the next. An exercise that ends its process or
runs out of wall time (the watchdog then kills the whole sandbox), or a server that does not answer as it
should, is never reused: the next exercise starts a new server, and when none can be started each exercise
gets a sandbox of its own, as :func:`grade_exercise` alone does. What the server does not empty between
two exercises of one submission are the namespaces' kernel objects (System V and POSIX message queues,
shared memory); they can carry data only from one exercise of a student to a later one of the same
student, which runs the earlier answer cells anyway, and never reach the grader's checkers.

What it does not do: it hides neither the installed packages nor the library's public source (the
book and its solutions are public); it shares the machine's kernel (a namespace sandbox, not a
virtual machine; no system-call filter); it limits memory per process, not for all of the sandbox's
processes together (a cgroup would); and it does not limit the grader process, where the checkers
run. Exits are reported by cause: more than the CPU time, a file too large, memory refused
(``MemoryError``), too much printed, no answer in time; a process that could not be started shows
as the answer's own exception (``BlockingIOError``).

Grading refuses to start when ``bwrap`` is missing or cannot create its namespaces (in some
containers), with a message saying how to install it. An instructor who accepts running students'
code with their own account and files can grade without isolation:
``nbgrader autograde ... --SummativeGrader.unisolated=True``, or ``unisolated=True`` to
:func:`grade_notebook` and :func:`grade_exercise`. The resource limits still apply then (all but the
number of processes, for root); the isolation does not.

This file needs only the standard library at import time (NumPy is imported where the grader
or the student process needs it), so the course folder carries a copy of it (``grading/``).
"""
from __future__ import annotations

import ast
import contextlib
import csv
import errno
import functools
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import dataclasses
from dataclasses import dataclass
from pathlib import Path

#: The text of every summative test cell's hidden part (after ``grade_exercise``'s arguments).
HIDDEN_MARK = "graded outside this kernel by grading/msl_grading.py"
FLAG = "FLAGGED:"
CHILD_TIMEOUT = float(os.environ.get("MSL_GRADING_TIMEOUT", "120"))

# --- the wire format: JSON with tagged arrays, nothing that runs code when read -----------------------


def encode(x, on_callable=None):
    """``x`` as JSON-ready data (:func:`pedagogy_lib.core.wire.encode`, imported when first needed, so
    that this file loads with the standard library alone)."""
    from pedagogy_lib.core import wire

    return wire.encode(x, on_callable)


def decode(x, namedtuples: dict | None = None, on_reference=None):
    """The value :func:`encode` sent (:func:`pedagogy_lib.core.wire.decode`): data, never code."""
    from pedagogy_lib.core import wire

    return wire.decode(x, namedtuples, on_reference)


# --- names in an answer's source ----------------------------------------------------------------------


def _within(path: str, prefixes) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def _parse(code: str):
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def _aliases(*sources: str) -> dict[str, str]:
    """Names that import statements in ``sources`` bind, each mapped to the dotted name it stands for."""
    bound: dict[str, str] = {}
    for source in sources:
        tree = _parse(source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        bound[a.asname] = a.name
                    else:
                        bound[a.name.split(".")[0]] = a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for a in node.names:
                    if a.name != "*":
                        bound[a.asname or a.name] = f"{node.module}.{a.name}"
    return bound


def _names_bound_by(tree: ast.AST) -> set[str]:
    """The names the code binds itself: assigned or deleted, defined (a def or a class), or arguments."""
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    own |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return own | {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}


def _chain(node: ast.AST) -> tuple[str | None, list[str]]:
    """``(root name, attributes)`` of an attribute chain ``a.b.c`` (``(None, [])`` if it is not one)."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    return (node.id, attrs[::-1]) if isinstance(node, ast.Name) else (None, [])


@functools.lru_cache(maxsize=None)
def _lookup(path: str) -> tuple[object, str, tuple[str, ...]]:
    """``(object, path to it, attributes beyond it)``: modules are imported and attributes looked up until
    the first object that is neither a module nor a class (``scipy.stats.norm.logpdf`` stops at
    ``scipy.stats.norm``, with ``logpdf`` beyond; ``pedagogy_lib.lgssm.LGSSM.smooth`` reaches the method).
    The object is ``None`` where the path names nothing."""
    import importlib
    import types

    parts = path.split(".")
    obj, i = None, 1
    while i <= len(parts):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:  # noqa: BLE001 - not a module (ImportError), or one that fails to load
            break
        i += 1
    if obj is None:
        return None, path, ()
    for j in range(i - 1, len(parts)):
        try:
            obj = getattr(obj, parts[j])
        except Exception:  # noqa: BLE001 - no such name
            return None, path, ()
        if not isinstance(obj, (types.ModuleType, type)):
            return obj, ".".join(parts[: j + 1]), tuple(parts[j + 1:])
    return obj, path, ()


def _canonical(obj, upto: str) -> str:
    import types

    if obj is None:
        return upto
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if callable(obj) and isinstance(module, str) and isinstance(qualname, str) and "<" not in qualname:
        return f"{module}.{qualname}"
    return upto


def canonical_name(path: str) -> str:
    """The object ``path`` names, as one name whatever route reaches it: the defining module and qualified
    name of a function or class (``pedagogy_lib.hmm.hmm_filter`` and ``pedagogy_lib.hmm.inference.hmm_filter``
    are one function), a module's own name, else the path up to the first object that is neither a module
    nor a class (``scipy.stats.norm.logpdf`` is ``scipy.stats.norm``). Only the modules on the path are
    imported to find it."""
    obj, upto, _ = _lookup(path)
    return _canonical(obj, upto)


def _reaches(path: str, targets: list[str]) -> bool:
    """Whether ``path`` names one of the functions ``targets`` (dotted paths) name, however it reaches it:
    the same object (or a name inside it: ``hmm_filter.py_func``, a module's functions), by identity or by
    canonical name; a method of an object (``recursions.CATEGORICAL.bayes_invert``) is that object and the
    method's name."""
    import types

    obj, upto, rest = _lookup(path)
    name = _canonical(obj, upto)
    for target in targets:
        t_obj, t_upto, t_rest = _lookup(target)
        if rest[: len(t_rest)] != t_rest:
            continue
        if t_obj is not None and (obj is t_obj or (isinstance(t_obj, types.ModuleType) and _within(name, [t_obj.__name__]))):
            return True
        if name == _canonical(t_obj, t_upto):
            return True
    return False


def named_calls(code: str, imports: str = "", not_allowed=()) -> list[str]:
    """The uses in ``code`` of the functions ``not_allowed`` names, each as written, sorted; empty if none.

    ``not_allowed`` holds an exercise's names: dotted paths of a library's functions
    (``pedagogy_lib.hmm.hmm_filter``) and bare names of functions the page defines (``_enumerate``).
    ``imports`` is the notebook's import code, which binds the names ``code`` uses for modules. A dotted
    name is recognised however the code reaches it: through a module alias (``hmm.hmm_filter``,
    ``pl.hmm.inference.hmm_filter``), the full path, a name bound by a from-import (``f`` after
    ``from pedagogy_lib.hmm import hmm_filter as f``, reported as ``f``), a name assigned from one of
    these (``m = hmm`` then ``m.hmm_filter``), ``getattr`` with a literal name, or a star import. A
    name the code binds itself (its own ``def hmm_filter``) is its own, not a use of the library's.
    """
    tree = _parse(code)
    if tree is None:
        return []
    bare = {n for n in not_allowed if "." not in n}
    dotted = [n for n in not_allowed if "." in n]
    packages = {n.split(".")[0] for n in dotted}
    own = _names_bound_by(tree)
    bound = {name: path for name, path in _aliases(imports, code).items()
             if name not in own and path.split(".")[0] in packages}
    # a name assigned once, from an alias or a chain on one (m = hmm; f = hmm.inference), stands for it too
    assigned: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    assigned.setdefault(t.id, []).append(node.value)
    for _ in range(3):                         # a chain of such assignments, a few steps deep
        for name, values in assigned.items():
            root, attrs = _chain(values[0])
            if len(values) == 1 and root in bound:
                bound[name] = ".".join([bound[root], *attrs])
    stars = [node.module for t in (_parse(imports), tree) if t is not None for node in ast.walk(t)
             if isinstance(node, ast.ImportFrom) and node.module and any(a.name == "*" for a in node.names)
             and node.module.split(".")[0] in packages]
    last = {n.rpartition(".")[2] for n in dotted}
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and "getattr" not in own and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str):
            root, attrs = _chain(node.args[0])
            if root in bound and _reaches(".".join([bound[root], *attrs, node.args[1].value]), dotted):
                found.append(ast.unparse(node))
        if not isinstance(node, (ast.Attribute, ast.Name)) or id(node) in inner:
            continue
        root, attrs = _chain(node)
        if root is None or not isinstance(node.ctx, ast.Load):
            continue
        if isinstance(node, ast.Name) and root in bare and root not in own:
            found.append(root)
        elif root in bound and (root not in assigned or attrs) and _reaches(".".join([bound[root], *attrs]), dotted):
            # (a name assigned a named function, used bare, was reported where it was assigned)
            found.append(ast.unparse(node))
        elif root not in own and root not in bound and root in last and not attrs \
                and any(_reaches(f"{m}.{root}", dotted) for m in stars):
            found.append(root)
    return sorted(set(found))


# --- what reaches for the grading machinery -----------------------------------------------------------

#: Attributes that lead to the checkers' verdicts or to the frames, import system and objects of the
#: process that runs the checks, wherever they are looked up.
_TAMPER_ATTRS = {"raise_if_wrong", "problems", "f_back", "f_locals", "f_globals", "_getframe", "_current_frames",
                 "currentframe", "settrace", "setprofile", "get_referrers", "get_objects", "meta_path"}
#: The checkers' result and exception classes.
_TAMPER_NAMES = {"CheckResult", "AnswerNotAccepted"}
#: Functions of these modules that the attributes above do not cover: the table of loaded modules, and
#: the frames of the running code.
_TAMPER_FUNCTIONS = {"sys": {"modules"}, "inspect": {"stack", "trace", "getouterframes", "getinnerframes"}}
_CHECKERS = "pedagogy_lib.exercises"


def tampering(code: str, alias: str = "check", imports: str = "", *, in_answer: bool = True) -> list[str]:
    """What in ``code`` reaches for the grading machinery; empty when nothing does.

    That is: an assignment to, ``setattr`` or ``delattr`` on the checker module's alias (``alias``, and
    every name ``imports`` or ``code`` binds to a module of ``pedagogy_lib.exercises``) or on its
    attributes; the checkers' ``CheckResult`` and ``AnswerNotAccepted``, ``.raise_if_wrong`` and
    ``.problems``; frames (``sys._getframe``, ``sys._current_frames``, ``inspect.currentframe``,
    ``inspect.stack``, ``.f_back``, ``.f_locals``, ``.f_globals``); ``sys.modules`` and
    ``sys.meta_path``; tracing (``settrace``, ``setprofile``); ``gc.get_referrers`` and
    ``gc.get_objects``; and, in an answer cell (``in_answer``), an import of the checkers themselves.
    Ordinary introspection is not tampering: ``getattr``, ``vars``, ``globals``, ``eval``, ``import
    inspect``, ``inspect.signature``, a module's ``__dict__``.
    """
    tree = _parse(code)
    if tree is None:
        return []
    bound = _aliases(imports, code)
    own = _names_bound_by(tree)
    checkers = {alias} | {name for name, path in bound.items() if _within(path, [_CHECKERS])}
    modules = {name: path for name, path in bound.items() if path in _TAMPER_FUNCTIONS and name not in own}
    found = []

    def module_of(value: ast.AST) -> str:
        """The module of :data:`_TAMPER_FUNCTIONS` that ``value`` names (an alias, or an import call)."""
        if isinstance(value, ast.Name):
            return modules.get(value.id, "")
        if isinstance(value, ast.Call) and value.args and isinstance(value.args[0], ast.Constant) \
                and ast.unparse(value.func) in {"__import__", "importlib.import_module", "import_module"}:
            return str(value.args[0].value)
        return ""

    def rooted_at_checker(target: ast.AST) -> bool:
        base = target
        while isinstance(base, (ast.Attribute, ast.Subscript)):
            base = base.value
        return isinstance(base, ast.Name) and base.id in checkers and base is not target

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _TAMPER_ATTRS:
            found.append(f".{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr in _TAMPER_FUNCTIONS.get(module_of(node.value), ()):
            found.append(f"{module_of(node.value)}.{node.attr}")
        elif isinstance(node, ast.Name) and node.id in _TAMPER_NAMES:
            found.append(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in _TAMPER_NAMES:
            found.append(node.attr)
        elif isinstance(node, ast.Import) and in_answer and any(_within(a.name, [_CHECKERS]) for a in node.names):
            found.append("an import of the checkers in an answer cell")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = {a.name for a in node.names}
            if in_answer and (_within(node.module, [_CHECKERS]) or (node.module == "pedagogy_lib" and "exercises" in names)):
                found.append("an import of the checkers in an answer cell")
            for name in sorted(names & (_TAMPER_NAMES | _TAMPER_ATTRS | _TAMPER_FUNCTIONS.get(node.module, set()))):
                found.append(f"from {node.module} import {name}")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            found += [f"an assignment to {ast.unparse(t)}" for t in targets if rooted_at_checker(t)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"setattr", "delattr"} \
                and node.func.id not in own and node.args:
            first = node.args[0]
            if (isinstance(first, ast.Name) and first.id in checkers) or rooted_at_checker(first):
                found.append(f"{node.func.id}({ast.unparse(first)}, ...)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and "getattr" not in own and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and node.args[1].value in _TAMPER_ATTRS | _TAMPER_NAMES:
            found.append(f"getattr(..., {node.args[1].value!r})")
    return sorted(set(found))


def _library_names_reached(code: str, imports: str, flagged, packages=("pedagogy_lib",)) -> list[str]:
    """The names in ``packages`` (this library by default) that ``code`` reaches for which ``flagged(name)``
    holds: imported (``from pedagogy_lib.x import name``, or ``import pedagogy_lib.x.name``) or looked up
    as an attribute of a module alias of theirs, which ``imports`` (the notebook's import code) or
    ``code`` binds. Each is given as written (``hm.exact._log_marginals_of``) or as the dotted import."""
    aliases = {name for name, path in _aliases(imports, code).items() if _within(path, packages)}
    found: list[str] = []
    tree = _parse(code)
    if tree is None:
        return []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _within(a.name, packages)
                      and any(flagged(part) for part in a.name.split(".")[1:])]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _within(node.module or "", packages):
            found += [f"{node.module}.{a.name}" for a in node.names
                      if flagged(a.name) or any(flagged(p) for p in node.module.split(".")[1:])]
        elif isinstance(node, ast.Attribute) and flagged(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in aliases:
                found.append(ast.unparse(node))
    return sorted(set(found))


#: Attributes with a leading underscore that are public API (NamedTuple methods), not library internals.
_PUBLIC_UNDERSCORED = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in _PUBLIC_UNDERSCORED


def private_library_names(code: str, imports: str = "") -> list[str]:
    """The library's private names (a leading underscore) that ``code`` reaches, e.g. ``hm.exact._log_marginals_of``.

    A private function is an internal of the library, not part of what graded code may use (it may
    compute what the exercise asks for under a name the exercise does not list). ``imports`` is the
    notebook's import code, which binds the names ``code`` uses for the library's modules. NamedTuple
    methods such as ``_replace`` are public and allowed.
    """
    return _library_names_reached(code, imports, _private)


def kernel_module_names(code: str, imports: str = "") -> list[str]:
    """The library's numba kernel modules (``pedagogy_lib.<family>.kernels``, ``pedagogy_lib.core.kernels``)
    and public kernels elsewhere (a name ending in ``_numba``, e.g. ``lorenz.rhs_numba``) that ``code``
    reaches, by an import or through a module alias bound in ``imports``.

    A family's kernels are the compiled twins of its public functions: calling one runs the filter,
    the smoother or the sampler step without passing through the public function an exercise may name.
    Graded answers do not use them.
    """
    return _library_names_reached(code, imports, lambda name: name == "kernels" or name.endswith("_numba"))


#: Compilers: an answer that compiles code hands the computation to a second implementation of NumPy's
#: functions, outside what the book teaches and what the grader reads.
COMPILERS = ("numba", "llvmlite")

#: Libraries that run the book's algorithms themselves (the companion's cross-checks and benchmark peers),
#: and the :data:`COMPILERS`: an answer that imports one hands the computation to it.
PEER_LIBRARIES = ("filterpy", "pykalman", "hmmlearn", "pgmpy", "sklearn", "statsmodels", "dynamax", "jax", "blackjax",
                  "emcee") + COMPILERS


def peer_library_imports(code: str) -> list[str]:
    """The peer libraries (:data:`PEER_LIBRARIES`) that ``code`` imports, by an import statement or by
    ``importlib.import_module`` / ``__import__`` with a literal name; an answer that imports one is not
    accepted."""
    tree = _parse(code)
    if tree is None:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and ast.unparse(node.func) in {
                    "importlib.import_module", "import_module", "__import__"}:
            names.append(node.args[0].value)
    return sorted({n.split(".")[0] for n in names if n.split(".")[0] in PEER_LIBRARIES})


# --- the sandbox --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What the student process may use (see the module docstring); the defaults are the course's."""

    #: CPU time of each process, in seconds (then SIGXCPU ends it, and SIGKILL two seconds later).
    cpu_seconds: int = 60
    #: Address space of each process, in bytes; an allocation beyond it raises MemoryError.
    memory_bytes: int = 4 << 30
    #: Processes and threads the sandbox's user may add (a fork beyond them fails).
    processes: int = 64
    #: Size of each file written, in bytes.
    file_bytes: int = 64 << 20
    #: Size of the scratch directory ``/tmp``, in bytes.
    scratch_bytes: int = 256 << 20
    #: Open files of each process.
    open_files: int = 256
    #: What the code may print (to ``sys.stdout`` and ``sys.stderr`` together), in characters.
    output_bytes: int = 10_000_000
    #: One reply to the grader, in bytes (an answer with its arrays).
    reply_bytes: int = 256 << 20
    #: Seconds the student process may live, from its start to the end of the exercise's grading.
    wall_seconds: float = CHILD_TIMEOUT


#: The program that makes the sandbox; a test may point it elsewhere.
BWRAP = "bwrap"
#: The user the student's code runs as when the grader runs as root (``nobody``).
NOBODY = 65534
#: Variables of the grader's environment that the student process keeps: the test command's reduced
#: budgets and its second CPU model, so that the answer is computed as the reference is.
PASSED_ON = ("PEDAGOGY_FAST", "OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")


class SandboxUnavailable(Exception):
    """``bwrap`` is missing or cannot make its sandbox here: grading refuses (see the module docstring)."""


class OutputLimitExceeded(RuntimeError):
    """Raised in the student process when its code has printed more than it may."""


def _size(n: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if n >= scale and n % scale == 0:
            return f"{n // scale:g} {unit}"
    return f"{n / 1e6:g} MB" if n >= 1e6 else f"{n:g} bytes"


_HOW_TO_INSTALL = ("Install bubblewrap (Debian and Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install "
                   "bubblewrap`; Arch: `sudo pacman -S bubblewrap`). To grade without isolation instead, on an "
                   "account and machine you accept to expose to the students' code, pass "
                   "`--SummativeGrader.unisolated=True` to `nbgrader autograde` (or `unisolated=True` to "
                   "grade_notebook and grade_exercise).")


def _not_installed() -> str:
    return f"The grader runs each student's code in a sandbox, and `{BWRAP}` is not installed. " + _HOW_TO_INSTALL


def _child_environment() -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
           "MPLBACKEND": "Agg", "PEDAGOGY_DISABLE_NUMBA": "1",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.update({name: os.environ[name] for name in PASSED_ON if name in os.environ})
    return env


@functools.lru_cache(maxsize=None)
def _python_paths(python: str) -> tuple[str, ...]:
    """The folders the interpreter ``python`` reads: its prefixes, its executable's folder and its module
    search path (asked of it, with ``-I``, so that nothing of the grader's own path comes in)."""
    code = ("import json, os, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, "
            "os.path.dirname(os.path.realpath(sys.executable))] + sys.path))")
    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    if out.returncode != 0:
        raise SandboxUnavailable(f"{python} did not start: {out.stderr.strip()[-500:]}")
    return tuple(json.loads(out.stdout))


#: The top-level links of a merged /usr (``/lib -> usr/lib``), made again in the sandbox.
_SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def _read_only_binds(python: str, package: Path, script: Path) -> list[tuple[str, str]]:
    """What the sandbox shows, read-only, as ``(host path, path in the sandbox)``: the system's programs and
    libraries, the interpreter and its packages, this library's package and this file; never a folder
    that holds the grader's working folder (the course), the home directory or the library's parent."""
    wanted = ["/usr"] + [p for p in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                                     "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/alternatives")
                         if os.path.exists(p)]
    around = {os.path.realpath(os.getcwd()), os.path.realpath(os.path.expanduser("~")), str(package.parent)}
    pairs: list[tuple[str, str]] = [(p, p) for p in wanted]
    for path in (*_python_paths(python), str(package), str(script)):
        path = os.path.normpath(os.path.abspath(path))
        real = os.path.realpath(path)
        if not os.path.exists(real) or any(a == real or a.startswith(real.rstrip("/") + "/") for a in around):
            continue
        pairs.append((real, real))
        if path != real and not any(path.startswith(link + "/") for link in _SYSTEM_LINKS):
            pairs.append((real, path))          # a folder reached through a link: shown where it is named too
    out: list[tuple[str, str]] = []
    for src, dest in sorted(set(pairs), key=lambda p: (p[1].count("/"), p[1])):
        if not any(dest == d or dest.startswith(d.rstrip("/") + "/") for _, d in out):
            out.append((src, dest))
    return out


def _bwrap_arguments(python: str, limits: Limits) -> list[str]:
    """The ``bwrap`` command line, up to the program it runs (see the module docstring)."""
    import pedagogy_lib

    bwrap = shutil.which(BWRAP)
    if bwrap is None:
        raise SandboxUnavailable(_not_installed())
    package = Path(pedagogy_lib.__file__).resolve().parent
    args = [bwrap, "--die-with-parent", "--new-session", "--clearenv"]
    if os.geteuid() == 0:
        # as root, a user namespace would map the student's code to root, whom no process limit binds: the
        # code starts as root with only the two capabilities it needs to become nobody (see _child_main)
        args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                 "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-all", "--unshare-user", "--disable-userns"]
    for name, value in _child_environment().items():
        args += ["--setenv", name, value]
    # the scratch directory first: a folder bound below /tmp (a course under /tmp, in tests) lands inside it
    args += ["--perms", "1777", "--size", str(limits.scratch_bytes), "--tmpfs", "/tmp"]
    made = {"/", "/tmp"}
    for link in _SYSTEM_LINKS:
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
        made.add(link)
    for src, dest in _read_only_binds(python, package, Path(__file__).resolve()):
        parents = [str(p) for p in reversed(Path(dest).parents) if str(p) not in made]
        for parent in parents:             # made here, readable by all (bwrap would make them private)
            args += ["--perms", "0755", "--dir", parent]
        made |= set(parents) | {dest}
        args += ["--ro-bind", src, dest]
    hidden = str(package / "exercises")
    args += ["--tmpfs", hidden, "--remount-ro", hidden, "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev",
             "--chdir", "/tmp", "--remount-ro", "/"]
    return args


@functools.lru_cache(maxsize=None)
def _probe(bwrap: str | None, python: str) -> str | None:
    if bwrap is None:
        return _not_installed()
    try:
        args = _bwrap_arguments(python, Limits())
    except SandboxUnavailable as exc:
        return str(exc)
    out = subprocess.run(args + [python, "-I", "-S", "-c", "pass"], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        return (f"The grader runs each student's code in a sandbox, and `{BWRAP}` cannot make one here "
                f"({out.stderr.strip()[-500:] or f'exit code {out.returncode}'}). Some containers forbid the "
                "namespaces it needs; grade on a machine or virtual machine that allows them. Ubuntu 23.10 and "
                "later restrict them for users other than root: `sudo sysctl "
                "kernel.apparmor_restrict_unprivileged_userns=0` lifts that. " + _HOW_TO_INSTALL)
    return None


def sandbox_problem(python: str = sys.executable) -> str | None:
    """Why the student process cannot be sandboxed here (``bwrap`` missing, or unable to make its
    namespaces), as a message for the instructor; ``None`` when it can. Tried once per interpreter."""
    return _probe(shutil.which(BWRAP), python)


def _tasks_of(uid: int) -> int:
    """The processes and threads user ``uid`` runs now (what the kernel counts against RLIMIT_NPROC)."""
    n = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    n += len(os.listdir(f"/proc/{name}/task"))
            except OSError:
                pass
    return n


def _limit_resources(limits: Limits, processes: int) -> None:
    """Set the student process's limits (run in the new process, before it starts the sandbox)."""
    import resource

    def lower(what, soft, hard=None):
        hard = soft if hard is None else hard
        old_soft, old_hard = resource.getrlimit(what)
        if old_hard != resource.RLIM_INFINITY:
            hard = min(hard, old_hard)
        resource.setrlimit(what, (min(soft, hard), hard))

    lower(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 2)
    lower(resource.RLIMIT_AS, limits.memory_bytes)
    lower(resource.RLIMIT_NPROC, processes)
    lower(resource.RLIMIT_FSIZE, limits.file_bytes)
    lower(resource.RLIMIT_CORE, 0)
    lower(resource.RLIMIT_NOFILE, limits.open_files)


# --- the student process ------------------------------------------------------------------------------


class _Printed:
    """``sys.stdout`` and ``sys.stderr`` of the student process: counts what is printed, keeps nothing,
    and raises :class:`OutputLimitExceeded` beyond the limit."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, limit: int):
        self.limit, self.count = limit, 0

    def write(self, text) -> int:
        self.count += len(text)
        if self.count > self.limit:
            raise OutputLimitExceeded(f"your code printed more than {_size(self.limit)}")
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("the student process's output has no file")


def _limit_hit(exc: BaseException) -> str | None:
    """Which limit of :class:`Limits` an exception of the student's code shows it reached, if one."""
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, OutputLimitExceeded):
        return "output"
    if isinstance(exc, OSError):
        if type(exc).__name__ == "gaierror":
            return "network"
        return {errno.EFBIG: "file", errno.ENOSPC: "scratch", errno.EAGAIN: "processes", errno.EROFS: "read-only",
                errno.ECONNREFUSED: "network", errno.ENETUNREACH: "network", errno.EHOSTUNREACH: "network"
                }.get(exc.errno)
    return None


def _failure(exc: BaseException) -> dict:
    """An exception of the student's code, as the student process reports it."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # noqa: BLE001 - an exception whose message cannot be made
        text = type(exc).__name__
    out = {"error": text[:4000]}
    if (kind := _limit_hit(exc)) is not None:
        out["limit"] = kind
    return out


def _child_main(argv: list[str] | None = None) -> int:
    """Run as ``python -I grading.py --child``: the student process (see the module docstring)."""
    if "--as-nobody" in (sys.argv if argv is None else argv):
        # the sandbox of a grader that runs as root: become nobody before anything else
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)

    # the grader's channel: the pipes the process started with, moved off descriptors 0 and 1, which
    # then lead to /dev/null, as 2 does: what the student's code writes there reaches no one
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    job = json.loads(requests.readline())
    sys.path.insert(0, job["root"])
    import numpy  # noqa: F401  (the wire format needs it)

    if job.get("serve"):
        return _serve(job, requests, replies)
    return _exercise(job, requests, replies)


def _exercise(job: dict, requests, replies) -> int:
    """The student's cells of one exercise, then the grader's calls, in this process (see the module docstring)."""
    import io
    import types

    sys.stdout = sys.stderr = _Printed(job["output_bytes"])
    sys.stdin = io.StringIO()
    me = os.getpid()

    def send(obj):
        if os.getpid() != me:          # a copy of this process that the student's code forked: not the one
            os._exit(0)                # that answers the grader
        try:
            data = json.dumps(obj).encode()
        except (MemoryError, ValueError, TypeError, RecursionError) as exc:   # an answer too large to send
            failure = _failure(exc)
            if "values" not in obj:
                failure["raised"] = failure.pop("error")
            data = json.dumps(failure).encode()
        replies.write(data + b"\n")
        replies.flush()

    def receive():
        line = requests.readline()
        return json.loads(line) if line else None

    def _helper(name):
        def call(*args):
            # a function of the problem statement (not a checker): the grader runs it and sends the value
            send({"helper": name, "args": encode(list(args))})
            reply = receive() or {"raised": "the grader has gone"}
            if "raised" in reply:
                raise RuntimeError(reply["raised"])
            return decode(reply.get("ok"))
        call.__name__ = name
        return call

    def unpack(value, nts=None):       # a function of the grader's arrives as a stand-in calling it back
        return decode(value, nts, on_reference=lambda tag: _helper(str(tag["__cb__"])))

    # the checker modules: the problem data only; checker functions do nothing here
    import pedagogy_lib
    package = types.ModuleType("pedagogy_lib.exercises")
    package.__path__ = []
    sys.modules["pedagogy_lib.exercises"] = package
    pedagogy_lib.exercises = package
    for modname, spec in job["modules"].items():
        mod = types.ModuleType(f"pedagogy_lib.exercises.{modname}",
                               "Problem data for grading (the checkers are not available here).")
        nts: dict = {}
        for name, value in spec["data"].items():
            setattr(mod, name, unpack(value, nts))
        for name in spec["functions"]:
            setattr(mod, name, lambda *a, **k: None)
        for name in spec.get("helpers", []):
            setattr(mod, name, _helper(name))
        sys.modules[mod.__name__] = mod
        setattr(package, modname, mod)

    class _NoCheckers:
        def find_spec(self, name, path=None, target=None):
            if name.startswith("pedagogy_lib.exercises.") and name not in sys.modules:
                raise ImportError(f"{name}: the exercise checkers are not available to graded code")
            return None

    sys.meta_path.insert(0, _NoCheckers())

    ns: dict = {"__name__": "__main__"}
    out: dict = {"values": {}, "error": None}
    for i, (code, must_run) in enumerate(job["cells"]):
        try:
            exec(compile(code, f"<answer cell {i}>", "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 - reported to the grader as text
            if os.getpid() != me:
                os._exit(0)
            if must_run:
                out.update(_failure(exc))
                break
    if os.getpid() != me:
        os._exit(0)
    if out["error"] is None:
        for name in job["names"]:
            try:
                out["values"][name] = encode(ns[name]) if name in ns else {"__missing__": name}
            except BaseException as exc:  # noqa: BLE001 - an answer that cannot be sent
                out.update(_failure(exc))
                break
    send(out)
    while (req := receive()) is not None:
        fn = ns.get(req["call"])
        try:
            value = encode(fn(*unpack(req["args"])))
        except BaseException as exc:  # noqa: BLE001 - sent back as the function's exception
            failure = _failure(exc)
            failure["raised"] = failure.pop("error")
            send(failure)
        else:
            send({"ok": value})
    return 0


# --- the fork server: one sandbox per graded notebook, one forked process per exercise -----------------

#: Modules a fork server never loads ahead: the checkers (hidden in the sandbox), and what writes into the
#: scratch directory when imported (matplotlib's configuration folder), which each exercise gets empty.
_NOT_PRELOADED = ("pedagogy_lib.exercises", "pedagogy_lib.display", "matplotlib")


#: The packages whose modules a fork server loads ahead, when an exercise's cells import them at their top level.
_PRELOADED = ("numpy", "scipy", "pedagogy_lib")


def _preloadable(imports: str) -> list[str]:
    """The modules of :data:`_PRELOADED` (but for :data:`_NOT_PRELOADED`) that the top-level import lines of
    ``imports`` load, in order."""
    names: list[str] = []
    for line in import_statements(imports):
        node = ast.parse(line).body[0]
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return [n for n in dict.fromkeys(names) if _within(n, _PRELOADED) and not _within(n, _NOT_PRELOADED)]


def _load(names) -> None:
    """Import ``names`` here (a fork server: its exercises then find them loaded), none of the checkers."""
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - the exercise's own import then fails as it would have
            pass
    for name in [n for n in sys.modules if _within(n, _NOT_PRELOADED[:1])]:
        del sys.modules[name]


def _prctl(option: int, value: int) -> None:
    import ctypes

    if ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


_PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER = 4, 36


def _others() -> list[int]:
    """The processes of this PID namespace but its first (bwrap's) and this one."""
    me = os.getpid()
    return [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) not in (1, me)]


def _end_all() -> None:
    """Kill every process of the sandbox but this one and bwrap's, and reap them (this process is their
    subreaper); raise if one is left."""
    for _ in range(100):
        try:
            os.kill(-1, signal.SIGKILL)       # all this user's processes here, but the caller and PID 1
        except ProcessLookupError:
            pass
        try:
            while True:
                os.waitpid(-1, 0)
        except ChildProcessError:
            pass
        if not _others():
            return
        select.select([], [], [], 0.01)
    raise RuntimeError(f"processes left in the sandbox: {_others()}")


def _mounts_below(path: str) -> set[str]:
    """The mount points below ``path`` (the grader's read-only binds, when its folders are under /tmp)."""
    def unescape(field: str) -> str:
        return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)

    with open("/proc/self/mountinfo") as f:
        points = {unescape(line.split()[4]) for line in f}
    return {p for p in points if p.startswith(path.rstrip("/") + "/")}


def _empty_scratch(path: str = "/tmp", mounts: set[str] | None = None) -> None:
    """Remove everything in ``path`` (the scratch file system), whatever its permissions, but the mount points
    below it and the folders that lead to them; raise if anything else is left."""
    if mounts is None:
        mounts = _mounts_below(path)
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if full in mounts:
            continue
        if any(m.startswith(full + "/") for m in mounts):
            _empty_scratch(full, mounts)
        elif os.path.isdir(full) and not os.path.islink(full):
            os.chmod(full, 0o700)
            _empty_scratch(full, set())
            os.rmdir(full)
        else:
            os.unlink(full)
    if any(os.path.join(path, n) not in mounts and not any(m.startswith(os.path.join(path, n) + "/") for m in mounts)
           for n in os.listdir(path)):
        raise RuntimeError(f"{path} is not empty")


def _serve(first: dict, requests, replies) -> int:
    """The fork server (``first`` has ``serve``): load the modules the page imports, then, per ``run``
    message, fork one process that runs :func:`_exercise` on its job with a pipe of its own for the grader's
    messages, which this process passes on; on ``end`` (or when that process ends) kill every process of
    the sandbox but this one, empty ``/tmp`` and say so. Any failure here ends the server, and the grader
    starts the next exercise in a new sandbox."""
    with open("/proc/1/comm") as f:
        if f.read().strip() != "bwrap":          # _end_all kills every process it may: only in a sandbox
            raise RuntimeError("the fork server runs only in the sandbox")
    _load(first["preload"])
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    _prctl(_PR_SET_DUMPABLE, 0)              # no process of the sandbox may read or trace this one
    _end_all()
    _empty_scratch()
    inbox = requests.fileno()
    out = replies.fileno()
    buffered = bytearray()                    # a job may be tens of megabytes: read on, looking for the line's end
                                              # only in what came in since, so that reading it costs its length

    def say(obj) -> None:                      # a new line first: a line a killed exercise left unfinished ends
        data = memoryview(b"\n" + json.dumps(obj).encode() + b"\n")
        while data:
            data = data[os.write(out, data):]

    say({"__ready__": first["nonce"]})
    os.set_blocking(inbox, False)
    while True:
        start = 0
        while (i := buffered.find(b"\n", start)) < 0:
            start = len(buffered)
            select.select([inbox], [], [])
            chunk = os.read(inbox, 1 << 20)
            if not chunk:
                return 0
            buffered += chunk
        line, buffered = bytes(buffered[:i]), buffered[i + 1:]
        msg = json.loads(line)
        if "__end__" in msg:                     # between exercises, with nothing running
            say({"__ready__": msg["__end__"]})
            continue
        if "run" not in msg:
            raise RuntimeError("the fork server expected an exercise")
        _load(_preloadable("\n".join(str(code) for code, _ in msg["run"]["cells"])))   # once for all exercises
        _empty_scratch()
        theirs, mine = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                import resource

                os.close(mine)
                os.close(inbox)                      # the grader's messages reach it only through the server
                cpu = first["cpu_seconds"]
                resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))   # this process's own count starts at 0
                _prctl(_PR_SET_DUMPABLE, 1)
                code = _exercise(msg["run"], os.fdopen(theirs, "rb"), os.fdopen(os.dup(out), "wb"))
            except BaseException:  # noqa: BLE001 - reported as the exit code
                code = 1
            os._exit(code)
        os.close(theirs)
        watch = os.pidfd_open(pid)
        ended = None
        start = 0
        while ended is None:
            if (i := buffered.find(b"\n", start)) >= 0:
                line, buffered, start = bytes(buffered[:i]), buffered[i + 1:], 0
                try:
                    msg = json.loads(line)
                except ValueError:
                    msg = None
                if isinstance(msg, dict) and "__end__" in msg:
                    ended = {"nonce": msg["__end__"]}
                    break
                try:
                    os.write(mine, line + b"\n")     # blocking: a process that reads nothing is the watchdog's
                except OSError:
                    pass
                continue
            start = len(buffered)
            ready, _, _ = select.select([inbox, watch], [], [])
            if watch in ready:
                _, status = os.waitpid(pid, 0)
                ended = {"status": (-os.WTERMSIG(status) if os.WIFSIGNALED(status)
                                    else os.WEXITSTATUS(status))}
            else:
                chunk = os.read(inbox, 1 << 20)
                if not chunk:
                    return 0
                buffered += chunk
        os.close(watch)
        os.close(mine)
        _end_all()
        _empty_scratch()
        if "nonce" in ended:
            say({"__ready__": ended["nonce"]})
        else:
            say({"__ended__": ended["status"]})


class StudentProcess:
    """The student's answer cells, run by this file's ``--child`` mode in the sandbox (or, ``unisolated``,
    in a plain ``python -I`` with the same limits)."""

    def __init__(self, job: dict, python: str = sys.executable, helpers: dict | None = None, *,
                 limits: Limits | None = None, unisolated: bool = False, server: _Server | None = None,
                 serving: bool = False):
        self.helpers = helpers or {}
        self.limits = limits or Limits()
        self.unisolated = unisolated
        self.pending = b""
        self.started = False
        self.scratch = None
        self.server = server
        if server is not None:           # an exercise of a fork server: a process it forks, on its pipes
            self.proc, self.errors, self.started = server.link.proc, server.link.errors, True
            self.expired = threading.Event()
            self.watchdog = threading.Timer(self.limits.wall_seconds, self._expire)
            self.watchdog.daemon = True
            self.watchdog.start()
            try:
                self._send({"run": dict(job, output_bytes=self.limits.output_bytes)})
            except BaseException:
                self.close()
                raise
            return
        command = [python, "-I", str(Path(__file__).resolve()), "--child"]
        env = _child_environment()
        if unisolated:
            self.scratch = tempfile.mkdtemp(prefix="msl-grading-")
            env.update(HOME=self.scratch, TMPDIR=self.scratch)
            user, cwd = os.getuid(), self.scratch
        else:
            problem = sandbox_problem(python)
            if problem is not None:
                raise SandboxUnavailable(problem)
            command = _bwrap_arguments(python, self.limits) + command
            if os.geteuid() == 0:
                command.append("--as-nobody")
            user, cwd, env = (NOBODY if os.geteuid() == 0 else os.getuid()), "/", {}
        processes = self.limits.processes + _tasks_of(user)
        own = self.limits
        if serving:                      # the server itself: one process more, and CPU time for its life
            processes += 1
            own = dataclasses.replace(own, cpu_seconds=max(10 * own.cpu_seconds, 600))
        self.errors = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
                                     cwd=cwd, env=env, start_new_session=True,
                                     preexec_fn=functools.partial(_limit_resources, own, processes))
        # the watchdog: past the time allowed, the sandbox and all it started are killed, wherever the
        # grader is waiting for them
        self.expired = threading.Event()
        self.watchdog = threading.Timer(self.limits.wall_seconds, self._expire)
        self.watchdog.daemon = True
        self.watchdog.start()
        os.set_blocking(self.proc.stdin.fileno(), False)
        os.set_blocking(self.proc.stdout.fileno(), False)
        try:
            self._send(dict(job, output_bytes=self.limits.output_bytes))
        except BaseException:
            self.close()
            raise

    def _expire(self) -> None:
        self.expired.set()
        self._kill()
        if self.server is not None:
            self.server.broken = True

    def _timed_out(self) -> TimeoutError:
        self.close()
        return TimeoutError(f"your code did not finish within {self.limits.wall_seconds:g} s")

    # the pipes, with the size of a reply bounded

    def _wait(self, fd: int, event: int) -> None:
        poller = select.poll()
        poller.register(fd, event | select.POLLHUP | select.POLLERR)
        while not poller.poll(1000):
            if self.expired.is_set():
                raise self._timed_out()

    def _send(self, obj) -> None:
        data = memoryview(json.dumps(obj).encode() + b"\n")
        fd = self.proc.stdin.fileno()
        while data:
            self._wait(fd, select.POLLOUT)
            try:
                data = data[os.write(fd, data[: 1 << 20]):]
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                self._ended()

    def _line(self) -> bytes:
        i = self.pending.find(b"\n")
        if i >= 0:
            line, self.pending = self.pending[:i], self.pending[i + 1:]
            return line
        parts, size = [self.pending], len(self.pending)
        fd = self.proc.stdout.fileno()
        while True:
            if size > self.limits.reply_bytes:
                self.close()
                raise RuntimeError(f"your answer is larger than the {_size(self.limits.reply_bytes)} the grader reads")
            self._wait(fd, select.POLLIN)
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                self._ended()
            i = chunk.find(b"\n")
            if i >= 0:
                parts.append(chunk[:i])
                self.pending = chunk[i + 1:]
                return b"".join(parts)
            parts.append(chunk)
            size += len(chunk)

    def _ended(self):
        """The student process closed its side: raise what ended it."""
        if self.expired.is_set():
            raise self._timed_out()
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._kill()
            code = self.proc.wait()
        self.errors.seek(0)
        said = self.errors.read(20000).decode(errors="replace").strip()
        if not self.started and not self.unisolated and said.startswith("bwrap:"):
            raise SandboxUnavailable(f"The sandbox could not be made ({said[-500:]}). " + _HOW_TO_INSTALL)
        if not self.started and said:
            raise RuntimeError(f"the student process did not start ({said.splitlines()[-1]})")
        if self.server is not None:
            self.server.broken = True
        self._exited(code if code < 0 or self.unisolated or code <= 128 else 128 - code)

    def _exited(self, code: int):
        """Raise what ended the student's process: ``code`` is its exit code, or minus the signal."""
        if self.expired.is_set():
            raise self._timed_out()
        sig = -code if code < 0 else 0
        limits = self.limits
        if sig == signal.SIGXCPU:
            raise RuntimeError(f"your code used more than {limits.cpu_seconds} s of CPU time")
        if sig == signal.SIGXFSZ:
            raise RuntimeError(f"your code wrote a file larger than {_size(limits.file_bytes)}")
        if sig == signal.SIGKILL:
            raise RuntimeError(f"your code was killed: it went on past its {limits.cpu_seconds} s of CPU time, or "
                               "the machine ran out of memory")
        if sig:
            raise RuntimeError(f"your code ended the Python process (signal {signal.Signals(sig).name})")
        raise RuntimeError(f"your code ended the Python process (exit code {code})")

    def receive(self) -> dict:
        while True:
            line = self._line()
            if self.server is not None and not line.strip():    # a fork server's word starts a new line
                continue
            try:
                msg = json.loads(line)
            except (ValueError, RecursionError):
                msg = None
            if not isinstance(msg, dict):
                self.close()
                raise RuntimeError("the student process sent the grader something it cannot read")
            self.started = True
            if self.server is not None and "__ended__" in msg:      # the exercise's process ended
                self.server.broken = True
                self._exited(msg["__ended__"] if isinstance(msg["__ended__"], int) else 1)
            if "helper" not in msg:
                return msg
            self._answer_helper(msg)

    def _answer_helper(self, msg: dict) -> None:
        try:
            fn = self.helpers.get(str(msg["helper"]))
            if fn is None:
                raise NameError(f"{msg['helper']} is not a function of the problem statement")
            reply = {"ok": encode(fn(*decode(msg["args"])))}
        except Exception as exc:  # noqa: BLE001 - sent back to the student's code as its exception
            reply = {"raised": f"{type(exc).__name__}: {exc}"}
        self._send(reply)

    def call(self, name: str, args: tuple):
        def offer(fn):                 # a function of the grader's, called back through the pipe
            key = f"callback-{len(self.helpers)}"
            self.helpers[key] = fn
            return {"__cb__": key}

        self._send({"call": name, "args": encode(list(args), offer)})
        reply = self.receive()
        if "raised" in reply:
            raise RuntimeError(str(reply["raised"]) + _limit_note(reply.get("limit"), self.limits))
        return _read(reply.get("ok"))

    def _kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)       # the sandbox and all it started
            except OSError:
                self.proc.kill()

    def close(self):
        self.watchdog.cancel()
        if self.server is not None:
            self.server.finish(self)
            return
        self._kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        self.errors.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


class _Server:
    """A fork server (see the module docstring): one sandbox, started by :class:`StudentProcess` in its serving
    mode, that forks one process per exercise. Anything unexpected (an exercise's process that ended, ran out
    of time, or a server that does not answer) marks it ``broken``; it is then killed, and :class:`_Servers`
    starts another for the next exercise."""

    def __init__(self, python: str, limits: Limits, preload: list[str]):
        import secrets

        import pedagogy_lib

        self.limits, self.broken = limits, False
        nonce = secrets.token_hex(16)
        self.link = StudentProcess({"serve": True, "root": str(Path(pedagogy_lib.__file__).resolve().parent.parent),
                                    "preload": preload, "nonce": nonce, "cpu_seconds": limits.cpu_seconds},
                                   python, limits=limits, serving=True)
        try:
            self._ready(self.link, nonce)
        except BaseException:
            self.link.close()
            raise
        finally:
            self.link.watchdog.cancel()
        if self.link.expired.is_set():
            self.close()
            raise TimeoutError("the fork server did not start in time")

    def _ready(self, via: StudentProcess, nonce: str) -> None:
        """Read lines until the server's ``ready`` with ``nonce``, a value no process it forked has seen."""
        while True:
            line = via._line()
            try:
                msg = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(msg, dict) and msg.get("__ready__") == nonce:
                break
        if via.pending:                       # nothing may follow the server's word
            raise RuntimeError("the fork server said more than it should")

    def finish(self, exercise: StudentProcess) -> None:
        """After an exercise: the server kills what it ran and empties /tmp, or, if it cannot, is killed."""
        import secrets

        if not self.broken and not exercise.expired.is_set():
            nonce = secrets.token_hex(16)
            timer = threading.Timer(60.0, exercise._expire)
            timer.daemon = True
            timer.start()
            try:
                exercise._send({"__end__": nonce})
                self._ready(exercise, nonce)
            except Exception:  # noqa: BLE001 - a server that does not answer as it should is not reused
                self.broken = True
            finally:
                timer.cancel()
            if exercise.expired.is_set():
                self.broken = True
        if self.broken:
            self.close()

    def close(self) -> None:
        self.broken = True
        self.link.close()


class _Servers:
    """The fork servers of one :func:`grade_notebook` run (one student): a server while one is healthy, a new
    one when the last broke, and, when a server cannot be started, ``None`` (each exercise then starts its
    own sandbox, as :class:`StudentProcess` does alone)."""

    def __init__(self, python: str, limits: Limits | None, imports: str):
        self.python, self.limits = python, limits or Limits()
        self.preload = _preloadable("\n".join(import_statements(imports)))
        self.server: _Server | None = None
        self.failed = False

    def get(self, limits: Limits | None) -> _Server | None:
        limits = limits or Limits()
        if self.failed or dataclasses.replace(limits, wall_seconds=self.limits.wall_seconds) != self.limits:
            return None                  # the server's processes have other limits (the wall clock is the grader's)
        if self.server is not None and self.server.broken:
            self.server = None
        if self.server is None:
            try:
                self.server = _Server(self.python, self.limits, self.preload)
            except SandboxUnavailable:
                raise
            except Exception:  # noqa: BLE001 - grade without the server, exactly as before
                self.failed = True
                return None
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


@contextlib.contextmanager
def fork_servers(python: str = sys.executable, limits: Limits | None = None, imports: str = ""):
    """The fork servers that :func:`grade_exercise` uses when given them (``servers=``): the exercises graded
    with them, for one student, share one sandbox, each in a process of its own (see the module docstring).
    ``imports`` are the page's import lines, whose modules the server loads once."""
    servers = _Servers(python, limits, imports)
    try:
        yield servers
    finally:
        servers.close()


def _limit_note(kind: str | None, limits: Limits) -> str:
    """What an exception of the student's code means when it shows that a limit was reached."""
    return {"memory": f" (your code tried to allocate more than {_size(limits.memory_bytes)}, the most graded code "
                      "may use)",
            "read-only": " (graded code may write only in its scratch directory, /tmp)",
            "network": " (graded code has no network)",
            "file": f" (your code wrote a file larger than {_size(limits.file_bytes)}, the largest graded code may "
                    "write)",
            "scratch": f" (your code filled the scratch directory /tmp, {_size(limits.scratch_bytes)})",
            "processes": f" (graded code may start at most {limits.processes} processes)"}.get(kind or "", "")


def _read(value, namedtuples: dict | None = None):
    """:func:`decode` of what the student's process sent; a message that does not decode (an array whose
    bytes do not fit its shape, say) stops the grading of this exercise instead of the grader."""
    try:
        return decode(value, namedtuples)
    except ValueError as exc:
        raise RuntimeError(f"the grader could not read a value your code sent ({exc})") from None


def _proxy(child: StudentProcess, name: str):
    def fn(*args):
        return child.call(name, args)
    fn.__name__ = name
    return fn


# --- the grader -------------------------------------------------------------------------------------


def _public_data(mod) -> dict:
    out = {}
    for name, value in vars(mod).items():
        if name.startswith("_") or callable(value) or isinstance(value, type(sys)):
            continue
        enc = encode(value)
        if not (isinstance(enc, dict) and "__opaque__" in enc):
            out[name] = enc
    return out


def _checker_functions(mod, checkers: set[str]) -> tuple[list[str], list[str]]:
    """(the checkers and imported tools, which do nothing in the student process; the module's own
    functions of the problem statement, which the student's code may call and the grader runs)."""
    quiet, helpers = [], []
    for n, v in vars(mod).items():
        if n.startswith("_") or not callable(v):
            continue
        own = getattr(v, "__module__", None) == mod.__name__ and not isinstance(v, type)
        (helpers if own and n not in checkers else quiet).append(n)
    return quiet, helpers


def student_seed(student: str, label: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{student}\n{label}".encode()).digest()[:8], "little")


#: The source of every checker module, read once (when the grader starts: see :class:`SummativeGrader`),
#: so that a notebook that rewrites the files on disk cannot change what a student's copy computes.
_SOURCES: dict[str, tuple[str, str]] = {}


def remember_source(mod) -> None:
    if mod.__name__ not in _SOURCES:
        _SOURCES[mod.__name__] = (mod.__file__, Path(mod.__file__).read_text(encoding="utf-8"))


def own_copy(mod, salt: int):
    """The checker module run afresh with the student's salt in :func:`checker.problem_rng`: the same
    code, problem data of the student's own, and references computed from them. ``None`` when the
    module's data are the same for everyone (it draws none with ``problem_rng`` or ``book_or_drawn``)."""
    return _own_copy_and_data(mod, salt)[0]


def _own_copy_and_data(mod, salt: int) -> tuple:
    """``(own_copy(mod, salt), its public data encoded, mod's public data encoded)``; the encodings are
    ``None`` where the module draws nothing (each is made once: B.3's problems have 200 000 entries)."""
    import types

    from pedagogy_lib.exercises import checker

    remember_source(mod)
    file, source = _SOURCES[mod.__name__]
    if "problem_rng(" not in source and "book_or_drawn(" not in source:
        return None, None, None
    fresh = types.ModuleType(mod.__name__, mod.__doc__)
    fresh.__file__, fresh.__package__ = file, mod.__package__
    with checker.drawn_for(salt):
        exec(compile(source, file, "exec"), vars(fresh))
    mine, book = _public_data(fresh), _public_data(mod)
    if json.dumps(mine, sort_keys=True) == json.dumps(book, sort_keys=True):
        return None, mine, book
    return fresh, mine, book


def grade_exercise(label: str, module: str, checker: str, names: list[str], cells: list[tuple[str, bool]],
                   student: str | None, *, python: str = sys.executable, checkers: set[str] = frozenset(),
                   unisolated: bool = False, limits: Limits | None = None,
                   servers: _Servers | None = None) -> tuple[bool, str]:
    """Grade one exercise: ``(passed, the verdict's text)``; see the module docstring.

    ``cells`` are ``(code, must_run)`` pairs run in order in the student process (a cell that need not
    run may fail without ending the grading); ``names`` the answer's names the checker receives.
    ``student`` None grades on the book's own data, as the checker in the notebook does.
    ``unisolated`` runs the student process without the sandbox (the limits stay); ``limits`` replaces
    :class:`Limits`' defaults. ``servers`` (:func:`fork_servers`) runs the student's code in a process forked
    by a fork server, when not ``unisolated``. Raises :class:`SandboxUnavailable` when the sandbox cannot be made.
    """
    import importlib

    import numpy as np

    limits = limits or Limits()
    mod = importlib.import_module(f"pedagogy_lib.exercises.{module}")
    if getattr(mod, "__file__", None) is None:
        raise RuntimeError("the grader needs the checker modules themselves, not a Jupyter kernel's stand-ins: "
                           "run it in a plain Python process, as nbgrader's autograde does")
    spec = getattr(mod, "SUMMATIVE", {}).get(label, {})
    saved = {}
    lines = []
    data = None                     # the student's copy's public data, once encoded
    if student is None:             # the book's own data: the verdict the checker in the notebook gives
        pass
    elif "variant" in spec:
        rng = np.random.default_rng(student_seed(student, label))
        for name, value in spec["variant"](rng).items():
            saved[name] = getattr(mod, name)
            setattr(mod, name, value)
        lines.append(f"Graded on problem data of your own (the exercise's {', '.join(saved)} drawn for "
                     f"student {student!r}), by running your answer cell again.")
    elif spec.get("own_data", True):
        fresh, mine, book = _own_copy_and_data(mod, student_seed(student, label))
        data = book
        if fresh is not None:       # graded on the student's copy; said where the answer uses its data
            code = "\n".join(c for c, own_cell in cells if own_cell)
            changed = [n for n, v in mine.items() if re.search(rf"\b{n}\b", code)
                       and json.dumps(v) != json.dumps(book.get(n))]
            mod, data = fresh, mine
            if changed:
                lines.append(f"Graded on problem data of your own ({', '.join(changed)} drawn for student "
                             f"{student!r}), by running your answer cell again.")
    import pedagogy_lib
    quiet, helpers = _checker_functions(mod, set(checkers) | {checker})
    job = {"root": str(Path(pedagogy_lib.__file__).resolve().parent.parent),
           "modules": {module: {"data": data if data is not None else _public_data(mod), "functions": quiet,
                                "helpers": helpers}},
           "cells": cells, "names": names}
    child = None
    try:
        server = servers.get(limits) if servers is not None and not unisolated else None
        child = StudentProcess(job, python, helpers={n: getattr(mod, n) for n in helpers}, limits=limits,
                               unisolated=unisolated, server=server)
        reply = child.receive()
        if reply.get("error"):
            return False, "\n".join(lines + [f"Your answer cell raised {reply['error']}"
                                             + _limit_note(reply.get("limit"), limits)])
        # the checker module's own NamedTuple classes, so that an answer of that type is one here too
        nts = {n: v for n, v in vars(mod).items() if isinstance(v, type) and issubclass(v, tuple) and hasattr(v, "_fields")}
        values = reply.get("values")
        if not isinstance(values, dict):
            raise RuntimeError("the student process sent the grader something it cannot read")
        args = []
        for name in names:
            value = values.get(name)
            if isinstance(value, dict) and "__missing__" in value:
                return False, "\n".join(lines + [f"Your answer cell no longer defines {name}."])
            args.append(_proxy(child, name) if isinstance(value, dict) and "__fn__" in value else _read(value, nts))
        from pedagogy_lib.exercises.checker import drawn_for
        if student is None:
            verdict = getattr(mod, checker)(*args)
        else:
            with drawn_for(student_seed(student, label)):  # test problems a checker draws as it runs: the student's own
                verdict = getattr(mod, checker)(*args)
        return bool(verdict), "\n".join(lines + [str(verdict)])
    except (TimeoutError, RuntimeError) as exc:
        return False, "\n".join(lines + [f"{_STOPPED}{exc}."])
    finally:
        if child is not None:
            child.close()
        for name, value in saved.items():
            setattr(mod, name, value)


# --- the nbgrader side ---------------------------------------------------------------------------------


def _src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def parse_hidden_call(source: str) -> dict | None:
    """The exercise a test cell grades: the JSON after ``# summative:`` in its hidden part."""
    for line in source.splitlines():
        if line.startswith("# summative: "):
            return json.loads(line[len("# summative: "):])
    return None


def import_statements(code: str) -> list[str]:
    """The import statements at the top level of ``code``, one string each (none if it does not parse)."""
    tree = _parse(code)
    if tree is None:
        return []
    return [ast.unparse(s) for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]


def _names_used(sources: list[str]) -> set[str]:
    return set().union(*map(_names_in, sources))


@functools.lru_cache(maxsize=4096)
def _names_in(code: str) -> frozenset[str]:
    """The names ``code`` mentions (none if it does not parse); read once per text, as every exercise of a
    notebook asks it again of the same page cells."""
    tree = _parse(code)
    return frozenset() if tree is None else frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))


def _names_bound(import_line: str) -> set[str]:
    node = ast.parse(import_line).body[0]
    return {(a.asname or a.name).split(".")[0] for a in node.names}


def _preamble(page: list[str], answers: list[str], exclude: frozenset = frozenset()) -> list[str]:
    """What the answers need from the rest of the page: its imports and its function and class
    definitions (not its computations), those that the answers use, directly or through each other
    (``exclude``: names the answers bind themselves, which do not count as uses of the page's)."""
    defs = []
    for code in page:
        tree = _parse(code)
        if tree is None:
            continue
        for stmt in tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                defs.append((_names_bound(ast.unparse(stmt)), ast.unparse(stmt), set()))
            elif isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
                defs.append(({stmt.name}, ast.unparse(stmt), _names_used([ast.unparse(stmt)])))
    needed = _names_used(answers) - set(exclude)
    keep: set[int] = set()
    while True:
        new = {i for i, (bound, _, _) in enumerate(defs) if i not in keep and bound & needed}
        if not new:
            break
        keep |= new
        for i in new:
            needed |= defs[i][2]
    return [defs[i][1] for i in sorted(keep)]


def _answer_preamble(answer: str, preamble: list[str]) -> list[str]:
    """The imports and page definitions one answer uses (see :func:`_preamble`); a name the answer binds
    itself (its own function of a page function's name, say) is the answer's, not a use of the page's."""
    tree = _parse(answer)
    if tree is None:
        return []
    return _preamble(preamble, [answer], frozenset(_names_bound_by(tree)))


def page_functions_calling(answer: str, preamble: list[str], not_allowed) -> dict[str, list[str]]:
    """``{page function: the named functions it calls, as written}`` for the page's functions and classes
    that ``answer`` uses (directly or through each other; see :func:`_preamble`) and that call one of the
    functions ``not_allowed`` names (:func:`named_calls`)."""
    imports = "\n".join(code for code in preamble if code.startswith(("import ", "from ")))
    out = {}
    for code in _answer_preamble(answer, preamble):
        if code.startswith(("import ", "from ")):
            continue
        if called := named_calls(code, imports, not_allowed):
            out[ast.parse(code).body[0].name] = called
    return out


def _stored(sources: list[str]) -> set[str]:
    return set().union(*map(_stored_in, sources))


@functools.lru_cache(maxsize=4096)
def _stored_in(code: str) -> frozenset[str]:
    """The names ``code`` binds, by assignment, definition, import or as an argument (read once per text)."""
    out = set()
    tree = _parse(code)
    if tree is not None:
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                out.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(n.name)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                out |= {(a.asname or a.name).split(".")[0] for a in n.names}
            elif isinstance(n, ast.arg):
                out.add(n.arg)
    return frozenset(out)


def _needs_page_state(preamble: list[str], answers: list[str], page: list[str]) -> bool:
    """Whether the answers, or the page functions they call, use a name that only a computation of the
    page binds (not an import or def): a page function may read a value its cell computes."""
    import builtins

    missing = _names_used(answers + preamble) - _stored(answers) - _stored(preamble) - set(dir(builtins))
    return bool(missing & _stored(page))


def _effects(stmt: ast.stmt, imported: set[str]) -> tuple[set[str], set[str]]:
    """``(names the top-level statement may change, names it reads)``. It changes what it binds, what it
    assigns into (``x[i] = ...``, ``x.a = ...``), and every name, not an imported module, whose methods
    it calls (``rng.normal()`` advances ``rng``). A def or class binds its name and reads its free names."""
    changed, read = set(), set()

    def root(node) -> str | None:          # x of x.a, x[i], x.a[i].b
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    def visit(node, local: bool):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not local:
            changed.update(_names_bound(ast.unparse(node)))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            name = getattr(node, "name", None)
            if name and not local:
                changed.add(name)
            inner = _names_bound_by(node) - {name}
            read.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id not in inner)
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                read.add(node.id)
            elif not local:
                changed.add(node.id)
        elif not local and isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load):
            changed.add(root(node.value))
        elif not local and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if root(node.func) not in imported:
                changed.add(root(node.func))
        comprehension = isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp))
        for child in ast.iter_child_nodes(node):
            visit(child, local or comprehension)

    visit(stmt, False)
    # a loop's variable, a with's name: bound by the statement before its body reads them
    targets = [n.target for n in ast.walk(stmt) if isinstance(n, (ast.For, ast.AsyncFor))]
    targets += [w.optional_vars for n in ast.walk(stmt) if isinstance(n, (ast.With, ast.AsyncWith))
                for w in n.items if w.optional_vars is not None]
    own = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return changed - {None}, read - own


def page_slice(page: list[str], answers: list[str]) -> list[str]:
    """The top-level statements of the page's cells ``page`` (those before the answer, in order) that
    the answers need: every statement that may change a name the answers read and do not bind, then,
    in turn, those that may change a name such a statement reads (see :func:`_effects`). A cell that
    does not parse (a magic, a top-level ``await``) is left out, as the replay of the page fails it.

    A replay of the slice leaves the answers' names as the whole page leaves them unless the page
    changes a value in a way the reading of the source does not see (a function that fills a list it is
    given, say); the grader therefore falls back on the whole page when an answer fails on the slice."""
    import builtins

    statements, imported = [], set()
    for code in page:
        tree = _parse(code)
        for stmt in [] if tree is None else tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                imported |= _names_bound(ast.unparse(stmt))
            statements.append(stmt)
    effects = [_effects(s, imported) for s in statements]
    needed = _names_used(answers) - _stored(answers) - set(dir(builtins))
    keep: set[int] = set()
    while True:
        new = {i for i, (changed, _) in enumerate(effects) if i not in keep and changed & needed}
        if not new:
            return [ast.unparse(statements[i]) for i in sorted(keep)]
        keep |= new
        for i in new:
            needed |= effects[i][1]


def replays(cells: list[dict], answers: dict[str, int], k: int, preamble: list[str], page: list[str]):
    """The runs that can grade the answer in cell ``k``, in the order to try them, each a list of
    ``(code, must_run)`` cells for :func:`grade_exercise`: the page's imports and definitions, then the
    answer cells up to ``k``; or, when the answers use a value the page computes, the page's statements
    they need (:func:`page_slice`) and, should the answer fail on those, the page's cells themselves."""
    order = [i for i in sorted(answers.values()) if i <= k]
    mine = [(_src(cells[i]), i == k) for i in order]
    if not _needs_page_state(preamble, [code for code, _ in mine], page):
        return [[("\n".join(preamble), False), *mine]]
    before = [_src(c) for i, c in enumerate(cells) if i < k and c["cell_type"] == "code" and not _nb_meta(c)]
    whole = [(_src(cells[i]), i == k) for i, c in enumerate(cells) if i <= k and c["cell_type"] == "code"
             and (i in order or not _nb_meta(c))]
    return [[(code, False) for code in page_slice(before, [code for code, _ in mine])] + mine, whole]


def _nb_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _output(text: str, failed: bool) -> list[dict]:
    if failed:
        return [{"output_type": "error", "ename": "AnswerNotAccepted", "evalue": text.splitlines()[-1],
                 "traceback": text.splitlines()}]
    return [{"output_type": "stream", "name": "stdout", "text": text + "\n"}]


def _shown(names: list[str]) -> str:
    return ", ".join(f"`{n.removeprefix('pedagogy_lib.')}`" for n in names)


def _answer_only(code: str, names, preamble=()) -> str:
    """The statements of ``code`` that produce the variables ``names`` (all of it without names); the
    ``preamble``'s imports say which names are modules."""
    if not names:
        return code
    from pedagogy_lib.exercises.checker import answer_code

    return answer_code(code, names, earlier=preamble)


#: Where the rules for graded answers are written, as a sentence's end.
_RULES = "see the rules for graded answers"

#: How a verdict begins when a limit or the sandbox ended the run (a second run would end the same way).
_STOPPED = "Grading stopped: "


def source_refusal(answer: str, preamble: list[str], not_allowed=(), names=()) -> str | None:
    """Why ``answer`` is not accepted before it runs (see the module docstring), or ``None``.

    ``preamble`` holds the page's imports and definitions (:func:`_preamble`); ``not_allowed`` the
    exercise's named functions (library paths, or bare names of the page's functions); ``names`` the
    variables the exercise's checker reads. With ``names``, the named functions are looked for only in
    the statements that produce those variables (``pedagogy_lib.exercises.checker.answer_code``, which
    the notebook's checker uses too): a line of the cell that only looks at something else is not the
    answer. The other rules read the whole cell, which the grader runs.
    """
    imports = "\n".join(preamble)
    whole, answer = answer, _answer_only(answer, names, preamble)
    if called := named_calls(answer, imports, not_allowed):
        shown = []
        for written in called:                # a name that does not say what it is gets the function's path
            entry = next((n for n in not_allowed if written in named_calls(answer, imports, [n])), written)
            last = entry.rpartition(".")[2]
            shown.append(f"`{written}`" + ("" if re.search(rf"\b{re.escape(last)}\b", written) else f" ({_shown([entry])})"))
        return f"Not accepted: the answer calls {', '.join(shown)}, which this exercise asks you to write yourself."
    if through := page_functions_calling(answer, preamble, not_allowed):
        return ("Not accepted: the answer uses "
                + " and ".join(f"the page's function `{fn}`, which calls {_shown(called)}" for fn, called in through.items())
                + "; this exercise asks you to write that yourself.")
    answer = whole
    if peers := peer_library_imports(answer):
        kinds = ("a compiler" if set(peers) <= set(COMPILERS) else
                 "a library that runs the book's algorithms for you")
        return (f"Not accepted: the answer imports {_shown(peers)}, {kinds}; graded answers compute with NumPy, "
                f"SciPy, the standard library and this library ({_RULES}).")
    if peers := peer_library_imports("\n".join(_answer_preamble(answer, preamble))):
        # a name the page imports from a peer library (or a page function that calls one), used bare
        return (f"Not accepted: the answer uses {_shown(peers)} through the page's imports or functions, and it "
                f"runs the book's algorithms for you; graded answers compute with NumPy, SciPy, the standard "
                f"library and this library ({_RULES}).")
    if kernels := kernel_module_names(answer, imports):
        return (f"Not accepted: the answer calls the library's compiled kernels ({_shown(kernels)}). They are the "
                "fast twins of its public functions, not a way round them; write the computation the exercise "
                "asks for.")
    if private := private_library_names(answer, imports):
        return (f"Not accepted: the answer calls the library's private functions ({_shown(private)}). They are "
                "the library's internals, not its interface; write the computation the exercise asks for.")
    return None


def _tamper_flags(cells: list[dict], answers: dict[str, int], checker_of: dict[str, str], imports: str,
                  source_cells: set[str] | None) -> dict[str, list[str]]:
    """``{label: what reaches for the grading machinery, with its cell}``: an answer cell's findings concern
    its own exercise; those of a cell the student added or edited concern the exercises whose checker
    functions it names, else the next exercise after it (the last, after every answer cell)."""
    flags: dict[str, list[str]] = {}
    by_index = sorted((k, label) for label, k in answers.items())
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        meta, code = _nb_meta(cell), _src(cell)
        if meta.get("solution"):
            label = next((lab for lab, k in answers.items() if k == i), None)
            found, concerned = tampering(code, imports=imports), [label] if label else []
        elif not meta and source_cells is not None and code not in source_cells:
            found = tampering(code, imports=imports, in_answer=False)
            tree = _parse(code)
            used = set() if tree is None else {getattr(n, "id", None) or getattr(n, "attr", None)
                                               for n in ast.walk(tree) if isinstance(n, (ast.Name, ast.Attribute))}
            concerned = [lab for lab, fn in checker_of.items() if fn in used and lab in answers]
            if not concerned and by_index:
                concerned = [next((lab for k, lab in by_index if k > i), by_index[-1][1])]
        else:
            continue
        for label in concerned:
            flags.setdefault(label, []).extend(f"{what} (cell {i})" for what in found)
    return {label: found for label, found in flags.items() if found}


def grade_notebook(nb: dict, student: str | None, submitted: dict | None = None, source: dict | None = None, *,
                   python: str = sys.executable, labels=None, unisolated: bool = False,
                   limits: Limits | None = None) -> dict:
    """Grade every summative test cell of an executed notebook in place; return ``{label: (passed, flags)}``.

    ``submitted`` is the notebook as the student handed it in (to flag deleted or edited test cells),
    ``source`` the assignment's source notebook (to tell the page's own cells from the student's);
    ``labels``, when given, limits the grading to those exercises (to regrade one, say). An exercise
    with flags (the reasons, as written after ``FLAGGED:`` in its test cell) needs the instructor's
    review. ``unisolated`` and ``limits`` are :func:`grade_exercise`'s. Raises :class:`SandboxUnavailable`,
    before grading anything, when the sandbox cannot be made and ``unisolated`` is not given.
    """
    from nbformat import from_dict

    if not unisolated and (problem := sandbox_problem(python)) is not None:
        raise SandboxUnavailable(problem)
    source_cells = {_src(c) for c in (source or {}).get("cells", []) if not _nb_meta(c)} if source else None

    cells = nb["cells"]
    answers = {_nb_meta(c).get("grade_id"): i for i, c in enumerate(cells) if _nb_meta(c).get("solution")
               and c["cell_type"] == "code"}
    page = [_src(c) for c in cells if c["cell_type"] == "code" and not _nb_meta(c)]
    preamble = _preamble(page, [_src(cells[i]) for i in answers.values()])
    calls = [(cell, call) for cell in cells if _nb_meta(cell).get("grade") and not _nb_meta(cell).get("solution")
             and (call := parse_hidden_call(_src(cell))) is not None]
    checkers = {call["checker"] for _, call in calls}
    page_imports = "\n".join(line for code in page for line in import_statements(code))
    tampered = _tamper_flags(cells, {gid.removesuffix("-answer"): i for gid, i in answers.items() if gid},
                             {call["label"]: call["checker"] for _, call in calls}, page_imports, source_cells)
    sub_tests = {}
    if submitted is not None:
        sub_tests = {_nb_meta(c).get("grade_id"): _src(c) for c in submitted.get("cells", []) if _nb_meta(c).get("grade")}
    results = {}
    with fork_servers(python, limits) as servers:
        for cell, call in calls:
            meta = _nb_meta(cell)
            label = call["label"]
            if labels is not None and label not in labels:
                continue
            flags = []
            gid = meta.get("grade_id")
            if submitted is not None:
                if gid not in sub_tests:
                    flags.append("the test cell was deleted from the submission and has been restored")
                elif sub_tests[gid].strip() != _src(cell).split("### BEGIN HIDDEN TESTS")[0].strip() \
                        and sub_tests[gid].strip() != _src(cell).strip():
                    flags.append("the test cell was edited in the submission and has been restored")
            k = answers.get(f"{label}-answer")
            if k is None:
                passed, text = False, "The answer cell of this exercise is missing from the submission."
            elif label in tampered:
                passed, text = False, ("Not graded: code for this exercise reaches for the grading machinery ("
                                       + "; ".join(tampered[label]) + "). Scored zero until the instructor reviews it.")
                flags.append("tampering with the grading machinery")
            elif (refusal := source_refusal(_src(cells[k]), preamble, call.get("not_allowed", ()),
                                                  call.get("names", ()))) is not None:
                passed, text = False, refusal
            else:
                try:
                    for run in replays(cells, answers, k, preamble, page):
                        passed, text = grade_exercise(label, call["module"], call["checker"], call["names"], run,
                                                      student, python=python, checkers=checkers,
                                                      unisolated=unisolated, limits=limits, servers=servers)
                        if passed or _STOPPED in text:
                            break
                except SandboxUnavailable:
                    raise
                except Exception as exc:  # noqa: BLE001 - a grader failure scores zero and says so, for review
                    passed, text = False, f"The grader failed ({type(exc).__name__}: {exc})."
                    flags.append("the grader failed on this exercise")
            text = f"Exercise {label}:\n{text}"
            if flags:
                text += "\n" + "\n".join(f"{FLAG} {f}." for f in flags)
            cell["outputs"] = [from_dict(o) for o in _output(text, not passed)]
            results[label] = (passed, flags)
    return results


_Base = object
_UNISOLATED = False
if "--child" not in sys.argv:            # the student process needs no nbgrader
    try:
        from nbgrader.preprocessors import NbGraderPreprocessor as _Base
        from traitlets import Bool

        _UNISOLATED = Bool(False, help="Run students' code without the bubblewrap sandbox (the resource limits "
                           "stay): only where bwrap cannot run, on an account and machine you accept to expose "
                           "to the students' code.").tag(config=True)
    except ImportError:
        pass


class SummativeGrader(_Base):
    """nbgrader preprocessor, the first autograding step: grade each summative test cell in the sandbox.

    The course's configuration runs no kernel (nbgrader's ``Execute`` is not among its autograding
    steps): the student's code runs only here, in the sandbox, and every test cell's output is the
    verdict written here. A test cell the grader cannot grade (one that names no exercise) is given a
    failing, flagged verdict, since nbgrader scores a test cell without an error output as passed.
    nbgrader makes it before any notebook is graded; it imports every checker module then, so that
    code run afterwards cannot change the checkers the grader uses by rewriting their files.
    ``--SummativeGrader.unisolated=True`` grades without the sandbox (see the module docstring).
    """

    unisolated = _UNISOLATED

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        import importlib
        import pkgutil

        import pedagogy_lib.exercises as package
        for info in pkgutil.iter_modules(package.__path__):
            remember_source(importlib.import_module(f"{package.__name__}.{info.name}"))

    def preprocess(self, nb, resources):
        import nbformat

        info = resources.get("nbgrader", {})
        student = info.get("student", "")
        submitted = None
        root = Path(getattr(getattr(self, "parent", None), "coursedir", None).root
                    if getattr(getattr(self, "parent", None), "coursedir", None) else os.getcwd())
        path = root / "submitted" / student / info.get("assignment", "") / f"{info.get('notebook', '')}.ipynb"
        if path.exists():
            submitted = json.loads(path.read_text(encoding="utf-8"))
        source_path = root / "source" / info.get("assignment", "") / f"{info.get('notebook', '')}.ipynb"
        source = json.loads(source_path.read_text(encoding="utf-8")) if source_path.exists() else None
        graded = grade_notebook(nb, student, submitted, source, unisolated=bool(self.unisolated))
        for cell in nb["cells"]:
            meta = _nb_meta(cell)
            if cell["cell_type"] != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            call = parse_hidden_call(_src(cell))
            if call is None or call["label"] not in graded:
                text = (f"Test cell {meta.get('grade_id')}: not graded. It names no exercise for the grader, and "
                        f"autograding runs no notebook.\n{FLAG} the test cell was not graded; grade it by hand.")
                cell["outputs"] = [nbformat.from_dict(o) for o in _output(text, True)]
        return nb, resources


def flag_reasons(cell) -> list[str]:
    """What a test cell's verdict says needs the instructor's review: the text after each ``FLAGGED:``."""
    text = "\n".join(_src({"source": o.get("text", "")}) + "\n".join(o.get("traceback", []))
                     for o in cell.get("outputs", []))
    return [line.split(FLAG, 1)[1].strip() for line in text.splitlines() if FLAG in line]


_OverwriteCells = object
if _Base is not object:
    from nbgrader.preprocessors import OverwriteCells as _OverwriteCells


class OverwriteReleasedCells(_OverwriteCells):
    """nbgrader's ``OverwriteCells`` (it restores locked cells from the source), quiet about untouched tests.

    nbgrader records a test cell's checksum with its hidden tests but releases the cell without them,
    so ``OverwriteCells`` logs "Attribute 'checksum' ... has changed!" for every test cell of every
    submission before putting the hidden part back (jupyter/nbgrader#1961). This puts the source's text
    back first when the submitted cell is exactly as released; an edited cell is still logged and restored.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        from nbgrader.api import MissingEntry
        from nbgrader.preprocessors import ClearHiddenTests
        from nbformat import NotebookNode

        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None:
            try:
                source = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                source = None
            if source is not None and source.locked and cell.source != source.source:
                released = NotebookNode(source=source.source)
                try:                     # the release's text, made as generate_assignment makes it
                    ClearHiddenTests(config=self.config)._remove_hidden_test_region(released)
                except RuntimeError:
                    released.source = None
                if cell.source == released.source:
                    cell.source = source.source
        return super().preprocess_cell(cell, resources, cell_index)

    def missing_cell_transform(self, source_cell, max_score, is_solution=False, is_task=False):
        """nbgrader's restored cell, with the cell id that notebooks now need (nbformat warns without one)."""
        cell = super().missing_cell_transform(source_cell, max_score, is_solution=is_solution, is_task=is_task)
        cell["id"] = "restored-" + hashlib.sha1(source_cell.name.encode()).hexdigest()[:12]
        return cell


class MarkFlaggedForReview(_Base):
    """nbgrader preprocessor (after ``SaveAutoGrades``): a flagged exercise needs a manual grade.

    A test cell whose verdict has ``FLAGGED:`` lines (tampering, a test cell edited or deleted, a
    grader failure) gets ``needs_manual_grade`` in the gradebook, so formgrader lists it with the work
    to grade by hand; its score stays the grader's (zero for tampering) until the instructor enters one.
    """

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        flagged = {_nb_meta(c)["grade_id"]: reasons for c in nb["cells"]
                   if c["cell_type"] == "code" and _nb_meta(c).get("grade") and (reasons := flag_reasons(c))}
        if flagged:
            with Gradebook(info["db_url"]) as gb:
                for grade_id, reasons in flagged.items():
                    grade = gb.find_grade(grade_id, info["notebook"], info["assignment"], info["student"])
                    grade.needs_manual_grade = True
                    self.log.warning("%s of %s needs a manual grade: %s", grade_id, info["student"],
                                     "; ".join(reasons))
                gb.db.commit()
        return nb, resources


# --- the per-exercise export ----------------------------------------------------------------------------


def export_by_exercise(course: Path, out: Path) -> int:
    """Write ``out`` (CSV): one row per student, assignment and exercise, with score, maximum and flags.

    Scores come from nbgrader's gradebook (manual grades included once entered); flags from the
    autograded notebooks' test cells. Returns the number of rows.
    """
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for assignment in gb.assignments:
            for nb in assignment.notebooks:
                for student in gb.students:
                    try:
                        sub = gb.find_submission_notebook(nb.name, assignment.name, student.id)
                    except Exception:  # noqa: BLE001 - no submission
                        continue
                    graded = course / "autograded" / student.id / assignment.name / f"{nb.name}.ipynb"
                    outputs = {}
                    if graded.exists():
                        for c in json.loads(graded.read_text(encoding="utf-8"))["cells"]:
                            gid = _nb_meta(c).get("grade_id")
                            text = "\n".join(_src({"source": o.get("text", "")}) + "\n".join(o.get("traceback", []))
                                              for o in c.get("outputs", []))
                            outputs[gid] = [ln.split(FLAG, 1)[1].strip() for ln in text.splitlines() if FLAG in ln]
                    for g in sorted(sub.grades, key=lambda g: g.name):
                        label, _, part = g.name.rpartition("-")
                        rows.append({"student": student.id, "assignment": assignment.name, "notebook": nb.name,
                                     "exercise": label, "part": {"test": "autograded", "written": "written"}.get(part, part),
                                     "score": "" if g.score is None and g.needs_manual_grade else g.score,
                                     "max_score": g.max_score, "needs_manual_grade": g.needs_manual_grade,
                                     "flags": "; ".join(outputs.get(g.name, []))})
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["student", "assignment", "notebook", "exercise", "part", "score", "max_score",
                               "needs_manual_grade", "flags"])
        w.writeheader()
        w.writerows(rows)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child_main()
    if argv[:1] == ["export"]:
        out = Path(argv[1]) if len(argv) > 1 else Path("grades_by_exercise.csv")
        n = export_by_exercise(Path.cwd(), out)
        print(f"wrote {out} ({n} rows: one per student, assignment and graded part)")
        return 0
    print("usage: python grading/msl_grading.py export [FILE.csv]   (run in the course folder)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
