r"""Checkers for the exercises of notebooks 3.2-3.4 (deep belief networks, the Helmholtz machine, recurrent EFHs)."""
from __future__ import annotations

import itertools

import numpy as np
from scipy.special import expit as _sig

from ..harmonium.helmholtz import HelmholtzParams
from ..harmonium.model import EFHParams
from .checker import (FUNCTION_ANSWER, book_or_drawn, compare_array, compare_scalar, compare_statements, problem_rng,
                      result, check_function, tuple_problems)

__all__ = ["EX_RBM", "EX_HM", "EX_HM_R", "EX_HM1", "EX_Y", "EX_X1", "EX_REFH", "EX_SEQ", "gaussian_prior",
           "emission_prob", "dbn_posterior_factorial", "log_likelihood_gradient", "recognition_prob",
           "sleep_fixed_point", "recurrent_input", "same_hidden_conditional", "trbm_configurations",
           "dbn_log_marginal_function", "wake_sleep_step_function", "refh_filter_function"]


def _weights(rng, shape, scale):
    """Weights or biases of the given shape, of the same order as the book's (one decimal, no negative zero)."""
    return np.round(rng.normal(0.0, scale, size=shape), 1) + 0.0


def _draw_rbm(rng):
    """An RBM of the same kind as the book's EX_RBM, for one student (K = 2, M = 3)."""
    return EFHParams(W=_weights(rng, (2, 3), 0.9), b_x=_weights(rng, 2, 0.4), b_y=_weights(rng, 3, 0.4))


#: Exercise (a): an RBM with K = 2 hidden and M = 3 visible units.
EX_RBM = book_or_drawn(EFHParams(W=np.array([[1.0, -0.5, 0.8], [0.3, 1.2, -0.7]]), b_x=np.array([0.2, -0.4]),
                                 b_y=np.array([-0.1, 0.3, 0.5])), _draw_rbm, seed=3201)


def _draw_hm(rng):
    """A machine like EX_HM: layers (3, 2, 1), generative weights drawn, recognition weights zero."""
    return HelmholtzParams(G=[_weights(rng, (3, 2), 1.2), _weights(rng, (2, 1), 1.5)],
                           g=[_weights(rng, 3, 0.6), _weights(rng, 2, 0.4)], b_top=_weights(rng, 1, 0.5),
                           R=[np.zeros((2, 3)), np.zeros((1, 2))], r=[np.zeros(2), np.zeros(1)])


#: Exercise (b): a Helmholtz machine with layers (M, K1, K2) = (3, 2, 1).
EX_HM = book_or_drawn(
    HelmholtzParams(G=[np.array([[1.5, -1.0], [-0.5, 2.0], [0.8, 0.3]]), np.array([[2.0], [-1.5]])],
                    g=[np.array([-0.5, 0.2, -1.0]), np.array([0.1, 0.4])], b_top=np.array([0.3]),
                    R=[np.zeros((2, 3)), np.zeros((1, 2))], r=[np.zeros(2), np.zeros(1)]),
    _draw_hm, seed=3301)
#: Exercise (b): the data vector (also the visible state of the 3.2 emission exercise).
EX_Y = np.array([1.0, 1.0, 0.0])
#: Section 3.2 emission exercise: a hidden state of EX_RBM.
EX_X1 = np.array([1.0, 0.0])


def _draw_hm_r(rng):
    """EX_HM with a recognition network like EX_HM_R's, clearly decided and not mean-field."""
    while True:
        m = EX_HM._replace(R=[_weights(rng, (2, 3), 0.9), _weights(rng, (1, 2), 0.9)],
                           r=[_weights(rng, 2, 0.3), _weights(rng, 1, 0.3)])
        q1 = 1.0 / (1.0 + np.exp(-(m.R[0] @ EX_Y + m.r[0])))
        S1 = np.array(list(itertools.product((0.0, 1.0), repeat=2)))
        up = 1.0 / (1.0 + np.exp(-(S1 @ m.R[1].T + m.r[1])[:, 0]))
        exact = float(np.prod(np.where(S1 == 1, q1, 1 - q1), axis=1) @ up)
        mean_field = float(1.0 / (1.0 + np.exp(-(m.R[1] @ q1 + m.r[1])[0])))
        if (np.abs(q1 - 0.5).min() > 0.1 and abs(exact - mean_field) > 1e-3
                and abs(exact - 0.5) > 0.02):
            return m


