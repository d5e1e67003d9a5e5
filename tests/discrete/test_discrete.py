"""Tests for pedagogy_lib.discrete (book Ch. 2 introduction, Eq. 2.1; the three canonical graphs).

Oracles, all independent of the code under test:
* hand computations from the definitions (a disease test, burglary/earthquake/alarm);
* joint tables written as explicit einsum products of the CPTs, then summed by hand;
* Monte Carlo with plain ``rng.choice`` sampling, tolerance 5 standard errors with fixed seeds;
* identities: posterior x evidence = joint, reversing the arrow twice is the identity,
  p(c | a) = P_c_b @ P_b_a on a chain, the order of i.i.d. observations does not matter;
* scikit-learn's CategoricalNB, a generative naive-Bayes classifier, as a peer implementation.
"""
from __future__ import annotations

import numpy as np
import pytest

from pedagogy_lib.discrete import categorical as d

# A disease test: x = 0 healthy, 1 ill; y = 0 negative, 1 positive.
PI = np.array([0.99, 0.01])
P_Y_X = np.array([[0.95, 0.10],     # column x: p(y | x); column 0 healthy, column 1 ill
                  [0.05, 0.90]])


def random_model(rng, K, L):
    pi = rng.dirichlet(np.ones(K))
    P_y_x = rng.dirichlet(np.ones(L), size=K).T          # (L, K), columns sum to one
    return pi, P_y_x


