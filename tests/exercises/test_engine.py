"""Every exercise declared to the engine: its reference passes and each of its named slips is named, on the
book's data and on three students' own; the migrated modules keep their slips and their per-student draws."""
from __future__ import annotations

import contextlib
import importlib
import pkgutil

import numpy as np
import pytest

import pedagogy_lib.exercises as E
from pedagogy_lib.exercises import checker, engine

#: Per migrated module: (named slips, per-student draws) counted in the module before it was migrated: its hint
#: dictionaries' entries, and its calls of ``book_or_drawn`` and ``problem_rng`` (ch10_rbm_learning: of the three
#: exercises of 10.2.1 declared so far, and its two ``EX_`` values). Exercises written for the engine add what
#: their declarations name: 10.2.2's CD update 6 + 5 + 4 slips (dW, db_x, db_y) and its drawn test batches;
#: 8.4.2's ADVI gradient 6 slips, and its drawn targets beside the module's EX_MU and EX_SAMPLES; DA 2's ADF
#: update 4 + 5 slips (mean, variance) and its drawn problems (the module's EX_ values are not drawn).
BEFORE = {"ch02_kalman": (31, 4), "da_fourdvar": (14, 1), "ch10_rbm_learning": (11 + 15, 2 + 1),
          "ch08_bbvi": (6, 2 + 1), "da_filters": (4 + 5, 1)}


def _declared():
    out = []
    for info in pkgutil.iter_modules(E.__path__):
        if info.name in checker.MACHINERY or info.name.startswith("_"):
            continue
        spec = importlib.util.find_spec(f"{E.__name__}.{info.name}")
        with open(spec.origin, encoding="utf-8") as f:
            if "from .engine import" not in f.read():
                continue
        module = importlib.import_module(spec.name)
        out += [(module, ex) for ex in vars(module).values() if isinstance(ex, engine.Exercise)]
    return out


DECLARED = _declared()


def _params(declared):
    """A function answer reruns its hidden cases on every call (a second or more each): those run as slow tests."""
    return [pytest.param(m, ex, id=ex.label, marks=[pytest.mark.slow] if ex.function else []) for m, ex in declared]


def test_the_migrated_modules_are_counted():
    assert {m.__name__.rpartition(".")[2] for m, _ in DECLARED} == set(BEFORE)


@pytest.mark.parametrize("module, ex", _params(DECLARED))
@pytest.mark.parametrize("salt", [None, 1, 2, 3], ids=["book", "student1", "student2", "student3"])
def test_the_reference_passes_and_every_slip_is_named(module, ex, salt):
    """On the student's copy of the module, as the grader builds it (data read from the module included)."""
    try:
        with _for(salt):
            own = importlib.reload(module)
        mine = next(e for e in vars(own).values() if isinstance(e, engine.Exercise) and e.label == ex.label)
        check = getattr(own, ex.name)
        runs = engine.trials(mine, salt, getattr(own, ex.data) if ex.data else None)
        assert runs[0][2] is None and len(runs) > 1
        for args, kwargs, slip in runs:
            with _for(salt):
                verdict = check(*args, **kwargs)
            if slip is None:
                assert verdict, f"the reference did not pass: {verdict}"
            else:
                assert not verdict and slip in str(verdict), f"slip {slip!r} not named: {verdict}"
    finally:
        importlib.reload(module)


def _same(a, b) -> bool:
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, str):
        return a == b
    if callable(a):                       # a drawn target: the same code over the same drawn numbers
        cells = [[c.cell_contents for c in f.__closure__ or ()] for f in (a, b)] if callable(b) else None
        return callable(b) and a.__code__ is b.__code__ and _same(*cells)
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_a_migrated_module_keeps_its_slips_and_its_draws(name):
    """Draws counted as what a student's copy changes: each ``EX_`` value, and each function answer's cases."""
    module = next(m for m, _ in DECLARED if m.__name__.endswith("." + name))
    exercises = [ex for m, ex in DECLARED if m is module]
    book = ({n: v for n, v in vars(module).items() if n.startswith("EX_")}, [ex.cases() for ex in exercises
                                                                             if ex.function])
    try:
        with checker.drawn_for(1):        # salt 0 seeds problem_rng as no salt does (a trailing zero word)
            own = importlib.reload(module)
            drawn = ({n: v for n, v in vars(own).items() if n.startswith("EX_")},
                     [ex.cases() for ex in vars(own).values() if isinstance(ex, engine.Exercise) and ex.function])
    finally:
        importlib.reload(module)
    draws = sum(not _same(v, drawn[0][n]) for n, v in book[0].items())
    draws += sum(not _same(a, b) for a, b in zip(book[1], drawn[1]))
    slips = sum(engine.slip_count(ex, getattr(module, ex.data) if ex.data else None) for ex in exercises)
    assert (slips, draws) == BEFORE[name]


@pytest.mark.parametrize("module, ex", [d for d in DECLARED if d[1].draw is not None],
                         ids=[ex.label for _, ex in DECLARED if ex.draw is not None])
def test_students_get_problems_of_their_own(module, ex):
    drawn = []
    for salt in range(1, 5):
        with checker.drawn_for(salt):
            drawn.append(ex.book_or_drawn())
    flat = [np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in p]) for p in [ex.book, *drawn]]
    assert len({tuple(np.nan_to_num(f, nan=1e300)) for f in flat}) == len(flat)


def test_a_declaration_names_its_reference_in_references_and_its_checker_is_the_module_s():
    with pytest.raises(ValueError, match="reference"):
        engine.Exercise(label="x", name="x", title="x", parts=(engine.Part("a", "a"),), reference="solver")
    with pytest.raises(ValueError, match="kind"):
        engine.Part("a", "a", kind="matrix")
    for module, ex in DECLARED:
        fn = getattr(module, ex.name)
        assert fn.__module__ == module.__name__ and fn.__globals__ is vars(module) and fn.__code__.co_name == ex.name


def _for(salt):
    return checker.drawn_for(salt) if salt is not None else contextlib.nullcontext()