#: Section 3.3 recognition exercise: EX_HM with a recognition network (R[0]: layer 0 -> 1, R[1]: 1 -> 2).
EX_HM_R = book_or_drawn(EX_HM._replace(R=[np.array([[1.2, -0.4, 0.6], [-0.9, 1.1, 0.3]]), np.array([[0.7, -1.3]])],
                                       r=[np.array([-0.2, 0.1]), np.array([0.4])]), _draw_hm_r, seed=3302)


def _draw_hm1(rng):
    """A machine like EX_HM1: 3 visible units, one hidden, no generative weight below 0.3 in size."""
    while True:
        G = _weights(rng, (3, 1), 1.3)
        if np.all(np.abs(G) >= 0.3):
            return HelmholtzParams(G=[G], g=[_weights(rng, 3, 0.8)], b_top=_weights(rng, 1, 0.6),
                                   R=[np.zeros((1, 3))], r=[np.zeros(1)])


#: Section 3.3 sleep exercise: a machine with layers (3, 1); its recognition weights (asked for) are zero.
EX_HM1 = book_or_drawn(HelmholtzParams(G=[np.array([[1.4], [-0.9], [0.6]])], g=[np.array([-0.3, 0.5, -1.1])],
                                       b_top=np.array([0.2]), R=[np.zeros((1, 3))], r=[np.zeros(1)]),
                       _draw_hm1, seed=3303)


def _draw_refh(rng):
    """A recurrent EFH like EX_REFH: W of shape (2, 3 + 2), one decimal."""
    return EFHParams(W=_weights(rng, (2, 5), 0.9), b_x=_weights(rng, 2, 0.3), b_y=_weights(rng, 5, 0.4))


#: Exercise (c): a recurrent EFH, M = 3, K = 2; W is (2, 3 + 2), b_y the observed units' biases first.
EX_REFH = book_or_drawn(EFHParams(W=np.array([[0.9, -0.6, 0.4, 1.1, -0.3], [-0.8, 0.7, 0.5, 0.2, 1.4]]),
                                  b_x=np.array([0.1, -0.2]), b_y=np.array([0.3, -0.5, 0.2, 0.4, -0.2])),
                        _draw_refh, seed=3401)


def _draw_seq(rng):
    """A sequence like EX_SEQ: four one-hot rows of length 3, the first two different."""
    first = rng.permutation(3)[:2]
    return np.eye(3)[np.concatenate([first, rng.integers(0, 3, size=2)])]


#: Exercise (c): one observed sequence of T = 4 steps, shape (4, 3).
EX_SEQ = book_or_drawn(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]), _draw_seq,
                       seed=3402)


