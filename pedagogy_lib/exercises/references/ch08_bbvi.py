"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch08_bbvi`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np


def sf_estimate(log_p, m, log_s, eps, *, score_m=None, score_log_s=None, log_q_const=True, use_log_q=True):
    """The averaged score-function estimate, or a named slip's."""
    s = np.exp(log_s)
    x = m + s * eps
    log_q = np.zeros(eps.shape[0])
    for i in range(eps.shape[0]):
        for d in range(eps.shape[1]):
            log_q[i] += -0.5 * eps[i, d] ** 2 - log_s[d] - (0.5 * np.log(2.0 * np.pi) if log_q_const else 0.0)
    weight = log_p(x) - (log_q if use_log_q else 0.0)
    h_m = eps / s if score_m is None else score_m
    h_log_s = eps ** 2 - 1.0 if score_log_s is None else score_log_s
    return np.concatenate([np.mean(h_m * weight[:, None], axis=0), np.mean(h_log_s * weight[:, None], axis=0)])


def advi_gradient(grad_log_p, transforms, m, log_s, eps, *, jacobian=True, chain=True, entropy=True,
                  in_s=False, times_s=True, log_everywhere=False):
    """The pathwise ELBO gradient of ADVI in (m, log s), averaged over the draws ``eps``, or a named slip's.

    zeta = m + s eps, theta = T^{-1}(zeta) per coordinate ("log": exp, "logit": the sigmoid), and the force in zeta
    is grad log p(theta) d theta / d zeta + d log|J| / d zeta (Eqs. 8.24-8.25), written out per coordinate."""
    s = np.exp(log_s)
    zeta = m + s * eps
    theta, dtheta, dlog_J = np.empty_like(zeta), np.empty_like(zeta), np.empty_like(zeta)
    for d, t in enumerate(transforms):
        if t == "log" or log_everywhere:
            theta[:, d] = np.exp(zeta[:, d]) if t == "log" else 1.0 / (1.0 + np.exp(-zeta[:, d]))
            dtheta[:, d] = theta[:, d] if t == "log" else theta[:, d] * (1.0 - theta[:, d])
            dlog_J[:, d] = 1.0
        else:
            theta[:, d] = 1.0 / (1.0 + np.exp(-zeta[:, d]))
            dtheta[:, d] = theta[:, d] * (1.0 - theta[:, d])
            dlog_J[:, d] = 1.0 - 2.0 * theta[:, d]
    g = np.asarray(grad_log_p(theta), dtype=float)
    f = (g * dtheta if chain else g) + (dlog_J if jacobian else 0.0)
    d_m = f.mean(axis=0)
    if in_s:
        d_log_s = (f * eps).mean(axis=0) + (1.0 / s if entropy else 0.0)
    else:
        d_log_s = (f * eps * (s if times_s else 1.0)).mean(axis=0) + (1.0 if entropy else 0.0)
    return np.concatenate([d_m, d_log_s])
