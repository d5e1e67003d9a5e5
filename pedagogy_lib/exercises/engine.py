"""Exercises declared once, as data: the engine derives the checker, the student's draw and the grader's entry.

An exercise is an :class:`Exercise`: its statement's label, the checker's public name and title, the answer's
:class:`Part` s (argument, name in messages, kind and tolerance, named slips), a reference (``"module:function"``
in ``references/``, imported only when a checker runs), a per-student problem generator, and the written part::

    _WALK = Exercise(
        label="ex-2-2-2-steady-state", name="steady_state", title="steady-state variance and gain",
        reference="ch02_kalman:walk_reference", book=ScalarSSM(0.8, 2.0, 0.5, 1.0), draw=_draw_walk, seed=2221,
        parts=(Part("P", "P", "scalar", apart=(0.03, 0.0), slips={"you took the other root": _other_root}),
               Part("K", "K", "scalar", slips={"you left c out of the gain": lambda p, ref: ref[0] / (ref[0] + p.r)})))
    EX_WALK = _WALK.book_or_drawn()                  # the book's problem, or the student's own
    steady_state = _WALK.checker(globals(), EX_WALK)  # steady_state(P, K, problem=EX_WALK)
    SUMMATIVE = summative(_WALK, ...)                 # the grader's entries (function answers, stated reasons)

* ``book_or_drawn()`` reruns ``draw(rng)`` until every slip is clearly off the reference (:attr:`Part.apart`);
* ``checker(globals(), default)`` defines the checker as a function of the chapter module, so the grader and the
  kernel's rules find it by name; with ``data="EX_X"`` it takes no ``problem`` and reads ``EX_X`` at every call;
  with ``function="my_fn"`` the answer is a function, run on ``cases()``, ``(where, args)`` pairs;
* :func:`trials` gives the reference and every slip as answers; ``tests/exercises/test_engine.py`` runs them.

Migrating a module
------------------
1. Declarations are private (``_WALK``): the grader ships every public non-callable to the student's process.
   Keep each ``EX_`` name, checker name, argument name, title, message and NamedTuple; copy the docstring to
   ``doc``. Compare the old and new messages on every answer :func:`trials` gives before deleting the old code.
2. A slip is ``slip(problem, expected)`` (a function answer: ``slip(args, expected)``, ``args`` with the
   problem first when ``data`` is set), ``expected`` the tuple of the reference's parts; a ``"module:function"``
   or :class:`lazy` of ``references/``; or one callable giving the whole ``{message: value}`` table of a part.
   Nothing in the chapter module may return a passing answer (``test_no_reference_reachable.py``).
3. Draws: ``draw(rng)`` draws one candidate exactly as the old loop did and returns ``None`` where it said
   ``continue``; its slip test becomes ``apart=(rel, abs)``. The students' data then stay the old ones.
4. The module's source must still say ``book_or_drawn(`` or ``problem_rng(`` (the grader reads it).
5. A checker with logic of its own (an answer of the student's construction, a trained model) stays
   hand-written, saying why. Add the module's slip and draw counts from before to ``BEFORE`` in the test.
"""
from __future__ import annotations

import contextlib
import importlib
import types
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from . import checker

__all__ = ["Part", "Exercise", "lazy", "summative", "trials", "slip_count", "KINDS"]

#: How a part of an answer is compared (:mod:`checker`'s comparisons).
KINDS = ("scalar", "array", "bool", "statements")


