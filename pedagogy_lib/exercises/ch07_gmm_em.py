r"""Checkers for the exercises of Section 7.1 (EM for the GMM, and K-means); components ``0, ..., K-1``, observations
in rows."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checker import CheckResult, book_or_drawn, compare_array, result, check_function

__all__ = ["MStepProblem", "AssignProblem", "MahalanobisProblem", "EX_MSTEP", "EX_ASSIGN", "EX_NPARAMS", "EX_MAHAL",
           "m_step", "assign_function", "n_params_function", "limit_labels"]


class MStepProblem(NamedTuple):
    """Eight points ``y`` (8, 2) and responsibilities ``r`` (8, 2), for one M step of a mixture with spherical
    components (covariance sigma_k^2 I)."""

    y: np.ndarray
    r: np.ndarray


class AssignProblem(NamedTuple):
    """One test case for a K-means assignment step: points ``y`` (N, L) and centres ``mu`` (K, L)."""

    y: np.ndarray
    mu: np.ndarray


class MahalanobisProblem(NamedTuple):
    """Weights ``pi`` (K,), means ``mu`` (K, 2), one ``Sigma`` (K, 2, 2) per component and points ``y`` (N, 2);
    component ``k`` has covariance ``s * Sigma[k]``."""

    pi: np.ndarray
    mu: np.ndarray
    Sigma: np.ndarray
    y: np.ndarray


EX_MSTEP = MStepProblem(
    y=np.array([[0.0, 1.0], [1.0, 0.5], [0.5, -0.5], [-0.5, 0.0],
                [3.0, 2.0], [4.0, 3.5], [3.5, 2.5], [2.0, 2.5]]),
    r=np.array([[0.9, 0.1], [0.8, 0.2], [0.95, 0.05], [1.0, 0.0],
                [0.1, 0.9], [0.0, 1.0], [0.2, 0.8], [0.5, 0.5]]),
)

EX_ASSIGN = (
    AssignProblem(y=np.array([[0.0, 0.0], [2.9, 0.1], [0.2, 2.2], [1.4, 1.0], [5.0, -1.0], [-3.0, 4.0]]),
                  mu=np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])),
    AssignProblem(y=np.array([[-2.0], [0.4], [0.6], [3.0], [0.5]]),          # 1-D; y = 0.5 is a tie
                  mu=np.array([[0.0], [1.0]])),
    AssignProblem(y=np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0], [-1.0, -1.0, 0.2]]),
                  mu=np.array([[0.9, 0.1, 0.0], [0.0, 1.2, -0.1], [0.1, 0.0, 0.8], [-1.0, -0.5, 0.0]])),
    AssignProblem(y=np.array([[0.0, 0.0], [4.0, 1.0], [-3.0, 2.0]]),          # K = 1
                  mu=np.array([[1.0, 1.0]])),
    AssignProblem(y=np.array([[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [1.0, 1.0], [2.0, 1.5]]),   # ties: lowest index
                  mu=np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 2.0], [3.0, 1.0]])),
)

#: ``(K, L, covariance_type)`` triples on which a parameter-counting function is checked.
EX_NPARAMS = (
    (1, 1, "full"), (1, 1, "diag"), (1, 1, "tied"),
    (3, 2, "full"), (3, 2, "diag"), (3, 2, "tied"),
    (4, 5, "full"), (4, 5, "diag"), (4, 5, "tied"),
    (2, 10, "full"), (2, 10, "diag"), (2, 10, "tied"),
    (10, 3, "full"), (10, 3, "diag"), (10, 3, "tied"),
)


def _draw_mahal(rng):
    """A problem like EX_MAHAL whose limit labels are clear-cut and differ from every named slip's."""
    from .references import ch07_gmm_em as refs
    while True:
        mu = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]]) + np.round(rng.uniform(-0.5, 0.5, size=(3, 2)), 1)
        Sigma = []
        for _ in range(3):
            angle = rng.uniform(0.2, 1.3) * rng.choice([-1.0, 1.0])
            major, minor = rng.uniform(1.5, 4.0), rng.uniform(0.2, 0.8)
            R = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            Sigma.append(np.round(R @ np.diag([major, minor]) @ R.T, 1))
        Sigma = np.array(Sigma) + 0.0
        if np.min(np.linalg.eigvalsh(Sigma)) < 0.15 or np.min(np.linalg.cond(Sigma)) < 3:
            continue
        pi = np.sort(np.round(rng.dirichlet([2.0, 2.0, 2.0]), 2))[::-1]
        pi[-1] = round(1.0 - pi[0] - pi[1], 2)
        if pi.min() < 0.05 or pi[0] - pi[1] < 0.1:
            continue
        y = np.round(rng.uniform(-1.5, 3.5, size=(8, 2)) * 2) / 2 + 0.0
        p = MahalanobisProblem(rng.permutation(pi), mu + 0.0, Sigma, y)
        labels, d2 = refs.mahal_variants(p)
        lim = labels["limit"]
        gaps = np.diff(np.sort(d2, axis=1)[:, :2], axis=1)
        if (np.all(gaps > 0.3) and np.unique(lim).size == 3 and np.unique(y, axis=0).shape[0] == 8
                and np.sum(lim != labels["euclid"]) >= 2 and np.sum(lim != labels["sigma"]) >= 2
                and np.sum(lim != labels["s=1"]) >= 1
                and all(np.sum(lim != labels[f"shared {j}"]) >= 1 for j in range(4))):
            return p


