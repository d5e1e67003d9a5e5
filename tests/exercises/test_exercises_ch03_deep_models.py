"""Tests for the Section 3.2, 3.3 and 3.4 exercise checkers (pedagogy_lib.exercises.ch03_deep_models).

References come from the library (invert, helmholtz_log_likelihood, recurrent_inputs), a different
route from the checkers' explicit loops.
"""
from __future__ import annotations

import itertools

import numpy as np

from pedagogy_lib.exercises import ch03_deep_models as check
from pedagogy_lib.harmonium import (EFHParams, dbn_visible_log_probs, directed_table, hidden_log_probs, invert,
                                    log_marginal_table, states, visible_log_probs)
from pedagogy_lib.harmonium import helmholtz as hh
from pedagogy_lib.harmonium import recurrent as rec


def _gaussian_prior_from_the_library():
    """(h, J12) read off the library's hidden log-probabilities of EX_RBM with Gaussian visible units, by
    enumeration over the four hidden states: h_k = log p(e_k) - log p(0), J12 = the interaction contrast."""
    p = check.EX_RBM
    lp = hidden_log_probs(EFHParams(p.W, p.b_x, p.b_y, visible="gaussian"))
    S = states(2)
    at = {tuple(s): v for s, v in zip(S, lp)}
    h = np.array([at[(1.0, 0.0)] - at[(0.0, 0.0)], at[(0.0, 1.0)] - at[(0.0, 0.0)]])
    J12 = at[(1.0, 1.0)] - at[(1.0, 0.0)] - at[(0.0, 1.0)] + at[(0.0, 0.0)]
    return h, J12


def test_gaussian_prior():
    h, J12 = _gaussian_prior_from_the_library()
    np.testing.assert_allclose(J12, -0.86, rtol=1e-12)                 # w_1 . w_2 of the book's EX_RBM, by hand
    assert check.gaussian_prior(h, J12)
    assert check.gaussian_prior(list(h), float(J12))
    p = check.EX_RBM
    Wb, sq = p.W @ p.b_y, np.sum(p.W ** 2, axis=1)
    J_cases = [(2 * J12, "doubled"), (0.5 * J12, "halved"), (0.0, "left out the coupling")]
    for J, phrase in J_cases:
        r = check.gaussian_prior(h, J)
        assert not r and phrase in str(r), (phrase, str(r))
    h_cases = [(p.b_x, "only the hidden biases"), (p.b_x + Wb, "left out the diagonal"),
               (p.b_x + Wb + sq, "without their factor 1/2"), (p.b_x + 0.5 * sq, "visible biases b_y"),
               (p.b_x + 2 * Wb + 0.5 * sq, "twice")]
    for wrong, phrase in h_cases:
        r = check.gaussian_prior(wrong, J12)
        assert not r and phrase in str(r), (phrase, str(r))
    assert not check.gaussian_prior(None, None)


def test_gaussian_prior_is_not_the_pages_inverted_harmonium():
    """Step 1 of the page states the Bernoulli case (hm.invert); its prior's parameters are not the answer."""
    inv = invert(check.EX_RBM)
    lp = visible_log_probs(inv)                                          # the Bernoulli harmonium's prior
    h_b = np.array([lp[1] - lp[0], lp[2] - lp[0]])
    J_b = lp[3] - lp[1] - lp[2] + lp[0]
    assert not check.gaussian_prior(h_b, J_b)


def _log_lik_gradient_by_differences():
    """d log p(y) / d G[1] of EX_HM at EX_Y by central differences of the library's exact log-likelihood."""
    m, y = check.EX_HM, check.EX_Y[None, :]
    grad = np.zeros_like(m.G[1])
    h = 1e-6
    for idx in np.ndindex(*m.G[1].shape):
        E = np.zeros_like(m.G[1])
        E[idx] = h
        up = hh.helmholtz_log_likelihood(m._replace(G=[m.G[0], m.G[1] + E]), y)
        down = hh.helmholtz_log_likelihood(m._replace(G=[m.G[0], m.G[1] - E]), y)
        grad[idx] = (up - down) / (2 * h)
    return grad


