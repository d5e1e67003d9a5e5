"""The machinery every exercise checker shares.

A checker gathers *problems* (strings that never contain the reference answer) and returns a :class:`CheckResult`: it
prints a pass line or what is wrong, and is truthy exactly when the answer passed. Autograders call
``check.x(answer).raise_if_wrong()``, which raises :class:`AnswerNotAccepted`.
"""
from __future__ import annotations

import ast
import html
import json
import os
import re
import sys
from typing import Callable, Iterable, Sequence

import numpy as np

#: The package's modules and packages that are machinery, not a chapter's checkers (``references`` holds their solvers,
#: ``engine`` builds checkers from declarations).
MACHINERY = ("checker", "engine", "references")

__all__ = ["MACHINERY", "AnswerNotAccepted", "CheckResult", "result", "problem_rng", "book_or_drawn", "drawn_for",
           "HAND_RTOL", "FUNCTION_ANSWER", "as_numeric", "as_integer", "as_bool", "describe_miss", "compare_array",
           "compare_scalar", "compare_function", "compare_bool", "copied", "check_function", "tuple_problems"]

#: Why an exercise whose answer is a function gives every student the same data (its ``SUMMATIVE`` entry).
FUNCTION_ANSWER = "the answer is a function, which the grader calls on test problems of the checker's own"


#: The student salt in force while a grader draws a student's own problem data (see :func:`drawn_for`).
_STUDENT_SALT: list[int] = []


def problem_rng(seed: int) -> np.random.Generator:
    """The generator a checker module draws its problem data from: ``np.random.default_rng(seed)``, with the student's
    salt joined to the seed while a grader builds a student's copy (:func:`drawn_for`)."""
    if _STUDENT_SALT:
        return np.random.default_rng([int(seed), _STUDENT_SALT[-1]])
    return np.random.default_rng(seed)


def book_or_drawn(book, draw: Callable[[np.random.Generator], object], seed: int):
    """The book's problem ``book``, or, while a grader builds a student's copy of the module (:func:`drawn_for`),
    ``draw(problem_rng(seed))``: a problem of the same kind (same shapes, same kind of answer) whose numbers the
    statement does not spell out."""
    if _STUDENT_SALT:
        return draw(problem_rng(seed))
    return book


class drawn_for:  # noqa: N801 - used as a function: ``with drawn_for(salt): ...``
    """Context in which :func:`problem_rng` draws for the student whose salt (a non-negative integer) is given."""

    def __init__(self, salt: int):
        if isinstance(salt, bool) or not isinstance(salt, (int, np.integer)) or salt < 0:
            raise ValueError(f"salt must be a non-negative integer; got {salt!r}")
        self.salt = int(salt)

    def __enter__(self):
        _STUDENT_SALT.append(self.salt)
        return self

    def __exit__(self, *exc):
        _STUDENT_SALT.pop()
        return False


class AnswerNotAccepted(AssertionError):
    """Raised by :meth:`CheckResult.raise_if_wrong` when an answer did not pass its checker."""


