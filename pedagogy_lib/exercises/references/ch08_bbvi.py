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
