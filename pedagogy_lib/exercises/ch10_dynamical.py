"""Checkers for the exercises of notebook 10.2.4 (dynamical harmoniums: TRBM, RTRBM, recurrent EFH).

A recurrent EFH with ``M`` observed and ``K`` hidden units has ``W`` of shape ``(K, M + K)``: ``W[:, :M]`` is W_y,
``W[:, M:]`` is W_r.
"""
from __future__ import annotations

import itertools

import numpy as np
from scipy.special import expit as _sig
from scipy.special import logsumexp

from ..harmonium.model import EFHParams
from .checker import (FUNCTION_ANSWER, as_integer, book_or_drawn, compare_array, compare_scalar, problem_rng, result,
                      check_function, tuple_problems)

__all__ = ["EX_REFH", "EX_R", "EX_YT", "EX_WIDE", "EX_YT_WIDE", "BAR_WIDTH", "TRACK_LENGTH", "EX_POSTERIOR",
           "conditional_bias", "predictive_log_prob", "n_world_states", "factorial_posterior",
           "conditional_cd1_function"]


def _draw_refh(rng) -> EFHParams:
    """A recurrent EFH of the book's shapes, W (3, 7), zero visible biases on the recurrent units."""
    b_y = np.concatenate([np.round(rng.uniform(-0.3, 0.3, 4), 1) + 0.0, np.zeros(3)])
    return EFHParams(W=np.round(rng.uniform(-1.2, 1.2, (3, 7)), 1) + 0.0,
                     b_x=np.round(rng.uniform(-0.3, 0.3, 3), 1) + 0.0, b_y=b_y)


def _binary(n: int):
    return lambda rng: rng.integers(0, 2, n).astype(float)


#: A recurrent EFH with M = 4 observed and K = 3 hidden units; EX_R: r_t; EX_YT: y_t.
EX_REFH = book_or_drawn(EFHParams(W=np.array([[1.1, -0.4, 0.6, -0.9, 0.8, -0.2, 0.3],
                                              [-0.5, 0.9, -0.7, 0.4, -0.6, 1.0, 0.2],
                                              [0.3, 0.2, 1.2, -1.0, 0.1, 0.4, -0.8]]),
                                  b_x=np.array([-0.2, 0.1, 0.3]), b_y=np.array([0.2, -0.3, 0.1, 0.0, 0.0, 0.0, 0.0])),
                        _draw_refh, seed=10241)
EX_R = book_or_drawn(np.array([0.9, 0.2, 0.6]), lambda rng: np.round(rng.uniform(0.1, 0.9, 3), 1), seed=10242)
EX_YT = book_or_drawn(np.array([1.0, 0.0, 1.0, 0.0]), _binary(4), seed=10243)


def _draw_wide(rng) -> EFHParams:
    """A recurrent EFH with M = 40, K = 3 and nonzero recurrent biases b_r (terms in r_t alone)."""
    W = np.concatenate([np.round(rng.uniform(-0.5, 0.5, (3, 40)), 1), np.round(rng.uniform(-1.2, 1.2, (3, 3)), 1)],
                       axis=1) + 0.0
    b_obs = np.round(rng.uniform(-0.3, 0.3, 40), 1) + 0.0
    b_x = np.round(rng.uniform(-0.3, 0.3, 3), 1) + 0.0
    b_r = rng.choice([-0.3, -0.2, -0.1, 0.1, 0.2, 0.3], 3)
    return EFHParams(W=W, b_x=b_x, b_y=np.concatenate([b_obs, b_r]))


#: Exercise (b): a recurrent EFH with M = 40, K = 3; EX_YT_WIDE: its observation y_t.
EX_WIDE = book_or_drawn(_draw_wide(np.random.default_rng(10245)), _draw_wide, seed=10246)
EX_YT_WIDE = book_or_drawn(_binary(40)(np.random.default_rng(10247)), _binary(40), seed=10248)


