r"""Checkers for the exercises of Section 8.4.1 (MCMC); transition matrices are column-stochastic, ``T[i, j] = p(i |
j)``."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from scipy.special import logsumexp

from .checker import (FUNCTION_ANSWER, CheckResult, book_or_drawn, check_function, compare_array, compare_scalar,
                      problem_rng, result)

__all__ = ["MHProblem", "EX_MH", "EX_AR1", "accept_prob", "mh_matrix", "ar1_ess", "EX_STEPS", "step_size_claim",
           "mala_step_function"]


class MHProblem(NamedTuple):
    """An unnormalized target ``p_tilde`` (3,) and a column-stochastic proposal ``g`` (3, 3), ``g[i, j] = g(i | j)``."""

    p_tilde: np.ndarray
    g: np.ndarray


def _draw_mh(rng):
    """A problem like EX_MH: an asymmetric proposal, the move 1 -> 2 accepted with probability in (0.1, 0.9)."""
    while True:
        p = np.round(rng.uniform(0.5, 4.0, 3), 1)
        g = np.round(rng.dirichlet(np.full(3, 4.0), size=3).T, 2)
        g[np.argmax(g, axis=0), np.arange(3)] += 1.0 - g.sum(axis=0)
        g = np.round(g, 2)
        accept = p[2] * g[1, 2] / (p[1] * g[2, 1])
        if g.min() >= 0.05 and abs(g[1, 2] - g[2, 1]) >= 0.1 and 0.1 < accept < 0.9 and abs(p[2] - p[1]) >= 0.3:
            return MHProblem(p, g)


#: Exercises (a) and (b).
EX_MH = book_or_drawn(MHProblem(np.array([1.0, 3.0, 2.0]),
                                np.array([[0.2, 0.5, 0.3], [0.5, 0.1, 0.2], [0.3, 0.4, 0.5]])), _draw_mh, seed=841)


def _draw_ar1(rng):
    """A strong positive autocorrelation phi and a number of steps, not both the book's."""
    while True:
        ar1 = {"phi": round(float(rng.uniform(0.6, 0.97)), 2), "n": int(rng.choice([500, 1000, 2000, 5000]))}
        if ar1 != {"phi": 0.9, "n": 1000}:
            return ar1


#: Exercise (c): an AR(1) chain x_t = phi x_{t-1} + noise, run for n steps.
EX_AR1 = book_or_drawn({"phi": 0.9, "n": 1000}, _draw_ar1, seed=842)


def _merged(hints: dict) -> dict:
    """``hints`` with the descriptions of slips that give the same number joined."""
    out: dict = {}
    for description, value in hints.items():
        same = [d for d, v in out.items() if np.allclose(v, value, rtol=1e-8, atol=1e-12)]
        if same:
            out[same[0] + "; or " + description] = out.pop(same[0])
        else:
            out[description] = value
    return out


def accept_prob(answer) -> CheckResult:
    """Exercise (a), ``ex-8-4-1-accept``: your acceptance probability of a proposed move from state 1 to state 2
    (0-based) under :data:`EX_MH`. Slips named: no proposal correction, either ratio upside down, states counted from
    1."""
    from .references import ch08_mcmc as refs
    p, g = EX_MH
    hints = _merged({
        "you counted the states from 1 (the move from p_tilde[0] to p_tilde[1]); the statement counts "
        "from 0": refs.acceptance(EX_MH, 1, 0),
        "you left out the Hastings factor g(1 | 2) / g(2 | 1); this proposal is not symmetric":
            min(1.0, p[2] / p[1]),
        "you inverted the proposal ratio: the reverse move's probability g(1 | 2) goes in the numerator":
            min(1.0, p[2] * g[2, 1] / (p[1] * g[1, 2])),
        "you inverted the target ratio: the proposed state's density goes in the numerator":
            min(1.0, p[1] * g[1, 2] / (p[2] * g[2, 1])),
    })
    return result("MH acceptance of the move 1 -> 2",
                  compare_scalar(answer, refs.acceptance(EX_MH, 2, 1), "the acceptance probability", rtol=1e-8,
                                 hints=hints))


