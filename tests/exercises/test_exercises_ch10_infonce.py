"""Tests for the Section 10.1.2 exercise checkers (pedagogy_lib.exercises.ch10_infonce): the mutual information of two
Gaussian vectors from canonical correlations and by Monte Carlo, the bounded ceiling by numerical optimization, the
s-step predictor weights of a second-order state from scipy's discrete Riccati solver and, independently, the
regression on a long window from the stationary autocovariance, the InfoNCE estimate from scipy's log-sum-exp
and the library's loss."""
import numpy as np
import pytest
from scipy import linalg
from scipy.special import logsumexp

from pedagogy_lib.exercises import ch10_infonce


def _mi_by_canonical_correlations(S):
    """The information from the canonical correlations (singular values of S_yy^{-1/2} S_yz S_zz^{-1/2}),
    a sum of independent scalar pairs, each -1/2 log(1 - rho^2)."""
    def inv_sqrt(M):
        w, V = np.linalg.eigh(M)
        return V @ np.diag(w ** -0.5) @ V.T

    rho = np.linalg.svd(inv_sqrt(S[:2, :2]) @ S[:2, 2:] @ inv_sqrt(S[2:, 2:]), compute_uv=False)
    return -0.5 * np.sum(np.log(1 - rho ** 2))


def test_gaussian_mi():
    S = np.asarray(ch10_infonce.EX_COV)
    assert ch10_infonce.gaussian_mi(_mi_by_canonical_correlations(S))


def test_gaussian_mi_reference_agrees_with_monte_carlo():
    """E[log p(y, z) - log p(y) - log p(z)] over 200 000 draws, within 5 standard errors (about 0.002)."""
    from scipy.stats import multivariate_normal as mvn

    S = np.asarray(ch10_infonce.EX_COV)
    X = np.random.default_rng(5).multivariate_normal(np.zeros(4), S, 200_000)
    v = (mvn(np.zeros(4), S).logpdf(X) - mvn(np.zeros(2), S[:2, :2]).logpdf(X[:, :2])
         - mvn(np.zeros(2), S[2:, 2:]).logpdf(X[:, 2:]))
    assert abs(v.mean() - _mi_by_canonical_correlations(S)) < 5 * v.std() / np.sqrt(len(v))


@pytest.mark.parametrize("slip, fragment", [
    (lambda S, I: -0.5 * sum(np.log(1 - S[i, i + 2] ** 2 / (S[i, i] * S[i + 2, i + 2])) for i in range(2)),
     "one by one"),
    (lambda S, I: -0.5 * np.log(np.linalg.det(S)), "joint covariance alone"),
    (lambda S, I: 2 * I, "1/2"),
    (lambda S, I: I / np.log(2), "bits"),
])
def test_gaussian_mi_slips_are_named(slip, fragment):
    S = np.asarray(ch10_infonce.EX_COV)
    r = ch10_infonce.gaussian_mi(slip(S, _mi_by_canonical_correlations(S)))
    assert not r and fragment in str(r), str(r)


def _ceiling_by_optimization(K, B):
    """Maximize one anchor's term log K + h_1 - log sum_j exp(h_j) over scores in [-B, B] numerically."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    h0 = np.random.default_rng(3).uniform(-B, B, K)
    res = minimize(lambda h: logsumexp(h) - h[0], h0, bounds=[(-B, B)] * K, method="L-BFGS-B",
                   options={"ftol": 1e-15, "gtol": 1e-12})
    return np.log(K) - res.fun


def test_bound_ceiling():
    assert ch10_infonce.bound_ceiling(_ceiling_by_optimization(ch10_infonce.EX_K, ch10_infonce.EX_B))


@pytest.mark.parametrize("slip, fragment", [
    (lambda K, B: np.log(K), "not bounded"),
    (lambda K, B: np.log(K) - np.log1p(K * np.exp(-2 * B)), "K - 1 negatives"),
    (lambda K, B: np.log(K) - np.log1p((K - 1) * np.exp(-B)), "not the largest the bounded scores"),
    (lambda K, B: np.log(K) - np.log(K - 1) + 2 * B, "positive's own term"),
    (lambda K, B: np.log1p((K - 1) * np.exp(-2 * B)), "smallest loss"),
])
def test_bound_ceiling_slips_are_named(slip, fragment):
    r = ch10_infonce.bound_ceiling(slip(ch10_infonce.EX_K, ch10_infonce.EX_B))
    assert not r and fragment in str(r), str(r)


def _ar2(a1, a2, c, q):
    return np.array([[a1, a2], [1.0, 0.0]]), np.array([c, 0.0]), np.diag([q, 0.0])


def _weights_by_dare(a1, a2, c, q, r_, s, L, row=None):
    """The steady-state Kalman predictor with the prior covariance from scipy's discrete Riccati solver (the
    filter's Riccati equation is the control one for A^T, C^T)."""
    A, C, Q = _ar2(a1, a2, c, q)
    P = linalg.solve_discrete_are(A.T, C[:, None], Q, np.array([[r_]]))
    k = P @ C / (C @ P @ C + r_)
    M = (np.eye(2) - np.outer(k, C)) @ A
    out = (C if row is None else np.asarray(row, float)) @ np.linalg.matrix_power(A, s)
    return np.array([out @ np.linalg.matrix_power(M, j) @ k for j in range(L)])