def conditional_bias(answer) -> object:
    """Exercise (a), ``ex-10-2-4-bias``: your hidden biases (3,) of the next step's RBM over y_{t+1} for
    :data:`EX_REFH` given r_t = :data:`EX_R` and then y_t = :data:`EX_YT`. Slips named: the given step's biases, three
    slips in r_{t+1}, r_{t+1} itself, no b_x, the first K columns of W for W_r."""
    p = EX_REFH
    K, M = p.W.shape[0], p.W.shape[1] - p.W.shape[0]
    Wy, Wr = p.W[:, :M], p.W[:, M:]
    sig = _sig
    a = p.b_x + Wy @ EX_YT + Wr @ EX_R
    r_next = sig(a)
    expected = p.b_x + Wr @ r_next
    # W_y = W[:, :M] has M columns and cannot multiply r (K entries); the slip that does run is taking the
    # first K columns of W, which belong to W_y, in place of W_r = W[:, M:]
    hints = {"you gave the hidden biases of the step you were given (with r_t clamped), not of the next one":
             p.b_x + Wr @ EX_R,
             "your recurrent input r_{t+1} is not a mean: it is missing the sigmoid": p.b_x + Wr @ a,
             "your recurrent input r_{t+1} leaves out the observation y_t": p.b_x + Wr @ sig(p.b_x + Wr @ EX_R),
             "your recurrent input r_{t+1} leaves out the previous input r_t": p.b_x + Wr @ sig(p.b_x + Wy @ EX_YT),
             "you gave the recurrent input r_{t+1}, not the hidden biases of the RBM it makes": r_next,
             "you left out b_x from the biases of the next step's RBM": Wr @ r_next,
             "you took the first K columns of W (they belong to W_y) instead of W_r, the K columns after "
             "the M columns of W_y": p.b_x + p.W[:, :K] @ r_next}
    return result("hidden biases of the next step's RBM",
                  compare_array(answer, expected, "the biases", rtol=1e-10, hints=hints))


def predictive_log_prob(answer) -> object:
    """Exercise (b), ``ex-10-2-4-predictive``: your log p(y_t = :data:`EX_YT_WIDE` | r_t = :data:`EX_R`) under
    :data:`EX_WIDE`, normalized over all 2^40 observation states. Slips named: a probability, r_t ignored, b_r . r_t
    kept, no normalizer, a normalizer without hidden biases or without summing out y."""
    p = EX_WIDE
    K = p.W.shape[0]
    M = p.W.shape[1] - K
    Wy, by, y = p.W[:, :M], p.b_y[:M], EX_YT_WIDE
    X = np.array(list(itertools.product((0.0, 1.0), repeat=K)))
    lse = logsumexp
    def log_p(c, with_c_in_z=True):
        # numerator: the joint at y summed over the 2^K hidden states term by term; normalizer: for each
        # hidden state the sum over all observations factorizes into prod_i (1 + exp(b_y,i + (W_y^T x)_i))
        num = lse(X @ c + y @ by + X @ (Wy @ y))
        z_terms = np.log1p(np.exp(by[None, :] + X @ Wy)).sum(axis=1)
        return num, num - lse((X @ c if with_c_in_z else 0.0) + z_terms)

    c = p.b_x + p.W[:, M:] @ EX_R
    num, value = log_p(c)
    hints = {"you gave the probability, not its logarithm": float(np.exp(value)),
             "you ignored the recurrent input (a static RBM)": log_p(p.b_x)[1],
             "you kept the term b_r . r_t, which does not involve y_t": value + float(p.b_y[M:] @ EX_R),
             "you left out the normalizer over the observation states": num,
             "your normalizer leaves out the hidden biases of the states it sums over": log_p(c, False)[1],
             "your normalizer sums the hidden states' own terms only; the observations are not summed out":
                 num - lse(X @ c)}
    return result("log p(y_t | r_t)", compare_scalar(answer, value, "the log-probability", rtol=1e-8, hints=hints))


#: Exercise (c): the bar's width and the track's length, in pixels (the statement spells them out).
BAR_WIDTH, TRACK_LENGTH = 4, 15


def n_world_states(answer) -> object:
    """Exercise (c), ``ex-10-2-4-states``: the fewest hidden states an exact HMM of a bar :data:`BAR_WIDTH` pixels
    wide bouncing on :data:`TRACK_LENGTH` pixels needs, an integer."""
    from .references import ch10_dynamical as refs
    value, problems = as_integer(answer, "the number of states")
    if not problems and value != refs.fewest_world_states(BAR_WIDTH, TRACK_LENGTH):
        # one message for every wrong count, two states per position included: none says which way to move
        problems = ["that is not the fewest number of states that determine the next frame: re-check your "
                    "count against `step`, state by state."]
    return result("states of the moving-bar world", problems)


_STATES3 = ((np.arange(8)[:, None] >> np.arange(3)) & 1).astype(float)


def _draw_posterior(rng) -> np.ndarray:
    """A posterior over 8 configurations, in hundredths, each at least 0.01, far from factorial."""
    from .references import ch10_dynamical as refs
    while True:
        q = (1 + rng.multinomial(92, rng.dirichlet(np.full(8, 0.7)))) / 100
        if np.abs(q - refs.factorial_distribution(q, _STATES3)).max() > 0.05:
            return q