@dataclass(frozen=True)
class Part:
    """One value of an answer: its argument name, the name messages give it (``{where}`` is replaced by the test
    case's description for a function answer), how it is compared, and its named slips."""

    arg: str
    what: str
    kind: str = "array"
    rtol: float = 1e-6
    atol: float = 1e-8
    #: ``{message: slip}``, or one callable giving that mapping of values; a slip is a callable or a
    #: ``"module:function"`` of ``references/``, called as ``slip(problem, expected)`` (for a function
    #: answer ``slip(args, expected)``), ``expected`` the tuple of the reference's parts.
    slips: Mapping[str, Callable | str] | Callable | str = field(default_factory=dict)
    #: A drawn problem is kept only when every slip is further than ``abs + rel * max|reference|`` from the
    #: reference in some entry (a bool differs; a slip of another shape is off).
    apart: tuple[float, float] = (1e-3, 0.0)
    hint: str = ""
    #: ``{shape: message}``: an answer of one of these shapes (another exercise's, say) is told only the message.
    shapes: Mapping[tuple, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Part.kind must be one of {KINDS}; got {self.kind!r}")


@dataclass(frozen=True, eq=False)
class Exercise:
    """One exercise as data (see the module docstring). ``draw(rng)`` returns a problem or None (draw again);
    with ``function`` set (the name the answer's function is asked for, ``my_rts``), the answer is a function of
    ``signature`` run on the cases ``cases()`` gives, ``(where, args)`` pairs drawn with
    :func:`checker.problem_rng`, and ``reference`` and the slips take a case's ``args``."""

    label: str
    name: str
    title: str
    parts: tuple[Part, ...]
    reference: str
    book: object = None
    draw: Callable | None = None
    seed: int | None = None
    function: str | None = None
    signature: str = ""
    cases: Callable | None = None
    unchanged: bool = False
    written: str | None = None
    same_data: str | None = None
    doc: str = ""
    #: The module's name holding the problem, read at every call, when the checker takes no ``problem``
    #: argument (the problem is then passed first to the reference and the slips of a function answer).
    data: str | None = None

    def __post_init__(self):
        if ":" not in self.reference:
            raise ValueError(f"Exercise.reference must be 'module:function' in references/; got {self.reference!r}")
        if (self.function is None) != (self.cases is None):
            raise ValueError(f"Exercise {self.label}: a function answer needs both function and cases")
        if self.draw is not None and self.seed is None:
            raise ValueError(f"Exercise {self.label}: a drawn problem needs a seed")

    def book_or_drawn(self):
        """The book's problem, or, while a student's copy is built, one drawn for the student with every named
        slip clearly off the reference."""
        if self.draw is None:
            return self.book
        return checker.book_or_drawn(self.book, lambda rng: _draw_apart(self, rng), seed=self.seed)

    def checker(self, module_globals: dict, default=None):
        """The notebook's checker, a function of the module whose ``globals()`` are given."""
        problem = f"module[{self.data!r}]" if self.data else "problem"
        if self.function is not None:
            source = f"def {self.name}(fn):\n    return run(ex, fn, {problem if self.data else None})\n"
            run = _check_function
        else:
            args = ", ".join(p.arg for p in self.parts)
            keyword = "" if self.data else ", problem=default"
            source = f"def {self.name}({args}{keyword}):\n    return run(ex, ({args},), {problem})\n"
            run = _check_values
        scope = {}
        exec("def make(run, ex, default, module):\n" + "".join("    " + line + "\n" for line in source.splitlines())
             + f"    return {self.name}\n", scope)
        inner = scope["make"](run, self, default, module_globals)
        fn = types.FunctionType(inner.__code__, module_globals, self.name, inner.__defaults__, inner.__closure__)
        fn.__doc__ = self.written_doc()
        fn.__qualname__ = self.name
        fn.__module__ = module_globals["__name__"]
        return fn

    def written_doc(self) -> str:
        if self.doc:
            return self.doc
        what = (f"your function ``{self.function}{self.signature}``" if self.function is not None
                else ", ".join(p.arg for p in self.parts))
        return (f"``{self.label}``: {self.title}; checks {what}."
                + (f" Written part: {self.written}" if self.written else ""))


class lazy:  # noqa: N801 - used as a function in declarations
    """A slip (or reference part) computed in ``references/``: ``lazy("module:function", *extra, **kwargs)`` is
    called as ``function(x, *extra, **kwargs)`` (``function(*x, ...)`` with ``star``, for a function answer's
    arguments), item ``item`` of the result taken when given. The module is imported only when it is called."""

    def __init__(self, path: str, *extra, item: int | None = None, star: bool = False, **kwargs):
        if ":" not in path:
            raise ValueError(f"lazy path must be 'module:function' in references/; got {path!r}")
        self._call = (path, extra, item, star, kwargs)

    def __call__(self, x, expected=None):
        path, extra, item, star, kwargs = self._call
        fn = _resolve(path)
        out = fn(*x, *extra, **kwargs) if star else fn(x, *extra, **kwargs)
        return out if item is None else out[item]


def summative(*exercises: Exercise) -> dict:
    """The grader's ``SUMMATIVE`` entries of ``exercises``: a function answer, or a stated reason, gives every
    student the same data; a drawn problem needs no entry (the grader re-runs the module for the student)."""
    out = {}
    for ex in exercises:
        if ex.function is not None:
            out[ex.label] = {"same_data": checker.FUNCTION_ANSWER}
        elif ex.same_data is not None:
            out[ex.label] = {"same_data": ex.same_data}
    return out


def _for(salt):
    return checker.drawn_for(salt) if salt is not None else contextlib.nullcontext()


def trials(ex: Exercise, salt: int | None = None, problem=None) -> list[tuple[tuple, dict, str | None]]:
    """What the tests run on the data of student ``salt`` (None: the book's): ``(args, kwargs, slip)`` for the
    checker, the reference first (``slip`` None: it must pass), then each named slip in place of its part (the
    checker must name it). A function answer is given as a function that answers every case this way. With
    ``data`` declared, ``problem`` is the module's value of it (in the student's copy of the module)."""
    with _for(salt):
        if ex.function is None:
            kwargs = {} if ex.data else {"problem": ex.book_or_drawn()}
            problem = problem if ex.data else kwargs["problem"]
            expected = _expected(ex, problem)
            out = [(expected, kwargs, None)]
            for i, part in enumerate(ex.parts):
                for name, wrong in _slip_values(part, problem, expected).items():
                    out.append((expected[:i] + (wrong,) + expected[i + 1:], kwargs, name))
            return out
        first = _with(problem, ex.cases()[0][1]) if ex.data else ex.cases()[0][1]
        names = list(_slip_values(part, first, _expected(ex, *first)) for part in ex.parts)

    def answer(i=None, slip=None):
        def fn(*args):
            args = _with(problem, args) if ex.data else args
            expected = _expected(ex, *args)
            if i is not None:
                wrong = _slip_values(ex.parts[i], args, expected)[slip]
                expected = expected[:i] + (wrong,) + expected[i + 1:]
            return expected if len(expected) > 1 else expected[0]
        return fn

    return [((answer(),), {}, None)] + [((answer(i, name),), {}, name) for i, part in enumerate(names) for name in part]


def slip_count(ex: Exercise, problem=None) -> int:
    """The number of named slips of ``ex`` (slips given as one callable are counted on the book's data;
    ``problem``: the module's value of ``data``, when declared)."""
    return sum(slip is not None for *_, slip in trials(ex, None, problem))


# --- what the checkers run (nothing here is reachable from a chapter module's names) -----------------------


def _resolve(path: str) -> Callable:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(f"{__package__}.references.{module}"), name)


