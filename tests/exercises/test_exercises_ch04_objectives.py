"""Tests for the checkers of notebook 4.1-4.2 (pedagogy_lib.exercises.ch04_objectives).

References are hand-computed (the marble game), written out with numpy, or computed by numerical
integration and optimization with scipy; none is taken from the checkers.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from pedagogy_lib.exercises import ch04_objectives as check
from pedagogy_lib.exercises.references import ch04_objectives as refs

# ---------------------------------------------------------------- exercise 1: marble entropies
# Not the page's strategies (Eqs. 4.1-4.2, whose 1.75, 2, 2 and 2.25 bits the page prints) but
# p = (0.4, 0.3, 0.2, 0.1) and q = (0.15, 0.15, 0.3, 0.4), written out term by term in bits.
_LOG2 = np.log2
MARBLE = [
    -(0.4 * _LOG2(0.4) + 0.3 * _LOG2(0.3) + 0.2 * _LOG2(0.2) + 0.1 * _LOG2(0.1)),
    -(2 * 0.15 * _LOG2(0.15) + 0.3 * _LOG2(0.3) + 0.4 * _LOG2(0.4)),
    -(0.4 * _LOG2(0.15) + 0.3 * _LOG2(0.15) + 0.2 * _LOG2(0.3) + 0.1 * _LOG2(0.4)),
    -(0.15 * _LOG2(0.4) + 0.15 * _LOG2(0.3) + 0.3 * _LOG2(0.2) + 0.4 * _LOG2(0.1)),
]
PAGE_MARBLE = [1.75, 2.0, 2.0, 2.25]


def test_marble_problem_data_is_not_the_pages_strategies():
    np.testing.assert_array_equal(check.EX_MARBLE.p, [0.4, 0.3, 0.2, 0.1])
    np.testing.assert_array_equal(check.EX_MARBLE.q, [0.15, 0.15, 0.3, 0.4])
    np.testing.assert_allclose(MARBLE, [1.846439, 1.870951, 2.395462, 2.484184], atol=1e-6)


def test_marble_the_pages_printed_values_do_not_pass():
    assert not check.marble_entropies(PAGE_MARBLE)


def test_marble_problem_drawn_for_a_student_is_a_pair_of_distributions_other_than_the_books():
    from courseware import grading as G

    fresh = G.own_copy(check, 7)
    p, q = fresh.EX_MARBLE
    assert p.shape == q.shape == (4,) and p.min() >= 0.05 and q.min() >= 0.05
    np.testing.assert_allclose([p.sum(), q.sum()], 1.0, rtol=1e-12)
    assert not np.array_equal(p, check.EX_MARBLE.p)
    H = lambda a, b: -np.sum(a * np.log2(b))
    assert fresh.marble_entropies([H(p, p), H(q, q), H(p, q), H(q, p)])


@pytest.mark.parametrize("salt", [14, 49, 118, 119, 227, 252, 260, 308, 388])
def test_marble_problem_drawn_for_a_student_has_no_uniform_strategy(salt):
    # the first draw for these students had a uniform p or q (16 choose 4,4,4,4 over 4^16, about 1.5 %
    # of students), for which H_pq or H_qp is 2 bits whatever the other strategy is
    from courseware import grading as G

    fresh = G.own_copy(check, salt)
    p, q = fresh.EX_MARBLE
    assert np.ptp(p) > 0 and np.ptp(q) > 0 and np.abs(p - q).max() > 0.1
    assert p.min() >= 0.05 and q.min() >= 0.05
    np.testing.assert_allclose([p.sum(), q.sum()], 1.0, rtol=1e-12)
    H = lambda a, b: -np.sum(a * np.log2(b))
    assert fresh.marble_entropies([H(p, p), H(q, q), H(p, q), H(q, p)])


def test_marble_correct_passes():
    res = check.marble_entropies(MARBLE)
    assert res and "correct" in str(res)
    # also with scipy.stats.entropy as an independent route (cross entropy = H_p + KL)
    p, q = check.EX_MARBLE
    alt = [stats.entropy(p, base=2), stats.entropy(q, base=2),
           stats.entropy(p, base=2) + stats.entropy(p, q, base=2),
           stats.entropy(q, base=2) + stats.entropy(q, p, base=2)]
    assert check.marble_entropies(alt)


@pytest.mark.parametrize("answer,fragment", [
    (np.array(MARBLE) * np.log(2), "natural logarithms"),
    ([MARBLE[0], MARBLE[1], MARBLE[3], MARBLE[2]], "swapped the two cross entropies"),
    ([MARBLE[0], MARBLE[1], MARBLE[2] - MARBLE[0], MARBLE[3] - MARBLE[1]], "relative entropies"),
    ([-m for m in MARBLE], "wrong sign"),
    (MARBLE[:3], "shape"),
    (MARBLE[:3] + [MARBLE[3] + 0.05], "not within tolerance"),
])
def test_marble_wrong_answers_fail_with_hint(answer, fragment):
    res = check.marble_entropies(answer)
    assert not res
    assert fragment in str(res)


def test_marble_none_fails_gracefully():
    res = check.marble_entropies(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 2: KL of two Gaussians
def _kl_hermite(mp, Sp, mq, Sq, n=12):
    """E_p[log p(Y) - log q(Y)] by a tensor Gauss-Hermite rule in the whitened coordinates of p (exact for
    the quadratic integrand), with scipy's multivariate normal log-densities: no closed form used."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / np.sqrt(2 * np.pi)
    Z = np.stack(np.meshgrid(z, z, indexing="ij"), -1).reshape(-1, 2)
    W = np.outer(w, w).ravel()
    Y = mp + Z @ np.linalg.cholesky(Sp).T
    p, q = stats.multivariate_normal(mp, Sp), stats.multivariate_normal(mq, Sq)
    return float(W @ (p.logpdf(Y) - q.logpdf(Y)))


