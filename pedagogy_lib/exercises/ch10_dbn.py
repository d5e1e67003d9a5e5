r"""Checkers for the exercises of notebook 10.2.3 (DBNs by greedy stacking); states in the order of
:func:`pedagogy_lib.harmonium.states`."""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..harmonium.model import EFHParams
from .checker import (FUNCTION_ANSWER, as_numeric, book_or_drawn, compare_array, compare_scalar, problem_rng, result,
                      check_function)

__all__ = ["EX_RBM", "EX_TOP", "EX_PY", "EX_Y0", "aggregated", "bound_gap", "dbn_marginal", "stacking_stalls",
           "jre_function"]


def _draw_harmonium(rng, K: int, M: int) -> EFHParams:
    """A harmonium with K hidden and M visible units, one-decimal weights in [-1.5, 1.5] and biases in [-0.5, 0.5]."""
    return EFHParams(W=np.round(rng.uniform(-1.5, 1.5, (K, M)), 1) + 0.0,
                     b_x=np.round(rng.uniform(-0.5, 0.5, K), 1) + 0.0, b_y=np.round(rng.uniform(-0.5, 0.5, M), 1) + 0.0)


def _draw_py(rng) -> np.ndarray:
    """A data distribution over 16 states, in hundredths, each at least 0.01."""
    return (1 + rng.multinomial(84, rng.dirichlet(np.full(16, 2.0)))) / 100


#: The bottom harmonium: K = 2 hidden, M = 4 visible units.
EX_RBM = book_or_drawn(EFHParams(W=np.array([[1.4, -0.6, 0.9, -1.1], [-0.7, 1.3, 0.4, 0.8]]),
                                 b_x=np.array([-0.3, 0.2]), b_y=np.array([0.1, -0.2, 0.3, 0.0])),
                       lambda rng: _draw_harmonium(rng, 2, 4), seed=10231)
#: A top harmonium over the bottom one's hidden layer: K = 3 hidden, M = 2 visible units.
EX_TOP = book_or_drawn(EFHParams(W=np.array([[1.0, -1.2], [0.5, 0.9], [-0.8, 0.3]]), b_x=np.array([0.1, -0.1, 0.2]),
                                 b_y=np.array([-0.4, 0.6])), lambda rng: _draw_harmonium(rng, 3, 2), seed=10232)
#: The data distribution over the 16 visible states of EX_RBM.
EX_PY = book_or_drawn(np.array([0.12, 0.02, 0.05, 0.01, 0.09, 0.03, 0.10, 0.02, 0.04, 0.11, 0.03, 0.06, 0.02, 0.14,
                                0.05, 0.11]), _draw_py, seed=10233)
#: Exercise (c): the visible state.
EX_Y0 = book_or_drawn(np.array([1.0, 0.0, 1.0, 1.0]), lambda rng: rng.integers(0, 2, 4).astype(float),
                      seed=10234)


def aggregated(answer) -> object:
    """Exercise (a), ``ex-10-2-3-aggregated``: your aggregated posterior (Eq. 10.24) of :data:`EX_RBM` under
    :data:`EX_PY`, 4 probabilities in the order of ``hm.states(2)``. Slips named: the harmonium's prior, an unweighted
    average."""
    from .references import ch10_dbn as refs
    J, X, Y = refs.joint_table(EX_RBM)
    hints = {"you gave the harmonium's prior p(x), which ignores the data distribution": J.sum(axis=1),
             "you averaged the posteriors with equal weights instead of p(y)": (J / J.sum(axis=0)).mean(axis=1)}
    expected = refs.aggregated(EX_RBM, EX_PY)
    return result("aggregated posterior (Eq. 10.24)", compare_array(answer, expected, "the aggregated posterior",
                                                                    rtol=1e-8, hints=hints))


def bound_gap(answer) -> object:
    """Exercise (b), ``ex-10-2-3-tight``: your gap of the bound of Eq. 10.25 for :data:`EX_RBM` under :data:`EX_TOP`,
    data :data:`EX_PY`, in nats. Slips named: zero, the KL reversed, an unweighted average, an unnormalized posterior,
    the JRE, the marginal relative entropies."""
    from .references import ch10_dbn as refs
    q, post, marginal, joint = refs.posteriors(EX_RBM, EX_TOP)
    p = EX_PY
    expected = float(np.sum(p[:, None] * q * np.log(q / post)))
    mre_dbn = float(np.sum(p * np.log(p / marginal)))
    hints = {"you gave zero, the gap at the tight start theta1 = theta0; with EX_TOP on top the recognition model "
             "is no longer the DBN's posterior": 0.0,
             "you took the relative entropy the other way round, from the DBN's posterior to the recognition model":
                 float(np.sum(p[:, None] * post * np.log(post / q))),
             "you averaged over the data states with equal weights instead of EX_PY":
                 float(np.mean(np.sum(q * np.log(q / post), axis=1))),
             "your DBN posterior is not normalized over x1": float(np.sum(p[:, None] * q * np.log(q / joint))),
             "you gave the whole JRE; the gap is the part of it above the DBN's marginal relative entropy":
                 expected + mre_dbn,
             "you gave the DBN's marginal relative entropy, the part of the JRE below the gap": mre_dbn,
             "you gave the bottom harmonium's own marginal relative entropy (its MRE)":
                 refs.mre_rbm(EX_RBM, EX_PY)}
    return result("gap of the bound of Eq. 10.25 with EX_TOP on top",
                  compare_scalar(answer, expected, "the gap", rtol=1e-8, atol=1e-12, hints=hints))


