"""Exact harmonium computations: Gray-code log Z against brute force, kernel against twin, the MRE
gradient (Eq. 10.19) against finite differences, exact chains of the CD analysis (Eqs. 10.21-10.22),
block-Gibbs stationarity, and AIS against the exact log Z."""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.harmonium import (EFHParams, chain_distributions, empirical_distribution, exact_gradient,
                                    expected_cd_gradient, gibbs_sample, kl_divergence, log_marginal_table,
                                    log_partition, mre, states, visible_log_probs, visible_transition_matrix)
from pedagogy_lib.harmonium.ais import ais_log_partition


def _params(K, M, seed, scale=1.0, visible="bernoulli", hidden="bernoulli"):
    rng = np.random.default_rng(seed)
    return EFHParams(scale * rng.standard_normal((K, M)), rng.standard_normal(K), 0.5 * rng.standard_normal(M),
                     hidden, visible)


def _brute_log_Z(p):
    """log Z by summing exp(-E) over every joint binary state (both layers), with Eq. 10.18 written out."""
    Sx, Sy = states(p.K), states(p.M)
    negE = (Sy @ p.b_y)[None, :] + (Sx @ p.b_x)[:, None] + Sx @ p.W @ Sy.T
    m = negE.max()
    return float(m + np.log(np.exp(negE - m).sum()))


@pytest.mark.parametrize("K, M, scale", [(3, 5, 1.0), (6, 4, 2.0), (7, 7, 0.3), (11, 3, 1.5)])
def test_gray_code_log_Z_equals_brute_force(K, M, scale):
    """log Z of the Boltzmann distribution of Eq. 10.14, by the Gray-code walk and by brute force."""
    p = _params(K, M, K + M, scale)
    ref = _brute_log_Z(p)
    for layer in ("hidden", "visible"):
        for backend in ("numba", "numpy"):
            assert abs(log_partition(p, layer=layer, backend=backend) - ref) < 1e-10 * max(1.0, abs(ref))


def test_gray_code_table_kernel_equals_twin_across_refreshes_and_both_paths():
    # 2**12 states cross three refreshes; large weights force the direct (non-chunked) path
    for scale in (0.2, 40.0):
        p = _params(12, 9, 1, scale)
        a = log_marginal_table(p, "hidden", backend="numba")
        b = log_marginal_table(p, "hidden", backend="numpy")
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-9)
    for vis in ("gaussian", "poisson"):
        p = _params(10, 4, 2, 0.4, visible=vis)
        np.testing.assert_allclose(log_marginal_table(p, "hidden"), log_marginal_table(p, "hidden", backend="numpy"),
                                   rtol=1e-11, atol=1e-11)


def test_streamed_log_Z_equals_the_log_sum_exp_of_the_table_across_refreshes_and_all_paths():
    # 2**13 states cross seven refreshes; small weights take the per-block ratio path, large weights the
    # per-state logarithm (chunked or one softplus per unit), non-Bernoulli partners the direct path
    from pedagogy_lib.core.logmath import logsumexp
    cases = [_params(13, 9, 1, scale) for scale in (0.2, 3.0, 8.0, 40.0)]
    cases += [_params(11, 4, 2, 0.4, visible=vis) for vis in ("gaussian", "poisson")]
    for p in cases:
        ref = float(logsumexp(log_marginal_table(p, "hidden", backend="numpy")))
        for backend in ("numba", "numpy"):
            assert abs(log_partition(p, layer="hidden", backend=backend) - ref) <= 1e-12 * max(1.0, abs(ref))


@pytest.mark.parametrize("scale", [1e-150, 1e-8, 1.0, 30.0, 1e8, 1e150])
def test_log_Z_is_right_at_every_scale(scale):
    """Weights and biases scaled together from 1e-150 to 1e150: kernel and twin against brute force
    (the kernel's scaled product for small natural parameters, one softplus per unit for large ones)."""
    p = _params(7, 5, 3)
    p = p._replace(W=scale * p.W, b_x=scale * p.b_x, b_y=scale * p.b_y)
    ref = _brute_log_Z(p)
    for layer in ("hidden", "visible"):
        for backend in ("numba", "numpy"):
            assert abs(log_partition(p, layer=layer, backend=backend) - ref) <= 1e-12 * max(1.0, abs(ref))


@pytest.mark.parametrize("coupling", [0.1, 0.3, 1.0, 3.0])
def test_scaled_sum_equals_the_twin_across_couplings(coupling):
    """The benchmark's sweep in small (2**12 states, 64 partner units, biases 2 N(0, 1)): the scaled sum
    with one to eight chunks of factors per state against the twin's log-sum-exp."""
    rng = np.random.default_rng(4)
    p = EFHParams(coupling * rng.standard_normal((12, 64)), 2 * rng.standard_normal(12), 2 * rng.standard_normal(64))
    ref = log_partition(p, layer="hidden", backend="numpy")
    assert abs(log_partition(p, layer="hidden") - ref) <= 1e-12 * abs(ref)


