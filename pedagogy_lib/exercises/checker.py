"""The machinery every exercise checker shares.

A checker gathers a list of *problems* (human-readable strings that never contain the reference
answer) and returns a :class:`CheckResult`, which prints itself as a pass line or a list of what
is wrong, and is truthy exactly when the answer passed, so tests can ``assert check.x(answer)``.
Autograders call ``check.x(answer).raise_if_wrong()``, which raises :class:`AnswerNotAccepted`.
"""
from __future__ import annotations

import html
import importlib.abc
import importlib.machinery
import os
import re
import sys
import types
from typing import Callable, Iterable, Sequence

import numpy as np

#: The package's modules that are machinery, not a chapter's checkers.
MACHINERY = ("checker", "remote")

__all__ = ["MACHINERY", "AnswerNotAccepted", "CheckResult", "result", "problem_rng", "book_or_drawn", "drawn_for", "HAND_RTOL",
           "POLYNOMIAL_CLASS_FITS", "LEAST_SQUARES_SOLVERS", "ORTHOGONAL_FACTORIZATIONS", "QR_BY_OTHER_NAMES",
           "GENERATING_FUNCTION_READERS", "SPECIAL_POLYNOMIALS", "NUMPY_POLYNOMIAL_FAMILIES", "TRIANGULAR_FACTORIZATIONS",
           "as_numeric",
           "as_integer", "as_bool",
           "describe_miss", "compare_array", "compare_scalar", "compare_function", "compare_bool"]


class _CheckerModule(types.ModuleType):
    """A checker module whose private names (references, their helpers) are not module attributes.

    ``check._reference_solver`` raises :class:`AttributeError`: a reader who is stuck is pointed at
    the checker's messages, not at the code that computes the answer. (The source is on disk, and a
    function's ``__globals__`` still holds them; what this removes is the one-word shortcut.)
    """

    def __getattribute__(self, name: str):
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
            raise AttributeError(f"{name} is private to the checker module "
                                 f"{types.ModuleType.__getattribute__(self, '__name__')}: call its checkers with "
                                 "your answer instead")
        return super().__getattribute__(name)


class _SealingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        module = _CheckerModule(spec.name)
        return module

    def exec_module(self, module):
        self.loader.exec_module(module)


class _StandInLoader(importlib.abc.Loader):
    """In a Jupyter kernel: the module's data and stand-ins for its functions, which run in a checker
    process of their own (:mod:`pedagogy_lib.exercises.remote`)."""

    def create_module(self, spec):
        return _CheckerModule(spec.name)

    def exec_module(self, module):
        from .remote import load_into
        load_into(module)


class _SealCheckerModules(importlib.abc.MetaPathFinder):
    """Every ``pedagogy_lib.exercises.<chapter>`` module is created as a :class:`_CheckerModule`."""

    def find_spec(self, name, path=None, target=None):
        if not name.startswith(__package__ + ".") or name in (__name__, __package__ + ".remote"):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or isinstance(spec.loader, (_SealingLoader, _StandInLoader)):
            return spec
        from .remote import checkers_run_apart
        if checkers_run_apart():
            return importlib.machinery.ModuleSpec(name, _StandInLoader())
        spec.loader = _SealingLoader(spec.loader)
        return spec


if __package__ and not any(isinstance(f, _SealCheckerModules) for f in sys.meta_path):
    sys.meta_path.insert(0, _SealCheckerModules())


#: The student salt in force while a grader draws a student's own problem data (see :func:`drawn_for`).
_STUDENT_SALT: list[int] = []


def problem_rng(seed: int) -> np.random.Generator:
    """The generator a checker module draws its problem data from.

    In the book and in a reader's kernel this is ``np.random.default_rng(seed)``: everyone sees the
    same data. While a grader builds a student's copy of the module (:func:`drawn_for`), the student's
    salt joins the seed, so the same code draws data of that student's own.
    """
    if _STUDENT_SALT:
        return np.random.default_rng([int(seed), _STUDENT_SALT[-1]])
    return np.random.default_rng(seed)


