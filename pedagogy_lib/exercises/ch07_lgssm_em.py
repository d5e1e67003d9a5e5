"""Checkers for the exercises of Section 7.4 (EM for the LGSSM), indexed as :mod:`pedagogy_lib.lgssm.kalman` (row
``t`` is the book's t + 1; ``Upsilon_cross[t]`` = Cov[X_{t+1}, X_t | y])."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import lgssm as kalman
from ..lgssm.model import LGSSMParams
from .checker import (FUNCTION_ANSWER, CheckResult, as_bool, compare_array, compare_scalar, result, problem_rng,
                      check_function, tuple_problems)

__all__ = ["SmootherProblem", "SimilarityProblem", "EX_SMOOTH", "EX_OFFSET", "EX_SIM", "cross_moment", "m_step_A",
           "m_step_C", "similarity", "eigenvalues_invariant", "m_step_function", "INVARIANT_QUESTIONS"]


class SmootherProblem(NamedTuple):
    """One sequence ``y`` (T, m) and the RTS smoother under ``params``: ``mu_smooth`` (T, n), ``Upsilon_smooth`` (T,
    n, n), ``Upsilon_cross`` (T - 1, n, n)."""

    params: LGSSMParams
    y: np.ndarray
    mu_smooth: np.ndarray
    Upsilon_smooth: np.ndarray
    Upsilon_cross: np.ndarray


class SimilarityProblem(NamedTuple):
    """A model ``params`` (n = 2) and an invertible change of coordinates ``S`` (2, 2)."""

    params: LGSSMParams
    S: np.ndarray


def _rotation(theta, rho):
    return rho * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def _smoothed(current: LGSSMParams, y: np.ndarray) -> SmootherProblem:
    """The problem of sequence ``y`` smoothed under the parameters ``current``."""
    res = kalman.kalman_smoother(current, y, backend="numpy")
    return SmootherProblem(current, y, res.mu_smooth, res.Upsilon_smooth, res.Upsilon_cross)


def _make_smooth() -> SmootherProblem:
    rng = problem_rng(7401)
    n, m, T = 2, 3, 25
    true = LGSSMParams(np.zeros(n), np.eye(n), _rotation(0.4, 0.95), None, np.zeros(n), 0.1 * np.eye(n),
                       rng.standard_normal((m, n)), np.zeros(m), 0.3 * np.eye(m))
    _, y = kalman.sample_lgssm(true, T, rng=rng)
    # the E step runs under the *current* (not the true) parameters, as in an EM iteration; a rotation for A
    # makes the cross-covariances asymmetric, so that a transposed one is an error the checker can see
    current = true._replace(A=_rotation(0.5, 0.7), C=rng.standard_normal((m, n)), Sigma_x=0.5 * np.eye(n))
    return _smoothed(current, y)


#: Exercises (a) and (b): the smoother for one sequence of 25 steps, under the current parameters.
EX_SMOOTH = _make_smooth()


def _make_offset() -> SmootherProblem:
    rng = problem_rng(7405)
    n, m, T = 2, 3, 30
    # an emission offset, and a first state far from zero, so that neither c = 0 nor c = mean(y) is right
    true = LGSSMParams(np.array([3.0, 0.0]), 0.2 * np.eye(n), _rotation(0.3, 0.95), None, np.zeros(n),
                       0.1 * np.eye(n), rng.standard_normal((m, n)), np.array([2.0, -1.0, 0.5]), 0.3 * np.eye(m))
    _, y = kalman.sample_lgssm(true, T, rng=rng)
    current = true._replace(A=_rotation(0.5, 0.8), C=rng.standard_normal((m, n)), c=np.array([1.5, -0.5, 0.0]),
                            Sigma_x=0.5 * np.eye(n), Sigma_y_x=np.eye(m), mu1=np.zeros(n), Sigma1=np.eye(n))
    return _smoothed(current, y)


#: Exercise (c): the smoother for one sequence of 30 steps from a model whose emissions have an offset c.
EX_OFFSET = _make_offset()


def _make_sim() -> SimilarityProblem:
    rng = problem_rng(7402)
    # a non-zero offset a, so that leaving it in the old coordinates is an error the checker sees
    p = LGSSMParams(np.array([1.0, -0.5]), np.array([[1.0, 0.3], [0.3, 0.8]]), _rotation(0.3, 0.9), None,
                    np.array([0.4, -0.3]), np.array([[0.2, 0.05], [0.05, 0.1]]), rng.standard_normal((3, 2)),
                    np.zeros(3), 0.4 * np.eye(3))
    return SimilarityProblem(p, np.array([[2.0, 1.0], [0.5, 1.5]]))


#: Exercise (d): a model and a change of latent coordinates x' = S x.
EX_SIM = _make_sim()


def cross_moment(answer) -> CheckResult:
    """Exercise (a), ``ex-7-4-cross-moment``: your lag-two cross moment S_20 for :data:`EX_SMOOTH`, (2, 2). Slips
    named: means-only products, the two neighbouring cross-covariances multiplied, the wrong order, the lag-one moment
    S_10."""
    from .references import ch07_lgssm_em as refs
    p = EX_SMOOTH
    mu, Uc = p.mu_smooth, p.Upsilon_cross
    T = mu.shape[0]
    means = sum(np.outer(mu[t + 2], mu[t]) for t in range(T - 2))
    expected = sum(refs.lag_two_covariances(p)) + means
    hints = {
        "you used only the outer products of the smoothed means; the expectation of a product also needs the "
        "posterior covariance of the two states": means,
        "your lag-two covariance is the product of the two neighbouring cross-covariances, which is not "
        "Cov[X_t, X_{t-2} | y]: derive it from the joint posterior of the three states":
            sum(Uc[t + 1] @ Uc[t] for t in range(T - 2)) + means,
        "you multiplied the two cross-covariances in the other order":
            sum(Uc[t] @ np.linalg.solve(p.Upsilon_smooth[t + 1], Uc[t + 1]) for t in range(T - 2)) + means,
        "that is the lag-one moment S_10, the sum of E[x_t x_{t-1}^T | y]": sum(refs.moments(p)[1]),
    }
    return result("sum of E[x_t x_{t-2}^T | y] for EX_SMOOTH",
                  compare_array(answer, expected, "S20", rtol=1e-8, atol=1e-10, hints=hints))


def _scaled_rotation(p_, q_):
    return np.array([[p_, -q_], [q_, p_]])


def m_step_A(answer) -> CheckResult:
    """Exercise (b), ``ex-7-4-m-step-a``: your M-step update of A from :data:`EX_SMOOTH` when A is a scaled rotation
    [[p, -q], [q, p]] (isotropic transition noise held fixed), (2, 2). Slips named: the page's unrestricted update,
    that update moved into the family, the wrong rotation, the wrong time steps, no posterior covariances."""
    from .references import ch07_lgssm_em as refs
    p = EX_SMOOTH
    E_xx, E_next_prev = refs.moments(p)
    S10, S00, S_all = sum(E_next_prev), sum(E_xx[:-1]), sum(E_xx)

    def fit(cross, second):
        return _scaled_rotation(np.trace(cross) / np.trace(second), (cross[1, 0] - cross[0, 1]) / np.trace(second))

    expected = fit(S10, S00)
    free = np.linalg.solve(S00.T, S10.T).T
    mu = p.mu_smooth
    hints = {
        "your A is the page's update with four free entries; here A has only the two parameters p and q":
            free,
        "you fitted A without the restriction and then moved it into the family; that is not where Q is "
        "largest among scaled rotations": _scaled_rotation(0.5 * np.trace(free), 0.5 * (free[1, 0] - free[0, 1])),
        "your A rotates the wrong way: check the order of x_t and x_{t-1} in the cross moment, and where q "
        "sits in A": fit(S10.T, S00),
        "your denominator sums E[x x^T] over all T steps: check which steps a predecessor x_{t-1} can be":
            fit(S10, S_all),
        "you left out the posterior covariances (means only): that is least squares on the smoothed means, "
        "not EM": fit(mu[1:].T @ mu[:-1], mu[:-1].T @ mu[:-1]),
    }
    return result("M step for the scaled rotation A from EX_SMOOTH",
                  compare_array(answer, expected, "A", rtol=1e-7, atol=1e-10, hints=hints))


def m_step_C(C, c=None, Sigma_y_x=None) -> CheckResult:
    """Exercise (c), ``ex-7-4-m-step-c``: your M-step ``C`` (3, 2), offset ``c`` (3,) and ``Sigma_y_x`` (3, 3) from
    :data:`EX_OFFSET`. Slips named: no offset, c after C or the mean of y, no posterior covariances, a residual
    without the offset, the wrong divisor."""
    from .references import ch07_lgssm_em as refs
    p = EX_OFFSET
    E_xx, _ = refs.moments(p)
    y, mu, T = p.y, p.mu_smooth, p.y.shape[0]
    Sxx = sum(E_xx)
    C_ref, c_ref, R_ref = refs.offset_fit(y, mu, Sxx)
    C_plain = np.linalg.solve(Sxx.T, (y.T @ mu).T).T
    C_means, c_means, R_means = refs.offset_fit(y, mu, mu.T @ mu)
    no_cov = "you left out the posterior covariances Upsilon_smooth[t] in sum E[x_t x_t^T]"
    hints_C = {
        "your C is the page's update for a model without an offset; with an offset, C and c are fitted "
        "together": C_plain,
        no_cov: C_means,
    }
    problems = compare_array(C, C_ref, "C", rtol=1e-7, atol=1e-10, hints=hints_C)
    if c is None:
        problems.append("c is None: pass the new offset as the second argument.")
    else:
        hints_c = {
            "your c is the mean of y, which leaves out the part of that mean the states account for":
                y.mean(axis=0),
            "your c is the offset that goes with the page's C (fitted without an offset); C and c are "
            "fitted together": y.mean(axis=0) - C_plain @ mu.mean(axis=0),
            no_cov: c_means,
        }
        problems += compare_array(c, c_ref, "c", rtol=1e-7, atol=1e-10, hints=hints_c)
    if Sigma_y_x is None:
        problems.append("Sigma_y_x is None: pass the new emission covariance as the third argument.")
    else:
        resid = y - mu @ C_ref.T - c_ref
        hints_R = {
            "your Sigma_y_x is the page's form for a model without an offset; the offset's part of the "
            "fit is left out": (y.T @ y - C_ref @ (y.T @ mu).T) / T,
            "you divided by T - 1; the emission statistics average over all T steps": R_ref * T / (T - 1),
            "you used the residuals of the smoothed means only, which miss C Upsilon C^T": resid.T @ resid / T,
            no_cov: R_means,
        }
        problems += compare_array(Sigma_y_x, R_ref, "Sigma_y_x", rtol=1e-7, atol=1e-10, hints=hints_R)
    return result("M step for C, c and Sigma_y_x from EX_OFFSET", problems)


def similarity(answer) -> CheckResult:
    """Exercise (d), ``ex-7-4-similarity``: your model of :data:`EX_SIM` in the coordinates x' = S x, an
    :class:`LGSSMParams`; every field is compared, then a test log likelihood. Slips named: maps in the wrong
    direction, covariances transformed on the wrong side, the offset left as it was."""
    p, S = EX_SIM
    if answer is None:
        return result("EX_SIM in new coordinates", ["your answer is None: return an LGSSMParams."])
    if not isinstance(answer, LGSSMParams):
        return result("EX_SIM in new coordinates", ["your answer should be an LGSSMParams (e.g. params._replace(A=..., "
                                                    f"...)); got {type(answer).__name__}."])
    Si = np.linalg.inv(S)
    ref = {"A": S @ p.A @ Si, "C": p.C @ Si, "Sigma_x": S @ p.Sigma_x @ S.T, "mu1": S @ p.mu1,
           "Sigma1": S @ p.Sigma1 @ S.T, "Sigma_y_x": p.Sigma_y_x, "c": p.c, "a": S @ p.a}
    wrong = {"A": {"you wrote S^{-1} A S (the map for x = S x', the other direction)": Si @ p.A @ S},
             "C": {"you wrote C S: check that C' x' gives back the same emission mean C x": p.C @ S},
             "Sigma_x": {"your Sigma_x has S on the wrong sides, so it is not the covariance of the new "
                         "state's noise: derive it from the definition of a covariance": S.T @ p.Sigma_x @ S},
             "Sigma1": {"your Sigma1 has S on the wrong sides, so it is not the covariance of the new first "
                        "state: derive it from the definition of a covariance": S.T @ p.Sigma1 @ S},
             "a": {"you left the offset a as it was: it is added to the state, so it changes coordinates too": p.a}}
    problems = []
    for name, expected in ref.items():
        problems += compare_array(getattr(answer, name), expected, name, rtol=1e-8, atol=1e-10,
                                  hints=wrong.get(name))
    if not problems:
        y = kalman.sample_lgssm(p, 15, rng=np.random.default_rng(7403))[1]
        ll_true = kalman.kalman_filter(p, y, backend="numpy").log_evidence
        ll_new = kalman.kalman_filter(answer, y, backend="numpy").log_evidence
        problems += compare_scalar(ll_new, ll_true, "the log likelihood of a test sequence", rtol=1e-9)
    return result("EX_SIM in new coordinates", problems)


#: Exercise (e): the quantities asked about, in the order of the answer.
INVARIANT_QUESTIONS = ("det A", "the singular values of A", "C Sigma_x C^T", "det Sigma_x", "C A mu1",
                       "the eigenvalues of Sigma1")


def eigenvalues_invariant(answer) -> CheckResult:
    """Exercise (e), ``ex-7-4-identifiability``: six bools, one per quantity of :data:`INVARIANT_QUESTIONS`: True if
    every change of coordinates x' = S x leaves it unchanged. All or nothing."""
    title = "what a change of state coordinates leaves unchanged"
    n = len(INVARIANT_QUESTIONS)
    if answer is None:
        return result(title, [f"your answer is None: give {n} bools, one per quantity, in the order of "
                              "check.INVARIANT_QUESTIONS."])
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__len__") or len(answer) != n:
        return result(title, [f"give a sequence of {n} bools, one per quantity of check.INVARIANT_QUESTIONS."])
    values = []
    for i, a in enumerate(answer):
        value, problems = as_bool(a, f"entry {i}")
        if problems:
            return result(title, problems)
        values.append(value)
    # under A' = S A S^{-1}, C' = C S^{-1}, Sigma_x' = S Sigma_x S^T, mu1' = S mu1, Sigma1' = S Sigma1 S^T:
    # a determinant of a similar matrix, and products in which every S meets its inverse, are unchanged;
    # singular values, a determinant scaled by det(S)^2 and the eigenvalues of a congruent matrix are not
    if values != [True, False, True, False, True, False]:
        return result(title, ["not accepted: not every entry is right. For each quantity write down what it "
                              "becomes in the coordinates x' = S x and ask whether that is the same for every S."])
    return result(title, [])


