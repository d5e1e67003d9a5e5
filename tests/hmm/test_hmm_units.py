"""fit_hmm (Gaussian emissions) in any units (issue 69): equivariant when the floor is scaled with the data,
and a floor that binds only because the data's units are small is named as the cause, not a collapse.

With ``y -> s y``, ``reg_covar -> s^2 reg_covar`` and a start scaled alike, Baum-Welch is equivariant in
exact arithmetic: ``pi`` and ``A`` unchanged, ``mu -> s mu``, ``Sigma -> s^2 Sigma``, and the log likelihood
lower by ``T D log s``. The fits run a fixed number of iterations (``tol = 0``), so the same iterate is
compared (5 iterations: the log likelihood still changes by more than its rounding, so neither run stops
early, which the rounding floor of the stopping rule, relative to |l|, would make scale-dependent); the
tolerance is rounding over those iterations, far below the change between iterates.

Run to convergence, the stopping rule reads the log likelihood in units where each column of the pooled
observations has unit spread, so ``s * y`` (``s = 2^-200, 1, 2^200``, exact) stops at the same iteration.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from pedagogy_lib.em import ConvergenceWarning, CovarianceFloorWarning
from pedagogy_lib.hmm.em import GaussianHMMParams, fit_hmm


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # multi-threaded OpenBLAS stalls on a loaded 2-core machine for the tiny solves of these fits
    with threadpool_limits(limits=1):
        yield


def _problem():
    rng = np.random.default_rng(70)
    A = np.array([[0.9, 0.2], [0.1, 0.8]])                      # column-stochastic: A[i, j] = p(i | j)
    means = np.array([[0.0, 0.0], [3.0, 2.0]])
    z, y = 0, np.empty((150, 2))
    for t in range(150):
        z = rng.choice(2, p=A[:, z]) if t else 0
        y[t] = means[z] + rng.standard_normal(2) * np.array([1.0, 0.6])
    start = GaussianHMMParams(np.array([0.6, 0.4]), np.array([[0.8, 0.3], [0.2, 0.7]]), means + 0.5,
                              np.stack([np.eye(2)] * 2))
    return y, start


def _fit(y, start, s, reg_covar, max_iter=5):
    init = start._replace(mu=start.mu * s, Sigma=start.Sigma * s * s)
    return fit_hmm(y * s, 2, init=init, max_iter=max_iter, tol=0.0, reg_covar=reg_covar * s * s, backend="numpy")


@pytest.mark.parametrize("exponent", [-8, -4, 0, 4, 8])
def test_a_floor_scaled_with_the_data_gives_an_equivariant_fit(exponent):
    y, start = _problem()
    s = 10.0 ** exponent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)           # tol = 0: never "converged"
        ref, got = _fit(y, start, 1.0, 1e-6), _fit(y, start, s, 1e-6)
    T, D = y.shape
    assert len(got.log_lik) == len(ref.log_lik), "the same number of iterations"
    np.testing.assert_allclose(got.params.pi, ref.params.pi, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.params.A, ref.params.A, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.params.mu / s, ref.params.mu, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.params.Sigma / (s * s), ref.params.Sigma, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.log_lik[-1], ref.log_lik[-1] - T * D * np.log(s), rtol=1e-10, atol=1e-8)
    assert np.max(np.abs(np.diff(ref.log_lik[:4]))) > 1e-3       # the tolerance resolves iterates


@pytest.mark.parametrize("exponent", [-8, -5, -3])
def test_an_absolute_floor_in_small_units_is_named_as_the_cause(exponent):
    y, start = _problem()
    s = 10.0 ** exponent
    init = start._replace(mu=start.mu * s, Sigma=start.Sigma * s * s)
    with pytest.warns(CovarianceFloorWarning) as record:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)          # the floor breaks EM's monotonicity
            fit_hmm(y * s, 2, init=init, max_iter=3, tol=0.0, backend="numpy")      # reg_covar = 1e-6
    text = str(record[0].message)
    assert "not small against the data" in text and "is collapsing" not in text, text


def test_a_state_on_repeated_points_is_called_a_collapse_in_any_units():
    rng = np.random.default_rng(71)
    y = np.vstack([rng.standard_normal((60, 2)), np.tile([[5.0, 5.0]], (20, 1))])     # 20 identical points last
    start = GaussianHMMParams(np.array([0.99, 0.01]), np.array([[0.95, 0.05], [0.05, 0.95]]),
                              np.array([[0.0, 0.0], [5.0, 5.0]]), np.stack([np.eye(2), 0.01 * np.eye(2)]))
    for s in (1e-6, 1.0, 1e6):
        init = start._replace(mu=start.mu * s, Sigma=start.Sigma * s * s)
        with pytest.warns(CovarianceFloorWarning, match="is collapsing") as record:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                fit_hmm(y * s, 2, init=init, max_iter=3, tol=0.0, reg_covar=1e-4 * s * s, backend="numpy")
        assert "not small against the data" not in str(record[0].message)


def _sequences():
    """Three sequences of a two-state HMM with overlapping emissions, and a poor start (about 30 iterations)."""
    rng = np.random.default_rng(72)
    A = np.array([[0.9, 0.2], [0.1, 0.8]])
    means = np.array([[0.0, 0.0], [1.5, 1.0]])
    seqs = []
    for T in (60, 80, 100):
        z, y = int(rng.integers(2)), np.empty((T, 2))
        for t in range(T):
            z = rng.choice(2, p=A[:, z]) if t else z
            y[t] = means[z] + rng.standard_normal(2) * np.array([1.0, 0.6])
        seqs.append(y)
    start = GaussianHMMParams(np.array([0.5, 0.5]), np.array([[0.6, 0.4], [0.4, 0.6]]),
                              np.array([[0.5, 0.8], [1.0, 0.2]]), np.stack([np.eye(2)] * 2))
    return seqs, start


def test_fit_hmm_stops_at_the_same_iteration_whatever_the_units_of_y():
    """The rule was relative to |log p(y)|, which moves by T D |e| log 2 (about 66,500 here, against about
    600) when every sequence is scaled by 2^e: at e = +-200 it stopped after 37 iterations for 41 at
    scale 1, 0.012 nats lower once shifted back. It now reads log p in units where each column of all the
    sequences' rows together has unit spread: the same iteration count, parameters scaled, log p shifted
    by T D e log 2."""
    seqs, start = _sequences()
    fits = {}
    for e in (-200, 0, 200):
        s = 2.0 ** e
        init = start._replace(mu=start.mu * s, Sigma=start.Sigma * s * s)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fits[e] = fit_hmm([y * s for y in seqs], 2, init=init, max_iter=500, tol=1e-6,
                              reg_covar=1e-6 * s * s, backend="numpy")
    ref = fits[0]
    assert ref.converged and 10 < ref.n_iter < 500
    n_values = sum(y.size for y in seqs)                                # T D over all sequences
    for e, got in fits.items():
        s = 2.0 ** e
        assert got.converged and got.n_iter == ref.n_iter, (e, got.n_iter, ref.n_iter)
        np.testing.assert_allclose(got.params.pi, ref.params.pi, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got.params.A, ref.params.A, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got.params.mu / s, ref.params.mu, rtol=1e-9,
                                   atol=1e-9 * np.max(np.abs(ref.params.mu)))
        np.testing.assert_allclose(got.params.Sigma / (s * s), ref.params.Sigma, rtol=1e-9,
                                   atol=1e-9 * np.max(np.abs(ref.params.Sigma)))
        np.testing.assert_allclose(got.log_lik[-1] + n_values * e * np.log(2.0), ref.log_lik[-1], rtol=0,
                                   atol=1e-9 * abs(got.log_lik[-1]))