def _kl_dblquad(mp, Sp, mq, Sq):
    """The same expectation by adaptive two-dimensional quadrature (a second, independent oracle)."""
    p, q = stats.multivariate_normal(mp, Sp), stats.multivariate_normal(mq, Sq)
    f = lambda y2, y1: p.pdf([y1, y2]) * (p.logpdf([y1, y2]) - q.logpdf([y1, y2]))  # noqa: E731
    return integrate.dblquad(f, mp[0] - 9, mp[0] + 9, mp[1] - 9, mp[1] + 9, epsabs=1e-10)[0]


def _kl_1d_sum(mp, Sp, mq, Sq):
    """The page's one-dimensional H_pq - H_p applied to each coordinate's marginals and summed."""
    return sum(0.5 * np.log(2 * np.pi * Sq[i, i]) + (Sp[i, i] + (mp[i] - mq[i]) ** 2) / (2 * Sq[i, i])
               - 0.5 * np.log(2 * np.pi * np.e * Sp[i, i]) for i in range(2))


def test_gaussian_kl_pair_is_two_dimensional_and_correlated():
    mp, Sp, mq, Sq = check.EX_KL
    assert np.shape(mp) == (2,) and np.shape(Sp) == (2, 2)
    for S in (Sp, Sq):
        assert abs(S[0, 1]) > 0.2 and np.linalg.eigvalsh(S)[0] > 0.1


def test_gaussian_kl_correct_passes_against_quadrature():
    e = check.EX_KL
    ref = _kl_hermite(*e)
    np.testing.assert_allclose(ref, _kl_dblquad(*e), rtol=1e-6)
    assert check.gaussian_kl(ref)


def test_the_pages_one_dimensional_formula_copied_fails():
    """Markdown cell 32 prints H_pq for a one-dimensional q (and kl_forward codes it): used coordinate by
    coordinate on the exercise's pair it misses the correlations, and the checker says so."""
    e = check.EX_KL
    wrong = _kl_1d_sum(*e)
    assert abs(wrong - _kl_hermite(*e)) > 0.05
    res = check.gaussian_kl(wrong)
    assert not res and "independent" in str(res)