def _posterior_and_deltas(m, y, bias=True):
    """The exact posterior p(x | y) over the 8 hidden configurations of a machine, Step 3's delta rule for G[1]
    at each (the biases g[1] left out of the prediction if not ``bias``) and the joint p(x, y), by
    enumeration."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    bern = lambda v, q: np.prod(np.where(v == 1, q, 1 - q))  # noqa: E731
    w, D = [], []
    for x2 in states(1):
        for x1 in states(2):
            q1 = sig(m.G[1] @ x2 + m.g[1])
            w.append(bern(x2, sig(m.b_top)) * bern(x1, q1) * bern(y, sig(m.G[0] @ x1 + m.g[0])))
            D.append(np.outer(x1 - (q1 if bias else sig(m.G[1] @ x2)), x2))
    w = np.array(w)
    return w / w.sum(), np.array(D), w


def test_log_likelihood_gradient():
    ref = _log_lik_gradient_by_differences()
    assert np.abs(ref).max() > 1e-3
    assert check.log_likelihood_gradient(ref)
    post, D, _ = _posterior_and_deltas(check.EX_HM, check.EX_Y)
    np.testing.assert_allclose(np.tensordot(post, D, axes=1), ref, rtol=1e-7, atol=1e-10)
    r = check.log_likelihood_gradient(-ref)
    assert not r and "sign" in str(r)
    assert not check.log_likelihood_gradient(ref.T[0])


def test_log_likelihood_gradient_the_pages_log_p_does_not_pass():
    """The page's posteriors builds the joint table whose log-sum is log p(y), the exercise's earlier answer;
    it is not the gradient."""
    lp = hh.helmholtz_log_likelihood(check.EX_HM, check.EX_Y[None, :])
    assert not check.log_likelihood_gradient(lp)
    assert not check.log_likelihood_gradient(np.full((2, 1), lp))


def test_log_likelihood_gradient_recognizes_the_slips_its_help_names():
    m, y = check.EX_HM, check.EX_Y
    post, D, w = _posterior_and_deltas(m, y)
    cases = [(D.mean(axis=0), "equally"), (D[np.argmax(w)], "most probable"),
             (np.tensordot(post, _posterior_and_deltas(m, y, bias=False)[1], axes=1), "biases g[1]"),
             (np.zeros((2, 1)), "zero"), (w.sum() * np.tensordot(post, D, axes=1), "p(y), not log p(y)")]
    for wrong, phrase in cases:
        r = check.log_likelihood_gradient(wrong)
        assert not r and phrase in str(r), (phrase, str(r))


def _r3_after_a_lost_frame_by_brute_force():
    """r_2 from the library's recurrence on y_1; then E[x_2 | r_2] with y_2 summed out, by enumerating every
    joint state (x_2, y_2) of the harmonium with its recurrent units clamped to r_2 (the full energy, the
    recurrent units' biases included) and normalizing."""
    p, Y = check.EX_REFH, check.EX_SEQ
    r2 = rec.recurrent_inputs(p, Y[None, :2])[0][1]                # r_2: built from y_1 alone
    X, Sy = states(2), states(3)
    V = np.hstack([Sy, np.tile(r2, (len(Sy), 1))])
    neg_energy = (X @ p.b_x)[:, None] + (V @ p.b_y)[None, :] + X @ p.W @ V.T          # [x, y]
    joint = np.exp(neg_energy - neg_energy.max())
    joint /= joint.sum()
    return joint.sum(axis=1) @ X, r2


def test_recurrent_input():
    ref, r2 = _r3_after_a_lost_frame_by_brute_force()
    assert check.recurrent_input(ref)
    res = check.recurrent_input(r2)
    assert not res and "r_2" in str(res)
    assert not check.recurrent_input(ref + 1e-4)


def test_recurrent_input_the_pages_step_3_copied_does_not_pass():
    """Cell 11's belief update copied twice with EX_SEQ's frames reads the second frame, which is lost."""
    p, Y = check.EX_REFH, check.EX_SEQ
    r = np.full(2, 0.5)
    for t in range(2):
        r = 1 / (1 + np.exp(-(p.b_x + p.W[:, :3] @ Y[t] + p.W[:, 3:] @ r)))
    res = check.recurrent_input(r)
    assert not res and "lost" in str(res)


def test_recurrent_input_recognizes_the_stand_ins_for_the_lost_frame():
    p = check.EX_REFH
    ref, r2 = _r3_after_a_lost_frame_by_brute_force()
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    Wy, c = p.W[:, :3], p.b_x + p.W[:, 3:] @ r2
    Sy = states(3)
    # the prediction p(y_2 | r_2) from the library's static harmonium with hidden biases c
    pred = np.exp(visible_log_probs(EFHParams(Wy, c, p.b_y[:3])))
    means = sig(Sy @ Wy.T + c)
    np.testing.assert_allclose(pred @ means, ref, rtol=1e-10)
    cases = [(sig(c), "all zeros"), (sig(c + Wy @ (pred @ Sy)), "mean frame"),
             (means.mean(axis=0), "equally")]
    for wrong, phrase in cases:
        res = check.recurrent_input(wrong)
        assert not res and phrase in str(res), (phrase, str(res))


def _all_or_nothing(checker, truth):
    """A list of five statements: only the right list passes, every wrong list gets one message naming no
    statement, and strings or numbers are not bools."""
    assert checker(list(truth))
    assert checker([np.bool_(v) for v in truth])
    messages = set()
    for flips in itertools.chain.from_iterable(itertools.combinations(range(5), k) for k in range(1, 6)):
        wrong = [not v if i in flips else v for i, v in enumerate(truth)]
        r = checker(wrong)
        assert not r
        messages.add(str(r))
    assert len(messages) == 1 and "(a)" not in messages.pop()
    for fake in (str, int):
        r = checker([fake(v) for v in truth])
        assert not r and "should be the bool" in str(r)
    assert not checker(truth[0]) and not checker(list(truth[:4])) and not checker(None)


def _factorial_gap(t0, t1):
    """The largest, over data vectors, relative entropy of the DBN's exact posterior over x_1 from the product
    of its own marginals (zero iff the posterior is factorial), by enumeration."""
    emit = directed_table(t0).T                                          # [x1, y0]
    joint = emit * np.exp(visible_log_probs(t1))[:, None]
    post = (joint / joint.sum(axis=0, keepdims=True)).T                  # [y0, x1]
    S = states(t0.K)
    m = post @ S
    prod = np.prod(np.where(S[None] == 1, m[:, None, :], 1 - m[:, None, :]), axis=2)
    return float(np.max(np.sum(post * np.log(post / prod), axis=1)))


def test_dbn_posterior_factorial_statements_by_enumeration():
    """Each statement on a random DBN (K = 3, M = 4): (a) and (d), (e) not factorial, (b) factorial, and (c)
    the DBN's marginal equals that of the bottom harmonium with its hidden biases replaced."""
    rng = np.random.default_rng(21)
    t0 = EFHParams(1.2 * rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=4))
    top = invert(t0)
    assert _factorial_gap(t0, top) < 1e-12
    assert _factorial_gap(t0, top._replace(b_x=top.b_x + rng.normal(size=4))) > 1e-5          # (a)
    t1b = top._replace(b_y=top.b_y + rng.normal(size=3))
    assert _factorial_gap(t0, t1b) < 1e-12                                                    # (b)
    np.testing.assert_allclose(dbn_visible_log_probs([t0, t1b]),
                               visible_log_probs(t0._replace(b_x=t1b.b_y)), atol=1e-12)      # (c)
    t1 = EFHParams(1.5 * rng.normal(size=(2, 3)), rng.normal(size=2), rng.normal(size=3))
    assert _factorial_gap(t0._replace(W=0 * t0.W), t1) > 1e-4                                 # (d)
    assert _factorial_gap(t0, t1._replace(W=0 * t1.W)) > 1e-4                                 # (e)
    truth = (False, True, True, False, False)                                 # what the checks above found
    assert check.dbn_posterior_factorial(list(truth))
    _all_or_nothing(check.dbn_posterior_factorial, truth)
    assert not check.dbn_posterior_factorial([True, False, True, False, True])   # the old, restating set
    assert not check.dbn_posterior_factorial(False)


