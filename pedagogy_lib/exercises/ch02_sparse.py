"""Checkers for the exercises of notebook 2.1.3 (sparse coding and Laplace's method)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.linalg import TAU
from .checker import FUNCTION_ANSWER, book_or_drawn, compare_array, compare_function, compare_scalar, result

__all__ = ["EX_MAP_1D", "EX_HESSIAN", "EX_EVIDENCE", "map_1d", "hessian", "laplace_log_evidence"]


class Map1DCases(NamedTuple):
    """Inputs ``(y, c, lam, alpha, gamma)`` on which a student's ``map_1d`` is run."""

    cases: tuple


class HessianProblem(NamedTuple):
    """A Cauchy-prior sparse-coding model (Eq. 2.29, E_k = log(beta^2 + x_k^2)) and a point ``x`` (K,)."""

    C: np.ndarray
    lam: float
    beta: float
    x: np.ndarray


class EvidenceProblem(NamedTuple):
    """A Laplace-prior model with one source and an observation ``y`` (L,)."""

    C: np.ndarray
    lam: float
    alpha: float
    beta: float
    y: np.ndarray


#: Scalar inputs (y, c, lam, alpha, gamma) of map_1d: both signs, c != 1, gamma = 0 and gamma > 0.
EX_MAP_1D = Map1DCases(cases=(
    (2.0, 1.0, 1.0, 0.5, 0.5), (-3.0, 2.0, 0.5, 1.0, 1.0), (0.3, 1.0, 2.0, 1.0, 0.0), (1.0, -0.5, 4.0, 1.5, 2.0),
    (-0.4, 2.0, 1.0, 1.0, 0.3), (5.0, 0.7, 3.0, 2.0, 4.0), (0.0, 1.3, 1.0, 0.1, 1.0), (-2.5, 1.5, 2.0, 0.5, 0.0),
    (1.2, -1.6, 0.8, 0.4, 1.5),
))

def _draw_hessian(rng):
    """A problem like EX_HESSIAN, one entry of x inside (-beta, beta), one outside."""
    while True:
        C = np.round(rng.normal(0.0, 0.8, size=(3, 2)), 1) + 0.0
        if np.linalg.matrix_rank(C) == 2:
            break
    beta = float(rng.choice([0.5, 0.8, 1.5, 2.0]))
    inside = rng.uniform(0.1, 0.7) * beta
    outside = rng.uniform(1.3, 2.0) * beta
    x = np.round(rng.permutation([inside, outside]) * rng.choice([-1.0, 1.0], size=2), 2)
    return HessianProblem(C=C, lam=float(rng.choice([0.5, 2.0, 3.0, 5.0])), beta=beta, x=x)


#: Hessian problem: L = 3, K = 2, a Cauchy prior; one entry of x lies beyond beta.
EX_HESSIAN = book_or_drawn(HessianProblem(C=np.array([[1.0, 0.5], [0.0, 1.0], [-0.5, 0.3]]), lam=2.0,
                                          beta=0.5, x=np.array([0.2, -0.9])),
                           _draw_hessian, seed=2131)


def _draw_evidence(rng):
    """A problem like EX_EVIDENCE: K = 1, L = 2, beta = 50, y far enough from zero that the mode is not zero."""
    while True:
        C = np.round(rng.normal(0.0, 0.8, size=(2, 1)), 1) + 0.0
        c = C[:, 0]
        lam = float(rng.choice([2.0, 3.0, 4.0, 5.0, 6.0]))
        alpha = round(float(rng.uniform(0.5, 2.5)), 1)
        y = np.round(c * rng.uniform(1.0, 2.5) * rng.choice([-1.0, 1.0]) + rng.normal(0.0, lam**-0.5, size=2),
                     1) + 0.0
        if c @ c >= 0.5 and abs(c @ y) > 1.5 * alpha / lam:
            return EvidenceProblem(C=C, lam=lam, alpha=alpha, beta=50.0, y=y)


#: Evidence problem: K = 1, L = 2, a Laplace prior (beta = 50 for the Hessian surrogate).
EX_EVIDENCE = book_or_drawn(EvidenceProblem(C=np.array([[0.8], [-0.6]]), lam=5.0, alpha=1.5, beta=50.0,
                                            y=np.array([1.5, -0.2])), _draw_evidence, seed=2132)


def _soft(z, t):
    """Soft thresholding of z at t."""
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


_MAP_1D_WRONG = {
    "you left out the Gaussian part of the prior (gamma), as if it were the Laplace prior alone":
        lambda y, c, lam, alpha, gamma: _soft(y / c, alpha / (lam * c * c)),
    "you added gamma to the curvature in the threshold but not in the point that is thresholded":
        lambda y, c, lam, alpha, gamma: _soft(y / c, alpha / (lam * c * c + gamma)),
    "you added gamma to the curvature in the point that is thresholded but not in the threshold":
        lambda y, c, lam, alpha, gamma: _soft(lam * c * y / (lam * c * c + gamma), alpha / (lam * c * c)),
    "you returned the ridge solution, leaving out the Laplace part (alpha)":
        lambda y, c, lam, alpha, gamma: lam * c * y / (lam * c * c + gamma),
    "you thresholded the ridge solution with alpha / lam, forgetting the quadratic's curvature":
        lambda y, c, lam, alpha, gamma: _soft(lam * c * y / (lam * c * c + gamma), alpha / lam),
    "you hard-thresholded (kept the point unshrunk when it is above the threshold)":
        lambda y, c, lam, alpha, gamma: np.where(np.abs(lam * c * y) > alpha, lam * c * y / (lam * c * c + gamma),
                                                 0.0),
    "you dropped the sign (negative solutions came out as 0)":
        lambda y, c, lam, alpha, gamma: np.maximum(lam * c * y - alpha, 0.0) / (lam * c * c + gamma),
    "you returned the least-squares solution y / c, with no prior at all":
        lambda y, c, lam, alpha, gamma: y / c,
}