@pytest.mark.parametrize("make,fragment", [
    (lambda mp, Sp, mq, Sq: _kl_hermite(mq, Sq, mp, Sp), "other direction"),
    (lambda mp, Sp, mq, Sq: _kl_hermite(mp, Sp, mq, Sq) + 0.5 * np.log(np.linalg.det(Sq) / np.linalg.det(Sp)),
     "lacks its factor one half"),
    (lambda mp, Sp, mq, Sq: _kl_hermite(mp, Sp, mq, Sq) - np.log(np.linalg.det(Sq) / np.linalg.det(Sp)),
     "upside down"),
    (lambda mp, Sp, mq, Sq: _kl_hermite(mp, Sp, mq, Sq) + 1.0, "a constant term is missing"),
    (lambda mp, Sp, mq, Sq: _kl_hermite(mp, Sp, mq, Sq) + 0.5, "once, not once per dimension"),
    (lambda mp, Sp, mq, Sq: _kl_hermite(mp, Sp, mq, Sq) + stats.multivariate_normal(mp, Sp).entropy(),
     "cross entropy"),
    (lambda mp, Sp, mq, Sq: 0.5 * (np.trace(np.linalg.inv(Sp) @ Sq) + (mq - mp) @ np.linalg.inv(Sq) @ (mq - mp)
                                   - 2 + np.log(np.linalg.det(Sq) / np.linalg.det(Sp))), "trace term"),
    (lambda mp, Sp, mq, Sq: 0.5 * (np.trace(np.linalg.inv(Sq) @ Sp) + (mq - mp) @ np.linalg.inv(Sp) @ (mq - mp)
                                   - 2 + np.log(np.linalg.det(Sq) / np.linalg.det(Sp))), "covariance of p"),
    (lambda mp, Sp, mq, Sq: 2.0 * _kl_hermite(mp, Sp, mq, Sq), "twice the divergence"),
    (lambda mp, Sp, mq, Sq: _kl_hermite(mp, Sp, mq, Sq) + 0.05, "not within tolerance"),
])
def test_gaussian_kl_wrong_answers_fail_with_hint(make, fragment):
    res = check.gaussian_kl(make(*check.EX_KL))
    assert not res
    assert fragment in str(res)


def test_gaussian_kl_none_and_array_fail_gracefully():
    assert "None" in str(check.gaussian_kl(None))
    assert "single number" in str(check.gaussian_kl([0.1, 0.2]))


# ---------------------------------------------------------------- exercise 3: ML estimate (log-normal, mean one)
def _mean_one_nll(s2, y):
    """Average negative log-likelihood of scipy's log-normal with shape sqrt(s2) and scale exp(-s2 / 2): the
    log-normal whose mean exp(mu + s2 / 2) is one."""
    return -np.mean(stats.lognorm(s=np.sqrt(s2), scale=np.exp(-s2 / 2)).logpdf(y))


def _argmin():
    y = check.EX_ML_DATA
    return optimize.minimize_scalar(_mean_one_nll, bounds=(1e-3, 5.0), args=(y,), method="bounded",
                                    options={"xatol": 1e-12}).x


def test_ml_model_has_mean_one():
    s2 = 0.37
    np.testing.assert_allclose(stats.lognorm(s=np.sqrt(s2), scale=np.exp(-s2 / 2)).mean(), 1.0, rtol=1e-12)


def test_ml_correct_passes_and_is_the_numerical_argmin():
    y = check.EX_ML_DATA
    assert np.all(y > 0)
    s2 = _argmin()
    # the closed form: the derivative vanishes where s2^2 / 4 + s2 - <(log y)^2> = 0
    closed = 2 * (np.sqrt(1 + np.mean(np.log(y) ** 2)) - 1)
    np.testing.assert_allclose(s2, closed, rtol=1e-6)
    assert check.ml_estimate(closed)
    assert check.ml_estimate(s2)