class CheckResult:
    """Outcome of one checker call: truthy exactly when the answer passed."""

    def __init__(self, name: str, problems: Sequence[str]):
        self.name = name
        self.problems = list(problems)

    @property
    def passed(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.passed

    def raise_if_wrong(self) -> "CheckResult":
        """Return this result if the answer passed, else raise :class:`AnswerNotAccepted` with the reader's messages
        (the mode of the autograder's test cells)."""
        if not self.passed:
            raise AnswerNotAccepted(str(self))
        return self

    def __str__(self) -> str:
        if self.passed:
            return f"[pass] {self.name}: correct."
        lines = [f"[not yet] {self.name}:"] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    __repr__ = __str__

    @property
    def unanswered(self) -> bool:
        """True when every problem says that an answer is None: an exercise's stub, not yet filled in."""
        return bool(self.problems) and all(re.search(r"\bNone(Type)?\b", p) for p in self.problems)

    def _repr_html_(self) -> str:
        """The verdict as a box with its own colours (the same contrast in light and dark mode, above 7:1), said in
        words next to its icon, never by colour alone."""
        style, fg = _VERDICT_STYLE["pass" if self.passed else "not yet"]
        name = html.escape(self.name)
        if self.passed:
            head = (f'<strong style="color:{fg}"><span aria-hidden="true">&#10004;</span> Correct:</strong> '
                    f"{name}.")
            return f'<div class="pedagogy-check pedagogy-check-pass" style="{style}">{head}</div>'
        items = "".join(f'<li style="color:{fg}">{html.escape(p)}</li>' for p in self.problems)
        head = f'<strong style="color:{fg}"><span aria-hidden="true">&#10008;</span> Not yet:</strong> {name}'
        return (f'<div class="pedagogy-check pedagogy-check-not-yet" style="{style}">{head}'
                f'<ul style="margin:.3em 0 0 1.4em;padding:0;color:{fg}">{items}</ul></div>')

    def _ipython_display_(self) -> None:
        """Display the verdict; while the book is built, an untouched stub shows nothing (the static page cannot run
        the reader's answer)."""
        from IPython.display import display

        if self.unanswered and os.environ.get("PEDAGOGY_STATIC_WIDGETS") == "1":
            return
        display({"text/html": self._repr_html_(), "text/plain": str(self)}, raw=True)


#: (box style, text colour) per verdict; text on background is 11:1 (pass) and 10:1 (not yet).
_VERDICT_STYLE = {
    "pass": ("background:#e8f5eb;color:#0b3d1c;border:1px solid #1a7f37;border-left:6px solid #1a7f37;"
             "border-radius:4px;padding:.45em .8em;margin:.4em 0", "#0b3d1c"),
    "not yet": ("background:#fff3e0;color:#4d2600;border:1px solid #b35900;border-left:6px solid #b35900;"
                "border-radius:4px;padding:.45em .8em;margin:.4em 0", "#4d2600"),
}


def result(name: str, problems: Iterable[str]) -> CheckResult:
    """The verdict of a checker on its ``problems`` (empty strings are dropped).

    In a reader's IPython kernel, an answer whose code calls a function its exercise names (``not_allowed.json``) does
    not pass: the grader scores it zero (see :func:`_named_calls_in_kernel`).
    """
    problems = [p for p in problems if p]
    return CheckResult(name, _named_calls_in_kernel(sys._getframe(1)) + problems)


# --- the functions an exercise names -------------------------------------------------------------------

_PACKAGE = __name__.rpartition(".")[0]

#: ``{checker module: {checker: [names]}}``: the functions each exercise asks the reader to write rather
#: than call, as library paths (``pedagogy_lib.hmm.hmm_filter``) or bare names of the page's own functions.
#: Written from the exercises' metadata by ``tools/sync_exercise_rules.py``.
_NOT_ALLOWED_FILE = os.path.join(os.path.dirname(__file__), "not_allowed.json")
_NOT_ALLOWED: list[dict] = []


def _not_allowed() -> dict:
    if not _NOT_ALLOWED:
        try:
            with open(_NOT_ALLOWED_FILE, encoding="utf-8") as f:
                _NOT_ALLOWED.append(json.load(f))
        except (OSError, ValueError):
            _NOT_ALLOWED.append({})
    return _NOT_ALLOWED[0]


def _named_calls_in_kernel(frame) -> list[str]:
    """The problem that the answer's code calls a function its exercise names, or nothing.

    ``frame`` is the caller of :func:`result`; the checker is the first function of a chapter module, going outwards,
    that has names. The code read is the cell being run and, when that cell only calls checkers, the cell before it.
    Outside an IPython kernel, or when anything goes wrong, this says nothing.
    """
    try:
        names = None
        while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE + "."):
            module = frame.f_globals["__name__"].rpartition(".")[2]
            names = _not_allowed().get(module, {}).get(frame.f_code.co_name)
            if names:
                break
            frame = frame.f_back
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if names and ipython is not None else None
        if shell is None:
            return []
        history = [cell for cell in shell.user_ns.get("In", []) if isinstance(cell, str) and cell.strip()]
        if not history:
            return []
        read = history[-1:]
        if len(history) > 1 and _only_calls_checkers(_parse(history[-1]), _import_aliases(history)):
            read = history[-2:]
        code = answer_code("\n".join(read), checker=frame.f_code.co_name, earlier=history[:-len(read)])
        called = named_calls_in(code, names, history)
    except Exception:  # noqa: BLE001 - a warning that cannot be worked out is not given
        return []
    return [f"your code calls `{name}`, which this exercise asks you to write yourself; the grader scores "
            "that zero." for name in dict.fromkeys(called)]


