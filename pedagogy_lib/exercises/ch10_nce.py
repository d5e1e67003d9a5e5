r"""Checkers for the exercises of Section 10.1.1 (noise-contrastive estimation)."""
from __future__ import annotations

import numpy as np
from scipy.special import expit as _sig

from .checker import (FUNCTION_ANSWER, CheckResult, book_or_drawn, compare_array, compare_scalar, result, problem_rng,
                      check_function)

__all__ = ["EX_A", "EX_M", "EX_E", "EX_EN", "EX_NU", "EX_SAMPLES", "log_normalizer", "posterior", "offset_gradient",
           "newton_step"]


def _draw_energy(rng) -> tuple:
    """(A, m): a positive definite, correlated 2 x 2 precision and a non-zero m."""
    while True:
        d = np.round(rng.uniform(0.5, 3.0, 2), 1)
        off = float(np.round(rng.choice([-1, 1]) * rng.uniform(0.2, 0.8) * np.sqrt(d[0] * d[1]), 1))
        A = np.array([[d[0], off], [off, d[1]]])
        if off != 0 and np.linalg.det(A) > 0.2:
            break
    m = np.round(rng.choice([-1, 1], 2) * rng.uniform(0.3, 2.0, 2), 1)
    return A, m


#: Exercise (a): the energy 0.5 y^T A y - m^T y + c in two dimensions, A = EX_A, m = EX_M.
EX_A, EX_M = book_or_drawn((np.array([[2.0, 0.6], [0.6, 1.0]]), np.array([1.0, -0.5])), _draw_energy,
                           seed=10111)


def _draw_energies(rng) -> tuple:
    """(E, E_n, nu): the model's energy 0.3 to 2 below the noise's, nu from 2 to 10."""
    e = float(np.round(rng.uniform(0.2, 2.0), 1))
    return e, float(np.round(e + rng.uniform(0.3, 2.0), 1)), int(rng.choice([2, 3, 4, 5, 8, 10]))


#: Exercise (b): E(y) and E_n(y) at one point y, and nu noise samples per data sample.
EX_E, EX_EN, EX_NU = book_or_drawn((0.7, 1.9, 4), _draw_energies, seed=10112)


def _samples():
    rng = problem_rng(1011)
    return rng.normal(0.5, 1.0, 200), rng.normal(-0.3, 1.5, 200)


#: Exercise (c): energy differences h at 200 data samples and at 200 noise samples.
EX_SAMPLES = _samples()


def log_normalizer(answer) -> CheckResult:
    """Exercise (a), ``ex-10-1-1-log-normalizer``: your offset c that normalizes the 2-D energy of the statement
    (:data:`EX_A`, :data:`EX_M`). Slips named: a left-out term, the covariance inverted, a mixed-up quadratic form, 2
    pi counted once, independent coordinates, Z for log Z."""
    A, m = np.asarray(EX_A, float), np.asarray(EX_M, float)
    D = len(m)
    logdet = np.log(np.linalg.det(A))
    quad = m @ np.linalg.solve(A, m)
    expected = 0.5 * D * np.log(2 * np.pi) - 0.5 * logdet + 0.5 * quad
    d = np.diag(A)
    hints = {
        "you left out the term that completing the square brings out":
            0.5 * D * np.log(2 * np.pi) - 0.5 * logdet,
        "your determinant enters with the wrong sign: the covariance of exp(-E) is the inverse of A":
            0.5 * D * np.log(2 * np.pi) + 0.5 * logdet + 0.5 * quad,
        "your quadratic form in m uses A itself, where completing the square needs its inverse":
            0.5 * D * np.log(2 * np.pi) - 0.5 * logdet + 0.5 * m @ A @ m,
        "you counted the factor 2 pi once; each of the D dimensions brings its own":
            0.5 * np.log(2 * np.pi) - 0.5 * logdet + 0.5 * quad,
        "you treated the two coordinates as independent: the off-diagonal entry of A couples them":
            np.sum(0.5 * np.log(2 * np.pi / d) + m * m / (2 * d)),
        "you gave Z instead of log Z": np.exp(expected),
    }
    return result("learned log normalizer of a Gaussian energy in two dimensions",
                  compare_scalar(answer, expected, "c", rtol=1e-6, hints=hints))