def _m_step_cases():
    """Hidden problems: a sequence from a random stable model, smoothed under other parameters."""
    from .references import ch07_lgssm_em as refs
    rng = problem_rng(7404)
    cases = []
    for n, m, T in [(2, 3, 30), (1, 2, 15), (3, 5, 40), (2, 2, 2)]:
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        true = LGSSMParams(rng.standard_normal(n), np.eye(n), Q @ np.diag(rng.uniform(0.6, 0.95, size=n)) @ Q.T,
                           None, np.zeros(n), 0.2 * np.eye(n), rng.standard_normal((m, n)), np.zeros(m),
                           0.4 * np.eye(m))
        _, y = kalman.sample_lgssm(true, T, rng=rng)
        current = true._replace(A=0.6 * np.eye(n) + 0.2 * rng.standard_normal((n, n)), C=rng.standard_normal((m, n)),
                                Sigma_x=np.diag(rng.uniform(0.3, 0.8, size=n)), Sigma_y_x=np.eye(m), mu1=np.zeros(n),
                                Sigma1=2.0 * np.eye(n))
        p = _smoothed(current, y)
        cases.append((p[1:], refs.m_step_reference(p)))
    return cases


def m_step_function(fn) -> CheckResult:
    """Exercise (f), ``ex-7-4-m-step-function``: your function ``fn(y, mu_smooth, Upsilon_smooth, Upsilon_cross)``
    returning ``(A, Sigma_x, C, Sigma_y_x, mu1, Sigma1)`` of Eq. 7.4 with ``Sigma_y_x`` = s^2 I. Slips named: no
    posterior covariances, wrong steps or divisors, a transposed cross moment, the wrong order, an uncentred Sigma1, a
    full or summed emission covariance."""
    from .references import ch07_lgssm_em as refs
    def judge(out, where, y, mu_smooth, U_smooth, U_cross, ref):
        problems = tuple_problems(out, 6, "the six parameters (A, Sigma_x, C, Sigma_y_x, mu1, Sigma1)", where)
        if problems:
            return problems
        slips = refs.m_step_slips(SmootherProblem(None, y, mu_smooth, U_smooth, U_cross))
        return [p for name, answer, expected in zip(("A", "Sigma_x", "C", "Sigma_y_x", "mu1", "Sigma1"), out, ref)
                for p in compare_array(answer, expected, f"{name} on {where}", rtol=1e-7, atol=1e-10,
                                       hints=slips[name])]

    cases = []
    for i, (args, ref) in enumerate(_m_step_cases()):
        (T, m), n = args[0].shape, args[1].shape[1]
        cases.append((f"test problem {i + 1} (T = {T}, n = {n}, m = {m})", args, ref))
    return check_function("the M step of Eq. 7.4", fn, cases, judge, name="my_m_step",
                          signature="(y, mu_smooth, Upsilon_smooth, Upsilon_cross)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-7-4-identifiability": {"same_data": "the answer is six True/False verdicts that no data change"},
    "ex-7-4-m-step-function": {"same_data": FUNCTION_ANSWER},
}