def gaussian_prior(h, J12) -> object:
    """Exercise ``ex-3-2-inverted``: for :data:`EX_RBM` with unit-variance Gaussian visible units, your ``h`` (shape
    (2,)) and ``J12`` of the hidden prior p(x) proportional to exp(h^T x + J12 x_1 x_2). Slips named: a coupling
    doubled, halved or left out; biases missing a term of the expansion or its factor."""
    from .references import ch03_deep_models as refs
    name = "the hidden prior of the Gaussian-Bernoulli harmonium"
    p = EX_RBM
    h_ref, J_ref, Wb, sq = refs.gaussian_prior_parts(p)
    J_hints = {"you doubled the coupling (recount how often the cross term x_1 x_2 appears in the expanded "
               "square)": 2 * J_ref,
               "you halved the coupling (recount how often the cross term x_1 x_2 appears in the expanded "
               "square)": 0.5 * J_ref,
               "you left out the coupling: this prior is not a product over the two hidden units": 0.0}
    problems = compare_scalar(J12, J_ref, "J12", rtol=1e-9, hints=J_hints)
    if problems:
        return result(name, problems)
    h_hints = {"you kept only the hidden biases b_x": p.b_x,
               "you left out the diagonal terms of the square": p.b_x + Wb,
               "you kept the diagonal terms of the square without their factor 1/2": p.b_x + Wb + sq,
               "you left out the cross term between W^T x and the visible biases b_y": p.b_x + 0.5 * sq,
               "you counted the cross term with the visible biases twice": p.b_x + 2 * Wb + 0.5 * sq}
    return result(name, compare_array(h, h_ref, "h", rtol=1e-9, atol=1e-12, hints=h_hints))


def log_likelihood_gradient(answer) -> object:
    """Exercise ``ex-3-3-helmholtz``: your gradient of log p(y) of :data:`EX_HM` at :data:`EX_Y` with respect to G[1],
    shape (2, 1). Slips named: the wrong average over hidden configurations (several kinds), g[1] left out, the
    gradient of p(y)."""
    hm = EX_HM
    weights, deltas, deltas_nb = [], [], []
    for x2 in itertools.product((0.0, 1.0), repeat=1):
        x2 = np.array(x2)
        p2 = np.prod(np.where(x2 == 1, _sig(hm.b_top), 1 - _sig(hm.b_top)))
        for x1 in itertools.product((0.0, 1.0), repeat=2):
            x1 = np.array(x1)
            q1 = _sig(hm.G[1] @ x2 + hm.g[1])
            p1 = np.prod(np.where(x1 == 1, q1, 1 - q1))
            q0 = _sig(hm.G[0] @ x1 + hm.g[0])
            p0 = np.prod(np.where(EX_Y == 1, q0, 1 - q0))
            weights.append(p2 * p1 * p0)                              # p(x, y)
            deltas.append(np.outer(x1 - q1, x2))                      # d log p(x, y) / d G[1]
            deltas_nb.append(np.outer(x1 - _sig(hm.G[1] @ x2), x2))
    weights, deltas, deltas_nb = np.array(weights), np.array(deltas), np.array(deltas_nb)
    post = weights / weights.sum()
    ref = np.tensordot(post, deltas, axes=1)
    hints = {"you weighted every hidden configuration equally (the recognition network of EX_HM, whose weights "
             "are zero, does exactly that)": deltas.mean(axis=0),
             "you kept only the most probable hidden configuration": deltas[np.argmax(weights)],
             "you left the biases g[1] out of the prediction of x_1": np.tensordot(post, deltas_nb, axes=1),
             "you differentiated p(y), not log p(y)": weights.sum() * ref,
             "your gradient is zero: averaged over the prior of the hidden units the delta rule vanishes, but "
             "log p(y) depends on y": np.zeros_like(ref)}
    hints = {k: v for k, v in hints.items() if not np.allclose(v, ref, rtol=1e-8, atol=1e-12)}
    return result("gradient of log p(y) of EX_HM in G[1]",
                  compare_array(answer, ref, "the gradient", rtol=1e-8, atol=1e-12, hints=hints))


