"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch03_deep_models`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import itertools

import numpy as np
from scipy.special import expit as _sig
from scipy.special import logsumexp as _logsumexp

from ...harmonium.helmholtz import HelmholtzParams
from ...harmonium.model import EFHParams


def gaussian_prior_parts(p: EFHParams):
    """(h, J_12) of the hidden prior, and the parts of h a slip can leave out: (W b_y, |w_k|^2)."""
    Wb = p.W @ p.b_y
    sq = np.sum(p.W ** 2, axis=1)
    return p.b_x + Wb + 0.5 * sq, float(p.W[0] @ p.W[1]), Wb, sq


def belief_after_a_lost_frame(p: EFHParams, r: np.ndarray, *, weights: str = "model", Wr=None) -> np.ndarray:
    """E[x_t | r_t] with the frame summed out under ``weights`` (``Wr`` for a slip)."""
    Wy = p.W[:, :3]
    Wr = p.W[:, 3:] if Wr is None else Wr
    c = p.b_x + Wr @ r
    S = np.array(list(itertools.product((0.0, 1.0), repeat=3)))
    means = _sig(S @ Wy.T + c)                                        # [frame, hidden unit]
    if weights == "uniform":
        return means.mean(axis=0)
    log_w = S @ p.b_y[:3]
    if weights == "model":
        log_w = log_w + np.sum(np.logaddexp(0.0, S @ Wy.T + c), axis=1)
    w = np.exp(log_w - np.max(log_w))
    return (w / w.sum()) @ means


def sleep_fixed_point_parts(m: HelmholtzParams):
    """(R, r) of the sleep phase's fixed point, and the emission's normalizers."""
    G, g = m.G[0][:, 0], m.g[0]
    norm = np.sum(np.logaddexp(0.0, G + g) - np.logaddexp(0.0, g))
    return G[None, :].copy(), m.b_top - norm, norm


def binary_states(n: int) -> np.ndarray:
    """All 2**n binary states of n units, row i holding bit k of i in column k (the library's state order)."""
    return ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(float)


def dbn_tables(t0: EFHParams, t1: EFHParams):
    """(log emission [y0, x1], unnormalized log prior over x1, the top harmonium summed out)."""
    X1, Y0, X2 = binary_states(t0.W.shape[0]), binary_states(t0.W.shape[1]), binary_states(t1.W.shape[0])
    # top harmonium: visible layer x1, hidden layer x2; -energy of every (x2, x1) pair
    neg_energy = (X2 @ t1.b_x)[:, None] + (X1 @ t1.b_y)[None, :] + X2 @ t1.W @ X1.T
    log_prior = _logsumexp(neg_energy, axis=0)
    q = _sig(X1 @ t0.W + t0.b_y)                                  # [x1, visible unit]
    log_emit = np.log(np.prod(np.where(Y0[:, None, :] == 1, q[None], 1 - q[None]), axis=2))
    return log_emit, log_prior


def dbn_log_marginal(t0: EFHParams, t1: EFHParams, prior=None) -> np.ndarray:
    """log p(y0) under the DBN of bottom t0 and top t1 (or the given log prior over x1), every y0."""
    log_emit, log_prior = dbn_tables(t0, t1)
    if prior is not None:
        log_prior = prior
    return _logsumexp(log_emit + (log_prior - _logsumexp(log_prior))[None, :], axis=1)


def ws_deltas(m: HelmholtzParams, wake, dream, *, wake_on=None, sleep_on=None, gen_bias=True, rec_bias=True,
               top=True, average=True):
    """The wake and sleep delta rules sample by sample, a named slip switched on: (dG, dg, db_top, dR, dr)."""
    wake = wake if wake_on is None else wake_on
    dream = dream if sleep_on is None else sleep_on
    L, N = len(m.G), wake[0].shape[0]
    scale = 1.0 / N if average else 1.0
    dG = [np.zeros_like(G, dtype=float) for G in m.G]
    dg = [np.zeros_like(g, dtype=float) for g in m.g]
    dR = [np.zeros_like(R, dtype=float) for R in m.R]
    dr = [np.zeros_like(r, dtype=float) for r in m.r]
    db = np.zeros_like(m.b_top, dtype=float)
    for n in range(N):
        for l in range(L):
            # wake: layer l predicted top-down from the sample of layer l + 1
            err = wake[l][n] - _sig(m.G[l] @ wake[l + 1][n] + (m.g[l] if gen_bias else 0.0))
            dG[l] += scale * np.outer(err, wake[l + 1][n])
            dg[l] += scale * err
            # sleep: the dreamt layer l + 1 predicted bottom-up from the dreamt layer l
            err = dream[l + 1][n] - _sig(m.R[l] @ dream[l][n] + (m.r[l] if rec_bias else 0.0))
            dR[l] += scale * np.outer(err, dream[l][n])
            dr[l] += scale * err
        if top:
            db += scale * (wake[L][n] - _sig(m.b_top))
    return dG, dg, db, dR, dr


def ws_apply(m: HelmholtzParams, deltas, step: float, base: bool = True) -> HelmholtzParams:
    """The machine m moved by step times the deltas (from zero when base is False)."""
    dG, dg, db, dR, dr = deltas
    keep = 1.0 if base else 0.0
    return HelmholtzParams(G=[keep * a + step * d for a, d in zip(m.G, dG)],
                           g=[keep * a + step * d for a, d in zip(m.g, dg)], b_top=keep * m.b_top + step * db,
                           R=[keep * a + step * d for a, d in zip(m.R, dR)],
                           r=[keep * a + step * d for a, d in zip(m.r, dr)])


