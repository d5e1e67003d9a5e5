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

No targets for these rows: the table reports times and ratios. Before timing, the kernel and twin
results are checked to agree.

The sweeps (``_harness.sweep``, :func:`_sweep_rows`) measure both public paths against plain NumPy written
directly (``ref_nn.py``: no validation, no compiled code). The MLP training step of the row above (public
``forward``, loss, ``backward`` and ``Adam.step``, validation at every call) runs on 2-h-h-1 tanh networks
with h = 16, 64, 256 and batches of 32, 256, 2,048, against a plain forward pass, Bernoulli cross entropy,
backpropagation and Adam from the same initial parameters with the same hyper-parameters; after five steps
on the same batch the parameters and both Adam moments must agree. ``rnn_bptt`` (whole call, numba
backend) runs with T = 50, 500 steps and H = 8, 32, 128 hidden units (N = 16, D_y = 4, D_x = 2 as above),
against a plain BPTT loop with the sums over time as matrix products; every gradient, ``grad_Y``,
``grad_z0`` and the signals must agree. Both are timed in alternation, BPTT per time step. Target ours
<= 1.2 x reference at every size; the last row of each sweep repeats its worst ratio.
"""
from __future__ import annotations

import warnings

import numpy as np

from _harness import best_time, row, sweep

T, N, H, D_Y, D_X = 200, 16, 32, 4, 2


def _rnn_problem(seed: int = 0, steps: int = T, hidden: int = H):
    from pedagogy_lib.nn import rnn
    rng = np.random.default_rng(seed)
    p = rnn.init_rnn(rng, D_Y, hidden, D_X, gain=0.9)
    Y = rng.standard_normal((steps, N, D_Y))
    f = rnn.rnn_forward(p, Y)
    gX = rng.standard_normal((steps, N, D_X)) / (steps * N)
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


def _mlp_data(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    Y = rng.standard_normal((batch, 2))
    X = (Y[:, :1] * Y[:, 1:] > 0).astype(float)              # XOR-like quadrants
    return Y, X


def _mlp_step(net, opt, Y, X):
    """The row's training step on the batch ``(Y, X)``: ``step(params, state) -> (params, state)``."""
    from pedagogy_lib import nn

    def step(params, state):
        out, cache = net.forward(params, Y)
        loss = nn.bernoulli_cross_entropy(out, X)
        _, grads = net.backward(params, cache, loss.grad)
        return opt.step(params, grads, state)
    return step


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
    step = _mlp_step(net, opt, Y, X)

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


#: The MLP sweep: ``(batch, hidden width)`` of a 2-h-h-1 tanh network.
SWEEP_MLP = tuple((batch, width) for width in (16, 64, 256) for batch in (32, 256, 2_048))
#: The BPTT sweep: ``(T, H)``, sequence length by hidden size (N, D_y, D_x as the rows above).
SWEEP_RNN = tuple((steps, hidden) for steps in (50, 500) for hidden in (8, 32, 128))
#: Both sweeps.
SWEEP = (SWEEP_MLP, SWEEP_RNN)