def mh_matrix(answer) -> CheckResult:
    """Exercise (b), ``ex-8-4-1-matrix``: your column-stochastic (3, 3) transition matrix for :data:`EX_MH` of the
    sampler proposing with ``g`` with the statement's flow. Slips named: Step 2's MH matrix, flows, the acceptance's
    terms exchanged, the acceptance without or with no proposal, a wrong diagonal, a transpose."""
    from .references import ch08_mcmc as refs
    p, g = EX_MH
    n = len(p)
    T = np.zeros((n, n))
    for j in range(n):
        for i in range(n):
            if i != j:
                s_ij, s_ji = g[i, j] * p[j], g[j, i] * p[i]
                T[i, j] = s_ij * s_ji / (s_ij + s_ji) / p[j]
        T[j, j] = 1.0 - T[:, j].sum()
    mh = refs.with_stays(np.array([[g[i, j] * refs.acceptance(EX_MH, i, j) for j in range(n)] for i in range(n)]))
    flow = np.array([[g[i, j] * p[j] * g[j, i] * p[i] / (g[i, j] * p[j] + g[j, i] * p[i]) for j in range(n)]
                     for i in range(n)])
    accept = np.array([[g[j, i] * p[i] / (g[i, j] * p[j] + g[j, i] * p[i]) for j in range(n)] for i in range(n)])
    swapped = np.array([[g[i, j] * g[i, j] * p[j] / (g[i, j] * p[j] + g[j, i] * p[i]) for j in range(n)]
                        for i in range(n)])
    no_proposal = np.array([[g[i, j] * p[i] / (p[i] + p[j]) for j in range(n)] for i in range(n)])
    hints = _merged({
        "you built Step 2's Metropolis-Hastings matrix (the flow min{s_ij, s_ji}); this sampler's flow is "
        "another": mh,
        "you put the flows T_ij p_j in the matrix, not the transition probabilities": refs.with_stays(flow),
        "you put the acceptance probabilities in the matrix without the proposal probability of each move":
            refs.with_stays(accept),
        "you exchanged the two terms of the acceptance: the forward move's s_ij where the reverse move's "
        "belongs": refs.with_stays(swapped),
        "you left the proposal out of the acceptance, as if g were symmetric": refs.with_stays(no_proposal),
        "you kept only the proposal's own self-moves on the diagonal: rejected proposals also leave the chain "
        "where it is": T - np.diag(np.diag(T)) + np.diag(np.diag(g) * 1.0),
    })
    return result("transition matrix with the harmonic flow for EX_MH",
                  compare_array(answer, T, "T", rtol=1e-8, atol=1e-10, hints=hints))


def ar1_ess(answer) -> CheckResult:
    """Exercise (c), ``ex-8-4-1-ess``: your effective sample size of the AR(1) chain of :data:`EX_AR1`, to three
    significant figures. Slips named: two in the autocorrelation time, the time itself."""
    phi, n = EX_AR1["phi"], EX_AR1["n"]
    hints = {
        "you used n (1 - phi): re-check the geometric sum in tau, and that the 1 in front of it counts":
            n * (1 - phi),
        "you used n (1 - phi^2), which is the variance ratio of one step, not the autocorrelation time":
            n * (1 - phi ** 2),
        "you gave the integrated autocorrelation time, not the sample size": (1 + phi) / (1 - phi),
    }
    return result("ESS of an AR(1) chain",
                  compare_scalar(answer, n * (1 - phi) / (1 + phi), "the ESS", rtol=5e-3, hints=hints))


#: Exercise (d): random-walk MH on the standard normal, the current x and a small and a large step.
EX_STEPS = {"x": 1.2, "small": 0.05, "large": 3.0}


def step_size_claim(answer) -> CheckResult:
    """Exercise (d), ``ex-8-4-1-claim``: your acceptances ``(a_small, a_large)`` of the random-walk proposals of
    :data:`EX_STEPS` for the standard normal target, checked together."""
    from .references import ch08_mcmc as refs
    x, small, large = EX_STEPS["x"], EX_STEPS["small"], EX_STEPS["large"]
    expected = np.array([refs.rw_accept(x, small), refs.rw_accept(x, large)])
    hints = {
        "you dropped the factor 1/2 of the Gaussian exponent":
            [min(1.0, math.exp(-((x + d) ** 2 - x ** 2))) for d in (small, large)],
        "you put the current state's density over the proposed one's":
            [min(1.0, math.exp(0.5 * ((x + d) ** 2 - x ** 2))) for d in (small, large)],
    }
    problems = compare_array(answer, expected, "the pair of acceptance probabilities", rtol=1e-6, hints=hints)
    if problems and not any("what you get if" in m or "shape" in m or "number" in m for m in problems):
        problems = ["the pair of acceptance probabilities is not right (both are checked together)."]
    return result("the two random-walk acceptances", problems)


def _banana(b: float, s: float):
    """log p~ and force of x1 ~ N(0, s^2), x2 | x1 ~ N(b (x1^2 - s^2), 1)."""
    def log_p_and_force(x):
        d = x[:, 1] - b * (x[:, 0] ** 2 - s * s)
        return -0.5 * x[:, 0] ** 2 / (s * s) - 0.5 * d * d, np.column_stack([-x[:, 0] / (s * s) + 2 * b * x[:, 0] * d,
                                                                              -d])
    return log_p_and_force


def _gaussian(mu: np.ndarray, Lam: np.ndarray, const: float = 0.0):
    """log p~ = const - (x - mu)^T Lam (x - mu) / 2 and its force."""
    def log_p_and_force(x):
        d = x - mu
        g = d @ Lam
        return const - 0.5 * np.sum(g * d, axis=1), -g
    return log_p_and_force


def _student(dof: float, scale: float):
    """A one-dimensional Student t (heavy tails): log p~ = -(dof + 1)/2 log(1 + x^2 / (dof scale^2))."""
    def log_p_and_force(x):
        v = dof * scale * scale
        return -0.5 * (dof + 1) * np.log1p(x[:, 0] ** 2 / v), -(dof + 1) * x / (v + x * x)
    return log_p_and_force


