"""Reference solutions and slip generators of :mod:`pedagogy_lib.exercises.ch10_dynamical`, which imports this module
inside its checkers' bodies only."""
from __future__ import annotations

import numpy as np
from scipy.special import expit as _sig

from ...harmonium.model import EFHParams


def fewest_world_states(width: int, length: int) -> int:
    """The fewest states of an exact HMM of the bouncing bar, by partition refinement."""
    n_pos = length - width + 1
    world = [(q, v) for q in range(n_pos) for v in (-1, 1)]

    def step(q, v):
        if not 0 <= q + v < n_pos:
            v = -v
        return q + v, v

    block = {s: s[0] for s in world}                           # start: states that emit the same frame
    while True:
        refined = {s: (block[s], block[step(*s)]) for s in world}
        if len(set(refined.values())) == len(set(block.values())):
            return len(set(block.values()))
        block = refined


def factorial_distribution(q, states) -> np.ndarray:
    """The factorial distribution with the marginal means of ``q`` over the binary ``states`` (one per row)."""
    r = q @ states
    return np.prod(np.where(states == 1, r, 1 - r), axis=1)


def cd1_variant(p: EFHParams, Y, U_x, U_y, *, r_start=0.5, recurrence="past", joint=False, pos_sample=False,
                 neg_probs=False, flipped=False, dynamic_in_neg=True, dynamic=True, average=False):
    """CD-1 of sum_t log p(y_t | r_t) for one sequence, one named slip switched on."""
    T, M = Y.shape
    K = p.W.shape[0]
    Wy, Wr = p.W[:, :M], p.W[:, M:]
    draw = (lambda u, q: (u > q).astype(float)) if flipped else (lambda u, q: (u < q).astype(float))
    # the recurrent inputs r_1..r_T: r_1 = r_start, r_{t+1} = sigma(b_x + W_y y_t + W_r r_t)
    r = np.empty((T + 1, K))
    r[0] = r_start
    for t in range(T):
        r[t + 1] = _sig(p.b_x + Wy @ Y[t] + Wr @ r[t])
    if recurrence == "ahead":                     # r_t already holding y_t
        r = r[1:]
    elif recurrence == "frozen":                  # never updated
        r = np.full((T, K), r_start)
    dW, db_x, db_y = np.zeros_like(p.W), np.zeros(K), np.zeros(M + K)
    for t in range(T):
        c = p.b_x + (Wr @ r[t] if dynamic else 0.0)
        pos = _sig(c + Wy @ Y[t])
        x = draw(U_x[t], pos)
        q_y = _sig(p.b_y[:M] + Wy.T @ x)
        y_neg = q_y if neg_probs else draw(U_y[t], q_y)
        v = np.concatenate([Y[t], r[t]])
        if joint:                                 # r regenerated with y: CD on the pair [y_t, r_t]
            v_neg = np.concatenate([y_neg, _sig(p.b_y[M:] + Wr.T @ x)])
            neg = _sig(p.b_x + p.W @ v_neg)
        else:
            v_neg = np.concatenate([y_neg, r[t]])
            neg = _sig((c if dynamic_in_neg else p.b_x) + Wy @ y_neg)
        dW += np.outer(x if pos_sample else pos, v) - np.outer(neg, v_neg)
        db_x += (x if pos_sample else pos) - neg
        db_y += v - v_neg
    if average:
        dW, db_x, db_y = dW / T, db_x / T, db_y / T
    return dW, db_x, db_y


# --- slip tables: what named wrong derivations give on one hidden problem (some entries are one step
# from the reference, so they live here, out of the checker module's reach) ---

def cd1_slips(p, Y, U_x, U_y) -> dict:
    """What named wrong derivations return on one problem: {message: (dW, db_x, db_y)}."""
    v = lambda **kw: cd1_variant(p, Y, U_x, U_y, **kw)  # noqa: E731
    return {
        "your negative phase regenerated r_t along with y_t: that is CD on the joint over [y_t, r_t], the "
        "gradient the training loop follows (Step 2), not the conditional's (Step 3)": v(joint=True),
        "you kept r_t at its starting value: the recurrence never ran": v(recurrence="frozen"),
        "your r_t already contains y_t; it should summarize y_1, ..., y_{t-1} only": v(recurrence="ahead"),
        "you started the recurrence from zeros instead of the r_1 the statement gives": v(r_start=0.0),
        "your positive phase used the hidden sample instead of the hidden probabilities": v(pos_sample=True),
        "your negative phase used the reconstruction's probabilities instead of its sample y'_t":
            v(neg_probs=True),
        "your samples turn a unit on when its uniform is above its probability": v(flipped=True),
        "you left the dynamic bias W_r r_t out of the negative phase's hidden probabilities":
            v(dynamic_in_neg=False),
        "you left the dynamic bias W_r r_t out of the hidden biases altogether (a static RBM on the frames)":
            v(dynamic=False),
        "you averaged over the time steps; the statement asks for the sum": v(average=True),
    }
