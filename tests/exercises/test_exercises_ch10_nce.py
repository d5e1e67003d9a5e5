"""Tests for the Section 10.1.1 exercise checkers (pedagogy_lib.exercises.ch10_nce): the two-dimensional normalizer
by quadrature, Bayes' rule with the pool's prior, the derivative by finite differences, the Newton step from the
library's gradient and Hessian."""
import numpy as np
import pytest
from scipy import integrate

from pedagogy_lib.exercises import ch10_nce


def _log_normalizer_by_quadrature():
    A, m = np.asarray(ch10_nce.EX_A), np.asarray(ch10_nce.EX_M)
    f = lambda y2, y1: np.exp(-(0.5 * np.array([y1, y2]) @ A @ np.array([y1, y2]) - m @ np.array([y1, y2])))
    return np.log(integrate.dblquad(f, -15, 15, -15, 15, epsabs=1e-12)[0])


def test_log_normalizer():
    assert ch10_nce.log_normalizer(_log_normalizer_by_quadrature())


@pytest.mark.parametrize("slip, fragment", [
    (lambda A, m, c: c - 0.5 * m @ np.linalg.solve(A, m), "completing the square"),
    (lambda A, m, c: c + np.log(np.linalg.det(A)), "wrong sign"),
    (lambda A, m, c: c - 0.5 * m @ np.linalg.solve(A, m) + 0.5 * m @ A @ m, "its inverse"),
    (lambda A, m, c: c - 0.5 * np.log(2 * np.pi), "each of the D dimensions"),
    (lambda A, m, c: sum(0.5 * np.log(2 * np.pi / A[i, i]) + m[i] ** 2 / (2 * A[i, i]) for i in range(2)),
     "as independent"),
    (lambda A, m, c: np.exp(c), "Z instead of log Z"),
])
def test_log_normalizer_slips_are_named(slip, fragment):
    A, m = np.asarray(ch10_nce.EX_A), np.asarray(ch10_nce.EX_M)
    r = ch10_nce.log_normalizer(slip(A, m, _log_normalizer_by_quadrature()))
    assert not r and fragment in str(r), str(r)


def test_log_normalizer_is_asked_in_two_dimensions_with_coupled_coordinates():
    A = np.asarray(ch10_nce.EX_A)
    assert A.shape == (2, 2) and A[0, 1] != 0 and np.all(np.linalg.eigvalsh(A) > 0)


def _posterior_by_enumeration():
    """Bayes' rule over the two labels, the prior of data 1 / (1 + nu) from the pool's proportions."""
    E, En, nu = ch10_nce.EX_E, ch10_nce.EX_EN, ch10_nce.EX_NU
    joint = {1: np.exp(-E) / (1 + nu), 0: np.exp(-En) * nu / (1 + nu)}
    return joint[1] / (joint[0] + joint[1])


def test_posterior():
    assert ch10_nce.posterior(_posterior_by_enumeration())


@pytest.mark.parametrize("slip, fragment", [
    (lambda E, En, nu: 1 / (1 + np.exp(E - En)), "prior at 1/2"),
    (lambda E, En, nu: 1 / (1 + np.exp(E - En - np.log(nu))), "wrong side"),
    (lambda E, En, nu: 1 / (1 + np.exp(E - En + nu)), "through its logarithm"),
    (lambda E, En, nu: 1 / (1 + np.exp(En - E + np.log(nu))), "E - E_n"),
    (lambda E, En, nu: En - E - np.log(nu), "log odds"),
])
def test_posterior_slips_are_named(slip, fragment):
    r = ch10_nce.posterior(slip(ch10_nce.EX_E, ch10_nce.EX_EN, ch10_nce.EX_NU))
    assert not r and fragment in str(r), str(r)


def test_posterior_needs_the_unequal_prior():
    """With nu > 1 the equal-prior answer of Eq. 10.2 is wrong, here even on the other side of 1/2."""
    assert ch10_nce.EX_NU > 1
    assert (_posterior_by_enumeration() - 0.5) * (1 / (1 + np.exp(ch10_nce.EX_E - ch10_nce.EX_EN)) - 0.5) < 0


