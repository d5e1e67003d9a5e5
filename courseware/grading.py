"""Summative grading of the nbgrader course: each exercise graded outside the student's kernel.

The formative checkers (``pedagogy_lib.exercises``) run in the reader's own kernel, where a reader
who wants to can patch them or read their locals. Graded work is therefore judged elsewhere. During
``nbgrader autograde`` the preprocessor :class:`SummativeGrader` (registered by the course's
``nbgrader_config.py``, which the release does not contain) runs after the notebook has executed
and, for every test cell whose hidden part names an exercise, replaces that cell's output with a
verdict computed by two fresh processes, neither of them the student's kernel:

* the **grader** (the nbgrader process itself, trusted): it imports the real checker module,
  sets its problem data to data of the student's own (seeded from the student id and the
  exercise label, when the checker module gives the exercise a ``SUMMATIVE`` variant), and calls
  the checker, so the reference is computed at grading time and only here;
* the **student process** (``python -I`` running this file with ``--child``): it runs the
  notebook's import lines and the student's answer cells up to this exercise on a *copy of the
  problem data only* (no checker code, no reference; ``pedagogy_lib.exercises`` cannot be
  imported), with the library functions the exercise forbids replaced by stubs that raise
  "not allowed in this exercise: ...". It sends back the answers as plain JSON (numbers,
  strings, arrays); a function answer stays in the student process and the grader calls it
  through the pipe, on inputs the student never saw.

Nothing the kernel does can change a verdict: the kernel's own output of the test cell is thrown
away. Answer cells that touch the grading machinery (the checker's classes, frames, ``sys.modules``,
import hooks, ...) are flagged and the notebook's autograded tests score zero for review; test
cells deleted or edited in the submission are restored by nbgrader (``add_missing_cells``) and
flagged here. The flags are written into the test cells' output, where the feedback and
:func:`export_by_exercise` find them.

This file needs only the standard library at import time (NumPy is imported where the grader
or the student process needs it), so the course folder carries a copy of it (``grading/``).
"""
from __future__ import annotations

import ast
import csv
import hashlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
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


# --- what the student's code may not touch ----------------------------------------------------------

_TAMPER_ATTRS = {"raise_if_wrong", "f_locals", "f_back", "f_globals", "_getframe", "set_custom_exc", "settrace",
                 "setprofile", "get_referrers", "get_objects", "meta_path", "path_hooks", "modules", "__code__",
                 "__globals__", "problems",
                 # an object's namespace and its family: `vars(m)` or `m.__dict__` walks from an allowed module
                 # to one it imported (scipy.linalg's submodules hold `scipy` itself), past the name checks
                 "__dict__", "__class__", "__bases__", "__base__", "__mro__", "__subclasses__", "__loader__",
                 "__spec__", "__self__", "__func__", "__closure__", "__wrapped__", "__getattribute__",
                 "attrgetter", "methodcaller"}
_TAMPER_NAMES = {"CheckResult", "AnswerNotAccepted", "builtins", "__builtins__", "importlib", "inspect", "gc",
                 "ctypes", "subprocess", "sitecustomize", "__import__", "settrace", "_getframe",
                 # namespaces as dictionaries, and code made from strings, which the name checks cannot read
                 "vars", "globals", "locals", "eval", "exec", "compile",
                 # objects rebuilt from bytes or looked up by a dotted string
                 "pickle", "marshal", "copyreg", "runpy", "pkgutil", "zipimport", "attrgetter", "methodcaller"}
#: Names of modules in ``_TAMPER_NAMES``: an answer may use them as names of its own (``gc`` for the centred
#: gradients, say); only importing the module is tampering, and that is recognized at the import.
_TAMPER_MODULES = {"builtins", "importlib", "inspect", "gc", "ctypes", "subprocess", "sitecustomize", "pickle", "marshal",
                   "copyreg", "runpy", "pkgutil", "zipimport"}
#: Built-in functions in ``_TAMPER_NAMES``: an answer may bind these names itself (an argument ``compile``,
#: say); only the built-in is tampering.
_TAMPER_BUILTINS = {"vars", "globals", "locals", "eval", "exec", "compile"}


def _names_bound_by(tree: ast.AST) -> set[str]:
    """The names the code binds itself: assigned or deleted, defined (a def or a class), or arguments."""
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    own |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return own | {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}


def _unfollowed_root(node: ast.Attribute, own: set[str], alias: str) -> bool:
    """Whether the attribute chain ending at ``node`` starts where the name checks cannot follow it: at a
    value the code computes (a call, a subscript), at a name the code binds itself (but ``self`` and
    ``cls``), or at the checker's alias."""
    root = node.value
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return True
    return root.id == alias or (root.id in own and root.id not in {"self", "cls"})


def _literal_public_getattr(tree: ast.AST, func: ast.Name) -> bool:
    """Whether the call whose function is ``func`` is ``getattr(x, "name")`` with a literal public name."""
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.func is func)
    return len(call.args) >= 2 and isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str) \
        and not call.args[1].value.startswith("_")


