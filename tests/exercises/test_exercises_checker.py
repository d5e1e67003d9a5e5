"""The shared checker machinery: right answers pass, wrong answers are diagnosed, nothing leaks."""
import re

import numpy as np

from pedagogy_lib.exercises import checker


def test_correct_array_passes_and_is_truthy():
    res = checker.result("demo", checker.compare_array([1.0, 2.0], np.array([1.0, 2.0])))
    assert res and res.passed and "[pass]" in str(res) and "correct" in res._repr_html_().lower()


def test_none_is_reported_not_raised():
    res = checker.result("demo", checker.compare_array(None, np.ones(2)))
    assert not res and "None" in str(res)


def test_shape_transpose_sign_and_factor_are_diagnosed():
    E = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert "transpose" in checker.compare_array(E.T, E)[0]
    assert "should have shape (2, 3); got (3,)" in checker.compare_array(np.ones(3), E)[0]
    assert "wrong sign" in checker.compare_array(-E, E)[0]
    msg = checker.compare_array(2 * E, E)[0]
    assert "scaled by a constant" in msg and "2." not in msg.split("factor")[0]
    S = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert "transpose of the correct matrix" in checker.compare_array(S.T, S)[0]


def test_hints_name_a_known_wrong_derivation():
    E = np.array([1.0, 2.0])
    msg = checker.compare_array([3.0, 1.0], E, hints={"you forgot the prior": np.array([3.0, 1.0])})
    assert msg == ["your answer is what you get if you forgot the prior."]


def test_tolerance_message_does_not_reveal_the_answer():
    expected = np.array([0.123456789, 0.987654321])
    msg = checker.compare_array([0.123456789, 0.5], expected)[0]
    assert "not within tolerance" in msg and "entry" not in msg and "0.987" not in msg and "0.9876" not in msg


def test_scalar_bool_and_non_numeric():
    assert checker.compare_scalar(0.5, 0.5) == []
    assert "single number" in checker.compare_scalar([1.0, 2.0], 0.5)[0]
    assert "numeric" in checker.compare_scalar("half", 0.5)[0]
    assert "NaN or inf" in checker.compare_scalar(np.nan, 0.5)[0]
    assert checker.compare_bool(True, True) == []
    assert "True or False" in checker.compare_bool("maybe", True)[0]
    assert "True or False" in checker.compare_bool(None, True)[0]
    assert checker.compare_bool(False, True) != []


def test_function_checker_names_the_failing_input_and_exceptions():
    cases = [((1.0,), 2.0), ((3.0,), 6.0)]
    assert checker.compare_function(lambda x: 2 * x, cases) == []
    msg = checker.compare_function(lambda x: x + 1, cases, describe=lambda a: f"x = {a[0]}")[0]
    assert "x = 3.0" in msg and "6.0" not in msg and "not within tolerance" in msg
    assert "raised ZeroDivisionError" in checker.compare_function(lambda x: 1 / 0, cases)[0]
    assert "should be a function" in checker.compare_function(3, cases)[0]


def test_equivalent_forms_of_a_number_are_accepted_alike():
    for form in (2, 2.0, np.int64(2), np.float32(2.0), "2", " 2.0 ", [2.0], np.array([[2.0]]), 2 + 0j):
        assert checker.compare_scalar(form, 2.0) == [], form
    assert checker.compare_array(["1", "2"], np.array([1.0, 2.0])) == []
    assert checker.compare_array((1, 2), np.array([1.0, 2.0])) == []
    assert "complex" in checker.compare_scalar(2 + 1j, 2.0)[0]
    assert "True/False" in checker.compare_scalar(True, 1.0)[0]
    assert "uneven" in checker.compare_array([1.0, [2.0, 3.0]], np.ones(2))[0]


def test_integer_and_boolean_answers_in_every_usual_form():
    for form in (3, 3.0, np.int32(3), "3", [3]):
        assert checker.as_integer(form, "k") == (3, []), form
    assert "whole number" in checker.as_integer(2.5, "k")[1][0]
    assert "True/False" in checker.as_integer(True, "k")[1][0]
    for form, value in ((True, True), (np.False_, False), (1, True), (0, False), ("yes", True),
                        ("False", False), (np.array(True), True)):
        assert checker.as_bool(form, "b") == (value, []), form
    assert checker.as_bool(2, "b")[0] is None