def _index(rows, state):
    return int(np.flatnonzero(np.all(rows == state, axis=1))[0])


def test_emission_prob():
    # the library's directed table [y0, x1], indexed by state enumeration
    table = directed_table(check.EX_RBM)
    ref = table[_index(states(3), check.EX_Y), _index(states(2), check.EX_X1)]
    assert check.emission_prob(ref)
    r = check.emission_prob(np.log(ref))
    assert not r and "log-probability" in str(r)
    assert not check.emission_prob(ref * 1.3)


def _recognition_joint(m, y):
    """The recognition network's joint q(x1, x2 | y) over all (x1, x2), layer by layer, as a dict."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    table = {}
    for x1 in states(2):
        for x2 in states(1):
            q1, q2 = sig(m.R[0] @ y + m.r[0]), sig(m.R[1] @ x1 + m.r[1])
            table[(tuple(x1), tuple(x2))] = np.prod(q1 ** x1 * (1 - q1) ** (1 - x1)) * \
                np.prod(q2 ** x2 * (1 - q2) ** (1 - x2))
    return table


def _top_on_by_sampling(m, y, n, rng):
    """The share of n up-passes of the recognition network from y that end with the top unit on."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    x1 = (rng.random((n, 2)) < sig(m.R[0] @ y + m.r[0])).astype(float)
    return float(np.mean(rng.random(n) < sig(x1 @ m.R[1][0] + m.r[1][0])))


def test_recognition_prob():
    # brute force: the recognition network's joint over all (x1, x2), summed over x1 at x2 = 1
    m = check.EX_HM_R
    table = _recognition_joint(m, check.EX_Y)
    assert abs(sum(table.values()) - 1) < 1e-12
    ref = sum(v for k, v in table.items() if k[1] == (1.0,))
    # and by simulating up-passes: within 5 standard errors
    n = 400_000
    mc = _top_on_by_sampling(m, check.EX_Y, n, np.random.default_rng(33))
    assert abs(mc - ref) < 5 * np.sqrt(ref * (1 - ref) / n)
    assert check.recognition_prob(ref)
    r = check.recognition_prob(np.log(ref))
    assert not r and "log-probability" in str(r)
    r = check.recognition_prob(1 - ref)
    assert not r and "off" in str(r)


def test_recognition_prob_the_pages_joint_and_the_old_answer_do_not_pass():
    """The page's posteriors builds the joint table of the recognition network; one of its entries (the
    exercise's earlier answer, x1 = (1, 0) and x2 = 1) is not the marginal of the top unit."""
    table = _recognition_joint(check.EX_HM_R, check.EX_Y)
    for k, v in table.items():
        assert not check.recognition_prob(v), k


