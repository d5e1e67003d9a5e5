"""Tests for the Section 8.4.3 exercise checkers (pedagogy_lib.exercises.ch08_vae): the KL by Monte
Carlo, the local variances by maximizing the closed-form ELBO numerically."""
import numpy as np
from scipy.optimize import minimize

from pedagogy_lib.exercises import ch08_vae as check
from pedagogy_lib.vi.amortized import linear_gaussian_elbo, linear_gaussian_model


def test_kl_standard_normal():
    mu, s = check.EX_Q["mu"], check.EX_Q["s"]
    x = mu + s * np.random.default_rng(0).standard_normal((400_000, 3))
    w = np.sum(-0.5 * ((x - mu) / s) ** 2 - np.log(s) + 0.5 * x ** 2, axis=1)
    kl = 0.5 * np.sum(mu ** 2 + s ** 2 - 1 - np.log(s ** 2))
    assert abs(w.mean() - kl) < 4 * w.std() / np.sqrt(w.size)
    assert check.kl_standard_normal(kl)
    r = check.kl_standard_normal(2 * kl)
    assert not r and "1/2" in str(r)


def test_local_variances():
    C, s2 = check.EX_MODEL["C"], check.EX_MODEL["sigma2"]
    model = linear_gaussian_model(C, np.zeros(4), s2)
    y = np.array([[0.3, -0.2, 1.0, 0.5]])
    f = lambda z: -linear_gaussian_elbo(model, y, z[None, :2], z[None, 2:])[0]
    z = minimize(f, np.zeros(4), method="BFGS", options={"gtol": 1e-10}).x
    v = np.exp(2 * z[2:])
    assert check.local_variances(v)
    r = check.local_variances(np.diag(np.linalg.inv(np.eye(2) + C.T @ C / s2)))
    assert not r and "exact posterior" in str(r)


def test_bayes_rule():
    assert check.bayes_rule(1)
    r = check.bayes_rule(0)
    assert not r and "twice" in str(r)
    assert not check.bayes_rule(7)
    assert not check.bayes_rule(None)