def test_scaled_sum_survives_terms_beyond_the_float_range_and_large_biases():
    """Terms of one block spanning far more than float64's range (enumerated biases of +-290, strong weights:
    the sum's 2**-d table reaches zero), and biases too large for exp(b) (the table's path): both exact."""
    rng = np.random.default_rng(6)
    W = 20.0 * rng.standard_normal((11, 3))
    for big in (290.0, 2000.0):
        p = EFHParams(W, np.clip(100.0 * rng.standard_normal(11), -big, big), 0.5 * rng.standard_normal(3))
        p = p._replace(b_x=p.b_x * (big / np.abs(p.b_x).max()))
        ref = _brute_log_Z(p)
        for backend in ("numba", "numpy"):
            assert abs(log_partition(p, layer="hidden", backend=backend) - ref) <= 1e-12 * abs(ref)


@pytest.mark.parametrize("visible, scale", [("poisson", 1e150), ("gaussian", 1e300), ("bernoulli", 1e307)])
def test_log_Z_beyond_float_range_is_refused_by_name(visible, scale):
    """Parameters whose log Z could overflow float64 are refused, naming params and the supported range,
    by kernel and twin alike (never an infinity or a NaN)."""
    p = _params(6, 40, 0, visible=visible)
    p = p._replace(W=scale * p.W, b_x=scale * p.b_x, b_y=scale * p.b_y)
    for backend in ("numba", "numpy"):
        with pytest.raises(ValueError, match=r"params.*1e\+308"):
            log_partition(p, layer="hidden", backend=backend)
        with pytest.raises(ValueError, match=r"params.*1e\+308"):
            log_marginal_table(p, "hidden", backend=backend)


def test_enumerating_a_non_bernoulli_layer_is_refused():
    p = _params(3, 4, 0, visible="gaussian")
    with pytest.raises(ValueError, match="layer='visible'"):
        log_marginal_table(p, "visible")


def _data(M, N, seed):
    rng = np.random.default_rng(seed)
    return (rng.random((N, M)) < rng.random(M)).astype(float)


@pytest.mark.parametrize("visible", ["bernoulli", "poisson"])
def test_exact_gradient_eq_10_19_equals_finite_differences_of_the_mre(visible):
    """The gradient of the relative entropy (Eq. 10.15) as data-phase minus model-phase energy gradients
    (Eq. 10.16), in the harmonium's moments (Eq. 10.19), against finite differences."""
    p = _params(4, 5, 7, 0.8, visible=visible)
    Y = _data(5, 40, 3)
    if visible == "poisson":
        Y = Y * np.random.default_rng(1).integers(1, 3, Y.shape)
    g = exact_gradient(p, Y)
    cW = gradcheck(lambda W: mre(p._replace(W=W), Y), p.W, g.W, h=1e-5, rtol=1e-6, atol=1e-9)
    cx = gradcheck(lambda b: mre(p._replace(b_x=b), Y), p.b_x, g.b_x, h=1e-5, rtol=1e-6, atol=1e-9)
    cy = gradcheck(lambda b: mre(p._replace(b_y=b), Y), p.b_y, g.b_y, h=1e-5, rtol=1e-6, atol=1e-9)
    assert cW.ok and cx.ok and cy.ok, (cW.ratio, cx.ratio, cy.ratio)


def test_mre_of_the_empirical_distribution_is_the_kl_to_the_model_table():
    p = _params(3, 5, 2)
    Y = _data(5, 30, 4)
    p0 = empirical_distribution(Y)
    assert abs(mre(p, Y) - kl_divergence(p0, np.exp(visible_log_probs(p)))) < 1e-12


