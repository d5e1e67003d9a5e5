"""Resampling schemes and the effective sample size (time update, Eq. 2.57)."""
import numpy as np
import pytest

from pedagogy_lib.smc import kernels
from pedagogy_lib.smc.resampling import (KERNELS, SCHEMES, ess, resample, resample_by_kernel, resample_from_uniforms,
                                         resample_numpy)

BACKENDS = ["numba", "numpy"]


def _weights(rng, I, zeros=0):
    w = rng.gamma(0.7, size=I)
    if zeros:
        w[rng.choice(I, zeros, replace=False)] = 0.0
    return w / w.sum()


def _counts(ancestors, I):
    return np.bincount(ancestors, minlength=I)


# ------------------------------------------------------------------------------------------------
# Expected offspring counts: E[N_i] = I w_i, checked by averaging over a uniform grid of uniforms
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_multinomial_inverse_cdf_gives_each_particle_its_weight(backend):
    # The first line of Eq. 2.57: ancestors drawn from Categ(alpha_{t-1}).
    # A grid of G points u_g = (g + 1/2)/G is a deterministic stand-in for G i.i.d. uniforms: the
    # number of grid points landing on particle i is G w_i up to one point at each end of its bin.
    rng = np.random.default_rng(0)
    I, G = 13, 100_000
    W = _weights(rng, I, zeros=2)
    u = (np.arange(G) + 0.5) / G
    counts = _counts(resample_from_uniforms(W, u, scheme="multinomial", backend=backend), I)
    assert counts.sum() == G
    np.testing.assert_array_less(np.abs(counts - G * W), 1.0 + 1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scheme", ["stratified", "systematic"])
def test_stratified_and_systematic_offspring_are_unbiased(scheme, backend):
    # Average the offspring counts over a grid of G values of the shared uniform U (for stratified,
    # every stratum gets the same U: any coupling with uniform marginals has the same expectation).
    # Each of the I strata contributes G * |stratum ∩ bin_i| * I up to +-1, so the mean count is
    # within I / G of I w_i.
    rng = np.random.default_rng(1)
    I, G = 11, 5_000
    W = _weights(rng, I, zeros=1)
    total = np.zeros(I)
    for g in range(G):
        Ug = (g + 0.5) / G
        u = np.array([Ug]) if scheme == "systematic" else np.full(I, Ug)
        total += _counts(resample_from_uniforms(W, u, scheme=scheme, backend=backend), I)
    np.testing.assert_allclose(total / G, I * W, rtol=0, atol=I / G + 1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_multinomial_with_rng_matches_expectation_statistically(backend):
    # R independent multinomial draws; the mean count of particle i has SE sqrt(I w_i (1 - w_i) / R).
    # Tolerance: 5 standard errors, fixed seed.
    rng = np.random.default_rng(2)
    I, R = 8, 4000
    W = _weights(rng, I)
    total = np.zeros(I)
    for _ in range(R):
        total += _counts(resample(W, rng, scheme="multinomial", backend=backend), I)
    se = np.sqrt(I * W * (1 - W) / R)
    np.testing.assert_array_less(np.abs(total / R - I * W), 5 * se + 1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_systematic_counts_are_floor_or_ceil(backend):
    rng = np.random.default_rng(3)
    for _ in range(200):
        I = int(rng.integers(1, 40))
        W = _weights(rng, I, zeros=int(rng.integers(0, I)) if I > 1 else 0)
        N = _counts(resample(W, rng, scheme="systematic", backend=backend), I)
        assert N.sum() == I
        assert np.all(N >= np.floor(I * W - 1e-9)) and np.all(N <= np.ceil(I * W + 1e-9))


@pytest.mark.parametrize("backend", BACKENDS)
def test_stratified_counts_within_one_of_floor_and_ceil(backend):
    # Stratified resampling can miss a stratum that only partly overlaps a bin at each end, so its
    # counts lie in [floor(I w) - 1, ceil(I w) + 1] (not always in [floor, ceil] as for systematic).
    rng = np.random.default_rng(4)
    for _ in range(200):
        I = int(rng.integers(1, 40))
        W = _weights(rng, I)
        N = _counts(resample(W, rng, scheme="stratified", backend=backend), I)
        assert N.sum() == I
        assert np.all(N >= np.floor(I * W - 1e-9) - 1) and np.all(N <= np.ceil(I * W + 1e-9) + 1)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_weight_particles_are_never_picked(scheme, backend):
    rng = np.random.default_rng(5)
    W = np.array([0.0, 0.5, 0.0, 0.5, 0.0])
    for _ in range(200):
        a = resample(W, rng, scheme=scheme, backend=backend)
        assert set(a.tolist()) <= {1, 3}
    # extreme uniforms: u just below 1 must not pick a trailing zero-weight particle
    a = resample_from_uniforms(W, np.array([1 - 1e-16]), scheme="systematic", M=1, backend=backend)
    assert a[0] == 3


def test_custom_M_and_output_type():
    W = np.array([0.2, 0.8])
    a = resample(W, np.random.default_rng(0), scheme="stratified", M=7)
    assert a.shape == (7,) and a.dtype == np.int64 and np.all(np.diff(a) >= 0)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_kernel_matches_numpy_twin(scheme):
    rng = np.random.default_rng(6)
    for _ in range(100):
        I = int(rng.integers(1, 60))
        M = int(rng.integers(1, 60))
        W = _weights(rng, I, zeros=int(rng.integers(0, I)) if I > 1 else 0)
        u = rng.random(M if scheme != "systematic" else 1)
        np.testing.assert_array_equal(resample_by_kernel(W, u, M, scheme), resample_numpy(W, u, M, scheme))
    by_python = np.empty(M, dtype=np.int64)
    KERNELS[scheme].py_func(W, u, by_python)
    assert by_python.tolist() == resample_by_kernel(W, u, M, scheme).tolist()


# ------------------------------------------------------------------------------------------------
# Effective sample size
# ------------------------------------------------------------------------------------------------
def test_ess_bounds_and_special_cases():
    rng = np.random.default_rng(7)
    I = 50
    log_w = rng.standard_normal((20, I)) * 3
    e = ess(log_w)
    assert e.shape == (20,)
    assert np.all(e >= 1 - 1e-12) and np.all(e <= I + 1e-9)
    W = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    W /= W.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(e, 1 / np.sum(W**2, axis=1), rtol=1e-12)   # the definition, directly
    np.testing.assert_allclose(ess(log_w[0] + 1234.5), e[0], rtol=1e-12)  # invariant to scaling w
    assert ess(np.zeros(I)) == pytest.approx(I, rel=1e-12)                # equal weights (Eq. 2.58)
    one_hot = np.full(I, -np.inf)
    one_hot[3] = 0.0
    assert ess(one_hot) == pytest.approx(1.0)
    assert kernels.ess_from_log_weights(log_w[1]) == pytest.approx(e[1], rel=1e-12)


# ------------------------------------------------------------------------------------------------
# Validation: one test per message
# ------------------------------------------------------------------------------------------------
def test_validation_messages():
    rng = np.random.default_rng(0)
    W = np.array([0.5, 0.5])
    with pytest.raises(ValueError, match=r"W must sum to 1"):
        resample(np.array([0.5, 0.6]), rng)
    with pytest.raises(ValueError, match=r"W must be non-negative"):
        resample(np.array([-0.5, 1.5]), rng)
    with pytest.raises(ValueError, match=r"W must be a 1-D array"):
        resample(np.ones((2, 2)) / 4, rng)
    with pytest.raises(ValueError, match=r"W must be a non-empty 1-D probability vector"):
        resample(np.array([]), rng)
    with pytest.raises(ValueError, match=r"W must be finite"):
        resample(np.array([np.nan, 1.0]), rng)
    with pytest.raises(ValueError, match=r"scheme must be one of"):
        resample(W, rng, scheme="residual")
    with pytest.raises(ValueError, match=r"backend must be one of"):
        resample(W, rng, backend="jax")
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        resample(W, 0)
    with pytest.raises(ValueError, match=r"M must be at least 1"):
        resample(W, rng, M=0)
    with pytest.raises(TypeError, match=r"M must be an integer"):
        resample(W, rng, M=2.0)
    with pytest.raises(ValueError, match=r"u must lie in \[0, 1\)"):
        resample_from_uniforms(W, np.array([0.2, 1.0]), scheme="stratified")
    with pytest.raises(ValueError, match=r"u must have shape \(1,\) for systematic"):
        resample_from_uniforms(W, np.array([0.2, 0.3]), scheme="systematic")
    with pytest.raises(ValueError, match=r"u must have at least one entry"):
        resample_from_uniforms(W, np.array([]), scheme="multinomial")
    with pytest.raises(ValueError, match=r"u must have shape \(M,\) = \(3,\) for multinomial"):
        resample_from_uniforms(W, np.array([0.2, 0.3]), scheme="multinomial", M=3)
    with pytest.raises(ValueError, match=r"u must be a 1-D array"):
        resample_from_uniforms(W, np.array([[0.2]]), scheme="multinomial")
    with pytest.raises(ValueError, match=r"log_w must not contain NaN or \+inf; entry 1"):
        ess(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match=r"log_w must not contain NaN or \+inf"):
        ess(np.array([0.0, np.inf]))
    with pytest.raises(ValueError, match=r"log_w has no finite entry \(row 1\)"):
        ess(np.array([[0.0, 1.0], [-np.inf, -np.inf]]))
    with pytest.raises(ValueError, match=r"log_w has no finite entry: every weight is zero"):
        ess(np.array([-np.inf, -np.inf]))
    with pytest.raises(ValueError, match=r"log_w must have shape \(I,\) or \(T, I\) with I >= 1"):
        ess(np.zeros((3, 0)))
    with pytest.raises(ValueError, match=r"log_w must have shape \(I,\) or \(T, I\) with I >= 1"):
        ess(1.0)
