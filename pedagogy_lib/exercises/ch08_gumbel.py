r"""Checkers for the exercises of Section 8.2.2 (Gumbel-max, the soft categorical, a discrete VAE).

Use in the notebook as::

    from pedagogy_lib.exercises import ch08_gumbel as check
    check.chi_square(my_value)               # says what is wrong, never the answer
    check.relaxed_gradient(my_relaxed_grad)  # a function, run on test problems made here

Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from .checker import CheckResult, book_or_drawn, compare_array, compare_scalar, problem_rng, result, check_function

__all__ = ["EX_ETA", "EX_COUNTS", "EX_Y1", "EX_ETA2", "EX_S", "EX_LOGITS", "chi_square", "gaussian_soft_density",
           "kl_uniform", "relaxed_gradient"]


def _draw_eta(rng):
    """Natural parameters of the same kind as the book's EX_ETA, for one student: four values between -1
    and 1.2 (one decimal), not all equal."""
    while True:
        eta = np.round(rng.uniform(-1.0, 1.2, size=4), 1) + 0.0
        if np.ptp(eta) >= 0.8:
            return eta


def _draw_counts(rng):
    """Counts of the same kind as the book's EX_COUNTS, for one student: the categories of 1000 Gumbel-max
    samples with the natural parameters EX_ETA."""
    return np.bincount(np.argmax(EX_ETA + rng.gumbel(size=(1000, EX_ETA.size)), axis=1), minlength=EX_ETA.size)


#: Exercise (a): natural parameters of a 4-way categorical and counts of 1000 Gumbel-max samples (the book's
#: counts are one such draw, made once with seed 8222).
EX_ETA = book_or_drawn(np.array([0.5, -0.5, 1.0, 0.0]), _draw_eta, seed=8221)
EX_COUNTS = book_or_drawn(np.array([253, 100, 471, 176]), _draw_counts, seed=8222)


def _draw_y1(rng):
    """A point of the same kind as the book's EX_Y1, for one student: strictly between 0.15 and 0.85 (two
    decimals)."""
    return round(float(rng.uniform(0.15, 0.85)), 2)


def _draw_eta2(rng):
    """Natural parameters of the same kind as the book's EX_ETA2, for one student: two unequal values between
    -1 and 1 (one decimal)."""
    while True:
        eta = np.round(rng.uniform(-1.0, 1.0, size=2), 1) + 0.0
        if eta[0] != eta[1]:
            return eta


def _draw_s(rng):
    """A softness of the same kind as the book's EX_S, for one student: between 0.3 and 1.5 (one decimal),
    not 1 and not the page's 0.7."""
    return round(float(rng.choice([0.3, 0.4, 0.5, 0.6, 0.8, 0.9, 1.2, 1.5])), 1)


#: Exercise (b): a point y = (EX_Y1, 1 - EX_Y1), natural parameters and softness for K = 2 (the
#: soft categorical with standard normal perturbations).
EX_Y1 = book_or_drawn(0.3, _draw_y1, seed=8223)
EX_ETA2 = book_or_drawn(np.array([-0.3, 0.6]), _draw_eta2, seed=8224)
EX_S = book_or_drawn(0.5, _draw_s, seed=8225)


def _draw_logits(rng):
    """Logits of the same kind as the book's EX_LOGITS, for one student: four values between -1.5 and 1.5
    (one decimal), not all equal."""
    while True:
        logits = np.round(rng.uniform(-1.5, 1.5, size=4), 1) + 0.0
        if np.ptp(logits) >= 1.0:
            return logits


#: Exercise (c): logits of one group of C = 4 categories.
EX_LOGITS = book_or_drawn(np.array([1.2, -0.3, 0.4, -1.0]), _draw_logits, seed=8226)


def _softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


def chi_square(answer) -> CheckResult:
    """Exercise (a), ``ex-8-2-2-chi-square``: your Pearson chi-square statistic of :data:`EX_COUNTS`
    against the probabilities of Eq. 8.28 for :data:`EX_ETA`, a single number.

    The checker recognizes the wrong counts in the denominator, frequencies used in place of
    counts, and natural parameters used as probabilities.
    """
    n = EX_COUNTS.sum()
    E = n * _softmax(EX_ETA)
    expected = float(np.sum((EX_COUNTS - E) ** 2 / E))
    hints = {
        "you divided by the observed counts instead of the expected ones": float(np.sum((EX_COUNTS - E) ** 2 / EX_COUNTS)),
        "you compared frequencies with probabilities; Pearson's statistic uses counts": float(
            np.sum((EX_COUNTS / n - E / n) ** 2 / (E / n))),
        "you used the normalized eta without the exponential as probabilities": float(
            np.sum((EX_COUNTS - n * (EX_ETA - EX_ETA.min()) / np.sum(EX_ETA - EX_ETA.min())) ** 2
                   / np.maximum(n * (EX_ETA - EX_ETA.min()) / np.sum(EX_ETA - EX_ETA.min()), 1e-12))),
    }
    return result("chi-square statistic", compare_scalar(answer, expected, "the statistic", rtol=1e-6, hints=hints))


def _normal_pdf(x, mean, sd):
    return float(np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)))