def dbn_marginal(answer) -> object:
    """Exercise (c), ``ex-10-2-3-marginal``: your p(:data:`EX_Y0`) under the DBN with bottom :data:`EX_RBM` and top
    :data:`EX_TOP`, a probability. Slips named: the bottom harmonium's marginal, a log."""
    from .references import ch10_dbn as refs
    Jt, _, _ = refs.joint_table(EX_TOP)
    prior = Jt.sum(axis=0)                                      # p(x1; theta1): the top's visible marginal
    X = refs.binary_states(2)
    q = expit(X @ EX_RBM.W + EX_RBM.b_y)                        # p(y_j = 1 | x1)
    emit = np.prod(np.where(EX_Y0 == 1, q, 1 - q), axis=1)
    value = float(prior @ emit)
    J, _, Y = refs.joint_table(EX_RBM)
    col = int(np.argmax(np.all(Y == EX_Y0, axis=1)))
    hints = {"you gave the bottom harmonium's own marginal p(y0; theta0)": J.sum(axis=0)[col],
             "you gave log p(y0), not the probability": np.log(value)}
    return result("DBN marginal at EX_Y0", compare_scalar(answer, value, "p(y0)", rtol=1e-8, hints=hints))


def stacking_stalls(answer) -> object:
    """Exercise (d), ``ex-10-2-3-stall``: the loss the second harmonium descends at theta1 = theta0, for
    :data:`EX_RBM` under :data:`EX_PY`, in nats. Slips named: the KL reversed, a cross entropy, the bottom's MRE,
    zero."""
    from .references import ch10_dbn as refs
    value, agg, prior = refs.second_layer_start(EX_RBM, EX_PY)
    hints = {"you gave the relative entropy with its two arguments the wrong way round":
                 float(np.sum(prior * np.log(prior / agg))),
             "you gave a cross entropy: the loss is a relative entropy": float(-np.sum(agg * np.log(prior))),
             "you gave the bottom harmonium's fit to the data; the second layer never sees y0 directly":
                 refs.mre_rbm(EX_RBM, EX_PY),
             "you gave zero; check whether, for these data, the second layer's data and its starting model "
             "agree": 0.0}
    return result("the second layer's loss at theta1 = theta0",
                  compare_scalar(answer, value, "the loss", rtol=1e-8, hints=hints))


def _jre_cases():
    """Hidden (theta0, theta1, p_y): one with the inverted bottom on top, one with zero-probability data states."""
    rng = problem_rng(10235)
    cases = []
    for M, K, K2 in [(3, 2, 2), (4, 2, 3), (5, 3, 2), (4, 3, 2)]:
        t0 = EFHParams(W=rng.normal(0.0, 1.2, size=(K, M)), b_x=rng.normal(0.0, 0.5, size=K),
                       b_y=rng.normal(0.0, 0.5, size=M))
        t1 = EFHParams(W=rng.normal(0.0, 1.2, size=(K2, K)), b_x=rng.normal(0.0, 0.5, size=K2),
                       b_y=rng.normal(0.0, 0.5, size=K))
        cases.append((t0, t1, rng.dirichlet(np.full(2 ** M, 1.5))))
    t0 = cases[1][0]
    cases.insert(2, (t0, EFHParams(W=t0.W.T.copy(), b_x=t0.b_y.copy(), b_y=t0.b_x.copy()),
                     rng.dirichlet(np.full(2 ** t0.W.shape[1], 1.5))))
    t0, t1, p_y = cases[-1]
    p_y = p_y * (rng.random(p_y.size) < 0.6)                    # some data states never occur
    p_y[0] += 0.0 if p_y.sum() > 0 else 1.0
    cases[-1] = (t0, t1, p_y / p_y.sum())
    return cases


def jre_function(fn) -> object:
    """Exercise ``ex-10-2-3-jre-function``: your function ``fn(theta0, theta1, p_y)`` returning the JRE of Eq. 10.25
    in nats, the bottom's posterior as recognition model, ``p_y`` over the 2**M visible states. Slips named: the DBN's
    marginal relative entropy, the bottom's prior, the theta_1 term alone, an unnormalized prior, the top's hidden
    layer, an entropy term left out."""
    from .references import ch10_dbn as refs
    def judge(out, where, t0, t1, p_y):
        arr, _ = as_numeric(out, "the output")
        if out is not None and arr is None and np.any(p_y == 0):
            return [f"your JRE on {where} is not a finite number; in this problem some data states have "
                    "probability zero, and such a state contributes nothing to the sums."]
        log_q, log_emit, log_prior, _, _ = refs.jre_tables(t0, t1)
        return compare_scalar(out, refs.jre_value(p_y, log_q, log_emit, log_prior), f"the JRE on {where}", rtol=1e-8,
                              atol=1e-10, hints=refs.jre_slips(t0, t1, p_y))

    cases = [(f"test problem {i + 1} (M = {t0.W.shape[1]}, K = {t0.W.shape[0]}, K2 = {t1.W.shape[0]})",
              (t0, t1, p_y)) for i, (t0, t1, p_y) in enumerate(_jre_cases())]
    return check_function("joint relative entropy of a two-layer DBN (Eq. 10.25)", fn, cases, judge, name="my_jre",
                          signature="(theta0, theta1, p_y)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-10-2-3-jre-function": {"same_data": FUNCTION_ANSWER},
}