EX_MAHAL = book_or_drawn(MahalanobisProblem(
    pi=np.array([0.6, 0.3, 0.1]),
    mu=np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]]),
    Sigma=np.array([[[0.8, -0.8], [-0.8, 2.0]],          # one covariance per component, none of them
                    [[2.4, 0.7], [0.7, 0.6]],            # the page's Sigma_aniso
                    [[1.6, 0.3], [0.3, 0.6]]]),
    y=np.array([[-1.0, 1.0], [0.5, -0.5], [1.0, 0.5], [1.5, 1.0], [1.0, 2.0], [2.0, 2.0], [3.0, 2.0], [-0.5, 1.5]]),
), _draw_mahal, seed=714)


def m_step(answer) -> CheckResult:
    """Exercise ``ex-7-1-m-step``: your M step ``(pi, mu, sigma2)`` for ``EX_MSTEP`` when component k has covariance
    sigma_k^2 I; shapes (2,), (2, 2) and (2,). Slips named: unnormalized soft counts, the wrong divisor, the
    log-determinant of a single entry, standard deviations, pooled or uncentred scatter, responsibilities ignored."""
    from .references import ch07_gmm_em as refs
    name = "spherical M step for EX_MSTEP"
    if answer is None:
        return result(name, ["your answer is None: give the tuple (pi, mu, sigma2)."])
    if not isinstance(answer, (tuple, list)) or len(answer) != 3:
        return result(name, [f"your answer should be a tuple (pi, mu, sigma2) of three arrays; "
                             f"got {type(answer).__name__}" + (f" of length {len(answer)}." if isinstance(
                                 answer, (tuple, list)) else ".")])
    variants = refs.m_step_variants(EX_MSTEP)
    K, L = EX_MSTEP.r.shape[1], EX_MSTEP.y.shape[1]
    problems = []
    for part, value in zip(("pi", "mu", "sigma2"), answer):
        if part == "sigma2" and value is not None and np.shape(value) == (K, L, L):
            problems.append("your sigma2 has the shape of K full covariance matrices (the page's model); this "
                            "model has one variance per component: give an array of shape (2,).")
            continue
        hints = dict(variants[part])
        expected = hints.pop("correct")
        problems += compare_array(value, expected, part, rtol=1e-8, atol=1e-10, hints=hints)
    return result(name, problems)