def _expected(ex: Exercise, *args) -> tuple:
    out = _resolve(ex.reference)(*args)
    return (out,) if len(ex.parts) == 1 else tuple(out)


def _slip_values(part: Part, x, expected: tuple) -> dict:
    """``{message: wrong value}`` of ``part``'s slips on the problem (or a case's arguments) ``x``."""
    slips = part.slips
    if isinstance(slips, str) or callable(slips):
        return dict((_resolve(slips) if isinstance(slips, str) else slips)(x, expected))
    return {name: (_resolve(s) if isinstance(s, str) else s)(x, expected) for name, s in slips.items()}


def _with(problem, args) -> tuple:
    return (problem, *args)


def _compare(part: Part, answer, expected, hints: dict, where: str = "") -> list[str]:
    what = part.what.format(where=where)
    if part.shapes:
        try:
            shape = np.shape(answer)
        except ValueError:                     # a ragged list: the comparison says what is wrong with it
            shape = None
        if shape in part.shapes:
            return [part.shapes[shape]]
    if part.kind == "scalar":
        return checker.compare_scalar(answer, expected, what, rtol=part.rtol, atol=part.atol, hints=hints)
    if part.kind == "array":
        return checker.compare_array(answer, expected, what, rtol=part.rtol, atol=part.atol, hints=hints)
    if part.kind == "bool":
        return checker.compare_bool(answer, expected, what)
    return checker.compare_statements(answer, expected, what, hint=part.hint)


def _check_values(ex: Exercise, answers: tuple, problem) -> checker.CheckResult:
    problems, expected = [], _expected(ex, problem)
    for part, answer, value in zip(ex.parts, answers, expected):
        problems += _compare(part, answer, value, _slip_values(part, problem, expected))
    return checker.result(ex.title, problems)


def _check_function(ex: Exercise, fn, problem=None) -> checker.CheckResult:
    n = len(ex.parts)
    pair = "the pair" if n == 2 else f"the {n}-tuple"
    together = f"{pair} ({', '.join(p.arg for p in ex.parts)})"

    def judge(out, where, *args):
        args = _with(problem, args) if ex.data else args
        if n > 1:
            problems = checker.tuple_problems(out, n, together, where)
            if problems:
                return problems
        outs = (out,) if n == 1 else tuple(out)
        problems, expected = [], _expected(ex, *args)
        for part, value, ref in zip(ex.parts, outs, expected):
            problems += _compare(part, value, ref, _slip_values(part, args, expected), where)
        return problems

    cases = [(where, args) for where, args in ex.cases()]
    return checker.check_function(ex.title, fn, cases, judge, name=ex.function, signature=ex.signature,
                                  unchanged=ex.unchanged)


def _apart(part: Part, slip, expected) -> bool:
    if part.kind in ("bool", "statements"):
        return np.asarray(slip, dtype=bool).tolist() != np.asarray(expected, dtype=bool).tolist()
    slip, expected = np.asarray(slip, dtype=float), np.asarray(expected, dtype=float)
    if slip.shape != expected.shape:
        return slip.size != expected.size or slip.size != 1
    rel, tol = part.apart
    with np.errstate(invalid="ignore"):
        return bool(np.max(np.abs(slip - expected)) > tol + rel * np.max(np.abs(expected)))


def _draw_apart(ex: Exercise, rng):
    while True:
        problem = ex.draw(rng)
        if problem is None:
            continue
        expected = _expected(ex, problem)
        if all(_apart(part, wrong, value) for part, value in zip(ex.parts, expected)
               for wrong in _slip_values(part, problem, expected).values()):
            return problem