def test_ml_the_pages_closed_form_copied_does_not_pass():
    """The page prints the Gaussian fit's sample mean and variance (divisor N); on log y that is the free
    log-normal, whose variance is not the answer when the mean of log Y is tied to sigma^2."""
    z = np.log(check.EX_ML_DATA)
    res = check.ml_estimate(z.var())
    assert not res and "free log-normal" in str(res)
    assert abs(z.var() - _argmin()) > 1e-4
    res = check.ml_estimate(check.EX_ML_DATA.var())
    assert not res


def test_ml_data_drawn_for_a_student_are_positive():
    from courseware import grading as G

    for salt in range(20):
        y = G.own_copy(check, salt).EX_ML_DATA
        assert y.shape == (12,) and np.all(y > 0)


@pytest.mark.parametrize("which,fragment", [
    ("ddof1", "N - 1"),
    ("std", "standard deviation"),
    ("raw", "mean of log Y to be zero"),
    ("moments", "moment estimator"),
    ("fixed_mean", "did not change with sigma^2"),
])
def test_ml_wrong_answers_fail_with_hint(which, fragment):
    z = np.log(check.EX_ML_DATA)
    s2 = _argmin()
    if which == "fixed_mean":      # s = <(log y + s / 2)^2> solved by fixed-point iteration
        t = z.var()
        for _ in range(200):
            t = np.mean((z + t / 2) ** 2)
        answer = t
    else:
        answer = {"ddof1": z.var(ddof=1), "std": np.sqrt(s2), "raw": np.mean(z**2), "moments": -2 * z.mean()}[which]
    res = check.ml_estimate(answer)
    assert not res
    assert fragment in str(res), str(res)


def test_ml_none_fails_gracefully():
    res = check.ml_estimate(None)
    assert not res and "None" in str(res)


# ---------------------------------------------------------------- exercise 4: asymmetric pair
def test_asymmetric_pair_accepts_a_valid_pair():
    p, q = np.array([0.6, 0.4 / 3, 0.4 / 3, 0.4 / 3]), np.full(4, 0.25)
    assert stats.entropy(p, q, base=2) > stats.entropy(q, p, base=2) + 0.01
    assert check.asymmetric_pair(p, q)


def test_asymmetric_pair_a_random_pair_does_not_pass():
    """Almost every pair differs in the two directions; the exercise asks for the less common one."""
    rng = np.random.default_rng(0)
    passed = sum(bool(check.asymmetric_pair(rng.dirichlet(np.ones(4)), np.full(4, 0.25))) for _ in range(200))
    assert passed < 20
    r = check.asymmetric_pair(np.array([0.85, 0.05, 0.05, 0.05]), np.full(4, 0.25))   # D{q||p} is larger
    assert not r and "does not exceed" in str(r)


@pytest.mark.parametrize("p,q,fragment", [
    ([0.5, 0.25, 0.125, 0.125], [0.25] * 4, "does not exceed"),              # the book's coincidence
    ([0.4, 0.3, 0.2, 0.1], [0.4, 0.3, 0.2, 0.1], "uniform"),                 # q must be uniform
    ([0.5, 0.5, 0.0, 0.0], [0.25] * 4, "zero entry"),
    ([0.5, 0.3, 0.1, 0.2], [0.25] * 4, "sum to 1"),
    ([0.5, 0.5], [0.25] * 4, "vector of 4"),
    (None, [0.25] * 4, "None"),
])
def test_asymmetric_pair_rejects(p, q, fragment):
    res = check.asymmetric_pair(p, q)
    assert not res
    assert fragment in str(res)


# --- ex-4-2-entropies-function: Eqs. 4.3-4.5 for a sample's distribution, as a function ---------------------------

def _entropies_page(y, q, base):
    """The notebook's solution: relative frequencies, terms with p = 0 dropped."""
    q = np.asarray(q, dtype=float)
    p = np.bincount(y, minlength=len(q)) / len(y)
    seen = p > 0
    H_p = -np.sum(p[seen] * np.log(p[seen])) / np.log(base)
    H_pq = -np.sum(p[seen] * np.log(q[seen])) / np.log(base)
    return H_p, H_pq, H_pq - H_p


