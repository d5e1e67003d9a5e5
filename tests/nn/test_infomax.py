"""Tests for pedagogy_lib.nn.infomax (book Section 5.2.1, Eqs. 5.24-5.28).

Oracles: central finite differences of the objective, scipy.stats densities, numerical
quadrature, the asymptotic theory of the estimator (computed here by quadrature, independently
of the library), and explicit permutation/scale matrices for the Amari index.
"""
from __future__ import annotations

import warnings

import mpmath as mp
import numpy as np
import pytest
from scipy import integrate, optimize, stats

from pedagogy_lib.nn import infomax as im
from pedagogy_lib.core.gradcheck import gradcheck

C_MIX = np.array([[1.0, 0.6], [0.3, 1.0]])        # a generic, non-symmetric mixing matrix
N = 5000


def _mixtures(seed, source, n=N, C=C_MIX):
    rng = np.random.default_rng(seed)
    S = im.sample_sources(rng, n, C.shape[0], source=source)
    return rng, S, S @ C.T


def _fit(seed, source, C=C_MIX):
    """Minibatch natural-gradient epochs, then full-batch steps to the sample optimum."""
    rng, S, Y = _mixtures(seed, source, C=C)
    r = im.infomax(Y, rng=rng, n_epochs=15, batch_size=100, lr=0.05)
    r2 = im.infomax(Y, rng=rng, D_init=r.D, n_epochs=200, batch_size=None, lr=0.5)
    return r, r2, Y


# ------------------------------------------------------------------ the density and the objective
def test_log_dpsi_is_the_log_logistic_density():
    x = np.linspace(-40, 40, 101)
    np.testing.assert_allclose(im.log_dpsi(x), stats.logistic.logpdf(x), rtol=1e-12, atol=1e-12)


def test_model_density_integrates_to_one_in_2d():
    """Eq. 5.26 is a density: a pulled-back uniform on the unit square."""
    D = np.array([[1.3, -0.4], [0.5, 0.9]])
    val, err = integrate.dblquad(lambda y2, y1: np.exp(im.log_density(D, np.array([[y1, y2]])))[0],
                                 -30, 30, -30, 30, epsabs=1e-9)
    assert abs(val - 1.0) < 1e-5


def test_log_density_matches_scipy_logistic_sources():
    """log p(y) = sum_k log logistic_pdf(d_k^T y) + log|det D| (change of variables): Eq. 5.26 for the
    linear map of Eq. 5.27. Its average, the objective, is the output entropy of Eq. 5.24 less H[Y]
    (the change of variables of Eq. 5.25)."""
    rng = np.random.default_rng(1)
    D = rng.normal(size=(3, 3))
    Y = rng.normal(size=(7, 3))
    ref = stats.logistic.logpdf(Y @ D.T).sum(axis=1) + np.log(abs(np.linalg.det(D)))
    np.testing.assert_allclose(im.log_density(D, Y), ref, rtol=1e-12)
    assert im.objective(D, Y) == pytest.approx(ref.mean(), rel=1e-12)


@pytest.mark.parametrize("K", [2, 3])
def test_gradient_matches_finite_differences(K):
    """The gradient of Eq. 5.28 (ascent sign, corrected) against finite differences of the objective."""
    rng = np.random.default_rng(K)
    D = rng.normal(size=(K, K)) + 2 * np.eye(K)
    Y = rng.laplace(size=(50, K))
    G = im.gradient(D, Y)
    fd = gradcheck(lambda D_: im.objective(D_, Y), D).numeric
    np.testing.assert_allclose(G, fd, rtol=1e-6, atol=1e-8)
    # the draft's per-sample term y (1 - 2 psi(Dy))^T is the transpose of the right one
    draft = Y.T @ (1 - 2 * im.psi(Y @ D.T)) / len(Y) + np.linalg.inv(D).T
    assert np.max(np.abs(draft - fd)) > 1e-3