def test_block_gibbs_kernel_leaves_the_model_marginal_stationary():
    p = _params(4, 6, 11, 1.5)
    T = visible_transition_matrix(p)
    p_inf = np.exp(visible_log_probs(p))
    np.testing.assert_allclose(T.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(T @ p_inf, p_inf, atol=1e-14)


def test_sampled_block_gibbs_chains_started_at_the_model_marginal_stay_there():
    """The kernel itself (not only its transition matrix): 20000 chains whose starts are exact draws
    from p(y) keep p(y) after 3 sweeps, state by state within 5 standard errors, for both backends."""
    p = _params(3, 4, 14, 1.5)
    p_inf = np.exp(visible_log_probs(p))
    C = 20000
    start = states(p.M)[np.random.default_rng(0).choice(2 ** p.M, size=C, p=p_inf)]
    se = np.sqrt(p_inf * (1 - p_inf) / C)
    for backend in ("numba", "numpy"):
        res = gibbs_sample(p, start, 3, np.random.default_rng(1), backend=backend)
        assert np.all(np.abs(empirical_distribution(res.y) - p_inf) <= 5 * se + 1e-12)


def test_kl_to_the_model_never_increases_along_the_chain():
    """KL(p^n || p^inf) <= KL(p^0 || p^inf): the contrastive divergence of Eq. 10.21 is never negative."""
    p = _params(4, 6, 12, 3.0)                   # large weights: slow mixing
    p0 = empirical_distribution(_data(6, 50, 5))
    p_inf = np.exp(visible_log_probs(p))
    kl = [kl_divergence(q, p_inf) for q in chain_distributions(p, p0, 30)]
    assert np.all(np.diff(kl) <= 1e-12), np.diff(kl).max()
    assert kl[-1] < 0.05 * kl[0]


def test_expected_cd_gradient_converges_to_the_exact_gradient():
    """The expected CD-k update (Eq. 10.20) tends to the exact gradient as k grows: the term that Eq. 10.22
    drops vanishes."""
    p = _params(4, 6, 13, 3.0)
    Y = _data(6, 50, 6)
    p0 = empirical_distribution(Y)
    exact = exact_gradient(p, Y)
    flat = lambda g: np.concatenate([g.W.ravel(), g.b_x, g.b_y])  # noqa: E731
    e = flat(exact)
    errs = [np.linalg.norm(flat(expected_cd_gradient(p, p0, k)) - e) / np.linalg.norm(e) for k in (1, 2, 5, 20, 200)]
    assert errs[-1] < 1e-6
    assert errs[0] > errs[2] > errs[3]


def test_gibbs_chains_follow_the_exact_chain_distribution():
    """20000 chains for 4 steps from one start: state frequencies within 5 standard errors of p^4."""
    p = _params(3, 4, 21, 1.2)
    C, n = 20000, 4
    start = np.zeros((C, p.M))
    p0 = np.zeros(2 ** p.M)
    p0[0] = 1.0
    exact = chain_distributions(p, p0, n)[n]
    for backend in ("numba", "numpy"):
        res = gibbs_sample(p, start, n, np.random.default_rng(3), backend=backend)
        freq = empirical_distribution(res.y)
        se = np.sqrt(exact * (1 - exact) / C)
        assert np.all(np.abs(freq - exact) <= 5 * se + 1e-12)


def test_gibbs_kernel_equals_twin_for_every_visible_family():
    for vis in ("bernoulli", "gaussian", "poisson"):
        p = _params(3, 4, 8, 0.5, visible=vis)
        y0 = np.zeros((6, 4))
        a = gibbs_sample(p, y0, 5, np.random.default_rng(0), record=True)
        b = gibbs_sample(p, y0, 5, np.random.default_rng(0), record=True, backend="numpy")
        np.testing.assert_allclose(a.trace, b.trace, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.x, b.x)


def test_gaussian_bernoulli_chain_mean_matches_the_mixture_mean():
    p = _params(3, 2, 9, 1.0, visible="gaussian")
    px = np.exp(log_marginal_table(p, "hidden") - log_partition(p))
    mean = px @ (p.b_y + states(3) @ p.W)
    res = gibbs_sample(p, np.zeros((4000, 2)), 40, np.random.default_rng(2))
    se = res.y.std(axis=0, ddof=1) / np.sqrt(4000)
    assert np.all(np.abs(res.y.mean(axis=0) - mean) < 5 * se)


def test_ais_estimate_within_its_standard_error():
    p = _params(14, 20, 4, 0.5)
    exact = log_partition(p)
    res = ais_log_partition(p, np.random.default_rng(5), n_runs=300, n_betas=500)
    # the log of the mean weight is biased low by about half its variance (SE^2 / 2): allow 4 SE plus that
    assert abs(res.log_Z - exact) < 4 * res.std_err + 0.5 * res.std_err ** 2
    assert res.std_err < 0.05


def test_bad_inputs_of_exact_routines_raise():
    p = _params(3, 4, 0)
    with pytest.raises(ValueError, match="k must be at least 1"):
        expected_cd_gradient(p, np.full(16, 1 / 16), 0)
    with pytest.raises(ValueError, match="p0"):
        chain_distributions(p, np.full(16, 0.1), 2)
    with pytest.raises(ValueError, match="Y holds Bernoulli states"):
        exact_gradient(p, np.full((2, 4), 2.0))
    with pytest.raises(ValueError, match="Y must have shape"):
        exact_gradient(p, np.zeros((2, 5)))
