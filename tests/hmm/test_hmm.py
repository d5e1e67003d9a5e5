"""Tests for pedagogy_lib.hmm (book Section 2.2.1: normalized filter and alpha-gamma smoother).

Oracles: enumeration of all K**T paths (tests/oracle_hmm.py), scipy.stats for the emission
helpers, hmmlearn for an independent compiled implementation, and exact identities
(gamma_T = filter_T, pairwise marginals, shift invariance of log_lik).
"""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from oracle_hmm import enumerate_hmm, random_hmm
from pedagogy_lib.hmm import inference as hmm
from pedagogy_lib.hmm import kernels

BACKENDS = ["numba", "numpy"]


# ---------------------------------------------------------------------------------------------
# Against enumeration of all K**T paths
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("K,T,seed", [(2, 1, 0), (2, 5, 1), (3, 4, 2), (3, 6, 3), (4, 3, 4)])
def test_matches_enumeration(backend, K, T, seed):
    """Every output against the sum over all paths: the predictions (Eq. 2.36), the filter (Eq. 2.37),
    the alphas of Eq. 2.42, the smoother gamma of Eq. 2.43, the pairwise marginals of Eq. 2.44 and the
    evidence (Eq. 2.40)."""
    rng = np.random.default_rng(seed)
    pi, A, log_lik = random_hmm(rng, K, T)
    ref = enumerate_hmm(pi, A, log_lik)
    post = hmm.hmm_smoother(pi, A, log_lik, return_pairwise="full", backend=backend)
    assert_allclose(post.filtered, ref["filtered"], rtol=1e-10, atol=1e-13)
    assert_allclose(post.predicted, ref["predicted"], rtol=1e-10, atol=1e-13)
    assert_allclose(post.gamma, ref["gamma"], rtol=1e-10, atol=1e-13)
    assert_allclose(post.xi, ref["xi"], rtol=1e-10, atol=1e-13)
    assert_allclose(post.xi_sum, ref["xi"].sum(axis=0), rtol=1e-10, atol=1e-13)
    assert_allclose(post.log_c, ref["log_c"], rtol=1e-10, atol=1e-12)
    assert post.log_evidence == pytest.approx(ref["log_evidence"], rel=1e-11, abs=1e-11)
    filt = hmm.hmm_filter(pi, A, log_lik, backend=backend)
    for field in hmm.HMMFilter._fields:
        if getattr(filt, field) is None:                    # log_filtered: only where the floats ran out
            assert getattr(post, field) is None
            continue
        assert_allclose(getattr(filt, field), getattr(post, field), rtol=0, atol=0)
    assert_allclose(hmm.log_alpha(filt.filtered, filt.log_c), ref["log_alpha"], rtol=1e-10, atol=1e-12)
    assert_allclose(hmm.log_alpha(filt), ref["log_alpha"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("offset", [740.0, 744.0, 746.0, 800.0, 1e4])
def test_unreachable_state_far_likelier_changes_nothing(backend, offset):
    """A state the prediction cannot reach (probability 0) with a log-likelihood far above the others
    changes neither the filter nor the evidence: the exact answer is that of the two reachable states,
    softmax(0, -1) and log(0.5 (1 + e^-1)). (Normalizing by the maximum over all states underflowed
    the reachable ones: [1, 0, 0] and -0.4401 at 744, a false 'probability zero' from 746.)"""
    filt = hmm.hmm_filter(np.array([0.5, 0.5, 0.0]), np.eye(3), np.array([[0.0, -1.0, offset]]), backend=backend)
    p = 1.0 / (1.0 + np.exp(-1.0))
    assert_allclose(filt.filtered, [[p, 1.0 - p, 0.0]], rtol=1e-14, atol=0)
    assert filt.log_evidence == pytest.approx(np.log(0.5 * (1.0 + np.exp(-1.0))), rel=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(8))
def test_peaked_emissions_match_enumeration(backend, seed):
    """Emissions hundreds of nats apart, so that filtered and predicted probabilities fall below the
    floats (e^-800) and a later observation makes such a state the likeliest, on a left-right-like A
    with zeros and a zero in pi: every output against the sum over all paths, done in logs.
    (Kept in probabilities, such a state was 0 after the first step and lost for good.)"""
    rng = np.random.default_rng(100 + seed)
    K, T = 3, 6
    A = rng.random((K, K)) * (rng.random((K, K)) < 0.6) + np.eye(K)
    A /= A.sum(axis=0)
    pi = np.array([0.6, 0.4, 0.0])
    log_lik = rng.normal(size=(T, K)) + rng.choice([-800.0, -400.0, 0.0, 400.0, 800.0], size=(T, K))
    ref = enumerate_hmm(pi, A, log_lik)
    post = hmm.hmm_smoother(pi, A, log_lik, return_pairwise="full", backend=backend)
    for field in ("filtered", "predicted", "gamma", "xi"):
        assert_allclose(getattr(post, field), ref[field], rtol=1e-9, atol=1e-13, err_msg=field)
    assert_allclose(post.xi_sum, ref["xi"].sum(axis=0), rtol=1e-9, atol=1e-13)
    assert_allclose(post.log_c, ref["log_c"], rtol=1e-12, atol=1e-9)
    assert post.log_evidence == pytest.approx(ref["log_evidence"], rel=1e-12, abs=1e-9)


def test_a_state_below_the_floats_comes_back():
    """Two states that never switch: the first observation puts state 1 at e^-750 (0 as a float), the
    second favours it by 1500 nats. Exactly, gamma = (0, 1) at both steps and the evidence is
    0.5 e^750 (+ 0.5): a filter kept in probabilities loses state 1 and gives log 0.5."""
    for backend in BACKENDS:
        post = hmm.hmm_smoother([0.5, 0.5], np.eye(2), [[0.0, -750.0], [0.0, 1500.0]], backend=backend)
        assert_allclose(post.gamma, [[0.0, 1.0], [0.0, 1.0]], rtol=0, atol=1e-300)
        assert post.log_evidence == pytest.approx(np.log(0.5) + 750.0, rel=1e-15)
        assert_allclose(post.xi_sum, [[0.0, 0.0], [0.0, 1.0]], rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("backend", BACKENDS)
def test_structural_zeros_match_enumeration(backend):
    """Sparse A, a zero in pi and -inf emissions (impossible observations for some states)."""
    pi = np.array([0.5, 0.5, 0.0])
    A = np.array([[0.8, 0.0, 0.3],
                  [0.2, 0.6, 0.0],
                  [0.0, 0.4, 0.7]])                 # columns sum to 1; a left-to-right-ish chain
    with np.errstate(divide="ignore"):
        log_lik = np.log(np.array([[0.3, 0.6, 0.9], [0.0, 0.5, 0.2], [0.4, 0.1, 0.0],
                                   [0.7, 0.2, 0.6], [0.1, 0.0, 0.5]]))
    ref = enumerate_hmm(pi, A, log_lik)
    post = hmm.hmm_smoother(pi, A, log_lik, return_pairwise="full", backend=backend)
    assert_allclose(post.filtered, ref["filtered"], rtol=1e-10, atol=1e-14)
    assert_allclose(post.gamma, ref["gamma"], rtol=1e-10, atol=1e-14)
    assert_allclose(post.xi, ref["xi"], rtol=1e-10, atol=1e-14)
    assert post.log_evidence == pytest.approx(ref["log_evidence"], rel=1e-12)
    assert post.gamma[1, 0] == 0.0 and post.gamma[0, 2] == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_gamma_T_equals_filter_T_and_pairwise_marginals(backend):
    rng = np.random.default_rng(11)
    pi, A, log_lik = random_hmm(rng, 5, 40)
    post = hmm.hmm_smoother(pi, A, log_lik, return_pairwise="full", backend=backend)
    assert_array_equal(post.gamma[-1], post.filtered[-1])        # initialization of Eq. 2.44
    # xi[t, i, j] = p(x_{t+1} = i, x_t = j): summing over i (axis 1) gives gamma_t (Eq. 2.39),
    # summing over j (axis 2) gives gamma_{t+1}
    assert_allclose(post.xi.sum(axis=1), post.gamma[:-1], rtol=1e-12, atol=1e-14)
    assert_allclose(post.xi.sum(axis=2), post.gamma[1:], rtol=1e-12, atol=1e-14)
    assert_allclose(post.xi.sum(axis=0), post.xi_sum, rtol=1e-12, atol=1e-13)
    assert_allclose(post.gamma.sum(axis=1), 1.0, atol=1e-13)
    assert_allclose(post.filtered.sum(axis=1), 1.0, atol=1e-13)
    assert_allclose(post.predicted.sum(axis=1), 1.0, atol=1e-13)
    assert_array_equal(post.predicted[0], pi)


def test_return_pairwise_options():
    rng = np.random.default_rng(5)
    pi, A, log_lik = random_hmm(rng, 3, 20)
    full = hmm.hmm_smoother(pi, A, log_lik, return_pairwise="full")
    summed = hmm.hmm_smoother(pi, A, log_lik)                      # default "sum"
    none = hmm.hmm_smoother(pi, A, log_lik, return_pairwise="none")
    assert full.xi.shape == (19, 3, 3) and summed.xi is None and none.xi is None and none.xi_sum is None
    assert_allclose(summed.xi_sum, full.xi_sum, rtol=1e-13)
    assert_allclose(none.gamma, summed.gamma, rtol=0, atol=0)
    # T = 1: no transitions
    one = hmm.hmm_smoother(pi, A, log_lik[:1], return_pairwise="full")
    assert one.xi.shape == (0, 3, 3)
    assert_array_equal(one.xi_sum, np.zeros((3, 3)))
    assert_array_equal(one.gamma, one.filtered)


# ---------------------------------------------------------------------------------------------
# Kernel vs NumPy twin
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("K,T,seed", [(1, 7, 0), (2, 50, 1), (3, 200, 2), (7, 300, 3), (16, 150, 4), (33, 60, 5)])
def test_kernel_matches_numpy_twin(K, T, seed):
    rng = np.random.default_rng(seed)
    pi, A, log_lik = random_hmm(rng, K, T, scale=5.0, concentration=0.5)
    a = hmm.hmm_smoother(pi, A, log_lik, return_pairwise="full", backend="numba")
    b = hmm.hmm_smoother(pi, A, log_lik, return_pairwise="full", backend="numpy")
    for field in ("filtered", "predicted", "gamma", "xi"):
        assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-10, atol=1e-12, err_msg=field)
    # xi_sum entries grow like T / K^2: compare relative to that scale
    assert_allclose(a.xi_sum, b.xi_sum, rtol=1e-10, atol=1e-12 * T)
    assert_allclose(a.log_c, b.log_c, rtol=1e-10, atol=1e-10)
    assert a.log_evidence == pytest.approx(b.log_evidence, rel=1e-10)


def _run_kernels(fwd, bwd, pi, A, log_lik):
    T, K = log_lik.shape
    filtered, predicted, log_c = np.empty((T, K)), np.empty((T, K)), np.empty(T)
    assert fwd(pi, A, log_lik, filtered, predicted, log_c, 1e-8) == (-1, True, False)
    gamma, xi = np.empty((T, K)), np.empty((T - 1, K, K))
    xi_sum = bwd(A, filtered, predicted, gamma, xi)
    return filtered, predicted, log_c, gamma, xi, xi_sum


def test_kernel_py_func_equals_compiled():
    rng = np.random.default_rng(9)
    pi, A, log_lik = random_hmm(rng, 6, 30)
    compiled = _run_kernels(kernels.forward, kernels.backward, pi, A, log_lik)
    python = _run_kernels(kernels.forward.py_func, kernels.backward.py_func, pi, A, log_lik)
    for x, y in zip(compiled, python):
        assert_allclose(x, y, rtol=1e-12, atol=1e-14)


def test_kernels_report_zero_evidence_row():
    pi = np.array([1.0, 0.0])
    log_lik = np.array([[0.0, 0.0], [0.0, 0.0], [-np.inf, 0.0]])
    for fwd in (kernels.forward, hmm._forward_numpy):
        out = (np.empty((3, 2)), np.empty((3, 2)), np.empty(3))
        assert fwd(pi, np.eye(2), log_lik, *out, 1e-8) == (2, True, False)


@pytest.mark.parametrize("K", [2, 12, 60])
@pytest.mark.parametrize("t_bad", [0, 1, 299, 300, 1000])
def test_kernels_report_zero_evidence_row_in_any_block(K, t_bad):
    """The forward kernel exponentiates the likelihoods a block of rows ahead of the recursion: a zero
    evidence is still reported at its own row, wherever the blocks fall, for small and large K."""
    rng = np.random.default_rng(K + t_bad)
    pi, A, _ = random_hmm(rng, K, 1)
    log_lik = rng.normal(size=(1200, K))
    log_lik[t_bad] = -np.inf
    for fwd in (kernels.forward, hmm._forward_numpy):
        out = (np.empty((1200, K)), np.empty((1200, K)), np.empty(1200))
        assert fwd(pi, A, log_lik, *out, 1e-8) == (t_bad, True, False)


@pytest.mark.parametrize("K", [1, 3, 9])
def test_kernels_screen_the_values_as_the_full_check_does(K):
    """The forward pass (kernel, its Python source, its twin) reports valid values as valid, -inf emissions
    and zeros included, and every kind of invalid value (a NaN, an infinity, a negative entry, a sum off by
    more than the tolerance) as invalid, so that the caller runs the full check, which names it."""
    rng = np.random.default_rng(K)
    pi, A, log_lik = random_hmm(rng, K, 20)
    log_lik[3, 0] = -np.inf
    cases = [(pi, A, log_lik, True)]
    for where in ("pi", "A", "log_lik"):
        for value in (np.nan, np.inf, -1e-3, 2e-8):
            if where == "log_lik" and value in (-1e-3, 2e-8):
                continue                           # finite log-likelihoods are fine
            p, a, ll = pi.copy(), A.copy(), log_lik.copy()
            arr = {"pi": p, "A": a, "log_lik": ll}[where]
            last = (K - 1,) * arr.ndim
            arr[last] = arr[last] + value if value == 2e-8 else value    # 2e-8: a sum off by twice the tolerance
            cases.append((p, a, ll, False))
    for p, a, ll, valid in cases:
        for fwd in (kernels.forward, kernels.forward.py_func, hmm._forward_numpy):
            out = (np.empty((20, K)), np.empty((20, K)), np.empty(20))
            with np.errstate(all="ignore"):
                assert fwd(p, a, ll, *out, 1e-8)[1] == valid
        if not valid:
            with pytest.raises(ValueError, match=r"^(pi|A|log_lik) must (be|sum)"):
                hmm.hmm_filter(p, a, ll)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gap", [700.0, 707.9, 708.0, 720.0, 745.0])
def test_subnormal_likelihood_ratio_is_not_zero_evidence(backend, gap):
    """Only the state the chain can be in has a likelihood ``exp(-gap)`` times the largest one: between
    -745 and -708 ``np.exp`` gives a subnormal number (the vectorized exponential of the kernel, 0), and
    so is the normalizer, whose reciprocal overflows. The observation is possible, not of probability
    zero: the filter and the smoother put all mass on that state, and ``log_c`` is ``-gap`` (the
    filter carries the logs when a likelihood leaves the normal floats)."""
    pi = np.array([1.0, 0.0, 0.0])
    A = np.eye(3)
    log_lik = np.zeros((5, 3))
    log_lik[2] = [-gap, 0.0, -np.inf]
    filt = hmm.hmm_filter(pi, A, log_lik, backend=backend)
    assert_allclose(filt.filtered, np.tile([1.0, 0.0, 0.0], (5, 1)), rtol=0, atol=1e-15)
    assert filt.log_c[2] == pytest.approx(-gap, rel=1e-12)
    assert_allclose(np.delete(filt.log_c, 2), 0.0, rtol=0, atol=1e-15)
    post = hmm.hmm_smoother(pi, A, log_lik, backend=backend)
    assert_allclose(post.gamma, np.tile([1.0, 0.0, 0.0], (5, 1)), rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Long sequences, scaling, identities
# ---------------------------------------------------------------------------------------------

def test_long_sequence_no_underflow():
    """T = 100000 with log-likelihoods around -1000: the normalized recursions stay in [0, 1]."""
    rng = np.random.default_rng(0)
    K, T = 4, 100_000
    A = np.full((K, K), 0.02) + np.eye(K) * (1 - 0.02 * K)
    pi = np.full(K, 1 / K)
    log_lik = -1000.0 + 20.0 * rng.standard_normal((T, K))
    post = hmm.hmm_smoother(pi, A, log_lik)
    assert np.isfinite(post.log_evidence)
    assert np.all(np.isfinite(post.gamma)) and np.all(post.gamma >= 0)
    assert_allclose(post.filtered.sum(axis=1), 1.0, atol=1e-12)
    assert_allclose(post.gamma.sum(axis=1), 1.0, atol=1e-9)
    assert_allclose(post.xi_sum.sum(), T - 1, rtol=1e-9)
    # each factor p(y_t | y_1..t-1) lies between the smallest and largest p(y_t | x_t = k)
    assert np.all(post.log_c <= log_lik.max(axis=1) + 1e-9)
    assert np.all(post.log_c >= log_lik.min(axis=1) - 1e-9)
    assert post.log_evidence == pytest.approx(np.sum(post.log_c), rel=1e-12)


def test_unnormalized_alpha_underflows_but_scaled_does_not():
    """Curriculum identity: the raw alpha recursion of Eq. 2.41 hits exactly 0 in float64."""
    rng = np.random.default_rng(1)
    K, T = 3, 2000
    pi, A, _ = random_hmm(rng, K, T)
    log_lik = np.log(rng.uniform(0.05, 0.5, size=(T, K)))       # likelihoods < 1 at every step
    alpha = pi * np.exp(log_lik[0])
    for t in range(1, T):
        alpha = (A @ alpha) * np.exp(log_lik[t])                  # Eq. 2.41 without normalizing
    assert np.all(alpha == 0.0)
    post = hmm.hmm_filter(pi, A, log_lik)
    assert np.isfinite(post.log_evidence) and post.log_evidence < np.log(np.finfo(float).tiny)  # evidence itself is below float64's range
    assert_allclose(post.filtered.sum(axis=1), 1.0, atol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shift_invariance_of_log_lik(backend):
    """Adding c_t to row t of log_lik leaves every posterior unchanged and shifts the evidence by sum c_t."""
    rng = np.random.default_rng(3)
    pi, A, log_lik = random_hmm(rng, 4, 60)
    shift = rng.normal(scale=300.0, size=60)
    a = hmm.hmm_smoother(pi, A, log_lik, return_pairwise="full", backend=backend)
    b = hmm.hmm_smoother(pi, A, log_lik + shift[:, None], return_pairwise="full", backend=backend)
    assert_allclose(b.gamma, a.gamma, rtol=1e-10, atol=1e-13)
    assert_allclose(b.xi, a.xi, rtol=1e-10, atol=1e-13)
    assert b.log_evidence == pytest.approx(a.log_evidence + shift.sum(), rel=1e-12)


def test_identity_transition_gives_constant_gamma():
    """A = I: the state never changes, so every gamma_t is the posterior of the one class given all data."""
    rng = np.random.default_rng(4)
    K, T = 3, 25
    pi = rng.dirichlet(np.ones(K))
    log_lik = rng.normal(size=(T, K))
    post = hmm.hmm_smoother(pi, np.eye(K), log_lik)
    expected = np.log(pi) + log_lik.sum(axis=0)
    expected = np.exp(expected - expected.max())
    expected /= expected.sum()
    assert_allclose(post.gamma, np.broadcast_to(expected, (T, K)), rtol=1e-10)


def test_identical_columns_give_independent_mixture_posteriors():
    """Identical columns of A (= pi): states i.i.d., so gamma_t is the mixture posterior of Eq. 2.6."""
    rng = np.random.default_rng(6)
    K, T = 4, 30
    pi = rng.dirichlet(np.ones(K))
    A = np.tile(pi[:, None], (1, K))
    log_lik = 3 * rng.normal(size=(T, K))
    post = hmm.hmm_smoother(pi, A, log_lik)
    z = np.log(pi) + log_lik
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert_allclose(post.gamma, expected, rtol=1e-10)
    assert_allclose(post.filtered, expected, rtol=1e-10)


def test_backward_pass_does_not_read_the_data():
    """Draft remark after Eq. 2.39: the smoother needs only the filter (and the predictions)."""
    rng = np.random.default_rng(8)
    pi, A, log_lik = random_hmm(rng, 3, 7)
    filt = hmm.hmm_filter(pi, A, log_lik)
    T, K = log_lik.shape
    gamma, xi = np.empty((T, K)), np.empty((T - 1, K, K))
    hmm._backward_numpy(A, filt.filtered, filt.predicted, gamma, xi)   # signature has no log_lik
    ref = enumerate_hmm(pi, A, log_lik)
    assert_allclose(gamma, ref["gamma"], rtol=1e-10)
    assert_allclose(xi, ref["xi"], rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# Helpers: conventions, emissions, sampling
# ---------------------------------------------------------------------------------------------

def test_row_column_conversion():
    P = np.array([[0.9, 0.1, 0.0], [0.2, 0.5, 0.3], [0.0, 0.4, 0.6]])   # rows sum to 1
    A = hmm.from_row_stochastic(P)
    assert_array_equal(A, P.T)
    assert A.flags.c_contiguous
    assert_allclose(A.sum(axis=0), 1.0)
    assert_array_equal(hmm.to_row_stochastic(A), P)


def test_categorical_log_lik_matches_scipy():
    B = np.array([[0.7, 0.1], [0.2, 0.3], [0.1, 0.6]])                 # (V, K), columns sum to 1
    y = np.array([0, 2, 1, 2, 0])
    expected = np.array([[stats.multinomial.logpmf(np.eye(3)[v], 1, B[:, k]) for k in range(2)] for v in y])
    assert_allclose(hmm.categorical_log_lik(B, y), expected, rtol=1e-12)
    with np.errstate(divide="ignore"):
        assert hmm.categorical_log_lik(np.array([[1.0, 0.5], [0.0, 0.5]]), np.array([1]))[0, 0] == -np.inf


def test_gaussian_log_lik_matches_scipy():
    rng = np.random.default_rng(2)
    K, D, T = 3, 2, 10
    mu = rng.normal(size=(K, D))
    M = rng.normal(size=(K, D, D))
    Sigma = M @ np.swapaxes(M, 1, 2) + 0.5 * np.eye(D)
    y = rng.normal(size=(T, D))
    expected = np.stack([stats.multivariate_normal(mu[k], Sigma[k]).logpdf(y) for k in range(K)], axis=1)
    assert_allclose(hmm.gaussian_log_lik(mu, Sigma, y), expected, rtol=1e-12)


def test_sample_states_transition_frequencies():
    """Empirical transition frequencies match the columns of A within 5 standard errors (seed fixed)."""
    rng = np.random.default_rng(12)
    pi = np.array([0.2, 0.3, 0.5])
    A = np.array([[0.8, 0.1, 0.3], [0.15, 0.6, 0.2], [0.05, 0.3, 0.5]])
    x = hmm.sample_states(rng, pi, A, 20_000)
    assert x.shape == (20_000,) and x.min() >= 0 and x.max() <= 2
    counts = np.zeros((3, 3))
    np.add.at(counts, (x[1:], x[:-1]), 1.0)                          # counts[i, j]: j -> i
    n_j = counts.sum(axis=0)
    freq = counts / n_j
    se = np.sqrt(A * (1 - A) / n_j)
    assert np.all(np.abs(freq - A) < 5 * se + 1e-12)
    first = np.array([hmm.sample_states(np.random.default_rng(s), pi, A, 1)[0] for s in range(2000)])
    p_hat = np.bincount(first, minlength=3) / 2000
    assert np.all(np.abs(p_hat - pi) < 5 * np.sqrt(pi * (1 - pi) / 2000))


# ---------------------------------------------------------------------------------------------
# Cross-check with hmmlearn (row-stochastic transmat_, row-stochastic emissionprob_)
# ---------------------------------------------------------------------------------------------

def test_hmmlearn_categorical():
    hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")
    rng = np.random.default_rng(21)
    K, V, T = 3, 4, 300
    pi = rng.dirichlet(np.ones(K))
    A = rng.dirichlet(np.ones(K), size=K).T                          # column-stochastic (book)
    B = rng.dirichlet(np.ones(V), size=K).T                          # (V, K) column-stochastic
    y = rng.integers(0, V, size=T)
    model = hmmlearn_hmm.CategoricalHMM(n_components=K, init_params="", params="")
    model.n_features = V
    model.startprob_ = pi
    model.transmat_ = hmm.to_row_stochastic(A)                        # hmmlearn: transmat_[j, i] = p(i | j)
    model.emissionprob_ = B.T                                        # hmmlearn: (K, V), rows sum to 1
    X = y.reshape(-1, 1)
    post = hmm.hmm_smoother(pi, A, hmm.categorical_log_lik(B, y))
    assert_allclose(model.predict_proba(X), post.gamma, rtol=1e-8, atol=1e-12)
    assert model.score(X) == pytest.approx(post.log_evidence, rel=1e-10)


def test_hmmlearn_gaussian_and_xi_sum():
    hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")
    from hmmlearn import _hmmc
    rng = np.random.default_rng(22)
    K, D, T = 4, 2, 500
    pi = rng.dirichlet(np.ones(K))
    A = rng.dirichlet(np.ones(K) * 2, size=K).T
    mu = 2.0 * rng.normal(size=(K, D))
    Sigma = np.stack([np.eye(D) * (0.5 + k * 0.2) + 0.1 for k in range(K)])
    y = rng.normal(size=(T, D)) * 2
    model = hmmlearn_hmm.GaussianHMM(n_components=K, covariance_type="full", init_params="", params="",
                                     implementation="scaling")
    model.n_features = D
    model.startprob_, model.transmat_ = pi, A.T
    model.means_, model.covars_ = mu, Sigma
    log_lik = hmm.gaussian_log_lik(mu, Sigma, y)
    post = hmm.hmm_smoother(pi, A, log_lik)
    logprob, gamma_hl = model.score_samples(y)
    assert_allclose(gamma_hl, post.gamma, rtol=1e-8, atol=1e-12)
    assert logprob == pytest.approx(post.log_evidence, rel=1e-10)
    # expected transition counts: hmmlearn's xi_sum is indexed [from, to], ours [to, from]
    frameprob = np.exp(log_lik)
    _, fwd, scale = _hmmc.forward_scaling(pi, A.T.copy(), frameprob)
    bwd = _hmmc.backward_scaling(pi, A.T.copy(), frameprob, scale)
    xi_sum_hl = _hmmc.compute_scaling_xi_sum(fwd, A.T.copy(), bwd, frameprob)
    assert_allclose(xi_sum_hl.T, post.xi_sum, rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------------------------------------
# Validation: one test per message
# ---------------------------------------------------------------------------------------------

PI = np.array([0.5, 0.5])
A2 = np.array([[0.9, 0.2], [0.1, 0.8]])
LL = np.zeros((3, 2))


@pytest.mark.parametrize("kwargs,match", [
    (dict(pi=[[0.5, 0.5]]), r"pi must be a 1-D array of shape \(K,\)"),
    (dict(pi=[1.2, -0.2]), r"pi must be non-negative; entry 1"),
    (dict(pi=[0.5, 0.6]), r"pi must sum to 1"),
    (dict(pi=[0.5, np.nan]), r"pi must be finite"),
    (dict(A=np.eye(3)), r"A must have shape \(K, K\) = \(2, 2\); got \(3, 3\)"),
    (dict(A=[[1.1, 0.2], [-0.1, 0.8]]), r"A must be non-negative; entry \(1, 0\)"),
    (dict(A=[[0.9, 0.3], [0.1, 0.8]]), r"A must be column-stochastic: column 1 sums to 1.1"),
    (dict(A=[[0.9, 0.1], [0.2, 0.8]]), r"column-stochastic: column 0 sums to 1.1.*from_row_stochastic\(A\)"),
    (dict(log_lik=np.zeros((3, 3))), r"log_lik must have shape \(T, K\) = \(any, 2\); got \(3, 3\)"),
    (dict(log_lik=np.zeros(3)), r"log_lik must have shape \(T, K\)"),
    (dict(log_lik=np.zeros((0, 2))), r"log_lik must have at least one time step \(T >= 1\)"),
    (dict(log_lik=[[0.0, np.nan], [0.0, 0.0]]), r"log_lik must be finite or -inf .* at index \(0, 1\)"),
    (dict(log_lik=[[0.0, 0.0], [np.inf, 0.0]]), r"log_lik must be finite or -inf .*got inf at index \(1, 0\)"),
    (dict(log_lik=[[0.0, 0.0], [-np.inf, -np.inf]]), r"probability zero under the model.*row t = 1"),
    (dict(pi=[1.0, 0.0], A=np.eye(2), log_lik=[[0.0, 0.0], [-np.inf, 0.0]]),
     r"probability zero under the model.*row t = 1 of log_lik \(the book's step 2\)"),
    (dict(backend="jax"), r"backend must be one of \{'auto', 'numba', 'numpy'\}; got 'jax'"),
])
@pytest.mark.parametrize("backend", BACKENDS)
def test_validation_messages(kwargs, match, backend):
    args = dict(pi=PI, A=A2, log_lik=LL, backend=backend)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        hmm.hmm_smoother(args["pi"], args["A"], args["log_lik"], backend=args["backend"])
    with pytest.raises(ValueError, match=match):
        hmm.hmm_filter(args["pi"], args["A"], args["log_lik"], backend=args["backend"])


def test_validation_return_pairwise():
    with pytest.raises(ValueError, match=r"return_pairwise must be one of \{'sum', 'full', 'none'\}; got 'all'"):
        hmm.hmm_smoother(PI, A2, LL, return_pairwise="all")


def test_validation_helpers():
    with pytest.raises(ValueError, match=r"P must be row-stochastic: row 0 sums to 1.1"):
        hmm.from_row_stochastic([[0.9, 0.2], [0.1, 0.9]])
    with pytest.raises(ValueError, match=r"P must be a 2-D array of shape \(K, K\)"):
        hmm.from_row_stochastic([0.5, 0.5])
    with pytest.raises(ValueError, match=r"A must be column-stochastic: column 0"):
        hmm.to_row_stochastic([[0.9, 0.2], [0.2, 0.8]])
    with pytest.raises(ValueError, match=r"log_c must have shape \(T,\) = \(2,\); got \(3,\)"):
        hmm.log_alpha(np.full((2, 2), 0.5), np.zeros(3))
    with pytest.raises(ValueError, match=r"filtered must be a 2-D array of shape \(T, K\)"):
        hmm.log_alpha(np.full(2, 0.5), np.zeros(2))


@pytest.mark.parametrize("B,y,match", [
    ([[0.5, 0.5], [0.5, 0.5]], np.array([[0, 1]]), r"y must be a non-empty 1-D array of symbols, shape \(T,\); got shape \(1, 2\)"),
    ([[0.5, 0.5], [0.5, 0.5]], np.array([], dtype=int), r"y must be a non-empty 1-D array"),
    ([[0.5, 0.5], [0.5, 0.5]], np.array([0.0, 1.0]), r"y must hold integer symbols in 0..1; got dtype float64"),
    ([[0.5, 0.5], [0.5, 0.5]], np.array([0, 2]), r"y must hold integer symbols in 0..1 \(V = 2 rows of B\); y\[1\] = 2"),
    ([[1.5, 0.5], [-0.5, 0.5]], [0], r"B must be non-negative; entry \(1, 0\)"),
    ([[0.5, 0.5], [0.4, 0.5]], [0], r"B must be column-stochastic \(B\[v, k\] = p\(y = v \| x = k\)\): column 0 sums to 0.9"),
    ([0.5, 0.5], [0], r"B must be a 2-D array of shape \(V, K\)"),
])
def test_validation_categorical_log_lik(B, y, match):
    with pytest.raises(ValueError, match=match):
        hmm.categorical_log_lik(B, y)


@pytest.mark.parametrize("mu,Sigma,y,match", [
    (np.zeros(2), np.eye(2)[None], np.zeros((3, 2)), r"mu must be a 2-D array of shape \(K, D\)"),
    (np.zeros((1, 2)), np.eye(2), np.zeros((3, 2)), r"Sigma must have shape \(K, D, D\) = \(1, 2, 2\); got \(2, 2\)"),
    (np.zeros((1, 2)), -np.eye(2)[None], np.zeros((3, 2)), r"Sigma\[0\] is not symmetric positive definite"),
    (np.zeros((1, 2)), np.eye(2)[None], np.zeros((3, 3)), r"y must have shape \(T, D\) = \(any, 2\); got \(3, 3\)"),
    (np.zeros((1, 2)), np.eye(2)[None], np.zeros((0, 2)), r"y must have at least one time step"),
])
def test_validation_gaussian_log_lik(mu, Sigma, y, match):
    with pytest.raises(ValueError, match=match):
        hmm.gaussian_log_lik(mu, Sigma, y)


def test_validation_sample_states():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"T must be at least 1; got 0"):
        hmm.sample_states(rng, PI, A2, 0)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        hmm.sample_states(0, PI, A2, 5)
    with pytest.raises(ValueError, match=r"A must be column-stochastic"):
        hmm.sample_states(rng, PI, [[0.5, 0.6], [0.5, 0.6]], 5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_log_alpha_of_a_filter_result_keeps_states_below_the_floats(backend):
    """A state 800 nats less likely than the other has filter probability e^-800, 0 in float64, and
    log(filtered) + cumsum(log_c) gave -inf for its log alpha (exact -802.996 at the second step). The
    filter's result carries the log filter where probabilities left the floats, and log_alpha(result) reads
    it; against enumeration of the four paths in 50-digit arithmetic."""
    import mpmath as mp

    pi, A = np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.1, 0.9]])
    log_lik = np.array([[0.0, -800.0], [0.0, -800.0]])
    with mp.workdps(50):
        lik = [[mp.exp(mp.mpf(v)) for v in row] for row in log_lik]
        a1 = [mp.mpf(pi[k]) * lik[0][k] for k in range(2)]
        a2 = [sum(mp.mpf(A[k, j]) * a1[j] for j in range(2)) * lik[1][k] for k in range(2)]
        exact = np.array([[float(mp.log(v)) for v in a1], [float(mp.log(v)) for v in a2]])
    for result in (hmm.hmm_filter(pi, A, log_lik, backend=backend), hmm.hmm_smoother(pi, A, log_lik, backend=backend)):
        assert result.log_filtered is not None
        assert_allclose(hmm.log_alpha(result), exact, rtol=1e-13)
    filt = hmm.hmm_filter(pi, A, log_lik, backend=backend)
    assert np.isneginf(hmm.log_alpha(filt.filtered, filt.log_c)[1, 1])      # the array form cannot know
    with pytest.raises(TypeError, match="log_c only beside an array"):
        hmm.log_alpha(filt, filt.log_c)
    with pytest.raises(TypeError, match="needs log_c"):
        hmm.log_alpha(filt.filtered)
