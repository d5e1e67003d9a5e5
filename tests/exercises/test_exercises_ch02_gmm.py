"""Tests for the Section 2.1.1 exercise checkers (pedagogy_lib.exercises.ch02_gmm).

Correct answers are computed here by independent formulas (closed forms written out with
explicit inverses and determinants), not by calling the checker's reference code.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pedagogy_lib.exercises import ch02_gmm as check


# ---------------------------------------------------------------------------------------------
# independent solutions
# ---------------------------------------------------------------------------------------------

def _log_gauss(y, mu, S):
    d = y - mu
    L = y.shape[-1]
    return -0.5 * d @ np.linalg.inv(S) @ d - 0.5 * np.log(np.linalg.det(S)) - 0.5 * L * np.log(2 * np.pi)


def _resp(p, *, prior=True, logdet=True, inverse=True, half=True, const=True, background="uniform"):
    """Responsibilities of the three Gaussians and the background, with each Gaussian's density written out
    (explicit inverse and determinant) and the background's as one over the rectangle's area; the keywords
    switch on one slip each."""
    z = []
    for k in range(3):
        d = p.y - p.mu[k]
        q = d @ (np.linalg.inv(p.Sigma[k]) if inverse else p.Sigma[k]) @ d
        zk = -(0.5 if half else 1.0) * q
        if logdet:
            zk -= 0.5 * np.log(np.linalg.det(p.Sigma[k]))
        if const:
            zk -= np.log(2 * np.pi)                       # -(L/2) log(2 pi) with L = 2
        if prior:
            zk += np.log(p.pi[k])
        z.append(zk)
    area = (p.hi[0] - p.lo[0]) * (p.hi[1] - p.lo[1])
    density = {"uniform": 1 / area, "one": 1.0, "area": area}[background]
    z.append(np.log(density) + (np.log(p.pi[3]) if prior else 0.0))
    z = np.array(z)
    e = np.exp(z - z.max())
    return e / e.sum()


def _tstar_bisect(p, lo=0.0, hi=1.0):
    """Where the segment mu_j -> a crosses the boundary: bisection on the sign of the log-ratio of
    pi N(y; mu, Sigma) for the two classes (scipy's multivariate normal), no formula used."""
    def g(t):
        y = p.mu_j + t * (p.a - p.mu_j)
        return (np.log(p.pi_k) + stats.multivariate_normal(p.mu_k, p.Sigma).logpdf(y)
                - np.log(p.pi_j) - stats.multivariate_normal(p.mu_j, p.Sigma).logpdf(y))
    assert g(lo) < 0 < g(hi)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if g(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)


def _tstar(p):
    """Eq. 2.9 on the segment y(t) = mu_j + t (a - mu_j): -d^2/2 + t c = log(pi_j/pi_k)."""
    delta = p.mu_k - p.mu_j
    d2 = delta @ np.linalg.inv(p.Sigma) @ delta
    c = (p.a - p.mu_j) @ np.linalg.inv(p.Sigma) @ delta
    return (0.5 * d2 + np.log(p.pi_j / p.pi_k)) / c


def _qda(p, *, logdet=True, pi=None, var=True, log_odds=None):
    """Where the posterior of class 1 equals p.level (the log-odds of the level, unless given): the two roots
    of the quadratic by the quadratic formula."""
    S1, S2 = (p.Sigma_1, p.Sigma_2) if var else (np.sqrt(p.Sigma_1), np.sqrt(p.Sigma_2))
    pi_1, pi_2 = pi if pi is not None else (p.pi_1, p.pi_2)
    odds = np.log(p.level / (1 - p.level)) if log_odds is None else log_odds
    # log(pi_1 N(y; mu_1, S1)) - log(pi_2 N(y; mu_2, S2)) - odds = a y^2 + b y + c
    a = -0.5 / S1 + 0.5 / S2
    b = p.mu_1 / S1 - p.mu_2 / S2
    c = (-0.5 * p.mu_1**2 / S1 + 0.5 * p.mu_2**2 / S2 + np.log(pi_1 / pi_2) - (0.5 * np.log(S1 / S2) if logdet else 0)
         - odds)
    disc = np.sqrt(b * b - 4 * a * c)
    return np.sort([(-b - disc) / (2 * a), (-b + disc) / (2 * a)])


def _logmarg_stable(pi, mu, Sigma, y):
    z = np.stack([[np.log(pi[k]) + _log_gauss(yn, mu[k], Sigma[k]) for k in range(len(pi))] for yn in y])
    m = z.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]