def test_recognition_prob_recognizes_the_means_passed_up_and_the_generative_posterior():
    m, y = check.EX_HM_R, check.EX_Y
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    r = check.recognition_prob(float(sig(m.R[1] @ sig(m.R[0] @ y + m.r[0]) + m.r[1])[0]))
    assert not r and "means of x_1" in str(r)
    # the generative posterior p(x2 = 1 | y) from the library's log-likelihood: p(y, x2 = 1) / p(y)
    one_top = m._replace(G=[m.G[0], m.G[1]], b_top=np.array([50.0]))
    p_y_given_top = np.exp(hh.helmholtz_log_likelihood(one_top, y[None]))
    prior_on = sig(m.b_top[0])
    post = prior_on * p_y_given_top / np.exp(hh.helmholtz_log_likelihood(m, y[None]))
    r = check.recognition_prob(float(post))
    assert not r and "generative network's posterior" in str(r), str(r)


def _sleep_fixed_point_by_regression():
    """(R, r) from the exact posterior p(x = 1 | y) of EX_HM1 by enumeration over the 8 data vectors: its
    log-odds, fitted exactly by least squares on [y, 1]."""
    m = check.EX_HM1
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    Y = states(3)
    q1, q0 = sig(m.G[0][:, 0] + m.g[0]), sig(m.g[0])
    lik1 = np.prod(np.where(Y == 1, q1, 1 - q1), axis=1)
    lik0 = np.prod(np.where(Y == 1, q0, 1 - q0), axis=1)
    prior = sig(m.b_top[0])
    post = prior * lik1 / (prior * lik1 + (1 - prior) * lik0)
    X = np.hstack([Y, np.ones((8, 1))])
    coef, res, *_ = np.linalg.lstsq(X, np.log(post / (1 - post)), rcond=None)
    assert np.allclose(X @ coef, np.log(post / (1 - post)), atol=1e-12)     # exactly linear in y
    return coef[None, :3], coef[3:], Y, post, prior * lik1 + (1 - prior) * lik0


def test_sleep_fixed_point():
    R, r, Y, post, p_y = _sleep_fixed_point_by_regression()
    assert check.sleep_fixed_point(R, r)
    # the sleep phase's expected delta rule vanishes there: E_{p(x, y)}[(x - sigma(R y + r)) [y, 1]] = 0
    q = 1 / (1 + np.exp(-(Y @ R[0] + r[0])))
    np.testing.assert_allclose((p_y * (post - q)) @ np.hstack([Y, np.ones((8, 1))]), 0.0, atol=1e-12)
    m = check.EX_HM1
    G, g = m.G[0][:, 0], m.g[0]
    sp = lambda z: np.logaddexp(0, z)  # noqa: E731
    R_cases = [(np.zeros((1, 3)), "left R at zero"), (-R, "reversed the sign of R")]
    for wrong, phrase in R_cases:
        res = check.sleep_fixed_point(wrong, r)
        assert not res and phrase in str(res), (phrase, str(res))
    r_cases = [(m.b_top, "only the prior's log-odds"),
               (m.b_top + np.sum(sp(G + g) - sp(g)), "reversed the sign"),
               (m.b_top - np.sum(sp(G + g)), "for x = 1 but not the one for x = 0"),
               (m.b_top + np.sum(sp(g)), "for x = 0 but not the one for x = 1")]
    for wrong, phrase in r_cases:
        res = check.sleep_fixed_point(R, wrong)
        assert not res and phrase in str(res), (phrase, str(res))
    assert not check.sleep_fixed_point(None, None)


def test_drawn_sleep_problems_have_the_fixed_point_of_the_enumeration():
    import importlib

    from pedagogy_lib.exercises.checker import drawn_for

    try:
        for salt in range(5):
            with drawn_for(salt):
                importlib.reload(check)
                R, r, *_ = _sleep_fixed_point_by_regression()
                assert check.sleep_fixed_point(R, r)
                assert not check.sleep_fixed_point(R, check.EX_HM1.b_top)
    finally:
        importlib.reload(check)


