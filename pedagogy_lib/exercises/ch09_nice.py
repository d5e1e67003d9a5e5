r"""Checkers for the exercises of notebook 9.2 (NICE: couplings, log-determinants, leapfrog)."""
from __future__ import annotations

import numpy as np

from . import checker

__all__ = ["EX_N_COUPLINGS", "EX_YS", "EX_OUT", "EX_EPS", "coupling_m", "flow_log_density", "invert_coupling",
           "leapfrog_matrix", "nice_log_likelihood"]


#: Exercise 1: the number of additive couplings of the 4-dimensional flow, before its scaling.
EX_N_COUPLINGS = checker.book_or_drawn(6, lambda rng: int(rng.integers(2, 9)), seed=9022)


def _draw_data(rng) -> np.ndarray:
    """40 points in 4-D (two decimals), each coordinate with its own spread in [0.4, 2.5]."""
    return np.round(rng.standard_normal((40, 4)) * rng.uniform(0.4, 2.5, 4), 2) + 0.0


#: Exercise 1: the data, one 4-dimensional point per row, to which the flow's log-scales are fitted.
EX_YS = checker.book_or_drawn(np.round(np.random.default_rng(9025).standard_normal((40, 4))
                                       * np.array([1.8, 0.6, 1.2, 0.9]), 2) + 0.0, _draw_data, seed=9025)


def _draw_out(rng) -> np.ndarray:
    """An output point (one decimal) with x_1 away from zero, so that m(x_1) matters."""
    while True:
        out = np.round(rng.uniform(-1.5, 1.5, 2), 1) + 0.0
        if abs(out[0]) >= 0.2:
            return out


#: Exercise 2: the output of two additive couplings of 2-D data (x_2 from x_1, then x_1 from x_2).
EX_OUT = checker.book_or_drawn(np.array([0.7, -1.3]), _draw_out, seed=9023)


#: Exercise 3: the leapfrog step size.
EX_EPS = checker.book_or_drawn(0.4, lambda rng: float(np.round(rng.uniform(0.1, 0.9), 2)), seed=9024)


def coupling_m(u):
    """Exercise 2's coupling function m(u) = tanh(2u) - u/2, element-wise on arrays."""
    u = np.asarray(u, dtype=float)
    return np.tanh(2 * u) - 0.5 * u


def flow_log_density(value):
    """Exercise 1, ``ex-9-2-log-det``: your largest average log-likelihood of the rows of :data:`EX_YS` under the
    statement's NICE flow over its log-scales, couplings fixed. Slips named: the log-determinant left out or
    subtracted, sums, log-scales at zero, variances for mean squares, the other alternation."""
    from .references import ch09_nice as refs
    U = refs.couplings(EX_YS, EX_N_COUPLINGS, coupling_m)
    sig = -0.5 * np.log(np.mean(U * U, axis=0))
    ref = refs.mean_loglik(U, sig)
    sig_var = -0.5 * np.log(np.var(U, axis=0))
    U_other = refs.couplings(EX_YS, EX_N_COUPLINGS, coupling_m, first_even=False)
    hints = {
        "you left out the log-determinant of the Jacobian": refs.mean_loglik(U, sig, log_det=False),
        "you subtracted the log-determinant; for the density of y it is added": ref - 2 * float(sig.sum()),
        "you summed the log-likelihood over the rows; the statement asks for its average": len(U) * ref,
        "you left the log-scales at zero: the statement asks for the largest value over sigma":
            refs.mean_loglik(U, np.zeros(4)),
        "you used each coordinate's variance (its mean removed); the flow has no shift, so its "
        "log-likelihood involves the mean square": refs.mean_loglik(U, sig_var),
        "you used each coordinate's variance (its mean removed) in the closed form; the flow has no "
        "shift, so the mean square appears there": -2 * (1 + np.log(2 * np.pi)) - 0.5 * float(
            np.sum(np.log(np.var(U, axis=0)))),
        "your couplings alternate the other way round (the first one conditions on x_1, x_2)":
            refs.mean_loglik(U_other, -0.5 * np.log(np.mean(U_other * U_other, axis=0))),
    }
    problems = checker.compare_scalar(value, ref, "your largest average log-likelihood", rtol=1e-8,
                                      hints=hints)
    return checker.result("fitting the scaling of a NICE flow", problems)


