"""Tests for pedagogy_lib.deepgen.ica (Sections 9.0.1 and 9.1: ICA as maximum likelihood).

Oracles: quadrature (priors are normalized densities), central finite differences (gradients),
InfoMax of Section 5.2.1 (the logistic prior), closed forms for the Gaussian prior, Monte Carlo
for the model covariance, and scikit-learn's FastICA.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from sklearn.decomposition import FastICA

from pedagogy_lib.core.gradcheck import gradcheck
from pedagogy_lib.deepgen import ica
from pedagogy_lib.nn import infomax as im

K = 3
C3 = np.array([[1.0, 0.6, -0.3], [0.2, 1.1, 0.5], [-0.4, 0.3, 0.9]])


def _data(source, N=4000, seed=0):
    S = im.sample_sources(np.random.default_rng(seed), N, K, source=source)
    return im.mix(S, C3)


@pytest.mark.parametrize("prior", ica.PRIORS)
def test_every_prior_is_a_normalized_density(prior):
    """Each source density psi'(x) of Eq. 9.2 integrates to one."""
    total = integrate.quad(lambda x: np.exp(ica.log_prior(np.array(x), prior)), -np.inf, np.inf,
                           epsabs=1e-12)[0]
    assert abs(total - 1.0) < 1e-8


@pytest.mark.parametrize("prior", ica.PRIORS)
def test_prior_score_is_the_derivative_of_the_log_prior(prior):
    x = np.linspace(-4, 4, 17)
    h = 1e-5
    fd = (ica.log_prior(x + h, prior) - ica.log_prior(x - h, prior)) / (2 * h)
    np.testing.assert_allclose(ica.prior_score(x, prior), fd, atol=1e-8)


def test_sub_gaussian_prior_is_the_two_component_normal_mixture():
    x = np.linspace(-5, 5, 41)
    mix = 0.5 * (np.exp(-0.5 * (x - 1) ** 2) + np.exp(-0.5 * (x + 1) ** 2)) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(np.exp(ica.log_prior(x, "sub")), mix, rtol=1e-12)


def test_logistic_likelihood_is_the_infomax_objective():
    """Eq. 9.5 with the logistic prior is InfoMax's objective (Section 5.2.1), to rounding: the identity of
    Eq. 9.4 between the mutual information and the relative entropy."""
    Y = _data("laplace", N=300)
    D = np.array([[1.2, 0.1, 0.0], [-0.3, 0.8, 0.2], [0.1, 0.4, 1.1]])
    assert ica.log_likelihood(D, Y) == pytest.approx(im.objective(D, Y), rel=1e-12)
    np.testing.assert_allclose(ica.log_likelihood_gradient(D, Y), im.gradient(D, Y), rtol=1e-12)


@pytest.mark.parametrize("prior", ica.PRIORS)
def test_gradient_matches_finite_differences(prior):
    """The gradient of the average log-likelihood of Eq. 9.5 in D against central differences."""
    Y = _data("laplace", N=200, seed=1)
    D = np.array([[1.2, 0.1, 0.0], [-0.3, 0.8, 0.2], [0.1, 0.4, 1.1]])
    check = gradcheck(lambda D_: ica.log_likelihood(D_, Y, prior), D,
                      ica.log_likelihood_gradient(D, Y, prior))
    assert check.ok, check.max_abs_error


def test_gradient_with_per_output_kappa_matches_finite_differences():
    Y = _data("uniform", N=200, seed=2)
    D = np.array([[1.2, 0.1, 0.0], [-0.3, 0.8, 0.2], [0.1, 0.4, 1.1]])
    kappa = np.array([1.0, -1.0, 1.0])
    check = gradcheck(lambda D_: ica.log_likelihood(D_, Y, kappa=kappa), D,
                      ica.log_likelihood_gradient(D, Y, kappa=kappa))
    assert check.ok
    # kappa = +1 everywhere is the "super" prior
    assert ica.log_likelihood(D, Y, kappa=np.ones(3)) == pytest.approx(ica.log_likelihood(D, Y, "super"))


def test_natural_gradient_is_gradient_times_DtD():
    Y = _data("laplace", N=200)
    D = np.array([[1.2, 0.1, 0.0], [-0.3, 0.8, 0.2], [0.1, 0.4, 1.1]])
    for prior in ica.PRIORS:
        np.testing.assert_allclose(ica.natural_gradient(D, Y, prior),
                                   ica.log_likelihood_gradient(D, Y, prior) @ D.T @ D, rtol=1e-10, atol=1e-12)


def test_gaussian_prior_cannot_identify_a_rotation():
    """Section 9.1: with the Gaussian CDF every R Sigma^{-1/2} has the same likelihood."""
    Y = _data("laplace")
    W = ica.whitening_matrix(Y)
    np.testing.assert_allclose(W @ (Y.T @ Y / len(Y)) @ W.T, np.eye(K), atol=1e-10)
    rng = np.random.default_rng(5)
    ll_gauss, ll_logistic = [], []
    for _ in range(20):
        R, _ = np.linalg.qr(rng.normal(size=(K, K)))
        ll_gauss.append(ica.log_likelihood(R @ W, Y, "gaussian"))
        ll_logistic.append(ica.log_likelihood(R @ W, Y, "logistic"))
    assert np.ptp(ll_gauss) < 1e-10
    assert np.ptp(ll_logistic) > 1e-2
    # and the closed form of the Gaussian maximum: -K/2 (log 2 pi + 1) - 1/2 log|Sigma|
    Sigma = Y.T @ Y / len(Y)
    closed = -0.5 * K * (np.log(2 * np.pi) + 1) - 0.5 * np.linalg.slogdet(Sigma)[1]
    assert ll_gauss[0] == pytest.approx(closed, rel=1e-12)


