"""Strong- and weak-constraint 4DVar (pedagogy_lib.assimilation.fourdvar).

Linear-Gaussian oracles: the library's RTS smoother (pedagogy_lib.lgssm.kalman_smoother), the dense
conditioning of the stacked Gaussian (tests/oracle_lgssm.py) and, for a perfect model, the
conditioning of the initial state written out in tests/assimilation/test_assimilation_filters.py. Adjoint
gradients are checked against central finite differences (pedagogy_lib.core.gradcheck, the
fourth-order stencil) for both Lorenz systems over windows of several lengths.
"""
from __future__ import annotations

import numpy as np
import pytest

from oracle_lgssm import oracle_smoother
from pedagogy_lib import assimilation as da
from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.lgssm import LGSSMParams, kalman_smoother, sample_lgssm
from test_assimilation_filters import perfect_model_posterior


def _linear(seed=0, n=3, m=2, T=10):
    rng = np.random.default_rng(seed)
    A = 0.97 * np.linalg.qr(rng.standard_normal((n, n)))[0]
    p = LGSSMParams(rng.standard_normal(n), 0.8 * np.eye(n) + 0.1, A, None, 0.2 * np.ones(n), 0.15 * np.eye(n) + 0.03,
                    rng.standard_normal((m, n)), -0.4 * np.ones(m), 0.4 * np.eye(m) + 0.1)
    x, y = sample_lgssm(p, T, rng=rng)
    return p, x, y


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_weak_constraint_equals_the_rts_smoother(backend):
    """The exact weak-constraint minimizer is the smoother's means (1e-10) and the inverse Hessian's
    diagonal blocks are the smoother's covariances (Eqs. 2.50-2.55)."""
    p, x, y = _linear()
    ks = kalman_smoother(p, y)
    res = da.weak_4dvar(da.from_lgssm(p), y, method="exact", truth=x, backend=backend)
    np.testing.assert_allclose(res.mean, ks.mu_smooth, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.cov, ks.Upsilon_smooth, rtol=0, atol=1e-10)
    mu, U, _ = oracle_smoother(p, y)
    np.testing.assert_allclose(res.mean, mu, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.cov, U, rtol=0, atol=1e-9)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_weak_constraint_lbfgs_reaches_the_exact_minimum(backend):
    p, x, y = _linear(seed=1)
    mod = da.from_lgssm(p)
    exact = da.weak_4dvar(mod, y, method="exact")
    res = da.weak_4dvar(mod, y, backend=backend)
    np.testing.assert_allclose(res.mean, exact.mean, atol=1e-6)
    assert res.cost >= exact.cost - 1e-9 * abs(exact.cost)
    assert res.cost - exact.cost < 1e-8 * abs(exact.cost) + 1e-10


def test_strong_constraint_equals_the_smoother_without_model_noise():
    """With Sigma_x = 0 the strong-constraint minimizer is the smoother's trajectory and its inverse
    Hessian, carried along by the model, the smoother's covariances."""
    p, x, y = _linear(seed=2)
    n, T = 3, y.shape[0]
    perfect = p._replace(Sigma_x=np.zeros((n, n)))
    mod = da.from_lgssm(p)._replace(Sigma_x=np.zeros((n, n)))
    res = da.strong_4dvar(mod, y, method="exact")
    for t in range(T):
        mu, S = perfect_model_posterior(perfect, y, t, T)
        np.testing.assert_allclose(res.mean[t], mu, rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.cov[t], S, rtol=0, atol=1e-10)
    # the library's smoother with a negligible model noise agrees to that noise's order
    ks = kalman_smoother(p._replace(Sigma_x=1e-13 * np.eye(n)), y)
    np.testing.assert_allclose(res.mean, ks.mu_smooth, atol=1e-8)
    lb = da.strong_4dvar(mod, y)
    np.testing.assert_allclose(lb.mean, res.mean, atol=1e-7)