def recurrent_input(answer) -> object:
    """Exercise ``ex-3-4-recurrent-input``: your belief r_3 of :data:`EX_REFH`, shape (2,), when the first frame of
    :data:`EX_SEQ` is read from r_1 = (1/2, 1/2) and the second is lost. Slips named: r_2, the lost frame used, and
    several stand-ins for it that are not the hidden means given the past."""
    from .references import ch03_deep_models as refs
    p = EX_REFH
    Wy, Wr = p.W[:, :3], p.W[:, 3:]
    r2 = _sig(p.b_x + Wy @ EX_SEQ[0] + Wr @ np.full(2, 0.5))
    ref = refs.belief_after_a_lost_frame(p, r2)
    c = p.b_x + Wr @ r2
    S = np.array(list(itertools.product((0.0, 1.0), repeat=3)))
    log_w = S @ p.b_y[:3] + np.sum(np.logaddexp(0.0, S @ Wy.T + c), axis=1)
    y_mean = np.exp(log_w - np.logaddexp.reduce(log_w)) @ S          # E[y_2 | r_2]
    r2_T = _sig(p.b_x + Wy @ EX_SEQ[0] + Wr.T @ np.full(2, 0.5))
    hints = {"you returned r_2, the belief before the lost frame": r2,
             "you used the second frame of EX_SEQ, but that frame is lost": _sig(c + Wy @ EX_SEQ[1]),
             "you took the lost frame to be all zeros": _sig(c),
             "you put the predicted mean frame E[y_2 | r_2] into Step 3's hidden means": _sig(c + Wy @ y_mean),
             "you weighted every possible frame equally": refs.belief_after_a_lost_frame(p, r2, weights="uniform"),
             "you weighted the frames by the observation's biases alone, leaving the hidden units out of the "
             "prediction": refs.belief_after_a_lost_frame(p, r2, weights="biases"),
             "you used W_r transposed: W[:, 3:] maps the belief r_t to the hidden units, row k for unit k":
                 refs.belief_after_a_lost_frame(p, r2_T, Wr=Wr.T)}
    hints = {k: v for k, v in hints.items() if not np.allclose(v, ref, rtol=1e-8, atol=1e-12)}
    return result("r_3 after a lost frame", compare_array(answer, ref, "r_3", rtol=1e-8, hints=hints))


def dbn_posterior_factorial(answer) -> object:
    """Exercise ``ex-3-2-factorial``: five bools for the statements (a)-(e) about a two-layer DBN, judged all or
    nothing."""
    truth = (False, True, True, False, False)
    return result("the five statements about a DBN's posterior", compare_statements(
        answer, truth, "your answers", hint="Write prior times emission as one exponential and see which terms "
                                            "cancel."))


def emission_prob(answer) -> object:
    """Exercise ``ex-3-2-emission``: your p(:data:`EX_Y` | :data:`EX_X1`) under the directed emission of
    :data:`EX_RBM`, a probability. Slips named: a log-probability, no visible biases, the other direction, a product
    over only the units that are on."""
    p = EX_RBM
    q = _sig(p.b_y + p.W.T @ EX_X1)
    expected = float(np.prod(np.where(EX_Y == 1, q, 1 - q)))
    q_post = _sig(p.b_x + p.W @ EX_Y)
    hints = {"you gave the log-probability, not the probability": np.log(expected),
             "you left out the visible biases b_y": float(np.prod(np.where(EX_Y == 1, _sig(p.W.T @ EX_X1),
                                                                           1 - _sig(p.W.T @ EX_X1)))),
             "you computed the posterior p(x_1 | y_0), the other direction":
                 float(np.prod(np.where(EX_X1 == 1, q_post, 1 - q_post))),
             "you multiplied only the probabilities of the units that are on": float(np.prod(q[EX_Y == 1]))}
    return result("p(y_0 | x_1) of EX_RBM", compare_scalar(answer, expected, "the probability", rtol=1e-8,
                                                           hints=hints))