def _logmarg_naive(pi, mu, Sigma, y):
    dens = np.stack([[pi[k] * np.exp(_log_gauss(yn, mu[k], Sigma[k])) for k in range(len(pi))] for yn in y])
    return np.log(dens.sum(axis=1))


# ---------------------------------------------------------------------------------------------
# responsibilities
# ---------------------------------------------------------------------------------------------

def test_responsibilities_correct_passes():
    r = check.responsibilities(_resp(check.EX_RESP))
    assert r, str(r)
    assert "[pass]" in str(r)
    assert check.responsibilities(list(_resp(check.EX_RESP)))


def test_responsibilities_by_scipy_densities():
    """An independent route to the reference: scipy's Gaussian densities and the background's uniform density,
    multiplied by the weights and normalized."""
    p = check.EX_RESP
    dens = [p.pi[k] * stats.multivariate_normal(p.mu[k], p.Sigma[k]).pdf(p.y) for k in range(3)]
    dens.append(p.pi[3] * stats.uniform(p.lo, p.hi - p.lo).pdf(p.y).prod())
    dens = np.array(dens)
    np.testing.assert_allclose(_resp(p), dens / dens.sum(), rtol=1e-12)
    assert check.responsibilities(dens / dens.sum())
    assert 0.3 < _resp(p)[3] < 0.6                 # the book's observation is half an outlier


@pytest.mark.parametrize("kwargs, message", [
    (dict(prior=False), "priors pi_k are left out"),
    (dict(logdet=False), "log|Sigma_k| term"),
    (dict(inverse=False), "Sigma_k is used where its inverse belongs"),
    (dict(half=False), "factor 1/2"),
    (dict(const=False), "constant -(L/2) log(tau)"),
    (dict(background="one"), "density 1 instead"),
    (dict(background="area"), "rectangle's area as its density"),
])
def test_responsibilities_typical_mistakes(kwargs, message):
    r = check.responsibilities(_resp(check.EX_RESP, **kwargs))
    assert not r
    assert message in str(r), str(r)


def test_the_pages_logits_for_the_three_gaussians_are_not_the_answer():
    """Page cell 9 copied with the exercise's numbers gives three responsibilities; with the background
    appended at zero it is named, and the Gaussians' softmax alone is told it has too few entries."""
    p = check.EX_RESP
    z = np.array([-np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(p.Sigma[k])[1]
                  - 0.5 * (p.y - p.mu[k]) @ np.linalg.solve(p.Sigma[k], p.y - p.mu[k]) + np.log(p.pi[k])
                  for k in range(3)])
    three = np.exp(z) / np.exp(z).sum()
    r = check.responsibilities(three)
    assert not r and "has 3 entries" in str(r)
    r = check.responsibilities(np.append(three, 0.0))
    assert not r and "background component is left out" in str(r)


def test_responsibilities_unnormalized_and_wrong_shape_and_none():
    p = check.EX_RESP
    area = np.prod(p.hi - p.lo)
    joint = np.array([p.pi[k] * np.exp(_log_gauss(p.y, p.mu[k], p.Sigma[k])) for k in range(3)] + [p.pi[3] / area])
    r = check.responsibilities(joint)
    assert not r and "without normalizing" in str(r)
    r = check.responsibilities(_resp(p)[None, :])
    assert not r and "shape (1, 4)" in str(r)
    r = check.responsibilities(_resp(p)[:2])
    assert not r and "shape (4,)" in str(r)
    r = check.responsibilities(None)
    assert not r and "None" in str(r)
    r = check.responsibilities("abc")
    assert not r and "numeric" in str(r)
    r = check.responsibilities(np.array([0.2, 0.3, 0.3, 0.1]))
    assert not r and "sum to 0.9" in str(r)
    # the message never reveals the reference values
    ref = _resp(p)
    assert f"{ref[3]:.4f}" not in str(check.responsibilities(np.array([0.2, 0.3, 0.4, 0.1])))


