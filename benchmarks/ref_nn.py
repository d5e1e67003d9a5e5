"""Plain NumPy networks to measure ours against: an MLP training step and backpropagation through time.

Written as a careful user would write them from Section 5.1.3, with the weights in the book's
orientation (outputs by inputs) and one sample per row, as the library stores them:

* :func:`mlp_step`: one training step of a tanh MLP with a single logit output. The forward pass
  layer by layer (``A = Z @ W.T + b``, ``Z = tanh(A)``, the last layer linear), the mean Bernoulli
  cross entropy from the logits (``np.logaddexp(0, eta) - x eta``), its gradient ``(sigmoid(eta) - x) / N``,
  backpropagation layer by layer (``G.T @ Z_prev``, ``G.sum(0)``, ``(G @ W) * (1 - Z_prev^2)``), then Adam
  on every array. Like ours it returns new parameters and moments and leaves its inputs untouched.
* :func:`rnn_bptt`: the gradients of the Elman network of ``pedagogy_lib.nn.rnn`` given its hidden
  states and the gradient with respect to its readouts. One loop backwards over time for the signals
  ``b_t = (1 - z_t^2) (g_t @ D_zx + b_{t+1} @ D_zz)``, then every sum over time as one matrix product
  over all T x N rows.

No validation, no compiled code, no buffers reused between calls. Not part of the library.
"""
from __future__ import annotations

import numpy as np


def mlp_step(weights, biases, m, v, t, Y, X, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step on the batch ``(Y, X)``: ``(loss, weights, biases, m, v)`` after Adam's step number ``t``.

    ``weights[l]`` is (out, in), ``biases[l]`` is (out,); ``m`` and ``v`` hold the moments of
    ``weights + biases`` in that order (a list of arrays, zeros before the first step).
    """
    N = Y.shape[0]
    Zs = [Y]
    for l, (W, b) in enumerate(zip(weights, biases)):
        A = Zs[-1] @ W.T + b
        Zs.append(A if l == len(weights) - 1 else np.tanh(A))
    eta = Zs[-1]
    loss = np.sum(np.logaddexp(0.0, eta) - X * eta) / N
    G = (1.0 / (1.0 + np.exp(-eta)) - X) / N                # d loss / d eta
    gW = [None] * len(weights)
    gb = [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        gW[l] = G.T @ Zs[l]
        gb[l] = G.sum(axis=0)
        if l > 0:
            G = (G @ weights[l]) * (1.0 - Zs[l] ** 2)
    c1 = 1.0 - beta1 ** t
    c2 = 1.0 - beta2 ** t
    new_p, new_m, new_v = [], [], []
    for p, g, m_, v_ in zip(list(weights) + list(biases), gW + gb, m, v):
        m_ = beta1 * m_ + (1.0 - beta1) * g
        v_ = beta2 * v_ + (1.0 - beta2) * g * g
        new_p.append(p - lr * (m_ / c1) / (np.sqrt(v_ / c2) + eps))
        new_m.append(m_)
        new_v.append(v_)
    L = len(weights)
    return loss, new_p[:L], new_p[L:], new_m, new_v


def rnn_bptt(D_zz, D_yz, D_zx, Y, Z, gX):
    """Gradients of the Elman RNN (zero initial state): ``(dD_zz, dD_yz, dd_z, dD_zx, dd_x, grad_Y, grad_z0, B)``.

    ``Y`` (T, N, D_y) are the inputs, ``Z`` (T, N, H) the hidden states of the forward pass and ``gX``
    (T, N, D_x) the gradient of the loss with respect to the readouts.
    """
    T, N, H = Z.shape
    B = np.empty((T, N, H))
    carry = np.zeros((N, H))                                  # b_{t+1} @ D_zz, zero after the last step
    for t in range(T - 1, -1, -1):
        B[t] = (1.0 - Z[t] ** 2) * (gX[t] @ D_zx + carry)
        carry = B[t] @ D_zz
    B2 = B.reshape(T * N, H)
    Z_prev = np.concatenate([np.zeros((1, N, H)), Z[:-1]]).reshape(T * N, H)
    G2 = gX.reshape(T * N, -1)
    return (B2.T @ Z_prev, B2.T @ Y.reshape(T * N, -1), B2.sum(axis=0), G2.T @ Z.reshape(T * N, H),
            G2.sum(axis=0), (B2 @ D_yz).reshape(T, N, -1), carry, B)