#: Exercise (d): a posterior over the 2^3 hidden configurations at step t, in the order of hm.states(3).
EX_POSTERIOR = book_or_drawn(np.array([0.30, 0.02, 0.03, 0.15, 0.05, 0.10, 0.05, 0.30]), _draw_posterior,
                             seed=10244)


def factorial_posterior(answer) -> object:
    """Exercise (d), ``ex-10-2-4-factorial``: the distribution over the 8 hidden configurations (order of
    ``hm.states(3)``) that the means of :data:`EX_POSTERIOR` stand for when the units are read as independent (the
    statement names that reading: the next step's bias is linear in the configuration, so it cannot tell apart two
    distributions with the same means). Slips named: the posterior itself, the means alone, the reverse bit order."""
    from .references import ch10_dynamical as refs
    expected = refs.factorial_distribution(EX_POSTERIOR, _STATES3)
    X = _STATES3
    reverse = np.array([int("".join(str(int(b)) for b in row), 2) for row in X])
    hints = {"you passed the whole posterior on; the next step never sees it": EX_POSTERIOR,
             "your states are in the reverse bit order of hm.states(3)": expected[reverse]}
    means = EX_POSTERIOR @ X
    arr = np.asarray(answer, dtype=float) if isinstance(answer, (list, tuple, np.ndarray)) else None
    if arr is not None and arr.shape == (3,) and np.allclose(arr, means, rtol=1e-8):
        return result("what the recurrent EFH passes on",
                      ["these are the numbers passed on; the exercise asks for the distribution over the 8 "
                       "configurations that the next step takes them to stand for."])
    return result("what the recurrent EFH passes on",
                  compare_array(answer, expected, "the distribution", rtol=1e-8, hints=hints))


def _cd1_cases():
    """Hidden problems (params, Y, U_x, U_y): one of a single step, one with M = 1."""
    rng = problem_rng(10244)
    cases = []
    for M, K, T in [(4, 3, 6), (3, 2, 9), (5, 4, 5), (1, 2, 4), (4, 3, 1)]:
        p = EFHParams(W=rng.normal(0.0, 1.0, size=(K, M + K)), b_x=rng.normal(0.0, 0.5, size=K),
                      b_y=rng.normal(0.0, 0.5, size=M + K))
        Y = rng.integers(0, 2, size=(T, M)).astype(float)
        cases.append((p, Y, rng.random((T, K)), rng.random((T, M))))
    return cases


def _as_triple(out):
    if hasattr(out, "W") and hasattr(out, "b_x") and hasattr(out, "b_y"):
        return out.W, out.b_x, out.b_y
    if isinstance(out, (tuple, list)) and len(out) == 3:
        return tuple(out)
    return None


def conditional_cd1_function(fn) -> object:
    """Exercise ``ex-10-2-4-conditional-cd``: your function ``fn(params, Y, U_x, U_y)`` returning the CD-1 estimate
    ``(dW, db_x, db_y)`` of the gradient of a sequence's conditional log-likelihood under a recurrent EFH, r_t clamped
    in the negative phase.

    ``Y`` is binary (T, M); ``U_x`` (T, K) and ``U_y`` (T, M) are the uniforms of the hidden sample and the
    reconstruction. Slips named: r_t regenerated (CD on the joint), a recurrence never run, from zeros or one step
    ahead, the hidden sample in the positive phase, probabilities in the negative one, the sampling rule reversed, no
    dynamic bias, an average.
    """
    from .references import ch10_dynamical as refs
    def judge(out, where, p, Y, U_x, U_y):
        ref = refs.cd1_variant(p, Y, U_x, U_y)
        triple = _as_triple(out)
        if triple is None:
            return tuple_problems(out, 3, "the three arrays (dW, db_x, db_y)", where)
        slips = refs.cd1_slips(p, Y, U_x, U_y)
        return [problem for j, name in enumerate(("dW", "db_x", "db_y"))
                for problem in compare_array(triple[j], ref[j], f"{name} on {where}", rtol=1e-8, atol=1e-10,
                                             hints={msg: wrong[j] for msg, wrong in slips.items()})]

    cases = [(f"test problem {i + 1} (T = {Y.shape[0]}, M = {Y.shape[1]}, K = {p.W.shape[0]})", (p, Y, U_x, U_y))
             for i, (p, Y, U_x, U_y) in enumerate(_cd1_cases())]
    return check_function("CD-1 of the recurrent EFH's conditional", fn, cases, judge, name="my_cd1_conditional",
                          signature="(params, Y, U_x, U_y)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-10-2-4-conditional-cd": {"same_data": FUNCTION_ANSWER},
    "ex-10-2-4-states": {"same_data": "the statement spells out the numbers; the answer is a count of that world"},
}
