"""Tests for the checkers of notebook 9.1 (pedagogy_lib.exercises.ch09_ica).

References: the moments of a power of the logistic density by quadrature, the held-out likelihood under the Gaussian and logistic
priors written out with scipy's log-densities and sqrtm, and the kurtosis of each column of the switching
exercise.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, linalg, stats

from pedagogy_lib.exercises import ch09_ica as check


def _power_logistic_excess_kurtosis(a):
    """Excess kurtosis of p_a proportional to (the logistic density)^a, from its normalizer and two moments by
    quadrature (scipy's logistic density, not the checker's polygamma closed form)."""
    def p(x):
        return stats.logistic.pdf(x) ** a

    Z, m2, m4 = (integrate.quad(lambda x: x ** n * p(x), -np.inf, np.inf, epsabs=0, epsrel=1e-12)[0]
                 for n in (0, 2, 4))
    return m4 * Z / m2 ** 2 - 3, m4 / m2 ** 2 - 3


def test_logistic_kurtosis_passes_and_fails():
    k, k_unnormalized = _power_logistic_excess_kurtosis(check.EX_A)
    assert check.logistic_kurtosis(k)
    res = check.logistic_kurtosis(k + 3)
    assert not res and "excess" in str(res)
    res = check.logistic_kurtosis(k_unnormalized)
    assert not res and "integrate to one" in str(res)
    # the logistic density's own excess kurtosis (a = 1), which Section 5.2.1 prints
    res = check.logistic_kurtosis(_power_logistic_excess_kurtosis(1.0)[0])
    assert not res and "logistic density itself" in str(res)
    assert not check.logistic_kurtosis(None)


def test_logistic_kurtosis_is_graded_on_a_power_of_the_students_own():
    """Each student's copy draws its own power a (never 1, whose answer is a published constant); the
    reference of that copy agrees with quadrature, and the constant 6/5 never passes."""
    from courseware import grading as G
    seen = set()
    for student in ("a", "b", "c", "d", "e", "f"):
        own = G.own_copy(check, G.student_seed(student, "ex-9-1-logistic-kurtosis"))
        a = float(own.EX_A)
        seen.add(a)
        assert 0.55 < a < 4.05 and abs(a - 1.0) > 0.05
        assert own.logistic_kurtosis(_power_logistic_excess_kurtosis(a)[0])
        assert not own.logistic_kurtosis(1.2)
    assert len(seen) > 1 and check.EX_A == 2.0


def test_logistic_kurtosis_is_not_on_the_page():
    import json
    from pathlib import Path
    nb = json.loads(Path("chapters/ch09_learning_with_reparameterizations/9_1_ica.ipynb").read_text())
    text = "".join("".join(c["source"]) for c in nb["cells"])
    statement = text.split(":label: ex-9-1-logistic-kurtosis")[1].split(":::")[0]
    before = text.split(":label: ex-9-1-logistic-kurtosis")[0]
    k = _power_logistic_excess_kurtosis(check.EX_A)[0]
    assert f"{k:.2f}" not in before + statement and "polygamma" not in before + statement
    assert "check.EX_A" in statement


def test_the_library_docstrings_do_not_state_the_logistic_kurtosis():
    import pedagogy_lib.deepgen.ica as ica
    import pedagogy_lib.nn.infomax as im
    for doc in (im.__doc__, ica.__doc__, im.sample_sources.__doc__, im.source_kurtosis.__doc__):
        assert doc.count("1.2") == doc.count("-1.2") and "6/5" not in doc   # the uniform's -1.2 only


def test_the_kurtosis_checker_help_names_no_value_of_the_answer():
    # help(check.logistic_kurtosis) is on the student's screen before the question: a
    # remark tying the answer to a number on the page (the sawtooth's -1.2) gave it away
    doc = check.logistic_kurtosis.__doc__
    assert "1.2" not in doc and "6/5" not in doc and "page" not in doc
    assert "polygamma" not in doc and "Beta" not in doc        # nor the derivation's closed form


def _rotation_logliks(W=None, Y=None):
    """The statement's table: whitening from the first EX_N_FIT rows (scipy's sqrtm), Eq. 9.5 with scipy's
    normal and logistic log-densities averaged over the other rows (or the given W and rows)."""
    n = check.EX_N_FIT
    if W is None:
        W = np.real(linalg.sqrtm(np.linalg.inv(check.EX_Y[:n].T @ check.EX_Y[:n] / n)))
    if Y is None:
        Y = check.EX_Y[n:]
    out = []
    for t in check.EX_THETAS:
        R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        D = R @ W
        ld = np.linalg.slogdet(D)[1]
        out.append([stats.norm.logpdf(Y @ D.T).sum(1).mean() + ld,
                    stats.logistic.logpdf(Y @ D.T).sum(1).mean() + ld])
    return np.array(out).T


def _inv_sqrtm(Y):
    return np.real(linalg.sqrtm(np.linalg.inv(Y.T @ Y / len(Y))))


def test_rotation_loglik_passes_and_fails():
    ref = _rotation_logliks()
    assert check.EX_Y.shape == (400, 2) and check.EX_N_FIT == 200
    assert np.ptp(ref[0]) < 1e-10              # no rotation is preferred by the Gaussian prior
    assert np.ptp(ref[1]) > 1e-3               # the logistic prior prefers some: the closed form cannot answer
    assert check.gaussian_rotation_loglik(ref)
    assert not check.gaussian_rotation_loglik(ref[0])
    W = _inv_sqrtm(check.EX_Y[:check.EX_N_FIT])
    res = check.gaussian_rotation_loglik(ref - np.linalg.slogdet(W)[1])
    assert not res and "log-determinant" in str(res)
    assert not check.gaussian_rotation_loglik(ref[:, :3])


def test_the_pages_closed_form_of_the_gaussian_row_no_longer_answers():
    """Step 3's hidden check prints the Gaussian maximum -(log 2 pi + 1) - 1/2 log|Sigma|; here D whitens the
    first rows and the likelihood is of the others, so that number is not the Gaussian row, for any of the
    three covariances a student might put in it."""
    ref = _rotation_logliks()
    n = check.EX_N_FIT
    for rows, named in [(check.EX_Y, False), (check.EX_Y[:n], False), (check.EX_Y[n:], True)]:
        closed = -(np.log(2 * np.pi) + 1) - 0.5 * np.linalg.slogdet(rows.T @ rows / len(rows))[1]
        assert abs(ref[0, 0] - closed) > 1e-4                              # far more than the tolerance
        if named:
            assert ref[0, 0] < closed                                      # the held-out rows' maximum is above it
        wrong = np.vstack([np.full(len(check.EX_THETAS), closed), ref[1]])
        res = check.gaussian_rotation_loglik(wrong)
        assert not res
        assert ("maximum of the Gaussian likelihood" in str(res)) == named, str(res)


def test_rotation_loglik_names_whitening_and_evaluating_on_the_wrong_rows():
    n = check.EX_N_FIT
    fit, test = check.EX_Y[:n], check.EX_Y[n:]
    for table, fragment in [(_rotation_logliks(W=_inv_sqrtm(check.EX_Y)), "whitened with all the rows"),
                            (_rotation_logliks(W=_inv_sqrtm(test)), "whitened with the rows you evaluate on"),
                            (_rotation_logliks(Y=fit), "evaluated the likelihood on the first"),
                            (_rotation_logliks(Y=check.EX_Y), "evaluated the likelihood on all the rows")]:
        res = check.gaussian_rotation_loglik(table)
        assert not res and fragment in str(res), str(res)


def test_rotation_loglik_names_the_n_minus_1_covariance():
    fit = check.EX_Y[:check.EX_N_FIT]
    W = np.real(linalg.sqrtm(np.linalg.inv(fit.T @ fit / (len(fit) - 1))))
    res = check.gaussian_rotation_loglik(_rotation_logliks(W=W))
    assert not res and "N - 1" in str(res) and "shifted" in str(res) and "scaled" not in str(res)
    W = np.real(linalg.sqrtm(np.linalg.inv(np.cov(fit.T))))            # also subtracts the mean of these rows
    res = check.gaussian_rotation_loglik(_rotation_logliks(W=W))
    assert not res and "np.cov" in str(res) and "scaled" not in str(res)


def test_switching_signs_follow_the_criterion_not_the_kurtosis():
    X = check.EX_X
    t = np.tanh(X)
    crit = np.mean(1 - t * t, 0) * np.mean(X * X, 0) - np.mean(t * X, 0)
    signs = np.where(crit > 0, 1.0, -1.0)
    kurt_signs = np.sign(stats.kurtosis(X, axis=0))
    assert np.any(kurt_signs != signs)          # the data tell the two rules apart
    assert check.switching_signs(signs)
    messages = set()
    for wrong in (kurt_signs, -signs, signs * np.array([1, -1, 1])):
        res = check.switching_signs(wrong)
        assert not res
        messages.add(str(res))
    assert len(messages) == 1                   # all or nothing: the same words whatever is wrong
    assert "flipped" not in messages.pop()


def test_switching_signs_of_a_students_copy_are_not_the_books():
    """A student's copy puts the three kinds of column in another order, so the signs the book's solution
    states do not pass. Oracle for each copy: the Laplace column is the one with the most mass near zero
    (about 26% within 0.3, against 18% for the uniform and almost none for the bimodal column), and it alone
    gets +1; the bimodal column keeps its large positive excess kurtosis and still gets -1."""
    from courseware import grading as G
    book = np.array([1.0, -1.0, -1.0])
    assert check.switching_signs(book)
    seen = set()
    for student in ("a", "b", "c", "d", "e", "f", "g", "h"):
        own = G.own_copy(check, G.student_seed(student, "ex-9-1-switching"))
        X = own.EX_X
        near_zero = np.mean(np.abs(X) < 0.3, axis=0)
        laplace, bimodal = int(np.argmax(near_zero)), int(np.argmin(near_zero))
        assert laplace != 0 and np.sort(near_zero)[-1] - np.sort(near_zero)[-2] > 0.04
        signs = -np.ones(3)
        signs[laplace] = 1.0
        assert own.switching_signs(signs)
        assert not own.switching_signs(book)
        assert stats.kurtosis(X[:, bimodal]) > 1
        seen.add(laplace)
    assert seen == {1, 2}


# --- ex-9-1-ica-step: one natural-gradient step of extended InfoMax --------------------------------------------------

def _ica_step_matrices(D, Y, kappa, lr):
    """The notebook's solution: <g(X) X^T> in one product, then (I + G) D."""
    X = Y @ D.T
    N, K = X.shape
    G = (-X - kappa * np.tanh(X)).T @ X / N
    return D + lr * (np.eye(K) + G) @ D


