r"""Checkers for the exercises of notebook 2.2.2 (Kalman filter and RTS smoother)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..gaussian import blocks as g
from ..lgssm import kalman as kf
from ..lgssm.model import LGSSMParams, sample_lgssm
from . import checker
from .engine import Exercise, Part, lazy, summative

__all__ = ["ScalarSSM", "EX_WALK", "StepProblem", "EX_STEP", "GainProblem", "EX_GAIN_J", "steady_state", "one_step",
           "smoother_gain", "inflating_A", "rts_backward_pass"]


class ScalarSSM(NamedTuple):
    """A scalar AR(1) state (coefficient ``a``, noise variance ``q``) observed through the gain ``c`` in noise of
    variance ``r``."""

    a: float
    c: float
    q: float
    r: float


_OTHER_ROOT = "you took the other root of the quadratic"


def _other_root(p: ScalarSSM, ref) -> float:
    b = p.r - p.a * p.a * p.r - p.q * p.c * p.c
    return (-b - np.sqrt(b * b + 4.0 * p.c**2 * p.q * p.r)) / (2.0 * p.c**2)


def _filtered(p: ScalarSSM, ref) -> float:
    return ref[0] * p.r / (p.c * p.c * ref[0] + p.r)


def _draw_walk(rng):
    """A model like EX_WALK: a and c away from 0 and 1, q and r positive (None: draw again)."""
    a = round(float(rng.uniform(0.3, 1.3)), 1)
    c = round(float(rng.uniform(0.4, 2.5) * rng.choice([-1.0, 1.0])), 1)
    prob = ScalarSSM(a=a, c=c, q=round(float(rng.uniform(0.2, 2.0)), 1), r=round(float(rng.uniform(0.5, 4.0)), 1))
    return None if abs(a - 1.0) < 0.15 or abs(abs(c) - 1.0) < 0.15 else prob


_WALK = Exercise(
    label="ex-2-2-2-steady-state", name="steady_state", title="steady-state variance and gain",
    reference="ch02_kalman:walk_reference", book=ScalarSSM(a=0.8, c=2.0, q=0.5, r=1.0), draw=_draw_walk, seed=2221,
    parts=(Part("P", "P", "scalar", apart=(0.03, 0.0), slips={
        "you gave the filtered variance Upsilon_{t|t} instead of the predicted Upsilon_{t|t-1}": _filtered,
        _OTHER_ROOT: _other_root,
        "you used the random walk's equation (a = c = 1)": "ch02_kalman:random_walk_root",
        "your time update left out a^2": "ch02_kalman:root_without_a2",
        "your measurement update left out c": "ch02_kalman:root_without_c"}),
        Part("K", "K", "scalar", apart=(0.03, 0.0), slips={
            "you left the factor c out of the numerator of the gain": lambda p, ref: ref[0] / (p.c**2 * ref[0] + p.r),
            "you left c out of the gain altogether": lambda p, ref: ref[0] / (ref[0] + p.r),
            "you used the filtered variance in the gain":
                lambda p, ref: _filtered(p, ref) * p.c / (p.c**2 * _filtered(p, ref) + p.r)})),
    doc=r"""Exercise 1, ``ex-2-2-2-steady-state``: your steady-state *predicted* variance P and filter gain K (Eq. 2.47,
    not the smoother gain) for :data:`EX_WALK`. Slips named: the filtered variance, the other root, the random walk's
    equation, an update without its factor, slips in the gain.""")

#: Exercise 1: a scalar AR(1) state observed through a gain c in noise.
EX_WALK = _WALK.book_or_drawn()


class StepProblem(NamedTuple):
    """One filter step: the filter at t - 1, the model (two sensors) and y_t, its missing reading NaN."""

    mu_prev: np.ndarray
    Upsilon_prev: np.ndarray
    A: np.ndarray
    a: np.ndarray
    Sigma_x: np.ndarray
    C: np.ndarray
    c: np.ndarray
    Sigma_y_x: np.ndarray
    y: np.ndarray


def _step_slips(p: StepProblem) -> tuple[dict, dict]:
    """Filter means and covariances that named wrong derivations give."""
    pred = g.marginalize(p.mu_prev, p.Upsilon_prev, p.A, p.a, p.Sigma_x)
    seen = ~np.isnan(p.y)
    miss = ~seen
    zero = np.where(seen, p.y, 0.0)
    as_pred = np.where(seen, p.y, p.C @ pred.mu + p.c)
    R = p.Sigma_y_x
    R_cond = (R[np.ix_(seen, seen)]
              - R[np.ix_(seen, miss)] @ np.linalg.solve(R[np.ix_(miss, miss)], R[np.ix_(miss, seen)]))
    both_zero = g.bayes_invert(pred.mu, pred.Sigma, p.C, p.c, R, zero)
    both_pred = g.bayes_invert(pred.mu, pred.Sigma, p.C, p.c, R, as_pred)
    cond = g.bayes_invert(pred.mu, pred.Sigma, p.C[seen], p.c[seen], R_cond, p.y[seen])
    skipped = g.bayes_invert(p.mu_prev, p.Upsilon_prev, p.C[seen], p.c[seen], R[np.ix_(seen, seen)], p.y[seen])
    mean = {
        "you put 0 in place of the missing reading": both_zero.mu,
        "you put the predicted reading in place of the missing one and kept both rows": both_pred.mu,
        "you used the noise variance of the observed reading given the missing one; the missing reading is "
        "not known": cond.mu,
        "you skipped the time update (Eq. 2.48) and conditioned the old filter directly": skipped.mu,
        "you stopped after the time update (that is the prediction)": pred.mu,
    }
    cov = {
        "you updated the covariance with both readings": both_zero.Sigma,
        "you used the noise variance of the observed reading given the missing one": cond.Sigma,
        "you skipped the time update (Eq. 2.48)": skipped.Sigma,
        "you stopped after the time update (that is Upsilon_{t|t-1})": pred.Sigma,
    }
    return mean, cov


def _draw_step(rng):
    """A step like EX_STEP: offsets, correlated sensors, one reading missing (None: draw again)."""
    mu_prev = np.round(rng.normal(0.0, 1.0, size=2), 1) + 0.0
    off = round(float(rng.uniform(-0.5, 0.5) * np.sqrt(0.15 * 0.45)), 2) + 0.0
    Upsilon_prev = np.array([[round(float(rng.uniform(0.2, 0.8)), 1), off],
                             [off, round(float(rng.uniform(0.2, 0.45)), 1)]])
    A = np.array([[1.0, round(float(rng.uniform(0.5, 1.5)), 1)], [0.0, 1.0]])
    a = np.array([0.0, round(float(rng.uniform(0.1, 0.4) * rng.choice([-1.0, 1.0])), 1)])
    Sigma_x = np.diag(np.round(rng.uniform(0.02, 0.2, size=2), 2))
    C = np.array([[1.0, 0.0], [1.0, round(float(rng.uniform(0.3, 1.0)), 1)]])
    c = np.round(rng.uniform(0.1, 0.5, size=2) * rng.choice([-1.0, 1.0], size=2), 1) + 0.0
    v = np.round(rng.uniform(0.3, 1.0, size=2), 1)
    rho = round(float(rng.uniform(0.4, 0.8) * rng.choice([-1.0, 1.0])), 1)
    Sigma_y_x = np.array([[v[0], round(rho * float(np.sqrt(v[0] * v[1])), 2)],
                          [round(rho * float(np.sqrt(v[0] * v[1])), 2), v[1]]])
    if np.linalg.eigvalsh(Sigma_y_x).min() < 0.05:
        return None
    m = A @ mu_prev + a
    P = A @ Upsilon_prev @ A.T + Sigma_x
    S = C @ P @ C.T + Sigma_y_x
    y = np.round(C @ m + c + rng.uniform(-1.5, 1.5, size=2) * np.sqrt(np.diag(S)), 1) + 0.0
    y[int(rng.integers(2))] = np.nan
    return StepProblem(mu_prev=mu_prev, Upsilon_prev=Upsilon_prev, A=A, a=a, Sigma_x=Sigma_x, C=C, c=c,
                       Sigma_y_x=Sigma_y_x, y=y)


_STEP = Exercise(
    label="ex-2-2-2-one-step", name="one_step", title="one Kalman filter step with a missing reading",
    reference="ch02_kalman:step_filter", draw=_draw_step, seed=2222, book=StepProblem(
        mu_prev=np.array([1.0, 0.5]), Upsilon_prev=np.array([[0.5, 0.1], [0.1, 0.3]]),
        A=np.array([[1.0, 1.0], [0.0, 1.0]]), a=np.array([0.0, -0.2]), Sigma_x=np.array([[0.05, 0.0], [0.0, 0.1]]),
        C=np.array([[1.0, 0.0], [1.0, 0.5]]), c=np.array([0.3, -0.2]), Sigma_y_x=np.array([[0.4, 0.3], [0.3, 0.6]]),
        y=np.array([2.6, np.nan])),
    parts=(Part("mu_filt", "the filter mean", apart=(0.0, 0.02), slips=lambda p, ref: _step_slips(p)[0]),
           Part("Upsilon_filt", "the filter covariance", apart=(0.0, 0.005), slips=lambda p, ref: _step_slips(p)[1])),
    doc=r"""Exercise 2, ``ex-2-2-2-one-step``: your filter mean (2,) and covariance (2, 2) after one time and one
    measurement update of :data:`EX_STEP`. Slips named: the missing reading replaced by 0 or its prediction, the noise
    conditioned on the missing reading, a skipped time update, a stop after it.""")

#: Exercise 2: one time update followed by one measurement update, n = 2, m = 2, the second reading missing.
EX_STEP = _STEP.book_or_drawn()


class GainProblem(NamedTuple):
    """The filter covariance at t - 1 and the transition: enough for the smoother gain."""

    Upsilon_filt: np.ndarray
    A: np.ndarray
    Sigma_x: np.ndarray


def _draw_gain_j(rng):
    """A problem like EX_GAIN_J: a positive-definite U, an invertible A near the identity, diagonal Sigma_x."""
    off = round(float(rng.uniform(-0.5, 0.5) * np.sqrt(0.1 * 0.5)), 2) + 0.0
    U = np.array([[round(float(rng.uniform(0.2, 0.6)), 1), off], [off, round(float(rng.uniform(0.1, 0.5)), 1)]])
    A = np.round(np.diag(rng.uniform(0.6, 1.0, size=2)) + rng.uniform(-0.4, 0.4, size=(2, 2)) * (1 - np.eye(2)),
                 1) + 0.0
    if abs(np.linalg.det(A)) > 0.2 and np.linalg.eigvalsh(U).min() > 0.05:
        return GainProblem(Upsilon_filt=U, A=A, Sigma_x=np.diag(np.round(rng.uniform(0.05, 0.4, size=2), 2)))
    return None


def _two_step_slips(p: GainProblem, ref=None) -> dict:
    U, A, Q = p
    A2 = A @ A

    def gain(M, P):
        return np.linalg.solve(P, M @ U).T

    J1 = gain(A, A @ U @ A.T + Q)
    return {
        "you gave the one-step gain J_{t-1} of Eq. 2.53": J1,
        "you left out the noise of the middle step, A Sigma_x A^T": gain(A2, A2 @ U @ A2.T + Q),
        "you added the middle step's noise without passing it through A": gain(A2, A2 @ U @ A2.T + 2 * Q),
        "you multiplied two one-step gains built on the same filter covariance": J1 @ J1,
        "you squared the entries of A instead of multiplying A by itself": gain(A * A, (A * A) @ U @ (A * A).T
                                                                                + A @ Q @ A.T + Q),
        "you used the predicted covariance itself where its inverse belongs":
            U @ A2.T @ (A2 @ U @ A2.T + A @ Q @ A.T + Q),
    }


_GAIN_J = Exercise(
    label="ex-2-2-2-smoother-gain", name="smoother_gain", title="two-step smoother gain",
    reference="ch02_kalman:two_step_gain", draw=_draw_gain_j, seed=2223,
    book=GainProblem(Upsilon_filt=np.array([[0.4, 0.1], [0.1, 0.2]]), A=np.array([[0.9, 0.3], [-0.2, 0.8]]),
                     Sigma_x=np.array([[0.3, 0.0], [0.0, 0.1]])),
    parts=(Part("J", "J", slips=_two_step_slips),),
    doc=r"""Exercise 3, ``ex-2-2-2-smoother-gain``: your two-step smoother gain J for :data:`EX_GAIN_J` (step t has no
    observation), (2, 2). Slips named: the one-step gain, the middle noise left out or not passed through A, a product
    of one-step gains, A squared entrywise, the covariance for its inverse.""")

#: Exercise 3: the smoother gain of Eq. 2.53.
EX_GAIN_J = _GAIN_J.book_or_drawn()

steady_state = _WALK.checker(globals(), EX_WALK)
one_step = _STEP.checker(globals(), EX_STEP)
smoother_gain = _GAIN_J.checker(globals(), EX_GAIN_J)


#: The example of the page's "stable but inflating" cell, which the exercise asks not to reuse.
_PAGE_A_BAD = np.array([[0.5, 10.0], [0.0, 0.5]])


def _near_page_example(arr) -> bool:
    """A within a quarter of the page's example (its transpose, their negatives) or pointing its way (within 5%)."""
    size = np.linalg.norm(arr)
    for X in (_PAGE_A_BAD, _PAGE_A_BAD.T):
        for s in (1, -1):
            ref = s * X
            if np.linalg.norm(arr - ref) < 0.25 * np.linalg.norm(ref):
                return True
            if size > 0 and np.linalg.norm(arr / size - ref / np.linalg.norm(ref)) < 0.05:
                return True
    return False


