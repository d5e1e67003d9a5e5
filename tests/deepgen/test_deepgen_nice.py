"""Tests for pedagogy_lib.deepgen.nice (Section 9.2, Eqs. 9.6-9.8).

Oracles: the exact inverse (round trip), finite-difference Jacobians of the whole flow (the
log-determinant of Eq. 9.7 and the block-triangular coupling Jacobian), central finite differences
of the NLL for every parameter, a quadrature of the learned density over a grid, and
samplers.proposals.leapfrog for the leapfrog-as-couplings identity.
"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_moons

from pedagogy_lib.deepgen import nice
from pedagogy_lib.nn.network import numerical_gradient, relative_error
from pedagogy_lib.samplers import proposals, targets


def _small(K=2, L=3, seed=0, act="tanh", sigma=None):
    model = nice.make_nice(K, L, (6,), activation=act)
    params = nice.nice_init(model, np.random.default_rng(seed), out_scale=1.0)
    if sigma is not None:
        params = nice.NICEParams(params.nets, np.asarray(sigma, float))
    return model, params


def _fd_jacobian(f, y, h=1e-6):
    K = y.size
    J = np.zeros((K, K))
    for j in range(K):
        e = np.zeros(K)
        e[j] = h
        J[:, j] = (f(y + e) - f(y - e)) / (2 * h)
    return J


@pytest.mark.parametrize("K", [2, 3, 5])
def test_inverse_undoes_forward(K):
    """c = d^{-1} (Eq. 9.6): the generative function undoes the recognition function."""
    model, params = _small(K=K, L=4, sigma=np.linspace(-0.5, 0.5, K))
    Y = np.random.default_rng(1).normal(size=(50, K)) * 2
    np.testing.assert_allclose(nice.inverse(model, params, nice.forward(model, params, Y)), Y, rtol=0, atol=1e-12)
    X = np.random.default_rng(2).normal(size=(50, K))
    np.testing.assert_allclose(nice.forward(model, params, nice.inverse(model, params, X)), X, rtol=0, atol=1e-12)


@pytest.mark.parametrize("K", [2, 3])
def test_log_det_equals_finite_difference_jacobian(K):
    """The log-determinant of Eq. 9.7 (the scaling layer's sum) against the log |det| of a
    finite-difference Jacobian."""
    model, params = _small(K=K, L=4, sigma=np.linspace(-0.4, 0.7, K))
    ys = np.random.default_rng(3).normal(size=(4, K))
    ld = nice.log_det_jacobian(model, params, ys)
    for y, l in zip(ys, ld):
        J = _fd_jacobian(lambda v: nice.forward(model, params, v[None])[0], y)
        assert l == pytest.approx(np.linalg.slogdet(J)[1], abs=1e-7)


def test_one_coupling_has_a_lower_triangular_unit_jacobian():
    """Errata, Section 9.2: the coupling Jacobian is lower (not upper) triangular, with det 1."""
    one = nice.make_nice(2, partitions=[np.array([True, False])], hidden=(6,), activation="tanh")
    p1 = nice.nice_init(one, np.random.default_rng(4), out_scale=1.0)
    y = np.array([0.3, -0.8])
    J = _fd_jacobian(lambda v: nice.forward(one, p1, v[None])[0], y)
    # coordinates ordered (a, b) = (x_1, x_2): [[1, 0], [dm/dx^a, 1]]
    assert J[0, 1] == pytest.approx(0.0, abs=1e-9)
    assert J[0, 0] == pytest.approx(1.0, abs=1e-9) and J[1, 1] == pytest.approx(1.0, abs=1e-9)
    assert abs(J[1, 0]) > 1e-3                       # the off-diagonal block sits below the diagonal
    assert np.linalg.det(J) == pytest.approx(1.0, abs=1e-8)


def test_log_likelihood_is_change_of_variables_with_fd_jacobian():
    """Eq. 9.7 is the change of variables of Eq. 9.3, with the Jacobian by finite differences."""
    model, params = _small(K=2, L=4, sigma=[0.3, -0.5])
    ys = np.random.default_rng(5).normal(size=(3, 2))
    ll = nice.log_likelihood(model, params, ys)
    for y, l in zip(ys, ll):
        x = nice.forward(model, params, y[None])[0]
        J = _fd_jacobian(lambda v: nice.forward(model, params, v[None])[0], y)
        ref = -0.5 * x @ x - np.log(2 * np.pi) + np.linalg.slogdet(J)[1]
        assert l == pytest.approx(ref, abs=1e-7)


def test_density_integrates_to_one_on_a_grid():
    """The density of Eq. 9.7 integrates to one over a grid."""
    model, params = _small(K=2, L=4, sigma=[0.2, -0.1])
    g = np.linspace(-9, 9, 601)
    G1, G2 = np.meshgrid(g, g)
    p = np.exp(nice.log_likelihood(model, params, np.column_stack([G1.ravel(), G2.ravel()])))
    total = p.sum() * (g[1] - g[0]) ** 2
    assert abs(total - 1) < 1e-3


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_nll_gradient_matches_finite_differences(act):
    model, params = _small(K=3, L=3, act=act, sigma=[0.2, -0.3, 0.1])
    Y = np.random.default_rng(6).normal(size=(15, 3))
    _, grads = nice.nll_and_grads(model, params, Y)
    num = numerical_gradient(lambda q: nice.nll_and_grads(model, q, Y)[0], params)
    assert relative_error(grads, num) < 1e-6


def test_nll_value_is_mean_of_minus_log_likelihood():
    """The loss of Eq. 9.8 (without the data entropy) is the average of minus Eq. 9.7."""
    model, params = _small(K=2, L=2, sigma=[0.1, 0.4])
    Y = np.random.default_rng(7).normal(size=(30, 2))
    nll, _ = nice.nll_and_grads(model, params, Y)
    assert nll == pytest.approx(-np.mean(nice.log_likelihood(model, params, Y)), rel=1e-12)


def test_scaling_layer_is_needed_for_data_of_another_scale():
    """Volume-preserving couplings alone cannot fit rescaled data: with sigma frozen at 0 the NLL
    of 5 x N(0, I) data stays near its value at the identity map, far above the achievable optimum."""
    rng = np.random.default_rng(8)
    Y = 5.0 * rng.normal(size=(2000, 2))
    best = np.log(2 * np.pi) + 1 + 2 * np.log(5.0)           # NLL of the true density: log(2 pi e 25)
    identity_nll = np.log(2 * np.pi) + 0.5 * np.mean(np.sum(Y ** 2, 1))
    model = nice.make_nice(2, 2, (8,), activation="tanh")
    params = nice.nice_init(model, rng)
    fit = nice.fit_nice(model, params, Y, rng=rng, n_steps=300, batch_size=200, lr=0.05)
    with_scale = -np.mean(nice.log_likelihood(model, fit.params, Y))
    assert with_scale < best + 0.1
    frozen = nice.NICEParams(fit.params.nets, np.zeros(2))
    assert -np.mean(nice.log_likelihood(model, frozen, Y)) > best + 5.0
    assert identity_nll > best + 5.0


def test_training_on_moons_beats_the_best_gaussian_on_held_out_data():
    Y, _ = make_moons(2000, noise=0.05, random_state=0)
    mu, sd = Y.mean(0), Y.std(0)
    Y = (Y - mu) / sd
    Yt = (make_moons(1000, noise=0.05, random_state=1)[0] - mu) / sd
    gauss = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * np.cov(Y.T))[1]     # about 2.7 nats
    model = nice.make_nice(2, 4, (16, 16))
    fit = nice.fit_nice(model, nice.nice_init(model, np.random.default_rng(0)), Y,
                        rng=np.random.default_rng(1), n_steps=250, batch_size=128, lr=5e-3)
    test_nll = -np.mean(nice.log_likelihood(model, fit.params, Yt))
    assert test_nll < gauss - 0.3
    assert fit.loss[-20:].mean() < fit.loss[:20].mean()


def test_samples_are_the_inverse_of_standard_normal_draws():
    """Ancestral samples are c (Eq. 9.6) applied to standard normal draws."""
    model, params = _small(K=2, L=2, sigma=[0.5, -0.5])
    S = nice.sample(model, params, np.random.default_rng(9), 100)
    X = np.random.default_rng(9).standard_normal((100, 2))
    np.testing.assert_allclose(nice.forward(model, params, S), X, atol=1e-12)


def test_leapfrog_as_couplings_equals_the_samplers_leapfrog_and_preserves_volume():
    target = targets.banana(b=1.0, s=1.0)
    rng = np.random.default_rng(10)
    x0, p0 = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    xa, pa = nice.leapfrog_couplings(target, x0, p0, 0.1, 7)
    xb, pb = proposals.leapfrog(target, x0, p0, 0.1, 7, backend="numpy")
    np.testing.assert_allclose(xa, xb, atol=1e-12)
    np.testing.assert_allclose(pa, pb, atol=1e-12)
    z = np.concatenate([x0[0], p0[0]])

    def step(v):
        x, p = nice.leapfrog_couplings(target, v[None, :2], v[None, 2:], 0.1, 3)
        return np.concatenate([x[0], p[0]])

    assert np.linalg.det(_fd_jacobian(step, z)) == pytest.approx(1.0, abs=1e-7)


def test_bad_input_raises_value_error_naming_the_argument():
    with pytest.raises(ValueError, match="partitions"):
        nice.make_nice(2, partitions=[np.array([True, True])])
    with pytest.raises(ValueError, match="partitions"):
        nice.make_nice(3, partitions=[np.array([True, False])])
    with pytest.raises(ValueError, match="partitions"):
        nice.make_nice(2, partitions=[])
    with pytest.raises(ValueError, match="partitions"):
        nice.make_nice(2, partitions=[np.array([1, 0])])
    with pytest.raises(ValueError, match="n_couplings"):
        nice.make_nice(2, 1)
    with pytest.raises(ValueError, match="K"):
        nice.make_nice(1)
    model, params = _small()
    with pytest.raises(ValueError, match="Y"):
        nice.forward(model, params, np.ones((4, 3)))
    with pytest.raises(ValueError, match="Y"):
        nice.log_likelihood(model, params, np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="X"):
        nice.inverse(model, params, np.ones(2))
    with pytest.raises(ValueError, match="log_scale"):
        nice.forward(model, nice.NICEParams(params.nets, np.zeros(3)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="batch_size"):
        nice.fit_nice(model, params, np.ones((4, 2)), rng=np.random.default_rng(0), batch_size=5)
    with pytest.raises(ValueError, match="step_size"):
        nice.leapfrog_couplings(targets.banana(), np.zeros((1, 2)), np.zeros((1, 2)), -0.1)
