"""Tests for pedagogy_lib.nn.rnn (book Section 5.1.3, "Backpropagation through time", Eqs. 5.18-5.21).

Oracles: central finite differences; forward sensitivities (real-time recurrent learning), i.e.
the *first* form of Eq. 5.19, propagating d z_t / d theta^T forwards, written here independently;
a one-sample, column-form loop of the recurrence for the forward pass; and the NumPy twin for
the numba kernels (agreement to 1e-10 on seeded random problems).

Finite-difference tolerance: relative error (norm ratio over all parameters) below 1e-6 with
step 1e-5 in float64 (truncation ~1e-10, rounding ~1e-11 for gradients of order one; see
tests/nn/test_nn.py). BPTT and RTRL compute the same sum in different orders, so they agree to
rounding: rtol 1e-10.
"""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from pedagogy_lib.nn import kernels, losses, optim, rnn
from pedagogy_lib.nn import network as nn

BACKENDS = ["numba", "numpy"]
FD_RTOL = 1e-6


def _problem(seed, T=6, N=3, D_y=2, H=5, D_x=4, gain=1.2):
    rng = np.random.default_rng(seed)
    p = rnn.init_rnn(rng, D_y, H, D_x, gain=gain)
    p = p._replace(d_z=0.2 * rng.standard_normal(H), d_x=rng.standard_normal(D_x))   # non-zero biases
    Y = rng.standard_normal((T, N, D_y))
    X = rng.standard_normal((T, N, D_x))
    z0 = 0.5 * rng.standard_normal((N, H))
    return p, Y, X, z0


def _loss(p, Y, X, z0):
    """Squared error averaged over all T * N (time, sequence) pairs, plus 0.1 * <||z_t||^2>."""
    T, N, D_x = X.shape
    f = rnn.rnn_forward(p, Y, z0)
    L = losses.squared_error(f.X_hat.reshape(T * N, D_x), X.reshape(T * N, D_x))
    return L.value + 0.1 * np.sum(f.Z ** 2) / (T * N), L.grad.reshape(T, N, D_x), 0.2 * f.Z / (T * N), f


# ---------------------------------------------------------------------------------------------
# Forward pass against the book's recurrence, one sample at a time
# ---------------------------------------------------------------------------------------------