def test_problems_drawn_for_students_are_well_posed_and_graded_by_their_own_answer():
    from courseware import grading as G

    for salt in range(12):
        fresh = G.own_copy(ch10_nce, salt)
        A, m = np.asarray(fresh.EX_A), np.asarray(fresh.EX_M)
        assert A.shape == (2, 2) and A[0, 1] != 0 and np.all(np.linalg.eigvalsh(A) > 0)
        assert np.all(m != 0) and fresh.EX_NU > 1 and fresh.EX_EN > fresh.EX_E
        c = np.log(2 * np.pi) + 0.5 * np.log(1 / np.linalg.det(A)) + 0.5 * m @ np.linalg.inv(A) @ m
        assert fresh.log_normalizer(c) and not fresh.log_normalizer(c - 0.5 * np.log(2 * np.pi))
        nu = fresh.EX_NU
        assert fresh.posterior(np.exp(-fresh.EX_E) / (np.exp(-fresh.EX_E) + nu * np.exp(-fresh.EX_EN)))


def _pool_loss(h_pos, h_neg, nu):
    """The statement's pool-weighted loss as a function of a shift dc of the offset (raising c by dc lowers
    every h by dc), written with logaddexp: -log sigma(x) = log(1 + e^-x), -log(1 - sigma(x)) = log(1 + e^x)."""
    s = np.log(nu)
    return lambda dc: (np.mean(np.logaddexp(0, -(h_pos - dc - s))) / (1 + nu)
                       + nu * np.mean(np.logaddexp(0, h_neg - dc - s)) / (1 + nu))


@pytest.mark.parametrize("nu", [None, 2, 10])
def test_offset_gradient_against_finite_differences_of_the_pool_weighted_loss(nu, monkeypatch):
    if nu is not None:                                         # a student's own pool size
        monkeypatch.setattr(ch10_nce, "EX_NU", nu)
    h_pos, h_neg = ch10_nce.EX_SAMPLES
    loss = _pool_loss(h_pos, h_neg, ch10_nce.EX_NU)
    eps = 1e-6
    fd = (loss(eps) - loss(-eps)) / (2 * eps)                  # central differences: error ~ eps^2
    assert ch10_nce.offset_gradient(fd)
    r = ch10_nce.offset_gradient(-fd)
    assert not r and "sign" in str(r)
    # the equal-prior derivative of Eq. 10.4 (the page's formula) is recognized and refused
    eq_10_4 = _pool_loss(h_pos, h_neg, 1)
    r = ch10_nce.offset_gradient((eq_10_4(eps) - eq_10_4(-eps)) / (2 * eps))
    assert not r and "Eq. 10.4" in str(r)


# ---------------------------------------------------------------- exercise (d): one Newton step
def _step_by_library(theta, T_pos, T_neg, En_pos, En_neg):
    """The answer from the library's gradient and Hessian (independent of the checker's sample-by-sample sums)."""
    from pedagogy_lib.contrastive import nce
    args = (T_pos, T_neg, En_pos, En_neg)
    return theta - np.linalg.solve(nce.nce_hessian(theta, *args), nce.nce_grad(theta, *args))


def test_newton_step_reference_passes():
    assert ch10_nce.newton_step(_step_by_library)


def _pooled(theta, T_pos, T_neg, En_pos, En_neg):
    T = np.vstack([T_pos, T_neg])
    x = np.r_[np.ones(len(T_pos)), np.zeros(len(T_neg))]
    h = np.r_[En_pos, En_neg] - T @ theta
    s = 1 / (1 + np.exp(-h))
    g = (x - s) @ T / len(T)
    H = (T.T * (s * (1 - s))) @ T / len(T)
    return theta - np.linalg.solve(H, g)


@pytest.mark.parametrize("wrong, fragment", [
    (_pooled, "one pooled sample"),
    (lambda th, Tp, Tn, Ep, En: _step_by_library(th, Tp, Tn, -Ep + 2 * Tp @ th, -En + 2 * Tn @ th), "h = E - E_n"),
    (lambda th, *a: 2 * th - _step_by_library(th, *a), "instead of subtracting"),
    (lambda th, *a: th, "not within tolerance"),
    (lambda th, *a: None, "forget to return"),
    (lambda th, *a: 1 / 0, "ZeroDivisionError"),
])
def test_newton_step_slips_are_named(wrong, fragment):
    r = ch10_nce.newton_step(wrong)
    assert not r and fragment in str(r), str(r)