def gaussian_soft_density(answer) -> CheckResult:
    """Exercise (b), ``ex-8-2-2-density``: your density (K = 2, with respect to y_1) of the soft
    categorical whose perturbations are standard normal instead of Gumbel, at y = (EX_Y1, 1 - EX_Y1)
    for :data:`EX_ETA2` and :data:`EX_S`, a single number (not its log).

    The checker recognizes the Gumbel (Concrete) density in its place, the density of the log ratio
    (no change of variables back to y_1), the spread of a single perturbation where two enter, the
    natural parameters left unscaled by the softness, the two categories swapped, and the log
    density.
    """
    y1, (e1, e2), s = EX_Y1, EX_ETA2, EX_S
    y = np.array([y1, 1 - y1])
    u = float(np.log(y1 / (1 - y1)))
    jac = float(y1 * (1 - y1))
    expected = _normal_pdf(u, (e1 - e2) / s, np.sqrt(2.0) / s) / jac
    a = np.exp(EX_ETA2)
    hints = {
        "you used the Gumbel perturbations of the page's density, not standard normal ones": float(
            s * np.prod(a * y ** (-s - 1)) / np.sum(a * y ** (-s)) ** 2),
        "you gave the density of the log ratio log(y_1 / y_2); the statement asks for the density of y_1":
            expected * jac,
        "your spread is that of one perturbation, but the log ratio holds the difference of two":
            _normal_pdf(u, (e1 - e2) / s, 1.0 / s) / jac,
        "you did not divide the natural parameters by the softness":
            _normal_pdf(u, e1 - e2, np.sqrt(2.0) / s) / jac,
        "you swapped the two categories": _normal_pdf(u, (e2 - e1) / s, np.sqrt(2.0) / s) / jac,
        "you gave the log density": float(np.log(expected)),
    }
    hints = {text: v for text, v in hints.items() if not np.isclose(v, expected, rtol=1e-4)}
    return result("soft-categorical density with Gaussian perturbations",
                  compare_scalar(answer, expected, "the density", rtol=1e-6, hints=hints))


def kl_uniform(answer) -> CheckResult:
    """Exercise (c), ``ex-8-2-2-kl``: your gradient, with respect to the logits :data:`EX_LOGITS`, of the
    group's contribution KL(q || uniform) = sum_c q_c log(C q_c) to the regularizer, q the softmax of the logits;
    an array of shape (4,).

    The checker recognizes the gradient in q (the softmax's Jacobian left out), a term of the softmax's
    Jacobian left out, the gradient of the reversed KL, and the KL's value given in place of its
    gradient.
    """
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


def _soft(eta, G0, s):
    """The relaxed samples, one per row of G0, with the largest exponent of each row taken out first."""
    a = (eta + G0) / s
    a = a - a.max(axis=1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(axis=1, keepdims=True)


def _one_hot(y):
    out = np.zeros_like(y)
    out[np.arange(y.shape[0]), np.argmax(y, axis=1)] = 1.0
    return out


def _through_jacobian(y, v, s):
    """v (S, K) multiplied by the softmax Jacobian at each row of y, built in full and applied row by row."""
    out = np.empty_like(v)
    for i in range(y.shape[0]):
        J = (np.diag(y[i]) - np.outer(y[i], y[i])) / s
        out[i] = J.T @ v[i]
    return out


def _relaxed_cases():
    """Test problems for :func:`relaxed_gradient`, none of them the book's: (description, eta, G0, s, grad_f,
    hard), with Gumbel draws in the rows of G0 (S, K); relaxed and straight-through problems, a small and
    a large softness, and natural parameters far from zero."""
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
    """Exercise (d), ``ex-8-2-2-relaxed-gradient``: your function ``fn(eta, G0, s, grad_f, hard)``, the
    single-sample pathwise estimates of the gradient with respect to eta through the soft categorical.

    ``eta`` has shape (K,), ``G0`` is an (S, K) array of standard Gumbel draws (one per row), ``s`` is the
    softness, ``grad_f`` maps an (S, K) array of points to the (S, K) array of gradients of f at them, and
    ``hard`` (True or False) asks for the straight-through variant. ``fn`` returns an (S, K) array, one
    estimate per row. It runs on test problems made here: relaxed and straight-through, small and large
    softness, and natural parameters far from zero, where a softmax written naively overflows. The
    checker recognizes a missing factor of the softness, a Jacobian without its off-diagonal part, a
    softmax without the softness, and the relaxed and straight-through variants swapped.
    """
    def judge(out, where, eta, G0, s, grad_f, hard):
        y = _soft(eta, G0, s)
        at = _one_hot(y) if hard else y
        expected = _through_jacobian(y, grad_f(at), s)
        y_unsoftened = _soft(eta, G0, 1.0)
        other = y if hard else _one_hot(y)
        hints = {
            "you left out the factor 1/s of the softmax's derivative (the slip in the draft's derivative)":
                expected * s,
            "you kept only the diagonal of the Jacobian and dropped its part -y_l y_m / s":
                y * grad_f(at) / s,
            "you took the softmax of eta + g_0 without dividing by the softness":
                _through_jacobian(y_unsoftened, grad_f(_one_hot(y_unsoftened) if hard else y_unsoftened), s),
            ("you evaluated the gradient of f at the soft sample; the straight-through variant evaluates it at "
             "the one-hot argmax" if hard else
             "you evaluated the gradient of f at the one-hot argmax; that is the straight-through variant, "
             "and this problem asks for the relaxed one"): _through_jacobian(y, grad_f(other), s),
        }
        return compare_array(out, expected, f"your output on {where}", rtol=1e-7, atol=1e-10, hints=hints)

    cases = _relaxed_cases()
    cases = [(f"test problem {i + 1} of {len(cases)} ({what})", args) for i, (what, *args) in enumerate(cases)]
    return check_function("pathwise gradient through the soft categorical (Eq. 8.29)", fn, cases, judge,
                          name="my_relaxed_grad", signature="(eta, G0, s, grad_f, hard)")


#: For the graded (nbgrader) version (courseware/grading.py): per exercise, problem data drawn for each
#: student ("variant"), or why every student gets the same data ("same_data").
SUMMATIVE = {
    "ex-8-2-2-relaxed-gradient": {"same_data": "the answer is a function, which the grader calls on test problems of "
                                               "the checker's own"},
}
