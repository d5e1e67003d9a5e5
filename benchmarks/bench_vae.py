"""Variational autoencoder (draft Section 8.2): one training step on the 8 x 8 binarized digits.

Rows: one step of ``deepgen.vae`` (encoder forward, reparameterized sample, decoder forward,
Bernoulli surprisal and closed-form KL, backward pass through both networks, Adam update) for a
64-128-4 / 2-128-64 tanh VAE at batches of 128 and 512, against a plain NumPy reference written
with bare arrays (no validation, no parameter trees) that performs the same arithmetic. Only a
reference point: both are NumPy/BLAS code, and the ratio measures the library's overhead.

Before timing, the reference's loss and gradients are checked against the library's.
"""
from __future__ import annotations

import numpy as np

from _harness import best_time, row

M, K, H = 64, 2, 128


def _softplus(a):
    return np.logaddexp(0.0, a)


def _reference_step(W, Y, Z, state, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Plain NumPy: W = [D1, d1, D2, d2, E1, e1, E2, e2] (encoder then decoder), one Adam step."""
    D1, d1, D2, d2, E1, e1, E2, e2 = W
    N = Y.shape[0]
    A1 = Y @ D1.T + d1
    H1 = np.tanh(A1)
    out = H1 @ D2.T + d2
    nu, lv = out[:, :K], out[:, K:]
    v = np.exp(0.5 * lv)
    X = nu + v * Z
    B1 = X @ E1.T + e1
    G1 = np.tanh(B1)
    eta = G1 @ E2.T + e2
    loss = (np.sum(_softplus(eta) - Y * eta) + 0.5 * np.sum(-lv - 1 + np.exp(lv) + nu * nu)) / N
    g_eta = (1 / (1 + np.exp(-eta)) - Y) / N
    gE2, ge2 = g_eta.T @ G1, g_eta.sum(0)
    g_B1 = (g_eta @ E2) * (1 - G1 * G1)
    gE1, ge1 = g_B1.T @ X, g_B1.sum(0)
    g_X = g_B1 @ E1
    g_out = np.hstack([g_X + nu / N, 0.5 * g_X * v * Z + 0.5 * (np.exp(lv) - 1) / N])
    gD2, gd2 = g_out.T @ H1, g_out.sum(0)
    g_A1 = (g_out @ D2) * (1 - H1 * H1)
    gD1, gd1 = g_A1.T @ Y, g_A1.sum(0)
    grads = [gD1, gd1, gD2, gd2, gE1, ge1, gE2, ge2]
    t, m, s = state
    t += 1
    new = []
    for i, (w, g) in enumerate(zip(W, grads)):
        m[i] = b1 * m[i] + (1 - b1) * g
        s[i] = b2 * s[i] + (1 - b2) * g * g
        new.append(w - lr * (m[i] / (1 - b1 ** t)) / (np.sqrt(s[i] / (1 - b2 ** t)) + eps))
    return new, (t, m, s), loss, grads


def _flat(params):
    return [params.phi[0].D, params.phi[0].d, params.phi[2].D, params.phi[2].d,
            params.theta[0].D, params.theta[0].d, params.theta[2].D, params.theta[2].d]


def run() -> list[dict]:
    from pedagogy_lib.deepgen import vae as V
    from pedagogy_lib.harmonium.datasets import binarized_digits
    from pedagogy_lib.nn.network import Adam

    Y_all, _ = binarized_digits()
    model = V.vae(M, K, hidden=H)
    rows = []
    for batch in (128, 512):
        rng = np.random.default_rng(batch)
        Y = Y_all[rng.choice(Y_all.shape[0], batch, replace=False)]
        Z = rng.standard_normal((batch, K))
        params = V.init_params(model, rng)
        opt = Adam(1e-3)
        state = opt.init(params)
        loss, grads, _ = V.loss_and_grad(model, params, Y, Z)
        W = [w.copy() for w in _flat(params)]
        ref_state = (0, [np.zeros_like(w) for w in W], [np.zeros_like(w) for w in W])
        _, _, ref_loss, ref_grads = _reference_step(W, Y, Z, ref_state)
        assert np.isclose(loss, ref_loss, rtol=1e-12)
        assert all(np.allclose(a, b, rtol=1e-10, atol=1e-14) for a, b in zip(_flat(grads), ref_grads))

        def ours():
            _, g, _ = V.loss_and_grad(model, params, Y, Z)
            return opt.step(params, g, state)

        def reference():
            st = (0, [np.zeros_like(w) for w in W], [np.zeros_like(w) for w in W])
            return _reference_step(W, Y, Z, st)

        rows.append(row("VAE training step (forward, backward, Adam)", f"64-{H}-{2 * K} / {K}-{H}-64, batch {batch}",
                        best_time(ours), peer_name="plain NumPy", peer=best_time(reference),
                        note="Section 8.2; binarized digits; the ratio is the library's overhead"))
    return rows