def recognition_prob(answer) -> object:
    """Exercise ``ex-3-3-recognition``: your q(x_2 = 1 | y) of the recognition network of :data:`EX_HM_R` run up from
    :data:`EX_Y`. Slips named: a log-probability, the top unit off, shortcuts through the middle layer, the generative
    network's posterior."""
    m = EX_HM_R
    q1 = _sig(m.R[0] @ EX_Y + m.r[0])
    S1 = np.array(list(itertools.product((0.0, 1.0), repeat=2)))
    w1 = np.prod(np.where(S1 == 1, q1, 1 - q1), axis=1)              # q(x_1 | y) for every state of x_1
    up = _sig(S1 @ m.R[1].T + m.r[1])[:, 0]                           # q(x_2 = 1 | x_1)
    ref = float(w1 @ up)
    # the generative posterior p(x_2 = 1 | y), by enumeration of the generative joint
    joint = {}
    for x2 in (0.0, 1.0):
        p2 = _sig(m.b_top[0]) if x2 else 1 - _sig(m.b_top[0])
        q = _sig(m.G[1][:, 0] * x2 + m.g[1])
        for x1 in S1:
            p1 = np.prod(np.where(x1 == 1, q, 1 - q))
            q0 = _sig(m.G[0] @ x1 + m.g[0])
            joint[(x2, tuple(x1))] = p2 * p1 * np.prod(np.where(EX_Y == 1, q0, 1 - q0))
    on = sum(v for k, v in joint.items() if k[0] == 1.0)
    hints = {"you gave the log-probability, not the probability": np.log(ref),
             "you gave the probability that the top unit is off": 1.0 - ref,
             "you passed the means of x_1 up the network; x_1 is sampled on the way":
                 float(_sig(m.R[1] @ q1 + m.r[1])[0]),
             "you kept the single most probable state of x_1 instead of all of them": float(up[np.argmax(w1)]),
             "you gave every state of x_1 the same weight": float(up.mean()),
             "you computed the generative network's posterior p(x_2 = 1 | y), not the recognition network's":
                 on / sum(joint.values())}
    return result("recognition probability of the top unit of EX_HM_R",
                  compare_scalar(answer, ref, "the probability", rtol=1e-8, hints=hints))


def sleep_fixed_point(R, r) -> object:
    """Exercise ``ex-3-3-sleep``: for :data:`EX_HM1`, your ``R`` (1, 3) and ``r`` (1,) at which the sleep phase's
    expected update is zero; R is checked first. Slips named: R zero or of the wrong sign; r without the emission's
    normalizers, with half of them, or with their sign reversed."""
    from .references import ch03_deep_models as refs
    name = "the sleep phase's fixed point for EX_HM1"
    m = EX_HM1
    R_ref, r_ref, norm = refs.sleep_fixed_point_parts(m)
    R_hints = {"you left R at zero, but the posterior over the hidden unit depends on the data vector":
                   np.zeros((1, 3)),
               "you reversed the sign of R": -R_ref}
    problems = compare_array(R, R_ref, "R", rtol=1e-9, atol=1e-12, hints=R_hints)
    if problems:
        return result(name, problems)
    sp_g = np.sum(np.logaddexp(0.0, m.g[0]))
    sp_Gg = np.sum(np.logaddexp(0.0, m.G[0][:, 0] + m.g[0]))
    r_hints = {"you kept only the prior's log-odds, but the emission p(y | x) is normalized differently for "
               "x = 1 and x = 0": m.b_top,
               "you reversed the sign of the emission's normalizing terms": m.b_top + norm,
               "you kept the normalizer of the emission for x = 1 but not the one for x = 0": m.b_top - sp_Gg,
               "you kept the normalizer of the emission for x = 0 but not the one for x = 1": m.b_top + sp_g}
    return result(name, compare_array(r, r_ref, "r", rtol=1e-9, atol=1e-12, hints=r_hints))


def same_hidden_conditional(answer) -> object:
    """Exercise ``ex-3-4-same-conditional``: five bools for the statements (a)-(e) about the recurrent EFH, judged all
    or nothing."""
    truth = (True, False, True, True, False)
    return result("the five statements about the recurrent EFH", compare_statements(
        answer, truth, "your answers", hint="Set the weights the statement sets in Steps 2 and 3 and see what "
                                            "is left."))


