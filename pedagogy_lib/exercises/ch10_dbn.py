r"""Checkers for the exercises of notebook 10.2.3 (learning deep belief networks by greedy stacking).

Use in the notebook as::

    from pedagogy_lib.exercises import ch10_dbn as check
    check.aggregated(my_vector)          # says what is wrong, never the answer

States are indexed as in :func:`pedagogy_lib.harmonium.states` (bit ``k`` of the index is unit ``k``).
Reference answers are computed in this module, independently of the library.
"""
from __future__ import annotations

import numpy as np

from ..harmonium.model import EFHParams
from .checker import book_or_drawn, compare_array, compare_bool, compare_scalar, result

__all__ = ["EX_RBM", "EX_TOP", "EX_PY", "EX_Y0", "aggregated", "tight_bound", "dbn_marginal", "stacking_stalls"]


def _draw_harmonium(rng, K: int, M: int) -> EFHParams:
    """A harmonium with K hidden and M visible units and one-decimal parameters of the book's size:
    weights between -1.5 and 1.5, biases between -0.5 and 0.5."""
    return EFHParams(W=np.round(rng.uniform(-1.5, 1.5, (K, M)), 1) + 0.0,
                     b_x=np.round(rng.uniform(-0.5, 0.5, K), 1) + 0.0, b_y=np.round(rng.uniform(-0.5, 0.5, M), 1) + 0.0)


def _draw_rbm(rng) -> EFHParams:
    """A bottom harmonium of the book's shape (K = 2, M = 4), for one student."""
    return _draw_harmonium(rng, 2, 4)


def _draw_top(rng) -> EFHParams:
    """A top harmonium of the book's shape (K = 3, M = 2), for one student."""
    return _draw_harmonium(rng, 3, 2)


def _draw_py(rng) -> np.ndarray:
    """A data distribution over 16 states for one student: probabilities in hundredths, each at least 0.01."""
    return (1 + rng.multinomial(84, rng.dirichlet(np.full(16, 2.0)))) / 100


def _draw_y0(rng) -> np.ndarray:
    """A visible state of 4 binary units."""
    return rng.integers(0, 2, 4).astype(float)


#: The bottom harmonium: K = 2 hidden, M = 4 visible units.
EX_RBM = book_or_drawn(EFHParams(W=np.array([[1.4, -0.6, 0.9, -1.1], [-0.7, 1.3, 0.4, 0.8]]),
                                 b_x=np.array([-0.3, 0.2]), b_y=np.array([0.1, -0.2, 0.3, 0.0])), _draw_rbm, seed=10231)
#: A top harmonium over the bottom one's hidden layer: K = 3 hidden, M = 2 visible units.
EX_TOP = book_or_drawn(EFHParams(W=np.array([[1.0, -1.2], [0.5, 0.9], [-0.8, 0.3]]), b_x=np.array([0.1, -0.1, 0.2]),
                                 b_y=np.array([-0.4, 0.6])), _draw_top, seed=10232)
#: The data distribution over the 16 visible states of EX_RBM.
EX_PY = book_or_drawn(np.array([0.12, 0.02, 0.05, 0.01, 0.09, 0.03, 0.10, 0.02, 0.04, 0.11, 0.03, 0.06, 0.02, 0.14,
                                0.05, 0.11]), _draw_py, seed=10233)
#: Exercise (c): the visible state.
EX_Y0 = book_or_drawn(np.array([1.0, 0.0, 1.0, 1.0]), _draw_y0, seed=10234)


def _states(n):
    idx = np.arange(2 ** n)
    return ((idx[:, None] >> np.arange(n)) & 1).astype(float)


def _joint(p: EFHParams):
    X, Y = _states(p.W.shape[0]), _states(p.W.shape[1])
    negE = (X @ p.b_x)[:, None] + (Y @ p.b_y)[None, :] + X @ p.W @ Y.T
    J = np.exp(negE)
    return J / J.sum(), X, Y                                   # [x, y]


