"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch08_vae`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def kl_to_prior(mu, s, tau):
    """D_KL{N(mu, diag(s^2)) || N(0, tau^2 I)}."""
    return 0.5 * float(np.sum((mu ** 2 + s ** 2) / tau ** 2 - 1.0 - np.log(s ** 2) + np.log(tau ** 2)))


def vae_variant(C, c, sigma2, Y, nu, log_s, Z, *, spread="s", var_as_sd=False, constant=True, kl_sign=1.0,
                 kl_log2=True):
    """The one-sample objective per datum and its gradients, one named slip switched on."""
    N, K = nu.shape
    L = C.shape[0]
    s = np.exp(log_s)
    v = sigma2 ** 2 if var_as_sd else sigma2
    # how the draw enters the sample, and the sample's derivative in log s
    if spread == "s":
        x, dx = nu + s * Z, s * Z
    elif spread == "s2":
        x, dx = nu + s * s * Z, 2.0 * s * s * Z
    else:                                                     # the mean alone
        x, dx = nu.copy(), np.zeros_like(nu)
    est, g_nu, g_ls = np.zeros(N), np.zeros((N, K)), np.zeros((N, K))
    for n in range(N):
        rec = 0.0
        g_x = np.zeros(K)
        for l in range(L):
            resid = Y[n, l] - c[l] - sum(C[l, k] * x[n, k] for k in range(K))
            rec += -0.5 * resid ** 2 / v - (0.5 * np.log(2.0 * np.pi * v) if constant else 0.0)
            g_x += resid * C[l] / v
        kl, g_kl_nu, g_kl_ls = 0.0, np.zeros(K), np.zeros(K)
        for k in range(K):
            var = s[n, k] ** 2
            kl += 0.5 * (nu[n, k] ** 2 + var - 1.0 - (2.0 if kl_log2 else 1.0) * log_s[n, k])
            g_kl_nu[k] = nu[n, k]
            g_kl_ls[k] = var - (1.0 if kl_log2 else 0.5)
        est[n] = rec - kl_sign * kl
        g_nu[n] = g_x - kl_sign * g_kl_nu
        g_ls[n] = g_x * dx[n] - kl_sign * g_kl_ls
    return est, g_nu, g_ls