def test_natural_gradient_is_gradient_times_DtD():
    rng = np.random.default_rng(5)
    D = rng.normal(size=(3, 3)) + 2 * np.eye(3)
    Y = rng.laplace(size=(40, 3))
    np.testing.assert_allclose(im.natural_gradient(D, Y), im.gradient(D, Y) @ D.T @ D, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ fixed point (errata)
def test_infomax_fixed_point_corrected_not_transposed():
    """At convergence D = <Y tanh(DY/2)^T>^{-1}; the draft's <tanh(DY/2) Y^T>^{-1} (its transpose) fails."""
    _, r2, Y = _fit(0, "laplace")
    np.testing.assert_allclose(np.linalg.norm(im.gradient(r2.D, Y)), 0.0, atol=1e-8)
    # independent evaluation of both right-hand sides
    T = np.tanh(Y @ r2.D.T / 2)
    corrected = np.linalg.inv(Y.T @ T / len(Y))
    draft = np.linalg.inv(T.T @ Y / len(Y))
    np.testing.assert_allclose(corrected, r2.D, rtol=1e-8, atol=1e-10)
    assert np.linalg.norm(draft - r2.D) / np.linalg.norm(r2.D) > 0.1     # the draft's equation is off by O(1)
    np.testing.assert_allclose(draft, r2.D.T, rtol=1e-8, atol=1e-10)     # ... because it is D^T
    assert im.fixed_point_residual(r2.D, Y) < 1e-10
    assert im.fixed_point_residual(r2.D, Y, form="draft") > 0.1


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-160, 1e160, 1e200, 1e300])
def test_fixed_point_residual_is_free_of_the_scale_of_D(scale):
    """Y -> s Y and D -> D / s leave D Y, so the residual ||D - rhs|| / ||D||, unchanged. Its norms were taken
    of D itself: entries of 1e-200 squared to 0 and those of 1e160 to inf, and a residual of order 1 was
    refused as "overflows float64" (with a RuntimeWarning from the message). Reference: the ratio by
    mpmath at 30 digits from the right-hand side inverted there."""
    rng = np.random.default_rng(5)
    Y, D = rng.laplace(size=(30, 2)), np.array([[1.2, 0.3], [-0.2, 0.9]])
    with mp.workdps(30):
        Ym, Dm = [[mp.mpf(float(v)) for v in r] for r in Y], [[mp.mpf(float(v)) for v in r] for r in D]
        T = [[mp.tanh(mp.fsum(a * b for a, b in zip(y, d)) / 2) for d in Dm] for y in Ym]
        M = mp.matrix([[mp.fsum(Ym[n][i] * T[n][j] for n in range(30)) / 30
                        for j in range(2)] for i in range(2)])
        R = mp.inverse(M)
        exact = float(mp.sqrt(mp.fsum((Dm[i][j] - R[i, j]) ** 2 for i in range(2) for j in range(2)))
                      / mp.sqrt(mp.fsum(v ** 2 for r in Dm for v in r)))
    assert 0.05 < exact < 10                                 # D is not a fixed point: a residual of order 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = im.fixed_point_residual(D / scale, Y * scale)
    np.testing.assert_allclose(got, exact, rtol=1e-9)


def test_infomax_gaussian_fixed_point_scale_is_not_sqrt2():
    """Gaussian data: the fixed points are D = lam R <YY^T>^{-1/2} for ANY rotation R, with lam ~ 1.75
    solving E[tanh(lam s/2) lam s] = 1 (s standard normal), not the draft's sqrt(2): the near-linear
    regime |DY|/2 << 1 is never reached, because D itself sets the output scale."""
    # lam by an independent quadrature with scipy.stats.norm
    lam = optimize.brentq(lambda l: stats.norm.expect(lambda s: np.tanh(l * s / 2) * l * s) - 1, 0.5, 5)
    assert 1.7 < lam < 1.8
    rng = np.random.default_rng(3)
    Y = 0.01 * rng.normal(size=(10000, 2)) @ np.array([[1.0, 0.3], [0.0, 0.5]])   # tiny data scale
    Syy = Y.T @ Y / len(Y)
    w, V = np.linalg.eigh(Syy)
    white = V @ np.diag(w ** -0.5) @ V.T
    for R in (np.eye(2), im.rotation(0.7)):
        # sampling error of a 10000-sample average is ~1e-2 relative; the sqrt(2) scale is off by ~0.4
        assert im.fixed_point_residual(lam * R @ white, Y) < 0.02
        assert im.fixed_point_residual(np.sqrt(2) * R @ white, Y) > 0.3
    # gradient ascent started at the draft's sqrt(2) whitening moves to scale ~lam (row norms of D white^{-1})
    r = im.infomax(Y, rng=rng, D_init=np.sqrt(2) * white, n_epochs=100, batch_size=None, lr=0.5)
    np.testing.assert_allclose(np.linalg.norm(r.D @ np.linalg.inv(white), axis=1), lam, rtol=0.02)


