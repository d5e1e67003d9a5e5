"""Tests for the Section 8.2.2 exercise checkers (pedagogy_lib.exercises.ch08_gumbel): scipy's chisquare
and entropy, and the K = 2 density of the soft categorical with normal perturbations, by Monte Carlo
and by differentiating the law of the log ratio."""
import numpy as np
import pytest
from scipy import special, stats

from pedagogy_lib.exercises import ch08_gumbel as check


def test_chi_square():
    p = special.softmax(check.EX_ETA)
    stat = stats.chisquare(check.EX_COUNTS, check.EX_COUNTS.sum() * p).statistic
    assert check.chi_square(stat)
    r = check.chi_square(np.sum((check.EX_COUNTS - 1000 * p) ** 2 / check.EX_COUNTS))
    assert not r and "observed" in str(r)


def test_counts_are_plausible_gumbel_max_draws():
    """The statement says the counts come from 1000 Gumbel-max samples with EX_ETA: they pass the test."""
    p = special.softmax(check.EX_ETA)
    assert check.EX_COUNTS.sum() == 1000
    assert stats.chisquare(check.EX_COUNTS, 1000 * p).pvalue > 0.05


def _gaussian_soft_density_by_cdf(y1, eta, s, h=1e-6):
    """P(y_1 <= t) = P(eps_1 - eps_2 <= s logit(t) - (eta_1 - eta_2)), with eps_1 - eps_2 ~ N(0, 2);
    its central difference in t is the density of y_1."""
    def cdf(t):
        return stats.norm.cdf((s * np.log(t / (1 - t)) - (eta[0] - eta[1])) / np.sqrt(2))
    return (cdf(y1 + h) - cdf(y1 - h)) / (2 * h)


def test_gaussian_soft_density_agrees_with_monte_carlo():
    """Samples of y = softmax((eta + eps) / s) with eps standard normal: the fraction within +-w/2 of
    EX_Y1, over w, is within 4 standard errors of the density (a bin of width 0.02 is flat enough)."""
    s, eta, y1 = check.EX_S, check.EX_ETA2, check.EX_Y1
    ref = _gaussian_soft_density_by_cdf(y1, eta, s)
    g = (eta + np.random.default_rng(3).standard_normal((1_000_000, 2))) / s
    y = special.softmax(g, axis=1)[:, 0]
    w = 0.02
    frac = np.mean(np.abs(y - y1) < w / 2)
    assert abs(frac / w - ref) < 4 * np.sqrt(frac * (1 - frac) / y.size) / w + 1e-3 * ref


def test_gaussian_soft_density():
    s, eta, y1 = check.EX_S, check.EX_ETA2, check.EX_Y1
    dens = _gaussian_soft_density_by_cdf(y1, eta, s)
    assert check.gaussian_soft_density(dens)
    r = check.gaussian_soft_density(np.log(dens))
    assert not r and "log density" in str(r)
    assert not check.gaussian_soft_density(None)


def _concrete(y1, eta, s):
    y, a = np.array([y1, 1 - y1]), np.exp(eta)
    return s * np.prod(a * y ** (-s - 1)) / np.sum(a * y ** (-s)) ** 2


@pytest.mark.parametrize("slip,fragment", [
    ("gumbel", "Gumbel"),
    ("log_ratio", "log ratio"),
    ("one_noise", "one perturbation"),
    ("unscaled", "softness"),
    ("swapped", "swapped"),
])
def test_gaussian_soft_density_slips(slip, fragment):
    s, (e1, e2), y1 = check.EX_S, check.EX_ETA2, check.EX_Y1
    u, jac = np.log(y1 / (1 - y1)), y1 * (1 - y1)
    wrong = {"gumbel": _concrete(y1, check.EX_ETA2, s),
             "log_ratio": stats.norm.pdf(u, (e1 - e2) / s, np.sqrt(2) / s),
             "one_noise": stats.norm.pdf(u, (e1 - e2) / s, 1 / s) / jac,
             "unscaled": stats.norm.pdf(u, e1 - e2, np.sqrt(2) / s) / jac,
             "swapped": stats.norm.pdf(u, (e2 - e1) / s, np.sqrt(2) / s) / jac}[slip]
    r = check.gaussian_soft_density(wrong)
    assert not r and fragment in str(r), str(r)
    assert "pdf" not in str(r) and "sqrt" not in str(r)           # the message names the slip, not the fix


