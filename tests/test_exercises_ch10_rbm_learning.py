"""Tests for the Section 10.2.1 and 10.2.2 exercise checkers (pedagogy_lib.exercises.ch10_rbm_learning).

References come from the library's exact routines (Gray-code enumeration, transition matrices,
expected CD gradients), a different route from the checkers' full joint tables.
"""
from __future__ import annotations

import numpy as np

from pedagogy_lib.exercises import ch10_rbm_learning as check
from pedagogy_lib.harmonium import (bars_and_stripes, chain_distributions, data_moments, empirical_distribution,
                                    exact_gradient, expected_cd_gradient, init_params, kl_divergence, model_moments,
                                    train_exact, visible_log_probs)


def test_data_moments():
    p, Y = check.EX_LEARN
    ref = data_moments(p, Y).W
    assert check.data_moments(ref)
    r = check.data_moments(ref * len(Y))
    assert not r and "summed" in str(r)
    assert not check.data_moments(ref.T)
    assert not check.data_moments(None)


def test_model_moments():
    p, Y = check.EX_LEARN
    ref = model_moments(p).W
    assert check.model_moments(ref)
    r = check.model_moments(data_moments(p, Y).W)
    assert not r and "positive phase" in str(r)
    r = check.model_moments(ref.T)
    assert not r and "transpose" in str(r)
    assert not check.model_moments(None)


def test_stationary_visible_means():
    p, Y = check.EX_LEARN
    # Eq. 10.19 for b_y: gradient = model means - data means at any parameters, so the means a
    # stationary point must have are model means minus that gradient (the library's exact route)
    ref = model_moments(p).b_y - exact_gradient(p, Y).b_y
    assert check.stationary_visible_means(ref)
    r = check.stationary_visible_means(model_moments(p).b_y)
    assert not r and "not at a" in str(r)
    r = check.stationary_visible_means(Y.sum(axis=0))
    assert not r and "summed" in str(r)


def test_kl_after_two_steps():
    p, Y = check.EX_LEARN
    d = chain_distributions(p, empirical_distribution(Y), 2)
    p_inf = np.exp(visible_log_probs(p))
    assert check.kl_after_two_steps(kl_divergence(d[2], p_inf))
    r = check.kl_after_two_steps(kl_divergence(d[1], p_inf))
    assert not r and "one step" in str(r)


def test_cd1_cosine():
    p, Y = check.EX_LEARN
    flat = lambda g: np.concatenate([g.W.ravel(), g.b_x, g.b_y])  # noqa: E731
    cd, ex = flat(expected_cd_gradient(p, empirical_distribution(Y), 1)), flat(exact_gradient(p, Y))
    cos = cd @ ex / np.linalg.norm(cd) / np.linalg.norm(ex)
    assert check.cd1_cosine(cos)
    r = check.cd1_cosine(np.arccos(cos))
    assert not r and "radians" in str(r)


def test_bas_model():
    Y = bars_and_stripes(3)
    good, _ = train_exact(init_params(8, 9, np.random.default_rng(0), scale=0.1), Y, 1500, lr=0.5)
    assert check.bas_model(good)
    r = check.bas_model(init_params(8, 9, np.random.default_rng(0)))
    assert not r and "train longer" in str(r)
    assert not check.bas_model(init_params(12, 9, np.random.default_rng(0)))