def trbm_configurations(answer) -> object:
    """Exercise ``ex-3-4-trbm-states``: the number of joint configurations of x_1, ..., x_4 that brute-force
    enumeration in a TRBM with K = 3 hidden units sums over at T = 4."""
    hints = {"you counted the configurations of one step only": 2 ** 3,
             "you counted units, not configurations": 3 * 4,
             "you counted configurations of the T = 4 steps for a single unit": 2 ** 4,
             "you counted the pairs a forward recursion sums over, T 4^K; the question asks what enumeration "
             "of every joint configuration sums over": 4 * 4 ** 3}
    return result("TRBM hidden configurations", compare_scalar(answer, 2 ** 12, "the count", rtol=0, atol=0.5,
                                                               hints=hints))


def _dbn_cases():
    """Hidden (bottom, top) harmoniums, one of them with the inverted bottom harmonium on top."""
    rng = problem_rng(3203)
    cases = []
    for M, K, K2 in [(3, 2, 2), (4, 3, 2), (5, 2, 1), (4, 3, 3)]:
        t0 = EFHParams(W=rng.normal(0.0, 1.2, size=(K, M)), b_x=rng.normal(0.0, 0.5, size=K),
                       b_y=rng.normal(0.0, 0.5, size=M))
        t1 = EFHParams(W=rng.normal(0.0, 1.2, size=(K2, K)), b_x=rng.normal(0.0, 0.5, size=K2),
                       b_y=rng.normal(0.0, 0.5, size=K))
        cases.append((t0, t1))
    t0 = cases[1][0]
    cases.insert(2, (t0, EFHParams(W=t0.W.T.copy(), b_x=t0.b_y.copy(), b_y=t0.b_x.copy())))
    return cases


def dbn_log_marginal_function(fn) -> object:
    """Exercise ``ex-3-2-dbn-marginal``: your function ``fn(theta0, theta1)`` returning log p(y) of every visible
    state (2**M,) in the row order of :func:`pedagogy_lib.harmonium.states`, for the bottom harmonium ``theta0`` and
    the top ``theta1`` over its hidden layer. Slips named: the top left out, a uniform or unnormalized prior, the
    top's hidden layer, another state order, probabilities."""
    from .references import ch03_deep_models as refs
    def judge(out, where, t0, t1):
        return compare_array(out, refs.dbn_log_marginal(t0, t1), f"the output on {where}", rtol=1e-8, atol=1e-10,
                             hints=refs.dbn_slips(t0, t1))

    cases = [(f"test problem {i + 1} (M = {t0.W.shape[1]}, K = {t0.W.shape[0]}, K2 = {t1.W.shape[0]})", (t0, t1))
             for i, (t0, t1) in enumerate(_dbn_cases())]
    return check_function("log marginal of a two-layer DBN", fn, cases, judge, name="my_dbn_log_marginal",
                          signature="(theta0, theta1)")


def _bern_draw(rng, prob):
    return (rng.random(prob.shape) < prob).astype(float)


def _ws_cases():
    """Hidden problems (machine, wake, dream, lr): one layer pair with one sample, square layers."""
    rng = problem_rng(3303)
    cases = []
    for sizes, N in [((4, 3, 2), 5), ((3, 1), 1), ((3, 3, 3), 6), ((5, 3, 4, 2), 4)]:
        L = len(sizes) - 1
        m = HelmholtzParams(G=[rng.normal(0.0, 1.0, size=(sizes[l], sizes[l + 1])) for l in range(L)],
                            g=[rng.normal(0.0, 0.5, size=sizes[l]) for l in range(L)],
                            b_top=rng.normal(0.0, 0.5, size=sizes[-1]),
                            R=[rng.normal(0.0, 1.0, size=(sizes[l + 1], sizes[l])) for l in range(L)],
                            r=[rng.normal(0.0, 0.5, size=sizes[l + 1]) for l in range(L)])
        wake = [rng.integers(0, 2, size=(N, sizes[0])).astype(float)]
        for l in range(L):
            wake.append(_bern_draw(rng, _sig(wake[l] @ m.R[l].T + m.r[l])))
        dream = [_bern_draw(rng, _sig(np.tile(m.b_top, (N, 1))))]
        for l in range(L - 1, -1, -1):
            dream.insert(0, _bern_draw(rng, _sig(dream[0] @ m.G[l].T + m.g[l])))
        cases.append((m, wake, dream, float(rng.uniform(0.05, 0.5))))
    return cases