def book_or_drawn(book, draw: Callable[[np.random.Generator], object], seed: int):
    """The book's hand-written problem ``book``, or, while a grader builds a student's copy of the module
    (:func:`drawn_for`), ``draw(problem_rng(seed))``: a problem of the same kind drawn for that student.

    ``draw`` must give a problem the statement still describes (same shapes, same kind of answer), and
    whose numbers the statement does not spell out.
    """
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
    """Outcome of one checker call: truthy exactly when the answer passed.

    ``check.x(answer)`` displays the verdict; ``check.x(answer).raise_if_wrong()`` raises on a
    wrong answer instead, which is how the autograder's test cells use it.
    """

    def __init__(self, name: str, problems: Sequence[str]):
        self.name = name
        self.problems = list(problems)

    @property
    def passed(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.passed

    def raise_if_wrong(self) -> "CheckResult":
        """Return this result if the answer passed; raise :class:`AnswerNotAccepted` if it did not.

        The autograder's mode (nbgrader's test cells call it): a wrong or missing answer makes the
        cell fail, with the same messages the reader sees, which never contain the reference.
        """
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
        """The verdict as a box that paints its own background and text colours.

        The colours are chosen here, not by the theme, so the contrast is the same in light and
        dark mode (dark text on a pale background, above 7:1); the verdict is also said in words
        ("Correct:" / "Not yet:") next to its icon, never by colour alone.
        """
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
        """Display the verdict; while the book is built, an untouched stub shows nothing.

        The static page cannot run the reader's answer, so a verdict on the stub's ``None`` would
        only be noise there; in a live kernel the stub's verdict says what to fill in.
        """
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
    return CheckResult(name, [p for p in problems if p])


#: Relative tolerance for answers computed with pen and paper: three significant figures.
HAND_RTOL = 5e-3

#: For the ``forbidden`` lists of ``SUMMATIVE`` tables: the least-squares solvers and pseudo-inverses, which answer
#: a problem that is least squares in disguise without its normal equations. ``pinvh`` of the symmetric block
#: matrix [[0, Z], [Z^T, 0]] holds ``pinv(Z)`` in a block, and the interpolative decomposition of [Z, eps T] at
#: Z's rank (``scipy.linalg.interpolative.interp_decomp``) keeps Z's columns and holds ``lstsq(Z, T)`` times eps;
#: the null space of [Z, s t], for s small and a loose rcond, is the one vector (s lstsq(Z, t), -1) up to scale.
LEAST_SQUARES_SOLVERS = ["numpy.linalg.lstsq", "numpy.linalg.pinv", "scipy.linalg.lstsq", "scipy.linalg.pinv",
                         "scipy.linalg.pinvh", "scipy.linalg.interpolative", "scipy.linalg.null_space"]

#: SciPy's routines that build a QR factor without ``qr`` being called, so an exercise that forbids the QR
#: factorizations forbids these too: its updates, started from Q = I and an empty (or zero) R, insert the columns
#: one at a time (``qr_insert``) or add them as rank-one updates (``qr_update``); and the Hessenberg reduction of
#: a zero matrix bordered by a vector u (first column) and a vector v (first row) is one Householder reflection
#: P, leaving -+|u| in its first column and (P v)^T in its first row: the entries of a QR factor of [u, v]. The
#: generalized Schur form of the pencil (0, B), by ``qz`` or ``ordqz``, starts from a QR factorization of B and
#: then has nothing left to do: its triangular B-factor times Z^T (Z a diagonal of signs) is the R of B = Q R.
QR_BY_OTHER_NAMES = ["scipy.linalg.qr_insert", "scipy.linalg.qr_update", "scipy.linalg.qr_delete",
                     "scipy.linalg.hessenberg", "scipy.linalg.qz", "scipy.linalg.ordqz"]

#: Orthogonal factorizations that solve the same least squares in two calls (``R a = Q^T g``, ``a = V S^-1 U^T g``),
#: with the routines that build the same factor by other names; always forbidden together with
#: LEAST_SQUARES_SOLVERS, which holds the interpolative decomposition.
ORTHOGONAL_FACTORIZATIONS = ["numpy.linalg.qr", "numpy.linalg.svd", "scipy.linalg.qr", "scipy.linalg.rq",
                             "scipy.linalg.qr_multiply", "scipy.linalg.svd", "scipy.linalg.polar", "scipy.linalg.orth",
                             # the polar factor by the matrix sign: sign([[0, Z], [Z^T, 0]]) = [[0, U], [U^T, 0]]
                             "scipy.linalg.signm", "scipy.linalg.funm",
                             *QR_BY_OTHER_NAMES]

#: SciPy's classical orthogonal polynomials (evaluators and classes), hypergeometric and parabolic cylinder
#: functions. Each holds a Hermite polynomial after a change of argument or scale (He_3(z) = 2 T_3(z / 2)
#: = -2 z L_1^(1/2)(z^2 / 2), D_3(z) = exp(-z^2 / 4) He_3(z), ...), and a Hermite polynomial is a Gaussian's
#: moments in disguise; an exercise asking for those moments forbids the whole family, not one name at a time.
SPECIAL_POLYNOMIALS = [f"scipy.special.{name}" for name in (
    "eval_jacobi", "eval_sh_jacobi", "eval_gegenbauer", "eval_chebyt", "eval_chebyu", "eval_chebyc",
    "eval_chebys", "eval_sh_chebyt", "eval_sh_chebyu", "eval_legendre", "eval_sh_legendre", "eval_laguerre",
    "eval_genlaguerre", "eval_hermite", "eval_hermitenorm",
    "jacobi", "sh_jacobi", "gegenbauer", "chebyt", "chebyu", "chebyc", "chebys", "sh_chebyt", "sh_chebyu",
    "legendre", "sh_legendre", "laguerre", "genlaguerre", "hermite", "hermitenorm",
    "hyp0f1", "hyp1f1", "hyp2f1", "hyperu", "pbdv", "pbvv", "pbwa",
    # the same functions under other names: assoc_laguerre is eval_genlaguerre with its arguments reordered,
    # lpmv (order 0) and legendre_p / legendre_p_all are the Legendre polynomials, and the parabolic cylinder
    # sequences pbdv_seq, pbvv_seq, pbdn_seq (the last at a complex argument) return D_0 ... D_n at once;
    # SciPy's newer associated and spherical Legendre functions and spherical harmonics (order 0: P_n, up to a
    # constant factor), and the prolate and oblate spheroidal angular functions at zero spheroidal parameter
    # (c = 0: the associated Legendre functions), are the Legendre polynomials once more, so 2 sqrt(5) times
    # any of them at degree 3 and z / sqrt(5) is He_3(z)
    "assoc_laguerre", "lpmv", "legendre_p", "legendre_p_all", "pbdv_seq", "pbvv_seq", "pbdn_seq",
    "assoc_legendre_p", "assoc_legendre_p_all", "sph_legendre_p", "sph_legendre_p_all", "sph_harm_y",
    "sph_harm_y_all", "pro_ang1", "obl_ang1", "pro_ang1_cv", "obl_ang1_cv")]

#: NumPy's series of the same classical families (each module stands for all of its functions and its class):
#: lagval(-mu^2, [0, 0, 8]) is 8 L_2(-mu^2), a noncentral chi-square's second moment, and chebval(z / 2,
#: [0, 0, 0, 2]) or Legendre's series at z / sqrt 5 is He_3(z), as with SciPy's evaluators; an exercise that
#: forbids SPECIAL_POLYNOMIALS because they hold a Gaussian's moments forbids these with them.
NUMPY_POLYNOMIAL_FAMILIES = ["numpy.polynomial.hermite_e", "numpy.polynomial.hermite", "numpy.polynomial.laguerre",
                             "numpy.polynomial.legendre", "numpy.polynomial.chebyshev"]

#: SciPy's and NumPy's routines that read a generating function's coefficients off in one call: a function of a
#: nilpotent shift matrix N (``expm(a N + b N^2)`` holds exp(a t + b t^2)'s Taylor coefficients in its first row,
#: ``expm_frechet`` likewise) or a discrete Fourier transform of its values at roots of unity. ``funm`` applies any
#: function f to a matrix by Parlett's recurrence: on N plus a diagonal of small distinct nodes z_0, ..., z_k its
#: corner entry is the divided difference f[z_0, ..., z_k], which at the (k + 1)-th roots of unity times r is f's
#: coefficient of t^k up to terms of order r^(k + 1), the same reading done for the caller. An exercise asking
#: for a moment, or a coefficient of a product, forbids them.
GENERATING_FUNCTION_READERS = ["scipy.linalg.expm", "scipy.linalg.expm_frechet", "scipy.linalg.funm", "numpy.fft",
                               "scipy.linalg.dft"]

#: Triangular factorizations of a covariance, whose entries are a Gaussian conditional's coefficient and variance.
TRIANGULAR_FACTORIZATIONS = ["numpy.linalg.cholesky", "scipy.linalg.cholesky", "scipy.linalg.cho_factor",
                             "scipy.linalg.cholesky_banded", "scipy.linalg.ldl", "scipy.linalg.lu",
                             "scipy.linalg.lu_factor"]

#: For the ``forbidden`` lists of ``SUMMATIVE`` tables: NumPy's polynomial classes' least-squares fits,
#: under each name they are reached by, and the modules of the orthogonal families (which the grader
#: expands to all their functions). A fit through a few values of a curve the exercise asks the student
#: to derive (a line, a parabola) gives its coefficients in one call.
POLYNOMIAL_CLASS_FITS = ("numpy.polynomial.polynomial.Polynomial.fit", "numpy.polynomial.legendre.Legendre.fit",
                         "numpy.polynomial.chebyshev.Chebyshev.fit", "numpy.polynomial.hermite.Hermite.fit",
                         "numpy.polynomial.hermite_e.HermiteE.fit", "numpy.polynomial.laguerre.Laguerre.fit",
                         "numpy.polynomial.chebyshev", "numpy.polynomial.legendre", "numpy.polynomial.laguerre",
                         "numpy.polynomial.hermite", "numpy.polynomial.hermite_e")

_TRUE_WORDS = {"true", "yes", "t", "y", "1"}
_FALSE_WORDS = {"false", "no", "f", "n", "0"}


def as_numeric(answer, what: str) -> tuple[np.ndarray | None, list[str]]:
    """``answer`` as a float array, or the problems that prevent it.

    Accepted alike: Python and NumPy numbers (``2`` and ``2.0``), numeric strings (``"2.5"``),
    nested lists and arrays, and complex values whose imaginary parts are zero. Rejected with a
    message: ``None``, booleans, text that is not a number, ragged lists, NaN and infinity.
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
    """``answer`` as a Python int: ``2``, ``2.0``, ``np.int64(2)`` and ``"2"`` are all accepted.

    Rejected with a message: ``None``, booleans, non-integral values, anything not a single number.
    """
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
    """``answer`` as a bool: ``True``, ``np.True_``, ``1``/``0`` and "yes"/"no"/"true"/"false".

    With ``strict``, only a real bool (``True``/``False``, NumPy's included) is accepted: a statement
    that says "answer with a bool" is not answered by the string ``"False"`` or the number ``0``.
    """
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
    """What can be said about a number that misses ``reference``, without telling where the reference is.

    Only slips that have a name are reported (an answer of zero where the answer is not zero); the
    size and direction of a miss are never given, because a reader who is told "too large" or
    "close" can find any number by bisection in a few dozen calls.
    """
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


def compare_array(answer, expected, what: str = "your answer", *, rtol: float = 1e-6, atol: float = 1e-8,
                  hints: dict | None = None) -> list[str]:
    """Problems with ``answer`` as an approximation of ``expected`` (never revealing ``expected``).

    Besides shape and tolerance, it recognizes common slips: a flipped sign, a transposed matrix,
    a result off by a constant factor, an answer that is not normalized. ``hints`` maps a
    description to an array that a *specific* wrong derivation would give (for example
    ``{"you used Sigma instead of its inverse": wrong}``); if the answer matches one, that
    description is reported. A miss that matches no named mistake is reported as such: never its
    size, its direction, or which and how many entries are off (see :func:`describe_miss`).
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
    if arr.size == 1:
        return [f"{what} is not within tolerance: it is {describe_miss(arr.ravel()[0], expected.ravel()[0])}."]
    # neither which entries are off nor how many: either would let guessing recover the answer
    return [f"{what} is not within tolerance: no single slip (a sign, a transpose, a scale factor, a "
            "normalization, a logarithm) explains it; recheck the derivation step by step."]


def compare_scalar(answer, expected, what: str = "your answer", *, rtol: float = 1e-6, atol: float = 1e-8,
                   hints: dict | None = None) -> list[str]:
    """Problems with a scalar answer; same diagnostics as :func:`compare_array`.

    A number in any form is accepted: ``2``, ``2.0``, ``np.float32(2)``, ``"2.0"``, ``[2.0]``.
    """
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
    """Problems with a list of real bools, one per statement (a), (b), ... of an exercise, judged all or
    nothing: a wrong answer is told neither which statements nor how many are wrong, so that it cannot be
    found by flipping one statement at a time."""
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
                     rtol: float = 1e-6, atol: float = 1e-8, describe: Callable[[tuple], str] | None = None) -> list[str]:
    """Run ``fn(*args)`` on each ``(args, expected)`` case and report the first failing one.

    The report names the failing *input* (via ``describe(args)`` if given) and what is wrong with
    the output, never the expected output itself.
    """
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