def inflating_A(A) -> checker.CheckResult:  # its own logic: the answer is a matrix of the reader's making
    """Exercise 4, ``ex-2-2-2-inflating``: your real 2 x 2 A, strictly stable with complex eigenvalues, whose time
    update enlarges the identity covariance in some direction. The page's example, its transpose, negatives, small
    changes and multiples do not pass."""
    arr, problems = checker.as_numeric(A, "A")
    if problems:
        return checker.result("a stable A that inflates uncertainty", problems)
    if arr.shape != (2, 2):
        return checker.result("a stable A that inflates uncertainty", [f"A should have shape (2, 2); got {arr.shape}."])
    if _near_page_example(arr):
        return checker.result("a stable A that inflates uncertainty", [
            "this is (close to) the page's example A_bad, its transpose or a multiple of one of them: the "
            "statement asks for a matrix of your own construction."])
    rho = float(np.max(np.abs(np.linalg.eigvals(arr))))
    grow = float(np.linalg.eigvalsh(arr @ arr.T - np.eye(2)).max())
    (a, b), (c, d) = arr.tolist()
    if (a - d) ** 2 + 4 * b * c >= 0:          # the discriminant of the characteristic polynomial
        problems.append("the eigenvalues of this A are real; the statement asks for a complex-conjugate pair.")
    if rho >= 1.0:
        problems.append(f"A has spectral radius {rho:.3g} >= 1, so it is not strictly stable.")
    if grow <= 0.0:
        problems.append("A A^T - I has no positive eigenvalue: this A shrinks Upsilon = I in every direction, "
                        "so its time update inflates nothing.")
    return checker.result("a stable A that inflates uncertainty", problems)