def test_strong_constraint_differs_from_the_smoother_with_model_noise():
    """The equivalence needs Sigma_x = 0: with model noise the smoother's x_1 moves away from it."""
    p, x, y = _linear(seed=3)
    res = da.strong_4dvar(da.from_lgssm(p), y, method="exact")
    ks = kalman_smoother(p, y)
    assert np.abs(res.mean[0] - ks.mu_smooth[0]).max() > 1e-3


def _lorenz_problem(kind, T, k, seed=0):
    if kind == "lorenz63":
        dyn = da.lorenz63(n_steps=k)
        C = np.eye(3)[[0, 2]]
    else:
        dyn = da.lorenz96(40, n_steps=k)
        C = np.eye(40)[::2]
    n, m = dyn.n, C.shape[0]
    mu1 = np.array([1.0, 1.0, 20.0]) if n == 3 else 8.0 * np.ones(n)
    mod = da.DAModel(dyn, mu1, 2.0 * np.eye(n), 0.05 * np.eye(n), C, np.zeros(m), np.eye(m))
    x, y = da.simulate(mod._replace(Sigma_x=np.zeros((n, n))), T, rng=np.random.default_rng(seed), spin_up=200)
    mod = mod._replace(mu1=x[0] + np.random.default_rng(seed + 1).standard_normal(n))
    return mod, x, y


def _rel_err(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("kind", ["lorenz63", "lorenz96"])
@pytest.mark.parametrize("T,k", [(2, 1), (5, 3), (15, 5)])
def test_strong_adjoint_gradient_equals_finite_differences(kind, T, k):
    mod, x, y = _lorenz_problem(kind, T, k)
    x1 = x[0] + 0.1 * np.random.default_rng(5).standard_normal(mod.dynamics.n)
    J, g = da.strong_cost_grad(mod, x1, y)
    fd = gradcheck(lambda z: da.strong_cost_grad(mod, z, y)[0], x1, g, h=1e-5, order=4, rtol=1e-6, atol=1e-8)
    assert _rel_err(g, fd.numeric) < 1e-7, _rel_err(g, fd.numeric)


@pytest.mark.parametrize("kind", ["lorenz63", "lorenz96"])
@pytest.mark.parametrize("T,k", [(2, 1), (6, 4)])
def test_weak_adjoint_gradient_equals_finite_differences(kind, T, k):
    mod, x, y = _lorenz_problem(kind, T, k, seed=3)
    X = x + 0.1 * np.random.default_rng(6).standard_normal(x.shape)
    J, g = da.weak_cost_grad(mod, X, y)
    fd = gradcheck(lambda Z: da.weak_cost_grad(mod, Z, y)[0], X, g, h=1e-5, order=4, rtol=1e-6, atol=1e-8)
    assert _rel_err(g, fd.numeric) < 1e-7, _rel_err(g, fd.numeric)


@pytest.mark.parametrize("kind", ["lorenz63", "lorenz96"])
def test_cost_kernels_equal_their_numpy_twins(kind):
    mod, x, y = _lorenz_problem(kind, 8, 3, seed=4)
    X = x + 0.1
    Ja, ga = da.strong_cost_grad(mod, x[0] + 0.1, y)
    Jb, gb = da.strong_cost_grad(mod, x[0] + 0.1, y, backend="numpy")
    assert Ja == pytest.approx(Jb, rel=1e-12)
    np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-10)
    Ja, ga = da.weak_cost_grad(mod, X, y)
    Jb, gb = da.weak_cost_grad(mod, X, y, backend="numpy")
    assert Ja == pytest.approx(Jb, rel=1e-12)
    np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_a_window_validated_once_gives_the_same_cost_and_gradient(backend):
    """strong_problem validates and inverts once; strong_cost_grad on it is the same function of x1,
    and its finite differences still match the adjoint."""
    mod, x, y = _lorenz_problem("lorenz96", 6, 2, seed=7)
    problem = da.strong_problem(mod, y, backend=backend)
    np.testing.assert_allclose(problem.B_inv @ mod.Sigma1, np.eye(mod.dynamics.n), atol=1e-12)
    for shift in (0.0, 0.3):
        x1 = x[0] + shift
        J, g = da.strong_cost_grad(mod, x1, y, backend=backend)
        Jp, gp = da.strong_cost_grad(problem, x1)
        assert Jp == J and np.array_equal(gp, g)
    fd = gradcheck(lambda z: da.strong_cost_grad(problem, z)[0], x[0], da.strong_cost_grad(problem, x[0])[1],
                   h=1e-5, order=4, rtol=1e-6, atol=1e-8)
    assert fd.ok, fd
    with pytest.raises(ValueError, match="y comes from the StrongProblem"):
        da.strong_cost_grad(problem, x[0], y)
    with pytest.raises(ValueError, match="y .* is required"):
        da.strong_cost_grad(mod, x[0])
    with pytest.raises(ValueError, match="x1"):
        da.strong_cost_grad(problem, x[0][:-1])


