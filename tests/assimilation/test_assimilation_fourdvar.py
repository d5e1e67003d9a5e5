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


# ------------------------------------------------------------------------------------------------
# The storages of the compiled strong-constraint cost (window_storage): each equals the dense products
# ------------------------------------------------------------------------------------------------

def _structured_problem(kind, seed=11, T=7, k=2):
    """A window whose C selects coordinates with weights (unsorted, one coordinate observed twice), with
    an offset c and diagonal covariances of unequal entries: every feature the selection path must keep."""
    rng = np.random.default_rng(seed)
    if kind == "lorenz63":
        dyn, index = da.lorenz63(n_steps=k), np.array([2, 0, 2])
    else:
        dyn, index = da.lorenz96(12, n_steps=k), np.array([5, 1, 9, 1, 0, 11])
    n, m = dyn.n, index.shape[0]
    C = np.zeros((m, n))
    C[np.arange(m), index] = rng.uniform(0.5, 2.0, m) * rng.choice([-1.0, 1.0], m)
    mu1 = np.array([1.0, 1.0, 20.0]) if n == 3 else 8.0 * np.ones(n)
    mod = da.DAModel(dyn, mu1, np.diag(rng.uniform(0.5, 3.0, n)), np.zeros((n, n)), C, rng.standard_normal(m),
                     np.diag(rng.uniform(0.2, 2.0, m)))
    x, y = da.simulate(mod, T, rng=rng, spin_up=100)
    return mod, x[0] + 0.1 * rng.standard_normal(n), y


def test_window_storage_is_decided_by_structure():
    n, m = 6, 3
    sel, B, R = np.eye(n)[::2], 2.0 * np.eye(n), np.diag([1.0, 2.0, 3.0])
    assert da.window_storage(sel, B, R) == ("selection", "diagonal")
    assert da.window_storage(-3.0 * sel[::-1], B, R) == ("selection", "diagonal")     # scaled, any order
    two = sel.copy()
    two[0, 1] = 0.5                                                                    # a row with two entries
    assert da.window_storage(two, B, R) == ("dense", "diagonal")
    assert da.window_storage(np.vstack([sel[:2], np.zeros((1, n))]), B, R)[0] == "dense"   # a row of zeros
    R_corr = R + 0.1 * (np.ones((m, m)) - np.eye(m))
    assert da.window_storage(sel, B, R_corr) == ("dense", "diagonal")
    B_corr = B + 0.1 * (np.ones((n, n)) - np.eye(n))
    assert da.window_storage(sel, B_corr, R) == ("selection", "dense")


@pytest.mark.parametrize("kind", ["lorenz63", "lorenz96"])
def test_selection_and_diagonal_storages_equal_the_dense_products(kind):
    """To rounding: the selection/diagonal kernels, the dense kernels on the same window, and the NumPy
    twin; and for every mix of the two storages. The gradient still matches finite differences."""
    mod, x1, y = _structured_problem(kind)
    problem = da.strong_problem(mod, y)
    assert (problem.obs_storage, problem.background_storage) == ("selection", "diagonal")
    J, g = da.strong_cost_grad(problem, x1)
    Jn, gn = da.strong_cost_grad(mod, x1, y, backend="numpy")
    for storage in [("dense", "dense"), ("selection", "dense"), ("dense", "diagonal")]:
        Jd, gd = da.strong_cost_grad(da.strong_problem(mod, y, storage=storage), x1)
        assert Jd == pytest.approx(J, rel=1e-13), storage
        np.testing.assert_allclose(gd, g, rtol=1e-12, atol=1e-12 * np.abs(g).max())
    assert Jn == pytest.approx(J, rel=1e-12)
    np.testing.assert_allclose(gn, g, rtol=1e-10, atol=1e-10)
    fd = gradcheck(lambda z: da.strong_cost_grad(problem, z)[0], x1, g, h=1e-5, order=4, rtol=1e-6, atol=1e-8)
    assert _rel_err(g, fd.numeric) < 1e-7, _rel_err(g, fd.numeric)


def test_strong_4dvar_is_the_same_with_either_storage():
    """The optimizer sees the same function: the analyses from both storages agree to the tolerance."""
    mod, x, y = _lorenz_problem("lorenz96", 6, 2, seed=12)
    assert da.strong_problem(mod, y).obs_storage == "selection"
    res = da.strong_4dvar(mod, y)
    dense_C = mod.C + 0.0
    dense_C[0, 1] = 1e-300                       # one tiny extra entry: the dense path, the same cost to rounding
    assert da.strong_problem(mod._replace(C=dense_C), y).obs_storage == "dense"
    res_dense = da.strong_4dvar(mod._replace(C=dense_C), y)
    np.testing.assert_allclose(res.mean, res_dense.mean, atol=1e-7)