def _weights_by_regression(a1, a2, c, q, r_, s, L, n=300):
    """Independently of any filter: the regression of y_{t+s} on the last n observations, from the stationary
    autocovariance c^T A^|k| S c + r [k = 0] with S from scipy's discrete Lyapunov solver; for n = 300 the
    first L weights are the steady state's to rounding (the weights decay like 0.9^j at the slowest)."""
    A, C, Q = _ar2(a1, a2, c, q)
    S = linalg.solve_discrete_lyapunov(A, Q)

    def acov(k):
        return C @ np.linalg.matrix_power(A, abs(k)) @ S @ C + (r_ if k == 0 else 0.0)
    G = linalg.toeplitz([acov(k) for k in range(n)])
    return np.linalg.solve(G, np.array([acov(s + j) for j in range(n)]))[:L]


def test_predictor_weights():
    a1, a2, c, q, r_ = ch10_infonce.EX_LGSSM
    s, L = ch10_infonce.EX_S, ch10_infonce.EX_L
    by_dare = _weights_by_dare(a1, a2, c, q, r_, s, L)
    by_regression = _weights_by_regression(a1, a2, c, q, r_, s, L)
    np.testing.assert_allclose(by_dare, by_regression, rtol=1e-8, atol=1e-12)
    assert ch10_infonce.predictor_weights(by_dare)
    assert ch10_infonce.predictor_weights(by_regression)
    assert np.any(np.diff(np.sign(by_dare)) != 0)            # a damped oscillation, not a geometric decay


def _page_hidden_cell_route(a1, a2, c, q, r_, s, L, n):
    """Step 4's hidden check (an AR(1) state's stationary autocovariance and the normal equations) with the
    gain c and the step s put in, on a window of n lags: it has a single coefficient a, here a1."""
    a = a1
    vx = q / (1 - a ** 2)
    cov = lambda lag: c ** 2 * vx * a ** abs(lag) + (r_ if lag == 0 else 0.0)
    Szz = np.array([[cov(i - j) for j in range(n)] for i in range(n)])
    Syz = np.array([cov(s + lag) for lag in range(n)])
    return np.linalg.solve(Szz, Syz)[:L]


@pytest.mark.parametrize("n", [20, 50, 300])
def test_the_copied_hidden_cell_no_longer_answers(n):
    a1, a2, c, q, r_ = ch10_infonce.EX_LGSSM
    with np.errstate(all="ignore"):
        w = _page_hidden_cell_route(a1, a2, c, q, r_, ch10_infonce.EX_S, ch10_infonce.EX_L, n)
    assert not ch10_infonce.predictor_weights(w)


@pytest.mark.parametrize("slip, fragment", [
    (lambda a1, a2, c, q, r_, s, L: _weights_by_dare(a1, a2, c, q, r_, 1, L), "one step ahead"),
    (lambda a1, a2, c, q, r_, s, L: _weights_by_dare(a1, a2, c, q, r_, 0, L, row=[1.0, 0.0]), "filter's weights"),
    (lambda a1, a2, c, q, r_, s, L: _weights_by_dare(a1, a2, c, q, r_, s, L, row=[1.0, 0.0]), "not the observation"),
    (lambda a1, a2, c, q, r_, s, L: _weights_by_dare(a1, a2, 1.0, q, r_, s, L), "c = 1"),
    (lambda a1, a2, c, q, r_, s, L: _weights_by_dare(a1, 0.0, c, q, r_, s, L), "first order"),
    (lambda a1, a2, c, q, r_, s, L: _weights_by_regression(a1, a2, c, q, r_, s, L, n=L), "last EX_L observations"),
])
def test_predictor_weights_slips_are_named(slip, fragment):
    a1, a2, c, q, r_ = ch10_infonce.EX_LGSSM
    r = ch10_infonce.predictor_weights(slip(a1, a2, c, q, r_, ch10_infonce.EX_S, ch10_infonce.EX_L))
    assert not r and fragment in str(r), str(r)