def _rts_cases():
    """Hidden problems: filters of random stable models with offsets, each named by its size."""
    r = checker.problem_rng(2224)
    cases = []
    for n, m, T in [(2, 1, 12), (3, 2, 20), (1, 1, 7), (4, 2, 25), (2, 3, 1)]:
        Q, _ = np.linalg.qr(r.normal(size=(n, n)))
        A = Q @ np.diag(r.uniform(0.5, 0.95, size=n)) @ Q.T + 0.3 * np.triu(r.normal(size=(n, n)), 1)
        L = 0.4 * r.normal(size=(n, n))
        Sigma_x = L @ L.T + 0.1 * np.eye(n)
        Lr = 0.5 * r.normal(size=(m, m))
        params = LGSSMParams(mu1=r.normal(size=n), Sigma1=np.eye(n) + 0.2 * np.diag(r.uniform(size=n)), A=A, B=None,
                             a=r.uniform(0.3, 1.0, size=n) * r.choice([-1.0, 1.0], size=n), Sigma_x=Sigma_x,
                             C=r.normal(size=(m, n)), c=r.normal(size=m), Sigma_y_x=Lr @ Lr.T + 0.3 * np.eye(m))
        _, y = sample_lgssm(params, T, rng=r)
        res = kf.kalman_smoother(params, y, backend="numpy")
        mu_f, U_f = res.mu_filt, res.Upsilon_filt
        cases.append((f"test problem {len(cases) + 1} ({T} step{'s' if T > 1 else ''}, n = {n})",
                      (mu_f, U_f, A, params.a, Sigma_x)))
    return cases