def test_same_hidden_conditional_statements_by_brute_force():
    """Each statement on a random recurrent EFH, the predictions by enumerating the clamped joint."""
    rng = np.random.default_rng(34)
    M, K = 3, 2
    p = EFHParams(rng.normal(size=(K, M + K)), rng.normal(size=K), rng.normal(size=M + K))
    Y = rng.integers(0, 2, size=(1, 6, M)).astype(float)
    Sy, Sx = states(M), states(K)

    def predict(q, r):
        V = np.hstack([Sy, np.tile(r, (len(Sy), 1))])
        neg_e = (Sx @ q.b_x)[:, None] + (V @ q.b_y)[None, :] + Sx @ q.W @ V.T
        lw = np.logaddexp.reduce(neg_e, axis=0)
        return np.exp(lw - np.logaddexp.reduce(lw))

    no_y = p._replace(W=np.hstack([np.zeros((K, M)), p.W[:, M:]]))
    R = rec.recurrent_inputs(no_y, Y)[0]
    for t in range(6):                                                                        # (a)
        np.testing.assert_allclose(predict(no_y, R[t]), predict(no_y, R[0]), atol=1e-12)
    assert np.max(np.abs(R[1] - R[0])) > 0.01                                                 # (b)
    p1 = EFHParams(rng.normal(size=(3, 1 + 3)), rng.normal(size=3), rng.normal(size=4))        # (c): M = 1, K = 3
    r, Sy1 = rng.random(3), states(1)
    c = p1.b_x + p1.W[:, 1:] @ r
    w = p1.W[:, 0]
    sp = lambda z: np.logaddexp(0, z)  # noqa: E731
    V = np.hstack([Sy1, np.tile(r, (2, 1))])
    neg_e = (states(3) @ p1.b_x)[:, None] + (V @ p1.b_y)[None, :] + states(3) @ p1.W @ V.T
    lw = np.logaddexp.reduce(neg_e, axis=0)
    np.testing.assert_allclose(np.exp(lw[1] - np.logaddexp.reduce(lw)),
                               1 / (1 + np.exp(-(p1.b_y[0] + np.sum(sp(c + w) - sp(c))))), rtol=1e-12)
    def p_on(q, rr):                                     # M = K = 1: sum the four states (x, y) by hand
        w_y, w_r = q.W[0]
        weight = {(x, y): np.exp(q.b_x[0] * x + q.b_y[0] * y + q.b_y[1] * rr + x * (w_y * y + w_r * rr))
                  for x in (0, 1) for y in (0, 1)}
        return (weight[0, 1] + weight[1, 1]) / sum(weight.values())

    for b_x, b_y in ((0.2, 0.3), (-1.0, 0.5), (2.0, -1.0)):                                   # (d)
        q = EFHParams(np.array([[-1.3, -0.7]]), np.array([b_x]), np.array([b_y, 0.4]))
        on = [p_on(q, rr) for rr in (0.1, 0.5, 0.9)]
        assert on[0] < on[1] < on[2], on
    no_r = p._replace(W=np.hstack([p.W[:, :M], np.zeros((K, K))]))                           # (e)
    Y2 = Y.copy()
    Y2[0, :3] = 1 - Y2[0, :3]                                                                # other early frames
    np.testing.assert_allclose(rec.recurrent_inputs(no_r, Y)[0][4:], rec.recurrent_inputs(no_r, Y2)[0][4:],
                               atol=1e-12)
    truth = (True, False, True, True, False)                                 # what the checks above found
    assert check.same_hidden_conditional(list(truth))
    _all_or_nothing(check.same_hidden_conditional, truth)
    assert not check.same_hidden_conditional([True, True, True, False, False])   # the old, restating set
    assert not check.same_hidden_conditional(True)


def test_trbm_configurations():
    assert check.trbm_configurations(len(states(12)))
    r = check.trbm_configurations(8)
    assert not r and "one step" in str(r)
    r = check.trbm_configurations(12)
    assert not r and "2 **" not in str(r) and "raising" not in str(r) and "power" not in str(r)


def _dbn_solution(theta0, theta1):
    """The notebook's solution: the prior from the softplus form of Step 1, the emission as Bernoullis."""
    X1, Y0 = states(theta0.K), states(theta0.M)
    a = X1 @ theta1.b_y + np.logaddexp(0, X1 @ theta1.W.T + theta1.b_x).sum(1)
    log_prior = a - np.logaddexp.reduce(a)
    eta = X1 @ theta0.W + theta0.b_y
    log_emit = Y0 @ (-np.logaddexp(0, -eta)).T + (1 - Y0) @ (-np.logaddexp(0, eta)).T
    return np.logaddexp.reduce(log_emit + log_prior, axis=1)


def test_dbn_log_marginal_function_accepts_the_solution_and_the_library():
    assert check.dbn_log_marginal_function(_dbn_solution)
    assert check.dbn_log_marginal_function(lambda t0, t1: dbn_visible_log_probs([t0, t1]))


def test_dbn_log_marginal_function_names_the_slips():
    import itertools

    def slip(fn):
        r = check.dbn_log_marginal_function(fn)
        assert not r
        return str(r)

    assert "left the top harmonium out" in slip(lambda t0, t1: visible_log_probs(t0))
    assert "same prior probability" in slip(lambda t0, t1: np.log(directed_table(t0).mean(axis=1)))
    assert "did not normalize the prior" in slip(
        lambda t0, t1: np.log(directed_table(t0) @ np.exp(log_marginal_table(t1, "visible"))))
    assert "hidden-layer marginal" in slip(
        lambda t0, t1: np.log(directed_table(t0) @ np.exp(visible_log_probs(invert(t1)))))
    assert "another order" in slip(lambda t0, t1: dbn_visible_log_probs([t0, t1])[
        [int("".join(str(b) for b in s[::-1]), 2) for s in itertools.product((0, 1), repeat=t0.M)]])
    assert "exponential of the answer" in slip(lambda t0, t1: np.exp(dbn_visible_log_probs([t0, t1])))
    assert "forget to return" in slip(lambda t0, t1: None)
    assert "raised AttributeError" in slip(lambda t0, t1: t0.V)
    assert "should be a function" in str(check.dbn_log_marginal_function(check.EX_RBM))