def test_responsibilities_on_problems_drawn_for_students():
    import importlib

    from pedagogy_lib.exercises import checker

    try:
        for salt in range(6):
            with checker.drawn_for(salt):
                own = importlib.reload(check)
                p = own.EX_RESP
                assert np.all(p.lo < p.y) and np.all(p.y < p.hi) and abs(p.pi.sum() - 1) < 1e-12
                ref = _resp(p)
                assert own.responsibilities(ref) and 0.1 < ref[3] < 0.8
                assert not own.responsibilities(_resp(p, const=False))
    finally:
        importlib.reload(check)


# ---------------------------------------------------------------------------------------------
# boundary point t*
# ---------------------------------------------------------------------------------------------

def test_boundary_point_correct_passes():
    p = check.EX_TSTAR
    np.testing.assert_allclose(_tstar(p), _tstar_bisect(p), rtol=1e-10)
    assert check.boundary_point(_tstar_bisect(p))
    assert check.boundary_point(np.array(_tstar(p)))


def test_boundary_point_end_is_off_the_centre_line():
    """a is not on the line through the means, so the page's crossing of the centre line (log(pi_j/pi_k)/d
    past the midpoint, t = 1/2 + log(pi_j/pi_k)/d^2 on the segment to mu_k) is not the answer."""
    p = check.EX_TSTAR
    delta, v = p.mu_k - p.mu_j, p.a - p.mu_j
    assert abs(delta[0] * v[1] - delta[1] * v[0]) > 1.0
    assert 0.0 < _tstar(p) < 1.0 and p.pi_j > p.pi_k


def test_the_pages_centre_line_crossing_copied_fails():
    """Page cell 24: shift = log(pj / pk) / d along the centre line; divided by d it is t past 1/2 on the
    segment from mu_j to mu_k. On the segment to a it is wrong, and the checker names the slip."""
    p = check.EX_TSTAR
    delta = p.mu_k - p.mu_j
    d = np.sqrt(delta @ np.linalg.solve(p.Sigma, delta))
    copied = 0.5 + (np.log(p.pi_j / p.pi_k) / d) / d
    assert abs(copied - _tstar_bisect(p)) > 0.05
    r = check.boundary_point(copied)
    assert not r and "segment between the two means" in str(r)


def test_boundary_point_typical_mistakes():
    p = check.EX_TSTAR
    delta, v = p.mu_k - p.mu_j, p.a - p.mu_j
    Si = np.linalg.inv(p.Sigma)
    d2, c = delta @ Si @ delta, v @ Si @ delta
    lr = np.log(p.pi_j / p.pi_k)
    cases = {
        (0.5 * d2 - lr) / c: "wrong sign",
        (0.5 * delta @ delta + lr) / (v @ delta): "Euclidean inner products",
        lr / c: "midpoint term is missing",
        0.5 * d2 / c: "priors are ignored",
        1 - _tstar(p): "measured from a",
    }
    for wrong, message in cases.items():
        r = check.boundary_point(wrong)
        assert not r and message in str(r), (wrong, str(r))
    r = check.boundary_point(0.99)
    assert not r and "not within tolerance" in str(r)
    r = check.boundary_point(None)
    assert not r and "None" in str(r)
    r = check.boundary_point([0.1, 0.2])
    assert not r and "single number" in str(r)


# ---------------------------------------------------------------------------------------------
# 1-D QDA thresholds
# ---------------------------------------------------------------------------------------------

def test_qda_thresholds_correct_passes_in_any_order():
    ref = _qda(check.EX_QDA1D)
    assert check.qda_thresholds(ref)
    assert check.qda_thresholds(ref[::-1])
    assert check.qda_thresholds(list(ref))


@pytest.mark.parametrize("kwargs, message", [
    (dict(logdet=False), "log(Sigma_1/Sigma_2) term is left out"),
    (dict(pi=(0.5, 0.5)), "priors are left out"),
    (dict(pi=(0.4, 0.6)), "priors are swapped"),
    (dict(var=False), "standard deviations are used"),
    (dict(log_odds=0.0), "equally probable"),
    (dict(log_odds=np.log(0.65)), "log(level)"),
    (dict(log_odds=-np.log(0.65 / 0.35)), "posterior of class 2"),
])
def test_qda_thresholds_typical_mistakes(kwargs, message):
    assert check.EX_QDA1D.level == 0.65
    r = check.qda_thresholds(_qda(check.EX_QDA1D, **kwargs))
    assert not r and message in str(r), str(r)


