r"""Checkers for the exercises of notebook 5.2.1 (InfoMax ICA); one sample per row, ``D`` the unmixing matrix of Eq.
5.27."""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import expit as _psi

from . import checker

__all__ = ["InfoMaxProblem", "EX_GRAD", "EX_FIXED", "AMARI_CASES", "EX_SOURCES", "gradient", "fixed_point", "amari",
           "separable_sources", "clamped_e_step_function"]


class InfoMaxProblem(NamedTuple):
    """Mixtures ``Y`` (N, K), one per row, and a current unmixing matrix ``D`` (K, K)."""

    Y: np.ndarray
    D: np.ndarray


def _draw_unmixing(rng) -> np.ndarray:
    """A well-conditioned, clearly non-symmetric 2 x 2 unmixing matrix, one decimal."""
    while True:
        off = rng.choice([-1.0, 1.0], size=2) * rng.uniform(0.2, 0.8, size=2)
        D = np.round(np.array([[rng.uniform(0.5, 1.5), off[0]], [off[1], rng.uniform(0.5, 1.5)]]), 1)
        if abs(D[0, 1] - D[1, 0]) >= 0.3 and np.linalg.cond(D) < 5:
            return D


def _draw_grad(rng):
    """A problem like EX_GRAD: six mixtures (one decimal) and a non-symmetric D."""
    return InfoMaxProblem(np.round(rng.normal(scale=1.1, size=(6, 2)), 1) + 0.0, _draw_unmixing(rng))


#: Exercise 1: the gradient for the arctangent squashing function at a non-symmetric D.
EX_GRAD = checker.book_or_drawn(InfoMaxProblem(
    Y=np.array([[0.5, -1.0], [1.5, 0.2], [-0.7, 0.9], [0.1, -2.0], [-1.2, -0.4], [2.2, 1.1]]),
    D=np.array([[1.0, 0.4], [-0.3, 0.8]]),
), _draw_grad, seed=5211)


def _draw_fixed(rng):
    """A problem like EX_FIXED, the matrix to invert well-conditioned and clearly not symmetric."""
    while True:
        Y, D = np.round(rng.normal(size=(5, 2)), 1) + 0.0, _draw_unmixing(rng)
        M = 2.0 * Y.T @ np.tanh(Y @ D.T) / len(Y)
        if np.linalg.cond(M) < 10 and abs(M[0, 1] - M[1, 0]) > 0.1 * np.abs(M).max():
            return InfoMaxProblem(Y, D)


#: Exercise 2: the fixed-point right-hand side for tanh squashing at a non-symmetric D.
EX_FIXED = checker.book_or_drawn(InfoMaxProblem(
    Y=np.array([[1.0, 0.3], [-0.4, 1.2], [0.8, -1.5], [-1.9, 0.1], [0.2, 0.6]]),
    D=np.array([[1.2, -0.5], [0.7, 0.9]]),
), _draw_fixed, seed=5212)

#: Exercise 3: test matrices P = D C of sizes 2, 3 and 4.
AMARI_CASES = (
    np.array([[0.0, 2.0], [-0.5, 0.0]]),
    np.array([[1.0, 0.1], [0.3, 1.0]]),
    np.array([[1.0, 1.0], [1.0, -1.0]]),
    np.array([[2.0, 0.5, 0.0], [0.1, 0.0, 3.0], [0.0, 1.0, 0.2]]),
    np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 10.0]]),
    np.array([[3.0, 0.2, 0.0, 0.5], [0.0, -1.0, 2.5, 0.0], [0.1, 4.0, 0.0, 0.0], [0.0, 0.0, 0.3, -2.0]]),
    np.array([[1.0, -1.0, 1.0, 1.0], [1.0, 1.0, -1.0, 1.0], [-1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, -0.5]]),
)

#: Exercise 4: unit-variance source laws: Student's t (5 dof), logistic, symmetric triangular.
EX_SOURCES = ("student-t5", "logistic", "triangular")