def test_dbn_log_marginal_function_reaches_the_inverted_top_and_reveals_no_answer():
    import re

    msg = str(check.dbn_log_marginal_function(lambda t0, t1: _dbn_solution(t0, t1) + 0.01 * np.arange(2 ** t0.M)))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    # right except with the inverted bottom harmonium on top (problem 3), where the answer is theta0's own marginal
    inverted = lambda t0, t1: t1.W.shape == t0.W.T.shape and np.allclose(t1.W, t0.W.T)  # noqa: E731
    msg = str(check.dbn_log_marginal_function(lambda t0, t1: _dbn_solution(t0, t1) + (1.0 if inverted(t0, t1) else 0.0)))
    assert "test problem 3 (M = 4, K = 3, K2 = 4)" in msg, msg
    assert check.dbn_log_marginal_function(lambda t0, t1: visible_log_probs(t0) if inverted(t0, t1)
                                           else _dbn_solution(t0, t1))


# --- Section 3.3: one wake-sleep step ------------------------------------------------------------------------

def _sig(z):
    return 1 / (1 + np.exp(-z))


def _wake_sleep_solution(machine, wake, dream, lr):
    """The notebook's solution: per layer pair, a delta rule on the up-pass samples (generative fields)
    and one on the dreams (recognition fields), averaged over the batch."""
    N = wake[0].shape[0]
    G, g, R, r = [], [], [], []
    for l in range(len(machine.G)):
        err = wake[l] - _sig(wake[l + 1] @ machine.G[l].T + machine.g[l])
        G.append(machine.G[l] + lr * err.T @ wake[l + 1] / N)
        g.append(machine.g[l] + lr * err.mean(axis=0))
        err = dream[l + 1] - _sig(dream[l] @ machine.R[l].T + machine.r[l])
        R.append(machine.R[l] + lr * err.T @ dream[l] / N)
        r.append(machine.r[l] + lr * err.mean(axis=0))
    b_top = machine.b_top + lr * (wake[-1] - _sig(machine.b_top)).mean(axis=0)
    return hh.HelmholtzParams(G, g, b_top, R, r)


def _wake_sleep_library(machine, wake, dream, lr):
    """The library's wake update; the sleep update as the wake update of the machine turned upside down (its
    recognition network read as a generative one over the reversed list of dreamt layers)."""
    dG, dg, db = hh.wake_update(machine, wake)
    L = len(machine.G)
    upside_down = hh.HelmholtzParams(G=[machine.R[l] for l in range(L - 1, -1, -1)],
                                     g=[machine.r[l] for l in range(L - 1, -1, -1)], b_top=np.zeros(wake[0].shape[1]),
                                     R=[machine.G[l] for l in range(L - 1, -1, -1)],
                                     r=[machine.g[l] for l in range(L - 1, -1, -1)])
    dR, dr, _ = hh.wake_update(upside_down, dream[::-1])
    return hh.HelmholtzParams([a + lr * d for a, d in zip(machine.G, dG)], [a + lr * d for a, d in zip(machine.g, dg)],
                              machine.b_top + lr * db, [a + lr * d for a, d in zip(machine.R, dR[::-1])],
                              [a + lr * d for a, d in zip(machine.r, dr[::-1])])


def test_wake_sleep_step_function_accepts_the_solution_and_the_library():
    assert check.wake_sleep_step_function(_wake_sleep_solution)
    assert check.wake_sleep_step_function(_wake_sleep_library)
    # a plain tuple of the five fields is read as a HelmholtzParams
    assert check.wake_sleep_step_function(lambda m, w, d, lr: tuple(_wake_sleep_solution(m, w, d, lr)))


def _ws_slip(*, wake_on_dreams=False, sleep_on_wake=False, gen_bias=True, rec_bias=True, top=True, average=True):
    """The solution with one slip a student makes."""
    def fn(machine, wake, dream, lr):
        up, down = (dream if wake_on_dreams else wake), (wake if sleep_on_wake else dream)
        N = up[0].shape[0] if average else 1
        G, g, R, r = [], [], [], []
        for l in range(len(machine.G)):
            err = up[l] - _sig(up[l + 1] @ machine.G[l].T + (machine.g[l] if gen_bias else 0))
            G.append(machine.G[l] + lr * err.T @ up[l + 1] / N)
            g.append(machine.g[l] + lr * err.sum(axis=0) / N)
            err = down[l + 1] - _sig(down[l] @ machine.R[l].T + (machine.r[l] if rec_bias else 0))
            R.append(machine.R[l] + lr * err.T @ down[l] / N)
            r.append(machine.r[l] + lr * err.sum(axis=0) / N)
        b_top = machine.b_top + (lr * (up[-1] - _sig(machine.b_top)).sum(axis=0) / N if top else 0)
        return hh.HelmholtzParams(G, g, b_top, R, r)
    return fn