def test_storage_errors_name_the_symbol():
    mod, x1, y = _structured_problem("lorenz96")
    n, m = mod.dynamics.n, mod.C.shape[0]
    with pytest.raises(ValueError, match="C"):
        da.window_storage(np.ones(n), np.eye(n), np.eye(m))
    with pytest.raises(ValueError, match="B_inv"):
        da.window_storage(mod.C, np.eye(n + 1), np.eye(m))
    with pytest.raises(ValueError, match="R_inv"):
        da.window_storage(mod.C, np.eye(n), np.eye(m + 1))
    with pytest.raises(ValueError, match="R_inv"):
        da.window_storage(mod.C, np.eye(n), np.full((m, m), np.nan))
    with pytest.raises(TypeError, match="storage"):
        da.strong_problem(mod, y, storage="dense")
    with pytest.raises(ValueError, match="storage"):
        da.strong_problem(mod, y, storage=("sparse", "dense"))
    with pytest.raises(ValueError, match="background_storage"):
        da.strong_problem(mod, y, storage=("dense", "banded"))
    lin, _, ly = _linear(seed=13)
    with pytest.raises(ValueError, match=r"every row of C"):
        da.strong_problem(da.from_lgssm(lin), ly, storage=("selection", "dense"))
    corr = mod._replace(Sigma_y_x=mod.Sigma_y_x + 0.01)
    with pytest.raises(ValueError, match="Sigma_y_x"):
        da.strong_problem(corr, y, storage=("selection", "dense"))
    with pytest.raises(ValueError, match="Sigma1"):
        da.strong_problem(mod._replace(Sigma1=mod.Sigma1 + 0.01), y, storage=("dense", "diagonal"))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_a_validated_window_checks_x1_whatever_its_form(backend):
    """A clean float64 x1 goes straight to the kernels; a NaN or inf in it is still named, other forms
    (a list, integers, a strided view) are converted, and a finite x1 whose trajectory overflows gives
    the same non-finite cost on both sides of the check."""
    mod, x1, y = _structured_problem("lorenz96")
    problem = da.strong_problem(mod, y, backend=backend)
    J, g = da.strong_cost_grad(problem, x1)
    for form in (list(x1), np.repeat(x1, 2)[::2]):
        Jf, gf = da.strong_cost_grad(problem, form)
        assert Jf == J and np.array_equal(gf, g)
    assert da.strong_cost_grad(problem, np.rint(x1).astype(int))[0] == da.strong_cost_grad(problem, np.rint(x1))[0]
    for bad in (np.nan, np.inf, -np.inf):
        z = x1.copy()
        z[3] = bad
        with pytest.raises(ValueError, match="x1"):
            da.strong_cost_grad(problem, z)
    with np.errstate(all="ignore"):
        J_big, _ = da.strong_cost_grad(problem, 1e200 * np.ones(mod.dynamics.n))
        J_big_list, _ = da.strong_cost_grad(problem, list(1e200 * np.ones(mod.dynamics.n)))
    assert not np.isfinite(J_big) and (np.isnan(J_big) == np.isnan(J_big_list))


@pytest.mark.parametrize("scale", [1e-100, 1e-12, 1e12, 1e50, 1e100])
def test_4dvar_answers_do_not_depend_on_the_units_of_the_state(scale):
    """States, means and observations times sqrt(scale), covariances times scale: the L-BFGS 4DVars
    return the exact minimizers (the normal equations, solved densely at scale 1) times sqrt(scale).
    gtol bounded the raw gradient, which has the units of 1 / x: at covariances of 1e18 and above the
    gradient at the background was below 1e-9, so strong_4dvar, weak_4dvar and cycle_4dvar returned the
    background after 0 iterations with no warning (relative error 0.6 at 1e50; 5e-3 at 1e14)."""
    a = np.sqrt(scale)
    A, C = np.array([[0.9, 0.2], [-0.1, 0.8]]), np.array([[1.0, 0.5]])

    def model(s):
        r = np.sqrt(s)
        return da.DAModel(da.linear_dynamics(A), np.array([0.3, -0.2]) * r, np.eye(2) * s, 0.1 * np.eye(2) * s, C,
                          np.zeros(1), 0.5 * np.eye(1) * s)

    y = np.array([[0.4], [-1.2], [0.8], [0.1]])
    m1, ms = model(1.0), model(scale)
    for fn in (da.strong_4dvar, da.weak_4dvar):
        exact = fn(m1, y, method="exact").mean
        np.testing.assert_allclose(fn(ms, y * a).mean, exact * a, rtol=1e-7, atol=1e-9 * a)
    # each window of the cycle is a strong-constraint problem: solve them in turn, exactly, at scale 1
    mu, ref = m1.mu1, []
    for start in (0, 2):
        win = da.strong_4dvar(m1._replace(mu1=mu), y[start:start + 2], method="exact").mean
        ref.append(win)
        mu = A @ win[-1]
    got = da.cycle_4dvar(ms, y * a, window=2).mean
    np.testing.assert_allclose(got, np.concatenate(ref) * a, rtol=1e-7, atol=1e-9 * a)