def _ica_step_samples(D, Y, kappa, lr):
    """Independently: a loop over the samples, and the plain gradient <g(x) y^T> + D^{-T} of Eq. 9.5 multiplied on
    the right by D^T D, as the definition of the natural gradient says."""
    K = D.shape[0]
    grad = np.zeros((K, K))
    for y in Y:
        x = D @ y
        grad += np.outer(-x - kappa * np.tanh(x), y)
    grad = grad / len(Y) + np.linalg.inv(D).T
    return D + lr * grad @ D.T @ D


def _ica_step_slip(*, plain=False, flip=False, left=False, total=False):
    def fn(D, Y, kappa, lr):
        X = Y @ D.T
        N, K = X.shape
        k = -kappa if flip else kappa
        g = -X - k * np.tanh(X)
        G = g.T @ X / (1 if total else N)
        if plain:
            return D + lr * (g.T @ Y / N + np.linalg.inv(D).T)
        return D + lr * (D @ (np.eye(K) + G) if left else (np.eye(K) + G) @ D)
    return fn


def test_ica_step_accepts_the_solution_and_a_loop_over_the_plain_gradient():
    assert check.extended_infomax_step(_ica_step_matrices)
    assert check.extended_infomax_step(_ica_step_samples)
    assert check.extended_infomax_step(lambda *args: _ica_step_matrices(*args).tolist())


