"""Tests for the Section 10.2.4 exercise checkers (pedagogy_lib.exercises.ch10_dynamical).

References come from pedagogy_lib.harmonium (the conditional RBM's exact marginal through the
Gray-code enumeration), a different route from the checkers' explicit joint tables.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.exercises import ch10_dynamical as check
from pedagogy_lib.harmonium import EFHParams


def _next_bias():
    """Independently of the checker, through the library: r_{t+1} is the hidden mean of the harmonium with
    [y_t, r_t] clamped, and the next RBM's hidden biases are the hidden natural parameters with only
    r_{t+1} switched on (y_{t+1} left at zero)."""
    from pedagogy_lib import harmonium as hm

    p = check.EX_REFH
    r_next = hm.hidden_mean(p, np.r_[check.EX_YT, check.EX_R][None])[0]
    return hm.hidden_natural(p, np.r_[np.zeros(4), r_next][None])[0], r_next


def test_conditional_bias_looks_one_step_ahead():
    c, r_next = _next_bias()
    assert check.conditional_bias(c)
    assert not check.conditional_bias(c + 1e-6)
    p = check.EX_REFH
    sig = lambda z: 1 / (1 + np.exp(-z))
    Wy, Wr = p.W[:, :4], p.W[:, 4:]
    a = p.b_x + Wy @ check.EX_YT + Wr @ check.EX_R
    for wrong, fragment in [(p.b_x + Wr @ check.EX_R, "step you were given"),
                            (p.b_x + Wr @ a, "missing the sigmoid"),
                            (p.b_x + Wr @ sig(p.b_x + Wr @ check.EX_R), "leaves out the observation"),
                            (p.b_x + Wr @ sig(p.b_x + Wy @ check.EX_YT), "leaves out the previous input"),
                            (r_next, "not the hidden biases"),
                            (c - p.b_x, "left out b_x")]:
        r = check.conditional_bias(wrong)
        assert not r and fragment in str(r), str(r)


def _wide_conditional():
    p = check.EX_WIDE
    K = p.W.shape[0]
    M = p.W.shape[1] - K
    return EFHParams(p.W[:, :M], p.b_x + p.W[:, M:] @ check.EX_R, p.b_y[:M]), M, K


def test_predictive_log_prob():
    # Oracle: the library's Gray-code enumeration of the smaller layer (log_partition) and the free energy
    # of y_t, on the RBM over y_t that r_t leaves; a different route from the checker's joint sums
    from pedagogy_lib.harmonium import free_energy_visible, log_partition

    cond, M, K = _wide_conditional()
    assert (M, K) == (40, 3) and check.EX_YT_WIDE.shape == (40,)
    ref = float(-free_energy_visible(cond, check.EX_YT_WIDE[None])[0] - log_partition(cond))
    assert check.predictive_log_prob(ref)
    r = check.predictive_log_prob(np.exp(ref))
    assert not r and "logarithm" in str(r)
    static = EFHParams(cond.W, check.EX_WIDE.b_x, cond.b_y)
    r = check.predictive_log_prob(float(-free_energy_visible(static, check.EX_YT_WIDE[None])[0]
                                        - log_partition(static)))
    assert not r and "static RBM" in str(r)
    r = check.predictive_log_prob(float(-free_energy_visible(cond, check.EX_YT_WIDE[None])[0]))
    assert not r and "normalizer" in str(r)
    b_r = check.EX_WIDE.b_y[M:]                      # the recurrent units' own biases: nonzero, and they cancel
    assert np.all(b_r != 0)
    r = check.predictive_log_prob(ref + float(b_r @ check.EX_R))
    assert not r and "b_r . r_t" in str(r)


def test_predictive_log_prob_is_beyond_the_pages_enumeration():
    # the page's log_lik lists the observation states with hm.states(M); at M = 40 that cannot run
    import pytest

    from pedagogy_lib import harmonium as hm

    with pytest.raises(ValueError):
        hm.states(check.EX_WIDE.W.shape[1] - check.EX_WIDE.W.shape[0])


def _fewest_states_by_simulation(width, length):
    """Independently of the checker: two (position, direction) states are the same HMM state when every
    future frame sequence from them is the same; with a deterministic world, compare the positions of the
    next 2 * length steps under the page's rule."""
    n_pos = length - width + 1

    def step(q, v):
        if not 0 <= q + v < n_pos:
            v = -v
        return q + v, v

    def future(s):
        out = [s[0]]
        for _ in range(2 * length):
            s = step(*s)
            out.append(s[0])
        return tuple(out)

    return len({future((q, v)) for q in range(n_pos) for v in (-1, 1)})


def test_n_world_states_wants_the_fewest_states_under_the_pages_bounce_rule():
    assert (check.BAR_WIDTH, check.TRACK_LENGTH) == (4, 15)
    fewest = _fewest_states_by_simulation(4, 15)
    assert fewest == 22 and _fewest_states_by_simulation(2, 10) == 16
    assert check.n_world_states(fewest)
    # every (position, direction) pair is enough but not fewest; its message is the same as a count that
    # is too small, so no message says which way to move
    messages = set()
    for wrong in (24, 12, 20, 23, 18):
        r = check.n_world_states(wrong)
        assert not r and "re-check" in str(r)
        assert "position" not in str(r) and "direction" not in str(r)   # no hint that states the fix
        messages.add(str(r))
    assert len(messages) == 1