def gradient(G):
    """Exercise 1, ``ex-5-2-1-gradient``: your gradient (2, 2) of the InfoMax objective in D at :data:`EX_GRAD` for
    arctangent squashing. Slips named: the logistic or tanh gradient, the logistic's sample term, a lost constant,
    psi' for log psi', the draft's transpose, the log-det term, the loss's gradient, a sum."""
    from .references import ch05_infomax as refs
    Y, D = EX_GRAD
    N = Y.shape[0]
    U = Y @ D.T
    inner = refs.cauchy_score(U).T @ Y / N                       # row k: <g(d_k^T y) y^T>
    DinvT = np.linalg.inv(D).T
    ref = inner + DinvT
    psi_arctan = 0.5 + np.arctan(U) / np.pi
    hints = {
        "you used the page's logistic squashing function; the exercise asks for the arctangent one":
            (1.0 - 2.0 * _psi(U)).T @ Y / N + DinvT,
        "you used the tanh squashing function of the next exercise; the exercise asks for the arctangent one":
            (-2.0 * np.tanh(U)).T @ Y / N + DinvT,
        "you carried the logistic's sample term 1 - 2 psi(u) over to the arctangent psi; that identity "
        "holds for the logistic function only": (1.0 - 2.0 * psi_arctan).T @ Y / N + DinvT,
        "you lost a constant factor in the sample term: differentiate log psi'(u) again": inner / 2.0 + DinvT,
        "you differentiated psi'(u) itself where the objective has its logarithm":
            (-2.0 * U / (np.pi * (1.0 + U * U) ** 2)).T @ Y / N + DinvT,
        "you used the draft's per-sample layout y g(Dy)^T, which is transposed": inner.T + DinvT,
        "you left out the log-determinant term": inner,
        "you wrote D^{-1} where the derivative of log|det D| is D^{-T}": inner + np.linalg.inv(D),
        "you computed the gradient of the loss (Eq. 5.28 as printed), not of the objective J": -ref,
        "you summed over samples instead of averaging": N * inner + DinvT,
    }
    problems = checker.compare_array(G, ref, "your gradient", hints=hints)
    return checker.result("InfoMax gradient for the arctangent squashing function", problems)


def fixed_point(R):
    """Exercise 2, ``ex-5-2-1-fixed-point``: your right-hand side of the fixed-point equation for x = tanh(u),
    corrected layout, at :data:`EX_FIXED`, (2, 2). Slips named: the logistic's (the page's), the draft's layout, a
    lost constant, the matrix before inversion."""
    Y, D = EX_FIXED
    N = Y.shape[0]
    T = np.tanh(Y @ D.T)
    ref = np.linalg.inv(2.0 * Y.T @ T / N)
    T_logistic = np.tanh(Y @ D.T / 2.0)
    hints = {
        "this is the right-hand side for the logistic squashing function (the page's); the exercise asks for "
        "x = tanh(u)": np.linalg.inv(Y.T @ T_logistic / N),
        "your matrix is the transpose of the one in the corrected layout (the draft's layout)":
            np.linalg.inv(2.0 * T.T @ Y / N),
        "your answer is off by a constant factor: differentiate log tanh'(u) again": np.linalg.inv(Y.T @ T / N),
        "you returned the matrix without inverting it": 2.0 * Y.T @ T / N,
    }
    problems = checker.compare_array(R, ref, "your right-hand side", hints=hints)
    return checker.result("InfoMax fixed point for tanh squashing", problems)