def test_ica_step_agrees_with_the_library_and_its_fit():
    """The hidden reference is the library's natural gradient; one full-batch epoch of ``extended_infomax`` with the
    signs its criterion chooses is the same step."""
    from pedagogy_lib.deepgen import ica

    D, Y, _, lr = check._step_cases()[1]
    kappa = ica.switching_signs(Y @ D.T)
    fit = ica.extended_infomax(Y, rng=np.random.default_rng(0), D_init=D, n_epochs=1, batch_size=None, lr=lr)
    np.testing.assert_allclose(fit.D_history[1], _ica_step_samples(D, Y, kappa, lr), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("wrong,fragment", [
    (_ica_step_slip(plain=True), "plain gradient"),
    (_ica_step_slip(flip=True), "kappa with the wrong sign"),
    (_ica_step_slip(left=True), "multiplied D on the left"),
    (_ica_step_slip(total=True), "summed over the samples"),
    (lambda D, Y, kappa, lr: 1 / 0, "raised ZeroDivisionError"),
    (lambda D, Y, kappa, lr: (_ica_step_matrices(D, Y, kappa, lr), kappa), "should be numeric"),
    (lambda D, Y, kappa, lr: _ica_step_matrices(D, Y, kappa, lr)[:, :1], "should have shape"),
])
def test_ica_step_names_the_slips(wrong, fragment):
    res = check.extended_infomax_step(wrong)
    assert not res and fragment in str(res), str(res)


def test_ica_step_rejects_a_stub_and_a_non_function_and_reveals_no_answer():
    import re

    stub = check.extended_infomax_step(lambda D, Y, kappa, lr: None)
    assert not stub and stub.unanswered and "forget to return" in str(stub)
    assert "it is None" in str(check.extended_infomax_step(None))
    assert "should be a function" in str(check.extended_infomax_step(np.eye(2)))
    msg = str(check.extended_infomax_step(lambda D, Y, kappa, lr: _ica_step_matrices(D, Y, kappa, lr) + 1e-3))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