def test_the_page_shows_no_k2_recipe_before_the_density_exercise():
    """The Gumbel K = 2 recipe (logistic law of the log ratio, changed back to y_1) is a template for the
    exercise's normal case: no code cell before the exercise may spell it out."""
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[2] / "chapters" / "ch08_learning_non_invertible_models"
                     / "8_2_2_gumbel_softmax.ipynb").read_text())
    before = []
    for cell in nb["cells"]:
        if ":label: ex-8-2-2-density" in "".join(cell["source"]):
            break
        if cell["cell_type"] == "code":
            before.append("".join(cell["source"]))
    code = "".join(before)
    assert "stats.logistic" not in code and "stats.norm.pdf" not in code and "(1 - _y1)" not in code


def test_kl_uniform():
    """The gradient of KL(softmax(a) || uniform) in the logits a, by central differences of scipy's
    entropy; the KL's value (what the exercise used to ask, one line on the page) is not accepted."""
    a, h = check.EX_LOGITS, 1e-6
    kl = lambda a_: stats.entropy(special.softmax(a_), np.full(4, 0.25))      # noqa: E731
    grad = np.array([(kl(a + h * e) - kl(a - h * e)) / (2 * h) for e in np.eye(4)])
    assert check.kl_uniform(grad)
    r = check.kl_uniform(kl(a))
    assert not r and "value" in str(r)
    q = special.softmax(a)
    r = check.kl_uniform(np.log(4 * q) + 1)
    assert not r and "softmax" in str(r)
    rev = lambda a_: stats.entropy(np.full(4, 0.25), special.softmax(a_))      # noqa: E731
    r = check.kl_uniform(np.array([(rev(a + h * e) - rev(a - h * e)) / (2 * h) for e in np.eye(4)]))
    assert not r and "reversed" in str(r)


# ---------------------------------------------------------------- exercise (d): the relaxed gradient as a function
def _with_library(eta, G0, s, grad_f, hard):
    """Independent of the checker's code: the library's soft categorical and its Jacobian (rows l), the
    one-hot argmax by comparison with the row maximum."""
    from pedagogy_lib.deepgen import gumbel as gb

    y = gb.soft_categorical(eta, G0, s)
    h = (y == y.max(axis=1, keepdims=True)).astype(float) if hard else y
    return np.einsum("slm,sl->sm", gb.soft_categorical_jacobian(y, s), grad_f(h))


def _reference(eta, G0, s, grad_f, hard):
    a = (eta + G0) / s
    a = a - a.max(axis=1, keepdims=True)
    y = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    gf = grad_f((a == 0).astype(float) if hard else y)
    return y * (gf - np.sum(y * gf, axis=1, keepdims=True)) / s


def test_relaxed_gradient_reference_and_library_pass():
    assert check.relaxed_gradient(_reference)
    assert check.relaxed_gradient(_with_library)


def test_relaxed_gradient_takes_any_overflow_safe_softmax_and_refuses_a_naive_one():
    """The stable softmax is a tool in this exercise, not what is graded: the statement says a log-sum-exp
    from SciPy or np.logaddexp.reduce counts. A softmax written without any shift still fails on the test
    problems with natural parameters in the hundreds."""
    from scipy.special import logsumexp

    def jvp(y, gf, s):
        return y * (gf - np.sum(y * gf, axis=1, keepdims=True)) / s

    def by_lse(reduce):
        def fn(eta, G0, s, grad_f, hard):
            a = (eta + G0) / s
            y = np.exp(a - reduce(a))
            h = (a == a.max(axis=1, keepdims=True)).astype(float) if hard else y
            return jvp(y, grad_f(h), s)
        return fn

    assert check.relaxed_gradient(by_lse(lambda a: logsumexp(a, axis=1, keepdims=True)))
    assert check.relaxed_gradient(by_lse(lambda a: np.logaddexp.reduce(a, axis=1, keepdims=True)))

    def naive(eta, G0, s, grad_f, hard):
        a = (eta + G0) / s
        with np.errstate(all="ignore"):
            y = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
        h = (a == a.max(axis=1, keepdims=True)).astype(float) if hard else y
        with np.errstate(all="ignore"):
            return jvp(y, grad_f(h), s)

    assert not check.relaxed_gradient(naive)