def test_factorial_posterior_wants_the_factorial_distribution_of_the_passed_means():
    from pedagogy_lib.harmonium import states

    X = states(3)
    r = check.EX_POSTERIOR @ X
    expected = np.prod(np.where(X == 1, r, 1 - r), axis=1)
    assert check.factorial_posterior(expected)
    for guess in (True, False):                      # no longer a True/False question
        assert not check.factorial_posterior(guess)
    r1 = check.factorial_posterior(check.EX_POSTERIOR)
    assert not r1 and "whole posterior" in str(r1)
    r2 = check.factorial_posterior(r)
    assert not r2 and "numbers passed on" in str(r2)



def test_factorial_posterior_statement_must_name_the_independence_reading():
    # The next step's hidden bias b_x + W_r r is linear in the hidden configuration, so the posterior
    # and the factorial distribution with the same means give it the same bias: the model alone does not
    # single out the factorial one, which is why the statement asks for the means read as independent units.
    from pedagogy_lib.harmonium import states

    X, p = states(3), check.EX_REFH
    r = check.EX_POSTERIOR @ X
    factorial = np.prod(np.where(X == 1, r, 1 - r), axis=1)
    Wr = p.W[:, 4:]
    by_posterior = p.b_x + check.EX_POSTERIOR @ (X @ Wr.T)
    by_factorial = p.b_x + factorial @ (X @ Wr.T)
    np.testing.assert_allclose(by_posterior, p.b_x + Wr @ r, rtol=1e-12)
    np.testing.assert_allclose(by_factorial, p.b_x + Wr @ r, rtol=1e-12)
    # yet the two distributions are far apart: the correlations are what the means lose
    assert np.abs(check.EX_POSTERIOR - factorial).max() > 0.05

def test_conditional_bias_names_the_first_K_columns_for_what_they_are():
    # the hint's slice takes K columns of W (W_y's first K; W_y itself has M columns and cannot multiply
    # r_t), so its message must say so rather than call them "the first M columns"
    p, K = check.EX_REFH, check.EX_REFH.W.shape[0]
    r = check.conditional_bias(p.b_x + p.W[:, :K] @ _next_bias()[1])
    assert not r and "first K columns" in str(r) and "first M columns" not in str(r), str(r)


def _cd1_solution(params, Y, U_x, U_y):
    """The notebook's solution: recurrence, positive phase, one Gibbs step over y with r_t clamped."""
    T, M = Y.shape
    K = params.W.shape[0]
    Wy, Wr = params.W[:, :M], params.W[:, M:]
    dW, db_x, db_y = np.zeros_like(params.W), np.zeros(K), np.zeros(M + K)
    r = np.full(K, 0.5)
    for t in range(T):
        c = params.b_x + Wr @ r
        pos = 1 / (1 + np.exp(-(c + Wy @ Y[t])))
        x = (U_x[t] < pos).astype(float)
        y_neg = (U_y[t] < 1 / (1 + np.exp(-(params.b_y[:M] + x @ Wy)))).astype(float)
        neg = 1 / (1 + np.exp(-(c + Wy @ y_neg)))
        dW[:, :M] += np.outer(pos, Y[t]) - np.outer(neg, y_neg)
        dW[:, M:] += np.outer(pos - neg, r)
        db_x += pos - neg
        db_y[:M] += Y[t] - y_neg
        r = pos
    return dW, db_x, db_y


def _cd1_library(params, Y, U_x, U_y, *, joint=False, r_fn=None):
    """Another route: the library's recurrent inputs and the rows [y_t, r_t], vectorized over the steps;
    ``joint`` regenerates r (as probabilities) in the negative phase, ``r_fn`` replaces the recurrence."""
    from pedagogy_lib.harmonium import recurrent as rec
    from pedagogy_lib.harmonium.model import sigmoid

    T, M = Y.shape
    r = rec.recurrent_inputs(params, Y[None])[0] if r_fn is None else r_fn(params, Y)
    V = np.concatenate([Y, r], axis=1)
    pos = sigmoid(V @ params.W.T + params.b_x)
    X = (U_x < pos).astype(float)
    Y_neg = (U_y < sigmoid(X @ params.W[:, :M] + params.b_y[:M])).astype(float)
    R_neg = sigmoid(X @ params.W[:, M:] + params.b_y[M:]) if joint else r
    V_neg = np.concatenate([Y_neg, R_neg], axis=1)
    neg = sigmoid(V_neg @ params.W.T + params.b_x)
    return pos.T @ V - neg.T @ V_neg, (pos - neg).sum(0), (V - V_neg).sum(0)


def _cd1_msg(fn):
    r = check.conditional_cd1_function(fn)
    assert not r
    return str(r)