def _machine_problems(out, ref: HelmholtzParams, where: str, hints: dict) -> list[str]:
    """Field by field, G, g, b_top, R, r; each field's hints are the slips that change it."""
    if out is None:
        return compare_array(None, ref.b_top, f"the output on {where}")
    fields = ("G", "g", "b_top", "R", "r")
    if isinstance(out, tuple) and not hasattr(out, "_fields") and len(out) == 5:
        out = HelmholtzParams(*out)
    if not all(hasattr(out, f) for f in fields):
        return [f"on {where} your function should return a HelmholtzParams (the machine after the step); got "
                f"{type(out).__name__}."]
    L = len(ref.G)
    for f in ("G", "g", "R", "r"):
        got = getattr(out, f)
        if not isinstance(got, (list, tuple)) or len(got) != L:
            return [f"on {where} the field {f} should be a list of {L} arrays, one per layer pair; got "
                    f"{type(got).__name__}" + (f" of length {len(got)}." if isinstance(got, (list, tuple)) else ".")]
    for f in fields:
        pairs = [(f, getattr(out, f), getattr(ref, f), {k: getattr(v, f) for k, v in hints.items()})]
        if f != "b_top":
            pairs = [(f"{f}[{l}]", getattr(out, f)[l], getattr(ref, f)[l],
                      {k: getattr(v, f)[l] for k, v in hints.items()}) for l in range(L)]
        for name, got, want, field_hints in pairs:
            field_hints = {k: v for k, v in field_hints.items() if not np.allclose(v, want, rtol=1e-9, atol=1e-12)}
            problems = compare_array(got, want, f"{name} on {where}", rtol=1e-8, atol=1e-10, hints=field_hints)
            if problems:
                return problems
    return []


def wake_sleep_step_function(fn) -> object:
    """Exercise ``ex-3-3-wake-sleep-step``: your function ``fn(machine, wake, dream, lr)`` returning the
    ``HelmholtzParams`` after one wake-sleep step: (G, g, b_top) by the wake phase's batch-averaged delta rules on
    ``wake`` = [y, x_1, ...], (R, r) by the sleep phase's on ``dream``. Slips named: samples exchanged, a bias left
    out, b_top unchanged, sums, a step against the rules or without lr, the changes returned."""
    from .references import ch03_deep_models as refs
    def judge(out, where, m, wake, dream, lr):
        ref = refs.ws_apply(m, refs.ws_deltas(m, wake, dream), lr)
        return _machine_problems(out, ref, where, refs.ws_slips(m, wake, dream, lr))

    cases = [(f"test problem {i + 1} (layer sizes {tuple(X.shape[1] for X in wake)}, N = {wake[0].shape[0]})",
              (m, wake, dream, lr)) for i, (m, wake, dream, lr) in enumerate(_ws_cases())]
    return check_function("one wake-sleep step of a Helmholtz machine", fn, cases, judge, name="my_wake_sleep_step",
                          signature="(machine, wake, dream, lr)")


def _refh_cases():
    """Hidden problems (params, Y): one frame, M = K, and weights large enough to overflow."""
    rng = problem_rng(3403)
    cases = []
    for M, K, T, scale in [(3, 2, 6, 1.2), (4, 3, 1, 1.2), (2, 4, 7, 1.2), (3, 3, 5, 1.2), (4, 3, 4, 150.0)]:
        params = EFHParams(W=rng.normal(0.0, scale, size=(K, M + K)), b_x=rng.normal(0.0, 0.5, size=K),
                           b_y=rng.normal(0.0, 0.5, size=M + K))
        cases.append((params, rng.integers(0, 2, size=(T, M)).astype(float)))
    return cases