def test_qda_thresholds_single_threshold_and_bad_inputs():
    p = check.EX_QDA1D
    # the LDA-style single threshold one would get by ignoring the unequal variances
    r = check.qda_thresholds(0.5 * (p.mu_1 + p.mu_2))
    assert not r and "two roots" in str(r)
    r = check.qda_thresholds([1.0, 2.0, 3.0])
    assert not r and "exactly two" in str(r)
    r = check.qda_thresholds([np.nan, 1.0])
    assert not r and "NaN" in str(r)
    r = check.qda_thresholds(None)
    assert not r and "None" in str(r)
    r = check.qda_thresholds({"a": 1})
    assert not r and "two numbers" in str(r)


def test_qda_thresholds_are_where_class_1_reaches_the_level():
    """Independent sanity check of the reference: at each threshold the posterior of class 1, from the two
    log densities by Bayes's rule, equals the level; between them it is above it, outside below."""
    p = check.EX_QDA1D

    def post1(t):
        lp1 = np.log(p.pi_1) + _log_gauss(np.array([t]), np.array([p.mu_1]), np.array([[p.Sigma_1]]))
        lp2 = np.log(p.pi_2) + _log_gauss(np.array([t]), np.array([p.mu_2]), np.array([[p.Sigma_2]]))
        return 1 / (1 + np.exp(lp2 - lp1))

    lo, hi = _qda(p)
    for t in (lo, hi):
        assert abs(post1(t) - p.level) < 1e-10
    assert post1(0.5 * (lo + hi)) > p.level and post1(lo - 1) < p.level and post1(hi + 1) < p.level


def test_qda_thresholds_on_problems_drawn_for_students():
    import importlib

    from pedagogy_lib.exercises import checker

    try:
        for salt in range(6):
            with checker.drawn_for(salt):
                own = importlib.reload(check)
                p = own.EX_QDA1D
                assert 0.5 < p.level < 1 and p.Sigma_2 > p.Sigma_1
                assert own.qda_thresholds(_qda(p)) and not own.qda_thresholds(_qda(p, log_odds=0.0))
    finally:
        importlib.reload(check)


# ---------------------------------------------------------------------------------------------
# log marginal function
# ---------------------------------------------------------------------------------------------

def test_log_marginal_stable_passes():
    assert check.log_marginal_function(_logmarg_stable)


def test_log_marginal_naive_fails_on_far_points_with_hint():
    r = check.log_marginal_function(_logmarg_naive)
    assert not r
    assert "y_far" in str(r) and "log-sum-exp" in str(r)


def test_log_marginal_other_mistakes():
    no_pi = lambda pi, mu, Sigma, y: _logmarg_stable(np.ones_like(pi), mu, Sigma, y)  # noqa: E731
    r = check.log_marginal_function(no_pi)
    assert not r and "weights pi_k are left out" in str(r)

    def raises(pi, mu, Sigma, y):
        raise RuntimeError("boom")

    r = check.log_marginal_function(raises)
    assert not r and "RuntimeError: boom" in str(r)
    r = check.log_marginal_function(lambda pi, mu, Sigma, y: None)
    assert not r and "returned None" in str(r)
    r = check.log_marginal_function(lambda pi, mu, Sigma, y: _logmarg_stable(pi, mu, Sigma, y)[:, None])
    assert not r and "shape" in str(r)
    r = check.log_marginal_function(None)
    assert not r and "should be a function" in str(r)


def test_log_marginal_statement_and_help_agree_on_how_far_y_far_lies():
    """The statement says "a thousand or more standard deviations"; help() says the same, and it is
    true of every point (Mahalanobis distance to each component)."""
    p = check.EX_LOGMARG
    assert "a thousand or more standard" in check.log_marginal_function.__doc__
    assert "hundreds" not in check.log_marginal_function.__doc__
    for y in p.y_far:
        for m, S in zip(p.mu, p.Sigma):
            assert np.sqrt((y - m) @ np.linalg.solve(S, y - m)) >= 1000