def invert_coupling(x):
    """Exercise 2, ``ex-9-2-invert``: your input (x_1, x_2) of the statement's two couplings whose output is
    :data:`EX_OUT`. Slips named: the wrong order, a sign, one coupling undone."""
    a, b = EX_OUT
    x1 = a - coupling_m(b)                       # undo the second coupling first
    ref = np.array([x1, b - coupling_m(x1)])
    x2_wrong = b - coupling_m(a)
    hints = {
        "you undid the couplings in the order they were applied":
            np.array([a - coupling_m(x2_wrong), x2_wrong]),
        "you added m instead of subtracting it": np.array([a + coupling_m(b), b + coupling_m(a + coupling_m(b))]),
        "you undid only the second coupling": np.array([x1, b]),
        "you undid only the first coupling; the second one changed x_1 as well":
            np.array([a, b - coupling_m(a)]),
    }
    problems = checker.compare_array(x, ref, "your input point", hints=hints)
    return checker.result("inverting two additive couplings", problems)


def leapfrog_matrix(M):
    """Exercise 3, ``ex-9-2-leapfrog``: your 2 x 2 matrix of one leapfrog step for the statement's quadratic
    potential, step :data:`EX_EPS`, on the column (x, p). Slips named: a full kick, the kick's sign."""
    from .references import ch09_nice as refs
    kick, drift = refs.shears(EX_EPS)
    ref = kick @ drift @ kick
    hints = {
        "you used a full kick of eps instead of two half kicks of eps/2":
            np.array([[1.0, 0.0], [-EX_EPS, 1.0]]) @ drift,
        "the kick's sign is wrong: the force of U = x^2/2 is -x":
            refs.shears(-EX_EPS)[0] @ drift @ refs.shears(-EX_EPS)[0],
    }
    problems = checker.compare_array(M, ref, "your matrix", hints=hints)
    return checker.result("leapfrog as three shears", problems)


def _nice_cases():
    """Hidden problems ``(Y, masks, nets, sigma)``: flows with halves of equal and unequal sizes, partitions that
    do and do not alternate, coordinates of a part that are not next to each other, one coupling alone and one
    data point alone."""
    r = checker.problem_rng(9026)
    T, F = True, False
    layouts = [([[T, F], [F, T], [T, F], [F, T]], 5, 20),
               ([[T, T, F, F], [F, F, T, T], [T, T, F, F]], 8, 15),
               ([[T, F, F], [F, T, T], [T, T, F], [T, T, F]], 6, 10),
               ([[F, T]], 3, 1),
               ([[T, F, T, F, F], [F, T, F, T, T], [T, F, F, F, T]], 4, 12)]
    cases = []
    for masks, H, N in layouts:
        masks = [np.array(m) for m in masks]
        K = len(masks[0])
        nets = []
        for m in masks:
            a, b = int(m.sum()), int((~m).sum())
            nets.append((r.normal(size=(H, a)) / np.sqrt(a), 0.3 * r.normal(size=H), 0.6 * r.normal(size=(b, H)),
                         0.3 * r.normal(size=b)))
        cases.append((1.5 * r.normal(size=(N, K)), masks, nets, 0.4 * r.normal(size=K)))
    return cases


def nice_log_likelihood(fn) -> checker.CheckResult:
    """``ex-9-2-loglik``: your function ``fn(Y, masks, nets, sigma)`` returning log p-hat(y) (Eq. 9.7) for each row
    of ``Y`` under a NICE flow: additive couplings with the boolean ``masks`` (True: the conditioning part), coupling
    networks ``nets[l] = (W, b, V, v)`` with m(u) = V tanh(W u + b) + v, then the scaling by exp(sigma), and a
    standard-normal prior. Slips named: no log-determinant, no normalizer, couplings fed the data, masks read the
    other way."""
    from .references import ch09_nice as refs
    def judge(out, where, Y, masks, nets, sigma):
        return checker.compare_array(out, refs.nice_reference(Y, masks, nets, sigma),
                                     f"your vector of log-likelihoods on {where}", rtol=1e-8, atol=1e-10,
                                     hints=refs.nice_slips(Y, masks, nets, sigma))

    cases = [(f"test problem {i + 1} (K = {Y.shape[1]}, {len(masks)} coupling{'s' if len(masks) > 1 else ''}, "
              f"{len(Y)} row{'s' if len(Y) > 1 else ''})", (Y, masks, nets, sigma))
             for i, (Y, masks, nets, sigma) in enumerate(_nice_cases())]
    return checker.check_function("log-likelihood of a NICE flow (Eq. 9.7)", fn, cases, judge,
                                  name="my_nice_loglik", signature="(Y, masks, nets, sigma)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-9-2-loglik": {"same_data": checker.FUNCTION_ANSWER},
}
