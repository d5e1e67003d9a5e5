"""Tests for the checkers of notebook 5.2.1 (pedagogy_lib.exercises.ch05_infomax).

References: finite differences of the objective, hand-computed Amari indices, and the
simulations of tests/nn/test_infomax.py (Laplace and logistic separate, uniform does not).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pedagogy_lib.exercises import ch05_infomax as check
from pedagogy_lib.core.gradcheck import gradcheck


def _J_cauchy(D, Y):
    """The InfoMax objective for psi(u) = 1/2 + arctan(u)/pi: psi' is the standard Cauchy density."""
    return np.mean(stats.cauchy.logpdf(Y @ D.T).sum(1)) + np.log(abs(np.linalg.det(D)))


def _fd_gradient():
    Y, D = check.EX_GRAD
    return gradcheck(lambda D_: _J_cauchy(D_, Y), D).numeric


def test_arctan_squashing_has_the_cauchy_density_as_derivative():
    u = np.linspace(-5, 5, 11)
    h = 1e-5
    fd = ((0.5 + np.arctan(u + h) / np.pi) - (0.5 + np.arctan(u - h) / np.pi)) / (2 * h)
    np.testing.assert_allclose(fd, stats.cauchy.pdf(u), rtol=1e-8)


# ---------------------------------------------------------------- exercise 1
def test_gradient_correct_passes():
    res = check.gradient(_fd_gradient())       # FD accuracy ~1e-9, within rtol 1e-6
    assert res and "correct" in str(res)
    Y, D = check.EX_GRAD                        # the solution's closed form agrees with the differences
    X = Y @ D.T
    np.testing.assert_allclose((-2 * X / (1 + X ** 2)).T @ Y / len(Y) + np.linalg.inv(D).T, _fd_gradient(),
                               rtol=1e-7, atol=1e-9)


def _logistic_J(D, Y):
    return np.mean(stats.logistic.logpdf(Y @ D.T).sum(1)) + np.log(abs(np.linalg.det(D)))


def test_the_page_s_logistic_gradient_does_not_pass():
    Y, D = check.EX_GRAD
    G_logistic = gradcheck(lambda D_: _logistic_J(D_, Y), D).numeric
    assert np.abs(G_logistic - _fd_gradient()).max() > 0.05
    res = check.gradient(G_logistic)
    assert not res and "page's logistic" in str(res)


def test_gradient_wrong_answers_fail_with_hints():
    Y, D = check.EX_GRAD
    N = len(Y)
    G = _fd_gradient()
    DinvT = np.linalg.inv(D).T
    inner = G - DinvT
    X = Y @ D.T
    cases = [
        ((-2 * np.tanh(X)).T @ Y / N + DinvT, "tanh squashing function"),
        ((-2 * np.arctan(X) / np.pi).T @ Y / N + DinvT, "carried the logistic's sample term"),
        (inner / 2 + DinvT, "lost a constant factor"),
        ((-2 * X / (np.pi * (1 + X ** 2) ** 2)).T @ Y / N + DinvT, "differentiated psi'(u) itself"),
        (inner.T + DinvT, "transposed"),
        (inner, "log-determinant"),
        (inner + np.linalg.inv(D), "D^{-1}"),
        (-G, "gradient of the loss"),
        (N * inner + DinvT, "summed over samples"),
        (G + 0.01, "not within tolerance"),
    ]
    for answer, fragment in cases:
        res = check.gradient(answer)
        assert not res and fragment in str(res), (fragment, str(res))
        for giveaway in ("1 + u", "1+u", "-2u", "-2 u", "2 u /"):
            assert giveaway not in str(res), str(res)
    for giveaway in ("1 + u", "-2u", "-2 u", "u^2"):
        assert giveaway not in check.gradient.__doc__