def map_1d(fn):
    """The first exercise of notebook 2.1.3: your function ``fn(y, c, lam, alpha, gamma)`` returning the
    one-dimensional posterior mode of the statement's model, run on :data:`EX_MAP_1D`. Slips named: a part of the
    prior left out, gamma in one place only, lost negative solutions, hard thresholding, no prior."""
    from .references import ch02_sparse as refs
    name = "MAP estimate with an elastic-net prior (1-D)"
    if fn is None:
        return result(name, ["map_1d is None: write the function first."])
    cases = [(args, refs.map_1d_reference(*args)) for args in EX_MAP_1D.cases]

    def describe(args):
        return "y={}, c={}, lam={}, alpha={}, gamma={}".format(*args)

    problems = compare_function(fn, cases, "map_1d", describe=describe)
    if problems and callable(fn):
        try:
            outs = [float(fn(*args)) for args, _ in cases]
        except Exception:  # noqa: BLE001 - already reported by compare_function
            outs = None
        if outs is not None:
            for description, wrong in _MAP_1D_WRONG.items():
                if np.allclose(outs, [wrong(*args) for args, _ in cases], rtol=1e-6, atol=1e-8):
                    return result(name, [f"map_1d looks like {description}."])
    return result(name, problems)


def hessian(answer):
    """Exercise ``ex-2-1-3-hessian``: your Hessian (2, 2) of the posterior energy at ``EX_HESSIAN.x``, to a relative
    1e-10 (which finite differences do not reach). Slips named: a missing factor or square, a sign, a single
    derivative, another prior's curvature, no emission term."""
    from .references import ch02_sparse as refs
    p = EX_HESSIAN
    expected = refs.hessian_reference(p)
    CtC = p.C.T @ p.C
    x2, b2 = p.x**2, p.beta**2
    curv = 2 * (b2 - x2) / (b2 + x2) ** 2
    hints = {
        "you left out the factor lambda in front of C^T C": CtC + np.diag(curv),
        "you lost the factor 2 that the derivative of log(beta^2 + x^2) brings down":
            p.lam * CtC + np.diag(curv / 2),
        "the sign of the curvature is flipped: recheck the quotient rule's numerator":
            p.lam * CtC + np.diag(-curv),
        "the denominator of the curvature is not squared: recheck the quotient rule": p.lam * CtC
            + np.diag(2 * (b2 - x2) / (b2 + x2)),
        "you differentiated the prior energy only once": p.lam * CtC + np.diag(2 * p.x / (b2 + x2)),
        "you forgot the emission term lambda C^T C": np.diag(curv),
        "you left out the prior's curvature": p.lam * CtC,
        "you used a constant curvature 2 / beta^2 (the value at x = 0) at every x": p.lam * CtC
            + np.diag(np.full(2, 2 / b2)),
    }
    # tight: the curvature is asked for in closed form, and differences of the energy miss by about 1e-8
    return result("Hessian of the posterior energy",
                  compare_array(answer, expected, "your Hessian", rtol=1e-10, atol=1e-12, hints=hints))


def laplace_log_evidence(answer):
    """Exercise ``ex-2-1-3-laplace-evidence``: your Laplace approximation of the log evidence of ``EX_EVIDENCE.y``
    (corrected Eq. 2.34, with Z_joint). Slips named: the draft's sign, no normalizer, each missing or misplaced
    factor."""
    from .references import ch02_sparse as refs
    p = EX_EVIDENCE
    la, L, K, logdet = refs.evidence_parts(p)
    x0 = la.x0
    prior_term = p.alpha * float(np.sum(np.abs(x0)))
    expected = la.log_evidence
    hints = {
        "you used the draft's sign, exp{+alpha^T|x0| - ...}; the whole joint energy enters with a minus sign":
            expected + 2 * prior_term,
        "you left out the normalizer Z_joint": expected + la.log_Z_joint,
        "you left out the factor tau^{K/2}": expected - 0.5 * K * np.log(TAU),
        "you used tau^{L/2} (emission dimension) where Laplace's method needs tau^{K/2} (source dimension)":
            expected + 0.5 * (L - K) * np.log(TAU),
        "you left out the determinant factor |H|^{-1/2}": expected + 0.5 * logdet,
        "you used |H|^{+1/2} instead of |H|^{-1/2}": expected + logdet,
        "you omitted the emission's normalizer (tau/lambda)^{L/2} from Z_joint":
            expected + 0.5 * L * np.log(TAU / p.lam),
    }
    return result("Laplace log evidence", compare_scalar(answer, expected, "your log p(y)", hints=hints))

#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-2-1-3-soft-threshold": {"same_data": FUNCTION_ANSWER},
}
