"""Neural networks (book Section 5.1.3): the BPTT loop over time and one MLP training step.

Rows:

* BPTT backward loop (Eqs. 5.20-5.21), numba kernel ``kernels.bptt_backward`` vs its NumPy twin
  ``rnn._bptt_numpy`` on the same arrays; times are reported **per time step**.
* The forward recursion (NumPy only: NumPy's vectorized tanh beats a compiled scalar loop here).
* The whole ``rnn.rnn_bptt`` call (validation + readout products + loop + sums over time), numba
  vs numpy backend, per time step.
* One MLP training step (forward, Bernoulli cross entropy, backward, Adam update) for a
  2-64-64-1 tanh network on a batch of 128, against scikit-learn's ``MLPClassifier.partial_fit``
  on the same batch with the same architecture and Adam (its step also validates its inputs and
  adds an L2 term; ``alpha=0`` here). Only a reference point: both are NumPy/BLAS code.

No targets: the table reports times and ratios. Before timing, the kernel and twin results are
checked to agree.
"""
from __future__ import annotations

import warnings

import numpy as np

from _harness import best_time, row

T, N, H, D_Y, D_X = 200, 16, 32, 4, 2


def _rnn_problem(seed: int = 0):
    from pedagogy_lib.nn import rnn
    rng = np.random.default_rng(seed)
    p = rnn.init_rnn(rng, D_Y, H, D_X, gain=0.9)
    Y = rng.standard_normal((T, N, D_Y))
    f = rnn.rnn_forward(p, Y)
    gX = rng.standard_normal((T, N, D_X)) / (T * N)
    return p, Y, f, gX


def _bench_rnn() -> list[dict]:
    from pedagogy_lib.nn import kernels, rnn
    p, Y, f, gX = _rnn_problem()
    G = np.ascontiguousarray(gX @ p.D_zx)
    U = np.ascontiguousarray(Y @ p.D_yz.T + p.d_z)
    z0 = np.zeros((N, H))
    B1, c1 = kernels.bptt_backward(G, f.Z, p.D_zz)
    B2, c2 = rnn._bptt_numpy(G, f.Z, p.D_zz)
    assert np.allclose(B1, B2, rtol=1e-10, atol=1e-14) and np.allclose(c1, c2, rtol=1e-10, atol=1e-14)

    size = f"H={H}, T={T}, N={N}"
    rows = []
    t_k = best_time(lambda: kernels.bptt_backward(G, f.Z, p.D_zz)) / T
    t_n = best_time(lambda: rnn._bptt_numpy(G, f.Z, p.D_zz)) / T
    rows.append(row("BPTT backward loop, per time step", size, t_k, peer_name="NumPy twin", peer=t_n,
                    note="Eqs. 5.20-5.21; kernel: explicit elementwise loop + BLAS product into a buffer"))
    t_n = best_time(lambda: rnn._forward_numpy(U, p.D_zz, z0)) / T
    rows.append(row("RNN forward recursion (NumPy), per time step", size, t_n,
                    note="no kernel: a numba scalar-tanh loop measured ~3x slower than NumPy's vectorized tanh"))
    t_k = best_time(lambda: rnn.rnn_bptt(p, Y, f.Z, gX, backend="numba")) / T
    t_n = best_time(lambda: rnn.rnn_bptt(p, Y, f.Z, gX, backend="numpy")) / T
    rows.append(row("`rnn_bptt` (whole call), per time step", size + f", D_y={D_Y}, D_x={D_X}", t_k,
                    peer_name='`backend="numpy"`', peer=t_n, note="includes validation and the sums over time"))
    return rows


def _bench_mlp() -> list[dict]:
    from pedagogy_lib import nn
    rng = np.random.default_rng(0)
    batch = 128
    Y = rng.standard_normal((batch, 2))
    X = (Y[:, :1] * Y[:, 1:] > 0).astype(float)              # XOR-like quadrants
    net = nn.mlp([2, 64, 64, 1], activation="tanh")
    opt = nn.Adam(1e-3)
    params = net.init(rng)
    state = opt.init(params)

    def step(params, state):
        out, cache = net.forward(params, Y)
        loss = nn.bernoulli_cross_entropy(out, X)
        _, grads = net.backward(params, cache, loss.grad)
        return opt.step(params, grads, state)

    # check: a few steps lower the loss
    p, s = params, state
    before = nn.bernoulli_cross_entropy(net.forward(p, Y)[0], X).value
    for _ in range(20):
        p, s = step(p, s)
    assert nn.bernoulli_cross_entropy(net.forward(p, Y)[0], X).value < before

    t_ours = best_time(lambda: step(params, state))
    peer = None
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        clf = MLPClassifier(hidden_layer_sizes=(64, 64), activation="tanh", solver="adam", alpha=0.0,
                            batch_size=batch, learning_rate_init=1e-3, random_state=0)
        labels = X[:, 0].astype(int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.partial_fit(Y, labels, classes=[0, 1])
            peer = best_time(lambda: clf.partial_fit(Y, labels))
    except ImportError:                                        # scikit-learn is optional here
        pass
    return [row("MLP training step (fwd + loss + bwd + Adam)", f"2-64-64-1 tanh, batch {batch}", t_ours,
                peer_name="sklearn `MLPClassifier.partial_fit`" if peer is not None else "", peer=peer,
                note="functional Adam update, validation at every call")]


def run() -> list[dict]:
    return _bench_rnn() + _bench_mlp()


if __name__ == "__main__":
    for r in run():
        print(r)