def test_predictor_weights_names_noise_on_both_state_components():
    a1, a2, c, q, r_ = ch10_infonce.EX_LGSSM
    A, C, _ = _ar2(a1, a2, c, q)
    P = linalg.solve_discrete_are(A.T, C[:, None], q * np.eye(2), np.array([[r_]]))
    k = P @ C / (C @ P @ C + r_)
    M = (np.eye(2) - np.outer(k, C)) @ A
    out = C @ np.linalg.matrix_power(A, ch10_infonce.EX_S)
    w = np.array([out @ np.linalg.matrix_power(M, j) @ k for j in range(ch10_infonce.EX_L)])
    r = ch10_infonce.predictor_weights(w)
    assert not r and "noise on both components" in str(r), str(r)


def test_problems_drawn_for_students_are_well_posed_and_graded_by_their_own_answer():
    from courseware import grading as G

    for salt in range(4):
        fresh = G.own_copy(ch10_infonce, salt)
        S = np.asarray(fresh.EX_COV)
        assert S.shape == (4, 4) and np.allclose(S, S.T) and np.all(np.linalg.eigvalsh(S) > 0)
        assert fresh.gaussian_mi(_mi_by_canonical_correlations(S))
        K, B = fresh.EX_K, fresh.EX_B
        assert fresh.bound_ceiling(_ceiling_by_optimization(K, B)) and not fresh.bound_ceiling(np.log(K))
        a1, a2, c, q, r_ = fresh.EX_LGSSM
        assert c != 1 and a2 != 0 and a1 * a1 + 4 * a2 < 0      # complex roots: an oscillating predictor
        assert fresh.predictor_weights(_weights_by_regression(a1, a2, c, q, r_, fresh.EX_S, fresh.EX_L))


def test_the_page_states_neither_the_block_information_nor_the_bounded_ceiling_nor_these_weights():
    """The page gives -1/2 log(1 - rho^2) per pair, the ceiling log K and the one-step weights for c = 1;
    the exercises ask for the neighbouring cases."""
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[2] / "chapters" / "ch10_learning_energy_based_models"
                     / "10_1_2_infonce.ipynb").read_text())
    before = ""
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if "ex-10-1-2-gaussian-mi" in text:
            break
        before += text
    assert "log\\det" not in before and "e^{-2B}" not in before and "(1-cK" not in before
    assert ch10_infonce.EX_LGSSM[2] != 1 and ch10_infonce.EX_LGSSM[1] != 0 and ch10_infonce.EX_S > 1


# ---------------------------------------------------------------- exercise (d): the estimate from scores
def _batch_estimates(F):
    """Per-batch estimates log K - L_b, with scipy's log-sum-exp (independent of the checker's own)."""
    from scipy.special import logsumexp

    return np.log(F.shape[1]) - np.mean(logsumexp(F, axis=2) - np.diagonal(F, axis1=1, axis2=2), axis=1)


def _bound_by_scipy(F):
    """The estimate and its standard error over independent batches."""
    b = _batch_estimates(F)
    return b.mean(), np.sqrt(np.sum((b - b.mean()) ** 2) / (len(b) - 1) / len(b))


def _bound_by_library(F):
    from pedagogy_lib.contrastive import infonce

    e = infonce.infonce_loss(F)
    return e.bound, e.se


def _bound_naive(F):
    P = np.exp(F) / np.exp(F).sum(axis=2, keepdims=True)
    b = np.log(F.shape[1]) + np.mean(np.log(np.diagonal(P, axis1=1, axis2=2)), axis=1)
    return b.mean(), b.std(ddof=1) / np.sqrt(len(b))


def _with_se(F, se):
    return _bound_by_scipy(F)[0], se


def _terms(F):
    from scipy.special import logsumexp

    return np.log(F.shape[1]) - (logsumexp(F, axis=2) - np.diagonal(F, axis1=1, axis2=2))


def _page_cell_14(F):
    """The page's visible code of "Watching the bound saturate", pasted: it gives the estimate only."""
    K = F.shape[-1]
    P = np.exp(F - F.max(axis=2, keepdims=True))
    P /= P.sum(axis=2, keepdims=True)
    probs = np.diagonal(P, axis1=1, axis2=2).ravel()
    return np.log(K * probs).mean()


def test_the_standard_error_over_batches_matches_the_spread_of_repeated_estimates():
    """Independent oracle for the graded standard error: draw 4000 independent sets of 8 batches (K = 16,
    optimal critic at rho = 0.9) and compare the spread of the estimate with the root-mean-square of the
    batch standard error that the reference returns."""
    r = np.random.default_rng(20251)
    n, K, rho = 8, 16, 0.9
    W, B = rho / (1 - rho**2), -0.5 * rho**2 / (1 - rho**2)
    est, se = [], []
    for _ in range(4000):
        z = r.standard_normal((n, K))
        y = rho * z + np.sqrt(1 - rho**2) * r.standard_normal((n, K))
        F = W * z[:, :, None] * y[:, None, :] + B * (y**2)[:, None, :]
        e, s = _bound_by_scipy(F)
        est.append(e)
        se.append(s)
    assert np.std(est) == pytest.approx(np.sqrt(np.mean(np.square(se))), rel=0.05)