def _mixture(means: np.ndarray, s: float):
    """An equal mixture of isotropic Gaussians of sd s at the rows of ``means``."""
    def log_p_and_force(x):
        d = x[:, None, :] - means[None, :, :]                          # (C, k, D)
        parts = -0.5 * np.sum(d * d, axis=2) / (s * s)
        log_p = logsumexp(parts, axis=1)
        w = np.exp(parts - log_p[:, None])
        return log_p, -np.einsum("ck,ckd->cd", w, d) / (s * s)
    return log_p_and_force


def _mala_cases():
    """Hidden problems (description, log_p_and_force, x, step_size, z, u) and the library's MALA step on the same
    draws."""
    from ..samplers import mcmc, targets

    r = problem_rng(8413)
    cases = []
    b, s = float(r.uniform(0.6, 1.2)), float(r.uniform(0.8, 1.3))
    x1 = s * r.standard_normal(40)
    cases.append(("the banana, D = 2, 40 chains", _banana(b, s), 0.25,
                  np.column_stack([x1, b * (x1 ** 2 - s * s) + r.standard_normal(40)])))
    G = r.normal(size=(3, 3))
    Sigma = G @ G.T + 0.5 * np.eye(3)
    mu = r.normal(size=3)
    cases.append(("a correlated Gaussian, D = 3, 30 chains", _gaussian(mu, np.linalg.inv(Sigma)), 0.3,
                  mu + r.standard_normal((30, 3)) @ np.linalg.cholesky(Sigma).T))
    cases.append(("a heavy-tailed target, D = 1, 25 chains", _student(3.0, float(r.uniform(0.7, 1.5))), 0.6,
                  2.0 * r.standard_normal((25, 1))))
    means = np.array([[-1.5, 0.0], [1.5, 0.5]])
    cases.append(("a mixture of two Gaussians, D = 2, 30 chains", _mixture(means, 0.8), 0.2,
                  means[r.integers(0, 2, size=30)] + 0.8 * r.standard_normal((30, 2))))
    mu2 = r.normal(size=2)
    cases.append(("a Gaussian whose log density is about -1000, D = 2, 20 chains",
                  _gaussian(mu2, np.eye(2) / 0.5, const=-1000.0), 0.3, mu2 + 0.7 * r.standard_normal((20, 2))))
    out = []
    for what, f, eps, x in cases:
        C, D = x.shape
        seed = int(r.integers(2**31))
        target = targets.python_target(f, D)
        state = mcmc.init_chains(target, x, backend="numpy")
        ref = mcmc.sample(target, state, 1, np.random.default_rng(seed), method="mala", step_size=eps,
                          backend="numpy").state.x
        draws = np.random.default_rng(seed)             # the library's draws, in its order
        z = draws.standard_normal((1, C, D))[0]
        u = draws.random((1, C))[0]
        out.append((what, (f, x, eps, z, u), ref))
    return out


def mala_step_function(fn) -> CheckResult:
    """Exercise ``ex-8-4-1-mala-function``: your function ``fn(log_p_and_force, x, step_size, z, u)`` returning the
    states (C, D) after one MALA step of every chain, compared with the library's step on the same draws. Slips
    named: no Hastings factor, the reverse density with the old force, no rejection, the noise sqrt(eps) z."""
    from .references import ch08_mcmc as refs
    def judge(out, where, f, x, eps, z, u, ref):
        hints = {
            "you left out the Hastings factor g(x | x') / g(x' | x); the Langevin proposal is not symmetric":
                refs.mala_variant(f, x, eps, z, u, hastings=False),
            "your reverse density g(x | x') used the force at x; it is centred at x' + epsilon f(x')":
                refs.mala_variant(f, x, eps, z, u, reverse_at_new=False),
            "you accepted every proposal: that is the unadjusted Langevin step of Eq. 8.44, not MALA":
                refs.mala_variant(f, x, eps, z, u, reject=False),
            "your proposal noise is sqrt(epsilon) z, with the density to match; Eq. 8.44 scales z by "
            "sqrt(2 epsilon)": refs.mala_variant(f, x, eps, z, u, noise=1.0),
            "every proposal was rejected and no chain moved (exp of a log density near -1000 underflows to 0, "
            "and a ratio 0/0 rejects: compare in logs)": x,
        }
        return compare_array(out, ref, f"the new states on {where}", rtol=1e-7, atol=1e-9, hints=hints)

    cases = [(f"test problem {i + 1} ({what})", args, ref) for i, (what, args, ref) in enumerate(_mala_cases())]
    return check_function("one MALA transition (Eq. 8.44 as a proposal)", fn, cases, judge, name="my_mala_step",
                          signature="(log_p_and_force, x, step_size, z, u)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-8-4-1-claim": {"same_data": "the statement spells out the target, the state and the two steps"},
    "ex-8-4-1-mala-function": {"same_data": FUNCTION_ANSWER},
}