def test_forward_matches_columnwise_recurrence():
    """The recurrence of Eq. 5.18, one sample at a time."""
    p, Y, _, z0 = _problem(0)
    f = rnn.rnn_forward(p, Y, z0)
    T, N, _ = Y.shape
    for n in range(N):
        z = z0[n]
        for t in range(T):
            z = np.tanh(p.D_zz @ z + p.D_yz @ Y[t, n] + p.d_z)            # book: z_t = psi(D_zz z_{t-1} + D_yz y_t + d_z)
            assert_allclose(f.Z[t, n], z, rtol=1e-12, atol=1e-14)
            assert_allclose(f.X_hat[t, n], p.D_zx @ z + p.d_x, rtol=1e-12, atol=1e-14)
    # default initial state is zero
    assert_allclose(rnn.rnn_forward(p, Y).Z, rnn.rnn_forward(p, Y, np.zeros_like(z0)).Z, rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------
# BPTT against finite differences and against forward sensitivities
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("T,N,D_y,H,D_x,seed", [(6, 3, 2, 5, 4, 0), (1, 2, 3, 2, 1, 1), (9, 1, 1, 4, 2, 2),
                                                 (4, 2, 4, 3, 3, 3)])
def test_bptt_matches_finite_differences(backend, T, N, D_y, H, D_x, seed):
    """The backward recursion of Eq. 5.20, carried by the signals of Eq. 5.21, against finite differences."""
    p, Y, X, z0 = _problem(seed, T, N, D_y, H, D_x)
    _, gX, gZ, f = _loss(p, Y, X, z0)
    r = rnn.rnn_bptt(p, Y, f.Z, gX, z0, grad_Z=gZ, backend=backend)
    assert isinstance(r.grads, rnn.RNNParams)
    num = nn.numerical_gradient(lambda q: _loss(q, Y, X, z0)[0], p)
    assert nn.relative_error(r.grads, num) < FD_RTOL
    assert nn.relative_error(r.grad_Y, nn.numerical_gradient(lambda y: _loss(p, y, X, z0)[0], Y)) < FD_RTOL
    assert nn.relative_error(r.grad_z0, nn.numerical_gradient(lambda z: _loss(p, Y, X, z)[0], z0)) < FD_RTOL
    # every parameter separately, so that a small one cannot hide behind a large one
    for name in rnn.RNNParams._fields:
        assert nn.relative_error(getattr(r.grads, name), getattr(num, name)) < FD_RTOL, name


def _rtrl(p, Y, z0, gX, gZ):
    """Eq. 5.19, first form: sum_t (dS/dz_t^T)(partial) (dz_t/dtheta^T)(total), sensitivities carried forwards.

    theta = (vec D_zz, vec D_yz, d_z), row-major vec. For each sequence, Sens = d z_t / d theta^T
    (H x P) obeys Sens_t = J_t (D_zz Sens_{t-1} + d a_t / d theta^T), Sens_0 = 0.
    """
    T, N, D_y = Y.shape
    H = p.D_zz.shape[0]
    P = H * H + H * D_y + H
    grad = np.zeros(P)
    I = np.eye(H)
    for n in range(N):
        Sens = np.zeros((H, P))
        z_prev = z0[n]
        for t in range(T):
            z = np.tanh(p.D_zz @ z_prev + p.D_yz @ Y[t, n] + p.d_z)
            da = np.hstack([np.kron(I, z_prev[None, :]), np.kron(I, Y[t, n][None, :]), I])   # partial a_t / partial theta^T
            Sens = np.diag(1.0 - z ** 2) @ (p.D_zz @ Sens + da)
            dS_dz = p.D_zx.T @ gX[t, n] + gZ[t, n]                                   # partial S / partial z_t
            grad += dS_dz @ Sens
            z_prev = z
    return (grad[:H * H].reshape(H, H), grad[H * H:H * H + H * D_y].reshape(H, D_y), grad[H * H + H * D_y:])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bptt_equals_forward_sensitivities(backend, seed):
    """The two forms of Eq. 5.19 (total effect of theta on z_t, or of z_t on S) give the same gradient; the
    second is the backward recursion of Eq. 5.20."""
    p, Y, X, z0 = _problem(seed, T=7, N=2, D_y=3, H=4, D_x=2)
    _, gX, gZ, f = _loss(p, Y, X, z0)
    r = rnn.rnn_bptt(p, Y, f.Z, gX, z0, grad_Z=gZ, backend=backend)
    D_zz, D_yz, d_z = _rtrl(p, Y, z0, gX, gZ)
    assert_allclose(r.grads.D_zz, D_zz, rtol=1e-10, atol=1e-14)
    assert_allclose(r.grads.D_yz, D_yz, rtol=1e-10, atol=1e-14)
    assert_allclose(r.grads.d_z, d_z, rtol=1e-10, atol=1e-14)


def test_backprop_signal_is_bounded_by_spectral_norm():
    """With a loss on the last output only, the signals b_t of Eq. 5.21 obey ||b_t|| <= ||D_zz||_2 ||b_{t+1}||
    (|tanh'| <= 1): vanishing gradients."""
    p, Y, X, z0 = _problem(4, T=30, N=2, gain=0.6)
    T, N, D_x = X.shape
    gX = np.zeros((T, N, D_x))
    gX[-1] = np.random.default_rng(0).standard_normal((N, D_x))
    f = rnn.rnn_forward(p, Y, z0)
    B = rnn.rnn_bptt(p, Y, f.Z, gX, z0).B
    norm2 = np.linalg.norm(p.D_zz, 2)
    assert norm2 < 1.0
    for n in range(N):
        for t in range(T - 1):
            assert np.linalg.norm(B[t, n]) <= norm2 * np.linalg.norm(B[t + 1, n]) * (1 + 1e-12)
    assert np.linalg.norm(B[0]) < 1e-3 * np.linalg.norm(B[-1])


# ---------------------------------------------------------------------------------------------
# Kernels against their NumPy twins
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_kernels_match_numpy_twins(seed):
    rng = np.random.default_rng(100 + seed)
    T, N, H = rng.integers(1, 30), rng.integers(1, 6), rng.integers(1, 9)
    U = rng.standard_normal((T, N, H))
    D_zz = rng.standard_normal((H, H)) * rng.uniform(0.2, 2.0) / np.sqrt(H)
    z0 = rng.standard_normal((N, H))
    Z_np = rnn._forward_numpy(U, D_zz, z0)
    G = rng.standard_normal((T, N, H))
    B_nb, c_nb = kernels.bptt_backward(G, Z_np, D_zz)
    B_np, c_np = rnn._bptt_numpy(G, Z_np, D_zz)
    assert_allclose(B_nb, B_np, rtol=1e-10, atol=1e-12)
    assert_allclose(c_nb, c_np, rtol=1e-10, atol=1e-12)
    # the kernel's Python source, run uncompiled, gives the same answer (py_func is absent under NUMBA_DISABLE_JIT)
    py_func = getattr(kernels.bptt_backward, "py_func", kernels.bptt_backward)
    assert_allclose(py_func(G, Z_np, D_zz)[0], B_nb, rtol=1e-10, atol=1e-12)


def test_public_backends_agree():
    p, Y, X, z0 = _problem(5, T=20, N=4, H=7)
    _, gX, gZ, _ = _loss(p, Y, X, z0)
    f = rnn.rnn_forward(p, Y, z0)
    rs = {b: rnn.rnn_bptt(p, Y, f.Z, gX, z0, grad_Z=gZ, backend=b) for b in BACKENDS}
    assert nn.relative_error(rs["numba"], rs["numpy"]) < 1e-12


# ---------------------------------------------------------------------------------------------
# End to end: the gradients train (parameters as a NamedTuple tree for optim.Adam)
# ---------------------------------------------------------------------------------------------

def test_rnn_learns_a_one_step_delay():
    """Target x_t = y_{t-1}: needs the recurrent state; an RNN trained by BPTT + Adam gets it right."""
    rng = np.random.default_rng(0)
    p = rnn.init_rnn(rng, 1, 8, 1, gain=0.5)
    opt = optim.Adam(0.03)
    state = opt.init(p)
    T, N = 12, 16

    def batch():
        Y = rng.standard_normal((T, N, 1))
        X = np.concatenate([np.zeros((1, N, 1)), Y[:-1]], axis=0)
        return Y, X

    Y0, X0 = batch()
    start = losses.squared_error(rnn.rnn_forward(p, Y0).X_hat.reshape(-1, 1), X0.reshape(-1, 1)).value
    for _ in range(300):
        Y, X = batch()
        f = rnn.rnn_forward(p, Y)
        L = losses.squared_error(f.X_hat.reshape(-1, 1), X.reshape(-1, 1))
        g = rnn.rnn_bptt(p, Y, f.Z, L.grad.reshape(T, N, 1)).grads
        p, state = opt.step(p, g, state)
    end = losses.squared_error(rnn.rnn_forward(p, Y0).X_hat.reshape(-1, 1), X0.reshape(-1, 1)).value
    assert end < 0.05 * start, (start, end)       # start ~ 1/2 E[y^2] = 0.5; predicting 0 stays there




# ---------------------------------------------------------------------------------------------
# Validation: one test per message
# ---------------------------------------------------------------------------------------------

_p, _Y, _X, _z0 = _problem(0)
_f = rnn.rnn_forward(_p, _Y, _z0)
_gX = np.zeros_like(_f.X_hat)


def _nan(a):
    a = np.array(a, dtype=float)
    a.flat[0] = np.nan
    return a


VALIDATION = [
    (lambda: rnn.rnn_forward(tuple(_p), _Y), r"params must be an RNNParams\(D_zz, D_yz, d_z, D_zx, d_x\); got tuple"),
    (lambda: rnn.rnn_forward(_p._replace(D_zz=np.ones(5)), _Y), r"D_zz must be a 2-D array of shape \(H, H\)"),
    (lambda: rnn.rnn_forward(_p._replace(D_zz=np.ones((5, 4))), _Y), r"D_zz must have shape \(H, H\) = \(5, 5\); got \(5, 4\)"),
    (lambda: rnn.rnn_forward(_p._replace(D_zz=_nan(_p.D_zz)), _Y), r"D_zz must be finite; got nan at index \(0, 0\)"),
    (lambda: rnn.rnn_forward(_p._replace(D_yz=np.ones((4, 2))), _Y), r"D_yz must have shape \(H, D_y\) = \(5, any\); got \(4, 2\)"),
    (lambda: rnn.rnn_forward(_p._replace(d_z=np.ones(4)), _Y), r"d_z must have shape \(H,\) = \(5,\); got \(4,\)"),
    (lambda: rnn.rnn_forward(_p._replace(D_zx=np.ones((4, 3))), _Y), r"D_zx must have shape \(D_x, H\) = \(any, 5\); got \(4, 3\)"),
    (lambda: rnn.rnn_forward(_p._replace(d_x=np.ones(3)), _Y), r"d_x must have shape \(D_x,\) = \(4,\); got \(3,\)"),
    (lambda: rnn.rnn_forward(_p, np.ones((6, 3, 4))), r"Y must have shape \(T, N, D_y\) = \(any, any, 2\); got \(6, 3, 4\)"),
    (lambda: rnn.rnn_forward(_p, np.ones((3, 2))), r"Y must have shape \(T, N, D_y\)"),
    (lambda: rnn.rnn_forward(_p, _nan(_Y)), r"Y must be finite; got nan at index \(0, 0, 0\)"),
    (lambda: rnn.rnn_forward(_p, np.ones((0, 3, 2))), r"Y must have at least one time step and one sequence; got shape \(0, 3, 2\)"),
    (lambda: rnn.rnn_forward(_p, _Y, np.ones((2, 5))), r"z0 must have shape \(N, H\) = \(3, 5\); got \(2, 5\)"),
    (lambda: rnn.rnn_bptt(_p, _Y, _f.Z[:-1], _gX, _z0), r"Z must have shape \(T, N, H\) = \(6, 3, 5\); got \(5, 3, 5\)"),
    (lambda: rnn.rnn_bptt(_p, _Y, _f.Z, _gX[..., :2], _z0), r"grad_X_hat must have shape \(T, N, D_x\) = \(6, 3, 4\); got \(6, 3, 2\)"),
    (lambda: rnn.rnn_bptt(_p, _Y, _f.Z, _nan(_gX), _z0), r"grad_X_hat must be finite"),
    (lambda: rnn.rnn_bptt(_p, _Y, _f.Z, _gX, _z0, grad_Z=np.ones((6, 3, 4))), r"grad_Z must have shape \(T, N, H\) = \(6, 3, 5\); got \(6, 3, 4\)"),
    (lambda: rnn.rnn_bptt(_p, _Y, _f.Z, _gX, _z0, backend="jax"),
     r"backend must be one of \{'auto', 'numba', 'numpy'\}; got 'jax'"),
    (lambda: rnn.init_rnn(np.random.default_rng(0), 0, 3, 1), r"D_y must be at least 1; got 0"),
    (lambda: rnn.init_rnn(np.random.default_rng(0), 1, 0, 1), r"H must be at least 1; got 0"),
    (lambda: rnn.init_rnn(np.random.default_rng(0), 1, 3, 0), r"D_x must be at least 1; got 0"),
    (lambda: rnn.init_rnn(np.random.default_rng(0), 1, 3, 1, gain=0.0), r"gain must be positive; got 0"),
]


@pytest.mark.parametrize("call,match", VALIDATION, ids=[m[:40] for _, m in VALIDATION])
def test_validation_messages(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_rng_type_error():
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        rnn.init_rnn(0, 1, 2, 1)
