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


def test_check_function_runs_the_cases_on_copies_and_stops_at_the_first_problem():
    data = np.array([1.0, 2.0])
    cases = [("case 1", (data, 2.0), "extra"), ("case 2", (data, 3.0), "extra")]
    seen = []

    def judge(out, where, x, k, extra):
        seen.append((where, extra))
        return checker.compare_array(out, k * x, f"the output on {where}")

    def scales_in_place(x, k):
        x *= k
        return x

    res = checker.check_function("demo", scales_in_place, cases, judge, name="my_scale", signature="(x, k)")
    assert res and np.array_equal(data, [1.0, 2.0]) and seen == [("case 1", "extra"), ("case 2", "extra")]
    res = checker.check_function("demo", lambda x, k: 2.0 * x, cases, judge, name="my_scale", signature="(x, k)")
    assert not res and "case 2" in str(res) and "case 1" not in str(res)
    assert "raised ZeroDivisionError" in str(checker.check_function("demo", lambda x, k: 1 / 0, cases, judge,
                                                                     name="my_scale", signature="(x, k)"))
    for answer in (None, 3):
        msg = str(checker.check_function("demo", answer, cases, judge, name="my_scale", signature="(x, k)"))
        assert "my_scale should be a function of (x, k)" in msg
    assert checker.tuple_problems((1, 2), 2, "the pair (a, b)", "case 1") == []
    assert "forget to return the pair (a, b)" in checker.tuple_problems(None, 2, "the pair (a, b)", "case 1")[0]
    assert "of length 3" in checker.tuple_problems([1, 2, 3], 2, "the pair (a, b)", "case 1")[0]


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
    assert len(messages) == 2, messages           # every unnamed miss reads the same: no band to bisect,
    (msg,) = messages - {checker.compare_scalar(0.7317, expected)[0]}  # but one agreeing to 2 digits or more
    assert "agrees to 3 significant digits" in checker.compare_scalar(0.7317, expected)[0]
    assert "0.73" not in msg and not re.search(r"too (large|small)|close|within \d|factor between", msg)
    assert "wrong sign" in checker.compare_scalar(-expected, expected)[0]
    assert "zero" in checker.compare_scalar(0.0, expected)[0]


def test_array_misses_name_neither_the_entries_nor_their_number():
    expected = np.array([0.123456789, 0.987654321, 0.5])
    one_off = checker.compare_array([0.123456789, 0.95, 0.5], expected)[0]
    two_off = checker.compare_array([0.2, 0.95, 0.5], expected)[0]
    assert one_off.replace("your answer", "") == two_off.replace("your answer", "")
    assert "entry" not in one_off and "of 3" not in one_off and "0.98" not in one_off


def test_a_hand_rounded_miss_says_how_many_digits_agree_and_how_many_the_tolerance_needs():
    msg = checker.compare_scalar(0.168709, 0.1687086)[0]        # rtol 1e-6
    assert msg == ("your answer is not within tolerance: it agrees to 6 significant digits; give at least 7 "
                   "(keep full precision; do not round by hand).")
    # a computed answer with a small error is not told to keep more digits, only how many agree
    msg = checker.compare_scalar(0.1687086 * (1 + 1e-4) ** 0.5, 0.1687086)[0]
    assert msg == "your answer is not within tolerance: it agrees to 4 significant digits, and the checker needs 7."
    assert "give at least 9" in checker.compare_scalar(0.1687, 0.1687086, rtol=1e-8)[0]
    assert "agrees to 2 significant digits; give at least 3" in \
        checker.compare_scalar(1.2, 1.23456, rtol=checker.HAND_RTOL)[0]
    assert "agrees to 2 significant digits, and the checker needs 3" in \
        checker.compare_scalar(1.25, 1.23456, rtol=checker.HAND_RTOL)[0]
    rounded = checker.compare_array([0.1235, 0.9877], np.array([0.123456789, 0.987654321]))[0]
    assert "agrees to 4 significant digits in every entry" in rounded and "0.98" not in rounded
    # one digit, a named slip, or only an absolute tolerance: no count of digits
    assert "significant" not in checker.compare_scalar(0.74, 0.7316)[0]
    assert "wrong sign" in checker.compare_scalar(-0.1687086, 0.1687086)[0]
    assert "significant" not in checker.compare_scalar(0.53, 0.5, rtol=0.0, atol=0.02)[0]
    assert "what you get if" in checker.compare_scalar(0.1688, 0.1687086, hints={"you rounded": 0.1688})[0]


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
# * a name from the module's entry of ``not_allowed.json`` (the functions an exercise rules out),
#   other than the module's own checkers called as ``check.<name>`` and the words of
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
    """The last parts of the names the module's exercises rule out (``not_allowed.json``)."""
    table = checker._not_allowed().get(module.__name__.rpartition(".")[2], {})
    return {dotted.rpartition(".")[2] for names in table.values() for dotted in names}


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