@pytest.mark.parametrize("right", [_bound_by_scipy, _bound_by_library])
def test_infonce_bound_reference_passes(right):
    assert ch10_infonce.infonce_bound(right)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("wrong, fragment", [
    (lambda F: _bound_by_scipy(np.swapaxes(F, 1, 2)), "over the anchors"),
    (lambda F: (np.log(F.shape[1]) - _bound_by_scipy(F)[0], _bound_by_scipy(F)[1]), "returned the loss L"),
    (lambda F: (_bound_by_scipy(F)[0] - np.log(F.shape[1]) + np.log(F.shape[1] - 1), _bound_by_scipy(F)[1]),
     "log(K - 1)"),
    (_bound_naive, "test problem 3 (3 batches of K = 16 pairs, large scores) is not finite"),
    (lambda F: (_bound_by_scipy(F)[0] + 0.01, _bound_by_scipy(F)[1]), "not within tolerance"),
    (lambda F: _with_se(F, _terms(F).std(ddof=1) / np.sqrt(_terms(F).size)), "independent draw"),
    (lambda F: _with_se(F, _batch_estimates(F).std(ddof=1)), "standard deviation of the per-batch"),
    (lambda F: _with_se(F, _batch_estimates(F).std() / np.sqrt(len(F))), "n_batches - 1"),
    (lambda F: _with_se(F, 1.1 * _bound_by_scipy(F)[1]), "standard error on test problem 1"),
    (_page_cell_14, "two numbers"),
    (lambda F: None, "forget to return"),
    (lambda F: {}["x"], "KeyError"),
])
def test_infonce_bound_slips_are_named(wrong, fragment):
    r = ch10_infonce.infonce_bound(wrong)
    assert not r and fragment in str(r), str(r)


def _bound_as_the_animation_cell_computes_it(F):
    """The page's animation cell: the softmax as probabilities (largest score taken out), then log(K P_+),
    with the statement's standard error over batches added."""
    K = F.shape[-1]
    P = np.exp(F - F.max(axis=2, keepdims=True))
    P /= P.sum(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_batch = np.log(K * np.diagonal(P, axis1=1, axis2=2)).mean(axis=1)
        return per_batch.mean(), per_batch.std(ddof=1) / np.sqrt(len(per_batch))


def test_the_pages_softmax_as_probabilities_fails_where_a_positive_underflows():
    """Copied with the standard error added, the page's cell passes every test problem but the one whose
    sign-flipped critic buries some positives more than 745 below their row's best."""
    cases = vars(ch10_infonce)["_bound_cases"]()
    buried = [i for i, F in enumerate(cases)
              if np.any(np.diagonal(F, axis1=1, axis2=2) - logsumexp(F, axis=2) < -745)]
    assert len(buried) == 1
    F = cases[buried[0]]
    assert np.isfinite(_bound_by_scipy(F)).all() and not np.isfinite(_bound_as_the_animation_cell_computes_it(F)[0])
    for i, G in enumerate(cases):
        if i not in buried:
            np.testing.assert_allclose(_bound_as_the_animation_cell_computes_it(G), _bound_by_scipy(G), rtol=1e-9)
    r = ch10_infonce.infonce_bound(_bound_as_the_animation_cell_computes_it)
    assert not r and "without forming the probability" in str(r) and f"test problem {buried[0] + 1}" in str(r), str(r)


def test_a_non_finite_numpy_estimate_reaches_the_grader_as_a_number():
    """The page's cell returns NumPy's -inf on the buried problem; it must cross the grader's wire as a float,
    so that the checker's own message (not a decoding error blamed on the student's function) is shown."""
    from pedagogy_lib.core import wire

    for x in (np.float64(-np.inf), np.float64(np.inf), np.float64(np.nan), float("-inf")):
        back = wire.decode(wire.encode((x, 1.5)))
        assert isinstance(back[0], float) and (back[0] == x or (x != x and back[0] != back[0]))


def test_infonce_bound_rejects_a_non_function_and_reveals_no_answer():
    import re

    assert "should be a function" in str(ch10_infonce.infonce_bound(0.5))
    msg = str(ch10_infonce.infonce_bound(lambda F: (_bound_by_scipy(F)[0] + 0.3, 0.0)))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg.replace("Eqs. 10.6-10.7", "")), msg


def test_the_ceiling_statement_asks_only_what_the_checker_grades():
    from courseware import editions as E

    ex = next(e for e in E.all_exercises() if e.label == "ex-10-1-2-ceiling")
    assert "10 nats" not in ex.statement
