"""ADVI (pedagogy_lib/vi/advi.py): the unconstrained target against finite differences and the change of
variables, and a fit on the Poisson-Gamma model against its closed-form ADVI optimum and exact posterior."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pedagogy_lib.vi import advi, bbvi


def _beta_gamma(theta):
    """log density (up to a constant) and gradient of Beta(2.5, 4) x Gamma(3, rate 2), at theta (S, 2)."""
    p, lam = theta[:, 0], theta[:, 1]
    log_p = 1.5 * np.log(p) + 3.0 * np.log1p(-p) + 2.0 * np.log(lam) - 2.0 * lam
    grad = np.column_stack([1.5 / p - 3.0 / (1 - p), 2.0 / lam - 2.0])
    return log_p, grad


def test_the_force_is_the_gradient_of_the_log_density():
    target = advi.unconstrained_target(_beta_gamma, ["logit", "log"])
    zeta = np.random.default_rng(0).normal(0.0, 1.5, size=(6, 2))
    log_p, force = target.log_density_and_force(zeta)
    h = 1e-6
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        fd = (target.log_density_and_force(zeta + e)[0] - target.log_density_and_force(zeta - e)[0]) / (2 * h)
        np.testing.assert_allclose(force[:, i], fd, rtol=1e-6, atol=1e-7)


def test_the_unconstrained_density_is_the_change_of_variables_of_the_normalized_one():
    """With the normalized log density the unconstrained one integrates to one, and equals scipy's density of
    zeta = (logit p, log lambda) computed with the Jacobian by hand (the change of variables of Eq. 8.25)."""
    def normalized(theta):
        p, lam = theta[:, 0], theta[:, 1]
        return stats.beta(2.5, 4.0).logpdf(p) + stats.gamma(3.0, scale=0.5).logpdf(lam), _beta_gamma(theta)[1]

    target = advi.unconstrained_target(normalized, ["logit", "log"])
    z1, z2 = np.meshgrid(np.linspace(-12, 10, 441), np.linspace(-9, 5, 281), indexing="ij")
    Z = np.column_stack([z1.ravel(), z2.ravel()])
    dens = np.exp(target.log_density_and_force(Z)[0])
    area = (z1[1, 0] - z1[0, 0]) * (z2[0, 1] - z2[0, 0])
    np.testing.assert_allclose(dens.sum() * area, 1.0, rtol=1e-5)
    p, lam = 1 / (1 + np.exp(-Z[:, 0])), np.exp(Z[:, 1])
    by_hand = stats.beta(2.5, 4.0).pdf(p) * p * (1 - p) * stats.gamma(3.0, scale=0.5).pdf(lam) * lam
    np.testing.assert_allclose(dens, by_hand, rtol=1e-9, atol=1e-300)


def test_the_logit_jacobian_is_finite_far_out():
    target = advi.unconstrained_target(lambda th: (np.zeros(len(th)), np.zeros_like(th)), ["logit"])
    log_p, force = target.log_density_and_force(np.array([[-800.0], [0.0], [800.0]]))
    assert np.all(np.isfinite(log_p)) and np.all(np.isfinite(force))
    np.testing.assert_allclose(log_p, [-800.0, -2 * np.log(2.0), -800.0])


def test_to_constrained_maps_back():
    zeta = np.array([[0.0, 0.0, 1.0], [np.log(3.0), 2.0, -1.0]])
    np.testing.assert_allclose(advi.to_constrained(zeta, ["log", "logit", "identity"]),
                               [[1.0, 0.5, 1.0], [3.0, 1 / (1 + np.exp(-2.0)), -1.0]])


def _poisson_gamma(y, a, b):
    S, N = float(np.sum(y)), len(y)

    def log_joint(theta):
        lam = theta[:, 0]
        return (a - 1 + S) * np.log(lam) - (b + N) * lam, ((a - 1 + S) / lam - (b + N))[:, None]

    return log_joint, S, N


def test_advi_on_the_poisson_gamma_model_reaches_its_closed_form_optimum():
    """The ELBO over zeta = log lambda is (a + S) m - (b + N) exp(m + s^2 / 2) + log s + const, maximized at
    s^2 = 1 / (a + S), m = log((a + S) / (b + N)) - s^2 / 2; there q's mean of lambda is the exact posterior
    mean (a + S) / (b + N). Tolerance: the Polyak average of 3000 noisy Adam steps lands within a few
    hundredths of s of the optimum (its spread over seeds); 0.2 s for m and 5 % for s leave room."""
    y = np.array([0, 1, 0, 0, 2, 0, 1, 0])
    a, b = 2.0, 1.0
    log_joint, S, N = _poisson_gamma(y, a, b)
    target = advi.unconstrained_target(log_joint, ["log"])
    fit = bbvi.fit_gaussian_vi(target, bbvi.GaussianVIParams(np.zeros(1), np.zeros(1)), np.random.default_rng(1),
                               n_iter=3000, n_samples=20, lr=0.02)
    s2 = 1.0 / (a + S)
    m_opt = np.log((a + S) / (b + N)) - s2 / 2
    m, s = fit.params.m[0], np.exp(fit.params.log_s[0])
    assert abs(m - m_opt) < 0.2 * np.sqrt(s2), (m, m_opt)
    assert abs(s - np.sqrt(s2)) < 0.05 * np.sqrt(s2), (s, np.sqrt(s2))
    np.testing.assert_allclose(np.exp(m_opt + s2 / 2), (a + S) / (b + N), rtol=1e-12)


@pytest.mark.parametrize("transforms, err, match", [
    ("log", TypeError, "sequence of names"),
    ([], ValueError, "at least one"),
    (["log", "exp"], ValueError, r"transforms\[1\]"),
])
def test_bad_transforms_get_a_clear_error(transforms, err, match):
    with pytest.raises(err, match=match):
        advi.unconstrained_target(_beta_gamma, transforms)


def test_bad_input_gets_a_clear_error():
    with pytest.raises(TypeError, match="log_density_and_grad must be callable"):
        advi.unconstrained_target(None, ["log"])
    with pytest.raises(ValueError, match="transform"):
        advi.to_constrained(np.zeros((2, 3)), ["log", "log"])
    with pytest.raises(ValueError, match="zeta"):
        advi.to_constrained(np.zeros(3), ["log"])