def amari(fn):
    """Exercise 3, ``ex-5-2-1-amari``: your function ``fn(P)`` returning the Amari index of a square matrix, run on
    :data:`AMARI_CASES` (sizes 2 to 4) and on a negative multiple. Slips named: no normalizing constant, one right for
    2 x 2 only, one counting rows or columns only, one overestimating a row's largest term, no column terms."""
    from .references import ch05_infomax as refs
    title = "Amari index"
    if not callable(fn):
        return checker.result(title, [f"your amari(P) should be a function; got {type(fn).__name__}."])
    outs, expected, slips = [], [], []
    for P in AMARI_CASES:
        K = P.shape[0]
        try:
            out = fn(P.copy())
        except Exception as exc:  # noqa: BLE001 - any student error is reported, not raised
            return checker.result(title, [f"your amari(P) raised {type(exc).__name__}: {exc} "
                                          f"(on P = {np.round(P, 3).tolist()})."])
        rows, cols = refs.amari_terms(P)
        total = rows + cols
        outs.append(out)
        expected.append(refs.amari_ref(P))
        slips.append({
            "you did not divide the sum of the 2K terms by a normalizing constant": total,
            "you kept the constant of 2 x 2 matrices for a larger K; it must depend on K": total / 4.0,
            "your constant is the largest sum over the rows alone (or the columns alone), but the index "
            "adds both": total / (K * (K - 1)),
            "your constant overestimates the largest value that one row's term can take":
                total / (2.0 * K * K),
            "you left out the column terms": rows / (2 * K * (K - 1)),
        })
    failing = [i for i in range(len(AMARI_CASES)) if checker.compare_scalar(outs[i], expected[i], "")]
    if failing:
        first = failing[0]
        label = f"the output on P = {np.round(AMARI_CASES[first], 3).tolist()}"
        # a slip is named only when it explains the output on every test matrix (some slips agree
        # with each other, or with the index, on particular matrices)
        for text in slips[0]:
            if not any(checker.compare_scalar(outs[i], slips[i][text], "") for i in range(len(outs))):
                return checker.result(title, [f"{label} is what you get if {text}."])
        return checker.result(title, checker.compare_scalar(outs[first], expected[first], label))
    # it must ignore signs and a common scale
    P = AMARI_CASES[1]
    try:
        scaled = float(fn(-3.0 * P))
    except Exception as exc:  # noqa: BLE001
        return checker.result(title, [f"your amari(P) raised {type(exc).__name__}: {exc} (on -3 P)."])
    if not np.isclose(scaled, refs.amari_ref(P)):
        return checker.result(title, ["your amari(P) changes when P is scaled by -3; use absolute values and "
                                      "ratios."])
    return checker.result(title, [])


@lru_cache(maxsize=None)
def _constant_unscaled(src: str) -> float:
    """c at the unit-variance source itself (lambda = 1), a named slip."""
    from .references import ch05_infomax as refs
    return float(refs.expect(lambda s: 0.5 / np.cosh(s / 2.0) ** 2, refs.law(src)))


def separable_sources(answers):
    """Exercise 4, ``ex-5-2-1-which-sources``: a dict ``{source: c}`` over :data:`EX_SOURCES`, the stability constant
    c = E[phi'(x)] E[x^2] of InfoMax's separating solution with logistic squashing, two i.i.d. unit-variance sources
    (x = lambda s the recovered source), to 1 %."""
    from .references import ch05_infomax as refs
    title = "stability constants of InfoMax's separating solution"
    if not isinstance(answers, dict):
        return checker.result(title, [f"give a dict with keys {list(EX_SOURCES)} and numbers c as values; "
                                      f"got {type(answers).__name__}."])
    problems = []
    for src in EX_SOURCES:
        if src not in answers:
            problems.append(f"missing an answer for {src!r}.")
            continue
        if isinstance(answers[src], (bool, np.bool_)):
            problems.append(f"your answer for {src!r} is a bool: give the constant c, a number.")
            continue
        problems += checker.compare_scalar(answers[src], refs.constant(src), f"your c for {src!r}", rtol=1e-2,
                                           hints={"you evaluated c at the unit-variance source itself; check the "
                                                  "scale of the recovered source": _constant_unscaled(src)})
    return checker.result(title, problems)