def test_newton_step_pooling_passes_equal_halves_and_fails_where_they_differ():
    r = str(ch10_nce.newton_step(_pooled))
    assert "test problem 2 (40 data and 130 noise samples" in r, r


def test_newton_step_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(ch10_nce.newton_step(np.zeros(3)))
    msg = str(ch10_nce.newton_step(lambda th, *a: th + 1.0))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg.replace("Eq. 10.4", "")), msg


def test_the_page_does_not_print_the_offset_component_before_the_exercise():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[2] / "chapters" / "ch10_learning_energy_based_models"
                     / "10_1_1_nce.ipynb").read_text())
    before = ""
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if "ex-10-1-1-offset-gradient" in text:
            break
        before += text
    assert r"\tfrac12\langle\sigma\{-h^+\}\rangle - \tfrac12\langle\sigma\{h^-\}\rangle" not in before
    # the exercise asks for the pool-weighted loss, whose derivative the page never writes
    assert r"\sigma\{\log\nu - h^+\}" not in before and r"\tfrac{\nu}{1+\nu}\langle\sigma" not in before


# ------------------------------------------- exercise (d) in a reader's kernel: the named functions
class _Shell:
    """What the checker reads of an IPython shell: the cells run so far, the last being the one running."""

    def __init__(self, *cells):
        self.user_ns = {"In": ["", *cells]}


_HEAD = "import numpy as np\nfrom pedagogy_lib.contrastive import nce\nfrom pedagogy_lib.exercises import ch10_nce as check"
_WRAPPER = ("def my_newton_step(theta, T_pos, T_neg, En_pos, En_neg):\n"
            "    a = (T_pos, T_neg, En_pos, En_neg)\n"
            "    return nce.fit_nce(*a, theta, max_iter=1).path[1]\n\n\n"
            "check.newton_step(my_newton_step)")


def _fit_nce_wrapper(theta, T_pos, T_neg, En_pos, En_neg):
    """The answer of _WRAPPER: one step of the library's Newton run, which the statement names."""
    import warnings

    from pedagogy_lib.contrastive import nce
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # one step does not converge, and says so
        return nce.fit_nce(T_pos, T_neg, En_pos, En_neg, theta, max_iter=1).path[1]


def test_newton_step_by_a_wrapper_of_fit_nce_does_not_pass_in_a_kernel(monkeypatch):
    """fit_nce calls newton_minimize, so one step of it is the answer; the exercise names it, and a cell that
    calls it is refused, although its numbers are right."""
    import IPython

    assert ch10_nce.newton_step(_fit_nce_wrapper)                    # the numbers alone pass
    monkeypatch.setattr(IPython, "get_ipython", lambda: _Shell(_HEAD, _WRAPPER))
    r = ch10_nce.newton_step(_fit_nce_wrapper)
    assert not r and "your code calls `nce.fit_nce`" in str(r), str(r)


def test_newton_step_written_out_passes_in_a_kernel(monkeypatch):
    import IPython

    own = ("def my_newton_step(theta, T_pos, T_neg, En_pos, En_neg):\n"
           "    h_pos = En_pos - T_pos @ theta\n"
           "    h_neg = En_neg - T_neg @ theta\n"
           "    s_pos = 1 / (1 + np.exp(h_pos))\n"
           "    s_neg = 1 / (1 + np.exp(-h_neg))\n"
           "    grad = 0.5 * s_pos @ T_pos / len(h_pos) - 0.5 * s_neg @ T_neg / len(h_neg)\n"
           "    hess = (0.5 * (T_pos.T * s_pos * (1 - s_pos)) @ T_pos / len(h_pos)\n"
           "            + 0.5 * (T_neg.T * s_neg * (1 - s_neg)) @ T_neg / len(h_neg))\n"
           "    return theta - np.linalg.solve(hess, grad)\n\n\n"
           "check.newton_step(my_newton_step)")
    namespace = {}
    exec(_HEAD + "\n" + own.rpartition("\n\n\n")[0], namespace)
    monkeypatch.setattr(IPython, "get_ipython", lambda: _Shell(_HEAD, own))
    assert ch10_nce.newton_step(namespace["my_newton_step"])