def _entropies_by_sample(y, q, base):
    """Written otherwise: the cross entropy as the average surprisal over the observations (Eq. 4.6), the entropy
    and the divergence with scipy.stats.entropy, which keeps 0 log 0 = 0 itself."""
    p = np.bincount(y, minlength=len(q)) / len(y)
    H_pq = float(np.mean([-np.log(q[k]) for k in y])) / np.log(base)
    return stats.entropy(p, base=base), H_pq, stats.entropy(p, q, base=base)


def test_entropies_function_accepts_the_solution_and_other_routes():
    assert check.empirical_entropies(_entropies_page)
    assert check.empirical_entropies(_entropies_by_sample)
    assert check.empirical_entropies(lambda *a: np.array(_entropies_page(*a)))      # an array of three is fine


def test_entropies_function_cases_hold_the_edge_cases():
    cases = check._entropy_cases()
    assert {base for _, _, base in cases} == {2.0, np.e, 10.0}
    assert any(len(y) == 1 for y, _, _ in cases)
    unseen_zero = [np.any((np.bincount(y, minlength=len(q)) == 0) & (q == 0)) for y, q, _ in cases]
    assert any(unseen_zero)
    for y, q, base in cases:                      # q is zero only where no observation falls
        assert np.all(q[np.bincount(y, minlength=len(q)) > 0] > 0) and np.isclose(q.sum(), 1.0)
        np.testing.assert_allclose(refs.entropy_reference(y, q, base), _entropies_by_sample(y, q, base),
                                   rtol=1e-12, atol=1e-14)


def _naive(y, q, base):
    p = np.bincount(y, minlength=len(q)) / len(y)
    with np.errstate(all="ignore"):
        H_p = -np.sum(p * np.log(p)) / np.log(base)
        H_pq = -np.sum(p * np.log(q)) / np.log(base)
    return H_p, H_pq, H_pq - H_p


def _counts(y, q, base):
    c = np.bincount(y, minlength=len(q)).astype(float)
    seen = c > 0
    H_p = -np.sum(c[seen] * np.log(c[seen])) / np.log(base)
    H_pq = -np.sum(c[seen] * np.log(q[seen])) / np.log(base)
    return H_p, H_pq, H_pq + np.sum(c[seen] * np.log(c[seen] / len(y))) / np.log(base)


def _swapped(y, q, base):
    H_p, H_pq, _ = _entropies_page(y, q, base)
    p = np.bincount(y, minlength=len(q)) / len(y)
    return H_p, -np.sum(q * np.log(p)) / np.log(base), 0.0


@pytest.mark.parametrize("wrong,fragment", [
    (lambda y, q, base: tuple(v * np.log(base) for v in _entropies_page(y, q, base)), "in nats"),
    (lambda y, q, base: _entropies_page(y, q, 10.0), "base-10 logarithms"),
    (_counts, "counts of the categories"),
    (_swapped, "swapped p and q"),
    (lambda y, q, base: (_entropies_page(y, q, base)[0], -np.mean(np.log(q)) / np.log(base), 0.0),
     "over the K categories"),
    (_naive, "0 log 0 = 0"),
    (lambda y, q, base: _entropies_page(y, q, base)[:2], "should return the triple"),
    (lambda y, q, base: None, "forget to return"),
    (lambda y, q, base: 1 / 0, "raised ZeroDivisionError"),
])
def test_entropies_function_names_the_slips(wrong, fragment):
    res = check.empirical_entropies(wrong)
    assert not res
    assert fragment in str(res), str(res)


def test_entropies_function_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(check.empirical_entropies(np.eye(2)))
    assert "write the function first" in str(check.empirical_entropies(None))
    res = check.empirical_entropies(lambda *a: tuple(v + 0.01 for v in _entropies_page(*a)))
    assert not res and "test case 1" in str(res)
    assert not re.search(r"[0-9]\.[0-9]", str(res).replace("Eqs. 4.3-4.6", "")), str(res)