def test_relaxed_gradient_is_the_derivative_of_the_relaxed_cost():
    """The relaxed estimate (hard=False) is the derivative in eta of f(softmax((eta + g0) / s)) at fixed
    noise, by central differences, for a cost with a known gradient."""
    rng = np.random.default_rng(3)
    c = np.array([1.0, -2.0, 0.5, 3.0])
    f = lambda Y: np.sum(c * np.sin(Y), axis=1)                 # noqa: E731
    grad_f = lambda Y: c * np.cos(Y)                            # noqa: E731
    eta, G0, s = rng.normal(size=4), rng.gumbel(size=(5, 4)), 0.6
    soft = lambda e: special.softmax((e + G0) / s, axis=1)      # noqa: E731
    fd = np.stack([(f(soft(eta + 1e-6 * u)) - f(soft(eta - 1e-6 * u))) / 2e-6 for u in np.eye(4)], axis=1)
    np.testing.assert_allclose(_reference(eta, G0, s, grad_f, False), fd, rtol=1e-6, atol=1e-8)


def _naive(eta, G0, s, grad_f, hard):
    with np.errstate(all="ignore"):
        e = np.exp((eta + G0) / s)
        y = e / e.sum(axis=1, keepdims=True)
        gf = grad_f(np.eye(eta.size)[np.argmax(y, axis=1)] if hard else y)
        return y * (gf - np.sum(y * gf, axis=1, keepdims=True)) / s


@pytest.mark.parametrize("wrong,fragment", [
    (lambda eta, G0, s, g, hard: _reference(eta, G0, s, g, hard) * s, "factor 1/s"),
    (lambda eta, G0, s, g, hard: special.softmax((eta + G0) / s, axis=1) * g(special.softmax((eta + G0) / s, axis=1))
     / s, "only the diagonal"),
    (lambda eta, G0, s, g, hard: _reference(eta, G0, 1.0, g, hard) / s, "without dividing by the softness"),
    (lambda eta, G0, s, g, hard: _reference(eta, G0, s, g, not hard), "straight-through variant"),
    (lambda eta, G0, s, g, hard: _reference(eta, G0, s, g, False), "at the soft sample"),
    (_naive, "NaN or inf"),
    (lambda eta, G0, s, g, hard: None, "None"),
    (lambda eta, G0, s, g, hard: 1 / 0, "ZeroDivisionError"),
])
def test_relaxed_gradient_names_the_slips(wrong, fragment):
    res = check.relaxed_gradient(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_relaxed_gradient_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.relaxed_gradient(3))
    msg = str(check.relaxed_gradient(lambda eta, G0, s, g, hard: _reference(eta, G0, s, g, hard) + 0.01))
    assert "test problem 1" in msg and "not within tolerance" in msg, msg
    assert not re.search(r"[0-9]\.[0-9]", msg.replace("8.29", "").replace("softness 0.7", "")), msg


# --- routes through one library call that the graded version refuses ---


def test_page_does_not_code_the_relaxed_gradient_exercise():
    """The bias-variance cell multiplies by the library's Jacobian; the product without the K x K matrix,
    which the relaxed-gradient exercise asks for, is not written on the page."""
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[2] / "chapters" / "ch08_learning_non_invertible_models"
                     / "8_2_2_gumbel_softmax.ipynb").read_text())
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "gb.soft_categorical_jacobian(y, s)" in code
    assert "np.sum(y * gf" not in code
