"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch10_dbn`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ...harmonium.model import EFHParams


def binary_states(n):
    """The 2**n binary states of n units, in the order of ``hm.states(n)``."""
    idx = np.arange(2 ** n)
    return ((idx[:, None] >> np.arange(n)) & 1).astype(float)


def joint_table(p: EFHParams):
    """(the joint table [x, y], the hidden states, the visible states) of a harmonium, by enumeration."""
    X, Y = binary_states(p.W.shape[0]), binary_states(p.W.shape[1])
    negE = (X @ p.b_x)[:, None] + (Y @ p.b_y)[None, :] + X @ p.W @ Y.T
    J = np.exp(negE)
    return J / J.sum(), X, Y                                   # [x, y]


def aggregated(rbm, p_y):
    """The aggregated posterior of the harmonium ``rbm`` under the data distribution ``p_y`` (Eq. 10.24)."""
    J, X, Y = joint_table(rbm)
    post = J / J.sum(axis=0, keepdims=True)                    # p(x | y), [x, y]
    return post @ p_y


def mre_rbm(rbm, p_y):
    """The marginal relative entropy of the harmonium ``rbm`` from the data distribution ``p_y``."""
    J, _, _ = joint_table(rbm)
    m = J.sum(axis=0)
    return float(np.sum(p_y * np.log(p_y / m)))


def posteriors(bottom: EFHParams, top: EFHParams):
    """(q(x1 | y0), the DBN's posterior, the DBN's marginal, the unnormalized joint), [y0, x1]."""
    J0, _, _ = joint_table(bottom)                                   # [x1, y0]
    q = (J0 / J0.sum(axis=0, keepdims=True)).T
    emit = (J0 / J0.sum(axis=1, keepdims=True)).T               # p(y0 | x1; theta0), [y0, x1]
    Jt, _, _ = joint_table(top)
    joint = emit * Jt.sum(axis=0)[None, :]                      # times p(x1; theta1), the top's visible marginal
    marginal = joint.sum(axis=1)
    return q, joint / marginal[:, None], marginal, joint


def second_layer_start(rbm, p_y):
    """(D_KL{aggregated posterior || theta0's prior}, the aggregated posterior, the prior)."""
    J, _, _ = joint_table(rbm)
    prior = J.sum(axis=1)                                       # theta0's hidden marginal = theta1's visible one
    agg = aggregated(rbm, p_y)
    return float(np.sum(agg * np.log(agg / prior))), agg, prior


def jre_tables(t0: EFHParams, t1: EFHParams):
    """log q(x1 | y0), log p(y0 | x1) [y0, x1], theta1's visible log marginal, log Z and -E."""
    J0, _, _ = joint_table(t0)                                       # [x1, y0]
    with np.errstate(divide="ignore"):
        log_q = np.log(J0 / J0.sum(axis=0, keepdims=True)).T    # recognition: the bottom's posterior
        log_emit = np.log(J0 / J0.sum(axis=1, keepdims=True)).T  # emission of the bottom harmonium
    X2, X1 = binary_states(t1.W.shape[0]), binary_states(t1.W.shape[1])
    negE = (X2 @ t1.b_x)[:, None] + (X1 @ t1.b_y)[None, :] + X2 @ t1.W @ X1.T
    log_unnorm = logsumexp(negE, axis=0)                        # x2 summed out by brute force
    log_Z = logsumexp(log_unnorm)
    return log_q, log_emit, log_unnorm - log_Z, log_Z, negE


def jre_value(p_y, log_q, log_emit, log_prior, *, data_entropy=True, recognition_entropy=True) -> float:
    """The JRE of Eq. 10.25 from the tables of :func:`jre_tables`, with an entropy term left out on request."""
    keep = p_y > 0                                              # a state of probability zero adds nothing
    w = p_y[keep, None] * np.exp(log_q[keep])                   # the recognition joint, [y0, x1]
    terms = -log_emit[keep] - log_prior[None, :]
    if data_entropy:
        terms = terms + np.log(p_y[keep])[:, None]
    if recognition_entropy:
        terms = terms + log_q[keep]
    return float(np.sum(w * terms))


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def jre_slips(t0: EFHParams, t1: EFHParams, p_y) -> dict:
    """Named wrong derivations of Eq. 10.25 on one problem."""
    K = t0.W.shape[0]
    log_q, log_emit, log_prior, log_Z, negE = jre_tables(t0, t1)
    keep = p_y > 0
    J0, _, _ = joint_table(t0)
    own_prior = np.log(J0.sum(axis=1))                          # the bottom harmonium's own p(x1)
    log_dbn = np.log(np.exp(log_emit + log_prior[None, :]).sum(axis=1))
    agg = p_y @ np.exp(log_q)
    mask = agg > 0
    out = {"you computed the DBN's marginal relative entropy over y_0 alone; the JRE compares joint "
           "distributions over (y_0, x_1), and the two agree only when the recognition model is the DBN's "
           "posterior":
               float(np.sum(p_y[keep] * (np.log(p_y[keep]) - log_dbn[keep]))),
           "you used the bottom harmonium's own prior over x_1 instead of theta_1's visible marginal":
               jre_value(p_y, log_q, log_emit, own_prior),
           "you kept only the divergence between the aggregated posterior and theta_1's prior (the last line); "
           "the constant c belongs to the JRE too":
               float(np.sum(agg[mask] * (np.log(agg[mask]) - log_prior[mask]))),
           "your prior over x_1 is not normalized: theta_1's log-partition function is missing":
               jre_value(p_y, log_q, log_emit, log_prior + log_Z),
           "you left out the data distribution's own log-probability log p(y_0) (a cross-entropy, not a "
           "relative entropy)": jre_value(p_y, log_q, log_emit, log_prior, data_entropy=False),
           "you left out the recognition model's own log-probability log q(x_1 | y_0)":
               jre_value(p_y, log_q, log_emit, log_prior, recognition_entropy=False)}
    if t1.W.shape[0] == K:                                      # theta_1's hidden marginal has the right size
        hid = logsumexp(negE, axis=1)
        out["you used theta_1's hidden-layer marginal as the prior; x_1 is theta_1's visible layer"] = \
            jre_value(p_y, log_q, log_emit, hid - log_Z)
    return out
