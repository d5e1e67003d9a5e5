"""Checkers for the exercises of notebook 10.2.4 (dynamical harmoniums: TRBM, RTRBM, recurrent EFH).

Use in the notebook as::

    from pedagogy_lib.exercises import ch10_dynamical as check
    check.conditional_bias(my_c)         # says what is wrong, never the answer

A recurrent EFH with ``M`` observed and ``K`` hidden units has ``W`` of shape ``(K, M + K)``:
``W[:, :M]`` is W_y, ``W[:, M:]`` is W_r. Reference answers are computed in this module,
independently of the library.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..harmonium.model import EFHParams
from .checker import as_integer, book_or_drawn, compare_array, compare_bool, compare_scalar, result

__all__ = ["EX_REFH", "EX_R", "EX_YT", "conditional_bias", "predictive_log_prob", "n_world_states",
           "passes_full_posterior"]


def _draw_refh(rng) -> EFHParams:
    """A recurrent EFH of the book's shapes for one student: W of shape (3, 7) with one-decimal weights
    between -1.2 and 1.2, biases between -0.3 and 0.3, and zero visible biases on the recurrent units."""
    b_y = np.concatenate([np.round(rng.uniform(-0.3, 0.3, 4), 1) + 0.0, np.zeros(3)])
    return EFHParams(W=np.round(rng.uniform(-1.2, 1.2, (3, 7)), 1) + 0.0,
                     b_x=np.round(rng.uniform(-0.3, 0.3, 3), 1) + 0.0, b_y=b_y)


def _draw_r(rng) -> np.ndarray:
    """Three hidden means between 0.1 and 0.9 (one decimal)."""
    return np.round(rng.uniform(0.1, 0.9, 3), 1)


def _draw_yt(rng) -> np.ndarray:
    """An observation of 4 binary units."""
    return rng.integers(0, 2, 4).astype(float)


#: A recurrent EFH with M = 4 observed and K = 3 hidden units.
EX_REFH = book_or_drawn(EFHParams(W=np.array([[1.1, -0.4, 0.6, -0.9, 0.8, -0.2, 0.3],
                                              [-0.5, 0.9, -0.7, 0.4, -0.6, 1.0, 0.2],
                                              [0.3, 0.2, 1.2, -1.0, 0.1, 0.4, -0.8]]),
                                  b_x=np.array([-0.2, 0.1, 0.3]), b_y=np.array([0.2, -0.3, 0.1, 0.0, 0.0, 0.0, 0.0])),
                        _draw_refh, seed=10241)
#: The recurrent input r_t (the previous step's hidden means).
EX_R = book_or_drawn(np.array([0.9, 0.2, 0.6]), _draw_r, seed=10242)
#: The observation y_t.
EX_YT = book_or_drawn(np.array([1.0, 0.0, 1.0, 0.0]), _draw_yt, seed=10243)


def _conditional():
    p = EX_REFH
    return p.b_x + p.W[:, 4:] @ EX_R, p.W[:, :4], p.b_y[:4]


def conditional_bias(answer) -> object:
    """Exercise (a), ``ex-10-2-4-bias``: your hidden biases of the RBM over y_t that :data:`EX_REFH`
    becomes when r_t = :data:`EX_R` is clamped.

    Pass an array of shape (3,), one bias per hidden unit. The checker recognizes the first K columns
    of W taken in place of W_r, and left-out biases.
    """
    p = EX_REFH
    c, _, _ = _conditional()
    K = p.W.shape[0]
    # W_y = W[:, :M] has M columns and cannot multiply r_t (K entries); the slip that does run is taking
    # the first K columns of W, which belong to W_y, in place of W_r = W[:, M:]
    hints = {"you took the first K columns of W (they belong to W_y) instead of W_r, the K columns after "
             "the M columns of W_y": p.b_x + p.W[:, :K] @ EX_R,
             "you left out the hidden biases b_x": p.W[:, 4:] @ EX_R}
    return result("hidden biases given r_t", compare_array(answer, c, "the biases", rtol=1e-10, hints=hints))


def predictive_log_prob(answer) -> object:
    """Exercise (b), ``ex-10-2-4-predictive``: your log-probability of y_t = :data:`EX_YT` given
    r_t = :data:`EX_R` under :data:`EX_REFH`, normalized over all 16 observation states; a single number.

    The checker recognizes a probability given for its log, the recurrent input ignored, and a
    missing normalizer.
    """
    c, Wy, by = _conditional()
    Y = np.array(list(itertools.product((0.0, 1.0), repeat=4)))
    X = np.array(list(itertools.product((0.0, 1.0), repeat=3)))
    negE = (X @ c)[:, None] + (Y @ by)[None, :] + X @ Wy @ Y.T
    marg = np.exp(negE).sum(axis=0)
    col = int(np.argmax(np.all(Y == EX_YT, axis=1)))
    value = float(np.log(marg[col] / marg.sum()))
    p = EX_REFH
    negE0 = (X @ p.b_x)[:, None] + (Y @ by)[None, :] + X @ Wy @ Y.T
    m0 = np.exp(negE0).sum(axis=0)
    hints = {"you gave the probability, not its logarithm": np.exp(value),
             "you ignored the recurrent input (a static RBM)": float(np.log(m0[col] / m0.sum())),
             "you left out the normalizer over the 16 observation states": float(np.log(marg[col]))}
    return result("log p(y_t | r_t)", compare_scalar(answer, value, "the log-probability", rtol=1e-8, hints=hints))


def n_world_states(answer) -> object:
    """Exercise (c), ``ex-10-2-4-states``: the number of hidden states the exact HMM of a bar 3 pixels wide
    bouncing on 12 pixels needs, so that the state determines the next frame; an integer."""
    value, problems = as_integer(answer, "the number of states")
    if not problems and value != 2 * (12 - 3 + 1):
        if value in (10, 12, 24, 9):
            problems = ["count the positions the left end of the bar can take, and remember the direction of travel."]
        else:
            problems = ["a state must determine the next frame: where the bar is and which way it moves."]
    return result("states of the moving-bar world", problems)


def passes_full_posterior(answer) -> object:
    """Exercise (d), the last of notebook 10.2.4: True or False, "the recurrent EFH passes its full
    posterior over the previous hidden layer (all 2^K probabilities) on to the next step"."""
    return result("what the recurrent EFH passes on", compare_bool(answer, False, "your answer"))


#: For the graded (nbgrader) version: why some exercises keep the same data for every student
#: (courseware/grading.py).
SUMMATIVE = {
    "ex-10-2-4-states": {"same_data": "the statement spells out the numbers (a bar three pixels wide on twelve "
                                      "pixels); the answer is a count of that named world"},
    "ex-10-2-4-factorial": {"same_data": "a True/False question about what the recurrent EFH passes on; it has no "
                                         "data"},
}