def _rts(item: int, **slip) -> lazy:
    """Item ``item`` of the backward pass with one named slip switched on (``references.ch02_kalman.rts_variant``)."""
    if len(slip) != 1 or not any(v != (k in ("offset", "noise")) for k, v in slip.items()):
        raise ValueError(f"one slip switched on, please; got {slip}")
    return lazy("ch02_kalman:rts_variant", star=True, item=item, **slip)


_SKIPPED = "you returned the filter itself: the backward pass never ran"
_NO_NOISE = "you left Sigma_x out of the predicted covariance Upsilon_{t|t-1}"
_TRANSPOSED = ("your gain is the transpose of J_{t-1} (the inverse of the predicted covariance multiplied on the "
               "wrong side)")
_RTS = Exercise(
    label="ex-2-2-2-rts-function", name="rts_backward_pass", title="RTS smoother backward pass (Eqs. 2.53-2.54)",
    reference="ch02_kalman:rts_variant", function="my_rts", signature="(mu_filt, Upsilon_filt, A, a, Sigma_x)",
    cases=_rts_cases,
    parts=(Part("mu_smooth", "mu_smooth on {where}", rtol=1e-7, atol=1e-9, slips={
        _SKIPPED: lambda args, ref: args[0],
        "you left the offset a out of the predicted mean": _rts(offset=False, item=0),
        _NO_NOISE: _rts(noise=False, item=0),
        _TRANSPOSED: _rts(gain_transposed=True, item=0)}),
        Part("Upsilon_smooth", "Upsilon_smooth on {where}", rtol=1e-7, atol=1e-9, slips={
            _SKIPPED: lambda args, ref: args[1],
            _NO_NOISE: _rts(noise=False, item=1),
            _TRANSPOSED: _rts(gain_transposed=True, item=1),
            "you subtracted the smoother's covariance from the predicted one instead of the other way round":
                _rts(sign_flipped=True, item=1)})),
    doc=r"""Exercise 5, ``ex-2-2-2-rts-function``: your function ``fn(mu_filt, Upsilon_filt, A, a, Sigma_x)`` returning
    ``(mu_smooth, Upsilon_smooth)``, shaped like the filter's (row t the book's t + 1). Slips named: no backward pass,
    the offset or noise left out, a transposed gain, the difference reversed.""")

rts_backward_pass = _RTS.checker(globals())

#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-2-2-2-inflating": {"same_data": "the answer is a matrix of the student's own construction; there are no data"},
    **summative(_WALK, _STEP, _GAIN_J, _RTS),
}