def _spd(rng, L):
    """A random symmetric positive-definite L x L matrix."""
    A = rng.normal(size=(L, L))
    return A @ A.T / L + rng.uniform(0.2, 0.6) * np.eye(L)


def _clamped_cases():
    """Hidden mixtures (pi, mu, Sigma, y, labels): no labels, all labelled, far points, labels against the posterior."""
    rng = checker.problem_rng(5213)
    cases = []
    # (K, L, N, how the labels are chosen)
    for K, L, N, kind in [(2, 2, 8, "some"), (3, 2, 10, "none"), (3, 3, 6, "all"), (2, 1, 7, "far"),
                          (4, 2, 12, "against")]:
        pi = rng.dirichlet(np.full(K, 2.0))
        mu = rng.normal(scale=2.0, size=(K, L))
        Sigma = np.stack([_spd(rng, L) for _ in range(K)])
        x = rng.choice(K, size=N, p=pi)
        y = mu[x] + np.einsum("nij,nj->ni", np.linalg.cholesky(Sigma[x]), rng.normal(size=(N, L)))
        labels = np.full(N, -1)
        if kind == "some":
            idx = rng.permutation(N)[:N // 2]
            labels[idx] = x[idx]
            labels[0], labels[1] = 0, -1
        elif kind == "all":
            labels = x.copy()
            labels[0] = 0
        elif kind == "far":
            y[:3] = mu[0] + np.array([[60.0], [-80.0], [70.0]]) * np.sqrt(Sigma[0, 0, 0])
            labels[[2, 5]] = [1, 0]
        elif kind == "against":
            far_class = np.argmin(pi)
            labels[:4] = far_class                              # labels the posterior disagrees with
            labels[4:6] = [0, 1]
        cases.append((pi, mu, Sigma, y, labels.astype(int)))
    return cases


def clamped_e_step_function(fn) -> checker.CheckResult:
    """Exercise ``ex-5-2-1-clamped-e-step``: your function ``fn(pi, mu, Sigma, y, labels)`` returning the (N, K)
    E-step responsibilities of semi-supervised EM (label -1: unlabelled). Slips named: no clamping, no prior or
    determinant, Sigma uninverted, hard assignments, no normalization, class 0 as unlabelled, overflow."""
    from .references import ch05_infomax as refs
    def judge(out, where, pi, mu, Sigma, y, labels):
        if out is not None:
            try:
                arr = np.asarray(out, dtype=float)
            except (TypeError, ValueError):
                arr = None
            if arr is not None and arr.shape == (y.shape[0], pi.shape[0]) and not np.all(np.isfinite(arr)):
                return [f"on {where} your responsibilities contain NaN or inf: far from every component the densities "
                        "underflow to zero (or overflow), so work with their logarithms and subtract the largest "
                        "before exponentiating."]
        return checker.compare_array(out, refs.clamped_ref(pi, mu, Sigma, y, labels), f"the output on {where}",
                                     rtol=1e-7, atol=1e-10, hints=refs.clamped_slips(pi, mu, Sigma, y, labels))

    cases = []
    for i, (pi, mu, Sigma, y, labels) in enumerate(_clamped_cases()):
        (N, L), K = y.shape, pi.shape[0]
        cases.append((f"test problem {i + 1} (K = {K}, L = {L}, N = {N}, {np.sum(labels >= 0)} labelled)",
                      (pi, mu, Sigma, y, labels)))
    with np.errstate(all="ignore"):
        return checker.check_function("clamped E step of semi-supervised EM", fn, cases, judge,
                                      name="my_clamped_e_step", signature="(pi, mu, Sigma, y, labels)")

#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-5-2-1-amari": {"same_data": checker.FUNCTION_ANSWER},
    "ex-5-2-1-which-sources": {"same_data": "the answer is a constant for each of three named source laws"},
    "ex-5-2-1-clamped-e-step": {"same_data": checker.FUNCTION_ANSWER},
}
