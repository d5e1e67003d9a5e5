"""Plain vectorized NumPy references for the harmonium benchmarks (not part of the library).

* :func:`log_Z_enumeration`: exact log Z of an RBM the obvious way: build every hidden state in
  blocks, one matrix product for the visible natural parameters of the whole block, softplus,
  log-sum-exp. ``O(2^K K M)`` arithmetic (the product) plus ``2^K M`` softplus evaluations.
* :func:`cd_epoch`: one epoch of CD-k or PCD-k written with a mini-batch's matrix products, as a
  NumPy user would write it, drawing its uniforms from the same stream as the library's wrapper.
"""
from __future__ import annotations

import numpy as np


def _softplus(z):
    return np.logaddexp(0.0, z)


def log_Z_enumeration(W, b_x, b_y, block: int = 1 << 14) -> float:
    """Exact log Z of the RBM (W: (K, M)) by enumerating the hidden layer in blocks of states."""
    K = W.shape[0]
    parts = []
    for start in range(0, 2 ** K, block):
        idx = np.arange(start, min(2 ** K, start + block))
        S = ((idx[:, None] >> np.arange(K)) & 1).astype(float)
        parts.append(S @ b_x + _softplus(S @ W + b_y).sum(axis=1))
    t = np.concatenate(parts)
    m = t.max()
    return float(m + np.log(np.exp(t - m).sum()))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def cd_epoch(W, b_x, b_y, Y, rng, *, k=1, lr=0.1, batch_size=10, persistent=False, chains=None):
    """One epoch of CD-k / PCD-k with mini-batch matrix products; updates W, b_x, b_y (and the hidden
    states of the persistent chains, shape (batch_size, K)) in place."""
    N, M = Y.shape
    K = W.shape[0]
    order = rng.permutation(N)
    u_x = rng.random((N, k, K))
    u_y = rng.random((N, k, M))
    for start in range(0, N, batch_size):
        stop = min(N, start + batch_size)
        Y0 = Y[order[start:stop]]
        P0 = _sigmoid(Y0 @ W.T + b_x)
        prob = P0
        for s in range(k):
            if persistent and s == 0:
                x = chains[:stop - start]                      # hidden states of the persistent chains
            else:
                x = (u_x[start:stop, s - 1 if persistent else s] < prob).astype(float)
            y = (u_y[start:stop, s] < _sigmoid(x @ W + b_y)).astype(float)
            prob = _sigmoid(y @ W.T + b_x)
        if persistent:
            chains[:stop - start] = (u_x[start:stop, k - 1] < prob).astype(float)
        Pk = prob
        scale = lr / (stop - start)
        W += scale * (P0.T @ Y0 - Pk.T @ y)
        b_x += scale * (P0.sum(axis=0) - Pk.sum(axis=0))
        b_y += scale * (Y0.sum(axis=0) - y.sum(axis=0))