# ------------------------------------------------------------------ separation
def _asymptotic_sd(dist, n):
    """Asymptotic s.d. of an off-diagonal entry of D C / lambda for i.i.d. sources of law ``dist``.

    With x = lambda s scaled so E[phi(x) x] = 1 (phi = tanh(./2)), c = E[phi'(x)] E[x^2] and
    u_ij = <phi(x_i) x_j>, the linearized equations c e_ij + e_ji = -u_ij give
    e_ij = (u_ji - c u_ij)/(c^2 - 1), Var u = E[phi^2] E[x^2]/n, Cov(u_ij, u_ji) = 1/n.
    """
    E = lambda f: integrate.quad(lambda s: f(s) * dist.pdf(s), *np.clip(dist.support(), -60, 60),
                                 points=[0.0], limit=200)[0]
    lam = optimize.brentq(lambda l: E(lambda s: np.tanh(l * s / 2) * l * s) - 1, 0.1, 20)
    c = E(lambda s: 0.5 / np.cosh(lam * s / 2) ** 2) * lam**2
    v = E(lambda s: np.tanh(lam * s / 2) ** 2) * lam**2 / n
    return c, np.sqrt((c**2 * v + v - 2 * c / n) / (c**2 - 1) ** 2)


def test_stability_constant_matches_independent_quadrature():
    for source, dist in (("laplace", stats.laplace(scale=2 ** -0.5)),
                         ("uniform", stats.uniform(-3 ** 0.5, 2 * 3 ** 0.5))):
        c_ref, _ = _asymptotic_sd(dist, N)
        assert im.stability_constant(source)[0] == pytest.approx(c_ref, rel=1e-6)
    assert im.stability_constant("laplace")[0] > 1 > im.stability_constant("uniform")[0]
    assert im.stability_constant("gaussian")[0] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_laplace_sources_are_recovered(seed):
    """Amari index below 5 asymptotic standard deviations of an off-diagonal error.

    For unit-variance Laplace sources and N = 5000 the theory above gives s.d. ~ 0.016, so the
    bound is ~0.08; to first order the index is the mean of |e_ij|, so exceeding the bound needs a
    5-s.d. error (probability < 1e-6 per entry). The minibatch estimate alone must meet 2x the bound.
    """
    c, sd = _asymptotic_sd(stats.laplace(scale=2 ** -0.5), N)
    assert c > 1
    bound = 5 * sd
    r, r2, _ = _fit(seed, "laplace")
    assert im.amari_index(r2.D, C_MIX) < bound
    assert im.amari_index(r.D, C_MIX) < 2 * bound


@pytest.mark.parametrize("seed", [0, 1])
def test_uniform_sources_are_not_recovered(seed):
    """Sub-Gaussian sources violate the stability condition c > 1 (c ~ 0.85): the logistic prior
    prefers the 45-degree mixture (Amari index 1). Even started AT the separating solution, plus a
    small perturbation, the ascent moves away: the index ends above 0.5."""
    c, _ = _asymptotic_sd(stats.uniform(-3 ** 0.5, 2 * 3 ** 0.5), N)
    assert c < 1
    r, r2, Y = _fit(seed, "uniform")
    assert im.amari_index(r2.D, C_MIX) > 0.5
    lam = im.stability_constant("uniform")[1]
    D0 = lam * np.linalg.inv(C_MIX) + 0.01 * np.array([[0.0, 1.0], [-1.0, 0.0]]) @ np.linalg.inv(C_MIX)
    assert im.amari_index(D0, C_MIX) < 0.02
    r3 = im.infomax(Y, rng=np.random.default_rng(seed), D_init=D0, n_epochs=300, batch_size=None, lr=0.5)
    assert im.amari_index(r3.D, C_MIX) > 0.5
    # and it found a better objective than the separating solution's
    assert r3.objective[-1] > r3.objective[0]