def test_gaussian_prior_fit_matches_the_data_covariance_not_a_rotation():
    Y = _data("laplace", N=2000)
    fit = ica.fit_ica(Y, rng=np.random.default_rng(0), prior="gaussian", n_epochs=40, batch_size=None, lr=0.2)
    Sigma = Y.T @ Y / len(Y)
    np.testing.assert_allclose(ica.gaussian_model_covariance(fit.D), Sigma, rtol=1e-6, atol=1e-8)


def test_model_covariance_is_inverse_DtD_not_the_drafts_DtDinv():
    """Errata, Section 9.1: N(0, D^T D^{-1}) should be N(0, (D^T D)^{-1})."""
    D = np.array([[1.0, 0.8], [-0.2, 0.5]])
    N = 200_000
    Xs = np.random.default_rng(3).normal(size=(N, 2))
    Ys = Xs @ np.linalg.inv(D).T                   # y = D^{-1} x
    emp = Ys.T @ Ys / N
    ours = ica.gaussian_model_covariance(D)
    se = np.sqrt((ours ** 2 + np.outer(np.diag(ours), np.diag(ours))) / N)   # s.d. of a sample covariance
    assert np.all(np.abs(emp - ours) < 5 * se)
    draft = D.T @ np.linalg.inv(D)
    assert np.abs(emp - draft).max() > 1.0       # not even symmetric


def test_logistic_ml_recovers_laplace_sources():
    # N = 4000, K = 3: the asymptotic s.d. of each off-diagonal error is about 0.01, so the Amari
    # index (a mean of absolute errors) is below 0.05 with a wide margin.
    Y = _data("laplace")
    fit = ica.fit_ica(Y, rng=np.random.default_rng(1), n_epochs=40, batch_size=100, lr=0.02)
    assert im.amari_index(fit.D, C3) < 0.05
    assert fit.log_likelihood[-1] > fit.log_likelihood[0]
    assert np.all(fit.kappa == 0)


def test_plain_infomax_fails_on_uniform_sources_and_extended_infomax_fixes_it():
    Y = _data("uniform")
    plain = ica.fit_ica(Y, rng=np.random.default_rng(1), n_epochs=40, batch_size=100, lr=0.02)
    ext = ica.extended_infomax(Y, rng=np.random.default_rng(1), n_epochs=40, batch_size=100, lr=0.02)
    assert im.amari_index(plain.D, C3) > 0.4
    assert im.amari_index(ext.D, C3) < 0.05
    assert np.all(ext.kappa[-1] == -1)           # all three outputs judged sub-Gaussian


def test_extended_infomax_keeps_super_gaussian_sources_super():
    Y = _data("laplace")
    ext = ica.extended_infomax(Y, rng=np.random.default_rng(1), n_epochs=40, batch_size=100, lr=0.02)
    assert np.all(ext.kappa[-1] == 1)
    assert im.amari_index(ext.D, C3) < 0.08


def test_switching_signs_follow_the_kurtosis():
    rng = np.random.default_rng(9)
    X = np.column_stack([rng.laplace(size=20000), rng.uniform(-2, 2, size=20000)])
    np.testing.assert_array_equal(ica.switching_signs(X), [1.0, -1.0])


@pytest.mark.parametrize("source", ["laplace", "uniform"])
def test_ica_agrees_with_sklearn_fastica(source):
    """Same data, two algorithms: the unmixing matrices agree up to order, sign and scale."""
    Y = _data(source)
    ours = ica.extended_infomax(Y, rng=np.random.default_rng(1), n_epochs=60, batch_size=100, lr=0.02).D
    W = FastICA(whiten="unit-variance", random_state=0, max_iter=1000, tol=1e-6).fit(Y).components_
    # Amari index of D W^{-1}: zero exactly when the two unmixing matrices differ by a scaled permutation
    assert im.amari_index(ours, np.linalg.inv(W)) < 0.08


def test_bad_input_raises_value_error_naming_the_argument():
    Y = _data("laplace", N=50)
    with pytest.raises(ValueError, match="prior"):
        ica.log_likelihood(np.eye(3), Y, "cauchy")
    with pytest.raises(ValueError, match="D"):
        ica.log_likelihood(np.eye(2), Y)
    with pytest.raises(ValueError, match="D must be invertible"):
        ica.log_likelihood(np.zeros((3, 3)), Y)
    bad = Y.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="Y"):
        ica.fit_ica(bad, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="Y"):
        ica.log_likelihood(np.eye(3), Y[:, 0])
    with pytest.raises(ValueError, match="kappa"):
        ica.log_likelihood(np.eye(3), Y, kappa=np.array([1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match="kappa"):
        ica.log_likelihood(np.eye(3), Y, "gaussian", kappa=np.ones(3))
    with pytest.raises(ValueError, match="lr"):
        ica.extended_infomax(Y, rng=np.random.default_rng(0), batch_size=10, lr=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        ica.fit_ica(Y, rng=np.random.default_rng(0), batch_size=0)
    with pytest.raises(ValueError, match="Y must have a full-rank"):
        ica.whitening_matrix(np.column_stack([Y[:, 0], Y[:, 0], Y[:, 1]]))