# --------------------------------------------------------------------------------------------
# Two nodes
# --------------------------------------------------------------------------------------------
def test_invert_disease_test_by_hand():
    # p(y=1) = 0.99 * 0.05 + 0.01 * 0.90 = 0.0495 + 0.009 = 0.0585
    # p(ill | +) = 0.009 / 0.0585 = 90 / 585 = 2 / 13
    post = d.invert(PI, P_Y_X, 1)
    np.testing.assert_allclose(post.evidence, 0.0585, rtol=1e-14)
    np.testing.assert_allclose(post.log_evidence, np.log(0.0585), rtol=1e-14)
    np.testing.assert_allclose(post.posterior, [11 / 13, 2 / 13], rtol=1e-13)
    # a negative result: p(y=0) = 0.99 * 0.95 + 0.01 * 0.1 = 0.9415; p(ill | -) = 0.001 / 0.9415
    neg = d.invert(PI, P_Y_X, 0)
    np.testing.assert_allclose(neg.evidence, 0.9415, rtol=1e-14)
    np.testing.assert_allclose(neg.posterior[1], 0.001 / 0.9415, rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_invert_posterior_times_evidence_is_joint(seed):
    rng = np.random.default_rng(seed)
    pi, P_y_x = random_model(rng, K=4, L=3)
    for y in range(3):
        post = d.invert(pi, P_y_x, y)
        joint_column = np.array([P_y_x[y, k] * pi[k] for k in range(4)])   # p(x, y) for fixed y
        np.testing.assert_allclose(post.posterior * post.evidence, joint_column, rtol=1e-12)
        np.testing.assert_allclose(post.posterior.sum(), 1.0, rtol=1e-14)
        # the three forms of Eq. 2.1 agree: ratio, explicit sum, and "proportional to" + normalize
        unnorm = P_y_x[y] * pi
        np.testing.assert_allclose(post.posterior, unnorm / unnorm.sum(), rtol=1e-12)


def test_invert_handles_zero_prior_entries_and_tiny_probabilities():
    pi = np.array([0.5, 0.5, 0.0])
    P_y_x = np.array([[1e-300, 0.2, 0.5], [1 - 1e-300, 0.8, 0.5]])
    post = d.invert(pi, P_y_x, 0)
    assert post.posterior[2] == 0.0
    np.testing.assert_allclose(post.posterior[:2], [1e-300 / (1e-300 + 0.2), 0.2 / (1e-300 + 0.2)], rtol=1e-12)


def test_invert_monte_carlo():
    # Sample (x, y) with rng.choice from the generative story; estimate p(ill | +) and p(+) by
    # frequencies. Tolerance: 5 binomial standard errors.
    rng = np.random.default_rng(11)
    pi = np.array([0.7, 0.3])
    P_y_x = np.array([[0.8, 0.25], [0.2, 0.75]])
    N = 200_000
    x = rng.choice(2, size=N, p=pi)
    y = np.where(rng.random(N) < P_y_x[1, x], 1, 0)
    post = d.invert(pi, P_y_x, 1)
    p_hat = (y == 1).mean()
    assert abs(p_hat - post.evidence) < 5 * np.sqrt(post.evidence * (1 - post.evidence) / N)
    n_pos = int((y == 1).sum())
    q_hat = (x[y == 1] == 1).mean()
    q = post.posterior[1]
    assert abs(q_hat - q) < 5 * np.sqrt(q * (1 - q) / n_pos)


def test_marginal_y_by_hand():
    np.testing.assert_allclose(d.marginal_y(PI, P_Y_X), [0.9415, 0.0585], rtol=1e-14)


@pytest.mark.parametrize("seed", range(4))
def test_reverse_arrow_is_lossless_and_involutive(seed):
    rng = np.random.default_rng(100 + seed)
    pi, P_y_x = random_model(rng, K=3, L=5)
    rev = d.reverse_arrow(pi, P_y_x)
    # same joint, both ways: p(x | y) p(y) = p(y | x) p(x), entry by entry
    for k in range(3):
        for l in range(5):
            np.testing.assert_allclose(rev.P_x_y[k, l] * rev.p_y[l], P_y_x[l, k] * pi[k], rtol=1e-12)
    np.testing.assert_allclose(rev.P_x_y.sum(axis=0), 1.0, rtol=1e-13)
    np.testing.assert_allclose(rev.p_y, P_y_x @ pi, rtol=1e-13)
    back = d.reverse_arrow(rev.p_y, rev.P_x_y)          # invert the inverted arrow
    np.testing.assert_allclose(back.p_y, pi, rtol=1e-12)
    np.testing.assert_allclose(back.P_x_y, P_y_x, rtol=1e-11)
    for l in range(5):                                   # columns agree with invert
        np.testing.assert_allclose(rev.P_x_y[:, l], d.invert(pi, P_y_x, l).posterior, rtol=1e-12)


def test_update_sequence_matches_batch_bayes_and_is_order_free():
    rng = np.random.default_rng(3)
    pi, P_y_x = random_model(rng, K=3, L=4)
    ys = rng.integers(0, 4, size=12)
    seq = d.update_sequence(pi, P_y_x, ys)
    # batch oracle: p(x | y_1:N) proportional to pi(x) prod_n p(y_n | x)
    lik = np.array([np.prod([P_y_x[y, k] for y in ys]) for k in range(3)])
    np.testing.assert_allclose(seq.posteriors[-1], lik * pi / (lik * pi).sum(), rtol=1e-11)
    np.testing.assert_allclose(seq.log_evidence[-1], np.log((lik * pi).sum()), rtol=1e-12)
    np.testing.assert_allclose(seq.posteriors[0], pi)
    assert seq.log_evidence[0] == 0.0
    assert np.all(np.diff(seq.log_evidence) <= 0)        # each step multiplies by a probability
    shuffled = d.update_sequence(pi, P_y_x, rng.permutation(ys))
    np.testing.assert_allclose(shuffled.posteriors[-1], seq.posteriors[-1], rtol=1e-11)
    # one step equals invert with the previous posterior as prior
    step = d.invert(seq.posteriors[4], P_y_x, int(ys[4]))
    np.testing.assert_allclose(step.posterior, seq.posteriors[5], rtol=1e-12)
    np.testing.assert_allclose(seq.log_evidence[5] - seq.log_evidence[4], step.log_evidence, rtol=1e-12)


def test_update_sequence_empty():
    seq = d.update_sequence(PI, P_Y_X, np.array([], dtype=int))
    assert seq.posteriors.shape == (1, 2) and seq.log_evidence.shape == (1,)


# --------------------------------------------------------------------------------------------
# DAGs
# --------------------------------------------------------------------------------------------
def chain_tables(rng, Ka=2, Kb=3, Kc=2):
    p_a = rng.dirichlet(np.ones(Ka))
    P_b_a = rng.dirichlet(np.ones(Kb), size=Ka).T
    P_c_b = rng.dirichlet(np.ones(Kc), size=Kb).T
    return p_a, P_b_a, P_c_b


def test_joint_table_chain_matches_einsum_and_by_hand():
    rng = np.random.default_rng(5)
    p_a, P_b_a, P_c_b = chain_tables(rng)
    g = d.chain(p_a, P_b_a, P_c_b)
    oracle = np.einsum("a,ba,cb->abc", p_a, P_b_a, P_c_b)
    p = d.joint_table(g)
    np.testing.assert_allclose(p, oracle, rtol=1e-13)
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-14)
    assert p[1, 2, 0] == pytest.approx(p_a[1] * P_b_a[2, 1] * P_c_b[0, 2], rel=1e-14)
    # chain identity: p(c | a) = sum_b p(c | b) p(b | a) = (P_c_b @ P_b_a)[c, a]
    for a in range(2):
        np.testing.assert_allclose(d.conditional(g, "c", {"a": a}), (P_c_b @ P_b_a)[:, a], rtol=1e-12)