def test_gradient_none_fails_gracefully():
    res = check.gradient(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 2
def _rhs(transposed=False):
    """With x = tanh(u) the output density is 1 - tanh(u)^2, whose log has derivative -2 tanh(u): the
    gradient is D^{-T} - 2 <tanh(DY) Y^T>, so D = (2 <Y tanh(DY)^T>)^{-1}."""
    Y, D = check.EX_FIXED
    T = np.tanh(Y @ D.T)
    M = 2 * T.T @ Y / len(Y) if transposed else 2 * Y.T @ T / len(Y)
    return np.linalg.inv(M)


def _objective_tanh(D, Y):
    return np.log(abs(np.linalg.det(D))) + np.mean(np.sum(np.log(1 - np.tanh(Y @ D.T) ** 2), axis=1))


def test_fixed_point_correct_passes_and_the_tanh_gradient_is_right():
    Y, D = check.EX_FIXED
    R = _rhs()
    assert check.fixed_point(R)
    # the gradient the reference is derived from, against central differences
    G = np.linalg.inv(D).T - 2 * np.tanh(Y @ D.T).T @ Y / len(Y)
    h = 1e-6
    fd = np.array([[(_objective_tanh(D + h * E, Y) - _objective_tanh(D - h * E, Y)) / (2 * h)
                    for E in (np.eye(2)[[i]].T @ np.eye(2)[[j]] for j in range(2))] for i in range(2)])
    np.testing.assert_allclose(G, fd, rtol=1e-6, atol=1e-8)


def test_fixed_point_the_page_s_logistic_answer_no_longer_passes():
    Y, D = check.EX_FIXED
    res = check.fixed_point(np.linalg.inv(Y.T @ np.tanh(Y @ D.T / 2) / len(Y)))
    assert not res and "logistic squashing function" in str(res)


def test_fixed_point_draft_layout_gets_its_hint():
    res = check.fixed_point(_rhs(transposed=True))
    assert not res and "draft's layout" in str(res)


def test_fixed_point_other_wrong_answers():
    Y, D = check.EX_FIXED
    res = check.fixed_point(np.linalg.inv(Y.T @ np.tanh(Y @ D.T) / len(Y)))
    assert not res and "constant factor" in str(res) and "2 tanh" not in str(res)
    res = check.fixed_point(np.linalg.inv(_rhs()))
    assert not res and "without inverting" in str(res)
    assert not check.fixed_point(None)


# ---------------------------------------------------------------- exercise 3
def _row_col_sum(P):
    """The 2K terms of the statement, summed (no normalization), written with explicit loops."""
    P = np.abs(np.asarray(P, float))
    K = len(P)
    total = 0.0
    for i in range(K):
        total += sum(P[i, j] for j in range(K)) / max(P[i, j] for j in range(K)) - 1
    for j in range(K):
        total += sum(P[i, j] for i in range(K)) / max(P[i, j] for i in range(K)) - 1
    return total


def _largest_sum(K):
    """The largest unnormalized sum over K x K matrices, by enumeration over magnitudes in {0, 1/2, 1}
    (each row's term only grows as its entries approach the row's largest, so the grid reaches the top)."""
    import itertools
    best = 0.0
    for flat in itertools.product((0.0, 0.5, 1.0), repeat=K * K):
        P = np.array(flat).reshape(K, K)
        if P.max(1).min() > 0 and P.max(0).min() > 0:
            best = max(best, _row_col_sum(P))
    return best


def _amari(P):
    K = len(P)
    return _row_col_sum(P) / _largest_sum_cached(K)


_LARGEST = {}


def _largest_sum_cached(K):
    if K not in _LARGEST:
        # enumeration for K = 2, 3; for K = 4 the all-equal matrix, whose every term has K - 1,
        # checked not to be beaten by 2000 random matrices
        if K <= 3:
            _LARGEST[K] = _largest_sum(K)
        else:
            top = _row_col_sum(np.ones((K, K)))
            rng = np.random.default_rng(0)
            assert all(_row_col_sum(rng.uniform(0.01, 1, (K, K))) <= top + 1e-12 for _ in range(2000))
            _LARGEST[K] = top
    return _LARGEST[K]


def test_amari_normalization_by_enumeration():
    assert _largest_sum_cached(2) == pytest.approx(4.0)
    assert _largest_sum_cached(3) == pytest.approx(12.0)
    assert _largest_sum_cached(4) == pytest.approx(24.0)


def test_amari_hand_values():
    # hand: [[1, .1], [.3, 1]] -> rows .1 + .3, cols .3 + .1 -> 0.8 / 4 = 0.2
    assert _amari(check.AMARI_CASES[1]) == pytest.approx(0.2)
    assert _amari(check.AMARI_CASES[0]) == 0.0
    assert _amari(check.AMARI_CASES[2]) == pytest.approx(1.0)
    # hand, 3 x 3: rows .5/2 + .1/3 + .2/1, columns .1/2 + .5/1 + .2/3 -> 1.1 / 12
    assert _amari(check.AMARI_CASES[3]) == pytest.approx(1.1 / 12)


def test_amari_cases_cover_sizes_two_to_four():
    assert sorted({len(P) for P in check.AMARI_CASES}) == [2, 3, 4]


def test_amari_correct_passes():
    assert check.amari(_amari)


def _scaled(c):
    """The unnormalized sum divided by c(K)."""
    return lambda P: _row_col_sum(P) / c(len(P))


@pytest.mark.parametrize("fn,fragment", [
    (_scaled(lambda K: 1.0), "did not divide"),
    (_scaled(lambda K: 4.0), "constant of 2 x 2 matrices"),
    (_scaled(lambda K: K * (K - 1)), "rows alone"),
    (_scaled(lambda K: 2 * K * K), "overestimates"),
    (lambda P: (np.abs(P).sum(1) / np.abs(P).max(1) - 1).sum() / (2 * len(P) * (len(P) - 1)), "column terms"),
    (lambda P: _amari(P) * 2, "rows alone"),          # twice the index is exactly that slip
    (lambda P: _amari(P) + 0.01, "not within tolerance"),
    (lambda P: 1 / 0, "ZeroDivisionError"),
])
def test_amari_wrong_functions_fail(fn, fragment):
    res = check.amari(fn)
    assert not res and fragment in str(res), str(res)
    for giveaway in ("2K(K-1)", "2 K (K - 1)", "K - 1", "K-1"):
        assert giveaway not in str(res), str(res)


def test_amari_messages_and_docstring_do_not_state_the_constant():
    from pedagogy_lib.nn import infomax as im
    for giveaway in ("2K(K-1)", "2 K (K - 1)", "K - 1", "K-1", "K(K-1)"):
        assert giveaway not in check.amari.__doc__
        assert giveaway not in im.amari_index.__doc__      # the library's help() must not state it either


def test_amari_non_function():
    res = check.amari(None)
    assert not res and "should be a function" in str(res)


def test_amari_sign_sensitive_function_fails():
    def no_abs(P):                     # right on the non-negative cases, wrong with negative entries
        P = np.asarray(P, float)
        K = len(P)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ((P.sum(1) / P.max(1) - 1).sum() + (P.sum(0) / P.max(0) - 1).sum()) / (2 * K * (K - 1))
    assert not check.amari(no_abs)


def test_the_page_body_does_not_state_the_constant():
    """Outside the exercise's own cell (its solution) and the hidden cells that run published solutions
    through their checkers (left out of every student edition), the page does not give the constant away."""
    from pathlib import Path

    from courseware import editions
    chapter = editions.read_notebook(Path(__file__).parents[2] / "chapters/ch05_discriminative_models/5_2_1_infomax.ipynb")
    body = "".join("".join(c["source"]) for j, c in enumerate(chapter.nb["cells"])
                   if j not in chapter.solution_checks and ":label: ex-5-2-1-amari" not in "".join(c["source"]))
    assert "2K(K-1)" not in body and "2 * K * (K - 1)" not in body


# ---------------------------------------------------------------- exercise 4
def _c_by_hand(src):
    """c = E[phi'(x)] E[x^2] at x = lambda s, lambda from E[tanh(lambda s / 2) lambda s] = 1, by quadrature."""
    from scipy import integrate, optimize, stats

    dist = {"student-t5": stats.t(5, scale=np.sqrt(3 / 5)), "logistic": stats.logistic(scale=np.sqrt(3) / np.pi),
            "triangular": stats.triang(0.5, loc=-np.sqrt(6), scale=2 * np.sqrt(6)),
            "laplace": stats.laplace(scale=1 / np.sqrt(2))}[src]
    assert np.isclose(dist.var(), 1.0)
    lo, hi = max(dist.support()[0], -60), min(dist.support()[1], 60)

    def E(f):
        return integrate.quad(lambda s: f(s) * dist.pdf(s), lo, hi, points=[0.0], limit=200)[0]
    lam = optimize.brentq(lambda l: E(lambda s: np.tanh(l * s / 2) * l * s) - 1, 1e-3, 100)
    return E(lambda s: 0.5 / np.cosh(lam * s / 2) ** 2) * lam ** 2


def test_separable_sources_asks_for_the_constants():
    cs = {src: _c_by_hand(src) for src in check.EX_SOURCES}
    # heavy tails (t5, logistic) are separated, light ones (triangular) are not
    assert cs["student-t5"] > 1 and cs["logistic"] > 1 and cs["triangular"] < 1
    assert check.separable_sources(cs)
    assert check.separable_sources({k: round(v, 2) for k, v in cs.items()})
    # the library's constant for the Laplace law (which the page plots) agrees with this quadrature
    from pedagogy_lib.nn import infomax as im
    assert np.isclose(im.stability_constant("laplace")[0], _c_by_hand("laplace"), rtol=1e-6)
    # booleans, the old form of the answer, are refused: they could be guessed
    res = check.separable_sources({"student-t5": True, "logistic": True, "triangular": False})
    assert not res and "is a bool" in str(res)
    res = check.separable_sources({**cs, "triangular": 1.0})
    assert not res and "'triangular'" in str(res)
    res = check.separable_sources({"student-t5": 1.27})
    assert not res and "missing" in str(res)
    res = check.separable_sources(None)
    assert not res and "dict" in str(res)


# ---------------------------------------------------------------- exercise 5: the clamped E step
def _log_joint(pi, mu, Sigma, y, prior=True, logdet=True, inverse=True):
    """With scipy's Gaussian where nothing is switched off; the switches make the named slips."""
    from scipy.stats import multivariate_normal

    if prior and logdet and inverse:
        return np.stack([np.log(pi[k]) + multivariate_normal(mu[k], Sigma[k]).logpdf(y).reshape(-1)
                         for k in range(len(pi))], axis=1)
    z = []
    for k in range(len(pi)):
        d = y - mu[k]
        M = np.linalg.inv(Sigma[k]) if inverse else Sigma[k]
        z.append((np.log(pi[k]) if prior else 0.0) - (0.5 * np.linalg.slogdet(Sigma[k])[1] if logdet else 0.0)
                 - 0.5 * np.einsum("ni,ij,nj->n", d, M, d))
    return np.stack(z, axis=1)


def _clamped(pi, mu, Sigma, y, labels, *, clamp="labelled", hard=False, normalize=True, **switches):
    from scipy.special import logsumexp

    z = _log_joint(pi, mu, Sigma, y, **switches)
    r = np.exp(z - logsumexp(z, axis=1, keepdims=True)) if normalize else np.exp(z)
    if hard:
        r = np.eye(len(pi))[r.argmax(axis=1)]
    rows = {"labelled": labels >= 0, "none": np.zeros(len(y), bool), "positive": labels > 0}[clamp]
    r[rows] = np.eye(len(pi))[labels[rows]]
    return r


def _notebook_solution(pi, mu, Sigma, y, labels):
    N, K = y.shape[0], pi.shape[0]
    z = np.empty((N, K))
    for k in range(K):
        d = y - mu[k]
        maha = np.sum(d * np.linalg.solve(Sigma[k], d.T).T, axis=1)
        z[:, k] = np.log(pi[k]) - 0.5 * np.linalg.slogdet(Sigma[k])[1] - 0.5 * maha
    z -= z.max(axis=1, keepdims=True)
    r = np.exp(z)
    r /= r.sum(axis=1, keepdims=True)
    lab = labels >= 0
    r[lab] = np.eye(K)[labels[lab]]
    return r


def test_clamped_e_step_accepts_the_solution_scipy_and_the_library():
    from pedagogy_lib.mixture import GMMParams, clamped_responsibilities

    assert check.clamped_e_step_function(_notebook_solution)
    assert check.clamped_e_step_function(_clamped)
    assert check.clamped_e_step_function(lambda pi, mu, S, y, l: clamped_responsibilities(GMMParams(pi, mu, S), y, l))
    assert check.clamped_e_step_function(lambda *a: _notebook_solution(*a).tolist())       # a nested list is fine


def _naive(pi, mu, Sigma, y, labels):
    """Densities themselves, not their logarithms: 0/0 far from every component."""
    from scipy.stats import multivariate_normal

    p = np.stack([pi[k] * multivariate_normal(mu[k], Sigma[k]).pdf(y).reshape(-1) for k in range(len(pi))], axis=1)
    with np.errstate(invalid="ignore"):
        r = p / p.sum(axis=1, keepdims=True)
    lab = labels >= 0
    r[lab] = np.eye(len(pi))[labels[lab]]
    return r


@pytest.mark.parametrize("wrong,fragment", [
    (lambda *a: _clamped(*a, clamp="none"), "posterior for every point"),
    (lambda *a: _clamped(*a, prior=False), "mixing proportions"),
    (lambda *a: _clamped(*a, logdet=False), "log|Sigma_k|"),
    (lambda *a: _clamped(*a, inverse=False), "its inverse belongs"),
    (lambda *a: _clamped(*a, hard=True), "hard assignments"),
    (lambda *a: _clamped(*a, normalize=False), "did not normalize"),
    (lambda *a: _clamped(*a, clamp="positive"), "labelled 0 as unlabelled"),
    (_naive, "NaN or inf: far from every component"),
    (lambda *a: _notebook_solution(*a).T, "transpose"),
    (lambda *a: None, "forget to return"),
    (lambda pi, mu, S, y, l: 1 / 0, "raised ZeroDivisionError"),
])
def test_clamped_e_step_names_the_slips(wrong, fragment):
    res = check.clamped_e_step_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_clamped_e_step_reaches_every_edge_case_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.clamped_e_step_function(np.eye(2)))
    msg = str(check.clamped_e_step_function(lambda *a: 0.9 * _notebook_solution(*a) + 0.1 / len(a[0])))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    seen = []

    def probe(pi, mu, Sigma, y, labels):
        seen.append((len(pi), int(np.sum(labels >= 0)), len(y), float(np.abs(y).max())))
        return _notebook_solution(pi, mu, Sigma, y, labels)

    assert check.clamped_e_step_function(probe)
    assert any(n_lab == 0 for _, n_lab, _, _ in seen)                   # no labels
    assert any(n_lab == N for _, n_lab, N, _ in seen)                   # every point labelled
    assert max(big for *_, big in seen) > 30                            # far from every component
    # the naive densities fail only on the far points (problem 4): right everywhere else
    msg = str(check.clamped_e_step_function(_naive))
    assert "test problem 4" in msg, msg
