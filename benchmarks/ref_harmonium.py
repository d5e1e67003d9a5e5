"""Plain references for the harmonium benchmarks, vectorized NumPy and one numba loop (not part of the library).

* :func:`log_Z_enumeration`: exact log Z of an RBM the obvious way: build every hidden state in
  blocks, one matrix product for the visible natural parameters of the whole block, softplus,
  log-sum-exp. ``O(2^K K M)`` arithmetic (the product) plus ``2^K M`` softplus evaluations.
* :func:`log_Z_gray`: the same log Z as a plain numba loop: walk the hidden states in Gray-code
  order (one unit flips per step, so ``exp(zeta_j)`` changes by the factor ``exp(+-W_kj)``), take
  one logarithm of ``prod_j (1 + exp(zeta_j))`` per state and fold it into a running log-sum-exp. No
  table, no refresh, no validation; it assumes the product fits in a float64 (``sum_j |zeta_j|``
  well below 700, which the benchmark checks). Writing one ``log1p(exp(zeta_j))`` per unit instead
  costs 64 exponentials and logarithms per state, some 15x slower on this problem: no useful bar.
* :func:`cd_epoch`: one epoch of CD-k or PCD-k written with a mini-batch's matrix products, as a
  NumPy user would write it, drawing its uniforms from the same stream as the library's wrapper.
"""
from __future__ import annotations

import numpy as np
from numba import njit


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


@njit(cache=True)
def log_Z_gray(W, b_x, b_y):
    """Exact log Z of the RBM (W: (K, M)) by a Gray-code walk over the hidden states with a running log-sum-exp."""
    K, M = W.shape
    E, Einv = np.exp(W), np.exp(-W)
    u = np.exp(b_y)                      # exp(zeta_j) of the current hidden state x
    x = np.zeros(K, dtype=np.int64)
    lin = 0.0                            # b_x . x
    prod = 1.0
    for j in range(M):
        prod *= 1.0 + u[j]
    top, s = lin + np.log(prod), 1.0     # running log-sum-exp: sum = s * exp(top)
    for t in range(1, 1 << K):
        k = 0                            # the unit that flips: the lowest set bit of t
        while (t >> k) & 1 == 0:
            k += 1
        if x[k] == 0:
            lin += b_x[k]
            for j in range(M):
                u[j] *= E[k, j]
        else:
            lin -= b_x[k]
            for j in range(M):
                u[j] *= Einv[k, j]
        x[k] = 1 - x[k]
        prod = 1.0
        for j in range(M):
            prod *= 1.0 + u[j]
        v = lin + np.log(prod)
        if v > top:
            s, top = s * np.exp(top - v) + 1.0, v
        else:
            s += np.exp(v - top)
    return top + np.log(s)


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
