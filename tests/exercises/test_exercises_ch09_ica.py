"""Tests for the checkers of notebook 9.1 (pedagogy_lib.exercises.ch09_ica).

References: the logistic's moments by quadrature, the Gaussian-prior likelihood written out with
scipy's normal log-density, and the kurtosis of each column of the switching exercise.
"""
from __future__ import annotations

import numpy as np
from scipy import integrate, linalg, stats

from pedagogy_lib.exercises import ch09_ica as check


def _logistic_excess_kurtosis():
    m2 = integrate.quad(lambda x: x ** 2 * stats.logistic.pdf(x), -np.inf, np.inf)[0]
    m4 = integrate.quad(lambda x: x ** 4 * stats.logistic.pdf(x), -np.inf, np.inf)[0]
    return m4 / m2 ** 2 - 3


def test_logistic_kurtosis_passes_and_fails():
    assert check.logistic_kurtosis(_logistic_excess_kurtosis())
    res = check.logistic_kurtosis(_logistic_excess_kurtosis() + 3)
    assert not res and "excess" in str(res)
    assert not check.logistic_kurtosis(None)


def test_logistic_kurtosis_is_not_on_the_page_and_its_one_call_is_forbidden():
    import json
    from pathlib import Path
    nb = json.loads(Path("chapters/ch09_learning_with_reparameterizations/9_1_ica.ipynb").read_text())
    text = "".join("".join(c["source"]) for c in nb["cells"])
    statement = text.split(":label: ex-9-1-logistic-kurtosis")[1].split(":::")[0]
    assert "excess kurtosis 1.2" not in text and "7\\pi^4/15" not in statement
    forbidden = check.SUMMATIVE["ex-9-1-logistic-kurtosis"]["forbidden"]
    assert {"scipy.stats.logistic.stats", "scipy.stats.logistic.moment",
            "scipy.stats._continuous_distns.logistic_gen._stats",
            "pedagogy_lib.nn.infomax.source_kurtosis"} <= set(forbidden)
    line = next(l for l in statement.splitlines() if l.startswith("Not allowed"))
    assert [n.strip("`") for n in line.split(": ", 1)[1].rstrip(".").split(", ")] == forbidden


def test_the_library_docstrings_do_not_state_the_logistic_kurtosis():
    import pedagogy_lib.deepgen.ica as ica
    import pedagogy_lib.nn.infomax as im
    for doc in (im.__doc__, ica.__doc__, im.sample_sources.__doc__, im.source_kurtosis.__doc__):
        assert doc.count("1.2") == doc.count("-1.2") and "6/5" not in doc   # the uniform's -1.2 only


def _rotation_logliks():
    Y = check.EX_Y
    W = np.real(linalg.sqrtm(np.linalg.inv(Y.T @ Y / len(Y))))
    out = []
    for t in check.EX_THETAS:
        R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        D = R @ W
        ld = np.linalg.slogdet(D)[1]
        out.append([stats.norm.logpdf(Y @ D.T).sum(1).mean() + ld,
                    stats.logistic.logpdf(Y @ D.T).sum(1).mean() + ld])
    return np.array(out).T


def test_rotation_loglik_passes_and_fails():
    ref = _rotation_logliks()
    assert np.ptp(ref[0]) < 1e-10              # no rotation is preferred by the Gaussian prior
    assert np.ptp(ref[1]) > 1e-3               # the logistic prior prefers some: the closed form cannot answer
    assert check.gaussian_rotation_loglik(ref)
    assert not check.gaussian_rotation_loglik(ref[0])
    W = np.real(linalg.sqrtm(np.linalg.inv(check.EX_Y.T @ check.EX_Y / len(check.EX_Y))))
    res = check.gaussian_rotation_loglik(ref - np.linalg.slogdet(W)[1])
    assert not res and "log-determinant" in str(res)
    assert not check.gaussian_rotation_loglik(ref[:, :3])


def test_rotation_loglik_names_the_n_minus_1_covariance_as_a_shift():
    Y = check.EX_Y
    W = np.real(linalg.sqrtm(np.linalg.inv(np.cov(Y.T))))
    out = []
    for t in check.EX_THETAS:
        R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        D = R @ W
        ld = np.linalg.slogdet(D)[1]
        out.append([stats.norm.logpdf(Y @ D.T).sum(1).mean() + ld,
                    stats.logistic.logpdf(Y @ D.T).sum(1).mean() + ld])
    res = check.gaussian_rotation_loglik(np.array(out).T)
    assert not res and "N - 1" in str(res) and "shifted" in str(res) and "scaled" not in str(res)


def test_switching_signs_follow_the_criterion_not_the_kurtosis():
    X = check.EX_X
    t = np.tanh(X)
    crit = np.mean(1 - t * t, 0) * np.mean(X * X, 0) - np.mean(t * X, 0)
    signs = np.where(crit > 0, 1.0, -1.0)
    kurt_signs = np.sign(stats.kurtosis(X, axis=0))
    assert np.any(kurt_signs != signs)          # the data tell the two rules apart
    assert check.switching_signs(signs)
    messages = set()
    for wrong in (kurt_signs, -signs, signs * np.array([1, -1, 1])):
        res = check.switching_signs(wrong)
        assert not res
        messages.add(str(res))
    assert len(messages) == 1                   # all or nothing: the same words whatever is wrong
    assert "flipped" not in messages.pop()