def test_fork_and_collider_joint_match_einsum():
    rng = np.random.default_rng(6)
    p_b = rng.dirichlet(np.ones(3))
    P_a_b = rng.dirichlet(np.ones(2), size=3).T
    P_c_b = rng.dirichlet(np.ones(4), size=3).T
    f = d.fork(p_b, P_a_b, P_c_b)
    assert f.names == ("b", "a", "c")
    np.testing.assert_allclose(d.joint_table(f), np.einsum("b,ab,cb->bac", p_b, P_a_b, P_c_b), rtol=1e-13)
    p_a, p_c = rng.dirichlet(np.ones(2)), rng.dirichlet(np.ones(3))
    P_b_ac = np.moveaxis(rng.dirichlet(np.ones(2), size=(2, 3)), -1, 0)
    col = d.collider(p_a, p_c, P_b_ac)
    assert col.names == ("a", "c", "b")
    np.testing.assert_allclose(d.joint_table(col), np.einsum("a,c,bac->acb", p_a, p_c, P_b_ac), rtol=1e-13)


def test_marginal_and_conditional_against_einsum():
    rng = np.random.default_rng(7)
    p_a, p_c = rng.dirichlet(np.ones(2)), rng.dirichlet(np.ones(3))
    P_b_ac = np.moveaxis(rng.dirichlet(np.ones(2), size=(2, 3)), -1, 0)
    g = d.collider(p_a, p_c, P_b_ac)
    J = np.einsum("a,c,bac->abc", p_a, p_c, P_b_ac)       # axes (a, b, c) in the oracle
    np.testing.assert_allclose(d.marginal(g, ["b", "a"]), J.sum(axis=2).T, rtol=1e-13)
    np.testing.assert_allclose(d.marginal(g, "c"), p_c, rtol=1e-13)
    # p(a, c | b = 1) from the oracle
    np.testing.assert_allclose(d.conditional(g, ["a", "c"], {"b": 1}), J[:, 1, :] / J[:, 1, :].sum(), rtol=1e-12)
    np.testing.assert_allclose(d.conditional(g, "a", {"b": 1, "c": 2}), J[:, 1, 2] / J[:, 1, 2].sum(), rtol=1e-12)
    np.testing.assert_allclose(d.conditional(g, "a"), p_a, rtol=1e-13)


def test_two_node_dag_agrees_with_invert():
    rng = np.random.default_rng(8)
    pi, P_y_x = random_model(rng, K=3, L=4)
    g = d.make_dag({"x": pi, "y": P_y_x}, {"y": ("x",)})
    for y in range(4):
        np.testing.assert_allclose(d.conditional(g, "x", {"y": y}), d.invert(pi, P_y_x, y).posterior, rtol=1e-12)
    np.testing.assert_allclose(d.marginal(g, "y"), d.marginal_y(pi, P_y_x), rtol=1e-13)


def test_explaining_away_by_hand():
    # burglary a, earthquake c, alarm b. p(a=1) = 0.01, p(c=1) = 0.02.
    # p(b=1 | a, c): (0,0) 0.001, (1,0) 0.94, (0,1) 0.29, (1,1) 0.95.
    pa1, pc1 = 0.01, 0.02
    on = {(0, 0): 0.001, (1, 0): 0.94, (0, 1): 0.29, (1, 1): 0.95}
    P_b_ac = np.empty((2, 2, 2))
    for (a, c), v in on.items():
        P_b_ac[:, a, c] = [1 - v, v]
    g = d.collider([1 - pa1, pa1], [1 - pc1, pc1], P_b_ac)
    pa, pc = {0: 1 - pa1, 1: pa1}, {0: 1 - pc1, 1: pc1}
    alarm = sum(pa[a] * pc[c] * on[a, c] for a in (0, 1) for c in (0, 1))
    burglary_and_alarm = sum(pa[1] * pc[c] * on[1, c] for c in (0, 1))
    p_a_given_b = burglary_and_alarm / alarm
    p_a_given_bc = pa[1] * on[1, 1] / (pa[1] * on[1, 1] + pa[0] * on[0, 1])
    assert d.conditional(g, "a", {"b": 1})[1] == pytest.approx(p_a_given_b, rel=1e-12)
    assert d.conditional(g, "a", {"b": 1, "c": 1})[1] == pytest.approx(p_a_given_bc, rel=1e-12)
    assert p_a_given_bc < p_a_given_b                       # the earthquake explains the alarm away
    assert d.conditional(g, "a")[1] == pytest.approx(pa1)    # a and c independent a priori


