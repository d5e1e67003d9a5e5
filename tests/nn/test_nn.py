"""Tests for pedagogy_lib.nn (book Section 5.1.3: Eq. 5.15 networks, backpropagation Eqs. 5.16-5.17).

Oracles: central finite differences (independent of every backward pass), a one-sample-at-a-time
column-form implementation of Eqs. 5.15-5.17 written here from the book, scikit-learn and
scipy.stats for loss values, closed-form optimizer updates written out by hand, and the exact
minimizer of a quadratic.

Finite-difference tolerance. ``numerical_gradient`` uses central differences with step 1e-5 in
float64: the truncation error is about eps**2 * |f'''| ~ 1e-10 and the rounding error about
1e-16 * |f| / eps ~ 1e-11, relative to gradients of order one. We require a relative error
(``nn.relative_error``, a norm ratio over all parameters) below ``FD_RTOL = 1e-6``: four orders of
magnitude of headroom, while a wrong term (a missing transpose, a dropped factor) gives errors of
order 1e-1 to 1. Inputs to ReLU are kept away from its kink, where a difference quotient is not
a derivative.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from pedagogy_lib.nn import kernels, losses, optim
from pedagogy_lib.nn import network as nn

FD_RTOL = 1e-6
ACTS = list(nn.ACTIVATIONS)


def _away_from_zero(rng, shape, low=0.1, high=2.0):
    """Random values with |v| in [low, high]: no ReLU kinks within a finite-difference step."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


# ---------------------------------------------------------------------------------------------
# Each layer, activation and loss against finite differences
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n_in,n_out,N", [(4, 3, 5), (2, 7, 1), (3, 3, 4)])
def test_dense_backward_matches_finite_differences(n_in, n_out, N):
    rng = np.random.default_rng(n_in * 10 + n_out)
    layer = nn.Dense(n_in, n_out)
    params = nn.DenseParams(rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out))
    Z_prev = rng.standard_normal((N, n_in))
    G = rng.standard_normal((N, n_out))                 # upstream gradient: f = sum(G * A)

    A, cache = layer.forward(params, Z_prev)
    assert_allclose(A, np.stack([params.D @ z + params.d for z in Z_prev]), rtol=1e-13, atol=1e-13)
    grad_Z_prev, grads = layer.backward(params, cache, G)
    num_p = nn.numerical_gradient(lambda p: np.sum(G * layer.forward(p, Z_prev)[0]), params)
    num_z = nn.numerical_gradient(lambda z: np.sum(G * layer.forward(params, z)[0]), Z_prev)
    assert isinstance(grads, nn.DenseParams)
    assert nn.relative_error(grads, num_p) < FD_RTOL
    assert nn.relative_error(grad_Z_prev, num_z) < FD_RTOL


@pytest.mark.parametrize("name", ACTS)
def test_activation_backward_matches_finite_differences(name):
    rng = np.random.default_rng(ACTS.index(name))
    layer = nn.Activation(name)
    A = _away_from_zero(rng, (6, 4), high=4.0)
    G = rng.standard_normal((6, 4))
    Z, cache = layer.forward((), A)
    grad_A, grads = layer.backward((), cache, G)
    assert grads == ()
    num = nn.numerical_gradient(lambda a: np.sum(G * layer.forward((), a)[0]), A)
    assert nn.relative_error(grad_A, num) < FD_RTOL


@pytest.mark.parametrize("name,ref", [
    ("identity", lambda a: a),
    ("relu", lambda a: np.where(a > 0, a, 0.0)),
    ("tanh", lambda a: (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a))),
    ("logistic", lambda a: 1.0 / (1.0 + np.exp(-a))),
    ("softplus", lambda a: np.log1p(np.exp(a))),
    ("silu", lambda a: a / (1.0 + np.exp(-a))),
])
def test_activation_values_match_textbook_formulas(name, ref):
    A = np.linspace(-5.0, 5.0, 21).reshape(3, 7)
    Z, _ = nn.Activation(name).forward((), A)
    assert_allclose(Z, ref(A), rtol=1e-12, atol=1e-14)


def _loss_cases(rng, N=5, K=3):
    eta = rng.standard_normal((N, K)) * 2.0
    X_real = rng.standard_normal((N, K))
    X_bin = (rng.uniform(size=(N, K)) < 0.5).astype(float)
    X_soft = rng.uniform(size=(N, K))
    X_cat = losses.one_hot(rng.integers(0, K, N), K)
    X_prob = rng.dirichlet(np.ones(K), size=N)
    return eta, X_real, X_bin, X_soft, X_cat, X_prob


@pytest.mark.parametrize("loss,target", [
    (losses.squared_error, 1), (losses.bernoulli_cross_entropy, 2), (losses.bernoulli_cross_entropy, 3),
    (losses.categorical_cross_entropy, 4), (losses.categorical_cross_entropy, 5),
])
def test_loss_gradient_matches_finite_differences(loss, target):
    rng = np.random.default_rng(target)
    cases = _loss_cases(rng)
    eta, X = cases[0], cases[target]
    out = loss(eta, X)
    num = nn.numerical_gradient(lambda e: loss(e, X).value, eta)
    assert nn.relative_error(out.grad, num) < FD_RTOL


def test_gaussian_nll_gradients_match_finite_differences():
    rng = np.random.default_rng(7)
    mu, X, log_var = rng.standard_normal((3, 6, 2))
    out = losses.gaussian_nll(mu, log_var, X)
    assert nn.relative_error(out.grad_mu, nn.numerical_gradient(lambda m: losses.gaussian_nll(m, log_var, X).value, mu)) < FD_RTOL
    assert nn.relative_error(out.grad_log_var,
                             nn.numerical_gradient(lambda s: losses.gaussian_nll(mu, s, X).value, log_var)) < FD_RTOL