# ---------------------------------------------------------------------------------------------
# In a reader's kernel: an answer that calls a function its exercise names does not pass
# ---------------------------------------------------------------------------------------------

import types as _types


class _FakeShell:
    """What the checker reads of an IPython shell: the cells run so far, the last being the one running."""

    def __init__(self, *cells):
        self.user_ns = {"In": ["", *cells]}


def _fake_checker(monkeypatch, shell, names=("pedagogy_lib.hmm.inference.hmm_filter", "_enumerate")):
    """A checker ``my_check`` of a page module whose exercise names ``names``, in a kernel running ``shell``."""
    import IPython

    page = _types.ModuleType("pedagogy_lib.exercises.fake_page")
    exec("from pedagogy_lib.exercises import checker\n"
         "def my_check(answer):\n"
         "    return checker.result('fake exercise', [] if answer == 1 else ['not 1'])\n"
         "def other_check(answer):\n"
         "    return checker.result('other exercise', [])\n"
         "def function_check(fn):\n"
         "    return checker.check_function('fake function', fn, [('x = 1', (1,))], lambda out, where, x: [],\n"
         "                                  name='my_fn', signature='(x)')\n", page.__dict__)
    monkeypatch.setattr(checker, "_NOT_ALLOWED", [{"fake_page": {"my_check": list(names),
                                                                 "function_check": list(names)}}])
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    return page


_CALLS = "your code calls `{}`, which this exercise asks you to write yourself; the grader scores that zero."


def test_outside_a_kernel_a_named_function_is_not_looked_for(monkeypatch):
    page = _fake_checker(monkeypatch, None)
    assert page.my_check(1)


def test_the_running_cell_that_calls_a_named_function_under_an_alias_does_not_pass(monkeypatch):
    shell = _FakeShell("import pedagogy_lib.hmm as hmm\nfrom pedagogy_lib.exercises import fake_page as check",
                       "alpha = hmm.hmm_filter(1, 2, 3)\ncheck.my_check(alpha)")
    res = _fake_checker(monkeypatch, shell).my_check(1)
    assert not res and res.problems == [_CALLS.format("hmm.hmm_filter")]
    wrong = _fake_checker(monkeypatch, shell).my_check(2)
    assert wrong.problems == [_CALLS.format("hmm.hmm_filter"), "not 1"]
    assert _fake_checker(monkeypatch, shell).other_check(1)         # another exercise names nothing
    # a checker of a function answer (checker.check_function) is read the same way
    shell = _FakeShell("import pedagogy_lib.hmm as hmm", "def f(x):\n    return hmm.hmm_filter(x)\ncheck.function_check(f)")
    assert _fake_checker(monkeypatch, shell).function_check(lambda x: x).problems == [_CALLS.format("hmm.hmm_filter")]


def test_only_the_lines_that_make_the_answer_are_read(monkeypatch):
    """A cell that also calls a named function to look at something else (the page's flow, say) is not the
    answer: the checker reads the statements its argument depends on, as the grader does."""
    head = "import pedagogy_lib.hmm as hmm\nfrom pedagogy_lib.exercises import fake_page as check"
    look = "z = hmm.hmm_filter(1, 2, 3)\nprint(z)\n"
    fn = "def helper(x):\n    return x\ndef f(x):\n    return helper(x)\n"
    shell = _FakeShell(head, look + fn + "check.function_check(f)")
    assert _fake_checker(monkeypatch, shell).function_check(lambda x: x)
    # ... but a named call inside the answer's own helper, or in its argument, is found
    shell = _FakeShell(head, look + fn.replace("return x", "return hmm.hmm_filter(x)") + "check.function_check(f)")
    assert not _fake_checker(monkeypatch, shell).function_check(lambda x: x)
    shell = _FakeShell(head, "a = 1\ncheck.my_check(hmm.hmm_filter(a))")
    assert _fake_checker(monkeypatch, shell).my_check(1).problems == [_CALLS.format("hmm.hmm_filter")]
    # a value built up by item assignment and method calls is followed through them
    shell = _FakeShell(head, "out = []\nfor t in range(2):\n    out.append(hmm.hmm_filter(t))\n"
                             "other = hmm.hmm_filter(0)\ncheck.my_check(out)")
    assert _fake_checker(monkeypatch, shell).my_check(1).problems == [_CALLS.format("hmm.hmm_filter")]