def test_scalar_misses_give_no_size_or_direction_so_guessing_cannot_recover_the_answer():
    expected = 0.7316
    messages = {checker.compare_scalar(guess, expected)[0]
                for guess in (0.70, 0.74, 0.7317, 0.5, 1.0, 0.2, 3.0, 0.01, 50.0, -0.2)}
    assert len(messages) == 1, messages           # every unnamed miss reads the same: no band to bisect
    (msg,) = messages
    assert "0.73" not in msg and not re.search(r"too (large|small)|close|within \d|factor between", msg)
    assert "wrong sign" in checker.compare_scalar(-expected, expected)[0]
    assert "zero" in checker.compare_scalar(0.0, expected)[0]


def test_array_misses_name_neither_the_entries_nor_their_number():
    expected = np.array([0.123456789, 0.987654321, 0.5])
    one_off = checker.compare_array([0.123456789, 0.95, 0.5], expected)[0]
    two_off = checker.compare_array([0.2, 0.95, 0.5], expected)[0]
    assert one_off.replace("your answer", "") == two_off.replace("your answer", "")
    assert "entry" not in one_off and "of 3" not in one_off and "0.98" not in one_off


def test_hand_precision_accepts_three_significant_figures():
    expected = 1.23456
    assert checker.compare_scalar(1.23, expected, rtol=checker.HAND_RTOL) == []
    assert checker.compare_scalar(1.25, expected, rtol=checker.HAND_RTOL) != []


# ---------------------------------------------------------------------------------------------
# What help(check) shows must not give the answer away
# ---------------------------------------------------------------------------------------------
#
# A reader who runs help(check), help(check.fn) or check.fn? sees the module docstring, the
# docstrings of the public functions and classes, and (in the API pages) the ``#:`` comments above
# public constants. Those texts should say what to pass and which data are checked, never how the
# answer is computed. The test below is a heuristic, not a proof; it flags, in that text:
#
# * TeX: a ``:math:`` role, a display (``.. math::``, ``$$``, ``\begin``) or any TeX command
#   (``\frac``, ``\mathbf``...). The help text is read as plain text, and every formula the
#   checkers printed this way was a formula the exercise asks for. Shapes, dimensions and the
#   problem's own definitions are written in words or plain ASCII, which this allows.
# * code that computes something: an inline literal holding an assignment and arithmetic,
#   ``B[t] = (1 - Z[t]**2) * ...`` (a minus counts when spaced, so ``x_{t-1}`` is not arithmetic).
# * "the reference is / equals / :" and "references are computed by / with / using ...": saying
#   *that* a reference is computed independently is fine, saying what it is or how is not.
# * "which is <number>": an answer stated outright.
# * a library routine: ``numpy.``, ``np.``, ``scipy.`` names, and ``pedagogy_lib`` names other
#   than the few below, which name a type the reader passes or a layout convention.
# * a name from the module's ``SUMMATIVE[label]["forbidden"]`` lists (the functions an exercise
#   rules out), other than the module's own checkers called as ``check.<name>`` and the words of
#   an exercise label (``ex-7-1-kmeans-assign``).
#
# Prose that names the method ("it is the smoother's means", "a product of Bernoullis with means
# ...") or the answer's sign or direction slips through; such sentences were removed by reading
# each exercise, and the control test below shows what the rules do catch.

import ast as _ast
import importlib as _importlib
import inspect as _inspect
import pkgutil as _pkgutil
from pathlib import Path as _Path

import pytest as _pytest

import pedagogy_lib.exercises as _exercises

#: Library names the help text may use: a type the reader passes or receives, or the place a
#: layout convention (state order, time index, weight shape) is documented.
_ALLOWED_LIBRARY_NAMES = {"pedagogy_lib.exercises", "pedagogy_lib.exercises.checker.CheckResult",
                          "pedagogy_lib.harmonium", "pedagogy_lib.harmonium.states", "pedagogy_lib.lgssm.kalman",
                          "pedagogy_lib.mixture.GMMParams"}

_EXERCISE_MODULES = sorted(m.name for m in _pkgutil.iter_modules(_exercises.__path__)
                           if m.name not in _exercises.MACHINERY)