def answer_code(code: str, names: Sequence[str] = (), checker: str | None = None,
                earlier: Sequence[str] = ()) -> str:
    """The statements of ``code`` that produce the answer, as code: the rest of the cell is not the answer.

    The answer is what the variables ``names`` hold (the names a stub passes to its checker, ``my_alpha``),
    and, with ``checker``, the arguments of every call of a function of that name in ``code``
    (``check.forward(hmm.hmm_filter(...))``). A top-level statement belongs to the answer when it binds or
    changes (by assignment to an item or attribute, or a method call) a name the answer needs, or calls the
    checker; the names it reads are then needed too, back to the start of the code. A function's whole body
    comes with its ``def``. A line that only looks at something else (``z = nice.forward(flow, x)`` beside
    the answer's function) is left out; so is a call of a module's function (``np.zeros(3)``, a module
    bound by an import of ``earlier`` cells or of ``code``), which changes no module. Code that does not
    parse, or in which no statement is found, is returned whole.
    """
    tree = _parse(code)
    if tree is None:
        return code
    modules = _module_names([*earlier, code])
    needed = set()
    for name in names:                                # a stub may pass an expression (``X, w.T``)
        parsed = _parse(name)
        if parsed is None:
            return code
        needed |= _read_names(parsed)
    kept: set[int] = set()
    for k, statement in enumerate(tree.body):
        if checker and any(isinstance(n, ast.Call) and _callee(n.func) == checker for n in ast.walk(statement)):
            kept.add(k)
            needed |= _read_names(statement)
    changed = True
    while changed:                                    # back through the cell until no statement is added
        changed = False
        for k in range(len(tree.body) - 1, -1, -1):
            if k not in kept and _changed_names(tree.body[k], modules) & needed:
                kept.add(k)
                needed |= _read_names(tree.body[k])
                changed = True
    if not kept:
        return code
    return "\n".join(ast.unparse(tree.body[k]) for k in sorted(kept))