def test_a_look_that_calls_a_named_function_through_a_module_the_answer_uses_is_not_the_answer(monkeypatch):
    """A line beside the answer that calls a named function with NumPy's help (``np.zeros``) was read as part
    of an answer whose function also uses ``np``: a call of a module's function was taken to change the module.
    The answer's own named call is still found."""
    head = "import numpy as np\nimport pedagogy_lib.hmm as hmm\nfrom pedagogy_lib.exercises import fake_page as check"
    fn = "def f(x):\n    return np.tanh(x)\n"
    look = "print(hmm.hmm_filter(np.zeros(3)))\n"
    shell = _FakeShell(head, fn + look + "check.function_check(f)")
    assert _fake_checker(monkeypatch, shell).function_check(lambda x: x)
    shell = _FakeShell(head, fn.replace("np.tanh(x)", "hmm.hmm_filter(np.tanh(x))") + look + "check.function_check(f)")
    assert not _fake_checker(monkeypatch, shell).function_check(lambda x: x)
    # the imports may be in the code itself or in earlier cells; a name assigned after its import is data
    assert "print" not in checker.answer_code(fn + look + "my = f", ["my"], earlier=[head])
    assert "print" not in checker.answer_code("import numpy as np\n" + fn + look + "my = f", ["my"])
    data = "np = Thing()\n" + fn + "np.fill(1)\nmy = f"
    assert "np.fill" in checker.answer_code(data, ["my"], earlier=[head])
    # a package module imported by name counts as a module; an object imported from a module does not
    assert checker._module_names(["from pedagogy_lib.contrastive import nce"]) == {"nce"}
    assert checker._module_names(["from pedagogy_lib.hmm import hmm_filter"]) == set()
    # a student's import path is not searched by running a package that is not loaded already
    assert checker._module_names(["from not_a_loaded_package import thing"]) == set()


def test_answer_code_keeps_the_statements_an_answer_depends_on():
    code = ("import numpy as np\nfrom pedagogy_lib.deepgen import nice\nz = nice.forward(flow, x)\n"
            "x = nice.forward(flow, 2 * x)\ndef g(x):\n    y = np.tanh(x)\n    return y\nmy = g(3)\n")
    kept = checker.answer_code(code, ["my"])
    assert "nice.forward" not in kept and "def g" in kept and "import numpy" in kept
    # a parameter or local of the answer's function is not the cell's variable of the same name
    assert "x = nice" not in kept
    # an expression passed to the checker reads the names in it; code that does not parse is read whole
    assert "z = nice" in checker.answer_code(code, ["z @ w.T"])
    assert checker.answer_code("def broken(:", ["my"]) == "def broken(:"
    assert checker.answer_code(code, ["unknown"]) == code


def test_a_cell_that_only_calls_checkers_is_judged_with_the_cell_before_it(monkeypatch):
    page_import = "from pedagogy_lib.exercises import fake_page as check"
    answer = "from pedagogy_lib.hmm import hmm_filter as filt\ndef forward(x):\n    return filt(x)\n"
    shell = _FakeShell(page_import, answer, "check.my_check(forward)\ncheck.other_check(2).raise_if_wrong()")
    assert _fake_checker(monkeypatch, shell).my_check(1).problems == [_CALLS.format("filt")]
    # the page's own function, by its bare name
    shell = _FakeShell(page_import, "p = _enumerate(3)", "check.my_check(p)")
    assert _fake_checker(monkeypatch, shell).my_check(1).problems == [_CALLS.format("_enumerate")]
    # a checker cell that does more than call checkers is read alone
    shell = _FakeShell(page_import, "p = _enumerate(3)", "q = 1\ncheck.my_check(q)")
    assert _fake_checker(monkeypatch, shell).my_check(1)
    # an answer written by hand passes; so does a cell two back that called the function
    shell = _FakeShell(page_import, "p = _enumerate(3)", "p = 1", "check.my_check(p)")
    assert _fake_checker(monkeypatch, shell).my_check(1)


def test_a_shell_the_checker_cannot_read_changes_nothing(monkeypatch):
    class Broken:
        @property
        def user_ns(self):
            raise RuntimeError("no namespace")

    assert _fake_checker(monkeypatch, Broken()).my_check(1)
    assert _fake_checker(monkeypatch, _FakeShell("def broken(:", "check.my_check(1)")).my_check(1)
    assert not _fake_checker(monkeypatch, _FakeShell("x = _enumerate(", "_enumerate(2)")).my_check(1)


def test_every_checker_named_in_not_allowed_json_exists():
    for module, checkers in checker._not_allowed().items():
        mod = _importlib.import_module(f"pedagogy_lib.exercises.{module}")
        for name, names in checkers.items():
            assert callable(getattr(mod, name, None)), (module, name)
            assert 1 <= len(names) <= 3 and all(isinstance(n, str) and n for n in names), (module, name, names)
