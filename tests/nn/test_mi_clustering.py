"""Tests for pedagogy_lib.nn.mi_clustering (the semi-supervised clustering of Section 5.2.1; Bridle,
Heading and MacKay 1992).

Oracles: central finite differences of the objective (pedagogy_lib.core.gradcheck), the entropies
and the label term written out point by point with scipy.special, and the identity
I = <KL(q_n || q-bar)>.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.nn import mi_clustering as mic


def _problem(seed, N=12, K=3, L=2, fraction=0.4):
    rng = np.random.default_rng(seed)
    Y = rng.normal(size=(N, L)) * 1.5
    W, b = rng.normal(size=(K, L)), rng.normal(size=K)
    labels = np.where(rng.random(N) < fraction, rng.integers(K, size=N), -1)
    return W, b, Y, labels


def _brute(W, b, Y, labels, lam, gam):
    """The objective written out one point at a time."""
    N = Y.shape[0]
    q = np.array([special.softmax(W @ y + b) for y in Y])
    qbar = q.mean(axis=0)
    H_bar = -sum(p * np.log(p) for p in qbar)
    H_cond = np.mean([-sum(p * np.log(p) for p in row) for row in q])
    lab = [n for n in range(N) if labels[n] >= 0]
    ll = np.mean([np.log(q[n, labels[n]]) for n in lab]) if lab else 0.0
    return H_bar - H_cond + lam * ll - 0.5 * gam * np.sum(W ** 2), H_bar - H_cond


@pytest.mark.parametrize("seed,fraction,lam,gam,K", [(0, 0.4, 0.7, 0.1, 3), (1, 0.0, 1.0, 0.0, 2),
                                                     (2, 1.0, 2.0, 0.05, 3), (3, 0.3, 0.0, 0.0, 4)])
def test_gradient_matches_finite_differences(seed, fraction, lam, gam, K):
    W, b, Y, labels = _problem(seed, K=K, fraction=fraction)
    g = mic.mi_gradient(W, b, Y, labels, label_weight=lam, weight_decay=gam)
    f_W = lambda W_: _brute(W_, b, Y, labels, lam, gam)[0]          # noqa: E731
    f_b = lambda b_: _brute(W, b_, Y, labels, lam, gam)[0]          # noqa: E731
    assert gradcheck(f_W, W, g.W, rtol=1e-6, atol=1e-9).ok
    assert gradcheck(f_b, b, g.b, rtol=1e-6, atol=1e-9).ok


def test_objective_matches_the_brute_force_sums_and_the_kl_identity():
    W, b, Y, labels = _problem(4)
    obj = mic.mi_objective(W, b, Y, labels, label_weight=0.5, weight_decay=0.2)
    value, mi = _brute(W, b, Y, labels, 0.5, 0.2)
    assert obj.value == pytest.approx(value, rel=1e-12)
    assert obj.mi == pytest.approx(mi, rel=1e-12)
    assert obj.mi == pytest.approx(obj.marginal_entropy - obj.mean_conditional_entropy, rel=1e-12)
    q = mic.cluster_probs(W, b, Y)
    kl = np.mean(np.sum(q * (np.log(q) - np.log(q.mean(0))), axis=1))
    assert obj.mi == pytest.approx(kl, rel=1e-12) and 0.0 <= obj.mi <= np.log(3)


def test_shifting_every_cluster_by_the_same_weights_changes_nothing():
    """The softmax ignores a common shift of the logits, so the gradient's columns sum to zero (gamma = 0)."""
    W, b, Y, labels = _problem(5)
    g = mic.mi_gradient(W, b, Y, labels, label_weight=1.3)
    np.testing.assert_allclose(g.W.sum(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(g.b.sum(), 0.0, atol=1e-12)
    shifted = mic.mi_objective(W + np.array([0.3, -1.1]), b + 2.0, Y, labels, label_weight=1.3).value
    assert shifted == pytest.approx(mic.mi_objective(W, b, Y, labels, label_weight=1.3).value, rel=1e-12)


def test_one_point_carries_no_information():
    W, b, Y, _ = _problem(6, N=1)
    obj = mic.mi_objective(W, b, Y)
    g = mic.mi_gradient(W, b, Y)
    assert obj.mi == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(g.W, 0.0, atol=1e-15)
    np.testing.assert_allclose(g.b, 0.0, atol=1e-15)


def test_saturated_logits_stay_finite():
    W, b, Y, labels = _problem(7)
    g = mic.mi_gradient(300.0 * W, b, Y, labels)
    assert np.all(np.isfinite(g.W)) and np.all(np.isfinite(g.b))
    assert np.isfinite(mic.mi_objective(300.0 * W, b, Y, labels).value)


def _stripes(seed=4, n=150):
    rng = np.random.default_rng(seed)
    Y = np.vstack([rng.normal(size=(n, 2)) * [2.5, 0.35] + [0, -0.55],
                   rng.normal(size=(n, 2)) * [2.5, 0.35] + [0, 0.55]])
    return Y, np.repeat([0, 1], n)


def test_a_few_labels_turn_the_split_of_two_elongated_clusters():
    Y, c = _stripes()
    fit = mic.fit_mi_clustering(Y, 2, rng=np.random.default_rng(0))
    acc = np.mean(mic.cluster_probs(fit.W, fit.b, Y).argmax(1) == c)
    assert max(acc, 1 - acc) < 0.65                                     # split across the long axis
    labels = np.full(300, -1)
    for k in range(2):
        labels[np.random.default_rng(104).permutation(np.flatnonzero(c == k))[:3]] = k
    fit = mic.fit_mi_clustering(Y, 2, labels=labels, rng=np.random.default_rng(0))
    assert np.mean(mic.cluster_probs(fit.W, fit.b, Y).argmax(1) == c) > 0.9
    g = mic.mi_gradient(fit.W, fit.b, Y, labels, weight_decay=0.01)
    assert max(np.abs(g.W).max(), np.abs(g.b).max()) < 1e-4             # a stationary point


def test_arguments_are_validated():
    W, b, Y, labels = _problem(8)
    with pytest.raises(ValueError, match=r"labels must be -1 \(unlabelled\) or a class 0..K-1 = 0..2; got 3"):
        mic.mi_objective(W, b, Y, np.r_[labels[:-1], 3])
    with pytest.raises(ValueError, match=r"W must have shape \(K, L\) with K >= 1 and L = 2"):
        mic.mi_gradient(W.T, b, Y)
    with pytest.raises(ValueError, match="label_weight"):
        mic.mi_objective(W, b, Y, labels, label_weight=-1.0)
    with pytest.raises(ValueError, match="K must be"):
        mic.fit_mi_clustering(Y, 1, rng=np.random.default_rng(0))


@pytest.mark.parametrize("scale", [1e100, 1e160, 1e200, 1e300])
def test_objective_without_weight_decay_holds_for_large_weights(scale):
    """Logits W y + b with W of 1e160 and more: the assignments are one-hot and the objective is the MI plus
    the labelled points' log assignment, which float64 holds. The weight-decay term was formed as
    0 * ||W||^2 = 0 * inf = NaN (with a RuntimeWarning); with a positive weight decay the objective is
    below -1e308 and is refused by name. Reference: the logits' gaps, exact for one-hot assignments."""
    import warnings
    W = np.array([[2.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    b = np.zeros(3)
    Y = np.array([[1.0, 0.2], [0.1, 1.0], [-1.0, -0.5], [1.0, -0.1]])
    labels = np.array([1, -1, -1, 0])
    A = Y @ W.T                                                # winners 0, 1, 2, 0: q-bar = (1/2, 1/4, 1/4)
    mi = -(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25))
    ll = 0.5 * ((A[0, 1] - A[0].max()) + (A[3, 0] - A[3].max())) * scale   # log q of the labels, one-hot limit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = mic.mi_objective(W * scale, b, Y, labels)
        assert got.value == pytest.approx(mi + ll, rel=1e-12)
        assert got.mi == pytest.approx(mi, rel=1e-12)
        if scale > 1e155:
            with pytest.raises(ValueError, match=r"weight_decay.*float64|float64.*weight_decay"):
                mic.mi_objective(W * scale, b, Y, labels, weight_decay=0.1)