_TEX = re.compile(r":math:`|\.\. math::|\$\$|\\[A-Za-z]+")
_OPERATOR = r"(?:[+*/@]| - )"
_CODE_FORMULA = re.compile(rf"``[^`]*[^=!<>]=[^=][^`]*{_OPERATOR}[^`]*``|``[^`]*{_OPERATOR}[^`]*[^=!<>]=[^=][^`]*``")
_REFERENCE_IS = re.compile(r"\breferences?\s+(is|equals?)\b(?!\s+(computed|derived|written|worked|never))"
                           r"|\breference\s*[:=]"
                           r"|\breferences?(\s+answers?)?\s+(is|are)\s+(computed|derived|written out|worked out)"
                           r"\b[^.;]*\b(by|with|via|using)\b", re.I)
_VALUE = re.compile(r"\bwhich\s+(is|equals)\s+[-+]?\.?\d", re.I)
_NUMERIC_LIBRARY = re.compile(r"(?<![\w.])(numpy|np|scipy)\.\w[\w.]*")
_LIBRARY = re.compile(r"pedagogy_lib(?:\.\w+)+")


def _help_texts(module) -> list[tuple[str, str]]:
    """(where, text) for what help() and the API pages show of one checker module."""
    name = module.__name__.rpartition(".")[2]
    texts = [(name, _inspect.getdoc(module) or "")]
    for attr, value in sorted(vars(module).items()):
        if attr.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if _inspect.isfunction(value) or _inspect.isclass(value):
            texts.append((f"{name}.{attr}", _inspect.getdoc(value) or ""))
        if _inspect.isclass(value):
            for meth, fn in vars(value).items():
                if not meth.startswith("_") and _inspect.isfunction(fn) and fn.__doc__:
                    texts.append((f"{name}.{attr}.{meth}", _inspect.getdoc(fn)))
    lines = _Path(module.__file__).read_text().splitlines()
    for node in _ast.parse("\n".join(lines)).body:
        targets = node.targets if isinstance(node, _ast.Assign) else [getattr(node, "target", None)]
        names = [n.id for t in targets for n in _ast.walk(t) if isinstance(n, _ast.Name)] if targets[0] else []
        if not any(not n.startswith("_") for n in names):
            continue
        comment, i = [], node.lineno - 2
        while i >= 0 and lines[i].lstrip().startswith("#:"):
            comment.insert(0, lines[i].lstrip()[2:].strip())
            i -= 1
        if comment:
            texts.append((f"{name}.{'/'.join(names)} (#: comment)", "\n".join(comment)))
    return texts


def _forbidden_names(module) -> set[str]:
    spec = getattr(module, "SUMMATIVE", {})
    return {dotted.rpartition(".")[2] for job in spec.values() for dotted in job.get("forbidden", ())}


def _leaks(text: str, forbidden=()) -> list[str]:
    """What in one help text gives an answer away (empty when nothing does)."""
    found = []
    for pattern, what in ((_TEX, "TeX"), (_CODE_FORMULA, "a formula in code"),
                          (_REFERENCE_IS, "what the reference is or how it is computed"),
                          (_VALUE, "a value stated outright"), (_NUMERIC_LIBRARY, "a numpy/scipy routine")):
        m = pattern.search(text)
        if m:
            found.append(f"{what}: {m.group(0)!r}")
    for m in _LIBRARY.finditer(text):
        if m.group(0) not in _ALLOWED_LIBRARY_NAMES:
            found.append(f"a library name: {m.group(0)!r}")
    for fn in forbidden:
        # as code: ``name`` or `name`, name(...), or a dotted module.name (a plain word such as
        # "posterior" or "entropy" in a sentence names a quantity, not the function)
        m = re.search(rf"`{re.escape(fn)}`|(?<![\w.-])(?!check\.)(?:\w+\.)+{re.escape(fn)}(?![\w-])"
                      rf"|(?<![\w.-]){re.escape(fn)}\(", text)
        if m:
            found.append(f"a function the exercise rules out: {fn!r}")
    return found


@_pytest.mark.parametrize("name", _EXERCISE_MODULES)
def test_help_text_of_checkers_gives_no_answer_away(name):
    module = _importlib.import_module(f"pedagogy_lib.exercises.{name}")
    forbidden = _forbidden_names(module)
    texts = _help_texts(module)
    assert len(texts) > 2, "the collector found no public checker functions"
    bad = [f"{where}: {reason}" for where, text in texts for reason in _leaks(text, forbidden)]
    assert not bad, "\n".join(bad)