@pytest.mark.parametrize("seed", range(6))
def test_canonical_independences(seed):
    rng = np.random.default_rng(seed)
    expected = {"chain": (False, True), "fork": (False, True), "collider": (True, False)}
    for kind, (marg, cond) in expected.items():
        g = d.canonical(kind, rng, K=3, concentration=0.5)
        assert d.is_independent(g, "a", "c") is marg
        assert d.is_independent(g, "a", "c", ["b"]) is cond
        # the failing ones fail by a clear margin on generic CPTs; the true ones are round-off
        gaps = d.ci_discrepancy(g, "a", "c"), d.ci_discrepancy(g, "a", "c", ["b"])
        for holds, gap in zip((marg, cond), gaps):
            assert (gap < 1e-14) if holds else (gap > 1e-6)
        assert d.ci_discrepancy(g, "c", "a", ["b"]) == pytest.approx(gaps[1], abs=1e-15)   # symmetric


def test_independence_oracle_written_out_for_chain():
    # a _|_ c | b on a chain, checked on the einsum joint without the library's CI code
    rng = np.random.default_rng(21)
    p_a, P_b_a, P_c_b = chain_tables(rng)
    J = np.einsum("a,ba,cb->abc", p_a, P_b_a, P_c_b)
    for b in range(3):
        cond = J[:, b, :] / J[:, b, :].sum()
        np.testing.assert_allclose(cond, np.outer(cond.sum(1), cond.sum(0)), atol=1e-15)
    marg = J.sum(axis=1)
    gap = np.max(np.abs(marg - np.outer(marg.sum(1), marg.sum(0))))
    assert d.ci_discrepancy(d.chain(p_a, P_b_a, P_c_b), "a", "c") == pytest.approx(gap, rel=1e-10)


def test_ci_discrepancy_skips_impossible_conditioning_states():
    # b = 2 never happens; conditioning on it must be skipped, not produce NaN
    P_b_a = np.array([[0.7, 0.1], [0.3, 0.9], [0.0, 0.0]])
    P_c_b = np.array([[0.5, 0.2, 0.3], [0.5, 0.8, 0.7]])
    g = d.chain([0.4, 0.6], P_b_a, P_c_b)
    assert d.ci_discrepancy(g, "a", "c", ["b"]) < 1e-15
    assert d.is_independent(g, "a", "c", ["b"])


def test_sample_frequencies_match_joint():
    # each cell frequency within 5 binomial standard errors of the enumerated joint
    rng = np.random.default_rng(31)
    g = d.canonical("collider", rng, K=2)
    N = 100_000
    x = d.sample(g, N, rng)
    assert x.shape == (N, 3) and x.dtype.kind == "i"
    p = d.joint_table(g)
    counts = np.zeros_like(p)
    np.add.at(counts, tuple(x.T), 1)
    se = np.sqrt(p * (1 - p) / N)
    assert np.all(np.abs(counts / N - p) < 5 * se + 1e-12)