def test_objective_increases_on_average():
    r, _, _ = _fit(4, "laplace")
    J = r.objective
    assert J[-1] > J[0] + 0.5                     # a large net gain
    assert np.mean(np.diff(J) > -1e-3) >= 0.9     # minibatch noise may dip it slightly, rarely
    # full-batch steps with a small rate are monotone
    _, _, Y = _mixtures(4, "laplace")
    J2 = im.infomax(Y, rng=np.random.default_rng(0), n_epochs=30, batch_size=None, lr=0.1, method="plain").objective
    assert np.all(np.diff(J2) > -1e-12)


def test_plain_and_natural_gradient_reach_the_same_optimum():
    _, r2, Y = _fit(6, "laplace")
    rp = im.infomax(Y, rng=np.random.default_rng(0), D_init=r2.D * 1.05, n_epochs=400, batch_size=None,
                    lr=0.3, method="plain")
    assert np.linalg.norm(im.gradient(rp.D, Y)) < 1e-5
    np.testing.assert_allclose(rp.D, r2.D, rtol=1e-4, atol=1e-6)


def test_minibatch_order_comes_from_rng():
    _, _, Y = _mixtures(7, "laplace", n=500)
    a = im.infomax(Y, rng=np.random.default_rng(1), n_epochs=2, batch_size=50)
    b = im.infomax(Y, rng=np.random.default_rng(1), n_epochs=2, batch_size=50)
    c = im.infomax(Y, rng=np.random.default_rng(2), n_epochs=2, batch_size=50)
    np.testing.assert_array_equal(a.D, b.D)
    assert not np.allclose(a.D, c.D)
    assert a.n_updates == 20 and a.objective.shape == (3,) and a.D_history.shape == (3, 2, 2)


def test_comparison_with_sklearn_fastica():
    """A different contrast (logcosh, after whitening), the same separation up to order and scale."""
    from sklearn.decomposition import FastICA
    _, r2, Y = _fit(8, "laplace")
    ica = FastICA(n_components=2, whiten="unit-variance", random_state=0, max_iter=1000, tol=1e-8).fit(Y)
    assert im.amari_index(ica.components_, C_MIX) < 0.08
    assert im.amari_index(r2.D, np.linalg.inv(ica.components_)) < 0.08