def refh_beliefs(p: EFHParams, Y, *, start=0.5, recurrent=True, swapped=False) -> np.ndarray:
    """r_1, ..., r_{T+1} unit by unit, one named slip switched on."""
    (T, M), K = Y.shape, p.W.shape[0]
    Wy, Wr = (p.W[:, M:], p.W[:, :M]) if swapped else (p.W[:, :M], p.W[:, M:])
    r = np.empty((T + 1, K))
    r[0] = start
    for t in range(T):
        for k in range(K):
            drive = p.b_x[k] + sum(Wy[k, j] * Y[t, j] for j in range(M))
            if recurrent:
                drive += sum(Wr[k, i] * r[t, i] for i in range(K))
            r[t + 1, k] = 0.5 * (1.0 + np.tanh(0.5 * drive))       # the logistic function, without overflow
    return r


def refh_log_probs(p: EFHParams, Y, R, *, past=True, normalize=True, obs_bias=True, means=False) -> np.ndarray:
    """log p(y_t | r_t) by brute force over every joint state with r_t clamped, or a named slip."""
    (T, M), K = Y.shape, p.W.shape[0]
    X, Sy = binary_states(K), binary_states(M)
    out = np.empty(T)
    for t in range(T):
        r = R[t] if past else np.zeros(K)
        b_obs = p.b_y[:M] if obs_bias else np.zeros(M)
        V = np.hstack([Sy, np.tile(r, (2 ** M, 1))])               # every frame with r_t clamped
        b_v = np.concatenate([b_obs, p.b_y[M:]])
        if means:                                                # hidden means summed in place of the sum over x
            log_table = V @ b_v + (0.5 * (1.0 + np.tanh(0.5 * (V @ p.W.T + p.b_x)))).sum(axis=1)
        else:
            neg_energy = (X @ p.b_x)[:, None] + (V @ b_v)[None, :] + X @ p.W @ V.T    # [x, frame]
            log_table = _logsumexp(neg_energy, axis=0)
        i = int(Y[t] @ (2 ** np.arange(M)))                       # the frame's row in the state order
        # unnormalized, the constant term of the clamped recurrent units is left out too, as a student would
        out[t] = log_table[i] - (_logsumexp(log_table) if normalize else p.b_y[M:] @ r)
    return out


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def dbn_slips(t0: EFHParams, t1: EFHParams) -> dict:
    """What named wrong derivations return on one problem."""
    K, M = t0.W.shape
    log_emit, log_prior = dbn_tables(t0, t1)
    own = EFHParams(W=t0.W.T, b_x=t0.b_y, b_y=t0.b_x)             # the bottom harmonium's own prior
    ref = dbn_log_marginal(t0, t1)
    perm = binary_states(M)[:, ::-1] @ (2 ** np.arange(M))                # first unit varying slowest
    out = {"you left the top harmonium out: that is the bottom harmonium's own marginal, whose prior over x_1 "
           "is its own, not theta_1's visible marginal": dbn_log_marginal(t0, own),
           "you gave every state of x_1 the same prior probability": dbn_log_marginal(t0, t1, np.zeros(2 ** K)),
           "you did not normalize the prior over x_1: its log-partition function is missing":
               _logsumexp(log_emit + log_prior[None, :], axis=1),
           "your visible states are in another order (the first unit varying slowest); use the order of the rows "
           "of hm.states(M)": ref[perm.astype(int)]}
    if t1.W.shape[0] == K:                                        # theta_1's hidden marginal has the right size
        X2, X1 = binary_states(K), binary_states(K)
        neg_energy = (X2 @ t1.b_x)[:, None] + (X1 @ t1.b_y)[None, :] + X2 @ t1.W @ X1.T
        out["you used theta_1's hidden-layer marginal as the prior; x_1 is theta_1's visible layer"] = \
            dbn_log_marginal(t0, t1, _logsumexp(neg_energy, axis=1))
    return out


def ws_slips(m: HelmholtzParams, wake, dream, lr: float) -> dict:
    """What named wrong derivations return on one problem: {message: machine after the step}."""
    right = ws_deltas(m, wake, dream)
    return {
        "you trained the generative weights on the dreams; the wake phase learns from the up-pass samples of "
        "the data": ws_apply(m, ws_deltas(m, wake, dream, wake_on=dream), lr),
        "you trained the recognition weights on the up-pass samples of the data; the sleep phase learns from "
        "the dreams": ws_apply(m, ws_deltas(m, wake, dream, sleep_on=wake), lr),
        "you left the generative biases g out of the wake phase's predictions":
            ws_apply(m, ws_deltas(m, wake, dream, gen_bias=False), lr),
        "you left the recognition biases r out of the sleep phase's predictions":
            ws_apply(m, ws_deltas(m, wake, dream, rec_bias=False), lr),
        "you left the top layer's prior biases b_top unchanged":
            ws_apply(m, ws_deltas(m, wake, dream, top=False), lr),
        "you summed the delta rules over the samples instead of averaging them":
            ws_apply(m, ws_deltas(m, wake, dream, average=False), lr),
        "you moved the parameters against the delta rules": ws_apply(m, right, -lr),
        "you added the delta rules without the learning rate": ws_apply(m, right, 1.0),
        "you returned the changes, not the parameters after the step": ws_apply(m, right, lr, base=False),
        "you returned the delta rules themselves, not the parameters after the step":
            ws_apply(m, right, 1.0, base=False),
        "you returned the machine as it was: no step was taken": m,
    }
