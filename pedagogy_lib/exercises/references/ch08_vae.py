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


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def vae_slips(C, c, sigma2, Y, nu, log_s, Z):
    """Named wrong derivations: hints for the estimate, the gradient in nu and the gradient in log s."""
    s2 = np.exp(2.0 * log_s)
    ref_est, ref_nu, ref_ls = vae_variant(C, c, sigma2, Y, nu, log_s, Z)
    closed_resid = Y - c - nu @ C.T
    closed = (-0.5 * C.shape[0] * np.log(2.0 * np.pi * sigma2)
              - (np.sum(closed_resid ** 2, axis=1) + s2 @ np.sum(C ** 2, axis=0)) / (2.0 * sigma2)
              - 0.5 * np.sum(nu ** 2 + s2 - 1.0 - 2.0 * log_s, axis=1))
    closed_nu = closed_resid @ C / sigma2 - nu
    closed_ls = -s2 * np.sum(C ** 2, axis=0) / sigma2 - s2 + 1.0
    sq = vae_variant(C, c, sigma2, Y, nu, log_s, Z, spread="s2")
    mean_only = vae_variant(C, c, sigma2, Y, nu, log_s, Z, spread="mean")
    as_sd = vae_variant(C, c, sigma2, Y, nu, log_s, Z, var_as_sd=True)
    plus = vae_variant(C, c, sigma2, Y, nu, log_s, Z, kl_sign=-1.0)
    kl_log = vae_variant(C, c, sigma2, Y, nu, log_s, Z, kl_log2=False)
    no_const = vae_variant(C, c, sigma2, Y, nu, log_s, Z, constant=False)
    g_x = ref_nu + nu                                         # the reconstruction's gradient in the sample
    s = np.exp(log_s)
    closed_msg = ("you computed Step 1's closed-form ELBO (the average over draws) and its gradients; the "
                  "exercise asks for the estimate at the given draws")
    sq_msg = "you formed the sample with the variances s^2 where the standard deviations s belong"
    mean_msg = "you evaluated the likelihood at the mean nu: the sample also moves by s times the draw"
    sd_msg = "you treated sigma2 as a standard deviation; it is the decoder's noise variance"
    plus_msg = "you added the KL term instead of subtracting it"
    log_msg = "your KL term has log s where it needs log s^2 (twice log_s)"
    path_msg = ("your gradient has no pathwise term through the reconstruction (the slip of the source post): "
                "the sample depends on nu and on s, so the likelihood term has a gradient too")
    return ({closed_msg: closed, sq_msg: sq[0], mean_msg: mean_only[0], sd_msg: as_sd[0], plus_msg: plus[0],
             log_msg: kl_log[0], "you left out the normalizing constant of the Gaussian likelihood": no_const[0]},
            {closed_msg: closed_nu, path_msg: -nu, "you left the KL term's gradient out": g_x,
             sd_msg: as_sd[1], plus_msg: plus[1]},
            {closed_msg: closed_ls, path_msg: 1.0 - s2, "you left the KL term's gradient out": g_x * s * Z,
             sq_msg: sq[2], sd_msg: as_sd[2], plus_msg: plus[2], log_msg: kl_log[2],
             "you differentiated with respect to s, not log s (the chain rule's factor s is missing)":
                 g_x * Z - s + 1.0 / s})