# ------------------------------------------------------------------ Amari index and helpers
def test_amari_index_values():
    Cm = np.array([[2.0, 1.0], [0.5, 1.5]])
    P = np.array([[0.0, 3.0], [-0.5, 0.0]])            # permutation times scaling
    assert im.amari_index(P @ np.linalg.inv(Cm), Cm) == pytest.approx(0.0, abs=1e-12)
    assert im.amari_index(im.rotation(np.pi / 4), np.eye(2)) == pytest.approx(1.0)
    # by hand: P = [[1, e], [f, 1]] -> rows e + f, cols f + e, total 2(e+f)/4
    assert im.amari_index(np.array([[1.0, 0.1], [0.3, 1.0]]), np.eye(2)) == pytest.approx(0.2)
    # K = 3 permuted diagonal
    Q = np.eye(3)[[2, 0, 1]] * np.array([1.0, -2.0, 0.5])
    assert im.amari_index(Q, np.eye(3)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("source", ["laplace", "uniform", "gaussian", "logistic"])
def test_sources_have_unit_variance_and_stated_kurtosis(source):
    S = im.sample_sources(np.random.default_rng(0), 200_000, 1, source=source)[:, 0]
    assert abs(S.mean()) < 5 * 1 / np.sqrt(len(S))              # 5 standard errors
    assert abs(S.var() - 1) < 0.02                              # var of s^2 <= 5, s.e. <= 0.005
    ref = {"laplace": 3.0, "uniform": -1.2, "gaussian": 0.0, "logistic": 1.2}[source]
    assert im.source_kurtosis(source) == pytest.approx(ref, abs=1e-9)


def test_gennorm_interpolates():
    assert im.source_kurtosis("gennorm", beta=1.0) == pytest.approx(3.0)
    assert im.source_kurtosis("gennorm", beta=2.0) == pytest.approx(0.0, abs=1e-9)
    S = im.sample_sources(np.random.default_rng(1), 100_000, 2, source="gennorm", beta=4.0)
    assert abs(S.var() - 1) < 0.02
    assert im.stability_constant("gennorm", beta=1.5)[0] > 1 > im.stability_constant("gennorm", beta=3.0)[0]


def test_mix_and_rotation():
    S = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(im.mix(S, C_MIX), (C_MIX @ S.T).T)      # Eq. 9.1 with C = D^{-1}
    R = im.rotation(0.3)
    np.testing.assert_allclose(R @ R.T, np.eye(2), atol=1e-15)
    assert np.linalg.det(R) == pytest.approx(1.0)


# ------------------------------------------------------------------ validation
def test_validation_messages():
    Y = np.random.default_rng(0).laplace(size=(20, 2))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"Y must be a 2-D array"):
        im.objective(np.eye(2), np.ones(5))
    with pytest.raises(ValueError, match=r"Y must have at least one sample"):
        im.objective(np.eye(2), np.ones((0, 2)))
    with pytest.raises(ValueError, match=r"D must have shape \(K, K\) = \(2, 2\); got \(3, 3\)"):
        im.gradient(np.eye(3), Y)
    with pytest.raises(ValueError, match=r"D must be invertible"):
        im.natural_gradient(np.ones((2, 2)), Y)
    with pytest.raises(ValueError, match=r"D_init must be invertible"):
        im.infomax(Y, rng=rng, batch_size=10, D_init=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"D must be finite"):
        im.log_density(np.array([[np.nan, 0], [0, 1]]), Y)
    with pytest.raises(ValueError, match=r"form must be one of"):
        im.fixed_point_rhs(np.eye(2), Y, form="transposed")
    with pytest.raises(ValueError, match=r"batch_size must be at most 20"):
        im.infomax(Y, rng=rng, batch_size=21)
    with pytest.raises(ValueError, match=r"batch_size must be at least 1"):
        im.infomax(Y, rng=rng, batch_size=0)
    with pytest.raises(ValueError, match=r"n_epochs must be at least 1"):
        im.infomax(Y, rng=rng, batch_size=10, n_epochs=0)
    with pytest.raises(ValueError, match=r"lr must be positive"):
        im.infomax(Y, rng=rng, batch_size=10, lr=-1.0)
    with pytest.raises(ValueError, match=r"method must be one of"):
        im.infomax(Y, rng=rng, batch_size=10, method="newton")
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator"):
        im.infomax(Y, rng=0)
    with pytest.raises(FloatingPointError, match=r"InfoMax diverged"):
        im.infomax(Y * 10, rng=rng, lr=10.0, batch_size=None, n_epochs=50)
    with pytest.raises(ValueError, match=r"D must be a square matrix with K >= 2"):
        im.amari_index(np.eye(1), np.eye(1))
    with pytest.raises(ValueError, match=r"C must have shape \(K, K\)"):
        im.amari_index(np.eye(2), np.eye(3))
    with pytest.raises(ValueError, match=r"D @ C has a zero row or column"):
        im.amari_index(np.array([[1.0, 0], [0, 0]]), np.eye(2))
    with pytest.raises(ValueError, match=r"source must be one of"):
        im.sample_sources(rng, 5, 2, source="cauchy")
    with pytest.raises(ValueError, match=r"beta \(the generalized-normal shape\) is required"):
        im.sample_sources(rng, 5, 2, source="gennorm")
    with pytest.raises(ValueError, match=r"beta is only used with source='gennorm'"):
        im.source_kurtosis("laplace", beta=2.0)
    with pytest.raises(ValueError, match=r"beta must be positive"):
        im.stability_constant("gennorm", beta=-1.0)
    with pytest.raises(ValueError, match=r"N must be at least 1"):
        im.sample_sources(rng, 0, 2)
    with pytest.raises(ValueError, match=r"theta must be a finite scalar"):
        im.rotation([0.1, 0.2])
    with pytest.raises(ValueError, match=r"S must be a 2-D array"):
        im.mix(np.ones(3), np.eye(2))