def _mlp_sweep_rows() -> list[dict]:
    """The row's training step against ``ref_nn.mlp_step`` over :data:`SWEEP_MLP`, the parameters and Adam
    moments after five steps from the same start checked first; the last row repeats the worst ratio."""
    from ref_nn import mlp_step
    from pedagogy_lib import nn
    cases = []
    for batch, width in SWEEP_MLP:
        Y, X = _mlp_data(batch)
        net = nn.mlp([2, width, width, 1], activation="tanh")
        opt = nn.Adam(1e-3)
        params = net.init(np.random.default_rng(1))
        state = opt.init(params)
        step = _mlp_step(net, opt, Y, X)
        layers = [p for p in params if p != ()]
        W0, b0 = [p.D for p in layers], [p.d for p in layers]
        zeros = [np.zeros_like(a) for a in W0 + b0]
        p, s = params, state
        W, b, m, v = W0, b0, zeros, zeros
        for t in range(1, 6):
            p, s = step(p, s)
            _, W, b, m, v = mlp_step(W, b, m, v, t, Y, X)
        ours = [a for layer in p if layer != () for a in layer]
        ours_m = [a for layer in s.m if layer != () for a in layer]
        ours_v = [a for layer in s.v if layer != () for a in layer]
        ref = [a for pair in zip(W, b) for a in pair]
        L = len(W)
        ref_m = [a for pair in zip(m[:L], m[L:]) for a in pair]
        ref_v = [a for pair in zip(v[:L], v[L:]) for a in pair]
        where = f"MLP sweep batch {batch}, width {width}"
        for name, a, c in (("parameters", ours, ref), ("first moments", ours_m, ref_m),
                           ("second moments", ours_v, ref_v)):
            for i, (x, y) in enumerate(zip(a, c)):
                np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-13, err_msg=f"{where}: {name}, leaf {i}")
        cases.append((f"2-{width}-{width}-1, batch {batch}",
                      lambda step=step, p=params, s=state: step(p, s),
                      lambda W=W0, b=b0, z=zeros, Y=Y, X=X: mlp_step(W, b, z, z, 1, Y, X)))
    return sweep("MLP training step (fwd + loss + bwd + Adam) vs plain NumPy, sweep",
                 "plain NumPy MLP step (`benchmarks/ref_nn.py`)", cases, rounds=10,
                 note="public calls, validation at every call; parameters and Adam moments agree after five "
                      "steps (checked first); timed in alternation")


def _rnn_sweep_rows() -> list[dict]:
    """``rnn_bptt`` (whole call, numba backend) against ``ref_nn.rnn_bptt`` over :data:`SWEEP_RNN`, every
    gradient checked first; times per time step; the last row repeats the worst ratio."""
    from ref_nn import rnn_bptt
    from pedagogy_lib.nn import rnn
    cases, steps_of = [], {}
    for steps, hidden in SWEEP_RNN:
        p, Y, f, gX = _rnn_problem(steps=steps, hidden=hidden)
        ours = rnn.rnn_bptt(p, Y, f.Z, gX, backend="numba")
        ref = rnn_bptt(p.D_zz, p.D_yz, p.D_zx, Y, f.Z, gX)
        where = f"BPTT sweep T = {steps}, H = {hidden}"
        for name, a, b in zip(("D_zz", "D_yz", "d_z", "D_zx", "d_x", "grad_Y", "grad_z0", "B"), ref,
                              (*ours.grads, ours.grad_Y, ours.grad_z0, ours.B)):
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-15, err_msg=f"{where}: {name}")
        size = f"H={hidden}, T={steps}, N={N}"
        steps_of[size] = steps
        cases.append((size, lambda p=p, Y=Y, Z=f.Z, gX=gX: rnn.rnn_bptt(p, Y, Z, gX, backend="numba"),
                      lambda p=p, Y=Y, Z=f.Z, gX=gX: rnn_bptt(p.D_zz, p.D_yz, p.D_zx, Y, Z, gX)))
    rows = sweep("`rnn_bptt` (whole call) vs plain NumPy BPTT, per time step, sweep",
                 "plain NumPy BPTT (`benchmarks/ref_nn.py`)", cases, rounds=10,
                 note="validation included; every gradient, grad_Y, grad_z0 and the signals agree (checked "
                      "first); timed in alternation")
    for r in rows:                                           # per time step, as the rows above
        steps = steps_of[r["size"].removeprefix("worst of the sweep: ")]
        r["ours"] /= steps
        r["peer"] /= steps
    return rows


def _sweep_rows() -> list[dict]:
    """Both sweeps of :data:`SWEEP`: the MLP training step, then BPTT."""
    return _mlp_sweep_rows() + _rnn_sweep_rows()


def run() -> list[dict]:
    return _bench_rnn() + _bench_mlp() + _sweep_rows()


if __name__ == "__main__":
    for r in run():
        print(r)