def test_sample_deterministic_node():
    g = d.chain([0.0, 1.0], [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    x = d.sample(g, 50, np.random.default_rng(0))
    assert np.all(x[:, 0] == 1) and np.all(x[:, 1] == 2)


def test_naive_bayes_matches_sklearn_categorical_nb():
    # Peer check: CategoricalNB is a generative classifier x -> (y1, y2). Fitted with a negligible
    # smoothing alpha, its parameters are the empirical CPTs, and predict_proba is p(x | y1, y2).
    # sklearn stores log p(y_j | x) per feature as (n_classes, n_categories): the transpose of ours.
    from sklearn.naive_bayes import CategoricalNB

    rng = np.random.default_rng(41)
    n = 400
    x = rng.integers(0, 3, size=n)
    y1 = (rng.random(n) < np.array([0.2, 0.5, 0.9])[x]).astype(int)
    y2 = np.minimum((rng.random(n) * 3 + x) // 1.5, 3).astype(int) % 3
    Y = np.stack([y1, y2], axis=1)
    nb = CategoricalNB(alpha=1e-10, force_alpha=True).fit(Y, x)
    pi = np.exp(nb.class_log_prior_)
    g = d.make_dag({"x": pi / pi.sum(),
                    "y1": np.exp(nb.feature_log_prob_[0]).T,
                    "y2": np.exp(nb.feature_log_prob_[1]).T},
                   {"y1": ("x",), "y2": ("x",)})
    for obs in [(0, 0), (1, 2), (0, 1), (1, 0)]:
        mine = d.conditional(g, "x", {"y1": obs[0], "y2": obs[1]})
        np.testing.assert_allclose(mine, nb.predict_proba(np.array([obs]))[0], atol=1e-8)


# --------------------------------------------------------------------------------------------
# Validation: one test per message
# --------------------------------------------------------------------------------------------
GOOD_PI, GOOD_P = [0.5, 0.5], [[0.9, 0.2], [0.1, 0.8]]


@pytest.mark.parametrize("pi, P, y, match", [
    ([[0.5, 0.5]], GOOD_P, 0, r"pi must be a 1-D array of shape \(K,\)"),
    ([0.5, 0.6], GOOD_P, 0, r"pi must sum to 1; it sums to 1.1"),
    ([1.5, -0.5], GOOD_P, 0, r"pi must be non-negative; entry 1 is -0.5"),
    ([np.nan, 0.5], GOOD_P, 0, r"pi must be finite"),
    (GOOD_PI, [0.9, 0.1], 0, r"P_y_x must be a 2-D array of shape \(L, K\)"),
    (GOOD_PI, [[0.9, 0.2, 0.1], [0.1, 0.8, 0.9]], 0, r"P_y_x must have shape \(L, K\) = \(any, 2\); got \(2, 3\)"),
    (GOOD_PI, [[0.9, 0.2], [0.1, 0.7]], 0, r"P_y_x must sum to 1 over its first axis .*P_y_x\[:, 1\] sums to 0.9"),
    (GOOD_PI, [[1.1, 0.2], [-0.1, 0.8]], 0, r"P_y_x must be non-negative; entry \(1, 0\) is -0.1"),
    (GOOD_PI, [[0.9, np.inf], [0.1, 0.8]], 0, r"P_y_x must be finite"),
    (GOOD_PI, GOOD_P, 2, r"y must be at most 1; got 2"),
    (GOOD_PI, GOOD_P, -1, r"y must be at least 0; got -1"),
    ([1.0, 0.0], [[1.0, 0.2], [0.0, 0.8]], 1, r"y = 1 has probability zero under the model"),
])
def test_invert_validation(pi, P, y, match):
    with pytest.raises(ValueError, match=match):
        d.invert(pi, P, y)


def test_invert_y_type():
    with pytest.raises(TypeError, match=r"y must be an integer; got float"):
        d.invert(GOOD_PI, GOOD_P, 1.0)


def test_cpt_empty_first_axis():
    with pytest.raises(ValueError, match=r"cpts\['a'\] must have at least one state along its first axis"):
        d.make_dag({"a": np.zeros(0)})


def test_cpt_1d_sum_message():
    with pytest.raises(ValueError, match=r"cpts\['a'\] must sum to 1; it sums to 0.9"):
        d.make_dag({"a": [0.4, 0.5]})


def test_reverse_arrow_zero_evidence():
    with pytest.raises(ValueError, match=r"observation y = 1 has probability zero .* column 1 of P_x_y"):
        d.reverse_arrow([1.0, 0.0], [[1.0, 0.2], [0.0, 0.8]])


@pytest.mark.parametrize("ys, match", [
    ([[0, 1]], r"ys must be a 1-D array of integer observations in 0..1; got an array of shape \(1, 2\)"),
    ([0.0, 1.0], r"ys must be a 1-D array of integer observations .* dtype float64"),
    ([0, 1, 2], r"ys\[2\] = 2 is not a state of Y; states are 0..1"),
    ([0, -1], r"ys\[1\] = -1 is not a state of Y"),
])
def test_update_sequence_validation(ys, match):
    with pytest.raises(ValueError, match=match):
        d.update_sequence(GOOD_PI, GOOD_P, ys)


def test_update_sequence_zero_probability_step():
    with pytest.raises(ValueError, match=r"observation ys\[1\] = 1 has probability zero given the earlier ones"):
        d.update_sequence([0.5, 0.5], [[1.0, 0.0], [0.0, 1.0]], [0, 1])


A2 = [0.3, 0.7]
B_A = [[0.9, 0.2], [0.1, 0.8]]


@pytest.mark.parametrize("dag, match", [
    (d.DAG(("a", "b"), ((),), (A2, B_A)),
     r"dag.names, dag.parents and dag.cpts must be non-empty and have the same length; got 2, 1, 2"),
    (d.DAG((), (), ()), r"must be non-empty and have the same length; got 0, 0, 0"),
    (d.DAG(("a", "a"), ((), ()), (A2, A2)), r"node names must be distinct non-empty strings; got \['a', 'a'\]"),
    (d.DAG(("a", 3), ((), ()), (A2, A2)), r"node names must be distinct non-empty strings"),
    (d.DAG(("a", "b"), ((), ("z",)), (A2, B_A)), r"parent 'z' of node 'b' is not a node; the nodes are \('a', 'b'\)"),
    (d.DAG(("a", "b"), ((), ("b",)), (A2, B_A)), r"node 'b' cannot be its own parent"),
    (d.DAG(("b", "a"), (("a",), ()), (B_A, A2)), r"topological order\): parent 'a' of node 'b' comes after it"),
    (d.DAG(("a", "b"), ((), ("a", "a")), (A2, np.full((2, 2, 2), 0.5))), r"node 'b' lists a parent twice"),
    (d.DAG(("a", "b"), ((), ("a",)), (A2, [0.5, 0.5])),
     r"cpts\['b'\] must have shape \(K_b, K_a\) = \(any, 2\); got \(2,\)"),
    (d.DAG(("a", "b"), ((), ("a",)), (A2, [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]])),
     r"cpts\['b'\] must have shape \(K_b, K_a\) = \(any, 2\); got \(2, 3\)"),
    (d.DAG(("a", "b"), ((), ("a",)), (A2, [[0.9, 0.2], [0.2, 0.8]])),
     r"cpts\['b'\] must sum to 1 over its first axis .*cpts\['b'\]\[:, 0\] sums to 1.1"),
    (d.DAG(("a",), ((),), ([1.2, -0.2],)), r"cpts\['a'\] must be non-negative; entry 1 is -0.2"),
    (d.DAG(("a",), ((),), ([np.nan, 1.0],)), r"cpts\['a'\] must be finite"),
    (d.DAG(tuple("abcdefghijklmnopq"), ((),) * 17, ([0.5, 0.5],) * 17),
     r"the joint table would have 131072 configurations, more than MAX_JOINT_STATES = 65536"),
])
def test_dag_validation(dag, match):
    with pytest.raises(ValueError, match=match):
        d.joint_table(dag)


def test_dag_type_errors():
    with pytest.raises(TypeError, match=r"dag must be a pedagogy_lib.discrete.DAG"):
        d.joint_table((("a",), ((),), ([1.0],)))
    with pytest.raises(TypeError, match=r"cpts must be a mapping from node name to table; got list"):
        d.make_dag([A2])


def test_make_dag_parents_given_as_string():
    with pytest.raises(ValueError, match=r"the parents of node 'b' must be a sequence of names, e.g. \('a',\); got the string 'a'"):
        d.make_dag({"a": A2, "b": B_A}, {"b": "a"})


def test_make_dag_ragged_cpt_is_a_type_error():
    with pytest.raises(TypeError, match=r"cpts\['a'\] must be a numeric array"):
        d.make_dag({"a": [[0.5, 0.5], [1.0]]})


def test_make_dag_unknown_parent_key():
    with pytest.raises(ValueError, match=r"parents names node 'q', which has no CPT"):
        d.make_dag({"a": A2}, {"q": ("a",)})


@pytest.mark.parametrize("call, match", [
    (lambda g: d.marginal(g, ["a", "z"]), r"keep: unknown node 'z'; the nodes are \('a', 'b', 'c'\)"),
    (lambda g: d.marginal(g, ["a", "a"]), r"keep: a node is listed twice"),
    (lambda g: d.conditional(g, "q"), r"query: unknown node 'q'"),
    (lambda g: d.conditional(g, "a", {"z": 0}), r"given: unknown node 'z'"),
    (lambda g: d.conditional(g, "a", {"a": 0}), r"node 'a' is both queried and given"),
    (lambda g: d.conditional(g, "a", {"b": 2}), r"given\['b'\] must be at most 1; got 2"),
    (lambda g: d.conditional(g, "c", {"a": 0, "b": 1}), r"the evidence \{'a': 0, 'b': 1\} has probability zero"),
    (lambda g: d.ci_discrepancy(g, "a", "a"), r"a and c must be different nodes; both are 'a'"),
    (lambda g: d.ci_discrepancy(g, "a", "c", ["a"]), r"given must not contain a or c"),
    (lambda g: d.ci_discrepancy(g, "x", "c"), r"a: unknown node 'x'"),
    (lambda g: d.is_independent(g, "a", "c", atol=-1.0), r"atol must be a non-negative finite number; got -1.0"),
])
def test_query_validation(call, match):
    g = d.chain([0.5, 0.5], [[1.0, 1.0], [0.0, 0.0]], [[0.5, 0.5], [0.5, 0.5]])   # b is always 0
    with pytest.raises(ValueError, match=match):
        call(g)


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="tree"), r"kind must be one of \{'chain', 'fork', 'collider'\}; got 'tree'"),
    (dict(kind="chain", K=1), r"K must be at least 2; got 1"),
    (dict(kind="chain", K=7), r"K must be at most 6; got 7"),
    (dict(kind="chain", concentration=0.0), r"concentration must be a positive finite number; got 0.0"),
])
def test_canonical_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        d.canonical(rng=np.random.default_rng(0), **kwargs)


