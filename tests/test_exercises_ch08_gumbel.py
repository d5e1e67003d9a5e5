"""Tests for the Section 8.2.2 exercise checkers (pedagogy_lib.exercises.ch08_gumbel): scipy's chisquare
and entropy, and the K = 2 density from the logistic law of the log ratio."""
import numpy as np
from scipy import special, stats

from pedagogy_lib.exercises import ch08_gumbel as check


def test_chi_square():
    p = special.softmax(check.EX_ETA)
    stat = stats.chisquare(check.EX_COUNTS, check.EX_COUNTS.sum() * p).statistic
    assert check.chi_square(stat)
    r = check.chi_square(np.sum((check.EX_COUNTS - 1000 * p) ** 2 / check.EX_COUNTS))
    assert not r and "observed" in str(r)


def test_concrete_density():
    # for K = 2 the log ratio u = log(y1 / y2) is logistic with location (eta1 - eta2) / s and scale 1 / s;
    # change variables back to y1: dy1 / du = y1 y2
    s, (e1, e2), y1 = check.EX_S, check.EX_ETA2, check.EX_Y1
    u = np.log(y1 / (1 - y1))
    dens = stats.logistic.pdf(u, loc=(e1 - e2) / s, scale=1 / s) / (y1 * (1 - y1))
    assert check.concrete_density(dens)
    r = check.concrete_density(np.log(dens))
    assert not r and "log density" in str(r)


def test_kl_uniform():
    q = special.softmax(check.EX_LOGITS)
    kl = stats.entropy(q, np.full(4, 0.25))
    assert check.kl_uniform(kl)
    r = check.kl_uniform(stats.entropy(np.full(4, 0.25), q))
    assert not r and "reversed" in str(r)