def test_conditional_cd1_accepts_the_solution_and_the_library_route():
    assert check.conditional_cd1_function(_cd1_solution)
    assert check.conditional_cd1_function(_cd1_library)
    grad = lambda *a: EFHParams(*_cd1_library(*a))          # noqa: E731 - fields W, b_x, b_y are fine
    assert check.conditional_cd1_function(grad)
    assert check.conditional_cd1_function(lambda *a: list(_cd1_solution(*a)))


def test_conditional_cd1_names_the_slips():
    from pedagogy_lib.harmonium.model import sigmoid

    assert "CD on the joint" in _cd1_msg(lambda *a: _cd1_library(*a, joint=True))
    frozen = lambda p, Y: np.full((Y.shape[0], p.W.shape[0]), 0.5)     # noqa: E731
    assert "recurrence never ran" in _cd1_msg(lambda *a: _cd1_library(*a, r_fn=frozen))

    def ahead(p, Y):
        M, r, out = Y.shape[1], np.full(p.W.shape[0], 0.5), []
        for y in Y:
            r = sigmoid(p.b_x + p.W[:, :M] @ y + p.W[:, M:] @ r)
            out.append(r)
        return np.array(out)
    assert "already contains y_t" in _cd1_msg(lambda *a: _cd1_library(*a, r_fn=ahead))

    def from_zeros(p, Y):
        M, r, out = Y.shape[1], np.zeros(p.W.shape[0]), []
        for y in Y:
            out.append(r)
            r = sigmoid(p.b_x + p.W[:, :M] @ y + p.W[:, M:] @ r)
        return np.array(out)
    assert "from zeros" in _cd1_msg(lambda *a: _cd1_library(*a, r_fn=from_zeros))
    assert "averaged over the time steps" in _cd1_msg(
        lambda p, Y, U_x, U_y: tuple(g / Y.shape[0] for g in _cd1_solution(p, Y, U_x, U_y)))
    assert "wrong sign" in _cd1_msg(lambda *a: tuple(-g for g in _cd1_solution(*a)))


def test_conditional_cd1_names_the_phase_slips():
    def variant(pos_sample=False, neg_probs=False, no_dynamic_in_neg=False, above=False, static=False):
        def on(u, q):
            return (u > q if above else u < q).astype(float)

        def fn(params, Y, U_x, U_y):
            T, M = Y.shape
            K = params.W.shape[0]
            Wy, Wr = params.W[:, :M], params.W[:, M:]
            dW, db_x, db_y = np.zeros_like(params.W), np.zeros(K), np.zeros(M + K)
            r = np.full(K, 0.5)
            for t in range(T):
                c = params.b_x + (0.0 if static else Wr @ r)
                pos = 1 / (1 + np.exp(-(c + Wy @ Y[t])))
                x = on(U_x[t], pos)
                q = 1 / (1 + np.exp(-(params.b_y[:M] + x @ Wy)))
                y_neg = q if neg_probs else on(U_y[t], q)
                neg = 1 / (1 + np.exp(-((params.b_x if no_dynamic_in_neg else c) + Wy @ y_neg)))
                stat = x if pos_sample else pos
                dW[:, :M] += np.outer(stat, Y[t]) - np.outer(neg, y_neg)
                dW[:, M:] += np.outer(stat - neg, r)
                db_x += stat - neg
                db_y[:M] += Y[t] - y_neg
                r = pos
            return dW, db_x, db_y
        return fn

    assert "used the hidden sample" in _cd1_msg(variant(pos_sample=True))
    assert "reconstruction's probabilities" in _cd1_msg(variant(neg_probs=True))
    assert "out of the negative phase" in _cd1_msg(variant(no_dynamic_in_neg=True))
    assert "above its probability" in _cd1_msg(variant(above=True))
    assert "altogether" in _cd1_msg(variant(static=True))
    assert check.conditional_cd1_function(variant())


def test_conditional_cd1_reports_errors_none_and_non_functions():
    assert not check.conditional_cd1_function(lambda *a: None)
    assert "forget to return" in _cd1_msg(lambda *a: None)
    assert "raised KeyError" in _cd1_msg(lambda *a: {}["x"])
    assert "three arrays" in _cd1_msg(lambda *a: _cd1_solution(*a)[:2])
    assert "should be a function" in str(check.conditional_cd1_function(check.EX_REFH))


def test_conditional_cd1_reaches_the_single_step_and_reveals_no_answer():
    import re

    msg = _cd1_msg(lambda *a: tuple(g + 0.01 for g in _cd1_solution(*a)))
    assert "test problem 1 (T = 6, M = 4, K = 3)" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    # right except on a sequence of a single step (the last problem)
    msg = _cd1_msg(lambda p, Y, U_x, U_y: tuple(g + (1.0 if Y.shape[0] == 1 else 0.0)
                                                 for g in _cd1_solution(p, Y, U_x, U_y)))
    assert "test problem 5 (T = 1, M = 4, K = 3)" in msg, msg