def _callee(func) -> str | None:
    """The last name of a called function (``forward`` for ``check.forward``)."""
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _base(node) -> str | None:
    """The variable an item or attribute chain starts from (``a`` for ``a[0].b``)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _top_level_nodes(statement):
    """The nodes of ``statement``, not descending into the bodies of the functions and classes it defines."""
    stack = [statement]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)) and node is not statement:
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(node.decorator_list)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _changed_names(statement, modules: set[str] = frozenset()) -> set[str]:
    """The names a top-level statement binds or may change (a call of a function of one of ``modules``
    changes no module)."""
    out = set()
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        out.add(statement.name)
    for node in _top_level_nodes(statement):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).partition(".")[0] for a in node.names}
        elif isinstance(node, (ast.Name, ast.Attribute, ast.Subscript, ast.Starred)) \
                and isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)):
            if (name := _base(node)) is not None:
                out.add(name)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if (name := _base(node.func.value)) is not None and name not in modules:
                out.add(name)                                  # a method may change its object
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not statement:
            out.add(node.name)
    return out


def _read_names(node) -> set[str]:
    """The names a statement reads from outside itself, inside the functions it defines too (less their
    parameters and the names they assign: those are their own)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = node.args
        own = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
        body = node.body if isinstance(node.body, list) else [node.body]
        own |= {n.id for b in body for n in ast.walk(b) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        inner = set().union(*(_read_names(b) for b in body)) - own
        outer = [*node.args.defaults, *[d for d in node.args.kw_defaults if d]]
        outer += getattr(node, "decorator_list", [])
        return inner | set().union(*(_read_names(d) for d in outer))
    out = set()
    for child in ast.iter_child_nodes(node):
        out |= _read_names(child)
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        out.add(node.id)
    return out


def named_calls_in(code: str, names: Sequence[str], earlier: Sequence[str] = ()) -> list[str]:
    """The references in ``code`` to one of ``names`` (library paths, or bare names of the page's own
    functions), each as written; the imports of ``earlier`` cells and of ``code`` say what its names stand for."""
    return _references(_parse(code), names, _import_aliases([*earlier, code]))


def _parse(source: str):
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _module_names(cells: Sequence[str]) -> set[str]:
    """The names the imports of ``cells`` bind to modules (``np`` of ``import numpy as np``; ``nce`` of
    ``from pedagogy_lib.contrastive import nce``). A name from ``from P import M`` counts when ``P.M`` is a
    module that can be found without running code that is not already loaded (``P`` imported, or this
    library); a name bound again by a later assignment is not a module."""
    out = set()
    for tree in map(_parse, cells):
        for node in (ast.walk(tree) if tree else ()):
            if isinstance(node, ast.Import):
                out |= {alias.asname or alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if node.module and not node.level and _is_module(f"{node.module}.{alias.name}"):
                        out.add(alias.asname or alias.name)
                    else:
                        out.discard(alias.asname or alias.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                out.discard(node.id)
    return out


def _is_module(path: str) -> bool:
    """Whether ``path`` names a module, found without importing anything that is not already loaded (a
    student's code names the path: only this library's packages, or packages already imported, are
    searched)."""
    if path in sys.modules:
        return True
    parent = path.rpartition(".")[0]
    if parent not in sys.modules and parent.partition(".")[0] != _PACKAGE.partition(".")[0]:
        return False
    try:
        import importlib.util

        return importlib.util.find_spec(path) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def _import_aliases(cells: Sequence[str]) -> dict[str, str]:
    """What the imports of ``cells`` bind names to (``hmm`` -> ``pedagogy_lib.hmm``, ``hmm_filter`` ->
    ``pedagogy_lib.hmm.hmm_filter``); a later import of a name wins."""
    aliases = {}
    for tree in map(_parse, cells):
        for node in (tree.body if tree else ()):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.partition(".")[0]
                    aliases[alias.asname or top] = alias.name if alias.asname else top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _dotted(node, aliases: dict[str, str]) -> str | None:
    """The full dotted path of a name or attribute chain (``hmm.hmm_filter``), its first part resolved."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _only_calls_checkers(tree, aliases: dict[str, str]) -> bool:
    """Whether a cell only imports and calls checkers (``check.forward(my_alpha)``, ``.raise_if_wrong()``)."""
    if tree is None or not tree.body:
        return False
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        calls = [_dotted(node.func, aliases) for node in ast.walk(statement) if isinstance(node, ast.Call)]
        if not isinstance(statement, ast.Expr) or not any(c and c.startswith(_PACKAGE + ".") for c in calls):
            return False
    return True


def _loaded(path: str):
    """The object a dotted path names among the modules already imported, or None."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        obj = sys.modules.get(".".join(parts[:i]))
        if obj is not None:
            for attr in parts[i:]:
                obj = getattr(obj, attr, None)
            return obj
    return None


def _references(tree, names: Sequence[str], aliases: dict[str, str]) -> list[str]:
    """The code of each reference in ``tree`` to one of ``names``: a library path (under any import of it)
    or a bare name of the page's own functions."""
    found = []
    for node in ast.walk(tree) if tree is not None else ():
        if not isinstance(node, (ast.Name, ast.Attribute)) or not isinstance(node.ctx, ast.Load):
            continue
        path = _dotted(node, aliases)
        if path is None:
            continue
        for name in names:
            if path == name or ("." in name and _loaded(path) is not None and _loaded(path) is _loaded(name)):
                found.append(ast.unparse(node))
    return found


#: Relative tolerance for answers computed with pen and paper: three significant figures.
HAND_RTOL = 5e-3

_TRUE_WORDS = {"true", "yes", "t", "y", "1"}
_FALSE_WORDS = {"false", "no", "f", "n", "0"}


def as_numeric(answer, what: str) -> tuple[np.ndarray | None, list[str]]:
    """``answer`` as a float array, or the problems that prevent it.

    Accepted alike: numbers (``2``, ``2.0``, ``"2.5"``), nested lists and arrays, complex values with zero imaginary
    parts. Rejected with a message: ``None``, booleans, other text, ragged lists, NaN and infinity.
    """
    if answer is None:
        return None, [f"{what} is None: did the cell (or your function) forget to return a value?"]
    try:
        raw = np.asarray(answer)
    except (TypeError, ValueError):
        return None, [f"{what} should be numeric; got {type(answer).__name__} of uneven shape."]
    if raw.dtype.kind == "b":
        return None, [f"{what} should be a number, not True/False."]
    if raw.dtype.kind == "c":
        if np.any(raw.imag != 0):
            return None, [f"{what} is complex; the answer is real."]
        raw = raw.real
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        return None, [f"{what} should be numeric; got {type(answer).__name__}"
                      + (f" {answer!r}." if isinstance(answer, str) and len(answer) < 40 else ".")]
    if not np.all(np.isfinite(arr)):
        return None, [f"{what} contains NaN or inf."]
    return arr, []


def as_integer(answer, what: str) -> tuple[int | None, list[str]]:
    """``answer`` as a Python int (``2``, ``2.0``, ``np.int64(2)`` and ``"2"`` alike), or the problems that prevent
    it."""
    arr, problems = as_numeric(answer, what)
    if problems:
        return None, problems
    if arr.size != 1:
        return None, [f"{what} should be a single whole number; got an array of shape {arr.shape}."]
    value = float(arr.reshape(()))
    if value != round(value):
        return None, [f"{what} should be a whole number."]
    return int(round(value)), []


def as_bool(answer, what: str, *, strict: bool = False) -> tuple[bool | None, list[str]]:
    """``answer`` as a bool: ``True``, ``np.True_``, ``1``/``0`` and "yes"/"no"/"true"/"false"; with ``strict``, only
    a real bool."""
    if answer is None:
        return None, [f"{what} is None: give True or False."]
    if isinstance(answer, (bool, np.bool_)):
        return bool(answer), []
    if strict:
        return None, [f"{what} should be the bool True or False, not {type(answer).__name__} {answer!r}."]
    if isinstance(answer, (int, np.integer)) and int(answer) in (0, 1):
        return bool(int(answer)), []
    if isinstance(answer, str):
        word = answer.strip().lower()
        if word in _TRUE_WORDS:
            return True, []
        if word in _FALSE_WORDS:
            return False, []
    if isinstance(answer, np.ndarray) and answer.shape == () and answer.dtype.kind == "b":
        return bool(answer), []
    return None, [f"{what} should be True or False; got {type(answer).__name__}."]


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def describe_miss(value: float, reference: float) -> str:
    """What can be said about a number that misses ``reference``: only a named slip (zero), never the size or
    direction of the miss, which would let a reader bisect to the answer."""
    value, reference = float(value), float(reference)
    if value == 0.0 and reference != 0.0:
        return "zero, but the correct value is not"
    return ("not one of the slips this checker names; check the usual ones (a sign, a factor of 2, a "
            "normalization, a logarithm)")


def _named_slip(arr: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str:
    """Slips recognized in every checker alike: a normalization left out, a log taken or not taken."""
    with np.errstate(all="ignore"):
        if arr.ndim == 2 and np.all(arr > 0):
            for axis, part in ((1, "row"), (0, "column")):
                sums = expected.sum(axis=axis)
                if np.allclose(sums, 1.0) and _close(arr / arr.sum(axis=axis, keepdims=True), expected, rtol, atol):
                    return (f"is right up to the normalization of each {part}: each {part} of a "
                            "probability table must sum to one.")
        if arr.ndim == 1 and arr.size > 1 and np.all(arr > 0) and np.isclose(expected.sum(), 1.0) \
                and _close(arr / arr.sum(), expected, rtol, atol):
            return "is proportional to the correct distribution: normalize it so that it sums to one."
        if np.all(expected > 0) and _close(np.exp(arr), expected, rtol, atol):
            return "looks like the logarithm of the answer: the exercise asks for the value itself."
        if np.all(arr > 0) and _close(np.log(arr), expected, rtol, atol):
            return "looks like the exponential of the answer: the exercise asks for the logarithm."
    return ""


def _digits_agreed(arr: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> int:
    """The number of significant digits (at most 17) that every entry outside tolerance shares with the
    reference, both rounded to that many digits: 0.168709 agrees with 0.1687086 to 6."""
    agreed = 17
    off = ~np.isclose(arr, expected, rtol=rtol, atol=atol)
    for a, e in zip(arr[off].tolist(), expected[off].tolist()):
        digits = 0
        while digits < 17 and f"{a:.{digits}e}" == f"{e:.{digits}e}":
            digits += 1
        agreed = min(agreed, digits)
    return agreed


def _digits_written(x: float) -> int:
    """The fewest significant digits that write ``x`` exactly: 0.168709 has 6, a computed 1/3 has 16 or 17."""
    return next((k for k in range(1, 17) if float(f"{x:.{k}g}") == x), 17)


def compare_array(answer, expected, what: str = "your answer", *, rtol: float = 1e-6, atol: float = 1e-8,
                  hints: dict | None = None) -> list[str]:
    """Problems with ``answer`` as an approximation of ``expected`` (never revealing ``expected``).

    Besides shape and tolerance it recognizes a flipped sign, a transpose, a constant factor, a missing normalization
    and a logarithm. ``hints`` maps a description to what a specific wrong derivation gives (``{"you used Sigma
    instead of its inverse": wrong}``); an answer that matches one is told that description. A miss that agrees to two
    significant digits or more says how many, and how many ``rtol`` needs; any other miss says neither its size, its
    direction, nor which or how many entries are off.
    """
    arr, problems = as_numeric(answer, what)
    if problems:
        return problems
    expected = np.asarray(expected, dtype=float)
    if arr.shape != expected.shape and arr.size == expected.size == 1:
        arr = arr.reshape(expected.shape)          # 2.0, [2.0] and [[2.0]] are one number
    if arr.shape != expected.shape:
        if arr.T.shape == expected.shape and _close(arr.T, expected, rtol, atol):
            return [f"{what} has shape {arr.shape} but should have shape {expected.shape}: it is the transpose."]
        return [f"{what} should have shape {expected.shape}; got {arr.shape}."]
    if _close(arr, expected, rtol, atol):
        return []
    for description, wrong in (hints or {}).items():
        wrong = np.asarray(wrong, dtype=float)
        if wrong.size == arr.size == 1:
            wrong = wrong.reshape(arr.shape)
        if wrong.shape == arr.shape and _close(arr, wrong, rtol, atol):
            return [f"{what} is what you get if {description}."]
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and _close(arr.T, expected, rtol, atol):
        return [f"{what} is the transpose of the correct matrix."]
    named = _named_slip(arr, expected, rtol, atol)
    if named:
        return [f"{what} {named}"]
    if np.any(expected != 0) and _close(-arr, expected, rtol, atol):
        return [f"{what} has the wrong sign."]
    flat_e, flat_a = expected.ravel(), arr.ravel()
    if expected.size > 1 and np.any(flat_e != 0) and np.any(flat_a != 0):
        # proportional to the answer: say so, but not by how much (the factor would reveal it)
        ratio = float(flat_a @ flat_e / (flat_e @ flat_e))
        if abs(ratio - 1) > 1e-3 and _close(arr, ratio * expected, rtol, atol):
            return [f"{what} is proportional to the correct answer but scaled by a constant: "
                    "check a normalization or a factor of 2."]
    digits = _digits_agreed(arr, expected, rtol, atol)
    if digits >= 2 and rtol > 0:
        needed = max(int(np.ceil(np.log10(5 / rtol))), digits + 1)
        where = "" if arr.size == 1 else " in every entry"
        off = arr[~np.isclose(arr, expected, rtol=rtol, atol=atol)].tolist()
        if max(_digits_written(a) for a in off) < needed:
            return [f"{what} is not within tolerance: it agrees to {digits} significant digits{where}; give at "
                    f"least {needed} (keep full precision; do not round by hand)."]
        return [f"{what} is not within tolerance: it agrees to {digits} significant digits{where}, and the "
                f"checker needs {needed}."]
    if arr.size == 1:
        return [f"{what} is not within tolerance: it is {describe_miss(arr.ravel()[0], expected.ravel()[0])}."]
    # neither which entries are off nor how many: either would let guessing recover the answer
    return [f"{what} is not within tolerance: no single slip (a sign, a transpose, a scale factor, a "
            "normalization, a logarithm) explains it; recheck the derivation step by step."]


def compare_scalar(answer, expected, what: str = "your answer", *, rtol: float = 1e-6, atol: float = 1e-8,
                   hints: dict | None = None) -> list[str]:
    """Problems with a scalar answer (``2``, ``2.0``, ``np.float32(2)``, ``"2.0"``, ``[2.0]`` alike); same diagnostics
    as :func:`compare_array`."""
    arr, problems = as_numeric(answer, what)
    if problems:
        return problems
    if arr.size != 1:
        return [f"{what} should be a single number; got an array of shape {arr.shape}."]
    return compare_array(float(arr.reshape(())), float(expected), what, rtol=rtol, atol=atol, hints=hints)


def compare_bool(answer, expected: bool, what: str = "your answer") -> list[str]:
    """Problems with a yes/no answer (accepted forms: see :func:`as_bool`)."""
    value, problems = as_bool(answer, what)
    if problems:
        return problems
    return [] if value == bool(expected) else [f"{what} is not right: think again about the argument."]


def compare_statements(answer, truth: Sequence[bool], what: str = "your answers", *, hint: str = "") -> list[str]:
    """Problems with a list of real bools, one per statement (a), (b), ..., judged all or nothing: a wrong answer is
    told neither which statements nor how many are wrong."""
    n = len(truth)
    letters = ", ".join(f"({chr(97 + i)})" for i in range(n))
    if answer is None:
        return [f"{what} is None: give a list of {n} bools, True or False for {letters} in that order."]
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__len__"):
        return [f"{what} should be a list of {n} bools, one for each of {letters}; got {type(answer).__name__}."]
    if len(answer) != n:
        return [f"{what} should be a list of {n} bools, one for each of {letters}; got {len(answer)} entries."]
    values, problems = [], []
    for i, a in enumerate(answer):
        value, p = as_bool(a, f"the answer for ({chr(97 + i)})", strict=True)
        values.append(value)
        problems += p
    if problems:
        return problems
    if any(v != bool(t) for v, t in zip(values, truth)):
        return [f"not all {n} answers are right (the checker does not say which, nor how many)."
                + (f" {hint}" if hint else "")]
    return []


def compare_function(fn: Callable, cases: Sequence[tuple[tuple, object]], what: str = "your function", *,
                     rtol: float = 1e-6, atol: float = 1e-8, describe: Callable[[tuple], str] | None = None
                     ) -> list[str]:
    """Run ``fn(*args)`` on each ``(args, expected)`` case and report the first failing one, by its input
    (``describe(args)`` if given), never with the expected output."""
    if not callable(fn):
        return [f"{what} should be a function; got {type(fn).__name__}."]
    for i, (args, expected) in enumerate(cases):
        label = describe(args) if describe else f"test case {i + 1} of {len(cases)}"
        try:
            out = fn(*args)
        except Exception as exc:  # noqa: BLE001 - any student error is reported, not raised
            return [f"{what} raised {type(exc).__name__}: {exc} (on {label})."]
        problems = compare_array(out, expected, f"the output on {label}", rtol=rtol, atol=atol)
        if problems:
            return problems
    return []


def copied(x):
    """A copy of a test input all the way down (arrays, lists, tuples, NamedTuples, dicts), so that the reader's
    function cannot change the checker's data; anything else is passed as it is."""
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*map(copied, x))
    if isinstance(x, (list, tuple)):
        return type(x)(map(copied, x))
    if isinstance(x, dict):
        return {k: copied(v) for k, v in x.items()}
    return x


def check_function(title: str, fn, cases: Iterable[tuple], judge: Callable[..., list[str]], *,
                   name: str, signature: str, unchanged: bool = False) -> CheckResult:
    """The verdict on an answer that is a function, run on test cases one after the other.

    ``cases`` holds tuples ``(where, args, *extra)``: ``fn`` is called on copies of ``args``, and ``judge(out, where,
    *args, *extra)`` gives the problems with its output (``where`` names the case in messages). The first case that
    raises or has problems ends the run. ``name`` and ``signature`` say what was asked for (``my_rts``, ``(mu_filt,
    Upsilon_filt, A, a, Sigma_x)``) when the answer is not a function. With ``unchanged``, a function that changes
    its array inputs in place does not pass.
    """
    if fn is None:
        return result(title, [f"{name} should be a function of {signature}; it is None: write the function first."])
    if not callable(fn):
        return result(title, [f"{name} should be a function of {signature}; got {type(fn).__name__}."])
    for where, args, *extra in cases:
        inputs = [copied(a) for a in args]
        try:
            out = fn(*inputs)
        except Exception as exc:  # noqa: BLE001 - any student error is reported, not raised
            return result(title, [f"your function raised {type(exc).__name__}: {exc} (on {where})."])
        if unchanged and any(isinstance(a, np.ndarray) and not np.array_equal(a, b) for a, b in zip(inputs, args)):
            return result(title, [f"your function changed its inputs in place (on {where}); it must leave them as "
                                  "they are."])
        problems = judge(out, where, *args, *extra)
        if problems:
            return result(title, problems)
    return result(title, [])


def tuple_problems(out, n: int, what: str, where: str) -> list[str]:
    """Problems when a function's output ``out`` on the case ``where`` is not ``what``, a tuple or list of ``n`` items
    (for example "the pair (S, C)")."""
    if out is None:
        return [f"your function returned None on {where}: did it forget to return {what}?"]
    if isinstance(out, (tuple, list)) and len(out) == n:
        return []
    return [f"on {where} your function should return {what}; got {type(out).__name__}"
            + (f" of length {len(out)}." if isinstance(out, (tuple, list)) else ".")]