def test_help_text_heuristic_flags_known_leaks():
    """A control: texts the checkers showed before they were rewritten, each caught by the rule named."""
    leaked = [
        (r"Exercise 3: :math:`\mathbf J_{t-1} = \boldsymbol\Upsilon_{t-1|t-1}\mathbf A^T(\mathbf A"
         r"\boldsymbol\Upsilon_{t-1|t-1}\mathbf A^T + \boldsymbol\Sigma_{\hat x})^{-1}` (Eq. 2.53).", "TeX"),
        ("Exercise 1: the average free energy (nats).\n\n.. math::\n    F = \\big\\langle q \\big\\rangle_n", "TeX"),
        ("In rows, ... reads ``B[t] = (1 - Z[t]**2) * (G[t] + B[t+1] @ D_zz)``, with ``B[T] = 0``.",
         "a formula in code"),
        ("choice of CPTs on the chain. The reference is computed by enumeration on generic random CPTs.",
         "what the reference is"),
        ("References are computed here by power iteration and by looping over pairs of states.",
         "what the reference is"),
        ("Exercise 1: the excess kurtosis of the standard logistic density, which is 6/5.", "a value stated outright"),
        ("References are direct inverses of the updated matrices (``numpy.linalg.inv``), not the identities.",
         "a numpy/scipy routine"),
        ("Reference answers are computed with :mod:`pedagogy_lib.learning.regression`, which stores samples in rows.",
         "a library name"),
        ("The reference is :meth:`pedagogy_lib.nn.Dense.backward`.", "a library name"),
    ]
    for text, rule in leaked:
        assert any(reason.startswith(rule) for reason in _leaks(text)), (rule, text)
    assert _leaks("K-means is run with kmeans(y, 3).", {"kmeans"}) == ["a function the exercise rules out: 'kmeans'"]
    assert _leaks("The reference calls ``mx.gmm_posterior`` here.", {"gmm_posterior"})
    assert _leaks("the posterior of the symmetric mixture", {"posterior"}) == []
    fine = ["Exercise (a): your gradient with respect to X at EX_TRACE. Pass a (3, 2) array, the shape of X.",
            "Reference answers are computed in this module, independently of the library.",
            "Use in the notebook as::\n\n    from pedagogy_lib.exercises import ch07_fa_pca as check\n"
            "    check.fa_em_step(my_C, my_Lambda)",
            "Exercise 2, ``ex-7-3-iterative-pca``: your (L, K) = (5, 2) matrix C from iterative PCA.",
            "Pass ``C_new`` with shape (L, K) = (4, 2); a :class:`~pedagogy_lib.mixture.GMMParams` is accepted too.",
            "The book's transition matrix is column-stochastic: ``A[i, j] = p(x_t = i | x_{t-1} = j)``.",
            "Runs with ``eps =`` :data:`EX_GRAD_EPS`; the checker recognizes a missing transpose."]
    for text in fine:
        assert not _leaks(text, {"fa_em_step", "kmeans", "pca"}), text


_DIRECTION = re.compile(r"^(one step |much |a bit |slightly )?too (early|late|small|large|few|many|high|low|big)\b"
                        r"|^(close|almost|nearly)\b", re.I)


@_pytest.mark.parametrize("module", _EXERCISE_MODULES)
def test_no_checker_says_which_way_or_how_far_a_miss_is(module):
    """A verdict such as "too large" or "close" lets a reader bisect to any number in a few dozen calls,
    so no message of a checker starts that way (named slips, "you computed r_4", stay allowed)."""
    source = (_Path(_exercises.__file__).parent / f"{module}.py").read_text(encoding="utf-8")
    found = [node.value for node in _ast.walk(_ast.parse(source))
             if isinstance(node, _ast.Constant) and isinstance(node.value, str) and _DIRECTION.search(node.value.strip())]
    assert not found, found


def test_the_direction_rule_catches_the_old_messages():
    for text in ("too early.", "one step too late: the distance is already at most 1/4", "too many edges: only",
                 "close, but not within tolerance"):
        assert _DIRECTION.search(text), text
    assert not _DIRECTION.search("you computed r_4 (one step too many)")