def refh_filter_function(fn) -> object:
    """Exercise ``ex-3-4-refh-filter``: your function ``fn(params, Y)`` returning ``(log_p, R)`` of a recurrent EFH (W
    of shape (K, M + K)) over a binary sequence ``Y`` (T, M): log p(frame t | past) (T,) and the belief used to
    predict frame t (T, K). Slips named in R: the start, the recurrent term, W_y and W_r exchanged, beliefs ahead; in
    log_p: no past, no normalization, no biases, hidden means, b_r^T r_t kept."""
    from .references import ch03_deep_models as refs
    def judge(out, where, p, Y):
        (T, M), K = Y.shape, p.W.shape[0]
        beliefs = refs.refh_beliefs(p, Y)
        problems = tuple_problems(out, 2, "the pair (log_p, R)", where)
        if problems:
            return problems
        R_hints = {"you started the recursion from zeros, not from the starting value of the statement":
                       refs.refh_beliefs(p, Y, start=0.0)[:T],
                   "you left the recurrent term out of the belief update": refs.refh_beliefs(p, Y, recurrent=False)[:T],
                   "your beliefs are one step ahead: row t should be the belief before frame t arrives, not after":
                       beliefs[1:]}
        if M == K:
            R_hints["you exchanged W_y and W_r (the first M columns of W belong to the observation)"] = \
                refs.refh_beliefs(p, Y, swapped=True)[:T]
        problems = compare_array(out[1], beliefs[:T], f"R on {where}", rtol=1e-8, atol=1e-10, hints=R_hints)
        if problems:
            return problems
        lp_hints = {"you left the past out of the hidden biases: that is a static harmonium's prediction":
                        refs.refh_log_probs(p, Y, beliefs, past=False),
                    "you predicted each frame from the belief that already includes it":
                        refs.refh_log_probs(p, Y, beliefs[1:]),
                    "you did not normalize over the frames: the log-partition function is missing":
                        refs.refh_log_probs(p, Y, beliefs, normalize=False),
                    "you left the observation's visible biases out": refs.refh_log_probs(p, Y, beliefs, obs_bias=False),
                    "you summed the hidden units' means where the sum over each hidden unit's two states belongs":
                        refs.refh_log_probs(p, Y, beliefs, means=True),
                    "you kept the recurrent units' bias term b_r^T r_t in the frame's log-probability; with r_t "
                    "clamped it is a constant that the normalization over frames removes (Step 1)":
                        refs.refh_log_probs(p, Y, beliefs) + beliefs[:T] @ p.b_y[M:]}
        with np.errstate(all="ignore"):
            return compare_array(out[0], refs.refh_log_probs(p, Y, beliefs), f"log_p on {where}", rtol=1e-8, atol=1e-10,
                                 hints=lp_hints)

    cases = []
    for i, (p, Y) in enumerate(_refh_cases()):
        (T, M), K = Y.shape, p.W.shape[0]
        cases.append((f"test problem {i + 1} (M = {M}, K = {K}, {T} frame{'s' if T > 1 else ''})", (p, Y)))
    return check_function("one-step predictions and belief states of a recurrent EFH", fn, cases, judge,
                          name="my_refh_filter", signature="(params, Y)")


#: For the grader: per exercise, data drawn for each student ("variant"), or why all get the same ("same_data").
SUMMATIVE = {
    "ex-3-2-dbn-marginal": {"same_data": FUNCTION_ANSWER},
    "ex-3-3-wake-sleep-step": {"same_data": FUNCTION_ANSWER},
    "ex-3-2-factorial": {"same_data": "the answer is five True/False statements that no data change"},
    "ex-3-4-refh-filter": {"same_data": FUNCTION_ANSWER},
    "ex-3-4-same-conditional": {"same_data": "the answer is five True/False statements that no data change"},
    "ex-3-4-trbm-states": {"same_data": "the statement spells out its numbers; the answer is a count"},
}