def test_wake_sleep_step_function_names_the_slips():
    def slip(fn):
        r = check.wake_sleep_step_function(fn)
        assert not r
        return str(r)

    assert "generative weights on the dreams" in slip(_ws_slip(wake_on_dreams=True))
    assert "recognition weights on the up-pass samples" in slip(_ws_slip(sleep_on_wake=True))
    assert "generative biases g out" in slip(_ws_slip(gen_bias=False))
    assert "recognition biases r out" in slip(_ws_slip(rec_bias=False))
    assert "b_top unchanged" in slip(_ws_slip(top=False))
    assert "summed the delta rules" in slip(_ws_slip(average=False))
    assert "against the delta rules" in slip(lambda m, w, d, lr: _wake_sleep_solution(m, w, d, -lr))
    assert "without the learning rate" in slip(lambda m, w, d, lr: _wake_sleep_solution(m, w, d, 1.0))
    changes = lambda m, w, d, lr: hh.HelmholtzParams(*[  # noqa: E731
        [b - a for a, b in zip(x, y)] if isinstance(x, list) else y - x
        for x, y in zip(m, _wake_sleep_solution(m, w, d, lr))])
    assert "returned the changes" in slip(changes)
    assert "no step was taken" in slip(lambda m, w, d, lr: m)
    transposed = lambda m, w, d, lr: _wake_sleep_solution(m, w, d, lr)._replace(  # noqa: E731
        R=[R.T for R in _wake_sleep_solution(m, w, d, lr).R])
    assert "transpose" in slip(transposed)
    assert "forget to return" in slip(lambda m, w, d, lr: None)
    assert "raised KeyError" in slip(lambda m, w, d, lr: {}["G"])
    assert "should return a HelmholtzParams" in slip(lambda m, w, d, lr: _wake_sleep_solution(m, w, d, lr).G)
    assert "should be a list of" in slip(lambda m, w, d, lr: _wake_sleep_solution(m, w, d, lr)._replace(R=m.R[0]))
    assert "should be a function" in str(check.wake_sleep_step_function(check.EX_HM))


def test_wake_sleep_step_function_reaches_the_single_sample_and_reveals_no_answer():
    import re

    msg = str(check.wake_sleep_step_function(
        lambda m, w, d, lr: _wake_sleep_solution(m, w, d, lr)._replace(b_top=_wake_sleep_solution(m, w, d, lr).b_top
                                                                        + 0.01)))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    # right except on the single layer pair with one sample (problem 2), where summing equals averaging
    one = lambda m, w, d, lr: len(m.G) == 1 and w[0].shape[0] == 1  # noqa: E731
    msg = str(check.wake_sleep_step_function(
        lambda m, w, d, lr: _wake_sleep_solution(m, w, d, 2 * lr if one(m, w, d, lr) else lr)))
    assert "test problem 2 (layer sizes (3, 1), N = 1)" in msg, msg
    assert check.wake_sleep_step_function(_ws_slip())                # the slips' template without a slip


# --- Section 3.4: the recurrent EFH's pass over a sequence ---------------------------------------------------

def _refh_solution(params, Y):
    """The notebook's solution: Step 2's prediction with softplus in logarithms, then Step 3's update."""
    (T, M), K = Y.shape, params.W.shape[0]
    Wy, Wr, b_obs = params.W[:, :M], params.W[:, M:], params.b_y[:M]
    S = states(M)
    R, log_p = np.empty((T, K)), np.empty(T)
    r = np.full(K, 0.5)
    for t in range(T):
        R[t] = r
        c = params.b_x + Wr @ r
        table = S @ b_obs + np.logaddexp(0, S @ Wy.T + c).sum(axis=1)
        log_p[t] = Y[t] @ b_obs + np.logaddexp(0, Wy @ Y[t] + c).sum() - np.logaddexp.reduce(table)
        r = np.exp(-np.logaddexp(0, -(c + Wy @ Y[t])))
    return log_p, R


def _refh_library(params, Y):
    return rec.predictive_log_probs(params, Y[None])[0], rec.recurrent_inputs(params, Y[None])[0]


def test_refh_filter_function_accepts_the_solution_and_the_library():
    assert check.refh_filter_function(_refh_solution)
    assert check.refh_filter_function(_refh_library)
    assert check.refh_filter_function(lambda p, Y: list(_refh_solution(p, Y)))


