r"""Checkers for the exercises of Section 8.2.2 (Gumbel-max, the soft categorical, a discrete VAE)."""
from __future__ import annotations

import numpy as np
from scipy.special import softmax as _softmax

from .checker import (FUNCTION_ANSWER, CheckResult, book_or_drawn, compare_array, compare_scalar, problem_rng, result,
                      check_function)

__all__ = ["EX_ETA", "EX_COUNTS", "EX_Y1", "EX_ETA2", "EX_S", "EX_LOGITS", "chi_square", "gaussian_soft_density",
           "kl_uniform", "relaxed_gradient"]


def _spread(lo: float, hi: float, n: int, spread: float):
    """A draw of n values in [lo, hi], one decimal, spanning at least ``spread``."""
    def draw(rng):
        while True:
            v = np.round(rng.uniform(lo, hi, size=n), 1) + 0.0
            if np.ptp(v) >= spread:
                return v
    return draw


def _draw_counts(rng):
    """The categories of 1000 Gumbel-max samples with the natural parameters EX_ETA."""
    return np.bincount(np.argmax(EX_ETA + rng.gumbel(size=(1000, EX_ETA.size)), axis=1), minlength=EX_ETA.size)


#: Exercise (a): a 4-way categorical's natural parameters and counts of 1000 Gumbel-max samples.
EX_ETA = book_or_drawn(np.array([0.5, -0.5, 1.0, 0.0]), _spread(-1.0, 1.2, 4, 0.8), seed=8221)
EX_COUNTS = book_or_drawn(np.array([253, 100, 471, 176]), _draw_counts, seed=8222)


#: Exercise (b): y = (EX_Y1, 1 - EX_Y1), natural parameters and softness for K = 2.
EX_Y1 = book_or_drawn(0.3, lambda rng: round(float(rng.uniform(0.15, 0.85)), 2), seed=8223)
EX_ETA2 = book_or_drawn(np.array([-0.3, 0.6]), _spread(-1.0, 1.0, 2, 0.05), seed=8224)
EX_S = book_or_drawn(0.5, lambda rng: round(float(rng.choice([0.3, 0.4, 0.5, 0.6, 0.8, 0.9, 1.2, 1.5])), 1),
                     seed=8225)        # a softness not 1 and not the page's 0.7


#: Exercise (c): logits of one group of C = 4 categories.
EX_LOGITS = book_or_drawn(np.array([1.2, -0.3, 0.4, -1.0]), _spread(-1.5, 1.5, 4, 1.0), seed=8226)


def chi_square(answer) -> CheckResult:
    """Exercise (a), ``ex-8-2-2-chi-square``: your Pearson chi-square statistic of :data:`EX_COUNTS` against the
    probabilities of Eq. 8.28 for :data:`EX_ETA`. Slips named: observed counts in the denominator, frequencies,
    natural parameters as probabilities."""
    n = EX_COUNTS.sum()
    E = n * _softmax(EX_ETA)
    expected = float(np.sum((EX_COUNTS - E) ** 2 / E))
    hints = {
        "you divided by the observed counts instead of the expected ones":
            float(np.sum((EX_COUNTS - E) ** 2 / EX_COUNTS)),
        "you compared frequencies with probabilities; Pearson's statistic uses counts": float(
            np.sum((EX_COUNTS / n - E / n) ** 2 / (E / n))),
        "you used the normalized eta without the exponential as probabilities": float(
            np.sum((EX_COUNTS - n * (EX_ETA - EX_ETA.min()) / np.sum(EX_ETA - EX_ETA.min())) ** 2
                   / np.maximum(n * (EX_ETA - EX_ETA.min()) / np.sum(EX_ETA - EX_ETA.min()), 1e-12))),
    }
    return result("chi-square statistic", compare_scalar(answer, expected, "the statistic", rtol=1e-6, hints=hints))


def gaussian_soft_density(answer) -> CheckResult:
    """Exercise (b), ``ex-8-2-2-density``: your density in y_1 (K = 2) of the soft categorical with standard normal
    perturbations at (EX_Y1, 1 - EX_Y1) for :data:`EX_ETA2` and :data:`EX_S`. Slips named: the Concrete density, the
    log ratio's, one perturbation's spread, unscaled eta, swapped categories, a log."""
    from .references import ch08_gumbel as refs
    y1, (e1, e2), s = EX_Y1, EX_ETA2, EX_S
    y = np.array([y1, 1 - y1])
    u = float(np.log(y1 / (1 - y1)))
    jac = float(y1 * (1 - y1))
    expected = refs.normal_pdf(u, (e1 - e2) / s, np.sqrt(2.0) / s) / jac
    a = np.exp(EX_ETA2)
    hints = {
        "you used the Gumbel perturbations of the page's density, not standard normal ones": float(
            s * np.prod(a * y ** (-s - 1)) / np.sum(a * y ** (-s)) ** 2),
        "you gave the density of the log ratio log(y_1 / y_2); the statement asks for the density of y_1":
            expected * jac,
        "your spread is that of one perturbation, but the log ratio holds the difference of two":
            refs.normal_pdf(u, (e1 - e2) / s, 1.0 / s) / jac,
        "you did not divide the natural parameters by the softness":
            refs.normal_pdf(u, e1 - e2, np.sqrt(2.0) / s) / jac,
        "you swapped the two categories": refs.normal_pdf(u, (e2 - e1) / s, np.sqrt(2.0) / s) / jac,
        "you gave the log density": float(np.log(expected)),
    }
    hints = {text: v for text, v in hints.items() if not np.isclose(v, expected, rtol=1e-4)}
    return result("soft-categorical density with Gaussian perturbations",
                  compare_scalar(answer, expected, "the density", rtol=1e-6, hints=hints))