def test_rng_and_N_validation():
    g = d.canonical("chain", np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        d.sample(g, 10, 0)
    with pytest.raises(ValueError, match=r"N must be at least 1; got 0"):
        d.sample(g, 0, np.random.default_rng(0))


@pytest.mark.parametrize("t", [1e-100, 1e-160, 1e-170, 1e-200])
def test_a_rare_conditioning_event_keeps_its_conditional(t):
    """g1 -> g2 -> a, (a, g2) -> c with p(g2 = 1) = t^2: given g2 = 0, c ignores a (independent); given the
    rare g2 = 1, c copies a with probability 0.9 (dependent). The float joint table holds p(g2 = 1) = 1e-320
    with three digits (the discrepancy came out 0.16782 for 0.168) and rounds 1e-340 to 0, after which the
    event was skipped as impossible (a and c called independent) and the conditional on it refused as
    having probability zero. Reference: the closed form p(a, c | g2 = 1) = p(a | 1) p(c | a, 1)."""
    pg1, Pg2 = np.array([1 - t, t]), np.array([[1.0, 1 - t], [0.0, t]])
    Pa = np.array([[0.5, 0.3], [0.5, 0.7]])
    Pc = np.zeros((2, 2, 2))
    Pc[:, :, 0], Pc[:, :, 1] = [[0.9, 0.9], [0.1, 0.1]], [[0.9, 0.1], [0.1, 0.9]]
    g = d.make_dag({"g1": pg1, "g2": Pg2, "a": Pa, "c": Pc}, {"g2": ["g1"], "a": ["g2"], "c": ["a", "g2"]})
    rare = np.array([[0.3 * 0.9, 0.3 * 0.1], [0.7 * 0.1, 0.7 * 0.9]])
    gap = np.abs(rare - np.outer(rare.sum(axis=1), rare.sum(axis=0))).max()
    assert gap == pytest.approx(0.168, rel=1e-12)                 # 0.27 - 0.3 * 0.34
    for given in (["g2"], ["g1", "g2"]):
        assert d.ci_discrepancy(g, "a", "c", given) == pytest.approx(gap, rel=1e-12)
        assert not d.is_independent(g, "a", "c", given)
    np.testing.assert_allclose(d.conditional(g, ["a", "c"], {"g2": 1}), rare, rtol=1e-12)
    assert d.ci_discrepancy(g, "a", "c", ["g1"]) < 1e-15                # given g1 alone the rare branch weighs t