def test_canonical_link_gradient_is_mean_minus_target():
    """d S / d eta = mu - x for all three canonical links (identity, logistic, softmax), per row / N: the
    surprisal of the exponential family of Eq. 5.11 has gradient dA/d eta - x."""
    rng = np.random.default_rng(3)
    eta, X_real, X_bin, _, X_cat, _ = _loss_cases(rng, N=4)
    assert_allclose(losses.squared_error(eta, X_real).grad * 4, eta - X_real, rtol=1e-14)
    assert_allclose(losses.bernoulli_cross_entropy(eta, X_bin).grad * 4, 1 / (1 + np.exp(-eta)) - X_bin, rtol=1e-12)
    soft = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    assert_allclose(losses.categorical_cross_entropy(eta, X_cat).grad * 4, soft - X_cat, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Loss values against peers
# ---------------------------------------------------------------------------------------------

def test_loss_values_match_sklearn_and_scipy():
    """Each loss is the sample average of the surprisal, the estimate of the cross entropy of Eq. 5.1."""
    from sklearn.metrics import log_loss, mean_squared_error
    rng = np.random.default_rng(11)
    N, K = 50, 3
    eta, X_real, _, _, X_cat, _ = _loss_cases(rng, N, K)
    # sklearn averages (x - mu)^2 over samples and outputs, without the 1/2
    assert losses.squared_error(eta, X_real).value == pytest.approx(0.5 * K * mean_squared_error(X_real, eta), rel=1e-12)
    # Bernoulli, one output: sklearn's log_loss takes probabilities
    x = (rng.uniform(size=N) < 0.4).astype(float)
    e = rng.standard_normal(N) * 3
    assert losses.bernoulli_cross_entropy(e[:, None], x[:, None]).value == pytest.approx(
        log_loss(x, 1 / (1 + np.exp(-e)), labels=[0, 1]), rel=1e-10)
    # Categorical
    p = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    assert losses.categorical_cross_entropy(eta, X_cat).value == pytest.approx(
        log_loss(X_cat.argmax(axis=1), p, labels=list(range(K))), rel=1e-10)
    # Gaussian with per-entry variance: minus the mean over rows of the summed log densities
    mu, log_var = rng.standard_normal((2, N, K))
    ref = -np.sum(stats.norm.logpdf(X_real, loc=mu, scale=np.exp(0.5 * log_var))) / N
    assert losses.gaussian_nll(mu, log_var, X_real).value == pytest.approx(ref, rel=1e-12)


def test_losses_are_stable_for_large_logits():
    """Logits of +-1e3: exact finite values and gradients, and no overflow warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eta = np.array([[1e3, -1e3], [-1e3, 1e3]])
        X = np.array([[0.0, 1.0], [0.0, 1.0]])
        b = losses.bernoulli_cross_entropy(eta, X)
        # row 0: softplus(1e3) - 0 + softplus(-1e3) + 1e3 = 2e3; row 1: ~0 + ~0
        assert b.value == pytest.approx((2e3 + 0.0) / 2, rel=1e-12)
        assert_allclose(b.grad, np.array([[1.0, -1.0], [0.0, 0.0]]) / 2, atol=1e-300)
        c = losses.categorical_cross_entropy(np.array([[1e3, -1e3, 0.0], [0.0, 0.0, 1e3]]),
                                         np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
        assert c.value == pytest.approx(2e3 / 2, rel=1e-12)
        assert np.all(np.isfinite(c.grad))
        assert_allclose(c.grad[0], np.array([1.0, -1.0, 0.0]) / 2, atol=1e-300)
        assert_array_equal(nn.sigmoid(np.array([-1e3, 0.0, 1e3])), [0.0, 0.5, 1.0])
        assert_array_equal(nn.softplus(np.array([-1e3, 1e3])), [0.0, 1e3])
        Z, _ = nn.Activation("silu").forward((), np.array([[-1e3, 1e3]]))
        assert_array_equal(Z, [[-0.0, 1e3]])


# ---------------------------------------------------------------------------------------------
# Whole networks against finite differences; the Eq. 5.16 transpose
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("loss", ["squared", "bernoulli", "categorical", "gaussian"])
def test_mlp_gradient_matches_finite_differences(act, loss):
    """Backpropagation (Eqs. 5.16 and 5.17, with the transpose) through a feed-forward network, against finite differences."""
    rng = np.random.default_rng(ACTS.index(act) * 7 + len(loss))
    K = 3
    net = nn.mlp([4, 5, 3, 2 * K if loss == "gaussian" else K], activation=act)
    params = net.init(rng)
    params = nn.tree_map(lambda p: p + 0.3 * rng.standard_normal(p.shape), params)   # non-zero biases too
    Y = rng.standard_normal((6, 4))
    _, X_real, X_bin, _, X_cat, _ = _loss_cases(rng, 6, K)

    def loss_of(out):
        if loss == "squared":
            return losses.squared_error(out, X_real).value, losses.squared_error(out, X_real).grad
        if loss == "bernoulli":
            r = losses.bernoulli_cross_entropy(out, X_bin)
        elif loss == "categorical":
            r = losses.categorical_cross_entropy(out, X_cat)
        else:
            g = losses.gaussian_nll(out[:, :K], out[:, K:], X_real)
            return g.value, np.concatenate([g.grad_mu, g.grad_log_var], axis=1)
        return r.value, r.grad

    out, cache = net.forward(params, Y)
    if act == "relu":      # the check is only meaningful away from kinks
        pre = [c for c in cache.caches if isinstance(c, tuple)]
        assert min(np.min(np.abs(A)) for A, _ in pre) > 1e-3
    value, grad_out = loss_of(out)
    grad_Y, grads = net.backward(params, cache, grad_out)
    num = nn.numerical_gradient(lambda p: loss_of(net.forward(p, Y)[0])[0], params)
    num_Y = nn.numerical_gradient(lambda y: loss_of(net.forward(params, y)[0])[0], Y)
    assert nn.relative_error(grads, num) < FD_RTOL
    assert nn.relative_error(grad_Y, num_Y) < FD_RTOL
    assert [type(g) for g in grads] == [type(p) for p in params]


def test_nested_sequential_gradient():
    """A Sequential inside a Sequential (e.g. an encoder reused in a bigger model)."""
    rng = np.random.default_rng(5)
    inner = nn.Sequential(nn.Dense(3, 4), nn.Activation("tanh"))
    net = nn.Sequential(inner, nn.Dense(4, 2), nn.Activation("softplus"), nn.Dense(2, 1))
    assert (net.n_in, net.n_out) == (3, 1)
    params = net.init(rng)
    Y, X = rng.standard_normal((5, 3)), rng.standard_normal((5, 1))
    out, cache = net.forward(params, Y)
    _, grads = net.backward(params, cache, losses.squared_error(out, X).grad)
    num = nn.numerical_gradient(lambda p: losses.squared_error(net.forward(p, Y)[0], X).value, params)
    assert nn.relative_error(grads, num) < FD_RTOL


def test_gradient_matches_one_sklearn_sgd_step():
    """Peer check: scikit-learn's MLPRegressor (plain SGD, lr 1, no momentum, no L2, one full batch).

    sklearn stores each weight matrix as ``coefs_[l]`` of shape (D_in, D_out), our ``D.T``; its
    gradient for one output is that of our ``squared_error`` (1/N sum of half squared errors), so
    ``old - new`` after one step is our gradient.
    """
    MLPRegressor = pytest.importorskip("sklearn.neural_network").MLPRegressor
    rng = np.random.default_rng(0)
    N = 20
    Y, x = rng.standard_normal((N, 3)), rng.standard_normal(N)
    reg = MLPRegressor(hidden_layer_sizes=(5, 4), activation="tanh", solver="sgd", learning_rate_init=1.0,
                       momentum=0.0, alpha=0.0, batch_size=N, shuffle=False, random_state=0)
    reg.partial_fit(Y, x)                                    # lets sklearn allocate its state
    net = nn.mlp([3, 5, 4, 1], activation="tanh")
    params = nn.tree_map(lambda p: p + 0.1 * rng.standard_normal(p.shape), net.init(rng))
    reg.coefs_ = [p.D.T.copy() for p in params[::2]]
    reg.intercepts_ = [p.d.copy() for p in params[::2]]
    reg.partial_fit(Y, x)                                    # one gradient step of size 1
    out, cache = net.forward(params, Y)
    _, grads = net.backward(params, cache, losses.squared_error(out, x[:, None]).grad)
    for p, g, W_new, b_new in zip(params[::2], grads[::2], reg.coefs_, reg.intercepts_):
        assert_allclose(p.D - W_new.T, g.D, rtol=1e-10, atol=1e-14)
        assert_allclose(p.d - b_new, g.d, rtol=1e-10, atol=1e-14)


def _book_backprop(Ds, ds, y, x, transpose_in_516: bool):
    """Eqs. 5.15-5.17 for ONE sample, columns, tanh layers, S = 1/2 ||z_L - x||^2, written from the book.

    ``transpose_in_516=False`` uses Eq. 5.16 as printed, b_l = J_l D_{l+1} b_{l+1}.
    """
    zs = [y]
    for D, d in zip(Ds, ds):
        zs.append(np.tanh(D @ zs[-1] + d))                       # Eq. 5.15
    L = len(Ds)
    Js = [None] + [np.diag(1.0 - z ** 2) for z in zs[1:]]        # diagonal Jacobians J_l
    bs = [None] * (L + 1)
    bs[L] = Js[L] @ (zs[L] - x)                                  # b_L = J_L dS/dz_L
    for l in range(L - 1, 0, -1):
        D_next = Ds[l].T if transpose_in_516 else Ds[l]          # Ds[l] is the book's D_{l+1}
        bs[l] = Js[l] @ D_next @ bs[l + 1]                       # Eq. 5.16
    return [np.outer(bs[l], zs[l - 1]) for l in range(1, L + 1)]  # Eq. 5.17


def test_eq_5_16_needs_the_transpose():
    """Erratum: Eq. 5.16 must read b_l = J_l D_{l+1}^T b_{l+1}.

    On square layers the printed recursion runs but gives wrong gradients; on non-square layers it
    cannot even be evaluated. The corrected recursion agrees with finite differences and with
    ``Sequential.backward``.
    """
    rng = np.random.default_rng(0)
    sizes = [3, 3, 3, 3]
    Ds = [rng.standard_normal((sizes[l + 1], sizes[l])) for l in range(3)]
    ds = [rng.standard_normal(sizes[l + 1]) for l in range(3)]
    y, x = rng.standard_normal(3), rng.standard_normal(3)

    def S(Ds_):
        z = y
        for D, d in zip(Ds_, ds):
            z = np.tanh(D @ z + d)
        return 0.5 * np.sum((z - x) ** 2)

    num = nn.numerical_gradient(S, Ds)
    assert nn.relative_error(_book_backprop(Ds, ds, y, x, True), num) < FD_RTOL
    assert nn.relative_error(_book_backprop(Ds, ds, y, x, False), num) > 0.05        # the printed version fails

    net = nn.mlp(sizes, activation="tanh", output="tanh")
    params = tuple(p for D, d in zip(Ds, ds) for p in (nn.DenseParams(D, d), ()))
    out, cache = net.forward(params, y[None, :])
    _, grads = net.backward(params, cache, losses.squared_error(out, x[None, :]).grad)
    assert nn.relative_error([g.D for g in grads[::2]], num) < FD_RTOL

    Ds_rect = [rng.standard_normal((3, 4)), rng.standard_normal((2, 3))]
    ds_rect = [np.zeros(3), np.zeros(2)]
    with pytest.raises(ValueError):                                   # shapes (3,3) @ (2,3) do not chain
        _book_backprop(Ds_rect, ds_rect, rng.standard_normal(4), rng.standard_normal(2), False)
    assert len(_book_backprop(Ds_rect, ds_rect, rng.standard_normal(4), rng.standard_normal(2), True)) == 2


def test_batch_gradient_is_mean_of_per_sample_gradients():
    """Section 5.1.3: the cross-entropy gradient is the sample average of the per-sample gradients."""
    rng = np.random.default_rng(9)
    net = nn.mlp([2, 6, 1], activation="tanh")
    params = net.init(rng)
    Y, X = rng.standard_normal((8, 2)), (rng.uniform(size=(8, 1)) < 0.5).astype(float)
    out, cache = net.forward(params, Y)
    _, g_batch = net.backward(params, cache, losses.bernoulli_cross_entropy(out, X).grad)
    per = []
    for n in range(8):
        o, c = net.forward(params, Y[n:n + 1])
        per.append(net.backward(params, c, losses.bernoulli_cross_entropy(o, X[n:n + 1]).grad)[1])
    mean = nn.tree_map(lambda *gs: np.mean(gs, axis=0), *per)
    assert nn.relative_error(g_batch, mean) < 1e-13


# ---------------------------------------------------------------------------------------------
# Initialization
# ---------------------------------------------------------------------------------------------

def test_glorot_and_he_initialization_statistics():
    n_in, n_out = 300, 200
    n = n_in * n_out
    p = nn.Dense(n_in, n_out, init="glorot").init(np.random.default_rng(1))
    a = np.sqrt(6 / (n_in + n_out))
    var = 2 / (n_in + n_out)                        # a^2 / 3
    se = np.sqrt(4 * a ** 4 / 45 / n)                # sd of D^2 for U(-a, a) is sqrt(4 a^4 / 45)
    assert abs(np.mean(p.D ** 2) - var) < 5 * se     # 5 standard errors, fixed seed
    assert np.max(np.abs(p.D)) <= a and p.D.shape == (n_out, n_in)
    assert_array_equal(p.d, np.zeros(n_out))
    q = nn.Dense(n_in, n_out, init="he").init(np.random.default_rng(1))
    var = 2 / n_in
    assert abs(np.mean(q.D ** 2) - var) < 5 * np.sqrt(2 * var ** 2 / n)
    assert abs(stats.kurtosis(q.D.ravel())) < 5 * np.sqrt(24 / n)      # Gaussian, not uniform
    # Reproducible through the Generator, and the generator advances between layers
    net = nn.mlp([3, 4, 4])
    p1, p2 = net.init(np.random.default_rng(2)), net.init(np.random.default_rng(2))
    assert nn.relative_error(p1, p2) == 0.0
    assert not np.allclose(p1[0].D[:, :3], p1[2].D[:, :3])
    assert nn.mlp([2, 3, 1], activation="relu").layers[0].init_scheme == "he"


# ---------------------------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------------------------

def _quadratic(rng, dim=4):
    M = rng.standard_normal((dim, dim))
    A = M @ M.T + dim * np.eye(dim)
    theta_star = {"w": rng.standard_normal(dim - 1), "b": rng.standard_normal(1)}
    return A, theta_star


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_sgd_converges_to_quadratic_minimizer(momentum):
    """f = 1/2 (t - t*)^T A (t - t*): gradient A (t - t*), unique minimizer t* (parameters as a dict tree)."""
    rng = np.random.default_rng(4)
    A, star = _quadratic(rng)
    lr = 1.0 / np.linalg.eigvalsh(A).max()
    opt = optim.SGD(lr, momentum=momentum)
    params = {"w": np.zeros(3), "b": np.zeros(1)}
    state = opt.init(params)
    for _ in range(600):
        r = A @ (np.concatenate([params["w"], params["b"]]) - np.concatenate([star["w"], star["b"]]))
        params, state = opt.step(params, {"w": r[:3], "b": r[3:]}, state)
    assert_allclose(params["w"], star["w"], atol=1e-8)
    assert_allclose(params["b"], star["b"], atol=1e-8)


def test_sgd_momentum_steps_by_hand():
    opt = optim.SGD(0.1, momentum=0.9)
    p0 = [np.array([1.0, -1.0])]
    g1, g2 = [np.array([0.5, 2.0])], [np.array([-1.0, 1.0])]
    s0 = opt.init(p0)
    p1, s1 = opt.step(p0, g1, s0)
    p2, s2 = opt.step(p1, g2, s1)
    # v1 = g1; p1 = p0 - 0.1 g1; v2 = 0.9 g1 + g2; p2 = p1 - 0.1 v2
    assert_allclose(p1[0], [0.95, -1.2], rtol=1e-15)
    assert_allclose(s2.velocity[0], [0.45 - 1.0, 1.8 + 1.0], rtol=1e-15)
    assert_allclose(p2[0], [0.95 - 0.1 * (-0.55), -1.2 - 0.1 * 2.8], rtol=1e-15)
    assert_array_equal(p0[0], [1.0, -1.0])                    # inputs untouched (functional update)


def test_adam_first_steps_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    opt = optim.Adam(lr, beta1=b1, beta2=b2, eps=eps)
    p0 = nn.DenseParams(np.array([[1.0, 2.0]]), np.array([0.5]))
    g1 = nn.DenseParams(np.array([[0.5, -2.0]]), np.array([1e-6]))
    g2 = nn.DenseParams(np.array([[1.0, 1.0]]), np.array([-3.0]))
    s = opt.init(p0)
    p1, s = opt.step(p0, g1, s)
    # Step 1: m_hat = g, v_hat = g^2, so every coordinate moves by lr * g / (|g| + eps) ~ lr sign(g)
    assert_allclose(p1.D, [[1.0 - lr * 0.5 / (0.5 + eps), 2.0 + lr * 2.0 / (2.0 + eps)]], rtol=1e-15)
    assert_allclose(p1.d, [0.5 - lr * 1e-6 / (1e-6 + eps)], rtol=1e-14)
    p2, s = opt.step(p1, g2, s)
    assert s.t == 2
    for x1, x0, ga, gb in [(p2.D[0, 0], p1.D[0, 0], 0.5, 1.0), (p2.D[0, 1], p1.D[0, 1], -2.0, 1.0),
                           (p2.d[0], p1.d[0], 1e-6, -3.0)]:
        m = b1 * (1 - b1) * ga + (1 - b1) * gb
        v = b2 * (1 - b2) * ga ** 2 + (1 - b2) * gb ** 2
        assert x1 == pytest.approx(x0 - lr * (m / (1 - b1 ** 2)) / (np.sqrt(v / (1 - b2 ** 2)) + eps), rel=1e-14)


def _adam_by_hand(p, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Kingma and Ba's update, one float at a time in plain Python (the oracle)."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    return p - lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)) ** 0.5 + eps), m, v


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_adam_backends_agree_with_the_update_by_hand_on_a_mixed_tree(backend):
    # leaves of several shapes (a 0-d one, a transposed view), nested in a NamedTuple, a list and a dict
    rng = np.random.default_rng(3)
    W = rng.standard_normal((4, 3))
    params = {"net": [nn.DenseParams(W.T, rng.standard_normal(3)), np.float64(0.7) * np.ones(())],
              "scale": rng.standard_normal(5)}
    opt = optim.Adam(0.01, backend=backend)
    state = opt.init(params)
    grads = [nn.tree_map(lambda p: rng.standard_normal(np.shape(p)) * 10.0 ** rng.integers(-6, 3), params)
             for _ in range(3)]
    leaves = [np.array(x, dtype=float) for x in nn.tree_leaves(params)]
    ms = [np.zeros_like(x) for x in leaves]
    vs = [np.zeros_like(x) for x in leaves]
    p = params
    for t, g in enumerate(grads, start=1):
        p, state = opt.step(p, g, state)
        for i, gi in enumerate(nn.tree_leaves(g)):
            out = [_adam_by_hand(a, b, c, d, t, lr=0.01) for a, b, c, d in
                   zip(leaves[i].ravel(), np.ravel(gi), ms[i].ravel(), vs[i].ravel())]
            leaves[i], ms[i], vs[i] = (np.reshape([o[k] for o in out], np.shape(leaves[i])) for k in range(3))
        for got, want in zip(nn.tree_leaves(p), leaves):
            assert_allclose(got, want, rtol=1e-14, atol=0)
        for got, want in zip(nn.tree_leaves(state.v), vs):
            assert_allclose(got, want, rtol=1e-14, atol=0)
    assert type(p) is dict and type(p["net"]) is list and type(p["net"][0]) is nn.DenseParams
    assert p["net"][0].D.shape == (3, 4) and p["net"][1].shape == ()


def test_optimizers_walk_the_trees_together_and_hand_any_difference_to_the_full_check():
    params = {"a": (np.ones(2), np.ones((2, 2))), "b": np.ones(3)}
    grads = nn.tree_map(lambda p: 0.5 * p, params)
    opt = optim.Adam(0.1)
    want, _ = opt.step(params, grads, opt.init(params))
    as_lists = {"a": [g.tolist() for g in grads["a"]], "b": grads["b"]}     # other containers, list leaves
    got, _ = opt.step(params, as_lists, opt.init(params))
    for x, y in zip(nn.tree_leaves(got), nn.tree_leaves(want)):
        assert_array_equal(x, y)
    assert type(got["a"]) is tuple                                          # the containers of params
    with pytest.raises(ValueError, match=r"grads must be a dict with keys \['a', 'b'\] like params"):
        opt.step(params, {"b": grads["b"], "a": grads["a"]}, opt.init(params))
    with pytest.raises(ValueError, match=r"state.m\['a'\]\[1\] must have shape \(2, 2\) like params\['a'\]\[1\]"):
        opt.step(params, grads, opt.init(params)._replace(m={"a": (np.ones(2), np.ones(4)), "b": np.ones(3)}))


def test_adam_kernel_and_twin_agree_leaf_by_leaf():
    from pedagogy_lib.core.jit import HAVE_NUMBA
    rng = np.random.default_rng(4)
    p, g, m = rng.standard_normal((3, 200))
    v = rng.random(200)
    h = (0.9, 0.999, 0.01, 1e-8, 1 - 0.9 ** 7, 1 - 0.999 ** 7)          # b1, b2, lr, eps, c1, c2
    a = optim._adam_numpy(p, g, m, v, h)
    b = optim._adam_leaf_kernel(p, g, m, v, h)
    for x, y in zip(a[:3], b[:3]):
        assert_allclose(x, y, rtol=1e-15, atol=0)
    assert a[3] is True and bool(b[3]) is True
    if HAVE_NUMBA:                                # the kernel, not its Python fallback, ran
        assert kernels.adam_update.signatures
    for bad in (np.nan, np.inf, -np.inf):         # a non-finite gradient or parameter shows in the flag
        for which in (0, 1):
            q = [p.copy(), g.copy()]
            q[which][17] = bad
            with np.errstate(invalid="ignore", over="ignore"):   # the kernel's Python fallback warns on NumPy scalars
                assert not optim._adam_leaf_kernel(q[0], q[1], m, v, h)[3]
            assert not optim._adam_numpy(q[0], q[1], m, v, h)[3]


def test_tanh_backward_kernel_and_twin_agree_to_the_last_bit():
    from pedagogy_lib.core.jit import HAVE_NUMBA
    rng = np.random.default_rng(6)
    Z = np.tanh(3.0 * rng.standard_normal((37, 19)))
    G = rng.standard_normal((37, 19))
    want = G * (1.0 - Z * Z)                      # the tanh layer's Jacobian, applied to G
    a, b = G.copy(), G.copy()
    kernels.tanh_backward(a, Z)
    nn._tanh_backward_numpy(b, Z)
    assert_array_equal(a, want)
    assert_array_equal(b, want)
    if HAVE_NUMBA:                                # the kernel, not its Python fallback, ran
        assert kernels.tanh_backward.signatures
    c = np.asfortranarray(G)                      # any layout: the loops index both arrays alike
    kernels.tanh_backward(c, Z[::-1][::-1])
    assert_array_equal(c, want)


@pytest.mark.parametrize("layers", [
    lambda: nn.mlp([3, 5, 4, 2], activation="tanh").layers,
    lambda: nn.mlp([3, 5, 2], activation="tanh", output="tanh").layers,
    lambda: (nn.Activation("tanh"), *nn.mlp([3, 5, 2], activation="tanh").layers),      # the data go in first
    lambda: (nn.Dense(3, 5), nn.Activation("tanh"), nn.Activation("tanh"), nn.Dense(5, 2)),
    lambda: (nn.Sequential(nn.Dense(3, 5), nn.Activation("tanh")), nn.Activation("tanh"), nn.Dense(5, 2)),
    lambda: (nn.Dense(3, 5), nn.Activation("logistic"), nn.Dense(5, 4), nn.Activation("tanh"), nn.Dense(4, 2)),
])
def test_sequential_overwrites_only_its_own_arrays_and_matches_the_layers_one_by_one(layers):
    """Inside a Sequential a tanh overwrites the new output of the Dense layer before it, and its backward
    step the new gradient of the Dense layer after it: the caller's arrays, the cache (backward twice)
    and every number stay as the public layers compute them one at a time."""
    layers = layers()
    net = nn.Sequential(*layers)
    rng = np.random.default_rng(7)
    params = net.init(rng)
    params = nn.tree_map(lambda p: p + 0.3 * rng.standard_normal(p.shape), params)
    Y = rng.standard_normal((6, 3))
    Y0 = Y.copy()
    out, cache = net.forward(params, Y)
    G = rng.standard_normal(out.shape)
    G0 = G.copy()
    g_Y, grads = net.backward(params, cache, G)
    assert_array_equal(Y, Y0)
    assert_array_equal(G, G0)
    g_Y2, grads2 = net.backward(params, cache, G)            # the cache is intact
    assert_array_equal(g_Y2, g_Y)
    for a, b in zip(nn.tree_leaves(grads2), nn.tree_leaves(grads)):
        assert_array_equal(a, b)
    # the same network through the public layers, none of which overwrites anything
    caches, Z = [], Y
    for layer, p in zip(layers, params):
        Z, c = layer.forward(p, Z)
        caches.append(c)
    assert_array_equal(out, Z)
    g = G
    for i in range(len(layers) - 1, -1, -1):
        g, grad_i = layers[i].backward(params[i], caches[i], g)
        for a, b in zip(nn.tree_leaves(grad_i), nn.tree_leaves(grads[i])):
            assert_array_equal(a, b)
    assert_array_equal(g, g_Y)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("where", ["params", "grads"])
def test_adam_names_the_input_that_is_not_finite(backend, where):
    opt = optim.Adam(backend=backend)
    good = nn.DenseParams(np.ones((2, 3)), np.ones(2))
    bad = nn.DenseParams(np.ones((2, 3)), np.array([1.0, np.inf]))
    params, grads = (bad, good) if where == "params" else (good, bad)
    with pytest.raises(ValueError, match=rf"{where}.d must be finite; got inf at index 1"):
        opt.step(params, grads, opt.init(good))


def test_adam_converges_on_quadratic():
    rng = np.random.default_rng(6)
    A, star = _quadratic(rng)
    opt = optim.Adam(0.05)
    params = {"w": np.zeros(3), "b": np.zeros(1)}
    state = opt.init(params)
    for _ in range(3000):
        r = A @ (np.concatenate([params["w"], params["b"]]) - np.concatenate([star["w"], star["b"]]))
        params, state = opt.step(params, {"w": r[:3], "b": r[3:]}, state)
    assert_allclose(params["w"], star["w"], atol=1e-4)


# ---------------------------------------------------------------------------------------------
# Training end to end
# ---------------------------------------------------------------------------------------------

def _two_moons(rng, N, noise=0.1):
    t = rng.uniform(0, np.pi, N)
    labels = rng.integers(0, 2, N)
    Y = np.where(labels[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], axis=1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1))
    return Y + noise * rng.standard_normal((N, 2)), labels.astype(float)[:, None]


def test_mlp_learns_two_moons_quickly():
    rng = np.random.default_rng(0)
    Y, X = _two_moons(rng, 400)
    Y_test, X_test = _two_moons(rng, 1000)
    net = nn.mlp([2, 16, 16, 1], activation="tanh")
    params = net.init(rng)
    opt = optim.Adam(0.02)
    state = opt.init(params)
    for epoch in range(60):
        for Yb, Xb in optim.minibatches(rng, 50, Y, X):
            out, cache = net.forward(params, Yb)
            _, grads = net.backward(params, cache, losses.bernoulli_cross_entropy(out, Xb).grad)
            params, state = opt.step(params, grads, state)
    logits, _ = net.forward(params, Y_test)
    acc = np.mean((logits > 0) == (X_test > 0.5))
    assert acc > 0.97, acc                        # logistic regression scores 0.86 on the same split


def test_mlp_learns_xor():
    Y = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    X = np.array([[0.0], [1.0], [1.0], [0.0]])
    rng = np.random.default_rng(1)
    net = nn.mlp([2, 4, 1], activation="tanh")
    params = net.init(rng)
    opt = optim.Adam(0.05)
    state = opt.init(params)
    for _ in range(500):
        out, cache = net.forward(params, Y)
        _, grads = net.backward(params, cache, losses.bernoulli_cross_entropy(out, X).grad)
        params, state = opt.step(params, grads, state)
    out, _ = net.forward(params, Y)
    assert_array_equal(out > 0, X > 0.5)
    assert losses.bernoulli_cross_entropy(out, X).value < 0.05


# ---------------------------------------------------------------------------------------------
# Helpers: trees, numerical gradient, minibatches
# ---------------------------------------------------------------------------------------------

def test_tree_map_preserves_structure():
    tree = {"enc": (nn.DenseParams(np.ones((2, 3)), np.zeros(2)), ()), "dec": [np.arange(3.0)]}
    out = nn.tree_map(lambda a: 2 * a, tree)
    assert isinstance(out["enc"][0], nn.DenseParams) and out["enc"][1] == () and isinstance(out["dec"], list)
    assert_array_equal(out["dec"][0], [0.0, 2.0, 4.0])
    assert len(nn.tree_leaves(tree)) == 3


def test_numerical_gradient_of_known_function_and_no_mutation():
    rng = np.random.default_rng(2)
    tree = {"a": rng.standard_normal((2, 3)), "b": rng.standard_normal(4)}
    before = nn.tree_map(np.copy, tree)
    g = nn.numerical_gradient(lambda t: np.sum(np.sin(t["a"])) + np.sum(t["b"] ** 3), tree)
    assert_allclose(g["a"], np.cos(tree["a"]), rtol=1e-9)
    assert_allclose(g["b"], 3 * tree["b"] ** 2, rtol=1e-9)
    assert nn.relative_error(tree, before) == 0.0
    assert nn.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert nn.relative_error(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(1 / np.sqrt(2))


def test_minibatches_cover_every_row_once():
    Y = np.arange(23.0)[:, None] * np.ones((1, 2))
    labels = np.arange(23)
    batches = list(optim.minibatches(np.random.default_rng(0), 5, Y, labels))
    assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
    seen = np.concatenate([b[1] for b in batches])
    assert_array_equal(np.sort(seen), np.arange(23))
    assert not np.array_equal(seen, np.arange(23))                       # shuffled
    for Yb, lb in batches:
        assert_array_equal(Yb[:, 0], lb)                                  # rows stay aligned
    again = np.concatenate([b[1] for b in optim.minibatches(np.random.default_rng(0), 5, Y, labels)])
    assert_array_equal(seen, again)
    assert [len(b[0]) for b in optim.minibatches(np.random.default_rng(0), 5, Y, drop_last=True)] == [5] * 4


def test_one_hot():
    assert_array_equal(losses.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


# ---------------------------------------------------------------------------------------------
# Validation: one test per message
# ---------------------------------------------------------------------------------------------

_rng = np.random.default_rng(0)
_dense = nn.Dense(3, 2)
_dp = _dense.init(_rng)
_net = nn.mlp([3, 4, 2])
_np = _net.init(_rng)
_Y = np.ones((5, 3))
_out, _cache = _net.forward(_np, _Y)
_act = nn.Activation("tanh")
_Z, _acache = _act.forward((), np.ones((2, 2)))


def _nan(shape):
    a = np.ones(shape)
    a.flat[1] = np.nan
    return a


VALIDATION = [
    (lambda: nn.Dense(0, 2), r"n_in must be at least 1; got 0"),
    (lambda: nn.Dense(2, 2, init="xavier"), r"init must be one of \{'glorot', 'he'\}; got 'xavier'"),
    (lambda: _dense.forward([1.0], _Y), r"params must be a DenseParams\(D, d\); got list"),
    (lambda: _dense.forward(nn.DenseParams(np.ones((3, 2)), np.ones(2)), _Y),
     r"params.D must have shape \(D_out, D_in\) = \(2, 3\); got \(3, 2\)"),
    (lambda: _dense.forward(nn.DenseParams(np.ones((2, 3)), np.ones(3)), _Y),
     r"params.d must have shape \(D_out,\) = \(2,\); got \(3,\)"),
    (lambda: _dense.forward(nn.DenseParams(_nan((2, 3)), np.ones(2)), _Y), r"params.D must be finite; got nan"),
    (lambda: _dense.forward(_dp, np.ones((5, 4))), r"Z_prev must have shape \(N, D_in\) = \(any, 3\); got \(5, 4\)"),
    (lambda: _dense.forward(_dp, _nan((5, 3))), r"Z_prev must be finite; got nan at index \(0, 1\)"),
    (lambda: _dense.backward(_dp, np.ones((5, 2)), np.ones((5, 2))),
     r"cache must have shape \(N, D_in\) = \(any, 3\); got \(5, 2\)"),
    (lambda: _dense.backward(_dp, _Y, np.ones((4, 2))), r"grad_A must have shape \(N, D_out\) = \(5, 2\); got \(4, 2\)"),
    (lambda: nn.Activation("sigmoid"), r"activation must be one of \{'identity', 'relu', 'tanh', 'logistic'"),
    (lambda: _act.forward((np.ones(2),), np.ones((2, 2))), r"params must be \(\) for Activation\('tanh'\)"),
    (lambda: _act.forward((), np.ones(3)), r"A must be a 2-D array of shape \(N, D\); got an array of shape \(3,\)"),
    (lambda: _act.backward((), np.ones((2, 2)), np.ones((2, 2))), r"cache must be the \(A, Z\) pair returned by forward"),
    (lambda: _act.backward((), (np.ones((2, 2)), np.ones((2, 3))), np.ones((2, 2))),
     r"cache\[1\] must have shape \(N, D\) = \(2, 2\); got \(2, 3\)"),
    (lambda: _act.backward((), _acache, np.ones((3, 2))), r"grad_Z must have shape \(N, D\) = \(2, 2\); got \(3, 2\)"),
    (lambda: nn.Sequential(), r"layers must contain at least one layer"),
    (lambda: nn.Sequential(nn.Dense(2, 3), nn.Dense(4, 1)), r"layers\[1\] expects n_in = 4 inputs, but the previous layers produce 3"),
    (lambda: _net.forward(_np[:2], _Y), r"params must be a sequence of 4 layer parameters \(one per layer\); got length 2"),
    (lambda: _net.forward(_np, np.ones((5, 2))), r"Y must have shape \(N, D_0\) = \(any, 3\); got \(5, 2\)"),
    (lambda: nn.Sequential(nn.Activation("relu")).forward(((),), np.ones(3)),
     r"Y must be a 2-D array of shape \(N, D_0\)"),
    (lambda: _net.forward((_np[0], _np[1], nn.DenseParams(np.ones((2, 5)), np.ones(2)), ()), _Y),
     r"params\[2\].D must have shape \(D_out, D_in\) = \(2, 4\); got \(2, 5\)"),
    (lambda: _net.backward(_np, (1, 2), np.ones((5, 2))), r"cache must be the SequentialCache returned by forward"),
    (lambda: _net.backward(_np, _cache, np.ones((5, 3))), r"grad_out must have shape \(N, D_L\) = \(5, 2\); got \(5, 3\)"),
    (lambda: _net.backward(_np, _cache, _nan((5, 2))), r"grad_out must be finite"),
    (lambda: nn.mlp([3]), r"sizes must list at least an input and an output width; got \[3\]"),
    (lambda: nn.mlp([3, 0]), r"sizes\[1\] must be at least 1; got 0"),
    (lambda: nn.mlp([3, 2], activation="gelu"), r"activation must be one of"),
    (lambda: nn.mlp([3, 2], output="softmax"), r"output must be one of"),
    (lambda: losses.squared_error(np.ones(3), np.ones(3)), r"mu must be a 2-D array of shape \(N, K\)"),
    (lambda: losses.squared_error(np.ones((2, 3)), np.ones((2, 2))), r"X must have shape \(N, K\) = \(2, 3\); got \(2, 2\)"),
    (lambda: losses.squared_error(np.ones((0, 3)), np.ones((0, 3))), r"mu must have at least one row; got shape \(0, 3\)"),
    (lambda: losses.squared_error(np.ones((2, 2)), _nan((2, 2))), r"X must be finite; got nan at index \(0, 1\)"),
    (lambda: losses.bernoulli_cross_entropy(np.ones((2, 2)), np.array([[0.0, 1.0], [2.0, 0.0]])),
     r"X must lie in \[0, 1\] for a Bernoulli cross entropy; entry \(1, 0\) is 2"),
    (lambda: losses.bernoulli_cross_entropy(_nan((2, 2)), np.zeros((2, 2))), r"eta must be finite"),
    (lambda: losses.bernoulli_cross_entropy(np.ones((2, 2)), _nan((2, 2))), r"X must be finite; got nan at index \(0, 1\)"),
    (lambda: losses.bernoulli_cross_entropy(np.ones((2, 2)), np.array([[0.0, -np.inf], [1.0, 1.0]])),
     r"X must be finite; got -inf at index \(0, 1\)"),
    (lambda: losses.categorical_cross_entropy(np.ones((2, 2)), np.array([[1.5, -0.5], [0.0, 1.0]])),
     r"X must be non-negative \(one-hot or probability rows\); entry \(0, 1\) is -0.5"),
    (lambda: losses.categorical_cross_entropy(np.ones((2, 2)), np.array([[1.0, 0.0], [0.5, 0.0]])),
     r"X must have rows summing to 1 \(one-hot or probability rows\); row 1 sums to 0.5"),
    (lambda: losses.gaussian_nll(np.ones((2, 2)), np.ones((2,)), np.ones((2, 2))),
     r"log_var must have shape \(N, K\) = \(2, 2\); got \(2,\)"),
    (lambda: losses.one_hot(np.array([0.0, 1.0]), 2), r"labels must be a 1-D integer array; got shape \(2,\) and dtype float64"),
    (lambda: losses.one_hot(np.array([0, 3]), 3), r"labels must lie in \{0, ..., 2\}; entry 1 is 3"),
    (lambda: losses.one_hot(np.array([0]), 0), r"K must be at least 1; got 0"),
    (lambda: optim.SGD(0.0), r"lr must be positive; got 0"),
    (lambda: optim.SGD(0.1, momentum=-0.1), r"momentum must be non-negative; got -0.1"),
    (lambda: optim.SGD(0.1, momentum=1.0), r"momentum must be in \[0, 1\); got 1"),
    (lambda: optim.SGD(0.1).step(_dp, _dp, optim.Adam().init(_dp)), r"state must be the SGDState returned by init; got AdamState"),
    (lambda: optim.SGD(0.1).step(_dp, (_dp.D,), optim.SGD(0.1).init(_dp)), r"grads must be a DenseParams like params; got tuple"),
    (lambda: optim.SGD(0.1).step(_dp, nn.DenseParams(_dp.D.T, _dp.d), optim.SGD(0.1).init(_dp)),
     r"grads.D must have shape \(2, 3\) like params.D; got \(3, 2\)"),
    (lambda: optim.SGD(0.1).step(_dp, nn.DenseParams(_nan((2, 3)), _dp.d), optim.SGD(0.1).init(_dp)),
     r"grads.D must be finite; got nan at index \(0, 1\)"),
    (lambda: optim.SGD(0.1).step([_dp.D], [_dp.D, _dp.D], optim.SGD(0.1).init([_dp.D])),
     r"grads must be a sequence of length 1 like params; got length 2"),
    (lambda: optim.SGD(0.1).step({"a": _dp.d}, {"b": _dp.d}, optim.SGD(0.1).init({"a": _dp.d})),
     r"grads must be a dict with keys \['a'\] like params; got \['b'\]"),
    (lambda: optim.SGD(0.1).step([np.array(["x"])], [np.array(["x"])], optim.SGDState([np.array(["x"])])),
     r"params\[0\] must be a numeric array; got dtype <U1"),
    (lambda: optim.SGD(0.1).step(_dp, _dp, optim.SGDState(nn.DenseParams(_dp.D, np.ones(5)))),
     r"state.velocity.d must have shape \(2,\) like params.d; got \(5,\)"),
    (lambda: optim.Adam(-1.0), r"lr must be positive; got -1"),
    (lambda: optim.Adam(beta1=1.0), r"beta1 must be in \[0, 1\); got 1"),
    (lambda: optim.Adam(beta2=1.5), r"beta2 must be in \[0, 1\); got 1.5"),
    (lambda: optim.Adam(eps=0.0), r"eps must be positive; got 0"),
    (lambda: optim.Adam().step(_dp, _dp, optim.SGD(0.1).init(_dp)), r"state must be the AdamState returned by init; got SGDState"),
    (lambda: optim.Adam().step(_dp, _dp, optim.AdamState(0, _dp, nn.DenseParams(_dp.D[:1], _dp.d))),
     r"state.v.D must have shape \(2, 3\) like params.D; got \(1, 3\)"),
    (lambda: nn.numerical_gradient(lambda p: np.sum(p), np.ones(2), eps=0.0), r"eps must be positive; got 0"),
    (lambda: nn.numerical_gradient(lambda p: np.inf if p[0] < 1.0 else 0.0, np.ones(2)), r"f must return finite values"),
    (lambda: nn.relative_error(np.ones(2), np.ones(3)), r"b must have shape \(2,\) like a; got \(3,\)"),
    (lambda: optim.minibatches(np.random.default_rng(0), 0, _Y), r"batch_size must be at least 1; got 0"),
    (lambda: optim.minibatches(np.random.default_rng(0), 2), r"arrays must contain at least one array; got none"),
    (lambda: optim.minibatches(np.random.default_rng(0), 2, np.float64(1.0)), r"arrays\[0\] must have at least one axis"),
    (lambda: optim.minibatches(np.random.default_rng(0), 2, _Y, np.ones(4)), r"arrays\[1\] must have N = 5 rows like arrays\[0\]; got 4"),
    (lambda: optim.minibatches(np.random.default_rng(0), 2, _nan((5, 3))), r"arrays\[0\] must be finite"),
]


@pytest.mark.parametrize("call,match", VALIDATION, ids=[m[:40] for _, m in VALIDATION])
def test_validation_messages(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        _dense.init(0)
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        optim.minibatches(0, 2, _Y)
    with pytest.raises(TypeError, match=r"layers\[0\] must be a Dense, Activation or Sequential; got str"):
        nn.Sequential("tanh")
    with pytest.raises(TypeError, match=r"n_out must be an integer; got float 2.0"):
        nn.Dense(2, 2.0)


def test_backward_without_the_input_gradient_gives_the_same_parameter_gradients():
    rng = np.random.default_rng(8)
    net = nn.Sequential(nn.Activation("tanh"), *nn.mlp([3, 5, 2], activation="tanh").layers)
    params = net.init(rng)
    Y = rng.standard_normal((6, 3))
    out, cache = net.forward(params, Y)
    G = rng.standard_normal(out.shape)
    g_Y, full = net.backward(params, cache, G)
    none, part = net.backward(params, cache, G, input_grad=False)
    assert g_Y.shape == Y.shape and none is None
    for a, b in zip(nn.tree_leaves(full), nn.tree_leaves(part)):
        assert_array_equal(a, b)
    assert part[0] == ()                          # the activation below the first Dense has no parameters
    with pytest.raises(ValueError, match=r"input_grad must be True or False; got 0"):
        net.backward(params, cache, G, input_grad=0)


def test_backward_checks_parameters_other_than_the_tuple_forward_checked():
    rng = np.random.default_rng(9)
    net = nn.mlp([3, 4, 2])
    params = net.init(rng)
    Y = rng.standard_normal((5, 3))
    out, cache = net.forward(params, Y)
    G = rng.standard_normal(out.shape)
    assert cache.params is params                 # plain float64 arrays: forward runs with the very tuple
    _, grads = net.backward(params, cache, G)
    _, again = net.backward(list(params), cache, G)          # another container: checked, same gradients
    for a, b in zip(nn.tree_leaves(grads), nn.tree_leaves(again)):
        assert_array_equal(a, b)
    bad = (params[0], (), nn.DenseParams(_nan((2, 4)), params[2].d), ())
    with pytest.raises(ValueError, match=r"params\[2\]\.D must be finite; got nan"):
        net.backward(bad, cache, G)
    with pytest.raises(ValueError, match=r"params\[0\]\.D must have shape \(D_out, D_in\) = \(4, 3\); got \(3, 4\)"):
        net.backward((nn.DenseParams(params[0].D.T, params[0].d), *params[1:]), cache, G)
    as_ints = (nn.DenseParams(np.ones((4, 3), dtype=int), np.zeros(4, dtype=int)), *params[1:])
    out_i, cache_i = net.forward(as_ints, Y)                 # converted: forward runs with float64 copies
    assert cache_i.params is not as_ints and cache_i.params[0].D.dtype == np.float64
    assert net.backward(as_ints, cache_i, G)[1][0].D.shape == (4, 3)


def test_softplus_matches_logaddexp_and_its_limits():
    a = np.concatenate([np.linspace(-50, 50, 2001), [-800.0, -745.0, -1e-300, 0.0, 1e-300, 36.0, 800.0, 1e308]])
    assert_allclose(nn.softplus(a), np.logaddexp(0.0, a), rtol=4 * np.finfo(float).eps, atol=0)
    assert nn.softplus(np.array([1e308]))[0] == 1e308              # no overflow
    assert nn.softplus(np.array([-40.0]))[0] == pytest.approx(np.exp(-40.0), rel=1e-15)


@pytest.mark.parametrize("log_var, r", [(-1381.0, 1e-300), (-1400.0, 1e-300), (-700.0, 1e-10), (1400.0, 1e300),
                                        (700.0, 1e-300), (0.0, 1.0)])
def test_gaussian_nll_is_right_where_exp_of_minus_log_var_alone_overflows(log_var, r):
    """log_var = -1381 with residual 1e-300 was refused as an overflow (exp(1381) alone is infinite) although
    r^2 / v = 0.58; value and gradients against 60-digit arithmetic."""
    import mpmath as mp
    out = losses.gaussian_nll(np.zeros((1, 1)), np.full((1, 1), log_var), np.full((1, 1), r))
    with mp.workdps(60):
        R, v = mp.mpf(r), mp.exp(mp.mpf(log_var))
        value = 0.5 * (mp.log(2 * mp.pi) + log_var + R**2 / v)
        g_mu, g_lv = -R / v, 0.5 * (1 - R**2 / v)
    assert out.value == pytest.approx(float(value), rel=1e-14)
    assert out.grad_mu[0, 0] == pytest.approx(float(g_mu), rel=1e-14)
    assert out.grad_log_var[0, 0] == pytest.approx(float(g_lv), rel=1e-14, abs=1e-300)


def test_gaussian_nll_refuses_only_what_overflows_and_says_which():
    with pytest.raises(ValueError, match=r"gradient.*with respect to mu.*overflows float64 although the surprisal "
                                         r"is finite"):
        losses.gaussian_nll(np.zeros((1, 1)), np.full((1, 1), -2000.0), np.full((1, 1), 1e-300))
    with pytest.raises(ValueError, match=r"the Gaussian surprisal overflows float64"):
        losses.gaussian_nll(np.zeros((1, 1)), np.full((1, 1), -700.0), np.full((1, 1), 1e10))