def posterior(answer) -> CheckResult:
    """Exercise (b), ``ex-10-1-1-posterior``: the NCE classifier's probability that y is data at the energies
    :data:`EX_E` and :data:`EX_EN`, with :data:`EX_NU` noise samples per data sample. Slips named: an equal prior, the
    prior ratio on the wrong side or without its log, the energies swapped, log odds."""
    E, En, nu = EX_E, EX_EN, EX_NU
    expected = _sig(En - E - np.log(nu))
    hints = {
        "you kept the prior at 1/2: the pool's proportions set the prior": _sig(En - E),
        "your prior ratio is on the wrong side: the noise is the more probable label a priori":
            _sig(En - E + np.log(nu)),
        "the prior ratio enters the log odds through its logarithm": _sig(En - E - nu),
        "you used E - E_n: the lower energy should make the example more probable": _sig(E - En - np.log(nu)),
        "you gave the log odds, not the probability": En - E - np.log(nu),
    }
    return result("posterior probability that y is data, with more noise than data",
                  compare_scalar(answer, expected, "p(X=1 | y)", rtol=1e-6, hints=hints))


def offset_gradient(answer) -> CheckResult:
    """Exercise (c), ``ex-10-1-1-offset-gradient``: your derivative in c of the pool-weighted loss (:data:`EX_NU`
    noise samples per data sample, the classifier of exercise (b)) from the energy differences in :data:`EX_SAMPLES`.
    Slips named: a flipped sign, Eq. 10.4's equal-prior loss, the pool's weights without its shift or the reverse, the
    wrong sign in the data term."""
    h_pos, h_neg = EX_SAMPLES
    nu = EX_NU
    w_pos, w_neg, shift = 1.0 / (1.0 + nu), nu / (1.0 + nu), np.log(nu)
    expected = w_pos * _sig(shift - h_pos).mean() - w_neg * _sig(h_neg - shift).mean()
    hints = {
        "your sign is flipped: raising c lowers h = E_n - E everywhere": -expected,
        "you differentiated the equal-prior loss of Eq. 10.4; the statement's loss weights its halves and "
        "uses the classifier of the pool": 0.5 * _sig(-h_pos).mean() - 0.5 * _sig(h_neg).mean(),
        "you weighted the halves by the pool but left the classifier without the pool's prior":
            w_pos * _sig(-h_pos).mean() - w_neg * _sig(h_neg).mean(),
        "you used the pool's classifier but weighted the two halves equally":
            0.5 * _sig(shift - h_pos).mean() - 0.5 * _sig(h_neg - shift).mean(),
        "the data term should hold the classifier's chance of calling a data sample noise":
            w_pos * _sig(h_pos - shift).mean() - w_neg * _sig(h_neg - shift).mean(),
    }
    return result("derivative of the pool-weighted NCE loss with respect to c",
                  compare_scalar(answer, expected, "dL/dc", rtol=1e-6, hints=hints))


def _features(y: np.ndarray, kind: str) -> np.ndarray:
    """The sufficient statistics T(y), samples in rows; the last column is the constant."""
    if kind == "quadratic":
        return np.column_stack([0.5 * y ** 2, -y, np.ones_like(y)])
    if kind == "quartic":
        return np.column_stack([0.25 * y ** 4, 0.5 * y ** 2, -y, np.ones_like(y)])
    y1, y2 = y[:, 0], y[:, 1]                                     # "plane": a Gaussian energy in two dimensions
    return np.column_stack([0.5 * y1 ** 2, 0.5 * y2 ** 2, y1 * y2, -y1, -y2, np.ones_like(y1)])