def assign_function(fn) -> CheckResult:
    """Exercise ``ex-7-1-kmeans-assign``: your K-means assignment step ``fn(y, mu)`` returning integer labels (N,),
    ties to the lowest index, run on ``EX_ASSIGN``. Slips named: an (N, K) output, labels from 1, the farthest centre,
    ties."""
    from .references import ch07_gmm_em as refs
    def judge(out, label, y, mu):
        if out is None:
            return [f"your function returned None on {label}: did it forget to return?"]
        try:
            arr = np.asarray(out)
        except Exception:  # noqa: BLE001
            return [f"the output on {label} is not an array."]
        N, K = y.shape[0], mu.shape[0]
        if arr.shape == (N, K):
            return [f"the output on {label} has shape (N, K) = {arr.shape}: return one label per point (the argmin "
                    "over k), shape (N,), not the distances or a one-hot matrix."]
        if arr.shape != (N,):
            return [f"the output on {label} should have shape (N,) = ({N},); got {arr.shape}."]
        if not np.issubdtype(arr.dtype, np.integer):
            if np.issubdtype(arr.dtype, np.number) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(int)
            else:
                return [f"the output on {label} should hold integer labels; got dtype {arr.dtype}."]
        expected = refs.nearest_loop(y, mu)
        if np.array_equal(arr, expected):
            return []
        if K > 1 and np.array_equal(arr, refs.farthest_loop(y, mu)):
            return [f"on {label} your labels pick the farthest centre: use argmin, not argmax."]
        if np.array_equal(arr, expected + 1):
            return [f"on {label} your labels run from 1 to K; the code numbers components 0, ..., K-1."]
        if arr.min() < 0 or arr.max() >= K:
            return [f"on {label} some labels are outside 0, ..., K-1 = {K - 1}."]
        bad = np.flatnonzero(arr != expected)
        d = np.array([[float((y[n] - m) @ (y[n] - m)) for m in mu] for n in bad])
        tie = np.sum(np.isclose(d, d.min(axis=1, keepdims=True), rtol=0, atol=1e-12), axis=1) > 1
        if np.all(tie):
            return [f"on {label}, point(s) {bad.tolist()} are equally far from two or more centres: give such a point "
                    "to the centre with the lowest index (np.argmin does)."]
        return [f"on {label}, point(s) {bad.tolist()} are not assigned to their nearest centre."]

    cases = [(f"EX_ASSIGN[{i}] (N = {p.y.shape[0]}, L = {p.y.shape[1]}, K = {p.mu.shape[0]})", (p.y, p.mu))
             for i, p in enumerate(EX_ASSIGN)]
    return check_function("K-means assignment step", fn, cases, judge, name="my_assign", signature="(y, mu)")