def _aggregated():
    J, X, Y = _joint(EX_RBM)
    post = J / J.sum(axis=0, keepdims=True)                    # p(x | y), [x, y]
    return post @ EX_PY


def aggregated(answer) -> object:
    """Exercise (a), ``ex-10-2-3-aggregated``: your aggregated posterior (Eq. 10.24) of :data:`EX_RBM` under
    :data:`EX_PY`.

    Pass a vector of 4 probabilities, one per hidden state in the order of ``hm.states(2)``. The
    checker recognizes the harmonium's own prior and an unweighted average.
    """
    J, X, Y = _joint(EX_RBM)
    hints = {"you gave the harmonium's prior p(x), which ignores the data distribution": J.sum(axis=1),
             "you averaged the posteriors with equal weights instead of p(y)": (J / J.sum(axis=0)).mean(axis=1)}
    return result("aggregated posterior (Eq. 10.24)", compare_array(answer, _aggregated(), "the aggregated posterior",
                                                                    rtol=1e-8, hints=hints))


def _mre_rbm():
    J, _, _ = _joint(EX_RBM)
    m = J.sum(axis=0)
    return float(np.sum(EX_PY * np.log(EX_PY / m)))


def tight_bound(answer) -> object:
    """Exercise (b), ``ex-10-2-3-tight``: your joint relative entropy of Eq. 10.25 when the top is the
    inverted :data:`EX_RBM` (theta_1 = theta_0), under :data:`EX_PY`; a single number in nats.

    The checker recognizes a wrong sign and an extra entropy term.
    """
    J, _, _ = _joint(EX_RBM)
    post = J / J.sum(axis=0, keepdims=True)
    cond_entropy = float(-np.sum(EX_PY[None, :] * post * np.log(post)))
    hints = {"you gave the negative of the relative entropy": -_mre_rbm(),
             "you added the recognition model's entropy; at theta1 = theta0 the PRE is zero": _mre_rbm() + cond_entropy}
    return result("JRE at theta1 = theta0", compare_scalar(answer, _mre_rbm(), "the JRE", rtol=1e-8, hints=hints))


def dbn_marginal(answer) -> object:
    """Exercise (c), ``ex-10-2-3-marginal``: your marginal probability of :data:`EX_Y0` under the DBN with
    bottom :data:`EX_RBM` (used as a directed emission) and top :data:`EX_TOP`; a probability, not its log.

    The checker recognizes the bottom harmonium's own marginal and a log-probability.
    """
    Jt, _, _ = _joint(EX_TOP)
    prior = Jt.sum(axis=0)                                      # p(x1; theta1): the top's visible marginal
    X = _states(2)
    q = 1 / (1 + np.exp(-(X @ EX_RBM.W + EX_RBM.b_y)))          # p(y_j = 1 | x1)
    emit = np.prod(np.where(EX_Y0 == 1, q, 1 - q), axis=1)
    value = float(prior @ emit)
    J, _, Y = _joint(EX_RBM)
    col = int(np.argmax(np.all(Y == EX_Y0, axis=1)))
    hints = {"you gave the bottom harmonium's own marginal p(y0; theta0)": J.sum(axis=0)[col],
             "you gave log p(y0), not the probability": np.log(value)}
    return result("DBN marginal at EX_Y0", compare_scalar(answer, value, "p(y0)", rtol=1e-8, hints=hints))


def stacking_stalls(answer) -> object:
    """Exercise (d), the last of notebook 10.2.3: True or False, "if the bottom harmonium's
    aggregated posterior already equals its own prior, a second harmonium started at
    theta1 = theta0 receives a zero gradient, whether or not the bottom one fits the data"."""
    return result("does stacking stall?", compare_bool(answer, True, "your answer"))


#: For the graded (nbgrader) version: why some exercises keep the same data for every student
#: (courseware/grading.py).
SUMMATIVE = {
    "ex-10-2-3-stall": {"same_data": "a True/False question about greedy stacking; it has no data"},
}