def _noise_energy(y: np.ndarray, mu_n: float, var_n: float) -> np.ndarray:
    """Energy of normalized Gaussian noise, mean mu_n and variance var_n in every dimension."""
    y = y.reshape(len(y), -1)
    return (0.5 * ((y - mu_n) ** 2).sum(axis=1) / var_n + 0.5 * y.shape[1] * np.log(2 * np.pi * var_n))


def _newton_cases():
    """Hidden problems: equal and unequal sample numbers, 3 to 6 parameters."""
    r = problem_rng(10114)
    cases = []
    for kind, n_pos, n_neg, mu_n, var_n in [("quadratic", 60, 60, 0.0, 3.0), ("quadratic", 40, 130, 0.5, 2.0),
                                            ("plane", 90, 90, 0.0, 2.5), ("quartic", 35, 80, 0.0, 1.5)]:
        D = 2 if kind == "plane" else 1
        shape = (lambda n: (n, 2)) if D == 2 else (lambda n: (n,))
        y_pos = r.normal(0.6, 0.8, shape(n_pos))
        if D == 2:
            y_pos[:, 1] += 0.5 * y_pos[:, 0]                       # correlated data
        y_neg = mu_n + np.sqrt(var_n) * r.standard_normal(shape(n_neg))
        T_pos, T_neg = _features(y_pos, kind), _features(y_neg, kind)
        En_pos, En_neg = _noise_energy(y_pos, mu_n, var_n), _noise_energy(y_neg, mu_n, var_n)
        if kind == "quadratic":
            theta = np.array([1 / var_n, mu_n / var_n,
                              0.5 * mu_n ** 2 / var_n + 0.5 * np.log(2 * np.pi * var_n)])
        elif kind == "quartic":
            theta = np.array([0.05, 1 / var_n, 0.0, 0.5 * np.log(2 * np.pi * var_n)])
        else:
            theta = np.array([1 / var_n, 1 / var_n, 0.0, 0.0, 0.0, np.log(2 * np.pi * var_n)])
        theta = theta + r.uniform(-0.2, 0.2, theta.size) * np.r_[np.full(theta.size - 1, 0.5), 1.0]
        cases.append((theta, T_pos, T_neg, En_pos, En_neg))
    return cases


def newton_step(fn) -> CheckResult:
    """Exercise (d), ``ex-10-1-1-newton-step``: your function ``fn(theta, T_pos, T_neg, En_pos, En_neg)`` returning
    theta (P,) after one full Newton step on the NCE loss of Eq. 10.4; features in rows, the last the constant 1, and
    noise energies at the samples. Slips named: one pooled sample, h reversed, a step uphill."""
    from .references import ch10_nce as refs
    def judge(out, where, *case):
        hints = {
            "you averaged data and noise together as one pooled sample; each half of Eq. 10.4 is averaged "
            "over its own samples and weighted 1/2": refs.newton_variants(*case, pooled=True),
            "you took h = E - E_n; the log odds of data are h = E_n - E (Eq. 10.3)":
                refs.newton_variants(*case, flip=True),
            "you added the Newton step instead of subtracting it: that climbs the loss":
                refs.newton_variants(*case, uphill=True),
        }
        return compare_array(out, refs.newton_variants(*case), f"the output on {where}", rtol=1e-6, atol=1e-9,
                             hints=hints)

    cases = [(f"test problem {i + 1} ({len(T_pos)} data and {len(T_neg)} noise samples, P = {theta.size} "
              "parameters)", (theta, T_pos, T_neg, *rest))
             for i, (theta, T_pos, T_neg, *rest) in enumerate(_newton_cases())]
    return check_function("one Newton step on the NCE loss (Eq. 10.4)", fn, cases, judge, name="my_newton_step",
                          signature="(theta, T_pos, T_neg, En_pos, En_neg)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-10-1-1-newton-step": {"same_data": FUNCTION_ANSWER},
}