def tampering(code: str, alias: str = "check") -> list[str]:
    """What in ``code`` reaches for the grading machinery, or round the checks that read an answer's names
    (a namespace as a dictionary, code made from a string); empty when nothing does."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    own = _names_bound_by(tree)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _TAMPER_ATTRS:
            if node.attr == "modules" and not (isinstance(node.value, ast.Name) and node.value.id == "sys"):
                continue
            found.append(f".{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__") \
                and node.attr not in _PUBLIC_UNDERSCORED and _unfollowed_root(node, own, alias):
            # a private attribute of something the name checks cannot follow (a module passed through a
            # list, say): the way from an allowed module to the internals of another. A private name on an
            # import's alias is the name checks' to refuse, with their own message.
            found.append(f".{node.attr}")
        elif isinstance(node, ast.Name) and node.id == "getattr" and "getattr" not in own and not (
                id(node) in called and _literal_public_getattr(tree, node)):
            # getattr by a computed or private name, or handed to another function (reduce(getattr, ...))
            found.append("getattr by a name the checks cannot read")
        elif isinstance(node, ast.Name) and node.id in _TAMPER_NAMES \
                and not (node.id in _TAMPER_MODULES | _TAMPER_BUILTINS and node.id in own):
            found.append(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            names = [a.name for a in node.names]
            if any(m.split(".")[0] in _TAMPER_NAMES for m in mods) or any(n in _TAMPER_NAMES for n in names):
                found.append("import " + ", ".join(mods))
            elif any(m.startswith("pedagogy_lib.exercises") for m in mods):
                found.append("an import of the checkers in an answer cell")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                base = t
                while isinstance(base, (ast.Attribute, ast.Subscript)):
                    base = base.value
                if t is not base and isinstance(base, ast.Name) and base.id in {alias, "pedagogy_lib", "np", "numpy", "sys"}:
                    found.append(f"an assignment to {ast.unparse(t)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"setattr", "delattr"}:
            if node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in {alias, "pedagogy_lib", "np"}:
                found.append(f"{node.func.id}({node.args[0].id}, ...)")
    return sorted(set(found))


#: Attributes with a leading underscore that are public API (NamedTuple methods), not library internals.
_PUBLIC_UNDERSCORED = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}


def _library_names_reached(code: str, imports: str, flagged, packages=("pedagogy_lib",)) -> list[str]:
    """The names in ``packages`` (this library by default) that ``code`` reaches for which ``flagged(name)``
    holds: imported (``from pedagogy_lib.x import name``, or ``import pedagogy_lib.x.name``) or looked up
    as an attribute of a module alias of theirs, which ``imports`` (the notebook's import code) or
    ``code`` binds. Each is given as written (``hm.exact._log_marginals_of``) or as the dotted import."""
    aliases = {name for name, path in _aliases(imports, code).items() if _within(path, packages)}
    found: list[str] = []
    try:
        tree = ast.parse(code)
    except SyntaxError:
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


def private_library_names(code: str, imports: str = "") -> list[str]:
    """The library's private names (a leading underscore) that ``code`` reaches, e.g. ``hm.exact._log_marginals_of``.

    A private function is an internal of the library, not part of what an exercise may use: graded code
    that calls one is not accepted (the exercise then asks for the computation, not a way round its
    "not allowed" list). ``imports`` is the notebook's import code, which binds the names ``code`` uses
    for the library's modules. NamedTuple methods such as ``_replace`` are public and allowed.
    """
    return _library_names_reached(code, imports, _private)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in _PUBLIC_UNDERSCORED


def private_numpy_scipy_names(code: str, imports: str = "") -> list[str]:
    """NumPy's and SciPy's private modules and functions (a leading underscore) that ``code`` reaches,
    e.g. ``scipy.linalg._flapack.dgesv`` or ``np.linalg._umath_linalg.inv``.

    The functions a "not allowed" list names are made unavailable under their public names; the same
    compiled routine under a private module's name would go round the list. Graded answers use the
    public names.
    """
    return _library_names_reached(code, imports, _private, packages=("numpy", "scipy"))


def kernel_module_names(code: str, imports: str = "") -> list[str]:
    """The library's numba kernel modules (``pedagogy_lib.<family>.kernels``, ``pedagogy_lib.core.kernels``)
    and public kernels elsewhere (a name ending in ``_numba``, as kernels were named before they moved to
    the kernels modules, e.g. ``lorenz.rhs_numba``) that ``code`` reaches, by an import or through a module
    alias bound in ``imports``.

    A family's kernels are the compiled twins of its public functions: calling one runs the filter,
    the smoother or the sampler step without passing through the public function, so it would go
    round a "not allowed" list that names that function. Graded answers do not use them.
    """
    return _library_names_reached(code, imports, lambda name: name == "kernels" or name.endswith("_numba"))


#: Where a graded answer may call only what its exercise allows (:data:`ALLOWED_SENTENCE`): the library,
#: SciPy, networkx and SymPy, whose solvers, integrators, differentiators, distributions and inference
#: routines can each stand in for the derivation an exercise asks for. NumPy, the standard library and
#: the parts in :data:`OPEN_PARTS` stay open to every answer.
RESTRICTED = ("pedagogy_lib", "scipy", "networkx", "sympy")
#: Parts of the restricted packages every answer may use: the problem data and checkers, the plotting
#: helpers, SciPy's special functions and linear algebra, except the raw LAPACK and BLAS wrappers
#: (:data:`RAW_WRAPPERS`).
OPEN_PARTS = ("pedagogy_lib.exercises", "pedagogy_lib.display", "scipy.special", "scipy.linalg")
#: SciPy's direct wrappers of LAPACK and BLAS routines. Each of the hundreds of routines there (``dgesdd``,
#: ``dpotri``, ``dtrsm``, ...) inverts, factors or solves in one call under a name no "not allowed" list
#: can keep up with, so they stay restricted like the rest of SciPy: ``scipy.linalg``'s documented
#: functions (``solve``, ``cholesky``, ``svd``, ...) do the same work under names a list can forbid.
RAW_WRAPPERS = ("scipy.linalg.lapack", "scipy.linalg.blas")
#: Open parts whose modules import names from restricted ones, so that a path written through them is
#: resolved to the object it names: ``scipy.linalg`` re-exports the raw wrappers' getters, and a plotting
#: module's imported helpers (``plotting.check_spd``, which returns a Cholesky factor computed by a compiled
#: kernel no stub replaces) are the library's, not the plotting helpers'.
RESOLVED_OPEN_PARTS = ("scipy.linalg", "pedagogy_lib.display")


def _within(path: str, prefixes) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def _open(path: str) -> bool:
    """Whether ``path`` is in a part of the restricted packages every answer may use."""
    return _within(path, OPEN_PARTS) and not _within(path, RAW_WRAPPERS)


def _aliases(*sources: str) -> dict[str, str]:
    """Names that import statements in ``sources`` bind, each mapped to the dotted name it stands for."""
    bound: dict[str, str] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
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


def _resolve(path: str) -> tuple[str, str]:
    """``(canonical name, path up to the object it names)``; see :func:`canonical_name`."""
    import importlib
    import types

    parts = path.split(".")
    obj, i = None, 1
    while i <= len(parts):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
            i += 1
        except ImportError:
            break
    if obj is None:
        return path, path
    for j in range(i - 1, len(parts)):
        nxt = getattr(obj, parts[j], None)
        if nxt is None:
            return ".".join(parts[: j + 1]), ".".join(parts[: j + 1])
        obj = nxt
        if not isinstance(obj, types.ModuleType):
            upto = ".".join(parts[: j + 1])
            module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
            if isinstance(obj, (types.FunctionType, type)) and module and qualname and "<" not in qualname:
                return f"{module}.{qualname}", upto
            return upto, upto
    return getattr(obj, "__name__", path), path


def canonical_name(path: str) -> str:
    """The object ``path`` names, as one name whatever route reaches it: the defining module and qualified
    name of a function or class (``pedagogy_lib.hmm.hmm_filter`` and ``pedagogy_lib.hmm.inference.hmm_filter``
    are one function), else the path up to the first object that is not a module
    (``scipy.stats.norm.logpdf`` is ``scipy.stats.norm``). Only the restricted packages' own modules are
    imported to find it."""
    return _resolve(path)[0]


def restricted_uses(code: str, imports: str = "") -> dict[str, str]:
    """What ``code`` uses from the restricted packages (:data:`RESTRICTED`): ``{canonical name: the name as
    written, its alias resolved}`` (see :func:`canonical_name`), for a name an import (in ``imports``, the
    notebook's import code, or in ``code``) binds to one, or an attribute looked up on it. ``getattr`` on
    such a name, and a star import of one, are given as written, since what they reach cannot be read."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return {}
    # a name the code binds itself (an assignment, a def, an argument) is the student's, not an alias: what
    # it could hold of a restricted package got there through a use of an alias, which is reported
    own = _names_bound_by(tree)
    bound = {name: path for name, path in _aliases(imports, code).items() if name not in own
             and (_within(path, RESTRICTED) or any(p.startswith(path + ".") for p in RESTRICTED))}
    found: dict[str, str] = {}
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names) \
                and _within(node.module or "", RESTRICTED):
            found[f"from {node.module} import *"] = f"from {node.module} import *"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in bound:
            text = f"getattr({node.args[0].id}, ...)"
            found[text] = text
        elif isinstance(node, (ast.Attribute, ast.Name)) and id(node) not in inner:
            chain, root = [], node
            while isinstance(root, ast.Attribute):
                chain.append(root.attr)
                root = root.value
            if isinstance(root, ast.Name) and root.id in bound and isinstance(root.ctx, ast.Load):
                path = ".".join([bound[root.id], *reversed(chain)])
                # a path in an open part is resolved only under RESOLVED_OPEN_PARTS, whose modules import
                # restricted names (scipy.linalg.get_lapack_funcs is scipy.linalg.lapack's; a plotting
                # module's check_spd is pedagogy_lib.core's); through the plotting helpers only what is
                # restricted counts (plotting.np is NumPy, open to every answer)
                if _within(path, RESTRICTED) and (not _open(path) or _within(path, RESOLVED_OPEN_PARTS)):
                    name, upto = _resolve(path)
                    if not _open(name) and (_within(name, RESTRICTED)
                                            or not _within(path, ("pedagogy_lib.display",))):
                        found.setdefault(name, upto)
    return found


def restricted_names(code: str, imports: str = "") -> list[str]:
    """The canonical names of :func:`restricted_uses`, sorted."""
    return sorted(restricted_uses(code, imports))


#: NumPy's and SciPy's numerical shortcuts, which no graded answer may call unless its exercise's ``SUMMATIVE``
#: entry lists the name under ``"shortcuts"``: numerical derivatives (``np.gradient``, and ``scipy.linalg.funm``,
#: whose value at a triangular matrix holds the function's divided differences: a complex-step derivative from
#: [[ih, 1], [0, -ih]], a parabola's coefficients from a 3 x 3 one), quadrature rules (the
#: trapezoid rule and the Gauss nodes of NumPy's and ``scipy.special``'s orthogonal families) and polynomial
#: fits with the Vandermonde matrices they are built on (and the standard library's line fit). Each gives, to
#: a checker's tolerance, a derivative, an expectation or a stationary point that an exercise asks the student
#: to work out; reader passes kept finding them one exercise at a time, so they are ruled out everywhere at
#: once. The rest of SciPy's differentiators, integrators and fitters are restricted already (:data:`RESTRICTED`).
SHORTCUTS = ("numpy.gradient", "scipy.linalg.funm", "numpy.trapezoid", "numpy.polyfit", "numpy.vander", "statistics.linear_regression",
             *(f"numpy.polynomial.{module}.{prefix}{what}"
               for module, prefix in (("polynomial", "poly"), ("legendre", "leg"), ("chebyshev", "cheb"),
                                      ("hermite", "herm"), ("hermite_e", "herme"), ("laguerre", "lag"))
               for what in ("fit", "vander") + (("gauss",) if prefix != "poly" else ())),
             *(f"numpy.polynomial.{module}.{cls}.fit"
               for module, cls in (("polynomial", "Polynomial"), ("legendre", "Legendre"), ("chebyshev", "Chebyshev"),
                                   ("hermite", "Hermite"), ("hermite_e", "HermiteE"), ("laguerre", "Laguerre"))),
             "numpy.polynomial.chebyshev.chebinterpolate",
             *(f"scipy.special.roots_{family}" for family in (
                 "hermite", "hermitenorm", "legendre", "sh_legendre", "laguerre", "genlaguerre", "chebyt", "chebyu",
                 "chebyc", "chebys", "sh_chebyt", "sh_chebyu", "jacobi", "sh_jacobi", "gegenbauer")))
#: How a statement names them (:func:`allowed_sentence`).
SHORTCUTS_SHOWN = ("NumPy's and SciPy's numerical shortcuts are ruled out: the derivatives `np.gradient` and "
                   "`scipy.linalg.funm` (whose value at a triangular matrix holds divided differences), the "
                   "quadrature rules "
                   "(`np.trapezoid`, the Gauss nodes `np.polynomial.*.*gauss` and `scipy.special.roots_*`) "
                   "and the polynomial fits (`np.polyfit`, "
                   "`np.vander`, the fits and Vandermonde matrices of `np.polynomial`, and the standard "
                   "library's `statistics.linear_regression`)")


def shortcuts_for(spec: dict) -> list[str]:
    """The names of :data:`SHORTCUTS` that an exercise's ``SUMMATIVE`` entry ``spec`` does not allow."""
    allowed = set(spec.get("shortcuts", ()))
    return [name for name in SHORTCUTS if name not in allowed]


#: How an exercise's statement says what its graded code may call (:func:`allowed_sentence`).
ALLOWED_SENTENCE = ("Graded code may use NumPy, `scipy.special`, `scipy.linalg` (not its raw `lapack` and `blas` "
                    "wrappers) and Python's standard library; "
                    "from this library, the rest of SciPy, networkx and SymPy it may call ")


def shown_name(written: str) -> str:
    """A restricted name as a statement shows it: as written, without the ``pedagogy_lib.`` prefix."""
    return written.removeprefix("pedagogy_lib.")


def _listed(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def allowed_sentence(shown: list[str], shortcuts: list[str] = ()) -> str:
    """The sentence of an exercise's statement that lists what its graded code may call (``shown`` as
    :func:`shown_name` gives them), or says that it may call nothing there, and that NumPy's numerical
    shortcuts (:data:`SHORTCUTS`) are ruled out, but for those named in ``shortcuts`` (as written in
    ``SUMMATIVE``), which the exercise allows."""
    where = ALLOWED_SENTENCE + ("nothing." if not shown else "only " + _listed([f"`{n}`" for n in sorted(shown)]) + ".")
    rule = " " + SHORTCUTS_SHOWN
    if shortcuts:
        rule += "; this exercise allows " + _listed([f"`{n.replace('numpy.', 'np.', 1)}`" for n in shortcuts])
    return where + rule + "."


def outside_allowed(code: str, imports: str, allowed) -> list[str]:
    """What ``code`` uses from the restricted packages that ``allowed`` (canonical names) does not hold,
    each as written (its alias resolved)."""
    allowed = set(allowed)
    return sorted(written for name, written in restricted_uses(code, imports).items() if name not in allowed)


#: Compilers: numba compiles its own versions of NumPy's functions (``np.linalg.lstsq``, ``np.vander``,
#: ``np.convolve``...), which the grader's stubs of the forbidden functions do not replace, so an answer that
#: compiles code could call what its exercise rules out.
COMPILERS = ("numba", "llvmlite")

#: Libraries that compute the book's quantities themselves (the companion's cross-checks and benchmark peers),
#: mpmath, installed with the tests, whose arbitrary-precision numerical derivatives and quadrature stand in
#: for the derivations the exercises ask for, pandas, installed with Jupyter, whose methods call the parts of
#: SciPy the exercises leave out (``Series.interpolate`` runs ``scipy.interpolate``), and the
#: :data:`COMPILERS`: an answer that imports one hands the computation to it, as a call to a forbidden
#: function would.
PEER_LIBRARIES = ("filterpy", "pykalman", "hmmlearn", "pgmpy", "sklearn", "statsmodels", "dynamax", "jax", "blackjax",
                  "emcee", "mpmath", "pandas") + COMPILERS


def peer_library_imports(code: str) -> list[str]:
    """The peer libraries (:data:`PEER_LIBRARIES`) that ``code`` imports, by an import statement or by
    ``importlib.import_module`` / ``__import__`` with a literal name; an answer that imports one is not
    accepted."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
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


# --- the student process ------------------------------------------------------------------------------


def _child_main() -> int:
    """Run as ``python -I grading.py --child``: the student process (see the module docstring)."""
    import builtins
    import io
    import types

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout = io.StringIO()
    job = json.loads(sys.stdin.readline())
    sys.path.insert(0, job["root"])
    import numpy  # noqa: F401  (the wire format needs it)

    def send(obj):
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    def _helper(name):
        def call(*args):
            # a function of the problem statement (not a checker): the grader runs it and sends the value
            send({"helper": name, "args": encode(list(args))})
            reply = json.loads(sys.stdin.readline())
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

    # the functions this exercise forbids: stubbed wherever the library binds them
    forbidden = [dotted for dotted in job["forbidden"] if "." in dotted]

    def owner_of(dotted):
        """(the loaded module or class that holds the name, the name), or None while none is loaded."""
        parts = dotted.split(".")
        for i in range(len(parts) - 1, 0, -1):
            owner = sys.modules.get(".".join(parts[:i]))
            if owner is None:
                continue
            for attr in parts[i:-1]:         # a method: module.Class.method
                owner = getattr(owner, attr, None)
            return (owner, parts[-1]) if owner is not None and hasattr(owner, parts[-1]) else None
        return None

    originals: dict = {}

    def stub_for(dotted):
        message = f"not allowed in this exercise: {dotted} (the exercise asks you to write it yourself)"

        def stub(*args, **kwargs):
            raise RuntimeError(message)
        stub.__name__ = dotted.rpartition(".")[2]
        stub.message = message
        return stub

    def disable(func, dotted) -> bool:
        """Make the function object itself raise, so that every name bound to it does: re-exports,
        lazily loaded attributes, ``from ... import`` and the library's own calls."""
        if not isinstance(func, types.FunctionType) or func.__closure__:
            return False
        scope: dict = {}
        exec(f"def stub(*args, **kwargs):\n    raise RuntimeError({stub_for(dotted).message!r})\n", scope)
        func.__code__ = scope["stub"].__code__
        return True

    def apply_stubs():
        for dotted in forbidden:
            found = None if dotted in originals else owner_of(dotted)
            if found is None:
                continue
            owner, attr = found
            orig = getattr(owner, attr)
            stub = stub_for(dotted)
            originals[dotted] = (orig, stub)
            if not disable(orig, dotted):      # a builtin or a compiled dispatcher: rebind the name
                setattr(owner, attr, stub)
            # a decorated function (functools.wraps, SciPy's axis and NaN policies) keeps its body as
            # __wrapped__: disabling that body makes every other name of the decorated function refuse
            # too (scipy.stats.entropy is also scipy.stats._entropy.entropy, reached without the name)
            inner, seen = getattr(orig, "__wrapped__", None), {id(orig)}
            while inner is not None and id(inner) not in seen:
                seen.add(id(inner))
                disable(inner, dotted)
                inner = getattr(inner, "__wrapped__", None)
        stubs = {id(orig): stub for orig, stub in originals.values()}
        for name, mod in list(sys.modules.items()):
            if not name.startswith("pedagogy_lib") or mod is None:
                continue
            for k, v in list(vars(mod).items()):
                if id(v) in stubs and v is not stubs[id(v)]:
                    setattr(mod, k, stubs[id(v)])

    real_import = builtins.__import__

    busy = []

    def module_loading(exclude=None) -> bool:
        """A module is being executed (an ``import`` inside it has not returned). Stubbing then waits:
        looking a forbidden name up can import lazily (a family's attributes, ``scipy.stats``), and what
        it imports may import from the half-made module (a circular import that only the grader caused)."""
        for name, module in list(sys.modules.items()):
            if name != exclude and getattr(getattr(module, "__spec__", None), "_initializing", False):
                return True
        return False

    stubbed_at: list = [None]
    depth = [0]

    def stub_now(loaded=None):
        # no re-entry, and not inside an import statement or while a module is half made: the import that
        # finishes last (the outermost) stubs what the ones inside it loaded. Only a module loaded since
        # the last pass can hold a forbidden name or bind one unstubbed, so an import of what is already
        # loaded (the library's imports inside its functions, run at every call) costs nothing
        if not forbidden or busy or depth[0]:
            return
        now = (len(sys.modules), next(reversed(sys.modules)))
        if now == stubbed_at[0] or module_loading(exclude=loaded):
            return
        busy.append(True)
        try:
            apply_stubs()
        finally:
            busy.pop()
        stubbed_at[0] = now      # as it was before the pass: a module the pass itself loaded gets a pass too

    def guarded_import(*args, **kwargs):
        depth[0] += 1
        try:
            module = real_import(*args, **kwargs)
        finally:
            depth[0] -= 1
        stub_now()
        return module

    import importlib.abc
    import importlib.machinery

    owners = {".".join(d.split(".")[:i]) for d in forbidden for i in range(1, d.count(".") + 1)}

    class _StubAfterLoading(importlib.abc.MetaPathFinder):
        """Every module that holds a forbidden function gets its stubs as soon as it has loaded, however
        it was imported (an import statement, ``importlib``, a family's lazy attribute)."""

        def find_spec(self, name, path=None, target=None):
            if name not in owners:
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is None or spec.loader is None:
                return spec
            loader = spec.loader

            class _Loader(importlib.abc.Loader):
                def create_module(self, spec):
                    return loader.create_module(spec)

                def exec_module(self, module):
                    loader.exec_module(module)
                    stub_now(loaded=module.__name__)
            spec.loader = _Loader()
            return spec

    sys.meta_path.insert(0, _StubAfterLoading())
    builtins.__import__ = guarded_import           # and as the student's code imports the library

    ns: dict = {"__name__": "__main__"}
    error = None
    for i, (code, must_run) in enumerate(job["cells"]):
        try:
            exec(compile(code, f"<answer cell {i}>", "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 - reported to the grader as text
            if must_run:
                error = f"{type(exc).__name__}: {exc}"
                break
        if not must_run:               # the page's own functions the exercise rules out (no dot in the name)
            for dotted in job["forbidden"]:
                if "." not in dotted:
                    # the function object itself raises, so that what the page built from it (a model
                    # holding it, when the page's cells are replayed) refuses too; the name is a stub
                    label = f"{dotted} (the page's function)"
                    func = ns.get(dotted)
                    if isinstance(func, types.FunctionType) and not hasattr(func, "message"):
                        disable(func, label)
                    ns[dotted] = stub_for(label)
    out = {"values": {}, "error": error}
    for name in job["names"]:
        if name in ns:
            out["values"][name] = encode(ns[name])
        else:
            out["values"][name] = {"__missing__": name}
    send(out)
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0
        req = json.loads(line)
        fn = ns.get(req["call"])
        try:
            value = fn(*unpack(req["args"]))
            send({"ok": encode(value)})
        except BaseException as exc:  # noqa: BLE001
            send({"raised": f"{type(exc).__name__}: {exc}"})


class StudentProcess:
    """The student's answer cells, run in ``python -I`` by this file's ``--child`` mode."""

    def __init__(self, job: dict, python: str = sys.executable, timeout: float = CHILD_TIMEOUT,
                 helpers: dict | None = None):
        self.helpers = helpers or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NBGRADER"))}
        env.setdefault("MPLBACKEND", "Agg")
        self.timeout = timeout
        self.proc = subprocess.Popen([python, "-I", str(Path(__file__).resolve()), "--child"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def receive(self) -> dict:
        while True:
            try:
                line = self.lines.get(timeout=self.timeout)
            except queue.Empty:
                self.close()
                raise TimeoutError(f"your code did not finish within {self.timeout:.0f} s")
            if line is None:
                raise RuntimeError("your code ended the Python process (exit, a crash or a kill)")
            try:
                msg = json.loads(line)
            except ValueError:
                raise RuntimeError("your code wrote to the grader's channel") from None
            if not (isinstance(msg, dict) and "helper" in msg):
                return msg
            self._answer_helper(msg)

    def _answer_helper(self, msg: dict) -> None:
        fn = self.helpers.get(msg["helper"])
        try:
            if fn is None:
                raise NameError(f"{msg['helper']} is not a function of the problem statement")
            reply = {"ok": encode(fn(*decode(msg["args"])))}
        except Exception as exc:  # noqa: BLE001 - sent back to the student's code as its exception
            reply = {"raised": f"{type(exc).__name__}: {exc}"}
        self.proc.stdin.write(json.dumps(reply) + "\n")
        self.proc.stdin.flush()

    def call(self, name: str, args: tuple):
        def offer(fn):                 # a function of the grader's, called back through the pipe
            key = f"callback-{len(self.helpers)}"
            self.helpers[key] = fn
            return {"__cb__": key}

        self.proc.stdin.write(json.dumps({"call": name, "args": encode(list(args), offer)}) + "\n")
        self.proc.stdin.flush()
        reply = self.receive()
        if "raised" in reply:
            raise RuntimeError(reply["raised"])
        return _read(reply.get("ok"))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


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


def expand_forbidden(forbidden) -> list[str]:
    """The functions a "not allowed" list makes unavailable while an answer runs.

    Its names as given, and two kinds of name the list stands for: a NumPy or SciPy *module* on it
    (``numpy.polynomial.hermite_e``) stands for every public function and class of that module, also
    where a parent package binds the same object (``numpy.polynomial.HermiteE``), since a family of
    fitters and products each does the same job; a function of ``scipy.special`` stands also for its
    compiled twin in ``scipy.special.cython_special``, the same routine under another module's name.
    """
    import importlib

    out: list[str] = []
    for dotted in forbidden:
        module = None
        if dotted.startswith(("numpy.", "scipy.")):
            try:
                module = importlib.import_module(dotted)
            except ImportError:
                module = None
        if module is None:
            out.append(dotted)
            parts = dotted.split(".")
            if len(parts) == 3 and parts[:2] == ["scipy", "special"]:
                twins = importlib.import_module("scipy.special.cython_special")
                if callable(getattr(twins, parts[2], None)):
                    out.append(f"scipy.special.cython_special.{parts[2]}")
            continue
        parts = dotted.split(".")
        names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name, None)
            if not callable(obj):
                continue
            out.append(f"{dotted}.{name}")
            for i in range(len(parts) - 1, 0, -1):
                parent = sys.modules.get(".".join(parts[:i]))
                if parent is not None and getattr(parent, name, None) is obj:
                    out.append(f"{'.'.join(parts[:i])}.{name}")
    return list(dict.fromkeys(out))


def grade_exercise(label: str, module: str, checker: str, names: list[str], cells: list[tuple[str, bool]],
                   student: str, *, python: str = sys.executable, checkers: set[str] = frozenset()) -> tuple[bool, str]:
    """Grade one exercise: ``(passed, the verdict's text)``; see the module docstring."""
    import importlib

    import numpy as np

    mod = importlib.import_module(f"pedagogy_lib.exercises.{module}")
    if getattr(mod, "__file__", None) is None:
        raise RuntimeError("the grader needs the checker modules themselves, not a Jupyter kernel's stand-ins: "
                           "run it in a plain Python process, as nbgrader's autograde does")
    spec = getattr(mod, "SUMMATIVE", {}).get(label, {})
    saved = {}
    lines = []
    data = None                     # the student's copy's public data, once encoded
    if "variant" in spec:
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
    forbidden = list(spec.get("forbidden", ()))
    if forbidden:
        lines.append("While grading, these functions are not available to your code: " + ", ".join(forbidden) + ".")
    forbidden += [name for name in shortcuts_for(spec) if name not in forbidden]
    import pedagogy_lib
    quiet, helpers = _checker_functions(mod, set(checkers) | {checker})
    job = {"root": str(Path(pedagogy_lib.__file__).resolve().parent.parent),
           "modules": {module: {"data": data if data is not None else _public_data(mod), "functions": quiet,
                                "helpers": helpers}},
           "forbidden": expand_forbidden(forbidden), "cells": cells, "names": names}
    child = None
    try:
        child = StudentProcess(job, python, helpers={n: getattr(mod, n) for n in helpers})
        reply = child.receive()
        if reply.get("error"):
            return False, "\n".join(lines + [f"Your answer cell raised {reply['error']}"])
        # the checker module's own NamedTuple classes, so that an answer of that type is one here too
        nts = {n: v for n, v in vars(mod).items() if isinstance(v, type) and issubclass(v, tuple) and hasattr(v, "_fields")}
        args = []
        for name in names:
            value = reply["values"].get(name)
            if isinstance(value, dict) and "__missing__" in value:
                return False, "\n".join(lines + [f"Your answer cell no longer defines {name}."])
            args.append(_proxy(child, name) if isinstance(value, dict) and "__fn__" in value else _read(value, nts))
        from pedagogy_lib.exercises.checker import drawn_for
        with drawn_for(student_seed(student, label)):  # test problems a checker draws as it runs: the student's own
            verdict = getattr(mod, checker)(*args)
        return bool(verdict), "\n".join(lines + [str(verdict)])
    except (TimeoutError, RuntimeError) as exc:
        return False, "\n".join(lines + [f"Grading stopped: {exc}."])
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
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [ast.unparse(s) for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]


def _names_used(sources: list[str]) -> set[str]:
    out = set()
    for code in sources:
        try:
            out |= {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}
        except SyntaxError:
            pass
    return out


def _preamble(page: list[str], answers: list[str], exclude: frozenset = frozenset()) -> list[str]:
    """What the answers need from the rest of the page: its imports and its function and class
    definitions (not its computations), those that the answers use, directly or through each other
    (``exclude``: names the answers bind themselves, which do not count as uses of the page's)."""
    defs = []
    for code in page:
        try:
            tree = ast.parse(code)
        except SyntaxError:
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
    try:
        own = frozenset(_names_bound_by(ast.parse(answer)))
    except SyntaxError:
        return []
    return _preamble(preamble, [answer], own)


def page_functions_outside_allowed(answer: str, preamble: list[str], allowed) -> list[str]:
    """What the page's functions and classes that ``answer`` uses (directly or through each other; see
    :func:`_preamble`) call from the restricted packages beyond ``allowed``, each as written. A page
    function run with the page's globals rebound to an exercise's data would otherwise reach, from inside,
    a library function the statement does not allow."""
    defs = [code for code in _answer_preamble(answer, preamble) if not code.startswith(("import ", "from "))]
    return outside_allowed("\n".join(defs), "\n".join(preamble), allowed) if defs else []


def _stored(sources: list[str]) -> set[str]:
    out = set()
    for code in sources:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                out.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(n.name)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                out |= {(a.asname or a.name).split(".")[0] for a in n.names}
            elif isinstance(n, ast.arg):
                out.add(n.arg)
    return out


def _needs_page_state(preamble: list[str], answers: list[str], page: list[str]) -> bool:
    """Whether the answers, or the page functions they call, use a name that only a computation of the
    page binds (not an import or def): a page function may read a value its cell computes."""
    import builtins

    missing = _names_used(answers + preamble) - _stored(answers) - _stored(preamble) - set(dir(builtins))
    return bool(missing & _stored(page))


def _names_bound(import_line: str) -> set[str]:
    node = ast.parse(import_line).body[0]
    return {(a.asname or a.name).split(".")[0] for a in node.names}


def _nb_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _output(text: str, failed: bool) -> list[dict]:
    if failed:
        return [{"output_type": "error", "ename": "AnswerNotAccepted", "evalue": text.splitlines()[-1],
                 "traceback": text.splitlines()}]
    return [{"output_type": "stream", "name": "stdout", "text": text + "\n"}]


def grade_notebook(nb: dict, student: str, submitted: dict | None = None, source: dict | None = None, *,
                   python: str = sys.executable, labels=None) -> dict:
    """Grade every summative test cell of an executed notebook in place; return ``{label: (passed, flags)}``.

    ``submitted`` is the notebook as the student handed it in (to flag deleted or edited test cells),
    ``source`` the assignment's source notebook (to tell the page's own cells from the student's);
    ``labels``, when given, limits the grading to those exercises (to regrade one, say).
    """
    from nbformat import from_dict

    source_cells = {_src(c) for c in (source or {}).get("cells", []) if not _nb_meta(c)} if source else None

    cells = nb["cells"]
    answers = {_nb_meta(c).get("grade_id"): i for i, c in enumerate(cells) if _nb_meta(c).get("solution")
               and c["cell_type"] == "code"}
    page = [_src(c) for c in cells if c["cell_type"] == "code" and not _nb_meta(c)]
    preamble = _preamble(page, [_src(cells[i]) for i in answers.values()])
    # tampering anywhere in the student's code
    student_code = [(i, _src(c)) for i, c in enumerate(cells) if c["cell_type"] == "code"
                    and (_nb_meta(c).get("solution") or not _nb_meta(c))]
    tampered = []
    for i, code in student_code:
        if _nb_meta(cells[i]).get("solution"):          # an answer cell: everything in it counts
            tampered += [f"{what} (cell {i})" for what in tampering(code)]
        elif source_cells is not None and code not in source_cells:   # a cell the student added or changed
            tampered += [f"{what} (cell {i})" for what in tampering(code)]
    sub_tests = {}
    if submitted is not None:
        sub_tests = {_nb_meta(c).get("grade_id"): _src(c) for c in submitted.get("cells", []) if _nb_meta(c).get("grade")}
    results = {}
    checkers = {spec["checker"] for c in cells if _nb_meta(c).get("grade") and (spec := parse_hidden_call(_src(c)))}
    for cell in cells:
        meta = _nb_meta(cell)
        call = parse_hidden_call(_src(cell)) if meta.get("grade") and not meta.get("solution") else None
        if call is None:
            continue
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
        elif tampered:
            passed, text = False, ("Not graded: the notebook's code reaches for the grading machinery or "
                                   "round its checks ("
                                   + "; ".join(tampered) + "). Scored zero until the instructor reviews it.")
            flags.append("tampering with the grading machinery")
        elif peers := peer_library_imports(_src(cells[k])):
            why = ("which compiles NumPy's functions anew, where the exercise's list of what is not allowed "
                   "does not reach them" if set(peers) <= set(COMPILERS) else "which computes this for you")
            passed, text = False, ("Not accepted: the answer imports " + ", ".join(f"`{p}`" for p in peers)
                                   + f", {why}; graded answers write the computation "
                                   "with NumPy, SciPy's basic routines and what the exercise allows.")
        elif peers := peer_library_imports("\n".join(_answer_preamble(_src(cells[k]), preamble))):
            # a name the page imports from a peer library (or a page function that calls one), used bare
            passed, text = False, ("Not accepted: the answer uses " + ", ".join(f"`{p}`" for p in peers)
                                   + " through the page's imports or functions, and it computes this for you; "
                                   "graded answers write the computation with NumPy, SciPy's basic routines "
                                   "and what the exercise allows.")
        elif kernels := kernel_module_names(_src(cells[k]), "\n".join(preamble)):
            passed, text = False, ("Not accepted: the answer calls the library's compiled kernels ("
                                   + ", ".join(f"`{p}`" for p in kernels) + "). They are the fast twins of "
                                   "its public functions, not a way round them; write the computation the "
                                   "exercise asks for.")
        elif private := private_library_names(_src(cells[k]), "\n".join(preamble)):
            passed, text = False, ("Not accepted: the answer calls the library's private functions ("
                                   + ", ".join(f"`{p}`" for p in private) + "). They are the library's "
                                   "internals, not its interface; write the computation the exercise asks for.")
        elif private := private_numpy_scipy_names(_src(cells[k]), "\n".join(preamble)):
            passed, text = False, ("Not accepted: the answer calls private parts of NumPy or SciPy ("
                                   + ", ".join(f"`{p}`" for p in private) + "). Graded answers use their "
                                   "public names, to which the exercise's \"not allowed\" list applies.")
        elif "allowed" in call and (outside := outside_allowed(_src(cells[k]), "\n".join(preamble),
                                                               call["allowed"])):
            passed, text = False, ("Not accepted: the answer calls " + ", ".join(f"`{p}`" for p in outside)
                                   + ", which this exercise does not allow (its statement lists what graded "
                                   "code may call beyond NumPy, `scipy.special` and `scipy.linalg`'s functions).")
        elif "allowed" in call and (outside := page_functions_outside_allowed(_src(cells[k]), preamble,
                                                                              call["allowed"])):
            passed, text = False, ("Not accepted: the page's functions that the answer calls use "
                                   + ", ".join(f"`{p}`" for p in outside) + ", which this exercise does not "
                                   "allow; graded code may reach the library only as its statement says, "
                                   "directly or through the page's code.")
        else:
            order = [i for i in sorted(answers.values()) if i <= k]
            if _needs_page_state(preamble, [_src(cells[i]) for i in order], page):
                # the answers use values the page computes: replay the page's cells, then the answers
                order = [i for i, c in enumerate(cells) if i <= k and c["cell_type"] == "code"
                         and (i in answers.values() or not _nb_meta(c))]
                run = [(_src(cells[i]), i == k) for i in order]
            else:
                run = [("\n".join(preamble), False)] + [(_src(cells[i]), i == k) for i in order]
            try:
                passed, text = grade_exercise(label, call["module"], call["checker"], call["names"], run, student,
                                              python=python, checkers=checkers)
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
if "--child" not in sys.argv:            # the student process needs no nbgrader
    try:
        from nbgrader.preprocessors import NbGraderPreprocessor as _Base
    except ImportError:
        pass


class SummativeGrader(_Base):
    """nbgrader preprocessor (after ``Execute``): grade each summative test cell outside the kernel.

    nbgrader makes it before any notebook runs; it imports every checker module then, so that code a
    notebook runs afterwards cannot change the checkers the grader uses by rewriting their files.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        import importlib
        import pkgutil

        import pedagogy_lib.exercises as package
        for info in pkgutil.iter_modules(package.__path__):
            remember_source(importlib.import_module(f"{package.__name__}.{info.name}"))

    def preprocess(self, nb, resources):
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
        grade_notebook(nb, student, submitted, source)
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
