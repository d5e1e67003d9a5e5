r"""Checkers for the exercises of Section 10.1.3 ("local" NCE)."""
from __future__ import annotations

import numpy as np
from scipy.special import expit as _sig

from .checker import (FUNCTION_ANSWER, CheckResult, book_or_drawn, compare_array, compare_scalar, problem_rng, result,
                      check_function, tuple_problems)

__all__ = ["EX_K", "EX_POSITIVES", "EX_H", "EX_P", "offset", "one_positive_mass", "pointwise_minimizer",
           "gradient_hessian_function"]


def _draw_k(rng) -> tuple:
    """K in [6, 50] examples per trial, and 2 to K/3 positives among them."""
    K = int(rng.integers(6, 51))
    return K, int(rng.integers(2, K // 3 + 1))


#: Exercise (a): examples per trial, and how many of them are positives (the page has one).
EX_K, EX_POSITIVES = book_or_drawn((11, 3), _draw_k, seed=10131)


def _draw_h(rng) -> np.ndarray:
    """Forty energy differences, one decimal: a recognized positive in [0.5, 2.5], then 39 negatives in [-6, -2]."""
    return np.round(np.concatenate([rng.uniform(0.5, 2.5, 1), rng.uniform(-6.0, -2.0, 39)]), 1) + 0.0


#: Exercise (b): energy differences of the K = 40 examples of one trial (too many for the page's enumeration).
EX_H = book_or_drawn(_draw_h(np.random.default_rng(10134)), _draw_h, seed=10132)


def _draw_p(rng) -> tuple:
    """(p, p_n, K, pi): two different densities, K in [3, 20], a prior pi away from 1/K."""
    while True:
        p, pn = (float(v) for v in np.round(rng.uniform(0.02, 0.6, 2), 2))
        K = int(rng.integers(3, 21))
        pi = round(float(rng.uniform(0.05, 0.45)), 2)
        if p != pn * (K - 1) and p != pn and abs(pi - 1.0 / K) > 0.02:
            return p, pn, K, pi


#: Exercise (c): p(y), p_n(y) at one point, K, and the prior pi of the model's coins (Step 3 has 1/2).
EX_P = book_or_drawn((0.30, 0.05, 6, 0.25), _draw_p, seed=10133)


def offset(answer) -> CheckResult:
    """Exercise (a), ``ex-10-1-3-offset``: how much local NCE's learned c exceeds the true log normalizer when each
    trial of K = :data:`EX_K` examples holds :data:`EX_POSITIVES` positives, in the limit of many trials. Slips named:
    the page's one-positive answer, a wrong sign, no dependence on P, the positives counted as negatives, no
    logarithm, zero."""
    K, P = EX_K, EX_POSITIVES
    expected = np.log((K - P) / P)
    hints = {
        "you gave the page's answer for one positive per trial; here there are more": np.log(K - 1),
        "your offset does not depend on the number of positives P: redo Step 3's expected loss at a point "
        "for a trial with P positives": np.log(K - P),
        "your offset has the wrong sign": np.log(P / (K - P)),
        "your count of negatives includes the positives": np.log(K / P),
        "you gave the ratio, not its logarithm": (K - P) / P,
        "you gave zero, as for binary NCE; the negatives outweigh the positives": 0.0,
    }
    return result("local NCE's offset", compare_scalar(answer, expected, "the offset", rtol=1e-6, hints=hints))


def one_positive_mass(answer) -> CheckResult:
    """Exercise (b), ``ex-10-1-3-one-positive``: the local model's total probability of exactly one positive among the
    examples with energy differences :data:`EX_H` (Eq. 10.12 summed over i). Slips named: InfoNCE's answer, the other
    examples' factors left out, a softmax."""
    s = _sig(EX_H)
    expected = sum(s[i] * np.prod(np.delete(1 - s, i)) for i in range(len(s)))
    soft = np.exp(EX_H) / np.exp(EX_H).sum()
    hints = {
        "you gave 1, as for the softmax of Eq. 10.6; the local model also allows 0 or several positives": 1.0,
        "you summed sigma(h_i) alone, without the factors for the other examples": s.sum(),
        "you gave the softmax of the positive example": soft[0],
    }
    return result("probability of exactly one positive under the local model",
                  compare_scalar(answer, expected, "the sum", rtol=1e-6, hints=hints))


def pointwise_minimizer(answer) -> CheckResult:
    """Exercise (c), ``ex-10-1-3-minimizer``: the h(y) minimizing the expected local-NCE loss at the point
    :data:`EX_P` = (p, p_n, K, pi), coins calling data with prior pi. Slips named: fair coins, the prior with the
    wrong sign or as log pi, no term for the negatives, binary NCE's minimizer, the ratio."""
    p, pn, K, pi = EX_P
    odds = np.log(pi / (1.0 - pi))
    base = np.log(p) - np.log(pn)
    expected = base - np.log(K - 1) - odds
    hints = {
        "you kept Step 3's fair coins: your answer does not depend on pi": base - np.log(K - 1),
        "the prior enters your answer with the wrong sign": base - np.log(K - 1) + odds,
        "the prior enters your answer through log pi alone; write out the posterior odds that one "
        "example is data": base - np.log(K - 1) - np.log(pi),
        "your answer has no term for the K - 1 negatives of a trial": base - odds,
        "you gave binary NCE's minimizer, which knows neither K nor pi": base,
        "you gave the ratio, not its logarithm": np.exp(expected),
    }
    return result("pointwise minimizer of the local-NCE loss with biased coins",
                  compare_scalar(answer, expected, "h*", rtol=1e-6, hints=hints))


def _features(y: np.ndarray, kind: str) -> np.ndarray:
    """Sufficient statistics T(y) of the test energies; the last feature is the constant."""
    if kind == "quadratic":
        return np.stack([0.5 * y ** 2, -y, np.ones_like(y)], axis=-1)
    if kind == "quartic":
        return np.stack([0.25 * y ** 4, 0.5 * y ** 2, -y, np.ones_like(y)], axis=-1)
    y1, y2 = y[..., 0], y[..., 1]                                 # "plane": a Gaussian energy in two dimensions
    return np.stack([0.5 * y1 ** 2, 0.5 * y2 ** 2, y1 * y2, -y1, -y2, np.ones_like(y1)], axis=-1)


def _noise_energy(y: np.ndarray, mu_n: float, var_n: float, D: int) -> np.ndarray:
    """Energy of normalized Gaussian noise, mean mu_n and variance var_n in each of D dimensions."""
    sq = (y - mu_n) ** 2 if D == 1 else ((y - mu_n) ** 2).sum(axis=-1)
    return 0.5 * sq / var_n + 0.5 * D * np.log(2 * np.pi * var_n)


def _local_cases():
    """Hidden problems: one trial, K = 2, energies with 3, 4 and 6 parameters."""
    r = problem_rng(10134)
    cases = []
    for kind, N, K, mu_n, var_n in [("quadratic", 50, 6, 0.0, 4.0), ("quadratic", 1, 5, 0.5, 2.0),
                                    ("quadratic", 40, 2, 0.0, 3.0), ("quartic", 30, 9, 0.0, 1.5),
                                    ("plane", 25, 4, 0.0, 2.5)]:
        D = 2 if kind == "plane" else 1
        tail = (2,) if D == 2 else ()
        y_pos = r.normal(0.6, 0.8, (N,) + tail)
        if D == 2:
            y_pos[:, 1] += 0.5 * y_pos[:, 0]                       # correlated data
        y_neg = mu_n + np.sqrt(var_n) * r.standard_normal((N, K - 1) + tail)
        cov = np.array([[0.64, 0.32], [0.32, 0.8]]) if D == 2 else np.array([[0.64]])
        mean = np.array([0.6, 0.9]) if D == 2 else np.array([0.6])
        prec = np.linalg.inv(cov)
        lin = prec @ mean
        c = 0.5 * mean @ lin + 0.5 * np.log(np.linalg.det(2 * np.pi * cov))
        if kind == "quadratic":                                    # the data's own energy, then moved
            theta = np.array([prec[0, 0], lin[0], c])
        elif kind == "quartic":
            theta = np.array([0.05, prec[0, 0], lin[0], c])
        else:
            theta = np.array([prec[0, 0], prec[1, 1], prec[0, 1], lin[0], lin[1], c])
        theta = theta + r.uniform(-0.4, 0.4, theta.size) * np.r_[np.full(theta.size - 1, 0.5), 1.0]
        cases.append((theta, _features(y_pos, kind), _features(y_neg, kind),
                      _noise_energy(y_pos, mu_n, var_n, D), _noise_energy(y_neg, mu_n, var_n, D)))
    return cases


def gradient_hessian_function(fn) -> CheckResult:
    """Exercise (d), ``ex-10-1-3-loss-gradient``: your function ``fn(theta, T_pos, T_neg, En_pos, En_neg)`` returning
    ``(grad, hess)`` of the trial-averaged local-NCE loss of Eq. 10.13 for an energy linear in ``theta`` (P,);
    ``T_pos`` (N, P) and ``T_neg`` (N, K-1, P) are features, ``En_pos`` and ``En_neg`` noise energies. Slips named:
    binary NCE's halves, negatives averaged, a sum over trials, the positive's sigmoid flipped, h reversed, InfoNCE's
    loss, a Hessian weighted by sigmoids or subtracting the negatives."""
    from .references import ch10_local_nce as refs
    def judge(out, where, *case):
        problems = tuple_problems(out, 2, "the pair (grad, hess)", where)
        if problems:
            return problems
        slips = {
            "you kept the factors of one half of binary NCE's loss (Eq. 10.4); the local loss has none":
                refs.local_variants(*case, halves=True),
            "you averaged the terms of a trial's negatives instead of counting each one":
                refs.local_variants(*case, mean_neg=True),
            "you summed over the trials instead of averaging": refs.local_variants(*case, summed=True),
            "you took h = E - E_n; the log odds of data are h = E_n - E (Eq. 10.3)":
                refs.local_variants(*case, h_flipped=True),
            "you differentiated InfoNCE's softmax loss (Eq. 10.7), not the product of binary posteriors of "
            "Eq. 10.12": refs.infonce_variant(*case),
        }
        grad_ref, hess_ref = refs.local_variants(*case)
        grad_slips = {k: v[0] for k, v in slips.items()}
        grad_slips["you differentiated the positive's term as if it were a negative's: the sigmoid there is "
                   "taken at the wrong sign of h"] = refs.local_variants(*case, pos_flipped=True)[0]
        hess_slips = {k: v[1] for k, v in slips.items() if "h = E - E_n" not in k}    # that slip keeps the Hessian
        hess_slips["you weighted each outer product by the sigmoid of the gradient, not by its derivative "
                   "with respect to h"] = refs.local_variants(*case, hess_first=True)[1]
        hess_slips["you subtracted the negatives' terms, as in the gradient; differentiate their terms once "
                   "more"] = refs.local_variants(*case, hess_neg_sub=True)[1]
        return (compare_array(out[0], grad_ref, f"the gradient on {where}", rtol=1e-7, atol=1e-10,
                              hints=grad_slips)
                + compare_array(out[1], hess_ref, f"the Hessian on {where}", rtol=1e-7, atol=1e-10,
                                hints=hess_slips))

    cases = []
    for i, case in enumerate(_local_cases()):
        N, K1, P = case[2].shape
        cases.append((f"test problem {i + 1} ({N} trial{'s' if N > 1 else ''} of K = {K1 + 1}, P = {P} "
                      "parameters)", case))
    return check_function("local-NCE gradient and Hessian (Eq. 10.13)", fn, cases, judge, name="my_local_nce",
                          signature="(theta, T_pos, T_neg, En_pos, En_neg)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-10-1-3-loss-gradient": {"same_data": FUNCTION_ANSWER},
}
