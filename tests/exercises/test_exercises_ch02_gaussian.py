"""Tests for the checkers of notebook 2.1.2 (pedagogy_lib.exercises.ch02_gaussian).

References here are hand-computed or written out with numpy, not taken from the checkers.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.exercises import ch02_gaussian as check
from pedagogy_lib.exercises.references import ch02_gaussian as refs

# ---------------------------------------------------------------- exercise 1: scalar posterior
# mu_x = -1, s2_x = 4, C = 2, c = 0.5, y = 6.5 and the posterior mean 2.2. With the noise variance s the mean is
# (s * (-1) + 2 * 4 * 6) / (16 + s) = (48 - s) / (16 + s) = 2.2 at s = 4 (48 - 4 = 44 = 2.2 * 20), and the
# posterior variance is 4 * 4 / 20 = 0.8.
NOISE, VAR = 4.0, 0.8


def _forward_mean(p, s):
    """Eqs. 2.13-2.14 in one dimension, for a noise variance s."""
    prec = 1 / p.sigma2_x + p.C**2 / s
    return (p.mu_x / p.sigma2_x + p.C * (p.y - p.c) / s) / prec, 1 / prec


def _noise_by_bisection(p):
    """The noise variance whose posterior mean is p.mean_post, by bisection on the forward formula (the mean
    moves monotonically from the data's (y - c) / C towards the prior mean as s grows)."""
    lo, hi = 1e-9, 1e6
    f = lambda s: _forward_mean(p, s)[0] - p.mean_post        # noqa: E731
    assert f(lo) * f(hi) < 0
    for _ in range(200):
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if f(mid) * f(lo) > 0 else (lo, mid)
    return np.sqrt(lo * hi)


def test_scalar_problem_data_as_documented():
    assert tuple(check.EX_SCALAR) == (-1.0, 4.0, 2.0, 0.5, 6.5, 2.2)
    mean, var = _forward_mean(check.EX_SCALAR, NOISE)
    assert abs(mean - 2.2) < 1e-12 and abs(var - VAR) < 1e-12
    assert abs(_noise_by_bisection(check.EX_SCALAR) - NOISE) < 1e-9


def test_scalar_correct_passes():
    res = check.scalar_posterior(NOISE, VAR)
    assert res and "correct" in str(res)
    assert check.scalar_posterior(NOISE * 1.001, VAR)           # three significant figures are enough


@pytest.mark.parametrize("noise,var,fragment", [
    (8 / ((2.2 + 1) / 6) - 16, VAR, "y - c as the surprise"),     # K from y - c = 6
    (4 / 0.4 - 16, VAR, "slope C in front of sigma2_x"),
    (2.0, VAR, "standard deviation"),
    (20.0, VAR, "marginal variance of y"),
    (NOISE, 4.0, "prior variance"),
    (NOISE, 0.6 * 4, "left out C in (1 - K C)"),
    (NOISE, 1 / VAR, "precision, not the variance"),
    (NOISE, 1 / (1 / 4 + 1 / 4), "without the C^2"),
    (-NOISE, VAR, "wrong sign"),
    (NOISE + 0.5, VAR, "not within tolerance"),
])
def test_scalar_wrong_answers_fail_with_hint(noise, var, fragment):
    res = check.scalar_posterior(noise, var)
    assert not res
    assert fragment in str(res), str(res)


def test_scalar_none_fails_gracefully():
    res = check.scalar_posterior(None, None)
    assert not res and "None" in str(res)


def test_scalar_problems_drawn_for_students_by_bisection():
    import importlib

    from pedagogy_lib.exercises import checker

    try:
        for salt in range(8):
            with checker.drawn_for(salt):
                own = importlib.reload(check)
                p = own.EX_SCALAR
                s = _noise_by_bisection(p)
                assert 0.4 < s < 3.2
                assert own.scalar_posterior(s, _forward_mean(p, s)[1])
                assert not own.scalar_posterior(s, p.sigma2_x)
    finally:
        importlib.reload(check)


# ---------------------------------------------------------------- exercise 2: the gain with correlated noise
def _gain_by_reduction(p):
    """An independent route: given X = x the noise has mean Sigma_xz^T Sigma_x^{-1} (x - mu_x) and covariance
    Sigma_y|x - Sigma_xz^T Sigma_x^{-1} Sigma_xz, so the model is one of Eq. 2.11 with loading
    C + Sigma_xz^T Sigma_x^{-1}; its gain from the information form, Eq. 2.15, with explicit inverses."""
    Sxi = np.linalg.inv(p.Sigma_x)
    C2 = p.C + p.Sigma_xz.T @ Sxi
    R = p.Sigma_y_x - p.Sigma_xz.T @ Sxi @ p.Sigma_xz
    post = np.linalg.inv(Sxi + C2.T @ np.linalg.inv(R) @ C2)
    return post @ C2.T @ np.linalg.inv(R)


def _gain_by_sampling(p, n=400_000, seed=0):
    """Least squares of X on Y over samples of the joint: the regression coefficients are K."""
    rng = np.random.default_rng(seed)
    J = np.block([[p.Sigma_x, p.Sigma_xz], [p.Sigma_xz.T, p.Sigma_y_x]])
    xz = rng.multivariate_normal(np.concatenate([p.mu_x, np.zeros(3)]), J, size=n)
    x, z = xz[:, :2], xz[:, 2:]
    y = x @ p.C.T + p.c + z
    yc, xc = y - y.mean(0), x - x.mean(0)
    return np.linalg.lstsq(yc, xc, rcond=None)[0].T


def test_gain_correct_passes_and_agrees_with_sampling():
    p = check.EX_GAIN
    K = _gain_by_reduction(p)
    assert check.kalman_gain(K)
    np.testing.assert_allclose(_gain_by_sampling(p), K, atol=0.02)


@pytest.mark.parametrize("make,fragment", [
    (lambda Sx, C, Syx, Sxz: Sx @ C.T @ np.linalg.inv(C @ Sx @ C.T + Syx), "as if the noise were independent"),
    (lambda Sx, C, Syx, Sxz: Sx @ C.T @ np.linalg.inv(C @ Sx @ C.T + C @ Sxz + Sxz.T @ C.T + Syx),
     "leaves out Cov[X, Z]"),
    (lambda Sx, C, Syx, Sxz: (Sx @ C.T + Sxz) @ np.linalg.inv(C @ Sx @ C.T + Syx), "leaves out the cross terms"),
    (lambda Sx, C, Syx, Sxz: (Sx @ C.T + Sxz) @ np.linalg.inv(C @ Sx @ C.T + 2 * C @ Sxz + Syx), "twice"),
    (lambda Sx, C, Syx, Sxz: (Sx @ C.T + Sxz) @ (C @ Sx @ C.T + C @ Sxz + Sxz.T @ C.T + Syx), "itself where its inverse"),
    (lambda Sx, C, Syx, Sxz: C.T @ np.linalg.inv(C @ Sx @ C.T + C @ Sxz + Sxz.T @ C.T + Syx), "left out Sigma_x"),
    (lambda Sx, C, Syx, Sxz: np.zeros((3, 3)), "should have shape (2, 3)"),
])
def test_gain_wrong_answers_fail_with_hint(make, fragment):
    p = check.EX_GAIN
    res = check.kalman_gain(make(p.Sigma_x, p.C, p.Sigma_y_x, p.Sigma_xz))
    assert not res
    assert fragment in str(res), str(res)


def test_gain_none_fails_gracefully():
    res = check.kalman_gain(None)
    assert not res and "None" in str(res)


def test_gain_on_models_drawn_for_students():
    import importlib

    from pedagogy_lib.exercises import checker

    try:
        for salt in range(6):
            with checker.drawn_for(salt):
                own = importlib.reload(check)
                p = own.EX_GAIN
                J = np.block([[p.Sigma_x, p.Sigma_xz], [p.Sigma_xz.T, p.Sigma_y_x]])
                assert np.linalg.eigvalsh(J).min() > 0.1
                assert own.kalman_gain(_gain_by_reduction(p))
                assert not own.kalman_gain(p.Sigma_x @ p.C.T @ np.linalg.inv(p.C @ p.Sigma_x @ p.C.T + p.Sigma_y_x))
    finally:
        importlib.reload(check)


# ---------------------------------------------------------------- exercise 3: same marginal
def test_fa_pairs_truth_by_hand():
    # pair A: C' = C R D with R a rotation and D = diag(1, -1): orthogonal, so C'C'^T = C C^T
    p, q = check.EX_FA_PAIRS["A"]
    np.testing.assert_allclose(q.C @ q.C.T, p.C @ p.C.T, atol=1e-12)
    # pair B: a shear changes C C^T
    p, q = check.EX_FA_PAIRS["B"]
    assert np.abs(q.C @ q.C.T - p.C @ p.C.T).max() > 0.1


def test_same_marginal_checker():
    assert check.same_marginal(True, False)
    res = check.same_marginal(False, False)
    assert not res and "not both answers are right" in str(res)
    assert str(res) == str(check.same_marginal(True, True)) == str(check.same_marginal(False, True))
    res = check.same_marginal(None, "yes")
    assert not res and "True or False" in str(res)
    assert check.same_marginal(np.bool_(True), np.bool_(False))


# ---------------------------------------------------------------- exercise 4: cheaper form
def test_flop_count_answers_only_after_the_cheaper_form_is_accepted(monkeypatch):
    monkeypatch.setitem(check.flop_count.__globals__, "_CHEAPER_FORM_ACCEPTED", [])
    with pytest.raises(RuntimeError, match="once check.cheaper_form has accepted"):
        check.flop_count(3, 1000, "information", True)
    assert not check.cheaper_form(["covariance", "covariance", "covariance"])
    with pytest.raises(RuntimeError):
        check.flop_count(3, 1000, "information", True)
    assert check.cheaper_form(["information", "covariance", "information"])
    assert check.flop_count(3, 1000, "information", True) == pytest.approx(9009)


def test_flop_count_by_hand(monkeypatch):
    monkeypatch.setitem(check.flop_count.__globals__, "_CHEAPER_FORM_ACCEPTED", [True])
    # K=3, L=1000, diagonal: information 1000*9 + 9 = 9009; covariance 9000 + 6e6 + 1e9/3
    assert check.flop_count(3, 1000, "information", True) == pytest.approx(9009)
    assert check.flop_count(3, 1000, "covariance", True) == pytest.approx(9000 + 6e6 + 1e9 / 3)
    # K=400, L=20, diagonal: information 20*160000 + 64e6/3; covariance 3.2e6 + 2*400*400 + 8000/3
    assert check.flop_count(400, 20, "information", True) == pytest.approx(3.2e6 + 64e6 / 3)
    assert check.flop_count(400, 20, "covariance", True) == pytest.approx(3.2e6 + 320000 + 8000 / 3)
    with pytest.raises(ValueError, match="form must be one of"):
        check.flop_count(1, 1, "woodbury", True)


def test_cheaper_form_checker():
    good = ["information", "covariance", "information"]
    assert check.cheaper_form(good)
    res = check.cheaper_form(["information", "covariance", "covariance"])
    assert not res and "not all three answers are right" in str(res) and "problem 3" not in str(res)
    messages = {str(check.cheaper_form(a)) for a in (["covariance", "covariance", "information"],
                                                     ["information", "information", "information"],
                                                     ["covariance", "information", "covariance"])}
    assert messages == {str(res)}
    res = check.cheaper_form(["information", "Woodbury", "covariance"])
    assert not res and "'information' or 'covariance'" in str(res)
    assert not check.cheaper_form(["information"])
    assert "list" in str(check.cheaper_form("information"))
    res = check.cheaper_form(None)
    assert not res and "None" in str(res)


def test_scalar_by_hand_accepts_three_significant_figures_and_any_number_type():
    noise, var = NOISE + 1 / 300, VAR
    assert check.scalar_posterior(float(f"{noise:.3g}"), float(f"{var:.3g}"))
    assert check.scalar_posterior(str(noise), np.float32(var))
    assert not check.scalar_posterior(noise * 1.02, var)


def test_cheaper_form_ignores_case_and_spaces():
    costs = [{f: check.flop_count.__globals__["_flop_count"](p.K, p.L, f, p.diagonal) for f in check.FORMS} for p in check.EX_SIZES]
    best = [min(c, key=c.get) for c in costs]
    assert check.cheaper_form([" " + b.upper() + " " for b in best])


def test_cheaper_form_has_a_problem_the_rule_of_thumb_gets_wrong():
    """The page's rule "more sources than emissions? use the covariance form" would answer every
    problem; one problem has K > L and a diagonal Sigma_y|x, where the cost table says otherwise."""
    count = check.flop_count.__globals__["_flop_count"]
    odd = [p for p in check.EX_SIZES if p.K > p.L
           and count(p.K, p.L, "information", p.diagonal) < count(p.K, p.L, "covariance", p.diagonal)]
    assert len(odd) == 1
    p = odd[0]                                     # the page's own counts (7K^3/6, L^3/6) agree
    assert p.L * p.K**2 + 7 * p.K**3 / 6 < p.L * p.K**2 + 2 * p.L**2 * p.K + p.L**3 / 6


# ---------------------------------------------------------------- the posterior and evidence as a function

def _posterior_by_schur(mu_x, Sigma_x, C, c, Sigma_y_x, y):
    """Condition the stacked Gaussian of (x, y) on y by the Schur complement (Step 3 of the page), and evaluate
    the marginal density of y with scipy: independent of both forms of the checker's reference."""
    from scipy.stats import multivariate_normal

    K = len(mu_x)
    S = np.block([[Sigma_x, Sigma_x @ C.T], [C @ Sigma_x, C @ Sigma_x @ C.T + Sigma_y_x]])
    mu = np.concatenate([mu_x, C @ mu_x + c])
    G = S[:K, K:] @ np.linalg.inv(S[K:, K:])
    return (mu[:K] + G @ (y - mu[K:]), S[:K, :K] - G @ S[K:, :K],
            multivariate_normal(mu[K:], S[K:, K:]).logpdf(y))


def _posterior_information(mu_x, Sigma_x, C, c, Sigma_y_x, y):
    """Eqs. 2.13-2.14 with Cholesky solves, and the evidence from the identity log p(y) = log p(y | x) + log p(x) -
    log p(x | y) at x = the posterior mean (the gap of the page's Step 1), returned as lists."""
    from scipy.linalg import cho_factor, cho_solve
    from scipy.stats import multivariate_normal

    fy = cho_factor(Sigma_y_x)
    P = C.T @ cho_solve(fy, C) + np.linalg.inv(Sigma_x)
    fp = cho_factor(P)
    m = cho_solve(fp, C.T @ cho_solve(fy, y - c) + np.linalg.solve(Sigma_x, mu_x))
    S = cho_solve(fp, np.eye(len(mu_x)))
    ev = (multivariate_normal(C @ m + c, Sigma_y_x).logpdf(y) + multivariate_normal(mu_x, Sigma_x).logpdf(m)
          - multivariate_normal(m, S).logpdf(m))
    return m.tolist(), S.tolist(), float(ev)


def test_posterior_function_accepts_two_independent_routes():
    assert check.posterior_function(_posterior_by_schur)
    assert check.posterior_function(_posterior_information)


def _posterior_slip(kind):
    def fn(mu_x, Sigma_x, C, c, Sigma_y_x, y):
        from scipy.stats import multivariate_normal

        c_used = np.zeros_like(c) if kind == "no offset" else c
        S = np.linalg.inv(Sigma_y_x) if kind == "noise" else Sigma_y_x
        P = C.T @ np.linalg.inv(S) @ C + np.linalg.inv(Sigma_x)
        Sigma = np.linalg.inv(P)
        prior = 0.0 if kind == "no prior mean" else np.linalg.solve(Sigma_x, mu_x)
        mu = Sigma @ (C.T @ np.linalg.solve(S, y - c_used) + prior)
        Sigma_y = C @ Sigma_x @ C.T + Sigma_y_x
        mean_y = C @ mu_x + (0.0 if kind == "evidence offset" else c)
        ev = multivariate_normal(mean_y, Sigma_y_x if kind == "evidence noise only" else Sigma_y).logpdf(y)
        if kind == "constant":
            ev += 0.5 * len(y) * np.log(2 * np.pi)
        if kind == "precision":
            Sigma = P
        if kind == "sign":
            G = Sigma_x @ C.T @ np.linalg.inv(Sigma_y)
            Sigma = Sigma_x + G @ Sigma_y @ G.T
        return mu, Sigma, ev
    return fn


@pytest.mark.parametrize("wrong,fragment", [
    (_posterior_slip("no offset"), "left the offset c out: the observation"),
    (_posterior_slip("no prior mean"), "Sigma_x^{-1} mu_x out of the mean"),
    (_posterior_slip("noise"), "used Sigma_y|x where its inverse belongs"),
    (_posterior_slip("precision"), "returned the posterior precision"),
    (_posterior_slip("sign"), "Eq. 2.27 subtracts it"),
    (_posterior_slip("evidence offset"), "offset c out of the marginal mean"),
    (_posterior_slip("evidence noise only"), "Sigma_y|x alone as the covariance of y"),
    (_posterior_slip("constant"), "normalizing constant"),
    (lambda *args: None, "forget to return"),
    (lambda *args: 1 / 0, "raised ZeroDivisionError"),
    (lambda *args: _posterior_by_schur(*args)[:2], "should return the triple"),
])
def test_posterior_function_names_the_slips(wrong, fragment):
    res = check.posterior_function(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_posterior_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.posterior_function(3.0))
    none = check.posterior_function(None)
    assert not none and "None" in str(none) and "my_posterior" in str(none)
    msg = str(check.posterior_function(lambda *a: (_posterior_by_schur(*a)[0] * 1.01, *_posterior_by_schur(*a)[1:])))
    assert "test problem 1" in msg
    assert not re.search(r"[0-9]\.[0-9]", re.sub(r"Eqs?\. [0-9.-]+", "", msg)), msg


def test_posterior_function_meets_both_shapes_and_the_scalar_model():
    shapes = [args[2].shape for _, args, _ in refs.posterior_cases()]      # C is (L, K)
    assert (1, 1) in shapes and any(L > K for L, K in shapes) and any(L < K for L, K in shapes)
    for _, (mu_x, Sigma_x, C, c, Sigma_y_x, y), _ in refs.posterior_cases():
        assert np.all(np.abs(c) >= 0.5)
        assert len(c) == 1 or not np.allclose(Sigma_y_x, np.diag(np.diag(Sigma_y_x)))