def kl_uniform(answer) -> CheckResult:
    """Exercise (c), ``ex-8-2-2-kl``: your gradient in the logits :data:`EX_LOGITS` of KL(q || uniform), q their
    softmax, shape (4,). Slips named: the gradient in q, a term of the softmax's Jacobian left out, the reversed KL,
    the KL's value."""
    q = _softmax(EX_LOGITS)
    C = q.size
    kl = float(np.sum(q * np.log(C * q)))
    expected = q * (np.log(C * q) - kl)
    if np.size(answer) == 1 and not isinstance(answer, str) and answer is not None:
        try:
            value = float(np.asarray(answer, dtype=float).reshape(()))
        except (TypeError, ValueError):
            value = None
        if value is not None and abs(value - kl) <= 1e-6 * abs(kl) + 1e-9:
            return result("gradient of the KL in the logits",
                          ["that is the KL's value: the statement asks for its gradient in the four logits."])
    hints = {
        "you gave the gradient in q, log(C q) + 1: the logits reach the KL through the softmax":
            np.log(C * q) + 1,
        "you left out the second term of the softmax's Jacobian":
            q * np.log(C * q),
        "you differentiated the reversed KL, KL(uniform || q)": q - 1.0 / C,
    }
    return result("gradient of the KL in the logits",
                  compare_array(answer, expected, "the gradient", rtol=1e-6, hints=hints))


def _one_hot(y):
    """The one-hot vector of each row's largest entry."""
    out = np.zeros_like(y)
    out[np.arange(y.shape[0]), np.argmax(y, axis=1)] = 1.0
    return out


def _relaxed_cases():
    """Hidden problems: relaxed and straight-through, small and large softness, large eta."""
    r = problem_rng(82210)
    cases = []
    c = r.uniform(-2.0, 3.0, size=3)

    def weighted_squares(Y):
        return 2.0 * c * Y

    cases.append(("K = 3 categories, 5 draws, softness 0.7, relaxed", r.normal(size=3), r.gumbel(size=(5, 3)),
                  0.7, weighted_squares, False))
    w = r.normal(size=(4, 4))

    def quadratic_form(Y):
        return Y @ (w + w.T)

    cases.append(("K = 4 categories, 6 draws, softness 0.4, straight-through", r.normal(size=4),
                  r.gumbel(size=(6, 4)), 0.4, quadratic_form, True))
    b = r.uniform(0.5, 2.0, size=5)

    def waves(Y):
        return b * np.cos(b * Y)

    cases.append(("K = 5 categories, 8 draws, softness 2.5, relaxed", r.normal(size=5), r.gumbel(size=(8, 5)),
                  2.5, waves, False))
    d = r.uniform(0.5, 2.0, size=3)

    def waves_and_line(Y):
        return d * np.cos(d * Y) + Y

    cases.append(("K = 3 categories, 6 draws, softness 0.3, natural parameters near 300, relaxed",
                  300.0 + 0.5 * r.normal(size=3), r.gumbel(size=(6, 3)), 0.3, waves_and_line, False))
    cases.append(("K = 4 categories, 7 draws, softness 0.5, natural parameters near -400, straight-through",
                  -400.0 + r.normal(size=4), r.gumbel(size=(7, 4)), 0.5, quadratic_form, True))
    return cases


def relaxed_gradient(fn) -> CheckResult:
    """Exercise (d), ``ex-8-2-2-relaxed-gradient``: your function ``fn(eta, G0, s, grad_f, hard)`` returning the
    pathwise gradient estimates (S, K) in eta through the soft categorical (straight-through when ``hard``). Slips
    named: no 1/s, a diagonal Jacobian, no softness, the variants swapped."""
    from .references import ch08_gumbel as refs
    def judge(out, where, eta, G0, s, grad_f, hard):
        y = refs.relaxed_samples(eta, G0, s)
        at = _one_hot(y) if hard else y
        expected = refs.through_jacobian(y, grad_f(at), s)
        y_unsoftened = refs.relaxed_samples(eta, G0, 1.0)
        other = y if hard else _one_hot(y)
        hints = {
            "you left out the factor 1/s of the softmax's derivative (the slip in the draft's derivative)":
                expected * s,
            "you kept only the diagonal of the Jacobian and dropped its part -y_l y_m / s":
                y * grad_f(at) / s,
            "you took the softmax of eta + g_0 without dividing by the softness":
                refs.through_jacobian(y_unsoftened, grad_f(_one_hot(y_unsoftened) if hard else y_unsoftened), s),
            ("you evaluated the gradient of f at the soft sample; the straight-through variant evaluates it at "
             "the one-hot argmax" if hard else
             "you evaluated the gradient of f at the one-hot argmax; that is the straight-through variant, "
             "and this problem asks for the relaxed one"): refs.through_jacobian(y, grad_f(other), s),
        }
        return compare_array(out, expected, f"your output on {where}", rtol=1e-7, atol=1e-10, hints=hints)

    cases = _relaxed_cases()
    cases = [(f"test problem {i + 1} of {len(cases)} ({what})", args) for i, (what, *args) in enumerate(cases)]
    return check_function("pathwise gradient through the soft categorical (Eq. 8.29)", fn, cases, judge,
                          name="my_relaxed_grad", signature="(eta, G0, s, grad_f, hard)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-8-2-2-relaxed-gradient": {"same_data": FUNCTION_ANSWER},
}