def _refh_slip(*, start=0.5, recurrent=True, swap=False, ahead=False, past=True, late=False, normalize=True,
               obs_bias=True, means=False):
    """The solution with one slip a student makes."""
    def fn(params, Y):
        (T, M), K = Y.shape, params.W.shape[0]
        # (exchanged blocks only run where they have the same shape, M = K: problem 4)
        Wy, Wr = (params.W[:, M:], params.W[:, :M]) if swap and M == K else (params.W[:, :M], params.W[:, M:])
        b_obs = params.b_y[:M] if obs_bias else np.zeros(M)
        S = states(M)
        beliefs = [np.full(K, start)]
        for t in range(T):
            beliefs.append(_sig(params.b_x + Wy @ Y[t] + (Wr @ beliefs[t] if recurrent else 0)))
        R = np.array(beliefs[1:] if ahead else beliefs[:T])
        log_p = np.empty(T)
        for t in range(T):
            c = params.b_x + (Wr @ (beliefs[t + 1] if late else beliefs[t]) if past else 0)
            hidden = (lambda z: _sig(z)) if means else (lambda z: np.logaddexp(0, z))
            table = S @ b_obs + hidden(S @ Wy.T + c).sum(axis=1)
            log_p[t] = Y[t] @ b_obs + hidden(Wy @ Y[t] + c).sum() - (np.logaddexp.reduce(table) if normalize else 0)
        return log_p, R
    return fn


def test_refh_filter_function_names_the_slips():
    def slip(fn):
        r = check.refh_filter_function(fn)
        assert not r
        return str(r)

    assert check.refh_filter_function(_refh_slip())                  # the slips' template without a slip
    assert "started the recursion from zeros" in slip(_refh_slip(start=0.0))
    assert "left the recurrent term out" in slip(_refh_slip(recurrent=False))
    assert "exchanged W_y and W_r" in slip(_refh_slip(swap=True))
    assert "one step ahead" in slip(_refh_slip(ahead=True))
    assert "static harmonium" in slip(_refh_slip(past=False))
    assert "already includes it" in slip(_refh_slip(late=True))
    assert "did not normalize" in slip(_refh_slip(normalize=False))
    assert "observation's visible biases out" in slip(_refh_slip(obs_bias=False))
    assert "hidden units' means" in slip(_refh_slip(means=True))
    assert "exponential of the answer" in slip(lambda p, Y: (np.exp(_refh_solution(p, Y)[0]), _refh_solution(p, Y)[1]))
    assert "should return the pair" in slip(lambda p, Y: _refh_solution(p, Y)[0])
    assert "forget to return" in slip(lambda p, Y: None)
    assert "raised IndexError" in slip(lambda p, Y: Y[Y.shape[0]])
    assert "should be a function" in str(check.refh_filter_function(check.EX_SEQ))


def test_refh_filter_function_reaches_the_one_frame_and_overflow_problems_and_reveals_no_answer():
    import re

    msg = str(check.refh_filter_function(lambda p, Y: (_refh_solution(p, Y)[0] - 0.01, _refh_solution(p, Y)[1])))
    assert "test problem 1" in msg and not re.search(r"[0-9]\.[0-9]", msg), msg
    # right except on the sequence of one frame (problem 2)
    msg = str(check.refh_filter_function(
        lambda p, Y: (_refh_solution(p, Y)[0] + (1.0 if len(Y) == 1 else 0.0), _refh_solution(p, Y)[1])))
    assert "test problem 2 (M = 4, K = 3, 1 frame)" in msg, msg

    def exponentiated(params, Y):            # probabilities formed before normalizing: overflows on problem 5
        T, M = Y.shape
        Wy, Wr, S = params.W[:, :M], params.W[:, M:], states(M)
        R = _refh_solution(params, Y)[1]
        log_p = np.empty(T)
        for t in range(T):
            c = params.b_x + Wr @ R[t]
            weight = np.exp(S @ params.b_y[:M]) * np.prod(1 + np.exp(S @ Wy.T + c), axis=1)
            log_p[t] = np.log(weight[int(Y[t] @ 2 ** np.arange(M))] / weight.sum())
        return log_p, R

    with np.errstate(all="ignore"):
        msg = str(check.refh_filter_function(exponentiated))
    assert "test problem 5" in msg and "NaN or inf" in msg, msg


def test_recurrent_input_recognizes_W_r_transposed():
    p, Y = check.EX_REFH, check.EX_SEQ
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    WrT = p.W[:, 3:].T
    r2 = sig(p.b_x + p.W[:, :3] @ Y[0] + WrT @ np.full(2, 0.5))
    c = p.b_x + WrT @ r2
    Sy = states(3)
    pred = np.exp(visible_log_probs(EFHParams(p.W[:, :3], c, p.b_y[:3])))
    res = check.recurrent_input(pred @ sig(Sy @ p.W[:, :3].T + c))
    assert not res and "transposed" in str(res)


def test_refh_filter_recognizes_the_recurrent_bias_term_kept():
    """log p(y_t | r_t) + b_r^T r_t: the constant of the clamped recurrent units, which Step 1 drops."""
    def with_b_r(params, Y):
        log_p, R = _refh_solution(params, Y)
        M = Y.shape[1]
        return log_p + R @ params.b_y[M:], R
    res = check.refh_filter_function(with_b_r)
    assert not res and "b_r^T r_t" in str(res)
