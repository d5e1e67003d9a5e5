"""The machinery every exercise checker shares.

A checker gathers a list of *problems* (human-readable strings that never contain the reference
answer) and returns a :class:`CheckResult`, which prints itself as a pass line or a list of what
is wrong, and is truthy exactly when the answer passed, so tests can ``assert check.x(answer)``.
"""
from __future__ import annotations

import html
from typing import Callable, Iterable, Sequence

import numpy as np

__all__ = ["CheckResult", "result", "compare_array", "compare_scalar", "compare_function", "compare_bool"]


class CheckResult:
    """Outcome of one checker call."""

    def __init__(self, name: str, problems: Sequence[str]):
        self.name = name
        self.problems = list(problems)

    @property
    def passed(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return f"[pass] {self.name}: correct."
        lines = [f"[not yet] {self.name}:"] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if self.passed:
            return f'<p style="color:#1a7f37"><strong>&#10004; {html.escape(self.name)}</strong>: correct.</p>'
        items = "".join(f"<li>{html.escape(p)}</li>" for p in self.problems)
        return (f'<div style="color:#b35900"><strong>&#10008; {html.escape(self.name)}</strong>: not yet.'
                f"<ul>{items}</ul></div>")


def result(name: str, problems: Iterable[str]) -> CheckResult:
    return CheckResult(name, [p for p in problems if p])


def as_numeric(answer, what: str) -> tuple[np.ndarray | None, list[str]]:
    if answer is None:
        return None, [f"{what} is None: did the cell (or your function) forget to return a value?"]
    try:
        arr = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return None, [f"{what} should be numeric; got {type(answer).__name__}."]
    if not np.all(np.isfinite(arr)):
        return None, [f"{what} contains NaN or inf."]
    return arr, []


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def compare_array(answer, expected, what: str = "your answer", *, rtol: float = 1e-6, atol: float = 1e-8,
                  hints: dict | None = None) -> list[str]:
    """Problems with ``answer`` as an approximation of ``expected`` (never revealing ``expected``).

    Besides shape and tolerance, it recognizes common slips: a flipped sign, a transposed matrix,
    a result off by a constant factor, an answer that is not normalized. ``hints`` maps a
    description to an array that a *specific* wrong derivation would give (for example
    ``{"you used Sigma instead of its inverse": wrong}``); if the answer matches one, that
    description is reported.
    """
    arr, problems = as_numeric(answer, what)
    if problems:
        return problems
    expected = np.asarray(expected, dtype=float)
    if arr.shape != expected.shape:
        if arr.T.shape == expected.shape and _close(arr.T, expected, rtol, atol):
            return [f"{what} has shape {arr.shape} but should have shape {expected.shape}: it is the transpose."]
        return [f"{what} should have shape {expected.shape}; got {arr.shape}."]
    if _close(arr, expected, rtol, atol):
        return []
    for description, wrong in (hints or {}).items():
        wrong = np.asarray(wrong, dtype=float)
        if wrong.shape == arr.shape and _close(arr, wrong, rtol, atol):
            return [f"{what} is what you get if {description}."]
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and _close(arr.T, expected, rtol, atol):
        return [f"{what} is the transpose of the correct matrix."]
    if np.any(expected != 0) and _close(-arr, expected, rtol, atol):
        return [f"{what} has the wrong sign."]
    flat_e, flat_a = expected.ravel(), arr.ravel()
    if expected.size > 1 and np.any(flat_e != 0) and np.any(flat_a != 0):
        # proportional to the answer: say so, but not by how much (the factor would reveal it)
        ratio = float(flat_a @ flat_e / (flat_e @ flat_e))
        if abs(ratio - 1) > 1e-3 and _close(arr, ratio * expected, rtol, atol):
            return [f"{what} is proportional to the correct answer but scaled by a constant: "
                    "check a normalization or a factor of 2."]
    err = np.abs(arr - expected)
    tol = atol + rtol * np.abs(expected)
    if arr.ndim == 0:
        rel = float(err / max(abs(float(expected)), 1e-300))
        return [f"{what} is not within tolerance (relative error {rel:.2g}; rtol {rtol:g}, atol {atol:g})."]
    bad = np.argwhere(err > tol)
    first = tuple(int(i) for i in bad[0])
    rel = float(err[first] / max(abs(expected[first]), 1e-300))
    return [f"{what}: entry {first if len(first) > 1 else first[0]} is not within tolerance (relative error "
            f"{rel:.2g}; rtol {rtol:g}, atol {atol:g}); {bad.shape[0]} of {expected.size} entries are off."]


def compare_scalar(answer, expected, what: str = "your answer", *, rtol: float = 1e-6, atol: float = 1e-8,
                   hints: dict | None = None) -> list[str]:
    """Problems with a scalar answer; same diagnostics as :func:`compare_array`."""
    arr, problems = as_numeric(answer, what)
    if problems:
        return problems
    if arr.ndim != 0 and arr.size != 1:
        return [f"{what} should be a single number; got an array of shape {arr.shape}."]
    return compare_array(float(arr.reshape(())), float(expected), what, rtol=rtol, atol=atol, hints=hints)


def compare_bool(answer, expected: bool, what: str = "your answer") -> list[str]:
    if not isinstance(answer, (bool, np.bool_)):
        return [f"{what} should be True or False; got {type(answer).__name__}."]
    return [] if bool(answer) == bool(expected) else [f"{what} is not right: think again about the argument."]


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