def test_gauss_newton_hessian_is_exact_for_a_linear_model():
    p, x, y = _linear(seed=6, T=5)
    mod = da.from_lgssm(p)
    x1 = np.ones(3)
    H = da.strong_hessian(mod, x1, y)
    fd = gradcheck(lambda z: da.strong_cost_grad(mod, z, y)[1], x1, H, h=1e-3, rtol=1e-7, atol=1e-9)
    assert fd.ok, fd.ratio


def test_lorenz63_4dvar_fits_the_window():
    """On a short Lorenz-63 window L-BFGS lowers the cost below the background's and the analysis beats
    the background trajectory against the truth; the weak constraint fits at least as well (lower cost)."""
    mod, x, y = _lorenz_problem("lorenz63", 12, 5, seed=7)
    strong = da.strong_4dvar(mod, y, truth=x)
    J0, _ = da.strong_cost_grad(mod, mod.mu1, y)
    assert strong.cost < J0
    assert strong.rmse.mean() < da.rmse(strong.forecast_mean, x).mean()
    weak = da.weak_4dvar(mod, y, truth=x, X_init=strong.mean)
    assert weak.rmse.mean() < 1.0
    assert weak.cov is not None and np.all(weak.spread > 0)


def test_cycled_4dvar_tracks_lorenz63():
    mod, x, y = _lorenz_problem("lorenz63", 40, 5, seed=8)
    res = da.cycle_4dvar(mod, y, window=8, truth=x)
    assert res.mean.shape == x.shape
    free = da.integrate(mod.dynamics, mod.mu1, 39)
    assert res.rmse.mean() < 0.5 * da.rmse(free, x).mean()


def test_bad_inputs_name_the_argument():
    p, x, y = _linear(seed=9)
    mod = da.from_lgssm(p)
    with pytest.raises(ValueError, match="window"):
        da.cycle_4dvar(mod, y, window=y.shape[0] + 1)
    with pytest.raises(ValueError, match="window"):
        da.cycle_4dvar(mod, y, window=0)
    with pytest.raises(ValueError, match="Sigma_x"):
        da.weak_4dvar(mod._replace(Sigma_x=np.zeros((3, 3))), y)
    with pytest.raises(ValueError, match="Sigma_y_x"):
        da.strong_4dvar(mod._replace(Sigma_y_x=-np.eye(2)), y)
    with pytest.raises(ValueError, match="linear"):
        lmod, _, ly = _lorenz_problem("lorenz63", 3, 1)
        da.strong_4dvar(lmod, ly, method="exact")
    with pytest.raises(ValueError, match="x1"):
        da.strong_cost_grad(mod, np.zeros(2), y)
    with pytest.raises(ValueError, match="B"):
        da.from_lgssm(p._replace(B=np.ones((3, 1))))
