"""A constant added to an unnormalized log density changes nothing a Metropolis-Hastings sampler does,
however large it is: the acceptance ratio takes the difference of the two log densities before adding
the proposal terms, so a constant of 1e16 (beside proposal terms of order one) cancels instead of
absorbing them. The log densities below are exact in float64 after the shift (integers beside 2**52,
multiples of 1/8 beside 2**49), so the shifted and unshifted runs must agree to the last bit."""
import numpy as np
import pytest

from pedagogy_lib import samplers as S

OFFSETS = [1e6, 2.0**52, 1e16, -1e16, 1e300]


@pytest.mark.parametrize("c", OFFSETS)
def test_accept_ratio_keeps_the_proposal_terms_beside_a_large_log_density(c):
    # log p equal at both points, so the ratio is the proposal ratio alone: 0 - (-1) = 1.
    assert S.mh_log_accept_ratio(c, c, 0.0, -1.0) == 1.0
    assert S.mh_log_accept_ratio(c, c, 1e-12, 0.0) == 1e-12


@pytest.mark.parametrize("c", OFFSETS)
def test_mh_transition_matrix_is_unchanged_by_a_constant_in_log_p(c):
    g = np.array([[0.5, 0.9], [0.5, 0.1]])
    log_p = np.zeros(2)
    np.testing.assert_array_equal(S.mh_transition_matrix(log_p + c, g), S.mh_transition_matrix(log_p, g))
    # Both states equally likely: each move is accepted with the proposal ratio, T = [[.5, .5], [.5, .5]].
    np.testing.assert_allclose(S.mh_transition_matrix(log_p + c, g), 0.5, rtol=1e-15)


@pytest.mark.parametrize("c", [2.0**52, -(2.0**52)])
def test_mala_transition_matrix_is_unchanged_by_a_constant_in_log_p(c):
    x = np.linspace(-3.0, 3.0, 7)
    log_p = -np.round(0.5 * x * x)                      # integers: exact beside 2**52
    T0 = S.mala_transition_matrix(x, log_p, -x, 0.3)
    np.testing.assert_allclose(S.mala_transition_matrix(x, log_p + c, -x, 0.3), T0, rtol=1e-13, atol=0)


@pytest.mark.parametrize("method", ["mala", "hmc"])
def test_a_chain_is_unchanged_by_a_constant_in_log_p(method):
    def make(c):
        return S.python_target(lambda x: (c + np.round(-4.0 * np.sum(x * x, axis=1)) / 8.0, -x), 2)
    x0 = np.random.default_rng(1).standard_normal((4, 2))
    runs = [S.sample(t, S.init_chains(t, x0), 200, np.random.default_rng(7), method=method, step_size=0.4,
                     n_leapfrog=3) for t in (make(0.0), make(2.0**49))]
    np.testing.assert_array_equal(runs[1].trace, runs[0].trace)
    np.testing.assert_array_equal(runs[1].accept_rate, runs[0].accept_rate)