def n_params_function(fn) -> CheckResult:
    """Exercise ``ex-7-1-n-params``: your function ``fn(K, L, covariance_type)`` returning the number of free
    parameters of a GMM (``"full"``, ``"diag"`` or ``"tied"``), run on ``EX_NPARAMS``."""
    from .references import ch07_gmm_em as refs
    def judge(out, label, K, L, ct):
        if out is None:
            return [f"your function returned None on {label}: did it forget to return?"]
        try:
            value = float(out)
        except (TypeError, ValueError):
            return [f"your function should return a number; on {label} it returned {type(out).__name__}."]
        expected = refs.n_params(K, L, ct)
        if value == expected:
            return []
        cov_full_sq = {"full": K * L * L, "diag": K * L, "tied": L * L}[ct]
        hints = {
            expected + 1: "check what the constraint on the mixing weights does to their count",
            (K - 1) + K * L + cov_full_sq: "check the covariance count: not every entry of a symmetric matrix is free",
            (K - 1) + K * L: "the covariance parameters are missing",
        }
        if ct == "tied":
            hints[(K - 1) + K * L + K * L * (L + 1) // 2] = "check how many covariance matrices a tied model has"
        if ct == "diag":
            hints[(K - 1) + K * L + K * L * (L + 1) // 2] = "check which entries of a diagonal covariance are free"
        hint = hints.get(value)
        return [f"on {label} your count is not right" + (f": {hint}." if hint else ".")]

    cases = [(f"K = {K}, L = {L}, covariance_type = {ct!r}", (K, L, ct)) for K, L, ct in EX_NPARAMS]
    return check_function("number of free GMM parameters", fn, cases, judge, name="my_n_params",
                          signature="(K, L, covariance_type)")


def limit_labels(answer) -> CheckResult:
    """The last exercise of Section 7.1: your labels (8,) in the zero-variance limit of the responsibilities for
    ``EX_MAHAL``, one per row of ``EX_MAHAL.y``."""
    from .references import ch07_gmm_em as refs
    name = "zero-variance limit of the responsibilities for EX_MAHAL"
    p = EX_MAHAL
    if answer is None:
        return result(name, ["your answer is None: give one label per row of EX_MAHAL.y."])
    try:
        arr = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return result(name, [f"your answer should be an array of labels; got {type(answer).__name__}."])
    N, K = p.y.shape[0], p.mu.shape[0]
    if arr.shape != (N,):
        if arr.shape == (N, K):
            return result(name, ["your answer has shape (N, K): give the labels (the argmax over k), shape (N,)."])
        return result(name, [f"your answer should have shape (N,) = ({N},); got {arr.shape}."])
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        return result(name, ["your answer should hold integer labels 0, ..., K-1."])
    arr = arr.astype(int)
    labels, _ = refs.mahal_variants(p)
    expected = labels["limit"]
    if np.array_equal(arr, expected):
        return result(name, [])
    if np.array_equal(arr, labels["euclid"]):
        return result(name, ["these are the Euclidean-nearest means (the draft's K-means box). Write out the "
                             "logits of the responsibilities with covariance s Sigma[k] and see which terms grow "
                             "as s -> 0."])
    if any(np.array_equal(arr, labels[f"shared {j}"]) for j in range(K + 1)):
        return result(name, ["these labels measure every point with one covariance shared by all components; "
                             "here component k has its own covariance s Sigma[k]."])
    if np.array_equal(arr, labels["sigma"]):
        return result(name, ["these labels come from a distance that grows where the Gaussian is wide; check "
                             "which matrix the exponent of the Gaussian density uses."])
    if np.array_equal(arr, labels["s=1"]):
        return result(name, ["these are the labels of the responsibilities at s = 1; the question is their "
                             "limit as s -> 0: see which terms of the logits grow as s shrinks."])
    # which points, or how many, are wrong is not said: with three labels, two guesses (all 0, all 1) would
    # otherwise spell out the answer
    return result(name, ["some of your labels are not those of the limit: write out the logits of the "
                         "responsibilities with covariance s Sigma[k] and see which terms grow as s -> 0."])


def _graded_m_step(rng) -> dict:
    y = np.vstack([rng.normal([0.0, 0.5], 0.8, size=(4, 2)), rng.normal([3.0, 2.5], 0.8, size=(4, 2))]).round(2)
    p = rng.uniform(0.05, 0.95, size=8).round(2)
    return {"EX_MSTEP": MStepProblem(y=y, r=np.column_stack([p, 1.0 - p]))}


def _graded_assign(rng) -> dict:
    cases = []
    for N, L, K in ((9, 2, 3), (7, 1, 2), (6, 3, 4), (4, 2, 1), (8, 2, 3)):
        cases.append(AssignProblem(y=rng.integers(-3, 4, size=(N, L)).astype(float),     # grid points: ties occur
                                   mu=rng.integers(-3, 4, size=(K, L)).astype(float)))
    return {"EX_ASSIGN": tuple(cases)}


def _graded_n_params(rng) -> dict:
    return {"EX_NPARAMS": tuple((int(rng.integers(1, 13)), int(rng.integers(1, 10)), t)
                                for _ in range(5) for t in ("full", "diag", "tied"))}


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-7-1-m-step": {"variant": _graded_m_step},
    "ex-7-1-kmeans-assign": {"variant": _graded_assign},
    "ex-7-1-n-params": {"variant": _graded_n_params},
}
